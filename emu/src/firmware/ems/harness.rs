//! Test support for the EMS driver: a machine with the driver installed and calls of Int 67h
//! with registers.
//!
//! Expected values in the tests come from the LIM EMS 4.0 function notes and the tables of
//! dos-memory.md section 2 (status codes, register conventions, the 57h structure), not
//! from the driver's output. Status codes are written as numbers on purpose.

use super::{Ems, EmsConfig};
use crate::firmware::dos::DriveC;
use crate::firmware::stubs::svc;
use crate::firmware::{Ctx, Firmware, FirmwareConfig, Flow};
use crate::machine::{Machine, MachineConfig};

/// Scratch segments in conventional memory for structures and data.
pub(super) const BUF: u16 = 0x2000;
pub(super) const DATA: u16 = 0x3000;
pub(super) const FRAME: u16 = 0xE000;

/// A machine with the default firmware (EMS settings `cfg`), EMS installed, and `f`
/// run with the driver and a service context. Before install, E000:0000 holds 5Ah so
/// tests can see the original contents of an unmapped window.
pub(super) fn with_ems_config<T>(cfg: EmsConfig, f: impl FnOnce(&mut Ems, &mut Ctx) -> T) -> T {
    let fw_cfg = FirmwareConfig {
        ems: Some(cfg),
        ..FirmwareConfig::default()
    };
    let fw = Firmware::new(fw_cfg, DriveC::default(), vec![]);
    let mut m = Machine::with_firmware(MachineConfig::default(), fw).unwrap();
    m.with_service_context(|fw, ctx| {
        let ems = fw.unwrap().ems.as_mut().unwrap();
        ctx.wr8(FRAME, 0, 0x5A);
        ems.install(ctx);
        f(ems, ctx)
    })
}

pub(super) fn with_ems<T>(f: impl FnOnce(&mut Ems, &mut Ctx) -> T) -> T {
    with_ems_config(EmsConfig::default(), f)
}

/// Int 67h with AX = `ax` (other registers as the caller set them); returns AH. CS:IP
/// is where the trap of the Int 67h entry leaves it.
pub(super) fn call(e: &mut Ems, c: &mut Ctx, ax: u16) -> u8 {
    let (seg, off) = c.vector(0x67);
    c.jump(seg, off + 4);
    c.set_ax(ax);
    assert_eq!(e.service(svc::EMS, c), Flow::Continue);
    c.ah()
}

/// 43h: a new handle with `pages` pages.
pub(super) fn alloc(e: &mut Ems, c: &mut Ctx, pages: u16) -> u16 {
    c.set_bx(pages);
    assert_eq!(call(e, c, 0x4300), 0x00);
    c.dx()
}

/// 44h: map logical page `logical` of `handle` at physical page `phys`; returns AH.
pub(super) fn map(e: &mut Ems, c: &mut Ctx, handle: u16, logical: u16, phys: u8) -> u8 {
    c.set_dx(handle);
    c.set_bx(logical);
    call(e, c, 0x4400 | u16::from(phys))
}

pub(super) fn fill(c: &mut Ctx, seg: u16, off: u16, len: u16, f: impl Fn(u16) -> u8) {
    for i in 0..len {
        c.wr8(seg, off.wrapping_add(i), f(i));
    }
}
