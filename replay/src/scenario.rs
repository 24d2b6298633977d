//! Scenarios: a TOML manifest describing a machine, the DOS programs it runs in order (TSRs
//! first), timed inputs, a tick limit and expectations. The schema is documented in
//! `corpora/README.md`; this module parses and checks it and turns it into what
//! `vexed-emu` needs (a machine and firmware configuration, drive C:, programs, inputs).
//!
//! A manifest is input from anyone (a scenario found on the net), so what it may ask for
//! is bounded before anything is allocated for it (issue 14, item 4; the limits are listed
//! in corpora/README.md): the file is at most [`MAX_MANIFEST_BYTES`] and a regular file
//! (checked on the open handle before reading, which also bounds what the TOML parser
//! allocates), at most [`MAX_PROGRAMS`] programs, [`MAX_VMS`] VMs, [`MAX_INPUTS`] inputs
//! expanding to at most [`MAX_MACHINE_INPUTS`] machine inputs, program names and command
//! tails no longer than DOS keeps, and tick counts up to [`MAX_TICKS_LIMIT`].
//! [`Scenario::load_with`] also keeps drive C: inside the manifest's directory unless the
//! user names another directory (issue 14, item 6).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use vexed_emu::clock::TickRate;
use vexed_emu::cpu::Model;
use vexed_emu::firmware::bios::{DateTime, scancode_for};
use vexed_emu::firmware::dos::DosConfig;
use vexed_emu::firmware::dpmi::DpmiConfig;
use vexed_emu::firmware::ems::EmsConfig;
use vexed_emu::firmware::vmm::{VmSpec, VmmConfig, VmmRules};
use vexed_emu::firmware::xms::XmsConfig;
use vexed_emu::firmware::{FirmwareConfig, Program};
use vexed_emu::machine::{ClockMode, Input, MachineConfig};

/// Default tick limit: 60 s of guest time at the default rate.
pub const DEFAULT_MAX_TICKS: u64 = 1_500_000_000;
/// Milliseconds between two typed characters of a `keys` input.
const KEY_INTERVAL_MS: u64 = 20;

/// Largest manifest file, in bytes (checked before it is read).
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// Most `[[program]]` entries (each is a resident program or one run after another).
pub const MAX_PROGRAMS: usize = 64;
/// Most `[[vm]]` entries. The VMM has no fixed limit, but every DOS VM gets its own copy
/// of instanced conventional memory (up to 640 KiB, `emu/src/firmware/vmm/mod.rs`), so
/// the count bounds the memory a manifest can make the machine allocate: 64 VMs are at
/// most 40 MiB.
pub const MAX_VMS: usize = 64;
/// Most `[[input]]` entries.
pub const MAX_INPUTS: usize = 10_000;
/// Most machine inputs the `[[input]]` entries expand to (a `keys` character is two to
/// four scancodes, a `serial` string one input per byte).
pub const MAX_MACHINE_INPUTS: usize = 1_000_000;
/// The longest `config` text (MS-DOS reads CONFIG.SYS into one 64 KiB segment).
pub use vexed_emu::firmware::dos::config::MAX_CONFIG_BYTES;
/// Most `files` and `console_contains` entries.
pub const MAX_LIST: usize = 10_000;
/// Largest `max_ticks`, `checkpoint_interval` and `at_tick` (about 463 days of guest time
/// at the default rate; keeps tick arithmetic far from overflow).
pub const MAX_TICKS_LIMIT: u64 = 1_000_000_000_000_000;
/// Longest program name: the shell keeps 127 bytes of it (`emu/src/firmware/dos/process.rs`).
const MAX_PROGRAM_NAME: usize = 127;
/// Longest command tail: 125 bytes after the separating space fill the PSP's 126-byte tail
/// (`emu/src/firmware/dos/process.rs`).
const MAX_ARGS: usize = 125;
/// Longest `drive` path, in bytes.
const MAX_DRIVE_PATH: usize = 4096;
/// Largest `dpmi.max_client_kb`: 4 GiB in KiB, less one (a DPMI 0.9 client addresses at
/// most 4 GiB of linear memory).
pub const MAX_DPMI_CLIENT_KB: u32 = 4 * 1024 * 1024 - 1;

/// A scenario file that cannot be used.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("scenario {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The manifest as written (see `corpora/README.md`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    description: Option<String>,
    /// Directory that becomes drive C:, relative to the manifest.
    drive: PathBuf,
    #[serde(default)]
    writable: bool,
    /// Only these files of the directory go on drive C: (default: all of them).
    files: Option<Vec<String>>,
    /// The text of C:\CONFIG.SYS, which DOS reads at boot.
    config: Option<String>,
    max_ticks: Option<u64>,
    /// Ticks between the state-hash checkpoints of a recording.
    checkpoint_interval: Option<u64>,
    #[serde(default)]
    machine: MachineSection,
    xms: Option<XmsSection>,
    ems: Option<EmsSection>,
    dpmi: Option<DpmiSection>,
    #[serde(default, rename = "program")]
    programs: Vec<ProgramSection>,
    vmm: Option<VmmSection>,
    #[serde(default, rename = "vm")]
    vms: Vec<VmSection>,
    system_vm: Option<ProgramSection>,
    #[serde(default, rename = "input")]
    inputs: Vec<InputSection>,
    #[serde(default)]
    expect: ExpectSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineSection {
    cpu: Option<String>,
    memory_kb: Option<u32>,
    ticks_per_second: Option<u64>,
    /// `YYYY-MM-DD HH:MM:SS`.
    boot_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct XmsSection {
    #[serde(default = "yes")]
    enabled: bool,
    handles: Option<u16>,
    hma_min_kb: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmsSection {
    #[serde(default = "yes")]
    enabled: bool,
    pages: Option<u16>,
    frame: Option<u16>,
    handles: Option<u16>,
}

/// `[dpmi]`: a DPMI host in plain DOS (see `vexed_emu::firmware::dpmi`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DpmiSection {
    /// The most linear memory (KiB) the host gives one client; 0 = no limit but the XMS
    /// pool. Signed, as TOML integers are, so that any value gets the range message.
    max_client_kb: Option<i64>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramSection {
    name: String,
    #[serde(default)]
    args: String,
    exit_code: Option<u8>,
}

/// `[vmm]`: the VM manager started after the programs (see `vexed_emu::firmware::vmm`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VmmSection {
    /// Timer interrupts per time slice at priority 100.
    slice: Option<u32>,
    /// The DOS VM (1 = the first `[[vm]]`) with the keyboard focus.
    focus: Option<usize>,
    /// The modelled rules; switch one off to see what it protects.
    #[serde(default = "yes")]
    critical_sections: bool,
    #[serde(default = "yes")]
    indos: bool,
    #[serde(default = "yes")]
    interrupts_in_service: bool,
    #[serde(default = "yes")]
    xms_lock_after_start: bool,
}

/// `[[vm]]`: one DOS VM and the program it runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VmSection {
    name: String,
    #[serde(default)]
    args: String,
    exit_code: Option<u8>,
    foreground_priority: Option<u16>,
    background_priority: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSection {
    at_tick: Option<u64>,
    at_ms: Option<u64>,
    keys: Option<String>,
    scancodes: Option<Vec<u8>>,
    serial: Option<String>,
    irq: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSection {
    console: Option<String>,
    #[serde(default)]
    console_contains: Vec<String>,
    stop: Option<String>,
}

/// How a run is expected to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedStop {
    /// Every program ran (the default).
    Finished,
    /// The guest crashed (an exception nobody handles).
    Crash,
    /// The tick limit was reached.
    TickLimit,
}

/// A usable scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub drive_dir: PathBuf,
    pub writable: bool,
    /// Only these DOS paths of the directory are on drive C: (`None`: every file).
    pub drive_files: Option<Vec<String>>,
    /// `config`: the text put on drive C: as `CONFIG.SYS` (DOS processes it at boot).
    pub config: Option<String>,
    /// Ticks between checkpoints when this scenario is recorded (`None`: the default).
    pub checkpoint_interval: Option<u64>,
    pub max_ticks: u64,
    pub machine: MachineConfig,
    pub firmware: FirmwareConfig,
    pub programs: Vec<Program>,
    /// Expected exit code per program (None = not checked).
    pub exit_codes: Vec<Option<u8>>,
    /// The expected exit code of each DOS VM's program (VM ids 2, 3, ...).
    pub vm_exit_codes: Vec<Option<u8>>,
    /// The expected exit code of the system VM's program (`[system_vm]`, VM id 1).
    pub system_exit_code: Option<u8>,
    /// Inputs sorted by tick (stable: file order for equal ticks).
    pub inputs: Vec<(u64, Input)>,
    pub expect_console: Option<String>,
    pub expect_contains: Vec<String>,
    pub expect_stop: ExpectedStop,
}

impl Scenario {
    /// Reads and checks a manifest of the repository's own corpus (tests, golden traces,
    /// benchmarks): its drive may be anywhere. Manifests the user names go through
    /// [`Scenario::load_with`], which keeps the drive inside the manifest's directory.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = read_manifest(path)?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| ScenarioError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Scenario::from_manifest(manifest, base, name).map_err(invalid)
    }

    /// Reads and checks a manifest, and checks that its drive C: lies inside the manifest's
    /// directory or inside `allow_drive` (the directory the user named with `--drive`),
    /// after resolving `..` and symbolic links. `drive_dir` is then the resolved directory.
    pub fn load_with(path: &Path, allow_drive: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let mut s = Scenario::load(path)?;
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let base = std::fs::canonicalize(base).map_err(|source| ScenarioError::Read {
            path: base.to_path_buf(),
            source,
        })?;
        // The drive as the manifest writes it (`load` joined it to the manifest's directory).
        let written = path.parent().unwrap_or(Path::new("."));
        let named = s.drive_dir.strip_prefix(written).unwrap_or(&s.drive_dir);
        let named = named.display().to_string();
        let drive = std::fs::canonicalize(&s.drive_dir)
            .map_err(|e| invalid(format!("drive {named} cannot be used: {e}")))?;
        if !drive.starts_with(&base) {
            let allowed = match allow_drive {
                Some(dir) => Some((
                    dir,
                    std::fs::canonicalize(dir).map_err(|source| ScenarioError::Read {
                        path: dir.to_path_buf(),
                        source,
                    })?,
                )),
                None => None,
            };
            match allowed {
                Some((_, a)) if drive.starts_with(&a) => {}
                Some((dir, _)) => {
                    return Err(invalid(format!(
                        "drive {named} ({}) lies outside the manifest's directory {} and \
                         outside --drive {}",
                        drive.display(),
                        base.display(),
                        dir.display()
                    )));
                }
                None => {
                    return Err(invalid(format!(
                        "drive {named} lies outside the manifest's directory {}; name it with \
                         --drive {} to use it",
                        base.display(),
                        drive.display()
                    )));
                }
            }
        }
        s.drive_dir = drive;
        Ok(s)
    }

    /// Checks a manifest's text (what [`Scenario::load`] does after reading the file);
    /// the drive directory is relative to `base`.
    pub fn parse(text: &str, base: &Path, name: String) -> Result<Scenario, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        Scenario::from_manifest(manifest, base, name)
    }

    /// A scenario for `vexed run PROGRAM [ARGS]`: the default machine, the program's
    /// directory as drive C:, no expectations.
    pub fn for_program(program: &Path, args: &[String]) -> Result<Scenario, String> {
        let file = program
            .file_name()
            .ok_or_else(|| format!("{} is not a file name", program.display()))?
            .to_string_lossy()
            .to_ascii_uppercase();
        let dir = program
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(Scenario {
            name: file.clone(),
            description: String::new(),
            drive_dir: dir.to_path_buf(),
            writable: false,
            drive_files: None,
            config: None,
            checkpoint_interval: None,
            max_ticks: DEFAULT_MAX_TICKS,
            machine: MachineConfig::default(),
            firmware: FirmwareConfig::default(),
            programs: vec![Program {
                name: file,
                args: args.join(" "),
            }],
            exit_codes: vec![None],
            vm_exit_codes: Vec::new(),
            system_exit_code: None,
            inputs: Vec::new(),
            expect_console: None,
            expect_contains: Vec::new(),
            expect_stop: ExpectedStop::Finished,
        })
    }

    fn from_manifest(m: Manifest, base: &Path, name: String) -> Result<Scenario, String> {
        check_bounds(&m)?;
        let mut machine = MachineConfig::default();
        if let Some(cpu) = &m.machine.cpu {
            machine.model = Model::from_name(cpu)
                .ok_or_else(|| format!("machine.cpu = {cpu:?}: use 8086, 286 or 386"))?;
        }
        if let Some(kb) = m.machine.memory_kb {
            if !(640..=65_536).contains(&kb) || kb % 4 != 0 {
                return Err(format!(
                    "machine.memory_kb = {kb}: use a multiple of 4 from 640 to 65536"
                ));
            }
            machine.ram = kb * 1024;
        }
        if let Some(rate) = m.machine.ticks_per_second {
            machine.rate =
                TickRate::new(rate).map_err(|e| format!("machine.ticks_per_second: {e}"))?;
        }
        machine.clock = ClockMode::Virtual;
        let mut dos = DosConfig::default();
        if let Some(t) = &m.machine.boot_time {
            dos.boot_time = parse_time(t)
                .ok_or_else(|| format!("machine.boot_time = {t:?}: use \"YYYY-MM-DD HH:MM:SS\""))?;
        }
        let xms = match m.xms {
            Some(x) if !x.enabled => None,
            Some(x) => {
                let mut c = XmsConfig::default();
                if let Some(h) = x.handles {
                    c.handles = h;
                }
                if let Some(h) = x.hma_min_kb {
                    if h > 63 {
                        return Err(format!("xms.hma_min_kb = {h}: HIMEM accepts 0 to 63"));
                    }
                    c.hma_min_kb = h;
                }
                Some(c)
            }
            None => Some(XmsConfig::default()),
        };
        let ems = match m.ems {
            Some(e) if !e.enabled => None,
            Some(e) => {
                let mut c = EmsConfig::default();
                if let Some(p) = e.pages {
                    c.pages = p;
                }
                if let Some(f) = e.frame {
                    c.frame_segment = f;
                }
                if let Some(h) = e.handles {
                    c.handles = h;
                }
                c.validate().map_err(|err| format!("[ems]: {err}"))?;
                Some(c)
            }
            None => Some(EmsConfig::default()),
        };
        let dpmi = dpmi_config(m.dpmi.as_ref(), &m.machine, machine.model)?;
        if m.programs.is_empty() && m.vms.is_empty() && m.system_vm.is_none() {
            return Err("no [[program]], [[vm]] or [system_vm] to run".into());
        }
        let programs = m
            .programs
            .iter()
            .map(|p| Program {
                name: p.name.clone(),
                args: p.args.clone(),
            })
            .collect();
        let exit_codes = m.programs.iter().map(|p| p.exit_code).collect();
        let vmm = vmm_config(m.vmm.as_ref(), &m.vms, m.system_vm.as_ref())?;
        let vm_exit_codes = m.vms.iter().map(|v| v.exit_code).collect();
        let system_exit_code = m.system_vm.as_ref().and_then(|p| p.exit_code);
        let mut inputs = Vec::new();
        for (i, inp) in m.inputs.iter().enumerate() {
            let at = match (inp.at_tick, inp.at_ms) {
                (Some(t), None) => t,
                (None, Some(ms)) => machine
                    .rate
                    .tick_of_time(ms / 1000, (ms % 1000) as u32 * 1_000_000),
                _ => {
                    return Err(format!(
                        "input {}: give exactly one of at_tick and at_ms",
                        i + 1
                    ));
                }
            };
            expand_input(inp, at, machine.rate, &mut inputs)
                .map_err(|e| format!("input {}: {e}", i + 1))?;
        }
        inputs.sort_by_key(|&(t, _)| t);
        let expect_stop = match m.expect.stop.as_deref() {
            None | Some("finished") => ExpectedStop::Finished,
            Some("crash") => ExpectedStop::Crash,
            Some("tick-limit") => ExpectedStop::TickLimit,
            Some(other) => {
                return Err(format!(
                    "expect.stop = {other:?}: use \"finished\", \"crash\" or \"tick-limit\""
                ));
            }
        };
        Ok(Scenario {
            name,
            description: m.description.unwrap_or_default(),
            drive_dir: base.join(&m.drive),
            writable: m.writable,
            drive_files: m.files,
            config: m.config,
            checkpoint_interval: m.checkpoint_interval,
            max_ticks: m.max_ticks.unwrap_or(DEFAULT_MAX_TICKS),
            machine,
            firmware: FirmwareConfig {
                xms,
                ems,
                dos,
                vmm,
                dpmi,
            },
            programs,
            exit_codes,
            vm_exit_codes,
            system_exit_code,
            inputs,
            expect_console: m.expect.console,
            expect_contains: m.expect.console_contains,
            expect_stop,
        })
    }
}

/// Reads a manifest file: a regular file (checked on the open handle, opened without
/// waiting so a FIFO cannot hang the read) of at most [`MAX_MANIFEST_BYTES`].
fn read_manifest(path: &Path) -> Result<String, ScenarioError> {
    let read_err = |source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    };
    let invalid = |message: String| ScenarioError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let file = crate::drive::open_no_wait(path, true).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(invalid("not a regular file, so not a manifest".into()));
    }
    let too_large = |len: u64| {
        invalid(format!(
            "the file has {len} bytes; a manifest may have at most {MAX_MANIFEST_BYTES}"
        ))
    };
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut text = String::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    if text.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(too_large(text.len() as u64));
    }
    Ok(text)
}

/// The limits on what a manifest may ask for (see the module documentation).
fn check_bounds(m: &Manifest) -> Result<(), String> {
    let count = |what: &str, n: usize, max: usize| {
        if n > max {
            Err(format!("{n} {what} entries: at most {max} are allowed"))
        } else {
            Ok(())
        }
    };
    if let Some(c) = &m.config
        && c.len() > MAX_CONFIG_BYTES
    {
        return Err(format!(
            "config is {} bytes: at most {MAX_CONFIG_BYTES} are allowed",
            c.len()
        ));
    }
    count("[[program]]", m.programs.len(), MAX_PROGRAMS)?;
    count("[[vm]]", m.vms.len(), MAX_VMS)?;
    count("[[input]]", m.inputs.len(), MAX_INPUTS)?;
    count("files", m.files.as_ref().map_or(0, Vec::len), MAX_LIST)?;
    count(
        "expect.console_contains",
        m.expect.console_contains.len(),
        MAX_LIST,
    )?;
    let ticks = |key: &str, value: Option<u64>| match value {
        Some(0) if key == "checkpoint_interval" => Err(
            "checkpoint_interval = 0: give the ticks between checkpoints (1 or more), or leave \
             the key out for the default"
                .to_string(),
        ),
        Some(0) => Err(format!("{key} = 0: use 1 to {MAX_TICKS_LIMIT}")),
        Some(n) if n > MAX_TICKS_LIMIT => Err(format!("{key} = {n}: use 1 to {MAX_TICKS_LIMIT}")),
        _ => Ok(()),
    };
    ticks("max_ticks", m.max_ticks)?;
    ticks("checkpoint_interval", m.checkpoint_interval)?;
    if m.drive.as_os_str().len() > MAX_DRIVE_PATH {
        return Err(format!(
            "drive: the path is longer than {MAX_DRIVE_PATH} bytes"
        ));
    }
    let entries = m
        .programs
        .iter()
        .map(|p| ("program", &p.name, &p.args))
        .chain(m.vms.iter().map(|v| ("vm", &v.name, &v.args)))
        .chain(m.system_vm.iter().map(|p| ("system_vm", &p.name, &p.args)));
    for (i, (what, name, args)) in entries.enumerate() {
        let n = match what {
            "vm" => i - m.programs.len(),
            "system_vm" => 0,
            _ => i,
        } + 1;
        if name.len() > MAX_PROGRAM_NAME {
            return Err(format!(
                "{what} {n}: the name has {} bytes; DOS keeps at most {MAX_PROGRAM_NAME}",
                name.len()
            ));
        }
        if args.len() > MAX_ARGS {
            return Err(format!(
                "{what} {n}: args has {} bytes; a DOS command tail holds at most {MAX_ARGS}",
                args.len()
            ));
        }
    }
    let mut expanded = 0usize;
    for (i, inp) in m.inputs.iter().enumerate() {
        if let Some(t) = inp.at_tick
            && t > MAX_TICKS_LIMIT
        {
            return Err(format!(
                "input {}: at_tick = {t}: use 0 to {MAX_TICKS_LIMIT}",
                i + 1
            ));
        }
        // Four machine inputs per typed character at most (Shift, make, break, Shift).
        expanded = expanded
            .saturating_add(inp.keys.as_ref().map_or(0, |k| k.len().saturating_mul(4)))
            .saturating_add(inp.scancodes.as_ref().map_or(0, Vec::len))
            .saturating_add(inp.serial.as_ref().map_or(0, String::len))
            .saturating_add(usize::from(inp.irq.is_some()));
        if expanded > MAX_MACHINE_INPUTS {
            return Err(format!(
                "input {}: the inputs up to here expand to more than {MAX_MACHINE_INPUTS} \
                 machine inputs",
                i + 1
            ));
        }
    }
    Ok(())
}

/// The DPMI host of `[dpmi]` (`None` without the section). A DPMI host switches to
/// protected mode, so it needs an 80286 or 80386.
fn dpmi_config(
    section: Option<&DpmiSection>,
    machine: &MachineSection,
    model: Model,
) -> Result<Option<DpmiConfig>, String> {
    let Some(d) = section else {
        return Ok(None);
    };
    if model == Model::I8086 {
        let cpu = machine.cpu.as_deref().unwrap_or("8086");
        return Err(format!("[dpmi] needs an 80286 or 80386 (cpu = {cpu:?})"));
    }
    let mut c = DpmiConfig::default();
    if let Some(kb) = d.max_client_kb {
        c.max_client_kb = u32::try_from(kb)
            .ok()
            .filter(|&kb| kb <= MAX_DPMI_CLIENT_KB)
            .ok_or_else(|| {
                format!(
                    "dpmi.max_client_kb = {kb}: use 0 (no limit but the XMS pool) to \
                     {MAX_DPMI_CLIENT_KB} (4 GiB in KiB, less one)"
                )
            })?;
    }
    Ok(Some(c))
}

/// The VMM configuration of `[vmm]`, the `[[vm]]`s and `[system_vm]` (the section and at
/// least one program, or none of them).
fn vmm_config(
    section: Option<&VmmSection>,
    vms: &[VmSection],
    system: Option<&ProgramSection>,
) -> Result<Option<VmmConfig>, String> {
    let Some(v) = section else {
        if !vms.is_empty() {
            return Err("[[vm]] needs a [vmm] section (the VM manager that runs them)".into());
        }
        if system.is_some() {
            return Err("[system_vm] needs a [vmm] section (the VM manager that runs it)".into());
        }
        return Ok(None);
    };
    if vms.is_empty() && system.is_none() {
        return Err("[vmm] needs at least one [[vm]] or a [system_vm] to run".into());
    }
    let mut c = VmmConfig::default();
    if let Some(slice) = v.slice {
        if !(1..=1000).contains(&slice) {
            return Err(format!(
                "vmm.slice = {slice}: use 1 to 1000 timer interrupts"
            ));
        }
        c.slice = slice;
    }
    if let Some(focus) = v.focus {
        if focus == 0 || focus > vms.len() {
            return Err(format!(
                "vmm.focus = {focus}: use 1 to {} (the [[vm]] with the keyboard)",
                vms.len()
            ));
        }
        c.focus = focus - 1;
    }
    c.rules = VmmRules {
        critical_sections: v.critical_sections,
        indos: v.indos,
        interrupts_in_service: v.interrupts_in_service,
        xms_lock_after_start: v.xms_lock_after_start,
    };
    for (i, vm) in vms.iter().enumerate() {
        let mut spec = VmSpec::new(Program {
            name: vm.name.clone(),
            args: vm.args.clone(),
        });
        for (key, value, slot) in [
            (
                "foreground_priority",
                vm.foreground_priority,
                &mut spec.foreground_priority,
            ),
            (
                "background_priority",
                vm.background_priority,
                &mut spec.background_priority,
            ),
        ] {
            if let Some(p) = value {
                if !(1..=10_000).contains(&p) {
                    return Err(format!("vm {}: {key} = {p}: use 1 to 10000", i + 1));
                }
                *slot = p;
            }
        }
        c.vms.push(spec);
    }
    c.system = system.map(|p| Program {
        name: p.name.clone(),
        args: p.args.clone(),
    });
    Ok(Some(c))
}

/// One `[[input]]` as machine inputs: `keys` become make and break codes (with Shift where
/// the US layout needs it), one character every 20 ms.
fn expand_input(
    inp: &InputSection,
    at: u64,
    rate: TickRate,
    out: &mut Vec<(u64, Input)>,
) -> Result<(), String> {
    let kinds = [
        inp.keys.is_some(),
        inp.scancodes.is_some(),
        inp.serial.is_some(),
        inp.irq.is_some(),
    ];
    if kinds.iter().filter(|&&k| k).count() != 1 {
        return Err("give exactly one of keys, scancodes, serial and irq".into());
    }
    if let Some(keys) = &inp.keys {
        let step = rate.tick_of_time(0, (KEY_INTERVAL_MS * 1_000_000) as u32);
        for (i, c) in keys.bytes().enumerate() {
            let (code, shift) = scancode_for(c)
                .ok_or_else(|| format!("no key types {:?} on the US layout", c as char))?;
            let t = at.saturating_add(step.saturating_mul(i as u64));
            let mut push = |scancode| out.push((t, Input::Key { scancode }));
            if shift {
                push(0x2A);
            }
            push(code);
            push(code | 0x80);
            if shift {
                push(0xAA);
            }
        }
    }
    if let Some(codes) = &inp.scancodes {
        out.extend(codes.iter().map(|&scancode| (at, Input::Key { scancode })));
    }
    if let Some(text) = &inp.serial {
        out.extend(text.bytes().map(|byte| (at, Input::SerialRx { byte })));
    }
    if let Some(line) = inp.irq {
        if line > 15 {
            return Err(format!("irq = {line}: lines are 0 to 15"));
        }
        out.push((at, Input::Irq { line }));
    }
    Ok(())
}

/// Parses `YYYY-MM-DD HH:MM:SS`.
fn parse_time(s: &str) -> Option<DateTime> {
    let (date, time) = s.trim().split_once(' ')?;
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    let dt = DateTime {
        year: d[0].parse().ok()?,
        month: d[1].parse().ok()?,
        day: d[2].parse().ok()?,
        hour: t[0].parse().ok()?,
        minute: t[1].parse().ok()?,
        second: t[2].parse().ok()?,
    };
    let valid = (1980..=2099).contains(&dt.year)
        && (1..=12).contains(&dt.month)
        && (1..=31).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second < 60;
    (valid && DateTime::from_unix(dt.to_unix()) == dt).then_some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        Scenario::from_manifest(m, Path::new("/s"), "t".into())
    }

    #[test]
    fn a_full_manifest_becomes_a_scenario() {
        let s = parse(
            r#"
            drive = "../guests"
            max_ticks = 1000
            [machine]
            cpu = "286"
            memory_kb = 4096
            boot_time = "1992-04-06 09:30:00"
            [xms]
            handles = 64
            [ems]
            enabled = false
            [[program]]
            name = "TSR.COM"
            [[program]]
            name = "CLIENT.COM"
            args = "/x"
            exit_code = 0
            [[input]]
            at_ms = 100
            keys = "A"
            [expect]
            console_contains = ["ok"]
            "#,
        )
        .unwrap();
        assert_eq!(s.machine.model, Model::I80286);
        assert_eq!(s.machine.ram, 4096 * 1024);
        assert_eq!(s.drive_dir, Path::new("/s/../guests"));
        assert_eq!(s.firmware.xms.as_ref().map(|x| x.handles), Some(64));
        assert!(s.firmware.ems.is_none());
        assert_eq!(s.programs[1].args, "/x");
        assert_eq!(s.exit_codes, [None, Some(0)]);
        // 'A' = Shift + 1Eh: four scancodes at 100 ms (2,500,000 ticks at 25 MHz).
        let codes: Vec<_> = s.inputs.iter().map(|&(t, i)| (t, i)).collect();
        assert_eq!(
            codes,
            [
                (2_500_000, Input::Key { scancode: 0x2A }),
                (2_500_000, Input::Key { scancode: 0x1E }),
                (2_500_000, Input::Key { scancode: 0x9E }),
                (2_500_000, Input::Key { scancode: 0xAA }),
            ]
        );
        assert_eq!(s.firmware.dos.boot_time.hour, 9);
    }

    #[test]
    fn mistakes_are_named() {
        let e = parse("drive = \".\"\n[[program]]\nname = \"A.COM\"\n[machine]\ncpu = \"486\"")
            .unwrap_err();
        assert!(e.contains("machine.cpu"), "{e}");
        let e = parse("drive = \".\"\n[ems]\nframe = 0xE100\n[[program]]\nname = \"A.COM\"")
            .unwrap_err();
        assert!(e.contains("[ems]"), "{e}");
        let e = parse("drive = \".\"").unwrap_err();
        assert!(e.contains("no [[program]]"), "{e}");
        let e = parse("drive = \".\"\nbogus = 1\n[[program]]\nname = \"A.COM\"").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = parse(
            "drive = \".\"\n[[program]]\nname = \"A.COM\"\n[[input]]\nat_ms = 1\nkeys = \"\u{e9}\"",
        )
        .unwrap_err();
        assert!(e.contains("input 1"), "{e}");
        assert_eq!(parse_time("1994-02-30 00:00:00"), None);
    }

    const ONE_PROGRAM: &str = "drive = \".\"\n[[program]]\nname = \"A.COM\"\n";

    #[test]
    fn without_a_dpmi_section_there_is_no_dpmi_host() {
        let s = parse(ONE_PROGRAM).unwrap();
        assert_eq!(s.firmware.dpmi, None);
    }

    #[test]
    fn an_empty_dpmi_section_is_the_default_host() {
        let s = parse(&format!("{ONE_PROGRAM}[dpmi]\n")).unwrap();
        // corpora/README.md: max_client_kb defaults to 0 (no limit but the XMS pool).
        assert_eq!(s.firmware.dpmi, Some(DpmiConfig { max_client_kb: 0 }));
        assert_eq!(s.firmware.dpmi, Some(DpmiConfig::default()));
    }

    #[test]
    fn dpmi_max_client_kb_is_read_and_bounded() {
        let dpmi = |kb: &str| parse(&format!("{ONE_PROGRAM}[dpmi]\nmax_client_kb = {kb}\n"));
        let s = dpmi("8192").unwrap();
        assert_eq!(
            s.firmware.dpmi,
            Some(DpmiConfig {
                max_client_kb: 8192
            })
        );
        let s = dpmi("0").unwrap();
        assert_eq!(s.firmware.dpmi, Some(DpmiConfig { max_client_kb: 0 }));
        // 4 GiB in KiB is 4,194,304: the largest allowed value is one less.
        let s = dpmi("4_194_303").unwrap();
        assert_eq!(
            s.firmware.dpmi,
            Some(DpmiConfig {
                max_client_kb: 4_194_303
            })
        );
        for bad in ["4194304", "4294967296", "-1"] {
            let e = dpmi(bad).unwrap_err();
            assert!(e.contains(&format!("dpmi.max_client_kb = {bad}")), "{e}");
            assert!(e.contains("4194303"), "{e}");
        }
    }

    #[test]
    fn unknown_dpmi_keys_are_rejected() {
        let e = parse(&format!("{ONE_PROGRAM}[dpmi]\nmax_client = 64\n")).unwrap_err();
        assert!(e.contains("max_client"), "{e}");
        assert!(e.contains("max_client_kb"), "the known key is offered: {e}");
    }

    #[test]
    fn dpmi_needs_an_80286_or_80386() {
        for cpu in ["8086", "86"] {
            let e = parse(&format!(
                "{ONE_PROGRAM}[machine]\ncpu = \"{cpu}\"\n[dpmi]\n"
            ))
            .unwrap_err();
            assert_eq!(
                e,
                format!("[dpmi] needs an 80286 or 80386 (cpu = \"{cpu}\")")
            );
        }
        for (cpu, model) in [("286", Model::I80286), ("386", Model::I80386)] {
            let s = parse(&format!(
                "{ONE_PROGRAM}[machine]\ncpu = \"{cpu}\"\n[dpmi]\n"
            ))
            .unwrap();
            assert_eq!(s.machine.model, model);
            assert_eq!(s.firmware.dpmi, Some(DpmiConfig::default()));
        }
        // Without [dpmi] an 8086 is fine.
        let s = parse(&format!("{ONE_PROGRAM}[machine]\ncpu = \"8086\"\n")).unwrap();
        assert_eq!(s.firmware.dpmi, None);
    }

    #[test]
    fn checkpoint_interval_zero_is_an_error() {
        let base = "drive = \".\"\n[[program]]\nname = \"A.COM\"\n";
        let e = parse(&format!("checkpoint_interval = 0\n{base}")).unwrap_err();
        assert!(e.contains("checkpoint_interval = 0"), "{e}");
        assert!(e.contains("leave the key out"), "{e}");
        let s = parse(&format!("checkpoint_interval = 1\n{base}")).unwrap();
        assert_eq!(s.checkpoint_interval, Some(1));
        assert_eq!(parse(base).unwrap().checkpoint_interval, None);
    }

    #[test]
    fn tick_counts_are_bounded() {
        let base = "drive = \".\"\n[[program]]\nname = \"A.COM\"\n";
        let e = parse(&format!("max_ticks = 0\n{base}")).unwrap_err();
        assert!(e.contains("max_ticks = 0"), "{e}");
        // TOML integers are 64-bit signed.
        let e = parse(&format!("max_ticks = {}\n{base}", i64::MAX)).unwrap_err();
        assert!(
            e.contains("max_ticks = 9223372036854775807: use 1 to"),
            "{e}"
        );
        let s = parse(&format!("max_ticks = {MAX_TICKS_LIMIT}\n{base}")).unwrap();
        assert_eq!(s.max_ticks, MAX_TICKS_LIMIT);
        let e = parse(&format!("{base}[[input]]\nat_tick = {}\nirq = 1", i64::MAX)).unwrap_err();
        assert!(e.contains("input 1: at_tick"), "{e}");
        // Typing at the last allowed tick at the fastest rate does not overflow.
        let s = parse(&format!(
            "{base}[machine]\nticks_per_second = {}\n[[input]]\nat_ms = {}\nkeys = \"ab\"",
            i64::MAX,
            i64::MAX
        ))
        .unwrap();
        assert_eq!(s.inputs.len(), 4);
        assert!(s.inputs.iter().all(|&(t, _)| t == u64::MAX));
    }

    #[test]
    fn counts_and_strings_are_bounded() {
        let program = "[[program]]\nname = \"A.COM\"\n";
        let vm = "[[vm]]\nname = \"A.COM\"\n";
        let many = |entry: &str, n: usize| format!("drive = \".\"\n[vmm]\n{}", entry.repeat(n));
        assert!(parse(&many(program, MAX_PROGRAMS)).is_err_and(|e| e.contains("[vmm] needs")));
        let e = parse(&many(program, MAX_PROGRAMS + 1)).unwrap_err();
        assert!(e.contains("65 [[program]] entries: at most 64"), "{e}");
        let s = parse(&many(vm, MAX_VMS)).unwrap();
        assert_eq!(s.firmware.vmm.map(|v| v.vms.len()), Some(64));
        let e = parse(&many(vm, MAX_VMS + 1)).unwrap_err();
        assert!(e.contains("65 [[vm]] entries: at most 64"), "{e}");
        let name = "A".repeat(128);
        let e = parse(&format!("drive = \".\"\n[[program]]\nname = \"{name}\"")).unwrap_err();
        assert!(e.contains("program 1: the name has 128 bytes"), "{e}");
        let args = "x".repeat(126);
        let e = parse(&format!(
            "drive = \".\"\n[vmm]\n{vm}[[vm]]\nname = \"B.COM\"\nargs = \"{args}\""
        ))
        .unwrap_err();
        assert!(e.contains("vm 2: args has 126 bytes"), "{e}");
        let ok = format!(
            "drive = \".\"\n[[program]]\nname = \"A.COM\"\nargs = \"{}\"",
            "x".repeat(125)
        );
        assert!(parse(&ok).is_ok());
        // 250,001 typed characters are up to 1,000,004 scancodes.
        let keys = "a".repeat(MAX_MACHINE_INPUTS / 4 + 1);
        let e = parse(&format!(
            "drive = \".\"\n{program}[[input]]\nat_tick = 0\nkeys = \"{keys}\""
        ))
        .unwrap_err();
        assert!(e.contains("input 1: the inputs up to here expand"), "{e}");
    }
}
