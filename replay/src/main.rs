//! The `vexed` command line.

mod traces;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use vexed_emu::cpu::Model;
use vexed_emu::machine::MachineConfig;
use vexed_replay::boot::{BootEnd, boot};
use vexed_replay::run::{self, RunEnd};
use vexed_replay::scenario::Scenario;
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
    /// Run a DOS program (.COM or .EXE) or a scenario (.toml) on the default PC (386, 16 MiB,
    /// BIOS, DOS 5, XMS and EMS in Rust).
    ///
    /// A program runs with its directory as drive C:; its console output goes to stdout
    /// and vexed exits with the program's exit code (2 if it cannot be started, 3 if the
    /// guest crashed, hung or hit the tick limit). A scenario runs its programs and
    /// checks its expectations: exit 0 when all are met, 1 with a diff when one fails.
    Run {
        /// PROGRAM.COM, PROGRAM.EXE or SCENARIO.toml.
        target: PathBuf,
        /// The program's command tail.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
        /// Stop after this many ticks (default: the scenario's limit, or 1,500,000,000).
        #[arg(long)]
        max_ticks: Option<u64>,
        /// CPU model for a program run: 8086, 286 or 386.
        #[arg(long)]
        cpu: Option<String>,
    },
    /// Record a scenario or program into a trace: every input at its tick, every
    /// observation, a state-hash checkpoint every --checkpoint-interval ticks.
    Record {
        /// PROGRAM.COM, PROGRAM.EXE or SCENARIO.toml.
        target: PathBuf,
        /// The program's command tail.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
        /// The trace file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// virtual: the 8254 runs on ticks; host: the host clock paces timer interrupts.
        #[arg(long, default_value = "virtual")]
        clock: String,
        /// Perturb input timing and add spurious IRQs from this seed (a number or a
        /// 40-hex-digit commit hash).
        #[arg(long)]
        seed: Option<String>,
        /// Stop after this many ticks (default: the scenario's limit).
        #[arg(long)]
        max_ticks: Option<u64>,
        /// Ticks between state-hash checkpoints.
        #[arg(long, default_value_t = vexed_replay::session::DEFAULT_CHECKPOINT_INTERVAL)]
        checkpoint_interval: u64,
        /// Store a machine snapshot at every Nth checkpoint, for fast seeks and state diffs
        /// on divergence: the memory pages changed since the previous snapshot, compressed.
        /// 0: no snapshots.
        #[arg(long, default_value_t = vexed_replay::session::DEFAULT_SNAPSHOT_EVERY)]
        snapshot_every: u64,
        /// Replay the trace right after recording it and compare.
        #[arg(long)]
        verify: bool,
        /// With --clock host: bytes for COM1 from this file (`-` = stdin), one per
        /// millisecond of host time.
        #[arg(long)]
        serial: Option<PathBuf>,
    },
    /// Replay a trace and verify every observation and checkpoint: exit 0 identical, 1
    /// diverged (with a report), 2 unreadable.
    Replay {
        trace: PathBuf,
        /// Do not print the console output.
        #[arg(short, long)]
        quiet: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// For `git bisect run`: a trace this build cannot judge (unreadable, or a format
        /// version it does not know) exits 125, so bisect skips the commit instead of
        /// calling it bad.
        #[arg(long)]
        git_bisect: bool,
        /// On divergence, re-run from the trace's snapshot at the last matching checkpoint
        /// to the mismatch and name the instruction whose result first differs from the
        /// recording (exact when the recording pins it: a driver call answering
        /// differently), or the state differences at the next recorded snapshot and the
        /// last instructions that changed them.
        #[arg(long)]
        localize: bool,
    },
    /// Print a trace as text: the header, then one line per record.
    Dump { trace: PathBuf },
    /// Size, ticks, record counts and compression of a trace.
    Info {
        trace: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario many times under perturbed input timing (spurious IRQs, keystrokes,
    /// DMA completions, timer jitter in the host clock mode) and check its expectations
    /// and the machine invariants; failing cases are saved as traces. Exit 1 if any failed.
    Fuzz {
        scenario: PathBuf,
        /// Number of cases.
        #[arg(long, default_value_t = 100)]
        cases: u64,
        /// Seed of the first case (a number or a 40-hex-digit commit hash).
        #[arg(long)]
        seed: Option<String>,
        /// Where failing cases' traces go.
        #[arg(long, default_value = "fuzz-failures")]
        out: PathBuf,
    },
    /// Draw VM scheduling over time as an SVG picture, from the trace's records alone
    /// (nothing is re-executed).
    ///
    /// One lane per VM ("VM 1 (system)", "VM 2 PROGRAM.COM"), plus "DOS" for the time
    /// before the VMM's first switch (a trace without VMs has only that lane) and one for
    /// the inputs (IRQ, key, timer tick, DMA done, serial byte). A bar covers each interval
    /// a VM held the processor, coloured by why it ended (the switch reason); critical
    /// sections (Int 2Fh 1681h..1682h) are hatched over the lane of the VM that entered
    /// them; XMS and EMS calls are tick marks on the caller's lane. The x axis is in ticks
    /// and milliseconds. Intervals narrower than a pixel are merged into one bar, so the
    /// picture stays small however many switches the trace holds. Exit 0 when written, 2
    /// for an unreadable trace or a bad range.
    Timeline {
        /// The trace to draw.
        trace: PathBuf,
        /// The SVG file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// First tick shown (default: 0).
        #[arg(long)]
        from: Option<u64>,
        /// Last tick shown (default: the end of the run).
        #[arg(long)]
        to: Option<u64>,
        /// Picture width in pixels (the height follows from the number of lanes).
        #[arg(long, default_value_t = vexed_replay::timeline::DEFAULT_WIDTH)]
        width: u32,
    },
    /// The machine of a trace at one tick: restores the last snapshot at or before it (see
    /// `record --snapshot-every`, on by default) or starts from the beginning, and replays
    /// the recorded inputs up to the tick. Prints the state hash and the instruction there;
    /// exit 1 when the run ended before that tick, 2 for an unreadable trace.
    Seek {
        trace: PathBuf,
        /// The tick (the state a checkpoint there records: before that tick's inputs).
        #[arg(long)]
        tick: u64,
        /// Print the registers, flags, A20 and the running VM as well.
        #[arg(long)]
        dump_state: bool,
    },
    /// Compare two traces of a scenario (before and after a change to a guest program, or
    /// with different inputs): how their set-ups differ, the first differing input and
    /// observation, and the first instruction at which the machine states differ, with the
    /// registers, flags, memory (with XMS/EMS handles and offsets) and device, firmware and
    /// VMM fields that differ after it. Both runs are re-executed by this build. Exit 0
    /// when nothing differs, 1 when something does, 2 for an unreadable trace.
    Diff {
        a: PathBuf,
        b: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// At most this many state-difference lines per point in the text report.
        #[arg(long, default_value_t = 40)]
        max_lines: usize,
    },
    /// Golden traces of the bundled scenarios.
    Golden {
        #[command(subcommand)]
        action: GoldenAction,
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

#[derive(Subcommand)]
enum GoldenAction {
    /// Re-record corpora/golden/NAME.trace for every corpora/scenarios/NAME.toml and say
    /// which changed.
    Update {
        #[arg(long, default_value = "corpora/scenarios")]
        scenarios: PathBuf,
        #[arg(long, default_value = "corpora/golden")]
        golden: PathBuf,
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
        Command::Run {
            target,
            args,
            max_ticks,
            cpu,
        } => run_target(&target, &args, max_ticks, cpu.as_deref()),
        Command::Record {
            target,
            args,
            output,
            clock,
            seed,
            max_ticks,
            checkpoint_interval,
            snapshot_every,
            verify,
            serial,
        } => traces::record(
            &target,
            &args,
            &output,
            &clock,
            seed.as_deref(),
            max_ticks,
            checkpoint_interval,
            (snapshot_every > 0).then_some(snapshot_every),
            verify,
            serial.as_deref(),
        ),
        Command::Replay {
            trace,
            quiet,
            json,
            git_bisect,
            localize,
        } => {
            let result = traces::replay(&trace, quiet, json, localize);
            match result {
                Err(e) if git_bisect => {
                    eprintln!("vexed: {e:#} (exit 125: git bisect skips this commit)");
                    Ok(ExitCode::from(125))
                }
                other => other,
            }
        }
        Command::Dump { trace } => traces::dump_trace(&trace),
        Command::Info { trace, json } => traces::info_trace(&trace, json),
        Command::Fuzz {
            scenario,
            cases,
            seed,
            out,
        } => traces::fuzz(&scenario, cases, seed.as_deref(), &out),
        Command::Timeline {
            trace,
            output,
            from,
            to,
            width,
        } => traces::timeline(&trace, &output, from, to, width),
        Command::Seek {
            trace,
            tick,
            dump_state,
        } => traces::seek(&trace, tick, dump_state),
        Command::Diff {
            a,
            b,
            json,
            max_lines,
        } => traces::diff_traces(&a, &b, json, max_lines),
        Command::Golden {
            action: GoldenAction::Update { scenarios, golden },
        } => traces::golden_update(&scenarios, &golden),
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

/// `vexed run`.
fn run_target(
    target: &Path,
    args: &[String],
    max_ticks: Option<u64>,
    cpu: Option<&str>,
) -> Result<ExitCode> {
    let is_scenario = target
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let mut scenario = if is_scenario {
        if !args.is_empty() {
            bail!("a scenario takes no program arguments (they belong in its [[program]] entries)");
        }
        Scenario::load(target)?
    } else {
        if !target.is_file() {
            bail!("{} is not a file", target.display());
        }
        Scenario::for_program(target, args).map_err(anyhow::Error::msg)?
    };
    if let Some(t) = max_ticks {
        scenario.max_ticks = t;
    }
    if let Some(cpu) = cpu {
        scenario.machine.model = parse_model(cpu)?;
    }
    let report = run::run(&scenario, &mut std::io::stdout().lock())
        .with_context(|| format!("running {}", target.display()))?;
    for s in &report.skipped {
        eprintln!("vexed: note: not on drive C: {s}");
    }
    let ended = run::describe(&scenario, &report);
    if is_scenario {
        let failures = run::check(&scenario, &report);
        if failures.is_empty() {
            eprintln!(
                "vexed: scenario {}: {ended}; every expectation met",
                scenario.name
            );
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("vexed: scenario {}: {ended}", scenario.name);
        for f in &failures {
            eprintln!("vexed: FAILED: {f}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(match report.end {
        RunEnd::Finished { exit_code } => ExitCode::from(exit_code),
        RunEnd::ExecFailed { .. } => {
            eprintln!("vexed: {ended}");
            ExitCode::from(2)
        }
        _ => {
            eprintln!("vexed: {ended}");
            ExitCode::from(3)
        }
    })
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
