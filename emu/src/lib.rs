//! `vexed-emu`: the emulated PC, a pure function of (configuration, guest files, inputs).
//!
//! This crate never touches files, threads, the host clock or randomness, and never prints:
//! everything it knows arrives through its API and everything it does is visible in its
//! serializable state. See `../shared/DESIGN.md` section 1 for the workspace layout.
//!
//! What exists today:
//! - [`cpu`]: the x86 interpreter (8086, 80286 and 80386 models, real mode).
//! - [`mem`]: physical memory with the model's address-bus width, the A20 gate and a
//!   page-granular map.
//! - [`bus`]: the interface through which the CPU reaches memory and I/O ports.
//! - [`bare`]: a CPU wired to RAM and an open I/O bus, for conformance vectors, benchmarks
//!   and fuzzing.
//! - [`calendar`]: the Gregorian calendar of the real-time clock and the firmware.
//! - [`clock`]: guest time and the 8254 input clock derived from ticks, exactly.
//! - [`event`]: the machine's event queue, ordered by (tick, sequence) with FIFO ties.
//! - [`machine`]: the PC: CPU, memory and chipset on one clock, snapshots and state hashes.
//! - [`devices`]: the PC chipset: 8259A PIC pair, 8254 PIT, 8042 keyboard controller with
//!   port 92h, 8237 DMA pair, MC146818 real-time clock and CMOS RAM, Sound Blaster DSP and a
//!   16450 UART.
//! - [`observe`]: what the machine reports (driver calls, console output, programs).
//! - [`firmware`]: BIOS, DOS 5, XMS 3.0 and EMS 4.0 written in Rust, reached through trap
//!   stubs in guest memory.

pub mod bare;
pub mod bus;
pub mod calendar;
pub mod clock;
pub mod cpu;
pub mod devices;
pub mod event;
pub mod firmware;
pub mod machine;
pub mod mem;
pub mod observe;

pub use bus::{Bus, IoSize};
pub use cpu::{Cpu, Exit, Model, RunResult};
pub use mem::Memory;
