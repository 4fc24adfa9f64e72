//! Misbehaving peers on 127.0.0.1 for the reliability suite: a scriptable
//! fake PostgreSQL server ([`fake_pg`]) and a TCP fault proxy in front of
//! a real server ([`proxy`]). Both run in-process on the test's runtime.

pub mod fake_pg;
pub mod proxy;

/// Resident set size of this process in bytes (Linux), for "memory stays
/// bounded" checks.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
