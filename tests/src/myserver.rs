//! A throwaway MariaDB server for TLS and authentication tests, started
//! from the installed binaries (`mariadb-install-db`, `mariadbd`) on a free
//! port, with a CA and server certificate generated here, and users for
//! `mysql_native_password` and `client_ed25519`. Stopped and deleted on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// Password of the `native` (mysql_native_password) and `ed` (client_ed25519) users.
pub const PASSWORD: &str = "s3cret-pw";

/// A running throwaway server.
pub struct MyServer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
    /// PEM of the CA that signed the server certificate (for `localhost` only).
    pub ca_file: PathBuf,
    /// PEM of an unrelated CA.
    pub other_ca_file: PathBuf,
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

impl MyServer {
    pub fn start() -> MyServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("driverbox-my-{}-{port}", std::process::id()));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--user=root",
                "--auth-root-authentication-method=normal",
            ])
            .args(["--skip-test-db", "--skip-name-resolve"])
            .arg(format!("--datadir={}", data.display()))
            .output()
            .expect("mariadb-install-db (apt-get install mariadb-server)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

        let ca = new_ca("driverbox test CA");
        let other = new_ca("some other CA");
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        let (cert_file, key_file) = (dir.join("server.crt"), dir.join("server.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        let ca_file = dir.join("ca.pem");
        let other_ca_file = dir.join("other-ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        std::fs::write(&other_ca_file, other.pem()).unwrap();

        let child = Command::new("mariadbd")
            .args([
                "--no-defaults",
                "--user=root",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
            ])
            .args(["--innodb-buffer-pool-size=16M", "--skip-log-bin"])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--ssl-cert={}", cert_file.display()))
            .arg(format!("--ssl-key={}", key_file.display()))
            .arg(format!("--ssl-ca={}", ca_file.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd");
        let server = MyServer {
            port,
            dir,
            child,
            ca_file,
            other_ca_file,
        };
        let setup = format!(
            "INSTALL SONAME 'auth_ed25519'; \
             CREATE USER native@'%' IDENTIFIED BY '{PASSWORD}'; \
             CREATE USER ed@'%' IDENTIFIED VIA ed25519 USING PASSWORD('{PASSWORD}'); \
             GRANT ALL ON *.* TO native@'%'; GRANT ALL ON *.* TO ed@'%'; CREATE DATABASE test;"
        );
        for _ in 0..100 {
            let out = Command::new("mariadb")
                .args(["-h", "127.0.0.1", "-uroot", "-P", &port.to_string(), "-e", &setup])
                .output()
                .unwrap();
            if out.status.success() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("the throwaway MariaDB did not start on port {port}");
    }
}

impl Drop for MyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
