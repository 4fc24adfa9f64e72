//! What the host gives drivers: `transport` (sockets, TLS, allow-list) and `log`.

pub mod allowlist;
pub mod log;
pub mod tls;
pub mod transport;
