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
    let mut r = Reader::new(buf);
    let ndigits = r.i16()?;
    let weight = r.i16()? as i32;
    let sign = r.u16()?;
    let dscale = r.u16()?;
    match sign {
        SIGN_NAN => return Ok("NaN".into()),
        SIGN_PINF => return Ok("Infinity".into()),
        SIGN_NINF => return Ok("-Infinity".into()),
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
    let mut digits = Vec::with_capacity(ndigits);
    for pair in raw.chunks_exact(2) {
        let d = u16::from_be_bytes([pair[0], pair[1]]);
        if d > 9999 {
            return Err(Error::protocol("invalid numeric digit"));
        }
        digits.push(d);
    }
    // Digit worth 10000^exp, or 0 outside the stored digits.
    let group = |exp: i32| -> u16 {
        let j = weight - exp;
        if j >= 0 && (j as usize) < digits.len() {
            digits[j as usize]
        } else {
            0
        }
    };

    let int_groups = if weight >= 0 { weight as usize + 1 } else { 0 };
    let mut out = String::with_capacity(int_groups * 4 + dscale as usize + 3);
    if sign == SIGN_NEG {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        let mut first = true;
        for exp in (0..=weight).rev() {
            let d = group(exp);
            if first {
                // Leading zero groups (not stored normally) are skipped.
                if d == 0 && exp > 0 {
                    continue;
                }
                out.push_str(&d.to_string());
                first = false;
            } else {
                push_padded(&mut out, d);
            }
        }
        if first {
            out.push('0');
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut remaining = dscale as usize;
        let mut exp = -1;
        while remaining > 0 {
            let mut buf = String::with_capacity(4);
            push_padded(&mut buf, group(exp));
            let take = remaining.min(4);
            out.push_str(&buf[..take]);
            remaining -= take;
            exp -= 1;
        }
    }
    Ok(out)
}

fn push_padded(out: &mut String, d: u16) {
    let bytes = [
        b'0' + (d / 1000) as u8,
        b'0' + (d / 100 % 10) as u8,
        b'0' + (d / 10 % 10) as u8,
        b'0' + (d % 10) as u8,
    ];
    for b in bytes {
        out.push(b as char);
    }
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
            assert_eq!(
                to_string(&encode(digits, *weight, *sign, *dscale)).unwrap(),
                *want
            );
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
