//! `numeric` binary format → exact decimal text.
//!
//! The binary form is `ndigits, weight, sign, dscale` (i16/i16/u16/u16)
//! followed by `ndigits` base-10000 digits; digit `j` is worth
//! `10000^(weight - j)`. `dscale` is the number of decimal digits after the
//! point, kept exactly (trailing zeros included).

use super::message::Reader;
use driverbox_guest_sdk::{Error, Result};

const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;

/// Decodes a binary `numeric` into its text form (`-12.3400`, `NaN`, `Infinity`).
pub fn to_string(buf: &[u8]) -> Result<String> {
    let mut out = Vec::new();
    write_text(buf, &mut out)?;
    String::from_utf8(out).map_err(|_| Error::protocol("numeric text"))
}

/// Appends the text form of a binary `numeric` to `out` (ASCII only);
/// on error `out` may hold a partial value, which the caller drops.
pub fn write_text(buf: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut r = Reader::new(buf);
    let ndigits = r.i16()?;
    let weight = r.i16()? as i32;
    let sign = r.u16()?;
    let dscale = r.u16()?;
    match sign {
        SIGN_NAN => {
            out.extend_from_slice(b"NaN");
            return Ok(());
        }
        SIGN_PINF => {
            out.extend_from_slice(b"Infinity");
            return Ok(());
        }
        SIGN_NINF => {
            out.extend_from_slice(b"-Infinity");
            return Ok(());
        }
        SIGN_POS | SIGN_NEG => {}
        _ => return Err(Error::protocol("invalid numeric sign")),
    }
    if ndigits < 0 || dscale > 0x3FFF {
        return Err(Error::protocol("invalid numeric header"));
    }
    let ndigits = ndigits as usize;
    let raw = r.bytes(ndigits * 2)?;
    if !r.is_empty() {
        return Err(Error::protocol("trailing bytes after numeric digits"));
    }
    if raw.chunks_exact(2).any(|p| u16::from_be_bytes([p[0], p[1]]) > 9999) {
        return Err(Error::protocol("invalid numeric digit"));
    }
    // Digit worth 10000^exp, or 0 outside the stored digits.
    let group = |exp: i32| -> u16 {
        let j = weight - exp;
        if j >= 0 && (j as usize) < ndigits {
            let j = j as usize * 2;
            u16::from_be_bytes([raw[j], raw[j + 1]])
        } else {
            0
        }
    };

    // Written as ASCII bytes into one buffer: no allocation per group.
    let int_groups = if weight >= 0 { weight as usize + 1 } else { 0 };
    out.reserve(int_groups * 4 + dscale as usize + 3);
    if sign == SIGN_NEG {
        out.push(b'-');
    }
    let mut first = true;
    for exp in (0..=weight).rev() {
        let d = group(exp);
        if first {
            // Leading zero groups (not stored normally) are skipped.
            if d == 0 && exp > 0 {
                continue;
            }
            let digits = padded(d);
            let skip = digits.iter().take(3).take_while(|b| **b == b'0').count();
            out.extend_from_slice(&digits[skip..]);
            first = false;
        } else {
            out.extend_from_slice(&padded(d));
        }
    }
    if first {
        out.push(b'0');
    }
    if dscale > 0 {
        out.push(b'.');
        let mut remaining = dscale as usize;
        let mut exp = -1;
        while remaining > 0 {
            let take = remaining.min(4);
            out.extend_from_slice(&padded(group(exp))[..take]);
            remaining -= take;
            exp -= 1;
        }
    }
    Ok(())
}

/// Whether `s` is a plain decimal (`-12.340`, `+5`, `.5`, `NaN`,
/// `Infinity`) that [`encode_text`] writes in binary; exponents and other
/// spellings go to the server as text.
pub fn is_plain(s: &str) -> bool {
    if matches!(s, "NaN" | "Infinity" | "-Infinity" | "+Infinity") {
        return true;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 0x3FFF
        && int.len() < 4 * 0x7FFF
}

/// Appends the binary form of a plain decimal (see [`is_plain`]).
pub fn encode_text(s: &str, out: &mut impl bytes::BufMut) -> Result<()> {
    let special = match s {
        "NaN" => Some(SIGN_NAN),
        "Infinity" | "+Infinity" => Some(SIGN_PINF),
        "-Infinity" => Some(SIGN_NINF),
        _ => None,
    };
    if let Some(sign) = special {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(sign);
        out.put_u16(0);
        return Ok(());
    }
    if !is_plain(s) {
        return Err(Error::invalid(format!("`{s}` is not a decimal number")));
    }
    let negative = s.starts_with('-');
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let int = int.trim_start_matches('0');
    let dscale = frac.len() as u16;
    // Base-10000 groups: the integer part padded left, the fraction right.
    let lead = (4 - int.len() % 4) % 4;
    let int_groups = ((lead + int.len()) / 4) as i32;
    let mut digits: Vec<u16> = Vec::with_capacity((int.len() + frac.len()) / 4 + 2);
    let mut group = 0u16;
    let mut filled = lead;
    for b in int.bytes().chain(frac.bytes()) {
        group = group * 10 + (b - b'0') as u16;
        filled += 1;
        if filled == 4 {
            digits.push(group);
            (group, filled) = (0, 0);
        }
    }
    if filled > 0 {
        digits.push(group * 10u16.pow(4 - filled as u32));
    }
    // Strip leading and trailing zero groups; the weight follows the leading ones.
    let mut weight = int_groups - 1;
    let first = digits.iter().position(|d| *d != 0).unwrap_or(digits.len());
    weight -= first as i32;
    digits.drain(..first);
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    out.put_i16(digits.len() as i16);
    out.put_i16(weight as i16);
    out.put_u16(if negative && !digits.is_empty() {
        SIGN_NEG
    } else {
        SIGN_POS
    });
    out.put_u16(dscale);
    for d in digits {
        out.put_u16(d);
    }
    Ok(())
}

/// The four decimal digits of a base-10000 digit.
fn padded(d: u16) -> [u8; 4] {
    [
        b'0' + (d / 1000) as u8,
        b'0' + (d / 100 % 10) as u8,
        b'0' + (d / 10 % 10) as u8,
        b'0' + (d % 10) as u8,
    ]
}

#[cfg(test)]
pub(crate) fn encode(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(ndigits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in ndigits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_it_decodes() {
        for text in [
            "0",
            "0.000",
            "1",
            "-12.3400",
            "10000",
            "100020000",
            "0.5",
            "0.00000001",
            "-0.5",
            "12345678901234567890123456789012345678.0123456789",
            "999999.9999",
            "NaN",
            "Infinity",
            "-Infinity",
            "1.50",
            "-0.000000000000000000001",
            "7",
        ] {
            let mut buf = bytes::BytesMut::new();
            encode_text(text, &mut buf).unwrap();
            assert_eq!(to_string(&buf).unwrap(), text, "{text}");
        }
        let mut buf = bytes::BytesMut::new();
        encode_text("+007.10", &mut buf).unwrap();
        assert_eq!(to_string(&buf).unwrap(), "7.10");
        assert!(!is_plain("1e5") && !is_plain("") && !is_plain(".") && !is_plain("1.2.3") && is_plain(".5"));
        assert!(encode_text("abc", &mut buf).is_err());
    }

    #[test]
    fn decodes() {
        let cases: &[(&[u16], i16, u16, u16, &str)] = &[
            (&[], 0, SIGN_POS, 0, "0"),
            (&[], 0, SIGN_POS, 3, "0.000"),
            (&[1], 0, SIGN_POS, 0, "1"),
            (&[12, 3400], 0, SIGN_NEG, 4, "-12.3400"),
            (&[12, 3400], 0, SIGN_NEG, 2, "-12.34"),
            (&[1], 1, SIGN_POS, 0, "10000"),
            (&[1, 2], 2, SIGN_POS, 0, "100020000"),
            (&[5000], -1, SIGN_POS, 1, "0.5"),
            (&[1], -2, SIGN_POS, 8, "0.00000001"),
            (&[1], -2, SIGN_POS, 10, "0.0000000100"),
            (&[9999, 9999], 0, SIGN_POS, 4, "9999.9999"),
            (&[], 0, SIGN_NAN, 0, "NaN"),
            (&[], 0, SIGN_PINF, 0, "Infinity"),
            (&[], 0, SIGN_NINF, 0, "-Infinity"),
        ];
        for (digits, weight, sign, dscale, want) in cases {
            assert_eq!(to_string(&encode(digits, *weight, *sign, *dscale)).unwrap(), *want);
        }
    }

    #[test]
    fn refuses_garbage() {
        assert!(to_string(&[0, 1]).is_err());
        assert!(to_string(&encode(&[10000], 0, 0, 0)).is_err());
        assert!(to_string(&encode(&[1], 0, 0x1234, 0)).is_err());
        let mut short = encode(&[1, 2], 0, 0, 0);
        short.pop();
        assert!(to_string(&short).is_err());
        let mut long = encode(&[1], 0, 0, 0);
        long.push(0);
        assert!(to_string(&long).is_err());
        assert!(to_string(&encode(&[1], i16::MAX, 0, 0x3FFF)).is_ok());
    }
}
