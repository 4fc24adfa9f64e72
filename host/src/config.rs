//! Connection URLs: `postgres://user:pass@host:5432/db?sslmode=require`,
//! `sqlite:path/to.db?mode=ro`, `sqlite::memory:`, and their defaults.
//!
//! PostgreSQL URLs follow libpq: what the URL leaves out comes from the
//! `PG*` environment variables, then from libpq's defaults.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

pub use crate::bindings::types::TlsMode;

/// Connection settings parsed from a URL. `Debug` hides the password.
#[derive(Clone, PartialEq)]
pub struct ConnectOptions {
    /// URL scheme, lower case; picks the driver.
    pub scheme: String,
    /// Host name or IP address (empty for file databases).
    pub host: String,
    /// Port; `None` takes the driver's default.
    pub port: Option<u16>,
    pub user: Option<String>,
    password: Option<String>,
    /// Database name.
    pub database: Option<String>,
    /// Database file for file-based drivers (SQLite); `None` with
    /// `database == ":memory:"` for an in-memory database.
    pub path: Option<PathBuf>,
    /// TLS policy (`sslmode`, `ssl-mode`, `tls`).
    pub tls: TlsMode,
    /// CA certificates (PEM) for `verify-ca`/`verify-full`, or `system`.
    pub tls_root_cert: Option<String>,
    /// Time allowed to open the TCP connection.
    pub connect_timeout: Option<Duration>,
    pub application_name: Option<String>,
    /// Remaining parameters, handed to the driver.
    pub params: Vec<(String, String)>,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("path", &self.path)
            .field("tls", &self.tls)
            .field("tls_root_cert", &self.tls_root_cert)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("params", &self.params)
            .finish()
    }
}

impl fmt::Display for ConnectOptions {
    /// The URL without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.is_empty() {
            let target = match &self.path {
                Some(p) => p.display().to_string(),
                None => self.database.clone().unwrap_or_default(),
            };
            return write!(f, "{}:{target}", self.scheme);
        }
        write!(f, "{}://", self.scheme)?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(db) = &self.database {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

fn decode(s: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::Config(format!("`{s}` is not valid percent-encoded UTF-8")))
}

fn parse_tls(key: &str, value: &str) -> Result<TlsMode> {
    Ok(match value.to_ascii_lowercase().replace('_', "-").as_str() {
        "disable" | "disabled" | "false" | "off" => TlsMode::Disable,
        "allow" | "prefer" | "preferred" => TlsMode::Prefer,
        "require" | "required" | "true" | "on" => TlsMode::Require,
        "verify-ca" => TlsMode::VerifyCa,
        "verify-full" | "verify-identity" => TlsMode::VerifyFull,
        other => {
            return Err(Error::Config(format!(
                "{key}={other} is not one of disable, prefer, require, verify-ca, verify-full"
            )))
        }
    })
}

impl ConnectOptions {
    /// Parses a URL, filling PostgreSQL defaults from the process environment.
    pub fn parse(url: &str) -> Result<ConnectOptions> {
        Self::parse_with_env(url, |k| std::env::var(k).ok())
    }

    /// [`ConnectOptions::parse`] with an explicit environment (for tests).
    pub fn parse_with_env(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<ConnectOptions> {
        let url = url.trim();
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(Error::Config(format!(
                "`{}` is not a URL: expected e.g. postgres://host/db or sqlite:file.db",
                redact(url)
            )));
        };
        let scheme = scheme.to_ascii_lowercase();
        let mut options = if scheme == "sqlite" {
            Self::parse_file(&scheme, &url[scheme.len() + 1..])?
        } else {
            Self::parse_network(url)?
        };
        if scheme == "postgres" || scheme == "postgresql" {
            options.apply_pg_env(env);
        }
        Ok(options)
    }

    fn empty(scheme: &str) -> ConnectOptions {
        ConnectOptions {
            scheme: scheme.to_string(),
            host: String::new(),
            port: None,
            user: None,
            password: None,
            database: None,
            path: None,
            tls: TlsMode::Prefer,
            tls_root_cert: None,
            connect_timeout: None,
            application_name: None,
            params: Vec::new(),
        }
    }

    /// `sqlite:PATH`, `sqlite://PATH`, `sqlite:///ABS`, `sqlite::memory:`, with `?mode=`.
    fn parse_file(scheme: &str, rest: &str) -> Result<ConnectOptions> {
        let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
        let target = target.strip_prefix("//").unwrap_or(target);
        let mut options = Self::empty(scheme);
        options.tls = TlsMode::Disable;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k)?, decode(v)?);
            if k == "mode" && !matches!(v.as_str(), "ro" | "rw" | "rwc" | "memory") {
                return Err(Error::Config(format!("mode={v}: expected ro, rw or rwc")));
            }
            options.params.push((k, v));
        }
        let target = decode(target)?;
        if target == ":memory:" || target.is_empty() && options.param("mode") == Some("memory") {
            options.database = Some(":memory:".into());
        } else if target.is_empty() {
            return Err(Error::Config(format!("{scheme}: URL names no database file")));
        } else {
            options.database = Some(target.clone());
            options.path = Some(PathBuf::from(target));
        }
        Ok(options)
    }

    fn parse_network(raw: &str) -> Result<ConnectOptions> {
        let url = url::Url::parse(raw).map_err(|e| {
            let hint = if raw.contains(',') {
                " (several hosts in one URL are not supported)"
            } else {
                ""
            };
            Error::Config(format!("`{}`: {e}{hint}", redact(raw)))
        })?;
        let mut options = Self::empty(&url.scheme().to_ascii_lowercase());
        options.host = url
            .host_str()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        options.port = url.port();
        if !url.username().is_empty() {
            options.user = Some(decode(url.username())?);
        }
        if let Some(p) = url.password() {
            options.password = Some(decode(p)?);
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() {
            options.database = Some(decode(db)?);
        }
        let mut tls_set = false;
        for (k, v) in url.query_pairs() {
            let (k, v) = (k.into_owned(), v.into_owned());
            match k.as_str() {
                "sslmode" | "ssl-mode" | "ssl_mode" | "tls" | "ssl" => {
                    options.tls = parse_tls(&k, &v)?;
                    tls_set = true;
                }
                "sslrootcert" | "tlsCAFile" | "ssl-ca" => options.tls_root_cert = Some(v),
                "connect_timeout" | "connectTimeoutMS" => {
                    let n: u64 = v
                        .parse()
                        .map_err(|_| Error::Config(format!("{k}={v}: expected a whole number")))?;
                    options.connect_timeout = Some(if k == "connectTimeoutMS" {
                        Duration::from_millis(n)
                    } else {
                        Duration::from_secs(n)
                    });
                }
                "application_name" | "appName" => options.application_name = Some(v),
                "host" => options.host = v,
                "port" => {
                    options.port = Some(
                        v.parse()
                            .map_err(|_| Error::Config(format!("port={v}: expected a port number")))?,
                    )
                }
                "user" => options.user = Some(v),
                "password" => options.password = Some(v),
                "dbname" => options.database = Some(v),
                _ => options.params.push((k, v)),
            }
        }
        if !tls_set && options.tls_root_cert.is_some() {
            // libpq: a root certificate with the default sslmode verifies the CA.
            options.tls = TlsMode::VerifyCa;
        }
        if options.host.starts_with('/') {
            return Err(Error::Config(format!(
                "host {}: Unix-domain sockets are not supported, use a TCP host",
                options.host
            )));
        }
        Ok(options)
    }

    /// libpq: the environment fills what the URL leaves out.
    fn apply_pg_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        let explicit_tls = self.tls != TlsMode::Prefer || self.tls_root_cert.is_some();
        if self.host.is_empty() {
            self.host = env("PGHOST")
                .filter(|h| !h.starts_with('/'))
                .unwrap_or_else(|| "localhost".into());
        }
        if self.port.is_none() {
            self.port = env("PGPORT").and_then(|p| p.parse().ok());
        }
        if self.user.is_none() {
            self.user = env("PGUSER")
                .or_else(|| env("USER"))
                .or_else(|| Some("postgres".into()));
        }
        if self.password.is_none() {
            self.password = env("PGPASSWORD");
        }
        if self.database.is_none() {
            self.database = env("PGDATABASE").or_else(|| self.user.clone());
        }
        if !explicit_tls {
            if let Some(mode) = env("PGSSLMODE").and_then(|m| parse_tls("PGSSLMODE", &m).ok()) {
                self.tls = mode;
            }
        }
        if self.tls_root_cert.is_none() {
            self.tls_root_cert = env("PGSSLROOTCERT");
        }
        if self.connect_timeout.is_none() {
            self.connect_timeout = env("PGCONNECT_TIMEOUT")
                .and_then(|t| t.parse().ok())
                .map(Duration::from_secs);
        }
        if self.application_name.is_none() {
            self.application_name = env("PGAPPNAME");
        }
    }

    /// The password, for the driver only; never logged.
    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Sets the password (e.g. asked for interactively).
    pub fn set_password(&mut self, password: Option<String>) {
        self.password = password;
    }

    /// A driver parameter from the URL's query.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
            _ => url.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn postgres_url() {
        let o = ConnectOptions::parse_with_env(
            "postgresql://alice:p%40ss@db.example:6543/shop?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3&application_name=x&foo=bar",
            no_env,
        )
        .unwrap();
        assert_eq!(o.host, "db.example");
        assert_eq!(o.port, Some(6543));
        assert_eq!(o.user.as_deref(), Some("alice"));
        assert_eq!(o.password(), Some("p@ss"));
        assert_eq!(o.database.as_deref(), Some("shop"));
        assert_eq!(o.tls, TlsMode::VerifyFull);
        assert_eq!(o.tls_root_cert.as_deref(), Some("/ca.pem"));
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(o.application_name.as_deref(), Some("x"));
        assert_eq!(o.params, vec![("foo".to_string(), "bar".to_string())]);
        let debug = format!("{o:?}");
        assert!(!debug.contains("p@ss") && debug.contains("<redacted>"));
        assert_eq!(o.to_string(), "postgresql://alice@db.example:6543/shop");
    }

    #[test]
    fn pg_env_fills_gaps_only() {
        let env = |k: &str| match k {
            "PGHOST" => Some("envhost".to_string()),
            "PGUSER" => Some("bob".to_string()),
            "PGPASSWORD" => Some("secret".to_string()),
            "PGSSLMODE" => Some("require".to_string()),
            "PGPORT" => Some("7777".to_string()),
            _ => None,
        };
        let o = ConnectOptions::parse_with_env("postgres:///mydb", env).unwrap();
        assert_eq!((o.host.as_str(), o.port), ("envhost", Some(7777)));
        assert_eq!(o.user.as_deref(), Some("bob"));
        assert_eq!(o.password(), Some("secret"));
        assert_eq!(o.database.as_deref(), Some("mydb"));
        assert_eq!(o.tls, TlsMode::Require);
        let o = ConnectOptions::parse_with_env("postgres://u@h:1/?sslmode=disable", env).unwrap();
        assert_eq!((o.host.as_str(), o.port, o.tls), ("h", Some(1), TlsMode::Disable));
        assert_eq!(o.database.as_deref(), Some("u"));
    }

    #[test]
    fn ipv6_and_errors() {
        let o = ConnectOptions::parse_with_env("postgres://[::1]:5432/db", no_env).unwrap();
        assert_eq!(o.host, "::1");
        assert!(ConnectOptions::parse_with_env("postgres://h/db?sslmode=bogus", no_env).is_err());
        assert!(ConnectOptions::parse_with_env("no url here", no_env).is_err());
        let e = ConnectOptions::parse_with_env("postgres://u:pw@h:notaport/db", no_env).unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
        assert!(ConnectOptions::parse_with_env("postgres://h/db?host=/run/pg", no_env).is_err());
    }

    #[test]
    fn sqlite_urls() {
        let o = ConnectOptions::parse_with_env("sqlite:data/app.db?mode=ro", no_env).unwrap();
        assert_eq!(o.path, Some(PathBuf::from("data/app.db")));
        assert_eq!(o.param("mode"), Some("ro"));
        let o = ConnectOptions::parse_with_env("sqlite:///tmp/x.db", no_env).unwrap();
        assert_eq!(o.path, Some(PathBuf::from("/tmp/x.db")));
        let o = ConnectOptions::parse_with_env("sqlite://rel.db", no_env).unwrap();
        assert_eq!(o.path, Some(PathBuf::from("rel.db")));
        let o = ConnectOptions::parse_with_env("sqlite::memory:", no_env).unwrap();
        assert_eq!((o.path.clone(), o.database.as_deref()), (None, Some(":memory:")));
        assert!(ConnectOptions::parse_with_env("sqlite:x.db?mode=zz", no_env).is_err());
        assert_eq!(o.to_string(), "sqlite::memory:");
    }

    #[test]
    fn redacts() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert!(!redact("postgres://u:sec ret@h:x/db").contains("sec ret"));
    }
}
