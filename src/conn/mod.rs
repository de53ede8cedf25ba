//! The sans-I/O connection: framing, record protection, alerts and events,
//! shared by both sides. The handshake state machines live in `client` and
//! `server`; they never see raw records, only typed messages.

use std::ops::Range;
use std::sync::Arc;

use rand_core::CryptoRng;

use crate::config::{Common, KeyLog};
use crate::crypto::{CryptoProvider, HashOutput};
use crate::error::Error;
use crate::key_schedule::{DirectionKeys, MasterSecret};
use crate::msgs::alert::Alert;
use crate::msgs::enums::{
    AlertDescription, AlertLevel, ContentType, HandshakeType, ProtocolVersion,
};
use crate::msgs::handshake::{
    HANDSHAKE_HEADER_LEN, HandshakeMessage, MAX_CLIENT_HELLO_LEN, handshake_name,
};
use crate::msgs::record::{HEADER_LEN, MAX_CIPHERTEXT, MAX_PLAINTEXT, RecordHeader};
use crate::record::{self, MAX_RECORD_LEN, RecordKey};
use crate::state_table::{self, Message, Outcome, Side, State as TableState};
use crate::suites::Suite;

mod client;
mod private_key;
mod server;

pub use client::Client;
pub use private_key::PrivateKeyOperation;
pub use server::Server;

/// A client connection.
pub type ClientConnection = Connection<Client>;

/// A server connection.
pub type ServerConnection = Connection<Server>;

/// Empty records, warning alerts and refused renegotiations tolerated between
/// two non-empty application-data records before the connection is closed (the
/// "SSL death alert" denial of service, CVE-2016-8610). Handshake records do not
/// reset the count, so a peer cannot interleave them to keep us answering.
pub const MAX_EMPTY_RUN: u32 = 32;

/// Bytes of protected application data `write_app_data` will queue before it
/// asks the caller to drain with `write_tls` first: one full record. The
/// outgoing buffer's capacity stays at this once the handshake is over.
pub const MAX_PENDING_OUTPUT: usize = record::sealed_len(MAX_PLAINTEXT);

/// The plaintext length of the next application-data record: up to 2^14 and
/// as much as `room` bytes of output can hold, or `None` if nothing fits.
fn fragment_len(remaining: usize, room: usize) -> Option<usize> {
    let n = remaining
        .min(MAX_PLAINTEXT)
        .min(room.checked_sub(HEADER_LEN + record::OVERHEAD)?);
    (n > 0).then_some(n)
}

/// Input buffer capacity [`Connection::release_buffers`] keeps: small records
/// come and go without an allocation, a full record's 18 KiB is given back.
const IDLE_INPUT_CAPACITY: usize = 1024;

/// What the connection has to tell its caller.
#[non_exhaustive]
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Both Finished messages were exchanged and verified: application data may flow.
    HandshakeComplete(&'a HandshakeInfo),
    /// Decrypted application data. The slice is valid until the next call on the
    /// connection.
    ApplicationData(&'a [u8]),
    /// The peer sent close_notify: a clean end of its data. Nothing more is read.
    PeerClosed,
    /// Server with [`ServerConfig::with_private_key_offload`]: the
    /// ClientKeyExchange needs this private-key operation. Perform it anywhere
    /// (e.g. [`PrivateKeyOperation::run`] on another thread) and hand the
    /// result to [`Connection::complete_private_key_operation`]. Until then
    /// the connection reads and buffers input (at most one record) but
    /// processes none of it, and [`Connection::poll_event`] yields nothing.
    ///
    /// A runnable example, with a "key server" thread completing the
    /// operations over channels: `examples/key_server.rs`
    /// (`cargo run --release --example key_server`).
    ///
    /// [`ServerConfig::with_private_key_offload`]: crate::ServerConfig::with_private_key_offload
    PrivateKeyOperation(PrivateKeyOperation),
}

/// What was negotiated.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// The cipher suite.
    pub suite: &'static Suite,
    /// Whether Extended Master Secret (RFC 7627) is in use. `false` only when the
    /// configuration allowed peers without it.
    pub extended_master_secret: bool,
    /// Whether the peer signalled secure renegotiation (RFC 5746).
    pub secure_renegotiation: bool,
    /// The server name the client asked for (SNI), if any.
    pub server_name: Option<String>,
    /// The peer's certificate chain, leaf first: on a client the server's; on
    /// a server the client's validated chain when it asked for one
    /// ([`crate::ServerConfig::with_client_auth`]) and the client sent one,
    /// and empty otherwise.
    pub peer_certificates: Vec<Vec<u8>>,
    /// The application protocol agreed with ALPN (RFC 7301), if any.
    pub alpn_protocol: Option<Vec<u8>>,
}

/// A TLS 1.2 connection, client or server, with no I/O of its own.
///
/// Bytes from the peer go in through [`read_tls`](Self::read_tls), events come out
/// of [`poll_event`](Self::poll_event), bytes for the peer come out of
/// [`write_tls`](Self::write_tls), and application data goes in through
/// [`write_app_data`](Self::write_app_data). Every random byte comes from the RNG
/// given at construction. The caller's loop:
///
/// ```
/// use std::sync::Arc;
/// use rand_chacha::ChaCha20Rng;
/// use rand_core::SeedableRng;
/// use rsatls::{ClientConfig, ClientConnection, Endpoint, Error, Event, ServerAuth, ServerConfig, ServerConnection};
///
/// /// Moves everything `from` has to send into `to`: the loop a caller runs over a
/// /// socket, with the socket replaced by a buffer.
/// fn deliver(from: &mut impl Endpoint, to: &mut impl Endpoint, received: &mut Vec<u8>) -> Result<(), Error> {
///     let mut wire = [0u8; 4096];
///     while from.wants_write() {
///         let n = from.write_tls(&mut wire);
///         let mut off = 0;
///         while off < n {
///             off += to.read_tls(&wire[off..n])?;
///             while let Some(event) = to.poll_event()? {
///                 match event {
///                     Event::HandshakeComplete(info) => println!("negotiated {}", info.suite.name),
///                     Event::ApplicationData(data) => received.extend_from_slice(data),
///                     Event::PeerClosed => println!("clean close"),
///                     _ => {}
///                 }
///             }
///         }
///     }
///     Ok(())
/// }
///
/// let provider = rsatls::crypto::rustcrypto::default_provider();
/// let server_config = ServerConfig::from_pem_or_der(
///     provider.clone(),
///     include_bytes!("../../tests/data/rsa2048.cert.pem"),
///     include_bytes!("../../tests/data/rsa2048.key.pem"),
/// )?;
/// let pins = rsatls::pki::parse_pins(include_str!("../../tests/data/rsa2048.pin"))?;
/// let client_config = ClientConfig::new(provider, ServerAuth::Pins(pins));
///
/// let mut client = ClientConnection::new(Arc::new(client_config), Some("localhost"), ChaCha20Rng::seed_from_u64(1))?;
/// let mut server = ServerConnection::new(Arc::new(server_config), ChaCha20Rng::seed_from_u64(2));
///
/// let (mut at_client, mut at_server) = (Vec::new(), Vec::new());
/// while !client.is_established() {
///     deliver(&mut client, &mut server, &mut at_server)?;
///     deliver(&mut server, &mut client, &mut at_client)?;
/// }
/// client.write_app_data(b"hello")?;
/// client.send_close_notify();
/// deliver(&mut client, &mut server, &mut at_server)?;
/// assert_eq!(at_server, b"hello");
/// # Ok::<(), rsatls::Error>(())
/// ```
pub struct Connection<R: Role> {
    core: Core,
    role: R,
}

/// The object-safe face of a connection, for code that drives either side.
pub trait Endpoint {
    /// See [`Connection::read_tls`].
    fn read_tls(&mut self, input: &[u8]) -> Result<usize, Error>;
    /// See [`Connection::poll_event`].
    fn poll_event(&mut self) -> Result<Option<Event<'_>>, Error>;
    /// See [`Connection::write_tls`].
    fn write_tls(&mut self, out: &mut [u8]) -> usize;
    /// See [`Connection::wants_write`].
    fn wants_write(&self) -> bool;
    /// See [`Connection::write_app_data`].
    fn write_app_data(&mut self, data: &[u8]) -> Result<usize, Error>;
    /// See [`Connection::write_app_data_to`].
    fn write_app_data_to(&mut self, data: &[u8], out: &mut [u8]) -> Result<(usize, usize), Error>;
    /// See [`Connection::send_close_notify`].
    fn send_close_notify(&mut self);
    /// See [`Connection::handle_eof`].
    fn handle_eof(&mut self) -> Result<(), Error>;
    /// See [`Connection::is_established`].
    fn is_established(&self) -> bool;
}

impl<R: Role> Connection<R> {
    pub(crate) fn from_parts(core: Core, role: R) -> Self {
        Self { core, role }
    }

    /// Gives the memory of the received-record buffer back once every byte in
    /// it was processed (bytes of a record still arriving are kept). Call it
    /// when the transport has nothing more to read: an idle connection then
    /// holds no record buffer, while a burst of records between two calls
    /// reuses one allocation. The tokio adapter calls it whenever a read would
    /// wait.
    pub fn release_buffers(&mut self) {
        self.core.input_consumed();
    }

    /// Feeds bytes received from the peer and returns how many were taken.
    ///
    /// At most one maximum-size record is buffered: when this returns less than
    /// `input.len()`, drain [`poll_event`](Self::poll_event) and call again with the
    /// rest. Returns the sticky error once the connection has failed.
    pub fn read_tls(&mut self, input: &[u8]) -> Result<usize, Error> {
        self.core.check()?;
        Ok(self.core.buffer_input(input))
    }

    /// Processes buffered input until it yields an event or needs more bytes.
    ///
    /// On a protocol error the matching alert is queued for
    /// [`write_tls`](Self::write_tls), and this and every later call return the error.
    pub fn poll_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        self.core.check()?;
        match self.process() {
            Ok(None) => Ok(None),
            Ok(Some(Pending::HandshakeComplete)) => {
                Ok(self.core.info.as_ref().map(Event::HandshakeComplete))
            }
            Ok(Some(Pending::Data(range))) => {
                Ok(Some(Event::ApplicationData(&self.core.incoming[range])))
            }
            Ok(Some(Pending::PeerClosed)) => Ok(Some(Event::PeerClosed)),
            Ok(Some(Pending::PrivateKeyOperation(op))) => Ok(Some(Event::PrivateKeyOperation(op))),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Hands back the result of the operation of
    /// [`Event::PrivateKeyOperation`]: `Ok` with the `k`-byte big-endian
    /// output of RSADP, or the failure. The engine then checks the PKCS#1 v1.5
    /// block in constant time and derives the keys; call
    /// [`poll_event`](Self::poll_event) to go on with the buffered input.
    ///
    /// A failure, or an output that is not exactly `k` bytes, is not an error
    /// here: it is treated as an invalid ClientKeyExchange (RFC 5246
    /// §7.4.7.1), so the handshake fails at the client's Finished with
    /// bad_record_mac, byte for byte as for a bad ciphertext, and nothing tells
    /// the client which it was.
    ///
    /// # Errors
    /// The connection's error if it failed meanwhile (the result is dropped),
    /// or [`Error::Internal`] if no operation is pending; neither queues
    /// anything for the peer.
    pub fn complete_private_key_operation<T: AsRef<[u8]>>(
        &mut self,
        result: Result<T, crate::crypto::CryptoError>,
    ) -> Result<(), Error> {
        self.core.check()?;
        if !self.role.awaiting_private_key() {
            return Err(Error::Internal("no private-key operation is pending"));
        }
        let output = result.as_ref().ok().map(AsRef::as_ref);
        match self.role.complete_private_key(&mut self.core, output) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Whether the connection waits for
    /// [`complete_private_key_operation`](Self::complete_private_key_operation).
    pub fn awaits_private_key_operation(&self) -> bool {
        self.core.error.is_none() && self.role.awaiting_private_key()
    }

    /// Moves bytes for the peer into `out`; returns how many were written.
    pub fn write_tls(&mut self, out: &mut [u8]) -> usize {
        self.core.drain_output(out)
    }

    /// Appends every pending byte for the peer to `out`.
    pub fn write_tls_into(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.core.outgoing[self.core.out_start..]);
        self.core.output_drained();
    }

    /// Whether bytes are waiting for [`write_tls`](Self::write_tls).
    pub fn wants_write(&self) -> bool {
        self.core.out_start < self.core.outgoing.len()
    }

    /// Protects application data for the peer and returns how much was taken.
    ///
    /// Takes as much as fits in one full record's worth of pending output
    /// ([`MAX_PENDING_OUTPUT`]), possibly zero; the caller drains
    /// [`write_tls`](Self::write_tls) and calls again. Fails with
    /// [`Error::NotConnected`] before the handshake completes or after
    /// close_notify was sent. [`write_app_data_to`](Self::write_app_data_to)
    /// does the same without the connection's buffer.
    pub fn write_app_data(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.core.check()?;
        if !self.core.established || self.core.sent_close {
            return Err(Error::NotConnected);
        }
        self.core.compact_output();
        // One allocation of exactly one record's worth, kept from then on.
        let room = MAX_PENDING_OUTPUT.saturating_sub(self.core.outgoing.len());
        self.core.outgoing.reserve_exact(room);
        // The room holds one record at most: after a full-size record, or one cut
        // short by the room, fewer bytes are left than the smallest record needs.
        let Some(n) = fragment_len(data.len(), room) else {
            return Ok(0);
        };
        match self
            .core
            .send_record(ContentType::APPLICATION_DATA, &data[..n])
        {
            Ok(()) => Ok(n),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Protects application data straight into `out`, a buffer the caller owns,
    /// and returns `(taken, written)`: the bytes of `data` consumed and the bytes
    /// of `out` filled with records, ready to send.
    ///
    /// The copy-free form of [`write_app_data`](Self::write_app_data): each
    /// record is encrypted from `data` into `out` and the connection keeps no
    /// copy. Records hold up to 2^14 bytes and as many are written as fit, so an
    /// `out` of [`MAX_PENDING_OUTPUT`] bytes always takes a full record. Output
    /// the connection has queued itself goes first: while
    /// [`wants_write`](Self::wants_write) is true this writes nothing.
    pub fn write_app_data_to(
        &mut self,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), Error> {
        self.core.check()?;
        if !self.core.established || self.core.sent_close {
            return Err(Error::NotConnected);
        }
        if self.wants_write() {
            return Ok((0, 0));
        }
        let (mut taken, mut written) = (0, 0);
        while taken < data.len() {
            let Some(n) = fragment_len(data.len() - taken, out.len() - written) else {
                break;
            };
            match self
                .core
                .seal_app_data_to(&data[taken..taken + n], &mut out[written..])
            {
                Ok(len) => written += len,
                Err(e) => return Err(self.fail(e)),
            }
            taken += n;
        }
        Ok((taken, written))
    }

    /// Queues a close_notify alert. Application data can no longer be written;
    /// keep reading until [`Event::PeerClosed`].
    pub fn send_close_notify(&mut self) {
        if !self.core.sent_close && self.core.error.is_none() {
            self.core
                .send_alert(AlertLevel::WARNING, AlertDescription::CLOSE_NOTIFY);
            self.core.sent_close = true;
        }
    }

    /// Tells the connection that the transport reached end of file.
    ///
    /// A clean end (the peer's close_notify after a completed handshake) is
    /// `Ok`; anything else is a truncation and returns [`Error::UnexpectedEof`].
    /// A close_notify before the handshake completed, sent in plaintext and so
    /// forgeable by anyone on the path, does not make the end clean.
    pub fn handle_eof(&mut self) -> Result<(), Error> {
        self.core.check()?;
        match self.core.peer_closed && self.core.established {
            true => Ok(()),
            false => Err(self.fail(Error::UnexpectedEof)),
        }
    }

    /// Whether the handshake has completed.
    pub fn is_established(&self) -> bool {
        self.core.established
    }

    /// What was negotiated, once the handshake has completed.
    pub fn handshake_info(&self) -> Option<&HandshakeInfo> {
        self.core.info.as_ref()
    }

    /// The handshake state, as named in [`crate::state_table`]; `None` once the
    /// connection has failed.
    pub fn state(&self) -> Option<TableState> {
        match self.core.error {
            Some(_) => None,
            None => self.role.table_state(),
        }
    }

    /// The error the connection failed with, if it has.
    pub fn error(&self) -> Option<&Error> {
        self.core.error.as_ref()
    }

    /// The one failure path: records the error and queues its alert (sealed
    /// while the write key is on), then forgets every secret both layers hold.
    fn fail(&mut self, err: Error) -> Error {
        let err = self.core.fail(err);
        self.role.forget_secrets();
        err
    }

    fn process(&mut self) -> Result<Option<Pending>, Error> {
        loop {
            if let Some(ev) = self.core.pending.take() {
                return Ok(Some(ev));
            }
            // Nothing is decided while the private-key operation is out: the
            // input stays buffered until it completes.
            if self.role.awaiting_private_key() || self.core.peer_closed {
                return Ok(None);
            }
            let order = (self.role.side(), self.role.table_state());
            if let Some(raw) = self.core.next_handshake_message(order)? {
                let msg = HandshakeMessage::decode(&raw)?;
                self.role
                    .handle(&mut self.core, Input::Handshake(msg, &raw))?;
                continue;
            }
            let Some((typ, range)) = self.core.next_record()? else {
                return Ok(None);
            };
            match typ {
                ContentType::HANDSHAKE => {
                    // RFC 5246 §6.2.1: zero-length Handshake fragments MUST NOT be sent.
                    if range.is_empty() {
                        return Err(Error::Decode("empty handshake fragment"));
                    }
                    // No size check here: a record may carry several messages, each
                    // within the limit. `next_handshake_message` bounds every message
                    // by its header before the next record is read, so the buffer
                    // never holds more than one message plus one record.
                    let Core {
                        hs_buf, incoming, ..
                    } = &mut self.core;
                    hs_buf.extend_from_slice(&incoming[range]);
                }
                ContentType::CHANGE_CIPHER_SPEC => {
                    // RFC 5246 §7.1: the message consists of a single byte of value 1.
                    // A record that is not that message is not a ChangeCipherSpec at
                    // all, so it is out of place: unexpected_message, as RFC 8446 §5
                    // requires, OpenSSL and GnuTLS answer, and RFC 5246 §7.2.2 also
                    // reads (formal/COMPLIANCE.md 5246-7.1-a).
                    if self.core.incoming[range] != [1] {
                        return Err(Error::UnexpectedMessage {
                            expected: "ChangeCipherSpec of the single byte 1",
                            got: "malformed ChangeCipherSpec",
                        });
                    }
                    // A CCS may not split a handshake message: the key change would
                    // land in its middle.
                    if self.core.hs_start != self.core.hs_buf.len() {
                        return Err(Error::UnexpectedMessage {
                            expected: "rest of a handshake message",
                            got: "ChangeCipherSpec",
                        });
                    }
                    self.role.handle(&mut self.core, Input::ChangeCipherSpec)?;
                }
                ContentType::ALERT => {
                    if let Some(ev) = self.core.handle_alert(range)? {
                        return Ok(Some(ev));
                    }
                }
                _ => {
                    // Application data (other types were refused by the record layer).
                    if !self.core.established {
                        return Err(Error::UnexpectedMessage {
                            expected: self.role.expecting(),
                            got: "application data",
                        });
                    }
                    if self.core.hs_start != self.core.hs_buf.len() {
                        return Err(Error::UnexpectedMessage {
                            expected: "rest of a handshake message",
                            got: "application data",
                        });
                    }
                    if range.is_empty() {
                        self.core.note_empty()?;
                        continue;
                    }
                    self.core.empty_run = 0;
                    return Ok(Some(Pending::Data(range)));
                }
            }
        }
    }
}

impl<R: Role> Endpoint for Connection<R> {
    fn read_tls(&mut self, input: &[u8]) -> Result<usize, Error> {
        Connection::read_tls(self, input)
    }
    fn poll_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        Connection::poll_event(self)
    }
    fn write_tls(&mut self, out: &mut [u8]) -> usize {
        Connection::write_tls(self, out)
    }
    fn wants_write(&self) -> bool {
        Connection::wants_write(self)
    }
    fn write_app_data(&mut self, data: &[u8]) -> Result<usize, Error> {
        Connection::write_app_data(self, data)
    }
    fn write_app_data_to(&mut self, data: &[u8], out: &mut [u8]) -> Result<(usize, usize), Error> {
        Connection::write_app_data_to(self, data, out)
    }
    fn send_close_notify(&mut self) {
        Connection::send_close_notify(self)
    }
    fn handle_eof(&mut self) -> Result<(), Error> {
        Connection::handle_eof(self)
    }
    fn is_established(&self) -> bool {
        Connection::is_established(self)
    }
}

impl<R: Role> core::fmt::Debug for Connection<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.role.expecting())
            .field("established", &self.core.established)
            .field("error", &self.core.error)
            .finish_non_exhaustive()
    }
}

/// RFC 5246 §7.2.2: whether a handshake message of type `typ` may arrive in
/// the state of `order`, decided by the declarative table alone. Messages the
/// table accepts, ignores or refuses go on to be decoded; a failed state has no
/// row and lets the handler report it.
fn check_order(
    (side, state): (Side, Option<TableState>),
    typ: HandshakeType,
    len: usize,
) -> Result<(), Error> {
    let Some(state) = state else {
        return Ok(());
    };
    match state_table::outcome(side, state, Message::of_handshake(typ, len)) {
        Outcome::Fatal(AlertDescription::UNEXPECTED_MESSAGE) => Err(Error::UnexpectedMessage {
            expected: state.expecting(),
            got: handshake_name(typ),
        }),
        _ => Ok(()),
    }
}

fn too_large() -> Error {
    Error::PeerMisbehaved(crate::error::Misbehavior::IllegalParameter(
        "handshake message exceeds the configured maximum",
    ))
}

pub(crate) enum Pending {
    HandshakeComplete,
    Data(Range<usize>),
    PeerClosed,
    PrivateKeyOperation(PrivateKeyOperation),
}

/// What a handshake state machine is handed.
pub(crate) enum Input<'a> {
    /// A decoded handshake message and its encoding (for the transcript).
    Handshake(HandshakeMessage, &'a [u8]),
    /// A ChangeCipherSpec record.
    ChangeCipherSpec,
}

mod sealed {
    pub trait Sealed {}
}

/// A side's handshake state machine. Implemented by [`Client`] and [`Server`] only.
#[allow(private_interfaces)]
pub trait Role: sealed::Sealed {
    /// Which side's rows of [`state_table`] this role follows.
    #[doc(hidden)]
    const SIDE: Side;
    /// Which machine of [`state_table`] this connection follows: [`Self::SIDE`]
    /// unless the configuration makes it another (a server that asks for
    /// client certificates).
    #[doc(hidden)]
    fn side(&self) -> Side {
        Self::SIDE
    }
    #[doc(hidden)]
    fn handle(&mut self, core: &mut Core, input: Input<'_>) -> Result<(), Error>;
    #[doc(hidden)]
    fn expecting(&self) -> &'static str;
    #[doc(hidden)]
    fn table_state(&self) -> Option<TableState>;
    /// Drops the master secret and pending record keys: called once, at the
    /// first fatal error, after its alert was queued.
    #[doc(hidden)]
    fn forget_secrets(&mut self);
    /// Whether a private-key operation is out
    /// ([`Event::PrivateKeyOperation`]): no input is processed until it completes.
    #[doc(hidden)]
    fn awaiting_private_key(&self) -> bool {
        false
    }
    /// Completes the pending private-key operation with its output (`None`
    /// if it failed).
    #[doc(hidden)]
    fn complete_private_key(
        &mut self,
        _core: &mut Core,
        _output: Option<&[u8]>,
    ) -> Result<(), Error> {
        Err(Error::Internal("no private-key operation is pending"))
    }
    /// Whether the master secret or a record key is still held.
    #[cfg(test)]
    fn holds_secrets(&self) -> bool;
}

/// State shared by both sides.
pub struct Core {
    pub(crate) provider: Arc<dyn CryptoProvider>,
    pub(crate) rng: Box<dyn CryptoRng + Send>,
    pub(crate) key_log: Option<Arc<dyn KeyLog>>,
    max_handshake_size: usize,

    incoming: Vec<u8>,
    in_start: usize,
    hs_buf: Vec<u8>,
    hs_start: usize,
    read_key: Option<RecordKey>,
    /// Before the first ClientHello is processed, a server accepts any {03,xx}
    /// record version (RFC 5246 Appendix E.1).
    pub(crate) lenient_record_version: bool,

    outgoing: Vec<u8>,
    out_start: usize,
    write_key: Option<RecordKey>,

    /// Every handshake message so far, for the Finished and EMS hashes.
    pub(crate) transcript: Vec<u8>,

    pub(crate) established: bool,
    pub(crate) info: Option<HandshakeInfo>,
    pending: Option<Pending>,
    peer_closed: bool,
    sent_close: bool,
    empty_run: u32,
    error: Option<Error>,
}

impl Core {
    pub(crate) fn new(common: &Common, rng: Box<dyn CryptoRng + Send>) -> Self {
        Self {
            provider: common.provider.clone(),
            rng,
            key_log: common.key_log.clone(),
            max_handshake_size: common.max_handshake_size,
            incoming: Vec::new(),
            in_start: 0,
            hs_buf: Vec::new(),
            hs_start: 0,
            read_key: None,
            lenient_record_version: false,
            outgoing: Vec::new(),
            out_start: 0,
            write_key: None,
            transcript: Vec::new(),
            established: false,
            info: None,
            pending: None,
            peer_closed: false,
            sent_close: false,
            empty_run: 0,
            error: None,
        }
    }

    fn check(&self) -> Result<(), Error> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Records a fatal error (the first one wins) and queues its alert.
    fn fail(&mut self, err: Error) -> Error {
        if self.error.is_none() {
            if let Some(desc) = err.alert() {
                let level = match desc {
                    AlertDescription::CLOSE_NOTIFY => AlertLevel::WARNING,
                    _ => AlertLevel::FATAL,
                };
                if !(self.sent_close && desc == AlertDescription::CLOSE_NOTIFY) {
                    self.send_alert(level, desc);
                }
            }
            self.error = Some(err);
            // Nothing more will be read or written: drop buffered input and the
            // record keys now, the write key only after the alert above was sealed.
            self.read_key = None;
            self.write_key = None;
            self.transcript.clear();
            self.hs_buf = Vec::new();
            self.hs_start = 0;
        }
        self.error.clone().unwrap_or(Error::Internal("error lost"))
    }

    fn buffer_input(&mut self, input: &[u8]) -> usize {
        // RFC 5246 §7.2.1: after close_notify, whatever the peer sends is ignored;
        // swallow it rather than let a full buffer stall the caller.
        if self.peer_closed {
            return input.len();
        }
        if self.in_start > 0 {
            self.incoming.copy_within(self.in_start.., 0);
            self.incoming.truncate(self.incoming.len() - self.in_start);
            self.in_start = 0;
        }
        let take = input.len().min(MAX_RECORD_LEN - self.incoming.len());
        self.incoming.extend_from_slice(&input[..take]);
        take
    }

    /// Once every buffered byte was processed, capacity over
    /// [`IDLE_INPUT_CAPACITY`] (a full record of up to 18 KiB) is given back.
    /// Nothing can borrow the buffer here: events borrow the connection.
    fn input_consumed(&mut self) {
        if self.in_start == self.incoming.len() {
            self.incoming.clear();
            self.in_start = 0;
            if self.incoming.capacity() > IDLE_INPUT_CAPACITY {
                self.incoming = Vec::new();
            }
        }
    }

    fn drain_output(&mut self, out: &mut [u8]) -> usize {
        let pending = &self.outgoing[self.out_start..];
        let n = pending.len().min(out.len());
        out[..n].copy_from_slice(&pending[..n]);
        self.out_start += n;
        if self.out_start == self.outgoing.len() {
            self.output_drained();
        }
        n
    }

    /// Empties the drained output buffer. Once the handshake is over, capacity
    /// beyond one record (a large certificate flight) is given back, so an
    /// established connection holds at most [`MAX_PENDING_OUTPUT`] here.
    fn output_drained(&mut self) {
        self.outgoing.clear();
        self.out_start = 0;
        if self.established && self.outgoing.capacity() > MAX_PENDING_OUTPUT {
            self.outgoing = Vec::new();
        }
    }

    /// Moves pending output to the front of the buffer.
    fn compact_output(&mut self) {
        if self.out_start > 0 {
            self.outgoing.drain(..self.out_start);
            self.out_start = 0;
        }
    }

    /// Seals one application-data record into the caller's `out`.
    fn seal_app_data_to(&mut self, fragment: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        match &mut self.write_key {
            Some(key) => key.seal_to(ContentType::APPLICATION_DATA, fragment, out),
            None => Err(Error::Internal("no write key on an established connection")),
        }
    }

    /// Takes the next whole record from the input buffer, decrypting it in place
    /// when read protection is on. Returns its type and the plaintext's range.
    fn next_record(&mut self) -> Result<Option<(ContentType, Range<usize>)>, Error> {
        let avail = &self.incoming[self.in_start..];
        let Some(header) = avail.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let header = RecordHeader::decode(header)?;
        // RFC 5246 Appendix E.1: the ClientHello's record may carry any {03,xx};
        // everything else must be TLS 1.2.
        let version_ok = match self.lenient_record_version {
            true => header.version.0 >> 8 == 3,
            false => header.version == ProtocolVersion::TLSV1_2,
        };
        if !version_ok {
            return Err(Error::ProtocolVersion);
        }
        match header.typ {
            ContentType::HANDSHAKE
            | ContentType::ALERT
            | ContentType::CHANGE_CIPHER_SPEC
            | ContentType::APPLICATION_DATA => {}
            // RFC 5246 §6: an unexpected record type gets unexpected_message.
            _ => {
                return Err(Error::UnexpectedMessage {
                    expected: "a known record type",
                    got: "unknown record type",
                });
            }
        }
        let len = usize::from(header.len);
        // RFC 5246 §6.2.1, §6.2.3: 2^14 for plaintext, 2^14 + 2048 for ciphertext.
        let limit = match self.read_key {
            Some(_) => MAX_CIPHERTEXT,
            None => MAX_PLAINTEXT,
        };
        if len > limit {
            return Err(Error::RecordOverflow);
        }
        if avail.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let start = self.in_start + HEADER_LEN;
        self.in_start = start + len;
        let range = start..start + len;
        match &mut self.read_key {
            None => Ok(Some((header.typ, range))),
            Some(key) => {
                let inner = key.open(header.typ, &mut self.incoming[range])?;
                Ok(Some((header.typ, start + inner.start..start + inner.end)))
            }
        }
    }

    /// Pops one complete handshake message (header included) from the
    /// reassembly buffer.
    ///
    /// The 4-byte header decides first, in this order: whether a message of
    /// this type may arrive in the state `order` names (per
    /// [`state_table::outcome`]), then whether its declared length is allowed.
    /// Only then is the body buffered and, by the caller, decoded.
    fn next_handshake_message(
        &mut self,
        order: (Side, Option<TableState>),
    ) -> Result<Option<Vec<u8>>, Error> {
        let avail = &self.hs_buf[self.hs_start..];
        let Some(&[t, a, b, c]) = avail.first_chunk::<HANDSHAKE_HEADER_LEN>() else {
            return Ok(None);
        };
        let typ = HandshakeType(t);
        let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
        // RFC 5246 §7.2.2, §7.4: a message out of order is an unexpected_message,
        // whatever its body holds.
        check_order(order, typ, len)?;
        match typ {
            // RFC 5246 §7.4.1.2: every ClientHello up to the largest the wire
            // format allows is legal; a length beyond that cannot be one.
            HandshakeType::CLIENT_HELLO if len > MAX_CLIENT_HELLO_LEN => {
                return Err(Error::Decode(
                    "ClientHello longer than its wire format allows",
                ));
            }
            HandshakeType::CLIENT_HELLO => {}
            _ if len > self.max_handshake_size => return Err(too_large()),
            _ => {}
        }
        let Some(raw) = avail.get(..HANDSHAKE_HEADER_LEN + len) else {
            return Ok(None);
        };
        let raw = raw.to_vec();
        self.hs_start += raw.len();
        if self.hs_start == self.hs_buf.len() {
            self.hs_buf.clear();
            self.hs_start = 0;
            // A large message (a ClientHello of up to 128 KiB, a long chain)
            // gives its capacity back; one record's worth is kept.
            if self.hs_buf.capacity() > MAX_PLAINTEXT {
                self.hs_buf = Vec::new();
            }
        }
        Ok(Some(raw))
    }

    fn handle_alert(&mut self, range: Range<usize>) -> Result<Option<Pending>, Error> {
        // RFC 5246 §6.2.1: zero-length Alert fragments MUST NOT be sent.
        let alert = Alert::decode(&self.incoming[range])?;
        match (alert.level, alert.description) {
            // §7.2.1: close_notify ends the peer's data; whatever follows is ignored.
            (_, AlertDescription::CLOSE_NOTIFY) => {
                self.peer_closed = true;
                self.read_key = None;
                Ok(Some(Pending::PeerClosed))
            }
            (AlertLevel::WARNING, _) => {
                self.note_empty()?;
                Ok(None)
            }
            // §7.2: a fatal alert terminates the connection immediately; unknown
            // levels are treated as fatal.
            (_, desc) => Err(Error::AlertReceived(desc)),
        }
    }

    pub(crate) fn note_empty(&mut self) -> Result<(), Error> {
        self.empty_run += 1;
        match self.empty_run > MAX_EMPTY_RUN {
            true => Err(Error::TooManyEmptyRecords),
            false => Ok(()),
        }
    }

    /// Writes one record, protected when write keys are on.
    fn send_record(&mut self, typ: ContentType, fragment: &[u8]) -> Result<(), Error> {
        match &mut self.write_key {
            Some(key) => key.seal(typ, fragment, &mut self.outgoing),
            None => {
                record::write_plain(typ, ProtocolVersion::TLSV1_2, fragment, &mut self.outgoing);
                Ok(())
            }
        }
    }

    pub(crate) fn send_alert(&mut self, level: AlertLevel, desc: AlertDescription) {
        let alert = Alert {
            level,
            description: desc,
        }
        .encode();
        // An alert can only fail to seal at the absolute sequence limit, where the
        // connection is already over.
        let _ = self.send_record(ContentType::ALERT, &alert);
    }

    /// Encodes handshake messages into as few records as possible, adding them to
    /// the transcript.
    pub(crate) fn send_handshake(&mut self, msgs: &[&HandshakeMessage]) -> Result<(), Error> {
        let start = self.transcript.len();
        for m in msgs {
            m.encode(&mut self.transcript);
        }
        let end = self.transcript.len();
        let mut at = start;
        while at < end {
            let next = (at + MAX_PLAINTEXT).min(end);
            let fragment = self.transcript[at..next].to_vec();
            self.send_record(ContentType::HANDSHAKE, &fragment)?;
            at = next;
        }
        Ok(())
    }

    pub(crate) fn send_change_cipher_spec(&mut self, key: RecordKey) -> Result<(), Error> {
        self.send_record(ContentType::CHANGE_CIPHER_SPEC, &[1])?;
        self.write_key = Some(key);
        Ok(())
    }

    pub(crate) fn activate_read_key(&mut self, key: RecordKey) {
        self.read_key = Some(key);
    }

    pub(crate) fn transcript_hash(&self, suite: &Suite) -> HashOutput {
        self.provider.hash(suite.hash, &self.transcript)
    }

    pub(crate) fn random<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.rng.fill_bytes(&mut out);
        out
    }

    /// Builds the record key for one direction.
    pub(crate) fn record_key(
        &self,
        suite: &Suite,
        keys: &DirectionKeys,
    ) -> Result<RecordKey, Error> {
        let aead = self
            .provider
            .aead_key(suite.aead, keys.key())
            .map_err(|_| Error::Internal("AEAD key setup failed"))?;
        Ok(RecordKey::new(aead, keys.salt))
    }

    pub(crate) fn log_master_secret(&self, client_random: &[u8; 32], master: &MasterSecret) {
        if let Some(log) = &self.key_log {
            log.log("CLIENT_RANDOM", client_random, master.as_bytes());
        }
    }

    /// Marks the handshake complete and queues the event.
    pub(crate) fn complete(&mut self, info: HandshakeInfo) {
        self.established = true;
        self.info = Some(info);
        self.pending = Some(Pending::HandshakeComplete);
        // The transcript is not needed again: no renegotiation, no resumption.
        self.transcript = Vec::new();
    }

    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn set_sequence_numbers(&mut self, read: u64, write: u64) {
        if let Some(k) = &mut self.read_key {
            k.set_seq(read);
        }
        if let Some(k) = &mut self.write_key {
            k.set_seq(write);
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl<R: Role> Connection<R> {
    /// Bytes of capacity the connection's record, reassembly and output
    /// buffers hold now. For tests.
    #[doc(hidden)]
    pub fn buffered_capacity_for_testing_only(&self) -> usize {
        self.core.incoming.capacity() + self.core.hs_buf.capacity() + self.core.outgoing.capacity()
    }

    /// Sets both sequence numbers, to reach the 2^24 record limit in tests.
    #[doc(hidden)]
    pub fn set_sequence_numbers_for_testing_only(&mut self, read: u64, write: u64) {
        self.core.set_sequence_numbers(read, write);
    }
}

#[cfg(test)]
mod tests {
    //! What no public API shows: the buffers' capacity (the output kept at one
    //! record while established, a large handshake flight's or ClientHello's
    //! capacity given back), and that every secret is gone after a fatal error.

    use std::sync::Arc;

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::{ClientConfig, ClientConnection, ServerAuth, ServerConfig, ServerConnection, pki};

    const CERT: &[u8] = include_bytes!("../../tests/data/rsa2048.cert.der");
    const KEY: &[u8] = include_bytes!("../../tests/data/rsa2048.key.der");

    /// A client and a server whose Certificate message repeats the leaf
    /// `copies` times (a stand-in for a long chain: the client checks the leaf).
    fn established(copies: usize) -> (ClientConnection, ServerConnection) {
        let provider = crate::crypto::default_provider();
        let key = pki::load_private_key(KEY).unwrap();
        let chain = vec![CERT.to_vec(); copies];
        let server = ServerConfig::new(provider.clone(), chain, &key).unwrap();
        let spki = pki::rsa_key_from_certificate(CERT).unwrap().spki_der;
        let pin = pki::pin_of_spki(provider.as_ref(), &spki);
        let client = ClientConfig::new(provider, ServerAuth::Pins(vec![pin]));
        let mut c = ClientConnection::new(
            Arc::new(client),
            Some("localhost"),
            ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
        let mut s = ServerConnection::new(Arc::new(server), ChaCha20Rng::seed_from_u64(2));
        for _ in 0..2 {
            deliver(&mut c, &mut s);
            deliver(&mut s, &mut c);
        }
        assert!(c.is_established() && s.is_established());
        (c, s)
    }

    /// Moves every pending byte of `from` to `to` and consumes the events.
    fn deliver(from: &mut dyn Endpoint, to: &mut dyn Endpoint) {
        let mut wire = [0u8; 4096];
        while from.wants_write() {
            let n = from.write_tls(&mut wire);
            assert!(n > 0);
            let (mut off, mut stalled) = (0, false);
            while off < n {
                let taken = to.read_tls(&wire[off..n]).unwrap();
                assert!(
                    taken > 0 || !stalled,
                    "read_tls takes nothing after a drain"
                );
                (off, stalled) = (off + taken, taken == 0);
                while to.poll_event().unwrap().is_some() {}
            }
        }
    }

    #[test]
    fn a_large_handshake_flight_gives_its_capacity_back() {
        // 24 copies of an 844-byte certificate: a flight over one record.
        assert!(24 * CERT.len() > MAX_PENDING_OUTPUT);
        let (_, mut s) = established(24);
        assert!(s.core.outgoing.capacity() <= MAX_PENDING_OUTPUT);
        // A small flight never grew past one record, and nothing is freed.
        let (_, s_small) = established(1);
        assert!(s_small.core.outgoing.capacity() > 0);
        s.write_app_data(b"x").unwrap();
        assert!(s.core.outgoing.capacity() >= MAX_PENDING_OUTPUT);
    }

    #[test]
    fn established_output_capacity_is_kept_between_records() {
        let (mut c, mut s) = established(1);
        for len in [1, 100, MAX_PLAINTEXT] {
            assert_eq!(c.write_app_data(&vec![7; len]), Ok(len));
            let held = c.core.outgoing.capacity();
            assert!(held >= MAX_PENDING_OUTPUT);
            deliver(&mut c, &mut s);
            assert_eq!(
                c.core.outgoing.capacity(),
                held,
                "draining a record frees the buffer"
            );
        }
    }

    #[test]
    fn a_large_client_hello_gives_the_reassembly_capacity_back() {
        // 200 ALPN names of 255 bytes: a ClientHello of over 51 KB, in four records.
        let names: Vec<Vec<u8>> = (0..200u8).map(|i| vec![b'a' + i % 26; 255]).collect();
        let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let provider = crate::crypto::default_provider();
        let key = pki::load_private_key(KEY).unwrap();
        let server = ServerConfig::new(provider.clone(), vec![CERT.to_vec()], &key)
            .unwrap()
            .with_alpn_protocols(&refs[199..])
            .unwrap();
        let client = ClientConfig::new(provider, ServerAuth::DangerousAcceptAnyKeyForTestingOnly)
            .with_alpn_protocols(&refs)
            .unwrap();
        let mut c =
            ClientConnection::new(Arc::new(client), None, ChaCha20Rng::seed_from_u64(1)).unwrap();
        let mut s = ServerConnection::new(Arc::new(server), ChaCha20Rng::seed_from_u64(2));
        assert!(c.core.outgoing.len() > 51_000);
        deliver(&mut c, &mut s);
        assert!(s.core.hs_buf.capacity() <= MAX_PLAINTEXT, "after the hello");
        deliver(&mut s, &mut c);
        deliver(&mut c, &mut s);
        deliver(&mut s, &mut c);
        assert!(c.is_established() && s.is_established());
        s.release_buffers();
        let held = s.buffered_capacity_for_testing_only();
        // No incoming record (given back once processed), and a few KiB of
        // the last flight: 1 440 bytes with this hello.
        assert!(held <= IDLE_INPUT_CAPACITY + 3 * 1024, "{held} bytes held");
    }

    #[test]
    fn an_idle_connection_gives_the_record_buffer_back() {
        let (mut c, mut s) = established(1);
        for len in [MAX_PLAINTEXT, 100, MAX_PLAINTEXT] {
            assert_eq!(c.write_app_data(&vec![7; len]), Ok(len));
            // Delivered in 4 KiB pieces: the buffer grows to the whole record,
            // and is kept until the caller releases it.
            deliver(&mut c, &mut s);
            if len == MAX_PLAINTEXT {
                assert!(s.core.incoming.capacity() > IDLE_INPUT_CAPACITY);
            }
            s.release_buffers();
            assert!(
                s.core.incoming.capacity() <= IDLE_INPUT_CAPACITY,
                "{} bytes kept after a {len}-byte record",
                s.core.incoming.capacity()
            );
        }
        // A record split mid-way keeps its bytes until the rest arrives.
        assert_eq!(c.write_app_data(&[9; 3000]), Ok(3000));
        let mut wire = Vec::new();
        c.write_tls_into(&mut wire);
        assert_eq!(s.read_tls(&wire[..2000]), Ok(2000));
        assert_eq!(s.poll_event(), Ok(None));
        s.release_buffers();
        assert_eq!(s.core.incoming.len() - s.core.in_start, 2000);
        assert_eq!(s.read_tls(&wire[2000..]), Ok(wire.len() - 2000));
        assert_eq!(
            s.poll_event(),
            Ok(Some(Event::ApplicationData(&[9; 3000][..])))
        );
        assert_eq!(s.poll_event(), Ok(None));
        s.release_buffers();
        assert!(s.core.incoming.capacity() <= IDLE_INPUT_CAPACITY);
    }

    #[test]
    fn application_data_inside_a_split_handshake_message_is_unexpected() {
        let (mut c, mut s) = established(1);
        // The first two bytes of a handshake header, then a data record: the
        // public API never sends this, so the server's core writes it.
        s.core.send_record(ContentType::HANDSHAKE, &[0, 0]).unwrap();
        assert_eq!(s.write_app_data(b"x"), Ok(1));
        let mut wire = Vec::new();
        s.write_tls_into(&mut wire);
        assert_eq!(
            feed(&mut c, &wire),
            Err(Error::UnexpectedMessage {
                expected: "rest of a handshake message",
                got: "application data",
            })
        );
    }

    /// A client and a server after the client's second flight (ClientKeyExchange,
    /// ChangeCipherSpec, Finished), which is returned undelivered: both sides hold
    /// the master secret.
    fn keyed() -> (ClientConnection, ServerConnection, Vec<u8>) {
        let (mut c, mut s) = fresh();
        deliver(&mut c, &mut s);
        deliver(&mut s, &mut c);
        let mut flight = Vec::new();
        c.write_tls_into(&mut flight);
        assert!(c.role.holds_secrets() && c.core.write_key.is_some());
        (c, s, flight)
    }

    fn fresh() -> (ClientConnection, ServerConnection) {
        let provider = crate::crypto::default_provider();
        let key = pki::load_private_key(KEY).unwrap();
        let server = ServerConfig::new(provider.clone(), vec![CERT.to_vec()], &key).unwrap();
        let client = ClientConfig::new(provider, ServerAuth::DangerousAcceptAnyKeyForTestingOnly);
        let c =
            ClientConnection::new(Arc::new(client), None, ChaCha20Rng::seed_from_u64(1)).unwrap();
        let s = ServerConnection::new(Arc::new(server), ChaCha20Rng::seed_from_u64(2));
        (c, s)
    }

    /// Feeds `wire` to `to`, draining events; the first error ends it.
    fn feed(to: &mut dyn Endpoint, wire: &[u8]) -> Result<(), Error> {
        let (mut off, mut stalled) = (0, false);
        while off < wire.len() {
            let taken = to.read_tls(&wire[off..])?;
            assert!(
                taken > 0 || !stalled,
                "read_tls takes nothing after a drain"
            );
            (off, stalled) = (off + taken, taken == 0);
            while to.poll_event()?.is_some() {}
        }
        Ok(())
    }

    /// The connection failed with `err` and holds no secret: no master secret or
    /// pending key in its role, no record key in either direction.
    #[track_caller]
    fn assert_forgotten<R: Role>(conn: &Connection<R>, err: Error) {
        assert_eq!(conn.core.error, Some(err));
        assert!(!conn.role.holds_secrets(), "master secret kept");
        assert!(conn.core.read_key.is_none(), "read key kept");
        assert!(conn.core.write_key.is_none(), "write key kept");
        assert!(conn.core.transcript.is_empty());
    }

    /// The one alert the connection queued, as (type, fragment length).
    fn queued_alert<R: Role>(conn: &mut Connection<R>) -> (u8, usize) {
        let mut out = Vec::new();
        conn.write_tls_into(&mut out);
        assert_eq!(
            out.len(),
            HEADER_LEN + usize::from(u16::from_be_bytes([out[3], out[4]]))
        );
        (out[0], out.len() - HEADER_LEN)
    }

    const ENCRYPTED_ALERT: (u8, usize) = (21, 8 + 2 + 16);
    const PLAIN_ALERT: (u8, usize) = (21, 2);
    const FATAL_HANDSHAKE_FAILURE: [u8; 7] = [21, 3, 3, 0, 2, 2, 40];

    #[test]
    fn a_bad_record_mac_on_the_client_finished_forgets_the_server_secrets() {
        let (_, mut s, mut flight) = keyed();
        *flight.last_mut().unwrap() ^= 1;
        assert_eq!(feed(&mut s, &flight), Err(Error::BadRecordMac));
        assert_eq!(queued_alert(&mut s), PLAIN_ALERT);
        assert_forgotten(&s, Error::BadRecordMac);
    }

    #[test]
    fn a_bad_record_mac_on_the_server_finished_forgets_the_client_secrets() {
        let (mut c, mut s, flight) = keyed();
        feed(&mut s, &flight).unwrap();
        let mut answer = Vec::new();
        s.write_tls_into(&mut answer);
        *answer.last_mut().unwrap() ^= 1;
        assert_eq!(feed(&mut c, &answer), Err(Error::BadRecordMac));
        // The alert still went out under the client's write key.
        assert_eq!(queued_alert(&mut c), ENCRYPTED_ALERT);
        assert_forgotten(&c, Error::BadRecordMac);
    }

    #[test]
    fn a_received_fatal_alert_forgets_the_secrets_on_both_sides() {
        let (mut c, mut s, flight) = keyed();
        let err = Error::AlertReceived(AlertDescription::HANDSHAKE_FAILURE);
        assert_eq!(feed(&mut c, &FATAL_HANDSHAKE_FAILURE), Err(err.clone()));
        assert_forgotten(&c, err.clone());
        // The server after the ClientKeyExchange, before the ChangeCipherSpec.
        let cke = &flight[..HEADER_LEN + usize::from(u16::from_be_bytes([flight[3], flight[4]]))];
        feed(&mut s, cke).unwrap();
        assert!(s.role.holds_secrets());
        assert_eq!(feed(&mut s, &FATAL_HANDSHAKE_FAILURE), Err(err.clone()));
        assert_forgotten(&s, err);
    }

    #[test]
    fn a_handshake_layer_error_forgets_the_secrets_on_both_sides() {
        let (mut c, mut s, flight) = keyed();
        // A ServerHelloDone where the client waits for ChangeCipherSpec.
        let done = [22, 3, 3, 0, 4, 14, 0, 0, 0];
        let err = Error::UnexpectedMessage {
            expected: "ChangeCipherSpec",
            got: "ServerHelloDone",
        };
        assert_eq!(feed(&mut c, &done), Err(err.clone()));
        assert_eq!(queued_alert(&mut c), ENCRYPTED_ALERT);
        assert_forgotten(&c, err);
        // A plaintext Finished where the server waits for ChangeCipherSpec.
        let cke = &flight[..HEADER_LEN + usize::from(u16::from_be_bytes([flight[3], flight[4]]))];
        feed(&mut s, cke).unwrap();
        let finished = [
            22, 3, 3, 0, 16, 20, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let err = Error::UnexpectedMessage {
            expected: "ChangeCipherSpec",
            got: "Finished",
        };
        assert_eq!(feed(&mut s, &finished), Err(err.clone()));
        assert_eq!(queued_alert(&mut s), PLAIN_ALERT);
        assert_forgotten(&s, err);
    }
}
