//! The EMS page frame: four 16 KiB windows at the frame segment that show a logical page by
//! changing the machine's physical page map (no copying), or what the page map held there
//! at install; mapping one page (44h) or several (50h), saving and restoring the mapping
//! (47h/48h) and the mappable-page array (58h).
//!
//! Sources: `../shared/reference/dos-memory.md` sections 2.1 (the page frame), 2.3, 2.4
//! (functions 44h, 47h, 48h, 50h, 58h) and 6.2, from the LIM EMS 4.0 function notes, Jemm
//! `src/EMS.ASM` and DOSBox Staging `src/ints/ems.cpp`; the choices are listed in the module
//! notes ([`super`]).

use super::{Ems, FrameMap, Mapping, PHYS_PAGES, STORE_PER_PAGE, st};
use crate::firmware::Ctx;
use crate::mem::{Access, Memory};

impl Ems {
    // ----- the page frame -----

    /// The frame's first 4 KiB physical page.
    pub(super) fn frame_first_page(&self) -> u32 {
        u32::from(self.config.frame_segment) >> 8
    }

    /// The segment of physical page `i`.
    fn window_segment(&self, i: usize) -> u16 {
        self.config.frame_segment + (i as u16) * 0x400
    }

    /// The physical page at exactly segment `seg`.
    pub(super) fn segment_page(&self, seg: u16) -> Option<usize> {
        (0..PHYS_PAGES).find(|&i| self.window_segment(i) == seg)
    }

    /// The pool page that `m` shows, if its handle still owns that page.
    fn pool_page(&self, m: Mapping) -> Option<u16> {
        self.handle(m.handle)
            .ok()?
            .pages
            .get(usize::from(m.page))
            .copied()
    }

    /// Makes physical page `i` show `m` (a stale mapping unmaps it) or, for `None`, what was
    /// there at install.
    pub(super) fn set_window(
        &mut self,
        mem: &mut Memory,
        i: usize,
        m: Option<Mapping>,
    ) -> Result<(), u8> {
        let m = m.filter(|&m| self.pool_page(m).is_some());
        let pool = m.and_then(|m| self.pool_page(m));
        let first = self.frame_first_page() + i as u32 * STORE_PER_PAGE;
        for k in 0..STORE_PER_PAGE {
            let page = first + k;
            let r = match (pool, self.store) {
                (Some(p), Some(base)) => mem.map_page(
                    page,
                    base.offset(u32::from(p) * STORE_PER_PAGE + k),
                    Access::ReadWrite,
                ),
                (Some(_), None) => return Err(st::INTERNAL),
                (None, _) => match self.original.get(i * STORE_PER_PAGE as usize + k as usize) {
                    Some(&Some((target, access))) => mem.map_page(page, target, access),
                    _ => mem.unmap_page(page),
                },
            };
            r.map_err(|_| st::INTERNAL)?;
        }
        if let Some(w) = self.frame.get_mut(i) {
            *w = m;
        }
        Ok(())
    }

    /// Unmaps windows that show pages their handle no longer owns.
    pub(super) fn drop_stale_windows(&mut self, mem: &mut Memory) -> Result<(), u8> {
        for i in 0..PHYS_PAGES {
            if let Some(m) = self.frame[i]
                && self.pool_page(m).is_none()
            {
                self.set_window(mem, i, None)?;
            }
        }
        Ok(())
    }

    /// Applies a whole frame map (47h/48h, 4Eh).
    pub(super) fn set_frame(&mut self, mem: &mut Memory, map: FrameMap) -> Result<(), u8> {
        for (i, m) in map.into_iter().enumerate() {
            self.set_window(mem, i, m)?;
        }
        Ok(())
    }

    /// 44h: map logical page BX (FFFFh: unmap) of handle DX at physical page AL.
    pub(super) fn map_one(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let (handle, logical, phys) = (ctx.dx(), ctx.bx(), usize::from(ctx.al()));
        let pages = self.handle(handle)?.pages.len();
        if phys >= PHYS_PAGES {
            return Err(st::PHYSICAL_PAGE);
        }
        let m = match logical {
            0xFFFF => None,
            l if usize::from(l) < pages => Some(Mapping { handle, page: l }),
            _ => return Err(st::LOGICAL_PAGE),
        };
        self.set_window(ctx.mem(), phys, m)
    }

    /// 50h (and the maps of 55h/56h): `count` entries {WORD logical (FFFFh: unmap), WORD
    /// physical page or segment} at `seg:off` for `handle`. All are checked before any is
    /// mapped.
    pub(super) fn map_entries(
        &mut self,
        ctx: &mut Ctx,
        handle: u16,
        by_segment: bool,
        seg: u16,
        off: u16,
        count: u16,
    ) -> Result<(), u8> {
        let pages = self.handle(handle)?.pages.len();
        let mut plan = Vec::new();
        for k in 0..count {
            let at = off.wrapping_add(k.wrapping_mul(4));
            let logical = ctx.rd16(seg, at);
            let target = ctx.rd16(seg, at.wrapping_add(2));
            let phys = if by_segment {
                self.segment_page(target).ok_or(st::PHYSICAL_PAGE)?
            } else if usize::from(target) < PHYS_PAGES {
                usize::from(target)
            } else {
                return Err(st::PHYSICAL_PAGE);
            };
            let m = match logical {
                0xFFFF => None,
                l if usize::from(l) < pages => Some(Mapping { handle, page: l }),
                _ => return Err(st::LOGICAL_PAGE),
            };
            plan.push((phys, m));
        }
        for (phys, m) in plan {
            self.set_window(ctx.mem(), phys, m)?;
        }
        Ok(())
    }

    /// 47h: save the frame's mappings in handle DX's slot.
    pub(super) fn save_context(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let frame = self.frame;
        let h = self.handle_mut(ctx.dx())?;
        if h.saved.is_some() {
            return Err(st::ALREADY_SAVED);
        }
        h.saved = Some(frame);
        Ok(())
    }

    /// 48h: restore the frame from handle DX's slot and free the slot.
    pub(super) fn restore_context(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let saved = self
            .handle_mut(ctx.dx())?
            .saved
            .take()
            .ok_or(st::NOT_SAVED)?;
        self.set_frame(ctx.mem(), saved)
    }

    /// 58h: ES:DI <- {WORD segment, WORD physical page} sorted by segment (00h); CX = count.
    pub(super) fn mappable_array(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let words: Vec<u16> = (0..PHYS_PAGES)
                    .flat_map(|i| [self.window_segment(i), i as u16])
                    .collect();
                Self::write_words(ctx, ctx.es(), ctx.di(), &words);
            }
            1 => {}
            _ => return Err(st::SUBFUNCTION),
        }
        ctx.set_cx(PHYS_PAGES as u16);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;

    #[test]
    fn mapping_is_visible_through_the_frame() {
        with_ems(|e, c| {
            let h = alloc(e, c, 3);
            // Write through physical page 0 with logical page 0 mapped.
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            fill(c, FRAME, 0, 0x4000, |i| (i % 251) as u8);
            // Logical page 1 in the same window: different bytes.
            assert_eq!(map(e, c, h, 1, 0), 0x00);
            fill(c, FRAME, 0, 0x4000, |_| 0xC3);
            assert_eq!(c.rd8(FRAME, 0x1234), 0xC3);
            // Back to logical page 0: the first data, across all four 4 KiB pieces.
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            for off in [0u16, 0x0FFF, 0x1000, 0x2345, 0x3FFF] {
                assert_eq!(c.rd8(FRAME, off), (off % 251) as u8, "offset {off:04X}");
            }
            // Physical pages 1-3 are E400h, E800h, ECh: logical page 1 at physical page 3,
            // and the same logical page in two windows aliases.
            assert_eq!(map(e, c, h, 1, 3), 0x00);
            assert_eq!(c.rd8(0xEC00, 0x10), 0xC3);
            assert_eq!(map(e, c, h, 1, 2), 0x00);
            c.wr8(0xE800, 0x10, 0x77);
            assert_eq!(c.rd8(0xEC00, 0x10), 0x77);
            // Unmapping (BX = FFFFh) shows what was there before EMS was installed.
            assert_eq!(map(e, c, h, 0xFFFF, 0), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x5A);
            // Errors: invalid handle, physical page, logical page.
            assert_eq!(map(e, c, 0x99, 0, 0), 0x83);
            assert_eq!(map(e, c, 40, 0, 0), 0x83);
            assert_eq!(map(e, c, h, 0, 4), 0x8B);
            assert_eq!(map(e, c, h, 3, 0), 0x8A);
            assert_eq!(map(e, c, 0, 0, 0), 0x8A, "the OS handle has no pages");
        });
    }

    #[test]
    fn save_and_restore_page_map() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            c.wr8(FRAME, 0, 0xA0);
            assert_eq!(map(e, c, h, 1, 1), 0x00);
            c.wr8(0xE400, 0, 0xA1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4700), 0x00);
            assert_eq!(call(e, c, 0x4700), 0x8D, "one save per handle");
            // Change the mapping, then restore it.
            assert_eq!(map(e, c, h, 1, 0), 0x00);
            assert_eq!(map(e, c, h, 0xFFFF, 1), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0xA1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4800), 0x00);
            assert_eq!((c.rd8(FRAME, 0), c.rd8(0xE400, 0)), (0xA0, 0xA1));
            assert_eq!(call(e, c, 0x4800), 0x8E, "slot freed by the restore");
            c.set_dx(0x55);
            assert_eq!(call(e, c, 0x4700), 0x83);
            assert_eq!(call(e, c, 0x4800), 0x83);
            // The OS handle has a slot too.
            c.set_dx(0);
            assert_eq!(call(e, c, 0x4700), 0x00);
            assert_eq!(call(e, c, 0x4800), 0x00);
        });
    }

    #[test]
    fn map_multiple_50h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 4);
            for l in 0..4u16 {
                assert_eq!(map(e, c, h, l, 0), 0x00);
                c.wr8(FRAME, 0, 0x60 + l as u8);
            }
            // AL=00h: physical page numbers.
            let entries = [(3u16, 0u16), (2, 1), (1, 2), (0, 3)];
            for (k, (l, p)) in entries.iter().enumerate() {
                c.wr16(BUF, 4 * k as u16, *l);
                c.wr16(BUF, 4 * k as u16 + 2, *p);
            }
            c.set_ds(BUF);
            c.set_si(0);
            c.set_cx(4);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5000), 0x00);
            let seen: Vec<u8> = (0..4).map(|i| c.rd8(FRAME + 0x400 * i, 0)).collect();
            assert_eq!(seen, [0x63, 0x62, 0x61, 0x60]);
            // AL=01h: segments; FFFFh unmaps.
            c.wr16(BUF, 0x20, 0);
            c.wr16(BUF, 0x22, 0xEC00);
            c.wr16(BUF, 0x24, 0xFFFF);
            c.wr16(BUF, 0x26, 0xE000);
            c.set_si(0x20);
            c.set_cx(2);
            assert_eq!(call(e, c, 0x5001), 0x00);
            assert_eq!((c.rd8(0xEC00, 0), c.rd8(FRAME, 0)), (0x60, 0x5A));
            // Errors: a segment that is not a page, a logical page outside the handle, a
            // physical page past 3, a bad handle, a bad subfunction.
            c.wr16(BUF, 0x22, 0xEC10);
            assert_eq!(call(e, c, 0x5001), 0x8B);
            c.wr16(BUF, 0x22, 0xEC00);
            c.wr16(BUF, 0x20, 4);
            assert_eq!(call(e, c, 0x5001), 0x8A);
            c.wr16(BUF, 0x20, 0);
            c.wr16(BUF, 0x22, 4);
            assert_eq!(call(e, c, 0x5000), 0x8B);
            c.set_dx(0x77);
            assert_eq!(call(e, c, 0x5000), 0x83);
            assert_eq!(call(e, c, 0x5002), 0x8F);
        });
    }

    #[test]
    fn mappable_array_and_hardware_info() {
        with_ems(|e, c| {
            c.set_es(BUF);
            c.set_di(0);
            assert_eq!(call(e, c, 0x5800), 0x00);
            assert_eq!(c.cx(), 4);
            let got: Vec<u16> = (0..8).map(|k| c.rd16(BUF, 2 * k)).collect();
            assert_eq!(got, [0xE000, 0, 0xE400, 1, 0xE800, 2, 0xEC00, 3]);
            c.set_cx(0);
            assert_eq!(call(e, c, 0x5801), 0x00);
            assert_eq!(c.cx(), 4);
            assert_eq!(call(e, c, 0x5802), 0x8F);
            // 5900h is for the operating system only.
            assert_eq!(call(e, c, 0x5900), 0xA4);
            let _ = alloc(e, c, 6);
            assert_eq!(call(e, c, 0x5901), 0x00);
            assert_eq!((c.bx(), c.dx()), (250, 256));
            assert_eq!(call(e, c, 0x5902), 0x8F);
            assert_eq!(call(e, c, 0x5B00), 0xA4);
            assert_eq!(call(e, c, 0x5C00), 0x00);
            assert_eq!(call(e, c, 0x5D00), 0xA4);
        });
    }
}
