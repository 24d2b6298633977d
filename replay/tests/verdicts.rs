//! Every verb that reads a trace agrees on what a damaged trace is (issue 14: "verdicts that
//! cannot lie"). Each fixture below is made from one real recording by the damage a careless
//! or hostile user produced: a cut file, a damaged footer length, a changed snapshot page
//! or snapshot state with its CRC recomputed, a snapshot that holds an empty store, a record tick forged to
//! 2^63, two traces concatenated, a device instead of a file. `replay`, `info`, `dump`,
//! `seek`, `diff` and `timeline` must all refuse each damaged fixture with exit status 2
//! (bad input), within a bounded time; and `replay` exits 0 only on the intact trace.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use vexed_trace::{Record, SnapshotPage, TraceReader, TraceWriter};

mod common;
use common::vexed;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A recording of the critsec scenario (three VMs, 4.1 M ticks) with a snapshot at every checkpoint.
fn base(dir: &Path) -> Vec<u8> {
    let out = dir.join("base.trace");
    let scenario = repo().join("corpora/critsec.toml");
    let r = vexed(&[
        "record",
        &scenario.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
        "--checkpoint-interval",
        "250000",
        "--snapshot-every",
        "1",
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    std::fs::read(&out).expect("base trace")
}

/// The trace `bytes` written again with `edit` applied to each record (records it drops
/// with `None`), footer kept: every CRC is valid, so only the reader's deeper checks can
/// find the damage.
fn rewrite(bytes: &[u8], mut edit: impl FnMut(Record) -> Option<Record>) -> Vec<u8> {
    let mut reader = TraceReader::new(bytes).expect("trace");
    let header = reader.header().clone();
    let mut w = TraceWriter::new(Vec::new(), &header).expect("writer");
    let mut last = 0;
    while let Some(r) = reader.next_record().expect("record") {
        if let Some(r) = edit(r) {
            last = r.tick();
            w.push(r).expect("push");
        }
    }
    let f = reader.footer().cloned().expect("footer");
    // A forged tick past the end moves the footer's final tick with it, as a careful forger
    // would (the writer refuses a footer before its last record).
    w.finish(f.final_tick.max(last), f.final_hash, &f.end)
        .expect("finish")
}

/// `bytes` with the first paged snapshot that `damage` changes (it says whether it did) given
/// its state, store length and pages.
fn damage_snapshot(
    bytes: &[u8],
    mut damage: impl FnMut(&mut Vec<u8>, &mut u64, &mut Vec<SnapshotPage>) -> bool,
) -> Vec<u8> {
    let mut done = false;
    rewrite(bytes, |mut r| {
        if !done
            && let Record::PagedSnapshot {
                state,
                store_len,
                pages,
                ..
            } = &mut r
        {
            done = damage(state, store_len, pages);
        }
        Some(r)
    })
}

fn fixtures(dir: &Path, base: &[u8]) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    let mut put = |name: &'static str, bytes: Vec<u8>| {
        let p = dir.join(format!("{name}.trace"));
        std::fs::write(&p, bytes).expect("fixture");
        out.push((name, p));
    };
    // The footer's length field (4 bytes after the FFFFFFFF tag) damaged.
    let tag = base
        .windows(4)
        .rposition(|w| w == [0xFF; 4])
        .expect("footer tag");
    let mut b = base.to_vec();
    b[tag + 4] ^= 0x40;
    put("footer-length", b);
    // One byte of a snapshot page changed; CRCs recomputed by the writer.
    put(
        "snapshot-page",
        damage_snapshot(base, |_, _, pages| {
            let middle = pages.len() / 2;
            pages.get_mut(middle).is_some_and(|p| {
                p.bytes[100] ^= 0x01;
                true
            })
        }),
    );
    // One byte of a delta-coded snapshot's state changed (inside its zstd frame, past the
    // frame header): it no longer decodes, or decodes to another state.
    put(
        "snapshot-state",
        damage_snapshot(base, |state, _, _| {
            let middle = state.len() / 2;
            state.len() > 24 && {
                state[middle] ^= 0x10;
                true
            }
        }),
    );
    // A snapshot that claims an empty store.
    put(
        "snapshot-empty-store",
        damage_snapshot(base, |_, store_len, pages| {
            *store_len = 0;
            pages.clear();
            true
        }),
    );
    // The last input's tick forged to 2^63.
    let mut reader = TraceReader::new(base).expect("trace");
    let mut last_input = None;
    let mut i = 0usize;
    while let Some(r) = reader.next_record().expect("record") {
        if matches!(r, Record::Observation { .. }) {
            last_input = Some(i);
        }
        i += 1;
    }
    let last = last_input.expect("the critsec run makes observations");
    let mut n = 0usize;
    put(
        "tick-2-63",
        rewrite(base, |r| {
            n += 1;
            match r {
                Record::Observation { observation, .. } if n - 1 == last => {
                    Some(Record::Observation {
                        tick: 1 << 63,
                        observation,
                    })
                }
                other => Some(other),
            }
        }),
    );
    // Two traces one after the other.
    put("concatenated", [base, base].concat());
    out
}

/// Runs `args` and checks it ends within a bounded time.
fn timed(args: &[&str]) -> Output {
    let started = Instant::now();
    let out = vexed(args);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "vexed {args:?} took {:?}",
        started.elapsed()
    );
    out
}

/// The exit status of every trace-reading verb on `trace` (against `good` for `diff`).
fn verdicts(dir: &Path, trace: &Path, good: &Path) -> Vec<(&'static str, Option<i32>, String)> {
    let t = trace.to_string_lossy().into_owned();
    let svg = dir.join("out.svg").to_string_lossy().into_owned();
    let g = good.to_string_lossy().into_owned();
    let runs: Vec<(&'static str, Vec<&str>)> = vec![
        ("replay", vec!["replay", "--quiet", &t]),
        ("info", vec!["info", &t]),
        ("dump", vec!["dump", &t]),
        ("seek", vec!["seek", &t, "--tick", "1000"]),
        ("diff", vec!["diff", &g, &t]),
        ("timeline", vec!["timeline", &t, "-o", &svg]),
    ];
    runs.into_iter()
        .map(|(verb, args)| {
            let out = timed(&args);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            (verb, out.status.code(), err)
        })
        .collect()
}

#[test]
fn every_verb_refuses_every_damaged_trace() {
    let dir = scratch("verdicts");
    let base = base(&dir);
    let good = dir.join("base.trace");
    for (verb, code, err) in verdicts(&dir, &good, &good) {
        assert_eq!(code, Some(0), "{verb} on the intact trace: {err}");
    }
    let mut failures = Vec::new();
    for (name, path) in fixtures(&dir, &base) {
        for (verb, code, err) in verdicts(&dir, &path, &good) {
            if code != Some(2) {
                failures.push(format!("{verb} on {name}: exit {code:?}\n{err}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn devices_and_directories_are_refused_at_once() {
    let dir = scratch("verdicts-devices");
    base(&dir);
    let good = dir.join("base.trace");
    for path in [Path::new("/dev/zero"), dir.as_path()] {
        for (verb, code, err) in verdicts(&dir, path, &good) {
            assert_eq!(code, Some(2), "{verb} on {}: {err}", path.display());
        }
    }
}

#[test]
fn a_trace_cut_after_its_header_is_unfinished_never_identical() {
    let dir = scratch("verdicts-cut");
    let base = base(&dir);
    let len = 20 + u32::from_le_bytes([base[12], base[13], base[14], base[15]]) as usize;
    let cut = dir.join("cut.trace");
    std::fs::write(&cut, &base[..len + 42]).expect("cut");
    let out = timed(&["replay", "--quiet", &cut.to_string_lossy()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("unfinished"), "{err}");
    let out = timed(&[
        "replay",
        "--quiet",
        "--allow-unfinished",
        &cut.to_string_lossy(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn seek_past_the_end_is_refused_before_running() {
    let dir = scratch("verdicts-seek");
    base(&dir);
    let good = dir.join("base.trace").to_string_lossy().into_owned();
    let out = timed(&["seek", &good, "--tick", "18446744073709551615"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("after the end of the recorded run"), "{err}");
}
