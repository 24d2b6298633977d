//! The EMS page-map arrays: get and set the whole frame's mapping (4Eh) or part of it (4Fh)
//! in this driver's formats, which the spec leaves to the implementation (see the module
//! notes, [`super`]), with the check word that makes 4E01h, 4E02h and 4F01h refuse a
//! corrupt array.
//!
//! Sources: `../shared/reference/dos-memory.md` sections 2.3 and 2.4 (4Eh, 4Fh) and 6.2,
//! from the LIM EMS 4.0 function notes; DOSBox Staging `src/ints/ems.cpp` for the first 16
//! bytes of the 4Eh array and Jemm `src/EMS.ASM` for 4Fh.

use super::{Ems, FrameMap, MAP_ARRAY_BYTES, MAP_CHECK, Mapping, PHYS_PAGES, st};
use crate::firmware::Ctx;

/// The check word of a 4Eh/4Fh array whose other words are `words`.
fn check_word(words: &[u16]) -> u16 {
    words.iter().fold(MAP_CHECK, |acc, &w| acc.wrapping_sub(w))
}

impl Ems {
    // ----- 4Eh / 4Fh arrays -----

    fn entry_words(m: Option<Mapping>) -> [u16; 2] {
        match m {
            Some(m) => [m.handle, m.page],
            None => [0xFFFF, 0xFFFF],
        }
    }

    /// An array entry back to a mapping; A3h for values this driver never writes.
    fn parse_entry(&self, handle: u16, page: u16) -> Result<Option<Mapping>, u8> {
        match (handle, page) {
            (0xFFFF, 0xFFFF) => Ok(None),
            (0xFFFF, _) | (_, 0xFFFF) => Err(st::CORRUPT),
            (h, p) if usize::from(h) >= self.handles.len() || p >= self.total_pages() => {
                Err(st::CORRUPT)
            }
            (handle, page) => Ok(Some(Mapping { handle, page })),
        }
    }

    pub(super) fn write_words(ctx: &mut Ctx, seg: u16, off: u16, words: &[u16]) {
        for (k, &w) in words.iter().enumerate() {
            ctx.wr16(seg, off.wrapping_add(2 * k as u16), w);
        }
    }

    pub(super) fn read_words(ctx: &Ctx, seg: u16, off: u16, n: usize) -> Vec<u16> {
        (0..n)
            .map(|k| ctx.rd16(seg, off.wrapping_add(2 * k as u16)))
            .collect()
    }

    /// The 4Eh array of the current frame.
    fn map_array(&self) -> Vec<u16> {
        let mut w: Vec<u16> = self
            .frame
            .iter()
            .flat_map(|&m| Self::entry_words(m))
            .collect();
        w.push(check_word(&w));
        w
    }

    /// Parses a 4Eh array.
    fn parse_map_array(&self, w: &[u16]) -> Result<FrameMap, u8> {
        let (body, check) = w.split_at(2 * PHYS_PAGES);
        if check.first() != Some(&check_word(body)) {
            return Err(st::CORRUPT);
        }
        let mut map = [None; PHYS_PAGES];
        for (i, e) in body.chunks_exact(2).enumerate() {
            map[i] = self.parse_entry(e[0], e[1])?;
        }
        Ok(map)
    }

    /// 4Eh: get (00h, ES:DI), set (01h, DS:SI), get and set (02h), size (03h).
    pub(super) fn page_map(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let words = usize::from(MAP_ARRAY_BYTES / 2);
        match ctx.al() {
            0 => {
                let a = self.map_array();
                Self::write_words(ctx, ctx.es(), ctx.di(), &a);
                Ok(())
            }
            1 | 2 => {
                let src = Self::read_words(ctx, ctx.ds(), ctx.si(), words);
                let map = self.parse_map_array(&src)?;
                if ctx.al() == 2 {
                    let a = self.map_array();
                    Self::write_words(ctx, ctx.es(), ctx.di(), &a);
                }
                self.set_frame(ctx.mem(), map)
            }
            3 => {
                ctx.set_al(MAP_ARRAY_BYTES as u8);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    /// 4Fh: partial page map (see the module documentation for the format).
    pub(super) fn partial_map(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let (ds, si) = (ctx.ds(), ctx.si());
                let count = ctx.rd16(ds, si);
                if usize::from(count) > PHYS_PAGES {
                    return Err(st::CORRUPT);
                }
                let mut out = vec![count];
                for seg in Self::read_words(ctx, ds, si.wrapping_add(2), usize::from(count)) {
                    let i = self.segment_page(seg).ok_or(st::PHYSICAL_PAGE)?;
                    out.push(seg);
                    out.extend(Self::entry_words(self.frame[i]));
                }
                out.push(check_word(&out));
                Self::write_words(ctx, ctx.es(), ctx.di(), &out);
                Ok(())
            }
            1 => {
                let (ds, si) = (ctx.ds(), ctx.si());
                let count = ctx.rd16(ds, si);
                if usize::from(count) > PHYS_PAGES {
                    return Err(st::CORRUPT);
                }
                let w = Self::read_words(ctx, ds, si, 2 + 3 * usize::from(count));
                let (body, check) = w.split_at(w.len() - 1);
                if check.first() != Some(&check_word(body)) {
                    return Err(st::CORRUPT);
                }
                let mut plan = Vec::new();
                for e in body[1..].chunks_exact(3) {
                    let i = self.segment_page(e[0]).ok_or(st::CORRUPT)?;
                    plan.push((i, self.parse_entry(e[1], e[2])?));
                }
                for (i, m) in plan {
                    self.set_window(ctx.mem(), i, m)?;
                }
                Ok(())
            }
            2 => {
                let count = ctx.bx();
                if usize::from(count) > PHYS_PAGES {
                    return Err(st::PHYSICAL_PAGE);
                }
                ctx.set_al((4 + 6 * count) as u8);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;

    #[test]
    fn get_and_set_page_map_4eh() {
        with_ems(|e, c| {
            assert_eq!(call(e, c, 0x4E03), 0x00);
            let size = u16::from(c.al());
            assert!(size >= 16, "at least 4 x (handle, page)");
            let h = alloc(e, c, 4);
            assert_eq!(map(e, c, h, 2, 0), 0x00);
            c.wr8(FRAME, 0, 0x22);
            assert_eq!(map(e, c, h, 3, 0), 0x00);
            c.wr8(FRAME, 0, 0x33);
            assert_eq!(map(e, c, h, 2, 0), 0x00);
            assert_eq!(map(e, c, h, 1, 3), 0x00);
            c.set_es(BUF);
            c.set_di(0);
            assert_eq!(call(e, c, 0x4E00), 0x00);
            // The documented layout: 4 x {handle, page}, unmapped = FFFFh, FFFFh.
            assert_eq!((c.rd16(BUF, 0), c.rd16(BUF, 2)), (h, 2));
            assert_eq!((c.rd16(BUF, 4), c.rd16(BUF, 6)), (0xFFFF, 0xFFFF));
            assert_eq!((c.rd16(BUF, 12), c.rd16(BUF, 14)), (h, 1));
            assert_eq!(map(e, c, h, 3, 0), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x33);
            c.set_ds(BUF);
            c.set_si(0);
            assert_eq!(call(e, c, 0x4E01), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x22);
            // 02h: current map to ES:DI, then the map at DS:SI.
            assert_eq!(map(e, c, h, 3, 0), 0x00);
            c.set_es(BUF);
            c.set_di(0x40);
            assert_eq!(call(e, c, 0x4E02), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x22);
            assert_eq!((c.rd16(BUF, 0x40), c.rd16(BUF, 0x42)), (h, 3));
            // Corrupt source arrays: A3h and no change.
            c.wr16(BUF, 0x40 + 2, 0x0001);
            c.set_si(0x40);
            assert_eq!(call(e, c, 0x4E01), 0xA3);
            assert_eq!(c.rd8(FRAME, 0), 0x22);
            c.set_si(0x80);
            fill(c, BUF, 0x80, size, |_| 0);
            assert_eq!(call(e, c, 0x4E01), 0xA3, "a zeroed buffer is no map");
            assert_eq!(call(e, c, 0x4E04), 0x8F);
        });
    }

    #[test]
    fn partial_page_map_4fh() {
        with_ems(|e, c| {
            c.set_bx(2);
            assert_eq!(call(e, c, 0x4F02), 0x00);
            let size = u16::from(c.al());
            assert!(size >= 2 + 2 * 4, "count word + 2 x (segment, mapping)");
            c.set_bx(5);
            assert_eq!(call(e, c, 0x4F02), 0x8B, "more pages than mappable");
            let h = alloc(e, c, 4);
            assert_eq!(map(e, c, h, 0, 1), 0x00);
            c.wr8(0xE400, 0, 0x40);
            assert_eq!(map(e, c, h, 1, 2), 0x00);
            c.wr8(0xE800, 0, 0x41);
            // Save physical pages 1 and 2 (by segment).
            c.wr16(BUF, 0, 2);
            c.wr16(BUF, 2, 0xE400);
            c.wr16(BUF, 4, 0xE800);
            c.set_ds(BUF);
            c.set_si(0);
            c.set_es(BUF);
            c.set_di(0x100);
            assert_eq!(call(e, c, 0x4F00), 0x00);
            assert_eq!(map(e, c, h, 3, 1), 0x00);
            assert_eq!(map(e, c, h, 0xFFFF, 2), 0x00);
            assert_eq!(map(e, c, h, 2, 0), 0x00);
            c.wr8(FRAME, 0, 0x42);
            c.set_si(0x100);
            assert_eq!(call(e, c, 0x4F01), 0x00);
            assert_eq!((c.rd8(0xE400, 0), c.rd8(0xE800, 0)), (0x40, 0x41));
            assert_eq!(c.rd8(FRAME, 0), 0x42, "page 0 was not in the partial map");
            // A segment that is not a mappable page: 8Bh; a corrupt array: A3h.
            c.wr16(BUF, 2, 0xE200);
            c.set_si(0);
            assert_eq!(call(e, c, 0x4F00), 0x8B);
            c.wr16(BUF, 0, 9);
            assert_eq!(call(e, c, 0x4F00), 0xA3);
            c.wr16(BUF, 0x104, c.rd16(BUF, 0x104) ^ 0x10);
            c.set_si(0x100);
            assert_eq!(call(e, c, 0x4F01), 0xA3);
            assert_eq!(call(e, c, 0x4F03), 0x8F);
        });
    }
}
