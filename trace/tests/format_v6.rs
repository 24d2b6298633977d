//! Traces written by format version 6 stay readable: `data/format_v6.trace` was written by
//! the sixth version of the format (the first whose checkpoints hold the paged state hash,
//! and the first with delta-coded paged snapshots, record kind 5) from
//! `common::header_v5()`, `common::records_v6()` and the end `common::END`, and must
//! decode to exactly those values for as long as version 6 is supported (`upgrade.rs`).
//! If this test fails, a type stored in traces changed its encoding: bump
//! `FORMAT_VERSION` and add the upgrade path (FORMAT.md, "Versions"). Never rewrite the
//! fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_emu::machine::HashScheme;
use vexed_trace::{Record, SnapshotCoding, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v6.trace")
}

#[test]
fn the_version_6_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v6.trace");
    assert_eq!(r.version(), 6);
    assert_eq!(r.hash_scheme(), HashScheme::Paged);
    assert_eq!(r.header(), &header_v5());
    let records: Vec<Record> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(records, common::records_v6());
    assert!(
        records.iter().any(|r| matches!(
            r,
            Record::PagedSnapshot {
                coding: SnapshotCoding::Delta,
                ..
            }
        )),
        "the fixture pins the delta-coded snapshot"
    );
    let f = r.footer().expect("a footer");
    assert_eq!(f.final_hash, FINAL_HASH);
    assert_eq!(f.end, END);
}

#[test]
fn the_version_6_file_starts_with_magic_and_version_6() {
    // FORMAT.md, "Layout": "VEXEDTRC", then the version as a little-endian u32.
    let bytes = std::fs::read(fixture()).unwrap();
    assert_eq!(bytes[..8], *b"VEXEDTRC");
    assert_eq!(bytes[8..12], [6, 0, 0, 0]);
}
