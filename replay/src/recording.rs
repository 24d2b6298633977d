//! A trace, opened and checked once, as every verb reads it (DESIGN.md section 5).
//!
//! [`Recording::open`] and [`Recording::from_bytes`] read a whole trace through
//! `vexed_trace`'s reader (which checks every frame's CRC, the limits of the format, the
//! footer and its counts) and then check what only a machine can: every snapshot is rebuilt
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

use vexed_emu::machine::{Input, Machine};
use vexed_emu::observe::Observation;
use vexed_trace::{Footer, Header, Part, Record, TraceError, TraceReader};

use crate::session::SessionError;
use crate::snapshots::{SnapshotChain, SnapshotError};

/// The largest trace file vexed opens (the format's own limits bound each part; this bounds
/// the whole before anything is read).
pub const MAX_TRACE_FILE: u64 = 4 << 30;

/// Whether a trace holds its whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// The footer is there: the run's end, final tick and state hash.
    Complete(Footer),
    /// No footer: the recorder stopped (killed) after the frame ending at `after_tick`.
    Unfinished { after_tick: u64 },
}

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
    /// Every snapshot record, in order (each checked against its checkpoint).
    snapshots: Vec<Record>,
    pub completeness: Completeness,
    /// Bytes of the file.
    pub file_len: u64,
}

impl Recording {
    /// Reads and checks the trace file at `path`: a regular file of at most
    /// [`MAX_TRACE_FILE`] bytes.
    pub fn open(path: &Path) -> Result<Recording, SessionError> {
        Ok(Recording::open_with_bytes(path)?.0)
    }

    /// [`Recording::open`], also giving the file's bytes, for verbs that go on to read the
    /// records themselves (dump, info, timeline) once the whole trace has been checked.
    pub fn open_with_bytes(path: &Path) -> Result<(Recording, Vec<u8>), SessionError> {
        let bytes = read_trace_file(path)?;
        Ok((Recording::from_bytes(&bytes)?, bytes))
    }

    /// Reads and checks trace bytes. A frame cut off by the end of the bytes is truncation
    /// (an unfinished trace) only when there is no footer; otherwise a length field was
    /// damaged, and the error names the frame.
    pub fn from_bytes(bytes: &[u8]) -> Result<Recording, SessionError> {
        let may_be_truncated = !vexed_trace::ends_with_footer(bytes);
        let mut reader = TraceReader::new(bytes)?;
        let header = reader.header().clone();
        let (mut inputs, mut observations, mut checkpoints, mut snapshots) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut last_tick = 0u64;
        let mut chain = SnapshotChain::new();
        // The snapshot waiting for its checkpoint (the record right after it).
        let mut unchecked: Option<u64> = None;
        loop {
            let record = match reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                // Cut off inside a frame (a recorder killed mid-write): the complete frames
                // before it are the verifiable prefix. A footer is written whole at the end,
                // so one that claims more bytes than the file holds is damage, never an
                // unfinished trace.
                Err(TraceError::Truncated { part, .. })
                    if may_be_truncated && part != Part::Footer =>
                {
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            let tick = record.tick();
            if tick > header.max_ticks {
                return Err(SessionError::Damaged(format!(
                    "a {} record at tick {tick} lies beyond the trace's tick limit {}",
                    record.kind(),
                    header.max_ticks
                )));
            }
            last_tick = last_tick.max(tick);
            if let Some(t) = unchecked.take() {
                match &record {
                    Record::Checkpoint { tick, hash } if *tick == t => {
                        let actual = chain
                            .machine()?
                            .map(|(_, m)| m.state_hash())
                            .transpose()?
                            .unwrap_or_default();
                        if actual != *hash {
                            return Err(SnapshotError::HashMismatch {
                                tick: t,
                                recorded: *hash,
                                actual,
                            }
                            .into());
                        }
                    }
                    _ => return Err(SnapshotError::Unchecked { tick: t }.into()),
                }
            }
            match record {
                Record::Input { tick, input } => inputs.push((tick, input)),
                Record::Observation { tick, observation } => observations.push((tick, observation)),
                Record::Checkpoint { tick, hash } => checkpoints.push((tick, hash)),
                snapshot => {
                    chain.push(snapshot.clone())?;
                    unchecked = Some(tick);
                    snapshots.push(snapshot);
                }
            }
        }
        if let Some(t) = unchecked {
            // The last record was a snapshot: in an unfinished trace its checkpoint may be
            // in the frame that was never written; such a snapshot is not used.
            if reader.footer().is_some() {
                return Err(SnapshotError::Unchecked { tick: t }.into());
            }
            snapshots.pop();
        }
        let completeness = match reader.footer() {
            Some(f) => {
                if last_tick > f.final_tick {
                    return Err(SessionError::Damaged(format!(
                        "a record at tick {last_tick} lies after the run's final tick {}",
                        f.final_tick
                    )));
                }
                Completeness::Complete(f.clone())
            }
            None => Completeness::Unfinished {
                after_tick: reader.truncated_after().unwrap_or(last_tick).max(last_tick),
            },
        };
        Ok(Recording {
            header,
            inputs: inputs.into(),
            observations,
            checkpoints,
            snapshots,
            completeness,
            file_len: bytes.len() as u64,
        })
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
        match &self.completeness {
            Completeness::Complete(f) => Some(f),
            Completeness::Unfinished { .. } => None,
        }
    }

    /// The ticks of the snapshots, in order.
    pub fn snapshot_ticks(&self) -> impl Iterator<Item = u64> + '_ {
        self.snapshots.iter().map(Record::tick)
    }

    /// The machine at the `i`-th snapshot (the chain of paged snapshots from the first).
    fn machine_at_snapshot(&self, i: usize) -> Result<Option<(u64, Machine)>, SessionError> {
        let mut chain = SnapshotChain::new();
        for s in self.snapshots.iter().take(i + 1) {
            chain.push(s.clone())?;
        }
        Ok(chain.into_machine()?)
    }

    /// The machine at the last snapshot at or before `tick`, with its tick.
    pub fn snapshot_at_or_before(&self, tick: u64) -> Result<Option<(u64, Machine)>, SessionError> {
        match self.snapshots.iter().rposition(|s| s.tick() <= tick) {
            Some(i) => self.machine_at_snapshot(i),
            None => Ok(None),
        }
    }

    /// The machine at the first snapshot at or after `tick`, with its tick.
    pub fn snapshot_at_or_after(&self, tick: u64) -> Result<Option<(u64, Machine)>, SessionError> {
        match self.snapshots.iter().position(|s| s.tick() >= tick) {
            Some(i) => self.machine_at_snapshot(i),
            None => Ok(None),
        }
    }

    /// The machine at the snapshot taken exactly at `tick`, if there is one.
    pub fn snapshot_at(&self, tick: u64) -> Result<Option<Machine>, SessionError> {
        match self.snapshots.iter().position(|s| s.tick() == tick) {
            Some(i) => Ok(self.machine_at_snapshot(i)?.map(|(_, m)| m)),
            None => Ok(None),
        }
    }
}

/// The bytes of the trace file at `path`: refuses what is not a regular file (a FIFO,
/// a device such as /dev/zero, a directory) and files larger than [`MAX_TRACE_FILE`],
/// before reading anything.
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
