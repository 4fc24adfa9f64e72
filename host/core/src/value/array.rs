//! PostgreSQL arrays as `psql` prints them (`{1,2,3}`, `[0:2]={1,2,3}`,
//! `{{1,2},{3,4}}`, `{"a b",NULL}`), from the JSON they travel as
//! (docs/values.md): a JSON array, nested per dimension, or an object
//! `{"lower_bounds": [...], "elements": [...]}` when a lower bound is not 1.

use serde_json::Value as Json;

use super::{format_date, format_float, format_float32, format_timestamp_parts, Interval};

/// The text of a PostgreSQL array of `element_type` (`int4`, `date`, …)
/// given as the driver's JSON; `None` when `json` is not of that shape.
pub(crate) fn postgres_array_text(json: &str, element_type: &str) -> Option<String> {
    let delimiter = if element_type == "box" { ';' } else { ',' };
    let value: Json = serde_json::from_str(json).ok()?;
    let (bounds, elements) = match &value {
        Json::Object(o) => {
            let bounds: Vec<i64> = o
                .get("lower_bounds")?
                .as_array()?
                .iter()
                .map(|b| b.as_i64())
                .collect::<Option<_>>()?;
            (Some(bounds), o.get("elements")?)
        }
        other => (None, other),
    };
    let mut out = String::new();
    if let Some(bounds) = bounds {
        let mut level = elements;
        for lower in bounds {
            let len = level.as_array()?.len() as i64;
            out.push_str(&format!("[{lower}:{}]", lower + len - 1));
            level = level.as_array()?.first().unwrap_or(&Json::Null);
        }
        out.push('=');
    }
    write_level(&mut out, elements, element_type, delimiter)?;
    Some(out)
}

fn write_level(out: &mut String, level: &Json, element_type: &str, delimiter: char) -> Option<()> {
    out.push('{');
    for (i, e) in level.as_array()?.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        match e {
            Json::Array(_) => write_level(out, e, element_type, delimiter)?,
            Json::Null => out.push_str("NULL"),
            scalar => quote_into(out, &element_text(scalar, element_type), delimiter),
        }
    }
    out.push('}');
    Some(())
}

/// An element's text as PostgreSQL's output function for `element_type`
/// writes it (the JSON form of dates, times and intervals is ISO 8601).
fn element_text(v: &Json, element_type: &str) -> String {
    match (v, element_type) {
        (Json::Bool(b), _) => (if *b { "t" } else { "f" }).into(),
        (Json::Number(n), "float8") => n.as_f64().map_or_else(|| n.to_string(), format_float),
        (Json::Number(n), "float4") => n.as_f64().map_or_else(|| n.to_string(), format_float32),
        (Json::Number(n), _) => n.to_string(),
        (Json::String(s), "date") => iso_date_days(s).map_or_else(|| s.clone(), format_date),
        (Json::String(s), "timestamp") => iso_timestamp_text(s, false).unwrap_or_else(|| s.clone()),
        (Json::String(s), "timestamptz") => iso_timestamp_text(s, true).unwrap_or_else(|| s.clone()),
        (Json::String(s), "interval") => iso_interval(s).map_or_else(|| s.clone(), |i| i.to_string()),
        (Json::String(s), _) => s.clone(),
        (other, _) => other.to_string(),
    }
}

/// Appends `s`, in double quotes when PostgreSQL's `array_out` would quote
/// it: empty, `NULL` in any case, or containing a quote, backslash, brace,
/// the delimiter or white space.
fn quote_into(out: &mut String, s: &str, delimiter: char) {
    let needs_quotes = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.chars().any(|c| {
            matches!(c, '"' | '\\' | '{' | '}' | ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}') || c == delimiter
        });
    if !needs_quotes {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Days since 1970 of an ISO 8601 date (`2024-01-31`, `-0043-03-15`, `+10000-01-01`),
/// or the `i32` extremes for `infinity`/`-infinity`.
fn iso_date_days(s: &str) -> Option<i32> {
    match s {
        "infinity" => return Some(i32::MAX),
        "-infinity" => return Some(i32::MIN),
        _ => {}
    }
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut parts = rest.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let year = if negative { -year } else { year };
    i32::try_from(super::days_from_civil(year, month, day)).ok()
}

/// PostgreSQL's text of an ISO 8601 timestamp (`2024-01-31T12:00:00.5`, with `Z` when `utc`).
fn iso_timestamp_text(s: &str, utc: bool) -> Option<String> {
    if s == "infinity" || s == "-infinity" {
        return Some(s.to_string());
    }
    let s = if utc { s.strip_suffix('Z')? } else { s };
    let (date, time) = s.split_once('T')?;
    Some(format_timestamp_parts(
        i64::from(iso_date_days(date)?),
        parse_time(time)?,
        utc,
    ))
}

/// Microseconds of `HH:MM:SS[.ffffff]`.
fn parse_time(s: &str) -> Option<i64> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = hms.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: i64 = parts.next()?.parse().ok()?;
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let us: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + us)
}

/// An ISO 8601 duration as the driver writes intervals (`P1Y-2M3DT-4H5M6.5S`).
fn iso_interval(s: &str) -> Option<Interval> {
    let body = s.strip_prefix('P')?;
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    let mut iv = Interval {
        months: 0,
        days: 0,
        microseconds: 0,
    };
    for (number, unit) in designators(date)? {
        let n: i32 = number.parse().ok()?;
        match unit {
            'Y' => iv.months = iv.months.checked_add(n.checked_mul(12)?)?,
            'M' => iv.months = iv.months.checked_add(n)?,
            'D' => iv.days = n,
            _ => return None,
        }
    }
    for (number, unit) in designators(time)? {
        let us: i64 = match unit {
            'H' => number.parse::<i64>().ok()?.checked_mul(3_600_000_000)?,
            'M' => number.parse::<i64>().ok()?.checked_mul(60_000_000)?,
            'S' => {
                let (negative, digits) = match number.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, number),
                };
                let us = parse_time(&format!("0:0:{digits}"))?;
                if negative {
                    -us
                } else {
                    us
                }
            }
            _ => return None,
        };
        iv.microseconds = iv.microseconds.checked_add(us)?;
    }
    Some(iv)
}

/// `1Y-2M` → `[("1", 'Y'), ("-2", 'M')]`.
fn designators(s: &str) -> Option<Vec<(&str, char)>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_alphabetic() {
            if i == start {
                return None;
            }
            out.push((&s[start..i], c));
            start = i + 1;
        }
    }
    (start == s.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(json: &str, element_type: &str) -> String {
        postgres_array_text(json, element_type).unwrap_or_else(|| panic!("{json} is an array"))
    }

    #[test]
    fn bounds_dimensions_and_quoting() {
        assert_eq!(text("[]", "int4"), "{}");
        assert_eq!(text("[1,2,3]", "int4"), "{1,2,3}");
        assert_eq!(
            text(r#"{"lower_bounds":[0],"elements":[1,2,3]}"#, "int4"),
            "[0:2]={1,2,3}"
        );
        assert_eq!(
            text(r#"{"lower_bounds":[2,1],"elements":[[1,2],[3,4]]}"#, "int4"),
            "[2:3][1:2]={{1,2},{3,4}}"
        );
        assert_eq!(text("[[1,null],[3,4]]", "int8"), "{{1,NULL},{3,4}}");
        assert_eq!(
            text(r#"["a b",null,"\"","\\","NULL","x,y","","é"]"#, "text"),
            r#"{"a b",NULL,"\"","\\","NULL","x,y","",é}"#
        );
        assert_eq!(
            text(r#"["{\"a\": 1}",null,"null","\"s\""]"#, "jsonb"),
            r#"{"{\"a\": 1}",NULL,"null","\"s\""}"#
        );
        assert_eq!(text("[1.50,\"NaN\"]", "numeric"), "{1.50,NaN}");
        assert_eq!(text("[true,false]", "bool"), "{t,f}");
        assert_eq!(postgres_array_text("{\"a\":1}", "int4"), None);
    }

    #[test]
    fn elements_print_as_postgresql_does() {
        assert_eq!(text("[1e100,0.1,\"NaN\",-0.0]", "float8"), "{1e+100,0.1,NaN,-0}");
        assert_eq!(text("[0.10000000149011612]", "float4"), "{0.1}");
        assert_eq!(
            text(r#"["2024-01-01","-0043-03-15","+10000-01-01","infinity"]"#, "date"),
            r#"{2024-01-01,"0044-03-15 BC",10000-01-01,infinity}"#
        );
        assert_eq!(
            text(r#"["2024-01-01T12:00:00.5","0000-01-01T00:00:00"]"#, "timestamp"),
            r#"{"2024-01-01 12:00:00.5","0001-01-01 00:00:00 BC"}"#
        );
        assert_eq!(
            text(
                r#"["+294247-01-10T04:00:54.775807","+294276-12-31T23:59:59.999999"]"#,
                "timestamp"
            ),
            r#"{"294247-01-10 04:00:54.775807","294276-12-31 23:59:59.999999"}"#
        );
        assert_eq!(
            text(r#"["2024-01-01T10:00:00.5Z"]"#, "timestamptz"),
            r#"{"2024-01-01 10:00:00.5+00"}"#
        );
        assert_eq!(
            text(r#"["P-1DT1H","P1Y","PT0S","P1Y-2M3DT-4H-5M-6.5S"]"#, "interval"),
            r#"{"-1 days +01:00:00","1 year",00:00:00,"10 mons 3 days -04:05:06.5"}"#
        );
    }
}
