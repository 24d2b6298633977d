//! The two-byte (0Fh) opcode map as real-address mode allows it.
//!
//! 80286 (80286 PRM appendix B): group 7 (SGDT, SIDT, LGDT, LIDT, SMSW, LMSW) and CLTS work
//! in real mode; group 6, LAR and LSL raise #UD there; everything else is #UD (LOADALL, 0Fh
//! 05h, is not modelled).
//!
//! 80386 (80386 PRM appendix A and chapter 17) adds MOV to/from CR0/CR2/CR3, DR0-DR7 and
//! TR6/TR7, Jcc rel16/32, SETcc, PUSH/POP FS and GS, BT/BTS/BTR/BTC, SHLD/SHRD, IMUL r, r/m,
//! LSS/LFS/LGS, MOVZX/MOVSX and BSF/BSR.

use super::decode::ModRm;
use super::regs::{CX, SS};
use super::{Cpu, INVALID_OPCODE, R};
use crate::bus::Bus;

impl Cpu {
    pub(crate) fn exec_0f<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let op = self.fetch8(bus)?;
        match op {
            0x00 => self.group6(bus),
            0x01 => self.group7(bus),
            0x02 => self.lar_lsl(bus, false),
            0x03 => self.lar_lsl(bus, true),
            0x06 => self.clts(),
            _ if !self.is386() => Err(INVALID_OPCODE),
            0x20..=0x23 | 0x24 | 0x26 => self.mov_special(bus, op),
            0x80..=0x8F => {
                let d = if self.d.o32 {
                    self.fetch32(bus)?
                } else {
                    self.fetch16(bus)? as i16 as i32 as u32
                };
                if self.cond(op) {
                    self.jump_rel(d)?;
                }
                Ok(())
            }
            0x90..=0x9F => {
                let m = self.modrm(bus)?;
                let v = self.cond(op) as u8;
                self.set_rm8(bus, &m, v)
            }
            0xA0 | 0xA8 => {
                let v = u32::from(self.segs[if op == 0xA0 { 4 } else { 5 }].selector);
                let bits = self.vbits();
                self.pushv(bus, bits, v)
            }
            0xA1 | 0xA9 => {
                let bits = self.vbits();
                let v = self.peek_stack(bus, 0, bits)?;
                self.load_data_seg(bus, if op == 0xA1 { 4 } else { 5 }, v as u16)?;
                self.adjust_sp(bits / 8);
                Ok(())
            }
            0xA3 | 0xAB | 0xB3 | 0xBB => {
                let m = self.modrm(bus)?;
                let bits = self.vbits();
                let offset = self.rv(m.reg, bits);
                self.bit_test(bus, m, (op >> 3) & 3, offset, true)
            }
            0xBA => {
                let m = self.modrm(bus)?;
                let imm = u32::from(self.fetch8(bus)?);
                if m.reg < 4 {
                    return Err(INVALID_OPCODE);
                }
                self.bit_test(bus, m, (m.reg & 3) as u8, imm, false)
            }
            0xA4 | 0xA5 | 0xAC | 0xAD => {
                let m = self.modrm(bus)?;
                let count = if op & 1 == 0 {
                    u32::from(self.fetch8(bus)?)
                } else {
                    self.regs[CX] & 0xFF
                };
                let bits = self.vbits();
                let dst = self.get_rmv(bus, &m, bits)?;
                let src = self.rv(m.reg, bits);
                let r = self.shift_double(op < 0xAC, dst, src, count, bits);
                self.set_rmv(bus, &m, bits, r)
            }
            0xAF => {
                let m = self.modrm(bus)?;
                let bits = self.vbits();
                let b = self.get_rmv(bus, &m, bits)?;
                let a = self.rv(m.reg, bits);
                let r = self.imul_trunc(a, b, bits);
                self.set_rv(m.reg, bits, r);
                Ok(())
            }
            0xB2 | 0xB4 | 0xB5 => {
                let m = self.modrm(bus)?;
                if !m.mem {
                    return Err(INVALID_OPCODE);
                }
                let bits = self.vbits();
                let (off, sel) = self.read_far_ptr(bus, &m, bits)?;
                let seg = match op {
                    0xB2 => SS,
                    0xB4 => 4,
                    _ => 5,
                };
                self.load_data_seg(bus, seg, sel)?;
                self.set_rv(m.reg, bits, off);
                if seg == SS {
                    self.set_shadow();
                }
                Ok(())
            }
            0xB6 | 0xB7 | 0xBE | 0xBF => {
                let m = self.modrm(bus)?;
                let bits = self.vbits();
                let v = if op & 1 == 0 {
                    let b = u32::from(self.get_rm8(bus, &m)?);
                    if op == 0xBE {
                        b as u8 as i8 as i32 as u32
                    } else {
                        b
                    }
                } else {
                    let w = self.get_rmv(bus, &m, 16)?;
                    if op == 0xBF {
                        w as u16 as i16 as i32 as u32
                    } else {
                        w
                    }
                };
                self.set_rv(m.reg, bits, v);
                Ok(())
            }
            0xBC | 0xBD => {
                let m = self.modrm(bus)?;
                let bits = self.vbits();
                let v = self.get_rmv(bus, &m, bits)?;
                let f = self.flags.bits() & !super::flags::ZF;
                if v == 0 {
                    // ZF = 1; the destination is undefined and the 80386 leaves it unchanged.
                    self.flags.set_arith(f | super::flags::ZF);
                } else {
                    let idx = if op == 0xBC {
                        v.trailing_zeros()
                    } else {
                        31 - v.leading_zeros()
                    };
                    self.set_rv(m.reg, bits, idx);
                    self.flags.set_arith(f);
                }
                Ok(())
            }
            _ => Err(INVALID_OPCODE),
        }
    }

    /// BT (0), BTS (1), BTR (2), BTC (3). With a register bit offset and a memory operand the
    /// offset is signed and selects any bit relative to the operand's address (80386 PRM,
    /// BT); otherwise it is taken modulo the operand size.
    fn bit_test<B: Bus>(
        &mut self,
        bus: &mut B,
        m: ModRm,
        kind: u8,
        offset: u32,
        reg_offset: bool,
    ) -> R<()> {
        let bits = self.vbits();
        let (mut m, bit) = (m, offset & (bits - 1));
        if m.mem && reg_offset {
            let signed = super::flags::sext(offset, bits) as i32;
            let units = signed >> if bits == 32 { 5 } else { 4 };
            let delta = (units as u32).wrapping_mul(bits / 8);
            m.off = self.wrap_off(m.off, delta);
        }
        let v = self.get_rmv(bus, &m, bits)?;
        let cf = (v >> bit) & 1 != 0;
        let r = match kind {
            1 => v | (1 << bit),
            2 => v & !(1 << bit),
            3 => v ^ (1 << bit),
            _ => v,
        };
        if kind != 0 {
            self.set_rmv(bus, &m, bits, r)?;
        }
        self.flags.set_cf(cf);
        Ok(())
    }
}
