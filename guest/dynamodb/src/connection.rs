//! The driver's connection: the client of the endpoint, the key schemas
//! of the tables seen, the open stream or cursor, and the statements of a
//! transaction; plus the DynamoDB operations the interfaces share (tables,
//! scans, statements, batch writes).

use std::collections::HashMap;

use driverbox_guest_sdk::types::ConnectConfig;
use driverbox_guest_sdk::{Error, Result};
use serde_json::{json, Map, Value as Json};

use crate::client::{backoff, Client, Idempotent, Settings};

/// Most items of one BatchWriteItem call.
pub const BATCH_WRITE_MAX: usize = 25;
/// Rounds of resending unprocessed items before giving up.
const UNPROCESSED_ROUNDS: u32 = 10;
/// Most statements of one ExecuteTransaction.
pub const TRANSACTION_MAX: usize = 100;

/// An item: attribute name → attribute value.
pub type Item = Map<String, Json>;

/// An open PartiQL stream (`extension.stream-*`).
pub struct SqlStream {
    pub statement: String,
    pub parameters: Vec<Json>,
    pub next_token: Option<String>,
    pub limit: u32,
    pub columns: Vec<driverbox_guest_sdk::types::Column>,
    /// Items read at open, not handed out yet.
    pub pending: Option<Vec<Item>>,
    pub done: bool,
}

/// An open document cursor (`nosql.cursor-*`): its documents, handed out
/// `batch` at a time.
pub struct DocCursor {
    pub table: String,
    pub filter: bson::Document,
    pub start_key: Option<Json>,
    pub scan_done: bool,
    /// Documents ready (all of them when sorted or aggregated).
    pub ready: std::collections::VecDeque<Vec<u8>>,
    pub batch: usize,
    /// Documents still to skip, and still to give (`None`: all).
    pub skip: u64,
    pub left: Option<u64>,
    pub projection: Option<bson::Document>,
    /// The Query that reads the items (`None`: a Scan).
    pub plan: Option<crate::plan::Plan>,
}

/// One DynamoDB connection.
pub struct Connection {
    pub client: Client,
    /// Key attribute names of each table seen: partition key, then sort key.
    keys: HashMap<String, Vec<String>>,
    /// The keys a Query can use, of each table seen (`plan::key_sets`).
    key_sets: HashMap<String, Vec<crate::plan::KeySet>>,
    pub stream: Option<SqlStream>,
    pub cursor: Option<DocCursor>,
    /// Statements of an open transaction, sent at commit.
    pub transaction: Option<Vec<Json>>,
}

/// The AWS region this connection signs for.
impl Connection {
    /// Reads the settings; no request is sent (`test-connection` sends one).
    pub fn open(config: &ConnectConfig) -> Result<Connection> {
        Ok(Connection {
            client: Client::new(Settings::from_config(config)?),
            keys: HashMap::new(),
            key_sets: HashMap::new(),
            stream: None,
            cursor: None,
            transaction: None,
        })
    }

    pub fn region(&self) -> &str {
        &self.client.settings.region
    }

    pub fn call(&mut self, op: &str, body: Json, idempotent: Idempotent) -> Result<Json> {
        self.client.call(op, &body, idempotent)
    }

    /// Every table name, in the server's (alphabetical) order.
    pub fn list_tables(&mut self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let mut body = json!({"Limit": 100});
            if let Some(s) = &start {
                body["ExclusiveStartTableName"] = json!(s);
            }
            let r = self.call("ListTables", body, Idempotent::Yes)?;
            for n in r.get("TableNames").and_then(|t| t.as_array()).into_iter().flatten() {
                if let Some(n) = n.as_str() {
                    names.push(n.to_string());
                }
            }
            match r.get("LastEvaluatedTableName").and_then(|t| t.as_str()) {
                Some(last) if Some(last) != start.as_deref() => start = Some(last.to_string()),
                _ => return Ok(names),
            }
        }
    }

    /// `DescribeTable`: the `Table` object. Errors: `undefined-object`.
    pub fn describe(&mut self, table: &str) -> Result<Json> {
        check_table(table)?;
        let r = self.call("DescribeTable", json!({"TableName": table}), Idempotent::Yes)?;
        let t = r
            .get("Table")
            .cloned()
            .ok_or_else(|| Error::protocol("DescribeTable gave no Table"))?;
        let keys = key_names(&t);
        if !keys.is_empty() {
            self.keys.insert(table.to_string(), keys);
        }
        self.key_sets.insert(table.to_string(), crate::plan::key_sets(&t));
        Ok(t)
    }

    /// The key attribute names of `table` (partition key first).
    pub fn keys(&mut self, table: &str) -> Result<Vec<String>> {
        if let Some(k) = self.keys.get(table) {
            return Ok(k.clone());
        }
        let t = self.describe(table)?;
        let k = key_names(&t);
        if k.is_empty() {
            return Err(Error::protocol(format!("table {table} has no key schema")));
        }
        Ok(k)
    }

    /// The keys a Query of `table` can use: its primary key, then its
    /// secondary indexes that project all attributes (`plan::key_sets`).
    pub fn key_sets(&mut self, table: &str) -> Result<Vec<crate::plan::KeySet>> {
        if let Some(k) = self.key_sets.get(table) {
            return Ok(k.clone());
        }
        let t = self.describe(table)?;
        Ok(crate::plan::key_sets(&t))
    }

    /// Forgets what is known of `table` (dropped, re-created, indexes changed).
    pub fn forget(&mut self, table: &str) {
        self.keys.remove(table);
        self.key_sets.remove(table);
    }

    /// One page of the items `plan` reads (a Query), or of a Scan when
    /// there is no plan; and where to go on.
    pub fn read_page(
        &mut self,
        table: &str,
        plan: Option<&crate::plan::Plan>,
        start: Option<&Json>,
    ) -> Result<(Vec<Item>, Option<Json>)> {
        let Some(plan) = plan else {
            let (items, _, next) = self.scan_page(table, start, None, false)?;
            return Ok((items, next));
        };
        check_table(table)?;
        let mut r = self.call("Query", plan.request(table, start), Idempotent::Yes)?;
        let next = r.get("LastEvaluatedKey").filter(|k| !k.is_null()).cloned();
        Ok((items_of(&mut r)?, next))
    }

    /// One page of a Scan: the items (or only the count) and where to go on.
    pub fn scan_page(
        &mut self,
        table: &str,
        start: Option<&Json>,
        limit: Option<u32>,
        count_only: bool,
    ) -> Result<(Vec<Item>, u64, Option<Json>)> {
        check_table(table)?;
        let mut body = json!({"TableName": table});
        if let Some(s) = start {
            body["ExclusiveStartKey"] = s.clone();
        }
        if let Some(l) = limit {
            body["Limit"] = json!(l.max(1));
        }
        if count_only {
            body["Select"] = json!("COUNT");
        }
        let mut r = self.call("Scan", body, Idempotent::Yes)?;
        let items = items_of(&mut r)?;
        let count = r.get("Count").and_then(|c| c.as_u64()).unwrap_or(items.len() as u64);
        let next = r.get("LastEvaluatedKey").filter(|k| !k.is_null()).cloned();
        Ok((items, count, next))
    }

    /// Every item of `table`, page by page.
    pub fn scan_all(&mut self, table: &str, mut each: impl FnMut(Item) -> Result<bool>) -> Result<()> {
        let mut start = None;
        loop {
            let (items, _, next) = self.scan_page(table, start.as_ref(), None, false)?;
            for item in items {
                if !each(item)? {
                    return Ok(());
                }
            }
            match next {
                Some(n) => start = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// One ExecuteStatement call: its items and the token of the next page.
    pub fn statement_page(
        &mut self,
        statement: &str,
        parameters: &[Json],
        next_token: Option<&str>,
        limit: Option<u32>,
    ) -> Result<(Vec<Item>, Option<String>)> {
        let mut body = json!({"Statement": statement});
        if !parameters.is_empty() {
            body["Parameters"] = Json::Array(parameters.to_vec());
        }
        if let Some(t) = next_token {
            body["NextToken"] = json!(t);
        }
        if let Some(l) = limit {
            body["Limit"] = json!(l.max(1));
        }
        let idempotent = if is_select(statement) {
            Idempotent::Yes
        } else {
            Idempotent::No
        };
        let mut r = self.call("ExecuteStatement", body, idempotent)?;
        let next = r
            .get("NextToken")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(String::from);
        Ok((items_of(&mut r)?, next))
    }

    /// Puts and deletes in BatchWriteItem calls of 25, unprocessed items
    /// sent again with backoff. Gives the number of requests done.
    pub fn batch_write(&mut self, table: &str, requests: Vec<Json>) -> Result<u64> {
        check_table(table)?;
        let mut done = 0u64;
        let mut requests = requests.into_iter();
        loop {
            // Each request moves into the body it is sent in: no copy per item.
            let mut pending: Vec<Json> = requests.by_ref().take(BATCH_WRITE_MAX).collect();
            if pending.is_empty() {
                break;
            }
            let mut round = 0;
            while !pending.is_empty() {
                let sent = pending.len() as u64;
                let body = object1("RequestItems", object1(table, Json::Array(pending)));
                let mut r = match self.call("BatchWriteItem", body, Idempotent::No) {
                    Ok(r) => r,
                    Err(Error::Server(mut e)) => {
                        e.context = Some(format!("{done} items were written before the failing batch"));
                        return Err(Error::Server(e));
                    }
                    Err(e) => return Err(e),
                };
                pending = match r
                    .get_mut("UnprocessedItems")
                    .and_then(|u| u.get_mut(table))
                    .map(Json::take)
                {
                    Some(Json::Array(unprocessed)) => unprocessed,
                    _ => Vec::new(),
                };
                done += sent - pending.len() as u64;
                if !pending.is_empty() {
                    if round >= UNPROCESSED_ROUNDS {
                        return Err(driverbox_guest_sdk::client_error(
                            driverbox_guest_sdk::ErrorKind::TransactionConflict,
                            format!(
                                "{} items stayed unprocessed after {UNPROCESSED_ROUNDS} retries (throughput exceeded); {done} were written",
                                pending.len()
                            ),
                        ));
                    }
                    backoff(round);
                    round += 1;
                }
            }
        }
        Ok(done)
    }

    /// The key of `item` (its key attributes only).
    pub fn key_of(&mut self, table: &str, item: &Item) -> Result<Item> {
        let keys = self.keys(table)?;
        let mut key = Map::new();
        for k in keys {
            let v = item
                .get(&k)
                .ok_or_else(|| Error::invalid(format!("the item has no key attribute {k:?} of table {table}")))?;
            key.insert(k, v.clone());
        }
        Ok(key)
    }
}

/// The key attribute names of a `Table` description, partition key first.
pub fn key_names(table: &Json) -> Vec<String> {
    key_schema(table.get("KeySchema"))
}

/// Names of a `KeySchema` list, HASH first.
pub fn key_schema(schema: Option<&Json>) -> Vec<String> {
    let mut out: Vec<(u8, String)> = schema
        .and_then(|k| k.as_array())
        .into_iter()
        .flatten()
        .filter_map(|k| {
            let name = k.get("AttributeName")?.as_str()?.to_string();
            let rank = if k.get("KeyType")?.as_str()? == "HASH" { 0 } else { 1 };
            Some((rank, name))
        })
        .collect();
    out.sort_by_key(|(r, _)| *r);
    out.into_iter().map(|(_, n)| n).collect()
}

/// `{key: value}`, the value moved in: `json!` would serialise a `Value`
/// argument into a copy, item by item on the bulk paths.
pub fn object1(key: &str, value: Json) -> Json {
    Json::Object(Map::from_iter([(key.to_string(), value)]))
}

/// The `Items` of an answer (moved out of it).
pub fn items_of(r: &mut Json) -> Result<Vec<Item>> {
    let Some(items) = r.get_mut("Items").map(Json::take) else {
        return Ok(Vec::new());
    };
    let Json::Array(items) = items else {
        return Err(Error::protocol("Items is not a list"));
    };
    items
        .into_iter()
        .map(|i| match i {
            Json::Object(item) => Ok(item),
            _ => Err(Error::protocol("an item is not an object")),
        })
        .collect()
}

/// Whether a PartiQL statement only reads.
pub fn is_select(statement: &str) -> bool {
    let s = statement.trim_start();
    s.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("select"))
}

/// Checks a table name as DynamoDB allows them (3-255 of `a-zA-Z0-9_.-`).
/// Errors: `invalid-input`.
pub fn check_table(name: &str) -> Result<()> {
    if name.len() < 3 || name.len() > 255 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
        return Err(Error::invalid(format!(
            "bad table name {name:?}: 3 to 255 characters of a-z, A-Z, 0-9, _, - and ."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names() {
        let t = json!({"KeySchema": [{"AttributeName": "sk", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "HASH"}]});
        assert_eq!(key_names(&t), ["pk", "sk"]);
        assert!(check_table("users").is_ok());
        assert!(check_table("ab").is_err());
        assert!(check_table("a b c").is_err());
        assert!(is_select("  select * from t"));
        assert!(!is_select("insert into t value {'a': 1}"));
    }
}
