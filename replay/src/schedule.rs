//! What the VM manager did in a recorded run, from the trace's observations alone: which
//! VM ran when and why it stopped, critical sections (Int 2Fh 1681h/1682h at the bottom of
//! the chain) and whether a switch ever landed inside one, DOS re-entries, how each VM
//! ended, and the XMS blocks' contents at the end. The golden tests snapshot it for the VMM
//! scenarios (a reviewer reads it), and the property tests use its counts.

use std::fmt::Write as _;

use vexed_emu::observe::{Observation, SwitchReason};
use vexed_trace::{Record, TraceReader};

use crate::session::SessionError;

/// Per-VM counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmStats {
    pub id: u16,
    pub program: String,
    /// Times the VM got the processor.
    pub slices: u64,
    /// Ticks it held the processor.
    pub ticks: u64,
    /// How its slices ended, by reason (in [`SwitchReason`] order of first appearance).
    pub ended_by: Vec<(SwitchReason, u64)>,
    pub critical_entered: u64,
    pub critical_left: u64,
    pub deepest: u16,
    /// Switches away from the VM while it held a critical section.
    pub switched_inside_critical: u64,
    pub exit_code: Option<u8>,
}

/// The VMM's part of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    pub startup: Vec<String>,
    pub vms: Vec<VmStats>,
    /// Every switch: (tick, from, to, reason).
    pub switches: Vec<(u64, u16, u16, SwitchReason)>,
    /// DOS re-entries observed: (tick, VM, line).
    pub reentries: Vec<(u64, u16, String)>,
    pub xms_blocks: Option<String>,
    pub end: String,
}

impl Schedule {
    /// The stats of VM `id`.
    pub fn vm(&self, id: u16) -> Option<&VmStats> {
        self.vms.iter().find(|v| v.id == id)
    }

    fn vm_mut(&mut self, id: u16) -> &mut VmStats {
        if let Some(i) = self.vms.iter().position(|v| v.id == id) {
            return &mut self.vms[i];
        }
        self.vms.push(VmStats {
            id,
            ..VmStats::default()
        });
        let last = self.vms.len() - 1;
        &mut self.vms[last]
    }
}

/// Reads the schedule of a trace in memory.
pub fn schedule_of(bytes: &[u8]) -> Result<Schedule, SessionError> {
    let mut reader = TraceReader::new(bytes)?;
    let mut s = Schedule::default();
    let mut current: Option<(u16, u64)> = None;
    let mut depth: Vec<u16> = Vec::new();
    let mut last_tick = 0;
    while let Some(r) = reader.next_record()? {
        let Record::Observation { tick, observation } = r else {
            continue;
        };
        last_tick = tick;
        let vm = current.map_or(1, |(v, _)| v);
        let slot = usize::from(vm);
        if depth.len() <= slot {
            depth.resize(slot + 1, 0);
        }
        match &observation {
            Observation::VmmStartupEntry(_)
            | Observation::VmmTsrIdentify(_)
            | Observation::VmmAborted { .. } => s.startup.push(observation.to_string()),
            Observation::VmCreated { vm, program } => {
                s.vm_mut(*vm).program = program.clone();
            }
            Observation::VmSwitch { from, to, reason } => {
                if let Some((v, since)) = current {
                    let st = s.vm_mut(v);
                    st.ticks += tick - since;
                    match st.ended_by.iter_mut().find(|(r, _)| r == reason) {
                        Some((_, n)) => *n += 1,
                        None => st.ended_by.push((*reason, 1)),
                    }
                    if depth.get(usize::from(v)).is_some_and(|&d| d > 0) {
                        st.switched_inside_critical += 1;
                    }
                }
                s.vm_mut(*to).slices += 1;
                s.switches.push((tick, *from, *to, *reason));
                current = Some((*to, tick));
            }
            Observation::Multiplex { input, .. } if input.ax == 0x1681 => {
                depth[slot] = depth[slot].saturating_add(1);
                let d = depth[slot];
                let st = s.vm_mut(vm);
                st.critical_entered += 1;
                st.deepest = st.deepest.max(d);
            }
            Observation::Multiplex { input, .. } if input.ax == 0x1682 => {
                depth[slot] = depth[slot].saturating_sub(1);
                s.vm_mut(vm).critical_left += 1;
            }
            Observation::DosReentered { .. } => {
                s.reentries.push((tick, vm, observation.to_string()));
            }
            Observation::VmExited { vm, code } => s.vm_mut(*vm).exit_code = Some(*code),
            Observation::XmsBlocks { .. } => s.xms_blocks = Some(observation.to_string()),
            Observation::VmmExit => {
                if let Some((v, since)) = current.take() {
                    s.vm_mut(v).ticks += tick - since;
                }
            }
            _ => {}
        }
    }
    s.vms.sort_by_key(|v| v.id);
    s.end = match reader.footer() {
        Some(f) => format!("{} at tick {}", f.end, f.final_tick),
        None => format!("truncated after tick {last_tick}"),
    };
    Ok(s)
}

/// The schedule as text for people: start-up, one paragraph per VM, the first and last
/// switches, re-entries, the end.
pub fn schedule_summary(bytes: &[u8]) -> Result<String, SessionError> {
    let s = schedule_of(bytes)?;
    let mut out = String::new();
    for line in &s.startup {
        let _ = writeln!(out, "startup: {line}");
    }
    for v in &s.vms {
        let name = if v.id == 1 && v.program.is_empty() {
            "system VM".to_string()
        } else if v.id == 1 {
            format!("system VM, {}", v.program)
        } else {
            v.program.clone()
        };
        let _ = writeln!(
            out,
            "VM {} ({name}): ran {} times for {} ticks",
            v.id, v.slices, v.ticks
        );
        if !v.ended_by.is_empty() {
            let reasons: Vec<String> = v
                .ended_by
                .iter()
                .map(|(r, n)| format!("{} {n}", r.name()))
                .collect();
            let _ = writeln!(out, "  gave up the processor: {}", reasons.join(", "));
        }
        if v.critical_entered > 0 || v.switched_inside_critical > 0 {
            let _ = writeln!(
                out,
                "  critical sections: {} entered, {} left, deepest nesting {}, switches away inside one: {}",
                v.critical_entered, v.critical_left, v.deepest, v.switched_inside_critical
            );
        }
        if let Some(code) = v.exit_code {
            let _ = writeln!(out, "  program exit code {code}");
        }
    }
    let n = s.switches.len();
    let _ = writeln!(out, "switches: {n}");
    let shown: Vec<usize> = if n <= 24 {
        (0..n).collect()
    } else {
        (0..12).chain(n - 12..n).collect()
    };
    let mut previous = None;
    for i in shown {
        if previous.is_some_and(|p: usize| i != p + 1) {
            let _ = writeln!(out, "  ...");
        }
        let (tick, from, to, reason) = s.switches[i];
        let _ = writeln!(out, "  {tick:>12} VM {from} -> VM {to} ({})", reason.name());
        previous = Some(i);
    }
    match s.reentries.len() {
        0 => {
            let _ = writeln!(out, "DOS re-entries: none");
        }
        n => {
            let _ = writeln!(out, "DOS re-entries: {n}");
        }
    }
    for (tick, vm, line) in &s.reentries {
        let _ = writeln!(out, "{tick:>12} VM {vm}: {line}");
    }
    if let Some(x) = &s.xms_blocks {
        let _ = writeln!(out, "at the end: {x}");
    }
    let _ = writeln!(out, "end: {}", s.end);
    Ok(out)
}
