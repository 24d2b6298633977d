//! Seeking in a trace: the machine exactly as it was at tick T of the recorded run.
//!
//! The reader streams the trace up to T, following its snapshots with a [`SnapshotChain`]
//! (a paged snapshot only holds the memory pages changed since the previous one, so the
//! chain applies every snapshot from the start) and remembering the inputs recorded after
//! the latest one; then the machine is restored from the latest snapshot at or before T (or
//! built from the header when there is none) and only the stretch from the snapshot to T is
//! re-executed with those inputs. The state at T is the state a checkpoint at T records:
//! after everything the machine does at T without spending a tick, before the inputs
//! recorded at T, with the observations, console text and debug output reported so far
//! taken out of the machine, as the recorder takes them. The machine is slicing-invariant (DESIGN.md section 2), so this lands on
//! the state hash an uninterrupted run has at T (property test in `tests/tests/seek.rs`).

use std::sync::atomic::AtomicU64;

use vexed_emu::machine::{HashScheme, Machine, Stop};

use crate::cursor::Cursor;
use crate::diff::Instruction;
use crate::recording::Recording;
use crate::session::SessionError;

/// Where a seek started from and what it re-executed.
#[derive(Debug)]
pub struct Seek {
    pub machine: Machine,
    /// The snapshot it restored, if any (its tick).
    pub from_snapshot: Option<u64>,
    /// Inputs re-injected between the starting point and the target.
    pub inputs: usize,
    /// The machine stopped for good before the target (it stays where it stopped).
    pub stopped_early: Option<Stop>,
}

/// The machine of the trace `rec` at tick `tick`: at most its recorded run's last tick (a
/// later tick is refused before anything runs). `progress`, if given, follows the
/// re-executed ticks.
pub fn seek(
    rec: &Recording,
    tick: u64,
    progress: Option<&AtomicU64>,
) -> Result<Seek, SessionError> {
    let end = rec.end_tick();
    if tick > end {
        return Err(SessionError::BeyondEnd { tick, end });
    }
    let (m, from_snapshot) = match rec.snapshot_at_or_before(tick)? {
        Some((t, m)) => (m, Some(t)),
        None => (rec.machine_at_tick_0()?, None),
    };
    let mut cursor = Cursor::new(m, rec.inputs.clone(), None, end);
    let before = cursor.injected();
    cursor.advance_to(tick, progress)?;
    let inputs = cursor.injected() - before;
    let stopped_early = cursor.stopped().filter(|_| cursor.now() < tick);
    Ok(Seek {
        stopped_early,
        machine: cursor.into_machine(),
        from_snapshot,
        inputs,
    })
}

/// The machine's state as text: tick, state hash, registers, flags, the instruction at
/// CS:IP, A20, and the VMM's running VM. The hash is the one `scheme` names (the trace's).
pub fn describe_state(m: &Machine, scheme: HashScheme) -> Result<String, SessionError> {
    use vexed_emu::cpu::{Reg16, SegReg};
    let cpu = m.cpu();
    let r = |x| cpu.reg16(x);
    let s = |x| cpu.sreg(x);
    let at = Instruction::of(m);
    let mut out = format!(
        "tick {}\nstate {:016x}\nAX={:04X} BX={:04X} CX={:04X} DX={:04X} SI={:04X} DI={:04X} BP={:04X} SP={:04X}\n\
         CS={:04X} DS={:04X} ES={:04X} SS={:04X} IP={:04X} FLAGS={:04X}{}\n{:04X}:{:04X} {}\nA20 {}\n",
        m.now(),
        m.state_hash_as(scheme)?,
        r(Reg16::AX),
        r(Reg16::BX),
        r(Reg16::CX),
        r(Reg16::DX),
        r(Reg16::SI),
        r(Reg16::DI),
        r(Reg16::BP),
        r(Reg16::SP),
        at.cs,
        s(SegReg::DS),
        s(SegReg::ES),
        s(SegReg::SS),
        at.ip,
        cpu.flags() & 0xFFFF,
        if cpu.halted() { " (halted)" } else { "" },
        at.cs,
        at.ip,
        at.text,
        if m.bus().mem.a20() { "on" } else { "off" },
    );
    if let Some(v) = m.firmware().and_then(|f| f.vmm())
        && v.running()
    {
        out.push_str(&format!(
            "VMM: VM {} runs, critical-section nesting {}\n",
            v.current_vm(),
            v.critical_depth()
        ));
    }
    Ok(out)
}
