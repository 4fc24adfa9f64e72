//! Faults on the wire between the driver and a real PostgreSQL: a proxy
//! resets, half-closes, stalls, delays or trickles the server's bytes at
//! a chosen point. Each scenario checks a typed error (or the right
//! result when the bytes arrive intact), the time within the configured
//! limit and the pool usable afterwards.

use std::time::{Duration, Instant};

use driverbox::{Error, ErrorKind, Limits, QueryDriver, Runtime, Value, WasmDriver};
use driverbox_tests::runtime_with;
use driverbox_tests::wire::proxy::{Fault, Plan, Proxy};
use driverbox_tests::wire::rss_bytes;

const CALL_LIMIT: Duration = Duration::from_secs(4);

/// ~2.6 MB of rows: a fault at 100 kB lands in the middle of them.
const BIG: &str = "select g, repeat('x', 100) as pad from generate_series(1, 20000) g";

fn rt() -> Runtime {
    runtime_with(Limits {
        timeout: CALL_LIMIT,
        connect_timeout: Duration::from_secs(2),
        ..Limits::default()
    })
}

fn url(proxy: &Proxy) -> String {
    format!("postgres://postgres@127.0.0.1:{}/test?sslmode=disable", proxy.port)
}

/// A proxy whose first connection gets `fault` after `after` bytes.
async fn proxy(after: usize, fault: Fault) -> Proxy {
    Proxy::start(
        "127.0.0.1:5432",
        Plan {
            after,
            fault,
            only_connection: Some(0),
        },
    )
    .await
}

async fn check_big(db: &WasmDriver) {
    let r = db.query(BIG, &[]).await.expect("the big query");
    assert_eq!(r.rows.len(), 20_000);
    assert_eq!(r.rows[19_999][0], Value::Int(20_000));
    assert_eq!(r.rows[0][1], Value::Text("x".repeat(100)));
}

/// Runs the big query through a fault in its middle; gives the error.
async fn fails_midway(fault: Fault) -> (Error, WasmDriver, u64, Proxy) {
    let p = proxy(100_000, fault).await;
    let db = rt().connect(&url(&p)).await.expect("startup is before the fault");
    let rss = rss_bytes();
    let started = Instant::now();
    let e = db.query(BIG, &[]).await.expect_err("the fault breaks the query");
    assert!(
        started.elapsed() < CALL_LIMIT + Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    (e, db, rss, p)
}

/// After the failure: a new connection works, memory stayed bounded.
async fn pool_still_works(db: &WasmDriver, rss: u64) {
    check_big(db).await;
    let grown = rss_bytes().saturating_sub(rss);
    assert!(grown < 256 << 20, "memory grew by {} MiB", grown >> 20);
    assert!(db.pool_status().discarded >= 1, "the broken connection was discarded");
}

#[tokio::test]
async fn bytes_one_at_a_time_give_the_right_result() {
    let p = proxy(0, Fault::Trickle).await;
    let db = rt().connect(&url(&p)).await.unwrap();
    let r = db
        .query("select g, 'é' || g::text from generate_series(1, 300) g", &[])
        .await
        .unwrap();
    assert_eq!(r.rows.len(), 300);
    assert_eq!(r.rows[299][1], Value::Text("é300".into()));
}

#[tokio::test]
async fn delayed_chunks_within_the_deadline_give_the_right_result() {
    let p = proxy(0, Fault::Delay(Duration::from_millis(50))).await;
    let db = rt().connect(&url(&p)).await.unwrap();
    let r = db.query("select 41 + 1", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Int(42));
}

#[tokio::test]
async fn a_reset_midway_is_a_connection_error() {
    let (e, db, rss, _p) = fails_midway(Fault::Reset).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.to_string().contains("postgres"), "{e}");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_half_close_midway_is_a_connection_error() {
    let (e, db, rss, _p) = fails_midway(Fault::HalfClose).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_stall_midway_ends_at_the_call_deadline() {
    let (e, db, rss, _p) = fails_midway(Fault::Stall).await;
    assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_stall_during_startup_ends_at_connect_timeout() {
    // The server's first bytes (authentication) pass, then nothing.
    let p = proxy(9, Fault::Stall).await;
    let started = Instant::now();
    let e = rt().connect(&url(&p)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    // The next connection (not faulted) works.
    let db = rt().connect(&url(&p)).await.unwrap();
    check_big(&db).await;
}

#[tokio::test]
async fn a_reset_during_startup_is_a_connection_error() {
    let p = proxy(9, Fault::Reset).await;
    let e = rt().connect(&url(&p)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    let db = rt().connect(&url(&p)).await.unwrap();
    check_big(&db).await;
}

#[tokio::test]
async fn a_backend_killed_while_idle_is_replaced_not_an_error() {
    let db = rt()
        .connect("postgres://postgres@127.0.0.1:5432/test?sslmode=disable&application_name=dbx_idle_kill")
        .await
        .unwrap();
    let pid = db.query("select pg_backend_pid()", &[]).await.unwrap().rows[0][0].clone();
    let killer = rt().connect(driverbox_tests::PG_URL).await.unwrap();
    let r = killer
        .query("select pg_terminate_backend($1::int)", std::slice::from_ref(&pid))
        .await
        .unwrap();
    assert_eq!(r.rows[0][0], Value::Boolean(true));
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The idle connection's server is gone: the pool opens a new one.
    let again = db
        .query("select pg_backend_pid()", &[])
        .await
        .expect("a fresh connection");
    assert_ne!(again.rows[0][0], pid);
    assert_eq!(db.pool_status().discarded, 1);
}
