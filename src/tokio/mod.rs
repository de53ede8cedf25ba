//! An async adapter for tokio (feature `tokio`): [`connect`] and [`accept`] run
//! the handshake over any `AsyncRead + AsyncWrite` transport and return a
//! [`TlsStream`], itself `AsyncRead + AsyncWrite`.
//!
//! Like the blocking [`crate::stream`], the adapter holds no protocol logic: it
//! moves bytes between the transport and a [`Connection`](crate::Connection) and turns the engine's
//! events into I/O results. Time lives here, never in the engine: the handshake
//! and idle [`Timeouts`] run on `tokio::time`, so they need a tokio runtime with
//! its time driver enabled. Randomness still comes from the RNG the caller
//! passes in.
//!
//! What a caller sees:
//! - a read returns no bytes (a clean end) only after the peer's close_notify;
//!   a transport EOF without it is an [`io::ErrorKind::UnexpectedEof`] error (a
//!   truncation);
//! - `shutdown` (`AsyncWriteExt::shutdown`) sends close_notify, flushes it and
//!   shuts down the transport's write side; reading may go on until the peer's
//!   close_notify;
//! - written data is buffered as in any buffered writer: `flush` (or a read, or
//!   `shutdown`) pushes it out;
//! - a handshake or idle timeout is an [`io::ErrorKind::TimedOut`] error;
//! - a TLS failure is an `io::Error` whose inner error is the [`Error`](crate::Error)
//!   (see [`tls_error`]); its alert has been written before it is returned, and
//!   after an alert of ours the stream has shut the transport's write side and
//!   read (and dropped) what the peer still sent, for up to 1 s and 256 KiB, so
//!   that closing the socket does not reset the connection before the peer has
//!   read the alert (this uses `tokio::time`, so it too needs the time driver);
//!   a handshake or idle limit that passes during that wait cuts it short and
//!   the TLS error is still what is returned, not `TimedOut`;
//! - [`pump`] copies both ways between a stream and any reader/writer pair;
//! - a server whose configuration offloads the private-key operation
//!   ([`ServerConfig::with_private_key_offload`]) runs it on a [`KeyPool`]'s
//!   threads, never on the runtime's: the task waits for the answer (woken by
//!   it) while the runtime's other connections keep moving.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//! use rsatls::tokio::{Timeouts, connect};
//! use rsatls::{ClientConfig, ServerAuth};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let pins = rsatls::pki::parse_pins("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
//!     .expect("pin");
//! let config = Arc::new(ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins)));
//! // Seed from the OS in real use; the engine never picks its own randomness.
//! let rng = ChaCha20Rng::from_seed([7; 32]);
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:4433").await?;
//! let mut tls = connect(config, Some("localhost"), tcp, rng, Timeouts::default()).await?;
//! tls.write_all(b"hello\n").await?;
//! tls.shutdown().await?; // close_notify
//! let mut echoed = Vec::new();
//! tls.read_to_end(&mut echoed).await?; // Ok only if the peer sent its close_notify
//! # Ok(())
//! # }
//! ```

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite};
use rand_core::CryptoRng;

use crate::config::{ClientConfig, ServerConfig};
use crate::conn::{Client, ClientConnection, Server, ServerConnection};
use crate::stream::to_io;

mod key_pool;
mod pump;
mod stream;

pub use crate::stream::tls_error;
pub use key_pool::{KeyPool, MAX_KEY_THREADS};
pub use pump::pump;
pub use stream::TlsStream;

/// The time limits the adapter enforces. `None` means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The whole handshake, from the first byte to both Finished messages, must
    /// take no longer than this (applies to [`TlsStream::handshake`], so to
    /// [`connect`] and [`accept`]).
    pub handshake: Option<Duration>,
    /// A read, write, flush or shutdown that is waiting on the transport fails
    /// once no byte has moved to or from the transport for this long.
    pub idle: Option<Duration>,
}

impl Timeouts {
    /// No limits at all.
    pub const NONE: Self = Self {
        handshake: None,
        idle: None,
    };
}

impl Default for Timeouts {
    /// A 10-second handshake limit and no idle limit: an idle limit ends
    /// connections the application may mean to keep, so servers set their own.
    fn default() -> Self {
        Self {
            handshake: Some(Duration::from_secs(10)),
            idle: None,
        }
    }
}

/// Runs a client handshake over `io` and returns the established stream.
///
/// `server_name` is the name the server's certificate must be valid for, sent
/// as SNI (RFC 6066) when it is a DNS name; `rng` is the connection's only
/// source of randomness. Like the timeouts, the clock belongs to the adapter:
/// it reads the current time here and passes it to
/// [`ClientConnection::new_at`], which validates certificate chains at it.
pub async fn connect<IO>(
    config: Arc<ClientConfig>,
    server_name: Option<&str>,
    io: IO,
    rng: impl CryptoRng + Send + 'static,
    timeouts: Timeouts,
) -> io::Result<TlsStream<Client, IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let now = crate::UnixTime::now();
    let conn = ClientConnection::new_at(config, server_name, now, rng).map_err(to_io)?;
    let mut tls = TlsStream::new(conn, io, timeouts);
    tls.handshake().await?;
    Ok(tls)
}

/// Runs a server handshake over `io` and returns the established stream.
///
/// `rng` is the connection's only source of randomness. As in [`connect`], the
/// adapter reads the clock here and passes it to [`ServerConnection::new_at`],
/// which validates client certificate chains at it (mutual TLS, see
/// [`ServerConfig::with_client_auth`]).
///
/// With [`ServerConfig::with_private_key_offload`], the private-key operation
/// runs on [`KeyPool::shared`] (see [`accept_with_key_pool`] to choose the
/// pool), never on the runtime's threads; without it, inline.
pub async fn accept<IO>(
    config: Arc<ServerConfig>,
    io: IO,
    rng: impl CryptoRng + Send + 'static,
    timeouts: Timeouts,
) -> io::Result<TlsStream<Server, IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    accept_on(config, io, rng, timeouts, None).await
}

/// [`accept`], with the private-key operation (of a configuration that
/// offloads it) on `pool`.
pub async fn accept_with_key_pool<IO>(
    config: Arc<ServerConfig>,
    io: IO,
    rng: impl CryptoRng + Send + 'static,
    timeouts: Timeouts,
    pool: KeyPool,
) -> io::Result<TlsStream<Server, IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    accept_on(config, io, rng, timeouts, Some(pool)).await
}

async fn accept_on<IO>(
    config: Arc<ServerConfig>,
    io: IO,
    rng: impl CryptoRng + Send + 'static,
    timeouts: Timeouts,
    pool: Option<KeyPool>,
) -> io::Result<TlsStream<Server, IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let now = crate::UnixTime::now();
    let conn = ServerConnection::new_at(config, now, rng);
    let mut tls = TlsStream::new(conn, io, timeouts);
    if let Some(pool) = pool {
        tls = tls.with_key_pool(pool);
    }
    tls.handshake().await?;
    Ok(tls)
}
