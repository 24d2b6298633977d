//! The verbs of the `vexed` command line, one module each (issue 14, item 1), and what
//! several of them share: the progress bar, loading a program or scenario, parsing seeds
//! and CPU models, choosing a recording's input source, and writing output files only
//! when complete and never over an input (DESIGN.md sections 5 and 10).
//!
//! Each verb module holds its clap `Args` (whose doc comments are its `--help`) and
//! `run(Args) -> anyhow::Result<ExitCode>`; its `//!` header says what the verb does and
//! its exit statuses.

/// `print!` to stdout; a closed stdout (`vexed dump T | head`) ends vexed quietly (see
/// [`write_stdout`]).
macro_rules! out {
    ($($t:tt)*) => { $crate::commands::write_stdout(format_args!($($t)*), false) };
}

/// `println!` to stdout; a closed stdout ends vexed quietly (see [`write_stdout`]).
macro_rules! outln {
    () => { $crate::commands::write_stdout(format_args!(""), true) };
    ($($t:tt)*) => { $crate::commands::write_stdout(format_args!($($t)*), true) };
}

pub mod bench_cpu;
pub mod boot;
pub mod conformance;
pub mod debug;
pub mod diff;
pub mod dump;
pub mod fuzz;
pub mod golden;
pub mod info;
pub mod init;
pub mod record;
pub mod replay;
pub mod run;
pub mod seek;
pub mod test;
pub mod timeline;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use vexed_emu::cpu::Model;
use vexed_emu::machine::ClockMode;
use vexed_replay::scenario::Scenario;
use vexed_replay::source::{InputSource, Live, Perturbation, Scripted, Seeded};

/// Runs `work` with a tick counter; when stderr is a terminal, a progress bar (ticks of
/// `max`) follows the counter until `work` returns.
pub fn with_progress<T>(max: u64, work: impl FnOnce(Arc<AtomicU64>) -> T) -> T {
    let ticks = Arc::new(AtomicU64::new(0));
    if !std::io::stderr().is_terminal() {
        return work(ticks);
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let bar = ProgressBar::new(max);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} ticks ({per_sec}, {eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let (t, d) = (&ticks, &done);
        scope.spawn(move || {
            while !d.load(Ordering::Relaxed) {
                bar.set_position(t.load(Ordering::Relaxed));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let result = work(Arc::clone(&ticks));
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// Whether `target` names a scenario (`*.toml`) rather than a program.
pub fn is_scenario(target: &Path) -> bool {
    target
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Loads a scenario, or makes one for a program, and the manifest text to embed. A
/// scenario's drive C: must lie inside the manifest's directory, or inside `drive` when the
/// user named one with `--drive`, so that a manifest cannot pull files from elsewhere into a
/// trace.
pub fn load_target(
    target: &Path,
    args: &[String],
    drive: Option<&Path>,
) -> Result<(Scenario, String)> {
    if is_scenario(target) {
        if !args.is_empty() {
            bail!("a scenario takes no program arguments (they belong in its [[program]] entries)");
        }
        let text = std::fs::read_to_string(target)
            .with_context(|| format!("cannot read {}", target.display()))?;
        Ok((Scenario::load_with(target, drive)?, text))
    } else {
        if !target.is_file() {
            bail!("{} is not a file", target.display());
        }
        let s = Scenario::for_program(target, args).map_err(anyhow::Error::msg)?;
        Ok((s, String::new()))
    }
}

/// Parses a CPU model name.
pub fn parse_model(s: &str) -> Result<Model> {
    Model::from_name(s)
        .with_context(|| format!("unknown CPU model {s:?}: expected 8086, 286 or 386"))
}

/// Parses a seed: a decimal number, or a 40-hex-digit commit hash (its first 16 digits).
pub fn parse_seed(s: &str) -> Result<u64> {
    if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u64::from_str_radix(&s[..16], 16).context("seed");
    }
    s.parse()
        .with_context(|| format!("seed {s:?}: use a number or a 40-hex-digit commit hash"))
}

/// The input source for a recording.
pub fn source_for(s: &Scenario, seed: Option<u64>) -> Box<dyn InputSource> {
    source_with_serial(s, seed, None)
}

/// The input source for a recording, with COM1 fed from the host in the host clock mode.
pub fn source_with_serial(
    s: &Scenario,
    seed: Option<u64>,
    serial: Option<Box<dyn std::io::Read + Send>>,
) -> Box<dyn InputSource> {
    match (s.machine.clock, seed) {
        (ClockMode::Host, _) => {
            let live = Live::new(Scripted::new(s.inputs.clone()));
            Box::new(match serial {
                Some(input) => live.with_serial(input),
                None => live,
            })
        }
        (ClockMode::Virtual, Some(seed)) => Box::new(Seeded::new(
            seed,
            &s.inputs,
            Perturbation {
                max_delay: s.machine.rate.ticks_per_second() / 100,
                spurious_irqs: 8,
                horizon: s.max_ticks.min(20_000_000),
            },
        )),
        (ClockMode::Virtual, None) => Box::new(Scripted::new(s.inputs.clone())),
    }
}

/// The exit status when stdout is closed under vexed (a pipe whose reader went away): the
/// status a process killed by SIGPIPE has, 128 + 13, as `head` and `less` users expect.
pub const STDOUT_CLOSED: i32 = 141;

/// Writes to stdout. `print!` would panic when the reader of a pipe has gone away; vexed
/// ends quietly with [`STDOUT_CLOSED`] instead, and reports other write errors on stderr.
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| {
            if newline {
                out.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("vexed: cannot write to stdout: {e}");
        }
        std::process::exit(STDOUT_CLOSED);
    }
}

/// Outputs appear only when complete and never over an input (`replay/src/outfile.rs`).
pub use vexed_replay::outfile::OutputFile;
