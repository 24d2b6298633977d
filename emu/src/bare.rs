//! A bare system: one CPU wired to RAM and an open I/O bus, with no devices.
//!
//! This is the harness for the conformance vectors, the CPU benchmark and CPU fuzzing: it is
//! the smallest real computer the CPU can run in. Port reads return all ones (an undriven
//! ISA bus, which is also what the SingleStepTests capture boards returned) and port writes
//! are recorded in order, so tests can check them. The full PC is `Machine` (a later layer).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bus::{Bus, IoSize};
use crate::cpu::{Cpu, Exit, Model, SegReg};
use crate::mem::{MemError, Memory};

/// Port I/O of a bus with nothing attached.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenBus {
    /// Every `OUT` seen: (port, size in bytes, value).
    pub writes: Vec<(u16, u8, u32)>,
}

/// CPU, memory and an open I/O bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BareSystem {
    pub cpu: Cpu,
    pub bus: BareBus,
}

/// What the CPU of a [`BareSystem`] sees as its bus: RAM and nothing on the I/O ports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BareBus {
    pub mem: Memory,
    pub io: OpenBus,
}

impl Bus for BareBus {
    #[inline(always)]
    fn memory(&mut self) -> &mut Memory {
        &mut self.mem
    }
    #[inline(always)]
    fn memory_ref(&self) -> &Memory {
        &self.mem
    }
    fn io_read(&mut self, _port: u16, size: IoSize) -> u32 {
        size.open_bus()
    }
    fn io_write(&mut self, port: u16, size: IoSize, value: u32) {
        self.io.writes.push((port, size.bytes(), value));
    }
}

/// Why [`BareSystem::run_to_halt`] did not reach a `HLT`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BareError {
    #[error("no HLT within {0} ticks")]
    TickLimit(u64),
    #[error("the CPU shut down (triple fault) after {0} ticks")]
    Shutdown(u64),
}

impl BareSystem {
    /// A CPU of `model` in its reset state with `ram` bytes of RAM behind the model's
    /// address bus.
    pub fn new(model: Model, ram: u32) -> Result<BareSystem, MemError> {
        Ok(BareSystem {
            cpu: Cpu::new(model),
            bus: BareBus {
                mem: Memory::new(ram, model.address_bits())?,
                io: OpenBus::default(),
            },
        })
    }

    /// Copies `code` to `segment:offset` and points CS:IP at it.
    pub fn load_code(&mut self, segment: u16, offset: u16, code: &[u8]) {
        let addr = (u32::from(segment) << 4) + u32::from(offset);
        self.bus.mem.write_bytes(addr, code);
        self.cpu.set_sreg(SegReg::CS, segment);
        self.cpu.set_ip(offset);
    }

    /// Runs up to `max_ticks` ticks.
    pub fn run(&mut self, max_ticks: u64) -> crate::cpu::RunResult {
        self.cpu.run(&mut self.bus, max_ticks)
    }

    /// Executes one whole instruction: a REP string instruction runs all its iterations.
    /// Returns the ticks used.
    pub fn step_instruction(&mut self, max_ticks: u64) -> u64 {
        let mut ticks = 0;
        loop {
            let r = self.run(1);
            ticks += r.ticks;
            if !self.cpu.in_rep() || r.exit != Exit::Budget || ticks >= max_ticks {
                return ticks;
            }
        }
    }

    /// Runs until the CPU halts; returns the ticks used.
    pub fn run_to_halt(&mut self, max_ticks: u64) -> Result<u64, BareError> {
        let mut used = 0;
        while used < max_ticks {
            let r = self.run(max_ticks - used);
            used += r.ticks;
            match r.exit {
                Exit::Halted => return Ok(used),
                Exit::Shutdown => return Err(BareError::Shutdown(used)),
                // Nothing drives INTR on a bare system.
                // No trap sites are registered on the bare system.
                Exit::Budget | Exit::IoYield | Exit::Interrupt | Exit::Trap(_) | Exit::Watch => {}
            }
        }
        Err(BareError::TickLimit(used))
    }
}
