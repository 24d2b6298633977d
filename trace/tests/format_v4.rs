//! Traces written by format version 4 stay readable: `data/format_v4.trace` was written by
//! the fourth version of the format (the first with the DPMI host in the firmware
//! configuration) from `common::header_v4()`, `common::records()` and the end
//! `common::END`, and must decode to exactly those values for as long as version 4 is
//! supported (`upgrade.rs`). If this test fails, a type stored in traces changed its
//! encoding: bump `FORMAT_VERSION` and add the upgrade path (FORMAT.md, "Versions"). Never
//! rewrite the fixture to make the test pass.

mod common;

use std::path::PathBuf;

use common::*;
use vexed_emu::firmware::dpmi::DpmiConfig;
use vexed_trace::{Record, TraceReader};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v4.trace")
}

#[test]
fn the_version_4_fixture_still_reads() {
    let mut r = TraceReader::open(fixture()).expect("tests/data/format_v4.trace");
    assert_eq!(r.version(), 4);
    assert_eq!(r.header(), &header_v4());
    assert_eq!(
        r.header().firmware.dpmi,
        Some(DpmiConfig {
            max_client_kb: 3072
        }),
        "the fixture pins the DPMI host"
    );
    assert!(
        r.header().firmware.vmm.is_some(),
        "the fixture pins the VMM"
    );
    // Version 5 added the system VM's program: version 4 read as "none".
    assert_eq!(
        r.header().firmware.vmm.as_ref().map(|v| &v.system),
        Some(&None)
    );
    let records: Vec<Record> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(records, common::records());
    let f = r.footer().expect("a footer");
    assert_eq!(f.final_hash, FINAL_HASH);
    assert_eq!(f.end, END);
    assert_eq!(f.counts.frames, 7);
}

#[test]
fn the_version_4_file_starts_with_magic_and_version_4() {
    // FORMAT.md, "Layout": "VEXEDTRC", then the version as a little-endian u32.
    let bytes = std::fs::read(fixture()).unwrap();
    assert_eq!(bytes[..8], *b"VEXEDTRC");
    assert_eq!(bytes[8..12], [4, 0, 0, 0]);
}

#[test]
fn the_version_4_footer_is_that_of_version_3() {
    // FORMAT.md, "The footer" (unchanged in version 4): final_tick (varint FD + 8 bytes:
    // 8,590,007,641), final_hash (FD + 8 bytes), end (variant 0 Finished, exit_code 0),
    // then the counts 6, 7, 2, 2, 7.
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

/// Writes the fixture if it does not exist: `cargo test -p vexed-trace --test format_v4
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
    std::fs::write(&path, sample_v4()).unwrap();
}
