//! Arithmetic and logic: the eight ALU operations, INC/DEC/NEG, shifts and rotates,
//! multiply and divide, and decimal adjustment.
//!
//! Definitions follow the instruction pages of the 80386 Programmer's Reference Manual
//! (chapter 17). Where the manual leaves a flag undefined, vexed produces what the
//! SingleStepTests vectors show for the 8086 and 80286, and otherwise the value the
//! shift-by-one definition gives for the last bit shifted (the 8086 and 80286 execute
//! multi-bit shifts as repeated single-bit steps in microcode).

use super::flags::sext;
use super::regs::{AX, DX};
use super::{Cpu, DIVIDE_ERROR, R};

/// All-ones mask of `bits` width.
#[inline(always)]
pub(crate) fn width_mask(bits: u32) -> u32 {
    if bits == 32 {
        0xFFFF_FFFF
    } else {
        (1u32 << bits) - 1
    }
}

impl Cpu {
    /// One of ADD OR ADC SBB AND SUB XOR CMP (`op` = the opcode's bits 3-5) on `a` and `b` of
    /// width `bits`. Returns the result (for CMP, `a` unchanged).
    #[inline(always)]
    pub(crate) fn alu(&mut self, op: usize, a: u32, b: u32, bits: u32) -> u32 {
        let mask = width_mask(bits);
        match op & 7 {
            0 => {
                let r = a.wrapping_add(b);
                self.flags.set_add(a, b, r, bits);
                r & mask
            }
            1 => {
                let r = a | b;
                self.flags.set_logic(r, bits);
                r
            }
            2 => {
                let r = a.wrapping_add(b).wrapping_add(self.flags.cf() as u32);
                self.flags.set_add(a, b, r, bits);
                r & mask
            }
            3 => {
                let r = a.wrapping_sub(b).wrapping_sub(self.flags.cf() as u32);
                self.flags.set_sub(a, b, r, bits);
                r & mask
            }
            4 => {
                let r = a & b;
                self.flags.set_logic(r, bits);
                r
            }
            5 => {
                let r = a.wrapping_sub(b);
                self.flags.set_sub(a, b, r, bits);
                r & mask
            }
            6 => {
                let r = a ^ b;
                self.flags.set_logic(r, bits);
                r
            }
            _ => {
                let r = a.wrapping_sub(b);
                self.flags.set_sub(a, b, r, bits);
                a
            }
        }
    }

    #[inline(always)]
    pub(crate) fn inc(&mut self, a: u32, bits: u32) -> u32 {
        let r = a.wrapping_add(1) & width_mask(bits);
        self.flags.set_incdec(a, r, bits, false);
        r
    }

    #[inline(always)]
    pub(crate) fn dec(&mut self, a: u32, bits: u32) -> u32 {
        let r = a.wrapping_sub(1) & width_mask(bits);
        self.flags.set_incdec(a, r, bits, true);
        r
    }

    /// NEG: 0 - a; CF is set unless the operand was 0.
    #[inline(always)]
    pub(crate) fn neg(&mut self, a: u32, bits: u32) -> u32 {
        let r = 0u32.wrapping_sub(a);
        self.flags.set_sub(0, a, r, bits);
        r & width_mask(bits)
    }

    /// A shift or rotate group operation (`op` = ModR/M reg field) of `v` by `count`.
    /// The 80286 and 80386 use the count modulo 32; the 8086 uses all 8 bits of it.
    #[inline(always)]
    pub(crate) fn shift(&mut self, op: usize, v: u32, count: u32, bits: u32) -> u32 {
        let count = if self.is8086() {
            count & 0xFF
        } else {
            count & 0x1F
        };
        if count == 0 {
            return v;
        }
        let mask = width_mask(bits);
        let msb = |x: u32| (x >> (bits - 1)) & 1 != 0;
        let msb2 = |x: u32| (x >> (bits - 2)) & 1 != 0;
        match op & 7 {
            0 => {
                // ROL
                let n = count % bits;
                let r = if n == 0 {
                    v
                } else {
                    ((v << n) | (v >> (bits - n))) & mask
                };
                let cf = r & 1 != 0;
                self.flags.set_cf_of(cf, msb(r) ^ cf);
                r
            }
            1 => {
                // ROR
                let n = count % bits;
                let r = if n == 0 {
                    v
                } else {
                    ((v >> n) | (v << (bits - n))) & mask
                };
                self.flags.set_cf_of(msb(r), msb(r) ^ msb2(r));
                r
            }
            2 => {
                // RCL: a (bits+1)-bit rotation of CF:v.
                let n = count % (bits + 1);
                let wide = (u64::from(self.flags.cf()) << bits) | u64::from(v);
                let w = bits + 1;
                let rot = if n == 0 {
                    wide
                } else {
                    ((wide << n) | (wide >> (w - n))) & ((1u64 << w) - 1)
                };
                let r = (rot as u32) & mask;
                let cf = (rot >> bits) & 1 != 0;
                self.flags.set_cf_of(cf, msb(r) ^ cf);
                r
            }
            3 => {
                // RCR
                let n = count % (bits + 1);
                let wide = (u64::from(self.flags.cf()) << bits) | u64::from(v);
                let w = bits + 1;
                let rot = if n == 0 {
                    wide
                } else {
                    ((wide >> n) | (wide << (w - n))) & ((1u64 << w) - 1)
                };
                let r = (rot as u32) & mask;
                let cf = (rot >> bits) & 1 != 0;
                self.flags.set_cf_of(cf, msb(r) ^ msb2(r));
                r
            }
            6 if self.is8086() => {
                // SETMO/SETMOC (8086 only): the result is all ones.
                self.flags.set_result(mask, bits, false, false, false);
                mask
            }
            4 | 6 => {
                // SHL/SAL (reg 6 is an undocumented SAL alias on the 80286 and 80386).
                let (r, cf) = if count <= bits {
                    ((v << count) & mask, (v >> (bits - count)) & 1 != 0)
                } else {
                    (0, false)
                };
                self.flags.set_result(r, bits, cf, msb(r) ^ cf, false);
                r
            }
            5 => {
                // SHR: OF is the sign of the value before the last step.
                let (r, cf) = if count <= bits {
                    (v >> count, (v >> (count - 1)) & 1 != 0)
                } else {
                    (0, false)
                };
                let of = count == 1 && msb(v);
                self.flags.set_result(r, bits, cf, of, false);
                r
            }
            _ => {
                // SAR
                let s = sext(v, bits) as i32;
                let (r, cf) = if count < bits {
                    ((s >> count) as u32 & mask, (s >> (count - 1)) & 1 != 0)
                } else {
                    ((s >> 31) as u32 & mask, s < 0)
                };
                self.flags.set_result(r, bits, cf, false, false);
                r
            }
        }
    }

    /// SHLD/SHRD (80386): shifts `dst` by `count` (mod 32), filling from `src`.
    pub(crate) fn shift_double(
        &mut self,
        left: bool,
        dst: u32,
        src: u32,
        count: u32,
        bits: u32,
    ) -> u32 {
        let count = count & 0x1F;
        if count == 0 {
            return dst;
        }
        let mask = width_mask(bits);
        let msb = |x: u32| (x >> (bits - 1)) & 1 != 0;
        // For 16-bit operands a count above 16 is undefined in the manual; the 80386 shifts
        // the 32-bit concatenation, which is what is computed here.
        let (r, cf) = if bits == 32 {
            if left {
                (
                    (dst << count) | (src >> (32 - count)),
                    (dst >> (32 - count)) & 1 != 0,
                )
            } else {
                (
                    (dst >> count) | (src << (32 - count)),
                    (dst >> (count - 1)) & 1 != 0,
                )
            }
        } else {
            let wide = if left {
                (u64::from(dst) << 16) | u64::from(src)
            } else {
                (u64::from(src) << 16) | u64::from(dst)
            };
            let wide = wide | (wide << 32);
            if left {
                let r = ((wide << count) >> 16) as u32 & mask;
                (r, (wide >> (32 - count)) & 1 != 0)
            } else {
                let r = (wide >> count) as u32 & mask;
                (r, (wide >> (count - 1)) & 1 != 0)
            }
        };
        let r = r & mask;
        self.flags.set_result(r, bits, cf, msb(r) ^ msb(dst), false);
        r
    }

    // ----- multiply and divide -----------------------------------------------------------

    /// MUL/IMUL of the accumulator by `src` (F6/F7 /4 and /5). `signed` selects IMUL.
    pub(crate) fn mul_acc(&mut self, src: u32, bits: u32, signed: bool) {
        // The 8086 microcode negates the product of IMUL when a REP prefix is present.
        let negate = signed && self.is8086() && self.d.rep != 0;
        match bits {
            8 => {
                let a = self.regs[AX] & 0xFF;
                let (mut p, over) = if signed {
                    let p = (a as u8 as i8 as i32) * (src as u8 as i8 as i32);
                    (p as u32 & 0xFFFF, p != i32::from(p as i8))
                } else {
                    let p = a * (src & 0xFF);
                    (p, p > 0xFF)
                };
                if negate {
                    p = p.wrapping_neg() & 0xFFFF;
                }
                self.set_r16(AX, p as u16);
                self.flags.set_result(p, 16, over, over, false);
                self.mul_flags_8086(p >> 8, 8);
            }
            16 => {
                let a = self.regs[AX] & 0xFFFF;
                let (mut p, over) = if signed {
                    let p = (a as u16 as i16 as i32) * (src as u16 as i16 as i32);
                    (p as u32, p != i32::from(p as i16))
                } else {
                    let p = a * (src & 0xFFFF);
                    (p, p > 0xFFFF)
                };
                if negate {
                    p = p.wrapping_neg();
                }
                self.set_r16(AX, p as u16);
                self.set_r16(DX, (p >> 16) as u16);
                self.flags.set_result(p, 32, over, over, false);
                self.mul_flags_8086(p >> 16, 16);
            }
            _ => {
                let a = self.regs[AX];
                let (p, over) = if signed {
                    let p = i64::from(a as i32) * i64::from(src as i32);
                    (p as u64, p != i64::from(p as i32))
                } else {
                    let p = u64::from(a) * u64::from(src);
                    (p, p > 0xFFFF_FFFF)
                };
                self.regs[AX] = p as u32;
                self.regs[DX] = (p >> 32) as u32;
                self.flags.set_result(p as u32, 32, over, over, false);
            }
        }
    }

    /// The 8086 leaves SF, ZF and PF of a multiply as its microcode's last ALU step left
    /// them: from the high half of the product. The 80286 and 80386 use the low half.
    #[inline(always)]
    fn mul_flags_8086(&mut self, high: u32, bits: u32) {
        let (cf, of) = (self.flags.cf(), self.flags.of());
        if self.is8086() {
            self.flags
                .set_result(high & width_mask(bits), bits, cf, of, false);
        } else {
            let low = self.regs[AX] & width_mask(bits);
            self.flags.set_result(low, bits, cf, of, false);
        }
    }

    /// Two- and three-operand IMUL (186+): returns the truncated product, sets CF = OF =
    /// "the product did not fit".
    pub(crate) fn imul_trunc(&mut self, a: u32, b: u32, bits: u32) -> u32 {
        let p = i64::from(sext(a, bits) as i32) * i64::from(sext(b, bits) as i32);
        let r = (p as u32) & width_mask(bits);
        let over = i64::from(sext(r, bits) as i32) != p;
        self.flags.set_result(r, bits, over, over, false);
        r
    }

    /// DIV/IDIV of the double-width accumulator by `src` (F6/F7 /6 and /7).
    pub(crate) fn div_acc(&mut self, src: u32, bits: u32, signed: bool) -> R<()> {
        let negate = signed && self.is8086() && self.d.rep != 0;
        // The 8086 rejects a quotient of -2^(n-1) (it checks the magnitude); later models
        // accept it.
        let min_ok = !self.is8086();
        match bits {
            8 => {
                let num = self.regs[AX] & 0xFFFF;
                let d = src & 0xFF;
                if d == 0 {
                    return Err(DIVIDE_ERROR);
                }
                let (q, r) = if signed {
                    let n = num as u16 as i16 as i32;
                    let dv = d as u8 as i8 as i32;
                    let mut q = n / dv;
                    if !(-128..=127).contains(&q) || (q == -128 && !min_ok) {
                        return Err(DIVIDE_ERROR);
                    }
                    if negate {
                        q = -q;
                    }
                    (q as u32 & 0xFF, (n % dv) as u32 & 0xFF)
                } else {
                    let q = num / d;
                    if q > 0xFF {
                        return Err(DIVIDE_ERROR);
                    }
                    (q, num % d)
                };
                self.set_r16(AX, (q | (r << 8)) as u16);
            }
            16 => {
                let num = (self.regs[AX] & 0xFFFF) | ((self.regs[DX] & 0xFFFF) << 16);
                let d = src & 0xFFFF;
                if d == 0 {
                    return Err(DIVIDE_ERROR);
                }
                let (q, r) = if signed {
                    let n = i64::from(num as i32);
                    let dv = i64::from(d as u16 as i16);
                    let mut q = n / dv;
                    if !(-0x8000..=0x7FFF).contains(&q) || (q == -0x8000 && !min_ok) {
                        return Err(DIVIDE_ERROR);
                    }
                    if negate {
                        q = -q;
                    }
                    (q as u32 & 0xFFFF, (n % dv) as u32 & 0xFFFF)
                } else {
                    let q = num / d;
                    if q > 0xFFFF {
                        return Err(DIVIDE_ERROR);
                    }
                    (q, num % d)
                };
                self.set_r16(AX, q as u16);
                self.set_r16(DX, r as u16);
            }
            _ => {
                let num = u64::from(self.regs[AX]) | (u64::from(self.regs[DX]) << 32);
                if src == 0 {
                    return Err(DIVIDE_ERROR);
                }
                let (q, r) = if signed {
                    let n = num as i64 as i128;
                    let dv = i128::from(src as i32);
                    let q = n / dv;
                    if q > i128::from(i32::MAX) || q < i128::from(i32::MIN) {
                        return Err(DIVIDE_ERROR);
                    }
                    (q as u32, (n % dv) as u32)
                } else {
                    let q = num / u64::from(src);
                    if q > 0xFFFF_FFFF {
                        return Err(DIVIDE_ERROR);
                    }
                    (q as u32, (num % u64::from(src)) as u32)
                };
                self.regs[AX] = q;
                self.regs[DX] = r;
            }
        }
        Ok(())
    }

    // ----- decimal adjust ------------------------------------------------------------------

    /// DAA (27h) and DAS (2Fh).
    pub(crate) fn daa_das(&mut self, sub: bool) {
        let old_al = self.regs[AX] & 0xFF;
        let old_cf = self.flags.cf();
        let old_af = self.flags.af();
        let mut al = old_al;
        let mut cf = false;
        let mut af = false;
        // The 8086 compares the original AL with 9Fh when AF was set (its microcode tests the
        // high nibble after the low-nibble adjustment); later models compare with 99h.
        let high_limit = if self.is8086() && old_af { 0x9F } else { 0x99 };
        // The second step only ever sets CF: the 80286 keeps the first step's carry when the
        // second does not apply (the vectors show it; the later SDM text clears CF there).
        if (al & 0x0F) > 9 || old_af {
            // From the 80286 on, CF also takes the borrow (carry) of this step (80386 PRM,
            // DAA/DAS); the 8086 vectors show its DAS does not.
            if !self.is8086() {
                cf = if sub { al < 6 } else { al + 6 > 0xFF };
            }
            al = if sub { al.wrapping_sub(6) } else { al + 6 };
            af = true;
        }
        if old_al > high_limit || old_cf {
            al = if sub {
                al.wrapping_sub(0x60)
            } else {
                al + 0x60
            };
            cf = true;
        }
        let al = al & 0xFF;
        // OF is undefined; the hardware leaves what the adjustment's last addition gives.
        let of = if sub {
            (old_al & 0x80 != 0) && (al & 0x80 == 0)
        } else {
            (old_al & 0x80 == 0) && (al & 0x80 != 0)
        };
        self.set_r8(0, al as u8);
        self.flags.set_result(al, 8, cf, of, af);
    }

    /// AAA (37h) and AAS (3Fh).
    pub(crate) fn aaa_aas(&mut self, sub: bool) {
        let al = self.regs[AX] & 0xFF;
        let ah = (self.regs[AX] >> 8) & 0xFF;
        let adjust = (al & 0x0F) > 9 || self.flags.af();
        let (new_al, new_ah) = if adjust {
            if self.is8086() {
                // 8086: AL and AH adjusted separately.
                if sub {
                    (al.wrapping_sub(6), ah.wrapping_sub(1))
                } else {
                    (al + 6, ah + 1)
                }
            } else if sub {
                // 80286+: AX -= 6 and AH -= 1 (the borrow of AL - 6 reaches AH).
                let ax = (self.regs[AX] & 0xFFFF).wrapping_sub(6);
                (ax & 0xFF, ((ax >> 8) & 0xFF).wrapping_sub(1))
            } else {
                let ax = (self.regs[AX] & 0xFFFF) + 0x106;
                (ax & 0xFF, (ax >> 8) & 0xFF)
            }
        } else {
            (al, ah)
        };
        let res_al = new_al & 0x0F;
        self.set_r16(AX, (res_al | ((new_ah & 0xFF) << 8)) as u16);
        // SF, ZF, PF and OF are undefined; the vectors show them following the adjusted AL
        // before the high nibble is cleared.
        self.flags
            .set_result(new_al & 0xFF, 8, adjust, false, adjust);
    }

    /// AAM imm8 (D4h): AH = AL / imm, AL = AL mod imm.
    pub(crate) fn aam(&mut self, base: u8) -> R<()> {
        if base == 0 {
            if self.is8086() {
                // The 8086 microcode sets SF, ZF and PF from a zero result before it
                // raises the divide error (SingleStepTests 8086, D4 with immediate 0).
                self.flags.set_result(0, 8, false, false, false);
            }
            return Err(DIVIDE_ERROR);
        }
        let al = (self.regs[AX] & 0xFF) as u8;
        let (q, r) = (al / base, al % base);
        self.set_r16(AX, u16::from_le_bytes([r, q]));
        self.flags.set_result(u32::from(r), 8, false, false, false);
        Ok(())
    }

    /// AAD imm8 (D5h): AL = AL + AH * imm, AH = 0.
    pub(crate) fn aad(&mut self, base: u8) {
        let al = self.regs[AX] & 0xFF;
        let ah = (self.regs[AX] >> 8) & 0xFF;
        let prod = (ah * u32::from(base)) & 0xFF;
        let r = al + prod;
        self.set_r16(AX, (r & 0xFF) as u16);
        // Flags are those of the byte addition AL + (AH * imm).
        self.flags.set_add(al, prod, r, 8);
    }
}
