//! The engine: the one loop that drives the machine for every verb (DESIGN.md sections 2-4).
//!
//! An [`Engine`] owns a [`Machine`] and steps it toward a tick. Its inputs come from one
//! [`InputSource`] (the scenario's script, the host clock, a seeded perturbation, or a
//! trace's recorded inputs: [`crate::source`]); what the machine reports goes to
//! [`Sink`]s (the trace writer and the verifier in [`crate::session`], the console, the
//! debug port, collectors). Every verb is a combination of these:
//!
//! | verb | source | sinks |
//! |---|---|---|
//! | `run` | scripted | console |
//! | `record` | scripted, host clock or seeded | trace writer, console |
//! | `replay` | the trace's inputs | verifier, console |
//! | `seek`, `diff`, `localize` (cursors) | the trace's inputs | none |
//! | `fuzz` | a random schedule | trace writer |
//! | `boot` | none | debug port |
//!
//! # The loop
//!
//! At each stop of the machine at tick `now` the engine
//! 1. hands what the machine reported to the sinks (observations, console text, debug-port
//!    bytes), then lets every sink look at the machine ([`Sink::at_stop`]: a checkpoint is
//!    taken or verified here, after everything the machine does at `now` without spending a
//!    tick and before the inputs of `now`);
//! 2. returns if `now` is the target tick (so the inputs recorded at the target are not
//!    injected: the state at a tick is the state a checkpoint there records) or the machine
//!    has stopped for good;
//! 3. injects every input the source has due at `now`, telling the sinks;
//! 4. runs the machine to the next deadline: the nearest of the target, the source's next
//!    input, a sink's next stop ([`Sink::next_stop`]) and one slice. A sink may ask for a stop
//!    at `now` itself: the machine then runs without spending a tick, doing the zero-time work
//!    the inputs just injected cause (a VM switch after a key), once per tick.
//!
//! The machine is slicing-invariant (an instruction retires at its tick however a run is
//! cut), so the recorder, the replayer and a cursor, which stop at different places, see the
//! same machine at every tick. The engine never runs past its limit (the scenario's or the
//! trace header's tick limit, or the end of a recorded run).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;
use vexed_emu::firmware::Firmware;
use vexed_emu::machine::{Input, Machine, MachineError, Stop};
use vexed_emu::observe::Observation;
use vexed_trace::TraceError;

use crate::snapshots::SnapshotError;
use crate::source::InputSource;

/// Ticks per `run_until` call when nothing is closer: console text is streamed and a
/// progress counter moves at least this often.
pub const SLICE: u64 = 1_000_000;
/// Ticks per call when the host clock paces the timer.
pub const HOST_SLICE: u64 = 50_000;

/// Why the engine (or one of its sinks) could not go on.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("input at tick {tick} cannot be injected: {message}")]
    Input { tick: u64, message: String },
    #[error("cannot write the console output: {0}")]
    Output(#[source] std::io::Error),
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Machine(#[from] MachineError),
}

/// What a sink tells the engine after it has seen something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop the run here (a verifier found a divergence).
    Stop,
}

/// Where a run toward a tick ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The machine is at the target tick (or was already past it).
    Reached,
    /// The machine stopped for good before the target.
    Stopped(Stop),
    /// A sink asked to stop.
    Interrupted,
}

/// Something that takes what the machine reports. Every method has a default that ignores
/// it, so a sink implements only what it needs.
pub trait Sink {
    /// The next tick at which this sink needs the machine stopped (it may be the current
    /// tick, once per tick, for the zero-time work after inputs).
    fn next_stop(&self) -> Option<u64> {
        None
    }
    /// Called at every stop, after the machine's reports have been handed out and before
    /// the inputs of the tick go in.
    fn at_stop(&mut self, m: &mut Machine) -> Result<Flow, EngineError> {
        let _ = m;
        Ok(Flow::Continue)
    }
    /// An input was injected at `tick`.
    fn input(&mut self, tick: u64, input: Input) -> Result<(), EngineError> {
        let _ = (tick, input);
        Ok(())
    }
    /// The machine reported `observation` at `tick`; `m` is where it is now.
    fn observation(
        &mut self,
        m: &Machine,
        tick: u64,
        observation: Observation,
    ) -> Result<Flow, EngineError> {
        let _ = (m, tick, observation);
        Ok(Flow::Continue)
    }
    /// Console text the firmware wrote.
    fn console(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        let _ = bytes;
        Ok(())
    }
    /// Bytes the guest wrote to the debug ports (E9h, 190h).
    fn debug(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        let _ = bytes;
        Ok(())
    }
    /// Called after every run of the machine; `settled` says the run was the zero-time run
    /// at the tick where it started.
    fn after_run(&mut self, m: &Machine, settled: bool) -> Result<Flow, EngineError> {
        let _ = (m, settled);
        Ok(Flow::Continue)
    }
}

/// A sink that writes console text to a stream as it appears.
pub struct Console<'a>(pub &'a mut dyn std::io::Write);

impl Sink for Console<'_> {
    fn console(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        self.0
            .write_all(bytes)
            .and_then(|()| self.0.flush())
            .map_err(EngineError::Output)
    }
}

/// A sink that writes the debug-port bytes to a stream as they appear.
pub struct DebugPort<'a>(pub &'a mut dyn std::io::Write);

impl Sink for DebugPort<'_> {
    fn debug(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        self.0
            .write_all(bytes)
            .and_then(|()| self.0.flush())
            .map_err(EngineError::Output)
    }
}

/// A sink that keeps all console text.
#[derive(Debug, Default)]
pub struct ConsoleText(pub Vec<u8>);

impl Sink for ConsoleText {
    fn console(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// The machine and how it is stepped.
#[derive(Clone, Debug)]
pub struct Engine {
    machine: Machine,
    /// The engine never runs the machine past this tick.
    limit: u64,
    /// Why the machine stopped for good, if it has.
    stopped: Option<Stop>,
    /// The tick at which the zero-time run was made (at most one per tick and inputs).
    settled_at: Option<u64>,
    progress: Option<Arc<AtomicU64>>,
}

impl Engine {
    /// An engine on `machine` that never runs it past `limit`.
    pub fn new(machine: Machine, limit: u64) -> Engine {
        Engine {
            machine,
            limit,
            stopped: None,
            settled_at: None,
            progress: None,
        }
    }

    /// Publishes the machine's tick to `progress` as it goes (for a progress bar).
    pub fn with_progress(mut self, progress: Option<Arc<AtomicU64>>) -> Engine {
        self.progress = progress;
        self
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn machine_mut(&mut self) -> &mut Machine {
        &mut self.machine
    }

    pub fn into_machine(self) -> Machine {
        self.machine
    }

    pub fn now(&self) -> u64 {
        self.machine.now()
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Why the machine stopped for good, if it has.
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
    }

    /// Hands what the machine reported to the sinks.
    fn drain(&mut self, sinks: &mut [&mut dyn Sink]) -> Result<Flow, EngineError> {
        let observations = self.machine.take_observations();
        let console = self
            .machine
            .firmware_mut()
            .map(Firmware::take_console)
            .unwrap_or_default();
        let debug = self.machine.take_debug_output();
        let mut flow = Flow::Continue;
        for s in sinks.iter_mut() {
            if !console.is_empty() {
                s.console(&console)?;
            }
            if !debug.is_empty() {
                s.debug(&debug)?;
            }
        }
        for (tick, o) in observations {
            for s in sinks.iter_mut() {
                if s.observation(&self.machine, tick, o.clone())? == Flow::Stop {
                    flow = Flow::Stop;
                }
            }
            if flow == Flow::Stop {
                break;
            }
        }
        Ok(flow)
    }

    /// Runs the machine toward tick `until` (never past the engine's limit) with inputs from
    /// `source`, handing everything to `sinks` (see the module documentation for the order).
    pub fn run(
        &mut self,
        until: u64,
        source: &mut dyn InputSource,
        sinks: &mut [&mut dyn Sink],
    ) -> Result<Outcome, EngineError> {
        let until = until.min(self.limit);
        let slice = if source.paced_by_host() {
            HOST_SLICE
        } else {
            SLICE
        };
        loop {
            let now = self.machine.now();
            if self.drain(sinks)? == Flow::Stop {
                return Ok(Outcome::Interrupted);
            }
            if let Some(stop) = self.stopped {
                return Ok(if now >= until {
                    Outcome::Reached
                } else {
                    Outcome::Stopped(stop)
                });
            }
            for s in sinks.iter_mut() {
                if s.at_stop(&mut self.machine)? == Flow::Stop {
                    return Ok(Outcome::Interrupted);
                }
            }
            if now >= until {
                return Ok(Outcome::Reached);
            }
            for input in source.due(&self.machine) {
                self.machine.inject(input).map_err(|e| EngineError::Input {
                    tick: now,
                    message: e.to_string(),
                })?;
                self.settled_at = None;
                for s in sinks.iter_mut() {
                    s.input(now, input)?;
                }
            }
            let mut deadline = until.min(now.saturating_add(slice));
            if let Some(t) = source.next_tick() {
                deadline = deadline.min(t.max(now + 1));
            }
            for s in sinks.iter() {
                if let Some(t) = s.next_stop() {
                    deadline = deadline.min(t.max(now));
                }
            }
            let settle = deadline == now && self.settled_at != Some(now);
            if deadline == now && !settle {
                deadline = now + 1;
            }
            if settle {
                self.settled_at = Some(now);
            }
            if source.paced_by_host() && self.machine.cpu().halted() {
                // The guest waits for an interrupt the host clock will bring: wait for the
                // host, and let the idle time advance the clock only as far as host time has.
                if let Some(wait) = source.wait_hint() {
                    std::thread::sleep(wait.min(std::time::Duration::from_millis(5)));
                }
                let rate = self.machine.config().rate.ticks_per_second();
                if let Some(t) = source.host_tick(rate) {
                    deadline = deadline.min(t.max(now + 1));
                }
            }
            let stop = self.machine.run_until(deadline);
            if let Some(p) = &self.progress {
                p.store(self.machine.now(), Ordering::Relaxed);
            }
            if stop != Stop::Deadline {
                self.stopped = Some(stop);
            }
            if self.drain(sinks)? == Flow::Stop {
                return Ok(Outcome::Interrupted);
            }
            for s in sinks.iter_mut() {
                if s.after_run(&self.machine, settle)? == Flow::Stop {
                    return Ok(Outcome::Interrupted);
                }
            }
        }
    }
}
