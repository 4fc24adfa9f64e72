//! A throwaway MongoDB-wire server (SecantusDB, installed by
//! `scripts/setup.sh` into `.venv-mongo`) on a free port, plain, with
//! `--auth` (users made first), or with TLS from a CA made here; and
//! pymongo, the reference client, to compare answers with. Stopped and
//! deleted on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// The users of an `--auth` server: (name, password, mechanism), all root
/// in `admin`.
pub const USERS: &[(&str, &str, &str)] = &[("alice", "alice-pw", "SCRAM-SHA-256"), ("bob", "bob-pw", "SCRAM-SHA-1")];

/// A running server.
pub struct MongoServer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
    /// PEM of the CA that signed the server certificate (TLS servers).
    pub ca_file: PathBuf,
    /// PEM of an unrelated CA.
    pub other_ca_file: PathBuf,
    tls: bool,
}

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-mongo/bin")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn spawn(dir: &Path, port: u16, extra: &[&str]) -> Child {
    let bin = venv().join("secantusd-py");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup.sh (it installs SecantusDB into .venv-mongo)",
        bin.display()
    );
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut child = Command::new(bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--standalone",
            "--storage-path",
        ])
        .arg(dir.join("data"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start secantusd-py");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "secantusd-py exited with {status}: {}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        }
        assert!(start.elapsed() < Duration::from_secs(60), "secantusd-py did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

impl MongoServer {
    fn new_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("driverbox-mongo-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        dir
    }

    fn with(dir: PathBuf, port: u16, child: Child, tls: bool) -> MongoServer {
        MongoServer {
            port,
            ca_file: dir.join("ca.pem"),
            other_ca_file: dir.join("other-ca.pem"),
            dir,
            child,
            tls,
        }
    }

    /// A server without authentication or TLS.
    pub fn start() -> MongoServer {
        let dir = Self::new_dir();
        let port = free_port();
        let child = spawn(&dir, port, &[]);
        Self::with(dir, port, child, false)
    }

    /// A server with `--auth` and the [`USERS`].
    pub fn start_auth() -> MongoServer {
        let mut server = Self::start();
        let users: Vec<String> = USERS
            .iter()
            .map(|(u, p, m)| {
                format!("c.admin.command('createUser', '{u}', pwd='{p}', roles=['root'], mechanisms=['{m}'])")
            })
            .collect();
        server.pymongo(&users.join("\n"));
        let _ = server.child.kill();
        let _ = server.child.wait();
        server.child = spawn(&server.dir, server.port, &["--auth"]);
        server
    }

    /// A server with TLS only, its certificate for `localhost` (so
    /// `127.0.0.1` is a wrong name for it) signed by [`MongoServer::ca_file`].
    pub fn start_tls() -> MongoServer {
        let dir = Self::new_dir();
        let ca = new_ca("driverbox test CA");
        let other = new_ca("some other CA");
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("other-ca.pem"), other.pem()).unwrap();
        let port = free_port();
        let (crt, key) = (dir.join("server.crt"), dir.join("server.key"));
        let child = spawn(
            &dir,
            port,
            &[
                "--tls-cert-file",
                crt.to_str().unwrap(),
                "--tls-key-file",
                key.to_str().unwrap(),
            ],
        );
        Self::with(dir, port, child, true)
    }

    /// `mongodb://[USER:PW@]127.0.0.1:PORT/DB[?PARAMS]`.
    pub fn url(&self, credentials: Option<(&str, &str)>, db: &str, params: &str) -> String {
        let auth = credentials.map(|(u, p)| format!("{u}:{p}@")).unwrap_or_default();
        let q = if params.is_empty() {
            String::new()
        } else {
            format!("?{params}")
        };
        format!("mongodb://{auth}127.0.0.1:{}/{db}{q}", self.port)
    }

    /// Runs a Python script with `pymongo` imported and `c` a client of
    /// this server (as `alice` on `--auth` servers); gives its stdout.
    pub fn pymongo(&self, script: &str) -> String {
        let url = if self.tls {
            format!(
                "mongodb://localhost:{}/?tls=true&tlsCAFile={}",
                self.port,
                self.ca_file.display()
            )
        } else {
            format!("mongodb://127.0.0.1:{}/", self.port)
        };
        let url = if self.child_has_auth() {
            format!("mongodb://alice:alice-pw@127.0.0.1:{}/", self.port)
        } else {
            url
        };
        let program = format!(
            "import pymongo, json\nc = pymongo.MongoClient('{url}', serverSelectionTimeoutMS=10000)\n{script}\n"
        );
        let out = Command::new(venv().join("python"))
            .arg("-c")
            .arg(program)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "pymongo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn child_has_auth(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/cmdline", self.child.id()))
            .map(|c| c.split('\0').any(|a| a == "--auth"))
            .unwrap_or(false)
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
