//! CPU throughput on the real-mode integer loop of `corpora/guests/cpuloop.asm`.
//!
//! The loop body is `mov ax,[data]; add ax,cx; xor bx,ax; mov [data],bx; shl ax,1;
//! adc dx,ax; inc si; and si,0FFh; mov al,[si+data]; sub di,ax; loop`. Each sample runs a
//! fixed slice of it (criterion reports the rate as elements = guest instructions per
//! second); `vexed bench-cpu` runs the whole 720,899,003-instruction program once and prints
//! the same figure.
//!
//! Run with `cargo bench -p vexed-emu --bench cpu`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vexed_emu::bare::BareSystem;
use vexed_emu::cpu::{Exit, Model, Reg16, SegReg};

const CPU_LOOP: &[u8] = include_bytes!("../../corpora/guests/cpuloop.bin");
const SEGMENT: u16 = 0x1000;
/// Guest instructions per measured iteration: long enough that set-up is noise, short
/// enough that criterion can take many samples.
const SLICE: u64 = 20_000_000;

fn loop_system(model: Model) -> BareSystem {
    let mut sys = BareSystem::new(model, 0x10_0000).expect("1 MiB of RAM is valid for every model");
    sys.load_code(SEGMENT, 0, CPU_LOOP);
    for s in [SegReg::DS, SegReg::SS, SegReg::ES] {
        sys.cpu.set_sreg(s, SEGMENT);
    }
    sys.cpu.set_reg16(Reg16::SP, 0xFFFE);
    sys
}

fn cpu_loop(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_loop");
    group.throughput(Throughput::Elements(SLICE));
    group.sample_size(20);
    for model in [Model::I8086, Model::I80286, Model::I80386] {
        group.bench_with_input(
            BenchmarkId::from_parameter(model.name()),
            &model,
            |b, &model| {
                b.iter_batched_ref(
                    || loop_system(model),
                    |sys| {
                        let r = sys.run(SLICE);
                        assert_eq!((r.ticks, r.exit), (SLICE, Exit::Budget));
                    },
                    criterion::BatchSize::LargeInput,
                );
            },
        );
    }
    group.finish();
}

criterion_group!(benches, cpu_loop);
criterion_main!(benches);
