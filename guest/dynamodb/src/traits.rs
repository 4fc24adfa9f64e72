//! `traits`: driver metadata (with the URL parameter table, named as the
//! AWS CLI and SDKs name their settings) and health.

use driverbox_guest_sdk::types::{
    ConnectionSettings, DriverMetadata, Feature, Health, PlaceholderStyle, Setting, UrlParameter,
};
use driverbox_guest_sdk::Result;
use serde_json::json;

use crate::client::Idempotent;
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

/// The endpoint of the real service in a region: the default of the
/// `endpoint` parameter, `{region}` filled in by the host.
pub const SERVICE_ENDPOINT: &str = "https://dynamodb.{region}.amazonaws.com";

/// The URL parameters. `dynamodb://[ACCESS_KEY:SECRET@]host:port?…` names
/// an endpoint; `dynamodb://REGION` the real service in that region.
pub fn parameters() -> Vec<UrlParameter> {
    use Setting as S;
    vec![
        param(
            "region",
            &[],
            &["AWS_REGION", "AWS_DEFAULT_REGION"],
            None,
            None,
            "AWS region signed for (and of the service endpoint); dynamodb://REGION sets it",
        ),
        param(
            "endpoint",
            &["endpoint_url", "endpoint-url"],
            &["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"],
            Some(SERVICE_ENDPOINT),
            Some(S::Host),
            "http(s)://host[:port] of a DynamoDB-compatible server; default: the region's service endpoint",
        ),
        param(
            "user",
            &["access_key_id", "aws_access_key_id"],
            &["AWS_ACCESS_KEY_ID"],
            None,
            Some(S::User),
            "AWS access key id (the URL's user)",
        ),
        param(
            "password",
            &["secret_access_key", "aws_secret_access_key"],
            &["AWS_SECRET_ACCESS_KEY"],
            None,
            Some(S::Password),
            "AWS secret access key (the URL's password; never shown)",
        ),
        param(
            "session_token",
            &["aws_session_token"],
            &["AWS_SESSION_TOKEN"],
            None,
            None,
            "AWS session token of temporary credentials (never shown)",
        ),
        param(
            "profile",
            &[],
            &["AWS_PROFILE"],
            None,
            None,
            "profile of the AWS shared files (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials; AWS_CONFIG_FILE, default ~/.aws/config) the host reads credentials, region and endpoint_url from, after the URL and the environment; default: default",
        ),
        param(
            "tls",
            &["sslmode"],
            &[],
            Some("verify-full"),
            Some(S::TlsMode),
            "disable, require, verify-ca or verify-full; an http:// endpoint means disable",
        ),
        param(
            "ca-file",
            &["sslrootcert", "ca_bundle"],
            &["AWS_CA_BUNDLE"],
            Some("system"),
            Some(S::TlsRootCert),
            "PEM file of trusted CAs, or system",
        ),
        param(
            "connect_timeout",
            &["connect-timeout"],
            &[],
            None,
            Some(S::ConnectTimeoutSeconds),
            "seconds for opening a connection",
        ),
    ]
}

/// What this driver is and can do.
pub fn metadata() -> DriverMetadata {
    DriverMetadata {
        name: "dynamodb".into(),
        version: driverbox_guest_sdk::driver_version!(),
        database_type: "dynamodb".into(),
        // PartiQL: the host's SQL dialects do not parse it.
        dialect: "none".into(),
        placeholder_style: PlaceholderStyle::QuestionMark,
        identifier_quote: "\"".into(),
        connection: ConnectionSettings {
            schemes: vec!["dynamodb".into()],
            default_port: Some(443),
            file_based: false,
            parameters: parameters(),
            scheme_defaults: Vec::new(),
        },
        max_connections: None,
        features: vec![Feature::Transactions, Feature::Streaming, Feature::BulkInsert],
    }
}

/// `ListTables` with `Limit: 1`: the endpoint answers and accepts the signature.
pub fn health(conn: &mut Connection) -> Result<Health> {
    conn.call("ListTables", json!({"Limit": 1}), Idempotent::Yes)?;
    let s = &conn.client.settings;
    Ok(Health {
        server_version: "DynamoDB API 2012-08-10".into(),
        details: vec![
            ("region".into(), s.region.clone()),
            ("endpoint".into(), format!("{}:{}", s.host, s.port)),
            ("tls".into(), s.tls.to_string()),
        ],
    })
}
