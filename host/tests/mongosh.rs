//! The CLI with a document store, against a throwaway SecantusDB:
//! mongosh statements in `query` (every common form, relaxed syntax,
//! output formats, syntax errors with positions), the shell (`show`, `use`,
//! `it`), and import/export of NDJSON, JSON arrays and CSV. What the CLI
//! wrote is read back with pymongo, the reference client.

mod common;

/// The test DNS server of the integration tests (mongodb+srv).
#[path = "../../tests/src/dnsserver.rs"]
#[allow(dead_code)]
mod dnsserver;

use std::process::Command;

use common::*;

/// Runs a Python script with `c` a pymongo client of `server`; its stdout.
fn pymongo(server: &MongoServer, script: &str) -> String {
    let python = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-mongo/bin/python");
    let program = format!(
        "import pymongo, json\nfrom bson import json_util\nc = pymongo.MongoClient('mongodb://127.0.0.1:{}/', serverSelectionTimeoutMS=10000)\n{script}\n",
        server.port
    );
    let out = Command::new(python)
        .arg("-c")
        .arg(program)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "pymongo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `driverbox query URL TEXT [ARGS]`, which must succeed; its stdout.
fn query(url: &str, text: &str, extra: &[&str]) -> String {
    let mut args = vec!["query", url, text];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, 0, "{text}: {}", r.all());
    r.stdout
}

/// `driverbox shell URL` with `input` piped in.
fn shell(url: &str, input: &str, extra: &[&str]) -> Run {
    let mut args = vec!["shell", url];
    args.extend_from_slice(extra);
    run_with_input(command(&args), input)
}

#[test]
fn query_takes_mongosh_statements() {
    let server = MongoServer::start();
    let url = server.url("shop");

    // Writes in the relaxed syntax: unquoted keys, single quotes, the constructors.
    let out = query(
        &url,
        "db.users.insertMany([\n  {_id: 1, name: 'Ann', age: 34, born: ISODate('1990-05-01'), \
         visits: NumberLong('9007199254740993'), balance: NumberDecimal('12.50'), \
         ref: ObjectId('65a1b2c3d4e5f60718293a4b'), tags: ['a', \"b\"]},\n  \
         {_id: 2, name: 'Bob', age: 25, score: 2.5},\n  {_id: 3, name: 'Cy', age: 41, nick: null}\n])",
        &[],
    );
    assert_eq!(out.trim(), r#"{"acknowledged":true,"insertedIds":{"0":1,"1":2,"2":3}}"#);
    let out = query(&url, "db.users.insertOne({name: 'Dee', age: 30})", &[]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let oid = v["insertedId"]["$oid"]
        .as_str()
        .expect("an ObjectId made by the CLI")
        .to_string();
    // pymongo reads the same types and the same _id.
    let types = pymongo(
        &server,
        &format!(
            "u = c.shop.users.find_one({{'_id': 1}})\n\
             print(type(u['visits']).__name__, u['visits'], type(u['age']).__name__, u['balance'], u['born'].isoformat(), str(u['ref']))\n\
             print(c.shop.users.find_one({{'name': 'Dee'}})['_id'] == __import__('bson').ObjectId('{oid}'))"
        ),
    );
    assert_eq!(
        types.trim(),
        "Int64 9007199254740993 int 12.50 1990-05-01T00:00:00 65a1b2c3d4e5f60718293a4b\nTrue"
    );

    // The issue's example: filter, sort, limit; relaxed Extended JSON, one document a line.
    let out = query(
        &url,
        "db.users.find({age: {$gt: 30}}, {_id: 0, name: 1, age: 1}).sort({name: 1}).limit(2)",
        &[],
    );
    assert_eq!(out, "{\"name\":\"Ann\",\"age\":34}\n{\"name\":\"Cy\",\"age\":41}\n");
    let expected = pymongo(
        &server,
        "print(json_util.dumps(list(c.shop.users.find({'age': {'$gt': 30}}, {'_id': 0, 'name': 1, 'age': 1}).sort('name', 1).limit(2)), json_options=json_util.RELAXED_JSON_OPTIONS).replace(' ', ''))",
    );
    let ours: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let theirs: Vec<serde_json::Value> = serde_json::from_str(expected.trim()).unwrap();
    assert_eq!(ours, theirs);
    let out = query(&url, "db.users.findOne({_id: 1}, {visits: 1, born: 1})", &[]);
    assert_eq!(
        out.trim(),
        r#"{"_id":1,"born":{"$date":"1990-05-01T00:00:00Z"},"visits":9007199254740993}"#
    );
    // Canonical Extended JSON with --format json.
    let out = query(
        &url,
        "db.users.find({_id: 1}, {visits: 1, age: 1})",
        &["--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"_id": {"$numberInt": "1"}, "age": {"$numberInt": "34"}, "visits": {"$numberLong": "9007199254740993"}}])
    );
    // A table and CSV of the top-level fields (a missing field is empty).
    let out = query(
        &url,
        "db.users.find({_id: {$lte: 3}}, {name: 1, score: 1}).sort({_id: 1})",
        &["--format", "csv"],
    );
    assert_eq!(out, "_id,name,score\n1,Ann,\n2,Bob,2.5\n3,Cy,\n");
    let out = query(
        &url,
        "db.users.find({_id: 2}, {name: 1, age: 1})",
        &["--format", "table"],
    );
    assert!(out.contains(" _id | name | age"), "{out}");
    assert!(out.contains("(1 row)"), "{out}");

    // Counts, aggregate, distinct.
    assert_eq!(
        query(&url, "db.users.countDocuments({age: {$gte: 30}})", &[]).trim(),
        "3"
    );
    assert_eq!(query(&url, "db.users.find({age: {$gte: 30}}).count()", &[]).trim(), "3");
    assert_eq!(query(&url, "db.users.estimatedDocumentCount()", &[]).trim(), "4");
    let out = query(
        &url,
        "db.users.aggregate([{$match: {age: {$lt: 40}}}, {$group: {_id: null, total: {$sum: '$age'}}}])",
        &[],
    );
    assert_eq!(out.trim(), r#"{"_id":null,"total":89}"#);
    let mut names: Vec<String> =
        serde_json::from_str(query(&url, "db.users.distinct('name', {age: {$lt: 31}})", &[]).trim()).unwrap();
    names.sort();
    assert_eq!(names, ["Bob", "Dee"]);

    // Updates and deletes, with mongosh's result documents.
    let out = query(
        &url,
        "db.users.updateOne({_id: 2}, {$inc: {age: 1}, $set: {'a.b': true}})",
        &[],
    );
    assert_eq!(
        out.trim(),
        r#"{"acknowledged":true,"insertedId":null,"matchedCount":1,"modifiedCount":1,"upsertedCount":0}"#
    );
    let out = query(
        &url,
        "db.users.updateMany({age: {$gt: 100}}, {$set: {old: true}}, {upsert: true})",
        &[],
    );
    assert!(
        out.contains(r#""upsertedCount":1"#) && out.contains(r#""insertedId":{"$oid""#),
        "{out}"
    );
    let out = query(&url, "db.users.updateMany({}, [{$set: {n: {$add: ['$age', 0]}}}])", &[]);
    assert!(out.contains(r#""matchedCount":5"#), "{out}");
    query(&url, "db.users.replaceOne({_id: 3}, {name: 'Cy', age: 42})", &[]);
    assert_eq!(
        pymongo(
            &server,
            "u = c.shop.users.find_one({'_id': 2}); print(u['age'], u['a'])"
        )
        .trim(),
        "26 {'b': True}"
    );
    assert_eq!(
        pymongo(&server, "print(sorted(c.shop.users.find_one({'_id': 3}).keys()))").trim(),
        "['_id', 'age', 'name']"
    );
    let out = query(&url, "db.users.deleteMany({old: true})", &[]);
    assert_eq!(out.trim(), r#"{"acknowledged":true,"deletedCount":1}"#);
    let out = query(&url, "db.users.deleteOne({_id: {$in: [1, 2]}})", &[]);
    assert_eq!(out.trim(), r#"{"acknowledged":true,"deletedCount":1}"#);

    // Indexes, commands, collections.
    assert_eq!(
        query(&url, "db.users.createIndex({name: 1}, {unique: true})", &[]).trim(),
        "\"name_1\""
    );
    let out = query(&url, "db.users.getIndexes()", &[]);
    assert!(
        out.contains(r#""key":{"name":1}"#) && out.contains(r#""unique":true"#),
        "{out}"
    );
    let r = run(&["query", &url, "db.users.insertOne({name: 'Dee'})"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr.contains("11000") || r.stderr.contains("duplicate"),
        "{}",
        r.stderr
    );
    query(&url, "db.users.dropIndex('name_1')", &[]);
    assert_eq!(query(&url, "db.runCommand({ping: 1})", &[]).trim(), r#"{"ok":1.0}"#);
    assert_eq!(query(&url, "db.getCollectionNames()", &[]).trim(), r#"["users"]"#);
    assert_eq!(query(&url, "db.getName()", &[]).trim(), "\"shop\"");
    // Several statements, one after the other; a collection with a dot and a bracket name.
    let out = query(
        &url,
        "db.createCollection('x.y'); db['x.y'].insertOne({_id: 'k'})\ndb.x.y.find()",
        &[],
    );
    assert!(out.ends_with("{\"_id\":\"k\"}\n"), "{out}");
    assert_eq!(query(&url, "db.getCollection('x.y').drop()", &[]).trim(), "true");
    // A missing collection: `false` where the server says NamespaceNotFound
    // (MongoDB before 7.0); SecantusDB, like MongoDB 7, succeeds.
    assert!(["true", "false"].contains(&query(&url, "db.nosuch.drop()", &[]).trim()));
    // A Extended JSON command still works as before.
    assert!(query(&url, r#"{"count": "users"}"#, &[]).contains("\"n\":"));

    // A syntax error is refused with its line and column, and nothing runs.
    let r = run(&["query", &url, "db.users.find({age: {$gt 30}})"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("line 1, column 26"), "{}", r.stderr);
    assert!(
        r.stderr.contains("LINE 1: db.users.find({age: {$gt 30}})"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "query",
        &url,
        "db.users.insertOne({_id: 9})\ndb.users.find({a: ObjectId('zz')})",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("line 2, column 28"), "{}", r.stderr);
    assert_eq!(
        pymongo(&server, "print(c.shop.users.count_documents({'_id': 9}))").trim(),
        "0"
    );
    let r = run(&["query", &url, "db.users.fnd()"]);
    assert!(r.stderr.contains("unknown collection method 'fnd'"), "{}", r.stderr);
}

#[test]
fn shell_shows_uses_and_pages() {
    let server = MongoServer::start();
    let url = server.url("shop");
    query(
        &url,
        &format!(
            "db.items.insertMany([{}])",
            (0..45).map(|i| format!("{{_id: {i}}}")).collect::<Vec<_>>().join(", ")
        ),
        &[],
    );
    query(&server.url("other"), "db.things.insertOne({_id: 'x'})", &[]);

    let r = shell(
        &url,
        "show dbs\nshow collections\ndb.items.find().sort({_id: 1})\nit\nit\nit\nuse other\nshow collections\ndb.things.find(\n  {}\n)\nexit\ndb.never.find()\n",
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let lines: Vec<&str> = r.stdout.lines().collect();
    let dbs: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert!(dbs.contains(&"shop") && dbs.contains(&"other"), "{}", r.stdout);
    assert!(lines.contains(&"items"), "{}", r.stdout);
    // Pages of 20: 0-19, 20-39, 40-44, then no cursor.
    let ids: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("{\"_id\":")).collect();
    assert_eq!(ids.len(), 46, "{}", r.stdout);
    assert_eq!(ids[0], "{\"_id\":0}");
    assert_eq!(ids[44], "{\"_id\":44}");
    assert_eq!(ids[45], "{\"_id\":\"x\"}");
    assert_eq!(r.stdout.matches("Type \"it\" for more").count(), 2, "{}", r.stdout);
    assert!(r.stderr.contains("no cursor"), "{}", r.stderr);
    assert!(r.stdout.contains("switched to db other"), "{}", r.stdout);
    assert!(lines.contains(&"things"), "{}", r.stdout);

    // -c with a format; a syntax error names its position.
    let r = shell(
        &url,
        "",
        &[
            "-c",
            "db.items.find({_id: {$lt: 2}}).sort({_id: -1})",
            "--format",
            "csv",
        ],
    );
    assert_eq!(r.stdout, "_id\n1\n0\n", "{}", r.all());
    let r = shell(&url, "db.items.find({_id: 1}\n})\ndb.items.countDocuments()\n", &[]);
    assert!(r.stderr.contains("line 2, column 1"), "{}", r.all());
    assert!(r.stdout.contains("45"), "the shell goes on after an error: {}", r.all());
}

#[test]
fn import_and_export_documents() {
    let server = MongoServer::start();
    let url = server.url("io");
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    // NDJSON with Extended JSON types.
    std::fs::write(
        path("in.ndjson"),
        "{\"_id\": 1, \"at\": {\"$date\": \"2024-01-02T00:00:00Z\"}, \"n\": {\"$numberLong\": \"7\"}}\n\n{\"_id\": 2, \"tags\": [\"a\"], \"d\": {\"$numberDecimal\": \"1.10\"}}\n",
    )
    .unwrap();
    let out = ok(&["import", &url, "docs", &path("in.ndjson")]);
    assert!(out.contains("imported 2 documents into docs"), "{out}");
    // A JSON array, and CSV typed as mongoimport types it.
    std::fs::write(
        path("in.json"),
        "[\n {\"_id\": 3, \"x\": {\"y\": 1}},\n {\"_id\": 4}\n]\n",
    )
    .unwrap();
    ok(&["import", &url, "docs", &path("in.json")]);
    std::fs::write(
        path("in.csv"),
        "_id,name,addr.city,score,big\n5,Ann,Oslo,2.5,3000000000\n6,\"Bo, Jr\",,1,\n",
    )
    .unwrap();
    ok(&["import", &url, "docs", &path("in.csv")]);
    let seen = pymongo(
        &server,
        "for d in c.io.docs.find().sort('_id', 1): print(json_util.dumps(d, json_options=json_util.CANONICAL_JSON_OPTIONS))",
    );
    let docs: Vec<serde_json::Value> = seen.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs.len(), 6, "{seen}");
    assert_eq!(docs[0]["n"], serde_json::json!({"$numberLong": "7"}));
    assert_eq!(docs[1]["d"], serde_json::json!({"$numberDecimal": "1.10"}));
    assert_eq!(docs[2]["x"]["y"], serde_json::json!({"$numberInt": "1"}));
    assert_eq!(docs[4]["addr"], serde_json::json!({"city": "Oslo"}));
    assert_eq!(docs[4]["score"], serde_json::json!({"$numberDouble": "2.5"}));
    assert_eq!(docs[4]["big"], serde_json::json!({"$numberLong": "3000000000"}));
    assert_eq!(docs[5]["name"], "Bo, Jr");

    // A malformed line imports nothing and names the line; a duplicate _id stops with the server's code.
    std::fs::write(path("bad.ndjson"), "{\"_id\": 10}\n{\"_id\": 11,,}\n").unwrap();
    let r = run(&["import", &url, "docs", &path("bad.ndjson")]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("bad.ndjson:2:"), "{}", r.stderr);
    std::fs::write(path("dup.ndjson"), "{\"_id\": 20}\n{\"_id\": 1}\n").unwrap();
    let r = run(&["import", &url, "docs", &path("dup.ndjson")]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr.contains("11000") || r.stderr.contains("duplicate"),
        "{}",
        r.stderr
    );
    assert_eq!(
        pymongo(&server, "print(c.io.docs.count_documents({'_id': {'$in': [10, 11]}}))").trim(),
        "0"
    );

    // Export: NDJSON (the default), a JSON array, CSV; streamed in small batches.
    let ndjson = ok(&[
        "export",
        &url,
        "db.docs.find({_id: {$lte: 2}}).sort({_id: 1})",
        "--batch-size",
        "1",
    ]);
    assert_eq!(
        ndjson,
        "{\"_id\":1,\"at\":{\"$date\":\"2024-01-02T00:00:00Z\"},\"n\":7}\n{\"_id\":2,\"tags\":[\"a\"],\"d\":{\"$numberDecimal\":\"1.10\"}}\n"
    );
    let canonical = ok(&["export", &url, "db.docs.find({_id: 1})", "--canonical"]);
    assert!(canonical.contains("{\"$numberLong\":\"7\"}"), "{canonical}");
    let json = ok(&["export", &url, "docs", "--format", "json", "--batch-size", "2"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 7);
    let csv = ok(&[
        "export",
        &url,
        "db.docs.find({_id: {$gte: 5, $lte: 6}}).sort({_id: 1})",
        "--format",
        "csv",
        "--fields",
        "_id,name,addr.city",
    ]);
    // An empty CSV cell was imported as the empty string (as mongoimport does).
    assert_eq!(csv, "_id,name,addr.city\n5,Ann,Oslo\n6,\"Bo, Jr\",\"\"\n");
    let r = run(&[
        "export",
        &url,
        "db.docs.aggregate([{$match: {_id: 5}}, {$project: {score: 1, x: 1}}])",
        "--format",
        "csv",
    ]);
    assert_eq!(r.stdout, "_id,score\n5,2.5\n", "{}", r.all());

    // A round trip: export to a file, import into another collection, same documents.
    let file = path("all.ndjson");
    let r = run(&[
        "export",
        &url,
        "docs",
        "--canonical",
        "--output",
        &file,
        "--batch-size",
        "3",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("exported 7 documents"), "{}", r.stderr);
    ok(&["import", &url, "copy", &file]);
    let same = pymongo(
        &server,
        "a = list(c.io.docs.find().sort('_id', 1)); b = list(c.io.copy.find().sort('_id', 1)); print(a == b, len(b))",
    );
    assert_eq!(same.trim(), "True 7");
}

/// `driverbox query mongodb+srv://…`: the host looks up SRV (and TXT) at
/// the DNS server `DRIVERBOX_DNS_SERVER` names, the driver connects to
/// the seed list; a target outside the URL's domain is refused.
#[test]
fn query_through_mongodb_srv() {
    let server = MongoServer::start();
    let lo = std::net::Ipv4Addr::LOCALHOST;
    let dns = dnsserver::DnsServer::start(vec![
        dnsserver::srv(
            "_mongodb._tcp.cluster0.driverbox.test",
            server.port,
            "db1.driverbox.test",
        ),
        dnsserver::txt("cluster0.driverbox.test", &["authSource=admin"]),
        dnsserver::a("db1.driverbox.test", lo),
        dnsserver::srv(
            "_mongodb._tcp.outside.driverbox.test",
            server.port,
            "db1.elsewhere.test",
        ),
        dnsserver::a("db1.elsewhere.test", lo),
    ]);
    let run = |url: &str, text: &str| {
        let out = command(&["query", url, text])
            .env("DRIVERBOX_DNS_SERVER", dns.addr.to_string())
            .output()
            .expect("driverbox runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let url = "mongodb+srv://cluster0.driverbox.test/shop?tls=false";
    let r = run(
        url,
        "db.items.insertMany([{_id: 1, name: 'pen'}, {_id: 2, name: 'ink'}])",
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let r = run(url, "db.items.find({}).sort({_id: 1})");
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        [r#"{"_id":1,"name":"pen"}"#, r#"{"_id":2,"name":"ink"}"#]
    );
    // The same documents through a plain URL, by pymongo.
    let seen = pymongo(&server, "print(sorted(d['name'] for d in c.shop.items.find()))");
    assert_eq!(seen.trim(), "['ink', 'pen']");

    let r = run(
        "mongodb+srv://outside.driverbox.test/shop?tls=false",
        "db.items.find({})",
    );
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("db1.elsewhere.test") && r.stderr.contains("not under driverbox.test"),
        "{}",
        r.stderr
    );
}
