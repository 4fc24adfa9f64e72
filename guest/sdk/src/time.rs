//! Calendar arithmetic on the WIT value encoding (days and microseconds
//! since the Unix epoch), for drivers that must read or write dates as text.

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date; `None` for an impossible date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DD` (years before 1 written as ISO 8601 with a sign).
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!("{y:+05}-{m:02}-{d:02}")
    }
}

/// `HH:MM:SS[.ffffff]` of microseconds since midnight.
pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (h, mi, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if frac == 0 {
        format!("{h:02}:{mi:02}:{s:02}")
    } else {
        let f = format!("{frac:06}");
        format!("{h:02}:{mi:02}:{s:02}.{}", f.trim_end_matches('0'))
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]` of microseconds since the epoch.
pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rest = micros.rem_euclid(MICROS_PER_DAY);
    format!("{}T{}", format_date(days), format_time(rest))
}

/// A date value (days since the epoch, `i32` extremes for ∓infinity) as
/// ISO 8601 text or `infinity`/`-infinity`.
pub fn format_date_value(days: i32) -> String {
    match days {
        i32::MIN => "-infinity".into(),
        i32::MAX => "infinity".into(),
        d => format_date(i64::from(d)),
    }
}

/// A timestamp value (µs since the epoch, `i64` extremes for ∓infinity)
/// as ISO 8601 text: `YYYY-MM-DD HH:MM:SS[.ffffff]`, or with `T` and `Z`
/// when `utc`; `infinity`/`-infinity`.
pub fn format_timestamp_value(micros: i64, utc: bool) -> String {
    match micros {
        i64::MIN => "-infinity".into(),
        i64::MAX => "infinity".into(),
        us => {
            let days = us.div_euclid(MICROS_PER_DAY);
            let rest = us.rem_euclid(MICROS_PER_DAY);
            let (sep, zone) = if utc { ('T', "Z") } else { (' ', "") };
            format!("{}{sep}{}{zone}", format_date(days), format_time(rest))
        }
    }
}

/// The hyphenated lower-case form of a UUID's 16 bytes.
pub fn format_uuid(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let mut parts = body.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok().filter(|y: &i64| y.abs() <= 294_276)?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    days_from_civil(if neg { -y } else { y }, m, d)
}

/// Parses `HH:MM[:SS[.ffffff]]` into microseconds since midnight.
pub fn parse_time(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let (sec, frac) = match parts.next() {
        None => (0, 0),
        Some(rest) => {
            let (whole, frac) = rest.split_once('.').unwrap_or((rest, ""));
            if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let frac_us = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<6}").parse::<i64>().ok()?
            };
            (whole.parse::<i64>().ok()?, frac_us)
        }
    };
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || !(0..=60).contains(&sec) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + frac)
}

/// Parses `YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]]`, with an optional `Z` or
/// `±HH[:MM]` offset which is applied (the result is UTC when one is given).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(['T', ' ']).unwrap_or(s.len());
    let days = parse_date(&s[..split])?;
    let rest = s.get(split + 1..).unwrap_or("");
    if rest.is_empty() {
        return days.checked_mul(MICROS_PER_DAY);
    }
    let (time, offset_us) = split_offset(rest)?;
    days.checked_mul(MICROS_PER_DAY)?
        .checked_add(parse_time(time)?)?
        .checked_sub(offset_us)
}

fn split_offset(s: &str) -> Option<(&str, i64)> {
    if let Some(t) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return Some((t, 0));
    }
    match s.rfind(['+', '-']) {
        Some(i) if i > 0 => {
            let (t, off) = s.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let off = &off[1..];
            if !off.is_ascii() {
                return None;
            }
            let (h, m) = match off.split_once(':') {
                Some((h, m)) => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?),
                None if off.len() == 4 => (off[..2].parse().ok()?, off[2..].parse().ok()?),
                None => (off.parse().ok()?, 0),
            };
            Some((t.trim_end(), sign * (h * 3600 + m * 60) * 1_000_000))
        }
        _ => Some((s, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_468i64, -1, 0, 1, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 30), None);
    }

    #[test]
    fn formats_and_parses() {
        assert_eq!(format_date(19_723), "2024-01-01");
        assert_eq!(format_time(45_296_500_000), "12:34:56.5");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999999");
        assert_eq!(parse_date("2024-01-01"), Some(19_723));
        assert_eq!(parse_time("12:34:56.5"), Some(45_296_500_000));
        assert_eq!(parse_timestamp("1970-01-01 01:00:00+01:00"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(parse_timestamp("2024-13-01 00:00"), None);
        assert_eq!(
            parse_timestamp("2024-01-01 00:00+é1"),
            None,
            "non-ASCII offsets do not panic"
        );
        assert_eq!(
            parse_timestamp("99999999-01-01 00:00"),
            None,
            "out of range, no overflow"
        );
    }
}
