//! Test support for the XMS driver: a machine with the driver installed over a known
//! Int 15h vector, calls of the driver entry with registers, and readers of the handle table
//! and of physical memory.
//!
//! Expected values in the tests come from the XMS 3.0 spec and dos-memory.md section 1
//! (error codes, function outputs), from the pool definition (RAM from 110000h, i.e. KB
//! 1088, to the top of RAM) and from the HimemX algorithms the module notes adopt.

use super::{ENTRY_BYTES, TABLE_OFF, Xms, XmsConfig};
use crate::firmware::dos::DriveC;
use crate::firmware::stubs::{XMS_SEG, svc};
use crate::firmware::{Ctx, Firmware, FirmwareConfig};
use crate::machine::{Machine, MachineConfig};

/// KB of extended memory in the pool of a 16 MB machine: 16384 - 1088.
pub(super) const POOL_16M: u32 = 16384 - 1088;
/// A recognisable "BIOS" Int 15h vector placed before install.
pub(super) const OLD_INT15: (u16, u16) = (0xF000, 0xF859);
/// Where the tests put the move structure and their buffers.
pub(super) const STRUCT_SEG: u16 = 0x2000;
pub(super) const BUF_SEG: u16 = 0x3000;
pub(super) const BUF2_SEG: u16 = 0x4000;

pub(super) fn machine_with(config: MachineConfig, xms: XmsConfig) -> Machine {
    let fw = FirmwareConfig {
        xms: Some(xms),
        ..FirmwareConfig::default()
    };
    let mut m =
        Machine::with_firmware(config, Firmware::new(fw, DriveC::default(), vec![])).unwrap();
    m.with_service_context(|fw, ctx| {
        ctx.set_vector(0x15, OLD_INT15.0, OLD_INT15.1);
        ctx.set_a20(false); // as the BIOS POST leaves it
        fw.unwrap().xms.as_mut().unwrap().install(ctx);
    });
    m
}

pub(super) fn machine() -> Machine {
    machine_with(MachineConfig::default(), XmsConfig::default())
}

pub(super) fn machine_ram(ram: u32) -> Machine {
    machine_with(
        MachineConfig {
            ram,
            ..MachineConfig::default()
        },
        XmsConfig::default(),
    )
}

pub(super) fn with<R>(m: &mut Machine, f: impl FnOnce(&mut Xms, &mut Ctx) -> R) -> R {
    m.with_service_context(|fw, ctx| f(fw.unwrap().xms.as_mut().unwrap(), ctx))
}

/// Registers after a driver call.
#[derive(Clone, Copy, Debug)]
pub(super) struct Out {
    pub(super) ax: u16,
    pub(super) bx: u16,
    pub(super) cx: u16,
    pub(super) dx: u16,
    pub(super) eax: u32,
    pub(super) ecx: u32,
    pub(super) edx: u32,
}

impl Out {
    pub(super) fn bl(self) -> u8 {
        self.bx as u8
    }
    pub(super) fn bh(self) -> u8 {
        (self.bx >> 8) as u8
    }
}

pub(super) fn regs(ctx: &Ctx) -> Out {
    Out {
        ax: ctx.ax(),
        bx: ctx.bx(),
        cx: ctx.cx(),
        dx: ctx.dx(),
        eax: ctx.eax(),
        ecx: ctx.cpu.reg32(crate::cpu::Reg32::ECX),
        edx: ctx.edx(),
    }
}

/// Calls the driver entry with AH = `function`, BX, DX (and EBX/EDX high words 0).
pub(super) fn call(m: &mut Machine, function: u8, bx: u16, dx: u16) -> Out {
    call32(m, function, u32::from(bx), u32::from(dx))
}

pub(super) fn call32(m: &mut Machine, function: u8, ebx: u32, edx: u32) -> Out {
    with(m, |x, ctx| {
        ctx.set_eax(u32::from(function) << 8);
        ctx.set_ebx(ebx);
        ctx.set_ecx(0);
        ctx.set_edx(edx);
        x.service(svc::XMS, ctx);
        regs(ctx)
    })
}

#[track_caller]
pub(super) fn ok(out: Out) -> Out {
    assert_eq!(out.ax, 1, "expected success: {out:x?}");
    out
}

#[track_caller]
pub(super) fn fails(out: Out, code: u8) {
    assert_eq!(
        (out.ax, out.bl()),
        (0, code),
        "expected AX=0 BL={code:02X}h: {out:x?}"
    );
}

pub(super) fn alloc(m: &mut Machine, kb: u16) -> u16 {
    ok(call(m, 0x09, 0, kb)).dx
}

/// 0Bh with the structure at 2000:0000; BX is 5555h on entry.
pub(super) fn mv(m: &mut Machine, len: u32, src: (u16, u32), dst: (u16, u32)) -> Out {
    with(m, |x, ctx| {
        ctx.wr32(STRUCT_SEG, 0x00, len);
        ctx.wr16(STRUCT_SEG, 0x04, src.0);
        ctx.wr32(STRUCT_SEG, 0x06, src.1);
        ctx.wr16(STRUCT_SEG, 0x0A, dst.0);
        ctx.wr32(STRUCT_SEG, 0x0C, dst.1);
        ctx.set_ds(STRUCT_SEG);
        ctx.set_si(0);
        ctx.set_ax(0x0B00);
        ctx.set_bx(0x5555);
        x.service(svc::XMS, ctx);
        regs(ctx)
    })
}

/// A handle-0 address: segment in the high word, offset in the low word.
pub(super) fn conv(seg: u16, off: u16) -> (u16, u32) {
    (0, u32::from(seg) << 16 | u32::from(off))
}

pub(super) fn a20(m: &mut Machine) -> bool {
    m.with_service_context(|_, ctx| ctx.a20())
}

pub(super) fn set_a20(m: &mut Machine, on: bool) {
    m.with_service_context(|_, ctx| ctx.set_a20(on));
}

pub(super) fn phys(m: &mut Machine, addr: u32, len: usize) -> Vec<u8> {
    m.with_service_context(|_, ctx| {
        let was = ctx.a20();
        ctx.set_a20(true);
        let v = ctx.bus.mem.read_bytes(addr, len);
        ctx.set_a20(was);
        v
    })
}

pub(super) fn write_conv(m: &mut Machine, seg: u16, bytes: &[u8]) {
    m.with_service_context(|_, ctx| ctx.write_bytes(seg, 0, bytes));
}

/// The 4309h table as the guest sees it: (flag, locks, base KB, size KB) per entry.
pub(super) fn table(m: &mut Machine) -> Vec<(u8, u8, u32, u32)> {
    m.with_service_context(|_, ctx| {
        let count = ctx.rd16(XMS_SEG, TABLE_OFF + 2);
        let seg = ctx.rd16(XMS_SEG, TABLE_OFF + 6);
        let off = ctx.rd16(XMS_SEG, TABLE_OFF + 4);
        (0..count)
            .map(|i| {
                let e = off + i * ENTRY_BYTES;
                (
                    ctx.rd8(seg, e),
                    ctx.rd8(seg, e + 1),
                    ctx.rd32(seg, e + 2),
                    ctx.rd32(seg, e + 6),
                )
            })
            .collect()
    })
}

pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}
