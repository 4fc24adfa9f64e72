//! SQLite through the host: the sandboxed directory, modes, bad files, and
//! the one-writer-per-file lock.

use driverbox::{ErrorKind, QueryDriver, Value};
use driverbox_tests::runtime;

fn url(dir: &tempfile::TempDir, file: &str, mode: &str) -> String {
    format!("sqlite://{}?mode={mode}", dir.path().join(file).display())
}

#[tokio::test]
async fn creates_reads_back_and_sees_only_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let db = rt.connect(&url(&dir, "app.db", "rwc")).await.unwrap();
    db.execute("create table t (id integer primary key, v text, d date, j json)", &[])
        .await
        .unwrap();
    db.execute(
        "insert into t values ($1, $2, $3, $4)",
        &[
            Value::Int(1),
            Value::from("héllo"),
            Value::Date(19_723),
            Value::Json("{\"a\":1}".into()),
        ],
    )
    .await
    .unwrap();
    let r = db.query("select v, d, j from t", &[]).await.unwrap();
    assert_eq!(
        r.rows[0],
        vec![
            Value::from("héllo"),
            Value::Date(19_723),
            Value::Json("{\"a\":1}".into())
        ]
    );
    assert!(dir.path().join("app.db").exists());

    // Files outside the database's directory do not exist for the driver.
    let outside = tempfile::tempdir().unwrap();
    let err = db
        .execute(
            &format!("attach database '{}' as other", outside.path().join("x.db").display()),
            &[],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unable to open"), "{err}");
    assert!(!outside.path().join("x.db").exists(), "nothing was created outside");
}

#[tokio::test]
async fn read_only_mode_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    {
        let db = rt.connect(&url(&dir, "ro.db", "rwc")).await.unwrap();
        db.execute("create table t (x integer)", &[]).await.unwrap();
        db.execute("insert into t values (1)", &[]).await.unwrap();
        driverbox::ConnectionDriver::close(&db).await;
    }
    let before = std::fs::read(dir.path().join("ro.db")).unwrap();
    let ro = rt.connect(&url(&dir, "ro.db", "ro")).await.unwrap();
    let r = ro.query("select x from t", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Int(1));
    let err = ro.execute("insert into t values (2)", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    // Two read-only pools may share the file.
    let ro2 = rt.connect(&url(&dir, "ro.db", "ro")).await.unwrap();
    assert!(ro2.query("select 1", &[]).await.is_ok());
    assert_eq!(
        std::fs::read(dir.path().join("ro.db")).unwrap(),
        before,
        "not one byte changed"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no journal or other file: {names:?}");
}

#[tokio::test]
async fn bad_paths_and_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let err = rt.connect(&url(&dir, "missing/sub.db", "rwc")).await.unwrap_err();
    assert!(
        err.to_string().contains("missing") && err.to_string().contains("cannot be opened"),
        "{err}"
    );

    let err = rt.connect(&url(&dir, "absent.db", "rw")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(!dir.path().join("absent.db").exists());

    std::fs::write(dir.path().join("corrupt.db"), vec![0x5a; 8192]).unwrap();
    let err = match rt.connect(&url(&dir, "corrupt.db", "rw")).await {
        Err(e) => e,
        Ok(db) => db.query("select * from sqlite_schema", &[]).await.unwrap_err(),
    };
    assert!(err.to_string().contains("not a database"), "{err}");
}

#[tokio::test]
async fn one_writer_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let first = rt.connect(&url(&dir, "shared.db", "rwc")).await.unwrap();
    let err = rt.connect(&url(&dir, "shared.db", "rwc")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TransactionConflict, "{err}");
    assert!(err.to_string().contains("in use by another connection"), "{err}");
    // Once the first pool lets go, the file is free.
    driverbox::ConnectionDriver::close(&first).await;
    let second = rt.connect(&url(&dir, "shared.db", "rwc")).await.unwrap();
    assert!(second.query("select 1", &[]).await.is_ok());
}

#[tokio::test]
async fn in_memory_databases() {
    let rt = runtime();
    let db = rt.connect("sqlite::memory:").await.unwrap();
    db.execute("create table m (x integer)", &[]).await.unwrap();
    db.execute("insert into m values (42)", &[]).await.unwrap();
    let r = db.query("select x from m", &[]).await.unwrap();
    assert_eq!(
        r.rows[0][0],
        Value::Int(42),
        "one connection keeps the same memory database"
    );
}
