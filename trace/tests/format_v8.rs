//! Traces written by format version 8 stay readable: `data/format_v8.trace` was written by
//! the eighth version of the format (the first whose first delta snapshot is coded against
//! the machine the header builds at tick 0, and whose checkpoints at a fixed spacing are
//! stored as checkpoint runs, record kind 6) from `common::header_v5()`,
//! `common::records_v8()` and the end `common::END`, and must decode to exactly those
//! values for as long as version 8 is supported (`upgrade.rs`). If this test fails, a type
//! stored in traces changed its encoding: bump `FORMAT_VERSION` and add the upgrade path
//! (FORMAT.md, "Versions"). Never rewrite the fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_emu::machine::HashScheme;
use vexed_trace::{FORMAT_VERSION, Record, SnapshotBase, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v8.trace")
}

#[test]
fn the_version_8_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v8.trace");
    assert_eq!(r.version(), 8);
    assert_eq!(r.hash_scheme(), HashScheme::PagedMap);
    assert_eq!(r.snapshot_base(), SnapshotBase::MachineAtTick0);
    assert_eq!(r.header(), &header_v5());
    let records: Vec<Record> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(records, common::records_v8());
    let f = r.footer().expect("a footer");
    assert_eq!(f.final_hash, FINAL_HASH);
    assert_eq!(f.end, END);
    assert_eq!(f.counts.checkpoints, 11);
}

/// FORMAT.md, "Frames and records": a checkpoint run is kind 6, then `dt`, the spacing and
/// the hashes as one byte string of 8 little-endian bytes each. One of the fixture's frames
/// (the one of the last snapshot: the snapshot, its checkpoint, an input, five checkpoints
/// 1,000,000 ticks apart) holds the five as one run: `06`, `dt` (1,000,000 after the input:
/// `FC 40 42 0F 00`), the spacing (the same) and `28` (40 bytes of hashes).
#[test]
fn a_checkpoint_run_is_stored_as_the_format_says() {
    let bytes = std::fs::read(fixture()).unwrap();
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut at = 20 + word(12) as usize;
    let run = [
        0x06, 0xFC, 0x40, 0x42, 0x0F, 0x00, 0xFC, 0x40, 0x42, 0x0F, 0x00, 0x28,
    ];
    let mut found = Vec::new();
    while word(at) != 0xFFFF_FFFF {
        let payload = &bytes[at + 8..at + 8 + word(at) as usize];
        let raw = zstd::stream::decode_all(payload).unwrap();
        if let Some(p) = raw.windows(run.len()).position(|w| w == run) {
            found.push(raw[p + run.len()..p + run.len() + 40].to_vec());
        }
        at += 8 + word(at) as usize;
    }
    assert_eq!(found.len(), 1, "one frame holds the run");
    let first = 0x8000_0000_0000_0000u64 | 0x9E37_79B9_7F4A_7C15u64 >> 1;
    assert_eq!(found[0][..8], first.to_le_bytes());
}

#[test]
fn the_version_8_file_starts_with_magic_and_version_8() {
    // FORMAT.md, "Layout": "VEXEDTRC", then the version as a little-endian u32.
    let bytes = std::fs::read(fixture()).unwrap();
    assert_eq!(bytes[..8], *b"VEXEDTRC");
    assert_eq!(bytes[8..12], [8, 0, 0, 0]);
}

/// While version 8 is the current version, this build writes what the fixture holds.
/// When `FORMAT_VERSION` moves on, move this test to the new version's fixture.
#[test]
fn this_build_writes_what_the_fixture_holds() {
    assert_eq!(FORMAT_VERSION, 8, "move this test to the current fixture");
    // zstd's output may differ between library versions, so compare what both decode to
    // (done above) and the parts that are not compressed: the prefix of the header and
    // the footer (FORMAT.md, "The footer": its prefix and body).
    let old = std::fs::read(fixture()).unwrap();
    let new = sample_v8();
    assert_eq!(old[..12], new[..12], "magic and version");
    let footer_len = 12 + 25;
    assert_eq!(
        old[old.len() - footer_len..],
        new[new.len() - footer_len..],
        "the footer"
    );
}

/// Writes the fixture if it does not exist: `cargo test -p vexed-trace --test format_v8
/// -- --ignored`. Only ever for a new version's new fixture.
#[test]
#[ignore]
fn write_the_fixture() {
    let path = fixture();
    assert!(
        !path.exists(),
        "{} exists: never rewrite a fixture",
        path.display()
    );
    std::fs::write(&path, sample_v8()).unwrap();
}
