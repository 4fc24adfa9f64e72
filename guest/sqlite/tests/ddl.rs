//! Column DDL, the table rebuild, and identifier torture.

mod common;

use common::*;
use driverbox_guest_sdk::types::{ColumnChange, ColumnDefinition, DefaultChange};
use driverbox_guest_sdk::{ErrorKind, Value};
use driverbox_sqlite::base::{execute, query};
use driverbox_sqlite::column::{add_column, alter_column, drop_column};
use driverbox_sqlite::schema::{get_columns, get_tables};
use driverbox_sqlite::sql::quote_ident;
use driverbox_sqlite::table::{get_table_constraints, get_table_data, get_table_indexes};

fn def(name: &str, ty: &str, nullable: bool, default: Option<&str>) -> ColumnDefinition {
    ColumnDefinition {
        name: name.into(),
        data_type: ty.into(),
        nullable,
        default: default.map(str::to_string),
    }
}

fn change() -> ColumnChange {
    ColumnChange {
        rename_to: None,
        data_type: None,
        using: None,
        nullable: None,
        default: None,
    }
}

const TORTURE: [&str; 8] = [
    "we\"ird",
    "semi;colon",
    "dash--dash",
    "sp ace",
    "ünïcødé ✓ 表",
    "/*c*/",
    "'quote'",
    "DROP TABLE t; --",
];

#[test]
fn torture_names_everywhere() {
    let (_dir, mut conn) = fresh();
    for (i, name) in TORTURE.iter().enumerate() {
        let t = quote_ident(name).unwrap();
        let c = quote_ident(&format!("{name}_col")).unwrap();
        execute(
            &mut conn,
            &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, {c} TEXT)"),
            vec![],
        )
        .unwrap();
        let cols = get_columns(conn.db(), None, name).unwrap();
        assert_eq!(cols[1].name, format!("{name}_col"));
        let new_col = format!("{name}_added");
        add_column(
            conn.db(),
            Some("main"),
            name,
            &def(&new_col, "TEXT", true, Some("'d;--'")),
        )
        .unwrap();
        let n = bulk_insert(
            conn.db(),
            None,
            name,
            &["id".to_string(), format!("{name}_col"), new_col.clone()],
            vec![vec![Value::Int(i as i64), Value::Text(name.to_string()), Value::Null]],
        )
        .unwrap();
        assert_eq!(n, 1);
        let mut ch = change();
        ch.rename_to = Some(format!("{name}_renamed"));
        alter_column(conn.db(), None, name, &new_col, &ch).unwrap();
        let mut ch = change();
        ch.data_type = Some("VARCHAR(10)".into());
        alter_column(conn.db(), None, name, &format!("{name}_col"), &ch).unwrap();
        let r = get_table_data(conn.db(), None, name, 10, 0).unwrap();
        assert_eq!(values(&r).len(), 1);
        assert_eq!(v(&values(&r)[0][1]), format!("Text({name:?})"));
        assert_eq!(r.columns[2].name, format!("{name}_renamed"));
        assert_eq!(r.columns[1].database_type, "VARCHAR(10)");
        drop_column(conn.db(), None, name, &format!("{name}_renamed"), false).unwrap();
        assert_eq!(get_columns(conn.db(), None, name).unwrap().len(), 2);
        let _ = get_table_constraints(conn.db(), None, name).unwrap();
        let _ = get_table_indexes(conn.db(), None, name).unwrap();
    }
    assert_eq!(get_tables(conn.db(), None).unwrap().len(), TORTURE.len());
}

#[test]
fn bad_identifiers_and_fragments_are_refused_before_anything_runs() {
    let (_dir, conn) = fresh();
    script(&conn, "CREATE TABLE t (a INT)");
    let before = count(&conn, "SELECT count(*) FROM sqlite_schema");
    for (name, ty, default) in [
        ("", "TEXT", None),
        ("a\0b", "TEXT", None),
        ("ok", "TEXT; DROP TABLE t", None),
        ("ok", "TEXT --", None),
        ("ok", "TEXT", Some("1; DROP TABLE t")),
        ("ok", "TEXT", Some("1 /* x */")),
        ("ok", "TEXT)", None),
        ("ok", "", None),
    ] {
        let e = add_column(conn.db(), None, "t", &def(name, ty, true, default)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name:?} {ty:?} {default:?}");
    }
    assert_eq!(
        add_column(conn.db(), None, "", &def("x", "INT", true, None))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        add_column(conn.db(), None, "t\0", &def("x", "INT", true, None))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let mut ch = change();
    ch.rename_to = Some(String::new());
    assert_eq!(
        alter_column(conn.db(), None, "t", "a", &ch).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        drop_column(conn.db(), None, "t", "a\0", false).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), before);
    assert_eq!(get_columns(conn.db(), None, "t").unwrap().len(), 1);
}

#[test]
fn add_and_drop_columns() {
    let (_dir, conn) = fresh();
    script(
        &conn,
        "CREATE TABLE t (a INT); INSERT INTO t VALUES (1); CREATE INDEX t_b ON t (a);",
    );
    add_column(conn.db(), None, "t", &def("b", "TEXT", false, Some("'x'"))).unwrap();
    let cols = get_columns(conn.db(), None, "t").unwrap();
    assert_eq!((cols[1].nullable, cols[1].default.as_deref()), (false, Some("'x'")));
    let e = add_column(conn.db(), None, "t", &def("b", "TEXT", true, None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DuplicateObject);
    let e = add_column(conn.db(), None, "nope", &def("c", "TEXT", true, None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject);
    let e = drop_column(conn.db(), None, "t", "zzz", false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject);
    // An indexed column: refused without cascade, dropped with its index with it.
    assert!(drop_column(conn.db(), None, "t", "a", false).is_err());
    drop_column(conn.db(), None, "t", "a", true).unwrap();
    let cols = get_columns(conn.db(), None, "t").unwrap();
    assert_eq!(cols.len(), 1);
    assert!(get_table_indexes(conn.db(), None, "t").unwrap().is_empty());
}

#[test]
fn type_change_keeps_data_indexes_triggers_views_and_references() {
    let (_dir, mut conn) = fresh();
    script(
        &conn,
        "CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL UNIQUE, n TEXT DEFAULT 'z', note TEXT);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INT REFERENCES parent(id) ON DELETE CASCADE);
         CREATE INDEX parent_n ON parent (n) WHERE n IS NOT NULL;
         CREATE INDEX parent_lower ON parent (lower(code));
         CREATE TABLE log (msg TEXT);
         CREATE TRIGGER parent_ins AFTER INSERT ON parent BEGIN INSERT INTO log VALUES ('ins ' || new.code); END;
         CREATE VIEW parent_view AS SELECT id, code, n FROM parent;
         INSERT INTO parent (code, n) VALUES ('a', '1'), ('b', '22'), ('c', NULL);
         DELETE FROM parent WHERE code = 'c';
         INSERT INTO child VALUES (1, 1), (2, 2);",
    );
    let mut ch = change();
    ch.data_type = Some("INTEGER".into());
    alter_column(conn.db(), None, "parent", "n", &ch).unwrap();
    let cols = get_columns(conn.db(), None, "parent").unwrap();
    assert_eq!(cols[2].data_type, "INTEGER");
    assert_eq!(cols[2].default.as_deref(), Some("'z'"));
    assert!(!cols[1].nullable);
    // Data converted by the new affinity, rowids and children intact.
    let r = query(&mut conn, "SELECT id, code, n FROM parent ORDER BY id", vec![]).unwrap();
    assert_eq!(
        rows(&r),
        vec![
            vec!["Int(1)", "Text(\"a\")", "Int(1)"],
            vec!["Int(2)", "Text(\"b\")", "Int(22)"],
        ]
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM child"), 2);
    // Indexes, trigger, view and the AUTOINCREMENT counter survive.
    let idx: Vec<String> = get_table_indexes(conn.db(), None, "parent")
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(
        idx.contains(&"parent_n".to_string()) && idx.contains(&"parent_lower".to_string()),
        "{idx:?}"
    );
    assert_eq!(
        get_table_indexes(conn.db(), None, "parent")
            .unwrap()
            .iter()
            .filter(|i| i.unique)
            .count(),
        1
    );
    execute(&mut conn, "INSERT INTO parent (code, n) VALUES ('d', '4')", vec![]).unwrap();
    assert_eq!(
        count(&conn, "SELECT max(id) FROM parent"),
        4,
        "AUTOINCREMENT must not reuse 3"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM log WHERE msg = 'ins d'"), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM parent_view"), 3);
    // The foreign key from child still works, cascades included.
    assert_eq!(
        execute(&mut conn, "INSERT INTO child VALUES (3, 99)", vec![])
            .unwrap_err()
            .kind(),
        ErrorKind::ForeignKeyViolation
    );
    execute(&mut conn, "DELETE FROM parent WHERE id = 1", vec![]).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM child"), 1);
    assert_eq!(count(&conn, "PRAGMA foreign_keys"), 1);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'driverbox%'"),
        0
    );
    let integrity: String = conn.db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn nullability_default_using_and_rename_together() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE t (id INTEGER PRIMARY KEY, price TEXT, flag INT NOT NULL DEFAULT 0); INSERT INTO t VALUES (1, '2.50', 1), (2, NULL, 0);");
    // NOT NULL over existing NULLs: nothing changes.
    let mut ch = change();
    ch.nullable = Some(false);
    let e = alter_column(conn.db(), None, "t", "price", &ch).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotNullViolation, "{e:?}");
    assert!(get_columns(conn.db(), None, "t").unwrap()[1].nullable);
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 2);
    assert!(conn.db().is_autocommit());
    // Type + using + default + nullable + rename, at once.
    script(&conn, "UPDATE t SET price = '0' WHERE price IS NULL");
    let ch = ColumnChange {
        rename_to: Some("cents".into()),
        data_type: Some("INTEGER".into()),
        using: Some("CAST(round(price * 100) AS INTEGER)".into()),
        nullable: Some(false),
        default: Some(DefaultChange::Set("0".into())),
    };
    alter_column(conn.db(), None, "t", "price", &ch).unwrap();
    let cols = get_columns(conn.db(), None, "t").unwrap();
    assert_eq!(
        (
            cols[1].name.as_str(),
            cols[1].data_type.as_str(),
            cols[1].nullable,
            cols[1].default.as_deref()
        ),
        ("cents", "INTEGER", false, Some("0"))
    );
    let r = query(&mut conn, "SELECT cents FROM t ORDER BY id", vec![]).unwrap();
    assert_eq!(rows(&r), vec![vec!["Int(250)"], vec!["Int(0)"]]);
    // Drop a default and NOT NULL.
    let mut ch = change();
    ch.default = Some(DefaultChange::Drop);
    ch.nullable = Some(true);
    alter_column(conn.db(), None, "t", "flag", &ch).unwrap();
    let cols = get_columns(conn.db(), None, "t").unwrap();
    assert_eq!((cols[2].nullable, cols[2].default.as_deref()), (true, None));
    // Unknown column, `using` without a type.
    assert_eq!(
        alter_column(conn.db(), None, "t", "nope", &ch).unwrap_err().kind(),
        ErrorKind::UndefinedObject
    );
    let mut ch = change();
    ch.using = Some("1".into());
    assert_eq!(
        alter_column(conn.db(), None, "t", "flag", &ch).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn rebuild_inside_a_transaction_is_refused_while_foreign_keys_are_on() {
    let (_dir, conn) = fresh();
    script(&conn, "CREATE TABLE t (a TEXT); BEGIN;");
    let mut ch = change();
    ch.data_type = Some("INT".into());
    let e = alter_column(conn.db(), None, "t", "a", &ch).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // A rename is fine inside a transaction.
    let mut ch = change();
    ch.rename_to = Some("b".into());
    alter_column(conn.db(), None, "t", "a", &ch).unwrap();
    script(&conn, "ROLLBACK");
    assert_eq!(get_columns(conn.db(), None, "t").unwrap()[0].name, "a");
    // With foreign keys off, a savepoint is used and the rebuild rolls back with the transaction.
    script(&conn, "PRAGMA foreign_keys = OFF; BEGIN;");
    let mut ch = change();
    ch.data_type = Some("INT".into());
    alter_column(conn.db(), None, "t", "a", &ch).unwrap();
    assert_eq!(get_columns(conn.db(), None, "t").unwrap()[0].data_type, "INT");
    script(&conn, "ROLLBACK");
    assert_eq!(get_columns(conn.db(), None, "t").unwrap()[0].data_type, "TEXT");
}

#[test]
fn rebuild_in_an_attached_schema() {
    let (dir, mut conn) = fresh();
    let other = dir.path().join("other.db");
    conn.db()
        .execute("ATTACH DATABASE ?1 AS aux", [other.to_str().unwrap()])
        .unwrap();
    script(
        &conn,
        "CREATE TABLE aux.t (a TEXT, b TEXT); CREATE INDEX aux.t_a ON t (a); INSERT INTO aux.t VALUES ('1', 'x');",
    );
    let mut ch = change();
    ch.data_type = Some("INTEGER".into());
    alter_column(conn.db(), Some("aux"), "t", "a", &ch).unwrap();
    let cols = get_columns(conn.db(), Some("aux"), "t").unwrap();
    assert_eq!(cols[0].data_type, "INTEGER");
    assert_eq!(get_table_indexes(conn.db(), Some("aux"), "t").unwrap()[0].name, "t_a");
    let r = query(&mut conn, "SELECT a FROM aux.t", vec![]).unwrap();
    assert_eq!(v(&values(&r)[0][0]), "Int(1)");
}
