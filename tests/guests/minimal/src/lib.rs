//! The smallest driverbox driver: it has no server, and answers every
//! query with one row holding the SQL text and each parameter, typed. All
//! there is to a driver besides its protocol is below: metadata, a
//! connection type, and one `export_driver!`.

// The error type is the WIT `error` variant; it crosses the component
// boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

use driverbox_guest_sdk::batch::{column, push_value, value_logical_type, BatchBuilder};
use driverbox_guest_sdk::types::{
    ConnectConfig, ConnectionSettings, DriverMetadata, Health, LogicalType, PlaceholderStyle, QueryResult, Value,
};
use driverbox_guest_sdk::{Driver, Result};

/// One "connection": it remembers how many statements it answered.
pub struct Echo {
    statements: u64,
}

impl Driver for Echo {
    fn metadata() -> DriverMetadata {
        DriverMetadata {
            name: "echo".into(),
            version: driverbox_guest_sdk::driver_version!(),
            database_type: "echo".into(),
            dialect: "generic".into(),
            placeholder_style: PlaceholderStyle::QuestionMark,
            identifier_quote: "\"".into(),
            connection: ConnectionSettings {
                schemes: vec!["echo".into()],
                default_port: None,
                file_based: false,
                parameters: Vec::new(),
                scheme_defaults: Vec::new(),
            },
            max_connections: None,
            features: Vec::new(),
        }
    }

    fn connect(_config: ConnectConfig) -> Result<Self> {
        Ok(Echo { statements: 0 })
    }

    fn test_connection(&mut self) -> Result<()> {
        Ok(())
    }

    fn execute(&mut self, _sql: &str, _params: Vec<Value>) -> Result<u64> {
        self.statements += 1;
        Ok(0)
    }

    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        self.statements += 1;
        let mut columns = vec![column("sql", LogicalType::Text, "text")];
        for (i, p) in params.iter().enumerate() {
            columns.push(column(format!("p{}", i + 1), value_logical_type(p), "any"));
        }
        let mut batch = BatchBuilder::new(&columns);
        batch.column(0).push_str(sql)?;
        for (i, p) in params.iter().enumerate() {
            push_value(batch.column(i + 1), p)?;
        }
        batch.end_row();
        Ok(batch.into_result(columns, None))
    }

    fn health_check(&mut self) -> Result<Health> {
        Ok(Health {
            server_version: "echo".into(),
            details: vec![("statements".into(), self.statements.to_string())],
        })
    }
}

driverbox_guest_sdk::export_driver!(Echo);
