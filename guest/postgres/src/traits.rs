//! `traits`: driver metadata and health check.

use driverbox_guest_sdk::Result;

use crate::connection::{Cells, Connection};
use crate::exports::driverbox::driver::traits::{self as wit, DriverMetadata, Feature, Health};
use crate::{with_conn, Driver};

/// What this driver is and can do.
pub fn metadata() -> DriverMetadata {
    DriverMetadata {
        name: "postgres".into(),
        version: driverbox_guest_sdk::driver_version!(),
        database_type: "postgresql".into(),
        dialect: "postgresql".into(),
        schemes: vec!["postgres".into(), "postgresql".into()],
        default_port: Some(5432),
        max_connections: None,
        features: vec![
            Feature::Transactions,
            Feature::Savepoints,
            Feature::PreparedStatements,
            Feature::Streaming,
            Feature::BulkInsert,
            Feature::BulkUpdate,
            Feature::BulkDelete,
            Feature::CreateDatabase,
            Feature::CreateSchema,
            Feature::Schemas,
            Feature::Views,
            Feature::MaterializedViews,
            Feature::Functions,
        ],
    }
}

/// `select version()` and a few facts about the session.
pub fn health_check(conn: &mut Connection) -> Result<Health> {
    let out = conn.query(
        "select version(), current_database(), pg_is_in_recovery(), \
         current_setting('server_encoding'), current_user",
        &[],
    )?;
    let row = out
        .rows
        .first()
        .ok_or_else(|| driverbox_guest_sdk::Error::protocol("health check returned no row"))?;
    let c = Cells(row);
    let mut details = vec![
        ("database".to_string(), c.str(1)?),
        ("in_recovery".to_string(), c.bool(2)?.to_string()),
        ("server_encoding".to_string(), c.str(3)?),
        ("user".to_string(), c.str(4)?),
    ];
    if let Some(v) = conn.server_param("server_version") {
        details.push(("server_version".into(), v.to_string()));
    }
    let status = match conn.transaction_status() {
        b'T' => "in_transaction",
        b'E' => "failed_transaction",
        _ => "idle",
    };
    details.push(("transaction_status".into(), status.into()));
    Ok(Health {
        server_version: c.str(0)?,
        details,
    })
}

impl wit::Guest for Driver {
    fn metadata() -> DriverMetadata {
        metadata()
    }

    fn health_check() -> Result<Health> {
        with_conn(health_check)
    }
}
