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

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;
use vexed_emu::firmware::Firmware;
use vexed_emu::firmware::dos::DriveC;
use vexed_emu::machine::{Machine, MachineError, Stop};
use vexed_emu::observe::Observation;
use vexed_trace::{GuestFile, Header, Record, RunEnd, TraceError, TraceReader, TraceWriter};

use crate::cursor::Build;
use crate::diff::Instruction;
use crate::drive;
use crate::scenario::Scenario;
use crate::snapshots::{SnapshotChain, SnapshotError, SnapshotPager};
use crate::source::InputSource;

/// Default ticks between checkpoints.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 1_000_000;
/// Default checkpoints between paged snapshots: with the default checkpoint interval, a
/// snapshot every 16 M ticks, so a seek re-executes at most about 0.15 s of guest code (at
/// about 120 M ticks per second) and a trace grows by the pages the guest changed (see
/// trace/FORMAT.md, "Paged snapshots", for measured sizes).
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 16;
/// Ticks per slice when no event is closer (console output is streamed between slices).
const SLICE: u64 = 5_000_000;
/// Ticks per slice when the host clock paces the timer.
const HOST_SLICE: u64 = 50_000;

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

/// What both sides take out of the machine before hashing it.
pub(crate) struct Drained {
    observations: Vec<(u64, Observation)>,
    console: Vec<u8>,
}

pub(crate) fn drain(m: &mut Machine) -> Drained {
    let observations = m.take_observations();
    let console = m
        .firmware_mut()
        .map(Firmware::take_console)
        .unwrap_or_default();
    let _ = m.take_debug_output();
    Drained {
        observations,
        console,
    }
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
    let mut w = TraceWriter::new(out, header)?;
    let interval = header.checkpoint_interval.max(1);
    let mut next_checkpoint = interval;
    let mut checkpoints = 0u64;
    let max_ticks = header.max_ticks;
    let slice = if source.paced_by_host() {
        HOST_SLICE
    } else {
        SLICE
    };
    let mut last_stop = None;
    let snapshot_every = opts.snapshot_every.filter(|&n| n > 0);
    let mut pager = SnapshotPager::new();
    loop {
        let now = m.now();
        if now == next_checkpoint {
            let d = drain(&mut m);
            write_drained(&mut w, d, console)?;
            checkpoints += 1;
            // A snapshot goes before its checkpoint, so a replay that finds a different
            // hash there can diff the state against it.
            if snapshot_every.is_some_and(|n| checkpoints.is_multiple_of(n)) {
                w.push(pager.snapshot(&mut m)?)?;
            }
            let hash = m.state_hash()?;
            w.push(Record::Checkpoint { tick: now, hash })?;
            next_checkpoint += interval;
        }
        for input in source.due(&m) {
            m.inject(input).map_err(|e| SessionError::Input {
                tick: now,
                message: e.to_string(),
            })?;
            w.push(Record::Input { tick: now, input })?;
        }
        if now >= max_ticks || last_stop.is_some_and(|s| s != Stop::Deadline) {
            break;
        }
        let mut deadline = (now + slice).min(next_checkpoint).min(max_ticks);
        if let Some(t) = source.next_tick() {
            deadline = deadline.min(t.max(now + 1));
        }
        if source.paced_by_host() && m.cpu().halted() {
            // The guest waits for an interrupt that the host clock will bring: wait for the
            // host, and let the idle time advance the clock only as far as host time has.
            if let Some(wait) = source.wait_hint() {
                std::thread::sleep(wait.min(std::time::Duration::from_millis(5)));
            }
            if let Some(t) = source.host_tick(m.config().rate.ticks_per_second()) {
                deadline = deadline.min(t.max(now + 1));
            }
        }
        let stop = m.run_until(deadline);
        if let Some(p) = &opts.progress {
            p.store(m.now(), Ordering::Relaxed);
        }
        let d = drain(&mut m);
        write_drained(&mut w, d, console)?;
        if stop != Stop::Deadline {
            last_stop = Some(stop);
        } else if m.now() >= max_ticks {
            last_stop = Some(Stop::Deadline);
        }
    }
    let d = drain(&mut m);
    write_drained(&mut w, d, console)?;
    let final_hash = m.state_hash()?;
    let end = RunEnd::from_stop(last_stop.unwrap_or(Stop::Deadline), m.now(), max_ticks);
    let counts = w.counts().clone();
    let out = w.finish(m.now(), final_hash, &end)?;
    let recorded = Recorded {
        final_tick: m.now(),
        final_hash,
        end: end.to_string(),
        inputs: counts.inputs,
        observations: counts.observations,
        checkpoints: counts.checkpoints,
    };
    Ok((out, recorded, m))
}

fn write_drained<W: Write>(
    w: &mut TraceWriter<W>,
    d: Drained,
    console: &mut dyn Write,
) -> Result<(), SessionError> {
    for (tick, observation) in d.observations {
        w.push(Record::Observation { tick, observation })?;
    }
    if !d.console.is_empty() {
        console
            .write_all(&d.console)
            .and_then(|()| console.flush())
            .map_err(SessionError::Output)?;
    }
    Ok(())
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
    /// The machine stopped before the trace's end, or its final tick or state differs.
    End,
}

/// The result of a replay.
#[derive(Clone, Debug)]
pub enum Replayed {
    /// Every observation, checkpoint and the final state matched.
    Identical {
        final_tick: u64,
        final_hash: u64,
        observations: u64,
        checkpoints: u64,
    },
    /// The trace has no footer (its recorder stopped): the prefix up to `after_tick`
    /// matched.
    PrefixVerified {
        after_tick: u64,
        observations: u64,
        checkpoints: u64,
    },
    Diverged(Box<Divergence>),
}

/// Replays the trace file `bytes` (see [`replay`]). A frame cut off by the end of the
/// file counts as truncation (a verified prefix) only when the file has no footer;
/// otherwise a length field was damaged, and the error names the frame.
pub fn replay_bytes(bytes: &[u8], console: &mut dyn Write) -> Result<Replayed, SessionError> {
    replay_bytes_with_progress(bytes, console, None)
}

/// [`replay_bytes`], publishing the machine's tick to `progress` as it goes.
pub fn replay_bytes_with_progress(
    bytes: &[u8],
    console: &mut dyn Write,
    progress: Option<&AtomicU64>,
) -> Result<Replayed, SessionError> {
    let mut reader = TraceReader::new(bytes)?;
    replay_checked(
        &mut reader,
        console,
        !vexed_trace::ends_with_footer(bytes),
        progress,
    )
}

/// Replays the trace in `reader`, writing the console text to `console`. A frame cut off
/// by the end of the input ends it as a verified prefix.
pub fn replay<R: Read>(
    reader: &mut TraceReader<R>,
    console: &mut dyn Write,
) -> Result<Replayed, SessionError> {
    replay_checked(reader, console, true, None)
}

fn replay_checked<R: Read>(
    reader: &mut TraceReader<R>,
    console: &mut dyn Write,
    may_be_truncated: bool,
    progress: Option<&AtomicU64>,
) -> Result<Replayed, SessionError> {
    let header = reader.header().clone();
    let mut m = machine_from_header(&header)?;
    let mut produced: VecDeque<(u64, Observation)> = VecDeque::new();
    // The recorded machine at the latest snapshot, for state diffs. Snapshots are not
    // verified: an inconsistent one (which a later paged one would build on) only ends the
    // state diffs (`None` from then on), as an unreadable whole snapshot always did.
    let mut snapshots = Some(SnapshotChain::new());
    let (mut observations, mut checkpoints) = (0u64, 0u64);
    loop {
        let record = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            // Cut off inside a frame (a recorder killed mid-write): the complete frames
            // before it are the verifiable prefix.
            Err(TraceError::Truncated { .. }) if may_be_truncated => break,
            Err(e) => return Err(e.into()),
        };
        let tick = record.tick();
        if record.is_snapshot() {
            if let Some(chain) = &mut snapshots
                && chain.push(record).is_err()
            {
                snapshots = None;
            }
            continue;
        }
        // Inputs at one tick go in back to back, as the recorder injected them; anything
        // else at a tick (an observation, a checkpoint) comes after the machine has done
        // what it does at that tick without spending one.
        let settle = !matches!(record, Record::Input { .. });
        if let Some(d) = run_to(&mut m, tick, settle, &mut produced, console, progress)? {
            return Ok(Replayed::Diverged(Box::new(d)));
        }
        match record {
            Record::Input { input, .. } => {
                m.inject(input).map_err(|e| SessionError::Input {
                    tick,
                    message: e.to_string(),
                })?;
            }
            Record::Observation { observation, .. } => {
                observations += 1;
                match produced.pop_front() {
                    Some((t, o)) if t == tick && o == observation => {}
                    Some((t, o)) => {
                        return Ok(Replayed::Diverged(Box::new(divergence(
                            &m,
                            tick.min(t),
                            format!("at tick {tick}: {observation}"),
                            format!("at tick {t}: {o}"),
                            None,
                            Mismatch::Observation {
                                expected: Some((tick, observation)),
                                actual: Some((t, o)),
                            },
                        ))));
                    }
                    None => {
                        return Ok(Replayed::Diverged(Box::new(divergence(
                            &m,
                            tick,
                            format!("at tick {tick}: {observation}"),
                            "nothing".into(),
                            None,
                            Mismatch::Observation {
                                expected: Some((tick, observation)),
                                actual: None,
                            },
                        ))));
                    }
                }
            }
            Record::Checkpoint { hash, .. } => {
                checkpoints += 1;
                let d = drain(&mut m);
                produced.extend(d.observations);
                write_console(console, &d.console)?;
                if let Some((t, o)) = produced.pop_front() {
                    return Ok(Replayed::Diverged(Box::new(divergence(
                        &m,
                        t,
                        "no observation".into(),
                        format!("at tick {t}: {o}"),
                        None,
                        Mismatch::Observation {
                            expected: None,
                            actual: Some((t, o)),
                        },
                    ))));
                }
                let actual = m.state_hash()?;
                if actual != hash {
                    // The recorded machine, when a snapshot was taken at this checkpoint (an
                    // unreadable snapshot only loses the state diff).
                    let recorded = match snapshots.take().map(SnapshotChain::into_machine) {
                        Some(Ok(Some((t, recorded)))) if t == tick => Some(recorded),
                        _ => None,
                    };
                    return Ok(Replayed::Diverged(Box::new(divergence(
                        &m,
                        tick,
                        format!("state hash {hash:016x}"),
                        format!("state hash {actual:016x}"),
                        recorded.as_ref(),
                        Mismatch::Checkpoint {
                            tick,
                            recorded: hash,
                            actual,
                        },
                    ))));
                }
            }
            // Taken in above; a record kind added later has nothing to replay.
            _ => {}
        }
    }
    let Some(footer) = reader.footer().cloned() else {
        return Ok(Replayed::PrefixVerified {
            after_tick: reader.truncated_after().unwrap_or(m.now()),
            observations,
            checkpoints,
        });
    };
    if let Some(d) = run_to(
        &mut m,
        footer.final_tick,
        true,
        &mut produced,
        console,
        progress,
    )? {
        return Ok(Replayed::Diverged(Box::new(d)));
    }
    let d = drain(&mut m);
    produced.extend(d.observations);
    write_console(console, &d.console)?;
    if let Some((t, o)) = produced.pop_front() {
        return Ok(Replayed::Diverged(Box::new(divergence(
            &m,
            t,
            "no observation".into(),
            format!("at tick {t}: {o}"),
            None,
            Mismatch::Observation {
                expected: None,
                actual: Some((t, o)),
            },
        ))));
    }
    let hash = m.state_hash()?;
    if hash != footer.final_hash || m.now() != footer.final_tick {
        return Ok(Replayed::Diverged(Box::new(divergence(
            &m,
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

fn write_console(console: &mut dyn Write, bytes: &[u8]) -> Result<(), SessionError> {
    if !bytes.is_empty() {
        console
            .write_all(bytes)
            .and_then(|()| console.flush())
            .map_err(SessionError::Output)?;
    }
    Ok(())
}

/// Runs `m` up to `tick`, collecting what it reports. With `settle`, the machine runs even
/// if it is at `tick` already: what it does at its current tick without spending any (a VM
/// switch after an input) belongs to that tick. Returns a divergence if the machine stops
/// for good before reaching `tick`.
fn run_to(
    m: &mut Machine,
    tick: u64,
    settle: bool,
    produced: &mut VecDeque<(u64, Observation)>,
    console: &mut dyn Write,
    progress: Option<&AtomicU64>,
) -> Result<Option<Divergence>, SessionError> {
    if !settle && m.now() >= tick {
        return Ok(None);
    }
    loop {
        // In slices, so a progress bar moves during long stretches without records.
        let stop = m.run_until(tick.min(m.now().saturating_add(SLICE)));
        if let Some(p) = progress {
            p.store(m.now(), Ordering::Relaxed);
        }
        produced.extend(m.take_observations());
        let text = m
            .firmware_mut()
            .map(Firmware::take_console)
            .unwrap_or_default();
        write_console(console, &text)?;
        if stop != Stop::Deadline && m.now() < tick {
            return Ok(Some(divergence(
                m,
                m.now(),
                format!("the machine running to tick {tick}"),
                format!("it stopped: {}", end_text(Some(stop), m.now(), u64::MAX)),
                None,
                Mismatch::End,
            )));
        }
        if m.now() >= tick {
            break;
        }
    }
    Ok(None)
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
