//! `vexed timeline`: a picture (SVG) of VM scheduling over time, drawn from a trace's
//! records alone, without re-executing anything.
//!
//! # What it draws
//!
//! Time runs along the x axis in ticks; the axis labels give each tick also in
//! milliseconds of guest time (from the header's tick rate). There is one horizontal lane
//! per processor owner and one for inputs:
//!
//! - **DOS**: the machine before the VMM's first `VmSwitch` (and after `VmmExit`) runs plain
//!   DOS; that time is a bar on the DOS lane, labelled "DOS (before the VMM)" ("DOS
//!   (outside the VMM)" when the VMM also exited, plain "DOS" in a trace without any VM
//!   observation, which therefore still has one lane).
//! - **VM n**: one lane per virtual machine, labelled from its `VmCreated` observation:
//!   "VM 1 (system)", "VM 2 PROGRAM.COM". A bar covers each interval the VM held the
//!   processor: from the `VmSwitch` to it until the next `VmSwitch` (or `VmmExit`). The
//!   bar's colour says why the interval ended (the next switch's [`SwitchReason`] name,
//!   `vmm-exit`, or "still running" at the end of the trace); a bar wide enough also
//!   carries that name as a label. `VmExited` puts a small "exit N" mark on the lane.
//! - **Critical sections**: a hatched, outlined overlay on the lane of the VM that was
//!   running when Int 2Fh AX=1681h (begin) reached the bottom of the chain
//!   (`Observation::Multiplex`), up to the matching AX=1682h (end) from the same VM. They
//!   nest: a section begins when the VM's depth goes from 0 to 1 and ends when it returns
//!   to 0; an unmatched 1682h is ignored, a section still open at the end reaches the end.
//! - **XMS and EMS calls** (`Observation::Xms`, `Observation::Ems`): short tick marks at
//!   the top (XMS) and bottom (EMS) of the lane of whoever was running when they were made.
//! - **DPMI** (`Observation::Dpmi`, `DpmiStart`, `DpmiExit`, `DpmiFault`): a row of its own
//!   between the XMS row and the bar, on the lane of whoever was running. Each Int 31h call
//!   is a tick mark there (magenta; the tooltip names the function, `DPMI 0300h`). The time
//!   a client spends in protected mode is a thin band through the middle of that row, from
//!   its `DpmiStart` to the next `DpmiExit` on the same lane, whether or not the VM holds the
//!   processor meanwhile (like a critical section); its tooltip gives the client's PSP,
//!   16 or 32 bits and how it ended. A `DpmiFault` ends the open band at its tick and puts a
//!   red cross, the fault mark, in the row; its tooltip names the exception vector, error
//!   code and `cs:eip`. A `DpmiStart` while a band is open on the lane is ignored (the host
//!   has one client per VM), as are a `DpmiExit` without an open band (the one following a
//!   fault) and a fault's `DpmiExit`; a band still open at the end reaches the end, dashed.
//! - **Inputs**: the trace's input records (IRQ, key, timer tick, DMA completion, serial
//!   byte) as marks in their own rows of an "inputs" lane.
//!
//! Every text taken from the trace (the scenario name, program names) is XML-escaped, and
//! characters XML cannot carry are replaced with U+FFFD.
//!
//! # Merging rule
//!
//! Ticks map linearly to pixels of the plot area. On each lane, an interval at least one
//! pixel wide is drawn as its own bar. Consecutive intervals narrower than one pixel whose
//! gaps are also narrower than one pixel are merged into one bar spanning them all: it has
//! the colour of their most frequent end reason and an opacity equal to the share of its
//! span the VM actually held the processor (at least 0.25); its tooltip gives the count
//! and the reasons. A lone narrow interval is drawn one pixel wide. Critical sections and
//! DPMI bands merge by the same rule (a merged band's tooltip counts the clients and how
//! they ended). XMS, EMS, DPMI, fault and input marks falling into the same pixel column of
//! the same row become one mark whose tooltip gives the count (a merged DPMI mark also
//! lists the functions called, the first four distinct ones with their counts).
//! Since every separately drawn bar is either at least a pixel wide or followed by a gap of
//! at least a pixel, a lane holds at most about two bars, two critical-section overlays,
//! two DPMI bands and one mark per row for each pixel of width, however many switches the
//! trace has.
//!
//! # Lane layout
//!
//! From the top of a lane (70 pixels): the XMS row, the DPMI row (call marks, with
//! the protected-mode band and fault marks in its middle), the bar (critical sections
//! overlay it, a little taller), and the EMS row with the "exit N" mark.
//!
//! [`render`] is the pure function (header information, options and records in, SVG text
//! out); [`from_reader`] feeds it from a [`TraceReader`]. Memory use is a few words per VM
//! switch, critical section, XMS/EMS/DPMI call, DPMI client and fault, and input (the
//! records themselves are not kept), because the tick range of the picture is only known
//! after the last record.
//!
//! [`SwitchReason`]: vexed_emu::observe::SwitchReason

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;

use thiserror::Error;
use vexed_emu::machine::Input;
use vexed_emu::observe::{Observation, SwitchReason};
use vexed_trace::{Record, TraceError, TraceReader};

/// The default picture width in pixels.
pub const DEFAULT_WIDTH: u32 = 1200;
/// The narrowest picture [`render`] draws.
pub const MIN_WIDTH: u32 = 400;
/// The widest picture [`render`] draws.
pub const MAX_WIDTH: u32 = 100_000;

/// Pixels left of the plot area (lane labels).
const LEFT: f64 = 180.0;
/// Pixels right of the plot area (room for half of the last axis label).
const RIGHT: f64 = 40.0;
/// The title and subtitle above the lanes.
const HEADER: f64 = 52.0;
/// One lane.
const LANE: f64 = 70.0;
/// The top of the XMS row in a lane.
const XMS_ROW: f64 = 2.0;
/// The top of the DPMI row in a lane.
const DPMI_ROW: f64 = 14.0;
/// Marks are this tall.
const MARK_H: f64 = 10.0;
/// The protected-mode band: its top in the DPMI row and its height.
const BAND_TOP: f64 = 2.0;
const BAND_H: f64 = 6.0;
/// The top of the bar in a lane and its height.
const BAR_TOP: f64 = 26.0;
const BAR_H: f64 = 28.0;
/// The top of the EMS row in a lane.
const EMS_ROW: f64 = LANE - 12.0;
/// A merged DPMI mark's tooltip lists this many distinct functions.
const MARK_KINDS: usize = 4;
/// The axis below the lanes.
const AXIS: f64 = 36.0;
/// One row of the legend.
const LEGEND_ROW: f64 = 18.0;
/// Lane labels longer than this many characters are shortened (the tooltip has all).
const LABEL_CHARS: usize = 26;

/// What the picture says about the trace besides its records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceInfo {
    /// The scenario or program name (from the header).
    pub name: String,
    /// Where the trace came from (its file name), for the title; may be empty.
    pub source: String,
    /// Ticks per second of guest time (the header's tick rate).
    pub ticks_per_second: u64,
    /// The tick at which the run ended (the footer's final tick), if known; the end of the
    /// picture is the later of this and the last record's tick.
    pub final_tick: Option<u64>,
}

/// The part of the trace to draw and how wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// First tick shown (default 0).
    pub from: Option<u64>,
    /// Last tick shown (default: the end of the run).
    pub to: Option<u64>,
    /// Picture width in pixels.
    pub width: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            from: None,
            to: None,
            width: DEFAULT_WIDTH,
        }
    }
}

impl Options {
    /// Checks what can be checked before reading the trace.
    pub fn check(&self) -> Result<(), TimelineError> {
        if !(MIN_WIDTH..=MAX_WIDTH).contains(&self.width) {
            return Err(TimelineError::Width(self.width));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to <= from
        {
            return Err(TimelineError::EmptyRange { from, to });
        }
        Ok(())
    }
}

/// Why no picture could be drawn.
#[derive(Debug, Error)]
pub enum TimelineError {
    #[error("the width {0} is out of range: use {MIN_WIDTH} to {MAX_WIDTH} pixels")]
    Width(u32),
    #[error("nothing to draw: the range from tick {from} to tick {to} is empty")]
    EmptyRange { from: u64, to: u64 },
    #[error("the trace's tick rate is 0 ticks per second")]
    ZeroRate,
    #[error(transparent)]
    Trace(#[from] TraceError),
}

/// Draws the timeline of `records` (in trace order) as an SVG document.
pub fn render<'a>(
    info: &TraceInfo,
    opts: &Options,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<String, TimelineError> {
    opts.check()?;
    let mut t = Timeline::new();
    for r in records {
        t.push(r);
    }
    t.render(info, opts)
}

/// Reads the rest of the trace from `reader` and draws its timeline; `source` names the
/// trace in the title (e.g. its file name). A trace truncated after a complete frame is
/// drawn up to its last record; a damaged one is an error.
pub fn from_reader<R: Read>(
    reader: &mut TraceReader<R>,
    source: &str,
    opts: &Options,
) -> Result<String, TimelineError> {
    opts.check()?;
    let mut t = Timeline::new();
    while let Some(r) = reader.next_record()? {
        t.push(&r);
    }
    let h = reader.header();
    let info = TraceInfo {
        name: h.name.clone(),
        source: source.to_string(),
        ticks_per_second: h.machine.rate.ticks_per_second(),
        final_tick: reader.footer().map(|f| f.final_tick),
    };
    t.render(&info, opts)
}

/// Who holds the processor; lanes are ordered DOS first, then VMs by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    Dos,
    Vm(u16),
}

/// The end reason of an interval still running at the end of the trace.
const RUNNING: &str = "running";
/// The end reason of an interval ended by `VmmExit`.
const VMM_EXIT: &str = "vmm-exit";

/// One interval an owner held the processor, `[start, end)`, and why it ended.
#[derive(Clone, Copy, Debug)]
struct Interval {
    start: u64,
    end: u64,
    reason: &'static str,
}

/// Everything drawn on one owner's lane.
#[derive(Debug, Default)]
struct Lane {
    /// Distinct program names from `VmCreated`, in order.
    programs: Vec<String>,
    /// The first tick the VM was mentioned at.
    first: u64,
    /// The `VmExited` tick and exit code.
    exit: Option<(u64, u8)>,
    intervals: Vec<Interval>,
    crit_depth: u32,
    crit_open: Option<u64>,
    crits: Vec<(u64, u64)>,
    /// Tick and AX of each call.
    xms: Vec<(u64, u16)>,
    ems: Vec<(u64, u16)>,
    /// Tick and AX of each Int 31h call.
    dpmi: Vec<(u64, u16)>,
    /// The DPMI client in protected mode now, if any.
    client_open: Option<Client>,
    /// Ended protected-mode spans, in time order.
    clients: Vec<ClientSpan>,
    /// Tick and details of each `DpmiFault`.
    faults: Vec<(u64, Fault)>,
}

/// A DPMI client's `DpmiStart`.
#[derive(Clone, Copy, Debug)]
struct Client {
    start: u64,
    psp: u16,
    bits32: bool,
}

/// A `DpmiFault`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fault {
    vector: u8,
    code: u32,
    cs: u16,
    eip: u32,
}

impl Fault {
    /// "general protection fault (exception 0Dh) at 0087:00000012, error code 1234h", in the
    /// words of the observation's own text.
    fn describe(&self) -> String {
        let text = Observation::DpmiFault {
            vector: self.vector,
            code: self.code,
            cs: self.cs,
            eip: self.eip,
        }
        .to_string();
        match text.strip_prefix("dpmi-fault: ") {
            Some(rest) => rest.to_string(),
            None => text,
        }
    }
}

/// How a protected-mode span ended.
#[derive(Clone, Copy, Debug)]
enum ClientEnd {
    /// `DpmiExit` with this code.
    Exit(u8),
    Fault(Fault),
    /// Still in protected mode at the end of the trace.
    Open,
}

impl ClientEnd {
    /// The merge reason (and the band's CSS class suffix).
    fn reason(&self) -> &'static str {
        match self {
            ClientEnd::Exit(_) => "exit",
            ClientEnd::Fault(_) => "fault",
            ClientEnd::Open => "open",
        }
    }
}

/// One protected-mode span `[client.start, end)` of a lane.
#[derive(Clone, Copy, Debug)]
struct ClientSpan {
    client: Client,
    end: u64,
    how: ClientEnd,
}

/// The timeline being collected, record by record.
#[derive(Debug)]
struct Timeline {
    lanes: BTreeMap<Owner, Lane>,
    running: Owner,
    since: u64,
    switches: u64,
    /// A `VmCreated` or `VmSwitch` was seen.
    vms: bool,
    vmm_exited: bool,
    inputs: Vec<(u64, Input)>,
    last_tick: u64,
}

impl Timeline {
    fn new() -> Timeline {
        let mut lanes = BTreeMap::new();
        lanes.insert(Owner::Dos, Lane::default());
        Timeline {
            lanes,
            running: Owner::Dos,
            since: 0,
            switches: 0,
            vms: false,
            vmm_exited: false,
            inputs: Vec::new(),
            last_tick: 0,
        }
    }

    fn lane(&mut self, owner: Owner, tick: u64) -> &mut Lane {
        self.lanes.entry(owner).or_insert_with(|| Lane {
            first: tick,
            ..Lane::default()
        })
    }

    fn push(&mut self, r: &Record) {
        let tick = r.tick();
        self.last_tick = self.last_tick.max(tick);
        match r {
            Record::Input { input, .. } => self.inputs.push((tick, *input)),
            Record::Observation { observation, .. } => self.observe(tick, observation),
            Record::Checkpoint { .. } | Record::Snapshot { .. } | Record::PagedSnapshot { .. } => {}
        }
    }

    fn observe(&mut self, tick: u64, o: &Observation) {
        match o {
            Observation::VmCreated { vm, program } => {
                self.vms = true;
                let lane = self.lane(Owner::Vm(*vm), tick);
                if !program.is_empty() && !lane.programs.contains(program) {
                    lane.programs.push(program.clone());
                }
                // The VMM runs in the system VM from the moment the VMs exist (it runs its
                // program, if it has one, until the first switch).
                if *vm == 1 && self.running == Owner::Dos {
                    self.switch_to(tick, Owner::Vm(1), SwitchReason::Start.name());
                }
            }
            Observation::VmSwitch { to, reason, .. } => {
                self.vms = true;
                self.switches += 1;
                self.switch_to(tick, Owner::Vm(*to), reason.name());
            }
            Observation::VmExited { vm, code } => {
                self.lane(Owner::Vm(*vm), tick).exit = Some((tick, *code));
            }
            Observation::VmmExit => {
                self.vmm_exited = true;
                self.switch_to(tick, Owner::Dos, VMM_EXIT);
            }
            Observation::Multiplex { input, .. } if input.ax == 0x1681 => {
                let lane = self.lane(self.running, tick);
                if lane.crit_depth == 0 {
                    lane.crit_open = Some(tick);
                }
                lane.crit_depth = lane.crit_depth.saturating_add(1);
            }
            Observation::Multiplex { input, .. } if input.ax == 0x1682 => {
                let lane = self.lane(self.running, tick);
                if lane.crit_depth > 0 {
                    lane.crit_depth -= 1;
                    if lane.crit_depth == 0
                        && let Some(start) = lane.crit_open.take()
                    {
                        lane.crits.push((start, tick));
                    }
                }
            }
            Observation::Xms { input, .. } => {
                self.lane(self.running, tick).xms.push((tick, input.ax))
            }
            Observation::Ems { input, .. } => {
                self.lane(self.running, tick).ems.push((tick, input.ax))
            }
            Observation::Dpmi { input, .. } => {
                self.lane(self.running, tick).dpmi.push((tick, input.ax))
            }
            Observation::DpmiStart { psp, bits32 } => {
                let lane = self.lane(self.running, tick);
                if lane.client_open.is_none() {
                    lane.client_open = Some(Client {
                        start: tick,
                        psp: *psp,
                        bits32: *bits32,
                    });
                }
            }
            Observation::DpmiExit { code, .. } => {
                let lane = self.lane(self.running, tick);
                if let Some(client) = lane.client_open.take() {
                    lane.clients.push(ClientSpan {
                        client,
                        end: tick,
                        how: ClientEnd::Exit(*code),
                    });
                }
            }
            Observation::DpmiFault {
                vector,
                code,
                cs,
                eip,
            } => {
                let fault = Fault {
                    vector: *vector,
                    code: *code,
                    cs: *cs,
                    eip: *eip,
                };
                let lane = self.lane(self.running, tick);
                lane.faults.push((tick, fault));
                if let Some(client) = lane.client_open.take() {
                    lane.clients.push(ClientSpan {
                        client,
                        end: tick,
                        how: ClientEnd::Fault(fault),
                    });
                }
            }
            _ => {}
        }
    }

    /// Ends the running owner's interval at `tick` for `reason` and starts `to`'s.
    fn switch_to(&mut self, tick: u64, to: Owner, reason: &'static str) {
        let start = self.since;
        if tick > start {
            self.lane(self.running, start).intervals.push(Interval {
                start,
                end: tick,
                reason,
            });
        }
        self.lane(to, tick);
        self.running = to;
        self.since = tick;
    }

    fn render(&self, info: &TraceInfo, opts: &Options) -> Result<String, TimelineError> {
        opts.check()?;
        if info.ticks_per_second == 0 {
            return Err(TimelineError::ZeroRate);
        }
        let end = info.final_tick.unwrap_or(0).max(self.last_tick);
        let from = opts.from.unwrap_or(0);
        let to = match opts.to {
            Some(to) => to,
            None if end > from => end,
            None if opts.from.is_none() => from + 1,
            None => return Err(TimelineError::EmptyRange { from, to: end }),
        };
        if to <= from {
            return Err(TimelineError::EmptyRange { from, to });
        }
        let view = View::new(from, to, opts.width, info.ticks_per_second);
        Ok(Svg::draw(self, info, &view, end))
    }
}

/// The mapping from ticks to pixels.
struct View {
    from: u64,
    to: u64,
    width: f64,
    scale: f64,
    tps: u64,
}

impl View {
    fn new(from: u64, to: u64, width: u32, tps: u64) -> View {
        let width = f64::from(width);
        let plot = width - LEFT - RIGHT;
        View {
            from,
            to,
            width,
            scale: plot / (to - from) as f64,
            tps,
        }
    }

    /// The x coordinate of `tick` (clamped to the plot area).
    fn x(&self, tick: u64) -> f64 {
        LEFT + (tick.clamp(self.from, self.to) - self.from) as f64 * self.scale
    }

    fn right(&self) -> f64 {
        self.width - RIGHT
    }

    /// Whether `[start, end]` touches the view.
    fn shows(&self, start: u64, end: u64) -> bool {
        end >= self.from && start <= self.to
    }

    /// Whether the interval `[start, end)` has a part inside the view (an empty interval:
    /// whether its tick is in the view).
    fn overlaps(&self, start: u64, end: u64) -> bool {
        if start == end {
            self.shows(start, end)
        } else {
            start < self.to && end > self.from
        }
    }

    fn ms(&self, tick: u64) -> f64 {
        tick as f64 * 1000.0 / self.tps as f64
    }
}

/// A bar style: CSS class suffix, fill colour, legend text.
const STYLES: &[(&str, &str, &str)] = &[
    ("start", "#8cb4de", "start"),
    ("slice-end", "#8fd18a", "slice end"),
    ("idle", "#c8c8c8", "idle"),
    ("yield", "#f7b267", "yield"),
    ("dos-idle", "#f2dc6b", "DOS idle"),
    ("input", "#c9a0dc", "input"),
    ("exited", "#ef8a8c", "exited"),
    (VMM_EXIT, "#c4a484", "VMM exit"),
    (RUNNING, "#eeeeee", "still running"),
    ("other", "#9a9a9a", "other reason"),
];

/// The CSS class suffix for an end reason (reasons newer than this file are "other").
fn style_of(reason: &str) -> &'static str {
    STYLES
        .iter()
        .find(|s| s.0 == reason)
        .map_or("other", |s| s.0)
}

/// Input rows of the inputs lane: class, legend text, colour.
const INPUT_ROWS: &[(&str, &str, &str)] = &[
    ("irq", "IRQ", "#d62728"),
    ("key", "key", "#7b4fb0"),
    ("timer", "timer tick", "#555555"),
    ("dma", "DMA done", "#138d9c"),
    ("serial", "serial byte", "#8c8c1a"),
];

/// The row of an input and its description.
#[allow(unreachable_patterns)] // An input emu adds later goes to the first row.
fn input_row(input: &Input) -> (usize, String) {
    match *input {
        Input::Irq { line } => (0, format!("IRQ {line}")),
        Input::Key { scancode } => (
            1,
            format!(
                "key {scancode:02X}h ({})",
                if scancode & 0x80 != 0 {
                    "break"
                } else {
                    "make"
                }
            ),
        ),
        Input::TimerTick => (2, "timer tick".into()),
        Input::DmaDone { channel } => (3, format!("DMA channel {channel} done")),
        Input::SerialRx { byte } => (4, format!("serial byte {byte:02X}h")),
        other => (0, format!("{other:?}")),
    }
}

/// One piece of a lane after merging.
struct Piece {
    x0: f64,
    x1: f64,
    t0: u64,
    t1: u64,
    /// The position of its first interval in the merged sequence.
    first: usize,
    /// Intervals in it.
    count: u64,
    /// Ticks they cover.
    held: u64,
    /// End reasons and how often.
    reasons: Vec<(&'static str, u64)>,
}

impl Piece {
    fn add_reason(&mut self, reason: &'static str) {
        match self.reasons.iter_mut().find(|r| r.0 == reason) {
            Some(r) => r.1 += 1,
            None => self.reasons.push((reason, 1)),
        }
    }

    /// The most frequent reason (the first of equals).
    fn dominant(&self) -> &'static str {
        let mut best = ("other", 0);
        for &r in &self.reasons {
            if r.1 > best.1 {
                best = r;
            }
        }
        best.0
    }
}

/// Merges intervals `(start, end, reason)` (in time order) by the rule in the module docs.
fn merge(view: &View, items: impl Iterator<Item = (u64, u64, &'static str)>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut pending: Option<Piece> = None;
    for (index, (start, end, reason)) in items.enumerate() {
        if !view.overlaps(start, end) {
            continue;
        }
        let (x0, x1) = (view.x(start), view.x(end));
        let (t0, t1) = (start.max(view.from), end.min(view.to));
        let held = t1.saturating_sub(t0);
        let mut piece = Piece {
            x0,
            x1,
            t0,
            t1,
            first: index,
            count: 1,
            held,
            reasons: Vec::new(),
        };
        piece.add_reason(reason);
        if x1 - x0 >= 1.0 {
            out.extend(pending.take());
            out.push(piece);
            continue;
        }
        match &mut pending {
            Some(p) if x0 - p.x1 < 1.0 => {
                p.x1 = p.x1.max(x1);
                p.t1 = p.t1.max(t1);
                p.count += 1;
                p.held += held;
                p.add_reason(reason);
            }
            _ => {
                out.extend(pending.take());
                pending = Some(piece);
            }
        }
    }
    out.extend(pending);
    out
}

/// Marks in the same pixel column: (column x, first tick, last tick, count, first text).
struct Mark {
    x: f64,
    t0: u64,
    t1: u64,
    count: u64,
    text: String,
    /// Distinct kinds (e.g. DPMI functions) in the column with their counts, the first
    /// [`MARK_KINDS`] of them.
    kinds: Vec<(u16, u64)>,
    /// Marks of further kinds.
    other_kinds: u64,
}

impl Mark {
    fn add_kind(&mut self, kind: Option<u16>) {
        let Some(kind) = kind else { return };
        if let Some(k) = self.kinds.iter_mut().find(|k| k.0 == kind) {
            k.1 += 1;
        } else if self.kinds.len() < MARK_KINDS {
            self.kinds.push((kind, 1));
        } else {
            self.other_kinds += 1;
        }
    }

    /// The kinds as "0300h ×3, 0800h", with `fmt` for one kind.
    fn kinds_text(&self, fmt: impl Fn(u16) -> String) -> String {
        let mut parts: Vec<String> = self
            .kinds
            .iter()
            .map(|&(k, n)| {
                if n == 1 {
                    fmt(k)
                } else {
                    format!("{} ×{}", fmt(k), grouped(n))
                }
            })
            .collect();
        if self.other_kinds > 0 {
            let n = self.other_kinds;
            parts.push(format!(
                "{} other{}",
                grouped(n),
                if n == 1 { "" } else { "s" }
            ));
        }
        parts.join(", ")
    }
}

/// Groups `(tick, payload)` marks (in time order) by pixel column; `text` is only made for
/// the first mark of a column, `kind` (if it gives one) is counted for every mark.
fn marks<T>(
    view: &View,
    items: impl Iterator<Item = (u64, T)>,
    text: impl Fn(&T) -> String,
    kind: impl Fn(&T) -> Option<u16>,
) -> Vec<Mark> {
    let mut out: Vec<Mark> = Vec::new();
    for (tick, payload) in items {
        if !view.shows(tick, tick) {
            continue;
        }
        let x = view.x(tick).floor().min(view.right() - 1.0) + 0.5;
        match out.last_mut() {
            Some(m) if m.x == x => {
                m.count += 1;
                m.t1 = tick;
                m.add_kind(kind(&payload));
            }
            _ => {
                let mut m = Mark {
                    x,
                    t0: tick,
                    t1: tick,
                    count: 1,
                    text: text(&payload),
                    kinds: Vec::new(),
                    other_kinds: 0,
                };
                m.add_kind(kind(&payload));
                out.push(m);
            }
        }
    }
    out
}

/// Text fit for XML character data and attribute values: markup characters escaped,
/// characters XML 1.0 cannot carry (controls, U+FFFE, U+FFFF) replaced with U+FFFD, tabs and
/// line breaks with spaces.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c < ' ' || ('\u{7F}'..='\u{9F}').contains(&c) => out.push('\u{FFFD}'),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `s` shortened to `n` characters with an ellipsis.
fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `n` with thousands separators.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A round tick step (1, 2 or 5 times a power of ten) giving at most `max` steps over
/// `range`.
fn nice_step(range: u64, max: u64) -> u64 {
    let raw = range.div_ceil(max.max(1)).max(1);
    let mut mag = 1u64;
    while let Some(next) = mag.checked_mul(10)
        && next <= raw
    {
        mag = next;
    }
    [1, 2, 5, 10]
        .iter()
        .filter_map(|m| mag.checked_mul(*m))
        .find(|s| *s >= raw)
        .unwrap_or(raw)
}

/// The lane label of VM `vm` (full text; shortened when drawn).
fn vm_label(vm: u16, programs: &[String]) -> String {
    let names: Vec<&str> = programs
        .iter()
        .map(|p| p.rsplit(['\\', '/']).next().unwrap_or(p))
        .collect();
    let vm = if vm == 1 {
        "VM 1 (system)".to_string()
    } else {
        format!("VM {vm}")
    };
    if names.is_empty() {
        vm
    } else {
        format!("{vm} {}", names.join(", "))
    }
}

/// Appends formatted text to a `String` (which cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// The SVG being written.
struct Svg<'a> {
    out: String,
    view: &'a View,
    /// Merged pieces drawn so far.
    merged: u64,
}

impl Svg<'_> {
    fn draw(t: &Timeline, info: &TraceInfo, view: &View, end: u64) -> String {
        // The lanes shown: DOS always, each VM whose life touches the view.
        let mut lanes: Vec<(Owner, &Lane, String, String)> = Vec::new();
        for (owner, lane) in &t.lanes {
            let (full, title) = match *owner {
                Owner::Dos => {
                    let label = if !t.vms {
                        "DOS"
                    } else if t.vmm_exited {
                        "DOS (outside the VMM)"
                    } else {
                        "DOS (before the VMM)"
                    };
                    (label.to_string(), label.to_string())
                }
                Owner::Vm(vm) => {
                    let label = vm_label(vm, &lane.programs);
                    let mut title = format!("VM {vm}");
                    for p in &lane.programs {
                        title.push_str(&format!(" {p}"));
                    }
                    if vm == 1 {
                        title.push_str(" (the system VM)");
                    }
                    (label, title)
                }
            };
            if let Owner::Vm(_) = owner {
                let last = match lane.exit {
                    None => u64::MAX,
                    Some((tick, _)) => lane.intervals.last().map_or(tick, |i| i.end.max(tick)),
                };
                if !view.shows(lane.first, last) {
                    continue;
                }
            }
            lanes.push((*owner, lane, full, title));
        }
        let n_lanes = lanes.len() + 1;
        let legend = Legend::layout(view.width, t);
        let axis_y = HEADER + LANE * n_lanes as f64;
        let height = (axis_y + AXIS + legend.rows as f64 * LEGEND_ROW + 8.0).ceil();
        // The lanes, axis and legend first: the subtitle counts what they merged.
        let mut s = Svg {
            out: String::new(),
            view,
            merged: 0,
        };
        let mut y = HEADER;
        for (i, (owner, lane, full, title)) in lanes.iter().enumerate() {
            s.lane(i, y, *owner, lane, full, title, t, end);
            y += LANE;
        }
        s.inputs_lane(lanes.len(), y, &t.inputs);
        s.axis(axis_y, HEADER);
        legend.draw(&mut s.out, axis_y + AXIS);
        let body = std::mem::take(&mut s.out);

        let width = view.width;
        w!(
            s.out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n"
        );
        let name = escape(&info.name);
        w!(s.out, "<title>vexed timeline: {name}</title>\n");
        s.defs();
        w!(
            s.out,
            "<rect class=\"background\" x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n"
        );
        let source = if info.source.is_empty() {
            String::new()
        } else {
            format!(" ({})", escape(&info.source))
        };
        w!(
            s.out,
            "<text class=\"title\" x=\"10\" y=\"22\">VM scheduling of {name}{source}</text>\n"
        );
        let mut sub = format!(
            "ticks {}–{} ({:.3}–{:.3} ms at {} ticks/s) · {} VM switches in the trace · {} inputs",
            grouped(view.from),
            grouped(view.to),
            view.ms(view.from),
            view.ms(view.to),
            grouped(view.tps),
            grouped(t.switches),
            grouped(t.inputs.len() as u64),
        );
        if s.merged > 0 {
            sub.push_str(&format!(
                " · {} merged bars (intervals narrower than a pixel)",
                grouped(s.merged)
            ));
        }
        w!(
            s.out,
            "<text class=\"subtitle\" x=\"10\" y=\"40\">{}</text>\n",
            escape(&sub)
        );
        s.out.push_str(&body);
        s.out.push_str("</svg>\n");
        s.out
    }

    fn defs(&mut self) {
        self.out.push_str("<defs>\n<style>\n");
        self.out.push_str(
            ".title{font-size:16px;font-weight:bold;fill:#222}\n\
             .subtitle{font-size:11px;fill:#555}\n\
             .lane-label{font-size:12px;fill:#222}\n\
             .row-label{font-size:8px;fill:#666;text-anchor:end}\n\
             .axis-label{font-size:10px;fill:#444;text-anchor:middle}\n\
             .axis-unit{font-size:10px;fill:#444;text-anchor:end}\n\
             .legend{font-size:11px;fill:#333}\n\
             .bar-label{font-size:10px;fill:#222;text-anchor:middle;pointer-events:none}\n\
             .bar{stroke:#444;stroke-width:0.5}\n\
             .merged{stroke:none}\n\
             .r-running{stroke-dasharray:3 2}\n\
             .crit{fill:url(#hatch);stroke:#b03020;stroke-width:1.2}\n\
             .crit-open{stroke-dasharray:4 2}\n\
             .mark{stroke-width:1.5}\n\
             .xms{stroke:#1f4fbf}\n\
             .ems{stroke:#1f8a3a}\n\
             .dpmi{stroke:#b0138f}\n\
             .pm{fill:#efb6e2;stroke:#b0138f;stroke-width:0.6}\n\
             .pm-open{stroke-dasharray:3 2}\n\
             .dpmi-fault{stroke:#e00000;stroke-width:2;fill:none}\n\
             .exit{fill:#b03020;font-size:9px}\n\
             .grid{stroke:#e2e2e2;stroke-width:1}\n",
        );
        for (class, colour, _) in STYLES {
            w!(self.out, ".r-{class}{{fill:{colour}}}\n");
        }
        for (class, _, colour) in INPUT_ROWS {
            w!(self.out, ".in-{class}{{stroke:{colour}}}\n");
        }
        self.out.push_str(
            "</style>\n<pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#b03020\" stroke-width=\"1\" stroke-opacity=\"0.7\"/></pattern>\n</defs>\n",
        );
    }

    fn lane_background(&mut self, i: usize, y: f64) {
        let fill = if i.is_multiple_of(2) {
            "#f7f7f7"
        } else {
            "#ffffff"
        };
        w!(
            self.out,
            "<rect class=\"lane-bg\" x=\"0\" y=\"{y}\" width=\"{}\" height=\"{LANE}\" fill=\"{fill}\"/>\n",
            self.view.width
        );
    }

    fn label(&mut self, y: f64, full: &str) {
        w!(
            self.out,
            "<text class=\"lane-label\" x=\"10\" y=\"{}\">{}</text>\n",
            y + LANE / 2.0 + 4.0,
            escape(&shorten(full, LABEL_CHARS))
        );
    }

    fn span_text(&self, t0: u64, t1: u64) -> String {
        format!(
            "ticks {}–{} ({} ticks, {:.3} ms)",
            grouped(t0),
            grouped(t1),
            grouped(t1 - t0),
            self.view.ms(t1 - t0)
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn lane(
        &mut self,
        i: usize,
        y: f64,
        owner: Owner,
        lane: &Lane,
        full: &str,
        title: &str,
        t: &Timeline,
        end: u64,
    ) {
        let key = match owner {
            Owner::Dos => "dos".to_string(),
            Owner::Vm(vm) => format!("vm{vm}"),
        };
        w!(
            self.out,
            "<g class=\"lane\" data-lane=\"{key}\">\n<title>{}</title>\n",
            escape(title)
        );
        self.lane_background(i, y);
        self.label(y, full);
        // Bars: the closed intervals and the one still running at the end.
        let open = (t.running == owner && end > t.since).then_some(Interval {
            start: t.since,
            end,
            reason: RUNNING,
        });
        let items = lane
            .intervals
            .iter()
            .chain(open.iter())
            .map(|i| (i.start, i.end, i.reason));
        let who = match owner {
            Owner::Dos => "DOS".to_string(),
            Owner::Vm(vm) => format!("VM {vm}"),
        };
        let (bar_y, bar_h) = (y + BAR_TOP, BAR_H);
        // Bar labels go on top of the critical sections, after them.
        let mut labels: Vec<(f64, &'static str)> = Vec::new();
        for p in merge(self.view, items) {
            if p.count == 1 {
                let reason = p.reasons.first().map_or("other", |r| r.0);
                let width = (p.x1 - p.x0).max(1.0);
                let ended = if reason == RUNNING {
                    "still running at the end of the trace".to_string()
                } else {
                    format!("ended: {reason}")
                };
                w!(
                    self.out,
                    "<rect class=\"bar r-{}\" x=\"{:.2}\" y=\"{bar_y}\" width=\"{width:.2}\" height=\"{bar_h}\"><title>{} held the processor: {}; {}</title></rect>\n",
                    style_of(reason),
                    p.x0,
                    escape(&who),
                    self.span_text(p.t0, p.t1),
                    escape(&ended)
                );
                let text = if reason == RUNNING {
                    "still running"
                } else {
                    reason
                };
                if width >= text.len() as f64 * 6.0 + 8.0 {
                    labels.push((p.x0 + width / 2.0, text));
                }
            } else {
                self.merged += 1;
                let width = (p.x1 - p.x0).max(1.0);
                let span = (p.t1 - p.t0).max(1);
                let share = p.held as f64 / span as f64;
                let reasons: Vec<String> = p
                    .reasons
                    .iter()
                    .map(|(r, n)| format!("{r} ×{}", grouped(*n)))
                    .collect();
                w!(
                    self.out,
                    "<rect class=\"bar merged r-{}\" x=\"{:.2}\" y=\"{bar_y}\" width=\"{width:.2}\" height=\"{bar_h}\" fill-opacity=\"{:.2}\"><title>{} intervals of {}, each narrower than a pixel: {}; held {:.1} % of it; ended: {}</title></rect>\n",
                    style_of(p.dominant()),
                    p.x0,
                    share.clamp(0.25, 1.0),
                    grouped(p.count),
                    escape(&who),
                    self.span_text(p.t0, p.t1),
                    share * 100.0,
                    escape(&reasons.join(", "))
                );
            }
        }
        // Critical sections over the bars.
        let open_crit = lane
            .crit_open
            .filter(|s| end > *s)
            .map(|s| (s, end, "open"));
        let crits = lane
            .crits
            .iter()
            .map(|&(s, e)| (s, e, "closed"))
            .chain(open_crit);
        for p in merge(self.view, crits) {
            let width = (p.x1 - p.x0).max(1.0);
            let open = p.reasons.iter().any(|r| r.0 == "open");
            let class = if open { "crit crit-open" } else { "crit" };
            let what = if p.count == 1 {
                format!(
                    "critical section (Int 2Fh 1681h–1682h){}",
                    if open { ", not ended" } else { "" }
                )
            } else {
                self.merged += 1;
                format!(
                    "{} critical sections (Int 2Fh 1681h–1682h), each narrower than a pixel",
                    grouped(p.count)
                )
            };
            w!(
                self.out,
                "<rect class=\"{class}\" x=\"{:.2}\" y=\"{}\" width=\"{width:.2}\" height=\"{}\"><title>{}: {}</title></rect>\n",
                p.x0,
                bar_y - 4.0,
                bar_h + 8.0,
                escape(&who),
                escape(&format!("{what}: {}", self.span_text(p.t0, p.t1)))
            );
        }
        for (x, text) in labels {
            w!(
                self.out,
                "<text class=\"bar-label\" x=\"{x:.2}\" y=\"{}\">{}</text>\n",
                bar_y + bar_h / 2.0 + 3.5,
                escape(text)
            );
        }
        self.dpmi(y, lane, &who, end);
        // XMS marks at the top, EMS marks at the bottom.
        let calls = [
            ("xms", "XMS", &lane.xms, y + XMS_ROW),
            ("ems", "EMS", &lane.ems, y + EMS_ROW),
        ];
        for (class, name, list, top) in calls {
            let ms = marks(
                self.view,
                list.iter().copied(),
                |ax| format!("{name} call AH={:02X}h", ax >> 8),
                |_| None,
            );
            for m in ms {
                let text = if m.count == 1 {
                    format!("{} at tick {}", m.text, grouped(m.t0))
                } else {
                    format!(
                        "{} {name} calls at ticks {}–{}",
                        grouped(m.count),
                        grouped(m.t0),
                        grouped(m.t1)
                    )
                };
                w!(
                    self.out,
                    "<line class=\"mark {class}\" x1=\"{:.1}\" y1=\"{top}\" x2=\"{:.1}\" y2=\"{}\"><title>{}</title></line>\n",
                    m.x,
                    m.x,
                    top + MARK_H,
                    escape(&text)
                );
            }
        }
        if let Some((tick, code)) = lane.exit
            && self.view.shows(tick, tick)
        {
            let x = self.view.x(tick);
            w!(
                self.out,
                "<text class=\"exit\" x=\"{:.2}\" y=\"{}\">◆ exit {code}<title>{} exited with code {code} at tick {}</title></text>\n",
                x - 3.0,
                y + LANE - 3.0,
                escape(&who),
                grouped(tick)
            );
        }
        self.out.push_str("</g>\n");
    }

    /// The DPMI row of a lane: protected-mode bands, Int 31h call marks and fault marks.
    fn dpmi(&mut self, y: f64, lane: &Lane, who: &str, end: u64) {
        let row = y + DPMI_ROW;
        let open = lane
            .client_open
            .filter(|c| end > c.start)
            .map(|client| ClientSpan {
                client,
                end,
                how: ClientEnd::Open,
            });
        let span_at = |i: usize| lane.clients.get(i).copied().or(open);
        let items = lane
            .clients
            .iter()
            .chain(open.iter())
            .map(|c| (c.client.start, c.end, c.how.reason()));
        for p in merge(self.view, items) {
            let width = (p.x1 - p.x0).max(1.0);
            let (class, what) = match span_at(p.first) {
                Some(c) if p.count == 1 => {
                    let ended = match c.how {
                        ClientEnd::Exit(code) => format!("ended with exit code {code}"),
                        ClientEnd::Fault(f) => format!("ended by {}", f.describe()),
                        ClientEnd::Open => "not ended".to_string(),
                    };
                    (
                        format!("pm pm-{}", c.how.reason()),
                        format!(
                            "DPMI client (PSP {:04X}h, {}-bit) in protected mode, {ended}",
                            c.client.psp,
                            if c.client.bits32 { 32 } else { 16 }
                        ),
                    )
                }
                _ => {
                    self.merged += 1;
                    let open = p.reasons.iter().any(|r| r.0 == "open");
                    let endings: Vec<String> = p
                        .reasons
                        .iter()
                        .map(|(r, n)| format!("{r} ×{}", grouped(*n)))
                        .collect();
                    (
                        format!("pm merged{}", if open { " pm-open" } else { "" }),
                        format!(
                            "{} DPMI clients in protected mode, each narrower than a pixel; ended: {}",
                            grouped(p.count),
                            endings.join(", ")
                        ),
                    )
                }
            };
            w!(
                self.out,
                "<rect class=\"{class}\" x=\"{:.2}\" y=\"{}\" width=\"{width:.2}\" height=\"{BAND_H}\"><title>{}: {}</title></rect>\n",
                p.x0,
                row + BAND_TOP,
                escape(who),
                escape(&format!("{what}: {}", self.span_text(p.t0, p.t1)))
            );
        }
        let calls = marks(
            self.view,
            lane.dpmi.iter().copied(),
            |ax| format!("DPMI {ax:04X}h"),
            |ax| Some(*ax),
        );
        for m in calls {
            let text = if m.count == 1 {
                format!("{} at tick {}", m.text, grouped(m.t0))
            } else {
                format!(
                    "{} DPMI calls at ticks {}–{}: {}",
                    grouped(m.count),
                    grouped(m.t0),
                    grouped(m.t1),
                    m.kinds_text(|ax| format!("{ax:04X}h"))
                )
            };
            w!(
                self.out,
                "<line class=\"mark dpmi\" x1=\"{:.1}\" y1=\"{row}\" x2=\"{:.1}\" y2=\"{}\"><title>{}</title></line>\n",
                m.x,
                m.x,
                row + MARK_H,
                escape(&text)
            );
        }
        let faults = marks(
            self.view,
            lane.faults.iter().copied(),
            Fault::describe,
            |_| None,
        );
        for m in faults {
            let text = if m.count == 1 {
                format!(
                    "{who}: the DPMI client raised {} at tick {} and was ended",
                    m.text,
                    grouped(m.t0)
                )
            } else {
                format!(
                    "{who}: {} DPMI client faults at ticks {}–{}, the first: {}",
                    grouped(m.count),
                    grouped(m.t0),
                    grouped(m.t1),
                    m.text
                )
            };
            self.out.push_str(&fault_mark(m.x, row, &escape(&text)));
        }
    }

    fn inputs_lane(&mut self, i: usize, y: f64, inputs: &[(u64, Input)]) {
        self.out.push_str(
            "<g class=\"lane\" data-lane=\"inputs\">\n<title>inputs recorded in the trace</title>\n",
        );
        self.lane_background(i, y);
        self.label(y, "inputs");
        for (row, (class, name, _)) in INPUT_ROWS.iter().enumerate() {
            let top = y + 6.0 + 10.0 * row as f64;
            w!(
                self.out,
                "<text class=\"row-label\" x=\"{}\" y=\"{}\">{name}</text>\n",
                LEFT - 6.0,
                top + 7.0
            );
            let items = inputs.iter().filter_map(|(tick, input)| {
                let (r, text) = input_row(input);
                (r == row).then_some((*tick, text))
            });
            for m in marks(self.view, items, String::clone, |_| None) {
                let text = if m.count == 1 {
                    format!("{} at tick {}", m.text, grouped(m.t0))
                } else {
                    format!(
                        "{} inputs ({name}) at ticks {}–{}",
                        grouped(m.count),
                        grouped(m.t0),
                        grouped(m.t1)
                    )
                };
                w!(
                    self.out,
                    "<line class=\"mark in-{class}\" x1=\"{:.1}\" y1=\"{top}\" x2=\"{:.1}\" y2=\"{}\"><title>{}</title></line>\n",
                    m.x,
                    m.x,
                    top + 8.0,
                    escape(&text)
                );
            }
        }
        self.out.push_str("</g>\n");
    }

    fn axis(&mut self, y: f64, top: f64) {
        let v = self.view;
        let plot = v.right() - LEFT;
        let max_labels = ((plot / 110.0).floor() as u64).max(1);
        let step = nice_step(v.to - v.from, max_labels);
        let step_ms = step as f64 * 1000.0 / v.tps as f64;
        let decimals = if step_ms >= 1.0 {
            0
        } else {
            ((-step_ms.log10()).ceil() as usize).min(6)
        };
        self.out.push_str("<g class=\"axis\">\n");
        w!(
            self.out,
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#444\"/>\n",
            v.right()
        );
        w!(
            self.out,
            "<text class=\"axis-unit\" x=\"{}\" y=\"{}\">tick</text>\n<text class=\"axis-unit\" x=\"{}\" y=\"{}\">ms</text>\n",
            LEFT - 45.0,
            y + 14.0,
            LEFT - 45.0,
            y + 27.0
        );
        let mut tick = v.from.div_ceil(step).saturating_mul(step);
        while tick <= v.to {
            let x = v.x(tick);
            w!(
                self.out,
                "<line class=\"grid\" x1=\"{x:.2}\" y1=\"{top}\" x2=\"{x:.2}\" y2=\"{y}\"/>\n<line x1=\"{x:.2}\" y1=\"{y}\" x2=\"{x:.2}\" y2=\"{}\" stroke=\"#444\"/>\n",
                y + 4.0
            );
            w!(
                self.out,
                "<text class=\"axis-label\" x=\"{x:.2}\" y=\"{}\">{}</text>\n<text class=\"axis-label\" x=\"{x:.2}\" y=\"{}\">{:.*}</text>\n",
                y + 14.0,
                grouped(tick),
                y + 27.0,
                decimals,
                v.ms(tick)
            );
            match tick.checked_add(step) {
                Some(next) => tick = next,
                None => break,
            }
        }
        self.out.push_str("</g>\n");
    }
}

/// A fault mark (a cross the height of a mark) centred on `x` in the row at `top`, with
/// the (escaped) tooltip `title`.
fn fault_mark(x: f64, top: f64, title: &str) -> String {
    let h = MARK_H / 2.0 - 1.0;
    let (cx, cy) = (x, top + MARK_H / 2.0);
    let title = if title.is_empty() {
        String::new()
    } else {
        format!("<title>{title}</title>")
    };
    format!(
        "<path class=\"dpmi-fault\" d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\">{title}</path>\n",
        cx - h,
        cy - h,
        cx + h,
        cy + h,
        cx + h,
        cy - h,
        cx - h,
        cy + h
    )
}

/// The legend: entries flowed into rows.
struct Legend {
    /// (x, row, kind, text).
    entries: Vec<(f64, usize, Entry, &'static str)>,
    rows: usize,
}

#[derive(Clone, Copy)]
enum Entry {
    Heading,
    Bar(&'static str),
    Merged,
    Crit,
    Mark(&'static str),
    /// The protected-mode band.
    Band,
    Fault,
}

impl Legend {
    fn layout(width: f64, t: &Timeline) -> Legend {
        let other_used = t
            .lanes
            .values()
            .any(|l| l.intervals.iter().any(|i| style_of(i.reason) == "other"));
        let mut items: Vec<(Entry, &'static str)> = vec![(Entry::Heading, "bar ended by:")];
        for (class, _, text) in STYLES {
            if *class == "other" && !other_used {
                continue;
            }
            items.push((Entry::Bar(class), text));
        }
        items.push((Entry::Merged, "merged (< 1 px; opacity = share held)"));
        items.push((Entry::Crit, "critical section 1681h–1682h"));
        items.push((Entry::Mark("xms"), "XMS call"));
        items.push((Entry::Mark("ems"), "EMS call"));
        items.push((Entry::Mark("dpmi"), "DPMI call (Int 31h)"));
        items.push((Entry::Band, "DPMI client in protected mode"));
        items.push((Entry::Fault, "DPMI client fault"));
        for (class, text, _) in INPUT_ROWS {
            items.push((Entry::Mark(class), text));
        }
        let mut entries = Vec::new();
        let (mut x, mut row) = (10.0, 0);
        for (entry, text) in items {
            let swatch = if matches!(entry, Entry::Heading) {
                0.0
            } else {
                16.0
            };
            let w = swatch + text.chars().count() as f64 * 6.0 + 14.0;
            if x + w > width - 10.0 && x > 10.0 {
                x = 10.0;
                row += 1;
            }
            entries.push((x, row, entry, text));
            x += w;
        }
        Legend {
            entries,
            rows: row + 1,
        }
    }

    fn draw(&self, out: &mut String, top: f64) {
        out.push_str("<g class=\"legend\">\n");
        for &(x, row, entry, text) in &self.entries {
            let y = top + row as f64 * LEGEND_ROW;
            let text_x = match entry {
                Entry::Heading => x,
                Entry::Bar(class) => {
                    w!(
                        out,
                        "<rect class=\"bar r-{class}\" x=\"{x}\" y=\"{}\" width=\"12\" height=\"10\"/>\n",
                        y + 2.0
                    );
                    x + 16.0
                }
                Entry::Merged => {
                    w!(
                        out,
                        "<rect class=\"merged r-slice-end\" x=\"{x}\" y=\"{}\" width=\"12\" height=\"10\" fill-opacity=\"0.5\"/>\n",
                        y + 2.0
                    );
                    x + 16.0
                }
                Entry::Crit => {
                    w!(
                        out,
                        "<rect class=\"crit\" x=\"{x}\" y=\"{}\" width=\"12\" height=\"10\"/>\n",
                        y + 2.0
                    );
                    x + 16.0
                }
                Entry::Mark(class) => {
                    let class = match class {
                        "xms" | "ems" | "dpmi" => class.to_string(),
                        other => format!("in-{other}"),
                    };
                    w!(
                        out,
                        "<line class=\"mark {class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n",
                        x + 6.0,
                        y + 1.0,
                        x + 6.0,
                        y + 12.0
                    );
                    x + 16.0
                }
                Entry::Band => {
                    w!(
                        out,
                        "<rect class=\"pm\" x=\"{x}\" y=\"{}\" width=\"12\" height=\"{BAND_H}\"/>\n",
                        y + 7.0 - BAND_H / 2.0
                    );
                    x + 16.0
                }
                Entry::Fault => {
                    out.push_str(&fault_mark(x + 6.0, y + 2.0, ""));
                    x + 16.0
                }
            };
            w!(
                out,
                "<text class=\"legend\" x=\"{text_x}\" y=\"{}\">{}</text>\n",
                y + 11.0,
                escape(text)
            );
        }
        out.push_str("</g>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexed_emu::observe::{Regs, SwitchReason};

    fn obs(tick: u64, observation: Observation) -> Record {
        Record::Observation { tick, observation }
    }

    fn int2f(tick: u64, ax: u16) -> Record {
        obs(
            tick,
            Observation::Multiplex {
                input: Regs {
                    ax,
                    ..Regs::default()
                },
                output: Regs::default(),
            },
        )
    }

    fn switch(tick: u64, from: u16, to: u16, reason: SwitchReason) -> Record {
        obs(tick, Observation::VmSwitch { from, to, reason })
    }

    const NASTY: &str = "A<&>\"B.COM";

    /// Two VMs: the system VM and one running NASTY, with switches for several reasons, a
    /// nested critical section, an IRQ and an XMS call.
    fn two_vms() -> Vec<Record> {
        vec![
            Record::Checkpoint { tick: 50, hash: 1 },
            obs(
                100,
                Observation::VmCreated {
                    vm: 1,
                    program: String::new(),
                },
            ),
            obs(
                110,
                Observation::VmCreated {
                    vm: 2,
                    program: format!("C:\\DIR\\{NASTY}"),
                },
            ),
            switch(1000, 1, 2, SwitchReason::Start),
            obs(
                1200,
                Observation::Xms {
                    input: Regs {
                        ax: 0x0900,
                        ..Regs::default()
                    },
                    output: Regs::default(),
                },
            ),
            int2f(1500, 0x1681),
            int2f(1550, 0x1681),
            int2f(1600, 0x1682),
            int2f(1800, 0x1682),
            switch(2000, 2, 1, SwitchReason::SliceEnd),
            Record::Input {
                tick: 2500,
                input: Input::Irq { line: 5 },
            },
            switch(3000, 1, 2, SwitchReason::Yield),
            obs(4000, Observation::VmExited { vm: 2, code: 0 }),
            switch(4000, 2, 1, SwitchReason::Exited),
            obs(5000, Observation::VmmExit),
        ]
    }

    fn info(final_tick: Option<u64>) -> TraceInfo {
        TraceInfo {
            name: "critsec <test>".into(),
            source: "x&y.trace".into(),
            ticks_per_second: 25_000_000,
            final_tick,
        }
    }

    fn class_count(doc: &roxmltree::Document, pred: impl Fn(&str) -> bool) -> usize {
        doc.descendants()
            .filter(|n| n.attribute("class").is_some_and(&pred))
            .count()
    }

    /// Elements with a class matching `pred` inside the lanes (not the legend).
    fn in_lanes(doc: &roxmltree::Document, pred: impl Fn(&str) -> bool) -> usize {
        doc.descendants()
            .filter(|n| n.attribute("data-lane").is_some())
            .flat_map(|g| g.descendants())
            .filter(|n| n.attribute("class").is_some_and(&pred))
            .count()
    }

    fn has_class(c: &str, want: &str) -> bool {
        c.split(' ').any(|x| x == want)
    }

    fn lane_labels(doc: &roxmltree::Document) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("lane-label"))
            .map(|n| n.text().unwrap_or_default().to_string())
            .collect()
    }

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        let doc = match roxmltree::Document::parse(svg) {
            Ok(d) => d,
            Err(e) => panic!("not well-formed XML: {e}\n{svg}"),
        };
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        let width: f64 = root.attribute("width").unwrap_or("").parse().unwrap_or(0.0);
        let height: f64 = root
            .attribute("height")
            .unwrap_or("")
            .parse()
            .unwrap_or(0.0);
        assert!(width > 0.0 && height > 0.0, "{width}x{height}");
        assert_eq!(
            root.attribute("viewBox"),
            Some(format!("0 0 {width} {height}").as_str())
        );
        doc
    }

    fn render_ok(info: &TraceInfo, opts: &Options, records: &[Record]) -> String {
        render(info, opts, records).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn two_vms_give_lanes_bars_and_overlays() {
        let records = two_vms();
        let svg = render_ok(&info(Some(6000)), &Options::default(), &records);
        let doc = parse(&svg);
        assert_eq!(
            lane_labels(&doc),
            [
                "DOS (outside the VMM)".to_string(),
                "VM 1 (system)".to_string(),
                format!("VM 2 {NASTY}"),
                "inputs".to_string()
            ]
        );
        // DOS [0,100) start (the VMs exist: the system VM runs), [5000,6000) running; VM 1
        // [100,1000) start, [2000,3000) yield, [4000,5000) vmm-exit; VM 2 [1000,2000)
        // slice-end, [3000,4000) exited. The legend's swatches
        // are bars too, so count the lanes' bars only.
        let lane_bars = |key: &str| {
            doc.descendants()
                .filter(|n| n.attribute("data-lane") == Some(key))
                .flat_map(|g| g.descendants())
                .filter(|n| n.attribute("class").is_some_and(|c| has_class(c, "bar")))
                .map(|n| n.attribute("class").unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(lane_bars("dos"), ["bar r-start", "bar r-running"]);
        assert_eq!(
            lane_bars("vm1"),
            ["bar r-start", "bar r-yield", "bar r-vmm-exit"]
        );
        assert_eq!(lane_bars("vm2"), ["bar r-slice-end", "bar r-exited"]);
        assert_eq!(lane_bars("inputs"), Vec::<String>::new());
        // One critical section (the nested pair), on VM 2's lane, 1500..1800.
        let crits: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| has_class(c, "crit")))
            .filter(|n| {
                n.ancestors()
                    .any(|a| a.attribute("data-lane") == Some("vm2"))
            })
            .collect();
        assert_eq!(crits.len(), 1);
        assert_eq!(
            class_count(&doc, |c| has_class(c, "crit")),
            2,
            "lane + legend"
        );
        let crit_w: f64 = crits[0]
            .attribute("width")
            .unwrap_or("")
            .parse()
            .unwrap_or(0.0);
        let plot = f64::from(DEFAULT_WIDTH) - LEFT - RIGHT;
        assert!((crit_w - plot * 300.0 / 6000.0).abs() < 0.01, "{crit_w}");
        // One XMS mark on VM 2's lane, one IRQ mark on the inputs lane (plus the legend's).
        let marks_in = |key: &str, class: &str| {
            doc.descendants()
                .filter(|n| n.attribute("data-lane") == Some(key))
                .flat_map(|g| g.descendants())
                .filter(|n| n.attribute("class").is_some_and(|c| has_class(c, class)))
                .count()
        };
        assert_eq!(marks_in("vm2", "xms"), 1);
        assert_eq!(marks_in("vm1", "xms"), 0);
        assert_eq!(marks_in("inputs", "in-irq"), 1);
        assert!(svg.contains("XMS call AH=09h at tick 1,200"));
        assert!(svg.contains("IRQ 5 at tick 2,500"));
        assert!(svg.contains("exit 0"));
    }

    #[test]
    fn text_from_the_trace_is_escaped() {
        let svg = render_ok(&info(None), &Options::default(), &two_vms());
        assert!(!svg.contains(NASTY));
        assert!(svg.contains("A&lt;&amp;&gt;&quot;B.COM"));
        assert!(svg.contains("critsec &lt;test&gt; (x&amp;y.trace)"));
        let doc = parse(&svg);
        let title = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("title"))
            .and_then(|n| n.text())
            .unwrap_or_default();
        assert_eq!(title, "VM scheduling of critsec <test> (x&y.trace)");
        assert!(lane_labels(&doc).contains(&format!("VM 2 {NASTY}")));
        // Characters XML cannot carry at all.
        let odd = vec![obs(
            0,
            Observation::VmCreated {
                vm: 2,
                program: "\u{1}X\u{FFFF}'".into(),
            },
        )];
        let doc_text = render_ok(&info(Some(10)), &Options::default(), &odd);
        let doc = parse(&doc_text);
        assert!(lane_labels(&doc).contains(&"VM 2 \u{FFFD}X\u{FFFD}'".to_string()));
    }

    #[test]
    fn a_trace_without_vms_has_one_dos_lane() {
        let records = vec![
            Record::Input {
                tick: 10,
                input: Input::Key { scancode: 0x1C },
            },
            Record::Input {
                tick: 20,
                input: Input::TimerTick,
            },
            Record::Input {
                tick: 30,
                input: Input::DmaDone { channel: 1 },
            },
            int2f(40, 0x1681),
            obs(
                50,
                Observation::Ems {
                    input: Regs {
                        ax: 0x4300,
                        ..Regs::default()
                    },
                    output: Regs::default(),
                },
            ),
        ];
        let svg = render_ok(&info(Some(100)), &Options::default(), &records);
        let doc = parse(&svg);
        assert_eq!(lane_labels(&doc), ["DOS", "inputs"]);
        let dos_bars = doc
            .descendants()
            .filter(|n| n.attribute("data-lane") == Some("dos"))
            .flat_map(|g| g.descendants())
            .filter(|n| n.attribute("class") == Some("bar r-running"))
            .count();
        assert_eq!(dos_bars, 1);
        // The critical section never ends: it reaches the end, drawn as open.
        assert_eq!(class_count(&doc, |c| c == "crit crit-open"), 1);
        assert_eq!(class_count(&doc, |c| c == "mark ems"), 2, "lane + legend");
        // Nothing at all still draws a picture.
        let doc_text = render_ok(&info(None), &Options::default(), &[]);
        assert_eq!(lane_labels(&parse(&doc_text)), ["DOS", "inputs"]);
    }

    #[test]
    fn many_switches_are_merged_below_a_pixel() {
        let mut records = vec![
            obs(
                0,
                Observation::VmCreated {
                    vm: 1,
                    program: String::new(),
                },
            ),
            obs(
                0,
                Observation::VmCreated {
                    vm: 2,
                    program: "A.COM".into(),
                },
            ),
        ];
        let n = 200_000u64;
        for i in 0..n {
            let (from, to) = if i.is_multiple_of(2) { (1, 2) } else { (2, 1) };
            records.push(switch(10 + i * 10, from, to, SwitchReason::SliceEnd));
            if i.is_multiple_of(3) {
                records.push(Record::Input {
                    tick: 10 + i * 10 + 5,
                    input: Input::Irq { line: 0 },
                });
            }
        }
        let svg = render_ok(&info(None), &Options::default(), &records);
        let doc = parse(&svg);
        let bars = in_lanes(&doc, |c| has_class(c, "bar"));
        let plot = (f64::from(DEFAULT_WIDTH) - LEFT - RIGHT) as usize;
        assert!(bars < 3 * plot, "{bars} bars");
        // 2,000,000 ticks over 1,000 pixels: each VM's 100,000 intervals are one bar.
        assert_eq!(in_lanes(&doc, |c| has_class(c, "merged")), 2);
        assert!(in_lanes(&doc, |c| has_class(c, "in-irq")) <= plot);
        assert!(svg.contains("200,000 VM switches"));
        // Zoomed in, the intervals are wide again and drawn one by one.
        let zoom = Options {
            from: Some(1000),
            to: Some(1100),
            ..Options::default()
        };
        let svg = render_ok(&info(None), &zoom, &records);
        let doc = parse(&svg);
        assert_eq!(in_lanes(&doc, |c| has_class(c, "merged")), 0);
        assert_eq!(
            in_lanes(&doc, |c| c == "bar r-slice-end"),
            10,
            "the intervals [1000, 1010) to [1090, 1100)"
        );
    }

    #[test]
    fn bad_options_are_refused() {
        let records = two_vms();
        let bad = [
            Options {
                width: 10,
                ..Options::default()
            },
            Options {
                from: Some(5),
                to: Some(5),
                ..Options::default()
            },
            Options {
                from: Some(10_000),
                ..Options::default()
            },
        ];
        for opts in bad {
            assert!(
                render(&info(Some(6000)), &opts, &records).is_err(),
                "{opts:?}"
            );
        }
        let zero = TraceInfo {
            ticks_per_second: 0,
            ..info(None)
        };
        assert!(matches!(
            render(&zero, &Options::default(), &records),
            Err(TimelineError::ZeroRate)
        ));
    }

    fn dpmi_call(tick: u64, ax: u16) -> Record {
        obs(
            tick,
            Observation::Dpmi {
                input: Regs {
                    ax,
                    ..Regs::default()
                },
                output: Regs::default(),
            },
        )
    }

    fn vm_created(tick: u64, vm: u16, program: &str) -> Record {
        obs(
            tick,
            Observation::VmCreated {
                vm,
                program: program.into(),
            },
        )
    }

    /// The elements of lane `key` whose class matches `pred`.
    fn lane_nodes<'a, 'input>(
        doc: &'a roxmltree::Document<'input>,
        key: &str,
        pred: impl Fn(&str) -> bool,
    ) -> Vec<roxmltree::Node<'a, 'input>> {
        doc.descendants()
            .filter(|n| n.attribute("data-lane") == Some(key))
            .flat_map(|g| g.descendants())
            .filter(|n| n.attribute("class").is_some_and(&pred))
            .collect()
    }

    /// The tooltip of an element.
    fn tooltip(n: &roxmltree::Node) -> String {
        n.children()
            .find(|c| c.tag_name().name() == "title")
            .and_then(|c| c.text())
            .unwrap_or_default()
            .to_string()
    }

    fn attr(n: &roxmltree::Node, name: &str) -> f64 {
        n.attribute(name).unwrap_or("").parse().unwrap_or(f64::NAN)
    }

    /// The x of tick `tick`'s mark column (the rule in `marks`) at the default width for a
    /// picture of `ticks` ticks from 0.
    fn column(tick: u64, ticks: u64) -> f64 {
        let plot = f64::from(DEFAULT_WIDTH) - LEFT - RIGHT;
        (LEFT + tick as f64 * plot / ticks as f64).floor() + 0.5
    }

    #[test]
    fn dpmi_calls_and_a_client_land_on_the_running_vms_lane() {
        let records = vec![
            vm_created(100, 1, ""),
            vm_created(100, 2, "X.EXE"),
            switch(1000, 1, 2, SwitchReason::Start),
            obs(
                1100,
                Observation::DpmiStart {
                    psp: 0x024C,
                    bits32: false,
                },
            ),
            dpmi_call(1200, 0x0300),
            switch(2000, 2, 1, SwitchReason::SliceEnd),
            dpmi_call(2500, 0x0400),
            switch(3000, 1, 2, SwitchReason::Yield),
            dpmi_call(3200, 0x0800),
            obs(
                3500,
                Observation::DpmiExit {
                    psp: 0x024C,
                    code: 0,
                },
            ),
            switch(4000, 2, 1, SwitchReason::SliceEnd),
        ];
        let svg = render_ok(&info(Some(6000)), &Options::default(), &records);
        let doc = parse(&svg);
        // Each call on the lane of the VM running at its tick: 1200 and 3200 VM 2, 2500
        // VM 1, each in a pixel column of its own.
        let calls = |key: &str| -> Vec<(f64, String)> {
            lane_nodes(&doc, key, |c| c == "mark dpmi")
                .iter()
                .map(|n| (attr(n, "x1"), tooltip(n)))
                .collect()
        };
        assert_eq!(
            calls("vm2"),
            [
                (column(1200, 6000), "DPMI 0300h at tick 1,200".to_string()),
                (column(3200, 6000), "DPMI 0800h at tick 3,200".to_string())
            ]
        );
        assert_eq!(
            calls("vm1"),
            [(column(2500, 6000), "DPMI 0400h at tick 2,500".to_string())]
        );
        assert!(calls("dos").is_empty());
        // The start and exit make one band on VM 2's lane, 1100..3500, though VM 1 ran
        // in between; VM 1 has none.
        let bands = lane_nodes(&doc, "vm2", |c| has_class(c, "pm"));
        assert_eq!(bands.len(), 1);
        assert_eq!(bands[0].attribute("class"), Some("pm pm-exit"));
        let plot = f64::from(DEFAULT_WIDTH) - LEFT - RIGHT;
        assert!((attr(&bands[0], "x") - (LEFT + plot * 1100.0 / 6000.0)).abs() < 0.01);
        assert!((attr(&bands[0], "width") - plot * 2400.0 / 6000.0).abs() < 0.01);
        assert_eq!(attr(&bands[0], "height"), BAND_H);
        let text = tooltip(&bands[0]);
        assert!(text.starts_with("VM 2: DPMI client (PSP 024Ch, 16-bit) in protected mode, ended with exit code 0: ticks 1,100–3,500 (2,400 ticks"), "{text}");
        assert!(lane_nodes(&doc, "vm1", |c| has_class(c, "pm")).is_empty());
        assert_eq!(in_lanes(&doc, |c| c == "dpmi-fault"), 0);
        // The legend explains all three.
        assert_eq!(
            class_count(&doc, |c| c == "mark dpmi"),
            4,
            "3 lanes + legend"
        );
        assert_eq!(class_count(&doc, |c| c == "pm"), 1, "legend");
        assert_eq!(class_count(&doc, |c| c == "dpmi-fault"), 1, "legend");
    }

    #[test]
    fn a_fault_ends_the_band_with_a_fault_mark() {
        let records = vec![
            vm_created(100, 2, "X.EXE"),
            switch(1000, 1, 2, SwitchReason::Start),
            obs(
                1100,
                Observation::DpmiStart {
                    psp: 0x0300,
                    bits32: true,
                },
            ),
            obs(
                1600,
                Observation::DpmiFault {
                    vector: 0x0D,
                    code: 0x1234,
                    cs: 0x0087,
                    eip: 0x12,
                },
            ),
            // The host's exit after the fault: no band open, ignored.
            obs(
                1600,
                Observation::DpmiExit {
                    psp: 0x0300,
                    code: 0xFF,
                },
            ),
            // A second client that never ends: its band reaches the end, dashed.
            obs(
                2000,
                Observation::DpmiStart {
                    psp: 0x0400,
                    bits32: false,
                },
            ),
            // A second start while one is open is ignored.
            obs(
                2500,
                Observation::DpmiStart {
                    psp: 0x0500,
                    bits32: false,
                },
            ),
        ];
        let svg = render_ok(&info(Some(6000)), &Options::default(), &records);
        let doc = parse(&svg);
        let plot = f64::from(DEFAULT_WIDTH) - LEFT - RIGHT;
        let bands = lane_nodes(&doc, "vm2", |c| has_class(c, "pm"));
        let classes: Vec<&str> = bands.iter().filter_map(|n| n.attribute("class")).collect();
        assert_eq!(classes, ["pm pm-fault", "pm pm-open"]);
        assert!((attr(&bands[0], "width") - plot * 500.0 / 6000.0).abs() < 0.01);
        let text = tooltip(&bands[0]);
        assert!(
            text.contains("(PSP 0300h, 32-bit) in protected mode, ended by general protection fault (exception 0Dh) at 0087:00000012, error code 1234h: ticks 1,100–1,600"),
            "{text}"
        );
        assert!((attr(&bands[1], "x") - (LEFT + plot * 2000.0 / 6000.0)).abs() < 0.01);
        assert!((attr(&bands[1], "width") - plot * 4000.0 / 6000.0).abs() < 0.01);
        let text = tooltip(&bands[1]);
        assert!(
            text.contains("(PSP 0400h, 16-bit) in protected mode, not ended"),
            "{text}"
        );
        // One fault mark, a cross centred on the column of tick 1600.
        let faults = lane_nodes(&doc, "vm2", |c| c == "dpmi-fault");
        assert_eq!(faults.len(), 1);
        let x = column(1600, 6000);
        let d = faults[0].attribute("d").unwrap_or_default();
        let h = MARK_H / 2.0 - 1.0;
        assert!(d.starts_with(&format!("M{:.1} ", x - h)), "{d}");
        assert_eq!(
            tooltip(&faults[0]),
            "VM 2: the DPMI client raised general protection fault (exception 0Dh) at 0087:00000012, error code 1234h at tick 1,600 and was ended"
        );
        assert!(lane_nodes(&doc, "dos", |c| c == "dpmi-fault").is_empty());
    }

    #[test]
    fn dpmi_calls_and_clients_merge_below_a_pixel() {
        // 98,000 ticks over 980 pixels: 100 ticks a pixel, tick 1000 at x = 190.
        let mut records = Vec::new();
        for (i, ax) in [0x0300, 0x0300, 0x0800, 0x0000, 0x0300, 0x0007, 0x0008]
            .into_iter()
            .enumerate()
        {
            records.push(dpmi_call(1010 + 10 * i as u64, ax));
        }
        records.push(dpmi_call(5050, 0x0300));
        // 50 clients of 10 ticks each with gaps of 10 (0.1 pixel each): one band.
        for i in 0..50u64 {
            let start = 10_000 + 20 * i;
            records.push(obs(
                start,
                Observation::DpmiStart {
                    psp: 0x1000,
                    bits32: false,
                },
            ));
            records.push(obs(
                start + 10,
                Observation::DpmiExit {
                    psp: 0x1000,
                    code: 0,
                },
            ));
        }
        let svg = render_ok(&info(Some(98_000)), &Options::default(), &records);
        let doc = parse(&svg);
        let calls = lane_nodes(&doc, "dos", |c| c == "mark dpmi");
        let got: Vec<(f64, String)> = calls.iter().map(|n| (attr(n, "x1"), tooltip(n))).collect();
        // The first column holds seven calls of five functions; the tooltip lists four of
        // them with their counts and counts the fifth.
        assert_eq!(
            got,
            [
                (
                    190.5,
                    "7 DPMI calls at ticks 1,010–1,070: 0300h ×3, 0800h, 0000h, 0007h, 1 other"
                        .to_string()
                ),
                (230.5, "DPMI 0300h at tick 5,050".to_string())
            ]
        );
        let bands = lane_nodes(&doc, "dos", |c| has_class(c, "pm"));
        assert_eq!(bands.len(), 1);
        assert_eq!(bands[0].attribute("class"), Some("pm merged"));
        // From the first start (10,000, x = 280) to the last exit (10,990, x = 289.9).
        assert!((attr(&bands[0], "x") - 280.0).abs() < 0.01);
        assert!((attr(&bands[0], "width") - 9.9).abs() < 0.01);
        let text = tooltip(&bands[0]);
        assert!(
            text.starts_with("DOS: 50 DPMI clients in protected mode, each narrower than a pixel; ended: exit ×50: ticks 10,000–10,990"),
            "{text}"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(123), "123");
        assert_eq!(nice_step(1000, 10), 100);
        assert_eq!(nice_step(1_500_000_000, 9), 200_000_000);
        assert_eq!(nice_step(1, 9), 1);
        assert_eq!(nice_step(u64::MAX, 1), u64::MAX);
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(vm_label(3, &["C:\\X\\Y.EXE".into()]), "VM 3 Y.EXE");
    }
}
