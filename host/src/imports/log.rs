//! The `log` import: driver messages into `tracing`, tagged with the
//! driver, and (0.2) server notices kept for the caller of the call.

use crate::bindings::Conv;
use crate::runtime::HostState;

/// Longest message kept; the rest is cut.
const MAX_MESSAGE: usize = 4096;

/// Most notices kept per call; later ones are counted in the log only.
const MAX_NOTICES: usize = 1000;

fn cut(message: &mut String) {
    if message.len() > MAX_MESSAGE {
        let mut at = MAX_MESSAGE;
        while !message.is_char_boundary(at) {
            at -= 1;
        }
        message.truncate(at);
        message.push('…');
    }
}

/// A log level of either contract version, for `tracing`.
#[derive(Clone, Copy)]
enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl HostState {
    fn log_message(&mut self, level: Level, mut message: String) {
        cut(&mut message);
        let driver = &*self.driver;
        match level {
            Level::Trace => tracing::trace!(target: "driverbox::guest", driver, "{message}"),
            Level::Debug => tracing::debug!(target: "driverbox::guest", driver, "{message}"),
            Level::Info => tracing::info!(target: "driverbox::guest", driver, "{message}"),
            Level::Warn => tracing::warn!(target: "driverbox::guest", driver, "{message}"),
            Level::Error => tracing::error!(target: "driverbox::guest", driver, "{message}"),
        }
    }
}

macro_rules! log_for {
    ($v:ident) => {
        impl crate::bindings::$v::log::Host for HostState {
            async fn log(&mut self, level: crate::bindings::$v::log::Level, message: String) -> wasmtime::Result<()> {
                use crate::bindings::$v::log::Level as L;
                let level = match level {
                    L::Trace => Level::Trace,
                    L::Debug => Level::Debug,
                    L::Info => Level::Info,
                    L::Warn => Level::Warn,
                    L::Error => Level::Error,
                };
                self.log_message(level, message);
                Ok(())
            }

            log_for!(@notice $v);
        }

        impl crate::bindings::$v::types::Host for HostState {}
    };
    (@notice v0_1) => {};
    (@notice v0_2) => {
        async fn emit_notice(&mut self, notice: crate::bindings::v0_2::types::Notice) -> wasmtime::Result<()> {
            if self.notices.len() < MAX_NOTICES {
                let mut n: crate::api::Notice = notice.conv();
                cut(&mut n.message);
                self.notices.push(n);
            } else {
                tracing::debug!(driver = &*self.driver, "notice dropped: more than {MAX_NOTICES} in one call");
            }
            Ok(())
        }
    };
}

log_for!(v0_1);
log_for!(v0_2);
