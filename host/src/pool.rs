//! The connection pool: driver instances, each holding one connection.
//! A broken instance (trap, time-out, failed socket) is dropped, never
//! reused. Figures follow OpenTelemetry's `db.client.connection.*`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};
use crate::runtime::Instance;

/// Pool settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    /// Most connections open at once (`db.client.connection.max`).
    pub max_size: usize,
    /// How long `acquire` waits for a free connection.
    pub acquire_timeout: Duration,
    /// Idle connections older than this are closed instead of reused.
    pub idle_timeout: Option<Duration>,
    /// Connections older than this are closed when returned.
    pub max_lifetime: Option<Duration>,
    /// A transaction unused for this long is rolled back and its
    /// connection returned to the pool.
    pub transaction_idle_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig {
            max_size: 10,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            transaction_idle_timeout: Duration::from_secs(300),
        }
    }
}

/// A snapshot of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PoolStatus {
    /// `db.client.connection.max`.
    pub max: usize,
    /// Open connections, idle + used (`db.client.connection.count`).
    pub size: usize,
    /// `db.client.connection.count{state=idle}`.
    pub idle: usize,
    /// `db.client.connection.count{state=used}`.
    pub used: usize,
    /// Tasks waiting for a connection (`db.client.connection.pending_requests`).
    pub pending: usize,
    /// Connections discarded as broken since the pool started.
    pub discarded: usize,
    /// Connections closed because their driver was swapped out.
    pub retired: usize,
}

type Opener = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Instance>> + Send>> + Send + Sync>;
/// Whether a connection belongs to a driver that has been swapped out.
type Stale = Box<dyn Fn(&Instance) -> bool + Send + Sync>;

struct Idle {
    conn: Instance,
    since: Instant,
}

pub(crate) struct PoolInner {
    config: PoolConfig,
    driver: Arc<str>,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
    used: AtomicUsize,
    pending: AtomicUsize,
    discarded: AtomicUsize,
    retired: AtomicUsize,
    open: Opener,
    stale: Stale,
}

/// A pool of driver instances. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<PoolInner>,
}

/// A connection checked out of the pool; returns itself on drop.
pub(crate) struct Pooled {
    conn: Option<Instance>,
    pool: Arc<PoolInner>,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    /// A pool whose connections `open` creates.
    pub(crate) fn new(driver: Arc<str>, config: PoolConfig, open: Opener, stale: Stale) -> Pool {
        Pool {
            inner: Arc::new(PoolInner {
                permits: Arc::new(Semaphore::new(config.max_size.max(1))),
                config,
                driver,
                idle: Mutex::new(Vec::new()),
                used: AtomicUsize::new(0),
                pending: AtomicUsize::new(0),
                discarded: AtomicUsize::new(0),
                retired: AtomicUsize::new(0),
                open,
                stale,
            }),
        }
    }

    /// A connection: an idle one, else a new one, waiting up to the acquire time-out.
    pub(crate) async fn acquire(&self) -> Result<Pooled> {
        let inner = &self.inner;
        let permit = match inner.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // No free slot: wait, under the acquire time-out.
                inner.pending.fetch_add(1, Ordering::Relaxed);
                let waited =
                    tokio::time::timeout(inner.config.acquire_timeout, inner.permits.clone().acquire_owned()).await;
                inner.pending.fetch_sub(1, Ordering::Relaxed);
                match waited {
                    Ok(Ok(p)) => p,
                    _ => {
                        return Err(Error::PoolTimeout {
                            driver: inner.driver.clone(),
                            waited: inner.config.acquire_timeout,
                            max: inner.config.max_size,
                        })
                    }
                }
            }
        };
        let reused = {
            let mut idle = inner.idle.lock().expect("pool lock");
            // Connections of a swapped-out driver are all closed now, so
            // the old driver's memory goes as soon as its last call ends.
            let before = idle.len();
            idle.retain(|i| !(inner.stale)(&i.conn));
            inner.retired.fetch_add(before - idle.len(), Ordering::Relaxed);
            let found = loop {
                let Some(mut candidate) = idle.pop() else { break None };
                let expired = inner.config.idle_timeout.is_some_and(|t| candidate.since.elapsed() > t)
                    || inner
                        .config
                        .max_lifetime
                        .is_some_and(|t| candidate.conn.created.elapsed() > t);
                if expired {
                    continue;
                }
                // A server restarted or a backend killed while the
                // connection was idle: a new connection instead of an error.
                if candidate.conn.peer_gone() {
                    inner.discarded.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        driver = &*inner.driver,
                        "discarding an idle connection the server closed"
                    );
                    continue;
                }
                break Some(candidate.conn);
            };
            // Counted as used before the lock is released: `status` reads
            // both counts under it, so a connection moving from idle to
            // used is never counted twice (the long soak saw 9 of 8).
            inner.used.fetch_add(1, Ordering::Relaxed);
            found
        };
        let conn = match reused {
            Some(c) => c,
            None => match (inner.open)().await {
                Ok(c) => c,
                Err(e) => {
                    inner.used.fetch_sub(1, Ordering::Relaxed);
                    return Err(e);
                }
            },
        };
        Ok(Pooled {
            conn: Some(conn),
            pool: inner.clone(),
            _permit: permit,
        })
    }

    /// Current figures.
    pub(crate) fn status(&self) -> PoolStatus {
        // Both counts under the lock that moves connections between them.
        let (idle, used) = {
            let idle = self.inner.idle.lock().expect("pool lock");
            (idle.len(), self.inner.used.load(Ordering::Relaxed))
        };
        PoolStatus {
            max: self.inner.config.max_size,
            size: idle + used,
            idle,
            used,
            pending: self.inner.pending.load(Ordering::Relaxed),
            discarded: self.inner.discarded.load(Ordering::Relaxed),
            retired: self.inner.retired.load(Ordering::Relaxed),
        }
    }

    /// Drops every idle connection.
    pub(crate) fn close_idle(&self) -> Vec<Instance> {
        std::mem::take(&mut *self.inner.idle.lock().expect("pool lock"))
            .into_iter()
            .map(|i| i.conn)
            .collect()
    }

    /// The pool settings.
    pub(crate) fn config(&self) -> &PoolConfig {
        &self.inner.config
    }
}

impl std::ops::Deref for Pooled {
    type Target = Instance;
    fn deref(&self) -> &Instance {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Instance {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Pooled {
    /// Drops the connection instead of returning it (e.g. its session state is unknown).
    pub(crate) fn discard(mut self) {
        if self.conn.take().is_some() {
            self.pool.discarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            self.pool.used.fetch_sub(1, Ordering::Relaxed);
            return;
        };
        let too_old = self
            .pool
            .config
            .max_lifetime
            .is_some_and(|t| conn.created.elapsed() > t);
        if conn.is_broken() {
            self.pool.discarded.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(driver = &*self.pool.driver, "discarding a broken connection");
        } else if (self.pool.stale)(&conn) {
            self.pool.retired.fetch_add(1, Ordering::Relaxed);
        } else if !too_old {
            let mut idle = self.pool.idle.lock().expect("pool lock");
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
            // From used to idle under the lock (see `status`).
            self.pool.used.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        self.pool.used.fetch_sub(1, Ordering::Relaxed);
    }
}
