//! Protocol conformance: one test per rule of RFC 5246 (and RFC 5746, 6066, 7507,
//! 7627), each asserting the exact `Error`, the exact alert bytes the engine
//! writes, and that the failure is sticky.
//!
//! Peer messages are built with the crate's own wire types (`msgs`), never as
//! hand-written hex. Where a rule needs a ClientHello the real client never sends
//! *and* a completed handshake (an edited hello changes the transcript, so
//! Finished would fail), the test drives the server with [`ScriptedClient`], a
//! test double written here from the RFCs.

mod common;

use std::sync::Arc;

use common::wire::*;
use common::*;
use rand_core::SeedableRng;
use rsatls::crypto::GCM_TAG_LEN;
use rsatls::msgs::alert::Alert;
use rsatls::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ClientCertificateType, Compression, ContentType,
    ExtensionType, HandshakeType, ProtocolVersion, SignatureScheme,
};
use rsatls::msgs::extensions::{Extension, ServerNameEntry};
use rsatls::msgs::handshake::{CertificateRequest, ClientHello, HandshakeMessage, ServerHello};
use rsatls::msgs::record::{HEADER_LEN, MAX_CIPHERTEXT, MAX_PLAINTEXT, RecordHeader};
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::{
    CertificateError, ClientConfig, ClientConnection, Endpoint, Error, MAX_EMPTY_RUN, Misbehavior,
    ServerAuth, ServerConnection,
};

/// Feed everything at once.
const ALL: usize = usize::MAX;

const AES128: &Suite = &TLS_RSA_WITH_AES_128_GCM_SHA256;
const AES256: &Suite = &TLS_RSA_WITH_AES_256_GCM_SHA384;

/// Length of an encrypted two-byte alert's fragment: explicit nonce, alert, tag.
const ENCRYPTED_ALERT_LEN: u16 = 8 + 2 + GCM_TAG_LEN as u16;

// ---------------------------------------------------------------------------
// Records and flights
// ---------------------------------------------------------------------------

/// Handshake messages in one plaintext record.
fn handshake_record(msgs: &[HandshakeMessage]) -> Vec<u8> {
    let body: Vec<u8> = msgs.iter().flat_map(HandshakeMessage::to_bytes).collect();
    assert!(
        body.len() <= MAX_PLAINTEXT,
        "use flight_of for large flights"
    );
    plain(ContentType::HANDSHAKE, &body)
}

/// Handshake messages packed into as few plaintext records as possible.
fn flight_of(msgs: &[HandshakeMessage]) -> Vec<u8> {
    let body: Vec<u8> = msgs.iter().flat_map(HandshakeMessage::to_bytes).collect();
    body.chunks(MAX_PLAINTEXT)
        .flat_map(|c| plain(ContentType::HANDSHAKE, c))
        .collect()
}

/// An alert as a plaintext record: the engine's output before keys are active.
fn plain_alert(level: AlertLevel, description: AlertDescription) -> Vec<u8> {
    plain(ContentType::ALERT, &Alert { level, description }.encode())
}

fn fatal(description: AlertDescription) -> Vec<u8> {
    plain_alert(AlertLevel::FATAL, description)
}

/// The encodings of the handshake messages in a plaintext flight.
fn raw_handshake_messages(flight: &[u8]) -> Vec<Vec<u8>> {
    let stream: Vec<u8> = records(flight)
        .into_iter()
        .filter(|(h, _)| h.typ == ContentType::HANDSHAKE)
        .flat_map(|(_, f)| f)
        .collect();
    let mut out = Vec::new();
    let mut rest = stream.as_slice();
    while !rest.is_empty() {
        let [_, a, b, c] = *rest.first_chunk::<4>().unwrap();
        let len = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    out
}

fn handshake_messages(flight: &[u8]) -> Vec<HandshakeMessage> {
    raw_handshake_messages(flight)
        .iter()
        .map(|m| HandshakeMessage::decode(m).unwrap())
        .collect()
}

/// Re-encodes a plaintext handshake flight after `edit`.
fn edit_flight(flight: &[u8], edit: impl FnOnce(&mut Vec<HandshakeMessage>)) -> Vec<u8> {
    let mut msgs = handshake_messages(flight);
    edit(&mut msgs);
    flight_of(&msgs)
}

/// Re-encodes the ClientHello of a client's first flight after `edit`.
fn edit_client_hello(flight: &[u8], edit: impl FnOnce(&mut ClientHello)) -> Vec<u8> {
    edit_flight(flight, |msgs| {
        let [HandshakeMessage::ClientHello(ch)] = msgs.as_mut_slice() else {
            panic!("not a lone ClientHello: {msgs:?}")
        };
        edit(ch);
    })
}

/// Re-encodes the ServerHello of a server's first flight after `edit`.
fn edit_server_hello(flight: &[u8], edit: impl FnOnce(&mut ServerHello)) -> Vec<u8> {
    edit_flight(flight, |msgs| {
        let Some(HandshakeMessage::ServerHello(sh)) = msgs.first_mut() else {
            panic!("no ServerHello first: {msgs:?}")
        };
        edit(sh);
    })
}

fn server_hello_of(flight: &[u8]) -> ServerHello {
    match handshake_messages(flight).into_iter().next() {
        Some(HandshakeMessage::ServerHello(sh)) => sh,
        other => panic!("no ServerHello: {other:?}"),
    }
}

fn client_hello_of(flight: &[u8]) -> ClientHello {
    match handshake_messages(flight).into_iter().next() {
        Some(HandshakeMessage::ClientHello(ch)) => ch,
        other => panic!("no ClientHello: {other:?}"),
    }
}

/// A ClientHello of exactly `body_len` bytes (handshake header excluded), padded
/// with an unknown extension.
fn client_hello_of_len(mut ch: ClientHello, body_len: usize) -> ClientHello {
    let pad = ExtensionType(0xfe0d);
    ch.extensions
        .get_or_insert_with(Vec::new)
        .push(Extension::Unknown(pad, Vec::new()));
    let base = HandshakeMessage::ClientHello(ch.clone()).to_bytes().len() - 4;
    let Some(Extension::Unknown(_, data)) = ch.extensions.as_mut().unwrap().last_mut() else {
        unreachable!()
    };
    data.resize(body_len - base, 0x61);
    assert_eq!(
        HandshakeMessage::ClientHello(ch.clone()).to_bytes().len(),
        4 + body_len
    );
    ch
}

// ---------------------------------------------------------------------------
// Connections and assertions
// ---------------------------------------------------------------------------

fn rsa2048_client(seed: u64) -> ClientConnection {
    client(client_config("rsa2048"), seed)
}

fn rsa2048_server(seed: u64) -> ServerConnection {
    server(server_config("rsa2048"), seed)
}

/// A client whose only authentication is the test-only "accept any key".
fn any_key_client(seed: u64) -> ClientConnection {
    client(
        ClientConfig::new(provider(), ServerAuth::DangerousAcceptAnyKeyForTestingOnly),
        seed,
    )
}

/// An established pair (client seed 1, server seed 2).
fn established() -> (ClientConnection, ServerConnection) {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    handshake(&mut c, &mut s).unwrap();
    assert!(c.is_established() && s.is_established());
    (c, s)
}

/// The server's first flight in answer to a fresh client's ClientHello.
fn server_flight_for(c: &mut ClientConnection, s: &mut ServerConnection) -> Vec<u8> {
    assert_eq!(feed(s, &take_output(c), ALL), Ok(vec![]));
    take_output(s)
}

/// A server that has processed the real client's ClientHello and wants its
/// ClientKeyExchange; also returns the client's second flight, split in records
/// (ClientKeyExchange, ChangeCipherSpec, Finished).
fn server_expecting_key_exchange() -> (ServerConnection, Vec<Vec<u8>>) {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let flight = server_flight_for(&mut c, &mut s);
    assert_eq!(feed(&mut c, &flight, ALL), Ok(vec![]));
    let second = raw_records(&take_output(&mut c));
    assert_eq!(second.len(), 3);
    (s, second)
}

/// Every later call returns the same error and nothing more is written.
#[track_caller]
fn assert_sticky(conn: &mut dyn Endpoint, err: &Error) {
    assert_eq!(
        conn.read_tls(&plain(ContentType::HANDSHAKE, &[0, 0, 0, 0])),
        Err(err.clone())
    );
    assert_eq!(conn.poll_event(), Err(err.clone()));
    assert_eq!(conn.write_app_data(b"more"), Err(err.clone()));
    assert!(!conn.wants_write(), "output after the failure");
}

/// `result` is `err`, the connection wrote exactly `wire` (the plaintext alert,
/// or nothing), and the failure is sticky.
#[track_caller]
fn assert_fails<T: core::fmt::Debug>(
    conn: &mut dyn Endpoint,
    result: Result<T, Error>,
    err: Error,
    wire: &[u8],
) {
    assert_eq!(result.unwrap_err(), err);
    assert_eq!(take_output(conn), wire, "alert bytes for {err:?}");
    assert_sticky(conn, &err);
}

/// `result` is `err`, the connection wrote exactly one encrypted alert record
/// (returned, for the peer to read), and the failure is sticky.
#[track_caller]
fn assert_fails_encrypted<T: core::fmt::Debug>(
    conn: &mut dyn Endpoint,
    result: Result<T, Error>,
    err: Error,
) -> Vec<u8> {
    assert_eq!(result.unwrap_err(), err);
    let out = take_output(conn);
    let header = RecordHeader {
        typ: ContentType::ALERT,
        version: ProtocolVersion::TLSV1_2,
        len: ENCRYPTED_ALERT_LEN,
    };
    assert_eq!(out[..HEADER_LEN], header.encode(), "{out:?}");
    assert_eq!(
        out.len(),
        HEADER_LEN + usize::from(ENCRYPTED_ALERT_LEN),
        "one record"
    );
    assert_sticky(conn, &err);
    out
}

/// The peer decrypts `alert` as the fatal `desc` and answers nothing.
#[track_caller]
fn assert_peer_reads_fatal(peer: &mut dyn Endpoint, alert: &[u8], desc: AlertDescription) {
    assert_eq!(feed(peer, alert, ALL), Err(Error::AlertReceived(desc)));
    assert!(!peer.wants_write(), "a fatal alert is not answered");
}

fn illegal(why: &'static str) -> Error {
    Error::PeerMisbehaved(Misbehavior::IllegalParameter(why))
}

fn unexpected(expected: &'static str, got: &'static str) -> Error {
    Error::UnexpectedMessage { expected, got }
}

fn complete_info(events: &[Ev]) -> &rsatls::HandshakeInfo {
    match events {
        [Ev::Complete(info)] => info,
        other => panic!("expected one HandshakeComplete, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// A test double for the client side
// ---------------------------------------------------------------------------

/// A test double: a minimal TLS 1.2 RSA client written in this file from RFC
/// 5246, 5288 and 7627, that sends whatever ClientHello a test gives it and then
/// completes the handshake honestly (premaster version = the hello's
/// client_version, as RFC 5246 §7.4.7.1 requires).
struct ScriptedClient {
    hello: ClientHello,
    transcript: Vec<u8>,
    suite: Option<&'static Suite>,
    master: Vec<u8>,
    /// Client write, server write.
    keys: Option<(Direction, Direction)>,
}

impl ScriptedClient {
    /// The double and its first flight.
    fn new(hello: ClientHello) -> (Self, Vec<u8>) {
        let msg = HandshakeMessage::ClientHello(hello.clone());
        let sc = Self {
            hello,
            transcript: msg.to_bytes(),
            suite: None,
            master: Vec::new(),
            keys: None,
        };
        (sc, handshake_record(&[msg]))
    }

    fn hash(&self) -> Vec<u8> {
        provider()
            .hash(self.suite.unwrap().hash, &self.transcript)
            .as_ref()
            .to_vec()
    }

    /// Reads ServerHello, Certificate, ServerHelloDone; answers with
    /// ClientKeyExchange, ChangeCipherSpec and Finished.
    fn key_exchange(&mut self, flight: &[u8]) -> Vec<u8> {
        self.key_exchange_with_block(flight, |_| {})
    }

    /// As `key_exchange`, but `edit` may change the PKCS#1 encryption block (the
    /// premaster sits in its last 48 bytes) before it is encrypted. The master
    /// secret and Finished are still computed from the premaster the double
    /// chose, as a client that wants the server to take that premaster would.
    fn key_exchange_with_block(&mut self, flight: &[u8], edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let raw = raw_handshake_messages(flight);
        let msgs: Vec<HandshakeMessage> = raw
            .iter()
            .map(|m| HandshakeMessage::decode(m).unwrap())
            .collect();
        let [
            HandshakeMessage::ServerHello(sh),
            HandshakeMessage::Certificate(chain),
            HandshakeMessage::ServerHelloDone,
        ] = msgs.as_slice()
        else {
            panic!("unexpected server flight {msgs:?}")
        };
        raw.iter()
            .for_each(|m| self.transcript.extend_from_slice(m));
        let suite = rsatls::suites::find(sh.cipher_suite).expect("a supported suite");
        self.suite = Some(suite);

        // RFC 5246 §7.4.7.1: client_version ‖ 46 random bytes, PKCS#1 v1.5 type 2.
        let mut premaster = self.hello.client_version.0.to_be_bytes().to_vec();
        premaster.extend_from_slice(&[0x42; 46]);
        let info = rsatls::pki::rsa_key_from_certificate(&chain[0]).unwrap();
        let key = provider()
            .rsa_public_key(&info.modulus, &info.exponent)
            .unwrap();
        let k = key.modulus_len();
        let mut em = vec![0x5a; k];
        em[..2].copy_from_slice(&[0, 2]);
        em[k - 49] = 0;
        em[k - 48..].copy_from_slice(&premaster);
        edit(&mut em);
        let premaster = em[k - 48..].to_vec();
        let mut encrypted = vec![0; k];
        key.raw_encrypt(&em, &mut encrypted).unwrap();
        let cke = HandshakeMessage::ClientKeyExchange(encrypted);
        self.transcript.extend(cke.to_bytes());

        let randoms = [&self.hello.random[..], &sh.random[..]].concat();
        self.master = match sh.extension(ExtensionType::EXTENDED_MASTER_SECRET) {
            // RFC 7627 §4.
            Some(_) => prf(
                suite.hash,
                &premaster,
                b"extended master secret",
                &self.hash(),
                48,
            ),
            // RFC 5246 §8.1.
            None => prf(suite.hash, &premaster, b"master secret", &randoms, 48),
        };
        let (mut client, server) = directions(suite, &self.master, &self.hello.random, &sh.random);
        let verify_data = prf(
            suite.hash,
            &self.master,
            b"client finished",
            &self.hash(),
            12,
        );
        let finished = HandshakeMessage::Finished(verify_data.try_into().unwrap());
        self.transcript.extend(finished.to_bytes());
        let mut out = handshake_record(&[cke]);
        out.extend(plain(ContentType::CHANGE_CIPHER_SPEC, &[1]));
        out.extend(client.seal(ContentType::HANDSHAKE, &finished.to_bytes()));
        self.keys = Some((client, server));
        out
    }

    /// Reads the server's ChangeCipherSpec and Finished and checks verify_data.
    fn finish(&mut self, flight: &[u8]) {
        let recs = raw_records(flight);
        assert_eq!(recs.len(), 2, "ChangeCipherSpec, Finished");
        assert_eq!(recs[0], plain(ContentType::CHANGE_CIPHER_SPEC, &[1]));
        let expected = prf(
            self.suite.unwrap().hash,
            &self.master,
            b"server finished",
            &self.hash(),
            12,
        );
        let (typ, msg) = self.open(&recs[1]);
        assert_eq!(typ, ContentType::HANDSHAKE);
        assert_eq!(
            HandshakeMessage::decode(&msg).unwrap(),
            HandshakeMessage::Finished(expected.try_into().unwrap())
        );
    }

    fn seal(&mut self, typ: ContentType, plaintext: &[u8]) -> Vec<u8> {
        self.keys.as_mut().unwrap().0.seal(typ, plaintext)
    }

    fn open(&mut self, rec: &[u8]) -> (ContentType, Vec<u8>) {
        self.keys.as_mut().unwrap().1.open(rec)
    }
}

/// A ClientHello like the real client's, for the double to start from.
fn scripted_hello() -> ClientHello {
    ClientHello {
        client_version: ProtocolVersion::TLSV1_2,
        random: [0x11; 32],
        session_id: Vec::new(),
        cipher_suites: vec![
            CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
        ],
        compression_methods: vec![Compression::NULL],
        extensions: Some(vec![Extension::ExtendedMasterSecret]),
    }
}

/// Runs the double against `s` to completion; returns the server's events.
fn scripted_handshake(hello: ClientHello, s: &mut ServerConnection) -> (ScriptedClient, Vec<Ev>) {
    let (mut sc, first) = ScriptedClient::new(hello);
    assert_eq!(feed(s, &first, ALL), Ok(vec![]));
    let second = sc.key_exchange(&take_output(s));
    let events = feed(s, &second, ALL).unwrap();
    sc.finish(&take_output(s));
    (sc, events)
}

/// The double's own completed handshake works (the harness is sound).
#[test]
fn the_scripted_client_completes_a_handshake_and_exchanges_data() {
    let mut s = rsa2048_server(2);
    let (mut sc, events) = scripted_handshake(scripted_hello(), &mut s);
    let info = complete_info(&events);
    // The double offers only AES128.
    assert_eq!(info.suite, AES128);
    assert!(info.extended_master_secret && info.secure_renegotiation);
    let rec = sc.seal(ContentType::APPLICATION_DATA, b"ping");
    assert_eq!(
        feed(&mut s, &rec, ALL),
        Ok(vec![Ev::Data(b"ping".to_vec())])
    );
    s.write_app_data(b"pong").unwrap();
    assert_eq!(
        sc.open(&take_output(&mut s)),
        (ContentType::APPLICATION_DATA, b"pong".to_vec())
    );
}

/// Both directions' keys of a pair of rsatls engines, rebuilt from the client's
/// key log and the hellos, positioned after the Finished messages.
fn keys_from_log(log: &MemoryKeyLog, t: &Transcript) -> (Direction, Direction) {
    let ch = client_hello_of(&t.flights[0]);
    let sh = server_hello_of(&t.flights[1]);
    let suite = rsatls::suites::find(sh.cipher_suite).unwrap();
    let master = unhex(&log.secret("CLIENT_RANDOM").unwrap());
    let (mut client_write, mut server_write) = directions(suite, &master, &ch.random, &sh.random);
    client_write.seq = 1;
    server_write.seq = 1;
    (client_write, server_write)
}

// ---------------------------------------------------------------------------
// 1. Versions
// ---------------------------------------------------------------------------

/// RFC 5246 Appendix E.1: a TLS 1.2-only server answers a lower client_version
/// with protocol_version. RFC 7507 §3: if the hello also carries
/// TLS_FALLBACK_SCSV, the server MUST answer inappropriate_fallback.
#[test]
fn a_tls10_client_hello_is_refused_and_a_fallback_is_named() {
    for (scsv, err, desc) in [
        (
            false,
            Error::ProtocolVersion,
            AlertDescription::PROTOCOL_VERSION,
        ),
        (
            true,
            Error::InappropriateFallback,
            AlertDescription::INAPPROPRIATE_FALLBACK,
        ),
    ] {
        let mut c = rsa2048_client(1);
        let mut s = rsa2048_server(2);
        let hello = edit_client_hello(&take_output(&mut c), |ch| {
            ch.client_version = ProtocolVersion::TLSV1_0;
            if scsv {
                ch.cipher_suites.push(CipherSuite::TLS_FALLBACK_SCSV);
            }
        });
        let result = feed(&mut s, &hello, ALL);
        assert_fails(&mut s, result, err, &fatal(desc));
    }
}

/// RFC 7507 §3: TLS_FALLBACK_SCSV with our highest version is not a fallback.
#[test]
fn fallback_scsv_at_tls12_is_not_a_fallback() {
    let mut s = rsa2048_server(2);
    let mut hello = scripted_hello();
    hello.cipher_suites.push(CipherSuite::TLS_FALLBACK_SCSV);
    let (_, events) = scripted_handshake(hello, &mut s);
    assert_eq!(complete_info(&events).suite, AES128);
}

/// RFC 5246 Appendix E.1: a client_version above 1.2 gets the server's highest,
/// TLS 1.2. §7.4.7.1: the premaster carries the version *offered* (0x0304),
/// which the server must check against ClientHello.client_version.
#[test]
fn a_tls13_capable_client_version_negotiates_tls12_and_completes() {
    let mut s = rsa2048_server(2);
    let hello = ClientHello {
        client_version: ProtocolVersion(0x0304),
        ..scripted_hello()
    };
    let (mut sc, first) = ScriptedClient::new(hello);
    assert_eq!(feed(&mut s, &first, ALL), Ok(vec![]));
    let flight = take_output(&mut s);
    assert_eq!(
        server_hello_of(&flight).server_version,
        ProtocolVersion::TLSV1_2
    );
    let second = sc.key_exchange(&flight);
    let events = feed(&mut s, &second, ALL).unwrap();
    assert_eq!(complete_info(&events).suite, AES128);
    sc.finish(&take_output(&mut s));
}

/// RFC 5246 Appendix E.1: servers MUST accept any {03,XX} record-layer version
/// on the ClientHello; every later record carries TLS 1.2 (§6.2.1), and another
/// version is answered with protocol_version.
#[test]
fn the_client_hello_record_may_carry_03_01_but_later_records_may_not() {
    for version in [ProtocolVersion::SSLV3, ProtocolVersion::TLSV1_0] {
        let mut c = rsa2048_client(1);
        let mut s = rsa2048_server(2);
        let [(_, hello)] = records(&take_output(&mut c)).try_into().unwrap();
        let wire = record(ContentType::HANDSHAKE, version, &hello);
        assert_eq!(feed(&mut s, &wire, ALL), Ok(vec![]));
        assert_eq!(feed(&mut c, &take_output(&mut s), ALL), Ok(vec![]));
        let events = feed(&mut s, &take_output(&mut c), ALL).unwrap();
        complete_info(&events);
    }

    let (mut s, second) = server_expecting_key_exchange();
    let (_, cke) = records(&second[0]).remove(0);
    let wire = record(ContentType::HANDSHAKE, ProtocolVersion::TLSV1_0, &cke);
    let result = feed(&mut s, &wire, ALL);
    assert_fails(
        &mut s,
        result,
        Error::ProtocolVersion,
        &fatal(AlertDescription::PROTOCOL_VERSION),
    );
}

// ---------------------------------------------------------------------------
// 2. Cipher suites
// ---------------------------------------------------------------------------

/// RFC 5246 §7.4.1.3: with no acceptable suite the server MUST answer
/// handshake_failure.
#[test]
fn no_common_cipher_suite_is_a_handshake_failure() {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let hello = edit_client_hello(&take_output(&mut c), |ch| {
        // TLS_RSA_WITH_AES_128_CBC_SHA and the renegotiation SCSV.
        ch.cipher_suites = vec![
            CipherSuite(0x002f),
            CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
        ];
    });
    let result = feed(&mut s, &hello, ALL);
    assert_fails(
        &mut s,
        result,
        Error::HandshakeFailure("no cipher suite in common"),
        &fatal(AlertDescription::HANDSHAKE_FAILURE),
    );
}

/// RFC 5246 §7.4.1.2-3: the server selects the suite; rsatls applies its own
/// preference order over the client's.
#[test]
fn the_server_preference_wins() {
    for (server_suites, chosen) in [(&[AES256, AES128][..], AES256), (&[AES128][..], AES128)] {
        let mut c = client(
            client_config("rsa2048")
                .with_suites(&[AES128, AES256])
                .unwrap(),
            1,
        );
        let mut s = server(
            server_config("rsa2048").with_suites(server_suites).unwrap(),
            2,
        );
        let t = handshake(&mut c, &mut s).unwrap();
        assert_eq!(
            client_hello_of(&t.flights[0]).cipher_suites[..2],
            [AES128.id, AES256.id],
            "the client prefers AES128"
        );
        assert_eq!(complete_info(&t.client_events).suite, chosen);
        assert_eq!(complete_info(&t.server_events).suite, chosen);
    }
}

// ---------------------------------------------------------------------------
// 3. Hello extensions and compression
// ---------------------------------------------------------------------------

/// RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same
/// type."
#[test]
fn a_duplicate_extension_is_an_illegal_parameter() {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let hello = edit_client_hello(&take_output(&mut c), |ch| {
        ch.extensions
            .as_mut()
            .unwrap()
            .push(Extension::ExtendedMasterSecret);
    });
    let result = feed(&mut s, &hello, ALL);
    assert_fails(
        &mut s,
        result,
        Error::PeerMisbehaved(Misbehavior::DuplicateExtension),
        &fatal(AlertDescription::ILLEGAL_PARAMETER),
    );
}

/// RFC 5246 §7.2.2 (decode_error: "a message could not be decoded because some
/// field was out of the specified range or the length of the message was
/// incorrect"); RFC 7627 §5.1 (EMS extension_data is empty); RFC 6066 §3.
#[test]
fn a_malformed_extension_body_is_a_decode_error() {
    let cases = [
        (
            Extension::Unknown(ExtensionType::EXTENDED_MASTER_SECRET, vec![0]),
            "extension body has trailing bytes",
        ),
        (
            // server_name_list claims 10 bytes; 4 follow.
            Extension::Unknown(ExtensionType::SERVER_NAME, vec![0, 10, 0, 0, 1, b'a']),
            "server_name list",
        ),
        (
            Extension::Unknown(ExtensionType::RENEGOTIATION_INFO, vec![5, 0]),
            "renegotiation_info",
        ),
    ];
    for (ext, what) in cases {
        let mut c = rsa2048_client(1);
        let mut s = rsa2048_server(2);
        let hello = edit_client_hello(&take_output(&mut c), |ch| {
            let exts = ch.extensions.as_mut().unwrap();
            exts.retain(|e| e.ext_type() != ext.ext_type());
            exts.push(ext);
        });
        let result = feed(&mut s, &hello, ALL);
        assert_fails(
            &mut s,
            result,
            Error::Decode(what),
            &fatal(AlertDescription::DECODE_ERROR),
        );
    }
}

/// RFC 5246 §7.4.1.4: a server MUST ignore extensions it does not recognize (and
/// MUST NOT answer them in its ServerHello).
#[test]
fn unknown_extensions_are_ignored() {
    let mut s = rsa2048_server(2);
    let mut hello = scripted_hello();
    hello.extensions.as_mut().unwrap().extend([
        // A GREASE value (RFC 8701) and a made-up one with a body.
        Extension::Unknown(ExtensionType(0x1a1a), Vec::new()),
        Extension::Unknown(ExtensionType(0xfe0d), vec![1, 2, 3]),
    ]);
    let (mut sc, first) = ScriptedClient::new(hello);
    assert_eq!(feed(&mut s, &first, ALL), Ok(vec![]));
    let flight = take_output(&mut s);
    let echoed: Vec<ExtensionType> = server_hello_of(&flight)
        .extensions
        .unwrap_or_default()
        .iter()
        .map(Extension::ext_type)
        .collect();
    assert_eq!(
        echoed,
        [
            ExtensionType::RENEGOTIATION_INFO,
            ExtensionType::EXTENDED_MASTER_SECRET
        ]
    );
    let events = feed(&mut s, &sc.key_exchange(&flight), ALL).unwrap();
    complete_info(&events);
    sc.finish(&take_output(&mut s));
}

/// RFC 5246 §7.4.1.2: compression_methods "MUST contain, and all implementations
/// MUST support, CompressionMethod.null".
#[test]
fn a_compression_list_without_null_is_an_illegal_parameter() {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let hello = edit_client_hello(&take_output(&mut c), |ch| {
        // DEFLATE (RFC 3749) only.
        ch.compression_methods = vec![Compression(1)];
    });
    let result = feed(&mut s, &hello, ALL);
    assert_fails(
        &mut s,
        result,
        illegal("null compression not offered"),
        &fatal(AlertDescription::ILLEGAL_PARAMETER),
    );
}

// ---------------------------------------------------------------------------
// 4. renegotiation_info
// ---------------------------------------------------------------------------

/// RFC 5746 §3.6: on an initial handshake the server MUST check that
/// renegotiated_connection is empty, and otherwise abort with handshake_failure.
#[test]
fn a_non_empty_renegotiation_info_in_an_initial_hello_is_a_handshake_failure() {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let hello = edit_client_hello(&take_output(&mut c), |ch| {
        ch.extensions
            .as_mut()
            .unwrap()
            .push(Extension::RenegotiationInfo(vec![0x5c; 12]));
    });
    let result = feed(&mut s, &hello, ALL);
    assert_fails(
        &mut s,
        result,
        Error::PeerMisbehaved(Misbehavior::BadRenegotiationInfo),
        &fatal(AlertDescription::HANDSHAKE_FAILURE),
    );
}

/// RFC 5746 §3.6: an empty renegotiation_info (without the SCSV) marks a client
/// that supports secure renegotiation; the server sets secure_renegotiation and
/// answers with an empty renegotiation_info. Without either signal, neither.
#[test]
fn an_empty_renegotiation_info_without_the_scsv_marks_secure_renegotiation() {
    for signal in [true, false] {
        let mut s = rsa2048_server(2);
        let mut hello = scripted_hello();
        hello.cipher_suites = vec![CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256];
        if signal {
            hello
                .extensions
                .as_mut()
                .unwrap()
                .push(Extension::RenegotiationInfo(Vec::new()));
        }
        let (mut sc, first) = ScriptedClient::new(hello);
        assert_eq!(feed(&mut s, &first, ALL), Ok(vec![]));
        let flight = take_output(&mut s);
        let answer = server_hello_of(&flight)
            .extension(ExtensionType::RENEGOTIATION_INFO)
            .cloned();
        assert_eq!(
            answer,
            signal.then(|| Extension::RenegotiationInfo(Vec::new()))
        );
        let events = feed(&mut s, &sc.key_exchange(&flight), ALL).unwrap();
        assert_eq!(complete_info(&events).secure_renegotiation, signal);
        sc.finish(&take_output(&mut s));
    }
}

// ---------------------------------------------------------------------------
// 5. server_name
// ---------------------------------------------------------------------------

/// RFC 6066 §3: the server learns the host name the client asked for.
#[test]
fn the_server_exposes_the_sni_host_name() {
    for name in [Some("www.example.com"), None] {
        let mut c = ClientConnection::new(
            Arc::new(client_config("rsa2048")),
            name,
            rand_chacha::ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
        let mut s = rsa2048_server(2);
        assert_eq!(s.server_name(), None);
        assert_eq!(feed(&mut s, &take_output(&mut c), ALL), Ok(vec![]));
        assert_eq!(s.server_name(), name, "after the ClientHello");
        assert_eq!(feed(&mut c, &take_output(&mut s), ALL), Ok(vec![]));
        // ClientKeyExchange, ChangeCipherSpec, Finished: one record at a time,
        // asking in each state in between.
        let second = raw_records(&take_output(&mut c));
        assert_eq!(second.len(), 3);
        assert_eq!(feed(&mut s, &second[0], ALL), Ok(vec![]));
        assert_eq!(s.server_name(), name, "after the ClientKeyExchange");
        assert_eq!(feed(&mut s, &second[1], ALL), Ok(vec![]));
        assert_eq!(s.server_name(), name, "after the ChangeCipherSpec");
        let events = feed(&mut s, &second[2], ALL).unwrap();
        assert_eq!(complete_info(&events).server_name.as_deref(), name);
        assert_eq!(s.server_name(), name, "after the handshake");
    }
}

/// RFC 6066 §3: "The ServerNameList MUST NOT contain more than one name of the
/// same name_type."
#[test]
fn two_sni_host_names_are_an_illegal_parameter() {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let hello = edit_client_hello(&take_output(&mut c), |ch| {
        let exts = ch.extensions.as_mut().unwrap();
        exts.retain(|e| e.ext_type() != ExtensionType::SERVER_NAME);
        exts.push(Extension::ServerName(
            ["a.example", "b.example"]
                .map(|n| ServerNameEntry {
                    name_type: 0,
                    name: n.as_bytes().to_vec(),
                })
                .to_vec(),
        ));
    });
    let result = feed(&mut s, &hello, ALL);
    assert_fails(
        &mut s,
        result,
        illegal("two host names in SNI"),
        &fatal(AlertDescription::ILLEGAL_PARAMETER),
    );
}

/// RFC 6066 §3: HostName is a DNS name in ASCII "without a trailing dot"; the
/// server refuses anything else with illegal_parameter, and accepts '_' and '-'.
#[test]
fn an_sni_host_name_that_is_not_a_dns_name_is_an_illegal_parameter() {
    let hello_naming = |name: &[u8]| {
        let mut c = rsa2048_client(1);
        edit_client_hello(&take_output(&mut c), |ch| {
            let exts = ch.extensions.as_mut().unwrap();
            exts.retain(|e| e.ext_type() != ExtensionType::SERVER_NAME);
            exts.push(Extension::ServerName(vec![ServerNameEntry {
                name_type: 0,
                name: name.to_vec(),
            }]));
        })
    };
    for name in [
        &b"example.com."[..],
        b"a b",
        b"caf\xc3\xa9.example",
        b"x\0y",
    ] {
        let mut s = rsa2048_server(2);
        let result = feed(&mut s, &hello_naming(name), ALL);
        assert_fails(
            &mut s,
            result,
            illegal("SNI host name is not a DNS name"),
            &fatal(AlertDescription::ILLEGAL_PARAMETER),
        );
    }
    let mut s = rsa2048_server(2);
    assert_eq!(
        feed(&mut s, &hello_naming(b"under_score-9.example"), ALL),
        Ok(vec![])
    );
    assert_eq!(s.server_name(), Some("under_score-9.example"));
}

/// RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in
/// "HostName"": a client connecting to an address sends no server_name.
#[test]
fn a_client_sends_sni_for_a_dns_name_and_not_for_an_ip_address() {
    for (name, sent) in [
        ("localhost", Some("localhost")),
        ("www.example.com", Some("www.example.com")),
        ("127.0.0.1", None),
        ("::1", None),
    ] {
        let mut c = ClientConnection::new(
            Arc::new(client_config("rsa2048")),
            Some(name),
            rand_chacha::ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
        let hello = client_hello_of(&take_output(&mut c));
        let expected = sent.map(|n| {
            Extension::ServerName(vec![ServerNameEntry {
                name_type: 0,
                name: n.as_bytes().to_vec(),
            }])
        });
        assert_eq!(
            hello.extension(ExtensionType::SERVER_NAME).cloned(),
            expected,
            "{name}"
        );
    }
}

/// The client refuses, at construction, a server name it could not send as an
/// RFC 6066 HostName: empty, over 253 bytes, a character outside letters,
/// digits, '-', '.' and '_', or a trailing dot. The limits themselves work.
#[test]
fn a_server_name_that_is_not_a_dns_host_name_is_a_configuration_error() {
    let start = |name: &str| {
        ClientConnection::new(
            Arc::new(client_config("rsa2048")),
            Some(name),
            rand_chacha::ChaCha20Rng::seed_from_u64(1),
        )
        .map(|_| ())
    };
    let refused = Err(Error::Config("server name is not a DNS host name"));
    let label = "a".repeat(63);
    let longest = [&label[..], &label, &label, &label[..61]].join(".");
    assert_eq!(longest.len(), 253);
    for name in ["", "a b", "host/x", "caf\u{e9}.example", "example.com."] {
        assert_eq!(start(name), refused, "{name:?}");
    }
    assert_eq!(start(&format!("{longest}a")), refused, "254 bytes");
    for name in [&longest[..], "x", "under_score-9.example"] {
        assert_eq!(start(name), Ok(()), "{name:?}");
    }
}

// ---------------------------------------------------------------------------
// 5b. ALPN (RFC 7301)
// ---------------------------------------------------------------------------

const H2: &[u8] = b"h2";
const HTTP11: &[u8] = b"http/1.1";

fn alpn_client(protocols: &[&[u8]]) -> ClientConnection {
    client(
        client_config("rsa2048")
            .with_alpn_protocols(protocols)
            .unwrap(),
        1,
    )
}

fn alpn_server(protocols: &[&[u8]]) -> ServerConnection {
    server(
        server_config("rsa2048")
            .with_alpn_protocols(protocols)
            .unwrap(),
        2,
    )
}

/// RFC 7301 §3.1: the client lists its protocols in its ClientHello; the
/// server's ServerHello carries exactly one. §3.2: the server selects by its own
/// preference among those the client advertised. Both sides report the choice.
#[test]
fn alpn_follows_the_server_preference_and_both_sides_report_it() {
    let mut c = alpn_client(&[H2, HTTP11]);
    let mut s = alpn_server(&[HTTP11, H2]);
    let t = handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        client_hello_of(&t.flights[0]).extension(ExtensionType::ALPN),
        Some(&Extension::Alpn(vec![H2.to_vec(), HTTP11.to_vec()]))
    );
    assert_eq!(
        server_hello_of(&t.flights[1]).extension(ExtensionType::ALPN),
        Some(&Extension::Alpn(vec![HTTP11.to_vec()]))
    );
    for events in [&t.client_events, &t.server_events] {
        assert_eq!(complete_info(events).alpn_protocol.as_deref(), Some(HTTP11));
    }
}

/// RFC 7301 §3.2: a server that supports none of the client's protocols "SHALL
/// respond with a fatal "no_application_protocol" alert".
#[test]
fn alpn_without_a_common_protocol_is_no_application_protocol() {
    let mut c = alpn_client(&[H2]);
    let mut s = alpn_server(&[HTTP11]);
    let result = feed(&mut s, &take_output(&mut c), ALL);
    assert_fails(
        &mut s,
        result,
        Error::NoApplicationProtocol,
        &fatal(AlertDescription::NO_APPLICATION_PROTOCOL),
    );
}

/// ALPN is off by default: a client sends no extension (so the golden
/// transcripts are unchanged), and a server without protocols ignores an offer
/// and answers without one (RFC 5246 §7.4.1.4); a server with protocols and a
/// client without ALPN do without too.
#[test]
fn alpn_is_off_unless_both_sides_configure_it() {
    let mut c = rsa2048_client(1);
    let mut s = alpn_server(&[HTTP11]);
    let t = handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        client_hello_of(&t.flights[0]).extension(ExtensionType::ALPN),
        None
    );
    assert_eq!(complete_info(&t.server_events).alpn_protocol, None);

    let mut c = alpn_client(&[H2, HTTP11]);
    let mut s = rsa2048_server(2);
    let t = handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        server_hello_of(&t.flights[1]).extension(ExtensionType::ALPN),
        None
    );
    assert_eq!(complete_info(&t.client_events).alpn_protocol, None);
    assert_eq!(complete_info(&t.server_events).alpn_protocol, None);
}

/// RFC 7301 §3.1: the ServerHello names exactly one protocol, and RFC 7301 §3.2
/// one "that the client has advertised"; anything else is refused with
/// illegal_parameter. (A ServerHello with ALPN the client never offered is
/// unsupported_extension: `a_server_hello_with_an_unsolicited_extension_is_refused`.)
#[test]
fn a_server_hello_choosing_an_unoffered_or_second_alpn_protocol_is_illegal() {
    let cases: [(Vec<Vec<u8>>, &str); 2] = [
        (
            vec![b"spdy/3".to_vec()],
            "server chose an ALPN protocol we did not offer",
        ),
        (
            vec![H2.to_vec(), HTTP11.to_vec()],
            "server chose more than one ALPN protocol",
        ),
    ];
    for (chosen, why) in cases {
        let mut c = alpn_client(&[H2, HTTP11]);
        let mut s = alpn_server(&[H2]);
        let flight = edit_server_hello(&server_flight_for(&mut c, &mut s), |sh| {
            let exts = sh.extensions.as_mut().unwrap();
            exts.retain(|e| e.ext_type() != ExtensionType::ALPN);
            exts.push(Extension::Alpn(chosen));
        });
        let result = feed(&mut c, &flight, ALL);
        assert_fails(
            &mut c,
            result,
            illegal(why),
            &fatal(AlertDescription::ILLEGAL_PARAMETER),
        );
    }
}

/// RFC 7301 §3.1: `ProtocolName protocol_name_list<2..2^16-1>` of
/// `opaque ProtocolName<1..2^8-1>`: an empty list, an empty name, a truncated
/// name and bytes after the list are decode_error (RFC 5246 §7.2.2), in a
/// ClientHello and in a ServerHello.
#[test]
fn a_malformed_alpn_extension_is_a_decode_error() {
    let cases: [(Vec<u8>, &str); 4] = [
        (vec![0, 0], "ALPN list"),
        (vec![0, 2, 0, 0], "ALPN protocol name"),
        (vec![0, 3, 5, b'h', b'2'], "ALPN protocol name"),
        (
            vec![0, 3, 2, b'h', b'2', 0xff],
            "extension body has trailing bytes",
        ),
    ];
    for (body, what) in cases {
        let ext = Extension::Unknown(ExtensionType::ALPN, body);
        let mut c = alpn_client(&[H2]);
        let mut s = alpn_server(&[H2]);
        let hello = edit_client_hello(&take_output(&mut c), |ch| {
            let exts = ch.extensions.as_mut().unwrap();
            exts.retain(|e| e.ext_type() != ExtensionType::ALPN);
            exts.push(ext.clone());
        });
        let result = feed(&mut s, &hello, ALL);
        assert_fails(
            &mut s,
            result,
            Error::Decode(what),
            &fatal(AlertDescription::DECODE_ERROR),
        );

        let mut c = alpn_client(&[H2]);
        let mut s = alpn_server(&[H2]);
        let flight = edit_server_hello(&server_flight_for(&mut c, &mut s), |sh| {
            let exts = sh.extensions.as_mut().unwrap();
            exts.retain(|e| e.ext_type() != ExtensionType::ALPN);
            exts.push(ext);
        });
        let result = feed(&mut c, &flight, ALL);
        assert_fails(
            &mut c,
            result,
            Error::Decode(what),
            &fatal(AlertDescription::DECODE_ERROR),
        );
    }
}

/// RFC 7301 §3.1: "Empty strings MUST NOT be included and byte strings MUST NOT
/// be truncated": a configuration that would send either is refused.
#[test]
fn alpn_configuration_refuses_names_that_cannot_be_sent() {
    let long = [b'x'; 256];
    let bad: [&[&[u8]]; 3] = [&[b""], &[H2, b""], &[&long]];
    for protocols in bad {
        assert!(matches!(
            client_config("rsa2048").with_alpn_protocols(protocols),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            server_config("rsa2048").with_alpn_protocols(protocols),
            Err(Error::Config(_))
        ));
    }
    let many: Vec<&[u8]> = std::iter::repeat_n(&long[..255], 257).collect();
    assert!(matches!(
        client_config("rsa2048").with_alpn_protocols(&many),
        Err(Error::Config(_))
    ));
    assert!(
        client_config("rsa2048")
            .with_alpn_protocols(&[&long[..255]])
            .is_ok()
    );
}

// ---------------------------------------------------------------------------
// 6. The client and the ServerHello
// ---------------------------------------------------------------------------

/// The client's result when the server's first flight is edited by `edit`.
fn client_reading_server_hello(
    config: ClientConfig,
    edit: impl FnOnce(&mut ServerHello),
) -> (ClientConnection, Result<Vec<Ev>, Error>) {
    let mut c = client(config, 1);
    let mut s = rsa2048_server(2);
    let flight = edit_server_hello(&server_flight_for(&mut c, &mut s), edit);
    let result = feed(&mut c, &flight, ALL);
    (c, result)
}

/// RFC 5246 §7.4.1.4: "If a client receives an extension type in ServerHello that
/// it did not request in the associated ClientHello, it MUST abort the handshake
/// with an unsupported_extension fatal alert."
#[test]
fn a_server_hello_with_an_unsolicited_extension_is_refused() {
    for ext in [
        Extension::Alpn(vec![b"h2".to_vec()]),
        Extension::Unknown(ExtensionType(0xfe0d), Vec::new()),
        // RFC 6066 §3: the client did offer SNI, but the server's answer
        // "SHALL be empty".
        Extension::ServerName(vec![ServerNameEntry {
            name_type: 0,
            name: b"localhost".to_vec(),
        }]),
    ] {
        let (mut c, result) = client_reading_server_hello(client_config("rsa2048"), |sh| {
            sh.extensions.get_or_insert_with(Vec::new).push(ext);
        });
        assert_fails(
            &mut c,
            result,
            Error::PeerMisbehaved(Misbehavior::UnsolicitedExtension),
            &fatal(AlertDescription::UNSUPPORTED_EXTENSION),
        );
    }
}

/// RFC 5246 §7.4.1.3: cipher_suite is "the single cipher suite selected by the
/// server from the list in ClientHello.cipher_suites".
#[test]
fn a_server_hello_choosing_a_suite_not_offered_is_an_illegal_parameter() {
    for suite in [
        AES256.id,
        CipherSuite(0x002f),
        CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    ] {
        let config = client_config("rsa2048").with_suites(&[AES128]).unwrap();
        let (mut c, result) = client_reading_server_hello(config, |sh| sh.cipher_suite = suite);
        assert_fails(
            &mut c,
            result,
            illegal("server chose a suite we did not offer"),
            &fatal(AlertDescription::ILLEGAL_PARAMETER),
        );
    }
}

/// RFC 5246 Appendix E.1: if the version the server chose is not acceptable, the
/// client MUST send protocol_version.
#[test]
fn a_server_hello_with_tls11_is_a_protocol_version_error() {
    let (mut c, result) = client_reading_server_hello(client_config("rsa2048"), |sh| {
        sh.server_version = ProtocolVersion::TLSV1_1;
    });
    assert_fails(
        &mut c,
        result,
        Error::ProtocolVersion,
        &fatal(AlertDescription::PROTOCOL_VERSION),
    );
}

/// RFC 7627 §5.2: a client that requires Extended Master Secret aborts with
/// handshake_failure when the ServerHello lacks it; one that allows legacy
/// servers goes on with the RFC 5246 §8.1 master secret.
#[test]
fn a_server_hello_without_ems_is_refused_unless_allowed() {
    let strip = |sh: &mut ServerHello| {
        sh.extensions
            .as_mut()
            .unwrap()
            .retain(|e| e.ext_type() != ExtensionType::EXTENDED_MASTER_SECRET);
    };
    let (mut c, result) = client_reading_server_hello(client_config("rsa2048"), strip);
    assert_fails(
        &mut c,
        result,
        Error::HandshakeFailure("server does not support Extended Master Secret"),
        &fatal(AlertDescription::HANDSHAKE_FAILURE),
    );

    let log = Arc::new(MemoryKeyLog::default());
    let mut c = client(
        client_config("rsa2048")
            .with_allow_no_ems(true)
            .with_key_log(log.clone()),
        1,
    );
    let mut s = rsa2048_server(2);
    let hello = client_hello_of(&deliver_client_hello(&mut c, &mut s));
    let flight = edit_server_hello(&take_output(&mut s), strip);
    assert_eq!(feed(&mut c, &flight, ALL), Ok(vec![]));
    assert_eq!(
        raw_records(&take_output(&mut c)).len(),
        3,
        "the client goes on"
    );
    // The client's master secret is the legacy one: PRF(premaster, "master secret",
    // client_random ‖ server_random).
    let sh = server_hello_of(&flight);
    let suite = rsatls::suites::find(sh.cipher_suite).unwrap();
    let premaster = unhex(&log.secret("RSA").unwrap());
    let legacy = prf(
        suite.hash,
        &premaster,
        b"master secret",
        &[hello.random, sh.random].concat(),
        48,
    );
    assert_eq!(unhex(&log.secret("CLIENT_RANDOM").unwrap()), legacy);
}

/// Delivers the client's ClientHello to the server and returns it.
fn deliver_client_hello(c: &mut ClientConnection, s: &mut ServerConnection) -> Vec<u8> {
    let hello = take_output(c);
    assert_eq!(feed(s, &hello, ALL), Ok(vec![]));
    hello
}

/// RFC 5746 §3.4: the client MUST check that renegotiated_connection is empty on
/// an initial handshake, and otherwise abort with handshake_failure.
#[test]
fn a_server_hello_with_non_empty_renegotiation_info_is_refused() {
    let (mut c, result) = client_reading_server_hello(client_config("rsa2048"), |sh| {
        let exts = sh.extensions.as_mut().unwrap();
        exts.retain(|e| e.ext_type() != ExtensionType::RENEGOTIATION_INFO);
        exts.push(Extension::RenegotiationInfo(vec![0x5c; 24]));
    });
    assert_fails(
        &mut c,
        result,
        Error::PeerMisbehaved(Misbehavior::BadRenegotiationInfo),
        &fatal(AlertDescription::HANDSHAKE_FAILURE),
    );
}

// ---------------------------------------------------------------------------
// 7. The client and the server's flight
// ---------------------------------------------------------------------------

/// RFC 5246 §7.4.1.1: a HelloRequest received while negotiating is ignored, and
/// HelloRequest is not included in the handshake hashes (§7.4.9).
#[test]
fn a_hello_request_before_the_server_flight_is_ignored() {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let flight = server_flight_for(&mut c, &mut s);
    feed(&mut c, &flight, ALL).unwrap();
    let reference = take_output(&mut c);

    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let flight = server_flight_for(&mut c, &mut s);
    let hello_request = handshake_record(&[HandshakeMessage::HelloRequest]);
    assert_eq!(feed(&mut c, &hello_request, ALL), Ok(vec![]));
    assert!(
        !c.wants_write(),
        "no answer to a HelloRequest mid-handshake"
    );
    assert_eq!(feed(&mut c, &flight, ALL), Ok(vec![]));
    let second = take_output(&mut c);
    assert_eq!(second, reference, "same ClientKeyExchange and Finished");
    complete_info(&feed(&mut s, &second, ALL).unwrap());
    complete_info(&feed(&mut c, &take_output(&mut s), ALL).unwrap());
}

/// RFC 5246 §7.3 (message flow), §7.4.3 (ServerKeyExchange is not sent for RSA
/// key exchange), §7.4.4 (CertificateRequest follows Certificate, before
/// ServerHelloDone) and §7.2.2 (unexpected_message).
#[test]
fn a_server_key_exchange_or_certificate_request_out_of_place_is_unexpected() {
    let request = HandshakeMessage::CertificateRequest(CertificateRequest {
        certificate_types: vec![ClientCertificateType::RSA_SIGN],
        signature_schemes: vec![SignatureScheme::RSA_PKCS1_SHA256],
        certificate_authorities: Vec::new(),
    });
    let key_exchange = HandshakeMessage::Other(HandshakeType::SERVER_KEY_EXCHANGE, vec![0, 1, 0]);
    let cases = [
        (1, &key_exchange, "Certificate", "ServerKeyExchange"),
        (2, &key_exchange, "ServerHelloDone", "ServerKeyExchange"),
        (1, &request, "Certificate", "CertificateRequest"),
        // After ServerHelloDone the client has sent its flight.
        (3, &request, "ChangeCipherSpec", "CertificateRequest"),
    ];
    for (at, msg, expected, got) in cases {
        let mut c = rsa2048_client(1);
        let mut s = rsa2048_server(2);
        let flight = edit_flight(&server_flight_for(&mut c, &mut s), |msgs| {
            msgs.insert(at, msg.clone());
        });
        let result = feed(&mut c, &flight, ALL);
        if at == 3 {
            // The client sent its flight (and turned its write key on) before it
            // saw the misplaced request; then one encrypted alert.
            let out = records(&take_output(&mut c));
            let (last, _) = out.last().unwrap();
            assert_eq!(
                (last.typ, last.len),
                (ContentType::ALERT, ENCRYPTED_ALERT_LEN)
            );
            let err = unexpected(expected, got);
            assert_eq!(result.unwrap_err(), err);
            assert_sticky(&mut c, &err);
            continue;
        }
        assert_fails(
            &mut c,
            result,
            unexpected(expected, got),
            &fatal(AlertDescription::UNEXPECTED_MESSAGE),
        );
    }
    // In place (after Certificate) it is accepted, and answered with an empty
    // Certificate first (the whole exchange: tests/cert_request.rs).
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let flight = edit_flight(&server_flight_for(&mut c, &mut s), |msgs| {
        msgs.insert(2, request.clone());
    });
    assert_eq!(feed(&mut c, &flight, ALL), Ok(vec![]));
    let answer = take_output(&mut c);
    assert_eq!(
        HandshakeMessage::decode(&raw_handshake_messages(&raw_records(&answer)[0])[0]),
        Ok(HandshakeMessage::Certificate(Vec::new()))
    );
}

/// Replaces the server's Certificate message and feeds the flight to `c`.
fn serve_certificate(c: &mut ClientConnection, chain: Vec<Vec<u8>>) -> Result<Vec<Ev>, Error> {
    let mut s = rsa2048_server(2);
    let flight = edit_flight(&server_flight_for(c, &mut s), |msgs| {
        msgs[1] = HandshakeMessage::Certificate(chain);
    });
    feed(c, &flight, ALL)
}

/// RFC 5246 §7.4.2: the certificate_list carries the server's certificate; an
/// empty one is a bad_certificate (§7.2.2).
#[test]
fn an_empty_certificate_list_is_a_bad_certificate() {
    let mut c = any_key_client(1);
    let result = serve_certificate(&mut c, Vec::new());
    assert_fails(
        &mut c,
        result,
        Error::BadCertificate(CertificateError::Malformed),
        &fatal(AlertDescription::BAD_CERTIFICATE),
    );
}

/// RFC 5246 §7.4.2: for RSA key exchange the certificate's public key MUST be
/// RSA; anything else is unsupported_certificate (§7.2.2).
#[test]
fn an_ec_server_certificate_is_unsupported() {
    let mut c = any_key_client(1);
    let result = serve_certificate(&mut c, vec![data("ec256.cert.der")]);
    assert_fails(
        &mut c,
        result,
        Error::BadCertificate(CertificateError::NotRsa),
        &fatal(AlertDescription::UNSUPPORTED_CERTIFICATE),
    );
}

/// RFC 5246 §7.2.2 unsupported_certificate; the 2048-bit floor is rsatls policy
/// (README; NIST SP 800-131A). The server refuses to load such a key, so the
/// certificate is swapped in flight.
#[test]
fn a_1024_bit_server_key_is_unsupported() {
    assert!(matches!(
        rsatls::ServerConfig::from_pem_or_der(
            provider(),
            &data("rsa1024.cert.pem"),
            &data("rsa1024.key.pem"),
        ),
        Err(Error::Config(_))
    ));
    let mut c = any_key_client(1);
    let result = serve_certificate(&mut c, vec![data("rsa1024.cert.der")]);
    assert_fails(
        &mut c,
        result,
        Error::BadCertificate(CertificateError::KeySize),
        &fatal(AlertDescription::UNSUPPORTED_CERTIFICATE),
    );
}

/// RFC 5246 §7.2.2 bad_certificate: with `TrustedCertificates` the leaf must be
/// one of them.
#[test]
fn trusted_certificates_accept_the_server_leaf_and_refuse_another() {
    let trusting = |name: &str| {
        ClientConfig::new(
            provider(),
            ServerAuth::TrustedCertificates(vec![data(&format!("{name}.cert.der"))]),
        )
    };
    let mut c = client(trusting("rsa2048"), 1);
    let mut s = rsa2048_server(2);
    let t = handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        complete_info(&t.client_events).peer_certificates,
        [data("rsa2048.cert.der")]
    );

    let mut c = client(trusting("other2048"), 1);
    let mut s = rsa2048_server(2);
    let flight = server_flight_for(&mut c, &mut s);
    let result = feed(&mut c, &flight, ALL);
    assert_fails(
        &mut c,
        result,
        Error::BadCertificate(CertificateError::NotTrusted),
        &fatal(AlertDescription::BAD_CERTIFICATE),
    );
}

// ---------------------------------------------------------------------------
// 7b. The server and the ClientKeyExchange
// ---------------------------------------------------------------------------

/// RFC 5246 §7.4.7.1: the server uses the premaster inside the encryption block
/// only if the whole block is well formed: 00 02, non-zero padding, a 00
/// separator, and the version the client offered. Here the client computes its
/// Finished from the premaster it put in the block, so a server that skipped any
/// one check would take that premaster and complete the handshake; a correct
/// server has used its random fallback and finds the Finished record does not
/// authenticate, exactly as for a tampered Finished (tests/no_oracle.rs).
#[test]
fn a_premaster_in_a_malformed_block_is_never_used() {
    type Edit = fn(&mut [u8]);
    let cases: [(&str, Edit); 7] = [
        ("first byte 01", |em| em[0] = 1),
        ("block type 01", |em| em[1] = 1),
        ("block type 00", |em| em[1] = 0),
        ("a zero byte in the padding", |em| em[2] = 0),
        ("a zero byte at the end of the padding", |em| {
            let k = em.len();
            em[k - 50] = 0;
        }),
        ("no separator before the premaster", |em| {
            let k = em.len();
            em[k - 49] = 0x5a;
        }),
        ("premaster version 03 01", |em| {
            let k = em.len();
            em[k - 47] = 1;
        }),
    ];
    // The server's answer to the double's flight with the block edited.
    let run = |edit: Edit| {
        let mut s = rsa2048_server(7);
        let (mut sc, first) = ScriptedClient::new(scripted_hello());
        feed(&mut s, &first, ALL).unwrap();
        let second = sc.key_exchange_with_block(&take_output(&mut s), edit);
        (feed(&mut s, &second, ALL), take_output(&mut s))
    };
    // The harness is sound: with the block left alone the server completes.
    complete_info(&run(|_| {}).0.unwrap());
    for (name, edit) in cases {
        assert_eq!(
            run(edit),
            (
                Err(Error::BadRecordMac),
                fatal(AlertDescription::BAD_RECORD_MAC)
            ),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------
// 8. Messages out of order (the CCS-injection class, CVE-2014-0224)
// ---------------------------------------------------------------------------

fn ccs() -> Vec<u8> {
    plain(ContentType::CHANGE_CIPHER_SPEC, &[1])
}

/// RFC 5246 §7.3/§7.1: ChangeCipherSpec comes after ClientKeyExchange; earlier it
/// is an unexpected_message (§7.2.2).
#[test]
fn a_change_cipher_spec_before_client_key_exchange_is_unexpected() {
    let mut s = rsa2048_server(2);
    let result = feed(&mut s, &ccs(), ALL);
    assert_fails(
        &mut s,
        result,
        unexpected("ClientHello", "ChangeCipherSpec"),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );

    let (mut s, _) = server_expecting_key_exchange();
    let result = feed(&mut s, &ccs(), ALL);
    assert_fails(
        &mut s,
        result,
        unexpected("ClientKeyExchange", "ChangeCipherSpec"),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );
}

/// RFC 5246 §7.4.9: "A Finished message is always sent immediately after a
/// change cipher spec message".
#[test]
fn a_finished_before_change_cipher_spec_is_unexpected() {
    let (mut s, second) = server_expecting_key_exchange();
    assert_eq!(feed(&mut s, &second[0], ALL), Ok(vec![]));
    let finished = handshake_record(&[HandshakeMessage::Finished([0; 12])]);
    let result = feed(&mut s, &finished, ALL);
    assert_fails(
        &mut s,
        result,
        unexpected("ChangeCipherSpec", "Finished"),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );
}

/// RFC 5246 §7.3: one ClientHello per handshake; a second one mid-handshake is
/// unexpected_message.
#[test]
fn a_second_client_hello_during_the_handshake_is_unexpected() {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    let hello = deliver_client_hello(&mut c, &mut s);
    take_output(&mut s);
    let result = feed(&mut s, &hello, ALL);
    assert_fails(
        &mut s,
        result,
        unexpected("ClientKeyExchange", "ClientHello"),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );
}

/// RFC 5246 §7.3: the server's ChangeCipherSpec follows the client's Finished; a
/// client that gets one before ServerHelloDone answers unexpected_message.
#[test]
fn a_change_cipher_spec_before_server_hello_done_is_unexpected_at_the_client() {
    for (n, expected) in [
        (0, "ServerHello"),
        (1, "Certificate"),
        (2, "ServerHelloDone"),
    ] {
        let mut c = rsa2048_client(1);
        let mut s = rsa2048_server(2);
        let msgs = handshake_messages(&server_flight_for(&mut c, &mut s));
        let mut wire = flight_of(&msgs[..n]);
        wire.extend(ccs());
        let result = feed(&mut c, &wire, ALL);
        assert_fails(
            &mut c,
            result,
            unexpected(expected, "ChangeCipherSpec"),
            &fatal(AlertDescription::UNEXPECTED_MESSAGE),
        );
    }
}

/// RFC 5246 §7.1: "The message consists of a single byte of value 1." Any other
/// record is not a ChangeCipherSpec, so it is unexpected_message (RFC 8446 §5, as
/// OpenSSL and GnuTLS answer).
#[test]
fn a_change_cipher_spec_with_another_payload_is_an_unexpected_message() {
    for payload in [&[2u8][..], &[1, 1]] {
        let (mut s, second) = server_expecting_key_exchange();
        assert_eq!(feed(&mut s, &second[0], ALL), Ok(vec![]));
        let result = feed(
            &mut s,
            &plain(ContentType::CHANGE_CIPHER_SPEC, payload),
            ALL,
        );
        assert_fails(
            &mut s,
            result,
            malformed_ccs(),
            &fatal(AlertDescription::UNEXPECTED_MESSAGE),
        );
    }
}

fn malformed_ccs() -> Error {
    unexpected(
        "ChangeCipherSpec of the single byte 1",
        "malformed ChangeCipherSpec",
    )
}

// ---------------------------------------------------------------------------
// 9. The record layer
// ---------------------------------------------------------------------------

/// RFC 5246 §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14; §7.2.2
/// record_overflow. A ClientHello filling exactly 2^14 is fine.
/// read_tls buffers at most one record of the largest size RFC 5246 §6.2.3
/// allows (header and 2^14 + 2048 bytes) and takes nothing more until
/// poll_event has consumed it.
#[test]
fn read_tls_buffers_at_most_one_largest_record() {
    let mut s = rsa2048_server(2);
    let largest = 5 + (1 << 14) + 2048;
    assert_eq!(s.read_tls(&vec![22; 100_000]), Ok(largest));
    assert_eq!(s.read_tls(&[22; 10]), Ok(0));
}

#[test]
fn a_plaintext_record_over_2_14_is_a_record_overflow() {
    for extra in [0, 1] {
        let mut c = rsa2048_client(1);
        let mut s = rsa2048_server(2);
        let ch = client_hello_of(&take_output(&mut c));
        let msg = HandshakeMessage::ClientHello(client_hello_of_len(ch, MAX_PLAINTEXT - 4 + extra));
        let wire = plain(ContentType::HANDSHAKE, &msg.to_bytes());
        assert_eq!(wire.len(), HEADER_LEN + MAX_PLAINTEXT + extra);
        let result = feed(&mut s, &wire, ALL);
        if extra == 0 {
            assert_eq!(result, Ok(vec![]));
            assert!(s.wants_write(), "the server answers");
        } else {
            assert_fails(
                &mut s,
                result,
                Error::RecordOverflow,
                &fatal(AlertDescription::RECORD_OVERFLOW),
            );
        }
    }
}

/// RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048; §7.2.2
/// record_overflow. At exactly 2^14 + 2048 the length passes and garbage fails to
/// authenticate instead.
#[test]
fn an_encrypted_record_over_2_14_plus_2048_is_a_record_overflow() {
    for (len, err, desc) in [
        (
            MAX_CIPHERTEXT + 1,
            Error::RecordOverflow,
            AlertDescription::RECORD_OVERFLOW,
        ),
        (
            MAX_CIPHERTEXT,
            Error::BadRecordMac,
            AlertDescription::BAD_RECORD_MAC,
        ),
    ] {
        let (mut c, mut s) = established();
        let wire = plain(ContentType::APPLICATION_DATA, &vec![0x17; len]);
        let result = feed(&mut s, &wire, ALL);
        let alert = assert_fails_encrypted(&mut s, result, err);
        assert_peer_reads_fatal(&mut c, &alert, desc);
    }
}

/// RFC 5246 §6.2.1 (plaintext at most 2^14) and §7.2.2 record_overflow: a record
/// that authenticates but decrypts to 2^14 + 1 bytes is refused; 2^14 is fine.
#[test]
fn an_encrypted_record_whose_plaintext_exceeds_2_14_is_a_record_overflow() {
    let mut s = rsa2048_server(2);
    let (mut sc, _) = scripted_handshake(scripted_hello(), &mut s);
    let full = sc.seal(ContentType::APPLICATION_DATA, &[0x61; MAX_PLAINTEXT]);
    assert_eq!(
        feed(&mut s, &full, ALL),
        Ok(vec![Ev::Data(vec![0x61; MAX_PLAINTEXT])])
    );
    let over = sc.seal(ContentType::APPLICATION_DATA, &[0x61; MAX_PLAINTEXT + 1]);
    let result = feed(&mut s, &over, ALL);
    let alert = assert_fails_encrypted(&mut s, result, Error::RecordOverflow);
    assert_eq!(
        sc.open(&alert),
        (
            ContentType::ALERT,
            vec![2, AlertDescription::RECORD_OVERFLOW.0]
        )
    );
}

/// RFC 5246 §6: "If a TLS implementation receives an unexpected record type, it
/// MUST send an unexpected_message alert." Before and after keys are active.
#[test]
fn an_unknown_record_type_is_unexpected() {
    let err = unexpected("a known record type", "unknown record type");
    let mut s = rsa2048_server(2);
    let result = feed(&mut s, &plain(ContentType(24), &[1]), ALL);
    assert_fails(
        &mut s,
        result,
        err.clone(),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );

    let (mut c, mut s) = established();
    let result = feed(&mut s, &plain(ContentType(24), &[1; 40]), ALL);
    let alert = assert_fails_encrypted(&mut s, result, err);
    assert_peer_reads_fatal(&mut c, &alert, AlertDescription::UNEXPECTED_MESSAGE);
}

/// RFC 5246 §6.2.1: "Implementations MUST NOT send zero-length fragments of
/// Handshake, Alert, or ChangeCipherSpec content types." An empty handshake or
/// alert record is a decode_error; an empty ChangeCipherSpec record is not the
/// one-byte message, so it is unexpected_message like any malformed one.
#[test]
fn zero_length_handshake_alert_and_ccs_records_are_refused() {
    for (typ, err, desc) in [
        (
            ContentType::HANDSHAKE,
            Error::Decode("empty handshake fragment"),
            AlertDescription::DECODE_ERROR,
        ),
        (
            ContentType::ALERT,
            Error::Decode("alert level"),
            AlertDescription::DECODE_ERROR,
        ),
        (
            ContentType::CHANGE_CIPHER_SPEC,
            malformed_ccs(),
            AlertDescription::UNEXPECTED_MESSAGE,
        ),
    ] {
        let mut s = rsa2048_server(2);
        let result = feed(&mut s, &plain(typ, &[]), ALL);
        assert_fails(&mut s, result, err, &fatal(desc));
    }
}

/// RFC 5246 §7.2: an alert is two bytes, level and description; a record of
/// three is a decode_error.
#[test]
fn an_alert_record_of_three_bytes_is_a_decode_error() {
    let mut s = rsa2048_server(2);
    let result = feed(&mut s, &plain(ContentType::ALERT, &[1, 90, 0]), ALL);
    assert_fails(
        &mut s,
        result,
        Error::Decode("alert record longer than one alert"),
        &fatal(AlertDescription::DECODE_ERROR),
    );
}

/// RFC 5246 §7.4 allows handshake messages up to 2^24 - 1 bytes; rsatls bounds
/// them by configuration, except the ClientHello, which is held to its wire
/// format's maximum (`tests/conformance_edges.rs`). A ClientKeyExchange of
/// exactly the maximum is accepted, one byte more is an illegal_parameter; a
/// ClientHello over the maximum is accepted.
#[test]
fn a_handshake_message_over_the_configured_maximum_is_refused() {
    for extra in [0, 1] {
        let mut c = rsa2048_client(1);
        let mut s = server(server_config("rsa2048").with_max_handshake_size(1024), 2);
        let ch = client_hello_of(&take_output(&mut c));
        let msg = HandshakeMessage::ClientHello(client_hello_of_len(ch, 1024 + extra));
        assert_eq!(feed(&mut s, &handshake_record(&[msg]), ALL), Ok(vec![]));
        assert!(!take_output(&mut s).is_empty(), "the server answers");
        // The encrypted premaster is not checked here: a wrong length is a bad
        // premaster, found out only at Finished (RFC 5246 §7.4.7.1).
        let cke = HandshakeMessage::ClientKeyExchange(vec![7; 1024 + extra - 2]);
        let result = feed(&mut s, &handshake_record(&[cke]), ALL);
        if extra == 0 {
            assert_eq!(result, Ok(vec![]));
        } else {
            assert_fails(
                &mut s,
                result,
                illegal("handshake message exceeds the configured maximum"),
                &fatal(AlertDescription::ILLEGAL_PARAMETER),
            );
        }
    }
}

/// The 24-bit length is judged from the header alone: a ClientKeyExchange
/// declaring 2^16 + 1 bytes, one over the default maximum (64 KiB), is refused
/// before any of its body arrives, so no buffer waits for it.
#[test]
fn a_handshake_header_over_the_default_maximum_is_refused_before_its_body() {
    let (mut s, _) = server_expecting_key_exchange();
    let result = feed(&mut s, &plain(ContentType::HANDSHAKE, &[16, 1, 0, 1]), ALL);
    assert_fails(
        &mut s,
        result,
        illegal("handshake message exceeds the configured maximum"),
        &fatal(AlertDescription::ILLEGAL_PARAMETER),
    );
}

// ---------------------------------------------------------------------------
// 10. Record protection after the handshake
// ---------------------------------------------------------------------------

/// RFC 5246 §6.2.3.3: a record whose AEAD check fails MUST be answered with a
/// fatal bad_record_mac. Every byte of the fragment: explicit nonce, ciphertext
/// and tag.
#[test]
fn tampering_with_any_byte_of_an_application_data_record_is_a_bad_record_mac() {
    let (mut c, _) = established();
    c.write_app_data(b"hello").unwrap();
    let reference = take_output(&mut c);
    assert_eq!(reference.len(), HEADER_LEN + 8 + 5 + GCM_TAG_LEN);
    for i in HEADER_LEN..reference.len() {
        let part = match i - HEADER_LEN {
            0..8 => "explicit nonce",
            8..13 => "ciphertext",
            _ => "tag",
        };
        let (mut c, mut s) = established();
        c.write_app_data(b"hello").unwrap();
        let mut rec = take_output(&mut c);
        assert_eq!(rec, reference, "deterministic");
        rec[i] ^= 0x01;
        let result = feed(&mut s, &rec, ALL);
        assert_eq!(result, Err(Error::BadRecordMac), "{part} byte {i}");
        let alert = assert_fails_encrypted(&mut s, result, Error::BadRecordMac);
        assert_peer_reads_fatal(&mut c, &alert, AlertDescription::BAD_RECORD_MAC);
    }
}

/// RFC 5246 §6.2.3.3: the sequence number is in the additional data, so a
/// replayed record does not authenticate.
#[test]
fn a_replayed_record_is_a_bad_record_mac() {
    let (mut c, mut s) = established();
    c.write_app_data(b"one").unwrap();
    let one = take_output(&mut c);
    assert_eq!(feed(&mut s, &one, ALL), Ok(vec![Ev::Data(b"one".to_vec())]));
    let result = feed(&mut s, &one, ALL);
    let alert = assert_fails_encrypted(&mut s, result, Error::BadRecordMac);
    assert_peer_reads_fatal(&mut c, &alert, AlertDescription::BAD_RECORD_MAC);
}

/// RFC 5246 §6.2.3.3 (and §6.1: records are numbered in order): two records
/// delivered in swapped order do not authenticate.
#[test]
fn swapped_records_are_a_bad_record_mac() {
    let (mut c, mut s) = established();
    c.write_app_data(b"one").unwrap();
    let one = take_output(&mut c);
    c.write_app_data(b"two").unwrap();
    let two = take_output(&mut c);
    let result = feed(&mut s, &[two, one].concat(), ALL);
    let alert = assert_fails_encrypted(&mut s, result, Error::BadRecordMac);
    assert_peer_reads_fatal(&mut c, &alert, AlertDescription::BAD_RECORD_MAC);
}

// ---------------------------------------------------------------------------
// 11. Alerts from the peer
// ---------------------------------------------------------------------------

/// CVE-2016-8610 ("SSL Death Alert"): a run of warning alerts is bounded; the
/// 33rd in a row is refused with unexpected_message. Before keys are active, at
/// the server's first state.
#[test]
fn thirty_two_warning_alerts_are_tolerated_and_the_thirty_third_is_not() {
    let warning = plain_alert(AlertLevel::WARNING, AlertDescription::USER_CANCELED);
    let run = warning.repeat(MAX_EMPTY_RUN as usize);

    // 32 are tolerated: the handshake then proceeds.
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    assert_eq!(feed(&mut s, &run, ALL), Ok(vec![]));
    assert!(!s.wants_write());
    assert_eq!(feed(&mut s, &take_output(&mut c), ALL), Ok(vec![]));
    assert!(s.wants_write());

    let mut s = rsa2048_server(2);
    assert_eq!(feed(&mut s, &run, ALL), Ok(vec![]));
    let result = feed(&mut s, &warning, ALL);
    assert_fails(
        &mut s,
        result,
        Error::TooManyEmptyRecords,
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );
}

/// CVE-2016-8610, after the handshake: encrypted warnings and empty
/// application-data records share one bounded run, which data resets.
#[test]
fn encrypted_warnings_and_empty_records_share_one_bounded_run() {
    let mut s = rsa2048_server(2);
    let (mut sc, _) = scripted_handshake(scripted_hello(), &mut s);
    let warning = Alert {
        level: AlertLevel::WARNING,
        description: AlertDescription::USER_CANCELED,
    }
    .encode();
    let mut wire = Vec::new();
    for i in 0..MAX_EMPTY_RUN {
        match i % 2 {
            0 => wire.extend(sc.seal(ContentType::ALERT, &warning)),
            _ => wire.extend(sc.seal(ContentType::APPLICATION_DATA, &[])),
        }
    }
    wire.extend(sc.seal(ContentType::APPLICATION_DATA, b"data"));
    for _ in 0..MAX_EMPTY_RUN {
        wire.extend(sc.seal(ContentType::ALERT, &warning));
    }
    assert_eq!(
        feed(&mut s, &wire, ALL),
        Ok(vec![Ev::Data(b"data".to_vec())])
    );
    assert!(!s.wants_write());
    let result = feed(&mut s, &sc.seal(ContentType::ALERT, &warning), ALL);
    let alert = assert_fails_encrypted(&mut s, result, Error::TooManyEmptyRecords);
    assert_eq!(
        sc.open(&alert),
        (
            ContentType::ALERT,
            vec![2, AlertDescription::UNEXPECTED_MESSAGE.0]
        )
    );
}

/// RFC 5246 §7.2: a fatal alert closes the connection at once. rsatls answers it
/// with nothing (Error::alert maps AlertReceived to no alert).
#[test]
fn a_fatal_alert_from_the_peer_ends_the_connection_without_an_answer() {
    let mut s = rsa2048_server(2);
    let result = feed(&mut s, &fatal(AlertDescription::HANDSHAKE_FAILURE), ALL);
    assert_fails(
        &mut s,
        result,
        Error::AlertReceived(AlertDescription::HANDSHAKE_FAILURE),
        &[],
    );

    let mut s = rsa2048_server(2);
    let (mut sc, _) = scripted_handshake(scripted_hello(), &mut s);
    let alert = Alert {
        level: AlertLevel::FATAL,
        description: AlertDescription::INTERNAL_ERROR,
    };
    let result = feed(&mut s, &sc.seal(ContentType::ALERT, &alert.encode()), ALL);
    assert_fails(
        &mut s,
        result,
        Error::AlertReceived(AlertDescription::INTERNAL_ERROR),
        &[],
    );
}

/// RFC 5246 §7.2.1: close_notify ends the peer's data; "Any data received after a
/// closure alert is ignored."
#[test]
fn close_notify_is_a_clean_close_and_later_input_is_ignored() {
    let (mut c, mut s) = established();
    c.send_close_notify();
    let mut wire = take_output(&mut c);
    // Records that would otherwise be fatal: an unknown type, garbage data.
    wire.extend(plain(ContentType(24), &[1]));
    wire.extend(plain(ContentType::APPLICATION_DATA, &[0; 40]));
    assert_eq!(feed(&mut s, &wire, ALL), Ok(vec![Ev::Closed]));
    assert!(!s.wants_write());
    assert_eq!(feed(&mut s, &[0xff; 100], ALL), Ok(vec![]));
    assert_eq!(s.error(), None);
    assert_eq!(s.handle_eof(), Ok(()));
}

/// Having sent close_notify, a side still reads until the peer closes, and a
/// fatal error on that input is still announced with its alert (only a second
/// close_notify is never sent).
#[test]
fn a_fatal_error_after_sending_close_notify_still_sends_its_alert() {
    let (mut c, mut s) = established();
    c.send_close_notify();
    assert_eq!(
        feed(&mut s, &take_output(&mut c), ALL),
        Ok(vec![Ev::Closed])
    );
    s.write_app_data(b"late").unwrap();
    let mut record = take_output(&mut s);
    let last = record.len() - 1;
    record[last] ^= 1;
    let result = feed(&mut c, &record, ALL);
    let alert = assert_fails_encrypted(&mut c, result, Error::BadRecordMac);
    // The server has read close_notify, so it ignores the alert (§7.2.1).
    assert_eq!(feed(&mut s, &alert, ALL), Ok(vec![]));
}

// ---------------------------------------------------------------------------
// 12. Renegotiation is refused
// ---------------------------------------------------------------------------

/// RFC 5246 §7.4.1.1 and §7.2.2: a client that will not renegotiate MAY answer a
/// HelloRequest with a no_renegotiation warning; the connection carries on.
#[test]
fn an_established_client_answers_hello_request_with_a_no_renegotiation_warning() {
    let log = Arc::new(MemoryKeyLog::default());
    let mut c = client(client_config("rsa2048").with_key_log(log.clone()), 1);
    let mut s = rsa2048_server(2);
    let t = handshake(&mut c, &mut s).unwrap();
    // The test stands in for the server to send what the engine never does.
    let (mut client_write, mut server_write) = keys_from_log(&log, &t);
    let hello_request = HandshakeMessage::HelloRequest.to_bytes();
    let rec = server_write.seal(ContentType::HANDSHAKE, &hello_request);
    assert_eq!(feed(&mut c, &rec, ALL), Ok(vec![]));
    let answer = take_output(&mut c);
    assert_eq!(records(&answer).len(), 1);
    assert_eq!(
        client_write.open(&answer),
        (
            ContentType::ALERT,
            vec![1, AlertDescription::NO_RENEGOTIATION.0]
        )
    );
    // Data still flows both ways.
    c.write_app_data(b"still here").unwrap();
    let wire = [answer, take_output(&mut c)].concat();
    assert_eq!(
        feed(&mut s, &wire, ALL),
        Ok(vec![Ev::Data(b"still here".to_vec())])
    );
    let rec = server_write.seal(ContentType::APPLICATION_DATA, b"and here");
    assert_eq!(
        feed(&mut c, &rec, ALL),
        Ok(vec![Ev::Data(b"and here".to_vec())])
    );
}

/// RFC 5246 §7.2.2: no_renegotiation is "sent ... by the server in response to a
/// client hello after initial handshaking"; a warning, and the connection
/// carries on.
#[test]
fn an_established_server_answers_a_client_hello_with_a_no_renegotiation_warning() {
    let mut s = rsa2048_server(2);
    let (mut sc, _) = scripted_handshake(scripted_hello(), &mut s);
    let hello = HandshakeMessage::ClientHello(scripted_hello()).to_bytes();
    assert_eq!(
        feed(&mut s, &sc.seal(ContentType::HANDSHAKE, &hello), ALL),
        Ok(vec![])
    );
    let answer = take_output(&mut s);
    assert_eq!(records(&answer).len(), 1);
    assert_eq!(
        sc.open(&answer),
        (
            ContentType::ALERT,
            vec![1, AlertDescription::NO_RENEGOTIATION.0]
        )
    );
    let rec = sc.seal(ContentType::APPLICATION_DATA, b"still here");
    assert_eq!(
        feed(&mut s, &rec, ALL),
        Ok(vec![Ev::Data(b"still here".to_vec())])
    );
    s.write_app_data(b"and here").unwrap();
    assert_eq!(
        sc.open(&take_output(&mut s)),
        (ContentType::APPLICATION_DATA, b"and here".to_vec())
    );
}

/// CVE-2016-8610 applied to renegotiation (src/conn/server.rs: "Refusals count
/// towards the empty-record cap, so a peer cannot make us answer an endless
/// stream of renegotiation attempts"): 32 refused ClientHellos in a row, one per
/// record as a peer would send them, are tolerated; the 33rd is not.
#[test]
fn renegotiation_attempts_share_the_bounded_run() {
    let mut s = rsa2048_server(2);
    let (mut sc, _) = scripted_handshake(scripted_hello(), &mut s);
    let hello = HandshakeMessage::ClientHello(scripted_hello()).to_bytes();
    for i in 0..MAX_EMPTY_RUN {
        let rec = sc.seal(ContentType::HANDSHAKE, &hello);
        assert_eq!(feed(&mut s, &rec, ALL), Ok(vec![]), "attempt {}", i + 1);
        let (_, alert) = sc.open(&take_output(&mut s));
        assert_eq!(alert, [1, AlertDescription::NO_RENEGOTIATION.0]);
    }
    let result = feed(&mut s, &sc.seal(ContentType::HANDSHAKE, &hello), ALL);
    let alert = assert_fails_encrypted(&mut s, result, Error::TooManyEmptyRecords);
    assert_eq!(
        sc.open(&alert),
        (
            ContentType::ALERT,
            vec![2, AlertDescription::UNEXPECTED_MESSAGE.0]
        )
    );
}

/// The client-side twin (src/conn/client.rs: HelloRequests are "counted towards
/// the empty-record cap either way"): 32 HelloRequests in a row, one per record,
/// are each answered with no_renegotiation; the 33rd is refused.
#[test]
fn hello_requests_share_the_bounded_run() {
    let log = Arc::new(MemoryKeyLog::default());
    let mut c = client(client_config("rsa2048").with_key_log(log.clone()), 1);
    let mut s = rsa2048_server(2);
    let t = handshake(&mut c, &mut s).unwrap();
    let (mut client_write, mut server_write) = keys_from_log(&log, &t);
    let hello_request = HandshakeMessage::HelloRequest.to_bytes();
    for i in 0..MAX_EMPTY_RUN {
        let rec = server_write.seal(ContentType::HANDSHAKE, &hello_request);
        assert_eq!(feed(&mut c, &rec, ALL), Ok(vec![]), "request {}", i + 1);
        let (_, alert) = client_write.open(&take_output(&mut c));
        assert_eq!(alert, [1, AlertDescription::NO_RENEGOTIATION.0]);
    }
    let rec = server_write.seal(ContentType::HANDSHAKE, &hello_request);
    let result = feed(&mut c, &rec, ALL);
    let alert = assert_fails_encrypted(&mut c, result, Error::TooManyEmptyRecords);
    assert_eq!(
        client_write.open(&alert),
        (
            ContentType::ALERT,
            vec![2, AlertDescription::UNEXPECTED_MESSAGE.0]
        )
    );
}

// ---------------------------------------------------------------------------
// 13. The sequence-number limit (needs the `testing` feature's hook)
// ---------------------------------------------------------------------------

/// RFC 5246 §6.1: sequence numbers MUST NOT wrap. rsatls stops far earlier, after
/// 2^24 records in one direction (README: the AES-GCM usage bound), and closes
/// with close_notify; the last slot is kept for that alert.
#[test]
fn the_write_sequence_limit_closes_with_close_notify() {
    let (mut c, mut s) = established();
    let limit = rsatls::SEQ_LIMIT;
    c.set_sequence_numbers_for_testing_only(1, limit - 2);
    s.set_sequence_numbers_for_testing_only(limit - 2, 1);
    assert_eq!(c.write_app_data(b"last"), Ok(4));
    assert_eq!(
        feed(&mut s, &take_output(&mut c), ALL),
        Ok(vec![Ev::Data(b"last".to_vec())])
    );
    let result = c.write_app_data(b"one too many");
    let close = assert_fails_encrypted(&mut c, result, Error::RecordLimitReached);
    // Byte for byte the warning-level close_notify the application would send
    // in that slot (same seeds, so the same keys).
    let (mut twin, _) = established();
    twin.set_sequence_numbers_for_testing_only(1, limit - 1);
    twin.send_close_notify();
    assert_eq!(close, take_output(&mut twin));
    assert_eq!(feed(&mut s, &close, ALL), Ok(vec![Ev::Closed]));
}

/// Once close_notify has taken the last write slot, nothing more is sealed: a
/// later fatal error is still reported, but no alert record goes past the limit.
#[test]
fn nothing_is_sealed_past_the_write_sequence_limit() {
    let (mut c, mut s) = established();
    c.set_sequence_numbers_for_testing_only(1, rsatls::SEQ_LIMIT - 1);
    s.set_sequence_numbers_for_testing_only(rsatls::SEQ_LIMIT - 1, 1);
    c.send_close_notify();
    let close = take_output(&mut c);
    assert_eq!(close.len(), 5 + 8 + 2 + 16, "one protected alert");
    assert_eq!(feed(&mut s, &close, ALL), Ok(vec![Ev::Closed]));
    // A record the client cannot open: bad_record_mac, and no alert to send.
    s.write_app_data(b"x").unwrap();
    let mut record = take_output(&mut s);
    let last = record.len() - 1;
    record[last] ^= 1;
    assert_eq!(feed(&mut c, &record, ALL), Err(Error::BadRecordMac));
    assert!(!c.wants_write(), "{:?}", take_output(&mut c));
}

/// RFC 5246 §6.1, reading side: the 2^24th record received is not opened, and
/// the connection closes with close_notify.
#[test]
fn the_read_sequence_limit_closes_with_close_notify() {
    let (mut c, mut s) = established();
    s.set_sequence_numbers_for_testing_only(rsatls::SEQ_LIMIT, 1);
    c.write_app_data(b"x").unwrap();
    let result = feed(&mut s, &take_output(&mut c), ALL);
    let close = assert_fails_encrypted(&mut s, result, Error::RecordLimitReached);
    let (_, mut twin) = established();
    twin.send_close_notify();
    assert_eq!(
        close,
        take_output(&mut twin),
        "a warning-level close_notify"
    );
    assert_eq!(feed(&mut c, &close, ALL), Ok(vec![Ev::Closed]));
}
