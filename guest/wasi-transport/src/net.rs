//! TCP over `wasi:sockets`: name lookup, connect and stream I/O, each
//! bounded by a time-out (a `wasi:clocks` timer polled beside the socket).

use wasi::clocks::monotonic_clock;
use wasi::io::poll::{poll, Pollable};
use wasi::io::streams::{InputStream, OutputStream, StreamError};
use wasi::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, Network,
};
use wasi::sockets::tcp::TcpSocket;
use wasi::sockets::{instance_network, ip_name_lookup, tcp_create_socket};

use crate::error::AdapterError;

/// Largest single read handed to a driver (as driverbox's host).
pub const MAX_READ: usize = 1 << 20;

/// The monotonic instant `secs` seconds from now.
pub fn deadline_in(secs: u64) -> u64 {
    monotonic_clock::now().saturating_add(secs.saturating_mul(1_000_000_000))
}

/// Waits until `p` is ready or `deadline` passes; `false` on time-out.
fn wait(p: &Pollable, deadline: u64) -> bool {
    let timer = monotonic_clock::subscribe_instant(deadline);
    let ready = poll(&[p, &timer]);
    ready.contains(&0)
}

fn code(e: ErrorCode) -> String {
    format!("{e:?}")
}

/// An IP literal (`127.0.0.1`, `::1`, `[::1]`) as a WASI address.
fn ip_literal(host: &str) -> Option<IpAddress> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match bare.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            Some(IpAddress::Ipv4((a, b, c, d)))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(IpAddress::Ipv6((s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])))
        }
    }
}

/// The addresses of `host`, in the resolver's order.
fn resolve(network: &Network, host: &str, deadline: u64, seconds: u64) -> Result<Vec<IpAddress>, AdapterError> {
    if let Some(ip) = ip_literal(host) {
        return Ok(vec![ip]);
    }
    let failed = |why: String| AdapterError::Resolve {
        host: host.to_string(),
        why,
    };
    let stream = ip_name_lookup::resolve_addresses(network, host).map_err(|e| failed(code(e)))?;
    let mut out = Vec::new();
    let mut ready: Option<Pollable> = None;
    loop {
        match stream.resolve_next_address() {
            Ok(Some(addr)) => out.push(addr),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => {
                let p = ready.get_or_insert_with(|| stream.subscribe());
                if !wait(p, deadline) {
                    return Err(AdapterError::Timeout {
                        what: "name lookup",
                        seconds,
                    });
                }
            }
            Err(e) => return Err(failed(code(e))),
        }
    }
    drop(ready);
    if out.is_empty() {
        return Err(failed("no address".into()));
    }
    Ok(out)
}

/// A connected TCP socket. Field order is drop order: the streams are
/// children of the socket and go first.
pub struct Tcp {
    input: InputStream,
    output: OutputStream,
    _socket: TcpSocket,
    /// Seconds one read or write may wait.
    pub timeout_secs: u64,
}

impl Tcp {
    /// Resolves `host` and connects to the first address that answers,
    /// all within `connect_secs`.
    pub fn connect(host: &str, port: u16, connect_secs: u64, io_secs: u64) -> Result<Tcp, AdapterError> {
        let deadline = deadline_in(connect_secs);
        let network = instance_network::instance_network();
        let addrs = resolve(&network, host, deadline, connect_secs)?;
        let mut last = String::new();
        for ip in addrs {
            let (family, addr) = match ip {
                IpAddress::Ipv4(address) => (
                    IpAddressFamily::Ipv4,
                    IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
                ),
                IpAddress::Ipv6(address) => (
                    IpAddressFamily::Ipv6,
                    IpSocketAddress::Ipv6(Ipv6SocketAddress {
                        port,
                        flow_info: 0,
                        address,
                        scope_id: 0,
                    }),
                ),
            };
            let socket = tcp_create_socket::create_tcp_socket(family).map_err(|e| AdapterError::Connect {
                host: host.to_string(),
                port,
                why: format!("cannot create a socket: {}", code(e)),
            })?;
            match socket.start_connect(&network, addr) {
                Ok(()) => {}
                Err(ErrorCode::AccessDenied) => {
                    return Err(AdapterError::Refused {
                        host: host.to_string(),
                        port,
                        why: "access denied".into(),
                    })
                }
                Err(e) => {
                    last = code(e);
                    continue;
                }
            }
            let ready = socket.subscribe();
            let outcome = loop {
                match socket.finish_connect() {
                    Ok(streams) => break Ok(streams),
                    Err(ErrorCode::WouldBlock) => {
                        if !wait(&ready, deadline) {
                            break Err(AdapterError::Timeout {
                                what: "connecting",
                                seconds: connect_secs,
                            });
                        }
                    }
                    Err(ErrorCode::AccessDenied) => {
                        break Err(AdapterError::Refused {
                            host: host.to_string(),
                            port,
                            why: "access denied".into(),
                        })
                    }
                    Err(e) => {
                        last = code(e);
                        break Err(AdapterError::Closed);
                    }
                }
            };
            drop(ready);
            match outcome {
                Ok((input, output)) => {
                    return Ok(Tcp {
                        input,
                        output,
                        _socket: socket,
                        timeout_secs: io_secs,
                    })
                }
                Err(AdapterError::Closed) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AdapterError::Connect {
            host: host.to_string(),
            port,
            why: last,
        })
    }

    /// Up to `max` bytes, waiting until at least one is there; empty when
    /// the peer closed the connection.
    pub fn read_some(&mut self, max: usize) -> Result<Vec<u8>, AdapterError> {
        let deadline = deadline_in(self.timeout_secs);
        let mut ready: Option<Pollable> = None;
        loop {
            match self.input.read(max.clamp(1, MAX_READ) as u64) {
                Ok(bytes) if !bytes.is_empty() => return Ok(bytes),
                Ok(_) => {
                    let p = ready.get_or_insert_with(|| self.input.subscribe());
                    if !wait(p, deadline) {
                        return Err(AdapterError::Timeout {
                            what: "read",
                            seconds: self.timeout_secs,
                        });
                    }
                }
                Err(StreamError::Closed) => return Ok(Vec::new()),
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(AdapterError::Io {
                        op: "read",
                        why: e.to_debug_string(),
                    })
                }
            }
        }
    }

    /// Writes all of `data` and waits until it is flushed.
    pub fn write_all(&mut self, mut data: &[u8]) -> Result<(), AdapterError> {
        let deadline = deadline_in(self.timeout_secs);
        let ready = self.output.subscribe();
        let failed = |e: StreamError| AdapterError::Io {
            op: "write",
            why: match e {
                StreamError::Closed => "connection closed".into(),
                StreamError::LastOperationFailed(e) => e.to_debug_string(),
            },
        };
        let seconds = self.timeout_secs;
        let timed_out = || AdapterError::Timeout { what: "write", seconds };
        while !data.is_empty() {
            let room = self.output.check_write().map_err(failed)? as usize;
            if room == 0 {
                if !wait(&ready, deadline) {
                    return Err(timed_out());
                }
                continue;
            }
            let n = room.min(data.len());
            self.output.write(&data[..n]).map_err(failed)?;
            data = &data[n..];
        }
        self.output.flush().map_err(failed)?;
        loop {
            if self.output.check_write().map_err(failed)? > 0 {
                return Ok(());
            }
            if !wait(&ready, deadline) {
                return Err(timed_out());
            }
        }
    }
}

/// `std::io` over [`Tcp`], for rustls; the adapter's error travels inside.
impl std::io::Read for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let bytes = self.read_some(buf.len()).map_err(into_io)?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }
}

impl std::io::Write for Tcp {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map_err(into_io)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn into_io(e: AdapterError) -> std::io::Error {
    let kind = match e {
        AdapterError::Timeout { .. } => std::io::ErrorKind::TimedOut,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, e)
}

/// The adapter's error inside an `io::Error` from [`Tcp`], if it is one.
pub fn from_io(e: &std::io::Error) -> Option<AdapterError> {
    e.get_ref()?.downcast_ref::<AdapterError>().cloned()
}
