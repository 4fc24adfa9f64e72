//! The shared conformance suite, once per SQL driver.

use driverbox_tests::conformance::{Expectations, Suite, MYSQL, POSTGRES, SQLITE};
use driverbox_tests::{postgres_v01_fixture, runtime, MYSQL_URL, PG_URL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_conformance_suite() {
    Suite::new(runtime(), PG_URL, POSTGRES).await.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_passes_the_conformance_suite() {
    Suite::new(runtime(), MYSQL_URL, MYSQL).await.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("conformance.db").display());
    Suite::new(runtime(), &url, SQLITE).await.run().await;
}

/// A PostgreSQL driver built against contract 0.1 (a fixture kept in the
/// tree) still passes: the host adapts 0.1 calls at the edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_built_for_contract_0_1_passes_the_conformance_suite() {
    let rt = runtime();
    let info = rt.load_driver_file(&postgres_v01_fixture()).await.unwrap();
    assert_eq!(info.contract, "0.1.0");
    let x = Expectations {
        schema: Some("dbx_conformance_v01"),
        ..POSTGRES
    };
    Suite::new(rt, PG_URL, x).await.run().await;
}

/// MongoDB against a throwaway SecantusDB server: the document-store suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_passes_the_nosql_conformance_suite() {
    use driverbox_tests::conformance::nosql::{NoSqlSuite, MONGODB};
    let server = driverbox_tests::mongoserver::MongoServer::start();
    let url = server.url(None, MONGODB.database, "");
    NoSqlSuite::new(&runtime(), &url, MONGODB).await.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_passes_the_nosql_conformance_suite() {
    use driverbox_tests::conformance::nosql::{NoSqlSuite, DYNAMODB};
    let server = driverbox_tests::dynamoserver::DynamoServer::start();
    NoSqlSuite::new(&runtime(), &server.url(""), DYNAMODB).await.run().await;
}

/// The same suite on dynalite, the second DynamoDB-compatible server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_dynalite_passes_the_nosql_conformance_suite() {
    use driverbox_tests::conformance::nosql::{NoSqlSuite, DYNAMODB};
    let server = driverbox_tests::dynamoserver::DynamoServer::start_dynalite();
    NoSqlSuite::new(&runtime(), &server.url(""), DYNAMODB).await.run().await;
}
