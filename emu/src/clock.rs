//! Guest time derived from the one clock (DESIGN.md section 2).
//!
//! The machine's only clock is the *tick*: one retired instruction (or REP iteration), plus
//! ticks skipped while halted. Everything time-like the guest can observe is derived from
//! ticks with exact integer arithmetic at a configured rate, never with floats:
//!
//! - guest seconds: `tick / ticks_per_second`;
//! - the 8254's input clock, 1,193,182 Hz on the PC (the 14.31818 MHz crystal divided by 12,
//!   rounded as DESIGN.md fixes it): `pit_clocks(tick) = floor(tick * 1,193,182 / rate)`.
//!
//! The conversions back (the first tick at which a PIT clock count is reached) are the exact
//! inverses, so a device that schedules "PIT clock N" gets the earliest tick whose derived
//! PIT time is at least N, and asking again at that tick agrees.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Input clock of the 8254 on the PC, in Hz.
pub const PIT_HZ: u64 = 1_193_182;

/// The default rate: 25 million ticks per second, about a 25 MHz 386 retiring one
/// instruction per cycle. Part of the machine configuration and of a trace's header.
pub const DEFAULT_TICKS_PER_SECOND: u64 = 25_000_000;

/// A rejected clock configuration.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClockError {
    #[error("the tick rate must be at least 1 tick per second")]
    ZeroRate,
}

/// How many ticks make a second of guest time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct TickRate {
    ticks_per_second: u64,
}

impl TryFrom<u64> for TickRate {
    type Error = ClockError;
    fn try_from(ticks_per_second: u64) -> Result<TickRate, ClockError> {
        TickRate::new(ticks_per_second)
    }
}

impl From<TickRate> for u64 {
    fn from(rate: TickRate) -> u64 {
        rate.ticks_per_second
    }
}

impl Default for TickRate {
    fn default() -> TickRate {
        TickRate {
            ticks_per_second: DEFAULT_TICKS_PER_SECOND,
        }
    }
}

/// `a * b / c` rounded down, saturating at `u64::MAX`.
fn mul_div_floor(a: u64, b: u64, c: u64) -> u64 {
    u64::try_from(u128::from(a) * u128::from(b) / u128::from(c)).unwrap_or(u64::MAX)
}

/// `a * b / c` rounded up, saturating at `u64::MAX`.
fn mul_div_ceil(a: u64, b: u64, c: u64) -> u64 {
    u64::try_from((u128::from(a) * u128::from(b)).div_ceil(u128::from(c))).unwrap_or(u64::MAX)
}

impl TickRate {
    /// A rate of `ticks_per_second` (at least 1).
    pub fn new(ticks_per_second: u64) -> Result<TickRate, ClockError> {
        if ticks_per_second == 0 {
            return Err(ClockError::ZeroRate);
        }
        Ok(TickRate { ticks_per_second })
    }

    pub fn ticks_per_second(self) -> u64 {
        self.ticks_per_second
    }

    /// PIT input clocks elapsed at `tick` (rounded down).
    pub fn pit_clocks(self, tick: u64) -> u64 {
        mul_div_floor(tick, PIT_HZ, self.ticks_per_second)
    }

    /// The first tick at which [`TickRate::pit_clocks`] reaches `clocks`.
    pub fn tick_of_pit_clock(self, clocks: u64) -> u64 {
        mul_div_ceil(clocks, self.ticks_per_second, PIT_HZ)
    }

    /// Cycles of a `hz` oscillator elapsed at `tick` (rounded down), for devices with a
    /// crystal of their own (the MC146818's 32,768 Hz time base).
    pub fn clocks_at(self, hz: u64, tick: u64) -> u64 {
        mul_div_floor(tick, hz, self.ticks_per_second)
    }

    /// The first tick at which [`TickRate::clocks_at`] reaches `clocks`.
    pub fn tick_of_clocks(self, hz: u64, clocks: u64) -> u64 {
        mul_div_ceil(clocks, self.ticks_per_second, hz)
    }

    /// Guest time at `tick` as whole seconds and nanoseconds (rounded down).
    pub fn guest_time(self, tick: u64) -> (u64, u32) {
        let secs = tick / self.ticks_per_second;
        let rest = tick % self.ticks_per_second;
        // rest < rate, so the nanoseconds are below 10^9 and fit a u32.
        let nanos = mul_div_floor(rest, 1_000_000_000, self.ticks_per_second);
        (secs, u32::try_from(nanos).unwrap_or(999_999_999))
    }

    /// The first tick at or after guest time `secs` + `nanos`.
    pub fn tick_of_time(self, secs: u64, nanos: u32) -> u64 {
        let whole = secs.saturating_mul(self.ticks_per_second);
        whole.saturating_add(mul_div_ceil(
            u64::from(nanos),
            self.ticks_per_second,
            1_000_000_000,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_rate_is_rejected() {
        assert_eq!(TickRate::new(0), Err(ClockError::ZeroRate));
        assert!(serde_json::from_str::<TickRate>("0").is_err());
        assert_eq!(
            serde_json::from_str::<TickRate>("1000").ok(),
            TickRate::new(1000).ok()
        );
    }

    #[test]
    fn one_second_of_ticks_is_one_second_of_pit_clocks() {
        // At any rate, `rate` ticks are one second: exactly 1,193,182 PIT clocks.
        for rate in [1, 1_000, 1_193_182, 4_772_728, 25_000_000, 1 << 40] {
            let r = TickRate::new(rate).unwrap();
            assert_eq!(r.pit_clocks(rate), PIT_HZ, "rate {rate}");
            assert_eq!(r.pit_clocks(3 * rate), 3 * PIT_HZ, "rate {rate}");
        }
    }

    #[test]
    fn pit_clocks_round_down() {
        // 25 MHz: one PIT clock is 25,000,000 / 1,193,182 = 20.95... ticks.
        let r = TickRate::new(25_000_000).unwrap();
        assert_eq!(r.pit_clocks(20), 0);
        assert_eq!(r.pit_clocks(21), 1); // 21 * 1193182 / 25e6 = 1.0022...
        // 18.2 Hz timer: 65,536 PIT clocks = 65,536 * 25e6 / 1,193,182 = 1,373,135.03 ticks.
        assert_eq!(r.tick_of_pit_clock(65_536), 1_373_136);
        assert_eq!(r.pit_clocks(1_373_135), 65_535);
        assert_eq!(r.pit_clocks(1_373_136), 65_536);
    }

    #[test]
    fn tick_of_pit_clock_is_the_exact_inverse() {
        // For every PIT count c: the returned tick t is the first with pit_clocks(t) >= c.
        for rate in [
            1_000, 1_193_181, 1_193_182, 1_193_183, 25_000_000, 33_333_333,
        ] {
            let r = TickRate::new(rate).unwrap();
            for c in (0..5_000u64).chain([65_536, 1 << 32, 1 << 40]) {
                let t = r.tick_of_pit_clock(c);
                assert!(r.pit_clocks(t) >= c, "rate {rate} c {c}");
                assert!(t == 0 || r.pit_clocks(t - 1) < c, "rate {rate} c {c}");
            }
        }
    }

    #[test]
    fn guest_time_is_exact() {
        let r = TickRate::new(3).unwrap();
        // 3 ticks per second: tick 4 is 1 s + 1/3 s = 1.333333333 s.
        assert_eq!(r.guest_time(4), (1, 333_333_333));
        assert_eq!(r.tick_of_time(1, 333_333_333), 4);
        assert_eq!(r.tick_of_time(1, 333_333_334), 5);
        assert_eq!(r.tick_of_time(2, 0), 6);
    }

    #[test]
    fn huge_values_saturate_instead_of_overflowing() {
        let r = TickRate::new(1).unwrap();
        assert_eq!(r.pit_clocks(u64::MAX), u64::MAX);
        assert_eq!(r.tick_of_time(u64::MAX, 999_999_999), u64::MAX);
        assert_eq!(
            TickRate::new(u64::MAX).unwrap().tick_of_pit_clock(u64::MAX),
            u64::MAX
        );
    }
}
