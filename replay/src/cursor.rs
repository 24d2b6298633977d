//! A machine that follows one trace's inputs forward: the state at any later tick, with
//! checkpoint semantics (after the machine's zero-time work at that tick, before the inputs
//! recorded at it, with observations, console text and debug output taken out as the
//! recorder takes them). Seeking, `vexed diff` and `replay --localize` move cursors; a
//! cursor clones, so a search can try a tick and come back. A cursor is an [`Engine`] fed
//! by the trace's inputs ([`TraceInputs`]) with no sinks.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use vexed_emu::machine::{Input, Machine, Stop};

use crate::engine::{Engine, Outcome, Sink};
use crate::session::{Progress, SessionError};
use crate::source::TraceInputs;

/// Changes applied to every machine a cursor is built on: how a different build of vexed
/// would behave (tests plant a known change of behaviour with it, e.g.
/// `Firmware::plant_xms_error`). Not machine state.
pub type Build = fn(&mut Machine);

/// A machine and the inputs still to come.
#[derive(Clone, Debug)]
pub struct Cursor {
    engine: Engine,
    inputs: TraceInputs,
}

impl Cursor {
    /// A cursor on `machine` (built from a trace's header, or restored from one of its
    /// snapshots, which are taken before the inputs at their tick), with the trace's
    /// `inputs` in order; those before the machine's tick are taken as injected already.
    /// `build`, if given, is applied to the machine first. The cursor never runs past
    /// `limit` (the recorded run's last tick).
    pub fn new(
        mut machine: Machine,
        inputs: Arc<[(u64, Input)]>,
        build: Option<Build>,
        limit: u64,
    ) -> Cursor {
        if let Some(b) = build {
            b(&mut machine);
        }
        let now = machine.now();
        Cursor {
            engine: Engine::new(machine, limit),
            inputs: TraceInputs::new(inputs, now),
        }
    }

    pub fn machine(&self) -> &Machine {
        self.engine.machine()
    }

    pub fn now(&self) -> u64 {
        self.engine.now()
    }

    /// The last tick the cursor may reach.
    pub fn limit(&self) -> u64 {
        self.engine.limit()
    }

    /// Why the machine stopped for good, if it has.
    pub fn stopped(&self) -> Option<Stop> {
        self.engine.stopped()
    }

    /// The inputs recorded at tick `t`.
    pub fn inputs_at(&self, t: u64) -> &[(u64, Input)] {
        self.inputs.at(t)
    }

    /// Inputs injected so far (counting those before the starting point).
    pub fn injected(&self) -> usize {
        self.inputs.injected()
    }

    /// Runs to tick `t` (not before the cursor's tick, not past its limit), injecting the
    /// inputs recorded before `t` at their ticks; inputs at one tick go in back to back, as
    /// the recorder injected them. Stops early, for good, if the machine does; `progress`, if
    /// given, follows the tick.
    pub fn advance_to(&mut self, t: u64, progress: Option<&AtomicU64>) -> Result<(), SessionError> {
        let outcome = match progress {
            Some(p) => {
                let mut sink = Progress(p);
                let sinks: &mut [&mut dyn Sink] = &mut [&mut sink];
                self.engine.run(t, &mut self.inputs, sinks)?
            }
            None => self.engine.run(t, &mut self.inputs, &mut [])?,
        };
        debug_assert!(outcome != Outcome::Interrupted);
        Ok(())
    }

    /// The machine, consumed.
    pub fn into_machine(self) -> Machine {
        self.engine.into_machine()
    }
}
