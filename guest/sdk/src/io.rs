//! A buffered connection over the host's `transport.socket`.
//!
//! Protocol code parses from [`Stream::buffered`] and asks for more bytes
//! with [`Stream::fill`]; nothing here knows any protocol.

use crate::transport;
use crate::{Error, Result};

const READ_CHUNK: u32 = 64 * 1024;

/// The raw byte pipe under a [`Stream`]: the host's socket in a component,
/// a plain TCP stream in native tests.
pub trait RawSocket {
    /// Up to `max` bytes; empty at end of stream.
    fn read(&mut self, max: u32) -> Result<Vec<u8>>;
    /// All of `data`.
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// Switches to TLS.
    fn upgrade_tls(&mut self) -> Result<()>;
    /// Whether TLS is active.
    fn is_tls(&self) -> bool;
}

impl RawSocket for transport::Socket {
    fn read(&mut self, max: u32) -> Result<Vec<u8>> {
        transport::Socket::read(self, max)
    }
    fn write(&mut self, data: &[u8]) -> Result<()> {
        transport::Socket::write(self, data)
    }
    fn upgrade_tls(&mut self) -> Result<()> {
        transport::Socket::upgrade_tls(self)
    }
    fn is_tls(&self) -> bool {
        transport::Socket::is_tls(self)
    }
}

/// A socket with a read buffer and a write buffer.
pub struct Stream {
    socket: Box<dyn RawSocket>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
}

impl Stream {
    /// Connects through the host (which checks the endpoint against its allow-list).
    pub fn connect(host: &str, port: u16, tls_now: bool) -> Result<Stream> {
        Ok(Stream::new(Box::new(transport::connect(host, port, tls_now)?)))
    }

    /// Wraps any raw socket (native tests use [`native::TcpSocket`]).
    pub fn new(socket: Box<dyn RawSocket>) -> Stream {
        Stream {
            socket,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
        }
    }

    /// The bytes read but not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..]
    }

    /// Marks `n` buffered bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.rpos = (self.rpos + n).min(self.rbuf.len());
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
    }

    /// Reads until at least `min` bytes are buffered.
    /// A peer that closes first is a `connection` error.
    pub fn fill(&mut self, min: usize) -> Result<()> {
        while self.buffered().len() < min {
            if self.rpos > 0 && self.rpos * 2 >= self.rbuf.len() {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            let want = (min - self.buffered().len()).max(READ_CHUNK as usize);
            let chunk = self.socket.read(want.min(u32::MAX as usize) as u32)?;
            if chunk.is_empty() {
                return Err(Error::connection("server closed the connection"));
            }
            self.rbuf.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Result<Vec<u8>> {
        self.fill(n)?;
        let out = self.buffered()[..n].to_vec();
        self.consume(n);
        Ok(out)
    }

    /// Queues bytes; they go out on [`Stream::flush`].
    pub fn queue(&mut self, data: &[u8]) {
        self.wbuf.extend_from_slice(data);
    }

    /// The write buffer, for encoders that append in place.
    pub fn write_buffer(&mut self) -> &mut Vec<u8> {
        &mut self.wbuf
    }

    /// Sends everything queued.
    pub fn flush(&mut self) -> Result<()> {
        if !self.wbuf.is_empty() {
            let data = std::mem::take(&mut self.wbuf);
            let result = self.socket.write(&data);
            self.wbuf = data;
            self.wbuf.clear();
            result?;
        }
        Ok(())
    }

    /// Queues and sends `data` at once.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.queue(data);
        self.flush()
    }

    /// Starts TLS. Bytes the server sent before the handshake would be
    /// plaintext injected into the TLS session, so they are refused.
    pub fn upgrade_tls(&mut self) -> Result<()> {
        if !self.buffered().is_empty() {
            return Err(Error::protocol("server sent unencrypted data before the TLS handshake"));
        }
        self.socket.upgrade_tls()
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.socket.is_tls()
    }
}

/// Plain TCP for running driver code natively in unit tests (no TLS).
#[cfg(not(target_arch = "wasm32"))]
pub mod native {
    use super::RawSocket;
    use crate::{Error, Result};
    use std::io::{Read, Write};

    /// A blocking `std::net::TcpStream`.
    pub struct TcpSocket(pub std::net::TcpStream);

    impl TcpSocket {
        /// Connects to `host:port`.
        pub fn connect(host: &str, port: u16) -> Result<TcpSocket> {
            std::net::TcpStream::connect((host, port))
                .map(TcpSocket)
                .map_err(|e| Error::connection(e.to_string()))
        }
    }

    impl RawSocket for TcpSocket {
        fn read(&mut self, max: u32) -> Result<Vec<u8>> {
            let mut buf = vec![0; max as usize];
            let n = self.0.read(&mut buf).map_err(|e| Error::connection(e.to_string()))?;
            buf.truncate(n);
            Ok(buf)
        }
        fn write(&mut self, data: &[u8]) -> Result<()> {
            self.0.write_all(data).map_err(|e| Error::connection(e.to_string()))
        }
        fn upgrade_tls(&mut self) -> Result<()> {
            Err(Error::unsupported("no TLS in native tests"))
        }
        fn is_tls(&self) -> bool {
            false
        }
    }
}
