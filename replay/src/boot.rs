//! Bare-ROM boot: a 64 KiB ROM image on the PC, run from reset until it stops.
//!
//! `vexed boot ROM.bin` maps the image at F0000h (and at the top of a 24-bit address space),
//! resets the CPU (FFFF:0000) and runs. Everything the guest writes to the debug console
//! ports E9h and 190h is passed on as it appears. The run ends when the guest writes its exit
//! status to port F4h, executes `HLT` with interrupts disabled (status 0), or reaches the
//! tick limit.

use std::io::Write;

use vexed_emu::machine::{Machine, MachineConfig, MachineError, Stop};

use crate::engine::{DebugPort, Engine, EngineError};
use crate::source::NoInputs;

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
    let mut engine = Engine::new(m, max_ticks);
    let mut port = DebugPort(out);
    engine
        .run(max_ticks, &mut NoInputs, &mut [&mut port])
        .map_err(|e| match e {
            EngineError::Output(e) => BootError::Output(e),
            EngineError::Machine(e) => BootError::Machine(e),
            other => BootError::Output(std::io::Error::other(other.to_string())),
        })?;
    let end = match engine.stopped() {
        Some(Stop::ExitPort(code)) => BootEnd::ExitPort(code),
        Some(Stop::HaltedForever) => BootEnd::Halted,
        None | Some(Stop::Deadline) => BootEnd::TickLimit,
        // A bare ROM machine has no firmware in Rust, so this cannot happen.
        Some(Stop::Firmware(_)) => BootEnd::Halted,
    };
    Ok(BootReport {
        end,
        ticks: engine.now(),
    })
}

/// Why a boot could not run.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error("cannot write the guest's output")]
    Output(#[source] std::io::Error),
}
