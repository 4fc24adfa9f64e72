//! The DynamoDB driver against throwaway moto servers (server mode):
//! PartiQL with typed parameters and results, streams, tables as
//! collections (CRUD, counts, finds, indexes), introspection, error
//! kinds, secrets never shown; what the driver wrote is read back with
//! boto3, the reference client. Signing is checked against botocore's
//! signer (moto checks no signatures). HTTP edge cases (pagination by
//! `NextToken`, chunked bodies, bad answers) against a scripted server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use bson::{doc, Bson, Document};
use driverbox::api::nosql::FindOptions;
use driverbox::{
    Capability, ConnectionDriver, DriverCapabilities, DriverMetadata, ErrorKind, HealthCheckDriver, NoSqlOperations,
    QueryDriver, SchemaIntrospection, StreamingDriver, TableOperations, TransactionOptions, Value, WasmDriver,
};
use driverbox_tests::dynamoserver::{python, DynamoServer, Flavor, Recorder, SECRET_KEY};
use driverbox_tests::runtime;
use futures::StreamExt;

fn b(d: Document) -> Vec<u8> {
    d.to_vec().unwrap()
}

fn parse(raw: &[Vec<u8>]) -> Vec<Document> {
    raw.iter().map(|x| Document::from_reader(&x[..]).unwrap()).collect()
}

fn one(raw: &[u8]) -> Document {
    Document::from_reader(raw).unwrap()
}

async fn connect(server: &DynamoServer) -> WasmDriver {
    runtime().connect(&server.url("")).await.unwrap()
}

fn create_users(server: &DynamoServer) {
    server.boto3(
        "c.create_table(TableName='users', KeySchema=[{'AttributeName':'pk','KeyType':'HASH'}], \
         AttributeDefinitions=[{'AttributeName':'pk','AttributeType':'S'}], BillingMode='PAY_PER_REQUEST')\n\
         c.put_item(TableName='users', Item={'pk':{'S':'a'}, 'n':{'N':'12345678901234567890.123456789'}, \
           'b':{'B':b'\\x00\\x01\\xff'}, 'ok':{'BOOL':True}, 'm':{'M':{'x':{'L':[{'N':'1'},{'S':'y'}]}}}, \
           'ss':{'SS':['p','q']}, 'none':{'NULL':True}})\n\
         c.put_item(TableName='users', Item={'pk':{'S':'b'}, 'n':{'N':'2'}})\n",
    );
}

#[tokio::test]
async fn partiql_with_typed_parameters_and_results() {
    let server = DynamoServer::start();
    create_users(&server);
    let db = connect(&server).await;
    assert_eq!(db.driver_name(), "dynamodb");
    for c in [
        Capability::NoSql,
        Capability::Schema,
        Capability::Table,
        Capability::Transactions,
        Capability::Streaming,
    ] {
        assert!(db.has_capability(c), "{c}");
    }
    db.test_connection().await.unwrap();
    let h = db.health_check().await.unwrap();
    assert!(
        h.details.iter().any(|(k, v)| k == "region" && v == "us-east-1"),
        "{h:?}"
    );

    let r = db
        .query("SELECT * FROM \"users\" WHERE pk = ?", &[Value::from("b")])
        .await
        .unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0][1], Value::Decimal("2".into()));
    // (moto's PartiQL matches no item holding a map in a WHERE: read all.)
    let mut r = db.query("SELECT * FROM \"users\"", &[]).await.unwrap();
    assert_eq!(r.rows.len(), 2);
    let pk = r.columns.iter().position(|c| c.name == "pk").unwrap();
    r.rows.retain(|row| row[pk] == Value::Text("a".into()));
    let cell = |name: &str| {
        let i = r
            .columns
            .iter()
            .position(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        (r.columns[i].type_name.clone(), r.rows[0][i].clone())
    };
    assert_eq!(cell("pk"), ("S".into(), Value::Text("a".into())));
    assert_eq!(
        cell("n"),
        ("N".into(), Value::Decimal("12345678901234567890.123456789".into())),
        "every digit kept"
    );
    assert_eq!(cell("b"), ("B".into(), Value::Bytes(vec![0, 1, 255])));
    assert_eq!(cell("ok"), ("BOOL".into(), Value::Boolean(true)));
    assert_eq!(cell("m"), ("M".into(), Value::Json(r#"{"x":[1,"y"]}"#.into())));
    assert_eq!(cell("none").1, Value::Null);
    match cell("ss").1 {
        Value::Json(j) => {
            let mut v: Vec<String> = serde_json::from_str(&j).unwrap();
            v.sort();
            assert_eq!(v, ["p", "q"]);
        }
        other => panic!("{other:?}"),
    }

    // Numbers as parameters keep their digits; writes read back with boto3.
    let n = db
        .execute("INSERT INTO \"users\" VALUE {'pk': 'c', 'n': 7, 'name': 'Cé'}", &[])
        .await
        .unwrap();
    assert_eq!(n, 1);
    db.execute(
        "UPDATE \"users\" SET n = ? WHERE pk = ?",
        &[
            Value::Decimal("99.000000000000000000000000000001".into()),
            Value::from("c"),
        ],
    )
    .await
    .unwrap();
    let got =
        server.boto3("print(json.dumps(c.get_item(TableName='users', Key={'pk':{'S':'c'}})['Item'], sort_keys=True))");
    let got: serde_json::Value = serde_json::from_str(got.trim()).unwrap();
    assert_eq!(got["n"]["N"], "99.000000000000000000000000000001");
    assert_eq!(got["name"]["S"], "Cé");
    let all = db.query("SELECT pk FROM \"users\"", &[]).await.unwrap();
    let mut keys: Vec<String> = all.rows.iter().map(|r| r[0].to_string()).collect();
    keys.sort();
    assert_eq!(keys, ["a", "b", "c"]);
    // (moto's PartiQL DELETE takes no parameters.)
    db.execute("DELETE FROM \"users\" WHERE pk = 'c'", &[]).await.unwrap();
    assert_eq!(
        server
            .boto3("print(c.scan(TableName='users', Select='COUNT')['Count'])")
            .trim(),
        "2"
    );

    // A stream of the same statement gives the same rows.
    let mut stream = db.stream_query("SELECT * FROM \"users\"", &[], 1).await.unwrap();
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.unwrap().len();
    }
    assert_eq!(rows, 2);

    // Transactions: writes collected, sent at commit, dropped by rollback.
    let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
    tx.execute("INSERT INTO \"users\" VALUE {'pk': 'tx1'}", &[])
        .await
        .unwrap();
    tx.execute("INSERT INTO \"users\" VALUE {'pk': 'tx2'}", &[])
        .await
        .unwrap();
    assert_eq!(
        server
            .boto3("print(c.scan(TableName='users', Select='COUNT')['Count'])")
            .trim(),
        "2",
        "nothing written before commit"
    );
    tx.commit().await.unwrap();
    assert_eq!(
        server
            .boto3("print(c.scan(TableName='users', Select='COUNT')['Count'])")
            .trim(),
        "4"
    );
    let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
    tx.execute("INSERT INTO \"users\" VALUE {'pk': 'tx3'}", &[])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        server
            .boto3("print(c.scan(TableName='users', Select='COUNT')['Count'])")
            .trim(),
        "4"
    );
}

#[tokio::test]
async fn tables_as_collections_moto() {
    tables_as_collections(Flavor::Moto).await;
}

#[tokio::test]
async fn tables_as_collections_dynalite() {
    tables_as_collections(Flavor::Dynalite).await;
}

async fn tables_as_collections(flavor: Flavor) {
    let server = DynamoServer::start_flavor(flavor);
    let db = connect(&server).await;
    db.create_collection("items", b(doc! {"key": {"id": "N"}}))
        .await
        .unwrap();
    let e = db
        .create_collection("items", b(doc! {"key": {"id": "N"}}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DuplicateObject, "{e}");
    assert!(db
        .list_collections(None)
        .await
        .unwrap()
        .iter()
        .any(|c| c.name == "items"));

    // 60 items: three BatchWriteItem calls of at most 25.
    let docs: Vec<Vec<u8>> = (0..60)
        .map(|i| {
            b(doc! {"id": i, "group": i % 3, "name": format!("n{i:02}"), "price": Bson::Decimal128("1.25".parse().unwrap()), "tags": {"$SS": ["a", "b"]}})
        })
        .collect();
    assert_eq!(db.insert("items", docs, true).await.unwrap(), 60);
    assert_eq!(
        server
            .boto3("print(c.scan(TableName='items', Select='COUNT')['Count'])")
            .trim(),
        "60"
    );
    let typed =
        server.boto3("print(json.dumps(c.get_item(TableName='items', Key={'id':{'N':'7'}})['Item'], sort_keys=True))");
    let typed: serde_json::Value = serde_json::from_str(typed.trim()).unwrap();
    assert_eq!(typed["price"]["N"], "1.25", "Decimal128 as N");
    assert_eq!(typed["tags"]["SS"].as_array().unwrap().len(), 2, "a set stays a set");

    let c = db.get_collection_count("items", None).await.unwrap();
    assert_eq!((c.count, c.estimated), (60, false));
    let c = db
        .get_collection_count("items", Some(b(doc! {"group": 1})))
        .await
        .unwrap();
    assert_eq!(c.count, 20);
    assert_eq!(db.get_collection_count("nothing", None).await.unwrap().count, 0);

    let found = db
        .find(
            "items",
            b(doc! {"id": {"$gte": 30}, "group": {"$in": [0, 2]}}),
            FindOptions {
                projection: Some(b(doc! {"id": 1, "_id": 0})),
                sort: Some(b(doc! {"id": -1})),
                limit: Some(4),
                skip: Some(1),
            },
        )
        .await
        .unwrap();
    let found = parse(&found);
    let ids: Vec<i32> = found.iter().map(|d| d.get_i32("id").unwrap()).collect();
    assert_eq!(ids, [57, 56, 54, 53]);
    assert_eq!(found[0].keys().collect::<Vec<_>>(), ["id"]);
    // The whole key: a GetItem, types kept.
    let hit = parse(
        &db.find("items", b(doc! {"id": 7}), FindOptions::default())
            .await
            .unwrap(),
    );
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].get_str("name").unwrap(), "n07");
    assert_eq!(hit[0].get_document("tags").unwrap(), &doc! {"$SS": ["a", "b"]});
    assert!(matches!(hit[0].get("price"), Some(Bson::Decimal128(_))));

    let page = db.get_collection_data("items", 10, 55).await.unwrap();
    assert_eq!(page.len(), 5);

    let u = db
        .update(
            "items",
            b(doc! {"group": 0}),
            b(doc! {"$set": {"flag": true}}),
            false,
            false,
        )
        .await
        .unwrap();
    assert_eq!((u.matched, u.modified), (1, 1));
    let u = db
        .update(
            "items",
            b(doc! {"group": 0}),
            b(doc! {"$set": {"flag": true}}),
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!((u.matched, u.modified), (20, 19), "one was set already");
    let u = db
        .update(
            "items",
            b(doc! {"id": 1000}),
            b(doc! {"$set": {"name": "new"}}),
            false,
            true,
        )
        .await
        .unwrap();
    assert_eq!(u.upserted_id.map(|d| one(&d)), Some(doc! {"id": 1000}));
    let e = db
        .update("items", b(doc! {"id": 1}), b(doc! {"$set": {"id": 2}}), false, false)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(
        server
            .boto3("print(c.scan(TableName='items', Select='COUNT', FilterExpression='flag = :t', ExpressionAttributeValues={':t':{'BOOL':True}})['Count'])")
            .trim(),
        "20"
    );

    assert_eq!(db.delete("items", b(doc! {"group": 2}), false).await.unwrap(), 1);
    assert_eq!(db.delete("items", b(doc! {"group": 2}), true).await.unwrap(), 19);
    assert_eq!(db.delete("items", b(doc! {"id": 1000}), false).await.unwrap(), 1);
    assert_eq!(db.get_collection_count("items", None).await.unwrap().count, 40);

    let groups = db
        .aggregate(
            "items",
            vec![
                b(doc! {"$group": {"_id": "$group", "total": {"$sum": "$id"}, "n": {"$count": {}}}}),
                b(doc! {"$sort": {"_id": 1}}),
            ],
        )
        .await
        .unwrap();
    let groups = parse(&groups);
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].get_i32("_id").unwrap(), 0);
    assert_eq!(groups[0].get_i32("n").unwrap(), 20);

    // A secondary index (GSI), listed beside the primary key. dynalite
    // differs: it refuses a GSI without ProvisionedThroughput even on an
    // on-demand table (ValidationException), so it skips to the end.
    if flavor == Flavor::Dynalite {
        let e = db
            .create_index("items", b(doc! {"name": 1}), b(doc! {"types": {"name": "S"}}))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        db.drop_collection("items").await.unwrap();
        return;
    }
    let name = db
        .create_index("items", b(doc! {"name": 1}), b(doc! {"types": {"name": "S"}}))
        .await
        .unwrap();
    assert_eq!(name, "name_1");
    let idx = parse(&db.list_indexes("items").await.unwrap());
    let names: Vec<&str> = idx.iter().map(|d| d.get_str("name").unwrap()).collect();
    assert_eq!(names, ["PRIMARY", "name_1"]);
    assert_eq!(idx[0].get_document("key").unwrap(), &doc! {"id": 1});
    let e = db
        .create_index("items", b(doc! {"x": 1}), b(doc! {"unique": true}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    db.drop_index("items", "name_1").await.unwrap();
    let e = db.drop_index("items", "name_1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");

    let stats = one(&db.collection_stats("items").await.unwrap());
    assert_eq!(stats.get_str("TableName").unwrap(), "items");
    db.drop_collection("items").await.unwrap();
    let e = db.collection_stats("items").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn introspection_keys_indexes_statistics_moto() {
    introspection_keys_indexes_statistics(Flavor::Moto).await;
}

#[tokio::test]
async fn introspection_keys_indexes_statistics_dynalite() {
    introspection_keys_indexes_statistics(Flavor::Dynalite).await;
}

async fn introspection_keys_indexes_statistics(flavor: Flavor) {
    let server = DynamoServer::start_flavor(flavor);
    server.boto3(
        "c.create_table(TableName='orders', BillingMode='PAY_PER_REQUEST', \
           KeySchema=[{'AttributeName':'customer','KeyType':'HASH'},{'AttributeName':'at','KeyType':'RANGE'}], \
           AttributeDefinitions=[{'AttributeName':'customer','AttributeType':'S'},{'AttributeName':'at','AttributeType':'N'},\
             {'AttributeName':'status','AttributeType':'S'},{'AttributeName':'total','AttributeType':'N'}], \
           GlobalSecondaryIndexes=[{'IndexName':'by_status','KeySchema':[{'AttributeName':'status','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}], \
           LocalSecondaryIndexes=[{'IndexName':'by_total','KeySchema':[{'AttributeName':'customer','KeyType':'HASH'},{'AttributeName':'total','KeyType':'RANGE'}],'Projection':{'ProjectionType':'KEYS_ONLY'}}])\n\
         for i in range(7): c.put_item(TableName='orders', Item={'customer':{'S':'c%d' % (i % 2)}, 'at':{'N':str(i)}, 'status':{'S':'new'}, 'total':{'N':'1'}})\n",
    );
    let db = connect(&server).await;
    let tables = db.get_tables(None).await.unwrap();
    assert_eq!(tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["orders"]);
    let cols = db.get_columns(None, "orders").await.unwrap();
    let shape: Vec<(&str, &str, bool)> = cols
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str(), c.primary_key))
        .collect();
    assert_eq!(
        shape,
        [
            ("customer", "S", true),
            ("at", "N", true),
            ("status", "S", false),
            ("total", "N", false)
        ]
    );
    let idx = db.get_table_indexes(None, "orders").await.unwrap();
    let shape: Vec<(&str, Vec<String>, Option<&str>, bool)> = idx
        .iter()
        .map(|i| (i.name.as_str(), i.columns.clone(), i.method.as_deref(), i.primary))
        .collect();
    assert_eq!(
        shape,
        [
            (
                "PRIMARY",
                vec!["customer".to_string(), "at".to_string()],
                Some("hash"),
                true
            ),
            ("by_status", vec!["status".to_string()], Some("GSI"), false),
            (
                "by_total",
                vec!["customer".to_string(), "total".to_string()],
                Some("LSI"),
                false
            ),
        ]
    );
    let stats = db.get_table_statistics(None, "orders", true).await.unwrap();
    assert_eq!(stats.exact_rows, Some(7));
    assert!(stats.estimated_rows.is_some());
    let data = db.get_table_data(None, "orders", 3, 2).await.unwrap();
    assert_eq!(data.rows.len(), 3);
    let cons = db.get_table_constraints(None, "orders").await.unwrap();
    assert_eq!(cons[0].columns, ["customer", "at"]);
    let e = db.get_columns(None, "nothere").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
}

#[tokio::test]
async fn errors_have_kinds_and_secrets_stay_hidden() {
    let server = DynamoServer::start();
    create_users(&server);
    let db = connect(&server).await;
    let e = db.query("SELECT * FROM \"nothere\"", &[]).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.code()),
        (ErrorKind::UndefinedObject, Some("ResourceNotFoundException"))
    );
    // ConditionalCheckFailed, through a raw operation.
    let e = db
        .run_command(
            None,
            b(doc! {"PutItem": {"TableName": "users", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CheckViolation, "{e}");
    // A key of the wrong type: ValidationException.
    let e = db.insert("users", vec![b(doc! {"pk": 5})], true).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.code()),
        (ErrorKind::InvalidInput, Some("ValidationException")),
        "{e}"
    );
    // Bad filters and documents never reach the server.
    let e = db
        .find("users", b(doc! {"n": {"$nosuchop": 1}}), FindOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = db.find("x", b(doc! {}), FindOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // Still usable.
    assert_eq!(db.get_collection_count("users", None).await.unwrap().count, 2);

    // No credentials: an authentication error before any request.
    let url = format!("dynamodb://127.0.0.1:{}?region=us-east-1&tls=disable", server.port);
    let e = runtime().connect(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    // A refused connection: the error names the endpoint, never the secret.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = server.url("").replace(&server.port.to_string(), &closed.to_string());
    let e = match runtime().connect(&url).await {
        Err(e) => e,
        Ok(db) => db.test_connection().await.unwrap_err(),
    };
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    let parsed = runtime().parse_url(&url).await.unwrap();
    let shown = format!("{e} {e:?} {parsed} {parsed:?}");
    for secret in [SECRET_KEY, "dbx-test%2Fsecret"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let with_token = runtime()
        .parse_url(&server.url("session_token=tok-SECRET-1"))
        .await
        .unwrap();
    assert!(!format!("{with_token:?} {with_token}").contains("tok-SECRET-1"));
}

#[test]
fn signature_matches_botocore() {
    // The guest's unit test holds this value; here botocore (the version
    // installed with moto) computes it again from the same request.
    const EXPECTED: &str = "AWS4-HMAC-SHA256 Credential=AKIDDRIVERBOX0TEST/20261130/eu-west-3/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=2ce410693bdc3df1241d76dcc7d300d0605e421cc2bc44a491f53e2100033858";
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sigv4_botocore.py");
    let out = std::process::Command::new(python()).arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), EXPECTED);
    let source = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guest/dynamodb/src/sigv4.rs"),
    )
    .unwrap();
    assert!(source.contains(EXPECTED), "sigv4.rs tests the same value");
}

/// A scripted HTTP server: answers each request with the next of
/// `answers` (raw bytes), recording the request bodies.
fn scripted(answers: Vec<Vec<u8>>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            loop {
                // Read one request: head, then Content-Length bytes.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body_start = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..body_start]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < body_start + len {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[body_start..body_start + len]).into_owned());
                let Some(answer) = answers.next() else { return };
                if s.write_all(&answer).is_err() {
                    break;
                }
                if answer.is_empty() || String::from_utf8_lossy(&answer).contains("Connection: close") {
                    break;
                }
            }
        }
    });
    (port, seen)
}

fn ok_json(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn chunked(body: &str) -> Vec<u8> {
    let (a, b) = body.split_at(body.len() / 2);
    format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    )
    .into_bytes()
}

fn scripted_url(port: u16) -> String {
    format!("dynamodb://AK:SK@127.0.0.1:{port}?region=eu-west-1&tls=disable")
}

#[tokio::test]
async fn pages_by_next_token_on_one_kept_connection() {
    let answers = vec![
        ok_json(r#"{"Items":[{"k":{"S":"a"},"n":{"N":"1"}}],"NextToken":"t1"}"#),
        chunked(r#"{"Items":[],"NextToken":"t2"}"#),
        chunked(r#"{"Items":[{"k":{"S":"b"},"n":{"N":"2.5"}},{"k":{"S":"c"}}]}"#),
    ];
    let (port, seen) = scripted(answers);
    let db = runtime().connect(&scripted_url(port)).await.unwrap();
    let mut stream = db.stream_query("SELECT * FROM t", &[], 1).await.unwrap();
    let mut batches = Vec::new();
    while let Some(b) = stream.next().await {
        batches.push(b.unwrap());
    }
    let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
    assert_eq!(sizes, [1, 2], "the empty middle page is skipped");
    assert_eq!(batches[1][0][1], Value::Decimal("2.5".into()));
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[0].contains("\"Limit\":1") && !bodies[0].contains("NextToken"));
    assert!(bodies[1].contains("\"NextToken\":\"t1\""), "{}", bodies[1]);
    assert!(bodies[2].contains("\"NextToken\":\"t2\""), "{}", bodies[2]);
}

#[tokio::test]
async fn bad_answers_are_typed_errors() {
    let cases: Vec<(Vec<u8>, ErrorKind, &str)> = vec![
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec(), ErrorKind::Protocol, "not HTTP"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"Items\":[]}\r\n0\r\n\r\n".to_vec(),
            ErrorKind::Protocol,
            "chunk",
        ),
        (ok_json("{\"Items\": [tru"), ErrorKind::Protocol, "not JSON"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n".to_vec(),
            ErrorKind::Protocol,
            "limit",
        ),
        (
            {
                let body = r#"{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"The request signature we calculated does not match the signature you provided."}"#;
                format!("HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
            },
            ErrorKind::Authentication,
            "signature",
        ),
        (
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21\r\nConnection: close\r\n\r\n<html>broken</html>\r\n".to_vec(),
            ErrorKind::Other,
            "HTTP 500",
        ),
    ];
    for (answer, kind, words) in cases {
        // Reads are retried after a bare 5xx: the same answer each time.
        let (port, _) = scripted(vec![answer; 6]);
        let db = runtime().connect(&scripted_url(port)).await.unwrap();
        let e = db.query("SELECT * FROM t", &[]).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.to_string().contains(words), "{words}: {e}");
    }
}

/// The `events` table: key (pk S, sk N), a GSI `by_status` (status, at)
/// and an LSI `by_at` (pk, at), both projecting all attributes; 40 items
/// written by the driver (every tenth without `at`, so not in the indexes).
async fn events(server: &DynamoServer, db: &WasmDriver) -> Vec<Document> {
    server.boto3(
        "c.create_table(TableName='events', BillingMode='PAY_PER_REQUEST', \
           KeySchema=[{'AttributeName':'pk','KeyType':'HASH'},{'AttributeName':'sk','KeyType':'RANGE'}], \
           AttributeDefinitions=[{'AttributeName':'pk','AttributeType':'S'},{'AttributeName':'sk','AttributeType':'N'},\
             {'AttributeName':'status','AttributeType':'S'},{'AttributeName':'at','AttributeType':'S'}], \
           GlobalSecondaryIndexes=[{'IndexName':'by_status','KeySchema':[{'AttributeName':'status','KeyType':'HASH'},{'AttributeName':'at','KeyType':'RANGE'}],'Projection':{'ProjectionType':'ALL'}}], \
           LocalSecondaryIndexes=[{'IndexName':'by_at','KeySchema':[{'AttributeName':'pk','KeyType':'HASH'},{'AttributeName':'at','KeyType':'RANGE'}],'Projection':{'ProjectionType':'ALL'}}])\n",
    );
    let docs: Vec<Document> = (0..40)
        .map(|i| {
            let mut d = doc! {
                "pk": format!("u{}", i % 4),
                "sk": i,
                "status": if i % 3 == 0 { "open" } else { "closed" },
                "kind": if i % 2 == 0 { "a" } else { "b" },
                "tags": if i % 5 == 0 { Bson::Array(vec!["x".into(), "y".into()]) } else { Bson::String("x".into()) },
            };
            if i % 10 != 0 {
                d.insert("at", format!("2024-{:02}", i % 12 + 1));
            }
            if i % 7 == 0 {
                d.insert("n", i);
            }
            d
        })
        .collect();
    let n = db
        .insert("events", docs.iter().map(|d| b(d.clone())).collect(), true)
        .await
        .unwrap();
    assert_eq!(n, 40);
    docs
}

/// Which of the documents written a filter selects.
type Select = Box<dyn Fn(&Document) -> bool>;

fn by_key() -> FindOptions {
    FindOptions {
        sort: Some(b(doc! {"pk": 1, "sk": 1})),
        ..FindOptions::default()
    }
}

/// A find whose filter fixes a partition key reads with Query (of the
/// table or of the index whose keys the filter fixes), and finds what the
/// same filter finds over a Scan (`{"$or": [filter]}` is never planned)
/// and what the filter selects from the documents written.
async fn finds_by_key_read_with_query(flavor: Flavor) {
    let server = DynamoServer::start_flavor(flavor);
    let rec = Recorder::start(server.port);
    let db = runtime().connect(&rec.url("")).await.unwrap();
    let written = events(&server, &db).await;
    let ids = |docs: &[Document]| -> Vec<(String, i32)> {
        let mut v: Vec<(String, i32)> = docs
            .iter()
            .map(|d| (d.get_str("pk").unwrap().to_string(), d.get_i32("sk").unwrap()))
            .collect();
        v.sort();
        v
    };
    let cases: Vec<(Document, Option<&str>, Select)> = vec![
        (
            doc! {"pk": "u1"},
            None,
            Box::new(|d| d.get_str("pk").ok() == Some("u1")),
        ),
        (
            doc! {"pk": "u1", "sk": {"$gte": 5, "$lte": 21}},
            None,
            Box::new(|d| d.get_str("pk").ok() == Some("u1") && (5..=21).contains(&d.get_i32("sk").unwrap())),
        ),
        // Key condition, a FilterExpression (kind, tags: a string or a
        // list holding it), and `n` ($exists) checked by both.
        (
            doc! {"pk": "u2", "sk": {"$gt": 3}, "kind": "a", "tags": "x"},
            None,
            Box::new(|d| {
                d.get_str("pk").ok() == Some("u2")
                    && d.get_i32("sk").unwrap() > 3
                    && d.get_str("kind").ok() == Some("a")
            }),
        ),
        (
            doc! {"$and": [{"pk": "u0"}, {"sk": {"$lt": 30}}], "n": {"$exists": true}},
            None,
            Box::new(|d| d.get_str("pk").ok() == Some("u0") && d.get_i32("sk").unwrap() < 30 && d.contains_key("n")),
        ),
        // The GSI: its partition key fixed, its sort key bounded.
        (
            doc! {"status": "open", "at": {"$gte": "2024-03"}},
            Some("by_status"),
            Box::new(|d| d.get_str("status").ok() == Some("open") && d.get_str("at").is_ok_and(|a| a >= "2024-03")),
        ),
        // The LSI: the table's partition key and the index's sort key.
        (
            doc! {"pk": "u3", "at": {"$lt": "2024-06"}},
            Some("by_at"),
            Box::new(|d| d.get_str("pk").ok() == Some("u3") && d.get_str("at").is_ok_and(|a| a < "2024-06")),
        ),
    ];
    for (filter, index, select) in &cases {
        let expected: Vec<Document> = written.iter().filter(|d| select(d)).cloned().collect();
        assert!(!expected.is_empty(), "{filter}");
        rec.clear();
        let queried = parse(&db.find("events", b(filter.clone()), by_key()).await.unwrap());
        let ops = rec.operations();
        assert!(
            ops.contains(&"Query".to_string()) && !ops.contains(&"Scan".to_string()),
            "{filter}: {ops:?}"
        );
        match index {
            Some(i) => assert!(rec.text().contains(&format!("\"IndexName\":\"{i}\"")), "{filter}"),
            None => assert!(!rec.text().contains("IndexName"), "{filter}"),
        }
        rec.clear();
        let scanned = parse(
            &db.find("events", b(doc! {"$or": [filter.clone()]}), by_key())
                .await
                .unwrap(),
        );
        let ops = rec.operations();
        assert!(
            ops.contains(&"Scan".to_string()) && !ops.contains(&"Query".to_string()),
            "{filter}: {ops:?}"
        );
        assert_eq!(queried, scanned, "{filter}: Query and Scan differ");
        assert_eq!(ids(&queried), ids(&expected), "{filter}");
    }
    // Counts, updates, deletes and cursors of such filters read with Query too.
    rec.clear();
    let c = db
        .get_collection_count("events", Some(b(doc! {"pk": "u1", "kind": "b"})))
        .await
        .unwrap();
    assert_eq!(c.count, 10);
    let u = db
        .update(
            "events",
            b(doc! {"pk": "u1", "sk": {"$lt": 10}}),
            b(doc! {"$set": {"seen": true}}),
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!((u.matched, u.modified), (3, 3));
    let mut stream = db
        .stream_documents(
            "events",
            driverbox::api::nosql::CursorRequest::Find {
                filter: b(doc! {"pk": "u1", "seen": true}),
                options: FindOptions::default(),
            },
            2,
        )
        .await
        .unwrap();
    let mut streamed = Vec::new();
    while let Some(batch) = stream.next().await {
        streamed.extend(parse(&batch.unwrap()));
    }
    drop(stream);
    assert_eq!(ids(&streamed), [("u1".into(), 1), ("u1".into(), 5), ("u1".into(), 9)]);
    assert_eq!(
        db.delete("events", b(doc! {"pk": "u2", "sk": {"$gte": 30}}), true)
            .await
            .unwrap(),
        3
    );
    let ops = rec.operations();
    assert!(!ops.contains(&"Scan".to_string()), "{ops:?}");
    assert_eq!(ops.iter().filter(|o| *o == "Query").count(), 4, "{ops:?}");
    // A filter of the wrong type for the key is not planned: a Scan, no match.
    rec.clear();
    assert!(db
        .find("events", b(doc! {"pk": 1}), FindOptions::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(rec.operations(), ["Scan"]);
}

#[tokio::test]
async fn finds_by_key_read_with_query_moto() {
    finds_by_key_read_with_query(Flavor::Moto).await;
}

#[tokio::test]
async fn finds_by_key_read_with_query_dynalite() {
    finds_by_key_read_with_query(Flavor::Dynalite).await;
}

/// `$set`, `$unset` and `$inc` of dotted paths change the nested
/// attribute with a path in the UpdateExpression (a name per segment:
/// `name`, `size` and `status` are reserved words), and leave its
/// siblings as they were.
async fn nested_updates_change_only_the_path(flavor: Flavor) {
    let server = DynamoServer::start_flavor(flavor);
    let rec = Recorder::start(server.port);
    let db = runtime().connect(&rec.url("")).await.unwrap();
    db.create_collection("people", vec![]).await.unwrap();
    let person = doc! {
        "_id": "p1",
        "address": {"city": "Bergen", "zip": "5003", "size": 1},
        "items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 2}],
        "status": "x",
    };
    db.insert("people", vec![b(person)], true).await.unwrap();
    let stored = || {
        let j = server.boto3(
            "print(json.dumps(c.get_item(TableName='people', Key={'_id':{'S':'p1'}}, ConsistentRead=True)['Item'], sort_keys=True))",
        );
        serde_json::from_str::<serde_json::Value>(j.trim()).unwrap()
    };
    let update = |u: Document| {
        let db = &db;
        async move {
            let r = db
                .update("people", b(doc! {"_id": "p1"}), b(u), false, false)
                .await
                .unwrap();
            assert_eq!((r.matched, r.modified), (1, 1));
        }
    };

    rec.clear();
    update(doc! {"$set": {"address.city": "Oslo", "address.size": 2}}).await;
    let sent = rec.text();
    assert!(sent.contains("SET #u0.#u1 = :u0, #u0.#u2 = :u1"), "{sent}");
    let j = stored();
    assert_eq!(
        j["address"],
        serde_json::json!({"M": {"city": {"S": "Oslo"}, "zip": {"S": "5003"}, "size": {"N": "2"}}})
    );
    assert_eq!(j["status"], serde_json::json!({"S": "x"}));
    assert_eq!(j["items"]["L"][1]["M"]["qty"], serde_json::json!({"N": "2"}));

    rec.clear();
    update(doc! {"$unset": {"address.zip": ""}, "$inc": {"items.1.qty": 5}, "$set": {"items.0.name": "A"}}).await;
    let sent = rec.text();
    assert!(sent.contains("REMOVE #u0.#u1"), "{sent}");
    assert!(sent.contains("[1]."), "a list element by index: {sent}");
    let j = stored();
    assert_eq!(
        j["address"],
        serde_json::json!({"M": {"city": {"S": "Oslo"}, "size": {"N": "2"}}})
    );
    assert_eq!(
        j["items"],
        serde_json::json!({"L": [
            {"M": {"name": {"S": "A"}, "qty": {"N": "1"}}},
            {"M": {"name": {"S": "b"}, "qty": {"N": "7"}}},
        ]})
    );

    // A path through attributes that do not exist yet makes them.
    update(doc! {"$set": {"meta.first.seen": true}}).await;
    assert_eq!(
        stored()["meta"],
        serde_json::json!({"M": {"first": {"M": {"seen": {"BOOL": true}}}}})
    );
    // The driver reads back what it wrote.
    let back = parse(
        &db.find("people", b(doc! {"_id": "p1"}), FindOptions::default())
            .await
            .unwrap(),
    );
    assert_eq!(
        back[0].get_document("address").unwrap(),
        &doc! {"city": "Oslo", "size": 2}
    );
    // A path through a scalar is refused before any write.
    let e = db
        .update(
            "people",
            b(doc! {"_id": "p1"}),
            b(doc! {"$set": {"status.x": 1}}),
            false,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

#[tokio::test]
async fn nested_updates_change_only_the_path_moto() {
    nested_updates_change_only_the_path(Flavor::Moto).await;
}

#[tokio::test]
async fn nested_updates_change_only_the_path_dynalite() {
    nested_updates_change_only_the_path(Flavor::Dynalite).await;
}
