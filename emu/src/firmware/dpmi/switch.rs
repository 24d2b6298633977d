//! The DPMI host's mode switches: the entry from real mode, the interrupt gates, reflection
//! to real mode and back, Int 31h 0200h-0205h and 0300h-0302h, and the end of a client.
//!
//! Every switch is made by the host in Rust on the processor state, with the same effect as
//! the host code of a DPMI TSR: protected mode with the host's tables (80386 PRM 10.3,
//! 14.4), or real mode with the interrupt table at 0 (14.5). The client enters and leaves
//! ring 3 through the processor's own IRET from the stubs in the BIOS ROM, so every check
//! of the selectors it is given is the processor's.

use super::descriptors::{self, GDT_LIMIT, HOST_CS, HOST_SS, LDT_SEL, TSS_SEL};
use super::{Client, Dpmi, HOST_PARAGRAPHS, Owner, Saved, SavedKind, err, memory};
use crate::cpu::{Reg16, Reg32, SegReg, TableRegister};
use crate::firmware::dos::sda;
use crate::firmware::stubs::{Asm, BIOS_SEG, svc};
use crate::firmware::{Ctx, Firmware, Flow, Regs, linear};
use crate::observe::Observation;

/// ROM offsets of the host's code (segment F000h; the host's code segment has base F0000h).
const ROM_PM_INTS: u16 = 0x1000; // 256 stubs of 8 bytes: trap, IRET
const ROM_ENTER32: u16 = 0x1800; // pop gs, fs, ds, es; iretd
const ROM_ENTER16: u16 = 0x1808; // pop ds, es; iret
pub(super) const ROM_DPMI_ENTRY: u16 = 0x1810;
const ROM_RM_RETURN: u16 = 0x1818;
const ROM_TERMINATE: u16 = 0x1820;

/// The ring-0 stack's top (offset in the host's block and in [`HOST_SS`]) while no
/// callback runs (`Client::ring0_top`).
pub(super) const STACK_TOP: u32 = 0x8000;

pub(super) const IF: u32 = 0x200;
pub(super) const TF: u32 = 0x100;
/// The general registers in the real-mode call structure of 0300h-0303h (RBIL #03148):
/// offset and register; 0Ch is reserved, FLAGS, ES, DS, FS, GS, IP, CS, SP and SS follow
/// from 20h as words.
pub(super) const CALL_STRUCTURE_REGS: [(u32, Reg32); 7] = [
    (0x00, Reg32::EDI),
    (0x04, Reg32::ESI),
    (0x08, Reg32::EBP),
    (0x10, Reg32::EBX),
    (0x14, Reg32::EDX),
    (0x18, Reg32::ECX),
    (0x1C, Reg32::EAX),
];

/// CF, PF, AF, ZF, SF, OF: what a real-mode call returns to the client.
const ARITHMETIC: u32 = 0x08D5;

/// The host's stubs in the BIOS ROM.
pub(crate) fn rom_stubs() -> Vec<Asm> {
    let mut out = Vec::new();
    for v in 0..=255u16 {
        let mut a = Asm::new(BIOS_SEG, ROM_PM_INTS + v * 8);
        // IRET is IRETD in the 80386's 32-bit host code segment.
        a.trap(svc::DPMI_PM_INT | v).iret();
        out.push(a);
    }
    let mut a = Asm::new(BIOS_SEG, ROM_ENTER32);
    a.raw(&[0x0F, 0xA9, 0x0F, 0xA1, 0x1F, 0x07, 0xCF]);
    out.push(a);
    let mut a = Asm::new(BIOS_SEG, ROM_ENTER16);
    a.raw(&[0x1F, 0x07, 0xCF]);
    out.push(a);
    let mut a = Asm::new(BIOS_SEG, ROM_DPMI_ENTRY);
    a.trap(svc::DPMI_ENTRY).retf();
    out.push(a);
    let mut a = Asm::new(BIOS_SEG, ROM_RM_RETURN);
    let top = a.here();
    a.trap(svc::DPMI_RM_RETURN).hlt().jmp_short(top);
    out.push(a);
    let mut a = Asm::new(BIOS_SEG, ROM_TERMINATE);
    let top = a.here();
    a.int(0x21).hlt().jmp_short(top);
    out.push(a);
    super::exceptions::rom_stubs(&mut out);
    super::callbacks::rom_stubs(&mut out);
    out
}

/// The gate offset (in [`HOST_CS`]) of vector `v`'s stub.
pub(super) fn stub_offset(v: u8) -> u32 {
    u32::from(ROM_PM_INTS) + u32::from(v) * 8
}

fn host(fw: &mut Firmware) -> Option<&mut Dpmi> {
    fw.dpmi.as_mut()
}

/// Sets or clears CF in FLAGS for a real-mode far call's return (the entry's failure).
fn set_live_cf(ctx: &mut Ctx, on: bool) {
    let f = ctx.cpu.flags();
    ctx.cpu.set_flags(if on { f | 1 } else { f & !1 });
}

/// The mode-switch entry, called far from real mode (AX bit 0 = 32-bit client, ES = the
/// host data buffer).
pub(super) fn entry(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let fail = |ctx: &mut Ctx, code: u16| {
        ctx.set_ax(code);
        set_live_cf(ctx, true);
        Flow::Continue
    };
    let Some(dpmi) = host(fw) else {
        return fail(ctx, err::UNSUPPORTED);
    };
    if dpmi.client.is_some() {
        // One client at a time (the first switch only).
        return fail(ctx, err::RESOURCES);
    }
    let max_kb = dpmi.config.max_client_kb;
    let is386 = ctx.cpu.model() == crate::cpu::Model::I80386;
    let bits32 = ctx.ax() & 1 != 0;
    if bits32 && !is386 {
        return fail(ctx, err::INVALID_VALUE);
    }
    let Some(xms) = fw.xms.as_mut() else {
        return fail(ctx, err::RESOURCES);
    };
    let Ok((tables_handle, tables)) = xms.host_allocate(ctx, 64) else {
        return fail(ctx, err::RESOURCES);
    };
    if is386 && tables + 0x1_0000 > 0x40_0000 {
        // The host's tables must lie in the first 4 MiB, which it maps one to one.
        xms.host_free(ctx, tables_handle);
        return fail(ctx, err::RESOURCES);
    }
    let (ss, sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));
    let (ret_ip, ret_cs) = (ctx.rd16(ss, sp), ctx.rd16(ss, sp.wrapping_add(2)));
    let ds = ctx.ds();
    let host_data = ctx.es();
    let psp = sda::current_psp(ctx);
    let env_segment = ctx.rd16(psp, 0x2C);
    let before = ctx.cpu.context();
    let a20_was = ctx.a20();
    ctx.set_a20(true);

    let mut client = Client {
        bits32,
        paged: is386,
        psp,
        env_segment,
        host_data,
        tables_handle,
        tables,
        ldt: vec![Owner::Free; descriptors::LDT_ENTRIES],
        segment_selectors: Vec::new(),
        pm_vectors: Vec::new(),
        exception_handlers: Vec::new(),
        in_exception: false,
        exception_stack: 0,
        blocks: Vec::new(),
        dos_blocks: Vec::new(),
        next_handle: 1,
        next_linear: memory::CLIENT_LINEAR,
        max_kb,
        a20_was,
        saved: Vec::new(),
        ring0_top: STACK_TOP,
        ring0_outer: Vec::new(),
        callbacks: Vec::new(),
    };
    descriptors::build_tables(&client, ctx);
    memory::build_page_tables(&client, ctx);
    client.ldt[0] = Owner::Host;
    let seg = |client: &mut Client, ctx: &mut Ctx, segment: u16, limit: u32, access: u8| {
        descriptors::new_descriptor(
            client,
            ctx,
            u32::from(segment) << 4,
            limit,
            access,
            Owner::Client,
        )
    };
    let (Some(cs_sel), Some(ds_sel), Some(ss_sel), Some(psp_sel)) = (
        seg(&mut client, ctx, ret_cs, 0xFFFF, descriptors::CODE16),
        seg(&mut client, ctx, ds, 0xFFFF, descriptors::DATA),
        seg(&mut client, ctx, ss, 0xFFFF, descriptors::DATA),
        seg(&mut client, ctx, psp, 0xFF, descriptors::DATA),
    ) else {
        return fail(ctx, err::NO_DESCRIPTOR);
    };
    if env_segment != 0
        && let Some(env_sel) = seg(&mut client, ctx, env_segment, 0xFFFF, descriptors::DATA)
    {
        ctx.mem().write_u16(linear(psp, 0x2C), env_sel);
    }
    // The exception stack: the first 1 KiB of the host-data buffer, the host's selector.
    let Some(stack_sel) = descriptors::new_descriptor(
        &mut client,
        ctx,
        u32::from(host_data) << 4,
        super::exceptions::EXCEPTION_STACK_TOP - 1,
        descriptors::DATA,
        Owner::Host,
    ) else {
        return fail(ctx, err::NO_DESCRIPTOR);
    };
    if bits32 {
        descriptors::set_big(&client, ctx, stack_sel);
    }
    client.exception_stack = stack_sel;

    // The client's flags: IOPL 3, CF clear (a successful switch), the rest as called.
    let eflags = ctx.cpu.flags() & !1;
    let target = Ring3 {
        cs: cs_sel,
        eip: u32::from(ret_ip),
        eflags,
        ss: ss_sel,
        esp: u32::from(sp.wrapping_add(4)),
        ds: ds_sel,
        es: psp_sel,
        fs: 0,
        gs: 0,
    };
    if let Err(code) =
        enter_protected(ctx, &client).and_then(|()| resume_ring3(ctx, &client, &target))
    {
        ctx.cpu.load_context(&before);
        ctx.set_a20(a20_was);
        if let Some(x) = fw.xms.as_mut() {
            x.host_free(ctx, tables_handle);
        }
        return fail(ctx, code);
    }
    if let Some(d) = host(fw) {
        d.client = Some(Box::new(client));
    }
    fw.observe(ctx, Observation::DpmiStart { psp, bits32 });
    Flow::Continue
}

/// Loads the host's tables: GDTR, IDTR, paging, LDTR and TR (80386 PRM 10.3).
pub(super) fn enter_protected(ctx: &mut Ctx, client: &Client) -> Result<(), u16> {
    let t = client.tables;
    ctx.cpu.set_table_registers(
        TableRegister {
            base: t + descriptors::GDT,
            limit: GDT_LIMIT,
        },
        TableRegister {
            base: t + descriptors::IDT,
            limit: 0x7FF,
        },
    );
    let mut cr0 = ctx.cpu.cr0() | 1;
    if client.paged {
        ctx.cpu.set_cr3(t + memory::PAGE_DIRECTORY);
        cr0 |= 0x8000_0000;
    }
    ctx.cpu.set_cr0(cr0);
    let bus = &mut *ctx.bus;
    ctx.cpu
        .load_ldtr(bus, LDT_SEL)
        .and_then(|()| ctx.cpu.load_tr(bus, TSS_SEL))
        .map_err(|_| err::RESOURCES)
}

/// Where the client continues at CPL 3.
pub(super) struct Ring3 {
    pub cs: u16,
    pub eip: u32,
    pub eflags: u32,
    pub ss: u16,
    pub esp: u32,
    pub ds: u16,
    pub es: u16,
    pub fs: u16,
    pub gs: u16,
}

/// Continues the client at `t` through the processor's own IRET from the host's ring 0
/// (the host's tables must be loaded): an IRET frame with the data segment registers on the
/// ring-0 stack, then the stub that pops them and returns. Every selector is checked as
/// the processor checks a return to an outer level. EFLAGS: IOPL 3, VM and NT clear.
pub(super) fn resume_ring3(ctx: &mut Ctx, client: &Client, t: &Ring3) -> Result<(), u16> {
    let eflags = (t.eflags & !(0x3_0000 | 0x4000 | 0x3000)) | 0x3000 | 2;
    // POP GS, FS, DS, ES then IRETD on the 80386; POP DS, ES then IRET on the 80286.
    let full = [
        u32::from(t.gs),
        u32::from(t.fs),
        u32::from(t.ds),
        u32::from(t.es),
        t.eip,
        u32::from(t.cs),
        eflags,
        t.esp,
        u32::from(t.ss),
    ];
    let (frame, stub) = if client.paged {
        (&full[..], ROM_ENTER32)
    } else {
        (&full[2..], ROM_ENTER16)
    };
    let w = width(client);
    let frame_at = client.ring0_top - w * frame.len() as u32;
    for (i, v) in frame.iter().enumerate() {
        let at = client.tables + frame_at + w * i as u32;
        if client.paged {
            ctx.mem().write_u32(at, *v);
        } else {
            ctx.mem().write_u16(at, *v as u16);
        }
    }
    let bus = &mut *ctx.bus;
    ctx.cpu
        .enter_ring0(bus, HOST_CS, u32::from(stub), HOST_SS, frame_at)
        .map_err(|_| err::RESOURCES)
}

/// The bytes per slot of the host's interrupt frames (32-bit gates on the 80386).
pub(super) fn width(client: &Client) -> u32 {
    if client.paged { 4 } else { 2 }
}

/// Linear address of the interrupt frame on the ring-0 stack (past the error code, if
/// any).
pub(super) fn frame(client: &Client, ctx: &Ctx) -> u32 {
    let esp = ctx.cpu.reg32(Reg32::ESP) & if client.paged { !0 } else { 0xFFFF };
    let w = width(client);
    let at = client.tables + esp;
    if esp == client.ring0_top - 6 * w {
        at + w
    } else {
        at
    }
}

pub(super) fn read_slot(client: &Client, ctx: &Ctx, at: u32) -> u32 {
    ctx.read_linear(at, width(client))
}

fn write_slot(client: &Client, ctx: &mut Ctx, at: u32, v: u32) {
    ctx.write_linear(at, width(client), v)
}

/// The client's FLAGS in the interrupt frame (what its IRET will restore).
pub(super) fn client_flags(fw: &Firmware, ctx: &Ctx) -> u32 {
    match fw.dpmi.as_ref().and_then(|d| d.client.as_deref()) {
        Some(c) => read_slot(c, ctx, frame(c, ctx) + 2 * width(c)),
        None => 0,
    }
}

/// Sets or clears `mask` in the client's FLAGS in the interrupt frame.
pub(super) fn set_client_flag(fw: &Firmware, ctx: &mut Ctx, mask: u32, on: bool) {
    if let Some(c) = fw.dpmi.as_ref().and_then(|d| d.client.as_deref()) {
        let at = frame(c, ctx) + 2 * width(c);
        let f = read_slot(c, ctx, at);
        write_slot(c, ctx, at, if on { f | mask } else { f & !mask });
    }
}

pub(super) fn set_client_cf(fw: &Firmware, ctx: &mut Ctx, on: bool) {
    set_client_flag(fw, ctx, 1, on);
}

/// A trap at the host's gate for vector `v`.
pub(super) fn protected_interrupt(fw: &mut Firmware, v: u8, ctx: &mut Ctx) -> Flow {
    let Some(client) = fw.dpmi.as_ref().and_then(|d| d.client.as_deref()) else {
        return Flow::Continue;
    };
    let w = width(client);
    let esp = ctx.cpu.reg32(Reg32::ESP) & if client.paged { !0 } else { 0xFFFF };
    let with_code = esp == client.ring0_top - 6 * w;
    if v < 8 || (v <= 0x0E && with_code) {
        return fault(fw, v, with_code, ctx);
    }
    if v == 0x31 {
        return super::int31(fw, ctx);
    }
    if v == 0x2F && ctx.ax() == 0x1686 {
        ctx.set_ax(0);
        return Flow::Continue;
    }
    if v == 0x21 && ctx.ah() == 0x4C {
        let code = ctx.al();
        return terminate(fw, ctx, code);
    }
    if let Some(&(_, sel, off)) = client.pm_vectors.iter().find(|&&(n, _, _)| n == v) {
        deliver_to_client(client, ctx, sel, off);
        return Flow::Continue;
    }
    reflect(fw, v, ctx);
    Flow::Continue
}

/// Sends the interrupt whose frame is on the ring-0 stack to the client's handler
/// `sel:off`: the interrupted CS:(E)IP and FLAGS go onto the client's stack, so the
/// handler's IRET returns to the interrupted code, and the ring-0 frame now leads to the
/// handler with IF and TF clear.
fn deliver_to_client(client: &Client, ctx: &mut Ctx, sel: u16, off: u32) {
    let w = width(client);
    let f = frame(client, ctx);
    let (eip, cs, flags) = (
        read_slot(client, ctx, f),
        read_slot(client, ctx, f + w),
        read_slot(client, ctx, f + 2 * w),
    );
    let (esp, ss) = (
        read_slot(client, ctx, f + 3 * w),
        read_slot(client, ctx, f + 4 * w) as u16,
    );
    // The client's IRET frame: 32-bit for a 32-bit client, 16-bit otherwise.
    let cw: u32 = if client.bits32 { 4 } else { 2 };
    let big = descriptors::is_big(client, ctx, ss);
    let new_esp = esp.wrapping_sub(3 * cw) & if big { !0 } else { 0xFFFF };
    let base = descriptors::base_of(client, ctx, ss);
    for (i, v) in [eip, cs, flags].into_iter().enumerate() {
        ctx.write_linear(base.wrapping_add(new_esp + cw * i as u32), cw, v);
    }
    let new_esp = if big {
        new_esp
    } else {
        (esp & 0xFFFF_0000) | new_esp
    };
    write_slot(client, ctx, f + 3 * w, new_esp);
    write_slot(client, ctx, f, off);
    write_slot(client, ctx, f + w, u32::from(sel));
    write_slot(client, ctx, f + 2 * w, flags & !(IF | TF));
}

/// Levels of real-mode code running for the client one inside another that the host's
/// buffer has stacks for: 0300h-0302h beyond it fail with 8010h, and callbacks leave room
/// for two more (a call and an interrupt inside their procedure; `callbacks.rs`).
pub(super) const MAX_REAL_MODE_DEPTH: usize =
    (HOST_PARAGRAPHS as usize * 16 - super::exceptions::EXCEPTION_STACK_TOP as usize) / 0x200;

/// Real-mode stack top for nesting level `depth` (1 = the first) in the client's buffer.
fn real_mode_sp(depth: usize) -> u16 {
    (HOST_PARAGRAPHS * 16).wrapping_sub(0x200 * (depth.saturating_sub(1) as u16))
}

/// Reflects interrupt `v` to real mode: the real-mode vector runs with the client's
/// general registers on the host's real-mode stack; [`real_mode_returned`] comes back.
fn reflect(fw: &mut Firmware, v: u8, ctx: &mut Ctx) {
    let flags = client_flags(fw, ctx);
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.as_deref_mut()) else {
        return;
    };
    client.saved.push(Saved {
        cpu: ctx.cpu.context(),
        kind: SavedKind::Reflected,
    });
    let sp = real_mode_sp(client.saved.len());
    let data = client.host_data;
    let (seg, off) = ctx.vector(v);
    call_real_mode(
        ctx,
        data,
        sp,
        &[flags as u16, BIOS_SEG, ROM_RM_RETURN],
        seg,
        off,
    );
    let live = (ctx.cpu.flags() & !0xFFFF) | (flags & !(IF | TF) & 0xFFFF);
    ctx.cpu.set_flags(live);
}

/// Real mode at `seg:off` with the stack `data:sp` holding `words` (the first is pushed
/// first), DS = ES = `data`.
fn call_real_mode(ctx: &mut Ctx, data: u16, sp: u16, words: &[u16], seg: u16, off: u16) {
    let mut sp = sp;
    ctx.cpu.enter_real_mode(seg, off, data, sp, data);
    for &w in words {
        sp = sp.wrapping_sub(2);
        ctx.wr16(data, sp, w);
    }
    ctx.cpu.set_reg16(Reg16::SP, sp);
}

/// The real-mode code the host called returned to its stub.
pub(super) fn real_mode_returned(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.as_deref_mut()) else {
        return Flow::Continue;
    };
    let Some(saved) = client.saved.pop() else {
        return Flow::Continue;
    };
    let regs = [
        Reg32::EAX,
        Reg32::ECX,
        Reg32::EDX,
        Reg32::EBX,
        Reg32::EBP,
        Reg32::ESI,
        Reg32::EDI,
    ]
    .map(|r| (r, ctx.cpu.reg32(r)));
    let rm_flags = ctx.cpu.flags();
    let rm_segs = [SegReg::ES, SegReg::DS, SegReg::FS, SegReg::GS].map(|s| ctx.cpu.sreg(s));
    match saved.kind {
        SavedKind::Reflected => {
            ctx.cpu.load_context(&saved.cpu);
            for (r, v) in regs {
                ctx.cpu.set_reg32(r, v);
            }
            let flags = client_flags(fw, ctx);
            let merged = (flags & !ARITHMETIC) | (rm_flags & ARITHMETIC);
            set_client_flag(fw, ctx, !0, false);
            set_client_flag(fw, ctx, merged, true);
        }
        SavedKind::Simulated { structure, input } => {
            // Back in protected mode first: the structure's address is a linear one, which
            // the host's page tables translate.
            ctx.cpu.load_context(&saved.cpu);
            // RBIL #03148: EDI ESI EBP (reserved) EBX EDX ECX EAX FLAGS ES DS FS GS.
            let at = |off: u32| structure + off;
            let get = |r: Reg32| regs.iter().find(|(x, _)| *x == r).map_or(0, |&(_, v)| v);
            for (off, r) in CALL_STRUCTURE_REGS {
                ctx.write_linear(at(off), 4, get(r));
            }
            ctx.write_linear(at(0x20), 2, rm_flags & 0xFFFF);
            for (i, s) in rm_segs.iter().enumerate() {
                ctx.write_linear(at(0x22 + 2 * i as u32), 2, u32::from(*s));
            }
            let output = Regs::of(ctx);
            fw.observe(ctx, Observation::Dpmi { input, output });
        }
    }
    Flow::Continue
}

/// Int 31h 0300h-0302h: simulate a real-mode interrupt, call a real-mode procedure with a
/// RETF or an IRET frame (the call structure at ES:(E)DI).
pub(super) fn simulate(fw: &mut Firmware, ax: u16, ctx: &mut Ctx) -> Result<(), u16> {
    let client = super::client(fw)?;
    if client.saved.len() >= MAX_REAL_MODE_DEPTH {
        return Err(err::RESOURCES);
    }
    let structure = super::operand(ctx, client.bits32, SegReg::ES, Reg32::EDI);
    let rd16 = |ctx: &Ctx, off: u32| ctx.read_linear(structure + off, 2) as u16;
    let (flags, es, ds, fs, gs) = (
        rd16(ctx, 0x20),
        rd16(ctx, 0x22),
        rd16(ctx, 0x24),
        rd16(ctx, 0x26),
        rd16(ctx, 0x28),
    );
    let (ip, cs, sp, ss) = (
        rd16(ctx, 0x2A),
        rd16(ctx, 0x2C),
        rd16(ctx, 0x2E),
        rd16(ctx, 0x30),
    );
    let words = usize::from(ctx.cx());
    if words > 0x100 {
        return Err(err::INVALID_VALUE);
    }
    // The parameters on the client's stack (above its Int 31h frame).
    let w = width(client);
    let f = frame(client, ctx);
    let (cesp, css) = (
        read_slot(client, ctx, f + 3 * w),
        read_slot(client, ctx, f + 4 * w) as u16,
    );
    let cbase = descriptors::base_of(client, ctx, css);
    let params: Vec<u16> = (0..words)
        .map(|i| ctx.read_linear(cbase.wrapping_add(cesp.wrapping_add(2 * i as u32)), 2) as u16)
        .collect();
    let (target_cs, target_ip) = if ax == 0x0300 {
        ctx.vector(ctx.bl())
    } else {
        (cs, ip)
    };
    let input = Regs::of(ctx);
    let general = CALL_STRUCTURE_REGS.map(|(off, r)| (r, ctx.read_linear(structure + off, 4)));
    let host_data = client.host_data;
    // The call succeeds (CF clear) whatever the real-mode code does.
    set_client_cf(fw, ctx, false);
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.as_deref_mut()) else {
        return Err(err::UNSUPPORTED);
    };
    client.saved.push(Saved {
        cpu: ctx.cpu.context(),
        kind: SavedKind::Simulated { structure, input },
    });
    // SS:SP = 0 in the structure: the host's stack.
    let (stack_seg, stack_sp) = if ss == 0 && sp == 0 {
        (host_data, real_mode_sp(client.saved.len()))
    } else {
        (ss, sp)
    };
    let mut pushed: Vec<u16> = params.into_iter().rev().collect();
    if ax == 0x0301 {
        pushed.extend([BIOS_SEG, ROM_RM_RETURN]);
    } else {
        pushed.extend([flags, BIOS_SEG, ROM_RM_RETURN]);
    }
    call_real_mode(ctx, stack_seg, stack_sp, &pushed, target_cs, target_ip);
    ctx.cpu.enter_real_mode(
        target_cs,
        target_ip,
        stack_seg,
        ctx.cpu.reg16(Reg16::SP),
        ds,
    );
    ctx.set_es(es);
    ctx.cpu.set_sreg(SegReg::FS, fs);
    ctx.cpu.set_sreg(SegReg::GS, gs);
    for (r, v) in general {
        ctx.cpu.set_reg32(r, v);
    }
    let entry_flags = if ax == 0x0301 {
        u32::from(flags)
    } else {
        u32::from(flags) & !(IF | TF)
    };
    ctx.cpu
        .set_flags((ctx.cpu.flags() & !0xFFFF) | (entry_flags & 0xFFFF));
    Ok(())
}

/// Int 31h 0200h-0205h: real-mode vectors, exception handlers, protected-mode vectors.
pub(super) fn vectors(fw: &mut Firmware, ax: u16, ctx: &mut Ctx) -> Result<(), u16> {
    let v = ctx.bl();
    let bits32 = super::client(fw)?.bits32;
    let set_off = |ctx: &mut Ctx, off: u32| {
        if bits32 {
            ctx.set_edx(off);
        } else {
            ctx.set_dx(off as u16);
        }
    };
    match ax {
        0x0200 => {
            let (seg, off) = ctx.vector(v);
            ctx.set_cx(seg);
            ctx.set_dx(off);
            Ok(())
        }
        0x0201 => {
            let (seg, off) = (ctx.cx(), ctx.dx());
            ctx.set_vector(v, seg, off);
            Ok(())
        }
        0x0202 | 0x0203 if v > 0x1F => Err(err::INVALID_VALUE),
        0x0202 => {
            let (sel, off) = super::exceptions::handler(super::client(fw)?, v);
            ctx.set_cx(sel);
            set_off(ctx, off);
            Ok(())
        }
        0x0203 => {
            let sel = ctx.cx();
            let off = if bits32 {
                ctx.cpu.reg32(Reg32::EDX)
            } else {
                u32::from(ctx.dx())
            };
            super::exceptions::set_handler(fw, ctx, v, sel, off)
        }
        0x0204 => {
            let client = super::client(fw)?;
            match client.pm_vectors.iter().find(|&&(n, _, _)| n == v) {
                Some(&(_, sel, off)) => {
                    ctx.set_cx(sel);
                    set_off(ctx, off);
                }
                None => {
                    ctx.set_cx(HOST_CS);
                    set_off(ctx, stub_offset(v));
                }
            }
            Ok(())
        }
        _ => {
            let sel = ctx.cx();
            let off = if bits32 {
                ctx.cpu.reg32(Reg32::EDX)
            } else {
                u32::from(ctx.dx())
            };
            let client = super::client_mut(fw)?;
            client.pm_vectors.retain(|&(n, _, _)| n != v);
            if sel == HOST_CS && off == stub_offset(v) {
                // The host's own gate again: back to reflection.
                return Ok(());
            }
            if !descriptors::is_client_code(client, ctx, sel) {
                return Err(err::INVALID_SELECTOR);
            }
            client.pm_vectors.push((v, sel, off));
            Ok(())
        }
    }
}

/// The client raised exception `v`: its handler (0203h) gets it, or the host reports it
/// and ends the client.
fn fault(fw: &mut Firmware, v: u8, with_code: bool, ctx: &mut Ctx) -> Flow {
    let Some(client) = fw.dpmi.as_ref().and_then(|d| d.client.as_deref()) else {
        return Flow::Continue;
    };
    let w = width(client);
    let f = frame(client, ctx);
    let code = if with_code {
        read_slot(client, ctx, f - w)
    } else {
        0
    };
    let slots = [0, 1, 2, 3, 4].map(|i| read_slot(client, ctx, f + i * w));
    let faulting = super::exceptions::Faulting {
        eip: slots[0],
        cs: slots[1] as u16,
        eflags: slots[2],
        esp: slots[3],
        ss: slots[4] as u16,
        code,
    };
    if let Some(flow) = super::exceptions::deliver(fw, ctx, v, &faulting) {
        return flow;
    }
    report_and_end(fw, ctx, v, code, faulting.cs, faulting.eip)
}

/// Reports exception `v` (error code `code`) at `cs:eip` and ends the client.
pub(super) fn report_and_end(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    v: u8,
    code: u32,
    cs: u16,
    eip: u32,
) -> Flow {
    fw.observe(
        ctx,
        Observation::DpmiFault {
            vector: v,
            code,
            cs,
            eip,
        },
    );
    let text = format!(
        "DPMI: the client raised a {} (exception {v:02X}h) at {cs:04X}:{eip:08X}, error code {code:04X}h, and has no handler; it is ended\r\n",
        crate::firmware::exception_name(v)
    );
    for b in text.bytes() {
        crate::firmware::bios::teletype(fw, ctx, b);
    }
    terminate(fw, ctx, 0xFF)
}

/// Ends the client: its memory and the host's tables go back to XMS, the PSP gets its
/// environment segment back, and real mode runs Int 21h AH=4Ch with `code`.
pub(super) fn terminate(fw: &mut Firmware, ctx: &mut Ctx, code: u8) -> Flow {
    let Some(client) = fw.dpmi.as_mut().and_then(|d| d.client.take()) else {
        return Flow::Continue;
    };
    fw.observe(
        ctx,
        Observation::DpmiExit {
            psp: client.psp,
            code,
        },
    );
    ctx.cpu.enter_real_mode(
        BIOS_SEG,
        ROM_TERMINATE,
        client.host_data,
        HOST_PARAGRAPHS * 16,
        client.psp,
    );
    if let Some(x) = fw.xms.as_mut() {
        for b in &client.blocks {
            if let Some(h) = b.xms_handle {
                x.host_free(ctx, h);
            }
        }
        x.host_free(ctx, client.tables_handle);
    }
    ctx.mem()
        .write_u16(linear(client.psp, 0x2C), client.env_segment);
    ctx.set_a20(client.a20_was);
    ctx.set_ax(0x4C00 | u16::from(code));
    ctx.cpu.set_flags(0x0202);
    Flow::Continue
}
