//! Every value mapping, both ways, through a real file.

mod common;

use common::*;
use driverbox_guest_sdk::types::Interval;
use driverbox_guest_sdk::{ErrorKind, Value};
use driverbox_sqlite::base::{execute, query};

const TABLE: &str = "CREATE TABLE v (
    i INTEGER, r REAL, t TEXT, b BLOB, n,
    flag BOOLEAN, flag2 BOOL,
    d DATE, tm TIME, dt DATETIME, ts TIMESTAMP,
    j JSON, dec DECIMAL(30, 10), num NUMERIC, u UUID, doc BLOB
)";

fn insert_one(conn: &mut driverbox_sqlite::connection::Conn, col: &str, value: Value) {
    let n = execute(conn, &format!("INSERT INTO v ({col}) VALUES (?)"), vec![value]).unwrap();
    assert_eq!(n, 1);
}

fn read_one(conn: &mut driverbox_sqlite::connection::Conn, col: &str) -> Value {
    let r = query(conn, &format!("SELECT {col} FROM v WHERE {col} IS NOT NULL"), vec![]).unwrap();
    assert_eq!(values(&r).len(), 1, "{col}");
    values(&r)[0][0].clone()
}

#[test]
fn every_variant_round_trips() {
    let (_dir, mut conn) = fresh();
    script(&conn, TABLE);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("i", Value::Int(i64::MIN), "Int(-9223372036854775808)"),
        ("r", Value::Float(f64::INFINITY), "Float(inf)"),
        ("t", Value::Text("héllo\0wörld".into()), "Text(\"héllo\\0wörld\")"),
        ("b", Value::Bytes(vec![0, 1, 255]), "Bytes([0, 1, 255])"),
        ("flag", Value::Boolean(true), "Boolean(true)"),
        ("flag2", Value::Boolean(false), "Boolean(false)"),
        ("d", Value::Date(19_723), "Date(19723)"),
        ("tm", Value::Time(45_296_123_456), "Time(45296123456)"),
        (
            "dt",
            Value::Timestamp(1_704_067_200_500_000),
            "Timestamp(1704067200500000)",
        ),
        // timestamptz is stored with `Z` and read back from a TIMESTAMP column as UTC.
        (
            "ts",
            Value::Timestamptz(1_704_067_200_000_001),
            "Timestamp(1704067200000001)",
        ),
        ("j", Value::Json("{\"a\":[1,2]}".into()), "Json(\"{\\\"a\\\":[1,2]}\")"),
        // NUMERIC affinity turns numeric text into REAL/INTEGER; only text
        // that is not a number literal stays text (see `decimals_and_affinity`).
        ("dec", Value::Decimal("NaN".into()), "Text(\"NaN\")"),
        (
            "t",
            Value::Decimal("12345678901234567890.0123456789".into()),
            "Text(\"12345678901234567890.0123456789\")",
        ),
        (
            "u",
            Value::Uuid((0x123e_4567_e89b_12d3, 0xa456_4266_1417_4000)),
            "Uuid((1314564453825188563, 11841725276408463360))",
        ),
        ("doc", Value::Document(vec![5, 0, 0, 0, 0]), "Bytes([5, 0, 0, 0, 0])"),
        ("n", Value::Null, "Null"),
    ];
    for (col, value, expected) in cases {
        script(&conn, "DELETE FROM v");
        insert_one(&mut conn, col, value);
        if col == "n" {
            let r = query(&mut conn, "SELECT n FROM v", vec![]).unwrap();
            assert_eq!(v(&values(&r)[0][0]), expected);
        } else {
            assert_eq!(v(&read_one(&mut conn, col)), expected, "column {col}");
        }
    }
    // Stored text forms.
    script(&conn, "DELETE FROM v");
    insert_one(&mut conn, "tm", Value::Time(45_296_500_000));
    insert_one(&mut conn, "dt", Value::Timestamp(0));
    insert_one(&mut conn, "u", Value::Uuid((1, 2)));
    let r = query(
        &mut conn,
        "SELECT CAST(tm AS TEXT), CAST(dt AS TEXT), CAST(u AS TEXT) FROM v",
        vec![],
    )
    .unwrap();
    let texts: Vec<String> = values(&r).iter().flat_map(|row| row.iter().map(v)).collect();
    assert!(texts.contains(&"Text(\"12:34:56.5\")".to_string()), "{texts:?}");
    assert!(
        texts.contains(&"Text(\"1970-01-01 00:00:00\")".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"Text(\"00000000-0000-0001-0000-000000000002\")".to_string()),
        "{texts:?}"
    );
}

#[test]
fn declared_types_refine_only_values_that_fit() {
    let (_dir, mut conn) = fresh();
    script(&conn, TABLE);
    script(
        &conn,
        "INSERT INTO v (flag, d, tm, dt, j, dec, num, u) VALUES
           (2, 'yesterday', '25:00', 'soon', '{oops', 'abc', 1.5, 'not-a-uuid');
         INSERT INTO v (flag, d, tm, dt, j, dec, num, u) VALUES
           (0, '2024-02-29', '23:59:59.999999', '2024-01-01T12:00:00+02:00', '[1]', '-0.5', 7, x'00112233445566778899aabbccddeeff');
         INSERT INTO v (dt, u) VALUES ('2024-01-01 10:00:00.25Z', '00112233-4455-6677-8899-AABBCCDDEEFF');
         INSERT INTO v (dt) VALUES (1700000000);",
    );
    let r = query(
        &mut conn,
        "SELECT flag, d, tm, dt, j, dec, num, u FROM v ORDER BY rowid",
        vec![],
    )
    .unwrap();
    let got = rows(&r);
    // Each column holds a value that does not fit its declared type, so
    // the whole column comes back as stored (`dynamic`): nothing lost,
    // nothing converted.
    assert_eq!(
        got[0],
        vec![
            "Int(2)",
            "Text(\"yesterday\")",
            "Text(\"25:00\")",
            "Text(\"soon\")",
            "Text(\"{oops\")",
            "Text(\"abc\")",
            "Float(1.5)",
            "Text(\"not-a-uuid\")"
        ]
    );
    assert_eq!(
        got[1],
        vec![
            "Int(0)",
            "Text(\"2024-02-29\")",
            "Text(\"23:59:59.999999\")",
            "Text(\"2024-01-01T12:00:00+02:00\")",
            "Text(\"[1]\")",
            "Float(-0.5)",
            "Int(7)",
            "Bytes([0, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 187, 204, 221, 238, 255])",
        ]
    );
    assert_eq!(got[2][3], "Text(\"2024-01-01 10:00:00.25Z\")");
    assert_eq!(got[3][3], "Int(1700000000)");
    // Where every value fits, the declared type refines them.
    let fitting = query(&mut conn, "SELECT flag, d, tm, j, u FROM v WHERE rowid = 2", vec![]).unwrap();
    assert_eq!(
        rows(&fitting)[0],
        vec![
            "Boolean(false)",
            "Date(19782)",
            "Time(86399999999)",
            "Json(\"[1]\")",
            "Uuid((4822678189205111, 9843086184167632639))",
        ]
    );
    let stamps = query(
        &mut conn,
        "SELECT dt FROM v WHERE rowid IN (2, 3) ORDER BY rowid",
        vec![],
    )
    .unwrap();
    assert_eq!(
        rows(&stamps),
        vec![vec!["Timestamp(1704103200000000)"], vec!["Timestamp(1704103200250000)"]]
    );
    // Column type names are the declared types.
    let types: Vec<&str> = r.columns.iter().map(|c| c.database_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "BOOLEAN",
            "DATE",
            "TIME",
            "DATETIME",
            "JSON",
            "DECIMAL(30, 10)",
            "NUMERIC",
            "UUID"
        ]
    );
}

#[test]
fn expressions_are_typed_by_storage_class() {
    let (_dir, mut conn) = fresh();
    let r = query(
        &mut conn,
        "SELECT 1, 1.5, 'x', x'00', NULL, NULL UNION ALL SELECT 2, 2.5, 'y', x'01', NULL, 3",
        vec![],
    )
    .unwrap();
    let types: Vec<&str> = r.columns.iter().map(|c| c.database_type.as_str()).collect();
    assert_eq!(types, vec!["INTEGER", "REAL", "TEXT", "BLOB", "", "INTEGER"]);
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[0], "1");
}

#[test]
fn parameters_refused_or_converted() {
    let (_dir, mut conn) = fresh();
    let e = query(&mut conn, "SELECT ?", vec![Value::Float(f64::NAN)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = query(
        &mut conn,
        "SELECT ?",
        vec![Value::Interval(Interval {
            months: 1,
            days: 2,
            microseconds: 3,
        })],
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(message(&e).contains("interval"));
    let e = query(&mut conn, "SELECT ?, ?", vec![Value::Int(1)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // Text for a number works: SQLite converts by affinity.
    script(&conn, "CREATE TABLE n (x INTEGER)");
    execute(&mut conn, "INSERT INTO n VALUES (?)", vec![Value::Text("42".into())]).unwrap();
    let r = query(&mut conn, "SELECT x FROM n", vec![]).unwrap();
    assert_eq!(v(&values(&r)[0][0]), "Int(42)");
    // Named parameters bind by position of first appearance...
    let r = query(&mut conn, "SELECT :b - :a, :b", vec![Value::Int(1), Value::Int(2)]).unwrap();
    assert_eq!(rows(&r)[0], vec!["Int(-1)", "Int(1)"]);
    // ...numbered ones (PostgreSQL style) by their number, ?NNN by index.
    let r = query(&mut conn, "SELECT $2 - $1, $2", vec![Value::Int(10), Value::Int(3)]).unwrap();
    assert_eq!(rows(&r)[0], vec!["Int(-7)", "Int(3)"]);
    let r = query(
        &mut conn,
        "SELECT ?2 || ?1",
        vec![Value::Text("a".into()), Value::Text("b".into())],
    )
    .unwrap();
    assert_eq!(v(&values(&r)[0][0]), "Text(\"ba\")");
    let r = query(&mut conn, "SELECT $3", vec![Value::Null, Value::Null, Value::Int(3)]).unwrap();
    assert_eq!(v(&values(&r)[0][0]), "Int(3)");
    assert_eq!(
        query(&mut conn, "SELECT $3", vec![Value::Int(3)]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let r = query(
        &mut conn,
        "SELECT ?, ?",
        vec![Value::Date(i32::MAX), Value::Timestamp(i64::MIN)],
    )
    .unwrap();
    assert_eq!(rows(&r)[0], vec!["Text(\"infinity\")", "Text(\"-infinity\")"]);
}

#[test]
fn huge_values_round_trip() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE big (b BLOB, t TEXT)");
    let blob: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
    let text = "é".repeat(1_000_000);
    execute(
        &mut conn,
        "INSERT INTO big VALUES (?, ?)",
        vec![Value::Bytes(blob.clone()), Value::Text(text.clone())],
    )
    .unwrap();
    let r = query(&mut conn, "SELECT b, t FROM big", vec![]).unwrap();
    match (&values(&r)[0][0], &values(&r)[0][1]) {
        (Value::Bytes(b), Value::Text(t)) => {
            assert_eq!(b, &blob);
            assert_eq!(t, &text);
        }
        other => panic!("{other:?}"),
    }
    // Past SQLite's limit: a data error, not a crash.
    let e = query(&mut conn, "SELECT zeroblob(2000000000)", vec![]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{e:?}");
}

#[test]
fn invalid_utf8_text_comes_back_as_bytes() {
    let (_dir, mut conn) = fresh();
    let r = query(&mut conn, "SELECT CAST(x'fffe41' AS TEXT)", vec![]).unwrap();
    assert_eq!(v(&values(&r)[0][0]), "Bytes([255, 254, 65])");
}

/// SQLite's NUMERIC affinity (any declared type with DECIMAL or NUMERIC)
/// converts number-like text to INTEGER or REAL on insert, keeping 15
/// significant digits: such values come back as their storage class, and
/// text the affinity leaves alone as text (the column is `dynamic`).
#[test]
fn decimals_and_affinity() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE d (x DECIMAL(30, 10))");
    for text in ["12345678901234567890.0123456789", "1.50", "7", "-Infinity"] {
        execute(&mut conn, "INSERT INTO d VALUES (?)", vec![Value::Decimal(text.into())]).unwrap();
    }
    let r = query(&mut conn, "SELECT x FROM d ORDER BY rowid", vec![]).unwrap();
    let got: Vec<String> = values(&r).iter().map(|row| v(&row[0])).collect();
    assert_eq!(
        got,
        vec![
            "Float(1.2345678901234567e19)",
            "Float(1.5)",
            "Int(7)",
            "Text(\"-Infinity\")"
        ]
    );
}
