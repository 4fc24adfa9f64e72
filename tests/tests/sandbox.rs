//! The sandbox against a misbehaving driver component (tests/guests/hostile):
//! each hostile act ends in a clear error, and the host keeps serving.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use driverbox::{ErrorKind, Limits, PoolConfig, QueryDriver, Runtime, Value, WasmDriver};
use driverbox_tests::{hostile_variant, hostile_wasm, runtime, runtime_with};

/// A listener standing in for the driver's server.
fn server(ip: &str) -> TcpListener {
    TcpListener::bind((ip, 0)).expect("bind a test listener")
}

async fn hostile(rt: &Runtime, endpoint: &TcpListener) -> WasmDriver {
    rt.load_driver_file(&hostile_wasm()).await.expect("load hostile driver");
    let addr = endpoint.local_addr().unwrap();
    let options = format!("hostile://{}:{}/", addr.ip(), addr.port());
    let pool = PoolConfig {
        max_size: 4,
        ..PoolConfig::default()
    };
    rt.connect_with(&options, pool).await.expect("connect")
}

fn text(r: &driverbox::QueryResult) -> String {
    match &r.rows[0][0] {
        Value::Text(t) => t.clone(),
        other => panic!("not text: {other:?}"),
    }
}

#[tokio::test]
async fn a_panicking_driver_is_discarded_and_the_pool_recovers() {
    let endpoint = server("127.0.0.1");
    let rt = runtime();
    let db = hostile(&rt, &endpoint).await;
    assert_eq!(text(&db.query("select 1", &[]).await.unwrap()), "select 1");

    let err = db.query("panic", &[]).await.unwrap_err();
    assert!(err.is_crash(), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("hostile") && msg.contains("panics on purpose"), "{msg}");
    assert_eq!(db.pool_status().discarded, 1);

    // The next call gets a fresh instance.
    assert_eq!(text(&db.query("select 2", &[]).await.unwrap()), "select 2");
    let status = db.pool_status();
    assert_eq!((status.size, status.idle, status.used), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_times_out_while_others_keep_serving() {
    let endpoint = server("127.0.0.1");
    let mut limits = Limits::default();
    limits.set("timeout=1s").unwrap();
    let rt = runtime_with(limits);
    let db = hostile(&rt, &endpoint).await;

    let looping = {
        let db = db.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            (db.query("loop", &[]).await, start.elapsed())
        })
    };
    // While one instance spins, another serves, many times over.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..20 {
        let r = db.query(&format!("echo {i}"), &[]).await.unwrap();
        assert_eq!(text(&r), format!("echo {i}"));
    }
    let (result, took) = looping.await.unwrap();
    let err = result.unwrap_err();
    assert!(matches!(err, driverbox::Error::Timeout { .. }), "{err}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert_eq!(text(&db.query("after", &[]).await.unwrap()), "after");
}

#[tokio::test]
async fn a_memory_bomb_hits_the_limit() {
    let endpoint = server("127.0.0.1");
    let mut limits = Limits::default();
    limits.set("max-memory-size=64MiB").unwrap();
    let rt = runtime_with(limits);
    let db = hostile(&rt, &endpoint).await;
    assert!(db.query("alloc 16", &[]).await.is_ok(), "16 MiB fit");
    let before = resident_mib();
    let err = db.query("alloc 1024", &[]).await.unwrap_err();
    assert!(err.is_crash(), "{err}");
    assert!(
        err.to_string()
            .contains("memory limit exceeded (max-memory-size 64 MiB)"),
        "{err}"
    );
    // The guest touched every MiB it got; the host grew by at most its cap
    // (plus slack for tests running beside this one), not by the 1 GiB asked.
    let grown = resident_mib().saturating_sub(before);
    assert!(grown < 256, "host resident memory grew by {grown} MiB");
    assert_eq!(text(&db.query("still here", &[]).await.unwrap()), "still here");
}

/// This process's resident memory in MiB (Linux).
fn resident_mib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096 / (1 << 20)
}

/// True when `listener` got a connection within a short wait.
fn was_contacted(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    listener.accept().is_ok()
}

#[tokio::test]
async fn connects_outside_the_config_are_refused_before_any_packet() {
    let endpoint = server("127.0.0.2");
    let elsewhere = server("127.0.0.1");
    let rt = runtime();
    let db = hostile(&rt, &endpoint).await;
    let port = endpoint.local_addr().unwrap().port();
    let other_port = elsewhere.local_addr().unwrap().port();

    // Its own endpoint is fine.
    assert_eq!(
        text(&db.query(&format!("connect 127.0.0.2 {port}"), &[]).await.unwrap()),
        "connected"
    );
    assert!(was_contacted(&endpoint));

    let attempts = [
        format!("connect 127.0.0.2 {}", port.wrapping_add(1)), // another port
        format!("connect 127.0.0.1 {other_port}"),             // another address
        format!("connect 169.254.169.254 {port}"),             // cloud metadata
        format!("connect localhost {port}"),                   // a name resolving elsewhere
    ];
    for attempt in &attempts {
        let err = db.query(attempt, &[]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Permission, "{attempt}: {err}");
        assert!(err.to_string().contains("not the endpoint of this connection"), "{err}");
    }
    assert!(!was_contacted(&elsewhere), "no packet reached the other listener");
}

#[tokio::test]
async fn opening_sockets_in_a_loop_stops_at_the_cap() {
    let endpoint = server("127.0.0.1");
    let mut limits = Limits::default();
    limits.set("max-handles=3").unwrap();
    let rt = runtime_with(limits);
    let db = hostile(&rt, &endpoint).await;
    let err = db.query("sockets 100", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert!(err.to_string().contains("too many open sockets (limit 3)"), "{err}");
}

#[tokio::test]
async fn a_huge_result_stops_at_the_byte_limit() {
    let endpoint = server("127.0.0.1");
    let mut limits = Limits::default();
    limits.set("max-result-bytes=1MiB").unwrap();
    let rt = runtime_with(limits);
    let db = hostile(&rt, &endpoint).await;
    assert_eq!(db.query("rows 100 100", &[]).await.unwrap().rows.len(), 100);
    let err = db.query("rows 1000 10000", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("exceeds max-result-bytes"), "{err}");
}

#[tokio::test]
async fn tls_required_means_no_plaintext_beyond_the_preamble() {
    let endpoint = server("127.0.0.1");
    let rt = runtime();
    rt.load_driver_file(&hostile_wasm()).await.unwrap();
    let addr = endpoint.local_addr().unwrap();
    let db = rt
        .connect(&format!("hostile://{}:{}/?sslmode=require", addr.ip(), addr.port()))
        .await
        .unwrap();
    assert!(db.query("plaintext 8", &[]).await.is_ok(), "an SSLRequest fits");
    let err = db.query("plaintext 200", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert!(err.to_string().contains("requires TLS"), "{err}");
}

#[tokio::test]
async fn components_that_fail_validation_are_refused_and_the_working_version_stays() {
    let endpoint = server("127.0.0.1");
    let rt = runtime();
    let db = hostile(&rt, &endpoint).await;
    let working = db.info().content_hash.clone();
    let good = std::fs::read(hostile_wasm()).unwrap();
    // Our WIT package at a version this host does not speak: the same
    // component with every `driverbox:driver/...@0.2.0` name renamed.
    let foreign_version = replace_all(&good, b"@0.2.0", b"@7.2.0");

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("junk.wasm", b"not wasm at all".to_vec(), "not a valid component"),
        // An empty component: not of our world.
        (
            "empty.wasm",
            vec![0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00],
            "exports nothing of driverbox:driver",
        ),
        (
            "v7.wasm",
            foreign_version,
            "but this host serves driverbox:driver versions 0.2.0, 0.1.0",
        ),
        ("files.wasm", read(hostile_variant("files")), "imports wasi:filesystem/"),
        (
            "sockets.wasm",
            read(hostile_variant("sockets")),
            "imports wasi:sockets/",
        ),
        (
            "meta.wasm",
            read(hostile_variant("bad-metadata")),
            "metadata: bad URL scheme \"Not A Scheme\"",
        ),
    ];
    for (source, bytes, reason) in cases {
        let err = rt.load_driver(&bytes, source).await.unwrap_err().to_string();
        assert!(err.contains(source) && err.contains(reason), "{source}: {err}");
        // The working version still serves, and nothing was swapped.
        assert_eq!(db.info().content_hash, working, "{source} replaced the driver");
        assert_eq!(text(&db.query("still here", &[]).await.unwrap()), "still here");
    }
    let err = rt
        .load_driver(&read(hostile_variant("files")), "files.wasm")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("a network driver may not touch files"),
        "{err}"
    );
    let err = rt
        .load_driver(&read(hostile_variant("sockets")), "sockets.wasm")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("only through driverbox:driver/transport"),
        "{err}"
    );
}

fn read(path: std::path::PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `haystack` with every `from` replaced by `to` (same length).
fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = haystack.to_vec();
    let mut i = 0;
    let mut found = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            found += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found > 0, "nothing to replace");
    out
}

#[tokio::test]
async fn a_call_dropped_midway_never_returns_its_connection() {
    let endpoint = server("127.0.0.1");
    let rt = runtime();
    let db = hostile(&rt, &endpoint).await;
    // Cancel a call by dropping its future while the driver is busy.
    let cancelled = tokio::time::timeout(Duration::from_millis(200), db.query("loop", &[])).await;
    assert!(cancelled.is_err(), "still running when dropped");
    let status = db.pool_status();
    assert_eq!((status.used, status.discarded), (0, 1), "{status:?}");
    assert_eq!(text(&db.query("next", &[]).await.unwrap()), "next");
}

/// The `dns` import under the allow-list: a driver looks up only SRV and
/// TXT names of its own hosts; any other name, or an address, is refused
/// before a query leaves the host.
#[tokio::test]
async fn dns_lookups_of_other_names_are_refused() {
    let endpoint = server("127.0.0.1");
    let rt = runtime();
    let db = hostile(&rt, &endpoint).await;
    for lookup in [
        "srv _mongodb._tcp.cluster0.example.com",
        "txt example.com",
        "srv _mongodb._tcp.127.0.0.1",
        "txt 127.0.0.1",
        "srv metadata.google.internal",
    ] {
        let e = db.query(lookup, &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permission, "{lookup}: {e}");
        assert!(e.to_string().contains("DNS lookup refused"), "{lookup}: {e}");
    }
    assert_eq!(text(&db.query("still here", &[]).await.unwrap()), "still here");
}
