//! The BIOS time of day: the Int 08h tick count at 40:6Ch, Int 1Ah (the tick count and
//! the real-time clock) and the guest's wall clock and calendar ([`DateTime`]).
//!
//! Sources: IBM PC/AT Technical Reference (BIOS listing: BDA layout, the Int 08h and Int
//! 1Ah flow), RBIL (INT 1A).
//!
//! The count wraps at midnight ([`TICKS_PER_DAY`]) and sets the flag at 40:70h, which
//! Int 1Ah AH=00h returns and clears. The real-time clock is the MC146818 of the machine
//! (`devices/rtc.rs`), the one source of the date and time: it starts at the configured
//! boot time and counts from the tick clock (no host clock). Int 1Ah AH=02h-07h, DOS's
//! date and time functions and POST's tick count all read or set it through its CMOS
//! registers. AH=02h and 04h return CF=1 while the clock is not counting (divider stopped
//! or SET = 1); AH=03h, 05h and 06h restart a stopped divider first, as the AT BIOS's
//! RTC_STA does; AH=05h also sets the day of week and the century byte (32h).

use super::{BDA, BDA_MIDNIGHT, BDA_TICKS, TICKS_PER_DAY};
pub use crate::calendar::DateTime;
use crate::devices::rtc::{self, reg};
use crate::firmware::Ctx;

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

/// Reads CMOS register `r` through ports 70h/71h as the AT BIOS's CMOS_READ does: NMI
/// masked during the access, then the index left at register D with the NMI mask as it
/// was.
pub(crate) fn cmos_read(ctx: &mut Ctx, r: u8) -> u8 {
    let nmi = if ctx.bus.rtc.nmi_masked() { 0x80 } else { 0 };
    ctx.bus.write_port(rtc::INDEX_PORT, r | 0x80);
    let v = ctx.bus.read_port(rtc::DATA_PORT);
    ctx.bus.write_port(rtc::INDEX_PORT, reg::D | nmi);
    v
}

/// Writes CMOS register `r` (see [`cmos_read`]).
pub(crate) fn cmos_write(ctx: &mut Ctx, r: u8, v: u8) {
    let nmi = if ctx.bus.rtc.nmi_masked() { 0x80 } else { 0 };
    ctx.bus.write_port(rtc::INDEX_PORT, r | 0x80);
    ctx.bus.write_port(rtc::DATA_PORT, v);
    ctx.bus.write_port(rtc::INDEX_PORT, reg::D | nmi);
}

/// The AT BIOS's RTC_STA: restarts a stopped clock (register A = 26h: 32.768 kHz time
/// base, 1024 Hz periodic rate; register B = 82h: SET, 24-hour BCD).
fn rtc_start(ctx: &mut Ctx) {
    cmos_write(ctx, reg::A, 0x26);
    cmos_write(ctx, reg::B, 0x82);
}

/// Whether the clock is counting (divider at 32.768 kHz, SET = 0): Int 1Ah AH=02h-07h
/// return CF=1 otherwise (RBIL: "CF set if clock not running").
fn clock_running(ctx: &mut Ctx) -> bool {
    cmos_read(ctx, reg::A) & 0x70 == 0x20 && cmos_read(ctx, reg::B) & rtc::B_SET == 0
}

/// Int 1Ah: AH=00h/01h the tick count; AH=02h-07h the real-time clock, through the CMOS
/// registers in BCD as the AT BIOS reads and writes them (IBM PC/AT TechRef BIOS listing,
/// RTC_TOD; RBIL INT 1A).
pub(super) fn int1a(ctx: &mut Ctx) {
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
        0x02 | 0x04 if !clock_running(ctx) => ctx.set_cf(true),
        0x02 => {
            // CH hours, CL minutes, DH seconds, DL daylight saving (register B bit 0).
            let (h, m, s) = (
                cmos_read(ctx, reg::HOURS),
                cmos_read(ctx, reg::MINUTES),
                cmos_read(ctx, reg::SECONDS),
            );
            let dse = cmos_read(ctx, reg::B) & rtc::B_DSE;
            ctx.set_cx(u16::from(h) << 8 | u16::from(m));
            ctx.set_dx(u16::from(s) << 8 | u16::from(dse));
            ctx.set_cf(false);
        }
        0x04 => {
            // CH century (CMOS 32h), CL year, DH month, DL day.
            let century = cmos_read(ctx, reg::CENTURY);
            let year = cmos_read(ctx, reg::YEAR);
            let month = cmos_read(ctx, reg::MONTH);
            let day = cmos_read(ctx, reg::DAY);
            ctx.set_cx(u16::from(century) << 8 | u16::from(year));
            ctx.set_dx(u16::from(month) << 8 | u16::from(day));
            ctx.set_cf(false);
        }
        0x03 => {
            if cmos_read(ctx, reg::A) & 0x70 != 0x20 {
                rtc_start(ctx);
            }
            let b = cmos_read(ctx, reg::B);
            cmos_write(ctx, reg::B, b | rtc::B_SET);
            cmos_write(ctx, reg::SECONDS, ctx.dh());
            cmos_write(ctx, reg::MINUTES, ctx.cl());
            cmos_write(ctx, reg::HOURS, ctx.ch());
            // The AT BIOS keeps PIE, AIE and UIE, selects 24-hour BCD and takes DSE from
            // DL bit 0; SET goes back to 0, which starts the clock.
            let b = (b & (rtc::B_PIE | rtc::B_AIE | rtc::B_UIE)) | rtc::B_24H | (ctx.dl() & 1);
            cmos_write(ctx, reg::B, b);
            ctx.set_cf(false);
        }
        0x05 => {
            if cmos_read(ctx, reg::A) & 0x70 != 0x20 {
                rtc_start(ctx);
            }
            let b = cmos_read(ctx, reg::B);
            cmos_write(ctx, reg::B, b | rtc::B_SET);
            let (century, year) = (ctx.ch(), ctx.cl());
            let (month, day) = (ctx.dh(), ctx.dl());
            let full_year = (from_bcd(century) * 100 + from_bcd(year)).min(u32::from(u16::MAX));
            let weekday = DateTime {
                year: full_year as u16,
                month: from_bcd(month).clamp(1, 12) as u8,
                day: from_bcd(day).clamp(1, 31) as u8,
                ..DateTime::default()
            }
            .weekday();
            cmos_write(ctx, reg::DAY_OF_WEEK, bcd(u32::from(weekday) + 1));
            cmos_write(ctx, reg::DAY, day);
            cmos_write(ctx, reg::MONTH, month);
            cmos_write(ctx, reg::YEAR, year);
            cmos_write(ctx, reg::CENTURY, century);
            cmos_write(ctx, reg::B, b & !rtc::B_SET);
            ctx.set_cf(false);
        }
        0x06 => {
            // Set the alarm: CF=1 if it is already set (AIE on), as the AT BIOS.
            if cmos_read(ctx, reg::B) & rtc::B_AIE != 0 {
                ctx.set_cf(true);
                return;
            }
            if cmos_read(ctx, reg::A) & 0x70 != 0x20 {
                rtc_start(ctx);
            }
            cmos_write(ctx, reg::SECONDS_ALARM, ctx.dh());
            cmos_write(ctx, reg::MINUTES_ALARM, ctx.cl());
            cmos_write(ctx, reg::HOURS_ALARM, ctx.ch());
            // Unmask IRQ 8 on the slave 8259A, then enable the alarm interrupt.
            let mask = ctx.bus.read_port(0xA1);
            ctx.bus.write_port(0xA1, mask & 0xFE);
            let b = cmos_read(ctx, reg::B);
            cmos_write(ctx, reg::B, (b & !rtc::B_SET) | rtc::B_AIE);
            ctx.set_cf(false);
        }
        0x07 => {
            let b = cmos_read(ctx, reg::B);
            cmos_write(ctx, reg::B, b & !(rtc::B_SET | rtc::B_AIE));
            ctx.set_cf(false);
        }
        _ => ctx.set_cf(true),
    }
}

/// Int 70h, the real-time clock interrupt (IRQ 8), as the AT BIOS's RTC_INT: reads
/// register C (which acknowledges the chip) and B; counts a pending Int 15h AH=83h wait
/// on periodic interrupts; on an alarm interrupt returns `true`: the ROM stub then calls
/// Int 4Ah (the user alarm hook) and sends the EOIs itself. Otherwise sends a
/// non-specific EOI to the slave and then the master 8259A.
pub(super) fn rtc_irq(ctx: &mut Ctx) -> bool {
    let c = cmos_read(ctx, reg::C);
    let b = cmos_read(ctx, reg::B);
    let pending = c & b;
    if pending & rtc::C_PF != 0 {
        super::system::count_wait(ctx);
    }
    if pending & rtc::C_AF != 0 {
        return true;
    }
    ctx.bus.write_port(0xA0, 0x20);
    ctx.bus.write_port(0x20, 0x20);
    false
}

/// The time of day in seconds from the CMOS registers (24-hour BCD, as the BIOS keeps
/// them), for POST's tick count.
pub(super) fn cmos_seconds_of_day(ctx: &mut Ctx) -> u32 {
    let h = from_bcd(cmos_read(ctx, reg::HOURS)).min(23);
    let m = from_bcd(cmos_read(ctx, reg::MINUTES)).min(59);
    let s = from_bcd(cmos_read(ctx, reg::SECONDS)).min(59);
    h * 3600 + m * 60 + s
}

/// Sets the real-time clock to `t` (DOS's set date and set time, through the CMOS
/// registers as Int 1Ah AH=03h and 05h do).
pub(crate) fn set_clock(ctx: &mut Ctx, t: &DateTime) {
    if cmos_read(ctx, reg::A) & 0x70 != 0x20 {
        rtc_start(ctx);
    }
    let b = cmos_read(ctx, reg::B);
    cmos_write(ctx, reg::B, b | rtc::B_SET);
    let y = u32::from(t.year);
    for (r, v) in [
        (reg::SECONDS, bcd(t.second)),
        (reg::MINUTES, bcd(t.minute)),
        (reg::HOURS, bcd(t.hour)),
        (reg::DAY_OF_WEEK, bcd(u32::from(t.weekday()) + 1)),
        (reg::DAY, bcd(u32::from(t.day))),
        (reg::MONTH, bcd(u32::from(t.month))),
        (reg::YEAR, bcd(y % 100)),
        (reg::CENTURY, bcd(y / 100)),
    ] {
        cmos_write(ctx, r, v);
    }
    // 24-hour BCD, SET = 0: the clock counts on from `t`.
    let keep = rtc::B_PIE | rtc::B_AIE | rtc::B_UIE | rtc::B_DSE;
    cmos_write(ctx, reg::B, (b & keep) | rtc::B_24H);
}

/// The guest's wall clock now: the real-time clock's time (the configured boot time plus
/// the seconds counted since, or what the guest set), and the hundredths of a second
/// into it from the clock's divider (0 while the clock is stopped).
pub(crate) fn wall_clock_fine(ctx: &Ctx) -> (DateTime, u8) {
    let cycles = ctx.bus.rtc_cycles_at(ctx.now);
    let (secs, into) = ctx.bus.rtc.time_at(cycles);
    (
        DateTime::from_unix(secs),
        (into * 100 / rtc::OSC_HZ).min(99) as u8,
    )
}
