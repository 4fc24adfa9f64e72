//! A driver that misbehaves on purpose, chosen by the URL's `behavior`
//! parameter, so the tests can check the host's sandbox and pool.
//! Without a `behavior` it answers queries with one row echoing the SQL.

use std::cell::RefCell;

use driverbox_guest_sdk::types::{Column, ConnectConfig, QueryResult, Value};
use driverbox_guest_sdk::Result;

wit_bindgen::generate!({
    path: "../../../wit",
    world: "core-driver",
    with: {
        "driverbox:driver/types@0.1.0": driverbox_guest_sdk::types,
        "driverbox:driver/transport@0.1.0": driverbox_guest_sdk::transport,
        "driverbox:driver/log@0.1.0": driverbox_guest_sdk::host_log,
    },
});

use exports::driverbox::driver::{base, traits};

thread_local! {
    static CONFIG: RefCell<Option<ConnectConfig>> = const { RefCell::new(None) };
}

fn behavior() -> String {
    CONFIG.with(|c| {
        c.borrow()
            .as_ref()
            .and_then(|c| c.options.iter().find(|(k, _)| k == "behavior"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    })
}

/// Does what the `behavior` option asks, on every call that runs SQL.
fn misbehave(sql: &str) -> Result<QueryResult> {
    match behavior().as_str() {
        "trap" => unreachable!("hostile driver traps on purpose"),
        "trap-on-boom" if sql.contains("boom") => panic!("hostile driver panics on {sql}"),
        _ => Ok(QueryResult {
            columns: vec![Column {
                name: "sql".into(),
                type_name: "text".into(),
            }],
            rows: vec![vec![Value::Text(sql.to_string())]],
            rows_affected: None,
        }),
    }
}

struct Hostile;

impl base::Guest for Hostile {
    fn connect(config: ConnectConfig) -> Result<()> {
        CONFIG.with(|c| *c.borrow_mut() = Some(config));
        Ok(())
    }
    fn test_connection() -> Result<()> {
        misbehave("select 1").map(|_| ())
    }
    fn execute(sql: String, _params: Vec<Value>) -> Result<u64> {
        misbehave(&sql).map(|_| 0)
    }
    fn query(sql: String, _params: Vec<Value>) -> Result<QueryResult> {
        misbehave(&sql)
    }
    fn execute_query(sql: String, _params: Vec<Value>) -> Result<QueryResult> {
        misbehave(&sql)
    }
    fn close() {}
}

impl traits::Guest for Hostile {
    fn metadata() -> traits::DriverMetadata {
        traits::DriverMetadata {
            name: "hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database_type: "test".into(),
            dialect: "generic".into(),
            schemes: vec!["hostile".into()],
            default_port: Some(1),
            max_connections: None,
            features: vec![],
        }
    }
    fn health_check() -> Result<traits::Health> {
        misbehave("health").map(|_| traits::Health {
            server_version: "hostile".into(),
            details: vec![],
        })
    }
}

export!(Hostile);

