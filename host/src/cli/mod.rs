//! The `driverbox` command line.

pub mod export;
pub mod export_documents;
pub mod import;
pub mod import_documents;
pub mod inspect;
pub mod inspect_documents;
pub mod mongosh;
pub mod output;
pub mod shell;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use driverbox::{Error, ErrorKind, Limits, PoolConfig, QueryDriver, Runtime, WasmDriver};

use output::Format;

/// The database used when no URL is given.
pub const DEFAULT_URL: &str = "sqlite:driverbox.db";

/// Database drivers as sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "driverbox", version, about)]
pub struct Cli {
    /// Sandbox limit NAME=VALUE, like wasmtime's -W (max-memory-size, timeout,
    /// max-table-elements, max-instances, max-handles, max-result-bytes, connect-timeout).
    #[arg(short = 'W', value_name = "NAME=VALUE", global = true)]
    pub limits: Vec<String>,
    /// Load this driver component (.wasm) before connecting; it serves the schemes it declares.
    #[arg(long = "driver", value_name = "FILE", global = true)]
    pub drivers: Vec<std::path::PathBuf>,
    /// Load every driver component (*.wasm) in DIR; a running shell also
    /// picks up new and changed ones (validated, then swapped in).
    #[arg(long, value_name = "DIR", global = true, env = "DRIVERBOX_DRIVERS_DIR")]
    pub drivers_dir: Option<std::path::PathBuf>,
    /// Do not use the on-disk cache of compiled drivers.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum DriversCommand {
    /// Lists the built-in and loaded drivers with their capabilities.
    List {
        #[arg(long, short, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Shows a component's metadata, exports and imports.
    Inspect { file: std::path::PathBuf },
    /// Validates a component as the host would before loading it (exit 0 when valid).
    Check { file: std::path::PathBuf },
    /// Makes a portable driver: composes a driver component (a file, or a
    /// built-in by name: postgres, sqlite, mysql, mongodb) with the WASI
    /// transport adapter; the result imports only wasi:* and runs in any
    /// WASI 0.2 host (wasmtime serve, Spin, wasmCloud, jco). See docs/portable.md.
    Portable {
        /// The driver: a .wasm file or a built-in driver's name.
        driver: String,
        /// Where to write the portable component.
        #[arg(short, long, value_name = "OUT.wasm")]
        output: std::path::PathBuf,
        /// Also compose it into this application component, which imports
        /// the driver's interfaces (e.g. examples/http-query): OUT is then the app.
        #[arg(long, value_name = "APP.wasm")]
        app: Option<std::path::PathBuf>,
    },
}

/// Output of `drivers list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Driver components: list, inspect, check.
    #[command(subcommand)]
    Drivers(DriversCommand),
    /// Runs one SQL statement and prints the result: `driverbox query [URL] SQL`.
    /// For a document store (mongodb://) the statement is mongosh's
    /// (`db.users.find({age: {$gt: 30}})`) or a command as Extended JSON.
    Query {
        /// Connection URL (default: sqlite:driverbox.db), then the SQL.
        /// SQL may begin with `-- comment`: see [`sql_after_separator`].
        #[arg(num_args = 1..=2, value_names = ["URL", "SQL"], required = true)]
        args: Vec<String>,
        /// Output format [default: table; for a document store's mongosh
        /// statements relaxed Extended JSON, with json canonical Extended JSON].
        #[arg(long, short, value_enum)]
        format: Option<Format>,
    },
    /// Interactive SQL shell with psql-style backslash commands: `driverbox shell [URL]`.
    Shell(shell::ShellArgs),
    /// Prints the structure of a database as a tree (or JSON).
    Inspect(inspect::InspectArgs),
    /// Loads a CSV file into a table, all or nothing; into a document store's
    /// collection NDJSON, a JSON array or CSV.
    Import(import::ImportArgs),
    /// Streams the result of a query (a collection's documents) as CSV or JSON.
    Export(export::ExportArgs),
}

/// Set when opening a connection failed: whatever the error, psql exits
/// 2 for it (a missing database, a time-out, a name that did not resolve).
static CONNECT_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A failed connect that the caller handled (the shell's `\c` keeps the
/// previous connection): later errors get their own exit code.
pub(crate) fn connect_failure_handled() {
    CONNECT_FAILED.store(false, std::sync::atomic::Ordering::Relaxed);
}

/// The command line with SQL that begins with `-` (`-- note\nselect 1`)
/// moved behind a `--`, so that it is read as the SQL argument, never as an
/// option. An argument counts as SQL when it starts with `-`, holds white
/// space (which no option name does) and is not the value of an option
/// (`-c SQL`).
pub fn sql_after_separator(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if args.iter().any(|a| a == "--") {
        return args;
    }
    let mut sql = Vec::new();
    let mut rest: Vec<std::ffi::OsString> = Vec::with_capacity(args.len() + 1);
    for arg in args {
        let after_option = rest
            .last()
            .and_then(|p| p.to_str())
            .is_some_and(|p| p.starts_with('-') && !p.contains('='));
        let is_sql = arg
            .to_str()
            .is_some_and(|s| s.starts_with('-') && s.contains(char::is_whitespace));
        if is_sql && !after_option {
            sql.push(arg);
        } else {
            rest.push(arg);
        }
    }
    if !sql.is_empty() {
        rest.push("--".into());
        rest.extend(sql);
    }
    rest
}

/// Exit codes like psql's: 1 for an error, 2 when the connection failed.
pub(crate) fn exit_code(e: &Error) -> u8 {
    if CONNECT_FAILED.load(std::sync::atomic::Ordering::Relaxed) {
        return 2;
    }
    match e {
        Error::Config(_) | Error::Load { .. } | Error::PoolTimeout { .. } => 2,
        _ if matches!(
            e.kind(),
            ErrorKind::Connection | ErrorKind::Authentication | ErrorKind::Tls
        ) =>
        {
            2
        }
        _ => 1,
    }
}

/// Prints an error the way psql does, with the server's detail, hint and position.
pub fn report(e: &Error) {
    report_in(e, None, "");
}

/// [`report`] for an error raised by `sql`: a position is shown as the
/// statement's line with a caret under it (psql's `LINE 1: ...`). Every
/// first line starts with `prefix` (e.g. `script.sql:3: `).
pub fn report_in(e: &Error, sql: Option<&str>, prefix: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(error_text(e, sql, prefix).as_bytes());
}

/// The text [`report_in`] prints.
pub(crate) fn error_text(e: &Error, sql: Option<&str>, prefix: &str) -> String {
    let mut out = String::new();
    match e.as_server_error() {
        Some(s) => {
            out += &format!(
                "{prefix}ERROR:  {} ({}, code {})\n",
                output::inert(&s.message),
                e_driver(e),
                s.code
            );
            if let Some(d) = &s.detail {
                out += &format!("DETAIL:  {}\n", output::inert(d));
            }
            if let Some(h) = &s.hint {
                out += &format!("HINT:  {}\n", output::inert(h));
            }
            match (s.position, sql.and_then(|sql| s.position.and_then(|p| caret(sql, p)))) {
                (_, Some((line, under))) => out += &format!("{line}\n{under}\n"),
                (Some(p), None) => out += &format!("POSITION:  {p}\n"),
                (None, None) => {}
            }
            if let Some(c) = &s.context {
                out += &format!("CONTEXT:  {}\n", output::inert(c));
            }
        }
        None => out += &format!("{prefix}error: {}\n", output::inert(&e.to_string())),
    }
    out
}

/// psql's error context: `LINE n: <text of that line>` and a line with a
/// caret under the 1-based character `position` of `sql`.
pub(crate) fn caret(sql: &str, position: u32) -> Option<(String, String)> {
    let index = (position as usize).checked_sub(1)?;
    let mut seen = 0;
    for (n, line) in sql.split('\n').enumerate() {
        let len = line.chars().count();
        if index <= seen + len {
            let head = format!("LINE {}: ", n + 1);
            let column = index - seen;
            let text = output::inert(line.trim_end_matches('\r'));
            // Escaped control characters before the caret widen the line.
            let before: String = line.chars().take(column).collect();
            let width = output::inert(&before).chars().count();
            return Some((format!("{head}{text}"), format!("{}^", " ".repeat(head.len() + width))));
        }
        seen += len + 1;
    }
    None
}

/// Prints `error: MESSAGE` and gives exit code 1, for failures outside the database.
pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", output::inert(&message.to_string()));
    ExitCode::from(1)
}

/// Splits `schema.table` (either part may be double-quoted) into its parts.
pub(crate) fn qualified(name: &str) -> (Option<String>, String) {
    qualified_folding(name, false)
}

/// [`qualified`] as `db`'s database reads names: PostgreSQL folds unquoted
/// names to lower case (`s.Orders` is `s.orders`, `"Orders"` stays);
/// other databases match them as written.
pub(crate) fn qualified_for(db: &WasmDriver, name: &str) -> (Option<String>, String) {
    qualified_folding(name, db.info().dialect == "postgresql")
}

fn qualified_folding(name: &str, fold_unquoted: bool) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut part = String::new();
    // Whether the current part had a quoted section.
    let mut any_quotes = false;
    let mut quoted = false;
    let fold = |part: String, any_quotes: bool| {
        if fold_unquoted && !any_quotes {
            part.to_lowercase()
        } else {
            part
        }
    };
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                part.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                any_quotes = true;
            }
            '.' if !quoted && parts.is_empty() => {
                parts.push(fold(std::mem::take(&mut part), any_quotes));
                any_quotes = false;
            }
            c => part.push(c),
        }
    }
    let part = fold(part, any_quotes);
    match parts.pop() {
        Some(schema) => (Some(schema), part),
        None => (None, part),
    }
}

fn e_driver(e: &Error) -> &str {
    match e {
        Error::Server { driver, .. } => driver,
        _ => "",
    }
}

impl Cli {
    /// A runtime with the limits and drivers asked for.
    async fn runtime(&self) -> Result<Runtime, Error> {
        let mut limits = Limits::default();
        for l in &self.limits {
            limits.set(l)?;
        }
        let mut builder = Runtime::builder().limits(limits);
        if self.no_cache {
            builder = builder.cache_dir(None);
        }
        let rt = builder.build()?;
        for d in &self.drivers {
            rt.load_driver_file(d).await?;
        }
        Ok(rt)
    }

    /// Runs the command.
    pub async fn run(self) -> ExitCode {
        match self.dispatch().await {
            Ok(code) => code,
            Err(e) => {
                report(&e);
                ExitCode::from(exit_code(&e))
            }
        }
    }

    async fn dispatch(&self) -> Result<ExitCode, Error> {
        let rt = self.runtime().await?;
        let _watch = match &self.drivers_dir {
            Some(dir) => {
                let mut events = rt.subscribe();
                let watch = rt.watch_dir(dir).await?;
                while let Ok(event) = events.try_recv() {
                    if let driverbox::DriverEvent::Failed { source, error } = event {
                        eprintln!("warning: {source}: {}", output::inert(&error));
                    }
                }
                Some(watch)
            }
            None => None,
        };
        match &self.command {
            Command::Drivers(cmd) => drivers(&rt, cmd).await,
            Command::Query { args, format } => {
                let (url, sql) = match args.as_slice() {
                    [sql] => (DEFAULT_URL, sql.as_str()),
                    [url, sql] => (url.as_str(), sql.as_str()),
                    _ => unreachable!("clap allows one or two"),
                };
                let db = connect(&rt, url).await?;
                let code = if mongosh::is_document_store(&db) && !sql.trim_start().starts_with('{') {
                    mongosh_query(&db, sql, mongosh::DocumentFormat::from_option(*format)).await
                } else {
                    query(&db, sql, format.unwrap_or(Format::Table)).await
                };
                driverbox::ConnectionDriver::close(&db).await;
                Ok(code)
            }
            Command::Shell(args) => shell::run(&rt, args).await,
            Command::Inspect(args) => inspect::run(&rt, args).await,
            Command::Import(args) => import::run(&rt, args).await,
            Command::Export(args) => export::run(&rt, args).await,
        }
    }
}

/// Opens `url` with a small pool (the CLI runs one statement at a time);
/// the server's notices go to stderr as psql prints them.
pub async fn connect(rt: &Runtime, url: &str) -> Result<WasmDriver, Error> {
    let pool = PoolConfig {
        max_size: 2,
        ..PoolConfig::default()
    };
    let db = rt.connect_with(url, pool).await.inspect_err(|_| {
        CONNECT_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    })?;
    db.on_notice(|n| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}:  {}", n.severity, output::inert(&n.message));
        if let Some(d) = &n.detail {
            let _ = writeln!(err, "DETAIL:  {}", output::inert(d));
        }
        if let Some(h) = &n.hint {
            let _ = writeln!(err, "HINT:  {}", output::inert(h));
        }
    });
    Ok(db)
}

/// `driverbox query`: one statement, or a script of several whose every
/// result is printed (as psql prints them), up to the first error.
async fn query(db: &WasmDriver, sql: &str, format: output::Format) -> ExitCode {
    let dialect = driverbox::sql::dialect(&db.info().dialect);
    let several = driverbox::sql::split_statements(&*dialect, sql).is_ok_and(|s| s.len() > 1);
    let (results, error) = if several {
        match db.execute_script(sql).await {
            Ok(outcome) => (outcome.results, outcome.error),
            Err(e) => (Vec::new(), Some(e)),
        }
    } else {
        match db.execute_query(sql, &[]).await {
            Ok(r) => (vec![r], None),
            Err(e) => (Vec::new(), Some(e)),
        }
    };
    let mut out = std::io::stdout().lock();
    for (i, r) in results.iter().enumerate() {
        let printed = if i > 0 && format == output::Format::Table {
            writeln!(out)
        } else {
            Ok(())
        }
        .and_then(|_| output::print(&mut out, r, format));
        if let Err(e) = printed {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: writing output: {e}");
            return ExitCode::from(1);
        }
    }
    drop(out);
    match error {
        Some(e) => {
            report_in(&e, Some(sql), "");
            ExitCode::from(exit_code(&e))
        }
        None => ExitCode::SUCCESS,
    }
}

/// `driverbox query` of a document store: mongosh statements, each
/// printed in turn, up to the first error.
async fn mongosh_query(db: &WasmDriver, text: &str, format: mongosh::DocumentFormat) -> ExitCode {
    use mongosh::Statement;
    let mut statements = Vec::new();
    for (offset, part) in mongosh::syntax::split_statements(text) {
        match mongosh::parse_statement(part) {
            Ok(s) => statements.push(s),
            Err(e) => {
                eprint!("{}", mongosh::syntax_error_text(&e.shifted(text, offset), text, ""));
                return ExitCode::from(1);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for statement in statements {
        let outcome = match statement {
            Statement::Operation(op) => mongosh::run(db, *op).await,
            Statement::ShowDatabases
            | Statement::ShowCollections
            | Statement::Use(_)
            | Statement::It
            | Statement::Exit => {
                eprintln!("error: show, use, it and exit are shell commands: run them in driverbox shell");
                return ExitCode::from(1);
            }
        };
        let printed = match outcome {
            Ok(outcome) => mongosh::print_outcome(&mut out, outcome, format).await,
            Err(e) => Err(mongosh::PrintError::Database(e)),
        };
        match printed {
            Ok(()) => {}
            Err(mongosh::PrintError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                return ExitCode::SUCCESS
            }
            Err(mongosh::PrintError::Output(e)) => {
                eprintln!("error: writing output: {e}");
                return ExitCode::from(1);
            }
            Err(mongosh::PrintError::Database(e)) => {
                report(&e);
                return ExitCode::from(exit_code(&e));
            }
        }
    }
    ExitCode::SUCCESS
}

async fn read_component(file: &std::path::Path) -> Result<Vec<u8>, Error> {
    tokio::fs::read(file).await.map_err(|e| Error::Load {
        name: file.display().to_string(),
        message: format!("cannot read: {e}"),
    })
}

async fn drivers(rt: &Runtime, cmd: &DriversCommand) -> Result<ExitCode, Error> {
    let mut out = std::io::stdout().lock();
    match cmd {
        DriversCommand::List { format } => {
            let list = rt.drivers().await?;
            match format {
                ListFormat::Json => {
                    let _ = writeln!(out, "{}", serde_json::to_string_pretty(&list).unwrap_or_default());
                }
                ListFormat::Table => {
                    let mut table = comfy_table::Table::new();
                    table.load_preset(output::PSQL).set_header([
                        "name",
                        "version",
                        "contract",
                        "schemes",
                        "source",
                        "capabilities",
                        "sha256",
                    ]);
                    for d in &list {
                        let caps: Vec<String> = d.capabilities.iter().map(|c| c.to_string()).collect();
                        table.add_row([
                            d.name.clone(),
                            d.version.clone(),
                            d.contract.clone(),
                            d.schemes.join(", "),
                            d.source.clone(),
                            caps.join(", "),
                            d.content_hash[..12].to_string(),
                        ]);
                    }
                    let _ = writeln!(out, "{table}");
                }
            }
        }
        DriversCommand::Inspect { file } => {
            let info = rt
                .inspect(&read_component(file).await?, &file.display().to_string())
                .await?;
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&info).unwrap_or_default());
        }
        DriversCommand::Check { file } => {
            let info = rt
                .inspect(&read_component(file).await?, &file.display().to_string())
                .await?;
            if info.portable {
                return Err(Error::Load {
                    name: file.display().to_string(),
                    message: "is a portable driver: it runs in any WASI 0.2 host, not as a driverbox plugin \
                              (load the driver it was made from)"
                        .into(),
                });
            }
            let _ = writeln!(
                out,
                "ok: {} {} ({}; contract {})",
                info.name,
                info.version,
                info.schemes.join(", "),
                info.contract
            );
        }
        DriversCommand::Portable { driver, output, app } => {
            let path = std::path::Path::new(driver);
            let bytes = match driverbox::portable::builtin_driver(driver) {
                Some(bytes) if !path.exists() => bytes.to_vec(),
                _ => read_component(path).await?,
            };
            let portable = driverbox::portable::make_portable(&bytes, driver)?;
            let info = rt.inspect(&portable, &output.display().to_string()).await?;
            let written = match app {
                None => portable,
                Some(app_path) => {
                    let app_bytes = read_component(app_path).await?;
                    driverbox::portable::link_app(&app_bytes, &portable, &app_path.display().to_string())?
                }
            };
            tokio::fs::write(output, &written).await.map_err(|e| Error::Load {
                name: output.display().to_string(),
                message: format!("cannot write: {e}"),
            })?;
            let what = match app {
                None => "portable driver".to_string(),
                Some(app) => format!("{} with the portable driver", app.display()),
            };
            let _ = writeln!(
                out,
                "wrote {} ({} bytes): {what} {} {} (contract {}), imports only wasi:*",
                output.display(),
                written.len(),
                info.name,
                info.version,
                info.contract
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_position() {
        let (line, under) = caret("selec 1", 1).unwrap();
        assert_eq!(line, "LINE 1: selec 1");
        assert_eq!(under, "        ^");
        let (line, under) = caret("select 1,\n  fro x", 13).unwrap();
        assert_eq!(line, "LINE 2:   fro x");
        assert_eq!(under, "          ^");
        assert_eq!(caret("x", 5), None);
        assert_eq!(caret("x", 0), None);
    }

    #[test]
    fn sql_starting_with_a_dash_goes_behind_the_separator() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            sql_after_separator(args(&[
                "driverbox",
                "query",
                "URL",
                "-- note\nselect 1",
                "--format",
                "csv"
            ])),
            args(&[
                "driverbox",
                "query",
                "URL",
                "--format",
                "csv",
                "--",
                "-- note\nselect 1"
            ])
        );
        // The value of an option stays where it is; plain options are untouched.
        let shell = args(&["driverbox", "shell", "URL", "-c", "-- note\nselect 1"]);
        assert_eq!(sql_after_separator(shell.clone()), shell);
        let plain = args(&["driverbox", "query", "URL", "select 1", "-f", "csv"]);
        assert_eq!(sql_after_separator(plain.clone()), plain);
    }

    #[test]
    fn qualified_names() {
        assert_eq!(qualified("t"), (None, "t".into()));
        assert_eq!(qualified("s.t"), (Some("s".into()), "t".into()));
        assert_eq!(qualified("\"my.s\".\"T\"\"x\""), (Some("my.s".into()), "T\"x".into()));
        assert_eq!(qualified("s.t.u"), (Some("s".into()), "t.u".into()));
        assert_eq!(qualified("S.Orders"), (Some("S".into()), "Orders".into()));
        assert_eq!(qualified_folding("S.Orders", true), (Some("s".into()), "orders".into()));
        assert_eq!(
            qualified_folding("\"S\".\"Orders\"", true),
            (Some("S".into()), "Orders".into())
        );
        assert_eq!(qualified_folding("Orders", true), (None, "orders".into()));
    }
}
