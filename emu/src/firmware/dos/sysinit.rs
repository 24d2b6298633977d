//! SYSINIT: at boot, before the shell, DOS reads `C:\CONFIG.SYS` (`config.rs`) and acts on
//! it line by line: it loads and initializes the device drivers, sets FILES and BUFFERS,
//! prints MS-DOS's message for each bad line, and leaves the INSTALL programs for the
//! shell to run first.
//!
//! Sources: RBIL INT 21 #02597/#02598 (the INIT request: units at 0Dh, the end of
//! available memory in and the break address out at 0Eh, the command line in and the BPB
//! array out at 12h, the first drive number at 16h, DOS 5's error-message flag at 17h),
//! #01646 (several headers in one file, linked through their next-pointer offsets);
//! the MS-DOS 4.0 source (SYSINIT1.ASM: drivers loaded one after another at the bottom of
//! free memory, each linked in after NUL, "Bad or missing" for a file that cannot be
//! loaded, INSTALL= run after the drivers) and RBIL #01627 (List of Lists: BUFFERS at
//! 3Fh, lookahead buffers at 41h).
//!
//! # The loop
//!
//! The drivers run as guest code, from a loop in DOS's code segment (`device.rs` places
//! it, next to the Int 21h request stub):
//!
//! ```text
//! sysinit: trap SYSINIT_NEXT       ; next CONFIG.SYS line with a driver: load it, build
//!                                  ; its INIT request, ES:BX -> request
//!          call far [cs:strategy]
//!          call far [cs:interrupt]
//!          trap SYSINIT_DONE       ; the INIT result: link the header, keep the memory
//!          jmp sysinit
//! ```
//!
//! `SYSINIT_NEXT` with no line left reports [`Next::Finished`]. Then, when `DOS=HIGH` was
//! given or the built-in XMS driver is not installed, DOS finds the XMS driver as a program
//! would, through a second loop on DOS's device stack:
//!
//! ```text
//! xms_step: trap SYSINIT_XMS       ; the previous call's answer; set up the next call
//!           int 2Fh                ; AX=4300h (installed?), then AX=4310h (entry: ES:BX)
//!           jmp xms_step
//! xms_call: call far [cs:xms_entry] ; XMS 01h (HMA, DX=FFFFh), 03h (global enable A20),
//!           jmp xms_step             ; 02h (release the HMA if 03h failed)
//! ```
//!
//! The entry found is kept ([`crate::firmware::Firmware::xms_entry`]): a driver from
//! CONFIG.SYS may be the XMS driver, and its calls are then observed through it. Under
//! `DOS=HIGH`, DOS takes the HMA with those calls (`hma.rs`), or prints MS-DOS 5's "HMA not
//! available : Loading DOS low" when there is no driver or it refuses. With the built-in
//! driver and no `DOS=HIGH` nothing is asked, as MS-DOS asks nothing then. When the steps
//! are over (or not needed) the firmware starts the shell (DOS does not call the layer
//! above it).
//!
//! # Memory
//!
//! Each driver file is loaded at the start of the largest free block (at boot: all of
//! conventional memory above DOS's tables), a block owned by DOS (owner 0008h, named
//! after the file, as DOS 4+'s sub-MCB of a driver is). A .SYS file is loaded whole; an
//! MZ .EXE file's load module is loaded and relocated, its first device header at the
//! start of the load module. INIT is told that memory ends 48h paragraphs below the
//! block's end: there DOS keeps the command line the request points at (the text after
//! `DEVICE=`, ending CR LF NUL) and the stack the driver runs on. After the last header
//! of the file the block keeps what the highest break address covers and the rest is
//! free again; a file none of whose headers was installed gives it all back.
//!
//! A header is installed unless INIT sets the error bit or returns a break address at or
//! below the header's own segment:offset (no resident code); then it is linked into the
//! chain right after NUL, as MS-DOS does. When INIT sets the error-message flag (17h),
//! "Error in CONFIG.SYS line N" is printed. Every INIT is observed
//! ([`Observation::DriverLoaded`]).
//!
//! # Limits
//!
//! - Block device drivers' units get drive letters from D: to E: and DPBs, and serve
//!   Int 25h/26h, but not the file functions (`block.rs`).
//! - There are no upper memory blocks, so `DEVICEHIGH=` loads low, as MS-DOS 5 does when
//!   no UMB is available, and `DOS=UMB` links none. `DOS=HIGH` takes the HMA, but what
//!   DOS keeps there is small (`hma.rs`: its code is Rust). `LASTDRIVE=` is checked but the
//!   current directory structures stay A: to E:. `SHELL=` is checked; the shell is the
//!   firmware's. COUNTRY, DRIVPARM, FCBS, STACKS and SWITCHES are ignored.
//! - The drivers' INIT may use Int 21h functions 01h-0Ch and 30h, as on MS-DOS; with no
//!   process yet, console output goes straight to CON.

use serde::{Deserialize, Serialize};

use super::block;
use super::config::{self, Directive};
use super::device::{self, ATTR_CHAR, LEN_INIT, STATUS_ERROR, cmd};
use super::memory::{self, DOS_OWNER};
use super::process::{self, ExeHeader};
use super::tables;
use crate::cpu::{Reg16, SegReg};
use crate::firmware::stubs::{DOS_CODE_SEG, DOS_DATA_SEG};
use crate::firmware::{Ctx, Firmware, Program};
use crate::observe::Observation;

/// The file DOS reads.
pub const CONFIG_FILE: &str = "CONFIG.SYS";
/// Paragraphs kept at the top of a driver's block for the command line and the stack.
const RESERVED_PARAS: u16 = 0x48;
/// The command line's room (bytes) at the start of the reserved paragraphs.
const LINE_BYTES: u16 = 0x80;

/// The boot-time state (part of DOS's; empty once the shell runs).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Sysinit {
    /// CONFIG.SYS as read at boot.
    text: Vec<u8>,
    /// Where the next line starts (a byte offset into `text`).
    next: usize,
    /// The driver file being initialized.
    loading: Option<Loading>,
    /// `DOS=HIGH` was given (the last `DOS=` line naming HIGH or LOW decides).
    dos_high: bool,
    /// After the last line: where finding the XMS driver stands.
    xms: XmsStep,
}

/// The steps after the last CONFIG.SYS line, each a call the guest code makes
/// (`INT 2Fh` or a far call to the XMS driver's entry) followed by the `SYSINIT_XMS` trap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum XmsStep {
    /// Nothing asked yet.
    #[default]
    Start,
    /// Int 2Fh AX=4300h (is an XMS driver installed?) was called.
    Installed,
    /// Int 2Fh AX=4310h (its entry point) was called.
    Entry,
    /// XMS 01h, request the HMA with DX = FFFFh, was called.
    RequestHma,
    /// XMS 03h, global enable A20, was called.
    EnableA20,
    /// XMS 02h, release the HMA (A20 could not be enabled), was called.
    ReleaseHma,
}

/// A driver file whose headers are being initialized.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Loading {
    line: u32,
    file: String,
    /// The arena block (data segment) the file is loaded in: its headers' segment.
    block: u16,
    /// The offset of the header being initialized.
    header: u16,
    /// The next header's offset in the file (FFFFh: none), read before INIT.
    next: u16,
    /// Paragraphs of the block the installed headers need so far.
    keep: u16,
}

/// What `SYSINIT_NEXT` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// An INIT request is ready: the loop calls the driver.
    Driver,
    /// After the last line, the next call of the XMS steps is ready.
    Call,
    /// No line left: start the shell.
    Finished,
}

/// Starts processing `C:\CONFIG.SYS` if the drive has one: returns false (nothing
/// changed) when it does not.
pub(crate) fn begin(fw: &mut Firmware, ctx: &mut Ctx) -> bool {
    let Some(text) = fw.dos.drive.file(CONFIG_FILE) else {
        return false;
    };
    fw.dos.sysinit = Sysinit {
        text: config::content(text).to_vec(),
        ..Sysinit::default()
    };
    ctx.jump(DOS_CODE_SEG, fw.dos.stubs.device.sysinit);
    let f = ctx.cpu.flags();
    ctx.cpu.set_flags(f | 0x200);
    true
}

/// Prints DOS's boot messages on the console.
fn print(fw: &mut Firmware, ctx: &mut Ctx, text: &[u8]) {
    super::files::write_console(fw, ctx, text);
}

/// `SYSINIT_NEXT`: the next INIT request (another header of the file being loaded, or the
/// first of the next driver line), after applying the lines before it.
pub(crate) fn next(fw: &mut Firmware, ctx: &mut Ctx) -> Next {
    if let Some(l) = fw.dos.sysinit.loading.clone() {
        init_request(fw, ctx, &l);
        return Next::Driver;
    }
    while let Some((line, after)) = config::next_line(&fw.dos.sysinit.text, fw.dos.sysinit.next) {
        fw.dos.sysinit.next = after;
        let number = line.number;
        match &line.directive {
            Err(e) => {
                let m = config::error_message(e, number);
                print(fw, ctx, &m);
            }
            Ok(Directive::Device { path, line, .. }) => match load(fw, ctx, path) {
                Some(block) => {
                    let l = Loading {
                        line: number,
                        file: path.clone(),
                        block,
                        header: 0,
                        next: ctx.rd16(block, 0),
                        keep: 0,
                    };
                    write_line(fw, ctx, &l, line);
                    init_request(fw, ctx, &l);
                    fw.dos.sysinit.loading = Some(l);
                    return Next::Driver;
                }
                None => {
                    let m = config::missing_message(path, number);
                    print(fw, ctx, &m);
                }
            },
            Ok(d) => apply(fw, ctx, d),
        }
    }
    fw.dos.sysinit = Sysinit {
        dos_high: fw.dos.sysinit.dos_high,
        ..Sysinit::default()
    };
    Next::Finished
}

/// MS-DOS 5's message when `DOS=HIGH` cannot be done (SYSINIT's text, spacing included).
const HMA_NOT_AVAILABLE: &[u8] = b"HMA not available : Loading DOS low\r\n";

/// After the last line: starts the steps that find the XMS driver's entry (and, for
/// `DOS=HIGH`, take the HMA through it), on DOS's device stack. They are needed when
/// `DOS=HIGH` was given, or when the built-in XMS driver is not installed (a driver from
/// CONFIG.SYS may be the XMS driver: its entry is then known, and its calls observed).
/// Returns false when there is nothing to do: the shell starts.
pub(crate) fn find_xms(fw: &mut Firmware, ctx: &mut Ctx) -> bool {
    let builtin = fw.xms.as_ref().is_some_and(|x| x.installed());
    if builtin && !fw.dos.sysinit.dos_high {
        fw.dos.sysinit = Sysinit::default();
        return false;
    }
    fw.dos.sysinit.xms = XmsStep::Start;
    ctx.cpu.set_sreg(SegReg::SS, DOS_DATA_SEG);
    ctx.cpu.set_reg16(Reg16::SP, device::DEVICE_STACK_TOP);
    ctx.jump(DOS_CODE_SEG, fw.dos.stubs.device.xms_step);
    true
}

/// `SYSINIT_XMS`: the call of the previous step returned; make the next one, or report
/// [`Next::Finished`] (the shell starts).
pub(crate) fn xms_step(fw: &mut Firmware, ctx: &mut Ctx) -> Next {
    let stubs = fw.dos.stubs.device;
    let high = fw.dos.sysinit.dos_high;
    // `call`: the next call is the XMS entry's (false: the `INT 2Fh` after the trap).
    let (next, call) = match fw.dos.sysinit.xms {
        XmsStep::Start => {
            ctx.set_ax(0x4300);
            (XmsStep::Installed, false)
        }
        XmsStep::Installed if ctx.al() == 0x80 => {
            ctx.set_ax(0x4310);
            (XmsStep::Entry, false)
        }
        XmsStep::Entry => {
            let (seg, off) = (ctx.es(), ctx.bx());
            fw.dos.xms_entry = Some((seg, off));
            ctx.wr16(DOS_CODE_SEG, stubs.xms_entry, off);
            ctx.wr16(DOS_CODE_SEG, stubs.xms_entry + 2, seg);
            if !high {
                return xms_done(fw);
            }
            ctx.set_ah(0x01);
            ctx.set_dx(0xFFFF);
            (XmsStep::RequestHma, true)
        }
        XmsStep::RequestHma if ctx.ax() == 0x0001 => {
            ctx.set_ah(0x03);
            (XmsStep::EnableA20, true)
        }
        XmsStep::EnableA20 if ctx.ax() == 0x0001 => {
            super::hma::load_high(fw, ctx);
            return xms_done(fw);
        }
        XmsStep::EnableA20 => {
            ctx.set_ah(0x02);
            (XmsStep::ReleaseHma, true)
        }
        // No XMS driver, or it refused the HMA.
        XmsStep::Installed | XmsStep::RequestHma | XmsStep::ReleaseHma => {
            if high {
                print(fw, ctx, HMA_NOT_AVAILABLE);
            }
            return xms_done(fw);
        }
    };
    fw.dos.sysinit.xms = next;
    if call {
        ctx.jump(DOS_CODE_SEG, stubs.xms_call);
    }
    Next::Call
}

/// The XMS steps are over: the boot-time state is dropped.
fn xms_done(fw: &mut Firmware) -> Next {
    fw.dos.sysinit = Sysinit::default();
    Next::Finished
}

/// Applies a directive that loads nothing.
fn apply(fw: &mut Firmware, ctx: &mut Ctx, d: &Directive) {
    let lol = tables::LOL_OFF;
    match d {
        Directive::Files(n) => fw.dos.files.set_limit(usize::from(*n)),
        Directive::Buffers { buffers, secondary } => {
            ctx.wr16(DOS_DATA_SEG, lol + 0x3F, u16::from(*buffers));
            ctx.wr16(DOS_DATA_SEG, lol + 0x41, u16::from(*secondary));
        }
        Directive::Install { path, args } => fw.dos.installs.push(Program {
            name: path.clone(),
            args: args.clone(),
        }),
        Directive::Break(on) => super::sda::set_break_flag(ctx, *on),
        Directive::Dos { high: Some(h), .. } => fw.dos.sysinit.dos_high = *h,
        Directive::Device { .. }
        | Directive::LastDrive(_)
        | Directive::Dos { .. }
        | Directive::Shell { .. }
        | Directive::Ignored(_) => {}
    }
}

/// Loads driver file `path` at the start of the largest free block; returns the block,
/// or `None` when the file is missing, not loadable or does not fit.
fn load(fw: &mut Firmware, ctx: &mut Ctx, path: &str) -> Option<u16> {
    let key = fw.dos.resolve_path(path.as_bytes()).ok()?;
    let file = fw.dos.drive.file(&key)?.to_vec();
    let arena = fw.dos.arena;
    let size = arena.largest_free(ctx).ok()?;
    let (image, exe) = match ExeHeader::parse(&file) {
        None => (&file[..], None),
        Some(Ok(h)) => {
            let start = usize::from(h.header_paras) * 16;
            let end = (start + h.image_size()).min(file.len());
            (&file[start.min(end)..end], Some(h))
        }
        Some(Err(_)) => return None,
    };
    let paras = u16::try_from(image.len().div_ceil(16)).ok()?;
    if image.is_empty() || size < paras.checked_add(RESERVED_PARAS + 1)? {
        return None;
    }
    let block = arena.alloc(ctx, size, DOS_OWNER).ok()?;
    let base = key.rsplit('/').next().unwrap_or(&key);
    let base = base.split('.').next().unwrap_or(base);
    memory::set_name(ctx, block, base.as_bytes());
    ctx.write_bytes(block, 0, image);
    if let Some(h) = exe {
        process::relocate(ctx, &file, &h, block, block);
    }
    Some(block)
}

/// The segment where INIT's available memory ends: the command line and stack follow.
fn end_of_memory(fw: &Firmware, ctx: &Ctx, block: u16) -> u16 {
    let size = fw.dos.arena.size_of(ctx, block).unwrap_or(RESERVED_PARAS);
    block + size - RESERVED_PARAS
}

/// Copies the text after `DEVICE=` where the INIT request will point.
fn write_line(fw: &Firmware, ctx: &mut Ctx, l: &Loading, line: &[u8]) {
    let end = end_of_memory(fw, ctx, l.block);
    let mut text: Vec<u8> = line
        .iter()
        .copied()
        .take(usize::from(LINE_BYTES) - 3)
        .collect();
    text.extend_from_slice(b"\r\n\0");
    ctx.write_bytes(end, 0, &text);
}

/// Builds the INIT request for the header `l` is at and aims the loop at its driver, on
/// the stack above the command line.
fn init_request(fw: &Firmware, ctx: &mut Ctx, l: &Loading) {
    let end = end_of_memory(fw, ctx, l.block);
    device::write_request(ctx, LEN_INIT, 0, cmd::INIT);
    let r = device::REQUEST_OFF;
    ctx.wr16(DOS_DATA_SEG, r + 0x0E, 0);
    ctx.wr16(DOS_DATA_SEG, r + 0x10, end);
    ctx.wr16(DOS_DATA_SEG, r + 0x12, 0);
    ctx.wr16(DOS_DATA_SEG, r + 0x14, end);
    // The first unit of a block driver would be the drive after the existing ones.
    let blocks = ctx.rd8(DOS_DATA_SEG, tables::LOL_OFF + 0x20);
    ctx.wr8(DOS_DATA_SEG, r + 0x16, 2 + blocks);
    device::aim(fw, ctx, l.block, l.header);
    ctx.cpu.set_sreg(SegReg::SS, end);
    ctx.cpu.set_reg16(Reg16::SP, RESERVED_PARAS * 16);
    ctx.set_ds(end);
}

/// A far pointer as a linear paragraph count, rounded up.
fn paragraph(seg: u16, off: u16) -> u32 {
    u32::from(seg) + u32::from(off).div_ceil(16)
}

/// `SYSINIT_DONE`: the driver's INIT returned.
pub(crate) fn done(fw: &mut Firmware, ctx: &mut Ctx) {
    let Some(mut l) = fw.dos.sysinit.loading.take() else {
        return;
    };
    device::observe_request(fw, ctx, l.block, l.header);
    let r = device::REQUEST_OFF;
    let status = device::status(ctx);
    let units = ctx.rd8(DOS_DATA_SEG, r + 0x0D);
    let break_off = ctx.rd16(DOS_DATA_SEG, r + 0x0E);
    let break_seg = ctx.rd16(DOS_DATA_SEG, r + 0x10);
    let message = ctx.rd16(DOS_DATA_SEG, r + 0x17);
    let header = device::header_at(ctx, l.block, l.header);
    let end = end_of_memory(fw, ctx, l.block);
    let brk = paragraph(break_seg, break_off);
    let start = paragraph(l.block, l.header);
    let installed = status & STATUS_ERROR == 0
        && (brk > start || (brk == start && break_off > l.header))
        && brk <= u32::from(end)
        && (header.attr & ATTR_CHAR != 0 || units != 0);
    fw.observe(
        ctx,
        Observation::DriverLoaded {
            file: l.file.clone(),
            seg: l.block,
            off: l.header,
            attributes: header.attr,
            name: header.name.to_vec(),
            status,
            units,
            break_seg,
            break_off,
            installed,
        },
    );
    if message != 0 {
        let m = config::line_message(l.line);
        print(fw, ctx, m.as_bytes());
    }
    if installed {
        tables::link_device(ctx, l.block, l.header);
        let mut keep = (brk - u32::from(l.block)) as u16;
        if header.attr & ATTR_CHAR == 0 {
            // A block driver's units get drives, their DPBs placed at its break address.
            let array = (
                ctx.rd16(DOS_DATA_SEG, r + 0x14),
                ctx.rd16(DOS_DATA_SEG, r + 0x12),
            );
            let at = brk as u16;
            let room = end.saturating_sub(at);
            keep += block::install_units(fw, ctx, (l.block, l.header), units, array, at, room);
        }
        l.keep = l.keep.max(keep);
    }
    if l.next != 0xFFFF && l.next > l.header {
        l.header = l.next;
        l.next = ctx.rd16(l.block, l.header);
        fw.dos.sysinit.loading = Some(l);
        return;
    }
    let arena = fw.dos.arena;
    if l.keep == 0 {
        let _ = arena.free(ctx, l.block);
    } else {
        let _ = arena.resize(ctx, l.block, l.keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::dos::DriveC;
    use crate::firmware::{FirmwareConfig, FirmwareStop};
    use crate::machine::{Machine, MachineConfig};

    /// Boots with `config` as C:\CONFIG.SYS and `files` on C:, no programs; returns the
    /// console text and the machine.
    fn boot(config: &str, files: &[(&str, &[u8])]) -> (String, Machine) {
        let mut drive = DriveC::new(false);
        drive
            .insert_file(CONFIG_FILE, config.as_bytes().to_vec())
            .expect("config");
        for (name, bytes) in files {
            drive.insert_file(name, bytes.to_vec()).expect("file");
        }
        let fw = Firmware::new(FirmwareConfig::default(), drive, vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
        m.run_until(5_000_000);
        let fw = m.firmware().expect("firmware");
        assert_eq!(fw.ended(), Some(FirmwareStop::Finished { exit_code: 0 }));
        let text = String::from_utf8_lossy(fw.console()).into_owned();
        (text, m)
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers_and_the_rest_applies() {
        let (text, m) = boot(
            "FILES=20\r\nFOO=1\r\n\r\nDEVICE=C:\\NOSUCH.SYS /X\r\nBUFFERS=200\r\nBUFFERS=33\r\n",
            &[],
        );
        assert_eq!(
            text,
            "\r\nUnrecognized command in CONFIG.SYS\r\nError in CONFIG.SYS line 2\r\n\
             \r\nBad or missing C:\\NOSUCH.SYS\r\nError in CONFIG.SYS line 4\r\n\
             \r\nBad command or parameters - 200\r\nError in CONFIG.SYS line 5\r\n"
        );
        // BUFFERS=33 reached the List of Lists (RBIL #01627: +3Fh).
        let lol = tables::list_of_lists();
        assert_eq!(m.bus().mem.read_u16(lol + 0x3F), 33);
        assert_eq!(m.firmware().expect("firmware").dos.files.capacity(), 20);
    }

    /// A minimal character driver: header "TINY    " (attribute 8000h), strategy saves
    /// ES:BX, interrupt sets the status to 0100h and, for INIT, the break address to the
    /// end of the resident part (`brk`, from offset `resident`).
    fn tiny(resident: u16) -> Vec<u8> {
        let mut d = vec![0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x80, 0x12, 0x00, 0x1D, 0x00];
        d.extend_from_slice(b"TINY    ");
        // 12h strategy: the request pointer goes to a dword at 40h.
        d.extend_from_slice(&[0x2E, 0x89, 0x1E, 0x40, 0x00]); // mov [cs:40h],bx
        d.extend_from_slice(&[0x2E, 0x8C, 0x06, 0x42, 0x00]); // mov [cs:42h],es
        d.push(0xCB); // retf
        // 1Dh interrupt.
        d.extend_from_slice(&[0x2E, 0xC4, 0x1E, 0x40, 0x00]); // les bx,[cs:40h]
        d.extend_from_slice(&[0x26, 0xC7, 0x47, 0x03, 0x00, 0x01]); // mov word [es:bx+3],0100h
        d.extend_from_slice(&[0x26, 0xC7, 0x47, 0x0E]); // mov word [es:bx+0Eh],resident
        d.extend_from_slice(&resident.to_le_bytes());
        d.extend_from_slice(&[0x26, 0x8C, 0x4F, 0x10]); // mov [es:bx+10h],cs
        d.push(0xCB); // retf
        d.resize(0x44, 0);
        d
    }

    #[test]
    fn a_driver_is_linked_after_nul_and_keeps_its_break_address() {
        let (text, m) = boot("DEVICE=TINY.SYS\r\n", &[("TINY.SYS", &tiny(0x44))]);
        assert_eq!(text, "");
        let mem = &m.bus().mem;
        let nul = crate::firmware::linear(DOS_DATA_SEG, tables::NUL_OFF);
        let first = mem.read_u32(nul);
        let (seg, off) = ((first >> 16) as u16, first as u16);
        assert_eq!(off, 0);
        assert_eq!(
            mem.read_bytes(crate::firmware::linear(seg, 10), 8),
            b"TINY    "
        );
        // The block keeps 44h bytes = 5 paragraphs (MCB size at +3).
        assert_eq!(mem.read_u16(crate::firmware::linear(seg - 1, 3)), 5);
        assert_eq!(mem.read_u16(crate::firmware::linear(seg - 1, 1)), DOS_OWNER);
    }

    #[test]
    fn every_header_of_a_file_is_initialized_and_linked() {
        // RBIL #01646: several devices in one file, each header's next offset leading to
        // the next header (FFFFh ends the file's list). TINY2's header follows the scratch
        // dword at 44h and uses the same routines; both keep 56h bytes.
        let mut d = tiny(0x56);
        d[0..2].copy_from_slice(&0x44u16.to_le_bytes());
        let mut second = d[..0x12].to_vec();
        second[0..4].copy_from_slice(&[0xFF; 4]);
        second[0x0A..0x12].copy_from_slice(b"TINY2   ");
        d.extend_from_slice(&second);
        let (text, m) = boot("DEVICE=TINY.SYS\r\n", &[("TINY.SYS", &d)]);
        assert_eq!(text, "");
        let mem = &m.bus().mem;
        let names: Vec<Vec<u8>> = {
            let mut out = Vec::new();
            let mut at = crate::firmware::linear(DOS_DATA_SEG, tables::NUL_OFF);
            for _ in 0..4 {
                let next = mem.read_u32(at);
                at = crate::firmware::linear((next >> 16) as u16, next as u16);
                out.push(mem.read_bytes(at + 10, 8));
            }
            out
        };
        // Each was linked in right after NUL: the second header first.
        assert_eq!(names[0], b"TINY2   ");
        assert_eq!(names[1], b"TINY    ");
        assert_eq!(names[2], b"EMMXXXX0");
    }

    #[test]
    fn a_driver_that_keeps_nothing_is_not_installed() {
        let (_, m) = boot("DEVICE=TINY.SYS\r\n", &[("TINY.SYS", &tiny(0))]);
        let mem = &m.bus().mem;
        let nul = crate::firmware::linear(DOS_DATA_SEG, tables::NUL_OFF);
        // NUL still leads to the EMS driver's header.
        assert_eq!(
            mem.read_u32(nul),
            u32::from(crate::firmware::stubs::EMM_SEG) << 16
        );
    }

    #[test]
    fn break_addresses_round_up_to_paragraphs() {
        assert_eq!(paragraph(0x1000, 0), 0x1000);
        assert_eq!(paragraph(0x1000, 1), 0x1001);
        assert_eq!(paragraph(0x1000, 0x20), 0x1002);
    }
}
