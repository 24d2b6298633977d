//! EMS 4.0 functions 55h and 56h: map a new page map, then jump to (55h) or call (56h) a
//! far target; when a 56h callee returns, the return stub maps the old map (the stack
//! layout is in the module notes, [`super`]).
//!
//! Sources: `../shared/reference/dos-memory.md` section 2.4 (55h, 56h), from the LIM EMS 4.0
//! function notes, and Jemm `src/EMS.ASM`; the choices are listed in the module notes.

use super::{CALL_RETURN_OFF, CALL_STACK_BYTES, Ems, st};
use crate::cpu::{Reg16, SegReg};
use crate::firmware::Ctx;
use crate::firmware::stubs::EMM_SEG;

impl Ems {
    // ----- 55h / 56h: alter map and jump / call -----

    /// Maps the new map of the 55h/56h structure at DS:SI; returns the target (seg, off).
    fn map_new(&mut self, ctx: &mut Ctx) -> Result<(u16, u16), u8> {
        let (ds, si) = (ctx.ds(), ctx.si());
        let target = (ctx.rd16(ds, si.wrapping_add(2)), ctx.rd16(ds, si));
        let len = u16::from(ctx.rd8(ds, si.wrapping_add(4)));
        let map_off = ctx.rd16(ds, si.wrapping_add(5));
        let map_seg = ctx.rd16(ds, si.wrapping_add(7));
        let handle = ctx.dx();
        self.map_entries(ctx, handle, ctx.al() == 1, map_seg, map_off, len)?;
        Ok(target)
    }

    /// 55h: map, then return into the target instead of the caller.
    pub(super) fn alter_map_jump(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if ctx.al() > 1 {
            return Err(st::SUBFUNCTION);
        }
        let (seg, off) = self.map_new(ctx)?;
        let (ss, sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));
        ctx.wr16(ss, sp, off);
        ctx.wr16(ss, sp.wrapping_add(2), seg);
        Ok(())
    }

    /// 56h: map, call the target far, map the old map when it returns (see the module
    /// documentation for the stack layout).
    pub(super) fn alter_map_call(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 | 1 => {}
            2 => {
                ctx.set_bx(CALL_STACK_BYTES);
                return Ok(());
            }
            _ => return Err(st::SUBFUNCTION),
        }
        let (seg, off) = self.map_new(ctx)?;
        let (ds, si) = (ctx.ds(), ctx.si());
        let old_len = u16::from(ctx.rd8(ds, si.wrapping_add(9)));
        let old_off = ctx.rd16(ds, si.wrapping_add(10));
        let old_seg = ctx.rd16(ds, si.wrapping_add(12));
        let (ss, sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));
        let flags = ctx.rd16(ss, sp.wrapping_add(4));
        let words = [
            off,
            seg,
            flags,
            CALL_RETURN_OFF,
            EMM_SEG,
            old_off,
            old_seg,
            old_len,
            ctx.dx(),
            u16::from(ctx.al()),
        ];
        let new_sp = sp.wrapping_sub(CALL_STACK_BYTES);
        Self::write_words(ctx, ss, new_sp, &words);
        ctx.cpu.set_reg16(Reg16::SP, new_sp);
        Ok(())
    }

    /// The 56h callee returned to the return stub: map the old map, drop the words 56h
    /// pushed, let the stub's IRET return to the 56h caller.
    pub(super) fn call_return(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let (ss, sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));
        let w = Self::read_words(ctx, ss, sp, 5);
        ctx.cpu.set_reg16(Reg16::SP, sp.wrapping_add(10));
        self.map_entries(ctx, w[3], w[4] == 1, w[1], w[0], w[2])
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::*;
    use crate::cpu::Reg16;

    /// Writes the 55h/56h structure at BUF:0200 with a new map at BUF:0300 and an old map
    /// at BUF:0310, an `INT` frame at 5000:0FFA (return 1111:2222, FLAGS 0202h), and points
    /// DS:SI and SS:SP at them.
    fn alter_map_setup(c: &mut Ctx, new: &[(u16, u16)], old: &[(u16, u16)]) {
        c.wr16(BUF, 0x200, 0x0100); // target 0900:0100
        c.wr16(BUF, 0x202, 0x0900);
        c.wr8(BUF, 0x204, new.len() as u8);
        c.wr16(BUF, 0x205, 0x0300);
        c.wr16(BUF, 0x207, BUF);
        c.wr8(BUF, 0x209, old.len() as u8);
        c.wr16(BUF, 0x20A, 0x0310);
        c.wr16(BUF, 0x20C, BUF);
        for (k, (l, p)) in new.iter().enumerate() {
            c.wr16(BUF, 0x300 + 4 * k as u16, *l);
            c.wr16(BUF, 0x302 + 4 * k as u16, *p);
        }
        for (k, (l, p)) in old.iter().enumerate() {
            c.wr16(BUF, 0x310 + 4 * k as u16, *l);
            c.wr16(BUF, 0x312 + 4 * k as u16, *p);
        }
        c.set_ds(BUF);
        c.set_si(0x200);
        c.cpu.set_sreg(SegReg::SS, 0x5000);
        c.cpu.set_reg16(Reg16::SP, 0x0FFA);
        c.wr16(0x5000, 0x0FFA, 0x2222);
        c.wr16(0x5000, 0x0FFC, 0x1111);
        c.wr16(0x5000, 0x0FFE, 0x0202);
    }

    #[test]
    fn alter_map_and_jump_55h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            c.wr8(FRAME, 0, 0x10);
            alter_map_setup(c, &[(1, 0)], &[]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5500), 0x00);
            assert_ne!(c.rd8(FRAME, 0), 0x10, "logical page 1 mapped");
            // The IRET of the entry stub now returns to the target.
            assert_eq!(
                (c.rd16(0x5000, 0x0FFA), c.rd16(0x5000, 0x0FFC)),
                (0x0100, 0x0900)
            );
            // AL=01h takes segments; a bad one fails with nothing changed.
            alter_map_setup(c, &[(0, 0xE100)], &[]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5501), 0x8B);
            assert_eq!(c.rd16(0x5000, 0x0FFA), 0x2222);
            assert_eq!(call(e, c, 0x5502), 0x8F);
        });
    }

    #[test]
    fn alter_map_and_call_56h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            c.wr8(FRAME, 0, 0x10);
            assert_eq!(map(e, c, h, 1, 1), 0x00);
            c.wr8(0xE400, 0, 0x11);
            assert_eq!(call(e, c, 0x5602), 0x00);
            let stack = c.bx();
            // New map: logical 1 at physical 0; old map: logical 0 at physical 0.
            alter_map_setup(c, &[(1, 0)], &[(0, 0)]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5600), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x11);
            // The stub's IRET enters the target with the caller's FLAGS and a far return
            // address on the stack; at most BX bytes were used.
            let sp = c.cpu.reg16(Reg16::SP);
            assert!(0x0FFA - sp <= stack);
            assert_eq!(
                (
                    c.rd16(0x5000, sp),
                    c.rd16(0x5000, sp + 2),
                    c.rd16(0x5000, sp + 4)
                ),
                (0x0100, 0x0900, 0x0202)
            );
            let (ret_off, ret_seg) = (c.rd16(0x5000, sp + 6), c.rd16(0x5000, sp + 8));
            // Simulate IRET into the target, then the target's RETF to the return stub,
            // whose first instruction is a trap.
            c.cpu.set_reg16(Reg16::SP, sp + 10);
            c.jump(ret_seg, ret_off + 4);
            assert_eq!(c.read_bytes(ret_seg, ret_off, 2), [0xFE, 0x38]);
            c.set_ax(0x1234);
            e.service(svc::EMS, c);
            assert_eq!(c.ah(), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x10, "old map restored");
            // Back at the original INT frame for the stub's IRET.
            assert_eq!(c.cpu.reg16(Reg16::SP), 0x0FFA);
            assert_eq!(c.rd16(0x5000, 0x0FFA), 0x2222);
            // A failing new map calls nothing.
            alter_map_setup(c, &[(2, 0)], &[(0, 0)]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5600), 0x8A);
            assert_eq!(c.cpu.reg16(Reg16::SP), 0x0FFA);
            assert_eq!(call(e, c, 0x5603), 0x8F);
        });
    }
}
