//! The rest of the translation services: real-mode callbacks (Int 31h 0303h/0304h and the
//! calls real-mode code makes to them), the state save/restore addresses (0305h) and the raw
//! mode switch (0306h). Sources: the DPMI 0.9 specification, "Translation services"; RBIL
//! INT 31/0303h-0306h and #03148 (the real-mode call structure); dos-memory.md section 3.
//!
//! # Real-mode callbacks
//!
//! A callback is a real-mode address (one of [`CALLBACKS`] in the BIOS ROM, F000:1940h + 8n)
//! that switches to protected mode and calls a procedure of the client. When real-mode code
//! calls it (a far CALL or an INT), the host stores the real-mode registers in the client's
//! call structure (EDI ESI EBP reserved EBX EDX ECX EAX FLAGS ES DS FS GS IP CS SP SS; CS:IP
//! = the callback's address, SS:SP = the caller's stack) and calls the procedure at CPL 3
//! with interrupts disabled, DS:(E)SI = a selector for the real-mode stack segment and SP,
//! ES:(E)DI = the call structure, and SS:(E)SP = the client's stack at the moment it
//! entered real mode, below which an IRET frame (IRETD for a 32-bit client) leads back to
//! the host. The procedure returns with IRET; ES:(E)DI then names the structure real mode
//! resumes from: the host loads every register from it, CS:IP and SS:SP included, so a
//! procedure that simulates a far return pops the caller's address from the real-mode stack
//! into CS:IP and adds 4 to SP, as the specification describes.
//!
//! Choices where 0.9 is silent: 16 callbacks per client (0.9 asks for at least 16), then
//! 8015h; 0304h of an address that is no allocated callback is 8024h (DPMI 1.0 codes, as
//! Windows 3.1 returns them); a procedure that is not a code selector of the client is
//! 8022h. A client's real-mode code only runs while one of its protected-mode states waits
//! for it (a reflected interrupt, or an 0300h-0302h call), and the procedure's stack is
//! that state's; a callback called at another time, after it was freed, or so deep inside
//! other real-mode calls that its procedure would have no room for two more
//! ([`switch::MAX_REAL_MODE_DEPTH`] levels: 10, so callbacks nest eight deep from a first
//! 0301h), returns at once as a far return does (RETF). The procedure's frames on the ring-0 stack go below the
//! waiting state's (the TSS's ring-0 stack pointer moves down while it runs), so interrupts,
//! exceptions and Int 31h calls inside it nest, 0300h-0302h and callbacks included.
//!
//! # State save/restore and raw switches
//!
//! The host keeps both modes' states itself, so 0305h returns AX = 0 (no buffer needed) and
//! addresses of routines that only return (RETF in real mode; in protected mode a far return
//! of the client's width). 0306h returns BX:CX, the real-to-protected switch (jumped to with
//! AX = DS, CX = ES, DX = SS, (E)BX = (E)SP, SI = CS, (E)DI = (E)IP: selectors), and
//! SI:(E)DI, the protected-to-real switch (the same registers holding segments); FS and GS
//! become 0 and the other registers keep their values. A raw switch does not save the mode
//! it leaves. Not modelled: a client that raw-switches to real mode and ends there with Int
//! 21h AH=4Ch is not released by the host (DOS ends the program; the host's tables and
//! blocks stay allocated until the run ends).

use serde::{Deserialize, Serialize};

use super::Owner;
use super::descriptors::{self, HOST_CS3};
use super::switch::{self, CALL_STRUCTURE_REGS, IF, Ring3, TF};
use super::{Client, err};
use crate::cpu::{Reg16, Reg32, SegReg};
use crate::firmware::stubs::{Asm, BIOS_SEG, svc};
use crate::firmware::{Ctx, Firmware, Flow};

/// Callbacks per client.
pub const CALLBACKS: u8 = 16;
/// ROM offsets (segment F000h; [`HOST_CS3`] has base F0000h).
const ROM_CALLBACKS: u16 = 0x1940; // 16 stubs of 8 bytes: trap, RETF
const ROM_CALLBACK_RETURN: u16 = 0x19C0;
const ROM_RAW_TO_PM: u16 = 0x19C8;
const ROM_RAW_TO_RM: u16 = 0x19D0;
const ROM_SAVE_RESTORE_RM: u16 = 0x19D8; // RETF
const ROM_SAVE_RESTORE_NATIVE: u16 = 0x19DC; // RETF of the host code segment's width
const ROM_SAVE_RESTORE_OTHER: u16 = 0x19E0; // 66h RETF: the other width

/// One real-mode callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Callback {
    /// Which of the ROM addresses (0-15).
    slot: u8,
    /// The protected-mode procedure (selector, offset).
    procedure: (u16, u32),
    /// The call structure (selector, offset).
    structure: (u16, u32),
    /// The host's selector for the real-mode stack segment.
    stack_sel: u16,
}

pub(super) fn rom_stubs(out: &mut Vec<Asm>) {
    for n in 0..u16::from(CALLBACKS) {
        let mut a = Asm::new(BIOS_SEG, ROM_CALLBACKS + n * 8);
        a.trap(svc::DPMI_CALLBACK | n).retf();
        out.push(a);
    }
    for (at, service) in [
        (ROM_CALLBACK_RETURN, svc::DPMI_CALLBACK_RETURN),
        (ROM_RAW_TO_PM, svc::DPMI_RAW_TO_PM),
        (ROM_RAW_TO_RM, svc::DPMI_RAW_TO_RM),
    ] {
        let mut a = Asm::new(BIOS_SEG, at);
        let top = a.here();
        a.trap(service).hlt().jmp_short(top);
        out.push(a);
    }
    let mut a = Asm::new(BIOS_SEG, ROM_SAVE_RESTORE_RM);
    a.retf();
    out.push(a);
    let mut a = Asm::new(BIOS_SEG, ROM_SAVE_RESTORE_NATIVE);
    a.retf();
    out.push(a);
    let mut a = Asm::new(BIOS_SEG, ROM_SAVE_RESTORE_OTHER);
    a.raw(&[0x66]).retf();
    out.push(a);
}

/// The client's (E)SI- or (E)DI-style offset register by its width.
fn offset(client: &Client, ctx: &Ctx, reg: Reg32) -> u32 {
    if client.bits32 {
        ctx.cpu.reg32(reg)
    } else {
        ctx.cpu.reg32(reg) & 0xFFFF
    }
}

fn set_offset(client: &Client, ctx: &mut Ctx, reg: Reg32, v: u32) {
    if client.bits32 {
        ctx.cpu.set_reg32(reg, v);
    } else {
        let high = ctx.cpu.reg32(reg) & 0xFFFF_0000;
        ctx.cpu.set_reg32(reg, high | (v & 0xFFFF));
    }
}

/// 0303h: a callback to DS:(E)SI with the call structure at ES:(E)DI; CX:DX = its address.
pub(super) fn allocate(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let client = super::client_mut(fw)?;
    let procedure = (ctx.cpu.sreg(SegReg::DS), offset(client, ctx, Reg32::ESI));
    let structure = (ctx.cpu.sreg(SegReg::ES), offset(client, ctx, Reg32::EDI));
    if !descriptors::is_client_code(client, ctx, procedure.0) {
        return Err(err::INVALID_SELECTOR);
    }
    let slot = (0..CALLBACKS)
        .find(|&n| client.callbacks.iter().all(|c| c.slot != n))
        .ok_or(err::NO_CALLBACK)?;
    let stack_sel =
        descriptors::new_descriptor(client, ctx, 0, 0xFFFF, descriptors::DATA, Owner::Host)
            .ok_or(err::NO_DESCRIPTOR)?;
    client.callbacks.push(Callback {
        slot,
        procedure,
        structure,
        stack_sel,
    });
    ctx.set_cx(BIOS_SEG);
    ctx.set_dx(ROM_CALLBACKS + 8 * u16::from(slot));
    Ok(())
}

/// 0304h: frees the callback at CX:DX.
pub(super) fn free(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let (seg, off) = (ctx.cx(), ctx.dx());
    let client = super::client_mut(fw)?;
    let i = client
        .callbacks
        .iter()
        .position(|c| seg == BIOS_SEG && off == ROM_CALLBACKS + 8 * u16::from(c.slot))
        .ok_or(err::INVALID_CALLBACK)?;
    let cb = client.callbacks.remove(i);
    descriptors::clear(client, ctx, cb.stack_sel);
    Ok(())
}

/// 0305h and 0306h: the state save/restore and raw mode switch addresses.
pub(super) fn addresses(fw: &mut Firmware, ax: u16, ctx: &mut Ctx) -> Result<(), u16> {
    let client = super::client(fw)?;
    let (real, protected) = if ax == 0x0305 {
        // The host's code segment is 32-bit on the 80386: a 16-bit client's far call
        // returns through an operand-size prefix.
        let pm = if client.bits32 == client.paged {
            ROM_SAVE_RESTORE_NATIVE
        } else {
            ROM_SAVE_RESTORE_OTHER
        };
        ctx.set_ax(0);
        (ROM_SAVE_RESTORE_RM, pm)
    } else {
        (ROM_RAW_TO_PM, ROM_RAW_TO_RM)
    };
    ctx.set_bx(BIOS_SEG);
    ctx.set_cx(real);
    ctx.set_si(HOST_CS3);
    set_offset(client, ctx, Reg32::EDI, u32::from(protected));
    Ok(())
}

/// Real-mode code called callback `slot` (the trap in its ROM stub; a RETF follows it).
pub(super) fn called(fw: &mut Firmware, ctx: &mut Ctx, slot: u8) -> Flow {
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.as_deref_mut()) else {
        return Flow::Continue;
    };
    let Some(cb) = client.callbacks.iter().find(|c| c.slot == slot).cloned() else {
        return Flow::Continue;
    };
    let Some(waiting) = client.saved.last().map(|s| s.cpu.clone()) else {
        return Flow::Continue;
    };
    if client.saved.len() + 2 > switch::MAX_REAL_MODE_DEPTH {
        // No room for the procedure's own real-mode calls: refuse rather than run the
        // real-mode stacks out of the client's buffer (or the ring-0 stack, which each
        // level takes below the last, into the host's tables).
        return Flow::Continue;
    }
    // The real-mode state, before anything changes.
    let general = CALL_STRUCTURE_REGS.map(|(off, r)| (off, ctx.cpu.reg32(r)));
    let rm_flags = ctx.cpu.flags() & 0xFFFF;
    let rm_segs = [SegReg::ES, SegReg::DS, SegReg::FS, SegReg::GS].map(|s| ctx.cpu.sreg(s));
    let (rm_ss, rm_sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));

    // Back into the waiting protected-mode state's tables, at ring 0 on its frame.
    ctx.cpu.load_context(&waiting);
    let f = switch::frame(client, ctx);
    let w = switch::width(client);
    let (flags, esp, ss) = (
        switch::read_slot(client, ctx, f + 2 * w),
        switch::read_slot(client, ctx, f + 3 * w),
        switch::read_slot(client, ctx, f + 4 * w) as u16,
    );
    // The procedure's frames go below the waiting state's.
    let mask = if client.paged { !3 } else { 0xFFFE };
    let below = ctx.cpu.reg32(Reg32::ESP) & mask;
    client.ring0_outer.push(client.ring0_top);
    client.ring0_top = below;
    descriptors::set_ring0_stack(client, ctx, below);

    // The call structure (a linear address the host's page tables translate).
    let st = descriptors::base_of(client, ctx, cb.structure.0).wrapping_add(cb.structure.1);
    for (off, v) in general {
        ctx.write_linear(st.wrapping_add(off), 4, v);
    }
    ctx.write_linear(st.wrapping_add(0x0C), 4, 0);
    ctx.write_linear(st.wrapping_add(0x20), 2, rm_flags);
    for (i, s) in rm_segs.iter().enumerate() {
        ctx.write_linear(st.wrapping_add(0x22 + 2 * i as u32), 2, u32::from(*s));
    }
    // CS:IP = the callback, SS:SP = the caller's stack.
    let at = ROM_CALLBACKS + 8 * u16::from(slot);
    for (off, v) in [(0x2A, at), (0x2C, BIOS_SEG), (0x2E, rm_sp), (0x30, rm_ss)] {
        ctx.write_linear(st.wrapping_add(off), 2, u32::from(v));
    }
    descriptors::set(
        client,
        ctx,
        cb.stack_sel,
        u32::from(rm_ss) << 4,
        0xFFFF,
        descriptors::DATA,
    );

    // The IRET frame to the host on the waiting state's stack, then the procedure.
    let cw: u32 = if client.bits32 { 4 } else { 2 };
    let big = descriptors::is_big(client, ctx, ss);
    let new_esp = esp.wrapping_sub(3 * cw) & if big { !0 } else { 0xFFFF };
    let base = descriptors::base_of(client, ctx, ss);
    for (i, v) in [u32::from(ROM_CALLBACK_RETURN), u32::from(HOST_CS3), flags]
        .into_iter()
        .enumerate()
    {
        ctx.write_linear(base.wrapping_add(new_esp + cw * i as u32), cw, v);
    }
    let target = Ring3 {
        cs: cb.procedure.0,
        eip: cb.procedure.1,
        eflags: flags & !(IF | TF),
        ss,
        esp: if big {
            new_esp
        } else {
            (esp & 0xFFFF_0000) | new_esp
        },
        ds: cb.stack_sel,
        es: cb.structure.0,
        fs: 0,
        gs: 0,
    };
    if switch::resume_ring3(ctx, client, &target).is_err() {
        let (cs, eip) = cb.procedure;
        return switch::report_and_end(fw, ctx, 0x0D, 0, cs, eip);
    }
    ctx.cpu.set_reg32(Reg32::ESI, u32::from(rm_sp));
    ctx.cpu.set_reg32(Reg32::EDI, cb.structure.1);
    Flow::Continue
}

/// A call structure's registers: EDI ESI EBP EBX EDX ECX EAX (as [`CALL_STRUCTURE_REGS`]),
/// FLAGS, ES DS FS GS, IP CS SP SS.
struct RealState {
    general: [(Reg32, u32); 7],
    flags: u16,
    segs: [u16; 4],
    ip: u16,
    cs: u16,
    sp: u16,
    ss: u16,
}

/// Reads the call structure at linear address `st` (in the mode whose paging translates it).
fn read_structure(ctx: &Ctx, st: u32) -> RealState {
    let rd16 = |off: u32| ctx.read_linear(st.wrapping_add(off), 2) as u16;
    RealState {
        general: CALL_STRUCTURE_REGS.map(|(off, r)| (r, ctx.read_linear(st.wrapping_add(off), 4))),
        flags: rd16(0x20),
        segs: [rd16(0x22), rd16(0x24), rd16(0x26), rd16(0x28)],
        ip: rd16(0x2A),
        cs: rd16(0x2C),
        sp: rd16(0x2E),
        ss: rd16(0x30),
    }
}

/// Real mode with every register from `s`.
fn load_real_mode(ctx: &mut Ctx, s: &RealState) {
    let [es, ds, fs, gs] = s.segs;
    ctx.cpu.enter_real_mode(s.cs, s.ip, s.ss, s.sp, ds);
    ctx.set_es(es);
    ctx.cpu.set_sreg(SegReg::FS, fs);
    ctx.cpu.set_sreg(SegReg::GS, gs);
    for (r, v) in s.general {
        ctx.cpu.set_reg32(r, v);
    }
    ctx.cpu
        .set_flags((ctx.cpu.flags() & !0xFFFF) | u32::from(s.flags) | 2);
}

/// A callback's procedure returned (IRET to the host's ring-3 stub): real mode resumes
/// from the structure at ES:(E)DI.
pub(super) fn returned(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.as_deref_mut()) else {
        return Flow::Continue;
    };
    let Some(top) = client.ring0_outer.pop() else {
        // An IRET to the host's address without a callback running: the client jumped
        // there on its own.
        let cs = ctx.cpu.sreg(SegReg::CS);
        let eip = ctx.cpu.eip();
        return switch::report_and_end(fw, ctx, 0x0D, 0, cs, eip);
    };
    client.ring0_top = top;
    descriptors::set_ring0_stack(client, ctx, top);
    let st = ctx
        .cpu
        .segment(SegReg::ES)
        .base
        .wrapping_add(offset(client, ctx, Reg32::EDI));
    // Read in protected mode: the structure's address is a linear one.
    let state = read_structure(ctx, st);
    load_real_mode(ctx, &state);
    Flow::Continue
}

/// 0306h's protected-to-real switch (a jump to the host's ring-3 stub): AX = DS, CX = ES,
/// DX = SS, (E)BX = (E)SP, SI = CS, (E)DI = (E)IP, all real-mode segments.
pub(super) fn raw_to_real(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let Some(client) = fw.dpmi.as_ref().and_then(|d| d.client.as_deref()) else {
        return Flow::Continue;
    };
    let (ds, es, ss, cs) = (ctx.ax(), ctx.cx(), ctx.dx(), ctx.si());
    let sp = ctx.cpu.reg16(Reg16::BX);
    let ip = offset(client, ctx, Reg32::EDI) as u16;
    let flags = ctx.cpu.flags();
    ctx.cpu.enter_real_mode(cs, ip, ss, sp, ds);
    ctx.set_es(es);
    ctx.cpu
        .set_flags((ctx.cpu.flags() & !0xFFFF) | (flags & 0xFFFF & !0x3000));
    Flow::Continue
}

/// 0306h's real-to-protected switch (a far jump in real mode): AX = DS, CX = ES, DX = SS,
/// (E)BX = (E)SP, SI = CS, (E)DI = (E)IP, all selectors of the client.
pub(super) fn raw_to_protected(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let Some(client) = fw.dpmi.as_ref().and_then(|d| d.client.as_deref()) else {
        return Flow::Continue;
    };
    let target = Ring3 {
        cs: ctx.si(),
        eip: offset(client, ctx, Reg32::EDI),
        eflags: ctx.cpu.flags(),
        ss: ctx.dx(),
        esp: offset(client, ctx, Reg32::EBX),
        ds: ctx.ax(),
        es: ctx.cx(),
        fs: 0,
        gs: 0,
    };
    descriptors::clear_tss_busy(client, ctx);
    let entered = switch::enter_protected(ctx, client)
        .and_then(|()| switch::resume_ring3(ctx, client, &target));
    if entered.is_err() {
        return switch::report_and_end(fw, ctx, 0x0D, 0, target.cs, target.eip);
    }
    Flow::Continue
}
