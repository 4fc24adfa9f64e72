//! One MySQL/MariaDB session: handshake, authentication, TLS, and the
//! text and binary query flows over the SDK's buffered transport.

use std::cell::RefCell;
use std::rc::Rc;

use driverbox_guest_sdk::batch::{empty_result, BatchBuilder};
use driverbox_guest_sdk::cache::StatementCache;
use driverbox_guest_sdk::io::Stream;
use driverbox_guest_sdk::types::{Column, ConnectConfig, QueryResult, ScriptOutcome, TlsMode, Value};
use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result};
use mysql_common::auth::plugins::{ChallengeResponsePlugin, Context, Response};
use mysql_common::constants::{CapabilityFlags, MariadbCapabilities};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, ComStmtClose, ComStmtExecuteRequestBuilder, ComStmtSendLongData, HandshakeResponse,
    SslRequest,
};
use mysql_common::proto::MySerialize;

use crate::protocol::column::ColumnDef;
use crate::protocol::errors::parse_err;
use crate::protocol::handshake::{check_server_key, parse_greeting, server_version};
use crate::protocol::params::{encode_execute, execute_len, param, Param};
use crate::protocol::row::RowDecoder;
use crate::protocol::wire::{frame, header, parse_eof, parse_ok, Reader, MAX_PAYLOAD};

/// `SERVER_STATUS_IN_TRANS`
const STATUS_IN_TRANS: u16 = 0x0001;
/// `SERVER_MORE_RESULTS_EXISTS`
const STATUS_MORE_RESULTS: u16 = 0x0008;
/// The largest packet we accept and announce (MySQL's protocol maximum).
const MAX_PACKET: u32 = 1 << 30;
/// `utf8mb4_general_ci`
const UTF8MB4: u8 = 45;

const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_PING: u8 = 0x0E;
const COM_STMT_PREPARE: u8 = 0x16;

/// Bulk-insert statements kept per connection: a host chunk needs at most
/// two shapes (full statements and the rest), the last chunk two more.
const BULK_STATEMENTS: usize = 4;

/// A server-side prepared statement.
#[derive(Debug)]
pub struct Stmt {
    pub id: u32,
    pub params: u16,
    pub param_defs: Vec<ColumnDef>,
    pub columns: Vec<ColumnDef>,
    /// The shape of its first result as the server last described it (in
    /// the prepare or an execution). With MariaDB's metadata cache
    /// (`MARIADB_CLIENT_CACHE_METADATA`, MariaDB 10.6+) an execution
    /// describes it again only when it changed.
    shape: RefCell<Option<Rc<Shape>>>,
}

/// The columns of a result set and the decoder of its rows.
#[derive(Debug)]
struct Shape {
    decoder: RowDecoder,
    columns: Vec<Column>,
}

impl Shape {
    fn new(defs: &[ColumnDef]) -> Rc<Shape> {
        Rc::new(Shape {
            decoder: RowDecoder::new(defs),
            columns: defs.iter().map(ColumnDef::to_column).collect(),
        })
    }
}

/// Rows still to be read from an open stream.
struct OpenStream {
    shape: Rc<Shape>,
    binary: bool,
    batch_size: u32,
    done: bool,
}

/// The head of a result: an OK packet or the columns of a result set.
enum Head {
    Ok { affected: u64 },
    Columns(Rc<Shape>),
}

/// One session.
pub struct Connection {
    stream: Stream,
    seq: u8,
    caps: CapabilityFlags,
    extended_metadata: bool,
    /// `MARIADB_CLIENT_CACHE_METADATA` is on: every column count carries a
    /// "metadata follows" byte.
    cache_metadata: bool,
    server_version: String,
    mariadb: bool,
    connection_id: u32,
    status: u16,
    cache: StatementCache<Rc<Stmt>>,
    /// Bulk-insert statements by table, columns and row count (see
    /// [`Connection::bulk_stmt`]).
    bulk: StatementCache<Rc<Stmt>>,
    pub(crate) prepared: driverbox_guest_sdk::prepared::PreparedStatements<Rc<Stmt>>,
    open_stream: Option<OpenStream>,
    /// SQL texts of streams the server could not prepare: they go as text.
    text_only: StatementCache<()>,
    /// Cached statements dropped when the default database changed, to
    /// close on the server before the next command (see
    /// [`Connection::database_changed`]).
    stale: Vec<u32>,
}

/// What `mysql_common`'s auth plugins ask of the session.
#[derive(Clone, Copy)]
struct AuthCtx<'a> {
    pass: &'a [u8],
    tls: bool,
    scramble: &'a [u8],
}

impl Context for AuthCtx<'_> {
    fn pass(&self) -> &[u8] {
        self.pass
    }
    fn is_ipc_transport(&self) -> bool {
        false
    }
    fn is_tls_transport(&self) -> bool {
        self.tls
    }
    fn scramble(&self) -> &[u8] {
        self.scramble
    }
    fn server_key_pem(&self) -> Option<&[u8]> {
        None
    }
}

fn proto(what: &str, e: impl std::fmt::Display) -> Error {
    Error::protocol(format!("malformed MySQL {what}: {e}"))
}

/// Whether `sql` is a `USE db` statement (leading blanks and case aside).
fn starts_with_use(sql: &str) -> bool {
    let b = sql.trim_start().as_bytes();
    b.len() > 3 && b[..3].eq_ignore_ascii_case(b"use") && (b[3].is_ascii_whitespace() || b[3] == b'`')
}

/// The capabilities this driver asks for (those the server lacks are dropped).
fn wanted_capabilities() -> CapabilityFlags {
    use CapabilityFlags as C;
    C::CLIENT_LONG_PASSWORD
        | C::CLIENT_FOUND_ROWS
        | C::CLIENT_LONG_FLAG
        | C::CLIENT_PROTOCOL_41
        | C::CLIENT_TRANSACTIONS
        | C::CLIENT_SECURE_CONNECTION
        | C::CLIENT_MULTI_STATEMENTS
        | C::CLIENT_MULTI_RESULTS
        | C::CLIENT_PS_MULTI_RESULTS
        | C::CLIENT_PLUGIN_AUTH
        | C::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | C::CLIENT_DEPRECATE_EOF
        | C::CLIENT_SESSION_TRACK
}

/// Starts an authentication method, refusing those that would leak the
/// password or that this driver does not implement.
fn start_plugin(plugin: &AuthPlugin<'_>, tls: bool) -> Result<mysql_common::auth::plugins::AuthProc> {
    match plugin {
        AuthPlugin::MysqlClearPassword if !tls => {
            return Err(Error::authentication(
                "the server asks for mysql_clear_password, which would send the password in clear text; use TLS (ssl-mode=REQUIRED)",
            ))
        }
        AuthPlugin::MysqlOldPassword => {
            return Err(Error::authentication(
                "the server asks for mysql_old_password (pre-4.1 hashing), which this driver refuses",
            ))
        }
        AuthPlugin::Parsec => {
            return Err(Error::authentication(
                "the server asks for the parsec authentication plugin, which this driver does not implement",
            ))
        }
        _ => {}
    }
    plugin.init().map_err(|e| Error::authentication(e.to_string()))
}

fn run_plugin(
    proc: &mut mysql_common::auth::plugins::AuthProc,
    ctx: AuthCtx<'_>,
    challenge: &[u8],
) -> Result<Response> {
    proc.run(ctx, challenge)
        .map_err(|e| Error::authentication(format!("authentication exchange failed: {e}")))
}

impl Connection {
    /// Opens a session to the first of `config.hosts` that answers; a
    /// server that answered and refused (password, database) is final.
    pub fn connect(config: &ConnectConfig) -> Result<Connection> {
        let mut last = None;
        for endpoint in &config.hosts {
            match Stream::connect(&endpoint.host, endpoint.port, false).and_then(|s| Connection::startup(s, config)) {
                Ok(conn) => return Ok(conn),
                Err(e @ Error::Server(_)) => return Err(e),
                Err(e) if e.kind() == ErrorKind::Authentication || e.kind() == ErrorKind::Tls => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::invalid("the connection settings name no host")))
    }

    /// Handshake, TLS, authentication and session set-up on `stream`.
    pub fn startup(stream: Stream, config: &ConnectConfig) -> Result<Connection> {
        let mut conn = Connection {
            stream,
            seq: 0,
            caps: CapabilityFlags::empty(),
            extended_metadata: false,
            cache_metadata: false,
            server_version: String::new(),
            mariadb: false,
            connection_id: 0,
            status: 0,
            cache: StatementCache::default(),
            bulk: StatementCache::new(BULK_STATEMENTS),
            text_only: StatementCache::default(),
            stale: Vec::new(),
            prepared: Default::default(),
            open_stream: None,
        };
        conn.handshake(config)?;
        conn.run("SET time_zone = '+00:00'")?;
        Ok(conn)
    }

    fn handshake(&mut self, config: &ConnectConfig) -> Result<()> {
        let p = self.read_packet()?;
        if p.first() == Some(&0xFF) {
            return Err(parse_err(&p));
        }
        let hs = parse_greeting(&p)?;
        if hs.protocol_version() != 10 {
            return Err(Error::unsupported(format!(
                "MySQL handshake protocol {} (only 10 is supported)",
                hs.protocol_version()
            )));
        }
        let server_caps = hs.capabilities();
        if !server_caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
            return Err(Error::unsupported("the server does not speak protocol 4.1"));
        }
        self.server_version = hs.server_version_str().into_owned();
        self.mariadb = self.server_version.contains("MariaDB");
        self.connection_id = hs.connection_id();
        let mut caps = wanted_capabilities() & server_caps;
        if config.database.is_some() {
            caps |= CapabilityFlags::CLIENT_CONNECT_WITH_DB;
        }
        // MariaDB clears CLIENT_LONG_PASSWORD ("CLIENT_MYSQL") to say it has
        // extended capabilities.
        let mut ext = MariadbCapabilities::empty();
        if !server_caps.contains(CapabilityFlags::CLIENT_LONG_PASSWORD) {
            ext = hs.mariadb_ext_capabilities()
                & (MariadbCapabilities::MARIADB_CLIENT_EXTENDED_METADATA
                    | MariadbCapabilities::MARIADB_CLIENT_CACHE_METADATA);
            self.extended_metadata = ext.contains(MariadbCapabilities::MARIADB_CLIENT_EXTENDED_METADATA);
            self.cache_metadata = ext.contains(MariadbCapabilities::MARIADB_CLIENT_CACHE_METADATA);
        }

        let server_tls = server_caps.contains(CapabilityFlags::CLIENT_SSL);
        let use_tls = match config.tls {
            TlsMode::Disable => false,
            TlsMode::Prefer => server_tls,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => {
                if !server_tls {
                    return Err(client_error(
                        ErrorKind::Tls,
                        "ssl-mode requires TLS but the server does not offer it (have_ssl is off)",
                    ));
                }
                true
            }
        };
        if use_tls {
            caps |= CapabilityFlags::CLIENT_SSL;
            let req = SslRequest::new(caps, MAX_PACKET, UTF8MB4).with_mariadb_capabilities(ext);
            let mut payload = Vec::new();
            req.serialize(&mut payload);
            self.send_more(&payload)?;
            self.stream.upgrade_tls()?;
        }
        self.caps = caps;

        let pass = config.password.as_deref().unwrap_or("").as_bytes();
        let mut nonce = hs.nonce();
        let mut plugin = hs
            .auth_plugin()
            .map(|p| p.into_owned())
            .unwrap_or(AuthPlugin::MysqlNativePassword);
        let mut proc = start_plugin(&plugin, use_tls)?;
        fn ctx<'a>(pass: &'a [u8], tls: bool, nonce: &'a [u8]) -> AuthCtx<'a> {
            AuthCtx {
                pass,
                tls,
                scramble: nonce,
            }
        }
        let first = match run_plugin(&mut proc, ctx(pass, use_tls, &nonce), &nonce)? {
            Response::Next { packet } | Response::Last { packet } => packet.unwrap_or_default(),
        };
        let version = server_version(&self.server_version).unwrap_or((5, 5, 3));
        let user = config.user.as_deref().unwrap_or("root").as_bytes().to_vec();
        let db = config.database.as_ref().map(|d| d.as_bytes().to_vec());
        let response = HandshakeResponse::new(
            Some(first),
            version,
            Some(user),
            db,
            Some(plugin.clone()),
            caps,
            None,
            MAX_PACKET,
        )
        .with_mariadb_ext_capabilities(ext);
        let mut payload = Vec::new();
        response.serialize(&mut payload);
        self.send_more(&payload)?;

        // The exchange: OK, ERR, an auth switch, or more data for the plugin.
        for _ in 0..8 {
            let p = self.read_packet()?;
            match p.first() {
                Some(0x00) => {
                    self.read_ok(&p)?;
                    return Ok(());
                }
                Some(0xFF) => return Err(parse_err(&p)),
                Some(0xFE) => {
                    let switch: AuthSwitchRequest<'_> =
                        ParseBuf(&p).parse(()).map_err(|e| proto("auth switch request", e))?;
                    plugin = switch.auth_plugin().into_owned();
                    nonce = switch.plugin_data().to_vec();
                    proc = start_plugin(&plugin, use_tls)?;
                    let data = match run_plugin(&mut proc, ctx(pass, use_tls, &nonce), &nonce)? {
                        Response::Next { packet } | Response::Last { packet } => packet.unwrap_or_default(),
                    };
                    self.send_more(&data)?;
                }
                Some(0x01) => {
                    // More data: for the RSA exchanges, the server's public key.
                    if matches!(plugin, AuthPlugin::CachingSha2Password | AuthPlugin::Sha256Password) {
                        check_server_key(&p[1..], pass.len())?;
                    }
                    if let Response::Next { packet: Some(data) } | Response::Last { packet: Some(data) } =
                        run_plugin(&mut proc, ctx(pass, use_tls, &nonce), &p[1..])?
                    {
                        self.send_more(&data)?
                    }
                }
                _ => return Err(Error::protocol("unexpected packet during MySQL authentication")),
            }
        }
        Err(Error::protocol("MySQL authentication did not finish"))
    }

    // ---- packets

    /// Sends `payload` as a new command (sequence id 0).
    fn send(&mut self, payload: &[u8]) -> Result<()> {
        self.seq = 0;
        self.send_more(payload)
    }

    /// Sends `payload` continuing the current exchange.
    fn send_more(&mut self, payload: &[u8]) -> Result<()> {
        let mut seq = self.seq;
        frame(&mut seq, payload, self.stream.write_buffer());
        self.seq = seq;
        self.stream.flush()
    }

    fn command(&mut self, cmd: u8, body: &[u8]) -> Result<()> {
        for id in std::mem::take(&mut self.stale) {
            self.close_stmt(id)?;
        }
        let mut payload = Vec::with_capacity(1 + body.len());
        payload.push(cmd);
        payload.extend_from_slice(body);
        self.send(&payload)
    }

    /// Reads one packet and gives its payload to `f` (in place when it
    /// fits one packet, assembled when it spans several).
    fn with_packet<T>(&mut self, f: impl FnOnce(&[u8]) -> Result<T>) -> Result<T> {
        self.stream.fill(4)?;
        let (len, seq) = self.check_header()?;
        if len < MAX_PAYLOAD {
            self.stream.fill(4 + len)?;
            let out = f(&self.stream.buffered()[4..4 + len]);
            self.stream.consume(4 + len);
            return out;
        }
        let _ = seq;
        let mut whole = Vec::new();
        let mut len = len;
        loop {
            self.stream.fill(4 + len)?;
            whole.extend_from_slice(&self.stream.buffered()[4..4 + len]);
            self.stream.consume(4 + len);
            if len < MAX_PAYLOAD {
                break;
            }
            self.stream.fill(4)?;
            len = self.check_header()?.0;
        }
        f(&whole)
    }

    fn check_header(&mut self) -> Result<(usize, u8)> {
        let mut h = [0u8; 4];
        h.copy_from_slice(&self.stream.buffered()[..4]);
        let (len, seq) = header(&h);
        if seq != self.seq {
            return Err(Error::protocol(format!(
                "MySQL packet out of order: sequence id {seq}, expected {}",
                self.seq
            )));
        }
        self.seq = seq.wrapping_add(1);
        Ok((len, seq))
    }

    fn read_packet(&mut self) -> Result<Vec<u8>> {
        self.with_packet(|p| Ok(p.to_vec()))
    }

    /// Reads an OK packet's counts and keeps its status flags.
    fn read_ok(&mut self, p: &[u8]) -> Result<u64> {
        let ok = parse_ok(p, self.caps.contains(CapabilityFlags::CLIENT_SESSION_TRACK))?;
        self.status = ok.status;
        if ok.schema_changed {
            self.database_changed();
        }
        Ok(ok.affected)
    }

    /// The default database changed: statements prepared by the cache
    /// name tables of the old one (the server resolves names when it
    /// prepares), so they are dropped and prepared again on next use, as
    /// `mysql` would run the same text in the new database. Statements the
    /// user prepared keep the database they were prepared in, as on the
    /// server.
    fn database_changed(&mut self) {
        let old = self.cache.drain().into_iter().chain(self.bulk.drain());
        self.stale.extend(old.map(|s| s.id));
        self.text_only.drain();
    }

    /// A result set's terminator: an OK packet (`0xFE` header) with
    /// CLIENT_DEPRECATE_EOF, else an EOF packet.
    fn read_terminator(&mut self, p: &[u8]) -> Result<()> {
        if self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.read_ok(p).map(|_| ())
        } else {
            self.status = parse_eof(p)?;
            Ok(())
        }
    }

    fn is_terminator(p: &[u8]) -> bool {
        p.first() == Some(&0xFE) && p.len() < MAX_PAYLOAD
    }

    /// After the column definitions without CLIENT_DEPRECATE_EOF: an EOF packet.
    fn skip_eof(&mut self) -> Result<()> {
        if !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            let p = self.read_packet()?;
            if !Self::is_terminator(&p) {
                return Err(Error::protocol("MySQL column definitions not followed by EOF"));
            }
        }
        Ok(())
    }

    /// `n` column (or parameter) definitions; a result has at most 4096
    /// columns, a statement at most 65 535 parameters.
    fn read_columns(&mut self, n: u64, max: u64) -> Result<Vec<ColumnDef>> {
        if n > max {
            return Err(Error::protocol(format!(
                "MySQL announced {n} columns (at most {max} exist)"
            )));
        }
        let ext = self.extended_metadata;
        let cols = (0..n)
            .map(|_| self.with_packet(|p| ColumnDef::parse(p, ext)))
            .collect::<Result<Vec<_>>>()?;
        if n > 0 {
            self.skip_eof()?;
        }
        Ok(cols)
    }

    /// The head of the next result after a command. `stmt`: the statement
    /// whose first result this is, whose shape is cached.
    fn read_head(&mut self, stmt: Option<&Stmt>) -> Result<Head> {
        let p = self.read_packet()?;
        match p.first() {
            Some(0x00) => Ok(Head::Ok {
                affected: self.read_ok(&p)?,
            }),
            Some(0xFF) => {
                self.status &= !STATUS_MORE_RESULTS;
                Err(parse_err(&p))
            }
            Some(0xFB) => Err(Error::protocol(
                "the server asked for a LOCAL INFILE the driver did not offer; refused",
            )),
            Some(_) => {
                let mut r = Reader::new(&p);
                let n = r
                    .lenenc_int("column count")?
                    .ok_or_else(|| Error::protocol("MySQL column count is NULL"))?;
                if self.cache_metadata && r.u8("metadata flag")? == 0 {
                    // Unchanged since the server last described it.
                    let cached = stmt.and_then(|s| s.shape.borrow().clone());
                    let shape = cached.filter(|s| s.columns.len() as u64 == n).ok_or_else(|| {
                        Error::protocol("MariaDB left out the columns of a result the driver has not seen")
                    })?;
                    self.skip_eof()?;
                    return Ok(Head::Columns(shape));
                }
                let shape = Shape::new(&self.read_columns(n, 4096)?);
                if let Some(s) = stmt {
                    *s.shape.borrow_mut() = Some(shape.clone());
                }
                Ok(Head::Columns(shape))
            }
            None => Err(Error::protocol("empty MySQL response packet")),
        }
    }

    /// Reads rows into `b` until the result ends (gives `true`) or `limit`
    /// rows were read (`false`).
    fn read_rows(&mut self, dec: &RowDecoder, binary: bool, b: &mut BatchBuilder, limit: u32) -> Result<bool> {
        let mut n = 0;
        while n < limit {
            enum Got {
                Row,
                End(Vec<u8>),
                Err(Box<Error>),
            }
            let got = self.with_packet(|p| {
                if Self::is_terminator(p) {
                    return Ok(Got::End(p.to_vec()));
                }
                if p.first() == Some(&0xFF) {
                    return Ok(Got::Err(Box::new(parse_err(p))));
                }
                if binary {
                    dec.binary_row(p, b)?;
                } else {
                    dec.text_row(p, b)?;
                }
                Ok(Got::Row)
            })?;
            match got {
                Got::Row => n += 1,
                Got::End(p) => {
                    self.read_terminator(&p)?;
                    return Ok(true);
                }
                Got::Err(e) => {
                    self.status &= !STATUS_MORE_RESULTS;
                    return Err(*e);
                }
            }
        }
        Ok(false)
    }

    /// One whole result (its head already read).
    fn read_result_body(&mut self, head: Head, binary: bool) -> Result<QueryResult> {
        match head {
            Head::Ok { affected } => Ok(empty_result(Some(affected))),
            Head::Columns(shape) => {
                let mut b = BatchBuilder::new(&shape.columns);
                self.read_rows(&shape.decoder, binary, &mut b, u32::MAX)?;
                Ok(b.into_result(shape.columns.clone(), None))
            }
        }
    }

    fn more_results(&self) -> bool {
        self.status & STATUS_MORE_RESULTS != 0
    }

    /// Every result of the command just sent, up to the first error (given
    /// beside the results before it). `stmt`: the statement executed.
    fn read_all(&mut self, stmt: Option<&Stmt>) -> (Vec<QueryResult>, Option<Error>) {
        let binary = stmt.is_some();
        let mut out = Vec::new();
        loop {
            // Only the first result's shape is cached with the statement.
            let cached = if out.is_empty() { stmt } else { None };
            match self.read_head(cached).and_then(|h| self.read_result_body(h, binary)) {
                Ok(r) => out.push(r),
                Err(e) => return (out, Some(e)),
            }
            if !self.more_results() {
                return (out, None);
            }
        }
    }

    /// The result a caller of `query` wants: the last one with columns,
    /// else the last one.
    pub(crate) fn pick(results: Vec<QueryResult>) -> QueryResult {
        let with_rows = results.iter().rposition(|r| !r.columns.is_empty());
        let mut results = results;
        match with_rows {
            Some(i) => results.swap_remove(i),
            None => results.pop().unwrap_or_else(|| empty_result(Some(0))),
        }
    }

    // ---- queries

    fn check_idle(&mut self) -> Result<()> {
        if self.open_stream.is_some() {
            self.stream_close()?;
        }
        Ok(())
    }

    /// Runs `sql` with the text protocol; every result, or the first error.
    pub fn query_text_all(&mut self, sql: &str) -> Result<Vec<QueryResult>> {
        self.send_text(sql)?;
        match self.read_all(None) {
            (r, None) => Ok(r),
            (_, Some(e)) => Err(e),
        }
    }

    /// Sends `sql` as COM_QUERY.
    fn send_text(&mut self, sql: &str) -> Result<()> {
        self.check_idle()?;
        if starts_with_use(sql) {
            // Servers without session tracking (or with
            // `session_track_schema` off) do not tell a change of database.
            self.database_changed();
        }
        self.command(COM_QUERY, sql.as_bytes())
    }

    /// Runs a statement without rows (session set-up, transactions).
    pub fn run(&mut self, sql: &str) -> Result<u64> {
        let r = self.query_text_all(sql)?;
        Ok(r.last().and_then(|r| r.rows_affected).unwrap_or(0))
    }

    /// Runs `sql` (binary protocol with a cached prepared statement when
    /// there are parameters) and gives the result a query wants.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        if params.is_empty() {
            return Ok(Self::pick(self.query_text_all(sql)?));
        }
        let stmt = self.cached(sql)?;
        let results = self.execute_stmt(&stmt, params)?;
        Ok(Self::pick(results))
    }

    /// Runs `sql`; gives the rows affected.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let r = self.query(sql, params)?;
        Ok(r.rows_affected.unwrap_or(r.batch.rows as u64))
    }

    /// A script of statements: every result up to the first error.
    pub fn execute_script(&mut self, sql: &str) -> ScriptOutcome {
        if let Err(e) = self.send_text(sql) {
            return ScriptOutcome {
                results: Vec::new(),
                error: Some(e),
            };
        }
        let (results, error) = self.read_all(None);
        ScriptOutcome { results, error }
    }

    /// COM_PING.
    pub fn ping(&mut self) -> Result<()> {
        self.check_idle()?;
        self.command(COM_PING, &[])?;
        let p = self.read_packet()?;
        match p.first() {
            Some(0x00) => self.read_ok(&p).map(|_| ()),
            Some(0xFF) => Err(parse_err(&p)),
            _ => Err(Error::protocol("unexpected answer to COM_PING")),
        }
    }

    /// COM_QUIT.
    pub fn terminate(&mut self) {
        let _ = self.command(COM_QUIT, &[]);
    }

    // ---- prepared statements

    /// Prepares `sql` on the server.
    pub fn prepare_stmt(&mut self, sql: &str) -> Result<Rc<Stmt>> {
        self.prepare_with(sql, true)
    }

    /// The prepared multi-row INSERT `sql` of bulk inserts, kept under
    /// `key` (a short name of its table, columns and row count: the SQL of
    /// 65 535 placeholders is ~400 KB) across calls, as the host sends a
    /// big insert in chunks. Its parameter definitions (one packet per
    /// placeholder) are read past, not kept.
    pub fn bulk_stmt(&mut self, key: &str, sql: impl FnOnce() -> Result<String>) -> Result<Rc<Stmt>> {
        if let Some(s) = self.bulk.get(key) {
            return Ok(s);
        }
        let stmt = self.prepare_with(&sql()?, false)?;
        if let Some(old) = self.bulk.insert(key, stmt.clone()) {
            self.close_stmt(old.id)?;
        }
        Ok(stmt)
    }

    fn prepare_with(&mut self, sql: &str, keep_param_defs: bool) -> Result<Rc<Stmt>> {
        self.check_idle()?;
        self.command(COM_STMT_PREPARE, sql.as_bytes())?;
        let p = self.read_packet()?;
        match p.first() {
            Some(0x00) => {}
            Some(0xFF) => return Err(parse_err(&p)),
            _ => return Err(Error::protocol("unexpected answer to COM_STMT_PREPARE")),
        }
        let mut r = Reader::new(&p[1..]);
        let id = r.u32("statement id")?;
        let ncols = r.u16("column count")?;
        let nparams = r.u16("parameter count")?;
        let param_defs = if keep_param_defs {
            self.read_columns(u64::from(nparams), 65_535)?
        } else {
            for _ in 0..nparams {
                self.with_packet(|_| Ok(()))?;
            }
            if nparams > 0 {
                self.skip_eof()?;
            }
            Vec::new()
        };
        let columns = self.read_columns(u64::from(ncols), 4096)?;
        Ok(Rc::new(Stmt {
            id,
            params: nparams,
            param_defs,
            // What the first execution gives when MariaDB leaves its
            // columns out: they are as the prepare described them.
            shape: RefCell::new((ncols > 0).then(|| Shape::new(&columns))),
            columns,
        }))
    }

    /// COM_STMT_CLOSE (no answer).
    pub fn close_stmt(&mut self, id: u32) -> Result<()> {
        let mut payload = Vec::new();
        ComStmtClose::new(id).serialize(&mut payload);
        self.send(&payload)
    }

    /// The cached statement for `sql`, prepared on first use.
    fn cached(&mut self, sql: &str) -> Result<Rc<Stmt>> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s);
        }
        let stmt = self.prepare_stmt(sql)?;
        if let Some(old) = self.cache.insert(sql, stmt.clone()) {
            self.close_stmt(old.id)?;
        }
        Ok(stmt)
    }

    /// The cached statement for `sql`, or `None` when the server cannot
    /// prepare it (several statements, or a command the binary protocol
    /// lacks): the caller sends the text instead, which gives the same
    /// rows or the server's error for the text. What failed to prepare is
    /// remembered, so it costs one round trip once.
    fn cached_if_preparable(&mut self, sql: &str) -> Result<Option<Rc<Stmt>>> {
        if self.text_only.get(sql).is_some() {
            return Ok(None);
        }
        match self.cached(sql) {
            Ok(stmt) => Ok(Some(stmt)),
            Err(Error::Server(_)) => {
                self.text_only.insert(sql, ());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn send_execute(&mut self, stmt: &Stmt, params: &[Value]) -> Result<()> {
        let params = params.iter().map(param).collect::<Result<Vec<_>>>()?;
        self.send_params(stmt, params)
    }

    /// COM_STMT_EXECUTE with `params`, encoded straight into the packet;
    /// when that would pass 16 MiB, the strings go ahead in
    /// COM_STMT_SEND_LONG_DATA packets (through `mysql_common`).
    fn send_params(&mut self, stmt: &Stmt, params: Vec<Param<'_>>) -> Result<()> {
        self.check_idle()?;
        if params.len() != stmt.params as usize {
            return Err(Error::invalid(format!(
                "the statement takes {} parameters, {} given",
                stmt.params,
                params.len()
            )));
        }
        let len = execute_len(&params);
        if len < MAX_PAYLOAD {
            let mut payload = Vec::with_capacity(len);
            encode_execute(stmt.id, &params, &mut payload);
            return self.send(&payload);
        }
        let values: Vec<mysql_common::Value> = params.into_iter().map(Param::into_mysql).collect();
        let (req, long_data) = ComStmtExecuteRequestBuilder::new(stmt.id).build(&values);
        if long_data {
            for (i, v) in values.iter().enumerate() {
                if let mysql_common::Value::Bytes(b) = v {
                    let mut payload = Vec::new();
                    ComStmtSendLongData::new(stmt.id, i as u16, b.as_slice()).serialize(&mut payload);
                    self.send(&payload)?;
                }
            }
        }
        let mut payload = Vec::new();
        req.serialize(&mut payload);
        self.send(&payload)
    }

    /// Executes a prepared statement with parameters already converted
    /// (bulk inserts read them from the batch); every result.
    pub fn execute_params(&mut self, stmt: &Stmt, params: Vec<Param<'_>>) -> Result<Vec<QueryResult>> {
        self.send_params(stmt, params)?;
        match self.read_all(Some(stmt)) {
            (r, None) => Ok(r),
            (_, Some(e)) => Err(e),
        }
    }

    /// Executes a prepared statement; every result.
    pub fn execute_stmt(&mut self, stmt: &Stmt, params: &[Value]) -> Result<Vec<QueryResult>> {
        let params = params.iter().map(param).collect::<Result<Vec<_>>>()?;
        self.execute_params(stmt, params)
    }

    // ---- streams

    /// Sends `sql` and reads the columns of its first result; rows follow
    /// with [`Connection::stream_next`].
    pub fn stream_open(&mut self, sql: &str, params: &[Value], batch_size: u32) -> Result<Vec<Column>> {
        self.check_idle()?;
        let stmt = if params.is_empty() {
            self.cached_if_preparable(sql)?
        } else {
            Some(self.cached(sql)?)
        };
        let binary = stmt.is_some();
        match &stmt {
            Some(stmt) => self.send_execute(stmt, params)?,
            None => self.send_text(sql)?,
        }
        let (shape, done) = match self.read_head(stmt.as_deref())? {
            Head::Ok { .. } => (Shape::new(&[]), true),
            Head::Columns(shape) => (shape, false),
        };
        let columns = shape.columns.clone();
        self.open_stream = Some(OpenStream {
            shape,
            binary,
            batch_size: batch_size.max(1),
            done,
        });
        if done {
            self.drain_more(binary)?;
        }
        Ok(columns)
    }

    /// The next batch of the open stream; `None` at its end.
    pub fn stream_next(&mut self) -> Result<Option<driverbox_guest_sdk::types::Batch>> {
        let Some(s) = self.open_stream.take() else {
            return Err(Error::invalid("no stream is open"));
        };
        if s.done {
            return Ok(None);
        }
        let mut b = BatchBuilder::new(&s.shape.columns);
        let done = match self.read_rows(&s.shape.decoder, s.binary, &mut b, s.batch_size) {
            Ok(done) => done,
            Err(e) => {
                if !e.breaks_session() {
                    let _ = self.drain_more(s.binary);
                }
                return Err(e);
            }
        };
        if done {
            self.drain_more(s.binary)?;
        }
        let rows = b.rows();
        self.open_stream = Some(OpenStream { done, ..s });
        if rows == 0 && done {
            return Ok(None);
        }
        Ok(Some(b.finish()))
    }

    /// Reads and drops what is left of the open stream.
    pub fn stream_close(&mut self) -> Result<()> {
        let Some(s) = self.open_stream.take() else {
            return Ok(());
        };
        if !s.done {
            loop {
                let mut b = BatchBuilder::new(&s.shape.columns);
                if self.read_rows(&s.shape.decoder, s.binary, &mut b, 10_000)? {
                    break;
                }
            }
            self.drain_more(s.binary)?;
        }
        Ok(())
    }

    /// Reads and drops further results of the last command.
    fn drain_more(&mut self, binary: bool) -> Result<()> {
        while self.more_results() {
            let head = self.read_head(None)?;
            self.read_result_body(head, binary)?;
        }
        Ok(())
    }

    // ---- session facts

    pub fn in_transaction(&self) -> bool {
        self.status & STATUS_IN_TRANS != 0
    }

    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    pub fn is_mariadb(&self) -> bool {
        self.mariadb
    }

    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }
}
