//! `driverbox export` of a document store, as mongoexport writes it: the
//! documents of a collection, or of a mongosh `find`/`aggregate`
//! statement, as NDJSON (one Extended JSON document a line, the default),
//! a JSON array (one document a line) or CSV.
//!
//! Documents are read with a server cursor, `--batch-size` per `getMore`,
//! and each batch is written before the next is asked for: memory stays
//! at one batch however large the collection. JSON is relaxed Extended
//! JSON v2 (`--canonical`: canonical). CSV columns are `--fields` (paths
//! such as `a.b`), else the top-level fields of the first batch; a field
//! that first appears later is left out and named on stderr at the end.
//! A cell is the string itself, or the value's relaxed Extended JSON (so
//! `import` reads it back with its type); a missing field is empty.

use std::io::Write;

use bson::{Bson, Document};
use driverbox::api::nosql::{CursorRequest, FindOptions};
use driverbox::{Error, ErrorKind, WasmDriver};

use super::mongosh::{self, syntax::Operation, to_bytes, Cursor, PrintError, Statement};
use super::output::write_csv_record;

/// How documents are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentExport {
    Ndjson,
    Json,
    Csv,
}

fn invalid(message: String) -> Error {
    Error::Client {
        driver: "export".into(),
        kind: ErrorKind::InvalidInput,
        message,
    }
}

/// The collection and cursor an export reads: a collection name, or a
/// `find`/`aggregate` statement.
pub fn target(text: &str) -> Result<(String, CursorRequest, Option<u32>), Error> {
    let looks_like_name = !text.contains(['(', '{', ' ', '\n']);
    let op = match mongosh::parse_statement(text) {
        Ok(Statement::Operation(op)) => *op,
        Ok(_) => {
            return Err(invalid(
                "export takes a collection, or a find or aggregate statement".into(),
            ))
        }
        Err(_) if looks_like_name && !text.is_empty() => {
            return Ok((
                text.to_string(),
                CursorRequest::Find {
                    filter: to_bytes(&Document::new())?,
                    options: FindOptions::default(),
                },
                None,
            ))
        }
        Err(e) => return Err(invalid(e.to_string())),
    };
    match op {
        Operation::Find {
            collection,
            filter,
            shape,
            one: false,
        } => Ok((
            collection,
            CursorRequest::Find {
                filter: to_bytes(&filter)?,
                options: FindOptions {
                    projection: shape.projection.as_ref().map(to_bytes).transpose()?,
                    sort: shape.sort.as_ref().map(to_bytes).transpose()?,
                    limit: shape.limit,
                    skip: shape.skip,
                },
            },
            shape.batch_size,
        )),
        Operation::Aggregate { collection, pipeline } => Ok((
            collection,
            CursorRequest::Aggregate {
                pipeline: pipeline.iter().map(to_bytes).collect::<Result<_, _>>()?,
            },
            None,
        )),
        _ => Err(invalid(
            "export takes a collection, or a find or aggregate statement".into(),
        )),
    }
}

/// The value at a dotted `path` of `d`.
fn at_path<'a>(d: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut parts = path.split('.');
    let mut v = d.get(parts.next()?)?;
    for p in parts {
        v = match v {
            Bson::Document(inner) => inner.get(p)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Streams the documents of `text` into `out`; gives the number written.
pub async fn export(
    db: &WasmDriver,
    text: &str,
    format: DocumentExport,
    fields: Option<Vec<String>>,
    canonical: bool,
    batch_size: u32,
    out: &mut dyn Write,
) -> Result<u64, PrintError> {
    let (collection, request, batch) = target(text.trim())?;
    let mut cursor = Cursor::open(db, &collection, request, batch.unwrap_or(batch_size)).await?;
    let json = |d: Document| {
        let v = Bson::Document(d);
        if canonical {
            v.into_canonical_extjson()
        } else {
            v.into_relaxed_extjson()
        }
    };
    let mut written = 0u64;
    let mut columns = fields;
    let mut left_out: Vec<String> = Vec::new();
    match (format, &columns) {
        (DocumentExport::Json, _) => out.write_all(b"[")?,
        (DocumentExport::Csv, Some(names)) => write_csv_record(out, names.iter().map(|n| Some(n.as_str())))?,
        _ => {}
    }
    loop {
        let batch = cursor.next_batch().await?;
        if batch.is_empty() {
            break;
        }
        let n = batch.len() as u64;
        match format {
            DocumentExport::Ndjson => {
                for d in batch {
                    serde_json::to_writer(&mut *out, &json(d)).map_err(std::io::Error::from)?;
                    out.write_all(b"\n")?;
                }
            }
            DocumentExport::Json => {
                for (i, d) in batch.into_iter().enumerate() {
                    out.write_all(if written == 0 && i == 0 { b"\n" } else { b",\n" })?;
                    serde_json::to_writer(&mut *out, &json(d)).map_err(std::io::Error::from)?;
                }
            }
            DocumentExport::Csv => {
                let names = match &columns {
                    Some(c) => c.clone(),
                    None => {
                        let c = mongosh::field_names(&batch);
                        write_csv_record(out, c.iter().map(|n| Some(n.as_str())))?;
                        columns = Some(c.clone());
                        c
                    }
                };
                for d in &batch {
                    for k in d.keys() {
                        let covered = names.iter().any(|n| n == k || n.starts_with(&format!("{k}.")));
                        if !covered && !left_out.contains(k) {
                            left_out.push(k.clone());
                        }
                    }
                    let cells: Vec<Option<String>> =
                        names.iter().map(|n| at_path(d, n).map(mongosh::cell_text)).collect();
                    write_csv_record(out, cells.iter().map(Option::as_deref))?;
                }
            }
        }
        written += n;
        out.flush()?;
    }
    match format {
        DocumentExport::Json => out.write_all(if written == 0 { b"]\n" } else { b"\n]\n" })?,
        // No document: no columns known; the header of --fields only.
        DocumentExport::Csv => {
            if !left_out.is_empty() {
                eprintln!(
                    "warning: fields not among the CSV columns were left out: {} (name them with --fields)",
                    super::output::inert(&left_out.join(", "))
                );
            }
        }
        DocumentExport::Ndjson => {}
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let (c, r, b) = target("orders").unwrap();
        assert_eq!(c, "orders");
        assert!(matches!(r, CursorRequest::Find { .. }));
        assert_eq!(b, None);
        let (c, r, b) = target("db.orders.find({a: 1}).sort({_id: -1}).batchSize(7)").unwrap();
        assert_eq!(c, "orders");
        let CursorRequest::Find { options, .. } = r else {
            panic!()
        };
        assert!(options.sort.is_some());
        assert_eq!(b, Some(7));
        assert!(matches!(
            target("db.o.aggregate([{$match: {}}])").unwrap().1,
            CursorRequest::Aggregate { .. }
        ));
        assert!(target("db.o.insertOne({})").is_err());
        let e = target("db.o.find({a: })").unwrap_err();
        assert!(e.to_string().contains("column 15"), "{e}");
    }

    #[test]
    fn paths() {
        let d = bson::doc! {"a": {"b": 1}, "c": 2};
        assert_eq!(at_path(&d, "a.b"), Some(&Bson::Int32(1)));
        assert_eq!(at_path(&d, "c.d"), None);
        assert_eq!(at_path(&d, "x"), None);
    }
}
