//! Register names, segment-descriptor caches and descriptor-table registers.
//!
//! Encodings follow the Intel 80386 Programmer's Reference Manual (1986), section 17.2
//! (register fields of ModR/M: `reg` 0-7 = AX CX DX BX SP BP SI DI; byte registers
//! AL CL DL BL AH CH DH BH; segment registers ES CS SS DS FS GS).

use serde::{Deserialize, Serialize};

/// A byte register, numbered as in the ModR/M `reg` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg8 {
    AL,
    CL,
    DL,
    BL,
    AH,
    CH,
    DH,
    BH,
}

/// A word register, numbered as in the ModR/M `reg` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg16 {
    AX,
    CX,
    DX,
    BX,
    SP,
    BP,
    SI,
    DI,
}

/// A doubleword register (80386), numbered as in the ModR/M `reg` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg32 {
    EAX,
    ECX,
    EDX,
    EBX,
    ESP,
    EBP,
    ESI,
    EDI,
}

impl Reg32 {
    /// All eight, in encoding order (EAX = 0 ... EDI = 7).
    pub const ALL: [Reg32; 8] = [
        Reg32::EAX,
        Reg32::ECX,
        Reg32::EDX,
        Reg32::EBX,
        Reg32::ESP,
        Reg32::EBP,
        Reg32::ESI,
        Reg32::EDI,
    ];
}

/// A segment register, numbered as in the ModR/M `reg` field of `MOV Sreg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SegReg {
    ES,
    CS,
    SS,
    DS,
    FS,
    GS,
}

impl SegReg {
    /// All six, in encoding order.
    pub const ALL: [SegReg; 6] = [
        SegReg::ES,
        SegReg::CS,
        SegReg::SS,
        SegReg::DS,
        SegReg::FS,
        SegReg::GS,
    ];

    /// The assembler name (`"es"`, ...).
    pub fn name(self) -> &'static str {
        ["es", "cs", "ss", "ds", "fs", "gs"][self as usize]
    }
}

pub(crate) const ES: usize = 0;
pub(crate) const CS: usize = 1;
pub(crate) const SS: usize = 2;
pub(crate) const DS: usize = 3;

pub(crate) const AX: usize = 0;
pub(crate) const CX: usize = 1;
pub(crate) const DX: usize = 2;
pub(crate) const BX: usize = 3;
pub(crate) const SP: usize = 4;
pub(crate) const BP: usize = 5;
pub(crate) const SI: usize = 6;
pub(crate) const DI: usize = 7;

/// The hidden part of a segment register: what the CPU uses to form addresses.
///
/// In real mode loading a selector sets only `base = selector * 16`; the limit and size
/// attributes keep whatever they held (64 KiB and 16-bit after reset), as on the 80286 and
/// 80386.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub selector: u16,
    pub base: u32,
    /// Highest valid offset.
    pub limit: u32,
    /// The descriptor's B/D bit: 32-bit stack pointer (SS) or default operand size (CS).
    pub big: bool,
}

impl Segment {
    /// A real-mode segment after reset: base = selector * 16, limit FFFFh, 16-bit.
    pub const fn real(selector: u16) -> Segment {
        Segment {
            selector,
            base: (selector as u32) << 4,
            limit: 0xFFFF,
            big: false,
        }
    }
}

/// GDTR or IDTR: a linear base and a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRegister {
    pub base: u32,
    pub limit: u16,
}
