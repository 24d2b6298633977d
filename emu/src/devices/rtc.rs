//! The Motorola MC146818A real-time clock and its CMOS RAM, as wired on the IBM PC/AT:
//! index port 70h, data port 71h, the interrupt output on IRQ 8 (the slave 8259A's IR0).
//!
//! Follows the *Motorola MC146818A Real-Time Clock Plus RAM (RTC)* datasheet (register
//! map, Tables 3-5, the update cycle timing) for the chip and the *IBM PC/AT Technical
//! Reference* (System Board: "Real-Time Clock/CMOS RAM Information", the CMOS RAM address
//! map, and the BIOS listing's CMOS set-up) for its wiring and its contents.
//!
//! # Ports
//!
//! - **70h** (write only, as on the AT): bits 0-6 select the register, bit 7 = 1 masks NMI.
//!   Both are kept ([`Rtc::index`], [`Rtc::nmi_masked`]); the machine has no NMI source,
//!   so the mask only matters as state. Reads of 70h return FFh (an undriven bus).
//! - **71h**: reads and writes the selected register.
//! - The chip has **64 bytes** (address lines AD0-AD5): 14 clock registers and 50 bytes of
//!   RAM, which is the AT's whole CMOS ("64 bytes of low-power CMOS RAM", AT TechRef).
//!   Index bit 6 is not decoded, so 40h-7Fh alias 00h-3Fh.
//!
//! # Registers
//!
//! | Index | Contents |
//! |---|---|
//! | 00h-09h | seconds, seconds alarm, minutes, minutes alarm, hours, hours alarm, day of week (1 = Sunday), date, month, year (00-99) |
//! | 0Ah (A) | bit 7 UIP (read only), bits 6-4 DV2-0 divider, bits 3-0 RS3-0 rate select |
//! | 0Bh (B) | bit 7 SET, 6 PIE, 5 AIE, 4 UIE, 3 SQWE, 2 DM (1 = binary), 1 24/12 (1 = 24 h), 0 DSE |
//! | 0Ch (C) | bit 7 IRQF, 6 PF, 5 AF, 4 UF, bits 3-0 read 0; read only, **a read clears it** |
//! | 0Dh (D) | bit 7 VRT (valid RAM and time, always 1: the battery never runs down), bits 6-0 read 0; read only |
//! | 0Eh-3Fh | RAM; the AT BIOS's layout is below |
//!
//! # Time
//!
//! The chip is never stepped. Its time base is a 32,768 Hz crystal whose cycle count the
//! caller derives from the machine's tick clock ([`crate::clock::TickRate::clocks_at`]
//! with [`OSC_HZ`]); every function takes that count `now` (which must not go backwards).
//! The clock counts when the divider is DV = 010 (the AT's 32.768 kHz time base) and SET
//! = 0; the time then is a count of seconds (from the configured boot time, or from what
//! the guest last wrote) plus the number of *update cycles* since, derived arithmetically.
//! Flags are brought up to date lazily, when register C is read, a register is written, or
//! an event fires, so a machine whose guest leaves the RTC's interrupts off costs nothing.
//!
//! - **Update cycles** end once a second on the divider chain's second boundaries: at power-on
//!   (the divider has been running) the first ends 1 s after power-on; after the divider
//!   leaves reset (DV 11x → 010) the first ends 500 ms later (datasheet: "the first update
//!   cycle begins one-half second later"). At the end of an update the registers show the
//!   new second, UF is set, and AF is set if the alarm matches.
//! - **UIP** is 1 from 244 µs before an update begins (tBUC = 8 crystal cycles) to the end
//!   of the update (tUC = 1984 µs = 65 cycles at 32.768 kHz): 73 cycles before each second
//!   boundary. So when UIP reads 0, no update happens for at least 244 µs (8 cycles).
//!   SET = 1 inhibits updates, so UIP reads 0 then.
//! - **Periodic interrupts**: PF is set at every period of the rate selected by RS3-0
//!   (datasheet Table 5 for a 32.768 kHz time base: RS = 1 and 2 give 3.90625 ms and
//!   7.8125 ms, RS = n ≥ 3 gives 2^(n-1) crystal cycles, from 122.070 µs to 500 ms; 0 is
//!   none), aligned with the divider chain (every period ends on a multiple of it counted
//!   from a second boundary); the divider in reset stops them. PF, AF and UF are set whether
//!   or not their interrupts are enabled; IRQF (and the IRQ output, active while IRQF = 1)
//!   = PF·PIE + AF·AIE + UF·UIE. Reading C clears all four, which releases the line.
//! - **SET = 1** stops the count (the registers keep the time of the write) and clears UIE
//!   (datasheet, register B: SET going high clears UIE); the guest may then write the time.
//!   SET back to 0 restarts the count from the registers; the next update ends at the
//!   divider's next second boundary, as the chip's divider keeps running meanwhile.
//!
//! # Choices where the datasheet leaves things undefined
//!
//! - Time registers written with values out of range (or with BCD digits A-F) are clamped
//!   to the nearest valid value when the count starts from them; the chip's behaviour is
//!   undefined. A register written while the clock runs restarts the count from the
//!   registers at that moment (as writing it with SET = 1 and clearing SET would).
//! - Changing DM or 24/12 while the clock runs re-encodes the registers at once (the
//!   datasheet asks for the time to be written again after such a change; a guest that does
//!   so sees the same values). While stopped, the registers keep the bytes written.
//! - The clock keeps the full year; the year register shows it modulo 100 and the century
//!   is the AT BIOS's byte at 32h, which the chip does not touch. Leap years are the
//!   Gregorian ones, which agree with the chip's "year divisible by 4" from 1901 to 2099.
//! - DSE (daylight saving) is kept and readable but not applied (the AT BIOS leaves it 0).
//! - The day of week advances at each midnight from the value written (values outside 1-7
//!   are taken modulo 7).
//! - DV values other than 010 (4.194304 and 1.048576 MHz time bases, which the AT's
//!   crystal cannot give) stop the clock, like the divider reset values 11x.
//! - The square-wave output (SQWE) is not connected on the AT and is not modelled.
//!
//! # CMOS RAM at power-on
//!
//! The battery-backed contents an AT has after its SETUP program ran (AT TechRef, CMOS RAM
//! address map): 0Ah = 26h (32.768 kHz time base, 1024 Hz periodic rate), 0Bh = 02h
//! (24-hour BCD, no interrupts), 0Dh = 80h; 0Eh diagnostic status 00h (no errors); 0Fh
//! shutdown status 00h; 10h diskette types 00h (no drives: vexed has no disks); 12h fixed
//! disk types 00h; 14h equipment 20h (80x25 colour, no diskette, no coprocessor); 15h/16h
//! base memory 640 KiB (0280h); 17h/18h expansion memory above 1 MiB in KiB (from the
//! configured RAM, at most FFFFh); 2Eh/2Fh the checksum of 10h-2Dh (high byte first);
//! 30h/31h the expansion memory POST found (the same value); 32h the century in BCD;
//! 33h 00h. The time registers hold the configured boot time in BCD.

use serde::{Deserialize, Serialize};

use crate::calendar::{DateTime, days_in_month};

/// The index (address) port.
pub const INDEX_PORT: u16 = 0x70;
/// The data port.
pub const DATA_PORT: u16 = 0x71;
/// The AT wires the chip's IRQ output to IRQ 8 (slave 8259A, IR0).
pub const RTC_IRQ: u8 = 8;
/// The time base crystal on the AT, in Hz.
pub const OSC_HZ: u64 = 32_768;
/// Bytes of clock registers and RAM (address lines AD0-AD5).
pub const CMOS_BYTES: usize = 64;

/// Register indices (datasheet register map; AT TechRef CMOS RAM address map).
pub mod reg {
    pub const SECONDS: u8 = 0x00;
    pub const SECONDS_ALARM: u8 = 0x01;
    pub const MINUTES: u8 = 0x02;
    pub const MINUTES_ALARM: u8 = 0x03;
    pub const HOURS: u8 = 0x04;
    pub const HOURS_ALARM: u8 = 0x05;
    pub const DAY_OF_WEEK: u8 = 0x06;
    pub const DAY: u8 = 0x07;
    pub const MONTH: u8 = 0x08;
    pub const YEAR: u8 = 0x09;
    pub const A: u8 = 0x0A;
    pub const B: u8 = 0x0B;
    pub const C: u8 = 0x0C;
    pub const D: u8 = 0x0D;
    /// AT: diagnostic status byte.
    pub const DIAGNOSTIC: u8 = 0x0E;
    /// AT: shutdown status byte, read by POST after a CPU reset.
    pub const SHUTDOWN: u8 = 0x0F;
    /// AT: diskette drive types (drive A in bits 7-4, B in bits 3-0).
    pub const DISKETTE: u8 = 0x10;
    /// AT: fixed disk types.
    pub const FIXED_DISK: u8 = 0x12;
    /// AT: equipment byte.
    pub const EQUIPMENT: u8 = 0x14;
    /// AT: base memory in KiB, low and high byte.
    pub const BASE_MEMORY_LO: u8 = 0x15;
    pub const BASE_MEMORY_HI: u8 = 0x16;
    /// AT: expansion memory above 1 MiB in KiB, low and high byte.
    pub const EXPANSION_MEMORY_LO: u8 = 0x17;
    pub const EXPANSION_MEMORY_HI: u8 = 0x18;
    /// AT: checksum of 10h-2Dh, high byte then low byte.
    pub const CHECKSUM_HI: u8 = 0x2E;
    pub const CHECKSUM_LO: u8 = 0x2F;
    /// AT: expansion memory found by POST, low and high byte.
    pub const POST_MEMORY_LO: u8 = 0x30;
    pub const POST_MEMORY_HI: u8 = 0x31;
    /// AT: the century in BCD (19h, 20h).
    pub const CENTURY: u8 = 0x32;
    /// AT: information flags.
    pub const INFORMATION: u8 = 0x33;
}

/// Register A: update in progress.
pub const A_UIP: u8 = 0x80;
/// Register A: the divider bits DV2-0.
const A_DV: u8 = 0x70;
/// DV2-0 = 010: 32.768 kHz time base, running.
const DV_32K: u8 = 0x20;
/// Register B bits.
pub const B_SET: u8 = 0x80;
pub const B_PIE: u8 = 0x40;
pub const B_AIE: u8 = 0x20;
pub const B_UIE: u8 = 0x10;
pub const B_SQWE: u8 = 0x08;
pub const B_DM_BINARY: u8 = 0x04;
pub const B_24H: u8 = 0x02;
pub const B_DSE: u8 = 0x01;
/// Register C bits.
pub const C_IRQF: u8 = 0x80;
pub const C_PF: u8 = 0x40;
pub const C_AF: u8 = 0x20;
pub const C_UF: u8 = 0x10;
/// Register D: valid RAM and time.
pub const D_VRT: u8 = 0x80;

/// Crystal cycles in a second.
const SECOND: u64 = OSC_HZ;
/// UIP rises tBUC + tUC = 244 µs + 1984 µs = 8 + 65 cycles before a second boundary.
pub const UIP_CYCLES: u64 = 8 + 65;
const SECS_PER_DAY: i64 = 86_400;

/// The periodic interrupt period for rate select `rs` (0-15), in 32,768 Hz cycles
/// (datasheet Table 5, 32.768 kHz time base), or `None` for RS = 0.
pub fn periodic_cycles(rs: u8) -> Option<u64> {
    match rs & 0x0F {
        0 => None,
        1 => Some(128), // 3.90625 ms: RS = 1 and 2 repeat RS = 8 and 9 at 32.768 kHz
        2 => Some(256), // 7.8125 ms
        n => Some(1 << (n - 1)),
    }
}

fn bcd(v: u32) -> u8 {
    (((v / 10 % 10) << 4) | (v % 10)) as u8
}

fn from_bcd(v: u8) -> u32 {
    u32::from(v >> 4) * 10 + u32::from(v & 0x0F)
}

/// The MC146818A with the AT's 64 bytes. Construct with [`Rtc::at_power_on`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rtc {
    /// Registers and RAM. While the clock is stopped, the time registers hold its time;
    /// while it runs, it is computed from `base_secs` (the stored bytes are stale).
    ram: Vec<u8>,
    /// Port 70h bits 0-6.
    index: u8,
    /// Port 70h bit 7.
    nmi_masked: bool,
    /// The divider chain: second boundaries (update ends) at cycles ≡ `div_phase` modulo
    /// 32,768, only after `div_start` (when the divider last left reset).
    div_phase: u64,
    div_start: u64,
    /// While the clock runs: the time (seconds since 1970) at cycle `base_cycle`, and the
    /// day-of-week register then; it goes up by one at every boundary after `base_cycle`.
    base_secs: i64,
    base_cycle: u64,
    base_dow: u8,
    /// PF, AF and UF are up to date through this cycle.
    seen: u64,
    /// PF | AF | UF.
    flags: u8,
}

impl Rtc {
    /// The chip and CMOS RAM as a configured AT keeps them (see the module docs), with
    /// `ram_bytes` of RAM installed and the clock showing `boot` (seconds since 1970-01-01)
    /// at cycle 0.
    pub fn at_power_on(ram_bytes: u32, boot: i64) -> Rtc {
        let mut ram = vec![0u8; CMOS_BYTES];
        ram[usize::from(reg::A)] = DV_32K | 0x06;
        ram[usize::from(reg::B)] = B_24H;
        ram[usize::from(reg::D)] = D_VRT;
        ram[usize::from(reg::EQUIPMENT)] = 0x20;
        ram[usize::from(reg::BASE_MEMORY_LO)] = 0x80;
        ram[usize::from(reg::BASE_MEMORY_HI)] = 0x02;
        let ext = (ram_bytes.saturating_sub(0x10_0000) / 1024).min(0xFFFF) as u16;
        for (lo, hi) in [
            (reg::EXPANSION_MEMORY_LO, reg::EXPANSION_MEMORY_HI),
            (reg::POST_MEMORY_LO, reg::POST_MEMORY_HI),
        ] {
            ram[usize::from(lo)] = ext as u8;
            ram[usize::from(hi)] = (ext >> 8) as u8;
        }
        let t = DateTime::from_unix(boot);
        ram[usize::from(reg::CENTURY)] = bcd(u32::from(t.year) / 100);
        let mut rtc = Rtc {
            ram,
            index: reg::D,
            nmi_masked: false,
            div_phase: 0,
            div_start: 0,
            base_secs: boot,
            base_cycle: 0,
            base_dow: t.weekday() + 1,
            seen: 0,
            flags: 0,
        };
        rtc.update_checksum();
        rtc
    }

    /// Whether `port` belongs to the chip.
    pub const fn handles_port(port: u16) -> bool {
        matches!(port, INDEX_PORT | DATA_PORT)
    }

    /// The register port 71h reaches (0-3Fh; index bit 6 is not decoded).
    pub fn index(&self) -> u8 {
        self.index & 0x3F
    }

    /// Port 70h bit 7 as last written: NMI masked.
    pub fn nmi_masked(&self) -> bool {
        self.nmi_masked
    }

    /// A CMOS byte without side effects (no flag clearing), for the firmware, tests and
    /// the debugger; time registers and register A show their value at cycle `now`.
    pub fn peek(&self, r: u8, now: u64) -> u8 {
        let r = r & 0x3F;
        match r {
            reg::SECONDS | reg::MINUTES | reg::HOURS | reg::DAY_OF_WEEK..=reg::YEAR
                if self.running() =>
            {
                self.time_register(r, self.secs_at(now))
            }
            reg::A => self.byte(reg::A) | if self.uip(now) { A_UIP } else { 0 },
            reg::C => {
                let f = self.flags | self.flags_between(self.seen, now);
                f | if self.irqf(f) { C_IRQF } else { 0 }
            }
            reg::D => D_VRT,
            _ => self.byte(r),
        }
    }

    /// The IRQ output: IRQF (active until register C is read). Up to date after any
    /// access or [`Rtc::catch_up`].
    pub fn irq(&self) -> bool {
        self.irqf(self.flags)
    }

    /// The clock's time at cycle `now`: seconds since 1970 and the cycles into that second
    /// (0 while the clock is stopped: then it is the time in the registers).
    pub fn time_at(&self, now: u64) -> (i64, u64) {
        if self.running() {
            let into = now.saturating_add(SECOND - self.div_phase) % SECOND;
            (self.secs_at(now), into)
        } else {
            (self.parse_registers().0, 0)
        }
    }

    /// Whether the clock counts: divider at the 32.768 kHz time base and SET = 0.
    pub fn running(&self) -> bool {
        self.divider_running() && self.byte(reg::B) & B_SET == 0
    }

    /// Whether the divider chain runs (DV2-0 = 010).
    pub fn divider_running(&self) -> bool {
        self.byte(reg::A) & A_DV == DV_32K
    }

    /// An `IN` from port 70h or 71h at cycle `now`.
    pub fn read(&mut self, port: u16, now: u64) -> u8 {
        if port != DATA_PORT {
            return 0xFF;
        }
        let r = self.index();
        if r == reg::C {
            self.catch_up(now);
            let v = self.flags | if self.irq() { C_IRQF } else { 0 };
            self.flags = 0;
            return v;
        }
        self.peek(r, now)
    }

    /// An `OUT` to port 70h or 71h at cycle `now`.
    pub fn write(&mut self, port: u16, value: u8, now: u64) {
        match port {
            INDEX_PORT => {
                self.index = value & 0x7F;
                self.nmi_masked = value & 0x80 != 0;
            }
            DATA_PORT => self.write_register(self.index(), value, now),
            _ => {}
        }
    }

    /// Brings PF, AF and UF up to date through cycle `now`.
    pub fn catch_up(&mut self, now: u64) {
        if now > self.seen {
            self.flags |= self.flags_between(self.seen, now);
            self.seen = now;
        }
    }

    /// The next cycle after `now` at which an enabled interrupt sets its flag while the IRQ
    /// output is inactive (while it is active, nothing the guest can see changes until it
    /// reads register C). `None` when no interrupt is enabled or the clock cannot raise one.
    pub fn next_irq_cycle(&mut self, now: u64) -> Option<u64> {
        self.catch_up(now);
        let b = self.byte(reg::B);
        if self.irq() || !self.divider_running() {
            return None;
        }
        let mut next = None;
        if b & B_PIE != 0
            && let Some(p) = self.period()
        {
            next = Some(self.next_multiple(now, p));
        }
        if b & B_SET == 0 && b & (B_AIE | B_UIE) != 0 {
            let s = self.next_multiple(now, SECOND);
            next = Some(next.map_or(s, |n: u64| n.min(s)));
        }
        next
    }

    fn byte(&self, r: u8) -> u8 {
        self.ram.get(usize::from(r)).copied().unwrap_or(0)
    }

    fn set_byte(&mut self, r: u8, v: u8) {
        if let Some(b) = self.ram.get_mut(usize::from(r)) {
            *b = v;
        }
    }

    /// UIP at cycle `now`: within 73 cycles before a second boundary of a running clock.
    fn uip(&self, now: u64) -> bool {
        self.running() && self.next_multiple(now, SECOND) - now.max(self.div_start) <= UIP_CYCLES
    }

    /// The day of week (1-7) at time `secs`, counted from the one the count started with.
    fn dow_at(&self, secs: i64) -> u8 {
        let days = secs.div_euclid(SECS_PER_DAY) - self.base_secs.div_euclid(SECS_PER_DAY);
        ((i64::from(self.base_dow) - 1 + days).rem_euclid(7) + 1) as u8
    }

    fn irqf(&self, flags: u8) -> bool {
        flags & self.byte(reg::B) & (C_PF | C_AF | C_UF) != 0
    }

    fn period(&self) -> Option<u64> {
        periodic_cycles(self.byte(reg::A))
    }

    /// The first cycle after `now` that is a multiple of `p` (a divisor of a second)
    /// counted from the divider's phase; never before the divider started.
    fn next_multiple(&self, now: u64, p: u64) -> u64 {
        let now = now.max(self.div_start);
        now.saturating_add(p - now.saturating_add(SECOND - self.div_phase) % p)
    }

    /// How many multiples of `p` (from the divider phase) lie in (`a`, `b`], counting only
    /// those after the divider started.
    fn multiples_between(&self, a: u64, b: u64, p: u64) -> u64 {
        let a = a.max(self.div_start);
        if b <= a {
            return 0;
        }
        let count = |x: u64| x.saturating_add(SECOND - self.div_phase) / p;
        count(b) - count(a)
    }

    /// The flags the clock sets in (`a`, `b`] with the current settings.
    fn flags_between(&self, a: u64, b: u64) -> u8 {
        if b <= a || !self.divider_running() {
            return 0;
        }
        let mut f = 0;
        if let Some(p) = self.period()
            && self.multiples_between(a, b, p) > 0
        {
            f |= C_PF;
        }
        if self.byte(reg::B) & B_SET == 0 {
            let n = self.multiples_between(a.max(self.base_cycle), b, SECOND);
            if n > 0 {
                f |= C_UF;
                let last = self.secs_at(b);
                let first = last - (n.min(SECS_PER_DAY as u64) as i64) + 1;
                if (first..=last).any(|s| self.alarm_matches(s)) {
                    f |= C_AF;
                }
            }
        }
        f
    }

    /// The time at cycle `now` while the clock runs.
    fn secs_at(&self, now: u64) -> i64 {
        let n = self.multiples_between(self.base_cycle, now, SECOND);
        self.base_secs
            .saturating_add(i64::try_from(n).unwrap_or(i64::MAX / 2))
    }

    fn binary(&self) -> bool {
        self.byte(reg::B) & B_DM_BINARY != 0
    }

    fn encode(&self, v: u32) -> u8 {
        if self.binary() { v as u8 } else { bcd(v) }
    }

    fn decode(&self, v: u8) -> u32 {
        if self.binary() {
            u32::from(v)
        } else {
            from_bcd(v)
        }
    }

    /// Hour register contents for hour `h` (0-23): 24-hour, or 1-12 with bit 7 = PM
    /// (datasheet Table 3).
    fn encode_hour(&self, h: u32) -> u8 {
        if self.byte(reg::B) & B_24H != 0 {
            self.encode(h)
        } else {
            let h12 = if h.is_multiple_of(12) { 12 } else { h % 12 };
            self.encode(h12) | if h >= 12 { 0x80 } else { 0 }
        }
    }

    fn decode_hour(&self, v: u8) -> u32 {
        if self.byte(reg::B) & B_24H != 0 {
            self.decode(v).min(23)
        } else {
            let h = self.decode(v & 0x7F).clamp(1, 12) % 12;
            h + if v & 0x80 != 0 { 12 } else { 0 }
        }
    }

    /// Time register `r` (00h, 02h, 04h, 06h-09h) for time `secs`.
    fn time_register(&self, r: u8, secs: i64) -> u8 {
        let t = DateTime::from_unix(secs);
        match r {
            reg::SECONDS => self.encode(t.second),
            reg::MINUTES => self.encode(t.minute),
            reg::HOURS => self.encode_hour(t.hour),
            reg::DAY_OF_WEEK => self.encode(u32::from(self.dow_at(secs))),
            reg::DAY => self.encode(u32::from(t.day)),
            reg::MONTH => self.encode(u32::from(t.month)),
            reg::YEAR => self.encode(u32::from(t.year) % 100),
            _ => self.byte(r),
        }
    }

    /// Whether the alarm registers match time `secs` (an alarm byte of C0h-FFh matches
    /// every value: datasheet "don't care" code).
    fn alarm_matches(&self, secs: i64) -> bool {
        [
            (reg::SECONDS_ALARM, reg::SECONDS),
            (reg::MINUTES_ALARM, reg::MINUTES),
            (reg::HOURS_ALARM, reg::HOURS),
        ]
        .iter()
        .all(|&(alarm, time)| {
            let a = self.byte(alarm);
            a & 0xC0 == 0xC0 || a == self.time_register(time, secs)
        })
    }

    /// The time in the registers (seconds since 1970, clamped to valid values) and the
    /// day-of-week register.
    fn parse_registers(&self) -> (i64, u8) {
        let century = i64::from(DateTime::from_unix(self.base_secs).year) / 100;
        let year = (century * 100 + i64::from(self.decode(self.byte(reg::YEAR)).min(99))) as u16;
        let month = self.decode(self.byte(reg::MONTH)).clamp(1, 12) as u8;
        let day = (self.decode(self.byte(reg::DAY)) as u8).clamp(1, days_in_month(year, month));
        let t = DateTime {
            year,
            month,
            day,
            hour: self.decode_hour(self.byte(reg::HOURS)),
            minute: self.decode(self.byte(reg::MINUTES)).min(59),
            second: self.decode(self.byte(reg::SECONDS)).min(59),
        };
        let dow = (self.decode(self.byte(reg::DAY_OF_WEEK)) % 7) as u8;
        (t.to_unix(), if dow == 0 { 7 } else { dow })
    }

    /// Stores the running clock's time at `now` in the time registers.
    fn materialize(&mut self, now: u64) {
        let secs = self.secs_at(now);
        for r in [
            reg::SECONDS,
            reg::MINUTES,
            reg::HOURS,
            reg::DAY_OF_WEEK,
            reg::DAY,
            reg::MONTH,
            reg::YEAR,
        ] {
            let v = self.time_register(r, secs);
            self.set_byte(r, v);
        }
    }

    /// Starts the count from the registers at `now`.
    fn start_count(&mut self, now: u64) {
        let (secs, dow) = self.parse_registers();
        self.base_secs = secs;
        self.base_dow = dow;
        self.base_cycle = now;
    }

    fn write_register(&mut self, r: u8, value: u8, now: u64) {
        self.catch_up(now);
        match r {
            reg::SECONDS | reg::MINUTES | reg::HOURS | reg::DAY_OF_WEEK..=reg::YEAR => {
                if self.running() {
                    self.materialize(now);
                    self.set_byte(r, value);
                    self.start_count(now);
                } else {
                    self.set_byte(r, value);
                }
            }
            reg::A => {
                let was = self.divider_running();
                let counting = self.running();
                if counting {
                    self.materialize(now);
                }
                self.set_byte(reg::A, value & !A_UIP);
                if !was && self.divider_running() {
                    // Out of reset: the first update ends half a second later.
                    self.div_start = now;
                    self.div_phase = (now + SECOND / 2) % SECOND;
                }
                if self.running() && !counting {
                    self.start_count(now);
                }
            }
            reg::B => {
                let counting = self.running();
                if counting {
                    self.materialize(now);
                }
                let v = if value & B_SET != 0 {
                    value & !B_UIE
                } else {
                    value
                };
                self.set_byte(reg::B, v);
                if self.running() && !counting {
                    self.start_count(now);
                } else if counting {
                    // DM or 24/12 may have changed: the count goes on from the same time.
                    let secs = self.secs_at(now);
                    self.base_dow = self.dow_at(secs);
                    self.base_secs = secs;
                    self.base_cycle = now;
                }
            }
            reg::C | reg::D => {}
            _ => self.set_byte(r, value),
        }
    }

    /// Recomputes the AT checksum (2Eh/2Fh = sum of 10h-2Dh, high byte first).
    fn update_checksum(&mut self) {
        let sum: u16 = (reg::DISKETTE..reg::CHECKSUM_HI)
            .map(|r| u16::from(self.byte(r)))
            .sum();
        self.set_byte(reg::CHECKSUM_HI, (sum >> 8) as u8);
        self.set_byte(reg::CHECKSUM_LO, sum as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1994-01-01 00:00:00 (a Saturday), the default boot time.
    const BOOT: i64 = 757_382_400;
    const RAM: u32 = 16 << 20;

    fn rtc() -> Rtc {
        Rtc::at_power_on(RAM, BOOT)
    }

    fn rd(r: &mut Rtc, index: u8, now: u64) -> u8 {
        r.write(INDEX_PORT, index, now);
        r.read(DATA_PORT, now)
    }

    fn wr(r: &mut Rtc, index: u8, value: u8, now: u64) {
        r.write(INDEX_PORT, index, now);
        r.write(DATA_PORT, value, now);
    }

    #[test]
    fn power_on_cmos_is_the_at_setup() {
        let mut r = rtc();
        // AT BIOS: register A = 26h (DV = 010, RS = 0110), B = 02h (24 h, BCD), D = VRT.
        assert_eq!(rd(&mut r, reg::A, 0), 0x26);
        assert_eq!(rd(&mut r, reg::B, 0), 0x02);
        assert_eq!(rd(&mut r, reg::C, 0), 0x00);
        assert_eq!(rd(&mut r, reg::D, 0), 0x80);
        assert_eq!(rd(&mut r, reg::DIAGNOSTIC, 0), 0x00);
        assert_eq!(rd(&mut r, reg::SHUTDOWN, 0), 0x00);
        // Base memory 640 KiB = 0280h, low byte first.
        assert_eq!(rd(&mut r, reg::BASE_MEMORY_LO, 0), 0x80);
        assert_eq!(rd(&mut r, reg::BASE_MEMORY_HI, 0), 0x02);
        // 16 MiB: 15,360 KiB above 1 MiB = 3C00h, in 17h/18h and 30h/31h.
        assert_eq!(rd(&mut r, reg::EXPANSION_MEMORY_LO, 0), 0x00);
        assert_eq!(rd(&mut r, reg::EXPANSION_MEMORY_HI, 0), 0x3C);
        assert_eq!(rd(&mut r, reg::POST_MEMORY_HI, 0), 0x3C);
        assert_eq!(rd(&mut r, reg::EQUIPMENT, 0), 0x20);
        assert_eq!(rd(&mut r, reg::CENTURY, 0), 0x19);
        // Checksum of 10h-2Dh: 20h + 80h + 02h + 00h + 3Ch = 00DEh, high byte at 2Eh.
        assert_eq!(rd(&mut r, reg::CHECKSUM_HI, 0), 0x00);
        assert_eq!(rd(&mut r, reg::CHECKSUM_LO, 0), 0xDE);
        // 1994-01-01 in BCD; day of week 7 (Saturday; 1 = Sunday).
        let regs: Vec<u8> = [0, 2, 4, 6, 7, 8, 9]
            .iter()
            .map(|&i| rd(&mut r, i, 0))
            .collect();
        assert_eq!(regs, [0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x94]);
    }

    #[test]
    fn the_index_port_keeps_the_nmi_mask_and_only_six_address_bits() {
        let mut r = rtc();
        r.write(INDEX_PORT, 0x8F, 0);
        assert!(r.nmi_masked());
        assert_eq!(r.index(), 0x0F);
        // Port 70h is write only on the AT.
        assert_eq!(r.read(INDEX_PORT, 0), 0xFF);
        r.write(INDEX_PORT, 0x0F, 0);
        assert!(!r.nmi_masked());
        // 64 bytes: 4Eh reaches 0Eh.
        wr(&mut r, 0x0E, 0x5A, 0);
        assert_eq!(rd(&mut r, 0x4E, 0), 0x5A);
        assert_eq!(rd(&mut r, 0xCE, 0), 0x5A);
    }

    #[test]
    fn time_counts_seconds_of_the_crystal() {
        let mut r = rtc();
        assert_eq!(rd(&mut r, reg::SECONDS, SECOND - 1), 0x00);
        assert_eq!(rd(&mut r, reg::SECONDS, SECOND), 0x01);
        // 59 s, then a BCD carry into minutes; one hour later 01:00:00.
        assert_eq!(rd(&mut r, reg::SECONDS, 59 * SECOND), 0x59);
        assert_eq!(rd(&mut r, reg::SECONDS, 60 * SECOND), 0x00);
        assert_eq!(rd(&mut r, reg::MINUTES, 60 * SECOND), 0x01);
        assert_eq!(rd(&mut r, reg::HOURS, 3600 * SECOND), 0x01);
        // One day on: Sunday (1), 1994-01-02.
        let day = 86_400 * SECOND;
        assert_eq!(rd(&mut r, reg::DAY_OF_WEEK, day), 0x01);
        assert_eq!(rd(&mut r, reg::DAY, day), 0x02);
    }

    #[test]
    fn binary_and_bcd_data_modes() {
        // Datasheet Table 3: seconds 0-59 are 00-59 in BCD and 00-3B in binary; date 1-31
        // is 01-31 / 01-1F; year 0-99 is 00-99 / 00-63.
        let mut r = Rtc::at_power_on(RAM, BOOT + 86_400 * 30 + 12 * 3600 + 34 * 60 + 56);
        assert_eq!(rd(&mut r, reg::SECONDS, 0), 0x56);
        assert_eq!(rd(&mut r, reg::DAY, 0), 0x31);
        wr(&mut r, reg::B, B_24H | B_DM_BINARY, 0);
        assert_eq!(rd(&mut r, reg::SECONDS, 0), 56);
        assert_eq!(rd(&mut r, reg::MINUTES, 0), 34);
        assert_eq!(rd(&mut r, reg::HOURS, 0), 12);
        assert_eq!(rd(&mut r, reg::DAY, 0), 0x1F);
        assert_eq!(rd(&mut r, reg::YEAR, 0), 94);
    }

    #[test]
    fn twelve_hour_mode_sets_bit_7_for_pm() {
        // Datasheet Table 3: 12-hour mode hours are 01-12 (AM) and 81-92 (PM) in BCD,
        // 01-0C and 81-8C in binary.
        for (hour, bcd12, bin12) in [
            (0u32, 0x12u8, 0x0Cu8),
            (1, 0x01, 0x01),
            (11, 0x11, 0x0B),
            (12, 0x92, 0x8C),
            (13, 0x81, 0x81),
            (23, 0x91, 0x8B),
        ] {
            let mut r = Rtc::at_power_on(RAM, BOOT + i64::from(hour) * 3600);
            wr(&mut r, reg::B, 0, 0);
            assert_eq!(rd(&mut r, reg::HOURS, 0), bcd12, "{hour}h BCD");
            wr(&mut r, reg::B, B_DM_BINARY, 0);
            assert_eq!(rd(&mut r, reg::HOURS, 0), bin12, "{hour}h binary");
        }
    }

    #[test]
    fn set_stops_the_clock_and_the_written_time_counts_on() {
        let mut r = rtc();
        wr(&mut r, reg::B, B_SET | B_UIE | B_24H, 1000);
        // SET clears UIE.
        assert_eq!(rd(&mut r, reg::B, 1000), B_SET | B_24H);
        wr(&mut r, reg::HOURS, 0x23, 1000);
        wr(&mut r, reg::MINUTES, 0x59, 1000);
        wr(&mut r, reg::SECONDS, 0x58, 1000);
        // Stopped: no update happens, UIP stays 0.
        assert_eq!(rd(&mut r, reg::SECONDS, 5 * SECOND), 0x58);
        assert_eq!(rd(&mut r, reg::A, 5 * SECOND - 10) & A_UIP, 0);
        assert_eq!(rd(&mut r, reg::C, 5 * SECOND + 1), C_PF, "no update flag");
        wr(&mut r, reg::B, B_24H, 5 * SECOND + 100);
        // The divider kept running: the next update ends at its next second boundary.
        assert_eq!(rd(&mut r, reg::SECONDS, 6 * SECOND - 1), 0x58);
        assert_eq!(rd(&mut r, reg::SECONDS, 6 * SECOND), 0x59);
        assert_eq!(rd(&mut r, reg::SECONDS, 7 * SECOND), 0x00);
        assert_eq!(rd(&mut r, reg::HOURS, 7 * SECOND), 0x00);
        assert_eq!(rd(&mut r, reg::DAY, 7 * SECOND), 0x02);
        assert_eq!(rd(&mut r, reg::DAY_OF_WEEK, 7 * SECOND), 0x01);
    }

    #[test]
    fn divider_reset_stops_the_clock_and_the_first_update_is_half_a_second_later() {
        let mut r = rtc();
        assert_eq!(rd(&mut r, reg::C, 100), C_PF, "1024 Hz edges at 32, 64, 96");
        wr(&mut r, reg::A, 0x66, 100); // DV = 110: divider reset
        assert_eq!(rd(&mut r, reg::SECONDS, 10 * SECOND), 0x00);
        assert_eq!(
            rd(&mut r, reg::C, 10 * SECOND),
            0x00,
            "no periodic flag either"
        );
        let t = 10 * SECOND + 5;
        wr(&mut r, reg::A, 0x26, t);
        assert_eq!(rd(&mut r, reg::SECONDS, t + SECOND / 2 - 1), 0x00);
        assert_eq!(rd(&mut r, reg::SECONDS, t + SECOND / 2), 0x01);
        assert_eq!(rd(&mut r, reg::SECONDS, t + SECOND / 2 + SECOND), 0x02);
    }

    #[test]
    fn uip_rises_244_us_before_the_update_and_falls_at_its_end() {
        // tBUC = 244 µs (8 cycles) before an update of tUC = 1984 µs (65 cycles): UIP is
        // 1 for the last 73 cycles of every second.
        let mut r = rtc();
        assert_eq!(rd(&mut r, reg::A, SECOND - 74), 0x26);
        assert_eq!(rd(&mut r, reg::A, SECOND - 73), 0xA6);
        assert_eq!(
            rd(&mut r, reg::SECONDS, SECOND - 1),
            0x00,
            "still the old second"
        );
        assert_eq!(rd(&mut r, reg::A, SECOND - 1), 0xA6);
        assert_eq!(rd(&mut r, reg::A, SECOND), 0x26);
        assert_eq!(rd(&mut r, reg::SECONDS, SECOND), 0x01);
        // Writing A cannot set UIP.
        wr(&mut r, reg::A, 0xA6, SECOND + 10);
        assert_eq!(rd(&mut r, reg::A, SECOND + 10), 0x26);
    }

    #[test]
    fn periodic_rates_follow_table_5() {
        // Datasheet Table 5, 32.768 kHz time base: period per RS3-0.
        let micros_x1000: [(u8, u64); 15] = [
            (1, 3_906_250),
            (2, 7_812_500),
            (3, 122_070),
            (4, 244_141),
            (5, 488_281),
            (6, 976_562),
            (7, 1_953_125),
            (8, 3_906_250),
            (9, 7_812_500),
            (10, 15_625_000),
            (11, 31_250_000),
            (12, 62_500_000),
            (13, 125_000_000),
            (14, 250_000_000),
            (15, 500_000_000),
        ];
        assert_eq!(periodic_cycles(0), None);
        for (rs, nanos) in micros_x1000 {
            let p = periodic_cycles(rs).expect("a rate");
            // Cycles of 1/32768 s, in ns, rounded to the table's precision.
            let ns = p * 1_000_000_000 / OSC_HZ;
            assert!(ns.abs_diff(nanos) <= 1, "RS {rs}: {ns} ns");
            // The flag: set at each period, cleared by reading C.
            let mut r = rtc();
            wr(&mut r, reg::A, 0x20 | rs, 0);
            assert_eq!(rd(&mut r, reg::C, p - 1), 0x00, "RS {rs}");
            assert_eq!(rd(&mut r, reg::C, p), C_PF, "RS {rs}");
            assert_eq!(rd(&mut r, reg::C, p), 0x00, "RS {rs}: cleared by the read");
            assert_eq!(rd(&mut r, reg::C, 2 * p - 1), 0x00, "RS {rs}");
            // (At 2p = 1 s for RS = 15 the update ends too: UF.)
            assert_eq!(rd(&mut r, reg::C, 2 * p) & !C_UF, C_PF, "RS {rs}");
        }
    }

    #[test]
    fn interrupt_flags_and_irqf() {
        let mut r = rtc();
        // Update-ended flag without UIE: UF, no IRQF.
        assert_eq!(rd(&mut r, reg::C, SECOND), C_UF | C_PF);
        assert!(!r.irq());
        // With PIE: the next periodic edge (1024 Hz, 32 cycles) raises IRQF and the line.
        wr(&mut r, reg::B, B_24H | B_PIE, SECOND);
        assert_eq!(r.next_irq_cycle(SECOND), Some(SECOND + 32));
        r.catch_up(SECOND + 32);
        assert!(r.irq());
        // While IRQF is set nothing new can be seen: no event is needed.
        assert_eq!(r.next_irq_cycle(SECOND + 40), None);
        assert_eq!(rd(&mut r, reg::C, SECOND + 40), C_IRQF | C_PF);
        assert!(!r.irq());
        assert_eq!(r.next_irq_cycle(SECOND + 40), Some(SECOND + 64));
        // Update-ended interrupt.
        wr(&mut r, reg::B, B_24H | B_UIE, SECOND + 50);
        assert_eq!(r.next_irq_cycle(SECOND + 50), Some(2 * SECOND));
        assert_eq!(rd(&mut r, reg::C, 2 * SECOND), C_IRQF | C_PF | C_UF);
        // Enabling an interrupt whose flag is already set raises IRQF at once.
        r.catch_up(2 * SECOND + 32);
        wr(&mut r, reg::B, B_24H | B_PIE, 2 * SECOND + 33);
        assert!(r.irq());
        // No interrupt enabled: no events.
        wr(&mut r, reg::B, B_24H, 2 * SECOND + 40);
        assert_eq!(rd(&mut r, reg::C, 2 * SECOND + 40), C_PF);
        assert_eq!(r.next_irq_cycle(2 * SECOND + 40), None);
        // C and D are read only.
        wr(&mut r, reg::C, 0xFF, 2 * SECOND + 41);
        wr(&mut r, reg::D, 0x00, 2 * SECOND + 41);
        assert_eq!(rd(&mut r, reg::C, 2 * SECOND + 41), 0x00);
        assert_eq!(rd(&mut r, reg::D, 2 * SECOND + 41), D_VRT);
    }

    #[test]
    fn alarm_matches_with_dont_care_codes() {
        let mut r = rtc();
        wr(&mut r, reg::SECONDS_ALARM, 0x05, 0);
        wr(&mut r, reg::MINUTES_ALARM, 0x00, 0);
        wr(&mut r, reg::HOURS_ALARM, 0x00, 0);
        wr(&mut r, reg::A, 0x20, 0); // no periodic flag, for clarity
        assert_eq!(rd(&mut r, reg::C, 4 * SECOND), C_UF);
        assert_eq!(rd(&mut r, reg::C, 5 * SECOND), C_UF | C_AF);
        assert_eq!(rd(&mut r, reg::C, 6 * SECOND), C_UF);
        // An alarm that passed inside a long interval is still seen.
        wr(&mut r, reg::SECONDS_ALARM, 0x30, 6 * SECOND);
        assert_eq!(rd(&mut r, reg::C, 100 * SECOND), C_UF | C_AF);
        // Don't-care (C0h-FFh) hours and minutes: every minute at second 00.
        wr(&mut r, reg::SECONDS_ALARM, 0x00, 100 * SECOND);
        wr(&mut r, reg::MINUTES_ALARM, 0xC0, 100 * SECOND);
        wr(&mut r, reg::HOURS_ALARM, 0xFF, 100 * SECOND);
        wr(&mut r, reg::B, B_24H | B_AIE, 100 * SECOND);
        assert_eq!(r.next_irq_cycle(100 * SECOND), Some(101 * SECOND));
        assert_eq!(rd(&mut r, reg::C, 119 * SECOND), C_UF);
        assert_eq!(rd(&mut r, reg::C, 120 * SECOND), C_IRQF | C_UF | C_AF);
    }

    #[test]
    fn writing_a_time_register_while_running_restarts_the_count_from_it() {
        let mut r = rtc();
        wr(&mut r, reg::MINUTES, 0x30, SECOND / 2);
        assert_eq!(rd(&mut r, reg::MINUTES, SECOND / 2), 0x30);
        assert_eq!(rd(&mut r, reg::SECONDS, SECOND), 0x01);
        assert_eq!(r.time_at(SECOND + 8), (BOOT + 30 * 60 + 1, 8));
    }

    #[test]
    fn out_of_range_values_are_clamped_when_the_count_starts() {
        let mut r = rtc();
        wr(&mut r, reg::B, B_SET | B_24H, 0);
        wr(&mut r, reg::SECONDS, 0x7F, 0);
        wr(&mut r, reg::MONTH, 0x13, 0);
        wr(&mut r, reg::DAY, 0x35, 0);
        wr(&mut r, reg::B, B_24H, 0);
        assert_eq!(rd(&mut r, reg::SECONDS, 0), 0x59);
        assert_eq!(rd(&mut r, reg::MONTH, 0), 0x12);
        assert_eq!(rd(&mut r, reg::DAY, 0), 0x31);
    }
}
