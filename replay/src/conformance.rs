//! CPU conformance against the SingleStepTests real-hardware vectors.
//!
//! Format: `../shared/sst/README.md`. Each `*.json.gz` file holds the tests for one opcode
//! (or one opcode and ModR/M reg field, `F6.7`). A test gives the complete initial register
//! state and the listed memory bytes, and the final registers that changed and the memory
//! bytes that matter. `metadata.json` gives each opcode a status and, where flags are
//! undefined, a mask; `revocation_list.txt` (80286) lists hashes of known-bad tests.
//!
//! How a test runs here:
//! - 8086: one instruction, and a REP-prefixed string instruction runs to completion (the
//!   vectors capture the whole instruction).
//! - 80286: the instruction is followed by `HLT`; the CPU runs until it halts.
//! - Final FLAGS are compared under the metadata mask. When the CPU took an exception the
//!   pushed copy of FLAGS on the stack holds the same undefined bits, so the mask is applied
//!   to that word too: the 80286 vectors say where it is (`exception.flag_address`); the
//!   8086 vectors have no such record, so for them the pushed word is located from the
//!   expected state itself (final CS:IP equal to the interrupt vector the initial memory
//!   holds, and SP six bytes lower).
//!
//! Which opcodes must pass: status `normal`, `alias` and `undocumented`. Tests of `undefined`
//! encodings are run and reported but do not fail the run; `fpu` opcodes are skipped (vexed
//! has no coprocessor) and the table says so; revoked tests are skipped and counted.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use vexed_emu::bare::BareSystem;
use vexed_emu::cpu::{Model, Reg16, SegReg};

/// Errors that stop a conformance run before any test runs.
#[derive(Debug, Error)]
pub enum ConformanceError {
    #[error("cannot read test directory {path}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid test JSON")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{0} holds no SingleStepTests files (*.json.gz)")]
    Empty(PathBuf),
    #[error("conformance vectors exist for the 8086 and 80286 only, not the {0}")]
    UnsupportedModel(&'static str),
}

/// An opcode's status in `metadata.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Normal,
    Alias,
    Undocumented,
    Undefined,
    Prefix,
    Fpu,
    Extension,
}

impl Status {
    fn parse(s: &str) -> Status {
        match s {
            "alias" => Status::Alias,
            "undocumented" => Status::Undocumented,
            "undefined" => Status::Undefined,
            "prefix" => Status::Prefix,
            "fpu" => Status::Fpu,
            "extension" => Status::Extension,
            // "normal", and anything this runner does not know, must pass.
            _ => Status::Normal,
        }
    }

    /// Whether failures of this status fail the run.
    pub fn required(self) -> bool {
        matches!(
            self,
            Status::Normal | Status::Alias | Status::Undocumented | Status::Extension
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Normal => "normal",
            Status::Alias => "alias",
            Status::Undocumented => "undocumented",
            Status::Undefined => "undefined",
            Status::Prefix => "prefix",
            Status::Fpu => "fpu",
            Status::Extension => "extension",
        }
    }
}

/// Results for one test file.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    /// The file's opcode name (`"00"`, `"F6.7"`).
    pub opcode: String,
    /// Statuses of the tests in the file (one, or several for files covering a whole
    /// group opcode).
    pub statuses: Vec<Status>,
    pub passed: u64,
    pub failed: u64,
    /// Tests of `undefined` encodings: run, not required.
    pub undefined_passed: u64,
    pub undefined_failed: u64,
    pub revoked: u64,
    /// Why the file was skipped entirely (FPU opcodes).
    pub skipped: Option<String>,
    /// The first few failures of required tests, described.
    pub failures: Vec<String>,
}

/// Results for a directory.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub cpu: String,
    pub files: Vec<FileReport>,
    pub passed: u64,
    pub failed: u64,
    pub undefined_passed: u64,
    pub undefined_failed: u64,
    pub revoked: u64,
    pub skipped_files: u64,
}

impl Report {
    /// The per-opcode table and the closing `N passed, N failed` line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("SingleStepTests conformance, CPU {}\n", self.cpu));
        out.push_str(&format!(
            "{:<8} {:<22} {:>7} {:>7}  {}\n",
            "opcode", "status", "passed", "failed", "notes"
        ));
        for f in &self.files {
            let status = f
                .statuses
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join("+");
            let mut notes = Vec::new();
            if let Some(why) = &f.skipped {
                notes.push(format!("skipped: {why}"));
            }
            if f.undefined_passed + f.undefined_failed > 0 {
                notes.push(format!(
                    "undefined encodings (not required): {} match, {} differ",
                    f.undefined_passed, f.undefined_failed
                ));
            }
            if f.revoked > 0 {
                notes.push(format!("{} revoked", f.revoked));
            }
            out.push_str(&format!(
                "{:<8} {:<22} {:>7} {:>7}  {}\n",
                f.opcode,
                status,
                f.passed,
                f.failed,
                notes.join("; ")
            ));
            for fail in &f.failures {
                out.push_str(&format!("         FAIL {fail}\n"));
            }
        }
        if self.skipped_files > 0 {
            out.push_str(&format!(
                "{} file(s) skipped: FPU opcodes (vexed models no coprocessor)\n",
                self.skipped_files
            ));
        }
        if self.undefined_passed + self.undefined_failed > 0 {
            out.push_str(&format!(
                "undefined encodings (reported, not required): {} match the hardware, {} differ\n",
                self.undefined_passed, self.undefined_failed
            ));
        }
        out.push_str(&format!("{} passed, {} failed\n", self.passed, self.failed));
        out
    }
}

#[derive(Deserialize, Default)]
struct MetaEntry {
    status: Option<String>,
    #[serde(rename = "flags-mask")]
    flags_mask: Option<u32>,
    reg: Option<BTreeMap<String, MetaEntry>>,
}

#[derive(Deserialize)]
struct Metadata {
    opcodes: BTreeMap<String, MetaEntry>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Regs {
    ax: Option<u16>,
    bx: Option<u16>,
    cx: Option<u16>,
    dx: Option<u16>,
    cs: Option<u16>,
    ss: Option<u16>,
    ds: Option<u16>,
    es: Option<u16>,
    sp: Option<u16>,
    bp: Option<u16>,
    si: Option<u16>,
    di: Option<u16>,
    ip: Option<u16>,
    flags: Option<u16>,
}

const REG_NAMES: [&str; 14] = [
    "ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags",
];

impl Regs {
    fn list(&self) -> [Option<u16>; 14] {
        [
            self.ax, self.bx, self.cx, self.dx, self.cs, self.ss, self.ds, self.es, self.sp,
            self.bp, self.si, self.di, self.ip, self.flags,
        ]
    }
}

#[derive(Deserialize)]
struct State {
    regs: Regs,
    ram: Vec<(u32, u8)>,
}

/// An exception the CPU took (80286 vectors); its fields are not needed (see `run_test`).
#[derive(Deserialize)]
struct ExceptionRecord {}

#[derive(Deserialize)]
struct Test {
    name: String,
    bytes: Vec<u8>,
    initial: State,
    #[serde(rename = "final")]
    fin: State,
    hash: String,
    exception: Option<ExceptionRecord>,
}

/// The status and flags mask of one test.
fn classify(meta: &Metadata, stem: &str, bytes: &[u8]) -> (Status, u16) {
    let (op, reg) = match stem.split_once('.') {
        Some((op, r)) => (op, r.parse::<u8>().ok()),
        None => (stem, None),
    };
    let Some(entry) = meta.opcodes.get(op) else {
        return (Status::Normal, 0xFFFF);
    };
    let entry = match &entry.reg {
        Some(table) => {
            // Files covering a whole group opcode: take reg from the test's ModR/M byte.
            let reg = reg.or_else(|| modrm_reg(bytes));
            match reg.and_then(|r| table.get(&r.to_string())) {
                Some(e) => e,
                None => entry,
            }
        }
        None => entry,
    };
    let status = entry
        .status
        .as_deref()
        .map(Status::parse)
        .unwrap_or(Status::Normal);
    (status, entry.flags_mask.map(|m| m as u16).unwrap_or(0xFFFF))
}

/// The reg field of the ModR/M byte after the prefixes and opcode.
fn modrm_reg(bytes: &[u8]) -> Option<u8> {
    let i = bytes
        .iter()
        .position(|b| !matches!(b, 0x26 | 0x2E | 0x36 | 0x3E | 0xF0..=0xF3))?;
    let skip = if bytes[i] == 0x0F { 2 } else { 1 };
    bytes.get(i + skip).map(|m| (m >> 3) & 7)
}

/// Reads and gunzips `path`.
fn read_gz(path: &Path) -> Result<Vec<u8>, ConformanceError> {
    let raw = fs::read(path).map_err(|source| ConformanceError::ReadFile {
        path: path.into(),
        source,
    })?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|source| ConformanceError::ReadFile {
            path: path.into(),
            source,
        })?;
    Ok(out)
}

/// Runs one test on `sys`; returns a description of the first difference, if any.
fn run_test(sys: &mut BareSystem, model: Model, t: &Test, mask: u16) -> Option<String> {
    let addr_mask: u32 = if model == Model::I8086 {
        0xF_FFFF
    } else {
        0xFF_FFFF
    };
    sys.cpu = vexed_emu::Cpu::new(model);
    let r = &t.initial.regs;
    let cpu = &mut sys.cpu;
    let g = |v: Option<u16>| v.unwrap_or(0);
    cpu.set_reg16(Reg16::AX, g(r.ax));
    cpu.set_reg16(Reg16::BX, g(r.bx));
    cpu.set_reg16(Reg16::CX, g(r.cx));
    cpu.set_reg16(Reg16::DX, g(r.dx));
    cpu.set_reg16(Reg16::SP, g(r.sp));
    cpu.set_reg16(Reg16::BP, g(r.bp));
    cpu.set_reg16(Reg16::SI, g(r.si));
    cpu.set_reg16(Reg16::DI, g(r.di));
    cpu.set_sreg(SegReg::CS, g(r.cs));
    cpu.set_sreg(SegReg::SS, g(r.ss));
    cpu.set_sreg(SegReg::DS, g(r.ds));
    cpu.set_sreg(SegReg::ES, g(r.es));
    cpu.set_ip(g(r.ip));
    cpu.set_flags(u32::from(g(r.flags)));
    for &(a, b) in &t.initial.ram {
        sys.bus.mem.write_u8(a & addr_mask, b);
    }

    match model {
        Model::I8086 => {
            sys.step_instruction(1_000_000);
        }
        _ => {
            if let Err(e) = sys.run_to_halt(1_000_000) {
                return Some(format!("{}: {e}", t.name));
            }
        }
    }

    // Expected registers: the initial set overridden by the final changes.
    let init = t.initial.regs.list();
    let fin = t.fin.regs.list();
    let c = &sys.cpu;
    let actual: [u16; 14] = [
        c.reg16(Reg16::AX),
        c.reg16(Reg16::BX),
        c.reg16(Reg16::CX),
        c.reg16(Reg16::DX),
        c.sreg(SegReg::CS),
        c.sreg(SegReg::SS),
        c.sreg(SegReg::DS),
        c.sreg(SegReg::ES),
        c.reg16(Reg16::SP),
        c.reg16(Reg16::BP),
        c.reg16(Reg16::SI),
        c.reg16(Reg16::DI),
        c.ip(),
        c.flags() as u16,
    ];
    let mut diffs = Vec::new();
    for i in 0..14 {
        let Some(want) = fin[i].or(init[i]) else {
            continue;
        };
        let (w, a) = if i == 13 {
            (want & mask, actual[i] & mask)
        } else {
            (want, actual[i])
        };
        if w != a {
            diffs.push(format!("{} {:04X} expected {:04X}", REG_NAMES[i], a, w));
        }
    }

    // Where the CPU pushed FLAGS, if it took an exception: its undefined bits are masked.
    let mut pushed_flags: BTreeSet<u32> = BTreeSet::new();
    if t.exception.is_some() {
        // The vectors' `flag_address` is rounded down to an even address when SP is odd;
        // the word is where the expected final SS:SP says the pushes ended (FLAGS is the
        // first push, four bytes above the last).
        let ss = u32::from(fin[5].or(init[5]).unwrap_or(0));
        let sp = u32::from(fin[8].or(init[8]).unwrap_or(0));
        pushed_flags.insert(((ss << 4) + ((sp + 4) & 0xFFFF)) & addr_mask);
    } else if model == Model::I8086
        && let Some(handler) = vector_in_initial_ram(t, fin[4].or(init[4]), fin[12].or(init[12]))
    {
        let ss = u32::from(fin[5].or(init[5]).unwrap_or(0));
        let sp = u32::from(fin[8].or(init[8]).unwrap_or(0));
        if fin[8].is_some() && init[8].map(|s| s.wrapping_sub(6)) == fin[8] && handler {
            pushed_flags.insert(((ss << 4) + ((sp + 4) & 0xFFFF)) & addr_mask);
        }
    }
    for &(a, want) in &t.fin.ram {
        let a = a & addr_mask;
        let got = sys.bus.mem.read_u8(a);
        let byte_mask = if pushed_flags.contains(&a) {
            mask as u8
        } else if pushed_flags.contains(&(a.wrapping_sub(1) & addr_mask)) {
            (mask >> 8) as u8
        } else {
            0xFF
        };
        if got & byte_mask != want & byte_mask {
            diffs.push(format!("[{a:05X}] {got:02X} expected {want:02X}"));
        }
    }
    // Leave memory clean for the next test.
    for &(a, _) in t.initial.ram.iter().chain(&t.fin.ram) {
        sys.bus.mem.write_u8(a & addr_mask, 0);
    }
    if diffs.is_empty() {
        None
    } else {
        let bytes: Vec<String> = t.bytes.iter().map(|b| format!("{b:02X}")).collect();
        Some(format!(
            "{} [{}] ({}): {}",
            t.name,
            bytes.join(" "),
            &t.hash[..t.hash.len().min(12)],
            diffs.join(", ")
        ))
    }
}

/// Whether the expected final CS:IP is an interrupt vector that the initial memory holds
/// (the test delivered an interrupt through it).
fn vector_in_initial_ram(t: &Test, cs: Option<u16>, ip: Option<u16>) -> Option<bool> {
    let (cs, ip) = (cs?, ip?);
    let ram: BTreeMap<u32, u8> = t.initial.ram.iter().copied().collect();
    for v in 0..256u32 {
        let b = |k: u32| ram.get(&(v * 4 + k)).copied();
        if let (Some(a), Some(b2), Some(c), Some(d)) = (b(0), b(1), b(2), b(3))
            && u16::from_le_bytes([a, b2]) == ip
            && u16::from_le_bytes([c, d]) == cs
        {
            return Some(true);
        }
    }
    None
}

/// Runs one file.
fn run_file(
    model: Model,
    meta: &Metadata,
    revoked: &BTreeSet<String>,
    path: &Path,
) -> Result<FileReport, ConformanceError> {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json.gz"))
        .unwrap_or("?")
        .to_string();
    let mut report = FileReport {
        opcode: stem.clone(),
        statuses: Vec::new(),
        passed: 0,
        failed: 0,
        undefined_passed: 0,
        undefined_failed: 0,
        revoked: 0,
        skipped: None,
        failures: Vec::new(),
    };
    let (file_status, _) = classify(meta, &stem, &[]);
    if file_status == Status::Fpu {
        report.statuses.push(Status::Fpu);
        report.skipped = Some("FPU opcode (vexed models no coprocessor)".into());
        return Ok(report);
    }
    let json = read_gz(path)?;
    let tests: Vec<Test> =
        serde_json::from_slice(&json).map_err(|source| ConformanceError::Json {
            path: path.into(),
            source,
        })?;
    let ram = if model == Model::I8086 {
        0x10_0000
    } else {
        0x100_0000
    };
    let mut sys = BareSystem::new(model, ram).map_err(|e| ConformanceError::ReadFile {
        path: path.into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut statuses = BTreeSet::new();
    for t in &tests {
        if revoked.contains(&t.hash) {
            report.revoked += 1;
            continue;
        }
        let (status, mask) = classify(meta, &stem, &t.bytes);
        statuses.insert(status);
        let outcome = run_test(&mut sys, model, t, mask);
        match (status.required(), outcome) {
            (true, None) => report.passed += 1,
            (true, Some(why)) => {
                report.failed += 1;
                if report.failures.len() < 5 {
                    report.failures.push(why);
                }
            }
            (false, None) => report.undefined_passed += 1,
            (false, Some(_)) => report.undefined_failed += 1,
        }
    }
    report.statuses = statuses.into_iter().collect();
    Ok(report)
}

/// Runs every `*.json.gz` in `dir` as vectors for `model`, on `threads` worker threads.
pub fn run_dir(model: Model, dir: &Path, threads: usize) -> Result<Report, ConformanceError> {
    if model == Model::I80386 {
        return Err(ConformanceError::UnsupportedModel("80386"));
    }
    let meta_path = dir.join("metadata.json");
    let meta_text = fs::read(&meta_path).map_err(|source| ConformanceError::ReadFile {
        path: meta_path.clone(),
        source,
    })?;
    let meta: Metadata =
        serde_json::from_slice(&meta_text).map_err(|source| ConformanceError::Json {
            path: meta_path,
            source,
        })?;
    let revoked: BTreeSet<String> = match fs::read_to_string(dir.join("revocation_list.txt")) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|source| ConformanceError::ReadDir {
            path: dir.into(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".json.gz")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ConformanceError::Empty(dir.into()));
    }

    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<Result<FileReport, ConformanceError>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(path) = files.get(i) else { break };
                    let r = run_file(model, &meta, &revoked, path);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                }
            });
        }
    });

    let mut report = Report {
        cpu: model.name().to_string(),
        files: Vec::new(),
        passed: 0,
        failed: 0,
        undefined_passed: 0,
        undefined_failed: 0,
        revoked: 0,
        skipped_files: 0,
    };
    for r in results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
    {
        let f = r?;
        report.passed += f.passed;
        report.failed += f.failed;
        report.undefined_passed += f.undefined_passed;
        report.undefined_failed += f.undefined_failed;
        report.revoked += f.revoked;
        report.skipped_files += u64::from(f.skipped.is_some());
        report.files.push(f);
    }
    Ok(report)
}
