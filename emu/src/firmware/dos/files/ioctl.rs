//! IOCTL for DOS's file handles, Int 21h AH=44h: 00h get and 01h set device information,
//! 06h input and 07h output status, 08h removable media; others fail with 01h.
//!
//! Sources: RBIL INT 21 AH=44h and table #01423 (device information); MS-DOS 5 behaviour
//! as described there.
//!
//! - Device information (4400h, RBIL #01423): CON 80D3h, NUL 8084h, AUX 80C0h, PRN A0C0h,
//!   EMMXXXX0 C0C0h; files 0042h (drive C:, not written) with bit 6 cleared by a write.
//!   4401h sets the low byte (bit 7 kept) of a device's word; files 01h, DH ≠ 0 0Dh.
//!   4406h: files FFh before the end, 00h at it; CON FFh when a key is buffered; NUL, AUX,
//!   PRN, EMMXXXX0 00h. 4407h: FFh. 4408h: C: is fixed (AX = 1).
//! - An installed driver's character device (`../device.rs`): 4400h gives the word built
//!   from its attribute; 4402h/4403h send IOCTL input/output (03h/0Ch) with DS:DX and CX
//!   when the attribute has bit 14, else fail with 01h; 4406h sends the non-destructive
//!   read (05h) and 4407h output status (0Ah): AL = 00h when the driver answers busy, FFh
//!   otherwise.

use super::super::device::{ATTR_IOCTL, After, LEN_NDREAD, LEN_STATIC, LEN_TRANSFER, cmd};
use super::{Device, INFO_DEVICE, Target, driver_request, entry, entry_mut, sft_index};
use crate::firmware::bios;
use crate::firmware::{Ctx, Firmware};

/// AH=44h, IOCTL: AL = 00h, 01h, 06h, 07h, 08h.
pub(super) fn ioctl(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    if matches!(ctx.al(), 0x02 | 0x03 | 0x06 | 0x07) {
        let idx = sft_index(fw, ctx, ctx.bx())?;
        let target = entry(fw, idx)?.target.clone();
        if let Target::Device(Device::Driver { attr, .. }) = target {
            let transfer = Some((ctx.ds(), ctx.dx(), ctx.cx()));
            let (len, command, transfer, after) = match ctx.al() {
                0x02 | 0x03 if attr & ATTR_IOCTL == 0 => return Err(0x01),
                0x02 => (LEN_TRANSFER, cmd::IOCTL_INPUT, transfer, After::Transfer),
                0x03 => (LEN_TRANSFER, cmd::IOCTL_OUTPUT, transfer, After::Transfer),
                0x06 => (LEN_NDREAD, cmd::NONDESTRUCTIVE_INPUT, None, After::Status),
                _ => (LEN_STATIC, cmd::OUTPUT_STATUS, None, After::Status),
            };
            driver_request(fw, ctx, &target, len, command, transfer, after);
            return Ok(());
        }
    }
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

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use crate::firmware::FirmwareConfig;

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
}
