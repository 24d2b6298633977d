//! The validating reader `Trace`: damaged, forged and unfinished traces give one typed
//! answer (an error naming the part and offset, or `Unfinished`), snapshots are indexed and
//! decoded on demand, and the limits of FORMAT.md ("Limits") hold before anything large is
//! allocated.

mod common;

use std::time::{Duration, Instant};

use common::*;
use vexed_emu::machine::Input;
use vexed_emu::observe::Observation;
use vexed_trace::{
    Completeness, FOOTER_TAG, FORMAT_VERSION, Header, MAGIC, Part, Record, SnapshotPage, Trace,
    TraceError, TraceWriter, WriterOptions, limits,
};

/// A header whose records may reach tick 50,000,000.
fn header_50m() -> Header {
    let h = header();
    assert_eq!(h.max_ticks, 50_000_000);
    h
}

/// Records with two snapshots (a whole one and a paged one), each before its checkpoint.
fn snapshot_records() -> Vec<Record> {
    vec![
        Record::Input {
            tick: 5,
            input: Input::Key { scancode: 0x1E },
        },
        Record::Snapshot {
            tick: 1000,
            state: vec![1, 2, 3],
        },
        Record::Checkpoint {
            tick: 1000,
            hash: 11,
        },
        Record::Observation {
            tick: 1500,
            observation: Observation::Console {
                bytes: b"hi".to_vec(),
            },
        },
        Record::PagedSnapshot {
            tick: 2000,
            state: vec![4, 5],
            store_len: 2 << 20,
            pages: vec![SnapshotPage {
                index: 3,
                bytes: vec![9; 4096],
            }],
            coding: vexed_trace::SnapshotCoding::Copy,
        },
        Record::Checkpoint {
            tick: 2000,
            hash: 22,
        },
        Record::Input {
            tick: 2000,
            input: Input::Irq { line: 1 },
        },
    ]
}

fn written(header: &Header, records: &[Record], finish: Option<u64>) -> Vec<u8> {
    let opts = WriterOptions {
        max_frame_records: 2,
        ..WriterOptions::default()
    };
    let mut w = TraceWriter::with_options(Vec::new(), header, opts).unwrap();
    for r in records {
        w.push(r.clone()).unwrap();
    }
    let last = records.last().map_or(0, Record::tick);
    let bytes = w.finish(finish.unwrap_or(last), FINAL_HASH, &END).unwrap();
    match finish {
        Some(_) => bytes,
        None => without_footer(bytes),
    }
}

/// What a recorder killed before its footer leaves: the file without the footer.
fn without_footer(bytes: Vec<u8>) -> Vec<u8> {
    let mut r = vexed_trace::TraceReader::new(&bytes[..]).unwrap();
    while r.next_record().unwrap().is_some() {}
    let footer = r.stats().footer_bytes as usize;
    assert!(footer > 0);
    bytes[..bytes.len() - footer].to_vec()
}

fn header_len() -> usize {
    TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .bytes_written() as usize
}

fn err(bytes: Vec<u8>) -> TraceError {
    match Trace::from_bytes(bytes) {
        Ok(t) => panic!("accepted: {t:?}"),
        Err(e) => e,
    }
}

// Hand-made parts (valid CRCs around what the format does not allow).

fn framed(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(payload);
    let mut out = len.to_vec();
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn forged_frame(raw: &[u8]) -> Vec<u8> {
    framed(&zstd::bulk::compress(raw, 3).unwrap())
}

fn forged_footer(body: &[u8]) -> Vec<u8> {
    let mut out = FOOTER_TAG.to_le_bytes().to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&out);
    h.update(body);
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// A u64 as a bincode varint.
fn varint(v: u64) -> Vec<u8> {
    match v {
        0..=250 => vec![v as u8],
        251..=0xFFFF => [vec![0xFB], (v as u16).to_le_bytes().to_vec()].concat(),
        0x1_0000..=0xFFFF_FFFF => [vec![0xFC], (v as u32).to_le_bytes().to_vec()].concat(),
        _ => [vec![0xFD], v.to_le_bytes().to_vec()].concat(),
    }
}

/// A footer body: final tick, hash 0, end TickLimit (variant 6), counts.
fn footer_body(final_tick: u64, counts: [u64; 5]) -> Vec<u8> {
    let mut b = varint(final_tick);
    b.push(0);
    b.push(6);
    for c in counts {
        b.extend(varint(c));
    }
    b
}

fn with_parts(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .finish(0, 0, &END)
        .unwrap();
    bytes.truncate(header_len());
    for p in parts {
        bytes.extend_from_slice(p);
    }
    bytes
}

/// A whole trace file around a header encoded by hand (`raw`: bincode of a `Header`).
fn with_raw_header(raw: &[u8]) -> Vec<u8> {
    let payload = zstd::bulk::compress(raw, 3).unwrap();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&out);
    h.update(&payload);
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&payload);
    out.extend(forged_footer(&footer_body(0, [0; 5])));
    out
}

fn encode_header(h: &Header) -> Vec<u8> {
    bincode::serde::encode_to_vec(h, bincode::config::standard()).unwrap()
}

// What a good trace gives.

#[test]
fn a_complete_trace_is_indexed() {
    let records = snapshot_records();
    let bytes = written(&header_50m(), &records, Some(3000));
    let size = bytes.len() as u64;
    let t = Trace::from_bytes(bytes).unwrap();
    assert_eq!(t.version(), FORMAT_VERSION);
    assert_eq!(t.header(), &header_50m());
    assert_eq!(t.file_size(), size);
    let plain: Vec<Record> = records
        .iter()
        .filter(|r| !r.is_snapshot())
        .cloned()
        .collect();
    assert_eq!(t.records(), plain);
    let footer = t.footer().expect("complete");
    assert_eq!(footer.final_tick, 3000);
    assert_eq!(footer.end, END);
    assert!(t.completeness().is_complete());
    assert_eq!(t.unfinished_after(), None);
    assert_eq!(t.counts(), &footer.counts);
    assert_eq!(t.counts().snapshots, 2);
    assert_eq!(t.frame_count(), footer.counts.frames);
    assert_eq!(t.frames().len() as u64, t.frame_count());
    assert_eq!(t.last_tick(), 2000);
    // The snapshots: where they are, and decoded on demand.
    let s = t.snapshots();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].tick, s[0].store_len, s[0].records_before),
        (1000, None, 1)
    );
    assert_eq!(
        (s[1].tick, s[1].store_len, s[1].records_before),
        (2000, Some(2 << 20), 3)
    );
    assert!(matches!(
        t.records()[s[1].records_before],
        Record::Checkpoint { tick: 2000, .. }
    ));
    assert!(t.frames()[s[0].frame].snapshot);
    assert_eq!(t.frames()[s[0].frame].offset, s[0].offset);
    assert_eq!(t.snapshot(0).unwrap(), records[1]);
    assert_eq!(t.snapshot(1).unwrap(), records[4]);
    assert!(matches!(
        t.snapshot(2),
        Err(TraceError::NoSuchSnapshot { index: 2, count: 2 })
    ));
    // Frames are contiguous from the header to the footer.
    let mut at = header_len() as u64;
    for f in t.frames() {
        assert_eq!(f.offset, at);
        at += f.len;
    }
}

#[test]
fn the_fixtures_break_the_max_ticks_rule() {
    for v in 1..=3 {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/data/format_v{v}.trace"));
        // Their records reach past the header's max_ticks (they were written before the
        // rule): reading them through `Trace` says so.
        let e = Trace::open(&path).unwrap_err();
        assert!(
            matches!(e, TraceError::Structure { .. }) && e.to_string().contains("max_ticks"),
            "{e}"
        );
    }
}

// Unfinished traces.

#[test]
fn a_trace_cut_to_its_header_plus_42_bytes_is_unfinished_after_tick_0() {
    // A first frame of a console text that does not compress, at tick 7.
    let mut records = vec![Record::Observation {
        tick: 7,
        observation: Observation::Console {
            bytes: (0..200u8).collect(),
        },
    }];
    records.extend(snapshot_records());
    records.retain(|r| r.tick() >= 7);
    let bytes = written(&header_50m(), &records, Some(3000));
    let frame0 = u32::from_le_bytes(bytes[header_len()..header_len() + 4].try_into().unwrap());
    assert!(8 + frame0 > 42, "the cut is inside frame 0");
    let cut = bytes[..header_len() + 42].to_vec();
    let t = Trace::from_bytes(cut).unwrap();
    assert_eq!(
        t.completeness(),
        &Completeness::Unfinished { after_tick: 0 }
    );
    assert!(t.footer().is_none());
    assert!(t.records().is_empty());
    assert_eq!(t.frame_count(), 0);
}

#[test]
fn every_cut_inside_or_after_a_frame_is_unfinished_after_its_last_complete_frame() {
    let records = snapshot_records();
    let bytes = written(&header_50m(), &records, Some(3000));
    let full = Trace::from_bytes(bytes.clone()).unwrap();
    let footer_at = full.frames().last().map(|f| f.offset + f.len).unwrap() as usize;
    for cut in header_len()..footer_at {
        let t = Trace::from_bytes(bytes[..cut].to_vec()).unwrap();
        let complete: Vec<_> = full
            .frames()
            .iter()
            .filter(|f| (f.offset + f.len) as usize <= cut)
            .collect();
        let after = complete.last().map_or(0, |f| f.last_tick);
        assert_eq!(
            t.completeness(),
            &Completeness::Unfinished { after_tick: after },
            "cut at {cut}"
        );
        assert_eq!(t.frame_count(), complete.len() as u64, "cut at {cut}");
        assert!(full.records().starts_with(t.records()));
    }
    // Cut inside the footer's tag: as a cut frame length (the bytes cannot tell).
    for cut in footer_at + 1..footer_at + 4 {
        let t = Trace::from_bytes(bytes[..cut].to_vec()).unwrap();
        assert_eq!(t.unfinished_after(), Some(2000));
    }
    // Cut after the footer's tag: the footer is damaged, not missing.
    for cut in footer_at + 4..bytes.len() {
        let e = err(bytes[..cut].to_vec());
        assert_eq!(e.part(), Some(Part::Footer), "cut at {cut}: {e}");
    }
    // Cut right before the footer: unfinished after the last record.
    let t = Trace::from_bytes(bytes[..footer_at].to_vec()).unwrap();
    assert_eq!(t.unfinished_after(), Some(2000));
}

#[test]
fn a_snapshot_left_without_its_checkpoint_by_a_killed_recorder_is_not_offered() {
    let records = snapshot_records();
    let bytes = written(&header_50m(), &records[..2], None);
    let t = Trace::from_bytes(bytes).unwrap();
    assert_eq!(t.unfinished_after(), Some(1000));
    assert!(t.snapshots().is_empty());
    assert_eq!(t.records(), &records[..1]);
}

// Damage.

#[test]
fn a_damaged_footer_length_field_is_an_error() {
    let bytes = written(&header_50m(), &snapshot_records(), Some(3000));
    let t = Trace::from_bytes(bytes.clone()).unwrap();
    let footer_at = t.frames().last().map(|f| f.offset + f.len).unwrap() as usize;
    let len_at = footer_at + 4;
    let len = u32::from_le_bytes(bytes[len_at..len_at + 4].try_into().unwrap());
    for forged in [len + 1, len + 1000, len - 1, 0, 0xFFFF, 0x1_0000, u32::MAX] {
        let mut b = bytes.clone();
        b[len_at..len_at + 4].copy_from_slice(&forged.to_le_bytes());
        let e = err(b);
        assert_eq!(e.part(), Some(Part::Footer), "length {forged}: {e}");
        assert!(e.offset().is_some(), "{e}");
    }
    // A damaged tag is found too: the footer's CRC still matches the rest.
    for tag in [0xFFFF_FFFEu32, 0x0000_FFFF, 0x7FFF_FFFF] {
        let mut b = bytes.clone();
        b[footer_at..footer_at + 4].copy_from_slice(&tag.to_le_bytes());
        let e = err(b);
        assert!(e.offset().is_some(), "tag {tag:08x}: {e}");
    }
}

#[test]
fn a_record_tick_forged_to_2_pow_63_is_an_error() {
    let tick = 1u64 << 63;
    // A checkpoint at 2^63 and a footer that agrees: the streaming reader accepts it.
    let mut raw = vec![1, 2];
    raw.extend(varint(tick));
    raw.push(7);
    let bytes = with_parts(&[
        forged_frame(&raw),
        forged_footer(&footer_body(tick, [0, 0, 1, 0, 1])),
    ]);
    let o = read_all(&bytes);
    assert!(o.error.is_none(), "{:?}", o.error);
    let e = err(bytes);
    assert!(
        matches!(
            e,
            TraceError::Structure {
                part: Part::Frame(0),
                ..
            }
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("9223372036854775808"), "{text}");
    assert!(text.contains("max_ticks 50000000"), "{text}");
    // A final tick past max_ticks is refused too.
    let bytes = with_parts(&[
        forged_frame(&[1, 2, 10, 7]),
        forged_footer(&footer_body(tick, [0, 0, 1, 0, 1])),
    ]);
    let e = err(bytes);
    assert!(matches!(e, TraceError::FooterMismatch { .. }), "{e}");
}

#[test]
fn a_header_claiming_3_gib_of_ram_is_refused_before_allocation() {
    let mut h = header();
    h.machine.ram = 3 << 30;
    // The writer does not write it.
    let e = TraceWriter::new(Vec::new(), &h).err().unwrap();
    assert!(matches!(e, TraceError::Encode { .. }), "{e}");
    // A forged file is refused when its header is read.
    let bytes = with_raw_header(&encode_header(&h));
    let e = err(bytes);
    assert!(
        matches!(
            e,
            TraceError::Limit {
                part: Part::Header,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("3221225472"), "{e}");
    // Just at the limit is fine.
    h.machine.ram = limits::MAX_RAM as u32;
    let bytes = with_raw_header(&encode_header(&h));
    assert!(Trace::from_bytes(bytes).is_ok());
}

#[test]
fn headers_beyond_the_other_limits_are_refused() {
    use vexed_emu::firmware::Program;
    use vexed_emu::firmware::vmm::{VmSpec, VmmConfig};
    let program = Program {
        name: "A.COM".into(),
        args: String::new(),
    };
    let mut many_vms = header();
    many_vms.firmware.vmm = Some(VmmConfig {
        vms: vec![VmSpec::new(program.clone()); limits::MAX_VMS as usize + 1],
        ..VmmConfig::default()
    });
    let mut many_programs = header();
    many_programs.programs = vec![program; limits::MAX_PROGRAMS as usize + 1];
    let mut big_drive = header();
    big_drive.files = vec![
        vexed_trace::GuestFile::new(
            "A".into(),
            vec![0; (limits::MAX_GUEST_FILES_BYTES / 2) as usize],
        ),
        vexed_trace::GuestFile::new(
            "B".into(),
            vec![0; (limits::MAX_GUEST_FILES_BYTES / 2) as usize + 1],
        ),
    ];
    for (h, text) in [
        (many_vms, "65 VMs"),
        (many_programs, "257 programs"),
        (big_drive, "67108865 bytes of guest files"),
    ] {
        assert!(TraceWriter::new(Vec::new(), &h).is_err(), "{text}");
        let e = err(with_raw_header(&encode_header(&h)));
        assert!(matches!(e, TraceError::Limit { .. }), "{e}");
        assert!(e.to_string().contains(text), "{e} should say {text}");
    }
}

#[test]
fn a_paged_snapshot_claiming_a_4_gib_store_is_refused() {
    // A paged snapshot (kind 4) at tick 10: empty state, store_len, no pages; then its
    // checkpoint.
    let psnapshot = |store_len: u64| {
        let mut raw = vec![1, 4, 10, 0];
        raw.extend(varint(store_len));
        raw.push(0);
        forged_frame(&raw)
    };
    let checkpoint = forged_frame(&[1, 2, 10, 7]);
    let footer = forged_footer(&footer_body(10, [0, 0, 1, 1, 2]));
    let ram = u64::from(header().machine.ram);
    let ok = with_parts(&[psnapshot(ram), checkpoint.clone(), footer.clone()]);
    assert_eq!(Trace::from_bytes(ok).unwrap().snapshots().len(), 1);
    for store_len in [
        1u64 << 32,
        ram + limits::MAX_STORE_EXTRA + 4096,
        ram - 4096,
        limits::MAX_SNAPSHOT_STORE + 4096,
    ] {
        let e = err(with_parts(&[
            psnapshot(store_len),
            checkpoint.clone(),
            footer.clone(),
        ]));
        assert_eq!(e.part(), Some(Part::Frame(0)), "{store_len}: {e}");
        assert!(e.to_string().contains(&store_len.to_string()), "{e}");
    }
}

#[test]
fn an_observation_above_the_limit_is_refused() {
    // A console observation of 2 MiB in a frame under the frame limit.
    let n = 2u64 << 20;
    let mut raw = vec![1, 1, 10, 3];
    raw.extend(varint(n));
    raw.extend(std::iter::repeat_n(b'x', n as usize));
    let bytes = with_parts(&[
        forged_frame(&raw),
        forged_footer(&footer_body(10, [0, 1, 0, 0, 1])),
    ]);
    let e = err(bytes);
    assert!(e.to_string().contains("observation"), "{e}");
    assert!(
        e.to_string().len() < 1000,
        "the error quotes an excerpt: {e}"
    );
    // The writer does not write it.
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    let e = w
        .push(Record::Observation {
            tick: 1,
            observation: Observation::Console {
                bytes: vec![b'x'; n as usize],
            },
        })
        .unwrap_err();
    assert!(matches!(e, TraceError::TooLarge { .. }), "{e}");
    // What one DOS service can write (65,535 tabs expanded to 8 spaces) is within it.
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    w.push(Record::Observation {
        tick: 1,
        observation: Observation::Console {
            bytes: vec![b' '; 8 * 65_535],
        },
    })
    .unwrap();
    let bytes = w.finish(1, 0, &END).unwrap();
    assert_eq!(Trace::from_bytes(bytes).unwrap().records().len(), 1);
}

#[test]
fn a_snapshot_not_followed_by_its_checkpoint_is_refused() {
    let snapshot = Record::Snapshot {
        tick: 100,
        state: vec![1],
    };
    let cases = [
        (
            Record::Input {
                tick: 100,
                input: Input::TimerTick,
            },
            "input at tick 100",
        ),
        (
            Record::Checkpoint { tick: 101, hash: 1 },
            "checkpoint at tick 101",
        ),
        (
            Record::Snapshot {
                tick: 100,
                state: vec![2],
            },
            "snapshot at tick 100",
        ),
    ];
    for (next, text) in cases {
        let bytes = written(&header_50m(), &[snapshot.clone(), next], Some(200));
        let e = err(bytes);
        assert!(matches!(e, TraceError::Structure { .. }), "{e}");
        assert!(e.to_string().contains(text), "{e} should say {text}");
        assert!(e.to_string().contains("its checkpoint"), "{e}");
    }
    // A complete trace that ends with a snapshot.
    let e = err(written(
        &header_50m(),
        std::slice::from_ref(&snapshot),
        Some(200),
    ));
    assert!(
        matches!(
            e,
            TraceError::Structure {
                part: Part::Footer,
                ..
            }
        ),
        "{e}"
    );
    // A snapshot that does not start its frame. Three records: a checkpoint at tick 100
    // (kind 2, hash 5), a whole snapshot (kind 3, dt 0, one state byte) and its checkpoint.
    let raw = vec![3, 2, 100, 5, 3, 0, 1, 9, 2, 0, 7];
    let e = err(with_parts(&[
        forged_frame(&raw),
        forged_footer(&footer_body(100, [0, 0, 2, 1, 1])),
    ]));
    assert!(e.to_string().contains("record 1 of 3"), "{e}");
    assert!(e.to_string().contains("starts a frame"), "{e}");
    // A snapshot followed by its checkpoint in the same frame is what version 8 writes.
    let raw = vec![2, 3, 100, 1, 9, 2, 0, 7];
    let t = vexed_trace::Trace::from_bytes(with_parts(&[
        forged_frame(&raw),
        forged_footer(&footer_body(100, [0, 0, 1, 1, 1])),
    ]))
    .expect("a snapshot and its checkpoint in one frame");
    assert_eq!(t.snapshots().len(), 1);
}

#[test]
fn concatenated_traces_are_refused() {
    let one = written(&header_50m(), &snapshot_records(), Some(3000));
    let mut two = one.clone();
    two.extend_from_slice(&one);
    let e = err(two);
    assert!(matches!(e, TraceError::TrailingData { .. }), "{e}");
    // An unfinished trace followed by another trace.
    let t = Trace::from_bytes(one.clone()).unwrap();
    let footer_at = t.frames().last().map(|f| f.offset + f.len).unwrap() as usize;
    let mut two = one[..footer_at].to_vec();
    two.extend_from_slice(&one);
    let e = err(two);
    assert!(e.to_string().contains("another trace"), "{e}");
    assert_eq!(e.offset(), Some(footer_at as u64));
}

// Files that are not traces.

#[test]
fn devices_fifos_and_directories_are_refused_quickly() {
    let start = Instant::now();
    let e = Trace::open("/dev/zero").unwrap_err();
    assert!(
        matches!(e, TraceError::NotAFile { .. }) && e.to_string().contains("device"),
        "{e}"
    );
    let dir = std::env::temp_dir();
    let e = Trace::open(&dir).unwrap_err();
    assert!(e.to_string().contains("a directory"), "{e}");
    let fifo = dir.join(format!("vexed-trace-fifo-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if made {
        // Opening a FIFO for reading waits for a writer: refusing must not open it.
        let e = Trace::open(&fifo).unwrap_err();
        std::fs::remove_file(&fifo).unwrap();
        assert!(e.to_string().contains("FIFO"), "{e}");
    } else {
        eprintln!("mkfifo is not available: the FIFO case is skipped");
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_file_above_the_size_limit_is_refused_before_reading() {
    let path = std::env::temp_dir().join(format!("vexed-trace-huge-{}", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    // Sparse: no disk space is used.
    f.set_len(limits::MAX_TRACE_SIZE + 1).unwrap();
    drop(f);
    let start = Instant::now();
    let e = Trace::open(&path);
    std::fs::remove_file(&path).unwrap();
    let e = e.unwrap_err();
    assert!(
        matches!(e, TraceError::FileTooLarge { len, limit } if len == limits::MAX_TRACE_SIZE + 1 && limit == limits::MAX_TRACE_SIZE),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn errors_quote_excerpts_of_guest_data() {
    let big = Observation::Console {
        bytes: vec![b'y'; 1 << 20],
    };
    let text = vexed_trace::excerpt(&big);
    assert!(text.len() <= 300, "{}", text.len());
    assert!(text.starts_with("console \"yyyy"), "{text}");
    assert!(text.contains("1048576 bytes"), "{text}");
    let small = Observation::Console {
        bytes: b"ok".to_vec(),
    };
    assert_eq!(vexed_trace::excerpt(&small), small.to_string());
}

#[test]
fn dump_and_info_of_a_trace_are_those_of_the_stream() {
    let bytes = written(&header_50m(), &snapshot_records(), Some(3000));
    let unfinished = without_footer(bytes.clone());
    for b in [bytes, unfinished] {
        let t = Trace::from_bytes(b.clone()).unwrap();
        let mut from_trace = Vec::new();
        vexed_trace::dump_trace(&t, &mut from_trace).unwrap();
        let mut from_stream = Vec::new();
        vexed_trace::dump(
            &mut vexed_trace::TraceReader::new(&b[..]).unwrap(),
            &mut from_stream,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(from_trace).unwrap(),
            String::from_utf8(from_stream).unwrap()
        );
        let i = vexed_trace::info_of(&t);
        let j = vexed_trace::info_from_reader(&mut vexed_trace::TraceReader::new(&b[..]).unwrap())
            .unwrap();
        assert_eq!(i, j);
    }
}

/// The golden traces of `corpora/golden` were written by the recorder (`vexed golden
/// update`): what it writes passes every check of the validating reader.
#[test]
fn the_recorders_golden_traces_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/golden");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "trace") {
            let t = Trace::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(t.completeness().is_complete(), "{}", path.display());
            for i in 0..t.snapshots().len() {
                assert!(t.snapshot(i).unwrap().is_snapshot());
            }
            n += 1;
        }
    }
    assert!(n > 0, "no traces in {}", dir.display());
}
