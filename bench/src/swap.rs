//! W6: swapping the PostgreSQL driver under load. 16 tasks query through
//! a pool of 16 while `Runtime::load_driver` swaps two builds of the
//! component (tags `a` and `b`, both already in the artifact cache, so a
//! swap is a cache load). Queries that start inside a window around a swap
//! (from 50 ms before `load_driver` starts to 250 ms after it returns) are
//! compared with the ones away from every swap.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use driverbox::{PoolConfig, QueryDriver, Runtime, Value};

use crate::results::{Better, Results};
use crate::startup::postgres_component;
use crate::stats::{percentile, Rng};
use crate::Ctx;

const W: &str = "W6 swap under load";
const BEFORE: Duration = Duration::from_millis(50);
const AFTER: Duration = Duration::from_millis(250);

struct Sample {
    start: Duration,
    latency_us: f64,
    ok: bool,
}

pub async fn w6(ctx: &Ctx, res: &mut Results) -> Result<()> {
    let builds = [postgres_component('a')?, postgres_component('b')?];
    let rt = Runtime::new()?;
    for b in [&builds[1], &builds[0]] {
        rt.load_driver(b, "postgres-tagged.wasm").await?;
    }
    let clients = ctx.sizes.w2_clients;
    let db = rt
        .connect_with(
            &ctx.pg_url,
            PoolConfig {
                max_size: clients,
                ..Default::default()
            },
        )
        .await?;
    let n = ctx.sizes.kv_rows;
    let kv_select: &'static str = Box::leak(ctx.tables.kv_select().into_boxed_str());
    let mut next = 1;
    for round in 0..=ctx.rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..clients {
            let (db, stop) = (db.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng::new(0xBEEF + t as u64);
                let mut out = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let id = rng.key(n);
                    let s = Instant::now();
                    let r = db.query(kv_select, &[Value::Int(id.into())]).await;
                    let ok = matches!(&r, Ok(r) if r.rows[0][1] == Value::Int(id as i64 * 7));
                    if let Err(e) = &r {
                        eprintln!("  W6 query failed: {e}");
                    }
                    out.push(Sample {
                        start: s - t0,
                        latency_us: s.elapsed().as_secs_f64() * 1e6,
                        ok,
                    });
                }
                out
            }));
        }
        let interval = ctx.sizes.w6_interval;
        let mut windows = Vec::new();
        let mut swap_ms = Vec::new();
        tokio::time::sleep(interval / 2).await;
        for _ in 0..ctx.sizes.w6_swaps {
            let s = t0.elapsed();
            rt.load_driver(&builds[next], "postgres-tagged.wasm").await?;
            next = 1 - next;
            let e = t0.elapsed();
            swap_ms.push((e - s).as_secs_f64() * 1e3);
            windows.push((s.saturating_sub(BEFORE), e + AFTER));
            tokio::time::sleep(interval).await;
        }
        stop.store(true, Ordering::Relaxed);
        let total = t0.elapsed();
        let mut samples = Vec::new();
        for t in tasks {
            samples.extend(t.await?);
        }
        if round == 0 {
            continue;
        }
        let near = |s: &Sample| windows.iter().any(|(a, b)| s.start >= *a && s.start <= *b);
        let (mut lat_near, mut lat_away, mut fail_near, mut fail_away) = (Vec::new(), Vec::new(), 0, 0);
        for s in &samples {
            if near(s) {
                lat_near.push(s.latency_us);
                fail_near += usize::from(!s.ok);
            } else {
                lat_away.push(s.latency_us);
                fail_away += usize::from(!s.ok);
            }
        }
        let window_time = union_length(&windows, total).as_secs_f64();
        let away_time = total.as_secs_f64() - window_time;
        for (who, lat, fails, secs) in [
            ("driverbox near swaps", &lat_near, fail_near, window_time),
            ("driverbox away from swaps", &lat_away, fail_away, away_time),
        ] {
            res.record(W, "p50 latency", "µs", Better::Lower, who, percentile(lat, 50.0));
            res.record(W, "p99 latency", "µs", Better::Lower, who, percentile(lat, 99.0));
            res.record(W, "max latency", "µs", Better::Lower, who, percentile(lat, 100.0));
            res.record(
                W,
                "throughput",
                "queries/s",
                Better::Higher,
                who,
                lat.len() as f64 / secs,
            );
            res.record(W, "failed queries", "count", Better::Lower, who, fails as f64);
        }
        res.record(
            W,
            "swap (load_driver) p50",
            "ms",
            Better::Lower,
            "driverbox",
            percentile(&swap_ms, 50.0),
        );
        res.record(
            W,
            "swaps per round",
            "count",
            Better::Higher,
            "driverbox",
            swap_ms.len() as f64,
        );
    }
    let status = db.pool_status();
    res.note(format!(
        "W6: pool after all rounds: {} retired (swapped-out) connections, {} discarded as broken",
        status.retired, status.discarded
    ));
    Ok(())
}

/// Total time covered by `windows` (which may overlap), within `0..total`.
fn union_length(windows: &[(Duration, Duration)], total: Duration) -> Duration {
    let mut w: Vec<(Duration, Duration)> = windows.iter().map(|(a, b)| (*a, (*b).min(total))).collect();
    w.sort();
    let mut covered = Duration::ZERO;
    let mut end = Duration::ZERO;
    for (a, b) in w {
        let a = a.max(end);
        if b > a {
            covered += b - a;
            end = b;
        }
    }
    covered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_merged_and_clipped() {
        let ms = Duration::from_millis;
        let w = [
            (ms(0), ms(100)),
            (ms(50), ms(150)),
            (ms(300), ms(400)),
            (ms(900), ms(1200)),
        ];
        assert_eq!(union_length(&w, ms(1000)), ms(150 + 100 + 100));
    }
}
