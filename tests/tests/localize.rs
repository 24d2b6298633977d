//! `vexed replay --localize` on planted divergences: a trace recorded by a build whose XMS
//! driver answers with another error code (the recording pins the driver call), and a
//! trace whose recorded inputs were edited after recording (only the checkpoints and the
//! snapshots can tell, so the localizer names the stretch, the state differences at the
//! next snapshot and the last instructions that changed them).

use vexed_emu::machine::Input;
use vexed_emu::observe::Observation;
use vexed_replay::localize::{self, Localized};
use vexed_replay::scenario::Scenario;
use vexed_replay::session::{self, Mismatch, RecordOptions, Replayed};
use vexed_tests::{release_hma_says_90h, scenario};
use vexed_trace::{Record, TraceReader, TraceWriter};

fn record(s: &Scenario, text: &str, inputs: Vec<(u64, Input)>, opts: &RecordOptions) -> Vec<u8> {
    let h = session::header(s, text, opts).expect("header");
    session::record_scripted(&h, inputs, opts).expect("record")
}

fn diverge_and_localize(bytes: &[u8]) -> (session::Divergence, Localized) {
    let d = match session::replay_bytes(bytes, &mut std::io::sink()).expect("replay") {
        Replayed::Diverged(d) => *d,
        other => panic!("expected a divergence: {other:?}"),
    };
    let l = localize::localize(bytes, &d, None).expect("localize");
    (d, l)
}

#[test]
fn a_driver_answering_differently_is_pinned_to_its_call() {
    let (s, text) = scenario("xmstest");
    let planted = RecordOptions {
        build: Some(release_hma_says_90h),
        ..RecordOptions::default()
    };
    let bytes = record(&s, &text, s.inputs.clone(), &planted);
    let (d, l) = diverge_and_localize(&bytes);
    let Mismatch::Observation {
        expected: Some((te, Observation::Xms { input, .. })),
        actual: Some((ta, _)),
    } = &d.mismatch
    else {
        panic!("expected an XMS observation mismatch: {:?}", d.mismatch);
    };
    assert_eq!(te, ta);
    assert_eq!(input.ax >> 8, 0x02, "the first differing call is 02h");
    let text = l.text(40);
    let p = l.point.as_ref().expect("the recording pins the call");
    // The trap into the driver runs at tick T and is observed at T + 1.
    assert_eq!(p.tick + 1, *te, "{text}");
    assert!(p.a.text.contains("XMS driver"), "{text}");
    // Recorded (the planted build): BL=90h; replayed (XMS 3.0): BL=93h.
    let bx = p.differences.change("BX").expect("BX differs");
    assert!(bx.a.ends_with("90") && bx.b.ends_with("93"), "{text}");
    assert!(l.last_match < p.tick, "{text}");
    // The re-run started from a snapshot when one lies before the call.
    let snapshots = TraceReader::new(bytes.as_slice())
        .expect("trace")
        .records()
        .filter_map(Result::ok)
        .filter(|r| r.is_snapshot() && r.tick() <= l.last_match)
        .count();
    assert_eq!(l.restored_from.is_some(), snapshots > 0, "{text}");
}

/// The trace `bytes` with the input records for which `drop` holds taken out: a recording
/// of other inputs than the ones it now holds.
fn without_inputs(bytes: &[u8], drop: impl Fn(u64, &Input) -> bool) -> Vec<u8> {
    let mut reader = TraceReader::new(bytes).expect("trace");
    let mut w = TraceWriter::new(Vec::new(), reader.header()).expect("writer");
    while let Some(r) = reader.next_record().expect("record") {
        if let Record::Input { tick, input } = &r
            && drop(*tick, input)
        {
            continue;
        }
        w.push(r).expect("push");
    }
    let f = reader.footer().expect("footer").clone();
    w.finish(f.final_tick, f.final_hash, &f.end)
        .expect("finish")
}

#[test]
fn an_input_missing_from_the_trace_is_localized_to_its_stretch() {
    let (s, text) = scenario("keywait");
    // Recorded with IRQ 3 (nothing attached) at tick 5,000,017 while the program waits for
    // its line; the trace then loses that input.
    let at = 5_000_017;
    let mut inputs = s.inputs.clone();
    inputs.push((at, Input::Irq { line: 3 }));
    inputs.sort_by_key(|&(t, _)| t);
    let opts = RecordOptions {
        snapshot_every: Some(4),
        ..RecordOptions::default()
    };
    let recorded = record(&s, &text, inputs, &opts);
    let edited = without_inputs(&recorded, |t, i| t == at && *i == Input::Irq { line: 3 });
    let (d, l) = diverge_and_localize(&edited);
    let text = l.text(40);
    // Nothing observable happens; the checkpoint after the IRQ is the first to differ.
    assert!(
        matches!(
            d.mismatch,
            Mismatch::Checkpoint {
                tick: 6_000_000,
                ..
            }
        ),
        "expected a checkpoint mismatch: {:?}",
        d.mismatch
    );
    assert_eq!(d.tick, 6_000_000, "{text}");
    assert_eq!(l.last_match, 5_000_000, "{text}");
    assert!(
        l.point.is_none(),
        "nothing in the recording pins an instruction"
    );
    // Snapshots every 4 checkpoints: at 4 M, 8 M, ...; the first at or after the mismatch.
    assert_eq!(l.snapshot, Some(8_000_000), "{text}");
    assert_eq!(l.restored_from, Some(4_000_000), "{text}");
    let state = l.state.as_ref().expect("state compared at the snapshot");
    // The IRQ woke DOS's key-wait loop once more in the recorded run, so it issued one more
    // Int 28h: keywait's handler counts them (`inc word [cs:calls28]`, keywait.asm), and
    // that count is what differs; the handler's increment is the last write to it.
    assert!(
        state.registers.is_empty() && state.memory_bytes > 0,
        "{text}"
    );
    assert!(!l.writers.is_empty(), "{text}");
    for w in &l.writers {
        assert!(w.tick >= 5_000_000 && w.tick < 8_000_000, "{text}");
        assert!(w.instruction.text.contains("inc word [cs:"), "{text}");
    }
}
