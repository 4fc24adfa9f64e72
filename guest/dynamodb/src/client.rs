//! One DynamoDB endpoint over the host transport: signed JSON calls
//! (`X-Amz-Target: DynamoDB_20120810.<Operation>`) on a kept-alive HTTP/1.1
//! connection, reopened when the server closed it; AWS errors mapped to
//! the portable kinds; retries with backoff for throttling, only for calls
//! that are safe to repeat.

use driverbox_guest_sdk::types::{ConnectConfig, ErrorKind, ServerError, TlsMode};
use driverbox_guest_sdk::{transport, Error, Result};
use serde_json::Value as Json;

use crate::http::{self, Response};
use crate::sigv4::{self, Credentials};

/// Most bytes of one response body (DynamoDB pages are at most 1 MB; a
/// BatchGetItem answer at most 16 MB).
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// Retries of a throttled idempotent call.
const MAX_RETRIES: u32 = 5;

/// Whether a call may be sent twice with the same effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotent {
    Yes,
    No,
}

/// What the driver's own options say.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub region: String,
    pub credentials: Credentials,
}

impl Settings {
    /// Reads the connect config: the endpoint (the host made it from the
    /// URL, `endpoint` or the region), the region, the credentials.
    /// Errors: `invalid-input` naming what is missing.
    pub fn from_config(config: &ConnectConfig) -> Result<Settings> {
        let endpoint = config
            .hosts
            .first()
            .ok_or_else(|| Error::invalid("the connection names no DynamoDB endpoint"))?;
        let option = |k: &str| {
            config
                .options
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let region = option("region").unwrap_or_else(|| "us-east-1".into());
        if !region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::invalid(format!("region {region:?} is not a region name")));
        }
        let access_key_id = config.user.clone().filter(|u| !u.is_empty()).ok_or_else(|| {
            Error::authentication(
                "no AWS access key: give dynamodb://ACCESS_KEY:SECRET@…, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a profile of ~/.aws/credentials (AWS_PROFILE, ?profile=)",
            )
        })?;
        let secret_access_key = config.password.clone().ok_or_else(|| {
            Error::authentication("no AWS secret access key: give it in the URL or set AWS_SECRET_ACCESS_KEY")
        })?;
        Ok(Settings {
            host: endpoint.host.clone(),
            port: endpoint.port,
            tls: config.tls != TlsMode::Disable,
            region,
            credentials: Credentials {
                access_key_id,
                secret_access_key,
                session_token: option("session_token"),
            },
        })
    }

    /// The `Host` header: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if (self.tls && self.port == 443) || (!self.tls && self.port == 80) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// A socket with a read buffer.
struct Conn {
    socket: transport::Socket,
    buf: Vec<u8>,
    /// Responses read on this socket so far.
    used: u32,
}

/// The client of one endpoint.
pub struct Client {
    pub settings: Settings,
    conn: Option<Conn>,
    /// The clock, as Unix seconds (fixed in tests).
    now: fn() -> i64,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The portable kind of an AWS error type (the part after `#`).
pub fn kind_of(error_type: &str, message: &str) -> ErrorKind {
    match error_type {
        "ConditionalCheckFailedException" => ErrorKind::CheckViolation,
        "ResourceNotFoundException" | "TableNotFoundException" | "IndexNotFoundException" => ErrorKind::UndefinedObject,
        "ResourceInUseException" | "TableAlreadyExistsException" => {
            if message.contains("not found") || message.contains("being") {
                ErrorKind::Other
            } else {
                ErrorKind::DuplicateObject
            }
        }
        "DuplicateItemException" => ErrorKind::UniqueViolation,
        "ValidationException" | "SerializationException" => {
            let m = message.to_ascii_lowercase();
            if m.contains("well formed") || m.contains("syntax") || m.contains("unexpected token") {
                ErrorKind::Syntax
            } else {
                ErrorKind::InvalidInput
            }
        }
        "TransactionConflictException"
        | "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TransactionInProgressException" => ErrorKind::TransactionConflict,
        "TransactionCanceledException" => {
            if message.contains("ConditionalCheckFailed") {
                ErrorKind::CheckViolation
            } else if message.contains("DuplicateItem") {
                ErrorKind::UniqueViolation
            } else {
                ErrorKind::TransactionConflict
            }
        }
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "MissingAuthenticationTokenException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "SignatureDoesNotMatch" => ErrorKind::Authentication,
        "AccessDeniedException" | "UnauthorizedOperation" => ErrorKind::Permission,
        "ItemCollectionSizeLimitExceededException" => ErrorKind::Data,
        _ => ErrorKind::Other,
    }
}

/// Whether an error may go away on its own: throttling, and AWS's 500/503
/// with or without an AWS error body (a 5xx from a proxy or load balancer
/// in front of the endpoint has none: its type is `HTTP503` …).
fn is_throttling(error_type: &str) -> bool {
    matches!(
        error_type,
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "LimitExceededException"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "HTTP500"
            | "HTTP502"
            | "HTTP503"
            | "HTTP504"
    )
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// The error of a response that is not 200: AWS's JSON error body
/// (`__type`, `message`), else the HTTP status. `None` for a 200.
pub fn error_of(resp: &Response) -> Option<(Error, String)> {
    if resp.status == 200 {
        return None;
    }
    let parsed: Option<Json> = serde_json::from_slice(&resp.body).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    let (error_type, message) = match field("__type") {
        Some(t) => {
            let short = t.rsplit('#').next().unwrap_or(&t).to_string();
            let message = field("message")
                .or_else(|| field("Message"))
                .unwrap_or_else(|| short.clone());
            (short, message)
        }
        None => {
            let body = String::from_utf8_lossy(&resp.body);
            let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
            (
                format!("HTTP{}", resp.status),
                format!(
                    "HTTP {} {}{}",
                    resp.status,
                    resp.reason,
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", shorten(&text, 200))
                    }
                ),
            )
        }
    };
    let mut kind = kind_of(&error_type, &message);
    if kind == ErrorKind::Other && error_type.starts_with("HTTP") {
        kind = match resp.status {
            403 => ErrorKind::Permission,
            401 => ErrorKind::Authentication,
            400 | 413 => ErrorKind::InvalidInput,
            _ => ErrorKind::Other,
        };
    }
    let detail = parsed
        .as_ref()
        .and_then(|j| j.get("CancellationReasons"))
        .map(|reasons| format!("cancellation reasons: {reasons}"));
    let error = Error::Server(ServerError {
        kind,
        code: error_type.clone(),
        vendor_code: Some(i32::from(resp.status)),
        message,
        detail,
        hint: None,
        position: None,
        schema_name: None,
        table_name: None,
        column_name: None,
        constraint_name: None,
        context: None,
    });
    Some((error, error_type))
}

impl Client {
    /// A client; no socket is opened until the first call.
    pub fn new(settings: Settings) -> Client {
        Client {
            settings,
            conn: None,
            now: unix_now,
        }
    }

    fn open(&mut self) -> Result<Conn> {
        let s = &self.settings;
        let socket = transport::connect(&s.host, s.port, s.tls)?;
        Ok(Conn {
            socket,
            buf: Vec::new(),
            used: 0,
        })
    }

    /// The signed request bytes of `operation` with `body`.
    pub fn request(&self, operation: &str, body: &[u8], amz_date: &str) -> Vec<u8> {
        let s = &self.settings;
        let mut headers = vec![
            ("content-type".to_string(), "application/x-amz-json-1.0".to_string()),
            ("host".to_string(), s.host_header()),
            ("x-amz-date".to_string(), amz_date.to_string()),
            ("x-amz-target".to_string(), format!("DynamoDB_20120810.{operation}")),
        ];
        if let Some(token) = &s.credentials.session_token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let auth = sigv4::authorization(&s.credentials, &s.region, "dynamodb", amz_date, &headers, body);
        headers.push(("authorization".to_string(), auth));
        headers.push(("content-length".to_string(), body.len().to_string()));
        headers.push((
            "user-agent".to_string(),
            format!("driverbox-dynamodb/{}", env!("CARGO_PKG_VERSION")),
        ));
        http::encode_request(&headers, body)
    }

    /// Sends one request and reads its response on the kept connection
    /// (opened when there is none). A reused connection the server closed
    /// before answering is reopened and the request sent again once.
    fn round_trip(&mut self, operation: &str, body: &[u8]) -> Result<Response> {
        let mut reopened = false;
        loop {
            let mut conn = match self.conn.take() {
                Some(c) => c,
                None => {
                    reopened = true;
                    self.open()?
                }
            };
            let request = self.request(operation, body, &sigv4::amz_date((self.now)()));
            let reused = conn.used > 0;
            match exchange(&mut conn, &request) {
                Ok(resp) => {
                    conn.used += 1;
                    if !resp.close {
                        self.conn = Some(conn);
                    }
                    return Ok(resp);
                }
                Err(Exchange::ClosedBeforeAnswer(_)) if reused && !reopened => continue,
                Err(Exchange::ClosedBeforeAnswer(e) | Exchange::Failed(e)) => return Err(e),
            }
        }
    }

    /// Calls `operation` with the JSON `body`; gives the JSON answer.
    /// Throttling (and AWS's 500/503) is retried with exponential backoff
    /// when `idempotent` says the call may be repeated.
    pub fn call(&mut self, operation: &str, body: &Json, idempotent: Idempotent) -> Result<Json> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::invalid(format!("cannot encode the request: {e}")))?;
        let mut attempt = 0;
        loop {
            let resp = self.round_trip(operation, &bytes)?;
            match error_of(&resp) {
                None => {
                    return serde_json::from_slice(&resp.body).map_err(|e| {
                        Error::protocol(format!(
                            "the answer to {operation} is not JSON ({e}): {}",
                            shorten(&String::from_utf8_lossy(&resp.body), 120)
                        ))
                    })
                }
                Some((error, error_type)) => {
                    if idempotent == Idempotent::Yes && is_throttling(&error_type) && attempt < MAX_RETRIES {
                        backoff(attempt);
                        attempt += 1;
                        continue;
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Closes the kept connection.
    pub fn close(&mut self) {
        self.conn = None;
    }
}

/// Sleeps 25 ms × 2^attempt, plus up to as much again at random (full
/// jitter keeps concurrent clients apart).
pub fn backoff(attempt: u32) {
    let base = 25u64 << attempt.min(8);
    let mut r = [0u8; 2];
    let jitter = match getrandom_fill(&mut r) {
        true => u64::from(u16::from_le_bytes(r)) % base.max(1),
        false => 0,
    };
    std::thread::sleep(std::time::Duration::from_millis(base + jitter));
}

fn getrandom_fill(buf: &mut [u8]) -> bool {
    // The clock's nanoseconds are enough to spread retries.
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (n >> (8 * i)) as u8;
    }
    true
}

enum Exchange {
    /// The server closed the connection before any byte of an answer.
    ClosedBeforeAnswer(Error),
    Failed(Error),
}

fn exchange(conn: &mut Conn, request: &[u8]) -> std::result::Result<Response, Exchange> {
    if let Err(e) = conn.socket.write(request) {
        return Err(if conn.used > 0 {
            Exchange::ClosedBeforeAnswer(e)
        } else {
            Exchange::Failed(e)
        });
    }
    let mut closed = false;
    loop {
        match http::parse_response(&conn.buf, closed, MAX_BODY) {
            Ok(Some((resp, used))) => {
                conn.buf.drain(..used);
                return Ok(resp);
            }
            Ok(None) => {}
            Err(e) if closed && conn.buf.is_empty() => return Err(Exchange::ClosedBeforeAnswer(e)),
            Err(e) => return Err(Exchange::Failed(e)),
        }
        if closed {
            return Err(Exchange::Failed(Error::protocol("incomplete HTTP response")));
        }
        match conn.socket.read(64 * 1024) {
            Ok(chunk) if chunk.is_empty() => closed = true,
            Ok(chunk) => conn.buf.extend_from_slice(&chunk),
            Err(e) if conn.buf.is_empty() && conn.used > 0 => return Err(Exchange::ClosedBeforeAnswer(e)),
            Err(e) => return Err(Exchange::Failed(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            reason: "Bad Request".into(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            close: false,
        }
    }

    #[test]
    fn errors_map_to_kinds() {
        let cases = [
            (
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
                ErrorKind::CheckViolation,
                "ConditionalCheckFailedException",
            ),
            (
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
                ErrorKind::UndefinedObject,
                "ResourceNotFoundException",
            ),
            (
                r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}"#,
                ErrorKind::InvalidInput,
                "ValidationException",
            ),
            (
                r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Statement wasn't well formed, can't be processed"}"#,
                ErrorKind::Syntax,
                "ValidationException",
            ),
            (
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","Message":"slow down"}"#,
                ErrorKind::TransactionConflict,
                "ProvisionedThroughputExceededException",
            ),
            (
                r#"{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}"#,
                ErrorKind::Authentication,
                "UnrecognizedClientException",
            ),
            (
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#DuplicateItemException","message":"Duplicate primary key exists in table"}"#,
                ErrorKind::UniqueViolation,
                "DuplicateItemException",
            ),
        ];
        for (body, kind, code) in cases {
            let (e, t) = error_of(&resp(400, body)).unwrap();
            assert_eq!((e.kind(), t.as_str()), (kind, code), "{body}");
            let Error::Server(s) = e else { panic!() };
            assert_eq!(s.code, code);
            assert_eq!(s.vendor_code, Some(400));
        }
        let (e, t) = error_of(&resp(500, "<html><h1>Internal Server Error</h1></html>")).unwrap();
        assert_eq!(t, "HTTP500");
        assert!(e.message().contains("HTTP 500") && e.message().contains("Internal Server Error"));
        assert!(error_of(&resp(200, "{}")).is_none());
    }

    #[test]
    fn server_errors_without_an_aws_body_are_retried_like_throttling() {
        for status in [500, 502, 503, 504] {
            let (_, t) = error_of(&resp(status, "<html>unavailable</html>")).unwrap();
            assert!(is_throttling(&t), "{status}: {t}");
        }
        for status in [400, 403, 404, 413] {
            let (_, t) = error_of(&resp(status, "no")).unwrap();
            assert!(!is_throttling(&t), "{status}: {t}");
        }
    }

    #[test]
    fn host_header_and_settings() {
        use driverbox_guest_sdk::types::Endpoint;
        let mut config = ConnectConfig {
            hosts: vec![Endpoint {
                host: "dynamodb.eu-west-3.amazonaws.com".into(),
                port: 443,
                port_given: false,
            }],
            user: Some("AKID".into()),
            password: Some("secret".into()),
            database: None,
            tls: TlsMode::VerifyFull,
            application_name: None,
            options: vec![("region".into(), "eu-west-3".into())],
            scheme: "dynamodb".into(),
        };
        let s = Settings::from_config(&config).unwrap();
        assert_eq!(s.host_header(), "dynamodb.eu-west-3.amazonaws.com");
        assert_eq!(s.region, "eu-west-3");
        config.hosts[0] = Endpoint {
            host: "127.0.0.1".into(),
            port: 8000,
            port_given: true,
        };
        config.tls = TlsMode::Disable;
        assert_eq!(Settings::from_config(&config).unwrap().host_header(), "127.0.0.1:8000");
        config.user = None;
        let e = Settings::from_config(&config).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication);
        config.user = Some("AKID".into());
        config.options = vec![("region".into(), "us-east-1\r\nX: y".into())];
        assert_eq!(
            Settings::from_config(&config).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
