//! Process figures (CPU time, RSS) and order statistics.

use std::time::Duration;

/// User + system CPU time of the whole process (`getrusage(RUSAGE_SELF)`).
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct we hand it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Resident set size of the process, bytes (`/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    pages * page
}

/// Proportional and private resident bytes of the process
/// (`/proc/self/smaps_rollup`, `Pss` and `Private_Clean + Private_Dirty`):
/// unlike RSS, a page mapped more than once — as wasmtime maps one
/// driver's memory image into every instance — counts once in all.
pub fn pss_and_private_bytes() -> (u64, u64) {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |key: &str| -> u64 {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("Pss:"), field("Private_Clean:") + field("Private_Dirty:"))
}

/// Resident bytes per mapping (`/proc/self/smaps`), keyed by the
/// mapping's start address and name: what [`rss_growth_by_mapping`] compares.
pub fn rss_by_mapping() -> std::collections::BTreeMap<(u64, String), u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut out = std::collections::BTreeMap::new();
    let mut key = None;
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((start, _)) = first
            .split_once('-')
            .filter(|(s, _)| u64::from_str_radix(s, 16).is_ok())
        {
            let name = line.split_whitespace().nth(5).unwrap_or("[anon]").to_string();
            key = Some((u64::from_str_radix(start, 16).unwrap_or(0), name));
        } else if first == "Rss:" {
            let kib: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            if let Some(k) = key.take() {
                out.insert(k, kib * 1024);
            }
        }
    }
    out
}

/// The mappings that grew most between two [`rss_by_mapping`] readings:
/// `(name, start address, bytes grown)`, largest first. Mappings are told apart
/// by name and start address; a new mapping counts from zero.
pub fn rss_growth_by_mapping(
    before: &std::collections::BTreeMap<(u64, String), u64>,
    after: &std::collections::BTreeMap<(u64, String), u64>,
) -> Vec<(String, u64, u64)> {
    let mut grown: Vec<(String, u64, u64)> = after
        .iter()
        .filter_map(|((start, name), &rss)| {
            let was = before.get(&(*start, name.clone())).copied().unwrap_or(0);
            (rss > was).then(|| (name.clone(), *start, rss - was))
        })
        .collect();
    grown.sort_by_key(|g| std::cmp::Reverse(g.2));
    grown
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The median (mean of the two middle values for an even count).
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Microseconds of a duration, as f64.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A small deterministic PRNG (xorshift64*), so every contender asks for
/// the same keys in the same order.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A key in 1..=n.
    pub fn key(&mut self, n: u64) -> i32 {
        (self.next() % n + 1) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statistics() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(cpu_time() > Duration::ZERO || cpu_time() == Duration::ZERO);
        assert!(rss_bytes() > 0);
    }
}
