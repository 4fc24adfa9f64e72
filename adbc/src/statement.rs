//! `AdbcStatement`: SQL with Arrow parameters, streamed Arrow results,
//! updates with row counts, and bulk ingest into a table created from an
//! Arrow schema in the database's dialect.

use std::sync::Arc;

use adbc_core::error::{Result, Status};
use adbc_core::options::{IngestMode, OptionStatement, OptionValue};
use adbc_core::{CancelHandle, Optionable, PartitionedResult, Statement};
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use driverbox::{
    ArrowStream, BulkOperationsDriver, DriverMetadata, PlaceholderStyle, PreparedStatementDriver, QueryDriver,
    StreamingDriver, Value,
};
use futures::StreamExt;

use crate::connection::{reader, Session};
use crate::error::{arrow, invalid, string_option};

/// Rows per streamed batch.
const BATCH_ROWS: u32 = 4096;

#[derive(Debug, Default, Clone)]
struct Ingest {
    table: Option<String>,
    db_schema: Option<String>,
    mode: Option<IngestMode>,
    temporary: bool,
}

/// An ADBC statement of a [`crate::DriverboxConnection`].
pub struct DriverboxStatement {
    session: Arc<Session>,
    sql: Option<String>,
    params: Vec<RecordBatch>,
    ingest: Ingest,
    prepared: Option<driverbox::PreparedStatement>,
}

impl std::fmt::Debug for DriverboxStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverboxStatement")
            .field("sql", &self.sql)
            .field("ingest", &self.ingest)
            .finish_non_exhaustive()
    }
}

/// Streams a query's batches, waiting for each on the engine's runtime.
struct StreamReader {
    session: Arc<Session>,
    stream: ArrowStream,
    schema: SchemaRef,
}

impl Iterator for StreamReader {
    type Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.session.block(async { Ok(self.stream.next().await) });
        match next {
            Ok(None) => None,
            Ok(Some(Ok(batch))) => Some(Ok(batch)),
            Ok(Some(Err(e))) => Some(Err(arrow_schema::ArrowError::ExternalError(Box::new(e)))),
            Err(e) => Some(Err(arrow_schema::ArrowError::ExternalError(Box::new(e)))),
        }
    }
}

impl RecordBatchReader for StreamReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

fn quote(q: &str, name: &str) -> String {
    format!("{q}{}{q}", name.replace(q, &format!("{q}{q}")))
}

/// The column type for an Arrow type in `database` (`postgresql`,
/// `sqlite`, `mysql`/`mariadb`), for ingest's `CREATE TABLE`.
pub(crate) fn sql_type(database: &str, t: &DataType) -> Option<String> {
    let pg = database == "postgresql";
    let sqlite = database == "sqlite";
    Some(match t {
        DataType::Boolean if sqlite => "INTEGER".into(),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
            if sqlite =>
        {
            "INTEGER".into()
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 if sqlite => "REAL".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView if sqlite => "BLOB".into(),
        _ if sqlite => "TEXT".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "SMALLINT".into(),
        DataType::Int32 | DataType::UInt16 => "INTEGER".into(),
        DataType::Int64 | DataType::UInt32 => "BIGINT".into(),
        DataType::UInt64 => "NUMERIC(20)".into(),
        DataType::Float16 | DataType::Float32 => "REAL".into(),
        DataType::Float64 if pg => "DOUBLE PRECISION".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("NUMERIC({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if pg => "TEXT".into(),
        // MySQL's TEXT holds 64 KiB; Arrow strings may be longer.
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "LONGTEXT".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView if pg => "BYTEA".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "LONGBLOB".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) if pg => "TIME".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME(6)".into(),
        DataType::Timestamp(_, None) if pg => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) if pg => "TIMESTAMPTZ".into(),
        DataType::Timestamp(TimeUnit::Second, _) => "DATETIME".into(),
        DataType::Timestamp(_, _) => "DATETIME(6)".into(),
        DataType::Interval(_) | DataType::Duration(_) if pg => "INTERVAL".into(),
        _ => return None,
    })
}

impl DriverboxStatement {
    pub(crate) fn new(session: Arc<Session>) -> Self {
        Self {
            session,
            sql: None,
            params: Vec::new(),
            ingest: Ingest::default(),
            prepared: None,
        }
    }

    fn sql(&self) -> Result<&str> {
        self.sql
            .as_deref()
            .ok_or_else(|| invalid(Status::InvalidState, "driverbox: no SQL query set (SetSqlQuery)"))
    }

    /// The bound parameter rows; one empty row when nothing is bound.
    fn param_rows(&self) -> Result<Vec<Vec<Value>>> {
        if self.params.is_empty() {
            return Ok(vec![Vec::new()]);
        }
        let mut rows = Vec::new();
        for batch in &self.params {
            let values = driverbox::arrow::values(batch)
                .map_err(|e| invalid(Status::InvalidArguments, format!("driverbox: bound parameters: {e}")))?;
            rows.extend(values);
        }
        Ok(rows)
    }

    fn returns_rows(&self, sql: &str) -> bool {
        let dialect = driverbox::sql::dialect(&self.session.driver.info().dialect);
        driverbox::sql::returns_rows(&*dialect, sql)
    }

    fn ingest(&mut self) -> Result<i64> {
        let table = self.ingest.table.clone().expect("checked by the caller");
        let info = self.session.driver.info();
        let q = info.identifier_quote.clone();
        let schema = self.ingest.db_schema.clone();
        let target = match &schema {
            Some(s) => format!("{}.{}", quote(&q, s), quote(&q, &table)),
            None => quote(&q, &table),
        };
        let Some(first) = self.params.first() else {
            return Err(invalid(
                Status::InvalidState,
                "driverbox: ingest without bound data (Bind)",
            ));
        };
        let arrow_schema = first.schema();
        let mode = self.ingest.mode.unwrap_or(IngestMode::Create);
        let mut ddl = Vec::new();
        if mode == IngestMode::Replace {
            ddl.push(format!("DROP TABLE IF EXISTS {target}"));
        }
        if mode != IngestMode::Append {
            let mut cols = Vec::new();
            for f in arrow_schema.fields() {
                let t = sql_type(&info.database_type, f.data_type()).ok_or_else(|| {
                    invalid(
                        Status::NotImplemented,
                        format!(
                            "driverbox: ingest: no {} column type for Arrow {}",
                            info.database_type,
                            f.data_type()
                        ),
                    )
                })?;
                let null = if f.is_nullable() { "" } else { " NOT NULL" };
                cols.push(format!("{} {t}{null}", quote(&q, f.name())));
            }
            let temp = if self.ingest.temporary { "TEMPORARY " } else { "" };
            let exists = if mode == IngestMode::CreateAppend {
                "IF NOT EXISTS "
            } else {
                ""
            };
            ddl.push(format!("CREATE {temp}TABLE {exists}{target} ({})", cols.join(", ")));
        }
        let session = self.session.clone();
        let mut tx = session.engine.rt.block_on(session.tx.lock());
        let mut total = 0u64;
        for statement in &ddl {
            match tx.as_mut() {
                Some(t) => session.block(t.execute(statement, &[]))?,
                None => session.block(session.driver.execute(statement, &[]))?,
            };
        }
        match tx.as_mut() {
            Some(t) => {
                // Inside a transaction: INSERTs on the transaction's connection.
                let names: Vec<String> = arrow_schema.fields().iter().map(|f| quote(&q, f.name())).collect();
                let marks: Vec<String> = (1..=names.len())
                    .map(|i| match info.placeholder_style {
                        PlaceholderStyle::DollarNumber => format!("${i}"),
                        _ => "?".to_string(),
                    })
                    .collect();
                let insert = format!(
                    "INSERT INTO {target} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                );
                for row in self.param_rows()? {
                    total += session.block(t.execute(&insert, &row))?;
                }
            }
            None => {
                for batch in &self.params {
                    total += session.block(session.driver.bulk_insert_arrow(schema.as_deref(), &table, batch))?;
                }
            }
        }
        Ok(total as i64)
    }
}

impl Optionable for DriverboxStatement {
    type Option = OptionStatement;

    fn set_option(&mut self, key: OptionStatement, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_string();
        match key {
            OptionStatement::TargetTable => {
                self.ingest.table = Some(string_option(&name, value)?);
                self.sql = None;
            }
            OptionStatement::TargetDbSchema => self.ingest.db_schema = Some(string_option(&name, value)?),
            OptionStatement::IngestMode => {
                self.ingest.mode = Some(
                    IngestMode::try_from(&value)
                        .map_err(|e| invalid(Status::InvalidArguments, format!("driverbox: {}", e.message)))?,
                )
            }
            OptionStatement::Temporary => {
                self.ingest.temporary = matches!(string_option(&name, value)?.as_str(), "true");
            }
            _ => {
                return Err(invalid(
                    Status::NotImplemented,
                    format!("driverbox: unknown statement option {name}"),
                ))
            }
        }
        Ok(())
    }

    fn get_option_string(&self, key: OptionStatement) -> Result<String> {
        let missing = || {
            invalid(
                Status::NotFound,
                format!("driverbox: option {} is not set", key.as_ref()),
            )
        };
        match key {
            OptionStatement::TargetTable => self.ingest.table.clone().ok_or_else(missing),
            OptionStatement::TargetDbSchema => self.ingest.db_schema.clone().ok_or_else(missing),
            OptionStatement::IngestMode => self.ingest.mode.map(String::from).ok_or_else(missing),
            _ => Err(missing()),
        }
    }

    crate::error::no_typed_options!(OptionStatement);
}

impl Statement for DriverboxStatement {
    fn bind(&mut self, batch: RecordBatch) -> Result<()> {
        self.params = vec![batch];
        Ok(())
    }

    fn bind_stream(&mut self, reader: Box<dyn RecordBatchReader + Send>) -> Result<()> {
        self.params = reader.collect::<std::result::Result<Vec<_>, _>>().map_err(arrow)?;
        Ok(())
    }

    fn execute(&mut self) -> Result<Box<dyn RecordBatchReader + Send + 'static>> {
        if self.ingest.table.is_some() {
            self.ingest()?;
            let schema = Arc::new(Schema::empty());
            return Ok(reader(schema.clone(), vec![]));
        }
        let sql = self.sql()?.to_string();
        let rows = self.param_rows()?;
        let session = self.session.clone();
        let mut tx = session.engine.rt.block_on(session.tx.lock());
        if tx.is_none() && rows.len() == 1 && session.driver.supports_streaming() && self.returns_rows(&sql) {
            drop(tx);
            let stream = session.block(session.driver.stream_arrow(&sql, &rows[0], BATCH_ROWS))?;
            let schema = stream.schema();
            return Ok(Box::new(StreamReader {
                session,
                stream,
                schema,
            }));
        }
        let mut batches = Vec::new();
        for row in &rows {
            let result = match tx.as_mut() {
                Some(t) => session.block(t.query_arrow(&sql, row))?,
                None => session.block(session.driver.query_arrow(&sql, row))?,
            };
            batches.push(result.batch);
        }
        let schema = batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| Arc::new(Schema::empty()));
        Ok(reader(schema, batches))
    }

    fn execute_update(&mut self) -> Result<Option<i64>> {
        if self.ingest.table.is_some() {
            return self.ingest().map(Some);
        }
        let sql = self.sql()?.to_string();
        let rows = self.param_rows()?;
        let session = self.session.clone();
        let mut tx = session.engine.rt.block_on(session.tx.lock());
        let mut total = 0u64;
        for row in &rows {
            total += match tx.as_mut() {
                Some(t) => session.block(t.execute(&sql, row))?,
                None => session.block(session.driver.execute(&sql, row))?,
            };
        }
        Ok(Some(total as i64))
    }

    fn execute_schema(&mut self) -> Result<Schema> {
        let sql = self.sql()?.to_string();
        let session = self.session.clone();
        let prepared = session.block(session.driver.prepare(&sql))?;
        let schema = driverbox::arrow::schema(&prepared.columns);
        session.block(session.driver.deallocate(prepared.id))?;
        Ok(schema.as_ref().clone())
    }

    fn execute_partitions(&mut self) -> Result<PartitionedResult> {
        Err(invalid(
            Status::NotImplemented,
            "driverbox: partitioned results are not supported",
        ))
    }

    fn get_parameter_schema(&self) -> Result<Schema> {
        let prepared = self
            .prepared
            .as_ref()
            .ok_or_else(|| invalid(Status::InvalidState, "driverbox: GetParameterSchema before Prepare"))?;
        // The driver names each parameter's database type; Arrow's type is
        // left as null (unknown), as ADBC allows.
        let fields: Vec<arrow_schema::Field> = prepared
            .param_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                arrow_schema::Field::new(i.to_string(), DataType::Null, true).with_metadata(
                    std::collections::HashMap::from([("driverbox.database_type".to_string(), t.clone())]),
                )
            })
            .collect();
        Ok(Schema::new(fields))
    }

    fn prepare(&mut self) -> Result<()> {
        let sql = self.sql()?.to_string();
        let session = self.session.clone();
        let prepared = session.block(session.driver.prepare(&sql))?;
        session.block(session.driver.deallocate(prepared.id))?;
        self.prepared = Some(prepared);
        Ok(())
    }

    fn set_sql_query(&mut self, query: impl AsRef<str>) -> Result<()> {
        // A new statement: what was bound for the previous one (or for an
        // ingest) does not carry over.
        self.sql = Some(query.as_ref().to_string());
        self.ingest.table = None;
        self.prepared = None;
        self.params.clear();
        Ok(())
    }

    fn set_substrait_plan(&mut self, _plan: impl AsRef<[u8]>) -> Result<()> {
        Err(invalid(
            Status::NotImplemented,
            "driverbox: Substrait plans are not supported",
        ))
    }

    fn get_cancel_handle(&self) -> Box<dyn CancelHandle> {
        crate::connection::cancel_handle(&self.session)
    }
}
