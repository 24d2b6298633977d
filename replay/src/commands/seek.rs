//! `vexed seek`: the machine of a trace at one tick, restored from the last snapshot at or
//! before it (or built from the header) and re-executed with the recorded inputs up to the
//! tick (DESIGN.md sections 5 and 6; `replay/src/seek.rs`).
//!
//! Exit statuses: 0 the tick was reached; 1 the run ended before that tick; 2 an
//! unreadable trace.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_trace::TraceReader;

use super::with_progress;

/// The machine of a trace at one tick: restores the last snapshot at or before it (see
/// `record --snapshot-every`, on by default) or starts from the beginning, and replays
/// the recorded inputs up to the tick. Prints the state hash and the instruction there;
/// exit 1 when the run ended before that tick, 2 for an unreadable trace.
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
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = TraceReader::new(bytes.as_slice())
        .with_context(|| format!("cannot read {}", path.display()))?;
    let result = with_progress(tick, |ticks| {
        vexed_replay::seek::seek(&mut reader, tick, Some(&ticks))
    })
    .with_context(|| format!("seeking in {}", path.display()))?;
    let m = &result.machine;
    let from = match result.from_snapshot {
        Some(t) => format!("from the snapshot at tick {t}"),
        None => "from the start (no snapshot before it)".to_string(),
    };
    if args.dump_state {
        print!("{}", vexed_replay::seek::describe_state(m)?);
    } else {
        println!(
            "tick {} state {:016x} at {}",
            m.now(),
            m.state_hash()?,
            vexed_replay::diff::Instruction::of(m)
        );
    }
    eprintln!(
        "vexed: {}: tick {tick} reached {from}, {} inputs re-injected",
        path.display(),
        result.inputs
    );
    if let Some(stop) = result.stopped_early {
        eprintln!(
            "vexed: the run ended at tick {} ({stop:?}) before tick {tick}",
            m.now()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
