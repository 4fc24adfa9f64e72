//! Logging into the host's `tracing`, and server notices for the user.

pub use crate::host_log::Level;
use crate::types::Notice;

/// Sends one message to the host log (nothing in native tests, which have no host).
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::host_log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// Hands a server notice to the host, for the caller of the current call
/// (nothing in native tests).
pub fn notice(notice: &Notice) {
    #[cfg(target_arch = "wasm32")]
    crate::host_log::emit_notice(notice);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = notice;
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
