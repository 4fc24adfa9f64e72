//! `traits`: driver metadata (with the URL parameter table) and health check.

use driverbox_guest_sdk::types::{
    ConnectionSettings, DriverMetadata, Feature, Health, PlaceholderStyle, Setting, UrlParameter,
};
use driverbox_guest_sdk::Result;

use crate::connection::{Cells, Connection};

fn param(name: &str, env: &[&str], default: Option<&str>, setting: Option<Setting>, description: &str) -> UrlParameter {
    UrlParameter {
        name: name.into(),
        aliases: Vec::new(),
        env: env.iter().map(|e| e.to_string()).collect(),
        default: default.map(String::from),
        description: description.into(),
        setting,
    }
}

/// The URL parameters and environment variables, as libpq reads them
/// (PostgreSQL documentation, "Connection Strings" and "Environment
/// Variables"). The URL wins over the environment, the environment over
/// the default.
pub fn parameters() -> Vec<UrlParameter> {
    use Setting as S;
    vec![
        param(
            "host",
            &["PGHOST"],
            Some("localhost"),
            Some(S::Host),
            "server host name or address; a comma-separated list is tried in order",
        ),
        param("port", &["PGPORT"], Some("5432"), Some(S::Port), "server port"),
        param(
            "user",
            &["PGUSER", "USER"],
            Some("postgres"),
            Some(S::User),
            "role to connect as",
        ),
        param(
            "password",
            &["PGPASSWORD"],
            None,
            Some(S::Password),
            "password (never shown)",
        ),
        param(
            "dbname",
            &["PGDATABASE"],
            None,
            Some(S::Database),
            "database; the server's default is the role's name",
        ),
        param(
            "sslmode",
            &["PGSSLMODE"],
            Some("prefer"),
            Some(S::TlsMode),
            "disable, allow, prefer, require, verify-ca or verify-full",
        ),
        param(
            "sslrootcert",
            &["PGSSLROOTCERT"],
            None,
            Some(S::TlsRootCert),
            "PEM file of trusted CAs, or `system`; makes the default sslmode verify-ca",
        ),
        param(
            "connect_timeout",
            &["PGCONNECT_TIMEOUT"],
            None,
            Some(S::ConnectTimeoutSeconds),
            "seconds for the whole connection set-up",
        ),
        param(
            "application_name",
            &["PGAPPNAME"],
            None,
            Some(S::ApplicationName),
            "reported in pg_stat_activity",
        ),
        param(
            "client_encoding",
            &["PGCLIENTENCODING"],
            Some("UTF8"),
            None,
            "only UTF8: driverbox reads text as UTF-8; any other encoding is refused at connect",
        ),
        param(
            "options",
            &["PGOPTIONS"],
            None,
            None,
            "command-line options for the server, e.g. `-c search_path=app`",
        ),
        param(
            "target_session_attrs",
            &["PGTARGETSESSIONATTRS"],
            Some("any"),
            None,
            "any, read-write or read-only: which host of the list to keep",
        ),
    ]
}

/// What this driver is and can do.
pub fn metadata() -> DriverMetadata {
    DriverMetadata {
        name: "postgres".into(),
        version: driverbox_guest_sdk::driver_version!(),
        database_type: "postgresql".into(),
        dialect: "postgresql".into(),
        placeholder_style: PlaceholderStyle::DollarNumber,
        identifier_quote: "\"".into(),
        connection: ConnectionSettings {
            schemes: vec!["postgres".into(), "postgresql".into()],
            default_port: Some(5432),
            file_based: false,
            parameters: parameters(),
            scheme_defaults: Vec::new(),
        },
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
    let rows = out.rows()?;
    let row = rows
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
