//! MySQL/MariaDB authentication and the ssl-mode matrix against a
//! throwaway MariaDB with a CA generated here (the local server has TLS
//! off). `caching_sha2_password` is not in MariaDB 10.11: its three paths
//! are tested against scripted servers in `guest/mysql/src/tests.rs`.

use driverbox::{ErrorKind, QueryDriver, Value};
use driverbox_tests::myserver::{MyServer, PASSWORD};
use driverbox_tests::runtime;

async fn tls_in_use(db: &driverbox::WasmDriver) -> bool {
    let r = db.query("show session status like 'Ssl_version'", &[]).await.unwrap();
    !matches!(&r.rows[0][1], Value::Text(v) if v.is_empty())
}

#[tokio::test]
async fn auth_methods_and_ssl_mode_matrix() {
    let server = MyServer::start();
    let rt = runtime();
    let port = server.port;
    let url = |user: &str, pw: &str, host: &str, q: &str| format!("mysql://{user}:{pw}@{host}:{port}/test?{q}");
    let ca = server.ca_file.display().to_string();
    let other_ca = server.other_ca_file.display().to_string();

    // mysql_native_password and client_ed25519 (an auth switch), without TLS.
    for user in ["native", "ed"] {
        let db = rt
            .connect(&url(user, PASSWORD, "127.0.0.1", "ssl-mode=DISABLED"))
            .await
            .unwrap_or_else(|e| panic!("{user}: {e}"));
        let r = db.query("select current_user()", &[]).await.unwrap();
        assert_eq!(r.rows[0][0], Value::Text(format!("{user}@%")));
        assert!(!tls_in_use(&db).await, "DISABLED never starts TLS");
    }
    for user in ["native", "ed"] {
        let err = rt
            .connect(&url(user, "wrong-pw", "127.0.0.1", "ssl-mode=DISABLED"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.code()),
            (ErrorKind::Authentication, Some("28000")),
            "{err}"
        );
        assert!(!err.to_string().contains("wrong-pw") && !format!("{err:?}").contains("wrong-pw"));
    }

    // PREFERRED (the default) and REQUIRED encrypt.
    for q in ["", "ssl-mode=REQUIRED"] {
        let db = rt.connect(&url("ed", PASSWORD, "127.0.0.1", q)).await.unwrap();
        assert!(tls_in_use(&db).await, "`{q}` uses TLS when the server offers it");
    }

    // VERIFY_IDENTITY: right CA and name works; a wrong name or an unknown CA fails.
    let db = rt
        .connect(&url(
            "native",
            PASSWORD,
            "localhost",
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ))
        .await
        .unwrap();
    assert!(tls_in_use(&db).await);
    let err = rt
        .connect(&url(
            "native",
            PASSWORD,
            "127.0.0.1",
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "wrong host name: {err}");
    let err = rt
        .connect(&url(
            "native",
            PASSWORD,
            "localhost",
            &format!("ssl-mode=VERIFY_CA&ssl-ca={other_ca}"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "unknown CA: {err}");
    // VERIFY_CA checks the chain, not the name.
    let db = rt
        .connect(&url(
            "ed",
            PASSWORD,
            "127.0.0.1",
            &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
        ))
        .await
        .unwrap();
    assert!(tls_in_use(&db).await);
}
