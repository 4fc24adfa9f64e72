//! The conformance suite of document stores: every method of
//! `NoSqlOperations` on real data, results and error cases checked. What
//! differs between stores lives in [`NoSqlExpectations`]. Documents are
//! BSON; filters, updates and pipelines use MongoDB's query language,
//! which the document stores driverbox serves speak.

use bson::{doc, Bson, Document};
use driverbox::api::nosql::{CursorRequest, FindOptions};
use driverbox::{
    Capability, ConnectionDriver, DriverCapabilities, DriverMetadata, ErrorKind, HealthCheckDriver, NoSqlOperations,
    PlaceholderStyle, PoolConfig, Runtime, WasmDriver,
};
use futures::StreamExt;

/// What one document store does differently.
#[derive(Debug, Clone)]
pub struct NoSqlExpectations {
    /// Driver name in metadata.
    pub driver: &'static str,
    /// The database of the suite's URL, which `list_databases` shows once written to.
    pub database: &'static str,
    /// Capabilities the driver must report, and those it must not.
    pub has: &'static [Capability],
    pub lacks: &'static [Capability],
    /// The name of the index on `_id` that every collection has.
    pub id_index: &'static str,
    /// How statements take parameters (`none` without a query language).
    pub placeholders: PlaceholderStyle,
    /// Options of `create_collection` for the suite's collections (BSON
    /// bytes; empty: none). DynamoDB declares the key's type.
    pub create_options: fn() -> Document,
    /// Collections appear on first insert (MongoDB); otherwise the suite
    /// creates them first.
    pub implicit_create: bool,
    /// Pages of `get_collection_data` come in `_id` order, byte for byte
    /// as inserted (DynamoDB: Scan order, attributes as the server keeps them).
    pub ordered_pages: bool,
    /// Unique secondary indexes and `insert` refusing an existing `_id`
    /// (DynamoDB has no unique index, and its writes replace by key).
    pub unique: bool,
}

/// MongoDB.
pub const MONGODB: NoSqlExpectations = NoSqlExpectations {
    driver: "mongodb",
    database: "dbx_conformance",
    has: &[Capability::NoSql, Capability::Transactions],
    lacks: &[
        Capability::Schema,
        Capability::Table,
        Capability::Column,
        Capability::View,
        Capability::Function,
        Capability::Savepoints,
        Capability::PreparedStatements,
        Capability::BulkInsert,
        Capability::CreateSchema,
    ],
    id_index: "_id_",
    placeholders: PlaceholderStyle::None,
    create_options: Document::new,
    implicit_create: true,
    ordered_pages: true,
    unique: true,
};

fn dynamodb_options() -> Document {
    doc! {"key": {"_id": "N"}}
}

/// DynamoDB (tables as collections; the database is the region).
pub const DYNAMODB: NoSqlExpectations = NoSqlExpectations {
    driver: "dynamodb",
    database: "us-east-1",
    has: &[
        Capability::NoSql,
        Capability::Transactions,
        Capability::Schema,
        Capability::Table,
        Capability::Streaming,
        Capability::BulkInsert,
    ],
    lacks: &[
        Capability::Column,
        Capability::View,
        Capability::Function,
        Capability::Savepoints,
        Capability::PreparedStatements,
        Capability::CreateSchema,
    ],
    id_index: "PRIMARY",
    placeholders: PlaceholderStyle::QuestionMark,
    create_options: dynamodb_options,
    implicit_create: false,
    ordered_pages: false,
    unique: false,
};

fn bytes(d: Document) -> Vec<u8> {
    d.to_vec().expect("encode BSON")
}

fn parse(raw: &[Vec<u8>]) -> Vec<Document> {
    raw.iter()
        .map(|b| Document::from_reader(&b[..]).expect("a BSON document"))
        .collect()
}

fn int(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int32(n)) => *n as i64,
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) if n.fract() == 0.0 => *n as i64,
        other => panic!("{key} is not an integer: {other:?} in {d}"),
    }
}

fn ints(raw: &[Vec<u8>], key: &str) -> Vec<i64> {
    parse(raw).iter().map(|d| int(d, key)).collect()
}

/// One run of the suite against a URL whose database is `x.database`.
pub struct NoSqlSuite {
    pub db: WasmDriver,
    pub x: NoSqlExpectations,
}

impl NoSqlSuite {
    /// Connects and empties the suite's collections.
    pub async fn new(rt: &Runtime, url: &str, x: NoSqlExpectations) -> NoSqlSuite {
        let pool = PoolConfig {
            max_size: 4,
            ..PoolConfig::default()
        };
        let db = rt.connect_with(url, pool).await.expect("connect");
        for c in db.list_collections(None).await.expect("list collections") {
            if c.name.starts_with("conf_") {
                db.drop_collection(&c.name)
                    .await
                    .expect("drop a collection of an earlier run");
            }
        }
        NoSqlSuite { db, x }
    }

    /// Every check, in order.
    pub async fn run(&self) {
        self.metadata_and_health().await;
        self.collections_and_databases().await;
        self.insert_count_find().await;
        self.update_delete_aggregate().await;
        self.cursors().await;
        self.indexes().await;
        self.errors().await;
    }

    async fn metadata_and_health(&self) {
        let db = &self.db;
        assert_eq!(db.driver_name(), self.x.driver);
        assert_eq!(db.info().placeholder_style, self.x.placeholders);
        for c in self.x.has {
            assert!(db.has_capability(*c), "{} must have {c}", self.x.driver);
        }
        for c in self.x.lacks {
            assert!(!db.has_capability(*c), "{} must lack {c}", self.x.driver);
        }
        db.test_connection().await.expect("test_connection");
        let h = db.health_check().await.expect("health");
        assert!(!h.server_version.is_empty());
    }

    async fn collections_and_databases(&self) {
        let db = &self.db;
        let options = (self.x.create_options)();
        db.create_collection("conf_people", bytes(options.clone()))
            .await
            .expect("create");
        let e = db.create_collection("conf_people", bytes(options)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DuplicateObject, "{e}");
        db.insert("conf_people", vec![bytes(doc! {"_id": 1})], true)
            .await
            .unwrap();
        let colls = db.list_collections(None).await.unwrap();
        let people = colls.iter().find(|c| c.name == "conf_people").expect("listed");
        assert_eq!(people.kind, "collection");
        let elsewhere = db.list_collections(Some("admin")).await.unwrap();
        assert!(!elsewhere.iter().any(|c| c.name == "conf_people"));
        let dbs = db.list_databases().await.unwrap();
        assert!(dbs.iter().any(|d| d.name == self.x.database), "{dbs:?}");
        let stats = parse(&[db.collection_stats("conf_people").await.unwrap()]);
        assert!(!stats[0].is_empty());
        db.drop_collection("conf_people").await.unwrap();
        let e = db.collection_stats("conf_people").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
        assert!(!db
            .list_collections(None)
            .await
            .unwrap()
            .iter()
            .any(|c| c.name == "conf_people"));
    }

    async fn insert_count_find(&self) {
        let db = &self.db;
        let all: Vec<Vec<u8>> = (0..250)
            .map(|i| bytes(doc! {"_id": i, "n": i, "group": i % 5, "name": format!("item{i:03}")}))
            .collect();
        if !self.x.implicit_create {
            db.create_collection("conf_items", bytes((self.x.create_options)()))
                .await
                .expect("create conf_items");
        }
        // Inserted in reverse: pages must come in `_id` order, not insertion order.
        let reversed: Vec<Vec<u8>> = all.iter().rev().cloned().collect();
        assert_eq!(db.insert("conf_items", reversed, true).await.unwrap(), 250);

        let c = db.get_collection_count("conf_items", None).await.unwrap();
        assert_eq!(c.count, 250);
        let c = db
            .get_collection_count("conf_items", Some(bytes(doc! {"group": 2})))
            .await
            .unwrap();
        assert_eq!((c.count, c.estimated), (50, false), "a filtered count is exact");
        let c = db
            .get_collection_count("conf_nothing", Some(bytes(doc! {})))
            .await
            .unwrap();
        assert_eq!(c.count, 0, "a missing collection counts 0");

        let page = db.get_collection_data("conf_items", 10, 240).await.unwrap();
        if self.x.ordered_pages {
            assert_eq!(ints(&page, "_id"), (240..250).collect::<Vec<_>>());
            let first = db.get_collection_data("conf_items", 3, 0).await.unwrap();
            assert_eq!(first, all[..3].to_vec(), "documents arrive as stored, byte for byte");
        } else {
            // Pages partition the collection: every document once.
            assert_eq!(page.len(), 10);
            let mut seen = Vec::new();
            for offset in (0..250).step_by(100) {
                seen.extend(ints(
                    &db.get_collection_data("conf_items", 100, offset).await.unwrap(),
                    "_id",
                ));
            }
            seen.sort();
            assert_eq!(seen, (0..250).collect::<Vec<_>>());
            let one = parse(
                &db.find("conf_items", bytes(doc! {"_id": 3}), FindOptions::default())
                    .await
                    .unwrap(),
            );
            assert_eq!(one, parse(&all[3..4]), "documents keep their types");
        }
        assert!(db.get_collection_data("conf_items", 10, 250).await.unwrap().is_empty());

        let found = db
            .find(
                "conf_items",
                bytes(doc! {"n": {"$gte": 100}}),
                FindOptions {
                    projection: Some(bytes(doc! {"n": 1, "_id": 0})),
                    sort: Some(bytes(doc! {"n": -1})),
                    limit: Some(5),
                    skip: Some(3),
                },
            )
            .await
            .unwrap();
        assert_eq!(ints(&found, "n"), [246, 245, 244, 243, 242]);
        assert_eq!(parse(&found)[0].keys().collect::<Vec<_>>(), ["n"], "projection");
        let everything = db
            .find("conf_items", bytes(doc! {}), FindOptions::default())
            .await
            .unwrap();
        assert_eq!(everything.len(), 250, "every batch of the cursor");
        let none = db
            .find("conf_items", bytes(doc! {"n": -1}), FindOptions::default())
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    async fn update_delete_aggregate(&self) {
        let db = &self.db;
        let u = db
            .update(
                "conf_items",
                bytes(doc! {"group": 0}),
                bytes(doc! {"$set": {"flag": true}}),
                false,
                false,
            )
            .await
            .unwrap();
        assert_eq!((u.matched, u.modified, u.upserted_id.is_none()), (1, 1, true));
        let u = db
            .update(
                "conf_items",
                bytes(doc! {"group": 0}),
                bytes(doc! {"$set": {"flag": true}}),
                true,
                false,
            )
            .await
            .unwrap();
        assert_eq!((u.matched, u.modified), (50, 49), "one was set already");
        let u = db
            .update(
                "conf_items",
                bytes(doc! {"_id": 1000}),
                bytes(doc! {"$set": {"n": 1000}}),
                false,
                true,
            )
            .await
            .unwrap();
        assert_eq!((u.matched, u.modified), (0, 0));
        assert_eq!(parse(&[u.upserted_id.expect("upserted id")])[0], doc! {"_id": 1000});
        let flagged = db
            .get_collection_count("conf_items", Some(bytes(doc! {"flag": true})))
            .await
            .unwrap();
        assert_eq!(flagged.count, 50);

        assert_eq!(
            db.delete("conf_items", bytes(doc! {"group": 4}), false).await.unwrap(),
            1
        );
        assert_eq!(
            db.delete("conf_items", bytes(doc! {"group": 4}), true).await.unwrap(),
            49
        );
        assert_eq!(
            db.delete("conf_items", bytes(doc! {"group": 4}), true).await.unwrap(),
            0
        );
        assert_eq!(
            db.delete("conf_items", bytes(doc! {"_id": 1000}), false).await.unwrap(),
            1
        );

        let groups = db
            .aggregate(
                "conf_items",
                vec![
                    bytes(doc! {"$group": {"_id": "$group", "total": {"$sum": "$n"}}}),
                    bytes(doc! {"$sort": {"_id": 1}}),
                ],
            )
            .await
            .unwrap();
        assert_eq!(ints(&groups, "_id"), [0, 1, 2, 3]);
        assert_eq!(ints(&groups, "total"), [6125, 6175, 6225, 6275]);
    }

    async fn cursors(&self) {
        let db = &self.db;
        let mut stream = db
            .stream_documents(
                "conf_items",
                CursorRequest::Find {
                    filter: bytes(doc! {}),
                    options: FindOptions {
                        sort: Some(bytes(doc! {"_id": 1})),
                        ..FindOptions::default()
                    },
                },
                60,
            )
            .await
            .unwrap();
        let (mut sizes, mut seen) = (Vec::new(), Vec::new());
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            sizes.push(batch.len());
            seen.extend(ints(&batch, "_id"));
        }
        assert_eq!(sizes, [60, 60, 60, 20]);
        let expected: Vec<i64> = (0..250).filter(|i| i % 5 != 4).collect();
        assert_eq!(seen, expected);

        // Dropped after one batch: the cursor is closed, the connection reused.
        for _ in 0..6 {
            let mut stream = db
                .stream_documents(
                    "conf_items",
                    CursorRequest::Aggregate {
                        pipeline: vec![bytes(doc! {"$match": {"group": 1}}), bytes(doc! {"$sort": {"n": 1}})],
                    },
                    7,
                )
                .await
                .unwrap();
            assert_eq!(
                ints(&stream.next().await.unwrap().unwrap(), "n"),
                [1, 6, 11, 16, 21, 26, 31]
            );
        }
        assert_eq!(db.get_collection_count("conf_items", None).await.unwrap().count, 200);
    }

    async fn indexes(&self) {
        let db = &self.db;
        if !self.x.unique {
            let idx = parse(&db.list_indexes("conf_items").await.unwrap());
            let id = idx
                .iter()
                .find(|d| d.get_str("name").is_ok_and(|x| x == self.x.id_index))
                .expect("the id index is listed");
            assert_eq!(id.get_document("key").unwrap(), &doc! {"_id": 1});
            let e = db
                .create_index("conf_items", bytes(doc! {"name": 1}), bytes(doc! {"unique": true}))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            let e = db.drop_index("conf_items", "by_group").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
            let e = db.list_indexes("conf_nothing").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
            return;
        }
        let name = db
            .create_index("conf_items", bytes(doc! {"name": 1}), bytes(doc! {"unique": true}))
            .await
            .unwrap();
        assert_eq!(name, "name_1");
        let named = db
            .create_index(
                "conf_items",
                bytes(doc! {"group": -1, "n": 1}),
                bytes(doc! {"name": "by_group"}),
            )
            .await
            .unwrap();
        assert_eq!(named, "by_group");
        let idx = parse(&db.list_indexes("conf_items").await.unwrap());
        let by_name = |n: &str| {
            idx.iter()
                .find(|d| d.get_str("name").is_ok_and(|x| x == n))
                .unwrap_or_else(|| panic!("index {n} listed"))
        };
        assert_eq!(idx.len(), 3);
        assert_eq!(by_name(self.x.id_index).get_document("key").unwrap(), &doc! {"_id": 1});
        assert!(by_name("name_1").get_bool("unique").unwrap(), "unique index");
        assert_eq!(
            by_name("by_group").get_document("key").unwrap(),
            &doc! {"group": -1, "n": 1}
        );

        let e = db
            .insert("conf_items", vec![bytes(doc! {"_id": 5000, "name": "item001"})], true)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
        assert_eq!(
            e.as_server_error().and_then(|s| s.constraint_name.as_deref()),
            Some("name_1")
        );

        db.drop_index("conf_items", "by_group").await.unwrap();
        let e = db.drop_index("conf_items", "by_group").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
        let e = db.list_indexes("conf_nothing").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
    }

    async fn errors(&self) {
        if self.x.unique {
            self.duplicate_inserts().await;
        }
        self.bad_input().await;
    }

    async fn duplicate_inserts(&self) {
        let db = &self.db;
        // Ordered insert stops at the first duplicate; the rest is not inserted.
        let e = db
            .insert(
                "conf_items",
                vec![
                    bytes(doc! {"_id": 7, "name": "x7"}),
                    bytes(doc! {"_id": 9999, "name": "x9999"}),
                ],
                true,
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
        let n = db
            .get_collection_count("conf_items", Some(bytes(doc! {"_id": 9999})))
            .await
            .unwrap();
        assert_eq!(n.count, 0);
        // Unordered: the others go in.
        let e = db
            .insert(
                "conf_items",
                vec![
                    bytes(doc! {"_id": 8, "name": "x8"}),
                    bytes(doc! {"_id": 9998, "name": "x9998"}),
                ],
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
        let n = db
            .get_collection_count("conf_items", Some(bytes(doc! {"_id": 9998})))
            .await
            .unwrap();
        assert_eq!(n.count, 1);
    }

    async fn bad_input(&self) {
        let db = &self.db;
        let before = db.get_collection_count("conf_items", None).await.unwrap().count;
        // A bad operator, malformed BSON, a bad collection name.
        let e = db
            .find(
                "conf_items",
                bytes(doc! {"n": {"$nosuchop": 1}}),
                FindOptions::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = db
            .find("conf_items", vec![9, 0, 0, 0, 16, 0, 0, 0, 0], FindOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = db.find("", bytes(doc! {}), FindOptions::default()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = db.insert("conf_items", vec![vec![1, 2, 3]], true).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        // Still usable.
        assert_eq!(db.get_collection_count("conf_items", None).await.unwrap().count, before);
    }
}
