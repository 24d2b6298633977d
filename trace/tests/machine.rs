//! Real machine snapshots and hashes go through a trace unchanged.

mod common;

use common::*;
use vexed_emu::machine::{Machine, MachineConfig};
use vexed_trace::{Record, SnapshotPage, TraceWriter};

#[test]
fn a_default_machine_snapshot_round_trips() {
    let m = Machine::new(MachineConfig::default()).unwrap();
    let state = m.snapshot().unwrap();
    let hash = m.state_hash().unwrap();
    assert!(state.len() > 16 << 20, "16 MiB of RAM and more");
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    w.push(Record::Checkpoint { tick: 0, hash }).unwrap();
    w.push(Record::Snapshot {
        tick: 0,
        state: state.clone(),
    })
    .unwrap();
    let bytes = w.finish(0, hash, &vexed_trace::RunEnd::TickLimit).unwrap();
    assert!(
        bytes.len() < 64 << 10,
        "zero RAM compresses: {} bytes",
        bytes.len()
    );
    let o = read_all(&bytes);
    assert!(o.error.is_none(), "{:?}", o.error);
    let Some(Record::Snapshot { state: read, .. }) = o.records.get(1) else {
        panic!("no snapshot");
    };
    assert!(read == &state);
    let restored = Machine::restore(read).unwrap();
    assert_eq!(restored.state_hash().unwrap(), hash);
}

#[test]
fn a_paged_machine_snapshot_round_trips_and_rebuilds_the_machine() {
    let mut m = Machine::new(MachineConfig::default()).unwrap();
    m.bus_mut().mem.write_bytes(0x1234, b"page one");
    m.bus_mut().mem.write_bytes(0x9_FFFE, b"two pages");
    let hash = m.state_hash().unwrap();
    let state = m.snapshot_without_store().unwrap();
    let store = m.memory_store().to_vec();
    // The first snapshot of a trace: the pages that are not all zeros.
    let pages: Vec<SnapshotPage> = store
        .chunks(4096)
        .enumerate()
        .filter(|(_, p)| p.iter().any(|&b| b != 0))
        .map(|(i, p)| SnapshotPage {
            index: i as u32,
            bytes: p.to_vec(),
        })
        .collect();
    assert_eq!(
        pages.iter().map(|p| p.index).collect::<Vec<_>>(),
        [1, 0x9F, 0xA0]
    );
    let record = Record::PagedSnapshot {
        tick: 0,
        state,
        store_len: store.len() as u64,
        pages,
        coding: vexed_trace::SnapshotCoding::Copy,
    };
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    w.push(record.clone()).unwrap();
    w.push(Record::Checkpoint { tick: 0, hash }).unwrap();
    let bytes = w.finish(0, hash, &vexed_trace::RunEnd::TickLimit).unwrap();
    assert!(bytes.len() < 16 << 10, "{} bytes", bytes.len());
    let o = read_all(&bytes);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.records.first(), Some(&record));
    let Some(Record::PagedSnapshot {
        state,
        store_len,
        pages,
        ..
    }) = o.records.first()
    else {
        panic!("no paged snapshot");
    };
    // Rebuilt as FORMAT.md says: zeros, with the pages written over them.
    let mut rebuilt = vec![0u8; *store_len as usize];
    for p in pages {
        let at = p.index as usize * 4096;
        rebuilt[at..at + 4096].copy_from_slice(&p.bytes);
    }
    let restored = Machine::restore_with_store(state, rebuilt).unwrap();
    assert_eq!(restored.state_hash().unwrap(), hash);
    assert_eq!(restored.bus().mem.read_bytes(0x9_FFFE, 9), b"two pages");
}
