//! `driverbox export URL SQL`: a query's rows as CSV, JSON, an Arrow IPC
//! stream or Parquet, streamed.
//!
//! Rows are fetched in batches (`StreamingDriver::stream_query`, or
//! `stream_arrow` for Arrow and Parquet) and written as they arrive (the
//! JSON array too; Parquet in row groups of at most [`PARQUET_ROW_GROUP`]
//! rows), so memory stays flat however many rows there are. A driver
//! without streaming falls back to one `query`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use driverbox::arrow_array::RecordBatch;
use driverbox::{Capability, Column, DriverCapabilities, Error, QueryDriver, Runtime, StreamingDriver, Value};
use futures::StreamExt;

use super::output::{unique_names, write_csv_record, write_csv_row};
use super::{connect, exit_code, fail, report_in};

/// Arguments of `driverbox export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Connection URL.
    pub url: String,
    /// The query; for a document store a collection, or a mongosh
    /// `db.c.find(…)` or `db.c.aggregate([…])`.
    pub sql: String,
    /// Output format [default: csv; for a document store ndjson].
    #[arg(long, short, value_enum)]
    pub format: Option<ExportFormat>,
    /// Document stores, CSV: the columns, as field paths (`a,b.c`); by
    /// default the top-level fields of the first batch.
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    pub fields: Option<Vec<String>>,
    /// Document stores, JSON: canonical Extended JSON instead of relaxed.
    #[arg(long)]
    pub canonical: bool,
    /// Write to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows (documents) fetched per round trip.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
}

/// Output of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// RFC 4180 with a header row; NULL is an empty field.
    Csv,
    /// One array of objects, one object per line.
    Json,
    /// One JSON object per line (document stores: Extended JSON).
    Ndjson,
    /// An Arrow IPC stream (the columns' Arrow types: see `driverbox::arrow`).
    Arrow,
    /// A Parquet file (Snappy-compressed).
    Parquet,
}

/// Rows per Parquet row group: each group is held in memory until written.
pub const PARQUET_ROW_GROUP: usize = 65_536;

/// Where an export writes.
type Out = Box<dyn Write + Send>;

/// The row-by-row formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    Csv,
    Json,
    /// One JSON object per line, no array.
    Ndjson,
}

/// Writes rows as they come: CSV with a header, or a JSON array of objects.
pub struct RowWriter<W: Write> {
    inner: Inner<W>,
    columns: Vec<Column>,
    rows: u64,
}

enum Inner<W: Write> {
    Csv(W),
    Json { out: W, names: Vec<String>, lines: bool },
}

impl<W: Write> RowWriter<W> {
    /// Starts the output: the CSV header, or the JSON array's `[`.
    pub fn begin(mut out: W, format: RowFormat, columns: &[Column]) -> std::io::Result<Self> {
        let inner = match format {
            RowFormat::Csv => {
                write_csv_record(&mut out, columns.iter().map(|c| Some(c.name.as_str())))?;
                Inner::Csv(out)
            }
            RowFormat::Json | RowFormat::Ndjson => {
                let lines = format == RowFormat::Ndjson;
                if !lines {
                    out.write_all(b"[")?;
                }
                Inner::Json {
                    out,
                    names: unique_names(columns),
                    lines,
                }
            }
        };
        Ok(RowWriter {
            inner,
            columns: columns.to_vec(),
            rows: 0,
        })
    }

    /// Writes a batch of rows and flushes them.
    pub fn write_rows(&mut self, rows: &[Vec<Value>]) -> std::io::Result<()> {
        match &mut self.inner {
            Inner::Csv(w) => {
                for row in rows {
                    write_csv_row(w, row, &self.columns)?;
                }
                w.flush()?;
            }
            Inner::Json { out, names, lines } => {
                for (i, row) in rows.iter().enumerate() {
                    if !*lines {
                        out.write_all(if self.rows == 0 && i == 0 { b"\n" } else { b",\n" })?;
                    }
                    let object: serde_json::Map<String, serde_json::Value> = names
                        .iter()
                        .zip(row.iter().zip(&self.columns))
                        .filter_map(|(n, (v, c))| driverbox::json_member(v, c).map(|j| (n.clone(), j)))
                        .collect();
                    serde_json::to_writer(&mut *out, &object)?;
                    if *lines {
                        out.write_all(b"\n")?;
                    }
                }
                out.flush()?;
            }
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Ends the output (the JSON array's `]`), flushes and gives the writer back.
    pub fn finish(self) -> std::io::Result<W> {
        match self.inner {
            Inner::Csv(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Inner::Json { mut out, lines, .. } => {
                if !lines {
                    out.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
                }
                out.flush()?;
                Ok(out)
            }
        }
    }
}

/// Why an export stopped.
enum Failure {
    Db(Error),
    Io(std::io::Error),
    /// Writing Arrow or Parquet failed.
    Format(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Db(e)
    }
}

impl From<super::mongosh::PrintError> for Failure {
    fn from(e: super::mongosh::PrintError) -> Self {
        match e {
            super::mongosh::PrintError::Database(e) => Failure::Db(e),
            super::mongosh::PrintError::Output(e) => Failure::Io(e),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Runs `driverbox export`.
pub async fn run(rt: &Runtime, args: &ExportArgs) -> Result<ExitCode, Error> {
    // A file is written under a temporary name beside it and renamed when
    // complete: a failed export never leaves a file that looks whole.
    let partial = args.output.as_deref().map(partial_name);
    let out: Out = match (&args.output, &partial) {
        (Some(path), Some(tmp)) => match std::fs::File::create(tmp) {
            Ok(f) => Box::new(std::io::BufWriter::with_capacity(1 << 16, f)),
            Err(e) => return Ok(fail(format!("{}: {e}", path.display()))),
        },
        _ => Box::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())),
    };
    let db = match connect(rt, &args.url).await {
        Ok(db) => db,
        Err(e) => {
            if let Some(tmp) = &partial {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(e);
        }
    };
    let start = Instant::now();
    let mut result = export(&db, args, out).await;
    driverbox::ConnectionDriver::close(&db).await;
    if let (Some(path), Some(tmp)) = (&args.output, &partial) {
        if result.is_ok() {
            if let Err(e) = std::fs::rename(tmp, path) {
                result = Err(Failure::Io(e));
            }
        }
        if result.is_err() {
            let _ = std::fs::remove_file(tmp);
            eprintln!("{}: not written (the export failed)", path.display());
        }
    }
    match result {
        Ok(rows) => {
            if let Some(path) = &args.output {
                eprintln!(
                    "exported {rows} {} to {} in {:.2} s",
                    if super::mongosh::is_document_store(&db) {
                        "documents"
                    } else {
                        "rows"
                    },
                    path.display(),
                    start.elapsed().as_secs_f64()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        // A closed pipe (`| head`) is not an error.
        Err(Failure::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(Failure::Io(e)) => Ok(fail(format!("writing output: {e}"))),
        Err(Failure::Format(e)) => Ok(fail(
            format!("writing {:?} output: {e}", args.sql_format()).to_lowercase(),
        )),
        Err(Failure::Db(e)) => {
            report_in(&e, Some(&args.sql), "");
            Ok(ExitCode::from(exit_code(&e)))
        }
    }
}

/// The temporary name an export to `path` is written under: hidden, in
/// the same directory (so the rename is atomic), unique to this process.
fn partial_name(path: &std::path::Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

impl ExportArgs {
    /// The format of a SQL export (CSV unless one is asked for).
    fn sql_format(&self) -> ExportFormat {
        self.format.unwrap_or(ExportFormat::Csv)
    }
}

/// Streams the rows into `out`; gives the number of rows.
async fn export(db: &driverbox::WasmDriver, args: &ExportArgs, mut out: Out) -> Result<u64, Failure> {
    if super::mongosh::is_document_store(db) {
        use super::export_documents::{self as docs, DocumentExport};
        let format = match args.format {
            None | Some(ExportFormat::Ndjson) => DocumentExport::Ndjson,
            Some(ExportFormat::Json) => DocumentExport::Json,
            Some(ExportFormat::Csv) => DocumentExport::Csv,
            Some(other) => {
                return Err(Failure::Db(Error::Client {
                    driver: "export".into(),
                    kind: driverbox::ErrorKind::InvalidInput,
                    message: format!("{other:?} output is not offered for document stores (ndjson, json or csv)")
                        .to_lowercase(),
                }))
            }
        };
        let fields = args.fields.clone();
        return Ok(docs::export(db, &args.sql, format, fields, args.canonical, args.batch_size, &mut out).await?);
    }
    if matches!(args.sql_format(), ExportFormat::Arrow | ExportFormat::Parquet) {
        return export_columnar(db, args, out).await;
    }
    let format = match args.sql_format() {
        ExportFormat::Json => RowFormat::Json,
        ExportFormat::Ndjson => RowFormat::Ndjson,
        _ => RowFormat::Csv,
    };
    if !db.has_capability(Capability::Streaming) {
        let result = db.query(&args.sql, &[]).await?;
        let mut w = RowWriter::begin(out, format, &result.columns)?;
        w.write_rows(&result.rows)?;
        let rows = w.rows();
        w.finish()?;
        return Ok(rows);
    }
    let mut stream = db.stream_query(&args.sql, &[], args.batch_size).await?;
    let mut w = RowWriter::begin(out, format, stream.columns())?;
    while let Some(batch) = stream.next().await {
        w.write_rows(&batch?)?;
    }
    let rows = w.rows();
    w.finish()?;
    Ok(rows)
}

/// Writes record batches as an Arrow IPC stream or Parquet.
enum BatchWriter {
    Arrow(arrow_ipc::writer::StreamWriter<Out>),
    Parquet(parquet::arrow::ArrowWriter<Out>),
}

impl BatchWriter {
    fn begin(format: ExportFormat, out: Out, schema: &driverbox::arrow_schema::Schema) -> Result<Self, Failure> {
        let fail = |e: &dyn std::fmt::Display| Failure::Format(e.to_string());
        Ok(match format {
            ExportFormat::Parquet => {
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP))
                    .build();
                let w = parquet::arrow::ArrowWriter::try_new(out, schema.clone().into(), Some(props))
                    .map_err(|e| fail(&e))?;
                BatchWriter::Parquet(w)
            }
            _ => BatchWriter::Arrow(arrow_ipc::writer::StreamWriter::try_new(out, schema).map_err(|e| fail(&e))?),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        match self {
            BatchWriter::Arrow(w) => w.write(batch).map_err(|e| Failure::Format(e.to_string())),
            BatchWriter::Parquet(w) => w.write(batch).map_err(|e| Failure::Format(e.to_string())),
        }
    }

    fn finish(self) -> Result<(), Failure> {
        match self {
            BatchWriter::Arrow(mut w) => {
                w.finish().map_err(|e| Failure::Format(e.to_string()))?;
                w.into_inner().map_err(|e| Failure::Format(e.to_string()))?.flush()?;
            }
            BatchWriter::Parquet(w) => {
                w.into_inner().map_err(|e| Failure::Format(e.to_string()))?.flush()?;
            }
        }
        Ok(())
    }
}

/// Streams record batches into an Arrow IPC stream or a Parquet file.
async fn export_columnar(db: &driverbox::WasmDriver, args: &ExportArgs, out: Out) -> Result<u64, Failure> {
    let mut rows = 0u64;
    if !db.has_capability(Capability::Streaming) {
        let r = db.query_arrow(&args.sql, &[]).await?;
        let mut w = BatchWriter::begin(args.sql_format(), out, &r.batch.schema())?;
        w.write(&r.batch)?;
        w.finish()?;
        return Ok(r.batch.num_rows() as u64);
    }
    let mut stream = db.stream_arrow(&args.sql, &[], args.batch_size).await?;
    let mut w = BatchWriter::begin(args.sql_format(), out, &stream.schema())?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        w.write(&batch)?;
    }
    w.finish()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox::LogicalType;

    fn columns() -> Vec<Column> {
        vec![
            Column::new("id", LogicalType::Int64, "int8"),
            Column::new("id", LogicalType::Text, "text"),
        ]
    }

    fn write(format: RowFormat, batches: &[Vec<Vec<Value>>]) -> String {
        let mut w = RowWriter::begin(Vec::new(), format, &columns()).unwrap();
        for b in batches {
            w.write_rows(b).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn csv_in_batches() {
        let batches = vec![
            vec![vec![Value::Int(1), Value::Text("a,b".into())]],
            vec![vec![Value::Int(2), Value::Null]],
        ];
        assert_eq!(write(RowFormat::Csv, &batches), "id,id\n1,\"a,b\"\n2,\n");
        assert_eq!(write(RowFormat::Csv, &[]), "id,id\n");
    }

    #[test]
    fn json_array_in_batches() {
        let batches = vec![
            vec![
                vec![Value::Int(1), Value::Text("x".into())],
                vec![Value::Int(2), Value::Null],
            ],
            vec![],
            vec![vec![Value::Decimal("1.50".into()), Value::Json("[1]".into())]],
        ];
        let text = write(RowFormat::Json, &batches);
        assert_eq!(
            text,
            "[\n{\"id\":1,\"id_2\":\"x\"},\n{\"id\":2,\"id_2\":null},\n{\"id\":1.50,\"id_2\":[1]}\n]\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 3);
        assert_eq!(write(RowFormat::Json, &[]), "[]\n");
    }
}
