//! DynamoDB workloads W1–W4: driverbox's DynamoDB driver (through the
//! host's `NoSqlOperations`, as the MongoDB workloads drive theirs) beside
//! the AWS SDK for Rust (`aws-sdk-dynamodb`, only with the bench's `aws`
//! feature: the SDK compiles slowly and CI never builds it), alternating
//! round by round against the same local server.
//!
//! The server: `--dynamodb-endpoint http://HOST:PORT` (tables
//! `bench_<pid>_*` are created on it and deleted at the end), or by default
//! a throwaway moto in server mode (`.venv-dynamodb/bin/moto_server`,
//! installed by `scripts/setup.sh tests`) that the bench starts on a free
//! 127.0.0.1 port (or dynalite, `--dynamodb-server dynalite`) and stops
//! it when it is done; then it also reads the
//! server's CPU time, so every workload reports server CPU per operation
//! beside the client's: moto is Python, and it bounds both contenders.
//!
//! Workloads:
//! - **W1** GetItem by key (strongly consistent), one connection: p50/p99,
//!   client CPU per op. driverbox: `find(table, {id: N}, limit 1)`, which
//!   the driver turns into a GetItem since the filter is the whole key.
//! - **W2** the same from 16 concurrent tasks: driverbox through a pool of
//!   16, the SDK through one `Client` (its hyper pool opens what it needs).
//! - **W3** Scan of the whole item table (`--dynamodb-items`, default
//!   100 000): driverbox `stream_documents` (a lazy Scan, batches of
//!   `--batch`), the SDK's Scan paginator; every item decoded and touched.
//! - **W4** batch write of as many items into an empty table: the SDK
//!   sends BatchWriteItem of 25 and resends unprocessed items; driverbox
//!   calls `insert` (the driver's BatchWriteItem path, 25 per request) with
//!   [`INSERT_CALL`] items per call.
//!
//! Items of W3/W4 ([`mixed_item`]): 11 attributes, ~240 bytes as DynamoDB
//! JSON, every type the driver maps: N (the key, an int64, a decimal),
//! S, S holding a timestamp, BOOL, B (16 bytes twice), M, L, SS and NULLs
//! at strides 5/7/11/13/17. Both contenders write and read the same items.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, Decimal128, Document};
use driverbox::api::nosql::{CursorRequest, FindOptions};
use driverbox::{NoSqlOperations, PoolConfig, WasmDriver};
use futures::StreamExt;

use crate::mongodb::{bytes, decode, kv_check, touch};
use crate::pg::{latency_loop, record_latency, saturate};
use crate::results::{Better, Results};
use crate::server::Server;
use crate::stats::{cpu_time, us, Rng};
use crate::{order, Ctx};

#[cfg(feature = "aws")]
#[path = "dynamodb_aws.rs"]
mod sdk;

/// The contenders, in `order`'s terms.
pub const NAMES: [&str; 2] = ["driverbox-dynamodb", "aws-sdk-dynamodb"];

/// Items per driverbox `insert` call in W4 and in the fills: the driver
/// converts a call's documents before it sends the first BatchWriteItem,
/// so calls are kept well inside the instance's memory limit.
pub const INSERT_CALL: usize = 5_000;

/// The credentials (moto checks no signature, but both clients sign).
pub const ACCESS_KEY: &str = "AKIDDRIVERBOXBENCH";
pub const SECRET_KEY: &str = "dbx-bench/secret+key";
pub const REGION: &str = "us-east-1";

/// The DynamoDB part's command-line options.
#[derive(clap::Args, Debug, Clone)]
pub struct DynamoArgs {
    /// DynamoDB-compatible endpoint to use instead of a throwaway moto
    /// (`http://HOST:PORT`; tables `bench_<pid>_*` are created and deleted).
    #[arg(long, env = "BENCH_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    /// The local server to start when no --dynamodb-endpoint is given:
    /// moto in server mode (Python) or dynalite (Node.js, in memory).
    #[arg(long, value_enum, default_value_t = LocalServer::Moto)]
    pub dynamodb_server: LocalServer,
    /// That server's program (default: `.venv-dynamodb/bin/moto_server`,
    /// `node_modules/.bin/dynalite` of this repository).
    #[arg(long, env = "BENCH_DYNAMODB_SERVER_PROGRAM")]
    pub dynamodb_server_program: Option<PathBuf>,
    /// Items in the DynamoDB scan (W3) and batch write (W4); default
    /// 100 000 (500 with --quick).
    #[arg(long)]
    pub dynamodb_items: Option<u64>,
    /// Skip the DynamoDB workloads.
    #[arg(long)]
    pub no_dynamodb: bool,
}

/// A DynamoDB-compatible server the bench can start.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalServer {
    Moto,
    Dynalite,
}

impl LocalServer {
    fn default_program(self) -> PathBuf {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        match self {
            LocalServer::Moto => root.join(".venv-dynamodb/bin/moto_server"),
            LocalServer::Dynalite => root.join("node_modules/.bin/dynalite"),
        }
    }

    fn args(self, port: u16) -> Vec<OsString> {
        let port = port.to_string();
        let v: Vec<&str> = match self {
            LocalServer::Moto => vec!["-H", "127.0.0.1", "-p", &port],
            // In memory; tables ACTIVE at once, as moto's are.
            LocalServer::Dynalite => vec![
                "--host",
                "127.0.0.1",
                "--port",
                &port,
                "--createTableMs",
                "0",
                "--deleteTableMs",
                "0",
            ],
        };
        v.into_iter().map(OsString::from).collect()
    }
}

/// Sizes of the DynamoDB workloads.
#[derive(Debug, Clone)]
struct Sizes {
    kv_items: u64,
    w1_iters: usize,
    w2_clients: usize,
    w2_duration: Duration,
    items: u64,
}

impl Sizes {
    fn new(ctx: &Ctx, args: &DynamoArgs) -> Sizes {
        let mut s = if ctx.quick {
            Sizes {
                kv_items: 200,
                w1_iters: 50,
                w2_clients: 16,
                w2_duration: Duration::from_millis(200),
                items: 500,
            }
        } else {
            Sizes {
                kv_items: 10_000,
                w1_iters: 1_000,
                w2_clients: 16,
                w2_duration: Duration::from_secs(3),
                items: 100_000,
            }
        };
        if let Some(n) = args.dynamodb_items {
            s.items = n.max(1);
        }
        s
    }
}

/// `http://HOST:PORT[/]` as `(host, port)`.
fn host_port(endpoint: &str) -> Result<(String, u16)> {
    let rest = endpoint
        .strip_prefix("http://")
        .context("the DynamoDB endpoint must be http://HOST:PORT (the bench runs without TLS)")?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').context("the DynamoDB endpoint needs a port")?;
    Ok((host.to_string(), port.parse().context("the DynamoDB endpoint's port")?))
}

/// driverbox's URL of `endpoint`: the same credentials and region as the SDK's.
fn driverbox_url(host: &str, port: u16) -> String {
    let secret = SECRET_KEY.replace('/', "%2F").replace('+', "%2B");
    format!("dynamodb://{ACCESS_KEY}:{secret}@{host}:{port}?region={REGION}&tls=disable")
}

/// Item `i` of W3 and W4 as the BSON document driverbox takes; the SDK
/// gets the same item converted by `sdk::item` with the driver's mapping
/// (Int32/Int64/Decimal128 → N, String → S, Binary → B, Boolean → BOOL,
/// Null → NULL, Document → M, Array → L, `{"$SS": […]}` → SS).
pub fn mixed_item(i: u64) -> Document {
    let mut rng = Rng::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut bytes = || {
        let mut b = rng.next().to_le_bytes().to_vec();
        b.extend_from_slice(&rng.next().to_le_bytes());
        b
    };
    let or_null = |stride: u64, v: Bson| if i.is_multiple_of(stride) { Bson::Null } else { v };
    let cents = i % 100_000;
    let amount: Decimal128 = format!("{}.{:02}", cents / 100, cents % 100)
        .parse()
        .expect("a decimal");
    let secs = 1_704_067_200 + i; // from 2024-01-01T00:00:00Z
    let ts = format!(
        "2024-01-{:02}T{:02}:{:02}:{:02}Z",
        1 + secs / 86_400 % 28,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    );
    let uid = Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes(),
    };
    let blob = Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes(),
    };
    doc! {
        "id": i as i64,
        "big": i as i64 * 1_000_000_007,
        "amount": or_null(17, Bson::Decimal128(amount)),
        "label": or_null(13, Bson::String(format!("label-{i}-abcdefghijklmnopqrstuvwxyz"))),
        "ts": ts,
        "flag": or_null(11, Bson::Boolean(i.is_multiple_of(3))),
        "uid": uid,
        "doc": or_null(7, Bson::Document(doc! {"i": i as i64, "tag": "x", "ok": i.is_multiple_of(2)})),
        "blob": or_null(5, Bson::Binary(blob)),
        "list": [(i as i64 % 10), "two", true],
        "tags": {"$SS": ["a", format!("t{}", i % 7)]},
    }
}

/// Item `i` of the W1/W2 table.
fn kv_item(i: u64) -> Document {
    doc! {"id": i as i64, "a": i as i64 * 7, "b": format!("value-{i}")}
}

/// The tables of this run.
struct Tables {
    kv: String,
    scan: String,
    bulk: String,
}

/// Everything the workloads share.
struct Dynamo<'a> {
    ctx: &'a Ctx,
    sizes: Sizes,
    url: String,
    endpoint: String,
    tables: Tables,
    /// The setup/check connection (not a contender's).
    admin: WasmDriver,
    server: Option<Server>,
    /// Whether the SDK contender is there (built with `--features aws`).
    sdk: bool,
}

impl Dynamo<'_> {
    async fn driverbox(&self, max_size: usize) -> Result<WasmDriver> {
        let pool = PoolConfig {
            max_size,
            ..Default::default()
        };
        self.ctx
            .rt
            .connect_with(&self.url, pool)
            .await
            .context("driverbox: connecting to DynamoDB")
    }

    /// The contenders of `round`, in order; without the SDK only driverbox.
    fn order(&self, round: usize) -> Vec<usize> {
        order(round, &NAMES)
            .into_iter()
            .filter(|&c| c == 0 || self.sdk)
            .collect()
    }

    fn server_cpu(&self) -> Option<Duration> {
        self.server.as_ref().and_then(Server::cpu)
    }

    /// Records the server's CPU per operation of one round, when the bench owns the server.
    fn record_server_cpu(&self, res: &mut Results, w: &str, c: usize, before: Option<Duration>, ops: f64) {
        if let (Some(a), Some(b)) = (before, self.server_cpu()) {
            res.record(
                w,
                "server CPU per op",
                "µs",
                Better::Lower,
                NAMES[c],
                us(b.saturating_sub(a)) / ops,
            );
        }
    }

    /// (Re)creates `table` with the number key `id`, empty.
    async fn create(&self, table: &str) -> Result<()> {
        let _ = self.admin.drop_collection(table).await;
        self.admin
            .create_collection(table, bytes(&doc! {"key": {"id": "N"}})?)
            .await
            .with_context(|| format!("creating table {table}"))
    }

    /// Creates and fills a table (not timed).
    async fn fill(&self, table: &str, n: u64, make: impl Fn(u64) -> Document) -> Result<()> {
        self.create(table).await?;
        let mut i = 1;
        while i <= n {
            let end = (i + INSERT_CALL as u64 - 1).min(n);
            let docs = (i..=end).map(|k| bytes(&make(k))).collect::<Result<Vec<_>>>()?;
            self.admin
                .insert(table, docs, true)
                .await
                .with_context(|| format!("filling {table}"))?;
            i = end + 1;
        }
        Ok(())
    }

    async fn count(&self, table: &str) -> Result<u64> {
        Ok(self.admin.get_collection_count(table, None).await?.count)
    }
}

/// Runs the DynamoDB workloads `want` selects (W1–W4), or reports why not.
pub async fn run(ctx: &Ctx, args: &DynamoArgs, res: &mut Results, want: &dyn Fn(&str) -> bool) -> Result<()> {
    if args.no_dynamodb {
        res.skip("DynamoDB workloads: --no-dynamodb");
        return Ok(());
    }
    let sizes = Sizes::new(ctx, args);
    let (endpoint, server) = match &args.dynamodb_endpoint {
        Some(e) => (e.trim_end_matches('/').to_string(), None),
        None => {
            let kind = args.dynamodb_server;
            let program = args
                .dynamodb_server_program
                .clone()
                .unwrap_or_else(|| kind.default_program());
            if !program.exists() {
                res.skip(format!(
                    "DynamoDB workloads: {} is missing (`scripts/setup.sh tests` installs moto; \
                     or give --dynamodb-server-program or --dynamodb-endpoint)",
                    program.display()
                ));
                return Ok(());
            }
            let s = Server::start(&program, |port, _| kind.args(port))?;
            (format!("http://127.0.0.1:{}", s.port), Some(s))
        }
    };
    let (host, port) = host_port(&endpoint)?;
    let url = driverbox_url(&host, port);
    let sdk = cfg!(feature = "aws");
    if !sdk {
        res.skip("DynamoDB: aws-sdk-dynamodb contender not built (build the bench with --features aws)");
    }
    let admin = ctx
        .rt
        .connect(&url)
        .await
        .context("driverbox: connecting to DynamoDB (setup)")?;
    let p = format!("bench_{}", std::process::id());
    let d = Dynamo {
        ctx,
        sizes,
        url,
        endpoint,
        tables: Tables {
            kv: format!("{p}_kv"),
            scan: format!("{p}_scan"),
            bulk: format!("{p}_bulk"),
        },
        admin,
        server,
        sdk,
    };
    let server_name = match (&d.server, args.dynamodb_server) {
        (Some(_), LocalServer::Moto) => {
            let version = Command::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-dynamodb/bin/python"))
                .args(["-c", "import moto; print(moto.__version__)"])
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "?".into());
            format!("moto {version} in server mode, started by the bench")
        }
        (Some(_), LocalServer::Dynalite) => "dynalite (in memory), started by the bench".to_string(),
        (None, _) => format!("--dynamodb-endpoint {}", d.endpoint),
    };
    res.note(format!(
        "DynamoDB server: {server_name}; sizes: {} kv items, W1 {} GetItems per round, \
         W2 {} clients for {:?}, W3/W4 {} items (~240 bytes each as DynamoDB JSON); stream batch {}",
        d.sizes.kv_items, d.sizes.w1_iters, d.sizes.w2_clients, d.sizes.w2_duration, d.sizes.items, ctx.batch,
    ));
    let outcome = workloads(&d, res, want).await;
    for t in [&d.tables.kv, &d.tables.scan, &d.tables.bulk] {
        let _ = d.admin.drop_collection(t).await;
    }
    drop(d);
    outcome
}

async fn workloads(d: &Dynamo<'_>, res: &mut Results, want: &dyn Fn(&str) -> bool) -> Result<()> {
    #[cfg(feature = "aws")]
    let client = sdk::client(&d.endpoint);
    #[cfg(not(feature = "aws"))]
    let client = ();
    if want("W1") || want("W2") {
        eprintln!("  DynamoDB: filling kv ({} items) ...", d.sizes.kv_items);
        d.fill(&d.tables.kv, d.sizes.kv_items, kv_item).await?;
    }
    type Step = (&'static str, &'static str);
    let steps: [Step; 4] = [
        ("W1", "GetItem, one connection"),
        ("W2", "16 clients"),
        ("W3", "scan"),
        ("W4", "batch write"),
    ];
    for (w, what) in steps {
        if !want(w) {
            continue;
        }
        let t = Instant::now();
        eprintln!("DynamoDB {w}: {what} ...");
        match w {
            "W1" => w1(d, &client, res).await,
            "W2" => w2(d, &client, res).await,
            "W3" => w3(d, &client, res).await,
            _ => w4(d, &client, res).await,
        }
        .with_context(|| format!("DynamoDB {w} failed"))?;
        eprintln!("DynamoDB {w}: done in {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}

#[cfg(feature = "aws")]
type Client = aws_sdk_dynamodb::Client;
#[cfg(not(feature = "aws"))]
type Client = ();

/// The SDK's side of a workload, or an error when it is not built.
macro_rules! sdk_call {
    ($e:expr) => {{
        #[cfg(feature = "aws")]
        {
            $e
        }
        #[cfg(not(feature = "aws"))]
        {
            // An error whose type the call site infers (`bail!` would
            // make the rest of the site unreachable).
            let missing: Result<_> = Err(anyhow::anyhow!("aws-sdk-dynamodb is not built in (--features aws)"));
            missing?
        }
    }};
}

/// W1: GetItem by key, one connection.
async fn w1(d: &Dynamo<'_>, client: &Client, res: &mut Results) -> Result<()> {
    const W: &str = "W1 get-item (DynamoDB)";
    let n = d.sizes.kv_items;
    let db = d.driverbox(1).await?;
    let table = &d.tables.kv;
    let one = FindOptions {
        limit: Some(1),
        ..Default::default()
    };
    let _ = client;
    for round in 0..=d.ctx.rounds {
        for c in d.order(round) {
            let mut rng = Rng::new(0x5EED + round as u64);
            let server0 = d.server_cpu();
            let stats = if c == 0 {
                latency_loop(d.sizes.w1_iters, async || {
                    let id = rng.key(n);
                    let found = db.find(table, bytes(&doc! {"id": id as i64})?, one.clone()).await?;
                    let item = decode(found.first().context("no item")?)?;
                    kv_check(id, &item)
                })
                .await?
            } else {
                sdk_call!(
                    latency_loop(d.sizes.w1_iters, async || {
                        let id = rng.key(n);
                        sdk::get_kv(client, table, id).await
                    })
                    .await?
                )
            };
            if round > 0 {
                record_latency(res, W, NAMES[c], &stats);
                d.record_server_cpu(res, W, c, server0, stats.lat_us.len() as f64);
            }
        }
    }
    Ok(())
}

/// W2: 16 tasks doing GetItem by key, driverbox through a pool of 16.
async fn w2(d: &Dynamo<'_>, client: &Client, res: &mut Results) -> Result<()> {
    const W: &str = "W2 16 clients (DynamoDB)";
    let n = d.sizes.kv_items;
    let clients = d.sizes.w2_clients;
    let db = d.driverbox(clients).await?;
    let key = move |r: i32| (r as u32 as u64 % n + 1) as i32;
    let _ = client;
    for round in 0..=d.ctx.rounds {
        for c in d.order(round) {
            let (server0, t0) = (d.server_cpu(), Instant::now());
            let table = d.tables.kv.clone();
            let (qps, cpu) = if c == 0 {
                let db = db.clone();
                saturate(clients, d.sizes.w2_duration, move |r| {
                    let (db, table) = (db.clone(), table.clone());
                    async move {
                        let id = key(r);
                        let one = FindOptions {
                            limit: Some(1),
                            ..Default::default()
                        };
                        let found = db.find(&table, bytes(&doc! {"id": id as i64})?, one).await?;
                        kv_check(id, &decode(found.first().context("no item")?)?)
                    }
                })
                .await?
            } else {
                sdk_call!({
                    let client = client.clone();
                    saturate(clients, d.sizes.w2_duration, move |r| {
                        let (client, table) = (client.clone(), table.clone());
                        async move { sdk::get_kv(&client, &table, key(r)).await }
                    })
                    .await?
                })
            };
            if round > 0 {
                res.record(W, "throughput", "queries/s", Better::Higher, NAMES[c], qps);
                res.record(W, "client CPU per query", "µs", Better::Lower, NAMES[c], cpu);
                let ops = qps * t0.elapsed().as_secs_f64();
                d.record_server_cpu(res, W, c, server0, ops.max(1.0));
            }
        }
    }
    Ok(())
}

/// Records items/s and client CPU per item of one round.
fn record_items(res: &mut Results, w: &str, c: usize, n: u64, secs: f64, cpu: Duration) {
    res.record(
        w,
        "items per second",
        "items/s",
        Better::Higher,
        NAMES[c],
        n as f64 / secs,
    );
    res.record(
        w,
        "client CPU per item",
        "µs",
        Better::Lower,
        NAMES[c],
        us(cpu) / n as f64,
    );
}

/// W3: scan the whole table, every item decoded and touched.
async fn w3(d: &Dynamo<'_>, client: &Client, res: &mut Results) -> Result<()> {
    const W: &str = "W3 scan (DynamoDB)";
    let n = d.sizes.items;
    let table = &d.tables.scan;
    eprintln!("  DynamoDB: filling scan ({n} items) ...");
    let t = Instant::now();
    d.fill(table, n, mixed_item).await?;
    eprintln!("  DynamoDB: filled in {:.1} s", t.elapsed().as_secs_f64());
    let db = d.driverbox(1).await?;
    let _ = client;
    for round in 0..=d.ctx.rounds {
        for c in d.order(round) {
            let (server0, cpu0, t0) = (d.server_cpu(), cpu_time(), Instant::now());
            let mut count = 0u64;
            if c == 0 {
                let request = CursorRequest::Find {
                    filter: bytes(&doc! {})?,
                    options: FindOptions::default(),
                };
                let mut s = db.stream_documents(table, request, d.ctx.batch).await?;
                while let Some(b) = s.next().await {
                    for raw in b? {
                        touch(&decode(&raw)?);
                        count += 1;
                    }
                }
            } else {
                count = sdk_call!(sdk::scan(client, table).await?);
            }
            let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_time() - cpu0);
            anyhow::ensure!(count == n, "{}: {count} items, expected {n}", NAMES[c]);
            if round > 0 {
                record_items(res, W, c, n, secs, cpu);
                d.record_server_cpu(res, W, c, server0, n as f64);
            }
        }
    }
    d.admin.drop_collection(table).await?;
    Ok(())
}

/// W4: batch write of many items into an empty table.
async fn w4(d: &Dynamo<'_>, client: &Client, res: &mut Results) -> Result<()> {
    const W: &str = "W4 batch write (DynamoDB)";
    let n = d.sizes.items;
    let table = &d.tables.bulk;
    let docs: Vec<Document> = (1..=n).map(mixed_item).collect();
    #[cfg(feature = "aws")]
    let items = if d.sdk {
        docs.iter().map(sdk::item).collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    let db = d.driverbox(1).await?;
    let _ = client;
    for round in 0..=d.ctx.rounds {
        for c in d.order(round) {
            d.create(table).await?;
            let (server0, cpu0, t0) = (d.server_cpu(), cpu_time(), Instant::now());
            let written = if c == 0 {
                let mut written = 0;
                for chunk in docs.chunks(INSERT_CALL) {
                    let raw = chunk.iter().map(bytes).collect::<Result<Vec<_>>>()?;
                    written += db.insert(table, raw, true).await?;
                }
                written
            } else {
                sdk_call!(sdk::batch_write(client, table, &items).await?)
            };
            let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_time() - cpu0);
            anyhow::ensure!(written == n, "{}: {written} written, expected {n}", NAMES[c]);
            let stored = d.count(table).await?;
            anyhow::ensure!(stored == n, "{}: the table holds {stored}, expected {n}", NAMES[c]);
            if round > 0 {
                record_items(res, W, c, n, secs, cpu);
                d.record_server_cpu(res, W, c, server0, n as f64);
            }
        }
    }
    d.admin.drop_collection(table).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_urls() {
        assert_eq!(
            host_port("http://127.0.0.1:8000/").unwrap(),
            ("127.0.0.1".to_string(), 8000)
        );
        assert!(host_port("https://x:1").is_err());
        assert!(host_port("http://x").is_err());
        let u = driverbox_url("h", 1);
        assert!(u.starts_with("dynamodb://AKIDDRIVERBOXBENCH:dbx-bench%2Fsecret%2Bkey@h:1?"));
    }

    #[test]
    fn items_have_every_type_and_nulls() {
        let d = mixed_item(5 * 7 * 11 * 13 * 17);
        for k in ["amount", "label", "flag", "doc", "blob"] {
            assert_eq!(d.get(k), Some(&Bson::Null), "{k}");
        }
        let d = mixed_item(1234);
        assert_eq!(d.len(), 11);
        assert_eq!(d.get("amount"), Some(&Bson::Decimal128("12.34".parse().unwrap())));
        assert!(matches!(d.get("uid"), Some(Bson::Binary(b)) if b.bytes.len() == 16));
        assert_eq!(decode(&bytes(&d).unwrap()).unwrap(), d);
        assert!(touch(&d) > 0);
    }
}
