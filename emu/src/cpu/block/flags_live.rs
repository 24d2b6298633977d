//! Flags nobody can observe: a backward pass over a decoded block that gives the register
//! forms whose arithmetic flags are overwritten before anything could read them a code that
//! leaves the flags alone ([`without_flags`]).
//!
//! Sources: the flag effects of each instruction in Intel's *80386 Programmer's Reference
//! Manual* (1986), appendix C ("Status flag summary") and chapter 17: ADD, OR, AND, SUB, XOR,
//! CMP, TEST, NEG and SHL/SHR by a count of 1 or more write all six of CF, PF, AF, ZF, SF and
//! OF (AF and, for counts above 1, OF are undefined after the logical operations and shifts,
//! and vexed sets them as the full interpreter does); ADC and SBB also read CF; INC and DEC
//! write all but CF.
//!
//! # When a flag is observable
//!
//! Every flag is taken to be read at the end of the block, and before and after every op
//! that touches memory, may fault, may leave the block (a taken branch, a write into
//! decoded code) or is not modelled here: an exception handler, the next block and the state
//! at a block's exit see FLAGS exactly. Between two such points, the register forms are
//! pure functions of registers and flags, so a flag written and overwritten there is never
//! seen. The one other way to stop inside a block is the tick budget running out; a block
//! with flagless ops is therefore never run in part: when the budget is shorter than the
//! block, its instructions go through the full interpreter one at a time
//! ([`super::Slot::whole_only`]).
//!
//! Measured on the cpuloop (callgrind, 11 M ticks): three of its seven flag-writing
//! instructions (`add ax,cx`, `adc dx,ax`, `inc si`) lose their flags, 48.6 -> 42.7 host
//! instructions per guest instruction in real mode and 52.3 -> 48.2 in protected mode.

use super::Kind;
use super::Op;
use super::fast::{Code, code, without_flags};

/// The six arithmetic flags as bits of a liveness set.
const CF: u8 = 1;
const ALL: u8 = 0x3F;

/// What an op does with the flags.
enum Effect {
    /// Every flag is observable before and after it.
    Barrier,
    /// A register-only op that reads and writes these flags.
    Flags { reads: u8, writes: u8 },
}

fn effect(op: &Op) -> Effect {
    let flags = |reads, writes| Effect::Flags { reads, writes };
    match op.kind {
        // LEA computes an address without accessing memory.
        Kind::Lea => flags(0, 0),
        _ if op.mem => Effect::Barrier,
        Kind::AluRmReg | Kind::AluRegRm | Kind::AluRmImm => {
            let carry_in = matches!(op.sub & 7, 2 | 3);
            flags(if carry_in { CF } else { 0 }, ALL)
        }
        Kind::TestRmReg | Kind::TestRmImm | Kind::NegRm => flags(0, ALL),
        Kind::IncRm | Kind::DecRm => flags(0, ALL & !CF),
        Kind::MovRmReg
        | Kind::MovRegRm
        | Kind::MovRmImm
        | Kind::Movzx
        | Kind::Movsx
        | Kind::XchgRmReg
        | Kind::NotRm
        | Kind::Cbw
        | Kind::Cwd
        | Kind::Nop
        | Kind::Cld
        | Kind::Std => flags(0, 0),
        // SHL/SHR by a count in 1..=width (the specialised codes) write every flag.
        Kind::ShiftRmImm if (code::SHL_R8_IMM..=code::SHR_R32_IMM).contains(&op.code.get()) => {
            flags(0, ALL)
        }
        Kind::Salc => flags(CF, 0),
        // Conditions, LAHF, and the ops that keep some flags in the lazy representation
        // (CLC, STC, CMC, SAHF, rotates, shifts by a count that may be 0, IMUL) read all.
        Kind::ShiftRmImm
        | Kind::ShiftRmCl
        | Kind::Imul
        | Kind::Setcc
        | Kind::Lahf
        | Kind::Sahf
        | Kind::Clc
        | Kind::Stc
        | Kind::Cmc => flags(ALL, 0),
        _ => Effect::Barrier,
    }
}

/// Gives every op of `block` whose flags are dead its flagless code. Returns whether any
/// op changed.
pub(crate) fn drop_dead_flags(block: &mut [Op]) -> bool {
    let mut live = ALL;
    let mut changed = false;
    for op in block.iter_mut().rev() {
        match effect(op) {
            Effect::Barrier => live = ALL,
            Effect::Flags { reads, writes } => {
                if writes != 0
                    && writes & live == 0
                    && let Some(c) = without_flags(op)
                {
                    op.code = Code::new(c);
                    changed = true;
                }
                live = (live & !writes) | reads;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::super::translate::decode_run;
    use super::drop_dead_flags;
    use crate::bare::BareSystem;
    use crate::cpu::flags::{AF, CF, OF, PF, SF, ZF};
    use crate::cpu::{Model, Reg16, SegReg};

    /// The cpuloop body: which flags are dead follows from the 80386 PRM's flag summary.
    #[test]
    fn the_cpuloop_loses_three_flag_computations() {
        // mov ax,[0100h]; add ax,cx; xor bx,ax; mov [0100h],bx; shl ax,1; adc dx,ax; inc si;
        // and si,0FFh; mov al,[si+0100h]; sub di,ax; loop $
        let code = [
            0xA1, 0x00, 0x01, 0x01, 0xC8, 0x31, 0xC3, 0x89, 0x1E, 0x00, 0x01, 0xD1, 0xE0, 0x11,
            0xC2, 0x46, 0x81, 0xE6, 0xFF, 0x00, 0x8A, 0x84, 0x00, 0x01, 0x29, 0xC7, 0xE2, 0xFE,
        ];
        let mut ops = decode_run(Model::I80386, &code);
        assert_eq!(ops.len(), 11);
        let before: Vec<u16> = ops.iter().map(|o| o.code.get()).collect();
        assert!(drop_dead_flags(&mut ops));
        let dropped: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].code.get() != before[i])
            .collect();
        // ADD: XOR overwrites all six flags before the store could fault. XOR: the store
        // may fault. SHL: ADC reads CF. ADC: INC writes all but CF, AND writes CF. INC: AND
        // overwrites. AND: the load may fault. SUB: live at the block's end.
        assert_eq!(dropped, [1, 5, 6]);
    }

    /// A run of a block that stops inside it ends with the flags of the last instruction
    /// retired, even where the block drops them.
    #[test]
    fn a_budget_inside_the_block_sees_exact_flags() {
        let mut sys = BareSystem::new(Model::I80386, 0x1_0000).expect("64 KiB is a valid RAM size");
        // 0000:0100  ADD AX,CX; XOR BX,BX; JMP 0100h
        sys.load_code(0, 0x100, &[0x01, 0xC8, 0x31, 0xDB, 0xEB, 0xFA]);
        // Decode the block: ADD's flags are dead (XOR overwrites them).
        sys.run(300);
        assert_eq!(sys.cpu.ip(), 0x100);
        sys.cpu.set_reg16(Reg16::AX, 0xFFFF);
        sys.cpu.set_reg16(Reg16::CX, 1);
        sys.run(1);
        // FFFFh + 1 = 0: carry out of bit 15 and of bit 3, zero, even parity.
        let arith = CF | PF | AF | ZF | SF | OF;
        assert_eq!(sys.cpu.flags() & arith, CF | PF | AF | ZF);
        assert_eq!((sys.cpu.ip(), sys.cpu.reg16(Reg16::AX)), (0x102, 0));
        // The rest of the pass and a whole one, ending after the JMP: XOR BX,BX cleared CF
        // and OF and set ZF and PF.
        sys.run(5);
        assert_eq!(sys.cpu.ip(), 0x100);
        assert_eq!(sys.cpu.flags() & (CF | PF | ZF | SF | OF), PF | ZF);
    }

    /// An exception between a flag write and its overwrite pushes the written flags: the
    /// write is not dropped.
    #[test]
    fn a_fault_between_a_write_and_its_overwrite_sees_the_flags() {
        let mut sys = BareSystem::new(Model::I80286, 0x1_0000).expect("64 KiB is a valid RAM size");
        // 0000:0100  ADD AX,CX; MOV DX,[BX]; XOR AX,AX; HLT
        // Interrupt 13 (a word at offset FFFFh, 80286 PRM 5.1) goes to 0000:0200: HLT.
        sys.bus.mem.write_bytes(0x200, &[0xF4]);
        sys.bus.mem.write_bytes(13 * 4, &[0x00, 0x02, 0x00, 0x00]);
        sys.load_code(0, 0x100, &[0x01, 0xC8, 0x8B, 0x17, 0x31, 0xC0, 0xF4]);
        for s in [SegReg::DS, SegReg::SS] {
            sys.cpu.set_sreg(s, 0);
        }
        sys.cpu.set_reg16(Reg16::SP, 0x8000);
        sys.cpu.set_reg16(Reg16::AX, 0xFFFF);
        sys.cpu.set_reg16(Reg16::CX, 1);
        sys.cpu.set_reg16(Reg16::BX, 0xFFFF);
        sys.run(10);
        assert_eq!(sys.cpu.ip(), 0x201);
        // The frame: IP of the MOV, CS, then FLAGS with ADD's CF, PF, AF and ZF.
        let frame = sys.bus.mem.read_bytes(0x7FFA, 6);
        assert_eq!(u16::from_le_bytes([frame[0], frame[1]]), 0x102);
        let flags = u32::from(u16::from_le_bytes([frame[4], frame[5]]));
        assert_eq!(flags & (CF | PF | AF | ZF | SF | OF), CF | PF | AF | ZF);
    }
}
