//! What a trace checkpoint costs: [`Machine::checkpoint_hash`] on the default machine (a
//! 386 with 16 MiB of RAM) after a few pages were written, as a recorder calls it once per
//! million ticks, under the state hash of format 7 (the page map hashed apart and cached
//! while it does not change) and of format 6 (the page map's entries encoded and hashed at
//! every checkpoint). trace/FORMAT.md, "State hashes", says what each hashes.
//!
//! Run with `cargo bench -p vexed-emu --bench checkpoint`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use vexed_emu::machine::{HashScheme, Machine, MachineConfig};

/// Pages written between two checkpoints (a CPU-bound DOS program writes its stack, its
/// data and the BIOS data area: 3 pages in LOOP.COM's trace).
const PAGES: u32 = 3;

fn checkpoint(c: &mut Criterion) {
    let mut group = c.benchmark_group("checkpoint");
    for (name, scheme) in [
        ("format7", HashScheme::PagedMap),
        ("format6", HashScheme::Paged),
    ] {
        let mut m = Machine::new(MachineConfig::default()).expect("the default machine");
        m.checkpoint_hash_as(scheme).expect("hash");
        let mut k = 0u8;
        group.bench_with_input(BenchmarkId::from_parameter(name), &scheme, |b, &scheme| {
            b.iter(|| {
                k = k.wrapping_add(1);
                for p in 0..PAGES {
                    m.bus_mut().mem.write_u8(0x1_0000 + p * 0x1_0000, k);
                }
                m.checkpoint_hash_as(scheme).expect("hash")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, checkpoint);
criterion_main!(benches);
