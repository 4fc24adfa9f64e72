//! Portable drivers: a driver component composed with the transport
//! adapter (`guest/wasi-transport`), which serves the driver's
//! `driverbox:driver/transport` and `log` imports over standard WASI 0.2
//! (`wasi:sockets`, TLS inside). The result imports only `wasi:*` and runs
//! in any WASI 0.2 host (`wasmtime serve`, Spin, wasmCloud, jco); see
//! `docs/portable.md`.
//!
//! Composition is done with `wac-graph`: the adapter is instantiated, its
//! exports are the driver's `driverbox:driver` imports, and the driver's
//! exports (with the contract's `types`) are the composition's. Imports
//! left open on either side (WASI) become imports of the result, merged
//! by name.

use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

use crate::error::{Error, Result};

/// The transport adapter component, built by `host/build.rs`.
pub const ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/wasi-transport.wasm"));

/// The contract's package prefix in import and export names.
const CONTRACT: &str = "driverbox:driver/";

/// The error chain of a composition failure on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn fail(what: &str, message: impl Into<String>) -> Error {
    Error::Load {
        name: what.to_string(),
        message: message.into(),
    }
}

/// The imports and exports of a component, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surface {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

impl Surface {
    /// Whether the component needs nothing but WASI.
    pub fn imports_only_wasi(&self) -> bool {
        self.imports.iter().all(|n| n.starts_with("wasi:"))
    }

    /// Whether it is a driver: it exports the contract's `base`.
    pub fn is_driver(&self) -> bool {
        self.exports.iter().any(|n| n.starts_with("driverbox:driver/base@"))
    }

    /// Whether it is a portable driver: a driver that imports only WASI.
    pub fn is_portable_driver(&self) -> bool {
        self.is_driver() && self.imports_only_wasi()
    }
}

/// The imports and exports of the component `bytes` (`what` names it in errors).
pub fn surface(bytes: &[u8], what: &str) -> Result<Surface> {
    let mut graph = CompositionGraph::new();
    let id = register(&mut graph, "driverbox:inspected", bytes, what)?;
    Ok(surface_of(&graph, id))
}

fn surface_of(graph: &CompositionGraph, id: PackageId) -> Surface {
    let world = &graph.types()[graph[id].ty()];
    Surface {
        imports: world.imports.keys().cloned().collect(),
        exports: world.exports.keys().cloned().collect(),
    }
}

fn register(graph: &mut CompositionGraph, name: &str, bytes: &[u8], what: &str) -> Result<PackageId> {
    let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut())
        .map_err(|e| fail(what, format!("not a valid component: {e:#}")))?;
    graph
        .register_package(package)
        .map_err(|e| fail(what, format!("cannot be composed: {}", chain(&e))))
}

/// Instantiates `provider` and feeds each import of `consumer` that
/// `provider` exports from it; returns the two instances.
fn wire(
    graph: &mut CompositionGraph,
    consumer: PackageId,
    provider: PackageId,
    wanted: &[String],
    what: &str,
) -> Result<(NodeId, NodeId)> {
    let provider_node = graph.instantiate(provider);
    let consumer_node = graph.instantiate(consumer);
    for name in wanted {
        let export = graph
            .alias_instance_export(provider_node, name)
            .map_err(|e| fail(what, format!("cannot use {name}: {}", chain(&e))))?;
        graph
            .set_instantiation_argument(consumer_node, name, export)
            .map_err(|e| fail(what, format!("cannot pass {name}: {}", chain(&e))))?;
    }
    Ok((consumer_node, provider_node))
}

fn encode(graph: &CompositionGraph, what: &str) -> Result<Vec<u8>> {
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| fail(what, format!("composition failed: {}", chain(&e))))
}

/// Makes the driver component `driver` portable with the built-in adapter.
pub fn make_portable(driver: &[u8], what: &str) -> Result<Vec<u8>> {
    compose(driver, ADAPTER, what)
}

/// Composes the driver component `driver` with the transport adapter
/// `adapter`: every `driverbox:driver` import of the driver must be one the
/// adapter exports (same contract version).
pub fn compose(driver: &[u8], adapter: &[u8], what: &str) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let d = register(&mut graph, "driverbox:driver-component", driver, what)?;
    let a = register(&mut graph, "driverbox:wasi-transport", adapter, "the transport adapter")?;
    let ds = surface_of(&graph, d);
    let adapter_surface = surface_of(&graph, a);
    if ds.is_portable_driver() {
        return Err(fail(what, "is already portable (it imports only wasi:*)"));
    }
    if !ds.is_driver() {
        return Err(fail(what, "is not a driver: it exports no driverbox:driver/base"));
    }
    let wanted: Vec<String> = ds.imports.iter().filter(|n| n.starts_with(CONTRACT)).cloned().collect();
    if let Some(missing) = wanted.iter().find(|n| !adapter_surface.exports.contains(n)) {
        let served: Vec<&str> = adapter_surface
            .exports
            .iter()
            .filter(|n| n.starts_with(CONTRACT))
            .map(String::as_str)
            .collect();
        return Err(fail(
            what,
            format!(
                "imports {missing}, which the transport adapter does not serve (it serves {}); \
                 rebuild the driver against that contract version",
                served.join(", ")
            ),
        ));
    }
    let (driver_node, adapter_node) = wire(&mut graph, d, a, &wanted, what)?;
    // The driver's exports use the contract's types, which it imported and
    // the adapter now provides: the composition exports them too, first,
    // so that the exports after it can name them.
    for name in &wanted {
        if name.starts_with("driverbox:driver/types@") {
            let types = graph
                .alias_instance_export(adapter_node, name)
                .map_err(|e| fail(what, chain(&e)))?;
            graph.export(types, name.clone()).map_err(|e| fail(what, chain(&e)))?;
        }
    }
    for name in &ds.exports {
        let export = graph
            .alias_instance_export(driver_node, name)
            .map_err(|e| fail(what, chain(&e)))?;
        graph.export(export, name.clone()).map_err(|e| fail(what, chain(&e)))?;
    }
    let bytes = encode(&graph, what)?;
    let result = surface(&bytes, what)?;
    if let Some(other) = result.imports.iter().find(|n| !n.starts_with("wasi:")) {
        return Err(fail(
            what,
            format!("the composition still imports {other}: it would not run outside driverbox"),
        ));
    }
    Ok(bytes)
}

/// Composes an application component `app` (one that imports some of a
/// driver's `driverbox:driver` interfaces, like `examples/http-query`) with
/// the portable driver `driver`: the app's imports of the contract are the
/// driver's exports, and the app's exports are the result's.
pub fn link_app(app: &[u8], driver: &[u8], what: &str) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let p = register(&mut graph, "driverbox:application", app, what)?;
    let d = register(&mut graph, "driverbox:portable-driver", driver, "the driver")?;
    let app_surface = surface_of(&graph, p);
    let driver_surface = surface_of(&graph, d);
    if !driver_surface.is_portable_driver() {
        return Err(fail(
            "the driver",
            "is not portable: make it so first (driverbox drivers portable)",
        ));
    }
    let wanted: Vec<String> = app_surface
        .imports
        .iter()
        .filter(|n| n.starts_with(CONTRACT))
        .cloned()
        .collect();
    if wanted.is_empty() {
        return Err(fail(what, "imports no driverbox:driver interface"));
    }
    if let Some(missing) = wanted.iter().find(|n| !driver_surface.exports.contains(n)) {
        return Err(fail(
            what,
            format!("imports {missing}, which the driver does not export"),
        ));
    }
    let (app_node, _) = wire(&mut graph, p, d, &wanted, what)?;
    for name in &app_surface.exports {
        let export = graph
            .alias_instance_export(app_node, name)
            .map_err(|e| fail(what, chain(&e)))?;
        graph.export(export, name.clone()).map_err(|e| fail(what, chain(&e)))?;
    }
    encode(&graph, what)
}

/// The bytes of a built-in driver by name (`postgres`, `sqlite`, `mysql`,
/// `mongodb`).
pub fn builtin_driver(name: &str) -> Option<&'static [u8]> {
    crate::runtime::builtin_bytes(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_serves_the_current_contract() {
        let s = surface(ADAPTER, "adapter").unwrap();
        for name in ["types", "transport", "log"] {
            assert!(
                s.exports.contains(&format!("{CONTRACT}{name}@0.2.0")),
                "{name} missing in {:?}",
                s.exports
            );
        }
        assert!(s.imports_only_wasi(), "{:?}", s.imports);
    }

    #[test]
    fn postgres_becomes_portable() {
        let driver = builtin_driver("postgres").unwrap();
        let before = surface(driver, "postgres").unwrap();
        assert!(!before.is_portable_driver());
        let portable = make_portable(driver, "postgres").unwrap();
        let after = surface(&portable, "portable").unwrap();
        assert!(after.is_portable_driver(), "{:?}", after.imports);
        for export in &before.exports {
            assert!(after.exports.contains(export), "{export} lost");
        }
        let again = make_portable(&portable, "portable").unwrap_err();
        assert!(again.to_string().contains("already portable"), "{again}");
    }

    #[test]
    fn non_drivers_are_refused() {
        let e = make_portable(b"not wasm", "junk").unwrap_err();
        assert!(e.to_string().contains("not a valid component"), "{e}");
        let e = make_portable(ADAPTER, "adapter").unwrap_err();
        assert!(e.to_string().contains("is not a driver"), "{e}");
    }
}
