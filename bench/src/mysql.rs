//! MySQL/MariaDB workloads W1–W5: driverbox's MySQL driver (`mysql://`
//! URLs) against mysql_async and sqlx-mysql, alternating contenders round
//! by round, over TCP to the same server.
//!
//! Tables (`bench_<pid>_{kv,scan,bulk}` in the URL's database):
//! `kv` (id INT primary key, a BIGINT, b VARCHAR) and the mixed-type table
//! of W3/W4: INT, BIGINT, DECIMAL(12,2), VARCHAR(64), DATETIME(6), BOOL
//! (TINYINT(1)), BINARY(16) holding a UUID, JSON (MariaDB: LONGTEXT with a
//! JSON check), BLOB, with NULLs at the same strides as PostgreSQL's.
//!
//! What each contender does:
//! - W1: driverbox `prepare` + `execute_prepared`; mysql_async `prep` +
//!   `exec_first` into `(i32, i64, String)`; sqlx `query().bind().fetch_one`
//!   (its statement cache). All three: COM_STMT_EXECUTE, binary rows.
//! - W2: 16 tasks through a pool of 16: driverbox `query(sql, [id])`
//!   (the guest's statement cache), mysql_async `Pool` + `exec_first`
//!   (its per-connection statement cache), sqlx `MySqlPool` + `fetch_one`.
//! - W3: the whole table, every value decoded into a Rust value:
//!   driverbox `stream_query` (no parameters: the text protocol, as
//!   `COM_QUERY`), mysql_async `query_iter` (text protocol) and `exec_iter`
//!   (binary protocol, prepared), sqlx `query().fetch` (binary protocol,
//!   prepared: sqlx prepares every `query()`).
//! - W4: one transaction of multi-row INSERTs of [`ROWS_PER_INSERT`] rows
//!   (65 535 placeholders / 9 columns, ~1 MiB, under the 16 MiB
//!   `max_allowed_packet`), each a prepared statement executed with the
//!   binary protocol: driverbox's `bulk_insert` does exactly that in the
//!   guest; mysql_async `prep` + `exec_drop` with the row values as
//!   `Params::Positional`; sqlx `QueryBuilder::push_values` + `execute`.
//! - W5: a new connection + `select 1` (+ close for the peers), and the
//!   idle-connection memory of each in a fresh process.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::NaiveDateTime;
use driverbox::{BulkOperationsDriver, PoolConfig, PreparedStatementDriver, QueryDriver, StreamingDriver, Value};
use futures::{StreamExt, TryStreamExt};
use mysql_async::prelude::Queryable;
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use sqlx_core::connection::Connection as _;
use sqlx_core::row::Row as _;
use sqlx_mysql::{MySql, MySqlConnection, MySqlPoolOptions};
use uuid::Uuid;

use crate::data::{self, MixedRow, MIXED_COLUMNS};
use crate::pg::{latency_loop, record_latency, saturate};
use crate::results::{Better, Results};
use crate::stats::{us, Rng};
use crate::{order, Ctx};

/// Rows per multi-row INSERT in W4 for every contender: as many as 65 535
/// placeholders allow with 9 columns (the guest's own limit too).
pub const ROWS_PER_INSERT: usize = 65_535 / 9;

const MIXED_DDL: &str = "(id int not null, big bigint not null, amount decimal(12,2), label varchar(64), \
     ts datetime(6) not null, flag bool, uid binary(16) not null, doc json, `blob` blob)";

/// The mixed table's columns for MySQL's SQL (`blob` is a reserved word).
fn column_list() -> String {
    MIXED_COLUMNS
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kv_select(ctx: &Ctx) -> String {
    format!("select id, a, b from {} where id = ?", ctx.tables.kv)
}

fn scan_select(ctx: &Ctx) -> String {
    format!("select {} from {}", column_list(), ctx.tables.scan)
}

/// mysql_async options from the URL: over TCP like the others (by default
/// mysql_async reconnects through the server's Unix socket when the server
/// is local).
fn my_opts(url: &str) -> Result<mysql_async::Opts> {
    let opts = mysql_async::Opts::from_url(url).context("mysql_async: parsing the MySQL URL")?;
    Ok(mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false).into())
}

async fn my_connect(url: &str) -> Result<mysql_async::Conn> {
    mysql_async::Conn::new(my_opts(url)?)
        .await
        .context("mysql_async connect")
}

async fn sx_connect(url: &str) -> Result<MySqlConnection> {
    MySqlConnection::connect(url).await.context("sqlx-mysql connect")
}

/// The server's version string (for the machine description).
pub async fn server_version(url: &str) -> String {
    async {
        let mut c = my_connect(url).await?;
        let v: Option<String> = c.query_first("select version()").await?;
        c.disconnect().await?;
        anyhow::Ok(v.unwrap_or_default())
    }
    .await
    .unwrap_or_else(|e| format!("unreachable: {e:#}"))
}

/// Creates and fills the tables (not timed).
async fn setup(ctx: &Ctx) -> Result<()> {
    let mut c = my_connect(&ctx.mysql_url).await?;
    let t = &ctx.tables;
    let (kv, scan) = (ctx.sizes.kv_rows, ctx.sizes.scan_rows);
    for sql in [
        format!("drop table if exists {}, {}, {}", t.kv, t.scan, t.bulk),
        format!(
            "create table {} (id int primary key, a bigint not null, b varchar(32) not null)",
            t.kv
        ),
        format!(
            "insert into {} select seq, seq * 7, concat('value-', seq) from seq_1_to_{kv}",
            t.kv
        ),
        format!("create table {} {MIXED_DDL}", t.scan),
        format!("create table {} {MIXED_DDL}", t.bulk),
        // The rows of `data::mixed_row`'s shape, server-side (MariaDB's
        // sequence engine), with the same NULL strides as PostgreSQL's table.
        format!(
            "insert into {} select seq, seq * 1000003, \
               if(seq % 17 = 0, null, (seq % 100000) / 100.0), \
               if(seq % 13 = 0, null, concat('label-', seq, '-abcdefghijklmnopqrstuvwxyz')), \
               timestamp '2024-01-01 00:00:00' + interval seq second, \
               if(seq % 11 = 0, null, seq % 3 = 0), \
               unhex(md5(seq)), \
               if(seq % 7 = 0, null, json_object('i', seq, 'tag', 'x', 'ok', seq % 2 = 0)), \
               if(seq % 5 = 0, null, unhex(md5(seq))) \
             from seq_1_to_{scan}",
            t.scan
        ),
        format!("analyze table {}, {}", t.kv, t.scan),
    ] {
        c.query_drop(&sql)
            .await
            .with_context(|| format!("MySQL set-up: {}", sql.split(" select").next().unwrap_or(&sql)))?;
    }
    c.disconnect().await?;
    Ok(())
}

async fn teardown(ctx: &Ctx) -> Result<()> {
    let mut c = my_connect(&ctx.mysql_url).await?;
    let t = &ctx.tables;
    c.query_drop(format!("drop table if exists {}, {}, {}", t.kv, t.scan, t.bulk))
        .await?;
    c.disconnect().await?;
    Ok(())
}

/// Which MySQL workloads to run.
pub struct Want {
    pub w1: bool,
    pub w2: bool,
    pub w3: bool,
    pub w4: bool,
    pub w5: bool,
}

/// Creates the tables, runs the workloads `want` selects, drops the tables.
pub async fn run(ctx: &Ctx, res: &mut Results, want: Want) -> Result<()> {
    setup(ctx)
        .await
        .with_context(|| "creating the MySQL bench_* tables (is MariaDB running? --no-mysql skips it)")?;
    let outcome = async {
        let steps: [(bool, &str); 5] = [
            (want.w1, "W1"),
            (want.w2, "W2"),
            (want.w3, "W3"),
            (want.w4, "W4"),
            (want.w5, "W5"),
        ];
        for (on, w) in steps {
            if !on {
                continue;
            }
            let t = Instant::now();
            eprintln!("MySQL {w} ...");
            let r = match w {
                "W1" => w1(ctx, res).await,
                "W2" => w2(ctx, res).await,
                "W3" => w3(ctx, res).await,
                "W4" => w4(ctx, res).await,
                _ => w5(ctx, res).await,
            };
            r.with_context(|| format!("MySQL {w} failed"))?;
            eprintln!("MySQL {w}: done in {:.1} s", t.elapsed().as_secs_f64());
        }
        anyhow::Ok(())
    }
    .await;
    let dropped = teardown(ctx).await;
    outcome?;
    dropped.context("dropping the MySQL bench_* tables")
}

fn kv_check(id: i32, a: i64) -> Result<()> {
    anyhow::ensure!(a == id as i64 * 7, "wrong row for id {id}");
    Ok(())
}

fn pool(max_size: usize) -> PoolConfig {
    PoolConfig {
        max_size,
        ..Default::default()
    }
}

/// W1: point select by primary key with a prepared statement, one connection.
async fn w1(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W1 point select (MySQL)";
    let n = ctx.sizes.kv_rows;
    let iters = ctx.sizes.w1_iters;
    let sql = kv_select(ctx);
    let sql = sql.as_str();
    let db = ctx.rt.connect_with(&ctx.mysql_url, pool(1)).await?;
    let stmt = db.prepare(sql).await.context("driverbox prepare")?;
    let mut my = my_connect(&ctx.mysql_url).await?;
    let my_stmt = my.prep(sql).await.context("mysql_async prep")?;
    let mut sx = sx_connect(&ctx.mysql_url).await?;
    let names = ["driverbox", "mysql_async", "sqlx-mysql"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let mut rng = Rng::new(0x5EED + round as u64);
            let stats = match c {
                0 => {
                    latency_loop(iters, async || {
                        let id = rng.key(n);
                        let r = db.execute_prepared(stmt.id, &[Value::Int(id.into())]).await?;
                        let row = r.rows.first().context("no row")?;
                        let (Value::Int(a), Value::Text(b)) = (&row[1], &row[2]) else {
                            anyhow::bail!("types: {row:?}")
                        };
                        std::hint::black_box(b.len());
                        kv_check(id, *a)
                    })
                    .await?
                }
                1 => {
                    latency_loop(iters, async || {
                        let id = rng.key(n);
                        let (_id, a, b): (i32, i64, String) =
                            my.exec_first(&my_stmt, (id,)).await?.context("no row")?;
                        std::hint::black_box(b.len());
                        kv_check(id, a)
                    })
                    .await?
                }
                _ => {
                    latency_loop(iters, async || {
                        let id = rng.key(n);
                        let row = sqlx_core::query::query::<MySql>(sql)
                            .bind(id)
                            .fetch_one(&mut sx)
                            .await?;
                        let (_id, a, b): (i32, i64, &str) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                        std::hint::black_box(b.len());
                        kv_check(id, a)
                    })
                    .await?
                }
            };
            if round > 0 {
                record_latency(res, W, names[c], &stats);
            }
        }
    }
    my.disconnect().await?;
    sx.close().await?;
    Ok(())
}

/// W2: 16 concurrent clients through a pool of 16, point select.
async fn w2(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W2 16 clients (MySQL)";
    let n = ctx.sizes.kv_rows;
    let clients = ctx.sizes.w2_clients;
    let dur = ctx.sizes.w2_duration;
    let db = ctx.rt.connect_with(&ctx.mysql_url, pool(clients)).await?;
    let constraints = mysql_async::PoolConstraints::new(0, clients).context("pool constraints")?;
    let my_pool = mysql_async::Pool::new(
        mysql_async::OptsBuilder::from_opts(my_opts(&ctx.mysql_url)?)
            .pool_opts(mysql_async::PoolOpts::default().with_constraints(constraints)),
    );
    let sx_pool = MySqlPoolOptions::new()
        .max_connections(clients as u32)
        .connect(&ctx.mysql_url)
        .await
        .context("sqlx-mysql pool")?;
    let sql: &'static str = Box::leak(kv_select(ctx).into_boxed_str());
    let names = ["driverbox", "mysql_async", "sqlx-mysql"];
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
                            let out = db.query(sql, &[Value::Int(id.into())]).await?;
                            let Some(Value::Int(a)) = out.rows.first().map(|r| &r[1]) else {
                                anyhow::bail!("types")
                            };
                            kv_check(id, *a)
                        }
                    })
                    .await?
                }
                1 => {
                    let pool = my_pool.clone();
                    saturate(clients, dur, move |r| {
                        let pool = pool.clone();
                        async move {
                            let id = key(r);
                            let mut conn = pool.get_conn().await?;
                            let (_id, a, _b): (i32, i64, String) =
                                conn.exec_first(sql, (id,)).await?.context("no row")?;
                            kv_check(id, a)
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
                            let row = sqlx_core::query::query::<MySql>(sql).bind(id).fetch_one(&pool).await?;
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
    my_pool.disconnect().await?;
    Ok(())
}

/// A mixed row as the MySQL peers decode it.
type MyTuple = (
    i32,
    i64,
    Option<Decimal>,
    Option<String>,
    NaiveDateTime,
    Option<bool>,
    Uuid,
    Option<String>,
    Option<Vec<u8>>,
);

/// Touches every field so decoding is not optimised away.
fn checksum(r: &MyTuple) -> u64 {
    std::hint::black_box(
        r.0 as u64
            + r.1 as u64
            + r.2.map_or(0, |d| d.scale() as u64)
            + r.3.as_ref().map_or(0, |s| s.len() as u64)
            + r.4.and_utc().timestamp() as u64
            + r.5.map_or(2, u64::from)
            + r.6.as_u64_pair().0
            + r.7.as_ref().map_or(0, |s| s.len() as u64)
            + r.8.as_ref().map_or(0, |b| b.len() as u64),
    )
}

fn my_decode(row: mysql_async::Row) -> Result<u64> {
    let t: MyTuple = mysql_async::from_row_opt(row).map_err(|e| anyhow::anyhow!("mysql_async row: {e}"))?;
    Ok(checksum(&t))
}

fn sx_decode(row: &sqlx_mysql::MySqlRow) -> Result<u64> {
    let t: MyTuple = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
        row.try_get(6)?,
        // MariaDB's JSON is LONGTEXT in utf8mb4_bin: sqlx refuses `String`
        // for a binary-collated column, so bytes + the same UTF-8 check.
        row.try_get::<Option<Vec<u8>>, _>(7)?
            .map(String::from_utf8)
            .transpose()?,
        row.try_get(8)?,
    );
    Ok(checksum(&t))
}

/// W3: scan of the mixed-type table, every value decoded.
async fn w3(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W3 scan (MySQL)";
    let rows = ctx.sizes.scan_rows;
    let sql = scan_select(ctx);
    let sql = sql.as_str();
    let db = ctx.rt.connect_with(&ctx.mysql_url, pool(1)).await?;
    let mut my = my_connect(&ctx.mysql_url).await?;
    let my_stmt = my.prep(sql).await.context("mysql_async prep")?;
    let mut sx = sx_connect(&ctx.mysql_url).await?;
    let names = ["driverbox stream", "mysql_async", "mysql_async binary", "sqlx-mysql"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let t0 = Instant::now();
            let mut count = 0u64;
            match c {
                0 => {
                    let mut s = db.stream_query(sql, &[], ctx.batch).await?;
                    while let Some(b) = s.next().await {
                        for row in b? {
                            data::touch_values(&row);
                            count += 1;
                        }
                    }
                }
                1 => {
                    let mut r = my.query_iter(sql).await?;
                    while let Some(row) = r.next().await? {
                        my_decode(row)?;
                        count += 1;
                    }
                }
                2 => {
                    let mut r = my.exec_iter(&my_stmt, ()).await?;
                    while let Some(row) = r.next().await? {
                        my_decode(row)?;
                        count += 1;
                    }
                }
                _ => {
                    let mut s = sqlx_core::query::query::<MySql>(sql).fetch(&mut sx);
                    while let Some(row) = s.try_next().await? {
                        sx_decode(&row)?;
                        count += 1;
                    }
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
    my.disconnect().await?;
    sx.close().await?;
    Ok(())
}

/// A mixed row as driverbox values for MySQL's columns: the timestamp as a
/// DATETIME, the UUID as its 16 bytes (the column is BINARY(16)).
pub fn mysql_values(r: &MixedRow) -> Vec<Value> {
    let mut v = data::to_values(r);
    v[4] = Value::Timestamp(r.ts.timestamp_micros());
    v[6] = Value::Bytes(r.uid.as_bytes().to_vec());
    v
}

fn my_params(rows: &[MixedRow]) -> mysql_async::Params {
    use mysql_async::Value as V;
    let mut p = Vec::with_capacity(rows.len() * MIXED_COLUMNS.len());
    for r in rows {
        p.push(V::from(r.id));
        p.push(V::from(r.big));
        p.push(V::from(r.amount));
        p.push(V::from(r.label.as_deref()));
        p.push(V::from(r.ts.naive_utc()));
        p.push(V::from(r.flag));
        p.push(V::from(r.uid));
        p.push(V::from(r.doc.as_deref().map(RawValue::get)));
        p.push(V::from(r.blob.as_deref()));
    }
    mysql_async::Params::Positional(p)
}

fn insert_sql(table: &str, rows: usize) -> String {
    let one = format!("({})", vec!["?"; MIXED_COLUMNS.len()].join(", "));
    format!(
        "insert into {table} ({}) values {}",
        column_list(),
        vec![one; rows].join(", ")
    )
}

/// W4: bulk insert of mixed-type rows, one transaction, multi-row INSERTs.
async fn w4(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W4 bulk insert (MySQL)";
    let n = ctx.sizes.bulk_rows;
    let rows: Vec<MixedRow> = (1..=n as u64).map(data::mixed_row).collect();
    let values: Vec<Vec<Value>> = rows.iter().map(mysql_values).collect();
    let columns: Vec<String> = MIXED_COLUMNS.iter().map(|s| s.to_string()).collect();
    let db = ctx.rt.connect_with(&ctx.mysql_url, pool(1)).await?;
    let mut my = my_connect(&ctx.mysql_url).await?;
    let mut sx = sx_connect(&ctx.mysql_url).await?;
    let bulk = ctx.tables.bulk.as_str();
    let head = format!("insert into {bulk} ({}) ", column_list());
    let names = ["driverbox", "mysql_async", "sqlx-mysql"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            my.query_drop(format!("truncate table {bulk}")).await?;
            // Rows in driverbox's own form; building them is not timed.
            let owned = if c == 0 { values.clone() } else { Vec::new() };
            let t0 = Instant::now();
            let inserted = match c {
                0 => db.bulk_insert(None, bulk, &columns, owned).await?,
                1 => {
                    let mut tx = my.start_transaction(mysql_async::TxOpts::default()).await?;
                    let mut stmts: Vec<(usize, mysql_async::Statement)> = Vec::new();
                    let mut total = 0;
                    for chunk in rows.chunks(ROWS_PER_INSERT) {
                        let stmt = match stmts.iter().find(|(k, _)| *k == chunk.len()) {
                            Some((_, s)) => s.clone(),
                            None => {
                                let s = tx.prep(insert_sql(bulk, chunk.len())).await?;
                                stmts.push((chunk.len(), s.clone()));
                                s
                            }
                        };
                        tx.exec_drop(&stmt, my_params(chunk)).await?;
                        total += tx.affected_rows();
                    }
                    tx.commit().await?;
                    for (_, s) in stmts {
                        my.close(s).await?;
                    }
                    total
                }
                _ => {
                    let mut tx = sx.begin().await?;
                    let mut total = 0;
                    for chunk in rows.chunks(ROWS_PER_INSERT) {
                        let mut qb = sqlx_core::query_builder::QueryBuilder::<MySql>::new(&head);
                        qb.push_values(chunk, |mut b, r| {
                            b.push_bind(r.id)
                                .push_bind(r.big)
                                .push_bind(r.amount)
                                .push_bind(r.label.as_deref())
                                .push_bind(r.ts.naive_utc())
                                .push_bind(r.flag)
                                .push_bind(r.uid)
                                .push_bind(r.doc.as_deref().map(RawValue::get))
                                .push_bind(r.blob.as_deref());
                        });
                        total += qb.build().execute(&mut *tx).await?.rows_affected();
                    }
                    tx.commit().await?;
                    total
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
    let check: Option<(i64, i64, i64)> = my
        .query_first(format!("select count(*), count(doc), count(`blob`) from {bulk}"))
        .await?;
    let (all, docs, _) = check.context("no count")?;
    let inserted_any = !order(0, &names).is_empty();
    anyhow::ensure!(
        !inserted_any || (all == n as i64 && docs > 0),
        "{bulk} holds {all} rows"
    );
    my.query_drop(format!("truncate table {bulk}")).await?;
    my.disconnect().await?;
    sx.close().await?;
    Ok(())
}

/// W5: new connection + first query, and idle-connection memory.
async fn w5(ctx: &Ctx, res: &mut Results) -> Result<()> {
    const W: &str = "W5 start-up (MySQL)";
    let iters = ctx.sizes.w5_connections;
    let fresh = PoolConfig {
        max_size: 1,
        max_lifetime: Some(Duration::ZERO),
        ..Default::default()
    };
    let db = ctx.rt.connect_with(&ctx.mysql_url, fresh).await?;
    let opts = my_opts(&ctx.mysql_url)?;
    let names = ["driverbox", "mysql_async", "sqlx-mysql"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let mut lat = Vec::with_capacity(iters);
            for _ in 0..iters {
                let t = Instant::now();
                match c {
                    0 => {
                        let r = db.query("select 1", &[]).await?;
                        anyhow::ensure!(r.rows.len() == 1, "select 1 gave {} rows", r.rows.len());
                    }
                    1 => {
                        let mut conn = mysql_async::Conn::new(opts.clone()).await?;
                        let one: Option<i64> = conn.query_first("select 1").await?;
                        anyhow::ensure!(one == Some(1), "select 1 gave {one:?}");
                        conn.disconnect().await?;
                    }
                    _ => {
                        let mut conn = sx_connect(&ctx.mysql_url).await?;
                        let row = sqlx_core::query::query::<MySql>("select 1")
                            .fetch_one(&mut conn)
                            .await?;
                        let one: i64 = row.try_get(0)?;
                        anyhow::ensure!(one == 1, "select 1 gave {one}");
                        conn.close().await?;
                    }
                }
                lat.push(us(t.elapsed()));
            }
            if round > 0 {
                crate::startup::record_startup(res, W, "new connection + first query", names[c], &lat);
            }
        }
    }
    let status = db.pool_status();
    anyhow::ensure!(status.size <= 1, "pool kept connections: {status:?}");
    crate::startup::idle_memory(ctx, res, W, &MEMPROBES).await
}

/// The contender names W5's memory probe knows for MySQL, with the name
/// shown in the results.
pub const MEMPROBES: [(&str, &str); 3] = [
    ("driverbox-mysql", "driverbox"),
    ("mysql_async", "mysql_async"),
    ("sqlx-mysql", "sqlx-mysql"),
];

/// In a fresh process: opens `k` idle connections with a MySQL peer and
/// gives the RSS growth per connection, in bytes (driverbox's own probe is
/// `startup::memprobe` over the MySQL URL).
pub async fn memprobe(which: &str, k: usize, url: &str) -> Result<f64> {
    let settle = || tokio::time::sleep(Duration::from_millis(100));
    use crate::stats::rss_bytes;
    match which {
        "mysql_async" => {
            let mut first = my_connect(url).await?;
            first.ping().await?;
            first.disconnect().await?;
            settle().await;
            let before = rss_bytes();
            let mut conns = Vec::new();
            for _ in 0..k {
                let mut c = my_connect(url).await?;
                c.ping().await?;
                conns.push(c);
            }
            settle().await;
            Ok(rss_bytes().saturating_sub(before) as f64 / k as f64)
        }
        "sqlx-mysql" => {
            let first = sx_connect(url).await?;
            first.close().await?;
            settle().await;
            let before = rss_bytes();
            let mut conns = Vec::new();
            for _ in 0..k {
                conns.push(sx_connect(url).await?);
            }
            settle().await;
            Ok(rss_bytes().saturating_sub(before) as f64 / k as f64)
        }
        other => anyhow::bail!("no MySQL memory probe for {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statements_fit_the_protocol() {
        let sql = insert_sql("t", 2);
        assert_eq!(sql.matches('?').count(), 18);
        assert!(sql.ends_with("(?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
        assert!(ROWS_PER_INSERT * MIXED_COLUMNS.len() <= 65_535);
        let v = mysql_values(&data::mixed_row(3));
        assert_eq!(v.len(), MIXED_COLUMNS.len());
        assert!(matches!(&v[6], Value::Bytes(b) if b.len() == 16));
        assert!(matches!(v[4], Value::Timestamp(_)));
    }
}
