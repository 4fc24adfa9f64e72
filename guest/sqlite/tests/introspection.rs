//! schema, table, view and function introspection on a real schema.

mod common;

use common::*;
use driverbox_guest_sdk::types::ConstraintKind;
use driverbox_guest_sdk::types::TableKind;
use driverbox_guest_sdk::ErrorKind;
use driverbox_sqlite::schema::{get_columns, get_databases, get_schemas, get_tables};
use driverbox_sqlite::table::{get_table_constraints, get_table_data, get_table_indexes, get_table_statistics};
use driverbox_sqlite::view::{get_view_definition, list_views};

const SCHEMA: &str = r#"
CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT DEFAULT 'anon'
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers ON DELETE CASCADE,
    code TEXT,
    qty INT CHECK (qty > 0),
    price DECIMAL(10, 2) NOT NULL DEFAULT 0,
    status TEXT,
    CONSTRAINT price_ok CHECK (price >= 0 AND "qty" < 1000),
    CONSTRAINT code_per_customer UNIQUE (customer_id, code),
    CONSTRAINT fk_self FOREIGN KEY (code, status) REFERENCES pairs (a, b) ON UPDATE SET NULL
);
CREATE TABLE pairs (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE TABLE heap (x TEXT, y TEXT);
CREATE INDEX orders_status ON orders (status) WHERE status IS NOT NULL;
CREATE UNIQUE INDEX orders_lower_code ON orders (lower(code) COLLATE NOCASE DESC, qty);
CREATE VIEW big_orders (id, total) AS SELECT id, qty * price FROM orders WHERE qty > 10;
CREATE VIEW "we""ird view" AS
    SELECT 1 AS one;
INSERT INTO customers (email) VALUES ('a@x'), ('b@x');
INSERT INTO pairs VALUES ('z', '1'), ('a', '2'), ('m', '0');
INSERT INTO orders (customer_id, code, qty, price, status) VALUES (1, 'z', 5, 9.5, '1'), (2, 'c2', 50, 1, NULL);
INSERT INTO heap VALUES ('3', 'c'), ('1', 'a'), ('2', 'b');
"#;

fn setup() -> (tempfile::TempDir, driverbox_sqlite::connection::Conn) {
    let (dir, conn) = fresh();
    script(&conn, SCHEMA);
    (dir, conn)
}

#[test]
fn databases_and_schemas() {
    let (dir, conn) = setup();
    let other = dir.path().join("other.db");
    conn.db()
        .execute("ATTACH DATABASE ?1 AS extra", [other.to_str().unwrap()])
        .unwrap();
    script(
        &conn,
        "CREATE TABLE extra.things (t TEXT); CREATE TEMP TABLE scratch (s);",
    );
    let dbs = get_databases(conn.db()).unwrap();
    let names: Vec<&str> = dbs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["main", "temp", "extra"]);
    let file_size = std::fs::metadata(dir.path().join("test.db")).unwrap().len();
    assert_eq!(dbs[0].size_bytes, Some(file_size));
    assert_eq!(dbs[0].encoding.as_deref(), Some("UTF-8"));
    let schemas: Vec<String> = get_schemas(conn.db()).unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(schemas, vec!["main", "temp", "extra"]);
    let extra = get_tables(conn.db(), Some("extra")).unwrap();
    assert_eq!(extra.len(), 1);
    assert_eq!(extra[0].schema, "extra");
    let temp = get_tables(conn.db(), Some("temp")).unwrap();
    assert_eq!(temp[0].name, "scratch");
    assert_eq!(
        get_tables(conn.db(), Some("nope")).unwrap_err().kind(),
        ErrorKind::UndefinedObject
    );
    // A name that exists only in an attached database is found without a schema.
    let cols = get_columns(conn.db(), None, "things").unwrap();
    assert_eq!(cols[0].name, "t");
}

#[test]
fn tables_and_columns() {
    let (_dir, mut conn) = setup();
    let tables = get_tables(conn.db(), None).unwrap();
    let summary: Vec<(&str, bool)> = tables
        .iter()
        .map(|t| (t.name.as_str(), matches!(t.kind, TableKind::View)))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("big_orders", true),
            ("customers", false),
            ("heap", false),
            ("orders", false),
            ("pairs", false),
            ("we\"ird view", true),
        ]
    );
    assert!(tables.iter().all(|t| t.schema == "main"));

    let cols = get_columns(conn.db(), Some("main"), "ORDERS").unwrap();
    type Summary<'a> = (u32, &'a str, &'a str, bool, Option<&'a str>, bool);
    let summary: Vec<Summary<'_>> = cols
        .iter()
        .map(|c| {
            (
                c.ordinal,
                c.name.as_str(),
                c.data_type.as_str(),
                c.nullable,
                c.default.as_deref(),
                c.primary_key,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "id", "INTEGER", false, None, true),
            (2, "customer_id", "INTEGER", false, None, false),
            (3, "code", "TEXT", true, None, false),
            (4, "qty", "INT", true, None, false),
            (5, "price", "DECIMAL(10, 2)", false, Some("0"), false),
            (6, "status", "TEXT", true, None, false),
        ]
    );
    // Declared types come upper-cased (SQLite keeps them as written).
    script(
        &conn,
        "CREATE TABLE lower_types (id integer primary key, name varchar(50) not null)",
    );
    let lower = get_columns(conn.db(), None, "lower_types").unwrap();
    assert_eq!((lower[0].data_type.as_str(), lower[0].nullable), ("INTEGER", false));
    assert_eq!(lower[1].data_type, "VARCHAR(50)");
    let r = driverbox_sqlite::base::query(&mut conn, "SELECT name FROM lower_types", vec![]).unwrap();
    assert_eq!(r.columns[0].database_type, "VARCHAR(50)");
    let pairs = get_columns(conn.db(), None, "pairs").unwrap();
    assert!(pairs.iter().all(|c| c.primary_key && !c.nullable));
    let heap = get_columns(conn.db(), None, "heap").unwrap();
    assert!(heap.iter().all(|c| !c.primary_key && c.nullable));
    let view = get_columns(conn.db(), None, "big_orders").unwrap();
    assert_eq!(
        view.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["id", "total"]
    );
    let e = get_columns(conn.db(), None, "missing").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject);
    assert!(message(&e).contains("missing"));
    assert_eq!(
        get_columns(conn.db(), None, "").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn table_data_in_key_order_with_bound_paging() {
    let (_dir, conn) = setup();
    let r = get_table_data(conn.db(), None, "pairs", 10, 0).unwrap();
    assert_eq!(
        rows(&r),
        vec![
            vec!["Text(\"a\")", "Text(\"2\")"],
            vec!["Text(\"m\")", "Text(\"0\")"],
            vec!["Text(\"z\")", "Text(\"1\")"],
        ]
    );
    assert_eq!(r.rows_affected, None);
    let r = get_table_data(conn.db(), None, "heap", 2, 1).unwrap();
    assert_eq!(
        rows(&r),
        vec![vec!["Text(\"1\")", "Text(\"a\")"], vec!["Text(\"2\")", "Text(\"b\")"]]
    );
    let r = get_table_data(conn.db(), None, "heap", u64::MAX, u64::MAX).unwrap();
    assert!(values(&r).is_empty());
    let r = get_table_data(conn.db(), None, "heap", u64::MAX, 0).unwrap();
    assert_eq!(values(&r).len(), 3);
    let r = get_table_data(conn.db(), None, "orders", 1, 1).unwrap();
    assert_eq!(v(&values(&r)[0][0]), "Int(2)");
    assert_eq!(r.columns[4].database_type, "DECIMAL(10, 2)");
    let r = get_table_data(conn.db(), None, "big_orders", 10, 0).unwrap();
    assert_eq!(values(&r).len(), 1);
    assert_eq!(
        get_table_data(conn.db(), None, "nope", 1, 0).unwrap_err().kind(),
        ErrorKind::UndefinedObject
    );
}

#[test]
fn constraints_of_every_kind() {
    let (_dir, conn) = setup();
    let cons = get_table_constraints(conn.db(), None, "orders").unwrap();
    let summary: Vec<(String, ConstraintKind, Vec<String>)> = cons
        .iter()
        .map(|c| (c.name.clone(), c.kind, c.columns.clone()))
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            ("orders_pkey".to_string(), ConstraintKind::PrimaryKey, s(&["id"])),
            (
                "orders_customer_id_fkey".to_string(),
                ConstraintKind::ForeignKey,
                s(&["customer_id"])
            ),
            (
                "fk_self".to_string(),
                ConstraintKind::ForeignKey,
                s(&["code", "status"])
            ),
            (
                "code_per_customer".to_string(),
                ConstraintKind::Unique,
                s(&["customer_id", "code"])
            ),
            ("orders_qty_check".to_string(), ConstraintKind::Check, s(&["qty"])),
            ("price_ok".to_string(), ConstraintKind::Check, s(&["qty", "price"])),
        ]
    );
    let fk = cons[1].references.as_ref().unwrap();
    assert_eq!((fk.schema.as_str(), fk.table.as_str()), ("main", "customers"));
    assert_eq!(fk.columns, vec!["id"]); // implicit: the parent's primary key
    assert_eq!((fk.on_update.as_str(), fk.on_delete.as_str()), ("NO ACTION", "CASCADE"));
    let fk = cons[2].references.as_ref().unwrap();
    assert_eq!(fk.columns, vec!["a", "b"]);
    assert_eq!(fk.on_update, "SET NULL");
    assert_eq!(cons[4].definition.as_deref(), Some("qty > 0"));
    assert_eq!(cons[5].definition.as_deref(), Some("price >= 0 AND \"qty\" < 1000"));
    assert!(cons[0].definition.as_deref().unwrap().starts_with("PRIMARY KEY"));

    let cust = get_table_constraints(conn.db(), None, "customers").unwrap();
    assert_eq!(cust.len(), 2);
    assert_eq!(cust[1].name, "customers_email_key");
    assert_eq!(cust[1].kind, ConstraintKind::Unique);
    let pairs = get_table_constraints(conn.db(), None, "pairs").unwrap();
    assert_eq!(pairs[0].columns, vec!["a", "b"]);
    assert!(get_table_constraints(conn.db(), None, "heap").unwrap().is_empty());
}

#[test]
fn indexes_with_expressions_and_predicates() {
    let (_dir, conn) = setup();
    let idx = get_table_indexes(conn.db(), None, "orders").unwrap();
    let names: Vec<&str> = idx.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["sqlite_autoindex_orders_1", "orders_status", "orders_lower_code"]
    );
    let auto = &idx[0];
    assert!(auto.unique && !auto.primary && auto.definition.is_none());
    assert_eq!(auto.columns, vec!["customer_id", "code"]);
    let status = &idx[1];
    assert!(!status.unique);
    assert_eq!(status.columns, vec!["status"]);
    assert_eq!(status.predicate.as_deref(), Some("status IS NOT NULL"));
    assert!(status
        .definition
        .as_deref()
        .unwrap()
        .starts_with("CREATE INDEX orders_status"));
    let lower = &idx[2];
    assert!(lower.unique);
    assert_eq!(lower.columns, vec!["lower(code)", "qty"]);
    assert_eq!(lower.predicate, None);
    assert_eq!(lower.method, None);
    let pairs = get_table_indexes(conn.db(), None, "pairs").unwrap();
    assert_eq!(pairs.len(), 1);
    assert!(pairs[0].primary && pairs[0].unique);
    assert_eq!(pairs[0].columns, vec!["a", "b"]);
}

#[test]
fn statistics() {
    let (_dir, conn) = setup();
    let s = get_table_statistics(conn.db(), None, "orders", true).unwrap();
    assert_eq!(s.exact_rows, Some(2));
    assert_eq!(s.estimated_rows, None);
    assert!(s.table_size_bytes.unwrap() >= 4096);
    assert!(s.index_size_bytes.unwrap() >= 3 * 4096);
    assert_eq!(
        s.total_size_bytes,
        Some(s.table_size_bytes.unwrap() + s.index_size_bytes.unwrap())
    );
    assert_eq!((s.last_vacuum, s.last_analyze), (None, None));
    let s = get_table_statistics(conn.db(), None, "orders", false).unwrap();
    assert_eq!(s.exact_rows, None);
    script(&conn, "ANALYZE");
    let s = get_table_statistics(conn.db(), None, "orders", false).unwrap();
    assert_eq!(s.estimated_rows, Some(2));
    let s = get_table_statistics(conn.db(), None, "heap", false).unwrap();
    assert_eq!(s.estimated_rows, Some(3));
    assert_eq!(s.index_size_bytes, Some(0));
    let s = get_table_statistics(conn.db(), None, "big_orders", true).unwrap();
    assert_eq!(s.exact_rows, Some(1));
    assert_eq!(s.table_size_bytes, None);
}

#[test]
fn views_and_functions() {
    let (_dir, conn) = setup();
    let views = list_views(conn.db(), None).unwrap();
    let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, vec!["big_orders", "we\"ird view"]);
    assert!(views.iter().all(|v| !v.materialized));
    assert_eq!(
        get_view_definition(conn.db(), None, "big_orders").unwrap(),
        "SELECT id, qty * price FROM orders WHERE qty > 10"
    );
    assert_eq!(
        get_view_definition(conn.db(), None, "we\"ird view").unwrap(),
        "SELECT 1 AS one"
    );
    assert_eq!(
        get_view_definition(conn.db(), None, "orders").unwrap_err().kind(),
        ErrorKind::UndefinedObject
    );
    assert_eq!(
        get_view_definition(conn.db(), None, "nope").unwrap_err().kind(),
        ErrorKind::UndefinedObject
    );
}
