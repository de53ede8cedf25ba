//! The client and a server that asks for a client certificate (RFC 5246 §7.4.4,
//! §7.4.6, §7.4.8; RFC 7627 §3).
//!
//! The server is a test double: the real rsatls server's ServerHello and
//! Certificate (it never asks for a certificate itself), a CertificateRequest
//! built here from the crate's `msgs` types, and the rest of the server's work
//! (session hash, master secret, both Finished messages, record protection)
//! computed in this file with the PRF and AES-GCM of `tests/common/wire.rs`. The
//! premaster secret is read from the client's key log instead of being
//! decrypted: the double then derives everything else on its own, so a client
//! that left its empty Certificate out of the transcript or the EMS session
//! hash would disagree with it.

mod common;

use std::sync::Arc;

use common::wire::*;
use common::*;
use rsatls::msgs::alert::Alert;
use rsatls::msgs::enums::{
    AlertDescription, AlertLevel, ClientCertificateType, ContentType, HandshakeType,
    SignatureScheme,
};
use rsatls::msgs::handshake::{CertificateRequest, HandshakeMessage};
use rsatls::suites::Suite;
use rsatls::{ClientConnection, Error};

const ALL: usize = usize::MAX;

/// The encodings of the handshake messages in one plaintext record.
fn messages_of(fragment: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = fragment;
    while let Some(&[_, a, b, c]) = rest.first_chunk::<4>() {
        let len = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    assert!(rest.is_empty(), "a message split across records");
    out
}

/// A CertificateRequest like OpenSSL's: RSA and ECDSA, a few schemes, one CA.
fn request() -> CertificateRequest {
    CertificateRequest {
        certificate_types: vec![
            ClientCertificateType::RSA_SIGN,
            ClientCertificateType::ECDSA_SIGN,
        ],
        signature_schemes: vec![
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::ECDSA_SECP256R1_SHA256,
        ],
        // The DER of "CN=Test CA", advisory only: never parsed.
        certificate_authorities: vec![vec![
            0x30, 0x12, 0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x07, b'T',
            b'e', b's', b't', b' ', b'C', b'A',
        ]],
    }
}

/// A handshake message of type CertificateRequest with exactly this body.
fn raw_request(body: &[u8]) -> HandshakeMessage {
    HandshakeMessage::Other(HandshakeType::CERTIFICATE_REQUEST, body.to_vec())
}

fn plain_fatal(description: AlertDescription) -> Vec<u8> {
    plain(
        ContentType::ALERT,
        &Alert {
            level: AlertLevel::FATAL,
            description,
        }
        .encode(),
    )
}

/// A client (seed 1, pinning rsa2048) with a key log, and the real server's
/// first flight for it, as decoded messages (ServerHello, Certificate,
/// ServerHelloDone) after the client's ClientHello (raw).
struct Start {
    client: ClientConnection,
    log: Arc<MemoryKeyLog>,
    client_hello: Vec<u8>,
    server_flight: Vec<HandshakeMessage>,
}

fn start() -> Start {
    let log = Arc::new(MemoryKeyLog::default());
    let mut client = client(client_config("rsa2048").with_key_log(log.clone()), 1);
    let mut s = server(server_config("rsa2048"), 2);
    let hello = take_output(&mut client);
    assert_eq!(feed(&mut s, &hello, ALL), Ok(vec![]));
    let flight = take_output(&mut s);
    let [(_, ch)] = records(&hello).try_into().unwrap();
    let server_flight = records(&flight)
        .iter()
        .flat_map(|(_, f)| messages_of(f))
        .map(|m| HandshakeMessage::decode(&m).unwrap())
        .collect();
    Start {
        client,
        log,
        client_hello: ch,
        server_flight,
    }
}

/// The server's flight with `extra` inserted before message `at`, in one record.
fn flight_with(start: &Start, at: usize, extra: &[HandshakeMessage]) -> Vec<u8> {
    let mut msgs = start.server_flight.clone();
    for (i, m) in extra.iter().enumerate() {
        msgs.insert(at + i, m.clone());
    }
    let body: Vec<u8> = msgs.iter().flat_map(HandshakeMessage::to_bytes).collect();
    plain(ContentType::HANDSHAKE, &body)
}

/// What the double learns from the client's answer to a requesting server.
struct Answer {
    suite: &'static Suite,
    /// Every handshake message so far, client Finished included, in order.
    transcript: Vec<u8>,
    /// The same, with the CertificateRequest left out.
    transcript_without_request: Vec<u8>,
    master: Vec<u8>,
    /// Server write.
    server: Direction,
    /// Client write.
    client: Direction,
}

/// Sends ServerHello, Certificate, CertificateRequest, ServerHelloDone to the
/// client and checks its answer byte by byte: an empty Certificate, then
/// ClientKeyExchange (one record), ChangeCipherSpec, Finished; no
/// CertificateVerify anywhere.
fn request_and_check_answer(start: &mut Start) -> Answer {
    let req = HandshakeMessage::CertificateRequest(request());
    let flight = flight_with(start, 2, std::slice::from_ref(&req));
    assert_eq!(feed(&mut start.client, &flight, ALL), Ok(vec![]));
    let answer = records(&take_output(&mut start.client));
    assert_eq!(answer.len(), 3, "handshake, ChangeCipherSpec, Finished");
    let types: Vec<ContentType> = answer.iter().map(|(h, _)| h.typ).collect();
    assert_eq!(
        types,
        [
            ContentType::HANDSHAKE,
            ContentType::CHANGE_CIPHER_SPEC,
            ContentType::HANDSHAKE
        ]
    );
    let sent = messages_of(&answer[0].1);
    // RFC 5246 §7.4.6: Certificate with certificate_list<0..2^24-1> empty: type
    // 11, length 3, list length 0. §7.4.8: no CertificateVerify (type 15).
    assert_eq!(sent.len(), 2, "Certificate and ClientKeyExchange only");
    assert_eq!(sent[0], [11, 0, 0, 3, 0, 0, 0]);
    assert!(matches!(
        HandshakeMessage::decode(&sent[1]),
        Ok(HandshakeMessage::ClientKeyExchange(_))
    ));
    assert_eq!(answer[1].1, [1]);

    let (sh, cert, shd) = match start.server_flight.as_slice() {
        [HandshakeMessage::ServerHello(sh), cert, shd] => (sh.clone(), cert.to_bytes(), shd),
        other => panic!("server flight {other:?}"),
    };
    let suite = rsatls::suites::find(sh.cipher_suite).unwrap();
    let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(&start.client_hello).unwrap()
    else {
        panic!()
    };
    let hash = |t: &[u8]| provider().hash(suite.hash, t).as_ref().to_vec();
    let before_request = [&start.client_hello[..], &sh_bytes(&sh), &cert].concat();
    let after_request = [shd.to_bytes(), sent.concat()].concat();
    let transcript = [&before_request[..], &req.to_bytes(), &after_request].concat();
    let without = [&before_request[..], &after_request].concat();

    // RFC 7627 §4: master = PRF(premaster, "extended master secret",
    // session_hash), the session hash running through ClientKeyExchange, so over
    // the empty Certificate too.
    let premaster = unhex(&start.log.secret("RSA").unwrap());
    let master = prf(
        suite.hash,
        &premaster,
        b"extended master secret",
        &hash(&transcript),
        48,
    );
    assert_eq!(
        hex(&master),
        start.log.secret("CLIENT_RANDOM").unwrap(),
        "the client's session hash is not the double's"
    );
    let (mut client, server) = directions(suite, &master, &ch.random, &sh.random);
    let (typ, fin) = client.open(&plain(answer[2].0.typ, &answer[2].1));
    assert_eq!(typ, ContentType::HANDSHAKE);
    let expected = prf(
        suite.hash,
        &master,
        b"client finished",
        &hash(&transcript),
        12,
    );
    assert_eq!(
        HandshakeMessage::decode(&fin),
        Ok(HandshakeMessage::Finished(expected.try_into().unwrap())),
        "the client's Finished does not cover CertificateRequest and Certificate"
    );
    Answer {
        suite,
        transcript: [transcript, fin.clone()].concat(),
        transcript_without_request: [without, fin].concat(),
        master,
        server,
        client,
    }
}

fn sh_bytes(sh: &rsatls::msgs::handshake::ServerHello) -> Vec<u8> {
    HandshakeMessage::ServerHello(sh.clone()).to_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's ChangeCipherSpec and Finished over `transcript`.
fn server_finish(a: &mut Answer, transcript: &[u8]) -> Vec<u8> {
    let hash = provider().hash(a.suite.hash, transcript);
    let vd = prf(
        a.suite.hash,
        &a.master,
        b"server finished",
        hash.as_ref(),
        12,
    );
    let fin = HandshakeMessage::Finished(vd.try_into().unwrap()).to_bytes();
    let mut out = plain(ContentType::CHANGE_CIPHER_SPEC, &[1]);
    out.extend(a.server.seal(ContentType::HANDSHAKE, &fin));
    out
}

/// RFC 5246 §7.4.4, §7.4.6, §7.4.8: asked for a certificate, the client (which
/// has none) sends an empty Certificate before ClientKeyExchange and no
/// CertificateVerify; the handshake completes and data flows both ways.
#[test]
fn the_client_answers_a_certificate_request_with_an_empty_certificate_and_completes() {
    let mut start = start();
    let mut a = request_and_check_answer(&mut start);
    let transcript = a.transcript.clone();
    let wire = server_finish(&mut a, &transcript);
    let events = feed(&mut start.client, &wire, ALL).unwrap();
    let [Ev::Complete(info)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(info.extended_master_secret);
    assert!(start.client.is_established());

    start.client.write_app_data(b"ping").unwrap();
    let out = take_output(&mut start.client);
    assert_eq!(
        a.client.open(&out),
        (ContentType::APPLICATION_DATA, b"ping".to_vec())
    );
    let pong = a.server.seal(ContentType::APPLICATION_DATA, b"pong");
    assert_eq!(
        feed(&mut start.client, &pong, ALL),
        Ok(vec![Ev::Data(b"pong".to_vec())])
    );
}

/// RFC 5246 §7.4.9: handshake_messages are all messages of this handshake, the
/// CertificateRequest included: a server whose Finished leaves it out fails
/// verification at the client (decrypt_error, encrypted).
#[test]
fn a_server_finished_without_the_certificate_request_fails() {
    let mut start = start();
    let mut a = request_and_check_answer(&mut start);
    let without = a.transcript_without_request.clone();
    let wire = server_finish(&mut a, &without);
    let result = feed(&mut start.client, &wire, ALL);
    assert_eq!(result, Err(Error::DecryptError));
    let alert = take_output(&mut start.client);
    assert_eq!(
        a.server_reads(&alert),
        (
            ContentType::ALERT,
            vec![2, AlertDescription::DECRYPT_ERROR.0]
        )
    );
    assert_eq!(
        start.client.read_tls(&[22, 3, 3, 0, 0]),
        Err(Error::DecryptError)
    );
    assert!(!start.client.wants_write());
}

impl Answer {
    /// The double reads one record the client protected.
    fn server_reads(&mut self, rec: &[u8]) -> (ContentType, Vec<u8>) {
        self.client.open(rec)
    }
}

/// RFC 7627 §3: the session hash covers the empty Certificate. Checked in
/// `request_and_check_answer` against the client's logged master secret; here,
/// that the check can tell: the same premaster with a session hash that stops
/// before the Certificate gives another master secret.
#[test]
fn the_ems_session_hash_includes_the_empty_certificate() {
    let mut start = start();
    let a = request_and_check_answer(&mut start);
    let premaster = unhex(&start.log.secret("RSA").unwrap());
    let empty_certificate = [11u8, 0, 0, 3, 0, 0, 0];
    // The transcript through ClientKeyExchange, with the Certificate cut out.
    let fin_len = 16;
    let through_cke = &a.transcript[..a.transcript.len() - fin_len];
    let at = through_cke
        .windows(empty_certificate.len())
        .rposition(|w| w == empty_certificate)
        .unwrap();
    let cut = [&through_cke[..at], &through_cke[at + 7..]].concat();
    let other = prf(
        a.suite.hash,
        &premaster,
        b"extended master secret",
        provider().hash(a.suite.hash, &cut).as_ref(),
        48,
    );
    assert_ne!(other, a.master);
    assert_eq!(hex(&a.master), start.log.secret("CLIENT_RANDOM").unwrap());
}

/// RFC 5246 §7.4.4 (each vector's bounds) and §4.3 / §7.2.2: a CertificateRequest
/// that does not parse is a decode_error.
#[test]
fn malformed_certificate_requests_are_decode_errors() {
    // certificate_types <1..2^8-1>, supported_signature_algorithms <2..2^16-2>
    // (whole pairs), certificate_authorities <0..2^16-1> of DistinguishedName
    // <1..2^16-1>.
    let good = HandshakeMessage::CertificateRequest(request()).to_bytes()[4..].to_vec();
    let cases: [(&str, Vec<u8>); 10] = [
        ("certificate_types", vec![0, 0, 2, 4, 1, 0, 0]),
        ("supported_signature_algorithms", vec![1, 1, 0, 0, 0, 0]),
        (
            "supported_signature_algorithms has odd length",
            vec![1, 1, 0, 3, 4, 1, 5, 0, 0],
        ),
        ("distinguished name", vec![1, 1, 0, 2, 4, 1, 0, 2, 0, 0]),
        (
            "handshake message has trailing bytes",
            [&good[..], &[0]].concat(),
        ),
        // Over-long: each length runs past what follows it.
        ("certificate_types", vec![5, 1]),
        ("supported_signature_algorithms", vec![1, 1, 0, 8, 4, 1]),
        (
            "certificate_authorities",
            vec![1, 1, 0, 2, 4, 1, 0, 9, 0, 1, 7],
        ),
        ("distinguished name", vec![1, 1, 0, 2, 4, 1, 0, 3, 0, 5, 7]),
        // certificate_authorities may be empty, not absent.
        ("certificate_authorities", vec![1, 1, 0, 2, 4, 1]),
    ];
    for (what, body) in cases {
        let mut start = start();
        let flight = flight_with(&start, 2, &[raw_request(&body)]);
        let result = feed(&mut start.client, &flight, ALL);
        assert_eq!(result, Err(Error::Decode(what)), "{body:?}");
        assert_eq!(
            take_output(&mut start.client),
            plain_fatal(AlertDescription::DECODE_ERROR),
            "{body:?}"
        );
        assert_eq!(
            start.client.read_tls(&[22, 3, 3, 0, 0]),
            Err(Error::Decode(what)),
            "{body:?}: sticky"
        );
        assert!(!start.client.wants_write(), "{body:?}");
    }
    // The well-formed request decodes; and at the edges of each bound too.
    let edges = [
        good.clone(),
        vec![1, 1, 0, 2, 4, 1, 0, 0],
        vec![1, 1, 0, 2, 4, 1, 0, 3, 0, 1, 7],
    ];
    for body in edges {
        let mut start = start();
        let flight = flight_with(&start, 2, &[raw_request(&body)]);
        assert_eq!(feed(&mut start.client, &flight, ALL), Ok(vec![]));
    }
}

/// RFC 5246 §7.3, §7.4.4: at most one CertificateRequest, after the server's
/// Certificate and before ServerHelloDone; otherwise unexpected_message.
#[test]
fn a_second_or_misplaced_certificate_request_is_unexpected() {
    let req = HandshakeMessage::CertificateRequest(request());
    let cases: [(usize, Vec<HandshakeMessage>, &str); 3] = [
        (2, vec![req.clone(), req.clone()], "ServerHelloDone"),
        (1, vec![req.clone()], "Certificate"),
        (0, vec![req.clone()], "ServerHello"),
    ];
    for (at, extra, expected) in cases {
        let mut start = start();
        let flight = flight_with(&start, at, &extra);
        let err = Error::UnexpectedMessage {
            expected,
            got: "CertificateRequest",
        };
        assert_eq!(
            feed(&mut start.client, &flight, ALL),
            Err(err.clone()),
            "{at}"
        );
        assert_eq!(
            take_output(&mut start.client),
            plain_fatal(AlertDescription::UNEXPECTED_MESSAGE)
        );
        assert_eq!(start.client.read_tls(&[22, 3, 3, 0, 0]), Err(err));
    }
}

/// The server never accepts a CertificateRequest (it is the client's to receive).
#[test]
fn a_server_given_a_certificate_request_answers_unexpected_message() {
    let mut c = client(client_config("rsa2048"), 1);
    let mut s = server(server_config("rsa2048"), 2);
    assert_eq!(feed(&mut s, &take_output(&mut c), ALL), Ok(vec![]));
    take_output(&mut s);
    let req = HandshakeMessage::CertificateRequest(request()).to_bytes();
    let result = feed(&mut s, &plain(ContentType::HANDSHAKE, &req), ALL);
    assert_eq!(
        result,
        Err(Error::UnexpectedMessage {
            expected: "ClientKeyExchange",
            got: "CertificateRequest",
        })
    );
    assert_eq!(
        take_output(&mut s),
        plain_fatal(AlertDescription::UNEXPECTED_MESSAGE)
    );
}

/// The typed message round-trips through its encoding, and its encoding is the
/// RFC's layout.
#[test]
fn a_certificate_request_round_trips() {
    let msg = HandshakeMessage::CertificateRequest(request());
    let bytes = msg.to_bytes();
    let mut want = vec![
        13, 0, 0, 0x23, 2, 1, 64, 0, 6, 8, 4, 4, 1, 4, 3, 0, 0x16, 0, 0x14,
    ];
    want.extend_from_slice(&request().certificate_authorities[0]);
    assert_eq!(bytes, want);
    assert_eq!(HandshakeMessage::decode(&bytes), Ok(msg));
}
