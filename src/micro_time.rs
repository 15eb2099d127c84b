//! Kubernetes `MicroTime`: microseconds since the Unix epoch, written as
//! `2006-01-02T15:04:05.000000Z` and read from any RFC 3339 form a server may send.

use crate::prelude::*;

use crate::go_json::quoted;
use core::fmt;

/// A point in time with microsecond precision, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MicroTime {
    /// Microseconds since 1970-01-01T00:00:00Z; negative before it.
    pub unix_micros: i64,
}

/// Why a string is not a MicroTime, or a MicroTime cannot be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl MicroTime {
    /// The time `unix_micros` microseconds after the epoch.
    pub const fn from_unix_micros(unix_micros: i64) -> Self {
        Self { unix_micros }
    }

    /// `YYYY-MM-DDTHH:MM:SS` and the microsecond, or an error outside the years 0000-9999
    /// (RFC 3339, and so every Kubernetes server, cannot represent those).
    fn civil(self) -> Result<(String, i64), TimeError> {
        let days = self.unix_micros.div_euclid(MICROS_PER_DAY);
        let in_day = self.unix_micros.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return Err(TimeError(format!(
                "time {} µs after the epoch is outside the years 0000-9999",
                self.unix_micros
            )));
        }
        let secs = in_day / 1_000_000;
        let text = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        Ok((text, in_day % 1_000_000))
    }

    /// The wire form of a Lease time: UTC with exactly six fractional digits,
    /// e.g. `2026-01-02T03:04:05.000006Z`, as Go's `RFC3339Micro` layout writes it.
    pub fn to_rfc3339_micros(self) -> Result<String, TimeError> {
        let (text, micros) = self.civil()?;
        Ok(format!("{text}.{micros:06}Z"))
    }

    /// The wire form of a `metav1.Time` (e.g. creationTimestamp): UTC, whole seconds.
    pub fn to_rfc3339_seconds(self) -> Result<String, TimeError> {
        Ok(format!("{}Z", self.civil()?.0))
    }

    /// Parses any RFC 3339 timestamp (any number of fractional digits, `Z` or an offset,
    /// `T`, `t` or a space between date and time); digits beyond the microsecond are
    /// truncated.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        parse_rfc3339(text.as_bytes())
            .map(Self::from_unix_micros)
            .ok_or_else(|| TimeError(format!("{} is not an RFC 3339 time", quoted(text))))
    }
}

/// `YYYY-MM-DD(T|t| )HH:MM:SS[.f+](Z|z|±HH:MM)` as microseconds since the epoch.
fn parse_rfc3339(b: &[u8]) -> Option<i64> {
    let num = |range: core::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0;
    if at(i, b".") {
        i += 1;
        let start = i;
        while at(i, b"0123456789") {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        micros *= 10i64.pow(6u32.saturating_sub((i - start) as u32));
    }
    let offset_minutes = match b.get(i)? {
        b'Z' | b'z' if b.len() == i + 1 => 0,
        sign @ (b'+' | b'-') if b.len() == i + 6 && at(i + 3, b":") => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'-' {
                -(h * 60 + m)
            } else {
                h * 60 + m
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    Some(seconds * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> MicroTime {
        MicroTime::parse(s).unwrap()
    }

    #[test]
    fn writes_six_fractional_digits_utc() {
        let m = MicroTime::from_unix_micros(1_767_323_045_000_006);
        assert_eq!(
            m.to_rfc3339_micros().unwrap(),
            "2026-01-02T03:04:05.000006Z"
        );
        assert_eq!(
            MicroTime::from_unix_micros(0).to_rfc3339_micros().unwrap(),
            "1970-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn writes_whole_seconds_for_metav1_time() {
        let m = MicroTime::from_unix_micros(1_767_323_045_999_999);
        assert_eq!(m.to_rfc3339_seconds().unwrap(), "2026-01-02T03:04:05Z");
    }

    #[test]
    fn round_trips_through_the_wire_form() {
        for micros in [
            0,
            1,
            999_999,
            1_767_323_045_123_456,
            -1,
            -1_000_001,
            253_402_300_799_999_999,
        ] {
            let m = MicroTime::from_unix_micros(micros);
            let text = m.to_rfc3339_micros().unwrap();
            assert_eq!(MicroTime::parse(&text).unwrap(), m, "{text}");
        }
    }

    #[test]
    fn before_the_epoch_floors_to_the_microsecond() {
        assert_eq!(
            MicroTime::from_unix_micros(-1).to_rfc3339_micros().unwrap(),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(t("1969-12-31T23:59:59.9999995Z").unix_micros, -1);
    }

    #[test]
    fn parses_leniently() {
        let base = t("2026-08-11T19:37:19.000000Z");
        assert_eq!(t("2026-08-11T19:37:19Z"), base);
        assert_eq!(
            t("2026-08-11T19:37:19.103Z").unix_micros,
            base.unix_micros + 103_000
        );
        assert_eq!(
            t("2026-08-11T19:37:19.123456789Z").unix_micros,
            base.unix_micros + 123_456
        );
        assert_eq!(t("2026-08-11T21:37:19+02:00"), base);
        assert_eq!(t("2026-08-11T14:37:19.000000-05:00"), base);
        assert_eq!(t("2026-08-11t19:37:19z"), base);
        // RFC 3339 section 5.6 lets a space stand for the T.
        assert_eq!(t("2026-08-11 19:37:19Z"), base);
        assert_eq!(t("2024-02-29T00:00:00Z").unix_micros, 1_709_164_800_000_000);
        assert_eq!(
            t("0000-01-01T00:00:00Z").unix_micros,
            -62_167_219_200_000_000
        );
        assert_eq!(
            t("9999-12-31T23:59:59.999999Z").unix_micros,
            253_402_300_799_999_999
        );
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in [
            "",
            "2026-08-11",
            "19:37:19",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-08-11T24:00:00Z",
            "2026-08-11T19:60:00Z",
            "2026-08-11T19:37:60Z",
            "2026-08-11T19:37:19.Z",
            "2026-08-11T19:37:19+2:00",
            "2026-08-11T19:37:19+24:00",
            "2026-08-11T19:37:19Zjunk",
            "２026-08-11T19:37:19Z",
            "now",
            "2026-08-11T19:37:19",
        ] {
            let err = MicroTime::parse(bad).unwrap_err();
            assert!(err.0.contains("RFC 3339"), "{bad}: {err}");
        }
    }

    #[test]
    fn refuses_to_write_years_outside_rfc3339() {
        for micros in [
            i64::MAX,
            i64::MIN,
            -62_167_219_200_000_001,
            253_402_300_800_000_000,
        ] {
            let err = MicroTime::from_unix_micros(micros)
                .to_rfc3339_micros()
                .unwrap_err();
            assert!(err.0.contains("0000-9999"), "{err}");
        }
    }
}
