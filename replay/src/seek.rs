//! Seeking in a trace: the machine exactly as it was at tick T of the recorded run.
//!
//! The reader streams the trace up to T, remembering the last snapshot at or before T and
//! the inputs recorded after it; then the machine is restored from that snapshot (or built
//! from the header when there is none) and only the stretch from the snapshot to T is
//! re-executed with those inputs. The state at T is the state a checkpoint at T records:
//! after everything the machine does at T without spending a tick, before the inputs
//! recorded at T, with the observations, console text and debug output reported so far
//! taken out of the machine, as the recorder takes them. The machine is slicing-invariant (DESIGN.md section 2), so this lands on
//! the state hash an uninterrupted run has at T (property test in `tests/tests/seek.rs`).

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

use vexed_emu::machine::{Input, Machine, Stop};
use vexed_trace::{Record, TraceError, TraceReader};

use crate::session::{self, SessionError};

/// The run is cut into calls of at most this many ticks, so a progress counter moves.
const SLICE: u64 = 1_000_000;

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

/// The machine of `reader`'s trace at tick `tick`. `progress`, if given, follows the
/// re-executed ticks.
pub fn seek<R: Read>(
    reader: &mut TraceReader<R>,
    tick: u64,
    progress: Option<&AtomicU64>,
) -> Result<Seek, SessionError> {
    let header = reader.header().clone();
    let mut snapshot: Option<(u64, Vec<u8>)> = None;
    let mut inputs: Vec<(u64, Input)> = Vec::new();
    loop {
        let record = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) | Err(TraceError::Truncated { .. }) => break,
            Err(e) => return Err(e.into()),
        };
        if record.tick() > tick {
            break;
        }
        match record {
            Record::Snapshot { tick: t, state } => {
                snapshot = Some((t, state));
                inputs.clear();
            }
            Record::Input { tick: t, input } if t < tick => inputs.push((t, input)),
            _ => {}
        }
    }
    let (mut m, from_snapshot) = match snapshot {
        Some((t, state)) => (Machine::restore(&state)?, Some(t)),
        None => (session::machine_from_header(&header)?, None),
    };
    let mut stopped_early = None;
    let count = inputs.len();
    for (t, input) in inputs {
        // Inputs at one tick go in back to back, as the recorder injected them.
        if m.now() >= t {
            m.inject(input).map_err(|e| SessionError::Input {
                tick: t,
                message: e.to_string(),
            })?;
            continue;
        }
        if let Some(stop) = run_to(&mut m, t, progress) {
            stopped_early = Some(stop);
            break;
        }
        m.inject(input).map_err(|e| SessionError::Input {
            tick: t,
            message: e.to_string(),
        })?;
    }
    if stopped_early.is_none() {
        stopped_early = run_to(&mut m, tick, progress);
    }
    Ok(Seek {
        machine: m,
        from_snapshot,
        inputs: count,
        stopped_early,
    })
}

/// Runs `m` to `tick` (at least one call, so the zero-time work at the current tick is
/// done); the stop if the machine ends before.
fn run_to(m: &mut Machine, tick: u64, progress: Option<&AtomicU64>) -> Option<Stop> {
    loop {
        let stop = m.run_until(tick.min(m.now().saturating_add(SLICE)));
        // What the machine reported is taken as the recorder takes it, so the state
        // matches a checkpoint's.
        let _ = session::drain(m);
        if let Some(p) = progress {
            p.store(m.now(), Ordering::Relaxed);
        }
        if stop != Stop::Deadline {
            return Some(stop);
        }
        if m.now() >= tick {
            return None;
        }
    }
}

/// The machine's state as text: tick, state hash, registers, flags, the instruction at
/// CS:IP, A20, and the VMM's running VM.
pub fn describe_state(m: &Machine) -> Result<String, SessionError> {
    use vexed_emu::cpu::{Reg16, SegReg};
    let cpu = m.cpu();
    let r = |x| cpu.reg16(x);
    let s = |x| cpu.sreg(x);
    let cs = s(SegReg::CS);
    let ip = cpu.ip();
    let base = cpu.segment(SegReg::CS).base;
    let code = m.bus().mem.read_bytes(base.wrapping_add(u32::from(ip)), 15);
    let mut out = format!(
        "tick {}\nstate {:016x}\nAX={:04X} BX={:04X} CX={:04X} DX={:04X} SI={:04X} DI={:04X} BP={:04X} SP={:04X}\n\
         CS={:04X} DS={:04X} ES={:04X} SS={:04X} IP={:04X} FLAGS={:04X}{}\n{cs:04X}:{ip:04X} {}\nA20 {}\n",
        m.now(),
        m.state_hash()?,
        r(Reg16::AX),
        r(Reg16::BX),
        r(Reg16::CX),
        r(Reg16::DX),
        r(Reg16::SI),
        r(Reg16::DI),
        r(Reg16::BP),
        r(Reg16::SP),
        cs,
        s(SegReg::DS),
        s(SegReg::ES),
        s(SegReg::SS),
        ip,
        cpu.flags() & 0xFFFF,
        if cpu.halted() { " (halted)" } else { "" },
        crate::disasm::one(&code, ip),
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
