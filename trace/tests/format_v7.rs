//! Traces written by format version 7 stay readable: `data/format_v7.trace` was written by
//! the seventh version of the format (the first whose checkpoints hold the paged state hash
//! with the page map hashed apart, `HashScheme::PagedMap`; its bytes are laid out as in
//! version 6) from `common::header_v5()`, `common::records_v6()` and the end
//! `common::END`, and must decode to exactly those values for as long as version 7 is
//! supported (`upgrade.rs`). If this test fails, a type stored in traces changed its
//! encoding: bump `FORMAT_VERSION` and add the upgrade path (FORMAT.md, "Versions").
//! Never rewrite the fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_emu::machine::HashScheme;
use vexed_trace::{Record, SnapshotBase, SnapshotCoding, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v7.trace")
}

#[test]
fn the_version_7_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v7.trace");
    assert_eq!(r.version(), 7);
    assert_eq!(r.hash_scheme(), HashScheme::PagedMap);
    // Its first delta snapshot was coded against nothing (version 8 codes it against the
    // machine at tick 0).
    assert_eq!(r.snapshot_base(), SnapshotBase::Nothing);
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
fn the_version_7_file_starts_with_magic_and_version_7() {
    // FORMAT.md, "Layout": "VEXEDTRC", then the version as a little-endian u32.
    let bytes = std::fs::read(fixture()).unwrap();
    assert_eq!(bytes[..8], *b"VEXEDTRC");
    assert_eq!(bytes[8..12], [7, 0, 0, 0]);
}

/// Version 7 changed what the hashes mean, not a byte of the layout: past the version
/// field and the header's CRC (which covers it), the version 6 fixture's parts that are not
/// compressed are those of the version 7 one.
#[test]
fn version_7_lays_out_what_version_6_did() {
    let v6 =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v6.trace"))
            .unwrap();
    let v7 = std::fs::read(fixture()).unwrap();
    assert_eq!(v6.len(), v7.len());
    assert_eq!(v6[..8], v7[..8]);
    assert_eq!(v6[12..16], v7[12..16], "the header's length");
}
