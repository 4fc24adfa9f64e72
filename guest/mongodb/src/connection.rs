//! One MongoDB connection: the `hello` handshake, SCRAM authentication,
//! commands over OP_MSG, cursors (`getMore`, `killCursors`) and the
//! session of a transaction.

use base64::Engine;
use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, Document, RawBsonRef};
use driverbox_guest_sdk::io::Stream;
use driverbox_guest_sdk::types::{ConnectConfig, TlsMode};
use driverbox_guest_sdk::{Error, ErrorKind, Result};

use crate::options::Options;
use crate::protocol::message::{self, Header, Reply, Sequence, DEFAULT_MAX_MESSAGE, HEADER_LEN};
use crate::protocol::reply::{self, CursorBatch};
use crate::protocol::scram::{Mechanism, ScramClient};
use crate::protocol::srv;

/// Where a transaction is (the "Transactions" specification's states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Txn {
    None,
    /// Begun; no command has run in it yet.
    Starting,
    InProgress,
}

/// An open cursor of `cursor-open`.
#[derive(Debug)]
pub struct Cursor {
    pub id: i64,
    pub ns: String,
    pub batch_size: u32,
    /// A batch read from the server, not handed out yet.
    pub pending: Option<Vec<u8>>,
    /// The `getMore` sent ahead of the host's next call.
    pub ahead: Ahead,
}

/// A cursor reads one batch ahead: when it hands a batch out it sends the
/// next `getMore` at once, so the server fills that batch while the host
/// and the caller work on this one. Never more than one batch ahead, so
/// back-pressure holds.
#[derive(Debug, Default)]
pub enum Ahead {
    #[default]
    None,
    /// Sent, reply not read yet: the request id.
    Sent(i32),
    /// Sending failed; the next call on the cursor reports it.
    Failed(Box<Error>),
}

/// One connection to one server.
pub struct Connection {
    stream: Stream,
    request_id: i32,
    /// The connection's database (the URL's, else `test`).
    pub database: String,
    /// Largest message the server takes (`maxMessageSizeBytes`).
    pub max_message: usize,
    /// Most documents in one write command (`maxWriteBatchSize`).
    pub max_write_batch: usize,
    /// The server's `hello` reply.
    pub hello: Document,
    lsid: Option<Document>,
    txn_number: i64,
    pub txn: Txn,
    pub cursor: Option<Cursor>,
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| Error::protocol(format!("no randomness: {e}")))?;
    Ok(buf)
}

fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

fn encode(doc: &Document) -> Result<Vec<u8>> {
    doc.to_vec()
        .map_err(|e| Error::invalid(format!("cannot encode the command as BSON: {e}")))
}

/// A `mongodb+srv` config with its seed list: SRV and TXT looked up by the
/// host (`dns` import), the rules applied by `protocol::srv`.
fn seed_list(config: &ConnectConfig) -> Result<ConnectConfig> {
    srv::resolve(
        config,
        driverbox_guest_sdk::dns::resolve_srv,
        driverbox_guest_sdk::dns::resolve_txt,
        |n| {
            let r = u64::from_le_bytes(random_bytes::<8>().unwrap_or([0; 8]));
            // `n` is small (at most the host's bound on records): the bias is negligible.
            (r % n.max(1) as u64) as usize
        },
    )
}

/// The database and collection of a namespace `db.collection`.
pub fn split_ns(ns: &str) -> (&str, &str) {
    ns.split_once('.').unwrap_or((ns, ""))
}

/// The database and the `getMore` command for cursor `id` on `ns`.
fn get_more_command(ns: &str, id: i64, batch_size: Option<u32>) -> (&str, Document) {
    let (db, coll) = split_ns(ns);
    let mut cmd = doc! {"getMore": id, "collection": coll};
    if let Some(n) = batch_size {
        cmd.insert("batchSize", n as i64);
    }
    (db, cmd)
}

impl Connection {
    /// Opens a connection to the first of `config.hosts` that answers,
    /// TLS from the first byte when `config.tls` asks for it, then `hello`
    /// and authentication. A server that answered and refused (bad
    /// password) is final.
    pub fn open(config: &ConnectConfig) -> Result<Connection> {
        let seeded;
        let config = if config.scheme == srv::SCHEME {
            seeded = seed_list(config)?;
            &seeded
        } else {
            config
        };
        let options = Options::from_config(config)?;
        let tls = config.tls != TlsMode::Disable;
        let mut last = None;
        for endpoint in &config.hosts {
            match Stream::connect(&endpoint.host, endpoint.port, tls)
                .and_then(|s| Connection::startup(s, config, &options))
            {
                Ok(conn) => return Ok(conn),
                Err(e @ Error::Server(_)) => return Err(e),
                Err(e) if e.kind() == ErrorKind::Authentication || e.kind() == ErrorKind::InvalidInput => {
                    return Err(e)
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::invalid("the connection settings name no host")))
    }

    /// `hello` with client metadata, then SCRAM when a user is given.
    pub fn startup(stream: Stream, config: &ConnectConfig, options: &Options) -> Result<Connection> {
        let mut conn = Connection {
            stream,
            request_id: 0,
            database: config
                .database
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "test".into()),
            max_message: DEFAULT_MAX_MESSAGE,
            max_write_batch: 100_000,
            hello: Document::new(),
            lsid: None,
            txn_number: 0,
            txn: Txn::None,
            cursor: None,
        };
        let auth_source = options.auth_source(config);
        let mut hello = doc! {
            "hello": 1,
            "helloOk": true,
            "client": {
                "driver": {"name": "driverbox", "version": env!("CARGO_PKG_VERSION")},
                "os": {"type": "wasi"},
                "platform": "wasm32-wasip2",
            },
        };
        if let Some(app) = &config.application_name {
            hello
                .get_document_mut("client")
                .expect("client is a document")
                .insert("application", doc! {"name": app.as_str()});
        }
        if let Some(user) = &config.user {
            hello.insert("saslSupportedMechs", format!("{auth_source}.{user}"));
        }
        let body = conn.run("admin", hello, &[])?;
        let hello = reply::document(&body)?;
        if let Ok(n) = hello.get_i32("maxMessageSizeBytes") {
            conn.max_message = usize::try_from(n).unwrap_or(DEFAULT_MAX_MESSAGE).max(1024);
        }
        if let Ok(n) = hello.get_i32("maxWriteBatchSize") {
            conn.max_write_batch = usize::try_from(n).unwrap_or(1000).max(1);
        }
        if hello.get_i32("maxWireVersion").unwrap_or(0) < 6 {
            return Err(Error::unsupported(
                "the server is older than MongoDB 3.6 (wire version 6), which this driver needs",
            ));
        }
        if let Some(set) = &options.replica_set {
            match hello.get_str("setName") {
                Ok(name) if name == set => {}
                Ok(name) => {
                    return Err(Error::connection(format!(
                        "the server belongs to replica set {name}, not {set}"
                    )))
                }
                Err(_) => {
                    return Err(Error::connection(format!(
                        "the server is not a member of replica set {set}"
                    )))
                }
            }
        }
        if let Some(user) = &config.user {
            let password = config
                .password
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("user {user} is given without a password")))?;
            let mechanism = match &options.auth_mechanism {
                Some(m) => Mechanism::from_name(m)?,
                None => match hello.get_array("saslSupportedMechs") {
                    Ok(mechs) if !mechs.iter().any(|m| m.as_str() == Some("SCRAM-SHA-256")) => Mechanism::Sha1,
                    _ => Mechanism::Sha256,
                },
            };
            conn.authenticate(mechanism, &auth_source, user, password)?;
        }
        conn.hello = hello;
        Ok(conn)
    }

    fn authenticate(&mut self, mechanism: Mechanism, source: &str, user: &str, password: &str) -> Result<()> {
        let nonce = base64::engine::general_purpose::STANDARD.encode(random_bytes::<24>()?);
        let client = ScramClient::new(mechanism, user, password, nonce)?;
        let start = doc! {
            "saslStart": 1,
            "mechanism": mechanism.name(),
            "payload": binary(client.client_first()),
            "autoAuthorize": 1,
            "options": {"skipEmptyExchange": true},
        };
        let failed = |e: Error| match e {
            Error::Server(s) => Error::Server(driverbox_guest_sdk::types::ServerError {
                kind: ErrorKind::Authentication,
                ..s
            }),
            other => other,
        };
        let body = self.run(source, start, &[]).map_err(failed)?;
        let first = reply::document(&body)?;
        let conversation = first.get("conversationId").cloned().unwrap_or(Bson::Int32(1));
        let payload = first
            .get_binary_generic("payload")
            .map_err(|_| Error::authentication("saslStart reply has no payload"))?;
        let (fin, client_final) = client.server_first(payload)?;
        let cont = doc! {"saslContinue": 1, "conversationId": conversation.clone(), "payload": binary(client_final)};
        let body = self.run(source, cont, &[]).map_err(failed)?;
        let mut reply = reply::document(&body)?;
        let payload = reply
            .get_binary_generic("payload")
            .map_err(|_| Error::authentication("saslContinue reply has no payload"))?;
        fin.verify(payload)?;
        let mut rounds = 0;
        while !reply.get_bool("done").unwrap_or(true) {
            rounds += 1;
            if rounds > 2 {
                return Err(Error::authentication("the SCRAM conversation does not end"));
            }
            let more = doc! {"saslContinue": 1, "conversationId": conversation.clone(), "payload": binary(Vec::new())};
            let body = self.run(source, more, &[]).map_err(failed)?;
            reply = reply::document(&body)?;
        }
        Ok(())
    }

    fn read_reply(&mut self, request_id: i32) -> Result<Reply> {
        self.stream.fill(HEADER_LEN)?;
        let head: [u8; HEADER_LEN] = self.stream.buffered()[..HEADER_LEN].try_into().expect("16 bytes");
        let header: Header = message::parse_header(&head, self.max_message)?;
        self.stream.fill(header.length)?;
        let decoded = message::decode(&header, &self.stream.buffered()[HEADER_LEN..header.length]);
        self.stream.consume(header.length);
        let reply = decoded?;
        if header.response_to != request_id {
            return Err(Error::protocol(format!(
                "a reply to request {} while waiting for {request_id}",
                header.response_to
            )));
        }
        if reply.more_to_come {
            return Err(Error::protocol("the server streams replies (moreToCome) unasked"));
        }
        Ok(reply)
    }

    /// Sends `command` to `db` as is (plus `$db`) and gives the checked
    /// reply body. Errors: server errors, `connection`, `protocol`.
    pub fn run(&mut self, db: &str, command: Document, sequences: &[Sequence<'_>]) -> Result<Vec<u8>> {
        let id = self.send(db, command, sequences)?;
        self.receive(id)
    }

    /// The first half of [`Connection::run`]: sends and gives the request id
    /// to [`Connection::receive`] the reply with. A `getMore` sent ahead is
    /// read first, so that replies come back in the order they are awaited.
    fn send(&mut self, db: &str, mut command: Document, sequences: &[Sequence<'_>]) -> Result<i32> {
        self.settle_cursor()?;
        command.insert("$db", db);
        let body = encode(&command)?;
        self.request_id = self.request_id.wrapping_add(1);
        let id = self.request_id;
        let msg = message::encode(id, &body, sequences)?;
        if msg.len() > self.max_message {
            return Err(Error::invalid(format!(
                "the command is {} bytes, more than the server's maxMessageSizeBytes ({})",
                msg.len(),
                self.max_message
            )));
        }
        self.stream.write_all(&msg)?;
        Ok(id)
    }

    /// The checked reply body to request `id`.
    fn receive(&mut self, id: i32) -> Result<Vec<u8>> {
        let reply = self.read_reply(id)?;
        reply::check(&reply.body)?;
        Ok(reply.body)
    }

    /// Runs a command in this connection's session: inside a transaction
    /// it carries `lsid`, `txnNumber`, `autocommit: false` (and
    /// `startTransaction` on the first). Errors: as [`Connection::run`].
    pub fn command(&mut self, db: &str, command: Document) -> Result<Vec<u8>> {
        self.command_with(db, command, &[])
    }

    /// [`Connection::command`] with document sequences (inserts).
    pub fn command_with(&mut self, db: &str, mut command: Document, sequences: &[Sequence<'_>]) -> Result<Vec<u8>> {
        self.in_session(&mut command)?;
        self.run(db, command, sequences)
    }

    /// Adds the transaction's fields to `command` when one is open.
    fn in_session(&mut self, command: &mut Document) -> Result<()> {
        if self.txn != Txn::None {
            self.add_txn_fields(command)?;
            if self.txn == Txn::Starting {
                command.insert("startTransaction", true);
                self.txn = Txn::InProgress;
            }
        }
        Ok(())
    }

    fn add_txn_fields(&mut self, command: &mut Document) -> Result<()> {
        if self.lsid.is_none() {
            let mut id = random_bytes::<16>()?;
            id[6] = (id[6] & 0x0f) | 0x40;
            id[8] = (id[8] & 0x3f) | 0x80;
            self.lsid = Some(doc! {"id": Bson::Binary(Binary {subtype: BinarySubtype::Uuid, bytes: id.to_vec()})});
        }
        command.insert("lsid", self.lsid.clone().expect("set above"));
        command.insert("txnNumber", self.txn_number);
        command.insert("autocommit", false);
        Ok(())
    }

    /// Starts a transaction: the next command opens it on the server.
    pub fn begin(&mut self) -> Result<()> {
        if self.txn != Txn::None {
            return Err(Error::invalid("a transaction is open already"));
        }
        self.txn_number += 1;
        self.txn = Txn::Starting;
        Ok(())
    }

    /// Commits (`commit`) or aborts the transaction.
    pub fn end(&mut self, commit: bool) -> Result<()> {
        match self.txn {
            Txn::None => Err(Error::invalid("no transaction is open")),
            Txn::Starting => {
                self.txn = Txn::None;
                Ok(())
            }
            Txn::InProgress => {
                let mut cmd = if commit {
                    doc! {"commitTransaction": 1}
                } else {
                    doc! {"abortTransaction": 1}
                };
                self.add_txn_fields(&mut cmd)?;
                self.txn = Txn::None;
                match self.run("admin", cmd, &[]) {
                    Ok(_) => Ok(()),
                    // An abort that fails on the server leaves nothing to
                    // undo (it was aborted already, e.g. by an error in it),
                    // so the Transactions specification ignores it.
                    Err(Error::Server(_)) if !commit => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Runs a command that answers with a cursor; gives its first batch.
    pub fn cursor_command(&mut self, db: &str, command: Document) -> Result<CursorBatch> {
        let body = self.command(db, command)?;
        reply::cursor_batch(reply::raw(&body)?)
    }

    /// The next batch of cursor `id` on `ns`.
    pub fn get_more(&mut self, ns: &str, id: i64, batch_size: Option<u32>) -> Result<CursorBatch> {
        let (db, cmd) = get_more_command(ns, id, batch_size);
        let body = self.command(db, cmd)?;
        let mut batch = reply::cursor_batch(reply::raw(&body)?)?;
        if batch.ns.is_empty() {
            batch.ns = ns.to_string();
        }
        Ok(batch)
    }

    /// Sends the open cursor's next `getMore` without waiting for it (see
    /// [`Ahead`]); does nothing when the cursor is exhausted or a `getMore`
    /// is out already. A failure to send is kept for the next call.
    pub fn get_more_ahead(&mut self) {
        let Some(c) = self.cursor.as_ref() else { return };
        if c.id == 0 || !matches!(c.ahead, Ahead::None) {
            return;
        }
        let (db, mut cmd) = get_more_command(&c.ns, c.id, Some(c.batch_size));
        let db = db.to_string();
        let sent = self.in_session(&mut cmd).and_then(|()| self.send(&db, cmd, &[]));
        if let Some(c) = self.cursor.as_mut() {
            c.ahead = match sent {
                Ok(id) => Ahead::Sent(id),
                Err(e) => Ahead::Failed(Box::new(e)),
            };
        }
    }

    /// Reads the reply to the `getMore` sent ahead, if any, into the
    /// cursor (its next id and batch). On an error the cursor is gone.
    pub fn settle_cursor(&mut self) -> Result<()> {
        let Some(c) = self.cursor.as_mut() else { return Ok(()) };
        let read = match std::mem::take(&mut c.ahead) {
            Ahead::None => return Ok(()),
            Ahead::Failed(e) => Err(*e),
            Ahead::Sent(id) => self
                .receive(id)
                .and_then(|body| reply::cursor_batch(reply::raw(&body)?)),
        };
        match read {
            Ok(next) => {
                if let Some(c) = self.cursor.as_mut() {
                    c.id = next.id;
                    c.pending = Some(next.documents);
                }
                Ok(())
            }
            Err(e) => {
                self.cursor = None;
                Err(e)
            }
        }
    }

    /// Tells the server to forget cursor `id` on `ns`.
    pub fn kill_cursor(&mut self, ns: &str, id: i64) -> Result<()> {
        let (db, coll) = split_ns(ns);
        let db = db.to_string();
        self.command(&db, doc! {"killCursors": coll, "cursors": [id]})
            .map(|_| ())
    }

    /// Runs a cursor command and reads every batch: the documents back to back.
    pub fn collect(&mut self, db: &str, command: Document) -> Result<Vec<u8>> {
        let first = self.cursor_command(db, command)?;
        let mut out = first.documents;
        let (mut id, ns) = (first.id, first.ns);
        while id != 0 {
            let next = self.get_more(&ns, id, None)?;
            out.extend_from_slice(&next.documents);
            id = next.id;
        }
        Ok(out)
    }

    /// The number a reply gives under `key` (`n`, `nModified` …).
    pub fn count_in(body: &[u8], key: &str) -> Result<u64> {
        Ok(reply::int(reply::raw(body)?, key)?.unwrap_or(0).max(0) as u64)
    }

    /// The server's version (`buildInfo`).
    pub fn server_version(&mut self) -> Result<String> {
        let body = self.run("admin", doc! {"buildInfo": 1}, &[])?;
        match reply::raw(&body)?.get("version") {
            Ok(Some(RawBsonRef::String(v))) => Ok(v.to_string()),
            _ => Ok("unknown".into()),
        }
    }

    /// Closes politely: an open transaction is aborted, a cursor killed.
    pub fn close(&mut self) {
        let _ = self.settle_cursor();
        if self.txn == Txn::InProgress {
            let _ = self.end(false);
        }
        if let Some(c) = self.cursor.take() {
            if c.id != 0 {
                let _ = self.kill_cursor(&c.ns, c.id);
            }
        }
    }
}
