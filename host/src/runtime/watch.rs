//! A drivers directory watched for changes: every `*.wasm` in it is
//! loaded at start, and a new or changed file is validated and swapped in
//! (a file that fails validation replaces nothing). A removed file unloads
//! its driver.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::Runtime;
use crate::error::{Error, Result};

/// Changes closer together than this are handled as one (editors and
/// copies write a file in several steps).
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Keeps the watch alive; dropping it stops watching.
pub struct DriverWatcher {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DriverWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn is_component(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm")
}

impl Runtime {
    /// Loads every driver in `dir` and keeps watching it. Load failures
    /// at start are reported as [`super::DriverEvent::Failed`] and skipped.
    pub async fn watch_dir(&self, dir: &Path) -> Result<DriverWatcher> {
        let dir = dir
            .canonicalize()
            .map_err(|e| Error::Config(format!("drivers directory {}: {e}", dir.display())))?;
        // File → content hash of the last attempt, and the driver it loaded.
        let mut seen: HashMap<PathBuf, String> = HashMap::new();
        let mut loaded: HashMap<PathBuf, String> = HashMap::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::Config(format!("drivers directory {}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_component(p))
            .collect();
        entries.sort();
        for path in entries {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            seen.insert(path.clone(), super::cache::content_hash(&bytes));
            if let Ok(info) = self.load_driver(&bytes, &path.display().to_string()).await {
                loaded.insert(path, info.name);
            }
        }

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                for path in event.paths {
                    let _ = tx.send(path);
                }
            }
        })
        .map_err(|e| Error::Config(format!("cannot watch {}: {e}", dir.display())))?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| Error::Config(format!("cannot watch {}: {e}", dir.display())))?;

        let rt = self.clone();
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut changed = HashSet::from([first]);
                while let Ok(Some(p)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    changed.insert(p);
                }
                for path in changed.into_iter().filter(|p| is_component(p)) {
                    match tokio::fs::read(&path).await {
                        Ok(bytes) => {
                            let hash = super::cache::content_hash(&bytes);
                            if seen.get(&path) == Some(&hash) {
                                continue; // tried already
                            }
                            seen.insert(path.clone(), hash);
                            if let Ok(info) = rt.load_driver(&bytes, &path.display().to_string()).await {
                                loaded.insert(path, info.name);
                            }
                        }
                        Err(_) => {
                            seen.remove(&path);
                            if let Some(name) = loaded.remove(&path) {
                                let _ = rt.unload(&name).await;
                            }
                        }
                    }
                }
            }
        });
        Ok(DriverWatcher {
            _watcher: watcher,
            task,
        })
    }
}
