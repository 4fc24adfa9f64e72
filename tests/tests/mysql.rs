//! The MySQL/MariaDB driver end to end against the local MariaDB 10.11:
//! every type decodes to the right typed value through both the text
//! protocol (no parameters) and the binary one (parameters), parameters
//! round-trip, errors are typed and the pool stays usable.

use driverbox::{
    BulkOperationsDriver, ConnectionDriver, DriverMetadata, ErrorKind, HealthCheckDriver, Interval, PoolConfig,
    PreparedStatementDriver, QueryDriver, SchemaIntrospection, StreamingDriver, TransactionOptions, Value, WasmDriver,
};
use driverbox_tests::{runtime, MYSQL_URL};
use futures::StreamExt;

async fn db() -> WasmDriver {
    runtime()
        .connect(MYSQL_URL)
        .await
        .expect("connect to the local MariaDB")
}

/// A pool of one connection: one session, whose status counters and
/// `USE` hold from call to call.
async fn one_session() -> WasmDriver {
    let pool = PoolConfig {
        max_size: 1,
        ..Default::default()
    };
    runtime().connect_with(MYSQL_URL, pool).await.unwrap()
}

async fn fresh_table(db: &WasmDriver, name: &str, columns: &str) {
    db.execute(&format!("drop table if exists {name}"), &[]).await.unwrap();
    db.execute(&format!("create table {name} ({columns})"), &[])
        .await
        .unwrap();
}

fn iv(us: i64) -> Value {
    Value::Interval(Interval {
        months: 0,
        days: 0,
        microseconds: us,
    })
}

#[tokio::test]
async fn every_type_decodes_through_text_and_binary_protocols() {
    let db = db().await;
    fresh_table(
        &db,
        "dbx_my_types",
        "id int primary key, ti tinyint, tu tinyint unsigned, si smallint, su smallint unsigned, \
         mi mediumint, iu int unsigned, bi bigint, bu bigint unsigned, f float, dbl double, \
         de decimal(30,10), bt bit(10), y year, d date, dt datetime(6), ts timestamp(3) null, \
         t time(6), vc varchar(20), tx text, bn binary(3), vb varbinary(10), bl blob, \
         j json, e enum('a','b'), st set('x','y'), g geometry",
    )
    .await;
    db.execute(
        "insert into dbx_my_types values (1, -128, 255, -32768, 65535, -8388608, 4294967295, \
         -9223372036854775808, 18446744073709551615, 1.5, 2.25, -12345678901234567890.0123456789, \
         b'1000000001', 2155, '2024-02-29', '2024-01-02 03:04:05.000006', '2000-01-01 00:00:00.5', \
         '-838:59:59.000000', 'héllo ✓', 'long text', x'000102', x'ff', x'00ff', '{\"a\": [1, 2]}', \
         'b', 'x,y', ST_GeomFromText('POINT(1 2)'))",
        &[],
    )
    .await
    .unwrap();
    db.execute(
        "insert into dbx_my_types (id, t, d) values (2, '100:00:00', '2024-01-01')",
        &[],
    )
    .await
    .unwrap();
    // WKB of POINT(1 2): little-endian, type 1, x, y.
    let mut wkb = vec![1u8, 1, 0, 0, 0];
    wkb.extend_from_slice(&1f64.to_le_bytes());
    wkb.extend_from_slice(&2f64.to_le_bytes());
    let expected = vec![
        Value::Int(1),
        Value::Int(-128),
        Value::Int(255),
        Value::Int(-32768),
        Value::Int(65535),
        Value::Int(-8388608),
        Value::Int(4294967295),
        Value::Int(i64::MIN),
        Value::Decimal("18446744073709551615".into()),
        Value::Float(1.5),
        Value::Float(2.25),
        Value::Decimal("-12345678901234567890.0123456789".into()),
        Value::Int(513),
        Value::Int(2155),
        Value::Date(19_782),
        Value::Timestamp(1_704_164_645_000_006),
        Value::Timestamptz(946_684_800_500_000),
        iv(-(838 * 3600 + 59 * 60 + 59) * 1_000_000),
        Value::Text("héllo ✓".into()),
        Value::Text("long text".into()),
        Value::Bytes(vec![0, 1, 2]),
        Value::Bytes(vec![0xff]),
        Value::Bytes(vec![0, 0xff]),
        Value::Json("{\"a\": [1, 2]}".into()),
        Value::Text("b".into()),
        Value::Text("x,y".into()),
        Value::Bytes(wkb),
    ];
    let text = db.query("select * from dbx_my_types order by id", &[]).await.unwrap();
    let binary = db
        .query("select * from dbx_my_types where id > ? order by id", &[Value::Int(0)])
        .await
        .unwrap();
    for r in [&text, &binary] {
        assert_eq!(r.rows.len(), 2);
        for (i, (got, want)) in r.rows[0].iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "column {}", r.columns[i].name);
        }
        assert_eq!(r.rows[1][17], iv(100 * 3_600_000_000), "TIME over 24 h");
        assert_eq!(r.rows[1][1], Value::Null);
        let types: Vec<&str> = r.columns.iter().map(|c| c.type_name.as_str()).collect();
        assert_eq!(&types[..4], ["INT", "TINYINT", "TINYINT UNSIGNED", "SMALLINT"]);
        assert_eq!(types[11], "DECIMAL(30,10)");
        assert_eq!(types[23], "JSON", "MariaDB's JSON recognised from the column metadata");
        assert_eq!((r.columns[11].precision, r.columns[11].scale), (Some(30), Some(10)));
    }
    db.execute("drop table dbx_my_types", &[]).await.unwrap();
}

#[tokio::test]
async fn zero_dates_are_kept_as_text() {
    let db = db().await;
    let sql = "select cast('0000-00-00' as date) as z, cast('2024-01-05' as date) as d";
    let r = db.query(&format!("set sql_mode = ''; {sql}"), &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Text("0000-00-00".into()));
}

#[tokio::test]
async fn parameters_round_trip() {
    let db = db().await;
    fresh_table(
        &db,
        "dbx_my_params",
        "id int primary key, n bigint, f double, de decimal(40,20), t text, b blob, d date, \
         dt datetime(6), tm time(6), ok bool",
    )
    .await;
    let row = vec![
        Value::Int(7),
        Value::Int(i64::MAX),
        Value::Float(-0.125),
        Value::Decimal("12345678901234567890.12345678901234567890".into()),
        Value::Text("it's \"quoted\" \\ ✓".into()),
        Value::Bytes((0..=255).collect()),
        Value::Date(-1),
        Value::Timestamp(-1),
        Value::Time(86_399_999_999),
        Value::Boolean(true),
    ];
    let n = db
        .execute("insert into dbx_my_params values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &row)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let r = db
        .query("select * from dbx_my_params where id = ?", &[Value::Int(7)])
        .await
        .unwrap();
    let got = &r.rows[0];
    assert_eq!(&got[..6], &row[..6]);
    assert_eq!(got[6], Value::Date(-1));
    assert_eq!(got[7], Value::Timestamp(-1));
    assert_eq!(got[8], iv(86_399_999_999));
    assert_eq!(got[9], Value::Int(1));
    let err = db.query("select ?", &[Value::Int(1), Value::Int(2)]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    db.execute("drop table dbx_my_params", &[]).await.unwrap();
}

#[tokio::test]
async fn server_errors_are_typed_and_the_pool_stays_usable() {
    let db = db().await;
    let err = db.query("selec 1", &[]).await.unwrap_err();
    assert_eq!((err.kind(), err.code()), (ErrorKind::Syntax, Some("42000")), "{err}");
    assert_eq!(err.as_server_error().unwrap().vendor_code, Some(1064));
    let err = db.query("select * from no_such_table_dbx", &[]).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::UndefinedObject, Some("42S02")),
        "{err}"
    );

    fresh_table(&db, "dbx_my_parent", "id int primary key").await;
    fresh_table(
        &db,
        "dbx_my_child",
        "id int primary key, p int not null, q int check (q > 0), \
         foreign key (p) references dbx_my_parent (id)",
    )
    .await;
    db.execute("insert into dbx_my_parent values (1)", &[]).await.unwrap();
    let cases = [
        ("insert into dbx_my_parent values (1)", ErrorKind::UniqueViolation),
        (
            "insert into dbx_my_child values (1, 2, 1)",
            ErrorKind::ForeignKeyViolation,
        ),
        (
            "insert into dbx_my_child values (1, null, 1)",
            ErrorKind::NotNullViolation,
        ),
        ("insert into dbx_my_child values (1, 1, 0)", ErrorKind::CheckViolation),
    ];
    for (sql, kind) in cases {
        let err = db.execute(sql, &[]).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{sql}: {err}");
    }
    let r = db.query("select 1 + 1", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Int(2));
    assert_eq!(db.pool_status().discarded, 0);
    db.execute("drop table dbx_my_child, dbx_my_parent", &[]).await.unwrap();
}

#[tokio::test]
async fn connection_errors_are_clear() {
    let rt = runtime();
    let err = rt
        .connect("mysql://root@127.0.0.1:3306/no_such_db_dbx")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");
    assert!(err.to_string().contains("no_such_db_dbx"), "{err}");
    let err = rt
        .connect("mysql://no_such_user_dbx:secret-pw@127.0.0.1:3306/test")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(!err.to_string().contains("secret-pw"), "{err}");
    // The local server has TLS off: REQUIRED never falls back to plaintext.
    let err = rt
        .connect("mysql://root@127.0.0.1:3306/test?ssl-mode=REQUIRED")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
}

#[tokio::test]
async fn metadata_health_scripts_streams_and_transactions() {
    let db = runtime().connect("mariadb://root@127.0.0.1/test").await.unwrap();
    assert_eq!(
        (db.driver_name().as_str(), db.database_type().as_str()),
        ("mysql", "mysql")
    );
    assert!(db.supports_transactions() && db.supports_prepared_statements() && db.supports_streaming());
    let health = db.health_check().await.unwrap();
    assert!(health.server_version.contains("MariaDB"), "{}", health.server_version);
    db.test_connection().await.unwrap();
    assert!(db.get_databases().await.unwrap().iter().any(|d| d.name == "test"));

    // Several results of one script.
    let out = db.execute_script("select 1; select 'two' as t").await.unwrap();
    assert!(out.error.is_none());
    assert_eq!(out.results.len(), 2);
    assert_eq!(out.results[1].rows[0][0], Value::Text("two".into()));

    // A stream delivers every row in batches.
    let mut s = db
        .stream_query("select seq from seq_1_to_2500", &[], 1000)
        .await
        .unwrap();
    let mut n = 0;
    let mut batches = 0;
    while let Some(b) = s.next().await {
        n += b.unwrap().len();
        batches += 1;
    }
    assert_eq!((n, batches), (2500, 3));

    fresh_table(&db, "dbx_my_tx", "id int primary key").await;
    let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
    tx.execute("insert into dbx_my_tx values (1)", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    let r = db.query("select count(*) from dbx_my_tx", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Int(0));
    db.execute("drop table dbx_my_tx", &[]).await.unwrap();
}

/// A session status counter (`SHOW SESSION STATUS`).
async fn session_status(db: &WasmDriver, name: &str) -> i64 {
    let r = db
        .query(&format!("show session status like '{name}'"), &[])
        .await
        .unwrap();
    match &r.rows[0][1] {
        Value::Text(n) => n.parse().unwrap(),
        other => panic!("{name} is {other:?}"),
    }
}

/// The session's count of `COM_STMT_PREPARE`s so far.
async fn prepares(db: &WasmDriver) -> i64 {
    session_status(db, "Com_stmt_prepare").await
}

#[tokio::test]
async fn bulk_insert_prepares_each_statement_shape_once_per_session() {
    // One session, so its status counters see every statement.
    let db = one_session().await;
    fresh_table(&db, "dbx_my_bulk_shapes", "id int primary key, label varchar(20)").await;
    let rows = |from: i64, n: i64| -> Vec<Vec<Value>> {
        (from..from + n)
            .map(|i| vec![Value::Int(i), Value::Text(format!("row {i}"))])
            .collect()
    };
    let columns = ["id".to_string(), "label".to_string()];
    // 25 000 rows reach the driver as chunks of 10 000, 10 000 and 5 000
    // rows: two statement shapes, each prepared once (before, every chunk
    // prepared its own, each with a packet per placeholder to read).
    let before = prepares(&db).await;
    let n = db
        .bulk_insert(None, "dbx_my_bulk_shapes", &columns, rows(1, 25_000))
        .await
        .unwrap();
    assert_eq!(n, 25_000);
    assert_eq!(prepares(&db).await - before, 2);
    // A second insert into the same table reuses both.
    let n = db
        .bulk_insert(None, "dbx_my_bulk_shapes", &columns, rows(25_001, 15_000))
        .await
        .unwrap();
    assert_eq!(n, 15_000);
    assert_eq!(prepares(&db).await - before, 2);
    let r = db
        .query(
            "select count(*) from dbx_my_bulk_shapes where label = concat('row ', id)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.rows[0][0], Value::Int(40_000));
    db.execute("drop table dbx_my_bulk_shapes", &[]).await.unwrap();
}

/// Every row of a stream.
async fn stream_rows(db: &WasmDriver, sql: &str) -> Vec<Vec<Value>> {
    let mut s = db.stream_query(sql, &[], 1000).await.unwrap();
    let mut rows = Vec::new();
    while let Some(b) = s.next().await {
        rows.extend(b.unwrap());
    }
    rows
}

#[tokio::test]
async fn streams_use_the_binary_protocol_and_fall_back_to_text() {
    let db = one_session().await;
    let sql = "select seq, seq * 1000000000, cast(seq as decimal(12,2)) / 7, concat('r', seq), \
               timestamp'2024-02-29 12:00:00.5' + interval seq second, seq * 0.5e0, null \
               from seq_1_to_2500";
    let before = prepares(&db).await;
    let binary = stream_rows(&db, sql).await;
    assert_eq!(binary.len(), 2500);
    // Prepared once, then taken from the statement cache.
    assert_eq!(stream_rows(&db, sql).await, binary);
    assert_eq!(prepares(&db).await - before, 1);
    // The same values as the text protocol (`query` without parameters).
    assert_eq!(db.query(sql, &[]).await.unwrap().rows, binary);
    // Two statements cannot be prepared: the stream sends the text, and
    // remembers to.
    let two = "select 1 as a; select 'two' as b";
    for _ in 0..2 {
        assert_eq!(stream_rows(&db, two).await, [[Value::Int(1)]]);
    }
    assert_eq!(prepares(&db).await - before, 2);
    // A server error is the text's error, not the prepare's.
    let Err(e) = db.stream_query("select * from dbx_no_such_table", &[], 10).await else {
        panic!("a stream of a missing table opened");
    };
    assert_eq!((e.kind(), e.code()), (ErrorKind::UndefinedObject, Some("42S02")), "{e}");
    assert_eq!(stream_rows(&db, "select 3").await, [[Value::Int(3)]]);
}

/// `v` of table `t` in the session's default database, through the
/// statement cache (a parameter makes it a prepared statement).
async fn v_of_t(db: &WasmDriver) -> Vec<Value> {
    let r = db
        .query("select v from t where v > ? order by v", &[Value::Int(0)])
        .await
        .unwrap();
    r.rows.into_iter().map(|mut row| row.remove(0)).collect()
}

#[tokio::test]
async fn cached_statements_follow_a_change_of_database() {
    // One session, so USE holds for the following calls.
    let db = one_session().await;
    for (name, v) in [("dbx_use_a", 1), ("dbx_use_b", 2)] {
        db.execute(&format!("drop database if exists {name}"), &[])
            .await
            .unwrap();
        db.execute(&format!("create database {name}"), &[]).await.unwrap();
        db.execute(&format!("create table {name}.t (v int)"), &[])
            .await
            .unwrap();
        db.execute(&format!("insert into {name}.t values ({v})"), &[])
            .await
            .unwrap();
    }
    db.execute("use dbx_use_a", &[]).await.unwrap();
    assert_eq!(v_of_t(&db).await, [Value::Int(1)]);
    // The server resolves `t` when it prepares: the statement cached in
    // dbx_use_a would still read dbx_use_a.t (the server tells of the
    // change through session tracking).
    db.execute("use dbx_use_b", &[]).await.unwrap();
    assert_eq!(v_of_t(&db).await, [Value::Int(2)]);
    // A bulk insert into an unqualified table goes to the current database.
    let columns = ["v".to_string()];
    db.bulk_insert(None, "t", &columns, vec![vec![Value::Int(3)]])
        .await
        .unwrap();
    // A script that ends in another database.
    let out = db.execute_script("select 1; use dbx_use_a").await.unwrap();
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(v_of_t(&db).await, [Value::Int(1)]);
    db.bulk_insert(None, "t", &columns, vec![vec![Value::Int(4)]])
        .await
        .unwrap();
    assert_eq!(v_of_t(&db).await, [Value::Int(1), Value::Int(4)]);
    // Without session tracking the driver still sees its own USE.
    db.execute("set session_track_schema = off", &[]).await.unwrap();
    db.execute("  USE `dbx_use_b`", &[]).await.unwrap();
    assert_eq!(v_of_t(&db).await, [Value::Int(2), Value::Int(3)]);
    for name in ["dbx_use_a", "dbx_use_b"] {
        db.execute(&format!("drop database {name}"), &[]).await.unwrap();
    }
    db.execute("use test", &[]).await.unwrap();
}

/// Whether a session is still running `marker`'s statement, polled for a few seconds.
async fn still_running(db: &WasmDriver, marker: &str) -> bool {
    for _ in 0..50 {
        let r = db
            .query(
                "select count(*) from information_schema.processlist where info like ? and command = 'Query'",
                &[Value::Text(format!("%{marker}%sleep%"))],
            )
            .await
            .unwrap();
        if r.rows[0][0] == Value::Int(0) {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    true
}

#[tokio::test]
async fn a_statement_past_its_deadline_is_killed_on_the_server() {
    let mut limits = driverbox::Limits::default();
    limits.set("timeout=1s").unwrap();
    let observer = db().await;
    let db = driverbox_tests::runtime_with(limits).connect(MYSQL_URL).await.unwrap();
    let err = db.query("select /* dbx-deadline */ sleep(60)", &[]).await.unwrap_err();
    assert!(matches!(err, driverbox::Error::Timeout { .. }), "{err}");
    assert!(
        !still_running(&observer, "dbx-deadline").await,
        "KILL QUERY stopped the statement"
    );
    assert!(db.query("select 1", &[]).await.is_ok());
}

#[tokio::test]
async fn prepared_results_keep_their_columns_when_mariadb_leaves_them_out() {
    // One session: its statements and its status counters.
    let db = one_session().await;
    fresh_table(&db, "dbx_my_shapes", "id int primary key, label varchar(20)").await;
    db.execute("insert into dbx_my_shapes values (1, 'one'), (2, 'two')", &[])
        .await
        .unwrap();
    let stmt = db
        .prepare("select * from dbx_my_shapes where id >= ? order by id")
        .await
        .unwrap();
    let run = async |from: i64| db.execute_prepared(stmt.id, &[Value::Int(from)]).await.unwrap();

    // The prepare described the columns; executions need not
    // (MARIADB_CLIENT_CACHE_METADATA): the driver keeps them.
    let first = run(1).await;
    let second = run(1).await;
    assert_eq!(first.rows, second.rows);
    assert_eq!(first.columns, second.columns);
    assert_eq!(
        second.rows,
        [
            [Value::Int(1), Value::Text("one".into())],
            [Value::Int(2), Value::Text("two".into())]
        ]
    );

    // A changed table is described again, once, and the new shape is kept:
    // the executions after are smaller by the three column definitions.
    // (DDL elsewhere on the server, as other tests run, may make it
    // describe them again: the smallest of four later ones is compared.)
    db.execute("alter table dbx_my_shapes add column n bigint default 7", &[])
        .await
        .unwrap();
    let mut sizes = Vec::new();
    for _ in 0..5 {
        let before = session_status(&db, "Bytes_sent").await;
        let r = run(2).await;
        sizes.push(session_status(&db, "Bytes_sent").await - before);
        let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "label", "n"]);
        assert_eq!(r.rows, [[Value::Int(2), Value::Text("two".into()), Value::Int(7)]]);
    }
    assert!(
        sizes[1..].iter().min().unwrap() + 60 < sizes[0],
        "bytes sent by the executions after the change: {sizes:?}"
    );

    // A procedure's results of different shapes, executed twice: only the
    // first is kept with the statement; each keeps its own columns.
    db.execute("drop procedure if exists dbx_my_two_shapes", &[])
        .await
        .unwrap();
    db.execute(
        "create procedure dbx_my_two_shapes(x int) begin \
         select x as a; select 'b' as b, x + 1 as c; end",
        &[],
    )
    .await
    .unwrap();
    for x in [5, 6] {
        let r = db.query("call dbx_my_two_shapes(?)", &[Value::Int(x)]).await.unwrap();
        let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(r.rows, [[Value::Text("b".into()), Value::Int(x + 1)]]);
    }
    let mut s = db
        .stream_query(
            "select * from dbx_my_shapes where id >= ? order by id",
            &[Value::Int(1)],
            1,
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    while let Some(batch) = s.next().await {
        ids.extend(batch.unwrap().into_iter().map(|r| r[0].clone()));
    }
    assert_eq!(ids, [Value::Int(1), Value::Int(2)]);
    db.execute("drop procedure dbx_my_two_shapes", &[]).await.unwrap();
}
