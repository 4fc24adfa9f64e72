//! `driverbox inspect` for document stores: the collections of the
//! connection's database with their kind, estimated count and indexes,
//! and a schema inferred as database tools do — a `$sample` of documents,
//! each field path with its BSON types and how often each occurs (nested
//! documents as `a.b`, array elements as `a[]`).

use std::collections::BTreeMap;

use bson::{Bson, Document};
use driverbox::{Error, NoSqlOperations, WasmDriver};
use serde::Serialize;

use super::inspect::Node;

/// Documents sampled per collection by default.
pub const DEFAULT_SAMPLE: u32 = 100;

/// A document store as `inspect --format json` prints it.
#[derive(Debug, Serialize)]
pub struct DocumentDatabase {
    pub url: String,
    pub driver: String,
    pub collections: Vec<CollectionNode>,
}

#[derive(Debug, Serialize)]
pub struct CollectionNode {
    pub name: String,
    /// `collection`, `view`, `timeseries`.
    pub kind: String,
    /// From collection metadata (`estimated`), absent for views.
    pub estimated_count: Option<u64>,
    pub indexes: Vec<IndexNode>,
    /// Documents the schema was inferred from.
    pub sampled: u64,
    pub fields: Vec<FieldNode>,
}

#[derive(Debug, Serialize)]
pub struct IndexNode {
    pub name: String,
    /// The key document as relaxed Extended JSON, e.g. `{"a":1,"b":-1}`.
    pub keys: String,
    pub unique: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct FieldNode {
    /// `a`, `a.b` (nested document), `a[]` (array elements).
    pub path: String,
    /// In how many sampled documents (or array elements' parents) the path occurs.
    pub count: u64,
    /// BSON type name (as `$type` names them) → occurrences.
    pub types: BTreeMap<String, u64>,
}

/// MongoDB's `$type` name of a value.
pub fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::Undefined => "undefined",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::DbPointer(_) => "dbPointer",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::Symbol(_) => "symbol",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
    }
}

/// Field statistics of `docs`, in first-seen order of the paths.
pub fn infer(docs: &[Document]) -> Vec<FieldNode> {
    let mut fields: Vec<FieldNode> = Vec::new();
    fn note(fields: &mut Vec<FieldNode>, path: String, v: &Bson) {
        let i = match fields.iter().position(|f| f.path == path) {
            Some(i) => i,
            None => {
                fields.push(FieldNode {
                    path: path.clone(),
                    count: 0,
                    types: BTreeMap::new(),
                });
                fields.len() - 1
            }
        };
        fields[i].count += 1;
        *fields[i].types.entry(type_name(v).to_string()).or_default() += 1;
        match v {
            Bson::Document(d) => {
                for (k, v) in d {
                    note(fields, format!("{path}.{k}"), v);
                }
            }
            Bson::Array(a) => {
                for v in a {
                    note(fields, format!("{path}[]"), v);
                }
            }
            _ => {}
        }
    }
    for d in docs {
        for (k, v) in d {
            note(&mut fields, k.clone(), v);
        }
    }
    fields
}

fn parse(raw: &[Vec<u8>]) -> Result<Vec<Document>, Error> {
    raw.iter()
        .map(|b| {
            Document::from_reader(&b[..]).map_err(|e| Error::Client {
                driver: "inspect".into(),
                kind: driverbox::ErrorKind::Protocol,
                message: format!("a malformed BSON document: {e}"),
            })
        })
        .collect()
}

fn bson_doc(d: Document) -> Vec<u8> {
    d.to_vec().unwrap_or_default()
}

/// Collects the collections (only `only` when given), sampling `sample`
/// documents of each. `Ok(Err(message))` when `only` does not exist.
pub async fn inspect(
    db: &WasmDriver,
    only: Option<&str>,
    sample: u32,
) -> Result<Result<DocumentDatabase, String>, Error> {
    let info = db.info();
    let mut out = DocumentDatabase {
        url: db.options().to_string(),
        driver: format!("{} {}", info.name, info.version),
        collections: Vec::new(),
    };
    let mut collections = db.list_collections(None).await?;
    if let Some(name) = only {
        collections.retain(|c| c.name == name);
        if collections.is_empty() {
            return Ok(Err(format!("collection \"{name}\" does not exist")));
        }
    }
    for c in collections.into_iter().filter(|c| !c.name.starts_with("system.")) {
        let is_view = c.kind == "view";
        let estimated_count = if is_view {
            None
        } else {
            Some(db.get_collection_count(&c.name, None).await?.count)
        };
        let indexes = if is_view {
            Vec::new()
        } else {
            parse(&db.list_indexes(&c.name).await?)?
                .into_iter()
                .map(|ix| IndexNode {
                    name: ix.get_str("name").unwrap_or("?").to_string(),
                    keys: ix
                        .get_document("key")
                        .map(|k| Bson::Document(k.clone()).into_relaxed_extjson().to_string())
                        .unwrap_or_default(),
                    unique: ix.get_bool("unique").unwrap_or(false),
                })
                .collect()
        };
        let docs = parse(
            &db.aggregate(&c.name, vec![bson_doc(bson::doc! {"$sample": {"size": sample as i64}})])
                .await?,
        )?;
        out.collections.push(CollectionNode {
            name: c.name,
            kind: c.kind,
            estimated_count,
            indexes,
            sampled: docs.len() as u64,
            fields: infer(&docs),
        });
    }
    Ok(Ok(out))
}

/// The tree `inspect` prints.
pub fn tree(db: &DocumentDatabase) -> Node {
    let collections = db
        .collections
        .iter()
        .map(|c| {
            let count = c
                .estimated_count
                .map(|n| format!(", ~{n} documents"))
                .unwrap_or_default();
            let mut children = Vec::new();
            if !c.indexes.is_empty() {
                children.push(Node::new(
                    "indexes",
                    c.indexes
                        .iter()
                        .map(|i| {
                            Node::new(
                                format!("{} {}{}", i.name, i.keys, if i.unique { " unique" } else { "" }),
                                Vec::new(),
                            )
                        })
                        .collect(),
                ));
            }
            let fields = c
                .fields
                .iter()
                .map(|f| {
                    let types: Vec<String> = f.types.iter().map(|(t, n)| format!("{t} {n}")).collect();
                    Node::new(format!("{} ({}): {}", f.path, f.count, types.join(", ")), Vec::new())
                })
                .collect();
            children.push(Node::new(
                format!("fields, from {} sampled documents", c.sampled),
                fields,
            ));
            Node::new(format!("{} ({}{count})", c.name, c.kind), children)
        })
        .collect();
    Node::new(format!("{}\n{}", db.url, db.driver), collections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn infers_paths_types_and_counts() {
        let docs = [
            doc! {"_id": 1, "name": "a", "tags": ["x", 1], "addr": {"city": "Oslo"}},
            doc! {"_id": 2i64, "name": Bson::Null, "addr": {"city": "Rome", "zip": 100}},
        ];
        let f = infer(&docs);
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["_id", "name", "tags", "tags[]", "addr", "addr.city", "addr.zip"]
        );
        let by = |p: &str| f.iter().find(|f| f.path == p).unwrap();
        assert_eq!(by("_id").count, 2);
        assert_eq!(by("_id").types, BTreeMap::from([("int".into(), 1), ("long".into(), 1)]));
        assert_eq!(
            by("name").types,
            BTreeMap::from([("null".into(), 1), ("string".into(), 1)])
        );
        assert_eq!(by("tags").count, 1);
        assert_eq!(
            by("tags[]").types,
            BTreeMap::from([("int".into(), 1), ("string".into(), 1)])
        );
        assert_eq!(by("addr.zip").count, 1);
    }
}
