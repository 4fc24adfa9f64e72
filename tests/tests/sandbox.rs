//! The sandbox against a misbehaving driver component.

use driverbox::{QueryDriver, Runtime};
use driverbox_tests::{hostile_wasm, runtime};

async fn hostile(rt: &Runtime, behavior: &str) -> driverbox::WasmDriver {
    rt.load_driver_file(&hostile_wasm()).await.expect("load hostile driver");
    rt.connect(&format!("hostile://127.0.0.1:1/?behavior={behavior}")).await.expect("connect")
}

#[tokio::test]
async fn a_trapping_driver_is_discarded_and_the_pool_recovers() {
    let rt = runtime();
    let db = hostile(&rt, "trap-on-boom").await;
    let ok = db.query("select 1", &[]).await.unwrap();
    assert_eq!(ok.rows[0][0], driverbox::Value::Text("select 1".into()));

    let err = db.query("boom", &[]).await.unwrap_err();
    assert!(err.is_crash(), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("hostile") && msg.contains("panics on boom"), "{msg}");
    assert_eq!(db.pool_status().discarded, 1);

    // The next call gets a fresh instance.
    let again = db.query("select 2", &[]).await.unwrap();
    assert_eq!(again.rows[0][0], driverbox::Value::Text("select 2".into()));
    let status = db.pool_status();
    assert_eq!((status.size, status.idle, status.used), (1, 1, 0));
}
