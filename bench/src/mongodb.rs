//! MongoDB workloads W1–W5: driverbox's MongoDB driver (through the host's
//! `NoSqlOperations`) beside the `mongodb` crate (3.x, rustls, bson 3),
//! alternating round by round as the PostgreSQL workloads do.
//!
//! The server: `--mongodb-url URL` (a database `driverbox_bench_<pid>` is
//! created on it and dropped at the end), or by default a throwaway
//! SecantusDB (`.venv-mongo/bin/secantusd-py`, installed by
//! `scripts/setup.sh tests`) that the bench starts on a free 127.0.0.1 port
//! with its data in a temporary directory and stops when it is done. With
//! its own server the bench also reads the server process's CPU time
//! (`/proc/PID/stat`), so every workload reports server CPU beside client
//! CPU: a Python server bounds both contenders' throughput.
//!
//! Both contenders decode every document fully into a `bson::Document`
//! with the same function (`bson::deserialize_from_slice`, which the
//! `mongodb` crate's cursor calls), and both serialise their inputs
//! (filters, inserted documents) inside the timed part.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, DateTime, Document};
use driverbox::api::nosql::{CursorRequest, FindOptions};
use driverbox::{NoSqlOperations, PoolConfig, WasmDriver};
use futures::{StreamExt, TryStreamExt};

use crate::pg::{latency_loop, record_latency, saturate};
use crate::results::{Better, Results};
use crate::server::Server;
use crate::stats::{cpu_time, us, Rng};
use crate::{order, Ctx};

/// The contenders, in `order`'s terms.
const NAMES: [&str; 2] = ["driverbox-mongodb", "mongodb"];

/// Documents per driverbox `insert` call in W4: the server's
/// `maxWriteBatchSize`, the same split the `mongodb` crate makes.
const INSERT_CALL: usize = 100_000;

/// The MongoDB part's command-line options.
#[derive(clap::Args, Debug, Clone)]
pub struct MongoArgs {
    /// MongoDB server to use instead of a throwaway SecantusDB (a database
    /// `driverbox_bench_<pid>` is created on it and dropped at the end).
    #[arg(long, env = "BENCH_MONGODB_URL")]
    pub mongodb_url: Option<String>,
    /// SecantusDB server program to start when no --mongodb-url is given
    /// (default: `.venv-mongo/bin/secantusd-py` of this repository).
    #[arg(long, env = "BENCH_SECANTUSD")]
    pub secantusd: Option<PathBuf>,
    /// Documents in the MongoDB scan (W3) and insertMany (W4); default
    /// 1 000 000 (3 000 with --quick).
    #[arg(long)]
    pub mongodb_docs: Option<u64>,
    /// Skip the MongoDB workloads.
    #[arg(long)]
    pub no_mongodb: bool,
}

/// Sizes of the MongoDB workloads.
#[derive(Debug, Clone)]
struct Sizes {
    kv_docs: u64,
    w1_iters: usize,
    w2_clients: usize,
    w2_duration: Duration,
    docs: u64,
    w5_connections: usize,
}

impl Sizes {
    fn new(ctx: &Ctx, args: &MongoArgs) -> Sizes {
        let mut s = if ctx.quick {
            Sizes {
                kv_docs: 1_000,
                w1_iters: 200,
                w2_clients: 16,
                w2_duration: Duration::from_millis(200),
                docs: 3_000,
                w5_connections: 5,
            }
        } else {
            Sizes {
                kv_docs: 100_000,
                w1_iters: 5_000,
                w2_clients: 16,
                w2_duration: Duration::from_secs(3),
                docs: 1_000_000,
                w5_connections: 100,
            }
        };
        if let Some(n) = args.mongodb_docs {
            s.docs = n.max(1);
        }
        s
    }
}

/// `url` with its database (the path) set to `db`, options kept.
fn with_database(url: &str, db: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").context("the MongoDB URL has no scheme")? + 3;
    let hosts_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..hosts_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// Document `i` of W3 and W4: mixed types, ~200 bytes, a null in every
/// nullable field at a different stride (as the PostgreSQL rows have).
pub fn mixed_doc(i: u64) -> Document {
    const BASE_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
    let mut rng = Rng::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut bytes = || {
        let mut b = rng.next().to_le_bytes().to_vec();
        b.extend_from_slice(&rng.next().to_le_bytes());
        b
    };
    let or_null = |stride: u64, v: Bson| if i.is_multiple_of(stride) { Bson::Null } else { v };
    let uid = Binary {
        subtype: BinarySubtype::Uuid,
        bytes: bytes(),
    };
    let blob = Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes(),
    };
    doc! {
        "_id": i as i32,
        "big": i as i64 * 1_000_003,
        "amount": or_null(17, Bson::Double((i % 100_000) as f64 / 100.0)),
        "label": or_null(13, Bson::String(format!("label-{i}-abcdefghijklmnopqrstuvwxyz"))),
        "ts": DateTime::from_millis(BASE_MS + i as i64 * 1000),
        "flag": or_null(11, Bson::Boolean(i.is_multiple_of(3))),
        "uid": uid,
        "doc": or_null(7, Bson::Document(doc! {"i": i as i64, "tag": "x", "ok": i.is_multiple_of(2)})),
        "blob": or_null(5, Bson::Binary(blob)),
    }
}

/// Touches every value of a decoded document, so decoding is not optimised away.
pub(crate) fn touch(d: &Document) -> u64 {
    let mut sum = 0u64;
    for (k, v) in d {
        sum = sum.wrapping_add(k.len() as u64).wrapping_add(match v {
            Bson::Int32(n) => *n as u64,
            Bson::Int64(n) => *n as u64,
            Bson::Double(f) => f.to_bits(),
            Bson::String(s) => s.len() as u64,
            Bson::Boolean(b) => *b as u64,
            Bson::DateTime(t) => t.timestamp_millis() as u64,
            Bson::Binary(b) => b.bytes.len() as u64,
            Bson::Document(d) => touch(d),
            _ => 1,
        });
    }
    std::hint::black_box(sum)
}

fn int_of(d: &Document, key: &str) -> Option<i64> {
    match d.get(key)? {
        Bson::Int32(n) => Some(*n as i64),
        Bson::Int64(n) => Some(*n),
        _ => None,
    }
}

/// Whether `d` is the kv row of `id` (`a` = 7 × id, `b` a string).
pub(crate) fn kv_check(id: i32, d: &Document) -> Result<()> {
    anyhow::ensure!(
        int_of(d, "a") == Some(id as i64 * 7) && matches!(d.get("b"), Some(Bson::String(_))),
        "wrong document or item for key {id}: {d}"
    );
    Ok(())
}

pub(crate) fn decode(raw: &[u8]) -> Result<Document> {
    bson::deserialize_from_slice::<Document>(raw).context("decoding a BSON document")
}

pub(crate) fn bytes(d: &Document) -> Result<Vec<u8>> {
    d.to_vec().context("encoding a BSON document")
}

/// Everything the workloads share.
struct Mongo<'a> {
    ctx: &'a Ctx,
    sizes: Sizes,
    url: String,
    options: ::mongodb::options::ClientOptions,
    db_name: String,
    /// The setup/check client of the `mongodb` crate (not a contender's).
    admin: ::mongodb::Database,
    server: Option<Server>,
}

type Coll = ::mongodb::Collection<Document>;

impl Mongo<'_> {
    fn client(&self, max_pool: u32) -> Result<::mongodb::Client> {
        let mut o = self.options.clone();
        o.max_pool_size = Some(max_pool);
        ::mongodb::Client::with_options(o).context("mongodb crate: client")
    }

    fn coll(client: &::mongodb::Client, db: &str, name: &str) -> Coll {
        client.database(db).collection(name)
    }

    async fn driverbox(&self, max_size: usize) -> Result<WasmDriver> {
        let pool = PoolConfig {
            max_size,
            ..Default::default()
        };
        self.ctx
            .rt
            .connect_with(&self.url, pool)
            .await
            .context("driverbox: connecting to MongoDB")
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

    /// Fills a collection (not timed), in insertMany calls of 100 000.
    async fn fill(&self, name: &str, n: u64, make: impl Fn(u64) -> Document) -> Result<()> {
        let coll: Coll = self.admin.collection(name);
        coll.drop().await.with_context(|| format!("dropping {name}"))?;
        let mut i = 1;
        while i <= n {
            let end = (i + INSERT_CALL as u64 - 1).min(n);
            let docs: Vec<Document> = (i..=end).map(&make).collect();
            coll.insert_many(&docs)
                .await
                .with_context(|| format!("filling {name}"))?;
            i = end + 1;
        }
        Ok(())
    }
}

/// Runs the MongoDB workloads `want` selects (W1–W5), or reports why not.
pub async fn run(ctx: &Ctx, args: &MongoArgs, res: &mut Results, want: &dyn Fn(&str) -> bool) -> Result<()> {
    if args.no_mongodb {
        res.skip("MongoDB workloads: --no-mongodb");
        return Ok(());
    }
    let sizes = Sizes::new(ctx, args);
    let (base_url, server) = match &args.mongodb_url {
        Some(u) => (u.clone(), None),
        None => {
            let program = args
                .secantusd
                .clone()
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-mongo/bin/secantusd-py"));
            if !program.exists() {
                res.skip(format!(
                    "MongoDB workloads: {} is missing (`scripts/setup.sh tests` installs SecantusDB; \
                     or give --mongodb-url)",
                    program.display()
                ));
                return Ok(());
            }
            let s = Server::start(&program, |port, dir| {
                let port = port.to_string();
                let mut args: Vec<OsString> =
                    ["--host", "127.0.0.1", "--port", &port, "--standalone", "--storage-path"]
                        .map(OsString::from)
                        .into();
                args.push(dir.join("data").into());
                args
            })?;
            (format!("mongodb://127.0.0.1:{}/", s.port), Some(s))
        }
    };
    let db_name = format!("driverbox_bench_{}", std::process::id());
    let url = with_database(&base_url, &db_name)?;
    let options = ::mongodb::options::ClientOptions::parse(&url)
        .await
        .context("mongodb crate: parsing the URL")?;
    let admin_client = ::mongodb::Client::with_options(options.clone()).context("mongodb crate: client")?;
    let admin = admin_client.database(&db_name);
    let m = Mongo {
        ctx,
        sizes,
        url,
        options,
        db_name,
        admin,
        server,
    };
    let info = m
        .admin
        .run_command(doc! {"buildInfo": 1})
        .await
        .context("MongoDB server: buildInfo")?;
    res.note(format!(
        "MongoDB server: {} version {} ({}); sizes: {} kv documents, W1 {} finds per round, \
         W2 {} clients for {:?}, W3/W4 {} documents, W5 {} connections per round; stream batch {}",
        if m.server.is_some() {
            "SecantusDB started by the bench"
        } else {
            "--mongodb-url"
        },
        info.get_str("version").unwrap_or("?"),
        info.get_str("gitVersion").unwrap_or("?"),
        m.sizes.kv_docs,
        m.sizes.w1_iters,
        m.sizes.w2_clients,
        m.sizes.w2_duration,
        m.sizes.docs,
        m.sizes.w5_connections,
        ctx.batch,
    ));
    let outcome = workloads(&m, res, want).await;
    let dropped = m.admin.drop().await;
    admin_client.shutdown().await;
    drop(m);
    outcome?;
    dropped.context("dropping the bench database")?;
    Ok(())
}

async fn workloads(m: &Mongo<'_>, res: &mut Results, want: &dyn Fn(&str) -> bool) -> Result<()> {
    if want("W1") || want("W2") {
        eprintln!("  MongoDB: filling kv ({} documents) ...", m.sizes.kv_docs);
        m.fill("kv", m.sizes.kv_docs, |i| {
            doc! {"_id": i as i32, "a": i as i64 * 7, "b": format!("value-{i}")}
        })
        .await?;
    }
    type Step = (&'static str, &'static str);
    let steps: [Step; 5] = [
        ("W1", "find by _id, one connection"),
        ("W2", "16 clients"),
        ("W3", "scan"),
        ("W4", "insertMany"),
        ("W5", "new connection + first command"),
    ];
    for (w, what) in steps {
        if !want(w) {
            continue;
        }
        let t = Instant::now();
        eprintln!("MongoDB {w}: {what} ...");
        match w {
            "W1" => w1(m, res).await,
            "W2" => w2(m, res).await,
            "W3" => w3(m, res).await,
            "W4" => w4(m, res).await,
            _ => w5(m, res).await,
        }
        .with_context(|| format!("MongoDB {w} failed"))?;
        eprintln!("MongoDB {w}: done in {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}

/// W1: find one document by `_id`, one connection.
async fn w1(m: &Mongo<'_>, res: &mut Results) -> Result<()> {
    const W: &str = "W1 find by _id (MongoDB)";
    let n = m.sizes.kv_docs;
    let db = m.driverbox(1).await?;
    let client = m.client(1)?;
    let coll = Mongo::coll(&client, &m.db_name, "kv");
    let one = FindOptions {
        limit: Some(1),
        ..Default::default()
    };
    for round in 0..=m.ctx.rounds {
        for c in order(round, &NAMES) {
            let mut rng = Rng::new(0x5EED + round as u64);
            let server0 = m.server_cpu();
            let stats = if c == 0 {
                latency_loop(m.sizes.w1_iters, async || {
                    let id = rng.key(n);
                    let found = db.find("kv", bytes(&doc! {"_id": id})?, one.clone()).await?;
                    let d = decode(found.first().context("no document")?)?;
                    kv_check(id, &d)
                })
                .await?
            } else {
                latency_loop(m.sizes.w1_iters, async || {
                    let id = rng.key(n);
                    let d = coll.find_one(doc! {"_id": id}).await?.context("no document")?;
                    kv_check(id, &d)
                })
                .await?
            };
            if round > 0 {
                record_latency(res, W, NAMES[c], &stats);
                m.record_server_cpu(res, W, c, server0, stats.lat_us.len() as f64);
            }
        }
    }
    client.shutdown().await;
    Ok(())
}

/// W2: 16 tasks finding by `_id` through a pool of 16.
async fn w2(m: &Mongo<'_>, res: &mut Results) -> Result<()> {
    const W: &str = "W2 16 clients (MongoDB)";
    let n = m.sizes.kv_docs;
    let clients = m.sizes.w2_clients;
    let db = m.driverbox(clients).await?;
    let client = m.client(clients as u32)?;
    let coll = Mongo::coll(&client, &m.db_name, "kv");
    let key = move |r: i32| (r as u32 as u64 % n + 1) as i32;
    for round in 0..=m.ctx.rounds {
        for c in order(round, &NAMES) {
            let (server0, t0) = (m.server_cpu(), Instant::now());
            let (qps, cpu) = if c == 0 {
                let db = db.clone();
                saturate(clients, m.sizes.w2_duration, move |r| {
                    let db = db.clone();
                    async move {
                        let id = key(r);
                        let one = FindOptions {
                            limit: Some(1),
                            ..Default::default()
                        };
                        let found = db.find("kv", bytes(&doc! {"_id": id})?, one).await?;
                        kv_check(id, &decode(found.first().context("no document")?)?)
                    }
                })
                .await?
            } else {
                let coll = coll.clone();
                saturate(clients, m.sizes.w2_duration, move |r| {
                    let coll = coll.clone();
                    async move {
                        let id = key(r);
                        let d = coll.find_one(doc! {"_id": id}).await?.context("no document")?;
                        kv_check(id, &d)
                    }
                })
                .await?
            };
            if round > 0 {
                res.record(W, "throughput", "queries/s", Better::Higher, NAMES[c], qps);
                res.record(W, "client CPU per query", "µs", Better::Lower, NAMES[c], cpu);
                let ops = qps * t0.elapsed().as_secs_f64();
                m.record_server_cpu(res, W, c, server0, ops.max(1.0));
            }
        }
    }
    client.shutdown().await;
    Ok(())
}

/// Records rows/s and client CPU per document of one round.
fn record_docs(res: &mut Results, w: &str, c: usize, n: u64, secs: f64, cpu: Duration) {
    res.record(
        w,
        "documents per second",
        "docs/s",
        Better::Higher,
        NAMES[c],
        n as f64 / secs,
    );
    res.record(
        w,
        "client CPU per document",
        "µs",
        Better::Lower,
        NAMES[c],
        us(cpu) / n as f64,
    );
}

/// W3: scan the whole collection, every document decoded.
async fn w3(m: &Mongo<'_>, res: &mut Results) -> Result<()> {
    const W: &str = "W3 scan (MongoDB)";
    let n = m.sizes.docs;
    let batch = m.ctx.batch;
    eprintln!("  MongoDB: filling scan ({n} documents) ...");
    m.fill("scan", n, mixed_doc).await?;
    let db = m.driverbox(1).await?;
    let client = m.client(1)?;
    let coll = Mongo::coll(&client, &m.db_name, "scan");
    let everything = bytes(&doc! {})?;
    for round in 0..=m.ctx.rounds {
        for c in order(round, &NAMES) {
            let (server0, cpu0, t0) = (m.server_cpu(), cpu_time(), Instant::now());
            let mut count = 0u64;
            if c == 0 {
                let request = CursorRequest::Find {
                    filter: everything.clone(),
                    options: FindOptions::default(),
                };
                let mut s = db.stream_documents("scan", request, batch).await?;
                while let Some(b) = s.next().await {
                    for raw in b? {
                        touch(&decode(&raw)?);
                        count += 1;
                    }
                }
            } else {
                let mut cur = coll.find(doc! {}).batch_size(batch).await?;
                while let Some(d) = cur.try_next().await? {
                    touch(&d);
                    count += 1;
                }
            }
            let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_time() - cpu0);
            anyhow::ensure!(count == n, "{}: {count} documents, expected {n}", NAMES[c]);
            if round > 0 {
                record_docs(res, W, c, n, secs, cpu);
                m.record_server_cpu(res, W, c, server0, n as f64);
            }
        }
    }
    client.shutdown().await;
    m.admin.collection::<Document>("scan").drop().await?;
    Ok(())
}

/// W4: insert many documents, ordered, into an empty collection.
async fn w4(m: &Mongo<'_>, res: &mut Results) -> Result<()> {
    const W: &str = "W4 insertMany (MongoDB)";
    let n = m.sizes.docs;
    let docs: Vec<Document> = (1..=n).map(mixed_doc).collect();
    let db = m.driverbox(1).await?;
    let client = m.client(1)?;
    let coll = Mongo::coll(&client, &m.db_name, "bulk");
    let check: Coll = m.admin.collection("bulk");
    for round in 0..=m.ctx.rounds {
        for c in order(round, &NAMES) {
            check.drop().await.context("dropping bulk")?;
            let (server0, cpu0, t0) = (m.server_cpu(), cpu_time(), Instant::now());
            let inserted = if c == 0 {
                let mut inserted = 0;
                for chunk in docs.chunks(INSERT_CALL) {
                    let raw = chunk.iter().map(bytes).collect::<Result<Vec<_>>>()?;
                    inserted += db.insert("bulk", raw, true).await?;
                }
                inserted
            } else {
                coll.insert_many(&docs).await?.inserted_ids.len() as u64
            };
            let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_time() - cpu0);
            anyhow::ensure!(inserted == n, "{}: {inserted} inserted, expected {n}", NAMES[c]);
            let stored = check.count_documents(doc! {}).await?;
            anyhow::ensure!(stored == n, "{}: the collection holds {stored}, expected {n}", NAMES[c]);
            if round > 0 {
                record_docs(res, W, c, n, secs, cpu);
                m.record_server_cpu(res, W, c, server0, n as f64);
            }
        }
    }
    client.shutdown().await;
    check.drop().await?;
    Ok(())
}

/// W5: a new connection and its first command (`ping`). driverbox: a pool
/// whose `max_lifetime` is zero, so every call instantiates the driver,
/// connects and handshakes (`hello`); the `mongodb` crate: a new `Client`
/// from the parsed options (parsing is outside the timing, as driverbox's
/// is) and its first command — its monitor connection and the pooled
/// connection both handshake. `Client::shutdown` is outside the timing.
async fn w5(m: &Mongo<'_>, res: &mut Results) -> Result<()> {
    const W: &str = "W5 start-up (MongoDB)";
    let iters = m.sizes.w5_connections;
    let fresh = PoolConfig {
        max_size: 1,
        max_lifetime: Some(Duration::ZERO),
        ..Default::default()
    };
    let db = m
        .ctx
        .rt
        .connect_with(&m.url, fresh)
        .await
        .context("driverbox: connecting to MongoDB")?;
    let ping = bytes(&doc! {"ping": 1})?;
    for round in 0..=m.ctx.rounds {
        for c in order(round, &NAMES) {
            let mut lat = Vec::with_capacity(iters);
            for _ in 0..iters {
                if c == 0 {
                    let t = Instant::now();
                    db.run_command(None, ping.clone()).await?;
                    lat.push(us(t.elapsed()));
                } else {
                    let t = Instant::now();
                    let client = ::mongodb::Client::with_options(m.options.clone())?;
                    client.database(&m.db_name).run_command(doc! {"ping": 1}).await?;
                    lat.push(us(t.elapsed()));
                    client.shutdown().await;
                }
            }
            if round > 0 {
                crate::startup::record_startup(res, W, "new connection + first command", NAMES[c], &lat);
            }
        }
    }
    let status = db.pool_status();
    anyhow::ensure!(status.size <= 1, "pool kept connections: {status:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_gets_the_database() {
        let f = |u| with_database(u, "b").unwrap();
        assert_eq!(f("mongodb://h:1"), "mongodb://h:1/b");
        assert_eq!(f("mongodb://h:1/"), "mongodb://h:1/b");
        assert_eq!(
            f("mongodb://u:p@h:1,g:2/a?tls=true"),
            "mongodb://u:p@h:1,g:2/b?tls=true"
        );
        assert_eq!(f("mongodb://h/?x=1"), "mongodb://h/b?x=1");
    }

    #[test]
    fn documents_have_every_type_and_nulls() {
        let d = mixed_doc(5 * 7 * 11 * 13 * 17);
        for k in ["amount", "label", "flag", "doc", "blob"] {
            assert_eq!(d.get(k), Some(&Bson::Null), "{k}");
        }
        let d = mixed_doc(1);
        assert_eq!(d.len(), 9);
        assert!(matches!(d.get("uid"), Some(Bson::Binary(b)) if b.bytes.len() == 16));
        assert_eq!(decode(&bytes(&d).unwrap()).unwrap(), d);
        assert!(touch(&d) > 0);
        assert!(crate::server::process_cpu(std::process::id()).is_some());
    }
}
