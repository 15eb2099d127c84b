//! Kubernetes `MicroTime`: microseconds since the Unix epoch, written as
//! `2006-01-02T15:04:05.000000Z` and read from any RFC 3339 form a server may send.

use crate::prelude::*;

use core::fmt;

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::go_json::quoted;

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

impl MicroTime {
    /// The time `unix_micros` microseconds after the epoch.
    pub const fn from_unix_micros(unix_micros: i64) -> Self {
        Self { unix_micros }
    }

    /// The calendar date and time (UTC), or an error outside the years 0000-9999 (RFC 3339,
    /// and so every Kubernetes server, cannot represent those).
    fn utc(self) -> Result<OffsetDateTime, TimeError> {
        let outside = || {
            TimeError(format!(
                "time {} µs after the epoch is outside the years 0000-9999",
                self.unix_micros
            ))
        };
        let nanos = i128::from(self.unix_micros) * 1_000;
        let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| outside())?;
        if t.year() < 0 {
            return Err(outside());
        }
        Ok(t)
    }

    /// `YYYY-MM-DDTHH:MM:SS`, written from the date's parts.
    fn write_seconds(t: OffsetDateTime) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// The wire form of a Lease time: UTC with exactly six fractional digits,
    /// e.g. `2026-01-02T03:04:05.000006Z`, as Go's `RFC3339Micro` layout writes it.
    pub fn to_rfc3339_micros(self) -> Result<String, TimeError> {
        let t = self.utc()?;
        Ok(format!(
            "{}.{:06}Z",
            Self::write_seconds(t),
            t.microsecond()
        ))
    }

    /// The wire form of a `metav1.Time` (e.g. creationTimestamp): UTC, whole seconds.
    pub fn to_rfc3339_seconds(self) -> Result<String, TimeError> {
        Ok(format!("{}Z", Self::write_seconds(self.utc()?)))
    }

    /// Parses any RFC 3339 timestamp (any number of fractional digits, `Z` or an offset,
    /// `T`, `t` or a space between date and time); digits beyond the microsecond are
    /// truncated towards the past.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let invalid = || TimeError(format!("{} is not an RFC 3339 time", quoted(text)));
        let b = text.as_bytes();
        // The `time` crate takes any byte between date and time; RFC 3339 allows T, t or space.
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return Err(invalid());
        }
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| invalid())?;
        let micros = t.unix_timestamp_nanos().div_euclid(1_000);
        let micros = i64::try_from(micros).map_err(|_| invalid())?;
        Ok(Self::from_unix_micros(micros))
    }
}

impl Serialize for MicroTime {
    /// The six-digit wire form; a time outside the years 0000-9999 cannot be written.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.to_rfc3339_micros().map_err(S::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for MicroTime {
    /// Any RFC 3339 string.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(D::Error::custom)
    }
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
