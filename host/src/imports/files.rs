//! What a file-database driver (SQLite) may touch: a WASI preopen of its
//! database's own directory, read-only for `mode=ro`, and nothing else.
//!
//! SQLite under WASI has no file locks, so the host locks the database
//! file (`flock`) for each open connection: one writer, or any number of
//! `mode=ro` readers, per file across every pool and process of driverbox.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::config::ConnectOptions;
use crate::error::{Error, Result};

/// Where the sandbox sees the database's directory.
const SANDBOX_DIR: &str = "/db";

/// A file database's place in the sandbox.
#[derive(Debug, Clone)]
pub struct FileSandbox {
    /// The directory on the host, preopened.
    dir: PathBuf,
    /// The database file on the host.
    file: PathBuf,
    /// The path the driver sees.
    pub inside: String,
    read_only: bool,
    create: bool,
}

impl FileSandbox {
    /// The sandbox for `options`, when they name a database file.
    pub fn for_options(options: &ConnectOptions) -> Result<Option<FileSandbox>> {
        let Some(path) = &options.path else { return Ok(None) };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::Config(format!("{}: not a file name", path.display())))?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = parent
            .canonicalize()
            .map_err(|e| Error::Config(format!("database directory {} cannot be opened: {e}", parent.display())))?;
        if !dir.is_dir() {
            return Err(Error::Config(format!("{} is not a directory", dir.display())));
        }
        let mode = options.file_mode.as_deref().unwrap_or("rwc");
        Ok(Some(FileSandbox {
            file: dir.join(name),
            inside: format!("{SANDBOX_DIR}/{name}"),
            dir,
            read_only: mode == "ro",
            create: mode == "rwc",
        }))
    }

    /// WASI settings giving the driver this directory only.
    pub fn wasi(&self) -> Result<WasiCtxBuilder> {
        let mut wasi = WasiCtxBuilder::new();
        // File I/O runs on the thread that runs the driver, as SQLite does
        // natively, not on tokio's blocking pool (a hop per read or write).
        wasi.allow_blocking_current_thread(true);
        let perms = if self.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        wasi.preopened_dir(&self.dir, SANDBOX_DIR, perms)
            .map_err(|e| Error::Config(format!("cannot open {}: {e:#}", self.dir.display())))?;
        Ok(wasi)
    }

    /// Locks the database file for one connection (shared for `ro`). A
    /// missing file is left to the driver to report (or create, for `rwc`:
    /// an empty file is an empty database).
    pub fn lock(&self, driver: &std::sync::Arc<str>) -> Result<Option<File>> {
        let file = OpenOptions::new()
            .read(true)
            .write(!self.read_only)
            .create(self.create)
            .truncate(false)
            .open(&self.file);
        let Ok(file) = file else { return Ok(None) };
        let locked = if self.read_only {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match locked {
            Ok(()) => Ok(Some(file)),
            Err(TryLockError::WouldBlock) => Err(Error::client(
                driver,
                crate::ErrorKind::TransactionConflict,
                format!(
                    "database {} is in use by another connection (driverbox opens one writer per SQLite file; \
                     close the other pool or use mode=ro)",
                    self.file.display()
                ),
            )),
            Err(TryLockError::Error(e)) => {
                tracing::warn!(file = %self.file.display(), "cannot lock the database file: {e}");
                Ok(None)
            }
        }
    }
}
