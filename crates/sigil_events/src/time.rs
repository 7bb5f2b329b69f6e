//! Timestamp parsing for event times.

use jiff::Timestamp;

use crate::Value;

/// The timestamp a field value stands for.
///
/// Strings: RFC 3339 / ISO 8601 (`2024-05-01T10:00:00.1234567Z`, `...+02:00`), or
/// `YYYY-MM-DD HH:MM:SS[.fff]` (no offset means UTC, as in Sysmon's `UtcTime`), or a decimal
/// epoch number. Numbers are epoch seconds, milliseconds, microseconds or nanoseconds,
/// told apart by magnitude (below 1e11 seconds, below 1e14 milliseconds, below 1e17
/// microseconds, else nanoseconds).
pub(crate) fn timestamp_of(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Str(s) => parse_timestamp(s),
        Value::Int(i) => from_epoch(*i as f64),
        Value::Float(f) => from_epoch(*f),
        _ => None,
    }
}

/// Parse a timestamp string (see [`timestamp_of`]).
pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Some(ts) = parse_fast(s.as_bytes()) {
        return Some(ts);
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return s.parse::<f64>().ok().and_then(from_epoch);
    }
    None
}

fn from_epoch(n: f64) -> Option<Timestamp> {
    if !n.is_finite() {
        return None;
    }
    let magnitude = n.abs();
    let nanos_per_unit = if magnitude < 1e11 {
        1e9
    } else if magnitude < 1e14 {
        1e6
    } else if magnitude < 1e17 {
        1e3
    } else {
        1.0
    };
    let nanos = n * nanos_per_unit;
    // Beyond ±2^95 ns there is no representable timestamp anyway.
    if nanos.abs() >= 3.9e28 {
        return None;
    }
    Timestamp::from_nanosecond(nanos.round() as i128).ok()
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM|+HHMM]`, the shapes EVTX and most
/// exporters write, without going through a general parser.
fn parse_fast(b: &[u8]) -> Option<Timestamp> {
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut pos = 19;
    let mut nanos: i64 = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while let Some(d) = b.get(pos).filter(|d| d.is_ascii_digit()) {
            if pos - start < 9 {
                nanos = nanos * 10 + i64::from(d - b'0');
            }
            pos += 1;
        }
        let count = pos - start;
        if count == 0 {
            return None;
        }
        for _ in count..9 {
            nanos *= 10;
        }
    }
    let offset_seconds = match b.get(pos..)? {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _, b':', _, _] | [_, _, _, _] => {
                    (digits(rest, 0, 2)?, digits(rest, if rest.len() == 5 { 3 } else { 2 }, 2)?)
                }
                [_, _] => (digits(rest, 0, 2)?, 0),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let offset = h * 3600 + m * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Timestamp::new(seconds, i32::try_from(nanos).ok()?).ok()
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let slice = b.get(at..at + n)?;
    let mut out = 0i64;
    for d in slice {
        if !d.is_ascii_digit() {
            return None;
        }
        out = out * 10 + i64::from(d - b'0');
    }
    Some(out)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn evtx_and_sysmon_shapes() {
        assert_eq!(parse_timestamp("2025-12-06T21:11:02.6491508Z"), Some(ts("2025-12-06T21:11:02.6491508Z")));
        assert_eq!(parse_timestamp("2026-04-20T10:00:35.646624Z"), Some(ts("2026-04-20T10:00:35.646624Z")));
        assert_eq!(parse_timestamp("2026-04-20 10:00:35.640"), Some(ts("2026-04-20T10:00:35.64Z")));
        assert_eq!(parse_timestamp("2026-04-20 10:00:35"), Some(ts("2026-04-20T10:00:35Z")));
        assert_eq!(parse_timestamp("2021-11-19T16:52:33.833733500Z"), Some(ts("2021-11-19T16:52:33.8337335Z")));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_timestamp("2024-01-01T02:00:00+02:00"), Some(ts("2024-01-01T00:00:00Z")));
        assert_eq!(parse_timestamp("2024-01-01T00:00:00-0130"), Some(ts("2024-01-01T01:30:00Z")));
        assert_eq!(parse_timestamp("2024-01-01T00:00:00.5+01"), Some(ts("2023-12-31T23:00:00.5Z")));
    }

    #[test]
    fn calendar_edges() {
        assert_eq!(parse_timestamp("2024-02-29T00:00:00Z"), Some(ts("2024-02-29T00:00:00Z")));
        assert_eq!(parse_timestamp("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some(ts("1969-12-31T23:59:59Z")));
        assert_eq!(parse_timestamp("1601-01-01T00:00:00Z"), Some(ts("1601-01-01T00:00:00Z")));
        assert_eq!(parse_timestamp("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_timestamp("2024-01-01T24:00:00Z"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp(""), None);
        assert_eq!(parse_timestamp("2024-01-01T00:00:00."), None);
    }

    #[test]
    fn epoch_numbers() {
        let second = ts("2023-11-14T22:13:20Z");
        assert_eq!(timestamp_of(&Value::Int(1_700_000_000)), Some(second));
        assert_eq!(timestamp_of(&Value::Int(1_700_000_000_000)), Some(second));
        assert_eq!(timestamp_of(&Value::Int(1_700_000_000_000_000)), Some(second));
        assert_eq!(timestamp_of(&Value::Int(1_700_000_000_000_000_000)), Some(second));
        assert_eq!(timestamp_of(&Value::Float(1_700_000_000.5)), Some(ts("2023-11-14T22:13:20.5Z")));
        assert_eq!(timestamp_of(&Value::from("1700000000")), Some(second));
        assert_eq!(timestamp_of(&Value::Float(f64::NAN)), None);
        assert_eq!(timestamp_of(&Value::Bool(true)), None);
    }
}
