//! The workloads the speed issue measures, end to end through the same engine the CLI uses:
//!
//! - `cpu_loop_protected/386`: the CPU loop in flat protected mode with paging
//!   (`corpora/guests/cpuloop32.asm`), a fixed slice per sample, as `emu/benches/cpu.rs`
//!   measures the real-mode loop; criterion reports guest instructions per second.
//! - `loop_com/{run,record,replay}`: `corpora/loop.toml` (LOOP.COM, the 720.9 M-instruction
//!   peer loop as a DOS program) run without a trace, recorded with the default checkpoints
//!   and snapshots, and replayed from that trace: record's cost over run, replay's over
//!   record.
//! - `dos/{dostest,xmstest}/record`: DOS workloads, heavy in Int 21h calls (`dostest`) and in
//!   XMS moves (`xmstest`).
//! - `vmm/timeslice-tsr/record`: a VMM scenario with a switch at every time slice and yield.
//!
//! Run with `cargo bench -p vexed-replay --bench workloads` (the LOOP.COM group takes a few
//! minutes: each sample is a whole run). `corpora/bench/peers.sh` compares `vexed record`
//! with QEMU and DOSBox on the same loop.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vexed_emu::cpu::Exit;
use vexed_replay::bench::cpu_loop_protected_system;
use vexed_replay::run;
use vexed_replay::scenario::Scenario;
use vexed_replay::session::{self, RecordOptions, Replayed};
use vexed_trace::Header;

/// Guest instructions per sample of the CPU loop.
const SLICE: u64 = 20_000_000;

fn scenario(name: &str) -> (Scenario, Header) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../corpora/{name}.toml"));
    let text = std::fs::read_to_string(&path).expect("scenario file");
    let s = Scenario::load(&path).expect("scenario");
    let header = session::header(&s, &text, &RecordOptions::default()).expect("header");
    (s, header)
}

fn record(s: &Scenario, h: &Header) -> Vec<u8> {
    session::record_scripted(h, s.inputs.clone(), &RecordOptions::default()).expect("record")
}

fn cpu_loop_protected(c: &mut Criterion) {
    let mut g = c.benchmark_group("cpu_loop_protected");
    g.throughput(Throughput::Elements(SLICE));
    g.sample_size(20);
    g.bench_function("386", |b| {
        b.iter_batched_ref(
            cpu_loop_protected_system,
            |sys| {
                let r = sys.run(SLICE);
                assert_eq!((r.ticks, r.exit), (SLICE, Exit::Budget));
            },
            criterion::BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn loop_com(c: &mut Criterion) {
    let (s, h) = scenario("loop");
    let trace = record(&s, &h);
    let mut g = c.benchmark_group("loop_com");
    g.sample_size(10);
    g.bench_function("run", |b| {
        b.iter(|| {
            let r = run::run(&s, &mut std::io::sink()).expect("run");
            assert!(run::check(&s, &r).is_empty());
        });
    });
    g.bench_function("record", |b| b.iter(|| record(&s, &h)));
    g.bench_function("replay", |b| {
        b.iter(|| {
            let r = session::replay_bytes(&trace, &mut std::io::sink()).expect("replay");
            assert!(matches!(r, Replayed::Identical { .. }), "{r:?}");
        });
    });
    g.finish();
}

fn scenarios(c: &mut Criterion) {
    for (group, name) in [
        ("dos", "dostest"),
        ("dos", "xmstest"),
        ("vmm", "timeslice-tsr"),
    ] {
        let (s, h) = scenario(name);
        let mut g = c.benchmark_group(format!("{group}/{name}"));
        g.sample_size(10);
        g.bench_function("record", |b| b.iter(|| record(&s, &h)));
        g.finish();
    }
}

criterion_group!(benches, cpu_loop_protected, loop_com, scenarios);
criterion_main!(benches);
