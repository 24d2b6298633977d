//! The dump text and the info summary.

mod common;

use common::*;
use vexed_trace::{Record, TraceReader, dump, info, info_from_reader};

fn dump_text(bytes: &[u8]) -> String {
    let mut r = TraceReader::new(bytes).unwrap();
    let mut out = Vec::new();
    dump(&mut r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

const HEADER_TEXT: &str = r#"format_version: 8
emulator_version: vexed 0.1.0 (test)
name: sample
machine.model: I80286
machine.ram: 2097152 bytes
machine.rate: 1000000 ticks per second
machine.clock: Host
firmware.xms: Some(XmsConfig { handles: 16, hma_min_kb: 10 })
firmware.ems: None
firmware.dos: DosConfig { boot_time: DateTime { year: 1993, month: 6, day: 15, hour: 13, minute: 45, second: 30 } }
firmware.vmm: None
firmware.dpmi: None
programs: 2
program[0]: TSR.COM "/install"
program[1]: SUB\CLIENT.EXE ""
seed: 3735928559
max_ticks: 50000000
checkpoint_interval: 1000
drive_writable: true
dirs: 2
dir[0]: SUB
dir[1]: EMPTY
files: 2
file[0]: TSR.COM 3 bytes xxh3 148b62e70b860ad0
file[1]: SUB\CLIENT.EXE 8 bytes xxh3 2f7d921e9bf410ec
scenario: 3 lines
scenario| name = "sample"
scenario| [machine]
scenario| cpu = "286"
records:
           0      0.000000s  input       key 1Eh (make)
           0      0.000000s  input       key 9Eh (break)
           1      0.000001s  input       irq 5
         251      0.000251s  input       serial-rx 41h
         502      0.000502s  input       dma-done channel 1
       66038      0.066038s  input       timer-tick
"#;

const END_TEXT: &str = r#"  8590007630   8590.007630s  checkpoint  hash 0123456789abcdef
  8590007630   8590.007630s  snapshot    5000 bytes xxh3 ce29a19460ee1bfc
  8590007631   8590.007631s  checkpoint  hash ffffffffffffffff
  8590007631   8590.007631s  snapshot    0 bytes xxh3 2d06800538d394c2
footer.final_tick: 8590007641 (8590.007641s)
footer.final_hash: feedfacecafebeef
footer.end: finished (exit code 0)
footer.end_kind: finished
footer.counts: 6 inputs, 7 observations, 2 checkpoints, 2 snapshots in 6 frames
"#;

#[test]
fn the_dump_text_is_stable() {
    // Observation lines use emu's Display; the rest of the text is fixed here.
    let mut expected = HEADER_TEXT.to_string();
    for r in records() {
        if let Record::Observation { tick, observation } = r {
            expected.push_str(&format!(
                "{tick:>12} {:>14}  observe     {observation}\n",
                format!("{}.{:06}s", tick / 1_000_000, tick % 1_000_000)
            ));
        }
    }
    expected.push_str(END_TEXT);
    let text = dump_text(&sample());
    if text != expected {
        for (a, b) in text.lines().zip(expected.lines()) {
            assert_eq!(a, b);
        }
        assert_eq!(text, expected);
    }
}

#[test]
fn a_paged_snapshot_dumps_its_store_size_and_page_count() {
    let state = vec![5u8; 300];
    let records = vec![Record::PagedSnapshot {
        tick: 1_500_000,
        state: state.clone(),
        store_len: 3 * 4096,
        pages: vec![
            vexed_trace::SnapshotPage {
                index: 0,
                bytes: vec![1; 4096],
            },
            vexed_trace::SnapshotPage {
                index: 2,
                bytes: vec![2; 4096],
            },
        ],
        coding: vexed_trace::SnapshotCoding::Copy,
    }];
    let text = dump_text(&trace_bytes(&records, 4));
    let line = format!(
        "     1500000      1.500000s  psnapshot   store 12288 bytes, 2 pages changed, state 300 bytes xxh3 {:016x}\n",
        xxhash_rust::xxh3::xxh3_64(&state)
    );
    assert!(text.contains(&line), "{line} in {text}");
    assert!(
        text.contains(
            "footer.counts: 0 inputs, 0 observations, 0 checkpoints, 1 snapshots in 1 frames\n"
        ),
        "{text}"
    );
}

#[test]
fn the_dump_shows_the_vmm_and_dpmi_configuration() {
    let text = dump_text(&sample_v5());
    let line = "firmware.vmm: Some(VmmConfig { slice: 3, vms: [\
        VmSpec { program: Program { name: \"SUB\\\\CLIENT.EXE\", args: \"/vm\" }, \
        foreground_priority: 300, background_priority: 25 }, \
        VmSpec { program: Program { name: \"TSR.COM\", args: \"\" }, \
        foreground_priority: 10000, background_priority: 1 }], focus: 1, \
        rules: VmmRules { critical_sections: true, indos: false, interrupts_in_service: true, \
        xms_lock_after_start: true }, system: Some(Program { name: \"WIN\\\\CLIENT.EXE\", \
        args: \"/sys\" }) })\n";
    assert!(text.contains(line), "{line} in {text}");
    let line = "firmware.vmm: Some(VmmConfig";
    let dpmi = "firmware.dpmi: Some(DpmiConfig { max_client_kb: 3072 })\nprograms: 2\n";
    assert!(text.contains(dpmi), "{dpmi} in {text}");
    assert!(
        text.find(line) < text.find(dpmi),
        "vmm before dpmi in {text}"
    );
}

#[test]
fn a_version_1_trace_dumps_as_version_1_without_a_vmm() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v1.trace");
    let bytes = std::fs::read(path).unwrap();
    let text = dump_text(&bytes);
    let expected = HEADER_TEXT.replacen("format_version: 8\n", "format_version: 1\n", 1);
    assert!(text.starts_with(&expected), "{text}");
    // Its footer's text end reads as the typed end.
    assert!(
        text.contains("footer.end: finished (exit code 0)\nfooter.end_kind: finished\n"),
        "{text}"
    );
    let i = info_from_reader(&mut TraceReader::new(&bytes[..]).unwrap()).unwrap();
    assert_eq!(i.format_version, 1);
    assert!(i.to_string().contains("format: version 1\n"), "{i}");
}

#[test]
fn a_version_3_trace_dumps_as_version_3_without_a_dpmi_host() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v3.trace");
    let bytes = std::fs::read(path).unwrap();
    let text = dump_text(&bytes);
    assert!(text.starts_with("format_version: 3\n"), "{text}");
    assert!(
        text.contains("firmware.vmm: Some(VmmConfig { slice: 3,"),
        "{text}"
    );
    assert!(
        text.contains(")\nfirmware.dpmi: None\nprograms: 2\n"),
        "{text}"
    );
}

#[test]
fn dump_stops_at_an_error_after_writing_what_it_read() {
    let mut bytes = sample();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    let e = dump(&mut r, &mut out).unwrap_err();
    assert!(e.to_string().contains("the footer"), "{e}");
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("snapshot    0 bytes xxh3 2d06800538d394c2\n"),
        "{text}"
    );
}

#[test]
fn info_of_a_file() {
    let bytes = sample();
    let path = std::env::temp_dir().join(format!("vexed-trace-info-{}.trace", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let i = info(&path);
    std::fs::remove_file(&path).unwrap();
    let i = i.unwrap();
    assert_eq!(
        i,
        info_from_reader(&mut TraceReader::new(&bytes[..]).unwrap()).unwrap()
    );
    assert_eq!(i.bytes, bytes.len() as u64);
    assert_eq!(i.header_bytes + i.frame_bytes + i.footer_bytes, i.bytes);
    assert_eq!(i.format_version, vexed_trace::FORMAT_VERSION);
    assert_eq!(i.name, "sample");
    assert_eq!(i.guest_files, 2);
    assert_eq!(i.guest_file_bytes, 11);
    assert_eq!(i.counts.records(), records().len() as u64);
    assert_eq!(i.counts.frames, 6);
    assert_eq!(i.last_tick, 8_590_007_631);
    assert_eq!(i.final_tick, Some(8_590_007_641));
    assert_eq!(i.final_hash, Some(FINAL_HASH));
    assert_eq!(i.end.as_deref(), Some("finished (exit code 0)"));
    assert_eq!(i.end_kind.as_deref(), Some("finished"));
    assert_eq!(i.truncated_after, None);
    assert!(
        i.uncompressed_bytes > i.bytes,
        "the 5000-byte snapshot compresses"
    );
    assert!(i.compression_ratio > 1.0);
    let text = i.to_string();
    for line in [
        "name: sample\n",
        "format: version 8\n",
        "records: 6 inputs, 7 observations, 2 checkpoints, 2 snapshots\n",
        "final tick: 8590007641 (8590.007641s)\n",
        "final state hash: feedfacecafebeef\n",
        "end: finished (exit code 0) (finished)\n",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    // A missing file is an I/O error.
    let e = info(std::env::temp_dir().join("vexed-trace-no-such-file.trace")).unwrap_err();
    assert!(
        matches!(e, vexed_trace::TraceError::Io { offset: 0, .. }),
        "{e}"
    );
}
