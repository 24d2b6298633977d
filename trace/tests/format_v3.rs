//! Traces written by format version 3 stay readable: `data/format_v3.trace` was written by
//! the third version of the format (the first with a typed end of run in the footer) from
//! `common::header_v2()`, `common::records()` and the end `common::END`, and must decode to
//! exactly those values for as long as version 3 is supported (`upgrade.rs`). If this test
//! fails, a type stored in traces changed its encoding: bump `FORMAT_VERSION` and add the
//! upgrade path (FORMAT.md, "Versions"). Never rewrite the fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_trace::{Record, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v3.trace")
}

#[test]
fn the_version_3_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v3.trace");
    assert_eq!(r.version(), 3);
    // Its header has no DPMI host: it reads with `dpmi: None` (format version 4).
    assert_eq!(r.header(), &header_v2());
    assert_eq!(r.header().firmware.dpmi, None);
    let records: Vec<Record> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(records, common::records());
    let f = r.footer().expect("a footer");
    assert_eq!(f.final_hash, FINAL_HASH);
    assert_eq!(f.end, RunEnd::Finished { exit_code: 0 });
    assert_eq!(f.counts.frames, 7);
}

#[test]
fn the_version_3_footer_stores_the_end_as_a_variant() {
    // FORMAT.md, "The footer": final_tick (varint FD + 8 bytes: 8,590,007,641),
    // final_hash (FD + 8 bytes), end (variant 0 Finished, exit_code 0), then the counts
    // 6, 7, 2, 2, 7.
    let bytes = std::fs::read(fixture()).unwrap();
    let mut body = vec![0xFD];
    body.extend_from_slice(&8_590_007_641u64.to_le_bytes());
    body.push(0xFD);
    body.extend_from_slice(&FINAL_HASH.to_le_bytes());
    body.extend_from_slice(&[0, 0, 6, 7, 2, 2, 7]);
    assert!(
        bytes.ends_with(&body),
        "{:02x?}",
        &bytes[bytes.len() - 40..]
    );
    let prefix = &bytes[bytes.len() - body.len() - 12..bytes.len() - body.len()];
    assert_eq!(prefix[..4], [0xFF; 4], "the footer tag");
    assert_eq!(prefix[4..8], (body.len() as u32).to_le_bytes());
}
