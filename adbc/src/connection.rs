//! `AdbcConnection`: one database session. Its statements run on one
//! server connection (see [`DriverboxConnection::open`] for the one
//! exception), so session state (`SET`, temporary tables) lasts as in libpq. With autocommit off a
//! transaction is always open, as ADBC asks; `Commit`/`Rollback` end it and
//! begin the next.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adbc_core::constants::{ADBC_OPTION_VALUE_DISABLED, ADBC_OPTION_VALUE_ENABLED};
use adbc_core::error::{Result, Status};
use adbc_core::options::{InfoCode, ObjectDepth, OptionConnection, OptionValue};
use adbc_core::{CancelHandle, Connection, Optionable};
use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::Schema;
use driverbox::{
    ConnectionDriver, HealthCheckDriver, IsolationLevel, PoolConfig, Transaction, TransactionOptions, WasmDriver,
};
use tokio::sync::Notify;

use crate::database::Engine;
use crate::error::{adbc, invalid};
use crate::statement::DriverboxStatement;

/// What a connection's statements share.
pub(crate) struct Session {
    pub engine: Arc<Engine>,
    pub driver: WasmDriver,
    /// Open while autocommit is off.
    pub tx: tokio::sync::Mutex<Option<Transaction>>,
    pub options: Mutex<SessionOptions>,
    /// Wakes the calls running when `Cancel` is called.
    pub cancel: Arc<Notify>,
    /// The server's version, read when the connection opened.
    pub server_version: String,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionOptions {
    pub autocommit: bool,
    pub tx: TransactionOptions,
}

impl Session {
    /// Runs `fut` to completion on the engine's runtime; `Cancel` ends it
    /// early (the call in the driver is canceled as when its future drops).
    pub fn block<T>(&self, fut: impl Future<Output = driverbox::Result<T>>) -> Result<T> {
        let cancel = self.cancel.clone();
        self.engine.rt.block_on(async move {
            tokio::select! {
                r = fut => r.map_err(adbc),
                _ = cancel.notified() => Err(invalid(Status::Cancelled, "driverbox: canceled")),
            }
        })
    }

    fn begin(&self, tx: &mut Option<Transaction>) -> Result<()> {
        let options = self.options.lock().expect("options lock").tx;
        *tx = Some(self.block(self.driver.transaction(options))?);
        Ok(())
    }

    /// Ends the open transaction (if any) by commit or rollback and, when
    /// autocommit is still off, begins the next.
    fn finish(&self, commit: bool, begin_next: bool) -> Result<()> {
        let mut guard = self.engine.rt.block_on(self.tx.lock());
        if let Some(tx) = guard.take() {
            if commit {
                self.block(tx.commit())?;
            } else {
                self.block(tx.rollback())?;
            }
        }
        if begin_next {
            self.begin(&mut guard)?;
        }
        Ok(())
    }
}

/// An ADBC connection.
pub struct DriverboxConnection {
    pub(crate) session: Arc<Session>,
}

impl std::fmt::Debug for DriverboxConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // WasmDriver's Debug redacts the password.
        f.debug_struct("DriverboxConnection")
            .field("driver", &self.session.driver)
            .finish()
    }
}

struct Cancel(Arc<Notify>);

impl CancelHandle for Cancel {
    fn try_cancel(&self) -> Result<()> {
        self.0.notify_waiters();
        Ok(())
    }
}

/// A handle that cancels the calls of `session` running when it is used.
pub(crate) fn cancel_handle(session: &Session) -> Box<dyn CancelHandle> {
    Box::new(Cancel(session.cancel.clone()))
}

impl DriverboxConnection {
    pub(crate) fn open(engine: Arc<Engine>, uri: &str) -> Result<Self> {
        // The pool hands out its most recently used connection first, so
        // statements keep to one server session; a second connection opens
        // only while the first is busy (a catalog call while a transaction
        // holds it, a statement while a result still streams).
        let pool = PoolConfig {
            max_size: 2,
            // ADBC leaves a transaction open between calls for as long as
            // the application likes.
            transaction_idle_timeout: Duration::from_secs(365 * 24 * 3600),
            ..PoolConfig::default()
        };
        let driver = engine.rt.block_on(engine.host.connect_with(uri, pool)).map_err(adbc)?;
        let server_version = engine
            .rt
            .block_on(driver.health_check())
            .map(|h| h.server_version)
            .unwrap_or_default();
        let session = Session {
            engine,
            driver,
            tx: tokio::sync::Mutex::new(None),
            options: Mutex::new(SessionOptions {
                autocommit: true,
                tx: TransactionOptions::default(),
            }),
            cancel: Arc::new(Notify::new()),
            server_version,
        };
        Ok(Self {
            session: Arc::new(session),
        })
    }

    fn autocommit(&self) -> bool {
        self.session.options.lock().expect("options lock").autocommit
    }
}

impl Drop for DriverboxConnection {
    fn drop(&mut self) {
        // An open transaction is rolled back, as when a libpq connection closes.
        let s = &self.session;
        if let Ok(mut guard) = s.tx.try_lock() {
            if let Some(tx) = guard.take() {
                let _ = s.engine.rt.block_on(tx.rollback());
            }
        }
        s.engine.rt.block_on(s.driver.close());
    }
}

fn enabled(key: &str, value: &OptionValue) -> Result<bool> {
    match value {
        OptionValue::String(s) if s == ADBC_OPTION_VALUE_ENABLED => Ok(true),
        OptionValue::String(s) if s == ADBC_OPTION_VALUE_DISABLED => Ok(false),
        _ => Err(invalid(
            Status::InvalidArguments,
            format!("driverbox: option {key} takes \"true\" or \"false\""),
        )),
    }
}

fn isolation(value: &OptionValue) -> Result<Option<IsolationLevel>> {
    let name = match value {
        OptionValue::String(s) => s.as_str(),
        _ => {
            return Err(invalid(
                Status::InvalidArguments,
                "driverbox: isolation level takes a string",
            ))
        }
    };
    Ok(match name.rsplit('.').next().unwrap_or("") {
        "default" => None,
        "read_uncommitted" => Some(IsolationLevel::ReadUncommitted),
        "read_committed" => Some(IsolationLevel::ReadCommitted),
        "repeatable_read" | "snapshot" => Some(IsolationLevel::RepeatableRead),
        "serializable" | "linearizable" => Some(IsolationLevel::Serializable),
        _ => {
            return Err(invalid(
                Status::InvalidArguments,
                format!("driverbox: unknown isolation level {name}"),
            ))
        }
    })
}

impl Optionable for DriverboxConnection {
    type Option = OptionConnection;

    fn set_option(&mut self, key: OptionConnection, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_string();
        match key {
            OptionConnection::AutoCommit => {
                let on = enabled(&name, &value)?;
                let was = self.autocommit();
                if on == was {
                    return Ok(());
                }
                self.session.options.lock().expect("options lock").autocommit = on;
                if on {
                    // Turning autocommit on commits the open transaction.
                    self.session.finish(true, false)
                } else {
                    let mut guard = self.session.engine.rt.block_on(self.session.tx.lock());
                    self.session.begin(&mut guard)
                }
            }
            OptionConnection::ReadOnly => {
                let on = enabled(&name, &value)?;
                self.session.options.lock().expect("options lock").tx.read_only = on;
                Ok(())
            }
            OptionConnection::IsolationLevel => {
                let level = isolation(&value)?;
                self.session.options.lock().expect("options lock").tx.isolation = level;
                Ok(())
            }
            _ => Err(invalid(
                Status::NotImplemented,
                format!("driverbox: unknown connection option {name}"),
            )),
        }
    }

    fn get_option_string(&self, key: OptionConnection) -> Result<String> {
        let o = *self.session.options.lock().expect("options lock");
        let flag = |b: bool| if b { "true" } else { "false" }.to_string();
        match key {
            OptionConnection::AutoCommit => Ok(flag(o.autocommit)),
            OptionConnection::ReadOnly => Ok(flag(o.tx.read_only)),
            OptionConnection::IsolationLevel => Ok(format!(
                "adbc.connection.transaction.isolation.{}",
                match o.tx.isolation {
                    None => "default",
                    Some(IsolationLevel::ReadUncommitted) => "read_uncommitted",
                    Some(IsolationLevel::ReadCommitted) => "read_committed",
                    Some(IsolationLevel::RepeatableRead) => "repeatable_read",
                    Some(IsolationLevel::Serializable) => "serializable",
                }
            )),
            other => Err(invalid(
                Status::NotFound,
                format!("driverbox: option {} is not set", other.as_ref()),
            )),
        }
    }

    crate::error::no_typed_options!(OptionConnection);
}

/// A reader over batches already in memory.
pub(crate) fn reader(schema: Arc<Schema>, batches: Vec<RecordBatch>) -> Box<dyn RecordBatchReader + Send> {
    Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema))
}

impl Connection for DriverboxConnection {
    type StatementType = DriverboxStatement;

    fn new_statement(&mut self) -> Result<DriverboxStatement> {
        Ok(DriverboxStatement::new(self.session.clone()))
    }

    fn get_cancel_handle(&self) -> Box<dyn CancelHandle> {
        cancel_handle(&self.session)
    }

    fn get_info(&self, codes: Option<HashSet<InfoCode>>) -> Result<Box<dyn RecordBatchReader + Send + 'static>> {
        let batch = crate::objects::info(&self.session, codes)?;
        Ok(reader(batch.schema(), vec![batch]))
    }

    fn get_objects(
        &self,
        depth: ObjectDepth,
        catalog: Option<&str>,
        db_schema: Option<&str>,
        table_name: Option<&str>,
        table_type: Option<Vec<&str>>,
        column_name: Option<&str>,
    ) -> Result<Box<dyn RecordBatchReader + Send + 'static>> {
        let filter = crate::objects::Filter {
            catalog,
            db_schema,
            table_name,
            table_type,
            column_name,
        };
        let batch = crate::objects::objects(&self.session, depth, &filter)?;
        Ok(reader(batch.schema(), vec![batch]))
    }

    fn get_table_schema(&self, catalog: Option<&str>, db_schema: Option<&str>, table_name: &str) -> Result<Schema> {
        let _ = catalog;
        crate::objects::table_schema(&self.session, db_schema, table_name)
    }

    fn get_table_types(&self) -> Result<Box<dyn RecordBatchReader + Send + 'static>> {
        let batch = crate::objects::table_types()?;
        Ok(reader(batch.schema(), vec![batch]))
    }

    fn get_statistic_names(&self) -> Result<Box<dyn RecordBatchReader + Send + 'static>> {
        let batch = crate::objects::statistic_names()?;
        Ok(reader(batch.schema(), vec![batch]))
    }

    fn get_statistics(
        &self,
        catalog: Option<&str>,
        db_schema: Option<&str>,
        table_name: Option<&str>,
        approximate: bool,
    ) -> Result<Box<dyn RecordBatchReader + Send + 'static>> {
        let batch = crate::objects::statistics(&self.session, catalog, db_schema, table_name, approximate)?;
        Ok(reader(batch.schema(), vec![batch]))
    }

    fn commit(&mut self) -> Result<()> {
        if self.autocommit() {
            return Err(invalid(Status::InvalidState, "driverbox: Commit with autocommit on"));
        }
        self.session.finish(true, true)
    }

    fn rollback(&mut self) -> Result<()> {
        if self.autocommit() {
            return Err(invalid(Status::InvalidState, "driverbox: Rollback with autocommit on"));
        }
        self.session.finish(false, true)
    }

    fn read_partition(&self, _partition: impl AsRef<[u8]>) -> Result<Box<dyn RecordBatchReader + Send + 'static>> {
        Err(invalid(
            Status::NotImplemented,
            "driverbox: partitioned results are not supported",
        ))
    }
}
