//! A machine that follows one trace's inputs forward: the state at any later tick, with
//! checkpoint semantics (after the machine's zero-time work at that tick, before the inputs
//! recorded at it, with observations, console text and debug output taken out as the
//! recorder takes them). Seeking, `vexed diff` and `replay --localize` move cursors; a
//! cursor clones, so a search can try a tick and come back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vexed_emu::machine::{Input, Machine, Stop};

use crate::session::{self, SessionError};

/// The run is cut into calls of at most this many ticks, so a progress counter moves.
const SLICE: u64 = 1_000_000;

/// Changes applied to every machine a cursor is built on: how a different build of vexed
/// would behave (tests plant a known change of behaviour with it, e.g.
/// `Firmware::plant_xms_error`). Not machine state.
pub type Build = fn(&mut Machine);

/// A machine and the inputs still to come.
#[derive(Clone, Debug)]
pub struct Cursor {
    machine: Machine,
    inputs: Arc<[(u64, Input)]>,
    /// Index of the first input not injected yet.
    next: usize,
    /// The machine stopped for good (it stays where it stopped).
    stopped: Option<Stop>,
}

impl Cursor {
    /// A cursor on `machine` (built from a trace's header, or restored from one of its
    /// snapshots, which are taken before the inputs at their tick), with the trace's
    /// `inputs` in order; those before the machine's tick are taken as injected already.
    /// `build`, if given, is applied to the machine first.
    pub fn new(mut machine: Machine, inputs: Arc<[(u64, Input)]>, build: Option<Build>) -> Cursor {
        if let Some(b) = build {
            b(&mut machine);
        }
        let now = machine.now();
        let next = inputs.partition_point(|(t, _)| *t < now);
        Cursor {
            machine,
            inputs,
            next,
            stopped: None,
        }
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn now(&self) -> u64 {
        self.machine.now()
    }

    /// Why the machine stopped for good, if it has.
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
    }

    /// The inputs recorded at tick `t`.
    pub fn inputs_at(&self, t: u64) -> &[(u64, Input)] {
        let from = self.inputs.partition_point(|(x, _)| *x < t);
        let to = self.inputs.partition_point(|(x, _)| *x <= t);
        &self.inputs[from..to]
    }

    /// Runs to tick `t` (not before the cursor's tick), injecting the inputs recorded
    /// before `t` at their ticks; inputs at one tick go in back to back, as the recorder
    /// injected them. Stops early, for good, if the machine does; `progress`, if given,
    /// follows the tick.
    pub fn advance_to(&mut self, t: u64, progress: Option<&AtomicU64>) -> Result<(), SessionError> {
        while self.stopped.is_none() {
            let Some(&(at, input)) = self.inputs.get(self.next).filter(|(at, _)| *at < t) else {
                break;
            };
            if self.machine.now() < at {
                self.run_to(at, progress);
                if self.stopped.is_some() {
                    break;
                }
            }
            self.machine
                .inject(input)
                .map_err(|e| SessionError::Input {
                    tick: at,
                    message: e.to_string(),
                })?;
            self.next += 1;
        }
        if self.stopped.is_none() {
            self.run_to(t, progress);
        }
        Ok(())
    }

    /// Runs the machine to `t` (at least one call, so the zero-time work at the current
    /// tick is done), taking out what it reported as the recorder does.
    fn run_to(&mut self, t: u64, progress: Option<&AtomicU64>) {
        let m = &mut self.machine;
        loop {
            let stop = m.run_until(t.min(m.now().saturating_add(SLICE)));
            let _ = session::drain(m);
            if let Some(p) = progress {
                p.store(m.now(), Ordering::Relaxed);
            }
            if stop != Stop::Deadline {
                self.stopped = Some(stop);
                return;
            }
            if m.now() >= t {
                return;
            }
        }
    }

    /// The machine, consumed.
    pub fn into_machine(self) -> Machine {
        self.machine
    }
}
