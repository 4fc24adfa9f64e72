//! The portable PostgreSQL driver as a contender (`driverbox portable`):
//! the built-in driver composed with the transport adapter by
//! `driverbox::portable::make_portable` (what `driverbox drivers portable`
//! does), run in a plain wasmtime embedding that links only
//! `wasmtime-wasi`, TCP and name lookup allowed to loopback addresses
//! only, its exports called directly (as `tests/tests/portable.rs` does).
//! Results arrive as the contract's columnar batches; they are decoded
//! into rows of `driverbox::Value`, the rows the host's API gives.

use anyhow::{anyhow, bail, Context, Result};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::WasiCtxBuilder;

use crate::startup::Bare;

use driverbox::Value as HostValue;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2.0",
        world: "embedded-sql-driver",
        imports: { default: async },
        exports: { default: async },
    });
}

use bindings::driverbox::driver::types::{
    Batch, Column, ColumnData, ConnectConfig, Endpoint, LogicalType, TlsMode, Value, Varlen,
};
use bindings::EmbeddedSqlDriver;

/// The contender's name in the results.
pub const NAME: &str = "driverbox portable";

/// The portable PostgreSQL component, composed and compiled once.
pub struct Built {
    engine: Engine,
    component: Component,
    /// Bytes of the built-in driver the host runs.
    pub host_bytes: usize,
    /// Bytes of the portable component (driver + adapter).
    pub portable_bytes: usize,
}

fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow!("{e:#}"))
}

impl Built {
    /// Composes the built-in PostgreSQL driver with the adapter and compiles it.
    pub fn new() -> Result<Built> {
        let driver = driverbox::portable::builtin_driver("postgres").context("no built-in postgres driver")?;
        let bytes = driverbox::portable::make_portable(driver, "postgres")?;
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        if std::env::var_os("DRIVERBOX_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = wt(Engine::new(&config))?;
        let component = wt(Component::new(&engine, &bytes)).context("compiling the portable driver")?;
        Ok(Built {
            engine,
            component,
            host_bytes: driver.len(),
            portable_bytes: bytes.len(),
        })
    }
}

/// Loopback only: connects to loopback addresses, and the implicit bind
/// before a connect (checked on the wildcard address, port 0).
fn loopback(addr: std::net::SocketAddr, use_: SocketAddrUse) -> bool {
    match use_ {
        SocketAddrUse::TcpConnect => addr.ip().is_loopback(),
        SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
        _ => false,
    }
}

/// The password of `url`'s user information, percent-decoded.
fn url_password(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let raw = parsed.password()?;
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
}

/// One instance of the portable driver, connected: one store, one connection.
pub struct Conn {
    store: Store<Bare>,
    driver: EmbeddedSqlDriver,
}

impl Conn {
    /// Instantiates the component and connects to `url` (parsed with the
    /// host's URL rules for the driver; the adapter's `DRIVERBOX_SSLMODE`
    /// set to the URL's TLS mode).
    pub async fn connect(built: &Built, rt: &driverbox::Runtime, url: &str) -> Result<Conn> {
        let o = rt.parse_url(url).await?;
        let tls = match o.tls {
            driverbox::TlsMode::Disable => TlsMode::Disable,
            driverbox::TlsMode::Prefer => TlsMode::Prefer,
            driverbox::TlsMode::Require => TlsMode::Require,
            driverbox::TlsMode::VerifyCa => TlsMode::VerifyCa,
            driverbox::TlsMode::VerifyFull => TlsMode::VerifyFull,
        };
        let config = ConnectConfig {
            scheme: o.scheme.clone(),
            hosts: o
                .hosts
                .iter()
                .map(|h| Endpoint {
                    host: h.host.clone(),
                    port: h.port,
                    port_given: h.port_given,
                })
                .collect(),
            user: o.user.clone(),
            password: url_password(url),
            database: o.database.clone(),
            tls,
            application_name: o.application_name.clone(),
            options: o.params.clone(),
        };
        let mut wasi = WasiCtxBuilder::new();
        wasi.allow_tcp(true)
            .allow_ip_name_lookup(true)
            .socket_addr_check(|addr, use_| Box::pin(async move { loopback(addr, use_) }))
            .env("DRIVERBOX_SSLMODE", o.tls.name())
            .inherit_stderr();
        let mut linker: Linker<Bare> = Linker::new(&built.engine);
        wt(wasmtime_wasi::p2::add_to_linker_async(&mut linker))?;
        let state = Bare {
            wasi: wasi.build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&built.engine, state);
        let driver = wt(EmbeddedSqlDriver::instantiate_async(&mut store, &built.component, &linker).await)
            .context("instantiating the portable driver with wasmtime-wasi alone")?;
        wt(driver.driverbox_driver_base().call_connect(&mut store, &config).await)?
            .map_err(|e| anyhow!("portable driver: connect: {e:?}"))?;
        Ok(Conn { store, driver })
    }

    /// Prepares `sql`; gives the statement's id.
    pub async fn prepare(&mut self, sql: &str) -> Result<u32> {
        let caps = self.driver.driverbox_driver_capabilities();
        let p = wt(caps.call_prepare(&mut self.store, sql).await)?
            .map_err(|e| anyhow!("portable driver: prepare: {e:?}"))?;
        Ok(p.id)
    }

    /// Runs prepared statement `id` with one integer parameter; gives its rows.
    pub async fn execute_prepared_int(&mut self, id: u32, param: i64) -> Result<Vec<Vec<HostValue>>> {
        let caps = self.driver.driverbox_driver_capabilities();
        let r = wt(caps
            .call_execute_prepared(&mut self.store, id, &[Value::Int(param)])
            .await)?
        .map_err(|e| anyhow!("portable driver: execute-prepared: {e:?}"))?;
        rows(&r.columns, &r.batch)
    }

    /// Streams `sql` (no parameters) in batches of `batch` rows, calling
    /// `each` with every batch's rows; gives the number of rows.
    pub async fn stream(&mut self, sql: &str, batch: u32, mut each: impl FnMut(Vec<Vec<HostValue>>)) -> Result<u64> {
        let ext = self.driver.driverbox_driver_extension();
        let columns = wt(ext.call_stream_open(&mut self.store, sql, &[], batch).await)?
            .map_err(|e| anyhow!("portable driver: stream-open: {e:?}"))?;
        let mut count = 0u64;
        while let Some(b) = wt(ext.call_stream_next(&mut self.store).await)?
            .map_err(|e| anyhow!("portable driver: stream-next: {e:?}"))?
        {
            count += u64::from(b.rows);
            each(rows(&columns, &b)?);
        }
        Ok(count)
    }
}

fn valid(validity: &Option<Vec<u8>>, i: usize) -> bool {
    validity.as_ref().is_none_or(|bits| bits[i / 8] >> (i % 8) & 1 == 1)
}

fn slice(v: &Varlen, i: usize) -> Result<&[u8]> {
    let (a, b) = (v.offsets[i] as usize, v.offsets[i + 1] as usize);
    v.data.get(a..b).context("varlen offsets out of range")
}

fn text(v: &Varlen, i: usize) -> Result<String> {
    Ok(std::str::from_utf8(slice(v, i)?)?.to_owned())
}

/// A batch as rows of host values, column by column, by the column's
/// logical type (the types of the PostgreSQL workloads; others are an error).
fn rows(columns: &[Column], batch: &Batch) -> Result<Vec<Vec<HostValue>>> {
    use ColumnData as D;
    use HostValue as V;
    use LogicalType as L;
    let n = batch.rows as usize;
    anyhow::ensure!(columns.len() == batch.columns.len(), "batch has the wrong column count");
    let mut out: Vec<Vec<HostValue>> = (0..n).map(|_| Vec::with_capacity(columns.len())).collect();
    for (c, values) in columns.iter().zip(&batch.columns) {
        let fill = |out: &mut Vec<Vec<HostValue>>, f: &dyn Fn(usize) -> Result<HostValue>| -> Result<()> {
            for (i, row) in out.iter_mut().enumerate() {
                row.push(if valid(&values.validity, i) { f(i)? } else { V::Null });
            }
            Ok(())
        };
        match (&values.data, c.logical_type) {
            (D::Null, _) => fill(&mut out, &|_| Ok(V::Null))?,
            (D::Boolean(v), _) => fill(&mut out, &|i| Ok(V::Boolean(v[i])))?,
            (D::Int16(v), _) => fill(&mut out, &|i| Ok(V::Int(v[i].into())))?,
            (D::Int32(v), L::Date) => fill(&mut out, &|i| Ok(V::Date(v[i])))?,
            (D::Int32(v), _) => fill(&mut out, &|i| Ok(V::Int(v[i].into())))?,
            (D::Int64(v), L::Timestamptz) => fill(&mut out, &|i| Ok(V::Timestamptz(v[i])))?,
            (D::Int64(v), L::Timestamp) => fill(&mut out, &|i| Ok(V::Timestamp(v[i])))?,
            (D::Int64(v), L::Time) => fill(&mut out, &|i| Ok(V::Time(v[i])))?,
            (D::Int64(v), _) => fill(&mut out, &|i| Ok(V::Int(v[i])))?,
            (D::Float32(v), _) => fill(&mut out, &|i| Ok(V::Float(v[i].into())))?,
            (D::Float64(v), _) => fill(&mut out, &|i| Ok(V::Float(v[i])))?,
            (D::Varlen(v), L::Text) => fill(&mut out, &|i| Ok(V::Text(text(v, i)?)))?,
            (D::Varlen(v), L::Json) => fill(&mut out, &|i| Ok(V::Json(text(v, i)?)))?,
            (D::Varlen(v), L::Decimal) => fill(&mut out, &|i| Ok(V::Decimal(text(v, i)?)))?,
            (D::Varlen(v), _) => fill(&mut out, &|i| Ok(V::Bytes(slice(v, i)?.to_vec())))?,
            (D::Uuid(v), _) => fill(&mut out, &|i| {
                let b: [u8; 16] = v.get(i * 16..i * 16 + 16).context("uuid buffer")?.try_into()?;
                Ok(V::Uuid((
                    u64::from_be_bytes(b[..8].try_into()?),
                    u64::from_be_bytes(b[8..].try_into()?),
                )))
            })?,
            (_, t) => bail!("column {}: {t:?} values not decoded here", c.name),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_of_a_url() {
        assert_eq!(
            url_password("postgres://u:p%40ss@h:5432/db?x=1").as_deref(),
            Some("p@ss")
        );
        assert_eq!(url_password("postgres://u@h/db"), None);
        assert_eq!(url_password("postgres://h/db?password=x"), None);
    }

    #[test]
    fn batch_to_rows() {
        let columns = vec![
            Column {
                name: "n".into(),
                logical_type: LogicalType::Int32,
                database_type: "int4".into(),
                precision: None,
                scale: None,
                nullable: None,
            },
            Column {
                name: "t".into(),
                logical_type: LogicalType::Text,
                database_type: "text".into(),
                precision: None,
                scale: None,
                nullable: None,
            },
        ];
        let batch = Batch {
            rows: 2,
            columns: vec![
                bindings::driverbox::driver::types::ColumnValues {
                    data: ColumnData::Int32(vec![7, 0]),
                    validity: Some(vec![0b01]),
                },
                bindings::driverbox::driver::types::ColumnValues {
                    data: ColumnData::Varlen(Varlen {
                        offsets: vec![0, 2, 5],
                        data: b"abcde".to_vec(),
                    }),
                    validity: None,
                },
            ],
        };
        let r = rows(&columns, &batch).unwrap();
        assert_eq!(r[0], [HostValue::Int(7), HostValue::Text("ab".into())]);
        assert_eq!(r[1], [HostValue::Null, HostValue::Text("cde".into())]);
    }
}
