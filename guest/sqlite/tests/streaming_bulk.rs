//! Streams and bulk operations.

mod common;

use common::*;
use driverbox_guest_sdk::types::TransactionOptions;
use driverbox_guest_sdk::{ErrorKind, Value};
use driverbox_sqlite::base::execute;
use driverbox_sqlite::capabilities::{begin_transaction, rollback, savepoint};
use driverbox_sqlite::extension::{stream_close, stream_next, stream_open};

fn numbers(conn: &driverbox_sqlite::connection::Conn, n: i64) {
    script(
        conn,
        "CREATE TABLE nums (n INTEGER PRIMARY KEY, sq INTEGER, label TEXT)",
    );
    conn.db()
        .execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1)
             INSERT INTO nums SELECT x, x * x, 'n' || x FROM c",
            [n],
        )
        .unwrap();
}

#[test]
fn streams_100k_rows_and_closes_halfway() {
    let (_dir, mut conn) = fresh();
    numbers(&conn, 100_000);
    let cols = stream_open(
        &mut conn,
        "SELECT n, sq, label, n * 1.5 FROM nums ORDER BY n",
        vec![],
        1000,
    )
    .unwrap();
    let types: Vec<&str> = cols.iter().map(|c| c.database_type.as_str()).collect();
    assert_eq!(types, vec!["INTEGER", "INTEGER", "TEXT", "REAL"]);
    let mut seen = 0i64;
    while seen < 50_000 {
        let batch = stream_next(&mut conn).unwrap().unwrap();
        assert_eq!(batch.rows, 1000);
        for row in &batch_values(&cols, &batch) {
            seen += 1;
            assert_eq!(v(&row[0]), format!("Int({seen})"));
        }
    }
    // Another stream cannot start before this one is closed.
    assert_eq!(
        stream_open(&mut conn, "SELECT 1", vec![], 10).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // The connection works while the stream is open.
    execute(&mut conn, "UPDATE nums SET label = 'x' WHERE n = 1", vec![]).unwrap();
    stream_close(&mut conn);
    stream_close(&mut conn);
    assert_eq!(stream_next(&mut conn).unwrap_err().kind(), ErrorKind::InvalidInput);
    // The statement is finalized; the connection goes on.
    execute(&mut conn, "CREATE TABLE copy AS SELECT * FROM nums", vec![]).unwrap();

    // A full stream to the end, with parameters and an odd batch size.
    let cols = stream_open(
        &mut conn,
        "SELECT n FROM nums WHERE n > ? ORDER BY n",
        vec![Value::Int(99_990)],
        3,
    )
    .unwrap();
    let mut got = vec![];
    while let Some(batch) = stream_next(&mut conn).unwrap() {
        assert!(batch.rows <= 3);
        got.extend(batch_values(&cols, &batch).iter().map(|r| v(&r[0])));
    }
    assert_eq!(got.len(), 10);
    assert!(stream_next(&mut conn).unwrap().is_none());
    // A finished stream need not be closed before the next.
    let cols = stream_open(&mut conn, "SELECT 1 WHERE 0", vec![], 0).unwrap();
    assert_eq!(cols[0].database_type, "");
    assert!(stream_next(&mut conn).unwrap().is_none());
    stream_close(&mut conn);
}

#[test]
fn stream_errors() {
    let (_dir, mut conn) = fresh();
    assert_eq!(
        stream_open(&mut conn, "SELEC", vec![], 10).unwrap_err().kind(),
        ErrorKind::Syntax
    );
    assert_eq!(
        stream_open(&mut conn, "SELECT 1; SELECT 2", vec![], 10)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        stream_open(&mut conn, "SELECT ?", vec![], 10).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // A runtime error part-way ends the stream.
    script(
        &conn,
        "CREATE TABLE j (t TEXT); INSERT INTO j VALUES ('[1]'), ('[2]'), ('oops');",
    );
    stream_open(
        &mut conn,
        "SELECT json_extract(t, '$[0]') FROM j ORDER BY rowid",
        vec![],
        1,
    )
    .unwrap();
    assert!(stream_next(&mut conn).unwrap().is_some());
    assert!(stream_next(&mut conn).unwrap().is_some());
    let e = stream_next(&mut conn).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{e:?}");
    assert_eq!(stream_next(&mut conn).unwrap_err().kind(), ErrorKind::InvalidInput);
    stream_open(&mut conn, "SELECT 1", vec![], 1).unwrap();
}

#[test]
fn dropping_the_connection_with_an_open_stream() {
    let (_dir, mut conn) = fresh();
    numbers(&conn, 1000);
    stream_open(&mut conn, "SELECT * FROM nums", vec![], 10).unwrap();
    stream_next(&mut conn).unwrap();
    drop(conn);
}

#[test]
fn bulk_insert_10k_rows_in_one_transaction() {
    let (_dir, conn) = fresh();
    script(
        &conn,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, added DATE)",
    );
    let cols = ["id", "name", "price", "added"].map(String::from);
    let rows: Vec<Vec<Value>> = (0..10_000)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::Text(format!("item {i}")),
                Value::Float(i as f64 / 4.0),
                Value::Date(19_000),
            ]
        })
        .collect();
    assert_eq!(bulk_insert(conn.db(), None, "items", &cols, rows).unwrap(), 10_000);
    assert_eq!(count(&conn, "SELECT count(*) FROM items"), 10_000);
    let added: String = conn
        .db()
        .query_row("SELECT added FROM items WHERE id = 5", [], |r| r.get(0))
        .unwrap();
    assert_eq!(added, "2022-01-08");
    assert!(conn.db().is_autocommit());
    assert_eq!(bulk_insert(conn.db(), None, "items", &cols, vec![]).unwrap(), 0);
}

#[test]
fn failing_bulk_insert_leaves_nothing() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    let cols = ["id", "name"].map(String::from);
    let mut rows: Vec<Vec<Value>> = (0..5000)
        .map(|i| vec![Value::Int(i), Value::Text("x".into())])
        .collect();
    rows.push(vec![Value::Int(5000), Value::Null]);
    let e = bulk_insert(conn.db(), None, "items", &cols, rows.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotNullViolation);
    assert_eq!(count(&conn, "SELECT count(*) FROM items"), 0);
    assert!(conn.db().is_autocommit());
    // Duplicate key half-way.
    rows.pop();
    rows.push(vec![Value::Int(10), Value::Text("dup".into())]);
    assert_eq!(
        bulk_insert(conn.db(), None, "items", &cols, rows.clone())
            .unwrap_err()
            .kind(),
        ErrorKind::UniqueViolation
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM items"), 0);
    // A batch whose shape does not match its columns, or a bad value:
    // refused before anything runs.
    let (mut columns, batch) = batch_of(&["id"], &[vec![Value::Int(1)]]);
    columns.push(columns[0].clone());
    let e = driverbox_sqlite::extension::bulk_insert(conn.db(), None, "items", &columns, &batch).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = bulk_insert(
        conn.db(),
        None,
        "items",
        &cols,
        vec![
            vec![Value::Int(1), Value::Text("a".into())],
            vec![Value::Int(2), Value::Float(f64::NAN)],
        ],
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(count(&conn, "SELECT count(*) FROM items"), 0);
    assert_eq!(
        bulk_insert(conn.db(), None, "items", &[], vec![]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        bulk_insert(conn.db(), None, "items", &["x\0".to_string()], vec![])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        bulk_insert(conn.db(), None, "nope", &cols, vec![]).unwrap_err().kind(),
        ErrorKind::UndefinedObject
    );
    let e = bulk_insert(
        conn.db(),
        None,
        "items",
        &["id".to_string(), "no_such_col".to_string()],
        vec![vec![Value::Int(1), Value::Null]],
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e:?}");
    // Inside an open transaction: a savepoint undoes only the bulk insert.
    begin_transaction(
        &mut conn,
        &TransactionOptions {
            isolation: None,
            read_only: false,
            deferrable: false,
        },
    )
    .unwrap();
    savepoint(&mut conn, "outer").unwrap();
    execute(&mut conn, "INSERT INTO items VALUES (-1, 'kept')", vec![]).unwrap();
    assert!(bulk_insert(conn.db(), None, "items", &cols, rows).is_err());
    assert!(conn.in_transaction());
    assert_eq!(count(&conn, "SELECT count(*) FROM items"), 1);
    rollback(&mut conn).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM items"), 0);
}

#[test]
fn bulk_update_and_delete_by_keys() {
    let (_dir, conn) = fresh();
    script(&conn, "CREATE TABLE kv (a INT, b TEXT, val TEXT, n INT, PRIMARY KEY (a, b)); INSERT INTO kv VALUES (1, 'x', 'one', 0), (2, 'y', 'two', 0), (3, 'z', 'three', 0);");
    let keys = ["a", "b"].map(String::from);
    let sets = ["val", "n"].map(String::from);
    let n = bulk_update(
        conn.db(),
        None,
        "kv",
        &keys,
        &sets,
        vec![
            vec![
                Value::Int(1),
                Value::Text("x".into()),
                Value::Text("uno".into()),
                Value::Int(1),
            ],
            vec![
                Value::Int(2),
                Value::Text("nope".into()),
                Value::Text("dos".into()),
                Value::Int(2),
            ],
            vec![
                Value::Int(3),
                Value::Text("z".into()),
                Value::Text("tres".into()),
                Value::Int(3),
            ],
        ],
    )
    .unwrap();
    assert_eq!(n, 2);
    let vals: String = conn
        .db()
        .query_row(
            "SELECT group_concat(val, ',') FROM (SELECT val FROM kv ORDER BY a)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(vals, "uno,two,tres");
    let e = bulk_update(conn.db(), None, "kv", &keys, &sets, vec![vec![Value::Int(1)]]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        bulk_update(conn.db(), None, "kv", &keys, &[], vec![])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let n = bulk_delete(
        conn.db(),
        None,
        "kv",
        &keys,
        vec![
            vec![Value::Int(1), Value::Text("x".into())],
            vec![Value::Int(9), Value::Text("q".into())],
        ],
    )
    .unwrap();
    assert_eq!(n, 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM kv"), 2);
    // A failing delete (foreign key) removes nothing.
    script(
        &conn,
        "CREATE TABLE ref (a INT, b TEXT, FOREIGN KEY (a, b) REFERENCES kv (a, b)); INSERT INTO ref VALUES (3, 'z');",
    );
    let e = bulk_delete(
        conn.db(),
        None,
        "kv",
        &keys,
        vec![
            vec![Value::Int(2), Value::Text("y".into())],
            vec![Value::Int(3), Value::Text("z".into())],
        ],
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ForeignKeyViolation);
    assert_eq!(count(&conn, "SELECT count(*) FROM kv"), 2);
}
