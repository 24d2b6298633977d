//! Reverse execution: reverse-stepi and reverse-continue (gdb's `bs` and `bc` packets,
//! Remote Serial Protocol, "Packets"; the stop at the start of the recording is the
//! `replaylog:begin` stop reason, "Stop Reply Packets").
//!
//! Nothing runs backward: the machine of an earlier tick is restored from the nearest
//! snapshot before it (the tape's cache, or the trace's own snapshots) and re-executed
//! (DESIGN.md section 9). reverse-continue looks for the *last* point hit before the
//! current position: it scans the stretch from the nearest snapshot before the current tick
//! up to it with the points armed, noting every hit; if there is none it scans the stretch
//! before that, and so on back to the start. The stretches grow as they go back (the cache
//! is densest near the current tick), so a nearby hit is found quickly and a distant one
//! in about one re-execution of the distance. Where a point is hit going backward:
//!
//! * a breakpoint: before its instruction (as forward);
//! * a watchpoint on a guest access: before the instruction that accessed (forward stops
//!   after it), so the bytes still hold their earlier value;
//! * a write by a firmware service: before the guest instruction that called the service
//!   (`breakpoints::service_caller`).

use super::DebugError;
use super::breakpoints::{self, Event, Points, Stopped};
use super::tape::Tape;

/// Where a backward move ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Back {
    /// At the tick where this point is hit.
    At(Event),
    /// One tick back (reverse-stepi).
    Stepped,
    /// At the start of the recording: nothing earlier.
    Begin,
    /// The user stopped the search (the tape stands where it was searching).
    Interrupted,
}

/// The tick a backward search stops at for `e`, found during a scan (before any caller
/// search for a service write).
fn reverse_tick(e: &Event, hit_at: u64) -> u64 {
    match e {
        Event::Break { .. } => hit_at,
        Event::Access { tick, .. } | Event::Service { tick, .. } => *tick,
    }
}

/// One tick back.
pub fn step_back(tape: &mut Tape) -> Result<Back, DebugError> {
    let now = tape.now();
    if now == 0 {
        return Ok(Back::Begin);
    }
    // The position left is not kept: going forward again from one tick earlier is one
    // instruction, and a copy costs as much as a step back.
    tape.seek(now - 1)?;
    Ok(Back::Stepped)
}

/// Back to the last point hit before the current position, or to the start.
pub fn continue_back(tape: &mut Tape, points: &Points) -> Result<Back, DebugError> {
    let start = tape.now();
    let mut upto = start;
    while upto > 0 {
        let from = tape.restore_base(upto - 1)?;
        // Every hit in [from, upto): keep the last one before `start`.
        let mut last: Option<(u64, Event)> = None;
        let mut resume = false;
        while let Stopped::At(e) = breakpoints::run_forward(tape, points, upto, resume)? {
            let at = reverse_tick(&e, tape.now());
            if at < start {
                last = Some((at, e));
            }
            resume = true;
            if tape.now() >= upto {
                break;
            }
        }
        if tape.interrupted() {
            return Ok(Back::Interrupted);
        }
        if let Some((at, e)) = last {
            let e = match e {
                Event::Service { tick, service, .. } => {
                    let caller = breakpoints::service_caller(tape, tick, service)?;
                    tape.seek(caller)?;
                    e
                }
                _ => {
                    tape.seek(at)?;
                    e
                }
            };
            return Ok(Back::At(e));
        }
        upto = from;
    }
    tape.seek(0)?;
    Ok(Back::Begin)
}
