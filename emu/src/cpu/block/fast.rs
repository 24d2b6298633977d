//! Execution of decoded [`Op`]s.
//!
//! Each op does exactly what the full interpreter (`exec.rs`, `exec_0f.rs`) does for the
//! instruction it was decoded from, through the same helpers (`alu.rs`, `access.rs`,
//! `interrupt.rs`); only the operands come from the decoded op instead of the instruction
//! stream.
//!
//! Dispatch is one jump table over [`Op::code`]. The hottest kinds are split by *shape*
//! (operand width 8/16/32 times register or memory operand) and their handlers are generic
//! over it, so each shape compiles to straight-line code; [`lower`] picks the code. The arms
//! below list every code as a named constant (rustc turns literal arms into a jump table,
//! but range patterns or guards into comparison chains).

use super::{COUNT_ECX, EA_32, EaForm, Flow, Kind, Op};
use crate::bus::Bus;
use crate::cpu::alu::width_mask;
use crate::cpu::regs::{CS, CX};
use crate::cpu::{BLOCK_STALE, Cpu, Model, R};

/// Dispatch codes. A family's six shapes are consecutive (R8, M8, R16, M16, R32, M32); the
/// ALU families have a run of six per operation.
pub(crate) mod code {
    // AluRmReg: eight operations (ADD OR ADC SBB AND SUB XOR CMP) of six shapes each.
    pub const ALU_RM_REG: u16 = 0;
    // AluRegRm: eight operations (ADD OR ADC SBB AND SUB XOR CMP) of six shapes each.
    pub const ALU_REG_RM: u16 = 48;
    // AluRmImm: eight operations (ADD OR ADC SBB AND SUB XOR CMP) of six shapes each.
    pub const ALU_RM_IMM: u16 = 96;
    // TestRmReg
    pub const TEST_RM_REG: u16 = 144;
    // TestRmImm
    pub const TEST_RM_IMM: u16 = 150;
    // MovRmReg
    pub const MOV_RM_REG: u16 = 156;
    // MovRegRm
    pub const MOV_REG_RM: u16 = 162;
    // MovRmImm
    pub const MOV_RM_IMM: u16 = 168;
    // IncRm
    pub const INC_RM: u16 = 174;
    // DecRm
    pub const DEC_RM: u16 = 180;
    // ShiftRmImm
    pub const SHIFT_RM_IMM: u16 = 186;
    // ShiftRmCl
    pub const SHIFT_RM_CL: u16 = 192;
    // XchgRmReg
    pub const XCHG_RM_REG: u16 = 198;
    /// First code of the kinds that are not split by shape.
    pub const OTHERS: u16 = 204;
    pub const LEA: u16 = OTHERS;
    pub const NOT_RM: u16 = OTHERS + 1;
    pub const NEG_RM: u16 = OTHERS + 2;
    pub const PUSH_REG: u16 = OTHERS + 3;
    pub const POP_REG: u16 = OTHERS + 4;
    pub const PUSH_IMM: u16 = OTHERS + 5;
    pub const PUSH_RM: u16 = OTHERS + 6;
    pub const PUSH_SEG: u16 = OTHERS + 7;
    pub const POP_SEG: u16 = OTHERS + 8;
    pub const MOV_RM_SEG: u16 = OTHERS + 9;
    pub const MOV_SEG_RM: u16 = OTHERS + 10;
    pub const CBW: u16 = OTHERS + 11;
    pub const CWD: u16 = OTHERS + 12;
    pub const CLC: u16 = OTHERS + 13;
    pub const STC: u16 = OTHERS + 14;
    pub const CMC: u16 = OTHERS + 15;
    pub const CLD: u16 = OTHERS + 16;
    pub const STD: u16 = OTHERS + 17;
    pub const CLI: u16 = OTHERS + 18;
    pub const NOP: u16 = OTHERS + 19;
    pub const SALC: u16 = OTHERS + 20;
    pub const LAHF: u16 = OTHERS + 21;
    pub const SAHF: u16 = OTHERS + 22;
    pub const XLAT: u16 = OTHERS + 23;
    pub const MOVZX: u16 = OTHERS + 24;
    pub const MOVSX: u16 = OTHERS + 25;
    pub const SETCC: u16 = OTHERS + 26;
    pub const IMUL: u16 = OTHERS + 27;
    pub const JCC: u16 = OTHERS + 28;
    pub const JMP: u16 = OTHERS + 29;
    pub const CALL: u16 = OTHERS + 30;
    pub const RET: u16 = OTHERS + 31;
    pub const LOOP: u16 = OTHERS + 32;
    pub const JMP_RM: u16 = OTHERS + 33;
    pub const CALL_RM: u16 = OTHERS + 34;
    pub const PUSH_REG32: u16 = OTHERS + 35;
    pub const POP_REG32: u16 = OTHERS + 36;
    /// SHL/SHR of a register by a constant count in 1..=width (after the model's count
    /// masking), the shifts compilers emit; [`specialize`] picks them.
    pub const SHL_R8_IMM: u16 = OTHERS + 37;
    pub const SHL_R16_IMM: u16 = OTHERS + 38;
    pub const SHL_R32_IMM: u16 = OTHERS + 39;
    pub const SHR_R8_IMM: u16 = OTHERS + 40;
    pub const SHR_R16_IMM: u16 = OTHERS + 41;
    pub const SHR_R32_IMM: u16 = OTHERS + 42;
    /// Register forms whose flags no later instruction can observe (see `flags_live.rs`):
    /// the result without the flags. ADD OR ADC SBB AND SUB XOR of a register with a
    /// register (R8, R16, R32 each), the destination in `Op::rm` and the source in
    /// `Op::reg`.
    pub const ALU_RR_NF: u16 = OTHERS + 43;
    /// The same with the immediate `Op::imm` as the source.
    pub const ALU_RI_NF: u16 = ALU_RR_NF + 24;
    pub const INC_R_NF: u16 = ALU_RI_NF + 24;
    pub const DEC_R_NF: u16 = INC_R_NF + 3;
    pub const SHL_R_IMM_NF: u16 = DEC_R_NF + 3;
    pub const SHR_R_IMM_NF: u16 = SHL_R_IMM_NF + 3;
    /// LOOP (counting CX, or ECX), Jcc and JMP whose target is the first instruction of
    /// their own block (a loop body), in code whose IP and operand size agree (both 16-bit
    /// or both 32-bit; [`specialize`] picks them). `Op::imm` holds the IP mask: the target
    /// is the block's entry EIP masked by it, which is within the CS limit as the entry is.
    pub const LOOP_SELF: u16 = SHR_R_IMM_NF + 3;
    pub const LOOP_SELF_ECX: u16 = LOOP_SELF + 1;
    pub const JCC_SELF: u16 = LOOP_SELF + 2;
    pub const JMP_SELF: u16 = LOOP_SELF + 3;
    /// MOV reg,[disp] and MOV [disp],reg (a displacement alone, the form of globals) for
    /// widths 8, 16 and 32: the address needs no form dispatch.
    pub const MOV_REG_DISP: u16 = JMP_SELF + 1;
    pub const MOV_DISP_REG: u16 = MOV_REG_DISP + 3;
    /// One past the last code.
    pub const END: u16 = MOV_DISP_REG + 3;

    // The dispatch arms in `exec_fast` are literals (see the module documentation).
    const _: () = assert!(ALU_RR_NF == 247 && ALU_RI_NF == 271 && INC_R_NF == 295);
    const _: () = assert!(DEC_R_NF == 298 && SHL_R_IMM_NF == 301 && SHR_R_IMM_NF == 304);
    const _: () = assert!(LOOP_SELF == 307 && MOV_REG_DISP == 311 && END == 317);
}

/// A dispatch code: a value below [`code::END`], which the only constructor ensures, so the
/// dispatch `match` needs no range test before its jump table.
///
/// Measured with callgrind on the cpuloop (11 M instructions): the range test cost two host
/// instructions per op, 42.2 -> 40.4 per guest instruction in real mode and 39.8 -> 37.8 in
/// protected mode with paging.
mod checked {
    use super::code::{END, NOP};

    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(crate) struct Code(u16);

    impl Code {
        /// Code `n`; [`NOP`] for a value past the last code (none of the producers in this
        /// module makes one).
        #[inline]
        pub(crate) fn new(n: u16) -> Code {
            debug_assert!(n < END, "dispatch code {n} out of range");
            Code(if n < END { n } else { NOP })
        }

        /// The code, below [`END`] for the compiler as well.
        #[inline(always)]
        pub(crate) fn get(self) -> u16 {
            // SAFETY: `Code::new` is the only way to make a `Code` (the field is private to
            // this module) and it never stores a value of `END` or more; `Default` stores 0.
            unsafe { std::hint::assert_unchecked(self.0 < END) };
            self.0
        }
    }
}
pub(crate) use checked::Code;

/// The dispatch code for `op` (decoded for a 32-bit code segment when `big`) on `model`:
/// [`lower`], then a narrower handler where the decoded operands allow one. May rewrite
/// `op.imm` to the effective shift count or, for a branch to its block's start, the IP mask.
pub(crate) fn specialize(model: Model, big: bool, op: &mut Op) -> u16 {
    let general = lower(op.kind, op.sub, op.w, op.mem);
    if matches!(op.kind, Kind::Loop | Kind::Jcc | Kind::Jmp) && (op.w == 32) == big {
        // The target is `(entry + end + imm) & mask` (the next IP and the target wrap alike
        // when the sizes agree): the entry itself, masked, when `end + imm` wraps to 0.
        let mask = if big { u32::MAX } else { 0xFFFF };
        if u32::from(op.end).wrapping_add(op.imm) & mask == 0 {
            let code = match op.kind {
                Kind::Loop if op.sub == 2 && op.ea & COUNT_ECX != 0 => code::LOOP_SELF_ECX,
                Kind::Loop if op.sub == 2 => code::LOOP_SELF,
                Kind::Jcc => code::JCC_SELF,
                Kind::Jmp => code::JMP_SELF,
                _ => return general,
            };
            op.imm = mask;
            return code;
        }
    }
    if matches!(op.kind, Kind::MovRegRm | Kind::MovRmReg)
        && op.mem
        && super::EaForm::of(op.ea) == super::EaForm::Disp
    {
        let family = if op.kind == Kind::MovRegRm {
            code::MOV_REG_DISP
        } else {
            code::MOV_DISP_REG
        };
        return family
            + match op.w {
                8 => 0,
                16 => 1,
                _ => 2,
            };
    }
    if op.kind == Kind::ShiftRmImm && !op.mem {
        // The same count masking as `Cpu::shift`: the 8086 uses the whole count byte.
        let count = if model == Model::I8086 {
            op.imm & 0xFF
        } else {
            op.imm & 0x1F
        };
        let shl = op.sub == 4 || (op.sub == 6 && model != Model::I8086);
        let family = match op.sub {
            _ if shl => code::SHL_R8_IMM,
            5 => code::SHR_R8_IMM,
            _ => return general,
        };
        if count == 0 || count > u32::from(op.w) {
            return general;
        }
        op.imm = count;
        return family
            + match op.w {
                8 => 0,
                16 => 1,
                _ => 2,
            };
    }
    general
}

/// The dispatch code for an op of `kind` (and ALU operation `op`) with operand width `w` and
/// a memory (`mem`) or register r/m operand.
pub(crate) fn lower(kind: Kind, op: u8, w: u8, mem: bool) -> u16 {
    let op = u16::from(op);
    let shape = match w {
        8 => 0,
        16 => 2,
        _ => 4,
    } + u16::from(mem);
    let family = match kind {
        Kind::AluRmReg => Some(code::ALU_RM_REG + op * 6),
        Kind::AluRegRm => Some(code::ALU_REG_RM + op * 6),
        Kind::AluRmImm => Some(code::ALU_RM_IMM + op * 6),
        Kind::TestRmReg => Some(code::TEST_RM_REG),
        Kind::TestRmImm => Some(code::TEST_RM_IMM),
        Kind::MovRmReg => Some(code::MOV_RM_REG),
        Kind::MovRegRm => Some(code::MOV_REG_RM),
        Kind::MovRmImm => Some(code::MOV_RM_IMM),
        Kind::IncRm => Some(code::INC_RM),
        Kind::DecRm => Some(code::DEC_RM),
        Kind::ShiftRmImm => Some(code::SHIFT_RM_IMM),
        Kind::ShiftRmCl => Some(code::SHIFT_RM_CL),
        Kind::XchgRmReg => Some(code::XCHG_RM_REG),
        _ => None,
    };
    if let Some(first) = family {
        return first + shape;
    }
    match kind {
        Kind::PushReg if w == 32 => code::PUSH_REG32,
        Kind::PushReg => code::PUSH_REG,
        Kind::PopReg if w == 32 => code::POP_REG32,
        Kind::PopReg => code::POP_REG,
        Kind::Lea => code::LEA,
        Kind::NotRm => code::NOT_RM,
        Kind::NegRm => code::NEG_RM,
        Kind::PushImm => code::PUSH_IMM,
        Kind::PushRm => code::PUSH_RM,
        Kind::PushSeg => code::PUSH_SEG,
        Kind::PopSeg => code::POP_SEG,
        Kind::MovRmSeg => code::MOV_RM_SEG,
        Kind::MovSegRm => code::MOV_SEG_RM,
        Kind::Cbw => code::CBW,
        Kind::Cwd => code::CWD,
        Kind::Clc => code::CLC,
        Kind::Stc => code::STC,
        Kind::Cmc => code::CMC,
        Kind::Cld => code::CLD,
        Kind::Std => code::STD,
        Kind::Cli => code::CLI,
        Kind::Nop => code::NOP,
        Kind::Salc => code::SALC,
        Kind::Lahf => code::LAHF,
        Kind::Sahf => code::SAHF,
        Kind::Xlat => code::XLAT,
        Kind::Movzx => code::MOVZX,
        Kind::Movsx => code::MOVSX,
        Kind::Setcc => code::SETCC,
        Kind::Imul => code::IMUL,
        Kind::Jcc => code::JCC,
        Kind::Jmp => code::JMP,
        Kind::Call => code::CALL,
        Kind::Ret => code::RET,
        Kind::Loop => code::LOOP,
        Kind::JmpRm => code::JMP_RM,
        Kind::CallRm => code::CALL_RM,
        // Family kinds were handled above.
        _ => code::NOP,
    }
}

/// The code of `op` without its flags ([`code::ALU_RR_NF`] and the others after it), for a
/// register-form op whose flags are dead, or `None` when it has no such form. CMP and TEST
/// without flags do nothing and become [`code::NOP`]. Rewrites `rm`/`reg` so that `rm` is
/// the destination.
pub(crate) fn without_flags(op: &mut Op) -> Option<u16> {
    let width = match op.w {
        8 => 0,
        16 => 1,
        _ => 2,
    };
    if op.mem {
        return None;
    }
    let alu = u16::from(op.sub & 7);
    Some(match (op.kind, op.code.get()) {
        (Kind::AluRmReg | Kind::AluRegRm | Kind::AluRmImm, _) if alu == 7 => code::NOP,
        (Kind::TestRmReg | Kind::TestRmImm, _) => code::NOP,
        (Kind::AluRmReg, _) => code::ALU_RR_NF + alu * 3 + width,
        (Kind::AluRegRm, _) => {
            std::mem::swap(&mut op.rm, &mut op.reg);
            code::ALU_RR_NF + alu * 3 + width
        }
        (Kind::AluRmImm, _) => code::ALU_RI_NF + alu * 3 + width,
        (Kind::IncRm, _) => code::INC_R_NF + width,
        (Kind::DecRm, _) => code::DEC_R_NF + width,
        (_, c) if (code::SHL_R8_IMM..=code::SHL_R32_IMM).contains(&c) => code::SHL_R_IMM_NF + width,
        (_, c) if (code::SHR_R8_IMM..=code::SHR_R32_IMM).contains(&c) => code::SHR_R_IMM_NF + width,
        _ => return None,
    })
}

impl Cpu {
    /// The effective address of a decoded memory operand.
    #[inline(always)]
    fn op_ea(&self, op: &Op) -> u32 {
        let base = || self.regs[usize::from(op.base & 7)];
        let index = || self.regs[usize::from(op.index & 7)] << op.scale;
        let off = match op.form {
            EaForm::Disp => return op.disp,
            EaForm::Base => base().wrapping_add(op.disp),
            EaForm::BaseIndex => base().wrapping_add(index()).wrapping_add(op.disp),
            EaForm::Index => index().wrapping_add(op.disp),
        };
        off & op.ea_mask
    }

    #[inline(always)]
    fn reg_w<const W: u32>(&self, i: u8) -> u32 {
        match W {
            8 => u32::from(self.r8(usize::from(i))),
            16 => self.regs[usize::from(i & 7)] & 0xFFFF,
            _ => self.regs[usize::from(i & 7)],
        }
    }

    #[inline(always)]
    fn set_reg_w<const W: u32>(&mut self, i: u8, v: u32) {
        match W {
            8 => self.set_r8(usize::from(i), v as u8),
            16 => self.set_r16(usize::from(i), v as u16),
            _ => self.regs[usize::from(i & 7)] = v,
        }
    }

    /// Reads the `W`-bit memory operand at `seg:off`: through the memory-operand cache
    /// (`memtlb.rs`) when the segment bound lets it pass, else the general path.
    #[inline(always)]
    pub(super) fn mem_w<B: Bus, const W: u32>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
    ) -> R<u32> {
        let s = &self.segs[seg];
        if i64::from(off) + i64::from(W / 8 - 1) <= s.rlim {
            let lin = s.base.wrapping_add(off);
            let mem = bus.memory_ref();
            let v = match W {
                8 => self.mtlb.read::<1>(mem, lin).map(|b| u32::from(b[0])),
                16 => self
                    .mtlb
                    .read::<2>(mem, lin)
                    .map(|b| u32::from(u16::from_le_bytes(b))),
                _ => self.mtlb.read::<4>(mem, lin).map(u32::from_le_bytes),
            };
            if let Some(v) = v {
                return Ok(v);
            }
        }
        self.mem_w_general::<B, W>(bus, seg, off)
    }

    /// [`Cpu::mem_w`] off the cache: the general read, then an entry for its page.
    #[cold]
    #[inline(never)]
    fn mem_w_general<B: Bus, const W: u32>(&mut self, bus: &mut B, seg: usize, off: u32) -> R<u32> {
        let v = match W {
            8 => u32::from(self.rd8(bus, seg, off)?),
            16 => u32::from(self.rd16(bus, seg, off)?),
            _ => self.rd32(bus, seg, off)?,
        };
        self.mtlb_fill(bus, seg, off, W / 8, false);
        Ok(v)
    }

    /// Writes the `W`-bit memory operand at `seg:off`: through the memory-operand cache when
    /// the segment bound lets it pass and the bytes hold no decoded code (then nothing
    /// decoded changed), else the general path followed by the test for a write into
    /// decoded code ([`Cpu::check_block_fresh`]).
    #[inline(always)]
    pub(super) fn set_mem_w<B: Bus, const W: u32>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
        v: u32,
    ) -> R<()> {
        let s = &self.segs[seg];
        if i64::from(off) + i64::from(W / 8 - 1) <= s.wlim {
            let lin = s.base.wrapping_add(off);
            let mem = bus.memory();
            let done = match W {
                8 => self.mtlb.write::<1>(mem, lin, [v as u8]),
                16 => self.mtlb.write::<2>(mem, lin, (v as u16).to_le_bytes()),
                _ => self.mtlb.write::<4>(mem, lin, v.to_le_bytes()),
            };
            if done {
                return Ok(());
            }
        }
        self.set_mem_w_general::<B, W>(bus, seg, off, v)
    }

    /// [`Cpu::set_mem_w`] off the cache: the general write, an entry for its page, and the
    /// test for a write into decoded code.
    #[cold]
    #[inline(never)]
    fn set_mem_w_general<B: Bus, const W: u32>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
        v: u32,
    ) -> R<()> {
        match W {
            8 => self.wr8(bus, seg, off, v as u8)?,
            16 => self.wr16(bus, seg, off, v as u16)?,
            _ => self.wr32(bus, seg, off, v)?,
        }
        self.mtlb_fill(bus, seg, off, W / 8, true);
        self.check_block_fresh(bus)
    }

    /// After an access of `len` bytes at `seg:off` went the general way and succeeded: an
    /// entry for its page in the memory-operand cache, when the segment's bound lets such
    /// accesses pass (the cache sits behind it), the access stayed in one page and, with
    /// paging, the translation cache holds the page for this kind of access.
    #[inline(never)]
    fn mtlb_fill<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, len: u32, write: bool) {
        let s = &self.segs[seg];
        let bound = if write { s.wlim } else { s.rlim };
        let lin = s.base.wrapping_add(off);
        if i64::from(off) + i64::from(len - 1) > bound || (lin & 0xFFF) + len > 0x1000 {
            return;
        }
        let mem = bus.memory_ref();
        let phys = if self.paged() {
            match self.tlb_peek(mem, lin, write, self.cpl == 3) {
                Some(p) => p,
                None => return,
            }
        } else {
            lin
        };
        if let Some(page) = mem.fast_page(phys)
            && (page.write || !write)
        {
            self.mtlb.insert(mem.cache_epoch(), lin, page, write);
        }
    }

    /// Reads the r/m operand of shape (`W`, `M`); returns it and its offset (if in memory).
    #[inline(always)]
    fn rm_get<B: Bus, const W: u32, const M: bool>(
        &mut self,
        bus: &mut B,
        op: &Op,
    ) -> R<(u32, u32)> {
        if M {
            let off = self.op_ea(op);
            Ok((self.mem_w::<B, W>(bus, usize::from(op.seg), off)?, off))
        } else {
            Ok((self.reg_w::<W>(op.rm), 0))
        }
    }

    /// Writes the r/m operand at `off` (from [`Cpu::rm_get`] or [`Cpu::op_ea`]).
    #[inline(always)]
    fn rm_put<B: Bus, const W: u32, const M: bool>(
        &mut self,
        bus: &mut B,
        op: &Op,
        off: u32,
        v: u32,
    ) -> R<()> {
        if M {
            self.set_mem_w::<B, W>(bus, usize::from(op.seg), off, v)
        } else {
            self.set_reg_w::<W>(op.rm, v);
            Ok(())
        }
    }

    #[inline(always)]
    fn rm_off<const M: bool>(&self, op: &Op) -> u32 {
        if M { self.op_ea(op) } else { 0 }
    }

    // ----- shape-generic handlers ----------------------------------------------------------

    #[inline(always)]
    fn alu_rm_reg<B: Bus, const OP: usize, const W: u32, const M: bool>(
        &mut self,
        bus: &mut B,
        op: &Op,
    ) -> R<()> {
        let (a, off) = self.rm_get::<B, W, M>(bus, op)?;
        let b = self.reg_w::<W>(op.reg);
        let r = self.alu(OP, a, b, W);
        if OP != 7 {
            self.rm_put::<B, W, M>(bus, op, off, r)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn alu_reg_rm<B: Bus, const OP: usize, const W: u32, const M: bool>(
        &mut self,
        bus: &mut B,
        op: &Op,
    ) -> R<()> {
        let (b, _) = self.rm_get::<B, W, M>(bus, op)?;
        let a = self.reg_w::<W>(op.reg);
        let r = self.alu(OP, a, b, W);
        if OP != 7 {
            self.set_reg_w::<W>(op.reg, r);
        }
        Ok(())
    }

    #[inline(always)]
    fn alu_rm_imm<B: Bus, const OP: usize, const W: u32, const M: bool>(
        &mut self,
        bus: &mut B,
        op: &Op,
    ) -> R<()> {
        let (a, off) = self.rm_get::<B, W, M>(bus, op)?;
        let r = self.alu(OP, a, op.imm, W);
        if OP != 7 {
            self.rm_put::<B, W, M>(bus, op, off, r)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn test_rm_reg<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (a, _) = self.rm_get::<B, W, M>(bus, op)?;
        let b = self.reg_w::<W>(op.reg);
        self.flags.set_logic(a & b, W);
        Ok(())
    }

    #[inline(always)]
    fn test_rm_imm<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (a, _) = self.rm_get::<B, W, M>(bus, op)?;
        self.flags.set_logic(a & op.imm, W);
        Ok(())
    }

    #[inline(always)]
    fn mov_rm_reg<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let v = self.reg_w::<W>(op.reg);
        let off = self.rm_off::<M>(op);
        self.rm_put::<B, W, M>(bus, op, off, v)
    }

    #[inline(always)]
    fn mov_reg_rm<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (v, _) = self.rm_get::<B, W, M>(bus, op)?;
        self.set_reg_w::<W>(op.reg, v);
        Ok(())
    }

    /// MOV reg,[disp] ([`code::MOV_REG_DISP`]): `Op::disp` is the wrapped offset.
    #[inline(always)]
    fn mov_reg_disp<B: Bus, const W: u32>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let v = self.mem_w::<B, W>(bus, usize::from(op.seg), op.disp)?;
        self.set_reg_w::<W>(op.reg, v);
        Ok(())
    }

    /// MOV [disp],reg ([`code::MOV_DISP_REG`]).
    #[inline(always)]
    fn mov_disp_reg<B: Bus, const W: u32>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let v = self.reg_w::<W>(op.reg);
        self.set_mem_w::<B, W>(bus, usize::from(op.seg), op.disp, v)
    }

    #[inline(always)]
    fn mov_rm_imm<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let off = self.rm_off::<M>(op);
        self.rm_put::<B, W, M>(bus, op, off, op.imm)
    }

    #[inline(always)]
    fn inc_rm<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (v, off) = self.rm_get::<B, W, M>(bus, op)?;
        let r = self.inc(v, W);
        self.rm_put::<B, W, M>(bus, op, off, r)
    }

    #[inline(always)]
    fn dec_rm<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (v, off) = self.rm_get::<B, W, M>(bus, op)?;
        let r = self.dec(v, W);
        self.rm_put::<B, W, M>(bus, op, off, r)
    }

    #[inline(always)]
    fn shift_rm_imm<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (v, off) = self.rm_get::<B, W, M>(bus, op)?;
        let r = self.shift(usize::from(op.sub), v, op.imm, W);
        self.rm_put::<B, W, M>(bus, op, off, r)
    }

    /// SHL reg,count with `count` in 1..=W (see [`specialize`]): the flags of `Cpu::shift`.
    #[inline(always)]
    fn shl_reg_imm<const W: u32>(&mut self, op: &Op) {
        let v = self.reg_w::<W>(op.rm);
        let count = op.imm;
        let r = (v << count) & width_mask(W);
        let cf = (v >> (W - count)) & 1 != 0;
        let of = (r >> (W - 1)) & 1 != 0;
        self.flags.set_result(r, W, cf, of ^ cf, false);
        self.set_reg_w::<W>(op.rm, r);
    }

    /// SHR reg,count with `count` in 1..=W (see [`specialize`]): the flags of `Cpu::shift`.
    #[inline(always)]
    fn shr_reg_imm<const W: u32>(&mut self, op: &Op) {
        let v = self.reg_w::<W>(op.rm);
        let count = op.imm;
        let r = v >> count;
        let cf = (v >> (count - 1)) & 1 != 0;
        let of = count == 1 && (v >> (W - 1)) & 1 != 0;
        self.flags.set_result(r, W, cf, of, false);
        self.set_reg_w::<W>(op.rm, r);
    }

    /// An ALU operation on register `rm` with a register (`IMM` false) or immediate source,
    /// without the flags (see [`without_flags`]).
    #[inline(always)]
    fn alu_nf<const OP: usize, const W: u32, const IMM: bool>(&mut self, op: &Op) {
        let a = self.reg_w::<W>(op.rm);
        let b = if IMM { op.imm } else { self.reg_w::<W>(op.reg) };
        let cf = u32::from(self.flags.cf());
        let r = match OP {
            0 => a.wrapping_add(b),
            1 => a | b,
            2 => a.wrapping_add(b).wrapping_add(cf),
            3 => a.wrapping_sub(b).wrapping_sub(cf),
            4 => a & b,
            5 => a.wrapping_sub(b),
            _ => a ^ b,
        };
        self.set_reg_w::<W>(op.rm, r & width_mask(W));
    }

    /// INC (`STEP` 1) or DEC (`STEP` -1) of register `rm` without the flags.
    #[inline(always)]
    fn step_nf<const W: u32, const STEP: i32>(&mut self, op: &Op) {
        let r = self.reg_w::<W>(op.rm).wrapping_add(STEP as u32);
        self.set_reg_w::<W>(op.rm, r & width_mask(W));
    }

    /// SHL (`LEFT`) or SHR of register `rm` by `imm` (1..=W) without the flags.
    #[inline(always)]
    fn shift_nf<const W: u32, const LEFT: bool>(&mut self, op: &Op) {
        let v = self.reg_w::<W>(op.rm);
        let r = if LEFT { v << op.imm } else { v >> op.imm };
        self.set_reg_w::<W>(op.rm, r & width_mask(W));
    }

    #[inline(always)]
    fn shift_rm_cl<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (v, off) = self.rm_get::<B, W, M>(bus, op)?;
        let count = self.regs[CX] & 0xFF;
        let r = self.shift(usize::from(op.sub), v, count, W);
        self.rm_put::<B, W, M>(bus, op, off, r)
    }

    #[inline(always)]
    fn xchg_rm_reg<B: Bus, const W: u32, const M: bool>(&mut self, bus: &mut B, op: &Op) -> R<()> {
        let (a, off) = self.rm_get::<B, W, M>(bus, op)?;
        let b = self.reg_w::<W>(op.reg);
        if M {
            // Finish the instruction before reporting a write into decoded code.
            let wrote = self.set_mem_w::<B, W>(bus, usize::from(op.seg), off, b);
            if wrote != Err(BLOCK_STALE) {
                wrote?;
            }
            self.set_reg_w::<W>(op.reg, a);
            wrote
        } else {
            self.set_reg_w::<W>(op.rm, b);
            self.set_reg_w::<W>(op.reg, a);
            Ok(())
        }
    }

    // ----- other kinds -----------------------------------------------------------------------

    /// Reads the r/m operand at a width known only at run time (less frequent kinds).
    #[inline(always)]
    fn rm_any<B: Bus>(&mut self, bus: &mut B, op: &Op, w: u8) -> R<(u32, u32)> {
        match (w, op.mem) {
            (8, false) => self.rm_get::<B, 8, false>(bus, op),
            (8, true) => self.rm_get::<B, 8, true>(bus, op),
            (16, false) => self.rm_get::<B, 16, false>(bus, op),
            (16, true) => self.rm_get::<B, 16, true>(bus, op),
            (_, false) => self.rm_get::<B, 32, false>(bus, op),
            (_, true) => self.rm_get::<B, 32, true>(bus, op),
        }
    }

    #[inline(always)]
    fn rm_any_put<B: Bus>(&mut self, bus: &mut B, op: &Op, w: u8, off: u32, v: u32) -> R<()> {
        match (w, op.mem) {
            (8, false) => self.rm_put::<B, 8, false>(bus, op, off, v),
            (8, true) => self.rm_put::<B, 8, true>(bus, op, off, v),
            (16, false) => self.rm_put::<B, 16, false>(bus, op, off, v),
            (16, true) => self.rm_put::<B, 16, true>(bus, op, off, v),
            (_, false) => self.rm_put::<B, 32, false>(bus, op, off, v),
            (_, true) => self.rm_put::<B, 32, true>(bus, op, off, v),
        }
    }

    #[inline(always)]
    fn reg_any(&self, i: u8, w: u8) -> u32 {
        match w {
            8 => self.reg_w::<8>(i),
            16 => self.reg_w::<16>(i),
            _ => self.reg_w::<32>(i),
        }
    }

    #[inline(always)]
    fn set_reg_any(&mut self, i: u8, w: u8, v: u32) {
        match w {
            8 => self.set_reg_w::<8>(i, v),
            16 => self.set_reg_w::<16>(i, v),
            _ => self.set_reg_w::<32>(i, v),
        }
    }

    /// The offset of the instruction after `op`, wrapped to the IP width.
    #[inline(always)]
    fn op_next_ip(&self, op: &Op, entry: u32) -> u32 {
        let next = entry.wrapping_add(u32::from(op.end));
        if self.segs[CS].big {
            next
        } else {
            next & 0xFFFF
        }
    }

    /// Executes one decoded op of a block that started at EIP `entry`.
    #[inline(always)]
    pub(crate) fn exec_fast<B: Bus>(&mut self, bus: &mut B, op: &Op, entry: u32) -> R<Flow> {
        match op.code.get() {
            0 => self.alu_rm_reg::<B, 0, 8, false>(bus, op)?, // ADD R8
            1 => self.alu_rm_reg::<B, 0, 8, true>(bus, op)?,  // ADD M8
            2 => self.alu_rm_reg::<B, 0, 16, false>(bus, op)?, // ADD R16
            3 => self.alu_rm_reg::<B, 0, 16, true>(bus, op)?, // ADD M16
            4 => self.alu_rm_reg::<B, 0, 32, false>(bus, op)?, // ADD R32
            5 => self.alu_rm_reg::<B, 0, 32, true>(bus, op)?, // ADD M32
            6 => self.alu_rm_reg::<B, 1, 8, false>(bus, op)?, // OR R8
            7 => self.alu_rm_reg::<B, 1, 8, true>(bus, op)?,  // OR M8
            8 => self.alu_rm_reg::<B, 1, 16, false>(bus, op)?, // OR R16
            9 => self.alu_rm_reg::<B, 1, 16, true>(bus, op)?, // OR M16
            10 => self.alu_rm_reg::<B, 1, 32, false>(bus, op)?, // OR R32
            11 => self.alu_rm_reg::<B, 1, 32, true>(bus, op)?, // OR M32
            12 => self.alu_rm_reg::<B, 2, 8, false>(bus, op)?, // ADC R8
            13 => self.alu_rm_reg::<B, 2, 8, true>(bus, op)?, // ADC M8
            14 => self.alu_rm_reg::<B, 2, 16, false>(bus, op)?, // ADC R16
            15 => self.alu_rm_reg::<B, 2, 16, true>(bus, op)?, // ADC M16
            16 => self.alu_rm_reg::<B, 2, 32, false>(bus, op)?, // ADC R32
            17 => self.alu_rm_reg::<B, 2, 32, true>(bus, op)?, // ADC M32
            18 => self.alu_rm_reg::<B, 3, 8, false>(bus, op)?, // SBB R8
            19 => self.alu_rm_reg::<B, 3, 8, true>(bus, op)?, // SBB M8
            20 => self.alu_rm_reg::<B, 3, 16, false>(bus, op)?, // SBB R16
            21 => self.alu_rm_reg::<B, 3, 16, true>(bus, op)?, // SBB M16
            22 => self.alu_rm_reg::<B, 3, 32, false>(bus, op)?, // SBB R32
            23 => self.alu_rm_reg::<B, 3, 32, true>(bus, op)?, // SBB M32
            24 => self.alu_rm_reg::<B, 4, 8, false>(bus, op)?, // AND R8
            25 => self.alu_rm_reg::<B, 4, 8, true>(bus, op)?, // AND M8
            26 => self.alu_rm_reg::<B, 4, 16, false>(bus, op)?, // AND R16
            27 => self.alu_rm_reg::<B, 4, 16, true>(bus, op)?, // AND M16
            28 => self.alu_rm_reg::<B, 4, 32, false>(bus, op)?, // AND R32
            29 => self.alu_rm_reg::<B, 4, 32, true>(bus, op)?, // AND M32
            30 => self.alu_rm_reg::<B, 5, 8, false>(bus, op)?, // SUB R8
            31 => self.alu_rm_reg::<B, 5, 8, true>(bus, op)?, // SUB M8
            32 => self.alu_rm_reg::<B, 5, 16, false>(bus, op)?, // SUB R16
            33 => self.alu_rm_reg::<B, 5, 16, true>(bus, op)?, // SUB M16
            34 => self.alu_rm_reg::<B, 5, 32, false>(bus, op)?, // SUB R32
            35 => self.alu_rm_reg::<B, 5, 32, true>(bus, op)?, // SUB M32
            36 => self.alu_rm_reg::<B, 6, 8, false>(bus, op)?, // XOR R8
            37 => self.alu_rm_reg::<B, 6, 8, true>(bus, op)?, // XOR M8
            38 => self.alu_rm_reg::<B, 6, 16, false>(bus, op)?, // XOR R16
            39 => self.alu_rm_reg::<B, 6, 16, true>(bus, op)?, // XOR M16
            40 => self.alu_rm_reg::<B, 6, 32, false>(bus, op)?, // XOR R32
            41 => self.alu_rm_reg::<B, 6, 32, true>(bus, op)?, // XOR M32
            42 => self.alu_rm_reg::<B, 7, 8, false>(bus, op)?, // CMP R8
            43 => self.alu_rm_reg::<B, 7, 8, true>(bus, op)?, // CMP M8
            44 => self.alu_rm_reg::<B, 7, 16, false>(bus, op)?, // CMP R16
            45 => self.alu_rm_reg::<B, 7, 16, true>(bus, op)?, // CMP M16
            46 => self.alu_rm_reg::<B, 7, 32, false>(bus, op)?, // CMP R32
            47 => self.alu_rm_reg::<B, 7, 32, true>(bus, op)?, // CMP M32
            48 => self.alu_reg_rm::<B, 0, 8, false>(bus, op)?, // ADD R8
            49 => self.alu_reg_rm::<B, 0, 8, true>(bus, op)?, // ADD M8
            50 => self.alu_reg_rm::<B, 0, 16, false>(bus, op)?, // ADD R16
            51 => self.alu_reg_rm::<B, 0, 16, true>(bus, op)?, // ADD M16
            52 => self.alu_reg_rm::<B, 0, 32, false>(bus, op)?, // ADD R32
            53 => self.alu_reg_rm::<B, 0, 32, true>(bus, op)?, // ADD M32
            54 => self.alu_reg_rm::<B, 1, 8, false>(bus, op)?, // OR R8
            55 => self.alu_reg_rm::<B, 1, 8, true>(bus, op)?, // OR M8
            56 => self.alu_reg_rm::<B, 1, 16, false>(bus, op)?, // OR R16
            57 => self.alu_reg_rm::<B, 1, 16, true>(bus, op)?, // OR M16
            58 => self.alu_reg_rm::<B, 1, 32, false>(bus, op)?, // OR R32
            59 => self.alu_reg_rm::<B, 1, 32, true>(bus, op)?, // OR M32
            60 => self.alu_reg_rm::<B, 2, 8, false>(bus, op)?, // ADC R8
            61 => self.alu_reg_rm::<B, 2, 8, true>(bus, op)?, // ADC M8
            62 => self.alu_reg_rm::<B, 2, 16, false>(bus, op)?, // ADC R16
            63 => self.alu_reg_rm::<B, 2, 16, true>(bus, op)?, // ADC M16
            64 => self.alu_reg_rm::<B, 2, 32, false>(bus, op)?, // ADC R32
            65 => self.alu_reg_rm::<B, 2, 32, true>(bus, op)?, // ADC M32
            66 => self.alu_reg_rm::<B, 3, 8, false>(bus, op)?, // SBB R8
            67 => self.alu_reg_rm::<B, 3, 8, true>(bus, op)?, // SBB M8
            68 => self.alu_reg_rm::<B, 3, 16, false>(bus, op)?, // SBB R16
            69 => self.alu_reg_rm::<B, 3, 16, true>(bus, op)?, // SBB M16
            70 => self.alu_reg_rm::<B, 3, 32, false>(bus, op)?, // SBB R32
            71 => self.alu_reg_rm::<B, 3, 32, true>(bus, op)?, // SBB M32
            72 => self.alu_reg_rm::<B, 4, 8, false>(bus, op)?, // AND R8
            73 => self.alu_reg_rm::<B, 4, 8, true>(bus, op)?, // AND M8
            74 => self.alu_reg_rm::<B, 4, 16, false>(bus, op)?, // AND R16
            75 => self.alu_reg_rm::<B, 4, 16, true>(bus, op)?, // AND M16
            76 => self.alu_reg_rm::<B, 4, 32, false>(bus, op)?, // AND R32
            77 => self.alu_reg_rm::<B, 4, 32, true>(bus, op)?, // AND M32
            78 => self.alu_reg_rm::<B, 5, 8, false>(bus, op)?, // SUB R8
            79 => self.alu_reg_rm::<B, 5, 8, true>(bus, op)?, // SUB M8
            80 => self.alu_reg_rm::<B, 5, 16, false>(bus, op)?, // SUB R16
            81 => self.alu_reg_rm::<B, 5, 16, true>(bus, op)?, // SUB M16
            82 => self.alu_reg_rm::<B, 5, 32, false>(bus, op)?, // SUB R32
            83 => self.alu_reg_rm::<B, 5, 32, true>(bus, op)?, // SUB M32
            84 => self.alu_reg_rm::<B, 6, 8, false>(bus, op)?, // XOR R8
            85 => self.alu_reg_rm::<B, 6, 8, true>(bus, op)?, // XOR M8
            86 => self.alu_reg_rm::<B, 6, 16, false>(bus, op)?, // XOR R16
            87 => self.alu_reg_rm::<B, 6, 16, true>(bus, op)?, // XOR M16
            88 => self.alu_reg_rm::<B, 6, 32, false>(bus, op)?, // XOR R32
            89 => self.alu_reg_rm::<B, 6, 32, true>(bus, op)?, // XOR M32
            90 => self.alu_reg_rm::<B, 7, 8, false>(bus, op)?, // CMP R8
            91 => self.alu_reg_rm::<B, 7, 8, true>(bus, op)?, // CMP M8
            92 => self.alu_reg_rm::<B, 7, 16, false>(bus, op)?, // CMP R16
            93 => self.alu_reg_rm::<B, 7, 16, true>(bus, op)?, // CMP M16
            94 => self.alu_reg_rm::<B, 7, 32, false>(bus, op)?, // CMP R32
            95 => self.alu_reg_rm::<B, 7, 32, true>(bus, op)?, // CMP M32
            96 => self.alu_rm_imm::<B, 0, 8, false>(bus, op)?, // ADD R8
            97 => self.alu_rm_imm::<B, 0, 8, true>(bus, op)?, // ADD M8
            98 => self.alu_rm_imm::<B, 0, 16, false>(bus, op)?, // ADD R16
            99 => self.alu_rm_imm::<B, 0, 16, true>(bus, op)?, // ADD M16
            100 => self.alu_rm_imm::<B, 0, 32, false>(bus, op)?, // ADD R32
            101 => self.alu_rm_imm::<B, 0, 32, true>(bus, op)?, // ADD M32
            102 => self.alu_rm_imm::<B, 1, 8, false>(bus, op)?, // OR R8
            103 => self.alu_rm_imm::<B, 1, 8, true>(bus, op)?, // OR M8
            104 => self.alu_rm_imm::<B, 1, 16, false>(bus, op)?, // OR R16
            105 => self.alu_rm_imm::<B, 1, 16, true>(bus, op)?, // OR M16
            106 => self.alu_rm_imm::<B, 1, 32, false>(bus, op)?, // OR R32
            107 => self.alu_rm_imm::<B, 1, 32, true>(bus, op)?, // OR M32
            108 => self.alu_rm_imm::<B, 2, 8, false>(bus, op)?, // ADC R8
            109 => self.alu_rm_imm::<B, 2, 8, true>(bus, op)?, // ADC M8
            110 => self.alu_rm_imm::<B, 2, 16, false>(bus, op)?, // ADC R16
            111 => self.alu_rm_imm::<B, 2, 16, true>(bus, op)?, // ADC M16
            112 => self.alu_rm_imm::<B, 2, 32, false>(bus, op)?, // ADC R32
            113 => self.alu_rm_imm::<B, 2, 32, true>(bus, op)?, // ADC M32
            114 => self.alu_rm_imm::<B, 3, 8, false>(bus, op)?, // SBB R8
            115 => self.alu_rm_imm::<B, 3, 8, true>(bus, op)?, // SBB M8
            116 => self.alu_rm_imm::<B, 3, 16, false>(bus, op)?, // SBB R16
            117 => self.alu_rm_imm::<B, 3, 16, true>(bus, op)?, // SBB M16
            118 => self.alu_rm_imm::<B, 3, 32, false>(bus, op)?, // SBB R32
            119 => self.alu_rm_imm::<B, 3, 32, true>(bus, op)?, // SBB M32
            120 => self.alu_rm_imm::<B, 4, 8, false>(bus, op)?, // AND R8
            121 => self.alu_rm_imm::<B, 4, 8, true>(bus, op)?, // AND M8
            122 => self.alu_rm_imm::<B, 4, 16, false>(bus, op)?, // AND R16
            123 => self.alu_rm_imm::<B, 4, 16, true>(bus, op)?, // AND M16
            124 => self.alu_rm_imm::<B, 4, 32, false>(bus, op)?, // AND R32
            125 => self.alu_rm_imm::<B, 4, 32, true>(bus, op)?, // AND M32
            126 => self.alu_rm_imm::<B, 5, 8, false>(bus, op)?, // SUB R8
            127 => self.alu_rm_imm::<B, 5, 8, true>(bus, op)?, // SUB M8
            128 => self.alu_rm_imm::<B, 5, 16, false>(bus, op)?, // SUB R16
            129 => self.alu_rm_imm::<B, 5, 16, true>(bus, op)?, // SUB M16
            130 => self.alu_rm_imm::<B, 5, 32, false>(bus, op)?, // SUB R32
            131 => self.alu_rm_imm::<B, 5, 32, true>(bus, op)?, // SUB M32
            132 => self.alu_rm_imm::<B, 6, 8, false>(bus, op)?, // XOR R8
            133 => self.alu_rm_imm::<B, 6, 8, true>(bus, op)?, // XOR M8
            134 => self.alu_rm_imm::<B, 6, 16, false>(bus, op)?, // XOR R16
            135 => self.alu_rm_imm::<B, 6, 16, true>(bus, op)?, // XOR M16
            136 => self.alu_rm_imm::<B, 6, 32, false>(bus, op)?, // XOR R32
            137 => self.alu_rm_imm::<B, 6, 32, true>(bus, op)?, // XOR M32
            138 => self.alu_rm_imm::<B, 7, 8, false>(bus, op)?, // CMP R8
            139 => self.alu_rm_imm::<B, 7, 8, true>(bus, op)?, // CMP M8
            140 => self.alu_rm_imm::<B, 7, 16, false>(bus, op)?, // CMP R16
            141 => self.alu_rm_imm::<B, 7, 16, true>(bus, op)?, // CMP M16
            142 => self.alu_rm_imm::<B, 7, 32, false>(bus, op)?, // CMP R32
            143 => self.alu_rm_imm::<B, 7, 32, true>(bus, op)?, // CMP M32
            144 => self.test_rm_reg::<B, 8, false>(bus, op)?, // TEST_RM_REG R8
            145 => self.test_rm_reg::<B, 8, true>(bus, op)?,  // TEST_RM_REG M8
            146 => self.test_rm_reg::<B, 16, false>(bus, op)?, // TEST_RM_REG R16
            147 => self.test_rm_reg::<B, 16, true>(bus, op)?, // TEST_RM_REG M16
            148 => self.test_rm_reg::<B, 32, false>(bus, op)?, // TEST_RM_REG R32
            149 => self.test_rm_reg::<B, 32, true>(bus, op)?, // TEST_RM_REG M32
            150 => self.test_rm_imm::<B, 8, false>(bus, op)?, // TEST_RM_IMM R8
            151 => self.test_rm_imm::<B, 8, true>(bus, op)?,  // TEST_RM_IMM M8
            152 => self.test_rm_imm::<B, 16, false>(bus, op)?, // TEST_RM_IMM R16
            153 => self.test_rm_imm::<B, 16, true>(bus, op)?, // TEST_RM_IMM M16
            154 => self.test_rm_imm::<B, 32, false>(bus, op)?, // TEST_RM_IMM R32
            155 => self.test_rm_imm::<B, 32, true>(bus, op)?, // TEST_RM_IMM M32
            156 => self.mov_rm_reg::<B, 8, false>(bus, op)?,  // MOV_RM_REG R8
            157 => self.mov_rm_reg::<B, 8, true>(bus, op)?,   // MOV_RM_REG M8
            158 => self.mov_rm_reg::<B, 16, false>(bus, op)?, // MOV_RM_REG R16
            159 => self.mov_rm_reg::<B, 16, true>(bus, op)?,  // MOV_RM_REG M16
            160 => self.mov_rm_reg::<B, 32, false>(bus, op)?, // MOV_RM_REG R32
            161 => self.mov_rm_reg::<B, 32, true>(bus, op)?,  // MOV_RM_REG M32
            162 => self.mov_reg_rm::<B, 8, false>(bus, op)?,  // MOV_REG_RM R8
            163 => self.mov_reg_rm::<B, 8, true>(bus, op)?,   // MOV_REG_RM M8
            164 => self.mov_reg_rm::<B, 16, false>(bus, op)?, // MOV_REG_RM R16
            165 => self.mov_reg_rm::<B, 16, true>(bus, op)?,  // MOV_REG_RM M16
            166 => self.mov_reg_rm::<B, 32, false>(bus, op)?, // MOV_REG_RM R32
            167 => self.mov_reg_rm::<B, 32, true>(bus, op)?,  // MOV_REG_RM M32
            168 => self.mov_rm_imm::<B, 8, false>(bus, op)?,  // MOV_RM_IMM R8
            169 => self.mov_rm_imm::<B, 8, true>(bus, op)?,   // MOV_RM_IMM M8
            170 => self.mov_rm_imm::<B, 16, false>(bus, op)?, // MOV_RM_IMM R16
            171 => self.mov_rm_imm::<B, 16, true>(bus, op)?,  // MOV_RM_IMM M16
            172 => self.mov_rm_imm::<B, 32, false>(bus, op)?, // MOV_RM_IMM R32
            173 => self.mov_rm_imm::<B, 32, true>(bus, op)?,  // MOV_RM_IMM M32
            174 => self.inc_rm::<B, 8, false>(bus, op)?,      // INC_RM R8
            175 => self.inc_rm::<B, 8, true>(bus, op)?,       // INC_RM M8
            176 => self.inc_rm::<B, 16, false>(bus, op)?,     // INC_RM R16
            177 => self.inc_rm::<B, 16, true>(bus, op)?,      // INC_RM M16
            178 => self.inc_rm::<B, 32, false>(bus, op)?,     // INC_RM R32
            179 => self.inc_rm::<B, 32, true>(bus, op)?,      // INC_RM M32
            180 => self.dec_rm::<B, 8, false>(bus, op)?,      // DEC_RM R8
            181 => self.dec_rm::<B, 8, true>(bus, op)?,       // DEC_RM M8
            182 => self.dec_rm::<B, 16, false>(bus, op)?,     // DEC_RM R16
            183 => self.dec_rm::<B, 16, true>(bus, op)?,      // DEC_RM M16
            184 => self.dec_rm::<B, 32, false>(bus, op)?,     // DEC_RM R32
            185 => self.dec_rm::<B, 32, true>(bus, op)?,      // DEC_RM M32
            186 => self.shift_rm_imm::<B, 8, false>(bus, op)?, // SHIFT_RM_IMM R8
            187 => self.shift_rm_imm::<B, 8, true>(bus, op)?, // SHIFT_RM_IMM M8
            188 => self.shift_rm_imm::<B, 16, false>(bus, op)?, // SHIFT_RM_IMM R16
            189 => self.shift_rm_imm::<B, 16, true>(bus, op)?, // SHIFT_RM_IMM M16
            190 => self.shift_rm_imm::<B, 32, false>(bus, op)?, // SHIFT_RM_IMM R32
            191 => self.shift_rm_imm::<B, 32, true>(bus, op)?, // SHIFT_RM_IMM M32
            192 => self.shift_rm_cl::<B, 8, false>(bus, op)?, // SHIFT_RM_CL R8
            193 => self.shift_rm_cl::<B, 8, true>(bus, op)?,  // SHIFT_RM_CL M8
            194 => self.shift_rm_cl::<B, 16, false>(bus, op)?, // SHIFT_RM_CL R16
            195 => self.shift_rm_cl::<B, 16, true>(bus, op)?, // SHIFT_RM_CL M16
            196 => self.shift_rm_cl::<B, 32, false>(bus, op)?, // SHIFT_RM_CL R32
            197 => self.shift_rm_cl::<B, 32, true>(bus, op)?, // SHIFT_RM_CL M32
            198 => self.xchg_rm_reg::<B, 8, false>(bus, op)?, // XCHG_RM_REG R8
            199 => self.xchg_rm_reg::<B, 8, true>(bus, op)?,  // XCHG_RM_REG M8
            200 => self.xchg_rm_reg::<B, 16, false>(bus, op)?, // XCHG_RM_REG R16
            201 => self.xchg_rm_reg::<B, 16, true>(bus, op)?, // XCHG_RM_REG M16
            202 => self.xchg_rm_reg::<B, 32, false>(bus, op)?, // XCHG_RM_REG R32
            203 => self.xchg_rm_reg::<B, 32, true>(bus, op)?, // XCHG_RM_REG M32
            code::LEA => {
                let off = self.op_ea(op);
                self.set_reg_any(op.reg, op.w, off);
            }
            code::NOT_RM => {
                let (v, off) = self.rm_any(bus, op, op.w)?;
                self.rm_any_put(bus, op, op.w, off, !v & width_mask(u32::from(op.w)))?;
            }
            code::NEG_RM => {
                let (v, off) = self.rm_any(bus, op, op.w)?;
                let r = self.neg(v, u32::from(op.w));
                self.rm_any_put(bus, op, op.w, off, r)?;
            }
            code::PUSH_REG => {
                let v = self.reg_w::<16>(op.rm);
                self.push16(bus, v as u16)?;
                self.check_block_fresh(bus)?;
            }
            code::PUSH_REG32 => {
                let v = self.reg_w::<32>(op.rm);
                self.push32(bus, v)?;
                self.check_block_fresh(bus)?;
            }
            code::POP_REG => {
                let v = self.pop16(bus)?;
                self.set_reg_w::<16>(op.rm, u32::from(v));
            }
            code::POP_REG32 => {
                let v = self.pop32(bus)?;
                self.set_reg_w::<32>(op.rm, v);
            }
            code::PUSH_IMM => {
                self.pushv(bus, u32::from(op.w), op.imm)?;
                self.check_block_fresh(bus)?;
            }
            code::PUSH_RM => {
                let (v, _) = self.rm_any(bus, op, op.w)?;
                self.pushv(bus, u32::from(op.w), v)?;
                self.check_block_fresh(bus)?;
            }
            code::PUSH_SEG => {
                let v = u32::from(self.segs[usize::from(op.sub)].selector);
                self.pushv(bus, u32::from(op.w), v)?;
                self.check_block_fresh(bus)?;
            }
            code::POP_SEG => {
                let w = u32::from(op.w);
                let v = self.peek_stack(bus, 0, w)?;
                let sp = self.sp_after_pop(w / 8);
                self.load_data_seg(bus, usize::from(op.sub), v as u16)?;
                self.regs[super::super::regs::SP] = sp;
            }
            code::MOV_RM_SEG => {
                let v = u32::from(self.segs[usize::from(op.sub)].selector);
                if op.mem {
                    let off = self.op_ea(op);
                    self.wr16(bus, usize::from(op.seg), off, v as u16)?;
                    self.check_block_fresh(bus)?;
                } else {
                    self.set_reg_any(op.rm, op.w, v);
                }
            }
            code::MOV_SEG_RM => {
                let (v, _) = self.rm_any(bus, op, 16)?;
                self.load_data_seg(bus, usize::from(op.sub), v as u16)?;
            }
            code::CBW => self.op_cbw(op.w == 32),
            code::CWD => self.op_cwd(op.w == 32),
            code::CLC => self.flags.set_cf(false),
            code::STC => self.flags.set_cf(true),
            code::CMC => {
                let c = !self.flags.cf();
                self.flags.set_cf(c);
            }
            code::CLD => self.flags.set_df(false),
            code::STD => self.flags.set_df(true),
            code::CLI => {
                self.check_iopl()?;
                self.flags.set_if(false)
            }
            code::NOP => {}
            code::SALC => self.op_salc(),
            code::LAHF => self.op_lahf(),
            code::SAHF => self.op_sahf(),
            code::XLAT => self.op_xlat(bus, usize::from(op.seg), op.ea & EA_32 != 0)?,
            code::MOVZX | code::MOVSX => {
                let (v, _) = self.rm_any(bus, op, op.sub)?;
                let v = match (op.code.get(), op.sub) {
                    (code::MOVSX, 8) => v as u8 as i8 as i32 as u32,
                    (code::MOVSX, _) => v as u16 as i16 as i32 as u32,
                    _ => v,
                };
                self.set_reg_any(op.reg, op.w, v);
            }
            code::SETCC => {
                let off = if op.mem { self.op_ea(op) } else { 0 };
                let v = u32::from(self.cond(op.sub));
                self.rm_any_put(bus, op, 8, off, v)?;
            }
            code::IMUL => {
                let (b, _) = self.rm_any(bus, op, op.w)?;
                let a = if op.sub == 0 {
                    op.imm
                } else {
                    self.reg_any(op.reg, op.w)
                };
                let r = self.imul_trunc(a, b, u32::from(op.w));
                self.set_reg_any(op.reg, op.w, r);
            }
            code::JCC => {
                if self.cond(op.sub) {
                    let target = self.op_next_ip(op, entry).wrapping_add(op.imm);
                    self.jump_to(target, op.w == 32)?;
                    return Ok(Flow::Jump);
                }
            }
            code::JMP => {
                let target = self.op_next_ip(op, entry).wrapping_add(op.imm);
                self.jump_to(target, op.w == 32)?;
                return Ok(Flow::Jump);
            }
            code::CALL => {
                let ret = self.op_next_ip(op, entry);
                let target = ret.wrapping_add(op.imm);
                // A push into decoded code needs no check: the block ends here and the
                // next lookup sees the page's new generation.
                self.call_near(bus, ret, target, u32::from(op.w))?;
                return Ok(Flow::Jump);
            }
            code::RET => {
                self.ret_near(bus, op.imm, u32::from(op.w))?;
                return Ok(Flow::Jump);
            }
            code::LOOP => {
                let ecx = op.ea & COUNT_ECX != 0;
                if self.loop_taken(op.sub, ecx) {
                    let target = self.op_next_ip(op, entry).wrapping_add(op.imm);
                    self.jump_to(target, op.w == 32)?;
                    return Ok(Flow::Jump);
                }
            }
            code::JMP_RM => {
                let (target, _) = self.rm_any(bus, op, op.w)?;
                self.jump_to(target, op.w == 32)?;
                return Ok(Flow::Jump);
            }
            code::CALL_RM => {
                let (target, _) = self.rm_any(bus, op, op.w)?;
                let ret = self.op_next_ip(op, entry);
                // A push into decoded code needs no check: the block ends here and the
                // next lookup sees the page's new generation.
                self.call_near(bus, ret, target, u32::from(op.w))?;
                return Ok(Flow::Jump);
            }
            code::LOOP_SELF => {
                let c = self.regs[CX].wrapping_sub(1) & 0xFFFF;
                self.regs[CX] = (self.regs[CX] & 0xFFFF_0000) | c;
                if c != 0 {
                    self.eip = entry & op.imm;
                    return Ok(Flow::Jump);
                }
            }
            code::LOOP_SELF_ECX => {
                let c = self.regs[CX].wrapping_sub(1);
                self.regs[CX] = c;
                if c != 0 {
                    self.eip = entry & op.imm;
                    return Ok(Flow::Jump);
                }
            }
            code::JCC_SELF => {
                if self.cond(op.sub) {
                    self.eip = entry & op.imm;
                    return Ok(Flow::Jump);
                }
            }
            code::JMP_SELF => {
                self.eip = entry & op.imm;
                return Ok(Flow::Jump);
            }
            code::MOV_REG_DISP => self.mov_reg_disp::<B, 8>(bus, op)?,
            312 => self.mov_reg_disp::<B, 16>(bus, op)?,
            313 => self.mov_reg_disp::<B, 32>(bus, op)?,
            code::MOV_DISP_REG => self.mov_disp_reg::<B, 8>(bus, op)?,
            315 => self.mov_disp_reg::<B, 16>(bus, op)?,
            316 => self.mov_disp_reg::<B, 32>(bus, op)?,
            code::SHL_R8_IMM => self.shl_reg_imm::<8>(op),
            code::SHL_R16_IMM => self.shl_reg_imm::<16>(op),
            code::SHL_R32_IMM => self.shl_reg_imm::<32>(op),
            code::SHR_R8_IMM => self.shr_reg_imm::<8>(op),
            code::SHR_R16_IMM => self.shr_reg_imm::<16>(op),
            code::SHR_R32_IMM => self.shr_reg_imm::<32>(op),
            247 => self.alu_nf::<0, 8, false>(op),
            248 => self.alu_nf::<0, 16, false>(op),
            249 => self.alu_nf::<0, 32, false>(op),
            250 => self.alu_nf::<1, 8, false>(op),
            251 => self.alu_nf::<1, 16, false>(op),
            252 => self.alu_nf::<1, 32, false>(op),
            253 => self.alu_nf::<2, 8, false>(op),
            254 => self.alu_nf::<2, 16, false>(op),
            255 => self.alu_nf::<2, 32, false>(op),
            256 => self.alu_nf::<3, 8, false>(op),
            257 => self.alu_nf::<3, 16, false>(op),
            258 => self.alu_nf::<3, 32, false>(op),
            259 => self.alu_nf::<4, 8, false>(op),
            260 => self.alu_nf::<4, 16, false>(op),
            261 => self.alu_nf::<4, 32, false>(op),
            262 => self.alu_nf::<5, 8, false>(op),
            263 => self.alu_nf::<5, 16, false>(op),
            264 => self.alu_nf::<5, 32, false>(op),
            265 => self.alu_nf::<6, 8, false>(op),
            266 => self.alu_nf::<6, 16, false>(op),
            267 => self.alu_nf::<6, 32, false>(op),
            268 => {} // CMP R8: never produced (CMP without flags is NOP)
            269 => {} // CMP R16: never produced (CMP without flags is NOP)
            270 => {} // CMP R32: never produced (CMP without flags is NOP)
            271 => self.alu_nf::<0, 8, true>(op),
            272 => self.alu_nf::<0, 16, true>(op),
            273 => self.alu_nf::<0, 32, true>(op),
            274 => self.alu_nf::<1, 8, true>(op),
            275 => self.alu_nf::<1, 16, true>(op),
            276 => self.alu_nf::<1, 32, true>(op),
            277 => self.alu_nf::<2, 8, true>(op),
            278 => self.alu_nf::<2, 16, true>(op),
            279 => self.alu_nf::<2, 32, true>(op),
            280 => self.alu_nf::<3, 8, true>(op),
            281 => self.alu_nf::<3, 16, true>(op),
            282 => self.alu_nf::<3, 32, true>(op),
            283 => self.alu_nf::<4, 8, true>(op),
            284 => self.alu_nf::<4, 16, true>(op),
            285 => self.alu_nf::<4, 32, true>(op),
            286 => self.alu_nf::<5, 8, true>(op),
            287 => self.alu_nf::<5, 16, true>(op),
            288 => self.alu_nf::<5, 32, true>(op),
            289 => self.alu_nf::<6, 8, true>(op),
            290 => self.alu_nf::<6, 16, true>(op),
            291 => self.alu_nf::<6, 32, true>(op),
            292 => {} // CMP R8: never produced (CMP without flags is NOP)
            293 => {} // CMP R16: never produced (CMP without flags is NOP)
            294 => {} // CMP R32: never produced (CMP without flags is NOP)
            295 => self.step_nf::<8, 1>(op),
            296 => self.step_nf::<16, 1>(op),
            297 => self.step_nf::<32, 1>(op),
            298 => self.step_nf::<8, -1>(op),
            299 => self.step_nf::<16, -1>(op),
            300 => self.step_nf::<32, -1>(op),
            301 => self.shift_nf::<8, true>(op),
            302 => self.shift_nf::<16, true>(op),
            303 => self.shift_nf::<32, true>(op),
            304 => self.shift_nf::<8, false>(op),
            305 => self.shift_nf::<16, false>(op),
            306 => self.shift_nf::<32, false>(op),
            // Unused codes (`Code::get` tells the compiler there are none).
            code::END.. => {}
        }
        Ok(Flow::Next)
    }
}
