//! `vexed-trace`: the trace file format (DESIGN.md section 5) and nothing else.
//!
//! A trace is everything needed to replay a run with nothing else on disk: a [`Header`]
//! (emulator version, machine and firmware configuration with the clock mode and tick rate,
//! the input source's seed, the scenario manifest, every guest file embedded), then a
//! stream of [`Record`]s (inputs at their ticks, observations, checkpoint hashes, machine
//! snapshots, whole or paged: a paged one holds only the memory pages changed since the
//! previous snapshot), then a [`Footer`] (final tick, final state hash, how the run ended
//! as a [`RunEnd`], counts). The byte
//! layout is specified in `trace/FORMAT.md`; in short:
//!
//! ```text
//! "VEXEDTRC" version:u32 len:u32 crc:u32 zstd(bincode(Header))        the header
//! len:u32 crc:u32 zstd(count record...)                               frames, any number
//! FFFFFFFF len:u32 crc:u32 bincode(Footer)                            the footer, then EOF
//! ```
//!
//! Records carry their ticks as deltas (from the previous record of the same frame; the
//! first record of a frame carries its absolute tick, so every frame decodes on its own).
//!
//! # Writing and reading
//!
//! [`TraceWriter`] collects records into frames and writes each frame with one `write_all`
//! followed by a flush of the output, every 4,096 records, 1 MiB of encoded records or one
//! guest second of ticks, whichever comes first ([`WriterOptions`]), and around every
//! snapshot. A recorder killed between two frames therefore leaves a file that reads as
//! "truncated after tick N": [`TraceReader`] delivers every record of every complete frame
//! and then reports [`TraceReader::truncated_after`]. A file that ends *inside* a frame (or
//! the header or footer) gives [`TraceError::Truncated`] naming the byte offset, after the
//! records of the complete frames before it.
//!
//! [`Trace`] is the one validating reader every verb uses: [`Trace::open`] refuses what is
//! not a regular file or is larger than [`limits::MAX_TRACE_SIZE`], and
//! [`Trace::from_bytes`] checks the whole file once (every frame, ticks within the
//! header's `max_ticks`, each snapshot followed by its checkpoint, the limits), keeps the
//! records other than snapshots, indexes frames and snapshots (decoded on demand), and
//! says whether the trace is [`Completeness::Complete`] or
//! [`Completeness::Unfinished`].
//!
//! [`TraceReader`] streams: it holds one decoded frame at a time. Records of a frame are
//! only delivered after the whole frame has passed its CRC and decoded, so a damaged frame
//! never yields partial or altered data.
//!
//! # Robustness
//!
//! Nothing in a file can make the reader panic or allocate without bound: every length is
//! checked against a limit ([`limits`]) before anything is allocated, payloads are read
//! incrementally (a length field pointing past the end of a short file allocates only what
//! the file holds), zstd output is bounded by the size the frame declares (itself within
//! the limit), and bincode decodes with an allocation budget proportional to its input
//! (see `codec.rs`). Every error is a [`TraceError`] naming the part of the file (the
//! header, frame N, the footer) and a byte offset.
//!
//! # Stability
//!
//! `bincode` is pinned to exactly 2.0.1 in the workspace, and is named only in the private
//! `codec` module. The enums stored in a trace (`Record`, the on-disk raw record, and
//! `vexed_emu::machine::Input` and `vexed_emu::observe::Observation`) are append-only:
//! bincode stores a variant's index, so variants are never reordered or removed. Any other
//! change to what is written bumps [`FORMAT_VERSION`] and adds an upgrade path for the old
//! version in the `upgrade` module (see FORMAT.md, "Versions").

mod codec;
mod dump;
mod end;
mod error;
mod frame;
mod reader;
mod record;
mod upgrade;
mod validated;
mod writer;

pub use dump::{
    Info, dump, dump_trace, guest_time_text, info, info_from_reader, info_of, input_text,
};
pub use end::RunEnd;
pub use error::{Part, TraceError, excerpt};
pub use reader::{ReadStats, Records, TraceReader, ends_with_footer};
pub use record::{
    DeltaStateEncoder, Record, SNAPSHOT_PAGE_SIZE, SnapshotCoding, SnapshotPage,
    decode_delta_state, encode_delta_state,
};
pub use upgrade::{OLDEST_READABLE_VERSION, SnapshotBase, supported_versions};
pub use validated::{Completeness, FrameEntry, SnapshotEntry, Trace};
pub use writer::{TraceWriter, WriterOptions};

use serde::{Deserialize, Serialize};
use vexed_emu::firmware::{FirmwareConfig, Program};
use vexed_emu::machine::MachineConfig;

/// The first 8 bytes of every trace file.
pub const MAGIC: [u8; 8] = *b"VEXEDTRC";

/// The format version this build writes (and the newest it reads). See FORMAT.md for the
/// policy: any change to the layout, to a stored struct, or to the order of a stored enum's
/// variants bumps it; appending an enum variant does not.
pub const FORMAT_VERSION: u32 = 8;

/// The value of a frame's length field that marks the footer instead.
pub const FOOTER_TAG: u32 = 0xFFFF_FFFF;

/// Bytes before the header payload: magic, version, length, CRC.
pub const HEADER_PREFIX_LEN: u64 = 20;
/// Bytes before a frame's payload: length, CRC.
pub const FRAME_PREFIX_LEN: u64 = 8;
/// Bytes before the footer's body: tag, length, CRC.
pub const FOOTER_PREFIX_LEN: u64 = 12;

/// Ticks between checkpoint records unless the recorder says otherwise.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 1_000_000;

/// Size limits of the format. The writer refuses to write more; the reader refuses to read
/// more (before allocating anything).
pub mod limits {
    /// The header's stored (compressed) payload.
    pub const MAX_HEADER_LEN: u64 = 64 << 20;
    /// The header's decompressed payload (bincode of the header, guest files included).
    pub const MAX_HEADER_RAW: u64 = 256 << 20;
    /// A frame's stored (compressed) payload.
    pub const MAX_FRAME_LEN: u64 = 64 << 20;
    /// A frame's decompressed payload: a snapshot of a machine with up to about 240 MiB of
    /// RAM fits in one frame.
    pub const MAX_FRAME_RAW: u64 = 256 << 20;
    /// A frame's decompressed payload unless the frame holds a snapshot: what the writer
    /// puts in one frame (it ends a frame after 1 MiB of records, and one record is at most
    /// [`MAX_OBSERVATION`]) with room to spare. A larger frame must hold exactly one
    /// snapshot (checked on the first decompressed bytes, before the rest is
    /// decompressed), and is then bounded by [`MAX_FRAME_RAW`].
    pub const MAX_RECORDS_FRAME_RAW: u64 = 4 << 20;
    /// One observation record (kind, tick delta and the observation, encoded). The
    /// largest the machine makes is a console text written by one DOS service: Int 21h
    /// AH=40h writes at most 65,535 bytes, each of which (a tab) becomes at most 8
    /// spaces, 524,280 bytes (Int 10h AH=13h and AH=09h write at most 65,535).
    pub const MAX_OBSERVATION: u64 = 1 << 20;
    /// The state of a delta snapshot once decoded (`decode_delta_state`): the machine
    /// without its memory store, which holds the drive C: files (at most
    /// [`MAX_GUEST_FILES_BYTES`]) and CPU, device and firmware state of kilobytes, with
    /// room to spare. Its zstd frame must declare a size up to this before it is decoded,
    /// so a few forged bytes cannot make a reader produce hundreds of megabytes per snapshot.
    pub const MAX_SNAPSHOT_STATE: u64 = MAX_GUEST_FILES_BYTES + (32 << 20);
    /// A trace file ([`crate::Trace::open`] refuses a larger one before reading it).
    pub const MAX_TRACE_SIZE: u64 = 4 << 30;
    /// The machine's RAM (`MachineConfig::ram` in the header). emu allows up to 3 GiB, but
    /// the product's machines are DOS PCs: scenarios give at most 65,536 KB
    /// (`machine.memory_kb`), the default is 16 MiB.
    pub const MAX_RAM: u64 = 64 << 20;
    /// DOS VMs in the header's VMM configuration (each takes a copy of conventional
    /// memory in the store).
    pub const MAX_VMS: u64 = 64;
    /// Programs the shell runs (the header's `programs`).
    pub const MAX_PROGRAMS: u64 = 256;
    /// The guest files' bytes together: drive C: holds at most 64 MiB
    /// (`vexed_replay::drive::Limits`).
    pub const MAX_GUEST_FILES_BYTES: u64 = 64 << 20;
    /// What a machine's memory store may hold past its RAM: the BIOS ROM (64 KiB), EMS
    /// pages (at most `vexed_emu::firmware::ems::MAX_PAGES` = 2,048 pages of 16 KiB,
    /// 32 MiB) and the VM manager's per-VM copies of conventional memory (at most 640 KiB
    /// for each of [`MAX_VMS`], 40 MiB): 72 MiB and 64 KiB, rounded up to 80 MiB.
    pub const MAX_STORE_EXTRA: u64 = 80 << 20;
    /// The memory store a paged snapshot describes (`store_len`): [`MAX_RAM`] plus
    /// [`MAX_STORE_EXTRA`] (144 MiB). The validating reader also checks it against the
    /// header: at least the header's RAM, at most the RAM plus [`MAX_STORE_EXTRA`].
    pub const MAX_SNAPSHOT_STORE: u64 = MAX_RAM + MAX_STORE_EXTRA;
    /// Bytes of guest data an error message quotes ([`crate::excerpt`]).
    pub const EXCERPT_BYTES: usize = 200;
    /// The footer's body.
    pub const MAX_FOOTER_LEN: u64 = 64 << 10;
    /// The writer shortens the text of a [`crate::RunEnd::Described`] footer end to this
    /// many bytes (at a character boundary) so the footer always fits.
    pub const MAX_END_TEXT: usize = 16 << 10;
}

/// The header's values that [`limits`] bound: RAM, VMs, programs and the guest files'
/// bytes (the writer does not write, and the reader refuses, a header beyond them).
pub(crate) fn check_header_limits(h: &Header) -> Result<(), String> {
    use limits::{MAX_GUEST_FILES_BYTES, MAX_PROGRAMS, MAX_RAM, MAX_VMS};
    let ram = u64::from(h.machine.ram);
    if ram > MAX_RAM {
        return Err(format!(
            "the machine has {ram} bytes of RAM, more than the limit of {MAX_RAM}"
        ));
    }
    let vms = h.firmware.vmm.as_ref().map_or(0, |v| v.vms.len() as u64);
    if vms > MAX_VMS {
        return Err(format!(
            "the VM manager runs {vms} VMs, more than the limit of {MAX_VMS}"
        ));
    }
    let programs = h.programs.len() as u64;
    if programs > MAX_PROGRAMS {
        return Err(format!(
            "the shell runs {programs} programs, more than the limit of {MAX_PROGRAMS}"
        ));
    }
    let files: u64 = h.files.iter().map(|f| f.bytes.len() as u64).sum();
    if files > MAX_GUEST_FILES_BYTES {
        return Err(format!(
            "drive C: holds {files} bytes of guest files, more than the limit of {MAX_GUEST_FILES_BYTES}"
        ));
    }
    Ok(())
}

/// A file of the guest's drive C:, embedded in the header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestFile {
    /// DOS path on drive C: without the drive, e.g. `SUB\X.COM`.
    pub path: String,
    #[serde(with = "record::bytes")]
    pub bytes: Vec<u8>,
    /// xxh3-64 of `bytes`; the reader checks it.
    pub hash: u64,
}

impl GuestFile {
    /// A file with its hash computed.
    pub fn new(path: String, bytes: Vec<u8>) -> GuestFile {
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        GuestFile { path, bytes, hash }
    }

    /// Whether `hash` is the hash of `bytes`.
    pub fn hash_matches(&self) -> bool {
        xxhash_rust::xxh3::xxh3_64(&self.bytes) == self.hash
    }
}

/// What a trace was recorded from. Stored with bincode in field order: any change to the
/// fields (or to the emu types inside) is a format change (FORMAT.md, "Versions").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Free text naming the recorder, e.g. `vexed 0.1.0 (v0.1.0-12-gabcdef)`.
    pub emulator_version: String,
    /// The scenario or program name.
    pub name: String,
    /// CPU model, RAM, tick rate and clock mode.
    pub machine: MachineConfig,
    pub firmware: FirmwareConfig,
    /// The programs the shell runs, in order.
    pub programs: Vec<Program>,
    /// The input source's seed, if it had one.
    pub seed: Option<u64>,
    /// The scenario manifest (TOML), empty for a plain program run.
    pub scenario: String,
    pub max_ticks: u64,
    /// Ticks between checkpoint records.
    pub checkpoint_interval: u64,
    pub drive_writable: bool,
    /// Directories of drive C:, so that empty ones survive.
    pub dirs: Vec<String>,
    /// Every guest file, embedded.
    pub files: Vec<GuestFile>,
}

/// How many records of each kind a trace holds, and in how many frames.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub inputs: u64,
    pub observations: u64,
    pub checkpoints: u64,
    /// Snapshots of both kinds (whole and paged).
    pub snapshots: u64,
    /// Record frames (the header and footer are not frames).
    pub frames: u64,
}

impl Counts {
    /// All records.
    pub fn records(&self) -> u64 {
        self.inputs + self.observations + self.checkpoints + self.snapshots
    }

    pub(crate) fn add(&mut self, record: &Record) {
        match record {
            Record::Input { .. } => self.inputs += 1,
            Record::Observation { .. } => self.observations += 1,
            Record::Checkpoint { .. } => self.checkpoints += 1,
            Record::Snapshot { .. } | Record::PagedSnapshot { .. } => self.snapshots += 1,
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} inputs, {} observations, {} checkpoints, {} snapshots in {} frames",
            self.inputs, self.observations, self.checkpoints, self.snapshots, self.frames
        )
    }
}

/// The end of a complete trace. Stored with bincode in field order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer {
    /// The machine's tick when recording stopped (at least the last record's tick).
    pub final_tick: u64,
    /// `Machine::state_hash` at `final_tick`.
    pub final_hash: u64,
    /// How the run ended (free text before format version 3: see [`RunEnd::Described`]).
    pub end: RunEnd,
    /// What the trace holds; the reader checks it against the records.
    pub counts: Counts,
}
