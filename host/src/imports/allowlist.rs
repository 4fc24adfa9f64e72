//! Which network endpoints a driver instance may reach: only those of its
//! own connection config, checked on resolved addresses; which DNS names
//! it may look up (`dns`): only SRV and TXT names of its own hosts; and the
//! endpoints an SRV answer for those names adds.

use std::collections::HashSet;
use std::net::SocketAddr;

/// The endpoints one connection config names. Empty: no network at all.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    endpoints: Vec<(String, u16)>,
    /// Targets of SRV answers for this connection's own names (lower
    /// case, without the final dot); their addresses come from the host's
    /// DNS client (`imports::dns`), not from the system resolver.
    discovered: Vec<(String, u16)>,
}

/// Most endpoints SRV answers may add to one connection.
const MAX_DISCOVERED: usize = 256;

/// A DNS name compared as DNS compares it: ASCII case-insensitive, final dot ignored.
fn dns_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl AllowList {
    /// Allows each of `endpoints` (a connection's host list); none when empty.
    pub fn of<'a>(endpoints: impl IntoIterator<Item = (&'a str, u16)>) -> AllowList {
        AllowList {
            endpoints: endpoints
                .into_iter()
                .map(|(h, p)| (h.to_ascii_lowercase(), p))
                .collect(),
            discovered: Vec::new(),
        }
    }

    /// Whether a driver may look up `name`: for SRV `_SERVICE._tcp.HOST`,
    /// for TXT `HOST`, where HOST is a host name (not an address) of this
    /// connection and SERVICE one label of letters, digits and `-`.
    pub fn may_look_up(&self, name: &str, srv: bool) -> bool {
        let name = dns_name(name);
        let host = if srv {
            let Some((service, rest)) = name.split_once('.') else {
                return false;
            };
            let label_ok = service.len() >= 2
                && service.len() <= 63
                && service.starts_with('_')
                && service[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            match rest.strip_prefix("_tcp.") {
                Some(host) if label_ok => host.to_string(),
                _ => return false,
            }
        } else {
            name
        };
        !host.is_empty()
            && host.parse::<std::net::IpAddr>().is_err()
            && self.endpoints.iter().any(|(h, _)| dns_name(h) == host)
    }

    /// Adds an endpoint named by an SRV answer (bounded; more are ignored).
    pub fn discover(&mut self, host: &str, port: u16) {
        let entry = (dns_name(host), port);
        if self.discovered.len() < MAX_DISCOVERED && !self.discovered.contains(&entry) {
            self.discovered.push(entry);
        }
    }

    /// Whether `host:port` was named by an SRV answer of this connection.
    pub fn is_discovered(&self, host: &str, port: u16) -> bool {
        let entry = (dns_name(host), port);
        self.discovered.contains(&entry)
    }

    /// No endpoint at all (file databases, tests).
    pub fn none() -> AllowList {
        AllowList::default()
    }

    /// The addresses to connect to for `host:port`, if every address it
    /// resolves to belongs to an allowed endpoint; otherwise why not.
    /// Nothing is sent to any address before this check.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        if !self.endpoints.iter().any(|(_, p)| *p == port) {
            return Err(Refusal::NotAllowed(format!(
                "{host}:{port} is not the endpoint of this connection"
            )));
        }
        let mut allowed = HashSet::new();
        for (h, p) in self.endpoints.iter().filter(|(_, p)| *p == port) {
            allowed.extend(lookup(h, *p).await?);
        }
        let wanted = lookup(host, port).await?;
        if wanted.is_empty() || wanted.iter().any(|a| !allowed.contains(a)) {
            return Err(Refusal::NotAllowed(format!(
                "{host}:{port} resolves to {} which is not the endpoint of this connection",
                wanted.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(wanted)
    }
}

/// Why [`AllowList::resolve`] gave no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The name did not resolve (DNS): a connection error, not a refusal.
    Unresolved(String),
    /// The address is not an endpoint of this connection.
    NotAllowed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unresolved(m) | Refusal::NotAllowed(m) => f.write_str(m),
        }
    }
}

async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    tokio::net::lookup_host((host, port))
        .await
        .map(|addrs| addrs.collect())
        .map_err(|e| Refusal::Unresolved(format!("could not resolve host name {host}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_of_its_own_hosts_only() {
        let mut allow = AllowList::of([("Cluster0.Example.COM", 27017), ("127.0.0.1", 27017)]);
        assert!(allow.may_look_up("_mongodb._tcp.cluster0.example.com", true));
        assert!(allow.may_look_up("_mongodb._tcp.cluster0.example.com.", true));
        assert!(allow.may_look_up("_custom-svc._tcp.CLUSTER0.example.com", true));
        assert!(allow.may_look_up("cluster0.example.com", false));
        // Not its host, not SRV-shaped, or an address.
        assert!(!allow.may_look_up("_mongodb._tcp.other.example.com", true));
        assert!(!allow.may_look_up("_mongodb._udp.cluster0.example.com", true));
        assert!(!allow.may_look_up("mongodb._tcp.cluster0.example.com", true));
        assert!(!allow.may_look_up("_._tcp.cluster0.example.com", true));
        assert!(!allow.may_look_up("_a.b._tcp.cluster0.example.com", true));
        assert!(!allow.may_look_up("cluster0.example.com", true));
        assert!(!allow.may_look_up("_mongodb._tcp.cluster0.example.com", false));
        assert!(!allow.may_look_up("x.cluster0.example.com", false));
        assert!(!allow.may_look_up("127.0.0.1", false));
        assert!(!allow.may_look_up("_mongodb._tcp.127.0.0.1", true));
        assert!(!AllowList::none().may_look_up("example.com", false));
        // SRV targets become endpoints, with their port only.
        assert!(!allow.is_discovered("db1.example.com", 27018));
        allow.discover("DB1.example.com.", 27018);
        assert!(allow.is_discovered("db1.example.com", 27018));
        assert!(!allow.is_discovered("db1.example.com", 27017));
        for i in 0..1000 {
            allow.discover(&format!("h{i}.example.com"), 1);
        }
        assert!(allow.discovered.len() <= MAX_DISCOVERED);
    }

    #[tokio::test]
    async fn only_its_own_endpoint() {
        let allow = AllowList::of([("127.0.0.1", 5432)]);
        assert_eq!(allow.resolve("127.0.0.1", 5432).await.unwrap().len(), 1);
        assert!(allow.resolve("127.0.0.1", 5433).await.is_err());
        assert!(allow.resolve("169.254.169.254", 5432).await.is_err());
        assert!(allow.resolve("127.0.0.2", 5432).await.is_err());
        assert!(AllowList::none().resolve("127.0.0.1", 5432).await.is_err());
        let list = AllowList::of([("127.0.0.1", 5432), ("127.0.0.1", 6432)]);
        assert!(list.resolve("127.0.0.1", 6432).await.is_ok());
        assert!(list.resolve("127.0.0.1", 7432).await.is_err());
        // A name is fine when it resolves to the allowed address only.
        let by_name = AllowList::of([("localhost", 5432)]);
        assert!(by_name.resolve("127.0.0.1", 5432).await.is_ok());
        // A name that does not resolve is told apart from a refusal.
        let unknown = AllowList::of([("no-such-host.invalid", 5432)]);
        assert!(matches!(
            unknown.resolve("no-such-host.invalid", 5432).await,
            Err(Refusal::Unresolved(m)) if m.contains("no-such-host.invalid")
        ));
        assert!(matches!(
            allow.resolve("127.0.0.2", 5432).await,
            Err(Refusal::NotAllowed(_))
        ));
    }
}
