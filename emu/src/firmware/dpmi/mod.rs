//! A DPMI 0.9 host in the firmware: protected-mode clients under DOS, as a host TSR such as
//! HDPMI or CWSDPMI (or Windows 3.x in every VM) offers them.
//!
//! Sources: the DPMI 0.9 specification (Intel, 1990-1991) and the DPMI 1.0 specification's
//! error codes; RBIL INT 2F/1686h-1687h and INT 31; `../shared/reference/dos-memory.md`
//! section 3 (the table of functions, the real-mode call structure, the 0009h rules). The
//! 80386 and 80286 Programmer's Reference Manuals for the tables the host builds.
//!
//! # Detection and entry
//!
//! With `[dpmi]` in the scenario, and in every VM while the VMM runs (as Windows 3.x
//! enhanced mode offers DPMI in every VM; one client per VM, which the VMM saves and
//! restores with the VM's processor state), Int 2Fh AX=1687h in real mode returns AX = 0, BX bit 0 =
//! 32-bit clients supported (80386 only), CL = processor (02h or 03h), DX = 005Ah (0.90),
//! SI = [`HOST_PARAGRAPHS`] (the host's real-mode stack lives in the client's buffer) and
//! ES:DI = the mode-switch entry in the BIOS ROM. The client calls it with AX = 0 (16-bit)
//! or 1 (32-bit) and ES = its buffer; it returns in protected mode at CPL 3 with CS, DS and
//! SS selectors for the caller's segments (64 KiB, 16-bit), ES = a selector for the PSP
//! (limit FFh), FS = GS = 0, the PSP's environment segment (2Ch) replaced by a selector, IOPL
//! 3 (CLI, STI and port I/O run natively, so 0900h-0902h act on the real IF), and CF clear.
//! On failure (no XMS memory for the host's tables, or a second client) CF is set, AX =
//! 8011h or 8010h and the caller stays in real mode. Int 2Fh AX=1686h from protected mode
//! returns AX = 0.
//!
//! # Memory
//!
//! At entry the host takes a 64 KiB XMS block (handle visible in the XMS table, locked) for
//! its page directory and tables, GDT, IDT, LDT (1024 entries), TSS and ring-0 stack. On the
//! 80386 paging is on: the first 4 MiB are mapped one to one, user-accessible up to 10FFFFh
//! (DOS memory and the HMA) and supervisor-only above it, so a client reaches extended memory
//! only through what the host maps for it: memory blocks (0501h, taken from XMS and mapped at
//! linear addresses from 400000h) and physical mappings (0800h). A linear address is
//! therefore not a physical one. On the 80286 there is no paging: 0501h gives XMS memory at
//! its physical address and 0800h returns the physical address unchanged (as 16-bit hosts
//! do).
//!
//! # Interrupts
//!
//! Every IDT gate (DPL 3) leads to a host stub in the BIOS ROM that traps into Rust. Vectors
//! 00h-07h, and 08h-0Eh when the processor pushed an error code, are exceptions: they go to
//! the client's handler if it set one with 0203h (`exceptions.rs`), otherwise the host ends
//! the client with a report naming the exception, the address and the error code. Every
//! other vector (software interrupts, and the hardware interrupts, which arrive at 08h-0Fh and
//! 70h-77h with the PICs where DOS put them) goes to the client's own handler if it set one
//! with 0205h, and is otherwise reflected to real mode: the host saves the protected-mode
//! state, runs the real-mode vector on its stack in the client's buffer, and comes back with
//! the real-mode registers and arithmetic flags. Int 21h AH=4Ch ends the client: the host
//! frees its memory, returns to real mode and lets DOS end the program.
//!
//! # Choices where 0.9 is silent
//!
//! Failing calls set CF and return the DPMI 1.0 error code in AX, as Windows 3.1 does:
//! 8001h unsupported function (0A00h vendor API, 0E00h/0E01h, which have no coprocessor to
//! report), 8011h no descriptor free, 8012h no linear space, 8013h no physical memory,
//! 8015h no callback free, 8021h invalid value, 8022h invalid selector, 8023h invalid
//! handle, 8024h invalid callback. Real-mode callbacks (0303h/0304h), the state save/restore
//! addresses (0305h) and raw mode switches (0306h) are in `callbacks.rs`, with their
//! choices.

mod callbacks;
mod descriptors;
mod exceptions;
mod memory;
mod switch;

use serde::{Deserialize, Serialize};

use super::stubs::svc;
use super::{Ctx, Firmware, Flow};
use crate::cpu::{CpuContext, Reg16, Reg32, SegReg};
use crate::observe::Observation;

pub use memory::LinearPlace;
pub(crate) use switch::rom_stubs;

/// Paragraphs of host data a client must give at entry (1687h's SI): the host's exception
/// stack (its first 1 KiB) and above it the real-mode stacks, 512 bytes for each level of
/// real-mode code running for the client inside another (reflections, 0300h-0302h, and
/// real mode resumed by callbacks): [`switch::MAX_REAL_MODE_DEPTH`] levels.
pub const HOST_PARAGRAPHS: u16 = 0x180;

/// The `[dpmi]` part of a scenario: a DPMI host in plain DOS, as a host TSR such as HDPMI
/// or CWSDPMI provides one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpmiConfig {
    /// The most linear memory (KiB) the host gives one client through Int 31h 0501h, on
    /// top of what the XMS pool has free; 0 = no limit but the pool.
    pub max_client_kb: u32,
}

/// DPMI 1.0 error codes (returned in AX with CF set).
pub(crate) mod err {
    pub const UNSUPPORTED: u16 = 0x8001;
    pub const RESOURCES: u16 = 0x8010;
    pub const NO_DESCRIPTOR: u16 = 0x8011;
    pub const NO_LINEAR: u16 = 0x8012;
    pub const NO_PHYSICAL: u16 = 0x8013;
    pub const INVALID_VALUE: u16 = 0x8021;
    pub const INVALID_SELECTOR: u16 = 0x8022;
    pub const INVALID_HANDLE: u16 = 0x8023;
    pub const INVALID_LINEAR: u16 = 0x8025;
    pub const NO_CALLBACK: u16 = 0x8015;
    pub const INVALID_CALLBACK: u16 = 0x8024;
}

/// The host's state (part of the firmware state).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dpmi {
    config: DpmiConfig,
    client: Option<Box<Client>>,
}

/// What the host keeps for its one client.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    /// A 32-bit client (entry with AX bit 0 set).
    bits32: bool,
    /// Paging is on (the 80386).
    paged: bool,
    psp: u16,
    /// The PSP's environment segment before the host replaced it with a selector.
    env_segment: u16,
    /// The client's buffer (its real-mode stack for reflections).
    host_data: u16,
    /// The host's XMS block and its physical address (= its linear address).
    tables_handle: u16,
    tables: u32,
    /// Per LDT entry: who owns it.
    ldt: Vec<Owner>,
    /// Real-mode segments 0002h made selectors for (segment, selector).
    segment_selectors: Vec<(u16, u16)>,
    /// Protected-mode interrupt vectors the client set with 0205h (vector, selector,
    /// offset).
    pm_vectors: Vec<(u8, u16, u32)>,
    /// Exception handlers the client set with 0203h (exception, selector, offset).
    exception_handlers: Vec<(u8, u16, u32)>,
    /// A handler is running on the exception stack.
    in_exception: bool,
    /// The exception stack's selector.
    exception_stack: u16,
    /// Memory blocks (0501h) and physical mappings (0800h).
    blocks: Vec<memory::Block>,
    /// DOS memory blocks (0100h): segment, first selector, number of selectors.
    dos_blocks: Vec<(u16, u16, u16)>,
    next_handle: u32,
    /// `[dpmi] max_client_kb`.
    max_kb: u32,
    /// The A20 gate before the client (the host opens it while the client runs).
    a20_was: bool,
    /// The next free linear address for blocks and mappings.
    next_linear: u32,
    /// Protected-mode states saved while real-mode code runs for the client.
    saved: Vec<Saved>,
    /// The ring-0 stack's top for the innermost protected-mode activation:
    /// [`switch::STACK_TOP`], or lower while a real-mode callback's procedure runs above
    /// the frame of an outer state waiting in `saved` (`callbacks.rs`).
    ring0_top: u32,
    /// The tops of the outer activations, innermost last.
    ring0_outer: Vec<u32>,
    /// Real-mode callbacks (0303h).
    callbacks: Vec<callbacks::Callback>,
}

/// Who an LDT entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Owner {
    Free,
    /// The host (index 0) or a descriptor the client may not change (0002h's, the initial
    /// PSP and environment selectors are the client's).
    Host,
    Client,
    Segment,
}

/// A protected-mode state the host will return to when real-mode code it called returns.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Saved {
    cpu: CpuContext,
    /// What to do with the real-mode results.
    kind: SavedKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SavedKind {
    /// A reflected interrupt: registers and arithmetic flags go back to the client.
    Reflected,
    /// Int 31h 0300h-0302h: the registers go into the call structure at this linear
    /// address.
    Simulated { structure: u32, input: super::Regs },
}

impl Dpmi {
    pub fn new(config: DpmiConfig) -> Dpmi {
        Dpmi {
            config,
            client: None,
        }
    }

    /// Whether a client is in protected mode now.
    pub fn client_active(&self) -> bool {
        self.client.is_some()
    }

    /// What linear address `linear` is for the running client: inside one of its memory
    /// blocks (0501h) or physical mappings (0800h), and where that is physically. `None`
    /// without a client, or for an address outside them (DOS memory and the HMA, which
    /// the host maps one to one, or nothing).
    pub fn locate_linear(&self, linear: u32) -> Option<memory::LinearPlace> {
        memory::locate_linear(self.client.as_deref()?, linear)
    }

    /// The running client's linear addresses of physical address `physical` (one per block
    /// or mapping that covers it; empty without a client).
    pub fn linear_of_physical(&self, physical: u32) -> Vec<u32> {
        self.client
            .as_deref()
            .map_or_else(Vec::new, |c| memory::linear_of_physical(c, physical))
    }

    /// Exchanges the running client with `other` (the VMM keeps one per VM).
    pub(crate) fn swap_client(&mut self, other: &mut Option<Box<Client>>) {
        std::mem::swap(&mut self.client, other);
    }
}

/// Int 2Fh AX=1687h in real mode (the bottom of DOS's Int 2Fh chain): the host's
/// description. Returns whether it answered.
pub(crate) fn int2f_real_mode(fw: &Firmware, ctx: &mut Ctx) -> bool {
    let offered = fw.config.dpmi.is_some() || fw.vmm.as_deref().is_some_and(|v| v.running());
    if fw.dpmi.is_none() || !offered || ctx.ax() != 0x1687 {
        return false;
    }
    let is386 = ctx.cpu.model() == crate::cpu::Model::I80386;
    ctx.set_ax(0);
    ctx.set_bx(u16::from(is386));
    ctx.set_cl(if is386 { 3 } else { 2 });
    ctx.set_dx(0x005A);
    ctx.set_si(HOST_PARAGRAPHS);
    ctx.set_es(super::stubs::BIOS_SEG);
    ctx.set_di(switch::ROM_DPMI_ENTRY);
    true
}

/// Runs the host's trap service `service` (see [`svc::DPMI_ENTRY`] and the others).
pub(crate) fn service(fw: &mut Firmware, service: u16, ctx: &mut Ctx) -> Flow {
    match service {
        svc::DPMI_ENTRY => switch::entry(fw, ctx),
        svc::DPMI_RM_RETURN => switch::real_mode_returned(fw, ctx),
        svc::DPMI_EXC_RETURN => exceptions::returned(fw, ctx),
        svc::DPMI_CALLBACK_RETURN => callbacks::returned(fw, ctx),
        svc::DPMI_RAW_TO_PM => callbacks::raw_to_protected(fw, ctx),
        svc::DPMI_RAW_TO_RM => callbacks::raw_to_real(fw, ctx),
        s if s & 0xFFF0 == svc::DPMI_CALLBACK => callbacks::called(fw, ctx, (s & 0x0F) as u8),
        s if s & 0xFFE0 == svc::DPMI_EXC_DEFAULT => {
            exceptions::default_called(fw, ctx, (s & 0x1F) as u8)
        }
        s if s & 0xFF00 == svc::DPMI_PM_INT => {
            switch::protected_interrupt(fw, (s & 0xFF) as u8, ctx)
        }
        _ => Flow::Continue,
    }
}

/// Int 31h from the client (the stub's IRET returns to it afterwards).
pub(crate) fn int31(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let input = super::Regs::of(ctx);
    let result = dispatch31(fw, ctx);
    if result.is_ok() && (0x0300..=0x0302).contains(&input.ax) {
        // Real-mode code runs now; the call is observed when it returns.
        return Flow::Continue;
    }
    match result {
        Ok(()) => switch::set_client_cf(fw, ctx, false),
        Err(code) => {
            ctx.set_ax(code);
            switch::set_client_cf(fw, ctx, true);
        }
    }
    let output = super::Regs::of(ctx);
    fw.observe(ctx, Observation::Dpmi { input, output });
    Flow::Continue
}

fn dispatch31(fw: &mut Firmware, ctx: &mut Ctx) -> Result<(), u16> {
    let ax = ctx.ax();
    match ax {
        0x0000..=0x000C => descriptors::service(fw, ax, ctx),
        0x0100..=0x0102 => memory::dos_memory(fw, ax, ctx),
        0x0200..=0x0205 => switch::vectors(fw, ax, ctx),
        0x0300..=0x0302 => switch::simulate(fw, ax, ctx),
        0x0303 => callbacks::allocate(fw, ctx),
        0x0304 => callbacks::free(fw, ctx),
        0x0305 | 0x0306 => callbacks::addresses(fw, ax, ctx),
        0x0400 => {
            let client = client(fw)?;
            // 0.90; BX bit 0 = 32-bit host (the 80386), bit 1 = interrupts reflected to
            // real mode, bit 2 = no virtual memory; CL = processor; DH/DL = PIC bases.
            let paged = client.paged;
            ctx.set_ax(0x005A);
            ctx.set_bx(if paged { 0b011 } else { 0b010 });
            ctx.set_cl(if paged { 3 } else { 2 });
            ctx.set_dx(0x0870);
            Ok(())
        }
        0x0500..=0x0503 | 0x0600..=0x0604 | 0x0702 | 0x0703 | 0x0800 | 0x0801 => {
            memory::service(fw, ax, ctx)
        }
        0x0900..=0x0902 => {
            // IOPL 3: the client's IF is the real IF, in the interrupt frame.
            let was = switch::client_flags(fw, ctx) & 0x200 != 0;
            match ax {
                0x0900 => switch::set_client_flag(fw, ctx, 0x200, false),
                0x0901 => switch::set_client_flag(fw, ctx, 0x200, true),
                _ => {}
            }
            ctx.set_al(u8::from(was));
            Ok(())
        }
        _ => Err(err::UNSUPPORTED),
    }
}

/// The client, or 8001h if there is none (Int 31h without one cannot happen: the gates
/// only exist while a client runs).
fn client(fw: &Firmware) -> Result<&Client, u16> {
    fw.dpmi
        .as_ref()
        .and_then(|d| d.client.as_deref())
        .ok_or(err::UNSUPPORTED)
}

fn client_mut(fw: &mut Firmware) -> Result<&mut Client, u16> {
    fw.dpmi
        .as_mut()
        .and_then(|d| d.client.as_deref_mut())
        .ok_or(err::UNSUPPORTED)
}

/// The linear address of `sreg:(E)DI`-style operands: the segment's base plus the 16- or
/// 32-bit offset, by the client's bitness.
fn operand(ctx: &Ctx, bits32: bool, sreg: SegReg, reg: Reg32) -> u32 {
    let base = ctx.cpu.segment(sreg).base;
    let off = if bits32 {
        ctx.cpu.reg32(reg)
    } else {
        u32::from(ctx.cpu.reg16(match reg {
            Reg32::ESI => Reg16::SI,
            Reg32::EBX => Reg16::BX,
            Reg32::EDX => Reg16::DX,
            _ => Reg16::DI,
        }))
    };
    base.wrapping_add(off)
}
