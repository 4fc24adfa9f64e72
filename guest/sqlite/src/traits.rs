//! Driver metadata and health.

use driverbox_guest_sdk::Result;

use crate::connection::Conn;
use crate::errors::DbResult;
use crate::exports::driverbox::driver::traits::{DriverMetadata, Feature, Guest, Health};
use crate::{with_conn, Driver};

/// What this driver is and can do. `max-connections` is 1: under WASI
/// there are no file locks, so the host must not open the file twice.
pub fn metadata() -> DriverMetadata {
    DriverMetadata {
        name: "sqlite".into(),
        version: driverbox_guest_sdk::driver_version!(),
        database_type: "sqlite".into(),
        dialect: "sqlite".into(),
        schemes: vec!["sqlite".into()],
        default_port: None,
        max_connections: Some(1),
        features: vec![
            Feature::Transactions,
            Feature::Savepoints,
            Feature::PreparedStatements,
            Feature::Streaming,
            Feature::BulkInsert,
            Feature::BulkUpdate,
            Feature::BulkDelete,
            Feature::Views,
        ],
    }
}

/// Reads the schema (proves the file is readable) and reports the
/// library version and connection facts.
pub fn health_check(conn: &Conn) -> Result<Health> {
    let db = conn.db();
    let tables: i64 = db
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .db()?;
    let journal: String = db.query_row("PRAGMA journal_mode", [], |r| r.get(0)).db()?;
    Ok(Health {
        server_version: rusqlite::version().to_string(),
        details: vec![
            ("database".into(), conn.path.clone()),
            ("mode".into(), conn.mode.as_str().into()),
            ("journal_mode".into(), journal),
            ("schema_objects".into(), tables.to_string()),
            ("in_transaction".into(), conn.in_transaction().to_string()),
        ],
    })
}

impl Guest for Driver {
    fn metadata() -> DriverMetadata {
        metadata()
    }
    fn health_check() -> Result<Health> {
        with_conn(|c| health_check(c))
    }
}
