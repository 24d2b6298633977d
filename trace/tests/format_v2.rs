//! Traces written by format version 2 stay readable: `data/format_v2.trace` was written by
//! the second version of the format (the first with the VMM configuration in the firmware
//! configuration) from `common::header_v2()` and `common::records()`, and must decode to
//! exactly those values for as long as version 2 is supported (`upgrade.rs`). If this test
//! fails, a type stored in traces changed its encoding: bump `FORMAT_VERSION` and add the
//! upgrade path (FORMAT.md, "Versions"). Never rewrite the fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_trace::{FORMAT_VERSION, Record, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v2.trace")
}

#[test]
fn the_version_2_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v2.trace");
    assert_eq!(r.version(), 2);
    assert_eq!(r.header(), &header_v2());
    assert!(
        r.header().firmware.vmm.is_some(),
        "the fixture pins the VMM"
    );
    let records: Vec<Record> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(records, common::records());
    let f = r.footer().expect("a footer");
    assert_eq!(f.final_hash, FINAL_HASH);
    assert_eq!(f.end, END);
    assert_eq!(f.counts.frames, 7);
}

/// While version 2 is the current version, this build writes what the fixture holds.
/// When `FORMAT_VERSION` moves on, move this test to the new version's fixture.
#[test]
fn this_build_writes_what_the_fixture_holds() {
    assert_eq!(FORMAT_VERSION, 2, "move this test to the current fixture");
    // zstd's output may differ between library versions, so compare what both decode to
    // (done above) and the parts that are not compressed: the prefix of the header and
    // the footer.
    let old = std::fs::read(fixture()).unwrap();
    let new = sample_v2();
    assert_eq!(old[..12], new[..12], "magic and version");
    let footer_len = 76;
    assert_eq!(
        old[old.len() - footer_len..],
        new[new.len() - footer_len..],
        "the footer"
    );
}

/// Writes the fixture if it does not exist: `cargo test -p vexed-trace --test format_v2
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
    std::fs::write(&path, sample_v2()).unwrap();
}
