//! A throwaway DynamoDB-compatible server (moto in server mode, installed
//! by `scripts/setup.sh` into `.venv-dynamodb`) on a free port, and boto3
//! (botocore), the reference client, to compare answers with. Stopped on
//! drop. moto checks no signatures: signing is tested against botocore's
//! own signer (`tests/fixtures/sigv4_botocore.py`).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The credentials the tests use (moto accepts any).
pub const ACCESS_KEY: &str = "AKIDDRIVERBOXTEST";
pub const SECRET_KEY: &str = "dbx-test/secret+key";

/// A running server.
pub struct DynamoServer {
    pub port: u16,
    child: Child,
    log: PathBuf,
}

/// The Python of the venv (moto, boto3, botocore).
pub fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-dynamodb/bin/python")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl DynamoServer {
    /// Starts `moto_server` on 127.0.0.1 and a free port.
    pub fn start() -> DynamoServer {
        let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-dynamodb/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run scripts/setup.sh (it installs moto into .venv-dynamodb)",
            bin.display()
        );
        let port = free_port();
        let log = std::env::temp_dir().join(format!("driverbox-moto-{}-{port}.log", std::process::id()));
        let mut child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start moto_server");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto_server exited with {status}: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(start.elapsed() < Duration::from_secs(60), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        DynamoServer { port, child, log }
    }

    /// `dynamodb://KEY:SECRET@127.0.0.1:PORT?region=us-east-1&tls=disable[&PARAMS]`.
    pub fn url(&self, params: &str) -> String {
        let secret = SECRET_KEY.replace('/', "%2F").replace('+', "%2B");
        let extra = if params.is_empty() {
            String::new()
        } else {
            format!("&{params}")
        };
        format!(
            "dynamodb://{ACCESS_KEY}:{secret}@127.0.0.1:{}?region=us-east-1&tls=disable{extra}",
            self.port
        )
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
