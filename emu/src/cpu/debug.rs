//! The 80386 debug registers: instruction and data breakpoints, general detect, and the
//! debug status bits of the single-step and task-switch traps.
//!
//! Source: Intel *80386 Programmer's Reference Manual* (1986) chapter 12: 12.2 the debug
//! registers (figure 12-1), 12.3 the debug exceptions (interrupt 1), and the RF flag (2.3.3,
//! 12.3.1.1).
//!
//! # Registers
//!
//! DR0-DR3 hold linear breakpoint addresses. DR7 enables breakpoint n with its local or
//! global bit (L*n* = bit 2*n*, G*n* = bit 2*n*+1; vexed has no task-local clearing of the L
//! bits, so both act alike), selects its kind with R/W*n* (bits 16+4*n*: 00 instruction
//! execution, 01 data write, 11 data read or write, 10 undefined: never matches) and its
//! length with LEN*n* (bits 18+4*n*: 00 one byte, 01 two, 11 four; 10 is undefined and taken
//! as four). The address is aligned to the length: its low bits are ignored (12.2.2). GD
//! (bit 13) makes any MOV to or from a debug register raise #DB as a fault, with BD set in
//! DR6 and GD cleared so the handler may use them (12.2.4). DR6 reports why #DB was raised:
//! B0-B3 the breakpoints that matched, BD general detect, BS single step, BT a task switch
//! into a TSS with the T bit set; the processor sets these bits and never clears them
//! (12.2.3). DR4 and DR5 are not registers: MOV names them as DR6 and DR7.
//!
//! The reserved bits read as figure 12-1 shows them on the 80386: DR6 bits 4-11 and 16-31
//! read as 1 and bit 12 as 0 (DR6 = FFFF0FF0h with no status bit set); DR7 bit 10 reads as 1
//! and bits 11, 12, 14 and 15 as 0. vexed stores only the meaningful bits (so a fresh CPU's
//! registers are all zero) and adds the fixed ones when DR6 or DR7 is read.
//!
//! # Exceptions (12.3.1)
//!
//! * An *instruction breakpoint* is a fault: before executing the instruction at linear
//!   address CS.base + EIP that matches an enabled execute breakpoint, with RF clear, #DB
//!   is raised with the saved EIP at the instruction (its first prefix), nothing of it
//!   executed. RF suppresses the check for one instruction: the processor clears RF after
//!   every instruction it completes, except when IRETD or a task switch loads it from the
//!   image; a handler resumes past the breakpoint by IRETD with RF set in the image. The
//!   processor sets RF in the EFLAGS image it pushes for every other fault (so a faulting
//!   instruction is restarted without re-triggering its own breakpoint); vexed does so in
//!   protected mode (the real-mode frame holds only FLAGS). Between the iterations of a REP
//!   string instruction vexed keeps RF set while an execute breakpoint is armed, so the
//!   breakpoint is taken once, at the instruction's start.
//! * A *data breakpoint* is a trap: after an instruction whose operand access overlapped the
//!   breakpoint's aligned range with the matching kind (write, or read or write), #DB is
//!   raised with the saved EIP at the next instruction and B*n* set for each match. A REP
//!   string instruction traps after the iteration that matched. The single-step trap (BS)
//!   and a task-switch trap (BT) of the same instruction are reported in the same #DB, as
//!   on the 80386. vexed checks the accesses an instruction makes to its operands (the
//!   checked memory path, see `access.rs`); the processor's own accesses to descriptor
//!   tables, the IDT and the TSS are not compared. An instruction that faults, or that
//!   delivers an interrupt (INT n), reports no data breakpoint.
//! * *General detect* (BD) is a fault on the MOV to or from a debug register.
//! * The *task-switch* trap (BT) follows a switch into a 386 TSS whose T bit (bit 0 of the
//!   word at offset 100) is set: #DB is raised in the new task before its first instruction.
//!
//! # Cost
//!
//! Nothing is checked while DR7 enables no breakpoint. While any is enabled every step
//! takes the slow path (`Cpu::needs_attention`), and while a data breakpoint is enabled
//! every segment's fast-path bounds are -1 (`Cpu::checked_accesses`), so each operand
//! access goes through `rd_checked`/`wr_checked`, which compare it with the breakpoints.
//!
//! # State
//!
//! A task-switch trap raised by an interrupt's task gate (or pending when a run ends) is
//! taken at the next instruction boundary; its DR6 bits wait in the DR4 slot of the
//! register array (DR4 itself does not exist: MOV DR4 reads and writes DR6), so the pending
//! trap is saved with the rest of the CPU. The matches of the executing instruction never
//! outlive it.

use super::flags::RF;
use super::idt::Source;
use super::{Cpu, Fault, R};
use crate::bus::Bus;

/// #DB.
pub(crate) const DEBUG_VECTOR: u8 = 1;

/// DR6 B0-B3: breakpoint n matched.
pub(crate) const DR6_B: u32 = 0xF;
/// DR6 BD: general detect.
pub(crate) const DR6_BD: u32 = 1 << 13;
/// DR6 BS: single step.
pub(crate) const DR6_BS: u32 = 1 << 14;
/// DR6 BT: task switch.
pub(crate) const DR6_BT: u32 = 1 << 15;
/// The DR6 bits software can write and the processor sets.
pub(crate) const DR6_STATUS: u32 = DR6_B | DR6_BD | DR6_BS | DR6_BT;
/// DR6 bits that read as 1 on the 80386 (bits 4-11 and 16-31, figure 12-1).
pub(crate) const DR6_ONES: u32 = 0xFFFF_0FF0;

/// DR7 L0 G0 ... L3 G3.
pub(crate) const DR7_ENABLES: u32 = 0xFF;
/// DR7 GD: general detect enable.
pub(crate) const DR7_GD: u32 = 1 << 13;
/// The DR7 bits that hold what was written: L/G, LE, GE, GD, R/W and LEN.
pub(crate) const DR7_WRITABLE: u32 = 0xFFFF_0000 | DR7_GD | 0x3FF;
/// DR7 bit 10 reads as 1 (figure 12-1).
pub(crate) const DR7_ONES: u32 = 1 << 10;

/// Slot of the register array holding the DR6 bits of a pending trap (see the module
/// documentation).
pub(crate) const PENDING: usize = 4;

/// What an access does, for matching the R/W fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Execute,
    Read,
    Write,
}

/// The R/W field of breakpoint `n`.
#[inline]
fn rw(dr7: u32, n: usize) -> u32 {
    (dr7 >> (16 + 4 * n)) & 3
}

/// Whether breakpoint `n` is enabled (L*n* or G*n*).
#[inline]
fn enabled(dr7: u32, n: usize) -> bool {
    (dr7 >> (2 * n)) & 3 != 0
}

/// The length in bytes of breakpoint `n` (LEN 10 is undefined on the 80386: four).
#[inline]
fn length(dr7: u32, n: usize) -> u32 {
    match (dr7 >> (18 + 4 * n)) & 3 {
        0 => 1,
        1 => 2,
        _ => 4,
    }
}

/// Whether DR7 enables a data breakpoint (R/W 01 or 11).
#[inline]
pub(crate) fn data_armed(dr7: u32) -> bool {
    (0..4).any(|n| enabled(dr7, n) && rw(dr7, n) & 1 != 0)
}

/// Whether DR7 enables an instruction breakpoint (R/W 00).
#[inline]
pub(crate) fn exec_armed(dr7: u32) -> bool {
    (0..4).any(|n| enabled(dr7, n) && rw(dr7, n) == 0)
}

/// The breakpoints (bit n for DR*n*) among `dr[0..4]` enabled by `dr[7]` that an access of
/// `len` bytes at linear address `lin` matches: the kind fits the R/W field and the bytes
/// overlap the breakpoint's range, its address aligned down to its length (12.2.2).
pub(crate) fn matches(dr: &[u32; 8], lin: u32, len: u32, access: Access) -> u32 {
    let dr7 = dr[7];
    let mut hits = 0;
    for (n, &addr) in dr.iter().take(4).enumerate() {
        if !enabled(dr7, n) {
            continue;
        }
        let kind_fits = match rw(dr7, n) {
            0 => access == Access::Execute,
            1 => access == Access::Write,
            3 => access != Access::Execute,
            _ => false,
        };
        if !kind_fits {
            continue;
        }
        let blen = length(dr7, n);
        let b0 = u64::from(addr & !(blen - 1));
        let b1 = b0 + u64::from(blen) - 1;
        let a0 = u64::from(lin);
        let a1 = a0 + u64::from(len.max(1)) - 1;
        if a0 <= b1 && b0 <= a1 {
            hits |= 1 << n;
        }
    }
    hits
}

/// DR*n* as MOV names it: DR4 and DR5 are DR6 and DR7.
#[inline]
fn index(n: usize) -> usize {
    if n == 4 || n == 5 { n + 2 } else { n }
}

impl Cpu {
    /// Whether every memory access must take the checked path: a data
    /// breakpoint is armed. Passed to [`super::Segment::refresh`].
    #[inline(always)]
    pub(crate) fn checked_accesses(&self) -> bool {
        (self.dr[7] & DR7_ENABLES != 0 && data_armed(self.dr[7])) || self.watch_data
    }

    /// Whether the debug registers need the slow path: a breakpoint enabled, a trap
    /// pending, or RF set (to be cleared after the next instruction).
    #[inline(always)]
    pub(crate) fn debug_attention(&self) -> bool {
        self.dr[7] & DR7_ENABLES != 0 || self.dr[PENDING] != 0 || self.flags.other() & RF != 0
    }

    /// Recomputes every segment register's fast-path bounds.
    pub(crate) fn refresh_segments(&mut self) {
        let checked = self.checked_accesses();
        for s in &mut self.segs {
            s.refresh(checked);
        }
    }

    /// The general-detect check of MOV to or from a debug register (12.2.4): with DR7.GD
    /// set, #DB as a fault, BD set in DR6 and GD cleared.
    fn general_detect(&mut self) -> R<()> {
        if self.dr[7] & DR7_GD != 0 {
            self.dr[6] |= DR6_BD;
            self.dr[7] &= !DR7_GD;
            return Err(Fault::new(DEBUG_VECTOR));
        }
        Ok(())
    }

    /// DR*n* (0-7) as `MOV r32, DRn` reads it on the 80386, without the general-detect
    /// check (the 8086 and 80286 have no debug registers: their slots stay zero).
    pub fn debug_register(&self, n: usize) -> u32 {
        match index(n & 7) {
            6 => (self.dr[6] & DR6_STATUS) | DR6_ONES,
            7 => (self.dr[7] & DR7_WRITABLE) | DR7_ONES,
            i => self.dr[i & 3],
        }
    }

    /// MOV r32, DR*n*.
    pub(crate) fn read_dr(&mut self, n: usize) -> R<u32> {
        self.general_detect()?;
        Ok(self.debug_register(n))
    }

    /// MOV DR*n*, r32.
    pub(crate) fn write_dr(&mut self, n: usize, v: u32) -> R<()> {
        self.general_detect()?;
        match index(n) {
            6 => self.dr[6] = v & DR6_STATUS,
            7 => {
                let before = self.checked_accesses();
                self.dr[7] = v & DR7_WRITABLE;
                if self.checked_accesses() != before {
                    self.refresh_segments();
                }
                self.attention = self.needs_attention();
            }
            i => self.dr[i & 3] = v,
        }
        Ok(())
    }

    /// Records the data breakpoints an operand access of `len` bytes at linear `lin`
    /// matches (called on the checked path only).
    #[inline]
    pub(crate) fn data_access(&mut self, lin: u32, len: u32, write: bool) {
        if self.dr[7] & DR7_ENABLES != 0 {
            let access = if write { Access::Write } else { Access::Read };
            self.dbg_hits |= matches(&self.dr, lin, len, access) as u8;
        }
        if self.watch_data {
            self.watch_data_access(lin, len, write);
        }
    }

    /// The instruction breakpoints matching the instruction about to execute (none while
    /// RF is set).
    fn instruction_breakpoints(&self) -> u32 {
        if self.dr[7] & DR7_ENABLES == 0 || self.flags.other() & RF != 0 {
            return 0;
        }
        let lin = self.segs[super::regs::CS].base.wrapping_add(self.eip);
        matches(&self.dr, lin, 1, Access::Execute)
    }

    /// Before an instruction on the slow path: takes a pending task-switch trap, or the
    /// instruction-breakpoint fault. Returns whether #DB was raised (the tick is used up and
    /// the instruction does not execute).
    pub(crate) fn debug_before<B: Bus>(&mut self, bus: &mut B) -> bool {
        let pending = self.dr[PENDING];
        if pending != 0 {
            self.dr[PENDING] = 0;
            self.raise_debug(bus, pending);
            return true;
        }
        let hits = self.instruction_breakpoints();
        if hits != 0 {
            // A fault: the saved EIP is the instruction's, RF is pushed as it is (clear).
            self.raise_debug(bus, hits);
            self.d.rep_more = false;
            return true;
        }
        // RF has done its work: cleared for this instruction (IRETD or a task switch may
        // load it again).
        let other = self.flags.other();
        if other & RF != 0 {
            self.flags.set_other(other & !RF);
        }
        self.dbg_hits = 0;
        false
    }

    /// After an instruction on the slow path: the DR6 bits of the debug traps it raised
    /// (data breakpoints, a task switch into a trapping TSS), which the caller reports
    /// with the single-step trap in one #DB. Keeps RF set between the iterations of a REP
    /// string instruction while an execute breakpoint is armed.
    pub(crate) fn debug_after(&mut self) -> u32 {
        let bits = u32::from(self.dbg_hits) | self.dr[PENDING];
        self.dbg_hits = 0;
        self.dr[PENDING] = 0;
        if self.d.rep_more && self.dr[7] & DR7_ENABLES != 0 && exec_armed(self.dr[7]) {
            let other = self.flags.other();
            self.flags.set_other(other | RF);
        }
        bits
    }

    /// Raises #DB now, returning to EIP, with `bits` added to DR6 (80386 only; the 8086
    /// and 80286 single-step trap has no DR6).
    pub(crate) fn raise_debug<B: Bus>(&mut self, bus: &mut B, bits: u32) {
        if self.is386() {
            self.dr[6] |= bits & DR6_STATUS;
        }
        let ret = self.eip;
        if let Err(f) = self.deliver(bus, DEBUG_VECTOR, ret, Source::Exception(None)) {
            self.escalate(bus, Some(DEBUG_VECTOR), f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dr(addrs: [u32; 4], dr7: u32) -> [u32; 8] {
        [addrs[0], addrs[1], addrs[2], addrs[3], 0, 0, 0, dr7]
    }

    /// DR7 enabling breakpoint `n` (G*n*) with R/W `rw` and LEN `len`.
    fn en(n: usize, rw: u32, len: u32) -> u32 {
        (2 << (2 * n)) | (rw << (16 + 4 * n)) | (len << (18 + 4 * n))
    }

    #[test]
    fn a_disabled_breakpoint_never_matches() {
        // 12.2.4: L*n* and G*n* both clear: the breakpoint is off.
        let d = dr([0x1000, 0, 0, 0], 1 << 16 | 3 << 18);
        assert_eq!(matches(&d, 0x1000, 4, Access::Write), 0);
        assert!(!data_armed(d[7]) && !exec_armed(d[7]));
    }

    #[test]
    fn the_rw_field_selects_the_kind_of_access() {
        // 12.2.2: 00 execution only, 01 writes only, 11 reads or writes, 10 undefined.
        let at = [0x2000; 4];
        let d = dr(at, en(0, 0, 0) | en(1, 1, 0) | en(2, 3, 0) | en(3, 2, 0));
        assert_eq!(matches(&d, 0x2000, 1, Access::Execute), 0b0001);
        assert_eq!(matches(&d, 0x2000, 1, Access::Write), 0b0110);
        assert_eq!(matches(&d, 0x2000, 1, Access::Read), 0b0100);
        assert!(data_armed(d[7]) && exec_armed(d[7]));
    }

    #[test]
    fn the_address_is_aligned_to_the_length() {
        // 12.2.2: a 2-byte breakpoint at an odd address covers the aligned word; a 4-byte
        // one the aligned doubleword.
        let d = dr([0x1001, 0x2003, 0, 0], en(0, 3, 1) | en(1, 1, 3));
        assert_eq!(matches(&d, 0x1000, 1, Access::Read), 1);
        assert_eq!(matches(&d, 0x1001, 1, Access::Read), 1);
        assert_eq!(matches(&d, 0x1002, 1, Access::Read), 0);
        assert_eq!(matches(&d, 0x0FFF, 1, Access::Read), 0);
        assert_eq!(matches(&d, 0x2000, 1, Access::Write), 2);
        assert_eq!(matches(&d, 0x2004, 1, Access::Write), 0);
    }

    #[test]
    fn any_overlapping_byte_matches() {
        // 12.2.2: an access matches when any of its bytes falls in the breakpoint's range.
        let d = dr([0x3000, 0, 0, 0], en(0, 1, 3));
        assert_eq!(matches(&d, 0x2FFD, 4, Access::Write), 1); // 2FFD-3000
        assert_eq!(matches(&d, 0x2FFC, 4, Access::Write), 0); // 2FFC-2FFF
        assert_eq!(matches(&d, 0x3003, 2, Access::Write), 1);
        assert_eq!(matches(&d, 0x3004, 2, Access::Write), 0);
        // At the top of the linear space nothing wraps.
        let d = dr([0xFFFF_FFFC, 0, 0, 0], en(0, 1, 3));
        assert_eq!(matches(&d, 0xFFFF_FFFE, 4, Access::Write), 1);
        assert_eq!(matches(&d, 0, 1, Access::Write), 0);
    }

    #[test]
    fn the_local_bit_enables_as_well() {
        let d = dr([0, 0, 0, 0x40], 1 << 6 | 1 << 28);
        assert_eq!(matches(&d, 0x40, 1, Access::Write), 8);
    }
}
