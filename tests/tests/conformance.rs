//! The shared conformance suite, once per SQL driver.

use driverbox_tests::conformance::{Suite, POSTGRES, SQLITE};
use driverbox_tests::{runtime, PG_URL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_conformance_suite() {
    Suite::new(runtime(), PG_URL, POSTGRES).await.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("conformance.db").display());
    Suite::new(runtime(), &url, SQLITE).await.run().await;
}
