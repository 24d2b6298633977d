//! A trace, opened and checked once, as every verb reads it (DESIGN.md section 5).
//!
//! [`Recording::open`] and [`Recording::from_bytes`] read a whole trace through
//! `vexed_trace::Trace`, the format's one validating reader (every frame's CRC, the limits
//! of the format, tick order, every tick within the run, the footer and its counts), and
//! then check what only a machine can: every snapshot is rebuilt
//! and its state hash compared with the checkpoint recorded at its tick. A snapshot that
//! fails is damage: no verb uses it, and every verb refuses the trace with the same error
//! (exit 2). What remains is in memory: the inputs (shared with cursors), the observations,
//! the checkpoints, the snapshot records, and whether the trace is complete (it has its
//! footer) or unfinished (its recorder stopped between two frames: the prefix is
//! verifiable, the verdict is not "identical").
//!
//! Every record's tick lies within the run: at most the footer's final tick (or, unfinished,
//! the last record's) and the header's tick limit, so a run toward any recorded tick is
//! bounded.

use std::path::Path;
use std::sync::Arc;

use vexed_emu::machine::{HashScheme, Input, Machine};
use vexed_emu::observe::Observation;
use vexed_trace::{Footer, Header, Record, SnapshotBase, Trace};

use crate::session::{SessionError, machine_from_header};
use crate::snapshots::{BaseImage, SnapshotChain, SnapshotError};

/// The largest trace file vexed opens (the format's limit, `vexed_trace::limits`).
pub const MAX_TRACE_FILE: u64 = vexed_trace::limits::MAX_TRACE_SIZE;

pub use vexed_trace::Completeness;

/// A checked trace in memory.
#[derive(Clone, Debug)]
pub struct Recording {
    pub header: Header,
    /// Every input with its tick, in order.
    pub inputs: Arc<[(u64, Input)]>,
    /// Every observation with its tick, in order.
    pub observations: Vec<(u64, Observation)>,
    /// Every checkpoint: (tick, state hash), in order.
    pub checkpoints: Vec<(u64, u64)>,
    /// Which state hash the checkpoints and the footer hold (the format version says:
    /// `Machine::whole_state_hash` up to version 5, `Machine::state_hash` from 6).
    pub hash_scheme: HashScheme,
    /// The trace, for its snapshots (decoded when used; each was checked against its
    /// checkpoint when the trace was opened).
    trace: Arc<Trace>,
    /// How the trace's snapshots are rebuilt with this build.
    snapshots: Snapshots,
    /// The machine the header builds, at tick 0, when opening the trace built it (to
    /// rebuild a version 8 trace's snapshots): every verb that runs from tick 0 starts
    /// from a copy instead of building it again ([`Recording::machine_at_tick_0`]).
    tick_0: Option<Arc<Machine>>,
    pub completeness: Completeness,
    /// Bytes of the file.
    pub file_len: u64,
}

impl Recording {
    /// Reads and checks the trace file at `path`: a regular file of at most
    /// [`MAX_TRACE_FILE`] bytes.
    pub fn open(path: &Path) -> Result<Recording, SessionError> {
        Recording::from_trace(Trace::open(path)?)
    }

    /// [`Recording::open`], also giving the file's bytes, for verbs that go on to read the
    /// records themselves (dump, info, timeline) once the whole trace has been checked.
    pub fn open_with_bytes(path: &Path) -> Result<(Recording, Vec<u8>), SessionError> {
        let rec = Recording::open(path)?;
        let bytes = rec.trace.bytes().to_vec();
        Ok((rec, bytes))
    }

    /// Reads and checks trace bytes (see `vexed_trace::Trace` for what the format's reader
    /// checks: CRCs, limits, tick order, the footer, a cut file being an unfinished trace
    /// only where a recorder can leave one).
    pub fn from_bytes(bytes: &[u8]) -> Result<Recording, SessionError> {
        Recording::from_trace(Trace::from_bytes(bytes.to_vec())?)
    }

    fn from_trace(trace: Trace) -> Result<Recording, SessionError> {
        let (mut inputs, mut observations, mut checkpoints) = (Vec::new(), Vec::new(), Vec::new());
        for r in trace.records() {
            match r {
                Record::Input { tick, input } => inputs.push((*tick, *input)),
                Record::Observation { tick, observation } => {
                    observations.push((*tick, observation.clone()))
                }
                Record::Checkpoint { tick, hash } => checkpoints.push((*tick, *hash)),
                _ => {}
            }
        }
        let (snapshots, tick_0) = Snapshots::of(&trace)?;
        let tick_0 = match &snapshots {
            Snapshots::Usable(Some(base)) => Some(Arc::clone(base.machine())),
            _ => tick_0.map(Arc::new),
        };
        // Every snapshot rebuilds the machine its checkpoint recorded, or the trace is
        // damaged: checked here, once, before any verb uses one.
        let mut chain = match &snapshots {
            Snapshots::Unusable => SnapshotChain::new(),
            Snapshots::Usable(base) => Snapshots::chain(base),
        };
        let usable = matches!(snapshots, Snapshots::Usable(_));
        for (i, entry) in trace.snapshots().iter().enumerate().filter(|_| usable) {
            chain.push(trace.snapshot(i)?)?;
            let recorded = match trace.records().get(entry.records_before) {
                Some(Record::Checkpoint { tick, hash }) if *tick == entry.tick => *hash,
                _ => return Err(SnapshotError::Unchecked { tick: entry.tick }.into()),
            };
            let actual = match chain.state_hash(trace.hash_scheme())? {
                Some(hash) => hash,
                None => return Err(SnapshotError::Unchecked { tick: entry.tick }.into()),
            };
            if actual != recorded {
                return Err(SnapshotError::HashMismatch {
                    tick: entry.tick,
                    recorded,
                    actual,
                }
                .into());
            }
        }
        Ok(Recording {
            header: trace.header().clone(),
            inputs: inputs.into(),
            observations,
            checkpoints,
            hash_scheme: trace.hash_scheme(),
            completeness: trace.completeness().clone(),
            file_len: trace.file_size(),
            trace: Arc::new(trace),
            snapshots,
            tick_0,
        })
    }

    /// The machine the trace's header builds, at tick 0, before it runs: what a replay or
    /// a seek without a snapshot starts from.
    pub fn machine_at_tick_0(&self) -> Result<Machine, SessionError> {
        match &self.tick_0 {
            Some(m) => Ok(Machine::clone(m)),
            None => machine_from_header(&self.header),
        }
    }

    /// Whether the trace's snapshots can be used with this build: `false` when they were
    /// coded against a machine at tick 0 that this build does not build (another build of
    /// vexed recorded the trace: its checkpoint at tick 0 says so). Without them, every verb
    /// runs from tick 0 instead of from a snapshot, and a replay diverges at tick 0.
    pub fn snapshots_usable(&self) -> bool {
        matches!(self.snapshots, Snapshots::Usable(_))
    }

    /// Why the trace's snapshots are not used, when they are not (one sentence for the
    /// verbs' reports).
    pub fn unusable_snapshots_reason(&self) -> Option<&'static str> {
        match self.snapshots {
            Snapshots::Usable(_) => None,
            Snapshots::Unusable => Some(
                "its snapshots are coded against the machine its recorder built at tick 0, which this build does not build (the checkpoint at tick 0 differs), so they are not used",
            ),
        }
    }

    /// The last tick of the recorded run: the footer's final tick, or for an unfinished
    /// trace the tick after which it was cut.
    pub fn end_tick(&self) -> u64 {
        match &self.completeness {
            Completeness::Complete(f) => f.final_tick,
            Completeness::Unfinished { after_tick } => *after_tick,
        }
    }

    pub fn footer(&self) -> Option<&Footer> {
        self.completeness.footer()
    }

    /// The ticks of the snapshots, in order.
    pub fn snapshot_ticks(&self) -> impl Iterator<Item = u64> + '_ {
        self.usable_snapshots().iter().map(|s| s.tick)
    }

    /// The snapshots this build can rebuild: all of them, or none (see
    /// [`Recording::snapshots_usable`]).
    fn usable_snapshots(&self) -> &[vexed_trace::SnapshotEntry] {
        match self.snapshots {
            Snapshots::Usable(_) => self.trace.snapshots(),
            Snapshots::Unusable => &[],
        }
    }

    /// The machine at the `i`-th snapshot (the chain of paged snapshots from the first).
    fn machine_at_snapshot(&self, i: usize) -> Result<Option<(u64, Machine)>, SessionError> {
        let Snapshots::Usable(base) = &self.snapshots else {
            return Ok(None);
        };
        let mut chain = Snapshots::chain(base);
        for j in 0..=i {
            chain.push(self.trace.snapshot(j)?)?;
        }
        Ok(chain.into_machine()?)
    }

    /// The machine at the last snapshot at or before `tick`, with its tick.
    pub fn snapshot_at_or_before(&self, tick: u64) -> Result<Option<(u64, Machine)>, SessionError> {
        match self.usable_snapshots().iter().rposition(|s| s.tick <= tick) {
            Some(i) => self.machine_at_snapshot(i),
            None => Ok(None),
        }
    }

    /// The machine at the first snapshot at or after `tick`, with its tick.
    pub fn snapshot_at_or_after(&self, tick: u64) -> Result<Option<(u64, Machine)>, SessionError> {
        match self.usable_snapshots().iter().position(|s| s.tick >= tick) {
            Some(i) => self.machine_at_snapshot(i),
            None => Ok(None),
        }
    }

    /// The machine at the snapshot taken exactly at `tick`, if there is one.
    pub fn snapshot_at(&self, tick: u64) -> Result<Option<Machine>, SessionError> {
        match self.usable_snapshots().iter().position(|s| s.tick == tick) {
            Some(i) => Ok(self.machine_at_snapshot(i)?.map(|(_, m)| m)),
            None => Ok(None),
        }
    }
}

/// Whether and from what a trace's snapshots are rebuilt (trace/FORMAT.md, "Paged
/// snapshots").
#[derive(Clone, Debug)]
enum Snapshots {
    /// From nothing (format versions 6 and 7, or a trace without snapshots), or from the
    /// machine the header builds at tick 0 (format version 8 on).
    Usable(Option<Arc<BaseImage>>),
    /// Coded against a machine at tick 0 that this build does not build: the trace's
    /// checkpoint at tick 0 differs from this build's machine's hash.
    Unusable,
}

impl Snapshots {
    /// How `trace`'s snapshots are rebuilt, and the machine at tick 0 when that needed it
    /// and the snapshots do not hold it (their [`BaseImage::machine`]).
    fn of(trace: &Trace) -> Result<(Snapshots, Option<Machine>), SessionError> {
        if trace.snapshot_base() == SnapshotBase::Nothing || trace.snapshots().is_empty() {
            return Ok((Snapshots::Usable(None), None));
        }
        let mut m = machine_from_header(trace.header())?;
        // The hash leaves the page hashes cached: the base image and the replay's own
        // checkpoint at tick 0 reuse them.
        let hash = m.checkpoint_hash_as(trace.hash_scheme())?;
        if let Some(Record::Checkpoint {
            tick: 0,
            hash: recorded,
        }) = trace.records().first()
            && hash != *recorded
        {
            return Ok((Snapshots::Unusable, Some(m)));
        }
        let base = BaseImage::new(m)?;
        Ok((Snapshots::Usable(Some(Arc::new(base))), None))
    }

    /// A chain that starts where the trace's first snapshot was coded from.
    fn chain(base: &Option<Arc<BaseImage>>) -> SnapshotChain {
        match base {
            Some(b) => SnapshotChain::from_base(b),
            None => SnapshotChain::new(),
        }
    }
}

/// The bytes of the trace file at `path`, read as `vexed_trace::Trace::open` reads them:
/// refuses what is not a regular file (a FIFO, a device such as /dev/zero, a directory)
/// and files larger than [`MAX_TRACE_FILE`], before reading anything.
pub fn read_trace_file(path: &Path) -> Result<Vec<u8>, SessionError> {
    use std::io::Read;
    let io = |e: std::io::Error| SessionError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(SessionError::File {
            path: path.display().to_string(),
            message: "not a regular file".into(),
        });
    }
    if meta.len() > MAX_TRACE_FILE {
        return Err(SessionError::File {
            path: path.display().to_string(),
            message: format!(
                "{} bytes, more than the {} bytes a trace may have",
                meta.len(),
                MAX_TRACE_FILE
            ),
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // Never more than the limit, even if the file grows while it is read.
    file.take(MAX_TRACE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TRACE_FILE {
        return Err(SessionError::File {
            path: path.display().to_string(),
            message: "it grew past the size limit while being read".into(),
        });
    }
    Ok(bytes)
}
