//! A throwaway DynamoDB-compatible server on a free port — moto in server
//! mode (installed by `scripts/setup.sh` into `.venv-dynamodb`) or
//! dynalite (Node.js, installed by `scripts/setup.sh` into
//! `tests/dynalite/node_modules`) — and boto3 (botocore), the reference
//! client, to compare answers with. Stopped on drop. Neither server checks
//! signatures: signing is tested against botocore's own signer
//! (`tests/fixtures/sigv4_botocore.py`). [`Recorder`] sits between a
//! driver and a server and keeps the operations it asked for.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The credentials the tests use (moto accepts any).
pub const ACCESS_KEY: &str = "AKIDDRIVERBOXTEST";
pub const SECRET_KEY: &str = "dbx-test/secret+key";

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// moto (Python): PartiQL, transactions, the whole API the driver uses.
    Moto,
    /// dynalite (Node.js, LevelDB in memory): the classic API (items,
    /// Query/Scan, expressions, indexes), no PartiQL (`ExecuteStatement`
    /// is an `UnknownOperationException`) and no transactions.
    Dynalite,
}

/// A running server.
pub struct DynamoServer {
    pub port: u16,
    pub flavor: Flavor,
    child: Child,
    log: PathBuf,
}

/// The Python of the venv (moto, boto3, botocore).
pub fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-dynamodb/bin/python")
}

/// `dynamodb://KEY:SECRET@127.0.0.1:PORT?region=us-east-1&tls=disable[&PARAMS]`.
pub fn url_of(port: u16, params: &str) -> String {
    let secret = SECRET_KEY.replace('/', "%2F").replace('+', "%2B");
    let extra = if params.is_empty() {
        String::new()
    } else {
        format!("&{params}")
    };
    format!("dynamodb://{ACCESS_KEY}:{secret}@127.0.0.1:{port}?region=us-east-1&tls=disable{extra}")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl DynamoServer {
    /// Starts `moto_server` on 127.0.0.1 and a free port.
    pub fn start() -> DynamoServer {
        DynamoServer::start_flavor(Flavor::Moto)
    }

    /// Starts dynalite on 127.0.0.1 and a free port, tables ACTIVE at once.
    pub fn start_dynalite() -> DynamoServer {
        DynamoServer::start_flavor(Flavor::Dynalite)
    }

    /// Starts a server of `flavor`.
    pub fn start_flavor(flavor: Flavor) -> DynamoServer {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let (bin, what) = match flavor {
            Flavor::Moto => (
                dir.join("../.venv-dynamodb/bin/moto_server"),
                "it installs moto into .venv-dynamodb",
            ),
            Flavor::Dynalite => (
                dir.join("dynalite/node_modules/dynalite/cli.js"),
                "it installs dynalite into tests/dynalite/node_modules",
            ),
        };
        assert!(
            bin.exists(),
            "{} is missing: run scripts/setup.sh tests ({what})",
            bin.display()
        );
        let port = free_port();
        let log = std::env::temp_dir().join(format!("driverbox-{flavor:?}-{}-{port}.log", std::process::id()));
        let mut command = match flavor {
            Flavor::Moto => {
                let mut c = Command::new(bin);
                c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                c
            }
            Flavor::Dynalite => {
                let mut c = Command::new("node");
                c.arg(bin).args(["--host", "127.0.0.1", "--port", &port.to_string()]);
                for state in ["--createTableMs", "--deleteTableMs", "--updateTableMs"] {
                    c.args([state, "0"]);
                }
                c
            }
        };
        let mut child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start moto_server");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{flavor:?} exited with {status}: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(start.elapsed() < Duration::from_secs(60), "{flavor:?} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        DynamoServer {
            port,
            flavor,
            child,
            log,
        }
    }

    /// `dynamodb://KEY:SECRET@127.0.0.1:PORT?region=us-east-1&tls=disable[&PARAMS]`.
    pub fn url(&self, params: &str) -> String {
        url_of(self.port, params)
    }

    /// Runs a Python script with `c` a boto3 DynamoDB client of this
    /// server; gives its stdout. Panics with stderr when it fails.
    pub fn boto3(&self, script: &str) -> String {
        let prelude = format!(
            "import boto3, json\nc = boto3.client('dynamodb', endpoint_url='http://127.0.0.1:{}', region_name='us-east-1', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')\n",
            self.port
        );
        let out = Command::new(python())
            .arg("-c")
            .arg(format!("{prelude}{script}"))
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "boto3 script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for DynamoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A TCP proxy in front of a server that keeps every byte the client
/// sent, to see which operations a driver asked for (`X-Amz-Target`) and
/// with which bodies. Stops accepting when dropped.
pub struct Recorder {
    pub port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    /// Listens on 127.0.0.1 and a free port, forwarding to `upstream`.
    pub fn start(upstream: u16) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log, halt) = (sent.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if halt.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_read, mut c_write) = (server, client);
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = s_write.shutdown(Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_read, &mut c_write);
                    let _ = c_write.shutdown(Shutdown::Write);
                });
            }
        });
        Recorder { port, sent, stop }
    }

    /// A driver URL through this proxy.
    pub fn url(&self, params: &str) -> String {
        url_of(self.port, params)
    }

    /// Everything sent so far, as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }

    /// The operations asked for so far, in order (`Scan`, `Query` …).
    pub fn operations(&self) -> Vec<String> {
        let text = self.text();
        let lower = text.to_ascii_lowercase();
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(i) = lower[at..].find("x-amz-target:") {
            let start = at + i + "x-amz-target:".len();
            let line = text[start..].lines().next().unwrap_or("").trim();
            out.push(line.rsplit('.').next().unwrap_or(line).to_string());
            at = start;
        }
        out
    }

    /// Forgets what was sent so far.
    pub fn clear(&self) {
        self.sent.lock().unwrap().clear();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}
