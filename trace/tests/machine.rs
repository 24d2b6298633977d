//! Real machine snapshots and hashes go through a trace unchanged.

mod common;

use common::*;
use vexed_emu::machine::{Machine, MachineConfig};
use vexed_trace::{Record, TraceWriter};

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
    let bytes = w.finish(0, hash, "end").unwrap();
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
