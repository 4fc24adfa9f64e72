//! A fake MySQL server that speaks enough of the protocol (handshake v10
//! with `mysql_native_password`, any password accepted, no TLS offered;
//! COM_QUERY, COM_STMT_PREPARE/EXECUTE/CLOSE, COM_PING, COM_QUIT) to reach
//! a chosen step, then misbehaves as its [`Script`] says.
//!
//! The greeting offers `CLIENT_DEPRECATE_EOF`: result sets end with an OK
//! packet whose header is `0xFE`, column definitions are not followed by
//! EOF. A well-behaved reply to a `SELECT` is one `BIGINT` column `x` with
//! the value 1 (text or binary protocol); to other statements an OK.
//! Requests are counted per connection from 0: every command that has an
//! answer, except statements starting with `SET` (the driver's session
//! set-up), which are answered OK and not counted.

use std::collections::HashMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use super::Action;
use super::{hang, Listener};

/// How a connection's startup goes.
#[derive(Clone, Debug)]
pub enum Startup {
    /// The greeting, then OK to any handshake response.
    Native,
    /// Accepts the TCP connection and never sends the greeting.
    Silent,
    /// Sends these bytes instead of the greeting, then waits.
    Raw(Vec<u8>),
}

/// The behaviour of one connection.
#[derive(Clone, Debug)]
pub struct Script {
    pub startup: Startup,
    /// `(request number, action)`: misbehave on that request.
    pub misbehave: Option<(usize, Action)>,
}

impl Script {
    /// A server that behaves.
    pub fn good() -> Script {
        Script {
            startup: Startup::Native,
            misbehave: None,
        }
    }

    /// A normal startup, then `action` on request `n`.
    pub fn at(n: usize, action: Action) -> Script {
        Script {
            startup: Startup::Native,
            misbehave: Some((n, action)),
        }
    }

    /// The given startup, then well-behaved.
    pub fn startup(startup: Startup) -> Script {
        Script {
            startup,
            misbehave: None,
        }
    }
}

/// A running fake server; stops on drop.
pub struct FakeMysql {
    pub port: u16,
    listener: Listener,
}

impl FakeMysql {
    /// Starts a server whose connection number `i` (from 0) follows `script(i)`.
    pub async fn start(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> FakeMysql {
        let listener = Listener::start(move |socket, n| {
            let s = script(n);
            async move {
                let _ = serve(socket, s, n as u32 + 1).await;
            }
        })
        .await;
        FakeMysql {
            port: listener.port,
            listener,
        }
    }

    /// Every connection follows `script`.
    pub async fn always(script: Script) -> FakeMysql {
        FakeMysql::start(move |_| script.clone()).await
    }

    /// The first connection follows `script`, later ones behave.
    pub async fn first(script: Script) -> FakeMysql {
        FakeMysql::start(move |i| if i == 0 { script.clone() } else { Script::good() }).await
    }

    /// A URL for this server (no TLS), with extra `&k=v` parameters.
    pub fn url(&self, extra: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/test?ssl-mode=DISABLED{extra}", self.port)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.listener.accepted()
    }
}

const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_PING: u8 = 0x0E;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;
const COM_STMT_CLOSE: u8 = 0x19;

/// LONG_PASSWORD, FOUND_ROWS, LONG_FLAG, CONNECT_WITH_DB, PROTOCOL_41,
/// TRANSACTIONS, SECURE_CONNECTION, MULTI_STATEMENTS, MULTI_RESULTS,
/// PS_MULTI_RESULTS, PLUGIN_AUTH, PLUGIN_AUTH_LENENC_CLIENT_DATA,
/// DEPRECATE_EOF; not SSL.
const CAPABILITIES: u32 = 0x1
    | 0x2
    | 0x4
    | 0x8
    | 0x200
    | 0x2000
    | 0x8000
    | 0x1_0000
    | 0x2_0000
    | 0x4_0000
    | 0x8_0000
    | 0x20_0000
    | 0x100_0000;
/// SERVER_STATUS_AUTOCOMMIT
const STATUS: u16 = 0x0002;
/// `enum_field_types` of BIGINT.
const LONGLONG: u8 = 8;

/// One packet: 3-byte length, sequence id, payload.
pub fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(payload);
    p
}

/// The payload of the handshake v10 greeting.
pub fn greeting_payload(connection_id: u32) -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(b"8.0.36-fake\0");
    p.extend_from_slice(&connection_id.to_le_bytes());
    p.extend_from_slice(b"abcdefgh");
    p.push(0);
    p.extend_from_slice(&(CAPABILITIES as u16).to_le_bytes());
    p.push(45);
    p.extend_from_slice(&STATUS.to_le_bytes());
    p.extend_from_slice(&((CAPABILITIES >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0");
    p.extend_from_slice(b"mysql_native_password\0");
    p
}

/// The greeting packet.
pub fn greeting(connection_id: u32) -> Vec<u8> {
    packet(0, &greeting_payload(connection_id))
}

/// An OK packet (header `0x00`).
pub fn ok(seq: u8) -> Vec<u8> {
    packet(seq, &[0x00, 0, 0, STATUS as u8, (STATUS >> 8) as u8, 0, 0])
}

/// The OK packet that ends a result set under CLIENT_DEPRECATE_EOF (header `0xFE`).
pub fn end(seq: u8) -> Vec<u8> {
    packet(seq, &[0xFE, 0, 0, STATUS as u8, (STATUS >> 8) as u8, 0, 0])
}

/// An ERR packet with MySQL's code, SQLSTATE and message.
pub fn err(seq: u8, code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut p = vec![0xFF];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(state.as_bytes());
    p.extend_from_slice(message.as_bytes());
    packet(seq, &p)
}

fn lenenc(out: &mut Vec<u8>, b: &[u8]) {
    assert!(b.len() < 251);
    out.push(b.len() as u8);
    out.extend_from_slice(b);
}

/// The column-count packet of a result set.
pub fn column_count(seq: u8, n: u8) -> Vec<u8> {
    packet(seq, &[n])
}

/// A column definition: `BIGINT NOT NULL` named `name`.
pub fn column_def(seq: u8, name: &str) -> Vec<u8> {
    let mut p = Vec::new();
    for s in ["def", "", "", ""] {
        lenenc(&mut p, s.as_bytes());
    }
    lenenc(&mut p, name.as_bytes());
    lenenc(&mut p, b"");
    p.push(0x0C);
    p.extend_from_slice(&63u16.to_le_bytes());
    p.extend_from_slice(&20u32.to_le_bytes());
    p.push(LONGLONG);
    p.extend_from_slice(&(1u16 | 128).to_le_bytes());
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    packet(seq, &p)
}

/// A text-protocol row with the given fields (`None`: NULL).
pub fn text_row(seq: u8, fields: &[Option<&[u8]>]) -> Vec<u8> {
    let mut p = Vec::new();
    for f in fields {
        match f {
            Some(v) => lenenc(&mut p, v),
            None => p.push(0xFB),
        }
    }
    packet(seq, &p)
}

/// A binary-protocol row of BIGINT values, none NULL.
pub fn binary_row(seq: u8, values: &[i64]) -> Vec<u8> {
    let mut p = vec![0x00];
    p.extend(vec![0u8; (values.len() + 7 + 2) / 8]);
    for v in values {
        p.extend_from_slice(&v.to_le_bytes());
    }
    packet(seq, &p)
}

/// The well-behaved text result of `SELECT 1` (sequence ids from 1).
pub fn select_one() -> Vec<u8> {
    [
        column_count(1, 1),
        column_def(2, "x"),
        text_row(3, &[Some(b"1")]),
        end(4),
    ]
    .concat()
}

fn is_select(sql: &[u8]) -> bool {
    let sql = String::from_utf8_lossy(sql);
    sql.trim_start().to_ascii_lowercase().starts_with("select")
}

/// The well-behaved reply to command `cmd` with `body`.
fn good_reply(cmd: u8, body: &[u8], stmts: &mut HashMap<u32, bool>) -> Option<Vec<u8>> {
    Some(match cmd {
        COM_QUERY if is_select(body) => select_one(),
        COM_QUERY | COM_PING => ok(1),
        COM_STMT_PREPARE => {
            let id = stmts.len() as u32 + 1;
            let select = is_select(body);
            stmts.insert(id, select);
            let params = body.iter().filter(|b| **b == b'?').count() as u16;
            let mut p = vec![0x00];
            p.extend_from_slice(&id.to_le_bytes());
            p.extend_from_slice(&u16::from(select).to_le_bytes());
            p.extend_from_slice(&params.to_le_bytes());
            p.extend_from_slice(&[0, 0, 0]);
            let mut out = packet(1, &p);
            let mut seq = 2;
            for i in 0..params {
                out.extend(column_def(seq, &format!("?{i}")));
                seq += 1;
            }
            if select {
                out.extend(column_def(seq, "x"));
            }
            out
        }
        COM_STMT_EXECUTE => {
            let id = body
                .get(..4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if stmts.get(&id) == Some(&true) {
                [column_count(1, 1), column_def(2, "x"), binary_row(3, &[1]), end(4)].concat()
            } else {
                ok(1)
            }
        }
        COM_STMT_CLOSE => return None,
        _ => err(1, 1047, "08S01", "Unknown command"),
    })
}

/// One client packet: sequence id and payload.
async fn read_packet(socket: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 4];
    socket.read_exact(&mut head).await?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
    let mut payload = vec![0; len];
    socket.read_exact(&mut payload).await?;
    Ok((head[3], payload))
}

async fn serve(mut socket: TcpStream, script: Script, connection_id: u32) -> std::io::Result<()> {
    match &script.startup {
        Startup::Native => socket.write_all(&greeting(connection_id)).await?,
        Startup::Silent => return hang().await,
        Startup::Raw(bytes) => {
            socket.write_all(bytes).await?;
            return hang().await;
        }
    }
    // The handshake response (sequence id 1), whatever it says.
    read_packet(&mut socket).await?;
    socket.write_all(&ok(2)).await?;
    let mut request = 0;
    let mut stmts = HashMap::new();
    loop {
        let (_, payload) = read_packet(&mut socket).await?;
        let Some((&cmd, body)) = payload.split_first() else {
            continue;
        };
        match cmd {
            COM_QUIT => return Ok(()),
            COM_STMT_CLOSE => continue,
            COM_QUERY if body.len() >= 3 && body[..3].eq_ignore_ascii_case(b"SET") => {
                socket.write_all(&ok(1)).await?;
                continue;
            }
            _ => {}
        }
        let n = request;
        request += 1;
        match &script.misbehave {
            Some((at, action)) if action.answers(*at, n) => {
                if !action.perform(&mut socket, <[u8]>::to_vec).await? {
                    return Ok(());
                }
            }
            _ => {
                if let Some(reply) = good_reply(cmd, body, &mut stmts) {
                    socket.write_all(&reply).await?;
                }
            }
        }
    }
}
