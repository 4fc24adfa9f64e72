//! Helpers for the CLI tests: running the built `driverbox` binary, unique
//! names, throwaway PostgreSQL schemas.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The local PostgreSQL every test machine runs (trust auth).
pub const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";
/// The local MariaDB (root, no password).
#[allow(dead_code)] // used by cli.rs, not shell.rs
pub const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// The CLI binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_driverbox")
}

/// The compiled-driver cache the CLI tests share (`$XDG_CACHE_HOME`), so
/// they neither use nor fill the user's cache.
pub fn cache_home() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-cache/cli")
}

/// `driverbox ARGS` with the test cache, no history and no input.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args)
        .env("XDG_CACHE_HOME", cache_home())
        .env("DRIVERBOX_HISTORY", "")
        .env_remove("DRIVERBOX_LOG")
        .stdin(Stdio::null());
    c
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything printed, for "never printed" checks.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `driverbox ARGS` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    command(args).current_dir(dir).output().expect("driverbox runs").into()
}

/// Runs the command `c` (from [`command`]) with `input` on its stdin.
pub fn run_with_input(mut c: Command, input: &str) -> Run {
    use std::io::Write;
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("driverbox runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("input written");
    child.wait_with_output().expect("driverbox ends").into()
}

/// Runs `driverbox ARGS` in a fresh temporary directory.
pub fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    run_in(dir.path(), args)
}

/// Runs `driverbox ARGS`, which must succeed; gives its output.
pub fn ok(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, 0, "driverbox {args:?} failed: {r:?}");
    r.stdout
}

/// A name no other test (or test run) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs SQL on the local PostgreSQL (statements separated by `;`).
pub fn pg(sql: &str) -> String {
    ok(&["shell", PG_URL, "-c", sql])
}

/// One value of a one-row, one-column PostgreSQL query, as CSV prints it.
pub fn pg_value(sql: &str) -> String {
    let out = ok(&["query", PG_URL, sql, "--format", "csv"]);
    out.lines().nth(1).unwrap_or_default().to_string()
}

/// A PostgreSQL schema created for one test and dropped (cascade) afterwards.
pub struct PgSchema(pub String);

impl PgSchema {
    pub fn create(prefix: &str) -> PgSchema {
        let name = unique(prefix);
        pg(&format!("create schema {name}"));
        PgSchema(name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = run(&[
            "shell",
            PG_URL,
            "-c",
            &format!("drop schema if exists {} cascade", self.0),
        ]);
    }
}

/// Drops a PostgreSQL table when dropped.
pub struct PgTable(pub String);

impl Drop for PgTable {
    fn drop(&mut self) {
        let _ = run(&["shell", PG_URL, "-c", &format!("drop table if exists {}", self.0)]);
    }
}

/// Starts `bin` (installed by `scripts/setup.sh`) listening on a free
/// 127.0.0.1 port with the arguments `args(port)` gives, and waits up to
/// 60 s until it accepts connections: the port and the child.
pub fn spawn_server(bin: &std::path::Path, args: impl Fn(u16) -> Vec<String>) -> (u16, std::process::Child) {
    assert!(bin.exists(), "{} is missing: run scripts/setup.sh", bin.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(bin)
        .args(args(port))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "{} exited", bin.display());
        assert!(start.elapsed().as_secs() < 60, "{} did not start", bin.display());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (port, child)
}

/// A throwaway MongoDB-wire server (SecantusDB from `.venv-mongo`, installed
/// by `scripts/setup.sh`), in memory, on a free port; stopped on drop.
pub struct MongoServer {
    pub port: u16,
    child: std::process::Child,
}

impl MongoServer {
    pub fn start() -> MongoServer {
        let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-mongo/bin/secantusd-py");
        let (port, child) = spawn_server(&bin, |port| {
            vec![
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--storage-path".into(),
                ":memory:".into(),
                "--standalone".into(),
            ]
        });
        MongoServer { port, child }
    }

    /// `mongodb://127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("mongodb://127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
