//! Damaged, truncated and forged traces: always a typed error or a clean truncated prefix,
//! never a panic, never different data.

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use vexed_trace::{
    FOOTER_TAG, FORMAT_VERSION, Part, Record, TraceError, TraceReader, TraceWriter, limits,
};

struct Sample {
    bytes: Vec<u8>,
    records: Vec<Record>,
    footer: vexed_trace::Footer,
    /// Offsets where a part (frame or footer) starts, i.e. where the header or a frame ends.
    boundaries: Vec<usize>,
}

fn sample_trace() -> &'static Sample {
    static S: OnceLock<Sample> = OnceLock::new();
    S.get_or_init(|| {
        let bytes = sample();
        let o = read_all(&bytes);
        assert!(o.error.is_none());
        let mut boundaries = vec![header_len()];
        let mut at = header_len();
        while u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) != FOOTER_TAG {
            at += 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            boundaries.push(at);
        }
        Sample {
            records: o.records,
            footer: o.footer.unwrap(),
            bytes,
            boundaries,
        }
    })
}

fn header_len() -> usize {
    TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .bytes_written() as usize
}

fn is_prefix(records: &[Record], of: &[Record]) -> bool {
    records.len() <= of.len() && records == &of[..records.len()]
}

/// Reads `bytes` both as a stream and with the file length known; checks the invariants
/// every damaged file must keep, and returns the streaming outcome.
fn check(bytes: &[u8]) -> Outcome {
    let s = sample_trace();
    let o = read_all(bytes);
    assert!(
        is_prefix(&o.records, &s.records),
        "records differ from the original"
    );
    if let Some(h) = &o.header {
        assert_eq!(h, &header(), "a header that differs was accepted");
    }
    if let Some(f) = &o.footer {
        assert_eq!(f, &s.footer, "a footer that differs was accepted");
        assert_eq!(o.records, s.records, "a footer after missing records");
    }
    if o.error.is_none() && o.footer.is_none() {
        let last = o.records.last().map_or(0, Record::tick);
        assert_eq!(o.truncated_after, Some(last));
    }
    // With the length known the outcome is the same, with the same offsets.
    let known = match TraceReader::with_file_len(bytes, Some(bytes.len() as u64)) {
        Err(e) => Some(e),
        Ok(mut r) => loop {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        },
    };
    match (&o.error, &known) {
        (None, None) => {}
        (Some(a), Some(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{a} / {b}"
        ),
        (a, b) => panic!("streaming gave {a:?}, with the length known {b:?}"),
    }
    o
}

#[test]
fn truncation_at_every_offset_is_a_clean_prefix_or_names_the_offset() {
    let s = sample_trace();
    let mut clean = Vec::new();
    for cut in 0..s.bytes.len() {
        let o = check(&s.bytes[..cut]);
        assert!(o.footer.is_none(), "cut at {cut}");
        match o.error {
            None => clean.push(cut),
            Some(TraceError::Truncated {
                offset, after_tick, ..
            }) => {
                assert_eq!(offset, cut as u64, "cut at {cut}");
                let last = o.records.last().map_or(0, Record::tick);
                if cut >= header_len() {
                    assert_eq!(after_tick, Some(last), "cut at {cut}");
                    assert_eq!(o.truncated_after, Some(last), "cut at {cut}");
                }
            }
            Some(e) => panic!("cut at {cut}: {e}"),
        }
    }
    // Clean cuts are exactly the ends of the header and of each frame.
    assert_eq!(clean, s.boundaries);
    assert!(s.boundaries.len() > 3, "the sample has several frames");
    // And the whole file reads completely.
    assert!(check(&s.bytes).footer.is_some());
}

#[test]
fn a_cut_between_frames_reports_truncated_after_the_last_tick() {
    let s = sample_trace();
    let cut = s.boundaries[2];
    let mut r = TraceReader::new(&s.bytes[..cut]).unwrap();
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(r.frames_read(), 2);
    assert_eq!(n, 8, "two frames of four records");
    assert_eq!(r.truncated_after(), Some(s.records[7].tick()));
    assert!(r.footer().is_none());
}

#[test]
fn flipping_any_byte_is_an_error() {
    let s = sample_trace();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for at in 0..s.bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF, 0x5A] {
            let mut bytes = s.bytes.clone();
            bytes[at] ^= mask;
            let o = check(&bytes);
            let Some(e) = o.error else {
                panic!("flipping byte {at} with {mask:02x} went unnoticed");
            };
            let kind = format!("{e:?}");
            let kind = kind.split([' ', '(', '{']).next().unwrap_or("").to_string();
            assert!(
                !matches!(e, TraceError::ReaderFailed { .. } | TraceError::Io { .. }),
                "{e}"
            );
            assert!(e.offset().is_some(), "{e}");
            *kinds.entry(kind).or_default() += 1;
        }
    }
    // The damage is recognised for what it is in every part of the file.
    for kind in [
        "BadMagic",
        "UnsupportedVersion",
        "Crc",
        "LengthTooLarge",
        "Truncated",
    ] {
        assert!(kinds.contains_key(kind), "{kind} never happened: {kinds:?}");
    }
}

#[test]
fn errors_name_the_part_and_offset() {
    let s = sample_trace();
    // A payload byte of the second frame.
    let at = s.boundaries[1] + 12;
    let mut bytes = s.bytes.clone();
    bytes[at] ^= 1;
    let o = check(&bytes);
    let e = o.error.unwrap();
    assert!(
        matches!(e, TraceError::Crc { part: Part::Frame(1), offset, .. } if offset == s.boundaries[1] as u64),
        "{e}"
    );
    assert!(
        e.to_string().starts_with(&format!(
            "frame 1 at byte offset {} is damaged",
            s.boundaries[1]
        )),
        "{e}"
    );
    assert_eq!(o.records, s.records[..4], "the first frame was delivered");
    // The footer's body.
    let mut bytes = s.bytes.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = check(&bytes).error.unwrap();
    assert!(
        matches!(
            e,
            TraceError::Crc {
                part: Part::Footer,
                ..
            }
        ),
        "{e}"
    );
    // The header's payload.
    let mut bytes = s.bytes.clone();
    bytes[25] ^= 1;
    let e = check(&bytes).error.unwrap();
    assert!(
        matches!(
            e,
            TraceError::Crc {
                part: Part::Header,
                offset: 0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn not_a_trace() {
    for (bytes, text) in [
        (
            &b"PK\x03\x04 a zip file"[..],
            "50 4b 03 04 20 61 20 7a (\"PK.. a z\")",
        ),
        (&b"VEXEDTRX"[..], "(\"VEXEDTRX\")"),
        (&b"VEXEX"[..], "(\"VEXEX\")"),
    ] {
        let e = TraceReader::new(bytes).err().unwrap();
        assert!(matches!(e, TraceError::BadMagic { .. }), "{e}");
        assert!(e.to_string().contains(text), "{e}");
        assert!(e.to_string().contains("not a vexed trace"), "{e}");
    }
    for len in [0, 3, 8, 12, 19] {
        let e = TraceReader::new(&sample_trace().bytes[..len])
            .err()
            .unwrap();
        assert!(
            matches!(e, TraceError::Truncated { part: Part::Header, offset, .. } if offset == len as u64),
            "{e}"
        );
    }
}

#[test]
fn a_newer_version_is_refused_naming_both_versions() {
    let mut bytes = sample_trace().bytes.clone();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let e = TraceReader::new(&bytes[..]).err().unwrap();
    assert!(
        matches!(e, TraceError::UnsupportedVersion { found, supported } if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("format version {}", FORMAT_VERSION + 1))
            && text.contains(&format!("format version {FORMAT_VERSION}")),
        "{text}"
    );
    assert!(text.contains("newer"), "{text}");
    bytes[8..12].copy_from_slice(&0u32.to_le_bytes());
    let e = TraceReader::new(&bytes[..]).err().unwrap();
    assert!(e.to_string().contains("format version 0"), "{e}");
}

#[test]
fn data_after_the_footer_is_an_error() {
    let mut bytes = sample_trace().bytes.clone();
    let len = bytes.len() as u64;
    bytes.push(0);
    let e = check(&bytes).error.unwrap();
    assert!(
        matches!(e, TraceError::TrailingData { offset } if offset == len),
        "{e}"
    );
}

#[test]
fn after_an_error_the_reader_stays_failed() {
    let s = sample_trace();
    let mut bytes = s.bytes.clone();
    bytes[s.boundaries[1] + 9] ^= 1;
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    let mut n = 0;
    let e = loop {
        match r.next_record() {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert_eq!(n, 4);
    let again = r.next_record().unwrap_err();
    assert!(
        matches!(again, TraceError::ReaderFailed { offset } if Some(offset) == e.offset()),
        "{again}"
    );
    // The iterator ends after the error.
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    let items: Vec<_> = r.records().collect();
    assert_eq!(items.len(), 5);
    assert!(items[4].is_err());
}

// Forged files: valid CRCs around contents the format does not allow.

/// A frame around `raw` (count and records, bincode bytes written by hand).
fn forged_frame(raw: &[u8]) -> Vec<u8> {
    let payload = zstd::bulk::compress(raw, 3).unwrap();
    framed(&payload)
}

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

fn with_parts(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = sample_trace().bytes[..header_len()].to_vec();
    for p in parts {
        bytes.extend_from_slice(p);
    }
    bytes
}

fn error_of(bytes: &[u8]) -> TraceError {
    let o = read_all(bytes);
    o.error.expect("an error")
}

#[test]
fn forged_frames_are_refused() {
    // A checkpoint record is [2, dt, hash]; a frame is [count, records...].
    let good = forged_frame(&[1, 2, 10, 7]);
    let o = read_all(&with_parts(std::slice::from_ref(&good)));
    assert!(o.error.is_none());
    assert_eq!(o.records, [Record::Checkpoint { tick: 10, hash: 7 }]);

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (forged_frame(&[0]), "without records"),
        (forged_frame(&[1, 2, 10, 7, 0]), "left over"),
        (forged_frame(&[2, 2, 10, 7]), "record 1 of 2"),
        (
            forged_frame(&[1, 9, 10, 7]),
            "record 0 of 1: invalid value: integer `9`",
        ),
        (forged_frame(&[200, 2, 10, 7]), "cannot fit"),
        (
            forged_frame(&[]),
            "the record count: the data ends too early",
        ),
        (framed(b"not zstd"), "zstd"),
        // The tick overflows: u64::MAX then +1.
        (
            forged_frame(&[
                2, 2, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 2, 1, 0,
            ]),
            "overflows",
        ),
        // A console observation whose byte string claims 2^40 bytes.
        (
            forged_frame(&[1, 1, 0, 3, 0xFD, 0, 0, 0, 0, 0, 1, 0, 0, 1]),
            "record 0 of 1",
        ),
    ];
    for (frame, text) in cases {
        let e = error_of(&with_parts(&[frame]));
        assert!(
            matches!(
                e,
                TraceError::Decode {
                    part: Part::Frame(0),
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains(text), "{e}");
    }
    // A zero length.
    let e = error_of(&with_parts(&[vec![0, 0, 0, 0, 0, 0, 0, 0]]));
    assert!(
        matches!(
            e,
            TraceError::Decode {
                part: Part::Frame(0),
                ..
            }
        ),
        "{e}"
    );
    // The second frame starts before the first ends.
    let e = error_of(&with_parts(&[good.clone(), forged_frame(&[1, 2, 9, 7])]));
    assert!(
        matches!(
            e,
            TraceError::TicksBackwards {
                part: Part::Frame(1),
                tick: 9,
                previous: 10,
                ..
            }
        ),
        "{e}"
    );
}

/// A frame holding one paged snapshot at tick 10 with an empty state, written by hand:
/// count 1, kind 4, dt 10, state length 0, `store_len` (a varint), the page count, then
/// each page as its index (one-byte varint) and its bytes (length FB lo hi, then bytes).
fn forged_paged_snapshot(store_len: &[u8], pages: &[(u8, usize)]) -> Vec<u8> {
    let mut raw = vec![1, 4, 10, 0];
    raw.extend_from_slice(store_len);
    raw.push(pages.len() as u8);
    for &(index, len) in pages {
        raw.push(index);
        raw.push(0xFB);
        raw.extend_from_slice(&(len as u16).to_le_bytes());
        raw.extend(std::iter::repeat_n(index, len));
    }
    forged_frame(&raw)
}

#[test]
fn forged_paged_snapshots_are_refused() {
    // 3 pages: 12288 = FB 00 30.
    let three = [0xFB, 0x00, 0x30];
    let good = forged_paged_snapshot(&three, &[(0, 4096), (2, 4096)]);
    let o = read_all(&with_parts(std::slice::from_ref(&good)));
    assert!(o.error.is_none(), "{:?}", o.error);
    let [
        Record::PagedSnapshot {
            tick: 10,
            state,
            store_len: 12288,
            pages,
            ..
        },
    ] = o.records.as_slice()
    else {
        panic!("{:?}", o.records);
    };
    assert!(state.is_empty());
    assert_eq!(
        pages
            .iter()
            .map(|p| (p.index, p.bytes.len()))
            .collect::<Vec<_>>(),
        [(0, 4096), (2, 4096)]
    );
    assert!(pages[1].bytes.iter().all(|&b| b == 2));

    let cases: Vec<(Vec<u8>, &str)> = vec![
        // Index 3 of a 3-page store.
        (
            forged_paged_snapshot(&three, &[(0, 4096), (3, 4096)]),
            "page 1 of a paged snapshot has index 3, outside its store of 3 pages",
        ),
        // A page of 4095 bytes, and one of 4097.
        (
            forged_paged_snapshot(&three, &[(1, 4095)]),
            "holds 4095 bytes instead of 4096",
        ),
        (
            forged_paged_snapshot(&three, &[(1, 4097)]),
            "holds 4097 bytes instead of 4096",
        ),
        // Pages out of order, and the same page twice.
        (
            forged_paged_snapshot(&three, &[(2, 4096), (1, 4096)]),
            "index 1, not after the previous page's 2",
        ),
        (
            forged_paged_snapshot(&three, &[(1, 4096), (1, 4096)]),
            "index 1, not after the previous page's 1",
        ),
        // A store length of 4097 bytes (FB 01 10), and one of 2^40 (FD ...), more than
        // MAX_SNAPSHOT_STORE (144 MiB).
        (
            forged_paged_snapshot(&[0xFB, 0x01, 0x10], &[]),
            "store length 4097 is not a multiple of 4096",
        ),
        (
            forged_paged_snapshot(&[0xFD, 0, 0, 0, 0, 0, 1, 0, 0], &[]),
            "more than the limit of 150994944",
        ),
        // A page count of 2^32 - 1 in a frame that holds none: decoding fails at the end of
        // the data, without allocating for the claimed count.
        (
            forged_frame(&[1, 4, 10, 0, 0xFB, 0x00, 0x30, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF]),
            "record 0 of 1",
        ),
    ];
    for (frame, text) in cases {
        let e = error_of(&with_parts(&[good.clone(), frame]));
        assert!(
            matches!(
                e,
                TraceError::Decode {
                    part: Part::Frame(1),
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("record 0 of 1"), "{e}");
        assert!(e.to_string().contains(text), "{e} should say {text}");
    }
}

#[test]
fn a_frame_declaring_more_than_the_limit_is_refused_before_decompressing() {
    // A zstd frame header recording a content size of 2^40 bytes, then an empty last block.
    let mut z = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    z.extend_from_slice(&(1u64 << 40).to_le_bytes());
    z.extend_from_slice(&[0x01, 0, 0]);
    let e = error_of(&with_parts(&[framed(&z)]));
    assert!(e.to_string().contains("more than the limit"), "{e}");
    // Declaring 100 bytes and holding none.
    let mut z = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    z.extend_from_slice(&100u64.to_le_bytes());
    z.extend_from_slice(&[0x01, 0, 0]);
    let e = error_of(&with_parts(&[framed(&z)]));
    assert!(
        matches!(
            e,
            TraceError::Decode {
                part: Part::Frame(0),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("zstd"), "{e}");
}

#[test]
fn forged_footers_are_refused() {
    let good = forged_frame(&[1, 2, 10, 7]);
    // Footer: final_tick, final_hash, end (variant 8, Described: length, bytes), counts
    // (5 integers).
    let footer = |final_tick: u8, checkpoints: u8, frames: u8| {
        forged_footer(&[
            final_tick,
            0,
            8,
            2,
            b'o',
            b'k',
            0,
            0,
            checkpoints,
            0,
            frames,
        ])
    };
    let o = read_all(&with_parts(&[good.clone(), footer(10, 1, 1)]));
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.footer.unwrap().end, RunEnd::Described("ok".into()));
    for (f, text) in [
        (
            footer(10, 2, 1),
            "it counts 0 inputs, 0 observations, 2 checkpoints",
        ),
        (footer(10, 1, 2), "in 2 frames"),
        (
            footer(9, 1, 1),
            "final tick 9 is before the last record's tick 10",
        ),
    ] {
        let e = error_of(&with_parts(&[good.clone(), f]));
        assert!(matches!(e, TraceError::FooterMismatch { .. }), "{e}");
        assert!(e.to_string().contains(text), "{e}");
    }
    let e = error_of(&with_parts(&[
        good.clone(),
        forged_footer(&[10, 0, 8, 2, b'o']),
    ]));
    assert!(
        matches!(
            e,
            TraceError::Decode {
                part: Part::Footer,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn huge_length_fields_are_refused_by_limit_or_file_size() {
    let s = sample_trace();
    let h = header_len();
    // The header's length (at offset 12).
    let mut bytes = s.bytes.clone();
    bytes[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = check(&bytes).error.unwrap();
    assert!(
        matches!(e, TraceError::LengthTooLarge { part: Part::Header, offset: 12, len, limit } if len == u64::from(u32::MAX) && limit == limits::MAX_HEADER_LEN),
        "{e}"
    );
    // A frame's length.
    let mut bytes = s.bytes.clone();
    bytes[h..h + 4].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
    let e = check(&bytes).error.unwrap();
    assert!(
        matches!(e, TraceError::LengthTooLarge { part: Part::Frame(0), offset, .. } if offset == h as u64),
        "{e}"
    );
    // The footer's length.
    let f = *s.boundaries.last().unwrap();
    let mut bytes = s.bytes.clone();
    bytes[f + 4..f + 8].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    let e = check(&bytes).error.unwrap();
    assert!(
        matches!(e, TraceError::LengthTooLarge { part: Part::Footer, offset, .. } if offset == f as u64 + 4),
        "{e}"
    );
    // Within the limit but past the end of the file: truncated, found without reading when
    // the file size is known.
    let mut bytes = s.bytes[..h + 8].to_vec();
    bytes[h..h + 4].copy_from_slice(&((60u32) << 20).to_le_bytes());
    let e = TraceReader::with_file_len(&bytes[..], Some(bytes.len() as u64))
        .unwrap()
        .next_record()
        .unwrap_err();
    assert!(
        matches!(e, TraceError::Truncated { part: Part::Frame(0), needed, offset, .. } if needed == (60 << 20) + 8 && offset == bytes.len() as u64),
        "{e}"
    );
    let e = check(&bytes).error.unwrap();
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), 1..=255u8).prop_map(|(i, m)| Mutation::Flip(i, m)),
        2 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<prop::sample::Index>().prop_map(Mutation::Delete),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random damage never panics, never yields different data, and is noticed unless it
    /// cancels out or cuts the file at a frame boundary.
    #[test]
    fn mutated_traces_never_yield_different_data(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let s = sample_trace();
        let mut bytes = s.bytes.clone();
        for m in &mutations {
            match m {
                Mutation::Flip(i, mask) if !bytes.is_empty() => {
                    let at = i.index(bytes.len());
                    bytes[at] ^= mask;
                }
                Mutation::Insert(i, b) => {
                    let at = i.index(bytes.len() + 1);
                    bytes.insert(at, *b);
                }
                Mutation::Delete(i) if !bytes.is_empty() => {
                    let at = i.index(bytes.len());
                    bytes.remove(at);
                }
                Mutation::Truncate(i) => {
                    let at = i.index(bytes.len() + 1);
                    bytes.truncate(at);
                }
                _ => {}
            }
        }
        let o = check(&bytes);
        if o.error.is_none() {
            if o.footer.is_some() {
                prop_assert_eq!(&bytes, &s.bytes, "a changed file read as complete");
            } else {
                prop_assert!(s.bytes.starts_with(&bytes), "a changed file read as a truncated one");
            }
        }
    }
}
