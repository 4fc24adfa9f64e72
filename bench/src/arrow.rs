//! W3 into Apache Arrow: driverbox's `stream_arrow` beside the ADBC
//! PostgreSQL driver (`libadbc_driver_postgresql.so` from the
//! `adbc-driver-postgresql` wheel), loaded through the ADBC driver manager.
//!
//! Both sides produce `RecordBatch`es of the whole scan table; each batch is
//! touched once (rows and buffer sizes summed) so nothing is left lazy.

use std::path::{Path, PathBuf};
use std::time::Instant;

use adbc_core::options::{AdbcVersion, OptionDatabase, OptionValue};
use adbc_core::{Connection as _, Database as _, Driver as _, Statement as _};
use adbc_driver_manager::ManagedDriver;
use anyhow::{Context, Result};
use driverbox::arrow_array::RecordBatch;
use driverbox::{PoolConfig, StreamingDriver};
use futures::StreamExt;

use crate::results::{Better, Results};
use crate::{order, Ctx};

/// Rows per batch asked of driverbox here: Arrow consumers want large
/// batches, and the ADBC PostgreSQL driver fills ~16 MB batches.
pub const ARROW_BATCH: u32 = 65_536;

/// Where `scripts/setup.sh tests` puts the official driver, if anywhere.
pub fn default_adbc_postgresql() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-adbc/lib");
    std::fs::read_dir(&root).ok()?.flatten().find_map(|d| {
        let lib = d
            .path()
            .join("site-packages/adbc_driver_postgresql/libadbc_driver_postgresql.so");
        lib.is_file().then_some(lib)
    })
}

fn touch(b: &RecordBatch) -> u64 {
    let bytes: usize = b.columns().iter().map(|c| c.get_array_memory_size()).sum();
    std::hint::black_box(bytes as u64 + b.num_rows() as u64);
    b.num_rows() as u64
}

/// The ADBC PostgreSQL driver's URI: libpq's form, without our `sslmode`
/// spelling differences (both accept `sslmode=disable`).
fn libpq_uri(url: &str) -> String {
    url.replacen("postgres://", "postgresql://", 1)
}

pub async fn w3_arrow(ctx: &Ctx, res: &mut Results, adbc_lib: Option<&Path>) -> Result<()> {
    const W: &str = "W3 scan into Arrow";
    let rows = ctx.sizes.scan_rows;
    let sql = format!(
        "select id, big, amount, label, ts, flag, uid, doc, blob from {}",
        ctx.tables.scan
    );
    let big_rt = crate::pg::big_result_runtime()?;
    let db = big_rt
        .connect_with(
            &ctx.pg_url,
            PoolConfig {
                max_size: 1,
                ..Default::default()
            },
        )
        .await?;
    let mut adbc = match adbc_lib {
        Some(lib) => {
            let mut driver = ManagedDriver::load_dynamic_from_filename(lib, None, AdbcVersion::V110)
                .with_context(|| format!("loading {}", lib.display()))?;
            let database =
                driver.new_database_with_opts([(OptionDatabase::Uri, OptionValue::String(libpq_uri(&ctx.pg_url)))])?;
            Some(database.new_connection()?)
        }
        None => {
            res.skip(format!(
                "{W}: adbc-postgresql: libadbc_driver_postgresql.so not found (run `scripts/setup.sh tests` or pass --adbc-postgresql)"
            ));
            None
        }
    };
    let names = ["driverbox arrow", "adbc-postgresql"];
    for round in 0..=ctx.rounds {
        for c in order(round, &names) {
            let t0 = Instant::now();
            let mut count = 0u64;
            match c {
                0 => {
                    let mut s = db.stream_arrow(&sql, &[], ARROW_BATCH).await?;
                    while let Some(b) = s.next().await {
                        count += touch(&b?);
                    }
                }
                _ => {
                    let Some(conn) = adbc.as_mut() else { continue };
                    let mut stmt = conn.new_statement()?;
                    stmt.set_sql_query(&sql)?;
                    for b in stmt.execute()? {
                        count += touch(&b?);
                    }
                }
            }
            let secs = t0.elapsed().as_secs_f64();
            anyhow::ensure!(count == rows, "{}: {count} rows, expected {rows}", names[c]);
            if round > 0 {
                res.record(
                    W,
                    "rows per second",
                    "rows/s",
                    Better::Higher,
                    names[c],
                    rows as f64 / secs,
                );
            }
        }
    }
    Ok(())
}
