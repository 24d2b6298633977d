//! Records: the API type with absolute ticks, and the on-disk form with tick deltas.

use serde::{Deserialize, Serialize};
use vexed_emu::machine::Input;
use vexed_emu::observe::Observation;

use crate::limits::MAX_SNAPSHOT_STORE;

/// One entry of a trace's body, at an absolute tick.
///
/// APPEND-ONLY, like `RawRecord` (its on-disk form, whose variants are in the same order)
/// and like the emu enums stored inside ([`Input`], [`Observation`]): bincode stores the
/// variant index, so a variant is never reordered, removed or changed; new kinds go at the
/// end (FORMAT.md, "Versions").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// An input injected at `tick` (replay injects it at the same tick).
    Input { tick: u64, input: Input },
    /// Something the machine reported at `tick` (replay compares it).
    Observation { tick: u64, observation: Observation },
    /// `Machine::state_hash` at `tick`.
    Checkpoint { tick: u64, hash: u64 },
    /// `Machine::snapshot` bytes at `tick` (the frame compresses them).
    Snapshot { tick: u64, state: Vec<u8> },
    /// The machine at `tick` as the pages of its memory store that changed since the
    /// previous snapshot of the trace (FORMAT.md, "Paged snapshots"): `state` is
    /// `Machine::snapshot_without_store` (everything but the store), `store_len` the store's
    /// length in bytes, and `pages` the 4 KiB pages of the store that differ from the
    /// previous snapshot's store (all zeros before the first snapshot and past the end of a
    /// shorter one), in ascending order. With [`SnapshotCoding::Delta`] the state and the
    /// pages are stored as their difference from the previous snapshot's (kind 5, from
    /// format version 6). The reader checks the page indexes and sizes ([`SnapshotPage`]);
    /// rebuilding the store means applying every snapshot from the start of the trace.
    PagedSnapshot {
        tick: u64,
        state: Vec<u8>,
        store_len: u64,
        pages: Vec<SnapshotPage>,
        coding: SnapshotCoding,
    },
}

/// How a [`Record::PagedSnapshot`] holds its state and pages (FORMAT.md, "Paged
/// snapshots").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotCoding {
    /// As they are (record kind 4).
    Copy,
    /// As differences from the previous snapshot (record kind 5): each page as its
    /// exclusive-or with the previous snapshot's store page (zeros past that store's end),
    /// so unchanged bytes are zeros, and the state as a zstd frame compressed against the
    /// previous paged snapshot's state ([`encode_delta_state`]), so what did not change
    /// costs a few bytes per run even where varints grew and moved everything after them.
    Delta,
}

/// The `state` of a [`SnapshotCoding::Delta`] snapshot whose state is `state`, given the
/// state of the previous paged snapshot of the trace (empty before the first and after a
/// whole snapshot): one zstd frame of `state` compressed with the dictionary made of a
/// zero byte followed by `previous` (or, when it is empty, by identity page-map entries),
/// as raw content (FORMAT.md, "Paged snapshots").
pub fn encode_delta_state(state: &[u8], previous: &[u8]) -> Result<Vec<u8>, String> {
    check_delta_state(state)?;
    crate::frame::compress_against(state, previous, DELTA_LEVEL)
}

/// [`encode_delta_state`] for a recorder that codes one snapshot after another: it keeps
/// its zstd context from one state to the next instead of allocating one per snapshot.
#[derive(Default)]
pub struct DeltaStateEncoder(crate::frame::Context);

impl DeltaStateEncoder {
    /// What [`encode_delta_state`] gives for `state` and `previous`.
    pub fn encode(&mut self, state: &[u8], previous: &[u8]) -> Result<Vec<u8>, String> {
        check_delta_state(state)?;
        self.0.compress_against(state, previous, DELTA_LEVEL)
    }
}

/// Never write what the reader refuses: a state within [`crate::limits::MAX_SNAPSHOT_STATE`].
fn check_delta_state(state: &[u8]) -> Result<(), String> {
    let limit = crate::limits::MAX_SNAPSHOT_STATE;
    if state.len() as u64 > limit {
        return Err(format!(
            "a snapshot state of {} bytes is more than the limit of {limit}",
            state.len()
        ));
    }
    Ok(())
}

/// The state of a [`SnapshotCoding::Delta`] snapshot from its `coded` bytes and the
/// previous paged snapshot's state: the inverse of [`encode_delta_state`]. The frame must
/// record its size, of at most [`crate::limits::MAX_SNAPSHOT_STATE`] bytes.
pub fn decode_delta_state(coded: &[u8], previous: &[u8]) -> Result<Vec<u8>, String> {
    crate::frame::decompress_against(coded, previous, crate::limits::MAX_SNAPSHOT_STATE)
}

/// zstd level of a delta-coded state (a few tens of kilobytes, once per snapshot).
const DELTA_LEVEL: i32 = 7;

/// Size of a page of a [`Record::PagedSnapshot`], in bytes (the machine's page size).
pub const SNAPSHOT_PAGE_SIZE: usize = 4096;

/// One page of a machine's memory store in a [`Record::PagedSnapshot`]. Stored with
/// bincode in field order: `index` (u32 varint), `bytes` (byte string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPage {
    /// The page's index in the store: it holds store bytes `index * 4096 ..` `+ 4096`.
    pub index: u32,
    /// Exactly [`SNAPSHOT_PAGE_SIZE`] bytes.
    #[serde(with = "bytes")]
    pub bytes: Vec<u8>,
}

impl Record {
    /// The record's tick.
    pub fn tick(&self) -> u64 {
        match *self {
            Record::Input { tick, .. }
            | Record::Observation { tick, .. }
            | Record::Checkpoint { tick, .. }
            | Record::Snapshot { tick, .. }
            | Record::PagedSnapshot { tick, .. } => tick,
        }
    }

    /// A short stable name of the kind: `input`, `observe`, `checkpoint`, `snapshot`,
    /// `psnapshot` (a paged snapshot, either coding).
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Input { .. } => "input",
            Record::Observation { .. } => "observe",
            Record::Checkpoint { .. } => "checkpoint",
            Record::Snapshot { .. } => "snapshot",
            Record::PagedSnapshot { .. } => "psnapshot",
        }
    }

    /// Whether this is a machine snapshot of either kind (they get frames of their own and
    /// count as `snapshots` in the footer).
    pub fn is_snapshot(&self) -> bool {
        matches!(self, Record::Snapshot { .. } | Record::PagedSnapshot { .. })
    }

    /// The on-disk form, with the tick as `dt` after `base`.
    pub(crate) fn into_raw(self, base: u64) -> RawRecord {
        match self {
            Record::Input { tick, input } => RawRecord::Input {
                dt: tick - base,
                input,
            },
            Record::Observation { tick, observation } => RawRecord::Observation {
                dt: tick - base,
                observation,
            },
            Record::Checkpoint { tick, hash } => RawRecord::Checkpoint {
                dt: tick - base,
                hash,
            },
            Record::Snapshot { tick, state } => RawRecord::Snapshot {
                dt: tick - base,
                state,
            },
            Record::PagedSnapshot {
                tick,
                state,
                store_len,
                pages,
                coding: SnapshotCoding::Copy,
            } => RawRecord::PagedSnapshot {
                dt: tick - base,
                state,
                store_len,
                pages,
            },
            Record::PagedSnapshot {
                tick,
                state,
                store_len,
                pages,
                coding: SnapshotCoding::Delta,
            } => RawRecord::DeltaSnapshot {
                dt: tick - base,
                state,
                store_len,
                pages,
            },
        }
    }
}

/// What the reader (and the writer, before writing) checks in a paged snapshot: a store
/// length that is a whole number of pages and at most [`MAX_SNAPSHOT_STORE`], pages of
/// exactly [`SNAPSHOT_PAGE_SIZE`] bytes inside the store, in strictly ascending order.
pub(crate) fn check_paged_snapshot(store_len: u64, pages: &[SnapshotPage]) -> Result<(), String> {
    let page = SNAPSHOT_PAGE_SIZE as u64;
    if !store_len.is_multiple_of(page) {
        return Err(format!(
            "a paged snapshot's store length {store_len} is not a multiple of {page}"
        ));
    }
    if store_len > MAX_SNAPSHOT_STORE {
        return Err(format!(
            "a paged snapshot's store length {store_len} is more than the limit of {MAX_SNAPSHOT_STORE}"
        ));
    }
    let count = store_len / page;
    let mut previous: Option<u32> = None;
    for (i, p) in pages.iter().enumerate() {
        if u64::from(p.index) >= count {
            return Err(format!(
                "page {i} of a paged snapshot has index {}, outside its store of {count} pages",
                p.index
            ));
        }
        if p.bytes.len() != SNAPSHOT_PAGE_SIZE {
            return Err(format!(
                "page {i} (index {}) of a paged snapshot holds {} bytes instead of {page}",
                p.index,
                p.bytes.len()
            ));
        }
        if let Some(prev) = previous
            && p.index <= prev
        {
            return Err(format!(
                "page {i} of a paged snapshot has index {}, not after the previous page's {prev}",
                p.index
            ));
        }
        previous = Some(p.index);
    }
    Ok(())
}

/// A record as stored in a frame: the same kinds as [`Record`], in the same order, with
/// the tick as a delta `dt`. The first record of a frame has `dt` = its absolute tick; each
/// following one has `dt` = its tick minus the previous record's tick (so never negative).
///
/// APPEND-ONLY: bincode stores the variant index (0 input, 1 observation, 2 checkpoint,
/// 3 snapshot, 4 paged snapshot, 5 delta snapshot, 6 checkpoint run). Never reorder,
/// remove or change a variant; add new ones at the end.
///
/// A checkpoint run (kind 6, from format version 8) has no [`Record`] of its own: it is
/// consecutive checkpoints at a fixed spacing, which the writer stores as one record (their
/// hashes side by side, the spacing once) and the reader gives back as [`Record::Checkpoint`]s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RawRecord {
    Input {
        dt: u64,
        input: Input,
    },
    Observation {
        dt: u64,
        observation: Observation,
    },
    Checkpoint {
        dt: u64,
        hash: u64,
    },
    Snapshot {
        dt: u64,
        #[serde(with = "bytes")]
        state: Vec<u8>,
    },
    PagedSnapshot {
        dt: u64,
        #[serde(with = "bytes")]
        state: Vec<u8>,
        store_len: u64,
        pages: Vec<SnapshotPage>,
    },
    DeltaSnapshot {
        dt: u64,
        #[serde(with = "bytes")]
        state: Vec<u8>,
        store_len: u64,
        pages: Vec<SnapshotPage>,
    },
    /// Checkpoints at ticks `t`, `t + interval`, `t + 2 × interval`, ... (`t` from `dt`), one
    /// for each 8 bytes of `hashes`: the state hashes as little-endian u64s, in tick order.
    Checkpoints {
        dt: u64,
        interval: u64,
        #[serde(with = "bytes")]
        hashes: Vec<u8>,
    },
}

impl RawRecord {
    pub(crate) fn dt(&self) -> u64 {
        match *self {
            RawRecord::Input { dt, .. }
            | RawRecord::Observation { dt, .. }
            | RawRecord::Checkpoint { dt, .. }
            | RawRecord::Snapshot { dt, .. }
            | RawRecord::PagedSnapshot { dt, .. }
            | RawRecord::DeltaSnapshot { dt, .. }
            | RawRecord::Checkpoints { dt, .. } => dt,
        }
    }

    /// What a record must satisfy beyond decoding (a paged snapshot's pages).
    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            RawRecord::PagedSnapshot {
                store_len, pages, ..
            }
            | RawRecord::DeltaSnapshot {
                store_len, pages, ..
            } => check_paged_snapshot(*store_len, pages),
            RawRecord::Checkpoints { hashes, .. }
                if hashes.is_empty() || !hashes.len().is_multiple_of(8) =>
            {
                Err(format!(
                    "a checkpoint run holds {} bytes of hashes, not a whole number of 8-byte hashes",
                    hashes.len()
                ))
            }
            _ => Ok(()),
        }
    }

    /// The API form of this record, whose tick is `tick` (computed by the caller from `dt`),
    /// appended to `out`: one record, or for a checkpoint run one checkpoint per hash.
    /// Returns the tick of the last record appended (the base of the next record's `dt`).
    pub(crate) fn push_records(self, tick: u64, out: &mut Vec<Record>) -> Result<u64, String> {
        let RawRecord::Checkpoints {
            interval, hashes, ..
        } = self
        else {
            out.push(self.into_record(tick));
            return Ok(tick);
        };
        let mut at = tick;
        for (k, h) in hashes.chunks_exact(8).enumerate() {
            if k > 0 {
                at = at
                    .checked_add(interval)
                    .ok_or("a checkpoint run's ticks overflow")?;
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(h);
            out.push(Record::Checkpoint {
                tick: at,
                hash: u64::from_le_bytes(b),
            });
        }
        Ok(at)
    }

    /// The API form at `tick` (computed by the caller from `dt`); a checkpoint run gives
    /// its first checkpoint (see [`RawRecord::push_records`] for all of them).
    pub(crate) fn into_record(self, tick: u64) -> Record {
        match self {
            RawRecord::Input { input, .. } => Record::Input { tick, input },
            RawRecord::Observation { observation, .. } => Record::Observation { tick, observation },
            RawRecord::Checkpoint { hash, .. } => Record::Checkpoint { tick, hash },
            RawRecord::Snapshot { state, .. } => Record::Snapshot { tick, state },
            RawRecord::PagedSnapshot {
                state,
                store_len,
                pages,
                ..
            } => Record::PagedSnapshot {
                tick,
                state,
                store_len,
                pages,
                coding: SnapshotCoding::Copy,
            },
            RawRecord::DeltaSnapshot {
                state,
                store_len,
                pages,
                ..
            } => Record::PagedSnapshot {
                tick,
                state,
                store_len,
                pages,
                coding: SnapshotCoding::Delta,
            },
            RawRecord::Checkpoints { hashes, .. } => {
                let mut b = [0u8; 8];
                if let Some(h) = hashes.get(..8) {
                    b.copy_from_slice(h);
                }
                Record::Checkpoint {
                    tick,
                    hash: u64::from_le_bytes(b),
                }
            }
        }
    }
}

/// Byte vectors through serde's bytes methods: the same encoding as a `Vec<u8>` (length,
/// then the bytes) but decoded in one piece instead of byte by byte.
pub(crate) mod bytes {
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                // Preallocate cautiously whatever length is claimed.
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(b) = seq.next_element()? {
                    v.push(b);
                }
                Ok(v)
            }
        }
        d.deserialize_byte_buf(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn a_checkpoint_run_gives_a_checkpoint_per_hash_and_refuses_what_does_not_fit() {
        let run = |hashes: Vec<u8>, interval| RawRecord::Checkpoints {
            dt: 5,
            interval,
            hashes,
        };
        let mut out = Vec::new();
        let hashes: Vec<u8> = [1u64, 2, 3].iter().flat_map(|h| h.to_le_bytes()).collect();
        let last = run(hashes.clone(), 10).push_records(100, &mut out).unwrap();
        assert_eq!(last, 120);
        assert_eq!(
            out,
            [
                Record::Checkpoint { tick: 100, hash: 1 },
                Record::Checkpoint { tick: 110, hash: 2 },
                Record::Checkpoint { tick: 120, hash: 3 },
            ]
        );
        // On disk: kind 6, dt, spacing, then the hashes as one byte string.
        let bytes = codec::encode(&run(hashes.clone(), 10)).unwrap();
        assert_eq!(bytes[..4], [6, 5, 10, 24]);
        assert_eq!(bytes[4..], hashes);
        // Hashes that are not whole, none at all, and ticks past 2^64 are refused.
        assert!(run(vec![0; 7], 1).check().is_err());
        assert!(run(Vec::new(), 1).check().is_err());
        assert!(run(vec![0; 16], 1).check().is_ok());
        let e = run(vec![0; 16], u64::MAX)
            .push_records(1, &mut Vec::new())
            .unwrap_err();
        assert!(e.contains("overflow"), "{e}");
    }

    #[test]
    fn a_delta_state_past_the_limit_is_refused_both_ways() {
        use crate::limits::MAX_SNAPSHOT_STATE;
        // 97 MiB of zeros compress to a few kilobytes: a forger's cheap way to make a reader
        // produce them. The frame declares its size, so it is refused before decoding.
        let big = vec![0u8; (MAX_SNAPSHOT_STATE + 1) as usize];
        let forged = zstd::bulk::compress(&big, 1).unwrap();
        assert!(forged.len() < 64 << 10, "{} bytes", forged.len());
        let e = decode_delta_state(&forged, &[]).unwrap_err();
        assert!(e.contains("more than the limit"), "{e}");
        let e = encode_delta_state(&big, &[]).unwrap_err();
        assert!(e.contains("more than the limit"), "{e}");
        // At the limit, both work.
        let coded = encode_delta_state(&big[1..], &[]).unwrap();
        assert_eq!(
            decode_delta_state(&coded, &[]).unwrap().len(),
            big.len() - 1
        );
    }

    #[test]
    fn snapshot_bytes_encode_like_a_vec() {
        let state = vec![1u8, 2, 3, 250, 251, 255];
        let raw = RawRecord::Snapshot {
            dt: 7,
            state: state.clone(),
        };
        let mut expected = vec![3, 7];
        expected.extend(codec::encode(&state).unwrap());
        assert_eq!(codec::encode(&raw).unwrap(), expected);
        assert_eq!(
            codec::decode_exact::<RawRecord>(&expected).unwrap(),
            raw,
            "decodes back"
        );
    }

    #[test]
    fn emu_values_encode_as_format_md_says() {
        use vexed_emu::observe::Regs;
        let enc = |r: &RawRecord| codec::encode(r).unwrap();
        // u8 is one raw byte; u16/u32/u64 are varints.
        assert_eq!(
            enc(&RawRecord::Input {
                dt: 300,
                input: Input::Key { scancode: 0xFF }
            }),
            [0, 0xFB, 0x2C, 0x01, 0, 0xFF]
        );
        assert_eq!(
            enc(&RawRecord::Input {
                dt: 0,
                input: Input::TimerTick
            }),
            [0, 0, 4]
        );
        let regs = Regs {
            ax: 0x1234,
            bx: 1,
            ..Regs::default()
        };
        assert_eq!(
            enc(&RawRecord::Observation {
                dt: 1,
                observation: Observation::Xms {
                    input: regs,
                    output: Regs::default()
                }
            }),
            [
                1, 1, 0, 0xFB, 0x34, 0x12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(
            enc(&RawRecord::Observation {
                dt: 2,
                observation: Observation::ProgramStart {
                    psp: 0x80,
                    path: "A".into()
                }
            }),
            [1, 2, 4, 0x80, 1, b'A']
        );
        assert_eq!(enc(&RawRecord::Checkpoint { dt: 10, hash: 7 }), [2, 10, 7]);
    }

    #[test]
    fn raw_variant_indices_are_fixed() {
        // The on-disk variant index of each kind (FORMAT.md): never change these.
        let first = |r: &RawRecord| codec::encode(r).unwrap()[0];
        assert_eq!(
            first(&RawRecord::Input {
                dt: 0,
                input: Input::TimerTick
            }),
            0
        );
        assert_eq!(
            first(&RawRecord::Observation {
                dt: 0,
                observation: Observation::Console { bytes: vec![] }
            }),
            1
        );
        assert_eq!(first(&RawRecord::Checkpoint { dt: 0, hash: 0 }), 2);
        assert_eq!(
            first(&RawRecord::Snapshot {
                dt: 0,
                state: vec![]
            }),
            3
        );
        assert_eq!(
            first(&RawRecord::PagedSnapshot {
                dt: 0,
                state: vec![],
                store_len: 0,
                pages: vec![]
            }),
            4
        );
    }

    #[test]
    fn a_paged_snapshot_encodes_as_format_md_says() {
        // Kind 4, dt, the state byte string, store_len (a varint: 8192 = FB 00 20), the page
        // count, then each page's index and its 4096 bytes as a byte string (FB 00 10).
        let raw = RawRecord::PagedSnapshot {
            dt: 5,
            state: vec![0xAA, 0xBB],
            store_len: 8192,
            pages: vec![SnapshotPage {
                index: 1,
                bytes: vec![7; 4096],
            }],
        };
        let mut expected = vec![
            4, 5, 2, 0xAA, 0xBB, 0xFB, 0x00, 0x20, 1, 1, 0xFB, 0x00, 0x10,
        ];
        expected.extend([7; 4096]);
        assert_eq!(codec::encode(&raw).unwrap(), expected);
        assert_eq!(codec::decode_exact::<RawRecord>(&expected).unwrap(), raw);
        assert_eq!(raw.check(), Ok(()));
    }

    #[test]
    fn paged_snapshot_pages_are_checked() {
        let page = |index, len| SnapshotPage {
            index,
            bytes: vec![0; len],
        };
        let check = |store_len, pages: &[SnapshotPage]| check_paged_snapshot(store_len, pages);
        assert_eq!(check(0, &[]), Ok(()));
        assert_eq!(check(3 * 4096, &[page(0, 4096), page(2, 4096)]), Ok(()));
        assert_eq!(check(MAX_SNAPSHOT_STORE, &[]), Ok(()));
        let refused = [
            (check(4095, &[]), "not a multiple of 4096"),
            (check(MAX_SNAPSHOT_STORE + 4096, &[]), "more than the limit"),
            (check(2 * 4096, &[page(2, 4096)]), "index 2, outside"),
            (
                check(2 * 4096, &[page(0, 4095)]),
                "4095 bytes instead of 4096",
            ),
            (check(2 * 4096, &[page(0, 4097)]), "4097 bytes"),
            (
                check(3 * 4096, &[page(1, 4096), page(0, 4096)]),
                "index 0, not after the previous page's 1",
            ),
            (
                check(3 * 4096, &[page(1, 4096), page(1, 4096)]),
                "index 1, not after",
            ),
        ];
        for (result, text) in refused {
            let e = result.expect_err(text);
            assert!(e.contains(text), "{e} should say {text}");
        }
    }
}
