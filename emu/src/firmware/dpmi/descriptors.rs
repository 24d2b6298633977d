//! The DPMI host's descriptor tables and the LDT services, Int 31h 0000h-000Ch.
//!
//! Descriptor formats: 80386 PRM 5.1 and 6.3 (figure 5-3, table 5-1), 80286 PRM 6.3; the
//! host's GDT holds its code (base F0000h: the stubs in the BIOS ROM), its ring-0 stack,
//! the TSS and the LDT. Client descriptors are LDT entries with DPL 3, selectors with
//! TI = 1 and RPL 3. The rules of 0009h and 000Ch are dos-memory.md section 3.3's (the
//! DPMI 1.0 specification's).

use super::switch::{STACK_TOP, stub_offset};
use super::{Client, Owner, err};
use crate::cpu::{Reg32, SegReg};
use crate::firmware::{Ctx, Firmware};

/// Offsets in the host's block.
pub(super) const GDT: u32 = 0x2000;
pub(super) const IDT: u32 = 0x2800;
const TSS: u32 = 0x3000;
const LDT: u32 = 0x4000;
pub(super) const LDT_ENTRIES: usize = 1024;

/// GDT selectors.
pub(super) const HOST_CS: u16 = 0x08;
pub(super) const HOST_SS: u16 = 0x10;
pub(super) const TSS_SEL: u16 = 0x18;
pub(super) const LDT_SEL: u16 = 0x20;
/// The host's ring-3 code (base F0000h, DPL 3): exception handlers return and chain there.
pub(super) const HOST_CS3: u16 = 0x2B;
pub(super) const GDT_LIMIT: u16 = 0x2F;

/// Access bytes: present, DPL 3, a readable 16-bit code segment / a writable data segment.
pub(super) const CODE16: u8 = 0xFA;
pub(super) const DATA: u8 = 0xF2;

/// A descriptor's two dwords: base, limit (20 bits), access byte, and the G/D/AVL nibble.
fn encode(base: u32, limit: u32, access: u8, flags: u8) -> (u32, u32) {
    let lo = (limit & 0xFFFF) | ((base & 0xFFFF) << 16);
    let hi = ((base >> 16) & 0xFF)
        | (u32::from(access) << 8)
        | (limit & 0xF_0000)
        | (u32::from(flags & 0xF) << 20)
        | (base & 0xFF00_0000);
    (lo, hi)
}

fn write(ctx: &mut Ctx, at: u32, (lo, hi): (u32, u32)) {
    ctx.mem().write_u32(at, lo);
    ctx.mem().write_u32(at + 4, hi);
}

/// The host's GDT, IDT and TSS, and an empty LDT, in a zeroed block.
pub(super) fn build_tables(client: &Client, ctx: &mut Ctx) {
    let t = client.tables;
    ctx.mem().write_bytes(t, &[0; 0x1_0000]);
    let big = if client.paged { 0x4 } else { 0 };
    write(ctx, t + GDT + 0x08, encode(0xF_0000, 0xFFFF, 0x9A, big));
    write(ctx, t + GDT + 0x10, encode(t, 0xFFFF, 0x92, big));
    let (tss_limit, tss_type) = if client.paged {
        (0x67, 0x89)
    } else {
        (0x2B, 0x81)
    };
    write(ctx, t + GDT + 0x18, encode(t + TSS, tss_limit, tss_type, 0));
    let ldt_limit = (LDT_ENTRIES * 8 - 1) as u32;
    write(ctx, t + GDT + 0x20, encode(t + LDT, ldt_limit, 0x82, 0));
    write(ctx, t + GDT + 0x28, encode(0xF_0000, 0xFFFF, 0xFA, big));
    // Every gate DPL 3 (INT n from the client), to the stub of its vector.
    let gate = if client.paged { 0xEE } else { 0xE6 };
    for v in 0..=255u8 {
        let off = stub_offset(v);
        let lo = (off & 0xFFFF) | (u32::from(HOST_CS) << 16);
        let hi = (gate << 8) | (off & 0xFFFF_0000);
        write(ctx, t + IDT + u32::from(v) * 8, (lo, hi));
    }
    let mem = ctx.mem();
    if client.paged {
        mem.write_u32(t + TSS + 4, STACK_TOP);
        mem.write_u16(t + TSS + 8, HOST_SS);
        mem.write_u16(t + TSS + 0x66, 0x68);
    } else {
        mem.write_u16(t + TSS + 2, STACK_TOP as u16);
        mem.write_u16(t + TSS + 4, HOST_SS);
    }
}

/// Points the TSS's ring-0 stack at `top` (an offset in [`HOST_SS`]): where the processor
/// puts the frame of the next interrupt from ring 3.
pub(super) fn set_ring0_stack(client: &Client, ctx: &mut Ctx, top: u32) {
    let t = client.tables;
    if client.paged {
        ctx.mem().write_u32(t + TSS + 4, top);
    } else {
        ctx.mem().write_u16(t + TSS + 2, top as u16);
    }
}

/// Marks the host's TSS available again (its descriptor's busy bit clear), so that LTR can
/// load it after the host left protected mode without a task switch (0306h's raw switch).
pub(super) fn clear_tss_busy(client: &Client, ctx: &mut Ctx) {
    let at = client.tables + GDT + u32::from(TSS_SEL) + 5;
    let access = ctx.bus.mem.read_u8(at);
    ctx.mem().write_u8(at, access & !0x02);
}

/// The LDT index of a client selector.
fn index(sel: u16) -> Option<usize> {
    let i = usize::from(sel >> 3);
    (sel & 4 != 0 && i < LDT_ENTRIES).then_some(i)
}

fn selector(i: usize) -> u16 {
    ((i as u16) << 3) | 4 | 3
}

/// The descriptor's two dwords (GDT or LDT by the selector's TI bit).
fn read(client: &Client, ctx: &Ctx, sel: u16) -> (u32, u32) {
    let at = if sel & 4 != 0 {
        client.tables + LDT + u32::from(sel & 0xFFF8)
    } else {
        client.tables + GDT + u32::from(sel & 0xFFF8)
    };
    (
        ctx.bus.mem.read_u32(at),
        ctx.bus.mem.read_u32(at.wrapping_add(4)),
    )
}

fn base_of_raw((lo, hi): (u32, u32)) -> u32 {
    (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF00_0000)
}

/// The base of the segment `sel` names.
pub(super) fn base_of(client: &Client, ctx: &Ctx, sel: u16) -> u32 {
    base_of_raw(read(client, ctx, sel))
}

/// Whether `sel`'s descriptor has the B (big) bit: a 32-bit stack.
pub(super) fn is_big(client: &Client, ctx: &Ctx, sel: u16) -> bool {
    read(client, ctx, sel).1 & (1 << 22) != 0
}

/// Whether `sel` is an allocated LDT code descriptor of the client.
pub(super) fn is_client_code(client: &Client, ctx: &Ctx, sel: u16) -> bool {
    index(sel).is_some_and(|i| client.ldt[i] != Owner::Free)
        && (read(client, ctx, sel).1 >> 8) & 0x18 == 0x18
}

/// A new LDT descriptor (the first free entry) with `owner`; its selector.
pub(super) fn new_descriptor(
    client: &mut Client,
    ctx: &mut Ctx,
    base: u32,
    limit: u32,
    access: u8,
    owner: Owner,
) -> Option<u16> {
    let i = client.ldt.iter().position(|&o| o == Owner::Free)?;
    client.ldt[i] = owner;
    write(
        ctx,
        client.tables + LDT + (i as u32) * 8,
        encode(base, limit, access, 0),
    );
    Some(selector(i))
}

/// Sets the descriptor of `sel` (an LDT entry the host owns for the client).
pub(super) fn set(client: &Client, ctx: &mut Ctx, sel: u16, base: u32, limit: u32, access: u8) {
    if let Some(i) = index(sel) {
        put(client, ctx, i, encode(base, limit, access, 0));
    }
}

/// Frees the LDT entry of `sel`.
pub(super) fn clear(client: &mut Client, ctx: &mut Ctx, sel: u16) {
    if let Some(i) = index(sel) {
        client.ldt[i] = Owner::Free;
        put(client, ctx, i, (0, 0));
    }
}

/// Sets the B bit of `sel`'s descriptor: a 32-bit stack.
pub(super) fn set_big(client: &Client, ctx: &mut Ctx, sel: u16) {
    if let Some(i) = index(sel) {
        let (lo, hi) = read(client, ctx, sel);
        put(client, ctx, i, (lo, hi | 1 << 22));
    }
}

/// Writes LDT entry `i`'s descriptor.
fn put(client: &Client, ctx: &mut Ctx, i: usize, d: (u32, u32)) {
    write(ctx, client.tables + LDT + (i as u32) * 8, d);
}

/// The index of a descriptor the client may change (one it allocated with 0000h or
/// 000Ah, or one of its initial ones), or 8022h.
fn changeable(client: &Client, sel: u16) -> Result<usize, u16> {
    index(sel)
        .filter(|&i| client.ldt[i] == Owner::Client)
        .ok_or(err::INVALID_SELECTOR)
}

/// Any allocated descriptor (for reading), or 8022h.
fn allocated(client: &Client, sel: u16) -> Result<usize, u16> {
    index(sel)
        .filter(|&i| client.ldt[i] != Owner::Free)
        .ok_or(err::INVALID_SELECTOR)
}

/// Checks an access byte (and the 80386's extended byte) as 0009h does: DPL 3, not a
/// system descriptor; a present code segment is readable and not conforming; the extended
/// byte's bit 5 is 0. 8021h otherwise.
fn check_rights(access: u8, extended: u8, is386: bool) -> Result<(), u16> {
    if (access >> 5) & 3 != 3 || access & 0x10 == 0 {
        return Err(err::INVALID_VALUE);
    }
    if access & 0x80 != 0 && access & 0x08 != 0 && (access & 0x04 != 0 || access & 0x02 == 0) {
        return Err(err::INVALID_VALUE);
    }
    if is386 && extended & 0x20 != 0 {
        return Err(err::INVALID_VALUE);
    }
    Ok(())
}

/// Int 31h 0000h-000Ch.
pub(super) fn service(fw: &mut Firmware, ax: u16, ctx: &mut Ctx) -> Result<(), u16> {
    let client = super::client_mut(fw)?;
    let is386 = client.paged;
    let bx = ctx.bx();
    match ax {
        0x0000 => {
            let n = usize::from(ctx.cx());
            if n == 0 {
                return Err(err::INVALID_VALUE);
            }
            let first = (1..=LDT_ENTRIES.saturating_sub(n))
                .find(|&i| client.ldt[i..i + n].iter().all(|&o| o == Owner::Free))
                .ok_or(err::NO_DESCRIPTOR)?;
            for i in first..first + n {
                client.ldt[i] = Owner::Client;
                put(client, ctx, i, encode(0, 0, DATA, 0));
            }
            ctx.set_ax(selector(first));
            Ok(())
        }
        0x0001 => {
            let i = changeable(client, bx)?;
            client.ldt[i] = Owner::Free;
            put(client, ctx, i, (0, 0));
            Ok(())
        }
        0x0002 => {
            if let Some(&(_, sel)) = client.segment_selectors.iter().find(|&&(s, _)| s == bx) {
                ctx.set_ax(sel);
                return Ok(());
            }
            let sel = new_descriptor(
                client,
                ctx,
                u32::from(bx) << 4,
                0xFFFF,
                DATA,
                Owner::Segment,
            )
            .ok_or(err::NO_DESCRIPTOR)?;
            client.segment_selectors.push((bx, sel));
            ctx.set_ax(sel);
            Ok(())
        }
        0x0003 => {
            ctx.set_ax(8);
            Ok(())
        }
        0x0006 => {
            allocated(client, bx)?;
            let base = base_of(client, ctx, bx);
            ctx.set_cx((base >> 16) as u16);
            ctx.set_dx(base as u16);
            Ok(())
        }
        0x0007 => {
            let i = changeable(client, bx)?;
            let mut base = (u32::from(ctx.cx()) << 16) | u32::from(ctx.dx());
            if !is386 {
                base &= 0x00FF_FFFF;
            }
            let (lo, hi) = read(client, ctx, bx);
            let (nlo, nhi) = encode(base, 0, 0, 0);
            put(
                client,
                ctx,
                i,
                (
                    (lo & 0xFFFF) | (nlo & 0xFFFF_0000),
                    (hi & 0x00FF_FF00) | nhi,
                ),
            );
            Ok(())
        }
        0x0008 => {
            let i = changeable(client, bx)?;
            let limit = (u32::from(ctx.cx()) << 16) | u32::from(ctx.dx());
            if !is386 && ctx.cx() != 0 {
                return Err(err::INVALID_VALUE);
            }
            let (field, g) = if limit > 0xF_FFFF {
                if limit & 0xFFF != 0xFFF {
                    return Err(err::INVALID_VALUE);
                }
                (limit >> 12, true)
            } else {
                (limit, false)
            };
            let (lo, hi) = read(client, ctx, bx);
            let hi =
                (hi & !(0xF_0000 | 1 << 23)) | (field & 0xF_0000) | if g { 1 << 23 } else { 0 };
            put(client, ctx, i, ((lo & 0xFFFF_0000) | (field & 0xFFFF), hi));
            Ok(())
        }
        0x0009 => {
            let i = changeable(client, bx)?;
            let (access, extended) = (ctx.cl(), ctx.ch());
            check_rights(access, extended, is386)?;
            let (lo, hi) = read(client, ctx, bx);
            let mut hi = (hi & !0xFF00) | (u32::from(access) << 8);
            if is386 {
                hi = (hi & !0x00F0_0000) | (u32::from(extended & 0xD0) << 16);
            }
            put(client, ctx, i, (lo, hi));
            Ok(())
        }
        0x000A => {
            allocated(client, bx)?;
            let (lo, hi) = read(client, ctx, bx);
            if (hi >> 8) & 0x18 != 0x18 {
                return Err(err::INVALID_SELECTOR);
            }
            let sel =
                new_descriptor(client, ctx, 0, 0, DATA, Owner::Client).ok_or(err::NO_DESCRIPTOR)?;
            let i = usize::from(sel >> 3);
            put(
                client,
                ctx,
                i,
                (lo, (hi & !0xFF00) | (u32::from(DATA) << 8)),
            );
            ctx.set_ax(sel);
            Ok(())
        }
        0x000B => {
            allocated(client, bx)?;
            let (lo, hi) = read(client, ctx, bx);
            let at = super::operand(ctx, client.bits32, SegReg::ES, Reg32::EDI);
            ctx.write_linear(at, 4, lo);
            ctx.write_linear(at.wrapping_add(4), 4, hi);
            Ok(())
        }
        _ => {
            let i = changeable(client, bx)?;
            let at = super::operand(ctx, client.bits32, SegReg::ES, Reg32::EDI);
            let lo = ctx.read_linear(at, 4);
            let hi = ctx.read_linear(at.wrapping_add(4), 4);
            check_rights((hi >> 8) as u8, (hi >> 16) as u8 & 0xF0, is386)?;
            let hi = if is386 { hi } else { hi & 0xFFFF };
            put(client, ctx, i, (lo, hi));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_encode_as_the_80386_reads_them() {
        // 80386 PRM figure 5-3: base 12345678h, limit FFFFFh in pages (G), a 32-bit
        // writable data segment at DPL 3.
        let (lo, hi) = encode(0x1234_5678, 0xF_FFFF, 0xF2, 0xC);
        assert_eq!(lo, 0x5678_FFFF);
        assert_eq!(hi, 0x12CF_F234);
        assert_eq!(base_of_raw((lo, hi)), 0x1234_5678);
    }

    #[test]
    fn access_rights_follow_the_0009h_rules() {
        assert_eq!(check_rights(0xF2, 0, true), Ok(()));
        assert_eq!(check_rights(0xFA, 0x40, true), Ok(()));
        // DPL 0, a system descriptor, a conforming or execute-only code segment, bit 5
        // of the extended byte.
        for (access, extended) in [(0x92, 0), (0xE2, 0), (0xFE, 0), (0xF8, 0), (0xF2, 0x20)] {
            assert_eq!(
                check_rights(access, extended, true),
                Err(err::INVALID_VALUE),
                "{access:02X} {extended:02X}"
            );
        }
        // Not present: only the DPL and S rules.
        assert_eq!(check_rights(0x7C, 0, true), Ok(()));
    }
}
