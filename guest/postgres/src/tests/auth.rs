//! Password authentication (SCRAM-SHA-256, md5, cleartext) and TLS
//! negotiation against a throwaway server started from the PostgreSQL 15
//! binaries as the `postgres` user; skipped when that is not possible.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use driverbox_guest_sdk::types::ConnectConfig;

const BIN: &str = "/usr/lib/postgresql/15/bin";
const PASSWORD: &str = "s3cr3t-Pässword";

/// A server in a temporary directory; stopped and removed on drop.
struct Throwaway {
    dir: PathBuf,
    port: u16,
}

fn as_postgres(args: &[&str]) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .map(|o| {
            if !o.status.success() {
                eprintln!("{:?}: {}", args, String::from_utf8_lossy(&o.stderr));
            }
            o.status.success()
        })
        .unwrap_or(false)
}

impl Throwaway {
    fn start() -> Option<Throwaway> {
        if !Path::new(BIN).join("initdb").exists() {
            eprintln!("note: no PostgreSQL binaries, auth test skipped");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let dir = std::env::temp_dir().join(format!("dbx-pg-auth-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        let server = Throwaway { dir, port };
        let d = server.dir.to_str()?.to_string();
        if !Command::new("chown")
            .args(["postgres:postgres", &d])
            .status()
            .ok()?
            .success()
        {
            eprintln!("note: cannot chown to postgres, auth test skipped");
            return None;
        }
        let data = format!("{d}/data");
        if !as_postgres(&[
            &format!("{BIN}/initdb"),
            "-D",
            &data,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ]) {
            return None;
        }
        let hba = "host all postgres 127.0.0.1/32 trust\n\
                   host all scram_user 127.0.0.1/32 scram-sha-256\n\
                   host all md5_user 127.0.0.1/32 md5\n\
                   host all clear_user 127.0.0.1/32 password\n";
        std::fs::write(format!("{data}/pg_hba.conf"), hba).ok()?;
        let opts = format!("-p {port} -k {d} -c listen_addresses=127.0.0.1 -c ssl=off -c fsync=off");
        if !as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            &data,
            "-w",
            "-t",
            "60",
            "-l",
            &format!("{d}/log"),
            "-o",
            &opts,
            "start",
        ]) {
            return None;
        }
        Some(server)
    }

    fn config(&self, user: &str, password: Option<&str>) -> ConnectConfig {
        ConnectConfig {
            scheme: "postgres".into(),
            hosts: vec![driverbox_guest_sdk::types::Endpoint {
                host: "127.0.0.1".into(),
                port: self.port,
                port_given: true,
            }],
            user: Some(user.into()),
            password: password.map(Into::into),
            database: Some("postgres".into()),
            tls: TlsMode::Disable,
            application_name: None,
            options: vec![],
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap_or(""),
            "-m",
            "immediate",
            "stop",
        ]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn no_password_in(e: &Error) {
    assert!(!format!("{e:?}").contains(PASSWORD), "password leaked in {e:?}");
}

#[test]
fn password_authentication_and_tls_modes() {
    let Some(server) = Throwaway::start() else {
        return;
    };
    let mut admin = open(&server.config("postgres", None)).expect("trust login");
    for (user, encryption) in [
        ("scram_user", "scram-sha-256"),
        ("md5_user", "md5"),
        ("clear_user", "scram-sha-256"),
    ] {
        admin.run(&format!("set password_encryption = '{encryption}'")).unwrap();
        admin.run(&format!("create user {user} password '{PASSWORD}'")).unwrap();
    }
    for user in ["scram_user", "md5_user", "clear_user"] {
        let mut c = open(&server.config(user, Some(PASSWORD))).unwrap_or_else(|e| panic!("{user}: {e:?}"));
        assert_eq!(dbg(scalar(&mut c, "select current_user", &[])), dbg(text(user)));
        c.terminate();

        let e = open(&server.config(user, Some("wrong")))
            .err()
            .expect("wrong password refused");
        assert_eq!(kind(&e), ErrorKind::Authentication, "{user}");
        assert_eq!(server_code(&e), "28P01");
        no_password_in(&e);

        let e = open(&server.config(user, None)).err().expect("password required");
        assert_eq!(kind(&e), ErrorKind::Authentication);
        assert!(
            matches!(&e, Error::Client(c) if c.message == "password required"),
            "{e:?}"
        );
    }
    // Unknown database.
    let mut cfg = server.config("postgres", None);
    cfg.database = Some("no_such_db".into());
    let e = open(&cfg).err().expect("unknown database");
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);

    // TLS negotiation with a server without TLS.
    let mut cfg = server.config("postgres", None);
    cfg.tls = TlsMode::Prefer;
    let mut c = open(&cfg).expect("prefer falls back to plaintext");
    still_usable(&mut c);
    for mode in [TlsMode::Require, TlsMode::VerifyCa, TlsMode::VerifyFull] {
        cfg.tls = mode;
        let e = open(&cfg).err().expect("TLS required");
        assert_eq!(kind(&e), ErrorKind::Tls);
        assert!(matches!(&e, Error::Client(c) if c.message.starts_with("server does not support TLS but sslmode=")));
    }
    admin.terminate();
}

fn server_code(e: &Error) -> &str {
    &server(e).code
}

#[test]
fn tls_request_reaches_the_upgrade() {
    // The test server has ssl=on: the driver asks, the server says 'S', and
    // the upgrade goes to the socket (which natively has no TLS).
    let Some(_) = connect() else { return };
    let mut cfg = config();
    cfg.tls = TlsMode::Require;
    match open(&cfg) {
        Err(e) if kind(&e) == ErrorKind::Unsupported => {}
        Err(e) if kind(&e) == ErrorKind::Tls => eprintln!("note: test server has no TLS: {e:?}"),
        Err(e) => panic!("unexpected {e:?}"),
        Ok(_) => panic!("a native socket cannot do TLS"),
    }
}
