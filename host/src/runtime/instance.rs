//! One driver instance = one pooled connection: a `Store`, the instance's
//! exports, and the guarded call path (deadline, trap handling).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
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

/// A live driver instance holding one connection.
pub(crate) struct Instance {
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

    /// Whether this instance must be thrown away (trap, time-out, broken socket).
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// The exports, to check what the driver offers before calling.
    pub(crate) fn exports(&self) -> &Exports {
        &self.exports
    }

    /// Changes the per-call deadline for this instance.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
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
        let outcome = {
            let span = tracing::debug_span!("driver_call", driver = &*name, call);
            let _enter = span.enter();
            tokio::time::timeout_at(deadline + GRACE, f(&self.exports, &mut self.store)).await
        };
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
