//! The one validating reader: a whole trace file opened and checked once, with the limits
//! and structural rules of `trace/FORMAT.md` ("What the reader checks", "Limits",
//! "Unfinished traces"), then served from memory to every verb (DESIGN.md section 5).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Part, TraceError};
use crate::limits::{MAX_STORE_EXTRA, MAX_TRACE_SIZE};
use crate::reader::{ReadStats, TraceReader};
use crate::record::Record;
use crate::upgrade::{self, Layout};
use crate::{Counts, FOOTER_PREFIX_LEN, FOOTER_TAG, FRAME_PREFIX_LEN, Footer, Header, frame};

/// Whether a trace has its footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// The recorder finished: the footer, checked against the records.
    Complete(Footer),
    /// No footer: the recorder stopped before finishing (killed, crashed, out of disk
    /// space). The file ends at the end of a frame (or of the header), or inside its last
    /// frame, whose bytes are then ignored. `after_tick` is the tick of the last record of
    /// the complete frames (0 without any).
    Unfinished { after_tick: u64 },
}

impl Completeness {
    /// The footer of a complete trace.
    pub fn footer(&self) -> Option<&Footer> {
        match self {
            Completeness::Complete(f) => Some(f),
            Completeness::Unfinished { .. } => None,
        }
    }

    /// Whether the trace has its footer.
    pub fn is_complete(&self) -> bool {
        matches!(self, Completeness::Complete(_))
    }
}

/// Where a record frame is in the file and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameEntry {
    /// Byte offset of the frame's length field.
    pub offset: u64,
    /// Bytes of the frame with its prefix.
    pub len: u64,
    /// Records in the frame.
    pub records: u64,
    /// Tick of its first and last record.
    pub first_tick: u64,
    pub last_tick: u64,
    /// Whether it holds a snapshot (then it holds nothing else).
    pub snapshot: bool,
}

/// A snapshot of the trace, decoded on demand with [`Trace::snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// The snapshot's tick (its checkpoint follows it at the same tick).
    pub tick: u64,
    /// Its frame (index into [`Trace::frames`]).
    pub frame: usize,
    /// Byte offset of its frame.
    pub offset: u64,
    /// `Some(store_len)` for a paged snapshot, None for a whole one.
    pub store_len: Option<u64>,
    /// How many records of [`Trace::records`] come before it: its checkpoint is
    /// `records()[records_before]`.
    pub records_before: usize,
}

/// A whole trace file, validated once (see FORMAT.md, "What the reader checks"): its
/// header, every record other than snapshots (in memory, in order), an index of its frames
/// and snapshots (a snapshot is decoded again from the file's bytes when asked for, so a
/// long trace does not hold every snapshot), and whether it is complete.
pub struct Trace {
    bytes: Vec<u8>,
    layout: Layout,
    version: u32,
    header: Header,
    records: Vec<Record>,
    frames: Vec<FrameEntry>,
    snapshots: Vec<SnapshotEntry>,
    completeness: Completeness,
    counts: Counts,
    last_tick: u64,
    stats: ReadStats,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("version", &self.version)
            .field("name", &self.header.name)
            .field("file_size", &self.bytes.len())
            .field("records", &self.records.len())
            .field("frames", &self.frames.len())
            .field("snapshots", &self.snapshots.len())
            .field("completeness", &self.completeness)
            .finish()
    }
}

impl Trace {
    /// Reads and validates the trace file at `path`. Refuses, before reading anything,
    /// what is not a regular file (a directory, a FIFO, a device such as `/dev/zero`) and
    /// a file larger than [`MAX_TRACE_SIZE`].
    pub fn open(path: impl AsRef<Path>) -> Result<Trace, TraceError> {
        let path = path.as_ref();
        let io = |source| TraceError::Io { offset: 0, source };
        // Not opened yet: opening a FIFO would wait for a writer.
        let meta = std::fs::metadata(path).map_err(io)?;
        check_file_type(&meta)?;
        let file = File::open(path).map_err(io)?;
        // The file that was opened (it could have been replaced in between).
        let meta = file.metadata().map_err(io)?;
        check_file_type(&meta)?;
        let len = meta.len();
        if len > MAX_TRACE_SIZE {
            return Err(TraceError::FileTooLarge {
                len,
                limit: MAX_TRACE_SIZE,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let read = file
            .take(MAX_TRACE_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| TraceError::Io {
                offset: bytes.len() as u64,
                source,
            })?;
        if read as u64 > MAX_TRACE_SIZE {
            return Err(TraceError::FileTooLarge {
                len: read as u64,
                limit: MAX_TRACE_SIZE,
            });
        }
        Trace::from_bytes(bytes)
    }

    /// Validates a whole trace held in memory (see the type's docs).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Trace, TraceError> {
        let file_len = bytes.len() as u64;
        if file_len > MAX_TRACE_SIZE {
            return Err(TraceError::FileTooLarge {
                len: file_len,
                limit: MAX_TRACE_SIZE,
            });
        }
        let mut reader = TraceReader::with_file_len(&bytes[..], Some(file_len))?;
        let header = reader.header().clone();
        let layout = upgrade::layout(reader.version())?;
        let mut v = Validator::new(&header);
        let completeness = loop {
            match reader.next_frame() {
                Ok(Some(frame)) => v.frame(frame)?,
                Ok(None) => match reader.footer() {
                    Some(f) => break Completeness::Complete(f.clone()),
                    None => {
                        break Completeness::Unfinished {
                            after_tick: v.last_tick,
                        };
                    }
                },
                Err(e) => {
                    if let TraceError::Truncated {
                        part: Part::Frame(_),
                        start,
                        ..
                    } = e
                        && !crate::reader::ends_with_footer(&bytes)
                        && !is_footer_with_damaged_tag(&bytes, start)
                    {
                        // The recorder was killed while writing its last frame.
                        break Completeness::Unfinished {
                            after_tick: v.last_tick,
                        };
                    }
                    return Err(e);
                }
            }
        };
        v.end(&completeness, reader.stats().bytes)?;
        let stats = reader.stats().clone();
        let counts = reader.counts().clone();
        drop(reader);
        Ok(Trace {
            layout,
            version: layout_version(layout),
            header,
            records: v.records,
            frames: v.frames,
            snapshots: v.snapshots,
            completeness,
            counts,
            last_tick: v.last_tick,
            stats,
            bytes,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file's format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Which state hash the file's checkpoints and footer hold (its version says).
    pub fn hash_scheme(&self) -> vexed_emu::machine::HashScheme {
        self.layout.hash_scheme()
    }

    /// What the file's first delta snapshot is coded against (its version says).
    pub fn snapshot_base(&self) -> crate::SnapshotBase {
        self.layout.snapshot_base()
    }

    /// Every record that is not a snapshot, in order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The snapshots, in order.
    pub fn snapshots(&self) -> &[SnapshotEntry] {
        &self.snapshots
    }

    /// Snapshot `i` of [`Trace::snapshots`], decoded (a `Record::Snapshot` or
    /// `Record::PagedSnapshot`).
    pub fn snapshot(&self, i: usize) -> Result<Record, TraceError> {
        let Some(entry) = self.snapshots.get(i) else {
            return Err(TraceError::NoSuchSnapshot {
                index: i as u64,
                count: self.snapshots.len() as u64,
            });
        };
        let frame = self
            .frames
            .get(entry.frame)
            .ok_or(TraceError::NoSuchSnapshot {
                index: i as u64,
                count: self.snapshots.len() as u64,
            })?;
        let part = Part::Frame(entry.frame as u64);
        let start = usize::try_from(frame.offset + FRAME_PREFIX_LEN).unwrap_or(usize::MAX);
        let end = usize::try_from(frame.offset + frame.len).unwrap_or(usize::MAX);
        let payload = self.bytes.get(start..end).ok_or(TraceError::ReaderFailed {
            offset: frame.offset,
        })?;
        let (records, _) = crate::reader::decode_frame(self.layout, payload, part, frame.offset)?;
        records
            .into_iter()
            .find(Record::is_snapshot)
            .ok_or_else(|| TraceError::Decode {
                part,
                offset: frame.offset,
                message: "the snapshot's frame holds no snapshot".into(),
            })
    }

    /// Whether the trace is complete, with its footer.
    pub fn completeness(&self) -> &Completeness {
        &self.completeness
    }

    /// The footer of a complete trace.
    pub fn footer(&self) -> Option<&Footer> {
        self.completeness.footer()
    }

    /// `Some(after_tick)` for an unfinished trace.
    pub fn unfinished_after(&self) -> Option<u64> {
        match self.completeness {
            Completeness::Unfinished { after_tick } => Some(after_tick),
            Completeness::Complete(_) => None,
        }
    }

    /// What the frames hold (equal to the footer's counts when complete).
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The record frames.
    pub fn frames(&self) -> &[FrameEntry] {
        &self.frames
    }

    /// How many record frames the file holds (complete ones).
    pub fn frame_count(&self) -> u64 {
        self.frames.len() as u64
    }

    /// The file's size in bytes.
    pub fn file_size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The tick of the last record (0 without records).
    pub fn last_tick(&self) -> u64 {
        self.last_tick
    }

    /// Where the bytes went (what [`crate::info`] reports).
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn layout_version(layout: Layout) -> u32 {
    match layout {
        Layout::V1 => 1,
        Layout::V2 => 2,
        Layout::V3 => 3,
        Layout::V4 => 4,
        Layout::V5 => 5,
        Layout::V6 => 6,
        Layout::V7 => 7,
        Layout::V8 => 8,
    }
}

/// Refuses what is not a regular file, naming what it is.
fn check_file_type(meta: &std::fs::Metadata) -> Result<(), TraceError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let what = if t.is_dir() {
        "a directory"
    } else {
        special_kind(&t)
    };
    Err(TraceError::NotAFile { what })
}

#[cfg(unix)]
fn special_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

/// Whether the bytes from `start` to the end are a footer whose tag was damaged: a length
/// that covers exactly the rest of the file and a CRC that matches with the footer's tag.
fn is_footer_with_damaged_tag(bytes: &[u8], start: u64) -> bool {
    let Ok(start) = usize::try_from(start) else {
        return false;
    };
    let Some(b) = bytes.get(start..) else {
        return false;
    };
    if (b.len() as u64) < FOOTER_PREFIX_LEN {
        return false;
    }
    let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    u64::from(len) + FOOTER_PREFIX_LEN == b.len() as u64
        && u32::from_le_bytes([b[8], b[9], b[10], b[11]])
            == frame::crc(&[&FOOTER_TAG.to_le_bytes(), &b[4..8], &b[12..]])
}

/// The structural checks across records and frames.
struct Validator {
    max_ticks: u64,
    ram: u64,
    records: Vec<Record>,
    frames: Vec<FrameEntry>,
    snapshots: Vec<SnapshotEntry>,
    last_tick: u64,
    /// A snapshot whose checkpoint has not been seen yet (its index in `snapshots`).
    awaiting_checkpoint: Option<usize>,
}

impl Validator {
    fn new(header: &Header) -> Validator {
        Validator {
            max_ticks: header.max_ticks,
            ram: u64::from(header.machine.ram),
            records: Vec::new(),
            frames: Vec::new(),
            snapshots: Vec::new(),
            last_tick: 0,
            awaiting_checkpoint: None,
        }
    }

    fn frame(&mut self, frame: crate::reader::FrameRead) -> Result<(), TraceError> {
        let index = self.frames.len();
        let part = Part::Frame(index as u64);
        let offset = frame.offset;
        let err = |message: String| TraceError::Structure {
            part,
            offset,
            message,
        };
        let count = frame.records.len();
        let mut entry = FrameEntry {
            offset,
            len: frame.len,
            records: count as u64,
            first_tick: frame.records.first().map_or(0, Record::tick),
            last_tick: frame.records.last().map_or(0, Record::tick),
            snapshot: false,
        };
        for (i, record) in frame.records.into_iter().enumerate() {
            let tick = record.tick();
            if tick > self.max_ticks {
                return Err(err(format!(
                    "record {i} of {count} ({}) is at tick {tick}, past the header's max_ticks {}",
                    record.kind(),
                    self.max_ticks
                )));
            }
            if let Some(s) = self.awaiting_checkpoint.take() {
                let snap_tick = self.snapshots.get(s).map_or(0, |e| e.tick);
                if !matches!(record, Record::Checkpoint { tick: t, .. } if t == snap_tick) {
                    return Err(err(format!(
                        "record {i} of {count} is {} at tick {tick}, but the snapshot at tick {snap_tick} must be followed by its checkpoint at the same tick",
                        record.kind()
                    )));
                }
            }
            match record {
                Record::Snapshot { .. } | Record::PagedSnapshot { .. } => {
                    if i != 0 {
                        return Err(err(format!(
                            "a snapshot is record {i} of {count} of its frame (a snapshot starts a frame)"
                        )));
                    }
                    let store_len = match &record {
                        Record::PagedSnapshot { store_len, .. } => {
                            self.check_store(*store_len).map_err(&err)?;
                            Some(*store_len)
                        }
                        _ => None,
                    };
                    entry.snapshot = true;
                    self.awaiting_checkpoint = Some(self.snapshots.len());
                    self.snapshots.push(SnapshotEntry {
                        tick,
                        frame: index,
                        offset,
                        store_len,
                        records_before: self.records.len(),
                    });
                }
                other => self.records.push(other),
            }
            self.last_tick = tick;
        }
        self.frames.push(entry);
        Ok(())
    }

    /// A paged snapshot's store: RAM first, then at most the firmware's extra pages.
    fn check_store(&self, store_len: u64) -> Result<(), String> {
        let max = self.ram + MAX_STORE_EXTRA;
        if store_len < self.ram || store_len > max {
            return Err(format!(
                "a paged snapshot's store of {store_len} bytes does not fit the header's machine: it must hold the {} bytes of RAM and at most {MAX_STORE_EXTRA} bytes more ({max} bytes)",
                self.ram
            ));
        }
        Ok(())
    }

    fn end(&mut self, completeness: &Completeness, end_offset: u64) -> Result<(), TraceError> {
        match completeness {
            Completeness::Complete(footer) => {
                if let Some(s) = self.awaiting_checkpoint {
                    let tick = self.snapshots.get(s).map_or(0, |e| e.tick);
                    return Err(TraceError::Structure {
                        part: Part::Footer,
                        offset: end_offset,
                        message: format!(
                            "the last record is the snapshot at tick {tick}, without its checkpoint"
                        ),
                    });
                }
                if footer.final_tick > self.max_ticks {
                    return Err(TraceError::FooterMismatch {
                        offset: end_offset,
                        message: format!(
                            "its final tick {} is past the header's max_ticks {}",
                            footer.final_tick, self.max_ticks
                        ),
                    });
                }
            }
            Completeness::Unfinished { .. } => {
                // The recorder was killed between a snapshot and its checkpoint: without
                // its checkpoint the snapshot cannot be checked, so it is not offered.
                if self.awaiting_checkpoint.take().is_some() {
                    self.snapshots.pop();
                }
            }
        }
        Ok(())
    }
}
