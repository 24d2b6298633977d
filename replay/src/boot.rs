//! Bare-ROM boot: a 64 KiB ROM image on the PC, run from reset until it stops.
//!
//! `vexed boot ROM.bin` maps the image at F0000h (and at the top of a 24-bit address space),
//! resets the CPU (FFFF:0000) and runs. Everything the guest writes to the debug console
//! ports E9h and 190h is passed on as it appears. The run ends when the guest writes its exit
//! status to port F4h, executes `HLT` with interrupts disabled (status 0), or reaches the
//! tick limit.

use std::io::Write;

use vexed_emu::machine::{Machine, MachineConfig, MachineError, Stop};

/// How a boot ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootEnd {
    /// The guest wrote this status to port F4h.
    ExitPort(u8),
    /// `HLT` with interrupts disabled.
    Halted,
    /// The tick limit was reached.
    TickLimit,
}

/// The result of a boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootReport {
    pub end: BootEnd,
    pub ticks: u64,
}

/// Ticks between flushes of the guest's console output.
const SLICE: u64 = 1_000_000;

/// Boots `rom` on a machine built from `config` for at most `max_ticks` ticks, writing the
/// debug console output to `out` as it appears.
pub fn boot(
    config: MachineConfig,
    rom: &[u8],
    max_ticks: u64,
    out: &mut impl Write,
) -> Result<BootReport, BootError> {
    let mut m = Machine::new(config)?;
    m.load_rom(rom)?;
    loop {
        let deadline = m.now().saturating_add(SLICE).min(max_ticks);
        let stop = m.run_until(deadline);
        out.write_all(&m.take_debug_output())
            .and_then(|()| out.flush())
            .map_err(BootError::Output)?;
        let end = match stop {
            Stop::ExitPort(code) => BootEnd::ExitPort(code),
            Stop::HaltedForever => BootEnd::Halted,
            Stop::Deadline if m.now() >= max_ticks => BootEnd::TickLimit,
            Stop::Deadline => continue,
            // A bare ROM machine has no firmware in Rust, so this cannot happen.
            Stop::Firmware(_) => BootEnd::Halted,
        };
        return Ok(BootReport {
            end,
            ticks: m.now(),
        });
    }
}

/// Why a boot could not run.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error("cannot write the guest's output")]
    Output(#[source] std::io::Error),
}
