//! DOS file handles: the system file table, each process's job file table, the Int 21h
//! handle, directory and find functions on drive C:, and the character devices `CON`,
//! `NUL`, `AUX`, `PRN` and `EMMXXXX0`, and those of installed device drivers (found by
//! name in the device chain, before DOS's own; their requests are in `../device.rs`).
//!
//! This file holds the two tables, the devices, the Int 21h dispatcher (`int21`) and what
//! the functions share (paths, time stamps). The functions are in `open.rs` (3Ch, 3Dh, 5Ah,
//! 5Bh, 6Ch), `io.rs` (3Eh, 3Fh, 40h, 42h, 45h, 46h), `con.rs` (the CON device), `ioctl.rs`
//! (44h), `dirs.rs` (36h, 39h, 3Ah, 3Bh, 47h), `entries.rs` (41h, 43h, 56h, 57h) and
//! `find.rs` (4Eh, 4Fh); 0Eh, 19h, 1Ah, 2Fh, 67h and 68h/6Ah are here.
//!
//! Sources: RBIL INT 21 pages for functions 0Eh, 19h, 1Ah, 2Fh, 36h, 39h–47h, 4Eh/4Fh, 56h,
//! 57h, 5Ah, 5Bh, 67h, 68h, 6Ch, tables #01378 (PSP), #01423 (IOCTL device information), #01626
//! (find data) and #01680 (error codes); MS-DOS 5 behaviour as described there.
//!
//! # Structures
//!
//! - **System file table** ([`FileTable`], in Rust, not in guest memory): at most
//!   [`SFT_ENTRIES`] = 40 open files or devices (as `FILES=40`; CONFIG.SYS's `FILES=`
//!   sets another number), each with a reference
//!   count (handles sharing it), open mode, 32-bit position and device information word.
//!   Full: error 04h.
//! - **Job file table**: in guest memory, as DOS has it: the far pointer at PSP:34h and the
//!   size at PSP:32h; each byte indexes the system file table, FFh = unused.
//!   `init_psp_handles` points it at the 20 bytes at PSP:18h. Handles are looked up in
//!   the table of `Dos::current_psp`; with no current PSP (0) every handle is
//!   invalid (06h). AH=67h moves a table of more than 20 handles into a block of DOS
//!   memory owned by the process (and back into the PSP for 20 or fewer); everything
//!   reaches the table through PSP:32h/34h. A child inherits only the first 20 handles.
//! - The first process (no parent) gets handles 0–2 = CON, 3 = AUX, 4 = PRN, with the
//!   system file table entries opened in DOS's order AUX, CON, PRN, so its table reads
//!   `01 01 01 00 02 FF …` as under MS-DOS. A child inherits every handle whose open mode
//!   lacks the no-inherit bit (AL bit 7 at open), sharing the entry.
//!
//! # Functions
//!
//! 0Eh select disk (only C: exists; AL = 5, DOS's default LASTDRIVE=E), 19h current disk
//! (AL = 2), 1Ah/2Fh DTA, 36h free space (8 sectors of 512 bytes per cluster, 32,768
//! clusters: see [`super::drive`]), 39h/3Ah/3Bh/47h directories, 3Ch create, 3Dh open, 3Eh
//! close, 3Fh read, 40h write, 41h delete, 42h seek, 43h attributes, 44h IOCTL (00h, 01h,
//! 06h, 07h, 08h; others 01h), 45h/46h duplicate, 4Eh/4Fh find, 56h rename, 57h time, 5Ah
//! create temporary file, 5Bh create new, 67h set handle count, 68h and 6Ah (DOS 4+) commit, 6Ch extended open/create. `int21` returns
//! false for any other AH.
//!
//! # Decisions and limits
//!
//! - Errors are MS-DOS 5's: 02h file not found, 03h path not found (also for any name that
//!   would leave the drive and for bad names where DOS's parser fails), 04h too many open
//!   files, 05h access denied, 06h invalid handle, 0Ch invalid access code, 0Fh invalid
//!   drive, 10h remove current directory, 11h not same device, 12h no more files (also
//!   find-first with no match, as MS-DOS), 50h file exists (5Bh, 6Ch). **MKDIR of an existing
//!   name is 05h**, as RBIL and the MS-DOS 5 reference document, not 50h.
//! - Read-only drive (`DriveC::is_writable` false): opening for writing succeeds (many
//!   programs open read/write and only read); create, write, delete, rename, mkdir, rmdir,
//!   set attributes and set time fail with 05h. Existence checks come first, so deleting a
//!   missing file is still 02h.
//! - Sharing modes (AL bits 4–6) are kept but not enforced (no SHARE). A file deleted or
//!   renamed away while open: renames follow the open handles; after a delete the handle
//!   reads end of file and writes fail with 05h.
//! - Time stamps: host files report the DOS boot time; a write stamps the file with the
//!   guest's wall clock (deterministic: boot time plus ticks) unless 5701h has fixed the
//!   stamp through that handle (`entries.rs`).
//! - Find data: the DOS 4/5 layout, entries in name order (`find.rs`).
//! - Device information (4400h): RBIL #01423's words (`ioctl.rs`).
//! - Devices: writes to NUL, AUX, PRN and EMMXXXX0 are accepted and discarded (no serial or
//!   printer BIOS); reads from them return 0 bytes. CON output goes through the BIOS
//!   teletype (`con.rs`). Seeking a device leaves it at 0.
//! - **CON input** (3Fh on a CON handle) cannot wait in Rust: the Int 21h dispatcher must
//!   call `read_needs_input` first and, while it returns true, wait for a key and retry
//!   (`con.rs`).
//! - No Ctrl-C checking, no critical errors (Int 24h), no FCB functions.

mod con;
mod dirs;
mod entries;
mod find;
#[cfg(test)]
mod harness;
mod io;
mod ioctl;
mod open;

use crate::firmware::dos::sda;
use serde::{Deserialize, Serialize};

use super::drive::{self, Parsed, Stamp};
use super::{fail, ok};
use crate::firmware::bios::{self, DateTime};
use crate::firmware::{Ctx, Firmware};
use dirs::{chdir, free_space, getcwd, mkdir, rmdir};
use entries::{attributes, delete, file_time, rename};
use find::{find_first, find_next};
use io::{close, dup, force_dup, lseek, read, write, write_entry};
use ioctl::ioctl;
use open::{create, extended_open, open};

pub(crate) use con::read_needs_input;

/// Entries in the system file table (`FILES=40`).
pub const SFT_ENTRIES: usize = 40;
/// Handles in a PSP's own job file table.
pub const JFT_SIZE: u16 = 20;
/// What AH=0Eh reports: DOS 5's default LASTDRIVE=E.
pub const LAST_DRIVE: u8 = 5;
/// Drive C: as a 0-based drive number.
const DRIVE_C: u8 = 2;
/// An unused job file table entry.
const UNUSED: u8 = 0xFF;
/// Longest ASCIZ path read from the guest (DOS's 128-byte path buffers).
const MAX_PATH: usize = 128;
/// Longest cooked CON line, as with AH=0Ah and a 128-byte buffer (plus the CR).
const CON_LINE_MAX: usize = 127;

/// Device information bits (4400h).
const INFO_NOT_WRITTEN: u16 = 0x0040;
const INFO_DEVICE: u16 = 0x0080;
const INFO_RAW: u16 = 0x0020;
const INFO_KEEP_STAMP: u16 = 0x4000;

/// A character device reachable by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Device {
    Con,
    Nul,
    Aux,
    Prn,
    /// The EMS driver's device (only with an EMS driver).
    Emm,
    /// A character device of an installed driver: its header at `seg:off` and attribute
    /// word (`../device.rs`).
    Driver {
        seg: u16,
        off: u16,
        attr: u16,
    },
}

impl Device {
    /// The device's name; a driver's device is named by what the caller looked up.
    fn name(self, looked_up: &str) -> &str {
        match self {
            Device::Con => "CON",
            Device::Nul => "NUL",
            Device::Aux => "AUX",
            Device::Prn => "PRN",
            Device::Emm => "EMMXXXX0",
            Device::Driver { .. } => looked_up.split('.').next().unwrap_or(looked_up),
        }
    }

    /// The device information word of a fresh open (RBIL #01423).
    fn info(self) -> u16 {
        match self {
            Device::Con => 0x80D3,
            Device::Nul => 0x8084,
            Device::Aux => 0x80C0,
            Device::Prn => 0xA0C0,
            Device::Emm => 0xC0C0,
            Device::Driver { attr, .. } => super::device::info_word(attr),
        }
    }
}

/// The device a (final, upper-case) name refers to, if any: DOS ignores the extension.
/// An installed driver's character device comes first (it is earlier in the chain than
/// DOS's own devices).
fn device(fw: &Firmware, ctx: &Ctx, name: &str) -> Option<Device> {
    let base = name.split_once('.').map_or(name, |(b, _)| b);
    if let Some(h) = super::device::find_driver(ctx, base) {
        return Some(Device::Driver {
            seg: h.seg,
            off: h.off,
            attr: h.attr,
        });
    }
    match base {
        "CON" => Some(Device::Con),
        "NUL" => Some(Device::Nul),
        "AUX" => Some(Device::Aux),
        "PRN" => Some(Device::Prn),
        "EMMXXXX0" if fw.ems.is_some() => Some(Device::Emm),
        _ => None,
    }
}

/// What a system file table entry has open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Target {
    /// A file on C:; `None` once the file has been deleted.
    File {
        key: Option<String>,
    },
    Device(Device),
}

/// One system file table entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Sft {
    /// Handles (in all job file tables) referring to it.
    refs: u16,
    /// The open mode: access in bits 0–2 (0 read, 1 write, 2 both), sharing in bits 4–6,
    /// no-inherit in bit 7.
    mode: u8,
    pos: u32,
    /// The device information word (4400h).
    info: u16,
    target: Target,
}

impl Sft {
    fn can_read(&self) -> bool {
        self.mode & 7 != 1
    }
    fn can_write(&self) -> bool {
        self.mode & 7 != 0
    }
}

/// The system file table, and DOS's CON input line.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FileTable {
    /// Grows up to [`SFT_ENTRIES`]; `None` = free.
    entries: Vec<Option<Sft>>,
    /// Keys typed for a cooked CON read whose line has no CR yet.
    con_line: Vec<u8>,
    /// A finished CON line (ending CR LF), or raw keys, not yet returned by a read.
    con_ready: Vec<u8>,
    /// The number of entries CONFIG.SYS's `FILES=` set (0: [`SFT_ENTRIES`]).
    limit: usize,
}

impl FileTable {
    pub fn new() -> FileTable {
        FileTable::default()
    }

    /// Sets the number of entries (CONFIG.SYS `FILES=`; [`SFT_ENTRIES`] without one).
    pub(crate) fn set_limit(&mut self, n: usize) {
        self.limit = n;
    }

    pub(crate) fn capacity(&self) -> usize {
        if self.limit == 0 {
            SFT_ENTRIES
        } else {
            self.limit
        }
    }

    /// Open entries (for tests and observations).
    pub fn open_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }

    fn alloc(&mut self, sft: Sft) -> Option<usize> {
        if let Some(i) = self.entries.iter().position(Option::is_none) {
            self.entries[i] = Some(sft);
            Some(i)
        } else if self.entries.len() < self.capacity() {
            self.entries.push(Some(sft));
            Some(self.entries.len() - 1)
        } else {
            None
        }
    }

    fn get(&self, idx: usize) -> Option<&Sft> {
        self.entries.get(idx).and_then(Option::as_ref)
    }

    fn get_mut(&mut self, idx: usize) -> Option<&mut Sft> {
        self.entries.get_mut(idx).and_then(Option::as_mut)
    }

    /// Drops one reference to entry `idx`, freeing it at zero.
    fn release(&mut self, idx: usize) {
        if let Some(slot) = self.entries.get_mut(idx)
            && let Some(e) = slot
        {
            e.refs = e.refs.saturating_sub(1);
            if e.refs == 0 {
                *slot = None;
            }
        }
    }

    /// Applies a rename to open files.
    fn renamed(&mut self, from: &str, to: &str) {
        for e in self.entries.iter_mut().flatten() {
            if let Target::File { key: Some(k) } = &mut e.target
                && k == from
            {
                *k = to.to_string();
            }
        }
    }

    /// Detaches open files from a deleted file.
    fn deleted(&mut self, key: &str) {
        for e in self.entries.iter_mut().flatten() {
            if let Target::File { key: k } = &mut e.target
                && k.as_deref() == Some(key)
            {
                *k = None;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Job file tables

/// The job file table of `psp`: (segment, offset, size).
fn jft(ctx: &Ctx, psp: u16) -> Option<(u16, u16, u16)> {
    if psp == 0 {
        return None;
    }
    let size = ctx.rd16(psp, 0x32);
    let off = ctx.rd16(psp, 0x34);
    let seg = ctx.rd16(psp, 0x36);
    (size != 0).then_some((seg, off, size))
}

/// AH=67h: BX = the number of handles the current process may have (RBIL INT 21/AH=67h).
/// Up to [`JFT_SIZE`] the table is the PSP's own (at 18h): nothing to do if it still is,
/// else its first 20 entries go back there. More than 20 take a new block of DOS memory
/// owned by the process; the handles are copied, the rest unused, and PSP 32h (size) and
/// 34h (far pointer) updated; a previous block is freed. Error 04h if a handle that would
/// be dropped is open (as MS-DOS), 08h if the memory is not there.
fn set_handle_count(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let psp = sda::current_psp(ctx);
    let (seg, off, size) = jft(ctx, psp).ok_or(0x06u16)?;
    let wanted = ctx.bx();
    let in_psp = seg == psp && off == 0x18;
    if wanted <= JFT_SIZE && in_psp {
        return Ok(());
    }
    let new_size = wanted.max(JFT_SIZE);
    if (new_size..size).any(|h| ctx.rd8(seg, off.wrapping_add(h)) != UNUSED) {
        return Err(0x04);
    }
    let (new_seg, new_off) = if new_size == JFT_SIZE {
        (psp, 0x18)
    } else {
        let paras = new_size.div_ceil(16);
        let block = fw.dos.arena.alloc(ctx, paras, psp).map_err(|(e, _)| e)?;
        (block, 0)
    };
    let keep = size.min(new_size);
    let handles = ctx.read_bytes(seg, off, usize::from(keep));
    ctx.write_bytes(new_seg, new_off, &handles);
    for h in keep..new_size {
        ctx.wr8(new_seg, new_off + h, UNUSED);
    }
    ctx.wr16(psp, 0x32, new_size);
    ctx.wr16(psp, 0x34, new_off);
    ctx.wr16(psp, 0x36, new_seg);
    if !in_psp {
        fw.dos.arena.free(ctx, seg)?;
    }
    Ok(())
}

/// The system file table index behind `handle` of the current process: 06h if none.
fn sft_index(fw: &Firmware, ctx: &Ctx, handle: u16) -> Result<usize, u16> {
    let (seg, off, size) = jft(ctx, sda::current_psp(ctx)).ok_or(0x06u16)?;
    if handle >= size {
        return Err(0x06);
    }
    let idx = usize::from(ctx.rd8(seg, off.wrapping_add(handle)));
    if fw.dos.files.get(idx).is_some() {
        Ok(idx)
    } else {
        Err(0x06)
    }
}

/// The open entry `idx` (from [`sft_index`]); 06h if it is not open.
fn entry(fw: &Firmware, idx: usize) -> Result<&Sft, u16> {
    fw.dos.files.get(idx).ok_or(0x06)
}

fn entry_mut(fw: &mut Firmware, idx: usize) -> Result<&mut Sft, u16> {
    fw.dos.files.get_mut(idx).ok_or(0x06)
}

/// Opens `target` in a new system file table entry and a free handle of the current
/// process (04h when either table is full).
fn install(fw: &mut Firmware, ctx: &mut Ctx, target: Target, mode: u8) -> Result<u16, u16> {
    let (seg, off, size) = jft(ctx, sda::current_psp(ctx)).ok_or(0x04u16)?;
    let handle = (0..size)
        .find(|&h| ctx.rd8(seg, off.wrapping_add(h)) == UNUSED)
        .ok_or(0x04u16)?;
    let info = match &target {
        Target::File { .. } => INFO_NOT_WRITTEN | u16::from(DRIVE_C),
        Target::Device(d) => d.info(),
    };
    let idx = fw
        .dos
        .files
        .alloc(Sft {
            refs: 1,
            mode,
            pos: 0,
            info,
            target,
        })
        .ok_or(0x04u16)?;
    ctx.wr8(seg, off.wrapping_add(handle), idx as u8);
    Ok(handle)
}

/// Sets up the job file table of a new PSP at `psp`: PSP:32h = 20, PSP:34h = `psp`:0018h,
/// and the 20 bytes at PSP:18h. With a parent (whose table is read through its PSP:32h/34h)
/// the child inherits every handle not opened with the no-inherit bit, at the same numbers
/// (the first 20), and each inherited entry gains a reference. Without one (the first
/// process), handles 0–2 are CON, 3 AUX and 4 PRN, newly opened.
pub(crate) fn init_psp_handles(fw: &mut Firmware, ctx: &mut Ctx, psp: u16, parent: Option<u16>) {
    let mut table = [UNUSED; JFT_SIZE as usize];
    match parent.and_then(|p| jft(ctx, p)) {
        Some((seg, off, size)) => {
            for h in 0..size.min(JFT_SIZE) {
                let idx = ctx.rd8(seg, off.wrapping_add(h));
                if let Some(e) = fw.dos.files.get_mut(usize::from(idx))
                    && e.mode & 0x80 == 0
                {
                    e.refs += 1;
                    table[usize::from(h)] = idx;
                }
            }
        }
        None => {
            let mut open = |dev: Device, refs: u16| {
                fw.dos
                    .files
                    .alloc(Sft {
                        refs,
                        mode: 2,
                        pos: 0,
                        info: dev.info(),
                        target: Target::Device(dev),
                    })
                    .map_or(UNUSED, |i| i as u8)
            };
            let aux = open(Device::Aux, 1);
            let con = open(Device::Con, 3);
            let prn = open(Device::Prn, 1);
            table[..5].copy_from_slice(&[con, con, con, aux, prn]);
        }
    }
    ctx.wr16(psp, 0x32, JFT_SIZE);
    ctx.wr16(psp, 0x34, 0x0018);
    ctx.wr16(psp, 0x36, psp);
    ctx.write_bytes(psp, 0x18, &table);
}

/// Closes every handle of the process whose PSP is at `psp` (termination, AH=4Ch and
/// friends; not for a TSR, whose files stay open).
pub(crate) fn close_all(fw: &mut Firmware, ctx: &mut Ctx, psp: u16) {
    let Some((seg, off, size)) = jft(ctx, psp) else {
        return;
    };
    for h in 0..size {
        let a = off.wrapping_add(h);
        let idx = ctx.rd8(seg, a);
        if idx != UNUSED {
            ctx.wr8(seg, a, UNUSED);
            fw.dos.files.release(usize::from(idx));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Time stamps

fn stamp_of(dt: &DateTime) -> Stamp {
    let year = dt.year.clamp(1980, 2107) - 1980;
    Stamp {
        time: ((dt.hour.min(23) as u16) << 11)
            | ((dt.minute.min(59) as u16) << 5)
            | (dt.second.min(59) as u16 / 2),
        date: (year << 9) | (u16::from(dt.month) << 5) | u16::from(dt.day),
    }
}

fn boot_stamp(fw: &Firmware) -> Stamp {
    stamp_of(&fw.config.dos.boot_time)
}

fn now_stamp(ctx: &Ctx) -> Stamp {
    stamp_of(&bios::wall_clock_fine(ctx).0)
}

// ---------------------------------------------------------------------------------------
// Int 21h

/// The guest path (ASCIZ) at DS:`off`, parsed against drive C:; `bad_name` is the DOS
/// error the calling function gives for a malformed name (02h or 03h).
pub(super) fn guest_path(fw: &Firmware, ctx: &Ctx, off: u16, bad_name: u16) -> Result<Parsed, u16> {
    let path = read_path(ctx, ctx.ds(), off)?;
    fw.dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(bad_name))
}

/// The ASCIZ path at `seg:off`; 03h when it is longer than DOS's buffers.
fn read_path(ctx: &Ctx, seg: u16, off: u16) -> Result<Vec<u8>, u16> {
    let p = ctx.read_asciz(seg, off, MAX_PATH + 1);
    if p.len() > MAX_PATH { Err(0x03) } else { Ok(p) }
}

/// Int 21h functions of this module; returns false when `ctx.ah()` is not one of them.
/// Sets CF and AX = error code on failure, clears CF on success (except for 0Eh, 19h,
/// 1Ah, 2Fh and 36h, which do not report through CF).
pub(crate) fn int21(fw: &mut Firmware, ctx: &mut Ctx) -> bool {
    let result = match ctx.ah() {
        0x0E => {
            // Only C: exists: selecting another drive leaves C: current.
            ctx.set_al(LAST_DRIVE);
            return true;
        }
        0x19 => {
            let drive = sda::current_drive(ctx);
            ctx.set_al(drive);
            return true;
        }
        0x1A => {
            sda::set_dta(ctx, ctx.ds(), ctx.dx());
            return true;
        }
        0x2F => {
            let (seg, off) = sda::dta(ctx);
            ctx.set_es(seg);
            ctx.set_bx(off);
            return true;
        }
        0x36 => {
            free_space(fw, ctx);
            return true;
        }
        0x39 => mkdir(fw, ctx),
        0x3A => rmdir(fw, ctx),
        0x3B => chdir(fw, ctx),
        0x3C => create(fw, ctx, false),
        0x3D => open(fw, ctx),
        0x3E => close(fw, ctx),
        0x3F => read(fw, ctx),
        0x40 => write(fw, ctx),
        0x41 => delete(fw, ctx),
        0x42 => lseek(fw, ctx),
        0x43 => attributes(fw, ctx),
        0x44 => ioctl(fw, ctx),
        0x45 => dup(fw, ctx),
        0x46 => force_dup(fw, ctx),
        0x47 => getcwd(fw, ctx),
        0x4E => find_first(fw, ctx),
        0x4F => find_next(fw, ctx),
        0x56 => rename(fw, ctx),
        0x57 => file_time(fw, ctx),
        0x5A => open::create_temp(fw, ctx),
        0x5B => create(fw, ctx, true),
        0x67 => set_handle_count(fw, ctx),
        0x68 | 0x6A => sft_index(fw, ctx, ctx.bx()).map(|_| ()),
        0x6C => extended_open(fw, ctx),
        _ => return false,
    };
    if super::device::pending(&fw.dos.instance) {
        // A driver answers: its request sets the result (`../device.rs`).
        return true;
    }
    match result {
        Ok(()) => ok(ctx),
        Err(code) => fail(ctx, code),
    }
    true
}

/// Writes `bytes` to CON (DOS's boot messages, and console output before any process
/// exists).
pub(crate) fn write_console(fw: &mut Firmware, ctx: &mut Ctx, bytes: &[u8]) {
    con::con_write(fw, ctx, bytes, false);
}

/// Undoes an open whose driver refused the OPEN request: frees `handle` of the current
/// process and its system file table entry `sft`.
pub(crate) fn undo_open(fw: &mut Firmware, ctx: &mut Ctx, handle: u16, sft: u8) {
    if let Some((seg, off, size)) = jft(ctx, sda::current_psp(ctx))
        && handle < size
    {
        ctx.wr8(seg, off.wrapping_add(handle), UNUSED);
    }
    fw.dos.files.release(usize::from(sft));
}

/// Sends request `command` to the driver of `dev` for the running Int 21h function, when
/// `dev` is a driver's device (`transfer`: the caller's buffer and count). Returns whether
/// a request was started (the function's result then comes from the driver).
fn driver_request(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    dev: &Target,
    len: u8,
    command: u8,
    transfer: Option<(u16, u16, u16)>,
    after: super::device::After,
) -> bool {
    let Target::Device(Device::Driver { seg, off, .. }) = *dev else {
        return false;
    };
    super::device::prepare(ctx, len, command, transfer);
    super::device::start(fw, ctx, seg, off, after);
    true
}

/// Writes `bytes` to `handle` of the current process, as AH=40h with CX = its length
/// (for the dispatcher's character output functions, which DOS sends through handle 1).
/// Returns the bytes written or a DOS error code.
pub(crate) fn write_handle(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    handle: u16,
    bytes: &[u8],
) -> Result<u16, u16> {
    let idx = sft_index(fw, ctx, handle)?;
    write_entry(fw, ctx, idx, bytes)
}

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;

    #[test]
    fn the_first_process_gets_dos_standard_handles() {
        let mut t = T::new(sample_drive(true));
        // SFT 0 = AUX, 1 = CON, 2 = PRN: MS-DOS's 01 01 01 00 02.
        let mut expect = vec![1, 1, 1, 0, 2];
        expect.resize(20, 0xFF);
        assert_eq!(t.jft(PSP), expect);
        let (size, ptr) =
            t.m.with_service_context(|_, ctx| (ctx.rd16(PSP, 0x32), ctx.rd32(PSP, 0x34)));
        assert_eq!(size, 20);
        assert_eq!(ptr, (u32::from(PSP) << 16) | 0x18);
        assert_eq!(t.ioctl(0, 0, 0).dx, 0x80D3);
        assert_eq!(t.ioctl(0, 3, 0).dx, 0x80C0);
        assert_eq!(t.ioctl(0, 4, 0).dx, 0xA0C0);
    }

    #[test]
    fn children_inherit_handles_except_no_inherit_ones() {
        let mut t = T::new(sample_drive(true));
        let shared = t.open("README.TXT", 0x00).unwrap();
        let private = t.open("README.TXT", 0x80).unwrap();
        assert_eq!((shared, private), (5, 6));
        let child = 0x1800;
        t.m.with_service_context(|fw, ctx| init_psp_handles(fw.unwrap(), ctx, child, Some(PSP)));
        let parent_jft = t.jft(PSP);
        let child_jft = t.jft(child);
        assert_eq!(child_jft[..6], parent_jft[..6]);
        assert_eq!(child_jft[6], 0xFF);
        let open_before = t.fw().dos.files.open_count();
        // The child reads through the shared entry: the parent sees the position move.
        t.set_psp(child);
        assert_eq!(t.read(shared, 4).unwrap(), b"0123");
        assert_eq!(t.close(private), Err(0x06));
        t.m.with_service_context(|fw, ctx| close_all(fw.unwrap(), ctx, child));
        assert_eq!(t.jft(child), vec![0xFF; 20]);
        // The entries are still the parent's.
        assert_eq!(t.fw().dos.files.open_count(), open_before);
        t.set_psp(PSP);
        assert_eq!(t.read(shared, 2).unwrap(), b"45");
        t.m.with_service_context(|fw, ctx| close_all(fw.unwrap(), ctx, PSP));
        assert_eq!(t.fw().dos.files.open_count(), 0);
    }

    #[test]
    fn the_system_file_table_has_40_entries() {
        let mut t = T::new(sample_drive(true));
        // PSP 1: 3 device entries + 15 files = 18.
        for _ in 0..15 {
            t.open("README.TXT", 0).unwrap();
        }
        // PSP 2 (another first process): 3 + 15 more = 36; PSP 3: 3 + 1 = 40.
        for psp in [0x1800u16, 0x1900] {
            t.m.with_service_context(|fw, ctx| init_psp_handles(fw.unwrap(), ctx, psp, None));
            t.set_psp(psp);
        }
        t.set_psp(0x1800);
        for _ in 0..15 {
            t.open("README.TXT", 0).unwrap();
        }
        t.set_psp(0x1900);
        t.open("README.TXT", 0).unwrap();
        assert_eq!(t.fw().dos.files.open_count(), SFT_ENTRIES);
        assert_eq!(t.open("README.TXT", 0), Err(0x04));
        // Dup shares an entry, so it still works.
        let o = t.call(Regs {
            ax: 0x4500,
            bx: 1,
            ..Regs::default()
        });
        assert!(!o.cf);
    }

    #[test]
    fn a_read_only_drive_refuses_every_change() {
        let mut t = T::new(sample_drive(false));
        assert_eq!(t.create("NEW.TXT", 0), Err(0x05));
        assert_eq!(t.create("README.TXT", 0), Err(0x05));
        // Opening for writing succeeds; writing does not.
        let h = t.open("README.TXT", 2).unwrap();
        assert_eq!(t.read(h, 4).unwrap(), b"0123");
        assert_eq!(t.write(h, b"x"), Err(0x05));
        assert_eq!(t.write(h, b""), Err(0x05));
        assert_eq!(
            t.call(Regs {
                ax: 0x5701,
                bx: h,
                ..Regs::default()
            })
            .result(),
            Err(0x05)
        );
        assert_eq!(t.path_call(0x4100, 0, "README.TXT"), Err(0x05));
        // Existence is checked first.
        assert_eq!(t.path_call(0x4100, 0, "NOPE.TXT"), Err(0x02));
        assert_eq!(t.path_call(0x3900, 0, "NEWDIR"), Err(0x05));
        assert_eq!(t.path_call(0x3A00, 0, "SUB"), Err(0x05));
        assert_eq!(t.path_call(0x4301, 1, "README.TXT"), Err(0x05));
        t.put_asciz(NAME2, "OTHER.TXT");
        let o = t.call(Regs {
            ax: 0x5600,
            dx: NAME,
            di: NAME2,
            ..Regs::default()
        });
        assert!(o.cf && o.ax == 0x05, "{o:?}");
        assert_eq!(t.drive().file("README.TXT"), Some(&b"0123456789"[..]));
    }

    #[test]
    fn without_a_process_every_handle_is_invalid() {
        let mut t = T::new(sample_drive(true));
        t.set_psp(0);
        assert_eq!(t.read(0, 1), Err(0x06));
        assert_eq!(t.open("README.TXT", 0), Err(0x04));
    }

    #[test]
    fn other_functions_are_not_ours() {
        let mut t = T::new(sample_drive(true));
        let handled = t.m.with_service_context(|fw, ctx| {
            ctx.set_ax(0x4C00);
            int21(fw.unwrap(), ctx)
        });
        assert!(!handled);
    }

    #[test]
    fn set_handle_count_moves_the_table_out_of_the_psp_and_back() {
        let mut t = T::new(sample_drive(true));
        t.m.with_service_context(|fw, ctx| {
            fw.unwrap().dos.arena =
                crate::firmware::dos::memory::Arena::format(ctx, 0x4000, 0x9000);
        });
        let h = t.open("README.TXT", 0).unwrap();
        let set = |t: &mut T, n: u16| {
            t.call(Regs {
                ax: 0x6700,
                bx: n,
                ..Regs::default()
            })
            .result()
        };
        // 20 or fewer with the table still in the PSP: nothing changes.
        assert!(set(&mut t, 10).is_ok());
        let psp_word = |t: &mut T, off: u16| t.m.with_service_context(|_, ctx| ctx.rd16(PSP, off));
        assert_eq!((psp_word(&mut t, 0x32), psp_word(&mut t, 0x34)), (20, 0x18));
        // 30: a new table in DOS memory (PSP 32h = size, 34h = far pointer, RBIL #01378),
        // the open handles copied, the rest unused; 24 more files open (30 in all).
        assert!(set(&mut t, 30).is_ok());
        assert_eq!(psp_word(&mut t, 0x32), 30);
        let (off, seg) = (psp_word(&mut t, 0x34), psp_word(&mut t, 0x36));
        assert_eq!(off, 0);
        assert_ne!(seg, PSP);
        let table =
            t.m.with_service_context(|_, ctx| ctx.read_bytes(seg, 0, 30));
        assert_eq!(table[..6], t.jft(PSP)[..6]);
        assert!(table[6..].iter().all(|&b| b == UNUSED));
        let handles: Vec<u16> = (0..24).map(|_| t.open("README.TXT", 0).unwrap()).collect();
        assert_eq!(handles.last(), Some(&29));
        assert_eq!(t.open("README.TXT", 0), Err(0x04)); // the table is full
        assert_eq!(t.read(h, 3).unwrap(), b"012");
        assert_eq!(t.read(29, 2).unwrap(), b"01");
        // Back to 20 while handles above 19 are open: error 04h, nothing changes.
        assert_eq!(set(&mut t, 20), Err(0x04));
        for &k in &handles[14..] {
            t.close(k).unwrap();
        }
        // Now the first 20 go back into the PSP and the block is freed.
        assert!(set(&mut t, 20).is_ok());
        assert_eq!((psp_word(&mut t, 0x32), psp_word(&mut t, 0x34)), (20, 0x18));
        assert_eq!(psp_word(&mut t, 0x36), PSP);
        assert_eq!(t.read(h, 1).unwrap(), b"3");
        let owner = t.m.with_service_context(|_, ctx| ctx.rd16(seg - 1, 1));
        assert_eq!(owner, 0, "the old table's block is free");
    }

    #[test]
    fn create_temporary_file_appends_a_unique_name() {
        let mut t = T::new(sample_drive(true));
        let name_after = |t: &mut T, dir_len: u16| {
            let b = t.get(NAME + dir_len, 9);
            String::from_utf8_lossy(&b).into_owned()
        };
        let first = t.path_call(0x5A00, 0, "SUB\\").unwrap();
        assert_eq!(first, 5); // handles 0-4 are the standard devices
        let a = name_after(&mut t, 4);
        assert!(
            a.ends_with('\0')
                && a[..8]
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
            "{a:?}"
        );
        // Without the trailing backslash DOS adds it; the same time gives the next name.
        let second = t.path_call(0x5A00, 0, "SUB").unwrap();
        assert_eq!(second, 6);
        assert_eq!(t.get(NAME + 3, 1), b"\\");
        let b = name_after(&mut t, 4);
        assert_ne!(a, b);
        assert!(t.drive().is_file(&format!("SUB\\{}", &a[..8])));
        assert!(t.drive().is_file(&format!("SUB\\{}", &b[..8])));
        // A volume-label or directory attribute: access denied; a missing directory: 03h.
        assert_eq!(t.path_call(0x5A00, 0x08, "SUB\\"), Err(0x05));
        assert_eq!(t.path_call(0x5A00, 0, "NONE\\"), Err(0x03));
    }
}
