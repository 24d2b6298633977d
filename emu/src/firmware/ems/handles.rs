//! Pages and handles of the EMS driver: the pool's free and total pages, allocation (43h,
//! 5Ah), release (45h), reallocation (51h), the handle-pages array (4Dh), and the handle
//! attributes and names of EMS 4.0 (52h-54h).
//!
//! Sources: `../shared/reference/dos-memory.md` sections 2.3-2.5 (functions 43h-54h,
//! handles) and 6.2 (where implementations disagree), from the LIM EMS 4.0 function notes,
//! Jemm `src/EMS.ASM` and DOSBox Staging `src/ints/ems.cpp`; the choices are listed in the
//! module notes ([`super`]).

use super::{Ems, Handle, st};
use crate::firmware::Ctx;

impl Ems {
    // ----- pages and handles -----

    pub(super) fn total_pages(&self) -> u16 {
        self.used.len() as u16
    }

    pub(super) fn free_pages(&self) -> u16 {
        self.used.iter().filter(|&&u| !u).count() as u16
    }

    pub(super) fn handle(&self, dx: u16) -> Result<&Handle, u8> {
        self.handles
            .get(usize::from(dx))
            .and_then(Option::as_ref)
            .ok_or(st::INVALID_HANDLE)
    }

    pub(super) fn handle_mut(&mut self, dx: u16) -> Result<&mut Handle, u8> {
        self.handles
            .get_mut(usize::from(dx))
            .and_then(Option::as_mut)
            .ok_or(st::INVALID_HANDLE)
    }

    /// Takes `n` free pool pages, lowest first (the caller checked there are enough).
    fn take_pages(&mut self, n: u16) -> Vec<u16> {
        let mut out = Vec::with_capacity(usize::from(n));
        for (i, u) in self.used.iter_mut().enumerate() {
            if out.len() == usize::from(n) {
                break;
            }
            if !*u {
                *u = true;
                out.push(i as u16);
            }
        }
        out
    }

    fn give_back(&mut self, pages: &[u16]) {
        for &p in pages {
            if let Some(u) = self.used.get_mut(usize::from(p)) {
                *u = false;
            }
        }
    }

    /// 43h (`zero_ok` false) and 5Ah: BX pages for a new handle, returned in DX.
    pub(super) fn allocate(&mut self, ctx: &mut Ctx, zero_ok: bool) -> Result<(), u8> {
        let n = ctx.bx();
        if n == 0 && !zero_ok {
            return Err(st::ZERO_PAGES);
        }
        if n > self.total_pages() {
            return Err(st::MORE_THAN_TOTAL);
        }
        if n > self.free_pages() {
            return Err(st::MORE_THAN_FREE);
        }
        let h = (1..self.handles.len())
            .find(|&h| self.handles[h].is_none())
            .ok_or(st::NO_HANDLES)?;
        let pages = self.take_pages(n);
        self.handles[h] = Some(Handle {
            pages,
            ..Handle::default()
        });
        ctx.set_dx(h as u16);
        Ok(())
    }

    /// 45h: release handle DX (handle 0 only loses its pages).
    pub(super) fn release(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let dx = ctx.dx();
        let h = self.handle_mut(dx)?;
        if h.saved.is_some() {
            return Err(st::CONTEXT_SAVED);
        }
        let pages = std::mem::take(&mut h.pages);
        if dx != 0 {
            self.handles[usize::from(dx)] = None;
        }
        self.give_back(&pages);
        self.drop_stale_windows(ctx.mem())
    }

    /// 51h: handle DX to BX pages; BX = the handle's pages afterwards.
    pub(super) fn reallocate(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let (dx, want) = (ctx.dx(), ctx.bx());
        let have = self.handle(dx)?.pages.len() as u16;
        if want > have {
            if want > self.total_pages() {
                return Err(st::MORE_THAN_TOTAL);
            }
            if want - have > self.free_pages() {
                return Err(st::MORE_THAN_FREE);
            }
            let more = self.take_pages(want - have);
            self.handle_mut(dx)?.pages.extend(more);
        } else {
            let h = self.handle_mut(dx)?;
            let gone = h.pages.split_off(usize::from(want));
            self.give_back(&gone);
            self.drop_stale_windows(ctx.mem())?;
        }
        ctx.set_bx(want);
        Ok(())
    }

    /// 4Dh: ES:DI <- {WORD handle, WORD pages} per open handle; BX = entries.
    pub(super) fn handle_pages_array(&self, ctx: &mut Ctx) {
        let (es, mut di) = (ctx.es(), ctx.di());
        let mut n = 0u16;
        for (i, h) in self.handles.iter().enumerate() {
            if let Some(h) = h {
                ctx.wr16(es, di, i as u16);
                ctx.wr16(es, di.wrapping_add(2), h.pages.len() as u16);
                di = di.wrapping_add(4);
                n += 1;
            }
        }
        ctx.set_bx(n);
    }

    // ----- 52h-54h: attributes and names -----

    /// 52h: only volatile handles exist.
    pub(super) fn attribute(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                self.handle(ctx.dx())?;
                ctx.set_al(0);
                Ok(())
            }
            1 => {
                self.handle(ctx.dx())?;
                match ctx.bl() {
                    0 => Ok(()),
                    1 => Err(st::UNSUPPORTED),
                    _ => Err(st::ATTRIBUTE_TYPE),
                }
            }
            2 => {
                ctx.set_al(0);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    fn read_name(ctx: &Ctx, seg: u16, off: u16) -> [u8; 8] {
        std::array::from_fn(|k| ctx.rd8(seg, off.wrapping_add(k as u16)))
    }

    /// The open handle named `name`.
    fn find_name(&self, name: &[u8; 8]) -> Option<u16> {
        self.handles
            .iter()
            .position(|h| h.as_ref().is_some_and(|h| &h.name == name))
            .map(|i| i as u16)
    }

    /// 53h: get (00h, ES:DI) or set (01h, DS:SI) the name of handle DX.
    pub(super) fn handle_name(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let name = self.handle(ctx.dx())?.name;
                ctx.write_bytes(ctx.es(), ctx.di(), &name);
                Ok(())
            }
            1 => {
                self.handle(ctx.dx())?;
                let name = Self::read_name(ctx, ctx.ds(), ctx.si());
                if name != [0; 8] && self.find_name(&name).is_some() {
                    return Err(st::DUPLICATE_NAME);
                }
                self.handle_mut(ctx.dx())?.name = name;
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    /// 54h: directory (00h), search by name (01h), handle count (02h).
    pub(super) fn handle_directory(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let (es, mut di) = (ctx.es(), ctx.di());
                let mut n = 0u8;
                for (i, h) in self.handles.iter().enumerate() {
                    if let Some(h) = h {
                        ctx.wr16(es, di, i as u16);
                        ctx.write_bytes(es, di.wrapping_add(2), &h.name);
                        di = di.wrapping_add(10);
                        n += 1;
                    }
                }
                ctx.set_al(n);
                Ok(())
            }
            1 => {
                let name = Self::read_name(ctx, ctx.ds(), ctx.si());
                if name == [0; 8] {
                    return Err(st::DUPLICATE_NAME);
                }
                let h = self.find_name(&name).ok_or(st::NAME_NOT_FOUND)?;
                ctx.set_dx(h);
                Ok(())
            }
            2 => {
                ctx.set_bx(self.handles.len() as u16);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::*;

    #[test]
    fn allocation_errors() {
        let cfg = EmsConfig {
            pages: 16,
            handles: 3,
            ..EmsConfig::default()
        };
        with_ems_config(cfg, |e, c| {
            c.set_bx(0);
            assert_eq!(call(e, c, 0x4300), 0x89, "43h with 0 pages");
            c.set_bx(17);
            assert_eq!(call(e, c, 0x4300), 0x87, "more than total");
            let a = alloc(e, c, 10);
            assert_ne!(a, 0, "43h never returns the OS handle");
            c.set_bx(7);
            assert_eq!(call(e, c, 0x4300), 0x88, "more than free");
            let b = alloc(e, c, 0x6);
            assert!(b != 0 && b != a);
            // Handles 0, a and b: all three are open.
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5A00), 0x85, "no more handles");
            c.set_dx(b);
            assert_eq!(call(e, c, 0x4500), 0x00);
            // 5Ah accepts 0 pages (EMS 4.0); AL must be 0 or 1.
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5A02), 0x8F);
            assert_eq!(call(e, c, 0x5A01), 0x00);
            let z = c.dx();
            assert_ne!(z, 0);
            c.set_dx(z);
            assert_eq!(call(e, c, 0x4C00), 0x00);
            assert_eq!(c.bx(), 0);
        });
    }

    #[test]
    fn release_and_the_os_handle() {
        with_ems(|e, c| {
            let h = alloc(e, c, 4);
            assert_eq!(map(e, c, h, 2, 1), 0x00);
            c.wr8(0xE400, 0, 0x11);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4500), 0x00);
            // The window no longer shows the freed page.
            assert_ne!(c.rd8(0xE400, 0), 0x11);
            assert_eq!(call(e, c, 0x4500), 0x83, "already released");
            assert_eq!(call(e, c, 0x4C00), 0x83);
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!(c.bx(), 256);
            // 45h with a saved context: 86h (spec, Jemm), until 48h frees the slot.
            let h = alloc(e, c, 1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4700), 0x00);
            assert_eq!(call(e, c, 0x4500), 0x86);
            assert_eq!(call(e, c, 0x4800), 0x00);
            assert_eq!(call(e, c, 0x4500), 0x00);
            // Handle 0: 51h gives it pages; 45h takes them but the handle stays open.
            c.set_dx(0);
            c.set_bx(2);
            assert_eq!(call(e, c, 0x5100), 0x00);
            assert_eq!(c.bx(), 2);
            assert_eq!(call(e, c, 0x4500), 0x00);
            assert_eq!(call(e, c, 0x4C00), 0x00);
            assert_eq!(c.bx(), 0);
            assert_eq!(call(e, c, 0x4B00), 0x00);
            assert_eq!(c.bx(), 1);
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!(c.bx(), 256);
        });
    }

    #[test]
    fn handle_page_array() {
        with_ems(|e, c| {
            let a = alloc(e, c, 3);
            let b = alloc(e, c, 5);
            c.set_es(BUF);
            c.set_di(0x100);
            assert_eq!(call(e, c, 0x4D00), 0x00);
            assert_eq!(c.bx(), 3);
            let mut entries: Vec<(u16, u16)> = (0..3)
                .map(|k| (c.rd16(BUF, 0x100 + 4 * k), c.rd16(BUF, 0x102 + 4 * k)))
                .collect();
            entries.sort();
            let mut want = vec![(0, 0), (a, 3), (b, 5)];
            want.sort();
            assert_eq!(entries, want);
        });
    }

    #[test]
    fn reallocate_51h() {
        let cfg = EmsConfig {
            pages: 20,
            ..EmsConfig::default()
        };
        with_ems_config(cfg, |e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 1, 0), 0x00);
            c.set_dx(h);
            c.set_bx(6);
            assert_eq!(call(e, c, 0x5100), 0x00);
            assert_eq!(c.bx(), 6);
            assert_eq!(call(e, c, 0x4C00), 0x00);
            assert_eq!(c.bx(), 6);
            assert_eq!(map(e, c, h, 5, 1), 0x00);
            c.set_dx(h);
            c.set_bx(21);
            assert_eq!(call(e, c, 0x5100), 0x87);
            let _other = alloc(e, c, 10);
            c.set_dx(h);
            c.set_bx(11);
            assert_eq!(call(e, c, 0x5100), 0x88);
            // Shrinking to 0 is allowed (4.0) and unmaps the windows of the lost pages.
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5100), 0x00);
            assert_eq!(c.bx(), 0);
            assert_eq!(c.rd8(FRAME, 0), 0x5A);
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!(c.bx(), 10);
            c.set_dx(0x40);
            assert_eq!(call(e, c, 0x5100), 0x83);
        });
    }

    #[test]
    fn handle_attributes_52h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5200), 0x00);
            assert_eq!(c.al(), 0, "volatile");
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5201), 0x00);
            c.set_bx(1);
            assert_eq!(call(e, c, 0x5201), 0x91, "non-volatile not supported");
            c.set_bx(2);
            assert_eq!(call(e, c, 0x5201), 0x90, "undefined attribute");
            assert_eq!(call(e, c, 0x5202), 0x00);
            assert_eq!(c.al(), 0, "only volatile handles");
            c.set_dx(0x30);
            assert_eq!(call(e, c, 0x5200), 0x83);
            assert_eq!(call(e, c, 0x5203), 0x8F);
        });
    }

    #[test]
    fn handle_names_53h_54h() {
        with_ems(|e, c| {
            let a = alloc(e, c, 1);
            let b = alloc(e, c, 1);
            c.write_bytes(BUF, 0, b"VEXED_01");
            c.write_bytes(BUF, 8, &[0; 8]);
            c.set_ds(BUF);
            c.set_si(0);
            c.set_dx(a);
            assert_eq!(call(e, c, 0x5301), 0x00);
            c.set_dx(b);
            assert_eq!(call(e, c, 0x5301), 0xA1, "duplicate name");
            c.set_es(BUF);
            c.set_di(0x20);
            c.set_dx(a);
            assert_eq!(call(e, c, 0x5300), 0x00);
            assert_eq!(c.read_bytes(BUF, 0x20, 8), b"VEXED_01");
            // Search by name.
            c.set_si(0);
            c.set_dx(0);
            assert_eq!(call(e, c, 0x5401), 0x00);
            assert_eq!(c.dx(), a);
            c.wr8(BUF, 7, b'2');
            assert_eq!(call(e, c, 0x5401), 0xA0, "not found");
            c.set_si(8);
            assert_eq!(call(e, c, 0x5401), 0xA1, "null name");
            // Directory: {handle, name} per open handle, AL = count.
            c.set_di(0x100);
            assert_eq!(call(e, c, 0x5400), 0x00);
            assert_eq!(c.al(), 3);
            let named: Vec<u16> = (0..3u16)
                .filter(|k| c.read_bytes(BUF, 0x102 + 10 * k, 8) == b"VEXED_01")
                .map(|k| c.rd16(BUF, 0x100 + 10 * k))
                .collect();
            assert_eq!(named, [a]);
            assert_eq!(call(e, c, 0x5402), 0x00);
            assert_eq!(c.bx(), 64, "handles supported (configuration)");
            // Clearing the name always works; errors for bad handles and subfunctions.
            c.set_si(8);
            c.set_dx(a);
            assert_eq!(call(e, c, 0x5301), 0x00);
            c.set_si(0);
            assert_eq!(call(e, c, 0x5401), 0xA0);
            c.set_dx(b);
            c.wr8(BUF, 7, b'1');
            assert_eq!(call(e, c, 0x5301), 0x00);
            c.set_dx(0x63);
            assert_eq!(call(e, c, 0x5300), 0x83);
            assert_eq!(call(e, c, 0x5302), 0x8F);
            assert_eq!(call(e, c, 0x5403), 0x8F);
        });
    }
}
