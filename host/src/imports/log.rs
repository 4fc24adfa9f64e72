//! The `log` import: driver messages into `tracing`, tagged with the driver.

use crate::bindings::log::{Host, Level};
use crate::runtime::HostState;

/// Longest message kept; the rest is cut.
const MAX_MESSAGE: usize = 4096;

impl Host for HostState {
    async fn log(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let driver = &*self.driver;
        match level {
            Level::Trace => tracing::trace!(target: "driverbox::guest", driver, "{message}"),
            Level::Debug => tracing::debug!(target: "driverbox::guest", driver, "{message}"),
            Level::Info => tracing::info!(target: "driverbox::guest", driver, "{message}"),
            Level::Warn => tracing::warn!(target: "driverbox::guest", driver, "{message}"),
            Level::Error => tracing::error!(target: "driverbox::guest", driver, "{message}"),
        }
        Ok(())
    }
}

impl crate::bindings::types::Host for HostState {}
