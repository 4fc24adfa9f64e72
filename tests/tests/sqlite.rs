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

/// A stream's columns are typed by its first batch: a column whose values
/// differ there is a union; one that changes type later is refused for
/// Arrow (whose schema is fixed) and given as it is to row readers.
#[tokio::test]
async fn streams_type_columns_by_their_first_batch() {
    use driverbox::arrow_schema::DataType;
    use driverbox::StreamingDriver;
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let db = runtime().connect(&url(&dir, "m.db", "rwc")).await.unwrap();
    db.execute("create table m (k integer primary key, v)", &[])
        .await
        .unwrap();
    db.execute("insert into m values (1, null), (2, 1), (3, 'two'), (4, 3.5)", &[])
        .await
        .unwrap();

    let mut s = db.stream_arrow("select v from m order by k", &[], 10).await.unwrap();
    assert!(
        matches!(s.schema().field(0).data_type(), DataType::Union(..)),
        "{:?}",
        s.schema()
    );
    let batch = s.next().await.unwrap().unwrap();
    assert_eq!(batch.num_rows(), 4);
    assert!(s.next().await.is_none());

    // The first non-NULL value types an expression column.
    let mut s = db
        .stream_arrow("select v + 0 from m where k <= 2 order by k", &[], 10)
        .await
        .unwrap();
    assert_eq!(s.schema().field(0).data_type(), &DataType::Int64);
    assert_eq!(s.next().await.unwrap().unwrap().num_rows(), 2);
    drop(s);

    let mut s = db
        .stream_arrow("select v from m where k > 1 order by k", &[], 1)
        .await
        .unwrap();
    assert_eq!(s.schema().field(0).data_type(), &DataType::Int64);
    assert_eq!(s.next().await.unwrap().unwrap().num_rows(), 1);
    let err = s.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data, "{err}");
    assert!(err.to_string().contains("column \"v\""), "{err}");
    drop(s);

    let mut rows = db
        .stream_query("select v from m where k > 1 order by k", &[], 1)
        .await
        .unwrap();
    let mut values = Vec::new();
    while let Some(batch) = rows.next().await {
        values.extend(batch.unwrap().into_iter().map(|mut r| r.remove(0)));
    }
    assert_eq!(values, vec![Value::Int(1), Value::from("two"), Value::Float(3.5)]);
}
