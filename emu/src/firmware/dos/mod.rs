//! DOS 5 in Rust: the Int 20h-2Fh entry points, InDOS and the critical-error flag, console
//! I/O, date and time, interrupt vectors, version, and the dispatch to memory
//! (`memory.rs`), programs (`process.rs`) and files (`files/`, on drive C:, `drive.rs`).
//! At boot it processes `C:\CONFIG.SYS` (`config.rs` parses it, `sysinit.rs` acts on it)
//! and loads the device drivers it names; their character devices are reached by name
//! through the handle functions, which send requests to the driver's own routines as
//! guest code (`device.rs`).
//!
//! Sources: RBIL INT 20-2F (function by function), `../shared/reference/dos-memory.md`
//! section 5.1 (InDOS, the critical-error flag, PSP, memory functions) and section 4.5 (how
//! a VMM reads InDOS and Int 28h). Behaviour follows MS-DOS 5.0 (version 5.00, no UMBs;
//! DOS low, or in the HMA with CONFIG.SYS `DOS=HIGH`: `hma.rs`).
//!
//! InDOS counts active Int 21h calls and sits in the swappable data area (`sda.rs`, AX=5D06h)
//! with the critical-error flag in the byte before it (AH=34h returns its address); the
//! SDA in guest memory also holds the current PSP and DTA, the last error, the return code
//! and the break flag, and is the only copy of them. Functions that wait for the
//! keyboard (01h, 07h, 08h, 0Ah, 0Ch with those, 3Fh on CON) leave InDOS raised and loop in
//! guest code: `STI`, Int 28h (the DOS idle call TSRs hook), `HLT` until the next
//! interrupt, then try again, so a TSR sees InDOS = 1 and Int 28h calls exactly while DOS
//! waits for a key. (MS-DOS polls without `HLT`; halting until the next interrupt issues
//! Int 28h once per interrupt instead of thousands of times, and lets the machine skip
//! the idle time.)
//!
//! DOS's internal tables (the List of Lists of 52h, the device chain from NUL, the drive
//! parameter blocks of 1Fh/32h, the current directory structures) are real structures in
//! guest memory (`tables.rs`). Block device drivers' units get drives after C: and serve
//! absolute disk I/O, Int 25h/26h (`block.rs`).
//!
//! DOS is the bottom of the firmware's software layers: it calls the BIOS and none of the
//! drivers (it only asks whether an EMM is installed, to open its `EMMXXXX0` device), the
//! DPMI host, the VMM or the shell. Its code segment holds the stubs of Int 20h-2Fh and
//! the shell's loop, but the firmware (`../mod.rs`) hands three kinds of trap in it to the
//! layers above (and starts the shell when the CONFIG.SYS loop's `SYSINIT_NEXT` finds no
//! line left): the shell's `SHELL_NEXT` and `SHELL_DONE` (COMMAND.COM's role,
//! `../shell.rs`), and the bottoms of Int 2Fh and Int 28h (`../multiplex.rs`: XMS 43h,
//! DPMI 1687h and the VMM's 16xxh; DOS idle as a switch point for the VMM). Int 2Fh calls
//! with other function numbers come back here ([`int2f`]: 4A01h/4A02h, the HMA's free
//! space under `DOS=HIGH`).
//! The VMM uses DOS in turn: [`DosInstance`] is the state it swaps at every VM switch, and
//! it takes and names memory blocks through `memory.rs`.
//!
//! Function numbers with no DOS 5 function (everything above 6Ch, such as the Windows 95
//! long-file-name functions 71xxh; 61h and 6Bh, which RBIL lists as null functions
//! returning AL = 00h) answer as MS-DOS's dispatcher does: AL = 00h, every other register
//! and FLAGS (CF included) as the caller left them. Sources:
//! the MS-DOS 2.0 source (MSCODE.ASM, `CMP AH,MAXCOM / JBE SAVREGS / BADCALL: MOV AL,0 /
//! IRET`: the IRET pops the caller's FLAGS), Microsoft's Windows 95 SDK on long file
//! names on down-level systems ("the system sets the AL register to zero but leaves the
//! AH register and the carry flag unchanged", so AX=716Ch returns AX=7100h), and RBIL INT
//! 21/AH=71h ("for compatibility with DOS versions prior to v7.00, the carry flag should
//! be set on call to ensure that it is set on exit").
//!
//! Country and code page information (38h, 65h, 66h) is the United States' with code page
//! 437, in tables in guest memory (`country.rs`); 5Ah (temporary file) and 67h (set
//! handle count) are in `files/`.
//!
//! Not provided (CF set, AX = 0001h, see `NOT_PROVIDED`): 53h (translate BPB), 55h
//! (create child PSP), 5Ch (record locks: MS-DOS too answers 01h without SHARE), 5Dh
//! other than 5D06h (swappable data area) and 5D0Ah (set extended error): the server
//! call, SHARE and network printer functions, and 5D0Bh, which only DOS 4.x has (RBIL),
//! 5Eh/5Fh (network: 01h without a network, as MS-DOS), 60h (truename), 63h (DBCS lead
//! bytes), 69h (disk serial number). FCB file functions fail with AL=FFh. No Ctrl-C
//! checking.

pub mod block;
pub mod config;
pub mod country;
pub mod device;
pub mod drive;
pub mod files;
pub mod hma;
pub mod memory;
pub mod process;
pub mod sda;
pub(crate) mod sysinit;
pub mod tables;

use serde::{Deserialize, Serialize};

use super::bios::{self, DateTime};
use super::stubs::{Asm, DOS_CODE_SEG, DOS_DATA_SEG, FIRST_MCB_SEG, INDOS_OFF, svc};
use super::{Ctx, Firmware, Flow, Program, Termination};
use crate::cpu::{Reg16, SegReg};
use crate::observe::Observation;
pub use drive::DriveC;
use memory::Arena;
use process::Ending;
pub use sysinit::CONFIG_FILE;

/// The top of conventional memory (640 KiB) as a segment.
const CONVENTIONAL_TOP: u16 = 0xA000;

/// Bytes of the key-wait loop stub.
const WAIT_LOOP_LEN: u16 = 10;

/// DOS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DosConfig {
    /// The wall-clock date and time at tick 0.
    pub boot_time: DateTime,
}

/// Offsets of the DOS entry stubs in [`DOS_CODE_SEG`].
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct DosStubs {
    pub int21: u16,
    /// The `IRET` after the Int 21h trap.
    pub int21_iret: u16,
    /// The wait loop of functions that need a key.
    pub int21_wait: u16,
    pub shell: u16,
    pub call5: u16,
    /// The device request stub and the CONFIG.SYS loop (`device.rs`, `sysinit.rs`).
    pub device: device::DeviceStubs,
}

/// How an Int 21h function ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DosCode {
    /// Returned to the caller.
    Done,
    /// Needs a key: wait in the stub's loop, then run again.
    Wait,
    /// Control went elsewhere (a program started or ended).
    Switched,
    /// A driver is answering the function's request (InDOS stays raised until it has).
    Device,
    /// Not a DOS 5 function: AL = 00h, everything else (CF too) as the caller left it.
    Unsupported,
}

/// DOS's state (the rest lives in guest memory: PSPs, MCBs, InDOS).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dos {
    pub(crate) drive: DriveC,
    /// The system file table: open files and devices (see `files/`).
    pub(crate) files: files::FileTable,
    pub(crate) arena: Arena,
    pub(crate) stubs: DosStubs,
    /// CONFIG.SYS processing at boot (`sysinit.rs`).
    pub(crate) sysinit: sysinit::Sysinit,
    /// The programs of CONFIG.SYS's `INSTALL=` lines, which the shell runs first, and how
    /// many it has started.
    pub(crate) installs: Vec<Program>,
    pub(crate) installs_started: usize,
    /// The XMS driver's entry point as Int 2Fh AX=4310h gave it after CONFIG.SYS (found
    /// when `DOS=HIGH` was given or the built-in XMS driver is off; `sysinit.rs`).
    pub(crate) xms_entry: Option<(u16, u16)>,
    /// DOS's hold on the HMA under `DOS=HIGH` (`hma.rs`).
    pub(crate) high: Option<hma::Hma>,
    /// The units of block drivers from CONFIG.SYS, with their drives (`block.rs`).
    pub(crate) block_units: Vec<block::Unit>,
    /// The state each virtual machine has its own copy of under the VMM.
    pub(crate) instance: DosInstance,
}

/// The part of DOS's state that belongs to one virtual machine: under the VMM each VM has
/// its own (Windows' DOSMGR instances DOS's swappable data area per VM), swapped at every
/// VM switch together with InDOS in guest memory (see `vmm/`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct DosInstance {
    /// The swappable data area's bytes 02h-19h (current PSP and DTA, the last error, the
    /// return code, the current drive, the break flag) while this instance is not the
    /// running one; the running instance's live in guest memory (`sda.rs`).
    pub(crate) sda: Vec<u8>,
    /// The programs the shell runs, and how each has ended so far.
    pub(crate) programs: Vec<Program>,
    pub(crate) terminations: Vec<Termination>,
    pub(crate) shell_psp: u16,
    /// The scancode of an extended key whose ASCII 0 was already returned.
    pub(crate) pending_scan: Option<u8>,
    /// The line AH=0Ah is editing while it waits for keys.
    pub(crate) line: Vec<u8>,
    pub(crate) verify: bool,
    /// The function of the Int 21h call waiting for a key (InDOS stays raised meanwhile).
    pub(crate) waiting: Option<u8>,
    /// The Int 21h call waiting for a driver's answer (`device.rs`).
    pub(crate) request: Option<device::Pending>,
    /// The shell's `EXEC` running is of a CONFIG.SYS `INSTALL=` program.
    pub(crate) running_install: bool,
}

impl DosInstance {
    /// A fresh instance whose shell runs `programs`.
    pub(crate) fn for_programs(programs: Vec<Program>) -> DosInstance {
        DosInstance {
            sda: sda::fresh_instance(),
            programs,
            ..DosInstance::default()
        }
    }

    /// A VM's instance: its shell runs `program`.
    pub(crate) fn for_program(program: Program) -> DosInstance {
        DosInstance::for_programs(vec![program])
    }
}

impl Dos {
    pub fn new(_config: &DosConfig, drive: DriveC, programs: Vec<Program>) -> Dos {
        Dos {
            drive,
            files: files::FileTable::new(),
            arena: Arena {
                first: FIRST_MCB_SEG,
                strategy: 0,
            },
            stubs: DosStubs::default(),
            sysinit: sysinit::Sysinit::default(),
            installs: Vec::new(),
            installs_started: 0,
            xms_entry: None,
            high: None,
            block_units: Vec::new(),
            instance: DosInstance::for_programs(programs),
        }
    }

    /// Whether `cs:ip` lies in the loop where a DOS call waits for a key (`STI`, Int 28h,
    /// `HLT`, then the retry trap).
    pub(crate) fn in_wait_loop(&self, cs: u16, ip: u16) -> bool {
        cs == DOS_CODE_SEG
            && (self.stubs.int21_wait..self.stubs.int21_wait + WAIT_LOOP_LEN).contains(&ip)
    }

    pub fn shell_terminations(&self) -> &[Termination] {
        &self.instance.terminations
    }

    pub fn drive(&self) -> &DriveC {
        &self.drive
    }

    /// The drive C: key of a guest path (ASCIZ bytes without the NUL), or a DOS error.
    pub(crate) fn resolve_path(&self, name: &[u8]) -> Result<String, u16> {
        self.drive.resolve_file(name)
    }
}

/// The text of DOS error code `code`.
pub fn error_text(code: u16) -> &'static str {
    match code {
        0x01 => "function number invalid",
        0x02 => "file not found",
        0x03 => "path not found",
        0x04 => "too many open files",
        0x05 => "access denied",
        0x06 => "invalid handle",
        0x07 => "memory control blocks destroyed",
        0x08 => "insufficient memory",
        0x09 => "memory block address invalid",
        0x0A => "environment invalid",
        0x0B => "format invalid",
        0x0C => "access code invalid",
        0x0D => "data invalid",
        0x0F => "invalid drive",
        0x10 => "attempted to remove current directory",
        0x11 => "not same device",
        0x12 => "no more files",
        0x13 => "disk write-protected",
        0x50 => "file exists",
        _ => "unknown error",
    }
}

/// Success of an Int 21h function: CF clear in the caller's FLAGS.
pub(crate) fn ok(ctx: &mut Ctx) {
    ctx.set_cf(false);
}

/// Failure of an Int 21h function: CF set, AX = DOS error code.
pub(crate) fn fail(ctx: &mut Ctx, code: u16) {
    ctx.set_ax(code);
    ctx.set_cf(true);
}

/// Places DOS in guest memory: entry stubs, data, vectors, the memory arena.
pub(crate) fn install(fw: &mut Firmware, ctx: &mut Ctx) {
    let mut a = Asm::new(DOS_CODE_SEG, 0);
    let mut stubs = DosStubs::default();
    let int20 = a.here();
    a.trap(svc::dos(0x20)).iret();
    stubs.int21 = a.here();
    a.trap(svc::dos(0x21));
    stubs.int21_iret = a.here();
    a.iret();
    stubs.int21_wait = a.here();
    a.sti().int(0x28).hlt().cli().trap(svc::INT21_RESUME).iret();
    debug_assert_eq!(a.here() - stubs.int21_wait, WAIT_LOOP_LEN);
    let int23 = a.here();
    a.trap(svc::dos(0x23)).iret();
    let int24 = a.here();
    a.raw(&[0xB0, 0x03]).iret(); // mov al,3 (fail the call); iret
    let int25 = a.here();
    a.trap(svc::dos(0x25)).retf();
    let int26 = a.here();
    a.trap(svc::dos(0x26)).retf();
    let int27 = a.here();
    a.trap(svc::dos(0x27)).iret();
    let idle = a.here();
    a.iret();
    let int28 = a.here();
    a.trap(svc::DOS_IDLE).iret();
    let int29 = a.here();
    a.trap(svc::dos(0x29)).iret();
    let int2f = a.here();
    a.trap(svc::dos(0x2F)).iret();
    stubs.call5 = a.here();
    a.trap(svc::CALL5).int(0x21).retf();
    let divide = a.here();
    a.trap(svc::DIVIDE_ERROR).iret();
    stubs.shell = a.here();
    a.trap(svc::SHELL_NEXT).int(0x21).trap(svc::SHELL_DONE);
    a.jmp_short(stubs.shell);
    stubs.device.routines = a.here();
    a.raw(&[0; 8]);
    let routines = stubs.device.routines;
    // A request to a driver: its strategy routine, then its interrupt routine.
    let call_driver = |a: &mut Asm| {
        a.call_far_cs(routines).call_far_cs(routines + 4);
    };
    stubs.device.call = a.here();
    call_driver(&mut a);
    a.trap(svc::DEVICE_DONE).iret();
    stubs.device.sysinit = a.here();
    a.trap(svc::SYSINIT_NEXT);
    call_driver(&mut a);
    a.trap(svc::SYSINIT_DONE);
    a.jmp_short(stubs.device.sysinit);
    stubs.device.disk = a.here();
    call_driver(&mut a);
    a.trap(svc::DEVICE_DONE).retf();
    stubs.device.xms_step = a.here();
    a.trap(svc::SYSINIT_XMS).int(0x2F);
    a.jmp_short(stubs.device.xms_step);
    stubs.device.xms_entry = a.here();
    a.raw(&[0; 4]);
    stubs.device.xms_call = a.here();
    a.call_far_cs(stubs.device.xms_entry);
    a.jmp_short(stubs.device.xms_step);
    debug_assert!(a.bytes.len() <= 0x300);
    ctx.place(&a);
    fw.dos.stubs = stubs;

    sda::install(ctx);
    country::install(ctx);
    for (v, off) in [
        (0x00u8, divide),
        (0x20, int20),
        (0x21, stubs.int21),
        (0x22, idle),
        (0x23, int23),
        (0x24, int24),
        (0x25, int25),
        (0x26, int26),
        (0x27, int27),
        (0x28, int28),
        (0x29, int29),
        (0x2A, idle),
        (0x2E, idle),
        (0x2F, int2f),
    ] {
        ctx.set_vector(v, DOS_CODE_SEG, off);
    }
    // The CP/M entry: PSP:0005 calls 1000C0h, which wraps to 000C0h (vectors 30h/31h)
    // where DOS puts a far jump (RBIL INT 30).
    let mut j = Asm::new(0, 0xC0);
    j.jmp_far(DOS_CODE_SEG, stubs.call5);
    ctx.place(&j);
    fw.dos.arena = Arena::format(ctx, FIRST_MCB_SEG, CONVENTIONAL_TOP);
    tables::install(ctx, FIRST_MCB_SEG);
}

pub(crate) fn indos(ctx: &Ctx) -> u8 {
    ctx.rd8(DOS_DATA_SEG, INDOS_OFF)
}

pub(crate) fn set_indos(ctx: &mut Ctx, v: u8) {
    ctx.wr8(DOS_DATA_SEG, INDOS_OFF, v);
}

/// Runs DOS trap `service` (not the shell's traps, Int 28h's or Int 2Fh's: see the module
/// documentation).
pub(crate) fn service(fw: &mut Firmware, service: u16, ctx: &mut Ctx) -> Flow {
    match service {
        s if s == svc::dos(0x21) => {
            let before = indos(ctx);
            if let Some(waiting) = fw.dos.instance.waiting
                && before != 0
                && unsafe_reentry(waiting, ctx.ah())
            {
                let function = ctx.ah();
                fw.observe(
                    ctx,
                    Observation::DosReentered {
                        function,
                        waiting,
                        indos: before,
                    },
                );
            }
            let n = before.wrapping_add(1);
            set_indos(ctx, n);
            let ax = ctx.ax();
            sda::set_call_ax(ctx, ax);
            // DOS saves the caller's SS:SP in its PSP on every call (PSP:2Eh).
            let psp = sda::current_psp(ctx);
            if psp != 0 {
                let sp = ctx.cpu.reg16(Reg16::SP);
                let ss = ctx.cpu.sreg(SegReg::SS);
                ctx.wr16(psp, process::PSP_SAVED_SP, sp);
                ctx.wr16(psp, process::PSP_SAVED_SP + 2, ss);
            }
            finish_int21(fw, ctx);
        }
        svc::INT21_RESUME => finish_int21(fw, ctx),
        svc::DEVICE_DONE => device::done(fw, ctx),
        svc::SYSINIT_DONE => sysinit::done(fw, ctx),
        s if s == svc::dos(0x20) => {
            process::terminate(fw, ctx, Ending::Exit(0));
        }
        s if s == svc::dos(0x23) => {
            process::terminate(fw, ctx, Ending::Abort);
        }
        s if s == svc::dos(0x25) || s == svc::dos(0x26) => {
            // Absolute disk read/write: through a block driver's unit (`block.rs`).
            block::absolute(fw, ctx, s == svc::dos(0x26));
        }
        s if s == svc::dos(0x27) => {
            let paras = ctx.dx().div_ceil(16).max(1);
            process::terminate(fw, ctx, Ending::Resident { code: 0, paras });
        }
        s if s == svc::dos(0x29) => {
            let c = ctx.al();
            bios::teletype(fw, ctx, c);
        }
        svc::CALL5 => {
            // Turn the CP/M call's stack (far return into the PSP, then the near return)
            // into a far return to the caller; the stub then issues Int 21h with AH = CL.
            let ss = ctx.cpu.sreg(SegReg::SS);
            let sp = ctx.cpu.reg16(Reg16::SP);
            let psp_seg = ctx.rd16(ss, sp.wrapping_add(2));
            let near = ctx.rd16(ss, sp.wrapping_add(4));
            ctx.wr16(ss, sp.wrapping_add(2), near);
            ctx.wr16(ss, sp.wrapping_add(4), psp_seg);
            ctx.cpu.set_reg16(Reg16::SP, sp.wrapping_add(2));
            let f = ctx.cl();
            ctx.set_ah(f);
        }
        svc::DIVIDE_ERROR => {
            for &b in b"\r\nDivide overflow\r\n" {
                bios::teletype(fw, ctx, b);
            }
            process::terminate(fw, ctx, Ending::Abort);
        }
        _ => {}
    }
    Flow::Continue
}

/// Runs the Int 21h function in the registers and settles InDOS and the return path.
fn finish_int21(fw: &mut Firmware, ctx: &mut Ctx) {
    let ah = ctx.ah();
    match int21(fw, ctx) {
        DosCode::Wait => {
            fw.dos.instance.waiting = Some(ah);
            ctx.jump(DOS_CODE_SEG, fw.dos.stubs.int21_wait)
        }
        DosCode::Device => {}
        code => {
            if fw.dos.instance.waiting.is_some() && indos(ctx) == 1 {
                fw.dos.instance.waiting = None;
            }
            let n = indos(ctx).saturating_sub(1);
            set_indos(ctx, n);
            // CF here is the function's error report, except after an unsupported
            // function, which leaves the caller's CF alone.
            if code == DosCode::Done && ah >= 0x2F && ctx.cpu.flags() & 1 != 0 {
                let e = ctx.ax();
                sda::set_last_error(ctx, e);
            }
        }
    }
}

/// Whether an Int 21h call of function `inner` while function `waiting` waits for a key
/// (InDOS raised) breaks MS-DOS: the character functions 01h-0Ch run on DOS's I/O stack,
/// the one the waiting call is using (a TSR in Int 28h may call the others, which use the
/// disk stack; RBIL INT 28, dos-memory.md section 5.1). Functions 3Fh/40h on a device that
/// waits use the disk stack, so then every function above 0Ch breaks it too.
fn unsafe_reentry(waiting: u8, inner: u8) -> bool {
    if (0x01..=0x0C).contains(&waiting) {
        (0x01..=0x0C).contains(&inner)
    } else {
        inner > 0x0C
    }
}

/// The next character for the console input functions: ASCII, or 0 then the scancode
/// for an extended key.
fn next_char(fw: &mut Firmware, ctx: &mut Ctx) -> Option<u8> {
    if let Some(scan) = fw.dos.instance.pending_scan.take() {
        return Some(scan);
    }
    let word = bios::pop_key(ctx)?;
    let ascii = word as u8;
    if ascii == 0 || ascii == 0xE0 {
        fw.dos.instance.pending_scan = Some((word >> 8) as u8);
        return Some(0);
    }
    Some(ascii)
}

fn key_ready(fw: &Firmware, ctx: &Ctx) -> bool {
    fw.dos.instance.pending_scan.is_some() || bios::peek_key(ctx).is_some()
}

/// Character output of the console functions (02h, 06h, 09h and the echo of 01h and
/// 0Ah): DOS writes it to standard output, handle 1, so it follows a redirection (46h).
/// A closed handle 1 swallows it, as on DOS.
fn echo(fw: &mut Firmware, ctx: &mut Ctx, bytes: &[u8]) {
    if sda::current_psp(ctx) == 0 {
        // No process yet (a driver's INIT): DOS writes to CON.
        files::write_console(fw, ctx, bytes);
    } else {
        let _ = files::write_handle(fw, ctx, 1, bytes);
    }
}

/// AH=0Ah: buffered keyboard input into the buffer at DS:DX.
fn buffered_input(fw: &mut Firmware, ctx: &mut Ctx) -> DosCode {
    let (ds, dx) = (ctx.ds(), ctx.dx());
    let max = ctx.rd8(ds, dx);
    if max == 0 {
        return DosCode::Done;
    }
    while let Some(c) = next_char(fw, ctx) {
        match c {
            0x0D => {
                let line = std::mem::take(&mut fw.dos.instance.line);
                ctx.wr8(ds, dx.wrapping_add(1), line.len() as u8);
                ctx.write_bytes(ds, dx.wrapping_add(2), &line);
                ctx.wr8(ds, dx.wrapping_add(2 + line.len() as u16), 0x0D);
                echo(fw, ctx, b"\r");
                return DosCode::Done;
            }
            0x08 => {
                if fw.dos.instance.line.pop().is_some() {
                    echo(fw, ctx, b"\x08 \x08");
                }
            }
            0 => {
                // An extended key: drop its scancode too.
                let _ = next_char(fw, ctx);
            }
            _ if fw.dos.instance.line.len() + 1 < usize::from(max) => {
                fw.dos.instance.line.push(c);
                echo(fw, ctx, &[c]);
            }
            _ => echo(fw, ctx, b"\x07"),
        }
    }
    DosCode::Wait
}

/// Applies a new wall-clock time: sets the real-time clock (as DOS's CLOCK$ driver does
/// through Int 1Ah AH=03h and 05h).
fn set_wall_clock(ctx: &mut Ctx, t: DateTime) {
    bios::set_clock(ctx, &t);
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// MS-DOS 5 functions vexed does not provide: they fail with CF set and AX = 0001h
/// (invalid function). For 5Ch (no SHARE) and 5Eh/5Fh (no network) that is MS-DOS's own
/// answer. Every other function number not handled here or in `files/` is not a DOS 5
/// function and answers AL = 00h (see the module header).
const NOT_PROVIDED: [u8; 9] = [0x53, 0x55, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x63, 0x69];

/// One Int 21h function.
fn int21(fw: &mut Firmware, ctx: &mut Ctx) -> DosCode {
    let ah = ctx.ah();
    match ah {
        0x00 => return process::terminate(fw, ctx, Ending::Exit(0)),
        0x01 | 0x07 | 0x08 => match next_char(fw, ctx) {
            Some(c) => {
                if ah == 0x01 {
                    echo(fw, ctx, &[c]);
                }
                ctx.set_al(c);
            }
            None => return DosCode::Wait,
        },
        0x02 => {
            let c = ctx.dl();
            echo(fw, ctx, &[c]);
            ctx.set_al(c);
        }
        0x03..=0x05 => {} // AUX and PRN: nothing attached
        0x06 => {
            if ctx.dl() == 0xFF {
                match key_ready(fw, ctx).then(|| next_char(fw, ctx)).flatten() {
                    Some(c) => {
                        ctx.set_al(c);
                        ctx.set_zf(false);
                    }
                    None => {
                        ctx.set_al(0);
                        ctx.set_zf(true);
                    }
                }
            } else {
                let c = ctx.dl();
                echo(fw, ctx, &[c]);
                ctx.set_al(c);
            }
        }
        0x09 => {
            let (ds, dx) = (ctx.ds(), ctx.dx());
            let mut text = Vec::new();
            let mut off = dx;
            loop {
                let c = ctx.rd8(ds, off);
                if c == b'$' {
                    break;
                }
                text.push(c);
                off = off.wrapping_add(1);
                if off == dx {
                    break; // no '$' in the whole segment
                }
            }
            echo(fw, ctx, &text);
            ctx.set_al(b'$');
        }
        0x0A => return buffered_input(fw, ctx),
        0x0B => {
            let ready = key_ready(fw, ctx);
            ctx.set_al(if ready { 0xFF } else { 0 });
        }
        0x0C => {
            // Flush the type-ahead buffer, then run the input function in AL.
            while bios::pop_key(ctx).is_some() {}
            fw.dos.instance.pending_scan = None;
            let f = ctx.al();
            if matches!(f, 0x01 | 0x06 | 0x07 | 0x08 | 0x0A) {
                ctx.set_ah(f);
                return int21(fw, ctx);
            }
            ctx.set_al(0);
        }
        0x0D => {} // disk reset: nothing is cached
        0x1B => tables::allocation_info(ctx, 0),
        0x1C => tables::allocation_info(ctx, ctx.dl()),
        0x1F => tables::drive_parameter_block(ctx, 0),
        0x32 => tables::drive_parameter_block(ctx, ctx.dl()),
        0x52 => {
            ctx.set_es(DOS_DATA_SEG);
            ctx.set_bx(tables::LOL_OFF);
        }
        0x64 => {} // set the device driver lookahead flag: no drivers look ahead
        0x38 => country::international(ctx),
        0x65 => country::extended(ctx),
        0x66 => country::code_page(ctx),
        0x5D if ctx.al() == 0x06 => {
            sda::address(ctx);
            ok(ctx);
        }
        0x5D if ctx.al() == 0x0A => {
            sda::set_error_from_dpl(ctx);
            ok(ctx);
        }
        0x0F..=0x17 | 0x21..=0x24 | 0x27 | 0x28 | 0x29 => ctx.set_al(0xFF), // FCBs: not provided
        0x18 | 0x1D | 0x1E | 0x20 => ctx.set_al(0),
        0x25 => {
            let (n, ds, dx) = (ctx.al(), ctx.ds(), ctx.dx());
            ctx.set_vector(n, ds, dx);
        }
        0x26 => {
            // Create a PSP at DX: a copy of the current one (DOS 1 style).
            let (src, dst) = (sda::current_psp(ctx), ctx.dx());
            let bytes = ctx.read_bytes(src, 0, 0x100);
            ctx.write_bytes(dst, 0, &bytes);
        }
        0x2A => {
            let (now, _) = bios::wall_clock_fine(ctx);
            ctx.set_cx(now.year);
            ctx.set_dh(now.month);
            ctx.set_dl(now.day);
            ctx.set_al(now.weekday());
        }
        0x2B => {
            let (year, month, day) = (ctx.cx(), ctx.dh(), ctx.dl());
            let valid = (1980..=2099).contains(&year)
                && (1..=12).contains(&month)
                && day >= 1
                && day <= days_in_month(year, month);
            if valid {
                let (mut t, _) = bios::wall_clock_fine(ctx);
                t.year = year;
                t.month = month;
                t.day = day;
                set_wall_clock(ctx, t);
                ctx.set_al(0);
            } else {
                ctx.set_al(0xFF);
            }
        }
        0x2C => {
            let (now, hundredths) = bios::wall_clock_fine(ctx);
            ctx.set_cx((now.hour as u16) << 8 | now.minute as u16);
            ctx.set_dh(now.second as u8);
            ctx.set_dl(hundredths);
        }
        0x2D => {
            let (h, m, s, c) = (ctx.cx() >> 8, ctx.cl(), ctx.dh(), ctx.dl());
            if h < 24 && m < 60 && s < 60 && c < 100 {
                let (mut t, _) = bios::wall_clock_fine(ctx);
                t.hour = u32::from(h);
                t.minute = u32::from(m);
                t.second = u32::from(s);
                set_wall_clock(ctx, t);
                ctx.set_al(0);
            } else {
                ctx.set_al(0xFF);
            }
        }
        0x2E => fw.dos.instance.verify = ctx.al() != 0,
        0x30 => {
            // MS-DOS 5.00; AL=01h asks for the version flag in BH (00h: DOS not in ROM, the
            // one bit RBIL documents there; 3306h reports the HMA), otherwise BH is the
            // OEM number (FFh = Microsoft).
            let bh = if ctx.al() == 0x01 { 0x00 } else { 0xFF };
            ctx.set_ax(0x0005);
            ctx.set_bh(bh);
            ctx.set_bl(0);
            ctx.set_cx(0);
        }
        0x31 => {
            let (code, paras) = (ctx.al(), ctx.dx());
            return process::terminate(fw, ctx, Ending::Resident { code, paras });
        }
        0x33 => match ctx.al() {
            0x00 => {
                let b = sda::break_flag(ctx);
                ctx.set_dl(u8::from(b));
            }
            0x01 => {
                let on = ctx.dl() & 1 != 0;
                sda::set_break_flag(ctx, on);
            }
            0x02 => {
                let old = sda::break_flag(ctx);
                let on = ctx.dl() & 1 != 0;
                sda::set_break_flag(ctx, on);
                ctx.set_dl(u8::from(old));
            }
            0x05 => ctx.set_dl(3), // booted from C:
            0x06 => {
                ctx.set_bx(0x0005); // true version 5.00
                // Revision 0; DH bit 4: DOS is in the HMA (not in ROM).
                let in_hma = if fw.dos.high.is_some() { 0x1000 } else { 0 };
                ctx.set_dx(in_hma);
            }
            _ => ctx.set_al(0xFF),
        },
        0x34 => {
            ctx.set_es(DOS_DATA_SEG);
            ctx.set_bx(INDOS_OFF);
        }
        0x35 => {
            let (s, o) = ctx.vector(ctx.al());
            ctx.set_es(s);
            ctx.set_bx(o);
        }
        0x37 => match ctx.al() {
            0x00 => {
                ctx.set_al(0);
                ctx.set_dl(b'/');
            }
            0x01 => ctx.set_al(0),
            _ => ctx.set_al(0xFF),
        },
        0x48 => {
            let owner = sda::current_psp(ctx);
            match fw.dos.arena.alloc(ctx, ctx.bx(), owner) {
                Ok(seg) => {
                    ctx.set_ax(seg);
                    ok(ctx);
                }
                Err((e, largest)) => {
                    fail(ctx, e);
                    ctx.set_bx(largest);
                }
            }
        }
        0x49 => match fw.dos.arena.free(ctx, ctx.es()) {
            Ok(()) => ok(ctx),
            Err(e) => fail(ctx, e),
        },
        0x4A => match fw.dos.arena.resize(ctx, ctx.es(), ctx.bx()) {
            Ok(()) => ok(ctx),
            Err((e, max)) => {
                fail(ctx, e);
                ctx.set_bx(max);
            }
        },
        0x4B => return process::exec(fw, ctx),
        0x4C => return process::terminate(fw, ctx, Ending::Exit(ctx.al())),
        0x4D => {
            let t = sda::return_code(ctx);
            ctx.set_ax(u16::from(t.kind) << 8 | u16::from(t.code));
            sda::set_return_code(ctx, Termination { code: 0, kind: 0 });
            ok(ctx);
        }
        0x50 => {
            let bx = ctx.bx();
            sda::set_current_psp(ctx, bx);
        }
        0x51 | 0x62 => {
            let p = sda::current_psp(ctx);
            ctx.set_bx(p);
        }
        0x54 => {
            let v = fw.dos.instance.verify;
            ctx.set_al(u8::from(v));
        }
        0x58 => match ctx.al() {
            0x00 => {
                let s = fw.dos.arena.strategy;
                ctx.set_ax(s);
                ok(ctx);
            }
            0x01 => {
                let s = ctx.bx();
                // Low-memory strategies only: no UMBs exist.
                if s <= 2 || (0x40..=0x42).contains(&s) || (0x80..=0x82).contains(&s) {
                    fw.dos.arena.strategy = s & 0x3;
                    sda::set_strategy(ctx, s & 0x3);
                    ok(ctx);
                } else {
                    fail(ctx, 0x01);
                }
            }
            0x02 => {
                ctx.set_al(0); // UMBs not linked
                ok(ctx);
            }
            0x03 if ctx.bx() == 0 => ok(ctx),
            _ => fail(ctx, 0x01),
        },
        0x59 => {
            // Extended error: the code, class, action and locus in the SDA.
            let (e, class, action, locus) = sda::last_error(ctx);
            let (es, di) = sda::error_pointer(ctx);
            ctx.set_ax(e);
            ctx.set_bh(class);
            ctx.set_bl(action);
            ctx.set_cx(u16::from(locus) << 8);
            ctx.set_es(es);
            ctx.set_di(di);
        }
        _ => {
            if files::read_needs_input(fw, ctx) {
                return DosCode::Wait;
            }
            if files::int21(fw, ctx) {
                if device::pending(&fw.dos.instance) {
                    return DosCode::Device;
                }
                return DosCode::Done;
            }
            if NOT_PROVIDED.contains(&ah) {
                fail(ctx, 0x01);
            } else {
                // MS-DOS's dispatcher answers a function number it does not have with
                // AL = 00h and an IRET that returns the caller's FLAGS (see the header).
                ctx.set_al(0);
                return DosCode::Unsupported;
            }
        }
    }
    DosCode::Done
}

/// DOS's own functions at the bottom of Int 2Fh (the firmware's `multiplex.rs` hands it
/// the calls whose function number, AH, belongs to no other part): 4A01h and 4A02h, the
/// HMA DOS shares under `DOS=HIGH` (`hma.rs`).
pub(crate) fn int2f(dos: &mut Dos, ctx: &mut Ctx) {
    if ctx.ah() == 0x4A {
        hma::int2f(&mut dos.high, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn february_has_29_days_in_leap_years_only() {
        assert_eq!(days_in_month(1996, 2), 29);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(1995, 2), 28);
        assert_eq!(days_in_month(1995, 13), 0);
    }

    #[test]
    fn functions_dos_5_lacks_answer_al_0_and_keep_cf() {
        use crate::firmware::FirmwareConfig;
        use crate::machine::{Machine, MachineConfig};
        let fw = Firmware::new(FirmwareConfig::default(), DriveC::new(false), vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
        m.run_until(5_000_000);
        for (ax, cf, want) in [
            (0x716C, true, 0x7100),
            (0x716C, false, 0x7100),
            (0x6B12, true, 0x6B00),
            (0xF834, false, 0xF800),
        ] {
            m.with_service_context(|fw, ctx| {
                let fw = fw.expect("firmware");
                sda::set_last_error(ctx, 0x0002);
                ctx.cpu.set_sreg(SegReg::SS, 0x2000);
                ctx.cpu.set_reg16(Reg16::SP, 0x100);
                ctx.set_ax(ax);
                ctx.cpu.set_flags(0x0202 | u32::from(cf));
                finish_int21(fw, ctx);
                assert_eq!(ctx.ax(), want, "{ax:04X}");
                assert_eq!(ctx.cpu.flags() & 1 != 0, cf, "{ax:04X}");
                // The caller's CF is not an error report: AH=59h's code stays.
                assert_eq!(sda::last_error(ctx).0, 0x0002, "{ax:04X}");
            });
        }
        // A DOS 5 function vexed does not provide still fails with 01h.
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            ctx.set_ax(0x6000);
            ctx.cpu.set_flags(0x0202);
            assert_eq!(int21(fw, ctx), DosCode::Done);
            assert_eq!((ctx.ax(), ctx.cpu.flags() & 1), (0x0001, 1));
        });
    }

    #[test]
    fn every_error_code_dos_returns_has_a_text() {
        for code in [
            1u16, 2, 3, 4, 5, 6, 7, 8, 9, 0x0A, 0x0B, 0x0C, 0x0F, 0x12, 0x50,
        ] {
            assert_ne!(error_text(code), "unknown error", "{code:02X}");
        }
    }
}
