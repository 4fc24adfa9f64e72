//! `traits`: driver metadata (with the URL parameter table) and health check.

use driverbox_guest_sdk::batch::result_rows;
use driverbox_guest_sdk::types::{
    ConnectionSettings, DriverMetadata, Feature, Health, PlaceholderStyle, Setting, UrlParameter, Value,
};
use driverbox_guest_sdk::{Error, Result};

use crate::connection::Connection;

fn param(
    name: &str,
    aliases: &[&str],
    env: &[&str],
    default: Option<&str>,
    setting: Option<Setting>,
    description: &str,
) -> UrlParameter {
    UrlParameter {
        name: name.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        env: env.iter().map(|e| e.to_string()).collect(),
        default: default.map(String::from),
        description: description.into(),
        setting,
    }
}

/// The URL parameters and environment variables, named as the `mysql`
/// client's options and environment (`MYSQL_HOST`, `MYSQL_TCP_PORT`,
/// `MYSQL_PWD`). The URL wins over the environment, the environment
/// over the default.
pub fn parameters() -> Vec<UrlParameter> {
    use Setting as S;
    vec![
        param(
            "host",
            &[],
            &["MYSQL_HOST"],
            Some("localhost"),
            Some(S::Host),
            "server host name or address",
        ),
        param(
            "port",
            &[],
            &["MYSQL_TCP_PORT"],
            Some("3306"),
            Some(S::Port),
            "server port",
        ),
        param(
            "user",
            &[],
            &["USER"],
            Some("root"),
            Some(S::User),
            "account to connect as",
        ),
        param(
            "password",
            &[],
            &["MYSQL_PWD"],
            None,
            Some(S::Password),
            "password (never shown)",
        ),
        param(
            "database",
            &[],
            &[],
            None,
            Some(S::Database),
            "default database (schema); none when left out",
        ),
        param(
            "ssl-mode",
            &["ssl_mode", "sslMode"],
            &[],
            Some("PREFERRED"),
            Some(S::TlsMode),
            "DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY",
        ),
        param(
            "ssl-ca",
            &["ssl_ca", "sslCa"],
            &[],
            None,
            Some(S::TlsRootCert),
            "PEM file of trusted CAs, or `system`",
        ),
        param(
            "connect-timeout",
            &["connect_timeout", "connectTimeout"],
            &[],
            None,
            Some(S::ConnectTimeoutSeconds),
            "seconds for the whole connection set-up",
        ),
    ]
}

/// What this driver is and can do.
pub fn metadata() -> DriverMetadata {
    DriverMetadata {
        name: "mysql".into(),
        version: driverbox_guest_sdk::driver_version!(),
        database_type: "mysql".into(),
        dialect: "mysql".into(),
        placeholder_style: PlaceholderStyle::QuestionMark,
        identifier_quote: "`".into(),
        connection: ConnectionSettings {
            schemes: vec!["mysql".into(), "mariadb".into()],
            default_port: Some(3306),
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
            Feature::Functions,
        ],
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) | Value::Decimal(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// `SELECT VERSION()` and a few facts about the session.
pub fn health_check(conn: &mut Connection) -> Result<Health> {
    let out = conn.query(
        "SELECT VERSION(), DATABASE(), CURRENT_USER(), @@read_only, @@character_set_connection, CONNECTION_ID()",
        &[],
    )?;
    let rows = result_rows(&out)?;
    let row = rows
        .first()
        .ok_or_else(|| Error::protocol("health check returned no row"))?;
    let get = |i: usize| row.get(i).map(text).unwrap_or_default();
    let details = vec![
        ("database".to_string(), get(1)),
        ("user".to_string(), get(2)),
        ("read_only".to_string(), (get(3) == "1").to_string()),
        ("character_set".to_string(), get(4)),
        ("connection_id".to_string(), get(5)),
        (
            "flavor".to_string(),
            if conn.is_mariadb() { "mariadb" } else { "mysql" }.into(),
        ),
        ("tls".to_string(), conn.is_tls().to_string()),
        ("in_transaction".to_string(), conn.in_transaction().to_string()),
    ];
    Ok(Health {
        server_version: get(0),
        details,
    })
}
