//! Block devices of drivers loaded from CONFIG.SYS: their drive letters, drive parameter
//! blocks and current directory entries, and absolute disk reads and writes (Int 25h/26h)
//! sent to the driver as INPUT and OUTPUT requests.
//!
//! Sources: RBIL INT 21 #02597 (the INIT request: units at 0Dh, the BPB array at 12h, the
//! first drive at 16h), #02607 (INPUT/OUTPUT: media descriptor at 0Dh, transfer address at
//! 0Eh, sector count at 12h, starting sector at 14h, or FFFFh there and the 32-bit sector at
//! 1Ah for drivers with attribute bit 1), #01663 (the BPB), #01395 (the DOS 4.0-6.0 drive
//! parameter block), #01643 (the current directory structure); RBIL INT 25 and INT 26 (AL =
//! drive, CX sectors from DX at DS:BX, or CX = FFFFh and DS:BX -> a packet of a 32-bit sector,
//! a count and a transfer address; CF and AX on return, the caller's FLAGS left on the stack;
//! AH = the disk status of table #02547); the MS-DOS 4.0 source (SYSINIT1.ASM: each unit of a
//! block driver gets the next drive letter and a DPB built from its BPB right after the
//! driver's break address).
//!
//! # Units
//!
//! When a block driver's INIT succeeds, each unit it reports gets the next drive letter
//! after C: (the INIT request told the driver which: 16h), a DPB built from the BPB its INIT
//! returned, placed at the driver's break address (the driver's memory block grows to hold
//! it) and appended to the DPB chain of the List of Lists, a valid current directory
//! structure (the root) and a place in the List of Lists' block device count (+20h).
//!
//! # Absolute disk I/O
//!
//! Int 25h/26h on such a drive send the driver one request for the whole transfer, from
//! guest code on DOS's device stack (`device.rs`'s request stub, ending in `RETF` as the
//! Int 25h/26h entry does):
//!
//! ```text
//! diskreq: call far [cs:strategy]
//!          call far [cs:interrupt]
//!          trap DEVICE_DONE        ; restore the caller, CF and AX from the status
//!          retf                    ; the caller's FLAGS stay on its stack
//! ```
//!
//! An error status returns CF set, AL = the driver's error code and AH = the disk status
//! that code stands for (#02547: 03h write protect, 80h not ready, 04h sector not found,
//! 10h CRC error, 40h seek error, 02h for unknown media, 01h bad command, 20h for the
//! general, read and write faults: the inverse of the IBM PC BIOS disk driver's mapping of
//! Int 13h status to driver error codes).
//!
//! # Limits
//!
//! - Drive letters end at E: (DOS's current directory array has five entries: LASTDRIVE
//!   is not applied yet); units beyond it get none, and their DPBs are not built.
//! - DOS's file system is drive C: (`drive.rs`): the Int 21h file and directory functions
//!   do not read a block driver's FAT, so its drives answer them as invalid drives. Int
//!   25h/26h, 1Fh/32h and 1Ch on them work; Int 25h/26h on C: answer "not ready".
//! - DOS does not send MEDIA CHECK or BUILD BPB before a transfer: the BPB from INIT stays.

use serde::{Deserialize, Serialize};

use super::super::stubs::DOS_DATA_SEG;
use super::super::{Ctx, Firmware};
use super::device::{self, After, REQUEST_OFF, STATUS_ERROR, cmd};
use super::tables;

/// Bytes of a DPB (DOS 4.0-6.0 layout).
pub const DPB_BYTES: u16 = 0x21;
/// Bytes of an INPUT/OUTPUT request with the 32-bit starting sector (DOS 4+).
const LEN_IO: u8 = 0x1E;
/// Attribute bit 1 of a block device: 32-bit sector numbers (RBIL #01647).
const ATTR_32BIT: u16 = 0x0002;

/// One unit of a block driver, with its drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Unit {
    /// The drive, 0 = A:.
    pub drive: u8,
    /// The driver's header.
    pub seg: u16,
    pub off: u16,
    /// The unit number within the driver.
    pub unit: u8,
    /// Its drive parameter block.
    pub dpb_seg: u16,
    pub dpb_off: u16,
}

/// A BPB's numbers as DOS needs them for the DPB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bpb {
    bytes_per_sector: u16,
    sectors_per_cluster: u8,
    reserved: u16,
    fats: u8,
    root_entries: u16,
    total_sectors: u32,
    media: u8,
    sectors_per_fat: u16,
}

impl Bpb {
    /// The BPB at `seg:off` (RBIL #01663); `None` when its numbers describe no file system
    /// DOS could build a DPB for (sector size not a power of two from 32 to 4096, cluster
    /// size not a power of two, no FAT, no data area).
    fn read(ctx: &Ctx, seg: u16, off: u16) -> Option<Bpb> {
        let w = |o: u16| ctx.rd16(seg, off.wrapping_add(o));
        let small = w(0x08);
        let total = if small != 0 {
            u32::from(small)
        } else {
            u32::from(w(0x15)) | u32::from(w(0x17)) << 16
        };
        let b = Bpb {
            bytes_per_sector: w(0x00),
            sectors_per_cluster: ctx.rd8(seg, off.wrapping_add(0x02)),
            reserved: w(0x03),
            fats: ctx.rd8(seg, off.wrapping_add(0x05)),
            root_entries: w(0x06),
            total_sectors: total,
            media: ctx.rd8(seg, off.wrapping_add(0x0A)),
            sectors_per_fat: w(0x0B),
        };
        b.sane().then_some(b)
    }

    /// Whether DOS can build a DPB from these numbers (see [`Bpb::read`]).
    fn sane(self) -> bool {
        self.bytes_per_sector.is_power_of_two()
            && (32..=4096).contains(&self.bytes_per_sector)
            && self.sectors_per_cluster.is_power_of_two()
            && self.fats != 0
            && self.sectors_per_fat != 0
            && self.total_sectors > u32::from(self.first_data_sector())
    }

    fn first_dir_sector(self) -> u16 {
        let fat_area = u32::from(self.fats) * u32::from(self.sectors_per_fat);
        (u32::from(self.reserved) + fat_area).min(0xFFFF) as u16
    }

    fn first_data_sector(self) -> u16 {
        let root = (u32::from(self.root_entries) * 32).div_ceil(u32::from(self.bytes_per_sector));
        (u32::from(self.first_dir_sector()) + root).min(0xFFFF) as u16
    }

    /// The highest cluster number: data clusters + 1 (clusters start at 2).
    fn max_cluster(self) -> u16 {
        let data = self.total_sectors - u32::from(self.first_data_sector());
        (data / u32::from(self.sectors_per_cluster) + 1).min(0xFFFF) as u16
    }
}

/// Writes the DPB of drive `drive` (unit `unit` of the driver at `hseg:hoff`) at
/// `seg:0000` from `bpb`; its next pointer ends the chain.
fn write_dpb(ctx: &mut Ctx, seg: u16, drive: u8, unit: u8, b: Bpb, hseg: u16, hoff: u16) {
    let mut d = [0u8; DPB_BYTES as usize];
    d[0x00] = drive;
    d[0x01] = unit;
    d[0x02..0x04].copy_from_slice(&b.bytes_per_sector.to_le_bytes());
    d[0x04] = b.sectors_per_cluster - 1;
    d[0x05] = b.sectors_per_cluster.trailing_zeros() as u8;
    d[0x06..0x08].copy_from_slice(&b.reserved.to_le_bytes());
    d[0x08] = b.fats;
    d[0x09..0x0B].copy_from_slice(&b.root_entries.to_le_bytes());
    d[0x0B..0x0D].copy_from_slice(&b.first_data_sector().to_le_bytes());
    d[0x0D..0x0F].copy_from_slice(&b.max_cluster().to_le_bytes());
    d[0x0F..0x11].copy_from_slice(&b.sectors_per_fat.to_le_bytes());
    d[0x11..0x13].copy_from_slice(&b.first_dir_sector().to_le_bytes());
    d[0x13..0x15].copy_from_slice(&hoff.to_le_bytes());
    d[0x15..0x17].copy_from_slice(&hseg.to_le_bytes());
    d[0x17] = b.media;
    d[0x18] = 0xFF; // not accessed yet
    d[0x19..0x1D].copy_from_slice(&[0xFF; 4]); // the last DPB
    d[0x1D..0x1F].copy_from_slice(&2u16.to_le_bytes()); // free-space search from cluster 2
    d[0x1F..0x21].copy_from_slice(&0xFFFFu16.to_le_bytes()); // free clusters: unknown
    ctx.write_bytes(seg, 0, &d);
}

/// The installed block driver at `hseg:hoff` reported `units` units and the BPB array at
/// `array_seg:array_off`: gives each unit (while drive letters last) a drive, a DPB at
/// paragraph `at` onwards and a current directory entry. Returns the paragraphs the DPBs
/// take after `at`, at most `room`.
pub(crate) fn install_units(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    (hseg, hoff): (u16, u16),
    units: u8,
    (array_seg, array_off): (u16, u16),
    at: u16,
    room: u16,
) -> u16 {
    let mut used = 0u16;
    for unit in 0..units {
        let blocks = tables::block_devices(ctx);
        let drive = 2 + blocks;
        if drive >= super::files::LAST_DRIVE {
            break;
        }
        let paras = DPB_BYTES.div_ceil(16);
        if used + paras > room {
            break;
        }
        let bpb_off = ctx.rd16(array_seg, array_off.wrapping_add(2 * u16::from(unit)));
        let Some(bpb) = Bpb::read(ctx, array_seg, bpb_off) else {
            break;
        };
        let seg = at + used;
        write_dpb(ctx, seg, drive, unit, bpb, hseg, hoff);
        tables::add_drive(ctx, drive, seg, 0);
        used += paras;
        fw.dos.block_units.push(Unit {
            drive,
            seg: hseg,
            off: hoff,
            unit,
            dpb_seg: seg,
            dpb_off: 0,
        });
    }
    used
}

/// The unit serving drive `drive` (0 = A:).
pub(crate) fn unit_of(fw: &Firmware, drive: u8) -> Option<Unit> {
    fw.dos
        .block_units
        .iter()
        .copied()
        .find(|u| u.drive == drive)
}

/// Int 25h (`write` false) or 26h: sends the transfer to the drive's driver and returns
/// true, or answers at once (CF set, AX = 8002h "not ready" for C: and drives without a
/// driver) and returns false.
pub(crate) fn absolute(fw: &mut Firmware, ctx: &mut Ctx, write: bool) -> bool {
    let Some(u) = unit_of(fw, ctx.al()) else {
        ctx.set_ax(0x8002);
        ctx.set_cf(true);
        return false;
    };
    let (ds, bx) = (ctx.ds(), ctx.bx());
    let (sector, count, (buf_seg, buf_off)) = if ctx.cx() == 0xFFFF {
        let lo = ctx.rd16(ds, bx);
        let hi = ctx.rd16(ds, bx.wrapping_add(2));
        let n = ctx.rd16(ds, bx.wrapping_add(4));
        let o = ctx.rd16(ds, bx.wrapping_add(6));
        let s = ctx.rd16(ds, bx.wrapping_add(8));
        (u32::from(lo) | u32::from(hi) << 16, n, (s, o))
    } else {
        (u32::from(ctx.dx()), ctx.cx(), (ds, bx))
    };
    let attr = device::header_at(ctx, u.seg, u.off).attr;
    if sector > 0xFFFF && attr & ATTR_32BIT == 0 {
        // A sector the driver's 16-bit field cannot name: "sector not found".
        ctx.set_ax(0x0408);
        ctx.set_cf(true);
        return false;
    }
    let command = match (write, fw.dos.instance.verify) {
        (false, _) => cmd::INPUT,
        (true, false) => cmd::OUTPUT,
        (true, true) => cmd::OUTPUT_VERIFY,
    };
    device::write_request(ctx, LEN_IO, u.unit, command);
    let media = ctx.rd8(u.dpb_seg, u.dpb_off.wrapping_add(0x17));
    let r = REQUEST_OFF;
    ctx.wr8(DOS_DATA_SEG, r + 0x0D, media);
    ctx.wr16(DOS_DATA_SEG, r + 0x0E, buf_off);
    ctx.wr16(DOS_DATA_SEG, r + 0x10, buf_seg);
    ctx.wr16(DOS_DATA_SEG, r + 0x12, count);
    if sector > 0xFFFF {
        ctx.wr16(DOS_DATA_SEG, r + 0x14, 0xFFFF);
        ctx.wr16(DOS_DATA_SEG, r + 0x1A, sector as u16);
        ctx.wr16(DOS_DATA_SEG, r + 0x1C, (sector >> 16) as u16);
    } else {
        ctx.wr16(DOS_DATA_SEG, r + 0x14, sector as u16);
    }
    ctx.wr16(DOS_DATA_SEG, r + 0x16, 0xFFFF); // no volume ID
    ctx.wr16(DOS_DATA_SEG, r + 0x18, 0xFFFF);
    let stub = fw.dos.stubs.device.disk;
    device::start_with(fw, ctx, u.seg, u.off, After::Disk, stub);
    true
}

/// Int 25h/26h's AH for a driver error code (RBIL #02547; see the module header).
pub(crate) fn disk_status(code: u8) -> u8 {
    match code {
        0x00 => 0x03, // write protect
        0x01 | 0x03 | 0x05 => 0x01,
        0x02 => 0x80, // not ready: no response
        0x04 => 0x10, // CRC error
        0x06 => 0x40, // seek error
        0x07 => 0x02, // unknown media
        0x08 => 0x04, // sector not found
        _ => 0x20,    // write, read or general failure
    }
}

/// `DISK_DONE`'s answer for the status the driver set.
pub(crate) fn finish(ctx: &mut Ctx, status: u16) {
    if status & STATUS_ERROR != 0 {
        let code = status as u8;
        ctx.set_ax(u16::from(disk_status(code)) << 8 | u16::from(code));
        ctx.set_cf(true);
    } else {
        ctx.set_ax(0);
        ctx.set_cf(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_1_44_mb_floppy_bpb_gives_dos_s_numbers() {
        // The 1.44 MB floppy: 512-byte sectors, 1 per cluster, 1 reserved, 2 FATs of 9
        // sectors, 224 root entries (14 sectors), 2880 sectors: the root starts at sector
        // 19, data at 33, 2847 data clusters, so the highest cluster is 2848.
        let b = Bpb {
            bytes_per_sector: 512,
            sectors_per_cluster: 1,
            reserved: 1,
            fats: 2,
            root_entries: 224,
            total_sectors: 2880,
            media: 0xF0,
            sectors_per_fat: 9,
        };
        assert_eq!(b.first_dir_sector(), 19);
        assert_eq!(b.first_data_sector(), 33);
        assert_eq!(b.max_cluster(), 2848);
        assert!(b.sane());
        // Numbers no DPB can be built from (a zero sector size would divide by zero).
        for bad in [
            Bpb {
                bytes_per_sector: 0,
                ..b
            },
            Bpb {
                bytes_per_sector: 500,
                ..b
            },
            Bpb {
                sectors_per_cluster: 3,
                ..b
            },
            Bpb { fats: 0, ..b },
            Bpb {
                total_sectors: 33,
                ..b
            },
        ] {
            assert!(!bad.sane(), "{bad:?}");
        }
    }

    #[test]
    fn driver_error_codes_map_to_the_disk_status_table() {
        assert_eq!(disk_status(0x00), 0x03);
        assert_eq!(disk_status(0x02), 0x80);
        assert_eq!(disk_status(0x08), 0x04);
        assert_eq!(disk_status(0x04), 0x10);
        assert_eq!(disk_status(0x06), 0x40);
        assert_eq!(disk_status(0x0C), 0x20);
    }
}
