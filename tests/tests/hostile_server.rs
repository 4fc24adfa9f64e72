//! The PostgreSQL driver against a fake server that lies: wrong lengths,
//! counts, types and encodings, unknown, missing and extra messages,
//! silence and endless answers. Every scenario checks a typed error that
//! names the cause, no panic, the time within the configured limit, the
//! pool usable afterwards and memory bounded.

use std::time::{Duration, Instant};

use driverbox::{Error, ErrorKind, Limits, QueryDriver, Runtime, WasmDriver};
use driverbox_tests::runtime_with;
use driverbox_tests::wire::fake_pg::{
    complete, data_row, error, msg, ready, row_description, Action, FakePg, Script, Startup,
};
use driverbox_tests::wire::rss_bytes;

/// Per-call deadline of these tests: every scenario ends well within it.
const CALL_LIMIT: Duration = Duration::from_secs(5);

fn rt() -> Runtime {
    runtime_with(Limits {
        timeout: CALL_LIMIT,
        max_memory_size: 64 << 20,
        connect_timeout: Duration::from_secs(2),
        ..Limits::default()
    })
}

/// The well-behaved reply to Parse/Describe of `select 1`, for scripts
/// that misbehave at Bind/Execute.
fn described(oid: u32) -> Vec<u8> {
    let mut s = msg(b'1', &[]);
    s.extend(msg(b't', &[0, 0]));
    s.extend(row_description(oid, 0));
    s.extend(ready());
    s
}

/// Bind/Execute reply: BindComplete, `rows`, then `tail`.
fn executed(rows: Vec<u8>, tail: Vec<u8>) -> Vec<u8> {
    let mut s = msg(b'2', &[]);
    s.extend(rows);
    s.extend(tail);
    s
}

fn assert_kind(e: &Error, kind: ErrorKind, words: &str) {
    assert_eq!(e.kind(), kind, "{e}");
    let text = e.to_string();
    assert!(text.contains(words), "`{text}` should name `{words}`");
    assert!(text.contains("postgres"), "`{text}` should name the driver");
}

/// The scenario's checks after the failure: the pool gives a working
/// connection (the failed one was discarded), memory stayed bounded.
async fn pool_still_works(db: &WasmDriver, rss_before: u64) {
    let r = db
        .query("select 1", &[])
        .await
        .expect("the pool works after the failure");
    assert_eq!(r.rows.len(), 1);
    let grown = rss_bytes().saturating_sub(rss_before);
    assert!(grown < 256 << 20, "memory grew by {} MiB", grown >> 20);
}

/// Connects (the first connection behaves during startup), runs `select 1`
/// on a connection whose request `at` follows `action`, and gives the
/// error, checking the time it took.
async fn query_fails(at: usize, action: Action) -> (Error, WasmDriver, u64) {
    let fake = FakePg::first(Script::at(at, action)).await;
    let db = rt().connect(&fake.url("")).await.expect("startup behaves");
    let rss = rss_bytes();
    let started = Instant::now();
    let e = db.query("select 1", &[]).await.expect_err("the fake misbehaved");
    assert!(
        started.elapsed() < CALL_LIMIT + Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // Keep the server alive for the pool check.
    std::mem::forget(fake);
    (e, db, rss)
}

#[tokio::test]
async fn a_server_that_never_answers_the_startup_is_bounded_by_connect_timeout() {
    let fake = FakePg::always(Script::startup(Startup::Silent)).await;
    let started = Instant::now();
    let e = rt().connect(&fake.url("&connect_timeout=1")).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("connect"), "{e}");
    assert!(took < Duration::from_secs(3), "connect_timeout=1 took {took:?}");
    // -W connect-timeout does the same when the URL says nothing.
    let started = Instant::now();
    let e = rt().connect(&fake.url("")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn extra_ready_for_query_after_startup_is_a_protocol_error() {
    let mut startup = msg(b'R', &[0, 0, 0, 0]);
    startup.extend(ready());
    startup.extend(ready());
    let fake = FakePg::always(Script::startup(Startup::Raw(startup))).await;
    let e = rt().connect(&fake.url("")).await.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, "ReadyForQuery");
}

#[tokio::test]
async fn extra_ready_for_query_after_a_reply_is_an_error_not_an_empty_result() {
    let mut reply = described(23);
    reply.extend(ready());
    let (e, db, rss) = query_fails(0, Action::Reply(reply)).await;
    assert_kind(&e, ErrorKind::Protocol, "out of step");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_late_extra_ready_for_query_is_caught_on_the_next_request() {
    // The stray ReadyForQuery arrives after the reply was read: the next
    // request sees it before any reply of its own.
    let fake = FakePg::first(Script::at(2, Action::Reply(ready()))).await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    // Requests 0 and 1: the first query, well answered.
    db.query("select 1", &[]).await.unwrap();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, "ReadyForQuery");
    pool_still_works(&db, rss_bytes()).await;
}

#[tokio::test]
async fn scram_with_zero_iterations_is_refused() {
    let fake = FakePg::always(Script::startup(Startup::Scram { iterations: 0 })).await;
    let url = format!("postgres://postgres:pw@127.0.0.1:{}/test?sslmode=disable", fake.port);
    let started = Instant::now();
    let e = rt().connect(&url).await.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, "iteration count of 0");
    assert!(started.elapsed() < Duration::from_secs(1), "refused at once");
}

#[tokio::test]
async fn unsupported_authentication_is_an_authentication_error() {
    let mut startup = msg(b'R', &99i32.to_be_bytes());
    startup.extend(ready());
    let fake = FakePg::always(Script::startup(Startup::Raw(startup))).await;
    let e = rt().connect(&fake.url("")).await.unwrap_err();
    assert_kind(&e, ErrorKind::Authentication, "code 99");
}

#[tokio::test]
async fn a_refused_password_names_the_sqlstate() {
    let startup = error("FATAL", "28P01", "password authentication failed for user \"postgres\"");
    let fake = FakePg::always(Script::startup(Startup::Raw(startup))).await;
    let e = rt().connect(&fake.url("")).await.unwrap_err();
    assert_eq!(e.code(), Some("28P01"), "{e}");
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
}

#[tokio::test]
async fn a_message_length_below_four_is_a_protocol_error() {
    let mut bad = b"Z".to_vec();
    bad.extend_from_slice(&2i32.to_be_bytes());
    let (e, db, rss) = query_fails(0, Action::ReplyThenHang(bad)).await;
    assert_kind(&e, ErrorKind::Protocol, "");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_huge_announced_length_streamed_forever_hits_the_memory_limit_not_the_host() {
    // A DataRow claiming ~1 GiB, then garbage without end.
    let mut head = b"D".to_vec();
    head.extend_from_slice(&(1i32 << 30).to_be_bytes());
    head.extend(vec![0x55; 64 * 1024]);
    let (e, db, rss) = query_fails(0, Action::Forever(head)).await;
    assert!(e.is_crash() || e.kind() == ErrorKind::Protocol, "{e}");
    assert!(
        e.to_string().contains("memory") || e.to_string().contains("too long"),
        "{e}"
    );
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_server_that_never_answers_a_query_hits_the_call_deadline() {
    let (e, db, rss) = query_fails(0, Action::ReplyThenHang(Vec::new())).await;
    assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn rows_without_end_hit_a_limit() {
    // Describe well, then DataRows forever after BindComplete.
    let mut rows = msg(b'2', &[]);
    for _ in 0..1000 {
        rows.extend(data_row(&[Some(&1i32.to_be_bytes())]));
    }
    let fake = FakePg::first(Script::at(1, Action::Forever(rows))).await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    let rss = rss_bytes();
    let started = Instant::now();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert!(started.elapsed() < CALL_LIMIT + Duration::from_secs(2));
    assert!(e.is_crash() || e.kind() == ErrorKind::InvalidInput, "{e}");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_row_with_more_fields_than_columns_is_a_protocol_error() {
    let one = 1i32.to_be_bytes();
    let reply = executed(
        data_row(&[Some(&one), Some(&one)]),
        [complete("SELECT 1"), ready()].concat(),
    );
    let fake = FakePg::first(Script::at(1, Action::Reply(reply))).await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    let rss = rss_bytes();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, "");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_field_longer_than_its_message_is_a_protocol_error() {
    let mut body = 1i16.to_be_bytes().to_vec();
    body.extend_from_slice(&1000i32.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 1]);
    let reply = executed(msg(b'D', &body), [complete("SELECT 1"), ready()].concat());
    let fake = FakePg::first(Script::at(1, Action::Reply(reply))).await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    let rss = rss_bytes();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, "");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn an_int4_of_three_bytes_is_an_error_naming_the_column() {
    let reply = executed(data_row(&[Some(&[0, 0, 1])]), [complete("SELECT 1"), ready()].concat());
    let fake = FakePg::first(Script::at(1, Action::Reply(reply))).await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    let rss = rss_bytes();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Data), "{e}");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn text_that_is_not_utf8_is_a_data_error() {
    let reply = executed(
        data_row(&[Some(&[0xff, 0xfe, b'a'])]),
        [complete("SELECT 1"), ready()].concat(),
    );
    let fake = FakePg::first(Script {
        column_oid: 25,
        ..Script::at(1, Action::Reply(reply))
    })
    .await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    let rss = rss_bytes();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Data), "{e}");
    assert!(e.to_string().contains("UTF-8"), "{e}");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn an_unknown_message_type_is_a_protocol_error_naming_it() {
    let reply = executed(msg(b'!', b"junk"), [complete("SELECT 1"), ready()].concat());
    let fake = FakePg::first(Script::at(1, Action::Reply(reply))).await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    let rss = rss_bytes();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, "'!'");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_missing_row_description_is_a_protocol_error() {
    let mut reply = msg(b'1', &[]);
    reply.extend(msg(b't', &[0, 0]));
    reply.extend(ready());
    let (e, db, rss) = query_fails(0, Action::Reply(reply)).await;
    assert_kind(&e, ErrorKind::Protocol, "description");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_connection_closed_mid_reply_is_a_connection_error() {
    let reply = executed(data_row(&[Some(&1i32.to_be_bytes())]), Vec::new());
    let fake = FakePg::first(Script::at(1, Action::ReplyThenClose(reply))).await;
    let db = rt().connect(&fake.url("")).await.unwrap();
    let rss = rss_bytes();
    let e = db.query("select 1", &[]).await.unwrap_err();
    assert_kind(&e, ErrorKind::Connection, "");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_truncated_error_response_is_a_protocol_error() {
    let (e, db, rss) = query_fails(0, Action::Reply(msg(b'E', b"SERROR\0C42"))).await;
    assert_kind(&e, ErrorKind::Protocol, "");
    pool_still_works(&db, rss).await;
}

#[tokio::test]
async fn a_wrong_transaction_status_is_a_protocol_error() {
    let mut reply = described(23);
    reply.truncate(reply.len() - ready().len());
    reply.extend(msg(b'Z', b"?"));
    let (e, db, rss) = query_fails(0, Action::Reply(reply)).await;
    assert_kind(&e, ErrorKind::Protocol, "");
    pool_still_works(&db, rss).await;
}
