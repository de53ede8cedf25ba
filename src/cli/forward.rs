//! The full-duplex copy between a TLS stream and a plaintext TCP connection,
//! shared by `proxy` (TLS from the client, plaintext to the upstream) and
//! `tunnel` (plaintext from the client, TLS to the server).
//!
//! - Memory is bounded: each direction holds one [`CHUNK`] and reads no more
//!   until its writer took it, so a slow reader slows the other end down
//!   through TCP flow control.
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

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
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
    let (mut plain_in, mut plain_out) = plain.into_split();
    let activity = Activity::new();
    let from_tls = AtomicU64::new(0);
    let to_tls = AtomicU64::new(0);
    let down = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            // Ok(0) only after the TLS peer's close_notify; a truncation is an error.
            let n = tls_in.read(&mut buf).await.map_err(|e| (Side::Tls, e))?;
            activity.touch();
            if n == 0 {
                // RFC 8446 §6.1 semantics: the end of the peer's data, not of
                // the connection. The plaintext side sees a FIN.
                return plain_out.shutdown().await.map_err(|e| (Side::Plain, e));
            }
            plain_out
                .write_all(&buf[..n])
                .await
                .map_err(|e| (Side::Plain, e))?;
            activity.touch();
            from_tls.fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    let up = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = plain_in
                .read(&mut buf)
                .await
                .map_err(|e| (Side::Plain, e))?;
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
