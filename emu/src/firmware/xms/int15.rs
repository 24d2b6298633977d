//! The Int 15h hook of the XMS driver: AH=88h reports no extended memory (the driver owns
//! it), AH=87h does the BIOS block move and restores the caller's A20 state, anything else
//! chains to the vector the driver saved at install.
//!
//! Sources: `../shared/reference/dos-memory.md` section 5.2 (Int 15h AH=87h/88h); the choices
//! are listed in the module notes ([`super`]).

use super::Xms;
use crate::firmware::{Ctx, bios};

impl Xms {
    // ----- Int 15h hook -----------------------------------------------------------------

    pub(super) fn int15(&mut self, ctx: &mut Ctx) {
        match ctx.ah() {
            0x88 => {
                ctx.set_ax(0);
                ctx.set_cf(false);
            }
            0x87 => {
                let was = ctx.a20();
                let status = bios::block_move(ctx);
                ctx.set_ah(status);
                ctx.set_cf(status != 0);
                if status == 0 {
                    ctx.set_zf(true);
                }
                ctx.set_a20(was);
            }
            _ => {
                let (seg, off) = self.old_int15;
                ctx.jump(seg, off);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::*;
    use crate::cpu::{Reg16, SegReg};
    use crate::machine::Machine;

    // ----- Int 15h hook ---------------------------------------------------------------

    /// Calls the hook as `INT 15h` would: an IP/CS/FLAGS frame at 5000:0100 with CF set.
    fn int15(m: &mut Machine, setup: impl FnOnce(&mut Ctx)) -> (Out, u16, (u16, u16), u16) {
        with(m, |x, ctx| {
            ctx.cpu.set_sreg(SegReg::SS, 0x5000);
            ctx.cpu.set_reg16(Reg16::SP, 0x0100);
            ctx.wr16(0x5000, 0x100, 0x1234);
            ctx.wr16(0x5000, 0x102, 0x0700);
            ctx.wr16(0x5000, 0x104, 0x0203); // IF, CF
            ctx.jump(XMS_SEG, INT15_OFF + 4);
            setup(ctx);
            x.service(svc::XMS_INT15, ctx);
            let flags = ctx.rd16(0x5000, 0x104);
            let at = (ctx.cpu.sreg(SegReg::CS), ctx.cpu.ip());
            (regs(ctx), flags, at, ctx.cpu.reg16(Reg16::SP))
        })
    }

    #[test]
    fn int15_88h_reports_no_extended_memory() {
        let mut m = machine();
        let (r, flags, _, _) = int15(&mut m, |ctx| ctx.set_ax(0x8800));
        assert_eq!(r.ax, 0);
        assert_eq!(flags & 1, 0, "CF clear");
    }

    #[test]
    fn int15_87h_moves_and_keeps_the_callers_a20() {
        for a20_before in [false, true] {
            let mut m = machine();
            let data = pattern(64, 3);
            write_conv(&mut m, BUF_SEG, &data);
            // GDT at 6000:0000 (RBIL #00499): source 30000h, destination 200000h.
            m.with_service_context(|_, ctx| {
                for i in 0..0x30 {
                    ctx.wr8(0x6000, i, 0);
                }
                for (d, base) in [(0x10u16, 0x03_0000u32), (0x18, 0x20_0000)] {
                    ctx.wr16(0x6000, d, 0xFFFF);
                    ctx.wr16(0x6000, d + 2, base as u16);
                    ctx.wr8(0x6000, d + 4, (base >> 16) as u8);
                    ctx.wr8(0x6000, d + 5, 0x93);
                }
            });
            set_a20(&mut m, a20_before);
            let (r, flags, _, _) = int15(&mut m, |ctx| {
                ctx.set_ax(0x8700);
                ctx.set_cx(32); // words
                ctx.set_es(0x6000);
                ctx.set_si(0);
            });
            assert_eq!(r.ax >> 8, 0, "AH=00h");
            assert_eq!(flags & 1, 0, "CF clear");
            assert_ne!(flags & 0x40, 0, "ZF set");
            assert_eq!(a20(&mut m), a20_before);
            assert_eq!(phys(&mut m, 0x20_0000, 64), data);
        }
    }

    #[test]
    fn int15_other_functions_chain_to_the_old_vector() {
        let mut m = machine();
        let (r, flags, at, sp) = int15(&mut m, |ctx| ctx.set_ax(0xC000));
        assert_eq!(at, OLD_INT15);
        assert_eq!(sp, 0x0100, "the INT frame stays for the old handler's IRET");
        assert_eq!(r.ax, 0xC000);
        assert_eq!(flags, 0x0203);
    }
}
