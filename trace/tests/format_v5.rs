//! Traces written by format version 5 stay readable: `data/format_v5.trace` was written by
//! the fifth version of the format (the first with the system VM's program in the VMM
//! configuration) from `common::header_v5()`, `common::records()` and the end
//! `common::END`, and must decode to exactly those values for as long as version 5 is
//! supported (`upgrade.rs`). If this test fails, a type stored in traces changed its
//! encoding: bump `FORMAT_VERSION` and add the upgrade path (FORMAT.md, "Versions"). Never
//! rewrite the fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_emu::firmware::Program;
use vexed_trace::{Record, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v5.trace")
}

#[test]
fn the_version_5_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v5.trace");
    assert_eq!(r.version(), 5);
    assert_eq!(r.header(), &header_v5());
    assert_eq!(
        r.header()
            .firmware
            .vmm
            .as_ref()
            .and_then(|v| v.system.clone()),
        Some(Program {
            name: "WIN\\CLIENT.EXE".into(),
            args: "/sys".into(),
        }),
        "the fixture pins the system VM's program"
    );
    assert!(r.header().firmware.dpmi.is_some(), "and the DPMI host");
    let records: Vec<Record> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(records, common::records());
    let f = r.footer().expect("a footer");
    assert_eq!(f.final_hash, FINAL_HASH);
    assert_eq!(f.end, END);
    assert_eq!(f.counts.frames, 7);
    // Version 6 changed what the hashes are hashes of, not how anything is stored.
    assert_eq!(
        r.hash_scheme(),
        vexed_emu::machine::HashScheme::Whole,
        "checkpoints of version 5 hold the whole-machine hash"
    );
}

#[test]
fn the_version_5_file_starts_with_magic_and_version_5() {
    // FORMAT.md, "Layout": "VEXEDTRC", then the version as a little-endian u32.
    let bytes = std::fs::read(fixture()).unwrap();
    assert_eq!(bytes[..8], *b"VEXEDTRC");
    assert_eq!(bytes[8..12], [5, 0, 0, 0]);
}

/// Writes the fixture if it does not exist: `cargo test -p vexed-trace --test format_v5
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
    std::fs::write(&path, sample_v5()).unwrap();
}
