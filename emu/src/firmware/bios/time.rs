//! The BIOS time of day: the Int 08h tick count at 40:6Ch, Int 1Ah (the tick count and
//! the real-time clock) and the guest's wall clock and calendar ([`DateTime`]).
//!
//! Sources: IBM PC/AT Technical Reference (BIOS listing: BDA layout, the Int 08h and Int
//! 1Ah flow), RBIL (INT 1A).
//!
//! The count wraps at midnight ([`TICKS_PER_DAY`]) and sets the flag at 40:70h, which
//! Int 1Ah AH=00h returns and clears. The real-time clock is the DOS boot time plus the
//! guest time (from ticks, no host clock); setting it (AH=03h, 05h) keeps an offset in the
//! BIOS state.

use super::{BDA, BDA_MIDNIGHT, BDA_TICKS, TICKS_PER_DAY};
pub use crate::calendar::DateTime;
use crate::firmware::{Ctx, Firmware};

/// Int 08h's count: 40:6Ch goes up by one and wraps at midnight, setting 40:70h.
pub(super) fn timer_tick(ctx: &mut Ctx) {
    let t = ctx.rd32(BDA, BDA_TICKS).wrapping_add(1);
    if t >= TICKS_PER_DAY {
        ctx.wr32(BDA, BDA_TICKS, 0);
        ctx.wr8(BDA, BDA_MIDNIGHT, 1);
    } else {
        ctx.wr32(BDA, BDA_TICKS, t);
    }
}

fn bcd(v: u32) -> u8 {
    (((v / 10 % 10) << 4) | (v % 10)) as u8
}

fn from_bcd(v: u8) -> u32 {
    u32::from(v >> 4) * 10 + u32::from(v & 0xF)
}

pub(super) fn int1a(fw: &mut Firmware, ctx: &mut Ctx) {
    match ctx.ah() {
        0x00 => {
            let t = ctx.rd32(BDA, BDA_TICKS);
            let midnight = ctx.rd8(BDA, BDA_MIDNIGHT);
            ctx.wr8(BDA, BDA_MIDNIGHT, 0);
            ctx.set_cx((t >> 16) as u16);
            ctx.set_dx(t as u16);
            ctx.set_al(midnight);
        }
        0x01 => {
            let t = u32::from(ctx.cx()) << 16 | u32::from(ctx.dx());
            ctx.wr32(BDA, BDA_TICKS, t.min(TICKS_PER_DAY - 1));
            ctx.wr8(BDA, BDA_MIDNIGHT, 0);
        }
        0x02 => {
            let now = wall_clock(fw, ctx);
            ctx.set_cx(u16::from(bcd(now.hour)) << 8 | u16::from(bcd(now.minute)));
            ctx.set_dx(u16::from(bcd(now.second)) << 8);
            ctx.set_cf(false);
        }
        0x04 => {
            let now = wall_clock(fw, ctx);
            let y = u32::from(now.year);
            ctx.set_cx(u16::from(bcd(y / 100)) << 8 | u16::from(bcd(y % 100)));
            ctx.set_dx(u16::from(bcd(u32::from(now.month))) << 8 | u16::from(bcd(now.day.into())));
            ctx.set_cf(false);
        }
        0x03 | 0x05 => {
            let mut t = wall_clock(fw, ctx);
            if ctx.ah() == 0x03 {
                t.hour = from_bcd((ctx.cx() >> 8) as u8);
                t.minute = from_bcd(ctx.cl());
                t.second = from_bcd(ctx.dh());
            } else {
                t.year = (from_bcd((ctx.cx() >> 8) as u8) * 100 + from_bcd(ctx.cl())) as u16;
                t.month = from_bcd(ctx.dh()) as u8;
                t.day = from_bcd(ctx.dl()) as u8;
            }
            let want = t.to_unix();
            let have = wall_clock(fw, ctx).to_unix();
            fw.bios.adjust_clock(want - have);
            ctx.set_cf(false);
        }
        _ => ctx.set_cf(true),
    }
}

/// The guest's wall clock now: boot time plus guest time (exact, from ticks) plus RTC
/// adjustments. Also returns the hundredths of a second.
pub(crate) fn wall_clock_fine(fw: &Firmware, ctx: &Ctx) -> (DateTime, u8) {
    let (secs, nanos) = ctx.bus.rate().guest_time(ctx.now);
    let t = fw.config.dos.boot_time.to_unix()
        + i64::try_from(secs).unwrap_or(i64::MAX / 2)
        + fw.bios.rtc_adjust_secs;
    (DateTime::from_unix(t), (nanos / 10_000_000) as u8)
}

fn wall_clock(fw: &Firmware, ctx: &Ctx) -> DateTime {
    wall_clock_fine(fw, ctx).0
}
