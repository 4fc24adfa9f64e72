//! PostgreSQL authentication and the sslmode matrix against a throwaway
//! server with a CA generated here.

use driverbox::{ErrorKind, QueryDriver, Value};
use driverbox_tests::pgserver::{PgServer, PASSWORD};
use driverbox_tests::runtime;

async fn ssl_in_use(db: &driverbox::WasmDriver) -> bool {
    let r = db
        .query("select ssl from pg_stat_ssl where pid = pg_backend_pid()", &[])
        .await
        .unwrap();
    r.rows[0][0] == Value::Boolean(true)
}

#[tokio::test]
async fn auth_methods_and_sslmode_matrix() {
    let server = PgServer::start();
    let rt = runtime();
    let ca = server.ca_file.display().to_string();
    let other_ca = server.other_ca_file.display().to_string();

    // SCRAM-SHA-256, md5 and cleartext, each over plain TCP.
    for user in ["postgres", "md5user", "plainuser"] {
        let db = rt
            .connect(&server.url(user, PASSWORD, "127.0.0.1", "sslmode=disable"))
            .await
            .unwrap_or_else(|e| panic!("{user}: {e}"));
        let r = db.query("select current_user", &[]).await.unwrap();
        assert_eq!(r.rows[0][0], Value::Text(user.into()));
        assert!(!ssl_in_use(&db).await, "sslmode=disable never starts TLS");
    }

    // Wrong password: a typed authentication error that does not leak it.
    let err = rt
        .connect(&server.url("postgres", "wrong-pw", "127.0.0.1", "sslmode=disable"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert_eq!(err.code(), Some("28P01"));
    assert!(!err.to_string().contains("wrong-pw") && !format!("{err:?}").contains("wrong-pw"));

    // prefer and require encrypt.
    for mode in ["prefer", "require"] {
        let db = rt
            .connect(&server.url("postgres", PASSWORD, "127.0.0.1", &format!("sslmode={mode}")))
            .await
            .unwrap();
        assert!(
            ssl_in_use(&db).await,
            "sslmode={mode} uses TLS when the server offers it"
        );
    }

    // verify-full: right CA and host name works.
    let db = rt
        .connect(&server.url(
            "postgres",
            PASSWORD,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ))
        .await
        .expect("verify-full to localhost");
    assert!(ssl_in_use(&db).await);

    // verify-full: unknown CA fails, and so does verify-ca.
    for mode in ["verify-full", "verify-ca"] {
        let err = rt
            .connect(&server.url(
                "postgres",
                PASSWORD,
                "localhost",
                &format!("sslmode={mode}&sslrootcert={other_ca}"),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{mode}: {err}");
    }

    // A name the certificate does not hold (it names `localhost` only):
    // verify-full fails, verify-ca accepts.
    let err = rt
        .connect(&server.url(
            "postgres",
            PASSWORD,
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "name mismatch: {err}");
    let db = rt
        .connect(&server.url(
            "postgres",
            PASSWORD,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ))
        .await
        .expect("verify-ca ignores the name");
    assert!(ssl_in_use(&db).await);

    // verify-full without any root certificate is refused up front.
    let err = rt
        .connect(&server.url(
            "postgres",
            PASSWORD,
            "localhost",
            "sslmode=verify-full&sslrootcert=/nonexistent.pem",
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sslrootcert"), "{err}");
}

#[tokio::test]
async fn require_never_falls_back_to_plaintext() {
    let server = PgServer::start();
    server.psql("alter system set ssl = off");
    server.psql("select pg_reload_conf()");
    let rt = runtime();
    let err = rt
        .connect(&server.url("postgres", PASSWORD, "127.0.0.1", "sslmode=require"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    // prefer falls back to plaintext when the server has no TLS.
    let db = rt
        .connect(&server.url("postgres", PASSWORD, "127.0.0.1", "sslmode=prefer"))
        .await
        .unwrap();
    assert!(!ssl_in_use(&db).await);
}
