//! Drive C:'s directories and space: Int 21h AH=36h free space, 39h make, 3Ah remove and
//! 3Bh change directory, 47h current directory.
//!
//! Sources: RBIL INT 21 AH=36h, 39h, 3Ah, 3Bh, 47h and table #01680 (error codes); MS-DOS 5
//! behaviour as described there.
//!
//! - 36h: 8 sectors of 512 bytes per cluster, 32,768 clusters (see
//!   [`drive`]).
//! - **MKDIR of an existing name is 05h**, as RBIL and the MS-DOS 5 reference document, not
//!   50h. Removing the current directory is 10h, the root or a non-empty one 05h.
//! - 47h returns AX = 0100h, as DOS does (undocumented).

use super::drive::{self, Last};
use super::{device, guest_path, now_stamp};
use crate::firmware::{Ctx, Firmware};

/// AH=36h: DL = drive (0 default, 3 = C:).
pub(super) fn free_space(fw: &Firmware, ctx: &mut Ctx) {
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
pub(super) fn mkdir(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let p = guest_path(fw, ctx, ctx.dx(), 0x03)?;
    let Last::Name(name) = p.last else {
        // The path names an existing directory.
        return Err(0x05);
    };
    let key = drive::join(&p.dir, &name);
    let d = &fw.dos.drive;
    if device(fw, ctx, &name).is_some() || d.is_dir(&key) || d.is_file(&key) {
        return Err(0x05);
    }
    if key.len() > drive::MAX_DIR_PATH {
        return Err(0x03);
    }
    if !d.has_room(&p.dir) || !d.is_writable() {
        return Err(0x05);
    }
    let stamp = now_stamp(ctx);
    if fw.dos.drive.make_dir(&key, Some(stamp)) {
        Ok(())
    } else {
        Err(0x05)
    }
}

/// AH=3Ah.
pub(super) fn rmdir(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let p = guest_path(fw, ctx, ctx.dx(), 0x03)?;
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
pub(super) fn chdir(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let p = guest_path(fw, ctx, ctx.dx(), 0x03)?;
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
pub(super) fn getcwd(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
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

#[cfg(test)]
mod tests {
    use super::super::LAST_DRIVE;
    use super::super::harness::*;

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
}
