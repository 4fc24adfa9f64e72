//! `base`: connecting, and database commands as text. `query` takes one
//! command document in Extended JSON (`{"find": "users", "filter": {…}}`),
//! runs it on the connection's database (`"$db"` names another) and gives
//! one row per result document — every batch of a cursor — in one `json`
//! column of relaxed Extended JSON; a command without a cursor gives its
//! reply as the one row.

use bson::Document;
use driverbox_guest_sdk::batch::{column, BatchBuilder};
use driverbox_guest_sdk::types::{ConnectConfig, DriverMetadata, Health, LogicalType, QueryResult, Value};
use driverbox_guest_sdk::{Driver, Error, Result};

use crate::connection::Connection;
use crate::protocol::{extjson, reply};

fn command_of(text: &str, params: &[Value]) -> Result<(Option<String>, Document)> {
    if !params.is_empty() {
        return Err(Error::invalid(
            "MongoDB commands take no parameters: put the values in the command",
        ));
    }
    let mut doc = extjson::parse_document(text)?;
    if doc.is_empty() {
        return Err(Error::invalid("the command document is empty"));
    }
    let db = match doc.remove("$db") {
        Some(bson::Bson::String(s)) => Some(s),
        Some(_) => return Err(Error::invalid("$db must be a string")),
        None => None,
    };
    Ok((db, doc))
}

/// Runs a command given as text: the reply, and the documents of its
/// cursor (all batches) if it opened one.
pub fn run_text(conn: &mut Connection, text: &str, params: &[Value]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let (db, cmd) = command_of(text, params)?;
    let db = db.unwrap_or_else(|| conn.database.clone());
    let body = conn.command(&db, cmd)?;
    let raw = reply::raw(&body)?;
    if raw.get("cursor").ok().flatten().is_none() {
        return Ok((body, None));
    }
    let first = reply::cursor_batch(raw)?;
    let mut docs = first.documents;
    let (mut id, ns) = (first.id, first.ns);
    while id != 0 {
        let next = conn.get_more(&ns, id, None)?;
        docs.extend_from_slice(&next.documents);
        id = next.id;
    }
    Ok((body, Some(docs)))
}

/// Documents back to back as a one-column result of relaxed Extended JSON.
pub fn documents_result(docs: &[u8], rows_affected: Option<u64>) -> Result<QueryResult> {
    let columns = vec![column("document", LogicalType::Json, "bson")];
    let mut batch = BatchBuilder::new(&columns);
    let mut at = 0;
    while at < docs.len() {
        let n = crate::protocol::message::document_len(&docs[at..])?;
        batch.column(0).push_str(&extjson::to_relaxed(&docs[at..at + n])?)?;
        batch.end_row();
        at += n;
    }
    Ok(batch.into_result(columns, rows_affected))
}

impl Driver for Connection {
    fn metadata() -> DriverMetadata {
        crate::traits::metadata()
    }

    fn connect(config: ConnectConfig) -> Result<Self> {
        Connection::open(&config)
    }

    fn test_connection(&mut self) -> Result<()> {
        self.run("admin", bson::doc! {"ping": 1}, &[]).map(|_| ())
    }

    fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let (body, _) = run_text(self, sql, &params)?;
        Connection::count_in(&body, "n")
    }

    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        let (body, docs) = run_text(self, sql, &params)?;
        match docs {
            Some(docs) => documents_result(&docs, None),
            None => {
                let n = reply::int(reply::raw(&body)?, "n")?.map(|n| n.max(0) as u64);
                documents_result(&body, n)
            }
        }
    }

    fn close(&mut self) {
        Connection::close(self)
    }

    fn health_check(&mut self) -> Result<Health> {
        crate::traits::health(self)
    }
}
