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

mod cache;
mod handshake;
mod records;
mod unpad;

use std::collections::VecDeque;
use std::sync::Arc;

use zeroize::Zeroizing;

use self::cache::Bounded;
use self::handshake::{Ctx, Fail, Follower};
use self::records::{DirectionState, Next};
use crate::msgs::handshake::HANDSHAKE_HEADER_LEN;
use crate::msgs::record::MAX_CIPHERTEXT;

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

/// One loaded key, with its public half for matching certificates.
struct ServerKey {
    name: String,
    key: Arc<dyn RsaPrivateKey>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
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
            modulus: strip_zeros(&key.public_modulus()).to_vec(),
            exponent: strip_zeros(&key.public_exponent()).to_vec(),
            key,
        });
    }

    /// The key whose public half is (`modulus`, `exponent`), big-endian.
    fn find(&self, modulus: &[u8], exponent: &[u8]) -> Option<&ServerKey> {
        let (modulus, exponent) = (strip_zeros(modulus), strip_zeros(exponent));
        self.keys
            .iter()
            .find(|k| k.modulus == modulus && k.exponent == exponent)
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
///
/// Tickets are kept by their SHA-256, so that an entry costs the same whatever
/// the ticket's size.
pub struct SessionCache {
    capacity: usize,
    by_id: Bounded<Vec<u8>>,
    by_ticket: Bounded<[u8; 32]>,
}

impl SessionCache {
    /// A cache holding at most `capacity` session IDs and as many tickets.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            by_id: Bounded::new(),
            by_ticket: Bounded::new(),
        }
    }

    /// The most entries of each kind kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Session IDs cached.
    pub fn session_ids(&self) -> usize {
        self.by_id.len()
    }

    /// Tickets cached.
    pub fn tickets(&self) -> usize {
        self.by_ticket.len()
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

/// Events queued at most. A caller that polls after each [`ConnectionDecoder::feed`]
/// never comes near it.
const MAX_QUEUED_EVENTS: usize = 1 << 16;

/// The decoder's events, waiting for [`ConnectionDecoder::poll_event`].
struct EventQueue {
    events: VecDeque<PassiveEvent>,
    /// Application data bytes queued.
    data: usize,
}

impl EventQueue {
    fn push(&mut self, event: PassiveEvent) {
        if let PassiveEvent::ApplicationData { data, .. } = &event {
            self.data += data.len();
        }
        self.events.push_back(event);
    }

    fn pop(&mut self) -> Option<PassiveEvent> {
        let event = self.events.pop_front()?;
        if let PassiveEvent::ApplicationData { data, .. } = &event {
            self.data -= data.len();
        }
        Some(event)
    }
}

/// Decodes one recorded TCP connection.
///
/// Feed each direction's bytes in order with [`feed`](Self::feed) (the two
/// directions may be interleaved in any way), and after each call take every
/// event with [`poll_event`](Self::poll_event):
///
/// ```
/// use rsatls::passive::{ConnectionDecoder, Direction, Limits, ServerKeys, SessionCache};
///
/// let keys = ServerKeys::new(rsatls::crypto::default_provider());
/// let mut cache = SessionCache::default();
/// let mut decoder = ConnectionDecoder::new(Limits::default());
/// # let captured: Vec<(Direction, Vec<u8>)> = Vec::new();
/// for (from, bytes) in captured {
///     decoder.feed(from, &bytes, &keys, &mut cache);
///     while let Some(event) = decoder.poll_event() {
///         // show it
///         # drop(event);
///     }
/// }
/// ```
///
/// The handshake is followed in the protocol's order, not the capture's: a
/// direction whose next handshake message needs the other direction's (the
/// client's Finished needs the master secret, which needs the server's
/// certificate) waits, its bytes buffered up to [`Limits::max_buffered`].
/// Application data and alerts of either direction are decoded as soon as
/// they arrive, so events of the two directions interleave as fed.
pub struct ConnectionDecoder {
    limits: Limits,
    client: DirectionState,
    server: DirectionState,
    follower: Follower,
    events: EventQueue,
}

impl ConnectionDecoder {
    /// A decoder for a connection whose first bytes are about to be fed.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            client: DirectionState::new(),
            server: DirectionState::new(),
            follower: Follower::new(),
            events: EventQueue {
                events: VecDeque::new(),
                data: 0,
            },
        }
    }

    /// Takes the next bytes of one direction and decodes as far as both
    /// directions allow, queueing events for [`poll_event`](Self::poll_event).
    ///
    /// Memory stays bounded: at most [`Limits::max_buffered`] bytes are held
    /// per direction, and queued application data is bounded too (a caller
    /// that feeds more than `max_buffered` bytes between polls may see that
    /// direction stop with [`StopReason::Limit`]).
    pub fn feed(
        &mut self,
        from: Direction,
        bytes: &[u8],
        keys: &ServerKeys,
        cache: &mut SessionCache,
    ) {
        let mut input = bytes;
        while !input.is_empty() {
            let dir = pick(&mut self.client, &mut self.server, from);
            if dir.stopped {
                return;
            }
            let room = self.limits.max_buffered.saturating_sub(dir.buffered());
            if room == 0 {
                self.stop(from, StopReason::Limit);
                return;
            }
            let (now, later) = input.split_at(room.min(input.len()));
            dir.buf.extend_from_slice(now);
            input = later;
            self.run(keys, cache);
        }
    }

    /// The reassembler lost bytes of `from`: that direction stops.
    pub fn gap(&mut self, from: Direction) {
        self.stop(from, StopReason::Gap);
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<PassiveEvent> {
        self.events.pop()
    }

    /// Bytes held for `from` and not decoded yet.
    pub fn buffered(&self, from: Direction) -> usize {
        match from {
            Direction::ClientToServer => self.client.buffered() + self.client.handshake.len(),
            Direction::ServerToClient => self.server.buffered() + self.server.handshake.len(),
        }
    }

    fn direction(&mut self, from: Direction) -> &mut DirectionState {
        match from {
            Direction::ClientToServer => &mut self.client,
            Direction::ServerToClient => &mut self.server,
        }
    }

    /// Decodes both directions until neither can go further: progress in one
    /// may let the other go on.
    fn run(&mut self, keys: &ServerKeys, cache: &mut SessionCache) {
        loop {
            let client = self.advance(Direction::ClientToServer, keys, cache);
            let server = self.advance(Direction::ServerToClient, keys, cache);
            if !client && !server {
                break;
            }
        }
        self.client.compact();
        self.server.compact();
    }

    /// Decodes what `from` can decode now; whether anything was.
    fn advance(&mut self, from: Direction, keys: &ServerKeys, cache: &mut SessionCache) -> bool {
        let mut progress = false;
        loop {
            if self.direction(from).stopped {
                return progress;
            }
            match self.handshake_message(from, keys, cache) {
                Some(true) => {
                    progress = true;
                    continue;
                }
                Some(false) => return progress,
                None => {}
            }
            if !self.record(from, keys, cache) {
                return progress;
            }
            progress = true;
        }
    }

    /// Handles the next whole handshake message of `from`, if there is one:
    /// `Some(true)` if handled, `Some(false)` if it waits for the other
    /// direction, `None` if there is no whole message.
    fn handshake_message(
        &mut self,
        from: Direction,
        keys: &ServerKeys,
        cache: &mut SessionCache,
    ) -> Option<bool> {
        let max = self.limits.max_handshake_message;
        let dir = self.direction(from);
        let header = dir.handshake.first_chunk::<HANDSHAKE_HEADER_LEN>()?;
        let typ = crate::msgs::enums::HandshakeType(header[0]);
        let len =
            usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
        if len > max {
            self.stop(from, StopReason::Limit);
            return Some(true);
        }
        let total = HANDSHAKE_HEADER_LEN + len;
        if dir.handshake.len() < total {
            return None;
        }
        if !self.follower.active(from, Some(typ)) {
            return Some(false);
        }
        let dir = self.direction(from);
        let rest = dir.handshake.split_off(total);
        let msg = core::mem::replace(&mut dir.handshake, rest);
        let mut ctx = Ctx {
            keys,
            cache,
            events: &mut self.events,
            // Saturating: `Limits` is the caller's, and may be anything.
            max_transcript: max.saturating_mul(4).saturating_add(1 << 16),
        };
        if let Err(fail) = self.follower.handle_message(from, &msg, &mut ctx) {
            self.fail(from, fail);
        }
        Some(true)
    }

    /// Decodes the next record of `from`; whether one was (or the direction
    /// stopped).
    fn record(&mut self, from: Direction, keys: &ServerKeys, cache: &mut SessionCache) -> bool {
        use crate::msgs::enums::ContentType;

        let (header, range) = match self.direction(from).peek() {
            Next::Partial => return false,
            Next::NotTls if !self.follower.started() => {
                self.fail(from, Fail::Undecryptable(Undecryptable::NotTls));
                return true;
            }
            Next::NotTls => {
                self.stop(from, StopReason::Malformed("not a TLS record"));
                return true;
            }
            Next::TooLong => {
                self.stop(from, StopReason::Malformed("record longer than TLS allows"));
                return true;
            }
            Next::Record(header, range) => (header, range),
        };
        let started = self.follower.started();
        match header.typ {
            ContentType::CHANGE_CIPHER_SPEC | ContentType::APPLICATION_DATA if !started => {
                self.fail(from, Fail::Undecryptable(Undecryptable::MidStream));
                return true;
            }
            ContentType::CHANGE_CIPHER_SPEC => {
                if !self.direction(from).handshake.is_empty() {
                    self.stop(
                        from,
                        StopReason::Malformed("ChangeCipherSpec inside a handshake message"),
                    );
                    return true;
                }
                if !self.follower.active(from, None) {
                    return false;
                }
            }
            ContentType::APPLICATION_DATA => {
                let queue = &self.events;
                let bound = self
                    .limits
                    .max_buffered
                    .saturating_mul(2)
                    .saturating_add(2 * MAX_CIPHERTEXT);
                if queue.events.len() >= MAX_QUEUED_EVENTS || queue.data > bound {
                    self.stop(from, StopReason::Limit);
                    return true;
                }
            }
            _ => {}
        }

        // Decrypt in place if this direction's keys are on.
        let dir = pick(&mut self.client, &mut self.server, from);
        dir.start = range.end;
        let encrypted = dir.reader.is_some();
        let plain = match dir.reader.as_mut() {
            None => range,
            Some(reader) => match dir
                .buf
                .get_mut(range.clone())
                .and_then(|f| reader.open(&header, f))
            {
                Some(r) => range.start + r.start..range.start + r.end,
                None => {
                    self.stop(from, StopReason::BadRecordMac);
                    return true;
                }
            },
        };
        let plaintext = dir.buf.get(plain).unwrap_or_default();
        match header.typ {
            ContentType::CHANGE_CIPHER_SPEC => {
                // RFC 5246 §7.1: a single byte of value 1.
                if plaintext != [1] {
                    self.stop(from, StopReason::Malformed("ChangeCipherSpec is not 01"));
                    return true;
                }
                let mut ctx = Ctx {
                    keys,
                    cache,
                    events: &mut self.events,
                    max_transcript: 0,
                };
                match self.follower.handle_ccs(from, &mut ctx) {
                    Ok(opener) => self.direction(from).reader = Some(opener),
                    Err(fail) => self.fail(from, fail),
                }
            }
            ContentType::HANDSHAKE => {
                // RFC 5246 §6.2.1: no zero-length handshake fragments.
                if plaintext.is_empty() {
                    self.stop(from, StopReason::Malformed("empty handshake record"));
                    return true;
                }
                let bound = self
                    .limits
                    .max_handshake_message
                    .saturating_add(HANDSHAKE_HEADER_LEN + MAX_CIPHERTEXT);
                if dir.handshake.len() + plaintext.len() > bound {
                    self.stop(from, StopReason::Limit);
                    return true;
                }
                dir.handshake.extend_from_slice(plaintext);
            }
            ContentType::ALERT => {
                // RFC 5246 §7.2: two bytes each; a record may hold several.
                if plaintext.is_empty() || plaintext.len() % 2 != 0 {
                    self.stop(
                        from,
                        StopReason::Malformed("alert record is not whole alerts"),
                    );
                    return true;
                }
                for pair in plaintext.chunks_exact(2) {
                    if let [level, description] = *pair {
                        self.events.push(PassiveEvent::Alert {
                            from,
                            level,
                            description,
                            encrypted,
                        });
                    }
                }
            }
            ContentType::APPLICATION_DATA => {
                if !encrypted {
                    self.stop(from, StopReason::Malformed("application data in the clear"));
                    return true;
                }
                let data = plaintext.to_vec();
                self.events
                    .push(PassiveEvent::ApplicationData { from, data });
            }
            // Heartbeat (RFC 6520): opened above so that the sequence number
            // moves on, then skipped.
            _ => {}
        }
        true
    }

    /// Acts on a failure of `from`'s handshake.
    fn fail(&mut self, from: Direction, fail: Fail) {
        match fail {
            Fail::Malformed(what) => self.stop(from, StopReason::Malformed(what)),
            Fail::Undecryptable(reason) => {
                self.events.push(PassiveEvent::Undecryptable {
                    handshake: self.follower.number(),
                    reason,
                });
                self.stop(from, StopReason::Undecryptable);
                self.stop(from.reverse(), StopReason::Undecryptable);
            }
            Fail::NoKeys => self.stop(from, StopReason::Undecryptable),
            Fail::Limit => self.stop(from, StopReason::Limit),
        }
    }

    /// Stops `from`, once. While a handshake is under way the other direction
    /// would wait for it forever: it stops too.
    fn stop(&mut self, from: Direction, reason: StopReason) {
        let dir = self.direction(from);
        if dir.stopped {
            return;
        }
        dir.stop();
        self.events.push(PassiveEvent::Stopped { from, reason });
        if self.follower.in_progress() || !self.follower.started() {
            self.stop(from.reverse(), StopReason::Undecryptable);
        }
    }
}

/// One direction's state, borrowed apart from the rest of the decoder.
fn pick<'a>(
    client: &'a mut DirectionState,
    server: &'a mut DirectionState,
    from: Direction,
) -> &'a mut DirectionState {
    match from {
        Direction::ClientToServer => client,
        Direction::ServerToClient => server,
    }
}

/// `v` without its leading zero bytes.
fn strip_zeros(v: &[u8]) -> &[u8] {
    let first = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    v.get(first..).unwrap_or_default()
}
