//! Interrupt-timing fuzzing: a scenario run under a perturbed input schedule (spurious
//! IRQs, keystrokes, DMA completions and, in the host clock mode, timer ticks with jitter)
//! must still meet its expectations and the machine invariants below. Every case is
//! recorded, so a failing one is a trace file that `vexed replay` reproduces.
//!
//! Invariants checked after each case, besides the scenario's own expectations:
//! - the XMS handle table in guest memory (Int 2Fh AX=4309h) is consistent: every entry is
//!   free, used or an unused slot, and the free and used blocks tile the pool exactly;
//! - the A20 gate is off when the programs are done (every XMS move and Int 15h AH=87h
//!   restored the caller's state, and the programs undo their own enables).

use vexed_emu::firmware::stubs::XMS_SEG;
use vexed_emu::firmware::xms::{ENTRIES_OFF, ENTRY_BYTES, POOL_BASE_KB, TABLE_OFF};
use vexed_emu::firmware::{Termination, linear};
use vexed_emu::machine::{ClockMode, Input, Machine};
use vexed_emu::observe::Observation;
use vexed_trace::{Record, TraceReader};

use crate::run::{RunEnd, RunReport};
use crate::scenario::Scenario;
use crate::session::{self, RecordOptions, SessionError};
use crate::source::{Rng, Scripted};

/// One fuzz case: the schedule it ran and what went wrong.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub seed: u64,
    /// The trace of the case.
    pub trace: Vec<u8>,
    /// Failed expectations and invariants (empty: the case passed).
    pub failures: Vec<String>,
}

/// Inputs with their ticks.
pub type Inputs = Vec<(u64, Input)>;

/// A random schedule for `s` from `seed`: the scenario's inputs delayed by up to 10 ms
/// (keeping their order), 0-15 spurious IRQ edges on lines 3, 5 and 7, 0-3 stray
/// keystrokes of keys that type nothing (Shift make/break), 0-3 DMA completions on channel
/// 1 (the Sound Blaster's, idle here), and in the host clock mode the timer ticks at the
/// 18.2 Hz period with up to 25 % jitter. All within the first `horizon` ticks.
pub fn schedule(s: &Scenario, seed: u64, horizon: u64) -> Vec<(u64, Input)> {
    let (mut out, perturbations) = schedule_parts(s, seed, horizon);
    out.extend(perturbations);
    out.sort_by_key(|&(t, _)| t);
    out
}

/// [`schedule`] in its two parts: the scenario's inputs (delayed, in order) with the
/// host clock's timer ticks, which pace the machine; and the perturbations (IRQ edges,
/// Shift keystrokes, DMA completions), in the order they were drawn.
pub fn schedule_parts(s: &Scenario, seed: u64, horizon: u64) -> (Inputs, Inputs) {
    let mut rng = Rng::new(seed);
    let rate = s.machine.rate;
    let max_delay = rate.ticks_per_second() / 100;
    let mut out = Vec::new();
    let mut floor = 0;
    for &(t, input) in &s.inputs {
        let t = (t + rng.below(max_delay + 1)).max(floor);
        floor = t;
        out.push((t, input));
    }
    let horizon = horizon.max(1);
    let mut extra = Vec::new();
    for _ in 0..rng.below(16) {
        let line = [3u8, 5, 7][rng.below(3) as usize];
        extra.push((rng.below(horizon), Input::Irq { line }));
    }
    for _ in 0..rng.below(4) {
        let t = rng.below(horizon);
        extra.push((t, Input::Key { scancode: 0x2A }));
        extra.push((t + 1, Input::Key { scancode: 0xAA }));
    }
    for _ in 0..rng.below(4) {
        extra.push((rng.below(horizon), Input::DmaDone { channel: 1 }));
    }
    if s.machine.clock == ClockMode::Host {
        // 65,536 PIT clocks = 54.925 ms.
        let period = rate.tick_of_time(0, 54_925_000).max(1);
        let mut t = 0;
        while t < horizon {
            let jitter = rng.below(period / 2 + 1);
            t += period - period / 4 + jitter;
            out.push((t, Input::TimerTick));
        }
    }
    (out, extra)
}

/// Runs `s` with the schedule of `seed` and checks everything.
pub fn run_case(
    s: &Scenario,
    manifest: &str,
    seed: u64,
    horizon: u64,
) -> Result<CaseResult, SessionError> {
    let schedule = schedule(s, seed, horizon);
    run_schedule(s, manifest, schedule, Some(seed))
}

/// Runs `s` with exactly the inputs `schedule` (instead of its own) and checks its
/// expectations and the invariants.
pub fn run_schedule(
    s: &Scenario,
    manifest: &str,
    schedule: Vec<(u64, Input)>,
    seed: Option<u64>,
) -> Result<CaseResult, SessionError> {
    let mut s = s.clone();
    s.inputs = schedule;
    s.inputs.sort_by_key(|&(t, _)| t);
    let opts = RecordOptions {
        seed,
        ..RecordOptions::default()
    };
    let header = session::header(&s, manifest, &opts)?;
    let mut source = Scripted::new(s.inputs.clone());
    let mut console = Vec::new();
    let (trace, rec, machine) =
        session::record_machine(&header, &mut source, &opts, Vec::new(), &mut console)?;
    let report = crate::run::report(
        &machine,
        crate::run::end_of(rec.stop, rec.final_tick, header.max_ticks),
        console,
        Vec::new(),
    );
    let mut failures = crate::run::check(&s, &report);
    failures.extend(invariants(&machine));
    Ok(CaseResult {
        seed: seed.unwrap_or(0),
        trace,
        failures,
    })
}

/// The window perturbations land in: the length of the scenario's unperturbed run (its
/// own inputs only), so every random input arrives while the programs run.
pub fn horizon(s: &Scenario, manifest: &str) -> Result<u64, SessionError> {
    let r = run_schedule(s, manifest, s.inputs.clone(), None)?;
    Ok(crate::recording::Recording::from_bytes(&r.trace)?
        .end_tick()
        .max(1))
}

/// The seed of case `i` of a fuzz run started from `seed`.
pub fn case_seed(seed: u64, i: u64) -> u64 {
    let mut r = Rng::new(seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03));
    r.next_u64()
}

/// What the run did, rebuilt from the trace's observations and footer (console text,
/// program exits, how it ended).
pub fn report_of(trace: &[u8]) -> Result<RunReport, SessionError> {
    let mut reader = TraceReader::new(trace)?;
    let mut console = Vec::new();
    let mut terminations = Vec::new();
    let mut vm_exits = Vec::new();
    // EXEC depth per VM (index = VM id; 0 and 1 are the machine before and outside the
    // DOS VMs).
    let mut depth = vec![0usize; 2];
    let mut vm = 1usize;
    while let Some(r) = reader.next_record()? {
        if let Record::Observation { observation, .. } = r {
            match observation {
                Observation::Console { bytes } => console.extend(bytes),
                Observation::VmSwitch { to, .. } => {
                    vm = usize::from(to);
                    if depth.len() <= vm {
                        depth.resize(vm + 1, 0);
                    }
                }
                Observation::VmExited { vm: id, code } => vm_exits.push((id, code)),
                Observation::ProgramStart { .. } => depth[vm] += 1,
                Observation::ProgramExit { code, kind, .. } => {
                    depth[vm] = depth[vm].saturating_sub(1);
                    // Only the shell's children count (a program's own EXECs do not), and
                    // only the plain shell's (a DOS VM's program is reported by VmExited).
                    if depth[vm] == 0 && vm == 1 {
                        terminations.push(Termination { code, kind });
                    }
                }
                _ => {}
            }
        }
    }
    let footer = reader.footer().cloned();
    let ticks = footer.as_ref().map_or(0, |f| f.final_tick);
    // An unfinished trace's run had not ended: as far as it goes, it reached its limit.
    let end = footer.map_or(RunEnd::TickLimit, |f| f.end);
    Ok(RunReport {
        end,
        console,
        terminations,
        vm_exits,
        ticks,
        skipped: Vec::new(),
    })
}

/// The machine invariants (see the module docs).
pub fn invariants(m: &Machine) -> Vec<String> {
    let mut out = Vec::new();
    if m.firmware().is_some_and(|f| f.config().xms.is_some())
        && let Err(e) = xms_table_consistent(m)
    {
        out.push(format!("XMS handle table inconsistent: {e}"));
    }
    if m.bus().mem.a20() {
        out.push("A20 is still on after the programs ended".into());
    }
    out
}

/// Reads the Int 2Fh AX=4309h handle table from guest memory and checks that its free
/// and used blocks tile the extended-memory pool.
pub fn xms_table_consistent(m: &Machine) -> Result<(), String> {
    let mem = &m.bus().mem;
    let table = linear(XMS_SEG, TABLE_OFF);
    let count = u32::from(mem.read_u16(table + 2));
    let mut blocks = Vec::new();
    for i in 0..count {
        let e = linear(XMS_SEG, ENTRIES_OFF) + i * u32::from(ENTRY_BYTES);
        let flag = mem.read_u8(e);
        let base = mem.read_u32(e + 2);
        let size = mem.read_u32(e + 6);
        match flag {
            0x01 | 0x02 => blocks.push((base, size, flag)),
            0x04 => {}
            other => return Err(format!("entry {i} has flag {other:02X}h")),
        }
    }
    blocks.sort();
    let bus_top = 1u64 << m.bus().mem.bus_bits();
    let pool_end = (u64::from(m.bus().mem.ram_size()).min(bus_top) / 1024) as u32;
    let mut at = POOL_BASE_KB;
    for &(base, size, flag) in &blocks {
        if size == 0 && flag == 0x02 {
            continue; // a 0-KB EMB owns no memory
        }
        if base != at {
            return Err(format!(
                "block at {base} KB, expected {at} KB (gap or overlap)"
            ));
        }
        at = base + size;
    }
    if at != pool_end && !blocks.is_empty() {
        return Err(format!("blocks end at {at} KB, the pool at {pool_end} KB"));
    }
    Ok(())
}
