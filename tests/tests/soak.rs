//! A bounded soak: N concurrent clients × M queries against a throwaway
//! server, while the driver is hot-swapped, backends are killed with
//! `pg_terminate_backend` and the server is restarted. Reports errors,
//! p50/p99 latency, RSS at start and end and the pool's largest size.
//!
//! The default (CI) run is short; `scripts/soak.sh` runs a long one with
//! `SOAK_CLIENTS`, `SOAK_QUERIES`, `SOAK_EVENTS` (disturbances of each
//! kind) and `SOAK_POOL` (pool maximum).
//!
//! What the test itself keeps is bounded, so that RSS measures driverbox:
//! latencies go into a fixed-size histogram (`hdrhistogram`, µs, 3
//! significant digits) and at most ten error messages are kept.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use driverbox::{PoolConfig, QueryDriver, Value};
use driverbox_tests::pgserver::{PgServer, PASSWORD};
use driverbox_tests::wire::rss_bytes;
use driverbox_tests::{postgres_tagged, runtime};
use hdrhistogram::Histogram;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Failed queries: how many, and the first few messages of each sort.
#[derive(Default)]
struct Errors {
    count: usize,
    /// The first ten messages.
    samples: Vec<String>,
    /// The first ten that are not connection errors or time-outs.
    unexpected: Vec<String>,
}

impl Errors {
    fn push(&mut self, message: String) {
        self.count += 1;
        if !(message.starts_with("Connection") || message.starts_with("Timeout")) && self.unexpected.len() < 10 {
            self.unexpected.push(message.clone());
        }
        if self.samples.len() < 10 {
            self.samples.push(message);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak() {
    let clients = env("SOAK_CLIENTS", 8);
    let queries = env("SOAK_QUERIES", 60);
    let events = env("SOAK_EVENTS", 1);
    let pool_max = env("SOAK_POOL", 4);
    let server = Arc::new(PgServer::start());
    let rt = runtime();
    let driver_a = std::fs::read(postgres_tagged('a')).unwrap();
    let driver_b = std::fs::read(postgres_tagged('b')).unwrap();
    rt.load_driver(&driver_a, "postgres-a.wasm").await.unwrap();
    let db = rt
        .connect_with(
            &server.url(
                "postgres",
                PASSWORD,
                "127.0.0.1",
                "sslmode=disable&application_name=dbx_soak",
            ),
            PoolConfig {
                max_size: pool_max,
                acquire_timeout: Duration::from_secs(20),
                ..PoolConfig::default()
            },
        )
        .await
        .unwrap();
    // Warm up: both drivers compiled and run, the pool filled by concurrent
    // queries; memory is measured from here.
    for bytes in [&driver_b, &driver_a] {
        rt.load_driver(bytes, "postgres-swap.wasm").await.unwrap();
        futures::future::try_join_all((0..pool_max).map(|_| db.query("select pg_sleep(0.01)", &[])))
            .await
            .unwrap();
    }
    let rss_start = rss_bytes();
    let done = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Errors::default()));
    // 1 µs to 10 min.
    let latencies = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).unwrap(),
    ));
    // RSS after each disturbance round.
    let rss_rounds = Arc::new(Mutex::new(Vec::<u64>::new()));
    let largest_pool = Arc::new(AtomicUsize::new(0));

    // The disturbances, spread over the run.
    let disturber = {
        let (rt, db, server, done, rss_rounds) =
            (rt.clone(), db.clone(), server.clone(), done.clone(), rss_rounds.clone());
        tokio::spawn(async move {
            for round in 0..events {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let bytes = if round % 2 == 0 { &driver_b } else { &driver_a };
                rt.load_driver(bytes, "postgres-swap.wasm").await.expect("hot swap");
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = db
                    .query(
                        "select count(pg_terminate_backend(pid)) from pg_stat_activity \
                         where application_name = 'dbx_soak' and pid <> pg_backend_pid()",
                        &[],
                    )
                    .await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                let s = server.clone();
                tokio::task::spawn_blocking(move || s.restart()).await.unwrap();
                rss_rounds.lock().unwrap().push(rss_bytes());
                if done.load(Ordering::Relaxed) {
                    break;
                }
            }
        })
    };

    let mut tasks = Vec::new();
    for c in 0..clients {
        let (db, errors, latencies, largest) = (db.clone(), errors.clone(), latencies.clone(), largest_pool.clone());
        tasks.push(tokio::spawn(async move {
            for q in 0..queries {
                let started = Instant::now();
                let want = (c * 100_000 + q) as i64;
                match db
                    .query("select $1::int8 + 0, pg_sleep(0.002)", &[Value::Int(want)])
                    .await
                {
                    Ok(r) => {
                        assert_eq!(r.rows[0][0], Value::Int(want), "a result from another query");
                        let micros = started.elapsed().as_micros().clamp(1, 600_000_000) as u64;
                        latencies.lock().unwrap().record(micros).unwrap();
                    }
                    // Killed backends and restarts fail the queries in flight; they
                    // must fail with a connection error, and the next ones work.
                    Err(e) => errors.lock().unwrap().push(format!("{:?}: {e}", e.kind())),
                }
                let status = db.pool_status();
                largest.fetch_max(status.size, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client panicked");
    }
    done.store(true, Ordering::Relaxed);
    disturber.await.expect("the disturber panicked");
    // After everything, the pool still works.
    let r = db.query("select 42", &[]).await.expect("the pool works after the soak");
    assert_eq!(r.rows[0][0], Value::Int(42));

    let rss_end = rss_bytes();
    let lat = latencies.lock().unwrap();
    let errors = errors.lock().unwrap();
    let rss_rounds = rss_rounds.lock().unwrap();
    let total = clients * queries;
    let mib = |b: u64| format!("{:.1}", b as f64 / (1 << 20) as f64);
    println!(
        "soak: {clients} clients x {queries} queries, {} swap/kill/restart rounds: {} ok, {} errors, \
         p50 {:?}, p99 {:?}, RSS {} MiB -> {} MiB, pool max {} (limit {pool_max}), discarded {}",
        rss_rounds.len(),
        lat.len(),
        errors.count,
        Duration::from_micros(lat.value_at_quantile(0.50)),
        Duration::from_micros(lat.value_at_quantile(0.99)),
        mib(rss_start),
        mib(rss_end),
        largest_pool.load(Ordering::Relaxed),
        db.pool_status().discarded,
    );
    // RSS after round 1, 2 (both drivers compiled and run), then at each tenth of the run.
    let step = (rss_rounds.len() / 10).max(1);
    let marks: Vec<String> = rss_rounds
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 2 || (i + 1) % step == 0)
        .map(|(i, b)| format!("{}:{}", i + 1, mib(*b)))
        .collect();
    println!("  RSS MiB after round: {}", marks.join(" "));
    for e in &errors.samples {
        println!("  error: {e}");
    }
    assert!(
        largest_pool.load(Ordering::Relaxed) <= pool_max,
        "the pool grew past its maximum"
    );
    assert!(
        errors.unexpected.is_empty(),
        "only connection errors from the disturbances: {:?}",
        errors.unexpected
    );
    assert!(
        errors.count * 4 < total,
        "most queries succeed: {} of {total} failed",
        errors.count
    );
    // Flat memory in a long run: after the first third of the rounds (both
    // drivers compiled, the allocator's arenas grown), RSS stays within
    // 8 MiB of that third's peak (a leak of 100 KiB per round would not).
    if rss_rounds.len() >= 30 {
        let (first, rest) = rss_rounds.split_at(rss_rounds.len() / 3);
        let settled = first.iter().copied().max().unwrap_or(0);
        let later = rest.iter().copied().max().unwrap_or(0);
        assert!(
            later <= settled + (8 << 20),
            "RSS kept growing after the first third of the rounds: {} MiB -> {} MiB",
            mib(settled),
            mib(later)
        );
    }
    // Flat memory: the soak must not leak per query (generous: allocator noise).
    assert!(
        rss_end < rss_start + (200 << 20),
        "RSS grew from {} MiB to {} MiB",
        rss_start >> 20,
        rss_end >> 20
    );
}
