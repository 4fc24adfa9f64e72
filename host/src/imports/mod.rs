//! What the host gives drivers: `transport` (sockets, TLS, allow-list),
//! `log`, and for file databases their directory (`files`).

pub mod allowlist;
pub mod files;
pub mod log;
pub mod tls;
pub mod transport;
