//! Measurements per round, their medians, and driverbox ÷ peer ratios.

use serde::{Deserialize, Serialize};

use crate::stats::median;

/// Which way is good for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// One metric of one contender in one workload: a value per round.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub workload: String,
    pub metric: String,
    pub unit: String,
    pub better: Better,
    pub contender: String,
    pub rounds: Vec<f64>,
    pub median: f64,
}

/// driverbox ÷ peer for one metric.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    pub workload: String,
    pub metric: String,
    pub better: Better,
    pub driverbox: String,
    pub peer: String,
    pub driverbox_median: f64,
    pub peer_median: f64,
    /// driverbox ÷ peer of the medians.
    pub ratio: f64,
    /// Whether driverbox does at least as well as the peer.
    pub driverbox_not_worse: bool,
}

/// Everything measured in one run.
#[derive(Debug, Default, Serialize)]
pub struct Results {
    pub metrics: Vec<Metric>,
    /// Workloads or contenders that could not run, and why.
    pub skipped: Vec<String>,
    /// Facts measured along the way worth keeping (not compared).
    pub notes: Vec<String>,
}

/// Which contenders compare with which.
pub const PAIRS: &[(&str, &str)] = &[
    ("driverbox", "tokio-postgres"),
    ("driverbox", "sqlx"),
    ("driverbox stream", "tokio-postgres"),
    ("driverbox stream", "sqlx"),
    ("driverbox query", "tokio-postgres"),
    ("driverbox query", "sqlx"),
    ("driverbox arrow", "adbc-postgresql"),
    ("driverbox portable", "driverbox"),
    ("driverbox portable", "driverbox stream"),
    ("driverbox portable", "tokio-postgres"),
    ("driverbox-sqlite", "rusqlite"),
    ("driverbox", "mysql_async"),
    ("driverbox", "sqlx-mysql"),
    ("driverbox stream", "mysql_async"),
    ("driverbox stream", "mysql_async binary"),
    ("driverbox stream", "sqlx-mysql"),
    ("driverbox-mongodb", "mongodb"),
    ("driverbox-dynamodb", "aws-sdk-dynamodb"),
    ("driverbox near swaps", "driverbox away from swaps"),
];

impl Results {
    /// Adds one round's value.
    pub fn record(&mut self, workload: &str, metric: &str, unit: &str, better: Better, contender: &str, value: f64) {
        match self
            .metrics
            .iter_mut()
            .find(|m| m.workload == workload && m.metric == metric && m.contender == contender)
        {
            Some(m) => {
                m.rounds.push(value);
                m.median = median(&m.rounds);
            }
            None => self.metrics.push(Metric {
                workload: workload.into(),
                metric: metric.into(),
                unit: unit.into(),
                better,
                contender: contender.into(),
                rounds: vec![value],
                median: value,
            }),
        }
    }

    pub fn skip(&mut self, why: impl Into<String>) {
        let why = why.into();
        eprintln!("  skipped: {why}");
        self.skipped.push(why);
    }

    pub fn note(&mut self, what: impl Into<String>) {
        let what = what.into();
        eprintln!("  note: {what}");
        self.notes.push(what);
    }

    /// Every driverbox ÷ peer ratio that both sides measured.
    pub fn ratios(&self) -> Vec<Ratio> {
        let mut out = Vec::new();
        for m in &self.metrics {
            for (ours, peer) in PAIRS {
                if m.contender != *ours {
                    continue;
                }
                let Some(p) = self
                    .metrics
                    .iter()
                    .find(|p| p.workload == m.workload && p.metric == m.metric && p.contender == *peer)
                else {
                    continue;
                };
                let ratio = m.median / p.median;
                if !ratio.is_finite() {
                    continue;
                }
                let not_worse = match m.better {
                    Better::Lower => ratio <= 1.0,
                    Better::Higher => ratio >= 1.0,
                };
                out.push(Ratio {
                    workload: m.workload.clone(),
                    metric: m.metric.clone(),
                    better: m.better,
                    driverbox: m.contender.clone(),
                    peer: peer.to_string(),
                    driverbox_median: m.median,
                    peer_median: p.median,
                    ratio,
                    driverbox_not_worse: not_worse,
                });
            }
        }
        out
    }

    /// The table of medians and ratios, as Markdown.
    pub fn table(&self) -> String {
        let mut s = String::new();
        s.push_str("| workload | metric | contender | median | rounds |\n|---|---|---|---:|---:|\n");
        for m in &self.metrics {
            s.push_str(&format!(
                "| {} | {} ({}, {} is better) | {} | {} | {} |\n",
                m.workload,
                m.metric,
                m.unit,
                if m.better == Better::Lower { "lower" } else { "higher" },
                m.contender,
                fmt_num(m.median),
                m.rounds.len()
            ));
        }
        s.push_str("\n| workload | metric | driverbox ÷ peer | ratio | verdict |\n|---|---|---|---:|---|\n");
        for r in self.ratios() {
            s.push_str(&format!(
                "| {} | {} | {} ÷ {} | {:.3} | {} |\n",
                r.workload,
                r.metric,
                r.driverbox,
                r.peer,
                r.ratio,
                if r.driverbox_not_worse {
                    "driverbox not worse"
                } else {
                    "driverbox worse"
                }
            ));
        }
        s
    }
}

/// A number with sensible precision.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a >= 100_000.0 {
        format!("{:.0}", v)
    } else if a >= 100.0 {
        format!("{:.1}", v)
    } else if a >= 1.0 {
        format!("{:.2}", v)
    } else {
        format!("{:.4}", v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_pair_contenders() {
        let mut r = Results::default();
        r.record("W1", "p50 latency", "µs", Better::Lower, "driverbox", 110.0);
        r.record("W1", "p50 latency", "µs", Better::Lower, "tokio-postgres", 100.0);
        r.record("W1", "p50 latency", "µs", Better::Lower, "sqlx", 120.0);
        r.record("W2", "throughput", "q/s", Better::Higher, "driverbox", 90.0);
        r.record("W2", "throughput", "q/s", Better::Higher, "driverbox", 100.0);
        r.record("W2", "throughput", "q/s", Better::Higher, "driverbox", 110.0);
        r.record("W2", "throughput", "q/s", Better::Higher, "tokio-postgres", 50.0);
        let ratios = r.ratios();
        assert_eq!(ratios.len(), 3);
        assert!((ratios[0].ratio - 1.1).abs() < 1e-9 && !ratios[0].driverbox_not_worse);
        assert!(ratios[1].driverbox_not_worse);
        assert_eq!(ratios[2].driverbox_median, 100.0);
        assert!(ratios[2].driverbox_not_worse);
        assert!(r.table().contains("driverbox ÷ tokio-postgres"));
    }
}
