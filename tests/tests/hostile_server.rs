//! The PostgreSQL, MySQL (`mysql::`), MongoDB (`mongodb::`) and DynamoDB
//! (`dynamodb::`) drivers against fake servers that lie: wrong lengths, counts, types and
//! encodings, unknown, missing and extra messages, silence and endless
//! answers. Every scenario checks a typed error that names the cause, no
//! panic, the time within the configured limit, the pool usable
//! afterwards and memory bounded.

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
    // A DataRow claiming ~1 GiB, then garbage without end. What stops it
    // must be the instance's memory limit (64 MiB) or the driver's own
    // length check, not the call deadline: a deadline of 5 s could come
    // first on a loaded machine (~70 MB to read), so this scenario has
    // 60 s; the limit is reached in well under a second when idle.
    const LONG: Duration = Duration::from_secs(60);
    let mut head = b"D".to_vec();
    head.extend_from_slice(&(1i32 << 30).to_be_bytes());
    head.extend(vec![0x55; 64 * 1024]);
    let fake = FakePg::first(Script::at(0, Action::Forever(head))).await;
    let rt = runtime_with(Limits {
        timeout: LONG,
        max_memory_size: 64 << 20,
        connect_timeout: Duration::from_secs(2),
        ..Limits::default()
    });
    let db = rt.connect(&fake.url("")).await.expect("startup behaves");
    let rss = rss_bytes();
    let started = Instant::now();
    let e = db.query("select 1", &[]).await.expect_err("the fake misbehaved");
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
    assert!(!matches!(e, Error::Timeout { .. }), "the deadline came first: {e}");
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

/// Bytes of a length-lying message: `head`, then 64 KiB of `0x55`.
fn head_then_garbage(head: &[u8]) -> Vec<u8> {
    let mut b = head.to_vec();
    b.extend(vec![0x55; 64 * 1024]);
    b
}

mod mysql {
    use super::*;
    use driverbox::{ConnectionDriver, Value};
    use driverbox_tests::wire::fake_mysql::{
        column_count, column_def, end, err, greeting, greeting_payload, packet, text_row, Action, FakeMysql, Script,
        Startup,
    };

    fn assert_kind(e: &Error, kind: ErrorKind, words: &str) {
        assert_eq!(e.kind(), kind, "{e}");
        let text = e.to_string();
        assert!(text.contains(words), "`{text}` should name `{words}`");
        assert!(text.contains("mysql"), "`{text}` should name the driver");
    }

    /// A following query gets `SELECT 1` right; memory stayed bounded.
    async fn pool_still_works(db: &WasmDriver, rss_before: u64) {
        let r = db
            .query("select 1", &[])
            .await
            .expect("the pool works after the failure");
        assert_eq!(r.rows, vec![vec![Value::Int(1)]]);
        let grown = rss_bytes().saturating_sub(rss_before);
        assert!(grown < 256 << 20, "memory grew by {} MiB", grown >> 20);
    }

    /// Connects (the first connection starts well), runs `select 1` on a
    /// connection whose request `at` follows `action`, and gives the
    /// error, checking the time it took.
    async fn query_fails(at: usize, action: Action) -> (Error, WasmDriver, u64, FakeMysql) {
        let fake = FakeMysql::first(Script::at(at, action)).await;
        let db = rt().connect(&fake.url("")).await.expect("startup behaves");
        let rss = rss_bytes();
        let started = Instant::now();
        let e = db.query("select 1", &[]).await.expect_err("the fake misbehaved");
        assert!(
            started.elapsed() < CALL_LIMIT + Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        (e, db, rss, fake)
    }

    /// A startup that must fail: the error and the time it took.
    async fn connect_fails(startup: Startup) -> (Error, Duration) {
        let fake = FakeMysql::always(Script::startup(startup)).await;
        let started = Instant::now();
        let e = rt().connect(&fake.url("")).await.expect_err("the startup misbehaved");
        (e, started.elapsed())
    }

    #[tokio::test]
    async fn the_fake_behaves() {
        let fake = FakeMysql::always(Script::good()).await;
        let db = rt().connect(&fake.url("")).await.unwrap();
        pool_still_works(&db, rss_bytes()).await;
        // The binary protocol: prepare, then execute.
        let r = db.query("select ? + 0", &[Value::Int(1)]).await.unwrap();
        assert_eq!(r.rows, vec![vec![Value::Int(1)]]);
        db.test_connection().await.unwrap();
        assert_eq!(fake.accepted(), 1);
    }

    #[tokio::test]
    async fn a_server_that_never_sends_the_greeting_is_bounded_by_connect_timeout() {
        let fake = FakeMysql::always(Script::startup(Startup::Silent)).await;
        let started = Instant::now();
        let e = rt().connect(&fake.url("&connect-timeout=1")).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("connect"), "{e}");
        assert!(took < Duration::from_secs(3), "connect-timeout=1 took {took:?}");
        // -W connect-timeout (2 s here) when the URL says nothing.
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
    async fn a_greeting_that_is_not_mysql_is_a_protocol_error_at_once() {
        let (e, took) = connect_fails(Startup::Raw(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())).await;
        assert_kind(&e, ErrorKind::Protocol, "out of order");
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[tokio::test]
    async fn a_garbage_greeting_is_a_protocol_error() {
        let (e, took) = connect_fails(Startup::Raw(packet(0, &[10, 0xff, 0xfe, 0xfd]))).await;
        assert_kind(&e, ErrorKind::Protocol, "handshake");
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[tokio::test]
    async fn a_truncated_greeting_is_a_protocol_error() {
        let (e, took) = connect_fails(Startup::Raw(packet(0, &greeting_payload(1)[..30]))).await;
        assert_kind(&e, ErrorKind::Protocol, "handshake");
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[tokio::test]
    async fn a_greeting_cut_mid_packet_ends_at_connect_timeout() {
        let (e, took) = connect_fails(Startup::Raw(greeting(1)[..20].to_vec())).await;
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(took < Duration::from_secs(4), "took {took:?}");
    }

    #[tokio::test]
    async fn an_error_instead_of_the_greeting_is_the_server_error() {
        // Before the handshake an ERR packet has no SQLSTATE.
        let mut p = vec![0xFF];
        p.extend_from_slice(&1040u16.to_le_bytes());
        p.extend_from_slice(b"Too many connections");
        let (e, _) = connect_fails(Startup::Raw(packet(0, &p))).await;
        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
        assert_eq!(e.as_server_error().and_then(|s| s.vendor_code), Some(1040), "{e}");
        assert!(e.to_string().contains("Too many connections"), "{e}");
    }

    #[tokio::test]
    async fn lies_during_authentication_are_typed_errors_at_once() {
        fn switch(plugin: &str) -> Vec<u8> {
            [b"\xFE", plugin.as_bytes(), b"\0abcdefghijklmnopqrst\0"].concat()
        }
        let bad_key = b"\x01-----BEGIN PUBLIC KEY-----\nMII=\n-----END PUBLIC KEY-----\n";
        let cases: Vec<(&str, Vec<u8>, ErrorKind, &str)> = vec![
            ("a bare 0xFE", packet(2, &[0xFE]), ErrorKind::Protocol, "auth switch"),
            ("a truncated OK", packet(2, &[0x00]), ErrorKind::Protocol, "too short"),
            (
                "an unknown header",
                packet(2, &[0x07]),
                ErrorKind::Protocol,
                "unexpected packet",
            ),
            (
                "switches without end",
                (0..9u8)
                    .flat_map(|i| packet(2 + 2 * i, &switch("mysql_native_password")))
                    .collect(),
                ErrorKind::Protocol,
                "did not finish",
            ),
            (
                "an unknown plugin",
                packet(2, &switch("no_such_plugin")),
                ErrorKind::Authentication,
                "no_such_plugin",
            ),
            (
                "clear text without TLS",
                packet(2, &switch("mysql_clear_password")),
                ErrorKind::Authentication,
                "clear text",
            ),
            (
                "a malformed RSA key",
                [
                    packet(2, &switch("caching_sha2_password")),
                    packet(4, &[0x01, 0x04]),
                    packet(6, bad_key),
                ]
                .concat(),
                ErrorKind::Authentication,
                "RSA public key",
            ),
        ];
        for (what, after, kind, words) in cases {
            // The greeting and the answer to the handshake response at once.
            let fake = FakeMysql::always(Script::startup(Startup::Raw([greeting(1), after].concat()))).await;
            let url = format!("mysql://root:pw@127.0.0.1:{}/test?ssl-mode=DISABLED", fake.port);
            let started = Instant::now();
            let e = rt().connect(&url).await.map(|_| ()).expect_err(what);
            assert_eq!(e.kind(), kind, "{what}: {e}");
            assert!(e.to_string().contains(words), "{what}: `{e}` should name `{words}`");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{what}: took {:?}",
                started.elapsed()
            );
        }
    }

    #[tokio::test]
    async fn the_deadline_holds_when_the_cancel_cannot_connect() {
        // The query hangs; the connection that would send KILL QUERY gets no greeting.
        let fake = FakeMysql::start(|i| {
            if i == 0 {
                Script::at(0, Action::ReplyThenHang(Vec::new()))
            } else {
                Script::startup(Startup::Silent)
            }
        })
        .await;
        let db = rt().connect(&fake.url("")).await.unwrap();
        let started = Instant::now();
        let e = db.query("select 1", &[]).await.unwrap_err();
        assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
        assert!(
            started.elapsed() < CALL_LIMIT + Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_wrong_sequence_id_is_a_protocol_error() {
        let reply = [
            column_count(7, 1),
            column_def(8, "x"),
            text_row(9, &[Some(b"1")]),
            end(10),
        ]
        .concat();
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(reply)).await;
        assert_kind(&e, ErrorKind::Protocol, "sequence id 7, expected 1");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_row_with_more_fields_than_columns_is_a_protocol_error() {
        let reply = [
            column_count(1, 1),
            column_def(2, "x"),
            text_row(3, &[Some(b"1"), Some(b"2")]),
            end(4),
        ]
        .concat();
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(reply)).await;
        assert_kind(&e, ErrorKind::Protocol, "");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn fewer_column_definitions_than_announced_is_a_protocol_error() {
        // Two columns announced, one defined: the row is read as the second.
        let reply = [
            column_count(1, 2),
            column_def(2, "x"),
            text_row(3, &[Some(b"1")]),
            end(4),
        ]
        .concat();
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(reply)).await;
        assert_kind(&e, ErrorKind::Protocol, "too short");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_truncated_row_is_a_protocol_error() {
        // The field says 5 bytes, the packet holds 1.
        let reply = [column_count(1, 1), column_def(2, "x"), packet(3, &[5, b'1']), end(4)].concat();
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(reply)).await;
        assert_kind(&e, ErrorKind::Protocol, "too short for its field");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_truncated_binary_row_is_a_protocol_error() {
        // Request 0 prepares, 1 executes: a BIGINT of 3 bytes.
        let reply = [
            column_count(1, 1),
            column_def(2, "x"),
            packet(3, &[0x00, 0x00, 1, 0, 0]),
            end(4),
        ]
        .concat();
        let fake = FakeMysql::first(Script::at(1, Action::Reply(reply))).await;
        let db = rt().connect(&fake.url("")).await.unwrap();
        let rss = rss_bytes();
        let e = db.query("select ? + 0", &[Value::Int(1)]).await.unwrap_err();
        assert_kind(&e, ErrorKind::Protocol, "too short");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_field_length_far_beyond_the_packet_is_a_protocol_error_at_once() {
        // 16 MiB announced in a packet of 4 bytes.
        let reply = [
            column_count(1, 1),
            column_def(2, "x"),
            packet(3, &[0xFD, 0xFF, 0xFF, 0xFF]),
        ]
        .concat();
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenHang(reply)).await;
        assert_kind(&e, ErrorKind::Protocol, "too short for its field");
        pool_still_works(&db, rss).await;
        // An 8-byte length: a packet this short starting 0xFE is the end of
        // the result, and a malformed one.
        let mut huge = vec![0xFE];
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        let reply = [column_count(1, 1), column_def(2, "x"), packet(3, &huge)].concat();
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenHang(reply)).await;
        assert_kind(&e, ErrorKind::Protocol, "affected rows");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_column_count_beyond_the_limit_is_a_protocol_error_at_once() {
        let mut count = vec![0xFE];
        count.extend_from_slice(&(1u64 << 32).to_le_bytes());
        // The server then waits: a protocol error, not the deadline's
        // time-out, shows the count was refused at once. (A timer here
        // also counted the runtime's start, seconds on a loaded machine.)
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenHang(packet(1, &count))).await;
        assert_kind(&e, ErrorKind::Protocol, "announced 4294967296 columns");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_packet_of_the_largest_length_streamed_forever_is_bounded() {
        // A full 16 MiB packet (which continues in the next), then garbage
        // without end: the next header's sequence id is wrong, unless the
        // memory limit comes first.
        let forever = head_then_garbage(&[0xFF, 0xFF, 0xFF, 1]);
        let (e, db, rss, _fake) = query_fails(0, Action::Forever(forever)).await;
        // The call deadline may come first on a loaded machine.
        assert!(e.is_crash() || e.kind() == ErrorKind::Protocol, "{e}");
        let text = e.to_string();
        assert!(
            matches!(e, Error::Timeout { .. }) || text.contains("memory") || text.contains("out of order"),
            "{e}"
        );
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn rows_without_end_hit_a_limit() {
        // 256 rows whose sequence ids go round, again and again.
        let head = [column_count(1, 1), column_def(2, "x")].concat();
        let rows: Vec<u8> = (0..=255u8)
            .flat_map(|i| text_row(i.wrapping_add(3), &[Some(b"1")]))
            .collect();
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenForever(head, rows)).await;
        assert!(e.is_crash() || e.kind() == ErrorKind::InvalidInput, "{e}");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_query_never_answered_hits_the_call_deadline() {
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenHang(Vec::new())).await;
        assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_connection_closed_mid_reply_is_a_connection_error() {
        let reply = [column_count(1, 1), column_def(2, "x")].concat();
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenClose(reply)).await;
        assert_kind(&e, ErrorKind::Connection, "closed");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn an_error_after_some_rows_is_the_server_error_and_keeps_the_connection() {
        let reply = [
            column_count(1, 1),
            column_def(2, "x"),
            text_row(3, &[Some(b"1")]),
            err(4, 1317, "70100", "Query execution was interrupted"),
        ]
        .concat();
        let (e, db, rss, fake) = query_fails(0, Action::Reply(reply)).await;
        assert_eq!(e.kind(), ErrorKind::Canceled, "{e}");
        assert_eq!(e.code(), Some("70100"), "{e}");
        pool_still_works(&db, rss).await;
        assert_eq!(fake.accepted(), 1, "the connection was kept");
    }

    #[tokio::test]
    async fn a_server_error_names_its_codes_and_keeps_the_connection() {
        let reply = err(1, 1146, "42S02", "Table 'test.t' doesn't exist");
        let (e, db, rss, fake) = query_fails(0, Action::Reply(reply)).await;
        assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
        assert_eq!(e.code(), Some("42S02"), "{e}");
        assert_eq!(e.as_server_error().and_then(|s| s.vendor_code), Some(1146));
        pool_still_works(&db, rss).await;
        assert_eq!(fake.accepted(), 1, "the connection was kept");
    }
}

mod mongodb {
    use super::*;
    use bson::doc;
    use driverbox::ConnectionDriver;
    use driverbox_tests::wire::fake_mongo::{
        header, hello, op_msg, op_msg_to, reply, Action, FakeMongo, Script, Startup, THIS_REQUEST,
    };

    const FIND: &str = r#"{"find": "c"}"#;

    fn assert_kind(e: &Error, kind: ErrorKind, words: &str) {
        assert_eq!(e.kind(), kind, "{e}");
        let text = e.to_string();
        assert!(text.contains(words), "`{text}` should name `{words}`");
        assert!(text.contains("mongodb"), "`{text}` should name the driver");
    }

    /// A following `find` gets its one document; memory stayed bounded.
    async fn pool_still_works(db: &WasmDriver, rss_before: u64) {
        let r = db.query(FIND, &[]).await.expect("the pool works after the failure");
        assert_eq!(r.rows.len(), 1);
        let grown = rss_bytes().saturating_sub(rss_before);
        assert!(grown < 256 << 20, "memory grew by {} MiB", grown >> 20);
    }

    /// Connects (the first connection's `hello` is answered well), runs a
    /// `find` on a connection whose request `at` follows `action`, and
    /// gives the error, checking the time it took.
    async fn query_fails(at: usize, action: Action) -> (Error, WasmDriver, u64, FakeMongo) {
        let fake = FakeMongo::first(Script::at(at, action)).await;
        let db = rt().connect(&fake.url("")).await.expect("hello behaves");
        let rss = rss_bytes();
        let started = Instant::now();
        let e = db.query(FIND, &[]).await.expect_err("the fake misbehaved");
        assert!(
            started.elapsed() < CALL_LIMIT + Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        (e, db, rss, fake)
    }

    /// A `hello` reply that must fail: the error and the time it took.
    async fn connect_fails(startup: Startup) -> (Error, Duration) {
        let fake = FakeMongo::always(Script::startup(startup)).await;
        let started = Instant::now();
        let e = rt().connect(&fake.url("")).await.expect_err("the hello misbehaved");
        (e, started.elapsed())
    }

    #[tokio::test]
    async fn the_fake_behaves() {
        let fake = FakeMongo::always(Script::good()).await;
        let db = rt().connect(&fake.url("")).await.unwrap();
        pool_still_works(&db, rss_bytes()).await;
        db.test_connection().await.unwrap();
        assert_eq!(fake.accepted(), 1);
    }

    #[tokio::test]
    async fn a_server_that_never_answers_hello_is_bounded_by_connect_timeout() {
        let fake = FakeMongo::always(Script::startup(Startup::Silent)).await;
        let started = Instant::now();
        let e = rt().connect(&fake.url("&connectTimeoutMS=1000")).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("connect"), "{e}");
        assert!(took < Duration::from_secs(3), "connectTimeoutMS=1000 took {took:?}");
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
    async fn a_hello_reply_that_is_not_op_msg_is_a_protocol_error_at_once() {
        // "HTTP" read as a length is 1.3 GB.
        let (e, took) = connect_fails(Startup::Raw(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())).await;
        assert_kind(&e, ErrorKind::Protocol, "maxMessageSizeBytes");
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[tokio::test]
    async fn a_hello_reply_that_is_not_bson_is_a_protocol_error() {
        let (e, took) = connect_fails(Startup::Raw(op_msg(&[9, 0, 0, 0, 0x20, b'o', b'k', 0, 0]))).await;
        assert_kind(&e, ErrorKind::Protocol, "BSON");
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[tokio::test]
    async fn a_truncated_hello_reply_ends_at_connect_timeout() {
        let whole = reply(hello(1));
        let (e, took) = connect_fails(Startup::Raw(whole[..whole.len() / 2].to_vec())).await;
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(took < Duration::from_secs(4), "took {took:?}");
    }

    #[tokio::test]
    async fn a_hello_reply_with_a_short_body_is_a_protocol_error() {
        // The message holds a document that claims 200 bytes.
        let (e, _) = connect_fails(Startup::Raw(op_msg(&[200, 0, 0, 0, 0]))).await;
        assert_kind(&e, ErrorKind::Protocol, "bad length");
    }

    #[tokio::test]
    async fn a_hello_with_ok_0_is_the_server_error() {
        let failed = reply(doc! {"ok": 0.0, "code": 13, "codeName": "Unauthorized", "errmsg": "not allowed"});
        let (e, _) = connect_fails(Startup::Raw(failed)).await;
        assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
        assert_eq!(e.code(), Some("Unauthorized"), "{e}");
    }

    #[tokio::test]
    async fn hello_replies_that_lie_are_typed_errors() {
        let cases = [
            (doc! {"ok": 1.0, "maxWireVersion": 2}, ErrorKind::Unsupported, "3.6"),
            (doc! {"ok": 1.0}, ErrorKind::Unsupported, "3.6"),
            (
                doc! {"ok": "yes", "maxWireVersion": 17},
                ErrorKind::Protocol,
                "without `ok`",
            ),
        ];
        for (hello, kind, words) in cases {
            let (e, took) = connect_fails(Startup::Raw(reply(hello.clone()))).await;
            assert_eq!(e.kind(), kind, "{hello}: {e}");
            assert!(e.to_string().contains(words), "{hello}: `{e}` should name `{words}`");
            assert!(took < Duration::from_secs(2), "{hello}: took {took:?}");
        }
    }

    #[tokio::test]
    async fn lies_during_authentication_are_typed_errors_at_once() {
        let bin = |b: &[u8]| bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: b.to_vec(),
        };
        let cases = [
            (doc! {"ok": 1.0, "conversationId": 1}, "no payload"),
            (doc! {"ok": 1.0, "payload": "r=x"}, "no payload"),
            (
                doc! {"ok": 1.0, "conversationId": 1, "payload": bin(b"\xff\xfe"), "done": false},
                "not UTF-8",
            ),
            (
                doc! {"ok": 1.0, "conversationId": 1, "payload": bin(b"r=abc,s=c2FsdA==,i=4096"), "done": false},
                "nonce",
            ),
            (
                doc! {"ok": 0.0, "code": 18, "codeName": "AuthenticationFailed", "errmsg": "Authentication failed."},
                "AuthenticationFailed",
            ),
        ];
        for (answer, words) in cases {
            // Request 0 after `hello` is saslStart.
            let fake = FakeMongo::always(Script::at(0, Action::ReplyThenHang(reply(answer.clone())))).await;
            let url = format!("mongodb://u:pw@127.0.0.1:{}/test", fake.port);
            let started = Instant::now();
            let e = rt().connect(&url).await.map(|_| ()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Authentication, "{answer}: {e}");
            assert!(e.to_string().contains(words), "{answer}: `{e}` should name `{words}`");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "took {:?}",
                started.elapsed()
            );
        }
    }

    #[tokio::test]
    async fn the_deadline_holds_when_the_cancel_cannot_connect() {
        // The query hangs; the connection that would send killOp gets no hello reply.
        let fake = FakeMongo::start(|i| {
            if i == 0 {
                Script::at(0, Action::ReplyThenHang(Vec::new()))
            } else {
                Script::startup(Startup::Silent)
            }
        })
        .await;
        let db = rt().connect(&fake.url("")).await.unwrap();
        let started = Instant::now();
        let e = db.query(FIND, &[]).await.unwrap_err();
        assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
        assert!(
            started.elapsed() < CALL_LIMIT + Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_declared_length_beyond_the_limit_is_a_protocol_error_at_once() {
        // As for MySQL's column count: the kind shows it was at once.
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenHang(header(1 << 30, THIS_REQUEST))).await;
        assert_kind(&e, ErrorKind::Protocol, "maxMessageSizeBytes");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_long_message_streamed_forever_is_bounded() {
        // 40 MB announced (below the 48 MB limit), garbage without end.
        let forever = head_then_garbage(&header(40_000_000, THIS_REQUEST));
        let (e, db, rss, _fake) = query_fails(0, Action::Forever(forever)).await;
        // The call deadline may come first on a loaded machine.
        assert!(e.is_crash() || e.kind() == ErrorKind::Protocol, "{e}");
        let text = e.to_string();
        assert!(
            matches!(e, Error::Timeout { .. }) || text.contains("memory") || text.contains("flags"),
            "{e}"
        );
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_reply_to_another_request_is_a_protocol_error() {
        let other = op_msg_to(9999, 0, &doc! {"ok": 1.0}.to_vec().unwrap());
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(other)).await;
        assert_kind(&e, ErrorKind::Protocol, "a reply to request 9999");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_reply_that_is_not_a_bson_document_is_a_protocol_error() {
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(op_msg(&[9, 0, 0, 0, 0x20, b'o', b'k', 0, 0]))).await;
        assert_kind(&e, ErrorKind::Protocol, "BSON");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_reply_without_ok_is_a_protocol_error() {
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(reply(doc! {"n": 1}))).await;
        assert_kind(&e, ErrorKind::Protocol, "without `ok`");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn ok_0_is_the_server_error_with_its_code_and_keeps_the_connection() {
        let failed =
            reply(doc! {"ok": 0.0, "errmsg": "no such command: 'find'", "code": 59, "codeName": "CommandNotFound"});
        let (e, db, rss, fake) = query_fails(0, Action::Reply(failed)).await;
        assert_eq!(e.kind(), ErrorKind::UndefinedObject, "{e}");
        assert_eq!(e.code(), Some("CommandNotFound"), "{e}");
        assert_eq!(e.as_server_error().and_then(|s| s.vendor_code), Some(59));
        assert!(e.to_string().contains("no such command"), "{e}");
        pool_still_works(&db, rss).await;
        assert_eq!(fake.accepted(), 1, "the connection was kept");
        // Without a codeName the number is the code.
        let unnamed = reply(doc! {"ok": 0, "errmsg": "odd", "code": 4242});
        let (e, _, _, _fake) = query_fails(0, Action::Reply(unnamed)).await;
        assert_eq!(e.code(), Some("4242"), "{e}");
    }

    #[tokio::test]
    async fn a_cursor_batch_of_scalars_is_a_protocol_error() {
        let odd = reply(doc! {"cursor": {"firstBatch": [1, 2], "id": 0i64, "ns": "test.c"}, "ok": 1.0});
        let (e, db, rss, _fake) = query_fails(0, Action::Reply(odd)).await;
        assert_kind(&e, ErrorKind::Protocol, "not a document");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_cursor_without_end_hits_a_limit() {
        // Every `find` and `getMore` gets 1000 documents and an open cursor.
        let batch: Vec<bson::Bson> = (0..1000).map(|i| doc! {"x": i}.into()).collect();
        let open = reply(doc! {"cursor": {"firstBatch": batch, "id": 5i64, "ns": "test.c"}, "ok": 1.0});
        let (e, db, rss, _fake) = query_fails(0, Action::Always(open)).await;
        assert!(e.is_crash() || e.kind() == ErrorKind::InvalidInput, "{e}");
        // Later connections behave.
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn more_to_come_unasked_is_a_protocol_error() {
        let streamed = op_msg_to(THIS_REQUEST, 2, &doc! {"ok": 1.0}.to_vec().unwrap());
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenHang(streamed)).await;
        assert_kind(&e, ErrorKind::Protocol, "moreToCome");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_connection_closed_mid_reply_is_a_connection_error() {
        let whole = reply(doc! {"cursor": {"firstBatch": [{"x": 1}], "id": 0i64, "ns": "test.c"}, "ok": 1.0});
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenClose(whole[..whole.len() - 10].to_vec())).await;
        assert_kind(&e, ErrorKind::Connection, "closed");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_query_never_answered_hits_the_call_deadline() {
        let (e, db, rss, _fake) = query_fails(0, Action::ReplyThenHang(Vec::new())).await;
        assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
        pool_still_works(&db, rss).await;
    }
}

mod dynamodb {
    use super::*;
    use driverbox::ConnectionDriver;
    use driverbox_tests::wire::fake_dynamo::{aws_error, ok, response, Action, FakeDynamo, Script};

    const SELECT: &str = "SELECT * FROM t";

    fn assert_kind(e: &Error, kind: ErrorKind, words: &str) {
        assert_eq!(e.kind(), kind, "{e}");
        let text = e.to_string();
        assert!(text.contains(words), "`{text}` should name `{words}`");
        assert!(text.contains("dynamodb"), "`{text}` should name the driver");
    }

    /// A following `SELECT` gets its one item; memory stayed bounded.
    async fn pool_still_works(db: &WasmDriver, rss_before: u64) {
        let r = db.query(SELECT, &[]).await.expect("the pool works after the failure");
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.rows[0][0], driverbox::Value::Decimal("1".into()));
        let grown = rss_bytes().saturating_sub(rss_before);
        assert!(grown < 256 << 20, "memory grew by {} MiB", grown >> 20);
    }

    /// Runs `sql` against an endpoint whose first connection follows
    /// `action` on its request `at`; gives the error, checking the time it
    /// took.
    async fn call_fails(sql: &str, at: usize, action: Action) -> (Error, WasmDriver, u64, FakeDynamo) {
        let fake = FakeDynamo::first(Script::at(at, action)).await;
        let db = rt().connect(&fake.url("")).await.expect("connect sends nothing");
        let rss = rss_bytes();
        let started = Instant::now();
        let e = db.query(sql, &[]).await.expect_err("the fake misbehaved");
        assert!(
            started.elapsed() < CALL_LIMIT + Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        (e, db, rss, fake)
    }

    async fn query_fails(action: Action) -> (Error, WasmDriver, u64, FakeDynamo) {
        call_fails(SELECT, 0, action).await
    }

    /// `ExecuteStatement` calls the endpoint read.
    fn statements(fake: &FakeDynamo) -> usize {
        fake.requests()
            .iter()
            .filter(|r| r.operation == "ExecuteStatement")
            .count()
    }

    #[tokio::test]
    async fn the_fake_behaves() {
        let fake = FakeDynamo::always(Script::good()).await;
        let db = rt().connect(&fake.url("")).await.unwrap();
        pool_still_works(&db, rss_bytes()).await;
        db.test_connection().await.unwrap();
        assert_eq!(fake.accepted(), 1, "one kept-alive connection");
        let seen = fake.requests();
        assert_eq!(seen[0].operation, "ExecuteStatement");
        assert!(seen[0].body.contains(SELECT), "{:?}", seen[0]);
    }

    #[tokio::test]
    async fn an_answer_that_is_not_http_is_a_protocol_error_at_once() {
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenHang(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec())).await;
        assert_kind(&e, ErrorKind::Protocol, "not HTTP");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_chunk_longer_than_its_length_is_a_protocol_error() {
        let lying = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"Items\":[]}\r\n0\r\n\r\n";
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenHang(lying.to_vec())).await;
        assert_kind(&e, ErrorKind::Protocol, "chunk is longer than its size");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_chunk_shorter_than_its_length_ends_at_the_close_or_the_deadline() {
        let short = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n{\"Items\":[]}".to_vec();
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenClose(short.clone())).await;
        assert_kind(&e, ErrorKind::Connection, "in the middle of a chunked body");
        pool_still_works(&db, rss).await;
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenHang(short)).await;
        assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_body_larger_than_the_limit_is_refused_at_once() {
        // The server then waits: a protocol error (not the deadline's
        // time-out) shows the length was refused before any body byte.
        let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n{".to_vec();
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenHang(huge)).await;
        assert_kind(&e, ErrorKind::Protocol, "larger than the limit of 33554432 bytes");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_body_without_length_streamed_forever_is_bounded() {
        // No Content-Length, no chunks: the body runs until the close, which never comes.
        let mut forever = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\r\n".to_vec();
        forever.extend(vec![b' '; 64 * 1024]);
        let (e, db, rss, _fake) = query_fails(Action::Forever(forever)).await;
        // The body limit (32 MiB), the instance's memory (64 MiB here: the
        // read buffer doubles past 32 MiB) or, on a loaded machine, the
        // call deadline: each ends the call and discards the connection.
        let text = e.to_string();
        assert!(
            matches!(e, Error::Timeout { .. })
                || (e.is_crash() && text.contains("memory"))
                || (e.kind() == ErrorKind::Protocol && text.contains("larger than the limit")),
            "{e}"
        );
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn chunks_without_end_are_bounded() {
        // A chunked body whose chunks of 32 KiB never end.
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut chunk = b"8000\r\n".to_vec();
        chunk.extend(vec![b' '; 0x8000]);
        chunk.extend_from_slice(b"\r\n");
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenForever(head, chunk)).await;
        // As above: the body limit, the memory limit or the deadline.
        let text = e.to_string();
        assert!(
            matches!(e, Error::Timeout { .. })
                || (e.is_crash() && text.contains("memory"))
                || (e.kind() == ErrorKind::Protocol && text.contains("larger than the limit")),
            "{e}"
        );
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn json_that_does_not_parse_is_a_protocol_error() {
        let (e, db, rss, fake) = query_fails(Action::Reply(ok(r#"{"Items": [tru"#))).await;
        assert_kind(&e, ErrorKind::Protocol, "not JSON");
        pool_still_works(&db, rss).await;
        // The host discards a connection after a protocol error.
        assert_eq!(fake.accepted(), 2, "a fresh connection");
    }

    #[tokio::test]
    async fn a_refused_signature_is_an_authentication_error_with_the_aws_code() {
        let refused = aws_error(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        );
        let (e, db, rss, fake) = query_fails(Action::Reply(refused)).await;
        assert_kind(&e, ErrorKind::Authentication, "signature we calculated does not match");
        assert_eq!(e.code(), Some("InvalidSignatureException"), "{e}");
        assert_eq!(e.as_server_error().and_then(|s| s.vendor_code), Some(403));
        assert!(!e.to_string().contains("fake/secret"), "{e}");
        pool_still_works(&db, rss).await;
        assert_eq!(fake.accepted(), 1, "the connection was kept");
        assert_eq!(statements(&fake), 2, "not retried");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_hits_the_call_deadline() {
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenHang(Vec::new())).await;
        assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn a_close_mid_body_is_a_connection_error() {
        let whole = ok(r#"{"Items":[{"x":{"N":"1"}},{"x":{"N":"2"}}]}"#);
        let cut = whole[..whole.len() - 10].to_vec();
        let (e, db, rss, fake) = query_fails(Action::ReplyThenClose(cut)).await;
        assert_kind(&e, ErrorKind::Connection, "closed the connection after");
        pool_still_works(&db, rss).await;
        assert_eq!(fake.accepted(), 2, "a fresh connection");
    }

    #[tokio::test]
    async fn a_content_length_larger_than_what_comes_ends_at_the_close_or_the_deadline() {
        let mut short = response(200, "OK", "", "");
        // `Content-Length: 0` is replaced by 100; 12 bytes come.
        let at = short.windows(17).position(|w| w == b"Content-Length: 0").unwrap();
        short.splice(at..at + 17, b"Content-Length: 100".iter().copied());
        short.extend_from_slice(br#"{"Items":[]}"#);
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenClose(short.clone())).await;
        assert_kind(&e, ErrorKind::Connection, "after 12 of 100 body bytes");
        pool_still_works(&db, rss).await;
        let (e, db, rss, _fake) = query_fails(Action::ReplyThenHang(short)).await;
        assert!(matches!(e, Error::Timeout { limit, .. } if limit == CALL_LIMIT), "{e}");
        pool_still_works(&db, rss).await;
    }

    #[tokio::test]
    async fn throttling_is_retried_for_reads_only_and_a_bounded_number_of_times() {
        let busy = || aws_error(500, "InternalServerError", "Internal server error");
        let unavailable = || {
            response(
                503,
                "Service Unavailable",
                "",
                "<html><body>503 Service Unavailable</body></html>",
            )
        };
        // A read that is throttled three times, then answered: it succeeds.
        let fake = FakeDynamo::first(Script::at(0, Action::Times(3, unavailable()))).await;
        let db = rt().connect(&fake.url("")).await.unwrap();
        let r = db.query(SELECT, &[]).await.expect("retried until answered");
        assert_eq!(r.rows.len(), 1);
        assert_eq!(statements(&fake), 4);
        // Throttled every time: five retries, then the error; time bounded
        // (the backoff sums to at most ~1.6 s).
        for answer in [busy(), unavailable()] {
            let (e, db, rss, fake) = call_fails(SELECT, 0, Action::Times(6, answer)).await;
            assert_eq!(statements(&fake), 6, "one call and five retries: {e}");
            assert!(
                e.to_string().contains("InternalServerError") || e.to_string().contains("HTTP 503"),
                "{e}"
            );
            assert!(e.to_string().contains("dynamodb"), "{e}");
            pool_still_works(&db, rss).await;
        }
        // A write is not repeated: it may have been applied.
        let insert = "INSERT INTO t VALUE {'k': 'a'}";
        for answer in [busy(), unavailable()] {
            let (e, db, rss, fake) = call_fails(insert, 0, Action::Times(1, answer)).await;
            assert_eq!(statements(&fake), 1, "a write was retried: {e}");
            pool_still_works(&db, rss).await;
        }
    }
}
