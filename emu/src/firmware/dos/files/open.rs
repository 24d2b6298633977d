//! Opening and creating files and devices by name: Int 21h AH=3Ch create, 3Dh open, 5Ah
//! create temporary file, 5Bh create new, 6Ch extended open/create.
//!
//! Sources: RBIL INT 21 AH=3Ch, 3Dh, 5Ah, 5Bh, 6Ch and table #01680 (error codes); MS-DOS 5
//! behaviour as described there.
//!
//! - A device name (DOS ignores the extension and the directory) opens the device;
//!   `EMMXXXX0` exists only with an EMS driver. An installed driver's character device is
//!   found by the name in its header (`../device.rs`); 3Ch and 3Dh send it an OPEN
//!   request when its attribute has bit 11 (open/close), and a refusal closes the handle
//!   again. (6Ch opens such a device without the OPEN request.)
//! - Read-only drive (`DriveC::is_writable` false): opening for writing succeeds (many
//!   programs open read/write and only read); creating fails with 05h.
//! - Sharing modes (AL bits 4–6) are kept but not enforced (no SHARE); AL bit 7 is the
//!   no-inherit bit.
//! - 5Bh, and 6Ch told to fail on an existing file, return 50h (file exists).
//! - 5Ah creates a uniquely named file in a directory ([`create_temp`]).

use super::super::device::{ATTR_OPEN_CLOSE, After, LEN_STATIC, cmd};
use super::drive::{self, ATTR_DIRECTORY, ATTR_READ_ONLY, ATTR_VOLUME, Last};
use super::{Device, Target, device, driver_request, guest_path, install, now_stamp, sft_index};
use crate::firmware::bios;
use crate::firmware::{Ctx, Firmware};

/// Opens device `dev` with `mode`; a driver that asks for them (attribute bit 11) gets its
/// OPEN request, and the handle is the caller's only if the driver accepts.
fn open_device(fw: &mut Firmware, ctx: &mut Ctx, dev: Device, mode: u8) -> Result<u16, u16> {
    let handle = install(fw, ctx, Target::Device(dev), mode)?;
    if let Device::Driver { attr, .. } = dev
        && attr & ATTR_OPEN_CLOSE != 0
    {
        let sft = sft_index(fw, ctx, handle)? as u8;
        let after = After::Open { handle, sft };
        driver_request(
            fw,
            ctx,
            &Target::Device(dev),
            LEN_STATIC,
            cmd::OPEN,
            None,
            after,
        );
    }
    Ok(handle)
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
    let stamp = now_stamp(ctx);
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

/// Attributes a temporary file may have (read-only, hidden, system, archive: MS-DOS's
/// `attr_changeable`).
const TEMP_ATTRS: u16 = 0x27;
/// Names 5Ah tries before giving up (MS-DOS retries with the time until one is free).
const TEMP_TRIES: u32 = 256;

/// AH=5Ah: create a file with a unique name in the directory at DS:DX (CX = attributes).
/// As MS-DOS 5 (its FILE.ASM `$CreateTempFile`, RBIL INT 21/AH=5Ah): a missing trailing
/// backslash is added (so an empty path means the root), the name is the time of day as
/// eight hex digits (CH hour, CL minute, DH second, DL hundredths, as AH=2Ch returns
/// them) with no extension, written after the path with its NUL, and the file is created
/// as 5Bh would, the handle read/write in AX. Other attribute bits fail with 05h. MS-DOS
/// takes a new time and tries again while the name exists; the clock stands still during
/// a DOS call here, so the next number is tried instead, [`TEMP_TRIES`] times at most.
pub(super) fn create_temp(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    if ctx.cx() & !TEMP_ATTRS != 0 {
        return Err(0x05);
    }
    let (ds, dx) = (ctx.ds(), ctx.dx());
    let mut end = dx;
    while ctx.rd8(ds, end) != 0 {
        end = end.wrapping_add(1);
        if end == dx {
            return Err(0x03); // no NUL in the whole segment
        }
    }
    if end == dx || !matches!(ctx.rd8(ds, end.wrapping_sub(1)), b'\\' | b'/') {
        ctx.wr8(ds, end, b'\\');
        end = end.wrapping_add(1);
    }
    let (now, hundredths) = bios::wall_clock_fine(ctx);
    let time = now.hour << 24 | now.minute << 16 | now.second << 8 | u32::from(hundredths);
    for k in 0..TEMP_TRIES {
        let name = format!("{:08X}", time.wrapping_add(k));
        ctx.write_bytes(ds, end, name.as_bytes());
        ctx.wr8(ds, end.wrapping_add(8), 0);
        match create(fw, ctx, true) {
            Err(0x50) => continue,
            result => return result,
        }
    }
    Err(0x05)
}

/// AH=3Ch (create or truncate) and AH=5Bh (`new_only`: create new file, 50h if it exists).
/// CX = attributes, DS:DX → name. The handle is read/write.
pub(super) fn create(fw: &mut Firmware, ctx: &mut Ctx, new_only: bool) -> Result<(), u16> {
    let attr = ctx.cl();
    let p = guest_path(fw, ctx, ctx.dx(), 0x03)?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    let handle = if let Some(dev) = device(fw, ctx, &name) {
        open_device(fw, ctx, dev, 2)?
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
pub(super) fn open(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let mode = ctx.al();
    if mode & 7 > 2 {
        return Err(0x0C);
    }
    let p = guest_path(fw, ctx, ctx.dx(), 0x02)?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    let handle = if let Some(dev) = device(fw, ctx, &name) {
        open_device(fw, ctx, dev, mode)?
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
pub(super) fn extended_open(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
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
    let p = guest_path(fw, ctx, ctx.si(), 0x03)?;
    let Last::Name(name) = p.last else {
        return Err(0x03);
    };
    let (handle, taken) = if let Some(dev) = device(fw, ctx, &name) {
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

#[cfg(test)]
mod tests {
    use super::super::harness::*;

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
}
