//! A fake DynamoDB endpoint: HTTP/1.1 with JSON bodies
//! (`X-Amz-Target: DynamoDB_20120810.<Operation>`), kept-alive
//! connections, no TLS, no signature check. It answers well until its
//! [`Script`] says to misbehave.
//!
//! Well-behaved answers: `ExecuteStatement` of a `SELECT` gives one item
//! `{"x": {"N": "1"}}`, of anything else `{}`; `ListTables` gives the
//! table `t`; anything else `{}`. Requests are counted per connection
//! from 0; every request's operation and body is recorded, across
//! connections, in [`FakeDynamo::requests`].

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use super::Action;
use super::Listener;

/// The behaviour of one connection.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// `(request number, action)`: misbehave on that request.
    pub misbehave: Option<(usize, Action)>,
}

impl Script {
    /// A server that behaves.
    pub fn good() -> Script {
        Script::default()
    }

    /// `action` on request `n` of the connection.
    pub fn at(n: usize, action: Action) -> Script {
        Script {
            misbehave: Some((n, action)),
        }
    }
}

/// One request as the server read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The connection it came on (from 0).
    pub connection: usize,
    /// The operation of `X-Amz-Target`, e.g. `ExecuteStatement`.
    pub operation: String,
    pub body: String,
}

/// A running fake endpoint; stops on drop.
pub struct FakeDynamo {
    pub port: u16,
    listener: Listener,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeDynamo {
    /// Starts a server whose connection number `i` (from 0) follows `script(i)`.
    pub async fn start(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> FakeDynamo {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let listener = Listener::start(move |socket, n| {
            let (s, log) = (script(n), log.clone());
            async move {
                let _ = serve(socket, s, n, log).await;
            }
        })
        .await;
        FakeDynamo {
            port: listener.port,
            listener,
            requests,
        }
    }

    /// Every connection follows `script`.
    pub async fn always(script: Script) -> FakeDynamo {
        FakeDynamo::start(move |_| script.clone()).await
    }

    /// The first connection follows `script`, later ones behave.
    pub async fn first(script: Script) -> FakeDynamo {
        FakeDynamo::start(move |i| if i == 0 { script.clone() } else { Script::good() }).await
    }

    /// A URL for this server (no TLS, any credentials), with extra `&k=v` parameters.
    pub fn url(&self, extra: &str) -> String {
        format!(
            "dynamodb://AKIDFAKE:fake%2Fsecret@127.0.0.1:{}?region=us-east-1&tls=disable{extra}",
            self.port
        )
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.listener.accepted()
    }

    /// The requests read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("request log").clone()
    }
}

/// A response with `status`, `reason`, extra header lines (each ending in
/// `\r\n`) and `body`, framed by `Content-Length`.
pub fn response(status: u16, reason: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A 200 with a JSON `body`.
pub fn ok(body: &str) -> Vec<u8> {
    response(200, "OK", "", body)
}

/// An AWS error answer: `status` and `{"__type": "…#TYPE", "message": …}`.
pub fn aws_error(status: u16, error_type: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{error_type}"),
        "message": message,
    })
    .to_string();
    response(status, "Error", "", &body)
}

/// The well-behaved answer to `operation` with `body`.
pub fn good_answer(operation: &str, body: &str) -> Vec<u8> {
    match operation {
        "ExecuteStatement" => {
            let statement = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|j| j.get("Statement").and_then(|s| s.as_str()).map(str::to_string))
                .unwrap_or_default();
            if statement.trim_start().to_ascii_uppercase().starts_with("SELECT") {
                ok(r#"{"Items":[{"x":{"N":"1"}}]}"#)
            } else {
                ok("{}")
            }
        }
        "ListTables" => ok(r#"{"TableNames":["t"]}"#),
        _ => ok("{}"),
    }
}

/// Reads one request: its operation and body. `Ok(None)` when the client
/// closed the connection.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<(String, String)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("request head too long"));
        }
        match socket.read(&mut chunk).await? {
            0 => return Ok(None),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let operation = header("x-amz-target")
        .and_then(|t| t.rsplit('.').next().map(str::to_string))
        .unwrap_or_default();
    while buf.len() < head_end + len {
        match socket.read(&mut chunk).await? {
            0 => return Ok(None),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
    Ok(Some((operation, body)))
}

async fn serve(
    mut socket: TcpStream,
    script: Script,
    connection: usize,
    log: Arc<Mutex<Vec<Request>>>,
) -> std::io::Result<()> {
    let mut n = 0;
    while let Some((operation, body)) = read_request(&mut socket).await? {
        log.lock().expect("request log").push(Request {
            connection,
            operation: operation.clone(),
            body: body.clone(),
        });
        let request = n;
        n += 1;
        match &script.misbehave {
            Some((at, action)) if action.answers(*at, request) => {
                if !action.perform(&mut socket, <[u8]>::to_vec).await? {
                    return Ok(());
                }
            }
            _ => socket.write_all(&good_answer(&operation, &body)).await?,
        }
    }
    Ok(())
}
