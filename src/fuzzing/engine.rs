//! The engine targets: arbitrary peer bytes, cut into arbitrary chunks, fed to a
//! server or client connection, with the connection's invariants checked after
//! every call ([`Watch`], which the `session` target uses too).
//!
//! Input layout: one control byte, then the peer's bytes. The control byte's low
//! two bits pick the configuration ([`Variant`]); the other six pick the chunking:
//! 0 feeds everything at once, `m > 0` feeds pseudo-random chunks of
//! 1..=2^(m mod 15) bytes.
//!
//! [`server_offload`] has a second control byte ([`Offload`]): how the server's
//! handed-out private-key operation is answered, and when.

use super::fixtures::{
    Crypto, SERVER_NAME, Side, Variant, new_client, new_offloading_server, new_server,
};
use crate::crypto::CryptoError;
use crate::crypto::transparent::TRANSPARENT_TAG;
use crate::msgs::enums::{AlertDescription, AlertLevel, ContentType, ProtocolVersion};
use crate::msgs::record::{HEADER_LEN, MAX_PLAINTEXT, RecordHeader};
use crate::record::{EXPLICIT_NONCE_LEN, OVERHEAD};
use crate::suites::{TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use crate::{Connection, Error, Event, HandshakeInfo, PrivateKeyOperation, Role};

/// Output allowed beyond twice the bytes fed and written: the server's first
/// flight, the client's, Finished, close_notify and a few alerts.
const OUTPUT_SLACK: usize = 16 * 1024;

/// What a run reached. Fuzz targets ignore it; the corpus replay checks that the
/// seeds get deep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// HandshakeComplete was seen.
    pub established: bool,
    /// Application data received, in order.
    pub received: Vec<u8>,
    /// PeerClosed was seen.
    pub peer_closed: bool,
    /// The error the connection failed with (at the latest at end of input).
    pub error: Option<Error>,
}

/// A server with the real provider fed arbitrary client bytes; it echoes data.
pub fn server(data: &[u8]) -> Outcome {
    run(Side::Server, Crypto::Real, data)
}

/// A server with the transparent provider, so fuzzed flights reach application data.
pub fn server_transparent(data: &[u8]) -> Outcome {
    run(Side::Server, Crypto::Transparent, data)
}

/// A client with the real provider fed arbitrary server bytes; it sends "ping"
/// once the handshake completes.
pub fn client(data: &[u8]) -> Outcome {
    run(Side::Client, Crypto::Real, data)
}

/// A client with the transparent provider, so fuzzed flights reach application data.
pub fn client_transparent(data: &[u8]) -> Outcome {
    run(Side::Client, Crypto::Transparent, data)
}

/// A server with the real provider that hands its private-key operation out
/// ([`crate::ServerConfig::with_private_key_offload`]), fed arbitrary client
/// bytes; it echoes data. Input: the control byte as for [`server`], an
/// [`Offload`] byte, then the client's bytes. Checked besides [`Watch`]'s
/// invariants: nothing is decided while the operation is out, a second
/// completion is refused, a connection that failed meanwhile returns its error
/// on completion, and an answer other than the real one never establishes.
pub fn server_offload(data: &[u8]) -> Outcome {
    let Some((&control, rest)) = data.split_first() else {
        return Outcome::default();
    };
    let Some((&offload, wire)) = rest.split_first() else {
        return Outcome::default();
    };
    let variant = Variant::from_bits(control);
    let chunks = Chunks::new(control >> 2, wire);
    let watch = Watch::new(Crypto::Real, Side::Server, variant, Reply::Echo)
        .offloading(Offload::from_bits(offload));
    drive(
        &mut new_offloading_server(Crypto::Real, variant),
        watch,
        chunks,
    )
}

/// How [`server_offload`] answers the private-key operation: the low two bits
/// pick the answer (0 the real output, 1 a failure, 2 one byte short, 3 the
/// first byte flipped); the other six how many further `read_tls` calls pass
/// first (0: at once; the operation is answered early when the buffer is full).
/// If it is still out at end of input, an even count answers it first, an odd
/// one ends the transport first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offload {
    answer: Answer,
    after: usize,
}

/// The answer to a handed-out private-key operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// [`PrivateKeyOperation::run`]'s output.
    Real,
    /// A failure.
    Failed,
    /// The real output less its first byte: the same integer, one byte short.
    WrongLength,
    /// The real output with the first byte (0x00 in a valid block) flipped.
    Flipped,
}

impl Offload {
    fn from_bits(bits: u8) -> Self {
        let answer = match bits & 3 {
            0 => Answer::Real,
            1 => Answer::Failed,
            2 => Answer::WrongLength,
            _ => Answer::Flipped,
        };
        Self {
            answer,
            after: usize::from(bits >> 2),
        }
    }
}

fn run(side: Side, crypto: Crypto, data: &[u8]) -> Outcome {
    let Some((&control, wire)) = data.split_first() else {
        return Outcome::default();
    };
    let variant = Variant::from_bits(control);
    let chunks = Chunks::new(control >> 2, wire);
    match side {
        Side::Server => {
            let watch = Watch::new(crypto, side, variant, Reply::Echo);
            drive(&mut new_server(crypto, variant), watch, chunks)
        }
        Side::Client => {
            let watch = Watch::new(crypto, side, variant, Reply::Ping);
            drive(&mut new_client(crypto, variant), watch, chunks)
        }
    }
}

fn drive<R: Role>(conn: &mut Connection<R>, mut watch: Watch, chunks: Chunks<'_>) -> Outcome {
    watch.collect(conn);
    for piece in chunks {
        if watch.outcome.error.is_some() {
            break;
        }
        watch.feed(conn, piece);
    }
    watch.eof(conn);
    watch.outcome
}

/// Pseudo-random chunks of the input (xorshift32), or the whole input at once.
struct Chunks<'a> {
    rest: &'a [u8],
    max: usize,
    state: u32,
}

impl<'a> Chunks<'a> {
    fn new(mode: u8, wire: &'a [u8]) -> Self {
        let max = match mode {
            0 => usize::MAX,
            m => 1 << (m % 15),
        };
        Self {
            rest: wire,
            max,
            state: 0x9e37_79b9 ^ u32::from(mode),
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let n = match self.max {
            usize::MAX => self.rest.len(),
            max => {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 17;
                self.state ^= self.state << 5;
                1 + self.state as usize % max
            }
        };
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        Some(head)
    }
}

/// What the application does with events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Nothing beyond answering close_notify (the `session` target writes itself).
    Nothing,
    /// Echo application data back (the server targets).
    Echo,
    /// Send "ping" once the handshake completes (the client targets).
    Ping,
}

/// An owned copy of an event, so the connection can be used while handling it.
enum Seen {
    Complete(HandshakeInfo),
    Data(Vec<u8>),
    Closed,
}

/// The last record a connection wrote: type, plaintext if readable, fragment length.
type LastRecord = (ContentType, Option<Vec<u8>>, usize);

/// Drives one connection like an application would, and checks its invariants:
///
/// - output is whole, well-formed TLS 1.2 records; after our ChangeCipherSpec
///   every record is protected with the sequence number as explicit nonce
///   (and, with the transparent provider, carries the transparent tag);
/// - output stays within [`OUTPUT_SLACK`] plus twice the bytes fed and written;
/// - `read_tls` never stalls: when it takes nothing, `poll_event` makes room;
/// - events come in order: at most one HandshakeComplete, data only after it
///   and never empty, nothing after PeerClosed;
/// - an error never blames us (`Internal`, `Config`...), the alert it queues
///   is the last record written and matches `Error::alert`, and the error is
///   sticky: every later call returns it and nothing more is written;
/// - `write_app_data` takes all of a small write once established, and fails
///   with `NotConnected` before that or after close_notify;
/// - `handle_eof` is clean only after PeerClosed.
pub(crate) struct Watch {
    crypto: Crypto,
    side: Side,
    variant: Variant,
    reply: Reply,
    pub(crate) outcome: Outcome,
    /// Everything the connection wrote.
    out: Vec<u8>,
    /// `out` has been checked up to here, record by record.
    checked: usize,
    last: Option<LastRecord>,
    /// Records after our ChangeCipherSpec, and how many so far.
    protected: bool,
    write_seq: u64,
    fed: usize,
    written: usize,
    events: usize,
    sent_close: bool,
    /// Application data the connection accepted, in order.
    pub(crate) sent: Vec<u8>,
    /// Records written since the last [`take_records`](Self::take_records), if kept.
    records: Option<Vec<Vec<u8>>>,
    /// Server side: the client chain a completed handshake must report (empty
    /// unless the client authenticated).
    client_chain: Vec<Vec<u8>>,
    /// How a handed-out private-key operation is answered (`None`: at once,
    /// with its real output).
    offload: Option<Offload>,
    /// The operation out, and how many more reads before it is answered.
    pending: Option<(PrivateKeyOperation, usize)>,
    /// The answer given, once given.
    answered: Option<Answer>,
}

impl Watch {
    pub(crate) fn new(crypto: Crypto, side: Side, variant: Variant, reply: Reply) -> Self {
        Self {
            crypto,
            side,
            variant,
            reply,
            outcome: Outcome::default(),
            out: Vec::new(),
            checked: 0,
            last: None,
            protected: false,
            write_seq: 0,
            fed: 0,
            written: 0,
            events: 0,
            sent_close: false,
            sent: Vec::new(),
            records: None,
            client_chain: Vec::new(),
            offload: None,
            pending: None,
            answered: None,
        }
    }

    /// Holds handed-out private-key operations and answers them as `offload` says.
    pub(crate) fn offloading(mut self, offload: Offload) -> Self {
        self.offload = Some(offload);
        self
    }

    /// Answers the operation that is out.
    fn answer<R: Role>(&mut self, conn: &mut Connection<R>) {
        let Some((op, _)) = self.pending.take() else {
            return;
        };
        let answer = self.offload.map_or(Answer::Real, |o| o.answer);
        let real = op.run().map(|o| o.to_vec());
        let result = match answer {
            Answer::Real => real,
            Answer::Failed => Err(CryptoError),
            Answer::WrongLength => real.map(|o| o[1..].to_vec()),
            Answer::Flipped => real.map(|mut o| {
                o[0] ^= 1;
                o
            }),
        };
        self.answered = Some(answer);
        assert!(conn.awaits_private_key_operation());
        if let Err(e) = conn.complete_private_key_operation(result) {
            self.failed(conn, e);
            return;
        }
        assert!(!conn.awaits_private_key_operation());
        // A second completion is refused and changes nothing.
        let state = conn.state();
        assert!(matches!(
            conn.complete_private_key_operation(Ok::<_, CryptoError>([0u8; 1])),
            Err(Error::Internal(_))
        ));
        assert_eq!(conn.state(), state);
        assert!(
            conn.error().is_none(),
            "a refused completion failed the connection"
        );
    }

    /// Server side: a completed handshake must report exactly this client chain.
    pub(crate) fn expecting_client_chain(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.client_chain = chain;
        self
    }

    /// Keeps every record written, for [`take_records`](Self::take_records).
    pub(crate) fn keeping_records(mut self) -> Self {
        self.records = Some(Vec::new());
        self
    }

    /// The records written since the last call.
    pub(crate) fn take_records(&mut self) -> Vec<Vec<u8>> {
        self.records
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Feeds peer bytes and handles the events they cause, until all are taken
    /// or the connection fails.
    pub(crate) fn feed<R: Role>(&mut self, conn: &mut Connection<R>, bytes: &[u8]) {
        let mut off = 0;
        let mut idle = 0;
        while off < bytes.len() && self.outcome.error.is_none() {
            let n = match conn.read_tls(&bytes[off..]) {
                Ok(n) => n,
                Err(e) => panic!("read_tls failed with {e:?} before poll_event did"),
            };
            assert!(
                n <= bytes.len() - off,
                "read_tls took more than it was given"
            );
            off += n;
            self.fed += n;
            if let Some((_, reads)) = &mut self.pending {
                *reads = reads.saturating_sub(1);
                // A full buffer (nothing taken): the caller can only answer.
                if *reads == 0 || n == 0 {
                    self.answer(conn);
                }
            }
            let events = self.drain(conn);
            idle = match n == 0 && events == 0 {
                true => idle + 1,
                false => 0,
            };
            assert!(
                idle < 2,
                "stalled: read_tls takes nothing and poll_event does nothing"
            );
        }
    }

    /// Polls events until there are none or the connection fails; returns how many.
    pub(crate) fn drain<R: Role>(&mut self, conn: &mut Connection<R>) -> usize {
        let mut events = 0;
        loop {
            if self.pending.is_some() {
                // Nothing is decided while the private-key operation is out.
                self.collect(conn);
                let before = self.out.len();
                assert!(
                    matches!(conn.poll_event(), Ok(None)),
                    "an event while the private-key operation is out"
                );
                self.collect(conn);
                assert_eq!(self.out.len(), before, "output while the operation is out");
                break;
            }
            let seen = match conn.poll_event() {
                Ok(None) => break,
                Ok(Some(Event::HandshakeComplete(info))) => Seen::Complete(info.clone()),
                Ok(Some(Event::ApplicationData(data))) => Seen::Data(data.to_vec()),
                Ok(Some(Event::PeerClosed)) => Seen::Closed,
                Ok(Some(Event::PrivateKeyOperation(op))) => {
                    assert!(self.pending.is_none(), "two private-key operations out");
                    let after = self.offload.map_or(0, |o| o.after);
                    self.pending = Some((op, after));
                    if after == 0 {
                        self.answer(conn);
                    }
                    continue;
                }
                Err(e) => {
                    self.failed(conn, e);
                    break;
                }
            };
            events += 1;
            self.events += 1;
            // Each event but HandshakeComplete and PeerClosed consumes input.
            assert!(self.events <= self.fed + 2, "more events than input bytes");
            self.on_event(conn, seen);
        }
        self.collect(conn);
        events
    }

    fn on_event<R: Role>(&mut self, conn: &mut Connection<R>, seen: Seen) {
        match seen {
            Seen::Complete(info) => {
                assert!(!self.outcome.established, "second HandshakeComplete");
                // RFC 5246 §7.4.7.1: anything but the real result is an
                // invalid ClientKeyExchange, so the client's Finished fails.
                assert!(
                    matches!(self.answered, None | Some(Answer::Real)),
                    "established on a wrong private-key result: {:?}",
                    self.answered
                );
                assert!(
                    !self.outcome.peer_closed,
                    "HandshakeComplete after PeerClosed"
                );
                assert!(conn.is_established());
                assert_eq!(conn.handshake_info(), Some(&info));
                self.check_info(&info);
                self.outcome.established = true;
                if self.reply == Reply::Ping {
                    self.write(conn, b"ping");
                }
            }
            Seen::Data(data) => {
                assert!(
                    self.outcome.established,
                    "application data before HandshakeComplete"
                );
                assert!(
                    !self.outcome.peer_closed,
                    "application data after PeerClosed"
                );
                assert!(
                    (1..=MAX_PLAINTEXT).contains(&data.len()),
                    "data event of {} bytes",
                    data.len()
                );
                self.outcome.received.extend_from_slice(&data);
                if self.reply == Reply::Echo {
                    self.write(conn, &data);
                }
            }
            Seen::Closed => {
                assert!(!self.outcome.peer_closed, "second PeerClosed");
                self.outcome.peer_closed = true;
                assert!(
                    matches!(conn.poll_event(), Ok(None)),
                    "an event after PeerClosed"
                );
                self.close(conn);
            }
        }
    }

    fn check_info(&self, info: &HandshakeInfo) {
        match self.variant {
            Variant::Aes128Only => assert_eq!(info.suite, &TLS_RSA_WITH_AES_128_GCM_SHA256),
            Variant::Aes256Only => assert_eq!(info.suite, &TLS_RSA_WITH_AES_256_GCM_SHA384),
            Variant::Default => assert!(info.extended_master_secret, "EMS is required"),
            Variant::AllowNoEms => {}
        }
        match self.side {
            Side::Client => {
                assert!(!info.peer_certificates.is_empty(), "no server certificate");
                assert_eq!(info.server_name.as_deref(), Some(SERVER_NAME));
            }
            Side::Server => assert_eq!(
                info.peer_certificates, self.client_chain,
                "the client chain the server reports"
            ),
        }
    }

    /// Has the connection protect `data`, as an application would.
    pub(crate) fn write<R: Role>(&mut self, conn: &mut Connection<R>, data: &[u8]) {
        self.collect(conn);
        let result = conn.write_app_data(data);
        let refused = match (
            &self.outcome.error,
            self.outcome.established && !self.sent_close,
        ) {
            (Some(e), _) => Some(e.clone()),
            (None, false) => Some(Error::NotConnected),
            (None, true) => None,
        };
        match (result, refused) {
            (Ok(n), None) => {
                // Output is drained after every call, so only a write larger than
                // the pending-output bound is cut short.
                assert!(
                    n == data.len() || n >= 4 * MAX_PLAINTEXT,
                    "write_app_data took {n}"
                );
                self.sent.extend_from_slice(&data[..n]);
                self.written += n;
            }
            (Err(e), Some(want)) => assert_eq!(e, want, "write_app_data"),
            (got, want) => panic!("write_app_data returned {got:?}, expected {want:?}"),
        }
        self.collect(conn);
    }

    /// Sends close_notify: exactly one alert record the first time, nothing after
    /// that or after an error.
    pub(crate) fn close<R: Role>(&mut self, conn: &mut Connection<R>) {
        self.collect(conn);
        let before = self.out.len();
        conn.send_close_notify();
        let fresh = !self.sent_close && self.outcome.error.is_none();
        self.sent_close = true;
        self.collect(conn);
        if !fresh {
            assert_eq!(self.out.len(), before, "send_close_notify wrote again");
            return;
        }
        let Some((ContentType::ALERT, plain, len)) = &self.last else {
            panic!("send_close_notify wrote no alert");
        };
        assert_eq!(
            self.out.len() - before,
            HEADER_LEN + len,
            "send_close_notify wrote more"
        );
        if let Some(p) = plain {
            let close = [AlertLevel::WARNING.0, AlertDescription::CLOSE_NOTIFY.0];
            assert_eq!(p[..], close);
        }
    }

    /// Tells the connection its transport ended.
    pub(crate) fn eof<R: Role>(&mut self, conn: &mut Connection<R>) {
        // An operation still out: answered before the end, or after it.
        let late = match self.offload {
            Some(o) if o.after % 2 == 1 => self.pending.take(),
            _ => None,
        };
        if self.pending.is_some() {
            self.answer(conn);
            self.drain(conn);
        }
        self.collect(conn);
        let before = self.out.len();
        let result = conn.handle_eof();
        // A close_notify is a clean end only after the handshake completed:
        // before it, a plaintext alert anyone could forge (RFC 5246 §7.2.1).
        let clean = self.outcome.peer_closed && conn.is_established();
        match (&self.outcome.error, clean) {
            (Some(e), _) => assert_eq!(result, Err(e.clone())),
            (None, true) => assert_eq!(result, Ok(())),
            (None, false) => {
                assert_eq!(result, Err(Error::UnexpectedEof));
                assert_eq!(conn.error(), Some(&Error::UnexpectedEof));
                self.outcome.error = Some(Error::UnexpectedEof);
            }
        }
        if let Some((op, _)) = late {
            // The connection failed meanwhile: completing returns its error.
            assert_eq!(
                conn.complete_private_key_operation(op.run()),
                Err(self.outcome.error.clone().expect("failed at the end"))
            );
            assert!(!conn.awaits_private_key_operation());
        }
        self.collect(conn);
        assert_eq!(self.out.len(), before, "handle_eof wrote");
    }

    fn failed<R: Role>(&mut self, conn: &mut Connection<R>, e: Error) {
        assert!(self.outcome.error.is_none(), "failed twice: {e:?}");
        assert!(
            !matches!(
                e,
                Error::Internal(_) | Error::Config(_) | Error::NotConnected | Error::PeerClosed
            ),
            "peer input caused {e:?}"
        );
        self.collect(conn);
        if let Some(desc) = e.alert() {
            let level = match desc {
                AlertDescription::CLOSE_NOTIFY => AlertLevel::WARNING,
                _ => AlertLevel::FATAL,
            };
            let Some((ContentType::ALERT, plain, len)) = &self.last else {
                panic!("{e:?}: its alert is not the last record written");
            };
            match plain {
                Some(p) => assert_eq!(p[..], [level.0, desc.0], "{e:?}: wrong alert"),
                None => assert_eq!(*len, 2 + OVERHEAD, "{e:?}: alert record length"),
            }
        }
        self.outcome.error = Some(e.clone());
        // Sticky, and nothing more is written.
        let before = self.out.len();
        assert_eq!(conn.error(), Some(&e));
        assert_eq!(conn.poll_event(), Err(e.clone()), "poll_event after {e:?}");
        assert_eq!(
            conn.read_tls(&[22, 3, 3]),
            Err(e.clone()),
            "read_tls after {e:?}"
        );
        assert_eq!(
            conn.write_app_data(b"x"),
            Err(e.clone()),
            "write after {e:?}"
        );
        conn.send_close_notify();
        assert_eq!(conn.handle_eof(), Err(e.clone()), "handle_eof after {e:?}");
        self.collect(conn);
        assert_eq!(self.out.len(), before, "{e:?}: output after the alert");
    }

    /// Takes the connection's output and checks it record by record.
    pub(crate) fn collect<R: Role>(&mut self, conn: &mut Connection<R>) {
        let mut buf = [0u8; 1000];
        while conn.wants_write() {
            let n = conn.write_tls(&mut buf);
            assert!(n > 0, "wants_write, but write_tls wrote nothing");
            self.out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(
            conn.write_tls(&mut buf),
            0,
            "write_tls wrote without wants_write"
        );
        while self.checked < self.out.len() {
            self.check_record();
        }
        let bound = OUTPUT_SLACK + 2 * (self.fed + self.written);
        assert!(
            self.out.len() <= bound,
            "wrote {} bytes, bound {bound}",
            self.out.len()
        );
    }

    fn check_record(&mut self) {
        let rest = &self.out[self.checked..];
        let header = rest
            .first_chunk::<HEADER_LEN>()
            .expect("output ends inside a record header");
        let header = RecordHeader::decode(header).expect("a header decodes");
        assert_eq!(header.version, ProtocolVersion::TLSV1_2, "record version");
        let len = usize::from(header.len);
        let fragment = rest
            .get(HEADER_LEN..HEADER_LEN + len)
            .expect("output ends inside a record");
        let plain = match self.protected {
            false => {
                assert!(len <= MAX_PLAINTEXT, "plaintext record of {len} bytes");
                Some(fragment)
            }
            true => {
                assert!(
                    (OVERHEAD..=MAX_PLAINTEXT + OVERHEAD).contains(&len),
                    "protected record of {len} bytes"
                );
                assert_eq!(
                    fragment[..EXPLICIT_NONCE_LEN],
                    self.write_seq.to_be_bytes(),
                    "explicit nonce is not the sequence number"
                );
                self.write_seq += 1;
                match self.crypto {
                    Crypto::Real => None,
                    Crypto::Transparent => {
                        let (body, tag) = fragment.split_at(len - TRANSPARENT_TAG.len());
                        assert_eq!(tag, TRANSPARENT_TAG, "transparent tag");
                        Some(&body[EXPLICIT_NONCE_LEN..])
                    }
                }
            }
        };
        match header.typ {
            ContentType::HANDSHAKE => {
                assert!(
                    plain.is_none_or(|p| !p.is_empty()),
                    "empty handshake record"
                );
            }
            ContentType::CHANGE_CIPHER_SPEC => {
                assert!(!self.protected, "a second ChangeCipherSpec");
                assert_eq!(plain, Some(&[1u8][..]), "ChangeCipherSpec body");
                self.protected = true;
            }
            ContentType::ALERT => match plain {
                Some(p) => assert!(
                    p.len() == 2 && (p[0] == AlertLevel::WARNING.0 || p[0] == AlertLevel::FATAL.0),
                    "alert {p:?}"
                ),
                None => assert_eq!(len, 2 + OVERHEAD, "alert record length"),
            },
            ContentType::APPLICATION_DATA => {
                assert!(self.protected, "application data in the clear");
                assert!(
                    plain.is_none_or(|p| !p.is_empty()),
                    "empty application data record"
                );
            }
            other => panic!("wrote a record of type {other:?}"),
        }
        let record = rest[..HEADER_LEN + len].to_vec();
        self.last = Some((header.typ, plain.map(<[u8]>::to_vec), len));
        self.checked += record.len();
        if let Some(records) = &mut self.records {
            records.push(record);
        }
    }
}
