//! Traces written by format version 1 stay readable: `data/format_v1.trace` was written by
//! the first version of the format from `common::header()` and `common::records()` with
//! the footer text `common::END_TEXT`, and
//! must decode to exactly those values for as long as version 1 is supported
//! (`upgrade.rs`). If this test fails, a type stored in traces changed its encoding: bump
//! `FORMAT_VERSION` and add the upgrade path (FORMAT.md, "Versions"). Never rewrite the
//! fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_trace::{Record, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v1.trace")
}

#[test]
fn the_version_1_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v1.trace");
    assert_eq!(r.version(), 1);
    assert_eq!(r.header(), &header());
    let records: Vec<Record> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(records, common::records());
    let f = r.footer().expect("a footer");
    assert_eq!(f.final_hash, FINAL_HASH);
    assert_eq!(f.end, END);
    assert_eq!(f.counts.frames, 7);
}
