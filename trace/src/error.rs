//! Errors of reading and writing traces: every one names the part of the file and a byte
//! offset (DESIGN.md sections 5 and 9).

use std::fmt;
use thiserror::Error;

use crate::{FORMAT_VERSION, MAGIC, OLDEST_READABLE_VERSION};

/// A part of a trace file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The magic, the version and the header.
    Header,
    /// A record frame, numbered from 0 (the first frame after the header).
    Frame(u64),
    /// The footer.
    Footer,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Header => write!(f, "the header"),
            Part::Frame(n) => write!(f, "frame {n}"),
            Part::Footer => write!(f, "the footer"),
        }
    }
}

/// Why a trace cannot be read or written. Offsets are bytes from the start of the file.
#[derive(Debug, Error)]
pub enum TraceError {
    /// The input or output failed.
    #[error("I/O error at byte offset {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: std::io::Error,
    },

    /// The file does not start with [`MAGIC`] (`found` is what it starts with, up to 8
    /// bytes).
    #[error(
        "not a vexed trace: the file starts with {} instead of the magic \"VEXEDTRC\" at byte offset 0",
        show_bytes(found)
    )]
    BadMagic { found: Vec<u8> },

    /// The format version (at byte offset 8) is one this build cannot read.
    #[error("{}", version_message(*found, *supported))]
    UnsupportedVersion { found: u32, supported: u32 },

    /// A part's CRC32 does not match its bytes. `offset` is where the part starts.
    #[error(
        "{part} at byte offset {offset} is damaged: its CRC32 is {computed:08x} but {stored:08x} is stored"
    )]
    Crc {
        part: Part,
        offset: u64,
        stored: u32,
        computed: u32,
    },

    /// A length field exceeds the format's limit. `offset` is where the field is.
    #[error(
        "{part}: the length field at byte offset {offset} says {len} bytes, more than the limit of {limit}"
    )]
    LengthTooLarge {
        part: Part,
        offset: u64,
        len: u64,
        limit: u64,
    },

    /// The bytes of a part passed their CRC but are not what the format allows (or were
    /// written by a newer vexed that added a record kind). `offset` is where the part
    /// starts.
    #[error("{part} at byte offset {offset} cannot be decoded: {message}")]
    Decode {
        part: Part,
        offset: u64,
        message: String,
    },

    /// The file ends inside a part: it starts at `start`, needs `needed` bytes, and the file
    /// ends at `offset`. Records of complete frames before it have been delivered, and
    /// [`crate::TraceReader::truncated_after`] says up to which tick.
    #[error(
        "the file ends at byte offset {offset}, inside {part} which starts at byte offset {start} and needs {needed} bytes{}",
        after_tick_text(*after_tick)
    )]
    Truncated {
        part: Part,
        start: u64,
        offset: u64,
        needed: u64,
        /// The last tick of the complete frames before (None inside the header).
        after_tick: Option<u64>,
    },

    /// A record's tick is before the previous record's tick (reading: the first record of
    /// a frame starts before the end of the previous frame; writing: a pushed record or the
    /// final tick goes backwards). `offset` is where the frame starts (or, when writing,
    /// will start).
    #[error("{part} at byte offset {offset}: tick {tick} comes after tick {previous}")]
    TicksBackwards {
        part: Part,
        offset: u64,
        tick: u64,
        previous: u64,
    },

    /// The footer (at `offset`) passed its CRC but disagrees with the records read.
    #[error("the footer at byte offset {offset} does not match the trace: {message}")]
    FooterMismatch { offset: u64, message: String },

    /// Bytes follow the footer, which must end the file at `offset`.
    #[error("the file goes on after the footer: it should end at byte offset {offset}")]
    TrailingData { offset: u64 },

    /// The writer was asked to write a part larger than the format allows.
    #[error(
        "cannot write {part} at byte offset {offset}: {what} takes {len} bytes, more than the format's limit of {limit}"
    )]
    TooLarge {
        part: Part,
        offset: u64,
        what: &'static str,
        len: u64,
        limit: u64,
    },

    /// The writer cannot encode or compress a part, or was given an invalid header.
    #[error("cannot write {part} at byte offset {offset}: {message}")]
    Encode {
        part: Part,
        offset: u64,
        message: String,
    },

    /// An earlier write failed; the output is in an unknown state after `offset`.
    #[error("the trace writer already failed at byte offset {offset} and cannot go on")]
    WriterFailed { offset: u64 },

    /// An earlier read failed at `offset`; the reader does not go past an error.
    #[error("the trace reader already failed at byte offset {offset} and cannot go on")]
    ReaderFailed { offset: u64 },

    /// [`crate::Trace::open`] was given something that is not a regular file (`what`
    /// names it: a directory, a FIFO, a device such as `/dev/zero`).
    #[error("the trace is {what}, not a regular file: a trace is read from a file")]
    NotAFile { what: &'static str },

    /// The file is larger than [`crate::limits::MAX_TRACE_SIZE`] (refused before reading).
    #[error("the trace file has {len} bytes, more than the limit of {limit}")]
    FileTooLarge { len: u64, limit: u64 },

    /// A value in a part passed its CRC and decoded but is beyond one of the format's
    /// limits ([`crate::limits`]); `offset` is where the part starts.
    #[error("{part} at byte offset {offset} is beyond the format's limits: {message}")]
    Limit {
        part: Part,
        offset: u64,
        message: String,
    },

    /// Records that decode on their own break a rule between records (a snapshot followed
    /// by its checkpoint, ticks within the header's `max_ticks`, ...). `offset` is where
    /// the part starts.
    #[error("{part} at byte offset {offset} breaks the structure of a trace: {message}")]
    Structure {
        part: Part,
        offset: u64,
        message: String,
    },

    /// [`crate::Trace::snapshot`] was asked for a snapshot the trace does not have.
    #[error("the trace has {count} snapshots: there is no snapshot {index}")]
    NoSuchSnapshot { index: u64, count: u64 },

    /// Writing text (a dump or info) to the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

impl TraceError {
    /// The byte offset the error names, if any.
    pub fn offset(&self) -> Option<u64> {
        match self {
            TraceError::Io { offset, .. }
            | TraceError::Crc { offset, .. }
            | TraceError::LengthTooLarge { offset, .. }
            | TraceError::Decode { offset, .. }
            | TraceError::Truncated { offset, .. }
            | TraceError::TicksBackwards { offset, .. }
            | TraceError::FooterMismatch { offset, .. }
            | TraceError::TrailingData { offset }
            | TraceError::TooLarge { offset, .. }
            | TraceError::Limit { offset, .. }
            | TraceError::Structure { offset, .. }
            | TraceError::Encode { offset, .. }
            | TraceError::WriterFailed { offset }
            | TraceError::ReaderFailed { offset } => Some(*offset),
            TraceError::BadMagic { .. } | TraceError::FileTooLarge { .. } => Some(0),
            TraceError::UnsupportedVersion { .. } => Some(8),
            TraceError::Output(_)
            | TraceError::NotAFile { .. }
            | TraceError::NoSuchSnapshot { .. } => None,
        }
    }

    /// The part of the file the error is in, if it names one.
    pub fn part(&self) -> Option<Part> {
        match self {
            TraceError::Crc { part, .. }
            | TraceError::LengthTooLarge { part, .. }
            | TraceError::Decode { part, .. }
            | TraceError::Truncated { part, .. }
            | TraceError::TicksBackwards { part, .. }
            | TraceError::TooLarge { part, .. }
            | TraceError::Limit { part, .. }
            | TraceError::Structure { part, .. }
            | TraceError::Encode { part, .. } => Some(*part),
            TraceError::BadMagic { .. } | TraceError::UnsupportedVersion { .. } => {
                Some(Part::Header)
            }
            TraceError::FooterMismatch { .. } | TraceError::TrailingData { .. } => {
                Some(Part::Footer)
            }
            _ => None,
        }
    }
}

/// An observation as its `Display` text, shortened for error messages: at most about
/// [`crate::limits::EXCERPT_BYTES`] bytes of guest data (a console text of a megabyte is
/// quoted by its first bytes and its length, never in full).
pub fn excerpt(o: &vexed_emu::observe::Observation) -> String {
    use vexed_emu::observe::Observation;
    let limit = crate::limits::EXCERPT_BYTES;
    if let Observation::Console { bytes } = o
        && bytes.len() > limit
    {
        let head = Observation::Console {
            bytes: bytes[..limit].to_vec(),
        }
        .to_string();
        // Drop the closing quote: the text goes on.
        let head = head.strip_suffix('"').unwrap_or(&head);
        return format!("{head}...\" ({} bytes)", bytes.len());
    }
    let text = o.to_string();
    if text.len() <= 2 * limit {
        return text;
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... ({} characters)", &text[..cut], text.len())
}

fn show_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing (the file is empty)".to_string();
    }
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    format!("{} (\"{text}\")", hex.join(" "))
}

fn after_tick_text(after: Option<u64>) -> String {
    match after {
        Some(t) => format!("; the complete frames before it end at tick {t}"),
        None => String::new(),
    }
}

pub(crate) fn version_message(found: u32, supported: u32) -> String {
    if found > supported {
        format!(
            "this trace has format version {found}, newer than this vexed can read (format version {supported}): read it with a newer vexed"
        )
    } else {
        format!(
            "this trace has format version {found}, which this vexed cannot read (it reads format versions {OLDEST_READABLE_VERSION} to {supported})"
        )
    }
}

// Keep the names used in the messages in sync with the constants.
const _: () = assert!(MAGIC.len() == 8 && FORMAT_VERSION >= OLDEST_READABLE_VERSION);
