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
/// In real mode loading a selector sets `base = selector * 16` and the access rights of a
/// present, writable, accessed data segment (as Bochs models the 80386; CS too, so real-mode
/// code may write through a CS override); the limit and the B/D bit keep whatever they held
/// (64 KiB and 16-bit after reset), as on the 80286 and 80386, which is what "unreal" mode
/// relies on. In protected mode every load copies the descriptor (80386 PRM 5.1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub selector: u16,
    pub base: u32,
    /// Highest valid offset (for an expand-down segment, the highest *invalid* one), after
    /// the granularity bit has scaled it.
    pub limit: u32,
    /// The descriptor's B/D bit: 32-bit stack pointer (SS) or default operand size (CS).
    pub big: bool,
    /// Access rights as descriptor bytes 5 and 6 hold them: bits 0-7 the access byte (type,
    /// S, DPL, P), bits 12-15 AVL, 0, D/B and G. A null selector loaded in protected mode
    /// leaves P clear: every access through the register then faults.
    pub attr: u16,
    /// Fast-path bounds derived from the fields above: the highest offset a read (`rlim`)
    /// or write (`wlim`) may touch without further segment checks, or -1 when every access
    /// must take the checked path (not readable/writable, expand-down, null).
    pub(crate) rlim: i64,
    pub(crate) wlim: i64,
}

/// Access-byte bits of [`Segment::attr`] (80386 PRM figure 5-3 / 80286 PRM figure 6-6).
pub(crate) const ATTR_ACCESSED: u16 = 1 << 0;
/// Code: readable; data: writable.
pub(crate) const ATTR_RW: u16 = 1 << 1;
/// Code: conforming; data: expand-down.
pub(crate) const ATTR_CE: u16 = 1 << 2;
pub(crate) const ATTR_CODE: u16 = 1 << 3;
/// S: a code or data segment (clear for system descriptors and gates).
pub(crate) const ATTR_S: u16 = 1 << 4;
pub(crate) const ATTR_PRESENT: u16 = 1 << 7;
/// A present, writable, accessed data segment at DPL 0: what a real-mode load leaves.
pub(crate) const ATTR_REAL: u16 = ATTR_PRESENT | ATTR_S | ATTR_RW | ATTR_ACCESSED;

impl Segment {
    /// A real-mode segment after reset: base = selector * 16, limit FFFFh, 16-bit.
    pub const fn real(selector: u16) -> Segment {
        Segment {
            selector,
            base: (selector as u32) << 4,
            limit: 0xFFFF,
            big: false,
            attr: ATTR_REAL,
            rlim: 0xFFFF,
            wlim: 0xFFFF,
        }
    }

    /// LDTR or TR after reset: selector 0, base 0, limit FFFFh, no descriptor loaded.
    pub const fn system_null() -> Segment {
        Segment {
            selector: 0,
            base: 0,
            limit: 0xFFFF,
            big: false,
            attr: 0,
            rlim: -1,
            wlim: -1,
        }
    }

    /// The privilege level of the descriptor (DPL).
    #[inline]
    pub fn dpl(&self) -> u8 {
        ((self.attr >> 5) & 3) as u8
    }

    /// Whether the register holds a usable segment (clear after a null selector was loaded
    /// in protected mode).
    #[inline]
    pub fn present(&self) -> bool {
        self.attr & ATTR_PRESENT != 0
    }

    /// Recomputes the fast-path bounds after `limit` or `attr` changed; `checked` (a data
    /// breakpoint armed) forces every access through the checked path (which compares
    /// the linear addresses with the breakpoints).
    #[inline]
    pub(crate) fn refresh(&mut self, checked: bool) {
        let a = self.attr;
        let limit = i64::from(self.limit);
        let (r, w) = if checked || a & ATTR_PRESENT == 0 || a & ATTR_S == 0 {
            (-1, -1)
        } else if a & ATTR_CODE != 0 {
            (if a & ATTR_RW != 0 { limit } else { -1 }, -1)
        } else if a & ATTR_CE != 0 {
            (-1, -1) // expand-down: the checked path tests the range
        } else {
            (limit, if a & ATTR_RW != 0 { limit } else { -1 })
        };
        self.rlim = r;
        self.wlim = w;
    }
}

/// GDTR or IDTR: a linear base and a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRegister {
    pub base: u32,
    pub limit: u16,
}
