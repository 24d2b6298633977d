//! Time-travel debugging on a long trace (issue 19): `corpora/bench/longrun.toml`, LOOP.COM
//! twice (2 x 720,896,000 instructions) then XMSTEST.COM, 1.44 G ticks, recorded in the
//! set-up with the default checkpoints and snapshots (a snapshot every 16 M ticks).
//!
//! - `debug/reverse_stepi`: one tick back from a position 10^8 ticks into the second
//!   LOOP.COM (each iteration one more tick back; the snapshot cache near the position
//!   makes it a restore of a nearby copy and a short re-execution).
//! - `debug/reverse_continue_1e8`: from that position, reverse-continue to a breakpoint on
//!   LOOP.COM's first instruction (PSP:0100, `xor bx,bx` in `corpora/guests/loop.asm`), whose
//!   last execution is the start of the second LOOP.COM, 10^8 ticks back. Each iteration
//!   first moves back to the position (not timed).
//!
//! The first reverse-continue, with nothing cached yet near the breakpoint, is timed once
//! and printed as well.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vexed_emu::observe::Observation;
use vexed_replay::debug::breakpoints::Point;
use vexed_replay::debug::{Debugger, StopReason};
use vexed_replay::recording::Recording;
use vexed_replay::scenario::Scenario;
use vexed_replay::session::{self, RecordOptions};

const BACK: u64 = 100_000_000;

fn longrun() -> Recording {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/bench/longrun.toml");
    let text = std::fs::read_to_string(&path).expect("longrun.toml");
    let s = Scenario::load(&path).expect("scenario");
    let opts = RecordOptions::default();
    let header = session::header(&s, &text, &opts).expect("header");
    let bytes = session::record_scripted(&header, Vec::new(), &opts).expect("record");
    Recording::from_bytes(&bytes).expect("trace")
}

fn debug(c: &mut Criterion) {
    let rec = longrun();
    // The second LOOP.COM's start: its tick and PSP (a .COM starts at PSP:0100).
    let (start, psp) = rec
        .observations
        .iter()
        .filter_map(|(t, o)| match o {
            Observation::ProgramStart { psp, path } if path.ends_with("LOOP.COM") => {
                Some((*t, *psp))
            }
            _ => None,
        })
        .nth(1)
        .expect("a second LOOP.COM");
    let entry = u32::from(psp) * 16 + 0x100;
    let at = start + BACK;
    let mut d = Debugger::new(rec).expect("debugger");
    d.seek(at).expect("seek");
    d.points
        .add(Point::Break {
            addr: entry,
            hardware: false,
        })
        .expect("breakpoint");

    let t = Instant::now();
    let r = d.reverse_cont().expect("reverse-continue");
    let cold = t.elapsed();
    assert!(matches!(r, StopReason::Hit { .. }), "{r:?}");
    let hit = d.tape.now();
    assert!(
        hit >= start && hit - start < 1000,
        "hit at {hit}, start {start}"
    );
    eprintln!(
        "debug: first reverse-continue over {} ticks (to tick {hit}): {cold:.2?}",
        at - hit
    );

    let mut g = c.benchmark_group("debug");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("reverse_continue_1e8", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                d.seek(at).expect("seek");
                let t = Instant::now();
                let r = d.reverse_cont().expect("reverse-continue");
                total += t.elapsed();
                assert_eq!(d.tape.now(), hit, "{r:?}");
            }
            total
        })
    });
    d.points.clear();
    d.seek(at).expect("seek");
    g.sample_size(50);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("reverse_stepi", |b| {
        b.iter(|| d.reverse_stepi(1).expect("reverse-stepi"))
    });
    g.finish();
}

criterion_group!(benches, debug);
criterion_main!(benches);
