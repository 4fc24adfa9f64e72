//! Statements in mongosh's manner for document stores
//! (`db.users.find({age: {$gt: 30}}).sort({name: 1}).limit(5)`), run as
//! the driver's `nosql` operations, and their output: relaxed Extended
//! JSON v2 by default (one value per line), canonical Extended JSON with
//! `--format json`, or the documents' top-level fields as a table,
//! expanded records or CSV.

pub mod syntax;

use std::collections::VecDeque;
use std::io::Write;

use bson::{Bson, Document};
use driverbox::api::nosql::{CursorRequest, DocumentStream, FindOptions};
use driverbox::{
    Column, DriverCapabilities, Error, ErrorKind, LogicalType, NoSqlOperations, QueryResult, Value, WasmDriver,
};
use futures::StreamExt;

use super::output::{self, Format};
pub use syntax::{parse_statement, Operation, Statement, SyntaxError};

/// Documents asked for per `getMore` when the statement does not say (`batchSize`).
pub const DEFAULT_BATCH: u32 = 100;

/// Documents the shell prints per page before `Type "it" for more` (mongosh's 20).
pub const SHELL_PAGE: usize = 20;

/// Whether `db` is a document store (its statements are mongosh's, not SQL).
pub fn is_document_store(db: &WasmDriver) -> bool {
    db.has_capability(driverbox::Capability::NoSql) && !db.has_capability(driverbox::Capability::Schema)
}

/// Whether `import` loads documents through `nosql` (every driver that
/// exports it; DynamoDB also has tables for SQL-style introspection, and
/// its items take any attributes, which a CSV header maps onto).
pub fn takes_documents(db: &WasmDriver) -> bool {
    db.has_capability(driverbox::Capability::NoSql)
}

/// The text of a syntax error: the message, then the line with a caret
/// under the column, as psql shows a server's position.
pub fn syntax_error_text(e: &SyntaxError, text: &str, prefix: &str) -> String {
    let mut out = format!("{prefix}error: {}\n", output::inert(&e.to_string()));
    if let Some((line, under)) = super::caret(text, e.position as u32) {
        out += &format!("{line}\n{under}\n");
    }
    out
}

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::Client {
        driver: "mongosh".into(),
        kind: ErrorKind::Protocol,
        message: format!("a malformed BSON document: {e}"),
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Client {
        driver: "mongosh".into(),
        kind: ErrorKind::InvalidInput,
        message: message.into(),
    }
}

/// Parses BSON documents from the driver.
pub fn parse_documents(raw: &[Vec<u8>]) -> Result<Vec<Document>, Error> {
    raw.iter()
        .map(|b| Document::from_reader(&b[..]).map_err(malformed))
        .collect()
}

/// A document's BSON bytes.
pub fn to_bytes(d: &Document) -> Result<Vec<u8>, Error> {
    d.to_vec()
        .map_err(|e| invalid(format!("cannot encode the document: {e}")))
}

/// A cursor read batch by batch as documents are asked for; dropping it
/// closes the server's cursor.
pub struct Cursor {
    stream: DocumentStream,
    buffered: VecDeque<Vec<u8>>,
    done: bool,
}

impl Cursor {
    /// Opens a stream of `request` on `collection`, `batch` documents per `getMore`.
    pub async fn open(db: &WasmDriver, collection: &str, request: CursorRequest, batch: u32) -> Result<Cursor, Error> {
        Ok(Cursor {
            stream: db.stream_documents(collection, request, batch).await?,
            buffered: VecDeque::new(),
            done: false,
        })
    }

    /// Whether no document remains (reads the next batch to know).
    pub async fn exhausted(&mut self) -> Result<bool, Error> {
        while self.buffered.is_empty() && !self.done {
            match self.stream.next().await {
                Some(batch) => self.buffered.extend(batch?),
                None => self.done = true,
            }
        }
        Ok(self.buffered.is_empty())
    }

    /// Up to `n` next documents (fewer at the end).
    pub async fn next(&mut self, n: usize) -> Result<Vec<Document>, Error> {
        let mut out = Vec::with_capacity(n.min(1024));
        while out.len() < n && !self.exhausted().await? {
            let take = (n - out.len()).min(self.buffered.len());
            let raw: Vec<Vec<u8>> = self.buffered.drain(..take).collect();
            out.extend(parse_documents(&raw)?);
        }
        Ok(out)
    }

    /// The documents of the next batch the server sent (all buffered ones),
    /// or none at the end; memory stays at one batch.
    pub async fn next_batch(&mut self) -> Result<Vec<Document>, Error> {
        if self.exhausted().await? {
            return Ok(Vec::new());
        }
        let raw: Vec<Vec<u8>> = self.buffered.drain(..).collect();
        parse_documents(&raw)
    }
}

/// What a statement gives.
pub enum Outcome {
    /// Documents of a server cursor (`find`, `aggregate`), read as printed.
    Cursor(Cursor),
    /// Documents read at once (`getIndexes`).
    Documents(Vec<Document>),
    /// One value: a document (`findOne`, a write's result, a command's
    /// reply), a count, a name, `true`.
    Value(Bson),
}

/// Runs `op` on `db` (its database is the connection's).
pub async fn run(db: &WasmDriver, op: Operation) -> Result<Outcome, Error> {
    Ok(match op {
        Operation::Find {
            collection,
            filter,
            shape,
            one,
        } => {
            let options = FindOptions {
                projection: shape.projection.as_ref().map(to_bytes).transpose()?,
                sort: shape.sort.as_ref().map(to_bytes).transpose()?,
                limit: shape.limit,
                skip: shape.skip,
            };
            let filter = to_bytes(&filter)?;
            if one {
                let found = parse_documents(&db.find(&collection, filter, options).await?)?;
                return Ok(Outcome::Value(
                    found.into_iter().next().map_or(Bson::Null, Bson::Document),
                ));
            }
            let batch = shape.batch_size.filter(|n| *n > 0).unwrap_or(DEFAULT_BATCH);
            Outcome::Cursor(Cursor::open(db, &collection, CursorRequest::Find { filter, options }, batch).await?)
        }
        Operation::Aggregate { collection, pipeline } => {
            let pipeline = pipeline.iter().map(to_bytes).collect::<Result<_, _>>()?;
            Outcome::Cursor(Cursor::open(db, &collection, CursorRequest::Aggregate { pipeline }, DEFAULT_BATCH).await?)
        }
        Operation::CountDocuments { collection, filter } => {
            let n = db.get_collection_count(&collection, Some(to_bytes(&filter)?)).await?;
            Outcome::Value(count(n.count))
        }
        Operation::EstimatedDocumentCount { collection } => {
            let n = db.get_collection_count(&collection, None).await?;
            Outcome::Value(count(n.count))
        }
        Operation::Insert {
            collection,
            documents,
            ordered,
            one,
        } => {
            // As mongosh: an `_id` is made here when the document has none, so it can be reported.
            let mut ids = Vec::with_capacity(documents.len());
            let mut raw = Vec::with_capacity(documents.len());
            for d in documents {
                let d = with_id(d);
                ids.push(d.get("_id").cloned().unwrap_or(Bson::Null));
                raw.push(to_bytes(&d)?);
            }
            db.insert(&collection, raw, ordered).await?;
            let mut result = bson::doc! {"acknowledged": true};
            if one {
                result.insert("insertedId", ids.pop().unwrap_or(Bson::Null));
            } else {
                let by_index: Document = ids.into_iter().enumerate().map(|(i, id)| (i.to_string(), id)).collect();
                result.insert("insertedIds", by_index);
            }
            Outcome::Value(Bson::Document(result))
        }
        Operation::Update {
            collection,
            filter,
            update,
            many,
            upsert,
        } => {
            let (matched, modified, upserted) = match update {
                Bson::Document(u) => {
                    let r = db
                        .update(&collection, to_bytes(&filter)?, to_bytes(&u)?, many, upsert)
                        .await?;
                    let id = match r.upserted_id {
                        Some(raw) => parse_documents(&[raw])?
                            .pop()
                            .and_then(|d| d.get("_id").cloned())
                            .unwrap_or(Bson::Null),
                        None => Bson::Null,
                    };
                    (r.matched, r.modified, id)
                }
                pipeline => update_with_pipeline(db, &collection, filter, pipeline, many, upsert).await?,
            };
            let upserted_count = i64::from(upserted != Bson::Null);
            Outcome::Value(Bson::Document(bson::doc! {
                "acknowledged": true,
                "insertedId": upserted,
                "matchedCount": count(matched),
                "modifiedCount": count(modified),
                "upsertedCount": upserted_count,
            }))
        }
        Operation::Delete {
            collection,
            filter,
            many,
        } => {
            let n = db.delete(&collection, to_bytes(&filter)?, many).await?;
            Outcome::Value(Bson::Document(
                bson::doc! {"acknowledged": true, "deletedCount": count(n)},
            ))
        }
        Operation::Distinct {
            collection,
            field,
            filter,
        } => {
            let reply = command(
                db,
                None,
                bson::doc! {"distinct": collection, "key": field, "query": filter},
            )
            .await?;
            Outcome::Value(reply.get("values").cloned().unwrap_or(Bson::Array(Vec::new())))
        }
        Operation::CreateIndex {
            collection,
            keys,
            options,
        } => {
            let name = db
                .create_index(&collection, to_bytes(&keys)?, to_bytes(&options)?)
                .await?;
            Outcome::Value(Bson::String(name))
        }
        Operation::GetIndexes { collection } => {
            Outcome::Documents(parse_documents(&db.list_indexes(&collection).await?)?)
        }
        Operation::DropIndex { collection, name } => {
            db.drop_index(&collection, &name).await?;
            Outcome::Value(Bson::Document(bson::doc! {"ok": 1}))
        }
        Operation::Drop { collection } => match db.drop_collection(&collection).await {
            Ok(()) => Outcome::Value(Bson::Boolean(true)),
            // As mongosh: dropping a collection that does not exist gives false.
            Err(e) if e.kind() == ErrorKind::UndefinedObject => Outcome::Value(Bson::Boolean(false)),
            Err(e) => return Err(e),
        },
        Operation::Stats { collection } => {
            let raw = db.collection_stats(&collection).await?;
            Outcome::Value(parse_documents(&[raw])?.pop().map_or(Bson::Null, Bson::Document))
        }
        Operation::RunCommand { database, command: c } => {
            Outcome::Value(Bson::Document(command(db, database.as_deref(), c).await?))
        }
        Operation::CollectionNames => {
            let mut names: Vec<String> = db.list_collections(None).await?.into_iter().map(|c| c.name).collect();
            names.sort();
            Outcome::Value(Bson::Array(names.into_iter().map(Bson::String).collect()))
        }
        Operation::CreateCollection { name, options } => {
            db.create_collection(&name, to_bytes(&options)?).await?;
            Outcome::Value(Bson::Document(bson::doc! {"ok": 1}))
        }
        Operation::DropDatabase => {
            let reply = command(db, None, bson::doc! {"dropDatabase": 1}).await?;
            Outcome::Value(Bson::Document(reply))
        }
        Operation::DatabaseName => Outcome::Value(Bson::String(database_name(db))),
    })
}

/// The connection's database (`test` when the URL names none, as mongosh).
pub fn database_name(db: &WasmDriver) -> String {
    db.options().database.clone().unwrap_or_else(|| "test".into())
}

/// A count as mongosh shows it: a number.
fn count(n: u64) -> Bson {
    match i32::try_from(n) {
        Ok(n) => Bson::Int32(n),
        Err(_) => Bson::Int64(n.min(i64::MAX as u64) as i64),
    }
}

/// `d` with an `_id` first: its own, else a new ObjectId.
pub fn with_id(d: Document) -> Document {
    if d.contains_key("_id") {
        return d;
    }
    let mut out = Document::new();
    out.insert("_id", bson::oid::ObjectId::new());
    out.extend(d);
    out
}

async fn command(db: &WasmDriver, database: Option<&str>, c: Document) -> Result<Document, Error> {
    let raw = db.run_command(database, to_bytes(&c)?).await?;
    parse_documents(&[raw])?
        .pop()
        .ok_or_else(|| malformed("an empty reply"))
}

/// An update whose change is an aggregation pipeline: the `update`
/// command as is (the `nosql` update takes a document).
async fn update_with_pipeline(
    db: &WasmDriver,
    collection: &str,
    filter: Document,
    pipeline: Bson,
    many: bool,
    upsert: bool,
) -> Result<(u64, u64, Bson), Error> {
    let reply = command(
        db,
        None,
        bson::doc! {
            "update": collection,
            "updates": [{"q": filter, "u": pipeline, "multi": many, "upsert": upsert}],
        },
    )
    .await?;
    if let Ok(errors) = reply.get_array("writeErrors") {
        if let Some(Bson::Document(e)) = errors.first() {
            return Err(Error::Client {
                driver: "mongodb".into(),
                kind: ErrorKind::Other,
                message: format!(
                    "{} (code {})",
                    e.get_str("errmsg").unwrap_or("write error"),
                    e.get("code").map(|c| c.to_string()).unwrap_or_default()
                ),
            });
        }
    }
    let number = |k: &str| match reply.get(k) {
        Some(Bson::Int32(n)) => *n as u64,
        Some(Bson::Int64(n)) => *n as u64,
        Some(Bson::Double(f)) => *f as u64,
        _ => 0,
    };
    let upserted = match reply.get_array("upserted").ok().and_then(|a| a.first()) {
        Some(Bson::Document(u)) => u.get("_id").cloned().unwrap_or(Bson::Null),
        _ => Bson::Null,
    };
    let matched = number("n") - u64::from(upserted != Bson::Null);
    Ok((matched, number("nModified"), upserted))
}

/// How documents are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// Relaxed Extended JSON v2, one value per line (the default).
    Relaxed,
    /// Canonical Extended JSON v2: a JSON array of documents (`--format json`).
    Canonical,
    /// Top-level fields as columns: `table`, `expanded` or `csv`.
    Fields(Format),
}

impl DocumentFormat {
    /// From the `--format` given, if any.
    pub fn from_option(format: Option<Format>) -> DocumentFormat {
        match format {
            None => DocumentFormat::Relaxed,
            Some(Format::Json) => DocumentFormat::Canonical,
            Some(f) => DocumentFormat::Fields(f),
        }
    }
}

/// A value as one line of relaxed Extended JSON.
pub fn relaxed(v: &Bson) -> String {
    v.clone().into_relaxed_extjson().to_string()
}

fn canonical(v: &Bson) -> serde_json::Value {
    v.clone().into_canonical_extjson()
}

/// The text of a field in a table or CSV cell: a string as is, anything
/// else as relaxed Extended JSON.
pub fn cell_text(v: &Bson) -> String {
    match v {
        Bson::String(s) => s.clone(),
        v => relaxed(v),
    }
}

/// The union of the top-level field names of `docs`, in first-seen order.
pub fn field_names<'a>(docs: impl IntoIterator<Item = &'a Document>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for d in docs {
        for k in d.keys() {
            if !names.iter().any(|n| n == k) {
                names.push(k.clone());
            }
        }
    }
    names
}

/// Documents as a result of text columns, one per top-level field; a
/// missing field is NULL.
pub fn as_result(docs: &[Document]) -> QueryResult {
    let names = field_names(docs);
    QueryResult {
        columns: names
            .iter()
            .map(|n| Column::new(n, LogicalType::Text, "bson"))
            .collect(),
        rows: docs
            .iter()
            .map(|d| {
                names
                    .iter()
                    .map(|n| d.get(n).map_or(Value::Null, |v| Value::Text(cell_text(v))))
                    .collect()
            })
            .collect(),
        rows_affected: None,
    }
}

/// Prints documents in `format`; for `Relaxed` and `Canonical` `more`
/// documents may follow in later calls (`first`: this is the first call).
pub fn print_documents(
    out: &mut dyn Write,
    docs: &[Document],
    format: DocumentFormat,
    first: bool,
) -> std::io::Result<()> {
    match format {
        DocumentFormat::Relaxed => {
            for d in docs {
                writeln!(out, "{}", relaxed(&Bson::Document(d.clone())))?;
            }
        }
        DocumentFormat::Canonical => {
            for (i, d) in docs.iter().enumerate() {
                let sep = if first && i == 0 { "[\n  " } else { ",\n  " };
                write!(out, "{sep}{}", canonical(&Bson::Document(d.clone())))?;
            }
        }
        DocumentFormat::Fields(f) => output::print(out, &as_result(docs), f)?,
    }
    out.flush()
}

/// Ends a canonical array that [`print_documents`] began (`any`: a document was printed).
pub fn end_documents(out: &mut dyn Write, format: DocumentFormat, any: bool) -> std::io::Result<()> {
    if format == DocumentFormat::Canonical {
        writeln!(out, "{}", if any { "\n]" } else { "[]" })?;
    }
    out.flush()
}

/// Prints one value in `format`: a document as a one-row table, any other
/// value as a one-column `result`.
pub fn print_value(out: &mut dyn Write, v: &Bson, format: DocumentFormat) -> std::io::Result<()> {
    match (format, v) {
        (DocumentFormat::Relaxed, v) => writeln!(out, "{}", relaxed(v))?,
        (DocumentFormat::Canonical, v) => writeln!(out, "{}", canonical(v))?,
        (DocumentFormat::Fields(f), Bson::Document(d)) => output::print(out, &as_result(std::slice::from_ref(d)), f)?,
        (DocumentFormat::Fields(f), v) => {
            let result = QueryResult {
                columns: vec![Column::new("result", LogicalType::Text, "bson")],
                rows: vec![vec![Value::Text(cell_text(v))]],
                rows_affected: None,
            };
            output::print(out, &result, f)?
        }
    }
    out.flush()
}

/// Prints a whole outcome (`driverbox query`): a cursor to its end, batch
/// by batch for the JSON formats; the column formats need every document
/// for their columns.
pub async fn print_outcome(out: &mut dyn Write, outcome: Outcome, format: DocumentFormat) -> Result<(), PrintError> {
    match outcome {
        Outcome::Value(v) => print_value(out, &v, format)?,
        Outcome::Documents(docs) => {
            print_documents(out, &docs, format, true)?;
            end_documents(out, format, !docs.is_empty())?;
        }
        Outcome::Cursor(mut cursor) => {
            if let DocumentFormat::Fields(_) = format {
                let mut all = Vec::new();
                loop {
                    let batch = cursor.next_batch().await?;
                    if batch.is_empty() {
                        break;
                    }
                    all.extend(batch);
                }
                print_documents(out, &all, format, true)?;
            } else {
                let mut any = false;
                loop {
                    let batch = cursor.next_batch().await?;
                    if batch.is_empty() {
                        break;
                    }
                    print_documents(out, &batch, format, !any)?;
                    any = true;
                }
                end_documents(out, format, any)?;
            }
        }
    }
    Ok(())
}

/// Printing failed: the database or the output.
#[derive(Debug)]
pub enum PrintError {
    Database(Error),
    Output(std::io::Error),
}

impl From<Error> for PrintError {
    fn from(e: Error) -> Self {
        PrintError::Database(e)
    }
}

impl From<std::io::Error> for PrintError {
    fn from(e: std::io::Error) -> Self {
        PrintError::Output(e)
    }
}

/// `url` with its database (the path) replaced by `database`, the rest
/// (credentials, hosts, options) kept: the URL of `use DB`.
pub fn url_with_database(url: &str, database: &str) -> String {
    const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let name = percent_encoding::utf8_percent_encode(database, PATH).to_string();
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    // The authority ends at the first `/` or `?` after the credentials
    // (which the URI rules require to be percent-encoded).
    let after_at = rest.rfind('@').map_or(0, |i| i + 1);
    let authority_end = rest[after_at..].find(['/', '?']).map_or(rest.len(), |i| after_at + i);
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{}{authority}/{name}{query}", &url[..scheme_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_keeps_everything_but_the_database() {
        assert_eq!(
            url_with_database("mongodb://h:1/a?tls=true", "b"),
            "mongodb://h:1/b?tls=true"
        );
        assert_eq!(url_with_database("mongodb://h", "b"), "mongodb://h/b");
        assert_eq!(
            url_with_database("mongodb://u:p%2F@h1,h2:3/?x=1", "my db"),
            "mongodb://u:p%2F@h1,h2:3/my%20db?x=1"
        );
        assert_eq!(url_with_database("mongodb://h/a", "b"), "mongodb://h/b");
    }

    #[test]
    fn documents_as_fields() {
        let docs = [
            bson::doc! {"_id": 1, "name": "a"},
            bson::doc! {"_id": 2, "tags": ["x"], "name": "b,c"},
        ];
        let r = as_result(&docs);
        let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["_id", "name", "tags"]);
        let mut out = Vec::new();
        print_documents(&mut out, &docs, DocumentFormat::Fields(Format::Csv), true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "_id,name,tags\n1,a,\n2,\"b,c\",\"[\"\"x\"\"]\"\n"
        );
        let mut out = Vec::new();
        print_documents(&mut out, &docs[..1], DocumentFormat::Canonical, true).unwrap();
        print_documents(&mut out, &docs[1..], DocumentFormat::Canonical, false).unwrap();
        end_documents(&mut out, DocumentFormat::Canonical, true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[1]["_id"], serde_json::json!({"$numberInt": "2"}));
        let mut out = Vec::new();
        print_value(&mut out, &Bson::Int64(5), DocumentFormat::Relaxed).unwrap();
        assert_eq!(out, b"5\n");
    }
}
