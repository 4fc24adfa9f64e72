//! A fake MongoDB server that speaks enough OP_MSG (`hello`, then any
//! command) to reach a chosen step, then misbehaves as its [`Script`] says.
//!
//! Well-behaved replies: `hello` says wire version 17, a message limit of
//! 48 MB and a write batch of 100 000; `find` and `aggregate` give a
//! closed cursor with one document `{x: 1}`; `getMore` an empty last
//! batch; `insert`/`update`/`delete` `{n: 1, ok: 1}`; anything else
//! `{ok: 1}`. Requests are counted per connection from 0, after `hello`.
//!
//! Scripted bytes cannot know the request id they answer: a header built
//! with [`THIS_REQUEST`] as its `responseTo` gets the id of the request it
//! answers when sent (every header of the bytes that can be walked by its
//! length).

use bson::{doc, Bson, Document};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use super::Action;
use super::{hang, Listener};

/// How a connection's startup goes.
#[derive(Clone, Debug)]
pub enum Startup {
    /// A well-behaved `hello` reply.
    Hello,
    /// Reads the `hello` and never answers.
    Silent,
    /// Sends these bytes as the reply to `hello`, then waits.
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
            startup: Startup::Hello,
            misbehave: None,
        }
    }

    /// A normal `hello`, then `action` on request `n`.
    pub fn at(n: usize, action: Action) -> Script {
        Script {
            startup: Startup::Hello,
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
pub struct FakeMongo {
    pub port: u16,
    listener: Listener,
}

impl FakeMongo {
    /// Starts a server whose connection number `i` (from 0) follows `script(i)`.
    pub async fn start(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> FakeMongo {
        let listener = Listener::start(move |socket, n| {
            let s = script(n);
            async move {
                let _ = serve(socket, s, n as i64 + 1).await;
            }
        })
        .await;
        FakeMongo {
            port: listener.port,
            listener,
        }
    }

    /// Every connection follows `script`.
    pub async fn always(script: Script) -> FakeMongo {
        FakeMongo::start(move |_| script.clone()).await
    }

    /// The first connection follows `script`, later ones behave.
    pub async fn first(script: Script) -> FakeMongo {
        FakeMongo::start(move |i| if i == 0 { script.clone() } else { Script::good() }).await
    }

    /// A URL for this server (no TLS), with extra `&k=v` parameters.
    pub fn url(&self, extra: &str) -> String {
        format!("mongodb://127.0.0.1:{}/test?directConnection=true{extra}", self.port)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.listener.accepted()
    }
}

/// The `responseTo` that [`serve`] replaces with the id of the request
/// being answered.
pub const THIS_REQUEST: i32 = 0x5EED_CAFE;
const OP_MSG: i32 = 2013;
const HEADER_LEN: usize = 16;

/// A message header: `length` (the whole message), `responseTo`, OP_MSG.
pub fn header(length: i32, response_to: i32) -> Vec<u8> {
    let mut m = length.to_le_bytes().to_vec();
    m.extend_from_slice(&0x0BAD_F00Di32.to_le_bytes());
    m.extend_from_slice(&response_to.to_le_bytes());
    m.extend_from_slice(&OP_MSG.to_le_bytes());
    m
}

/// An OP_MSG answering `response_to` with flag bits `flags` and `body`
/// (the bytes of section kind 0, meant to be one BSON document).
pub fn op_msg_to(response_to: i32, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut m = header((HEADER_LEN + 4 + 1 + body.len()) as i32, response_to);
    m.extend_from_slice(&flags.to_le_bytes());
    m.push(0);
    m.extend_from_slice(body);
    m
}

/// An OP_MSG answering the current request with `body`.
pub fn op_msg(body: &[u8]) -> Vec<u8> {
    op_msg_to(THIS_REQUEST, 0, body)
}

/// The reply `doc` to the current request.
pub fn reply(doc: Document) -> Vec<u8> {
    op_msg(&doc.to_vec().expect("BSON"))
}

/// The well-behaved `hello` reply document.
pub fn hello(connection_id: i64) -> Document {
    doc! {
        "helloOk": true,
        "isWritablePrimary": true,
        "maxBsonObjectSize": 16_777_216,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "minWireVersion": 0,
        "maxWireVersion": 17,
        "connectionId": connection_id,
        "ok": 1.0,
    }
}

/// The well-behaved reply to `command`.
pub fn good_reply(command: &Document) -> Document {
    let name = command.keys().next().map(String::as_str).unwrap_or("");
    let db = command.get_str("$db").unwrap_or("test");
    let ns = match command.get(name) {
        Some(Bson::String(coll)) => format!("{db}.{coll}"),
        _ => format!("{db}.$cmd"),
    };
    match name {
        "find" | "aggregate" => doc! {
            "cursor": {"firstBatch": [{"x": 1}], "id": 0i64, "ns": ns},
            "ok": 1.0,
        },
        "getMore" => {
            let coll = command.get_str("collection").unwrap_or("");
            doc! {"cursor": {"nextBatch": [], "id": 0i64, "ns": format!("{db}.{coll}")}, "ok": 1.0}
        }
        "insert" | "update" | "delete" => doc! {"n": 1, "ok": 1.0},
        _ => doc! {"ok": 1.0},
    }
}

/// Replaces [`THIS_REQUEST`] by `id` in every header of `bytes` reachable
/// by walking the messages' lengths.
fn address(bytes: &[u8], id: i32) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut at = 0;
    while at + HEADER_LEN <= out.len() {
        let len = i32::from_le_bytes(out[at..at + 4].try_into().unwrap());
        if out[at + 8..at + 12] == THIS_REQUEST.to_le_bytes() {
            out[at + 8..at + 12].copy_from_slice(&id.to_le_bytes());
        }
        match usize::try_from(len) {
            Ok(n) if n >= HEADER_LEN => at += n,
            _ => break,
        }
    }
    out
}

/// One request: its id and the body document (`None` when it is not one).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<(i32, Option<Document>)> {
    let mut head = [0u8; HEADER_LEN];
    socket.read_exact(&mut head).await?;
    let len = i32::from_le_bytes(head[..4].try_into().unwrap());
    let len = usize::try_from(len)
        .ok()
        .filter(|n| (HEADER_LEN..=64 << 20).contains(n))
        .ok_or_else(|| std::io::Error::other("bad request length"))?;
    let id = i32::from_le_bytes(head[4..8].try_into().unwrap());
    let mut rest = vec![0u8; len - HEADER_LEN];
    socket.read_exact(&mut rest).await?;
    // Flag bits, then section kind 0 first (the driver's order).
    let body = rest
        .get(5..)
        .filter(|_| rest.get(4) == Some(&0))
        .and_then(|b| Document::from_reader(b).ok());
    Ok((id, body))
}

async fn serve(mut socket: TcpStream, script: Script, connection_id: i64) -> std::io::Result<()> {
    let (id, _) = read_request(&mut socket).await?;
    match &script.startup {
        Startup::Hello => socket.write_all(&address(&reply(hello(connection_id)), id)).await?,
        Startup::Silent => return hang().await,
        Startup::Raw(bytes) => {
            socket.write_all(&address(bytes, id)).await?;
            return hang().await;
        }
    }
    let mut request = 0;
    loop {
        let (id, command) = read_request(&mut socket).await?;
        let n = request;
        request += 1;
        match &script.misbehave {
            Some((at, action)) if action.answers(*at, n) => {
                if !action.perform(&mut socket, |b| address(b, id)).await? {
                    return Ok(());
                }
            }
            _ => {
                let answer = match command {
                    Some(c) => good_reply(&c),
                    None => doc! {"ok": 0.0, "code": 9, "codeName": "FailedToParse", "errmsg": "no body"},
                };
                socket.write_all(&address(&reply(answer), id)).await?;
            }
        }
    }
}
