//! [`TlsStream`]: a connection and a transport, polled.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::{Instant, Sleep};

use super::Timeouts;
use super::key_pool::{KeyPool, KeyResult};
use crate::conn::{Connection, Event, HandshakeInfo, Role};
use crate::crypto::CryptoError;
use crate::error::Error;
use crate::record::MAX_RECORD_LEN;
use crate::stream::to_io;

/// A TLS connection over an async transport; see the [module docs](super) for
/// what reads, writes and shutdown mean.
///
/// Made by [`connect`](super::connect) and [`accept`](super::accept), or by
/// [`new`](Self::new) and [`handshake`](Self::handshake) for a connection the
/// caller built. A stream whose handshake has not run completes it on the first
/// read or write, under the idle timeout only.
pub struct TlsStream<R: Role, IO> {
    conn: Connection<R>,
    io: IO,
    timeouts: Timeouts,
    /// Bytes read from the transport; `rbuf[rpos..rend]` is not yet in the engine.
    /// Allocated for a read and freed when a read would wait, so an idle
    /// stream holds no record buffer (see [`RecordBuf`]).
    rbuf: RecordBuf,
    rpos: usize,
    rend: usize,
    /// Bytes from the engine; `wbuf[wpos..wend]` is not yet on the transport.
    /// Allocated while records go out, freed once they are all sent.
    wbuf: RecordBuf,
    wpos: usize,
    wend: usize,
    /// Decrypted data; `plain[plain_pos..]` is not yet read by the caller.
    /// Freed, once drained, when a read would wait.
    plain: Vec<u8>,
    plain_pos: usize,
    /// The peer's close_notify has arrived: reads end cleanly once `plain` is drained.
    peer_closed: bool,
    /// When a byte last moved to or from the transport (kept only with an idle limit).
    last_activity: Instant,
    /// Idle timers, one per direction, so that a reading task and a writing task
    /// (after `tokio::io::split`) are each woken when the limit passes.
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
    /// After a fatal alert: the lingering close in progress (see [`Linger`]).
    linger: Option<Linger>,
    /// Where private-key operations run ([`KeyPool::shared`] if none is given).
    key_pool: Option<KeyPool>,
    /// The answer to the private-key operation that is out, if one is.
    key_op: Option<::tokio::sync::oneshot::Receiver<KeyResult>>,
}

/// How long, and how many bytes, a stream that sent a fatal alert keeps reading
/// (and dropping) the peer's data before it reports the error.
///
/// Closing a TCP socket with unread data makes the kernel send a reset, which
/// can reach the peer before it reads the alert and then destroys it: a peer
/// still sending (a large hello, a stream of data) would see "connection reset"
/// instead of the alert. So the write side is shut (the alert is followed by a
/// FIN) and input is drained until the peer closes, or these limits pass.
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(1);
/// See [`LINGER_TIME`].
const LINGER_BYTES: usize = 256 * 1024;
/// Bytes dropped per read while lingering, from a buffer on the stack.
const LINGER_READ: usize = 4096;

/// A buffer of one full record, allocated (zeroed) on first use and freed by
/// [`release`](Self::release): the stream holds it only while bytes move, so
/// an idle established connection costs no record buffers (one allocation per
/// burst, not per byte).
#[derive(Default)]
struct RecordBuf(Vec<u8>);

impl RecordBuf {
    /// The buffer, allocated if it is not.
    fn get(&mut self) -> &mut [u8] {
        if self.0.is_empty() {
            self.0 = vec![0u8; MAX_RECORD_LEN];
        }
        &mut self.0
    }

    fn release(&mut self) {
        self.0 = Vec::new();
    }
}

/// A lingering close: the write side is shut, the peer's bytes are dropped.
struct Linger {
    deadline: Pin<Box<Sleep>>,
    left: usize,
    shut: bool,
    done: bool,
}

// Nothing is pinned structurally: the transport is polled through `Pin::new`, so
// the stream may move whenever the transport may.
impl<R: Role, IO: Unpin> Unpin for TlsStream<R, IO> {}

#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

impl<R: Role, IO: AsyncRead + AsyncWrite + Unpin> TlsStream<R, IO> {
    /// Wraps a connection and a transport. Nothing is sent until the first call.
    ///
    /// With an idle limit in `timeouts`, this must run inside a tokio runtime.
    pub fn new(conn: Connection<R>, io: IO, timeouts: Timeouts) -> Self {
        Self {
            conn,
            io,
            timeouts,
            rbuf: RecordBuf::default(),
            rpos: 0,
            rend: 0,
            wbuf: RecordBuf::default(),
            wpos: 0,
            wend: 0,
            plain: Vec::new(),
            plain_pos: 0,
            peer_closed: false,
            last_activity: Instant::now(),
            read_timer: None,
            write_timer: None,
            linger: None,
            key_pool: None,
            key_op: None,
        }
    }

    /// Runs this stream's private-key operations on `pool` (see [`KeyPool`]);
    /// without it they go to [`KeyPool::shared`]. Only a server whose
    /// configuration offloads them has any
    /// ([`ServerConfig::with_private_key_offload`](crate::ServerConfig::with_private_key_offload)).
    pub fn with_key_pool(mut self, pool: KeyPool) -> Self {
        self.key_pool = Some(pool);
        self
    }

    /// Bytes of buffer capacity the stream and its connection hold now: what
    /// an idle connection costs beyond its socket and task. For tests.
    #[cfg(any(test, feature = "testing"))]
    #[doc(hidden)]
    pub fn buffered_capacity_for_testing_only(&self) -> usize {
        self.rbuf.0.capacity()
            + self.wbuf.0.capacity()
            + self.plain.capacity()
            + self.conn.buffered_capacity_for_testing_only()
    }

    /// Runs the handshake to completion, within the handshake timeout, and
    /// returns what was negotiated. Returns at once if it already completed.
    pub async fn handshake(&mut self) -> io::Result<HandshakeInfo> {
        let limit = self.timeouts.handshake;
        let run = poll_fn(|cx| self.poll_handshake(cx));
        match limit {
            Some(limit) => match ::tokio::time::timeout(limit, run).await {
                Ok(done) => done?,
                Err(_) => return Err(self.timed_out("TLS handshake timed out")),
            },
            None => run.await?,
        }
        self.touch();
        self.conn
            .handshake_info()
            .cloned()
            .ok_or_else(|| to_io(Error::Internal("no handshake info")))
    }

    /// The connection (what was negotiated, its state, its error).
    pub fn conn(&self) -> &Connection<R> {
        &self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The transport. Reading or writing it directly corrupts the TLS stream.
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            // Our next flight (or an alert) goes out before we wait for the peer.
            ready!(self.poll_flush_tls(cx))?;
            ready!(self.poll_failed(cx))?;
            if self.conn.is_established() {
                return Poll::Ready(Ok(()));
            }
            if self.peer_closed {
                return Poll::Ready(Err(to_io(Error::UnexpectedEof)));
            }
            ready!(self.poll_fill(cx))?;
        }
    }

    /// `Ready(Ok)` while the connection has not failed; once it has, sends the
    /// queued alert (transport errors are ignored: the TLS error is what counts),
    /// lingers (see [`LINGER_TIME`]) and returns the error.
    fn poll_failed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(err) = self.conn.error().cloned() else {
            return Poll::Ready(Ok(()));
        };
        // Nobody waits for the answer any more: the pool skips the operation
        // if it has not started.
        self.key_op = None;
        if self.poll_flush_tls(cx).is_pending() {
            return Poll::Pending;
        }
        // Only after an alert of ours: after the peer's alert or its EOF, the
        // peer is closing anyway.
        if err.alert().is_some() && self.poll_linger(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(Err(to_io(err)))
    }

    /// Shuts the transport's write side (the alert is followed by a FIN), then
    /// reads and drops the peer's bytes until its EOF, a transport error,
    /// [`LINGER_BYTES`] or [`LINGER_TIME`], whichever comes first.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let linger = self.linger.get_or_insert_with(|| Linger {
            deadline: Box::pin(::tokio::time::sleep(LINGER_TIME)),
            left: LINGER_BYTES,
            shut: false,
            done: false,
        });
        while !linger.done {
            if linger.deadline.as_mut().poll(cx).is_ready() || linger.left == 0 {
                linger.done = true;
                break;
            }
            if !linger.shut {
                ready!(Pin::new(&mut self.io).poll_shutdown(cx)).ok();
                linger.shut = true;
            }
            let mut sink = [0u8; LINGER_READ];
            let room = linger.left.min(sink.len());
            let mut buf = ReadBuf::new(&mut sink[..room]);
            match ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => linger.left -= buf.filled().len(),
                // EOF or a transport error: nothing more to wait for.
                _ => linger.done = true,
            }
        }
        // What was read is not TLS input any more.
        (self.rpos, self.rend) = (0, 0);
        self.rbuf.release();
        Poll::Ready(())
    }

    /// Writes every pending TLS byte to the transport, then flushes it.
    fn poll_flush_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.wpos == self.wend {
                if !self.conn.wants_write() {
                    // Everything is on the transport: an idle stream keeps no buffer.
                    self.wbuf.release();
                    break;
                }
                self.wend = self.conn.write_tls(self.wbuf.get());
                self.wpos = 0;
            }
            let pending = &self.wbuf.get()[self.wpos..self.wend];
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wpos += n;
            self.touch();
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Reads from the transport (unless unprocessed bytes remain) and feeds the
    /// engine. A transport EOF is clean only after the peer's close_notify.
    ///
    /// While a private-key operation is out, see [`poll_held`](Self::poll_held).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(answer) = self.key_op.as_mut() {
            let Poll::Ready(answer) = Pin::new(answer).poll(cx) else {
                return self.poll_held(cx);
            };
            self.key_op = None;
            // A pool thread gone without answering: a failed operation.
            let result = answer.unwrap_or(Err(CryptoError));
            let fed = self
                .conn
                .complete_private_key_operation(result)
                .and_then(|()| self.feed());
            return Poll::Ready(self.fed(fed));
        }
        if self.rpos == self.rend {
            let mut buf = ReadBuf::new(self.rbuf.get());
            let read = Pin::new(&mut self.io).poll_read(cx, &mut buf);
            let n = buf.filled().len();
            if read.is_pending() {
                // Waiting for the peer holds no buffer: the read buffer, the
                // engine's record buffer and the (drained) plaintext buffer are freed here rather than after
                // each record, so a burst of records reuses them.
                self.rbuf.release();
                self.conn.release_buffers();
                if self.plain_pos == self.plain.len() {
                    (self.plain, self.plain_pos) = (Vec::new(), 0);
                }
                return Poll::Pending;
            }
            if let Poll::Ready(Err(e)) = read {
                self.rbuf.release();
                return Poll::Ready(Err(e));
            }
            if n == 0 {
                return Poll::Ready(match self.conn.handle_eof() {
                    Ok(()) => {
                        self.peer_closed = true;
                        Ok(())
                    }
                    Err(e) => Err(to_io(e)),
                });
            }
            (self.rpos, self.rend) = (0, n);
            self.touch();
        }
        let fed = self.feed();
        Poll::Ready(self.fed(fed))
    }

    /// While the private-key operation is out (this task is woken by its
    /// answer): the transport is still read, so that a client that goes away
    /// is noticed (the connection fails, and the answer is dropped), but only
    /// into what is left of `rbuf`: the engine holds at most one record and
    /// decides nothing, `rbuf` at most one more, and then reading waits for
    /// the answer.
    fn poll_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.rpos > 0 {
            self.rbuf.get().copy_within(self.rpos..self.rend, 0);
            (self.rpos, self.rend) = (0, self.rend - self.rpos);
        }
        let room = &mut self.rbuf.get()[self.rend..];
        if room.is_empty() {
            return Poll::Pending;
        }
        let mut buf = ReadBuf::new(room);
        let read = ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf));
        let n = buf.filled().len();
        read?;
        if n == 0 {
            // Not a clean end (the handshake is not over): the connection fails.
            let eof = self.conn.handle_eof().map_err(to_io);
            self.peer_closed = eof.is_ok();
            return Poll::Ready(eof);
        }
        self.rend += n;
        self.touch();
        let fed = self.feed();
        Poll::Ready(self.fed(fed))
    }

    /// The outcome of feeding the engine, for [`poll_fill`](Self::poll_fill).
    fn fed(&self, fed: Result<(), Error>) -> io::Result<()> {
        match fed {
            // A protocol error is sticky in the engine: `poll_failed` reports it
            // after its alert is sent.
            Err(_) if self.conn.error().is_some() => Ok(()),
            Err(e) => Err(to_io(e)),
            Ok(()) => Ok(()),
        }
    }

    /// Collects the engine's events, then hands it the unprocessed transport
    /// bytes, collecting events after each piece.
    fn feed(&mut self) -> Result<(), Error> {
        self.drain_events()?;
        while self.rpos < self.rend {
            let taken = self.conn.read_tls(&self.rbuf.get()[self.rpos..self.rend])?;
            self.rpos += taken;
            self.drain_events()?;
            if taken == 0 && self.rpos < self.rend {
                if self.key_op.is_some() {
                    // Held: the engine decides nothing until the answer.
                    break;
                }
                // The engine takes input whenever its events are drained.
                return Err(Error::Internal("engine refused input"));
            }
        }
        Ok(())
    }

    /// Takes the engine's events until it needs more input. A private-key
    /// operation goes to the pool; [`poll_fill`](Self::poll_fill) awaits it.
    fn drain_events(&mut self) -> Result<(), Error> {
        if self.plain_pos == self.plain.len() {
            self.plain.clear();
            self.plain_pos = 0;
        }
        while let Some(event) = self.conn.poll_event()? {
            match event {
                Event::ApplicationData(data) => self.plain.extend_from_slice(data),
                Event::PeerClosed => self.peer_closed = true,
                Event::PrivateKeyOperation(op) => {
                    let pool = match self.key_pool.as_ref() {
                        Some(pool) => pool,
                        None => {
                            let shared = KeyPool::shared()
                                .map_err(|_| Error::Internal("no private-key thread started"))?;
                            self.key_pool.insert(shared)
                        }
                    };
                    self.key_op = Some(pool.submit(op));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn touch(&mut self) {
        if self.timeouts.idle.is_some() {
            self.last_activity = Instant::now();
        }
    }

    /// Called when an operation is about to return `Pending`: fails it once the
    /// idle limit has passed, and otherwise arms this direction's timer.
    fn check_idle(&mut self, dir: Direction, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(idle) = self.timeouts.idle else {
            return Ok(());
        };
        // A limit past what the clock can hold (`Duration::MAX`) is no limit,
        // not an overflow.
        let Some(deadline) = self.last_activity.checked_add(idle) else {
            return Ok(());
        };
        let slot = match dir {
            Direction::Read => &mut self.read_timer,
            Direction::Write => &mut self.write_timer,
        };
        let timer = slot.get_or_insert_with(|| Box::pin(::tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Err(self.timed_out("TLS connection idle timeout")),
            Poll::Pending => Ok(()),
        }
    }

    /// The error a limit that has passed reports: the connection's own error
    /// when it had already failed and was only lingering (the alert is sent,
    /// the limit just cut the wait for the peer's EOF short), else `TimedOut`.
    fn timed_out(&self, what: &'static str) -> io::Error {
        match self.conn.error() {
            Some(err) => to_io(err.clone()),
            None => io::Error::new(io::ErrorKind::TimedOut, what),
        }
    }

    /// Applies the idle limit to a poll result.
    fn idle_limited<T>(
        &mut self,
        dir: Direction,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Pending => match self.check_idle(dir, cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => ready,
        }
    }

    fn read_inner(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if self.plain_pos < self.plain.len() {
                let n = buf.remaining().min(self.plain.len() - self.plain_pos);
                buf.put_slice(&self.plain[self.plain_pos..self.plain_pos + n]);
                self.plain_pos += n;
                return Poll::Ready(Ok(()));
            }
            if self.peer_closed {
                // The peer's close_notify: a clean end of its data.
                return Poll::Ready(Ok(()));
            }
            ready!(self.poll_failed(cx))?;
            if !self.conn.is_established() {
                ready!(self.poll_handshake(cx))?;
                continue;
            }
            // Whatever the engine queued (our buffered data, a warning alert) goes
            // out without holding up the read.
            if let Poll::Ready(Err(e)) = self.poll_flush_tls(cx) {
                return Poll::Ready(Err(e));
            }
            ready!(self.poll_fill(cx))?;
        }
    }

    fn write_inner(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_failed(cx))?;
        if !self.conn.is_established() {
            ready!(self.poll_handshake(cx))?;
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if self.wpos < self.wend || self.conn.wants_write() {
                // Earlier records (or an alert the engine queued) go first.
                ready!(self.poll_flush_tls(cx))?;
                continue;
            }
            // Sealed straight into our buffer, the engine keeping no copy. Fails
            // with NotConnected after our close_notify; a protocol error is
            // sticky and its alert goes out on the next call.
            let (taken, written) = self
                .conn
                .write_app_data_to(data, self.wbuf.get())
                .map_err(to_io)?;
            (self.wpos, self.wend) = (0, written);
            if taken > 0 {
                // Start sending; what the transport cannot take now goes out on
                // the next write, flush, read or shutdown.
                if let Poll::Ready(Err(e)) = self.poll_flush_tls(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(taken));
            }
            // A full record always fits in an empty buffer.
            return Poll::Ready(Err(to_io(Error::Internal("no record fits the buffer"))));
        }
    }

    fn flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_failed(cx))?;
        self.poll_flush_tls(cx)
    }

    fn shutdown_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Queued once; a no-op after a fatal error, whose alert goes out instead.
        self.conn.send_close_notify();
        ready!(self.poll_flush_tls(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<R: Role, IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<R, IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = this.read_inner(cx, buf);
        this.idle_limited(Direction::Read, cx, poll)
    }
}

impl<R: Role, IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<R, IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = this.write_inner(cx, data);
        this.idle_limited(Direction::Write, cx, poll)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = this.flush_inner(cx);
        this.idle_limited(Direction::Write, cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = this.shutdown_inner(cx);
        this.idle_limited(Direction::Write, cx, poll)
    }
}

impl<R: Role, IO> core::fmt::Debug for TlsStream<R, IO> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsStream")
            .field("conn", &self.conn)
            .field("timeouts", &self.timeouts)
            .field("peer_closed", &self.peer_closed)
            .field("private_key_operation_out", &self.key_op.is_some())
            .finish_non_exhaustive()
    }
}
