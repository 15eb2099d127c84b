//! Times as the apiserver reads and writes them: `metav1.MicroTime` parsing with Go's
//! `time.Parse` rules and error texts for the layout `2006-01-02T15:04:05.000000Z07:00`, and
//! RFC 3339 output (6 fractional digits for MicroTime, whole seconds for `metav1.Time`).

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Go's `RFC3339Micro` layout, as error messages show it.
pub(crate) const LAYOUT: &str = "2006-01-02T15:04:05.000000Z07:00";

/// Parses a MicroTime string; the error is Go's `time.ParseError` text.
pub(crate) fn parse_micro(value: &str) -> Result<OffsetDateTime, String> {
    GoParse { full: value }.run()
}

/// Formats as MicroTime: UTC, exactly 6 fractional digits, `Z`.
pub(crate) fn format_micro(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Formats as `metav1.Time`: UTC, whole seconds, `Z`.
pub(crate) fn format_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether `t` is Go's zero time (`0001-01-01T00:00:00Z`), which MicroTime writes as `null`.
pub(crate) fn is_go_zero(t: OffsetDateTime) -> bool {
    t.unix_timestamp() == -62_135_596_800 && t.nanosecond() == 0
}

/// Go's `time.quote`: non-ASCII and control bytes as `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if !c.is_ascii() || (c as u32) < 0x20 {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// One parse of `full` against [`LAYOUT`].
struct GoParse<'a> {
    full: &'a str,
}

/// A layout element: the literal before it, and the element itself.
#[derive(Clone, Copy)]
enum Elem {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Frac6,
    ZoneColon,
}

const CHUNKS: [(&str, Elem, &str); 8] = [
    ("", Elem::Year, "2006"),
    ("-", Elem::Month, "01"),
    ("-", Elem::Day, "02"),
    ("T", Elem::Hour, "15"),
    (":", Elem::Minute, "04"),
    (":", Elem::Second, "05"),
    ("", Elem::Frac6, ".000000"),
    ("", Elem::ZoneColon, "Z07:00"),
];

/// Go's `getnum`: one or two digits (`fixed`: exactly two).
fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() < 2 || !b[1].is_ascii_digit() {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &s[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &s[2..],
    ))
}

/// Go's `atoi`: optional sign, then only digits.
fn atoi(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if neg { -n } else { n })
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl GoParse<'_> {
    fn cannot(&self, value_elem: &str, layout_elem: &str) -> String {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            time_quote(self.full),
            time_quote(LAYOUT),
            time_quote(value_elem),
            time_quote(layout_elem)
        )
    }

    fn message(&self, msg: &str) -> String {
        format!("parsing time {}{msg}", time_quote(self.full))
    }

    fn run(&self) -> Result<OffsetDateTime, String> {
        let mut value = self.full;
        let (mut year, mut month, mut day, mut hour, mut min, mut sec) = (0, 0, 0, 0, 0, 0);
        let mut nsec = 0i64;
        let mut offset = 0i64;
        for (prefix, elem, stdstr) in CHUNKS {
            let Some(rest) = value.strip_prefix(prefix) else {
                // Go's skip() stops at the first mismatching byte but reports what is left.
                return Err(self.cannot(value, prefix));
            };
            value = rest;
            let hold = value;
            let mut range: Option<&str> = None;
            let ok: Option<()> = (|| {
                match elem {
                    Elem::Year => {
                        if value.len() < 4 || !value.as_bytes()[0].is_ascii_digit() {
                            return None;
                        }
                        let p = value.get(0..4)?;
                        value = &value[4..];
                        year = atoi(p)?;
                    }
                    Elem::Month => {
                        let (n, r) = getnum(value, true)?;
                        (month, value) = (n, r);
                        if !(1..=12).contains(&month) {
                            range = Some("month");
                        }
                    }
                    Elem::Day => {
                        let (n, r) = getnum(value, true)?;
                        (day, value) = (n, r);
                    }
                    Elem::Hour => {
                        let (n, r) = getnum(value, false)?;
                        (hour, value) = (n, r);
                        if hour >= 24 {
                            range = Some("hour");
                        }
                    }
                    Elem::Minute => {
                        let (n, r) = getnum(value, true)?;
                        (min, value) = (n, r);
                        if min >= 60 {
                            range = Some("minute");
                        }
                    }
                    Elem::Second => {
                        let (n, r) = getnum(value, true)?;
                        (sec, value) = (n, r);
                        if sec >= 60 {
                            range = Some("second");
                        }
                    }
                    Elem::Frac6 => {
                        if value.len() < 7 || !matches!(value.as_bytes()[0], b'.' | b',') {
                            return None;
                        }
                        let digits = value.get(1..7)?;
                        nsec = atoi(digits)?;
                        if nsec < 0 {
                            range = Some("fractional second");
                        }
                        nsec *= 1000;
                        value = &value[7..];
                    }
                    Elem::ZoneColon => {
                        if let Some(r) = value.strip_prefix('Z') {
                            value = r;
                            return Some(());
                        }
                        if value.len() < 6 || value.as_bytes()[3] != b':' {
                            return None;
                        }
                        let sign = value.as_bytes()[0];
                        let hh = value.get(1..3)?;
                        let mm = value.get(4..6)?;
                        value = &value[6..];
                        let (hr, _) = getnum(hh, true)?;
                        let (mi, _) = getnum(mm, true)?;
                        if hr > 24 {
                            range = Some("time zone offset hour");
                        }
                        if mi > 60 {
                            range = Some("time zone offset minute");
                        }
                        offset = (hr * 60 + mi) * 60;
                        match sign {
                            b'+' => {}
                            b'-' => offset = -offset,
                            _ => return None,
                        }
                    }
                }
                Some(())
            })();
            if let Some(what) = range {
                return Err(self.message(&format!(": {what} out of range")));
            }
            if ok.is_none() {
                return Err(self.cannot(hold, stdstr));
            }
        }
        if !value.is_empty() {
            return Err(self.message(&format!(": extra text: {}", time_quote(value))));
        }
        if day < 1 || day > days_in(month, year) {
            return Err(self.message(": day out of range"));
        }
        let out_of_range = || self.message(": year out of range");
        let month = Month::try_from(month as u8).map_err(|_| out_of_range())?;
        let date =
            Date::from_calendar_date(year as i32, month, day as u8).map_err(|_| out_of_range())?;
        let time = Time::from_hms_nano(hour as u8, min as u8, sec as u8, nsec as u32)
            .map_err(|_| out_of_range())?;
        let local = PrimitiveDateTime::new(date, time).assume_utc();
        local
            .checked_sub(Duration::seconds(offset))
            .ok_or_else(out_of_range)
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = parse_micro("2025-03-01T12:00:00.000001+01:00").unwrap();
        assert_eq!(format_micro(t), "2025-03-01T11:00:00.000001Z");
        assert_eq!(format_seconds(t), "2025-03-01T11:00:00Z");
        assert!(is_go_zero(
            parse_micro("0001-01-01T00:00:00.000000Z").unwrap()
        ));
    }

    #[test]
    fn errors_read_like_go() {
        assert_eq!(
            parse_micro("2026-08-11T19:37:19.103Z").unwrap_err(),
            "parsing time \"2026-08-11T19:37:19.103Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \".103Z\" as \".000000\""
        );
        assert_eq!(
            parse_micro("2026-08-11T19:37:19Z").unwrap_err(),
            "parsing time \"2026-08-11T19:37:19Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as \".000000\""
        );
        assert_eq!(
            parse_micro("2026-08-11T19:37:19.123456789Z").unwrap_err(),
            "parsing time \"2026-08-11T19:37:19.123456789Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"789Z\" as \"Z07:00\""
        );
        assert_eq!(
            parse_micro("2026-13-11T19:37:19.123456Z").unwrap_err(),
            "parsing time \"2026-13-11T19:37:19.123456Z\": month out of range"
        );
        assert_eq!(
            parse_micro("2026-02-30T19:37:19.123456Z").unwrap_err(),
            "parsing time \"2026-02-30T19:37:19.123456Z\": day out of range"
        );
        assert_eq!(
            parse_micro("2026-02-03T19:37:19.123456Zjunk").unwrap_err(),
            "parsing time \"2026-02-03T19:37:19.123456Zjunk\": extra text: \"junk\""
        );
        assert_eq!(
            parse_micro("").unwrap_err(),
            "parsing time \"\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"\" as \"2006\""
        );
    }
}
