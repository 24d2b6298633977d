//! The machine of a trace at a movable position: seeking to any tick (forward by running,
//! backward by restoring a snapshot and re-executing, DESIGN.md sections 5 and 9), running
//! forward under a debugger watch, and the in-memory snapshot cache that makes stepping
//! backward cheap.
//!
//! # Positions
//!
//! The debugger stands *before the instruction that retires at tick t*: the machine is at
//! tick t with everything done that happens at t without spending a tick, the inputs
//! recorded at t included (and the interrupts they raise delivered). This is the checkpoint
//! state `vexed seek --tick t` prints (`seek.rs`) followed by the inputs recorded at t, so
//! the two agree at every tick that has no recorded input. Every way of reaching tick t
//! (running forward, restoring a snapshot and re-executing, stopping at a watch) lands on the
//! same machine: the machine is slicing-invariant (DESIGN.md section 2), and the inputs are
//! injected at their ticks exactly as the recorder injected them (`engine.rs`).
//!
//! # The snapshot cache
//!
//! Restoring a trace snapshot (every 16 M ticks by default) and re-executing up to 16 M
//! ticks costs tens of milliseconds; a reverse-stepi should cost a few. So whenever the tape
//! runs forward to a target it keeps copies of the machine at exponentially spaced ticks
//! before the target (target - D/2, - D/4, ... down to [`MIN_GAP`]), as rr keeps its
//! checkpoints denser near where the user works. At most [`MAX_CACHED`] copies are kept;
//! the one farthest from the current tick is dropped first. The machines the trace's
//! snapshots rebuild are cached the same way.
//!
//! # Divergence
//!
//! A register or memory write from the debugger makes the machine one the recording never
//! saw: the tape then caches nothing it runs into, until the next seek restores a
//! recorded state.

use std::sync::Arc;

use vexed_emu::cpu::{Watch, WatchHit};
use vexed_emu::firmware::Firmware;
use vexed_emu::machine::{Input, Machine, Stop};

use super::DebugError;
use crate::recording::Recording;

/// Closest spacing of cached machines (ticks).
pub const MIN_GAP: u64 = 1 << 13;
/// Most machines in the cache.
pub const MAX_CACHED: usize = 24;
/// Ticks per run between drains of the machine's reports.
const SLICE: u64 = 4_000_000;

/// How a forward run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// At the target tick.
    Reached,
    /// The watch stopped the machine (it stands at a position, see the module docs).
    Hit(WatchHit),
    /// The machine stopped for good (the recorded run ends there).
    Ended(Stop),
    /// The user interrupted the run ([`Tape::set_poll`]).
    Interrupted,
}

/// A cached machine at a position.
#[derive(Clone)]
struct Cached {
    tick: u64,
    machine: Machine,
    next_input: usize,
    ended: Option<Stop>,
}

/// A trace's machine at a position.
pub struct Tape {
    rec: Recording,
    inputs: Arc<[(u64, Input)]>,
    end: u64,
    m: Machine,
    /// Index of the first input not injected yet.
    next_input: usize,
    ended: Option<Stop>,
    cache: Vec<Cached>,
    diverged: bool,
    /// Asked between slices of a run whether the user wants it stopped.
    poll: Option<Box<dyn FnMut() -> bool>>,
    /// The user stopped a run: every run returns at once until this is taken.
    interrupted: bool,
    /// Where the poll was last asked (it is asked once per slice of ticks run, however
    /// many stops the runs make).
    polled_at: u64,
}

impl Tape {
    /// The tape of `rec` at tick 0.
    pub fn new(rec: Recording) -> Result<Tape, DebugError> {
        let m = rec.machine_at_tick_0()?;
        let mut t = Tape {
            inputs: rec.inputs.clone(),
            end: rec.end_tick(),
            rec,
            m,
            next_input: 0,
            ended: None,
            cache: Vec::new(),
            diverged: false,
            poll: None,
            interrupted: false,
            polled_at: 0,
        };
        t.make_ready()?;
        t.remember();
        Ok(t)
    }

    pub fn recording(&self) -> &Recording {
        &self.rec
    }

    pub fn machine(&self) -> &Machine {
        &self.m
    }

    /// The machine, to change it: the tape is diverged from the recording from now on.
    pub fn machine_mut(&mut self) -> &mut Machine {
        self.diverged = true;
        &mut self.m
    }

    pub fn now(&self) -> u64 {
        self.m.now()
    }

    /// The last tick of the recorded run.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Why the machine stopped for good, if it has.
    pub fn ended(&self) -> Option<Stop> {
        self.ended
    }

    pub fn diverged(&self) -> bool {
        self.diverged
    }

    /// Ticks of the cached machines.
    pub fn cached_ticks(&self) -> Vec<u64> {
        self.cache.iter().map(|c| c.tick).collect()
    }

    /// Throws away what the machine reported (the recording has it), so memory stays
    /// bounded however long the tape runs.
    fn drain(&mut self) {
        let _ = self.m.take_observations();
        if let Some(fw) = self.m.firmware_mut() {
            let _ = Firmware::take_console(fw);
        }
        let _ = self.m.take_debug_output();
    }

    /// From the checkpoint state at the machine's tick: injects the inputs recorded at it
    /// and does the zero-time work they cause (see the module documentation).
    fn make_ready(&mut self) -> Result<(), DebugError> {
        let now = self.m.now();
        // Whatever is due at `now` without spending a tick (a no-op when already done).
        let stop = self.m.run_until(now);
        if stop != Stop::Deadline {
            self.ended = Some(stop);
        }
        let mut injected = false;
        while let Some(&(t, input)) = self.inputs.get(self.next_input) {
            if t > now {
                break;
            }
            self.next_input += 1;
            if t == now {
                self.m.inject(input).map_err(|e| {
                    DebugError::Command(format!(
                        "the input recorded at tick {t} cannot be injected: {e}"
                    ))
                })?;
                injected = true;
            }
        }
        if injected {
            let stop = self.m.run_until(now);
            if stop != Stop::Deadline {
                self.ended = Some(stop);
            }
        }
        self.drain();
        // A watch stop inside the zero-time work is not a stop here.
        let _ = self.m.cpu_mut().take_watch_hit();
        Ok(())
    }

    /// Keeps a copy of the current machine in the cache (not while diverged).
    fn remember(&mut self) {
        if self.diverged {
            return;
        }
        let tick = self.now();
        let i = self.cache.partition_point(|c| c.tick < tick);
        if self.cache.get(i).is_some_and(|c| c.tick == tick) {
            return;
        }
        let mut machine = self.m.clone();
        machine.cpu_mut().set_watch(None);
        self.cache.insert(
            i,
            Cached {
                tick,
                machine,
                next_input: self.next_input,
                ended: self.ended,
            },
        );
        while self.cache.len() > MAX_CACHED {
            // Drop the copy farthest from where the user is (never tick 0's).
            let now = self.now();
            let far = self
                .cache
                .iter()
                .enumerate()
                .skip(1)
                .max_by_key(|(_, c)| c.tick.abs_diff(now))
                .map(|(i, _)| i);
            match far {
                Some(i) => {
                    self.cache.remove(i);
                }
                None => break,
            }
        }
    }

    /// Restores the nearest recorded machine at or before `tick` (a cached copy, or the
    /// machine of the trace's last snapshot at or before it, or the start); returns its
    /// tick.
    pub fn restore_base(&mut self, tick: u64) -> Result<u64, DebugError> {
        let cached = self
            .cache
            .iter()
            .rposition(|c| c.tick <= tick)
            .and_then(|i| self.cache.get(i))
            .cloned();
        let snap = self.rec.snapshot_ticks().filter(|&s| s <= tick).last();
        if let Some(c) = cached
            && snap.is_none_or(|s| s <= c.tick)
        {
            self.m = c.machine;
            self.next_input = c.next_input;
            self.ended = c.ended;
            self.diverged = false;
            return Ok(c.tick);
        }
        if snap.is_some()
            && let Some((s, m)) = self.rec.snapshot_at_or_before(tick)?
        {
            self.m = m;
            self.next_input = self.inputs.partition_point(|&(t, _)| t < s);
            self.ended = None;
            self.diverged = false;
            self.make_ready()?;
            self.remember();
            return Ok(s);
        }
        // Tick 0 is always cached (`Tape::new`); this only follows an emptied cache.
        self.m = self.rec.machine_at_tick_0()?;
        self.next_input = 0;
        self.ended = None;
        self.diverged = false;
        self.make_ready()?;
        self.remember();
        Ok(0)
    }

    /// Moves to tick `tick` (at most the end of the recorded run): runs forward when that is
    /// the shortest way, otherwise restores the nearest machine before it and re-executes.
    /// Keeps copies of the machine at spaced ticks on the way (see the module docs).
    pub fn seek(&mut self, tick: u64) -> Result<Outcome, DebugError> {
        if tick > self.end {
            return Err(DebugError::BeyondEnd {
                tick,
                end: self.end,
            });
        }
        let now = self.now();
        let base_after_now = self
            .cache
            .iter()
            .rev()
            .find(|c| c.tick <= tick)
            .is_some_and(|c| c.tick > now)
            || self
                .rec
                .snapshot_ticks()
                .filter(|&s| s <= tick)
                .last()
                .is_some_and(|s| s > now);
        if tick < now || self.diverged || base_after_now {
            self.restore_base(tick)?;
        }
        let from = self.now();
        // The spaced ticks between `from` and `tick` to keep a copy at.
        let mut stops = Vec::new();
        let mut d = (tick - from) / 2;
        while d >= MIN_GAP {
            let at = tick - d;
            // Skip ticks near an existing copy (within half the spacing).
            let near = self
                .cache
                .iter()
                .any(|c| c.tick <= at && at - c.tick < d / 2);
            if !near {
                stops.push(at);
            }
            d /= 2;
        }
        stops.sort_unstable();
        for at in stops {
            match self.forward(at, None, false)? {
                Outcome::Reached => self.remember(),
                other => return Ok(other),
            }
        }
        self.forward(tick, None, false)
    }

    /// Runs forward to `target` (at most the end of the recorded run). With `watch`, stops
    /// early where it hits; `resume` says the instruction at the current position runs
    /// first without being compared with the execution watches (the debugger stopped before
    /// it and now goes on).
    pub fn forward(
        &mut self,
        target: u64,
        watch: Option<&Watch>,
        resume: bool,
    ) -> Result<Outcome, DebugError> {
        let target = target.min(self.end);
        if let Some(w) = watch {
            let mut w = w.clone();
            w.resume_from = resume.then(|| super::target::pc(&self.m));
            self.m.cpu_mut().set_watch(Some(w));
        }
        let result = loop {
            if let Some(stop) = self.ended {
                break Outcome::Ended(stop);
            }
            let now = self.now();
            if now >= target {
                break Outcome::Reached;
            }
            if now.abs_diff(self.polled_at) >= SLICE {
                self.polled_at = now;
                if self.poll.as_mut().is_some_and(|p| p()) {
                    self.interrupted = true;
                }
            }
            if self.interrupted {
                break Outcome::Interrupted;
            }
            let mut deadline = target.min(now + SLICE);
            if let Some(&(t, _)) = self.inputs.get(self.next_input) {
                deadline = deadline.min(t.max(now + 1));
            }
            let stop = self.m.run_until(deadline);
            let hit = self.m.cpu_mut().take_watch_hit();
            if stop != Stop::Deadline {
                self.ended = Some(stop);
            }
            self.make_ready()?;
            if let Some(h) = hit {
                break Outcome::Hit(h);
            }
        };
        if watch.is_some() {
            self.m.cpu_mut().set_watch(None);
        }
        Ok(result)
    }

    /// Sets what a run asks, between slices of a few million ticks, whether the user wants
    /// it stopped (gdb's Ctrl-C).
    pub fn set_poll(&mut self, poll: Option<Box<dyn FnMut() -> bool>>) {
        self.poll = poll;
    }

    /// Whether the user stopped a run since the last call (and forgets it).
    pub fn take_interrupted(&mut self) -> bool {
        std::mem::take(&mut self.interrupted)
    }

    /// Whether the user stopped a run (kept until taken).
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Keeps the current machine in the cache (the debugger stopped here for the user).
    pub fn mark(&mut self) {
        self.remember();
    }
}
