//! `nosql`: every document-store operation as the MongoDB command that
//! does it (`find`, `aggregate`, `insert`, `update`, `delete`, `count`,
//! `listIndexes`, `createIndexes`, …). Documents from cursors are handed
//! on as the server sent their bytes.

use bson::{doc, Bson, Document, RawBsonRef, RawDocument};
use driverbox_guest_sdk::types::{CollectionInfo, CountResult, CursorRequest, DatabaseInfo, FindOptions, UpdateResult};
use driverbox_guest_sdk::{Error, NoSqlOperations, Result};

use crate::connection::{Ahead, Connection, Cursor};
use crate::protocol::message::{document_len, Sequence};
use crate::protocol::reply;

/// One BSON document from the caller. Errors: `invalid-input`.
fn document(bytes: &[u8], what: &str) -> Result<Document> {
    Document::from_reader(bytes).map_err(|e| Error::invalid(format!("the {what} is not a valid BSON document: {e}")))
}

/// Documents back to back from the caller, each checked.
fn documents(bytes: &[u8], what: &str) -> Result<Vec<Document>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let n = document_len(&bytes[at..]).map_err(|e| Error::invalid(format!("{what}: {}", e.message())))?;
        out.push(document(&bytes[at..at + n], what)?);
        at += n;
    }
    Ok(out)
}

fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() || name.contains('\0') || name.starts_with('$') {
        return Err(Error::invalid(format!("bad {what} name {name:?}")));
    }
    Ok(())
}

fn find_command(collection: &str, filter: &[u8], options: &FindOptions, batch_size: Option<u32>) -> Result<Document> {
    check_name(collection, "collection")?;
    let mut cmd = doc! {"find": collection, "filter": document(filter, "filter")?};
    if let Some(p) = &options.projection {
        cmd.insert("projection", document(p, "projection")?);
    }
    if let Some(s) = &options.sort {
        cmd.insert("sort", document(s, "sort")?);
    }
    if let Some(n) = options.skip {
        cmd.insert(
            "skip",
            i64::try_from(n).map_err(|_| Error::invalid("skip is too large"))?,
        );
    }
    if let Some(n) = options.limit {
        cmd.insert(
            "limit",
            i64::try_from(n).map_err(|_| Error::invalid("limit is too large"))?,
        );
    }
    if let Some(n) = batch_size {
        cmd.insert("batchSize", n as i64);
    }
    Ok(cmd)
}

fn aggregate_command(collection: &str, pipeline: &[u8], batch_size: Option<u32>) -> Result<Document> {
    check_name(collection, "collection")?;
    let stages: Vec<Bson> = documents(pipeline, "pipeline")?
        .into_iter()
        .map(Bson::Document)
        .collect();
    let cursor = match batch_size {
        Some(n) => doc! {"batchSize": n as i64},
        None => doc! {},
    };
    Ok(doc! {"aggregate": collection, "pipeline": stages, "cursor": cursor})
}

/// The default name of an index on `keys`: `a_1_b_-1`, as the server and
/// the shell name it.
pub fn index_name(keys: &Document) -> String {
    keys.iter()
        .map(|(k, v)| {
            let v = match v {
                Bson::String(s) => s.clone(),
                Bson::Int32(i) => i.to_string(),
                Bson::Int64(i) => i.to_string(),
                Bson::Double(d) if d.fract() == 0.0 => (*d as i64).to_string(),
                other => other.to_string(),
            };
            format!("{k}_{v}")
        })
        .collect::<Vec<_>>()
        .join("_")
}

fn str_of<'a>(doc: &'a RawDocument, key: &str) -> Option<&'a str> {
    match doc.get(key).ok().flatten() {
        Some(RawBsonRef::String(s)) => Some(s),
        _ => None,
    }
}

impl Connection {
    fn db(&self) -> String {
        self.database.clone()
    }

    /// Inserts documents (back to back) in chunks of the server's
    /// `maxWriteBatchSize` documents whose message stays within its
    /// `maxMessageSizeBytes` (48 MB on MongoDB), as document sequences:
    /// the bytes are sent as given. A single document too big for one
    /// message is sent alone and refused by [`Connection::run`].
    fn insert_docs(&mut self, collection: &str, bytes: &[u8], ordered: bool) -> Result<u64> {
        // Room for the message header, the `insert` command and the
        // section headers around the sequence.
        const ENVELOPE: usize = 16 * 1024;
        let chunk_bytes = self.max_message.saturating_sub(ENVELOPE).max(1);
        let db = self.db();
        let mut inserted = 0u64;
        let mut at = 0;
        while at < bytes.len() {
            let start = at;
            let mut count = 0;
            while at < bytes.len() && count < self.max_write_batch {
                let n =
                    document_len(&bytes[at..]).map_err(|e| Error::invalid(format!("documents: {}", e.message())))?;
                if count > 0 && at - start + n > chunk_bytes {
                    break;
                }
                at += n;
                count += 1;
            }
            let cmd = doc! {"insert": collection, "ordered": ordered};
            let seq = [Sequence {
                identifier: "documents",
                documents: &bytes[start..at],
            }];
            match self.command_with(&db, cmd, &seq) {
                Ok(body) => inserted += Connection::count_in(&body, "n")?,
                Err(Error::Server(mut e)) => {
                    e.context = Some(format!("{inserted} documents were inserted before the failing chunk"));
                    return Err(Error::Server(e));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(inserted)
    }
}

impl Connection {
    /// Whether the connection's database has a collection (or view) `name`.
    fn collection_exists(&mut self, name: &str) -> Result<bool> {
        let db = self.db();
        let found = self.collect(
            &db,
            doc! {"listCollections": 1, "filter": {"name": name}, "nameOnly": true, "cursor": {}},
        )?;
        Ok(!found.is_empty())
    }
}

impl NoSqlOperations for Connection {
    fn list_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        let body = self.command("admin", doc! {"listDatabases": 1, "nameOnly": false})?;
        let reply = reply::document(&body)?;
        let dbs = reply
            .get_array("databases")
            .map_err(|_| Error::protocol("listDatabases gave no databases"))?;
        Ok(dbs
            .iter()
            .filter_map(|d| d.as_document())
            .filter_map(|d| {
                Some(DatabaseInfo {
                    name: d.get_str("name").ok()?.to_string(),
                    owner: None,
                    encoding: None,
                    size_bytes: match d.get("sizeOnDisk") {
                        Some(Bson::Int64(n)) => u64::try_from(*n).ok(),
                        Some(Bson::Int32(n)) => u64::try_from(*n).ok(),
                        Some(Bson::Double(n)) if *n >= 0.0 => Some(*n as u64),
                        _ => None,
                    },
                })
            })
            .collect())
    }

    fn list_collections(&mut self, database: Option<String>) -> Result<Vec<CollectionInfo>> {
        let db = database.unwrap_or_else(|| self.db());
        let docs = self.collect(
            &db,
            doc! {"listCollections": 1, "cursor": {}, "authorizedCollections": true},
        )?;
        let mut out = Vec::new();
        let mut at = 0;
        while at < docs.len() {
            let n = document_len(&docs[at..])?;
            let d = reply::raw(&docs[at..at + n])?;
            if let Some(name) = str_of(d, "name") {
                out.push(CollectionInfo {
                    name: name.to_string(),
                    kind: str_of(d, "type").unwrap_or("collection").to_string(),
                });
            }
            at += n;
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn get_collection_data(&mut self, collection: String, limit: u64, offset: u64) -> Result<Vec<u8>> {
        let options = FindOptions {
            projection: None,
            sort: Some(doc! {"_id": 1}.to_vec().map_err(|e| Error::invalid(e.to_string()))?),
            limit: Some(limit),
            skip: Some(offset),
        };
        self.find(collection, doc! {}.to_vec().unwrap_or_default(), options)
    }

    fn count(&mut self, collection: String, filter: Option<Vec<u8>>) -> Result<CountResult> {
        check_name(&collection, "collection")?;
        let db = self.db();
        match filter {
            None => {
                let body = self.command(&db, doc! {"count": &collection})?;
                Ok(CountResult {
                    count: Connection::count_in(&body, "n")?,
                    estimated: true,
                })
            }
            Some(filter) => {
                // countDocuments: an exact count with an aggregation.
                let cmd = doc! {
                    "aggregate": &collection,
                    "pipeline": [{"$match": document(&filter, "filter")?}, {"$group": {"_id": 1, "n": {"$sum": 1}}}],
                    "cursor": {},
                };
                let docs = self.collect(&db, cmd)?;
                let count = if docs.is_empty() {
                    0
                } else {
                    reply::int(reply::raw(&docs[..document_len(&docs)?])?, "n")?
                        .unwrap_or(0)
                        .max(0) as u64
                };
                Ok(CountResult {
                    count,
                    estimated: false,
                })
            }
        }
    }

    fn find(&mut self, collection: String, filter: Vec<u8>, options: FindOptions) -> Result<Vec<u8>> {
        let cmd = find_command(&collection, &filter, &options, None)?;
        let db = self.db();
        self.collect(&db, cmd)
    }

    fn insert(&mut self, collection: String, documents: Vec<u8>, ordered: bool) -> Result<u64> {
        check_name(&collection, "collection")?;
        self.insert_docs(&collection, &documents, ordered)
    }

    fn update(
        &mut self,
        collection: String,
        filter: Vec<u8>,
        update: Vec<u8>,
        many: bool,
        upsert: bool,
    ) -> Result<UpdateResult> {
        check_name(&collection, "collection")?;
        let statement = doc! {
            "q": document(&filter, "filter")?,
            "u": document(&update, "update")?,
            "multi": many,
            "upsert": upsert,
        };
        let db = self.db();
        let body = self.command(
            &db,
            doc! {"update": &collection, "updates": [statement], "ordered": true},
        )?;
        let reply = reply::document(&body)?;
        let upserted_id = match reply.get_array("upserted").ok().and_then(|a| a.first()) {
            Some(Bson::Document(u)) => match u.get("_id") {
                Some(id) => Some(
                    doc! {"_id": id.clone()}
                        .to_vec()
                        .map_err(|e| Error::protocol(e.to_string()))?,
                ),
                None => None,
            },
            _ => None,
        };
        let number = |key: &str| match reply.get(key) {
            Some(Bson::Int32(n)) => (*n).max(0) as u64,
            Some(Bson::Int64(n)) => (*n).max(0) as u64,
            _ => 0,
        };
        let matched = number("n") - u64::from(upserted_id.is_some());
        Ok(UpdateResult {
            matched,
            modified: number("nModified"),
            upserted_id,
        })
    }

    fn delete(&mut self, collection: String, filter: Vec<u8>, many: bool) -> Result<u64> {
        check_name(&collection, "collection")?;
        let statement = doc! {"q": document(&filter, "filter")?, "limit": if many { 0 } else { 1 }};
        let db = self.db();
        let body = self.command(
            &db,
            doc! {"delete": &collection, "deletes": [statement], "ordered": true},
        )?;
        Connection::count_in(&body, "n")
    }

    fn aggregate(&mut self, collection: String, pipeline: Vec<u8>) -> Result<Vec<u8>> {
        let cmd = aggregate_command(&collection, &pipeline, None)?;
        let db = self.db();
        self.collect(&db, cmd)
    }

    fn cursor_open(&mut self, collection: String, request: CursorRequest, batch_size: u32) -> Result<()> {
        if self.cursor.is_some() {
            return Err(Error::invalid("a cursor is open already on this connection"));
        }
        let batch_size = batch_size.max(1);
        let cmd = match &request {
            CursorRequest::Find((filter, options)) => find_command(&collection, filter, options, Some(batch_size))?,
            CursorRequest::Aggregate(pipeline) => aggregate_command(&collection, pipeline, Some(batch_size))?,
        };
        let db = self.db();
        let first = self.cursor_command(&db, cmd)?;
        self.cursor = Some(Cursor {
            id: first.id,
            ns: if first.ns.is_empty() {
                format!("{db}.{collection}")
            } else {
                first.ns
            },
            batch_size,
            pending: Some(first.documents),
            ahead: Ahead::None,
        });
        Ok(())
    }

    fn cursor_next(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let Some(cursor) = self.cursor.as_mut() else {
                return Err(Error::invalid("no cursor is open"));
            };
            if let Some(docs) = cursor.pending.take().filter(|d| !d.is_empty()) {
                self.get_more_ahead();
                return Ok(Some(docs));
            }
            if cursor.id == 0 && matches!(cursor.ahead, Ahead::None) {
                self.cursor = None;
                return Ok(None);
            }
            self.get_more_ahead();
            self.settle_cursor()?;
        }
    }

    fn cursor_close(&mut self) -> Result<()> {
        self.settle_cursor()?;
        if let Some(c) = self.cursor.take() {
            if c.id != 0 {
                self.kill_cursor(&c.ns, c.id)?;
            }
        }
        Ok(())
    }

    fn list_indexes(&mut self, collection: String) -> Result<Vec<u8>> {
        check_name(&collection, "collection")?;
        let db = self.db();
        self.collect(&db, doc! {"listIndexes": &collection, "cursor": {}})
    }

    fn create_index(&mut self, collection: String, keys: Vec<u8>, options: Vec<u8>) -> Result<String> {
        check_name(&collection, "collection")?;
        let keys = document(&keys, "index keys")?;
        if keys.is_empty() {
            return Err(Error::invalid("an index needs at least one key"));
        }
        let mut spec = if options.is_empty() {
            Document::new()
        } else {
            document(&options, "index options")?
        };
        let name = match spec.get_str("name") {
            Ok(n) => n.to_string(),
            Err(_) => index_name(&keys),
        };
        spec.insert("key", keys);
        spec.insert("name", name.clone());
        let db = self.db();
        self.command(&db, doc! {"createIndexes": &collection, "indexes": [spec]})?;
        Ok(name)
    }

    fn drop_index(&mut self, collection: String, name: String) -> Result<()> {
        check_name(&collection, "collection")?;
        let db = self.db();
        self.command(&db, doc! {"dropIndexes": &collection, "index": name})
            .map(|_| ())
    }

    fn collection_stats(&mut self, collection: String) -> Result<Vec<u8>> {
        check_name(&collection, "collection")?;
        let db = self.db();
        // Some servers answer `$collStats` on a missing collection with zeros.
        if !self.collection_exists(&collection)? {
            return Err(reply::mongo_error(
                26,
                Some("NamespaceNotFound"),
                &format!("collection {db}.{collection} does not exist"),
                &[],
            ));
        }
        let docs = self.collect(
            &db,
            doc! {"aggregate": &collection, "pipeline": [{"$collStats": {"storageStats": {}, "count": {}}}], "cursor": {}},
        )?;
        if docs.is_empty() {
            return Err(Error::protocol("$collStats gave no document"));
        }
        Ok(docs[..document_len(&docs)?].to_vec())
    }

    fn create_collection(&mut self, name: String, options: Vec<u8>) -> Result<()> {
        check_name(&name, "collection")?;
        // MongoDB 7 answers `create` of an existing collection with the same
        // options with success; the contract says `duplicate-object`.
        let db = self.db();
        if self.collection_exists(&name)? {
            return Err(reply::mongo_error(
                48,
                Some("NamespaceExists"),
                &format!("collection {db}.{name} already exists"),
                &[],
            ));
        }
        let mut cmd = doc! {"create": name};
        if !options.is_empty() {
            cmd.extend(document(&options, "collection options")?);
        }
        self.command(&db, cmd).map(|_| ())
    }

    fn drop_collection(&mut self, name: String) -> Result<()> {
        check_name(&name, "collection")?;
        let db = self.db();
        self.command(&db, doc! {"drop": name}).map(|_| ())
    }

    fn run_command(&mut self, database: Option<String>, command: Vec<u8>) -> Result<Vec<u8>> {
        let mut cmd = document(&command, "command")?;
        cmd.remove("$db");
        if cmd.is_empty() {
            return Err(Error::invalid("the command document is empty"));
        }
        let db = database.unwrap_or_else(|| self.db());
        self.command(&db, cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_as_the_server_gives_them() {
        assert_eq!(index_name(&doc! {"a": 1, "b": -1}), "a_1_b_-1");
        assert_eq!(index_name(&doc! {"loc": "2dsphere"}), "loc_2dsphere");
        assert_eq!(index_name(&doc! {"x": 1.0}), "x_1");
    }

    #[test]
    fn commands_carry_options() {
        let filter = doc! {"a": {"$gt": 1}}.to_vec().unwrap();
        let options = FindOptions {
            projection: Some(doc! {"a": 1}.to_vec().unwrap()),
            sort: Some(doc! {"a": -1}.to_vec().unwrap()),
            limit: Some(5),
            skip: Some(2),
        };
        let cmd = find_command("c", &filter, &options, Some(10)).unwrap();
        assert_eq!(
            cmd,
            doc! {"find": "c", "filter": {"a": {"$gt": 1}}, "projection": {"a": 1}, "sort": {"a": -1}, "skip": 2i64, "limit": 5i64, "batchSize": 10i64}
        );
        assert!(find_command("c", &[1, 2, 3], &FindOptions::default_like(), None).is_err());
        assert!(find_command("", &filter, &FindOptions::default_like(), None).is_err());
        let pipeline = [
            doc! {"$match": {}}.to_vec().unwrap(),
            doc! {"$limit": 1}.to_vec().unwrap(),
        ]
        .concat();
        let cmd = aggregate_command("c", &pipeline, None).unwrap();
        assert_eq!(cmd.get_array("pipeline").unwrap().len(), 2);
        assert!(aggregate_command("c", &pipeline[..pipeline.len() - 1], None).is_err());
    }

    trait DefaultLike {
        fn default_like() -> Self;
    }
    impl DefaultLike for FindOptions {
        fn default_like() -> Self {
            FindOptions {
                projection: None,
                sort: None,
                limit: None,
                skip: None,
            }
        }
    }
}
