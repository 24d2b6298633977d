//! `vexed replay TRACE --localize`: after a replay diverges, the instruction whose result
//! first differs from the recording, as far as the recording can tell.
//!
//! A replay stops at the first recorded fact this build contradicts: an observation (with
//! its tick and, for driver calls, the registers the driver returned) or a checkpoint's
//! state hash. Everything up to the last checkpoint before it matched. The localizer
//! restores the machine from the trace's snapshots at that checkpoint (checking the state
//! hash), then re-runs only the stretch up to the mismatch:
//!
//! - **An observation at the same tick with a different result** (a driver call answering
//!   differently): the recording pins the instruction. The report names the tick, the
//!   instruction (for a call into the firmware, the trap that entered it) and the
//!   registers as recorded and as replayed.
//! - **A checkpoint, or an observation at another tick**: the recording holds no state
//!   between the two checkpoints, so no single instruction can be proven the first to
//!   differ. The localizer compares the replayed state with the first recorded snapshot
//!   at or after the mismatch (a whole state: registers, flags, memory with its places,
//!   device, firmware and VMM fields) and then re-runs the stretch from the last matching
//!   checkpoint to it, naming for every differing register, flag and memory byte the last
//!   instruction that changed it in the replay (those instructions produced the values that
//!   differ): a pass at full speed finds the 4,096-tick chunk of each last change, and only
//!   those chunks are single-stepped. Without a snapshot after the mismatch it names the
//!   stretch.
//!
//! The report uses the same pieces as `vexed diff` ([`Parting`], [`StateDiff`]).

use serde::Serialize;
use vexed_emu::cpu::{Reg32, SegReg};
use vexed_emu::machine::Machine;
use vexed_emu::observe::{Observation, Regs};
use vexed_trace::{TraceError, input_text};

use crate::cursor::{Build, Cursor};
use crate::diff::{Instruction, Parting};
use crate::recording::Recording;
use crate::session::{Divergence, Mismatch, SessionError};
use crate::statediff::{self, Change, CompareError, StateDiff};

/// At most this many locations are followed while single-stepping.
const MAX_WATCHED: usize = 64;
/// Ticks between the value checks of the fast pass of [`writers`].
const CHUNK: u64 = 4096;

/// Why a divergence could not be localized.
#[derive(Debug, thiserror::Error)]
pub enum LocalizeError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error(transparent)]
    Compare(#[from] CompareError),
    #[error("the trace's snapshots cannot be read: {0}")]
    Snapshot(String),
}

/// The last instruction of the replay that changed a location that differs from the
/// recording.
#[derive(Clone, Debug, Serialize)]
pub struct Writer {
    /// The register, flag or memory byte (with its place).
    pub location: String,
    pub tick: u64,
    pub instruction: Instruction,
}

/// What the localizer found.
#[derive(Clone, Debug, Serialize)]
pub struct Localized {
    /// The replay's divergence: its tick and what was expected and found.
    pub tick: u64,
    pub expected: String,
    pub actual: String,
    /// The last checkpoint at which the replay matched the recording (0: none before).
    pub last_match: u64,
    /// The snapshot the re-run started from (`None`: the start of the trace).
    pub restored_from: Option<u64>,
    /// The first instruction whose result differs, when the recording pins it.
    pub point: Option<Parting>,
    /// The recorded snapshot the replayed state was compared with, and the differences.
    pub snapshot: Option<u64>,
    pub state: Option<StateDiff>,
    /// For each differing register, flag and memory byte, the last instruction that
    /// changed it between `last_match` and `snapshot`, earliest first.
    pub writers: Vec<Writer>,
    pub notes: Vec<String>,
}

impl Localized {
    /// The report as text, with at most `max_lines` state-difference lines.
    pub fn text(&self, max_lines: usize) -> String {
        let mut out = format!(
            "localized: the replay matched the recording up to tick {}{}\n",
            self.last_match,
            match self.restored_from {
                Some(t) => format!(" (re-run from the snapshot at tick {t})"),
                None => " (re-run from the start)".into(),
            }
        );
        if let Some(p) = &self.point {
            out.push_str(
                "first instruction whose result differs from the recording (A: recorded, B: replayed):\n",
            );
            out.push_str(&p.text(max_lines));
        }
        if let (Some(t), Some(d)) = (self.snapshot, &self.state) {
            out.push_str(&format!(
                "state at the recorded snapshot at tick {t} (recorded -> replayed):\n"
            ));
            for line in d.lines(max_lines) {
                out.push_str(&format!("    {line}\n"));
            }
        }
        if !self.writers.is_empty() {
            out.push_str(&format!(
                "last instructions in ticks {}..{} that changed what differs (earliest first):\n",
                self.last_match,
                self.snapshot.unwrap_or(self.tick)
            ));
            for w in self.writers.iter().take(max_lines) {
                out.push_str(&format!(
                    "    tick {}: {}  -> {}\n",
                    w.tick, w.instruction, w.location
                ));
            }
            if self.writers.len() > max_lines {
                out.push_str(&format!(
                    "    ... and {} more\n",
                    self.writers.len() - max_lines
                ));
            }
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

/// Localizes divergence `d` of the trace `bytes` replayed by this build (with `build`
/// applied, if given).
pub fn localize(
    bytes: &[u8],
    d: &Divergence,
    build: Option<Build>,
) -> Result<Localized, LocalizeError> {
    let rec = Recording::from_bytes(bytes)?;
    let mismatch_tick = match &d.mismatch {
        Mismatch::Observation { expected, actual } => expected
            .iter()
            .chain(actual)
            .map(|(t, _)| *t)
            .min()
            .unwrap_or(d.tick),
        Mismatch::Checkpoint { tick, .. } => *tick,
        Mismatch::End => d.tick,
    };
    let last = rec
        .checkpoints
        .iter()
        .rev()
        .find(|(t, _)| *t < mismatch_tick)
        .copied();
    let mut out = Localized {
        tick: d.tick,
        expected: d.expected.clone(),
        actual: d.actual.clone(),
        last_match: last.map_or(0, |(t, _)| t),
        restored_from: None,
        point: None,
        snapshot: None,
        state: None,
        writers: Vec::new(),
        notes: Vec::new(),
    };
    let start = start(&rec, last, build, &mut out)?;
    match &d.mismatch {
        Mismatch::Observation {
            expected: Some((te, e)),
            actual: Some((ta, a)),
        } if te == ta => {
            out.point = Some(pinned(start, *te, e, a)?);
        }
        _ => {
            compare_at_snapshot(&rec, start, mismatch_tick, &mut out)?;
        }
    }
    Ok(out)
}

/// A cursor at the last matching checkpoint: restored from the trace's snapshots when
/// this build reproduces the recorded hash there, from the header otherwise.
fn start(
    rec: &Recording,
    last: Option<(u64, u64)>,
    build: Option<Build>,
    out: &mut Localized,
) -> Result<Cursor, LocalizeError> {
    let end = rec.end_tick();
    if let Some((tick, hash)) = last {
        let s = crate::seek::seek(rec, tick, None)?;
        let c = Cursor::new(s.machine, rec.inputs.clone(), build, end);
        if s.stopped_early.is_none()
            && c.machine()
                .state_hash_as(rec.hash_scheme)
                .is_ok_and(|h| h == hash)
        {
            out.restored_from = s.from_snapshot;
            return Ok(c);
        }
        out.notes.push(format!(
            "re-executing from the trace's snapshot does not reproduce the recorded state at \
             tick {tick}; re-run from the start"
        ));
    }
    let m = rec.machine_at_tick_0()?;
    let mut c = Cursor::new(m, rec.inputs.clone(), build, end);
    if let Some((tick, _)) = last {
        c.advance_to(tick, None)?;
    }
    Ok(c)
}

/// The point an observation pins: the driver call (or other event) at `tick` whose result
/// differs; registers as recorded (A) and as replayed (B).
fn pinned(
    mut c: Cursor,
    tick: u64,
    expected: &Observation,
    actual: &Observation,
) -> Result<Parting, LocalizeError> {
    // A call into the firmware is one instruction (the trap) at tick T, observed when it
    // is done, at T + 1.
    let before = tick.saturating_sub(1).max(c.now());
    c.advance_to(before, None)?;
    let insn = Instruction::of(c.machine());
    let at = if insn.text.starts_with("FE 38") {
        before
    } else {
        tick
    };
    if at > c.now() {
        c.advance_to(at, None)?;
    }
    let insn = Instruction::of(c.machine());
    let inputs: Vec<String> = c.inputs_at(at).iter().map(|(_, i)| input_text(i)).collect();
    let regs = |o: &Observation| match o {
        Observation::Xms { output, .. }
        | Observation::Ems { output, .. }
        | Observation::Multiplex { output, .. } => Some(*output),
        _ => None,
    };
    let (registers, fields) = match (regs(expected), regs(actual)) {
        (Some(x), Some(y)) => (register_changes(&x, &y), Vec::new()),
        _ => (
            Vec::new(),
            vec![Change {
                name: "observation".into(),
                a: expected.to_string(),
                b: actual.to_string(),
            }],
        ),
    };
    Ok(Parting {
        tick: at,
        a: insn.clone(),
        b: insn,
        inputs_a: inputs.clone(),
        inputs_b: inputs,
        differences: StateDiff::from_changes(registers, fields),
        already_differing: 0,
    })
}

fn register_changes(x: &Regs, y: &Regs) -> Vec<Change> {
    [
        ("AX", x.ax, y.ax),
        ("BX", x.bx, y.bx),
        ("CX", x.cx, y.cx),
        ("DX", x.dx, y.dx),
        ("SI", x.si, y.si),
        ("DI", x.di, y.di),
        ("DS", x.ds, y.ds),
        ("ES", x.es, y.es),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(n, a, b)| Change {
        name: n.into(),
        a: format!("{a:04X}"),
        b: format!("{b:04X}"),
    })
    .collect()
}

/// Compares the replay with the first recorded snapshot at or after `tick` and names the
/// last writers of what differs.
fn compare_at_snapshot(
    rec: &Recording,
    start: Cursor,
    tick: u64,
    out: &mut Localized,
) -> Result<(), LocalizeError> {
    let Some((at, recorded)) = rec.snapshot_at_or_after(tick)? else {
        if let Some(why) = rec.unusable_snapshots_reason() {
            out.notes
                .push(format!("the trace's state cannot be compared: {why}"));
            return Ok(());
        }
        out.notes.push(format!(
            "the trace holds no snapshot at or after tick {tick}, so the state there cannot \
             be compared: the first difference lies in ticks {}..{tick} (record with \
             `--snapshot-every 1` for a snapshot at every checkpoint)",
            out.last_match
        ));
        return Ok(());
    };
    let mut replayed = start.clone();
    replayed.advance_to(at, None)?;
    if replayed.now() != at {
        out.notes.push(format!(
            "the replay stopped at tick {} before the recorded snapshot at tick {at}",
            replayed.now()
        ));
    }
    let diff = statediff::compare(&recorded, replayed.machine())?;
    out.snapshot = Some(at);
    out.writers = writers(start, at, &diff, &recorded)?;
    out.state = Some(diff);
    Ok(())
}

/// A location followed while single-stepping.
enum Watch {
    Reg(&'static str, Reg32),
    Ip,
    Seg(&'static str, SegReg),
    Flag(&'static str, u32),
    Byte(u64, String),
}

impl Watch {
    fn read(&self, m: &Machine) -> u64 {
        let cpu = m.cpu();
        match self {
            Watch::Reg(_, r) => u64::from(cpu.reg32(*r)),
            Watch::Ip => u64::from(cpu.eip()),
            Watch::Seg(_, s) => u64::from(cpu.sreg(*s)),
            Watch::Flag(_, bit) => u64::from((cpu.flags() >> bit) & 1),
            Watch::Byte(at, _) => m
                .memory_store()
                .get(*at as usize)
                .map_or(u64::MAX, |&b| u64::from(b)),
        }
    }

    fn name(&self) -> String {
        match self {
            Watch::Reg(n, _) | Watch::Seg(n, _) | Watch::Flag(n, _) => (*n).to_string(),
            Watch::Ip => "IP".into(),
            Watch::Byte(_, place) => format!("memory {place}"),
        }
    }
}

fn watches(diff: &StateDiff, recorded: &Machine) -> Vec<Watch> {
    const REGS: [(&str, &str, Reg32); 8] = [
        ("EAX", "AX", Reg32::EAX),
        ("EBX", "BX", Reg32::EBX),
        ("ECX", "CX", Reg32::ECX),
        ("EDX", "DX", Reg32::EDX),
        ("ESI", "SI", Reg32::ESI),
        ("EDI", "DI", Reg32::EDI),
        ("EBP", "BP", Reg32::EBP),
        ("ESP", "SP", Reg32::ESP),
    ];
    const SEGS: [(&str, SegReg); 6] = [
        ("CS", SegReg::CS),
        ("DS", SegReg::DS),
        ("ES", SegReg::ES),
        ("SS", SegReg::SS),
        ("FS", SegReg::FS),
        ("GS", SegReg::GS),
    ];
    const FLAGS: [(&str, u32); 9] = [
        ("CF", 0),
        ("PF", 2),
        ("AF", 4),
        ("ZF", 6),
        ("SF", 7),
        ("TF", 8),
        ("IF", 9),
        ("DF", 10),
        ("OF", 11),
    ];
    let mut w = Vec::new();
    for c in &diff.registers {
        if let Some(&(n32, n16, r)) = REGS.iter().find(|(a, b, _)| c.name == *a || c.name == *b) {
            w.push(Watch::Reg(if c.name == n32 { n32 } else { n16 }, r));
        } else if let Some(&(n, s)) = SEGS.iter().find(|(n, _)| c.name == *n) {
            w.push(Watch::Seg(n, s));
        } else if c.name == "IP" || c.name == "EIP" {
            w.push(Watch::Ip);
        }
    }
    for c in &diff.flags {
        if let Some(&(n, bit)) = FLAGS.iter().find(|(n, _)| c.name == *n) {
            w.push(Watch::Flag(n, bit));
        }
    }
    for at in diff.differing_bytes().take(MAX_WATCHED) {
        w.push(Watch::Byte(at, statediff::place(recorded, at)));
    }
    w.truncate(MAX_WATCHED);
    w
}

/// For each watched location, the last instruction before `to` that changed its value:
/// a pass at full speed reads the values every [`CHUNK`] ticks and notes, per location, the
/// last chunk across which it changed; each such chunk is then re-executed from `start`
/// and single-stepped. (A change undone within one chunk after the last visible change is
/// not named.)
fn writers(
    start: Cursor,
    to: u64,
    diff: &StateDiff,
    recorded: &Machine,
) -> Result<Vec<Writer>, LocalizeError> {
    let watched = watches(diff, recorded);
    if watched.is_empty() {
        return Ok(Vec::new());
    }
    let read = |c: &Cursor| -> Vec<u64> { watched.iter().map(|w| w.read(c.machine())).collect() };
    let mut c = start.clone();
    let mut values = read(&c);
    let mut last_chunk: Vec<Option<u64>> = vec![None; watched.len()];
    let to = to.min(c.limit());
    while c.now() < to && c.stopped().is_none() {
        let from = c.now();
        c.advance_to((from + CHUNK).min(to), None)?;
        for (i, v) in read(&c).into_iter().enumerate() {
            if v != values[i] {
                values[i] = v;
                last_chunk[i] = Some(from);
            }
        }
    }
    let mut chunks: Vec<u64> = last_chunk.iter().flatten().copied().collect();
    chunks.sort_unstable();
    chunks.dedup();
    let mut out = Vec::new();
    for chunk in chunks {
        let mut f = start.clone();
        f.advance_to(chunk, None)?;
        let mut values = read(&f);
        let mut last: Vec<Option<(u64, Instruction)>> = vec![None; watched.len()];
        let end = (chunk + CHUNK).min(to);
        while f.now() < end && f.stopped().is_none() {
            let (tick, insn) = (f.now(), Instruction::of(f.machine()));
            f.advance_to(tick + 1, None)?;
            for (i, v) in read(&f).into_iter().enumerate() {
                if v != values[i] {
                    values[i] = v;
                    if last_chunk[i] == Some(chunk) {
                        last[i] = Some((tick, insn.clone()));
                    }
                }
            }
        }
        out.extend(watched.iter().zip(last).filter_map(|(w, l)| {
            l.map(|(tick, instruction)| Writer {
                location: w.name(),
                tick,
                instruction,
            })
        }));
    }
    out.sort_by_key(|w| w.tick);
    Ok(out)
}
