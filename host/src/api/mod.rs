//! The Rust API: `async_trait` traits named after the original driver
//! interface, all served by [`WasmDriver`] over any loaded component.
//! One module per WIT interface, with the same name.

pub mod base;
pub mod capabilities;
pub mod column;
pub mod extension;
pub mod function;
pub mod nosql;
pub mod schema;
pub mod table;
pub mod traits;
pub mod view;

use std::path::Path;
use std::sync::Arc;

use wasmtime::Store;
use wasmtime_wasi::WasiCtxBuilder;

use crate::bindings::v0_2::types as w;
use crate::bindings::{Conv, Exports};
use crate::config::ConnectOptions;
use crate::error::{Error, ErrorKind, GuestError, Result};
use crate::imports::allowlist::AllowList;
use crate::imports::files::FileSandbox;
use crate::imports::tls::TlsSettings;
use crate::imports::transport::Net;
use crate::pool::{Pool, PoolConfig, PoolStatus};
use crate::runtime::instance::CallFuture;
use crate::runtime::{Capability, DriverInfo, DriverSlot, HostState, Instance, Runtime};

pub use base::{ArrowResult, ConnectionDriver, Notice, QueryDriver, ScriptOutcome};
pub use capabilities::{
    IsolationLevel, PreparedStatement, PreparedStatementDriver, StatementId, Transaction, TransactionDriver,
    TransactionId, TransactionOptions,
};
pub use column::ColumnManagement;
pub use extension::{
    ArrowStream, BulkOperationsDriver, DatabaseManagementDriver, RowStream, StreamingDriver, BULK_CHUNK_ROWS,
};
pub use function::FunctionOperations;
pub use nosql::NoSqlOperations;
pub use schema::SchemaIntrospection;
pub use table::TableOperations;
pub use traits::{ConnectionPoolDriver, DriverCapabilities, DriverMetadata, HealthCheckDriver, HealthReport};
pub use view::ViewOperations;

/// A document store (NoSQLDatabaseDriver).
pub trait NoSqlDatabaseDriver: ConnectionDriver + QueryDriver + NoSqlOperations {}
impl<T> NoSqlDatabaseDriver for T where T: ConnectionDriver + QueryDriver + NoSqlOperations {}

/// Every core SQL capability (DatabaseDriver).
pub trait DatabaseDriver:
    ConnectionDriver
    + QueryDriver
    + SchemaIntrospection
    + TableOperations
    + ColumnManagement
    + ViewOperations
    + FunctionOperations
{
}
impl<T> DatabaseDriver for T where
    T: ConnectionDriver
        + QueryDriver
        + SchemaIntrospection
        + TableOperations
        + ColumnManagement
        + ViewOperations
        + FunctionOperations
{
}

/// A database reached through a driver component: a pool of driver
/// instances for one connection URL. Cheap to clone.
#[derive(Clone)]
pub struct WasmDriver {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WasmDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmDriver")
            .field("driver", &self.name())
            .field("url", &self.shared.options.to_string())
            .field("pool", &self.pool_status())
            .finish()
    }
}

struct Shared {
    slot: DriverSlot,
    options: ConnectOptions,
    pool: Pool,
    sessions: capabilities::Sessions,
    /// Where server notices go (see [`WasmDriver::on_notice`]).
    notices: base::NoticeSink,
}

/// The error of a call to an interface the driver does not export.
pub(crate) fn missing_error(interface: &'static str) -> w::Error {
    GuestError::client(
        ErrorKind::Unsupported,
        format!("the driver does not export the `{interface}` interface"),
    )
    .conv()
}

/// Awaits `$iface.$func(args…)` of an interface every driver exports
/// (`base`, `traits`), whichever contract version it speaks.
macro_rules! required {
    ($exports:expr, $iface:ident . $func:ident ( $($arg:expr),* )) => {
        match $exports {
            $crate::bindings::Exports::V0_1(x) => x.$iface.$func($($arg),*).await,
            $crate::bindings::Exports::V0_2(x) => x.$iface.$func($($arg),*).await,
        }
    };
}
pub(crate) use required;

/// The call closure for `$func` of the optional interface `$iface`
/// (`unsupported` when the driver lacks it), for `run` or `Instance::call`.
macro_rules! optional {
    ($iface:ident, $func:ident ( $($arg:expr),* )) => {
        move |e, s| Box::pin(async move {
            match e {
                $crate::bindings::Exports::V0_1(x) => match &x.$iface {
                    Some(i) => i.$func(s, $($arg),*).await,
                    None => Ok(Err($crate::api::missing_error(stringify!($iface)))),
                },
                $crate::bindings::Exports::V0_2(x) => match &x.$iface {
                    Some(i) => i.$func(s, $($arg),*).await,
                    None => Ok(Err($crate::api::missing_error(stringify!($iface)))),
                },
            }
        })
    };
}
pub(crate) use optional;

/// The call closure for `$func` of `base` or `traits`.
macro_rules! base_call {
    ($iface:ident, $func:ident ( $($arg:expr),* )) => {
        move |e, s| Box::pin(async move { $crate::api::required!(e, $iface.$func(s $(, $arg)*)) })
    };
}
pub(crate) use base_call;

/// Calls `$func` of the optional interface `$iface` on a pooled connection.
macro_rules! call_optional {
    ($driver:expr, $iface:ident, $func:ident ( $($arg:expr),* )) => {
        $driver.run(stringify!($func), $crate::api::optional!($iface, $func($($arg),*)))
    };
}
pub(crate) use call_optional;

impl Runtime {
    /// Opens a pool for `url` with the default pool settings, and checks
    /// that one connection works.
    pub async fn connect(&self, url: &str) -> Result<WasmDriver> {
        self.connect_with(url, PoolConfig::default()).await
    }

    /// Parses `url` with the parameter table of the driver serving its
    /// scheme (the environment fills what it leaves out).
    pub async fn parse_url(&self, url: &str) -> Result<ConnectOptions> {
        let scheme = crate::config::scheme_of(url)?;
        let slot = self.driver_for(&scheme).await?;
        let driver = slot.load_full();
        ConnectOptions::parse(url, &driver.info.connection)
    }

    /// Opens a pool for `url`, and checks that one connection works.
    pub async fn connect_with(&self, url: &str, pool: PoolConfig) -> Result<WasmDriver> {
        let options = self.parse_url(url).await?;
        self.connect_options(options, pool).await
    }

    /// Opens a pool for parsed `options` (see [`Runtime::parse_url`]),
    /// and checks that one connection works.
    pub async fn connect_options(&self, options: ConnectOptions, mut pool: PoolConfig) -> Result<WasmDriver> {
        let slot = self.driver_for(&options.scheme).await?;
        let driver = slot.load_full();
        let tls = Arc::new(TlsSettings::new(options.tls, options.tls_root_cert.as_deref()).map_err(Error::Config)?);
        let sandbox = FileSandbox::for_options(&options)?;
        let config = w::ConnectConfig {
            scheme: options.scheme.clone(),
            hosts: options
                .hosts
                .iter()
                .map(|h| w::Endpoint {
                    host: h.host.clone(),
                    port: h.port,
                    port_given: h.port_given,
                })
                .collect(),
            user: options.user.clone(),
            password: options.password().map(String::from),
            database: match &sandbox {
                Some(files) => Some(files.inside.clone()),
                None => options.database.clone(),
            },
            tls: options.tls.conv(),
            application_name: options.application_name.clone(),
            options: options
                .params
                .iter()
                .cloned()
                .chain(options.file_mode.iter().map(|m| ("mode".to_string(), m.clone())))
                .collect(),
        };
        let allow = AllowList::of(options.hosts.iter().map(|h| (h.host.as_str(), h.port)));
        if let Some(max) = driver.info.max_connections {
            pool.max_size = pool.max_size.min(max as usize);
        }
        let connect_timeout = options.connect_timeout.unwrap_or(self.inner.limits.connect_timeout);
        let max_handles = self.inner.limits.max_handles;
        let (rt, current) = (self.inner.clone(), slot.clone());
        let opener = Box::new(move || {
            // New connections use whatever driver serves the scheme now.
            let drv = current.load_full();
            let (rt, config, allow, tls, sandbox) =
                (rt.clone(), config.clone(), allow.clone(), tls.clone(), sandbox.clone());
            Box::pin(async move {
                let mut net = Net::new(allow, tls, connect_timeout, max_handles);
                net.dns_server = rt.dns_server;
                let (wasi, file_lock) = match &sandbox {
                    Some(files) => (files.wasi()?, files.lock(&drv.name)?),
                    None => (WasiCtxBuilder::new(), None),
                };
                let mut state = HostState::new(drv.name.clone(), net, wasi);
                state.file_lock = file_lock;
                Instance::start(&rt, drv, state, config).await
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = Result<Instance>> + Send>>
        });
        let current = slot.clone();
        let stale = Box::new(move |i: &Instance| !Arc::ptr_eq(&i.driver, &current.load()));
        let pool = Pool::new(driver.name.clone(), pool, opener, stale);
        drop(pool.acquire().await?);
        tracing::debug!(url = %options, driver = %driver.info.name, "connected");
        Ok(WasmDriver {
            shared: Arc::new(Shared {
                slot,
                options,
                pool,
                sessions: Default::default(),
                notices: Default::default(),
            }),
        })
    }
}

impl WasmDriver {
    /// The driver serving this database now (a swap may change it).
    pub fn info(&self) -> Arc<DriverInfo> {
        self.shared.slot.load().info.clone()
    }

    /// The connection settings (the password stays hidden).
    pub fn options(&self) -> &ConnectOptions {
        &self.shared.options
    }

    pub(crate) fn name(&self) -> Arc<str> {
        self.shared.slot.load().name.clone()
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.shared.pool
    }

    /// Runs one call on a pooled connection.
    pub(crate) async fn run<R: Send>(
        &self,
        call: &'static str,
        f: impl for<'a> FnOnce(&'a Exports, &'a mut Store<HostState>) -> CallFuture<'a, R> + Send,
    ) -> Result<R> {
        let mut conn = self.shared.pool.acquire().await?;
        let r = conn.call(call, f).await;
        self.deliver_notices(&mut conn);
        r
    }

    /// Runs the user's `sql` on a pooled connection. A pooled connection is
    /// shared: a transaction begun with plain SQL must not leak to the next
    /// user (use `transaction()` instead), so after SQL that may open one
    /// the connection is reset.
    pub(crate) async fn run_sql<R: Send>(
        &self,
        call: &'static str,
        sql: &str,
        f: impl for<'a> FnOnce(&'a Exports, &'a mut Store<HostState>) -> CallFuture<'a, R> + Send,
    ) -> Result<R> {
        let mut conn = self.shared.pool.acquire().await?;
        let result = conn.call(call, f).await;
        self.deliver_notices(&mut conn);
        if crate::sql::may_leave_transaction_open(sql) {
            conn.reset().await;
        }
        result
    }

    /// `unsupported` unless the driver has `capability`.
    pub(crate) fn require(&self, capability: Capability) -> Result<()> {
        let driver = self.shared.slot.load();
        if driver.info.capabilities.contains(&capability) {
            Ok(())
        } else {
            Err(Error::client(
                &driver.name,
                ErrorKind::Unsupported,
                format!("{} does not support {capability}", driver.info.name),
            ))
        }
    }

    /// The pool's figures.
    pub fn pool_status(&self) -> PoolStatus {
        self.shared.pool.status()
    }

    /// Checks a file-database path exists (for tests and the CLI).
    pub fn database_path(&self) -> Option<&Path> {
        self.shared.options.path.as_deref()
    }
}

/// Runs `batches` on a task of its own, ahead of the caller: the driver
/// reads (and the host converts) the next batch while the caller works on
/// this one, as a native driver's connection task reads ahead. At most one
/// batch waits for the caller and one more is in the making, so
/// back-pressure holds. Dropping the stream stops the task after the batch
/// it is making (whose connection then goes back to the pool as on any
/// early drop). A task that panicked ends the stream with an error, never
/// with a silent, short end.
pub(crate) fn read_ahead<T: Send + 'static>(
    driver: Arc<str>,
    batches: impl futures::Stream<Item = Result<T>> + Send + 'static,
) -> impl futures::Stream<Item = Result<T>> + Send + 'static {
    use futures::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(async move {
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            if tx.send(batch).await.is_err() {
                return;
            }
        }
    });
    futures::stream::unfold((rx, Some(task)), move |(mut rx, task)| {
        let driver = driver.clone();
        async move {
            if let Some(batch) = rx.recv().await {
                return Some((batch, (rx, task)));
            }
            match task?.await {
                Ok(()) => None,
                Err(e) => {
                    let e = Error::client(
                        &driver,
                        ErrorKind::Other,
                        format!("reading the stream ahead failed: {e}"),
                    );
                    Some((Err(e), (rx, None)))
                }
            }
        }
    })
}
