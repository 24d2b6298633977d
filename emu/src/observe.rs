//! Observations: what the machine reports to the outside (DESIGN.md section 4).
//!
//! They are domain events, not per-instruction traces: calls into the XMS and EMS drivers
//! and the bottom of the Int 2Fh chain with their results, console output, programs
//! starting, ending and staying resident. The machine queues each with the tick at which it
//! happened ([`crate::machine::Machine::take_observations`]); a recorder stores them in the
//! trace and replay compares them one by one, so the first behavioural difference between
//! two runs (or two builds) is named with its tick.
//!
//! The enum is part of the trace format: variants and fields are only ever appended
//! (bincode encodes the variant index), never reordered or removed.

use serde::{Deserialize, Serialize};

/// General registers around a service call (the 16-bit halves; the XMS 8xh functions'
/// 32-bit results are in the `e*` fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Regs {
    pub ax: u16,
    pub bx: u16,
    pub cx: u16,
    pub dx: u16,
    pub si: u16,
    pub di: u16,
    pub ds: u16,
    pub es: u16,
}

/// One thing the machine reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// A call of the XMS driver entry (function in `input.ax` high byte): registers before
    /// and after. Failure is AX=0 with the error in BL (XMS 3.0).
    Xms { input: Regs, output: Regs },
    /// An Int 67h call reaching the EMS driver; status in `output.ax` high byte.
    Ems { input: Regs, output: Regs },
    /// An Int 2Fh call that reached the end of the chain (DOS), after every hooked handler
    /// passed it on.
    Multiplex { input: Regs, output: Regs },
    /// Bytes written to the console (DOS output and Int 10h teletype), as one service wrote
    /// them.
    Console { bytes: Vec<u8> },
    /// DOS started a program: its PSP segment and DOS path.
    ProgramStart { psp: u16, path: String },
    /// A program ended (AH=4Dh's code and type: 0 normal, 1 Ctrl-C/divide error, 3
    /// resident).
    ProgramExit { psp: u16, code: u8, kind: u8 },
    /// A program stayed resident, keeping `paragraphs` of its PSP block.
    TsrInstalled { psp: u16, paragraphs: u16 },
    /// When the last program has ended: every allocated XMS block with a hash of its
    /// contents, so a golden trace pins the data a run left in extended memory.
    XmsBlocks { blocks: Vec<XmsBlock> },
    /// The VMM's startup broadcast (Int 2Fh AX=1605h) returned this
    /// Win386_Startup_Info_Struc in its chain (the first one is the last handler's).
    VmmStartupEntry(StartupEntry),
    /// A handler of the startup broadcast returned CX != 0: the VMM does not start (it
    /// sends the exit broadcast 1606h at once, as Windows does).
    VmmAborted { cx: u16 },
    /// The TSR identification call (Int 2Fh AX=160Bh) returned this structure in its chain.
    VmmTsrIdentify(TsrIdentity),
    /// The VMM created virtual machine `vm` (1 = the system VM) to run `program` (empty for
    /// the system VM).
    VmCreated { vm: u16, program: String },
    /// The scheduler moved the processor from VM `from` to VM `to`.
    VmSwitch {
        from: u16,
        to: u16,
        reason: SwitchReason,
    },
    /// The program of DOS VM `vm` ended with `code`: the VM is destroyed.
    VmExited { vm: u16, code: u8 },
    /// The VMM has shut down (after the exit broadcasts 1609h and 1606h).
    VmmExit,
    /// Int 21h function `function` was called while function `waiting` of an earlier call
    /// waited for a key inside DOS (InDOS = `indos`): on MS-DOS both would run on the same
    /// internal stack and the waiting call's state would be destroyed. A TSR that switches
    /// tasks or calls DOS from an interrupt without checking InDOS causes this.
    DosReentered {
        function: u8,
        waiting: u8,
        indos: u8,
    },
    /// A DPMI client's Int 31h call (function in `input.ax`): registers before and after
    /// (the low 16 bits; CF set is a failure with the DPMI 1.0 error code in AX).
    Dpmi { input: Regs, output: Regs },
    /// A program entered protected mode through the DPMI host's entry (a 16- or 32-bit
    /// client).
    DpmiStart { psp: u16, bits32: bool },
    /// The DPMI client of `psp` ended (Int 21h AH=4Ch from protected mode, or the host
    /// ended it after an exception) with exit code `code`.
    DpmiExit { psp: u16, code: u8 },
    /// The client raised processor exception `vector` (with error code `code`, 0 if the
    /// exception has none) at `cs:eip` and had no handler: the host ended it.
    DpmiFault {
        vector: u8,
        code: u32,
        cs: u16,
        eip: u32,
    },
    /// The VMM opened the VxD file a startup structure named (`file`, as the structure's
    /// `SIS_Virt_Dev_File_Ptr` spells it) on drive C: and checked it as Windows' loader
    /// would (KB Q74516): an MZ program whose new header is an LE module, or why not
    /// (`crate::firmware::vmm::vxd`). Follows that structure's `VmmStartupEntry`.
    VxdChecked {
        file: String,
        result: crate::firmware::vmm::vxd::VxdCheck,
    },
    /// A device driver's INIT request returned (CONFIG.SYS `DEVICE=`, file `file`): its
    /// header at `seg:off` with its attribute word and 8-byte name field, the request's
    /// status word, the units a block driver reported and the break address. `installed`:
    /// DOS linked the header into the device chain (see `firmware/dos/sysinit.rs`).
    DriverLoaded {
        file: String,
        seg: u16,
        off: u16,
        attributes: u16,
        name: Vec<u8>,
        status: u16,
        units: u8,
        break_seg: u16,
        break_off: u16,
        installed: bool,
    },
    /// DOS sent a request to the driver whose header is at `seg:off` (name field `name`)
    /// and the driver's interrupt routine returned: the unit, the command code and the
    /// status word it left (bit 15 error with the code in bits 0-7, bit 9 busy, bit 8
    /// done).
    DeviceRequest {
        seg: u16,
        off: u16,
        name: Vec<u8>,
        unit: u8,
        command: u8,
        status: u16,
    },
}

/// Why the VMM's scheduler switched VMs (DESIGN.md section 7; dos-memory.md section 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SwitchReason {
    /// The VMM started: the first DOS VM gets the processor.
    Start,
    /// The running VM used up its time slice (counted in timer interrupts).
    SliceEnd,
    /// The running VM halted with interrupts enabled (idle) while another could run.
    Idle,
    /// The running VM released its time slice (Int 2Fh AX=1680h).
    Yield,
    /// The running VM reached the bottom of Int 28h (DOS idle) while another could run.
    DosIdle,
    /// A keystroke arrived for the VM with the keyboard focus.
    Input,
    /// The running VM's program ended.
    Exited,
}

impl SwitchReason {
    /// A short stable name.
    pub fn name(self) -> &'static str {
        match self {
            SwitchReason::Start => "start",
            SwitchReason::SliceEnd => "slice-end",
            SwitchReason::Idle => "idle",
            SwitchReason::Yield => "yield",
            SwitchReason::DosIdle => "dos-idle",
            SwitchReason::Input => "input",
            SwitchReason::Exited => "exited",
        }
    }
}

/// One Win386_Startup_Info_Struc (DDK 3.1, RBIL #02631) as the VMM read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartupEntry {
    /// Where it lies, segment and offset.
    pub seg: u16,
    pub off: u16,
    /// `SIS_Version`: major in the low byte, minor in the high byte (0A03h = 3.10).
    pub version: u16,
    /// The ASCIZ file `SIS_Virt_Dev_File_Ptr` names (lossy text), if the pointer is not 0:0.
    pub vxd_file: Option<String>,
    pub reference_data: u32,
    /// The `Instance_Item_Struc` list: (segment, offset, size) of each range instanced per
    /// VM.
    pub instance: Vec<(u16, u16, u16)>,
}

/// One TSR identification structure of Int 2Fh AX=160Bh (RBIL #02638).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsrIdentity {
    pub seg: u16,
    pub off: u16,
    pub psp: u16,
    pub version: u16,
    pub exec_flags: u16,
    /// `exec_cmd_show` (SW_HIDE = 0 ... SW_RESTORE = 9).
    pub show: u16,
    /// The command line to execute (lossy text), if its pointer is not 0:0.
    pub command: Option<String>,
    /// The name in the TSR ID block (lossy text).
    pub name: Option<String>,
    /// The far pointer to the TSR's data block (0 = none).
    pub data: u32,
}

/// One extended memory block at the end of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmsBlock {
    pub handle: u16,
    pub size_kb: u32,
    pub locks: u8,
    /// xxh3-64 of the block's bytes.
    pub hash: u64,
}

impl Observation {
    /// A short name for the kind (stable; used in dumps and reports).
    pub fn kind(&self) -> &'static str {
        match self {
            Observation::Xms { .. } => "xms",
            Observation::Ems { .. } => "ems",
            Observation::Multiplex { .. } => "int2f",
            Observation::Console { .. } => "console",
            Observation::ProgramStart { .. } => "start",
            Observation::ProgramExit { .. } => "exit",
            Observation::TsrInstalled { .. } => "tsr",
            Observation::XmsBlocks { .. } => "xms-blocks",
            Observation::VmmStartupEntry(_) => "vmm-startup",
            Observation::VmmAborted { .. } => "vmm-aborted",
            Observation::VmmTsrIdentify(_) => "vmm-tsr",
            Observation::VmCreated { .. } => "vm-created",
            Observation::VmSwitch { .. } => "vm-switch",
            Observation::VmExited { .. } => "vm-exited",
            Observation::VmmExit => "vmm-exit",
            Observation::DosReentered { .. } => "dos-reentered",
            Observation::Dpmi { .. } => "dpmi",
            Observation::DpmiStart { .. } => "dpmi-start",
            Observation::DpmiExit { .. } => "dpmi-exit",
            Observation::DpmiFault { .. } => "dpmi-fault",
            Observation::VxdChecked { .. } => "vxd",
            Observation::DriverLoaded { .. } => "driver",
            Observation::DeviceRequest { .. } => "device",
        }
    }
}

impl std::fmt::Display for Observation {
    /// One line: the kind and its details, e.g. `xms AH=09 in AX=0900 BX=0000 DX=0040 ->
    /// AX=0001 BX=0000 DX=ABCD`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let regs = |f: &mut std::fmt::Formatter<'_>, r: &Regs| {
            write!(
                f,
                "AX={:04X} BX={:04X} CX={:04X} DX={:04X} SI={:04X} DI={:04X} DS={:04X} ES={:04X}",
                r.ax, r.bx, r.cx, r.dx, r.si, r.di, r.ds, r.es
            )
        };
        match self {
            Observation::Xms { input, output }
            | Observation::Ems { input, output }
            | Observation::Multiplex { input, output }
            | Observation::Dpmi { input, output } => {
                write!(f, "{} ", self.kind())?;
                regs(f, input)?;
                write!(f, " -> ")?;
                regs(f, output)
            }
            Observation::Console { bytes } => {
                write!(f, "console \"")?;
                for &b in bytes {
                    match b {
                        b'\r' => write!(f, "\\r")?,
                        b'\n' => write!(f, "\\n")?,
                        b'"' => write!(f, "\\\"")?,
                        b'\\' => write!(f, "\\\\")?,
                        0x20..=0x7E => write!(f, "{}", char::from(b))?,
                        _ => write!(f, "\\x{b:02x}")?,
                    }
                }
                write!(f, "\"")
            }
            Observation::ProgramStart { psp, path } => write!(f, "start PSP={psp:04X} {path}"),
            Observation::ProgramExit { psp, code, kind } => {
                write!(f, "exit PSP={psp:04X} code={code} type={kind}")
            }
            Observation::TsrInstalled { psp, paragraphs } => {
                write!(f, "tsr PSP={psp:04X} keeps {paragraphs:04X}h paragraphs")
            }
            Observation::XmsBlocks { blocks } => {
                write!(f, "xms-blocks {}", blocks.len())?;
                for b in blocks {
                    write!(
                        f,
                        " [handle {:04X} {} KB locks {} xxh3 {:016x}]",
                        b.handle, b.size_kb, b.locks, b.hash
                    )?;
                }
                Ok(())
            }
            Observation::VmmStartupEntry(e) => {
                write!(
                    f,
                    "vmm-startup struct at {:04X}:{:04X} version {}.{:02} vxd {} reference {:08X}h instance",
                    e.seg,
                    e.off,
                    e.version & 0xFF,
                    e.version >> 8,
                    e.vxd_file.as_deref().unwrap_or("none"),
                    e.reference_data
                )?;
                if e.instance.is_empty() {
                    write!(f, " none")?;
                }
                for (s, o, n) in &e.instance {
                    write!(f, " {s:04X}:{o:04X}+{n:04X}h")?;
                }
                Ok(())
            }
            Observation::VmmAborted { cx } => {
                write!(f, "vmm-aborted: a startup handler returned CX={cx:04X}h")
            }
            Observation::VmmTsrIdentify(t) => write!(
                f,
                "vmm-tsr struct at {:04X}:{:04X} PSP={:04X} version {:04X}h flags {:04X}h show {} name {} command {} data {:04X}:{:04X}",
                t.seg,
                t.off,
                t.psp,
                t.version,
                t.exec_flags,
                t.show,
                t.name.as_deref().unwrap_or("none"),
                t.command.as_deref().unwrap_or("none"),
                t.data >> 16,
                t.data & 0xFFFF
            ),
            Observation::VmCreated { vm, program } if program.is_empty() => {
                write!(f, "vm-created VM {vm} (system VM)")
            }
            Observation::VmCreated { vm, program } => {
                write!(f, "vm-created VM {vm} runs {program}")
            }
            Observation::VmSwitch { from, to, reason } => {
                write!(f, "vm-switch VM {from} -> VM {to} ({})", reason.name())
            }
            Observation::VmExited { vm, code } => write!(f, "vm-exited VM {vm} code={code}"),
            Observation::VmmExit => write!(f, "vmm-exit"),
            Observation::DosReentered {
                function,
                waiting,
                indos,
            } => write!(
                f,
                "dos-reentered: Int 21h AH={function:02X}h called while AH={waiting:02X}h waits inside DOS (InDOS={indos})"
            ),
            Observation::DpmiStart { psp, bits32 } => write!(
                f,
                "dpmi-start PSP={psp:04X} {}-bit client",
                if *bits32 { 32 } else { 16 }
            ),
            Observation::DpmiExit { psp, code } => write!(f, "dpmi-exit PSP={psp:04X} code={code}"),
            Observation::DpmiFault {
                vector,
                code,
                cs,
                eip,
            } => write!(
                f,
                "dpmi-fault: {} (exception {vector:02X}h) at {cs:04X}:{eip:08X}, error code {code:04X}h",
                crate::firmware::exception_name(*vector)
            ),
            Observation::VxdChecked { file, result } => write!(f, "vxd {file}: {result}"),
            Observation::DriverLoaded {
                file,
                seg,
                off,
                attributes,
                name,
                status,
                units,
                break_seg,
                break_off,
                installed,
            } => write!(
                f,
                "driver {file}: \"{}\" at {seg:04X}:{off:04X} attributes={attributes:04X} \
                 status={status:04X} units={units} break={break_seg:04X}:{break_off:04X} {}",
                name_text(name),
                if *installed {
                    "installed"
                } else {
                    "not installed"
                }
            ),
            Observation::DeviceRequest {
                seg,
                off,
                name,
                unit,
                command,
                status,
            } => write!(
                f,
                "device \"{}\" at {seg:04X}:{off:04X} unit={unit} command={command:02X}h \
                 status={status:04X}",
                name_text(name)
            ),
        }
    }
}

/// A device name field as text (printable ASCII; other bytes as `\xNN`).
fn name_text(name: &[u8]) -> String {
    name.iter()
        .map(|&b| match b {
            0x20..=0x7E if b != b'"' && b != b'\\' => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stable_text() {
        let o = Observation::Console {
            bytes: b"ok\r\n\"\x01".to_vec(),
        };
        assert_eq!(o.to_string(), r#"console "ok\r\n\"\x01""#);
        let o = Observation::ProgramExit {
            psp: 0x1234,
            code: 3,
            kind: 0,
        };
        assert_eq!(o.to_string(), "exit PSP=1234 code=3 type=0");
        let o = Observation::DeviceRequest {
            seg: 0x0170,
            off: 0,
            name: b"DRV$\x01   ".to_vec(),
            unit: 0,
            command: 8,
            status: 0x0100,
        };
        assert_eq!(
            o.to_string(),
            "device \"DRV$\\x01   \" at 0170:0000 unit=0 command=08h status=0100"
        );
    }
}
