//! Record and replay sessions (DESIGN.md sections 3-6).
//!
//! **Recording** runs a scenario with an [`InputSource`] and writes a trace: the header
//! (machine and firmware configuration, programs, the manifest, every file of drive C:),
//! each input at the tick it was injected, each observation, a checkpoint (the state hash)
//! every `checkpoint_interval` ticks, a paged snapshot (the memory pages changed since the
//! previous one, [`crate::snapshots`]) at every `snapshot_every`-th checkpoint, and the
//! footer with the final tick and state hash.
//!
//! **Replaying** rebuilds the machine from the header alone, injects the recorded inputs at
//! their ticks and compares every observation and checkpoint as it goes. The first
//! mismatch stops it with a [`Divergence`]: the tick, CS:IP and the instruction there, the
//! expected and actual observation, and (when the trace holds a snapshot at that tick,
//! rebuilt from the snapshots before it) the machine state differences by part and field.
//!
//! Both sides follow the same procedure at a checkpoint, so the hashes compare equal
//! state: take the observations, the console text and the debug-port bytes, then hash.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;
use vexed_emu::firmware::Firmware;
use vexed_emu::firmware::dos::DriveC;
use vexed_emu::machine::{Input, Machine, MachineError, Stop};
use vexed_emu::observe::Observation;
use vexed_trace::{GuestFile, Header, Record, RunEnd, TraceError, TraceReader, TraceWriter};

use crate::cursor::Build;
use crate::diff::Instruction;
use crate::drive;
use crate::engine::{Console, Engine, EngineError, Flow, Outcome, Sink};
use crate::recording::{Completeness, Recording};
use crate::scenario::Scenario;
use crate::snapshots::{SnapshotError, SnapshotPager};
use crate::source::{InputSource, TraceInputs};

/// Default ticks between checkpoints.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 1_000_000;
/// Default checkpoints between paged snapshots: with the default checkpoint interval, a
/// snapshot every 16 M ticks, so a seek re-executes at most about 0.15 s of guest code (at
/// about 120 M ticks per second) and a trace grows by the pages the guest changed (see
/// trace/FORMAT.md, "Paged snapshots", for measured sizes).
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 16;

/// How to record.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    pub checkpoint_interval: u64,
    /// Store a paged snapshot (the memory pages changed since the previous one) at every
    /// `n`-th checkpoint, for seeking and for state diffs on divergence. `None` or
    /// `Some(0)`: no snapshots.
    pub snapshot_every: Option<u64>,
    /// The seed of a seeded source (stored in the header).
    pub seed: Option<u64>,
    /// Where the session publishes the machine's tick as it goes (for a progress bar).
    pub progress: Option<Arc<AtomicU64>>,
    /// Applied to the machine before the run: records the run of a different build of
    /// vexed (tests plant a known change of behaviour with it; see [`Build`]).
    pub build: Option<Build>,
}

impl Default for RecordOptions {
    fn default() -> RecordOptions {
        RecordOptions {
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            snapshot_every: Some(DEFAULT_SNAPSHOT_EVERY),
            seed: None,
            progress: None,
            build: None,
        }
    }
}

/// Why a session could not run.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error(transparent)]
    Drive(#[from] drive::DriveLoadError),
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("cannot write the console output: {0}")]
    Output(#[source] std::io::Error),
    #[error("input at tick {tick} cannot be injected: {message}")]
    Input { tick: u64, message: String },
    #[error("the trace's drive C: cannot be rebuilt: {0}")]
    Drive2(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The trace contradicts itself (a record beyond the run's end or its tick limit).
    #[error("the trace is damaged: {0}")]
    Damaged(String),
    #[error("cannot read {path}: {message}")]
    File { path: String, message: String },
    /// A tick after the recorded run's end.
    #[error("tick {tick} lies after the end of the recorded run (tick {end})")]
    BeyondEnd { tick: u64, end: u64 },
}

/// How a recorded run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub final_tick: u64,
    pub final_hash: u64,
    /// One line: how the run ended.
    pub end: String,
    pub inputs: u64,
    pub observations: u64,
    pub checkpoints: u64,
    /// Why the machine stopped (`None`: it reached the tick limit).
    pub stop: Option<Stop>,
}

/// The trace header for recording `s`.
pub fn header(s: &Scenario, manifest: &str, opts: &RecordOptions) -> Result<Header, SessionError> {
    let loaded = drive::load_scenario_drive(s)?;
    let files = loaded
        .drive
        .files()
        .map(|(path, bytes)| GuestFile::new(path.to_string(), bytes.to_vec()))
        .collect();
    Ok(Header {
        emulator_version: format!("vexed {}", env!("CARGO_PKG_VERSION")),
        name: s.name.clone(),
        machine: s.machine,
        firmware: s.firmware.clone(),
        programs: s.programs.clone(),
        seed: opts.seed,
        scenario: manifest.to_string(),
        max_ticks: s.max_ticks,
        checkpoint_interval: s
            .checkpoint_interval
            .unwrap_or(opts.checkpoint_interval)
            .max(1),
        drive_writable: s.writable,
        dirs: loaded.drive.dirs().map(str::to_string).collect(),
        files,
    })
}

/// The machine a trace header describes, at tick 0.
pub fn machine_from_header(h: &Header) -> Result<Machine, SessionError> {
    let mut drive = DriveC::new(h.drive_writable);
    for d in &h.dirs {
        drive
            .insert_dir(d)
            .map_err(|e| SessionError::Drive2(e.to_string()))?;
    }
    for f in &h.files {
        drive
            .insert_file(&f.path, f.bytes.clone())
            .map_err(|e| SessionError::Drive2(e.to_string()))?;
    }
    let fw = Firmware::new(h.firmware.clone(), drive, h.programs.clone());
    Ok(Machine::with_firmware(h.machine, fw)?)
}

/// One sentence for why a machine stopped.
pub fn stop_text(stop: Stop) -> String {
    end_text(Some(stop), 0, u64::MAX)
}

/// One sentence for a machine stop that ends a run.
fn end_text(stop: Option<Stop>, now: u64, max_ticks: u64) -> String {
    RunEnd::from_stop(stop.unwrap_or(Stop::Deadline), now, max_ticks).to_string()
}

/// Records `s` (machine from `header`) with inputs from `source` into `out`; console text
/// goes to `console` as it appears.
pub fn record<W: Write>(
    header: &Header,
    source: &mut dyn InputSource,
    opts: &RecordOptions,
    out: W,
    console: &mut dyn Write,
) -> Result<(W, Recorded), SessionError> {
    record_machine(header, source, opts, out, console).map(|(w, r, _)| (w, r))
}

/// Records `header`'s run with the scripted `inputs` into trace bytes in memory (the
/// console text is dropped): what tests, benchmarks and `golden update` comparisons need.
pub fn record_scripted(
    header: &Header,
    inputs: Vec<(u64, vexed_emu::machine::Input)>,
    opts: &RecordOptions,
) -> Result<Vec<u8>, SessionError> {
    let mut source = crate::source::Scripted::new(inputs);
    record(header, &mut source, opts, Vec::new(), &mut std::io::sink()).map(|(bytes, _)| bytes)
}

/// The recorder's sink: every input and observation into the trace, a checkpoint (the
/// state hash) every `interval` ticks, and before every `snapshot_every`-th checkpoint a
/// paged snapshot, so a replay that finds a different hash there can diff the state.
struct TraceSink<W: Write> {
    writer: TraceWriter<W>,
    interval: u64,
    next_checkpoint: u64,
    checkpoints: u64,
    snapshot_every: Option<u64>,
    pager: SnapshotPager,
}

impl<W: Write> Sink for TraceSink<W> {
    fn next_stop(&self) -> Option<u64> {
        Some(self.next_checkpoint)
    }

    fn at_stop(&mut self, m: &mut Machine) -> Result<Flow, EngineError> {
        let now = m.now();
        if now == self.next_checkpoint {
            self.checkpoints += 1;
            if self
                .snapshot_every
                .is_some_and(|n| self.checkpoints.is_multiple_of(n))
            {
                self.writer.push(self.pager.snapshot(m)?)?;
            }
            let hash = m.checkpoint_hash()?;
            self.writer.push(Record::Checkpoint { tick: now, hash })?;
            self.next_checkpoint = now.saturating_add(self.interval);
        }
        Ok(Flow::Continue)
    }

    fn input(&mut self, tick: u64, input: Input) -> Result<(), EngineError> {
        Ok(self.writer.push(Record::Input { tick, input })?)
    }

    fn observation(
        &mut self,
        _m: &Machine,
        tick: u64,
        observation: Observation,
    ) -> Result<Flow, EngineError> {
        self.writer
            .push(Record::Observation { tick, observation })?;
        Ok(Flow::Continue)
    }
}

/// Publishes the machine's tick after every run (for a progress bar).
pub(crate) struct Progress<'a>(pub &'a AtomicU64);

impl Sink for Progress<'_> {
    fn after_run(&mut self, m: &Machine, _settled: bool) -> Result<Flow, EngineError> {
        self.0.store(m.now(), Ordering::Relaxed);
        Ok(Flow::Continue)
    }
}

/// [`record`], also returning the machine as the run left it (for invariant checks).
pub fn record_machine<W: Write>(
    header: &Header,
    source: &mut dyn InputSource,
    opts: &RecordOptions,
    out: W,
    console: &mut dyn Write,
) -> Result<(W, Recorded, Machine), SessionError> {
    let mut m = machine_from_header(header)?;
    if let Some(build) = opts.build {
        build(&mut m);
    }
    let interval = header.checkpoint_interval.max(1);
    let snapshot_every = opts.snapshot_every.filter(|&n| n > 0);
    // The first snapshot is coded against the machine at tick 0, whose hash the trace
    // holds as a checkpoint at tick 0: a reader whose build builds another machine knows
    // before decoding anything against it (trace/FORMAT.md, "Paged snapshots").
    let mut writer = TraceWriter::new(out, header)?;
    writer.push(Record::Checkpoint {
        tick: m.now(),
        hash: m.checkpoint_hash()?,
    })?;
    let pager = match snapshot_every {
        Some(_) => SnapshotPager::from_base(&mut m)?,
        None => SnapshotPager::new(),
    };
    let mut sink = TraceSink {
        writer,
        interval,
        next_checkpoint: interval,
        checkpoints: 0,
        snapshot_every,
        pager,
    };
    let max_ticks = header.max_ticks;
    let mut engine = Engine::new(m, max_ticks);
    let mut console = Console(console);
    let progress = opts.progress.clone().unwrap_or_default();
    let mut progress = Progress(&progress);
    engine.run(
        max_ticks,
        source,
        &mut [&mut sink, &mut console, &mut progress],
    )?;
    let stop = engine.stopped();
    let m = engine.into_machine();
    let final_hash = m.state_hash()?;
    let end = RunEnd::from_stop(stop.unwrap_or(Stop::Deadline), m.now(), max_ticks);
    let counts = sink.writer.counts().clone();
    let out = sink.writer.finish(m.now(), final_hash, &end)?;
    let recorded = Recorded {
        final_tick: m.now(),
        final_hash,
        end: end.to_string(),
        inputs: counts.inputs,
        observations: counts.observations,
        checkpoints: counts.checkpoints,
        stop: stop.filter(|s| *s != Stop::Deadline),
    };
    Ok((out, recorded, m))
}

/// Where and how a replay first differed from its trace.
#[derive(Clone, Debug)]
pub struct Divergence {
    pub tick: u64,
    /// The instruction the replayed machine is at.
    pub at: Instruction,
    /// What the trace says should have happened.
    pub expected: String,
    /// What the machine did.
    pub actual: String,
    /// Differences between the recorded snapshot at this tick and the replayed state, one
    /// line per part and field (empty without a snapshot).
    pub state_diff: Vec<String>,
    /// Which recorded fact the replay contradicted (for `replay --localize`).
    pub mismatch: Mismatch,
}

/// The recorded fact a replay contradicted first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// An observation: the recorded one and the one the machine made instead (with their
    /// ticks; `None`: nothing there).
    Observation {
        expected: Option<(u64, Observation)>,
        actual: Option<(u64, Observation)>,
    },
    /// A checkpoint's state hash.
    Checkpoint {
        tick: u64,
        recorded: u64,
        actual: u64,
    },
    /// The machine stopped before the trace's end, or its final tick or state differs, or
    /// it did not take a recorded input.
    End,
}

/// The result of a replay.
#[derive(Clone, Debug)]
pub enum Replayed {
    /// The trace is complete, and every observation, checkpoint and the final state matched.
    Identical {
        final_tick: u64,
        final_hash: u64,
        observations: u64,
        checkpoints: u64,
    },
    /// The trace has no footer (its recorder stopped): the prefix up to `after_tick`
    /// matched, but the run's end was never recorded, so this is not "identical".
    PrefixVerified {
        after_tick: u64,
        observations: u64,
        checkpoints: u64,
    },
    Diverged(Box<Divergence>),
}

/// Replays the trace file `bytes` (see [`replay_recording`]).
pub fn replay_bytes(bytes: &[u8], console: &mut dyn Write) -> Result<Replayed, SessionError> {
    replay_bytes_with_progress(bytes, console, None)
}

/// [`replay_bytes`], publishing the machine's tick to `progress` as it goes.
pub fn replay_bytes_with_progress(
    bytes: &[u8],
    console: &mut dyn Write,
    progress: Option<&AtomicU64>,
) -> Result<Replayed, SessionError> {
    let rec = Recording::from_bytes(bytes)?;
    replay_recording(&rec, console, progress)
}

/// The replayer's sink: compares every observation the machine makes, in order, with the
/// recorded ones, and the state hash at every recorded checkpoint. It asks the engine to
/// stop at every recorded observation's tick and checkpoint, so a divergence is reported
/// with the machine where the recording says something should happen.
struct Verifier<'r> {
    rec: &'r Recording,
    next_observation: usize,
    next_checkpoint: usize,
    divergence: Option<Divergence>,
}

impl Verifier<'_> {
    fn expected(&self) -> Option<&(u64, Observation)> {
        self.rec.observations.get(self.next_observation)
    }

    fn diverge(&mut self, d: Divergence) -> Flow {
        self.divergence = Some(d);
        Flow::Stop
    }

    /// A recorded observation the machine did not make, now that it is past its tick.
    fn missing(&mut self, m: &Machine) -> Flow {
        let Some((tick, o)) = self.expected().cloned() else {
            return Flow::Continue;
        };
        self.diverge(divergence(
            m,
            tick,
            format!("at tick {tick}: {}", excerpt(&o.to_string())),
            "nothing".into(),
            None,
            Mismatch::Observation {
                expected: Some((tick, o)),
                actual: None,
            },
        ))
    }
}

impl Sink for Verifier<'_> {
    fn next_stop(&self) -> Option<u64> {
        let o = self.expected().map(|(t, _)| *t);
        let c = self
            .rec
            .checkpoints
            .get(self.next_checkpoint)
            .map(|(t, _)| *t);
        o.into_iter().chain(c).min()
    }

    fn at_stop(&mut self, m: &mut Machine) -> Result<Flow, EngineError> {
        let now = m.now();
        if self.expected().is_some_and(|(t, _)| *t < now) {
            return Ok(self.missing(m));
        }
        while let Some(&(tick, recorded)) = self.rec.checkpoints.get(self.next_checkpoint) {
            if tick > now {
                break;
            }
            if tick < now {
                return Ok(self.diverge(divergence(
                    m,
                    tick,
                    format!("a checkpoint at tick {tick}"),
                    format!("the machine went from before it to tick {now}"),
                    None,
                    Mismatch::End,
                )));
            }
            self.next_checkpoint += 1;
            let actual = m.checkpoint_hash_as(self.rec.hash_scheme)?;
            if actual != recorded {
                // The recorded machine, when a snapshot was taken at this checkpoint (it was
                // checked against this very hash when the trace was opened).
                let snapshot = self.rec.snapshot_at(tick).ok().flatten();
                return Ok(self.diverge(divergence(
                    m,
                    tick,
                    format!("state hash {recorded:016x}"),
                    format!("state hash {actual:016x}"),
                    snapshot.as_ref(),
                    Mismatch::Checkpoint {
                        tick,
                        recorded,
                        actual,
                    },
                )));
            }
        }
        Ok(Flow::Continue)
    }

    fn observation(
        &mut self,
        m: &Machine,
        tick: u64,
        observation: Observation,
    ) -> Result<Flow, EngineError> {
        match self.expected().cloned() {
            Some((t, o)) if t == tick && o == observation => {
                self.next_observation += 1;
                Ok(Flow::Continue)
            }
            Some((t, o)) => Ok(self.diverge(divergence(
                m,
                t.min(tick),
                format!("at tick {t}: {}", excerpt(&o.to_string())),
                format!("at tick {tick}: {}", excerpt(&observation.to_string())),
                None,
                Mismatch::Observation {
                    expected: Some((t, o)),
                    actual: Some((tick, observation)),
                },
            ))),
            None => Ok(self.diverge(divergence(
                m,
                tick,
                "no observation".into(),
                format!("at tick {tick}: {}", excerpt(&observation.to_string())),
                None,
                Mismatch::Observation {
                    expected: None,
                    actual: Some((tick, observation)),
                },
            ))),
        }
    }

    fn after_run(&mut self, m: &Machine, settled: bool) -> Result<Flow, EngineError> {
        let now = m.now();
        match self.expected() {
            Some((t, _)) if *t < now || (*t == now && settled) => Ok(self.missing(m)),
            _ => Ok(Flow::Continue),
        }
    }
}

/// At most this many bytes of a recorded or replayed text go into a divergence report.
const EXCERPT: usize = 240;

/// `text`, cut to [`EXCERPT`] bytes (at a character boundary) with a note of its length.
pub fn excerpt(text: &str) -> String {
    if text.len() <= EXCERPT {
        return text.to_string();
    }
    let mut cut = EXCERPT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... ({} bytes in all)", &text[..cut], text.len())
}

/// Replays `rec`, writing the console text to `console`: the machine is rebuilt from the
/// header alone, fed the recorded inputs at their ticks, and every observation, checkpoint
/// and (for a complete trace) the final tick and state hash are compared. The run never
/// goes past the recorded run's last tick.
pub fn replay_recording(
    rec: &Recording,
    console: &mut dyn Write,
    progress: Option<&AtomicU64>,
) -> Result<Replayed, SessionError> {
    let m = rec.machine_at_tick_0()?;
    let end = rec.end_tick();
    let mut engine = Engine::new(m, end);
    let mut source = TraceInputs::new(rec.inputs.clone(), 0);
    let mut verifier = Verifier {
        rec,
        next_observation: 0,
        next_checkpoint: 0,
        divergence: None,
    };
    let mut console = Console(console);
    let counter = AtomicU64::new(0);
    let mut progress = Progress(progress.unwrap_or(&counter));
    let outcome = engine.run(
        end,
        &mut source,
        &mut [&mut verifier, &mut console, &mut progress],
    )?;
    if let Some(d) = verifier.divergence.take() {
        return Ok(Replayed::Diverged(Box::new(d)));
    }
    let m = engine.machine();
    let observations = verifier.next_observation as u64;
    let checkpoints = verifier.next_checkpoint as u64;
    if let Outcome::Stopped(stop) = outcome {
        return Ok(Replayed::Diverged(Box::new(divergence(
            m,
            m.now(),
            format!("the machine running to tick {end}"),
            format!("it stopped: {}", end_text(Some(stop), m.now(), u64::MAX)),
            None,
            Mismatch::End,
        ))));
    }
    let footer = match &rec.completeness {
        Completeness::Complete(f) => f,
        Completeness::Unfinished { after_tick } => {
            // What the prefix holds up to its last tick must have happened; what is recorded
            // at that very tick may belong to the frame that was never written.
            let pending = rec.observations[verifier.next_observation..]
                .iter()
                .any(|(t, _)| t < after_tick);
            if pending {
                let mut v = verifier;
                v.missing(m);
                if let Some(d) = v.divergence {
                    return Ok(Replayed::Diverged(Box::new(d)));
                }
            }
            return Ok(Replayed::PrefixVerified {
                after_tick: *after_tick,
                observations,
                checkpoints,
            });
        }
    };
    if verifier.expected().is_some() {
        verifier.missing(m);
        if let Some(d) = verifier.divergence {
            return Ok(Replayed::Diverged(Box::new(d)));
        }
    }
    if let Some(&(tick, recorded)) = rec.checkpoints.get(verifier.next_checkpoint) {
        return Ok(Replayed::Diverged(Box::new(divergence(
            m,
            m.now(),
            format!("the checkpoint at tick {tick} (state hash {recorded:016x})"),
            format!("the run ended at tick {} before it", m.now()),
            None,
            Mismatch::End,
        ))));
    }
    if let Some(&(tick, input)) = source.remaining().first() {
        return Ok(Replayed::Diverged(Box::new(divergence(
            m,
            m.now(),
            format!(
                "the input at tick {tick} ({}) taken in",
                vexed_trace::input_text(&input)
            ),
            "the run ended before it".into(),
            None,
            Mismatch::End,
        ))));
    }
    let hash = m.state_hash_as(rec.hash_scheme)?;
    if hash != footer.final_hash || m.now() != footer.final_tick {
        return Ok(Replayed::Diverged(Box::new(divergence(
            m,
            m.now(),
            format!(
                "final tick {} and state hash {:016x}",
                footer.final_tick, footer.final_hash
            ),
            format!("final tick {} and state hash {hash:016x}", m.now()),
            None,
            Mismatch::End,
        ))));
    }
    Ok(Replayed::Identical {
        final_tick: m.now(),
        final_hash: hash,
        observations,
        checkpoints,
    })
}

/// A divergence report at the machine's current position.
fn divergence(
    m: &Machine,
    tick: u64,
    expected: String,
    actual: String,
    recorded: Option<&Machine>,
    mismatch: Mismatch,
) -> Divergence {
    let state_diff = recorded
        .map(|recorded| crate::statediff::diff(recorded, m))
        .unwrap_or_default();
    Divergence {
        tick,
        at: Instruction::of(m),
        expected,
        actual,
        state_diff,
        mismatch,
    }
}

/// A reviewable summary of a trace: what the run did, without timing noise beyond ticks.
/// One line per observation (`tick kind details`), then how it ended with the final tick
/// and state hash. Golden tests snapshot this text; `vexed golden update` compares it to say
/// which traces changed.
pub fn summary<R: Read>(reader: &mut TraceReader<R>) -> Result<String, SessionError> {
    let mut out = String::new();
    let h = reader.header();
    out.push_str(&format!("scenario {}\n", h.name));
    for p in &h.programs {
        out.push_str(format!("program {} {}", p.name, p.args).trim_end());
        out.push('\n');
    }
    while let Some(r) = reader.next_record()? {
        if let Record::Observation { tick, observation } = r {
            out.push_str(&format!("{tick:>12} {observation}\n"));
        }
    }
    match reader.footer() {
        Some(f) => out.push_str(&format!(
            "end: {} at tick {}, state {:016x}\n",
            f.end, f.final_tick, f.final_hash
        )),
        None => out.push_str(&format!(
            "end: truncated after tick {}\n",
            reader.truncated_after().unwrap_or(0)
        )),
    }
    Ok(out)
}

/// The header of trace bytes in memory.
pub fn header_of(bytes: &[u8]) -> Result<Header, SessionError> {
    Ok(TraceReader::new(bytes)?.header().clone())
}

/// [`summary`] of trace bytes in memory.
pub fn summary_of(bytes: &[u8]) -> Result<String, SessionError> {
    let mut reader = TraceReader::new(bytes)?;
    summary(&mut reader)
}
