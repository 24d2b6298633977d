//! Time-travel debugging over a trace (issue 19; DESIGN.md section 9): `vexed debug`.
//!
//! A [`Debugger`] stands at a position in a recorded run (a [`tape::Tape`]: the machine
//! before the instruction of one tick) and moves forward by re-executing with the recorded
//! inputs, backward by restoring a snapshot and re-executing ([`reverse`]), stopping at
//! breakpoints and watchpoints ([`breakpoints`], on the emulator's debugger watch). It is
//! driven by gdb over the Remote Serial Protocol ([`rsp`], registers and memory in
//! [`target`]) or by a script ([`batch`]); both speak vexed's own command language
//! ([`monitor`]: gdb's `monitor` commands are the same commands).
//!
//! # Limits
//!
//! * A position is a tick: a REP string instruction is at its address for every iteration
//!   (each is a tick), so a breakpoint on it stops before each iteration; a CPU halted in
//!   `HLT` executes nothing, so a breakpoint on the instruction after it stops when that
//!   instruction runs, not while the CPU waits.
//! * At a tick where the trace recorded an input, the position is after the input (and the
//!   interrupt it raises), where `vexed seek` shows the state before it ([`tape`]).
//! * Watchpoints see the guest's operand accesses and the writes of firmware services; the
//!   reads of firmware services (an XMS move out of a watched buffer) are not seen.
//!   Addresses are linear: under the VM manager each VM has its own linear space below its
//!   load point, and a watchpoint compares the linear address whichever VM runs.
//! * After `monitor seek` or `monitor goto`, gdb still shows its cached registers until
//!   `maintenance flush register-cache` (or a step).
//! * One gdb connection, one thread (`vCont` is not offered; `c`, `s`, `bc`, `bs` are).

pub mod batch;
pub mod breakpoints;
pub mod monitor;
pub mod reverse;
pub mod rsp;
pub mod tape;
pub mod target;
#[cfg(test)]
mod tests;

use thiserror::Error;
use vexed_emu::machine::MachineError;

use crate::recording::Recording;
use crate::session::SessionError;
use breakpoints::{Event, Points};
use tape::Tape;

/// Why a debugger request failed.
#[derive(Debug, Error)]
pub enum DebugError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error("tick {tick} lies after the end of the recorded run (tick {end})")]
    BeyondEnd { tick: u64, end: u64 },
    /// A command that cannot be carried out (bad arguments, unknown names).
    #[error("{0}")]
    Command(String),
    #[error("the gdb connection failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Why the debugger stopped after a move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A step (forward or backward) or a seek completed.
    Moved,
    /// A breakpoint or watchpoint, going either way.
    Hit { event: Event, reverse: bool },
    /// The start of the recording (going backward).
    Begin,
    /// The end of the recorded run (going forward).
    End,
    /// The user stopped a run (gdb's Ctrl-C) before it got anywhere.
    Interrupted,
}

/// A debugging session on one trace.
pub struct Debugger {
    pub tape: Tape,
    pub points: Points,
    /// Named ticks (`checkpoint NAME`).
    pub checkpoints: Vec<(String, u64)>,
}

/// Most named checkpoints.
pub const MAX_CHECKPOINTS: usize = 1024;

impl Debugger {
    pub fn new(rec: Recording) -> Result<Debugger, DebugError> {
        Ok(Debugger {
            tape: Tape::new(rec)?,
            points: Points::default(),
            checkpoints: Vec::new(),
        })
    }

    /// Runs forward until a point is hit or the recorded run ends.
    pub fn cont(&mut self) -> Result<StopReason, DebugError> {
        let end = self.tape.end();
        self.forward_to(end, true)
    }

    /// `n` ticks forward (stopping early at a point or the end).
    pub fn stepi(&mut self, n: u64) -> Result<StopReason, DebugError> {
        let now = self.tape.now();
        if now >= self.tape.end() || self.tape.ended().is_some() {
            return Ok(StopReason::End);
        }
        let target = now.saturating_add(n).min(self.tape.end());
        self.forward_to(target, false)
    }

    /// Forward to `target`; `cont` says a `continue` (reaching the end is then the end of
    /// the replay log, not a completed step).
    fn forward_to(&mut self, target: u64, cont: bool) -> Result<StopReason, DebugError> {
        let r = breakpoints::run_forward(&mut self.tape, &self.points, target, true)?;
        if cont {
            // A long way forward: keep where it stopped, for going back to it later. (A
            // step is not kept: a copy of the machine costs more than a step.)
            self.tape.mark();
        }
        Ok(match r {
            breakpoints::Stopped::At(event) => StopReason::Hit {
                event,
                reverse: false,
            },
            breakpoints::Stopped::Interrupted => StopReason::Interrupted,
            breakpoints::Stopped::Reached if !cont => StopReason::Moved,
            breakpoints::Stopped::Reached | breakpoints::Stopped::End => StopReason::End,
        })
        .map(|r| self.unless_interrupted(r))
    }

    /// `n` ticks backward (stopping at the start).
    pub fn reverse_stepi(&mut self, n: u64) -> Result<StopReason, DebugError> {
        if n == 1 {
            return Ok(match reverse::step_back(&mut self.tape)? {
                reverse::Back::Begin => StopReason::Begin,
                _ => StopReason::Moved,
            });
        }
        let now = self.tape.now();
        if now == 0 {
            return Ok(StopReason::Begin);
        }
        self.tape.seek(now.saturating_sub(n))?;
        Ok(if n > now {
            StopReason::Begin
        } else {
            StopReason::Moved
        })
    }

    /// Back to the last point hit before the current position, or to the start.
    pub fn reverse_cont(&mut self) -> Result<StopReason, DebugError> {
        let r = match reverse::continue_back(&mut self.tape, &self.points)? {
            reverse::Back::At(event) => StopReason::Hit {
                event,
                reverse: true,
            },
            reverse::Back::Begin => StopReason::Begin,
            reverse::Back::Stepped => StopReason::Moved,
            reverse::Back::Interrupted => StopReason::Interrupted,
        };
        Ok(self.unless_interrupted(r))
    }

    /// Moves to tick `tick`.
    pub fn seek(&mut self, tick: u64) -> Result<StopReason, DebugError> {
        self.tape.seek(tick)?;
        Ok(self.unless_interrupted(StopReason::Moved))
    }

    /// `r`, or [`StopReason::Interrupted`] if the user stopped the move on the way.
    fn unless_interrupted(&mut self, r: StopReason) -> StopReason {
        if self.tape.take_interrupted() {
            StopReason::Interrupted
        } else {
            r
        }
    }
}
