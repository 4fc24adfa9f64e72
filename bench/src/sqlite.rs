//! SQLite workloads: driverbox's SQLite driver (`sqlite:` URLs) against
//! rusqlite (the same bundled SQLite, natively): W1 point select, W3 scan,
//! W4 bulk insert in one transaction. Each contender has its own database
//! file with the same contents.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use driverbox::{
    BulkOperationsDriver, PoolConfig, PreparedStatementDriver, QueryDriver, StreamingDriver, Value, WasmDriver,
};
use futures::StreamExt;

use crate::data::{self, MixedRow};
use crate::pg::{latency_loop, record_latency};
use crate::results::{Better, Results};
use crate::stats::Rng;
use crate::{order, Ctx};

const DDL: &str = "create table bench_kv (id integer primary key, a integer not null, b text not null);
     create table bench_scan (id integer not null, big integer not null, amount numeric, label text,
       ts timestamp not null, flag boolean, uid blob not null, doc json, blob blob);
     create table bench_bulk (id integer not null, big integer not null, amount numeric, label text,
       ts timestamp not null, flag boolean, uid blob not null, doc json, blob blob);";

const SCAN_SQL: &str = "select id, big, amount, label, ts, flag, uid, doc, blob from bench_scan";
const KV_SELECT: &str = "select id, a, b from bench_kv where id = ?1";

/// A mixed row as SQLite holds it: numeric as text, timestamp as ISO text,
/// booleans 0/1, uuid as 16 bytes.
fn sqlite_values(r: &MixedRow) -> Vec<Value> {
    let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
    vec![
        Value::Int(r.id.into()),
        Value::Int(r.big),
        opt(r.amount.map(|d| Value::Decimal(d.to_string()))),
        opt(r.label.clone().map(Value::Text)),
        Value::Text(r.ts.format("%Y-%m-%d %H:%M:%S").to_string()),
        opt(r.flag.map(Value::Boolean)),
        Value::Bytes(r.uid.as_bytes().to_vec()),
        opt(r.doc.as_ref().map(|d| Value::Json(d.get().to_string()))),
        opt(r.blob.clone().map(Value::Bytes)),
    ]
}

fn rusqlite_insert(tx: &rusqlite::Transaction<'_>, table: &str, rows: &[MixedRow]) -> Result<u64> {
    let mut st = tx.prepare_cached(&format!(
        "insert into {table} (id, big, amount, label, ts, flag, uid, doc, blob) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    let mut n = 0;
    for r in rows {
        n += st.execute(rusqlite::params![
            r.id,
            r.big,
            r.amount.map(|d| d.to_string()),
            r.label,
            r.ts.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.flag,
            r.uid.as_bytes().as_slice(),
            r.doc.as_ref().map(|d| d.get()),
            r.blob,
        ])? as u64;
    }
    Ok(n)
}

/// Creates and fills one database file.
fn fill(path: &Path, kv: u64, scan: u64) -> Result<()> {
    let mut db = rusqlite::Connection::open(path)?;
    db.execute_batch(DDL)?;
    let tx = db.transaction()?;
    {
        let mut st = tx.prepare("insert into bench_kv values (?1, ?2, ?3)")?;
        for i in 1..=kv as i64 {
            st.execute(rusqlite::params![i, i * 7, format!("value-{i}")])?;
        }
    }
    let rows: Vec<MixedRow> = (1..=scan).map(data::mixed_row).collect();
    rusqlite_insert(&tx, "bench_scan", &rows)?;
    tx.commit()?;
    Ok(())
}

fn decode_rusqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<u64> {
    let id: i64 = row.get(0)?;
    let big: i64 = row.get(1)?;
    // NUMERIC affinity stores "12.34" as a REAL.
    let amount = match row.get_ref(2)? {
        rusqlite::types::ValueRef::Real(f) => f.to_bits(),
        rusqlite::types::ValueRef::Integer(i) => i as u64,
        rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).map_or(0, |s| s.len() as u64),
        _ => 0,
    };
    let label: Option<String> = row.get(3)?;
    let ts: String = row.get(4)?;
    let ts = chrono::NaiveDateTime::parse_from_str(&ts, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc().timestamp_micros())
        .unwrap_or(0);
    let flag: Option<bool> = row.get(5)?;
    let uid: Vec<u8> = row.get(6)?;
    let doc: Option<String> = row.get(7)?;
    let blob: Option<Vec<u8>> = row.get(8)?;
    Ok(std::hint::black_box(
        id as u64
            + big as u64
            + amount
            + label.map_or(0, |s| s.len() as u64)
            + ts as u64
            + flag.map_or(2, u64::from)
            + uid.len() as u64
            + doc.map_or(0, |d| d.len() as u64)
            + blob.map_or(0, |b| b.len() as u64),
    ))
}

async fn open(ctx: &Ctx, path: &Path) -> Result<WasmDriver> {
    let url = format!("sqlite:{}", path.display());
    let db = ctx
        .rt
        .connect_with(
            &url,
            PoolConfig {
                max_size: 1,
                ..Default::default()
            },
        )
        .await?;
    Ok(db)
}

/// Runs the SQLite workloads that `only` selects, or reports why not.
pub async fn run(ctx: &Ctx, res: &mut Results, w1: bool, w3: bool, w4: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ours, theirs) = (dir.path().join("driverbox.db"), dir.path().join("rusqlite.db"));
    let (kv, scan) = (ctx.sizes.kv_rows, ctx.sizes.scan_rows);
    fill(&ours, kv, scan)?;
    fill(&theirs, kv, scan)?;
    let db = match open(ctx, &ours).await {
        Ok(db) => db,
        Err(e) => {
            res.skip(format!(
                "SQLite workloads: the `sqlite:` driver does not work here: {e}"
            ));
            return Ok(());
        }
    };
    let native = rusqlite::Connection::open(&theirs)?;
    let names = ["driverbox-sqlite", "rusqlite"];

    if w1 {
        const W: &str = "W1 point select (SQLite)";
        let stmt = db.prepare(KV_SELECT).await.context("prepare")?;
        let iters = ctx.sizes.w1_iters;
        for round in 0..=ctx.rounds {
            for c in order(round, &names) {
                let mut rng = Rng::new(0x5EED + round as u64);
                let stats = if c == 0 {
                    latency_loop(iters, async || {
                        let id = rng.key(kv);
                        let r = db.execute_prepared(stmt.id, &[Value::Int(id.into())]).await?;
                        anyhow::ensure!(r.rows[0][1] == Value::Int(id as i64 * 7), "wrong row");
                        Ok(())
                    })
                    .await?
                } else {
                    latency_loop(iters, async || {
                        let id = rng.key(kv);
                        let mut st = native.prepare_cached(KV_SELECT)?;
                        let (a, b): (i64, String) = st.query_row([id], |r| Ok((r.get(1)?, r.get(2)?)))?;
                        std::hint::black_box(b.len());
                        anyhow::ensure!(a == id as i64 * 7, "wrong row");
                        Ok(())
                    })
                    .await?
                };
                if round > 0 {
                    record_latency(res, W, names[c], &stats);
                }
            }
        }
    }

    if w3 {
        const W: &str = "W3 scan (SQLite)";
        for round in 0..=ctx.rounds {
            for c in order(round, &names) {
                let t0 = Instant::now();
                let mut count = 0u64;
                if c == 0 {
                    let mut s = db.stream_query(SCAN_SQL, &[], ctx.batch).await?;
                    while let Some(b) = s.next().await {
                        for row in b? {
                            data::touch_values(&row);
                            count += 1;
                        }
                    }
                } else {
                    let mut st = native.prepare_cached(SCAN_SQL)?;
                    let mut rows = st.query([])?;
                    while let Some(row) = rows.next()? {
                        decode_rusqlite(row)?;
                        count += 1;
                    }
                }
                let secs = t0.elapsed().as_secs_f64();
                anyhow::ensure!(count == scan, "{}: {count} rows", names[c]);
                if round > 0 {
                    res.record(
                        W,
                        "rows per second",
                        "rows/s",
                        Better::Higher,
                        names[c],
                        scan as f64 / secs,
                    );
                }
            }
        }
    }

    if w4 {
        const W: &str = "W4 bulk insert (SQLite)";
        let n = ctx.sizes.bulk_rows;
        let rows: Vec<MixedRow> = (1..=n as u64).map(data::mixed_row).collect();
        let values: Vec<Vec<Value>> = rows.iter().map(sqlite_values).collect();
        let columns: Vec<String> = data::MIXED_COLUMNS.iter().map(|s| s.to_string()).collect();
        let mut native = native;
        for round in 0..=ctx.rounds {
            for c in order(round, &names) {
                let inserted = if c == 0 {
                    db.execute("delete from bench_bulk", &[]).await?;
                    let owned = values.clone();
                    let t0 = Instant::now();
                    let k = db.bulk_insert(None, "bench_bulk", &columns, owned).await?;
                    (k, t0.elapsed())
                } else {
                    native.execute("delete from bench_bulk", [])?;
                    let t0 = Instant::now();
                    let tx = native.transaction()?;
                    let k = rusqlite_insert(&tx, "bench_bulk", &rows)?;
                    tx.commit()?;
                    (k, t0.elapsed())
                };
                anyhow::ensure!(inserted.0 == n as u64, "{}: {} rows inserted", names[c], inserted.0);
                if round > 0 {
                    res.record(
                        W,
                        "rows per second",
                        "rows/s",
                        Better::Higher,
                        names[c],
                        n as f64 / inserted.1.as_secs_f64(),
                    );
                }
            }
        }
    }
    Ok(())
}
