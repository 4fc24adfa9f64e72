//! Loading and validating driver components.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use wasmtime::component::{Component, InstancePre};

use super::cache::{content_hash, CacheOutcome};
use super::{HostState, RuntimeInner};
use crate::bindings::{Conv, ExportIndices, CONTRACT_VERSIONS};
use crate::config::ConnectionSettings;
use crate::error::{Error, Result};

/// The WIT package of the contract.
pub const WIT_PACKAGE: &str = "driverbox:driver";

/// How a driver's statements take parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlaceholderStyle {
    /// `$1`, `$2` (PostgreSQL).
    DollarNumber,
    /// `?` (MySQL, SQLite).
    QuestionMark,
    /// The driver takes no SQL.
    None,
}

/// What a driver says about itself, in the host's terms.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub name: String,
    pub version: String,
    pub database_type: String,
    pub dialect: String,
    pub placeholder_style: PlaceholderStyle,
    pub identifier_quote: String,
    pub connection: ConnectionSettings,
    pub max_connections: Option<u32>,
    /// Capabilities it declares within its exports.
    pub features: BTreeSet<Capability>,
}

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
    /// The version of the `driverbox:driver` contract it was built against.
    pub contract: String,
    /// sqlparser dialect the host uses for this driver's SQL.
    pub dialect: String,
    pub placeholder_style: PlaceholderStyle,
    /// The character that quotes identifiers.
    pub identifier_quote: String,
    pub schemes: Vec<String>,
    pub default_port: Option<u16>,
    /// How the driver's URLs look: file or network, the parameter table.
    pub connection: ConnectionSettings,
    pub max_connections: Option<u32>,
    pub capabilities: BTreeSet<Capability>,
    /// Interfaces the component exports.
    pub exports: Vec<String>,
    /// Interfaces the component imports.
    pub imports: Vec<String>,
    /// SHA-256 of the component bytes.
    pub content_hash: String,
    /// A portable driver (`drivers portable`): it carries its transport
    /// inside and imports only `wasi:*`, so it runs in any WASI 0.2 host.
    /// driverbox inspects it but serves only drivers that import its
    /// transport.
    pub portable: bool,
    /// Where it came from: `builtin` or a file path.
    pub source: String,
}

/// What a driver can do: the interfaces it exports, narrowed by the
/// features it declares.
fn capabilities(exports: &[&str], features: &BTreeSet<Capability>) -> BTreeSet<Capability> {
    use Capability as C;
    let has = |i: &str| exports.contains(&i);
    let mut caps = BTreeSet::from([C::Query]);
    let mut add = |cond: bool, c: C| {
        if cond {
            caps.insert(c);
        }
    };
    add(has("schema"), C::Schema);
    add(has("table"), C::Table);
    add(has("column"), C::Column);
    for (iface, feature) in [
        ("view", C::View),
        ("view", C::MaterializedViews),
        ("function", C::Function),
        ("capabilities", C::Transactions),
        ("capabilities", C::Savepoints),
        ("capabilities", C::PreparedStatements),
        ("extension", C::Streaming),
        ("extension", C::BulkInsert),
        ("extension", C::BulkUpdate),
        ("extension", C::BulkDelete),
        ("extension", C::CreateDatabase),
        ("extension", C::CreateSchema),
    ] {
        add(has(iface) && features.contains(&feature), feature);
    }
    add(has("nosql"), C::NoSql);
    caps
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

/// The contract version a component speaks, from the names of its
/// `driverbox:driver` imports and exports; all must name one version this
/// host serves.
fn contract_version(component: &Component, engine: &wasmtime::Engine) -> std::result::Result<&'static str, String> {
    let ty = component.component_type();
    let names: Vec<String> = ty
        .imports(engine)
        .map(|(n, _)| n.to_string())
        .chain(ty.exports(engine).map(|(n, _)| n.to_string()))
        .filter(|n| n.starts_with(&format!("{WIT_PACKAGE}/")))
        .collect();
    let mut found: Option<&'static str> = None;
    for name in &names {
        let version = name.rsplit_once('@').map(|(_, v)| v).unwrap_or("");
        let known = CONTRACT_VERSIONS
            .iter()
            .copied()
            .find(|v| *v == version)
            .ok_or_else(|| {
                format!(
                    "uses {name}, but this host serves {WIT_PACKAGE} versions {}",
                    CONTRACT_VERSIONS.join(", ")
                )
            })?;
        match found {
            Some(v) if v != known => return Err(format!("mixes contract versions {v} and {known}")),
            _ => found = Some(known),
        }
    }
    found.ok_or_else(|| format!("exports nothing of {WIT_PACKAGE}"))
}

fn check_imports(
    component: &Component,
    engine: &wasmtime::Engine,
    files: bool,
    portable: bool,
) -> std::result::Result<Vec<String>, String> {
    let mut names = Vec::new();
    for (name, _) in component.component_type().imports(engine) {
        let ours = name.starts_with(&format!("{WIT_PACKAGE}/"));
        // A portable driver (inspected, never served) has its adapter's
        // imports: sockets, and files for a CA certificate.
        let adapter = portable && (name.starts_with("wasi:sockets/") || name.starts_with(FILE_IMPORTS));
        let allowed = ours
            || adapter
            || ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p))
            || (files && name.starts_with(FILE_IMPORTS));
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

fn check_metadata(m: &Metadata) -> std::result::Result<(), String> {
    let ident = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !ident(&m.name) {
        return Err(format!("metadata: bad driver name {:?}", m.name));
    }
    if m.version.is_empty() || m.version.len() > 64 || !m.version.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Err(format!("metadata: bad version {:?}", m.version));
    }
    let c = &m.connection;
    if c.schemes.is_empty() {
        return Err("metadata: no URL schemes".into());
    }
    for s in &c.schemes {
        let ok = s.len() <= 32
            && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
        if !ok {
            return Err(format!("metadata: bad URL scheme {s:?}"));
        }
    }
    if c.file_based == c.default_port.is_some() {
        return Err("metadata: a file-based driver has no default port, a network driver has one".into());
    }
    let mut seen = std::collections::HashSet::new();
    for p in &c.parameters {
        let name_ok = !p.name.is_empty()
            && p.name.len() <= 64
            && p.name.bytes().all(|b| b.is_ascii_graphic() && b != b'=' && b != b'&');
        if !name_ok {
            return Err(format!("metadata: bad URL parameter name {:?}", p.name));
        }
        for n in std::iter::once(&p.name).chain(&p.aliases) {
            if !seen.insert(n.to_ascii_lowercase()) {
                return Err(format!("metadata: URL parameter {n:?} declared twice"));
            }
        }
        if p.env.len() > 8 || p.env.iter().any(|e| e.is_empty() || e.len() > 64) {
            return Err(format!("metadata: bad environment variables for {:?}", p.name));
        }
    }
    for d in &c.scheme_defaults {
        if !c.schemes.contains(&d.scheme) {
            return Err(format!(
                "metadata: a default for scheme {:?}, which the driver does not serve",
                d.scheme
            ));
        }
        if !c.parameters.iter().any(|p| p.name.eq_ignore_ascii_case(&d.parameter)) {
            return Err(format!(
                "metadata: a scheme default for unknown parameter {:?}",
                d.parameter
            ));
        }
    }
    if !["postgresql", "mysql", "sqlite", "generic", "none"].contains(&m.dialect.as_str()) {
        return Err(format!("metadata: unknown dialect {:?}", m.dialect));
    }
    if m.identifier_quote.chars().count() > 1 {
        return Err(format!(
            "metadata: identifier quote {:?} is not one character",
            m.identifier_quote
        ));
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

/// Whether a component is a portable driver: it exports the contract but
/// imports none of it (its transport adapter is inside) and only `wasi:*`.
fn is_portable(component: &Component, engine: &wasmtime::Engine) -> bool {
    let ty = component.component_type();
    let exports_contract = ty
        .exports(engine)
        .any(|(n, _)| n.starts_with(&format!("{WIT_PACKAGE}/base@")));
    exports_contract && ty.imports(engine).all(|(n, _)| n.starts_with("wasi:"))
}

/// What a driver is loaded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// To serve connections.
    Serve,
    /// To describe it (`drivers inspect`): portable drivers are accepted.
    Inspect,
}

impl LoadedDriver {
    /// Compiles (or loads from the cache) and validates `bytes`.
    pub(crate) async fn load(rt: &RuntimeInner, bytes: &[u8], source: &str) -> Result<LoadedDriver> {
        LoadedDriver::load_for(rt, bytes, source, Purpose::Serve).await
    }

    /// [`LoadedDriver::load`] for a purpose.
    pub(crate) async fn load_for(
        rt: &RuntimeInner,
        bytes: &[u8],
        source: &str,
        purpose: Purpose,
    ) -> Result<LoadedDriver> {
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
        let portable = is_portable(&component, &rt.engine);
        if portable && purpose == Purpose::Serve {
            return Err(fail(
                "is a portable driver (its transport over wasi:sockets is inside): it runs in any WASI 0.2 host, \
                 while driverbox serves drivers that import driverbox:driver/transport; load the driver it was made from"
                    .into(),
            ));
        }
        let contract = contract_version(&component, &rt.engine).map_err(fail)?;
        let pre = rt
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("cannot be linked: {e:#}")))?;
        let indices = ExportIndices::new(contract, &pre).map_err(fail)?;

        // Ask the driver what it is, in a throwaway instance with no network.
        let mut store = rt.new_store(HostState::offline(source));
        let metadata = async {
            let instance = pre.instantiate_async(&mut store).await?;
            let exports = indices.load(&mut store, &instance)?;
            crate::api::required!(&exports, traits.call_metadata(&mut store))
        };
        let metadata: Metadata = tokio::time::timeout(rt.limits.timeout, metadata)
            .await
            .map_err(|_| fail("metadata() did not return in time".into()))?
            .map_err(|e| fail(format!("metadata() failed: {e:#}")))?
            .conv();
        check_metadata(&metadata).map_err(fail)?;
        let imports = check_imports(&component, &rt.engine, metadata.connection.file_based, portable).map_err(fail)?;
        let exports = indices.exported();

        let info = DriverInfo {
            capabilities: capabilities(&exports, &metadata.features),
            exports: exports.into_iter().map(String::from).collect(),
            imports,
            content_hash: hash,
            portable,
            source: source.to_string(),
            name: metadata.name,
            version: metadata.version,
            database_type: metadata.database_type,
            contract: contract.to_string(),
            dialect: metadata.dialect,
            placeholder_style: metadata.placeholder_style,
            identifier_quote: metadata.identifier_quote,
            schemes: metadata.connection.schemes.clone(),
            default_port: metadata.connection.default_port,
            connection: metadata.connection,
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
