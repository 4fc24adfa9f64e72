//! `driverbox import URL TABLE FILE.csv`: loads a CSV file into a table,
//! all or nothing.
//!
//! The header row names the table's columns (in any order). Values go to
//! the database as text and the database converts them. As in
//! PostgreSQL's `COPY … CSV`, an empty unquoted field is NULL and a quoted
//! one (`""`) the empty string (`--empty-as-empty`: both empty strings). Rows are sent with `bulk_insert` in
//! chunks inside one transaction, committed at the end: a bad row (wrong
//! number of fields, invalid UTF-8) or a server error rolls everything
//! back, unless `--skip-bad-rows` skips (and reports) the bad rows.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use driverbox::{Error, Runtime, SchemaIntrospection, TransactionOptions, Value, WasmDriver};

use super::output::inert;
use super::{connect, exit_code, fail, qualified_for, report, report_in};

/// Rows per `bulk_insert` call: one chunk of the library's, so a driver's
/// row number within it maps to a file line.
const CHUNK_ROWS: usize = driverbox::BULK_CHUNK_ROWS;

/// Arguments of `driverbox import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Connection URL.
    pub url: String,
    /// Target table, optionally `schema.table` (for a document store, the collection).
    pub table: String,
    /// CSV file whose header row names the table's columns; for a document
    /// store also NDJSON or a JSON array of Extended JSON documents.
    pub file: PathBuf,
    /// The file's format [default: from its extension, else csv]; json and
    /// ndjson are for document stores.
    #[arg(long, value_enum)]
    pub format: Option<super::import_documents::ImportFormat>,
    /// Import empty fields as empty strings instead of NULL.
    #[arg(long)]
    pub empty_as_empty: bool,
    /// Skip and report malformed rows instead of stopping (and importing nothing).
    #[arg(long)]
    pub skip_bad_rows: bool,
}

/// Maps each header name to the table column it names: the exact name,
/// else the only one equal ignoring case.
fn map_header(header: &[String], columns: &[String]) -> Result<Vec<String>, String> {
    let mut mapped: Vec<String> = Vec::with_capacity(header.len());
    for name in header {
        let exact = columns.iter().find(|c| *c == name);
        let folded: Vec<&String> = columns.iter().filter(|c| c.eq_ignore_ascii_case(name)).collect();
        let column = match (exact, folded.as_slice()) {
            (Some(c), _) => c.clone(),
            (None, [c]) => (*c).clone(),
            _ => {
                return Err(format!(
                    "the CSV header names \"{name}\", which is not a column of the table (columns: {})",
                    columns.join(", ")
                ))
            }
        };
        if mapped.contains(&column) {
            return Err(format!("the CSV header names column \"{column}\" twice"));
        }
        mapped.push(column);
    }
    if mapped.is_empty() {
        return Err("the CSV header is empty".into());
    }
    Ok(mapped)
}

/// Why a row cannot be imported.
#[derive(Debug, PartialEq, Eq)]
enum BadRow {
    FieldCount { expected: usize, found: usize },
    Utf8 { field: usize },
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRow::FieldCount { expected, found } => write!(f, "expected {expected} fields, found {found}"),
            BadRow::Utf8 { field } => write!(f, "field {field} is not valid UTF-8"),
        }
    }
}

/// Which fields of the CSV record starting at `raw` are quoted (`"…"`):
/// fields end at a comma, the record at CR or LF, outside quotes.
fn quoted_fields(raw: &[u8]) -> Vec<bool> {
    let mut quoted = Vec::new();
    let mut at_field_start = true;
    let mut in_quotes = false;
    for &b in raw {
        if at_field_start {
            quoted.push(b == b'"');
            at_field_start = false;
            if b == b'"' {
                in_quotes = true;
                continue;
            }
        }
        match b {
            // A doubled quote inside quotes toggles twice: no change.
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => at_field_start = true,
            b'\n' | b'\r' if !in_quotes => break,
            _ => {}
        }
    }
    if at_field_start {
        quoted.push(false);
    }
    quoted
}

/// The raw bytes of the record starting at byte `offset` of `file` (up to
/// its end of line outside quotes), for [`quoted_fields`].
fn raw_record(file: &mut std::fs::File, offset: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{BufRead, Seek};
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut reader = std::io::BufReader::new(file);
    let mut raw = Vec::new();
    loop {
        let n = reader.read_until(b'\n', &mut raw)?;
        // A line break inside quotes does not end the record.
        if n == 0 || raw.iter().filter(|b| **b == b'"').count() % 2 == 0 {
            return Ok(raw);
        }
    }
}

/// One CSV record as the row to insert: text values; an empty field is
/// NULL unless it was quoted (`quoted(i)`) or `empty_as_empty`.
fn convert(
    record: &csv::ByteRecord,
    width: usize,
    empty_as_empty: bool,
    quoted: &mut dyn FnMut(usize) -> bool,
) -> Result<Vec<Value>, BadRow> {
    if record.len() != width {
        return Err(BadRow::FieldCount {
            expected: width,
            found: record.len(),
        });
    }
    record
        .iter()
        .enumerate()
        .map(|(i, field)| match std::str::from_utf8(field) {
            Ok("") if !empty_as_empty && !quoted(i) => Ok(Value::Null),
            Ok(s) => Ok(Value::Text(s.to_string())),
            Err(_) => Err(BadRow::Utf8 { field: i + 1 }),
        })
        .collect()
}

/// Whether a CSV record (its raw bytes, to the end of the file) leaves a
/// quoted field open: the `csv` reader then takes the rest of the file as
/// one field instead of failing. Quotes as the reader reads them: a field
/// that starts with `"` is quoted up to a `"` not followed by another.
fn quote_left_open(raw: &[u8]) -> bool {
    let (mut in_quotes, mut field_start) = (false, true);
    let mut bytes = raw.iter().peekable();
    while let Some(&b) = bytes.next() {
        if in_quotes {
            if b == b'"' {
                if bytes.peek() == Some(&&b'"') {
                    bytes.next();
                } else {
                    in_quotes = false;
                }
            }
            continue;
        }
        match b {
            b'"' if field_start => in_quotes = true,
            b',' | b'\n' | b'\r' => {
                field_start = true;
                continue;
            }
            _ => {}
        }
        field_start = false;
    }
    in_quotes
}

/// The raw bytes of `file` from `offset` on.
fn tail_of(file: &std::path::Path, offset: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(file)?;
    f.seek(std::io::SeekFrom::Start(offset))?;
    let mut raw = Vec::new();
    f.read_to_end(&mut raw)?;
    Ok(raw)
}

/// The 1-based row of a bulk batch that an error is about, when the driver
/// says: PostgreSQL's COPY context (`COPY t, line 3, column id: ...`), a
/// `row 3` context, or a client error starting `row 3: `.
fn batch_row(e: &Error) -> Option<usize> {
    let rest = match e {
        Error::Server { error, .. } => {
            let context = error.context.as_deref()?;
            match context.find(", line ") {
                Some(i) => &context[i + ", line ".len()..],
                None => context.strip_prefix("row ")?,
            }
        }
        Error::Client { message, .. } => message.strip_prefix("row ")?,
        _ => return None,
    };
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// A spinner with rows and rows/s, when stderr is a terminal.
fn progress() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {human_pos} rows ({rate} rows/s, {elapsed})")
    {
        let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}", state.per_sec());
        };
        bar.set_style(style.with_key("rate", rate));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// How an import ended.
enum Outcome {
    Done {
        rows: u64,
        skipped: u64,
    },
    /// A failure already reported; the exit code.
    Failed(u8),
}

/// Runs `driverbox import`.
pub async fn run(rt: &Runtime, args: &ImportArgs) -> Result<ExitCode, Error> {
    use super::import_documents::{self as documents, ImportFormat};
    let label = inert(&args.file.display().to_string());
    let format = args
        .format
        .or_else(|| ImportFormat::from_path(&args.file))
        .unwrap_or(ImportFormat::Csv);
    if format != ImportFormat::Csv {
        let db = connect(rt, &args.url).await?;
        let code = if super::mongosh::takes_documents(&db) {
            documents::import(&db, &args.table, &args.file, format).await
        } else {
            fail(format!(
                "{label}: JSON is imported into document stores only; a table takes CSV"
            ))
        };
        driverbox::ConnectionDriver::close(&db).await;
        return Ok(code);
    }
    let file = match std::fs::File::open(&args.file) {
        Ok(f) => f,
        Err(e) => return Ok(fail(format!("{label}: {e}"))),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(file);
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Ok(fail(format!("{label}: {e}"))),
    };
    let header: Vec<String> = match header
        .iter()
        .map(|h| std::str::from_utf8(h).map(|s| s.trim().to_string()))
        .collect()
    {
        Ok(h) => h,
        Err(_) => return Ok(fail(format!("{label}:1: the header is not valid UTF-8"))),
    };
    let db = connect(rt, &args.url).await?;
    if super::mongosh::takes_documents(&db) {
        let code = documents::import(&db, &args.table, &args.file, format).await;
        driverbox::ConnectionDriver::close(&db).await;
        return Ok(code);
    }
    let (schema, table) = qualified_for(&db, &args.table);
    let columns = db.get_columns(schema.as_deref(), &table).await?;
    if columns.is_empty() {
        return Ok(fail(format!("table \"{}\" does not exist", inert(&args.table))));
    }
    let names: Vec<String> = columns.into_iter().map(|c| c.name).collect();
    let targets = match map_header(&header, &names) {
        Ok(t) => t,
        Err(message) => return Ok(fail(format!("{label}:1: {}", inert(&message)))),
    };
    let start = Instant::now();
    let outcome = import(&db, args, &label, schema.as_deref(), &table, &targets, &mut reader).await;
    driverbox::ConnectionDriver::close(&db).await;
    Ok(match outcome {
        Outcome::Done { rows, skipped } => {
            println!(
                "imported {rows} rows into {} in {:.2} s",
                inert(&args.table),
                start.elapsed().as_secs_f64()
            );
            if skipped > 0 {
                println!("skipped {skipped} bad row{}", if skipped == 1 { "" } else { "s" });
            }
            ExitCode::SUCCESS
        }
        Outcome::Failed(code) => ExitCode::from(code),
    })
}

/// Reads the rows and inserts them in chunks inside one transaction.
async fn import(
    db: &WasmDriver,
    args: &ImportArgs,
    label: &str,
    schema: Option<&str>,
    table: &str,
    columns: &[String],
    reader: &mut csv::Reader<std::fs::File>,
) -> Outcome {
    let mut tx = match db.transaction(TransactionOptions::default()).await {
        Ok(tx) => tx,
        Err(e) => {
            report(&e);
            return Outcome::Failed(exit_code(&e));
        }
    };
    let bar = progress();
    // A second handle on the file, to tell `""` from an empty field.
    let mut raw_file = std::fs::File::open(&args.file).ok();
    let mut record = csv::ByteRecord::new();
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    // The file line of each row of the chunk, for error messages.
    let mut lines: Vec<u64> = Vec::with_capacity(CHUNK_ROWS);
    let (mut rows, mut skipped) = (0u64, 0u64);
    // Line and byte offset of the last record read.
    let mut last: Option<(u64, u64)> = None;
    loop {
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                bar.finish_and_clear();
                let _ = tx.rollback().await;
                eprintln!("error: {label}: {e}; nothing imported");
                return Outcome::Failed(1);
            }
        };
        if more {
            last = record.position().map(|p| (p.line(), p.byte()));
        } else if let Some((line, at)) = last {
            // After the last record: did it leave a quoted field open?
            if tail_of(&args.file, at).is_ok_and(|raw| quote_left_open(&raw)) {
                bar.finish_and_clear();
                let _ = tx.rollback().await;
                eprintln!("error: {label}:{line}: a quoted field is never closed; nothing imported");
                return Outcome::Failed(1);
            }
        }
        if more {
            let line = record.position().map_or(0, |p| p.line());
            let offset = record.position().map_or(0, |p| p.byte());
            let mut fields_quoted: Option<Vec<bool>> = None;
            let mut quoted = |i: usize| {
                let q = fields_quoted.get_or_insert_with(|| {
                    raw_file
                        .as_mut()
                        .and_then(|f| raw_record(f, offset).ok())
                        .map_or_else(Vec::new, |raw| quoted_fields(&raw))
                });
                q.get(i).copied().unwrap_or(false)
            };
            match convert(&record, columns.len(), args.empty_as_empty, &mut quoted) {
                Ok(row) => {
                    lines.push(line);
                    chunk.push(row);
                }
                Err(bad) if args.skip_bad_rows => {
                    bar.suspend(|| eprintln!("{label}:{line}: skipped: {bad}"));
                    skipped += 1;
                }
                Err(bad) => {
                    bar.finish_and_clear();
                    let _ = tx.rollback().await;
                    eprintln!("error: {label}:{line}: {bad}; nothing imported");
                    return Outcome::Failed(1);
                }
            }
        }
        if chunk.len() >= CHUNK_ROWS || (!more && !chunk.is_empty()) {
            let batch = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
            match tx.bulk_insert(schema, table, columns, batch).await {
                Ok(n) => {
                    rows += n;
                    bar.set_position(rows);
                }
                Err(e) => {
                    bar.finish_and_clear();
                    let _ = tx.rollback().await;
                    match batch_row(&e).and_then(|row| lines.get(row.checked_sub(1)?)) {
                        Some(line) => report_in(&e, None, &format!("{label}:{line}: ")),
                        None => {
                            report(&e);
                            let (first, last) = (lines.first().unwrap_or(&0), lines.last().unwrap_or(&0));
                            eprintln!("while importing lines {first}-{last} of {label}");
                        }
                    }
                    eprintln!("nothing imported");
                    return Outcome::Failed(exit_code(&e));
                }
            }
            lines.clear();
        }
        if !more {
            break;
        }
    }
    bar.finish_and_clear();
    if let Err(e) = tx.commit().await {
        report(&e);
        eprintln!("nothing imported");
        return Outcome::Failed(exit_code(&e));
    }
    Outcome::Done { rows, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn maps_the_header() {
        let columns = strings(&["id", "Name", "name", "note"]);
        assert_eq!(map_header(&strings(&["note", "id"]), &columns).unwrap(), ["note", "id"]);
        assert_eq!(map_header(&strings(&["ID"]), &columns).unwrap(), ["id"]);
        assert_eq!(map_header(&strings(&["name"]), &columns).unwrap(), ["name"]);
        assert!(
            map_header(&strings(&["NAME"]), &columns)
                .unwrap_err()
                .contains("\"NAME\""),
            "ambiguous"
        );
        assert!(map_header(&strings(&["id", "nope"]), &columns)
            .unwrap_err()
            .contains("\"nope\""));
        assert!(map_header(&strings(&["id", "ID"]), &columns)
            .unwrap_err()
            .contains("twice"));
    }

    #[test]
    fn finds_a_quote_left_open() {
        assert!(quote_left_open(b"1,a,\"unterminated\n2,b,y\n"));
        assert!(quote_left_open(b"\"a\"\"b"));
        assert!(!quote_left_open(b"1,a,\"closed\nover lines\"\n"));
        assert!(!quote_left_open(b"1,a\"b,c\n"));
        assert!(!quote_left_open(b"\"a\"\"b\",\"\"\n"));
        assert!(!quote_left_open(b""));
    }

    #[test]
    fn converts_records() {
        let record = csv::ByteRecord::from(vec!["1", "", "x", ""]);
        let mut unquoted = |_| false;
        assert_eq!(
            convert(&record, 4, false, &mut unquoted).unwrap(),
            [
                Value::Text("1".into()),
                Value::Null,
                Value::Text("x".into()),
                Value::Null
            ]
        );
        assert_eq!(
            convert(&record, 4, false, &mut |i| i == 3).unwrap()[3],
            Value::Text(String::new())
        );
        assert_eq!(
            convert(&record, 4, true, &mut unquoted).unwrap()[1],
            Value::Text(String::new())
        );
        assert_eq!(
            convert(&record, 2, false, &mut unquoted),
            Err(BadRow::FieldCount { expected: 2, found: 4 })
        );
        let bad = csv::ByteRecord::from(vec![&b"ok"[..], &b"\xff"[..]]);
        assert_eq!(convert(&bad, 2, false, &mut unquoted), Err(BadRow::Utf8 { field: 2 }));
    }

    #[test]
    fn finds_quoted_fields() {
        assert_eq!(
            quoted_fields(b"1,\"\",,\"a,\"\"b\"\"\"\n2,\"\"\n"),
            [false, true, false, true]
        );
        assert_eq!(quoted_fields(b"\"two\nlines\",\r\n"), [true, false]);
        assert_eq!(quoted_fields(b""), [false]);
    }
}
