//! Cancellation: the future of a transaction, a stream, a bulk insert or
//! a prepared statement is dropped at successive points of its run (from
//! before its first await to after its last). Afterwards no half-written
//! data is visible, no session stays open in a transaction, and the pool
//! works.

use std::future::Future;
use std::time::Duration;

use driverbox::{
    BulkOperationsDriver, PoolConfig, PreparedStatementDriver, QueryDriver, StreamingDriver, TransactionOptions, Value,
    WasmDriver,
};
use driverbox_tests::{runtime, PG_URL};
use futures::StreamExt;

/// Points (in microseconds after the start) at which the future is dropped:
/// dense at first, where the awaits are, then sparser.
fn drop_points() -> impl Iterator<Item = Duration> {
    (0..12)
        .map(|i| 150 * i)
        .chain((1..10).map(|i| 2_000 * i))
        .chain([30_000, 60_000, 120_000])
        .map(Duration::from_micros)
}

/// Runs `work` and drops it after `after`; whether it finished first.
async fn drop_after<F: Future>(after: Duration, work: F) -> bool {
    tokio::select! {
        biased;
        _ = work => true,
        _ = tokio::time::sleep(after) => false,
    }
}

async fn db(app: &str) -> WasmDriver {
    runtime()
        .connect_with(
            &format!("{PG_URL}&application_name={app}"),
            PoolConfig {
                max_size: 3,
                ..PoolConfig::default()
            },
        )
        .await
        .unwrap()
}

async fn table(db: &WasmDriver, name: &str) {
    db.execute(&format!("drop table if exists {name}"), &[]).await.unwrap();
    db.execute(&format!("create table {name} (id int, note text)"), &[])
        .await
        .unwrap();
}

async fn count(db: &WasmDriver, sql: &str) -> i64 {
    match db.query(sql, &[]).await.unwrap().rows[0][0] {
        Value::Int(n) => n,
        ref other => panic!("count gave {other:?}"),
    }
}

/// No session of `app` stays idle in a transaction (background roll-backs
/// may take a moment), and the pool serves a query.
async fn settled(db: &WasmDriver, app: &str) {
    let sql = format!(
        "select count(*) from pg_stat_activity where application_name = '{app}' \
         and state like 'idle in transaction%'"
    );
    let checker = runtime().connect(PG_URL).await.unwrap();
    for _ in 0..100 {
        if count(&checker, &sql).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count(&checker, &sql).await, 0, "a session stayed in a transaction");
    let r = db.query("select 7", &[]).await.expect("the pool works");
    assert_eq!(r.rows[0][0], Value::Int(7));
    let status = db.pool_status();
    assert!(status.size <= status.max, "{status:?}");
}

#[tokio::test]
async fn a_dropped_transaction_is_all_or_nothing() {
    let app = "dbx_cancel_tx";
    let db = db(app).await;
    table(&db, "dbx_cancel_tx").await;
    for (i, after) in drop_points().enumerate() {
        let id = i as i64;
        let work = async {
            let mut tx = db.transaction(TransactionOptions::default()).await?;
            tx.execute("insert into dbx_cancel_tx values ($1, 'a')", &[Value::Int(id)])
                .await?;
            tx.execute("insert into dbx_cancel_tx values ($1, 'b')", &[Value::Int(id)])
                .await?;
            tx.commit().await
        };
        let finished = drop_after(after, work).await;
        settled(&db, app).await;
        let n = count(&db, &format!("select count(*) from dbx_cancel_tx where id = {id}")).await;
        assert!(n == 0 || n == 2, "after {after:?}: {n} of 2 rows visible");
        if finished {
            assert_eq!(n, 2, "a finished transaction committed");
        }
    }
}

#[tokio::test]
async fn a_dropped_bulk_insert_is_all_or_nothing() {
    let app = "dbx_cancel_bulk";
    let db = db(app).await;
    table(&db, "dbx_cancel_bulk").await;
    for (i, after) in drop_points().enumerate() {
        let id = i as i64;
        let rows: Vec<Vec<Value>> = (0..3000)
            .map(|_| vec![Value::Int(id), Value::Text("x".into())])
            .collect();
        let columns = ["id".to_string(), "note".to_string()];
        let work = db.bulk_insert(None, "dbx_cancel_bulk", &columns, rows);
        let finished = drop_after(after, work).await;
        settled(&db, app).await;
        let n = count(&db, &format!("select count(*) from dbx_cancel_bulk where id = {id}")).await;
        assert!(n == 0 || n == 3000, "after {after:?}: {n} of 3000 rows visible");
        if finished {
            assert_eq!(n, 3000);
        }
    }
}

#[tokio::test]
async fn a_dropped_stream_leaves_the_connection_clean() {
    let app = "dbx_cancel_stream";
    let db = db(app).await;
    for after in drop_points() {
        let work = async {
            let mut s = db
                .stream_query("select g from generate_series(1, 20000) g", &[], 500)
                .await?;
            let mut seen = 0;
            while let Some(batch) = s.next().await {
                seen += batch?.len();
            }
            Ok::<_, driverbox::Error>(seen)
        };
        drop_after(after, work).await;
        settled(&db, app).await;
        // Every connection of the pool gives whole, fresh results.
        for _ in 0..3 {
            let r = db
                .query("select count(*) from generate_series(1, 1234)", &[])
                .await
                .unwrap();
            assert_eq!(r.rows[0][0], Value::Int(1234));
        }
    }
}

#[tokio::test]
async fn a_dropped_prepared_statement_leaves_the_pool_usable() {
    let app = "dbx_cancel_prep";
    let db = db(app).await;
    table(&db, "dbx_cancel_prep").await;
    for (i, after) in drop_points().enumerate() {
        let id = i as i64;
        let work = async {
            let stmt = db.prepare("insert into dbx_cancel_prep values ($1, $2)").await?;
            db.execute_prepared(stmt.id, &[Value::Int(id), Value::Text("p".into())])
                .await?;
            let q = db.prepare("select count(*) from dbx_cancel_prep where id = $1").await?;
            db.execute_prepared(q.id, &[Value::Int(id)]).await
        };
        drop_after(after, work).await;
        settled(&db, app).await;
        let n = count(&db, &format!("select count(*) from dbx_cancel_prep where id = {id}")).await;
        assert!(n <= 1, "after {after:?}: {n} rows");
        // Statements prepared after the drop work on every connection.
        let stmt = db.prepare("select $1::int + 1").await.unwrap();
        for _ in 0..3 {
            let r = db.execute_prepared(stmt.id, &[Value::Int(id)]).await.unwrap();
            assert_eq!(r.rows[0][0], Value::Int(id + 1));
        }
    }
}
