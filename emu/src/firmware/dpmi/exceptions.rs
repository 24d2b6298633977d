//! The client's exception handlers: Int 31h 0202h/0203h and the calls the host makes to
//! them (DPMI 0.9 specification, "Exception handlers"; dos-memory.md section 3.3).
//!
//! An exception 00h-1Fh the client has a handler for is passed to it on the host's
//! exception stack (1 KiB of the client's host-data buffer, a selector of the host's),
//! with interrupts disabled and this frame: the return address to the host (a far return),
//! the error code (0 for exceptions without one), and the faulting CS:(E)IP, (E)FLAGS and
//! SS:(E)SP, in words for a 16-bit client and dwords for a 32-bit one (16-bit: +00h return
//! IP, +02h return CS, +04h error code, +06h IP, +08h CS, +0Ah FLAGS, +0Ch SP, +0Eh SS). The
//! handler returns with RETF; the client continues at the frame's CS:(E)IP with its
//! (E)FLAGS and SS:(E)SP, which the handler may have changed, and the general and data
//! segment registers the handler returns with. A handler that chains to the address 0202h
//! returned before it was set (the host's default) ends the client with the same report as
//! an exception without a handler. The exception stack has room for one exception at a
//! time: a handler that faults again before it returns ends the client.

use super::descriptors::HOST_CS3;
use super::switch::{self, Ring3};
use super::{Client, err};
use crate::cpu::{Reg32, SegReg};
use crate::firmware::stubs::{Asm, BIOS_SEG, svc};
use crate::firmware::{Ctx, Firmware, Flow};

/// ROM offsets (in [`HOST_CS3`], base F0000h): the handlers' return address, and one
/// default handler per exception.
const ROM_EXC_RETURN: u16 = 0x1830;
const ROM_EXC_DEFAULT: u16 = 0x1840; // 32 stubs of 8 bytes

/// The exception stack's top in the client's host-data buffer (the real-mode stack is
/// above it).
pub(super) const EXCEPTION_STACK_TOP: u32 = 0x400;

/// The faulting state of an exception.
pub(super) struct Faulting {
    pub eip: u32,
    pub cs: u16,
    pub eflags: u32,
    pub esp: u32,
    pub ss: u16,
    pub code: u32,
}

pub(super) fn rom_stubs(out: &mut Vec<Asm>) {
    let mut a = Asm::new(BIOS_SEG, ROM_EXC_RETURN);
    let top = a.here();
    a.trap(svc::DPMI_EXC_RETURN).hlt().jmp_short(top);
    out.push(a);
    for v in 0..32u16 {
        let mut a = Asm::new(BIOS_SEG, ROM_EXC_DEFAULT + v * 8);
        a.trap(svc::DPMI_EXC_DEFAULT | v).hlt();
        out.push(a);
    }
}

fn default_handler(v: u8) -> (u16, u32) {
    (HOST_CS3, u32::from(ROM_EXC_DEFAULT) + u32::from(v) * 8)
}

/// 0202h: the handler of exception `v` (the host's default if the client set none).
pub(super) fn handler(client: &Client, v: u8) -> (u16, u32) {
    client
        .exception_handlers
        .iter()
        .find(|&&(n, _, _)| n == v)
        .map_or(default_handler(v), |&(_, sel, off)| (sel, off))
}

/// 0203h: sets the handler of exception `v` (the host's default address removes it).
pub(super) fn set_handler(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    v: u8,
    sel: u16,
    off: u32,
) -> Result<(), u16> {
    let client = super::client_mut(fw)?;
    if (sel, off) == default_handler(v) {
        client.exception_handlers.retain(|&(n, _, _)| n != v);
        return Ok(());
    }
    if !super::descriptors::is_client_code(client, ctx, sel) {
        return Err(err::INVALID_SELECTOR);
    }
    client.exception_handlers.retain(|&(n, _, _)| n != v);
    client.exception_handlers.push((v, sel, off));
    Ok(())
}

/// Passes exception `v` to the client's handler, if it has one and is not already in one.
pub(super) fn deliver(fw: &mut Firmware, ctx: &mut Ctx, v: u8, f: &Faulting) -> Option<Flow> {
    let client = fw.dpmi.as_mut()?.client.as_deref_mut()?;
    let &(_, sel, off) = client
        .exception_handlers
        .iter()
        .find(|&&(n, _, _)| n == v)?;
    if client.in_exception {
        return None;
    }
    let cw: u32 = if client.bits32 { 4 } else { 2 };
    let values = [
        u32::from(ROM_EXC_RETURN),
        u32::from(HOST_CS3),
        f.code,
        f.eip,
        u32::from(f.cs),
        f.eflags,
        f.esp,
        u32::from(f.ss),
    ];
    let sp = EXCEPTION_STACK_TOP - cw * values.len() as u32;
    let base = u32::from(client.host_data) << 4;
    for (i, v) in values.iter().enumerate() {
        ctx.write_linear(base + sp + cw * i as u32, cw, *v);
    }
    let seg = |s: SegReg| ctx.cpu.sreg(s);
    let target = Ring3 {
        cs: sel,
        eip: off,
        eflags: f.eflags & !0x300,
        ss: client.exception_stack,
        esp: sp,
        ds: seg(SegReg::DS),
        es: seg(SegReg::ES),
        fs: seg(SegReg::FS),
        gs: seg(SegReg::GS),
    };
    client.in_exception = true;
    match switch::resume_ring3(ctx, client, &target) {
        Ok(()) => Some(Flow::Continue),
        Err(_) => {
            client.in_exception = false;
            None
        }
    }
}

/// The client's stack at the trap of a ring-3 stub: (linear address of SS:(E)SP, slot
/// width).
fn stack(client: &Client, ctx: &Ctx) -> (u32, u32) {
    let ss = ctx.cpu.segment(SegReg::SS);
    let esp = ctx.cpu.reg32(Reg32::ESP) & if ss.big { !0 } else { 0xFFFF };
    (ss.base.wrapping_add(esp), if client.bits32 { 4 } else { 2 })
}

/// A handler returned (RETF) to the host: the client continues at the frame's state.
pub(super) fn returned(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.as_deref_mut()) else {
        return Flow::Continue;
    };
    client.in_exception = false;
    let (at, w) = stack(client, ctx);
    // Past the return address: error code, (E)IP, CS, (E)FLAGS, (E)SP, SS.
    let slot = |i: u32| ctx.read_linear(at + i * w, w);
    let seg = |s: SegReg| ctx.cpu.sreg(s);
    let target = Ring3 {
        eip: slot(1),
        cs: slot(2) as u16,
        eflags: slot(3),
        esp: slot(4),
        ss: slot(5) as u16,
        ds: seg(SegReg::DS),
        es: seg(SegReg::ES),
        fs: seg(SegReg::FS),
        gs: seg(SegReg::GS),
    };
    if switch::resume_ring3(ctx, client, &target).is_err() {
        // The frame names no valid code or stack: the client cannot continue.
        let (cs, eip, code) = (target.cs, target.eip, 0);
        return switch::report_and_end(fw, ctx, 0x0D, code, cs, eip);
    }
    Flow::Continue
}

/// A handler chained to the host's default for exception `v`: the client is ended as if
/// it had no handler.
pub(super) fn default_called(fw: &mut Firmware, ctx: &mut Ctx, v: u8) -> Flow {
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.as_deref_mut()) else {
        return Flow::Continue;
    };
    client.in_exception = false;
    let (at, w) = stack(client, ctx);
    // The frame as the host built it: return address, error code, (E)IP, CS.
    let slot = |i: u32| ctx.read_linear(at + i * w, w);
    let (code, eip, cs) = (slot(2), slot(3), slot(4) as u16);
    switch::report_and_end(fw, ctx, v, code, cs, eip)
}
