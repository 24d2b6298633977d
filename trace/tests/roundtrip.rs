//! Writing then reading gives back exactly what was written.

mod common;

use common::*;
use proptest::prelude::*;
use vexed_emu::machine::Input;
use vexed_emu::observe::Observation;
use vexed_trace::{
    Counts, FORMAT_VERSION, Part, Record, SnapshotPage, TraceError, TraceReader, TraceWriter,
    WriterOptions,
};

#[test]
fn every_record_kind_round_trips() {
    let records = records();
    for per_frame in [1, 2, 3, 4, 100] {
        let bytes = trace_bytes(&records, per_frame);
        let o = read_all(&bytes);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(o.header.as_ref(), Some(&header()));
        assert_eq!(o.records, records, "{per_frame} records per frame");
        let f = o.footer.expect("a footer");
        assert_eq!(f.final_tick, records.last().unwrap().tick() + 10);
        assert_eq!(f.final_hash, FINAL_HASH);
        assert_eq!(f.end, END);
        assert_eq!(f.counts.inputs, inputs().len() as u64);
        assert_eq!(f.counts.observations, observations().len() as u64);
        assert_eq!(f.counts.checkpoints, 2);
        assert_eq!(f.counts.snapshots, 2);
        assert_eq!(o.truncated_after, None);
    }
}

#[test]
fn reader_reports_version_frames_and_counts() {
    let bytes = trace_bytes(&records(), 4);
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    assert_eq!(r.version(), FORMAT_VERSION);
    assert_eq!(r.frames_read(), 0);
    let n = r.records().inspect(|x| assert!(x.is_ok())).count();
    assert_eq!(n, records().len());
    assert!(r.at_end());
    let f = r.footer().unwrap().clone();
    assert_eq!(&f.counts, r.counts());
    assert_eq!(r.frames_read(), f.counts.frames);
    assert_eq!(r.stats().bytes, bytes.len() as u64);
    // Reading past the end stays at the end.
    assert!(r.next_record().unwrap().is_none());
}

#[test]
fn an_empty_trace_round_trips() {
    let w = TraceWriter::new(Vec::new(), &header()).unwrap();
    assert_eq!(w.counts(), &Counts::default());
    let end = RunEnd::ExitPort(0x7F);
    let bytes = w.finish(0, 1, &end).unwrap();
    let o = read_all(&bytes);
    assert!(o.error.is_none());
    assert!(o.records.is_empty());
    let f = o.footer.unwrap();
    assert_eq!((f.final_tick, f.final_hash, f.end), (0, 1, end));
    assert_eq!(f.counts, Counts::default());
}

#[test]
fn ticks_are_exact_across_frames_and_extremes() {
    // Equal ticks, deltas at every varint size boundary, and ticks near u64::MAX.
    let ticks = [
        0,
        0,
        1,
        250,
        251,
        65_535,
        65_536,
        1 << 32,
        (1 << 32) + 1,
        u64::MAX - 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    let records: Vec<Record> = ticks
        .iter()
        .map(|&tick| Record::Checkpoint { tick, hash: tick })
        .collect();
    for per_frame in [1, 2, 5, 4096] {
        let bytes = trace_bytes(&records[..records.len() - 1], per_frame);
        let o = read_all(&bytes);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(o.records, records[..records.len() - 1]);
        // The final tick can be u64::MAX too.
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        for r in &records {
            w.push(r.clone()).unwrap();
        }
        let bytes = w.finish(u64::MAX, 0, &RunEnd::TickLimit).unwrap();
        assert_eq!(read_all(&bytes).records, records);
    }
}

#[test]
fn pushing_a_tick_backwards_is_refused_and_the_writer_goes_on() {
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    w.push(Record::Checkpoint { tick: 100, hash: 1 }).unwrap();
    let e = w
        .push(Record::Checkpoint { tick: 99, hash: 2 })
        .unwrap_err();
    assert!(
        matches!(
            e,
            TraceError::TicksBackwards {
                tick: 99,
                previous: 100,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("tick 99 comes after tick 100"),
        "{e}"
    );
    w.push(Record::Checkpoint { tick: 100, hash: 3 }).unwrap();
    let e = w.finish(50, 0, &RunEnd::TickLimit).unwrap_err();
    assert!(
        matches!(
            e,
            TraceError::TicksBackwards {
                part: Part::Footer,
                tick: 50,
                previous: 100,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn snapshots_start_frames() {
    let recs = vec![
        Record::Checkpoint { tick: 1, hash: 1 },
        Record::Checkpoint { tick: 2, hash: 2 },
        Record::Snapshot {
            tick: 2,
            state: vec![9; 100_000],
        },
        Record::Checkpoint { tick: 3, hash: 3 },
    ];
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    for r in &recs {
        w.push(r.clone()).unwrap();
    }
    assert_eq!(
        w.counts().frames,
        1,
        "the two checkpoints, before the snapshot"
    );
    let bytes = w.finish(3, 0, &RunEnd::TickLimit).unwrap();
    // The snapshot compresses.
    assert!(bytes.len() < 5000, "{}", bytes.len());
    let o = read_all(&bytes);
    assert_eq!(o.records, recs);
    // The snapshot's frame also holds the checkpoint after it.
    assert_eq!(o.footer.unwrap().counts.frames, 2);
    // A snapshot past the writer's frame size (1 MiB) ends its frame at once.
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    let big: Vec<u8> = (0..(1u32 << 20) + 10)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    w.push(Record::Snapshot {
        tick: 5,
        state: big,
    })
    .unwrap();
    assert_eq!(
        w.counts().frames,
        1,
        "the large snapshot's frame is written"
    );
}

#[test]
fn paged_snapshots_round_trip_in_frames_of_their_own() {
    let page = |index: u32, fill: u8| SnapshotPage {
        index,
        bytes: vec![fill; 4096],
    };
    let recs = vec![
        Record::Checkpoint { tick: 1, hash: 1 },
        Record::PagedSnapshot {
            tick: 2,
            state: vec![1, 2, 3],
            store_len: 16 << 20,
            pages: vec![page(0, 1), page(7, 2), page(4095, 3)],
            coding: vexed_trace::SnapshotCoding::Copy,
        },
        Record::Checkpoint { tick: 2, hash: 2 },
        // A store that grew, with nothing changed.
        Record::PagedSnapshot {
            tick: 5,
            state: vec![],
            store_len: (16 << 20) + 4096,
            pages: vec![],
            coding: vexed_trace::SnapshotCoding::Delta,
        },
        Record::Snapshot {
            tick: 6,
            state: vec![9; 1000],
        },
        Record::Checkpoint { tick: 6, hash: 3 },
    ];
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    for r in &recs {
        w.push(r.clone()).unwrap();
    }
    let bytes = w.finish(6, 0, &RunEnd::TickLimit).unwrap();
    let o = read_all(&bytes);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.records, recs);
    let f = o.footer.unwrap();
    // Both kinds count as snapshots, and each starts a frame: [checkpoint],
    // [paged, checkpoint], [paged], [snapshot, checkpoint].
    assert_eq!(f.counts.snapshots, 3);
    assert_eq!(f.counts.frames, 4);
    assert_eq!(recs[1].kind(), "psnapshot");
    assert!(recs[1].is_snapshot() && recs[4].is_snapshot() && !recs[0].is_snapshot());
}

#[test]
fn the_writer_refuses_a_paged_snapshot_the_reader_would_refuse() {
    let page = |index: u32, len: usize| SnapshotPage {
        index,
        bytes: vec![0; len],
    };
    let bad = [
        (8192, vec![page(2, 4096)], "outside its store"),
        (8192, vec![page(0, 100)], "100 bytes instead of 4096"),
        (8192, vec![page(1, 4096), page(0, 4096)], "not after"),
        (100, vec![], "not a multiple"),
    ];
    for (store_len, pages, text) in bad {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        w.push(Record::Checkpoint { tick: 1, hash: 1 }).unwrap();
        let e = w
            .push(Record::PagedSnapshot {
                tick: 2,
                state: vec![],
                store_len,
                pages,
                coding: vexed_trace::SnapshotCoding::Delta,
            })
            .unwrap_err();
        assert!(matches!(e, TraceError::Encode { .. }), "{e}");
        assert!(e.to_string().contains(text), "{e} should say {text}");
        // Nothing was written and the writer goes on.
        let bytes = w.finish(2, 0, &RunEnd::TickLimit).unwrap();
        let o = read_all(&bytes);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(o.records, [Record::Checkpoint { tick: 1, hash: 1 }]);
    }
}

#[test]
fn frames_end_by_records_bytes_and_ticks() {
    // Records.
    let opts = WriterOptions {
        max_frame_records: 10,
        ..WriterOptions::default()
    };
    let mut w = TraceWriter::with_options(Vec::new(), &header(), opts).unwrap();
    for t in 0..25 {
        w.push(Record::Checkpoint { tick: t, hash: t }).unwrap();
    }
    assert_eq!(w.counts().frames, 2);
    // Bytes.
    let opts = WriterOptions {
        max_frame_bytes: 1000,
        ..WriterOptions::default()
    };
    let mut w = TraceWriter::with_options(Vec::new(), &header(), opts).unwrap();
    for t in 0..10 {
        let o = Observation::Console {
            bytes: vec![b'x'; 300],
        };
        w.push(Record::Observation {
            tick: t,
            observation: o,
        })
        .unwrap();
    }
    // A record takes 305 bytes: the 4th and the 8th fill 1000 bytes.
    assert_eq!(w.counts().frames, 2);
    // Ticks: TraceWriter::new bounds a frame to one guest second (1,000,000 ticks here).
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    for t in [0, 400_000, 999_999, 1_000_000, 1_500_000, 2_000_000] {
        w.push(Record::Checkpoint { tick: t, hash: t }).unwrap();
    }
    // The first frame ends with the record at 1,000,000, a guest second after its first;
    // the second starts at 1,500,000 and spans only 500,000 ticks so far.
    assert_eq!(w.counts().frames, 1);
    // Explicit flushes, and flushing nothing does nothing.
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    w.flush_frame().unwrap();
    assert_eq!(w.counts().frames, 0);
    w.push(Record::Checkpoint { tick: 5, hash: 5 }).unwrap();
    w.flush_frame().unwrap();
    w.flush_frame().unwrap();
    assert_eq!(w.counts().frames, 1);
    let bytes = w.finish(5, 0, &RunEnd::TickLimit).unwrap();
    assert_eq!(read_all(&bytes).records.len(), 1);
}

#[test]
fn the_end_text_is_shortened_at_a_character_boundary() {
    let long = "é".repeat(20_000);
    let bytes = TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .finish(0, 0, &RunEnd::Described(long.clone()))
        .unwrap();
    let f = read_all(&bytes).footer.unwrap();
    let RunEnd::Described(text) = f.end else {
        panic!("{:?}", f.end)
    };
    assert_eq!(text.len(), vexed_trace::limits::MAX_END_TEXT);
    assert!(long.starts_with(&text));
}

#[test]
fn a_guest_file_with_a_wrong_hash_is_not_written() {
    let mut h = header();
    h.files[1].hash ^= 1;
    let e = TraceWriter::new(Vec::new(), &h).err().unwrap();
    assert!(
        matches!(
            e,
            TraceError::Encode {
                part: Part::Header,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("SUB\\\\CLIENT.EXE"), "{e}");
}

/// An output that fails after `budget` bytes.
struct Failing {
    budget: usize,
    written: Vec<u8>,
}

impl std::io::Write for Failing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.budget == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_output_error_names_the_offset_and_stops_the_writer() {
    let header_len = TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .bytes_written() as usize;
    let out = Failing {
        budget: header_len + 20,
        written: Vec::new(),
    };
    let mut w = TraceWriter::new(out, &header()).unwrap();
    let offset = w.bytes_written();
    w.push(Record::Checkpoint { tick: 1, hash: 1 }).unwrap();
    let e = w.flush_frame().unwrap_err();
    assert!(
        matches!(e, TraceError::Io { offset: o, .. } if o == offset),
        "{e}"
    );
    assert!(e.to_string().contains("disk full"), "{e}");
    let e = w.push(Record::Checkpoint { tick: 2, hash: 2 }).unwrap_err();
    assert!(matches!(e, TraceError::WriterFailed { .. }), "{e}");
    assert!(w.finish(2, 0, &RunEnd::TickLimit).is_err());
}

fn input_strategy() -> impl Strategy<Value = Input> {
    prop_oneof![
        any::<u8>().prop_map(|scancode| Input::Key { scancode }),
        any::<u8>().prop_map(|line| Input::Irq { line }),
        any::<u8>().prop_map(|byte| Input::SerialRx { byte }),
        any::<u8>().prop_map(|channel| Input::DmaDone { channel }),
        Just(Input::TimerTick),
    ]
}

fn regs_strategy() -> impl Strategy<Value = vexed_emu::observe::Regs> {
    any::<[u16; 8]>().prop_map(|r| vexed_emu::observe::Regs {
        ax: r[0],
        bx: r[1],
        cx: r[2],
        dx: r[3],
        si: r[4],
        di: r[5],
        ds: r[6],
        es: r[7],
    })
}

fn observation_strategy() -> impl Strategy<Value = Observation> {
    prop_oneof![
        (regs_strategy(), regs_strategy())
            .prop_map(|(input, output)| Observation::Xms { input, output }),
        (regs_strategy(), regs_strategy())
            .prop_map(|(input, output)| Observation::Ems { input, output }),
        (regs_strategy(), regs_strategy())
            .prop_map(|(input, output)| Observation::Multiplex { input, output }),
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|bytes| Observation::Console { bytes }),
        (any::<u16>(), ".{0,40}").prop_map(|(psp, path)| Observation::ProgramStart { psp, path }),
        (any::<u16>(), any::<u8>(), any::<u8>())
            .prop_map(|(psp, code, kind)| Observation::ProgramExit { psp, code, kind }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(psp, paragraphs)| Observation::TsrInstalled { psp, paragraphs }),
    ]
}

/// A paged snapshot with an `n`-byte state and pages picked by the bits of `bits` from a
/// store of up to 64 pages.
fn paged_snapshot(tick: u64, n: usize, bits: u64) -> Record {
    let store_pages = (bits >> 58) as u32 + 1;
    Record::PagedSnapshot {
        tick,
        state: (0..n).map(|i| i as u8 ^ bits as u8).collect(),
        store_len: u64::from(store_pages) * 4096,
        pages: (0..store_pages)
            .filter(|&i| bits >> i & 1 != 0)
            .map(|index| SnapshotPage {
                index,
                bytes: (0..4096).map(|k| (k as u32 ^ index) as u8).collect(),
            })
            .collect(),
        coding: if bits & 1 == 0 {
            vexed_trace::SnapshotCoding::Copy
        } else {
            vexed_trace::SnapshotCoding::Delta
        },
    }
}

/// (delta, kind selector) pairs turned into records with non-decreasing ticks.
fn records_strategy() -> impl Strategy<Value = Vec<Record>> {
    let delta = prop_oneof![Just(0u64), 0..300u64, 0..100_000u64, 0..(1u64 << 40)];
    let kind = prop_oneof![
        input_strategy().prop_map(|i| (0u8, Some(i), None, 0u64, 0usize)),
        observation_strategy().prop_map(|o| (1u8, None, Some(o), 0, 0)),
        any::<u64>().prop_map(|h| (2u8, None, None, h, 0)),
        (0..3000usize).prop_map(|n| (3u8, None, None, 0, n)),
        (0..300usize, any::<u64>()).prop_map(|(n, h)| (4u8, None, None, h, n)),
    ];
    proptest::collection::vec((delta, kind), 0..60).prop_map(|items| {
        let mut tick = 0u64;
        items
            .into_iter()
            .map(|(d, (k, input, observation, hash, n))| {
                tick = tick.saturating_add(d);
                match (k, input, observation) {
                    (0, Some(input), _) => Record::Input { tick, input },
                    (1, _, Some(observation)) => Record::Observation { tick, observation },
                    (2, _, _) => Record::Checkpoint { tick, hash },
                    (4, _, _) => paged_snapshot(tick, n, hash),
                    _ => Record::Snapshot {
                        tick,
                        state: (0..n)
                            .map(|i| (i as u8).wrapping_mul(hash as u8 | 1))
                            .collect(),
                    },
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_records_round_trip(records in records_strategy(), per_frame in 1u64..8, extra in 0u64..1000) {
        let opts = WriterOptions { max_frame_records: per_frame, ..WriterOptions::default() };
        let mut w = TraceWriter::with_options(Vec::new(), &header(), opts).unwrap();
        for r in &records {
            w.push(r.clone()).unwrap();
        }
        let mut counts = w.counts().clone();
        let last = records.last().map_or(0, Record::tick);
        let end = [RunEnd::TickLimit, RunEnd::Stopped, RunEnd::Reset, RunEnd::Finished { exit_code: extra as u8 }][extra as usize % 4].clone();
        let bytes = w.finish(last.saturating_add(extra), 42, &end).unwrap();
        let o = read_all(&bytes);
        prop_assert!(o.error.is_none(), "{:?}", o.error);
        prop_assert_eq!(&o.records, &records);
        let f = o.footer.unwrap();
        counts.frames = f.counts.frames;
        prop_assert_eq!(f.counts, counts);
        prop_assert_eq!(f.final_tick, last.saturating_add(extra));
        prop_assert_eq!(f.end, end);
    }
}
