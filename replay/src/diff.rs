//! `vexed diff A B`: where two runs of a scenario part ways, to the instruction.
//!
//! Two traces (two runs: before and after a change to a guest program, with different
//! inputs, or one trace under two builds) are compared in three steps:
//!
//! 1. **Set-up**: the headers (machine, firmware, programs, every guest file).
//! 2. **Records**: the first input and the first observation that differ, straight from
//!    the traces; and, for the XMS and EMS drivers, the first call that differs counted in
//!    call order, by its function and the registers the driver changed (ticks, segments
//!    and registers left alone aside): two drivers (the built-in one and one loaded from
//!    CONFIG.SYS, which takes memory and time of its own) compare by what was asked and
//!    answered.
//! 3. **State**: both runs are re-executed by this build with their own recorded inputs,
//!    side by side, and compared at checkpoint ticks (and right after the first differing
//!    input) to find an interval whose start is the same and whose end differs; bisection
//!    then narrows it to one tick T: the states are the same at T and differ at T+1. The
//!    report names T, each side's CS:IP and instruction there and the inputs injected at
//!    T, and what differs after it: registers, flags, memory ranges (with places: XMS and
//!    EMS handles and offsets, VM copies) and every device, firmware and VMM field.
//!
//! "The same" is relative to what already differed at the start: two runs of different
//! guest files differ in drive C: from tick 0. When the first state difference is one in
//! memory alone made by a firmware service (DOS loading a program image from the different
//! file, or copying a different path), the search goes on from there, with those bytes as
//! the baseline, past any further such copies, to the first instruction whose execution
//! differs (the changed instruction when it runs, or the first guest instruction that
//! copies the changed bytes): the report's `execution` point.
//!
//! Comparing at checkpoint ticks finds the first difference that lasts to a checkpoint; a
//! difference that appears and vanishes between two checkpoints without any differing
//! input is not seen (runs of one build with the same files can only part at a differing
//! input, which is always probed). When both traces were recorded with the same set-up and
//! their recorded checkpoint hashes agree up to some tick, the search starts from there,
//! restored from the traces' snapshots, after checking that this build reproduces the
//! recorded state at that tick on both sides.

use std::sync::Arc;

use serde::Serialize;
use vexed_emu::machine::{HashScheme, Input, Machine};
use vexed_emu::observe::{Observation, Regs};
use vexed_trace::{Header, input_text};

use crate::cursor::{Build, Cursor};
use crate::recording::Recording;
use crate::session::{self, SessionError};
use crate::statediff::{self, CompareError, StateDiff};

/// Why two traces could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{side}: {source}")]
    Trace {
        side: String,
        #[source]
        source: SessionError,
    },
    #[error(transparent)]
    Compare(#[from] CompareError),
}

/// The error of `side` failing with `source`.
fn on(side: &Side) -> impl FnOnce(SessionError) -> DiffError + use<> {
    let name = side.name.clone();
    move |source| DiffError::Trace { side: name, source }
}

/// One side of a comparison: a trace and, for tests, the build that runs it.
pub struct Side<'a> {
    /// How reports name it (the file name).
    pub name: String,
    pub bytes: &'a [u8],
    pub build: Option<Build>,
}

/// What a trace holds besides its snapshots.
struct Loaded {
    header: Header,
    inputs: Arc<[(u64, Input)]>,
    observations: Vec<(u64, Observation)>,
    checkpoints: Vec<(u64, u64)>,
    /// The last tick the trace covers (its footer's final tick, or its last record's).
    end: u64,
    rec: Recording,
}

fn load(side: &Side) -> Result<Loaded, SessionError> {
    let rec = Recording::from_bytes(side.bytes)?;
    Ok(Loaded {
        header: rec.header.clone(),
        inputs: rec.inputs.clone(),
        observations: rec.observations.clone(),
        checkpoints: rec.checkpoints.clone(),
        end: rec.end_tick(),
        rec,
    })
}

/// A record present on one side or differing between them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordDifference {
    /// The earlier of the two records' ticks.
    pub tick: u64,
    /// Each side's record there, as `tick: text`; `None` when that side has no more.
    pub a: Option<String>,
    pub b: Option<String>,
}

/// At most this many firmware services moving differing file data are passed over on the
/// way to the first difference in execution.
const MAX_FIRMWARE_COPIES: usize = 16;

/// The instruction a side is at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instruction {
    pub cs: u16,
    pub ip: u16,
    /// Its bytes and NASM text (see [`crate::disasm::one`]).
    pub text: String,
    /// The VM running it, under the VM manager.
    pub vm: Option<u16>,
}

impl Instruction {
    /// The instruction at `m`'s CS:IP.
    pub fn of(m: &Machine) -> Instruction {
        let cpu = m.cpu();
        let cs = cpu.sreg(vexed_emu::cpu::SegReg::CS);
        let ip = cpu.ip();
        let base = cpu.segment(vexed_emu::cpu::SegReg::CS).base;
        let code = m.bus().mem.read_bytes(base.wrapping_add(u32::from(ip)), 15);
        Instruction {
            cs,
            ip,
            text: crate::disasm::one(&code, ip),
            vm: m
                .firmware()
                .and_then(|f| f.vmm())
                .filter(|v| v.running())
                .map(|v| v.current_vm()),
        }
    }
}

impl Instruction {
    /// The emulator trap into a firmware service (DESIGN.md section 7).
    pub fn is_firmware_call(&self) -> bool {
        self.text.starts_with("FE 38 ")
    }
}

impl std::fmt::Display for Instruction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04X}:{:04X}  {}", self.cs, self.ip, self.text)?;
        if let Some(vm) = self.vm {
            write!(f, "  (VM {vm})")?;
        }
        Ok(())
    }
}

/// The tick at which two machines part: the same (up to the baseline) at `tick`,
/// different at `tick + 1`.
#[derive(Clone, Debug, Serialize)]
pub struct Parting {
    pub tick: u64,
    /// Each side's instruction at `tick`.
    pub a: Instruction,
    pub b: Instruction,
    /// The inputs each side injected at `tick`.
    pub inputs_a: Vec<String>,
    pub inputs_b: Vec<String>,
    /// What differs at `tick + 1` that did not differ in the same way before.
    pub differences: StateDiff,
    /// Differences already present before (the baseline), counted.
    pub already_differing: usize,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    pub a: String,
    pub b: String,
    /// How the two runs' set-ups differ (empty: the same machine, firmware, programs and
    /// guest files).
    pub setup: Vec<String>,
    pub first_input: Option<RecordDifference>,
    pub first_observation: Option<RecordDifference>,
    /// For the XMS and EMS drivers, the first call that differs, in call order (none when
    /// both runs' calls agree; see [`first_call_difference`]).
    pub calls: Vec<CallDifference>,
    /// The first tick at which the machine states differ.
    pub state: Option<Parting>,
    /// When `state` is a firmware service writing different memory (a program loaded from a
    /// changed file), the first instruction whose execution differs after it.
    pub execution: Option<Parting>,
    /// Remarks on the comparison itself (a side this build does not reproduce, where the
    /// search started).
    pub notes: Vec<String>,
}

impl DiffReport {
    /// Nothing differs: set-up, records and states.
    pub fn identical(&self) -> bool {
        self.setup.is_empty()
            && self.first_input.is_none()
            && self.first_observation.is_none()
            && self.state.is_none()
    }

    /// The report as text, at most `max_lines` lines of state differences per point.
    pub fn text(&self, max_lines: usize) -> String {
        let mut out = format!("A: {}\nB: {}\n", self.a, self.b);
        if self.identical() {
            out.push_str("identical: the same set-up, inputs, observations and states\n");
        }
        for s in &self.setup {
            out.push_str(&format!("set-up: {s}\n"));
        }
        let record = |what: &str, d: &Option<RecordDifference>, out: &mut String| match d {
            Some(d) => out.push_str(&format!(
                "first differing {what}: tick {}\n  A: {}\n  B: {}\n",
                d.tick,
                d.a.as_deref().unwrap_or("(none)"),
                d.b.as_deref().unwrap_or("(none)")
            )),
            None => out.push_str(&format!("{what}s: the same\n")),
        };
        record("input", &self.first_input, &mut out);
        record("observation", &self.first_observation, &mut out);
        for c in &self.calls {
            out.push_str(&format!(
                "first differing {} call: number {} (A made {}, B {}; in call order, by \
                 function and the registers the driver changed)\n  A: {}\n  B: {}\n",
                c.kind,
                c.number,
                c.calls_a,
                c.calls_b,
                c.a.as_deref().unwrap_or("(none)"),
                c.b.as_deref().unwrap_or("(none)")
            ));
        }
        match &self.state {
            Some(p) => {
                out.push_str("first state difference:\n");
                out.push_str(&p.text(max_lines));
            }
            None => out.push_str("states: the same at every compared tick\n"),
        }
        if let Some(p) = &self.execution {
            out.push_str("first difference in execution:\n");
            out.push_str(&p.text(max_lines));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

impl Parting {
    /// Only memory differs after it.
    pub fn memory_only(&self) -> bool {
        let d = &self.differences;
        d.registers.is_empty() && d.flags.is_empty() && d.fields.is_empty()
    }

    /// The point as indented text.
    pub fn text(&self, max_lines: usize) -> String {
        let mut out = format!(
            "  tick {}: the states are the same before this tick's instruction and differ after it\n",
            self.tick
        );
        if self.a == self.b {
            out.push_str(&format!("  A and B at {}\n", self.a));
        } else {
            out.push_str(&format!("  A at {}\n  B at {}\n", self.a, self.b));
        }
        if !(self.inputs_a.is_empty() && self.inputs_b.is_empty()) {
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            out.push_str(&format!(
                "  inputs at this tick: A {}; B {}\n",
                list(&self.inputs_a),
                list(&self.inputs_b)
            ));
        }
        for line in self.differences.lines(max_lines) {
            out.push_str(&format!("    {line}\n"));
        }
        match self.already_differing {
            0 => {}
            1 => out.push_str("    (besides 1 difference present before it)\n"),
            n => out.push_str(&format!(
                "    (besides {n} differences present before it)\n"
            )),
        }
        out
    }
}

/// Compares `a` and `b` (see the module documentation).
pub fn diff(a: &Side, b: &Side) -> Result<DiffReport, DiffError> {
    let la = load(a).map_err(on(a))?;
    let lb = load(b).map_err(on(b))?;
    let mut report = DiffReport {
        a: a.name.clone(),
        b: b.name.clone(),
        setup: setup_differences(&la.header, &lb.header),
        first_input: first_difference(&la.inputs, &lb.inputs, input_text),
        first_observation: first_difference(&la.observations, &lb.observations, |o| o.to_string()),
        calls: ["xms", "ems"]
            .into_iter()
            .filter_map(|kind| first_call_difference(&la.observations, &lb.observations, kind))
            .collect(),
        state: None,
        execution: None,
        notes: Vec::new(),
    };
    let (start_a, start_b) = start(a, b, &la, &lb, &report)?;
    let mut notes = Vec::new();
    let baseline = statediff::compare(start_a.machine(), start_b.machine())?;
    if start_a.now() > 0 {
        notes.push(format!(
            "the search started at tick {}, where both traces record the same state hash \
             and this build reproduces it",
            start_a.now()
        ));
    }
    let mut probes = probe_ticks(&la, &lb, report.first_input.as_ref());
    probes.retain(|&t| t > start_a.now());
    let end = la.end.max(lb.end);
    let mut verify = [Verify::new(&la), Verify::new(&lb)];
    let found = search(
        start_a,
        start_b,
        &baseline,
        &probes,
        end,
        [a, b],
        &mut verify,
    )?;
    for (side, v) in [a, b].iter().zip(&verify) {
        if let Some((tick, recorded, actual)) = v.mismatch {
            notes.push(format!(
                "{} does not replay identically on this build: at tick {tick} it records \
                 state hash {recorded:016x}, this build has {actual:016x}; the states \
                 compared are this build's",
                side.name
            ));
        }
    }
    if let Some((lo_a, lo_b, hi)) = found {
        let (point, mut ca, mut cb, mut base) = parting(&lo_a, &lo_b, hi, &baseline, a, b)?;
        let mut memory_only = point.memory_only() && point.a.is_firmware_call();
        let mut from = hi;
        report.state = Some(point);
        // Past the firmware moving differing file data (DOS loading a changed program,
        // copying a path) to the first instruction whose execution differs.
        for _ in 0..MAX_FIRMWARE_COPIES {
            if !memory_only {
                break;
            }
            let probes: Vec<u64> = probes.iter().copied().filter(|&t| t > from).collect();
            let mut unchecked = [Verify::none(), Verify::none()];
            let Some((lo_a, lo_b, hi)) =
                search(ca, cb, &base, &probes, end, [a, b], &mut unchecked)?
            else {
                break;
            };
            let (point, na, nb, after) = parting(&lo_a, &lo_b, hi, &base, a, b)?;
            memory_only = point.memory_only() && point.a.is_firmware_call();
            if !memory_only {
                report.execution = Some(point);
            }
            // (A firmware copy is passed over silently: the first one is `state`.)
            (ca, cb, base, from) = (na, nb, after, hi);
        }
    }
    report.notes.extend(notes);
    Ok(report)
}

/// The cursors the search starts from: tick 0, or the last checkpoint up to which both
/// traces record the same hashes (before any differing input), when the set-ups are the
/// same and this build reproduces the recorded state there on both sides.
fn start(
    a: &Side,
    b: &Side,
    la: &Loaded,
    lb: &Loaded,
    report: &DiffReport,
) -> Result<(Cursor, Cursor), DiffError> {
    let from_header = |side: &Side, l: &Loaded| -> Result<Cursor, DiffError> {
        let m = session::machine_from_header(&l.header).map_err(on(side))?;
        Ok(Cursor::new(m, l.inputs.clone(), side.build, l.end))
    };
    let limit = report.first_input.as_ref().map_or(u64::MAX, |d| d.tick);
    // Seeking re-executes from a snapshot with this build: not for a side run by another.
    let agreed = if report.setup.is_empty() && a.build.is_none() && b.build.is_none() {
        la.checkpoints
            .iter()
            .zip(&lb.checkpoints)
            .take_while(|(x, y)| x == y && x.0 <= limit)
            .last()
            .map(|(x, _)| *x)
    } else {
        None
    };
    if let Some((tick, hash)) = agreed {
        let at = |side: &Side, l: &Loaded| -> Result<Option<Cursor>, DiffError> {
            let s = crate::seek::seek(&l.rec, tick, None).map_err(on(side))?;
            let c = Cursor::new(s.machine, l.inputs.clone(), side.build, l.end);
            let reproduced = s.stopped_early.is_none()
                && c.machine()
                    .state_hash_as(l.rec.hash_scheme)
                    .is_ok_and(|h| h == hash && c.now() == tick);
            Ok(reproduced.then_some(c))
        };
        if let (Some(ca), Some(cb)) = (at(a, la)?, at(b, lb)?) {
            return Ok((ca, cb));
        }
    }
    Ok((from_header(a, la)?, from_header(b, lb)?))
}

/// Ticks at which the search compares the two runs: every checkpoint tick of either trace,
/// and the tick of the first differing input and the one after.
fn probe_ticks(la: &Loaded, lb: &Loaded, input: Option<&RecordDifference>) -> Vec<u64> {
    let mut t: Vec<u64> = la
        .checkpoints
        .iter()
        .chain(&lb.checkpoints)
        .map(|&(t, _)| t)
        .collect();
    if let Some(d) = input {
        t.push(d.tick);
        t.push(d.tick + 1);
    }
    t.push(la.end.max(lb.end));
    t.sort_unstable();
    t.dedup();
    t
}

/// Moves both cursors along `probes` until the states' differences are no longer
/// `baseline`'s, then bisects: the cursors at the last tick that is the same, and the
/// first tick that differs. `None` if no probe differs.
fn search(
    mut a: Cursor,
    mut b: Cursor,
    baseline: &StateDiff,
    probes: &[u64],
    end: u64,
    [sa, sb]: [&Side; 2],
    verify: &mut [Verify; 2],
) -> Result<Option<(Cursor, Cursor, u64)>, DiffError> {
    let step = |c: &mut Cursor, t: u64, side: &Side| c.advance_to(t, None).map_err(on(side));
    let mut hi = None;
    for &p in probes.iter().filter(|&&p| p <= end) {
        let (mut na, mut nb) = (a.clone(), b.clone());
        step(&mut na, p, sa)?;
        step(&mut nb, p, sb)?;
        verify[0].check(&na);
        verify[1].check(&nb);
        if same(&na, &nb, baseline)? {
            (a, b) = (na, nb);
            if a.stopped().is_some() && b.stopped().is_some() {
                break;
            }
        } else {
            hi = Some(p);
            break;
        }
    }
    let Some(mut hi) = hi else {
        return Ok(None);
    };
    while hi - a.now() > 1 {
        let mid = a.now() + (hi - a.now()) / 2;
        let (mut na, mut nb) = (a.clone(), b.clone());
        step(&mut na, mid, sa)?;
        step(&mut nb, mid, sb)?;
        if same(&na, &nb, baseline)? {
            (a, b) = (na, nb);
        } else {
            hi = mid;
        }
    }
    Ok(Some((a, b, hi)))
}

/// The two machines differ exactly as the baseline does (a machine that stopped early
/// differs from one that ran on).
fn same(a: &Cursor, b: &Cursor, baseline: &StateDiff) -> Result<bool, DiffError> {
    if a.now() != b.now() {
        return Ok(false);
    }
    if baseline.is_empty() {
        let (ha, hb) = (a.machine().state_hash(), b.machine().state_hash());
        if let (Ok(x), Ok(y)) = (ha, hb) {
            return Ok(x == y);
        }
    }
    Ok(statediff::compare(a.machine(), b.machine())?.same_as(baseline))
}

/// The report of the parting at `hi - 1`, and the cursors at `hi` with their differences.
fn parting(
    lo_a: &Cursor,
    lo_b: &Cursor,
    hi: u64,
    baseline: &StateDiff,
    sa: &Side,
    sb: &Side,
) -> Result<(Parting, Cursor, Cursor, StateDiff), DiffError> {
    let tick = lo_a.now();
    let inputs = |c: &Cursor| -> Vec<String> {
        c.inputs_at(tick)
            .iter()
            .map(|(_, i)| input_text(i))
            .collect()
    };
    let (mut ha, mut hb) = (lo_a.clone(), lo_b.clone());
    for (c, side) in [(&mut ha, sa), (&mut hb, sb)] {
        c.advance_to(hi, None).map_err(on(side))?;
    }
    let after = statediff::compare(ha.machine(), hb.machine())?;
    let differences = after.beyond(baseline, ha.machine(), hb.machine());
    let already = baseline.registers.len()
        + baseline.flags.len()
        + baseline.fields.len()
        + baseline.memory.len();
    let point = Parting {
        tick,
        a: Instruction::of(lo_a.machine()),
        b: Instruction::of(lo_b.machine()),
        inputs_a: inputs(lo_a),
        inputs_b: inputs(lo_b),
        differences,
        already_differing: already,
    };
    Ok((point, ha, hb, after))
}

/// Checks a side's re-execution against its recorded checkpoint hashes as the search
/// passes them.
struct Verify {
    checkpoints: Vec<(u64, u64)>,
    /// What the recorded hashes are hashes of.
    scheme: HashScheme,
    /// The first checkpoint this build does not reproduce: tick, recorded, actual.
    mismatch: Option<(u64, u64, u64)>,
}

impl Verify {
    fn new(l: &Loaded) -> Verify {
        Verify {
            checkpoints: l.checkpoints.clone(),
            scheme: l.rec.hash_scheme,
            mismatch: None,
        }
    }

    fn none() -> Verify {
        Verify {
            checkpoints: Vec::new(),
            scheme: HashScheme::PagedMap,
            mismatch: None,
        }
    }

    fn check(&mut self, c: &Cursor) {
        if self.mismatch.is_some() {
            return;
        }
        let t = c.now();
        if let Ok(i) = self.checkpoints.binary_search_by_key(&t, |&(x, _)| x) {
            let recorded = self.checkpoints[i].1;
            if let Ok(actual) = c.machine().state_hash_as(self.scheme)
                && actual != recorded
            {
                self.mismatch = Some((t, recorded, actual));
            }
        }
    }
}

/// The first position at which two record lists differ.
fn first_difference<T: PartialEq>(
    a: &[(u64, T)],
    b: &[(u64, T)],
    text: impl Fn(&T) -> String,
) -> Option<RecordDifference> {
    let show = |r: Option<&(u64, T)>| r.map(|(t, x)| format!("tick {t}: {}", text(x)));
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let (x, y) = (a.get(i), b.get(i));
    if x.is_none() && y.is_none() {
        return None;
    }
    let tick = match (x, y) {
        (Some(p), Some(q)) => p.0.min(q.0),
        (Some(p), None) | (None, Some(p)) => p.0,
        (None, None) => 0,
    };
    Some(RecordDifference {
        tick,
        a: show(x),
        b: show(y),
    })
}

/// A driver call that differs between two runs (see [`first_call_difference`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallDifference {
    /// `xms` or `ems`.
    pub kind: &'static str,
    /// The call's number in each run's sequence of calls, from 1.
    pub number: usize,
    /// Each side's call there, as `tick N: observation`; `None` when that side made fewer.
    pub a: Option<String>,
    pub b: Option<String>,
    /// How many calls each run made.
    pub calls_a: usize,
    pub calls_b: usize,
}

/// The registers of a call of driver `kind` (`xms`, `ems`) at its call and its return.
fn call_registers(o: &Observation, kind: &str) -> Option<(Regs, Regs)> {
    match (kind, o) {
        ("xms", Observation::Xms { input, output })
        | ("ems", Observation::Ems { input, output }) => Some((*input, *output)),
        _ => None,
    }
}

/// What a driver call is compared by: the function (AX at the call) and the new value of
/// each general register the driver changed (AX, BX, CX, DX, SI, DI; `None`: left alone).
type CallKey = (u16, [Option<u16>; 6]);

/// The first call of driver `kind` that differs between `a` and `b`, counting calls in
/// order and comparing them by [`CallKey`]: ticks, segment registers and the registers the
/// driver did not change are left out, so that two drivers (the built-in one and one
/// loaded from CONFIG.SYS, which takes memory and time and leaves callers in other
/// segments with other leftovers in their registers) or two builds compare by what was
/// asked and answered. `None` when every call agrees.
fn first_call_difference(
    a: &[(u64, Observation)],
    b: &[(u64, Observation)],
    kind: &'static str,
) -> Option<CallDifference> {
    let calls = |v: &[(u64, Observation)]| -> Vec<(u64, Observation, CallKey)> {
        v.iter()
            .filter_map(|(t, o)| {
                let (i, r) = call_registers(o, kind)?;
                let changed = |x: u16, y: u16| (x != y).then_some(y);
                let key = (
                    i.ax,
                    [
                        changed(i.ax, r.ax),
                        changed(i.bx, r.bx),
                        changed(i.cx, r.cx),
                        changed(i.dx, r.dx),
                        changed(i.si, r.si),
                        changed(i.di, r.di),
                    ],
                );
                Some((*t, o.clone(), key))
            })
            .collect()
    };
    let (ca, cb) = (calls(a), calls(b));
    let i = ca
        .iter()
        .zip(&cb)
        .position(|(x, y)| x.2 != y.2)
        .unwrap_or(ca.len().min(cb.len()));
    if i == ca.len() && i == cb.len() {
        return None;
    }
    let show =
        |c: Option<&(u64, Observation, CallKey)>| c.map(|(t, o, _)| format!("tick {t}: {o}"));
    Some(CallDifference {
        kind,
        number: i + 1,
        a: show(ca.get(i)),
        b: show(cb.get(i)),
        calls_a: ca.len(),
        calls_b: cb.len(),
    })
}

/// How two headers' set-ups differ: machine, firmware, programs, limits, guest files.
fn setup_differences(a: &Header, b: &Header) -> Vec<String> {
    let mut out = Vec::new();
    let (ma, mb) = (&a.machine, &b.machine);
    if ma.model != mb.model {
        out.push(format!("CPU: {} / {}", ma.model.name(), mb.model.name()));
    }
    if ma.ram != mb.ram {
        out.push(format!("RAM: {} / {} bytes", ma.ram, mb.ram));
    }
    if ma.rate != mb.rate {
        out.push(format!(
            "ticks per second: {} / {}",
            ma.rate.ticks_per_second(),
            mb.rate.ticks_per_second()
        ));
    }
    if ma.clock != mb.clock {
        out.push(format!("clock: {:?} / {:?}", ma.clock, mb.clock));
    }
    if a.firmware != b.firmware {
        out.push(format!(
            "firmware configuration: {:?} / {:?}",
            a.firmware, b.firmware
        ));
    }
    if a.programs != b.programs {
        let list = |h: &Header| {
            h.programs
                .iter()
                .map(|p| format!("{} {}", p.name, p.args).trim_end().to_string())
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(format!("programs: {} / {}", list(a), list(b)));
    }
    if a.max_ticks != b.max_ticks {
        out.push(format!("tick limit: {} / {}", a.max_ticks, b.max_ticks));
    }
    if a.drive_writable != b.drive_writable || a.dirs != b.dirs {
        out.push("drive C: directories or writability differ".to_string());
    }
    for fa in &a.files {
        match b.files.iter().find(|f| f.path == fa.path) {
            None => out.push(format!("C:\\{}: only in A", fa.path)),
            Some(fb) if fb.bytes != fa.bytes => {
                let first = fa
                    .bytes
                    .iter()
                    .zip(&fb.bytes)
                    .position(|(x, y)| x != y)
                    .unwrap_or(fa.bytes.len().min(fb.bytes.len()));
                let count = fa
                    .bytes
                    .iter()
                    .zip(&fb.bytes)
                    .filter(|(x, y)| x != y)
                    .count();
                out.push(format!(
                    "C:\\{}: {} / {} bytes, {count} differ, the first at offset {first:04X}h",
                    fa.path,
                    fa.bytes.len(),
                    fb.bytes.len()
                ));
            }
            Some(_) => {}
        }
    }
    for fb in &b.files {
        if !a.files.iter().any(|f| f.path == fb.path) {
            out.push(format!("C:\\{}: only in B", fb.path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xms(tick: u64, ax_in: u16, ds: u16, ax_out: u16, bx_out: u16) -> (u64, Observation) {
        let regs = |ax, bx| Regs {
            ax,
            bx,
            cx: 0,
            dx: 0,
            si: 0,
            di: 0,
            ds,
            es: ds,
        };
        let (input, output) = (regs(ax_in, 0), regs(ax_out, bx_out));
        (tick, Observation::Xms { input, output })
    }

    #[test]
    fn driver_calls_compare_in_order_without_ticks_or_segments() {
        let console = (
            5,
            Observation::Console {
                bytes: b"x".to_vec(),
            },
        );
        // The same two calls, later and from another segment, with other records between.
        let a = vec![
            xms(10, 0x0000, 0x01AC, 0x0300, 0),
            xms(20, 0x0800, 0x01AC, 0x40, 0),
        ];
        let b = vec![
            console.clone(),
            xms(110, 0x0000, 0x026C, 0x0300, 0),
            console.clone(),
            xms(140, 0x0800, 0x026C, 0x40, 0),
        ];
        assert_eq!(first_call_difference(&a, &b, "xms"), None);
        assert_eq!(first_call_difference(&a, &b, "ems"), None);
        // A leftover in a register the driver did not change is not an answer.
        let mut leftover = b.clone();
        if let (_, Observation::Xms { input, output }) = &mut leftover[1] {
            input.si = 0x1234;
            output.si = 0x1234;
        }
        assert_eq!(first_call_difference(&a, &leftover, "xms"), None);
        // The second call answers differently (BL = A0h instead of 00h).
        let mut c = b.clone();
        c[3] = xms(140, 0x0800, 0x026C, 0x0000, 0x00A0);
        let d = first_call_difference(&a, &c, "xms").expect("a difference");
        assert_eq!((d.number, d.calls_a, d.calls_b), (2, 2, 2));
        assert!(
            d.a.as_deref()
                .is_some_and(|t| t.starts_with("tick 20: xms"))
        );
        assert!(
            d.b.as_deref()
                .is_some_and(|t| t.starts_with("tick 140: xms"))
        );
        // One run makes fewer calls: the first missing one is the difference.
        let d = first_call_difference(&a, &b[..2], "xms").expect("a difference");
        assert_eq!((d.number, d.calls_a, d.calls_b), (2, 2, 1));
        assert_eq!(d.b, None);
    }
}
