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
use vexed_trace::{FORMAT_VERSION, Record, TraceReader};

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
}

#[test]
fn the_version_5_file_starts_with_magic_and_version_5() {
    // FORMAT.md, "Layout": "VEXEDTRC", then the version as a little-endian u32.
    let bytes = std::fs::read(fixture()).unwrap();
    assert_eq!(bytes[..8], *b"VEXEDTRC");
    assert_eq!(bytes[8..12], [5, 0, 0, 0]);
}

/// While version 5 is the current version, this build writes what the fixture holds.
/// When `FORMAT_VERSION` moves on, move this test to the new version's fixture.
#[test]
fn this_build_writes_what_the_fixture_holds() {
    assert_eq!(FORMAT_VERSION, 5, "move this test to the current fixture");
    // zstd's output may differ between library versions, so compare what both decode to
    // (done above) and the parts that are not compressed: the prefix of the header and
    // the footer (FORMAT.md, "The footer": 25 bytes of body for this run, 12 of prefix).
    let old = std::fs::read(fixture()).unwrap();
    let new = sample_v5();
    assert_eq!(old[..12], new[..12], "magic and version");
    let footer_len = 12 + 25;
    assert_eq!(
        old[old.len() - footer_len..],
        new[new.len() - footer_len..],
        "the footer"
    );
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
