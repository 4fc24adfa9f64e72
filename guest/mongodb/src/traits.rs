//! `traits`: driver metadata (with the URI option table) and health.

use driverbox_guest_sdk::types::{
    ConnectionSettings, DriverMetadata, Feature, Health, PlaceholderStyle, SchemeDefault, Setting, UrlParameter,
};
use driverbox_guest_sdk::Result;

use crate::connection::Connection;

fn param(
    name: &str,
    aliases: &[&str],
    default: Option<&str>,
    setting: Option<Setting>,
    description: &str,
) -> UrlParameter {
    UrlParameter {
        name: name.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        default: default.map(String::from),
        description: description.into(),
        setting,
    }
}

/// The URI options, named as the "URI Options" specification names them
/// (matched without regard to case). Host, port, user, password and
/// database come from the URL itself (`mongodb://user:pw@h1:27017,h2/db`).
pub fn parameters() -> Vec<UrlParameter> {
    use Setting as S;
    vec![
        param(
            "tls",
            &["ssl"],
            Some("false"),
            Some(S::TlsEnabled),
            "TLS from the first byte, certificate and host name checked",
        ),
        param(
            "tlsInsecure",
            &[],
            None,
            Some(S::TlsInsecure),
            "true: TLS without checking the certificate or host name",
        ),
        param(
            "tlsAllowInvalidCertificates",
            &[],
            None,
            Some(S::TlsInsecure),
            "true: TLS without checking the certificate (the host cannot check names without the chain)",
        ),
        param(
            "tlsCAFile",
            &[],
            None,
            Some(S::TlsRootCert),
            "PEM file of trusted CAs; turns TLS on",
        ),
        param(
            "connectTimeoutMS",
            &[],
            None,
            Some(S::ConnectTimeoutMilliseconds),
            "milliseconds for the whole connection set-up",
        ),
        param(
            "appName",
            &[],
            None,
            Some(S::ApplicationName),
            "sent in the hello handshake, shown in the server log",
        ),
        param(
            "authSource",
            &[],
            None,
            None,
            "database of the user; default: the URL's database, else admin",
        ),
        param(
            "authMechanism",
            &[],
            None,
            None,
            "SCRAM-SHA-256 or SCRAM-SHA-1; default: what the server offers for the user",
        ),
        param(
            "replicaSet",
            &[],
            None,
            None,
            "the server must be a member of this replica set",
        ),
        param(
            "directConnection",
            &[],
            None,
            None,
            "true: talk to the one host given (no discovery; the driver never discovers)",
        ),
        param(
            "readPreference",
            &[],
            None,
            None,
            "primary, primaryPreferred, secondary, secondaryPreferred or nearest",
        ),
        param(
            "loadBalanced",
            &[],
            None,
            None,
            "true: a load balancer in front of mongos (not supported; checked)",
        ),
        param(
            "srvServiceName",
            &[],
            None,
            None,
            "mongodb+srv: the SRV service looked up, _NAME._tcp.HOST; default mongodb",
        ),
        param(
            "srvMaxHosts",
            &[],
            None,
            None,
            "mongodb+srv: at most this many SRV hosts, picked at random; default 0 (all)",
        ),
    ]
}

/// What this driver is and can do.
pub fn metadata() -> DriverMetadata {
    DriverMetadata {
        name: "mongodb".into(),
        version: driverbox_guest_sdk::driver_version!(),
        database_type: "mongodb".into(),
        dialect: "none".into(),
        placeholder_style: PlaceholderStyle::None,
        identifier_quote: String::new(),
        connection: ConnectionSettings {
            schemes: vec!["mongodb".into(), crate::protocol::srv::SCHEME.into()],
            default_port: Some(27017),
            file_based: false,
            parameters: parameters(),
            // The seedlist specification: mongodb+srv turns TLS on unless the URL says tls=false.
            scheme_defaults: vec![SchemeDefault {
                scheme: crate::protocol::srv::SCHEME.into(),
                parameter: "tls".into(),
                value: "true".into(),
            }],
        },
        max_connections: None,
        // Document cursors stream through `nosql`; `streaming` names SQL streams (`extension`).
        features: vec![Feature::Transactions],
    }
}

/// `hello` and `buildInfo`: the server's version, role and limits.
pub fn health(conn: &mut Connection) -> Result<Health> {
    let hello = crate::protocol::reply::document(&conn.run("admin", bson::doc! {"hello": 1}, &[])?)?;
    let version = conn.server_version()?;
    let mut details = vec![("database".to_string(), conn.database.clone())];
    for key in [
        "isWritablePrimary",
        "setName",
        "maxWireVersion",
        "maxBsonObjectSize",
        "logicalSessionTimeoutMinutes",
    ] {
        if let Some(v) = hello.get(key) {
            let text = match v {
                bson::Bson::String(s) => s.clone(),
                other => other.to_string(),
            };
            details.push((key.to_string(), text));
        }
    }
    Ok(Health {
        server_version: version,
        details,
    })
}
