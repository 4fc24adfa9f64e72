//! `nosql`: tables as collections, items as BSON documents (types kept,
//! see `item`). Filters, sorts, projections and updates are MongoDB's
//! query language, evaluated by the driver (`filter`) over the items of a
//! GetItem when the filter names the whole key, of a Query when it fixes
//! the partition key of the table or of a secondary index (`plan`), else
//! of a Scan. Inserts go in
//! BatchWriteItem calls of 25 (an item with the key of an existing one
//! replaces it, as PutItem does); updates are UpdateItem calls of the
//! changed attributes, guarded by the key existing; deletes are
//! DeleteItem/BatchWriteItem. Secondary indexes are GSIs (UpdateTable).

use std::collections::VecDeque;

use bson::{doc, Bson, Document};
use driverbox_guest_sdk::types::{CollectionInfo, CountResult, CursorRequest, DatabaseInfo, FindOptions, UpdateResult};
use driverbox_guest_sdk::{Error, ErrorKind, NoSqlOperations, Result};
use serde_json::{json, Map, Value as Json};

use crate::client::Idempotent;
use crate::connection::{check_table, key_names, object1, Connection, DocCursor};
use crate::filter;
use crate::item;

/// How long to wait for a table to become ACTIVE or to go away.
const TABLE_WAIT_SECONDS: u64 = 120;

/// 32 random hex digits (ClientRequestToken).
pub fn random_token() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = n.to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One BSON document from the caller. Errors: `invalid-input`.
fn document(bytes: &[u8], what: &str) -> Result<Document> {
    Document::from_reader(bytes).map_err(|e| Error::invalid(format!("the {what} is not a valid BSON document: {e}")))
}

/// Documents back to back from the caller, each checked.
fn documents(bytes: &[u8], what: &str) -> Result<Vec<Document>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 5 {
            return Err(Error::invalid(format!("{what}: truncated BSON document")));
        }
        let n = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n >= 5 && *n <= rest.len())
            .ok_or_else(|| Error::invalid(format!("{what}: bad BSON document length")))?;
        out.push(document(&rest[..n], what)?);
        at += n;
    }
    Ok(out)
}

fn encode(d: &Document) -> Result<Vec<u8>> {
    d.to_vec()
        .map_err(|e| Error::protocol(format!("cannot encode a document: {e}")))
}

/// JSON (an AWS answer) as BSON: integers as Int64 (Int32 when they fit).
pub fn json_to_bson(j: &Json) -> Bson {
    match j {
        Json::Null => Bson::Null,
        Json::Bool(b) => Bson::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i)),
            None => Bson::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Bson::String(s.clone()),
        Json::Array(a) => Bson::Array(a.iter().map(json_to_bson).collect()),
        Json::Object(o) => Bson::Document(o.iter().map(|(k, v)| (k.clone(), json_to_bson(v))).collect()),
    }
}

/// BSON (a command) as JSON. Errors: `invalid-input` for types JSON lacks.
pub fn bson_to_json(b: &Bson) -> Result<Json> {
    Ok(match b {
        Bson::Null => Json::Null,
        Bson::Boolean(x) => json!(x),
        Bson::Int32(n) => json!(n),
        Bson::Int64(n) => json!(n),
        Bson::Double(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| Error::invalid("a command holds a non-finite number"))?,
        Bson::String(s) => json!(s),
        Bson::Array(a) => Json::Array(a.iter().map(bson_to_json).collect::<Result<_>>()?),
        Bson::Document(d) => Json::Object(
            d.iter()
                .map(|(k, v)| Ok((k.clone(), bson_to_json(v)?)))
                .collect::<Result<Map<_, _>>>()?,
        ),
        other => {
            return Err(Error::invalid(format!(
                "a command holds BSON {:?}, which has no JSON form",
                other.element_type()
            )))
        }
    })
}

fn is_missing_table(e: &Error) -> bool {
    matches!(e, Error::Server(s) if s.code == "ResourceNotFoundException")
}

/// The primary key index as a document, as listIndexes shows it.
fn index_doc(name: &str, keys: &[String], unique: bool, kind: &str, projection: Option<&Json>) -> Document {
    let mut key = Document::new();
    for k in keys {
        key.insert(k.clone(), 1);
    }
    let mut d = doc! {"v": 2, "key": key, "name": name, "type": kind};
    if unique {
        d.insert("unique", true);
    }
    if let Some(p) = projection {
        d.insert("projection", json_to_bson(p));
    }
    d
}

impl Connection {
    /// The documents of `table` matching `filter`: a GetItem when the
    /// filter is exactly the key, a Query when it fixes the partition key
    /// of the table or of an index (`plan`), else a Scan; the filter is
    /// checked here on every item read. `stop`: at most this many.
    fn matching(&mut self, table: &str, filter: &Document, stop: Option<u64>) -> Result<Vec<Document>> {
        filter::check(filter)?;
        let keys = self.keys(table)?;
        let eq = filter::equalities(filter);
        if eq.len() == filter.len() && eq.len() == keys.len() && keys.iter().all(|k| eq.contains_key(k)) {
            let key = item::document_to_item(&eq)?;
            let r = self.call(
                "GetItem",
                json!({"TableName": table, "Key": key, "ConsistentRead": true}),
                Idempotent::Yes,
            );
            let r = match r {
                Ok(r) => r,
                // A key of the wrong type matches nothing.
                Err(Error::Server(s)) if s.code == "ValidationException" => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            return match r.get("Item").and_then(|i| i.as_object()) {
                Some(it) => Ok(vec![item::item_to_document(it)?]),
                None => Ok(Vec::new()),
            };
        }
        let plan = crate::plan::plan(filter, &self.key_sets(table)?);
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.read_page(table, plan.as_ref(), start.as_ref())?;
            for it in items {
                let d = item::item_to_document(&it)?;
                if filter::matches(&d, filter)? {
                    out.push(d);
                    if stop.is_some_and(|n| out.len() as u64 >= n) {
                        return Ok(out);
                    }
                }
            }
            match next {
                Some(n) => start = Some(n),
                None => return Ok(out),
            }
        }
    }

    fn find_docs(&mut self, table: &str, filter: &Document, options: &FindOptions) -> Result<Vec<Document>> {
        check_table(table)?;
        let sort = options.sort.as_deref().map(|s| document(s, "sort")).transpose()?;
        let projection = options
            .projection
            .as_deref()
            .map(|p| document(p, "projection"))
            .transpose()?;
        let stop = match (&sort, options.limit) {
            (None, Some(l)) if l > 0 => Some(l.saturating_add(options.skip.unwrap_or(0))),
            _ => None,
        };
        let mut docs = self.matching(table, filter, stop)?;
        if let Some(s) = &sort {
            filter::sort(&mut docs, s)?;
        }
        let skip = options.skip.unwrap_or(0).min(docs.len() as u64) as usize;
        let mut docs: Vec<Document> = docs.into_iter().skip(skip).collect();
        if let Some(l) = options.limit.filter(|l| *l > 0) {
            docs.truncate(l.min(usize::MAX as u64) as usize);
        }
        if let Some(p) = &projection {
            docs = docs.iter().map(|d| filter::project(d, p)).collect::<Result<_>>()?;
        }
        Ok(docs)
    }

    /// Writes the changes from `old` to `new` with UpdateItem, only if the
    /// item still exists: nested changes as paths (`SET #u0.#u1 = :u0`,
    /// `REMOVE #u0[2].#u3`), so attributes beside them are not rewritten.
    /// Key attributes cannot change.
    fn write_changes(&mut self, table: &str, keys: &[String], old: &Document, new: &Document) -> Result<()> {
        for k in keys {
            if new.get(k) != old.get(k) {
                return Err(Error::invalid(format!(
                    "an update cannot change key attribute {k} of table {table}"
                )));
            }
        }
        let mut u = UpdateExpr::default();
        let key_free = |d: &Document| -> Document {
            d.iter()
                .filter(|(k, _)| !keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        u.diff_documents(&[], &key_free(old), &key_free(new))?;
        let mut expr = String::new();
        if !u.sets.is_empty() {
            expr += &format!("SET {}", u.sets.join(", "));
        }
        if !u.removes.is_empty() {
            expr += &format!(" REMOVE {}", u.removes.join(", "));
        }
        let (mut names, values) = (u.names, u.values);
        names.insert("#k".into(), json!(keys[0]));
        let key = item::document_to_item(
            &keys
                .iter()
                .filter_map(|k| Some((k.clone(), old.get(k)?.clone())))
                .collect(),
        )?;
        let mut body = json!({
            "TableName": table,
            "Key": key,
            "UpdateExpression": expr.trim(),
            "ConditionExpression": "attribute_exists(#k)",
            "ExpressionAttributeNames": names,
        });
        if !values.is_empty() {
            body["ExpressionAttributeValues"] = Json::Object(values);
        }
        self.call("UpdateItem", body, Idempotent::Yes).map(|_| ())
    }

    /// Waits until `table` is ACTIVE (`gone`: until it does not exist).
    fn wait_for(&mut self, table: &str, gone: bool) -> Result<()> {
        let start = std::time::Instant::now();
        let mut round = 0;
        loop {
            match self.describe(table) {
                Ok(t) if !gone && t.get("TableStatus").and_then(|s| s.as_str()) == Some("ACTIVE") => return Ok(()),
                Err(e) if gone && is_missing_table(&e) => return Ok(()),
                Err(e) if !gone => return Err(e),
                _ => {}
            }
            if start.elapsed().as_secs() > TABLE_WAIT_SECONDS {
                return Err(driverbox_guest_sdk::client_error(
                    ErrorKind::Timeout,
                    format!(
                        "table {table} did not {} within {TABLE_WAIT_SECONDS} s",
                        if gone { "go away" } else { "become ACTIVE" }
                    ),
                ));
            }
            crate::client::backoff(round.min(4));
            round += 1;
        }
    }

    fn aggregate_docs(&mut self, table: &str, pipeline: &[Document]) -> Result<Vec<Document>> {
        let mut docs = self.matching(table, &Document::new(), None)?;
        for stage in pipeline {
            let Some((op, arg)) = stage.iter().next().filter(|_| stage.len() == 1) else {
                return Err(Error::invalid("a pipeline stage is a document with one operator"));
            };
            let arg_doc = || match arg {
                Bson::Document(d) => Ok(d.clone()),
                _ => Err(Error::invalid(format!("{op} takes a document"))),
            };
            let n = || match arg {
                Bson::Int32(n) if *n >= 0 => Ok(*n as usize),
                Bson::Int64(n) if *n >= 0 => Ok(*n as usize),
                _ => Err(Error::invalid(format!("{op} takes a non-negative integer"))),
            };
            docs = match op.as_str() {
                "$match" => {
                    let f = arg_doc()?;
                    let mut kept = Vec::new();
                    for d in docs {
                        if filter::matches(&d, &f)? {
                            kept.push(d);
                        }
                    }
                    kept
                }
                "$sort" => {
                    filter::sort(&mut docs, &arg_doc()?)?;
                    docs
                }
                "$skip" => docs.into_iter().skip(n()?).collect(),
                "$limit" => docs.into_iter().take(n()?).collect(),
                "$project" => {
                    let p = arg_doc()?;
                    docs.iter().map(|d| filter::project(d, &p)).collect::<Result<_>>()?
                }
                "$count" => {
                    let Bson::String(name) = arg else {
                        return Err(Error::invalid("$count takes a field name"));
                    };
                    vec![doc! {name: docs.len() as i64}]
                }
                "$group" => group(&docs, &arg_doc()?)?,
                other => {
                    return Err(Error::unsupported(format!(
                        "pipeline stage {other}: the DynamoDB driver evaluates $match, $sort, $skip, $limit, $project, $count and $group"
                    )))
                }
            };
        }
        Ok(docs)
    }
}

/// One step of an attribute path: a map key or a list index.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The SET and REMOVE clauses of an UpdateItem being built, with a name
/// placeholder for every path segment (reserved words, dots and any
/// character are safe that way).
#[derive(Default)]
struct UpdateExpr {
    sets: Vec<String>,
    removes: Vec<String>,
    names: Map<String, Json>,
    values: Map<String, Json>,
}

impl UpdateExpr {
    fn path(&mut self, steps: &[Step]) -> String {
        let mut out = String::new();
        for s in steps {
            match s {
                Step::Key(k) => {
                    let existing = self
                        .names
                        .iter()
                        .find(|(_, v)| v.as_str() == Some(k))
                        .map(|(n, _)| n.clone());
                    let n = existing.unwrap_or_else(|| {
                        let n = format!("#u{}", self.names.len());
                        self.names.insert(n.clone(), json!(k));
                        n
                    });
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&n);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn set(&mut self, steps: &[Step], v: &Bson) -> Result<()> {
        let what = self.path(steps);
        let value = item::from_bson(v, &what)?;
        let placeholder = format!(":u{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        self.sets.push(format!("{what} = {placeholder}"));
        Ok(())
    }

    /// The changes of a map: nested maps and same-length lists compared
    /// inside, anything else set whole.
    fn diff_documents(&mut self, at: &[Step], old: &Document, new: &Document) -> Result<()> {
        for (k, v) in new {
            let mut here = at.to_vec();
            here.push(Step::Key(k.clone()));
            match old.get(k) {
                Some(o) => self.diff(&here, o, v)?,
                None => self.set(&here, v)?,
            }
        }
        for k in old.keys() {
            if !new.contains_key(k) {
                let mut here = at.to_vec();
                here.push(Step::Key(k.clone()));
                let p = self.path(&here);
                self.removes.push(p);
            }
        }
        Ok(())
    }

    fn diff(&mut self, at: &[Step], old: &Bson, new: &Bson) -> Result<()> {
        if old == new {
            return Ok(());
        }
        match (old, new) {
            // A set (`{"$SS": […]}`) is one value, not a map.
            (Bson::Document(o), Bson::Document(n)) if !item::is_set(o) && !item::is_set(n) => {
                self.diff_documents(at, o, n)
            }
            (Bson::Array(o), Bson::Array(n)) if o.len() == n.len() => {
                for (i, (x, y)) in o.iter().zip(n).enumerate() {
                    let mut here = at.to_vec();
                    here.push(Step::Index(i));
                    self.diff(&here, x, y)?;
                }
                Ok(())
            }
            _ => self.set(at, new),
        }
    }
}

/// The value of an expression (`"$field"` or a literal) in a document.
fn expr_value(d: &Document, e: &Bson) -> Bson {
    match e {
        Bson::String(s) if s.starts_with('$') => filter::get_path(d, &s[1..]).cloned().unwrap_or(Bson::Null),
        other => other.clone(),
    }
}

fn add(a: &Bson, b: &Bson) -> Bson {
    match (a, b) {
        (Bson::Int32(x), Bson::Int32(y)) => x
            .checked_add(*y)
            .map(Bson::Int32)
            .unwrap_or(Bson::Int64(*x as i64 + *y as i64)),
        (Bson::Int32(_) | Bson::Int64(_), Bson::Int32(_) | Bson::Int64(_)) => {
            let x = if let Bson::Int32(x) = a {
                *x as i64
            } else if let Bson::Int64(x) = a {
                *x
            } else {
                0
            };
            let y = if let Bson::Int32(y) = b {
                *y as i64
            } else if let Bson::Int64(y) = b {
                *y
            } else {
                0
            };
            x.checked_add(y)
                .map(Bson::Int64)
                .unwrap_or(Bson::Double(x as f64 + y as f64))
        }
        _ => {
            let f = |v: &Bson| match v {
                Bson::Int32(n) => Some(*n as f64),
                Bson::Int64(n) => Some(*n as f64),
                Bson::Double(x) => Some(*x),
                Bson::Decimal128(d) => d.to_string().parse().ok(),
                _ => None,
            };
            match (f(a), f(b)) {
                (Some(x), Some(y)) => Bson::Double(x + y),
                (Some(_), None) => a.clone(),
                _ => b.clone(),
            }
        }
    }
}

/// `$group` with `$sum`, `$min`, `$max`, `$first`, `$last`, `$avg`, `$count`.
fn group(docs: &[Document], spec: &Document) -> Result<Vec<Document>> {
    let id = spec.get("_id").ok_or_else(|| Error::invalid("$group needs an _id"))?;
    let mut groups: Vec<(Bson, Document, Vec<u64>)> = Vec::new();
    for d in docs {
        let key = match id {
            Bson::Document(fields) => {
                Bson::Document(fields.iter().map(|(k, e)| (k.clone(), expr_value(d, e))).collect())
            }
            e => expr_value(d, e),
        };
        let at = match groups.iter().position(|(k, _, _)| filter::compare(k, &key).is_eq()) {
            Some(i) => i,
            None => {
                groups.push((key.clone(), doc! {"_id": key}, vec![0; spec.len()]));
                groups.len() - 1
            }
        };
        let (_, out, counts) = &mut groups[at];
        for (i, (field, acc)) in spec.iter().enumerate().filter(|(_, (f, _))| *f != "_id") {
            let Bson::Document(acc) = acc else {
                return Err(Error::invalid(format!("$group field {field} takes an accumulator")));
            };
            let Some((op, e)) = acc.iter().next() else {
                return Err(Error::invalid(format!("$group field {field} takes an accumulator")));
            };
            let v = expr_value(d, e);
            let cur = out.get(field).cloned();
            let next = match op.as_str() {
                "$sum" => add(
                    &cur.unwrap_or(Bson::Int32(0)),
                    if matches!(
                        v,
                        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
                    ) {
                        &v
                    } else {
                        &Bson::Int32(0)
                    },
                ),
                "$count" => add(&cur.unwrap_or(Bson::Int32(0)), &Bson::Int32(1)),
                "$min" => match cur {
                    Some(c) if v == Bson::Null || filter::compare(&c, &v).is_le() => c,
                    _ => v,
                },
                "$max" => match cur {
                    Some(c) if filter::compare(&c, &v).is_ge() => c,
                    _ => v,
                },
                "$first" => cur.unwrap_or(v),
                "$last" => v,
                "$avg" => {
                    counts[i] += 1;
                    add(&cur.unwrap_or(Bson::Int32(0)), &v)
                }
                other => return Err(Error::unsupported(format!("accumulator {other} is not supported"))),
            };
            out.insert(field.clone(), next);
        }
    }
    let mut result = Vec::new();
    for (_, mut out, counts) in groups {
        for (i, (field, acc)) in spec.iter().enumerate() {
            if let Bson::Document(acc) = acc {
                if acc.contains_key("$avg") && counts[i] > 0 {
                    let total = match out.get(field) {
                        Some(Bson::Int32(n)) => *n as f64,
                        Some(Bson::Int64(n)) => *n as f64,
                        Some(Bson::Double(x)) => *x,
                        _ => 0.0,
                    };
                    out.insert(field.clone(), total / counts[i] as f64);
                }
            }
        }
        result.push(out);
    }
    Ok(result)
}

impl NoSqlOperations for Connection {
    fn list_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        Ok(vec![DatabaseInfo {
            name: self.region().to_string(),
            owner: None,
            encoding: None,
            size_bytes: None,
        }])
    }

    fn list_collections(&mut self, database: Option<String>) -> Result<Vec<CollectionInfo>> {
        if database.is_some_and(|d| d != self.region()) {
            return Ok(Vec::new());
        }
        Ok(self
            .list_tables()?
            .into_iter()
            .map(|name| CollectionInfo {
                name,
                kind: "collection".into(),
            })
            .collect())
    }

    fn get_collection_data(&mut self, collection: String, limit: u64, offset: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for it in self.scan_window(&collection, limit, offset)? {
            out.extend(encode(&item::item_to_document(&it)?)?);
        }
        Ok(out)
    }

    fn count(&mut self, collection: String, filter: Option<Vec<u8>>) -> Result<CountResult> {
        check_table(&collection)?;
        let filter = filter.as_deref().map(|f| document(f, "filter")).transpose()?;
        let result = match &filter {
            None => self.count_items(&collection),
            Some(f) if f.is_empty() => self.count_items(&collection),
            Some(f) => self.matching(&collection, f, None).map(|d| d.len() as u64),
        };
        let count = match result {
            Ok(n) => n,
            Err(e) if is_missing_table(&e) => 0,
            Err(e) => return Err(e),
        };
        Ok(CountResult {
            count,
            estimated: false,
        })
    }

    fn find(&mut self, collection: String, filter: Vec<u8>, options: FindOptions) -> Result<Vec<u8>> {
        let filter = document(&filter, "filter")?;
        let mut out = Vec::new();
        for d in self.find_docs(&collection, &filter, &options)? {
            out.extend(encode(&d)?);
        }
        Ok(out)
    }

    fn insert(&mut self, collection: String, documents_bytes: Vec<u8>, _ordered: bool) -> Result<u64> {
        check_table(&collection)?;
        let docs = documents(&documents_bytes, "documents")?;
        let mut requests = Vec::with_capacity(docs.len());
        for d in &docs {
            let item = Json::Object(item::document_to_item(d)?);
            requests.push(object1("PutRequest", object1("Item", item)));
        }
        self.batch_write(&collection, requests)
    }

    fn update(
        &mut self,
        collection: String,
        filter: Vec<u8>,
        update: Vec<u8>,
        many: bool,
        upsert: bool,
    ) -> Result<UpdateResult> {
        check_table(&collection)?;
        let filter = document(&filter, "filter")?;
        let update = document(&update, "update")?;
        let keys = self.keys(&collection)?;
        let matched = self.matching(&collection, &filter, if many { None } else { Some(1) })?;
        if matched.is_empty() {
            if !upsert {
                return Ok(UpdateResult {
                    matched: 0,
                    modified: 0,
                    upserted_id: None,
                });
            }
            let base = filter::equalities(&filter);
            let mut new = filter::apply_update(&base, &update)?;
            for k in &keys {
                if !new.contains_key(k) {
                    match base.get(k) {
                        Some(v) => {
                            new.insert(k.clone(), v.clone());
                        }
                        None => {
                            return Err(Error::invalid(format!(
                                "an upsert needs the key attribute {k} in the filter or the update"
                            )))
                        }
                    }
                }
            }
            let id: Document = keys
                .iter()
                .filter_map(|k| Some((k.clone(), new.get(k)?.clone())))
                .collect();
            self.call(
                "PutItem",
                json!({
                    "TableName": &collection,
                    "Item": item::document_to_item(&new)?,
                    "ConditionExpression": "attribute_not_exists(#k)",
                    "ExpressionAttributeNames": {"#k": &keys[0]},
                }),
                Idempotent::Yes,
            )?;
            return Ok(UpdateResult {
                matched: 0,
                modified: 0,
                upserted_id: Some(encode(&id)?),
            });
        }
        let mut modified = 0;
        for old in &matched {
            let mut new = filter::apply_update(old, &update)?;
            if !filter::operators_in(&update) {
                // A replacement keeps the key.
                for k in &keys {
                    if let Some(v) = old.get(k) {
                        if !new.contains_key(k) {
                            new.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            if &new == old {
                continue;
            }
            self.write_changes(&collection, &keys, old, &new)?;
            modified += 1;
        }
        Ok(UpdateResult {
            matched: matched.len() as u64,
            modified,
            upserted_id: None,
        })
    }

    fn delete(&mut self, collection: String, filter: Vec<u8>, many: bool) -> Result<u64> {
        check_table(&collection)?;
        let filter = document(&filter, "filter")?;
        let matched = self.matching(&collection, &filter, if many { None } else { Some(1) })?;
        let mut requests = Vec::with_capacity(matched.len());
        for d in &matched {
            let it = item::document_to_item(d)?;
            let key = self.key_of(&collection, &it)?;
            requests.push(json!({"DeleteRequest": {"Key": key}}));
        }
        if requests.len() == 1 {
            let key = requests[0]["DeleteRequest"]["Key"].clone();
            self.call(
                "DeleteItem",
                json!({"TableName": &collection, "Key": key}),
                Idempotent::Yes,
            )?;
            return Ok(1);
        }
        self.batch_write(&collection, requests)
    }

    fn aggregate(&mut self, collection: String, pipeline: Vec<u8>) -> Result<Vec<u8>> {
        check_table(&collection)?;
        let stages = documents(&pipeline, "pipeline")?;
        let mut out = Vec::new();
        for d in self.aggregate_docs(&collection, &stages)? {
            out.extend(encode(&d)?);
        }
        Ok(out)
    }

    fn cursor_open(&mut self, collection: String, request: CursorRequest, batch_size: u32) -> Result<()> {
        if self.cursor.is_some() {
            return Err(Error::invalid("a cursor is open already on this connection"));
        }
        check_table(&collection)?;
        let batch = batch_size.max(1) as usize;
        let mut cursor = DocCursor {
            table: collection.clone(),
            filter: Document::new(),
            start_key: None,
            scan_done: true,
            ready: VecDeque::new(),
            batch,
            skip: 0,
            left: None,
            projection: None,
            plan: None,
        };
        match &request {
            CursorRequest::Find((filter, options)) if options.sort.is_none() => {
                // Read lazily, one Scan page at a time.
                let f = document(filter, "filter")?;
                filter::check(&f)?;
                cursor.plan = crate::plan::plan(&f, &self.key_sets(&collection)?);
                cursor.filter = f;
                cursor.scan_done = false;
                cursor.skip = options.skip.unwrap_or(0);
                cursor.left = options.limit.filter(|l| *l > 0);
                cursor.projection = options
                    .projection
                    .as_deref()
                    .map(|p| document(p, "projection"))
                    .transpose()?;
            }
            CursorRequest::Find((filter, options)) => {
                let f = document(filter, "filter")?;
                for d in self.find_docs(&collection, &f, options)? {
                    cursor.ready.push_back(encode(&d)?);
                }
            }
            CursorRequest::Aggregate(pipeline) => {
                let stages = documents(pipeline, "pipeline")?;
                for d in self.aggregate_docs(&collection, &stages)? {
                    cursor.ready.push_back(encode(&d)?);
                }
            }
        }
        self.cursor = Some(cursor);
        Ok(())
    }

    fn cursor_next(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let Some(c) = self.cursor.as_mut() else {
                return Err(Error::invalid("no cursor is open"));
            };
            let finished = c.scan_done || c.left == Some(0);
            if c.ready.len() >= c.batch || (finished && !c.ready.is_empty()) {
                let n = c.batch.min(c.ready.len());
                let mut out = Vec::with_capacity(c.ready.iter().take(n).map(Vec::len).sum());
                for d in c.ready.drain(..n) {
                    out.extend_from_slice(&d);
                }
                return Ok(Some(out));
            }
            if finished {
                self.cursor = None;
                return Ok(None);
            }
            let (table, start, plan) = (c.table.clone(), c.start_key.clone(), c.plan.clone());
            let page = self.read_page(&table, plan.as_ref(), start.as_ref());
            let (items, next) = match page {
                Ok(p) => p,
                Err(e) => {
                    self.cursor = None;
                    return Err(e);
                }
            };
            let Some(c) = self.cursor.as_mut() else { continue };
            c.scan_done = next.is_none();
            c.start_key = next;
            for it in items {
                let d = item::item_to_document(&it)?;
                if c.left == Some(0) || !filter::matches(&d, &c.filter)? {
                    continue;
                }
                if c.skip > 0 {
                    c.skip -= 1;
                    continue;
                }
                let d = match &c.projection {
                    Some(p) => filter::project(&d, p)?,
                    None => d,
                };
                c.ready.push_back(encode(&d)?);
                if let Some(l) = c.left.as_mut() {
                    *l -= 1;
                }
            }
        }
    }

    fn cursor_close(&mut self) -> Result<()> {
        self.cursor = None;
        Ok(())
    }

    fn list_indexes(&mut self, collection: String) -> Result<Vec<u8>> {
        let t = self.describe(&collection)?;
        let mut out = encode(&index_doc("PRIMARY", &key_names(&t), true, "primary", None))?;
        for (name, kind, keys, projection) in crate::schema::secondary_indexes(&t) {
            out.extend(encode(&index_doc(&name, &keys, false, kind, Some(&projection)))?);
        }
        Ok(out)
    }

    /// A GSI on `keys` (`{hash: 1}` or `{hash: 1, range: 1}`), projecting
    /// all attributes. `options`: `name`, and `types` (`{attr: "S"|"N"|"B"}`,
    /// default `S`). DynamoDB has no unique secondary indexes.
    fn create_index(&mut self, collection: String, keys: Vec<u8>, options: Vec<u8>) -> Result<String> {
        check_table(&collection)?;
        let keys = document(&keys, "index keys")?;
        if keys.is_empty() || keys.len() > 2 {
            return Err(Error::invalid(
                "a DynamoDB index has a partition key and at most one sort key",
            ));
        }
        let options = if options.is_empty() {
            Document::new()
        } else {
            document(&options, "index options")?
        };
        if options.get_bool("unique").unwrap_or(false) {
            return Err(Error::unsupported("DynamoDB has no unique secondary indexes"));
        }
        let name = match options.get_str("name") {
            Ok(n) => n.to_string(),
            Err(_) => keys
                .iter()
                .map(|(k, v)| format!("{k}_{}", filter::direction_text(v)))
                .collect::<Vec<_>>()
                .join("_"),
        };
        let types = options.get_document("types").ok();
        let mut schema = Vec::new();
        let mut definitions = Vec::new();
        for (i, (k, _)) in keys.iter().enumerate() {
            let t = types.and_then(|t| t.get_str(k).ok()).unwrap_or("S");
            if !matches!(t, "S" | "N" | "B") {
                return Err(Error::invalid(format!("index key type of {k} must be S, N or B")));
            }
            schema.push(json!({"AttributeName": k, "KeyType": if i == 0 { "HASH" } else { "RANGE" }}));
            definitions.push(json!({"AttributeName": k, "AttributeType": t}));
        }
        self.call(
            "UpdateTable",
            json!({
                "TableName": &collection,
                "AttributeDefinitions": definitions,
                "GlobalSecondaryIndexUpdates": [{"Create": {
                    "IndexName": &name,
                    "KeySchema": schema,
                    "Projection": {"ProjectionType": "ALL"},
                }}],
            }),
            Idempotent::No,
        )?;
        self.forget(&collection);
        Ok(name)
    }

    fn drop_index(&mut self, collection: String, name: String) -> Result<()> {
        let t = self.describe(&collection)?;
        if !crate::schema::secondary_indexes(&t)
            .iter()
            .any(|(n, kind, _, _)| n == &name && *kind == "GSI")
        {
            return Err(driverbox_guest_sdk::client_error(
                ErrorKind::UndefinedObject,
                format!("table {collection} has no global secondary index {name}"),
            ));
        }
        self.forget(&collection);
        self.call(
            "UpdateTable",
            json!({"TableName": &collection, "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": &name}}]}),
            Idempotent::No,
        )
        .map(|_| ())
    }

    /// The table's description (DescribeTable) as a document.
    fn collection_stats(&mut self, collection: String) -> Result<Vec<u8>> {
        let t = self.describe(&collection)?;
        match json_to_bson(&t) {
            Bson::Document(d) => encode(&d),
            _ => Err(Error::protocol("DescribeTable gave no object")),
        }
    }

    /// Creates a table, on-demand billing. `options`: `key`, the key
    /// attributes and their types in order (`{"pk": "S", "sk": "N"}`;
    /// default `{"_id": "S"}`); any other field is passed to CreateTable
    /// as is (`BillingMode`, `ProvisionedThroughput` …). Waits until ACTIVE.
    fn create_collection(&mut self, name: String, options: Vec<u8>) -> Result<()> {
        check_table(&name)?;
        let mut options = if options.is_empty() {
            Document::new()
        } else {
            document(&options, "collection options")?
        };
        let key = match options.remove("key") {
            Some(Bson::Document(k)) => k,
            Some(_) => {
                return Err(Error::invalid(
                    "option key takes a document {attribute: \"S\"|\"N\"|\"B\"}",
                ))
            }
            None => doc! {"_id": "S"},
        };
        if key.is_empty() || key.len() > 2 {
            return Err(Error::invalid(
                "a table key has a partition key and at most one sort key",
            ));
        }
        let mut schema = Vec::new();
        let mut definitions = Vec::new();
        for (i, (k, t)) in key.iter().enumerate() {
            let t = t
                .as_str()
                .filter(|t| matches!(*t, "S" | "N" | "B"))
                .ok_or_else(|| Error::invalid(format!("key attribute {k} must have type \"S\", \"N\" or \"B\"")))?;
            schema.push(json!({"AttributeName": k, "KeyType": if i == 0 { "HASH" } else { "RANGE" }}));
            definitions.push(json!({"AttributeName": k, "AttributeType": t}));
        }
        let mut body = json!({
            "TableName": &name,
            "KeySchema": schema,
            "AttributeDefinitions": definitions,
            "BillingMode": "PAY_PER_REQUEST",
        });
        for (k, v) in &options {
            body[k] = bson_to_json(v)?;
        }
        self.forget(&name);
        self.call("CreateTable", body, Idempotent::No)?;
        self.wait_for(&name, false)
    }

    fn drop_collection(&mut self, name: String) -> Result<()> {
        check_table(&name)?;
        self.forget(&name);
        self.call("DeleteTable", json!({"TableName": &name}), Idempotent::No)?;
        self.wait_for(&name, true)
    }

    /// Runs one DynamoDB operation: `{"Operation": {request}}`, e.g.
    /// `{"DescribeLimits": {}}`; gives the answer as a document.
    fn run_command(&mut self, _database: Option<String>, command: Vec<u8>) -> Result<Vec<u8>> {
        let cmd = document(&command, "command")?;
        let Some((op, body)) = cmd.iter().next().filter(|_| cmd.len() == 1) else {
            return Err(Error::invalid(
                "a DynamoDB command is {\"Operation\": {request}}, e.g. {\"DescribeLimits\": {}}",
            ));
        };
        if !op.bytes().all(|b| b.is_ascii_alphanumeric()) || op.is_empty() {
            return Err(Error::invalid(format!("{op:?} is not a DynamoDB operation name")));
        }
        let body = bson_to_json(body)?;
        let idempotent = if op.starts_with("Describe") || op.starts_with("List") || op == "GetItem" {
            Idempotent::Yes
        } else {
            Idempotent::No
        };
        let r = self.call(op, body, idempotent)?;
        match json_to_bson(&r) {
            Bson::Document(d) => encode(&d),
            _ => Err(Error::protocol(format!("{op} gave no object"))),
        }
    }
}
