//! The adapter's settings, from environment variables (a WASI host gives a
//! component its environment and nothing else to configure it with):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DRIVERBOX_SSLMODE` | `verify-full` | `disable`, `prefer`, `require`, `verify-ca`, `verify-full` (libpq's meanings) |
//! | `DRIVERBOX_SSLROOTCERT` | built-in Mozilla roots | PEM file of trusted CAs (the WASI host must preopen its directory); `system` = built-in roots |
//! | `DRIVERBOX_SSLROOTCERT_PEM` | — | the PEM text itself, for hosts without a filesystem |
//! | `DRIVERBOX_CONNECT_TIMEOUT` | `10` | seconds for name lookup, TCP connect and TLS handshake |
//! | `DRIVERBOX_IO_TIMEOUT` | `60` | seconds one read or write may wait |
//! | `DRIVERBOX_LOG` | `warn` | lowest level written to stderr: `trace` … `error`, or `off` |

use crate::error::AdapterError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// The libpq name.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether plaintext must never carry the session.
    pub fn required(self) -> bool {
        matches!(self, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// Where trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The Mozilla root set built into the adapter (`webpki-roots`).
    BuiltIn,
    /// A PEM file, read through `wasi:filesystem`.
    File(String),
    /// PEM text given in the environment.
    Pem(String),
}

/// Log levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

/// Everything the adapter reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub sslmode: SslMode,
    pub roots: Roots,
    pub connect_timeout_secs: u64,
    pub io_timeout_secs: u64,
    pub log: LogLevel,
}

/// Longest time-out accepted, in seconds (a day).
const MAX_TIMEOUT: u64 = 86_400;

fn timeout(var: &'static str, value: Option<String>, default: u64) -> Result<u64, AdapterError> {
    let Some(value) = value else { return Ok(default) };
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_TIMEOUT).contains(&n) => Ok(n),
        _ => Err(AdapterError::Setting {
            var,
            value,
            why: format!("expected whole seconds from 1 to {MAX_TIMEOUT}"),
        }),
    }
}

impl Settings {
    /// Settings from a variable lookup (`std::env::var` in the component).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, AdapterError> {
        let get = |k: &str| get(k).filter(|v| !v.is_empty());
        let sslmode = match get("DRIVERBOX_SSLMODE") {
            None => SslMode::VerifyFull,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "disable" => SslMode::Disable,
                "prefer" => SslMode::Prefer,
                "require" => SslMode::Require,
                "verify-ca" => SslMode::VerifyCa,
                "verify-full" => SslMode::VerifyFull,
                _ => {
                    return Err(AdapterError::Setting {
                        var: "DRIVERBOX_SSLMODE",
                        value: v,
                        why: "expected disable, prefer, require, verify-ca or verify-full".into(),
                    })
                }
            },
        };
        let roots = match (get("DRIVERBOX_SSLROOTCERT_PEM"), get("DRIVERBOX_SSLROOTCERT")) {
            (Some(pem), _) => Roots::Pem(pem),
            (None, Some(path)) if path == "system" => Roots::BuiltIn,
            (None, Some(path)) => Roots::File(path),
            (None, None) => Roots::BuiltIn,
        };
        let log = match get("DRIVERBOX_LOG") {
            None => LogLevel::Warn,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "trace" => LogLevel::Trace,
                "debug" => LogLevel::Debug,
                "info" => LogLevel::Info,
                "warn" => LogLevel::Warn,
                "error" => LogLevel::Error,
                "off" => LogLevel::Off,
                _ => {
                    return Err(AdapterError::Setting {
                        var: "DRIVERBOX_LOG",
                        value: v,
                        why: "expected trace, debug, info, warn, error or off".into(),
                    })
                }
            },
        };
        Ok(Settings {
            sslmode,
            roots,
            connect_timeout_secs: timeout("DRIVERBOX_CONNECT_TIMEOUT", get("DRIVERBOX_CONNECT_TIMEOUT"), 10)?,
            io_timeout_secs: timeout("DRIVERBOX_IO_TIMEOUT", get("DRIVERBOX_IO_TIMEOUT"), 60)?,
            log,
        })
    }

    /// Settings from this component's environment.
    pub fn from_env() -> Result<Settings, AdapterError> {
        Settings::from_lookup(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, AdapterError> {
        Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_verify_everything() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.sslmode, SslMode::VerifyFull);
        assert_eq!(s.roots, Roots::BuiltIn);
        assert_eq!((s.connect_timeout_secs, s.io_timeout_secs), (10, 60));
        assert_eq!(s.log, LogLevel::Warn);
    }

    #[test]
    fn values_are_read_and_checked() {
        let s = settings(&[
            ("DRIVERBOX_SSLMODE", "Disable"),
            ("DRIVERBOX_SSLROOTCERT", "/certs/ca.pem"),
            ("DRIVERBOX_CONNECT_TIMEOUT", "3"),
            ("DRIVERBOX_LOG", "debug"),
        ])
        .unwrap();
        assert_eq!(s.sslmode, SslMode::Disable);
        assert_eq!(s.roots, Roots::File("/certs/ca.pem".into()));
        assert_eq!(s.connect_timeout_secs, 3);
        assert_eq!(s.log, LogLevel::Debug);
        let pem = settings(&[
            ("DRIVERBOX_SSLROOTCERT", "x"),
            ("DRIVERBOX_SSLROOTCERT_PEM", "-----BEGIN"),
        ])
        .unwrap();
        assert_eq!(pem.roots, Roots::Pem("-----BEGIN".into()));

        let e = settings(&[("DRIVERBOX_SSLMODE", "allow")]).unwrap_err();
        assert!(e.to_string().contains("DRIVERBOX_SSLMODE=\"allow\""), "{e}");
        let e = settings(&[("DRIVERBOX_IO_TIMEOUT", "0")]).unwrap_err();
        assert!(e.to_string().contains("whole seconds"), "{e}");
        assert!(settings(&[("DRIVERBOX_CONNECT_TIMEOUT", "-1")]).is_err());
    }
}
