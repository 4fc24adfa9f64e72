//! W5: driver start-up. What each figure measures:
//!
//! - `cold load`: `Runtime::load_driver` of the PostgreSQL component with a
//!   fresh, empty artifact cache directory: validate + compile with
//!   Cranelift + serialize + write the cache file + link + a throwaway
//!   instance asking the driver's metadata.
//! - `load from cache`: the same call in a new `Runtime` over the warm cache
//!   directory: read + HMAC-verify + deserialize the artifact, link, metadata.
//! - `instantiate`: `Store::new` + `InstancePre::instantiate_async` of the
//!   PostgreSQL component, timed here with wasmtime directly (the host's
//!   `Instance` is crate-private), on an engine configured exactly as
//!   `RuntimeBuilder::build` configures its own (pooling allocator, epoch
//!   interruption, default limits), with real WASI and the driverbox
//!   imports stubbed. It is what `Instance::start` does before the driver's
//!   `connect` call.
//! - `new connection + first query`: through the public API, a pool whose
//!   `max_lifetime` is zero, so every `query("select 1")` instantiates the
//!   driver, opens a PostgreSQL session (TCP, startup, auth) and runs the
//!   query; the peers `connect` and run the same query.
//! - `idle connection memory`: RSS growth of the process for 50 open idle
//!   connections, divided by 50.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use driverbox::{ConnectionDriver, PoolConfig, QueryDriver, Runtime, TransactionOptions};
use sqlx_core::connection::Connection as _;
use sqlx_postgres::PgConnection;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::pg::tp_connect;
use crate::results::{Better, Results};
use crate::stats::{median, percentile, rss_bytes, us};
use crate::{order, Ctx};

const W: &str = "W5 start-up";

pub fn postgres_component(tag: char) -> Result<Vec<u8>> {
    let path = match tag {
        'a' => env!("BENCH_POSTGRES_WASM_A"),
        _ => env!("BENCH_POSTGRES_WASM_B"),
    };
    std::fs::read(path).with_context(|| format!("reading {path}"))
}

fn runtime_with_cache(dir: &std::path::Path) -> Result<Runtime> {
    Ok(Runtime::builder()
        .builtins(false)
        .cache_dir(Some(dir.to_path_buf()))
        .build()?)
}

/// A store's data with WASI alone (also the portable contender's).
pub(crate) struct Bare {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// An engine configured as `RuntimeBuilder::build` does with default limits.
fn host_like_engine() -> Result<Engine> {
    Engine::new(&driverbox::engine_config(&driverbox::Limits::default())).map_err(|e| anyhow::anyhow!("{e:#}"))
}

/// Instantiation latencies (µs) and the store drop times (µs).
async fn raw_instantiate(bytes: &[u8], iters: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let engine = host_like_engine()?;
    let component = Component::new(&engine, bytes).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let mut linker = Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    linker
        .define_unknown_imports_as_traps(&component)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let (mut inst, mut drops) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    for i in 0..iters + iters / 10 + 5 {
        let t = Instant::now();
        let mut store = Store::new(
            &engine,
            Bare {
                wasi: WasiCtxBuilder::new().build(),
                table: ResourceTable::new(),
            },
        );
        store.set_epoch_deadline(1 << 40);
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let took = t.elapsed();
        std::hint::black_box(&instance);
        let t = Instant::now();
        drop(store);
        let dropped = t.elapsed();
        if i >= iters / 10 + 5 {
            inst.push(us(took));
            drops.push(us(dropped));
        }
    }
    Ok((inst, drops))
}

pub async fn w5(ctx: &Ctx, res: &mut Results) -> Result<()> {
    let bytes = postgres_component('a')?;
    let tmp = tempfile::tempdir()?;

    // Cold: a fresh cache directory each time.
    for i in 0..ctx.sizes.w5_cold {
        let dir = tmp.path().join(format!("cold{i}"));
        let rt = runtime_with_cache(&dir)?;
        let t = Instant::now();
        rt.load_driver(&bytes, "postgres-a.wasm").await?;
        let took = t.elapsed();
        res.record(
            W,
            "cold load (compile + cache write)",
            "ms",
            Better::Lower,
            "driverbox",
            took.as_secs_f64() * 1e3,
        );
    }
    // Warm: a new runtime over a warm cache (the first cold one's) each time.
    let warm = tmp.path().join("cold0");
    if ctx.sizes.w5_cold == 0 {
        runtime_with_cache(&warm)?
            .load_driver(&bytes, "postgres-a.wasm")
            .await?;
    }
    let mut loads = Vec::new();
    for _ in 0..ctx.sizes.w5_warm {
        let rt = runtime_with_cache(&warm)?;
        let t = Instant::now();
        rt.load_driver(&bytes, "postgres-a.wasm").await?;
        loads.push(t.elapsed().as_secs_f64() * 1e3);
    }
    res.record(
        W,
        "load from cache p50",
        "ms",
        Better::Lower,
        "driverbox",
        median(&loads),
    );
    res.record(
        W,
        "load from cache p99",
        "ms",
        Better::Lower,
        "driverbox",
        percentile(&loads, 99.0),
    );
    if let Err(e) = cache_load_steps(&warm, &bytes, res) {
        res.skip(format!("{W}: load-from-cache breakdown: {e:#}"));
    }

    // Raw instantiation.
    for _ in 0..ctx.rounds.max(1) {
        let (inst, drops) = raw_instantiate(&bytes, ctx.sizes.w5_instantiate).await?;
        res.record(
            W,
            "instantiate p50",
            "µs",
            Better::Lower,
            "driverbox",
            percentile(&inst, 50.0),
        );
        res.record(
            W,
            "instantiate p99",
            "µs",
            Better::Lower,
            "driverbox",
            percentile(&inst, 99.0),
        );
        res.record(
            W,
            "instance drop p50",
            "µs",
            Better::Lower,
            "driverbox",
            percentile(&drops, 50.0),
        );
    }

    connections(ctx, res).await?;
    idle_memory(ctx, res, W, &PG_MEMPROBES).await?;
    Ok(())
}

/// Times the steps `Runtime::load_driver` takes on a cache hit, redone
/// here one by one (median of 10 each): reading the artifact, checking its
/// MAC, hashing the component once (at 38036bb the host hashed it twice:
/// the cache file name and `DriverInfo::content_hash`), deserializing,
/// linking. The rest of a load is the metadata instance (see `instantiate`).
fn cache_load_steps(dir: &std::path::Path, bytes: &[u8], res: &mut Results) -> Result<()> {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let artifact = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .context("no .cwasm in the warm cache")?;
    let key = std::fs::read(dir.join("key"))?;
    let engine = host_like_engine()?;
    let time = |f: &mut dyn FnMut() -> Result<()>| -> Result<f64> {
        let mut v = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            f()?;
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(median(&v))
    };
    let file = std::fs::read(&artifact)?;
    let read = time(&mut || {
        std::hint::black_box(std::fs::read(&artifact)?);
        Ok(())
    })?;
    // The cache's MAC: HMAC-SHA256 (up to 38036bb) or keyed BLAKE3 (after).
    let hmac_ok = || {
        let mut m = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| anyhow::anyhow!("{e}"))?;
        m.update(&file[32..]);
        m.verify_slice(&file[..32])
            .map_err(|_| anyhow::anyhow!("HMAC mismatch"))
    };
    let blake3_ok = || -> Result<()> {
        let key: [u8; 32] = key.as_slice().try_into()?;
        anyhow::ensure!(
            blake3::keyed_hash(&key, &file[32..]).as_bytes()[..] == file[..32],
            "BLAKE3 mismatch"
        );
        Ok(())
    };
    let (scheme, mac) = if hmac_ok().is_ok() {
        ("HMAC-SHA256", time(&mut || hmac_ok())?)
    } else if blake3_ok().is_ok() {
        ("keyed BLAKE3", time(&mut || blake3_ok())?)
    } else {
        anyhow::bail!("the artifact's MAC is neither HMAC-SHA256 nor keyed BLAKE3 with the cache key");
    };
    let hash = time(&mut || {
        std::hint::black_box(Sha256::digest(bytes));
        Ok(())
    })?;
    let mut component = None;
    let deser = time(&mut || {
        // SAFETY: the artifact's HMAC was verified above with the cache key.
        let c = unsafe { Component::deserialize(&engine, &file[32..]) }.map_err(|e| anyhow::anyhow!("{e:#}"))?;
        component = Some(c);
        Ok(())
    })?;
    let component = component.context("deserialized")?;
    let mut linker = Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    linker
        .define_unknown_imports_as_traps(&component)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let link = time(&mut || {
        std::hint::black_box(
            linker
                .instantiate_pre(&component)
                .map_err(|e| anyhow::anyhow!("{e:#}"))?,
        );
        Ok(())
    })?;
    let mib = file.len() as f64 / (1 << 20) as f64;
    res.note(format!(
        "W5: the cached artifact is {mib:.1} MiB; the component {:.1} MiB",
        bytes.len() as f64 / (1 << 20) as f64
    ));
    let mac_step = format!("MAC of the artifact ({scheme})");
    for (step, ms) in [
        ("read artifact file", read),
        (mac_step.as_str(), mac),
        ("SHA-256 of the component, once", hash),
        ("Component::deserialize", deser),
        ("Linker::instantiate_pre", link),
    ] {
        res.record(
            W,
            &format!("cache load step: {step}"),
            "ms",
            Better::Lower,
            "driverbox",
            ms,
        );
    }
    Ok(())
}

/// New connection + first query, driverbox vs peers.
async fn connections(ctx: &Ctx, res: &mut Results) -> Result<()> {
    let iters = ctx.sizes.w5_connections;
    let fresh = PoolConfig {
        max_size: 1,
        max_lifetime: Some(Duration::ZERO),
        ..Default::default()
    };
    let db = ctx.rt.connect_with(&ctx.pg_url, fresh).await?;
    let names = ["driverbox", "tokio-postgres", "sqlx"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let mut lat = Vec::with_capacity(iters);
            for _ in 0..iters {
                let t = Instant::now();
                match c {
                    0 => {
                        db.query("select 1", &[]).await?;
                    }
                    1 => {
                        let client = tp_connect(&ctx.pg_url).await?;
                        client.query("select 1", &[]).await?;
                    }
                    _ => {
                        let mut conn = PgConnection::connect(&ctx.pg_url).await?;
                        sqlx_core::query::query::<sqlx_postgres::Postgres>("select 1")
                            .fetch_one(&mut conn)
                            .await?;
                        conn.close().await?;
                    }
                }
                lat.push(us(t.elapsed()));
            }
            if round > 0 {
                record_startup(res, W, "new connection + first query", names[c], &lat);
            }
        }
    }
    let status = db.pool_status();
    anyhow::ensure!(status.size <= 1, "pool kept connections: {status:?}");
    Ok(())
}

/// Records p50 and p99 of start-up latencies `lat` (µs) as `{what} p50`/`p99`.
pub fn record_startup(res: &mut Results, workload: &str, what: &str, contender: &str, lat: &[f64]) {
    for p in [50.0, 99.0] {
        let metric = format!("{what} p{p}");
        res.record(workload, &metric, "µs", Better::Lower, contender, percentile(lat, p));
    }
}

/// PostgreSQL's memory probes: the name `--memprobe` takes, the contender shown.
const PG_MEMPROBES: [(&str, &str); 3] = [
    ("driverbox", "driverbox"),
    ("tokio-postgres", "tokio-postgres"),
    ("sqlx", "sqlx"),
];

/// RSS growth per idle connection, each measured in a fresh process
/// (`driverbox-bench --memprobe NAME`), so heap freed by earlier workloads
/// cannot absorb the growth. `probes`: the probe's name and the contender
/// it is recorded as, under `workload`.
pub async fn idle_memory(ctx: &Ctx, res: &mut Results, workload: &str, probes: &[(&str, &str)]) -> Result<()> {
    let k = ctx.sizes.w5_idle;
    let names: Vec<&str> = probes.iter().map(|p| p.1).collect();
    let exe = std::env::current_exe()?;
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let out = tokio::process::Command::new(&exe)
                .args([
                    "--memprobe",
                    probes[c].0,
                    "--memprobe-connections",
                    &k.to_string(),
                    "--pg-url",
                    &ctx.pg_url,
                    "--mysql-url",
                    &ctx.mysql_url,
                ])
                .output()
                .await?;
            anyhow::ensure!(
                out.status.success(),
                "memory probe for {} failed: {}",
                probes[c].0,
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let per: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix("rss-per-connection "))
                .and_then(|v| v.trim().parse().ok())
                .with_context(|| format!("memory probe printed {text:?}"))?;
            if round > 0 {
                res.record(
                    workload,
                    "idle connection memory (RSS)",
                    "KiB",
                    Better::Lower,
                    names[c],
                    per / 1024.0,
                );
            }
        }
    }
    Ok(())
}

/// In a fresh process: opens `k` idle connections with `which` and gives
/// the RSS growth per connection, in bytes.
/// `driverbox` probes PostgreSQL, `driverbox-mysql` MySQL; the MySQL peers
/// are in `mysql::memprobe`.
pub async fn memprobe(which: &str, k: usize, pg_url: &str, mysql_url: &str) -> Result<f64> {
    let settle = || tokio::time::sleep(Duration::from_millis(100));
    match which {
        "driverbox" | "driverbox-mysql" => {
            let url = if which == "driverbox" { pg_url } else { mysql_url };
            // The driver loaded (from the artifact cache) and nothing open.
            let rt = Runtime::new()?;
            let probe = rt.connect(url).await?;
            probe.close().await;
            drop(probe);
            settle().await;
            let before = rss_bytes();
            let (pss_before, private_before) = crate::stats::pss_and_private_bytes();
            let mappings = crate::stats::rss_by_mapping();
            let cfg = PoolConfig {
                max_size: k,
                ..Default::default()
            };
            let db = rt.connect_with(url, cfg).await?;
            // Hold k connections at once, then give them back idle.
            let mut held = Vec::new();
            for _ in 0..k {
                held.push(db.transaction(TransactionOptions::default()).await?);
            }
            for tx in held {
                tx.commit().await?;
            }
            settle().await;
            let after = rss_bytes();
            let (pss_after, private_after) = crate::stats::pss_and_private_bytes();
            eprintln!(
                "memprobe: growth per connection: RSS {:.1} KiB, PSS {:.1} KiB, private {:.1} KiB",
                after.saturating_sub(before) as f64 / 1024.0 / k as f64,
                pss_after.saturating_sub(pss_before) as f64 / 1024.0 / k as f64,
                private_after.saturating_sub(private_before) as f64 / 1024.0 / k as f64,
            );
            // Where the growth is (the profile behind the idle-memory figure), on stderr.
            let grown = crate::stats::rss_growth_by_mapping(&mappings, &crate::stats::rss_by_mapping());
            for (name, start, bytes) in grown.iter().take(8) {
                eprintln!(
                    "memprobe: {:>8.1} KiB per connection in {name} at {start:#x}",
                    *bytes as f64 / 1024.0 / k as f64
                );
            }
            // Mappings that grew by the same amount come one per instance
            // (the pooling allocator's slots: linear memory, stacks):
            // grouped, they show what one instance costs.
            let mut groups: std::collections::BTreeMap<(String, u64), u64> = Default::default();
            for (name, _, bytes) in &grown {
                *groups.entry((name.clone(), bytes.div_ceil(4096) * 4)).or_default() += 1;
            }
            let mut groups: Vec<_> = groups.into_iter().collect();
            groups.sort_by_key(|((_, kib), n)| std::cmp::Reverse(kib * n));
            for ((name, kib), n) in groups.iter().take(8) {
                eprintln!(
                    "memprobe: {n:>4} mappings in {name} grew by {kib} KiB each: {:.1} KiB per connection",
                    (kib * n) as f64 / k as f64
                );
            }
            let status = db.pool_status();
            anyhow::ensure!(status.idle == k, "expected {k} idle connections: {status:?}");
            Ok(after.saturating_sub(before) as f64 / k as f64)
        }
        "tokio-postgres" => {
            // One connection first, so code paths and the runtime are warm.
            let first = tp_connect(pg_url).await?;
            first.simple_query("").await?;
            drop(first);
            settle().await;
            let before = rss_bytes();
            let mut clients = Vec::new();
            for _ in 0..k {
                let cl = tp_connect(pg_url).await?;
                cl.simple_query("").await?;
                clients.push(cl);
            }
            settle().await;
            Ok(rss_bytes().saturating_sub(before) as f64 / k as f64)
        }
        "sqlx" => {
            let first = PgConnection::connect(pg_url).await?;
            first.close().await?;
            settle().await;
            let before = rss_bytes();
            let mut conns = Vec::new();
            for _ in 0..k {
                conns.push(PgConnection::connect(pg_url).await?);
            }
            settle().await;
            Ok(rss_bytes().saturating_sub(before) as f64 / k as f64)
        }
        other => crate::mysql::memprobe(other, k, mysql_url).await,
    }
}
