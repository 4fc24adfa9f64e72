//! The server's greeting (Protocol::HandshakeV10), parsed by
//! `mysql_common` after a check of ours.

use driverbox_guest_sdk::{Error, Result};
use mysql_common::io::ParseBuf;
use mysql_common::packets::HandshakePacket;

/// Parses the greeting. `mysql_common` reads the auth-plugin-data length
/// as an `i8` and subtracts 8 (an overflow, a panic in builds with
/// overflow checks, for `0x80..=0x87`; a wrong length above `0x7F`): such
/// a length is refused here first. Servers send 21.
/// Errors: `protocol`.
pub fn parse_greeting(p: &[u8]) -> Result<HandshakePacket<'_>> {
    // protocol version, server version up to its NUL, then 20 bytes before
    // the length (connection id, scramble, filler, capabilities, collation,
    // status, capabilities).
    if let Some(nul) = p.get(1..).and_then(|v| v.iter().position(|b| *b == 0)) {
        if let Some(&len) = p.get(1 + nul + 1 + 20) {
            if len > 0x7F {
                return Err(Error::protocol(format!(
                    "malformed MySQL handshake: auth-plugin-data length {len}"
                )));
            }
        }
    }
    ParseBuf(p)
        .parse(())
        .map_err(|e| Error::protocol(format!("malformed MySQL handshake: {e}")))
}

/// The largest RSA key accepted from a server (bits of the modulus, bytes
/// of the exponent): the encryption's cost grows with both.
const MAX_MODULUS_BITS: usize = 16_384;
const MAX_EXPONENT_BYTES: usize = 64;

/// A DER length as `mysql_common` reads it (long form: the low bits of
/// the number, as many as a `usize` holds); `None` where it would index
/// past the end.
fn der_len(der: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = der.split_first()?;
    if first & 0x80 == 0 {
        return Some((usize::from(first), rest));
    }
    let n = usize::from(first & 0x7F);
    let bytes = rest.get(..n)?;
    let value = bytes.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
    Some((value as usize, &rest[n..]))
}

/// A tagged DER value: its bytes and what follows.
fn der_value(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = der.split_first()?;
    if t != tag {
        return None;
    }
    let (len, rest) = der_len(rest)?;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// Modulus and exponent of a PKCS#1 `RSAPublicKey`.
fn pkcs1(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (fields, _) = der_value(der, 0x30)?;
    let (modulus, fields) = der_value(fields, 0x02)?;
    let (exponent, _) = der_value(fields, 0x02)?;
    Some((modulus, exponent))
}

/// Modulus and exponent of a PKCS#8 `SubjectPublicKeyInfo`.
fn pkcs8(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (info, _) = der_value(der, 0x30)?;
    let (_algorithm, rest) = der_value(info, 0x30)?;
    let (bits, _) = der_value(rest, 0x03)?;
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    pkcs1(key)
}

/// Checks the RSA public key a server sends during `caching_sha2_password`
/// or `sha256_password` full authentication before `mysql_common` uses it:
/// its DER reader indexes without bounds checks, and its OAEP padding
/// subtracts without checks (a key too small for the password panics).
/// Data that is no PEM key is left to `mysql_common`, which refuses it.
/// Errors: `authentication`.
pub fn check_server_key(data: &[u8], password_len: usize) -> Result<()> {
    use mysql_common::crypto::der::{pem_to_der, PubKeyFileType};
    let Ok((der, file_type)) = pem_to_der(data) else {
        return Ok(());
    };
    let (modulus, exponent) = match file_type {
        PubKeyFileType::Pkcs1 => pkcs1(&der),
        PubKeyFileType::Pkcs8 => pkcs8(&der),
    }
    .ok_or_else(|| Error::authentication("the server's RSA public key is malformed"))?;
    let significant = |b: &[u8]| b.iter().position(|x| *x != 0).map_or(0, |i| b.len() - i);
    let m = &modulus[modulus.len() - significant(modulus)..];
    let bits = m
        .first()
        .map_or(0, |top| 8 * (m.len() - 1) + (8 - top.leading_zeros() as usize));
    if bits > MAX_MODULUS_BITS || significant(exponent) > MAX_EXPONENT_BYTES {
        return Err(Error::authentication(format!(
            "the server's RSA public key is larger than {MAX_MODULUS_BITS} bits"
        )));
    }
    // OAEP with SHA-1 needs 42 bytes beside the message (the password and a NUL).
    let octets = (bits + 6) >> 3;
    if octets < password_len + 1 + 42 {
        return Err(Error::authentication(format!(
            "the server's RSA public key ({bits} bits) is too small to encrypt the password"
        )));
    }
    Ok(())
}

/// The `(major, minor, patch)` a server version string starts with:
/// one or two digits, a dot, one or two digits, a dot, one to three
/// digits, then anything (MariaDB's `5.5.5-10.11.19-MariaDB` gives 5.5.5, as the
/// replication-compatible prefix says). `None` otherwise.
///
/// `mysql_common`'s `server_version_parsed` answers the same with a regex
/// that each new instance of the driver compiled again at connect: ~30 %
/// of a connection's guest CPU and 244 KiB of heap per connection.
pub fn server_version(version: &str) -> Option<(u16, u16, u16)> {
    let mut parts = version.splitn(3, '.');
    let mut number = |max_digits: usize, last: bool| -> Option<u16> {
        let part = parts.next()?;
        let digits = if last {
            // The rest of the string may follow the patch number's digits.
            let end = part.find(|c: char| !c.is_ascii_digit()).unwrap_or(part.len());
            &part[..end.min(max_digits)]
        } else {
            part
        };
        if digits.is_empty() || digits.len() > max_digits || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let major = number(2, false)?;
    let minor = number(2, false)?;
    let patch = number(3, true)?;
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(label: &str, base64: &str) -> Vec<u8> {
        format!("-----BEGIN {label}-----\n{base64}\n-----END {label}-----\n").into_bytes()
    }

    #[test]
    fn server_keys_are_checked_before_mysql_common_reads_them() {
        // A truncated length, a bit string of length 0, a 39-bit modulus.
        for key in [
            pem("PUBLIC KEY", "MII="),
            pem("PUBLIC KEY", "MAQwAAMA"),
            pem("RSA PUBLIC KEY", "MAoCBQDFOpsnAgED"),
        ] {
            let e = check_server_key(&key, 8).unwrap_err();
            assert_eq!(
                e.kind(),
                driverbox_guest_sdk::ErrorKind::Authentication,
                "{}",
                e.message()
            );
        }
        // Not a key at all: mysql_common refuses it itself.
        assert!(check_server_key(b"\x04", 8).is_ok());
    }

    #[test]
    fn server_versions_parse_as_mysql_common_reads_them() {
        assert_eq!(server_version("8.0.36"), Some((8, 0, 36)));
        assert_eq!(server_version("8.0.36-0ubuntu0.22.04.1"), Some((8, 0, 36)));
        assert_eq!(server_version("5.5.5-10.11.19-MariaDB-0+deb12u1"), Some((5, 5, 5)));
        assert_eq!(server_version("11.4.2-MariaDB"), Some((11, 4, 2)));
        assert_eq!(server_version("10.11.1234"), Some((10, 11, 123)));
        for bad in ["", "8", "8.0", "123.1.1", "8.123.1", "8.0.x", "a.b.c", "8..1", "-1.0.0"] {
            assert_eq!(server_version(bad), None, "{bad:?}");
        }
        // The same answers as mysql_common's regex, on the same strings.
        for v in [
            "8.0.36",
            "5.5.5-10.11.19-MariaDB",
            "11.4.2-MariaDB",
            "10.11.1234",
            "8.0",
            "123.1.1",
            "8.0.x",
        ] {
            let mut greeting = vec![10u8];
            greeting.extend_from_slice(v.as_bytes());
            greeting.push(0);
            greeting.extend_from_slice(&[1, 0, 0, 0]);
            greeting.extend_from_slice(b"abcdefgh\0");
            greeting.extend_from_slice(&[0xFF, 0xF7, 33, 2, 0, 0xFF, 0x81, 21]);
            greeting.extend_from_slice(&[0; 10]);
            greeting.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
            let hs = parse_greeting(&greeting).unwrap();
            assert_eq!(server_version(v), hs.server_version_parsed(), "{v:?}");
        }
    }
}
