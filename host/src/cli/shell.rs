//! `driverbox shell [URL]`: an interactive SQL shell in the manner of psql.
//!
//! Lines are collected until a `;` ends a statement (the driver's dialect
//! decides what is quoted or commented); lines starting with `\` are
//! backslash commands. Ctrl-C while a statement runs cancels that statement;
//! at the prompt it clears the line, and Ctrl-D leaves. `-c SQL` and
//! `-f FILE` run without a prompt; a failing `-f` script stops at the first
//! error and exits with 3, like psql with `ON_ERROR_STOP`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use driverbox::sql;
use driverbox::{
    Error, IsolationLevel, QueryDriver, QueryResult, Runtime, Transaction, TransactionOptions, WasmDriver,
};
use rustyline::error::ReadlineError;
use sqlparser::dialect::Dialect;

use super::output::{self, inert, Format};
use super::{connect, exit_code, report_in, DEFAULT_URL};

mod describe;
mod documents;
mod input;

use input::Input;

/// Arguments of `driverbox shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Connection URL (default: sqlite:driverbox.db).
    pub url: Option<String>,
    /// Runs SQL (or one backslash command), prints the result and exits.
    #[arg(
        short = 'c',
        long = "command",
        value_name = "SQL",
        conflicts_with = "file",
        allow_hyphen_values = true
    )]
    pub command: Option<String>,
    /// Runs the statements of FILE and exits; stops at the first error (exit code 3).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format [default: table; for a document store relaxed
    /// Extended JSON, with json canonical Extended JSON].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Exit code of a script that stopped at an error (psql's `ON_ERROR_STOP`).
const SCRIPT_ERROR: u8 = 3;

/// Runs `driverbox shell`.
pub async fn run(rt: &Runtime, args: &ShellArgs) -> Result<ExitCode, Error> {
    let url = args.url.clone().unwrap_or_else(|| DEFAULT_URL.to_string());
    // Take SIGINT over from the start, so that a Ctrl-C just before a
    // statement starts cannot kill the shell; each statement then waits
    // for the Ctrl-C pressed while it runs.
    #[cfg(unix)]
    let _sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let db = connect(rt, &url).await?;
    let mut shell = Shell {
        rt: rt.clone(),
        db,
        url,
        format: args.format.unwrap_or(Format::Table),
        format_chosen: args.format.is_some(),
        timing: false,
        out: Box::new(std::io::stdout()),
        tx: None,
        cursor: None,
        input: Input::default(),
    };
    let code = if let Some(command) = &args.command {
        match shell.run_text(command, None).await {
            Ran::Ok => ExitCode::SUCCESS,
            Ran::Failed(code) => ExitCode::from(code),
            Ran::Canceled => ExitCode::from(1),
        }
    } else if let Some(file) = &args.file {
        let text = match read_script(file) {
            Ok(text) => text,
            Err(message) => {
                eprintln!("{message}");
                return Ok(ExitCode::from(1));
            }
        };
        match shell.run_text(&text, Some(&inert(&file.display().to_string()))).await {
            Ran::Ok => ExitCode::SUCCESS,
            Ran::Failed(2) => ExitCode::from(2),
            _ => ExitCode::from(SCRIPT_ERROR),
        }
    } else if std::io::stdin().is_terminal() {
        shell.interactive().await
    } else {
        shell.piped().await
    };
    shell.close().await;
    Ok(code)
}

/// The text of a script file, or the message saying why it cannot be read.
fn read_script(file: &std::path::Path) -> Result<String, String> {
    let label = inert(&file.display().to_string());
    let bytes = std::fs::read(file).map_err(|e| format!("{label}: {e}"))?;
    String::from_utf8(bytes).map_err(|_| format!("{label}: not valid UTF-8"))
}

/// How a statement or command went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Ok,
    /// Failed; the exit code psql would give (1, or 2 for a lost connection).
    Failed(u8),
    Canceled,
}

impl Ran {
    /// Reports `e` (raised by `sql`, if given) and fails with its exit code.
    fn error(e: &Error, sql: Option<&str>, prefix: &str) -> Ran {
        report_in(e, sql, prefix);
        Ran::Failed(exit_code(e))
    }
}

/// What to do after a line.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

/// A backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Meta {
    /// `\l`
    Databases,
    /// `\dn [PATTERN]`
    Schemas(Option<String>),
    /// `\d [NAME]`
    Describe(Option<String>),
    /// `\dt [PATTERN]`
    Tables(Option<String>),
    /// `\dv [PATTERN]`
    Views(Option<String>),
    /// `\df [PATTERN]`
    Functions(Option<String>),
    /// `\di [TABLE]`
    Indexes(Option<String>),
    /// `\x [on|off]`
    Expanded(Option<bool>),
    /// `\timing [on|off]`
    Timing(Option<bool>),
    /// `\format table|expanded|vertical|csv|json`
    Format(Format),
    /// `\c [URL]`
    Connect(Option<String>),
    /// `\o [FILE]`
    Output(Option<String>),
    /// `\i FILE`
    Include(String),
    /// `\r`
    Reset,
    /// `\q`
    Quit,
    /// `\?`
    Help,
}

const HELP: &str = r"General
  \q                 quit (Ctrl-D works too)
  \?                 this help
  \c [URL]           connect to another database (or reconnect)
Query buffer and files
  \g                 run the query buffer (ends a statement, like `;`)
  \gx                run it with expanded output (psql)
  \G                 run it with vertical output (mysql)
  \i FILE            run the statements of FILE
  \o [FILE]          send results to FILE, or back to stdout
  \r                 reset (clear) the query buffer
Informational (PATTERN: * and ? wildcards, optionally SCHEMA.PATTERN)
  \l                 list databases
  \dn [PATTERN]      list schemas
  \d [NAME]          describe table or view NAME (columns, indexes, constraints);
                     without NAME, list tables, views and the like
  \dt [PATTERN]      list tables
  \dv [PATTERN]      list views
  \df [PATTERN]      list functions
  \di [TABLE]        list the indexes of TABLE, or of every table in the schema
Formatting
  \x [on|off]        toggle expanded output
  \format FORMAT     table, expanded, vertical, csv or json
  \timing [on|off]   toggle the time taken by each statement
Statements end with `;`. Ctrl-C cancels a running statement, or clears the line.
MySQL databases: `DELIMITER //` makes `//` end statements (for routine bodies
  holding `;`), `DELIMITER ;` restores it, as in the mysql client.
Document stores (mongodb://): mongosh's statements, run at the end of a line
  db.<collection>.find({…}).sort({…}).limit(n), findOne, aggregate([…]),
  countDocuments, estimatedDocumentCount, insertOne/Many, updateOne/Many,
  replaceOne, deleteOne/Many, distinct, createIndex, getIndexes, dropIndex, drop
  db.runCommand({…}), db.getCollectionNames(), db.createCollection(NAME)
  show dbs, show collections, use DB, it (more of the last cursor), exit
";

/// Splits the arguments of a backslash command at blanks; `'...'` and
/// `"..."` keep blanks (a doubled quote stands for itself).
fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut arg = String::new();
        if first == '\'' || first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == first {
                    if chars.peek() == Some(&first) {
                        chars.next();
                    } else {
                        break;
                    }
                }
                arg.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                arg.push(c);
            }
        }
        args.push(arg);
    }
    args
}

fn on_off(arg: Option<&String>) -> Result<Option<bool>, String> {
    match arg.map(|a| a.to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("on" | "true" | "1") => Ok(Some(true)),
        Some("off" | "false" | "0") => Ok(Some(false)),
        Some(other) => Err(format!("unrecognized value \"{other}\": expected on or off")),
    }
}

/// Parses a line starting with `\`.
fn parse_meta(line: &str) -> Result<Meta, String> {
    let line = line.trim();
    let body = line.strip_prefix('\\').unwrap_or(line);
    let (name, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    let args = split_args(rest);
    let arg = args.first().cloned();
    // `\dt+` and friends: the extra detail is not offered, the command is.
    let name = if name.len() > 1 {
        name.trim_end_matches('+')
    } else {
        name
    };
    let need = |what: &str| {
        arg.clone()
            .ok_or_else(|| format!("\\{name}: missing required argument {what}"))
    };
    Ok(match name {
        "l" | "list" => Meta::Databases,
        "dn" => Meta::Schemas(arg),
        "d" => Meta::Describe(arg),
        "dt" => Meta::Tables(arg),
        "dv" => Meta::Views(arg),
        "df" => Meta::Functions(arg),
        "di" => Meta::Indexes(arg),
        "x" => Meta::Expanded(on_off(args.first())?),
        "timing" => Meta::Timing(on_off(args.first())?),
        "format" | "pset" if name == "format" || args.first().map(String::as_str) == Some("format") => {
            let value = if name == "pset" { args.get(1).cloned() } else { arg };
            let value = value.ok_or("\\format: expected table, expanded, vertical, csv or json")?;
            let format = <Format as clap::ValueEnum>::from_str(&value, true).map_err(|_| {
                format!("\\format: unknown format \"{value}\": expected table, expanded, vertical, csv or json")
            })?;
            Meta::Format(format)
        }
        "c" | "connect" => Meta::Connect(arg),
        "o" | "out" => Meta::Output(arg),
        "i" | "include" => Meta::Include(need("FILE")?),
        "r" | "reset" => Meta::Reset,
        "q" | "quit" => Meta::Quit,
        "?" | "h" | "help" => Meta::Help,
        _ => return Err(format!("invalid command \\{name}\nTry \\? for help.")),
    })
}

/// psql's command tag for a statement that returned nothing to show
/// (`CREATE TABLE`, `BEGIN`, ...).
fn command_tag(sql: &str) -> String {
    const OBJECTS: [&str; 16] = [
        "TABLE",
        "INDEX",
        "VIEW",
        "SCHEMA",
        "FUNCTION",
        "PROCEDURE",
        "SEQUENCE",
        "TYPE",
        "DATABASE",
        "TRIGGER",
        "EXTENSION",
        "ROLE",
        "USER",
        "DOMAIN",
        "POLICY",
        "RULE",
    ];
    let words: Vec<String> = sql
        .split_whitespace()
        .take(5)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    let Some(first) = words.first() else {
        return String::new();
    };
    if matches!(first.as_str(), "CREATE" | "DROP" | "ALTER") {
        if let Some(i) = words.iter().position(|w| OBJECTS.contains(&w.as_str())) {
            let materialized = i > 0 && words[i - 1] == "MATERIALIZED";
            return format!(
                "{first} {}{}",
                if materialized { "MATERIALIZED " } else { "" },
                words[i]
            );
        }
    }
    first.clone()
}

/// psql's status line for a statement without rows: `CREATE TABLE`,
/// `INSERT 0 3`, `UPDATE 2`; `None` when there is nothing to say.
fn status_line(tag: &str, rows_affected: Option<u64>) -> Option<String> {
    match (tag, rows_affected) {
        ("", None) => None,
        ("", Some(n)) => Some(format!("({n} row{} affected)", if n == 1 { "" } else { "s" })),
        ("INSERT", Some(n)) => Some(format!("INSERT 0 {n}")),
        ("UPDATE" | "DELETE" | "MERGE" | "COPY" | "SELECT" | "MOVE" | "FETCH", Some(n)) => Some(format!("{tag} {n}")),
        (tag, _) => Some(tag.to_string()),
    }
}

/// What a statement does to the shell's transaction.
#[derive(Debug, Clone, PartialEq)]
enum TxControl {
    Begin(TransactionOptions),
    Commit,
    Rollback,
    /// Any other statement (`ROLLBACK TO SAVEPOINT` included).
    None,
}

/// Recognises `BEGIN`/`START TRANSACTION` (with its isolation level and
/// access mode), `COMMIT`/`END` and `ROLLBACK`.
fn tx_control(dialect: &dyn Dialect, sql: &str) -> TxControl {
    use sqlparser::ast::{Statement, TransactionAccessMode, TransactionIsolationLevel, TransactionMode};
    match sqlparser::parser::Parser::parse_sql(dialect, sql).as_deref() {
        Ok([Statement::StartTransaction { modes, statements, .. }]) if statements.is_empty() => {
            let mut options = TransactionOptions::default();
            for mode in modes {
                match mode {
                    TransactionMode::AccessMode(m) => options.read_only = *m == TransactionAccessMode::ReadOnly,
                    TransactionMode::IsolationLevel(level) => {
                        options.isolation = match level {
                            TransactionIsolationLevel::ReadUncommitted => Some(IsolationLevel::ReadUncommitted),
                            TransactionIsolationLevel::ReadCommitted => Some(IsolationLevel::ReadCommitted),
                            TransactionIsolationLevel::RepeatableRead => Some(IsolationLevel::RepeatableRead),
                            TransactionIsolationLevel::Serializable => Some(IsolationLevel::Serializable),
                            _ => None,
                        }
                    }
                }
            }
            TxControl::Begin(options)
        }
        Ok([Statement::Commit { chain: false, .. }]) => TxControl::Commit,
        Ok(
            [Statement::Rollback {
                chain: false,
                savepoint: None,
            }],
        ) => TxControl::Rollback,
        _ => TxControl::None,
    }
}

/// The name in the prompt: the database, or the database file's name.
fn prompt_name(db: &WasmDriver) -> String {
    let o = db.options();
    let name = match (&o.path, &o.database) {
        (Some(p), _) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
        (None, Some(d)) => Some(d.clone()),
        (None, None) => None,
    };
    inert(&name.unwrap_or_else(|| o.scheme.clone()))
}

/// Where the history is kept: `$DRIVERBOX_HISTORY`, else the data directory.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DRIVERBOX_HISTORY") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    Some(dirs::data_dir()?.join("driverbox").join("history"))
}

/// The shell's state.
struct Shell {
    rt: Runtime,
    db: WasmDriver,
    url: String,
    format: Format,
    /// A format was asked for (`--format`, `\format`, `\x`); until then a
    /// document store prints relaxed Extended JSON.
    format_chosen: bool,
    timing: bool,
    /// Results go here (`\o`).
    out: Box<dyn Write + Send>,
    /// The transaction opened by `BEGIN`, until `COMMIT` or `ROLLBACK`.
    tx: Option<Transaction>,
    /// A document store's last cursor with documents left, for `it`.
    cursor: Option<super::mongosh::Cursor>,
    /// SQL typed at the prompt or piped in, not run yet.
    input: Input,
}

impl Shell {
    /// The SQL dialect of the driver serving the database now.
    fn dialect(&self) -> Box<dyn Dialect> {
        sql::dialect(&self.db.info().dialect)
    }

    /// Whether the mysql client's habits apply (`DELIMITER`).
    fn is_mysql(&self) -> bool {
        self.db.info().dialect == "mysql"
    }

    /// Ends the session: flushes `\o`, rolls back an open transaction, closes the pool.
    async fn close(&mut self) {
        let _ = self.out.flush();
        if let Some(tx) = self.tx.take() {
            // Like psql: leaving ends an open transaction without committing it.
            let _ = tx.rollback().await;
        }
        driverbox::ConnectionDriver::close(&self.db).await;
    }

    /// The prompt loop on a terminal, with line editing and history.
    async fn interactive(&mut self) -> ExitCode {
        let config = rustyline::Config::builder()
            .auto_add_history(false)
            .max_history_size(5000)
            .ok();
        let editor = match config {
            Some(c) => rustyline::DefaultEditor::with_config(c.build()),
            None => rustyline::DefaultEditor::new(),
        };
        let mut editor = match editor {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start line editing: {e}");
                return self.piped().await;
            }
        };
        let history = history_path();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        let info = self.db.info();
        println!(
            "driverbox shell: {} {} ({})",
            info.name,
            info.version,
            inert(&self.db.options().to_string())
        );
        println!("Type \\? for help, \\q to quit.");
        let mut buffer = String::new();
        loop {
            let name = prompt_name(&self.db);
            // psql's `%/%R%x%# `: `-` continues a statement, `*` marks a transaction.
            let mark = if self.tx.is_some() { "*" } else { "" };
            let prompt = if super::mongosh::is_document_store(&self.db) {
                // mongosh's `test> `, and `... ` while a statement goes on.
                if buffer.is_empty() {
                    format!("{name}> ")
                } else {
                    "... ".to_string()
                }
            } else if buffer.is_empty() && self.input.is_empty() {
                format!("{name}={mark}> ")
            } else {
                format!("{name}-{mark}> ")
            };
            match tokio::task::block_in_place(|| editor.readline(&prompt)) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    if self.line(&line, &mut buffer).await == Flow::Quit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => {
                    buffer.clear();
                    self.input.clear();
                }
                Err(ReadlineError::Eof) => {
                    println!("\\q");
                    break;
                }
                Err(e) => {
                    eprintln!("error: reading input: {e}");
                    break;
                }
            }
        }
        if let Some(h) = &history {
            if let Some(dir) = h.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = editor.save_history(h) {
                eprintln!("warning: cannot save the history to {}: {e}", h.display());
            }
        }
        ExitCode::SUCCESS
    }

    /// Lines from a pipe: like the prompt loop, without prompts.
    async fn piped(&mut self) -> ExitCode {
        let mut buffer = String::new();
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = String::new();
            match tokio::task::block_in_place(|| stdin.read_line(&mut line)) {
                Ok(0) => break,
                Ok(_) => {
                    if self.line(line.trim_end_matches(['\n', '\r']), &mut buffer).await == Flow::Quit {
                        return ExitCode::SUCCESS;
                    }
                }
                Err(e) => {
                    eprintln!("error: reading input: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        // Like psql, a last statement without `;` still runs at the end of input.
        if !buffer.trim().is_empty() && super::mongosh::is_document_store(&self.db) {
            let text = std::mem::take(&mut buffer);
            self.document_text(&text, None).await;
        } else {
            for st in self.input.finish(&*self.dialect()) {
                self.run_statement(&st, "").await;
            }
        }
        ExitCode::SUCCESS
    }

    /// Handles one input line: a backslash command, or more of the query buffer.
    async fn line(&mut self, line: &str, buffer: &mut String) -> Flow {
        if line.trim_start().starts_with('\\') && input::go_command(line).is_none() {
            return match parse_meta(line) {
                Ok(Meta::Reset) => {
                    buffer.clear();
                    self.input.clear();
                    println!("Query buffer reset (cleared).");
                    Flow::Continue
                }
                Ok(meta) => self.meta(meta).await.0,
                Err(message) => {
                    eprintln!("{}", inert(&message));
                    Flow::Continue
                }
            };
        }
        if buffer.is_empty() && line.trim().is_empty() {
            return Flow::Continue;
        }
        if super::mongosh::is_document_store(&self.db) {
            return self.document_line(line, buffer).await;
        }
        let mysql = self.is_mysql();
        match self.input.line(&*self.dialect(), mysql, line) {
            Ok(statements) => {
                for st in statements {
                    if self.run_statement(&st, "").await == Ran::Canceled {
                        break;
                    }
                }
            }
            Err(message) => eprintln!("ERROR: {}", inert(&message)),
        }
        Flow::Continue
    }

    /// `-c`, `-f` and `\i`: one backslash command, or SQL statements and
    /// backslash commands, one per line, run in order up to the first error.
    async fn run_text(&mut self, text: &str, label: Option<&str>) -> Ran {
        if text.trim_start().starts_with('\\') && input::go_command(text).is_none() {
            return match parse_meta(text) {
                Ok(meta) => self.meta(meta).await.1,
                Err(message) => {
                    eprintln!("{}", inert(&message));
                    Ran::Failed(1)
                }
            };
        }
        if super::mongosh::is_document_store(&self.db) {
            return self.document_text(text, label).await.1;
        }
        let prefix = |line: u64| label.map(|l| format!("{l}:{line}: ")).unwrap_or_default();
        // A script keeps the session's delimiter, and leaves its own behind.
        let mut input = Input::new(self.input.delimiter());
        let mut number = 0;
        for line in text.lines() {
            number += 1;
            if input.is_empty() && line.trim_start().starts_with('\\') && input::go_command(line).is_none() {
                input.skip_line();
                let ran = match parse_meta(line) {
                    Ok(Meta::Quit) => return Ran::Ok,
                    Ok(meta) => self.meta(meta).await.1,
                    Err(message) => {
                        eprintln!("{}{}", prefix(number), inert(&message));
                        Ran::Failed(1)
                    }
                };
                if ran != Ran::Ok {
                    return ran;
                }
                continue;
            }
            let mysql = self.is_mysql();
            let statements = match input.line(&*self.dialect(), mysql, line) {
                Ok(statements) => statements,
                Err(message) => {
                    eprintln!("{}error: {}", prefix(number), inert(&message));
                    return Ran::Failed(1);
                }
            };
            for st in statements {
                match self.run_statement(&st, &prefix(st.line)).await {
                    Ran::Ok => {}
                    other => return other,
                }
            }
        }
        for st in input.finish(&*self.dialect()) {
            match self.run_statement(&st, &prefix(st.line)).await {
                Ran::Ok => {}
                other => return other,
            }
        }
        self.input.set_delimiter(input.delimiter());
        Ran::Ok
    }

    /// `-f FILE` and `\i FILE`: the statements of a script, up to the first error.
    async fn include(&mut self, file: &std::path::Path) -> Ran {
        match read_script(file) {
            Ok(text) => self.run_text(&text, Some(&inert(&file.display().to_string()))).await,
            Err(message) => {
                eprintln!("{message}");
                Ran::Failed(1)
            }
        }
    }

    /// Runs one statement of the query buffer, in its own format if it has one.
    async fn run_statement(&mut self, st: &input::Statement, prefix: &str) -> Ran {
        let format = self.format;
        self.format = st.format.unwrap_or(format);
        let ran = self.statement(&st.sql, prefix).await;
        self.format = format;
        ran
    }

    /// Runs one statement and prints its result. `BEGIN`, `COMMIT` and
    /// `ROLLBACK` drive a transaction handle that pins one connection
    /// (plain SQL would be rolled back when the pool takes its connection back).
    async fn statement(&mut self, sql: &str, prefix: &str) -> Ran {
        let start = Instant::now();
        let control = tx_control(&*self.dialect(), sql);
        let ran = match control {
            TxControl::Begin(options) if self.tx.is_none() => match self.db.transaction(options).await {
                Ok(tx) => {
                    self.tx = Some(tx);
                    self.status("BEGIN")
                }
                Err(e) => Ran::error(&e, Some(sql), prefix),
            },
            TxControl::Begin(_) => {
                eprintln!("{prefix}WARNING:  there is already a transaction in progress");
                self.status("BEGIN")
            }
            TxControl::Commit | TxControl::Rollback if self.tx.is_none() => {
                eprintln!("{prefix}WARNING:  there is no transaction in progress");
                self.status(if control == TxControl::Commit {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                })
            }
            TxControl::Commit | TxControl::Rollback => {
                let tx = self.tx.take().expect("checked above");
                let (done, tag) = if control == TxControl::Commit {
                    (tx.commit().await, "COMMIT")
                } else {
                    (tx.rollback().await, "ROLLBACK")
                };
                match done {
                    Ok(()) => self.status(tag),
                    Err(e) => Ran::error(&e, Some(sql), prefix),
                }
            }
            TxControl::None => self.execute(sql, prefix).await,
        };
        if self.timing && ran != Ran::Canceled {
            println!("Time: {:.3} ms", start.elapsed().as_secs_f64() * 1000.0);
        }
        ran
    }

    /// Prints a status line such as `BEGIN` to the output.
    fn status(&mut self, tag: &str) -> Ran {
        if matches!(self.format, Format::Table | Format::Expanded | Format::Vertical) {
            let _ = writeln!(self.out, "{tag}").and_then(|_| self.out.flush());
        }
        Ran::Ok
    }

    /// Runs one statement as a task raced against Ctrl-C, in the open
    /// transaction if there is one.
    async fn execute(&mut self, sql: &str, prefix: &str) -> Ran {
        let owned = sql.to_string();
        let in_tx = self.tx.is_some();
        let mut task = match self.tx.take() {
            Some(mut tx) => tokio::spawn(async move {
                let r = tx.execute_query(&owned, &[]).await;
                (Some(tx), r)
            }),
            None => {
                let db = self.db.clone();
                tokio::spawn(async move { (None, db.execute_query(&owned, &[]).await) })
            }
        };
        let joined = tokio::select! {
            joined = &mut task => joined,
            Ok(()) = tokio::signal::ctrl_c() => {
                task.abort();
                eprintln!("{prefix}Cancel request sent");
                let _ = task.await;
                eprintln!("ERROR:  canceled");
                if in_tx {
                    eprintln!("the transaction was rolled back");
                }
                // The library discards the canceled call's instance.
                return Ran::Canceled;
            }
        };
        match joined {
            Ok((tx, result)) => {
                self.tx = tx;
                match result {
                    Ok(result) => {
                        self.show(&result, Some(sql));
                        Ran::Ok
                    }
                    Err(e) => Ran::error(&e, Some(sql), prefix),
                }
            }
            Err(e) => {
                eprintln!("{prefix}error: the statement failed: {e}");
                if in_tx {
                    eprintln!("the transaction was rolled back");
                }
                Ran::Failed(1)
            }
        }
    }

    /// Prints a result to the output (`\o`).
    fn show(&mut self, result: &QueryResult, sql: Option<&str>) {
        let tag = match sql {
            Some(sql)
                if result.columns.is_empty()
                    && matches!(self.format, Format::Table | Format::Expanded | Format::Vertical) =>
            {
                status_line(&command_tag(sql), result.rows_affected)
            }
            _ => None,
        };
        let written = if let Some(tag) = tag {
            writeln!(self.out, "{}", inert(&tag))
        } else {
            output::print(&mut self.out, result, self.format)
        };
        if let Err(e) = written.and_then(|_| self.out.flush()) {
            eprintln!("error: writing output: {e}");
        }
    }

    /// Runs a backslash command.
    async fn meta(&mut self, meta: Meta) -> (Flow, Ran) {
        let ran = match meta {
            Meta::Quit => return (Flow::Quit, Ran::Ok),
            Meta::Help => {
                print!("{HELP}");
                Ran::Ok
            }
            Meta::Reset => Ran::Ok,
            Meta::Expanded(on) => {
                let on = on.unwrap_or(self.format != Format::Expanded);
                self.format = if on { Format::Expanded } else { Format::Table };
                self.format_chosen = true;
                println!("Expanded display is {}.", if on { "on" } else { "off" });
                Ran::Ok
            }
            Meta::Timing(on) => {
                self.timing = on.unwrap_or(!self.timing);
                println!("Timing is {}.", if self.timing { "on" } else { "off" });
                Ran::Ok
            }
            Meta::Format(format) => {
                self.format = format;
                self.format_chosen = true;
                let name = clap::ValueEnum::to_possible_value(&format).map(|v| v.get_name().to_string());
                println!("Output format is {}.", name.unwrap_or_default());
                Ran::Ok
            }
            Meta::Output(file) => self.set_output(file.as_deref()),
            // Boxed: a script may include another.
            Meta::Include(file) => Box::pin(self.include(std::path::Path::new(&file))).await,
            Meta::Connect(url) => self.reconnect(url).await,
            Meta::Databases if super::mongosh::is_document_store(&self.db) => self.show_databases("").await,
            Meta::Databases => self.databases().await,
            Meta::Tables(None) | Meta::Describe(None) if super::mongosh::is_document_store(&self.db) => {
                self.show_collections("").await
            }
            Meta::Schemas(pattern) => self.schemas(pattern.as_deref()).await,
            Meta::Describe(None) => self.relations(None, "relations", |_| true).await,
            Meta::Describe(Some(name)) => self.describe(&name).await,
            Meta::Tables(pattern) => {
                self.relations(pattern.as_deref(), "tables", super::inspect::is_table)
                    .await
            }
            Meta::Views(pattern) => self.views(pattern.as_deref()).await,
            Meta::Functions(pattern) => self.functions(pattern.as_deref()).await,
            Meta::Indexes(table) => self.indexes(table.as_deref()).await,
        };
        (Flow::Continue, ran)
    }

    fn set_output(&mut self, file: Option<&str>) -> Ran {
        let _ = self.out.flush();
        match file {
            None => {
                self.out = Box::new(std::io::stdout());
                Ran::Ok
            }
            Some(f) => match std::fs::File::create(f) {
                Ok(file) => {
                    self.out = Box::new(std::io::BufWriter::new(file));
                    Ran::Ok
                }
                Err(e) => {
                    eprintln!("{}: {e}", inert(f));
                    Ran::Failed(1)
                }
            },
        }
    }

    async fn reconnect(&mut self, url: Option<String>) -> Ran {
        let url = url.unwrap_or_else(|| self.url.clone());
        match connect(&self.rt, &url).await {
            Ok(db) => {
                if let Some(tx) = self.tx.take() {
                    let _ = tx.rollback().await;
                    eprintln!("the open transaction was rolled back");
                }
                let old = std::mem::replace(&mut self.db, db);
                driverbox::ConnectionDriver::close(&old).await;
                self.url = url;
                println!(
                    "You are now connected to \"{}\" ({}).",
                    prompt_name(&self.db),
                    inert(&self.db.options().to_string())
                );
                Ran::Ok
            }
            Err(e) => {
                // The session goes on with the previous connection.
                super::connect_failure_handled();
                let ran = Ran::error(&e, None, "");
                println!("Previous connection kept");
                ran
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_backslash_commands() {
        assert_eq!(parse_meta("\\dt"), Ok(Meta::Tables(None)));
        assert_eq!(
            parse_meta("  \\dt+ public.*  "),
            Ok(Meta::Tables(Some("public.*".into())))
        );
        assert_eq!(
            parse_meta("\\d \"My Table\""),
            Ok(Meta::Describe(Some("My Table".into())))
        );
        assert_eq!(parse_meta("\\x"), Ok(Meta::Expanded(None)));
        assert_eq!(parse_meta("\\x on"), Ok(Meta::Expanded(Some(true))));
        assert_eq!(parse_meta("\\timing off"), Ok(Meta::Timing(Some(false))));
        assert_eq!(parse_meta("\\format CSV"), Ok(Meta::Format(Format::Csv)));
        assert_eq!(parse_meta("\\pset format json"), Ok(Meta::Format(Format::Json)));
        assert_eq!(
            parse_meta("\\o 'out file.txt'"),
            Ok(Meta::Output(Some("out file.txt".into())))
        );
        assert_eq!(parse_meta("\\o"), Ok(Meta::Output(None)));
        assert_eq!(
            parse_meta("\\c sqlite:x.db"),
            Ok(Meta::Connect(Some("sqlite:x.db".into())))
        );
        assert_eq!(parse_meta("\\q"), Ok(Meta::Quit));
        assert_eq!(parse_meta("\\?"), Ok(Meta::Help));
        assert!(parse_meta("\\i").is_err());
        assert!(parse_meta("\\format pdf").is_err());
        assert!(parse_meta("\\nope").unwrap_err().contains("invalid command \\nope"));
    }

    #[test]
    fn splits_arguments() {
        assert_eq!(split_args(" a  'b c' \"d\"\"e\" "), vec!["a", "b c", "d\"e"]);
        assert!(split_args("   ").is_empty());
    }

    #[test]
    fn transaction_control() {
        let pg = sql::dialect("postgresql");
        assert_eq!(
            tx_control(&*pg, "begin"),
            TxControl::Begin(TransactionOptions::default())
        );
        let TxControl::Begin(o) = tx_control(&*pg, "start transaction isolation level serializable, read only") else {
            panic!("not a begin")
        };
        assert_eq!((o.isolation, o.read_only), (Some(IsolationLevel::Serializable), true));
        assert_eq!(tx_control(&*pg, "COMMIT"), TxControl::Commit);
        assert_eq!(tx_control(&*pg, "end"), TxControl::Commit);
        assert_eq!(tx_control(&*pg, "rollback"), TxControl::Rollback);
        assert_eq!(tx_control(&*pg, "rollback to savepoint a"), TxControl::None);
        assert_eq!(tx_control(&*pg, "select 1"), TxControl::None);
        let sqlite = sql::dialect("sqlite");
        assert!(matches!(tx_control(&*sqlite, "BEGIN IMMEDIATE"), TxControl::Begin(_)));
    }

    #[test]
    fn command_tags() {
        assert_eq!(command_tag("create table t (a int)"), "CREATE TABLE");
        assert_eq!(command_tag("begin"), "BEGIN");
        assert_eq!(command_tag("drop schema x cascade"), "DROP SCHEMA");
        assert_eq!(command_tag("create unique index i on t (a)"), "CREATE INDEX");
        assert_eq!(
            command_tag("create materialized view v as select 1"),
            "CREATE MATERIALIZED VIEW"
        );
        assert_eq!(command_tag(""), "");
        assert_eq!(status_line("INSERT", Some(3)).unwrap(), "INSERT 0 3");
        assert_eq!(status_line("CREATE TABLE", Some(0)).unwrap(), "CREATE TABLE");
        assert_eq!(status_line("", None), None);
    }
}
