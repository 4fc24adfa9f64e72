//! The MongoDB driver against throwaway SecantusDB servers: CRUD, cursors,
//! indexes, collections, transactions, commands as text, errors,
//! SCRAM-SHA-256 and SCRAM-SHA-1, and TLS; answers compared with pymongo.
//! OP_MSG checksums and cancel (`killOp`) against a scripted server.

use bson::{doc, Bson, Document};
use driverbox::api::nosql::FindOptions;
use driverbox::{
    ConnectionDriver, DriverCapabilities, DriverMetadata, ErrorKind, HealthCheckDriver, NoSqlOperations, QueryDriver,
    TransactionOptions, Value, WasmDriver,
};
use driverbox_tests::mongoserver::{MongoServer, USERS};
use driverbox_tests::runtime;

fn bytes(d: Document) -> Vec<u8> {
    d.to_vec().unwrap()
}

fn docs(raw: &[Vec<u8>]) -> Vec<Document> {
    raw.iter().map(|b| Document::from_reader(&b[..]).unwrap()).collect()
}

fn ints(raw: &[Vec<u8>], key: &str) -> Vec<i64> {
    docs(raw)
        .iter()
        .map(|d| match d.get(key) {
            Some(Bson::Int32(n)) => *n as i64,
            Some(Bson::Int64(n)) => *n,
            other => panic!("{key}: {other:?}"),
        })
        .collect()
}

fn server_code(e: &driverbox::Error) -> (ErrorKind, Option<String>, Option<i32>) {
    let s = e.as_server_error();
    (e.kind(), e.code().map(String::from), s.and_then(|s| s.vendor_code))
}

async fn connect(server: &MongoServer) -> WasmDriver {
    runtime().connect(&server.url(None, "dbx", "")).await.unwrap()
}

#[tokio::test]
async fn answers_match_pymongo_and_errors_carry_codes() {
    let server = MongoServer::start();
    let db = connect(&server).await;
    assert_eq!(db.driver_name(), "mongodb");
    assert!(db.has_capability(driverbox::Capability::NoSql));
    assert!(db.has_capability(driverbox::Capability::Transactions));
    assert!(!db.has_capability(driverbox::Capability::Schema));
    db.test_connection().await.unwrap();

    // Insert 250 documents in one call, ordered.
    let all: Vec<Vec<u8>> = (0..250)
        .map(|i| bytes(doc! {"_id": i, "n": i, "group": i % 5, "name": format!("item{i:03}")}))
        .collect();
    assert_eq!(db.insert("items", all.clone(), true).await.unwrap(), 250);

    // Counts: estimated without a filter, exact with one.
    let c = db.get_collection_count("items", None).await.unwrap();
    assert_eq!((c.count, c.estimated), (250, true));
    let c = db
        .get_collection_count("items", Some(bytes(doc! {"group": 2})))
        .await
        .unwrap();
    assert_eq!((c.count, c.estimated), (50, false));

    // find with filter, projection, sort, skip, limit: the same as pymongo.
    let found = db
        .find(
            "items",
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
    let ours = ints(&found, "n");
    let theirs = server.pymongo(
        "print(json.dumps([d['n'] for d in c.dbx.items.find({'n': {'$gte': 100}}, {'n': 1, '_id': 0}).sort('n', -1).skip(3).limit(5)], separators=(',', ':')))",
    );
    assert_eq!(serde_json::to_string(&ours).unwrap(), theirs.trim());
    assert_eq!(docs(&found)[0].keys().collect::<Vec<_>>(), ["n"], "projection applied");

    // A find larger than one server batch (101 documents) reads every batch.
    let everything = db.find("items", bytes(doc! {}), FindOptions::default()).await.unwrap();
    assert_eq!(everything.len(), 250);
    assert_eq!(everything, all, "documents arrive as stored, byte for byte");

    // Update and delete: what pymongo then reads.
    let u = db
        .update(
            "items",
            bytes(doc! {"group": 0}),
            bytes(doc! {"$inc": {"n": 1000}}),
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!((u.matched, u.modified), (50, 50));
    assert_eq!(db.delete("items", bytes(doc! {"group": 4}), true).await.unwrap(), 50);
    let theirs =
        server.pymongo("print(c.dbx.items.count_documents({}), c.dbx.items.count_documents({'n': {'$gte': 1000}}))");
    assert_eq!(theirs.trim(), "200 50");

    // Duplicate key: unique violation with the server's code and the index.
    let e = db
        .insert("items", vec![bytes(doc! {"_id": 7}), bytes(doc! {"_id": 9999})], true)
        .await
        .unwrap_err();
    assert_eq!(
        server_code(&e),
        (ErrorKind::UniqueViolation, Some("DuplicateKey".into()), Some(11000)),
        "{e}"
    );
    assert_eq!(e.as_server_error().unwrap().constraint_name.as_deref(), Some("_id_"));
    // Ordered: the second document was not inserted.
    assert_eq!(
        db.get_collection_count("items", Some(bytes(doc! {"_id": 9999})))
            .await
            .unwrap()
            .count,
        0
    );

    // A bad filter and an unknown command: typed server errors.
    let e = db
        .find("items", bytes(doc! {"n": {"$nosuchop": 1}}), FindOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = db
        .run_command(None, bytes(doc! {"noSuchCommand": 1}))
        .await
        .unwrap_err();
    assert_eq!(
        server_code(&e),
        (ErrorKind::UndefinedObject, Some("CommandNotFound".into()), Some(59))
    );
    // run_command gives the reply.
    let reply = docs(&[db.run_command(Some("admin"), bytes(doc! {"ping": 1})).await.unwrap()]);
    assert_eq!(reply[0].get_f64("ok").unwrap(), 1.0);
    // The connection still works after every error.
    assert_eq!(db.get_collection_count("items", None).await.unwrap().count, 200);
}

#[tokio::test]
async fn databases_collections_indexes_and_text_commands() {
    let server = MongoServer::start();
    let db = connect(&server).await;

    db.create_collection("people", bytes(doc! {})).await.unwrap();
    let e = db.create_collection("people", bytes(doc! {})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DuplicateObject, "{e}");
    db.run_command(
        None,
        bytes(doc! {"create": "adults", "viewOn": "people", "pipeline": [{"$match": {"age": {"$gte": 18}}}]}),
    )
    .await
    .unwrap();
    let colls = db.list_collections(None).await.unwrap();
    let kinds: Vec<(&str, &str)> = colls.iter().map(|c| (c.name.as_str(), c.kind.as_str())).collect();
    assert_eq!(kinds, [("adults", "view"), ("people", "collection")]);
    let dbs = db.list_databases().await.unwrap();
    assert!(dbs.iter().any(|d| d.name == "dbx"), "{dbs:?}");

    // Indexes: create (unique), list, a duplicate refused, drop.
    let name = db
        .create_index("people", bytes(doc! {"email": 1}), bytes(doc! {"unique": true}))
        .await
        .unwrap();
    assert_eq!(name, "email_1");
    let named = db
        .create_index(
            "people",
            bytes(doc! {"age": -1, "name": 1}),
            bytes(doc! {"name": "by_age"}),
        )
        .await
        .unwrap();
    assert_eq!(named, "by_age");
    let idx = docs(&db.list_indexes("people").await.unwrap());
    let mut names: Vec<&str> = idx.iter().map(|d| d.get_str("name").unwrap()).collect();
    names.sort();
    assert_eq!(names, ["_id_", "by_age", "email_1"]);
    let email = idx
        .iter()
        .find(|d| d.get_str("name").is_ok_and(|n| n == "email_1"))
        .unwrap();
    assert!(email.get_bool("unique").unwrap());
    db.insert("people", vec![bytes(doc! {"email": "a@x", "age": 30})], true)
        .await
        .unwrap();
    let e = db
        .insert("people", vec![bytes(doc! {"email": "a@x", "age": 40})], true)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(e.as_server_error().unwrap().constraint_name.as_deref(), Some("email_1"));
    db.drop_index("people", "by_age").await.unwrap();
    let e = db.drop_index("people", "by_age").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
    let e = db.list_indexes("nosuch").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");

    // Statistics.
    let stats = docs(&[db.collection_stats("people").await.unwrap()]);
    assert_eq!(stats[0].get_str("ns").unwrap(), "dbx.people");

    // Commands as text through base.query: one row of relaxed Extended JSON per document.
    let r = db
        .query(
            r#"{"find": "people", "filter": {"age": {"$gt": 18}}, "projection": {"_id": 0}}"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.columns[0].name, "document");
    assert_eq!(r.rows, vec![vec![Value::Json(r#"{"email":"a@x","age":30}"#.into())]]);
    let n = db
        .execute(
            r#"{"insert": "people", "documents": [{"email": "b@x", "born": {"$date": "2000-01-02T03:04:05Z"}}]}"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let born = server.pymongo("print(c.dbx.people.find_one({'email': 'b@x'})['born'].isoformat())");
    assert_eq!(born.trim(), "2000-01-02T03:04:05");
    let e = db.query("{\"find\": \"people\",, }", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("line 1"), "{e}");

    // Health: the server's version from buildInfo.
    let h = db.health_check().await.unwrap();
    let version = server.pymongo("print(c.admin.command('buildInfo')['version'])");
    assert_eq!(h.server_version, version.trim());

    db.drop_collection("people").await.unwrap();
    let e = db.collection_stats("people").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
}

#[tokio::test]
async fn transactions_commit_and_roll_back() {
    let server = MongoServer::start();
    let db = connect(&server).await;
    db.create_collection("accounts", bytes(doc! {})).await.unwrap();

    let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
    tx.execute(r#"{"insert": "accounts", "documents": [{"_id": 1}, {"_id": 2}]}"#, &[])
        .await
        .unwrap();
    // Inside: visible; outside (another connection): not yet.
    let inside = tx.query(r#"{"find": "accounts"}"#, &[]).await.unwrap();
    assert_eq!(inside.rows.len(), 2);
    assert_eq!(db.get_collection_count("accounts", None).await.unwrap().count, 0);
    tx.rollback().await.unwrap();
    assert_eq!(server.pymongo("print(c.dbx.accounts.count_documents({}))").trim(), "0");

    let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
    tx.execute(r#"{"insert": "accounts", "documents": [{"_id": 3}]}"#, &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(server.pymongo("print(c.dbx.accounts.count_documents({}))").trim(), "1");

    // A command a transaction cannot run is refused; the server aborts the
    // transaction, and rolling back still succeeds.
    let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
    tx.execute(r#"{"insert": "accounts", "documents": [{"_id": 4}]}"#, &[])
        .await
        .unwrap();
    let e = tx.query(r#"{"count": "accounts"}"#, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    tx.rollback().await.unwrap();
    assert_eq!(server.pymongo("print(c.dbx.accounts.count_documents({}))").trim(), "1");

    let e = db
        .transaction(TransactionOptions {
            read_only: true,
            ..TransactionOptions::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn scram_sha256_and_sha1() {
    let server = MongoServer::start_auth();
    let rt = runtime();
    for (user, password, mechanism) in USERS {
        // The mechanism the server offers for the user, and the one named in the URL.
        for params in [String::new(), format!("authMechanism={mechanism}")] {
            let url = server.url(Some((user, password)), "dbx", &format!("authSource=admin&{params}"));
            let db = rt
                .connect(&url)
                .await
                .unwrap_or_else(|e| panic!("{user} {params}: {e}"));
            db.insert("t", vec![bytes(doc! {"by": *user})], true).await.unwrap();
        }
    }
    // The user's database defaults to the URL's: alice is in admin.
    let e = rt
        .connect(&server.url(Some(("alice", "alice-pw")), "dbx", ""))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    // Wrong password, wrong mechanism: authentication errors that do not show the password.
    let e = rt
        .connect(&server.url(Some(("alice", "wrong-pw")), "admin", ""))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert!(!e.to_string().contains("wrong-pw"));
    let e = rt
        .connect(&server.url(Some(("bob", "bob-pw")), "admin", "authMechanism=SCRAM-SHA-256"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    let e = rt
        .connect(&server.url(Some(("bob", "bob-pw")), "admin", "authMechanism=GSSAPI"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    // Without credentials the server refuses the work.
    let db = rt.connect(&server.url(None, "dbx", "")).await.unwrap();
    let e = db.find("t", bytes(doc! {}), FindOptions::default()).await.unwrap_err();
    assert_eq!(
        server_code(&e),
        (ErrorKind::Permission, Some("Unauthorized".into()), Some(13))
    );
}

#[tokio::test]
async fn tls_from_the_first_byte() {
    let server = MongoServer::start_tls();
    let rt = runtime();
    let ca = server.ca_file.display().to_string();
    let url = |host: &str, params: &str| format!("mongodb://{host}:{}/dbx?{params}", server.port);

    // Verified chain and name.
    let db = rt
        .connect(&url("localhost", &format!("tls=true&tlsCAFile={ca}")))
        .await
        .unwrap();
    db.insert("t", vec![bytes(doc! {"a": 1})], true).await.unwrap();
    // tlsCAFile alone turns TLS on.
    rt.connect(&url("localhost", &format!("tlsCAFile={ca}")))
        .await
        .unwrap()
        .test_connection()
        .await
        .unwrap();
    // The wrong name, an unknown CA: TLS errors.
    let e = rt
        .connect(&url("127.0.0.1", &format!("tls=true&tlsCAFile={ca}")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    let other = server.other_ca_file.display().to_string();
    let e = rt
        .connect(&url("localhost", &format!("tls=true&tlsCAFile={other}")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    // tlsInsecure and tlsAllowInvalidCertificates accept any certificate.
    for insecure in ["tlsInsecure=true", "tlsAllowInvalidCertificates=true"] {
        let db = rt.connect(&url("127.0.0.1", insecure)).await.unwrap();
        assert_eq!(db.get_collection_count("t", None).await.unwrap().count, 1);
    }
    // Plain TCP to a TLS server fails cleanly.
    let e = rt.connect(&url("127.0.0.1", "tls=false")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Connection | ErrorKind::Protocol), "{e}");
}

/// What a scripted server answers to a request id.
type Reply = Box<dyn Fn(i32) -> Vec<u8> + Send>;

/// A one-shot server that answers the first request (the `hello`) with
/// `reply(request_id)` and then closes.
fn scripted_server(reply: impl Fn(i32) -> Vec<u8> + Send + 'static) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Each connection attempt of the pool gets the same answer.
        for stream in listener.incoming().take(4) {
            let Ok(mut s) = stream else { return };
            let mut head = [0u8; 16];
            if s.read_exact(&mut head).is_err() {
                continue;
            }
            let len = i32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
            let mut rest = vec![0u8; len.saturating_sub(16)];
            let _ = s.read_exact(&mut rest);
            let id = i32::from_le_bytes(head[4..8].try_into().unwrap());
            let _ = s.write_all(&reply(id));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
    port
}

fn op_msg(response_to: i32, body: &[u8], length: Option<i32>) -> Vec<u8> {
    let len = length.unwrap_or(16 + 4 + 1 + body.len() as i32);
    let mut m = Vec::new();
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(&7i32.to_le_bytes());
    m.extend_from_slice(&response_to.to_le_bytes());
    m.extend_from_slice(&2013i32.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.push(0);
    m.extend_from_slice(body);
    m
}

#[tokio::test]
async fn bad_server_replies_are_typed_errors_never_crashes() {
    let rt = runtime();
    let hello = bytes(doc! {"ok": 1, "maxWireVersion": 21, "isWritablePrimary": true});
    let cases: Vec<(&str, Reply)> = vec![
        (
            "longer than maxMessageSizeBytes",
            Box::new(move |id| op_msg(id, &[5, 0, 0, 0, 0], Some(100_000_000))),
        ),
        (
            "shorter than a header",
            Box::new(move |id| op_msg(id, &[5, 0, 0, 0, 0], Some(8))),
        ),
        (
            "bad BSON element type",
            Box::new(move |id| op_msg(id, &[9, 0, 0, 0, 0x20, b'o', b'k', 0, 0], None)),
        ),
        (
            "BSON length past the message",
            Box::new(move |id| op_msg(id, &[200, 0, 0, 0, 0], None)),
        ),
        (
            "a reply to another request",
            Box::new({
                let hello = hello.clone();
                move |id| op_msg(id + 1, &hello, None)
            }),
        ),
        ("the connection closed", Box::new(|_| Vec::new())),
        (
            "a server too old",
            Box::new(|id| op_msg(id, &bytes(doc! {"ok": 1, "maxWireVersion": 2}), None)),
        ),
    ];
    for (what, reply) in cases {
        let port = scripted_server(reply);
        let e = rt
            .connect(&format!("mongodb://127.0.0.1:{port}/dbx?connectTimeoutMS=5000"))
            .await
            .expect_err(what);
        assert!(!e.is_crash(), "{what}: {e}");
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Protocol | ErrorKind::Connection | ErrorKind::Unsupported
            ),
            "{what}: {e}"
        );
    }
}

/// `op_msg` with flag bit 0 and the CRC-32C of the message after it;
/// `corrupt` flips a bit of the body after the sum is taken.
fn op_msg_with_checksum(response_to: i32, body: &[u8], corrupt: bool) -> Vec<u8> {
    let mut m = op_msg(response_to, body, Some(16 + 4 + 1 + body.len() as i32 + 4));
    m[16] = 1;
    let sum = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&m);
    m.extend_from_slice(&sum.to_le_bytes());
    if corrupt {
        m[22] ^= 1;
    }
    m
}

#[tokio::test]
async fn checksummed_replies_are_checked() {
    let rt = runtime();
    let hello = bytes(doc! {"ok": 1, "maxWireVersion": 21, "isWritablePrimary": true});
    // A good sum: the handshake goes on (the scripted server then hangs up).
    let port = scripted_server({
        let hello = hello.clone();
        move |id| op_msg_with_checksum(id, &hello, false)
    });
    let e = rt
        .connect(&format!("mongodb://127.0.0.1:{port}/dbx?connectTimeoutMS=5000"))
        .await
        .err();
    if let Some(e) = &e {
        assert!(!e.to_string().contains("checksum"), "a good checksum was refused: {e}");
    }
    // A changed byte: a protocol error naming the checksum.
    let port = scripted_server(move |id| op_msg_with_checksum(id, &hello, true));
    let e = rt
        .connect(&format!("mongodb://127.0.0.1:{port}/dbx?connectTimeoutMS=5000"))
        .await
        .expect_err("a corrupt message");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
}

/// A server on 127.0.0.1 that answers each command of each of its first 8
/// connections with `answer(connection number, command)`; `None` hangs that
/// connection for 30 s (a command that never ends). Gives its port.
fn command_server(answer: impl Fn(usize, &Document) -> Option<Document> + Send + Sync + 'static) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(8).enumerate() {
            let Ok(mut s) = stream else { return };
            let answer = answer.clone();
            std::thread::spawn(move || loop {
                let mut head = [0u8; 16];
                if s.read_exact(&mut head).is_err() {
                    return;
                }
                let len = i32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
                let mut rest = vec![0u8; len.saturating_sub(16)];
                if s.read_exact(&mut rest).is_err() {
                    return;
                }
                let id = i32::from_le_bytes(head[4..8].try_into().unwrap());
                let Ok(cmd) = Document::from_reader(&rest[5..]) else {
                    return;
                };
                let Some(reply) = answer(n, &cmd) else {
                    std::thread::sleep(std::time::Duration::from_secs(30));
                    return;
                };
                if s.write_all(&op_msg(id, &bytes(reply), None)).is_err() {
                    return;
                }
            });
        }
    });
    port
}

/// The name of a command: its first key.
fn command_name(cmd: &Document) -> &str {
    cmd.keys().next().map_or("", |k| k.as_str())
}

/// A [`command_server`] that answers `hello` with connection id 42 on the
/// first connection (7 on later ones), `find` never, `currentOp` with an
/// operation of connection 42, and `killOp` recorded; anything else
/// `{ok: 1}`.
fn killop_server() -> (u16, std::sync::mpsc::Receiver<Bson>) {
    let (killed, seen) = std::sync::mpsc::channel();
    let killed = std::sync::Mutex::new(killed);
    let port = command_server(move |n, cmd| {
        Some(match command_name(cmd) {
            "hello" => doc! {"ok": 1, "maxWireVersion": 21, "isWritablePrimary": true,
            "connectionId": if n == 0 { 42 } else { 7 }},
            "find" => return None,
            "currentOp" => doc! {"ok": 1, "inprog": [
                {"opid": 5, "connectionId": 7, "active": true, "op": "command"},
                {"opid": 99, "connectionId": 42, "active": true, "op": "query"},
            ]},
            "killOp" => {
                let _ = killed
                    .lock()
                    .unwrap()
                    .send(cmd.get("op").cloned().unwrap_or(Bson::Null));
                doc! {"ok": 1, "info": "operation killed"}
            }
            _ => doc! {"ok": 1},
        })
    });
    (port, seen)
}

/// A [`command_server`] with one cursor, id 77 on `dbx.c`: `find` gives
/// documents `n` 1–2, each `getMore` the next two, the `getMores`-th
/// exhausts it (id 0). Every `find`, `getMore`, `killCursors` and `ping`
/// is logged as `name cursor-id` (`find 0`, `getMore 77`, …) in order.
fn cursor_server(get_mores: i64) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    let served = std::sync::atomic::AtomicI64::new(0);
    let port = command_server(move |_, cmd| {
        let name = command_name(cmd);
        let id = match cmd
            .get("getMore")
            .or_else(|| cmd.get_array("cursors").ok().and_then(|a| a.first()))
        {
            Some(Bson::Int64(id)) => *id,
            _ => 0,
        };
        if ["find", "getMore", "killCursors", "ping"].contains(&name) {
            seen.lock().unwrap().push(format!("{name} {id}"));
        }
        Some(match name {
            "hello" => doc! {"ok": 1, "maxWireVersion": 21, "isWritablePrimary": true},
            "find" => doc! {"ok": 1, "cursor": {"id": 77i64, "ns": "dbx.c", "firstBatch": [{"n": 1}, {"n": 2}]}},
            "getMore" => {
                let k = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let next = if k == get_mores { 0i64 } else { 77 };
                doc! {"ok": 1, "cursor": {"id": next, "ns": "dbx.c", "nextBatch": [{"n": 2 * k + 1}, {"n": 2 * k + 2}]}}
            }
            "killCursors" => doc! {"ok": 1, "cursorsKilled": [id]},
            _ => doc! {"ok": 1},
        })
    });
    (port, log)
}

/// A [`cursor_server`] of `get_mores`, a pool of one connection to it,
/// and a stream of its cursor in batches of 2.
async fn cursor_stream(
    get_mores: i64,
) -> (
    WasmDriver,
    driverbox::api::nosql::DocumentStream,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let (port, log) = cursor_server(get_mores);
    let pool = driverbox::PoolConfig {
        max_size: 1,
        ..driverbox::PoolConfig::default()
    };
    let db = runtime()
        .connect_with(&format!("mongodb://127.0.0.1:{port}/dbx"), pool)
        .await
        .unwrap();
    let find = driverbox::api::nosql::CursorRequest::Find {
        filter: bytes(doc! {}),
        options: FindOptions::default(),
    };
    let stream = db.stream_documents("c", find, 2).await.unwrap();
    (db, stream, log)
}

#[tokio::test]
async fn a_stream_reads_ahead_and_kills_its_cursor_when_dropped() {
    use futures::StreamExt;
    // Read to the end: batches in order, one getMore ahead, no killCursors.
    let (db, mut stream, log) = cursor_stream(3).await;
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(ints(&first, "n"), [1, 2]);
    // The next batch is asked for without the caller asking.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while log.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(log.lock().unwrap()[..2], ["find 0", "getMore 77"]);
    let mut rest = Vec::new();
    while let Some(batch) = stream.next().await {
        rest.extend(ints(&batch.unwrap(), "n"));
    }
    assert_eq!(rest, [3, 4, 5, 6, 7, 8]);
    drop(stream);
    db.query(r#"{"ping": 1}"#, &[]).await.unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["find 0", "getMore 77", "getMore 77", "getMore 77", "ping 0"]
    );

    // Dropped after one batch: the getMores out (the host's task reads up
    // to two batches ahead, the driver asks for one more) are read, then
    // the cursor killed, and the connection answers the next command with
    // its own reply.
    let (db, mut stream, log) = cursor_stream(5).await;
    stream.next().await.unwrap().unwrap();
    drop(stream);
    let pong = db.query(r#"{"ping": 1}"#, &[]).await.unwrap();
    assert_eq!(pong.rows.len(), 1, "{pong:?}");
    let seen = log.lock().unwrap().clone();
    let get_mores = seen.iter().filter(|c| *c == "getMore 77").count();
    assert!((1..=3).contains(&get_mores), "{seen:?}");
    let mut expected = vec!["find 0"];
    expected.extend(std::iter::repeat_n("getMore 77", get_mores));
    expected.extend(["killCursors 77", "ping 0"]);
    assert_eq!(seen, expected);

    // Dropped when the getMore out exhausts the cursor: nothing to kill.
    let (db, mut stream, log) = cursor_stream(1).await;
    stream.next().await.unwrap().unwrap();
    drop(stream);
    db.query(r#"{"ping": 1}"#, &[]).await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["find 0", "getMore 77", "ping 0"]);
}

#[tokio::test]
async fn a_command_past_its_deadline_is_killed_with_kill_op() {
    let (port, killed) = killop_server();
    let mut limits = driverbox::Limits::default();
    limits.set("timeout=1s").unwrap();
    let db = driverbox_tests::runtime_with(limits)
        .connect_with(
            &format!("mongodb://127.0.0.1:{port}/dbx"),
            driverbox::PoolConfig {
                max_size: 1,
                ..driverbox::PoolConfig::default()
            },
        )
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let e = db.query(r#"{"find": "c"}"#, &[]).await.unwrap_err();
    assert!(matches!(e, driverbox::Error::Timeout { .. }), "{e}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // The fresh connection found connection 42's operation and killed only it.
    let op = tokio::task::spawn_blocking(move || killed.recv_timeout(std::time::Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("a killOp");
    assert_eq!(op, Bson::Int32(99));

    // The pool goes on with a fresh connection.
    let e = db.query(r#"{"ping": 1}"#, &[]).await;
    assert!(e.is_ok(), "{e:?}");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The zone of the `mongodb+srv` tests, under `driverbox.test`: `cluster0`
/// lists a dead seed and then the server, every other name breaks one rule.
fn srv_zone(port: u16, tls_port: u16, dead: u16) -> Vec<hickory_proto::rr::Record> {
    use driverbox_tests::dnsserver::{a, srv, txt};
    let lo = std::net::Ipv4Addr::LOCALHOST;
    let mut zone = vec![
        srv("_mongodb._tcp.cluster0.driverbox.test", dead, "dead.driverbox.test"),
        srv("_mongodb._tcp.cluster0.driverbox.test", port, "db1.driverbox.test"),
        txt("cluster0.driverbox.test", &["authSource=admin"]),
        a("dead.driverbox.test", lo),
        a("db1.driverbox.test", lo),
        srv("_mongodb._tcp.secure.driverbox.test", tls_port, "db1.driverbox.test"),
        srv("_custom._tcp.svc.driverbox.test", port, "db1.driverbox.test"),
        srv("_mongodb._tcp.outside.driverbox.test", port, "db1.elsewhere.test"),
        a("db1.elsewhere.test", lo),
        srv("_mongodb._tcp.twotxt.driverbox.test", port, "db1.driverbox.test"),
        txt("twotxt.driverbox.test", &["authSource=admin"]),
        txt("twotxt.driverbox.test", &["replicaSet=rs0"]),
        srv("_mongodb._tcp.badtxt.driverbox.test", port, "db1.driverbox.test"),
        txt("badtxt.driverbox.test", &["authSource=admin&connectTimeoutMS=300000"]),
        srv("_mongodb._tcp.noaddr.driverbox.test", port, "gone.driverbox.test"),
    ];
    // More records than fit in 512 bytes: the answer comes truncated over UDP, whole over TCP.
    for i in 0..24 {
        let name = format!("node{i:02}-with-a-rather-long-label.driverbox.test");
        zone.push(srv("_mongodb._tcp.big.driverbox.test", port, &name));
        zone.push(a(&name, lo));
    }
    zone
}

#[tokio::test]
async fn mongodb_srv_finds_the_servers_through_dns() {
    use driverbox_tests::dnsserver::DnsServer;
    let server = MongoServer::start();
    let tls_server = MongoServer::start_tls();
    let dns = DnsServer::start(srv_zone(server.port, tls_server.port, closed_port()));
    let rt = driverbox::Runtime::builder()
        .cache_dir(Some(driverbox_tests::cache_dir()))
        .dns_server(dns.addr)
        .build()
        .unwrap();

    // SRV and TXT looked up by the host, the dead seed skipped, documents written and read back.
    let db = rt
        .connect("mongodb+srv://cluster0.driverbox.test/srvdb?tls=false")
        .await
        .unwrap();
    let written: Vec<Vec<u8>> = (1..=3).map(|i| bytes(doc! {"_id": i, "via": "srv"})).collect();
    assert_eq!(db.insert("things", written.clone(), true).await.unwrap(), 3);
    let plain = runtime().connect(&server.url(None, "srvdb", "")).await.unwrap();
    let read = plain
        .find("things", bytes(doc! {}), FindOptions::default())
        .await
        .unwrap();
    assert_eq!(read, written, "what went in through mongodb+srv is on the server");
    let back = db
        .find("things", bytes(doc! {"_id": 2}), FindOptions::default())
        .await
        .unwrap();
    assert_eq!(docs(&back), vec![doc! {"_id": 2, "via": "srv"}]);

    // srvServiceName names the SRV record; a truncated UDP answer is asked again over TCP.
    for url in [
        "mongodb+srv://svc.driverbox.test/srvdb?tls=false&srvServiceName=custom",
        "mongodb+srv://big.driverbox.test/srvdb?tls=false&srvMaxHosts=2",
    ] {
        let db = rt.connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(db.get_collection_count("things", None).await.unwrap().count, 3, "{url}");
    }

    // TLS is on by default: the plain server cannot be reached without tls=false,
    // the TLS server can (its certificate names localhost, so tlsInsecure here).
    // (A plain server reads the TLS ClientHello as the start of a message and waits.)
    let e = rt
        .connect("mongodb+srv://cluster0.driverbox.test/srvdb?connectTimeoutMS=1500")
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Tls | ErrorKind::Connection | ErrorKind::Timeout),
        "{e}"
    );
    let secure = rt
        .connect("mongodb+srv://secure.driverbox.test/srvdb?tlsInsecure=true")
        .await
        .unwrap();
    secure.insert("t", vec![bytes(doc! {"a": 1})], true).await.unwrap();
    let e = rt
        .connect("mongodb+srv://secure.driverbox.test/srvdb?tls=false")
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Connection | ErrorKind::Protocol), "{e}");
}

#[tokio::test]
async fn mongodb_srv_rules_give_clear_errors() {
    use driverbox_tests::dnsserver::DnsServer;
    let server = MongoServer::start();
    let dns = DnsServer::start(srv_zone(server.port, server.port, closed_port()));
    let rt = driverbox::Runtime::builder()
        .cache_dir(Some(driverbox_tests::cache_dir()))
        .dns_server(dns.addr)
        .build()
        .unwrap();
    let fails = |host: &'static str, params: &'static str| {
        let rt = rt.clone();
        async move {
            rt.connect(&format!("mongodb+srv://{host}/srvdb?tls=false{params}"))
                .await
                .map(|_| ())
                .unwrap_err()
        }
    };

    let e = fails("outside.driverbox.test", "").await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(
        e.to_string().contains("db1.elsewhere.test") && e.to_string().contains("not under driverbox.test"),
        "{e}"
    );
    let e = fails("twotxt.driverbox.test", "").await;
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("2 TXT records"), "{e}");
    let e = fails("badtxt.driverbox.test", "").await;
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("connectTimeoutMS"), "{e}");
    let e = fails("missing.driverbox.test", "").await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(
        e.to_string().contains("NXDOMAIN") && e.to_string().contains("_mongodb._tcp.missing.driverbox.test"),
        "{e}"
    );
    let e = fails("x.refused", "").await;
    assert!(e.to_string().contains("refused"), "{e}");
    let e = fails("noaddr.driverbox.test", "").await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.to_string().contains("gone.driverbox.test"), "{e}");
    // srvMaxHosts with replicaSet: refused once the lookups are done.
    let e = fails("cluster0.driverbox.test", "&srvMaxHosts=1&replicaSet=rs0").await;
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");

    // A port, two hosts or an srv option on mongodb://: refused before any lookup.
    let before = dns.queries();
    for (url, says) in [
        ("mongodb+srv://cluster0.driverbox.test:27017/srvdb?tls=false", "no port"),
        (
            "mongodb+srv://a.driverbox.test,b.driverbox.test/srvdb?tls=false",
            "exactly one host",
        ),
        ("mongodb+srv://127.0.0.1/srvdb?tls=false", "host name"),
        (
            "mongodb+srv://cluster0.driverbox.test/srvdb?tls=false&srvServiceName=bad_name",
            "srvServiceName",
        ),
    ] {
        let e = rt.connect(url).await.map(|_| ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{url}: {e}");
        assert!(e.to_string().contains(says), "{url}: {e}");
    }
    let e = rt
        .connect(&server.url(None, "srvdb", "srvMaxHosts=2"))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(e.to_string().contains("mongodb+srv"), "{e}");
    assert_eq!(
        dns.queries(),
        before,
        "nothing was looked up for a URL that breaks a rule"
    );
}

/// `dns` is imported only by the driver that needs it; components without
/// it (0.2 drivers, the 0.1 fixture) load and run as before.
#[tokio::test]
async fn only_the_mongodb_driver_imports_dns() {
    let rt = runtime();
    let drivers = rt.drivers().await.unwrap();
    let imports_dns = |name: &str| {
        let d = drivers
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} is built in"));
        d.imports.iter().any(|i| i.starts_with("driverbox:driver/dns@"))
    };
    assert!(imports_dns("mongodb"));
    for other in ["postgres", "sqlite", "mysql"] {
        assert!(!imports_dns(other), "{other}");
    }
    let mongodb = drivers.iter().find(|d| d.name == "mongodb").unwrap();
    assert!(mongodb.schemes.contains(&"mongodb+srv".to_string()));
    let fixture = rt
        .load_driver_file(&driverbox_tests::postgres_v01_fixture())
        .await
        .unwrap();
    assert_eq!(fixture.contract, "0.1.0");
    let pg = rt.connect(driverbox_tests::PG_URL).await.unwrap();
    pg.test_connection().await.unwrap();
}
