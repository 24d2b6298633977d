//! The `vexed` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use vexed_emu::cpu::Model;
use vexed_emu::machine::MachineConfig;
use vexed_replay::boot::{BootEnd, boot};
use vexed_replay::{bench, conformance};

#[derive(Parser)]
#[command(
    name = "vexed",
    version,
    about = "Deterministic record/replay PC emulator for testing DOS-era system software"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run SingleStepTests CPU vectors (one *.json.gz per opcode) and report per opcode.
    Conformance {
        /// CPU model the vectors were captured on: 8086 or 286.
        #[arg(long)]
        cpu: String,
        /// Directory holding metadata.json and the *.json.gz files.
        dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Boot a 64 KiB ROM image from reset; print what it writes to ports E9h/190h.
    /// Exits with the status written to port F4h, 0 on HLT with interrupts disabled, or 1
    /// at the tick limit.
    Boot {
        /// The ROM image (exactly 65,536 bytes).
        rom: PathBuf,
        /// Stop after this many ticks.
        #[arg(long, default_value_t = 1_000_000_000)]
        max_ticks: u64,
        /// CPU model: 8086, 286 or 386.
        #[arg(long, default_value = "386")]
        cpu: String,
    },
    /// Time the CPU on the real-mode integer loop (720,896,000 instructions).
    BenchCpu {
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
        #[arg(long)]
        machine: bool,
    },
}

fn parse_model(s: &str) -> Result<Model> {
    Model::from_name(s)
        .with_context(|| format!("unknown CPU model {s:?}: expected 8086, 286 or 386"))
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance {
            cpu,
            dir,
            json,
            threads,
        } => {
            let model = parse_model(&cpu)?;
            if model == Model::I80386 {
                bail!("there are no 80386 vectors: --cpu takes 8086 or 286");
            }
            let threads = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let report = conformance::run_dir(model, &dir, threads)
                .with_context(|| format!("conformance run over {}", dir.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(if report.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Boot {
            rom,
            max_ticks,
            cpu,
        } => {
            let model = parse_model(&cpu)?;
            let image =
                std::fs::read(&rom).with_context(|| format!("cannot read {}", rom.display()))?;
            let config = MachineConfig {
                model,
                ..MachineConfig::default()
            };
            let report = boot(config, &image, max_ticks, &mut std::io::stdout().lock())
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
        Command::BenchCpu {
            cpu,
            json,
            ticks,
            machine,
        } => {
            let model = parse_model(&cpu)?;
            if cfg!(debug_assertions) {
                eprintln!("warning: this is a debug build; benchmark with `cargo run --release`");
            }
            let r = if machine {
                bench::run_cpu_loop_in_machine(model, ticks).context("building the machine")?
            } else {
                bench::run_cpu_loop(model, ticks)
                    .context("the benchmark loop did not reach its HLT")?
            };
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "{} guest instructions in {:.3} s: {:.1} million instructions per second ({} model{})",
                    r.instructions,
                    r.seconds,
                    r.mips,
                    model.name(),
                    if machine {
                        ", in the PC with a live PIT"
                    } else {
                        ""
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vexed: {e:#}");
            ExitCode::from(2)
        }
    }
}
