//! The HMA and A20 functions of the XMS driver: 01h/02h (request and release the HMA,
//! /HMAMIN) and 03h-06h (global and local A20 enable and disable, switched through the
//! firmware's A20 handler and verified).
//!
//! Sources: the eXtended Memory Specification 3.0 (functions 01h-06h),
//! `../shared/reference/dos-memory.md` sections 1.6 (the HMA), 1.7 (the A20 counting
//! pseudo-code), 5.3 (A20 gates) and 6.1, and HimemX 3.34 for the check order; the choices
//! are listed in the module notes ([`super`]).

use super::{Xms, err};
use crate::firmware::Ctx;

impl Xms {
    // ----- HMA (01h, 02h) -----------------------------------------------------------------

    fn hma_min_bytes(&self) -> u16 {
        self.config.hma_min_kb.min(63) * 1024
    }

    pub(super) fn request_hma(&mut self, dx: u16) -> Result<(), u8> {
        if !self.hma_exists {
            Err(err::HMA_NOT_EXIST)
        } else if self.hma_allocated {
            Err(err::HMA_IN_USE)
        } else if dx < self.hma_min_bytes() {
            Err(err::HMA_TOO_SMALL)
        } else {
            self.hma_allocated = true;
            Ok(())
        }
    }

    pub(super) fn release_hma(&mut self) -> Result<(), u8> {
        if !self.hma_exists {
            Err(err::HMA_NOT_EXIST)
        } else if !self.hma_allocated {
            Err(err::HMA_NOT_ALLOCATED)
        } else {
            self.hma_allocated = false;
            Ok(())
        }
    }

    // ----- A20 (03h-06h) ------------------------------------------------------------------

    /// Switches the gate and checks that it followed.
    fn switch_a20(ctx: &mut Ctx, on: bool) -> Result<(), u8> {
        ctx.set_a20(on);
        if ctx.a20() == on {
            Ok(())
        } else {
            Err(err::A20_ERROR)
        }
    }

    pub(super) fn global_enable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        Self::switch_a20(ctx, true)?;
        self.a20_global = true;
        Ok(())
    }

    pub(super) fn global_disable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if self.a20_local != 0 {
            return Err(err::A20_STILL_ENABLED);
        }
        Self::switch_a20(ctx, false)?;
        self.a20_global = false;
        Ok(())
    }

    pub(super) fn local_enable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if self.a20_local == u16::MAX {
            return Err(err::A20_ERROR);
        }
        self.a20_local += 1;
        if self.a20_local == 1 {
            Self::switch_a20(ctx, true)
        } else {
            Ok(())
        }
    }

    pub(super) fn local_disable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if self.a20_local == 0 {
            return Err(err::A20_ERROR);
        }
        self.a20_local -= 1;
        if self.a20_local != 0 || self.a20_global {
            return Err(err::A20_STILL_ENABLED);
        }
        Self::switch_a20(ctx, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::*;
    use crate::machine::{Machine, MachineConfig};

    // ----- 00h, HMA --------------------------------------------------------------------

    #[test]
    fn version_is_3_00_with_the_hma() {
        let mut m = machine();
        let r = call(&mut m, 0x00, 0, 0);
        assert_eq!((r.ax, r.bx, r.dx), (0x0300, DRIVER_REVISION, 1));
    }

    #[test]
    fn without_ram_above_1_mb_there_is_no_hma_and_no_memory() {
        let mut m = machine_ram(0x10_0000);
        assert_eq!(call(&mut m, 0x00, 0, 0).dx, 0);
        fails(call(&mut m, 0x01, 0, 0xFFFF), err::HMA_NOT_EXIST);
        fails(call(&mut m, 0x02, 0, 0), err::HMA_NOT_EXIST);
        let r = call(&mut m, 0x08, 0, 0);
        assert_eq!((r.ax, r.dx, r.bl()), (0, 0, err::ALL_MEMORY_ALLOCATED));
        fails(call(&mut m, 0x09, 0, 1), err::ALL_MEMORY_ALLOCATED);
        // 88h: ECX is still 10FFFFh (HimemX's floor).
        let r = call(&mut m, 0x88, 0, 0);
        assert_eq!(r.ecx, 0x10_FFFF);
    }

    #[test]
    fn hma_request_checks_in_use_before_hmamin() {
        let mut m = machine_with(
            MachineConfig::default(),
            XmsConfig {
                handles: 32,
                hma_min_kb: 16,
            },
        );
        fails(call(&mut m, 0x02, 0, 0), err::HMA_NOT_ALLOCATED);
        fails(call(&mut m, 0x01, 0, 1000), err::HMA_TOO_SMALL);
        fails(call(&mut m, 0x01, 0, 16 * 1024 - 1), err::HMA_TOO_SMALL);
        // DX >= HMAMIN succeeds; BL is left alone on success.
        let r = ok(call(&mut m, 0x01, 0x5555, 16 * 1024));
        assert_eq!(r.bx, 0x5555);
        fails(call(&mut m, 0x01, 0, 0xFFFF), err::HMA_IN_USE);
        fails(call(&mut m, 0x01, 0, 0), err::HMA_IN_USE);
        ok(call(&mut m, 0x02, 0, 0));
        fails(call(&mut m, 0x02, 0, 0), err::HMA_NOT_ALLOCATED);
        ok(call(&mut m, 0x01, 0, 0xFFFF));
        // The HMA is never counted as free extended memory.
        assert_eq!(call(&mut m, 0x08, 0, 0).dx as u32, POOL_16M);
    }

    #[test]
    fn hmamin_above_63_counts_as_63_and_ffff_always_passes() {
        let mut m = machine_with(
            MachineConfig::default(),
            XmsConfig {
                handles: 32,
                hma_min_kb: 100,
            },
        );
        fails(call(&mut m, 0x01, 0, 63 * 1024 - 1), err::HMA_TOO_SMALL);
        ok(call(&mut m, 0x01, 0, 63 * 1024));
        ok(call(&mut m, 0x02, 0, 0));
        ok(call(&mut m, 0x01, 0, 0xFFFF));
    }

    // ----- A20 -----------------------------------------------------------------------

    #[test]
    fn a20_follows_the_local_global_counting_of_section_1_7() {
        let mut m = machine();
        let query = |m: &mut Machine| {
            let r = call(m, 0x07, 0x5555, 0);
            assert_eq!(r.bl(), 0, "07h sets BL=00h");
            r.ax
        };
        assert_eq!(query(&mut m), 0);
        // 06h at count 0: 82h.
        fails(call(&mut m, 0x06, 0, 0), err::A20_ERROR);
        // Two local enables, one disable: 94h and A20 stays on; the second switches off.
        ok(call(&mut m, 0x05, 0, 0));
        assert!(a20(&mut m));
        ok(call(&mut m, 0x05, 0, 0));
        fails(call(&mut m, 0x06, 0, 0), err::A20_STILL_ENABLED);
        assert!(a20(&mut m));
        ok(call(&mut m, 0x06, 0, 0));
        assert!(!a20(&mut m));
        assert_eq!(query(&mut m), 0);
        // Global enable, then a local one: 04h fails with 94h while the local is out.
        ok(call(&mut m, 0x03, 0, 0));
        assert_eq!(query(&mut m), 1);
        ok(call(&mut m, 0x05, 0, 0));
        fails(call(&mut m, 0x04, 0, 0), err::A20_STILL_ENABLED);
        assert!(a20(&mut m));
        // 06h brings the count to 0 but the global flag holds A20 on: 94h.
        fails(call(&mut m, 0x06, 0, 0), err::A20_STILL_ENABLED);
        assert!(a20(&mut m));
        // Count is 0 now: another 06h is 82h; 04h succeeds and switches off.
        fails(call(&mut m, 0x06, 0, 0), err::A20_ERROR);
        ok(call(&mut m, 0x04, 0, 0));
        assert!(!a20(&mut m));
        // 04h with nothing outstanding still succeeds (A20 off).
        ok(call(&mut m, 0x04, 0, 0));
        assert_eq!(query(&mut m), 0);
        // 07h reports the physical gate, whoever switched it.
        set_a20(&mut m, true);
        assert_eq!(query(&mut m), 1);
    }
}
