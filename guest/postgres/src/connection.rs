//! One PostgreSQL session over a [`Stream`]: startup, authentication, TLS
//! negotiation, and the simple, extended, pipelined, COPY and portal flows.
//!
//! Every flow writes its messages into one buffer and flushes once per
//! round trip, then reads until `ReadyForQuery` so the session is always
//! left ready, also after a server error. A malformed reply or a broken
//! socket marks the connection broken: later calls get `connection`.

use std::collections::HashMap;
use std::rc::Rc;

use bytes::BytesMut;
use driverbox_guest_sdk::batch::{BatchBuilder, BatchReader, Cell};
use driverbox_guest_sdk::cache::StatementCache;
use driverbox_guest_sdk::io::Stream;
use driverbox_guest_sdk::prepared::PreparedStatements;
use driverbox_guest_sdk::types::{
    Batch, Column, ConnectConfig, LogicalType, Notice, QueryResult, ScriptOutcome, TlsMode,
};
use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result, Value};
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;

use crate::protocol::encode::{self, ParamType};
use crate::protocol::message::{self, tag, Auth, FieldDescription};
use crate::protocol::row::{decode_row, decode_text_row, Decoder};
use crate::protocol::text::{retype, Retype};
use crate::protocol::types::{self, oid};
use crate::protocol::{copy, json};
/// Rows per round trip in pipelined bulk statements.
const PIPELINE_CHUNK_ROWS: usize = 1000;
/// Bytes of COPY data per CopyData message.
const COPY_CHUNK: usize = 64 * 1024;
/// Bytes queued before they are written out during COPY.
const COPY_FLUSH: usize = 512 * 1024;
/// The portal used by streams.
const STREAM_PORTAL: &str = "dbx_stream";
/// CopyFail reason for a COPY FROM STDIN run outside bulk insert.
const COPY_IN_REFUSED: &str = "COPY FROM STDIN needs bulk-insert";

const TYPE_LOOKUP_SQL: &str = "select t.oid, t.typname, \
     case when t.typcategory = 'A' and t.typelem <> 0 and t.oid not in (22, 30) \
     then t.typelem else 0::oid end, t.typdelim \
     from pg_catalog.pg_type t where t.oid = any($1::oid[])";

/// A statement prepared on the server, with what is needed to bind and decode it.
#[derive(Debug)]
pub struct Statement {
    /// Server-side name.
    pub name: String,
    /// Parameter types as the server described them.
    pub params: Vec<ParamType>,
    /// Result columns.
    pub columns: Vec<Column>,
    /// Result column type OIDs.
    pub column_oids: Vec<u32>,
    /// One decoder per result column.
    pub decoders: Vec<Decoder>,
    /// Result format per column (1 binary, 0 text).
    pub formats: Vec<i16>,
}

/// What the driver learned of a non-built-in type.
#[derive(Debug, Clone)]
struct TypeInfo {
    name: String,
    /// Element type and delimiter, for array types.
    array: Option<(u32, u8)>,
}

/// The state of an open stream (a portal read in batches).
struct PortalStream {
    stmt: Rc<Statement>,
    batch: i32,
    /// An Execute was sent whose rows are not read yet.
    pending: bool,
    /// The portal is exhausted and closed; the next `stream_next` ends it.
    done: bool,
}

/// The result of one statement.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Result columns (empty for statements without rows).
    pub columns: Vec<Column>,
    /// The rows, as columns; `None` when they were not kept.
    pub batch: Option<Batch>,
    /// The command tag (`INSERT 0 1`), absent for an empty query.
    pub tag: Option<String>,
    /// Whether the statement returns rows (had a row description).
    pub returns_rows: bool,
}

impl Outcome {
    /// Rows affected as `query-result.rows-affected` reports them: for
    /// data-changing commands, and for `SELECT n` of statements without
    /// rows (`CREATE TABLE AS`).
    pub fn rows_affected(&self) -> Option<u64> {
        let tag = self.tag.as_deref()?;
        let command = tag.split(' ').next().unwrap_or("");
        match command {
            "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "COPY" => message::tag_rows(tag),
            "SELECT" if !self.returns_rows => message::tag_rows(tag),
            _ => None,
        }
    }

    /// Into the WIT result.
    pub fn into_result(self) -> QueryResult {
        let rows_affected = self.rows_affected();
        let batch = self.batch.unwrap_or_else(|| BatchBuilder::new(&self.columns).finish());
        QueryResult {
            columns: self.columns,
            batch,
            rows_affected,
        }
    }

    /// The rows as values (catalog queries: small results).
    pub fn rows(&self) -> Result<Vec<Vec<Value>>> {
        let Some(batch) = &self.batch else {
            return Ok(Vec::new());
        };
        let reader = BatchReader::new(&self.columns, batch)?;
        Ok((0..reader.rows()).map(|r| reader.row_values(r)).collect())
    }
}

/// How COPY rows are written.
#[derive(Debug, Clone, Copy)]
pub enum CopyFormat<'a> {
    /// Text format; per column, the array delimiter of array columns.
    Text(&'a [Option<u8>]),
    /// Binary format, every value encoded for its column's type.
    Binary(&'a [ParamType]),
}

/// One PostgreSQL session.
pub struct Connection {
    stream: Stream,
    out: BytesMut,
    status: u8,
    broken: bool,
    server_params: HashMap<String, String>,
    backend_key: Option<(i32, i32)>,
    cache: StatementCache<Rc<Statement>>,
    next_statement: u64,
    types: HashMap<u32, TypeInfo>,
    prepared: PreparedStatements<Rc<Statement>>,
    portal: Option<PortalStream>,
}

fn auth_error(message: impl Into<String>) -> Error {
    client_error(ErrorKind::Authentication, message)
}

/// Checks what `postgres-protocol` accepts but libpq refuses in a SCRAM
/// server-first message: an iteration count that is missing, not a number
/// or zero (a server that asks for no key stretching at all).
fn check_scram_server_first(data: &[u8]) -> Result<()> {
    let text = std::str::from_utf8(data).map_err(|_| Error::protocol("SCRAM server-first message is not UTF-8"))?;
    let iterations = text
        .split(',')
        .find_map(|attr| attr.strip_prefix("i="))
        .ok_or_else(|| Error::protocol("SCRAM server-first message has no iteration count"))?;
    match iterations.parse::<u32>() {
        Ok(0) => Err(Error::protocol(
            "SCRAM server-first message has an iteration count of 0",
        )),
        Ok(_) => Ok(()),
        Err(_) => Err(Error::protocol(
            "SCRAM server-first message has an invalid iteration count",
        )),
    }
}

fn mode_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Disable => "disable",
        TlsMode::Prefer => "prefer",
        TlsMode::Require => "require",
        TlsMode::VerifyCa => "verify-ca",
        TlsMode::VerifyFull => "verify-full",
    }
}

/// Whether a Parse error says the SQL holds several statements. The
/// message may be localized, but it is the only 42601 without a position
/// (real syntax errors point at the offending token).
fn is_multi_statement_error(e: &Error) -> bool {
    matches!(e, Error::Server(s) if s.code == "42601"
        && (s.position.is_none() || s.message.contains("multiple commands")))
}

/// Errors after which a cached statement must be prepared again: "cached
/// plan must not change result type" (0A000; messages may be localized, so
/// only the code is checked) and "prepared statement does not exist".
fn is_stale_statement_error(e: &Error) -> bool {
    matches!(e, Error::Server(s) if s.code == "0A000" || s.code == "26000")
}

impl Connection {
    /// Opens a session on a connected stream: TLS negotiation as
    /// `config.tls` says, startup, authentication, until the server is ready.
    pub fn startup(stream: Stream, config: &ConnectConfig) -> Result<Connection> {
        let mut conn = Connection::new(stream);
        conn.negotiate_tls(config.tls)?;
        conn.send_startup(config)?;
        conn.authenticate(config)?;
        conn.finish_startup()?;
        conn.iso_output()?;
        Ok(conn)
    }

    /// Asks the server to cancel what backend `pid` is running: a
    /// CancelRequest on a connection of its own (TLS as `config.tls` says).
    pub fn cancel(stream: Stream, config: &ConnectConfig, pid: i32, key: i32) -> Result<()> {
        let mut conn = Connection::new(stream);
        conn.negotiate_tls(config.tls)?;
        frontend::cancel_request(pid, key, &mut conn.out);
        conn.send()?;
        // The server answers by closing the connection.
        let _ = conn.stream.fill(1);
        Ok(())
    }

    fn new(stream: Stream) -> Connection {
        Connection {
            stream,
            out: BytesMut::with_capacity(8 * 1024),
            status: b'I',
            broken: false,
            server_params: HashMap::new(),
            backend_key: None,
            cache: StatementCache::default(),
            next_statement: 1,
            types: HashMap::new(),
            prepared: PreparedStatements::default(),
            portal: None,
        }
    }

    fn negotiate_tls(&mut self, mode: TlsMode) -> Result<()> {
        if mode == TlsMode::Disable {
            return Ok(());
        }
        frontend::ssl_request(&mut self.out);
        self.send()?;
        self.stream.fill(1)?;
        match self.stream.buffered().first().copied() {
            Some(b'S') => {
                self.stream.consume(1);
                self.stream.upgrade_tls()
            }
            Some(b'N') => {
                self.stream.consume(1);
                if mode == TlsMode::Prefer {
                    Ok(())
                } else {
                    Err(client_error(
                        ErrorKind::Tls,
                        format!("server does not support TLS but sslmode={}", mode_name(mode)),
                    ))
                }
            }
            Some(tag::ERROR_RESPONSE) => {
                let (_, len) = self.next_message()?;
                let e = self.server_error(len)?;
                Err(e)
            }
            _ => Err(Error::protocol("unexpected reply to the TLS request")),
        }
    }

    fn send_startup(&mut self, config: &ConnectConfig) -> Result<()> {
        if let Some((_, encoding)) = config.options.iter().find(|(k, _)| k == "client_encoding") {
            if !is_utf8_name(encoding) {
                return Err(Error::invalid(format!(
                    "client_encoding {encoding:?} is not supported: driverbox reads text as UTF-8 (use UTF8)"
                )));
            }
        }
        let user = config.user.as_deref().unwrap_or("postgres");
        let mut params: Vec<(&str, &str)> = vec![
            ("user", user),
            ("client_encoding", "UTF8"),
            ("IntervalStyle", "postgres"),
            ("extra_float_digits", "3"),
        ];
        if let Some(db) = config.database.as_deref() {
            params.push(("database", db));
        }
        if let Some(app) = config.application_name.as_deref() {
            params.push(("application_name", app));
        }
        if let Some((_, v)) = config.options.iter().find(|(k, _)| k == "options") {
            params.push(("options", v));
        }
        frontend::startup_message(params, &mut self.out)
            .map_err(|_| Error::invalid("connection settings must not contain NUL characters"))?;
        self.send()
    }

    fn authenticate(&mut self, config: &ConnectConfig) -> Result<()> {
        let user = config.user.as_deref().unwrap_or("postgres");
        let password = || {
            config
                .password
                .as_deref()
                .ok_or_else(|| auth_error("password required"))
        };
        let mut scram: Option<sasl::ScramSha256> = None;
        loop {
            let (t, len) = self.next_message()?;
            match t {
                tag::AUTHENTICATION => {
                    let body = self.stream.buffered().get(5..len).unwrap_or(&[]);
                    let mut authenticated = false;
                    match message::authentication(body)? {
                        Auth::Ok => authenticated = true,
                        Auth::Cleartext => {
                            frontend::password_message(password()?.as_bytes(), &mut self.out)
                                .map_err(|_| auth_error("password must not contain NUL"))?;
                        }
                        Auth::Md5(salt) => {
                            let hash = md5_hash(user.as_bytes(), password()?.as_bytes(), salt);
                            frontend::password_message(hash.as_bytes(), &mut self.out)
                                .map_err(|_| Error::protocol("md5"))?;
                        }
                        Auth::Sasl(mechanisms) => {
                            if !mechanisms.contains(&sasl::SCRAM_SHA_256) {
                                return Err(auth_error(format!(
                                    "server offers no supported SASL mechanism ({})",
                                    mechanisms.join(", ")
                                )));
                            }
                            // Channel binding would need the TLS certificate, which
                            // only the host sees: say we do not support it.
                            let s = sasl::ScramSha256::new(password()?.as_bytes(), sasl::ChannelBinding::unsupported());
                            frontend::sasl_initial_response(sasl::SCRAM_SHA_256, s.message(), &mut self.out)
                                .map_err(|_| Error::protocol("SASL"))?;
                            scram = Some(s);
                        }
                        Auth::SaslContinue(data) => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| Error::protocol("SASL continue without SASL start"))?;
                            check_scram_server_first(data)?;
                            s.update(data)
                                .map_err(|e| auth_error(format!("SCRAM exchange failed: {e}")))?;
                            frontend::sasl_response(s.message(), &mut self.out).map_err(|_| Error::protocol("SASL"))?;
                        }
                        Auth::SaslFinal(data) => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| Error::protocol("SASL final without SASL start"))?;
                            s.finish(data)
                                .map_err(|e| auth_error(format!("server SCRAM signature rejected: {e}")))?;
                        }
                        Auth::Other(code) => {
                            return Err(auth_error(format!("unsupported authentication method (code {code})")));
                        }
                    }
                    self.stream.consume(len);
                    if authenticated {
                        return Ok(());
                    }
                    self.send()?;
                }
                tag::ERROR_RESPONSE => return Err(self.server_error(len)?),
                tag::NEGOTIATE_PROTOCOL_VERSION => self.stream.consume(len),
                other => return Err(unexpected(other)),
            }
        }
    }

    /// Dates in ISO form when the server sends text (simple-protocol
    /// results, arrays of types without a codec): `SET DateStyle` to `ISO`
    /// changes only the output, so a role's or database's input order
    /// (`DMY`, `MDY`) stays as it is. Nothing to do when it is ISO already.
    fn iso_output(&mut self) -> Result<()> {
        let style = self.server_param("DateStyle").unwrap_or("ISO");
        if style.trim_start().to_ascii_uppercase().starts_with("ISO") {
            return Ok(());
        }
        self.run("set datestyle to 'ISO'").map(|_| ())
    }

    fn finish_startup(&mut self) -> Result<()> {
        loop {
            let (t, len) = self.next_message()?;
            match t {
                tag::BACKEND_KEY_DATA => {
                    self.backend_key = Some(message::backend_key(self.body(len))?);
                }
                tag::READY_FOR_QUERY => return self.ready_for_query(len),
                tag::ERROR_RESPONSE => return Err(self.server_error(len)?),
                tag::NEGOTIATE_PROTOCOL_VERSION => {}
                other => return Err(unexpected(other)),
            }
            self.stream.consume(len);
        }
    }

    // ---------------------------------------------------------------
    // Low-level I/O
    // ---------------------------------------------------------------

    /// Writes everything queued.
    fn send(&mut self) -> Result<()> {
        let r = self.stream.write_all(&self.out);
        self.out.clear();
        r
    }

    /// Buffers the next message whole and gives `(tag, total length)`.
    /// Notices, notifications and parameter changes are handled here.
    fn next_message(&mut self) -> Result<(u8, usize)> {
        loop {
            self.stream.fill(5)?;
            let (t, len) =
                message::frame(self.stream.buffered())?.ok_or_else(|| Error::protocol("short message header"))?;
            self.stream.fill(len)?;
            match t {
                tag::NOTICE_RESPONSE => {
                    if let Ok(n) = message::error_fields(self.body(len)) {
                        driverbox_guest_sdk::log::notice(&Notice {
                            severity: n.severity,
                            code: n.error.code,
                            message: n.error.message,
                            detail: n.error.detail,
                            hint: n.error.hint,
                        });
                    }
                }
                tag::PARAMETER_STATUS => {
                    let (k, v) = message::parameter_status(self.body(len))?;
                    let (k, v) = (k.to_string(), v.to_string());
                    self.server_params.insert(k, v);
                }
                tag::NOTIFICATION => {}
                _ => return Ok((t, len)),
            }
            self.stream.consume(len);
        }
    }

    /// The body of the buffered message of total length `len`.
    fn body(&self, len: usize) -> &[u8] {
        self.stream.buffered().get(5..len).unwrap_or(&[])
    }

    /// Parses a buffered ErrorResponse (and consumes nothing). A FATAL
    /// error breaks the session.
    fn server_error(&mut self, len: usize) -> Result<Error> {
        let e = message::error_fields(self.body(len))?;
        if e.is_fatal() {
            self.broken = true;
        }
        Ok(Error::Server(e.error))
    }

    /// Takes the buffered ReadyForQuery of length `len`: keeps the
    /// transaction status and consumes the message.
    fn ready_for_query(&mut self, len: usize) -> Result<()> {
        self.status = message::ready_status(self.body(len))?;
        self.stream.consume(len);
        // One request, one ReadyForQuery: a second one already here means
        // client and server are out of step. (One that comes later is
        // caught by the next request, see `early_ready`; other messages
        // may come while idle, such as a FATAL error before a shutdown.)
        if self.stream.buffered().first() == Some(&tag::READY_FOR_QUERY) {
            self.broken = true;
            return Err(Error::protocol(
                "server sent ReadyForQuery twice: the session is out of step",
            ));
        }
        Ok(())
    }

    /// A ReadyForQuery that ends a request before any reply to it: a
    /// leftover of an earlier exchange (the session is out of step).
    fn early_ready(&mut self) -> Error {
        self.broken = true;
        Error::protocol("server sent ReadyForQuery before any reply to the request: the session is out of step")
    }

    /// Answers a CopyInResponse the caller did not ask for with CopyFail
    /// (and, in the extended protocol, a Sync: the earlier one was ignored).
    fn refuse_copy_in(&mut self, reason: &str, sync: bool) -> Result<()> {
        let _ = frontend::copy_fail(reason, &mut self.out);
        if sync {
            message::sync(&mut self.out);
        }
        self.send()
    }

    /// Reads the replies to one command up to ReadyForQuery; gives its
    /// last command tag and the server error, if any. Rows are dropped.
    /// `extended`: the command went by the extended protocol.
    fn read_command(&mut self, extended: bool) -> Result<(Option<String>, Option<Error>)> {
        let mut tag_text = None;
        let mut error = None;
        let mut replied = false;
        loop {
            let (t, len) = self.next_message()?;
            if t == tag::READY_FOR_QUERY && !replied {
                return Err(self.early_ready());
            }
            replied = true;
            match t {
                tag::COMMAND_COMPLETE => tag_text = Some(message::command_tag(self.body(len))?.to_string()),
                tag::ERROR_RESPONSE => error = Some(self.server_error(len)?),
                tag::COPY_IN_RESPONSE => self.refuse_copy_in(COPY_IN_REFUSED, extended)?,
                tag::READY_FOR_QUERY => {
                    self.ready_for_query(len)?;
                    return Ok((tag_text, error));
                }
                _ => {}
            }
            self.stream.consume(len);
        }
    }

    /// Reads and drops messages up to ReadyForQuery.
    fn drain_to_ready(&mut self) -> Result<()> {
        loop {
            let (t, len) = self.next_message()?;
            if t == tag::READY_FOR_QUERY {
                return self.ready_for_query(len);
            }
            if t == tag::ERROR_RESPONSE {
                self.server_error(len)?;
            }
            self.stream.consume(len);
        }
    }

    /// After an error seen without a Sync sent: Sync, drain, give the error.
    fn sync_and_fail<T>(&mut self, e: Error) -> Result<T> {
        message::sync(&mut self.out);
        self.send()?;
        self.drain_to_ready()?;
        Err(e)
    }

    /// Marks the session broken when `r` is an error that desynchronises it.
    fn settle<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            if e.breaks_session() {
                self.broken = true;
            }
        }
        r
    }

    /// Fails when the session cannot take a new request.
    pub fn ensure_usable(&self) -> Result<()> {
        if self.broken {
            return Err(Error::connection("the connection is broken"));
        }
        if self.portal.as_ref().is_some_and(|p| !p.done) {
            return Err(Error::invalid("a stream is open"));
        }
        Ok(())
    }

    // ---------------------------------------------------------------
    // State
    // ---------------------------------------------------------------

    /// Transaction status from the last ReadyForQuery: `I`, `T` or `E`.
    pub fn transaction_status(&self) -> u8 {
        self.status
    }

    /// Whether a transaction block is open (also a failed one).
    pub fn in_transaction(&self) -> bool {
        self.status != b'I'
    }

    /// Whether the session can no longer be used.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// A run-time parameter the server reported (`server_version`, `TimeZone` ...).
    pub fn server_param(&self, name: &str) -> Option<&str> {
        self.server_params.get(name).map(String::as_str)
    }

    /// The backend's process id and cancel key.
    pub fn backend_key(&self) -> Option<(i32, i32)> {
        self.backend_key
    }

    /// How many statements the cache holds.
    pub fn cached_statements(&self) -> usize {
        self.cache.len()
    }

    /// The name of a type OID (`int4`, `_text`, or a user type's `typname`).
    pub fn type_name(&self, type_oid: u32) -> String {
        if let Some(n) = types::builtin_name(type_oid) {
            return n.to_string();
        }
        match self.types.get(&type_oid) {
            Some(info) => info.name.clone(),
            None => type_oid.to_string(),
        }
    }

    /// A result column: its name, the logical type its decoder fills, the
    /// type's name, and for `numeric(p,s)` the precision and scale.
    fn column(&self, field: &FieldDescription, logical_type: LogicalType) -> Column {
        let (precision, scale) = match (field.type_oid, field.type_modifier) {
            (oid::NUMERIC, m) if m >= 4 => {
                let m = m - 4;
                // The scale is 11 bits, signed since PostgreSQL 15.
                let scale = ((m & 0x7ff) ^ 0x400) - 0x400;
                (Some(((m >> 16) & 0xffff) as u32), Some(scale))
            }
            _ => (None, None),
        };
        Column {
            name: field.name.clone(),
            logical_type,
            database_type: self.type_name(field.type_oid),
            precision,
            scale,
            nullable: None,
        }
    }

    fn array_info(&self, type_oid: u32) -> Option<(u32, u8)> {
        match types::array_element(type_oid) {
            Some(elem) => Some((elem, b',')),
            None => self.types.get(&type_oid).and_then(|t| t.array),
        }
    }

    /// Looks up the names of type OIDs the driver does not know (one query).
    fn resolve_types(&mut self, oids: &[u32]) -> Result<()> {
        let mut missing: Vec<u32> = oids
            .iter()
            .copied()
            .filter(|o| types::builtin_name(*o).is_none() && !self.types.contains_key(o))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        let list = missing.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let rows = match self.query_extended(TYPE_LOOKUP_SQL, &[Value::Text(format!("{{{list}}}"))]) {
            Ok(out) => out.rows()?,
            // A failed transaction cannot look anything up; names stay OIDs.
            Err(Error::Server(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        for row in rows {
            let c = Cells(&row);
            let type_oid = c.i64(0)? as u32;
            let elem = c.i64(2)? as u32;
            let delim = c.str(3)?.bytes().next().unwrap_or(b',');
            self.types.insert(
                type_oid,
                TypeInfo {
                    name: c.str(1)?,
                    array: (elem != 0).then_some((elem, delim)),
                },
            );
        }
        for o in missing {
            self.types.entry(o).or_insert_with(|| TypeInfo {
                name: o.to_string(),
                array: None,
            });
        }
        Ok(())
    }

    // ---------------------------------------------------------------
    // Extended protocol
    // ---------------------------------------------------------------

    /// Parse + Describe + Sync: prepares `sql` as statement `name`.
    fn prepare_named(&mut self, name: &str, sql: &str) -> Result<Statement> {
        let mark = self.out.len();
        if let Err(e) = message::parse(name, sql, &mut self.out) {
            self.out.truncate(mark);
            return Err(e);
        }
        message::describe(b'S', name, &mut self.out);
        message::sync(&mut self.out);
        self.send()?;
        let mut params = None;
        let mut fields: Option<Vec<FieldDescription>> = None;
        let mut error = None;
        let mut replied = false;
        loop {
            let (t, len) = self.next_message()?;
            if t == tag::READY_FOR_QUERY && !replied {
                return Err(self.early_ready());
            }
            replied = true;
            match t {
                tag::PARSE_COMPLETE | tag::CLOSE_COMPLETE => {}
                tag::PARAMETER_DESCRIPTION => params = Some(message::parameter_description(self.body(len))?),
                tag::ROW_DESCRIPTION => fields = Some(message::row_description(self.body(len))?),
                tag::NO_DATA => fields = Some(Vec::new()),
                tag::ERROR_RESPONSE => error = Some(self.server_error(len)?),
                tag::READY_FOR_QUERY => {
                    self.ready_for_query(len)?;
                    break;
                }
                other => return Err(unexpected(other)),
            }
            self.stream.consume(len);
        }
        if let Some(e) = error {
            return Err(e);
        }
        let (Some(params), Some(fields)) = (params, fields) else {
            return Err(Error::protocol("incomplete statement description"));
        };
        let mut oids = params.clone();
        oids.extend(fields.iter().map(|f| f.type_oid));
        self.resolve_types(&oids)?;

        let params = params
            .iter()
            .map(|&o| ParamType {
                oid: o,
                array_delim: self.array_info(o).map(|(_, d)| d),
            })
            .collect();
        let mut decoders = Vec::with_capacity(fields.len());
        let mut formats = Vec::with_capacity(fields.len());
        for f in &fields {
            let (d, fmt) = match types::binary_codec(f.type_oid) {
                Some(codec) => (Decoder::Binary(codec), 1),
                None => match self.array_info(f.type_oid) {
                    Some((elem, delim)) => (Decoder::TextArray { elem, delim }, 0),
                    None => (Decoder::Text, 0),
                },
            };
            decoders.push(d);
            formats.push(fmt);
        }
        let columns = fields
            .iter()
            .zip(&decoders)
            .map(|(f, d)| self.column(f, d.logical_type()))
            .collect();
        Ok(Statement {
            name: name.to_string(),
            params,
            columns,
            column_oids: fields.iter().map(|f| f.type_oid).collect(),
            decoders,
            formats,
        })
    }

    /// A cached prepared statement for `sql`, preparing it on a miss.
    fn prepare_cached(&mut self, sql: &str) -> Result<Rc<Statement>> {
        if let Some(stmt) = self.cache.get(sql) {
            return Ok(stmt);
        }
        let name = format!("dbx_s{}", self.next_statement);
        self.next_statement += 1;
        let stmt = Rc::new(self.prepare_named(&name, sql)?);
        if let Some(old) = self.cache.insert(sql, stmt.clone()) {
            // Closed with the next round trip.
            message::close(b'S', &old.name, &mut self.out);
        }
        Ok(stmt)
    }

    fn forget_cached(&mut self, sql: &str) {
        if let Some(old) = self.cache.remove(sql) {
            message::close(b'S', &old.name, &mut self.out);
        }
    }

    /// Queues Bind (+ Execute) of `stmt` into `out`; nothing is queued on error.
    fn queue_bind(out: &mut BytesMut, stmt: &Statement, portal: &str, params: &[Cell<'_>]) -> Result<()> {
        if params.len() != stmt.params.len() {
            return Err(Error::invalid(format!(
                "the statement takes {} parameters, {} given",
                stmt.params.len(),
                params.len()
            )));
        }
        let mark = out.len();
        let mut failure: Option<Error> = None;
        let mut index = 0;
        let result_formats: &[i16] = if stmt.formats.iter().all(|f| *f == 0) {
            &[]
        } else {
            &stmt.formats
        };
        let r = frontend::bind(
            portal,
            &stmt.name,
            stmt.params.iter().zip(params).map(|(t, v)| encode::format_for(*t, *v)),
            stmt.params.iter().zip(params),
            |(t, v), buf| {
                index += 1;
                match encode::encode(*t, *v, encode::format_for(*t, *v), buf) {
                    Ok(true) => Ok(IsNull::No),
                    Ok(false) => Ok(IsNull::Yes),
                    Err(e) => {
                        failure = Some(e);
                        Err("encoding failed".into())
                    }
                }
            },
            result_formats.iter().copied(),
            out,
        );
        if r.is_err() {
            out.truncate(mark);
            return Err(match failure {
                Some(Error::Client(c)) => Error::invalid(format!("parameter ${index}: {}", c.message)),
                Some(e) => e,
                None => Error::invalid("parameters too large"),
            });
        }
        Ok(())
    }

    /// Bind + Execute + Sync of a prepared statement, one round trip.
    /// Rows are decoded only with `keep_rows`.
    fn execute_statement(&mut self, stmt: &Statement, params: &[Value], keep_rows: bool) -> Result<Outcome> {
        let cells: Vec<Cell<'_>> = params.iter().map(Cell::from).collect();
        Self::queue_bind(&mut self.out, stmt, "", &cells)?;
        message::execute("", 0, &mut self.out);
        message::sync(&mut self.out);
        self.send()?;
        let mut rows = keep_rows.then(|| BatchBuilder::new(&stmt.columns));
        let mut tag_text = None;
        let mut error = None;
        let mut replied = false;
        loop {
            let (t, len) = self.next_message()?;
            if t == tag::READY_FOR_QUERY && !replied {
                return Err(self.early_ready());
            }
            replied = true;
            match t {
                tag::DATA_ROW => {
                    if let (Some(rows), None) = (rows.as_mut(), &error) {
                        // A value that cannot be decoded fails the statement;
                        // the rest is read so the session stays in step.
                        match decode_row(self.body(len), &stmt.decoders, &stmt.columns, rows) {
                            Err(e) if e.breaks_session() => return Err(e),
                            Err(e) => error = Some(e),
                            Ok(()) => {}
                        }
                    }
                }
                tag::BIND_COMPLETE | tag::PARSE_COMPLETE | tag::CLOSE_COMPLETE => {}
                tag::COMMAND_COMPLETE => tag_text = Some(message::command_tag(self.body(len))?.to_string()),
                tag::EMPTY_QUERY | tag::PORTAL_SUSPENDED => {}
                tag::ERROR_RESPONSE => {
                    let e = self.server_error(len)?;
                    error.get_or_insert(e);
                }
                tag::COPY_IN_RESPONSE => self.refuse_copy_in(COPY_IN_REFUSED, true)?,
                tag::COPY_OUT_RESPONSE | tag::COPY_DATA | tag::COPY_DONE => {}
                tag::READY_FOR_QUERY => {
                    self.ready_for_query(len)?;
                    break;
                }
                other => return Err(unexpected(other)),
            }
            self.stream.consume(len);
        }
        if let Some(e) = error {
            return Err(e);
        }
        self.after_command(tag_text.as_deref());
        Ok(Outcome {
            columns: stmt.columns.clone(),
            batch: rows.map(BatchBuilder::finish),
            tag: tag_text,
            returns_rows: !stmt.columns.is_empty(),
        })
    }

    /// Keeps the statement caches true after DISCARD ALL / DEALLOCATE.
    fn after_command(&mut self, tag_text: Option<&str>) {
        match tag_text {
            Some("DISCARD ALL") | Some("DEALLOCATE ALL") => {
                self.cache.drain();
                self.prepared.drain();
            }
            // One statement went, maybe ours; or the schema changed, and a
            // cached statement's result type with it (inside a transaction
            // the server's "cached plan must not change result type" would
            // abort the transaction): prepare all cached ones anew.
            Some(t) if t == "DEALLOCATE" || changes_schema(t) => {
                for old in self.cache.drain() {
                    message::close(b'S', &old.name, &mut self.out);
                }
            }
            _ => {}
        }
    }

    /// Executes a cached statement, re-preparing it once when the server
    /// says it is stale. The retry happens only outside a transaction
    /// block, where the failed attempt changed nothing.
    fn execute_cached(&mut self, sql: &str, stmt: Rc<Statement>, params: &[Value], keep_rows: bool) -> Result<Outcome> {
        match self.execute_statement(&stmt, params, keep_rows) {
            Err(e) if is_stale_statement_error(&e) => {
                self.forget_cached(sql);
                if self.status != b'I' {
                    return Err(e);
                }
                let stmt = self.prepare_cached(sql)?;
                self.execute_statement(&stmt, params, keep_rows)
            }
            other => other,
        }
    }

    /// Runs `sql` with the extended protocol through the statement cache.
    fn query_extended(&mut self, sql: &str, params: &[Value]) -> Result<Outcome> {
        let stmt = self.prepare_cached(sql)?;
        self.execute_cached(sql, stmt, params, true)
    }

    /// Extended protocol, or the simple one for a script of several
    /// statements (only without parameters: the server allows no others).
    fn query_any(&mut self, sql: &str, params: &[Value], keep_rows: bool) -> Result<Outcome> {
        let stmt = match self.prepare_cached(sql) {
            Ok(stmt) => stmt,
            Err(e) if params.is_empty() && is_multi_statement_error(&e) => {
                let (mut results, error) = self.simple_query_inner(sql)?;
                if let Some(e) = error {
                    return Err(e);
                }
                // The last result with rows, else the last one.
                let at = results
                    .iter()
                    .rposition(|r| r.returns_rows)
                    .or(results.len().checked_sub(1));
                return Ok(at.map(|i| results.swap_remove(i)).unwrap_or_default());
            }
            Err(e) => return Err(e),
        };
        self.execute_cached(sql, stmt, params, keep_rows)
    }

    /// Runs one statement (or, without parameters, a script of several)
    /// and gives its result.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Outcome> {
        self.ensure_usable()?;
        let r = self.query_any(sql, params, true);
        self.settle(r)
    }

    /// [`Connection::query`], each row mapped by `f` (catalog queries).
    pub fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(Cells<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let out = self.query(sql, params)?;
        out.rows()?.iter().map(|row| f(Cells(row))).collect()
    }

    /// [`Connection::query`], the first row mapped by `f`; `None` without rows.
    pub fn query_first<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(Cells<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let out = self.query(sql, params)?;
        out.rows()?.first().map(|row| f(Cells(row))).transpose()
    }

    /// Runs a statement and gives the rows it affected (0 when it reports
    /// none); rows it returns are not decoded.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.ensure_usable()?;
        let r = self.query_any(sql, params, false);
        let out = self.settle(r)?;
        Ok(out.tag.as_deref().and_then(message::tag_rows).unwrap_or(0))
    }

    /// Runs one statement without caching it (DDL, transaction control):
    /// Parse + Bind + Execute + Sync of the unnamed statement, one round
    /// trip; rows, if any, are dropped. Gives the command tag.
    pub fn run(&mut self, sql: &str) -> Result<Option<String>> {
        self.ensure_usable()?;
        let r = self.run_inner(sql);
        self.settle(r)
    }

    fn run_inner(&mut self, sql: &str) -> Result<Option<String>> {
        let mark = self.out.len();
        if let Err(e) = message::parse("", sql, &mut self.out) {
            self.out.truncate(mark);
            return Err(e);
        }
        let _ = frontend::bind(
            "",
            "",
            std::iter::empty(),
            std::iter::empty::<()>(),
            |_, _| Ok(IsNull::Yes),
            std::iter::empty(),
            &mut self.out,
        );
        message::execute("", 0, &mut self.out);
        message::sync(&mut self.out);
        self.send()?;
        let (tag_text, error) = self.read_command(true)?;
        match error {
            Some(e) => Err(e),
            None => {
                self.after_command(tag_text.as_deref());
                Ok(tag_text)
            }
        }
    }

    /// A round trip that runs nothing (Sync → ReadyForQuery).
    pub fn ping(&mut self) -> Result<()> {
        self.ensure_usable()?;
        message::sync(&mut self.out);
        let r = self.send().and_then(|_| self.drain_to_ready());
        self.settle(r)
    }

    // ---------------------------------------------------------------
    // Simple protocol
    // ---------------------------------------------------------------

    /// Runs a script with the simple query protocol: one outcome per
    /// statement that ran, and the error that ended it, if any.
    pub fn execute_script(&mut self, sql: &str) -> ScriptOutcome {
        let r = self.ensure_usable().and_then(|_| self.simple_query_inner(sql));
        match self.settle(r) {
            Ok((outcomes, error)) => ScriptOutcome {
                results: outcomes.into_iter().map(Outcome::into_result).collect(),
                error,
            },
            Err(e) => ScriptOutcome {
                results: Vec::new(),
                error: Some(e),
            },
        }
    }

    /// Sends `sql` as one simple Query and reads every result: text
    /// values, each column then typed by its OID (a column whose values do
    /// not all parse stays text). A server error ends the script and comes
    /// back beside the results before it.
    fn simple_query_inner(&mut self, sql: &str) -> Result<(Vec<Outcome>, Option<Error>)> {
        message::query(sql, &mut self.out)?;
        self.send()?;
        struct Current {
            fields: Vec<FieldDescription>,
            columns: Vec<Column>,
            rows: BatchBuilder,
        }
        let mut current: Option<Current> = None;
        let mut done: Vec<(Option<Current>, Option<String>)> = Vec::new();
        let mut error = None;
        let mut replied = false;
        // The result a value could not be decoded in.
        let mut failed_at = None;
        loop {
            let (t, len) = self.next_message()?;
            if t == tag::READY_FOR_QUERY && !replied {
                return Err(self.early_ready());
            }
            replied = true;
            match t {
                tag::ROW_DESCRIPTION => {
                    let fields = message::row_description(self.body(len))?;
                    let text: Vec<Column> = fields.iter().map(|f| self.column(f, LogicalType::Text)).collect();
                    current = Some(Current {
                        rows: BatchBuilder::new(&text),
                        columns: text,
                        fields,
                    });
                }
                tag::DATA_ROW => {
                    let cur = current
                        .as_mut()
                        .ok_or_else(|| Error::protocol("data row without row description"))?;
                    if failed_at.is_none() {
                        // A value that cannot be decoded ends the results
                        // here; the rest is read so the session stays in step.
                        match decode_text_row(self.body(len), &cur.columns, &mut cur.rows) {
                            Err(e) if e.breaks_session() => return Err(e),
                            Err(e) => {
                                failed_at = Some(done.len());
                                error.get_or_insert(e);
                            }
                            Ok(()) => {}
                        }
                    }
                }
                tag::COMMAND_COMPLETE | tag::EMPTY_QUERY => {
                    let tag_text = if t == tag::COMMAND_COMPLETE {
                        let s = message::command_tag(self.body(len))?.to_string();
                        self.after_command(Some(&s));
                        Some(s)
                    } else {
                        None
                    };
                    done.push((current.take(), tag_text));
                }
                tag::ERROR_RESPONSE => {
                    let e = self.server_error(len)?;
                    error.get_or_insert(e);
                }
                tag::COPY_IN_RESPONSE => self.refuse_copy_in(COPY_IN_REFUSED, false)?,
                tag::COPY_OUT_RESPONSE | tag::COPY_DATA | tag::COPY_DONE => {}
                tag::READY_FOR_QUERY => {
                    self.ready_for_query(len)?;
                    break;
                }
                other => return Err(unexpected(other)),
            }
            self.stream.consume(len);
        }
        if let Some(n) = failed_at {
            done.truncate(n);
        }
        let mut outcomes = Vec::with_capacity(done.len());
        for (cur, tag_text) in done {
            let Some(cur) = cur else {
                outcomes.push(Outcome {
                    tag: tag_text,
                    ..Outcome::default()
                });
                continue;
            };
            let oids: Vec<u32> = cur.fields.iter().map(|f| f.type_oid).collect();
            self.resolve_types(&oids)?;
            let targets: Vec<Retype> = oids
                .iter()
                .map(|&o| match types::binary_codec(o) {
                    Some(codec) if codec.logical_type() != LogicalType::Text => Retype::Typed {
                        type_oid: o,
                        logical: codec.logical_type(),
                    },
                    Some(_) => Retype::Keep,
                    None => match self.array_info(o) {
                        Some((elem, delim)) => Retype::Array { elem, delim },
                        None => Retype::Keep,
                    },
                })
                .collect();
            let mut columns: Vec<Column> = cur.fields.iter().map(|f| self.column(f, LogicalType::Text)).collect();
            let batch = retype(&mut columns, &targets, cur.rows.finish());
            outcomes.push(Outcome {
                columns,
                batch: Some(batch),
                tag: tag_text,
                returns_rows: true,
            });
        }
        Ok((outcomes, error))
    }

    // ---------------------------------------------------------------
    // Statements prepared by the caller
    // ---------------------------------------------------------------

    /// Prepares `sql` and gives its id and the statement.
    pub fn prepare(&mut self, sql: &str) -> Result<(u32, Rc<Statement>)> {
        self.ensure_usable()?;
        let name = format!("dbx_p{}", self.next_statement);
        self.next_statement += 1;
        let r = self.prepare_named(&name, sql);
        let stmt = Rc::new(self.settle(r)?);
        let id = self.prepared.insert(stmt.clone());
        Ok((id, stmt))
    }

    /// Executes a statement from [`Connection::prepare`].
    pub fn execute_prepared(&mut self, id: u32, params: &[Value]) -> Result<Outcome> {
        self.ensure_usable()?;
        let stmt = self.prepared.get(id)?.clone();
        let r = self.execute_statement(&stmt, params, true);
        self.settle(r)
    }

    /// Closes a statement from [`Connection::prepare`].
    pub fn deallocate(&mut self, id: u32) -> Result<()> {
        self.ensure_usable()?;
        let stmt = self.prepared.remove(id)?;
        message::close(b'S', &stmt.name, &mut self.out);
        message::sync(&mut self.out);
        let r = self.send().and_then(|_| self.drain_to_ready());
        self.settle(r)
    }

    // ---------------------------------------------------------------
    // Bulk: pipelines and COPY
    // ---------------------------------------------------------------

    /// Executes `sql` once per row of parameters, pipelined: all Binds and
    /// Executes go before one Sync, so it is atomic (one implicit
    /// transaction, or part of the open one). Large inputs go in chunks
    /// separated by Flush. Gives the sum of rows affected.
    pub fn execute_many(&mut self, sql: &str, data: &BatchReader<'_>) -> Result<u64> {
        self.ensure_usable()?;
        if data.rows() == 0 {
            return Ok(0);
        }
        let r = self.execute_many_inner(sql, data);
        self.settle(r)
    }

    fn execute_many_inner(&mut self, sql: &str, data: &BatchReader<'_>) -> Result<u64> {
        let stmt = self.prepare_cached(sql)?;
        // Encode everything first: an encoding error must send nothing.
        let mut encoded = BytesMut::new();
        let mut bounds = Vec::new();
        let width = data.columns().len();
        let mut row_cells = Vec::with_capacity(width);
        for i in 0..data.rows() {
            row_cells.clear();
            row_cells.extend((0..width).map(|c| data.cell(i, c)));
            Self::queue_bind(&mut encoded, &stmt, "", &row_cells).map_err(|e| with_row_context(e, i))?;
            message::execute("", 0, &mut encoded);
            if (i + 1) % PIPELINE_CHUNK_ROWS == 0 || i + 1 == data.rows() {
                bounds.push((encoded.len(), (i % PIPELINE_CHUNK_ROWS) + 1));
            }
        }
        let mut total = 0u64;
        let mut start = 0;
        let chunks = bounds.len();
        for (n, (end, count)) in bounds.into_iter().enumerate() {
            let last = n + 1 == chunks;
            self.out.extend_from_slice(&encoded[start..end]);
            start = end;
            if last {
                message::sync(&mut self.out);
            } else {
                message::flush(&mut self.out);
            }
            self.send()?;
            let mut completes = 0;
            while completes < count {
                let (t, len) = self.next_message()?;
                match t {
                    tag::COMMAND_COMPLETE => {
                        let tag_text = message::command_tag(self.body(len))?;
                        total += message::tag_rows(tag_text).unwrap_or(0);
                        completes += 1;
                    }
                    tag::ERROR_RESPONSE => {
                        let e = self.server_error(len)?;
                        self.stream.consume(len);
                        if last {
                            self.drain_to_ready()?;
                            return Err(e);
                        }
                        return self.sync_and_fail(e);
                    }
                    tag::BIND_COMPLETE | tag::CLOSE_COMPLETE | tag::PARSE_COMPLETE | tag::DATA_ROW => {}
                    other => return Err(unexpected(other)),
                }
                self.stream.consume(len);
            }
        }
        self.drain_to_ready()?;
        Ok(total)
    }

    /// Runs `COPY ... FROM STDIN` (text format) with `rows`. On a value
    /// that cannot be encoded the copy is failed (CopyFail) so nothing is
    /// written. Gives the row count the server reports.
    pub fn copy_in(&mut self, sql: &str, data: &BatchReader<'_>, format: CopyFormat) -> Result<u64> {
        self.ensure_usable()?;
        let r = self.copy_in_inner(sql, data, format);
        self.settle(r)
    }

    /// The parameter types of `sql` (prepared through the statement cache).
    pub fn param_types(&mut self, sql: &str) -> Result<Vec<ParamType>> {
        self.ensure_usable()?;
        let r = self.prepare_cached(sql);
        Ok(self.settle(r)?.params.clone())
    }

    fn copy_in_inner(&mut self, sql: &str, data: &BatchReader<'_>, format: CopyFormat) -> Result<u64> {
        message::query(sql, &mut self.out)?;
        self.send()?;
        loop {
            let (t, len) = self.next_message()?;
            match t {
                tag::COPY_IN_RESPONSE => {
                    self.stream.consume(len);
                    break;
                }
                tag::ERROR_RESPONSE => {
                    let e = self.server_error(len)?;
                    self.stream.consume(len);
                    self.drain_to_ready()?;
                    return Err(e);
                }
                tag::READY_FOR_QUERY => {
                    self.ready_for_query(len)?;
                    return Err(Error::protocol("COPY did not start"));
                }
                _ => self.stream.consume(len),
            }
        }
        let mut chunk = BytesMut::with_capacity(COPY_CHUNK + 1024);
        if let CopyFormat::Binary(_) = format {
            copy::binary_header(&mut chunk);
        }
        let mut failure = None;
        for i in 0..data.rows() {
            let written = match format {
                CopyFormat::Text(delims) => copy::write_row(&mut chunk, data, i, delims),
                CopyFormat::Binary(types) => copy::write_binary_row(&mut chunk, data, i, types),
            };
            if let Err(e) = written {
                failure = Some(with_row_context(e, i));
                break;
            }
            if chunk.len() >= COPY_CHUNK {
                self.queue_copy_data(&chunk)?;
                chunk.clear();
                if self.out.len() >= COPY_FLUSH {
                    self.send()?;
                }
            }
        }
        match &failure {
            Some(e) => {
                let reason = match e {
                    Error::Client(c) => c.message.clone(),
                    Error::Server(s) => s.message.clone(),
                };
                let _ = frontend::copy_fail(&reason.replace('\0', ""), &mut self.out);
            }
            None => {
                if let CopyFormat::Binary(_) = format {
                    copy::binary_trailer(&mut chunk);
                }
                if !chunk.is_empty() {
                    self.queue_copy_data(&chunk)?;
                }
                frontend::copy_done(&mut self.out);
            }
        }
        self.send()?;
        let (tag_text, error) = self.read_command(false)?;
        if let Some(e) = failure.or(error) {
            return Err(e);
        }
        Ok(tag_text.as_deref().and_then(message::tag_rows).unwrap_or(0))
    }

    fn queue_copy_data(&mut self, data: &[u8]) -> Result<()> {
        frontend::CopyData::new(data)
            .map_err(|_| Error::invalid("COPY chunk too large"))?
            .write(&mut self.out);
        Ok(())
    }

    // ---------------------------------------------------------------
    // Streams (portals)
    // ---------------------------------------------------------------

    /// Whether a stream is open and not yet finished.
    pub fn stream_is_open(&self) -> bool {
        self.portal.as_ref().is_some_and(|p| !p.done)
    }

    /// Opens a portal on `sql` and asks for the first batch (Bind +
    /// Execute + Flush: no Sync, so the portal outlives the round trip).
    pub fn stream_open(&mut self, sql: &str, params: &[Value], batch_size: u32) -> Result<Vec<Column>> {
        self.ensure_usable()?;
        let r = self.stream_open_inner(sql, params, batch_size);
        self.settle(r)
    }

    fn stream_open_inner(&mut self, sql: &str, params: &[Value], batch_size: u32) -> Result<Vec<Column>> {
        let batch = batch_size.clamp(1, i32::MAX as u32) as i32;
        self.portal = None;
        let mut retried = false;
        loop {
            let stmt = self.prepare_cached(sql)?;
            let cells: Vec<Cell<'_>> = params.iter().map(Cell::from).collect();
            Self::queue_bind(&mut self.out, &stmt, STREAM_PORTAL, &cells)?;
            message::execute(STREAM_PORTAL, batch, &mut self.out);
            message::flush(&mut self.out);
            self.send()?;
            let error = loop {
                let (t, len) = self.next_message()?;
                match t {
                    tag::BIND_COMPLETE => {
                        self.stream.consume(len);
                        break None;
                    }
                    tag::CLOSE_COMPLETE | tag::PARSE_COMPLETE => self.stream.consume(len),
                    tag::ERROR_RESPONSE => {
                        let e = self.server_error(len)?;
                        self.stream.consume(len);
                        break Some(e);
                    }
                    other => return Err(unexpected(other)),
                }
            };
            match error {
                None => {
                    let columns = stmt.columns.clone();
                    self.portal = Some(PortalStream {
                        stmt,
                        batch,
                        pending: true,
                        done: false,
                    });
                    return Ok(columns);
                }
                Some(e) => {
                    message::sync(&mut self.out);
                    self.send()?;
                    self.drain_to_ready()?;
                    if is_stale_statement_error(&e) {
                        self.forget_cached(sql);
                        if !retried && self.status == b'I' {
                            retried = true;
                            continue;
                        }
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The next batch; `None` when the stream is exhausted (which also
    /// forgets it). The batch after this one is requested at once, so
    /// the server works while the caller handles these rows.
    pub fn stream_next(&mut self) -> Result<Option<Batch>> {
        if self.broken {
            return Err(Error::connection("the connection is broken"));
        }
        let Some(p) = self.portal.as_ref() else {
            return Err(Error::invalid("no stream is open"));
        };
        if p.done {
            self.portal = None;
            return Ok(None);
        }
        let r = self.stream_next_inner();
        if r.is_err() {
            self.portal = None;
        }
        self.settle(r)
    }

    fn stream_next_inner(&mut self) -> Result<Option<Batch>> {
        let (stmt, batch, pending) = match self.portal.as_ref() {
            Some(p) => (p.stmt.clone(), p.batch, p.pending),
            None => return Ok(None),
        };
        if !pending {
            message::execute(STREAM_PORTAL, batch, &mut self.out);
            message::flush(&mut self.out);
            self.send()?;
        }
        let mut rows = BatchBuilder::new(&stmt.columns);
        loop {
            let (t, len) = self.next_message()?;
            match t {
                tag::DATA_ROW => {
                    if let Err(e) = decode_row(self.body(len), &stmt.decoders, &stmt.columns, &mut rows) {
                        if e.breaks_session() {
                            return Err(e);
                        }
                        // Read the rest of this batch, close the portal, then fail.
                        self.stream.consume(len);
                        self.portal = None;
                        self.stream_close_inner(true)?;
                        return Err(e);
                    }
                }
                tag::PORTAL_SUSPENDED => {
                    self.stream.consume(len);
                    // Ask for the next batch now.
                    message::execute(STREAM_PORTAL, batch, &mut self.out);
                    message::flush(&mut self.out);
                    self.send()?;
                    if let Some(p) = self.portal.as_mut() {
                        p.pending = true;
                    }
                    return Ok(Some(rows.finish()));
                }
                tag::COMMAND_COMPLETE | tag::EMPTY_QUERY => {
                    self.stream.consume(len);
                    message::close(b'P', STREAM_PORTAL, &mut self.out);
                    message::sync(&mut self.out);
                    self.send()?;
                    self.drain_to_ready()?;
                    if rows.rows() == 0 {
                        self.portal = None;
                        return Ok(None);
                    }
                    if let Some(p) = self.portal.as_mut() {
                        p.done = true;
                        p.pending = false;
                    }
                    return Ok(Some(rows.finish()));
                }
                tag::ERROR_RESPONSE => {
                    let e = self.server_error(len)?;
                    self.stream.consume(len);
                    return self.sync_and_fail(e);
                }
                tag::COPY_IN_RESPONSE => self.refuse_copy_in("COPY cannot be streamed", false)?,
                tag::COPY_OUT_RESPONSE | tag::COPY_DATA | tag::COPY_DONE => {}
                other => return Err(unexpected(other)),
            }
            self.stream.consume(len);
        }
    }

    /// Stops the stream: reads what is in flight, closes the portal and
    /// syncs, so the session is ready again. Nothing to do without a stream.
    pub fn stream_close(&mut self) -> Result<()> {
        let Some(p) = self.portal.take() else {
            return Ok(());
        };
        if p.done || self.broken {
            return Ok(());
        }
        let r = self.stream_close_inner(p.pending);
        self.settle(r)
    }

    fn stream_close_inner(&mut self, pending: bool) -> Result<()> {
        if pending {
            loop {
                let (t, len) = self.next_message()?;
                self.stream.consume(len);
                match t {
                    tag::PORTAL_SUSPENDED | tag::COMMAND_COMPLETE | tag::EMPTY_QUERY | tag::ERROR_RESPONSE => break,
                    _ => {}
                }
            }
        }
        message::close(b'P', STREAM_PORTAL, &mut self.out);
        message::sync(&mut self.out);
        self.send()?;
        self.drain_to_ready()
    }

    /// Says goodbye (Terminate); errors are ignored.
    pub fn terminate(&mut self) {
        if !self.broken {
            frontend::terminate(&mut self.out);
            let _ = self.send();
        }
        self.broken = true;
    }
}

/// Whether a command tag is that of DDL or a `SET` (`ALTER TABLE`,
/// `CREATE VIEW`, `DROP …`, `SET` of `search_path`), after which cached
/// statements may describe other columns.
fn changes_schema(tag: &str) -> bool {
    ["ALTER ", "CREATE ", "DROP ", "COMMENT", "SET"]
        .iter()
        .any(|p| tag.starts_with(p))
}

/// Whether `name` is PostgreSQL's UTF8 encoding, as it spells it (`UTF8`, `utf-8`, `unicode`).
fn is_utf8_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    n == "utf8" || n == "unicode"
}

fn unexpected(t: u8) -> Error {
    Error::protocol(format!("unexpected message {:?} from the server", t as char))
}

fn with_row_context(e: Error, row: usize) -> Error {
    match e {
        Error::Client(c) if c.kind == ErrorKind::InvalidInput => {
            Error::invalid(format!("row {}: {}", row + 1, c.message))
        }
        other => other,
    }
}

/// Typed access to the cells of a catalog query row; a cell of an
/// unexpected type is a `protocol` error.
pub struct Cells<'a>(pub &'a [Value]);

impl Cells<'_> {
    fn cell(&self, i: usize) -> Result<&Value> {
        self.0
            .get(i)
            .ok_or_else(|| Error::protocol(format!("catalog row has no column {i}")))
    }

    fn mismatch(&self, i: usize, want: &str) -> Error {
        Error::protocol(format!("catalog column {i} is not {want}"))
    }

    /// A non-null text cell.
    pub fn str(&self, i: usize) -> Result<String> {
        self.opt_str(i)?.ok_or_else(|| self.mismatch(i, "non-null text"))
    }

    /// A text cell or NULL.
    pub fn opt_str(&self, i: usize) -> Result<Option<String>> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Text(s) | Value::Json(s) | Value::Decimal(s) => Ok(Some(s.clone())),
            _ => Err(self.mismatch(i, "text")),
        }
    }

    /// A non-null integer cell.
    pub fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?.ok_or_else(|| self.mismatch(i, "a non-null integer"))
    }

    /// An integer cell or NULL.
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            _ => Err(self.mismatch(i, "an integer")),
        }
    }

    /// A float cell or NULL.
    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Float(v) => Ok(Some(*v)),
            Value::Int(v) => Ok(Some(*v as f64)),
            _ => Err(self.mismatch(i, "a float")),
        }
    }

    /// A boolean cell (NULL is false).
    pub fn bool(&self, i: usize) -> Result<bool> {
        match self.cell(i)? {
            Value::Null => Ok(false),
            Value::Boolean(b) => Ok(*b),
            _ => Err(self.mismatch(i, "a boolean")),
        }
    }

    /// A timestamptz cell as µs since the epoch, or NULL.
    pub fn opt_timestamp(&self, i: usize) -> Result<Option<i64>> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Timestamptz(v) | Value::Timestamp(v) => Ok(Some(*v)),
            _ => Err(self.mismatch(i, "a timestamp")),
        }
    }

    /// A text-array cell (JSON) as strings; NULL is empty.
    pub fn strings(&self, i: usize) -> Result<Vec<String>> {
        match self.cell(i)? {
            Value::Null => Ok(Vec::new()),
            Value::Json(s) => json::string_array(s),
            _ => Err(self.mismatch(i, "an array")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_affected_rules() {
        let o = |tag: &str, returns_rows| Outcome {
            tag: Some(tag.into()),
            returns_rows,
            ..Outcome::default()
        };
        assert_eq!(o("INSERT 0 3", false).rows_affected(), Some(3));
        assert_eq!(o("INSERT 0 3", true).rows_affected(), Some(3));
        assert_eq!(o("SELECT 3", true).rows_affected(), None);
        assert_eq!(o("SELECT 3", false).rows_affected(), Some(3));
        assert_eq!(o("CREATE TABLE", false).rows_affected(), None);
    }

    #[test]
    fn scram_iteration_count_must_be_positive() {
        assert!(check_scram_server_first(b"r=abc,s=c2FsdA==,i=4096").is_ok());
        for bad in [
            &b"r=abc,s=c2FsdA==,i=0"[..],
            b"r=abc,s=c2FsdA==",
            b"r=abc,s=c2FsdA==,i=x",
            b"\xff",
        ] {
            let e = check_scram_server_first(bad).unwrap_err();
            assert!(e.breaks_session(), "{bad:?}");
        }
    }
}
