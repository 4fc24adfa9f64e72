//! Misbehaving peers on 127.0.0.1 for the reliability suite: scriptable
//! fake PostgreSQL, MySQL and MongoDB servers ([`fake_pg`], [`fake_mysql`],
//! [`fake_mongo`]) and a TCP fault proxy in front of a real server
//! ([`proxy`]). All run in-process on the test's runtime.

pub mod fake_mongo;
pub mod fake_mysql;
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
