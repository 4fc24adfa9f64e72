//! `base`: connecting, and database commands as text. `query` takes one
//! command document in Extended JSON (`{"find": "users", "filter": {…}}`),
//! runs it on the connection's database (`"$db"` names another) and gives
//! one row per result document — every batch of a cursor — in one `json`
//! column of relaxed Extended JSON; a command without a cursor gives its
//! reply as the one row. Cancel: the server's id of the connection (from
//! `hello`) is the token; a fresh connection finds that connection's
//! operations with `currentOp` and stops them with `killOp`.

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

/// The cancel token: the server's `connectionId` from `hello` (8 bytes,
/// little-endian); none when the server does not say it.
pub fn cancel_token(conn: &Connection) -> Option<Vec<u8>> {
    let id = match conn.hello.get("connectionId")? {
        bson::Bson::Int32(n) => i64::from(*n),
        bson::Bson::Int64(n) => *n,
        bson::Bson::Double(f) if f.fract() == 0.0 => *f as i64,
        _ => return None,
    };
    Some(id.to_le_bytes().to_vec())
}

/// The operation ids (`opid`) of connection `id` in a `currentOp` reply,
/// apart from the `currentOp` itself.
pub fn operations_of(current_op: &Document, id: i64) -> Vec<bson::Bson> {
    let Ok(inprog) = current_op.get_array("inprog") else {
        return Vec::new();
    };
    inprog
        .iter()
        .filter_map(|op| match op {
            bson::Bson::Document(op) => Some(op),
            _ => None,
        })
        .filter(|op| {
            let conn = match op.get("connectionId") {
                Some(bson::Bson::Int32(n)) => Some(i64::from(*n)),
                Some(bson::Bson::Int64(n)) => Some(*n),
                Some(bson::Bson::Double(f)) => Some(*f as i64),
                _ => None,
            };
            conn == Some(id) && op.get_bool("active").unwrap_or(true)
        })
        .filter_map(|op| op.get("opid").cloned())
        .collect()
}

/// `killOp` of every operation of the connection that gave `token`, from
/// a fresh connection with the same settings.
pub fn cancel(config: &ConnectConfig, token: &[u8]) -> Result<()> {
    let id = match <[u8; 8]>::try_from(token) {
        Ok(b) => i64::from_le_bytes(b),
        Err(_) => return Err(Error::invalid("a MongoDB cancel token is 8 bytes")),
    };
    let mut conn = Connection::open(config)?;
    let result = (|| {
        let body = conn.command("admin", bson::doc! {"currentOp": 1, "connectionId": id})?;
        let ops = operations_of(&reply::document(&body)?, id);
        for op in ops {
            conn.command("admin", bson::doc! {"killOp": 1, "op": op})?;
        }
        Ok(())
    })();
    conn.close();
    result
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

    fn cancel_token(&self) -> Option<Vec<u8>> {
        cancel_token(self)
    }

    fn cancel(config: ConnectConfig, token: Vec<u8>) -> Result<()> {
        cancel(&config, &token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_of_one_connection() {
        let reply = bson::doc! {"inprog": [
            {"opid": 1, "connectionId": 7, "active": true, "op": "query"},
            {"opid": 2, "connectionId": 8, "active": true},
            {"opid": 3, "connectionId": 7i64, "active": false},
            {"opid": "shard:4", "connectionId": 7},
        ], "ok": 1};
        assert_eq!(
            operations_of(&reply, 7),
            vec![bson::Bson::Int32(1), bson::Bson::String("shard:4".into())]
        );
        assert!(operations_of(&bson::doc! {"ok": 1}, 7).is_empty());
    }
}
