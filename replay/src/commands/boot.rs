//! `vexed boot`: boots a bare 64 KiB ROM image from reset (no Rust firmware) and prints
//! what it writes to the debug ports E9h/190h (DESIGN.md sections 7
//! and 10).
//!
//! Exit statuses: the value the guest writes to port F4h; 0 on HLT with interrupts
//! disabled; 1 at the tick limit; 2 bad input (unreadable or wrongly sized image, unknown
//! model).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_emu::machine::MachineConfig;
use vexed_replay::boot::{BootEnd, boot};

use super::parse_model;

/// Boot a 64 KiB ROM image from reset; print what it writes to ports E9h/190h.
/// Exits with the status written to port F4h, 0 on HLT with interrupts disabled, or 1
/// at the tick limit.
#[derive(clap::Args)]
pub struct Args {
    /// The ROM image (exactly 65,536 bytes).
    rom: PathBuf,
    /// Stop after this many ticks.
    #[arg(long, default_value_t = 1_000_000_000)]
    max_ticks: u64,
    /// CPU model: 8086, 286 or 386.
    #[arg(long, default_value = "386")]
    cpu: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let model = parse_model(&args.cpu)?;
    let rom = &args.rom;
    let image = std::fs::read(rom).with_context(|| format!("cannot read {}", rom.display()))?;
    let config = MachineConfig {
        model,
        ..MachineConfig::default()
    };
    let report = boot(
        config,
        &image,
        args.max_ticks,
        &mut std::io::stdout().lock(),
    )
    .with_context(|| format!("booting {}", rom.display()))?;
    Ok(match report.end {
        BootEnd::ExitPort(code) => ExitCode::from(code),
        BootEnd::Halted => ExitCode::SUCCESS,
        BootEnd::TickLimit => {
            eprintln!("vexed: tick limit reached after {} ticks", report.ticks);
            ExitCode::from(1)
        }
    })
}
