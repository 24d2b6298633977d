//! Reading a trace: the header at once, then frame by frame, then the footer.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

use crate::error::{Part, TraceError};
use crate::limits::{
    MAX_FOOTER_LEN, MAX_FRAME_LEN, MAX_FRAME_RAW, MAX_HEADER_LEN, MAX_HEADER_RAW, MAX_OBSERVATION,
    MAX_RECORDS_FRAME_RAW,
};
use crate::record::{RawRecord, Record};
use crate::upgrade::{self, Layout};
use crate::{
    Counts, FOOTER_PREFIX_LEN, FOOTER_TAG, FRAME_PREFIX_LEN, Footer, HEADER_PREFIX_LEN, Header,
    MAGIC, codec, frame,
};

/// Where the bytes of a trace went, for [`crate::info`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes read so far.
    pub bytes: u64,
    /// Magic, version, prefix and compressed header.
    pub header_bytes: u64,
    /// The header's decompressed payload.
    pub header_raw_bytes: u64,
    /// Frames read, with their prefixes.
    pub frame_bytes: u64,
    /// The frames' decompressed payloads.
    pub frame_raw_bytes: u64,
    /// The footer with its prefix.
    pub footer_bytes: u64,
}

/// Reads a trace from `input`, streaming one frame at a time (see the crate docs).
pub struct TraceReader<R: Read> {
    input: R,
    /// The file's size, when known: lengths past it are refused without reading.
    file_len: Option<u64>,
    layout: Layout,
    version: u32,
    header: Header,
    stats: ReadStats,
    /// Records of the current frame not yet delivered.
    queue: VecDeque<Record>,
    frames_read: u64,
    /// Records of all frames read so far.
    counts: Counts,
    /// Tick of the last record of the frames read.
    last_tick: u64,
    footer: Option<Footer>,
    truncated_after: Option<u64>,
    /// The end (footer or truncation) was reached.
    done: bool,
    /// An error happened at this offset: nothing more is read.
    failed: Option<u64>,
    /// Offset and length of the frame read last (for [`TraceReader::next_frame`]).
    frame_at: Option<(u64, u64)>,
}

impl TraceReader<BufReader<File>> {
    /// Opens a trace file (its size bounds every length field).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, TraceError> {
        let file = File::open(path).map_err(|source| TraceError::Io { offset: 0, source })?;
        let len = file
            .metadata()
            .map_err(|source| TraceError::Io { offset: 0, source })?
            .len();
        TraceReader::with_file_len(BufReader::new(file), Some(len))
    }
}

impl<R: Read> TraceReader<R> {
    /// Reads the magic, the version and the header.
    pub fn new(input: R) -> Result<Self, TraceError> {
        TraceReader::with_file_len(input, None)
    }

    /// [`TraceReader::new`] for an input of `file_len` bytes, if known.
    pub fn with_file_len(input: R, file_len: Option<u64>) -> Result<Self, TraceError> {
        let mut r = TraceReader {
            input,
            file_len,
            layout: Layout::CURRENT,
            version: 0,
            header: placeholder_header(),
            stats: ReadStats::default(),
            queue: VecDeque::new(),
            frames_read: 0,
            counts: Counts::default(),
            last_tick: 0,
            footer: None,
            truncated_after: None,
            done: false,
            failed: None,
            frame_at: None,
        };
        r.read_header()?;
        Ok(r)
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

    /// The next record, or `Ok(None)` at the footer or at a clean truncation (the file ends
    /// right after a complete frame). After an error, every call returns
    /// [`TraceError::ReaderFailed`].
    pub fn next_record(&mut self) -> Result<Option<Record>, TraceError> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Ok(Some(r));
            }
            if let Some(offset) = self.failed {
                return Err(TraceError::ReaderFailed { offset });
            }
            if self.done {
                return Ok(None);
            }
            if let Err(e) = self.read_part() {
                self.failed = Some(e.offset().unwrap_or(self.stats.bytes));
                return Err(e);
            }
        }
    }

    /// An iterator over the remaining records.
    pub fn records(&mut self) -> Records<'_, R> {
        Records { reader: self }
    }

    /// The footer, once the end has been reached (None for a truncated trace).
    pub fn footer(&self) -> Option<&Footer> {
        self.footer.as_ref()
    }

    /// `Some(last tick)` once the file has ended without a footer (the recorder stopped
    /// before finishing): "truncated after tick N", N being the tick of the last record of
    /// the complete frames (0 without any). Also set when the file ends inside a frame
    /// ([`TraceError::Truncated`]).
    pub fn truncated_after(&self) -> Option<u64> {
        self.truncated_after
    }

    /// Record frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// The records of the frames read so far (`frames` = [`TraceReader::frames_read`]).
    /// Records of the current frame count as soon as the frame is read, before they are
    /// delivered.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Sizes read so far.
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The next whole frame (its records not delivered by [`TraceReader::next_record`]),
    /// or `Ok(None)` at the footer or a clean end. Records of a frame already partly
    /// delivered are dropped.
    pub(crate) fn next_frame(&mut self) -> Result<Option<FrameRead>, TraceError> {
        self.queue.clear();
        if let Some(offset) = self.failed {
            return Err(TraceError::ReaderFailed { offset });
        }
        if self.done {
            return Ok(None);
        }
        self.frame_at = None;
        if let Err(e) = self.read_part() {
            self.failed = Some(e.offset().unwrap_or(self.stats.bytes));
            return Err(e);
        }
        match self.frame_at.take() {
            Some((offset, len)) => Ok(Some(FrameRead {
                offset,
                len,
                records: std::mem::take(&mut self.queue).into(),
            })),
            None => Ok(None),
        }
    }

    /// Whether the end (footer or truncation) has been reached and every record delivered.
    pub fn at_end(&self) -> bool {
        self.done && self.queue.is_empty()
    }

    /// Reads into `buf` until it is full or the input ends; returns the bytes read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, TraceError> {
        let mut got = 0;
        while got < buf.len() {
            match self.input.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(TraceError::Io {
                        offset: self.stats.bytes + got as u64,
                        source,
                    });
                }
            }
        }
        self.stats.bytes += got as u64;
        Ok(got)
    }

    /// Reads exactly `buf.len()` bytes of `part` (which starts at `start` and needs
    /// `needed` bytes in all).
    fn fill_exact(
        &mut self,
        buf: &mut [u8],
        part: Part,
        start: u64,
        needed: u64,
    ) -> Result<(), TraceError> {
        let got = self.fill(buf)?;
        if got < buf.len() {
            return Err(self.truncated(part, start, needed));
        }
        Ok(())
    }

    fn truncated(&mut self, part: Part, start: u64, needed: u64) -> TraceError {
        let after_tick = match part {
            Part::Header => None,
            _ => {
                self.truncated_after = Some(self.last_tick);
                Some(self.last_tick)
            }
        };
        TraceError::Truncated {
            part,
            start,
            offset: self.stats.bytes,
            needed,
            after_tick,
        }
    }

    /// Checks a length field at `field_offset` against `limit` and the rest of the file.
    fn check_len(
        &mut self,
        part: Part,
        start: u64,
        field_offset: u64,
        prefix: u64,
        len: u64,
        limit: u64,
    ) -> Result<(), TraceError> {
        if len > limit {
            return Err(TraceError::LengthTooLarge {
                part,
                offset: field_offset,
                len,
                limit,
            });
        }
        if let Some(file_len) = self.file_len
            && start + prefix + len > file_len
        {
            // Nothing to gain by reading: the part cannot be complete.
            let needed = prefix + len;
            return Err(TraceError::Truncated {
                part,
                start,
                offset: file_len,
                needed,
                after_tick: match part {
                    Part::Header => None,
                    _ => {
                        self.truncated_after = Some(self.last_tick);
                        Some(self.last_tick)
                    }
                },
            });
        }
        Ok(())
    }

    /// Reads `len` payload bytes, allocating only as much as the input really holds.
    fn read_payload(
        &mut self,
        len: u64,
        part: Part,
        start: u64,
        needed: u64,
    ) -> Result<Vec<u8>, TraceError> {
        let cap = usize::try_from(len.min(64 << 10)).unwrap_or(64 << 10);
        let mut payload = Vec::with_capacity(cap);
        let offset = self.stats.bytes;
        let got = (&mut self.input)
            .take(len)
            .read_to_end(&mut payload)
            .map_err(|source| TraceError::Io {
                offset: offset + payload.len() as u64,
                source,
            })?;
        self.stats.bytes += got as u64;
        if (got as u64) < len {
            return Err(self.truncated(part, start, needed));
        }
        Ok(payload)
    }

    fn read_header(&mut self) -> Result<(), TraceError> {
        let part = Part::Header;
        let mut magic = [0u8; 8];
        let got = self.fill(&mut magic)?;
        if magic[..got] != MAGIC[..got] {
            return Err(TraceError::BadMagic {
                found: magic[..got].to_vec(),
            });
        }
        if got < magic.len() {
            return Err(self.truncated(part, 0, HEADER_PREFIX_LEN));
        }
        let mut word = [0u8; 4];
        self.fill_exact(&mut word, part, 0, HEADER_PREFIX_LEN)?;
        let version = u32::from_le_bytes(word);
        self.layout = upgrade::layout(version)?;
        self.version = version;
        let mut len_bytes = [0u8; 4];
        self.fill_exact(&mut len_bytes, part, 0, HEADER_PREFIX_LEN)?;
        let len = u64::from(u32::from_le_bytes(len_bytes));
        self.check_len(part, 0, 12, HEADER_PREFIX_LEN, len, MAX_HEADER_LEN)?;
        let mut crc_bytes = [0u8; 4];
        self.fill_exact(&mut crc_bytes, part, 0, HEADER_PREFIX_LEN + len)?;
        let payload = self.read_payload(len, part, 0, HEADER_PREFIX_LEN + len)?;
        let computed = frame::crc(&[&MAGIC, &word, &len_bytes, &payload]);
        let stored = u32::from_le_bytes(crc_bytes);
        if computed != stored {
            return Err(TraceError::Crc {
                part,
                offset: 0,
                stored,
                computed,
            });
        }
        let decode_err = |message: String| TraceError::Decode {
            part,
            offset: 0,
            message,
        };
        let raw = frame::decompress(&payload, MAX_HEADER_RAW).map_err(decode_err)?;
        let header = upgrade::decode_header(self.layout, &raw).map_err(decode_err)?;
        crate::check_header_limits(&header).map_err(|message| TraceError::Limit {
            part,
            offset: 0,
            message,
        })?;
        if let Some(f) = header.files.iter().find(|f| !f.hash_matches()) {
            return Err(decode_err(format!(
                "guest file {:?} does not match its hash {:016x}",
                f.path, f.hash
            )));
        }
        self.header = header;
        self.stats.header_bytes = HEADER_PREFIX_LEN + len;
        self.stats.header_raw_bytes = raw.len() as u64;
        Ok(())
    }

    /// Reads the next frame into the queue, or the footer, or notices the end.
    fn read_part(&mut self) -> Result<(), TraceError> {
        let start = self.stats.bytes;
        let part = Part::Frame(self.frames_read);
        let mut len_bytes = [0u8; 4];
        let got = self.fill(&mut len_bytes)?;
        if got == 0 {
            // A clean end after a complete frame: the recorder stopped before finishing.
            self.done = true;
            self.truncated_after = Some(self.last_tick);
            return Ok(());
        }
        if got < 4 {
            return Err(self.truncated(part, start, FRAME_PREFIX_LEN));
        }
        let len = u32::from_le_bytes(len_bytes);
        if len == FOOTER_TAG {
            return self.read_footer(start);
        }
        if len_bytes == MAGIC[..4] {
            return Err(TraceError::Decode {
                part,
                offset: start,
                message: "another trace starts here (the magic \"VEXEDTRC\"): concatenated traces are not a trace".into(),
            });
        }
        let len = u64::from(len);
        if len == 0 {
            return Err(TraceError::Decode {
                part,
                offset: start,
                message: "a frame length of 0 (every frame holds at least one record)".into(),
            });
        }
        self.check_len(part, start, start, FRAME_PREFIX_LEN, len, MAX_FRAME_LEN)?;
        let needed = FRAME_PREFIX_LEN + len;
        let mut crc_bytes = [0u8; 4];
        self.fill_exact(&mut crc_bytes, part, start, needed)?;
        let payload = self.read_payload(len, part, start, needed)?;
        let stored = u32::from_le_bytes(crc_bytes);
        let computed = frame::crc(&[&len_bytes, &payload]);
        if computed != stored {
            return Err(TraceError::Crc {
                part,
                offset: start,
                stored,
                computed,
            });
        }
        let (records, raw_len) = decode_frame(self.layout, &payload, part, start)?;
        drop(payload);
        if let Some(first) = records.first()
            && first.tick() < self.last_tick
        {
            return Err(TraceError::TicksBackwards {
                part,
                offset: start,
                tick: first.tick(),
                previous: self.last_tick,
            });
        }
        let mut counts = Counts::default();
        for r in &records {
            counts.add(r);
        }
        let tick = records.last().map_or(self.last_tick, Record::tick);
        self.counts.inputs += counts.inputs;
        self.counts.observations += counts.observations;
        self.counts.checkpoints += counts.checkpoints;
        self.counts.snapshots += counts.snapshots;
        self.frames_read += 1;
        self.counts.frames = self.frames_read;
        self.last_tick = tick;
        self.stats.frame_bytes += needed;
        self.stats.frame_raw_bytes += raw_len;
        self.frame_at = Some((start, needed));
        self.queue = records.into();
        Ok(())
    }

    fn read_footer(&mut self, start: u64) -> Result<(), TraceError> {
        let part = Part::Footer;
        let mut len_bytes = [0u8; 4];
        self.fill_exact(&mut len_bytes, part, start, FOOTER_PREFIX_LEN)?;
        let len = u64::from(u32::from_le_bytes(len_bytes));
        self.check_len(
            part,
            start,
            start + 4,
            FOOTER_PREFIX_LEN,
            len,
            MAX_FOOTER_LEN,
        )?;
        let needed = FOOTER_PREFIX_LEN + len;
        let mut crc_bytes = [0u8; 4];
        self.fill_exact(&mut crc_bytes, part, start, needed)?;
        let body = self.read_payload(len, part, start, needed)?;
        let stored = u32::from_le_bytes(crc_bytes);
        let computed = frame::crc(&[&FOOTER_TAG.to_le_bytes(), &len_bytes, &body]);
        if computed != stored {
            return Err(TraceError::Crc {
                part,
                offset: start,
                stored,
                computed,
            });
        }
        let footer =
            upgrade::decode_footer(self.layout, &body).map_err(|message| TraceError::Decode {
                part,
                offset: start,
                message,
            })?;
        let mismatch = |message: String| TraceError::FooterMismatch {
            offset: start,
            message,
        };
        if footer.counts != self.counts {
            return Err(mismatch(format!(
                "it counts {}, the file holds {}",
                footer.counts, self.counts
            )));
        }
        if footer.final_tick < self.last_tick {
            return Err(mismatch(format!(
                "its final tick {} is before the last record's tick {}",
                footer.final_tick, self.last_tick
            )));
        }
        let end = self.stats.bytes;
        let mut one = [0u8; 1];
        if self.fill(&mut one)? != 0 {
            return Err(TraceError::TrailingData { offset: end });
        }
        self.stats.footer_bytes = needed;
        self.footer = Some(footer);
        self.done = true;
        Ok(())
    }
}

/// A record frame as [`TraceReader::next_frame`] delivers it.
pub(crate) struct FrameRead {
    /// Byte offset of the frame's length field.
    pub(crate) offset: u64,
    /// Bytes of the frame with its prefix.
    pub(crate) len: u64,
    pub(crate) records: Vec<Record>,
}

/// The records of a frame's payload (after its CRC was checked), with absolute ticks, and
/// the decompressed size. Enforces the frame limits: a payload that records a
/// decompressed size above [`MAX_RECORDS_FRAME_RAW`] must start with a count of 1 and a
/// snapshot record (checked on its first bytes, before decompressing the rest) and is then
/// bounded by [`MAX_FRAME_RAW`]; an observation record takes at most
/// [`MAX_OBSERVATION`] bytes.
pub(crate) fn decode_frame(
    layout: Layout,
    payload: &[u8],
    part: Part,
    start: u64,
) -> Result<(Vec<Record>, u64), TraceError> {
    let decode_err = |message: String| TraceError::Decode {
        part,
        offset: start,
        message,
    };
    let Some(declared) = frame::declared_size(payload) else {
        return Err(decode_err(
            "the zstd data does not start with a frame that records its size".into(),
        ));
    };
    if declared > MAX_FRAME_RAW {
        return Err(decode_err(format!(
            "the zstd data decompresses to {declared} bytes, more than the limit of {MAX_FRAME_RAW}"
        )));
    }
    let limit = if declared > MAX_RECORDS_FRAME_RAW {
        let head = frame::peek(payload, 16).map_err(decode_err)?;
        let count = codec::decode_len(&head).ok();
        let kind = count.and_then(|(_, used)| head.get(used).copied());
        let starts_with_snapshot = matches!(count, Some((1.., _)))
            && matches!(kind, Some(SNAPSHOT | PAGED_SNAPSHOT | DELTA_SNAPSHOT));
        if !starts_with_snapshot {
            return Err(TraceError::Limit {
                part,
                offset: start,
                message: format!(
                    "the frame decompresses to {declared} bytes, more than the limit of {MAX_RECORDS_FRAME_RAW} for a frame that does not start with a snapshot"
                ),
            });
        }
        MAX_FRAME_RAW
    } else {
        MAX_RECORDS_FRAME_RAW
    };
    let raw = frame::decompress(payload, limit).map_err(decode_err)?;
    let (count, mut pos) =
        codec::decode_len(&raw).map_err(|m| decode_err(format!("the record count: {m}")))?;
    if count == 0 {
        return Err(decode_err("a frame without records".into()));
    }
    if count > raw.len() as u64 {
        return Err(decode_err(format!(
            "{count} records cannot fit in {} bytes",
            raw.len()
        )));
    }
    let mut records = Vec::new();
    let mut tick = 0u64;
    for i in 0..count {
        let rest = raw.get(pos..).unwrap_or_default();
        let (rec, used) = upgrade::decode_record(layout, rest)
            .map_err(|m| decode_err(format!("record {i} of {count}: {m}")))?;
        rec.check()
            .map_err(|m| decode_err(format!("record {i} of {count}: {m}")))?;
        pos += used;
        tick = if i == 0 {
            rec.dt()
        } else {
            tick.checked_add(rec.dt())
                .ok_or_else(|| decode_err(format!("record {i} of {count}: the tick overflows")))?
        };
        if let RawRecord::Observation { observation, .. } = &rec
            && used as u64 > MAX_OBSERVATION
        {
            return Err(TraceError::Limit {
                part,
                offset: start,
                message: format!(
                    "record {i} of {count} is an observation of {used} bytes, more than the limit of {MAX_OBSERVATION}: {}",
                    crate::excerpt(observation)
                ),
            });
        }
        // A checkpoint run gives a checkpoint per hash; the next record's delta counts
        // from the last of them.
        tick = rec
            .push_records(tick, &mut records)
            .map_err(|m| decode_err(format!("record {i} of {count}: {m}")))?;
    }
    if pos != raw.len() {
        return Err(decode_err(format!(
            "{} bytes left over after the last record",
            raw.len() - pos
        )));
    }
    Ok((records, raw.len() as u64))
}

/// The on-disk kind index of a whole and of a paged snapshot (FORMAT.md, "Frames and
/// records").
const SNAPSHOT: u8 = 3;
const PAGED_SNAPSHOT: u8 = 4;
const DELTA_SNAPSHOT: u8 = 5;

/// Iterator over a reader's remaining records ([`TraceReader::records`]); it stops after
/// the first error.
pub struct Records<'a, R: Read> {
    reader: &'a mut TraceReader<R>,
}

impl<R: Read> Iterator for Records<'_, R> {
    type Item = Result<Record, TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.failed.is_some() && self.reader.queue.is_empty() {
            return None;
        }
        self.reader.next_record().transpose()
    }
}

/// The header's value before it has been read (never visible).
fn placeholder_header() -> Header {
    Header {
        emulator_version: String::new(),
        name: String::new(),
        machine: Default::default(),
        firmware: Default::default(),
        programs: Vec::new(),
        seed: None,
        scenario: String::new(),
        max_ticks: 0,
        checkpoint_interval: 0,
        drive_writable: false,
        dirs: Vec::new(),
        files: Vec::new(),
    }
}

/// Whether `bytes` (a whole trace file) ends with an intact footer: the tag, a length, a
/// CRC over them and the body, and nothing after it. A reader that meets a frame cut off
/// by the end of the file cannot tell a recorder that was killed (no footer) from a
/// damaged length field (the footer is still there): this tells them apart.
pub fn ends_with_footer(bytes: &[u8]) -> bool {
    let n = bytes.len() as u64;
    if n < FOOTER_PREFIX_LEN {
        return false;
    }
    let max = MAX_FOOTER_LEN.min(n - FOOTER_PREFIX_LEN);
    (0..=max).any(|len| {
        let start = (n - FOOTER_PREFIX_LEN - len) as usize;
        let b = &bytes[start..];
        b[..4] == FOOTER_TAG.to_le_bytes()
            && u64::from(u32::from_le_bytes([b[4], b[5], b[6], b[7]])) == len
            && u32::from_le_bytes([b[8], b[9], b[10], b[11]])
                == frame::crc(&[&b[..4], &b[4..8], &b[12..]])
    })
}

#[cfg(test)]
mod footer_tests {
    use super::*;

    #[test]
    fn a_footer_is_found_only_at_the_very_end() {
        let body = b"footer body";
        let len = (body.len() as u32).to_le_bytes();
        let crc = frame::crc(&[&FOOTER_TAG.to_le_bytes(), &len, body]).to_le_bytes();
        let mut file = b"some frames".to_vec();
        file.extend_from_slice(&FOOTER_TAG.to_le_bytes());
        file.extend_from_slice(&len);
        file.extend_from_slice(&crc);
        file.extend_from_slice(body);
        assert!(ends_with_footer(&file));
        let mut cut = file.clone();
        cut.pop();
        assert!(!ends_with_footer(&cut));
        let mut damaged = file.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(!ends_with_footer(&damaged));
        assert!(!ends_with_footer(b""));
    }
}
