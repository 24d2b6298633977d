//! Seeking and localizing in a run of more than 10^9 ticks (corpora/bench/longrun.toml: the
//! CPU loop twice, then the XMS driver test; about 1.44 x 10^9 ticks), with the default
//! checkpoint and snapshot spacing (a checkpoint every 1,000,000 ticks, a paged snapshot
//! every 16th).
//!
//! - `seek/middle`: the machine at the run's middle tick.
//! - `localize/driver_call`: the trace recorded by a build whose XMS driver answers 02h with
//!   BL=90h (planted), replayed by this build: the divergence near the end (the driver test
//!   runs last) localized to the call.
//! - `localize/lost_key`: the trace of a run that got a keystroke at tick 1,400,000,017,
//!   with its inputs taken out of the trace: only the checkpoints tell, so the localizer
//!   compares the replay with the next recorded snapshot and single-steps the stretch.
//!
//! The set-up records the traces and replays them once to find the divergences (about a
//! minute in release). Run with `cargo bench -p vexed-replay --bench bisect`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use vexed_emu::machine::{Input, Machine};
use vexed_replay::localize::localize;
use vexed_replay::recording::Recording;
use vexed_replay::scenario::Scenario;
use vexed_replay::seek::seek;
use vexed_replay::session::{self, Divergence, RecordOptions, Replayed};
use vexed_trace::{Record, TraceReader, TraceWriter};

const KEY_AT: u64 = 1_400_000_017;

fn release_hma_says_90h(m: &mut Machine) {
    if let Some(f) = m.firmware_mut() {
        f.plant_xms_error(0x02, 0x90);
    }
}

fn record(inputs: Vec<(u64, Input)>, opts: &RecordOptions) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/bench/longrun.toml");
    let text = std::fs::read_to_string(&path).expect("longrun.toml");
    let s = Scenario::load(&path).expect("scenario");
    let header = session::header(&s, &text, opts).expect("header");
    session::record_scripted(&header, inputs, opts).expect("record")
}

fn divergence(bytes: &[u8]) -> Divergence {
    match session::replay_bytes(bytes, &mut std::io::sink()).expect("replay") {
        Replayed::Diverged(d) => *d,
        other => panic!("the planted trace must diverge: {other:?}"),
    }
}

/// `bytes` without its input records.
fn without_inputs(bytes: &[u8]) -> Vec<u8> {
    let mut reader = TraceReader::new(bytes).expect("trace");
    let mut w = TraceWriter::new(Vec::new(), reader.header()).expect("writer");
    while let Some(r) = reader.next_record().expect("record") {
        if !matches!(r, Record::Input { .. }) {
            w.push(r).expect("push");
        }
    }
    let f = reader.footer().expect("footer").clone();
    w.finish(f.final_tick, f.final_hash, &f.end)
        .expect("finish")
}

fn bisect(c: &mut Criterion) {
    let plain = record(Vec::new(), &RecordOptions::default());
    let final_tick = TraceReader::new(plain.as_slice())
        .expect("trace")
        .records()
        .filter_map(Result::ok)
        .map(|r| r.tick())
        .max()
        .unwrap_or(0);
    assert!(final_tick > 1_000_000_000, "the run passes 10^9 ticks");
    let planted = record(
        Vec::new(),
        &RecordOptions {
            build: Some(release_hma_says_90h),
            ..RecordOptions::default()
        },
    );
    let keyed = without_inputs(&record(
        vec![
            (KEY_AT, Input::Key { scancode: 0x1E }),
            (KEY_AT + 250_000, Input::Key { scancode: 0x9E }),
        ],
        &RecordOptions::default(),
    ));
    let d_call = divergence(&planted);
    let d_key = divergence(&keyed);
    eprintln!(
        "trace sizes: {} / {} / {} bytes; divergences at ticks {} and {}",
        plain.len(),
        planted.len(),
        keyed.len(),
        d_call.tick,
        d_key.tick
    );

    let mut g = c.benchmark_group("seek");
    g.sample_size(10);
    g.bench_function("middle", |b| {
        b.iter(|| {
            let rec = Recording::from_bytes(plain.as_slice()).expect("trace");
            black_box(seek(&rec, final_tick / 2, None).expect("seek"))
        })
    });
    g.finish();
    let mut g = c.benchmark_group("localize");
    g.sample_size(10);
    g.bench_function("driver_call", |b| {
        b.iter(|| black_box(localize(&planted, &d_call, None).expect("localize")))
    });
    g.bench_function("lost_key", |b| {
        b.iter(|| black_box(localize(&keyed, &d_key, None).expect("localize")))
    });
    g.finish();
}

criterion_group!(benches, bisect);
criterion_main!(benches);
