//! Opening the database, the per-instance connection state, and running
//! statements.
//!
//! # Files, locking and journals under WASI
//!
//! The host preopens only the database's own directory, so the file, its
//! rollback journal (`<db>-journal`) and nothing else are reachable.
//!
//! * Journal: the default rollback journal (`journal_mode=DELETE`) is kept.
//!   It needs nothing but creating, writing and unlinking a file next to the
//!   database, which a WASI preopen allows. WAL needs a shared-memory
//!   wal-index, which SQLite's WASI build does not have (`SQLITE_WASI` omits
//!   the shm code): a WAL file can only be used with
//!   `locking_mode=EXCLUSIVE`, which keeps the index in heap memory. So a
//!   database that is already in WAL mode is opened in exclusive locking
//!   mode under WASI, and it stays in WAL mode.
//! * Locking: WASI has no `fcntl` locks. SQLite's WASI build defaults to the
//!   `unix-dotfile` VFS, which locks by creating `<db>.lock`; when an
//!   instance is killed (a trap, the host's deadline) while it holds a lock,
//!   the lock file stays and every later open reports "database is locked"
//!   until someone deletes it. The component therefore uses `unix-none`: no
//!   locks at all, which is safe because the driver declares
//!   `max-connections = 1` and the host opens one instance per database; a
//!   crash leaves at most a hot journal, which the next open rolls back.
//!   Native builds (the unit tests) keep SQLite's default POSIX locks.
//! * Temporary files: the component is built with `SQLITE_TEMP_STORE=3`
//!   (see `.cargo/config.toml`) and sets `temp_store=MEMORY`, since there
//!   is no temp directory in the sandbox.

use std::ffi::{c_int, CStr};
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::time::Duration;

use driverbox_guest_sdk::batch::{empty_result, BatchBuilder, Cell};
use driverbox_guest_sdk::cache::StatementCache;
use driverbox_guest_sdk::prepared::PreparedStatements;
use driverbox_guest_sdk::types::{Batch, Column, ConnectConfig, QueryResult, ScriptOutcome};
use driverbox_guest_sdk::{Error, Result, Value};
use rusqlite::{ffi, Connection, OpenFlags, Row, Statement, StatementStatus};

use crate::errors::{self, DbResult, ONE_STATEMENT};
use crate::sql::is_blank;
use crate::values::{cell_to_sql, logical_type, narrow, push, Decl};

/// How the database file is opened (the URL's `mode` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `ro`: read only; nothing may be written (also `query_only`).
    ReadOnly,
    /// `rw`: read and write an existing file.
    ReadWrite,
    /// `rwc`: read and write, create the file when missing (default).
    ReadWriteCreate,
    /// `memory`: a private in-memory database, whatever the path says.
    Memory,
}

impl Mode {
    /// Parses the `mode` option.
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "ro" => Ok(Mode::ReadOnly),
            "rw" => Ok(Mode::ReadWrite),
            "rwc" => Ok(Mode::ReadWriteCreate),
            "memory" => Ok(Mode::Memory),
            other => Err(Error::invalid(format!(
                "unknown SQLite mode `{other}`: use ro, rw, rwc or memory"
            ))),
        }
    }

    /// The option's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "ro",
            Mode::ReadWrite => "rw",
            Mode::ReadWriteCreate => "rwc",
            Mode::Memory => "memory",
        }
    }
}

/// Default `busy_timeout`, in milliseconds.
pub const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5_000;

/// The VFS the component uses (see the module docs); natively SQLite's default.
#[cfg(target_arch = "wasm32")]
const VFS: Option<&str> = Some("unix-none");
#[cfg(not(target_arch = "wasm32"))]
const VFS: Option<&str> = None;

/// A statement prepared through `capabilities.prepare`: its text, looked
/// up in rusqlite's statement cache on each use, and its result shape.
#[derive(Clone, Debug)]
pub struct PreparedSql {
    /// The single statement's text.
    pub sql: String,
    /// How many parameters it takes.
    pub params: usize,
    /// The result shape as last read ([`run_cached`] keeps it current).
    pub shape: Rc<Shape>,
}

/// The instance's one connection and everything tied to it.
pub struct Conn {
    /// The open stream, if any. Declared first and dropped explicitly
    /// before `db` in `Drop`: its statement borrows the connection.
    pub(crate) stream: Option<crate::extension::Stream>,
    /// Owned connection (from `Box::into_raw`), freed in `Drop`.
    db: NonNull<Connection>,
    /// Prepared statements by id.
    pub(crate) prepared: PreparedStatements<PreparedSql>,
    /// Ad-hoc `query`/`execute` texts already checked to be one statement:
    /// the statement's text (its compiled form is in rusqlite's statement
    /// cache, of the same capacity) and its result shape.
    pub(crate) adhoc: StatementCache<AdHoc>,
    /// The path as given (or `:memory:`).
    pub path: String,
    /// The open mode.
    pub mode: Mode,
    /// A read-only transaction switched `query_only` on; switch it off when it ends.
    pub(crate) tx_query_only: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.stream = None;
        self.prepared.drain();
        // SAFETY: `db` comes from `Box::into_raw` in `Conn::new` and is
        // freed only here. Borrows of it that outlive a call live only in
        // `stream`, which is gone now.
        unsafe { drop(Box::from_raw(self.db.as_ptr())) }
    }
}

impl Conn {
    fn new(db: Connection, path: String, mode: Mode) -> Conn {
        Conn {
            stream: None,
            db: NonNull::from(Box::leak(Box::new(db))),
            prepared: PreparedStatements::default(),
            adhoc: StatementCache::new(STATEMENT_CACHE),
            path,
            mode,
            tx_query_only: false,
        }
    }

    /// The connection.
    pub fn db(&self) -> &Connection {
        // SAFETY: `db` is valid from `new` until `drop`.
        unsafe { self.db.as_ref() }
    }

    /// The connection with a lifetime as long as this `Conn`'s allocation,
    /// for the stream's statement.
    ///
    /// # Safety
    /// The reference must not outlive `self`; `Conn::drop` drops the
    /// stream before the connection, which is where it may be kept.
    pub(crate) unsafe fn db_static(&self) -> &'static Connection {
        unsafe { &*self.db.as_ptr() }
    }

    /// Whether a transaction is open (also one begun with SQL).
    pub fn in_transaction(&self) -> bool {
        !self.db().is_autocommit()
    }

    /// Restores `query_only` once a read-only transaction has ended,
    /// however it ended (commit, rollback, or SQL).
    pub fn sync_transaction_state(&mut self) {
        if self.tx_query_only && !self.in_transaction() {
            if self.mode != Mode::ReadOnly {
                let _ = self.db().execute_batch("PRAGMA query_only = 0");
            }
            self.tx_query_only = false;
        }
    }
}

fn option<'a>(config: &'a ConnectConfig, key: &str) -> Option<&'a str> {
    config
        .options
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Opens the database the config names: `database` is the path inside the
/// sandbox or `:memory:`; options `mode` (`ro`, `rw`, `rwc` (default) or
/// `memory`) and `busy_timeout` (milliseconds).
pub fn open(config: &ConnectConfig) -> Result<Conn> {
    let mode = match option(config, "mode") {
        Some(m) => Mode::parse(m)?,
        None => Mode::ReadWriteCreate,
    };
    let path = match mode {
        Mode::Memory => ":memory:",
        _ => config
            .database
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::invalid("the SQLite driver needs a database path (or :memory:)"))?,
    };
    if path.contains('\0') {
        return Err(Error::invalid("the database path contains a NUL character"));
    }
    let busy_ms = match option(config, "busy_timeout") {
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| Error::invalid(format!("busy_timeout must be milliseconds, got `{v}`")))?,
        None => DEFAULT_BUSY_TIMEOUT_MS,
    };

    // No SQLITE_OPEN_URI: the path is a path, never a `file:` URI with options.
    let flags = OpenFlags::SQLITE_OPEN_NO_MUTEX
        | match mode {
            Mode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Mode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
            Mode::ReadWriteCreate | Mode::Memory => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        };
    let opened = if path == ":memory:" {
        Connection::open_in_memory_with_flags(flags)
    } else {
        match VFS {
            Some(vfs) => Connection::open_with_flags_and_vfs(path, flags, vfs),
            None => Connection::open_with_flags(path, flags),
        }
    };
    let db = opened.map_err(|e| about_file(errors::from_rusqlite(e), path))?;
    let conn = Conn::new(db, path.to_string(), mode);
    setup(conn.db(), path, mode, busy_ms).map_err(|e| about_file(e, path))?;
    Ok(conn)
}

/// Settings every connection gets, then a first read that proves the file
/// is a database.
fn setup(db: &Connection, path: &str, mode: Mode, busy_ms: u64) -> Result<()> {
    // rusqlite panics past i32::MAX milliseconds.
    db.busy_timeout(Duration::from_millis(busy_ms.min(i32::MAX as u64)))
        .db()?;
    db.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if cfg!(target_arch = "wasm32") && path != ":memory:" && is_wal_file(path) {
        // No shared memory under WASI: a WAL database needs exclusive
        // locking mode (heap-memory wal-index), set before the first read.
        db.execute_batch("PRAGMA locking_mode = EXCLUSIVE").db()?;
    }
    db.execute_batch("PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;")
        .db()?;
    // The first real read: a file that is not a database fails here.
    db.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .db()?;
    if mode == Mode::ReadOnly {
        db.execute_batch("PRAGMA query_only = 1").db()?;
    }
    Ok(())
}

/// Whether the file's header says WAL (read/write versions 2).
fn is_wal_file(path: &str) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map(|_| header[18] == 2 && header[19] == 2)
        .unwrap_or(false)
}

/// Adds the path to an open-time error message (unless it names it already).
fn about_file(mut e: Error, path: &str) -> Error {
    let message = match &mut e {
        Error::Server(s) => &mut s.message,
        Error::Client(c) => &mut c.message,
    };
    if !message.contains(path) {
        *message = format!("{message}: {path}");
    }
    e
}

/// Refuses SQL text with NUL characters: SQLite would stop reading there.
pub fn check_sql(sql: &str) -> Result<()> {
    if sql.contains('\0') {
        return Err(Error::invalid("the SQL text contains a NUL character"));
    }
    Ok(())
}

/// Where a statement is in its SQL text, and the shape of its result.
#[derive(Clone, Debug)]
pub struct Found {
    /// Byte offset where the statement starts (leading blanks included).
    pub start: usize,
    /// Byte offset just past the statement (its `;` included).
    pub end: usize,
    /// Its result columns.
    pub shape: Shape,
}

/// The first statement in `sql[from..]`, as SQLite's own parser splits it
/// (triggers, strings and comments included), or `None` when only blanks
/// and comments are left. The statement is compiled to find its end and
/// read its columns, then thrown away, never run.
///
/// Column names and declared types are read here, lossily, rather than
/// through rusqlite, which panics on names that are not UTF-8 (a crafted
/// database file can hold such names).
pub fn next_statement(db: &Connection, sql: &str, from: usize) -> Result<Option<Found>> {
    let rest = sql.get(from..).unwrap_or("");
    if is_blank(rest) {
        return Ok(None);
    }
    let len = c_int::try_from(rest.len()).map_err(|_| errors::server(ffi::SQLITE_TOOBIG, "SQL text too long", None))?;
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    let mut tail: *const std::ffi::c_char = ptr::null();
    let lossy = |p: *const std::ffi::c_char| -> Option<String> {
        // SAFETY: SQLite returns NULL or a NUL-terminated string that
        // stays valid until the statement is finalized.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    // SAFETY: the handle is valid while `db` is borrowed; `rest` is valid
    // for `len` bytes; the statement is finalized below (null is a no-op)
    // and its strings are copied before that.
    let (rc, error, found_stmt, shape) = unsafe {
        let h = db.handle();
        let rc = ffi::sqlite3_prepare_v3(h, rest.as_ptr().cast(), len, 0, &mut stmt, &mut tail);
        let error = (rc != ffi::SQLITE_OK).then(|| {
            let code = ffi::sqlite3_extended_errcode(h);
            let msg = lossy(ffi::sqlite3_errmsg(h)).unwrap_or_default();
            let offset = ffi::sqlite3_error_offset(h);
            (code, msg, offset)
        });
        let mut shape = Shape::default();
        if !stmt.is_null() {
            for i in 0..ffi::sqlite3_column_count(stmt) {
                shape
                    .names
                    .push(lossy(ffi::sqlite3_column_name(stmt, i)).unwrap_or_default());
                // Declared types are case-insensitive: given upper-cased.
                let decl = lossy(ffi::sqlite3_column_decltype(stmt, i)).map(|d| d.to_ascii_uppercase());
                shape.kinds.push(Decl::of(decl.as_deref()));
                shape.decls.push(decl);
            }
        }
        let found_stmt = !stmt.is_null();
        ffi::sqlite3_finalize(stmt);
        (rc, error, found_stmt, shape)
    };
    if let Some((code, msg, offset)) = error {
        let position = usize::try_from(offset)
            .ok()
            .and_then(|off| sql.get(..from + off))
            .and_then(|p| u32::try_from(p.chars().count() + 1).ok());
        return Err(errors::server(if code == 0 { rc } else { code }, &msg, position));
    }
    if !found_stmt {
        return Ok(None);
    }
    let consumed = if tail.is_null() {
        rest.len()
    } else {
        (tail as usize).saturating_sub(rest.as_ptr() as usize).min(rest.len())
    };
    let end = from + consumed;
    if consumed == 0 || sql.get(from..end).is_none() {
        return Err(Error::invalid("cannot split the SQL text into statements"));
    }
    Ok(Some(Found {
        start: from,
        end,
        shape,
    }))
}

/// The statement text of a one-statement SQL text and its result shape;
/// refuses more than one statement with `invalid-input` before anything runs.
pub fn single_statement<'a>(db: &Connection, sql: &'a str) -> Result<(&'a str, Shape)> {
    check_sql(sql)?;
    let found = next_statement(db, sql, 0)?.ok_or_else(|| Error::invalid("the SQL text holds no statement"))?;
    if !is_blank(sql.get(found.end..).unwrap_or("")) {
        return Err(Error::invalid(ONE_STATEMENT));
    }
    Ok((sql.get(found.start..found.end).unwrap_or(sql), found.shape))
}

/// The result shape of a one-statement SQL text built by the driver.
pub fn shape_of(db: &Connection, sql: &str) -> Result<Shape> {
    Ok(single_statement(db, sql)?.1)
}

/// Prepares a one-statement SQL text.
pub fn prepare_single<'c>(db: &'c Connection, sql: &str) -> Result<(Statement<'c>, Shape)> {
    let (text, shape) = single_statement(db, sql)?;
    let stmt = db.prepare(text).map_err(|e| errors::with_position(e, text, 0))?;
    Ok((stmt, shape))
}

/// Compiled statements kept per connection (rusqlite's statement cache).
const STATEMENT_CACHE: usize = 64;

/// An ad-hoc SQL text's one statement and its result shape, as kept by
/// [`Conn::adhoc`].
#[derive(Clone)]
pub struct AdHoc {
    /// The statement (the SQL text less trailing blanks and comments).
    pub text: Rc<str>,
    /// Its result columns when last run.
    pub shape: Rc<Shape>,
}

impl Conn {
    /// Runs the one statement of `sql` through the statement caches: only
    /// its first run compiles it (twice: once to check that it is one
    /// statement and read its shape, once to keep it). `keep`: whether the
    /// rows are wanted (else only the rows changed count).
    pub fn run_adhoc(&mut self, sql: &str, params: Vec<Value>, keep: bool) -> Result<QueryResult> {
        let (entry, fresh) = match self.adhoc.get(sql) {
            Some(entry) => (entry, false),
            None => {
                let (text, shape) = single_statement(self.db(), sql)?;
                let entry = AdHoc {
                    text: text.into(),
                    shape: Rc::new(shape),
                };
                (entry, true)
            }
        };
        let db = self.db();
        let mut stmt = db
            .prepare_cached(&entry.text)
            .map_err(|e| errors::with_position(e, &entry.text, 0))?;
        if !keep {
            let changed = run_discarding(db, &mut stmt, &entry.shape, params)?;
            drop(stmt);
            if fresh {
                self.adhoc.insert(sql, entry);
            }
            return Ok(empty_result(Some(changed)));
        }
        let (result, shape) = run_cached(db, &mut stmt, &entry.text, entry.shape.clone(), fresh, params)?;
        drop(stmt);
        if fresh || !Rc::ptr_eq(&shape, &entry.shape) {
            self.adhoc.insert(sql, AdHoc { shape, ..entry });
        }
        Ok(result)
    }
}

/// Which entry of the caller's parameter list each SQLite parameter
/// (1-based index `i`, at position `i - 1`) takes, and how many entries the
/// statement needs. `?` and `?NNN` are positional; numbered names (`$1`,
/// `:1`, `@1`, PostgreSQL style) take entry N whatever order they appear
/// in; other names take their order of first appearance, as SQLite numbers them.
pub fn param_slots(stmt: &Statement<'_>) -> (Vec<usize>, usize) {
    let slots: Vec<usize> = (1..=stmt.parameter_count())
        .map(|i| {
            let numbered = stmt.parameter_name(i).and_then(|name| {
                let rest = name.strip_prefix(['$', ':', '@'])?;
                if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                rest.parse::<usize>().ok().filter(|&n| n >= 1).map(|n| n - 1)
            });
            numbered.unwrap_or(i - 1)
        })
        .collect();
    let needed = slots.iter().max().map_or(0, |m| m + 1);
    (slots, needed)
}

/// Binds parameters (see [`param_slots`]) after checking their number.
pub fn bind(stmt: &mut Statement<'_>, params: Vec<Value>) -> Result<()> {
    let cells: Vec<Cell<'_>> = params.iter().map(Cell::from).collect();
    bind_cells(stmt, &cells)
}

/// Binds borrowed values (see [`param_slots`]) after checking their number.
pub fn bind_cells(stmt: &mut Statement<'_>, params: &[Cell<'_>]) -> Result<()> {
    let (slots, needed) = param_slots(stmt);
    if params.len() != needed {
        return Err(Error::invalid(format!(
            "the statement takes {needed} parameter(s), {} given",
            params.len()
        )));
    }
    let values = params.iter().map(|c| cell_to_sql(*c)).collect::<Result<Vec<_>>>()?;
    for (i, slot) in slots.into_iter().enumerate() {
        if let Some(v) = values.get(slot) {
            stmt.raw_bind_parameter(i + 1, v).db()?;
        }
    }
    Ok(())
}

/// Names, declared types and value refinements of a statement's columns.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    /// Column names.
    pub names: Vec<String>,
    /// Declared types (`None` for expressions).
    pub decls: Vec<Option<String>>,
    /// How each column's values are refined.
    pub kinds: Vec<Decl>,
}

impl Shape {
    /// The result columns: name, logical type (refinement or affinity of
    /// the declared type, `dynamic` for expressions) and declared type.
    pub fn columns(&self) -> Vec<Column> {
        self.names
            .iter()
            .zip(&self.decls)
            .zip(&self.kinds)
            .map(|((name, decl), kind)| Column {
                name: name.clone(),
                logical_type: logical_type(decl.as_deref(), *kind),
                database_type: decl.clone().unwrap_or_default(),
                precision: None,
                scale: None,
                nullable: None,
            })
            .collect()
    }

    /// Reads one row into `batch` (whose columns are [`Shape::columns`]).
    pub fn read(&self, row: &Row<'_>, batch: &mut BatchBuilder) -> Result<()> {
        for (i, kind) in self.kinds.iter().enumerate() {
            push(row.get_ref(i).db()?, *kind, batch.column(i))?;
        }
        batch.end_row();
        Ok(())
    }
}

/// A finished batch as a result: expression columns narrowed to the one
/// storage class their values share, if they share one.
pub fn into_result(mut columns: Vec<Column>, batch: Batch, rows_affected: Option<u64>) -> QueryResult {
    let values = batch
        .columns
        .into_iter()
        .zip(columns.iter_mut())
        .map(|(v, c)| narrow(c, v))
        .collect();
    QueryResult {
        columns,
        batch: Batch {
            rows: batch.rows,
            columns: values,
        },
        rows_affected,
    }
}

/// Runs a prepared statement to the end: all its rows, and the rows it
/// changed unless it is read-only.
pub fn run(db: &Connection, stmt: &mut Statement<'_>, shape: &Shape, params: Vec<Value>) -> Result<QueryResult> {
    run_with(db, stmt, shape, params, true)
}

/// Runs a prepared statement to the end, dropping any rows it returns;
/// gives the rows it changed.
pub fn run_discarding(db: &Connection, stmt: &mut Statement<'_>, shape: &Shape, params: Vec<Value>) -> Result<u64> {
    Ok(run_with(db, stmt, shape, params, false)?.rows_affected.unwrap_or(0))
}

fn run_with(
    db: &Connection,
    stmt: &mut Statement<'_>,
    shape: &Shape,
    params: Vec<Value>,
    keep: bool,
) -> Result<QueryResult> {
    bind(stmt, params)?;
    let read_only = stmt.readonly();
    let before = db.total_changes();
    let columns = shape.columns();
    let mut batch = keep.then(|| BatchBuilder::new(&columns));
    {
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().db()? {
            if let Some(batch) = batch.as_mut() {
                shape.read(row, batch)?;
            }
        }
    }
    let rows_affected = (!read_only).then(|| changes_since(db, before));
    Ok(match batch {
        Some(batch) => into_result(columns, batch.finish(), rows_affected),
        None => empty_result(rows_affected),
    })
}

/// Runs the statement `sql`, taken from rusqlite's statement cache as
/// `stmt`, with the result shape the caller kept for it; gives the result
/// and the shape to keep. The shape is read again (by compiling `sql` once
/// more) only when it may be stale: when `stmt` was compiled anew (first
/// use, or back after the cache evicted it) unless `fresh` says the shape
/// was just read, or when SQLite recompiled it
/// during this run because the schema changed, which it finds out at the
/// first step, before any row is read. Otherwise nothing is compiled: a
/// prepared statement runs without parsing its SQL again.
pub fn run_cached(
    db: &Connection,
    stmt: &mut Statement<'_>,
    sql: &str,
    shape: Rc<Shape>,
    fresh: bool,
    params: Vec<Value>,
) -> Result<(QueryResult, Rc<Shape>)> {
    let mut shape = if !fresh && stmt.get_status(StatementStatus::Run) == 0 {
        Rc::new(shape_of(db, sql)?)
    } else {
        shape
    };
    bind(stmt, params)?;
    let read_only = stmt.readonly();
    let before = db.total_changes();
    let compiled = stmt.get_status(StatementStatus::RePrepare);
    let mut columns = shape.columns();
    let mut batch = BatchBuilder::new(&columns);
    let mut checked = false;
    {
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().db()? {
            if !checked {
                checked = true;
                if row.as_ref().get_status(StatementStatus::RePrepare) != compiled {
                    shape = Rc::new(shape_of(db, sql)?);
                    columns = shape.columns();
                    batch = BatchBuilder::new(&columns);
                }
            }
            shape.read(row, &mut batch)?;
        }
    }
    if !checked && stmt.get_status(StatementStatus::RePrepare) != compiled {
        shape = Rc::new(shape_of(db, sql)?);
        columns = shape.columns();
        batch = BatchBuilder::new(&columns);
    }
    let rows_affected = (!read_only).then(|| changes_since(db, before));
    Ok((into_result(columns, batch.finish(), rows_affected), shape))
}

/// Rows changed by the statement that just ran. `sqlite3_changes` keeps
/// the count of the last INSERT/UPDATE/DELETE, so it is only trusted when
/// the total moved (DDL leaves it stale).
pub fn changes_since(db: &Connection, total_before: u64) -> u64 {
    if db.total_changes() == total_before {
        0
    } else {
        db.changes()
    }
}

/// Runs a script statement by statement (each compiled only after the one
/// before ran, so later statements may use what earlier ones created):
/// one result per statement, and the error that stopped it. Parameters
/// are allowed only when the text holds a single statement. Statements
/// that ran before a failing one keep their effects, as with `sqlite3_exec`.
pub fn run_script(db: &Connection, sql: &str, params: Vec<Value>) -> ScriptOutcome {
    let mut results = Vec::new();
    let error = run_script_into(db, sql, params, &mut results).err();
    ScriptOutcome { results, error }
}

fn run_script_into(db: &Connection, sql: &str, params: Vec<Value>, results: &mut Vec<QueryResult>) -> Result<()> {
    check_sql(sql)?;
    let Some(first) = next_statement(db, sql, 0)? else {
        return Err(Error::invalid("the SQL text holds no statement"));
    };
    let single = is_blank(sql.get(first.end..).unwrap_or(""));
    if !single && !params.is_empty() {
        return Err(Error::invalid(
            "parameters can only be bound to a single statement, and the SQL text holds several",
        ));
    }
    let mut next = Some(first);
    let mut params = Some(params);
    while let Some(found) = next {
        let (s, e) = (found.start, found.end);
        let text = sql.get(s..e).unwrap_or("");
        let mut stmt = db.prepare(text).map_err(|err| errors::with_position(err, sql, s))?;
        results.push(run(db, &mut stmt, &found.shape, params.take().unwrap_or_default())?);
        drop(stmt);
        next = next_statement(db, sql, e)?;
    }
    Ok(())
}

/// A script's last result that had columns, else its last result; its
/// error, if a statement failed.
pub fn script_result(outcome: ScriptOutcome) -> Result<QueryResult> {
    if let Some(e) = outcome.error {
        return Err(e);
    }
    let mut results = outcome.results;
    let at = results
        .iter()
        .rposition(|r| !r.columns.is_empty())
        .or(results.len().checked_sub(1));
    Ok(at.map(|i| results.swap_remove(i)).unwrap_or_else(|| empty_result(None)))
}

/// Runs `f` inside a transaction, or inside a savepoint when one is open
/// already; rolls back everything `f` did when it fails.
pub fn atomically<T>(db: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let nested = !db.is_autocommit();
    if nested {
        db.execute_batch("SAVEPOINT driverbox_atomic").db()?;
    } else {
        db.execute_batch("BEGIN IMMEDIATE").db()?;
    }
    match f() {
        Ok(v) => {
            let done = if nested {
                db.execute_batch("RELEASE SAVEPOINT driverbox_atomic")
            } else {
                db.execute_batch("COMMIT")
            };
            if let Err(e) = done {
                undo(db, nested);
                return Err(errors::from_rusqlite(e));
            }
            Ok(v)
        }
        Err(e) => {
            undo(db, nested);
            Err(e)
        }
    }
}

fn undo(db: &Connection, nested: bool) {
    if nested {
        let _ = db.execute_batch("ROLLBACK TO SAVEPOINT driverbox_atomic; RELEASE SAVEPOINT driverbox_atomic");
    } else if !db.is_autocommit() {
        let _ = db.execute_batch("ROLLBACK");
    }
}

/// One column of `SELECT` over the database's own catalog, for short lookups.
pub fn query_strings(db: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<String>> {
    let mut stmt = db.prepare(sql).db()?;
    let rows = stmt.query_map(params, |r| r.get::<_, Option<String>>(0)).db()?;
    let mut out = Vec::new();
    for r in rows {
        if let Some(s) = r.db()? {
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> Connection {
        Connection::open_in_memory().unwrap()
    }

    #[test]
    fn splits_statements_like_sqlite() {
        let db = mem();
        let sql =
            "CREATE TABLE t(a); -- c\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; SELECT ';'";
        let mut at = 0;
        let mut parts = vec![];
        // Only the first statement can be compiled before the table exists:
        // run each as it comes.
        while let Some(Found { start: s, end: e, .. }) = next_statement(&db, sql, at).unwrap() {
            let text = &sql[s..e];
            db.execute_batch(text).unwrap();
            parts.push(text.trim().to_string());
            at = e;
        }
        assert_eq!(parts.len(), 3);
        assert!(parts[1].ends_with("END;"));
        assert!(next_statement(&db, " -- nothing\n ; ", 0).unwrap().is_none());
    }

    /// Runs `sql` the way `capabilities.execute_prepared` does: from the
    /// statement cache, with the kept shape; gives the column names and
    /// declared types of the result and its row count.
    fn run_prepared(db: &Connection, sql: &str, shape: &mut Rc<Shape>) -> (Vec<(String, String)>, u32) {
        let mut stmt = db.prepare_cached(sql).unwrap();
        let (r, kept) = run_cached(db, &mut stmt, sql, shape.clone(), false, Vec::new()).unwrap();
        *shape = kept;
        let columns = r
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.database_type.clone()))
            .collect();
        (columns, r.batch.rows)
    }

    #[test]
    fn adhoc_statements_are_checked_once_and_follow_schema_changes() {
        let mut conn = Conn::new(mem(), ":memory:".into(), Mode::Memory);
        conn.db()
            .execute_batch("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        let sql = "SELECT * FROM t WHERE a > ?; -- one statement\n";
        let names = |r: &QueryResult| r.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let r = conn.run_adhoc(sql, vec![Value::Int(0)], true).unwrap();
        assert_eq!((names(&r), r.batch.rows), (vec!["a".to_string()], 1));
        let kept = conn.adhoc.get(sql).unwrap();
        assert_eq!(&*kept.text, "SELECT * FROM t WHERE a > ?;");
        // Again: the compiled statement from the cache, the shape as kept.
        conn.run_adhoc(sql, vec![Value::Int(0)], true).unwrap();
        let runs = conn
            .db()
            .prepare_cached(&kept.text)
            .unwrap()
            .get_status(StatementStatus::Run);
        assert_eq!(runs, 2);
        assert!(Rc::ptr_eq(&conn.adhoc.get(sql).unwrap().shape, &kept.shape));
        // A schema change: the shape follows.
        conn.db().execute_batch("ALTER TABLE t ADD COLUMN b TEXT").unwrap();
        let r = conn.run_adhoc(sql, vec![Value::Int(0)], true).unwrap();
        assert_eq!(names(&r), ["a", "b"]);
        // Rows changed, without rows kept.
        let insert = "INSERT INTO t(a) VALUES (?)";
        for i in 2..4 {
            let r = conn.run_adhoc(insert, vec![Value::Int(i)], false).unwrap();
            assert_eq!((r.rows_affected, r.batch.rows), (Some(1), 0));
        }
        // Two statements are refused, every time, and nothing runs.
        for _ in 0..2 {
            let e = conn
                .run_adhoc("DELETE FROM t; SELECT 1", Vec::new(), false)
                .unwrap_err();
            assert_eq!(e.kind(), driverbox_guest_sdk::ErrorKind::InvalidInput);
        }
        assert!(conn.adhoc.get("DELETE FROM t; SELECT 1").is_none());
        let count = conn.run_adhoc("SELECT count(*) FROM t", Vec::new(), true).unwrap();
        let rows = driverbox_guest_sdk::batch::BatchReader::new(&count.columns, &count.batch).unwrap();
        assert_eq!(rows.row_values(0), [Value::Int(3)]);
    }

    #[test]
    fn a_cached_statement_keeps_its_shape_and_follows_schema_changes() {
        let db = mem();
        db.execute_batch("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        let sql = "SELECT * FROM t";
        let mut shape = Rc::new(shape_of(&db, sql).unwrap());
        let a = || ("a".to_string(), "INTEGER".to_string());
        assert_eq!(run_prepared(&db, sql, &mut shape), (vec![a()], 1));
        // Run again: the kept shape is used as it is (nothing recompiled).
        let kept = shape.clone();
        assert_eq!(run_prepared(&db, sql, &mut shape), (vec![a()], 1));
        assert!(Rc::ptr_eq(&kept, &shape));
        // A new column: SQLite recompiles at the first step, and the shape follows.
        db.execute_batch("ALTER TABLE t ADD COLUMN b TEXT").unwrap();
        let b = || ("b".to_string(), "TEXT".to_string());
        assert_eq!(run_prepared(&db, sql, &mut shape), (vec![a(), b()], 1));
        // The same names with another declared type, and no rows: found
        // after the run.
        db.execute_batch("DROP TABLE t; CREATE TABLE t(a REAL, b BLOB)")
            .unwrap();
        let (columns, rows) = run_prepared(&db, sql, &mut shape);
        assert_eq!(rows, 0);
        assert_eq!(
            columns,
            vec![
                ("a".to_string(), "REAL".to_string()),
                ("b".to_string(), "BLOB".to_string())
            ]
        );
        // Evicted from the cache and compiled anew: read again too.
        db.flush_prepared_statement_cache();
        db.execute_batch("ALTER TABLE t ADD COLUMN c").unwrap();
        assert_eq!(run_prepared(&db, sql, &mut shape).0.len(), 3);
    }

    #[test]
    fn refuses_a_second_statement_without_running_it() {
        let db = mem();
        db.execute_batch("CREATE TABLE t(a)").unwrap();
        let e = single_statement(&db, "SELECT 1; DROP TABLE t").unwrap_err();
        assert_eq!(e.kind(), driverbox_guest_sdk::ErrorKind::InvalidInput);
        assert!(single_statement(&db, "SELECT 1; -- trailing\n;").is_ok());
        assert!(db.prepare("SELECT * FROM t").is_ok());
        assert_eq!(
            single_statement(&db, "SELECT 1\0; DROP TABLE t").unwrap_err().kind(),
            driverbox_guest_sdk::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let db = mem();
        let Error::Server(e) = single_statement(&db, "SELECT 1 FROMM x").unwrap_err() else {
            panic!("expected a server error")
        };
        assert_eq!(e.kind, driverbox_guest_sdk::ErrorKind::Syntax);
        assert!(e.position.is_some());
        assert_eq!(e.code, "1");
    }

    #[test]
    fn atomically_rolls_back() {
        let db = mem();
        db.execute_batch("CREATE TABLE t(a UNIQUE)").unwrap();
        let r: Result<()> = atomically(&db, || {
            db.execute("INSERT INTO t VALUES (1)", []).db()?;
            db.execute("INSERT INTO t VALUES (1)", []).db()?;
            Ok(())
        });
        assert!(r.is_err());
        let n: i64 = db.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
        assert!(db.is_autocommit());
    }
}
