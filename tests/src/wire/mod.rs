//! Misbehaving peers on 127.0.0.1 for the reliability suite: scriptable
//! fake PostgreSQL, MySQL, MongoDB servers and DynamoDB endpoints
//! ([`fake_pg`], [`fake_mysql`], [`fake_mongo`], [`fake_dynamo`]) and a
//! TCP fault proxy in front of a real server ([`proxy`]). All run
//! in-process on the test's runtime.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub mod fake_dynamo;
pub mod fake_mongo;
pub mod fake_mysql;
pub mod fake_pg;
pub mod proxy;

/// The accept loop of the fake servers: on 127.0.0.1, an ephemeral port,
/// connection number `i` (from 0) served by `serve(socket, i)` on a task of
/// its own. Stops accepting on drop.
pub struct Listener {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Listener {
    /// Binds and starts accepting.
    pub async fn start<F, Fut>(serve: F) -> Listener
    where
        F: Fn(TcpStream, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, n));
            }
        });
        Listener { port, accepted, task }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Resident set size of this process in bytes (Linux), for "memory stays
/// bounded" checks.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
