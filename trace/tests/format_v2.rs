//! Traces written by format version 2 stay readable: `data/format_v2.trace` was written by
//! the second version of the format (the first with the VMM configuration in the firmware
//! configuration) from `common::header_v2()` and `common::records()` with the footer text
//! `common::END_TEXT`, and must decode to
//! exactly those values for as long as version 2 is supported (`upgrade.rs`). If this test
//! fails, a type stored in traces changed its encoding: bump `FORMAT_VERSION` and add the
//! upgrade path (FORMAT.md, "Versions"). Never rewrite the fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_trace::{Record, TraceReader};

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
    // Its text end, `END_TEXT`, reads as the typed end (format version 3).
    assert_eq!(f.end, END);
    assert_eq!(f.counts.frames, 7);
}
