//! The benchmark's quick mode runs every workload end to end (tiny sizes,
//! one round), so `cargo test --workspace` keeps the benchmark from
//! rotting. It asserts that everything ran and was written, never timings.
//! Needs the local PostgreSQL and MariaDB, SecantusDB (`.venv-mongo`) and
//! moto (`.venv-dynamodb`), like the other integration tests.

use std::process::Command;

#[test]
fn quick_mode_runs_every_workload_and_writes_the_report() {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_driverbox-bench"))
        .arg("--quick")
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "driverbox-bench --quick failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("driverbox ÷ tokio-postgres"), "{stdout}");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap()).unwrap();
    let workloads: std::collections::BTreeSet<&str> = json["results"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["workload"].as_str().unwrap().split(' ').next().unwrap())
        .collect();
    for w in ["W1", "W2", "W3", "W4", "W5", "W6"] {
        assert!(workloads.contains(w), "{w} measured nothing: {workloads:?}");
    }
    let ratios = json["ratios"].as_array().unwrap();
    assert!(ratios.iter().any(|r| r["peer"] == "sqlx"), "no sqlx ratio");
    // The portable PostgreSQL driver in a plain wasmtime-wasi embedding, W1 and W3.
    for w in ["W1 point select", "W3 scan"] {
        assert!(
            ratios
                .iter()
                .any(|r| r["workload"] == w && r["driverbox"] == "driverbox portable"),
            "no driverbox portable ratio in {w}"
        );
    }
    assert!(json["results"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("bytes portable")));
    for peer in ["mysql_async", "sqlx-mysql"] {
        assert!(ratios.iter().any(|r| r["peer"] == peer), "no {peer} ratio");
    }
    // The MongoDB part runs against a throwaway SecantusDB (scripts/setup.sh tests).
    assert!(
        ratios.iter().any(|r| r["peer"] == "mongodb"),
        "no MongoDB ratio: {stdout}"
    );
    // The DynamoDB part runs driverbox's driver against a throwaway moto
    // (scripts/setup.sh tests); the SDK peer needs the `aws` feature, which
    // CI does not build, so only driverbox's figures are checked.
    for w in ["W1", "W2", "W3", "W4"] {
        assert!(
            json["results"]["metrics"].as_array().unwrap().iter().any(|m| {
                m["contender"] == "driverbox-dynamodb"
                    && m["workload"].as_str().unwrap().starts_with(w)
                    && m["workload"].as_str().unwrap().ends_with("(DynamoDB)")
            }),
            "DynamoDB {w} measured nothing for driverbox: {stdout}"
        );
    }
    assert!(ratios.iter().all(|r| r["ratio"].as_f64().unwrap() > 0.0));
    let svg = std::fs::read_to_string(out.path().join("ratios.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("tokio-postgres"));
    assert!(std::fs::read_to_string(out.path().join("results.md"))
        .unwrap()
        .contains("| W1"));
}
