//! Installable device drivers: the request header, the device chain, and calling a driver's
//! strategy and interrupt routines as guest code for an Int 21h function on a character
//! device it provides.
//!
//! Sources: RBIL INT 21 tables #01646/#01647 (device driver header, attribute bits),
//! #02597 (request header: length, unit, command, status) and the command-specific parts
//! #02598 (INIT), #02609 (INPUT/OUTPUT/IOCTL: media byte, transfer address at 0Eh, count at
//! 12h), #02614 (non-destructive read, the character at 0Dh); the status word's bits: 15
//! error (the code in bits 0-7), 9 busy, 8 done; RBIL #01423 (IOCTL device information)
//! and #01680 (DOS error codes 13h-1Fh are driver errors 00h-0Ch plus 13h); the MS-DOS
//! Programmer's Reference on which requests DOS sends for each handle function (OPEN and
//! CLOSE only to drivers with attribute bit 11, IOCTL input/output only with bit 14,
//! AX=4406h through the non-destructive read, 4407h through output status).
//!
//! # How a request runs
//!
//! An Int 21h function on a driver's device builds the request header in DOS's data
//! segment ([`REQUEST_OFF`]), saves the caller's registers in [`DosInstance`], loads ES:BX
//! with the header, switches to DOS's device stack and jumps to a stub in DOS's code
//! segment:
//!
//! ```text
//! devreq: call far [cs:strategy]   ; the driver's routines, from its header
//!         call far [cs:interrupt]
//!         trap DEVICE_DONE         ; read the status, restore the caller, set the result
//!         iret                     ; back to the Int 21h caller
//! ```
//!
//! so the driver runs as real guest code, with InDOS raised, as under MS-DOS. `DEVICE_DONE`
//! reports the request ([`Observation::DeviceRequest`]), restores the caller's registers
//! and stack and finishes the function: AX = the count the driver transferred, or CF and
//! AX = 13h + the driver's error code when the status has the error bit. (MS-DOS would
//! first call Int 24h; DOS's own handler answers "fail", which this is.) Boot-time INIT
//! requests use the same routines pointer pair from the CONFIG.SYS loop (`sysinit.rs`).
//!
//! Under the VMM the header and the stack are shared by all VMs (DOS's data is below the
//! VMM's load point); the scheduler never switches inside DOS (InDOS), which protects them
//! as DOS's own single request packet is protected.

use serde::{Deserialize, Serialize};

use super::super::stubs::{DOS_CODE_SEG, DOS_DATA_SEG, EMM_SEG};
use super::super::{Ctx, Firmware};
use super::DosInstance;
use super::tables::{NUL_OFF, TABLES_OFF};
use crate::cpu::{Reg16, SegReg};
use crate::observe::Observation;

/// Offset in [`DOS_DATA_SEG`] of the request header DOS sends to drivers (32 bytes).
pub const REQUEST_OFF: u16 = TABLES_OFF + 0x0420;
/// The top of DOS's device stack (down to [`REQUEST_OFF`] + 20h: 192 bytes).
pub const DEVICE_STACK_TOP: u16 = TABLES_OFF + 0x0500;

/// Request commands (RBIL #02597).
pub mod cmd {
    pub const INIT: u8 = 0x00;
    pub const IOCTL_INPUT: u8 = 0x03;
    pub const INPUT: u8 = 0x04;
    pub const NONDESTRUCTIVE_INPUT: u8 = 0x05;
    pub const OUTPUT: u8 = 0x08;
    pub const OUTPUT_VERIFY: u8 = 0x09;
    pub const OUTPUT_STATUS: u8 = 0x0A;
    pub const IOCTL_OUTPUT: u8 = 0x0C;
    pub const OPEN: u8 = 0x0D;
    pub const CLOSE: u8 = 0x0E;
}

/// Status word bits.
pub const STATUS_ERROR: u16 = 0x8000;
pub const STATUS_BUSY: u16 = 0x0200;
pub const STATUS_DONE: u16 = 0x0100;

/// Attribute bits (RBIL #01647).
pub const ATTR_CHAR: u16 = 0x8000;
pub const ATTR_IOCTL: u16 = 0x4000;
pub const ATTR_OPEN_CLOSE: u16 = 0x0800;

/// Request header lengths: the common part, with the transfer fields, and INIT's
/// (MS-DOS 5's SYSINIT sends a 24-byte INIT packet).
pub const LEN_STATIC: u8 = 0x0D;
pub const LEN_NDREAD: u8 = 0x0E;
pub const LEN_TRANSFER: u8 = 0x16;
pub const LEN_INIT: u8 = 0x18;

// The request and the stack fit the tables area, after the current directory structures.
const _: () = assert!(
    super::tables::CDS_OFF + super::files::LAST_DRIVE as u16 * super::tables::CDS_BYTES
        <= REQUEST_OFF
);
const _: () = assert!(REQUEST_OFF + 0x20 + 0xC0 <= DEVICE_STACK_TOP);
const _: () = assert!(DEVICE_STACK_TOP == TABLES_OFF + super::tables::TABLES_BYTES);

/// The longest device chain followed (a guest could link it into a loop).
const MAX_CHAIN: usize = 256;

/// Offsets of the stubs and the routine pointers in [`DOS_CODE_SEG`].
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct DeviceStubs {
    /// `devreq` (above).
    pub call: u16,
    /// The boot-time loop (`sysinit.rs`).
    pub sysinit: u16,
    /// Two far pointers: the strategy routine, then the interrupt routine.
    pub routines: u16,
    /// After CONFIG.SYS, the XMS steps (`sysinit.rs`): the trap, then `INT 2Fh`.
    pub xms_step: u16,
    /// `CALL FAR [CS:xms_entry]`, then back to the trap.
    pub xms_call: u16,
    /// The far pointer to the XMS driver's entry the call goes through.
    pub xms_entry: u16,
    /// The request stub of Int 25h/26h, ending in `RETF` (`block.rs`).
    pub disk: u16,
}

/// One device header in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub seg: u16,
    pub off: u16,
    pub attr: u16,
    pub name: [u8; 8],
}

/// The header at `seg:off`.
pub fn header_at(ctx: &Ctx, seg: u16, off: u16) -> Header {
    let mut name = [0u8; 8];
    name.copy_from_slice(&ctx.read_bytes(seg, off.wrapping_add(0x0A), 8));
    Header {
        seg,
        off,
        attr: ctx.rd16(seg, off.wrapping_add(4)),
        name,
    }
}

/// The device chain from NUL, as DOS follows it (until an offset of FFFFh).
pub fn chain(ctx: &Ctx) -> Vec<Header> {
    let mut out = Vec::new();
    let (mut seg, mut off) = (DOS_DATA_SEG, NUL_OFF);
    while out.len() < MAX_CHAIN {
        out.push(header_at(ctx, seg, off));
        let next_off = ctx.rd16(seg, off);
        let next_seg = ctx.rd16(seg, off.wrapping_add(2));
        if next_off == 0xFFFF {
            break;
        }
        (seg, off) = (next_seg, next_off);
    }
    out
}

/// The character device an installed driver provides under `base` (a file name without
/// its extension), the first in the chain; `None` for DOS's own devices (NUL, CON, CLOCK$,
/// EMMXXXX0) and names no driver has.
pub fn find_driver(ctx: &Ctx, base: &str) -> Option<Header> {
    if base.is_empty() || base.len() > 8 {
        return None;
    }
    let mut want = [b' '; 8];
    want[..base.len()].copy_from_slice(base.as_bytes());
    let h = chain(ctx)
        .into_iter()
        .find(|h| h.attr & ATTR_CHAR != 0 && h.name.eq_ignore_ascii_case(&want))?;
    (h.seg != DOS_DATA_SEG && h.seg != EMM_SEG).then_some(h)
}

/// The IOCTL device information word (AX=4400h) of a driver's character device: the
/// attribute's high byte (IOCTL, output until busy, open/close), bit 7 (a device), bit 6
/// (not at end of input) and the attribute's standard-device bits 0-4, as DOS builds it
/// (RBIL #01423; CON's 80D3h, AUX's 80C0h and PRN's A0C0h follow the same rule).
pub fn info_word(attr: u16) -> u16 {
    (attr & 0xFF00) | 0x00C0 | (attr & 0x001F)
}

/// What an Int 21h function does with the request's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum After {
    /// OPEN on handle `handle` (system file table entry `sft`): an error closes it again.
    Open { handle: u16, sft: u8 },
    /// CLOSE: the handle is already closed.
    Close,
    /// INPUT, OUTPUT, IOCTL input/output: AX = the count at 12h.
    Transfer,
    /// Input or output status (4406h/4407h): AL = 00h when busy, FFh when ready.
    Status,
    /// Int 25h/26h (`block.rs`): CF and AX from the status, InDOS untouched.
    Disk,
}

/// The caller's registers while its Int 21h function waits for a driver.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Saved {
    pub regs: [u16; 7],
    pub ds: u16,
    pub es: u16,
    pub ss: u16,
    pub sp: u16,
}

/// An Int 21h function waiting for a driver's request.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub seg: u16,
    pub off: u16,
    pub after: After,
    pub caller: Saved,
}

const SAVED_REGS: [Reg16; 7] = [
    Reg16::AX,
    Reg16::BX,
    Reg16::CX,
    Reg16::DX,
    Reg16::SI,
    Reg16::DI,
    Reg16::BP,
];

/// The fixed part of a request (RBIL #02597), the rest of its `len` bytes zero.
pub(crate) fn write_request(ctx: &mut Ctx, len: u8, unit: u8, command: u8) {
    let mut bytes = vec![0u8; usize::from(len)];
    bytes[0] = len;
    bytes[1] = unit;
    bytes[2] = command;
    ctx.write_bytes(DOS_DATA_SEG, REQUEST_OFF, &bytes);
}

/// Points the stubs' routine pointers at the driver whose header is at `seg:off` and ES:BX
/// at the request.
pub(crate) fn aim(fw: &Firmware, ctx: &mut Ctx, seg: u16, off: u16) {
    let strategy = ctx.rd16(seg, off.wrapping_add(6));
    let interrupt = ctx.rd16(seg, off.wrapping_add(8));
    let p = fw.dos.stubs.device.routines;
    ctx.wr16(DOS_CODE_SEG, p, strategy);
    ctx.wr16(DOS_CODE_SEG, p + 2, seg);
    ctx.wr16(DOS_CODE_SEG, p + 4, interrupt);
    ctx.wr16(DOS_CODE_SEG, p + 6, seg);
    ctx.set_es(DOS_DATA_SEG);
    ctx.set_bx(REQUEST_OFF);
}

/// The request's status word.
pub(crate) fn status(ctx: &Ctx) -> u16 {
    ctx.rd16(DOS_DATA_SEG, REQUEST_OFF + 3)
}

/// Reports the request just completed by the driver at `seg:off`.
pub(crate) fn observe_request(fw: &mut Firmware, ctx: &Ctx, seg: u16, off: u16) {
    let h = header_at(ctx, seg, off);
    let o = Observation::DeviceRequest {
        seg,
        off,
        name: h.name.to_vec(),
        unit: ctx.rd8(DOS_DATA_SEG, REQUEST_OFF + 1),
        command: ctx.rd8(DOS_DATA_SEG, REQUEST_OFF + 2),
        status: status(ctx),
    };
    fw.observe(ctx, o);
}

/// A request of `len` bytes with `command` for the character device at `seg:off`;
/// `transfer` = (buffer segment, offset, count) for the commands that move data. Call
/// [`start`] after it.
pub(crate) fn prepare(ctx: &mut Ctx, len: u8, command: u8, transfer: Option<(u16, u16, u16)>) {
    write_request(ctx, len, 0, command);
    if let Some((seg, off, count)) = transfer {
        ctx.wr16(DOS_DATA_SEG, REQUEST_OFF + 0x0E, off);
        ctx.wr16(DOS_DATA_SEG, REQUEST_OFF + 0x10, seg);
        ctx.wr16(DOS_DATA_SEG, REQUEST_OFF + 0x12, count);
    }
}

/// Sends the prepared request to the driver at `seg:off` from inside an Int 21h function:
/// saves the caller, switches to DOS's device stack and runs the `devreq` stub. The Int 21h
/// dispatcher then leaves InDOS raised until [`done`].
pub(crate) fn start(fw: &mut Firmware, ctx: &mut Ctx, seg: u16, off: u16, after: After) {
    let stub = fw.dos.stubs.device.call;
    start_with(fw, ctx, seg, off, after, stub);
}

/// [`start`] through the request stub at `stub` in DOS's code segment.
pub(crate) fn start_with(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    seg: u16,
    off: u16,
    after: After,
    stub: u16,
) {
    let mut caller = Saved {
        ds: ctx.ds(),
        es: ctx.es(),
        ss: ctx.cpu.sreg(SegReg::SS),
        sp: ctx.cpu.reg16(Reg16::SP),
        ..Saved::default()
    };
    for (slot, r) in caller.regs.iter_mut().zip(SAVED_REGS) {
        *slot = ctx.cpu.reg16(r);
    }
    fw.dos.instance.request = Some(Pending {
        seg,
        off,
        after,
        caller,
    });
    aim(fw, ctx, seg, off);
    ctx.cpu.set_sreg(SegReg::SS, DOS_DATA_SEG);
    ctx.cpu.set_reg16(Reg16::SP, DEVICE_STACK_TOP);
    ctx.jump(DOS_CODE_SEG, stub);
}

/// Whether an Int 21h function has handed its work to a driver.
pub(crate) fn pending(instance: &DosInstance) -> bool {
    instance.request.is_some()
}

/// `DEVICE_DONE`: the driver has answered; finish the Int 21h function for its caller.
pub(crate) fn done(fw: &mut Firmware, ctx: &mut Ctx) {
    let Some(p) = fw.dos.instance.request.take() else {
        return;
    };
    observe_request(fw, ctx, p.seg, p.off);
    let status = status(ctx);
    let count = ctx.rd16(DOS_DATA_SEG, REQUEST_OFF + 0x12);
    for (v, r) in p.caller.regs.iter().zip(SAVED_REGS) {
        ctx.cpu.set_reg16(r, *v);
    }
    ctx.set_ds(p.caller.ds);
    ctx.set_es(p.caller.es);
    ctx.cpu.set_sreg(SegReg::SS, p.caller.ss);
    ctx.cpu.set_reg16(Reg16::SP, p.caller.sp);
    if p.after == After::Disk {
        super::block::finish(ctx, status);
        return;
    }
    let error = (status & STATUS_ERROR != 0).then(|| 0x13 + (status & 0xFF).min(0x0C));
    match (p.after, error) {
        (After::Open { handle, sft }, Some(e)) => {
            super::files::undo_open(fw, ctx, handle, sft);
            super::fail(ctx, e);
        }
        (_, Some(e)) => super::fail(ctx, e),
        (After::Open { handle, .. }, None) => {
            ctx.set_ax(handle);
            super::ok(ctx);
        }
        (After::Close, None) => super::ok(ctx),
        (After::Transfer, None) => {
            ctx.set_ax(count);
            super::ok(ctx);
        }
        (After::Disk, None) => {}
        (After::Status, None) => {
            ctx.set_al(if status & STATUS_BUSY != 0 {
                0x00
            } else {
                0xFF
            });
            super::ok(ctx);
        }
    }
    if error.is_some() {
        let e = ctx.ax();
        super::sda::set_last_error(ctx, e);
    }
    let n = super::indos(ctx).saturating_sub(1);
    super::set_indos(ctx, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_information_word_follows_dos_s_own_devices() {
        // CON 8013h -> 80D3h, AUX 8000h -> 80C0h, PRN A0C0h -> A0C0h, EMMXXXX0 C000h.
        assert_eq!(info_word(0x8013), 0x80D3);
        assert_eq!(info_word(0x8000), 0x80C0);
        assert_eq!(info_word(0xA0C0), 0xA0C0);
        assert_eq!(info_word(0xC000), 0xC0C0);
        // A driver with IOCTL and open/close: C800h -> C8C0h.
        assert_eq!(info_word(0xC800), 0xC8C0);
    }
}
