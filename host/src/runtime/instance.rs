//! One driver instance = one pooled connection: a `Store`, the instance's
//! exports, and the guarded call path (deadline, trap handling).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;
use wasmtime::{Store, Trap};

use super::component::{Exports, LoadedDriver};
use super::{HostState, RuntimeInner};
use crate::bindings::types::{ConnectConfig, Error as WitError, ErrorKind};
use crate::error::{Error, Result};

/// Extra time past the deadline before the host stops waiting on a call
/// (the epoch interrupt or the I/O time-out normally ends it first).
const GRACE: Duration = Duration::from_secs(1);

/// The future of one call into a driver.
pub(crate) type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<Result<R, WitError>>> + Send + 'a>>;

/// Host-side session state of one connection.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Prepared statements: host statement id → the driver's id here.
    pub statements: std::collections::HashMap<u64, u32>,
    /// A stream is open on this connection.
    pub stream_open: bool,
}

/// A live driver instance holding one connection.
pub(crate) struct Instance {
    /// Session state the host tracks.
    pub session: Session,
    store: Store<HostState>,
    exports: Exports,
    pub driver: Arc<LoadedDriver>,
    timeout: Duration,
    broken: bool,
    /// When the connection was opened.
    pub created: std::time::Instant,
}

impl Instance {
    /// Instantiates `driver` and opens its connection with `config`.
    pub(crate) async fn start(
        rt: &RuntimeInner,
        driver: Arc<LoadedDriver>,
        state: HostState,
        config: ConnectConfig,
    ) -> Result<Instance> {
        let mut store = rt.new_store(state);
        let name = driver.name.clone();
        let instantiate = async {
            let instance = driver.pre.instantiate_async(&mut store).await?;
            driver.indices.load(&mut store, &instance)
        };
        let exports = match tokio::time::timeout(rt.limits.timeout, instantiate).await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                return Err(Error::Trap {
                    driver: name,
                    call: "instantiate",
                    message: format!("{e:#}"),
                })
            }
            Err(_) => {
                return Err(Error::Timeout {
                    driver: name,
                    call: "instantiate",
                    limit: rt.limits.timeout,
                })
            }
        };
        let mut instance = Instance {
            session: Session::default(),
            store,
            exports,
            driver,
            timeout: rt.limits.timeout,
            broken: false,
            created: std::time::Instant::now(),
        };
        instance
            .call("connect", move |e, s| Box::pin(async move { e.base.call_connect(s, &config).await }))
            .await?;
        Ok(instance)
    }

    /// Leaves the connection clean for its next user: closes an open
    /// stream and rolls back an open transaction. Failing that, the
    /// connection is marked broken (and will be discarded).
    pub(crate) async fn reset(&mut self) {
        if self.session.stream_open && self.exports.extension.is_some() {
            self.session.stream_open = false;
            let closed = self
                .call("stream_close", |e, s| match &e.extension {
                    Some(x) => Box::pin(x.call_stream_close(s)),
                    None => crate::api::missing("extension"),
                })
                .await;
            if closed.is_err() {
                self.broken = true;
            }
        }
        if self.exports.capabilities.is_some() && !self.broken {
            let open = self
                .call("in_transaction", |e, s| match &e.capabilities {
                    Some(c) => Box::pin(async move { c.call_in_transaction(s).await.map(Ok) }),
                    None => crate::api::missing("capabilities"),
                })
                .await;
            match open {
                Ok(false) => {}
                Ok(true) => {
                    tracing::debug!(driver = &*self.driver.name, "rolling back a transaction left open");
                    let rolled = self
                        .call("rollback", |e, s| match &e.capabilities {
                            Some(c) => Box::pin(c.call_rollback(s)),
                            None => crate::api::missing("capabilities"),
                        })
                        .await;
                    if rolled.is_err() {
                        self.broken = true;
                    }
                }
                Err(_) => self.broken = true,
            }
        }
    }

    /// Whether this instance must be thrown away (trap, time-out, broken socket).
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Calls into the driver under the deadline. A trap or time-out marks
    /// the instance broken; driver errors come back as [`Error`].
    pub(crate) async fn call<R>(
        &mut self,
        call: &'static str,
        f: impl for<'a> FnOnce(&'a Exports, &'a mut Store<HostState>) -> CallFuture<'a, R>,
    ) -> Result<R> {
        let name = self.driver.name.clone();
        if self.broken {
            return Err(Error::client(&name, ErrorKind::Connection, "connection was discarded after an earlier failure"));
        }
        let deadline = Instant::now() + self.timeout;
        self.store.data_mut().deadline = deadline;
        self.store.set_epoch_deadline(1);
        // Broken until the call completes: if the caller drops this future
        // midway (a cancel), the instance is never used again.
        self.broken = true;
        let span = tracing::debug_span!("driver_call", driver = &*name, call);
        let outcome = tokio::time::timeout_at(deadline + GRACE, f(&self.exports, &mut self.store))
            .instrument(span)
            .await;
        self.broken = false;
        let limit = self.timeout;
        match outcome {
            Err(_) => {
                self.broken = true;
                Err(Error::Timeout { driver: name, call, limit })
            }
            Ok(Err(trap)) => {
                self.broken = true;
                if trap.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                    return Err(Error::Timeout { driver: name, call, limit });
                }
                let mut message = match trap.downcast_ref::<Trap>() {
                    Some(t) => t.to_string(),
                    None => trap.root_cause().to_string(),
                };
                if format!("{trap:#}").contains("forcing trap when growing memory") {
                    message = format!(
                        "memory limit exceeded (max-memory-size {} MiB)",
                        self.store.data().limits_memory_mib()
                    );
                }
                let stderr = self.store.data().stderr_text();
                if !stderr.is_empty() {
                    message = format!("{message}; driver said: {stderr}");
                }
                tracing::warn!(driver = &*name, call, "driver trapped: {message}");
                Err(Error::Trap { driver: name, call, message })
            }
            Ok(Ok(result)) => {
                if self.store.data().net.broken {
                    self.broken = true;
                }
                result.map_err(|e| Error::from_wit(&name, e))
            }
        }
    }
}

impl HostState {
    fn limits_memory_mib(&self) -> usize {
        self.max_memory / (1 << 20)
    }
}
