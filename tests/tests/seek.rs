//! `vexed seek`: the machine at any tick of a recorded run. Property: seeking to a random
//! tick from the nearest snapshot lands on exactly the state an uninterrupted run from the
//! start has there (same state hash), and at checkpoint ticks on the recorded hash. The
//! snapshots are paged (each holds the memory pages changed since the previous one), so
//! every seek from a snapshot also checks that the chain of snapshots before it rebuilds
//! the memory store exactly, under the VMM (per-VM memory and EMS pages beyond RAM) too.

use std::sync::OnceLock;

use proptest::prelude::*;
use vexed_replay::scenario::Scenario;
use vexed_replay::seek;
use vexed_replay::session::{self, RecordOptions};
use vexed_replay::source::Scripted;
use vexed_tests::{corpora_dir, proptest_config};
use vexed_trace::{Record, TraceReader, TraceWriter};

const SEED: u64 = 0x5EE4_0001;

struct Traces {
    /// Recorded with a checkpoint every 250,000 ticks and a paged snapshot every third one.
    with_snapshots: Vec<u8>,
    /// The same trace without its snapshots.
    without: Vec<u8>,
    final_tick: u64,
    /// Every checkpoint of `with_snapshots`: (tick, hash).
    checkpoints: Vec<(u64, u64)>,
}

/// `bytes` with every record for which `keep` is false left out.
fn filtered(bytes: &[u8], keep: impl Fn(&Record) -> bool) -> Vec<u8> {
    let mut reader = TraceReader::new(bytes).expect("trace");
    let mut w = TraceWriter::new(Vec::new(), reader.header()).expect("writer");
    while let Some(r) = reader.next_record().expect("record") {
        if keep(&r) {
            w.push(r).expect("push");
        }
    }
    let f = reader.footer().expect("footer").clone();
    w.finish(f.final_tick, f.final_hash, &f.end)
        .expect("finish")
}

fn traces(name: &'static str, cell: &'static OnceLock<Traces>) -> &'static Traces {
    traces_with(name, 250_000, 3, cell)
}

/// The scenario `name` recorded with a checkpoint every `interval` ticks and a paged
/// snapshot at every `every`-th checkpoint.
fn traces_with(
    name: &'static str,
    interval: u64,
    every: u64,
    cell: &'static OnceLock<Traces>,
) -> &'static Traces {
    cell.get_or_init(|| {
        let path = corpora_dir().join(format!("{name}.toml"));
        let manifest = std::fs::read_to_string(&path).expect("manifest");
        let mut s = Scenario::load(&path).expect("scenario");
        s.checkpoint_interval = Some(interval);
        let opts = RecordOptions {
            snapshot_every: Some(every),
            ..RecordOptions::default()
        };
        let header = session::header(&s, &manifest, &opts).expect("header");
        let mut source = Scripted::new(s.inputs.clone());
        let (with_snapshots, rec) = session::record(
            &header,
            &mut source,
            &opts,
            Vec::new(),
            &mut std::io::sink(),
        )
        .expect("record");
        let without = filtered(&with_snapshots, |r| !r.is_snapshot());
        let checkpoints = TraceReader::new(with_snapshots.as_slice())
            .expect("trace")
            .records()
            .filter_map(|r| match r {
                Ok(Record::Checkpoint { tick, hash }) => Some((tick, hash)),
                _ => None,
            })
            .collect();
        Traces {
            with_snapshots,
            without,
            final_tick: rec.final_tick,
            checkpoints,
        }
    })
}

fn hash_at(trace: &[u8], tick: u64) -> (u64, Option<u64>) {
    let rec = vexed_replay::recording::Recording::from_bytes(trace).expect("trace");
    let s = seek::seek(&rec, tick, None).expect("seek");
    assert!(
        s.stopped_early.is_none(),
        "the run ended before tick {tick}"
    );
    (s.machine.state_hash().expect("hash"), s.from_snapshot)
}

fn check(t: &Traces, tick: u64) -> Result<(), TestCaseError> {
    let (fast, from) = hash_at(&t.with_snapshots, tick);
    let (slow, none) = hash_at(&t.without, tick);
    prop_assert_eq!(none, None);
    prop_assert_eq!(
        fast,
        slow,
        "tick {}: from the snapshot at {:?} vs from the start",
        tick,
        from
    );
    if let Some(&(_, recorded)) = t.checkpoints.iter().find(|(c, _)| *c == tick) {
        prop_assert_eq!(fast, recorded, "tick {}: the recorded checkpoint", tick);
    }
    Ok(())
}

static XMSSHARE_VMS: OnceLock<Traces> = OnceLock::new();
static KEYWAIT: OnceLock<Traces> = OnceLock::new();
static EMS_BANKS: OnceLock<Traces> = OnceLock::new();
static PMSWITCH: OnceLock<Traces> = OnceLock::new();
static XMSSHARE_WIN: OnceLock<Traces> = OnceLock::new();
static DPMITEST: OnceLock<Traces> = OnceLock::new();

/// Every snapshot of a trace: (tick, paged, indexes of the pages it holds).
fn snapshots(trace: &[u8]) -> Vec<(u64, bool, Vec<u32>)> {
    TraceReader::new(trace)
        .expect("trace")
        .records()
        .filter_map(|r| match r.expect("record") {
            Record::PagedSnapshot { tick, pages, .. } => {
                Some((tick, true, pages.iter().map(|p| p.index).collect()))
            }
            Record::Snapshot { tick, .. } => Some((tick, false, Vec::new())),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(proptest_config(12, SEED))]

    #[test]
    fn seeking_under_the_vmm_lands_on_the_uninterrupted_state(permille in 0u64..1000) {
        let t = traces("xmsshare-vms", &XMSSHARE_VMS);
        check(t, t.final_tick * permille / 1000)?;
    }

    #[test]
    fn seeking_into_and_out_of_protected_mode_lands_on_the_uninterrupted_state(
        permille in 0u64..1000,
    ) {
        let t = traces("pmswitch", &PMSWITCH);
        check(t, t.final_tick * permille / 1000)?;
    }

    #[test]
    fn seeking_between_typed_keys_lands_on_the_uninterrupted_state(permille in 0u64..1000) {
        let t = traces("keywait", &KEYWAIT);
        check(t, t.final_tick * permille / 1000)?;
    }
}

#[test]
fn seeking_to_checkpoints_gives_the_recorded_hashes_and_uses_snapshots() {
    let t = traces("xmsshare-vms", &XMSSHARE_VMS);
    let mut from_snapshot = 0;
    for &(tick, recorded) in &t.checkpoints {
        let (hash, from) = hash_at(&t.with_snapshots, tick);
        assert_eq!(hash, recorded, "checkpoint at tick {tick}");
        from_snapshot += usize::from(from.is_some());
    }
    assert!(from_snapshot > 0, "no seek started from a snapshot");
    let snaps = snapshots(&t.with_snapshots);
    assert!(snaps.len() > 2, "{} snapshots", snaps.len());
    assert!(snaps.iter().all(|(_, paged, _)| *paged), "all paged");
}

#[test]
fn seeking_inside_protected_mode_gives_the_recorded_checkpoint_hashes() {
    // pmswitch.com spends its first ~4.6 M ticks in protected mode (Int 15h AH=89h, then a
    // reset through the 8042 back to real mode); its checkpoints there come from snapshots
    // taken in protected mode and from runs through it.
    let t = traces("pmswitch", &PMSWITCH);
    let rec = vexed_replay::recording::Recording::from_bytes(&t.with_snapshots).expect("trace");
    let mut inside = 0;
    for &(tick, recorded) in &t.checkpoints {
        let s = seek::seek(&rec, tick, None).expect("seek");
        assert_eq!(
            s.machine.state_hash().expect("hash"),
            recorded,
            "tick {tick}"
        );
        let cpu = s.machine.cpu();
        if cpu.in_protected_mode() {
            inside += 1;
            assert_eq!(cpu.sreg(vexed_emu::cpu::SegReg::CS), 0x30, "tick {tick}");
        }
    }
    assert!(inside >= 10, "{inside} checkpoints in protected mode");
    let (slow, _) = hash_at(&t.without, 3_000_000);
    let (fast, from) = hash_at(&t.with_snapshots, 3_000_000);
    assert_eq!((fast, from), (slow, Some(3_000_000)));
}

/// Seeks to every checkpoint of `t` and compares the state hash with the recorded one;
/// returns how many checkpoints found the processor in protected mode.
fn seek_every_checkpoint(t: &Traces) -> usize {
    let rec = vexed_replay::recording::Recording::from_bytes(&t.with_snapshots).expect("trace");
    let mut inside = 0;
    for &(tick, recorded) in &t.checkpoints {
        let s = seek::seek(&rec, tick, None).expect("seek");
        assert_eq!(
            s.machine.state_hash().expect("hash"),
            recorded,
            "tick {tick}"
        );
        if s.machine.cpu().in_protected_mode() {
            inside += 1;
        }
    }
    inside
}

#[test]
fn seeking_into_a_dpmi_client_gives_the_recorded_checkpoint_hashes() {
    // dpmitest spends most of its run as a DPMI client (its last check spins in protected
    // mode for two timer ticks); snapshots taken there (the host's tables in XMS memory, its
    // state in the firmware, the processor at ring 3 with paging) restore and continue
    // identically.
    let t = traces_with("dpmitest", 100_000, 2, &DPMITEST);
    let inside = seek_every_checkpoint(t);
    assert!(inside >= 10, "{inside} checkpoints in protected mode");
    // xmsshare-win: the client runs in VM 4 while the VMM switches to and from it, so a VM
    // holding a client is saved and restored with the rest of the machine.
    let t = traces_with("xmsshare-win", 100_000, 2, &XMSSHARE_WIN);
    let inside = seek_every_checkpoint(t);
    assert!(inside >= 1, "{inside} checkpoints in protected mode");
}

#[test]
fn every_paged_snapshot_of_a_vmm_run_with_ems_rebuilds_the_recorded_state() {
    // Two VMs with their own EMS pages (ems-banks, Q30590): per-VM memory and EMS pages
    // live past RAM in the store, and change between snapshots. A snapshot every 1 M ticks.
    let t = traces_with("ems-banks", 500_000, 2, &EMS_BANKS);
    let snaps = snapshots(&t.with_snapshots);
    assert!(snaps.len() > 10, "{} snapshots", snaps.len());
    // 16 MiB of RAM is store pages 0..4096; the ROM, EMS pages and VM copies come after.
    let ram_pages = 4096;
    assert!(
        snaps
            .iter()
            .skip(1)
            .filter(|(_, _, pages)| pages.iter().any(|&p| p >= ram_pages))
            .count()
            > 2,
        "later snapshots change store pages past RAM: {:?}",
        snaps
            .iter()
            .map(|(t, _, p)| (t, p.len(), p.iter().filter(|&&i| i >= ram_pages).count()))
            .collect::<Vec<_>>()
    );
    assert!(
        snaps.iter().skip(1).all(|(_, _, pages)| pages.len() < 2000),
        "later snapshots hold only what changed"
    );
    for (tick, _, _) in &snaps {
        // Restored from the snapshot itself, nothing re-executed: the chain of pages.
        let (hash, from) = hash_at(&t.with_snapshots, *tick);
        assert_eq!(from, Some(*tick));
        let recorded = t.checkpoints.iter().find(|(c, _)| c == tick).map(|c| c.1);
        assert_eq!(Some(hash), recorded, "the checkpoint at tick {tick}");
    }
    // Between snapshots: from the one before, at a checkpoint and at an odd tick.
    let (a, b) = (snaps[4].0, snaps[5].0);
    let middle = t.checkpoints.iter().find(|(c, _)| *c > a && *c < b);
    let &(tick, recorded) = middle.expect("a checkpoint between two snapshots");
    assert_eq!(hash_at(&t.with_snapshots, tick), (recorded, Some(a)));
    check(t, a + 12_345).expect("from the snapshot vs from the start");
    check(t, t.final_tick - 777).expect("near the end");
}
