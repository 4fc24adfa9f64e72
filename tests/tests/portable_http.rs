//! The edge application of `examples/http-query`, as people would run it:
//! its `wasi:http` component composed with the portable PostgreSQL driver
//! (`driverbox drivers portable postgres --app …`), served by the
//! `wasi:http` host of `wasmtime serve` (`wasmtime-wasi-http`) on
//! 127.0.0.1, and called over HTTP.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use tokio::net::{TcpListener, TcpStream};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The state of one request's store, as `wasmtime serve` keeps it.
struct Client {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for Client {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Client {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

/// The environment the server hands each request's instance: PostgreSQL
/// on loopback in plaintext (the local server's trust account).
fn client_state() -> Client {
    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stderr()
        .allow_tcp(true)
        .allow_ip_name_lookup(true)
        .socket_addr_check(|addr, use_| {
            // Connects to loopback only; the implicit bind before a connect
            // is checked on the wildcard address.
            let ok = match use_ {
                SocketAddrUse::TcpConnect => addr.ip().is_loopback(),
                SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                _ => false,
            };
            Box::pin(async move { ok })
        })
        .env("PGHOST", "127.0.0.1")
        .env("PGUSER", "postgres")
        .env("PGDATABASE", "test")
        .env("PGSSLMODE", "disable")
        .env("DRIVERBOX_SSLMODE", "disable");
    Client {
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
    }
}

/// One request: a fresh instance, as `wasmtime serve` does.
async fn handle(
    pre: ProxyPre<Client>,
    req: hyper::Request<hyper::body::Incoming>,
) -> wasmtime::Result<hyper::Response<HyperOutgoingBody>> {
    let mut store = Store::new(pre.engine(), client_state());
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(sender)?;
    let task = tokio::task::spawn(async move {
        let proxy = pre.instantiate_async(&mut store).await?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, req, out)
            .await
    });
    match receiver.await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => match task.await {
            Ok(Ok(())) => Err(wasmtime::Error::msg("the component never set a response")),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(e.into()),
        },
    }
}

/// GET `path` from the server: status and body.
async fn get(port: u16, path: &str) -> (u16, serde_json::Value) {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", format!("127.0.0.1:{port}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").cloned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let json = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
    (status, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn http_query_example_answers_over_http() {
    let app = std::fs::read(env!("HTTP_QUERY_WASM")).expect("examples/http-query component");
    let driver = driverbox::portable::builtin_driver("postgres").unwrap();
    let portable = driverbox::portable::make_portable(driver, "postgres").unwrap();
    let composed = driverbox::portable::link_app(&app, &portable, "http-query").expect("compose the app");
    let surface = driverbox::portable::surface(&composed, "app").unwrap();
    assert!(surface.imports_only_wasi(), "{:?}", surface.imports);
    assert!(
        surface
            .exports
            .iter()
            .any(|e| e.starts_with("wasi:http/incoming-handler@0.2")),
        "{:?}",
        surface.exports
    );

    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, &composed).expect("compile");
    let mut linker: Linker<Client> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
    let pre = ProxyPre::new(linker.instantiate_pre(&component).expect("link")).expect("a wasi:http proxy");

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let pre = Arc::new(pre);
    let server = tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                break;
            };
            let pre = pre.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle((*pre).clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(client), service)
                    .await;
            });
        }
    });

    let (status, body) = get(
        port,
        "/query?sql=select+6*7+as+answer%2C+%27h%C3%A9llo%27::text+as+greeting%2C+null::int+as+nothing%2C+%272024-02-29%27::date+as+day",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["answer", "greeting", "nothing", "day"]);
    assert_eq!(body["rows"], serde_json::json!([[42, "héllo", null, "2024-02-29"]]));
    assert_eq!(body["row_count"], 1);

    let (status, body) = get(port, "/query?sql=select+g+from+generate_series(1,1000)+g").await;
    assert_eq!(status, 200);
    assert_eq!(body["row_count"], 1000);
    assert_eq!(body["rows"][999][0], 1000);

    // A server error comes back whole, with SQLSTATE and position.
    let (status, body) = get(port, "/query?sql=selec+1").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["kind"], "syntax");
    assert_eq!(body["error"]["code"], "42601");
    assert_eq!(body["error"]["position"], 1);

    let (status, body) = get(port, "/elsewhere").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = get(port, "/query").await;
    assert_eq!(status, 400);
    server.abort();
}
