//! `driverbox export URL SQL`: a query's rows as CSV or JSON, streamed.
//!
//! Rows are fetched in batches with `StreamingDriver::stream_query` and
//! written as they arrive (the JSON array too), so memory stays flat however
//! many rows there are. A driver without streaming falls back to `query`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use driverbox::{Capability, Column, DriverCapabilities, Error, QueryDriver, Runtime, StreamingDriver, Value};
use futures::StreamExt;

use super::output::unique_names;
use super::{connect, exit_code, fail, report_in};

/// Arguments of `driverbox export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Connection URL.
    pub url: String,
    /// The query.
    pub sql: String,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows fetched per round trip.
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
}

/// Writes rows as they come: CSV with a header, or a JSON array of objects.
pub struct RowWriter<W: Write> {
    inner: Inner<W>,
    rows: u64,
}

enum Inner<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Json { out: W, names: Vec<String> },
}

impl<W: Write> RowWriter<W> {
    /// Starts the output: the CSV header, or the JSON array's `[`.
    pub fn begin(mut out: W, format: ExportFormat, columns: &[Column]) -> std::io::Result<Self> {
        let inner = match format {
            ExportFormat::Csv => {
                let mut w = Box::new(csv::Writer::from_writer(out));
                w.write_record(columns.iter().map(|c| c.name.as_str()))?;
                Inner::Csv(w)
            }
            ExportFormat::Json => {
                out.write_all(b"[")?;
                Inner::Json {
                    out,
                    names: unique_names(columns),
                }
            }
        };
        Ok(RowWriter { inner, rows: 0 })
    }

    /// Writes a batch of rows and flushes them.
    pub fn write_rows(&mut self, rows: &[Vec<Value>]) -> std::io::Result<()> {
        match &mut self.inner {
            Inner::Csv(w) => {
                for row in rows {
                    w.write_record(row.iter().map(|v| v.to_string()))?;
                }
                w.flush()?;
            }
            Inner::Json { out, names } => {
                for (i, row) in rows.iter().enumerate() {
                    out.write_all(if self.rows == 0 && i == 0 { b"\n" } else { b",\n" })?;
                    let object: serde_json::Map<String, serde_json::Value> =
                        names.iter().cloned().zip(row.iter().map(Value::to_json)).collect();
                    serde_json::to_writer(&mut *out, &object)?;
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
            Inner::Csv(w) => w.into_inner().map_err(|e| e.into_error()),
            Inner::Json { mut out, .. } => {
                out.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
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
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Db(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Runs `driverbox export`.
pub async fn run(rt: &Runtime, args: &ExportArgs) -> Result<ExitCode, Error> {
    let out: Box<dyn Write> = match &args.output {
        None => Box::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())),
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::with_capacity(1 << 16, f)),
            Err(e) => return Ok(fail(format!("{}: {e}", path.display()))),
        },
    };
    let db = connect(rt, &args.url).await?;
    let start = Instant::now();
    let result = export(&db, args, out).await;
    driverbox::ConnectionDriver::close(&db).await;
    match result {
        Ok(rows) => {
            if let Some(path) = &args.output {
                eprintln!(
                    "exported {rows} rows to {} in {:.2} s",
                    path.display(),
                    start.elapsed().as_secs_f64()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        // A closed pipe (`| head`) is not an error.
        Err(Failure::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(Failure::Io(e)) => Ok(fail(format!("writing output: {e}"))),
        Err(Failure::Db(e)) => {
            report_in(&e, Some(&args.sql), "");
            Ok(ExitCode::from(exit_code(&e)))
        }
    }
}

/// Streams the rows into `out`; gives the number of rows.
async fn export(db: &driverbox::WasmDriver, args: &ExportArgs, out: Box<dyn Write>) -> Result<u64, Failure> {
    if !db.has_capability(Capability::Streaming) {
        let result = db.query(&args.sql, &[]).await?;
        let mut w = RowWriter::begin(out, args.format, &result.columns)?;
        w.write_rows(&result.rows)?;
        let rows = w.rows();
        w.finish()?;
        return Ok(rows);
    }
    let mut stream = db.stream_query(&args.sql, &[], args.batch_size).await?;
    let mut w = RowWriter::begin(out, args.format, stream.columns())?;
    while let Some(batch) = stream.next().await {
        w.write_rows(&batch?)?;
    }
    let rows = w.rows();
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

    fn write(format: ExportFormat, batches: &[Vec<Vec<Value>>]) -> String {
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
        assert_eq!(write(ExportFormat::Csv, &batches), "id,id\n1,\"a,b\"\n2,\n");
        assert_eq!(write(ExportFormat::Csv, &[]), "id,id\n");
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
        let text = write(ExportFormat::Json, &batches);
        assert_eq!(
            text,
            "[\n{\"id\":1,\"id_2\":\"x\"},\n{\"id\":2,\"id_2\":null},\n{\"id\":1.50,\"id_2\":[1]}\n]\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 3);
        assert_eq!(write(ExportFormat::Json, &[]), "[]\n");
    }
}
