//! Logging into the host's `tracing`.

pub use crate::host_log::Level;

/// Sends one message to the host.
pub fn log(level: Level, message: &str) {
    crate::host_log::log(level, message);
}

/// `debug!("...", args)` into the host log.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, &format!($($arg)*)) };
}

/// `warn!("...", args)` into the host log.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, &format!($($arg)*)) };
}
