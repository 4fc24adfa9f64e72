//! AWS Signature Version 4 for a POST to `/` with no query string (every
//! DynamoDB call): canonical request, string to sign, signing key, and
//! the `Authorization` header. No I/O, no clock: the caller gives the time.
//! Checked byte for byte against botocore's signer in the tests.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Credentials of a request. `Debug` shows the access key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 accepts any key length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// `YYYYMMDD'T'HHMMSS'Z'` of `unix_seconds`.
pub fn amz_date(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The canonical form of a header value: trimmed, inner runs of spaces as one.
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Signs a `POST /` request. `headers` are the headers to sign (names in
/// any case; `host` and `x-amz-date` among them, `x-amz-security-token`
/// too when the credentials have a session token); gives the value of
/// the `Authorization` header.
pub fn authorization(
    credentials: &Credentials,
    region: &str,
    service: &str,
    amz_date: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let mut canon: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), canonical_value(v)))
        .collect();
    canon.sort();
    let signed: Vec<&str> = canon.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let mut request = String::from("POST\n/\n\n");
    for (k, v) in &canon {
        request.push_str(k);
        request.push(':');
        request.push_str(v);
        request.push('\n');
    }
    request.push('\n');
    request.push_str(&signed);
    request.push('\n');
    request.push_str(&sha256_hex(body));

    let date = amz_date.get(..8).unwrap_or(amz_date);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(request.as_bytes())
    );
    let k_date = hmac(
        format!("AWS4{}", credentials.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        credentials.access_key_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
    }

    /// Our own request, signed by botocore 1.43 (`SigV4Auth(creds,
    /// "dynamodb", "eu-west-3").add_auth(…)` with the same headers and
    /// body, the clock fixed to 2026-11-30 23:05:09 UTC): the
    /// `Authorization` header must be byte-identical. The script is
    /// `tests/fixtures/sigv4_botocore.py`; `tests/tests/dynamodb.rs` runs
    /// it again against the botocore installed with moto.
    #[test]
    fn matches_botocore() {
        let creds = Credentials {
            access_key_id: "AKIDDRIVERBOX0TEST".into(),
            secret_access_key: "dbx/Secret+Key/For=Signing0123456789abcd".into(),
            session_token: Some("FwoGZXIvYXdzEXAMPLE//session+token==".into()),
        };
        let body = br#"{"Statement":"SELECT * FROM \"users\" WHERE pk = ?","Parameters":[{"S":"a  b"}]}"#;
        let headers = vec![
            ("Content-Type".to_string(), "application/x-amz-json-1.0".to_string()),
            ("Host".to_string(), "127.0.0.1:8000".to_string()),
            ("X-Amz-Date".to_string(), "20261130T230509Z".to_string()),
            (
                "X-Amz-Target".to_string(),
                "DynamoDB_20120810.ExecuteStatement".to_string(),
            ),
            (
                "X-Amz-Security-Token".to_string(),
                "FwoGZXIvYXdzEXAMPLE//session+token==".to_string(),
            ),
        ];
        let auth = authorization(&creds, "eu-west-3", "dynamodb", "20261130T230509Z", &headers, body);
        assert_eq!(auth, BOTOCORE_AUTHORIZATION);
    }

    pub const BOTOCORE_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDDRIVERBOX0TEST/20261130/eu-west-3/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=2ce410693bdc3df1241d76dcc7d300d0605e421cc2bc44a491f53e2100033858";

    #[test]
    fn debug_hides_secrets() {
        let creds = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret".into(),
            session_token: Some("tok-secret".into()),
        };
        let text = format!("{creds:?}");
        assert!(text.contains("AKID") && !text.contains("very-secret") && !text.contains("tok-secret"));
    }
}
