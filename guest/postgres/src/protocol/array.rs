//! Arrays ↔ JSON: binary arrays and text array literals to JSON text,
//! JSON arrays to PostgreSQL array literals (for array parameters).
//!
//! An array whose lower bounds are all 1 (PostgreSQL's default) is a JSON
//! array, nested per dimension; any other keeps its bounds as
//! `{"lower_bounds":[0],"elements":[1,2,3]}` (docs/values.md).

use super::format::write_json_value;
use super::json::{self, Json};
use super::message::Reader;
use super::{text, types};
use driverbox_guest_sdk::{Error, Result};

/// PostgreSQL's `MAXDIM`.
const MAX_DIMS: usize = 6;

/// Decodes a binary-format array into JSON text.
pub fn binary_to_json(buf: &[u8]) -> Result<String> {
    let mut r = Reader::new(buf);
    let ndim = r.i32()?;
    let _has_nulls = r.i32()?;
    let elem_oid = r.u32()?;
    if !(0..=MAX_DIMS as i32).contains(&ndim) {
        return Err(Error::protocol(format!("array with {ndim} dimensions")));
    }
    let codec = types::scalar_codec(elem_oid)
        .ok_or_else(|| Error::protocol(format!("unexpected array element type {elem_oid}")))?;
    let mut dims = Vec::with_capacity(ndim as usize);
    let mut lower_bounds = Vec::with_capacity(ndim as usize);
    let mut total: usize = 1;
    for _ in 0..ndim {
        let len = r.i32()?;
        lower_bounds.push(r.i32()?);
        let len = usize::try_from(len).map_err(|_| Error::protocol("negative array dimension"))?;
        total = total
            .checked_mul(len)
            .ok_or_else(|| Error::protocol("array too large"))?;
        dims.push(len);
    }
    // Every element takes at least its 4-byte length.
    if ndim > 0 && total > buf.len() / 4 {
        return Err(Error::protocol("array shorter than its dimensions"));
    }
    let mut out = String::with_capacity(total * 4 + 2);
    let bounded = open_bounds(&mut out, &lower_bounds);
    // A dimension of length 0 makes the array empty (PostgreSQL never
    // sends one); walking the others would write `[]` billions of times.
    if ndim == 0 || total == 0 {
        out.push_str("[]");
    } else {
        write_level(&mut r, &dims, codec, &mut out)?;
    }
    if bounded {
        out.push('}');
    }
    if !r.is_empty() {
        return Err(Error::protocol("trailing bytes after array elements"));
    }
    Ok(out)
}

/// An ISO 8601 timestamp (`2024-01-31T12:00:00.5`, `Z` when `utc`) of µs
/// since 2000-01-01, PostgreSQL's epoch; `infinity`/`-infinity`.
fn iso_timestamp_since_2000(micros: i64, utc: bool) -> String {
    use driverbox_guest_sdk::time::{format_date, format_time, MICROS_PER_DAY};
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        m => format!(
            "{}T{}{}",
            format_date(m.div_euclid(MICROS_PER_DAY) + i64::from(types::PG_EPOCH_DAYS)),
            format_time(m.rem_euclid(MICROS_PER_DAY)),
            if utc { "Z" } else { "" }
        ),
    }
}

/// Starts the object form when a lower bound is not 1; whether it did.
fn open_bounds(out: &mut String, lower_bounds: &[i32]) -> bool {
    if lower_bounds.iter().all(|b| *b == 1) {
        return false;
    }
    out.push_str("{\"lower_bounds\":[");
    for (i, b) in lower_bounds.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&b.to_string());
    }
    out.push_str("],\"elements\":");
    true
}

/// The lower bounds of a text array's decoration `[l:u][l:u]=`.
fn decoration_bounds(decoration: &str) -> Result<Vec<i32>> {
    let bad = || Error::protocol("bad array dimensions");
    let inner = decoration
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .ok_or_else(bad)?;
    inner
        .split("][")
        .map(|dim| {
            let (lower, _upper) = dim.split_once(':').ok_or_else(bad)?;
            lower.trim().parse::<i32>().map_err(|_| bad())
        })
        .collect()
}

fn write_level(r: &mut Reader<'_>, dims: &[usize], codec: types::Codec, out: &mut String) -> Result<()> {
    out.push('[');
    for i in 0..dims[0] {
        if i > 0 {
            out.push(',');
        }
        if dims.len() > 1 {
            write_level(r, &dims[1..], codec, out)?;
        } else {
            match r.value()? {
                None => out.push_str("null"),
                // From PostgreSQL's epoch straight to text: every timestamp
                // of its range, also those µs since 1970 cannot hold.
                Some(b) if matches!(codec, types::Codec::Timestamp | types::Codec::Timestamptz) => {
                    let pg = i64::from_be_bytes(b.try_into().map_err(|_| Error::protocol("bad timestamp length"))?);
                    json::write_string(out, &iso_timestamp_since_2000(pg, codec == types::Codec::Timestamptz));
                }
                Some(b) => write_json_value(out, &types::decode_binary(codec, b)?),
            }
        }
    }
    out.push(']');
    Ok(())
}

/// Converts a text array literal (`{1,NULL}`, `[0:1]={{"a b",c}}`) whose
/// elements have type `elem_oid` into JSON text. Elements of types the
/// driver does not decode become JSON strings.
pub fn text_to_json(s: &str, elem_oid: u32, delim: u8) -> Result<String> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut out = String::with_capacity(s.len() + 2);
    // A dimension decoration `[l:u][l:u]=` gives the lower bounds.
    let mut bounded = false;
    if bytes.first() == Some(&b'[') {
        let eq = s.find('=').ok_or_else(|| Error::protocol("bad array dimensions"))?;
        bounded = open_bounds(&mut out, &decoration_bounds(s[..eq].trim_end())?);
        pos = eq + 1;
    }
    let mut p = TextArray {
        s,
        b: bytes,
        pos,
        elem_oid,
        delim,
    };
    p.ws();
    p.level(&mut out, 0)?;
    p.ws();
    if p.pos != bytes.len() {
        return Err(Error::protocol("trailing characters after array literal"));
    }
    if bounded {
        out.push('}');
    }
    Ok(out)
}

struct TextArray<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    elem_oid: u32,
    delim: u8,
}

impl TextArray<'_> {
    fn bad(&self) -> Error {
        Error::protocol(format!("bad array literal at byte {}", self.pos))
    }

    fn ws(&mut self) {
        while self.b.get(self.pos).is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn level(&mut self, out: &mut String, depth: usize) -> Result<()> {
        if depth > MAX_DIMS || self.b.get(self.pos) != Some(&b'{') {
            return Err(self.bad());
        }
        self.pos += 1;
        out.push('[');
        self.ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            out.push(']');
            return Ok(());
        }
        let mut first = true;
        loop {
            if !first {
                out.push(',');
            }
            first = false;
            self.ws();
            match self.b.get(self.pos) {
                Some(b'{') => self.level(out, depth + 1)?,
                Some(b'"') => {
                    let v = self.quoted()?;
                    self.element(out, &v);
                }
                Some(_) => {
                    let start = self.pos;
                    let mut escaped = false;
                    while let Some(&c) = self.b.get(self.pos) {
                        if c == self.delim || c == b'}' {
                            break;
                        }
                        if c == b'\\' {
                            escaped = true;
                            self.pos += 1;
                            if self.pos >= self.b.len() {
                                return Err(self.bad());
                            }
                        }
                        self.pos += 1;
                    }
                    let token = self.s[start..self.pos].trim();
                    if escaped {
                        self.element(out, &unescape(token));
                    } else if token.eq_ignore_ascii_case("NULL") {
                        out.push_str("null");
                    } else {
                        self.element(out, token);
                    }
                }
                None => return Err(self.bad()),
            }
            self.ws();
            match self.b.get(self.pos) {
                Some(&c) if c == self.delim => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    out.push(']');
                    return Ok(());
                }
                _ => return Err(self.bad()),
            }
        }
    }

    fn quoted(&mut self) -> Result<String> {
        self.pos += 1;
        let mut v = String::new();
        loop {
            let start = self.pos;
            while let Some(&c) = self.b.get(self.pos) {
                if c == b'"' || c == b'\\' {
                    break;
                }
                self.pos += 1;
            }
            v.push_str(&self.s[start..self.pos]);
            match self.b.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(v);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.s[self.pos..].chars().next().ok_or_else(|| self.bad())?;
                    v.push(c);
                    self.pos += c.len_utf8();
                }
                _ => return Err(self.bad()),
            }
        }
    }

    fn element(&self, out: &mut String, s: &str) {
        if types::scalar_codec(self.elem_oid).is_some() {
            write_json_value(out, &text::decode(self.elem_oid, s));
        } else {
            json::write_string(out, s);
        }
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Turns a JSON array into a PostgreSQL array literal (`[1,[2,null]]`,
/// `["a\"b"]` → `{1,{2,NULL}}`, `{"a\"b"}`); `delim` separates elements.
/// The object form of an array with other lower bounds,
/// `{"lower_bounds":[0],"elements":[1,2]}`, becomes `[0:1]={1,2}`.
pub fn json_to_literal(text: &str, delim: u8) -> Result<String> {
    let not_array = || Error::invalid("an array parameter needs a JSON array or {\"lower_bounds\", \"elements\"}");
    let mut out = String::with_capacity(text.len() + 2);
    let v = match json::parse(text)? {
        Json::Object(raw) => {
            let mut bounds = None;
            let mut elements = None;
            for (key, value) in json::object_members(&raw)? {
                match (key.as_str(), value) {
                    ("lower_bounds", Json::Array(b)) => bounds = Some(b),
                    ("elements", e @ Json::Array(_)) => elements = Some(e),
                    _ => return Err(not_array()),
                }
            }
            let (Some(bounds), Some(elements)) = (bounds, elements) else {
                return Err(not_array());
            };
            let mut level = &elements;
            for bound in &bounds {
                let (Json::Number(lower), Json::Array(items)) = (bound, level) else {
                    return Err(not_array());
                };
                let lower: i64 = lower.parse().map_err(|_| not_array())?;
                out.push_str(&format!("[{lower}:{}]", lower + items.len() as i64 - 1));
                level = items.first().unwrap_or(&Json::Null);
            }
            out.push('=');
            elements
        }
        v @ Json::Array(_) => v,
        _ => return Err(not_array()),
    };
    write_literal(&mut out, &v, delim as char);
    Ok(out)
}

fn write_literal(out: &mut String, v: &Json, delim: char) {
    match v {
        Json::Null => out.push_str("NULL"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) | Json::Object(s) => quote_element(out, s),
        Json::Array(items) => {
            out.push('{');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(delim);
                }
                write_literal(out, item, delim);
            }
            out.push('}');
        }
    }
}

fn quote_element(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::types::oid;

    fn bin_array(elem: u32, dims: &[(i32, i32)], items: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(dims.len() as i32).to_be_bytes());
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&elem.to_be_bytes());
        for (len, lb) in dims {
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&lb.to_be_bytes());
        }
        for item in items {
            match item {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        b
    }

    /// Found by the `pg_values` fuzzer: a zero-length dimension after huge
    /// ones made the decoder write `[]` for every outer element.
    #[test]
    fn a_zero_length_dimension_is_an_empty_array_at_once() {
        let dims = [(0x3fff_ffff, 1), (0x3fff_ffff, 1), (0, 1)];
        let started = std::time::Instant::now();
        assert_eq!(binary_to_json(&bin_array(oid::INT4, &dims, &[])).unwrap(), "[]");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn binary_arrays() {
        let one = 1i32.to_be_bytes();
        let two = 2i32.to_be_bytes();
        assert_eq!(binary_to_json(&bin_array(oid::INT4, &[], &[])).unwrap(), "[]");
        assert_eq!(
            binary_to_json(&bin_array(oid::INT4, &[(3, 1)], &[Some(&one), None, Some(&two)])).unwrap(),
            "[1,null,2]"
        );
        assert_eq!(
            binary_to_json(&bin_array(
                oid::INT4,
                &[(2, 0), (2, 1)],
                &[Some(&one), None, None, Some(&two)]
            ))
            .unwrap(),
            r#"{"lower_bounds":[0,1],"elements":[[1,null],[null,2]]}"#
        );
        let last = 9_223_371_331_199_999_999i64.to_be_bytes();
        let epoch = 0i64.to_be_bytes();
        assert_eq!(
            binary_to_json(&bin_array(oid::TIMESTAMP, &[(2, 1)], &[Some(&last), Some(&epoch)])).unwrap(),
            r#"["+294276-12-31T23:59:59.999999","2000-01-01T00:00:00"]"#
        );
        assert_eq!(
            binary_to_json(&bin_array(oid::TEXT, &[(1, 1)], &[Some(b"a\"b")])).unwrap(),
            r#"["a\"b"]"#
        );
        assert_eq!(
            binary_to_json(&bin_array(
                oid::JSONB,
                &[(2, 1)],
                &[Some(b"\x01{\"a\": 1}"), Some(b"\x01null")]
            ))
            .unwrap(),
            r#"["{\"a\": 1}","null"]"#
        );
        // Hostile: huge dimensions, negative, too many, unknown element type, short.
        assert!(binary_to_json(&bin_array(oid::INT4, &[(i32::MAX, 1), (i32::MAX, 1)], &[])).is_err());
        assert!(binary_to_json(&bin_array(oid::INT4, &[(-1, 1)], &[])).is_err());
        assert!(binary_to_json(&bin_array(oid::INT4, &[(1, 1); 7], &[Some(&one)])).is_err());
        assert!(binary_to_json(&bin_array(869, &[(1, 1)], &[Some(&one)])).is_err());
        assert!(binary_to_json(&bin_array(oid::INT4, &[(2, 1)], &[Some(&one)])).is_err());
        assert!(binary_to_json(&bin_array(oid::INT4, &[(1, 1)], &[Some(&[1])])).is_err());
    }

    #[test]
    fn text_arrays() {
        let t = |s, elem| text_to_json(s, elem, b',').unwrap();
        assert_eq!(t("{}", oid::INT4), "[]");
        assert_eq!(t("{1,NULL,3}", oid::INT4), "[1,null,3]");
        assert_eq!(t("[0:1]={1,2}", oid::INT4), r#"{"lower_bounds":[0],"elements":[1,2]}"#);
        assert_eq!(
            t("[-2:-1][1:1]={{1},{2}}", oid::INT4),
            r#"{"lower_bounds":[-2,1],"elements":[[1],[2]]}"#
        );
        assert_eq!(t("[1:2]={1,2}", oid::INT4), "[1,2]");
        assert_eq!(t("{{1,2},{3,4}}", oid::INT8), "[[1,2],[3,4]]");
        assert_eq!(
            t(r#"{"a b","\"q\"",NULL,"NULL","\\",x\,y}"#, oid::TEXT),
            r#"["a b","\"q\"",null,"NULL","\\","x,y"]"#
        );
        assert_eq!(t("{NaN,Infinity,1.5}", oid::FLOAT8), r#"["NaN","Infinity",1.5]"#);
        assert_eq!(t("{t,f}", oid::BOOL), "[true,false]");
        assert_eq!(
            t(r#"{"{\"a\": 1}",NULL,"null"}"#, oid::JSONB),
            r#"["{\"a\": 1}",null,"null"]"#
        );
        assert_eq!(
            t(r#"{"2024-01-01 12:00:00+05:30"}"#, oid::TIMESTAMPTZ),
            r#"["2024-01-01T06:30:00Z"]"#
        );
        assert_eq!(t("{10.0.0.1/32}", 869), r#"["10.0.0.1/32"]"#);
        assert_eq!(
            text_to_json("{(1,2),(3,4);(5,6),(7,8)}", 603, b';').unwrap(),
            r#"["(1,2),(3,4)","(5,6),(7,8)"]"#
        );
        for bad in ["", "{", "{1", "{1,}x", "1", "{\"a}", "{a\\"] {
            assert!(text_to_json(bad, oid::INT4, b',').is_err(), "{bad}");
        }
    }

    #[test]
    fn json_literals() {
        assert_eq!(json_to_literal("[]", b',').unwrap(), "{}");
        assert_eq!(json_to_literal("[1, null, 2.50]", b',').unwrap(), "{1,NULL,2.50}");
        assert_eq!(json_to_literal("[[1,2],[3,4]]", b',').unwrap(), "{{1,2},{3,4}}");
        assert_eq!(
            json_to_literal(r#"["a\"b", "c\\d", "NULL", "x,y", {"k": [1]}]"#, b',').unwrap(),
            r#"{"a\"b","c\\d","NULL","x,y","{\"k\": [1]}"}"#
        );
        assert_eq!(json_to_literal("[true]", b';').unwrap(), "{true}");
        assert!(json_to_literal("{}", b',').is_err());
        assert_eq!(
            json_to_literal(r#"{"lower_bounds":[0],"elements":[1,2,3]}"#, b',').unwrap(),
            "[0:2]={1,2,3}"
        );
        assert_eq!(
            json_to_literal(r#"{"lower_bounds":[2,-1],"elements":[[1,2],[3,4]]}"#, b',').unwrap(),
            "[2:3][-1:0]={{1,2},{3,4}}"
        );
        assert!(json_to_literal(r#"{"lower_bounds":[0]}"#, b',').is_err());
        assert!(json_to_literal(r#"{"lower_bounds":["x"],"elements":[1]}"#, b',').is_err());
        assert!(json_to_literal("[1,", b',').is_err());
    }
}
