//! `driverbox shell [URL]`: an interactive SQL shell in the manner of psql.
//!
//! Lines are collected until a `;` ends a statement (the driver's dialect
//! decides what is quoted or commented); lines starting with `\` are
//! backslash commands. Ctrl-C while a statement runs cancels that statement;
//! at the prompt it clears the line, and Ctrl-D leaves. `-c SQL` and
//! `-f FILE` run without a prompt; a failing `-f` script stops at the first
//! error and exits with 3, like psql with `ON_ERROR_STOP`.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use driverbox::schema::{TableInfo, TableKind};
use driverbox::sql::{self, ScriptStatement};
use driverbox::{
    Capability, Column, DriverCapabilities, Error, FunctionOperations, QueryDriver, QueryResult, Runtime,
    SchemaIntrospection, TableOperations, Value, ViewOperations, WasmDriver,
};
use rustyline::error::ReadlineError;
use sqlparser::dialect::Dialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::inspect::{self, constraint_line, index_line};
use super::output::{self, inert, Format};
use super::{connect, exit_code, qualified, report_in, DEFAULT_URL};

/// Arguments of `driverbox shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Connection URL (default: sqlite:driverbox.db).
    pub url: Option<String>,
    /// Runs SQL (or one backslash command), prints the result and exits.
    #[arg(short = 'c', long = "command", value_name = "SQL", conflicts_with = "file")]
    pub command: Option<String>,
    /// Runs the statements of FILE and exits; stops at the first error (exit code 3).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Exit code of a script that stopped at an error (psql's `ON_ERROR_STOP`).
const SCRIPT_ERROR: u8 = 3;

/// Runs `driverbox shell`.
pub async fn run(rt: &Runtime, args: &ShellArgs) -> Result<ExitCode, Error> {
    let url = args.url.clone().unwrap_or_else(|| DEFAULT_URL.to_string());
    let db = connect(rt, &url).await?;
    let mut shell = Shell {
        rt: rt.clone(),
        db,
        url,
        format: args.format,
        timing: false,
        out: Box::new(std::io::stdout()),
    };
    let code = if let Some(command) = &args.command {
        match shell.run_text(command, None).await {
            Ran::Ok => ExitCode::SUCCESS,
            Ran::Failed(code) => ExitCode::from(code),
            Ran::Canceled => ExitCode::from(1),
        }
    } else if let Some(file) = &args.file {
        match shell.include(file).await {
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

/// How a statement or command went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Ok,
    /// Failed; the exit code psql would give (1, or 2 for a lost connection).
    Failed(u8),
    Canceled,
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
    /// `\format table|expanded|csv|json`
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
  \format FORMAT     table, expanded, csv or json
  \timing [on|off]   toggle the time taken by each statement
Statements end with `;`. Ctrl-C cancels a running statement, or clears the line.
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
    let name = if name.len() > 1 { name.trim_end_matches('+') } else { name };
    let need = |what: &str| arg.clone().ok_or_else(|| format!("\\{name}: missing required argument {what}"));
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
            let value = value.ok_or("\\format: expected table, expanded, csv or json")?;
            let format = <Format as clap::ValueEnum>::from_str(&value, true)
                .map_err(|_| format!("\\format: unknown format \"{value}\": expected table, expanded, csv or json"))?;
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

/// Whether `name` matches a psql-style pattern (`*` any run, `?` one
/// character), ignoring case.
fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first().is_some_and(|f| f.to_lowercase().eq(c.to_lowercase())) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Byte offset of the character at 1-based `line`/`column` (sqlparser's spans).
fn byte_offset(text: &str, line: u64, column: u64) -> usize {
    let start = match line {
        0 | 1 => 0,
        n => text.match_indices('\n').nth(n as usize - 2).map_or(text.len(), |(i, _)| i + 1),
    };
    text[start..]
        .char_indices()
        .nth((column as usize).saturating_sub(1))
        .map_or(text.len(), |(i, _)| start + i)
}

/// Takes the complete statements (up to the last top-level `;`) off the
/// front of `buffer`, leaving the rest there. Nothing is taken while a
/// quote, comment or dollar quote is open anywhere in the buffer.
fn take_complete(dialect: &dyn Dialect, buffer: &mut String) -> Vec<ScriptStatement> {
    let Ok(tokens) = Tokenizer::new(dialect, buffer).tokenize_with_location() else {
        return Vec::new();
    };
    let Some(last) = tokens.iter().rev().find(|t| t.token == Token::SemiColon) else {
        return Vec::new();
    };
    let end = byte_offset(buffer, last.span.start.line, last.span.start.column) + 1;
    let statements = sql::split_statements(dialect, &buffer[..end]).unwrap_or_default();
    let rest = buffer[end..].trim_start().to_string();
    *buffer = rest;
    statements
}

/// psql's command tag for a statement that returned nothing to show
/// (`CREATE TABLE`, `BEGIN`, ...).
fn command_tag(sql: &str) -> String {
    const OBJECTS: [&str; 16] = [
        "TABLE", "INDEX", "VIEW", "SCHEMA", "FUNCTION", "PROCEDURE", "SEQUENCE", "TYPE", "DATABASE", "TRIGGER",
        "EXTENSION", "ROLE", "USER", "DOMAIN", "POLICY", "RULE",
    ];
    let words: Vec<String> = sql
        .split_whitespace()
        .take(5)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    let Some(first) = words.first() else { return String::new() };
    if matches!(first.as_str(), "CREATE" | "DROP" | "ALTER") {
        if let Some(i) = words.iter().position(|w| OBJECTS.contains(&w.as_str())) {
            let materialized = i > 0 && words[i - 1] == "MATERIALIZED";
            return format!("{first} {}{}", if materialized { "MATERIALIZED " } else { "" }, words[i]);
        }
    }
    first.clone()
}

/// A result made of text columns, for the listings of backslash commands.
fn listing(columns: &[&str], rows: Vec<Vec<Value>>) -> QueryResult {
    QueryResult {
        columns: columns.iter().map(|c| Column { name: c.to_string(), type_name: "text".into() }).collect(),
        rows,
        rows_affected: None,
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn opt_text(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::Text)
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
    timing: bool,
    /// Results go here (`\o`).
    out: Box<dyn Write + Send>,
}

impl Shell {
    fn dialect(&self) -> Box<dyn Dialect> {
        sql::dialect(&self.db.info().dialect)
    }

    async fn close(&mut self) {
        let _ = self.out.flush();
        driverbox::ConnectionDriver::close(&self.db).await;
    }

    /// The prompt loop on a terminal, with line editing and history.
    async fn interactive(&mut self) -> ExitCode {
        let config = rustyline::Config::builder().auto_add_history(false).max_history_size(5000).ok();
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
        println!("driverbox shell: {} {} ({})", info.name, info.version, inert(&self.db.options().to_string()));
        println!("Type \\? for help, \\q to quit.");
        let mut buffer = String::new();
        loop {
            let name = prompt_name(&self.db);
            let prompt = if buffer.is_empty() { format!("{name}=> ") } else { format!("{name}-> ") };
            match tokio::task::block_in_place(|| editor.readline(&prompt)) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    if self.line(&line, &mut buffer).await == Flow::Quit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => buffer.clear(),
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
        if !buffer.trim().is_empty() {
            buffer.push(';');
            for st in take_complete(&*self.dialect(), &mut buffer) {
                self.statement(&st.sql, "").await;
            }
        }
        ExitCode::SUCCESS
    }

    /// Handles one input line: a backslash command, or more of the query buffer.
    async fn line(&mut self, line: &str, buffer: &mut String) -> Flow {
        if line.trim_start().starts_with('\\') {
            return match parse_meta(line) {
                Ok(Meta::Reset) => {
                    buffer.clear();
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
        buffer.push_str(line);
        buffer.push('\n');
        let statements = take_complete(&*self.dialect(), buffer);
        for st in statements {
            if self.statement(&st.sql, "").await == Ran::Canceled {
                break;
            }
        }
        Flow::Continue
    }

    /// `-c`: one backslash command, or SQL statements run in order up to the first error.
    async fn run_text(&mut self, text: &str, label: Option<&str>) -> Ran {
        if text.trim_start().starts_with('\\') {
            return match parse_meta(text) {
                Ok(meta) => self.meta(meta).await.1,
                Err(message) => {
                    eprintln!("{}", inert(&message));
                    Ran::Failed(1)
                }
            };
        }
        let statements = match sql::split_statements(&*self.dialect(), text) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}error: {}", label.map(|l| format!("{l}: ")).unwrap_or_default(), inert(&e));
                return Ran::Failed(1);
            }
        };
        for st in statements {
            let prefix = label.map(|l| format!("{l}:{}: ", st.line)).unwrap_or_default();
            match self.statement(&st.sql, &prefix).await {
                Ran::Ok => {}
                other => return other,
            }
        }
        Ran::Ok
    }

    /// `-f FILE` and `\i FILE`: the statements of a script, up to the first error.
    async fn include(&mut self, file: &std::path::Path) -> Ran {
        let label = file.display().to_string();
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{}: {e}", inert(&label));
                return Ran::Failed(1);
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            eprintln!("{}: not valid UTF-8", inert(&label));
            return Ran::Failed(1);
        };
        self.run_text(&text, Some(&inert(&label))).await
    }

    /// Runs one statement, racing it against Ctrl-C, and prints its result.
    async fn statement(&mut self, sql: &str, prefix: &str) -> Ran {
        let start = Instant::now();
        let (db, owned) = (self.db.clone(), sql.to_string());
        let mut task = tokio::spawn(async move { db.execute_query(&owned, &[]).await });
        let joined = tokio::select! {
            joined = &mut task => joined,
            Ok(()) = tokio::signal::ctrl_c() => {
                task.abort();
                eprintln!("{prefix}Cancel request sent");
                let _ = task.await;
                eprintln!("ERROR:  canceled");
                self.after_cancel().await;
                return Ran::Canceled;
            }
        };
        let elapsed = start.elapsed();
        let ran = match joined {
            Ok(Ok(result)) => {
                self.show(&result, Some(sql));
                Ran::Ok
            }
            Ok(Err(e)) => {
                report_in(&e, Some(sql), prefix);
                Ran::Failed(exit_code(&e))
            }
            Err(e) => {
                eprintln!("{prefix}error: the statement failed: {e}");
                Ran::Failed(1)
            }
        };
        if self.timing {
            println!("Time: {:.3} ms", elapsed.as_secs_f64() * 1000.0);
        }
        ran
    }

    /// A canceled call leaves its driver instance mid-call: open a fresh
    /// pool rather than reuse it.
    async fn after_cancel(&mut self) {
        match connect(&self.rt, &self.url).await {
            Ok(db) => {
                let old = std::mem::replace(&mut self.db, db);
                drop(old);
            }
            Err(e) => report_in(&e, None, ""),
        }
    }

    /// Prints a result to the output (`\o`).
    fn show(&mut self, result: &QueryResult, sql: Option<&str>) {
        let written = if result.columns.is_empty()
            && result.rows_affected.is_none()
            && matches!(self.format, Format::Table | Format::Expanded)
        {
            let tag = sql.map(command_tag).unwrap_or_default();
            if tag.is_empty() { Ok(()) } else { writeln!(self.out, "{}", inert(&tag)) }
        } else {
            output::print(&mut self.out, result, self.format)
        };
        if let Err(e) = written.and_then(|_| self.out.flush()) {
            eprintln!("error: writing output: {e}");
        }
    }

    /// Prints a listing, or reports the error.
    fn show_listing(&mut self, result: Result<QueryResult, Error>) -> Ran {
        match result {
            Ok(r) => {
                self.show(&r, None);
                Ran::Ok
            }
            Err(e) => {
                report_in(&e, None, "");
                Ran::Failed(exit_code(&e))
            }
        }
    }

    /// Fails with a message unless the driver has `capability`.
    fn require(&self, capability: Capability, what: &str) -> Result<(), String> {
        if self.db.has_capability(capability) {
            Ok(())
        } else {
            Err(format!("the {} driver cannot list {what}", self.db.info().name))
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
                let name = clap::ValueEnum::to_possible_value(&format).map(|v| v.get_name().to_string());
                println!("Output format is {}.", name.unwrap_or_default());
                Ran::Ok
            }
            Meta::Output(file) => self.set_output(file.as_deref()),
            // Boxed: a script may include another.
            Meta::Include(file) => Box::pin(self.include(std::path::Path::new(&file))).await,
            Meta::Connect(url) => self.reconnect(url).await,
            Meta::Databases => self.databases().await,
            Meta::Schemas(pattern) => self.schemas(pattern.as_deref()).await,
            Meta::Describe(None) => self.relations(None, "relations", |_| true).await,
            Meta::Describe(Some(name)) => self.describe(&name).await,
            Meta::Tables(pattern) => {
                let tables = |k: TableKind| matches!(k, TableKind::Table | TableKind::PartitionedTable | TableKind::ForeignTable);
                self.relations(pattern.as_deref(), "tables", tables).await
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
                report_in(&e, None, "");
                println!("Previous connection kept");
                Ran::Failed(exit_code(&e))
            }
        }
    }

    async fn databases(&mut self) -> Ran {
        if let Err(m) = self.require(Capability::Schema, "databases") {
            eprintln!("{m}");
            return Ran::Failed(1);
        }
        let result = self.db.get_databases().await.map(|dbs| {
            let rows = dbs
                .into_iter()
                .map(|d| vec![text(d.name), opt_text(d.owner), opt_text(d.encoding), d.size_bytes.map_or(Value::Null, |s| Value::Int(s as i64))])
                .collect();
            listing(&["name", "owner", "encoding", "size_bytes"], rows)
        });
        self.show_listing(result)
    }

    async fn schemas(&mut self, pattern: Option<&str>) -> Ran {
        let result = self.db.get_schemas().await.map(|schemas| {
            let rows = schemas
                .into_iter()
                .filter(|s| pattern.is_none_or(|p| matches(p, &s.name)))
                .map(|s| vec![text(s.name), opt_text(s.owner)])
                .collect();
            listing(&["name", "owner"], rows)
        });
        self.show_listing(result)
    }

    /// The schemas a `SCHEMA.NAME` pattern names (`None`: the default schema).
    async fn schemas_for(&self, schema: Option<&str>) -> Result<Vec<Option<String>>, Error> {
        Ok(match schema {
            None => vec![None],
            Some(s) if has_wildcard(s) => {
                self.db.get_schemas().await?.into_iter().filter(|x| matches(s, &x.name)).map(|x| Some(x.name)).collect()
            }
            Some(s) => vec![Some(s.to_string())],
        })
    }

    /// Relations whose name matches `pattern` (`SCHEMA.NAME` or `NAME`).
    async fn find_relations(&self, pattern: Option<&str>) -> Result<Vec<TableInfo>, Error> {
        let (schema, name) = match pattern {
            Some(p) => qualified(p),
            None => (None, "*".to_string()),
        };
        let mut found = Vec::new();
        for s in self.schemas_for(schema.as_deref()).await? {
            let tables = self.db.get_tables(s.as_deref()).await?;
            found.extend(tables.into_iter().filter(|t| matches(&name, &t.name)));
        }
        Ok(found)
    }

    async fn relations(&mut self, pattern: Option<&str>, what: &str, keep: impl Fn(TableKind) -> bool) -> Ran {
        let result = self.find_relations(pattern).await.map(|tables| {
            let rows: Vec<Vec<Value>> = tables
                .into_iter()
                .filter(|t| keep(t.kind))
                .map(|t| vec![text(t.schema), text(t.name), text(inspect::table_kind(t.kind)), opt_text(t.comment)])
                .collect();
            listing(&["schema", "name", "type", "comment"], rows)
        });
        if let Ok(r) = &result {
            if r.rows.is_empty() {
                match pattern {
                    Some(p) => eprintln!("Did not find any {what} named \"{}\".", inert(p)),
                    None => eprintln!("Did not find any {what}."),
                }
                return Ran::Ok;
            }
        }
        self.show_listing(result)
    }

    async fn views(&mut self, pattern: Option<&str>) -> Ran {
        if let Err(m) = self.require(Capability::View, "views") {
            eprintln!("{m}");
            return Ran::Failed(1);
        }
        let (schema, name) = match pattern {
            Some(p) => qualified(p),
            None => (None, "*".to_string()),
        };
        let result = async {
            let mut rows = Vec::new();
            for s in self.schemas_for(schema.as_deref()).await? {
                for v in self.db.list_views(s.as_deref()).await? {
                    if matches(&name, &v.name) {
                        let kind = if v.materialized { "materialized view" } else { "view" };
                        rows.push(vec![text(v.schema), text(v.name), text(kind), opt_text(v.comment)]);
                    }
                }
            }
            Ok(listing(&["schema", "name", "type", "comment"], rows))
        }
        .await;
        self.show_listing(result)
    }

    async fn functions(&mut self, pattern: Option<&str>) -> Ran {
        if let Err(m) = self.require(Capability::Function, "functions") {
            eprintln!("{m}");
            return Ran::Failed(1);
        }
        let (schema, name) = match pattern {
            Some(p) => qualified(p),
            None => (None, "*".to_string()),
        };
        let result = async {
            let mut rows = Vec::new();
            for s in self.schemas_for(schema.as_deref()).await? {
                for f in self.db.list_functions(s.as_deref()).await? {
                    if matches(&name, &f.name) {
                        rows.push(vec![
                            text(f.schema),
                            text(f.name),
                            opt_text(f.return_type),
                            text(f.arguments),
                            text(inspect::routine_kind(f.kind)),
                            text(f.language),
                        ]);
                    }
                }
            }
            Ok(listing(&["schema", "name", "result type", "arguments", "type", "language"], rows))
        }
        .await;
        self.show_listing(result)
    }

    async fn indexes(&mut self, table: Option<&str>) -> Ran {
        if let Err(m) = self.require(Capability::Table, "indexes") {
            eprintln!("{m}");
            return Ran::Failed(1);
        }
        let result = async {
            let tables: Vec<(String, String)> = match table {
                Some(t) => {
                    let (schema, name) = qualified(t);
                    let infos = self.db.get_tables(schema.as_deref()).await?;
                    let schema = infos.iter().find(|i| i.name == name).map(|i| i.schema.clone()).or(schema);
                    vec![(schema.unwrap_or_default(), name)]
                }
                None => self
                    .db
                    .get_tables(None)
                    .await?
                    .into_iter()
                    .filter(|t| matches!(t.kind, TableKind::Table | TableKind::PartitionedTable))
                    .map(|t| (t.schema, t.name))
                    .collect(),
            };
            let mut rows = Vec::new();
            for (schema, name) in tables {
                let s = (!schema.is_empty()).then_some(schema.as_str());
                for i in self.db.get_table_indexes(s, &name).await? {
                    let kind = if i.primary { "primary key" } else if i.unique { "unique" } else { "index" };
                    rows.push(vec![
                        text(schema.clone()),
                        text(i.name),
                        text(name.clone()),
                        text(i.columns.join(", ")),
                        text(kind),
                        opt_text(i.method),
                        opt_text(i.predicate),
                    ]);
                }
            }
            Ok(listing(&["schema", "name", "table", "columns", "kind", "method", "predicate"], rows))
        }
        .await;
        self.show_listing(result)
    }

    /// `\d NAME`: columns, indexes and constraints of a table, or a view's definition.
    async fn describe(&mut self, name: &str) -> Ran {
        let (schema, table) = qualified(name);
        let result: Result<Option<String>, Error> = async {
            let infos = self.db.get_tables(schema.as_deref()).await?;
            let Some(info) = infos.into_iter().find(|t| t.name == table) else { return Ok(None) };
            let s = Some(info.schema.as_str());
            let columns = self.db.get_columns(s, &info.name).await?;
            let mut text = String::new();
            let kind = match info.kind {
                TableKind::View => "View",
                TableKind::MaterializedView => "Materialized view",
                TableKind::ForeignTable => "Foreign table",
                TableKind::PartitionedTable => "Partitioned table",
                TableKind::Table => "Table",
            };
            let _ = writeln!(text, "{kind} \"{}.{}\"", info.schema, info.name);
            let rows = columns
                .into_iter()
                .map(|c| {
                    vec![
                        Value::Text(c.name),
                        Value::Text(c.data_type),
                        Value::Text(if c.nullable { "" } else { "not null" }.into()),
                        opt_text(c.default),
                        Value::Text(if c.primary_key { "yes" } else { "" }.into()),
                    ]
                })
                .collect();
            let mut table_text = Vec::new();
            let _ = output::print(&mut table_text, &listing(&["column", "type", "nullable", "default", "primary key"], rows), Format::Table);
            text.push_str(&String::from_utf8_lossy(&table_text));
            let is_view = matches!(info.kind, TableKind::View | TableKind::MaterializedView);
            if !is_view && self.db.has_capability(Capability::Table) {
                let indexes = self.db.get_table_indexes(s, &info.name).await?;
                if !indexes.is_empty() {
                    text.push_str("Indexes:\n");
                    for i in indexes {
                        let _ = writeln!(text, "    {}", index_line(&inspect::index_node(i)));
                    }
                }
                let constraints = self.db.get_table_constraints(s, &info.name).await?;
                if !constraints.is_empty() {
                    text.push_str("Constraints:\n");
                    for c in constraints {
                        let _ = writeln!(text, "    {}", constraint_line(&inspect::constraint_node(c)));
                    }
                }
            }
            if is_view && self.db.has_capability(Capability::View) {
                let definition = self.db.get_view_definition(s, &info.name).await?;
                let _ = writeln!(text, "View definition:\n{}", definition.trim_end());
            }
            Ok(Some(text))
        }
        .await;
        match result {
            Ok(Some(text)) => {
                let written = self.out.write_all(inert(&text).as_bytes()).and_then(|_| self.out.flush());
                if let Err(e) = written {
                    eprintln!("error: writing output: {e}");
                }
                Ran::Ok
            }
            Ok(None) => {
                eprintln!("Did not find any relation named \"{}\".", inert(name));
                Ran::Failed(1)
            }
            Err(e) => {
                report_in(&e, None, "");
                Ran::Failed(exit_code(&e))
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
        assert_eq!(parse_meta("  \\dt+ public.*  "), Ok(Meta::Tables(Some("public.*".into()))));
        assert_eq!(parse_meta("\\d \"My Table\""), Ok(Meta::Describe(Some("My Table".into()))));
        assert_eq!(parse_meta("\\x"), Ok(Meta::Expanded(None)));
        assert_eq!(parse_meta("\\x on"), Ok(Meta::Expanded(Some(true))));
        assert_eq!(parse_meta("\\timing off"), Ok(Meta::Timing(Some(false))));
        assert_eq!(parse_meta("\\format CSV"), Ok(Meta::Format(Format::Csv)));
        assert_eq!(parse_meta("\\pset format json"), Ok(Meta::Format(Format::Json)));
        assert_eq!(parse_meta("\\o 'out file.txt'"), Ok(Meta::Output(Some("out file.txt".into()))));
        assert_eq!(parse_meta("\\o"), Ok(Meta::Output(None)));
        assert_eq!(parse_meta("\\c sqlite:x.db"), Ok(Meta::Connect(Some("sqlite:x.db".into()))));
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
    fn patterns() {
        assert!(matches("*", "anything"));
        assert!(matches("us*", "Users"));
        assert!(matches("t?", "t1"));
        assert!(!matches("t?", "t12"));
        assert!(!matches("users", "users2"));
    }

    #[test]
    fn takes_complete_statements() {
        let pg = sql::dialect("postgresql");
        let mut buffer = String::from("select 1\n");
        assert!(take_complete(&*pg, &mut buffer).is_empty());
        assert_eq!(buffer, "select 1\n");
        buffer.push_str("; select 'a;\n");
        assert!(take_complete(&*pg, &mut buffer).is_empty(), "nothing runs while a quote is open");
        buffer.push_str("b'; select 2; select $$;$$\n");
        let done = take_complete(&*pg, &mut buffer);
        assert_eq!(done.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>(), ["select 1", "select 'a;\nb'", "select 2"]);
        assert_eq!(buffer, "select $$;$$\n");
        buffer.push_str("-- a comment; still open\n;");
        let done = take_complete(&*pg, &mut buffer);
        assert_eq!(done.len(), 1);
        assert!(done[0].sql.starts_with("select $$;$$"));
        assert!(buffer.is_empty());
        let mut buffer = String::from("/* ; */ select 'é';");
        assert_eq!(take_complete(&*pg, &mut buffer)[0].sql, "select 'é'");
    }

    #[test]
    fn command_tags() {
        assert_eq!(command_tag("create table t (a int)"), "CREATE TABLE");
        assert_eq!(command_tag("begin"), "BEGIN");
        assert_eq!(command_tag("drop schema x cascade"), "DROP SCHEMA");
        assert_eq!(command_tag("create unique index i on t (a)"), "CREATE INDEX");
        assert_eq!(command_tag("create materialized view v as select 1"), "CREATE MATERIALIZED VIEW");
        assert_eq!(command_tag(""), "");
    }
}
