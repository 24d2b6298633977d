//! Directory searches, Int 21h AH=4Eh find first and 4Fh find next, with their state in
//! the disk transfer area (DTA, set by 1Ah).
//!
//! Sources: RBIL INT 21 AH=4Eh, 4Fh and table #01626 (find data); MS-DOS 5 behaviour as
//! described there.
//!
//! - Find data (DOS 4/5 layout): 00h drive (3 = C:), 01h 11-byte template, 0Ch search
//!   attributes, 0Dh next entry number, 0Fh directory number (the root 0, stable numbers for
//!   subdirectories in place of start clusters), 11h–14h zero; then 15h attribute, 16h time,
//!   18h date, 1Ah size, 1Eh ASCIZ name. Entries come in name order, `.` and `..` first in
//!   subdirectories. No volume label: attribute 08h alone finds nothing (12h). A device name
//!   without wildcards is found with attribute 40h, size 0 and the current time (DOS 3+).
//! - No match, and the end of the search, are 12h (no more files), as MS-DOS.
//! - Find-next resumes after the entry last returned, whose name is still in the DTA, even
//!   if entries were created or deleted since.

use super::drive::{
    self, ATTR_DEVICE, ATTR_DIRECTORY, ATTR_HIDDEN, ATTR_SYSTEM, ATTR_VOLUME, Last, Stamp,
};
use super::{DRIVE_C, boot_stamp, device, now_stamp, read_path};
use crate::firmware::dos::sda;
use crate::firmware::{Ctx, Firmware};

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
    let (seg, off) = sda::dta(ctx);
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
pub(super) fn find_first(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let search_attr = ctx.cl();
    let path = read_path(ctx, ctx.ds(), ctx.dx())?;
    let p = fw
        .dos
        .drive
        .parse_path(&path, true)
        .map_err(|e| e.code(0x03))?;
    let (seg, off) = sda::dta(ctx);
    let pattern = match p.last {
        Last::Here => return Err(0x03),
        Last::Pattern(t) => t,
        Last::Name(name) => {
            if let Some(dev) = device(fw, ctx, &name) {
                let mut state = [0u8; 0x15];
                state[usize::from(FIND_DRIVE)] = DRIVE_C + 1;
                state[1..12].copy_from_slice(&drive::template(dev.name(&name)));
                state[usize::from(FIND_SEARCH_ATTR)] = search_attr;
                let next = usize::from(FIND_NEXT_ENTRY);
                state[next..next + 2].copy_from_slice(&FIND_DONE.to_le_bytes());
                ctx.write_bytes(seg, off, &state);
                let stamp = now_stamp(ctx);
                put_found(ctx, (seg, off), ATTR_DEVICE, stamp, 0, dev.name(&name));
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
pub(super) fn find_next(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let (seg, off) = sda::dta(ctx);
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

#[cfg(test)]
mod tests {
    use super::super::harness::*;

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
        assert_eq!(
            t.m.with_service_context(|_, ctx| crate::firmware::dos::sda::dta(ctx)),
            (DATA, 0x0900)
        );
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
}
