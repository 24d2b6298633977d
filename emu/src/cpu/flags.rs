//! FLAGS: bit definitions and the lazy evaluation of the six arithmetic flags.
//!
//! Bit positions are those of the Intel 80386 Programmer's Reference Manual, figure 2-8
//! (CF 0, PF 2, AF 4, ZF 6, SF 7, TF 8, IF 9, DF 10, OF 11, IOPL 12-13, NT 14, RF 16, VM 17).
//!
//! Arithmetic instructions do not assemble a FLAGS word. They store the result and a word of
//! auxiliary bits from which any flag is derived cheaply on demand:
//!
//! | `aux` bits | meaning |
//! |---|---|
//! | 31 | CF |
//! | 30 | CF xor OF (so OF = bit 31 xor bit 30) |
//! | 3 | AF |
//! | 7 | SF delta: SF = sign of `res` xor this bit |
//! | 8-15 | PF delta: PF = even parity of `(res xor delta)` low byte |
//!
//! ZF is `res == 0` (`res` is the result sign-extended to 32 bits). For additions and
//! subtractions the carry-out (borrow-out) vector of the operation gives CF, OF and AF
//! directly: CF is the carry out of the top bit, OF the carry out of the top bit xor the
//! carry out of the bit below it, AF the carry out of bit 3; the formulas hold with a carry
//! in, so ADC and SBB record like ADD and SUB. The two delta fields are zero for ordinary
//! results and let any explicit combination of the six flags (POPF, SAHF, IRET) be
//! represented exactly. (Recording operands and computing even the carry vector on demand
//! was measured too: cheaper setters, but conditional jumps, ADC and INC then pay a dispatch
//! on every read, and the total was no better.)
//!
//! Serialized, FLAGS is its 32-bit value: two representations that give the same flags are
//! the same machine state.

use serde::{Deserialize, Serialize};

pub const CF: u32 = 1 << 0;
pub const PF: u32 = 1 << 2;
pub const AF: u32 = 1 << 4;
pub const ZF: u32 = 1 << 6;
pub const SF: u32 = 1 << 7;
pub const TF: u32 = 1 << 8;
pub const IF: u32 = 1 << 9;
pub const DF: u32 = 1 << 10;
pub const OF: u32 = 1 << 11;
pub const IOPL: u32 = 3 << 12;
pub const NT: u32 = 1 << 14;
pub const RF: u32 = 1 << 16;
pub const VM: u32 = 1 << 17;

/// The six flags kept lazily.
pub const ARITH: u32 = CF | PF | AF | ZF | SF | OF;

/// Even parity of the low byte: `PARITY[b]` is 1 when `b` has an even number of set bits.
const fn parity_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).count_ones().is_multiple_of(2) as u8;
        i += 1;
    }
    t
}
static PARITY: [u8; 256] = parity_table();

/// Sign-extends the low `bits` bits of `v` to 32 bits.
#[inline(always)]
pub(crate) fn sext(v: u32, bits: u32) -> u32 {
    match bits {
        8 => v as u8 as i8 as i32 as u32,
        16 => v as u16 as i16 as i32 as u32,
        _ => v,
    }
}

/// The FLAGS register with lazily evaluated arithmetic flags.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(from = "u32", into = "u32")]
pub struct Flags {
    /// Result of the last flag-setting operation, sign-extended to 32 bits.
    res: u32,
    /// Auxiliary bits, see the module documentation.
    aux: u32,
    /// Every FLAGS bit other than the six arithmetic ones.
    other: u32,
}

impl PartialEq for Flags {
    fn eq(&self, o: &Flags) -> bool {
        self.bits() == o.bits()
    }
}
impl Eq for Flags {}

impl From<u32> for Flags {
    fn from(v: u32) -> Flags {
        Flags::from_bits(v)
    }
}

impl From<Flags> for u32 {
    fn from(f: Flags) -> u32 {
        f.bits()
    }
}

impl Flags {
    /// FLAGS holding exactly `value`.
    pub fn from_bits(value: u32) -> Flags {
        let mut f = Flags {
            res: 1,
            aux: 0,
            other: 0,
        };
        f.set_bits(value);
        f
    }

    #[inline(always)]
    pub fn cf(&self) -> bool {
        self.aux >> 31 != 0
    }
    #[inline(always)]
    pub fn of(&self) -> bool {
        ((self.aux >> 31) ^ (self.aux >> 30)) & 1 != 0
    }
    #[inline(always)]
    pub fn af(&self) -> bool {
        self.aux & 8 != 0
    }
    #[inline(always)]
    pub fn zf(&self) -> bool {
        self.res == 0
    }
    #[inline(always)]
    pub fn sf(&self) -> bool {
        ((self.res >> 31) ^ (self.aux >> 7)) & 1 != 0
    }
    #[inline(always)]
    pub fn pf(&self) -> bool {
        PARITY[((self.res ^ (self.aux >> 8)) & 0xFF) as usize] != 0
    }
    #[inline(always)]
    pub fn df(&self) -> bool {
        self.other & DF != 0
    }
    #[inline(always)]
    pub fn tf(&self) -> bool {
        self.other & TF != 0
    }
    #[inline(always)]
    pub fn iflag(&self) -> bool {
        self.other & IF != 0
    }

    /// The whole register as a 32-bit value.
    pub fn bits(&self) -> u32 {
        self.other
            | (self.cf() as u32)
            | ((self.pf() as u32) << 2)
            | ((self.af() as u32) << 4)
            | ((self.zf() as u32) << 6)
            | ((self.sf() as u32) << 7)
            | ((self.of() as u32) << 11)
    }

    /// Sets every bit from `value` (no masking: callers apply the model's rules).
    pub fn set_bits(&mut self, value: u32) {
        self.other = value & !ARITH;
        self.set_arith(value);
    }

    /// Sets the six arithmetic flags from the matching bits of `value`.
    pub fn set_arith(&mut self, value: u32) {
        let zf = value & ZF != 0;
        let res: u32 = if zf { 0 } else { 1 };
        let pdb = if value & PF != 0 {
            res & 0xFF
        } else {
            (res ^ 1) & 0xFF
        };
        let cf = value & CF;
        let of = (value >> 11) & 1;
        self.res = res;
        self.aux = (cf << 31)
            | ((cf ^ of) << 30)
            | (value & AF) >> 1
            | (((value >> 7) & 1) << 7)
            | (pdb << 8);
    }

    /// Replaces the non-arithmetic bits (TF, IF, DF, IOPL, NT, ... and the fixed bits).
    #[inline(always)]
    pub fn set_other(&mut self, value: u32) {
        self.other = value & !ARITH;
    }

    #[inline(always)]
    pub fn other(&self) -> u32 {
        self.other
    }

    #[inline(always)]
    pub fn set_df(&mut self, on: bool) {
        self.other = (self.other & !DF) | if on { DF } else { 0 };
    }

    #[inline(always)]
    pub fn set_if(&mut self, on: bool) {
        self.other = (self.other & !IF) | if on { IF } else { 0 };
    }

    /// Sets CF, keeping OF (and the others).
    #[inline(always)]
    pub fn set_cf(&mut self, on: bool) {
        let of = self.of() as u32;
        let cf = on as u32;
        self.aux = (self.aux & 0x3FFF_FFFF) | (cf << 31) | ((cf ^ of) << 30);
    }

    /// Result of an ADD/ADC of width `bits`: `r = a + b (+ carry)`.
    #[inline(always)]
    pub fn set_add(&mut self, a: u32, b: u32, r: u32, bits: u32) {
        let cout = (a & b) | ((a | b) & !r);
        self.aux = ((cout << (32 - bits)) & 0xC000_0000) | (cout & 8);
        self.res = sext(r, bits);
    }

    /// Result of a SUB/SBB/CMP/NEG of width `bits`: `r = a - b (- borrow)`.
    #[inline(always)]
    pub fn set_sub(&mut self, a: u32, b: u32, r: u32, bits: u32) {
        let bout = (!a & b) | (!(a ^ b) & r);
        self.aux = ((bout << (32 - bits)) & 0xC000_0000) | (bout & 8);
        self.res = sext(r, bits);
    }

    /// Result of a logical operation: CF = OF = AF = 0, SF/ZF/PF from `r`.
    #[inline(always)]
    pub fn set_logic(&mut self, r: u32, bits: u32) {
        self.aux = 0;
        self.res = sext(r, bits);
    }

    /// INC/DEC: like ADD/SUB of 1 but CF is left alone.
    #[inline(always)]
    pub fn set_incdec(&mut self, a: u32, r: u32, bits: u32, dec: bool) {
        let cf = self.aux >> 31;
        let v = if dec {
            (!a & 1) | (!(a ^ 1) & r)
        } else {
            (a & 1) | ((a | 1) & !r)
        };
        let of = ((v >> (bits - 1)) ^ (v >> (bits - 2))) & 1;
        self.aux = (cf << 31) | ((cf ^ of) << 30) | (v & 8);
        self.res = sext(r, bits);
    }

    /// A result whose SF/ZF/PF follow `r` and whose CF, OF and AF are given explicitly.
    #[inline(always)]
    pub fn set_result(&mut self, r: u32, bits: u32, cf: bool, of: bool, af: bool) {
        let (cf, of) = (cf as u32, of as u32);
        self.aux = (cf << 31) | ((cf ^ of) << 30) | ((af as u32) << 3);
        self.res = sext(r, bits);
    }

    /// Changes only CF and OF (rotates), keeping SF, ZF, PF and AF.
    #[inline(always)]
    pub fn set_cf_of(&mut self, cf: bool, of: bool) {
        let (cf, of) = (cf as u32, of as u32);
        self.aux = (self.aux & 0x3FFF_FFFF) | (cf << 31) | ((cf ^ of) << 30);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_arithmetic_combination_round_trips() {
        // All 64 combinations of CF PF AF ZF SF OF must be representable (POPF can load any).
        for combo in 0u32..64 {
            let bits = [CF, PF, AF, ZF, SF, OF]
                .iter()
                .enumerate()
                .filter(|(i, _)| combo & (1 << i) != 0)
                .fold(0, |acc, (_, b)| acc | b);
            let f = Flags::from_bits(bits | IF | DF | 2);
            assert_eq!(f.bits(), bits | IF | DF | 2, "combo {combo:06b}");
        }
    }

    #[test]
    fn add_flags_follow_the_manual() {
        // 80386 PRM, ADD: OF, SF, ZF, AF, CF and PF set according to the result.
        let mut f = Flags::from_bits(0);
        // 7Fh + 01h = 80h: signed overflow, no carry, AF (F+1 carries out of bit 3), SF.
        f.set_add(0x7F, 0x01, 0x80, 8);
        assert!(f.of() && !f.cf() && f.af() && f.sf() && !f.zf() && !f.pf());
        // FFh + 01h = 00h (carry out): CF, ZF, AF, PF (zero has even parity), no OF.
        f.set_add(0xFF, 0x01, 0x100, 8);
        assert!(f.cf() && f.zf() && f.af() && f.pf() && !f.of() && !f.sf());
        // 8000h + 8000h = 0 with carry and overflow (16-bit).
        f.set_add(0x8000, 0x8000, 0x1_0000, 16);
        assert!(f.cf() && f.of() && f.zf());
        // 32-bit: 7FFFFFFFh + 1 overflows into the sign.
        f.set_add(0x7FFF_FFFF, 1, 0x8000_0000, 32);
        assert!(f.of() && f.sf() && !f.cf());
        // ADC records the same way: FFh + 00h + carry 1 = 00h with CF and AF.
        f.set_add(0xFF, 0x00, 0x100, 8);
        assert!(f.cf() && f.af() && f.zf() && !f.of());
    }

    #[test]
    fn sub_flags_follow_the_manual() {
        let mut f = Flags::from_bits(0);
        // 00h - 01h = FFh: borrow (CF), AF, SF, PF (FFh has 8 bits set).
        f.set_sub(0x00, 0x01, 0xFFFF_FFFF, 8);
        assert!(f.cf() && f.af() && f.sf() && f.pf() && !f.of() && !f.zf());
        // 80h - 01h = 7Fh: signed overflow, no borrow.
        f.set_sub(0x80, 0x01, 0x7F, 8);
        assert!(f.of() && !f.cf() && !f.sf());
        // 5 - 5 = 0.
        f.set_sub(5, 5, 0, 16);
        assert!(f.zf() && !f.cf() && !f.of() && !f.af());
    }

    #[test]
    fn incdec_preserve_carry() {
        let mut f = Flags::from_bits(CF);
        f.set_incdec(0x7FFF, 0x8000, 16, false);
        assert!(f.cf() && f.of() && f.sf());
        let mut f = Flags::from_bits(0);
        f.set_incdec(0x80, 0x7F, 8, true);
        assert!(!f.cf() && f.of() && f.af());
    }

    #[test]
    fn set_cf_keeps_the_others() {
        let mut f = Flags::from_bits(OF | ZF);
        f.set_cf(true);
        assert!(f.cf() && f.of() && f.zf());
        f.set_cf(false);
        assert!(!f.cf() && f.of() && f.zf());
        let mut f = Flags::from_bits(0);
        f.set_sub(1, 2, 0xFFFF, 16); // CF, SF, AF, PF set
        f.set_cf_of(false, true);
        assert!(!f.cf() && f.of() && f.sf() && f.af());
    }

    #[test]
    fn serializes_as_the_flags_value() {
        let mut f = Flags::from_bits(0x0202);
        f.set_add(0xFF, 1, 0x100, 8);
        let v: u32 = f.into();
        assert_eq!(v, 0x0202 | CF | PF | AF | ZF);
        assert_eq!(Flags::from(v), f);
    }
}
