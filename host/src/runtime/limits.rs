//! Sandbox limits, named like wasmtime's `-W` options, with safe defaults.

use std::time::Duration;

use crate::error::{Error, Result};

/// Limits applied to every driver instance (one per pooled connection).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// `max-memory-size`: bytes of linear memory per instance (default 512 MiB).
    pub max_memory_size: usize,
    /// `timeout`: wall-clock deadline of one call into a driver (default 60 s).
    /// A call past it is stopped and its connection discarded.
    pub timeout: Duration,
    /// `max-table-elements`: elements per wasm table (default 20 000).
    pub max_table_elements: usize,
    /// `max-instances`: driver instances alive at once, all pools together (default 256).
    pub max_instances: u32,
    /// `max-handles`: sockets a driver instance may hold open (default 4).
    pub max_handles: usize,
    /// `max-component-handles`: resource handles of any kind alive in one
    /// instance (default 10 000).
    pub max_component_handles: usize,
    /// `max-result-bytes`: bytes one call may copy out of a driver, its
    /// result in the component model's layout (default 256 MiB); stream
    /// bigger results.
    pub max_result_bytes: usize,
    /// `connect-timeout`: default time allowed for the whole connection
    /// set-up: TCP, TLS, startup and authentication (default 10 s).
    pub connect_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_memory_size: 512 << 20,
            timeout: Duration::from_secs(60),
            max_table_elements: 20_000,
            max_instances: 256,
            max_handles: 4,
            max_component_handles: 10_000,
            max_result_bytes: 256 << 20,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

fn parse_size(v: &str) -> Option<usize> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: usize = v[..split].parse().ok()?;
    let unit = match v[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(unit)
}

fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(v.len());
    let n: f64 = v[..split].parse().ok()?;
    let secs = match &v[split..] {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        _ => return None,
    };
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

impl Limits {
    /// Applies one `name=value` setting, as in `-W timeout=5s`.
    pub fn set(&mut self, setting: &str) -> Result<()> {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("-W {setting}: expected NAME=VALUE")))?;
        let bad = || Error::Config(format!("-W {setting}: bad value for {name}"));
        match name.trim() {
            "max-memory-size" => self.max_memory_size = parse_size(value).ok_or_else(bad)?,
            "timeout" => self.timeout = parse_duration(value).ok_or_else(bad)?,
            "max-table-elements" => self.max_table_elements = value.parse().map_err(|_| bad())?,
            "max-instances" => self.max_instances = value.parse().map_err(|_| bad())?,
            "max-handles" => self.max_handles = value.parse().map_err(|_| bad())?,
            "max-component-handles" => self.max_component_handles = value.parse().map_err(|_| bad())?,
            "max-result-bytes" => self.max_result_bytes = parse_size(value).ok_or_else(bad)?,
            "connect-timeout" => self.connect_timeout = parse_duration(value).ok_or_else(bad)?,
            other => {
                return Err(Error::Config(format!(
                    "-W {other}: unknown limit (known: max-memory-size, timeout, max-table-elements, \
                     max-instances, max-handles, max-component-handles, max-result-bytes, connect-timeout)"
                )))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_settings() {
        let mut l = Limits::default();
        l.set("max-memory-size=64MiB").unwrap();
        l.set("timeout=250ms").unwrap();
        l.set("max-handles=2").unwrap();
        assert_eq!(l.max_memory_size, 64 << 20);
        assert_eq!(l.timeout, Duration::from_millis(250));
        assert_eq!(l.max_handles, 2);
        assert!(l.set("timeout=-1s").is_err());
        assert!(l.set("bogus=1").is_err());
        assert!(l.set("timeout").is_err());
    }
}
