//! Odd input never panics: random SQL text, strange stored definitions.

mod common;

use common::*;
use driverbox_guest_sdk::Value;
use driverbox_sqlite::base::{execute, execute_query, query};
use driverbox_sqlite::capabilities::prepare;
use driverbox_sqlite::extension::{stream_close, stream_next, stream_open};
use driverbox_sqlite::schema::{get_columns, get_tables};
use driverbox_sqlite::table::{get_table_constraints, get_table_data, get_table_indexes, get_table_statistics};
use driverbox_sqlite::view::{get_view_definition, list_views};

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const PIECES: &[&str] = &[
    "SELECT",
    "INSERT",
    "INTO",
    "t",
    "VALUES",
    "(",
    ")",
    ",",
    ";",
    "'",
    "\"",
    "`",
    "[",
    "]",
    "--",
    "/*",
    "*/",
    "?",
    "?99999",
    ":x",
    "1",
    "1e",
    "x'",
    "CREATE",
    "TABLE",
    "TRIGGER",
    "BEGIN",
    "END",
    "é",
    "€",
    "\u{0}",
    " ",
    "\n",
    "WITH",
    "RECURSIVE",
    "AS",
    "FROM",
    "WHERE",
    "NULL",
    "PRAGMA",
    "ATTACH",
    "'file:x?mode=memory'",
];

#[test]
fn random_sql_never_panics() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE t (a, b)");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let n = (rng.next() % 12) as usize;
        let sql: String = (0..n)
            .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ");
        let _ = execute(&mut conn, &sql, vec![]);
        let _ = query(&mut conn, &sql, vec![Value::Int(1)]);
        let _ = execute_query(conn.db(), &sql, vec![]);
        let _ = prepare(&mut conn, &sql);
        if stream_open(&mut conn, &sql, vec![], 2).is_ok() {
            let _ = stream_next(&mut conn);
        }
        stream_close(&mut conn);
        if !conn.db().is_autocommit() {
            let _ = conn.db().execute_batch("ROLLBACK");
        }
    }
}

#[test]
fn strange_definitions_are_read_without_panicking() {
    let (_dir, conn) = fresh();
    script(
        &conn,
        r#"CREATE TABLE "t(" ("a,b" INT CHECK ("a,b" > 0) CONSTRAINT "c)" UNIQUE, [x)y] TEXT DEFAULT ')', `q``q` REFERENCES "t(" ("a,b"));
           CREATE TABLE s AS SELECT 1 AS one;
           CREATE TABLE g (a INT, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL, c INT AS (a + 1) STORED);
           CREATE VIRTUAL TABLE f USING fts5(body);
           CREATE INDEX "i;--" ON "t(" ("a,b" * 2, [x)y] COLLATE NOCASE) WHERE "a,b" > 0 /* c */ ;
           CREATE VIEW "v(" AS /* AS */ SELECT 1 AS "AS";
           CREATE TEMP VIEW tv AS SELECT * FROM g;"#,
    );
    for t in get_tables(conn.db(), None).unwrap() {
        let _ = get_columns(conn.db(), None, &t.name).unwrap();
        let _ = get_table_data(conn.db(), None, &t.name, 5, 0).unwrap();
        let _ = get_table_constraints(conn.db(), None, &t.name).unwrap();
        let _ = get_table_indexes(conn.db(), None, &t.name).unwrap();
        let _ = get_table_statistics(conn.db(), None, &t.name, true).unwrap();
    }
    let c = get_table_constraints(conn.db(), None, "t(").unwrap();
    assert!(c.iter().any(|c| c.name == "c)"));
    assert!(c.iter().any(|c| c.definition.as_deref() == Some("\"a,b\" > 0")));
    let idx = get_table_indexes(conn.db(), None, "t(").unwrap();
    let i = idx.iter().find(|i| i.name == "i;--").unwrap();
    assert_eq!(i.columns, vec!["\"a,b\" * 2", "x)y"]);
    assert_eq!(i.predicate.as_deref(), Some("\"a,b\" > 0"));
    assert_eq!(
        get_view_definition(conn.db(), None, "v(").unwrap(),
        "SELECT 1 AS \"AS\""
    );
    assert_eq!(list_views(conn.db(), Some("temp")).unwrap().len(), 1);
    let g = get_columns(conn.db(), None, "g").unwrap();
    assert_eq!(g.len(), 3);
}

/// A crafted file whose schema holds names that are not UTF-8 (SQLite does
/// not check): reading it gives errors or replacement characters, never a panic.
#[test]
fn non_utf8_names_in_a_crafted_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crafted.db");
    {
        let conn = open_path(&path);
        script(&conn, "CREATE TABLE t (a INT, b TEXT); INSERT INTO t VALUES (1, 'x');");
        // CREATE TABLE t ("\xff" INT, b \xfe)
        script(
            &conn,
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = CAST(x'435245415445205441424c4520742028ff20494e542c206220fe29' AS TEXT) WHERE name = 't';
             PRAGMA writable_schema = OFF;",
        );
    }
    let mut conn = open_path(&path);
    let r = query(&mut conn, "SELECT * FROM t", vec![]).unwrap();
    assert_eq!(r.columns[0].name, "\u{fffd}");
    assert_eq!(r.columns[1].database_type, "\u{fffd}");
    assert_eq!(v(&values(&r)[0][0]), "Int(1)");
    let _ = get_columns(conn.db(), None, "t");
    let _ = get_table_data(conn.db(), None, "t", 10, 0);
    let _ = get_table_constraints(conn.db(), None, "t");
    let _ = get_table_indexes(conn.db(), None, "t");
    let p = prepare(&mut conn, "SELECT * FROM t").unwrap();
    assert_eq!(p.columns.len(), 2);
    let cols = stream_open(&mut conn, "SELECT * FROM t", vec![], 10).unwrap();
    assert_eq!(cols[0].name, "\u{fffd}");
    assert_eq!(stream_next(&mut conn).unwrap().unwrap().rows as usize, 1);
}

#[test]
fn absurd_busy_timeout_is_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.db");
    let conn = driverbox_sqlite::connection::open(&config(p.to_str().unwrap(), &[("busy_timeout", "99999999999999")]))
        .unwrap();
    assert_eq!(count(&conn, "PRAGMA busy_timeout"), i32::MAX as i64);
}
