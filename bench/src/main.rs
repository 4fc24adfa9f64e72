//! driverbox-bench: driverbox side by side with native drivers.
//!
//! Every workload runs driverbox and its native peers in the same process
//! and the same run, alternating them round by round (the order rotates
//! each round), after a warm-up round that is not recorded. The report
//! gives the median of the rounds for each contender and driverbox ÷ peer.
//!
//! ```text
//! driverbox-bench [--quick] [--rounds N] [--only W1,W3] [--out DIR] [--batch N]
//!                 [--db postgres,sqlite,mysql,mongodb] [--pg-url URL] [--mysql-url URL]
//!                 [--mongodb-url URL] [--mongodb-docs N]
//!                 [--dynamodb-endpoint URL] [--dynamodb-items N]
//! ```
//!
//! The databases run in that order: PostgreSQL (W1–W6 against
//! tokio-postgres and sqlx; W1 and W3 also with the portable driver in a
//! plain `wasmtime-wasi` embedding, `driverbox portable`), SQLite (W1/W3/W4 against rusqlite), MySQL/MariaDB
//! (W1–W5 against mysql_async and sqlx-mysql), MongoDB (W1–W5 against the
//! mongodb crate, on a throwaway SecantusDB unless `--mongodb-url`),
//! DynamoDB (W1–W4 against aws-sdk-dynamodb when built with `--features
//! aws`, on a throwaway moto server unless `--dynamodb-endpoint`).

mod arrow;
mod chart;
mod data;
mod dynamodb;
mod mongodb;
mod mysql;
mod pg;
mod portable;
mod results;
mod server;
mod sqlite;
mod startup;
mod stats;
mod swap;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use serde::Serialize;

use results::Results;

/// driverbox side by side with tokio-postgres, sqlx, rusqlite, mysql_async, sqlx-mysql, the mongodb crate and aws-sdk-dynamodb.
#[derive(Parser, Debug, Clone)]
#[command(name = "driverbox-bench")]
struct Args {
    /// Tiny sizes and one round: runs in seconds (CI), no timing claims.
    #[arg(long)]
    quick: bool,
    /// Measured rounds per workload (after one warm-up round); default 5, 1 with --quick.
    #[arg(long)]
    rounds: Option<usize>,
    /// Workloads to run, e.g. `W1,W3` (default all: W1..W6).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where results.json, results.md and ratios.svg go (default bench/results,
    /// or target/bench-quick with --quick).
    #[arg(long)]
    out: Option<PathBuf>,
    /// PostgreSQL to use (tables `bench_*` are created and dropped).
    #[arg(
        long,
        env = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
    )]
    pg_url: String,
    /// Rows per batch for driverbox's `stream_query` (W3).
    #[arg(long, default_value_t = 1000)]
    batch: u32,
    /// The official ADBC PostgreSQL driver (`libadbc_driver_postgresql.so`), W3's
    /// Arrow peer; default: the one `scripts/setup.sh tests` installs in `.venv-adbc`.
    #[arg(long, env = "BENCH_ADBC_POSTGRESQL")]
    adbc_postgresql: Option<PathBuf>,
    /// Run only these contenders (e.g. `driverbox` to profile it alone); ratios need both sides.
    #[arg(long, value_delimiter = ',')]
    contender: Vec<String>,
    /// Driver components (`.wasm`) that replace the built-in driver for
    /// their schemes in driverbox's contenders: an A/B of two builds of a
    /// driver, each run beside the same native peers.
    #[arg(long, value_name = "FILE.wasm")]
    driver: Vec<PathBuf>,
    /// The databases to run (default all five); `--no-sqlite`,
    /// `--no-mysql`, `--no-mongodb` and `--no-dynamodb` take one out.
    #[arg(long, value_delimiter = ',', default_values = ["postgres", "sqlite", "mysql", "mongodb", "dynamodb"])]
    db: Vec<Db>,
    /// Skip the SQLite workloads.
    #[arg(long)]
    no_sqlite: bool,
    /// MySQL/MariaDB to use (tables `bench_*` are created and dropped).
    #[arg(long, env = "BENCH_MYSQL_URL", default_value = "mysql://root@127.0.0.1:3306/test")]
    mysql_url: String,
    /// Skip the MySQL/MariaDB workloads.
    #[arg(long)]
    no_mysql: bool,
    #[command(flatten)]
    mongodb: mongodb::MongoArgs,
    #[command(flatten)]
    dynamodb: dynamodb::DynamoArgs,
    /// Internal (W5): measure idle-connection memory of one contender in this fresh process.
    #[arg(long, hide = true)]
    memprobe: Option<String>,
    #[arg(long, hide = true, default_value_t = 50)]
    memprobe_connections: usize,
    /// Redraw the chart from a results.json of an earlier run (into --out), measuring nothing.
    #[arg(long)]
    replot: Option<PathBuf>,
}

/// A database whose workloads `--db` selects.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Postgres,
    Sqlite,
    Mysql,
    Mongodb,
    Dynamodb,
}

/// Sizes of the workloads.
#[derive(Debug, Clone, Serialize)]
pub struct Sizes {
    pub kv_rows: u64,
    pub w1_iters: usize,
    pub w2_clients: usize,
    pub w2_duration: Duration,
    pub scan_rows: u64,
    pub bulk_rows: usize,
    pub w5_cold: usize,
    pub w5_warm: usize,
    pub w5_instantiate: usize,
    pub w5_connections: usize,
    pub w5_idle: usize,
    pub w6_swaps: usize,
    pub w6_interval: Duration,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            kv_rows: 100_000,
            w1_iters: 20_000,
            w2_clients: 16,
            w2_duration: Duration::from_secs(3),
            scan_rows: 1_000_000,
            bulk_rows: 1_000_000,
            w5_cold: 3,
            w5_warm: 20,
            w5_instantiate: 2_000,
            w5_connections: 200,
            w5_idle: 50,
            w6_swaps: 8,
            w6_interval: Duration::from_millis(750),
        }
    }

    fn quick() -> Sizes {
        Sizes {
            kv_rows: 1_000,
            w1_iters: 200,
            w2_clients: 16,
            w2_duration: Duration::from_millis(200),
            scan_rows: 3_000,
            bulk_rows: 3_000,
            w5_cold: 1,
            w5_warm: 3,
            w5_instantiate: 50,
            w5_connections: 5,
            w5_idle: 5,
            w6_swaps: 2,
            w6_interval: Duration::from_millis(150),
        }
    }
}

/// The PostgreSQL tables of this run: `bench_<pid>_*`, so concurrent runs
/// (a CI quick run beside a full one) never share or drop each other's.
pub struct Tables {
    pub kv: String,
    pub scan: String,
    pub bulk: String,
}

impl Tables {
    fn new() -> Tables {
        let p = format!("bench_{}", std::process::id());
        Tables {
            kv: format!("{p}_kv"),
            scan: format!("{p}_scan"),
            bulk: format!("{p}_bulk"),
        }
    }

    /// W1/W2/W6's point select.
    pub fn kv_select(&self) -> String {
        format!("select id, a, b from {} where id = $1", self.kv)
    }
}

/// What every workload gets.
pub struct Ctx {
    pub quick: bool,
    pub rounds: usize,
    pub pg_url: String,
    pub mysql_url: String,
    pub batch: u32,
    pub sizes: Sizes,
    pub tables: Tables,
    /// The runtime driverbox's contenders use (built-in drivers, default cache).
    pub rt: driverbox::Runtime,
    /// The portable PostgreSQL driver, when W1 or W3 runs it.
    pub portable: Option<portable::Built>,
}

/// Contenders `--contender` selects (all when empty), for profiling one.
static CONTENDERS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Indexes into `names` in `round`'s order: rotated so none always goes
/// first, leaving out contenders `--contender` does not select.
pub fn order(round: usize, names: &[&str]) -> Vec<usize> {
    let n = names.len();
    let chosen = CONTENDERS.get().map(Vec::as_slice).unwrap_or(&[]);
    (0..n)
        .map(|k| (k + round) % n)
        .filter(|&c| chosen.is_empty() || chosen.iter().any(|w| w == names[c]))
        .collect()
}

#[derive(Serialize)]
struct Report<'a> {
    machine: &'a Machine,
    quick: bool,
    rounds: usize,
    sizes: &'a Sizes,
    stream_batch: u32,
    workloads: &'a [String],
    seconds: f64,
    loadavg_at_end: String,
    results: &'a Results,
    ratios: Vec<results::Ratio>,
}

/// The machine the numbers come from.
#[derive(Serialize, Debug)]
struct Machine {
    cpu: String,
    cores: usize,
    ram: String,
    os: String,
    kernel: String,
    rustc: String,
    postgres: String,
    mysql: String,
    sqlite_native: String,
    /// /proc/loadavg when the run started: other work on the machine skews results.
    loadavg_at_start: String,
}

fn first_line_with(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once([':', '='])?.1.trim().trim_matches('"').to_string())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn machine(pg_url: Option<&str>, mysql_url: Option<&str>) -> Machine {
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let postgres = match pg_url {
        None => "not run".to_string(),
        Some(url) => match pg::tp_connect(url).await {
            Ok(c) => c
                .query_one("select version()", &[])
                .await
                .map(|r| r.get::<_, String>(0))
                .unwrap_or_default(),
            Err(e) => format!("unreachable: {e}"),
        },
    };
    let mysql = match mysql_url {
        None => "not run".to_string(),
        Some(url) => mysql::server_version(url).await,
    };
    Machine {
        cpu: first_line_with("/proc/cpuinfo", "model name").unwrap_or_default(),
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        ram: first_line_with("/proc/meminfo", "MemTotal").unwrap_or_default(),
        os: first_line_with("/etc/os-release", "PRETTY_NAME").unwrap_or_default(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        rustc,
        postgres,
        mysql,
        sqlite_native: rusqlite::version().to_string(),
        loadavg_at_start: loadavg(),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => {}
        Err(e) => {
            eprintln!("driverbox-bench: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run(args: Args) -> Result<()> {
    if let Some(which) = &args.memprobe {
        let per = startup::memprobe(which, args.memprobe_connections, &args.pg_url, &args.mysql_url).await?;
        println!("rss-per-connection {per}");
        return Ok(());
    }
    if let Some(json) = &args.replot {
        return replot(json, args.out.as_deref());
    }
    let started = Instant::now();
    let _ = CONTENDERS.set(args.contender.clone());
    let quick = args.quick;
    let rounds = args.rounds.unwrap_or(if quick { 1 } else { 5 }).max(1);
    let all = ["W1", "W2", "W3", "W4", "W5", "W6"];
    let only: Vec<String> = if args.only.is_empty() {
        all.iter().map(|s| s.to_string()).collect()
    } else {
        args.only.iter().map(|s| s.trim().to_uppercase()).collect()
    };
    for w in &only {
        anyhow::ensure!(
            all.contains(&w.as_str()),
            "unknown workload {w} (known: {})",
            all.join(", ")
        );
    }
    let want = |w: &str| only.iter().any(|o| o == w);
    let run_pg = args.db.contains(&Db::Postgres);
    let run_sqlite = args.db.contains(&Db::Sqlite) && !args.no_sqlite;
    let run_mysql = args.db.contains(&Db::Mysql) && !args.no_mysql;
    let run_mongodb = args.db.contains(&Db::Mongodb);
    let run_dynamodb = args.db.contains(&Db::Dynamodb);
    // Full runs land in bench/results (kept in the repository, shown in
    // BENCHMARKS.md); quick runs in target/, never over them.
    let out = args.out.clone().unwrap_or_else(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        if quick {
            root.join("../target/bench-quick")
        } else {
            root.join("results")
        }
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    let ctx = Ctx {
        quick,
        rounds,
        pg_url: args.pg_url.clone(),
        mysql_url: args.mysql_url.clone(),
        batch: args.batch,
        sizes: if quick { Sizes::quick() } else { Sizes::full() },
        tables: Tables::new(),
        rt: driverbox::Runtime::new()?,
        portable: if run_pg && (want("W1") || want("W3")) && !order(0, &[portable::NAME]).is_empty() {
            Some(portable::Built::new().context("building the portable PostgreSQL driver")?)
        } else {
            None
        },
    };
    let adbc_lib = args.adbc_postgresql.clone().or_else(arrow::default_adbc_postgresql);
    let machine = machine(
        run_pg.then_some(ctx.pg_url.as_str()),
        run_mysql.then_some(ctx.mysql_url.as_str()),
    )
    .await;
    eprintln!(
        "driverbox-bench: {} mode, {} round(s) + warm-up, workloads {}; {} ({} cores), PostgreSQL: {}, MySQL: {}",
        if quick { "quick" } else { "full" },
        rounds,
        only.join(","),
        machine.cpu,
        machine.cores,
        machine.postgres.split(" on ").next().unwrap_or(""),
        machine.mysql
    );
    let mut res = Results::default();
    for path in &args.driver {
        let info = ctx
            .rt
            .load_driver_file(path)
            .await
            .with_context(|| format!("loading --driver {}", path.display()))?;
        res.note(format!(
            "driverbox's {} contenders use {} ({} {}), not the built-in driver",
            info.schemes.join("/"),
            path.display(),
            info.name,
            info.version
        ));
    }
    if let Some(p) = &ctx.portable {
        res.note(format!(
            "PostgreSQL driver component: {} bytes inside driverbox's host, {} bytes portable (with the transport adapter): {:.2}x",
            p.host_bytes,
            p.portable_bytes,
            p.portable_bytes as f64 / p.host_bytes as f64
        ));
    }
    if run_pg {
        eprintln!("setting up tables ({} scan rows) ...", ctx.sizes.scan_rows);
        pg::setup(&ctx).await.context("creating the bench_* tables")?;
    } else {
        res.skip("PostgreSQL workloads: not in --db");
    }

    let outcome = async {
        type Step = (&'static str, &'static str);
        let steps: [Step; 6] = [
            ("W1", "point select, prepared, one connection"),
            ("W2", "16 clients through the pool"),
            ("W3", "scan of mixed types"),
            ("W4", "bulk insert"),
            ("W5", "driver start-up"),
            ("W6", "swap under load"),
        ];
        for (w, what) in steps {
            if !run_pg || !want(w) {
                continue;
            }
            let t = Instant::now();
            eprintln!("{w}: {what} ...");
            let r = match w {
                "W1" => pg::w1(&ctx, &mut res).await,
                "W2" => pg::w2(&ctx, &mut res).await,
                "W3" => match pg::w3(&ctx, &mut res).await {
                    Ok(()) => arrow::w3_arrow(&ctx, &mut res, adbc_lib.as_deref()).await,
                    e => e,
                },
                "W4" => pg::w4(&ctx, &mut res).await,
                "W5" => startup::w5(&ctx, &mut res).await,
                _ => swap::w6(&ctx, &mut res).await,
            };
            r.with_context(|| format!("{w} failed"))?;
            eprintln!("{w}: done in {:.1} s", t.elapsed().as_secs_f64());
        }
        let (s1, s3, s4) = (want("W1"), want("W3"), want("W4"));
        if !run_sqlite {
            res.skip("SQLite workloads: --no-sqlite or not in --db");
        } else if s1 || s3 || s4 {
            let t = Instant::now();
            eprintln!("SQLite: W1/W3/W4 against rusqlite ...");
            sqlite::run(&ctx, &mut res, s1, s3, s4)
                .await
                .context("SQLite workloads failed")?;
            eprintln!("SQLite: done in {:.1} s", t.elapsed().as_secs_f64());
        }
        let my = mysql::Want {
            w1: want("W1"),
            w2: want("W2"),
            w3: want("W3"),
            w4: want("W4"),
            w5: want("W5"),
        };
        if !run_mysql {
            res.skip("MySQL workloads: --no-mysql or not in --db");
        } else if my.w1 || my.w2 || my.w3 || my.w4 || my.w5 {
            let t = Instant::now();
            eprintln!("MySQL: W1-W5 against mysql_async and sqlx-mysql ...");
            mysql::run(&ctx, &mut res, my).await.context("MySQL workloads failed")?;
            eprintln!("MySQL: done in {:.1} s", t.elapsed().as_secs_f64());
        }
        if run_mongodb && (s1 || want("W2") || s3 || s4 || want("W5")) {
            let t = Instant::now();
            eprintln!("MongoDB: W1–W5 against the mongodb crate ...");
            mongodb::run(&ctx, &args.mongodb, &mut res, &want)
                .await
                .context("MongoDB workloads failed")?;
            eprintln!("MongoDB: done in {:.1} s", t.elapsed().as_secs_f64());
        }
        if run_dynamodb && (s1 || want("W2") || s3 || s4) {
            let t = Instant::now();
            eprintln!("DynamoDB: W1–W4 against aws-sdk-dynamodb ...");
            dynamodb::run(&ctx, &args.dynamodb, &mut res, &want)
                .await
                .context("DynamoDB workloads failed")?;
            eprintln!("DynamoDB: done in {:.1} s", t.elapsed().as_secs_f64());
        }
        anyhow::Ok(())
    }
    .await;
    if run_pg {
        let dropped = pg::teardown(&ctx).await;
        outcome?;
        dropped.context("dropping the bench_* tables")?;
    } else {
        outcome?;
    }

    let seconds = started.elapsed().as_secs_f64();
    let ratios = res.ratios();
    let table = res.table();
    println!("{table}");
    for s in &res.skipped {
        println!("skipped: {s}");
    }
    let report = Report {
        machine: &machine,
        quick,
        rounds,
        sizes: &ctx.sizes,
        stream_batch: ctx.batch,
        workloads: &only,
        seconds,
        loadavg_at_end: loadavg(),
        results: &res,
        ratios: ratios.clone(),
    };
    let json = out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(&report)?)?;
    std::fs::write(out.join("results.md"), &table)?;
    let svg = out.join("ratios.svg");
    chart::draw(&svg, &chart_title(quick, rounds), &ratios)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", svg.display()))?;
    eprintln!(
        "driverbox-bench: wrote {}, {} and {} in {seconds:.1} s",
        json.display(),
        out.join("results.md").display(),
        svg.display()
    );
    Ok(())
}

fn chart_title(quick: bool, rounds: usize) -> String {
    format!(
        "driverbox ÷ native peer, median of {rounds} round(s){}",
        if quick {
            " — QUICK MODE, not a measurement"
        } else {
            ""
        }
    )
}

/// Draws the chart of an earlier run's results.json.
fn replot(json: &std::path::Path, out: Option<&std::path::Path>) -> Result<()> {
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(json).with_context(|| format!("reading {}", json.display()))?)?;
    let ratios: Vec<results::Ratio> = serde_json::from_value(report["ratios"].clone())?;
    let quick = report["quick"].as_bool().unwrap_or(false);
    let rounds = report["rounds"].as_u64().unwrap_or(0) as usize;
    let dir = out
        .map(PathBuf::from)
        .unwrap_or_else(|| json.parent().map(PathBuf::from).unwrap_or_default());
    let svg = dir.join("ratios.svg");
    chart::draw(&svg, &chart_title(quick, rounds), &ratios)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", svg.display()))?;
    eprintln!("driverbox-bench: wrote {}", svg.display());
    Ok(())
}
