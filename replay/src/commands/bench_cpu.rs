//! `vexed bench-cpu`: times the CPU on the real-mode integer loop of
//! `corpora/guests/cpuloop.asm` (720,896,000 instructions), on a bare CPU or inside the
//! full PC (DESIGN.md section 8).
//!
//! Exit statuses: 0 measured; 2 bad input (unknown model) or the loop did not reach its HLT.

use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_replay::bench;

use super::parse_model;

/// Time the CPU on the real-mode integer loop (720,896,000 instructions).
#[derive(clap::Args)]
pub struct Args {
    /// CPU model: 8086, 286 or 386.
    #[arg(long, default_value = "386")]
    cpu: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Stop after this many instructions instead of running the whole loop.
    #[arg(long)]
    ticks: Option<u64>,
    /// Run inside the full PC with the 8254 interrupting at 18.2 Hz, not on a bare CPU.
    #[arg(long, conflicts_with = "protected")]
    machine: bool,
    /// Run the same loop in protected mode with paging (flat 32-bit segments; 80386 only;
    /// `corpora/guests/cpuloop32.asm`).
    #[arg(long)]
    protected: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let model = parse_model(&args.cpu)?;
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark with `cargo run --release`");
    }
    if args.protected && model != vexed_emu::cpu::Model::I80386 {
        anyhow::bail!("--protected needs the 386 model: the loop uses 32-bit code and paging");
    }
    let r = if args.protected {
        bench::run_cpu_loop_protected(args.ticks)
            .context("the protected-mode loop did not reach its HLT")?
    } else if args.machine {
        bench::run_cpu_loop_in_machine(model, args.ticks).context("building the machine")?
    } else {
        bench::run_cpu_loop(model, args.ticks)
            .context("the benchmark loop did not reach its HLT")?
    };
    if args.json {
        outln!("{}", serde_json::to_string(&r)?);
    } else {
        outln!(
            "{} guest instructions in {:.3} s: {:.1} million instructions per second ({} model{})",
            r.instructions,
            r.seconds,
            r.mips,
            model.name(),
            if args.machine {
                ", in the PC with a live PIT"
            } else if args.protected {
                ", protected mode with paging"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
