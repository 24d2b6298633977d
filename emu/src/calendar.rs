//! The proleptic Gregorian calendar: [`DateTime`] and its conversion to and from seconds
//! since 1970-01-01 00:00:00 (no time zones, no leap seconds).
//!
//! Shared by the MC146818 real-time clock (`devices/rtc.rs`), which counts seconds, and the
//! firmware, which shows them as dates; the configured boot time of a scenario is a
//! [`DateTime`].

use serde::{Deserialize, Serialize};

/// A calendar date and time of day (the guest's wall clock; no time zones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Default for DateTime {
    /// 1994-01-01 00:00:00, the date in the ROM.
    fn default() -> DateTime {
        DateTime {
            year: 1994,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }
}

impl DateTime {
    pub fn seconds_of_day(&self) -> u32 {
        self.hour * 3600 + self.minute * 60 + self.second
    }

    /// Seconds since 1970-01-01 00:00:00 (days from the civil calendar, proleptic
    /// Gregorian; the algorithm of H. Hinnant's `days_from_civil`).
    pub fn to_unix(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + i64::from(self.seconds_of_day())
    }

    /// The inverse of [`DateTime::to_unix`].
    pub fn from_unix(secs: i64) -> DateTime {
        let days = secs.div_euclid(86_400);
        let rest = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        DateTime {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
        }
    }

    /// Day of the week, 0 = Sunday (1970-01-01 was a Thursday).
    pub fn weekday(&self) -> u8 {
        (self.to_unix().div_euclid(86_400) + 4).rem_euclid(7) as u8
    }
}

/// Days in `month` (1-12) of `year`, Gregorian leap years.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips_and_matches_known_dates() {
        // 2000-03-01 is day 11,017 after 1970-01-01; 1994-01-01 was a Saturday.
        let d = DateTime {
            year: 2000,
            month: 3,
            day: 1,
            ..DateTime::default()
        };
        assert_eq!(d.to_unix(), 11_017 * 86_400);
        assert_eq!(DateTime::default().weekday(), 6);
        assert_eq!(DateTime::default().to_unix(), 757_382_400);
        for s in (0..4_000_000_000i64).step_by(86_400 * 37 + 3_601) {
            assert_eq!(DateTime::from_unix(s).to_unix(), s);
        }
    }
}
