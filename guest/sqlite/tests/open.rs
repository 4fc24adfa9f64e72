//! Opening by config, modes, bad files, and error mapping.

mod common;

use common::*;
use driverbox_guest_sdk::{Error, ErrorKind, Value};
use driverbox_sqlite::base::{execute, execute_query, query, test_connection};
use driverbox_sqlite::connection::open;
use driverbox_sqlite::traits::{health_check, metadata};

#[test]
fn rwc_creates_rw_needs_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let p = path.to_str().unwrap();
    let e = open(&config(p, &[("mode", "rw")])).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e:?}");
    assert!(message(&e).contains(p), "{}", message(&e));
    assert!(!path.exists());
    let conn = open(&config(p, &[("mode", "rwc")])).unwrap();
    test_connection(conn.db()).unwrap();
    drop(conn);
    assert!(path.exists());
    let mut conn = open(&config(p, &[("mode", "rw")])).unwrap();
    execute(&mut conn, "CREATE TABLE t (a)", vec![]).unwrap();
    // foreign keys are on, temp storage in memory, default rollback journal.
    assert_eq!(count(&conn, "PRAGMA foreign_keys"), 1);
    assert_eq!(count(&conn, "PRAGMA temp_store"), 2);
    let journal: String = conn.db().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "delete");
}

#[test]
fn missing_directory_is_a_connection_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/app.db");
    let p = path.to_str().unwrap();
    let e = open(&config(p, &[])).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Connection);
    assert!(message(&e).contains(p), "{}", message(&e));
    assert!(message(&e).contains("SQLITE_CANTOPEN"), "{}", message(&e));
    assert_eq!(code(&e), "14");
}

#[test]
fn bad_config_is_invalid_input() {
    for cfg in [
        config("", &[]),
        config("/x.db", &[("mode", "rwx")]),
        config("/x.db", &[("busy_timeout", "soon")]),
        config("a\0b", &[]),
    ] {
        let e = open(&cfg).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    }
}

#[test]
fn read_only_mode_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    {
        let conn = open_path(&path);
        script(&conn, "CREATE TABLE t (a); INSERT INTO t VALUES (1);");
    }
    let before = std::fs::read(&path).unwrap();
    let mut conn = open(&config(path.to_str().unwrap(), &[("mode", "ro")])).unwrap();
    for sql in [
        "INSERT INTO t VALUES (2)",
        "UPDATE t SET a = 5",
        "DELETE FROM t",
        "CREATE TABLE u (b)",
        "DROP TABLE t",
        "PRAGMA user_version = 7",
    ] {
        let e = execute(&mut conn, sql, vec![]).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Permission | ErrorKind::Other),
            "{sql}: {e:?}"
        );
    }
    let e = execute(&mut conn, "INSERT INTO t VALUES (2)", vec![]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e:?}");
    // query_only cannot be switched off through the driver's API either:
    // it is just another statement, and the file is opened read-only anyway.
    let _ = execute(&mut conn, "PRAGMA query_only = 0", vec![]);
    assert!(execute(&mut conn, "INSERT INTO t VALUES (3)", vec![]).is_err());
    let r = query(&mut conn, "SELECT count(*) FROM t", vec![]).unwrap();
    assert_eq!(v(&values(&r)[0][0]), "Int(1)");
    drop(conn);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!dir.path().join("ro.db-journal").exists());
}

#[test]
fn read_only_file_in_rw_mode_fails_on_write_with_permission() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    {
        let conn = open_path(&path);
        script(&conn, "CREATE TABLE t (a)");
    }
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
        eprintln!("skipped: running as root, file permissions are not enforced");
        return;
    }
    let mut conn = open(&config(path.to_str().unwrap(), &[("mode", "rw")])).unwrap();
    let e = execute(&mut conn, "INSERT INTO t VALUES (1)", vec![]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission);
}

#[test]
fn corrupt_file_says_it_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    let junk: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &junk).unwrap();
    let e = open(&config(path.to_str().unwrap(), &[])).err().unwrap();
    assert!(matches!(e.kind(), ErrorKind::Other | ErrorKind::Connection), "{e:?}");
    assert!(message(&e).contains("file is not a database"), "{}", message(&e));
    assert_eq!(code(&e), "26");
    // The file is left alone.
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn busy_is_a_transaction_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let p = path.to_str().unwrap();
    let a = open(&config(p, &[])).unwrap();
    script(&a, "CREATE TABLE t (x)");
    let mut b = open(&config(p, &[("busy_timeout", "0")])).unwrap();
    script(&a, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1);");
    let e = execute(&mut b, "INSERT INTO t VALUES (2)", vec![]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TransactionConflict, "{e:?}");
    assert!(message(&e).contains("SQLITE_BUSY"), "{}", message(&e));
    match &e {
        Error::Server(s) => assert!(s.hint.is_some()),
        Error::Client(_) => panic!(),
    }
    script(&a, "COMMIT");
    execute(&mut b, "INSERT INTO t VALUES (2)", vec![]).unwrap();
}

#[test]
fn server_errors_map_to_kinds_codes_and_names() {
    let (_dir, mut conn) = fresh();
    script(
        &conn,
        "CREATE TABLE p (id INTEGER PRIMARY KEY);
         CREATE TABLE c (id INTEGER PRIMARY KEY, p INT REFERENCES p(id), u TEXT UNIQUE,
                         n TEXT NOT NULL DEFAULT 'x', k INT CONSTRAINT k_pos CHECK (k > 0));
         INSERT INTO p VALUES (1);
         INSERT INTO c (id, p, u) VALUES (1, 1, 'a');",
    );
    let cases: Vec<(&str, ErrorKind, &str, &str)> = vec![
        (
            "INSERT INTO c (id, u) VALUES (2, 'a')",
            ErrorKind::UniqueViolation,
            "2067",
            "SQLITE_CONSTRAINT_UNIQUE",
        ),
        (
            "INSERT INTO c (id) VALUES (1)",
            ErrorKind::UniqueViolation,
            "1555",
            "SQLITE_CONSTRAINT_PRIMARYKEY",
        ),
        (
            "INSERT INTO c (id, p) VALUES (3, 99)",
            ErrorKind::ForeignKeyViolation,
            "787",
            "SQLITE_CONSTRAINT_FOREIGNKEY",
        ),
        (
            "INSERT INTO c (id, n) VALUES (4, NULL)",
            ErrorKind::NotNullViolation,
            "1299",
            "SQLITE_CONSTRAINT_NOTNULL",
        ),
        (
            "INSERT INTO c (id, k) VALUES (5, -1)",
            ErrorKind::CheckViolation,
            "275",
            "SQLITE_CONSTRAINT_CHECK",
        ),
        ("SELEC 1", ErrorKind::Syntax, "1", "syntax error"),
        (
            "SELECT * FROM nowhere",
            ErrorKind::UndefinedObject,
            "1",
            "no such table",
        ),
        ("SELECT nope FROM c", ErrorKind::UndefinedObject, "1", "no such column"),
        ("CREATE TABLE c (x)", ErrorKind::DuplicateObject, "1", "already exists"),
    ];
    for (sql, kind, code_text, text) in cases {
        let e = execute(&mut conn, sql, vec![]).unwrap_err();
        assert_eq!(e.kind(), kind, "{sql}: {e:?}");
        assert_eq!(code(&e), code_text, "{sql}");
        assert!(message(&e).contains(text), "{sql}: {}", message(&e));
    }
    let Error::Server(e) = execute(&mut conn, "INSERT INTO c (id, k) VALUES (5, -1)", vec![]).unwrap_err() else {
        panic!()
    };
    assert_eq!(e.constraint_name.as_deref(), Some("k_pos"));
    let Error::Server(e) = execute(&mut conn, "INSERT INTO c (id, u) VALUES (2, 'a')", vec![]).unwrap_err() else {
        panic!()
    };
    assert_eq!(
        (e.table_name.as_deref(), e.column_name.as_deref()),
        (Some("c"), Some("u"))
    );
    let Error::Server(e) = query(&mut conn, "SELECT 1,\n  2 FRM c", vec![]).unwrap_err() else {
        panic!()
    };
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(e.position, Some(19), "{e:?}"); // at `c`: `2 FRM` is `2 AS FRM`
}

#[test]
fn one_statement_apis_refuse_scripts_without_running_them() {
    let (_dir, mut conn) = fresh();
    script(&conn, "CREATE TABLE t (a)");
    for sql in ["INSERT INTO t VALUES (1); DROP TABLE t", "SELECT 1; SELECT 2"] {
        assert_eq!(
            execute(&mut conn, sql, vec![]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            query(&mut conn, sql, vec![]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 0);
    assert_eq!(
        execute(&mut conn, "   -- nothing\n", vec![]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        execute(&mut conn, "INSERT INTO t VALUES (1); -- done\n", vec![]).unwrap(),
        1
    );
}

#[test]
fn execute_query_runs_scripts() {
    let (_dir, conn) = fresh();
    let r = execute_query(
        conn.db(),
        "CREATE TABLE t (a); INSERT INTO t VALUES (1), (2);
         CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = a * 10 WHERE rowid = new.rowid; END;
         INSERT INTO t VALUES (3); SELECT a FROM t ORDER BY a; UPDATE t SET a = a + 1;",
        vec![],
    )
    .unwrap();
    // The last result with columns wins.
    assert_eq!(rows(&r), vec![vec!["Int(1)"], vec!["Int(2)"], vec!["Int(30)"]]);
    // Now 2, 3, 31: the last statement's count is given.
    let r = execute_query(
        conn.db(),
        "UPDATE t SET a = 0 WHERE a > 2; DELETE FROM t WHERE a = 0",
        vec![],
    )
    .unwrap();
    assert_eq!(r.rows_affected, Some(2));
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 1);
    let r = execute_query(conn.db(), "SELECT ? + 1", vec![Value::Int(41)]).unwrap();
    assert_eq!(rows(&r), vec![vec!["Int(42)"]]);
    assert_eq!(r.rows_affected, None);
    let e = execute_query(conn.db(), "SELECT ?; SELECT 2", vec![Value::Int(1)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // DDL reports no stale count.
    let r = execute_query(conn.db(), "CREATE TABLE u (x)", vec![]).unwrap();
    assert_eq!(r.rows_affected, Some(0));
    // INSERT ... RETURNING gives rows and a count.
    let r = execute_query(conn.db(), "INSERT INTO u VALUES (1), (2) RETURNING x", vec![]).unwrap();
    assert_eq!(values(&r).len(), 2);
    assert_eq!(r.rows_affected, Some(2));
}

#[test]
fn in_memory_database() {
    let mut conn = open(&config(":memory:", &[])).unwrap();
    execute(&mut conn, "CREATE TABLE t (a)", vec![]).unwrap();
    assert_eq!(execute(&mut conn, "INSERT INTO t VALUES (1), (2)", vec![]).unwrap(), 2);
    // `mode=memory` (the host's `sqlite::memory:` form) needs no path.
    let mut cfg = config("", &[("mode", "memory")]);
    cfg.database = None;
    let mut conn = open(&cfg).unwrap();
    execute(&mut conn, "CREATE TABLE t (a)", vec![]).unwrap();
    assert_eq!(conn.mode.as_str(), "memory");
}

#[test]
fn metadata_and_health() {
    let m = metadata();
    assert_eq!(m.name, "sqlite");
    assert_eq!(m.max_connections, Some(1));
    assert_eq!(m.connection.default_port, None);
    assert!(m.connection.file_based);
    assert_eq!(m.connection.schemes, vec!["sqlite"]);
    assert_eq!(m.features.len(), 8);
    let (_dir, conn) = fresh();
    let h = health_check(&conn).unwrap();
    assert!(h.server_version.starts_with("3."));
    assert!(h.details.iter().any(|(k, v)| k == "journal_mode" && v == "delete"));
}
