//! One driver instance = one pooled connection: a `Store`, the instance's
//! exports, and the guarded call path (deadline, trap handling).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;
use wasmtime::{Store, Trap};

use wasmtime_wasi::WasiCtxBuilder;

use super::component::LoadedDriver;
use super::{HostState, RuntimeInner};
use crate::api::Notice;
use crate::bindings::v0_2::types::{ConnectConfig, Error as WitError, ErrorKind as WitErrorKind};
use crate::bindings::{Conv, Exports};
use crate::error::{Error, ErrorKind, GuestError, Result};
use crate::imports::allowlist::AllowList;
use crate::imports::tls::TlsSettings;
use crate::imports::transport::Net;

/// How long a cancel request may take.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);

/// The future of one call into a driver.
pub(crate) type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<Result<R, WitError>>> + Send + 'a>>;

/// Host-side session state of one connection.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Prepared statements: host statement id → the driver's id here.
    pub statements: std::collections::HashMap<u64, u32>,
    /// A stream is open on this connection.
    pub stream_open: bool,
    /// A document cursor is open on this connection.
    pub cursor_open: bool,
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
    /// A call is under way (if this instance is dropped now, the call was
    /// abandoned and the server should stop it).
    in_call: bool,
    canceller: Option<Arc<Canceller>>,
}

/// What it takes to stop a connection's running statement from a fresh
/// instance of its driver (`base.cancel` with the connection's token).
struct Canceller {
    rt: Arc<RuntimeInner>,
    driver: Arc<LoadedDriver>,
    allow: AllowList,
    tls: Arc<TlsSettings>,
    connect_timeout: Duration,
    config: ConnectConfig,
    token: Vec<u8>,
}

impl Canceller {
    /// Sends the cancel in the background.
    fn spawn(self: &Arc<Self>) {
        let this = self.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { this.run().await });
        }
    }

    async fn run(&self) {
        let mut net = Net::new(self.allow.clone(), self.tls.clone(), self.connect_timeout, 1);
        net.dns_server = self.rt.dns_server;
        let state = HostState::new(self.driver.name.clone(), net, WasiCtxBuilder::new());
        let mut store = self.rt.new_store(state);
        let work = async {
            let instance = self.driver.pre.instantiate_async(&mut store).await?;
            let exports = self.driver.indices.load(&mut store, &instance)?;
            crate::api::required!(&exports, base.call_cancel(&mut store, &self.config, &self.token))
        };
        let name = &*self.driver.name;
        match tokio::time::timeout(CANCEL_TIMEOUT, work).await {
            Ok(Ok(Ok(()))) => tracing::debug!(driver = name, "canceled the running statement"),
            Ok(Ok(Err(e))) => tracing::warn!(
                driver = name,
                "cancel failed: {}",
                crate::error::from_guest(&self.driver.name, e.conv())
            ),
            Ok(Err(trap)) => tracing::warn!(driver = name, "cancel trapped: {trap}"),
            Err(_) => tracing::warn!(driver = name, "cancel did not finish within {CANCEL_TIMEOUT:?}"),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.in_call {
            if let Some(c) = &self.canceller {
                c.spawn();
            }
        }
    }
}

impl Instance {
    /// Instantiates `driver` and opens its connection with `config`.
    pub(crate) async fn start(
        rt: &Arc<RuntimeInner>,
        driver: Arc<LoadedDriver>,
        state: HostState,
        config: ConnectConfig,
    ) -> Result<Instance> {
        let (allow, tls, connect_timeout) = (
            state.net.allow.clone(),
            state.net.tls.clone(),
            state.net.connect_timeout,
        );
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
            in_call: false,
            canceller: None,
        };
        let connect_config = config.clone();
        // `connect-timeout` bounds the whole set-up (TCP, TLS, startup,
        // authentication), as libpq's `connect_timeout` does.
        instance.timeout = rt.limits.timeout.min(connect_timeout);
        instance
            .call("connect", crate::api::base_call!(base, call_connect(&connect_config)))
            .await?;
        let token = instance
            .call("cancel_token", |e, s| {
                Box::pin(async move { crate::api::required!(e, base.call_cancel_token(s)).map(Ok) })
            })
            .await?;
        instance.timeout = rt.limits.timeout;
        instance.canceller = token.map(|token| {
            Arc::new(Canceller {
                rt: rt.clone(),
                driver: instance.driver.clone(),
                allow,
                tls,
                connect_timeout,
                config,
                token,
            })
        });
        Ok(instance)
    }

    /// Leaves the connection clean for its next user: closes an open
    /// stream and rolls back an open transaction. Failing that, the
    /// connection is marked broken (and will be discarded).
    pub(crate) async fn reset(&mut self) {
        if self.session.stream_open {
            self.session.stream_open = false;
            let closed = self
                .call("stream_close", crate::api::optional!(extension, call_stream_close()))
                .await;
            self.broken |= closed.is_err();
        }
        if self.session.cursor_open && !self.broken {
            self.session.cursor_open = false;
            let closed = self
                .call("cursor_close", crate::api::optional!(nosql, call_cursor_close()))
                .await;
            self.broken |= closed.is_err();
        }
        if self.has_capabilities() && !self.broken {
            let open = self
                .call("in_transaction", |e, s| {
                    Box::pin(async move {
                        let open = match e {
                            Exports::V0_1(x) => match &x.capabilities {
                                Some(c) => c.call_in_transaction(s).await?,
                                None => false,
                            },
                            Exports::V0_2(x) => match &x.capabilities {
                                Some(c) => c.call_in_transaction(s).await?,
                                None => false,
                            },
                        };
                        Ok(Ok(open))
                    })
                })
                .await;
            match open {
                Ok(false) => {}
                Ok(true) => {
                    tracing::debug!(driver = &*self.driver.name, "rolling back a transaction left open");
                    let rolled = self
                        .call("rollback", crate::api::optional!(capabilities, call_rollback()))
                        .await;
                    self.broken |= rolled.is_err();
                }
                Err(_) => self.broken = true,
            }
        }
    }

    /// Asks the server to stop what this connection runs (after a time-out).
    fn cancel(&self) {
        if let Some(c) = &self.canceller {
            c.spawn();
        }
    }

    fn has_capabilities(&self) -> bool {
        match &self.exports {
            Exports::V0_1(x) => x.capabilities.is_some(),
            Exports::V0_2(x) => x.capabilities.is_some(),
        }
    }

    /// The notices the server sent during the last calls.
    pub(crate) fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.store.data_mut().notices)
    }

    /// Whether the server hung up while this connection was idle.
    pub(crate) fn peer_gone(&mut self) -> bool {
        self.store.data_mut().peer_gone()
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
        if self.broken {
            return Err(Error::client(
                &self.driver.name,
                ErrorKind::Connection,
                "connection was discarded after an earlier failure",
            ));
        }
        self.store.data_mut().notices.clear();
        let deadline = Instant::now() + self.timeout;
        self.store.data_mut().deadline = deadline;
        self.store.set_epoch_deadline(1);
        // Broken until the call completes: if the caller drops this future
        // midway (a cancel), the instance is never used again.
        self.broken = true;
        self.in_call = true;
        let span = tracing::debug_span!("driver_call", driver = &*self.driver.name, call);
        // One timer per call: it ends a call blocked in host I/O; the epoch
        // callback ends a call busy in wasm at the same deadline.
        let outcome = tokio::time::timeout_at(deadline, f(&self.exports, &mut self.store))
            .instrument(span)
            .await;
        self.in_call = false;
        self.broken = false;
        let (name, limit) = (&self.driver.name, self.timeout);
        match outcome {
            Err(_) => {
                self.broken = true;
                self.cancel();
                Err(Error::Timeout {
                    driver: name.clone(),
                    call,
                    limit,
                })
            }
            Ok(Err(trap)) => {
                self.broken = true;
                if trap.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                    self.cancel();
                    return Err(Error::Timeout {
                        driver: name.clone(),
                        call,
                        limit,
                    });
                }
                let mut message = match trap.downcast_ref::<Trap>() {
                    Some(t) => t.to_string(),
                    None => trap.root_cause().to_string(),
                };
                let full = format!("{trap:#}");
                if full.contains("forcing trap when growing memory") {
                    message = format!(
                        "memory limit exceeded (max-memory-size {} MiB)",
                        self.store.data().limits_memory_mib()
                    );
                }
                if full.contains("fuel allocated for hostcalls has been exhausted") {
                    return Err(Error::client(
                        name,
                        ErrorKind::InvalidInput,
                        format!("{call}: the result exceeds max-result-bytes; stream it with stream_query"),
                    ));
                }
                let stderr = self.store.data().stderr_text();
                if !stderr.is_empty() {
                    message = format!("{message}; driver said: {stderr}");
                }
                tracing::warn!(driver = &**name, call, "driver trapped: {message}");
                Err(Error::Trap {
                    driver: name.clone(),
                    call,
                    message,
                })
            }
            Ok(Ok(result)) => {
                // A broken socket, or an error the driver raised because the
                // session can no longer be trusted (protocol desync, lost
                // connection): the connection is discarded.
                let session_lost = match &result {
                    Err(WitError::Client(c)) => matches!(
                        c.kind,
                        WitErrorKind::Connection | WitErrorKind::Protocol | WitErrorKind::Tls | WitErrorKind::Timeout
                    ),
                    Err(WitError::Server(s)) => s.kind == WitErrorKind::Connection,
                    Ok(_) => false,
                };
                if self.store.data().net.broken || session_lost {
                    self.broken = true;
                }
                result.map_err(|e| crate::error::from_guest(name, Conv::<GuestError>::conv(e)))
            }
        }
    }
}

impl HostState {
    fn limits_memory_mib(&self) -> usize {
        self.max_memory / (1 << 20)
    }
}
