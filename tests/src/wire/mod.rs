//! Misbehaving peers on 127.0.0.1 for the reliability suite: scriptable
//! fake PostgreSQL, MySQL, MongoDB servers and DynamoDB endpoints
//! ([`fake_pg`], [`fake_mysql`], [`fake_mongo`], [`fake_dynamo`]) and a
//! TCP fault proxy in front of a real server ([`proxy`]). All run
//! in-process on the test's runtime.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub mod fake_dynamo;
pub mod fake_mongo;
pub mod fake_mysql;
pub mod fake_pg;
pub mod proxy;

/// What a fake server sends instead of a good answer, from the request
/// its script names (requests of a connection count from 0).
#[derive(Clone, Debug)]
pub enum Action {
    /// Sends these bytes, then goes on serving.
    Reply(Vec<u8>),
    /// Sends these bytes, then closes the connection.
    ReplyThenClose(Vec<u8>),
    /// Sends these bytes, then never answers again (keeps the socket open).
    ReplyThenHang(Vec<u8>),
    /// Sends these bytes again and again, forever.
    Forever(Vec<u8>),
    /// Sends the first bytes once, then the second again and again (MySQL:
    /// a run of packets whose sequence ids go round).
    ReplyThenForever(Vec<u8>, Vec<u8>),
    /// Answers this request and every later one with these bytes.
    Always(Vec<u8>),
    /// Answers this request and the next `count - 1` with these bytes,
    /// then behaves.
    Times(usize, Vec<u8>),
}

impl Action {
    /// Whether this action, scripted for request `at`, answers request `n`.
    pub fn answers(&self, at: usize, n: usize) -> bool {
        match self {
            Action::Always(_) => n >= at,
            Action::Times(count, _) => n >= at && n < at + count,
            _ => n == at,
        }
    }

    /// Sends this action's bytes for one request, each piece passed through
    /// `frame` first (MongoDB addresses its replies to the request's id);
    /// `Ok(false)` when the connection is to be closed.
    pub async fn perform(&self, socket: &mut TcpStream, frame: impl Fn(&[u8]) -> Vec<u8>) -> std::io::Result<bool> {
        match self {
            Action::Reply(b) | Action::Always(b) | Action::Times(_, b) => socket.write_all(&frame(b)).await?,
            Action::ReplyThenClose(b) => {
                socket.write_all(&frame(b)).await?;
                return Ok(false);
            }
            Action::ReplyThenHang(b) => {
                socket.write_all(&frame(b)).await?;
                hang().await?;
            }
            Action::Forever(b) => {
                let b = frame(b);
                loop {
                    socket.write_all(&b).await?;
                }
            }
            Action::ReplyThenForever(head, b) => {
                socket.write_all(&frame(head)).await?;
                let b = frame(b);
                loop {
                    socket.write_all(&b).await?;
                }
            }
        }
        Ok(true)
    }
}

/// Never answers (an hour, longer than any test's deadline).
pub async fn hang() -> std::io::Result<()> {
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    Ok(())
}

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
