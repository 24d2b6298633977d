//! The Intel 8254 programmable interval timer (PIT) of a PC: ports 40h-43h.
//!
//! Follows the *Intel 8254 Programmable Interval Timer* datasheet (1993, order no. 231164)
//! for the chip and the *IBM PC/AT Technical Reference* for its wiring: input clock
//! 1,193,182 Hz on all three counters; counter 0 OUT drives IRQ0; counters 0 and 1 have GATE
//! tied high; counter 2 GATE is port 61h bit 0 and its OUT is readable at port 61h bit 5
//! (port 61h itself belongs to the machine, which uses [`Pit::set_gate`] and [`Pit::out`]).
//!
//! # Time
//!
//! The chip is never stepped. Time is an absolute count of PIT input clocks (`now: u64`)
//! supplied by the caller, which must not go backwards. "At time `t`" means after the
//! `t`-th CLK pulse; an access at `now` happens between pulses `now` and `now + 1`. Each
//! counter keeps its programming and the time at which it was loaded, and computes its count
//! and OUT level arithmetically for any `t`.
//!
//! # Conventions
//!
//! - **Load delay** (datasheet: "the initial count will be loaded on the next CLK pulse"): a
//!   count completed at `now` is in the counting element at `now + 1` and is first
//!   decremented by pulse `now + 2`. So mode 0 OUT rises at `now + N + 1`, and in mode 2 OUT
//!   is low at `now + N` (count 1) and rises at `now + N + 1`. A GATE trigger at `g` (modes
//!   1, 2, 3, 5) likewise loads at `g + 1`. Reads at the very time of the write still see
//!   the old counting element.
//! - **Edges**: [`Pit::next_irq0_edge`] returns the earliest `t > now` with OUT low at
//!   `t - 1` and high at `t` (strictly after `now`: an edge at `now` has already happened).
//!   It reports only edges made by counting. A write or gate change can also move OUT at
//!   `now` itself (a control word sets OUT high in modes 1-5, a mode 2/3 gate falling sets
//!   it high); a caller that cares compares [`Pit::out`] before and after the access.
//! - **Count 0** means 65536 (binary) or 10000 (BCD). Invalid BCD digits (A-F) are taken at
//!   face value and the result reduced modulo 10000 (the datasheet leaves them undefined).
//! - **Power-on** (datasheet: mode, count and OUT undefined): every counter is unprogrammed,
//!   mode 0, LSB-then-MSB, binary, count 0, OUT low; GATE high for counters 0 and 1, low for
//!   counter 2. No IRQ0 edge happens until the BIOS programs counter 0.
//! - **Reads of 43h** return FFh: the control word register is write-only and the datasheet
//!   leaves such reads undefined. Only the low two port bits are decoded (the AT aliases
//!   40h-5Fh); the caller decides which ports reach the chip.
//! - **Mode 3 reprogramming** takes effect at the end of the current *half*-cycle, as the
//!   datasheet says; mode 2 at the end of the current period; modes 0 and 4 reload on the
//!   next pulse; modes 1 and 5 at the next trigger.
//! - **Illegal count 1** in mode 2 leaves OUT low for good and in mode 3 high for good.
//! - Counts read back in mode 3 go down by two from N (even) or N-1 (odd) in each half
//!   cycle; the datasheet's exact odd-count sequence is only approximated, the OUT timing
//!   (high ceil(N/2), low floor(N/2)) is exact.
//! - A gate change at the exact pulse of a mode 4 strobe may lose that one-clock strobe.

use serde::{Deserialize, Serialize};

/// The PIT input clock of a PC in Hz.
pub const CLOCK_HZ: u64 = crate::clock::PIT_HZ;
/// Number of counters.
pub const CHANNELS: usize = 3;

/// Modes 0, 1, 4, 5 after a load: count value `val` at `anchor`, one less per pulse after it
/// unless `frozen` (GATE low in modes 0, 4); `armed` until terminal count. Before `anchor`
/// the counter shows `before` and OUT is `out_before`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
struct Shot {
    anchor: u64,
    val: u32,
    armed: bool,
    frozen: bool,
    before: u32,
    out_before: bool,
}

/// Modes 2, 3 while counting: period `n`; at `anchor` the position in the period is
/// `phase0` (position 0 = count just reloaded). Before `anchor` the counter shows `before`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
struct Wave {
    anchor: u64,
    phase0: u32,
    n: u32,
    before: u32,
}

/// What a counter is doing.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// After a control word (or the first byte of a mode 0 two-byte count): stopped.
    Idle {
        count: u32,
        out: bool,
    },
    /// Count written, waiting for a GATE trigger (modes 1, 5; modes 2, 3 with GATE low).
    /// OUT is high.
    Waiting {
        count: u32,
    },
    OneShot(Shot),
    Periodic(Wave),
}

/// A mode 2/3 count written while counting, loaded at `at` with the then current reload.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
struct Switch {
    at: u64,
    /// Mode 3: the new count starts with the low half-cycle.
    into_low: bool,
}

/// One counter of the 8254.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct Channel {
    /// Bits 5-0 of the last control word: RW1 RW0 M2 M1 M0 BCD.
    control: u8,
    gate: bool,
    /// Count register (CR) as written.
    reload: u16,
    /// Write flip-flop: the next byte of an LSB-then-MSB count is the MSB.
    write_msb: bool,
    lsb_buf: u8,
    /// Read flip-flop: the next byte read of an LSB-then-MSB count is the MSB.
    read_msb: bool,
    latch: Option<u16>,
    status: Option<u8>,
    /// Null count while `now < null_until` (`u64::MAX`: until the next trigger).
    null_until: u64,
    phase: Phase,
    switch: Option<Switch>,
}

/// The 8254 timer. See the module docs for conventions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Pit {
    channels: [Channel; CHANNELS],
}

fn to_bcd(v: u32) -> u16 {
    let v = v % 10000;
    ((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10)) as u16
}

impl Shot {
    /// A count `val` loaded at `anchor`.
    fn load(anchor: u64, val: u32, frozen: bool, before: u32, out_before: bool) -> Shot {
        Shot {
            anchor,
            val,
            armed: true,
            frozen,
            before,
            out_before,
        }
    }
}

impl Wave {
    /// A period `n` starting (position 0) at `anchor`.
    fn start(anchor: u64, n: u32, before: u32) -> Wave {
        Wave {
            anchor,
            phase0: 0,
            n,
            before,
        }
    }

    /// Position in the period (0..n) at `t >= anchor`.
    fn pos(&self, t: u64) -> u32 {
        let n = u64::from(self.n.max(1));
        ((t.saturating_sub(self.anchor) % n + u64::from(self.phase0)) % n) as u32
    }

    /// Earliest `x >= max(t, anchor)` at position 0.
    fn zero_from(&self, t: u64) -> Option<u64> {
        let x = t.max(self.anchor);
        match self.pos(x) {
            0 => Some(x),
            p => x.checked_add(u64::from(self.n - p)),
        }
    }
}

impl Channel {
    fn new(gate: bool) -> Channel {
        Channel {
            control: 0x30,
            gate,
            reload: 0,
            write_msb: false,
            lsb_buf: 0,
            read_msb: false,
            latch: None,
            status: None,
            null_until: u64::MAX,
            phase: Phase::Idle {
                count: 0,
                out: false,
            },
            switch: None,
        }
    }

    fn rw(&self) -> u8 {
        (self.control >> 4) & 3
    }

    /// Operating mode 0-5 (110b and 111b are modes 2 and 3).
    fn mode(&self) -> u8 {
        let m = (self.control >> 1) & 7;
        if m >= 6 { m - 4 } else { m }
    }

    fn bcd(&self) -> bool {
        self.control & 1 != 0
    }

    fn modulus(&self) -> u32 {
        if self.bcd() { 10000 } else { 65536 }
    }

    /// The initial count N of the count register: 1..=65536 (binary) or 1..=10000 (BCD).
    fn n(&self) -> u32 {
        let r = u32::from(self.reload);
        let v = if self.bcd() {
            ((r >> 12) * 1000 + ((r >> 8) & 15) * 100 + ((r >> 4) & 15) * 10 + (r & 15)) % 10000
        } else {
            r
        };
        if v == 0 { self.modulus() } else { v }
    }

    /// Clocks from a one-shot's anchor to terminal count.
    fn dist(&self, s: &Shot) -> u64 {
        u64::from(if s.val == 0 { self.modulus() } else { s.val })
    }

    /// Register value of a count.
    fn reg(&self, count: u32) -> u16 {
        if self.bcd() {
            to_bcd(count)
        } else {
            (count & 0xFFFF) as u16
        }
    }

    /// The phase in effect at `t`, with a due mode 2/3 reload applied.
    fn phase_at(&self, t: u64) -> Phase {
        match (self.phase, self.switch) {
            (Phase::Periodic(_), Some(sw)) if t >= sw.at => {
                let n = self.n();
                let phase0 = if sw.into_low { n.div_ceil(2) } else { 0 };
                Phase::Periodic(Wave {
                    phase0,
                    ..Wave::start(sw.at, n, 0)
                })
            }
            (p, _) => p,
        }
    }

    fn settle(&mut self, now: u64) {
        if self.switch.is_some_and(|sw| now >= sw.at) {
            self.phase = self.phase_at(now);
            self.switch = None;
        }
    }

    fn count_at(&self, t: u64) -> u32 {
        let m = self.modulus();
        match self.phase_at(t) {
            Phase::Idle { count, .. } | Phase::Waiting { count } => count,
            Phase::OneShot(Shot { anchor, before, .. })
            | Phase::Periodic(Wave { anchor, before, .. })
                if t < anchor =>
            {
                before
            }
            Phase::OneShot(s) => {
                let e = if s.frozen { 0 } else { t - s.anchor };
                let m = u64::from(m);
                ((u64::from(s.val) + m - e % m) % m) as u32
            }
            Phase::Periodic(w) => {
                let p = w.pos(t);
                let c = if self.mode() == 3 {
                    let h = w.n.div_ceil(2);
                    (w.n & !1).saturating_sub(2 * if p < h { p } else { p - h })
                } else {
                    w.n - p
                };
                c % m
            }
        }
    }

    fn out_at(&self, t: u64) -> bool {
        match self.phase_at(t) {
            Phase::Idle { out, .. } => out,
            Phase::Waiting { .. } => true,
            Phase::OneShot(s) if t < s.anchor => s.out_before,
            Phase::OneShot(s) => {
                let e = if s.frozen { 0 } else { t - s.anchor };
                match self.mode() {
                    0 | 1 => !s.armed || e >= self.dist(&s),
                    _ => !(s.armed && e == self.dist(&s)),
                }
            }
            Phase::Periodic(w) if t < w.anchor => true,
            Phase::Periodic(w) if self.mode() == 2 => w.pos(t) != w.n - 1,
            Phase::Periodic(w) => w.pos(t) < w.n.div_ceil(2),
        }
    }

    fn status_byte(&self, now: u64) -> u8 {
        (u8::from(self.out_at(now)) << 7) | (u8::from(now < self.null_until) << 6) | self.control
    }

    fn control_word(&mut self, value: u8, now: u64) {
        self.settle(now);
        let count = self.count_at(now);
        self.control = value & 0x3F;
        let out = self.mode() != 0;
        self.phase = Phase::Idle { count, out };
        self.switch = None;
        self.write_msb = false;
        self.read_msb = false;
        self.latch = None;
        self.status = None;
        self.null_until = u64::MAX;
    }

    fn write_count(&mut self, value: u8, now: u64) {
        self.settle(now);
        match self.rw() {
            1 => self.load(u16::from(value), now),
            2 => self.load(u16::from(value) << 8, now),
            _ if !self.write_msb => {
                self.write_msb = true;
                self.lsb_buf = value;
                // Mode 0: "writing the first byte disables counting. OUT is set low
                // immediately".
                if self.mode() == 0 {
                    let count = self.count_at(now);
                    self.phase = Phase::Idle { count, out: false };
                    self.null_until = u64::MAX;
                }
            }
            _ => {
                self.write_msb = false;
                self.load((u16::from(value) << 8) | u16::from(self.lsb_buf), now);
            }
        }
    }

    /// A complete count was written at `now`.
    fn load(&mut self, raw: u16, now: u64) {
        self.reload = raw;
        let n = self.n();
        let m = self.modulus();
        let next = now.saturating_add(1);
        let before = self.count_at(now);
        let out_now = self.out_at(now);
        match (self.mode(), self.phase) {
            (0 | 4, _) => {
                let out_before = self.mode() == 4 && out_now;
                self.phase =
                    Phase::OneShot(Shot::load(next, n % m, !self.gate, before, out_before));
                self.null_until = next;
            }
            (2 | 3, Phase::Periodic(w)) if now >= w.anchor => {
                let p = w.pos(now);
                let h = w.n.div_ceil(2);
                let (left, into_low) = if self.mode() == 3 && p < h {
                    (h - p, true)
                } else {
                    (w.n - p, false)
                };
                let at = now.saturating_add(u64::from(left));
                self.switch = Some(Switch { at, into_low });
                self.null_until = at;
            }
            (2 | 3, Phase::Waiting { .. }) => self.null_until = u64::MAX,
            (2 | 3, _) => {
                self.phase = if self.gate {
                    Phase::Periodic(Wave::start(next, n, before))
                } else {
                    Phase::Waiting { count: n % m }
                };
                self.switch = None;
                self.null_until = next;
            }
            (_, phase) => {
                // Modes 1, 5: the count is loaded by the next trigger.
                if let Phase::Idle { count, .. } = phase {
                    self.phase = Phase::Waiting { count };
                }
                self.null_until = u64::MAX;
            }
        }
    }

    fn set_gate(&mut self, high: bool, now: u64) {
        self.settle(now);
        if high == self.gate {
            return;
        }
        self.gate = high;
        let next = now.saturating_add(1);
        let count = self.count_at(now);
        match (self.mode(), self.phase) {
            // Modes 0, 4: GATE level enables counting; re-anchor at `now`.
            (0 | 4, Phase::OneShot(s)) if now < s.anchor => {
                self.phase = Phase::OneShot(Shot { frozen: !high, ..s });
            }
            (0 | 4, Phase::OneShot(s)) => {
                let e = if s.frozen { 0 } else { now - s.anchor };
                let armed = s.armed && e < self.dist(&s);
                let s = Shot::load(now, count, !high, s.before, s.out_before);
                self.phase = Phase::OneShot(Shot { armed, ..s });
            }
            (0 | 4, _) | (_, Phase::Idle { .. }) => {}
            // Modes 2, 3: GATE low suspends counting and forces OUT high.
            (2 | 3, _) if !high => {
                self.phase = Phase::Waiting { count };
                self.switch = None;
                if self.null_until > now {
                    self.null_until = u64::MAX;
                }
            }
            // A trigger reloads the initial count on the next pulse.
            (2 | 3, _) => {
                self.phase = Phase::Periodic(Wave::start(next, self.n(), count));
                self.null_until = next;
            }
            (_, _) if high => {
                let val = self.n() % self.modulus();
                let out_before = self.out_at(now);
                self.phase = Phase::OneShot(Shot::load(next, val, false, count, out_before));
                self.null_until = next;
            }
            _ => {}
        }
    }

    fn read(&mut self, now: u64) -> u8 {
        self.settle(now);
        if let Some(s) = self.status.take() {
            return s;
        }
        let [lo, hi] = self
            .latch
            .unwrap_or_else(|| self.reg(self.count_at(now)))
            .to_le_bytes();
        let (byte, done) = match self.rw() {
            1 => (lo, true),
            2 => (hi, true),
            _ => (if self.read_msb { hi } else { lo }, self.read_msb),
        };
        if self.rw() == 3 {
            self.read_msb = !self.read_msb;
        }
        if done {
            self.latch = None;
        }
        byte
    }

    fn latch_count(&mut self, now: u64) {
        if self.latch.is_none() {
            self.latch = Some(self.reg(self.count_at(now)));
        }
    }

    /// Earliest `t > now` at which OUT rises through counting: candidate times checked
    /// against [`Channel::out_at`].
    fn next_rise(&self, now: u64) -> Option<u64> {
        let from = now.checked_add(1)?;
        let mut cands = [None; 5];
        match self.phase {
            Phase::OneShot(s) => {
                // OUT may rise when a mode 4/5 strobe in progress ends at a reload.
                cands[2] = Some(s.anchor);
                if s.armed && !s.frozen {
                    let end = s.anchor.checked_add(self.dist(&s));
                    cands[0] = end;
                    cands[1] = end.and_then(|e| e.checked_add(1));
                }
            }
            Phase::Periodic(w) => {
                let z = w.zero_from(from);
                cands[0] = z;
                cands[1] = z.and_then(|z| z.checked_add(u64::from(w.n)));
                if let (Some(_), Phase::Periodic(v)) = (self.switch, self.phase_at(u64::MAX)) {
                    let y = v.zero_from(from);
                    cands[3] = y;
                    cands[4] = y.and_then(|y| y.checked_add(u64::from(v.n)));
                }
            }
            _ => {}
        }
        cands
            .into_iter()
            .flatten()
            .filter(|&t| t > now && !self.out_at(t - 1) && self.out_at(t))
            .min()
    }
}

impl Default for Pit {
    fn default() -> Pit {
        Pit::new()
    }
}

impl Pit {
    /// Power-on state (see the module docs).
    pub fn new() -> Pit {
        Pit {
            channels: [Channel::new(true), Channel::new(true), Channel::new(false)],
        }
    }

    /// An `OUT` to `port` (40h-43h; only bits 1-0 are decoded) at PIT time `now`.
    pub fn write(&mut self, port: u16, value: u8, now: u64) {
        match usize::from(port & 3) {
            3 => {
                let sc = usize::from(value >> 6);
                if sc == 3 {
                    // Read-back command: bit 5 low latches counts, bit 4 low latches status,
                    // bits 3-1 select counters 2-0.
                    for (i, ch) in self.channels.iter_mut().enumerate() {
                        if value & (2 << i) == 0 {
                            continue;
                        }
                        ch.settle(now);
                        if value & 0x20 == 0 {
                            ch.latch_count(now);
                        }
                        if value & 0x10 == 0 && ch.status.is_none() {
                            ch.status = Some(ch.status_byte(now));
                        }
                    }
                } else if value & 0x30 == 0 {
                    // Counter latch command.
                    self.channels[sc].settle(now);
                    self.channels[sc].latch_count(now);
                } else {
                    self.channels[sc].control_word(value, now);
                }
            }
            c => self.channels[c].write_count(value, now),
        }
    }

    /// An `IN` from `port` (40h-43h; only bits 1-0 are decoded) at PIT time `now`.
    pub fn read(&mut self, port: u16, now: u64) -> u8 {
        match usize::from(port & 3) {
            3 => 0xFF,
            c => self.channels[c].read(now),
        }
    }

    /// Drives GATE of `channel` (on a PC only counter 2's, from port 61h bit 0).
    /// Out-of-range channels are ignored.
    pub fn set_gate(&mut self, channel: usize, high: bool, now: u64) {
        if let Some(ch) = self.channels.get_mut(channel) {
            ch.set_gate(high, now);
        }
    }

    /// GATE level of `channel` (`false` if out of range).
    pub fn gate(&self, channel: usize) -> bool {
        self.channels.get(channel).is_some_and(|ch| ch.gate)
    }

    /// OUT level of `channel` at `now` (`false` if out of range). Counter 2's is port 61h
    /// bit 5.
    pub fn out(&self, channel: usize, now: u64) -> bool {
        self.channels.get(channel).is_some_and(|ch| ch.out_at(now))
    }

    /// Earliest PIT time `t > now` at which counter 0 OUT rises (low at `t - 1`, high at
    /// `t`): the edge that requests IRQ0. `None` if counting as programmed never makes one.
    /// Valid until the next `write` or `set_gate`.
    pub fn next_irq0_edge(&self, now: u64) -> Option<u64> {
        self.channels[0].next_rise(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTRL: u16 = 0x43;

    fn count2(p: &mut Pit, port: u16, v: u16, now: u64) {
        p.write(port, v as u8, now);
        p.write(port, (v >> 8) as u8, now);
    }

    fn read16(p: &mut Pit, port: u16, now: u64) -> u16 {
        let lo = p.read(port, now);
        u16::from(lo) | u16::from(p.read(port, now)) << 8
    }

    // Datasheet mode 3 (even N): OUT high N/2, low N/2, period N; count 0 = 65536; the count
    // is loaded on the pulse after the write. BIOS: 36h then 00h, 00h at t=2 -> loaded at 3,
    // OUT falls at 3+32768, rises at 3+65536k.
    #[test]
    fn bios_mode3_count0() {
        let mut p = Pit::new();
        assert_eq!(p.next_irq0_edge(0), None);
        p.write(CTRL, 0x36, 0);
        p.write(0x40, 0, 1);
        p.write(0x40, 0, 2);
        assert_eq!(p.next_irq0_edge(2), Some(65539));
        assert_eq!(p.next_irq0_edge(65538), Some(65539));
        assert_eq!(p.next_irq0_edge(65539), Some(131_075));
        assert!(p.out(0, 32770) && !p.out(0, 32771) && !p.out(0, 65538) && p.out(0, 65539));
    }

    // Datasheet mode 2: loaded on the next pulse, OUT low for one clock when the count
    // reaches 1, period N. N=1193 written at 100: count 1193 at 101, low at 1293, rises at
    // 1294, then every 1193.
    #[test]
    fn mode2_rate_generator() {
        let mut p = Pit::new();
        p.write(CTRL, 0x34, 100);
        count2(&mut p, 0x40, 1193, 100);
        assert_eq!(p.next_irq0_edge(100), Some(1294));
        assert_eq!(p.next_irq0_edge(1294), Some(2487));
        assert!(p.out(0, 1292) && !p.out(0, 1293) && p.out(0, 1294) && !p.out(0, 2486));
        assert_eq!(read16(&mut p, 0x40, 101), 1193);
        assert_eq!(read16(&mut p, 0x40, 102), 1192);
        assert_eq!(read16(&mut p, 0x40, 1293), 1);
        assert_eq!(read16(&mut p, 0x40, 1294), 1193);
    }

    // Datasheet mode 0: OUT low after the control word; "for an initial count of N, OUT does
    // not go high until N + 1 CLK pulses after the initial count is written", then stays
    // high while the count wraps to FFFFh.
    #[test]
    fn mode0_one_shot() {
        let mut p = Pit::new();
        p.write(CTRL, 0x30, 10);
        assert!(!p.out(0, 10));
        count2(&mut p, 0x40, 100, 10);
        assert_eq!(p.next_irq0_edge(10), Some(111));
        assert!(!p.out(0, 110) && p.out(0, 111) && p.out(0, 1_000_000));
        assert_eq!(p.next_irq0_edge(111), None);
        assert_eq!(read16(&mut p, 0x40, 111), 0);
        assert_eq!(read16(&mut p, 0x40, 112), 0xFFFF);
    }

    // Datasheet mode 0: a new count is loaded on the next pulse and counting restarts from
    // it; the first byte of a two-byte count stops counting and sets OUT low.
    #[test]
    fn mode0_rewrite_restarts() {
        let mut p = Pit::new();
        p.write(CTRL, 0x30, 0);
        count2(&mut p, 0x40, 100, 0);
        p.write(0x40, 100, 50);
        assert_eq!(p.next_irq0_edge(50), None);
        assert_eq!(read16(&mut p, 0x40, 60), 51);
        p.write(0x40, 0, 70);
        assert_eq!(p.next_irq0_edge(70), Some(171));
    }

    // Datasheet mode 4: OUT high, goes low for one clock when the count reaches 0 (N+1 pulses
    // after the write), then high; no further strobe.
    #[test]
    fn mode4_strobe() {
        let mut p = Pit::new();
        p.write(CTRL, 0x38, 0);
        count2(&mut p, 0x40, 3, 0);
        assert!(p.out(0, 3) && !p.out(0, 4) && p.out(0, 5));
        assert_eq!(p.next_irq0_edge(0), Some(5));
        assert_eq!(p.next_irq0_edge(5), None);
        // A new count written during the strobe (at 4) is loaded at 5, ending the strobe
        // there; it then counts 3: low at 8, high at 9.
        count2(&mut p, 0x40, 3, 4);
        assert_eq!(p.next_irq0_edge(4), Some(5));
        assert_eq!(p.next_irq0_edge(5), Some(9));
    }

    // Datasheet counter latch command: the count is latched and held until read while the
    // counter keeps counting.
    #[test]
    fn latch_freezes_read_value() {
        let mut p = Pit::new();
        p.write(CTRL, 0x34, 100);
        count2(&mut p, 0x40, 1193, 100);
        p.write(CTRL, 0x00, 201); // count 1193 - 100 = 1093 = 0445h
        p.write(CTRL, 0x00, 300); // ignored: already latched
        assert_eq!(p.read(0x40, 500), 0x45);
        assert_eq!(p.read(0x40, 600), 0x04);
        assert_eq!(read16(&mut p, 0x40, 700), 1193 - 599);
    }

    // Datasheet RW bits: 01 LSB only (MSB 0), 10 MSB only (LSB 0), 11 LSB then MSB; reads
    // follow the same format; the read and write flip-flops are independent.
    #[test]
    fn lsb_msb_flip_flops() {
        let mut p = Pit::new();
        p.write(CTRL, 0x50, 0); // counter 1, LSB only, mode 0
        p.write(0x41, 0x80, 0);
        assert_eq!(p.read(0x41, 1), 0x80);
        assert_eq!(p.read(0x41, 11), 118);
        assert!(p.out(1, 129) && !p.out(1, 128));
        p.write(CTRL, 0x60, 200); // MSB only: count 0200h, loaded at 201
        p.write(0x41, 0x02, 200);
        assert_eq!(p.read(0x41, 457), 0x01); // 512 - 256 = 0100h
        p.write(CTRL, 0x74, 500); // LSB then MSB, mode 2; stops at 512 - 299 = 00D5h
        assert_eq!(p.read(0x41, 500), 0xD5);
        p.write(0x41, 0x34, 500);
        assert_eq!(p.read(0x41, 500), 0x00);
        p.write(0x41, 0x12, 500);
        assert_eq!(read16(&mut p, 0x41, 501), 0x1234);
    }

    // Datasheet read-back: status = OUT, null count, RW/mode/BCD bits; null count is set by
    // the control word and count write, cleared when the count is loaded; status then count
    // when both are latched.
    #[test]
    fn read_back_status() {
        let mut p = Pit::new();
        p.write(CTRL, 0x36, 0);
        p.write(CTRL, 0xE2, 1);
        assert_eq!(p.read(0x40, 1), 0xF6);
        count2(&mut p, 0x40, 4, 5);
        p.write(CTRL, 0xE2, 5);
        assert_eq!(p.read(0x40, 5), 0xF6);
        p.write(CTRL, 0xE2, 6);
        assert_eq!(p.read(0x40, 6), 0xB6);
        p.write(CTRL, 0xC2, 8); // position 2 of 4: OUT low, count reloaded to 4
        p.write(CTRL, 0xE2, 9); // status already latched: ignored
        assert_eq!(p.read(0x40, 20), 0x36);
        assert_eq!(read16(&mut p, 0x40, 20), 4);
        assert_eq!(p.read(0x43, 20), 0xFF);
    }

    // Datasheet: count 0 is 10000 in BCD; reads are BCD.
    #[test]
    fn bcd_count0_is_10000() {
        let mut p = Pit::new();
        p.write(CTRL, 0x31, 0);
        count2(&mut p, 0x40, 0, 0);
        assert_eq!(read16(&mut p, 0x40, 1), 0);
        assert_eq!(read16(&mut p, 0x40, 2), 0x9999);
        assert!(!p.out(0, 10000));
        assert_eq!(p.next_irq0_edge(0), Some(10001));
        p.write(CTRL, 0x35, 20000); // mode 2, BCD 0100h = 100, loaded at 20001
        count2(&mut p, 0x40, 0x100, 20000);
        assert_eq!(p.next_irq0_edge(20000), Some(20101));
        assert_eq!(p.next_irq0_edge(20101), Some(20201));
    }

    // Datasheet mode 3, odd N: high (N+1)/2, low (N-1)/2. N=5 loaded at 1: high 1-3, low 4-5.
    #[test]
    fn mode3_odd() {
        let mut p = Pit::new();
        p.write(CTRL, 0x36, 0);
        count2(&mut p, 0x40, 5, 0);
        assert!(p.out(0, 3) && !p.out(0, 4) && !p.out(0, 5) && p.out(0, 6));
        assert_eq!(p.next_irq0_edge(0), Some(6));
        assert_eq!(p.next_irq0_edge(6), Some(11));
        let counts: Vec<u16> = (1..7).map(|t| read16(&mut p, 0x40, t)).collect();
        assert_eq!(counts, [4, 2, 0, 4, 2, 4]);
    }

    // Datasheet mode 2: a new count takes effect at the end of the current period.
    // N=10 loaded at 1 (low at 10, 20); count 4 written at 15 loads at 21.
    #[test]
    fn mode2_rewrite_at_period_end() {
        let mut p = Pit::new();
        p.write(CTRL, 0x34, 0);
        count2(&mut p, 0x40, 10, 0);
        count2(&mut p, 0x40, 4, 15);
        assert!(!p.out(0, 20));
        assert_eq!(p.next_irq0_edge(15), Some(21));
        assert_eq!(p.next_irq0_edge(21), Some(25));
        assert_eq!(p.next_irq0_edge(25), Some(29));
    }

    // Datasheet mode 3: GATE low suspends counting and sets OUT high at once; a rising GATE
    // reloads the count on the next pulse. Counter 2's gate starts low on a PC.
    #[test]
    fn gate_mode3_channel2() {
        let mut p = Pit::new();
        assert!(!p.gate(2));
        p.write(CTRL, 0xB6, 0);
        count2(&mut p, 0x42, 4, 0);
        assert!(p.out(2, 100));
        p.set_gate(2, true, 10); // loaded at 11: high 11-12, low 13-14
        assert!(p.out(2, 12) && !p.out(2, 13));
        p.set_gate(2, false, 14);
        assert!(p.out(2, 14) && p.out(2, 100));
        p.set_gate(2, true, 100);
        assert!(p.out(2, 102) && !p.out(2, 103) && !p.out(2, 104) && p.out(2, 105));
    }

    // Datasheet mode 2: GATE low suspends counting; a trigger reloads on the next pulse and
    // OUT goes low N pulses after the trigger.
    #[test]
    fn gate_mode2_retrigger() {
        let mut p = Pit::new();
        p.set_gate(2, true, 0);
        p.write(CTRL, 0xB4, 1);
        count2(&mut p, 0x42, 3, 1);
        assert!(!p.out(2, 4) && p.out(2, 5));
        p.set_gate(2, false, 5);
        p.set_gate(2, true, 9);
        assert!(p.out(2, 10) && p.out(2, 11) && !p.out(2, 12) && p.out(2, 13));
    }

    // Datasheet mode 0 with GATE low: the count is loaded, and OUT goes high N pulses after
    // GATE goes high. Mode 1: OUT low on the pulse after a trigger, high N pulses later.
    #[test]
    fn gate_mode0_and_mode1() {
        let mut p = Pit::new();
        p.write(CTRL, 0xB0, 0);
        count2(&mut p, 0x42, 10, 0);
        p.set_gate(2, true, 20);
        assert!(!p.out(2, 29) && p.out(2, 30));
        p.set_gate(2, false, 40);
        p.write(CTRL, 0xB2, 40);
        count2(&mut p, 0x42, 5, 40);
        assert!(p.out(2, 49));
        p.set_gate(2, true, 50);
        assert!(p.out(2, 50) && !p.out(2, 51) && !p.out(2, 55) && p.out(2, 56));
        assert!(!p.gate(7) && !p.out(7, 0));
        p.set_gate(9, true, 0);
    }

    fn has_edge(p: &Pit, from: u64, to: u64) -> bool {
        (from..to).any(|t| !p.out(0, t) && p.out(0, t + 1))
    }

    // Guest-controlled values never panic; when next_irq0_edge says Some(e), e > now, it is a
    // real rising edge and no edge comes earlier (checked by scanning short spans). Clones
    // fed the same accesses stay equal.
    #[test]
    fn fuzz_never_panics_and_edges_agree() {
        let mut p = Pit::new();
        for port in 0x40..=0x43u16 {
            for v in 0..=255u8 {
                p.write(port, v, 5);
                let _ = p.read(port, 5);
            }
        }
        let mut rng = 0x1234_5678_9ABC_DEF0u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let (mut now, mut q) = (5u64, Pit::new());
        for i in 0..40_000 {
            let r = next();
            now += match r % 8 {
                0 => r >> 40,
                1..=3 => 0,
                _ => (r >> 8) % 64,
            };
            let port = if r % 97 == 0 {
                (r >> 16) as u16
            } else {
                0x40 + ((r >> 20) % 4) as u16
            };
            let v = [0, (r >> 24) as u8 & 0x0F, (r >> 24) as u8][(r >> 30) as usize % 3];
            let op = |p: &mut Pit, now| match (r >> 50) % 5 {
                0..=2 => p.write(port, v, now),
                3 => drop(p.read(port, now)),
                _ => p.set_gate((r >> 32) as usize % 4, r & 1 == 0, now),
            };
            if i == 20_000 {
                q = p.clone();
            }
            op(&mut p, now);
            if i >= 20_000 {
                op(&mut q, now);
            }
            match p.next_irq0_edge(now) {
                Some(e) => {
                    assert!(e > now);
                    assert!(!p.out(0, e - 1) && p.out(0, e));
                    if e - now < 300 {
                        assert!(!has_edge(&p, now, e - 1));
                    }
                }
                None => assert!(!has_edge(&p, now, now + 300)),
            }
        }
        assert_eq!(p, q);
        let far = u64::MAX - 2;
        p.write(CTRL, 0x34, far);
        count2(&mut p, 0x40, 2, far);
        assert_eq!(p.next_irq0_edge(far), None);
        let _ = p.read(0x40, u64::MAX);
    }

    // State is plain data: Serialize + Deserialize, and Clone/PartialEq see every field.
    #[test]
    fn serde_round_trip_via_clone() {
        fn is_serde<T: Serialize + for<'de> Deserialize<'de>>(_: &T) {}
        let mut p = Pit::new();
        p.write(CTRL, 0x36, 0);
        count2(&mut p, 0x40, 0, 1);
        is_serde(&p);
        let mut q = p.clone();
        assert_eq!(p, q);
        q.set_gate(2, true, 5);
        assert_ne!(p, q);
        assert_eq!(Pit::default(), Pit::new());
    }
}
