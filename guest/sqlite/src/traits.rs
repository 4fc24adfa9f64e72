//! Driver metadata (with the URL parameter table) and health.

use driverbox_guest_sdk::types::{
    ConnectionSettings, DriverMetadata, Feature, Health, PlaceholderStyle, Setting, UrlParameter,
};
use driverbox_guest_sdk::Result;

use crate::connection::Conn;
use crate::errors::DbResult;

/// The URL parameters: `sqlite:PATH?mode=ro&busy_timeout=2000`.
pub fn parameters() -> Vec<UrlParameter> {
    vec![
        UrlParameter {
            name: "mode".into(),
            aliases: Vec::new(),
            env: Vec::new(),
            default: Some("rwc".into()),
            description: "ro (read only), rw (existing file), rwc (create when missing) or memory".into(),
            setting: Some(Setting::FileMode),
        },
        UrlParameter {
            name: "busy_timeout".into(),
            aliases: Vec::new(),
            env: Vec::new(),
            default: Some(crate::connection::DEFAULT_BUSY_TIMEOUT_MS.to_string()),
            description: "milliseconds to wait for a lock held by another process".into(),
            setting: None,
        },
    ]
}

/// What this driver is and can do. `max-connections` is 1: under WASI
/// there are no file locks, so the host must not open the file twice.
pub fn metadata() -> DriverMetadata {
    DriverMetadata {
        name: "sqlite".into(),
        version: driverbox_guest_sdk::driver_version!(),
        database_type: "sqlite".into(),
        dialect: "sqlite".into(),
        placeholder_style: PlaceholderStyle::QuestionMark,
        identifier_quote: "\"".into(),
        connection: ConnectionSettings {
            schemes: vec!["sqlite".into()],
            default_port: None,
            file_based: true,
            parameters: parameters(),
            scheme_defaults: Vec::new(),
        },
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
