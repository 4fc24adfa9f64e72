//! `driverbox import` into a document store's collection, as mongoimport
//! reads files: NDJSON (one Extended JSON document a line), one JSON array
//! of documents, or CSV with a header row.
//!
//! JSON is Extended JSON v2, relaxed or canonical (`{"$oid": …}`,
//! `{"$date": …}`, `{"$numberLong": …}`). A CSV header names the fields
//! (`a.b` makes a nested document); a cell is typed as mongoimport types
//! it: an integer is an `int` (a `long` beyond 32 bits), another number a
//! `double`, a cell that is an Extended JSON object or array (`{"$oid":
//! "…"}`, `[1,2]`) that value, anything else a string (an empty cell the
//! empty string).
//!
//! The whole file is read and checked first: a malformed line imports
//! nothing. Documents are then inserted in order in batches of
//! [`BATCH_DOCUMENTS`]; a server error (a duplicate `_id` …) stops the
//! import, and the documents of the batches before it stay (mongoimport
//! does the same; there is no transaction around an import).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use bson::{Bson, Document};
use driverbox::{NoSqlOperations, WasmDriver};

use super::mongosh::to_bytes;
use super::output::inert;
use super::{exit_code, fail, report};

/// Documents per `insert` call.
pub const BATCH_DOCUMENTS: usize = 1000;

/// How the file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// A CSV file with a header row.
    Csv,
    /// One Extended JSON document per line (also `.jsonl`).
    Ndjson,
    /// A JSON array of documents, or NDJSON (mongoimport's `--jsonArray`
    /// is decided by the first character).
    Json,
}

impl ImportFormat {
    /// From the file name's extension: `.csv`, `.ndjson`/`.jsonl`, `.json`.
    pub fn from_path(path: &Path) -> Option<ImportFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(ImportFormat::Csv),
            "ndjson" | "jsonl" => Some(ImportFormat::Ndjson),
            "json" => Some(ImportFormat::Json),
            _ => None,
        }
    }
}

/// A document of the file that cannot be imported: where and why.
#[derive(Debug, PartialEq, Eq)]
pub struct BadDocument {
    /// 1-based line of the file.
    pub line: u64,
    pub message: String,
}

/// An Extended JSON text as a document.
fn document_from_json(text: &str) -> Result<Document, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err("expected a JSON object (a document)".into());
    }
    match Bson::try_from(value) {
        Ok(Bson::Document(d)) => Ok(d),
        Ok(_) => Err("expected a document".into()),
        Err(e) => Err(format!("not valid Extended JSON: {e}")),
    }
}

/// Reads NDJSON documents, giving each with its line.
pub fn read_ndjson(
    reader: impl BufRead,
    mut each: impl FnMut(u64, Document) -> Result<(), String>,
) -> Result<(), BadDocument> {
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| BadDocument {
            line: line_no,
            message: e.to_string(),
        })?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let d = document_from_json(text).map_err(|message| BadDocument { line: line_no, message })?;
        each(line_no, d).map_err(|message| BadDocument { line: line_no, message })?;
    }
    Ok(())
}

/// Reads the documents of one JSON array element by element (the array is
/// never held whole), giving each with the line it starts on.
pub fn read_json_array(
    reader: impl Read,
    mut each: impl FnMut(u64, Document) -> Result<(), String>,
) -> Result<(), BadDocument> {
    let mut bytes = BufReader::new(reader).bytes();
    let mut line = 1u64;
    let bad = |line: u64, message: &str| BadDocument {
        line,
        message: message.to_string(),
    };
    let mut next = |line: &mut u64| -> Result<Option<u8>, BadDocument> {
        match bytes.next() {
            None => Ok(None),
            Some(Ok(b)) => {
                if b == b'\n' {
                    *line += 1;
                }
                Ok(Some(b))
            }
            Some(Err(e)) => Err(bad(*line, &e.to_string())),
        }
    };
    // Up to the `[`.
    loop {
        match next(&mut line)? {
            Some(b) if b.is_ascii_whitespace() => {}
            Some(b'[') => break,
            _ => return Err(bad(line, "expected a JSON array of documents ('[')")),
        }
    }
    let mut element = Vec::new();
    let mut start_line = line;
    let (mut depth, mut in_string, mut escaped, mut elements) = (0usize, false, false, 0u64);
    loop {
        let Some(b) = next(&mut line)? else {
            return Err(bad(line, "the array is not closed (']')"));
        };
        if in_string {
            element.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b',' | b']' if depth == 0 => {
                let text = std::str::from_utf8(&element).map_err(|_| bad(start_line, "not valid UTF-8"))?;
                if text.trim().is_empty() {
                    if b == b']' && elements == 0 {
                        return Ok(());
                    }
                    return Err(bad(start_line, "an empty element"));
                }
                let d = document_from_json(text).map_err(|m| bad(start_line, &m))?;
                each(start_line, d).map_err(|m| bad(start_line, &m))?;
                elements += 1;
                element.clear();
                if b == b']' {
                    // Only white space may follow.
                    while let Some(b) = next(&mut line)? {
                        if !b.is_ascii_whitespace() {
                            return Err(bad(line, "text after the array"));
                        }
                    }
                    return Ok(());
                }
                start_line = line;
                continue;
            }
            _ => {}
        }
        if element.iter().all(u8::is_ascii_whitespace) && !b.is_ascii_whitespace() {
            start_line = line;
        }
        element.push(b);
    }
}

/// A CSV cell typed as mongoimport types it.
pub fn csv_value(cell: &str) -> Bson {
    let t = cell.trim();
    if let Ok(n) = t.parse::<i64>() {
        return match i32::try_from(n) {
            Ok(n) => Bson::Int32(n),
            Err(_) => Bson::Int64(n),
        };
    }
    if !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
        && t.chars().any(|c| c.is_ascii_digit())
    {
        if let Ok(f) = t.parse::<f64>() {
            return Bson::Double(f);
        }
    }
    if t.starts_with('{') || t.starts_with('[') {
        if let Some(v) = serde_json::from_str::<serde_json::Value>(t)
            .ok()
            .and_then(|j| Bson::try_from(j).ok())
        {
            return v;
        }
    }
    Bson::String(cell.to_string())
}

/// Sets `path` (`a.b.c`) in `doc`, making the nested documents.
fn set_path(doc: &mut Document, path: &str, value: Bson) -> Result<(), String> {
    match path.split_once('.') {
        None => {
            doc.insert(path, value);
            Ok(())
        }
        Some((head, rest)) => {
            let inner = doc
                .entry(head.to_string())
                .or_insert_with(|| Bson::Document(Document::new()));
            match inner {
                Bson::Document(d) => set_path(d, rest, value),
                _ => Err(format!("the header sets \"{head}\" and a field inside it")),
            }
        }
    }
}

/// Reads CSV documents: the header names the fields.
pub fn read_csv(
    reader: impl Read,
    mut each: impl FnMut(u64, Document) -> Result<(), String>,
) -> Result<(), BadDocument> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| BadDocument {
            line: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.is_empty() || header.iter().any(String::is_empty) {
        return Err(BadDocument {
            line: 1,
            message: "every column of the header needs a field name".into(),
        });
    }
    let mut record = csv::StringRecord::new();
    loop {
        let more = csv.read_record(&mut record).map_err(|e| BadDocument {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        if !more {
            return Ok(());
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            return Err(BadDocument {
                line,
                message: format!("expected {} fields, found {}", header.len(), record.len()),
            });
        }
        let mut d = Document::new();
        for (name, cell) in header.iter().zip(record.iter()) {
            set_path(&mut d, name, csv_value(cell)).map_err(|message| BadDocument { line, message })?;
        }
        each(line, d).map_err(|message| BadDocument { line, message })?;
    }
}

/// Reads every document of `path` in `format`, giving each to `each`.
pub fn read_file(
    path: &Path,
    format: ImportFormat,
    each: impl FnMut(u64, Document) -> Result<(), String>,
) -> Result<(), BadDocument> {
    let file = std::fs::File::open(path).map_err(|e| BadDocument {
        line: 0,
        message: e.to_string(),
    })?;
    match format {
        ImportFormat::Csv => read_csv(file, each),
        ImportFormat::Ndjson => read_ndjson(BufReader::new(file), each),
        ImportFormat::Json => {
            let mut reader = BufReader::new(file);
            let first = loop {
                let buf = reader.fill_buf().map_err(|e| BadDocument {
                    line: 0,
                    message: e.to_string(),
                })?;
                match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                    Some(i) => break Some(buf[i]),
                    None if buf.is_empty() => break None,
                    None => {
                        let n = buf.len();
                        reader.consume(n);
                    }
                }
            };
            if first == Some(b'[') {
                read_json_array(reader, each)
            } else {
                read_ndjson(reader, each)
            }
        }
    }
}

/// Imports `path` into `collection` of `db`.
pub async fn import(db: &WasmDriver, collection: &str, path: &Path, format: ImportFormat) -> ExitCode {
    let label = inert(&path.display().to_string());
    let start = Instant::now();
    // First pass: every document parses (nothing is sent otherwise).
    let mut total = 0u64;
    let checked = tokio::task::block_in_place(|| {
        read_file(path, format, |_, d| {
            to_bytes(&d).map_err(|e| e.to_string())?;
            total += 1;
            Ok(())
        })
    });
    if let Err(bad) = checked {
        return fail(if bad.line == 0 {
            format!("{label}: {}", bad.message)
        } else {
            format!("{label}:{}: {} (nothing was imported)", bad.line, bad.message)
        });
    }
    // Second pass: insert in batches, read as they go.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(u64, Vec<u8>)>>(2);
    let reading = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(BATCH_DOCUMENTS);
            let r = read_file(&path, format, |line, d| {
                batch.push((line, to_bytes(&d).map_err(|e| e.to_string())?));
                if batch.len() == BATCH_DOCUMENTS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_DOCUMENTS));
                    tx.blocking_send(full).map_err(|_| "stopped".to_string())?;
                }
                Ok(())
            });
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
            r
        })
    };
    let mut imported = 0u64;
    while let Some(batch) = rx.recv().await {
        let (first, last) = (batch.first().map_or(0, |b| b.0), batch.last().map_or(0, |b| b.0));
        let docs: Vec<Vec<u8>> = batch.into_iter().map(|(_, d)| d).collect();
        let n = docs.len() as u64;
        if let Err(e) = db.insert(collection, docs, true).await {
            drop(rx);
            let _ = reading.await;
            report(&e);
            eprintln!(
                "{label}: the batch of lines {first}-{last} failed; {imported} documents were imported before it"
            );
            return ExitCode::from(exit_code(&e));
        }
        imported += n;
    }
    if let Ok(Err(bad)) = reading.await {
        return fail(format!("{label}:{}: {}", bad.line, bad.message));
    }
    println!(
        "imported {imported} documents into {} in {:.2} s",
        inert(collection),
        start.elapsed().as_secs_f64()
    );
    debug_assert_eq!(imported, total);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn all(format: ImportFormat, text: &str) -> Result<Vec<(u64, Document)>, BadDocument> {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let each = |line, d| {
            out.push((line, d));
            Ok(())
        };
        match format {
            ImportFormat::Csv => read_csv(bytes, each),
            ImportFormat::Ndjson => read_ndjson(bytes, each),
            ImportFormat::Json => read_json_array(bytes, each),
        }?;
        Ok(out)
    }

    #[test]
    fn ndjson_with_extended_json() {
        let docs = all(
            ImportFormat::Ndjson,
            "{\"_id\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}, \"n\": {\"$numberLong\": \"5\"}}\n\n{\"at\": {\"$date\": \"2024-01-02T00:00:00Z\"}, \"x\": 1.5}\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].1.get_i64("n").unwrap(), 5);
        assert_eq!(docs[1].0, 3);
        assert!(docs[1].1.get_datetime("at").is_ok());
        let e = all(ImportFormat::Ndjson, "{\"a\": 1}\n{\"a\": }\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = all(ImportFormat::Ndjson, "[1]\n").unwrap_err();
        assert!(e.message.contains("object"), "{e:?}");
    }

    #[test]
    fn json_array_element_by_element() {
        let docs = all(
            ImportFormat::Json,
            "[\n  {\"a\": \"],{\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}\n]\n",
        )
        .unwrap();
        assert_eq!(docs[0], (2, doc! {"a": "],{\""}));
        assert_eq!(docs[1], (3, doc! {"b": [1, {"c": 2}]}));
        assert!(all(ImportFormat::Json, "[]").unwrap().is_empty());
        assert_eq!(
            all(ImportFormat::Json, "[{\"a\": 1},\n\n {\"a\" 2}]").unwrap_err().line,
            3
        );
        assert!(all(ImportFormat::Json, "[{\"a\": 1}").is_err());
        assert!(all(ImportFormat::Json, "[{\"a\": 1}] x").is_err());
        assert!(all(ImportFormat::Json, "[{\"a\": 1},]").is_err());
    }

    #[test]
    fn csv_typed_as_mongoimport() {
        let docs = all(
            ImportFormat::Csv,
            "_id,name,addr.city,n,big,x,tags,oid\n1,Ann,Oslo,2.5,3000000000,,\"[1,2]\",\"{\"\"$oid\"\": \"\"65a1b2c3d4e5f60718293a4b\"\"}\"\n",
        )
        .unwrap();
        let (line, d) = &docs[0];
        assert_eq!(*line, 2);
        assert_eq!(d.get_i32("_id").unwrap(), 1);
        assert_eq!(d.get_str("name").unwrap(), "Ann");
        assert_eq!(d.get_document("addr").unwrap(), &doc! {"city": "Oslo"});
        assert_eq!(d.get_f64("n").unwrap(), 2.5);
        assert_eq!(d.get_i64("big").unwrap(), 3000000000);
        assert_eq!(d.get_str("x").unwrap(), "");
        assert_eq!(d.get_array("tags").unwrap(), &vec![Bson::Int32(1), Bson::Int32(2)]);
        assert!(d.get_object_id("oid").is_ok());
        assert_eq!(csv_value("1e3"), Bson::Double(1000.0));
        assert_eq!(csv_value("12-31"), Bson::String("12-31".into()));
        assert_eq!(csv_value("{not json"), Bson::String("{not json".into()));
        let e = all(ImportFormat::Csv, "a,b\n1\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(all(ImportFormat::Csv, "a,a.b\n1,2\n").is_err());
    }
}
