//! EMS 4.0 function 57h: move or exchange a region between conventional and expanded
//! memory (or within either), the expanded side read and written in the backing store, the
//! conventional side through the bus.
//!
//! Sources: `../shared/reference/dos-memory.md` sections 2.4 (the 57h structure) and 6.2
//! (the order of the checks, 94h, overlaps within one handle), from the LIM EMS 4.0
//! function notes, and Jemm `src/EMS.ASM`; the choices are listed in the module notes
//! ([`super`]).

use super::{Ems, PAGE_BYTES, STORE_PER_PAGE, st};
use crate::firmware::{Ctx, linear};
use crate::mem::{Memory, PAGE_SIZE, StorePage};

/// One side of a 57h move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Conventional memory at this linear address.
    Conv(u32),
    /// Byte `start` of the pages of `handle`.
    Ems { handle: u16, start: u32 },
}

impl Ems {
    // ----- 57h: move / exchange -----

    /// One region of the 57h structure (at `off` in DS) checked against `len`.
    fn region(&self, ctx: &Ctx, off: u16, len: u32) -> Result<Place, u8> {
        let (ds, si) = (ctx.ds(), ctx.si());
        let at = si.wrapping_add(off);
        let kind = ctx.rd8(ds, at);
        let handle = ctx.rd16(ds, at.wrapping_add(1));
        let offset = ctx.rd16(ds, at.wrapping_add(3));
        let seg_or_page = ctx.rd16(ds, at.wrapping_add(5));
        match kind {
            0 => {
                let start = linear(seg_or_page, offset);
                if start + len > 0x10_0000 {
                    return Err(st::WRAP_1MB);
                }
                Ok(Place::Conv(start))
            }
            1 => {
                let pages = self.handle(handle)?.pages.len() as u32;
                if u32::from(offset) >= PAGE_BYTES {
                    return Err(st::OFFSET);
                }
                if u32::from(seg_or_page) >= pages {
                    return Err(st::LOGICAL_PAGE);
                }
                let start = u32::from(seg_or_page) * PAGE_BYTES + u32::from(offset);
                if start + len > pages * PAGE_BYTES {
                    return Err(st::REGION_TOO_LONG);
                }
                Ok(Place::Ems { handle, start })
            }
            _ => Err(st::MEMORY_TYPE),
        }
    }

    /// Whether the conventional bytes `[conv, conv + len)` show, through the frame, any of
    /// the bytes `[start, start + len)` of `handle`'s pages.
    fn frame_overlaps(&self, conv: u32, handle: u16, start: u32, len: u32) -> bool {
        let base = u32::from(self.config.frame_segment) << 4;
        self.frame.iter().enumerate().any(|(i, m)| {
            let Some(m) = m.filter(|m| m.handle == handle) else {
                return false;
            };
            let w = base + i as u32 * PAGE_BYTES;
            let (lo, hi) = (conv.max(w), (conv + len).min(w + PAGE_BYTES));
            if lo >= hi {
                return false;
            }
            let e_lo = u32::from(m.page) * PAGE_BYTES + (lo - w);
            let e_hi = e_lo + (hi - lo);
            e_lo < start + len && start < e_hi
        })
    }

    /// The store page holding byte `a` of `handle`'s pages.
    fn store_page(&self, handle: u16, a: u32) -> Result<StorePage, u8> {
        let base = self.store.ok_or(st::INTERNAL)?;
        let pool = *self
            .handle(handle)?
            .pages
            .get((a / PAGE_BYTES) as usize)
            .ok_or(st::INTERNAL)?;
        Ok(base.offset(u32::from(pool) * STORE_PER_PAGE + (a % PAGE_BYTES) / PAGE_SIZE))
    }

    fn read_place(&self, mem: &Memory, place: Place, len: u32) -> Result<Vec<u8>, u8> {
        match place {
            Place::Conv(a) => Ok(mem.read_bytes(a, len as usize)),
            Place::Ems { handle, start } => {
                let mut out = Vec::with_capacity(len as usize);
                let (mut a, end) = (start, start + len);
                while a < end {
                    let page = self.store_page(handle, a)?;
                    let off = a % PAGE_SIZE;
                    let n = (PAGE_SIZE - off).min(end - a);
                    let i = page.index() as usize * PAGE_SIZE as usize + off as usize;
                    let bytes = mem.store().get(i..i + n as usize).ok_or(st::INTERNAL)?;
                    out.extend_from_slice(bytes);
                    a += n;
                }
                Ok(out)
            }
        }
    }

    fn write_place(&self, mem: &mut Memory, place: Place, data: &[u8]) -> Result<(), u8> {
        match place {
            Place::Conv(a) => mem.write_bytes(a, data),
            Place::Ems { handle, start } => {
                let mut done = 0usize;
                while done < data.len() {
                    let a = start + done as u32;
                    let page = self.store_page(handle, a)?;
                    let off = (a % PAGE_SIZE) as usize;
                    let n = (PAGE_SIZE as usize - off).min(data.len() - done);
                    mem.store_page_mut(page)
                        .map_err(|_| st::INTERNAL)?
                        .get_mut(off..off + n)
                        .ok_or(st::INTERNAL)?
                        .copy_from_slice(&data[done..done + n]);
                    done += n;
                }
            }
        }
        Ok(())
    }

    /// 57h: move (AL=00h) or exchange (AL=01h) the region described at DS:SI.
    pub(super) fn move_region(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let exchange = match ctx.al() {
            0 => false,
            1 => true,
            _ => return Err(st::SUBFUNCTION),
        };
        let len = ctx.rd32(ctx.ds(), ctx.si());
        if len == 0 {
            return Ok(());
        }
        if len > 0x10_0000 {
            return Err(st::OVER_1MB);
        }
        let src = self.region(ctx, 4, len)?;
        let dst = self.region(ctx, 0x0B, len)?;
        if let (Place::Conv(c), Place::Ems { handle, start })
        | (Place::Ems { handle, start }, Place::Conv(c)) = (src, dst)
            && self.frame_overlaps(c, handle, start, len)
        {
            return Err(st::CONV_EMS_OVERLAP);
        }
        let overlap = match (src, dst) {
            (
                Place::Ems {
                    handle: a,
                    start: s,
                },
                Place::Ems {
                    handle: b,
                    start: d,
                },
            ) => a == b && s < d + len && d < s + len,
            _ => false,
        };
        if overlap && exchange {
            return Err(st::EXCHANGE_OVERLAP);
        }
        let mem = ctx.mem();
        let from_src = self.read_place(mem, src, len)?;
        if exchange {
            let from_dst = self.read_place(mem, dst, len)?;
            self.write_place(mem, dst, &from_src)?;
            self.write_place(mem, src, &from_dst)?;
        } else {
            self.write_place(mem, dst, &from_src)?;
        }
        if overlap {
            Err(st::MOVE_OVERLAP)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::*;

    /// Writes a 57h structure at BUF:0000 and points DS:SI at it.
    fn move_struct(c: &mut Ctx, len: u32, src: (u8, u16, u16, u16), dst: (u8, u16, u16, u16)) {
        c.wr32(BUF, 0x00, len);
        for (at, (kind, handle, offset, seg)) in [(0x04u16, src), (0x0B, dst)] {
            c.wr8(BUF, at, kind);
            c.wr16(BUF, at + 1, handle);
            c.wr16(BUF, at + 3, offset);
            c.wr16(BUF, at + 5, seg);
        }
        c.set_ds(BUF);
        c.set_si(0);
    }

    #[test]
    fn move_between_conventional_and_expanded() {
        with_ems(|e, c| {
            let h = alloc(e, c, 4);
            // Conventional 3000:0100, 8000h bytes -> EMS logical page 1 offset 2000h:
            // spans pages 1, 2 and 3.
            fill(c, DATA, 0x100, 0x8000, |i| (i % 253) as u8);
            move_struct(c, 0x8000, (0, 0, 0x100, DATA), (1, h, 0x2000, 1));
            assert_eq!(call(e, c, 0x5700), 0x00);
            for (l, off, i) in [(1u16, 0x2000u16, 0u16), (2, 0, 0x2000), (3, 0x1FFF, 0x7FFF)] {
                assert_eq!(map(e, c, h, l, 0), 0x00);
                assert_eq!(
                    c.rd8(FRAME, off),
                    (i % 253) as u8,
                    "page {l} offset {off:04X}"
                );
            }
            // Back: EMS -> conventional 4000:0000.
            move_struct(c, 0x8000, (1, h, 0x2000, 1), (0, 0, 0, 0x4000));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(
                c.read_bytes(0x4000, 0, 0x8000),
                c.read_bytes(DATA, 0x100, 0x8000)
            );
            // EMS -> EMS between handles.
            let g = alloc(e, c, 1);
            move_struct(c, 0x10, (1, h, 0x2000, 1), (1, g, 0x3FF0, 0));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(map(e, c, g, 0, 2), 0x00);
            assert_eq!(
                c.read_bytes(0xE800, 0x3FF0, 16),
                c.read_bytes(DATA, 0x100, 16)
            );
            // Exchange conventional <-> EMS.
            fill(c, DATA, 0, 0x20, |_| 0xEE);
            move_struct(c, 0x20, (0, 0, 0, DATA), (1, g, 0, 0));
            c.wr8(0xE800, 0, 0x01);
            assert_eq!(call(e, c, 0x5701), 0x00);
            assert_eq!(c.rd8(0xE800, 0), 0xEE);
            assert_eq!(c.rd8(DATA, 0), 0x01);
            // Conventional -> conventional.
            move_struct(c, 4, (0, 0, 0x100, DATA), (0, 0, 0x10, 0x4000));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(c.read_bytes(0x4000, 0x10, 4), [0, 1, 2, 3]);
            // Length 0 succeeds whatever the rest says.
            move_struct(c, 0, (7, 0x99, 0xFFFF, 0xFFFF), (9, 0, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x00);
        });
    }

    #[test]
    fn move_same_handle_overlap() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            assert_eq!(map(e, c, h, 1, 1), 0x00);
            fill(c, FRAME, 0, 0x8000, |i| (i % 241) as u8);
            // Source 0000h-4FFFh, destination 1000h: overlapping forward. Move completes
            // (destination is a full copy of the source) and returns 92h.
            move_struct(c, 0x5000, (1, h, 0, 0), (1, h, 0x1000, 0));
            assert_eq!(call(e, c, 0x5700), 0x92);
            for i in [0u16, 1, 0x0FFF, 0x1000, 0x4FFF] {
                assert_eq!(
                    c.rd8(FRAME, 0x1000 + i),
                    (i % 241) as u8,
                    "dst byte {i:04X}"
                );
            }
            // Destination before the source, overlapping: also 92h and a full copy.
            fill(c, FRAME, 0, 0x8000, |i| (i % 239) as u8);
            move_struct(c, 0x3000, (1, h, 0x0800, 0), (1, h, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x92);
            for i in [0u16, 0x7FF, 0x800, 0x2FFF] {
                assert_eq!(c.rd8(FRAME, i), ((i + 0x800) % 239) as u8);
            }
            // Exchange of overlapping regions of one handle: 97h, nothing changes.
            let before = c.read_bytes(FRAME, 0, 0x8000);
            move_struct(c, 0x2000, (1, h, 0, 0), (1, h, 0x1000, 0));
            assert_eq!(call(e, c, 0x5701), 0x97);
            assert_eq!(c.read_bytes(FRAME, 0, 0x8000), before);
            // Same handle, no overlap: exchange works, status 00h.
            move_struct(c, 0x10, (1, h, 0, 0), (1, h, 0, 1));
            assert_eq!(call(e, c, 0x5701), 0x00);
            assert_eq!(c.read_bytes(0xE400, 0, 0x10), before[..0x10].to_vec());
            assert_eq!(
                c.read_bytes(FRAME, 0, 0x10),
                before[0x4000..0x4010].to_vec()
            );
        });
    }

    #[test]
    fn move_errors() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            type Side = (u8, u16, u16, u16);
            let cases: [(&str, u32, Side, Side, u8); 10] = [
                ("length > 1 MB", 0x10_0001, (0, 0, 0, 0), (1, h, 0, 0), 0x96),
                ("source type 2", 0x10, (2, 0, 0, 0), (1, h, 0, 0), 0x98),
                ("destination type 3", 0x10, (0, 0, 0, 0), (3, h, 0, 0), 0x98),
                (
                    "offset 4000h",
                    0x10,
                    (0, 0, 0, DATA),
                    (1, h, 0x4000, 0),
                    0x95,
                ),
                ("bad handle", 0x10, (1, 0x45, 0, 0), (0, 0, 0, DATA), 0x83),
                (
                    "first page outside",
                    0x10,
                    (1, h, 0, 2),
                    (0, 0, 0, DATA),
                    0x8A,
                ),
                (
                    "past the last page",
                    0x4001,
                    (1, h, 0, 1),
                    (0, 0, 0, DATA),
                    0x93,
                ),
                (
                    "wrap past 1 MB",
                    0x20,
                    (0, 0, 0xFFF0, 0xFFFF),
                    (1, h, 0, 0),
                    0xA2,
                ),
                (
                    "end past 1 MB",
                    0x2,
                    (1, h, 0, 0),
                    (0, 0, 0xFFFF, 0xF000),
                    0xA2,
                ),
                (
                    "whole handle + 1",
                    0x8001,
                    (1, h, 0, 0),
                    (0, 0, 0, DATA),
                    0x93,
                ),
            ];
            for (what, len, src, dst, want) in cases {
                move_struct(c, len, src, dst);
                assert_eq!(call(e, c, 0x5700), want, "{what}");
            }
            // Exactly 1 MB is allowed by the length check (and then fails on the handle).
            move_struct(c, 0x10_0000, (1, h, 0, 0), (0, 0, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x93);
            move_struct(c, 0x10, (0, 0, 0, DATA), (1, h, 0, 0));
            assert_eq!(call(e, c, 0x5702), 0x8F);
            // 94h: the conventional region is the frame window showing the EMS region.
            assert_eq!(map(e, c, h, 1, 2), 0x00);
            move_struct(c, 0x100, (0, 0, 0x0080, 0xE800), (1, h, 0x0100, 1));
            assert_eq!(call(e, c, 0x5700), 0x94);
            // The same window but bytes of the page the region does not touch: allowed.
            c.wr8(0xE800, 0, 0x9C);
            move_struct(c, 0x10, (0, 0, 0, 0xE800), (1, h, 0x0100, 1));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(c.rd8(0xE800, 0x100), 0x9C);
        });
    }

    #[test]
    fn move_of_a_whole_megabyte() {
        let cfg = EmsConfig {
            pages: 80,
            ..EmsConfig::default()
        };
        with_ems_config(cfg, |e, c| {
            let h = alloc(e, c, 64);
            fill(c, 0x1000, 0, 0x100, |i| i as u8);
            move_struct(c, 0x10_0000, (0, 0, 0, 0), (1, h, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(map(e, c, h, 63, 0), 0x00);
            // Logical page 63 holds conventional F C000h-FFFFFh: the BIOS ROM's last bytes,
            // whose reset vector is a far jump (EAh).
            assert_eq!(c.rd8(FRAME, 0x3FF0), 0xEA);
            assert_eq!(map(e, c, h, 4, 0), 0x00);
            assert_eq!(c.rd8(FRAME, 0x0005), 5);
        });
    }
}
