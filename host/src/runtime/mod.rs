//! The wasmtime side: engine, artifact cache, driver registry, and one
//! `Store` + instance per pooled connection.

pub mod cache;
pub mod component;
pub mod instance;
pub mod limits;
pub mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::time::Instant;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::error::{Error, Result};
use crate::imports::allowlist::AllowList;
use crate::imports::tls::TlsSettings;
use crate::imports::transport::Net;

pub(crate) use component::LoadedDriver;
pub use component::{Capability, DriverInfo, PlaceholderStyle};
pub(crate) use instance::Instance;
pub use limits::Limits;
pub use watch::DriverWatcher;

/// How often the epoch advances: the granularity of deadlines and of
/// yielding a busy driver to other tasks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of a driver's stderr kept for crash reports (panic messages).
const STDERR_CAPTURE: usize = 8 * 1024;

/// The store data of one driver instance.
pub(crate) struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub net: Net,
    /// Driver name, for logs and errors.
    pub driver: Arc<str>,
    /// Deadline of the call in progress.
    pub deadline: Instant,
    pub stderr: MemoryOutputPipe,
    /// The memory cap, for messages.
    pub max_memory: usize,
    /// A file database's lock, held for this connection's life.
    pub file_lock: Option<std::fs::File>,
    /// Notices the server sent during the current call (bounded).
    pub notices: Vec<crate::api::Notice>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    /// State for an instance with the given network and WASI settings.
    pub(crate) fn new(driver: Arc<str>, net: Net, mut wasi: WasiCtxBuilder) -> HostState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        wasi.stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: StoreLimits::default(),
            net,
            driver,
            deadline: Instant::now(),
            stderr,
            max_memory: 0,
            file_lock: None,
            notices: Vec::new(),
        }
    }

    /// No network, no files: for reading metadata at load time.
    pub(crate) fn offline(name: &str) -> HostState {
        let tls = Arc::new(TlsSettings::disabled());
        let net = Net::new(AllowList::none(), tls, Duration::from_secs(1), 0);
        HostState::new(Arc::from(name), net, WasiCtxBuilder::new())
    }

    /// What the driver wrote to stderr (a panic message), if anything.
    pub(crate) fn stderr_text(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        lines.join(" ")
    }
}

/// A built-in driver: its component bytes and the schemes it serves.
struct Builtin {
    name: &'static str,
    schemes: &'static [&'static str],
    bytes: &'static [u8],
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "postgres",
        schemes: &["postgres", "postgresql"],
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/postgres.wasm")),
    },
    Builtin {
        name: "sqlite",
        schemes: &["sqlite"],
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/sqlite.wasm")),
    },
    Builtin {
        name: "mysql",
        schemes: &["mysql", "mariadb"],
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/mysql.wasm")),
    },
    Builtin {
        name: "mongodb",
        schemes: &["mongodb", "mongodb+srv"],
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/mongodb.wasm")),
    },
    Builtin {
        name: "dynamodb",
        schemes: &["dynamodb"],
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/dynamodb.wasm")),
    },
];

/// The component bytes of the built-in driver `name` (`postgres`, `sqlite`,
/// `mysql`, `mongodb`); `None` for another name or a build without them.
pub(crate) fn builtin_bytes(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|b| b.name == name && !b.bytes.is_empty())
        .map(|b| b.bytes)
}

/// The driver currently serving a URL scheme. Pools hold the slot, so a
/// swap reaches them: new connections use the new driver, connections of
/// the old one finish what they are doing and are retired.
pub(crate) type DriverSlot = Arc<ArcSwap<LoadedDriver>>;

#[derive(Default)]
struct Registry {
    slots: HashMap<String, DriverSlot>,
    /// Built-ins not compiled yet.
    pending: Vec<&'static Builtin>,
    /// Every driver loaded so far, alive while a slot, pool, connection or
    /// transaction still holds it.
    loaded: Vec<std::sync::Weak<LoadedDriver>>,
}

impl Registry {
    /// Tracks a newly loaded driver for [`Runtime::resident_drivers`],
    /// forgetting those already freed (a watched directory may load often).
    fn remember(&mut self, driver: &Arc<LoadedDriver>) {
        self.loaded.retain(|w| w.strong_count() > 0);
        self.loaded.push(Arc::downgrade(driver));
    }
}

/// What happened in the driver registry.
#[derive(Debug, Clone)]
pub enum DriverEvent {
    /// A driver was registered for schemes that had none.
    Loaded(Arc<DriverInfo>),
    /// A driver replaced another for its schemes.
    Swapped { old: Arc<DriverInfo>, new: Arc<DriverInfo> },
    /// A driver was removed.
    Unloaded(Arc<DriverInfo>),
    /// A component failed to load or validate; nothing was replaced.
    Failed { source: String, error: String },
}

pub(crate) struct RuntimeInner {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    pub limits: Limits,
    /// The `dns` import's name server, when set by the builder.
    pub dns_server: Option<std::net::SocketAddr>,
    pub cache: Option<cache::ArtifactCache>,
    registry: tokio::sync::Mutex<Registry>,
    events: tokio::sync::broadcast::Sender<DriverEvent>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl RuntimeInner {
    /// A store with this runtime's limits and deadline handling.
    pub(crate) fn new_store(&self, mut state: HostState) -> Store<HostState> {
        state.limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.max_memory_size)
            .table_elements(self.limits.max_table_elements)
            .trap_on_grow_failure(true)
            .build();
        state.deadline = Instant::now() + self.limits.timeout;
        state.max_memory = self.limits.max_memory_size;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Bytes one call may copy out of the guest (its result, in the
        // canonical ABI's layout): past it the call traps, reported as the
        // `max-result-bytes` error.
        store.set_hostcall_fuel(self.limits.max_result_bytes);
        store.set_max_component_handles(self.limits.max_component_handles);
        // Every tick a running driver yields to other tasks; past the call's
        // deadline it is interrupted (a trap; the connection is discarded).
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store.set_epoch_deadline(1);
        store
    }
}

/// The wasmtime configuration a runtime with `limits` uses: component
/// model, epoch interruption, the pooling allocator sized by the limits.
/// Public so tools (the benchmark) can measure exactly this engine.
pub fn engine_config(limits: &Limits) -> wasmtime::Config {
    let n = limits.max_instances;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n * 16)
        .total_memories(n * 2)
        .total_tables(n * 16)
        .total_stacks(n)
        .max_core_instances_per_component(64)
        .max_memories_per_component(4)
        .max_tables_per_component(64)
        .max_memory_size(limits.max_memory_size)
        .table_elements(limits.max_table_elements)
        .max_unused_warm_slots(n / 4);
    let mut config = wasmtime::Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // `DRIVERBOX_PERFMAP=1` names driver functions for `perf`
    // (/tmp/perf-PID.map), for profiling only.
    if std::env::var_os("DRIVERBOX_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Where built-in and loaded drivers live, and the engine that runs them.
/// Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

/// Settings for a [`Runtime`]. Secure defaults: no driver reaches anything
/// but its own connection's endpoint, limits as in [`Limits::default`].
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    builtins: bool,
    dns_server: Option<std::net::SocketAddr>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            limits: Limits::default(),
            cache_dir: dirs::cache_dir().map(|d| d.join("driverbox")),
            builtins: true,
            dns_server: None,
        }
    }
}

impl RuntimeBuilder {
    /// Sandbox limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Directory for precompiled artifacts; `None` disables the cache.
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// The name server of the drivers' `dns` import (SRV and TXT lookups,
    /// `mongodb+srv://`). Default: `DRIVERBOX_DNS_SERVER=ip[:port]`, else
    /// the first `nameserver` of `/etc/resolv.conf`.
    pub fn dns_server(mut self, server: std::net::SocketAddr) -> Self {
        self.dns_server = Some(server);
        self
    }

    /// Whether the built-in drivers are registered (default yes).
    pub fn builtins(mut self, on: bool) -> Self {
        self.builtins = on;
        self
    }

    /// Creates the engine and starts its epoch ticker.
    pub fn build(self) -> Result<Runtime> {
        let engine_err = |e: wasmtime::Error| Error::Config(format!("cannot create the wasm engine: {e:#}"));
        let engine = Engine::new(&engine_config(&self.limits)).map_err(engine_err)?;

        let mut linker = Linker::new(&engine);
        crate::bindings::add_to_linker(&mut linker).map_err(engine_err)?;

        let cache = match &self.cache_dir {
            Some(dir) => match cache::ArtifactCache::open(dir) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), "artifact cache disabled: {e}");
                    None
                }
            },
            None => None,
        };

        let stop = Arc::new(AtomicBool::new(false));
        let (ticker_engine, ticker_stop) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("driverbox-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .map_err(|e| Error::Config(format!("cannot start the epoch thread: {e}")))?;

        let mut registry = Registry::default();
        if self.builtins {
            registry.pending = BUILTINS.iter().collect();
        }
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                limits: self.limits,
                dns_server: self.dns_server,
                cache,
                registry: tokio::sync::Mutex::new(registry),
                events: tokio::sync::broadcast::channel(64).0,
                stop_ticker: stop,
            }),
        })
    }
}

impl Runtime {
    /// Settings for a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A runtime with the built-in drivers and default limits.
    pub fn new() -> Result<Runtime> {
        Self::builder().build()
    }

    /// The limits every instance runs under.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Registry events (load, swap, unload, failure) from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<DriverEvent> {
        self.inner.events.subscribe()
    }

    fn emit(&self, event: DriverEvent) {
        let _ = self.inner.events.send(event);
    }

    /// Loads a driver component from bytes and registers it for its
    /// schemes, swapping out the driver serving them (atomically: calls in
    /// flight finish on the old one). A component that fails validation
    /// replaces nothing.
    pub async fn load_driver(&self, bytes: &[u8], source: &str) -> Result<DriverInfo> {
        let driver = match LoadedDriver::load(&self.inner, bytes, source).await {
            Ok(d) => Arc::new(d),
            Err(e) => {
                self.emit(DriverEvent::Failed {
                    source: source.to_string(),
                    error: e.to_string(),
                });
                return Err(e);
            }
        };
        let mut reg = self.inner.registry.lock().await;
        reg.remember(&driver);
        let mut replaced: Vec<Arc<DriverInfo>> = Vec::new();
        for scheme in &driver.info.schemes {
            reg.pending.retain(|b| !b.schemes.contains(&scheme.as_str()));
            match reg.slots.get(scheme) {
                Some(slot) => {
                    let old = slot.swap(driver.clone());
                    if !replaced.iter().any(|r| Arc::ptr_eq(r, &old.info)) {
                        replaced.push(old.info.clone());
                    }
                }
                None => {
                    reg.slots.insert(scheme.clone(), Arc::new(ArcSwap::new(driver.clone())));
                }
            }
        }
        drop(reg);
        tracing::info!(name = %driver.info.name, version = %driver.info.version, source, "driver loaded");
        if replaced.is_empty() {
            self.emit(DriverEvent::Loaded(driver.info.clone()));
        }
        for old in replaced {
            self.emit(DriverEvent::Swapped {
                old,
                new: driver.info.clone(),
            });
        }
        Ok((*driver.info).clone())
    }

    /// Removes the driver called `name` from every scheme it serves. Open
    /// pools keep working on it; new connections find no driver.
    pub async fn unload(&self, name: &str) -> Result<()> {
        let mut reg = self.inner.registry.lock().await;
        let schemes: Vec<String> = reg
            .slots
            .iter()
            .filter(|(_, slot)| slot.load().info.name == name)
            .map(|(s, _)| s.clone())
            .collect();
        reg.pending.retain(|b| b.name != name);
        let mut info = None;
        for s in schemes {
            if let Some(slot) = reg.slots.remove(&s) {
                info = Some(slot.load().info.clone());
            }
        }
        drop(reg);
        match info {
            Some(info) => {
                self.emit(DriverEvent::Unloaded(info));
                Ok(())
            }
            None => Err(Error::Load {
                name: name.to_string(),
                message: "no such driver is loaded".into(),
            }),
        }
    }

    /// Validates a component and reports what it is, without registering it.
    pub async fn inspect(&self, bytes: &[u8], source: &str) -> Result<DriverInfo> {
        let driver = LoadedDriver::load_for(&self.inner, bytes, source, component::Purpose::Inspect).await?;
        Ok((*driver.info).clone())
    }

    /// Loads a driver component from a file.
    pub async fn load_driver_file(&self, path: &Path) -> Result<DriverInfo> {
        let bytes = tokio::fs::read(path).await.map_err(|e| Error::Load {
            name: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        self.load_driver(&bytes, &path.display().to_string()).await
    }

    async fn load_builtin(&self, reg: &mut Registry, index: usize) -> Result<()> {
        let builtin = reg.pending.remove(index);
        if builtin.bytes.is_empty() {
            return Err(Error::Load {
                name: builtin.name.into(),
                message: "this build has no built-in component (built with DRIVERBOX_SKIP_GUESTS)".into(),
            });
        }
        let driver = Arc::new(LoadedDriver::load(&self.inner, builtin.bytes, "builtin").await?);
        reg.remember(&driver);
        for scheme in builtin.schemes {
            reg.slots
                .entry(scheme.to_string())
                .or_insert_with(|| Arc::new(ArcSwap::new(driver.clone())));
        }
        Ok(())
    }

    /// The slot of the driver serving `scheme`, compiling a built-in on first use.
    pub(crate) async fn driver_for(&self, scheme: &str) -> Result<DriverSlot> {
        let mut reg = self.inner.registry.lock().await;
        if let Some(i) = reg.pending.iter().position(|b| b.schemes.contains(&scheme)) {
            self.load_builtin(&mut reg, i).await?;
        }
        reg.slots.get(scheme).cloned().ok_or_else(|| {
            let mut known: Vec<String> = reg.slots.keys().cloned().collect();
            known.extend(reg.pending.iter().flat_map(|b| b.schemes.iter().map(|s| s.to_string())));
            known.sort();
            Error::Config(format!(
                "no driver for URL scheme `{scheme}` (known: {})",
                known.join(", ")
            ))
        })
    }

    /// Every registered driver (compiling built-ins not used yet; one
    /// that fails is reported as a `Failed` event and left out).
    pub async fn drivers(&self) -> Result<Vec<DriverInfo>> {
        let mut reg = self.inner.registry.lock().await;
        while !reg.pending.is_empty() {
            let name = reg.pending[0].name;
            if let Err(e) = self.load_builtin(&mut reg, 0).await {
                tracing::warn!(name, "built-in driver unavailable: {e}");
                self.emit(DriverEvent::Failed {
                    source: format!("builtin {name}"),
                    error: e.to_string(),
                });
            }
        }
        let mut seen = std::collections::BTreeMap::new();
        for slot in reg.slots.values() {
            let d = slot.load();
            seen.insert(d.info.content_hash.clone(), (*d.info).clone());
        }
        let mut list: Vec<DriverInfo> = seen.into_values().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// Drivers still in memory (compiled code and instances): the
    /// registered ones, plus swapped-out or unloaded ones that a pool,
    /// connection or transaction still holds. A replaced driver leaves
    /// this list when its last connection is gone.
    pub async fn resident_drivers(&self) -> Vec<DriverInfo> {
        let mut reg = self.inner.registry.lock().await;
        reg.loaded.retain(|w| w.strong_count() > 0);
        reg.loaded
            .iter()
            .filter_map(|w| w.upgrade())
            .map(|d| (*d.info).clone())
            .collect()
    }
}
