//! Connection URLs, parsed with the table of URL parameters the driver
//! declares (`ConnectionSettings`): which parameters exist, which
//! environment variables fill them, their defaults, and what the host does
//! with each (host, port, user, TLS, time-out …). The host knows no
//! database's URL rules of its own.
//!
//! Shapes:
//! - network drivers: `scheme://[user[:password]@]host[:port][,host[:port]…][/database][?k=v&…]`,
//!   hosts in brackets for IPv6 (`[::1]:5432`); a URL may leave the hosts
//!   out (`postgres:///db`), then the `host` parameter (its environment
//!   variable, its default) gives them;
//! - file drivers: `scheme:PATH`, `scheme://PATH`, `scheme:///ABSOLUTE`,
//!   `scheme::memory:`, each with `?k=v&…`.
//!
//! Values are percent-decoded. What the URL leaves out comes from the
//! parameter's environment variables (in the order the driver lists them),
//! then from its default. A URL parameter the driver does not declare is
//! an error naming the ones it does.
//!
//! A driver whose table has a `profile` parameter filled from
//! `AWS_PROFILE` (DynamoDB) also gets values from the AWS shared
//! configuration files (`aws_profile`): after the URL and the
//! environment, before defaults; credentials only as a whole (none when
//! the URL or `AWS_ACCESS_KEY_ID` gives some), and those of a profile the
//! URL names win over the environment's.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::error::{Error, Result};

/// TLS policy, with libpq's `sslmode` meanings. The host enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plaintext only.
    Disable,
    /// TLS when the server offers it, without checking the certificate.
    Prefer,
    /// TLS, without checking the certificate.
    Require,
    /// TLS with a certificate signed by a trusted CA.
    VerifyCa,
    /// TLS with a trusted certificate for the host name.
    VerifyFull,
}

impl TlsMode {
    /// libpq's name of the mode.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

/// What the host does with a URL parameter itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    Host,
    Port,
    User,
    Password,
    Database,
    /// libpq's `sslmode` names, MySQL's `ssl-mode` names, or a boolean.
    TlsMode,
    /// `true`: TLS with full verification; `false`: none (MongoDB's `tls`).
    TlsEnabled,
    /// `true`: TLS without checking the certificate (MongoDB's `tlsInsecure`).
    TlsInsecure,
    /// A PEM file of trusted CAs, or `system`.
    TlsRootCert,
    ConnectTimeoutSeconds,
    ConnectTimeoutMilliseconds,
    ApplicationName,
    /// `ro`, `rw`, `rwc` or `memory` (file databases).
    FileMode,
}

/// One URL parameter a driver understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlParameter {
    pub name: String,
    /// Other spellings accepted.
    pub aliases: Vec<String>,
    /// Environment variables consulted in order when the URL leaves it out.
    pub env: Vec<String>,
    pub default: Option<String>,
    /// What it means, in one line.
    pub description: String,
    /// What the host does with it; `None`: the driver gets it.
    pub setting: Option<Setting>,
}

/// How a driver's URLs look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionSettings {
    pub schemes: Vec<String>,
    /// The port of a host that names none.
    pub default_port: Option<u16>,
    /// The database is a file (`scheme:PATH`).
    pub file_based: bool,
    pub parameters: Vec<UrlParameter>,
    /// Defaults for one scheme only, before the parameter's own default
    /// (`mongodb+srv` implies `tls=true`).
    pub scheme_defaults: Vec<SchemeDefault>,
}

/// A parameter's default for URLs of one scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemeDefault {
    pub scheme: String,
    pub parameter: String,
    pub value: String,
}

impl ConnectionSettings {
    fn parameter(&self, key: &str) -> Option<&UrlParameter> {
        self.parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(key) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(key)))
    }
}

/// A server of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
    /// Whether the URL (or a port parameter) named the port; `false`: the
    /// driver's default.
    pub port_given: bool,
}

/// Connection settings parsed from a URL with the driver's parameter
/// table. `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq)]
pub struct ConnectOptions {
    /// URL scheme, lower case; picks the driver.
    pub scheme: String,
    /// Servers to try in order; empty for file databases.
    pub hosts: Vec<HostPort>,
    pub user: Option<String>,
    password: Option<String>,
    /// Database name (or `:memory:` for an in-memory file database).
    pub database: Option<String>,
    /// Database file for file-based drivers.
    pub path: Option<PathBuf>,
    /// `ro`, `rw`, `rwc` or `memory`, for file databases.
    pub file_mode: Option<String>,
    pub tls: TlsMode,
    /// CA certificates (PEM file) for `verify-ca`/`verify-full`, or `system`.
    pub tls_root_cert: Option<String>,
    /// Time allowed for the whole connection set-up.
    pub connect_timeout: Option<Duration>,
    pub application_name: Option<String>,
    /// The driver's own parameters, resolved (URL, environment, default).
    pub params: Vec<(String, String)>,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("scheme", &self.scheme)
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("path", &self.path)
            .field("file_mode", &self.file_mode)
            .field("tls", &self.tls)
            .field("tls_root_cert", &self.tls_root_cert)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field(
                "params",
                &self
                    .params
                    .iter()
                    .map(|(k, v)| (k.as_str(), if is_secret(k) { "<redacted>" } else { v.as_str() }))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Display for ConnectOptions {
    /// The URL without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hosts.is_empty() {
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
        for (i, h) in self.hosts.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if h.host.contains(':') {
                write!(f, "[{}]:{}", h.host, h.port)?;
            } else {
                write!(f, "{}:{}", h.host, h.port)?;
            }
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
        .map_err(|_| Error::Config(format!("`{}` is not valid percent-encoded UTF-8", redact_value(s))))
}

/// Decodes a secret: an error names the part, never its text.
fn decode_secret(s: &str, what: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::Config(format!("the {what} is not valid percent-encoded UTF-8")))
}

/// A value shown in an error: short, never more than its first
/// characters, and redacted as a whole URL is (`redact`): a `k=v` secret
/// and a `user:password@` in it (a file URL's path, a mangled authority)
/// are hidden.
fn redact_value(s: &str) -> String {
    let s = redact(s);
    let mut shown: String = s.chars().take(40).collect();
    if shown.len() < s.len() {
        shown.push('…');
    }
    shown
}

/// Parses a TLS mode: libpq's names, MySQL's, or a boolean.
pub fn parse_tls_mode(key: &str, value: &str) -> Result<TlsMode> {
    Ok(match value.to_ascii_lowercase().replace('_', "-").as_str() {
        "disable" | "disabled" | "false" | "off" | "0" => TlsMode::Disable,
        "allow" | "prefer" | "preferred" => TlsMode::Prefer,
        "require" | "required" | "true" | "on" | "1" => TlsMode::Require,
        "verify-ca" => TlsMode::VerifyCa,
        "verify-full" | "verify-identity" => TlsMode::VerifyFull,
        _ => {
            return Err(Error::Config(format!(
                "{key}={} is not one of disable, prefer, require, verify-ca, verify-full",
                redact_value(value)
            )))
        }
    })
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::Config(format!(
            "{key}={}: expected true or false",
            redact_value(value)
        ))),
    }
}

/// One `host[:port]` or `[v6]:port` of a host list.
fn parse_host(entry: &str) -> Result<(String, Option<u16>)> {
    let port = |p: &str| -> Result<u16> {
        p.parse()
            .map_err(|_| Error::Config(format!("port `{}` is not a port number (1-65535)", redact_value(p))))
    };
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| Error::Config(format!("`{}`: unclosed `[` in the host", redact_value(entry))))?;
        let p = match after.strip_prefix(':') {
            Some(p) => Some(port(p)?),
            None if after.is_empty() => None,
            None => return Err(Error::Config(format!("`{}`: bad text after `]`", redact_value(entry)))),
        };
        return Ok((decode(host)?, p));
    }
    match entry.rsplit_once(':') {
        Some((h, p)) => Ok((decode(h)?, Some(port(p)?))),
        None => Ok((decode(entry)?, None)),
    }
}

/// A parameter's default for URLs of `scheme`: the scheme's own, else the parameter's.
fn default_of<'a>(settings: &'a ConnectionSettings, scheme: &str, p: &'a UrlParameter) -> Option<&'a str> {
    settings
        .scheme_defaults
        .iter()
        .find(|d| d.scheme == scheme && d.parameter.eq_ignore_ascii_case(&p.name))
        .map(|d| d.value.as_str())
        .or(p.default.as_deref())
}

/// What a URL says before defaults: userinfo, hosts, database or path, parameters.
#[derive(Default)]
struct RawUrl {
    user: Option<String>,
    password: Option<String>,
    hosts: Vec<(String, Option<u16>)>,
    target: Option<String>,
    params: Vec<(String, String)>,
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k)?;
            let v = if is_secret(&k) {
                decode_secret(v, &format!("value of {k}"))?
            } else {
                decode(v)?
            };
            Ok((k, v))
        })
        .collect()
}

/// Whether a URL parameter holds a secret (its value is never shown).
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.contains("token")
}

fn parse_raw(rest: &str, file_based: bool) -> Result<RawUrl> {
    let (body, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut raw = RawUrl {
        params: parse_query(query)?,
        ..RawUrl::default()
    };
    if file_based {
        let target = body.strip_prefix("//").unwrap_or(body);
        if !target.is_empty() {
            raw.target = Some(decode(target)?);
        }
        return Ok(raw);
    }
    let Some(authority_and_path) = body.strip_prefix("//") else {
        return Err(Error::Config(
            "expected `scheme://[user[:password]@]host[:port][/database]`".into(),
        ));
    };
    let (authority, path) = match authority_and_path.find('/') {
        Some(i) => (&authority_and_path[..i], &authority_and_path[i + 1..]),
        None => (authority_and_path, ""),
    };
    let hosts = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                raw.user = Some(decode(user)?);
            }
            raw.password = password.map(|p| decode_secret(p, "password")).transpose()?;
            &authority[at + 1..]
        }
        None => authority,
    };
    for entry in hosts.split(',').filter(|h| !h.is_empty()) {
        raw.hosts.push(parse_host(entry)?);
    }
    if !path.is_empty() {
        raw.target = Some(decode(path)?);
    }
    Ok(raw)
}

impl ConnectOptions {
    /// Parses `url` for a driver with `settings`, filling gaps from the
    /// process environment.
    pub fn parse(url: &str, settings: &ConnectionSettings) -> Result<ConnectOptions> {
        Self::parse_with_env(url, settings, |k| std::env::var(k).ok())
    }

    /// [`ConnectOptions::parse`] with an explicit environment (for tests).
    pub fn parse_with_env(
        url: &str,
        settings: &ConnectionSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ConnectOptions> {
        let url = url.trim();
        let scheme = scheme_of(url)?;
        if !settings.schemes.iter().any(|s| s == &scheme) {
            return Err(Error::Config(format!(
                "the driver serves {}, not {scheme}",
                settings.schemes.join(", ")
            )));
        }
        let rest = &url[scheme.len() + 1..];
        let mut raw = parse_raw(rest, settings.file_based).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("`{}`: {m}", redact(url))),
            other => other,
        })?;
        let mut o = ConnectOptions {
            scheme,
            hosts: Vec::new(),
            user: raw.user.clone(),
            password: raw.password.clone(),
            database: None,
            path: None,
            file_mode: None,
            tls: TlsMode::Disable,
            tls_root_cert: None,
            connect_timeout: None,
            application_name: None,
            params: Vec::new(),
        };

        // Every parameter the URL gives, by the driver's table.
        let mut given: Vec<(&UrlParameter, String)> = Vec::new();
        for (k, v) in &raw.params {
            let p = settings.parameter(k).ok_or_else(|| {
                let known: Vec<&str> = settings.parameters.iter().map(|p| p.name.as_str()).collect();
                // A name that is no name (`a:b@c`, from a mangled URL) may
                // hold a password: it is not shown.
                let plausible = k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
                let shown = if plausible {
                    format!("`{k}`")
                } else {
                    "(a name with characters no parameter has, not shown)".to_string()
                };
                Error::Config(format!(
                    "unknown URL parameter {shown}; {} takes {}",
                    o.scheme,
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ))
            })?;
            given.retain(|(q, _)| q.name != p.name);
            given.push((p, v.clone()));
        }
        // `scheme://REGION` for a driver with a `region` parameter and an
        // endpoint made from it (`https://service.{region}.example.com`):
        // the authority names the region, not a host.
        if let (Some(p), [(h, None)]) = (settings.parameter("region"), raw.hosts.as_slice()) {
            let templated = settings.parameters.iter().any(|q| {
                q.setting == Some(Setting::Host) && q.default.as_deref().is_some_and(|d| d.contains("{region}"))
            });
            if templated && looks_like_region(h) && !given.iter().any(|(q, _)| q.name == p.name) {
                given.push((p, h.clone()));
                raw.hosts.clear();
            }
        }
        // An AWS shared-config profile, for a driver that declares one.
        let mut profile = None;
        if let Some(pp) = settings
            .parameter("profile")
            .filter(|p| p.env.iter().any(|e| e == "AWS_PROFILE"))
        {
            let named = given.iter().find(|(q, _)| q.name == pp.name).map(|(_, v)| v.as_str());
            if let Some(mut pr) = crate::aws_profile::Profile::load(named, &env)? {
                let url_credentials = raw.user.is_some() || given.iter().any(|(q, _)| q.setting == Some(Setting::User));
                let env_credentials = env(crate::aws_profile::ACCESS_KEY).is_some_and(|v| !v.is_empty());
                if url_credentials || (env_credentials && !pr.named_in_url) {
                    pr.drop_credentials();
                }
                profile = Some(pr);
            }
        }
        // What the URL's own parts say counts as given.
        let in_url = |s: Setting| match s {
            Setting::User => raw.user.is_some(),
            Setting::Password => raw.password.is_some(),
            Setting::Host => !raw.hosts.is_empty(),
            Setting::Database => raw.target.is_some() && !settings.file_based,
            _ => false,
        };
        let mut explicit_tls = false;
        let mut explicit_root = false;
        let mut tls_enabled = false;
        let mut hosts_param: Option<String> = None;
        let mut port_param: Option<String> = None;
        for p in &settings.parameters {
            let from_url = given.iter().find(|(q, _)| q.name == p.name).map(|(_, v)| v.clone());
            let url_part = p.setting.is_some_and(in_url);
            let value = match from_url {
                Some(v) => Some(v),
                None if url_part => None,
                None => {
                    let from_profile = profile
                        .as_ref()
                        .and_then(|pr| p.env.iter().find_map(|e| pr.get(e)))
                        .map(String::from);
                    // Credentials of a profile the URL names replace the environment's.
                    let profile_wins = profile
                        .as_ref()
                        .is_some_and(|pr| pr.named_in_url && pr.has_credentials())
                        && p.env.iter().any(|e| crate::aws_profile::is_credential(e));
                    let from_env = || {
                        p.env
                            .iter()
                            .filter_map(|e| env(e))
                            // A PGHOST naming a socket directory is no TCP host: skipped.
                            .find(|v| !(v.is_empty() || p.setting == Some(Setting::Host) && v.starts_with('/')))
                    };
                    if profile_wins {
                        from_profile
                    } else {
                        from_env().or(from_profile)
                    }
                    .or_else(|| default_of(settings, &o.scheme, p).map(String::from))
                }
            };
            let Some(value) = value else { continue };
            let key = p.name.as_str();
            let explicit = given.iter().any(|(q, _)| q.name == p.name)
                || default_of(settings, &o.scheme, p) != Some(value.as_str());
            match p.setting {
                None => o.params.push((p.name.clone(), value)),
                Some(Setting::Host) => hosts_param = Some(value),
                Some(Setting::Port) => port_param = Some(value),
                Some(Setting::User) if o.user.is_none() => o.user = Some(value),
                Some(Setting::Password) if o.password.is_none() => o.password = Some(value),
                Some(Setting::Database) if o.database.is_none() => o.database = Some(value),
                Some(Setting::User | Setting::Password | Setting::Database) => {}
                Some(Setting::TlsMode) => {
                    o.tls = parse_tls_mode(key, &value)?;
                    explicit_tls |= explicit;
                }
                Some(Setting::TlsEnabled) => {
                    let on = parse_bool(key, &value)?;
                    if explicit || on {
                        o.tls = if on { TlsMode::VerifyFull } else { TlsMode::Disable };
                        explicit_tls |= explicit;
                        tls_enabled = on;
                    }
                }
                Some(Setting::TlsInsecure) => {
                    if parse_bool(key, &value)? {
                        o.tls = TlsMode::Require;
                        explicit_tls = true;
                    }
                }
                Some(Setting::TlsRootCert) => {
                    explicit_root |= explicit;
                    o.tls_root_cert = Some(value)
                }
                Some(Setting::ConnectTimeoutSeconds | Setting::ConnectTimeoutMilliseconds) => {
                    let n: u64 = value.parse().map_err(|_| {
                        Error::Config(format!("{key}={}: expected a whole number", redact_value(&value)))
                    })?;
                    o.connect_timeout = Some(match p.setting {
                        Some(Setting::ConnectTimeoutSeconds) => Duration::from_secs(n),
                        _ => Duration::from_millis(n),
                    });
                }
                Some(Setting::ApplicationName) => o.application_name = Some(value),
                Some(Setting::FileMode) => {
                    if !matches!(value.as_str(), "ro" | "rw" | "rwc" | "memory") {
                        return Err(Error::Config(format!(
                            "{key}={}: expected ro, rw, rwc or memory",
                            redact_value(&value)
                        )));
                    }
                    o.file_mode = Some(value);
                }
            }
        }
        // A root certificate without an explicit mode checks the CA
        // (libpq's rule for `sslrootcert`; MySQL's for `ssl-ca`).
        // A driver's default root store (`system`) is no such request.
        if o.tls_root_cert.is_some() && explicit_root && !explicit_tls {
            o.tls = TlsMode::VerifyCa;
        }
        // A boolean TLS switch (MongoDB's `tls=true`) checks against the
        // system's roots unless a CA file is given.
        if tls_enabled && o.tls == TlsMode::VerifyFull && o.tls_root_cert.is_none() {
            o.tls_root_cert = Some("system".into());
        }
        // A host parameter given as an HTTP URL (`https://h[:p]`, HTTP
        // databases): `{name}` filled from the driver's parameters, the
        // scheme giving the default port and, unless the TLS mode is
        // explicit, TLS (`https`: verify-full, `http`: none).
        if let Some(h) = hosts_param.take() {
            let h = fill_template(&h, &o.params, url)?;
            hosts_param = Some(match http_endpoint(&h)? {
                Some((https, authority)) => {
                    if !explicit_tls {
                        o.tls = if https { TlsMode::VerifyFull } else { TlsMode::Disable };
                    }
                    let has_port = match authority.strip_prefix('[') {
                        Some(v6) => v6.contains("]:"),
                        None => authority.contains(':'),
                    };
                    if port_param.is_none() && !has_port {
                        port_param = Some(if https { "443" } else { "80" }.to_string());
                    }
                    authority
                }
                None => h,
            });
        }

        if settings.file_based {
            let target = raw.target.clone().unwrap_or_default();
            if target == ":memory:" || (target.is_empty() && o.file_mode.as_deref() == Some("memory")) {
                o.database = Some(":memory:".into());
            } else if target.is_empty() {
                return Err(Error::Config(format!("{}: the URL names no database file", o.scheme)));
            } else {
                o.database = Some(target.clone());
                o.path = Some(PathBuf::from(target));
            }
            return Ok(o);
        }

        if o.database.is_none() {
            o.database = raw.target.clone();
        }
        let port_from_param = port_param.is_some();
        let default_port = match &port_param {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| Error::Config(format!("port={}: expected a port number", redact_value(p))))?,
            ),
            None => settings.default_port,
        };
        let listed: Vec<(String, Option<u16>)> =
            if !raw.hosts.is_empty() && !given.iter().any(|(p, _)| p.setting == Some(Setting::Host)) {
                raw.hosts.clone()
            } else {
                match &hosts_param {
                    Some(h) => h
                        .split(',')
                        .filter(|e| !e.is_empty())
                        .map(parse_host)
                        .collect::<Result<_>>()?,
                    None => raw.hosts.clone(),
                }
            };
        for (host, port) in listed {
            if host.starts_with('/') {
                return Err(Error::Config(format!(
                    "host {}: Unix-domain sockets are not supported, use a TCP host",
                    redact_value(&host)
                )));
            }
            if host.is_empty() {
                return Err(Error::Config("a host of the URL is empty".into()));
            }
            let port_given = port.is_some() || port_from_param;
            let port = port.or(default_port).ok_or_else(|| {
                Error::Config(format!(
                    "{}: no port given and the driver has no default",
                    redact_value(&host)
                ))
            })?;
            o.hosts.push(HostPort { host, port, port_given });
        }
        if o.hosts.is_empty() {
            return Err(Error::Config(format!("`{}` names no host", redact(url))));
        }
        Ok(o)
    }

    /// The first host (network drivers), or `""`.
    pub fn host(&self) -> &str {
        self.hosts.first().map_or("", |h| h.host.as_str())
    }

    /// The first host's port, if there is a host.
    pub fn port(&self) -> Option<u16> {
        self.hosts.first().map(|h| h.port)
    }

    /// The password, for the driver only; never logged. (Public for the
    /// `driverbox` host, which re-exports this type; not for display.)
    #[doc(hidden)]
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Sets the password (e.g. asked for interactively).
    pub fn set_password(&mut self, password: Option<String>) {
        self.password = password;
    }

    /// A driver parameter, resolved.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Whether a URL authority is an AWS-style region name (`us-east-1`,
/// `eu-central-2`, `us-gov-west-1`) rather than a host.
fn looks_like_region(h: &str) -> bool {
    let parts: Vec<&str> = h.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// Fills `{name}` in a parameter value with the resolved driver parameter
/// `name`; one that is not given is an error naming it and where it comes from.
fn fill_template(value: &str, params: &[(String, String)], url: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| Error::Config(format!("`{}`: unclosed `{{` in the endpoint", redact_value(value))))?;
        let name = &rest[open + 1..close];
        let v = params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Error::Config(format!(
                    "`{}` needs the {name} for its endpoint: give it in the URL (`?{name}=…`) or its environment variable",
                    redact(url)
                ))
            })?;
        if !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::Config(format!("{name}={}: not a name", redact_value(v))));
        }
        out.push_str(&rest[..open]);
        out.push_str(v);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `http://authority[/]` or `https://authority[/]`: whether TLS, and the
/// authority; `None` for a value that is not an HTTP URL.
fn http_endpoint(value: &str) -> Result<Option<(bool, String)>> {
    let lower = value.to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, &value[8..])
    } else if lower.starts_with("http://") {
        (false, &value[7..])
    } else {
        return Ok(None);
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ',']) {
        return Err(Error::Config(format!(
            "endpoint `{}`: expected http(s)://host[:port] with no path, query or credentials",
            redact_value(value)
        )));
    }
    Ok(Some((https, authority.to_string())))
}

/// The scheme of a URL, lower case.
pub fn scheme_of(url: &str) -> Result<String> {
    match url.trim().split_once(':') {
        Some((s, _)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) => {
            Ok(s.to_ascii_lowercase())
        }
        _ => Err(Error::Config(format!(
            "`{}` is not a URL: expected e.g. postgres://host/db or sqlite:file.db",
            redact(url)
        ))),
    }
}

/// The URL parameters the host understood itself before contract 0.2, for
/// drivers built against 0.1 (which declare none): libpq's for
/// PostgreSQL-dialect drivers, `mode` for file drivers, and the common TLS
/// and time-out ones for others.
#[doc(hidden)]
pub fn legacy_parameters(file_based: bool, postgres: bool) -> Vec<UrlParameter> {
    use self::{Setting as S, UrlParameter as P};
    let p = |name: &str, aliases: &[&str], env: &[&str], default: Option<&str>, setting: Option<S>, d: &str| P {
        name: name.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        env: env.iter().map(|e| e.to_string()).collect(),
        default: default.map(String::from),
        description: d.into(),
        setting,
    };
    if file_based {
        return vec![
            p(
                "mode",
                &[],
                &[],
                Some("rwc"),
                Some(S::FileMode),
                "ro, rw, rwc or memory",
            ),
            p("busy_timeout", &[], &[], None, None, "milliseconds to wait for a lock"),
        ];
    }
    if postgres {
        return vec![
            p(
                "host",
                &[],
                &["PGHOST"],
                Some("localhost"),
                Some(S::Host),
                "server host",
            ),
            p("port", &[], &["PGPORT"], None, Some(S::Port), "server port"),
            p(
                "user",
                &[],
                &["PGUSER", "USER"],
                Some("postgres"),
                Some(S::User),
                "role",
            ),
            p("password", &[], &["PGPASSWORD"], None, Some(S::Password), "password"),
            p("dbname", &[], &["PGDATABASE"], None, Some(S::Database), "database"),
            p(
                "sslmode",
                &[],
                &["PGSSLMODE"],
                Some("prefer"),
                Some(S::TlsMode),
                "TLS mode",
            ),
            p(
                "sslrootcert",
                &[],
                &["PGSSLROOTCERT"],
                None,
                Some(S::TlsRootCert),
                "trusted CAs",
            ),
            p(
                "connect_timeout",
                &[],
                &["PGCONNECT_TIMEOUT"],
                None,
                Some(S::ConnectTimeoutSeconds),
                "seconds",
            ),
            p(
                "application_name",
                &[],
                &["PGAPPNAME"],
                None,
                Some(S::ApplicationName),
                "application name",
            ),
            p("options", &[], &["PGOPTIONS"], None, None, "server options"),
        ];
    }
    vec![
        p("host", &[], &[], None, Some(S::Host), "server host"),
        p("port", &[], &[], None, Some(S::Port), "server port"),
        p("user", &[], &[], None, Some(S::User), "user"),
        p("password", &[], &[], None, Some(S::Password), "password"),
        p(
            "sslmode",
            &["ssl-mode", "tls"],
            &[],
            Some("prefer"),
            Some(S::TlsMode),
            "TLS mode",
        ),
        p(
            "sslrootcert",
            &["ssl-ca"],
            &[],
            None,
            Some(S::TlsRootCert),
            "trusted CAs",
        ),
        p(
            "connect_timeout",
            &[],
            &[],
            None,
            Some(S::ConnectTimeoutSeconds),
            "seconds",
        ),
        p(
            "application_name",
            &[],
            &[],
            None,
            Some(S::ApplicationName),
            "application name",
        ),
    ]
}

/// The URL with any password replaced, for messages. Works on URLs that
/// do not parse too (a bad port, bad percent-encoding, several hosts):
/// everything between `://` and the last `@` of the authority is hidden
/// but the user name, and a `password=` parameter's value is hidden.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    // Whatever the URL's shape, everything between the first `:` after the
    // scheme and the last `@` before the query may be a password.
    // Without `//`, all of `scheme:TEXT@` is hidden.
    let after_scheme = out.find(':').map_or(0, |i| i + 1);
    let (start, bare) = if out[after_scheme..].starts_with("//") {
        (after_scheme + 2, false)
    } else {
        (after_scheme, true)
    };
    // An `@` after a `?` or `#` (a mangled URL, or one in a value) hides
    // everything up to it.
    if let Some(at) = out[start..].rfind('@').map(|i| start + i) {
        let mangled = out[start..at].contains(['?', '#']);
        match out[start..at].find(':').map(|i| start + i) {
            _ if mangled || bare => out.replace_range(start..at, "***"),
            Some(colon) => out.replace_range(colon + 1..at, "***"),
            None => {}
        }
    }
    hide_secret_pairs(&out)
}

/// `k=v` pairs after a `?` or an `&` (also where a mangled URL has no `?`
/// before them, and in a value quoted in an error): a secret key's value
/// is hidden.
fn hide_secret_pairs(text: &str) -> String {
    let mut hidden = String::with_capacity(text.len());
    for piece in text.split_inclusive(['?', '&']) {
        let (pair, separator) = match piece.strip_suffix(['?', '&']) {
            Some(pair) => (pair, &piece[pair.len()..]),
            None => (piece, ""),
        };
        // The first secret key hides all after it (`port=password=S`,
        // a pair whose `&` was lost, too).
        let parts: Vec<&str> = pair.split('=').collect();
        match parts[..parts.len() - 1].iter().position(|k| is_secret(k)) {
            Some(i) => {
                hidden.push_str(&parts[..=i].join("="));
                hidden.push_str("=***");
            }
            None => hidden.push_str(pair),
        }
        hidden.push_str(separator);
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg() -> ConnectionSettings {
        ConnectionSettings {
            schemes: vec!["postgres".into(), "postgresql".into()],
            default_port: Some(5432),
            file_based: false,
            parameters: legacy_parameters(false, true),
            scheme_defaults: Vec::new(),
        }
    }

    fn sqlite() -> ConnectionSettings {
        ConnectionSettings {
            schemes: vec!["sqlite".into()],
            default_port: None,
            file_based: true,
            parameters: legacy_parameters(true, false),
            scheme_defaults: Vec::new(),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// The DynamoDB driver's table (as `guest/dynamodb/src/traits.rs` declares it).
    fn dynamodb() -> ConnectionSettings {
        let p = |name: &str, env: &[&str], default: Option<&str>, setting: Option<Setting>| UrlParameter {
            name: name.into(),
            aliases: Vec::new(),
            env: env.iter().map(|e| e.to_string()).collect(),
            default: default.map(String::from),
            description: String::new(),
            setting,
        };
        ConnectionSettings {
            schemes: vec!["dynamodb".into()],
            default_port: Some(443),
            file_based: false,
            parameters: vec![
                p("region", &["AWS_REGION", "AWS_DEFAULT_REGION"], None, None),
                p(
                    "endpoint",
                    &["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"],
                    Some("https://dynamodb.{region}.amazonaws.com"),
                    Some(Setting::Host),
                ),
                p("user", &["AWS_ACCESS_KEY_ID"], None, Some(Setting::User)),
                p("password", &["AWS_SECRET_ACCESS_KEY"], None, Some(Setting::Password)),
                p("session_token", &["AWS_SESSION_TOKEN"], None, None),
                p("profile", &["AWS_PROFILE"], None, None),
                p("tls", &[], Some("verify-full"), Some(Setting::TlsMode)),
                p(
                    "ca-file",
                    &["AWS_CA_BUNDLE"],
                    Some("system"),
                    Some(Setting::TlsRootCert),
                ),
            ],
            scheme_defaults: Vec::new(),
        }
    }

    #[test]
    fn dynamodb_urls() {
        // The real service: the authority is the region.
        let o = ConnectOptions::parse_with_env("dynamodb://AKID:s%2Fecret@eu-west-3", &dynamodb(), no_env).unwrap();
        assert_eq!((o.host(), o.port()), ("dynamodb.eu-west-3.amazonaws.com", Some(443)));
        assert_eq!(o.param("region"), Some("eu-west-3"));
        assert_eq!(
            (o.tls, o.tls_root_cert.as_deref()),
            (TlsMode::VerifyFull, Some("system"))
        );
        assert_eq!((o.user.as_deref(), o.password()), (Some("AKID"), Some("s/ecret")));
        let o = ConnectOptions::parse_with_env("dynamodb://us-gov-west-1", &dynamodb(), no_env).unwrap();
        assert_eq!(o.host(), "dynamodb.us-gov-west-1.amazonaws.com");
        // Region and credentials from the environment.
        let env = |k: &str| match k {
            "AWS_REGION" => Some("ap-southeast-2".to_string()),
            "AWS_ACCESS_KEY_ID" => Some("AKENV".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret-env".to_string()),
            "AWS_SESSION_TOKEN" => Some("token-env".to_string()),
            _ => None,
        };
        let o = ConnectOptions::parse_with_env("dynamodb://", &dynamodb(), env).unwrap();
        assert_eq!(o.host(), "dynamodb.ap-southeast-2.amazonaws.com");
        assert_eq!((o.user.as_deref(), o.password()), (Some("AKENV"), Some("secret-env")));
        assert_eq!(o.param("session_token"), Some("token-env"));
        let shown = format!("{o:?} {o}");
        assert!(!shown.contains("secret-env") && !shown.contains("token-env"), "{shown}");
        // A local server: host and port, TLS as asked.
        let o = ConnectOptions::parse_with_env(
            "dynamodb://a:b@127.0.0.1:8000?region=us-east-1&tls=disable",
            &dynamodb(),
            no_env,
        )
        .unwrap();
        assert_eq!((o.host(), o.port(), o.tls), ("127.0.0.1", Some(8000), TlsMode::Disable));
        // Without `tls`, an endpoint host gets verify-full (system roots), not verify-ca.
        let o = ConnectOptions::parse_with_env("dynamodb://a:b@db.internal:8443", &dynamodb(), no_env).unwrap();
        assert_eq!((o.port(), o.tls), (Some(8443), TlsMode::VerifyFull));
        // An endpoint URL: its scheme gives TLS and the port.
        let env = |k: &str| (k == "AWS_ENDPOINT_URL_DYNAMODB").then(|| "http://localhost:4566/".to_string());
        let o = ConnectOptions::parse_with_env("dynamodb://a:b@", &dynamodb(), env).unwrap();
        assert_eq!((o.host(), o.port(), o.tls), ("localhost", Some(4566), TlsMode::Disable));
        let o = ConnectOptions::parse_with_env("dynamodb://?endpoint=https%3A%2F%2Fddb.example", &dynamodb(), no_env)
            .unwrap();
        assert_eq!(
            (o.host(), o.port(), o.tls),
            ("ddb.example", Some(443), TlsMode::VerifyFull)
        );
        let o = ConnectOptions::parse_with_env("dynamodb://?endpoint=http://[::1]&tls=require", &dynamodb(), no_env)
            .unwrap();
        assert_eq!((o.host(), o.port(), o.tls), ("::1", Some(80), TlsMode::Require));
        // Errors name what is missing or wrong.
        let e = ConnectOptions::parse_with_env("dynamodb://", &dynamodb(), no_env).unwrap_err();
        assert!(e.to_string().contains("region"), "{e}");
        let e = ConnectOptions::parse_with_env("dynamodb://?region=x.evil.com%2F", &dynamodb(), no_env).unwrap_err();
        assert!(e.to_string().contains("not a name"), "{e}");
        let e = ConnectOptions::parse_with_env("dynamodb://?endpoint=https://h/path", &dynamodb(), no_env).unwrap_err();
        assert!(e.to_string().contains("no path"), "{e}");
        // A host that is no region stays a host.
        assert!(!looks_like_region("localhost") && !looks_like_region("db-1") && !looks_like_region("a-b-c"));
        assert!(looks_like_region("eu-central-1") && looks_like_region("us-gov-east-1"));
    }

    #[test]
    fn dynamodb_profiles_after_url_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap().to_string();
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        std::fs::write(
            dir.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = sec-def\naws_session_token = tok-def\n\
             [dev]\naws_access_key_id = AKDEV\naws_secret_access_key = sec-dev\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".aws/config"),
            "[default]\nregion = us-west-2\n[profile dev]\nregion = eu-north-1\nendpoint_url = http://127.0.0.1:8111\n",
        )
        .unwrap();
        let with = |extra: &'static [(&'static str, &'static str)]| {
            let home = home.clone();
            move |k: &str| {
                if k == "HOME" {
                    return Some(home.clone());
                }
                extra.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
            }
        };
        // The default profile: credentials, session token and region.
        let o = ConnectOptions::parse_with_env("dynamodb://", &dynamodb(), with(&[])).unwrap();
        assert_eq!((o.user.as_deref(), o.password()), (Some("AKDEF"), Some("sec-def")));
        assert_eq!(
            (o.param("session_token"), o.param("region")),
            (Some("tok-def"), Some("us-west-2"))
        );
        assert_eq!(o.host(), "dynamodb.us-west-2.amazonaws.com");
        let shown = format!("{o:?} {o}");
        assert!(!shown.contains("sec-def") && !shown.contains("tok-def"), "{shown}");
        // AWS_PROFILE picks another; its endpoint_url gives the endpoint.
        let o = ConnectOptions::parse_with_env("dynamodb://", &dynamodb(), with(&[("AWS_PROFILE", "dev")])).unwrap();
        assert_eq!(
            (o.user.as_deref(), o.param("region")),
            (Some("AKDEV"), Some("eu-north-1"))
        );
        assert_eq!((o.host(), o.port(), o.tls), ("127.0.0.1", Some(8111), TlsMode::Disable));
        assert_eq!(o.param("session_token"), None, "not the default profile's token");
        // The environment beats the profile, and its credentials are not mixed with the profile's.
        let o = ConnectOptions::parse_with_env(
            "dynamodb://",
            &dynamodb(),
            with(&[
                ("AWS_ACCESS_KEY_ID", "AKENV"),
                ("AWS_SECRET_ACCESS_KEY", "sec-env"),
                ("AWS_REGION", "ap-south-1"),
            ]),
        )
        .unwrap();
        assert_eq!((o.user.as_deref(), o.password()), (Some("AKENV"), Some("sec-env")));
        assert_eq!(
            (o.param("session_token"), o.param("region")),
            (None, Some("ap-south-1"))
        );
        // AWS_DEFAULT_REGION still beats the profile's region.
        let o =
            ConnectOptions::parse_with_env("dynamodb://", &dynamodb(), with(&[("AWS_DEFAULT_REGION", "sa-east-1")]))
                .unwrap();
        assert_eq!(o.param("region"), Some("sa-east-1"));
        // The URL beats both; a URL's profile beats the environment's credentials.
        let o = ConnectOptions::parse_with_env(
            "dynamodb://AKURL:sec-url@?region=eu-west-1",
            &dynamodb(),
            with(&[("AWS_ACCESS_KEY_ID", "AKENV"), ("AWS_SECRET_ACCESS_KEY", "sec-env")]),
        )
        .unwrap();
        assert_eq!(
            (o.user.as_deref(), o.password(), o.param("session_token")),
            (Some("AKURL"), Some("sec-url"), None)
        );
        assert_eq!(o.param("region"), Some("eu-west-1"));
        let o = ConnectOptions::parse_with_env(
            "dynamodb://?profile=dev",
            &dynamodb(),
            with(&[
                ("AWS_ACCESS_KEY_ID", "AKENV"),
                ("AWS_SECRET_ACCESS_KEY", "sec-env"),
                ("AWS_SESSION_TOKEN", "tok-env"),
            ]),
        )
        .unwrap();
        assert_eq!(
            (o.user.as_deref(), o.password(), o.param("session_token")),
            (Some("AKDEV"), Some("sec-dev"), None)
        );
        // A profile named but in no file: an error naming it, no secret.
        let e = ConnectOptions::parse_with_env("dynamodb://?profile=ghost", &dynamodb(), with(&[])).unwrap_err();
        assert!(e.to_string().contains("\"ghost\""), "{e}");
        // No home, no files: as before.
        let e = ConnectOptions::parse_with_env("dynamodb://", &dynamodb(), no_env).unwrap_err();
        assert!(e.to_string().contains("region"), "{e}");
    }

    #[test]
    fn postgres_url() {
        let o = ConnectOptions::parse_with_env(
            "postgresql://alice:p%40ss@db.example:6543/shop?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3&application_name=x&options=-c%20a%3Db",
            &pg(),
            no_env,
        )
        .unwrap();
        assert_eq!((o.host(), o.port()), ("db.example", Some(6543)));
        assert_eq!(o.user.as_deref(), Some("alice"));
        assert_eq!(o.password(), Some("p@ss"));
        assert_eq!(o.database.as_deref(), Some("shop"));
        assert_eq!(o.tls, TlsMode::VerifyFull);
        assert_eq!(o.tls_root_cert.as_deref(), Some("/ca.pem"));
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(o.application_name.as_deref(), Some("x"));
        assert_eq!(o.params, vec![("options".to_string(), "-c a=b".to_string())]);
        let debug = format!("{o:?}");
        assert!(!debug.contains("p@ss") && debug.contains("<redacted>"));
        assert_eq!(o.to_string(), "postgresql://alice@db.example:6543/shop");
    }

    #[test]
    fn scheme_defaults_and_given_ports() {
        let mut s = pg();
        s.schemes.push("pgs".into());
        s.scheme_defaults = vec![SchemeDefault {
            scheme: "pgs".into(),
            parameter: "SSLMODE".into(),
            value: "require".into(),
        }];
        let o = ConnectOptions::parse_with_env("pgs://h/db", &s, no_env).unwrap();
        assert_eq!(o.tls, TlsMode::Require, "the scheme's default");
        assert!(!o.hosts[0].port_given);
        assert_eq!(o.hosts[0].port, 5432);
        let o = ConnectOptions::parse_with_env("pgs://h/db?sslmode=disable", &s, no_env).unwrap();
        assert_eq!(o.tls, TlsMode::Disable, "the URL wins");
        let o = ConnectOptions::parse_with_env("postgres://h:5432,g/db", &s, no_env).unwrap();
        assert_eq!(o.tls, TlsMode::Prefer, "other schemes keep the parameter's default");
        let given: Vec<bool> = o.hosts.iter().map(|h| h.port_given).collect();
        assert_eq!(given, vec![true, false]);
        let o = ConnectOptions::parse_with_env("postgres://h/db?port=6000", &s, no_env).unwrap();
        assert!(o.hosts[0].port_given, "a port parameter names the port too");
    }

    #[test]
    fn environment_fills_gaps_only() {
        let env = |k: &str| match k {
            "PGHOST" => Some("envhost".to_string()),
            "PGUSER" => Some("bob".to_string()),
            "PGPASSWORD" => Some("secret".to_string()),
            "PGSSLMODE" => Some("require".to_string()),
            "PGPORT" => Some("7777".to_string()),
            _ => None,
        };
        let o = ConnectOptions::parse_with_env("postgres:///mydb", &pg(), env).unwrap();
        assert_eq!((o.host(), o.port()), ("envhost", Some(7777)));
        assert_eq!(o.user.as_deref(), Some("bob"));
        assert_eq!(o.password(), Some("secret"));
        assert_eq!(o.database.as_deref(), Some("mydb"));
        assert_eq!(o.tls, TlsMode::Require);
        let o = ConnectOptions::parse_with_env("postgres://u@h:1/?sslmode=disable", &pg(), env).unwrap();
        assert_eq!((o.host(), o.port(), o.tls), ("h", Some(1), TlsMode::Disable));
        assert_eq!(o.user.as_deref(), Some("u"));
        // The environment's port applies to hosts without one.
        let o = ConnectOptions::parse_with_env("postgres://h/db", &pg(), env).unwrap();
        assert_eq!(o.port(), Some(7777));
    }

    #[test]
    fn root_certificate_turns_on_verification_from_the_url_or_the_environment() {
        let o = ConnectOptions::parse_with_env("postgres://h/db?sslrootcert=/ca.pem", &pg(), no_env).unwrap();
        assert_eq!(o.tls, TlsMode::VerifyCa);
        let env = |k: &str| (k == "PGSSLROOTCERT").then(|| "/ca.pem".to_string());
        let o = ConnectOptions::parse_with_env("postgres://h/db", &pg(), env).unwrap();
        assert_eq!(o.tls, TlsMode::VerifyCa);
        let o = ConnectOptions::parse_with_env("postgres://h/db?sslmode=require", &pg(), env).unwrap();
        assert_eq!(o.tls, TlsMode::Require);
    }

    #[test]
    fn host_lists() {
        let o = ConnectOptions::parse_with_env("postgres://a:1,b,[::1]:3/db", &pg(), no_env).unwrap();
        let hosts: Vec<(&str, u16)> = o.hosts.iter().map(|h| (h.host.as_str(), h.port)).collect();
        assert_eq!(hosts, vec![("a", 1), ("b", 5432), ("::1", 3)]);
        assert_eq!(o.to_string(), "postgres://postgres@a:1,b:5432,[::1]:3/db");
        let o = ConnectOptions::parse_with_env("postgres:///db?host=x,y&port=9", &pg(), no_env).unwrap();
        assert_eq!(o.hosts.len(), 2);
        assert_eq!(o.port(), Some(9));
    }

    #[test]
    fn errors_name_the_problem_without_the_password() {
        for bad in [
            "postgres://u:pw@h:notaport/db",
            "postgres://u:pw@h:99999/db",
            "postgres://u:p%ffw@h/db",
            "postgres://h/db?sslmode=bogus",
            "postgres://h/db?nosuchparam=1",
            "postgres://h/db?host=/run/pg",
            "no url here",
        ] {
            let e = ConnectOptions::parse_with_env(bad, &pg(), no_env)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("pw") && !e.contains("p%ffw"), "{bad}: {e}");
        }
        let e = ConnectOptions::parse_with_env("postgres://h/db?nosuch=1", &pg(), no_env).unwrap_err();
        assert!(e.to_string().contains("sslmode"), "names the known parameters: {e}");
    }

    #[test]
    fn sqlite_urls() {
        let o = ConnectOptions::parse_with_env("sqlite:data/app.db?mode=ro", &sqlite(), no_env).unwrap();
        assert_eq!(o.path, Some(PathBuf::from("data/app.db")));
        assert_eq!(o.file_mode.as_deref(), Some("ro"));
        let o = ConnectOptions::parse_with_env("sqlite:///tmp/x.db", &sqlite(), no_env).unwrap();
        assert_eq!(o.path, Some(PathBuf::from("/tmp/x.db")));
        let o = ConnectOptions::parse_with_env("sqlite://rel.db", &sqlite(), no_env).unwrap();
        assert_eq!(o.path, Some(PathBuf::from("rel.db")));
        let o = ConnectOptions::parse_with_env("sqlite::memory:", &sqlite(), no_env).unwrap();
        assert_eq!((o.path.clone(), o.database.as_deref()), (None, Some(":memory:")));
        assert!(ConnectOptions::parse_with_env("sqlite:x.db?mode=zz", &sqlite(), no_env).is_err());
        assert!(ConnectOptions::parse_with_env("sqlite:", &sqlite(), no_env).is_err());
        assert_eq!(o.to_string(), "sqlite::memory:");
    }

    /// A fuzz-style check run with the unit tests: 20 000 mutations of
    /// valid URLs (separators, `%` escapes, brackets, non-ASCII) never
    /// make the parser or the redaction panic, and an error never quotes
    /// the password of a URL whose userinfo is intact.
    #[test]
    fn mutated_urls_never_panic() {
        let seeds = [
            "postgresql://alice:Pw9xQ@db.example:6543/shop?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3",
            "postgres://alice:Pw9xQ@[::1]:5432,h2:1/db?options=-c%20a%3Db&application_name=x",
            "postgres:///db?host=h&port=5&password=Pw9xQ",
            "sqlite:///tmp/x.db?mode=ro",
            "sqlite::memory:",
        ];
        let pieces = [
            ":", "@", "/", "//", "?", "&", "=", "%", "%ff", "%2", "[", "]", ",", "ÿ", "é", "\0", "99999", "-1", " ",
            "#", ":@", "[::", "%40",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut url: Vec<char> = seeds[(next() % seeds.len() as u64) as usize].chars().collect();
            for _ in 0..1 + next() % 4 {
                let at = (next() % (url.len() as u64 + 1)) as usize;
                match next() % 3 {
                    0 => {
                        let piece = pieces[(next() % pieces.len() as u64) as usize];
                        url.splice(at..at, piece.chars());
                    }
                    1 if at < url.len() => {
                        let end = (at + 1 + (next() % 8) as usize).min(url.len());
                        url.drain(at..end);
                    }
                    _ => {
                        let end = (at + (next() % 12) as usize).min(url.len());
                        let copy: Vec<char> = url[at..end].to_vec();
                        url.splice(at..at, copy);
                    }
                }
            }
            let url: String = url.into_iter().collect();
            let _ = redact(&url);
            for settings in [pg(), sqlite()] {
                match ConnectOptions::parse_with_env(&url, &settings, no_env) {
                    Ok(o) => {
                        let shown = format!("{o:?} {o}");
                        if o.password() == Some("Pw9xQ") && url.matches("Pw9xQ").count() == 1 {
                            assert!(!shown.contains("Pw9xQ"), "{url}");
                        }
                    }
                    Err(e) => {
                        let intact = url.contains(":Pw9xQ@") && url.matches("Pw9xQ").count() == 1;
                        assert!(!(intact && e.to_string().contains("Pw9xQ")), "{url}: {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_bad_escape_in_a_file_url_does_not_show_its_userinfo() {
        // Found by the host_url fuzzer: a file URL's path is quoted whole.
        let e = ConnectOptions::parse_with_env("sqlite://,mp%BB:Pw9xQ@host/x", &sqlite(), |_| None).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("not valid percent-encoded UTF-8"), "{text}");
        assert!(!text.contains("Pw9xQ"), "{text}");
    }

    #[test]
    fn redacts() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert!(!redact("postgres://u:sec ret@h:x/db").contains("sec ret"));
        assert!(!redact("postgres://127.0.0.1:99999/test?user=postgres&password=S3cr3t").contains("S3cr3t"));
        assert!(!redact("postgres://postgres:S%ff@127.0.0.1/test").contains("S%ff"));
        assert!(!redact("postgres://u:a@b@h/db").contains("a@b"));
        // Found by the fuzzer (`host_url`): `password=` in a URL without `?`.
        let mangled = "dynamodb1]:2&port=5&password=Pw9xQ&tls=disable";
        assert_eq!(redact(mangled), "dynamodb1]:2&port=5&password=***&tls=disable");
        let e = scheme_of(mangled).unwrap_err().to_string();
        assert!(!e.contains("Pw9xQ") && e.contains("port=5"), "{e}");
        assert!(!redact("postgres://h/db&password=S3?sslmode=x").contains("S3"));
        assert_eq!(
            redact("x]:2&port=password=Pw9xQ&tls=a=b"),
            "x]:2&port=password=***&tls=a=b"
        );
    }
}
