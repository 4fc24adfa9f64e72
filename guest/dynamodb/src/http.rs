//! HTTP/1.1 as DynamoDB needs it, without I/O: a POST request encoder and
//! a response decoder over a byte buffer (head by `httparse`; bodies by
//! `Content-Length` or chunked transfer coding). The connection keeps the
//! socket open between requests unless the server says `Connection: close`.

use driverbox_guest_sdk::{Error, Result};

/// Most bytes of a response head.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most header lines of a response.
const MAX_HEADERS: usize = 64;

/// One request: method POST, path `/`, the given headers (names in lower
/// case, as signed) and body.
pub fn encode_request(headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(b"POST / HTTP/1.1\r\n");
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The server asked to close the connection (or spoke HTTP/1.0 without keep-alive).
    pub close: bool,
}

impl Response {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// The head of a response: status, headers, and where the body starts.
#[derive(Debug)]
struct Head {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    len: usize,
    framing: Framing,
    close: bool,
}

fn parse_head(buf: &[u8], max_body: usize) -> Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > MAX_HEAD {
                return Err(Error::protocol(format!(
                    "the HTTP response head is longer than {MAX_HEAD} bytes"
                )));
            }
            return Ok(None);
        }
        Err(e) => return Err(Error::protocol(format!("the server's answer is not HTTP/1.1: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let version = resp.version.unwrap_or(1);
    let reason = resp.reason.unwrap_or("").to_string();
    let mut out = Vec::with_capacity(resp.headers.len());
    for h in resp.headers.iter() {
        let v = std::str::from_utf8(h.value)
            .map_err(|_| Error::protocol(format!("HTTP header {} is not UTF-8", h.name)))?;
        out.push((h.name.to_ascii_lowercase(), v.trim().to_string()));
    }
    fn get<'a>(out: &'a [(String, String)], n: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        out.iter().filter(move |(k, _)| k == n).map(|(_, v)| v.as_str())
    }
    let connection: Vec<String> = get(&out, "connection").map(|v| v.to_ascii_lowercase()).collect();
    let close = connection.iter().any(|v| v.contains("close"))
        || (version == 0 && !connection.iter().any(|v| v.contains("keep-alive")));
    let chunked = get(&out, "transfer-encoding").any(|v| v.to_ascii_lowercase().contains("chunked"));
    let lengths: Vec<&str> = get(&out, "content-length").collect();
    let framing = if chunked {
        Framing::Chunked
    } else if let Some(first) = lengths.first() {
        if lengths.iter().any(|l| l != first) {
            return Err(Error::protocol(
                "the HTTP response has conflicting Content-Length headers",
            ));
        }
        let n: u64 = first
            .parse()
            .map_err(|_| Error::protocol(format!("bad HTTP Content-Length {first:?}")))?;
        if n > max_body as u64 {
            return Err(Error::protocol(format!(
                "the HTTP response body of {n} bytes is larger than the limit of {max_body} bytes"
            )));
        }
        Framing::Length(n as usize)
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else {
        Framing::Close
    };
    Ok(Some(Head {
        status,
        reason,
        headers: out,
        len,
        framing,
        close: close || framing == Framing::Close,
    }))
}

/// Decodes a chunked body from `buf`: the body and the bytes used, or
/// `None` when more bytes are needed. The chunks are walked first and
/// copied only once the body is complete: the driver calls this again
/// after every read, and copying each time made a long body quadratic.
fn parse_chunked(buf: &[u8], max_body: usize) -> Result<Option<(Vec<u8>, usize)>> {
    let mut len = 0;
    let Some(used) = walk_chunks(buf, max_body, |c| len += c.len())? else {
        return Ok(None);
    };
    let mut body = Vec::with_capacity(len);
    walk_chunks(buf, max_body, |c| body.extend_from_slice(c))?;
    Ok(Some((body, used)))
}

/// Walks a chunked body, giving each chunk's data to `each`: the bytes
/// used, or `None` when more bytes are needed.
fn walk_chunks(buf: &[u8], max_body: usize, mut each: impl FnMut(&[u8])) -> Result<Option<usize>> {
    let mut len = 0usize;
    let mut at = 0;
    loop {
        let Some(eol) = find_crlf(&buf[at..]) else {
            if buf.len() - at > 1024 {
                return Err(Error::protocol("an HTTP chunk size line is longer than 1 KiB"));
            }
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[at..at + eol])
            .map_err(|_| Error::protocol("an HTTP chunk size line is not text"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Error::protocol(format!("bad HTTP chunk size {size_text:?}")))?;
        at += eol + 2;
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                let Some(eol) = find_crlf(&buf[at..]) else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some(at));
                }
            }
        }
        if len.saturating_add(size) > max_body {
            return Err(Error::protocol(format!(
                "the HTTP response body is larger than the limit of {max_body} bytes"
            )));
        }
        let Some(end) = at.checked_add(size) else {
            return Err(Error::protocol("an HTTP chunk size overflows"));
        };
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(Error::protocol("an HTTP chunk is longer than its size says"));
        }
        each(&buf[at..end]);
        len += size;
        at = end + 2;
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// Decodes one response from the start of `buf`. `closed`: the server has
/// closed the connection, so a body delimited by the close is complete.
/// Gives the response and the bytes it used, or `None` when more bytes
/// are needed. Errors: `protocol` naming what is wrong.
pub fn parse_response(buf: &[u8], closed: bool, max_body: usize) -> Result<Option<(Response, usize)>> {
    let Some(head) = parse_head(buf, max_body)? else {
        if closed {
            return Err(Error::connection(if buf.is_empty() {
                "the server closed the connection without answering".to_string()
            } else {
                "the server closed the connection in the middle of the HTTP response head".to_string()
            }));
        }
        return Ok(None);
    };
    let rest = &buf[head.len..];
    let (body, used) = match head.framing {
        Framing::Length(n) => {
            if rest.len() < n {
                if closed {
                    return Err(Error::connection(format!(
                        "the server closed the connection after {} of {n} body bytes",
                        rest.len()
                    )));
                }
                return Ok(None);
            }
            (rest[..n].to_vec(), n)
        }
        Framing::Chunked => match parse_chunked(rest, max_body)? {
            Some(x) => x,
            None if closed => {
                return Err(Error::connection(
                    "the server closed the connection in the middle of a chunked body",
                ))
            }
            None => return Ok(None),
        },
        Framing::Close => {
            if rest.len() > max_body {
                return Err(Error::protocol(format!(
                    "the HTTP response body is larger than the limit of {max_body} bytes"
                )));
            }
            if !closed {
                return Ok(None);
            }
            (rest.to_vec(), rest.len())
        }
    };
    Ok(Some((
        Response {
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            body,
            close: head.close,
        },
        head.len + used,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::ErrorKind;

    const MAX: usize = 1 << 20;

    #[test]
    fn content_length_and_keep_alive() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1";
        let (r, used) = parse_response(raw, false, MAX).unwrap().unwrap();
        assert_eq!((r.status, r.body.as_slice(), r.close), (200, &b"{}"[..], false));
        assert_eq!(used, raw.len() - 8);
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
        // Every prefix is incomplete, never an error.
        for n in 0..used {
            assert!(parse_response(&raw[..n], false, MAX).unwrap().is_none(), "{n}");
        }
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;x=y\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-T: 1\r\n\r\n";
        let (r, used) = parse_response(raw, false, MAX).unwrap().unwrap();
        assert_eq!(r.body, b"{\"a\":1}");
        assert!(r.close);
        assert_eq!(used, raw.len());
        for n in 0..raw.len() {
            assert!(parse_response(&raw[..n], false, MAX).unwrap().is_none(), "{n}");
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let cases: &[(&[u8], ErrorKind)] = &[
            (b"SSH-2.0-OpenSSH\r\n\r\n", ErrorKind::Protocol),
            (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", ErrorKind::Protocol),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ErrorKind::Protocol,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ErrorKind::Protocol,
            ),
            // A chunk length that lies: more bytes than it says.
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n",
                ErrorKind::Protocol,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
                ErrorKind::Protocol,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
                ErrorKind::Protocol,
            ),
        ];
        for (raw, kind) in cases {
            let e = parse_response(raw, false, MAX).unwrap_err();
            assert_eq!(e.kind(), *kind, "{:?}: {}", String::from_utf8_lossy(raw), e.message());
        }
        // A chunk length that lies the other way: the server closes first.
        let e = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
            true,
            MAX,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection);
        let e = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true, MAX).unwrap_err();
        assert!(e.message().contains("2 of 5"), "{}", e.message());
        let e = parse_response(&vec![b'a'; MAX_HEAD + 1], false, MAX).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn body_until_close() {
        let raw = b"HTTP/1.0 500 Oops\r\n\r\nbroken";
        assert!(parse_response(raw, false, MAX).unwrap().is_none());
        let (r, _) = parse_response(raw, true, MAX).unwrap().unwrap();
        assert_eq!(
            (r.status, r.reason.as_str(), r.body.as_slice(), r.close),
            (500, "Oops", &b"broken"[..], true)
        );
    }

    #[test]
    fn encodes_a_request() {
        let req = encode_request(&[("host".into(), "h:1".into())], b"{}");
        assert_eq!(req, b"POST / HTTP/1.1\r\nhost: h:1\r\n\r\n{}");
    }
}
