//! `vexed replay`: replays a trace and verifies every observation, checkpoint and the final
//! state hash against this build (DESIGN.md sections 4 and 5); `--localize` names the
//! instruction where a divergence starts.
//!
//! Exit statuses: 0 identical: the trace is complete and every observation, checkpoint and
//! the final tick and state hash matched; 1 diverged, with a report; 2 unreadable or damaged
//! (any part, a snapshot that does not rebuild its checkpoint's state included); 4
//! unfinished: the trace has no footer (its recorder was killed), its prefix replayed
//! identically, but the end of the run was never recorded (`--allow-unfinished` makes this
//! 0); with `--git-bisect`, 125 instead of 2 so that `git bisect run` skips the commit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_replay::recording::Recording;
use vexed_replay::session::{self, Replayed};

use super::with_progress;

/// Replay a trace and verify every observation and checkpoint: exit 0 identical (a
/// complete trace), 1 diverged (with a report), 2 unreadable or damaged, 4 an unfinished
/// trace (no footer) whose prefix matched.
#[derive(clap::Args)]
pub struct Args {
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
    /// Exit 0 instead of 4 for an unfinished trace (no footer: its recorder was killed)
    /// whose recorded prefix replayed identically.
    #[arg(long)]
    allow_unfinished: bool,
}

/// The exit status of a replay whose trace is unfinished but whose prefix matched.
pub const UNFINISHED: u8 = 4;

pub fn run(args: Args) -> Result<ExitCode> {
    let result = replay_file(&args.trace, args.quiet, args.json, args.localize);
    match result {
        Ok(code) if args.allow_unfinished && code == ExitCode::from(UNFINISHED) => {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if args.git_bisect => {
            eprintln!("vexed: {e:#} (exit 125: git bisect skips this commit)");
            Ok(ExitCode::from(125))
        }
        other => other,
    }
}

/// Replays the trace at `path`: 0 identical, 1 diverged, 2 unreadable or damaged, 4
/// unfinished with a matching prefix.
pub fn replay_file(path: &Path, quiet: bool, json: bool, localize: bool) -> Result<ExitCode> {
    let (rec, bytes) = Recording::open_with_bytes(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut sink = std::io::sink();
    let mut stdout = std::io::stdout().lock();
    let console: &mut dyn Write = if quiet || json {
        &mut sink
    } else {
        &mut stdout
    };
    let result = with_progress(rec.end_tick(), |ticks| {
        session::replay_recording(&rec, console, Some(&ticks))
    })
    .with_context(|| format!("replaying {}", path.display()))?;
    let code = match &result {
        Replayed::Identical {
            final_tick,
            final_hash,
            observations,
            checkpoints,
        } => {
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"result": "identical", "final_tick": final_tick,
                        "final_hash": format!("{final_hash:016x}"), "observations": observations,
                        "checkpoints": checkpoints})
                );
            } else {
                eprintln!(
                    "vexed: {}: identical: {observations} observations and {checkpoints} checkpoints matched, final tick {final_tick}, state {final_hash:016x}",
                    path.display()
                );
            }
            ExitCode::SUCCESS
        }
        Replayed::PrefixVerified {
            after_tick,
            observations,
            checkpoints,
        } => {
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"result": "unfinished", "truncated_after_tick": after_tick,
                        "observations": observations, "checkpoints": checkpoints})
                );
            } else {
                eprintln!(
                    "vexed: {}: unfinished: the trace has no footer (its recorder stopped after tick {after_tick}); that prefix replayed identically ({observations} observations, {checkpoints} checkpoints), but the end of the run was never recorded (exit {UNFINISHED}; --allow-unfinished makes it 0)",
                    path.display()
                );
            }
            ExitCode::from(UNFINISHED)
        }
        Replayed::Diverged(d) => {
            let insn = &d.at.text;
            let localized = if localize {
                let started = std::time::Instant::now();
                let l = vexed_replay::localize::localize(&bytes, d, None)
                    .with_context(|| format!("localizing the divergence of {}", path.display()))?;
                Some((l, started.elapsed()))
            } else {
                None
            };
            if json {
                let mut v = serde_json::json!({"result": "diverged", "tick": d.tick,
                    "cs_ip": format!("{:04X}:{:04X}", d.at.cs, d.at.ip), "instruction": insn,
                    "expected": d.expected, "actual": d.actual, "state_diff": d.state_diff});
                if let Some((l, _)) = &localized {
                    v["localized"] = serde_json::to_value(l)?;
                }
                outln!("{v}");
            } else {
                eprintln!(
                    "vexed: {}: DIVERGED at tick {}, {:04X}:{:04X} {insn}\n  expected: {}\n  actual:   {}",
                    path.display(),
                    d.tick,
                    d.at.cs,
                    d.at.ip,
                    d.expected,
                    d.actual
                );
                if !d.state_diff.is_empty() {
                    eprintln!("  state differences (recorded -> replayed):");
                    for line in &d.state_diff {
                        eprintln!("    {line}");
                    }
                }
                if let Some((l, took)) = &localized {
                    eprint!("{}", l.text(40));
                    eprintln!("vexed: localized in {:.2} s", took.as_secs_f64());
                }
            }
            ExitCode::from(1)
        }
    };
    Ok(code)
}
