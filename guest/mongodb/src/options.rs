//! The URI options of the "Connection String" and "URI Options"
//! specifications that this driver reads itself. The host parses the
//! URL (hosts, credentials, database, percent-encoding) and those options
//! it enforces (`tls`, `tlsInsecure`, `tlsAllowInvalidCertificates`,
//! `tlsCAFile`, `connectTimeoutMS`, `appName`); the table is in
//! [`crate::traits::parameters`].

use driverbox_guest_sdk::types::ConnectConfig;
use driverbox_guest_sdk::{Error, Result};

use crate::protocol::srv;

/// The driver's own options, checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Options {
    pub auth_source: Option<String>,
    pub auth_mechanism: Option<String>,
    pub replica_set: Option<String>,
    pub direct_connection: Option<bool>,
    pub read_preference: Option<String>,
    pub load_balanced: Option<bool>,
    /// `srvMaxHosts` (`mongodb+srv` only; the seed list is cut in `protocol::srv`).
    pub srv_max_hosts: Option<u32>,
}

fn boolean(key: &str, v: &str) -> Result<bool> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::invalid(format!("{key}={v}: expected true or false"))),
    }
}

impl Options {
    /// Reads `config.options`. Errors: `invalid-input` for a bad value or
    /// a combination the specifications forbid (`directConnection=true`
    /// with several hosts), `unsupported` for an authentication mechanism
    /// other than SCRAM.
    pub fn from_config(config: &ConnectConfig) -> Result<Options> {
        let mut o = Options::default();
        for (k, v) in &config.options {
            match k.as_str() {
                "authSource" => {
                    if v.is_empty() {
                        return Err(Error::invalid("authSource must not be empty"));
                    }
                    o.auth_source = Some(v.clone())
                }
                "authMechanism" => {
                    if !matches!(v.as_str(), "SCRAM-SHA-1" | "SCRAM-SHA-256") {
                        return Err(Error::unsupported(format!(
                            "authMechanism={v} is not supported; use SCRAM-SHA-256 or SCRAM-SHA-1"
                        )));
                    }
                    o.auth_mechanism = Some(v.clone())
                }
                "replicaSet" => o.replica_set = Some(v.clone()),
                "directConnection" => o.direct_connection = Some(boolean(k, v)?),
                "readPreference" => {
                    if !matches!(
                        v.as_str(),
                        "primary" | "primaryPreferred" | "secondary" | "secondaryPreferred" | "nearest"
                    ) {
                        return Err(Error::invalid(format!(
                            "readPreference={v}: expected primary, primaryPreferred, secondary, secondaryPreferred or nearest"
                        )));
                    }
                    o.read_preference = Some(v.clone())
                }
                "loadBalanced" => o.load_balanced = Some(boolean(k, v)?),
                "srvMaxHosts" | "srvServiceName" if config.scheme != srv::SCHEME => {
                    return Err(Error::invalid(format!(
                        "{k} is an option of {}:// URLs only",
                        srv::SCHEME
                    )))
                }
                "srvMaxHosts" => {
                    o.srv_max_hosts = Some(
                        v.parse()
                            .map_err(|_| Error::invalid(format!("srvMaxHosts={v}: expected a non-negative integer")))?,
                    )
                }
                "srvServiceName" => srv::check_service_name(v)?,
                _ => {}
            }
        }
        let is_srv = config.scheme == srv::SCHEME;
        if is_srv && o.direct_connection == Some(true) {
            return Err(Error::invalid(format!(
                "directConnection=true cannot be used with {}:// (it names a seed list)",
                srv::SCHEME
            )));
        }
        if o.srv_max_hosts.unwrap_or(0) > 0 {
            if o.replica_set.is_some() {
                return Err(Error::invalid("srvMaxHosts cannot be used with replicaSet"));
            }
            if o.load_balanced == Some(true) {
                return Err(Error::invalid("srvMaxHosts cannot be used with loadBalanced=true"));
            }
        }
        if o.load_balanced == Some(true) {
            if config.hosts.len() > 1 {
                return Err(Error::invalid(
                    "loadBalanced=true needs exactly one host (one load balancer)",
                ));
            }
            if o.replica_set.is_some() {
                return Err(Error::invalid("loadBalanced=true cannot be used with replicaSet"));
            }
            if o.direct_connection == Some(true) {
                return Err(Error::invalid(
                    "loadBalanced=true cannot be used with directConnection=true",
                ));
            }
            return Err(Error::unsupported(
                "loadBalanced=true (a load balancer in front of mongos) is not supported",
            ));
        }
        if o.direct_connection == Some(true) && config.hosts.len() > 1 {
            return Err(Error::invalid(
                "directConnection=true cannot be used with several hosts",
            ));
        }
        if o.auth_mechanism.is_some() && config.user.is_none() {
            return Err(Error::invalid("authMechanism is given without a user name"));
        }
        Ok(o)
    }

    /// The database the credentials are defined in: `authSource`, else the
    /// URL's database, else `admin`.
    pub fn auth_source(&self, config: &ConnectConfig) -> String {
        self.auth_source
            .clone()
            .or_else(|| config.database.clone().filter(|d| !d.is_empty()))
            .unwrap_or_else(|| "admin".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::types::{Endpoint, TlsMode};
    use driverbox_guest_sdk::ErrorKind;

    fn config(options: &[(&str, &str)], hosts: usize, user: Option<&str>, db: Option<&str>) -> ConnectConfig {
        ConnectConfig {
            scheme: "mongodb".into(),
            hosts: (0..hosts)
                .map(|i| Endpoint {
                    host: format!("h{i}"),
                    port: 27017,
                    port_given: false,
                })
                .collect(),
            user: user.map(String::from),
            password: None,
            database: db.map(String::from),
            tls: TlsMode::Disable,
            application_name: None,
            options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn auth_source_defaults() {
        let c = config(&[], 1, Some("u"), Some("app"));
        assert_eq!(Options::from_config(&c).unwrap().auth_source(&c), "app");
        let c = config(&[], 1, Some("u"), None);
        assert_eq!(Options::from_config(&c).unwrap().auth_source(&c), "admin");
        let c = config(&[("authSource", "other")], 1, Some("u"), Some("app"));
        assert_eq!(Options::from_config(&c).unwrap().auth_source(&c), "other");
        assert!(Options::from_config(&config(&[("authSource", "")], 1, None, None)).is_err());
    }

    #[test]
    fn checks_values_and_combinations() {
        let ok = config(
            &[
                ("authMechanism", "SCRAM-SHA-1"),
                ("replicaSet", "rs0"),
                ("directConnection", "false"),
                ("readPreference", "secondaryPreferred"),
            ],
            2,
            Some("u"),
            None,
        );
        let o = Options::from_config(&ok).unwrap();
        assert_eq!(o.replica_set.as_deref(), Some("rs0"));
        assert_eq!(o.direct_connection, Some(false));
        let e = Options::from_config(&config(&[("authMechanism", "GSSAPI")], 1, Some("u"), None)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.message().contains("GSSAPI"));
        assert!(Options::from_config(&config(&[("authMechanism", "SCRAM-SHA-1")], 1, None, None)).is_err());
        assert!(Options::from_config(&config(&[("directConnection", "true")], 2, None, None)).is_err());
        assert!(Options::from_config(&config(&[("directConnection", "true")], 1, None, None)).is_ok());
        assert!(Options::from_config(&config(&[("directConnection", "yes")], 1, None, None)).is_err());
        assert!(Options::from_config(&config(&[("readPreference", "fastest")], 1, None, None)).is_err());
    }

    fn srv_config(options: &[(&str, &str)], hosts: usize) -> ConnectConfig {
        ConnectConfig {
            scheme: srv::SCHEME.into(),
            ..config(options, hosts, None, None)
        }
    }

    #[test]
    fn srv_options_only_with_mongodb_srv() {
        for k in ["srvMaxHosts", "srvServiceName"] {
            let v = if k == "srvMaxHosts" { "2" } else { "mongodb" };
            let e = Options::from_config(&config(&[(k, v)], 1, None, None)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(
                e.message().contains(k) && e.message().contains("mongodb+srv"),
                "{}",
                e.message()
            );
            assert!(Options::from_config(&srv_config(&[(k, v)], 3)).is_ok());
        }
        assert!(Options::from_config(&srv_config(&[("srvMaxHosts", "-2")], 1)).is_err());
        assert!(Options::from_config(&srv_config(&[("srvServiceName", "a_b")], 1)).is_err());
    }

    #[test]
    fn srv_combinations() {
        // directConnection=true is refused with mongodb+srv, even with one seed.
        assert!(Options::from_config(&srv_config(&[("directConnection", "true")], 1)).is_err());
        assert!(Options::from_config(&srv_config(&[("directConnection", "false")], 1)).is_ok());
        // srvMaxHosts > 0 excludes replicaSet and loadBalanced=true; 0 does not.
        let e = Options::from_config(&srv_config(&[("srvMaxHosts", "1"), ("replicaSet", "rs0")], 2)).unwrap_err();
        assert!(e.message().contains("replicaSet"));
        assert!(Options::from_config(&srv_config(&[("srvMaxHosts", "0"), ("replicaSet", "rs0")], 2)).is_ok());
        let e = Options::from_config(&srv_config(&[("srvMaxHosts", "1"), ("loadBalanced", "true")], 1)).unwrap_err();
        assert!(e.message().contains("loadBalanced"));
    }

    #[test]
    fn load_balanced() {
        assert!(Options::from_config(&config(&[("loadBalanced", "false")], 2, None, None)).is_ok());
        assert!(Options::from_config(&config(&[("loadBalanced", "maybe")], 1, None, None)).is_err());
        // The combinations the specifications forbid, then the mode itself.
        let e = Options::from_config(&config(&[("loadBalanced", "true")], 2, None, None)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e =
            Options::from_config(&config(&[("loadBalanced", "true"), ("replicaSet", "r")], 1, None, None)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = Options::from_config(&config(&[("loadBalanced", "true")], 1, None, None)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}
