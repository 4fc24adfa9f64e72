//! Portable drivers in an unmodified WASI host: the built-in PostgreSQL and
//! SQLite drivers, composed with the transport adapter (`driverbox drivers
//! portable`), run in a plain wasmtime embedding that links nothing but
//! `wasmtime-wasi` — no driverbox host, no `driverbox:driver/transport`.
//! The network is allowed to loopback addresses only; SQLite gets one
//! preopened directory.

use std::sync::OnceLock;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2.0",
        world: "embedded-sql-driver",
        imports: { default: async },
        exports: { default: async },
    });
}

use bindings::driverbox::driver::types::{
    ColumnData, ConnectConfig, Endpoint, Error, ErrorKind, QueryResult, TlsMode, TransactionOptions, Value,
};
use bindings::EmbeddedSqlDriver;

struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    })
}

/// The built-in driver `name` made portable and compiled once per test binary.
fn portable(name: &'static str) -> &'static Component {
    static PG: OnceLock<Component> = OnceLock::new();
    static SQLITE: OnceLock<Component> = OnceLock::new();
    let cell = if name == "postgres" { &PG } else { &SQLITE };
    cell.get_or_init(|| {
        let driver = driverbox::portable::builtin_driver(name).expect("built-in driver");
        let bytes = driverbox::portable::make_portable(driver, name).expect("compose");
        let surface = driverbox::portable::surface(&bytes, name).unwrap();
        assert!(
            surface.imports.iter().all(|i| i.starts_with("wasi:")),
            "portable {name} imports {:?}",
            surface.imports
        );
        Component::new(engine(), &bytes).expect("compile the portable driver")
    })
}

/// An instance of the portable driver in a store with `wasi`'s settings.
async fn instance(name: &'static str, wasi: &mut WasiCtxBuilder) -> (Store<State>, EmbeddedSqlDriver) {
    let mut linker: Linker<State> = Linker::new(engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI");
    let state = State {
        ctx: wasi.inherit_stderr().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine(), state);
    let driver = EmbeddedSqlDriver::instantiate_async(&mut store, portable(name), &linker)
        .await
        .expect("instantiate with wasmtime-wasi alone");
    (store, driver)
}

/// The network policy: a connect only to a loopback address (and, with
/// `port`, that port); the implicit bind before a connect (wasmtime checks
/// it on the wildcard address) only without a port of its own.
fn allow(addr: std::net::SocketAddr, use_: SocketAddrUse, port: Option<u16>) -> bool {
    match use_ {
        SocketAddrUse::TcpConnect => addr.ip().is_loopback() && port.is_none_or(|p| p == addr.port()),
        SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
        _ => false,
    }
}

/// WASI settings with TCP and name lookup allowed to loopback addresses only.
fn loopback_only() -> WasiCtxBuilder {
    let mut wasi = WasiCtxBuilder::new();
    wasi.allow_tcp(true)
        .allow_ip_name_lookup(true)
        .socket_addr_check(|addr, use_| Box::pin(async move { allow(addr, use_, None) }));
    wasi
}

fn pg_config(host: &str, tls: TlsMode) -> ConnectConfig {
    ConnectConfig {
        hosts: vec![Endpoint {
            host: host.to_string(),
            port: 5432,
            port_given: false,
        }],
        user: Some("postgres".into()),
        password: None,
        database: Some("test".into()),
        tls,
        application_name: Some("driverbox-portable-test".into()),
        options: Vec::new(),
        scheme: "postgres".into(),
    }
}

fn ints(r: &QueryResult, col: usize) -> Vec<i64> {
    match &r.batch.columns[col].data {
        ColumnData::Int64(v) => v.clone(),
        ColumnData::Int32(v) => v.iter().map(|&x| x.into()).collect(),
        ColumnData::Dynamic(d) => d.integers.clone(),
        other => panic!("column {col} is not integers: {other:?}"),
    }
}

fn texts(r: &QueryResult, col: usize) -> Vec<String> {
    let varlen = match &r.batch.columns[col].data {
        ColumnData::Varlen(v) => v,
        ColumnData::Dynamic(d) => &d.texts,
        other => panic!("column {col} is not text: {other:?}"),
    };
    varlen
        .offsets
        .windows(2)
        .map(|w| String::from_utf8(varlen.data[w[0] as usize..w[1] as usize].to_vec()).unwrap())
        .collect()
}

fn bools(r: &QueryResult, col: usize) -> Vec<bool> {
    match &r.batch.columns[col].data {
        ColumnData::Boolean(v) => v.clone(),
        other => panic!("column {col} is not boolean: {other:?}"),
    }
}

fn kind(e: &Error) -> ErrorKind {
    match e {
        Error::Server(s) => s.kind,
        Error::Client(c) => c.kind,
    }
}

fn message(e: &Error) -> String {
    match e {
        Error::Server(s) => format!("{} {}", s.code, s.message),
        Error::Client(c) => c.message.clone(),
    }
}

#[tokio::test]
async fn postgres_connect_query_transaction_and_errors() {
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLMODE", "disable");
    let (mut store, pg) = instance("postgres", &mut wasi).await;
    let base = pg.driverbox_driver_base();

    let meta = pg.driverbox_driver_traits().call_metadata(&mut store).await.unwrap();
    assert_eq!(meta.name, "postgres");

    base.call_connect(&mut store, &pg_config("127.0.0.1", TlsMode::Disable))
        .await
        .unwrap()
        .expect("connect through wasi:sockets");

    // A query with parameters.
    let r = base
        .call_query(
            &mut store,
            "select $1::int8 + 1 as n, $2::text || '!' as t, $3::text is null as nothing",
            &[Value::Int(41), Value::Text("héllo".into()), Value::Null],
        )
        .await
        .unwrap()
        .expect("query");
    assert_eq!(
        r.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["n", "t", "nothing"]
    );
    assert_eq!(r.batch.rows, 1);
    assert_eq!(ints(&r, 0), [42]);
    assert_eq!(texts(&r, 1), ["héllo!"]);
    assert_eq!(bools(&r, 2), [true]);

    // More rows than one read brings.
    let r = base
        .call_query(
            &mut store,
            "select g, repeat('x', 100) from generate_series(1, 20000) g",
            &[],
        )
        .await
        .unwrap()
        .expect("big query");
    assert_eq!(r.batch.rows, 20000);
    assert_eq!(ints(&r, 0).iter().sum::<i64>(), 20000 * 20001 / 2);

    // A transaction: rolled back, then committed.
    base.call_execute(
        &mut store,
        "create temp table portable_t (id int primary key, name text)",
        &[],
    )
    .await
    .unwrap()
    .expect("create");
    let caps = pg.driverbox_driver_capabilities();
    let opts = TransactionOptions {
        isolation: None,
        read_only: false,
        deferrable: false,
    };
    let count = |r: QueryResult| ints(&r, 0)[0];
    caps.call_begin_transaction(&mut store, opts).await.unwrap().unwrap();
    let n = base
        .call_execute(
            &mut store,
            "insert into portable_t values ($1, $2)",
            &[Value::Int(1), Value::Text("a".into())],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    assert!(caps.call_in_transaction(&mut store).await.unwrap());
    caps.call_rollback(&mut store).await.unwrap().unwrap();
    let r = base
        .call_query(&mut store, "select count(*) from portable_t", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count(r), 0, "rolled back");
    caps.call_begin_transaction(&mut store, opts).await.unwrap().unwrap();
    base.call_execute(
        &mut store,
        "insert into portable_t values ($1, $2)",
        &[Value::Int(2), Value::Text("b".into())],
    )
    .await
    .unwrap()
    .unwrap();
    caps.call_commit(&mut store).await.unwrap().unwrap();
    let r = base
        .call_query(&mut store, "select count(*) from portable_t where name = 'b'", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count(r), 1, "committed");

    // Errors come back whole, and the connection goes on.
    let e = base
        .call_execute(
            &mut store,
            "insert into portable_t values ($1, $2)",
            &[Value::Int(2), Value::Text("dup".into())],
        )
        .await
        .unwrap()
        .unwrap_err();
    let Error::Server(server) = &e else { panic!("{e:?}") };
    assert_eq!(
        (server.code.as_str(), server.kind),
        ("23505", ErrorKind::UniqueViolation)
    );
    assert_eq!(server.constraint_name.as_deref(), Some("portable_t_pkey"));
    let e = base.call_query(&mut store, "selec 1", &[]).await.unwrap().unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Syntax, "{e:?}");
    let e = base
        .call_query(&mut store, "select * from no_such_table_here", &[])
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject, "{e:?}");
    base.call_test_connection(&mut store)
        .await
        .unwrap()
        .expect("still connected");
    base.call_close(&mut store).await.unwrap();
}

/// The server's certificate, as the server names its file.
async fn server_certificate() -> String {
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLMODE", "disable");
    let (mut store, pg) = instance("postgres", &mut wasi).await;
    let base = pg.driverbox_driver_base();
    base.call_connect(&mut store, &pg_config("127.0.0.1", TlsMode::Disable))
        .await
        .unwrap()
        .unwrap();
    let r = base
        .call_query(
            &mut store,
            "select current_setting('ssl'), current_setting('ssl_cert_file')",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    let row = [texts(&r, 0).remove(0), texts(&r, 1).remove(0)];
    assert_eq!(
        row[0], "on",
        "the local PostgreSQL serves TLS (Debian's default, snakeoil certificate)"
    );
    std::fs::read_to_string(&row[1]).unwrap_or_else(|e| panic!("read {}: {e}", row[1]))
}

/// Connects the portable driver with the given adapter settings; the error if it fails.
async fn connect_with(wasi: &mut WasiCtxBuilder, host: &str, tls: TlsMode) -> Result<bool, Error> {
    let (mut store, pg) = instance("postgres", wasi).await;
    let base = pg.driverbox_driver_base();
    base.call_connect(&mut store, &pg_config(host, tls)).await.unwrap()?;
    let r = base
        .call_query(
            &mut store,
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()?;
    Ok(bools(&r, 0)[0])
}

#[tokio::test]
async fn tls_inside_the_adapter_follows_sslmode() {
    let pem = server_certificate().await;

    // Default verify-full with the built-in (Mozilla) roots: a self-signed
    // server certificate is refused.
    let e = connect_with(&mut loopback_only(), "localhost", TlsMode::Prefer)
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Tls, "{e:?}");
    assert!(message(&e).contains("certificate"), "{}", message(&e));

    // By default plaintext is never carried, whatever the driver asks.
    let e = connect_with(&mut loopback_only(), "127.0.0.1", TlsMode::Disable)
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Permission, "{e:?}");
    assert!(message(&e).contains("requires TLS"), "{}", message(&e));

    // verify-full with the server's certificate as root, by its name.
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLROOTCERT_PEM", &pem);
    assert!(
        connect_with(&mut wasi, "localhost", TlsMode::Prefer).await.unwrap(),
        "TLS in use"
    );

    // The same by address: the name does not match.
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLROOTCERT_PEM", &pem);
    let e = connect_with(&mut wasi, "127.0.0.1", TlsMode::Prefer).await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Tls, "{e:?}");

    // verify-ca from a CA file in a preopened directory: the chain only.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &pem).unwrap();
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLMODE", "verify-ca")
        .env("DRIVERBOX_SSLROOTCERT", "/certs/ca.pem")
        .preopened_dir(dir.path(), "/certs", FsPerms::ReadOnly)
        .unwrap();
    assert!(connect_with(&mut wasi, "127.0.0.1", TlsMode::Require).await.unwrap());

    // require: encrypted, the certificate not checked.
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLMODE", "require");
    assert!(connect_with(&mut wasi, "127.0.0.1", TlsMode::Require).await.unwrap());

    // A bad setting is named.
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLMODE", "sometimes");
    let e = connect_with(&mut wasi, "127.0.0.1", TlsMode::Prefer).await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput, "{e:?}");
    assert!(message(&e).contains("DRIVERBOX_SSLMODE"), "{}", message(&e));
}

#[tokio::test]
async fn the_wasi_host_network_policy_and_time_outs_hold() {
    // A host that allows only PostgreSQL's port: another is refused before any packet.
    let mut wasi = WasiCtxBuilder::new();
    wasi.allow_tcp(true)
        .allow_ip_name_lookup(true)
        .env("DRIVERBOX_SSLMODE", "disable")
        .socket_addr_check(|addr, use_| Box::pin(async move { allow(addr, use_, Some(5432)) }));
    let (mut store, pg) = instance("postgres", &mut wasi).await;
    let mut config = pg_config("127.0.0.1", TlsMode::Disable);
    config.hosts[0].port = 5433;
    let e = pg
        .driverbox_driver_base()
        .call_connect(&mut store, &config)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Permission, "{e:?}");
    assert!(message(&e).contains("refused by the WASI host"), "{}", message(&e));

    // A server that accepts and never answers: the read time-out ends it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let mut wasi = loopback_only();
    wasi.env("DRIVERBOX_SSLMODE", "disable")
        .env("DRIVERBOX_IO_TIMEOUT", "1");
    let (mut store, pg) = instance("postgres", &mut wasi).await;
    let mut config = pg_config("127.0.0.1", TlsMode::Disable);
    config.hosts[0].port = port;
    let started = std::time::Instant::now();
    let e = pg
        .driverbox_driver_base()
        .call_connect(&mut store, &config)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Timeout, "{e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    drop(holder.join());
}

#[tokio::test]
async fn sqlite_in_a_preopened_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut wasi = WasiCtxBuilder::new();
    wasi.preopened_dir(dir.path(), "/data", FsPerms::ReadWrite).unwrap();
    let (mut store, db) = instance("sqlite", &mut wasi).await;
    let base = db.driverbox_driver_base();
    let config = ConnectConfig {
        hosts: Vec::new(),
        user: None,
        password: None,
        database: Some("/data/portable.db".into()),
        tls: TlsMode::Disable,
        application_name: None,
        options: Vec::new(),
        scheme: "sqlite".into(),
    };
    base.call_connect(&mut store, &config).await.unwrap().expect("open");
    base.call_execute(
        &mut store,
        "create table t (id integer primary key, name text not null)",
        &[],
    )
    .await
    .unwrap()
    .unwrap();
    let caps = db.driverbox_driver_capabilities();
    let opts = TransactionOptions {
        isolation: None,
        read_only: false,
        deferrable: false,
    };
    caps.call_begin_transaction(&mut store, opts).await.unwrap().unwrap();
    for (id, name) in [(1, "a"), (2, "b")] {
        base.call_execute(
            &mut store,
            "insert into t values (?, ?)",
            &[Value::Int(id), Value::Text(name.into())],
        )
        .await
        .unwrap()
        .unwrap();
    }
    caps.call_commit(&mut store).await.unwrap().unwrap();
    caps.call_begin_transaction(&mut store, opts).await.unwrap().unwrap();
    base.call_execute(&mut store, "delete from t", &[])
        .await
        .unwrap()
        .unwrap();
    caps.call_rollback(&mut store).await.unwrap().unwrap();
    let r = base
        .call_query(
            &mut store,
            "select id, name from t where id >= ? order by id",
            &[Value::Int(1)],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ints(&r, 0), [1, 2]);
    assert_eq!(texts(&r, 1), ["a", "b"]);
    let e = base
        .call_execute(&mut store, "insert into t values (1, 'again')", &[])
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UniqueViolation, "{e:?}");
    let e = base
        .call_execute(&mut store, "insert into t (id) values (3)", &[])
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::NotNullViolation, "{e:?}");
    base.call_close(&mut store).await.unwrap();
    drop(store);
    // The file is a real SQLite database on the host.
    let bytes = std::fs::read(dir.path().join("portable.db")).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));

    // Outside its preopen the driver sees nothing.
    let (mut store, db) = instance("sqlite", &mut WasiCtxBuilder::new()).await;
    let e = db
        .driverbox_driver_base()
        .call_connect(&mut store, &config)
        .await
        .unwrap()
        .unwrap_err();
    assert!(message(&e).to_lowercase().contains("open"), "{}", message(&e));
}
