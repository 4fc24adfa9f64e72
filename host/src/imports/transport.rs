//! The `transport` import: TCP sockets for drivers, with time-outs, TLS by
//! the connection's `sslmode`, and the allow-list checked before any packet.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::client::TlsStream;
use wasmtime::component::Resource;

use super::allowlist::{AllowList, Refusal};
use super::tls::TlsSettings;
use crate::bindings::Conv;
use crate::error::{ErrorKind, GuestError};
use crate::runtime::HostState;

/// Bytes a driver may send in plaintext before upgrading when TLS is
/// required: enough for PostgreSQL's (8) and MySQL's (36) SSL requests,
/// too little for credentials or queries.
const PLAINTEXT_PREAMBLE: usize = 36;

/// Largest single read handed to a driver.
const MAX_READ: usize = 1 << 20;

/// A driver's TCP connection, plain or TLS.
pub struct Socket {
    stream: Option<Stream>,
    server_name: String,
    plaintext_written: usize,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Network state of one driver instance.
#[derive(Debug)]
pub struct Net {
    /// Endpoints this instance may reach.
    pub allow: AllowList,
    /// TLS policy of the connection config.
    pub tls: Arc<TlsSettings>,
    /// Time allowed for TCP connect (and TLS handshake).
    pub connect_timeout: Duration,
    /// Most sockets open at once.
    pub max_sockets: usize,
    open_sockets: usize,
    /// Table handles of the open sockets, to check them while idle.
    sockets: Vec<u32>,
    /// Set when a socket failed: the instance must not be reused.
    pub broken: bool,
    /// The name server of the `dns` import; `None`: `DRIVERBOX_DNS_SERVER`,
    /// else `/etc/resolv.conf`.
    pub dns_server: Option<std::net::SocketAddr>,
}

impl Net {
    /// Network state allowing `allow`, with the given TLS policy.
    pub fn new(allow: AllowList, tls: Arc<TlsSettings>, connect_timeout: Duration, max_sockets: usize) -> Net {
        Net {
            allow,
            tls,
            connect_timeout,
            max_sockets,
            open_sockets: 0,
            sockets: Vec::new(),
            broken: false,
            dns_server: None,
        }
    }
}

type Io<T> = wasmtime::Result<Result<T, GuestError>>;

fn err(kind: ErrorKind, message: impl Into<String>) -> GuestError {
    GuestError::client(kind, message)
}

impl HostState {
    /// An I/O failure: the connection cannot be trusted any more.
    fn io_failed(&mut self, kind: ErrorKind, message: String) -> GuestError {
        self.net.broken = true;
        err(kind, message)
    }

    async fn transport_connect(&mut self, host: String, port: u16, tls_now: bool) -> Io<Resource<Socket>> {
        if self.net.open_sockets >= self.net.max_sockets {
            return Ok(Err(err(
                ErrorKind::Permission,
                format!("too many open sockets (limit {})", self.net.max_sockets),
            )));
        }
        let deadline = (Instant::now() + self.net.connect_timeout).min(self.deadline);
        // An endpoint an SRV answer named: its addresses from the same DNS client.
        let discovered =
            super::dns::discovered_addresses(&self.net.allow, self.net.dns_server, &host, port, deadline).await;
        let resolved = match discovered {
            Some(Ok(addrs)) => Ok(addrs),
            Some(Err(e)) => return Ok(Err(e)),
            None => self.net.allow.resolve(&host, port).await,
        };
        let addrs = match resolved {
            Ok(addrs) => addrs,
            Err(Refusal::Unresolved(why)) => {
                tracing::debug!(driver = &*self.driver, "connect failed: {why}");
                return Ok(Err(err(ErrorKind::Connection, why)));
            }
            Err(Refusal::NotAllowed(why)) => {
                tracing::warn!(driver = &*self.driver, "refused connect: {why}");
                return Ok(Err(err(ErrorKind::Permission, format!("connect refused: {why}"))));
            }
        };
        let tcp = match timeout_at(deadline, TcpStream::connect(&addrs[..])).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                return Ok(Err(err(
                    ErrorKind::Connection,
                    format!("cannot connect to {host}:{port}: {e}"),
                )))
            }
            Err(_) => {
                return Ok(Err(err(
                    ErrorKind::Timeout,
                    format!("connecting to {host}:{port} timed out"),
                )))
            }
        };
        let _ = tcp.set_nodelay(true);
        let stream = if tls_now {
            match timeout_at(deadline, self.net.tls.handshake(tcp, &host)).await {
                Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                Ok(Err(e)) => return Ok(Err(err(ErrorKind::Tls, e))),
                Err(_) => return Ok(Err(err(ErrorKind::Timeout, "TLS handshake timed out"))),
            }
        } else {
            Stream::Plain(tcp)
        };
        let socket = Socket {
            stream: Some(stream),
            server_name: host,
            plaintext_written: 0,
        };
        self.net.open_sockets += 1;
        let handle = self.table.push(socket)?;
        self.net.sockets.push(handle.rep());
        Ok(Ok(handle))
    }

    /// Whether the peer of an idle connection is gone: a socket at end of
    /// stream or failed, or (plaintext) with bytes nobody asked for, such
    /// as a server's FATAL message before it hung up. No byte is consumed
    /// and nothing waits; a pool checks this before handing out an idle
    /// connection.
    pub(crate) fn peer_gone(&mut self) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut byte = [0u8; 1];
        for rep in &self.net.sockets {
            let Ok(socket) = self.table.get(&Resource::<Socket>::new_own(*rep)) else {
                continue;
            };
            let mut buf = tokio::io::ReadBuf::new(&mut byte);
            let gone = match &socket.stream {
                None => true,
                Some(Stream::Plain(tcp)) => tcp.poll_peek(&mut cx, &mut buf).is_ready(),
                // TLS records (a session ticket) may wait unread: only the
                // end of the TCP stream or an error count.
                Some(Stream::Tls(tls)) => match tls.get_ref().0.poll_peek(&mut cx, &mut buf) {
                    std::task::Poll::Ready(Ok(n)) => n == 0,
                    std::task::Poll::Ready(Err(_)) => true,
                    std::task::Poll::Pending => false,
                },
            };
            if gone {
                return true;
            }
        }
        false
    }

    // Reads and writes have no time-out of their own: the call into the
    // driver has one deadline (`Instance::call`), one timer per call.
    async fn socket_read(&mut self, this: Resource<Socket>, max: u32) -> Io<Vec<u8>> {
        let socket = self.table.get_mut(&this)?;
        // `read_buf` fills spare capacity: no zeroing of a buffer per read.
        let mut buf = Vec::with_capacity((max as usize).clamp(1, MAX_READ));
        let read = match socket.stream.as_mut() {
            None => return Ok(Err(err(ErrorKind::Connection, "socket is closed after an error"))),
            Some(Stream::Plain(s)) => s.read_buf(&mut buf).await,
            Some(Stream::Tls(s)) => s.read_buf(&mut buf).await,
        };
        match read {
            Ok(n) => {
                if n == 0 {
                    self.net.broken = true;
                }
                Ok(Ok(buf))
            }
            Err(e) => Ok(Err(self.io_failed(ErrorKind::Connection, format!("read failed: {e}")))),
        }
    }

    async fn socket_write(&mut self, this: Resource<Socket>, data: Vec<u8>) -> Io<()> {
        let tls_required = self.net.tls.required();
        let socket = self.table.get_mut(&this)?;
        let write = match socket.stream.as_mut() {
            None => return Ok(Err(err(ErrorKind::Connection, "socket is closed after an error"))),
            Some(Stream::Plain(s)) => {
                socket.plaintext_written += data.len();
                if tls_required && socket.plaintext_written > PLAINTEXT_PREAMBLE {
                    let message = format!(
                        "sslmode={} requires TLS: refusing to send data in plaintext before the TLS upgrade",
                        self.net.tls.mode.name()
                    );
                    return Ok(Err(self.io_failed(ErrorKind::Permission, message)));
                }
                s.write_all(&data).await
            }
            Some(Stream::Tls(s)) => match s.write_all(&data).await {
                Ok(()) => s.flush().await,
                Err(e) => Err(e),
            },
        };
        match write {
            Ok(()) => Ok(Ok(())),
            Err(e) => Ok(Err(self.io_failed(ErrorKind::Connection, format!("write failed: {e}")))),
        }
    }

    async fn socket_upgrade_tls(&mut self, this: Resource<Socket>) -> Io<()> {
        let deadline = (Instant::now() + self.net.connect_timeout).min(self.deadline);
        let tls = self.net.tls.clone();
        if tls.mode == crate::config::TlsMode::Disable {
            return Ok(Err(err(
                ErrorKind::Permission,
                "TLS is disabled for this connection (sslmode=disable)",
            )));
        }
        let socket = self.table.get_mut(&this)?;
        let tcp = match socket.stream.take() {
            Some(Stream::Plain(tcp)) => tcp,
            Some(tls_stream @ Stream::Tls(_)) => {
                socket.stream = Some(tls_stream);
                return Ok(Err(err(ErrorKind::InvalidInput, "TLS is already active")));
            }
            None => return Ok(Err(err(ErrorKind::Connection, "socket is closed after an error"))),
        };
        let name = socket.server_name.clone();
        match timeout_at(deadline, tls.handshake(tcp, &name)).await {
            Ok(Ok(stream)) => {
                self.table.get_mut(&this)?.stream = Some(Stream::Tls(Box::new(stream)));
                Ok(Ok(()))
            }
            Ok(Err(e)) => Ok(Err(self.io_failed(ErrorKind::Tls, e))),
            Err(_) => Ok(Err(self.io_failed(ErrorKind::Timeout, "TLS handshake timed out".into()))),
        }
    }

    fn socket_is_tls(&mut self, this: &Resource<Socket>) -> wasmtime::Result<bool> {
        Ok(matches!(self.table.get(this)?.stream, Some(Stream::Tls(_))))
    }

    async fn socket_drop(&mut self, this: Resource<Socket>) -> wasmtime::Result<()> {
        let rep = this.rep();
        let socket = self.table.delete(this)?;
        self.net.open_sockets = self.net.open_sockets.saturating_sub(1);
        self.net.sockets.retain(|r| *r != rep);
        match socket.stream {
            Some(Stream::Plain(mut s)) => {
                let _ = s.shutdown().await;
            }
            Some(Stream::Tls(mut s)) => {
                let _ = tokio::time::timeout(Duration::from_millis(100), s.shutdown()).await;
            }
            None => {}
        }
        Ok(())
    }
}

/// The `transport` import of a contract version: the version-neutral
/// functions above, with that version's error type.
macro_rules! transport_for {
    ($v:ident) => {
        impl crate::bindings::$v::transport::Host for HostState {
            async fn connect(
                &mut self,
                host: String,
                port: u16,
                tls_now: bool,
            ) -> wasmtime::Result<Result<Resource<Socket>, crate::bindings::$v::types::Error>> {
                Ok(self
                    .transport_connect(host, port, tls_now)
                    .await?
                    .map_err(Conv::conv))
            }
        }

        impl crate::bindings::$v::transport::HostSocket for HostState {
            async fn read(
                &mut self,
                this: Resource<Socket>,
                max: u32,
            ) -> wasmtime::Result<Result<Vec<u8>, crate::bindings::$v::types::Error>> {
                Ok(self.socket_read(this, max).await?.map_err(Conv::conv))
            }

            async fn write(
                &mut self,
                this: Resource<Socket>,
                data: Vec<u8>,
            ) -> wasmtime::Result<Result<(), crate::bindings::$v::types::Error>> {
                Ok(self.socket_write(this, data).await?.map_err(Conv::conv))
            }

            async fn upgrade_tls(
                &mut self,
                this: Resource<Socket>,
            ) -> wasmtime::Result<Result<(), crate::bindings::$v::types::Error>> {
                Ok(self.socket_upgrade_tls(this).await?.map_err(Conv::conv))
            }

            async fn is_tls(&mut self, this: Resource<Socket>) -> wasmtime::Result<bool> {
                self.socket_is_tls(&this)
            }

            async fn drop(&mut self, this: Resource<Socket>) -> wasmtime::Result<()> {
                self.socket_drop(this).await
            }
        }
    };
}

transport_for!(v0_1);
transport_for!(v0_2);
