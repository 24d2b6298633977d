//! The bus: how the CPU reaches memory and I/O ports.
//!
//! The CPU owns no devices. Each call into the interpreter borrows a [`Bus`], which hands out
//! the physical [`Memory`] and answers port reads and writes. The interpreter is generic over
//! the bus type, so every access is a direct (monomorphized) call: no dynamic dispatch per
//! instruction. The machine (and, before it exists, the [`crate::bare`] harness) implements
//! this trait.

use crate::mem::Memory;

/// Width of one I/O port access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoSize {
    Byte,
    Word,
    Dword,
}

impl IoSize {
    /// Width in bytes.
    pub fn bytes(self) -> u8 {
        match self {
            IoSize::Byte => 1,
            IoSize::Word => 2,
            IoSize::Dword => 4,
        }
    }

    /// All-ones value of this width: what an open (undriven) ISA bus returns.
    pub fn open_bus(self) -> u32 {
        match self {
            IoSize::Byte => 0xFF,
            IoSize::Word => 0xFFFF,
            IoSize::Dword => 0xFFFF_FFFF,
        }
    }
}

/// Memory and port I/O as the CPU sees them.
pub trait Bus {
    /// Physical memory.
    fn memory(&mut self) -> &mut Memory;
    /// Read-only view of physical memory.
    fn memory_ref(&self) -> &Memory;
    /// An `IN` of `size` from `port`. Must return a value of that width.
    fn io_read(&mut self, port: u16, size: IoSize) -> u32;
    /// An `OUT` of `value` (of `size` width) to `port`.
    fn io_write(&mut self, port: u16, size: IoSize, value: u32);
    /// Called before every port access with the number of ticks the current
    /// [`crate::Cpu::run`] has completed before the accessing instruction (or REP iteration),
    /// so a device can tell the exact tick of the access.
    #[inline(always)]
    fn sync_io_clock(&mut self, _ticks_into_run: u64) {}
    /// Asked after every I/O instruction: `true` ends the current run slice after this
    /// instruction, so a device that has just scheduled an earlier event can be serviced.
    fn yield_requested(&self) -> bool {
        false
    }
}
