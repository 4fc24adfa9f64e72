//! Transactions, savepoints and prepared statements.

mod common;

use common::*;
use driverbox_guest_sdk::types::{IsolationLevel, TransactionOptions};
use driverbox_guest_sdk::{ErrorKind, Value};
use driverbox_sqlite::base::execute;
use driverbox_sqlite::capabilities::*;
use driverbox_sqlite::connection::open;

fn opts(read_only: bool) -> TransactionOptions {
    TransactionOptions {
        isolation: Some(IsolationLevel::Serializable),
        read_only,
        deferrable: false,
    }
}

#[test]
fn commit_and_rollback() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE t (a)");
    assert!(!conn.in_transaction());
    assert_eq!(commit(&mut conn).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(rollback(&mut conn).unwrap_err().kind(), ErrorKind::InvalidInput);
    begin_transaction(&mut conn, &opts(false)).unwrap();
    assert!(conn.in_transaction());
    assert_eq!(
        begin_transaction(&mut conn, &opts(false)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    execute(&mut conn, "INSERT INTO t VALUES (1)", vec![]).unwrap();
    rollback(&mut conn).unwrap();
    assert!(!conn.in_transaction());
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 0);
    begin_transaction(&mut conn, &opts(false)).unwrap();
    execute(&mut conn, "INSERT INTO t VALUES (1)", vec![]).unwrap();
    commit(&mut conn).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 1);
    // Every isolation level is accepted: SQLite is serializable.
    for level in [
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
    ] {
        begin_transaction(
            &mut conn,
            &TransactionOptions {
                isolation: Some(level),
                read_only: false,
                deferrable: true,
            },
        )
        .unwrap();
        rollback(&mut conn).unwrap();
    }
    // A transaction begun with SQL is seen too.
    execute(&mut conn, "BEGIN", vec![]).unwrap();
    assert!(conn.in_transaction());
    commit(&mut conn).unwrap();
}

#[test]
fn read_only_transaction_blocks_writes_then_resets() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE t (a)");
    begin_transaction(&mut conn, &opts(true)).unwrap();
    let e = execute(&mut conn, "INSERT INTO t VALUES (1)", vec![]).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Permission | ErrorKind::Other), "{e:?}");
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 0);
    commit(&mut conn).unwrap();
    assert_eq!(count(&conn, "PRAGMA query_only"), 0);
    execute(&mut conn, "INSERT INTO t VALUES (1)", vec![]).unwrap();
    // Ended by SQL instead: reset on the next call.
    begin_transaction(&mut conn, &opts(true)).unwrap();
    execute(&mut conn, "ROLLBACK", vec![]).unwrap();
    conn.sync_transaction_state();
    assert_eq!(count(&conn, "PRAGMA query_only"), 0);
}

#[test]
fn read_only_connection_stays_query_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    {
        let c = open_path(&path);
        script(&c, "CREATE TABLE t (a)");
    }
    let mut conn = open(&config(path.to_str().unwrap(), &[("mode", "ro")])).unwrap();
    begin_transaction(&mut conn, &opts(true)).unwrap();
    commit(&mut conn).unwrap();
    assert_eq!(count(&conn, "PRAGMA query_only"), 1);
    // A read-write transaction cannot even start.
    let e = begin_transaction(&mut conn, &opts(false)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Permission | ErrorKind::Other), "{e:?}");
}

#[test]
fn savepoints() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE t (a)");
    assert_eq!(savepoint(&mut conn, "s").unwrap_err().kind(), ErrorKind::InvalidInput);
    begin_transaction(&mut conn, &opts(false)).unwrap();
    execute(&mut conn, "INSERT INTO t VALUES (1)", vec![]).unwrap();
    savepoint(&mut conn, "we\"ird; name").unwrap();
    execute(&mut conn, "INSERT INTO t VALUES (2)", vec![]).unwrap();
    rollback_to_savepoint(&mut conn, "we\"ird; name").unwrap();
    savepoint(&mut conn, "s2").unwrap();
    execute(&mut conn, "INSERT INTO t VALUES (3)", vec![]).unwrap();
    release_savepoint(&mut conn, "s2").unwrap();
    let e = rollback_to_savepoint(&mut conn, "nope").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e:?}");
    assert_eq!(savepoint(&mut conn, "").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(savepoint(&mut conn, "a\0").unwrap_err().kind(), ErrorKind::InvalidInput);
    commit(&mut conn).unwrap();
    let got: String = conn
        .db()
        .query_row("SELECT group_concat(a) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(got, "1,3");
}

#[test]
fn prepared_statements() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, born DATE)");
    let ins = prepare(&mut conn, "INSERT INTO t (name, born) VALUES (?, ?)").unwrap();
    assert_eq!(ins.param_types, vec!["", ""]);
    assert!(ins.columns.is_empty());
    let sel = prepare(&mut conn, "SELECT id, name, born, 1 + 1 AS two FROM t WHERE id > ?").unwrap();
    assert_ne!(ins.id, sel.id);
    let types: Vec<&str> = sel.columns.iter().map(|c| c.database_type.as_str()).collect();
    assert_eq!(types, vec!["INTEGER", "TEXT", "DATE", ""]);
    for i in 0..100 {
        let r = execute_prepared(
            &mut conn,
            ins.id,
            vec![Value::Text(format!("n{i}")), Value::Date(19_000 + i)],
        )
        .unwrap();
        assert_eq!(r.rows_affected, Some(1));
    }
    let r = execute_prepared(&mut conn, sel.id, vec![Value::Int(98)]).unwrap();
    assert_eq!(
        rows(&r),
        vec![
            vec!["Int(99)", "Text(\"n98\")", "Date(19098)", "Int(2)"],
            vec!["Int(100)", "Text(\"n99\")", "Date(19099)", "Int(2)"],
        ]
    );
    assert_eq!(r.columns[3].database_type, "INTEGER");
    assert_eq!(
        execute_prepared(&mut conn, sel.id, vec![]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        execute_prepared(&mut conn, 9999, vec![]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // Many statements: more than the statement cache holds still work.
    let ids: Vec<u32> = (0..200)
        .map(|i| prepare(&mut conn, &format!("SELECT {i}")).unwrap().id)
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let r = execute_prepared(&mut conn, *id, vec![]).unwrap();
        assert_eq!(v(&values(&r)[0][0]), format!("Int({i})"));
    }
    deallocate(&mut conn, sel.id).unwrap();
    assert_eq!(
        deallocate(&mut conn, sel.id).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        execute_prepared(&mut conn, sel.id, vec![Value::Int(1)])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    // Errors at prepare time.
    assert_eq!(prepare(&mut conn, "SELEC 1").unwrap_err().kind(), ErrorKind::Syntax);
    assert_eq!(
        prepare(&mut conn, "SELECT * FROM nope").unwrap_err().kind(),
        ErrorKind::UndefinedObject
    );
    assert_eq!(
        prepare(&mut conn, "SELECT 1; SELECT 2").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // A schema change under a prepared statement: SQLite re-prepares.
    script(&conn, "ALTER TABLE t ADD COLUMN extra TEXT");
    let r = execute_prepared(&mut conn, ins.id, vec![Value::Text("x".into()), Value::Null]).unwrap();
    assert_eq!(r.rows_affected, Some(1));
}
