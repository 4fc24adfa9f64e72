//! Loading and validating driver components.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use wasmtime::component::{Component, InstancePre};

use super::cache::{content_hash, CacheOutcome};
use super::{HostState, RuntimeInner};
use crate::bindings::traits::{DriverMetadata, Feature};
use crate::bindings::{base, capabilities, column, extension, function, nosql, schema, table, traits, view};
use crate::error::{Error, Result};

/// The WIT package version this host speaks.
pub const WIT_PACKAGE: &str = "driverbox:driver";
/// Versions of the package a driver may be built against (semver-compatible).
pub const WIT_VERSION_PREFIX: &str = "@0.1.";

/// What a driver can do, from its exports and declared features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Query,
    Schema,
    Table,
    Column,
    View,
    MaterializedViews,
    Function,
    Transactions,
    Savepoints,
    PreparedStatements,
    Streaming,
    BulkInsert,
    BulkUpdate,
    BulkDelete,
    CreateDatabase,
    CreateSchema,
    NoSql,
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self).ok();
        f.write_str(s.as_ref().and_then(|v| v.as_str()).unwrap_or("?"))
    }
}

/// Everything known about a loaded driver.
#[derive(Debug, Clone, Serialize)]
pub struct DriverInfo {
    pub name: String,
    pub version: String,
    pub database_type: String,
    /// sqlparser dialect the host uses for this driver's SQL.
    pub dialect: String,
    pub schemes: Vec<String>,
    pub default_port: Option<u16>,
    pub max_connections: Option<u32>,
    pub capabilities: BTreeSet<Capability>,
    /// Interfaces the component exports.
    pub exports: Vec<String>,
    /// Interfaces the component imports.
    pub imports: Vec<String>,
    /// SHA-256 of the component bytes.
    pub content_hash: String,
    /// Where it came from: `builtin` or a file path.
    pub source: String,
}

/// Export lookups, resolved once per component.
pub(crate) struct ExportIndices {
    base: base::GuestIndices,
    traits: traits::GuestIndices,
    schema: Option<schema::GuestIndices>,
    table: Option<table::GuestIndices>,
    column: Option<column::GuestIndices>,
    view: Option<view::GuestIndices>,
    function: Option<function::GuestIndices>,
    capabilities: Option<capabilities::GuestIndices>,
    extension: Option<extension::GuestIndices>,
    nosql: Option<nosql::GuestIndices>,
}

/// The exported functions of one instance.
pub(crate) struct Exports {
    pub base: base::Guest,
    pub traits: traits::Guest,
    pub schema: Option<schema::Guest>,
    pub table: Option<table::Guest>,
    pub column: Option<column::Guest>,
    pub view: Option<view::Guest>,
    pub function: Option<function::Guest>,
    pub capabilities: Option<capabilities::Guest>,
    pub extension: Option<extension::Guest>,
    pub nosql: Option<nosql::Guest>,
}

impl ExportIndices {
    fn new(pre: &InstancePre<HostState>) -> std::result::Result<ExportIndices, String> {
        let missing = |name: &str, e: wasmtime::Error| format!("does not export {WIT_PACKAGE}/{name}: {e}");
        Ok(ExportIndices {
            base: base::GuestIndices::new(pre).map_err(|e| missing("base", e))?,
            traits: traits::GuestIndices::new(pre).map_err(|e| missing("traits", e))?,
            schema: schema::GuestIndices::new(pre).ok(),
            table: table::GuestIndices::new(pre).ok(),
            column: column::GuestIndices::new(pre).ok(),
            view: view::GuestIndices::new(pre).ok(),
            function: function::GuestIndices::new(pre).ok(),
            capabilities: capabilities::GuestIndices::new(pre).ok(),
            extension: extension::GuestIndices::new(pre).ok(),
            nosql: nosql::GuestIndices::new(pre).ok(),
        })
    }

    pub(crate) fn load(
        &self,
        mut store: impl wasmtime::AsContextMut<Data = HostState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Exports> {
        let mut s = store.as_context_mut();
        Ok(Exports {
            base: self.base.load(&mut s, instance)?,
            traits: self.traits.load(&mut s, instance)?,
            schema: self.schema.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            table: self.table.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            column: self.column.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            view: self.view.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            function: self.function.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            capabilities: self
                .capabilities
                .as_ref()
                .map(|i| i.load(&mut s, instance))
                .transpose()?,
            extension: self.extension.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            nosql: self.nosql.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
        })
    }

    /// Just `base`, for a throwaway instance (cancel requests).
    pub(crate) fn load_base(
        &self,
        store: impl wasmtime::AsContextMut<Data = HostState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<base::Guest> {
        self.base.load(store, instance)
    }

    fn exported(&self) -> Vec<&'static str> {
        let mut names = vec!["base", "traits"];
        for (present, name) in [
            (self.schema.is_some(), "schema"),
            (self.table.is_some(), "table"),
            (self.column.is_some(), "column"),
            (self.view.is_some(), "view"),
            (self.function.is_some(), "function"),
            (self.capabilities.is_some(), "capabilities"),
            (self.extension.is_some(), "extension"),
            (self.nosql.is_some(), "nosql"),
        ] {
            if present {
                names.push(name);
            }
        }
        names
    }

    fn capabilities(&self, features: &[Feature]) -> BTreeSet<Capability> {
        use Capability as C;
        let has = |f: Feature| features.contains(&f);
        let mut caps = BTreeSet::from([C::Query]);
        let mut add = |cond: bool, c: C| {
            if cond {
                caps.insert(c);
            }
        };
        add(self.schema.is_some(), C::Schema);
        add(self.table.is_some(), C::Table);
        add(self.column.is_some(), C::Column);
        add(self.view.is_some() && has(Feature::Views), C::View);
        add(
            self.view.is_some() && has(Feature::MaterializedViews),
            C::MaterializedViews,
        );
        add(self.function.is_some() && has(Feature::Functions), C::Function);
        let cap = self.capabilities.is_some();
        add(cap && has(Feature::Transactions), C::Transactions);
        add(cap && has(Feature::Savepoints), C::Savepoints);
        add(cap && has(Feature::PreparedStatements), C::PreparedStatements);
        let ext = self.extension.is_some();
        add(ext && has(Feature::Streaming), C::Streaming);
        add(ext && has(Feature::BulkInsert), C::BulkInsert);
        add(ext && has(Feature::BulkUpdate), C::BulkUpdate);
        add(ext && has(Feature::BulkDelete), C::BulkDelete);
        add(ext && has(Feature::CreateDatabase), C::CreateDatabase);
        add(ext && has(Feature::CreateSchema), C::CreateSchema);
        add(self.nosql.is_some(), C::NoSql);
        caps
    }
}

/// A validated driver component, ready to instantiate.
pub(crate) struct LoadedDriver {
    pub info: Arc<DriverInfo>,
    pub pre: InstancePre<HostState>,
    pub indices: ExportIndices,
    pub name: Arc<str>,
}

/// WASI namespaces a driver may import. Network access goes through
/// `transport` only (never `wasi:sockets`); files (`wasi:filesystem`) only
/// for drivers without a network port (SQLite), which see nothing but
/// their database's directory.
const ALLOWED_IMPORTS: &[&str] = &["wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/"];
const FILE_IMPORTS: &str = "wasi:filesystem/";

fn check_imports(
    component: &Component,
    engine: &wasmtime::Engine,
    files: bool,
) -> std::result::Result<Vec<String>, String> {
    let mut names = Vec::new();
    for (name, _) in component.component_type().imports(engine) {
        let ours = name.starts_with(&format!("{WIT_PACKAGE}/"));
        if ours && !name.contains(WIT_VERSION_PREFIX) {
            return Err(format!(
                "imports {name}, but this host speaks {WIT_PACKAGE}{WIT_VERSION_PREFIX}x"
            ));
        }
        let allowed =
            ours || ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p)) || (files && name.starts_with(FILE_IMPORTS));
        if !allowed {
            let why = if name.starts_with(FILE_IMPORTS) {
                "a network driver may not touch files"
            } else if name.starts_with("wasi:sockets/") {
                "drivers reach the network only through driverbox:driver/transport"
            } else {
                "the host does not provide it to drivers"
            };
            return Err(format!("imports {name}: {why}"));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

fn check_exports(component: &Component, engine: &wasmtime::Engine) -> std::result::Result<(), String> {
    for (name, _) in component.component_type().exports(engine) {
        if name.starts_with(&format!("{WIT_PACKAGE}/")) && !name.contains(WIT_VERSION_PREFIX) {
            return Err(format!(
                "exports {name}, but this host speaks {WIT_PACKAGE}{WIT_VERSION_PREFIX}x"
            ));
        }
    }
    Ok(())
}

fn check_metadata(m: &DriverMetadata) -> std::result::Result<(), String> {
    let ident = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !ident(&m.name) {
        return Err(format!("metadata: bad driver name {:?}", m.name));
    }
    if m.version.is_empty() || m.version.len() > 64 || !m.version.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Err(format!("metadata: bad version {:?}", m.version));
    }
    if m.schemes.is_empty() {
        return Err("metadata: no URL schemes".into());
    }
    for s in &m.schemes {
        let ok = s.len() <= 32
            && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
        if !ok {
            return Err(format!("metadata: bad URL scheme {s:?}"));
        }
    }
    if !["postgresql", "mysql", "sqlite", "generic", "none"].contains(&m.dialect.as_str()) {
        return Err(format!("metadata: unknown dialect {:?}", m.dialect));
    }
    if m.max_connections == Some(0) {
        return Err("metadata: max-connections is 0".into());
    }
    Ok(())
}

/// The first line of an error chain (wasmtime's parse errors go on to
/// dump byte arrays).
fn first_line(e: &wasmtime::Error) -> String {
    let full = format!("{e:#}");
    let line = full.lines().next().unwrap_or_default();
    line.split(" - expected=").next().unwrap_or(line).to_string()
}

impl LoadedDriver {
    /// Compiles (or loads from the cache) and validates `bytes`.
    pub(crate) async fn load(rt: &RuntimeInner, bytes: &[u8], source: &str) -> Result<LoadedDriver> {
        let fail = |message: String| Error::Load {
            name: source.to_string(),
            message,
        };
        let hash = content_hash(bytes);
        let component = match &rt.cache {
            Some(cache) => {
                let (c, outcome) = cache
                    .load_or_compile(&rt.engine, bytes, &hash)
                    .map_err(|e| fail(format!("not a valid component: {}", first_line(&e))))?;
                if outcome == CacheOutcome::Rejected {
                    tracing::warn!(source, "recompiled a driver whose cached artifact was rejected");
                }
                c
            }
            None => Component::new(&rt.engine, bytes)
                .map_err(|e| fail(format!("not a valid component: {}", first_line(&e))))?,
        };
        check_exports(&component, &rt.engine).map_err(fail)?;
        let pre = rt
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("cannot be linked: {e:#}")))?;
        let indices = ExportIndices::new(&pre).map_err(fail)?;

        // Ask the driver what it is, in a throwaway instance with no network.
        let mut store = rt.new_store(HostState::offline(source));
        let metadata = async {
            let instance = pre.instantiate_async(&mut store).await?;
            let traits = indices.traits.load(&mut store, &instance)?;
            traits.call_metadata(&mut store).await
        };
        let metadata = tokio::time::timeout(rt.limits.timeout, metadata)
            .await
            .map_err(|_| fail("metadata() did not return in time".into()))?
            .map_err(|e| fail(format!("metadata() failed: {e:#}")))?;
        check_metadata(&metadata).map_err(fail)?;
        let imports = check_imports(&component, &rt.engine, metadata.default_port.is_none()).map_err(fail)?;

        let info = DriverInfo {
            capabilities: indices.capabilities(&metadata.features),
            exports: indices.exported().into_iter().map(String::from).collect(),
            imports,
            content_hash: hash,
            source: source.to_string(),
            name: metadata.name,
            version: metadata.version,
            database_type: metadata.database_type,
            dialect: metadata.dialect,
            schemes: metadata.schemes,
            default_port: metadata.default_port,
            max_connections: metadata.max_connections,
        };
        Ok(LoadedDriver {
            name: Arc::from(info.name.as_str()),
            info: Arc::new(info),
            pre,
            indices,
        })
    }
}
