//! `vexed seek`: the machine of a trace at one tick, restored from the last snapshot at or
//! before it (or built from the header) and re-executed with the recorded inputs up to the
//! tick (DESIGN.md sections 5 and 6; `replay/src/seek.rs`).
//!
//! The tick must lie within the recorded run (up to the footer's final tick, or the last
//! record's for an unfinished trace); that is checked before anything runs.
//!
//! Exit statuses: 0 the tick was reached (the final tick included); 1 this build ended the
//! run before that tick although the recording goes on; 2 an unreadable trace or a tick
//! after the end of the recorded run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vexed_replay::recording::Recording;

use super::with_progress;

/// The machine of a trace at one tick: restores the last snapshot at or before it (see
/// `record --snapshot-every`, on by default) or starts from the beginning, and replays
/// the recorded inputs up to the tick. Prints the state hash and the instruction there;
/// exit 1 when this build ends the run before that tick although the recording goes on,
/// 2 for an unreadable trace or a tick after the end of the recorded run.
#[derive(clap::Args)]
pub struct Args {
    trace: PathBuf,
    /// The tick (the state a checkpoint there records: before that tick's inputs).
    #[arg(long)]
    tick: u64,
    /// Print the registers, flags, A20 and the running VM as well.
    #[arg(long)]
    dump_state: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (path, tick) = (&args.trace, args.tick);
    let rec = Recording::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    // A tick after the recorded run is refused before anything runs.
    let end = rec.end_tick();
    if tick > end {
        bail!("tick {tick} lies after the end of the recorded run (tick {end})");
    }
    let result = with_progress(tick, |ticks| {
        vexed_replay::seek::seek(&rec, tick, Some(&ticks))
    })
    .with_context(|| format!("seeking in {}", path.display()))?;
    let m = &result.machine;
    let from = match result.from_snapshot {
        Some(t) => format!("from the snapshot at tick {t}"),
        None => match rec.unusable_snapshots_reason() {
            Some(why) => format!("from the start ({why})"),
            None => "from the start (no snapshot before it)".to_string(),
        },
    };
    if args.dump_state {
        out!(
            "{}",
            vexed_replay::seek::describe_state(m, rec.hash_scheme)?
        );
    } else {
        outln!(
            "tick {} state {:016x} at {}",
            m.now(),
            m.state_hash_as(rec.hash_scheme)?,
            vexed_replay::diff::Instruction::of(m)
        );
    }
    if let Some(stop) = result.stopped_early {
        // The recording goes on to `tick` (checked above): this build ends the run earlier.
        eprintln!(
            "vexed: {}: the run ended at tick {} ({}) before tick {tick}, though the recorded run goes on; `vexed replay` shows where this build departs from it",
            path.display(),
            m.now(),
            vexed_replay::session::stop_text(stop)
        );
        return Ok(ExitCode::from(1));
    }
    eprintln!(
        "vexed: {}: tick {tick} reached {from}, {} inputs re-injected",
        path.display(),
        result.inputs
    );
    Ok(ExitCode::SUCCESS)
}
