//! The BIOS system services, Int 15h: the A20 gate (2400h-2403h), the keyboard intercept
//! (4Fh), the event wait (83h), block move (87h), the extended memory size (88h), the
//! switch to protected mode (89h), device busy and interrupt complete (90h, 91h) and the
//! system configuration table (C0h).
//!
//! AH=89h (RBIL INT 15 AH=89h, table 00500; IBM PC/AT Technical Reference): the caller's
//! table at ES:SI holds a null descriptor, descriptors of the GDT (08h) and IDT (10h), DS
//! (18h), ES (20h), SS (28h) and CS (30h), and a slot (38h) where the BIOS builds its own
//! code descriptor (base F0000h, limit FFFFh). The BIOS gates A20 on, reprograms both 8259As
//! with the bases BL (IRQ 0-7) and BH (IRQ 8-15) and masks every IRQ, as the AT BIOS does;
//! then guest code in the ROM loads GDTR and IDTR, sets PE, loads the selectors and returns
//! to the instruction after the INT with CS = 30h, AH = 0 and CF clear. Its segment loads
//! are ordinary protected-mode loads: a bad descriptor faults in the caller's IDT, as on an
//! AT. There is no way back through the BIOS (a program returns with the CMOS shutdown
//! byte and a reset, or on an 80386 by clearing PE).
//!
//! The event wait (83h) runs on the real-time clock's 1024 Hz periodic interrupt as the
//! AT BIOS's does: AL=00h stores the user's flag byte address (ES:BX) at 40:98h and the
//! interval in microseconds (CX:DX) at 40:9Ch, sets 40:A0h bit 0 (a wait is active; CF=1
//! if one already is), unmasks IRQ 8 and sets PIE; Int 70h takes 976 µs off the count at
//! every periodic interrupt and, when it runs out, sets bit 7 of the user's byte, clears
//! 40:A0h and PIE. AL=01h cancels. The blocking wait 86h is not provided (AH=86h, CF=1).
//!
//! Sources: IBM PC/AT Technical Reference (BIOS listing: the 87h descriptor table), RBIL
//! (INT 15; #00499 for 87h), and `../shared/reference/dos-memory.md` sections 1.7 and 5.2
//! for the A20 services.
//!
//! Int 15h AH=87h leaves A20 off when it returns, as the AT BIOS listing does (it gates A20
//! on for the move and off after); an XMS driver hooks 87h to preserve the caller's state
//! (dos-memory.md section 1.7). The configuration table AH=C0h returns is in the ROM.

use super::time::{cmos_read, cmos_write};
use super::{BDA, PM_BIOS_CS, ROM_CONFIG_TABLE, ROM_PM_ENTRY};
use crate::devices::rtc::{B_PIE, reg};
use crate::firmware::Ctx;
use crate::firmware::stubs::BIOS_SEG;

/// BIOS data area: the event wait's user flag pointer (dword), count in µs (dword) and
/// active flag (AT TechRef BDA: RTC_WAIT_FLAG and friends).
const BDA_WAIT_FLAG_PTR: u16 = 0x98;
const BDA_WAIT_COUNT: u16 = 0x9C;
const BDA_WAIT_ACTIVE: u16 = 0xA0;

pub(super) fn int15(ctx: &mut Ctx) {
    let ok = |ctx: &mut Ctx| {
        ctx.set_ah(0);
        ctx.set_cf(false);
    };
    match (ctx.ah(), ctx.al()) {
        (0x24, 0x00) => {
            ctx.set_a20(false);
            ok(ctx);
        }
        (0x24, 0x01) => {
            ctx.set_a20(true);
            ok(ctx);
        }
        (0x24, 0x02) => {
            let on = ctx.a20();
            ok(ctx);
            ctx.set_al(u8::from(on));
        }
        (0x24, 0x03) => {
            ok(ctx);
            ctx.set_bx(0x0003); // 8042 and port 92h
        }
        (0x4F, _) => ctx.set_cf(true), // keyboard intercept: process the key
        (0x83, 0x00) => {
            if ctx.rd8(BDA, BDA_WAIT_ACTIVE) & 1 != 0 {
                ctx.set_cf(true);
                return;
            }
            let (es, bx, cx, dx) = (ctx.es(), ctx.bx(), ctx.cx(), ctx.dx());
            ctx.wr16(BDA, BDA_WAIT_FLAG_PTR, bx);
            ctx.wr16(BDA, BDA_WAIT_FLAG_PTR + 2, es);
            ctx.wr16(BDA, BDA_WAIT_COUNT, dx);
            ctx.wr16(BDA, BDA_WAIT_COUNT + 2, cx);
            ctx.wr8(BDA, BDA_WAIT_ACTIVE, 1);
            let mask = ctx.bus.read_port(0xA1);
            ctx.bus.write_port(0xA1, mask & 0xFE);
            let b = cmos_read(ctx, reg::B);
            cmos_write(ctx, reg::B, b | B_PIE);
            ctx.set_cf(false);
        }
        (0x83, 0x01) => {
            ctx.wr8(BDA, BDA_WAIT_ACTIVE, 0);
            let b = cmos_read(ctx, reg::B);
            cmos_write(ctx, reg::B, b & !B_PIE);
            ctx.set_cf(false);
        }
        (0x87, _) => {
            let status = block_move(ctx);
            ctx.set_ah(status);
            ctx.set_cf(status != 0);
            if status == 0 {
                ctx.set_zf(true);
            }
        }
        (0x88, _) => {
            let kb = (ctx.bus.mem.ram_size().saturating_sub(0x10_0000) / 1024).min(0xFFFF);
            ctx.set_ax(kb as u16);
            ctx.set_cf(false);
        }
        (0x89, _) => {
            ctx.set_a20(true);
            let (irq0, irq8) = (ctx.bl(), ctx.bh());
            // ICW1 (edge, cascade, ICW4), ICW2 (base), ICW3, ICW4 (8086 mode), then OCW1
            // masking every line.
            for (port, v) in [
                (0x20, 0x11),
                (0x21, irq0),
                (0x21, 0x04),
                (0x21, 0x01),
                (0xA0, 0x11),
                (0xA1, irq8),
                (0xA1, 0x02),
                (0xA1, 0x01),
                (0x21, 0xFF),
                (0xA1, 0xFF),
            ] {
                ctx.bus.write_port(port, v);
            }
            // The BIOS code descriptor at ES:SI+38h: limit FFFFh, base F0000h, present
            // readable code at DPL 0, accessed.
            let (es, at) = (ctx.es(), ctx.si().wrapping_add(PM_BIOS_CS));
            let desc = [0xFF, 0xFF, 0x00, 0x00, 0x0F, 0x9B, 0x00, 0x00];
            for (i, b) in desc.into_iter().enumerate() {
                ctx.wr8(es, at.wrapping_add(i as u16), b);
            }
            ctx.jump(BIOS_SEG, ROM_PM_ENTRY);
        }
        (0x90 | 0x91, _) => ok(ctx),
        (0xC0, _) => {
            ctx.set_es(BIOS_SEG);
            ctx.set_bx(ROM_CONFIG_TABLE);
            ok(ctx);
        }
        _ => {
            ctx.set_ah(0x86); // function not supported
            ctx.set_cf(true);
        }
    }
}

/// One periodic interrupt of the event wait (Int 15h AH=83h), from Int 70h.
pub(super) fn count_wait(ctx: &mut Ctx) {
    if ctx.rd8(BDA, BDA_WAIT_ACTIVE) & 1 == 0 {
        return;
    }
    let left = ctx.rd32(BDA, BDA_WAIT_COUNT);
    if let Some(left) = left.checked_sub(976) {
        ctx.wr32(BDA, BDA_WAIT_COUNT, left);
        return;
    }
    ctx.wr32(BDA, BDA_WAIT_COUNT, 0);
    let (off, seg) = (
        ctx.rd16(BDA, BDA_WAIT_FLAG_PTR),
        ctx.rd16(BDA, BDA_WAIT_FLAG_PTR + 2),
    );
    let flag = ctx.rd8(seg, off);
    ctx.wr8(seg, off, flag | 0x80);
    ctx.wr8(BDA, BDA_WAIT_ACTIVE, 0);
    let b = cmos_read(ctx, reg::B);
    cmos_write(ctx, reg::B, b & !B_PIE);
}

/// Int 15h AH=87h: copies CX words between the two descriptors of the table at ES:SI
/// (RBIL #00499). Returns the AH status.
pub(crate) fn block_move(ctx: &mut Ctx) -> u8 {
    let words = ctx.cx();
    if words > 0x8000 {
        return 0x01; // RBIL: CX must not exceed 8000h; report a "parity error" as BIOSes do
    }
    let (es, si) = (ctx.es(), ctx.si());
    let base = |ctx: &Ctx, d: u16| -> (u32, u16) {
        let limit = ctx.rd16(es, si.wrapping_add(d));
        let lo = ctx.rd16(es, si.wrapping_add(d + 2));
        let mid = ctx.rd8(es, si.wrapping_add(d + 4));
        let hi = ctx.rd8(es, si.wrapping_add(d + 7));
        (
            u32::from(lo) | u32::from(mid) << 16 | u32::from(hi) << 24,
            limit,
        )
    };
    let (src, src_limit) = base(ctx, 0x10);
    let (dst, dst_limit) = base(ctx, 0x18);
    let bytes = u32::from(words) * 2;
    if bytes > 0 && (u32::from(src_limit) < bytes - 1 || u32::from(dst_limit) < bytes - 1) {
        // The protected-mode copy would fault on the limit: the BIOS reports an
        // interrupt error.
        return 0x02;
    }
    ctx.set_a20(true);
    let data = ctx.bus.mem.read_bytes(src, bytes as usize);
    ctx.bus.mem.write_bytes(dst, &data);
    ctx.set_a20(false);
    0
}
