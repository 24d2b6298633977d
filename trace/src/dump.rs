//! Human-readable views of a trace: the dump text and the info summary.
//!
//! The dump text is stable (tests and reviews diff it): the header's fields one per line
//! (`field: value`; guest files with size and hash, not contents; the scenario manifest's
//! lines prefixed with `scenario| `), a `records:` line, one line per record
//! (`tick  guest-time  kind  details`, the tick right-aligned in 12 columns and the time in
//! 14), and then either the footer's fields (`footer.end` the end of the run's sentence,
//! `footer.end_kind` its stable kind) or `truncated after tick N`.

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use serde::Serialize;
use vexed_emu::clock::TickRate;
use vexed_emu::machine::Input;

use crate::{Completeness, Counts, Footer, Header, Record, Trace, TraceError, TraceReader};

/// Guest time at `tick` as seconds with 6 decimals, e.g. `12.345678s` (rounded down).
pub fn guest_time_text(rate: TickRate, tick: u64) -> String {
    let (secs, nanos) = rate.guest_time(tick);
    format!("{secs}.{:06}s", nanos / 1000)
}

/// An input in the dump's words (also used by `vexed diff`), e.g. `key 1Eh (make)`,
/// `irq 3`.
#[allow(unreachable_patterns)] // A variant emu adds later falls back to its Debug form.
pub fn input_text(input: &Input) -> String {
    match *input {
        Input::Key { scancode } => {
            let edge = if scancode & 0x80 != 0 {
                "break"
            } else {
                "make"
            };
            format!("key {scancode:02X}h ({edge})")
        }
        Input::Irq { line } => format!("irq {line}"),
        Input::SerialRx { byte } => format!("serial-rx {byte:02X}h"),
        Input::DmaDone { channel } => format!("dma-done channel {channel}"),
        Input::TimerTick => "timer-tick".to_string(),
        ref other => format!("{other:?}"),
    }
}

fn write_header(h: &Header, version: u32, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "format_version: {version}")?;
    writeln!(out, "emulator_version: {}", h.emulator_version)?;
    writeln!(out, "name: {}", h.name)?;
    writeln!(out, "machine.model: {:?}", h.machine.model)?;
    writeln!(out, "machine.ram: {} bytes", h.machine.ram)?;
    writeln!(
        out,
        "machine.rate: {} ticks per second",
        h.machine.rate.ticks_per_second()
    )?;
    writeln!(out, "machine.clock: {:?}", h.machine.clock)?;
    writeln!(out, "firmware.xms: {:?}", h.firmware.xms)?;
    writeln!(out, "firmware.ems: {:?}", h.firmware.ems)?;
    writeln!(out, "firmware.dos: {:?}", h.firmware.dos)?;
    writeln!(out, "firmware.vmm: {:?}", h.firmware.vmm)?;
    writeln!(out, "firmware.dpmi: {:?}", h.firmware.dpmi)?;
    writeln!(out, "programs: {}", h.programs.len())?;
    for (i, p) in h.programs.iter().enumerate() {
        writeln!(out, "program[{i}]: {} {:?}", p.name, p.args)?;
    }
    match h.seed {
        Some(s) => writeln!(out, "seed: {s}")?,
        None => writeln!(out, "seed: none")?,
    }
    writeln!(out, "max_ticks: {}", h.max_ticks)?;
    writeln!(out, "checkpoint_interval: {}", h.checkpoint_interval)?;
    writeln!(out, "drive_writable: {}", h.drive_writable)?;
    writeln!(out, "dirs: {}", h.dirs.len())?;
    for (i, d) in h.dirs.iter().enumerate() {
        writeln!(out, "dir[{i}]: {d}")?;
    }
    writeln!(out, "files: {}", h.files.len())?;
    for (i, f) in h.files.iter().enumerate() {
        writeln!(
            out,
            "file[{i}]: {} {} bytes xxh3 {:016x}",
            f.path,
            f.bytes.len(),
            f.hash
        )?;
    }
    writeln!(out, "scenario: {} lines", h.scenario.lines().count())?;
    for line in h.scenario.lines() {
        writeln!(out, "scenario| {line}")?;
    }
    Ok(())
}

fn record_line(rate: TickRate, r: &Record) -> String {
    let details = match r {
        Record::Input { input, .. } => input_text(input),
        Record::Observation { observation, .. } => observation.to_string(),
        Record::Checkpoint { hash, .. } => format!("hash {hash:016x}"),
        Record::Snapshot { state, .. } => format!(
            "{} bytes xxh3 {:016x}",
            state.len(),
            xxhash_rust::xxh3::xxh3_64(state)
        ),
        Record::PagedSnapshot {
            state,
            store_len,
            pages,
            coding,
            ..
        } => format!(
            "store {store_len} bytes, {} pages changed, state {} bytes{} xxh3 {:016x}",
            pages.len(),
            state.len(),
            match coding {
                crate::SnapshotCoding::Copy => "",
                crate::SnapshotCoding::Delta => " (coded as a delta)",
            },
            xxhash_rust::xxh3::xxh3_64(state)
        ),
    };
    let tick = r.tick();
    format!(
        "{tick:>12} {:>14}  {:<10}  {details}",
        guest_time_text(rate, tick),
        r.kind()
    )
}

/// Writes the dump text of the rest of `reader` (header first) to `out`. On an error in
/// the file, the text so far has been written and the error is returned.
pub fn dump(reader: &mut TraceReader<impl Read>, out: &mut impl Write) -> Result<(), TraceError> {
    let rate = reader.header().machine.rate;
    write_header(reader.header(), reader.version(), out).map_err(TraceError::Output)?;
    writeln!(out, "records:").map_err(TraceError::Output)?;
    while let Some(r) = reader.next_record()? {
        writeln!(out, "{}", record_line(rate, &r)).map_err(TraceError::Output)?;
    }
    let text = match (reader.footer(), reader.truncated_after()) {
        (Some(f), _) => footer_text(rate, f),
        (None, after) => format!(
            "truncated after tick {} ({}): the file has no footer\nread: {}\n",
            after.unwrap_or(0),
            guest_time_text(rate, after.unwrap_or(0)),
            reader.counts()
        ),
    };
    out.write_all(text.as_bytes()).map_err(TraceError::Output)
}

/// Writes the dump text of a validated trace to `out`: the same text as [`dump`] (a
/// snapshot is decoded for its line when its turn comes, one at a time).
pub fn dump_trace(t: &Trace, out: &mut impl Write) -> Result<(), TraceError> {
    let rate = t.header().machine.rate;
    write_header(t.header(), t.version(), out).map_err(TraceError::Output)?;
    writeln!(out, "records:").map_err(TraceError::Output)?;
    let mut snapshots = t.snapshots().iter().enumerate().peekable();
    for (i, r) in t.records().iter().enumerate() {
        while let Some((s, _)) = snapshots.next_if(|(_, e)| e.records_before <= i) {
            let snap = t.snapshot(s)?;
            writeln!(out, "{}", record_line(rate, &snap)).map_err(TraceError::Output)?;
        }
        writeln!(out, "{}", record_line(rate, r)).map_err(TraceError::Output)?;
    }
    for (s, _) in snapshots {
        let snap = t.snapshot(s)?;
        writeln!(out, "{}", record_line(rate, &snap)).map_err(TraceError::Output)?;
    }
    let text = match t.completeness() {
        Completeness::Complete(f) => footer_text(rate, f),
        Completeness::Unfinished { after_tick } => format!(
            "truncated after tick {after_tick} ({}): the file has no footer\nread: {}\n",
            guest_time_text(rate, *after_tick),
            t.counts()
        ),
    };
    out.write_all(text.as_bytes()).map_err(TraceError::Output)
}

fn footer_text(rate: TickRate, f: &Footer) -> String {
    format!(
        "footer.final_tick: {} ({})\nfooter.final_hash: {:016x}\nfooter.end: {}\nfooter.end_kind: {}\nfooter.counts: {}\n",
        f.final_tick,
        guest_time_text(rate, f.final_tick),
        f.final_hash,
        f.end,
        f.end.kind(),
        f.counts
    )
}

/// [`Info`] of a validated trace.
pub fn info_of(t: &Trace) -> Info {
    let h = t.header();
    let s = t.stats();
    let footer = t.footer();
    let uncompressed_bytes = crate::HEADER_PREFIX_LEN
        + s.header_raw_bytes
        + crate::FRAME_PREFIX_LEN * t.frame_count()
        + s.frame_raw_bytes
        + s.footer_bytes;
    let bytes = t.file_size();
    Info {
        format_version: t.version(),
        name: h.name.clone(),
        emulator_version: h.emulator_version.clone(),
        bytes,
        header_bytes: s.header_bytes,
        frame_bytes: s.frame_bytes,
        footer_bytes: s.footer_bytes,
        uncompressed_bytes,
        compression_ratio: if bytes == 0 {
            0.0
        } else {
            uncompressed_bytes as f64 / bytes as f64
        },
        guest_files: h.files.len() as u64,
        guest_file_bytes: h.files.iter().map(|f| f.bytes.len() as u64).sum(),
        ticks_per_second: h.machine.rate.ticks_per_second(),
        last_tick: t.last_tick(),
        final_tick: footer.map(|f| f.final_tick),
        final_hash: footer.map(|f| f.final_hash),
        end: footer.map(|f| f.end.to_string()),
        end_kind: footer.map(|f| f.end.kind().to_string()),
        truncated_after: t.unfinished_after(),
        counts: t.counts().clone(),
    }
}

/// Size, ticks, counts and compression of a trace ([`info`]). Serializes to JSON for
/// `vexed info --json`; `Display` gives the text form.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Info {
    pub format_version: u32,
    pub name: String,
    pub emulator_version: String,
    /// Bytes of the file.
    pub bytes: u64,
    /// Magic, version, prefix and compressed header.
    pub header_bytes: u64,
    /// Record frames with their prefixes.
    pub frame_bytes: u64,
    /// The footer with its prefix (0 when truncated).
    pub footer_bytes: u64,
    /// What the file would take without compression (prefixes, decompressed header and
    /// frame payloads, footer).
    pub uncompressed_bytes: u64,
    /// `uncompressed_bytes / bytes`.
    pub compression_ratio: f64,
    pub guest_files: u64,
    pub guest_file_bytes: u64,
    pub ticks_per_second: u64,
    /// The tick of the last record (0 without records).
    pub last_tick: u64,
    /// The footer's final tick (None when truncated).
    pub final_tick: Option<u64>,
    pub final_hash: Option<u64>,
    /// How the run ended, one sentence (None when truncated).
    pub end: Option<String>,
    /// [`crate::RunEnd::kind`] of how the run ended (None when truncated).
    pub end_kind: Option<String>,
    /// Set when the file has no footer.
    pub truncated_after: Option<u64>,
    pub counts: Counts,
}

/// [`Info`] of the trace file at `path`.
pub fn info(path: impl AsRef<Path>) -> Result<Info, TraceError> {
    let mut reader = TraceReader::open(path)?;
    info_from_reader(&mut reader)
}

/// [`Info`] of a trace, reading the rest of `reader` (which should be fresh).
pub fn info_from_reader(reader: &mut TraceReader<impl Read>) -> Result<Info, TraceError> {
    let mut last_tick = 0;
    while let Some(r) = reader.next_record()? {
        last_tick = r.tick();
    }
    let h = reader.header();
    let s = reader.stats();
    let footer = reader.footer();
    let uncompressed_bytes = crate::HEADER_PREFIX_LEN
        + s.header_raw_bytes
        + crate::FRAME_PREFIX_LEN * reader.frames_read()
        + s.frame_raw_bytes
        + s.footer_bytes;
    Ok(Info {
        format_version: reader.version(),
        name: h.name.clone(),
        emulator_version: h.emulator_version.clone(),
        bytes: s.bytes,
        header_bytes: s.header_bytes,
        frame_bytes: s.frame_bytes,
        footer_bytes: s.footer_bytes,
        uncompressed_bytes,
        compression_ratio: if s.bytes == 0 {
            0.0
        } else {
            uncompressed_bytes as f64 / s.bytes as f64
        },
        guest_files: h.files.len() as u64,
        guest_file_bytes: h.files.iter().map(|f| f.bytes.len() as u64).sum(),
        ticks_per_second: h.machine.rate.ticks_per_second(),
        last_tick,
        final_tick: footer.map(|f| f.final_tick),
        final_hash: footer.map(|f| f.final_hash),
        end: footer.map(|f| f.end.to_string()),
        end_kind: footer.map(|f| f.end.kind().to_string()),
        truncated_after: reader.truncated_after(),
        counts: footer.map_or_else(|| reader.counts().clone(), |f| f.counts.clone()),
    })
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = TickRate::new(self.ticks_per_second).unwrap_or_default();
        writeln!(f, "name: {}", self.name)?;
        writeln!(f, "format: version {}", self.format_version)?;
        writeln!(f, "recorded by: {}", self.emulator_version)?;
        writeln!(
            f,
            "size: {} bytes (header {}, {} frames {}, footer {})",
            self.bytes, self.header_bytes, self.counts.frames, self.frame_bytes, self.footer_bytes
        )?;
        writeln!(
            f,
            "uncompressed: {} bytes (compression ratio {:.2})",
            self.uncompressed_bytes, self.compression_ratio
        )?;
        writeln!(
            f,
            "guest files: {} ({} bytes)",
            self.guest_files, self.guest_file_bytes
        )?;
        writeln!(
            f,
            "records: {} inputs, {} observations, {} checkpoints, {} snapshots",
            self.counts.inputs,
            self.counts.observations,
            self.counts.checkpoints,
            self.counts.snapshots
        )?;
        writeln!(
            f,
            "last record: tick {} ({})",
            self.last_tick,
            guest_time_text(rate, self.last_tick)
        )?;
        match (self.final_tick, self.truncated_after) {
            (Some(t), _) => {
                writeln!(f, "final tick: {t} ({})", guest_time_text(rate, t))?;
                if let Some(h) = self.final_hash {
                    writeln!(f, "final state hash: {h:016x}")?;
                }
                if let Some(e) = &self.end {
                    match &self.end_kind {
                        Some(kind) => writeln!(f, "end: {e} ({kind})")?,
                        None => writeln!(f, "end: {e}")?,
                    }
                }
            }
            (None, after) => writeln!(
                f,
                "truncated after tick {} (no footer: the recorder stopped before finishing)",
                after.unwrap_or(self.last_tick)
            )?,
        }
        Ok(())
    }
}
