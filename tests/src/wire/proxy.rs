//! A TCP fault proxy on 127.0.0.1 in front of a real server. It forwards
//! both ways and, once the server has sent `after` bytes to the client,
//! applies its [`Fault`] to the server-to-client direction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What goes wrong on the way from the server to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: a plain relay.
    None,
    /// Both sockets are closed with a TCP reset.
    Reset,
    /// The client's side is shut down for writing (it reads end of stream);
    /// the socket stays open.
    HalfClose,
    /// Nothing more is forwarded either way; the sockets stay open.
    Stall,
    /// Each later chunk is held back this long before it is forwarded.
    Delay(Duration),
    /// Later bytes are forwarded one at a time, each in its own write.
    Trickle,
}

/// Where and how the proxy misbehaves.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Server-to-client bytes forwarded intact before the fault.
    pub after: usize,
    pub fault: Fault,
    /// Only connections with this number (from 0) get the fault; `None`: all.
    pub only_connection: Option<usize>,
}

/// A running proxy; stops on drop.
pub struct Proxy {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Starts a proxy to `upstream` (`host:port`) with `plan`.
    pub async fn start(upstream: &str, plan: Plan) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let upstream = upstream.to_string();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let fault = match plan.only_connection {
                    Some(only) if only != n => Fault::None,
                    _ => plan.fault,
                };
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, plan.after, fault).await;
                    }
                });
            }
        });
        Proxy { port, accepted, task }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn relay(client: TcpStream, server: TcpStream, after: usize, fault: Fault) {
    let _ = client.set_nodelay(true);
    if fault == Fault::Reset {
        #[allow(deprecated)]
        let _ = client.set_linger(Some(Duration::ZERO));
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        let mut buf = vec![0; 16 * 1024];
        loop {
            match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = server_write.shutdown().await;
    });
    let mut sent = 0usize;
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let intact = n.min(after.saturating_sub(sent));
        if intact > 0 && client_write.write_all(&buf[..intact]).await.is_err() {
            break;
        }
        sent += intact;
        let rest = &buf[intact..n];
        if rest.is_empty() && (sent < after || fault == Fault::None) {
            continue;
        }
        match fault {
            Fault::None => {
                if client_write.write_all(rest).await.is_err() {
                    break;
                }
            }
            Fault::Reset => {
                // With linger 0 (set below) the close is a TCP reset.
                upstream.abort();
                let _ = upstream.await;
                drop(client_write);
                return;
            }
            Fault::HalfClose => {
                let _ = client_write.shutdown().await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Fault::Stall => {
                upstream.abort();
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Fault::Delay(d) => {
                tokio::time::sleep(d).await;
                if client_write.write_all(rest).await.is_err() {
                    break;
                }
            }
            Fault::Trickle => {
                for b in rest {
                    if client_write.write_all(std::slice::from_ref(b)).await.is_err() {
                        break;
                    }
                    let _ = client_write.flush().await;
                    tokio::task::yield_now().await;
                }
            }
        }
        sent += rest.len();
    }
    let _ = client_write.shutdown().await;
    let _ = upstream.await;
}
