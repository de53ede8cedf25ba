//! rsatls: a hardened, sans-I/O TLS 1.2 engine for RSA key transport with the
//! AES-GCM suites (RFC 5246, RFC 5288), Extended Master Secret (RFC 7627) and
//! renegotiation_info (RFC 5746).
//!
//! The engine ([`ClientConnection`], [`ServerConnection`]) does no I/O and draws
//! every random byte from an RNG its caller passes in. Cryptography comes through
//! [`crypto::CryptoProvider`]; [`crypto::rustcrypto`] is the default provider.
//! [`stream::TlsStream`] adapts a connection to blocking `Read + Write`; with the
//! `tokio` feature (on by default), `tokio::TlsStream` adapts it to tokio's
//! `AsyncRead + AsyncWrite`, with handshake and idle timeouts.
//!
//! RSA key transport has no forward secrecy: see the README for the security
//! stance and what is hardened.

#[cfg(feature = "bench-internals")]
pub mod bench_support;
#[cfg(feature = "capture")]
pub mod capture;
pub mod codec;
mod config;
mod conn;
pub mod crypto;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod key_schedule;
pub mod msgs;
pub mod passive;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod pki;
mod record;
mod rsa_kx;
mod sig;
pub mod state_table;
pub mod stream;
pub mod suites;
#[cfg(feature = "tokio")]
pub mod tokio;
mod verify;

pub use config::{
    ClientAuthMode, ClientConfig, DEFAULT_MAX_HANDSHAKE_SIZE, KeyLog, ServerAuth, ServerConfig,
    key_log_line,
};
pub use conn::{
    Client, ClientConnection, Connection, Endpoint, Event, HandshakeInfo, MAX_EMPTY_RUN,
    MAX_PENDING_OUTPUT, PrivateKeyOperation, Role, Server, ServerConnection,
};
pub use error::{CertificateError, Error, Misbehavior};
pub use record::SEQ_LIMIT;
/// Seconds since the Unix epoch: the time a client validates certificates at
/// ([`ClientConnection::new_at`]). Re-exported from `rustls-pki-types`.
pub use rustls_pki_types::UnixTime;
