//! DynamoDB attribute values (`{"S": "x"}`, `{"N": "1.5"}`, …) to and from
//! BSON documents (the `nosql` interface), parameter values, and result
//! cells. Nothing is rounded: `N` becomes an integer when it is one that
//! fits 64 bits, else BSON `Decimal128` (34 digits; a longer number is
//! refused rather than rounded); `B` is bytes; sets become
//! `{"$SS": […]}`, `{"$NS": […]}`, `{"$BS": […]}` so they come back as sets.

use base64::Engine;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Decimal128, Document};
use driverbox_guest_sdk::types::Value;
use driverbox_guest_sdk::{Error, Result};
use serde_json::{Map, Value as Json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The set markers of BSON documents.
const SET_KEYS: [&str; 3] = ["$SS", "$NS", "$BS"];

fn attr(tag: &str, v: Json) -> Json {
    let mut m = Map::new();
    m.insert(tag.to_string(), v);
    Json::Object(m)
}

fn protocol(what: &str, v: &Json) -> Error {
    let mut text = v.to_string();
    if text.len() > 80 {
        let mut cut = 80;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    Error::protocol(format!("bad DynamoDB attribute value ({what}): {text}"))
}

/// The one `(type, value)` pair of an attribute value.
pub fn tag_of(v: &Json) -> Result<(&str, &Json)> {
    match v.as_object() {
        Some(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().ok_or_else(|| protocol("empty", v))?;
            Ok((k.as_str(), v))
        }
        _ => Err(protocol("not a one-key object", v)),
    }
}

/// A DynamoDB number as BSON: Int32/Int64 when it is an integer that
/// fits, else Decimal128. Errors: `data` for a number Decimal128 cannot
/// hold exactly.
pub fn number_to_bson(n: &str) -> Result<Bson> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(match i32::try_from(i) {
            Ok(small) => Bson::Int32(small),
            Err(_) => Bson::Int64(i),
        });
    }
    let too_long = || {
        driverbox_guest_sdk::client_error(
            driverbox_guest_sdk::ErrorKind::Data,
            format!("DynamoDB number {n} has more digits than BSON Decimal128 holds (34); read it with PartiQL (exact text)"),
        )
    };
    let d: Decimal128 = match n.parse() {
        Ok(d) => d,
        Err(_) if check_decimal(n, "N").is_ok() => return Err(too_long()),
        Err(_) => return Err(Error::protocol(format!("DynamoDB number {n:?} is not a decimal"))),
    };
    // Decimal128 rounds past 34 digits: refuse rather than change a value.
    if !same_number(&d.to_string(), n) {
        return Err(driverbox_guest_sdk::client_error(
            driverbox_guest_sdk::ErrorKind::Data,
            format!("DynamoDB number {n} has more digits than BSON Decimal128 holds (34); read it with PartiQL (exact text)"),
        ));
    }
    Ok(Bson::Decimal128(d))
}

/// Whether two decimal texts denote the same number (digits and exponent
/// compared after normalizing).
fn same_number(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> Option<(bool, String, i64)> {
        let s = s.trim();
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (mant, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i64>().ok()?),
            None => (s, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let mut digits: String = format!("{int}{frac}");
        let mut exp = exp - frac.len() as i64;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits = digits.trim_start_matches('0').to_string();
        if digits.is_empty() {
            return Some((false, String::new(), 0));
        }
        while digits.ends_with('0') {
            digits.pop();
            exp += 1;
        }
        Some((neg, digits, exp))
    }
    match (norm(a), norm(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// One attribute value as BSON.
pub fn to_bson(v: &Json) -> Result<Bson> {
    let (tag, inner) = tag_of(v)?;
    let str_of = |x: &Json| x.as_str().map(String::from).ok_or_else(|| protocol(tag, v));
    let bytes_of = |x: &Json| -> Result<Bson> {
        let text = x.as_str().ok_or_else(|| protocol(tag, v))?;
        let bytes = B64.decode(text).map_err(|_| protocol("B is not base64", v))?;
        Ok(Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes,
        }))
    };
    fn list_of<'a>(x: &'a Json, tag: &str, v: &Json) -> Result<&'a Vec<Json>> {
        x.as_array().ok_or_else(|| protocol(tag, v))
    }
    Ok(match tag {
        "S" => Bson::String(str_of(inner)?),
        "N" => number_to_bson(&str_of(inner)?)?,
        "B" => bytes_of(inner)?,
        "BOOL" => Bson::Boolean(inner.as_bool().ok_or_else(|| protocol(tag, v))?),
        "NULL" => Bson::Null,
        "M" => Bson::Document(item_to_document(inner.as_object().ok_or_else(|| protocol(tag, v))?)?),
        "L" => Bson::Array(list_of(inner, tag, v)?.iter().map(to_bson).collect::<Result<_>>()?),
        "SS" | "NS" | "BS" => {
            let members = list_of(inner, tag, v)?
                .iter()
                .map(|m| match tag {
                    "SS" => str_of(m).map(Bson::String),
                    "NS" => number_to_bson(&str_of(m)?),
                    _ => bytes_of(m),
                })
                .collect::<Result<Vec<_>>>()?;
            let mut d = Document::new();
            d.insert(format!("${tag}"), Bson::Array(members));
            Bson::Document(d)
        }
        _ => return Err(protocol("unknown type", v)),
    })
}

/// An item (attribute name → value) as a BSON document, attributes in the
/// order the server sent them.
pub fn item_to_document(item: &Map<String, Json>) -> Result<Document> {
    let mut d = Document::new();
    for (k, v) in item {
        d.insert(k.clone(), to_bson(v)?);
    }
    Ok(d)
}

/// A finite float as a DynamoDB number (shortest exact text).
fn float_number(f: f64, what: &str) -> Result<String> {
    if !f.is_finite() {
        return Err(Error::invalid(format!("{what}: DynamoDB numbers cannot be {f}")));
    }
    Ok(format!("{f:?}").trim_end_matches(".0").to_string())
}

fn check_decimal(s: &str, what: &str) -> Result<String> {
    let t = s.trim();
    let ok = !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && t.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return Err(Error::invalid(format!("{what}: {s:?} is not a DynamoDB number")));
    }
    Ok(t.to_string())
}

/// A BSON value as an attribute value. `what` names it in errors.
pub fn from_bson(b: &Bson, what: &str) -> Result<Json> {
    Ok(match b {
        Bson::String(s) => attr("S", Json::String(s.clone())),
        Bson::Int32(n) => attr("N", Json::String(n.to_string())),
        Bson::Int64(n) => attr("N", Json::String(n.to_string())),
        Bson::Double(f) => attr("N", Json::String(float_number(*f, what)?)),
        Bson::Decimal128(d) => attr("N", Json::String(check_decimal(&d.to_string(), what)?)),
        Bson::Boolean(x) => attr("BOOL", Json::Bool(*x)),
        Bson::Null | Bson::Undefined => attr("NULL", Json::Bool(true)),
        Bson::Binary(bin) => attr("B", Json::String(B64.encode(&bin.bytes))),
        Bson::Array(a) => attr(
            "L",
            Json::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| from_bson(x, &format!("{what}[{i}]")))
                    .collect::<Result<_>>()?,
            ),
        ),
        Bson::Document(d) => {
            if let Some(set) = set_of(d, what)? {
                return Ok(set);
            }
            attr("M", Json::Object(document_to_item(d)?))
        }
        Bson::DateTime(t) => attr(
            "S",
            Json::String(driverbox_guest_sdk::time::format_timestamp_value(
                t.timestamp_millis().saturating_mul(1000),
                true,
            )),
        ),
        Bson::ObjectId(id) => attr("S", Json::String(id.to_hex())),
        other => {
            return Err(Error::invalid(format!(
                "{what}: BSON {:?} has no DynamoDB type",
                other.element_type()
            )))
        }
    })
}

/// Whether a document is a set marker (`{"$SS": […]}`, `$NS`, `$BS`).
pub fn is_set(d: &Document) -> bool {
    d.len() == 1 && d.keys().next().is_some_and(|k| SET_KEYS.contains(&k.as_str()))
}

/// `{"$SS": [...]}` and its kin as a DynamoDB set.
fn set_of(d: &Document, what: &str) -> Result<Option<Json>> {
    if d.len() != 1 {
        return Ok(None);
    }
    let Some((k, v)) = d.iter().next() else {
        return Ok(None);
    };
    if !SET_KEYS.contains(&k.as_str()) {
        return Ok(None);
    }
    let Bson::Array(members) = v else {
        return Err(Error::invalid(format!("{what}: {k} takes an array")));
    };
    if members.is_empty() {
        return Err(Error::invalid(format!("{what}: DynamoDB sets cannot be empty")));
    }
    let tag = &k[1..];
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let a = from_bson(m, what)?;
        let (t, inner) = tag_of(&a)?;
        if t != &tag[..1] {
            return Err(Error::invalid(format!(
                "{what}: a member of {k} is not of type {}",
                &tag[..1]
            )));
        }
        out.push(inner.clone());
    }
    Ok(Some(attr(tag, Json::Array(out))))
}

/// A BSON document as an item.
pub fn document_to_item(d: &Document) -> Result<Map<String, Json>> {
    let mut m = Map::new();
    for (k, v) in d {
        m.insert(k.clone(), from_bson(v, k)?);
    }
    Ok(m)
}

/// A parameter value as an attribute value.
pub fn from_value(v: &Value, what: &str) -> Result<Json> {
    use driverbox_guest_sdk::time;
    Ok(match v {
        Value::Null => attr("NULL", Json::Bool(true)),
        Value::Boolean(b) => attr("BOOL", Json::Bool(*b)),
        Value::Int(i) => attr("N", Json::String(i.to_string())),
        Value::Float(f) => attr("N", Json::String(float_number(*f, what)?)),
        Value::Decimal(d) => attr("N", Json::String(check_decimal(d, what)?)),
        Value::Text(s) => attr("S", Json::String(s.clone())),
        Value::Bytes(b) => attr("B", Json::String(B64.encode(b))),
        Value::Date(d) => attr("S", Json::String(time::format_date_value(*d))),
        Value::Time(t) => attr("S", Json::String(time::format_time(*t))),
        Value::Timestamp(t) => attr("S", Json::String(time::format_timestamp_value(*t, false))),
        Value::Timestamptz(t) => attr("S", Json::String(time::format_timestamp_value(*t, true))),
        Value::Uuid((hi, lo)) => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&hi.to_be_bytes());
            b[8..].copy_from_slice(&lo.to_be_bytes());
            attr("S", Json::String(time::format_uuid(&b)))
        }
        Value::Json(text) => {
            let j: Json = serde_json::from_str(text)
                .map_err(|e| Error::invalid(format!("{what}: the JSON parameter does not parse: {e}")))?;
            from_plain_json(&j)
        }
        Value::Document(bytes) => {
            let d = Document::from_reader(&bytes[..])
                .map_err(|e| Error::invalid(format!("{what}: not a BSON document: {e}")))?;
            attr("M", Json::Object(document_to_item(&d)?))
        }
        Value::Interval(_) => {
            return Err(Error::invalid(format!("{what}: an interval has no DynamoDB type")));
        }
    })
}

/// Plain JSON as an attribute value: objects as M, arrays as L, numbers
/// as N (their text), strings as S.
pub fn from_plain_json(j: &Json) -> Json {
    match j {
        Json::Null => attr("NULL", Json::Bool(true)),
        Json::Bool(b) => attr("BOOL", Json::Bool(*b)),
        Json::Number(n) => attr("N", Json::String(n.to_string())),
        Json::String(s) => attr("S", Json::String(s.clone())),
        Json::Array(a) => attr("L", Json::Array(a.iter().map(from_plain_json).collect())),
        Json::Object(o) => attr(
            "M",
            Json::Object(o.iter().map(|(k, v)| (k.clone(), from_plain_json(v))).collect()),
        ),
    }
}

/// Whether `n` can be written as a JSON number as is.
fn json_number_ok(n: &str) -> bool {
    let b = n.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start || (b[start] == b'0' && i - start > 1) {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

fn write_json_string(out: &mut String, s: &str) {
    out.push_str(&Json::String(s.to_string()).to_string());
}

/// An attribute value as plain JSON text, numbers with every digit, bytes
/// as base64 text, sets as arrays.
pub fn to_plain_json(v: &Json, out: &mut String) -> Result<()> {
    let (tag, inner) = tag_of(v)?;
    let bad = || protocol(tag, v);
    match tag {
        "S" | "B" => write_json_string(out, inner.as_str().ok_or_else(bad)?),
        "N" => {
            let n = inner.as_str().ok_or_else(bad)?;
            if json_number_ok(n) {
                out.push_str(n);
            } else {
                write_json_string(out, n);
            }
        }
        "BOOL" => out.push_str(if inner.as_bool().ok_or_else(bad)? {
            "true"
        } else {
            "false"
        }),
        "NULL" => out.push_str("null"),
        "M" => {
            out.push('{');
            for (i, (k, x)) in inner.as_object().ok_or_else(bad)?.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                to_plain_json(x, out)?;
            }
            out.push('}');
        }
        "L" => {
            out.push('[');
            for (i, x) in inner.as_array().ok_or_else(bad)?.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_plain_json(x, out)?;
            }
            out.push(']');
        }
        "SS" | "NS" | "BS" => {
            out.push('[');
            for (i, x) in inner.as_array().ok_or_else(bad)?.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let t = x.as_str().ok_or_else(bad)?;
                if tag == "NS" && json_number_ok(t) {
                    out.push_str(t);
                } else {
                    write_json_string(out, t);
                }
            }
            out.push(']');
        }
        _ => return Err(protocol("unknown type", v)),
    }
    Ok(())
}

/// An attribute value as a result cell: S text, N exact decimal, B bytes,
/// BOOL, NULL; maps, lists and sets as JSON text.
pub fn to_value(v: &Json) -> Result<Value> {
    let (tag, inner) = tag_of(v)?;
    let bad = || protocol(tag, v);
    Ok(match tag {
        "S" => Value::Text(inner.as_str().ok_or_else(bad)?.to_string()),
        "N" => Value::Decimal(inner.as_str().ok_or_else(bad)?.to_string()),
        "B" => Value::Bytes(B64.decode(inner.as_str().ok_or_else(bad)?).map_err(|_| bad())?),
        "BOOL" => Value::Boolean(inner.as_bool().ok_or_else(bad)?),
        "NULL" => Value::Null,
        _ => {
            let mut s = String::new();
            to_plain_json(v, &mut s)?;
            Value::Json(s)
        }
    })
}

/// The DynamoDB type name of an attribute value (`S`, `N`, `M` …).
pub fn type_name(v: &Json) -> &str {
    tag_of(v).map(|(t, _)| t).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;
    use serde_json::json;

    #[test]
    fn round_trip_through_bson_keeps_types() {
        let item = json!({
            "pk": {"S": "a"},
            "n": {"N": "42"},
            "big": {"N": "12345678901234"},
            "dec": {"N": "-0.000123456789012345678901234567891234"},
            "b": {"B": "AAEC"},
            "t": {"BOOL": true},
            "z": {"NULL": true},
            "m": {"M": {"x": {"L": [{"N": "1"}, {"S": "y"}]}}},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2.5"]},
            "bs": {"BS": ["AQ=="]},
        });
        let d = item_to_document(item.as_object().unwrap()).unwrap();
        assert_eq!(d.get("n"), Some(&Bson::Int32(42)));
        assert_eq!(d.get("big"), Some(&Bson::Int64(12345678901234)));
        assert!(matches!(d.get("dec"), Some(Bson::Decimal128(_))));
        assert_eq!(d.get_binary_generic("b").unwrap(), &vec![0u8, 1, 2]);
        assert_eq!(d.get_document("ss").unwrap(), &doc! {"$SS": ["a", "b"]});
        let back = document_to_item(&d).unwrap();
        assert_eq!(Json::Object(back), item);
    }

    #[test]
    fn too_many_digits_are_refused_not_rounded() {
        let e = number_to_bson("1.2345678901234567890123456789012345678").unwrap_err();
        assert_eq!(e.kind(), driverbox_guest_sdk::ErrorKind::Data);
        assert!(same_number("1.50", "15E-1"));
        assert!(!same_number("1.5", "1.6"));
    }

    #[test]
    fn cells_and_plain_json() {
        assert_eq!(
            to_value(&json!({"N": "123456789012345678901234567890.5"})).unwrap(),
            Value::Decimal("123456789012345678901234567890.5".into())
        );
        assert_eq!(
            to_value(&json!({"M": {"a": {"NS": ["1", "2"]}, "b": {"B": "AQ=="}, "c": {"N": "1E+400"}}})).unwrap(),
            Value::Json(r#"{"a":[1,2],"b":"AQ==","c":1E+400}"#.into())
        );
        assert!(to_value(&json!({"X": 1})).is_err());
        assert!(to_value(&json!({"S": 1})).is_err());
        assert!(to_value(&json!("S")).is_err());
    }

    #[test]
    fn parameters() {
        assert_eq!(from_value(&Value::Int(-3), "p").unwrap(), json!({"N": "-3"}));
        assert_eq!(from_value(&Value::Float(2.5), "p").unwrap(), json!({"N": "2.5"}));
        assert_eq!(from_value(&Value::Float(3.0), "p").unwrap(), json!({"N": "3"}));
        assert!(from_value(&Value::Float(f64::NAN), "p").is_err());
        assert_eq!(from_value(&Value::Bytes(vec![1]), "p").unwrap(), json!({"B": "AQ=="}));
        assert_eq!(
            from_value(&Value::Json(r#"{"a":[1,"x"]}"#.into()), "p").unwrap(),
            json!({"M": {"a": {"L": [{"N": "1"}, {"S": "x"}]}}})
        );
        assert!(from_value(&Value::Decimal("abc".into()), "p").is_err());
    }
}
