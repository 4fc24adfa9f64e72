//! What the host gives drivers: `transport` (sockets, TLS, allow-list),
//! `dns` (SRV and TXT lookups), `log`, and for file databases their
//! directory (`files`).

pub mod allowlist;
pub mod dns;
pub mod files;
pub mod log;
pub mod tls;
pub mod transport;
