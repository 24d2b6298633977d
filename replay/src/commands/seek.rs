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
use vexed_emu::machine::Stop;
use vexed_trace::{TraceError, TraceReader};

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
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = TraceReader::new(bytes.as_slice())
        .with_context(|| format!("cannot read {}", path.display()))?;
    if let Some(end) =
        end_before(&bytes, tick).with_context(|| format!("reading {}", path.display()))?
    {
        bail!("tick {tick} lies after the end of the recorded run (tick {end})");
    }
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
    if let Some(stop) = result.stopped_early
        && m.now() < tick
    {
        // The recording goes on to `tick` (checked above): this build ends the run earlier.
        eprintln!(
            "vexed: {}: the run ended at tick {} ({}) before tick {tick}, though the recorded run goes on; `vexed replay` shows where this build departs from it",
            path.display(),
            m.now(),
            stop_text(stop)
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

/// The last tick of the recorded run when `tick` lies after it, `None` when `tick` is
/// within it. The last tick is the footer's final tick, or for an unfinished trace (a
/// killed recorder) the last record's. Reading stops at the first record at or after
/// `tick`.
fn end_before(bytes: &[u8], tick: u64) -> Result<Option<u64>, TraceError> {
    let mut reader = TraceReader::new(bytes)?;
    let mut last = 0;
    loop {
        match reader.next_record() {
            Ok(Some(r)) if r.tick() >= tick => return Ok(None),
            Ok(Some(r)) => last = r.tick(),
            Ok(None) | Err(TraceError::Truncated { .. }) => break,
            Err(e) => return Err(e),
        }
    }
    let end = reader.footer().map_or(last, |f| f.final_tick);
    Ok((tick > end).then_some(end))
}

/// One phrase for why the machine stopped for good.
fn stop_text(stop: Stop) -> String {
    match stop {
        Stop::Firmware(f) => f.to_string(),
        Stop::HaltedForever => "the CPU halted with interrupts disabled".to_string(),
        Stop::ExitPort(code) => format!("the guest wrote {code:02X}h to the exit port"),
        Stop::Deadline => "it stopped".to_string(),
    }
}
