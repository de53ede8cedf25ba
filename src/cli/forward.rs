//! The full-duplex copy between a TLS stream and a plaintext TCP connection,
//! shared by `proxy` (TLS from the client, plaintext to the upstream) and
//! `tunnel` (plaintext from the client, TLS to the server).
//!
//! - Memory is bounded: each direction holds one [`CHUNK`] and reads no more
//!   until its writer took it, so a slow reader slows the other end down
//!   through TCP flow control.
//! - An idle direction holds no chunk: it waits for data first (the socket's
//!   readiness, or one byte of the TLS peer's next record) and takes a chunk
//!   only to move what arrived, freeing it once written. One allocation per
//!   read of up to a record, so bulk copies keep their speed while an idle
//!   connection costs a few hundred bytes here instead of 32 KiB.
//! - Half-close: the TLS peer's close_notify is the end of its input, so the
//!   plaintext side's write half is shut (a FIN) while data keeps flowing the
//!   other way; the plaintext side's EOF is answered with our close_notify
//!   (and a FIN) while the TLS peer may go on sending. The copy ends when both
//!   directions have ended. This is RFC 8446 §6.1's rule for TLS 1.3, which
//!   stunnel follows for TLS 1.2 as well; RFC 5246 §7.2.1 would have us answer
//!   close_notify at once and drop what the other side still sends (recorded
//!   as a deviation in formal/COMPLIANCE.md).
//! - An error on either side ends both at once: the plaintext socket is
//!   closed and the TLS stream is dropped *without* close_notify, so the TLS
//!   peer sees a truncation, not a clean end it could mistake for complete data.
//! - Idle: when no byte moves either way for the idle limit, the copy fails
//!   with [`io::ErrorKind::TimedOut`] (also while one direction has already
//!   ended and the other waits).

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use rsatls::Role;
use rsatls::tokio::TlsStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Bytes moved per read in each direction: one full TLS record.
pub(crate) const CHUNK: usize = 16 * 1024;

/// Which end of the copy an error came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The TLS peer (or the idle limit, which belongs to neither side).
    Tls,
    /// The plaintext peer (the upstream of `proxy`, the local client of `tunnel`).
    Plain,
}

/// What a copy moved and how it ended.
#[derive(Debug)]
pub(crate) struct Forwarded {
    /// Application data received from the TLS peer (and written to the plaintext side).
    pub(crate) from_tls: u64,
    /// Application data sent to the TLS peer (read from the plaintext side).
    pub(crate) to_tls: u64,
    /// `Ok` when both directions ended cleanly: the TLS peer's close_notify
    /// one way, the plaintext side's EOF and our close_notify the other.
    pub(crate) result: Result<(), (Side, io::Error)>,
}

/// The time of the last byte moved either way, as milliseconds since `start`.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Returns once no byte has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Copies between `tls` and `plain` both ways until both directions have ended
/// (see the module doc for the half-close and error rules), then closes both.
pub(crate) async fn forward<R, IO>(
    tls: TlsStream<R, IO>,
    plain: TcpStream,
    idle: Duration,
) -> Forwarded
where
    R: Role,
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (mut tls_in, mut tls_out) = tokio::io::split(tls);
    let (plain_in, mut plain_out) = plain.into_split();
    let activity = Activity::new();
    let from_tls = AtomicU64::new(0);
    let to_tls = AtomicU64::new(0);
    let down = async {
        loop {
            // Wait for the TLS peer's next record holding one byte, not a chunk.
            // Ok(0) only after the TLS peer's close_notify; a truncation is an error.
            let mut first = [0u8; 1];
            let n = tls_in.read(&mut first).await.map_err(|e| (Side::Tls, e))?;
            activity.touch();
            if n == 0 {
                // RFC 8446 §6.1 semantics: the end of the peer's data, not of
                // the connection. The plaintext side sees a FIN.
                return plain_out.shutdown().await.map_err(|e| (Side::Plain, e));
            }
            // The rest of the record is decrypted already: take it without
            // waiting (a close_notify or an error shows on the next read).
            let mut buf = Vec::with_capacity(CHUNK);
            buf.push(first[0]);
            if let Some(rest) = now(tls_in.read_buf(&mut buf)).await {
                rest.map_err(|e| (Side::Tls, e))?;
            }
            plain_out
                .write_all(&buf)
                .await
                .map_err(|e| (Side::Plain, e))?;
            activity.touch();
            from_tls.fetch_add(buf.len() as u64, Ordering::Relaxed);
        }
    };
    let up = async {
        loop {
            // Wait for readiness holding no buffer; a chunk only for the read.
            plain_in.readable().await.map_err(|e| (Side::Plain, e))?;
            let mut buf = Vec::with_capacity(CHUNK);
            let n = match plain_in.try_read_buf(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err((Side::Plain, e)),
            };
            activity.touch();
            if n == 0 {
                // Our close_notify, then a FIN; the TLS peer may go on sending.
                return tls_out.shutdown().await.map_err(|e| (Side::Tls, e));
            }
            tls_out
                .write_all(&buf[..n])
                .await
                .map_err(|e| (Side::Tls, e))?;
            tls_out.flush().await.map_err(|e| (Side::Tls, e))?;
            activity.touch();
            to_tls.fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    let result = tokio::select! {
        both = async { tokio::try_join!(down, up) } => both.map(drop),
        () = activity.idle_for(idle) => Err((
            Side::Tls,
            io::Error::new(io::ErrorKind::TimedOut, "no data either way within the idle limit"),
        )),
    };
    Forwarded {
        from_tls: from_tls.load(Ordering::Relaxed),
        to_tls: to_tls.load(Ordering::Relaxed),
        result,
    }
}

/// Polls `fut` once: its output if it is ready now, `None` if it would wait
/// (the future is dropped; reads are cancel-safe before they return data).
async fn now<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        Poll::Ready(match fut.as_mut().poll(cx) {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        })
    })
    .await
}
