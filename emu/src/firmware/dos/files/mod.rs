//! DOS file handles: the system file table, each process's job file table, the Int 21h
//! handle, directory and find functions on drive C:, and the character devices `CON`,
//! `NUL`, `AUX`, `PRN` and `EMMXXXX0`.
//!
//! Sources: RBIL INT 21 pages for functions 0Eh, 19h, 1Ah, 2Fh, 36h, 39h–47h, 4Eh/4Fh, 56h,
//! 57h, 5Bh, 68h, 6Ch, tables #01378 (PSP), #01423 (IOCTL device information), #01626
//! (find data) and #01680 (error codes); MS-DOS 5 behaviour as described there.
//!
//! # Structures
//!
//! - **System file table** ([`FileTable`], in Rust, not in guest memory): at most
//!   [`SFT_ENTRIES`] = 40 open files or devices (as `FILES=40`), each with a reference
//!   count (handles sharing it), open mode, 32-bit position and device information word.
//!   Full: error 04h.
//! - **Job file table**: in guest memory, as DOS has it: the far pointer at PSP:34h and the
//!   size at PSP:32h; each byte indexes the system file table, FFh = unused.
//!   `init_psp_handles` points it at the 20 bytes at PSP:18h. Handles are looked up in
//!   the table of `Dos::current_psp`; with no current PSP (0) every handle is
//!   invalid (06h). A table enlarged by the guest (AH=67h) is honoured through PSP:32h/34h.
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
//! 06h, 07h, 08h; others 01h), 45h/46h duplicate, 4Eh/4Fh find, 56h rename, 57h time, 5Bh
//! create new, 68h commit, 6Ch extended open/create. `int21` returns false for any other
//! AH.
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
//!   stamp through that handle (device information bit 14). 5700h on a device returns the
//!   current time.
//! - Find data (DOS 4/5 layout): 00h drive (3 = C:), 01h 11-byte template, 0Ch search
//!   attributes, 0Dh next entry number, 0Fh directory number (the root 0, stable numbers for
//!   subdirectories in place of start clusters), 11h–14h zero; then 15h attribute, 16h time,
//!   18h date, 1Ah size, 1Eh ASCIZ name. Entries come in name order, `.` and `..` first in
//!   subdirectories. No volume label: attribute 08h alone finds nothing (12h). A device name
//!   without wildcards is found with attribute 40h, size 0 and the current time (DOS 3+).
//! - Device information (4400h, RBIL #01423): CON 80D3h, NUL 8084h, AUX 80C0h, PRN A0C0h,
//!   EMMXXXX0 C0C0h; files 0042h (drive C:, not written) with bit 6 cleared by a write.
//!   4401h sets the low byte (bit 7 kept) of a device's word; files 01h, DH ≠ 0 0Dh.
//!   4406h: files FFh before the end, 00h at it; CON FFh when a key is buffered; NUL, AUX,
//!   PRN, EMMXXXX0 00h. 4407h: FFh. 4408h: C: is fixed (AX = 1).
//! - Devices: writes to NUL, AUX, PRN and EMMXXXX0 are accepted and discarded (no serial or
//!   printer BIOS); reads from them return 0 bytes. CON output goes through the BIOS
//!   teletype (`bios::teletype`); in cooked mode tabs expand to the next multiple of 8.
//!   Seeking a device leaves it at 0.
//! - **CON input** (3Fh on a CON handle). DOS reads a whole line in cooked mode and never
//!   returns without one; Rust cannot wait, so the Int 21h dispatcher must call
//!   `read_needs_input` first: it consumes the keys already in the BIOS buffer into
//!   DOS's line (echo and editing as for AH=0Ah: backspace, Esc cancels the line, control
//!   characters echo as `^X`, extended keys ignored, a full 127-character line beeps) and
//!   returns true while the line has no CR yet, or, in raw mode (4401h bit 5), while fewer
//!   than CX keys have arrived. The dispatcher then waits for a key (the stub's wait loop)
//!   and retries the call. When it returns false, `int21` completes the read: the line
//!   plus CR LF, CX bytes at a time, the rest kept for the next read (raw mode: the keys,
//!   extended keys as 00h + scan code). Called without that check, 3Fh returns what is
//!   ready, possibly 0 bytes.
//! - No Ctrl-C checking, no critical errors (Int 24h), no FCB functions.

use serde::{Deserialize, Serialize};

use super::drive::{
    self, ATTR_DEVICE, ATTR_DIRECTORY, ATTR_HIDDEN, ATTR_READ_ONLY, ATTR_SYSTEM, ATTR_VOLUME, Last,
    PathError, Stamp,
};
use super::{fail, ok};
use crate::firmware::bios::{self, DateTime};
use crate::firmware::{Ctx, Firmware};

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
}

impl Device {
    fn name(self) -> &'static str {
        match self {
            Device::Con => "CON",
            Device::Nul => "NUL",
            Device::Aux => "AUX",
            Device::Prn => "PRN",
            Device::Emm => "EMMXXXX0",
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
        }
    }
}

/// The device a (final, upper-case) name refers to, if any: DOS ignores the extension.
fn device(fw: &Firmware, name: &str) -> Option<Device> {
    let base = name.split_once('.').map_or(name, |(b, _)| b);
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
}

impl FileTable {
    pub fn new() -> FileTable {
        FileTable::default()
    }

    /// Open entries (for tests and observations).
    pub fn open_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }

    fn alloc(&mut self, sft: Sft) -> Option<usize> {
        if let Some(i) = self.entries.iter().position(Option::is_none) {
            self.entries[i] = Some(sft);
            Some(i)
        } else if self.entries.len() < SFT_ENTRIES {
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

/// The system file table index behind `handle` of the current process: 06h if none.
fn sft_index(fw: &Firmware, ctx: &Ctx, handle: u16) -> Result<usize, u16> {
    let (seg, off, size) = jft(ctx, fw.dos.current_psp).ok_or(0x06u16)?;
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
    let (seg, off, size) = jft(ctx, fw.dos.current_psp).ok_or(0x04u16)?;
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

fn now_stamp(fw: &Firmware, ctx: &Ctx) -> Stamp {
    stamp_of(&bios::wall_clock_fine(fw, ctx).0)
}

// ---------------------------------------------------------------------------------------
// Int 21h

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
            ctx.set_al(DRIVE_C);
            return true;
        }
        0x1A => {
            fw.dos.dta = (ctx.ds(), ctx.dx());
            return true;
        }
        0x2F => {
            let (seg, off) = fw.dos.dta;
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
        0x5B => create(fw, ctx, true),
        0x68 => sft_index(fw, ctx, ctx.bx()).map(|_| ()),
        0x6C => extended_open(fw, ctx),
        _ => return false,
    };
    match result {
        Ok(()) => ok(ctx),
        Err(code) => fail(ctx, code),
    }
    true
}

/// AH=36h: DL = drive (0 default, 3 = C:).
fn free_space(fw: &Firmware, ctx: &mut Ctx) {
    if matches!(ctx.dl(), 0 | 3) {
        ctx.set_ax(drive::SECTORS_PER_CLUSTER);
        ctx.set_bx(fw.dos.drive.free_clusters().min(0xFFFF) as u16);
        ctx.set_cx(drive::BYTES_PER_SECTOR);
        ctx.set_dx(drive::TOTAL_CLUSTERS.min(0xFFFF) as u16);
    } else {
        ctx.set_ax(0xFFFF);
    }
}

/// AH=39h.
fn mkdir(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x03))?;
    let Last::Name(name) = p.last else {
        // The path names an existing directory.
        return Err(0x05);
    };
    let key = drive::join(&p.dir, &name);
    let d = &fw.dos.drive;
    if device(fw, &name).is_some() || d.is_dir(&key) || d.is_file(&key) {
        return Err(0x05);
    }
    if key.len() > drive::MAX_DIR_PATH {
        return Err(0x03);
    }
    if !d.has_room(&p.dir) || !d.is_writable() {
        return Err(0x05);
    }
    let stamp = now_stamp(fw, ctx);
    if fw.dos.drive.make_dir(&key, Some(stamp)) {
        Ok(())
    } else {
        Err(0x05)
    }
}

/// AH=3Ah.
fn rmdir(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x03))?;
    let key = match p.last {
        Last::Name(name) => drive::join(&p.dir, &name),
        _ => p.dir,
    };
    let d = &fw.dos.drive;
    if !d.is_dir(&key) {
        return Err(0x03);
    }
    if key.is_empty() {
        // The root cannot be removed.
        return Err(0x05);
    }
    if key == d.current_dir() {
        return Err(0x10);
    }
    if !d.dir_is_empty(&key) || !d.is_writable() {
        return Err(0x05);
    }
    fw.dos.drive.remove_dir(&key);
    Ok(())
}

/// AH=3Bh.
fn chdir(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x03))?;
    let key = match p.last {
        Last::Name(name) => drive::join(&p.dir, &name),
        _ => p.dir,
    };
    if !fw.dos.drive.is_dir(&key) {
        return Err(0x03);
    }
    fw.dos.drive.set_cwd(key);
    Ok(())
}

/// AH=47h: DL = drive (0 default, 3 = C:), DS:SI → 64-byte buffer.
fn getcwd(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    if !matches!(ctx.dl(), 0 | 3) {
        return Err(0x0F);
    }
    let mut bytes = fw.dos.drive.current_dir().as_bytes().to_vec();
    bytes.push(0);
    ctx.write_bytes(ctx.ds(), ctx.si(), &bytes);
    // DOS returns AX = 0100h (undocumented; some programs test it).
    ctx.set_ax(0x0100);
    Ok(())
}

/// Opens the existing file `key` with `mode` (05h for write access to a read-only file).
fn open_key(fw: &mut Firmware, ctx: &mut Ctx, key: String, mode: u8) -> Result<u16, u16> {
    let attr = fw.dos.drive.node(&key).map_or(0, |n| n.attr);
    if mode & 7 != 0 && attr & ATTR_READ_ONLY != 0 {
        return Err(0x05);
    }
    install(fw, ctx, Target::File { key: Some(key) }, mode)
}

/// Creates (or truncates) file `key` in directory `dir` and opens it with `mode`.
fn create_key(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    dir: &str,
    key: String,
    attr: u8,
    mode: u8,
) -> Result<u16, u16> {
    if attr & (ATTR_VOLUME | ATTR_DIRECTORY) != 0 {
        return Err(0x05);
    }
    let d = &fw.dos.drive;
    if d.is_dir(&key) {
        return Err(0x05);
    }
    match d.node(&key) {
        Some(n) if n.attr & ATTR_READ_ONLY != 0 => return Err(0x05),
        Some(_) => {}
        None if !d.has_room(dir) => return Err(0x05),
        None => {}
    }
    if !d.is_writable() {
        return Err(0x05);
    }
    let stamp = now_stamp(fw, ctx);
    let handle = install(
        fw,
        ctx,
        Target::File {
            key: Some(key.clone()),
        },
        mode,
    )?;
    fw.dos
        .drive
        .create_file(&key, attr | drive::ATTR_ARCHIVE, Some(stamp));
    Ok(handle)
}

/// AH=3Ch (create or truncate) and AH=5Bh (`new_only`: create new file, 50h if it exists).
/// CX = attributes, DS:DX → name. The handle is read/write.
fn create(fw: &mut Firmware, ctx: &mut Ctx, new_only: bool) -> Result<(), u16> {
    let attr = ctx.cl();
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x03))?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    let handle = if let Some(dev) = device(fw, &name) {
        install(fw, ctx, Target::Device(dev), 2)?
    } else {
        let key = drive::join(&p.dir, &name);
        if new_only && fw.dos.drive.is_file(&key) {
            return Err(0x50);
        }
        create_key(fw, ctx, &p.dir, key, attr, 2)?
    };
    ctx.set_ax(handle);
    Ok(())
}

/// AH=3Dh: AL = open mode, DS:DX → name.
fn open(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let mode = ctx.al();
    if mode & 7 > 2 {
        return Err(0x0C);
    }
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x02))?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    let handle = if let Some(dev) = device(fw, &name) {
        install(fw, ctx, Target::Device(dev), mode)?
    } else {
        let key = drive::join(&p.dir, &name);
        if fw.dos.drive.is_dir(&key) {
            return Err(0x05);
        }
        if !fw.dos.drive.is_file(&key) {
            return Err(0x02);
        }
        open_key(fw, ctx, key, mode)?
    };
    ctx.set_ax(handle);
    Ok(())
}

/// AX=6C00h: BL = open mode, CX = attributes, DL = action (bits 0–3 if the file exists:
/// 0 fail, 1 open, 2 replace; bits 4–7 if not: 0 fail, 1 create), DS:SI → name.
/// Returns AX = handle, CX = 1 opened, 2 created, 3 replaced.
fn extended_open(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    if ctx.al() != 0 {
        return Err(0x01);
    }
    let (mode, attr, action) = (ctx.bl(), ctx.cl(), ctx.dx());
    let (if_exists, if_missing) = (action & 0x0F, action >> 4);
    if if_exists > 2 || if_missing > 1 {
        return Err(0x01);
    }
    if mode & 7 > 2 {
        return Err(0x0C);
    }
    let path = read_path(ctx, ctx.ds(), ctx.si())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x03))?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    let (handle, taken) = if let Some(dev) = device(fw, &name) {
        (install(fw, ctx, Target::Device(dev), mode)?, 1)
    } else {
        let key = drive::join(&p.dir, &name);
        if fw.dos.drive.is_dir(&key) {
            return Err(0x05);
        }
        if fw.dos.drive.is_file(&key) {
            match if_exists {
                0 => return Err(0x50),
                1 => (open_key(fw, ctx, key, mode)?, 1),
                _ => (create_key(fw, ctx, &p.dir, key, attr, mode)?, 3),
            }
        } else if if_missing == 0 {
            return Err(0x02);
        } else {
            (create_key(fw, ctx, &p.dir, key, attr, mode)?, 2)
        }
    };
    ctx.set_ax(handle);
    ctx.set_cx(taken);
    Ok(())
}

/// AH=3Eh.
fn close(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let handle = ctx.bx();
    let idx = sft_index(fw, ctx, handle)?;
    if let Some((seg, off, _)) = jft(ctx, fw.dos.current_psp) {
        ctx.wr8(seg, off.wrapping_add(handle), UNUSED);
    }
    fw.dos.files.release(idx);
    Ok(())
}

/// AH=3Fh: BX = handle, CX = bytes, DS:DX → buffer; AX = bytes read.
fn read(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let idx = sft_index(fw, ctx, ctx.bx())?;
    let count = usize::from(ctx.cx());
    let e = entry(fw, idx)?;
    if !e.can_read() {
        return Err(0x05);
    }
    let bytes = match e.target.clone() {
        Target::File { key: Some(key) } => {
            let pos = e.pos as usize;
            let data = fw.dos.drive.node(&key).map_or(&[][..], |n| &n.data[..]);
            let end = data.len().min(pos.saturating_add(count));
            let bytes = data.get(pos..end).unwrap_or_default().to_vec();
            entry_mut(fw, idx)?.pos = advance(pos, bytes.len());
            bytes
        }
        Target::File { key: None } => Vec::new(),
        Target::Device(Device::Con) => {
            let raw = e.info & INFO_RAW != 0;
            con_collect(fw, ctx, raw, count);
            let ready = &mut fw.dos.files.con_ready;
            let n = count.min(ready.len());
            ready.drain(..n).collect()
        }
        Target::Device(_) => Vec::new(),
    };
    ctx.write_bytes(ctx.ds(), ctx.dx(), &bytes);
    ctx.set_ax(bytes.len() as u16);
    Ok(())
}

/// `pos + n` as a file position (never past 4 GiB - 1: reads stop at the file's end).
fn advance(pos: usize, n: usize) -> u32 {
    u32::try_from(pos.saturating_add(n)).unwrap_or(u32::MAX)
}

/// Whether the pending Int 21h AH=3Fh call (BX, CX as the caller set them) reads from CON
/// and cannot complete with the keys typed so far. Consumes the keys already in the BIOS
/// buffer into DOS's line (echoing them). The dispatcher calls it before [`int21`] for
/// AH=3Fh and, while it returns true, waits for a key and calls again; false means
/// [`int21`] can run (including for every handle that is not CON input).
pub(crate) fn read_needs_input(fw: &mut Firmware, ctx: &mut Ctx) -> bool {
    if ctx.ah() != 0x3F || ctx.cx() == 0 {
        return false;
    }
    let Ok(idx) = sft_index(fw, ctx, ctx.bx()) else {
        return false;
    };
    let Ok(e) = entry(fw, idx) else {
        return false;
    };
    if e.target != Target::Device(Device::Con) || !e.can_read() {
        return false;
    }
    let raw = e.info & INFO_RAW != 0;
    !con_collect(fw, ctx, raw, usize::from(ctx.cx()))
}

/// Echoes one typed character as DOS does: control characters as `^X`.
fn echo(fw: &mut Firmware, ctx: &mut Ctx, c: u8) {
    if c < 0x20 && c != 0x09 {
        bios::teletype(fw, ctx, b'^');
        bios::teletype(fw, ctx, c + 0x40);
    } else {
        con_write(fw, ctx, &[c], false);
    }
}

/// Moves keys from the BIOS buffer into DOS's CON input. Cooked: edits the line until CR,
/// then makes it (with CR LF) ready; raw: collects `want` keys. Returns whether enough is
/// ready for the read to complete.
fn con_collect(fw: &mut Firmware, ctx: &mut Ctx, raw: bool, want: usize) -> bool {
    if raw {
        while fw.dos.files.con_ready.len() < want {
            let Some(word) = bios::pop_key(ctx) else {
                return false;
            };
            let (ch, scan) = (word as u8, (word >> 8) as u8);
            if (ch == 0 || ch == 0xE0) && scan != 0 {
                fw.dos.files.con_ready.extend([0, scan]);
            } else {
                fw.dos.files.con_ready.push(ch);
            }
        }
        return true;
    }
    if !fw.dos.files.con_ready.is_empty() {
        return true;
    }
    while let Some(word) = bios::pop_key(ctx) {
        let (ch, scan) = (word as u8, (word >> 8) as u8);
        match ch {
            0x0D => {
                con_write(fw, ctx, b"\r\n", true);
                let files = &mut fw.dos.files;
                let mut line = std::mem::take(&mut files.con_line);
                line.extend_from_slice(b"\r\n");
                files.con_ready = line;
                return true;
            }
            0x08 => {
                if let Some(c) = fw.dos.files.con_line.pop() {
                    let columns = if c < 0x20 && c != 0x09 { 2 } else { 1 };
                    for _ in 0..columns {
                        con_write(fw, ctx, b"\x08 \x08", true);
                    }
                }
            }
            0x1B => {
                // Esc cancels the line: DOS prints `\` and starts a new one.
                con_write(fw, ctx, b"\\\r\n", true);
                fw.dos.files.con_line.clear();
            }
            0x00 | 0xE0 if scan != 0 => {
                // Extended keys (DOS's template editing keys are not modelled).
            }
            _ => {
                if fw.dos.files.con_line.len() < CON_LINE_MAX {
                    fw.dos.files.con_line.push(ch);
                    echo(fw, ctx, ch);
                } else {
                    bios::teletype(fw, ctx, 0x07);
                }
            }
        }
    }
    false
}

/// Writes to the console through the BIOS; in cooked mode a tab moves to the next
/// multiple of 8 columns with spaces.
fn con_write(fw: &mut Firmware, ctx: &mut Ctx, bytes: &[u8], raw: bool) {
    for &b in bytes {
        if b == 0x09 && !raw {
            let page = ctx.rd8(bios::BDA, 0x62);
            let col = ctx.rd8(bios::BDA, 0x50 + 2 * u16::from(page & 7));
            for _ in 0..8 - col % 8 {
                bios::teletype(fw, ctx, b' ');
            }
        } else {
            bios::teletype(fw, ctx, b);
        }
    }
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

fn write_entry(fw: &mut Firmware, ctx: &mut Ctx, idx: usize, bytes: &[u8]) -> Result<u16, u16> {
    let e = entry(fw, idx)?;
    if !e.can_write() {
        return Err(0x05);
    }
    let count = bytes.len().min(0xFFFF) as u16;
    match e.target.clone() {
        Target::File { key: None } => Err(0x05),
        Target::File { key: Some(key) } => {
            if !fw.dos.drive.is_writable() {
                return Err(0x05);
            }
            let (pos, info) = (e.pos, e.info);
            let written = if bytes.is_empty() {
                // CX = 0: truncate or extend the file to the position.
                fw.dos.drive.set_len(&key, pos);
                0
            } else {
                fw.dos.drive.write_at(&key, pos, bytes)
            };
            let stamp = (info & INFO_KEEP_STAMP == 0).then(|| now_stamp(fw, ctx));
            fw.dos.drive.touch(&key, stamp);
            let e = entry_mut(fw, idx)?;
            e.pos = advance(pos as usize, written);
            e.info &= !INFO_NOT_WRITTEN;
            Ok(written as u16)
        }
        Target::Device(Device::Con) => {
            let raw = e.info & INFO_RAW != 0;
            con_write(fw, ctx, bytes, raw);
            Ok(count)
        }
        Target::Device(_) => Ok(count),
    }
}

/// AH=40h: BX = handle, CX = bytes, DS:DX → data; AX = bytes written.
fn write(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let bytes = ctx.read_bytes(ctx.ds(), ctx.dx(), usize::from(ctx.cx()));
    let n = write_handle(fw, ctx, ctx.bx(), &bytes)?;
    ctx.set_ax(n);
    Ok(())
}

/// AH=41h: DS:DX → name (no wildcards).
fn delete(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x02))?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    if device(fw, &name).is_some() {
        return Err(0x05);
    }
    let key = drive::join(&p.dir, &name);
    let d = &fw.dos.drive;
    if d.is_dir(&key) {
        return Err(0x05);
    }
    let Some(node) = d.node(&key) else {
        return Err(0x02);
    };
    if node.attr & ATTR_READ_ONLY != 0 || !d.is_writable() {
        return Err(0x05);
    }
    fw.dos.drive.remove_file(&key);
    fw.dos.files.deleted(&key);
    Ok(())
}

/// AH=42h: AL = origin (0 start, 1 current, 2 end), CX:DX = signed offset; DX:AX = new
/// position. Positions are 32-bit and wrap as in DOS.
fn lseek(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let idx = sft_index(fw, ctx, ctx.bx())?;
    let origin = ctx.al();
    if origin > 2 {
        return Err(0x01);
    }
    let offset = (u32::from(ctx.cx()) << 16) | u32::from(ctx.dx());
    let e = entry(fw, idx)?;
    let new = match &e.target {
        Target::Device(_) => 0,
        Target::File { key } => {
            let len = key
                .as_deref()
                .and_then(|k| fw.dos.drive.node(k))
                .map_or(0, |n| u32::try_from(n.data.len()).unwrap_or(u32::MAX));
            let base = match origin {
                0 => 0,
                1 => e.pos,
                _ => len,
            };
            base.wrapping_add(offset)
        }
    };
    entry_mut(fw, idx)?.pos = new;
    ctx.set_ax(new as u16);
    ctx.set_dx((new >> 16) as u16);
    Ok(())
}

/// AH=43h: AL = 0 get (CX = attributes), 1 set (CX); DS:DX → name.
fn attributes(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let set = match ctx.al() {
        0 => false,
        1 => true,
        _ => return Err(0x01),
    };
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, false)
        .map_err(|e| e.code(0x02))?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    if device(fw, &name).is_some() {
        // A device has no directory entry: it reads as attribute 0 and cannot be changed.
        if set {
            return Err(0x05);
        }
        ctx.set_cx(0);
        return Ok(());
    }
    let key = drive::join(&p.dir, &name);
    let d = &fw.dos.drive;
    let (current, is_dir) = if let Some(n) = d.node(&key) {
        (n.attr, false)
    } else if let Some(n) = d.dir_node(&key) {
        (n.attr | ATTR_DIRECTORY, true)
    } else {
        return Err(0x02);
    };
    if !set {
        ctx.set_cx(u16::from(current));
        return Ok(());
    }
    let new = ctx.cl();
    let allowed = drive::FILE_ATTR_MASK | if is_dir { ATTR_DIRECTORY } else { 0 };
    if new & !allowed != 0 || !d.is_writable() {
        return Err(0x05);
    }
    fw.dos.drive.set_file_attr(&key, new);
    Ok(())
}

/// AH=44h, IOCTL: AL = 00h, 01h, 06h, 07h, 08h.
fn ioctl(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    match ctx.al() {
        0x00 => {
            let idx = sft_index(fw, ctx, ctx.bx())?;
            ctx.set_dx(entry(fw, idx)?.info);
        }
        0x01 => {
            let idx = sft_index(fw, ctx, ctx.bx())?;
            if entry(fw, idx)?.info & INFO_DEVICE == 0 {
                return Err(0x01);
            }
            if ctx.dh() != 0 {
                return Err(0x0D);
            }
            let dl = ctx.dl();
            let e = entry_mut(fw, idx)?;
            e.info = (e.info & 0xFF00) | u16::from(dl) | INFO_DEVICE;
        }
        0x06 => {
            let idx = sft_index(fw, ctx, ctx.bx())?;
            let e = entry(fw, idx)?;
            let ready = match &e.target {
                Target::File { key } => key
                    .as_deref()
                    .and_then(|k| fw.dos.drive.node(k))
                    .is_some_and(|n| (e.pos as usize) < n.data.len()),
                Target::Device(Device::Con) => {
                    !fw.dos.files.con_ready.is_empty() || bios::peek_key(ctx).is_some()
                }
                Target::Device(_) => false,
            };
            ctx.set_al(if ready { 0xFF } else { 0x00 });
        }
        0x07 => {
            sft_index(fw, ctx, ctx.bx())?;
            ctx.set_al(0xFF);
        }
        0x08 => {
            // BL = drive (0 default, 3 = C:): AX = 0 removable, 1 fixed.
            if !matches!(ctx.bl(), 0 | 3) {
                return Err(0x0F);
            }
            ctx.set_ax(1);
        }
        _ => return Err(0x01),
    }
    Ok(())
}

/// AH=45h: BX = handle; AX = new handle (the lowest free), sharing the entry.
fn dup(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let idx = sft_index(fw, ctx, ctx.bx())?;
    let (seg, off, size) = jft(ctx, fw.dos.current_psp).ok_or(0x06u16)?;
    let handle = (0..size)
        .find(|&h| ctx.rd8(seg, off.wrapping_add(h)) == UNUSED)
        .ok_or(0x04u16)?;
    entry_mut(fw, idx)?.refs += 1;
    ctx.wr8(seg, off.wrapping_add(handle), idx as u8);
    ctx.set_ax(handle);
    Ok(())
}

/// AH=46h: BX = handle, CX = handle to make a copy of it (closed first if open).
fn force_dup(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let (from, to) = (ctx.bx(), ctx.cx());
    let idx = sft_index(fw, ctx, from)?;
    let (seg, off, size) = jft(ctx, fw.dos.current_psp).ok_or(0x06u16)?;
    if to >= size {
        return Err(0x06);
    }
    if to == from {
        return Ok(());
    }
    let a = off.wrapping_add(to);
    let old = ctx.rd8(seg, a);
    if old != UNUSED {
        fw.dos.files.release(usize::from(old));
    }
    entry_mut(fw, idx)?.refs += 1;
    ctx.wr8(seg, a, idx as u8);
    Ok(())
}

// Find data offsets in the DTA.
const FIND_DRIVE: u16 = 0x00;
const FIND_TEMPLATE: u16 = 0x01;
const FIND_SEARCH_ATTR: u16 = 0x0C;
const FIND_NEXT_ENTRY: u16 = 0x0D;
const FIND_DIR: u16 = 0x0F;
const FIND_ATTR: u16 = 0x15;
const FIND_TIME: u16 = 0x16;
const FIND_DATE: u16 = 0x18;
const FIND_SIZE: u16 = 0x1A;
const FIND_NAME: u16 = 0x1E;
/// "No further entries" in the next-entry field.
const FIND_DONE: u16 = 0xFFFF;

/// Writes a found entry into the DTA's result fields.
fn put_found(ctx: &mut Ctx, dta: (u16, u16), attr: u8, stamp: Stamp, size: u32, name: &str) {
    let (seg, off) = dta;
    ctx.wr8(seg, off.wrapping_add(FIND_ATTR), attr);
    ctx.wr16(seg, off.wrapping_add(FIND_TIME), stamp.time);
    ctx.wr16(seg, off.wrapping_add(FIND_DATE), stamp.date);
    ctx.wr32(seg, off.wrapping_add(FIND_SIZE), size);
    let mut field = [0u8; 13];
    for (f, b) in field.iter_mut().zip(name.bytes()) {
        *f = b;
    }
    ctx.write_bytes(seg, off.wrapping_add(FIND_NAME), &field);
}

/// Where find-next resumes in `listing`: after the entry last returned, whose name is
/// still in the DTA, even if entries were created or deleted since (`hint` is the stored
/// next-entry number, right when the directory has not changed).
fn resume_at(listing: &[drive::Entry], hint: u16, last: &str) -> usize {
    let hint = usize::from(hint);
    if hint >= 1 && listing.get(hint - 1).is_some_and(|e| e.name == last) {
        return hint;
    }
    if let Some(i) = listing.iter().position(|e| e.name == last) {
        return i + 1;
    }
    // The entry is gone: the next one in name order (`.` and `..` are never removed).
    listing
        .iter()
        .position(|e| e.name != "." && e.name != ".." && e.name.as_str() > last)
        .unwrap_or(listing.len())
}

/// Searches directory `dir` for the next entry matching the search state, from the start
/// (`resume` = `None`) or after the entry named by the DTA, and fills the DTA.
fn search(
    fw: &Firmware,
    ctx: &mut Ctx,
    dir: &str,
    pattern: &[u8; 11],
    search_attr: u8,
    resume: Option<(u16, String)>,
) -> Result<(), u16> {
    let (seg, off) = fw.dos.dta;
    if search_attr != ATTR_VOLUME {
        let listing = fw.dos.drive.listing(dir);
        let start = resume.map_or(0, |(hint, last)| resume_at(&listing, hint, &last));
        let special = ATTR_HIDDEN | ATTR_SYSTEM | ATTR_DIRECTORY;
        for (i, e) in listing.iter().enumerate().skip(start) {
            if i >= usize::from(FIND_DONE) - 1 {
                break;
            }
            if e.attr & special & !search_attr != 0
                || !drive::matches(pattern, &drive::template(&e.name))
            {
                continue;
            }
            ctx.wr16(seg, off.wrapping_add(FIND_NEXT_ENTRY), i as u16 + 1);
            let stamp = e.stamp.unwrap_or_else(|| boot_stamp(fw));
            put_found(ctx, (seg, off), e.attr, stamp, e.size, &e.name);
            return Ok(());
        }
    }
    ctx.wr16(seg, off.wrapping_add(FIND_NEXT_ENTRY), FIND_DONE);
    Err(0x12)
}

/// AH=4Eh: CX = search attributes, DS:DX → file specification (wildcards allowed in the
/// last component). Fills the DTA.
fn find_first(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let search_attr = ctx.cl();
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, true)
        .map_err(|e| e.code(0x03))?;
    let (seg, off) = fw.dos.dta;
    let pattern = match p.last {
        Last::Here => return Err(0x03),
        Last::Pattern(t) => t,
        Last::Name(name) => {
            if let Some(dev) = device(fw, &name) {
                let mut state = [0u8; 0x15];
                state[usize::from(FIND_DRIVE)] = DRIVE_C + 1;
                state[1..12].copy_from_slice(&drive::template(dev.name()));
                state[usize::from(FIND_SEARCH_ATTR)] = search_attr;
                let next = usize::from(FIND_NEXT_ENTRY);
                state[next..next + 2].copy_from_slice(&FIND_DONE.to_le_bytes());
                ctx.write_bytes(seg, off, &state);
                let stamp = now_stamp(fw, ctx);
                put_found(ctx, (seg, off), ATTR_DEVICE, stamp, 0, dev.name());
                return Ok(());
            }
            drive::template(&name)
        }
    };
    let id = fw.dos.drive.dir_id(&p.dir).ok_or(0x03u16)?;
    let mut state = [0u8; 0x15];
    state[usize::from(FIND_DRIVE)] = DRIVE_C + 1;
    state[1..12].copy_from_slice(&pattern);
    state[usize::from(FIND_SEARCH_ATTR)] = search_attr;
    let dir = usize::from(FIND_DIR);
    state[dir..dir + 2].copy_from_slice(&id.to_le_bytes());
    ctx.write_bytes(seg, off, &state);
    search(fw, ctx, &p.dir, &pattern, search_attr, None)
}

/// AH=4Fh: continues the search whose state is in the DTA.
fn find_next(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let (seg, off) = fw.dos.dta;
    let state = ctx.read_bytes(seg, off, 0x15);
    let word = |at: u16| {
        let at = usize::from(at);
        u16::from_le_bytes([state[at], state[at + 1]])
    };
    let (next, id) = (word(FIND_NEXT_ENTRY), word(FIND_DIR));
    if state[usize::from(FIND_DRIVE)] != DRIVE_C + 1 || next == FIND_DONE {
        return Err(0x12);
    }
    let Some(dir) = fw.dos.drive.dir_by_id(id) else {
        return Err(0x12);
    };
    let mut pattern = [0u8; 11];
    pattern.copy_from_slice(&state[usize::from(FIND_TEMPLATE)..12]);
    let search_attr = state[usize::from(FIND_SEARCH_ATTR)];
    let found = ctx.read_asciz(seg, off.wrapping_add(FIND_NAME), 13);
    let last = String::from_utf8_lossy(&found).into_owned();
    search(fw, ctx, &dir, &pattern, search_attr, Some((next, last)))
}

/// AH=56h: DS:DX → old name, ES:DI → new name. Files may move between directories;
/// directories may only be renamed in place.
fn rename(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let old = read_path(ctx, ctx.ds(), ctx.dx())?;
    let new = read_path(ctx, ctx.es(), ctx.di())?;
    let d = &fw.dos.drive;
    let po = d.parse_path(&old, false).map_err(|e| e.code(0x02))?;
    let pn = d.parse_path(&new, false).map_err(|e| match e {
        PathError::InvalidDrive => 0x11,
        e => e.code(0x03),
    })?;
    let (Last::Name(on), Last::Name(nn)) = (&po.last, &pn.last) else {
        return Err(0x03);
    };
    if device(fw, on).is_some() || device(fw, nn).is_some() {
        return Err(0x05);
    }
    let from = drive::join(&po.dir, on);
    let to = drive::join(&pn.dir, nn);
    let taken = d.is_file(&to) || d.is_dir(&to);
    if d.is_file(&from) {
        if taken || (po.dir != pn.dir && !d.has_room(&pn.dir)) || !d.is_writable() {
            return Err(0x05);
        }
        fw.dos.drive.rename_file(&from, &to);
        fw.dos.files.renamed(&from, &to);
    } else if d.is_dir(&from) {
        let cwd = d.current_dir();
        let holds_cwd = cwd == from || cwd.starts_with(&format!("{from}\\"));
        if taken || po.dir != pn.dir || holds_cwd || !d.fits_renamed(&from, &to) || !d.is_writable()
        {
            return Err(0x05);
        }
        for (a, b) in fw.dos.drive.rename_dir(&from, &to) {
            fw.dos.files.renamed(&a, &b);
        }
    } else {
        return Err(0x02);
    }
    Ok(())
}

/// AH=57h: AL = 0 get (CX = time, DX = date), 1 set; BX = handle.
fn file_time(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let idx = sft_index(fw, ctx, ctx.bx())?;
    let e = entry(fw, idx)?;
    match ctx.al() {
        0 => {
            let stamp = match &e.target {
                Target::File { key } => key
                    .as_deref()
                    .and_then(|k| fw.dos.drive.node(k))
                    .and_then(|n| n.stamp)
                    .unwrap_or_else(|| boot_stamp(fw)),
                Target::Device(_) => now_stamp(fw, ctx),
            };
            ctx.set_cx(stamp.time);
            ctx.set_dx(stamp.date);
        }
        1 => {
            if let Target::File { key: Some(key) } = e.target.clone() {
                if !fw.dos.drive.is_writable() {
                    return Err(0x05);
                }
                let stamp = Stamp {
                    time: ctx.cx(),
                    date: ctx.dx(),
                };
                fw.dos.drive.set_stamp(&key, stamp);
                entry_mut(fw, idx)?.info |= INFO_KEEP_STAMP;
            }
        }
        _ => return Err(0x01),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Reg16, SegReg};
    use crate::firmware::FirmwareConfig;
    use crate::firmware::dos::DriveC;
    use crate::machine::{Machine, MachineConfig};

    const PSP: u16 = 0x1000;
    const STACK: u16 = 0x2000;
    /// DS = ES for names and buffers.
    const DATA: u16 = 0x3000;
    const NAME: u16 = 0x0000;
    const NAME2: u16 = 0x0100;
    const BUF: u16 = 0x1000;
    const DTA: u16 = 0x0800;

    /// Boot time 1994-01-01 00:00:00 in directory-entry form: date (14 << 9) | (1 << 5) | 1.
    const BOOT_DATE: u16 = 0x1C21;
    const BOOT_TIME: u16 = 0x0000;

    #[derive(Clone, Copy, Default)]
    struct Regs {
        ax: u16,
        bx: u16,
        cx: u16,
        dx: u16,
        si: u16,
        di: u16,
    }

    #[derive(Clone, Copy, Debug)]
    struct Out {
        ax: u16,
        bx: u16,
        cx: u16,
        dx: u16,
        cf: bool,
    }

    impl Out {
        fn result(self) -> Result<u16, u16> {
            if self.cf { Err(self.ax) } else { Ok(self.ax) }
        }
    }

    struct T {
        m: Machine,
    }

    fn sample_drive(writable: bool) -> DriveC {
        let mut d = DriveC::new(writable);
        d.insert_file("README.TXT", b"0123456789".to_vec()).unwrap();
        d.insert_file("SUB\\INNER.DAT", b"inner".to_vec()).unwrap();
        d
    }

    impl T {
        fn new(drive: DriveC) -> T {
            T::with_config(FirmwareConfig::default(), drive)
        }

        fn with_config(config: FirmwareConfig, drive: DriveC) -> T {
            let fw = Firmware::new(config, drive, vec![]);
            let mut m = Machine::with_firmware(MachineConfig::default(), fw).unwrap();
            m.with_service_context(|fw, ctx| {
                let fw = fw.unwrap();
                ctx.cpu.set_sreg(SegReg::SS, STACK);
                ctx.cpu.set_reg16(Reg16::SP, 0x100);
                fw.dos.current_psp = PSP;
                fw.dos.dta = (DATA, DTA);
                init_psp_handles(fw, ctx, PSP, None);
            });
            T { m }
        }

        fn fw(&mut self) -> &mut Firmware {
            self.m.firmware_mut().unwrap()
        }

        fn drive(&mut self) -> &DriveC {
            self.fw().drive_c()
        }

        fn put(&mut self, off: u16, bytes: &[u8]) {
            self.m
                .with_service_context(|_, ctx| ctx.write_bytes(DATA, off, bytes));
        }

        fn put_asciz(&mut self, off: u16, s: &str) {
            let mut b = s.as_bytes().to_vec();
            b.push(0);
            self.put(off, &b);
        }

        fn get(&mut self, off: u16, len: usize) -> Vec<u8> {
            self.m
                .with_service_context(|_, ctx| ctx.read_bytes(DATA, off, len))
        }

        fn set_psp(&mut self, psp: u16) {
            self.fw().dos.current_psp = psp;
        }

        fn call(&mut self, r: Regs) -> Out {
            self.m.with_service_context(|fw, ctx| {
                ctx.set_ax(r.ax);
                ctx.set_bx(r.bx);
                ctx.set_cx(r.cx);
                ctx.set_dx(r.dx);
                ctx.set_si(r.si);
                ctx.set_di(r.di);
                ctx.set_ds(DATA);
                ctx.set_es(DATA);
                // CF set before the call: success must clear it.
                ctx.wr16(STACK, 0x104, 0x0203);
                assert!(int21(fw.unwrap(), ctx), "AX={:04X} not handled", r.ax);
                Out {
                    ax: ctx.ax(),
                    bx: ctx.bx(),
                    cx: ctx.cx(),
                    dx: ctx.dx(),
                    cf: ctx.rd16(STACK, 0x104) & 1 != 0,
                }
            })
        }

        fn path_call(&mut self, ax: u16, cx: u16, path: &str) -> Result<u16, u16> {
            self.put_asciz(NAME, path);
            self.call(Regs {
                ax,
                cx,
                dx: NAME,
                ..Regs::default()
            })
            .result()
        }

        fn open(&mut self, path: &str, mode: u8) -> Result<u16, u16> {
            self.path_call(0x3D00 | u16::from(mode), 0, path)
        }

        fn create(&mut self, path: &str, attr: u16) -> Result<u16, u16> {
            self.path_call(0x3C00, attr, path)
        }

        fn close(&mut self, h: u16) -> Result<u16, u16> {
            self.call(Regs {
                ax: 0x3E00,
                bx: h,
                ..Regs::default()
            })
            .result()
        }

        fn write(&mut self, h: u16, bytes: &[u8]) -> Result<u16, u16> {
            self.put(BUF, bytes);
            self.call(Regs {
                ax: 0x4000,
                bx: h,
                cx: bytes.len() as u16,
                dx: BUF,
                ..Regs::default()
            })
            .result()
        }

        fn read(&mut self, h: u16, n: u16) -> Result<Vec<u8>, u16> {
            let got = self
                .call(Regs {
                    ax: 0x3F00,
                    bx: h,
                    cx: n,
                    dx: BUF,
                    ..Regs::default()
                })
                .result()?;
            Ok(self.get(BUF, usize::from(got)))
        }

        fn seek(&mut self, h: u16, origin: u8, offset: i32) -> Result<u32, u16> {
            let o = self.call(Regs {
                ax: 0x4200 | u16::from(origin),
                bx: h,
                cx: (offset as u32 >> 16) as u16,
                dx: offset as u16,
                ..Regs::default()
            });
            o.result().map(|ax| (u32::from(o.dx) << 16) | u32::from(ax))
        }

        fn ioctl(&mut self, al: u8, h: u16, dx: u16) -> Out {
            self.call(Regs {
                ax: 0x4400 | u16::from(al),
                bx: h,
                dx,
                ..Regs::default()
            })
        }

        /// Find first; on success the name found.
        fn find_first(&mut self, spec: &str, attr: u16) -> Result<String, u16> {
            self.path_call(0x4E00, attr, spec)?;
            Ok(self.found_name())
        }

        fn find_next(&mut self) -> Result<String, u16> {
            self.call(Regs {
                ax: 0x4F00,
                ..Regs::default()
            })
            .result()?;
            Ok(self.found_name())
        }

        fn find_all(&mut self, spec: &str, attr: u16) -> Result<Vec<String>, u16> {
            let mut names = vec![self.find_first(spec, attr)?];
            loop {
                match self.find_next() {
                    Ok(n) => names.push(n),
                    Err(0x12) => return Ok(names),
                    Err(e) => return Err(e),
                }
            }
        }

        fn found_name(&mut self) -> String {
            let b = self.get(DTA + 0x1E, 13);
            let end = b.iter().position(|&c| c == 0).unwrap_or(13);
            String::from_utf8_lossy(&b[..end]).into_owned()
        }

        fn jft(&mut self, psp: u16) -> Vec<u8> {
            self.m
                .with_service_context(|_, ctx| ctx.read_bytes(psp, 0x18, 20))
        }

        /// Puts key words in the BIOS keyboard buffer (BDA 40:1Eh-3Dh).
        fn type_keys(&mut self, words: &[u16]) {
            self.m.with_service_context(|_, ctx| {
                ctx.wr16(0x40, 0x80, 0x1E);
                ctx.wr16(0x40, 0x82, 0x3E);
                let mut tail = ctx.rd16(0x40, 0x1C);
                if tail < 0x1E {
                    tail = 0x1E;
                    ctx.wr16(0x40, 0x1A, 0x1E);
                }
                for &w in words {
                    ctx.wr16(0x40, tail, w);
                    tail = if tail + 2 >= 0x3E { 0x1E } else { tail + 2 };
                }
                ctx.wr16(0x40, 0x1C, tail);
            });
        }

        fn needs_input(&mut self, h: u16, n: u16) -> bool {
            self.m.with_service_context(|fw, ctx| {
                ctx.set_ax(0x3F00);
                ctx.set_bx(h);
                ctx.set_cx(n);
                read_needs_input(fw.unwrap(), ctx)
            })
        }
    }

    /// An ASCII key word (scan code 0 is fine for DOS's purposes).
    fn key(c: u8) -> u16 {
        u16::from(c)
    }

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
    fn create_write_seek_read_truncate() {
        let mut t = T::new(sample_drive(true));
        let h = t.create("C:\\NEW.TXT", 0).unwrap();
        assert_eq!(h, 5);
        assert_eq!(t.write(h, b"hello world"), Ok(11));
        assert_eq!(t.seek(h, 0, 0), Ok(0));
        assert_eq!(t.read(h, 5).unwrap(), b"hello");
        assert_eq!(t.seek(h, 1, 1), Ok(6));
        assert_eq!(t.read(h, 100).unwrap(), b"world");
        // At the end: 0 bytes, no error.
        assert_eq!(t.read(h, 100).unwrap(), b"");
        assert_eq!(t.seek(h, 2, -5), Ok(6));
        assert_eq!(t.read(h, 2).unwrap(), b"wo");
        // CX = 0 truncates at the position...
        assert_eq!(t.seek(h, 0, 5), Ok(5));
        assert_eq!(t.write(h, b""), Ok(0));
        assert_eq!(t.seek(h, 2, 0), Ok(5));
        // ...and extends past the end, zero-filled.
        assert_eq!(t.seek(h, 0, 8), Ok(8));
        assert_eq!(t.write(h, b""), Ok(0));
        assert_eq!(t.seek(h, 0, 10), Ok(10));
        assert_eq!(t.write(h, b"!"), Ok(1));
        assert!(t.close(h).is_ok());
        assert_eq!(t.close(h), Err(0x06));
        assert_eq!(t.drive().file("NEW.TXT"), Some(&b"hello\0\0\0\0\0!"[..]));
        // Seeking before the start wraps as DOS's 32-bit position does.
        let h = t.open("NEW.TXT", 0).unwrap();
        assert_eq!(t.seek(h, 1, -1), Ok(0xFFFF_FFFF));
        assert_eq!(t.read(h, 10).unwrap(), b"");
        assert_eq!(t.seek(h, 3, 0), Err(0x01));
        // Create truncates an existing file; long names are truncated to 8.3 as DOS does.
        let h = t.create("README.TXT", 0).unwrap();
        t.close(h).unwrap();
        assert_eq!(t.drive().file("README.TXT"), Some(&b""[..]));
        let h = t.create("longfilename.text", 0).unwrap();
        t.close(h).unwrap();
        assert!(t.drive().file("LONGFILE.TEX").is_some());
    }

    #[test]
    fn open_errors_follow_dos() {
        let mut t = T::new(sample_drive(true));
        assert_eq!(t.open("NOPE.TXT", 0), Err(0x02));
        assert_eq!(t.open("NOPE\\X.TXT", 0), Err(0x03));
        assert_eq!(t.open("README.TXT", 3), Err(0x0C));
        assert_eq!(t.open("SUB", 0), Err(0x05));
        assert_eq!(t.open("*.TXT", 0), Err(0x02));
        let ro = t.open("README.TXT", 0).unwrap();
        assert_eq!(t.write(ro, b"x"), Err(0x05));
        let wo = t.open("README.TXT", 1).unwrap();
        assert_eq!(t.read(wo, 1), Err(0x05));
        assert_eq!(t.read(19, 1), Err(0x06));
        assert_eq!(t.read(20, 1), Err(0x06));
        assert_eq!(t.close(999), Err(0x06));
        // Handles 5.. up to the 20-entry table: 04h when it is full.
        for _ in 7..20 {
            t.open("README.TXT", 0).unwrap();
        }
        assert_eq!(t.open("README.TXT", 0), Err(0x04));
        assert_eq!(t.create("OTHER.TXT", 0), Err(0x04));
        // No file was created by the failed create.
        assert!(t.drive().file("OTHER.TXT").is_none());
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
    fn paths_cannot_escape_the_drive() {
        let mut t = T::new(sample_drive(true));
        for (path, code) in [
            ("..\\..\\X", 0x03),
            ("..\\README.TXT", 0x03),
            ("C:\\..\\X", 0x03),
            ("\\..\\README.TXT", 0x03),
            ("D:X", 0x0F),
            ("D:\\README.TXT", 0x0F),
            ("/etc/passwd", 0x03),
            ("\\\\host\\x", 0x03),
            ("C:\\SUB\\\\INNER.DAT", 0x03),
        ] {
            assert_eq!(t.open(path, 0), Err(code), "{path}");
            assert_eq!(t.create(path, 0), Err(code), "{path}");
        }
        // Forward slashes and relative paths work inside the drive.
        assert!(t.open("/sub/inner.dat", 0).is_ok());
        assert_eq!(t.path_call(0x3B00, 0, "SUB"), Ok(0x3B00));
        let h = t.open("..\\README.TXT", 0).unwrap();
        assert_eq!(t.read(h, 3).unwrap(), b"012");
        assert_eq!(t.open("..\\..\\README.TXT", 0), Err(0x03));
        assert!(t.open("INNER.DAT", 0).is_ok());
        assert_eq!(t.path_call(0x3B00, 0, "C:\\..\\"), Err(0x03));
        assert_eq!(t.path_call(0x3B00, 0, "D:\\"), Err(0x0F));
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
    fn find_first_and_next_with_wildcards_and_attributes() {
        let mut d = sample_drive(true);
        d.insert_file("B.TXT", b"bb".to_vec()).unwrap();
        d.insert_file("A.TXT", b"a".to_vec()).unwrap();
        d.insert_file("C.DAT", Vec::new()).unwrap();
        d.insert_file("NOEXT", Vec::new()).unwrap();
        d.insert_file("HIDDEN.TXT", Vec::new()).unwrap();
        d.insert_dir("EMPTY").unwrap();
        let mut t = T::new(d);
        assert_eq!(t.path_call(0x4301, 0x02, "HIDDEN.TXT"), Ok(0x4301));
        assert_eq!(
            t.find_all("*.TXT", 0).unwrap(),
            ["A.TXT", "B.TXT", "README.TXT"]
        );
        assert_eq!(
            t.find_all("*.TXT", 0x02).unwrap(),
            ["A.TXT", "B.TXT", "HIDDEN.TXT", "README.TXT"]
        );
        // `*` alone: names without an extension only; directories only with 10h.
        assert_eq!(t.find_all("*", 0).unwrap(), ["NOEXT"]);
        assert_eq!(t.find_all("*", 0x10).unwrap(), ["EMPTY", "NOEXT", "SUB"]);
        assert_eq!(t.find_all("?.*", 0).unwrap(), ["A.TXT", "B.TXT", "C.DAT"]);
        assert_eq!(
            t.find_all("C:\\SUB\\*.*", 0x10).unwrap(),
            [".", "..", "INNER.DAT"]
        );
        assert_eq!(t.find_all("sub\\*.*", 0).unwrap(), ["INNER.DAT"]);
        assert_eq!(t.find_all("EMPTY\\*.*", 0).unwrap_err(), 0x12);
        assert_eq!(t.find_all("readme.txt", 0).unwrap(), ["README.TXT"]);
        // No match: 12h (MS-DOS); a missing directory: 03h; the volume label alone: 12h.
        assert_eq!(t.find_first("*.XYZ", 0), Err(0x12));
        assert_eq!(t.find_first("NOPE.TXT", 0), Err(0x12));
        assert_eq!(t.find_first("NOPE\\*.*", 0), Err(0x03));
        assert_eq!(t.find_first("*.*", 0x08), Err(0x12));
        assert_eq!(t.find_first("D:*.*", 0), Err(0x0F));
        assert_eq!(t.find_first("..\\*.*", 0), Err(0x03));
        assert_eq!(t.find_next(), Err(0x12));
    }

    #[test]
    fn find_data_has_the_dos_layout() {
        let mut t = T::new(sample_drive(true));
        assert_eq!(t.find_first("SUB\\INNER.DAT", 0x16).unwrap(), "INNER.DAT");
        let dta = t.get(DTA, 0x2B);
        assert_eq!(dta[0x15], 0x20, "attribute (archive)");
        assert_eq!(u16::from_le_bytes([dta[0x16], dta[0x17]]), BOOT_TIME);
        assert_eq!(u16::from_le_bytes([dta[0x18], dta[0x19]]), BOOT_DATE);
        assert_eq!(
            u32::from_le_bytes([dta[0x1A], dta[0x1B], dta[0x1C], dta[0x1D]]),
            5
        );
        assert_eq!(&dta[0x1E..0x2B], b"INNER.DAT\0\0\0\0");
        assert_eq!(&dta[0x01..0x0C], b"INNER   DAT");
        assert_eq!(dta[0x0C], 0x16);
        // Directories: attribute 10h, size 0.
        assert_eq!(t.find_first("SUB", 0x10).unwrap(), "SUB");
        let dta = t.get(DTA, 0x20);
        assert_eq!(dta[0x15], 0x10);
        assert_eq!(&dta[0x1A..0x1E], &[0, 0, 0, 0]);
        // A device name: attribute 40h (DOS 3+), and only in an existing directory.
        assert_eq!(t.find_first("NUL", 0).unwrap(), "NUL");
        assert_eq!(t.get(DTA + 0x15, 1), [0x40]);
        assert_eq!(t.find_next(), Err(0x12));
        assert_eq!(t.find_first("SUB\\NUL", 0).unwrap(), "NUL");
        assert_eq!(t.find_first("NOPE\\NUL", 0), Err(0x03));
        // The DTA set by 1Ah is the one used, and 2Fh reports it.
        let o = t.call(Regs {
            ax: 0x1A00,
            dx: 0x0900,
            ..Regs::default()
        });
        assert_eq!(o.ax, 0x1A00);
        let o = t.call(Regs {
            ax: 0x2F00,
            ..Regs::default()
        });
        assert_eq!(o.bx, 0x0900);
        assert_eq!(t.fw().dos.dta, (DATA, 0x0900));
        t.path_call(0x4E00, 0, "README.TXT").unwrap();
        assert_eq!(t.get(0x0900 + 0x1E, 11), b"README.TXT\0");
    }

    #[test]
    fn find_next_survives_changes_to_the_directory() {
        let mut d = sample_drive(true);
        d.insert_file("M.TXT", Vec::new()).unwrap();
        let mut t = T::new(d);
        assert_eq!(t.find_first("*.*", 0x10).unwrap(), "M.TXT");
        // Deleting the entry just found does not lose the next one; entries created
        // meanwhile are found if they come later in the listing.
        assert_eq!(t.path_call(0x4100, 0, "M.TXT"), Ok(0x4100));
        for name in ["A.TXT", "N.TXT"] {
            let h = t.create(name, 0).unwrap();
            t.close(h).unwrap();
        }
        assert_eq!(t.find_next().unwrap(), "N.TXT");
        assert_eq!(t.find_next().unwrap(), "README.TXT");
        assert_eq!(t.find_next().unwrap(), "SUB");
        assert_eq!(t.find_next(), Err(0x12));
        assert_eq!(t.find_next(), Err(0x12));
    }

    #[test]
    fn dup_and_force_dup_share_the_entry() {
        let mut t = T::new(sample_drive(true));
        let h = t.create("LOG.TXT", 0).unwrap();
        let d = t
            .call(Regs {
                ax: 0x4500,
                bx: h,
                ..Regs::default()
            })
            .result()
            .unwrap();
        assert_eq!(d, h + 1);
        t.write(h, b"abc").unwrap();
        // One position for both handles.
        assert_eq!(t.seek(d, 1, 0), Ok(3));
        t.close(h).unwrap();
        t.write(d, b"def").unwrap();
        // Redirect standard output (handle 1) to the file.
        let o = t.call(Regs {
            ax: 0x4600,
            bx: d,
            cx: 1,
            ..Regs::default()
        });
        assert!(!o.cf);
        t.write(1, b"!").unwrap();
        assert_eq!(t.drive().file("LOG.TXT"), Some(&b"abcdef!"[..]));
        assert_eq!(t.ioctl(0, 1, 0).dx & 0x80, 0, "handle 1 is now a file");
        // Handles 0 and 2 are still the console.
        assert_eq!(t.ioctl(0, 2, 0).dx, 0x80D3);
        assert_eq!(
            t.call(Regs {
                ax: 0x4600,
                bx: d,
                cx: 20,
                ..Regs::default()
            })
            .result(),
            Err(0x06)
        );
        assert_eq!(
            t.call(Regs {
                ax: 0x4500,
                bx: 17,
                ..Regs::default()
            })
            .result(),
            Err(0x06)
        );
    }

    #[test]
    fn ioctl_reports_devices_and_files() {
        let mut t = T::new(sample_drive(true));
        let h = t.create("F.TXT", 0).unwrap();
        // File on C: (drive 2), not yet written: bit 6.
        assert_eq!(t.ioctl(0, h, 0).dx, 0x0042);
        assert_eq!(t.ioctl(7, h, 0).ax & 0xFF, 0xFF);
        t.write(h, b"xy").unwrap();
        assert_eq!(t.ioctl(0, h, 0).dx, 0x0002);
        // Input status: at the end 00h, before it FFh.
        assert_eq!(t.ioctl(6, h, 0).ax & 0xFF, 0x00);
        t.seek(h, 0, 0).unwrap();
        assert_eq!(t.ioctl(6, h, 0).ax & 0xFF, 0xFF);
        // Set device information: files refuse (01h), DH must be 0 (0Dh).
        assert_eq!(t.ioctl(1, h, 0x0020).result(), Err(0x01));
        assert_eq!(t.ioctl(1, 1, 0x0120).result(), Err(0x0D));
        let nul = t.open("NUL", 2).unwrap();
        assert_eq!(t.ioctl(0, nul, 0).dx, 0x8084);
        assert_eq!(t.write(nul, b"gone"), Ok(4));
        assert_eq!(t.read(nul, 4).unwrap(), b"");
        // NUL with any extension and in any directory is still NUL.
        let nul2 = t.open("SUB\\NUL.TXT", 0).unwrap();
        assert_eq!(t.ioctl(0, nul2, 0).dx, 0x8084);
        assert_eq!(t.ioctl(2, h, 0).result(), Err(0x01));
        assert_eq!(t.ioctl(0, 19, 0).result(), Err(0x06));
        // 4408h: C: is fixed.
        let o = t.call(Regs {
            ax: 0x4408,
            bx: 3,
            ..Regs::default()
        });
        assert_eq!(o.result(), Ok(1));
        let o = t.call(Regs {
            ax: 0x4408,
            bx: 1,
            ..Regs::default()
        });
        assert_eq!(o.result(), Err(0x0F));
    }

    #[test]
    fn emmxxxx0_opens_only_with_an_ems_driver() {
        let mut t = T::new(sample_drive(true));
        let h = t.open("EMMXXXX0", 0).unwrap();
        assert_eq!(t.ioctl(0, h, 0).dx & 0x80, 0x80);
        assert_eq!(t.ioctl(7, h, 0).ax & 0xFF, 0xFF);
        let config = FirmwareConfig {
            ems: None,
            ..FirmwareConfig::default()
        };
        let mut t = T::with_config(config, sample_drive(true));
        assert_eq!(t.open("EMMXXXX0", 0), Err(0x02));
    }

    #[test]
    fn console_output_goes_through_the_bios() {
        let mut t = T::new(sample_drive(true));
        t.fw().take_console();
        assert_eq!(t.write(1, b"Hi\r\n"), Ok(4));
        let con = t.open("CON", 1).unwrap();
        assert_eq!(t.write(con, b"x"), Ok(1));
        assert_eq!(t.fw().take_console(), b"Hi\r\nx");
        // The AUX and PRN handles swallow output.
        assert_eq!(t.write(3, b"aux"), Ok(3));
        assert_eq!(t.write(4, b"prn"), Ok(3));
        assert_eq!(t.fw().take_console(), b"");
        // A tab in cooked mode moves to the next multiple of 8 columns.
        assert_eq!(t.write(1, b"\r\nab\tc"), Ok(6));
        assert_eq!(t.fw().take_console(), b"\r\nab      c");
    }

    #[test]
    fn console_reads_wait_for_a_whole_line() {
        let mut t = T::new(sample_drive(true));
        t.fw().take_console();
        assert!(t.needs_input(0, 10), "nothing typed yet");
        t.type_keys(&[key(b'a'), key(b'b'), 0x0E08, key(b'c')]);
        assert!(t.needs_input(0, 10), "no Enter yet");
        // The keys were echoed as typed, the backspace erased one.
        assert_eq!(t.fw().take_console(), b"ab\x08 \x08c");
        t.type_keys(&[0x1C0D, key(b'z')]);
        assert!(!t.needs_input(0, 10));
        assert_eq!(t.fw().take_console(), b"\r\n");
        // CX smaller than the line: the rest comes with the next read.
        assert_eq!(t.read(0, 2).unwrap(), b"ac");
        assert!(!t.needs_input(0, 10));
        assert_eq!(t.read(0, 10).unwrap(), b"\r\n");
        // `z` was typed after Enter: it starts the next line.
        assert!(t.needs_input(0, 10));
        assert_eq!(t.fw().take_console(), b"z");
        // Control characters echo as ^X; Esc cancels the line.
        t.type_keys(&[key(0x01), 0x011B, key(b'q'), 0x1C0D]);
        assert!(!t.needs_input(0, 10));
        assert_eq!(t.fw().take_console(), b"^A\\\r\nq\r\n");
        assert_eq!(t.read(0, 10).unwrap(), b"q\r\n");
        // Input status follows the keyboard buffer.
        assert_eq!(t.ioctl(6, 0, 0).ax & 0xFF, 0x00);
        t.type_keys(&[key(b'k')]);
        assert_eq!(t.ioctl(6, 0, 0).ax & 0xFF, 0xFF);
        // Handles that are not CON input never wait.
        let f = t.open("README.TXT", 0).unwrap();
        assert!(!t.needs_input(f, 10));
    }

    #[test]
    fn raw_console_reads_take_keys_without_echo() {
        let mut t = T::new(sample_drive(true));
        // Set raw mode on handle 0: DOS's 80D3h | 20h.
        let info = t.ioctl(0, 0, 0).dx;
        assert!(t.ioctl(1, 0, (info | 0x20) & 0xFF).result().is_ok());
        assert_eq!(t.ioctl(0, 0, 0).dx, 0x80F3);
        t.fw().take_console();
        t.type_keys(&[key(b'x'), 0x4800]);
        assert!(t.needs_input(0, 4), "three of four bytes typed");
        assert!(!t.needs_input(0, 3));
        // Extended keys arrive as 00h and the scan code.
        assert_eq!(t.read(0, 3).unwrap(), [b'x', 0x00, 0x48]);
        assert_eq!(t.fw().take_console(), b"");
    }

    #[test]
    fn directories_make_change_and_remove() {
        let mut t = T::new(sample_drive(true));
        assert_eq!(t.path_call(0x3900, 0, "NEWDIR"), Ok(0x3900));
        assert_eq!(t.path_call(0x3900, 0, "NEWDIR"), Err(0x05));
        assert_eq!(t.path_call(0x3900, 0, "README.TXT"), Err(0x05));
        assert_eq!(t.path_call(0x3900, 0, "NOPE\\X"), Err(0x03));
        assert_eq!(t.path_call(0x3B00, 0, "newdir"), Ok(0x3B00));
        t.put(NAME2, &[0xAA; 64]);
        let o = t.call(Regs {
            ax: 0x4700,
            dx: 0,
            si: NAME2,
            ..Regs::default()
        });
        assert_eq!(o.result(), Ok(0x0100));
        assert_eq!(t.get(NAME2, 7), b"NEWDIR\0");
        let o = t.call(Regs {
            ax: 0x4700,
            dx: 4,
            si: NAME2,
            ..Regs::default()
        });
        assert_eq!(o.result(), Err(0x0F));
        let h = t.create("F.TXT", 0).unwrap();
        t.close(h).unwrap();
        assert!(t.drive().file("NEWDIR\\F.TXT").is_some());
        assert_eq!(t.path_call(0x3A00, 0, "\\NEWDIR"), Err(0x10));
        assert_eq!(t.path_call(0x3B00, 0, ".."), Ok(0x3B00));
        assert_eq!(t.path_call(0x3A00, 0, "NEWDIR"), Err(0x05), "not empty");
        assert_eq!(t.path_call(0x3A00, 0, "README.TXT"), Err(0x03));
        assert_eq!(t.path_call(0x4100, 0, "NEWDIR"), Err(0x05));
        assert_eq!(t.path_call(0x4100, 0, "NEWDIR\\F.TXT"), Ok(0x4100));
        assert_eq!(t.path_call(0x3A00, 0, "NEWDIR"), Ok(0x3A00));
        assert_eq!(t.path_call(0x3B00, 0, "NEWDIR"), Err(0x03));
        assert_eq!(t.path_call(0x3B00, 0, "README.TXT"), Err(0x03));
        let o = t.call(Regs {
            ax: 0x4700,
            si: NAME2,
            ..Regs::default()
        });
        assert!(!o.cf);
        assert_eq!(t.get(NAME2, 1), [0]);
        // Current drive and select drive.
        assert_eq!(
            t.call(Regs {
                ax: 0x1900,
                ..Regs::default()
            })
            .ax & 0xFF,
            2
        );
        let o = t.call(Regs {
            ax: 0x0E00,
            dx: 0,
            ..Regs::default()
        });
        assert_eq!(o.ax & 0xFF, u16::from(LAST_DRIVE));
        assert_eq!(
            t.call(Regs {
                ax: 0x1900,
                ..Regs::default()
            })
            .ax & 0xFF,
            2
        );
    }

    #[test]
    fn rename_moves_files_and_renames_directories() {
        let mut t = T::new(sample_drive(true));
        let h = t.open("README.TXT", 0).unwrap();
        let rename = |t: &mut T, from: &str, to: &str| {
            t.put_asciz(NAME, from);
            t.put_asciz(NAME2, to);
            t.call(Regs {
                ax: 0x5600,
                dx: NAME,
                di: NAME2,
                ..Regs::default()
            })
            .result()
        };
        assert!(rename(&mut t, "README.TXT", "SUB\\MOVED.TXT").is_ok());
        assert!(t.drive().file("README.TXT").is_none());
        // The open handle follows the file.
        assert_eq!(t.read(h, 3).unwrap(), b"012");
        assert_eq!(
            rename(&mut t, "SUB\\MOVED.TXT", "SUB\\INNER.DAT"),
            Err(0x05)
        );
        assert_eq!(rename(&mut t, "NOPE", "X"), Err(0x02));
        assert_eq!(rename(&mut t, "SUB\\MOVED.TXT", "D:\\X"), Err(0x11));
        assert_eq!(rename(&mut t, "SUB\\MOVED.TXT", "NOPE\\X"), Err(0x03));
        assert!(rename(&mut t, "SUB", "DIR").is_ok());
        assert_eq!(t.drive().file("DIR\\MOVED.TXT"), Some(&b"0123456789"[..]));
        assert_eq!(t.read(h, 3).unwrap(), b"345");
        // Directories do not move to another parent.
        t.path_call(0x3900, 0, "OTHER").unwrap();
        assert_eq!(rename(&mut t, "DIR", "OTHER\\DIR"), Err(0x05));
        // Deleting an open file: its handle reads end of file.
        t.path_call(0x4100, 0, "DIR\\MOVED.TXT").unwrap();
        assert_eq!(t.read(h, 3).unwrap(), b"");
    }

    #[test]
    fn attributes_and_times() {
        let mut t = T::new(sample_drive(true));
        t.put_asciz(NAME, "README.TXT");
        let o = t.call(Regs {
            ax: 0x4300,
            dx: NAME,
            ..Regs::default()
        });
        assert_eq!((o.cf, o.cx), (false, 0x20));
        t.put_asciz(NAME, "SUB");
        let o = t.call(Regs {
            ax: 0x4300,
            dx: NAME,
            ..Regs::default()
        });
        assert_eq!((o.cf, o.cx), (false, 0x10));
        assert_eq!(t.path_call(0x4300, 0, "NOPE"), Err(0x02));
        assert_eq!(t.path_call(0x4301, 0x08, "README.TXT"), Err(0x05));
        assert_eq!(t.path_call(0x4301, 0x10, "README.TXT"), Err(0x05));
        assert_eq!(t.path_call(0x4302, 0, "README.TXT"), Err(0x01));
        // Read-only: no writing open, no delete, no create over it.
        assert!(t.path_call(0x4301, 0x01, "README.TXT").is_ok());
        assert_eq!(t.open("README.TXT", 2), Err(0x05));
        assert_eq!(t.path_call(0x4100, 0, "README.TXT"), Err(0x05));
        assert_eq!(t.create("README.TXT", 0), Err(0x05));
        let h = t.open("README.TXT", 0).unwrap();
        let o = t.call(Regs {
            ax: 0x5700,
            bx: h,
            ..Regs::default()
        });
        assert_eq!((o.cf, o.cx, o.dx), (false, BOOT_TIME, BOOT_DATE));
        assert!(t.path_call(0x4301, 0x00, "README.TXT").is_ok());
        let h = t.open("README.TXT", 2).unwrap();
        // 1999-12-31 23:59:58.
        let (time, date) = ((23 << 11) | (59 << 5) | 29, (19 << 9) | (12 << 5) | 31);
        let o = t.call(Regs {
            ax: 0x5701,
            bx: h,
            cx: time,
            dx: date,
            ..Regs::default()
        });
        assert!(!o.cf);
        // A later write through the same handle keeps the stamp that was set.
        t.write(h, b"x").unwrap();
        let o = t.call(Regs {
            ax: 0x5700,
            bx: h,
            ..Regs::default()
        });
        assert_eq!((o.cx, o.dx), (time, date));
        assert_eq!(t.find_first("README.TXT", 0).unwrap(), "README.TXT");
        assert_eq!(
            t.get(DTA + 0x16, 4),
            [time as u8, (time >> 8) as u8, date as u8, (date >> 8) as u8]
        );
        let o = t.call(Regs {
            ax: 0x5702,
            bx: h,
            ..Regs::default()
        });
        assert_eq!(o.result(), Err(0x01));
    }

    #[test]
    fn create_new_and_extended_open() {
        let mut t = T::new(sample_drive(true));
        assert_eq!(t.path_call(0x5B00, 0, "README.TXT"), Err(0x50));
        let h = t.path_call(0x5B00, 0, "FRESH.TXT").unwrap();
        t.close(h).unwrap();
        let ext = |t: &mut T, name: &str, mode: u16, action: u16| {
            t.put_asciz(NAME, name);
            let o = t.call(Regs {
                ax: 0x6C00,
                bx: mode,
                dx: action,
                si: NAME,
                ..Regs::default()
            });
            o.result().map(|_| o.cx)
        };
        assert_eq!(ext(&mut t, "X.TXT", 2, 0x01), Err(0x02));
        assert_eq!(ext(&mut t, "X.TXT", 2, 0x10), Ok(2));
        assert_eq!(ext(&mut t, "X.TXT", 2, 0x10), Err(0x50));
        assert_eq!(ext(&mut t, "README.TXT", 0, 0x01), Ok(1));
        assert_eq!(ext(&mut t, "README.TXT", 2, 0x12), Ok(3));
        assert_eq!(t.drive().file("README.TXT"), Some(&b""[..]));
        assert_eq!(ext(&mut t, "README.TXT", 2, 0x03), Err(0x01));
        assert_eq!(ext(&mut t, "README.TXT", 7, 0x01), Err(0x0C));
    }

    #[test]
    fn free_space_reports_the_fixed_geometry() {
        let mut t = T::new(sample_drive(true));
        let o = t.call(Regs {
            ax: 0x3600,
            dx: 3,
            ..Regs::default()
        });
        // Two files of one cluster each and the SUB directory: 3 clusters used.
        assert_eq!((o.ax, o.bx, o.cx, o.dx), (8, 32_768 - 3, 512, 32_768));
        let o = t.call(Regs {
            ax: 0x3600,
            dx: 1,
            ..Regs::default()
        });
        assert_eq!(o.ax, 0xFFFF);
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
}
