//! Record and replay (DESIGN.md sections 3-6): every scenario records and replays
//! bit-exactly in both clock modes, recording is deterministic, a damaged trace is refused
//! with the part named, a truncated one replays as a verified prefix, and a changed
//! behaviour is reported at its first differing observation.

use vexed_emu::machine::ClockMode;
use vexed_emu::observe::Observation;
use vexed_replay::scenario::Scenario;
use vexed_replay::session::{self, RecordOptions, Replayed, SessionError};
use vexed_replay::snapshots::{BaseImage, SnapshotChain};
use vexed_replay::source::{Live, Scripted};
use vexed_tests::{corpora_dir, scenario};
use vexed_trace::{
    Record, SnapshotCoding, TraceReader, TraceWriter, decode_delta_state, encode_delta_state,
};

fn record(s: &Scenario, manifest: &str) -> Vec<u8> {
    let opts = RecordOptions::default();
    let header = session::header(s, manifest, &opts).expect("header");
    let mut source: Box<dyn vexed_replay::source::InputSource> = match s.machine.clock {
        ClockMode::Host => Box::new(Live::new(Scripted::new(s.inputs.clone()))),
        ClockMode::Virtual => Box::new(Scripted::new(s.inputs.clone())),
    };
    let (bytes, _) = session::record(
        &header,
        source.as_mut(),
        &opts,
        Vec::new(),
        &mut std::io::sink(),
    )
    .expect("record");
    bytes
}

fn replay(bytes: &[u8]) -> Result<Replayed, SessionError> {
    session::replay_bytes(bytes, &mut std::io::sink())
}

#[test]
fn every_scenario_records_deterministically_and_replays_identically() {
    for name in [
        "dostest", "emstest", "hma", "keywait", "vxdbind", "xmsshare", "xmstest",
    ] {
        let (s, text) = scenario(name);
        let a = record(&s, &text);
        let b = record(&s, &text);
        assert_eq!(a, b, "{name}: two recordings differ");
        match replay(&a).expect(name) {
            Replayed::Identical { .. } => {}
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn inputs_at_the_same_tick_replay_back_to_back() {
    // Every typed character's codes (Shift make, make, break, Shift break) and an IRQ0 edge
    // at one tick, as when a host timer tick and a key fall due together: the recorder
    // injects them back to back, and so must the replayer, without the machine running
    // (and taking interrupts) between them.
    let (mut s, text) = scenario("keywait");
    let mut inputs = Vec::new();
    for &(t, input) in &s.inputs {
        let t = t - t % 500_000;
        if inputs.last().is_none_or(|&(last, _)| last != t) {
            inputs.push((t, vexed_emu::machine::Input::Irq { line: 0 }));
        }
        inputs.push((t, input));
    }
    s.inputs = inputs;
    let bytes = record(&s, &text);
    match replay(&bytes).expect("replay") {
        Replayed::Identical { .. } => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn host_clock_recordings_replay_identically() {
    // The host clock paces the timer here, so each recording differs from the last; each
    // still replays bit-exactly, because the timer ticks are inputs in the trace.
    for name in [
        "dostest",
        "emstest",
        "hma",
        "keywait",
        "loop",
        "vxdbind",
        "xmsshare",
        "xmstest",
        // Under the VMM the host's timer ticks end the time slices.
        "xmsshare-vms",
        "vxdbind-vms",
    ] {
        let (mut s, text) = scenario(name);
        s.machine.clock = ClockMode::Host;
        let bytes = record(&s, &text);
        let mut reader = TraceReader::new(bytes.as_slice()).expect("trace");
        let mut timer_ticks = 0;
        while let Some(r) = reader.next_record().expect("record") {
            if let Record::Input {
                input: vexed_emu::machine::Input::TimerTick,
                ..
            } = r
            {
                timer_ticks += 1;
            }
        }
        assert!(
            timer_ticks > 0,
            "{name}: the host clock injected no timer ticks"
        );
        match replay(&bytes).expect(name) {
            Replayed::Identical { .. } => {}
            other => panic!("{name}: {other:?}"),
        }
    }
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(corpora_dir().join(format!("golden/{name}.trace"))).expect("golden trace")
}

#[test]
fn a_flipped_byte_anywhere_is_refused_naming_the_part() {
    let bytes = golden("xmsshare");
    for offset in (0..bytes.len()).step_by(5).chain([bytes.len() - 1]) {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0x20;
        match replay(&damaged) {
            Err(SessionError::Trace(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains("header")
                        || text.contains("frame")
                        || text.contains("footer")
                        || text.contains("magic")
                        || text.contains("version"),
                    "offset {offset}: {text}"
                );
            }
            other => panic!("offset {offset}: a flipped byte was accepted: {other:?}"),
        }
    }
}

#[test]
fn a_truncated_trace_replays_as_a_verified_prefix() {
    let bytes = golden("keywait");
    let header_end = {
        // The shortest prefix that still reads: the header alone.
        (1..bytes.len())
            .find(|&n| TraceReader::new(&bytes[..n]).is_ok())
            .expect("a header")
    };
    for cut in [header_end, header_end + 1, bytes.len() / 2] {
        match replay(&bytes[..cut]).expect("a prefix replays") {
            Replayed::PrefixVerified { .. } => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // The footer is written whole at the end of a recording: a file that ends inside it
    // (here its last byte is missing) was damaged, not left by a killed recorder.
    let cut = bytes.len() - 1;
    assert!(
        replay(&bytes[..cut]).is_err(),
        "cut at {cut} inside the footer"
    );
}

/// Rewrites `bytes` with the first XMS observation's output changed by `change`.
fn tamper(bytes: &[u8], change: impl Fn(&mut Observation)) -> (Vec<u8>, u64) {
    let mut reader = TraceReader::new(bytes).expect("trace");
    let header = reader.header().clone();
    let mut w = TraceWriter::new(Vec::new(), &header).expect("writer");
    let mut changed_at = None;
    while let Some(r) = reader.next_record().expect("record") {
        let r = match r {
            Record::Observation {
                tick,
                mut observation,
            } if changed_at.is_none() && matches!(observation, Observation::Xms { .. }) => {
                change(&mut observation);
                changed_at = Some(tick);
                Record::Observation { tick, observation }
            }
            other => other,
        };
        w.push(r).expect("push");
    }
    let f = reader.footer().expect("footer").clone();
    let out = w
        .finish(f.final_tick, f.final_hash, &f.end)
        .expect("finish");
    (out, changed_at.expect("an XMS call"))
}

#[test]
fn a_behaviour_change_is_reported_at_the_first_differing_observation() {
    // As if the recording build had answered the first XMS call with error BL=A0h: the
    // replaying build (this one) differs exactly there.
    let (bytes, tick) = tamper(&golden("xmsshare"), |o| {
        if let Observation::Xms { output, .. } = o {
            output.ax = 0;
            output.bx = 0x00A0;
        }
    });
    match replay(&bytes).expect("replay") {
        Replayed::Diverged(d) => {
            assert_eq!(d.tick, tick);
            assert!(d.expected.contains("AX=0000 BX=00A0"), "{}", d.expected);
            assert!(d.actual.contains("AX=0001"), "{}", d.actual);
            assert!(d.expected.starts_with(&format!("at tick {tick}: xms")));
        }
        other => panic!("{other:?}"),
    }
}

/// Records keywait with a snapshot at every checkpoint (every 10 M ticks: three paged
/// snapshots), then rewrites the trace as if the recording machine had had BX = 1234h at
/// the `which`-th snapshot: that snapshot (as a whole snapshot when `whole`) and the
/// checkpoint after it say so, the replaying machine does not. Replay must diverge at that
/// checkpoint and list the difference.
fn diverge_at_snapshot(which: usize, whole: bool) {
    let (mut s, text) = scenario("keywait");
    s.checkpoint_interval = Some(10_000_000);
    let opts = RecordOptions {
        snapshot_every: Some(1),
        ..RecordOptions::default()
    };
    let header = session::header(&s, &text, &opts).expect("header");
    let bytes = session::record_scripted(&header, s.inputs.clone(), &opts).expect("record");
    let mut reader = TraceReader::new(bytes.as_slice()).expect("trace");
    let mut w = TraceWriter::new(Vec::new(), reader.header()).expect("writer");
    // Version 8: the first snapshot is coded against the machine the header builds.
    let base = session::machine_from_header(reader.header()).expect("machine");
    let mut chain = SnapshotChain::from_base(&BaseImage::new(base).expect("base"));
    let mut seen = 0;
    let mut changed = None;
    // The snapshot after the changed one is coded against the state the reader now has
    // there (trace/FORMAT.md, "Paged snapshots": the previous paged state, or nothing after
    // a whole snapshot): (the original state, the new base).
    let mut recode: Option<(Vec<u8>, Vec<u8>)> = None;
    while let Some(r) = reader.next_record().expect("record") {
        let r = match r {
            Record::PagedSnapshot {
                tick,
                mut state,
                store_len,
                pages,
                coding,
            } => {
                assert_eq!(coding, SnapshotCoding::Delta, "what the recorder writes");
                let before = chain.paged_state().map(<[u8]>::to_vec).unwrap_or_default();
                chain
                    .push(Record::PagedSnapshot {
                        tick,
                        state: state.clone(),
                        store_len,
                        pages: pages.clone(),
                        coding,
                    })
                    .expect("chain");
                seen += 1;
                if seen - 1 != which {
                    if let Some((original, base)) = recode.take() {
                        let plain = decode_delta_state(&state, &original).expect("decode");
                        state = encode_delta_state(&plain, &base).expect("encode");
                    }
                    Record::PagedSnapshot {
                        tick,
                        state,
                        store_len,
                        pages,
                        coding,
                    }
                } else {
                    let original = chain.paged_state().expect("paged").to_vec();
                    let (t, mut m) = chain
                        .clone()
                        .into_machine()
                        .expect("rebuild")
                        .expect("a snapshot");
                    assert_eq!(t, tick);
                    m.cpu_mut().set_reg16(vexed_emu::cpu::Reg16::BX, 0x1234);
                    changed = Some((tick, m.state_hash().expect("hash")));
                    if whole {
                        recode = Some((original, Vec::new()));
                        Record::Snapshot {
                            tick,
                            state: m.snapshot().expect("snapshot"),
                        }
                    } else {
                        let new = m.snapshot_without_store().expect("split");
                        let coded = encode_delta_state(&new, &before).expect("encode");
                        recode = Some((original, new));
                        Record::PagedSnapshot {
                            tick,
                            state: coded,
                            store_len,
                            pages,
                            coding,
                        }
                    }
                }
            }
            Record::Checkpoint { tick, .. } if changed.is_some_and(|(t, _)| t == tick) => {
                let (_, hash) = changed.expect("changed");
                Record::Checkpoint { tick, hash }
            }
            other => other,
        };
        w.push(r).expect("push");
    }
    assert!(seen > which, "only {seen} snapshots");
    let f = reader.footer().expect("footer").clone();
    let bytes = w
        .finish(f.final_tick, f.final_hash, &f.end)
        .expect("finish");
    match replay(&bytes).expect("replay") {
        Replayed::Diverged(d) => {
            assert_eq!(Some(d.tick), changed.map(|(t, _)| t));
            assert!(
                d.state_diff.iter().any(|l| l.starts_with("BX: 1234 -> ")),
                "{:?}",
                d.state_diff
            );
            // Only BX: the memory rebuilt from the snapshots' pages is the replayed memory.
            assert_eq!(d.state_diff.len(), 1, "{:?}", d.state_diff);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_divergence_at_a_snapshot_lists_the_state_differences() {
    // The second paged snapshot: the replayer rebuilds it from the first one's pages.
    diverge_at_snapshot(1, false);
}

#[test]
fn a_divergence_at_a_whole_snapshot_lists_the_state_differences() {
    // A whole snapshot (what traces held before paged snapshots), first in the trace.
    diverge_at_snapshot(0, true);
}

/// CRC-32 (IEEE, reflected, polynomial EDB88320h), as trace/FORMAT.md specifies it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// `bytes` with the format version `version` (FORMAT.md, "Layout": the version at offset 8,
/// the header's CRC at 16 covering bytes 0..16 and the header payload).
fn with_version(mut bytes: Vec<u8>, version: u32) -> Vec<u8> {
    bytes[8..12].copy_from_slice(&version.to_le_bytes());
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let mut covered = bytes[..16].to_vec();
    covered.extend_from_slice(&bytes[20..20 + len]);
    let crc = crc32(&covered);
    bytes[16..20].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// A trace of format version 6 holds the paged state hash of that version, whose encoded
/// state carries the page map's entries (trace/FORMAT.md, "State hashes"): such a trace
/// replays verified by it, and its snapshots are checked against its checkpoints with it.
/// Built from a current (version 8) recording whose hashes are replaced by the version 6 hashes of
/// the machine at their ticks (from `seek`) and whose version field says 6.
#[test]
fn a_version_6_trace_replays_verified_by_its_paged_hash() {
    use vexed_emu::machine::HashScheme;
    let (mut s, text) = scenario("keywait");
    s.checkpoint_interval = Some(8_000_000);
    let opts = RecordOptions {
        snapshot_every: Some(2),
        ..RecordOptions::default()
    };
    let header = session::header(&s, &text, &opts).expect("header");
    let current = session::record_scripted(&header, s.inputs.clone(), &opts).expect("record");
    let rec = vexed_replay::recording::Recording::from_bytes(&current).expect("open");
    assert_eq!(rec.hash_scheme, HashScheme::PagedMap);
    assert!(rec.checkpoints.len() >= 3, "{}", rec.checkpoints.len());
    let v6_hash = |tick| {
        vexed_replay::seek::seek(&rec, tick, None)
            .expect("seek")
            .machine
            .state_hash_as(HashScheme::Paged)
            .expect("hash")
    };
    let mut reader = TraceReader::new(current.as_slice()).expect("trace");
    let mut w = TraceWriter::new(Vec::new(), reader.header()).expect("writer");
    let mut snapshots = 0;
    // Version 6 codes the first snapshot against nothing, version 8 against the machine at
    // tick 0: each snapshot is decoded and coded again as a version 6 recorder would.
    let base = session::machine_from_header(reader.header()).expect("machine");
    let mut chain = SnapshotChain::from_base(&BaseImage::new(base).expect("base"));
    let (mut old_state, mut old_store) = (Vec::new(), Vec::new());
    while let Some(r) = reader.next_record().expect("record") {
        snapshots += usize::from(r.is_snapshot());
        w.push(match r {
            Record::Checkpoint { tick, hash } => {
                let old = v6_hash(tick);
                assert_ne!(old, hash, "the two versions' hashes differ");
                Record::Checkpoint { tick, hash: old }
            }
            r @ Record::PagedSnapshot { .. } => {
                let tick = r.tick();
                chain.push(r).expect("chain");
                let state = chain.paged_state().expect("paged").to_vec();
                let (_, m) = chain.machine().expect("rebuild").expect("a snapshot");
                let store = m.memory_store().to_vec();
                let zero = [0u8; 4096];
                let pages = store
                    .chunks_exact(4096)
                    .enumerate()
                    .filter_map(|(i, page)| {
                        let before = old_store.get(i * 4096..i * 4096 + 4096).unwrap_or(&zero);
                        (page != before).then(|| vexed_trace::SnapshotPage {
                            index: i as u32,
                            bytes: page.iter().zip(before).map(|(a, b)| a ^ b).collect(),
                        })
                    })
                    .collect();
                let coded = encode_delta_state(&state, &old_state).expect("encode");
                (old_state, old_store) = (state, store);
                Record::PagedSnapshot {
                    tick,
                    state: coded,
                    store_len: old_store.len() as u64,
                    pages,
                    coding: SnapshotCoding::Delta,
                }
            }
            other => other,
        })
        .expect("push");
    }
    assert!(snapshots >= 1, "the trace has snapshots to check");
    let f = reader.footer().expect("footer").clone();
    let v6 = with_version(
        w.finish(f.final_tick, v6_hash(f.final_tick), &f.end)
            .expect("finish"),
        6,
    );
    let old = vexed_replay::recording::Recording::from_bytes(&v6).expect("a version 6 trace");
    assert_eq!(old.hash_scheme, HashScheme::Paged);
    assert!(matches!(
        replay(&v6).expect("replay"),
        Replayed::Identical { .. }
    ));
    // The version 8 recording marked version 6 does not check out: its snapshots are coded
    // against the machine at tick 0 and do not match their checkpoints under the version 6
    // hash.
    assert!(vexed_replay::recording::Recording::from_bytes(&with_version(current, 6)).is_err());
}

/// A trace of format version 5 holds the whole-machine hash (trace/FORMAT.md, "State
/// hashes"): such a trace replays and is verified with that hash, checkpoint by
/// checkpoint, and a wrong one is still found. Built from a current (version 8) recording whose
/// hashes are replaced by the whole-machine hashes of the machine at their ticks (from
/// `seek`) and whose version field says 5.
#[test]
fn a_version_5_trace_replays_verified_by_the_whole_machine_hash() {
    let (mut s, text) = scenario("keywait");
    s.checkpoint_interval = Some(8_000_000);
    let opts = RecordOptions {
        snapshot_every: Some(0),
        ..RecordOptions::default()
    };
    let header = session::header(&s, &text, &opts).expect("header");
    let current = session::record_scripted(&header, s.inputs.clone(), &opts).expect("record");
    let rec = vexed_replay::recording::Recording::from_bytes(&current).expect("open");
    assert!(
        rec.checkpoints.len() >= 3,
        "{} checkpoints",
        rec.checkpoints.len()
    );
    let whole = |tick| {
        vexed_replay::seek::seek(&rec, tick, None)
            .expect("seek")
            .machine
            .whole_state_hash()
            .expect("hash")
    };
    let as_v5 = |damage: Option<usize>| -> Vec<u8> {
        let mut reader = TraceReader::new(current.as_slice()).expect("trace");
        let mut w = TraceWriter::new(Vec::new(), reader.header()).expect("writer");
        let mut k = 0;
        while let Some(r) = reader.next_record().expect("record") {
            w.push(match r {
                Record::Checkpoint { tick, .. } => {
                    let hash = whole(tick) ^ u64::from(damage == Some(k));
                    k += 1;
                    Record::Checkpoint { tick, hash }
                }
                other => other,
            })
            .expect("push");
        }
        let f = reader.footer().expect("footer").clone();
        let bytes = w
            .finish(f.final_tick, whole(f.final_tick), &f.end)
            .expect("finish");
        with_version(bytes, 5)
    };
    let v5 = as_v5(None);
    assert_eq!(
        vexed_trace::TraceReader::new(v5.as_slice())
            .expect("reads")
            .version(),
        5
    );
    match replay(&v5).expect("replay") {
        Replayed::Identical { .. } => {}
        other => panic!("{other:?}"),
    }
    // The same file marked version 7 (paged hashes expected) does not match at its first
    // checkpoint; the current recording does.
    assert!(matches!(
        replay(&current).expect("replay"),
        Replayed::Identical { .. }
    ));
    match replay(&with_version(v5.clone(), 7)).expect("replay") {
        Replayed::Diverged(d) => assert_eq!(d.tick, rec.checkpoints[0].0),
        other => panic!("{other:?}"),
    }
    // A damaged checkpoint hash in a version 5 trace is found at its tick.
    match replay(&as_v5(Some(1))).expect("replay") {
        Replayed::Diverged(d) => assert_eq!(d.tick, rec.checkpoints[1].0),
        other => panic!("{other:?}"),
    }
}

/// A build of vexed whose machine differs at tick 0 from this one's (BX is 1234h when the
/// machine is built).
fn bx_1234_at_tick_0(m: &mut vexed_emu::machine::Machine) {
    m.cpu_mut().set_reg16(vexed_emu::cpu::Reg16::BX, 0x1234);
}

/// trace/FORMAT.md, "Paged snapshots" (version 8): the first snapshot is coded against the
/// machine the header builds at tick 0, whose hash the trace holds as a checkpoint at tick 0.
/// A trace recorded by a build whose machine at tick 0 differs is still opened (not refused
/// as damaged): its snapshots are not used, a replay diverges at tick 0, and seeking runs
/// from tick 0.
#[test]
fn snapshots_coded_against_another_builds_machine_at_tick_0_are_not_used() {
    let (mut s, text) = scenario("keywait");
    s.checkpoint_interval = Some(8_000_000);
    let opts = RecordOptions {
        snapshot_every: Some(1),
        ..RecordOptions::default()
    };
    let header = session::header(&s, &text, &opts).expect("header");
    let ours = session::record_scripted(&header, s.inputs.clone(), &opts).expect("record");
    let other_build = RecordOptions {
        build: Some(bx_1234_at_tick_0),
        ..opts.clone()
    };
    let theirs = session::record_scripted(&header, s.inputs.clone(), &other_build).expect("record");
    // Both start with the checkpoint at tick 0; only its hash differs.
    let first = |b: &[u8]| {
        TraceReader::new(b)
            .expect("trace")
            .records()
            .next()
            .expect("a record")
            .expect("readable")
    };
    let (Record::Checkpoint { tick: 0, hash: a }, Record::Checkpoint { tick: 0, hash: b }) =
        (first(&ours), first(&theirs))
    else {
        panic!("a version 8 trace starts with its checkpoint at tick 0");
    };
    assert_ne!(a, b);
    let mine = vexed_replay::recording::Recording::from_bytes(&ours).expect("open");
    assert!(mine.snapshots_usable());
    assert!(mine.snapshot_ticks().count() >= 2);
    let rec = vexed_replay::recording::Recording::from_bytes(&theirs).expect("not refused");
    assert!(!rec.snapshots_usable());
    assert!(mine.unusable_snapshots_reason().is_none());
    let why = rec.unusable_snapshots_reason().expect("a reason");
    assert!(why.contains("tick 0"), "{why}");
    assert_eq!(rec.snapshot_ticks().count(), 0);
    let tick = rec.checkpoints[2].0;
    let sought = vexed_replay::seek::seek(&rec, tick, None).expect("seek");
    assert_eq!(sought.machine.now(), tick);
    match replay(&theirs).expect("replay") {
        Replayed::Diverged(d) => assert_eq!(d.tick, 0, "{d:?}"),
        other => panic!("expected a divergence at tick 0: {other:?}"),
    }
}
