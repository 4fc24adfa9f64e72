//! Which network endpoints a driver instance may reach: only those of its
//! own connection config, checked on resolved addresses.

use std::collections::HashSet;
use std::net::SocketAddr;

/// The endpoints one connection config names. Empty: no network at all.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    endpoints: Vec<(String, u16)>,
}

impl AllowList {
    /// Allows each of `endpoints` (a connection's host list); none when empty.
    pub fn of<'a>(endpoints: impl IntoIterator<Item = (&'a str, u16)>) -> AllowList {
        AllowList {
            endpoints: endpoints
                .into_iter()
                .map(|(h, p)| (h.to_ascii_lowercase(), p))
                .collect(),
        }
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
