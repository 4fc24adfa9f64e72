//! Secrets: a sentinel password goes through every CLI command, on success
//! and on every error path, with the most verbose logging; it must never
//! appear in stdout, stderr, logs, JSON output or `Debug`.

mod common;

use std::net::TcpListener;

use common::*;

const SENTINEL: &str = "Sentinel-Pw-9f3Kq";

/// Every way the password could leak in a printed URL: plain, percent-encoded.
fn leaked(text: &str) -> bool {
    text.contains(SENTINEL) || text.contains("Sentinel%2DPw") || text.contains("9f3Kq")
}

fn with_password(url_tail: &str) -> String {
    format!("postgres://postgres:{SENTINEL}@{url_tail}")
}

#[test]
fn the_password_never_appears_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let csv_file = dir.path().join("in.csv");
    std::fs::write(&csv_file, "a\n1\n").unwrap();
    let csv = csv_file.to_str().unwrap().to_string();
    let out_file = dir.path().join("out.json").to_str().unwrap().to_string();
    let table = PgTable(unique("dbx_secret"));
    pg(&format!("create table {} (a int)", table.0));
    // A server that accepts and never answers (the time-out path).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();

    // Success (trust auth ignores the password) and every error path.
    let good = with_password("127.0.0.1:5432/test?sslmode=disable");
    let urls = [
        good.clone(),
        // Connection refused.
        with_password("127.0.0.1:1/test?sslmode=disable"),
        // A port that is no port, and the password as a parameter.
        format!("postgres://127.0.0.1:99999/test?user=postgres&password={SENTINEL}"),
        // Invalid percent-encoding next to the password.
        format!("postgres://postgres:{SENTINEL}%ff@127.0.0.1/test"),
        // A name that does not resolve.
        with_password("no-such-host.invalid/test"),
        // A database that does not exist.
        with_password("127.0.0.1:5432/dbx_no_such_db?sslmode=disable"),
        // A time-out during startup.
        with_password(&format!(
            "127.0.0.1:{silent_port}/test?sslmode=disable&connect_timeout=1"
        )),
        // TLS required, the server offers none here... and a bad parameter.
        with_password("127.0.0.1:5432/test?sslmode=verify-full&sslrootcert=/nonexistent.pem"),
        with_password("127.0.0.1:5432/test?nonsense=1"),
        // The password in an unknown shape: userinfo with `@` and `:` in it.
        format!("postgres://postgres:{SENTINEL}@x:y@127.0.0.1:1/test"),
    ];
    let mut runs = 0;
    for url in &urls {
        let commands: Vec<Vec<&str>> = vec![
            vec!["query", url, "select 1 as x"],
            vec!["query", url, "select 1 as x", "--format", "json"],
            vec!["query", url, "selec 1"],
            vec!["shell", url, "-c", "select 1; \\conninfo"],
            vec!["inspect", url, "--format", "json"],
            vec!["inspect", url],
            vec!["export", url, "select 1 as x", "--format", "json"],
            vec!["export", url, "select 1 as x", "--output", &out_file],
            vec!["import", url, &table.0, &csv],
        ];
        // The most verbose logging holds every level's messages.
        for args in commands {
            let mut cmd = command(&args);
            cmd.current_dir(dir.path())
                .env("DRIVERBOX_LOG", "trace")
                .env("RUST_LOG", "trace");
            let out = cmd.output().expect("driverbox runs");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!leaked(&text), "driverbox {args:?} printed the password:\n{text}");
            runs += 1;
        }
        if std::path::Path::new(&out_file).exists() {
            let written = std::fs::read_to_string(&out_file).unwrap();
            assert!(!leaked(&written), "the export file holds the password");
        }
    }
    assert_eq!(runs, urls.len() * 9);
    // The success path really ran (and the error paths really failed).
    let r = run(&["query", &good, "select 1 as x", "--format", "csv"]);
    assert_eq!(r.code, 0, "{r:?}");
    drop(silent);
}

#[tokio::test]
async fn the_password_never_appears_in_debug_or_errors() {
    let rt = driverbox::Runtime::builder()
        .cache_dir(Some(cache_home()))
        .build()
        .unwrap();
    let db = rt
        .connect(&with_password("127.0.0.1:5432/test?sslmode=disable"))
        .await
        .unwrap();
    assert!(!leaked(&format!("{:?}", db.options())));
    assert!(!leaked(&db.options().to_string()));
    for url in [
        with_password("127.0.0.1:1/test?sslmode=disable"),
        format!("postgres://127.0.0.1:99999/test?user=postgres&password={SENTINEL}"),
        format!("postgres://postgres:{SENTINEL}%ff@127.0.0.1/test"),
        with_password("127.0.0.1:5432/test?nonsense=1"),
        with_password("127.0.0.1:5432/dbx_no_such_db?sslmode=disable"),
    ] {
        let e = rt.connect(&url).await.unwrap_err();
        assert!(!leaked(&e.to_string()) && !leaked(&format!("{e:?}")), "{e:?}");
        if let Ok(options) = rt.parse_url(&url).await {
            assert!(!leaked(&format!("{options:?}")) && !leaked(&options.to_string()));
        }
    }
}
