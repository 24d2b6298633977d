//! Machine-state differences, for divergence and diff reports: the processor's registers and
//! flags by name, every other CPU, device, firmware and VMM field by its path in the state,
//! and memory by backing-store byte, each range named where it lies for the guest: a
//! physical address, an XMS handle and offset, an EMS handle and offset, the HMA, or one
//! VM's private copy of a conventional-memory page. Where a DPMI client runs, an XMS range
//! its host maps also names the client's linear address, and a segment register that
//! differs in protected mode names the base of its segment and what that base is for the
//! client (a 0501h block and the XMS block behind it, or an 0800h mapping of a physical
//! address): under paging a selector's base is a linear address, not a physical one.
//!
//! [`compare`] gives every difference between two machines. A search that starts from
//! states already differing in known ways (two runs of different guest files differ in
//! drive C: from tick 0 and in the program image from its load on) compares each state's
//! differences with that baseline's: [`StateDiff::same_as`], and [`StateDiff::beyond`] for
//! the report of what changed since.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use vexed_emu::cpu::{Reg32, SegReg};
use vexed_emu::machine::Machine;
use xxhash_rust::xxh3::Xxh3;

/// Differing bytes kept one by one for baseline comparisons; beyond this only the digest
/// and the count are exact.
const MAX_BYTES: usize = 1 << 16;
/// Bytes of memory shown per side for a range.
const EXCERPT: usize = 16;
/// Differing bytes closer than this are one range.
const RANGE_GAP: u64 = 16;
/// Values longer than this are shortened in reports.
const MAX_VALUE: usize = 100;

/// One thing that differs: its name and each side's value as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub name: String,
    pub a: String,
    pub b: String,
}

/// A stretch of memory in which bytes differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryRange {
    /// Where it lies for the guest, e.g. `physical 0001A2B0h`, `XMS handle 0010h offset
    /// 00001000h`, `EMS handle 0001h offset 0000C000h`, `VM 3's copy of physical 0005F000h`.
    pub place: String,
    /// Offset of its first byte in the memory backing store (RAM first, then EMS and VM
    /// pages), the same on both sides.
    pub store_offset: u64,
    /// From the first to the last differing byte.
    pub len: u64,
    /// How many of its bytes differ.
    pub differing: u64,
    /// Each side's first bytes of the range, in hex.
    pub a: String,
    pub b: String,
}

/// Everything that differs between two machines `a` and `b`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StateDiff {
    /// General, segment and instruction-pointer registers (16-bit names when the upper
    /// halves agree).
    pub registers: Vec<Change>,
    /// Arithmetic and control flags one by one, then any other FLAGS bits as a whole.
    pub flags: Vec<Change>,
    /// Every other field: `cpu.*`, devices (`pic.*`, `pit.*`, ...), the memory map and A20
    /// (`mem.*`), `firmware.*` (BIOS, DOS, XMS, EMS, the VMM).
    pub fields: Vec<Change>,
    /// Memory ranges, in backing-store order.
    pub memory: Vec<MemoryRange>,
    /// Bytes of memory that differ in all.
    pub memory_bytes: u64,
    /// Differing bytes (store offset, a, b), the first [`MAX_BYTES`].
    #[serde(skip)]
    bytes: Vec<(u64, u8, u8)>,
    /// Full field values (before shortening), for exact comparison.
    #[serde(skip)]
    full: Vec<(String, String, String)>,
    /// xxh3 of every differing byte and full field value.
    #[serde(skip)]
    digest: u64,
}

/// Why two machines cannot be compared.
#[derive(Debug, thiserror::Error)]
#[error("the machine state cannot be compared: {0}")]
pub struct CompareError(String);

impl StateDiff {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.registers.is_empty()
            && self.flags.is_empty()
            && self.fields.is_empty()
            && self.memory_bytes == 0
    }

    /// Differences given as named changes (registers, then other fields), e.g. the
    /// registers a recorded driver call returned against the replayed ones.
    pub fn from_changes(registers: Vec<Change>, fields: Vec<Change>) -> StateDiff {
        StateDiff {
            registers,
            fields,
            ..StateDiff::default()
        }
    }

    /// The backing-store offsets of the differing bytes (the first 65,536).
    pub fn differing_bytes(&self) -> impl Iterator<Item = u64> + '_ {
        self.bytes.iter().map(|&(at, _, _)| at)
    }

    /// The register, flag or field change called `name`, if it differs.
    pub fn change(&self, name: &str) -> Option<&Change> {
        self.registers
            .iter()
            .chain(&self.flags)
            .chain(&self.fields)
            .find(|c| c.name == name)
    }

    /// Exactly the same differences, value for value, as `other`.
    pub fn same_as(&self, other: &StateDiff) -> bool {
        self.digest == other.digest && self.memory_bytes == other.memory_bytes
    }

    /// The differences that are not in `base` with the same values (what changed since a
    /// baseline), with memory ranges regrouped from the remaining bytes of `a` and `b`.
    pub fn beyond(&self, base: &StateDiff, a: &Machine, b: &Machine) -> StateDiff {
        let keep = |list: &[Change], base_list: &[Change]| -> Vec<Change> {
            list.iter()
                .filter(|c| !base_list.contains(c))
                .cloned()
                .collect()
        };
        let base_full: Vec<&(String, String, String)> = base.full.iter().collect();
        let full: Vec<(String, String, String)> = self
            .full
            .iter()
            .filter(|f| !base_full.contains(f))
            .cloned()
            .collect();
        let bytes: Vec<(u64, u8, u8)> = self
            .bytes
            .iter()
            .filter(|t| base.bytes.binary_search(t).is_err())
            .copied()
            .collect();
        let mut out = StateDiff {
            registers: keep(&self.registers, &base.registers),
            flags: keep(&self.flags, &base.flags),
            fields: full.iter().map(|(n, x, y)| change(n, x, y)).collect(),
            memory: Vec::new(),
            memory_bytes: bytes.len() as u64,
            bytes,
            full,
            digest: 0,
        };
        out.memory = ranges(&out.bytes, a, b);
        out
    }

    /// One line per difference, `name: a -> b`, memory ranges last; at most `max` lines
    /// (then a count of the rest).
    pub fn lines(&self, max: usize) -> Vec<String> {
        let mut out: Vec<String> = self
            .registers
            .iter()
            .chain(&self.flags)
            .chain(&self.fields)
            .map(|c| format!("{}: {} -> {}", c.name, c.a, c.b))
            .collect();
        for r in &self.memory {
            out.push(format!(
                "memory {} (store {:08X}h, {} bytes, {} differ): {} -> {}",
                r.place, r.store_offset, r.len, r.differing, r.a, r.b
            ));
        }
        let shown: u64 = self.memory.iter().map(|r| r.differing).sum();
        if shown < self.memory_bytes {
            out.push(format!(
                "memory: {} more differing bytes elsewhere",
                self.memory_bytes - shown
            ));
        }
        if out.len() > max {
            let more = out.len() - max;
            out.truncate(max);
            out.push(format!("... and {more} more"));
        }
        out
    }
}

/// Every difference between `a` and `b`.
pub fn compare(a: &Machine, b: &Machine) -> Result<StateDiff, CompareError> {
    let mut d = StateDiff {
        registers: registers(a, b),
        flags: flags(a.cpu().flags(), b.cpu().flags()),
        ..StateDiff::default()
    };
    let va =
        serde_json::to_value(a.state_without_store()).map_err(|e| CompareError(e.to_string()))?;
    let vb =
        serde_json::to_value(b.state_without_store()).map_err(|e| CompareError(e.to_string()))?;
    if va != vb
        && let (Value::Object(x), Value::Object(y)) = (&va, &vb)
    {
        for (key, xa) in x {
            let Some(yb) = y.get(key) else { continue };
            match key.as_str() {
                // Registers and flags are reported by name above.
                "cpu" => walk_cpu(xa, yb, &mut d.full),
                // The devices and memory layout without the `bus.` prefix.
                "bus" => {
                    if let (Value::Object(bx), Value::Object(by)) = (xa, yb) {
                        for (k, v) in bx {
                            if let Some(w) = by.get(k) {
                                walk(k, v, w, &mut d.full);
                            }
                        }
                    }
                }
                _ => walk(key, xa, yb, &mut d.full),
            }
        }
    }
    d.fields = d.full.iter().map(|(n, x, y)| change(n, x, y)).collect();
    let (sa, sb) = (a.memory_store(), b.memory_store());
    let mut h = Xxh3::new();
    let mut count = 0u64;
    for (page, (pa, pb)) in sa.chunks(4096).zip(sb.chunks(4096)).enumerate() {
        if pa == pb {
            continue;
        }
        for (i, (&x, &y)) in pa.iter().zip(pb).enumerate() {
            if x != y {
                let at = (page * 4096 + i) as u64;
                count += 1;
                h.update(&at.to_le_bytes());
                h.update(&[x, y]);
                if d.bytes.len() < MAX_BYTES {
                    d.bytes.push((at, x, y));
                }
            }
        }
    }
    // A store that grew on one side only: its extra bytes count as differing.
    let extra = sa.len().abs_diff(sb.len()) as u64;
    count += extra;
    h.update(&extra.to_le_bytes());
    for (n, x, y) in d.full.iter() {
        h.update(n.as_bytes());
        h.update(&[0]);
        h.update(x.as_bytes());
        h.update(&[0]);
        h.update(y.as_bytes());
        h.update(&[0]);
    }
    for c in d.registers.iter().chain(&d.flags) {
        h.update(format!("{}={}/{}", c.name, c.a, c.b).as_bytes());
    }
    d.digest = h.digest();
    d.memory_bytes = count;
    d.memory = ranges(&d.bytes, a, b);
    Ok(d)
}

/// The differences between `expected` (a recorded snapshot) and `actual`, one line each
/// (`name: expected -> actual`), at most 40.
pub fn diff(expected: &Machine, actual: &Machine) -> Vec<String> {
    let mut out = Vec::new();
    if expected.now() != actual.now() {
        out.push(format!("tick: {} -> {}", expected.now(), actual.now()));
    }
    match compare(expected, actual) {
        Ok(d) => out.extend(d.lines(40)),
        Err(e) => out.push(e.to_string()),
    }
    out
}

fn change(name: &str, a: &str, b: &str) -> Change {
    Change {
        name: name.to_string(),
        a: shorten(a),
        b: shorten(b),
    }
}

fn shorten(s: &str) -> String {
    if s.len() > MAX_VALUE {
        let cut = s
            .char_indices()
            .nth(MAX_VALUE - 3)
            .map_or(s.len(), |(i, _)| i);
        format!("{}...", &s[..cut])
    } else {
        s.to_string()
    }
}

const REGS: [(Reg32, &str, &str); 8] = [
    (Reg32::EAX, "EAX", "AX"),
    (Reg32::EBX, "EBX", "BX"),
    (Reg32::ECX, "ECX", "CX"),
    (Reg32::EDX, "EDX", "DX"),
    (Reg32::ESI, "ESI", "SI"),
    (Reg32::EDI, "EDI", "DI"),
    (Reg32::EBP, "EBP", "BP"),
    (Reg32::ESP, "ESP", "SP"),
];

const SEGS: [(SegReg, &str); 6] = [
    (SegReg::CS, "CS"),
    (SegReg::DS, "DS"),
    (SegReg::ES, "ES"),
    (SegReg::SS, "SS"),
    (SegReg::FS, "FS"),
    (SegReg::GS, "GS"),
];

fn registers(a: &Machine, b: &Machine) -> Vec<Change> {
    let (ca, cb) = (a.cpu(), b.cpu());
    let mut out = Vec::new();
    let mut reg = |name32: &str, name16: &str, x: u32, y: u32| {
        if x == y {
            return;
        }
        out.push(if x >> 16 == y >> 16 {
            Change {
                name: name16.into(),
                a: format!("{:04X}", x & 0xFFFF),
                b: format!("{:04X}", y & 0xFFFF),
            }
        } else {
            Change {
                name: name32.into(),
                a: format!("{x:08X}"),
                b: format!("{y:08X}"),
            }
        });
    };
    for (r, n32, n16) in REGS {
        reg(n32, n16, ca.reg32(r), cb.reg32(r));
    }
    reg("EIP", "IP", ca.eip(), cb.eip());
    for (s, name) in SEGS {
        let (x, y) = (ca.sreg(s), cb.sreg(s));
        if x != y {
            out.push(Change {
                name: name.into(),
                a: selector_text(a, s),
                b: selector_text(b, s),
            });
        }
    }
    out
}

/// Segment register `s` of `m` as text: the value, and in protected mode (outside V86) the
/// base of the segment it selects and, for a DPMI client's selector, the memory that base
/// names (a 0501h block and the XMS block behind it, or an 0800h mapping).
fn selector_text(m: &Machine, s: SegReg) -> String {
    let cpu = m.cpu();
    let value = cpu.sreg(s);
    let protected = cpu.cr0() & 1 != 0 && cpu.flags() & 0x2_0000 == 0;
    if !protected {
        return format!("{value:04X}");
    }
    let base = cpu.segment(s).base;
    let mapped = m
        .firmware()
        .and_then(|f| f.dpmi())
        .and_then(|d| d.locate_linear(base));
    match mapped {
        Some(p) => match (p.handle, p.xms_handle) {
            (Some(h), Some(x)) => format!(
                "{value:04X} (base {base:08X}h: DPMI block {h:08X}h offset {:08X}h, XMS handle \
                 {x:04X}h, physical {:08X}h)",
                p.offset, p.physical
            ),
            _ => format!(
                "{value:04X} (base {base:08X}h: DPMI mapping of physical {:08X}h)",
                p.physical
            ),
        },
        None => format!("{value:04X} (base {base:08X}h)"),
    }
}

/// The flags one by one (Intel's names and bit positions), then the rest of FLAGS.
fn flags(x: u32, y: u32) -> Vec<Change> {
    const NAMED: [(u32, &str); 9] = [
        (0, "CF"),
        (2, "PF"),
        (4, "AF"),
        (6, "ZF"),
        (7, "SF"),
        (8, "TF"),
        (9, "IF"),
        (10, "DF"),
        (11, "OF"),
    ];
    let mut out = Vec::new();
    let mut mask = 0u32;
    for (bit, name) in NAMED {
        mask |= 1 << bit;
        let (p, q) = ((x >> bit) & 1, (y >> bit) & 1);
        if p != q {
            out.push(Change {
                name: name.into(),
                a: p.to_string(),
                b: q.to_string(),
            });
        }
    }
    if x & !mask != y & !mask {
        out.push(Change {
            name: "FLAGS".into(),
            a: format!("{x:08X}"),
            b: format!("{y:08X}"),
        });
    }
    out
}

/// The CPU's fields other than the registers and flags named above (segment selectors
/// included; their cached bases and limits are walked).
fn walk_cpu(a: &Value, b: &Value, out: &mut Vec<(String, String, String)>) {
    let (Value::Object(x), Value::Object(y)) = (a, b) else {
        walk("cpu", a, b, out);
        return;
    };
    for (k, va) in x {
        let Some(vb) = y.get(k) else { continue };
        match k.as_str() {
            "regs" | "eip" | "flags" => {}
            "segs" => {
                if let (Value::Array(p), Value::Array(q)) = (va, vb) {
                    for (i, (sa, sb)) in p.iter().zip(q).enumerate() {
                        if let (Value::Object(m), Value::Object(n)) = (sa, sb) {
                            for (f, fa) in m.iter().filter(|(f, _)| *f != "selector") {
                                if let Some(fb) = n.get(f) {
                                    walk(&format!("cpu.segs[{i}].{f}"), fa, fb, out);
                                }
                            }
                        }
                    }
                }
            }
            _ => walk(&format!("cpu.{k}"), va, vb, out),
        }
    }
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, String, String)>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => walk(&format!("{path}.{k}"), va, vb, out),
                    None => out.push((format!("{path}.{k}"), va.to_string(), "-".into())),
                }
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                out.push((format!("{path}.{k}"), "-".into(), vb.to_string()));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ => out.push((path.to_string(), a.to_string(), b.to_string())),
    }
}

/// Differing bytes grouped into ranges (split at 4 KiB store pages, whose places differ).
fn ranges(bytes: &[(u64, u8, u8)], a: &Machine, b: &Machine) -> Vec<MemoryRange> {
    let mut out: Vec<MemoryRange> = Vec::new();
    let mut open: Option<(u64, u64, u64)> = None; // first, last, count
    let close = |r: (u64, u64, u64), out: &mut Vec<MemoryRange>| {
        let (first, last, differing) = r;
        let len = last - first + 1;
        let n = (len as usize).min(EXCERPT);
        out.push(MemoryRange {
            place: place(a, first),
            store_offset: first,
            len,
            differing,
            a: hex(a.memory_store(), first, n),
            b: hex(b.memory_store(), first, n),
        });
    };
    for &(at, _, _) in bytes {
        open = match open {
            Some((first, last, n)) if at - last <= RANGE_GAP && at / 4096 == first / 4096 => {
                Some((first, at, n + 1))
            }
            Some(r) => {
                close(r, &mut out);
                Some((at, at, 1))
            }
            None => Some((at, at, 1)),
        };
    }
    if let Some(r) = open {
        close(r, &mut out);
    }
    out
}

fn hex(store: &[u8], at: u64, n: usize) -> String {
    let at = at as usize;
    let bytes = store.get(at..(at + n).min(store.len())).unwrap_or(&[]);
    let mut s = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Where backing-store byte `at` lies for the guest of machine `m`.
pub fn place(m: &Machine, at: u64) -> String {
    let page = (at / 4096) as u32;
    let within = (at % 4096) as u32;
    let fw = m.firmware();
    if let Some(loc) = fw.and_then(|f| f.ems()).and_then(|e| e.locate(page)) {
        return match loc.owner {
            Some((handle, off)) => {
                format!("EMS handle {handle:04X}h offset {:08X}h", off + within)
            }
            None => format!("EMS pool page {} (no handle)", loc.pool_page),
        };
    }
    if let Some((vm, phys)) = fw.and_then(|f| f.vmm()).and_then(|v| v.locate(page)) {
        return format!("VM {vm}'s copy of physical {:08X}h", phys * 4096 + within);
    }
    let ram = m.bus().mem.ram_size();
    let Ok(addr) = u32::try_from(at) else {
        return format!("store {at:08X}h");
    };
    if addr >= ram {
        return format!("store {at:08X}h");
    }
    if (0x10_0000..0x10_FFF0).contains(&addr) {
        return format!("HMA offset {:04X}h (physical {addr:08X}h)", addr - 0xF_FFF0);
    }
    if addr >= 0x10_0000
        && let Some(x) = fw.and_then(|f| f.xms())
    {
        for (handle, base_kb, size_kb, _) in x.blocks() {
            let (start, end) = (base_kb * 1024, (base_kb + size_kb) * 1024);
            if (start..end).contains(&addr) {
                let linear = fw
                    .and_then(|f| f.dpmi())
                    .map(|d| d.linear_of_physical(addr))
                    .unwrap_or_default();
                let seen = match linear.first() {
                    Some(l) => format!(", DPMI client's linear {l:08X}h"),
                    None => String::new(),
                };
                return format!(
                    "XMS handle {handle:04X}h offset {:08X}h (physical {addr:08X}h{seen})",
                    addr - start
                );
            }
        }
    }
    format!("physical {addr:08X}h")
}
