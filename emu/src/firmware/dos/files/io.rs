//! Reading, writing and moving through open handles: Int 21h AH=3Eh close, 3Fh read, 40h
//! write, 42h seek, 45h and 46h duplicate.
//!
//! Sources: RBIL INT 21 AH=3Eh, 3Fh, 40h, 42h, 45h, 46h and table #01680 (error codes);
//! MS-DOS 5 behaviour as described there.
//!
//! - Positions are 32-bit and wrap as in DOS; seeking a device leaves it at 0.
//! - Writes to NUL, AUX, PRN and EMMXXXX0 are accepted and discarded (no serial or printer
//!   BIOS); reads from them return 0 bytes. CON is in `con.rs`.
//! - A driver's character device (`../device.rs`) gets an INPUT (04h) request for 3Fh and
//!   an OUTPUT (08h) request for 40h with the caller's buffer and count, and a CLOSE (0Eh)
//!   for every 3Eh when its attribute has bit 11; AX is the count the driver returns. A
//!   count of 0 sends nothing. (DOS's character output functions 02h/06h/09h through a
//!   handle 1 redirected to such a device are not sent to it.)
//! - After a delete an open handle reads end of file and writes fail with 05h.
//! - A write stamps the file with the guest's wall clock unless 5701h has fixed the stamp
//!   through that handle (device information bit 14), and clears bit 6 (not written).

use super::super::device::{ATTR_OPEN_CLOSE, After, LEN_STATIC, LEN_TRANSFER, cmd};
use super::con::{con_collect, con_write};
use super::{
    Device, INFO_KEEP_STAMP, INFO_NOT_WRITTEN, INFO_RAW, Target, UNUSED, driver_request, entry,
    entry_mut, jft, now_stamp, sft_index, write_handle,
};
use crate::firmware::dos::sda;
use crate::firmware::{Ctx, Firmware};

/// AH=3Eh.
pub(super) fn close(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let handle = ctx.bx();
    let idx = sft_index(fw, ctx, handle)?;
    if let Some((seg, off, _)) = jft(ctx, sda::current_psp(ctx)) {
        ctx.wr8(seg, off.wrapping_add(handle), UNUSED);
    }
    let target = entry(fw, idx)?.target.clone();
    fw.dos.files.release(idx);
    // A driver that asks for them gets a CLOSE request for every handle closed.
    if let Target::Device(Device::Driver { attr, .. }) = target
        && attr & ATTR_OPEN_CLOSE != 0
    {
        driver_request(fw, ctx, &target, LEN_STATIC, cmd::CLOSE, None, After::Close);
    }
    Ok(())
}

/// AH=3Fh: BX = handle, CX = bytes, DS:DX → buffer; AX = bytes read.
pub(super) fn read(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let idx = sft_index(fw, ctx, ctx.bx())?;
    let count = usize::from(ctx.cx());
    let e = entry(fw, idx)?;
    if !e.can_read() {
        return Err(0x05);
    }
    let (target, pos, info) = (e.target.clone(), e.pos, e.info);
    if count > 0 {
        let transfer = Some((ctx.ds(), ctx.dx(), count as u16));
        let (len, input) = (LEN_TRANSFER, cmd::INPUT);
        if driver_request(fw, ctx, &target, len, input, transfer, After::Transfer) {
            return Ok(());
        }
    }
    let bytes = match target {
        Target::File { key: Some(key) } => {
            let pos = pos as usize;
            let data = fw.dos.drive.node(&key).map_or(&[][..], |n| &n.data[..]);
            let end = data.len().min(pos.saturating_add(count));
            let bytes = data.get(pos..end).unwrap_or_default().to_vec();
            entry_mut(fw, idx)?.pos = advance(pos, bytes.len());
            bytes
        }
        Target::File { key: None } => Vec::new(),
        Target::Device(Device::Con) => {
            let raw = info & INFO_RAW != 0;
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

pub(super) fn write_entry(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    idx: usize,
    bytes: &[u8],
) -> Result<u16, u16> {
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
            let stamp = (info & INFO_KEEP_STAMP == 0).then(|| now_stamp(ctx));
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
pub(super) fn write(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let idx = sft_index(fw, ctx, ctx.bx())?;
    let e = entry(fw, idx)?;
    if let Target::Device(Device::Driver { .. }) = e.target {
        if !e.can_write() {
            return Err(0x05);
        }
        let target = e.target.clone();
        let count = ctx.cx();
        if count == 0 {
            ctx.set_ax(0);
            return Ok(());
        }
        let transfer = Some((ctx.ds(), ctx.dx(), count));
        driver_request(
            fw,
            ctx,
            &target,
            LEN_TRANSFER,
            cmd::OUTPUT,
            transfer,
            After::Transfer,
        );
        return Ok(());
    }
    let bytes = ctx.read_bytes(ctx.ds(), ctx.dx(), usize::from(ctx.cx()));
    let n = write_handle(fw, ctx, ctx.bx(), &bytes)?;
    ctx.set_ax(n);
    Ok(())
}

/// AH=42h: AL = origin (0 start, 1 current, 2 end), CX:DX = signed offset; DX:AX = new
/// position. Positions are 32-bit and wrap as in DOS.
pub(super) fn lseek(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
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

/// AH=45h: BX = handle; AX = new handle (the lowest free), sharing the entry.
pub(super) fn dup(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let idx = sft_index(fw, ctx, ctx.bx())?;
    let (seg, off, size) = jft(ctx, sda::current_psp(ctx)).ok_or(0x06u16)?;
    let handle = (0..size)
        .find(|&h| ctx.rd8(seg, off.wrapping_add(h)) == UNUSED)
        .ok_or(0x04u16)?;
    entry_mut(fw, idx)?.refs += 1;
    ctx.wr8(seg, off.wrapping_add(handle), idx as u8);
    ctx.set_ax(handle);
    Ok(())
}

/// AH=46h: BX = handle, CX = handle to make a copy of it (closed first if open).
pub(super) fn force_dup(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let (from, to) = (ctx.bx(), ctx.cx());
    let idx = sft_index(fw, ctx, from)?;
    let (seg, off, size) = jft(ctx, sda::current_psp(ctx)).ok_or(0x06u16)?;
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

#[cfg(test)]
mod tests {
    use super::super::harness::*;

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
}
