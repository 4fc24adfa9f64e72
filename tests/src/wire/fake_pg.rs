//! A fake PostgreSQL server that speaks enough of the protocol (startup,
//! trust or SCRAM authentication, simple and extended query) to reach a
//! chosen step, then misbehaves as its [`Script`] says.
//!
//! A well-behaved reply to any query is one `int4` column `x` with the
//! value 1 (`SELECT 1`). Requests are counted per connection from 0: each
//! simple `Query`, and each run of extended-protocol messages ended by
//! `Sync` (the driver's `query` is two: Parse/Describe, then Bind/Execute).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use super::Action;
use super::{hang, Listener};

/// How a connection's startup goes.
#[derive(Clone, Debug)]
pub enum Startup {
    /// AuthenticationOk, parameters, BackendKeyData, ReadyForQuery.
    Trust,
    /// Accepts the TCP connection and never answers.
    Silent,
    /// SCRAM-SHA-256 up to the server-first message with this iteration
    /// count; then waits.
    Scram { iterations: u32 },
    /// Sends these bytes as the reply to the startup message, then waits.
    Raw(Vec<u8>),
}

/// The behaviour of one connection.
#[derive(Clone, Debug)]
pub struct Script {
    pub startup: Startup,
    /// `(request number, action)`: misbehave on that request.
    pub misbehave: Option<(usize, Action)>,
    /// Type of the one column of well-behaved replies: 23 (`int4`, the
    /// value 1) or 25 (`text`, the value `1`).
    pub column_oid: u32,
}

impl Script {
    /// A server that behaves.
    pub fn good() -> Script {
        Script {
            startup: Startup::Trust,
            misbehave: None,
            column_oid: 23,
        }
    }

    /// Trust startup, then `action` on request `n`.
    pub fn at(n: usize, action: Action) -> Script {
        Script {
            startup: Startup::Trust,
            misbehave: Some((n, action)),
            column_oid: 23,
        }
    }

    /// The given startup, then well-behaved.
    pub fn startup(startup: Startup) -> Script {
        Script {
            startup,
            misbehave: None,
            column_oid: 23,
        }
    }
}

/// A running fake server; stops on drop.
pub struct FakePg {
    pub port: u16,
    listener: Listener,
}

impl FakePg {
    /// Starts a server whose connection number `i` (from 0) follows `script(i)`.
    pub async fn start(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> FakePg {
        let listener = Listener::start(move |socket, n| {
            let s = script(n);
            async move {
                let _ = serve(socket, s).await;
            }
        })
        .await;
        FakePg {
            port: listener.port,
            listener,
        }
    }

    /// Every connection misbehaves the same way.
    pub async fn always(script: Script) -> FakePg {
        FakePg::start(move |_| script.clone()).await
    }

    /// The first connection follows `script`, later ones behave.
    pub async fn first(script: Script) -> FakePg {
        FakePg::start(move |i| if i == 0 { script.clone() } else { Script::good() }).await
    }

    /// A URL for this server (no TLS), with extra `&k=v` parameters.
    pub fn url(&self, extra: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/test?sslmode=disable{extra}",
            self.port
        )
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.listener.accepted()
    }
}

/// One backend message.
pub fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// ReadyForQuery, idle.
pub fn ready() -> Vec<u8> {
    msg(b'Z', b"I")
}

/// RowDescription of one column `x` of type `oid`.
pub fn row_description(oid: u32, format: i16) -> Vec<u8> {
    let mut b = vec![0, 1];
    b.extend_from_slice(b"x\0");
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&oid.to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&format.to_be_bytes());
    msg(b'T', &b)
}

/// DataRow with the given fields (`None`: NULL).
pub fn data_row(fields: &[Option<&[u8]>]) -> Vec<u8> {
    let mut b = (fields.len() as i16).to_be_bytes().to_vec();
    for f in fields {
        match f {
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    msg(b'D', &b)
}

/// CommandComplete with `tag`.
pub fn complete(tag: &str) -> Vec<u8> {
    let mut b = tag.as_bytes().to_vec();
    b.push(0);
    msg(b'C', &b)
}

/// ErrorResponse with severity, SQLSTATE and message.
pub fn error(severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for (t, v) in [(b'S', severity), (b'V', severity), (b'C', code), (b'M', message)] {
        b.push(t);
        b.extend_from_slice(v.as_bytes());
        b.push(0);
    }
    b.push(0);
    msg(b'E', &b)
}

/// The well-behaved reply to the extended-protocol run `messages`, or to a
/// simple query.
fn good_reply(messages: &[(u8, Vec<u8>)], oid: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let (format, value) = if oid == 23 {
        (1, 1i32.to_be_bytes().to_vec())
    } else {
        (0, b"1".to_vec())
    };
    for (t, body) in messages {
        match t {
            b'P' => out.extend(msg(b'1', &[])),
            b'B' => out.extend(msg(b'2', &[])),
            b'C' => out.extend(msg(b'3', &[])),
            b'D' => {
                if body.first() == Some(&b'S') {
                    out.extend(msg(b't', &[0, 0]));
                }
                out.extend(row_description(oid, format));
            }
            b'E' => {
                out.extend(data_row(&[Some(&value)]));
                out.extend(complete("SELECT 1"));
            }
            b'Q' => {
                out.extend(row_description(oid, 0));
                out.extend(data_row(&[Some(b"1")]));
                out.extend(complete("SELECT 1"));
            }
            _ => {}
        }
    }
    out.extend(ready());
    out
}

async fn read_exact_vec(socket: &mut TcpStream, n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    socket.read_exact(&mut buf).await?;
    Ok(buf)
}

/// A frontend message: tag and body.
async fn read_message(socket: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let head = read_exact_vec(socket, 5).await?;
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]).max(4) as usize;
    if len > 1 << 24 {
        return Err(std::io::Error::other("frontend message too long"));
    }
    Ok((head[0], read_exact_vec(socket, len - 4).await?))
}

/// The startup packet (answering `N` to an SSLRequest first).
async fn read_startup(socket: &mut TcpStream) -> std::io::Result<()> {
    loop {
        let head = read_exact_vec(socket, 4).await?;
        let len = i32::from_be_bytes([head[0], head[1], head[2], head[3]]).max(4) as usize;
        if len > 1 << 16 {
            return Err(std::io::Error::other("startup packet too long"));
        }
        let body = read_exact_vec(socket, len - 4).await?;
        if body.starts_with(&[0x04, 0xd2, 0x16, 0x2f]) {
            socket.write_all(b"N").await?;
            continue;
        }
        return Ok(());
    }
}

fn trust_reply() -> Vec<u8> {
    let mut s = msg(b'R', &0i32.to_be_bytes());
    for (k, v) in [
        ("server_version", "15.0"),
        ("server_encoding", "UTF8"),
        ("client_encoding", "UTF8"),
        ("integer_datetimes", "on"),
        ("DateStyle", "ISO, MDY"),
        ("TimeZone", "UTC"),
        ("standard_conforming_strings", "on"),
    ] {
        let mut b = k.as_bytes().to_vec();
        b.push(0);
        b.extend_from_slice(v.as_bytes());
        b.push(0);
        s.extend(msg(b'S', &b));
    }
    s.extend(msg(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
    s.extend(ready());
    s
}

async fn serve(mut socket: TcpStream, script: Script) -> std::io::Result<()> {
    read_startup(&mut socket).await?;
    match &script.startup {
        Startup::Trust => socket.write_all(&trust_reply()).await?,
        Startup::Silent => return hang().await,
        Startup::Raw(bytes) => {
            socket.write_all(bytes).await?;
            return hang().await;
        }
        Startup::Scram { iterations } => {
            let mut b = 10i32.to_be_bytes().to_vec();
            b.extend_from_slice(b"SCRAM-SHA-256\0\0");
            socket.write_all(&msg(b'R', &b)).await?;
            // SASLInitialResponse: mechanism, length, client-first message.
            let (_, body) = read_message(&mut socket).await?;
            let text = String::from_utf8_lossy(&body).into_owned();
            let nonce = text.split("r=").nth(1).unwrap_or("").to_string();
            let server_first = format!("r={nonce}fake,s=c2FsdHNhbHQ=,i={iterations}");
            let mut b = 11i32.to_be_bytes().to_vec();
            b.extend_from_slice(server_first.as_bytes());
            socket.write_all(&msg(b'R', &b)).await?;
            return hang().await;
        }
    }
    let mut request = 0;
    let mut pending: Vec<(u8, Vec<u8>)> = Vec::new();
    loop {
        let (t, body) = read_message(&mut socket).await?;
        match t {
            b'X' => return Ok(()),
            b'S' | b'Q' => {}
            b'H' => continue,
            _ => {
                pending.push((t, body));
                continue;
            }
        }
        if t == b'Q' {
            pending.push((t, body));
        }
        let messages = std::mem::take(&mut pending);
        let n = request;
        request += 1;
        match &script.misbehave {
            Some((at, action)) if action.answers(*at, n) => {
                if !action.perform(&mut socket, <[u8]>::to_vec).await? {
                    return Ok(());
                }
            }
            _ => socket.write_all(&good_reply(&messages, script.column_oid)).await?,
        }
    }
}
