//! PostgreSQL workloads W1–W4: driverbox against tokio-postgres and sqlx,
//! alternating contenders round by round.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use driverbox::{BulkOperationsDriver, PoolConfig, PreparedStatementDriver, QueryDriver, StreamingDriver, Value};
use futures::{StreamExt, TryStreamExt};
use serde_json::value::RawValue;
use sqlx_core::connection::Connection as _;
use sqlx_core::row::Row as _;
use sqlx_postgres::{PgConnection, PgPoolOptions, Postgres};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::NoTls;

use crate::data::{self, MixedRow, MIXED_COLUMNS};
use crate::results::{Better, Results};
use crate::stats::{cpu_time, percentile, us, Rng};
use crate::{order, portable, Ctx};

/// A tokio-postgres client with its connection task running.
pub async fn tp_connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .context("tokio-postgres connect")?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Creates and fills the tables (not timed).
pub async fn setup(ctx: &Ctx) -> Result<()> {
    let c = tp_connect(&ctx.pg_url).await?;
    let kv = ctx.sizes.kv_rows;
    let scan = ctx.sizes.scan_rows;
    let t = &ctx.tables;
    c.batch_execute(&format!(
        "drop table if exists {kvt}, {scant}, {bulkt};
         create table {kvt} (id int4 primary key, a int8 not null, b text not null);
         insert into {kvt} select g, g * 7, 'value-' || g from generate_series(1, {kv}) g;
         create table {scant} {ddl};
         create table {bulkt} {ddl};",
        kvt = t.kv,
        scant = t.scan,
        bulkt = t.bulk,
        ddl = data::MIXED_DDL
    ))
    .await?;
    c.batch_execute(&data::scan_fill_sql(&t.scan, scan)).await?;
    c.batch_execute(&format!("vacuum analyze {}", t.kv)).await?;
    c.batch_execute(&format!("vacuum analyze {}", t.scan)).await?;
    Ok(())
}

pub async fn teardown(ctx: &Ctx) -> Result<()> {
    let c = tp_connect(&ctx.pg_url).await?;
    let t = &ctx.tables;
    c.batch_execute(&format!("drop table if exists {}, {}, {}", t.kv, t.scan, t.bulk))
        .await?;
    Ok(())
}

/// Latencies and CPU of one timed loop.
pub struct LoopStats {
    pub lat_us: Vec<f64>,
    pub cpu: Duration,
    pub wall: Duration,
}

/// Runs `f` `iters` times, timing each call, and the process CPU of the loop.
pub async fn latency_loop(iters: usize, mut f: impl AsyncFnMut() -> Result<()>) -> Result<LoopStats> {
    let mut lat_us = Vec::with_capacity(iters);
    let (cpu0, t0) = (cpu_time(), Instant::now());
    for _ in 0..iters {
        let s = Instant::now();
        f().await?;
        lat_us.push(us(s.elapsed()));
    }
    Ok(LoopStats {
        lat_us,
        cpu: cpu_time() - cpu0,
        wall: t0.elapsed(),
    })
}

/// Records W1's figures of one round.
pub fn record_latency(res: &mut Results, workload: &str, contender: &str, s: &LoopStats) {
    let n = s.lat_us.len() as f64;
    res.record(
        workload,
        "p50 latency",
        "µs",
        Better::Lower,
        contender,
        percentile(&s.lat_us, 50.0),
    );
    res.record(
        workload,
        "p99 latency",
        "µs",
        Better::Lower,
        contender,
        percentile(&s.lat_us, 99.0),
    );
    res.record(
        workload,
        "client CPU per query",
        "µs",
        Better::Lower,
        contender,
        us(s.cpu) / n,
    );
    res.record(
        workload,
        "throughput",
        "queries/s",
        Better::Higher,
        contender,
        n / s.wall.as_secs_f64(),
    );
}

fn kv_check(id: i32, a: i64) -> Result<()> {
    anyhow::ensure!(a == id as i64 * 7, "wrong row for id {id}");
    Ok(())
}

/// W1: point select by primary key with a prepared statement, one connection.
pub async fn w1(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W1 point select";
    let n = ctx.sizes.kv_rows;
    let iters = ctx.sizes.w1_iters;
    let pool1 = PoolConfig {
        max_size: 1,
        ..Default::default()
    };
    let db = ctx.rt.connect_with(&ctx.pg_url, pool1).await?;
    let kv_select = ctx.tables.kv_select();
    let kv_select = kv_select.as_str();
    let stmt = db.prepare(kv_select).await?;
    let tp = tp_connect(&ctx.pg_url).await?;
    let tp_stmt = tp.prepare(kv_select).await?;
    let mut sx = PgConnection::connect(&ctx.pg_url).await?;
    let names = ["driverbox", "tokio-postgres", "sqlx", portable::NAME];
    let mut pc = match &ctx.portable {
        Some(built) if !order(0, &[portable::NAME]).is_empty() => {
            let mut conn = portable::Conn::connect(built, &ctx.rt, &ctx.pg_url).await?;
            let id = conn.prepare(kv_select).await?;
            Some((conn, id))
        }
        _ => None,
    };
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let mut rng = Rng::new(0x5EED + round as u64);
            let stats = match c {
                0 => {
                    latency_loop(iters, async || {
                        let id = rng.key(n);
                        let r = db.execute_prepared(stmt.id, &[Value::Int(id.into())]).await?;
                        let row = &r.rows[0];
                        let (Value::Int(a), Value::Text(b)) = (&row[1], &row[2]) else {
                            anyhow::bail!("types")
                        };
                        std::hint::black_box(b.len());
                        kv_check(id, *a)
                    })
                    .await?
                }
                1 => {
                    latency_loop(iters, async || {
                        let id = rng.key(n);
                        let row = tp.query_one(&tp_stmt, &[&id]).await?;
                        let (_id, a, b): (i32, i64, &str) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                        std::hint::black_box(b.len());
                        kv_check(id, a)
                    })
                    .await?
                }
                2 => {
                    latency_loop(iters, async || {
                        let id = rng.key(n);
                        let row = sqlx_core::query::query::<Postgres>(kv_select)
                            .bind(id)
                            .fetch_one(&mut sx)
                            .await?;
                        let (_id, a, b): (i32, i64, &str) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                        std::hint::black_box(b.len());
                        kv_check(id, a)
                    })
                    .await?
                }
                _ => {
                    let Some((conn, stmt)) = pc.as_mut() else {
                        continue;
                    };
                    let stmt = *stmt;
                    latency_loop(iters, async || {
                        let id = rng.key(n);
                        let rows = conn.execute_prepared_int(stmt, id.into()).await?;
                        let row = &rows[0];
                        let (Value::Int(a), Value::Text(b)) = (&row[1], &row[2]) else {
                            anyhow::bail!("types")
                        };
                        std::hint::black_box(b.len());
                        kv_check(id, *a)
                    })
                    .await?
                }
            };
            if round > 0 {
                record_latency(res, W, names[c], &stats);
            }
        }
    }
    Ok(())
}

/// Runs `clients` tasks calling `f` until `dur` passes; gives queries/s
/// and the process CPU time per query (µs).
pub async fn saturate<F, Fut>(clients: usize, dur: Duration, f: F) -> Result<(f64, f64)>
where
    F: Fn(i32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let f = Arc::new(f);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let (start, cpu0) = (Instant::now(), cpu_time());
    for t in 0..clients {
        let (f, stop, count) = (f.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0xC0FFEE + t as u64);
            while !stop.load(Ordering::Relaxed) {
                f(rng.next() as i32).await?;
                count.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(dur).await;
    stop.store(true, Ordering::Relaxed);
    let done = count.load(Ordering::Relaxed);
    let (elapsed, cpu) = (start.elapsed(), cpu_time() - cpu0);
    for t in tasks {
        t.await??;
    }
    Ok((done as f64 / elapsed.as_secs_f64(), us(cpu) / done.max(1) as f64))
}

/// W2: 16 concurrent clients through a pool of 16, simple indexed select.
pub async fn w2(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W2 16 clients";
    let n = ctx.sizes.kv_rows;
    let clients = ctx.sizes.w2_clients;
    let dur = ctx.sizes.w2_duration;
    let cfg = PoolConfig {
        max_size: clients,
        ..Default::default()
    };
    let db = ctx.rt.connect_with(&ctx.pg_url, cfg).await?;
    let tp_cfg: tokio_postgres::Config = ctx.pg_url.parse()?;
    let mgr = deadpool_postgres::Manager::from_config(
        tp_cfg,
        NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    let tp_pool = deadpool_postgres::Pool::builder(mgr).max_size(clients).build()?;
    let sx_pool = PgPoolOptions::new()
        .max_connections(clients as u32)
        .connect(&ctx.pg_url)
        .await?;
    let kv_select: &'static str = Box::leak(ctx.tables.kv_select().into_boxed_str());
    let names = ["driverbox", "tokio-postgres", "sqlx"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let key = move |r: i32| (r as u32 as u64 % n + 1) as i32;
            let (qps, cpu) = match c {
                0 => {
                    let db = db.clone();
                    saturate(clients, dur, move |r| {
                        let db = db.clone();
                        async move {
                            let id = key(r);
                            let out = db.query(kv_select, &[Value::Int(id.into())]).await?;
                            let Value::Int(a) = out.rows[0][1] else {
                                anyhow::bail!("types")
                            };
                            kv_check(id, a)
                        }
                    })
                    .await?
                }
                1 => {
                    let pool = tp_pool.clone();
                    saturate(clients, dur, move |r| {
                        let pool = pool.clone();
                        async move {
                            let id = key(r);
                            let client = pool.get().await?;
                            let stmt = client.prepare_cached(kv_select).await?;
                            let row = client.query_one(&stmt, &[&id]).await?;
                            kv_check(id, row.try_get(1)?)
                        }
                    })
                    .await?
                }
                _ => {
                    let pool = sx_pool.clone();
                    saturate(clients, dur, move |r| {
                        let pool = pool.clone();
                        async move {
                            let id = key(r);
                            let row = sqlx_core::query::query::<Postgres>(kv_select)
                                .bind(id)
                                .fetch_one(&pool)
                                .await?;
                            kv_check(id, row.try_get(1)?)
                        }
                    })
                    .await?
                }
            };
            if round > 0 {
                res.record(W, "throughput", "queries/s", Better::Higher, names[c], qps);
                res.record(W, "client CPU per query", "µs", Better::Lower, names[c], cpu);
            }
        }
    }
    sx_pool.close().await;
    Ok(())
}

/// Decodes a tokio-postgres row into Rust types.
fn tp_decode(row: &tokio_postgres::Row) -> Result<u64> {
    let doc: Option<Json<Box<RawValue>>> = row.try_get(7)?;
    let row = MixedRow {
        id: row.try_get(0)?,
        big: row.try_get(1)?,
        amount: row.try_get(2)?,
        label: row.try_get(3)?,
        ts: row.try_get(4)?,
        flag: row.try_get(5)?,
        uid: row.try_get(6)?,
        doc: doc.map(|d| d.0),
        blob: row.try_get(8)?,
    };
    Ok(row.checksum())
}

/// Decodes a sqlx row into Rust types.
fn sx_decode(row: &sqlx_postgres::PgRow) -> Result<u64> {
    let doc: Option<sqlx_core::types::Json<Box<RawValue>>> = row.try_get(7)?;
    let row = MixedRow {
        id: row.try_get(0)?,
        big: row.try_get(1)?,
        amount: row.try_get(2)?,
        label: row.try_get(3)?,
        ts: row.try_get(4)?,
        flag: row.try_get(5)?,
        uid: row.try_get(6)?,
        doc: doc.map(|d| d.0),
        blob: row.try_get(8)?,
    };
    Ok(row.checksum())
}

/// A driverbox runtime whose limits let a whole 1M-row result through
/// `query` (the default max-result-bytes is 256 MiB, memory 512 MiB).
pub fn big_result_runtime() -> Result<driverbox::Runtime> {
    let limits = driverbox::Limits {
        max_memory_size: 3 << 30,
        max_result_bytes: 4 << 30,
        max_instances: 4,
        ..Default::default()
    };
    Ok(driverbox::Runtime::builder().limits(limits).build()?)
}

/// W3: scan of the mixed-type table, every value decoded.
pub async fn w3(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W3 scan";
    let rows = ctx.sizes.scan_rows;
    let batch = ctx.batch;
    let pool1 = PoolConfig {
        max_size: 1,
        ..Default::default()
    };
    let db = ctx.rt.connect_with(&ctx.pg_url, pool1.clone()).await?;
    let big_rt = big_result_runtime()?;
    let db_big = big_rt.connect_with(&ctx.pg_url, pool1).await?;
    let mut query_ok = true;
    let scan_sql = format!(
        "select id, big, amount, label, ts, flag, uid, doc, blob from {}",
        ctx.tables.scan
    );
    let scan_sql = scan_sql.as_str();
    let tp = tp_connect(&ctx.pg_url).await?;
    let tp_stmt = tp.prepare(scan_sql).await?;
    let mut sx = PgConnection::connect(&ctx.pg_url).await?;
    let names = [
        "driverbox stream",
        "driverbox query",
        "tokio-postgres",
        "sqlx",
        portable::NAME,
    ];
    let mut pc = match &ctx.portable {
        Some(built) if !order(0, &[portable::NAME]).is_empty() => {
            Some(portable::Conn::connect(built, &ctx.rt, &ctx.pg_url).await?)
        }
        _ => None,
    };
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let t0 = Instant::now();
            let mut count = 0u64;
            match c {
                0 => {
                    let mut s = db.stream_query(scan_sql, &[], batch).await?;
                    while let Some(b) = s.next().await {
                        for row in b? {
                            data::touch_values(&row);
                            count += 1;
                        }
                    }
                }
                1 => {
                    if !query_ok {
                        continue;
                    }
                    match db_big.query(scan_sql, &[]).await {
                        Ok(r) => {
                            for row in &r.rows {
                                data::touch_values(row);
                                count += 1;
                            }
                        }
                        Err(e) => {
                            query_ok = false;
                            res.skip(format!("{W}: driverbox `query` of {rows} rows: {e}"));
                            continue;
                        }
                    }
                }
                2 => {
                    let s = tp
                        .query_raw(&tp_stmt, std::iter::empty::<&(dyn ToSql + Sync)>())
                        .await?;
                    futures::pin_mut!(s);
                    while let Some(row) = s.try_next().await? {
                        tp_decode(&row)?;
                        count += 1;
                    }
                }
                3 => {
                    let mut s = sqlx_core::query::query::<Postgres>(scan_sql).fetch(&mut sx);
                    while let Some(row) = s.try_next().await? {
                        sx_decode(&row)?;
                        count += 1;
                    }
                }
                _ => {
                    let Some(conn) = pc.as_mut() else {
                        continue;
                    };
                    count = conn
                        .stream(scan_sql, batch, |rows| {
                            for row in &rows {
                                data::touch_values(row);
                            }
                        })
                        .await?;
                }
            }
            let secs = t0.elapsed().as_secs_f64();
            anyhow::ensure!(count == rows, "{}: {count} rows, expected {rows}", names[c]);
            if round > 0 {
                res.record(
                    W,
                    "rows per second",
                    "rows/s",
                    Better::Higher,
                    names[c],
                    rows as f64 / secs,
                );
            }
        }
    }
    Ok(())
}

/// W4: bulk insert of mixed-type rows.
pub async fn w4(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W4 bulk insert";
    let n = ctx.sizes.bulk_rows;
    let rows: Vec<MixedRow> = (1..=n as u64).map(data::mixed_row).collect();
    let values: Vec<Vec<Value>> = rows.iter().map(data::to_values).collect();
    let columns: Vec<String> = MIXED_COLUMNS.iter().map(|s| s.to_string()).collect();
    let db = ctx
        .rt
        .connect_with(
            &ctx.pg_url,
            PoolConfig {
                max_size: 1,
                ..Default::default()
            },
        )
        .await?;
    let tp = tp_connect(&ctx.pg_url).await?;
    let mut sx = PgConnection::connect(&ctx.pg_url).await?;
    let copy_cols = MIXED_COLUMNS.join(", ");
    let types = [
        Type::INT4,
        Type::INT8,
        Type::NUMERIC,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::BOOL,
        Type::UUID,
        Type::JSONB,
        Type::BYTEA,
    ];
    let bulk = ctx.tables.bulk.as_str();
    let names = ["driverbox", "tokio-postgres", "sqlx"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            tp.batch_execute(&format!("truncate {bulk}")).await?;
            // Rows in each driver's own form; building them is not timed.
            let owned = if c == 0 { values.clone() } else { Vec::new() };
            let t0 = Instant::now();
            let inserted = match c {
                0 => db.bulk_insert(None, bulk, &columns, owned).await?,
                1 => {
                    let sink = tp
                        .copy_in(&format!("copy {bulk} ({copy_cols}) from stdin binary"))
                        .await?;
                    let writer = BinaryCopyInWriter::new(sink, &types);
                    futures::pin_mut!(writer);
                    for r in &rows {
                        let doc = r.doc.as_ref().map(Json);
                        writer
                            .as_mut()
                            .write(&[
                                &r.id, &r.big, &r.amount, &r.label, &r.ts, &r.flag, &r.uid, &doc, &r.blob,
                            ])
                            .await?;
                    }
                    writer.finish().await?
                }
                _ => {
                    let mut copy = sx.copy_in_raw(&format!("copy {bulk} ({copy_cols}) from stdin")).await?;
                    let mut buf = Vec::with_capacity(1 << 20);
                    for r in &rows {
                        data::copy_text_row(&mut buf, r);
                        if buf.len() >= 512 << 10 {
                            copy.send(std::mem::replace(&mut buf, Vec::with_capacity(1 << 20)))
                                .await?;
                        }
                    }
                    if !buf.is_empty() {
                        copy.send(buf).await?;
                    }
                    copy.finish().await?
                }
            };
            let secs = t0.elapsed().as_secs_f64();
            anyhow::ensure!(
                inserted == n as u64,
                "{}: {inserted} rows inserted, expected {n}",
                names[c]
            );
            if round > 0 {
                res.record(
                    W,
                    "rows per second",
                    "rows/s",
                    Better::Higher,
                    names[c],
                    n as f64 / secs,
                );
            }
        }
    }
    let check = tp
        .query_one(&format!("select count(*), count(doc), count(blob) from {bulk}"), &[])
        .await?;
    let (all, docs): (i64, i64) = (check.get(0), check.get(1));
    // With `--contender` leaving out every PostgreSQL contender, nothing was inserted.
    let inserted_any = !order(0, &names).is_empty();
    anyhow::ensure!(
        !inserted_any || (all == n as i64 && docs > 0),
        "{bulk} holds {all} rows"
    );
    tp.batch_execute(&format!("truncate {bulk}")).await?;
    Ok(())
}
