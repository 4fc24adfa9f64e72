//! Driver lifecycle: load, swap, unload, the watched directory, and
//! refused components leaving the working version in place.

use std::time::Duration;

use driverbox::{DriverEvent, HealthCheckDriver, QueryDriver};
use driverbox_tests::{hostile_tagged, runtime};

/// The next registry event about a loaded (not built-in) driver.
async fn next_event(rx: &mut tokio::sync::broadcast::Receiver<DriverEvent>) -> DriverEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event in time")
            .expect("event");
        match &event {
            DriverEvent::Failed { source, .. } if source.starts_with("builtin") => continue,
            _ => return event,
        }
    }
}

#[tokio::test]
async fn swap_reaches_new_connections_and_a_bad_component_replaces_nothing() {
    let rt = runtime();
    let mut events = rt.subscribe();
    let a = std::fs::read(hostile_tagged('a')).unwrap();
    let b = std::fs::read(hostile_tagged('b')).unwrap();
    let info = rt.load_driver(&a, "a.wasm").await.unwrap();
    assert_eq!(info.version, "0.1.0+a");
    assert!(matches!(next_event(&mut events).await, DriverEvent::Loaded(i) if i.version == "0.1.0+a"));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let db = rt
        .connect(&format!("hostile://{}/", listener.local_addr().unwrap()))
        .await
        .unwrap();
    // A transaction-like pin: a connection held across the swap.
    assert_eq!(db.health_check().await.unwrap().driver_version, "0.1.0+a");

    rt.load_driver(&b, "b.wasm").await.unwrap();
    match next_event(&mut events).await {
        DriverEvent::Swapped { old, new } => {
            assert_eq!((old.version.as_str(), new.version.as_str()), ("0.1.0+a", "0.1.0+b"))
        }
        other => panic!("expected a swap, got {other:?}"),
    }
    assert_eq!(db.info().version, "0.1.0+b");
    assert_eq!(db.health_check().await.unwrap().driver_version, "0.1.0+b");
    assert!(db.pool_status().retired >= 1, "the old connection was retired");

    // A broken component is refused and b keeps serving.
    let err = rt.load_driver(b"garbage", "bad.wasm").await.unwrap_err();
    assert!(err.to_string().contains("bad.wasm"), "{err}");
    assert!(matches!(next_event(&mut events).await, DriverEvent::Failed { .. }));
    assert_eq!(db.info().version, "0.1.0+b");
    assert!(db.query("still", &[]).await.is_ok());

    // Listing shows it with its hash; unloading stops new pools only.
    let listed = rt.drivers().await.unwrap();
    let hostile = listed.iter().find(|d| d.name == "hostile").expect("listed");
    assert_eq!(hostile.version, "0.1.0+b");
    assert_eq!(hostile.content_hash.len(), 64);
    rt.unload("hostile").await.unwrap();
    assert!(matches!(next_event(&mut events).await, DriverEvent::Unloaded(_)));
    assert!(db.query("old pool still works", &[]).await.is_ok());
    let err = rt
        .connect(&format!("hostile://{}/", listener.local_addr().unwrap()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no driver for URL scheme `hostile`"), "{err}");
}

#[tokio::test]
async fn a_watched_directory_loads_swaps_and_unloads() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("hostile.wasm");
    std::fs::copy(hostile_tagged('a'), &target).unwrap();
    let mut events = rt.subscribe();
    let _watch = rt.watch_dir(dir.path()).await.unwrap();
    assert!(matches!(next_event(&mut events).await, DriverEvent::Loaded(i) if i.version == "0.1.0+a"));

    // Replace the file: validated and swapped in.
    let tmp = dir.path().join("incoming.tmp");
    std::fs::copy(hostile_tagged('b'), &tmp).unwrap();
    std::fs::rename(&tmp, &target).unwrap();
    loop {
        match next_event(&mut events).await {
            DriverEvent::Swapped { new, .. } if new.version == "0.1.0+b" => break,
            DriverEvent::Swapped { .. } => continue,
            other => panic!("expected a swap, got {other:?}"),
        }
    }

    // A broken file is refused; b stays.
    std::fs::write(dir.path().join("broken.wasm"), b"\0asm broken").unwrap();
    assert!(matches!(next_event(&mut events).await, DriverEvent::Failed { .. }));
    let listed = rt.drivers().await.unwrap();
    assert_eq!(listed.iter().find(|d| d.name == "hostile").unwrap().version, "0.1.0+b");

    std::fs::remove_file(&target).unwrap();
    assert!(matches!(next_event(&mut events).await, DriverEvent::Unloaded(i) if i.name == "hostile"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_postgres_twenty_times_under_load_fails_no_query() {
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    let rt = runtime();
    let builds = [
        std::fs::read(driverbox_tests::postgres_tagged('a')).unwrap(),
        std::fs::read(driverbox_tests::postgres_tagged('b')).unwrap(),
    ];
    rt.load_driver(&builds[0], "postgres-a.wasm").await.unwrap();

    let pool = driverbox::PoolConfig {
        max_size: 16,
        ..Default::default()
    };
    let db = rt.connect_with(driverbox_tests::PG_URL, pool).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let mut tasks = Vec::new();
    for task in 0..16i64 {
        let (db, stop, ok, failed, seen) = (db.clone(), stop.clone(), ok.clone(), failed.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let r = db
                    .query("select $1::int8 * 2", &[driverbox::Value::Int(task * 1_000_000 + i)])
                    .await;
                match r {
                    Ok(r) if r.rows[0][0] == driverbox::Value::Int((task * 1_000_000 + i) * 2) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        eprintln!("failed query: {other:?}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if i % 50 == 0 {
                    if let Ok(h) = db.health_check().await {
                        seen.lock().unwrap().insert(h.driver_version);
                    }
                }
            }
        }));
    }
    for swap in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        rt.load_driver(&builds[(swap + 1) % 2], "postgres-swap.wasm")
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "{failed} queries failed ({ok} succeeded)");
    assert!(ok > 1000, "only {ok} queries ran");
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains("0.1.0+a") && seen.contains("0.1.0+b"),
        "versions seen: {seen:?}"
    );
    assert!(db.pool_status().retired > 0);
    // The 20 replaced drivers drained: only the last one loaded (a) is in memory.
    assert_eq!(resident_versions(&rt).await, ["0.1.0+a"], "{:?}", db.pool_status());
}

#[tokio::test]
async fn a_transaction_open_across_a_swap_finishes_on_the_old_version() {
    let rt = runtime();
    let a = std::fs::read(driverbox_tests::postgres_tagged('a')).unwrap();
    let b = std::fs::read(driverbox_tests::postgres_tagged('b')).unwrap();
    rt.load_driver(&a, "postgres-a.wasm").await.unwrap();
    let db = rt.connect(driverbox_tests::PG_URL).await.unwrap();
    db.execute("drop table if exists dbx_swap_tx", &[]).await.unwrap();
    db.execute("create table dbx_swap_tx (id int)", &[]).await.unwrap();

    let mut tx = db.transaction(Default::default()).await.unwrap();
    tx.execute("insert into dbx_swap_tx values (1)", &[]).await.unwrap();
    rt.load_driver(&b, "postgres-b.wasm").await.unwrap();
    // New work goes to b while the transaction goes on, on a.
    assert_eq!(db.health_check().await.unwrap().driver_version, "0.1.0+b");
    tx.execute("insert into dbx_swap_tx values (2)", &[]).await.unwrap();
    let r = db.query("select count(*) from dbx_swap_tx", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], driverbox::Value::Int(0), "not committed yet");
    assert_eq!(
        resident_versions(&rt).await,
        ["0.1.0+a", "0.1.0+b"],
        "the transaction holds a"
    );
    tx.commit().await.unwrap();
    let r = db.query("select count(*) from dbx_swap_tx", &[]).await.unwrap();
    assert_eq!(r.rows[0][0], driverbox::Value::Int(2));
    // a's connection was retired when the transaction gave it back.
    assert_eq!(db.pool_status().retired, 1, "{:?}", db.pool_status());
    assert_eq!(db.health_check().await.unwrap().driver_version, "0.1.0+b");
    // Nothing holds a any more: its compiled code and instances are freed.
    assert_eq!(resident_versions(&rt).await, ["0.1.0+b"]);
    db.execute("drop table dbx_swap_tx", &[]).await.unwrap();
}

/// Versions of the drivers still in memory, sorted.
async fn resident_versions(rt: &driverbox::Runtime) -> Vec<String> {
    let mut v: Vec<String> = rt.resident_drivers().await.into_iter().map(|d| d.version).collect();
    v.sort();
    v
}
