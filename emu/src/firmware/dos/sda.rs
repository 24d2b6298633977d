//! DOS's swappable data area (SDA): the critical-error flag, InDOS and the per-process
//! state DOS keeps between calls (current PSP and DTA, the last error, the return code,
//! the current drive, the extended break flag), in guest memory in MS-DOS 4.0-6.0's
//! layout, and Int 21h AX=5D06h, which returns its address and sizes.
//!
//! Sources: RBIL r61 INT 21/AX=5D06h and table #01690 (DOS 4.0-6.0 SDA: the "swap always"
//! part is 00h-19h, the rest, to 78Bh, needs swapping only while in DOS; the fields before
//! the SDA at -34 to -1), INT 21/AX=5D0Bh ("DOS 4.x only": MS-DOS 5 and later answer the
//! DOS 3.x call 5D06h and have no 5D0Bh, so it fails with error 01h like any function
//! number AX=5Dxxh lacks), the note on the byte at offset 04h of DOS's data segment
//! (01h = DOS 4.0-6.0 SDA format), and tables #01680-#01683 (extended error code, class,
//! action, locus).
//!
//! Guest memory is the single source of truth for the fields here: AH=2Fh, 51h/62h, 59h,
//! 4Dh and 33h read them back from the SDA, so a TSR that copies the SDA out, runs its own
//! DOS calls and copies it back in finds DOS's current PSP, DTA and error state as it left
//! them (the point of swapping it, RBIL INT 21/5D06h). Under the VMM, InDOS and the
//! critical-error flag are instanced per VM with the other low-memory ranges, and the
//! rest of the swap-always part moves with [`super::DosInstance`] ([`swap_instance`]).
//!
//! Sizes: DX = 1Ah (the swap-always part, table #01690) and CX = 78Ch (the whole DOS
//! 4.0-6.0 SDA up to its last field, 78Ah WORD). RBIL does not print the numbers MS-DOS 5
//! returns; these are its table's. Of the in-DOS part vexed fills only the value of AX at
//! the last Int 21h call (1Ah); DOS's stacks and scratch areas live in Rust, so the rest
//! stays zero and swapping it changes nothing.

use super::super::stubs::DOS_DATA_SEG;
use super::super::{Ctx, Firmware, Termination};
use super::DosInstance;

/// Offset of the SDA in [`DOS_DATA_SEG`] (what AX=5D06h returns in SI): its first byte is
/// the critical-error flag, the second InDOS (what AH=34h returns).
pub const SDA_OFF: u16 = 0x1030;
/// Bytes of the part that must always be swapped (AX=5D06h's DX).
pub const SDA_ALWAYS: u16 = 0x1A;
/// Bytes of the whole SDA (AX=5D06h's CX).
pub const SDA_BYTES: u16 = 0x078C;
/// The fields before the SDA (RBIL #01690, offsets -34 to -1).
const PREFIX_BYTES: u16 = 0x22;

// Offsets in the SDA (RBIL #01690).
const CRIT_ERROR: u16 = 0x00;
const INDOS: u16 = 0x01;
const CRIT_DRIVE: u16 = 0x02;
const LOCUS: u16 = 0x03;
const ERROR: u16 = 0x04;
const ACTION: u16 = 0x06;
const CLASS: u16 = 0x07;
const ERROR_PTR: u16 = 0x08;
const DTA: u16 = 0x0C;
const PSP: u16 = 0x10;
const RETURN_CODE: u16 = 0x14;
const DRIVE: u16 = 0x16;
const BREAK: u16 = 0x17;
const CALL_AX: u16 = 0x1A;
// Before the SDA.
const SWITCH_CHAR: u16 = 0x1F; // -31
const STRATEGY: u16 = 0x1E; // -30

/// The critical-error flag's offset in [`DOS_DATA_SEG`].
pub const CRIT_ERROR_OFF: u16 = SDA_OFF + CRIT_ERROR;
/// InDOS's offset in [`DOS_DATA_SEG`] (Int 21h AH=34h).
pub const INDOS_OFF: u16 = SDA_OFF + INDOS;
/// Offset in DOS's data segment of the SDA format byte (01h: DOS 4.0-6.0).
const FORMAT_OFF: u16 = 0x0004;
/// Drive C: (0 = A:).
const DRIVE_C: u8 = 2;

/// The swap-always bytes after InDOS that a [`DosInstance`] carries while its VM is not
/// running (SDA offsets 02h-19h).
const INSTANCE_BYTES: usize = (SDA_ALWAYS - CRIT_DRIVE) as usize;

fn at(off: u16) -> u16 {
    SDA_OFF + off
}

/// The swap-always part after InDOS as a fresh process tree has it: no critical error
/// (drive FFh), no last error, DTA 0000:0080h, no current PSP, drive C:, break off.
pub(crate) fn fresh_instance() -> Vec<u8> {
    let mut b = vec![0u8; INSTANCE_BYTES];
    let i = |off: u16| usize::from(off - CRIT_DRIVE);
    b[i(CRIT_DRIVE)] = 0xFF;
    b[i(DTA)] = 0x80;
    b[i(DRIVE)] = DRIVE_C;
    b
}

/// Writes the SDA and the fields before it (DOS install).
pub(crate) fn install(ctx: &mut Ctx) {
    let zeros = vec![0u8; usize::from(PREFIX_BYTES + SDA_BYTES)];
    ctx.write_bytes(DOS_DATA_SEG, SDA_OFF - PREFIX_BYTES, &zeros);
    ctx.write_bytes(DOS_DATA_SEG, at(CRIT_DRIVE), &fresh_instance());
    ctx.wr8(DOS_DATA_SEG, SDA_OFF - SWITCH_CHAR, b'/');
    ctx.wr8(DOS_DATA_SEG, SDA_OFF - STRATEGY, 0);
    ctx.wr8(DOS_DATA_SEG, FORMAT_OFF, 0x01);
}

/// AX=5D06h: DS:SI -> the SDA, CX = its size, DX = the swap-always size.
pub(crate) fn address(ctx: &mut Ctx) {
    ctx.set_ds(DOS_DATA_SEG);
    ctx.set_si(SDA_OFF);
    ctx.set_cx(SDA_BYTES);
    ctx.set_dx(SDA_ALWAYS);
}

/// Exchanges the running process tree's state with `other`'s (the VMM's switch between
/// VMs, and its second shell in the system VM): the Rust part and the SDA's swap-always
/// bytes after InDOS. An instance that has never run ([`DosInstance::default`], the
/// placeholder) carries no bytes and leaves the SDA as it is.
pub(crate) fn swap_instance(fw: &mut Firmware, ctx: &mut Ctx, other: &mut DosInstance) {
    std::mem::swap(&mut fw.dos.instance, other);
    let running = ctx.read_bytes(DOS_DATA_SEG, at(CRIT_DRIVE), INSTANCE_BYTES);
    if fw.dos.instance.sda.len() == INSTANCE_BYTES {
        let incoming = std::mem::take(&mut fw.dos.instance.sda);
        ctx.write_bytes(DOS_DATA_SEG, at(CRIT_DRIVE), &incoming);
    }
    other.sda = running;
}

pub(crate) fn current_psp(ctx: &Ctx) -> u16 {
    ctx.rd16(DOS_DATA_SEG, at(PSP))
}

pub(crate) fn set_current_psp(ctx: &mut Ctx, psp: u16) {
    ctx.wr16(DOS_DATA_SEG, at(PSP), psp);
}

/// The disk transfer address: (segment, offset).
pub(crate) fn dta(ctx: &Ctx) -> (u16, u16) {
    let off = ctx.rd16(DOS_DATA_SEG, at(DTA));
    let seg = ctx.rd16(DOS_DATA_SEG, at(DTA) + 2);
    (seg, off)
}

pub(crate) fn set_dta(ctx: &mut Ctx, seg: u16, off: u16) {
    ctx.wr16(DOS_DATA_SEG, at(DTA), off);
    ctx.wr16(DOS_DATA_SEG, at(DTA) + 2, seg);
}

/// The last error's code, class, action and locus (what AH=59h returns).
pub(crate) fn last_error(ctx: &Ctx) -> (u16, u8, u8, u8) {
    (
        ctx.rd16(DOS_DATA_SEG, at(ERROR)),
        ctx.rd8(DOS_DATA_SEG, at(CLASS)),
        ctx.rd8(DOS_DATA_SEG, at(ACTION)),
        ctx.rd8(DOS_DATA_SEG, at(LOCUS)),
    )
}

/// Records error `code` as the last error, with the class, action and locus MS-DOS gives
/// it (RBIL #01681-#01683).
pub(crate) fn set_last_error(ctx: &mut Ctx, code: u16) {
    let (class, action, locus) = classify(code);
    ctx.wr16(DOS_DATA_SEG, at(ERROR), code);
    ctx.wr8(DOS_DATA_SEG, at(CLASS), class);
    ctx.wr8(DOS_DATA_SEG, at(ACTION), action);
    ctx.wr8(DOS_DATA_SEG, at(LOCUS), locus);
    ctx.wr32(DOS_DATA_SEG, at(ERROR_PTR), 0);
}

/// The pointer AH=59h returns in ES:DI (SDA 08h): (segment, offset).
pub(crate) fn error_pointer(ctx: &Ctx) -> (u16, u16) {
    let off = ctx.rd16(DOS_DATA_SEG, at(ERROR_PTR));
    (ctx.rd16(DOS_DATA_SEG, at(ERROR_PTR) + 2), off)
}

/// AX=5D0Ah: the last error from the DOS parameter list at DS:DX (RBIL #01686): its AX is
/// the code, BH the class, BL the action, CH the locus, ES:DI the pointer, as AH=59h
/// returns them next. MS-DOS ignores the list's DS field; nothing is returned.
pub(crate) fn set_error_from_dpl(ctx: &mut Ctx) {
    let (ds, dx) = (ctx.ds(), ctx.dx());
    let w = |ctx: &Ctx, i: u16| ctx.rd16(ds, dx.wrapping_add(2 * i));
    let (ax, bx, cx, di, es) = (w(ctx, 0), w(ctx, 1), w(ctx, 2), w(ctx, 5), w(ctx, 7));
    ctx.wr16(DOS_DATA_SEG, at(ERROR), ax);
    ctx.wr8(DOS_DATA_SEG, at(CLASS), (bx >> 8) as u8);
    ctx.wr8(DOS_DATA_SEG, at(ACTION), bx as u8);
    ctx.wr8(DOS_DATA_SEG, at(LOCUS), (cx >> 8) as u8);
    ctx.wr16(DOS_DATA_SEG, at(ERROR_PTR), di);
    ctx.wr16(DOS_DATA_SEG, at(ERROR_PTR) + 2, es);
}

/// Class, action and locus of the codes this DOS returns (RBIL #01681-#01683): not found
/// is class 8 (not found), action 3 (user), locus 2 (block device); out of handles or
/// memory class 1 (out of resource), action 4 (abort), locus 5 (memory); access denied
/// and write protect class 3 (authorization); arena and format errors class 7
/// (application error), abort, memory.
fn classify(code: u16) -> (u8, u8, u8) {
    match code {
        0x00 => (0, 0, 0),
        0x02 | 0x03 | 0x12 => (8, 3, 2),
        0x04 | 0x08 => (1, 4, 5),
        0x05 | 0x13 => (3, 3, 2),
        0x07 | 0x09 | 0x0A | 0x0B => (7, 4, 5),
        _ => (7, 4, 1),
    }
}

/// The termination AH=4Dh reports next (word 14h: AL = code, AH = kind).
pub(crate) fn return_code(ctx: &Ctx) -> Termination {
    let w = ctx.rd16(DOS_DATA_SEG, at(RETURN_CODE));
    Termination {
        code: w as u8,
        kind: (w >> 8) as u8,
    }
}

pub(crate) fn set_return_code(ctx: &mut Ctx, t: Termination) {
    ctx.wr16(
        DOS_DATA_SEG,
        at(RETURN_CODE),
        u16::from(t.kind) << 8 | u16::from(t.code),
    );
}

/// The extended break flag (AX=3300h-3302h, CONFIG.SYS `BREAK=`).
pub(crate) fn break_flag(ctx: &Ctx) -> bool {
    ctx.rd8(DOS_DATA_SEG, at(BREAK)) != 0
}

pub(crate) fn set_break_flag(ctx: &mut Ctx, on: bool) {
    ctx.wr8(DOS_DATA_SEG, at(BREAK), u8::from(on));
}

/// The current drive (0 = A:).
pub(crate) fn current_drive(ctx: &Ctx) -> u8 {
    ctx.rd8(DOS_DATA_SEG, at(DRIVE))
}

/// Records AX of an Int 21h call (SDA 1Ah, in the part swapped only while in DOS).
pub(crate) fn set_call_ax(ctx: &mut Ctx, ax: u16) {
    ctx.wr16(DOS_DATA_SEG, at(CALL_AX), ax);
}

/// Mirrors the allocation strategy in the byte before the SDA (offset -30).
pub(crate) fn set_strategy(ctx: &mut Ctx, strategy: u16) {
    ctx.wr8(DOS_DATA_SEG, SDA_OFF - STRATEGY, strategy as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Reg16, SegReg};
    use crate::firmware::dos::{DriveC, service};
    use crate::firmware::stubs::svc;
    use crate::firmware::{Firmware, FirmwareConfig, linear};
    use crate::machine::{Machine, MachineConfig};

    fn booted() -> Machine {
        let fw = Firmware::new(FirmwareConfig::default(), DriveC::new(false), vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
        m.run_until(5_000_000);
        m
    }

    /// Runs Int 21h with `ax` (the other registers as they are) as a call from a program
    /// would, returning CF.
    fn call(fw: &mut Firmware, ctx: &mut Ctx, ax: u16) -> bool {
        ctx.cpu.set_sreg(SegReg::SS, 0x9000);
        ctx.cpu.set_reg16(Reg16::SP, 0x100);
        ctx.cpu.set_flags(0x0202);
        ctx.set_ax(ax);
        service(fw, svc::dos(0x21), ctx);
        ctx.cpu.flags() & 1 != 0
    }

    #[test]
    fn ax_5d06h_returns_the_sda_that_starts_with_the_error_flag_and_indos() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            assert!(!call(fw, ctx, 0x5D06));
            // RBIL #01690: CX = 78Ch (to the last field, 78Ah WORD), DX = 1Ah.
            assert_eq!((ctx.cx(), ctx.dx()), (0x078C, 0x001A));
            let (ds, si) = (ctx.ds(), ctx.si());
            assert!(!call(fw, ctx, 0x3400));
            // AH=34h's InDOS is the SDA's second byte.
            assert_eq!((ctx.es(), ctx.bx()), (ds, si + 1));
            // No critical error: its drive is FFh; the current drive is C: (2).
            assert_eq!(ctx.rd8(ds, si + 2), 0xFF);
            assert_eq!(ctx.rd8(ds, si + 0x16), 2);
            // The byte at DOS data offset 04h names the DOS 4.0-6.0 SDA format.
            assert_eq!(ctx.rd8(ds, 0x0004), 0x01);
            // The SDA lies below the first memory control block.
            let end = linear(ds, si + SDA_BYTES);
            assert!(end <= linear(crate::firmware::stubs::FIRST_MCB_SEG, 0));
            // AX of the last Int 21h call (SDA 1Ah).
            assert_eq!(ctx.rd16(ds, si + 0x1A), 0x3400);
        });
    }

    #[test]
    fn ax_5d0bh_is_dos_4_only_and_fails_with_01h() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            assert!(call(fw, ctx, 0x5D0B));
            assert_eq!(ctx.ax(), 0x0001);
        });
    }

    #[test]
    fn the_sda_is_the_only_copy_of_psp_dta_error_and_return_code() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            call(fw, ctx, 0x5D06);
            let (ds, si) = (ctx.ds(), ctx.si());
            // Set a PSP, a DTA and a last error through DOS: the SDA shows them at 10h,
            // 0Ch and 04h (RBIL #01690).
            ctx.set_bx(0x1234);
            call(fw, ctx, 0x5000);
            ctx.set_ds(0x2000);
            ctx.set_dx(0x0300);
            call(fw, ctx, 0x1A00);
            ctx.set_es(0x0001);
            assert!(call(fw, ctx, 0x4900)); // free a block that is not one: error 09h
            assert_eq!(ctx.rd16(ds, si + 0x10), 0x1234);
            assert_eq!(
                (ctx.rd16(ds, si + 0x0C), ctx.rd16(ds, si + 0x0E)),
                (0x0300, 0x2000)
            );
            assert_eq!(ctx.rd16(ds, si + 0x04), 0x0009);
            // A TSR copies the swap-always part out, and DOS's state changes...
            let saved = ctx.read_bytes(ds, si, usize::from(SDA_ALWAYS));
            ctx.set_bx(0x5678);
            call(fw, ctx, 0x5000);
            ctx.set_ds(0x3000);
            ctx.set_dx(0x0400);
            call(fw, ctx, 0x1A00);
            ctx.set_bx(0);
            call(fw, ctx, 0x3E00); // close handle 0 of PSP 5678h: invalid handle
            // ...then copies it back in: DOS's PSP, DTA and last error are the old ones.
            ctx.write_bytes(ds, si, &saved);
            call(fw, ctx, 0x6200);
            assert_eq!(ctx.bx(), 0x1234);
            call(fw, ctx, 0x2F00);
            assert_eq!((ctx.es(), ctx.bx()), (0x2000, 0x0300));
            call(fw, ctx, 0x5900);
            // Error 09h: class 7 (application), action 4 (abort), locus 5 (memory).
            assert_eq!(
                (ctx.ax(), ctx.cpu.reg16(Reg16::BX), ctx.ch()),
                (0x0009, 0x0704, 5)
            );
            // AH=4Dh reads and clears the return code at 14h (AL code, AH kind).
            ctx.wr16(ds, si + 0x14, 0x0342);
            call(fw, ctx, 0x4D00);
            assert_eq!(ctx.ax(), 0x0342);
            assert_eq!(ctx.rd16(ds, si + 0x14), 0);
        });
    }

    #[test]
    fn ax_5d0ah_sets_what_ah_59h_returns() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            // A DOS parameter list (RBIL #01686): AX, BX, CX, DX, SI, DI, DS, ES, ...
            let dpl = [0x0020u16, 0x0A02, 0x0100, 0, 0, 0x0042, 0, 0x3000, 0, 0, 0];
            for (i, w) in dpl.iter().enumerate() {
                ctx.wr16(0x2000, 0x10 + 2 * i as u16, *w);
            }
            ctx.set_ds(0x2000);
            ctx.set_dx(0x0010);
            assert!(!call(fw, ctx, 0x5D0A));
            call(fw, ctx, 0x5900);
            assert_eq!(ctx.ax(), 0x0020);
            assert_eq!(ctx.cpu.reg16(Reg16::BX), 0x0A02);
            assert_eq!(ctx.ch(), 0x01);
            assert_eq!((ctx.es(), ctx.di()), (0x3000, 0x0042));
        });
    }
}
