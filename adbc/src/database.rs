//! `AdbcDriver` and `AdbcDatabase`: one driverbox [`Runtime`] (the wasm
//! engine, the loaded driver components, a tokio runtime to run them on)
//! per database, made at the first connection.
//!
//! Database options:
//!
//! | key | value | default |
//! |---|---|---|
//! | `uri` | any driverbox URL (`postgres://…`, `sqlite:path`, …) | `sqlite:driverbox.db` |
//! | `driverbox.driver` | path of a driver component (`.wasm`) to load beside the built-ins | none |
//! | `driverbox.drivers_dir` | directory whose `*.wasm` driver components are loaded | none |
//! | `driverbox.limit.NAME` | a sandbox limit, names and values as `driverbox -W NAME=VALUE` (`max-memory-size`, `timeout`, …) | the host's safe defaults |

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use adbc_core::error::{Result, Status};
use adbc_core::options::{OptionConnection, OptionDatabase, OptionValue};
use adbc_core::{Database, Driver, Optionable};
use driverbox::{Limits, Runtime};

use crate::connection::DriverboxConnection;
use crate::error::{adbc, invalid, string_option};

/// The URL used when none is set: the embedded SQLite default of the CLI.
pub const DEFAULT_URI: &str = "sqlite:driverbox.db";

/// The ADBC driver: makes databases.
#[derive(Debug, Default)]
pub struct DriverboxDriver;

impl Driver for DriverboxDriver {
    type DatabaseType = DriverboxDatabase;

    fn new_database(&mut self) -> Result<DriverboxDatabase> {
        Ok(DriverboxDatabase::default())
    }

    fn new_database_with_opts(
        &mut self,
        opts: impl IntoIterator<Item = (OptionDatabase, OptionValue)>,
    ) -> Result<DriverboxDatabase> {
        let mut db = DriverboxDatabase::default();
        for (key, value) in opts {
            db.set_option(key, value)?;
        }
        Ok(db)
    }
}

/// The engine shared by a database's connections.
pub(crate) struct Engine {
    pub rt: tokio::runtime::Runtime,
    pub host: Runtime,
}

/// An ADBC database: options, then (from the first connection on) the engine.
#[derive(Default)]
pub struct DriverboxDatabase {
    uri: Option<String>,
    driver_file: Option<PathBuf>,
    drivers_dir: Option<PathBuf>,
    limits: Vec<(String, String)>,
    engine: OnceLock<Arc<Engine>>,
}

impl std::fmt::Debug for DriverboxDatabase {
    /// The URI is left out: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverboxDatabase")
            .field("driver_file", &self.driver_file)
            .field("drivers_dir", &self.drivers_dir)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl DriverboxDatabase {
    pub(crate) fn uri(&self) -> &str {
        self.uri.as_deref().unwrap_or(DEFAULT_URI)
    }

    /// The engine, made on first use with the options set so far.
    pub(crate) fn engine(&self) -> Result<Arc<Engine>> {
        if let Some(e) = self.engine.get() {
            return Ok(e.clone());
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("driverbox-adbc")
            .enable_all()
            .build()
            .map_err(|e| invalid(Status::Internal, format!("driverbox: cannot start a runtime: {e}")))?;
        let mut limits = Limits::default();
        for (name, value) in &self.limits {
            limits.set(&format!("{name}={value}")).map_err(adbc)?;
        }
        let host = {
            let _guard = rt.enter();
            Runtime::builder().limits(limits).build().map_err(adbc)?
        };
        rt.block_on(async {
            if let Some(file) = &self.driver_file {
                host.load_driver_file(file).await?;
            }
            if let Some(dir) = &self.drivers_dir {
                let entries = std::fs::read_dir(dir)
                    .map_err(|e| driverbox::Error::Config(format!("driverbox.drivers_dir {}: {e}", dir.display())))?;
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().is_some_and(|x| x == "wasm") {
                        host.load_driver_file(&path).await?;
                    }
                }
            }
            Ok::<_, driverbox::Error>(())
        })
        .map_err(adbc)?;
        let engine = Arc::new(Engine { rt, host });
        Ok(self.engine.get_or_init(|| engine).clone())
    }

    fn check_not_started(&self, key: &str) -> Result<()> {
        if self.engine.get().is_some() && key != OptionDatabase::Uri.as_ref() {
            return Err(invalid(
                Status::InvalidState,
                format!("driverbox: option {key} must be set before the first connection"),
            ));
        }
        Ok(())
    }
}

impl Optionable for DriverboxDatabase {
    type Option = OptionDatabase;

    fn set_option(&mut self, key: OptionDatabase, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_string();
        self.check_not_started(&name)?;
        match key {
            OptionDatabase::Uri => self.uri = Some(string_option(&name, value)?),
            OptionDatabase::Other(ref k) if k == "driverbox.driver" => {
                self.driver_file = Some(string_option(&name, value)?.into())
            }
            OptionDatabase::Other(ref k) if k == "driverbox.drivers_dir" => {
                self.drivers_dir = Some(string_option(&name, value)?.into())
            }
            OptionDatabase::Other(ref k) if k.starts_with("driverbox.limit.") => {
                let limit = k["driverbox.limit.".len()..].to_string();
                let value = match value {
                    OptionValue::Int(i) => i.to_string(),
                    other => string_option(&name, other)?,
                };
                // Checked now, so a bad limit fails where it is set.
                Limits::default().set(&format!("{limit}={value}")).map_err(adbc)?;
                self.limits.push((limit, value));
            }
            _ => {
                return Err(invalid(
                    Status::NotImplemented,
                    format!("driverbox: unknown database option {name}"),
                ))
            }
        }
        Ok(())
    }

    fn get_option_string(&self, key: OptionDatabase) -> Result<String> {
        match key {
            OptionDatabase::Uri => Ok(self.uri().to_string()),
            other => Err(invalid(
                Status::NotFound,
                format!("driverbox: option {} is not set", other.as_ref()),
            )),
        }
    }

    crate::error::no_typed_options!(OptionDatabase);
}

impl Database for DriverboxDatabase {
    type ConnectionType = DriverboxConnection;

    fn new_connection(&self) -> Result<DriverboxConnection> {
        DriverboxConnection::open(self.engine()?, self.uri())
    }

    fn new_connection_with_opts(
        &self,
        opts: impl IntoIterator<Item = (OptionConnection, OptionValue)>,
    ) -> Result<DriverboxConnection> {
        let mut conn = self.new_connection()?;
        for (key, value) in opts {
            conn.set_option(key, value)?;
        }
        Ok(conn)
    }
}
