//! Directory entries by name or handle: Int 21h AH=41h delete, 43h attributes, 56h rename,
//! 57h date and time.
//!
//! Sources: RBIL INT 21 AH=41h, 43h, 56h, 57h and table #01680 (error codes); MS-DOS 5
//! behaviour as described there.
//!
//! - Existence checks come before the read-only drive's 05h, so deleting a missing file is
//!   still 02h.
//! - A file renamed away while open: the open handles follow it; after a delete the handle
//!   reads end of file and writes fail with 05h.
//! - 56h: files may move between directories, directories may only be renamed in place; a
//!   new name on another drive is 11h (not same device).
//! - Time stamps: host files report the DOS boot time; a write stamps the file with the
//!   guest's wall clock (deterministic: boot time plus ticks) unless 5701h has fixed the
//!   stamp through that handle (device information bit 14). 5700h on a device returns the
//!   current time.

use super::drive::{self, ATTR_DIRECTORY, ATTR_READ_ONLY, Last, PathError, Stamp};
use super::{
    INFO_KEEP_STAMP, Target, boot_stamp, device, entry, entry_mut, guest_path, now_stamp,
    read_path, sft_index,
};
use crate::firmware::{Ctx, Firmware};

/// AH=41h: DS:DX → name (no wildcards).
pub(super) fn delete(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let p = guest_path(fw, ctx, ctx.dx(), 0x02)?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    if device(fw, ctx, &name).is_some() {
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

/// AH=43h: AL = 0 get (CX = attributes), 1 set (CX); DS:DX → name.
pub(super) fn attributes(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let set = match ctx.al() {
        0 => false,
        1 => true,
        _ => return Err(0x01),
    };
    let p = guest_path(fw, ctx, ctx.dx(), 0x02)?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    if device(fw, ctx, &name).is_some() {
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

/// AH=56h: DS:DX → old name, ES:DI → new name. Files may move between directories;
/// directories may only be renamed in place.
pub(super) fn rename(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
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
    if device(fw, ctx, on).is_some() || device(fw, ctx, nn).is_some() {
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
pub(super) fn file_time(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
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
                Target::Device(_) => now_stamp(ctx),
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
    use super::super::harness::*;

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
}
