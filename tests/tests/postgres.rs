//! The PostgreSQL driver end to end against the local server: every listed
//! type round-trips exactly, errors are typed and the pool stays usable.

use driverbox::{
    ConnectionDriver, DriverCapabilities, DriverMetadata, ErrorKind, HealthCheckDriver, Interval, QueryDriver,
    SchemaIntrospection, Value, WasmDriver,
};
use driverbox_tests::{runtime, PG_URL};

async fn db() -> WasmDriver {
    runtime()
        .connect(PG_URL)
        .await
        .expect("connect to the local PostgreSQL")
}

/// A table of its own for each test, dropped first if left over.
async fn fresh_table(db: &WasmDriver, name: &str, columns: &str) {
    db.execute(&format!("drop table if exists {name}"), &[]).await.unwrap();
    db.execute(&format!("create table {name} ({columns})"), &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn every_type_round_trips_exactly() {
    let db = db().await;
    fresh_table(
        &db,
        "dbx_types",
        "id int primary key, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, \
         t text, vc varchar(20), c char(5), by bytea, d date, tm time, ts timestamp, tstz timestamptz, \
         iv interval, u uuid, j json, jb jsonb, ai int4[], at text[], a2 int8[][], an numeric[]",
    )
    .await;
    let all_bytes: Vec<u8> = (0..=255).collect();
    let rows: Vec<Vec<Value>> = vec![
        vec![
            Value::Int(1),
            Value::Boolean(true),
            Value::Int(-32768),
            Value::Int(2147483647),
            Value::Int(-9223372036854775808),
            Value::Float(1.5),
            Value::Float(f64::NAN),
            Value::Decimal("12345678901234567890123456789012345678.0123456789".into()),
            Value::Text("héllo \"wörld\" ✓ \u{1F600}".into()),
            Value::Text("varchar".into()),
            Value::Text("ab   ".into()),
            Value::Bytes(all_bytes.clone()),
            Value::Date(19_723),
            Value::Time(45_296_123_456),
            Value::Timestamp(1_704_067_200_000_001),
            Value::Timestamptz(-1_000_000),
            Value::Interval(Interval {
                months: 14,
                days: -3,
                microseconds: 3_600_000_001,
            }),
            Value::uuid(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
            Value::Json(r#"{"a": [1, 2.50, null], "b": "x"}"#.into()),
            Value::Json(r#"{"a": [1, 2.50, null], "b": "x"}"#.into()),
            Value::Json("[1,null,3]".into()),
            Value::Json(r#"["a","b \"q\"",null]"#.into()),
            Value::Json("[[1,2],[3,4]]".into()),
            Value::Json("[1.50,-0.000000000000000000001]".into()),
        ],
        vec![
            Value::Int(2),
            Value::Boolean(false),
            Value::Int(0),
            Value::Int(-1),
            Value::Int(9223372036854775807),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NEG_INFINITY),
            Value::Decimal("NaN".into()),
            Value::Text(String::new()),
            Value::Null,
            Value::Null,
            Value::Bytes(vec![]),
            Value::Date(i32::MAX),
            Value::Time(0),
            Value::Timestamp(i64::MIN),
            Value::Timestamptz(i64::MAX),
            Value::Interval(Interval {
                months: 0,
                days: 0,
                microseconds: 0,
            }),
            Value::Null,
            Value::Json("null".into()),
            Value::Json("[]".into()),
            Value::Json("[]".into()),
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    ];
    let placeholders: Vec<String> = (1..=24).map(|i| format!("${i}")).collect();
    let insert = format!("insert into dbx_types values ({})", placeholders.join(", "));
    for row in &rows {
        assert_eq!(db.execute(&insert, row).await.unwrap(), 1);
    }
    let back = db.query("select * from dbx_types order by id", &[]).await.unwrap();
    assert_eq!(back.rows.len(), 2);
    let names: Vec<&str> = back.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(
        &names[..8],
        &["int4", "bool", "int2", "int4", "int8", "float4", "float8", "numeric"]
    );
    for (sent, got) in rows.iter().zip(&back.rows) {
        for (i, (s, g)) in sent.iter().zip(got).enumerate() {
            let column = &back.columns[i].name;
            match (s, g) {
                (Value::Float(a), Value::Float(b)) if a.is_nan() => assert!(b.is_nan(), "{column}"),
                (Value::Json(a), Value::Json(b)) => {
                    let (a, b): (serde_json::Value, serde_json::Value) =
                        (serde_json::from_str(a).unwrap(), serde_json::from_str(b).unwrap());
                    assert_eq!(a, b, "{column}");
                }
                _ => assert_eq!(s, g, "column {column}"),
            }
        }
    }
    // Every digit of a numeric survives, as do decimals in arrays.
    let r = db
        .query("select n::text, an::text from dbx_types where id = 1", &[])
        .await
        .unwrap();
    assert_eq!(
        r.rows[0][0],
        Value::Text("12345678901234567890123456789012345678.0123456789".into())
    );
    assert_eq!(r.rows[0][1], Value::Text("{1.50,-0.000000000000000000001}".into()));
    let r = db.query("select an from dbx_types where id = 1", &[]).await.unwrap();
    assert_eq!(
        r.rows[0][0],
        Value::Json("[1.50,-0.000000000000000000001]".into()),
        "numeric digits kept in arrays"
    );
    // Text parameters convert to the column's type.
    let r = db
        .query(
            "select $1::int4 + 1, $2::date",
            &[Value::Text("41".into()), Value::Text("2024-01-01".into())],
        )
        .await
        .unwrap();
    assert_eq!(r.rows[0], vec![Value::Int(42), Value::Date(19_723)]);
    // Out-of-range integers are refused, not truncated.
    let err = db.query("select $1::int2", &[Value::Int(40_000)]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    db.execute("drop table dbx_types", &[]).await.unwrap();
}

#[tokio::test]
async fn server_errors_are_typed_and_the_pool_stays_usable() {
    let db = db().await;
    let err = db.query("selec 1", &[]).await.unwrap_err();
    assert_eq!((err.kind(), err.code()), (ErrorKind::Syntax, Some("42601")), "{err}");
    assert_eq!(err.as_server_error().unwrap().position, Some(1));
    assert!(err.to_string().contains("postgres"), "names the driver: {err}");

    let err = db.query("select 1 / 0", &[]).await.unwrap_err();
    assert_eq!((err.kind(), err.code()), (ErrorKind::Data, Some("22012")), "{err}");

    let err = db.query("select * from no_such_table_dbx", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");

    fresh_table(&db, "dbx_uniq", "id int primary key").await;
    db.execute("insert into dbx_uniq values (1)", &[]).await.unwrap();
    let err = db.execute("insert into dbx_uniq values (1)", &[]).await.unwrap_err();
    let server = err.as_server_error().expect("server error");
    assert_eq!(server.kind, ErrorKind::UniqueViolation);
    assert_eq!(server.constraint_name.as_deref(), Some("dbx_uniq_pkey"));
    assert!(server.detail.as_deref().unwrap_or_default().contains("(id)=(1)"));

    // After all that, the same pool answers.
    let r = db.query("select 1 + 1", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Int(2));
    assert_eq!(db.pool_status().discarded, 0);
    db.execute("drop table dbx_uniq", &[]).await.unwrap();
}

#[tokio::test]
async fn connection_errors_are_clear() {
    let rt = runtime();
    let err = rt
        .connect("postgres://postgres@127.0.0.1:5432/no_such_db_dbx?sslmode=disable")
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::UndefinedObject, Some("3D000")),
        "{err}"
    );
    assert!(err.to_string().contains("no_such_db_dbx"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = rt
        .connect(&format!("postgres://postgres@127.0.0.1:{port}/test"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");

    let err = rt
        .connect("postgres://postgres@127.0.0.1:notaport/test")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = rt.connect("nosuchscheme://x/y").await.unwrap_err();
    assert!(err.to_string().contains("no driver for URL scheme"), "{err}");
}

#[tokio::test]
async fn metadata_capabilities_health_and_introspection() {
    let db = db().await;
    assert_eq!(
        (db.driver_name().as_str(), db.database_type().as_str()),
        ("postgres", "postgresql")
    );
    assert!(db.has_capability(driverbox::Capability::Schema));
    assert!(db.supports_transactions() && db.supports_prepared_statements() && db.supports_streaming());
    let health = db.health_check().await.unwrap();
    assert!(
        health.server_version.contains("PostgreSQL"),
        "{}",
        health.server_version
    );
    db.test_connection().await.unwrap();

    let dbs = db.get_databases().await.unwrap();
    assert!(dbs.iter().any(|d| d.name == "test"));
    let schemas = db.get_schemas().await.unwrap();
    assert!(schemas.iter().any(|s| s.name == "public"));
    fresh_table(
        &db,
        "dbx_intro",
        "id serial primary key, name varchar(20) not null default 'x'",
    )
    .await;
    let tables = db.get_tables(Some("public")).await.unwrap();
    assert!(tables.iter().any(|t| t.name == "dbx_intro"));
    let cols = db.get_columns(Some("public"), "dbx_intro").await.unwrap();
    assert_eq!(cols.len(), 2);
    assert!(cols[0].primary_key && !cols[0].nullable);
    assert_eq!(cols[1].data_type, "character varying(20)");
    assert_eq!(cols[1].default.as_deref(), Some("'x'::character varying"));
    let err = db.get_columns(Some("public"), "no_such_table_dbx").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UndefinedObject);
    db.execute("drop table dbx_intro", &[]).await.unwrap();
}

/// Whether a backend is still running `sql`, polled for a few seconds.
async fn still_running(db: &WasmDriver, sql: &str) -> bool {
    for _ in 0..50 {
        let r = db
            .query(
                "select count(*) from pg_stat_activity where query = $1 and state = 'active'",
                &[Value::from(sql)],
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
async fn a_statement_past_its_deadline_or_dropped_is_canceled_on_the_server() {
    let mut limits = driverbox::Limits::default();
    limits.set("timeout=1s").unwrap();
    let observer = db().await;
    let db = driverbox_tests::runtime_with(limits).connect(PG_URL).await.unwrap();

    let slow = "select pg_sleep(20) /* deadline */";
    let err = db.query(slow, &[]).await.unwrap_err();
    assert!(matches!(err, driverbox::Error::Timeout { .. }), "{err}");
    assert!(
        !still_running(&observer, slow).await,
        "the server stopped the statement"
    );

    let dropped = "select pg_sleep(21) /* dropped */";
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), db.query(dropped, &[]))
            .await
            .is_err()
    );
    assert!(
        !still_running(&observer, dropped).await,
        "the server stopped the abandoned statement"
    );
    assert!(db.query("select 1", &[]).await.is_ok());
}

#[tokio::test]
async fn a_transaction_begun_with_plain_sql_never_leaks_to_the_next_user() {
    let pool = driverbox::PoolConfig {
        max_size: 1,
        ..Default::default()
    };
    let db = runtime().connect_with(PG_URL, pool).await.unwrap();
    fresh_table(&db, "dbx_leak", "id int").await;
    db.execute("begin", &[]).await.unwrap();
    // The next user of the only connection is not inside that transaction:
    // its insert commits on its own, and a later ROLLBACK undoes nothing.
    db.execute("insert into dbx_leak values (1)", &[]).await.unwrap();
    db.execute("rollback", &[]).await.unwrap();
    let r = db.query("select count(*) from dbx_leak", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Int(1));
    db.execute("drop table dbx_leak", &[]).await.unwrap();
}
