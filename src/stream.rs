//! A blocking adapter over any `std::io::{Read, Write}` transport.
//!
//! This is the only place in the library that performs I/O, and it holds no
//! protocol logic of its own: it moves bytes between the transport and a
//! [`Connection`], and turns events into `Read`/`Write` results.

use std::io::{self, Read, Write};

use crate::conn::{Connection, Event, HandshakeInfo, MAX_PENDING_OUTPUT, Role};
use crate::error::Error;
use crate::record::MAX_RECORD_LEN;

/// A TLS connection over a blocking transport.
///
/// `read` returns `Ok(0)` only after the peer's close_notify; a transport EOF
/// without it is an [`io::ErrorKind::UnexpectedEof`] error (a truncation). TLS
/// failures are `io::Error`s whose inner error is the [`Error`] (see
/// [`tls_error`]); the alert that goes with them has been written before they
/// are returned.
///
/// Unlike the tokio adapter, this stream does not linger after a fatal alert
/// (a generic transport has no write shutdown and no timer). A caller that
/// closes a TCP socket while the peer may still be sending should shut down
/// its write side and read for a moment first (`TcpStream::shutdown`, with a
/// read timeout), or the peer may meet a reset before it reads the alert.
pub struct TlsStream<R: Role, S: Read + Write> {
    conn: Connection<R>,
    sock: S,
    rbuf: Vec<u8>,
    /// Records sealed by `write`, on their way to the transport (allocated on
    /// the first write).
    wbuf: Vec<u8>,
    plain: Vec<u8>,
    plain_pos: usize,
    peer_closed: bool,
}

/// The rsatls error inside an `io::Error` returned by [`TlsStream`], if any.
pub fn tls_error(e: &io::Error) -> Option<&Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
}

/// An engine error as an `io::Error` of the matching kind, the error inside.
pub(crate) fn to_io(e: Error) -> io::Error {
    let kind = match e {
        Error::UnexpectedEof => io::ErrorKind::UnexpectedEof,
        Error::NotConnected => io::ErrorKind::NotConnected,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}

impl<R: Role, S: Read + Write> TlsStream<R, S> {
    /// Wraps a connection and a transport. Nothing is sent until the first call.
    pub fn new(conn: Connection<R>, sock: S) -> Self {
        Self {
            conn,
            sock,
            rbuf: vec![0u8; MAX_RECORD_LEN],
            wbuf: Vec::new(),
            plain: Vec::new(),
            plain_pos: 0,
            peer_closed: false,
        }
    }

    /// Runs the handshake to completion.
    pub fn handshake(&mut self) -> io::Result<HandshakeInfo> {
        while !self.conn.is_established() {
            self.flush_tls()?;
            if !self.read_more()? {
                return Err(to_io(Error::UnexpectedEof));
            }
        }
        self.flush_tls()?;
        self.conn
            .handshake_info()
            .cloned()
            .ok_or_else(|| to_io(Error::Internal("no handshake info")))
    }

    /// The connection.
    pub fn conn(&self) -> &Connection<R> {
        &self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// Sends close_notify and flushes it. Reading may continue until the peer's.
    pub fn close(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush_tls()
    }

    /// Writes every pending TLS byte to the transport.
    fn flush_tls(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 8192];
        while self.conn.wants_write() {
            let n = self.conn.write_tls(&mut buf);
            self.sock.write_all(&buf[..n])?;
        }
        self.sock.flush()
    }

    /// Reads once from the transport and processes what arrived. Returns `false`
    /// at transport EOF.
    fn read_more(&mut self) -> io::Result<bool> {
        let n = loop {
            match self.sock.read(&mut self.rbuf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            if let Err(e) = self.conn.handle_eof() {
                return Err(to_io(e));
            }
            return Ok(false);
        }
        let mut off = 0;
        while off < n {
            let taken = self.conn.read_tls(&self.rbuf[off..n]);
            let result = taken.and_then(|t| {
                off += t;
                self.drain_events()
            });
            if let Err(e) = result {
                // Send the alert before reporting.
                let _ = self.flush_tls();
                return Err(to_io(e));
            }
        }
        // Replies (alerts, the handshake's next flight) go out promptly.
        self.flush_tls()?;
        Ok(true)
    }

    fn drain_events(&mut self) -> Result<(), Error> {
        while let Some(event) = self.conn.poll_event()? {
            match event {
                Event::ApplicationData(data) => self.plain.extend_from_slice(data),
                Event::PeerClosed => self.peer_closed = true,
                Event::HandshakeComplete(_) => {}
                // A blocking stream has a thread of its own to wait on: the
                // operation runs here.
                Event::PrivateKeyOperation(op) => {
                    self.conn.complete_private_key_operation(op.run())?;
                }
            }
        }
        Ok(())
    }
}

impl<R: Role, S: Read + Write> Read for TlsStream<R, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.plain_pos == self.plain.len() {
            self.plain.clear();
            self.plain_pos = 0;
            if self.peer_closed {
                return Ok(0);
            }
            if !self.conn.is_established() {
                self.handshake()?;
                continue;
            }
            if !self.read_more()? {
                // handle_eof succeeded: the peer had closed cleanly.
                return Ok(0);
            }
        }
        let n = buf.len().min(self.plain.len() - self.plain_pos);
        buf[..n].copy_from_slice(&self.plain[self.plain_pos..self.plain_pos + n]);
        self.plain_pos += n;
        Ok(n)
    }
}

impl<R: Role, S: Read + Write> Write for TlsStream<R, S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.conn.is_established() {
            self.handshake()?;
        }
        // Whatever the connection queued itself (an alert, say) goes first; then
        // records are sealed from `data` straight into `wbuf`.
        self.flush_tls()?;
        if self.wbuf.is_empty() {
            self.wbuf = vec![0u8; MAX_PENDING_OUTPUT];
        }
        let mut taken = 0;
        while taken < data.len() {
            let (n, len) = self
                .conn
                .write_app_data_to(&data[taken..], &mut self.wbuf)
                .map_err(to_io)?;
            self.sock.write_all(&self.wbuf[..len])?;
            taken += n;
            if n == 0 {
                self.flush_tls()?;
            }
        }
        self.sock.flush()?;
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}
