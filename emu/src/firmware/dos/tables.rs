//! DOS's internal tables in guest memory, reached through Int 21h AH=52h ("SYSVARS", the
//! List of Lists) and AH=1Fh/32h (drive parameter block): the List of Lists with the NUL
//! device header inside it, the character devices CON and CLOCK$ and the block device of
//! drive C:, the drive parameter block of C:, the first system file table block, an empty
//! FCB table and the current directory structure array.
//!
//! Sources (RBIL r61, INT 21): table #01627 (List of Lists, the DOS 4.x and 5.0 fields),
//! #01646/#01647 (device driver header and attribute bits), #01395 (drive parameter block,
//! DOS 4.0-6.0 layout, 21h bytes), #01639/#01641 (system file table header; DOS 4.0-6.0
//! entries of 3Bh bytes), #01643/#01644 (current directory structure, DOS 4.0+ 58h bytes,
//! drive attribute bits). MS-DOS 5 defaults: LASTDRIVE=E (5 entries), the first SFT block
//! holds 5 entries, BUFFERS=15 for 512-640 KB of memory.
//!
//! Layout, in DOS's data segment [`DOS_DATA_SEG`] (0060h), linear 01100h-015FFh (see the
//! table in [`super::super::stubs`]):
//!
//! | Offset | Contents |
//! |---|---|
//! | 0B00h-0B1Fh | the 32 bytes before the List of Lists: OEM handler FFFF:FFFF at -18h, first MCB at -2 |
//! | 0B20h-0B8Fh | the List of Lists (AH=52h: ES:BX = 0060:0B20h), NUL header at +22h |
//! | 0B90h | CON header (attribute 8013h) |
//! | 0BA4h | CLOCK$ header (attribute 8008h) |
//! | 0BC0h | the block device header of drive C: (1 unit, attribute 0002h) |
//! | 0BE0h | the devices' strategy routine (marks the request done) and interrupt routine (`RETF`) |
//! | 0BF0h | drive parameter block of C: |
//! | 0C20h | first system file table block: 5 entries |
//! | 0D50h | FCB table: a system file table header with no entries |
//! | 0D60h | current directory structures A:-E: (only C: valid, path `C:\`) |
//! | 0F20h | the request header DOS sends to installable drivers, then DOS's device stack up to 1000h (`device.rs`) |
//! | 100Eh-17BBh | the swappable data area at 1030h, with the fields before it (`sda.rs`; not part of this area) |
//! | 17C0h-1A3Fh | the case-map routine and the uppercase, filename, collating and DBCS tables (`country.rs`; not part of this area) |
//!
//! Device chain: NUL -> (EMMXXXX0, when the EMS driver is installed: [`link_device`]) ->
//! CON -> CLOCK$ -> C: -> FFFF:FFFF, with the drivers from CONFIG.SYS linked in after NUL.
//! The DPB chain starts with C:'s; each unit of a block driver from CONFIG.SYS appends its
//! DPB and makes its drive's CDS entry valid ([`add_drive`], `block.rs`).
//!
//! Limits: the system file table entries stay zero (free): the open files live in Rust
//! (`files/`), so a program walking the SFT sees no open files. The CDS path of C: is the
//! root and does not follow AH=3Bh. No disk buffers exist (+12h is FFFF:FFFF).

use super::super::stubs::DOS_DATA_SEG;
use super::super::{Ctx, linear};
use super::drive;
use super::files::LAST_DRIVE;
use crate::cpu::Model;

/// Offset in [`DOS_DATA_SEG`] of the first byte of the tables area.
pub const TABLES_OFF: u16 = 0x0B00;
/// Bytes of the tables area.
pub const TABLES_BYTES: u16 = 0x0500;
/// Offset of the List of Lists (what AH=52h returns in BX; ES = [`DOS_DATA_SEG`]).
pub const LOL_OFF: u16 = 0x0B20;
/// Offset of the NUL device header (inside the List of Lists).
pub const NUL_OFF: u16 = LOL_OFF + 0x22;
pub const CON_OFF: u16 = 0x0B90;
pub const CLOCK_OFF: u16 = 0x0BA4;
pub const BLOCK_OFF: u16 = 0x0BC0;
const STRATEGY_OFF: u16 = 0x0BE0;
const INTERRUPT_OFF: u16 = STRATEGY_OFF + 7;
pub const DPB_OFF: u16 = 0x0BF0;
pub const SFT_OFF: u16 = 0x0C20;
const SFT_ENTRIES: u16 = 5;
/// Bytes of a device driver header: next pointer, attribute, strategy and interrupt
/// offsets, 8-byte name (RBIL #01646).
const DEVICE_HEADER_BYTES: u16 = 0x12;
const SFT_ENTRY_BYTES: u16 = 0x3B;
const FCB_TABLE_OFF: u16 = 0x0D50;
pub const CDS_OFF: u16 = 0x0D60;
pub const CDS_BYTES: u16 = 0x58;

// The tables fit their places: each device header (12h bytes) before the next, the SFT
// block before the FCB table, the CDS array in the area.
const _: () = assert!(CON_OFF + DEVICE_HEADER_BYTES <= CLOCK_OFF);
const _: () = assert!(CLOCK_OFF + DEVICE_HEADER_BYTES <= BLOCK_OFF);
const _: () = assert!(BLOCK_OFF + DEVICE_HEADER_BYTES <= STRATEGY_OFF);
const _: () = assert!(NUL_OFF + DEVICE_HEADER_BYTES <= LOL_OFF + 0x34);
const _: () = assert!(SFT_OFF + 6 + SFT_ENTRIES * SFT_ENTRY_BYTES <= FCB_TABLE_OFF);
const _: () = assert!(CDS_OFF + LAST_DRIVE as u16 * CDS_BYTES <= TABLES_OFF + TABLES_BYTES);

/// Device attribute words (RBIL #01647).
const ATTR_CON: u16 = 0x8013; // character device, STDIN, STDOUT, fast output (Int 29h)
const ATTR_NUL: u16 = 0x8004; // character device, NUL
const ATTR_CLOCK: u16 = 0x8008; // character device, CLOCK$
const ATTR_DISK: u16 = 0x0002; // block device, 32-bit sector addresses
/// Drive attribute of a CDS entry for a valid local drive (RBIL #01644: physical).
const CDS_PHYSICAL: u16 = 0x4000;
/// Media descriptor of a hard disk.
const MEDIA_HARD_DISK: u8 = 0xF8;

/// The FAT16 geometry behind drive C:'s fixed numbers ([`drive`]): 1 reserved sector, two
/// FATs of 2-byte entries for the clusters plus the two reserved ones, 512 root entries.
struct Geometry {
    fat_sectors: u16,
    first_dir_sector: u16,
    first_data_sector: u16,
}

fn geometry() -> Geometry {
    let sector = u32::from(drive::BYTES_PER_SECTOR);
    let fat_sectors = ((drive::TOTAL_CLUSTERS + 2) * 2).div_ceil(sector) as u16;
    let first_dir_sector = 1 + 2 * fat_sectors;
    let root_sectors = (drive::ROOT_ENTRIES as u32 * 32).div_ceil(sector) as u16;
    Geometry {
        fat_sectors,
        first_dir_sector,
        first_data_sector: first_dir_sector + root_sectors,
    }
}

fn far(ctx: &mut Ctx, off: u16, seg: u16, target: u16) {
    ctx.wr16(DOS_DATA_SEG, off, target);
    ctx.wr16(DOS_DATA_SEG, off + 2, seg);
}

fn device(ctx: &mut Ctx, at: u16, next: u16, attr: u16, name: &[u8; 8]) {
    if next == 0xFFFF {
        far(ctx, at, 0xFFFF, 0xFFFF);
    } else {
        far(ctx, at, DOS_DATA_SEG, next);
    }
    ctx.wr16(DOS_DATA_SEG, at + 4, attr);
    ctx.wr16(DOS_DATA_SEG, at + 6, STRATEGY_OFF);
    ctx.wr16(DOS_DATA_SEG, at + 8, INTERRUPT_OFF);
    ctx.write_bytes(DOS_DATA_SEG, at + 0x0A, name);
}

/// Writes every table (DOS install, before the drivers; `first_mcb` is the arena's start).
pub(crate) fn install(ctx: &mut Ctx, first_mcb: u16) {
    let zeros = vec![0u8; usize::from(TABLES_BYTES)];
    ctx.write_bytes(DOS_DATA_SEG, TABLES_OFF, &zeros);

    // Before the List of Lists.
    far(ctx, LOL_OFF - 0x12, 0xFFFF, 0xFFFF); // no OEM function handler (AH=F8h)
    far(ctx, LOL_OFF - 0x08, 0xFFFF, 0xFFFF); // no current disk buffer
    ctx.wr16(DOS_DATA_SEG, LOL_OFF - 2, first_mcb);

    // The List of Lists.
    let lol = LOL_OFF;
    far(ctx, lol, DOS_DATA_SEG, DPB_OFF);
    far(ctx, lol + 0x04, DOS_DATA_SEG, SFT_OFF);
    far(ctx, lol + 0x08, DOS_DATA_SEG, CLOCK_OFF);
    far(ctx, lol + 0x0C, DOS_DATA_SEG, CON_OFF);
    ctx.wr16(DOS_DATA_SEG, lol + 0x10, drive::BYTES_PER_SECTOR);
    far(ctx, lol + 0x12, 0xFFFF, 0xFFFF); // disk buffer info: none
    far(ctx, lol + 0x16, DOS_DATA_SEG, CDS_OFF);
    far(ctx, lol + 0x1A, DOS_DATA_SEG, FCB_TABLE_OFF);
    ctx.wr16(DOS_DATA_SEG, lol + 0x1E, 0); // protected FCBs
    ctx.wr8(DOS_DATA_SEG, lol + 0x20, 1); // block devices: C:
    ctx.wr8(DOS_DATA_SEG, lol + 0x21, LAST_DRIVE);
    device(ctx, NUL_OFF, CON_OFF, ATTR_NUL, b"NUL     ");
    ctx.wr8(DOS_DATA_SEG, lol + 0x34, 0); // JOINed drives
    far(ctx, lol + 0x37, 0xFFFF, 0xFFFF); // no IFS utility function
    far(ctx, lol + 0x3B, 0xFFFF, 0xFFFF); // no IFS drivers
    ctx.wr16(DOS_DATA_SEG, lol + 0x3F, 15); // BUFFERS=15
    ctx.wr16(DOS_DATA_SEG, lol + 0x41, 0); // no lookahead buffers
    ctx.wr8(DOS_DATA_SEG, lol + 0x43, 3); // booted from C:
    let dword_moves = ctx.cpu.model() == Model::I80386;
    ctx.wr8(DOS_DATA_SEG, lol + 0x44, u8::from(dword_moves));
    let ram = ctx.bus.mem.ram_size();
    let ext_kb = (ram.saturating_sub(0x10_0000) / 1024).min(0xFFFF) as u16;
    let ext_kb = if ctx.bus.mem.bus_bits() <= 20 {
        0
    } else {
        ext_kb
    };
    ctx.wr16(DOS_DATA_SEG, lol + 0x45, ext_kb);
    ctx.wr8(DOS_DATA_SEG, lol + 0x66, 0); // UMBs not linked
    ctx.wr16(DOS_DATA_SEG, lol + 0x68, 0xFFFF); // no upper-memory chain

    // Devices.
    device(ctx, CON_OFF, CLOCK_OFF, ATTR_CON, b"CON     ");
    device(ctx, CLOCK_OFF, BLOCK_OFF, ATTR_CLOCK, b"CLOCK$  ");
    device(ctx, BLOCK_OFF, 0xFFFF, ATTR_DISK, b"\x01\0\0\0\0\0\0\0");
    // Strategy: mov word [es:bx+3],0100h (request status: done, no error); retf.
    // Interrupt: retf.
    ctx.write_bytes(
        DOS_DATA_SEG,
        STRATEGY_OFF,
        &[0x26, 0xC7, 0x47, 0x03, 0x00, 0x01, 0xCB, 0xCB],
    );

    // Drive parameter block of C: (DOS 4.0-6.0 layout).
    let g = geometry();
    let d = DPB_OFF;
    ctx.wr8(DOS_DATA_SEG, d, 2); // drive C:
    ctx.wr8(DOS_DATA_SEG, d + 0x01, 0); // unit 0 of its driver
    ctx.wr16(DOS_DATA_SEG, d + 0x02, drive::BYTES_PER_SECTOR);
    ctx.wr8(
        DOS_DATA_SEG,
        d + 0x04,
        (drive::SECTORS_PER_CLUSTER - 1) as u8,
    );
    ctx.wr8(
        DOS_DATA_SEG,
        d + 0x05,
        drive::SECTORS_PER_CLUSTER.trailing_zeros() as u8,
    );
    ctx.wr16(DOS_DATA_SEG, d + 0x06, 1); // reserved sectors
    ctx.wr8(DOS_DATA_SEG, d + 0x08, 2); // FATs
    ctx.wr16(DOS_DATA_SEG, d + 0x09, drive::ROOT_ENTRIES as u16);
    ctx.wr16(DOS_DATA_SEG, d + 0x0B, g.first_data_sector);
    ctx.wr16(
        DOS_DATA_SEG,
        d + 0x0D,
        (drive::TOTAL_CLUSTERS + 1).min(0xFFFF) as u16,
    );
    ctx.wr16(DOS_DATA_SEG, d + 0x0F, g.fat_sectors);
    ctx.wr16(DOS_DATA_SEG, d + 0x11, g.first_dir_sector);
    far(ctx, d + 0x13, DOS_DATA_SEG, BLOCK_OFF);
    ctx.wr8(DOS_DATA_SEG, d + 0x17, MEDIA_HARD_DISK);
    ctx.wr8(DOS_DATA_SEG, d + 0x18, 0); // accessed
    far(ctx, d + 0x19, 0xFFFF, 0xFFFF); // last DPB
    ctx.wr16(DOS_DATA_SEG, d + 0x1D, 2); // free-space search starts at cluster 2
    ctx.wr16(DOS_DATA_SEG, d + 0x1F, 0xFFFF); // free clusters: not computed

    // System file tables: the first block, and the FCB table with no entries.
    far(ctx, SFT_OFF, 0xFFFF, 0xFFFF);
    ctx.wr16(DOS_DATA_SEG, SFT_OFF + 4, SFT_ENTRIES);
    far(ctx, FCB_TABLE_OFF, 0xFFFF, 0xFFFF);
    ctx.wr16(DOS_DATA_SEG, FCB_TABLE_OFF + 4, 0);

    // Current directory structures A: to LASTDRIVE.
    for n in 0..u16::from(LAST_DRIVE) {
        let e = CDS_OFF + n * CDS_BYTES;
        ctx.write_bytes(DOS_DATA_SEG, e, &[b'A' + n as u8, b':', b'\\']);
        if n == 2 {
            ctx.wr16(DOS_DATA_SEG, e + 0x43, CDS_PHYSICAL);
            far(ctx, e + 0x45, DOS_DATA_SEG, DPB_OFF);
            ctx.wr16(DOS_DATA_SEG, e + 0x49, 0); // current directory: the root
        } else {
            ctx.wr16(DOS_DATA_SEG, e + 0x49, 0xFFFF);
        }
        far(ctx, e + 0x4B, 0xFFFF, 0xFFFF); // no redirector record
        ctx.wr16(DOS_DATA_SEG, e + 0x4F, 2); // "C:" is not shown before the backslash
    }
}

/// Links the device driver header at `seg:off` into the chain right after NUL, as DOS does
/// for a driver loaded from CONFIG.SYS (the EMS driver's `EMMXXXX0`).
pub(crate) fn link_device(ctx: &mut Ctx, seg: u16, off: u16) {
    let next_off = ctx.rd16(DOS_DATA_SEG, NUL_OFF);
    let next_seg = ctx.rd16(DOS_DATA_SEG, NUL_OFF + 2);
    ctx.wr16(seg, off, next_off);
    ctx.wr16(seg, off.wrapping_add(2), next_seg);
    far(ctx, NUL_OFF, seg, off);
}

/// The number of block devices (units) DOS has (List of Lists +20h).
pub(crate) fn block_devices(ctx: &Ctx) -> u8 {
    ctx.rd8(DOS_DATA_SEG, LOL_OFF + 0x20)
}

/// Gives drive `drive` (0 = A:) the drive parameter block at `seg:off`: appends it to the
/// DPB chain, makes the drive's current directory structure valid (its root) and counts
/// one more block device. The caller checks that the drive has a CDS entry.
pub(crate) fn add_drive(ctx: &mut Ctx, drive: u8, seg: u16, off: u16) {
    // The last DPB of the chain (its next offset is FFFFh); the chain is DOS's own and
    // short, but a guest could have linked it into a loop.
    let (mut s, mut o) = (DOS_DATA_SEG, DPB_OFF);
    for _ in 0..32 {
        let next_off = ctx.rd16(s, o.wrapping_add(0x19));
        if next_off == 0xFFFF {
            break;
        }
        (s, o) = (ctx.rd16(s, o.wrapping_add(0x1B)), next_off);
    }
    ctx.wr16(s, o.wrapping_add(0x19), off);
    ctx.wr16(s, o.wrapping_add(0x1B), seg);
    let e = CDS_OFF + u16::from(drive) * CDS_BYTES;
    ctx.wr16(DOS_DATA_SEG, e + 0x43, CDS_PHYSICAL);
    far(ctx, e + 0x45, seg, off);
    ctx.wr16(DOS_DATA_SEG, e + 0x49, 0); // current directory: the root
    let n = block_devices(ctx);
    ctx.wr8(DOS_DATA_SEG, LOL_OFF + 0x20, n + 1);
}

/// The DPB of drive `drive` (1 = A:, 0 = the default, C:) from its current directory
/// structure: `None` for a drive that is not valid (RBIL #01644: flags 0000h).
fn dpb_of(ctx: &Ctx, drive: u8) -> Option<(u16, u16)> {
    let n = if drive == 0 { 2 } else { drive - 1 };
    if n >= LAST_DRIVE {
        return None;
    }
    let e = CDS_OFF + u16::from(n) * CDS_BYTES;
    if ctx.rd16(DOS_DATA_SEG, e + 0x43) & CDS_PHYSICAL == 0 {
        return None;
    }
    Some((
        ctx.rd16(DOS_DATA_SEG, e + 0x47),
        ctx.rd16(DOS_DATA_SEG, e + 0x45),
    ))
}

/// AH=1Bh/1Ch: allocation information of drive `drive` (0 = default, 3 = C:): AL =
/// sectors per cluster, CX = bytes per sector, DX = total clusters, DS:BX -> media ID
/// byte (the DPB's), from the drive's DPB; AL = FFh for an invalid drive (RBIL INT
/// 21/AH=1Bh, 1Ch).
pub(crate) fn allocation_info(ctx: &mut Ctx, drive: u8) {
    let Some((seg, off)) = dpb_of(ctx, drive) else {
        ctx.set_al(0xFF);
        return;
    };
    if (seg, off) == (DOS_DATA_SEG, DPB_OFF) {
        // C:'s cluster count does not fit the DPB's 16-bit highest cluster number.
        ctx.set_dx(drive::TOTAL_CLUSTERS.min(0xFFFF) as u16);
    } else {
        let max = ctx.rd16(seg, off.wrapping_add(0x0D));
        ctx.set_dx(max.saturating_sub(1));
    }
    let spc = ctx.rd8(seg, off.wrapping_add(0x04)).wrapping_add(1);
    let bps = ctx.rd16(seg, off.wrapping_add(0x02));
    ctx.set_al(spc);
    ctx.set_cx(bps);
    ctx.set_ds(seg);
    ctx.set_bx(off.wrapping_add(0x17));
}

/// AH=1Fh/32h: DS:BX -> the drive parameter block of drive `drive` (0 = default, 3 = C:)
/// and AL = 00h, or AL = FFh for an invalid drive (RBIL INT 21/AH=1Fh, 32h).
pub(crate) fn drive_parameter_block(ctx: &mut Ctx, drive: u8) {
    let Some((seg, off)) = dpb_of(ctx, drive) else {
        ctx.set_al(0xFF);
        return;
    };
    ctx.set_al(0);
    ctx.set_ds(seg);
    ctx.set_bx(off);
}

/// The linear address of the List of Lists.
pub fn list_of_lists() -> u32 {
    linear(DOS_DATA_SEG, LOL_OFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::dos::DriveC;
    use crate::firmware::stubs::FIRST_MCB_SEG;
    use crate::firmware::{Firmware, FirmwareConfig};
    use crate::machine::{Machine, MachineConfig};

    /// A machine that has booted DOS (no programs: the shell ends at once).
    fn booted(config: FirmwareConfig) -> Machine {
        let fw = Firmware::new(config, DriveC::new(false), vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
        m.run_until(5_000_000);
        m
    }

    fn rd16(m: &Machine, off: u16) -> u16 {
        m.bus().mem.read_u16(linear(DOS_DATA_SEG, off))
    }

    #[test]
    fn the_fat16_geometry_follows_from_the_drive_numbers() {
        // 32,768 clusters + 2 reserved entries of 2 bytes = 65,540 bytes: 129 sectors per
        // FAT; 1 reserved sector + 2 FATs = sector 259 for the root; 512 entries of 32
        // bytes = 32 sectors, so data starts at sector 291.
        let g = geometry();
        assert_eq!(
            (g.fat_sectors, g.first_dir_sector, g.first_data_sector),
            (129, 259, 291)
        );
    }

    #[test]
    fn the_list_of_lists_points_at_the_arena_and_the_devices() {
        let m = booted(FirmwareConfig::default());
        assert_eq!(rd16(&m, LOL_OFF - 2), FIRST_MCB_SEG);
        let first = m.bus().mem.read_u8(linear(FIRST_MCB_SEG, 0));
        assert!(matches!(first, b'M' | b'Z'));
        // NUL: attribute 8004h, name "NUL     "; its next is the EMS driver's header.
        assert_eq!(rd16(&m, NUL_OFF + 4), 0x8004);
        let name = m
            .bus()
            .mem
            .read_bytes(linear(DOS_DATA_SEG, NUL_OFF + 0x0A), 8);
        assert_eq!(name, b"NUL     ");
        assert_eq!((rd16(&m, NUL_OFF), rd16(&m, NUL_OFF + 2)), (0, 0x00A0));
        let emm_next = m.bus().mem.read_u32(0xA00);
        assert_eq!(emm_next, u32::from(DOS_DATA_SEG) << 16 | u32::from(CON_OFF));
        // The C: block device ends the chain.
        assert_eq!(
            (rd16(&m, BLOCK_OFF), rd16(&m, BLOCK_OFF + 2)),
            (0xFFFF, 0xFFFF)
        );
        assert_eq!(m.bus().mem.read_u8(list_of_lists() + 0x21), 5);
        // Each header keeps its whole name (the headers do not overlap).
        for (off, name) in [
            (CON_OFF, b"CON     "),
            (CLOCK_OFF, b"CLOCK$  "),
            (NUL_OFF, b"NUL     "),
        ] {
            let got = m.bus().mem.read_bytes(linear(DOS_DATA_SEG, off + 0x0A), 8);
            assert_eq!(got, name);
        }
    }
}
