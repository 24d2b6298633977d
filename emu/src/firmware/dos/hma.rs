//! DOS in the high memory area (`DOS=HIGH` in CONFIG.SYS).
//!
//! After the last CONFIG.SYS line, SYSINIT asks the XMS driver for the HMA (XMS 01h with
//! DX = FFFFh, as a program would) and then turns A20 on for good (03h, global enable):
//! `sysinit.rs` makes both calls as guest code through the entry Int 2Fh AX=4310h gave, so
//! a driver loaded from CONFIG.SYS serves them just as the built-in one does. When either
//! fails, or no XMS driver answers Int 2Fh AX=4300h, SYSINIT prints MS-DOS 5's "HMA not
//! available : Loading DOS low" and DOS stays low. Once DOS holds the HMA:
//!
//! - the XMS driver answers any other request for the HMA with 91h (in use), because DOS
//!   really owns it (`../shared/reference/dos-memory.md` section 1.6: MS-DOS, DOSBox and
//!   DOSBox-X answer 91h under DOS=HIGH);
//! - Int 21h AX=3306h reports DH bit 4, "DOS is in HMA" (RBIL INT 21/AX=3306h; MS-DOS
//!   Programmer's Reference, function 3306h). AH=30h with AL=01h keeps BH = 00h: RBIL
//!   documents only bit 3 (DOS in ROM) in that byte;
//! - the CP/M entry's far call to F01D:FEF0 (PSP offset 5) reaches 1000C0h, which no longer
//!   wraps to 000C0h with A20 on, so DOS mirrors its far jump at FFFF:00D0 (reference
//!   section 1.8);
//! - Int 2Fh AX=4A01h reports the free part of the HMA (BX bytes at ES:DI) and AX=4A02h
//!   hands out BX bytes of it, rounded up to a whole paragraph as DOS 5.0 and 6.0 do; the
//!   space is never given back (RBIL INT 2F/AX=4A01h, 4A02h). Without DOS=HIGH, 4A01h
//!   returns BX = 0 and both return ES:DI = FFFF:FFFF.
//!
//! What MS-DOS moves into the HMA is its kernel code and its disk buffers; vexed's DOS is
//! written in Rust, its guest-visible entry stubs stay low (MS-DOS too keeps its interrupt
//! entry points low: no vector may point into the HMA) and it has no disk buffers. So DOS
//! keeps only FFFF:0010-FFFF:00DF (the CP/M mirror at 00D0h) and [`FIRST_FREE`] onwards is
//! free for 4A02h, and conventional memory is the same size high or low.

use serde::{Deserialize, Serialize};

use super::super::Ctx;
use super::super::stubs::{Asm, DOS_CODE_SEG};
use crate::firmware::Firmware;

/// The HMA's segment.
const HMA_SEG: u16 = 0xFFFF;
/// Where DOS mirrors the CP/M entry's far jump: FFFF:00D0 = 1000C0h.
const CPM_MIRROR_OFF: u16 = 0x00D0;
/// The first byte of the HMA DOS does not use (after the CP/M mirror).
pub const FIRST_FREE: u16 = 0x00E0;

/// DOS's hold on the HMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hma {
    /// The offset in [`HMA_SEG`] of the first free byte; 0 when the HMA is used up to
    /// FFFF:FFFF.
    next_free: u16,
}

impl Hma {
    /// Bytes still free.
    fn free(self) -> u16 {
        if self.next_free == 0 {
            0
        } else {
            // 10000h - next_free, which fits in 16 bits because next_free > 0.
            0u16.wrapping_sub(self.next_free)
        }
    }
}

/// SYSINIT got the HMA and A20 is on: DOS moves in.
pub(crate) fn load_high(fw: &mut Firmware, ctx: &mut Ctx) {
    let mut j = Asm::new(HMA_SEG, CPM_MIRROR_OFF);
    j.jmp_far(DOS_CODE_SEG, fw.dos.stubs.call5);
    ctx.place(&j);
    fw.dos.high = Some(Hma {
        next_free: FIRST_FREE,
    });
}

/// Int 2Fh AX=4A01h (query free HMA space) and AX=4A02h (allocate HMA space).
pub(crate) fn int2f(high: &mut Option<Hma>, ctx: &mut Ctx) {
    let none = |ctx: &mut Ctx| {
        ctx.set_es(0xFFFF);
        ctx.set_di(0xFFFF);
    };
    match (ctx.al(), high.as_mut()) {
        (0x01, Some(h)) => {
            ctx.set_bx(h.free());
            ctx.set_es(HMA_SEG);
            ctx.set_di(if h.free() == 0 { 0xFFFF } else { h.next_free });
        }
        (0x01, None) => {
            ctx.set_bx(0);
            none(ctx);
        }
        (0x02, Some(h)) => {
            let want = u32::from(ctx.bx()).next_multiple_of(16);
            if want > u32::from(h.free()) || h.free() == 0 {
                none(ctx);
            } else {
                ctx.set_bx(want as u16);
                ctx.set_es(HMA_SEG);
                ctx.set_di(h.next_free);
                // Wraps to 0 exactly when the last byte is handed out.
                h.next_free = h.next_free.wrapping_add(want as u16);
            }
        }
        (0x02, None) => {
            ctx.set_bx(0);
            none(ctx);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_the_rest_of_the_segment() {
        // FFFF:00E0 to FFFF:FFFF: 10000h - 0E0h bytes.
        assert_eq!(Hma { next_free: 0x00E0 }.free(), 0xFF20);
        assert_eq!(Hma { next_free: 0xFFF0 }.free(), 0x0010);
        assert_eq!(Hma { next_free: 0 }.free(), 0);
    }

    #[test]
    fn allocations_round_up_to_paragraphs_and_end_with_the_hma() {
        use crate::firmware::FirmwareConfig;
        use crate::firmware::dos::DriveC;
        use crate::machine::{Machine, MachineConfig};
        let fw = Firmware::new(FirmwareConfig::default(), DriveC::new(false), vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
        m.with_service_context(|_, ctx| {
            let mut high = Some(Hma {
                next_free: FIRST_FREE,
            });
            let mut call = |ctx: &mut Ctx, ax: u16, bx: u16| {
                ctx.set_ax(ax);
                ctx.set_bx(bx);
                int2f(&mut high, ctx);
                (ctx.bx(), ctx.es(), ctx.di())
            };
            // RBIL: 4A02h rounds BX up to the next paragraph (DOS 5.0 and 6.0).
            assert_eq!(call(ctx, 0x4A02, 1), (16, 0xFFFF, 0x00E0));
            assert_eq!(call(ctx, 0x4A01, 0), (0xFF10, 0xFFFF, 0x00F0));
            // One byte more than is free: refused.
            assert_eq!(call(ctx, 0x4A02, 0xFF11).1, 0xFFFF);
            assert_eq!(ctx.di(), 0xFFFF);
            // All that is left, up to FFFF:FFFF.
            assert_eq!(call(ctx, 0x4A02, 0xFF10), (0xFF10, 0xFFFF, 0x00F0));
            assert_eq!(call(ctx, 0x4A01, 0), (0, 0xFFFF, 0xFFFF));
            assert_eq!(call(ctx, 0x4A02, 16).1, 0xFFFF);
            // DOS low: no space (RBIL 4A01h: BX = 0000h, ES:DI = FFFF:FFFF).
            let mut low = None;
            ctx.set_ax(0x4A01);
            ctx.set_bx(0x1234);
            int2f(&mut low, ctx);
            assert_eq!((ctx.bx(), ctx.es(), ctx.di()), (0, 0xFFFF, 0xFFFF));
        });
    }
}
