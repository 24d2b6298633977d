//! Writing a trace: the header at once, records collected into frames, the footer last.

use std::io::Write;

use crate::error::{Part, TraceError};
use crate::limits::{
    MAX_END_TEXT, MAX_FOOTER_LEN, MAX_FRAME_LEN, MAX_FRAME_RAW, MAX_HEADER_LEN, MAX_HEADER_RAW,
    MAX_OBSERVATION, MAX_RECORDS_FRAME_RAW,
};
use crate::record::{RawRecord, Record, check_paged_snapshot};
use crate::{Counts, FOOTER_TAG, FORMAT_VERSION, Footer, Header, MAGIC, RunEnd, codec, frame};

/// When the writer ends a frame, and how hard it compresses. A frame also ends before and
/// after every snapshot, and whenever [`TraceWriter::flush_frame`] is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// zstd level (1-22; 3 is zstd's default, fast with a good ratio).
    pub level: i32,
    /// zstd level of a snapshot's frame. A paged snapshot is mostly the machine state
    /// without its memory (tens of KiB, much of it the page map: a long run of slowly
    /// changing integers), which level 3 leaves at a third of its size and level 7 at a
    /// seventh, at about 100 MB/s (well under a millisecond per snapshot; higher levels
    /// gain nothing more here). See FORMAT.md, "Paged snapshots".
    pub snapshot_level: i32,
    /// End the frame when it holds this many records.
    pub max_frame_records: u64,
    /// End the frame when its encoded records take this many bytes (before compression).
    pub max_frame_bytes: u64,
    /// End the frame when its records span this many ticks (None: no such bound).
    /// [`TraceWriter::new`] uses one guest second at the header's tick rate, so a killed
    /// recorder loses at most about a guest second of records.
    pub max_frame_ticks: Option<u64>,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            level: 3,
            snapshot_level: 7,
            max_frame_records: 4096,
            max_frame_bytes: 1 << 20,
            max_frame_ticks: None,
        }
    }
}

/// Writes a trace to `out` (see the crate docs and FORMAT.md).
///
/// Each frame goes to `out` with one `write_all` followed by `out.flush()`, so a recorder
/// killed at any moment leaves every frame written before as a readable prefix. Dropping
/// the writer without [`TraceWriter::finish`] writes the records collected so far as a
/// last frame (best effort, errors ignored) and no footer: the file then reads as
/// "truncated after tick N".
pub struct TraceWriter<W: Write> {
    /// `None` after `finish`.
    out: Option<W>,
    opts: WriterOptions,
    /// The current frame's encoded records (without the count prefix).
    pending: Vec<u8>,
    /// Records encoded in `pending` (a checkpoint run is one): the frame's count prefix.
    pending_records: u64,
    /// Records pushed into the current frame, each checkpoint of a run counted (what
    /// `max_frame_records` bounds).
    pending_pushed: u64,
    /// Checkpoints at a fixed spacing not yet encoded: they go into `pending` as one
    /// checkpoint run (record kind 6) when another record comes or the frame ends.
    run: Option<CheckpointRun>,
    /// The current frame holds a snapshot (compressed at `snapshot_level`).
    pending_snapshot: bool,
    /// Tick of the current frame's first and last record.
    frame_first: u64,
    frame_last: u64,
    /// The last tick pushed (records never go below it).
    last_tick: u64,
    counts: Counts,
    /// Bytes written to `out` so far.
    offset: u64,
    /// An earlier write failed.
    failed: bool,
    /// The zstd context every frame is compressed with.
    zstd: frame::Context,
}

impl<W: Write> TraceWriter<W> {
    /// Writes the magic, version and `header` (the guest files' hashes must match their
    /// bytes) with the default options and frames of at most one guest second.
    pub fn new(out: W, header: &Header) -> Result<Self, TraceError> {
        let opts = WriterOptions {
            max_frame_ticks: Some(header.machine.rate.ticks_per_second()),
            ..WriterOptions::default()
        };
        TraceWriter::with_options(out, header, opts)
    }

    /// [`TraceWriter::new`] with explicit options.
    pub fn with_options(out: W, header: &Header, opts: WriterOptions) -> Result<Self, TraceError> {
        let mut w = TraceWriter {
            out: Some(out),
            opts,
            pending: Vec::new(),
            pending_records: 0,
            pending_pushed: 0,
            run: None,
            pending_snapshot: false,
            frame_first: 0,
            frame_last: 0,
            last_tick: 0,
            counts: Counts::default(),
            offset: 0,
            failed: false,
            zstd: frame::Context::default(),
        };
        w.write_header(header)?;
        Ok(w)
    }

    fn write_header(&mut self, header: &Header) -> Result<(), TraceError> {
        let err = |message: String| TraceError::Encode {
            part: Part::Header,
            offset: 0,
            message,
        };
        if let Some(f) = header.files.iter().find(|f| !f.hash_matches()) {
            return Err(err(format!(
                "guest file {:?} has hash {:016x}, which is not the xxh3-64 of its bytes",
                f.path, f.hash
            )));
        }
        crate::check_header_limits(header).map_err(err)?;
        let raw = codec::encode(header).map_err(err)?;
        too_large(
            Part::Header,
            0,
            "the encoded header",
            raw.len(),
            MAX_HEADER_RAW,
        )?;
        let payload = self.zstd.compress(&raw, self.opts.level).map_err(err)?;
        too_large(
            Part::Header,
            0,
            "the compressed header",
            payload.len(),
            MAX_HEADER_LEN,
        )?;
        let mut bytes = Vec::with_capacity(payload.len() + 20);
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&len_u32(payload.len()).to_le_bytes());
        let crc = frame::crc(&[&bytes, &payload]);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes.extend_from_slice(&payload);
        self.emit(&bytes)
    }

    /// Adds a record. Its tick must not be before the previous record's tick.
    pub fn push(&mut self, record: Record) -> Result<(), TraceError> {
        self.check_usable()?;
        let tick = record.tick();
        if tick < self.last_tick {
            return Err(TraceError::TicksBackwards {
                part: Part::Frame(self.counts.frames),
                offset: self.offset,
                tick,
                previous: self.last_tick,
            });
        }
        if let Record::PagedSnapshot {
            store_len, pages, ..
        } = &record
        {
            // Never write what the reader refuses.
            check_paged_snapshot(*store_len, pages).map_err(|message| TraceError::Encode {
                part: Part::Frame(self.counts.frames),
                offset: self.offset,
                message: format!("a paged snapshot at tick {tick}: {message}"),
            })?;
        }
        if let Record::Checkpoint { tick, hash } = record {
            return self.push_checkpoint(tick, hash);
        }
        self.close_run()?;
        let snapshot = record.is_snapshot();
        if snapshot {
            // A snapshot starts a frame: seeking finds it as the first record of a frame
            // it knows, and only such a frame may be larger than MAX_RECORDS_FRAME_RAW.
            // The records after it share its frame (a delta snapshot is small, and a
            // frame of its own would cost its prefix and zstd framing) unless it is large.
            self.flush_frame()?;
        }
        let kind = record.kind();
        let record_is_observation = matches!(record, Record::Observation { .. });
        let mut counts = self.counts.clone();
        counts.add(&record);
        // The first record of a frame stores its tick; the others the delta.
        let base = if self.pending_pushed == 0 {
            0
        } else {
            self.frame_last
        };
        let mut encoded = Vec::new();
        let raw = record.into_raw(base);
        codec::encode_into(&raw, &mut encoded).map_err(|message| TraceError::Encode {
            part: Part::Frame(self.counts.frames),
            offset: self.offset,
            message: format!("a {kind} record at tick {tick}: {message}"),
        })?;
        if record_is_observation && encoded.len() as u64 > MAX_OBSERVATION {
            return Err(TraceError::TooLarge {
                part: Part::Frame(self.counts.frames),
                offset: self.offset,
                what: "one observation",
                len: encoded.len() as u64,
                limit: MAX_OBSERVATION,
            });
        }
        // Leave room for the count prefix (at most 9 bytes). Only a snapshot's frame may
        // be larger than MAX_RECORDS_FRAME_RAW.
        let frame_limit = if snapshot {
            MAX_FRAME_RAW
        } else {
            MAX_RECORDS_FRAME_RAW
        };
        let fits = |len: usize| (len as u64).saturating_add(16) <= frame_limit;
        if self.pending_records > 0 && !fits(self.pending.len() + encoded.len()) {
            self.flush_frame()?;
            encoded.clear();
            let raw = raw_at(raw, tick);
            codec::encode_into(&raw, &mut encoded).map_err(|message| TraceError::Encode {
                part: Part::Frame(self.counts.frames),
                offset: self.offset,
                message: format!("a {kind} record at tick {tick}: {message}"),
            })?;
        }
        if !fits(encoded.len()) {
            return Err(TraceError::TooLarge {
                part: Part::Frame(self.counts.frames),
                offset: self.offset,
                what: "one record",
                len: encoded.len() as u64,
                limit: MAX_FRAME_RAW,
            });
        }
        if self.pending_pushed == 0 {
            self.frame_first = tick;
        }
        self.pending.extend_from_slice(&encoded);
        self.pending_records += 1;
        self.pending_pushed += 1;
        self.pending_snapshot |= snapshot;
        self.frame_last = tick;
        self.last_tick = tick;
        // Frames are counted when written.
        counts.frames = self.counts.frames;
        self.counts = counts;
        if self.frame_full(tick) {
            self.flush_frame()?;
        }
        Ok(())
    }

    /// Whether the frame, whose last record is at `tick`, is to end (see [`WriterOptions`]).
    fn frame_full(&self, tick: u64) -> bool {
        let span_full = self
            .opts
            .max_frame_ticks
            .is_some_and(|span| tick - self.frame_first >= span);
        let run_bytes = self.run.as_ref().map_or(0, CheckpointRun::encoded_bound);
        span_full
            || self.pending_pushed >= self.opts.max_frame_records
            || (self.pending.len() + run_bytes) as u64 >= self.opts.max_frame_bytes
    }

    /// Adds a checkpoint to the open run when it keeps the run's spacing, or starts a new
    /// run with it.
    fn push_checkpoint(&mut self, tick: u64, hash: u64) -> Result<(), TraceError> {
        let extends = self
            .run
            .as_ref()
            .is_some_and(|r| r.count == 1 || tick - self.frame_last == r.interval)
            && (self.pending.len() + self.run.as_ref().map_or(0, CheckpointRun::encoded_bound) + 8)
                as u64
                + 16
                <= MAX_RECORDS_FRAME_RAW;
        if !extends {
            self.close_run()?;
            // Only a frame's first record may take it past MAX_RECORDS_FRAME_RAW (a
            // snapshot); a new run must leave it within.
            if self.pending_pushed > 0
                && (self.pending.len() + 8 + 32 + 16) as u64 > MAX_RECORDS_FRAME_RAW
            {
                self.flush_frame()?;
            }
        }
        let base = if self.pending_pushed == 0 {
            0
        } else {
            self.frame_last
        };
        match self.run.as_mut() {
            Some(r) if extends => {
                if r.count == 1 {
                    r.interval = tick - self.frame_last;
                }
                r.count += 1;
                r.hashes.extend_from_slice(&hash.to_le_bytes());
            }
            _ => {
                self.run = Some(CheckpointRun {
                    dt: tick - base,
                    interval: 0,
                    count: 1,
                    hashes: hash.to_le_bytes().to_vec(),
                });
            }
        }
        if self.pending_pushed == 0 {
            self.frame_first = tick;
        }
        self.pending_pushed += 1;
        self.frame_last = tick;
        self.last_tick = tick;
        self.counts.checkpoints += 1;
        if self.frame_full(tick) {
            self.flush_frame()?;
        }
        Ok(())
    }

    /// Encodes the open checkpoint run into the frame: one checkpoint record (kind 2) for
    /// a run of one, a checkpoint run (kind 6) for more.
    fn close_run(&mut self) -> Result<(), TraceError> {
        let Some(run) = self.run.take() else {
            return Ok(());
        };
        let raw = if run.count == 1 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&run.hashes);
            RawRecord::Checkpoint {
                dt: run.dt,
                hash: u64::from_le_bytes(b),
            }
        } else {
            RawRecord::Checkpoints {
                dt: run.dt,
                interval: run.interval,
                hashes: run.hashes,
            }
        };
        codec::encode_into(&raw, &mut self.pending).map_err(|message| TraceError::Encode {
            part: Part::Frame(self.counts.frames),
            offset: self.offset,
            message: format!("a checkpoint run: {message}"),
        })?;
        self.pending_records += 1;
        Ok(())
    }

    /// Writes the records collected so far as a frame and flushes the output (nothing
    /// happens without records).
    pub fn flush_frame(&mut self) -> Result<(), TraceError> {
        self.check_usable()?;
        self.close_run()?;
        if self.pending_records == 0 {
            return Ok(());
        }
        let part = Part::Frame(self.counts.frames);
        let err = |message: String| TraceError::Encode {
            part,
            offset: self.offset,
            message,
        };
        let mut raw = Vec::with_capacity(self.pending.len() + 9);
        codec::encode_len(self.pending_records, &mut raw).map_err(err)?;
        raw.extend_from_slice(&self.pending);
        let level = if self.pending_snapshot {
            self.opts.snapshot_level
        } else {
            self.opts.level
        };
        let payload = self.zstd.compress(&raw, level).map_err(err)?;
        drop(raw);
        too_large(
            part,
            self.offset,
            "the compressed frame",
            payload.len(),
            MAX_FRAME_LEN,
        )?;
        let len = len_u32(payload.len()).to_le_bytes();
        let crc = frame::crc(&[&len, &payload]);
        let mut bytes = Vec::with_capacity(payload.len() + 8);
        bytes.extend_from_slice(&len);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes.extend_from_slice(&payload);
        self.emit(&bytes)?;
        self.pending.clear();
        if self.pending.capacity() > 4 << 20 {
            // Do not keep a snapshot-sized buffer around.
            self.pending = Vec::new();
        }
        self.pending_records = 0;
        self.pending_pushed = 0;
        self.pending_snapshot = false;
        self.counts.frames += 1;
        Ok(())
    }

    /// What has been pushed so far (`frames` counts the frames written).
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Bytes written to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// Writes the last frame and the footer, flushes, and returns the output. `final_tick`
    /// must not be before the last record; the text of a [`RunEnd::Described`] is shortened
    /// to [`crate::limits::MAX_END_TEXT`] bytes.
    pub fn finish(
        mut self,
        final_tick: u64,
        final_hash: u64,
        end: &RunEnd,
    ) -> Result<W, TraceError> {
        self.flush_frame()?;
        if final_tick < self.last_tick {
            return Err(TraceError::TicksBackwards {
                part: Part::Footer,
                offset: self.offset,
                tick: final_tick,
                previous: self.last_tick,
            });
        }
        let end = match end {
            RunEnd::Described(text) => {
                let mut cut = text.len().min(MAX_END_TEXT);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                RunEnd::Described(text[..cut].to_string())
            }
            other => other.clone(),
        };
        let footer = Footer {
            final_tick,
            final_hash,
            end,
            counts: self.counts.clone(),
        };
        let body = codec::encode(&footer).map_err(|message| TraceError::Encode {
            part: Part::Footer,
            offset: self.offset,
            message,
        })?;
        too_large(
            Part::Footer,
            self.offset,
            "the footer",
            body.len(),
            MAX_FOOTER_LEN,
        )?;
        let mut bytes = Vec::with_capacity(body.len() + 12);
        bytes.extend_from_slice(&FOOTER_TAG.to_le_bytes());
        bytes.extend_from_slice(&len_u32(body.len()).to_le_bytes());
        let crc = frame::crc(&[&bytes, &body]);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes.extend_from_slice(&body);
        self.emit(&bytes)?;
        self.out.take().ok_or(TraceError::WriterFailed {
            offset: self.offset,
        })
    }

    fn check_usable(&self) -> Result<(), TraceError> {
        if self.failed || self.out.is_none() {
            return Err(TraceError::WriterFailed {
                offset: self.offset,
            });
        }
        Ok(())
    }

    /// Writes `bytes` in one piece and flushes.
    fn emit(&mut self, bytes: &[u8]) -> Result<(), TraceError> {
        let Some(out) = self.out.as_mut() else {
            return Err(TraceError::WriterFailed {
                offset: self.offset,
            });
        };
        if let Err(source) = out.write_all(bytes).and_then(|()| out.flush()) {
            self.failed = true;
            return Err(TraceError::Io {
                offset: self.offset,
                source,
            });
        }
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

impl<W: Write> Drop for TraceWriter<W> {
    fn drop(&mut self) {
        if self.out.is_some() && !self.failed && self.pending_pushed > 0 {
            // Best effort: a dropped recorder keeps what it recorded, as a truncated trace.
            let _ = self.flush_frame();
        }
    }
}

/// Checkpoints pushed at a fixed spacing, waiting to be encoded as one record.
struct CheckpointRun {
    /// The first checkpoint's `dt` in its frame.
    dt: u64,
    /// Ticks between two checkpoints of the run (set by the second).
    interval: u64,
    count: u64,
    /// The hashes, 8 little-endian bytes each.
    hashes: Vec<u8>,
}

impl CheckpointRun {
    /// At least the bytes the run takes encoded.
    fn encoded_bound(&self) -> usize {
        self.hashes.len() + 32
    }
}

/// A raw record re-based to be the first of a frame (its delta becomes its tick).
fn raw_at(raw: crate::record::RawRecord, tick: u64) -> crate::record::RawRecord {
    raw.into_record(tick).into_raw(0)
}

/// Lengths are checked against limits below 4 GiB before this is called.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn too_large(
    part: Part,
    offset: u64,
    what: &'static str,
    len: usize,
    limit: u64,
) -> Result<(), TraceError> {
    if len as u64 > limit {
        return Err(TraceError::TooLarge {
            part,
            offset,
            what,
            len: len as u64,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RawRecord;
    use vexed_emu::machine::Input;

    fn header() -> Header {
        Header {
            emulator_version: String::new(),
            name: "deltas".into(),
            machine: Default::default(),
            firmware: Default::default(),
            programs: Vec::new(),
            seed: None,
            scenario: String::new(),
            max_ticks: 0,
            checkpoint_interval: crate::DEFAULT_CHECKPOINT_INTERVAL,
            drive_writable: false,
            dirs: Vec::new(),
            files: Vec::new(),
        }
    }

    /// The raw records of each frame of `bytes`, parsed by hand.
    fn frames(bytes: &[u8]) -> Vec<Vec<RawRecord>> {
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let mut at = 20 + word(12) as usize;
        let mut out = Vec::new();
        while word(at) != FOOTER_TAG {
            let len = word(at) as usize;
            let payload = &bytes[at + 8..at + 8 + len];
            assert_eq!(frame::crc(&[&bytes[at..at + 4], payload]), word(at + 4));
            let raw = frame::decompress(payload, MAX_FRAME_RAW).unwrap();
            let (count, mut pos) = codec::decode_len(&raw).unwrap();
            let mut records = Vec::new();
            for _ in 0..count {
                let (r, used) = codec::decode_prefix::<RawRecord>(&raw[pos..]).unwrap();
                pos += used;
                records.push(r);
            }
            assert_eq!(pos, raw.len());
            out.push(records);
            at += 8 + len;
        }
        out
    }

    #[test]
    fn ticks_are_deltas_from_the_previous_record_of_the_frame() {
        let opts = WriterOptions {
            max_frame_records: 3,
            ..WriterOptions::default()
        };
        let mut w = TraceWriter::with_options(Vec::new(), &header(), opts).unwrap();
        for (tick, hash) in [(100, 1), (100, 2), (350, 3), (1000, 4), (1001, 5)] {
            w.push(Record::Checkpoint { tick, hash }).unwrap();
        }
        w.push(Record::Input {
            tick: 5000,
            input: Input::TimerTick,
        })
        .unwrap();
        let bytes = w.finish(6000, 0, &RunEnd::TickLimit).unwrap();
        let dts: Vec<Vec<u64>> = frames(&bytes)
            .iter()
            .map(|f| f.iter().map(RawRecord::dt).collect())
            .collect();
        // Each frame starts with an absolute tick; two checkpoints at the same tick are a
        // run with spacing 0, and 1000 and 1001 a run with spacing 1.
        assert_eq!(dts, [vec![100, 250], vec![1000, 3999]]);
    }

    #[test]
    fn checkpoints_at_a_fixed_spacing_are_stored_as_one_run() {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        let h = |k: u64| 0x0123_4567_89AB_CDEF ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for k in 1..=4 {
            w.push(Record::Checkpoint {
                tick: k * 1000,
                hash: h(k),
            })
            .unwrap();
        }
        // A checkpoint off the spacing starts a new run; an input ends it.
        w.push(Record::Checkpoint {
            tick: 4500,
            hash: h(5),
        })
        .unwrap();
        w.push(Record::Checkpoint {
            tick: 5000,
            hash: h(6),
        })
        .unwrap();
        w.push(Record::Input {
            tick: 5000,
            input: Input::TimerTick,
        })
        .unwrap();
        w.push(Record::Checkpoint {
            tick: 6000,
            hash: h(7),
        })
        .unwrap();
        assert_eq!(w.counts().checkpoints, 7);
        let bytes = w.finish(6000, 0, &RunEnd::TickLimit).unwrap();
        let frames = frames(&bytes);
        let hashes =
            |ks: &[u64]| -> Vec<u8> { ks.iter().flat_map(|&k| h(k).to_le_bytes()).collect() };
        assert_eq!(
            frames,
            [vec![
                RawRecord::Checkpoints {
                    dt: 1000,
                    interval: 1000,
                    hashes: hashes(&[1, 2, 3, 4]),
                },
                RawRecord::Checkpoints {
                    dt: 500,
                    interval: 500,
                    hashes: hashes(&[5, 6]),
                },
                RawRecord::Input {
                    dt: 0,
                    input: Input::TimerTick,
                },
                RawRecord::Checkpoint {
                    dt: 1000,
                    hash: h(7),
                },
            ]]
        );
        // The reader gives every checkpoint back at its tick.
        let mut r = crate::TraceReader::new(&bytes[..]).unwrap();
        let ticks: Vec<(u64, &str)> = r
            .records()
            .map(|x| x.unwrap())
            .map(|x| (x.tick(), x.kind()))
            .collect();
        let c = "checkpoint";
        assert_eq!(
            ticks,
            [
                (1000, c),
                (2000, c),
                (3000, c),
                (4000, c),
                (4500, c),
                (5000, c),
                (5000, "input"),
                (6000, c)
            ]
        );
        assert_eq!(r.footer().unwrap().counts.checkpoints, 7);
    }

    #[test]
    fn a_record_that_does_not_fit_the_frame_starts_the_next_with_its_absolute_tick() {
        // Splitting happens at MAX_FRAME_RAW; exercise the re-basing on its own.
        let raw = Record::Checkpoint { tick: 70, hash: 9 }.into_raw(50);
        assert_eq!(raw.dt(), 20);
        assert_eq!(raw_at(raw, 70).dt(), 70);
    }
}
