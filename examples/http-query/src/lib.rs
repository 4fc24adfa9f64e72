//! An edge application as people would write one: a `wasi:http` component
//! that answers `GET /query?sql=…` with the rows as JSON. It imports the
//! driver's `driverbox:driver/base` interface; `driverbox drivers portable
//! postgres --app http_query.wasm -o app.wasm` composes it with the
//! portable PostgreSQL driver into one component that imports only `wasi:*`,
//! which `wasmtime serve` (or any `wasi:http` host) runs.
//!
//! Connection settings come from libpq's environment variables: `PGHOST`
//! (default `127.0.0.1`), `PGPORT` (5432), `PGUSER` (`postgres`),
//! `PGPASSWORD`, `PGDATABASE` (the user name), `PGSSLMODE` (`prefer`; the
//! adapter's own `DRIVERBOX_SSLMODE` decides what TLS must be). Each
//! request gets a fresh instance, so each opens its own connection.

#![allow(clippy::result_large_err)] // the contract's error variant, as returned

wit_bindgen::generate!({
    inline: r#"
        package driverbox:http-query;

        world app {
            import driverbox:driver/base@0.2.0;
        }
    "#,
    path: "../../wit/v0.2.0",
    generate_all,
});

pub mod json;

use driverbox::driver::base;
use driverbox::driver::types::{ConnectConfig, Endpoint, Error, TlsMode};
use wasi::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};

/// The component.
pub struct App;

// Exported symbols only in the component: their names (`wasi:http/…`) do
// not link as a native library, where the unit tests run.
#[cfg(target_arch = "wasm32")]
wasi::http::proxy::export!(App);

/// One query parameter of `path_with_query`, percent-decoded (`+` is a space).
pub fn query_param(path_with_query: &str, name: &str) -> Option<String> {
    let (_, query) = path_with_query.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k)? == name).then(|| percent_decode(v)).flatten()
    })
}

/// `%XX` and `+` decoded; `None` when the result is not UTF-8 or an escape is bad.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The connection settings from libpq's environment variables.
pub fn config_from(get: impl Fn(&str) -> Option<String>) -> Result<ConnectConfig, String> {
    let get = |k: &str| get(k).filter(|v| !v.is_empty());
    let port = match get("PGPORT") {
        None => 5432,
        Some(p) => p.parse().map_err(|_| format!("PGPORT={p:?} is not a port"))?,
    };
    let tls = match get("PGSSLMODE").as_deref().unwrap_or("prefer") {
        "disable" => TlsMode::Disable,
        "prefer" | "allow" => TlsMode::Prefer,
        "require" => TlsMode::Require,
        "verify-ca" => TlsMode::VerifyCa,
        "verify-full" => TlsMode::VerifyFull,
        other => return Err(format!("PGSSLMODE={other:?} is not an sslmode")),
    };
    let user = get("PGUSER").unwrap_or_else(|| "postgres".into());
    Ok(ConnectConfig {
        hosts: vec![Endpoint {
            host: get("PGHOST").unwrap_or_else(|| "127.0.0.1".into()),
            port,
            port_given: true,
        }],
        database: Some(get("PGDATABASE").unwrap_or_else(|| user.clone())),
        user: Some(user),
        password: get("PGPASSWORD"),
        tls,
        application_name: Some("driverbox-http-query".into()),
        options: Vec::new(),
        scheme: "postgres".into(),
    })
}

/// Status and JSON body for a request line.
pub fn answer(method_is_get: bool, path_with_query: &str) -> (u16, String) {
    let path = path_with_query.split('?').next().unwrap_or("");
    if path != "/query" {
        return (404, json::error_message("not-found", "use GET /query?sql=…"));
    }
    if !method_is_get {
        return (405, json::error_message("method-not-allowed", "use GET"));
    }
    let Some(sql) = query_param(path_with_query, "sql") else {
        return (
            400,
            json::error_message("invalid-input", "missing or malformed ?sql= parameter"),
        );
    };
    let config = match config_from(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => return (500, json::error_message("invalid-input", &e)),
    };
    if let Err(e) = base::connect(&config) {
        return (502, json::error(&e));
    }
    let outcome = base::query(&sql, &[]);
    base::close();
    match outcome {
        Ok(result) => (200, json::result(&result)),
        Err(e @ Error::Server(_)) => (400, json::error(&e)),
        Err(e) => (502, json::error(&e)),
    }
}

impl wasi::exports::http::incoming_handler::Guest for App {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let get = matches!(request.method(), Method::Get);
        let (status, body) = answer(get, &request.path_with_query().unwrap_or_default());
        let headers = Fields::new();
        let _ = headers.set("content-type", &[b"application/json".to_vec()]);
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(status);
        let Ok(out_body) = response.body() else { return };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(stream) = out_body.write() {
            // blocking_write_and_flush takes at most 4096 bytes a call.
            for chunk in body.as_bytes().chunks(4096) {
                if stream.blocking_write_and_flush(chunk).is_err() {
                    break;
                }
            }
        }
        let _ = OutgoingBody::finish(out_body, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            query_param("/query?x=1&sql=select+1%2C%20%27%C3%A9%27", "sql").as_deref(),
            Some("select 1, 'é'")
        );
        assert_eq!(query_param("/query?sql=%zz", "sql"), None);
        assert_eq!(query_param("/query", "sql"), None);
        assert_eq!(query_param("/query?sql", "sql").as_deref(), Some(""));
    }

    #[test]
    fn settings_come_from_libpq_variables() {
        let c = config_from(|k| match k {
            "PGHOST" => Some("db.internal".into()),
            "PGPORT" => Some("6543".into()),
            "PGUSER" => Some("app".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((c.hosts[0].host.as_str(), c.hosts[0].port), ("db.internal", 6543));
        assert_eq!(c.database.as_deref(), Some("app"));
        assert!(config_from(|k| (k == "PGPORT").then(|| "x".into())).is_err());
    }

    #[test]
    fn unknown_paths_and_methods() {
        assert_eq!(answer(true, "/other").0, 404);
        assert_eq!(answer(false, "/query?sql=select+1").0, 405);
        assert_eq!(answer(true, "/query").0, 400);
    }
}
