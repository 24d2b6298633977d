//! `vexed seek`: the machine at any tick of a recorded run. Property: seeking to a random
//! tick from the nearest snapshot lands on exactly the state an uninterrupted run from the
//! start has there (same state hash), and at checkpoint ticks on the recorded hash.

use std::sync::OnceLock;

use proptest::prelude::*;
use vexed_replay::scenario::Scenario;
use vexed_replay::seek;
use vexed_replay::session::{self, RecordOptions};
use vexed_replay::source::Scripted;
use vexed_tests::{corpora_dir, proptest_config};
use vexed_trace::{Record, TraceReader};

const SEED: u64 = 0x5EE4_0001;

struct Traces {
    /// Recorded with a checkpoint every 250,000 ticks and a snapshot every third one.
    with_snapshots: Vec<u8>,
    /// The golden trace: no snapshots.
    golden: Vec<u8>,
    final_tick: u64,
    /// Every checkpoint of `with_snapshots`: (tick, hash).
    checkpoints: Vec<(u64, u64)>,
}

fn traces(name: &'static str, cell: &'static OnceLock<Traces>) -> &'static Traces {
    cell.get_or_init(|| {
        let path = corpora_dir().join(format!("scenarios/{name}.toml"));
        let manifest = std::fs::read_to_string(&path).expect("manifest");
        let mut s = Scenario::load(&path).expect("scenario");
        s.checkpoint_interval = Some(250_000);
        let opts = RecordOptions {
            snapshot_every: Some(3),
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
        let golden =
            std::fs::read(corpora_dir().join(format!("golden/{name}.trace"))).expect("golden");
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
            golden,
            final_tick: rec.final_tick,
            checkpoints,
        }
    })
}

fn hash_at(trace: &[u8], tick: u64) -> (u64, Option<u64>) {
    let mut reader = TraceReader::new(trace).expect("trace");
    let s = seek::seek(&mut reader, tick, None).expect("seek");
    assert!(
        s.stopped_early.is_none(),
        "the run ended before tick {tick}"
    );
    (s.machine.state_hash().expect("hash"), s.from_snapshot)
}

fn check(t: &Traces, tick: u64) -> Result<(), TestCaseError> {
    let (fast, from) = hash_at(&t.with_snapshots, tick);
    let (slow, none) = hash_at(&t.golden, tick);
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

proptest! {
    #![proptest_config(proptest_config(12, SEED))]

    #[test]
    fn seeking_under_the_vmm_lands_on_the_uninterrupted_state(permille in 0u64..1000) {
        let t = traces("xmsshare-vms", &XMSSHARE_VMS);
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
}
