//! Protocol conformance at the edges: the order of a message judged before its
//! content, the largest ClientHello the wire format allows, server_name in each
//! hello, malformed ChangeCipherSpec records, truncation before the handshake
//! completes, and behaviours that had no test. Each test asserts the exact
//! `Error`, the alert bytes written, and that the failure is sticky.

mod common;

use common::wire::*;
use common::*;
use rsatls::msgs::alert::Alert;
use rsatls::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, Compression, ContentType, ExtensionType,
    HandshakeType,
};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::{ClientHello, HandshakeMessage, MAX_CLIENT_HELLO_LEN, ServerHello};
use rsatls::msgs::record::MAX_PLAINTEXT;
use rsatls::{ClientConnection, Endpoint, Error, Misbehavior, ServerConnection};

/// Feed everything at once.
const ALL: usize = usize::MAX;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn fatal(description: AlertDescription) -> Vec<u8> {
    let alert = Alert {
        level: AlertLevel::FATAL,
        description,
    };
    plain(ContentType::ALERT, &alert.encode())
}

/// Bytes in as few plaintext handshake records as possible.
fn handshake_records(body: &[u8]) -> Vec<u8> {
    body.chunks(MAX_PLAINTEXT)
        .flat_map(|c| plain(ContentType::HANDSHAKE, c))
        .collect()
}

/// A raw handshake message: type, 24-bit length, body.
fn raw_message(typ: HandshakeType, body: &[u8]) -> Vec<u8> {
    let mut out = vec![typ.0];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// The handshake messages of a plaintext flight.
fn messages(flight: &[u8]) -> Vec<HandshakeMessage> {
    let stream: Vec<u8> = records(flight)
        .into_iter()
        .filter(|(h, _)| h.typ == ContentType::HANDSHAKE)
        .flat_map(|(_, f)| f)
        .collect();
    let mut out = Vec::new();
    let mut rest = stream.as_slice();
    while let Some(&[_, a, b, c]) = rest.first_chunk::<4>() {
        let len = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
        out.push(HandshakeMessage::decode(&rest[..len]).unwrap());
        rest = &rest[len..];
    }
    out
}

fn encode_all(msgs: &[HandshakeMessage]) -> Vec<u8> {
    handshake_records(
        &msgs
            .iter()
            .flat_map(HandshakeMessage::to_bytes)
            .collect::<Vec<_>>(),
    )
}

fn rsa2048_client(seed: u64) -> ClientConnection {
    client(client_config("rsa2048"), seed)
}

fn rsa2048_server(seed: u64) -> ServerConnection {
    server(server_config("rsa2048"), seed)
}

/// The real client's ClientHello (seed 1).
fn real_client_hello() -> ClientHello {
    let mut c = rsa2048_client(1);
    match messages(&take_output(&mut c)).as_slice() {
        [HandshakeMessage::ClientHello(ch)] => ch.clone(),
        other => panic!("not a lone ClientHello: {other:?}"),
    }
}

/// A fresh client (seed 1) and the real server's first flight for it.
fn client_and_server_flight() -> (ClientConnection, ServerConnection, Vec<u8>) {
    let mut c = rsa2048_client(1);
    let mut s = rsa2048_server(2);
    assert_eq!(feed(&mut s, &take_output(&mut c), ALL), Ok(vec![]));
    let flight = take_output(&mut s);
    (c, s, flight)
}

/// The server's first flight with its ServerHello edited.
fn edit_server_hello(flight: &[u8], edit: impl FnOnce(&mut ServerHello)) -> Vec<u8> {
    let mut msgs = messages(flight);
    let Some(HandshakeMessage::ServerHello(sh)) = msgs.first_mut() else {
        panic!("no ServerHello first: {msgs:?}")
    };
    edit(sh);
    encode_all(&msgs)
}

/// A server that has processed the real client's ClientHello and wants its
/// ClientKeyExchange, with the client's second flight in records
/// (ClientKeyExchange, ChangeCipherSpec, Finished).
fn server_expecting_key_exchange() -> (ServerConnection, Vec<Vec<u8>>) {
    let (mut c, s, flight) = client_and_server_flight();
    assert_eq!(feed(&mut c, &flight, ALL), Ok(vec![]));
    let second = raw_records(&take_output(&mut c));
    assert_eq!(second.len(), 3);
    (s, second)
}

fn unexpected(expected: &'static str, got: &'static str) -> Error {
    Error::UnexpectedMessage { expected, got }
}

/// `result` is `err`, the connection wrote exactly `wire`, and every later call
/// returns the same error with nothing more written.
#[track_caller]
fn assert_fails<T: core::fmt::Debug>(
    conn: &mut dyn Endpoint,
    result: Result<T, Error>,
    err: Error,
    wire: &[u8],
) {
    assert_eq!(result.unwrap_err(), err);
    assert_eq!(take_output(conn), wire, "alert bytes for {err:?}");
    assert_eq!(
        conn.read_tls(&plain(ContentType::HANDSHAKE, &[0, 0, 0, 0])),
        Err(err.clone())
    );
    assert_eq!(conn.poll_event(), Err(err.clone()));
    assert!(!conn.wants_write(), "output after the failure");
}

// ---------------------------------------------------------------------------
// 1. Order before content (RFC 5246 §7.2.2, §7.4)
// ---------------------------------------------------------------------------

/// Bodies that are malformed for most of these types (too short, too long,
/// garbage); the empty one is a well-formed ServerHelloDone.
const MALFORMED: [&[u8]; 3] = [&[], &[0xff; 3], &[0x00, 0x00, 0x05, 0x01]];

/// RFC 5246 §7.2.2: a message whose type the server does not expect before a
/// ClientHello is unexpected_message, however malformed its body.
#[test]
fn a_malformed_message_in_place_of_the_client_hello_is_unexpected() {
    for (typ, name) in [
        (HandshakeType::CERTIFICATE, "Certificate"),
        (HandshakeType::SERVER_HELLO, "ServerHello"),
        (HandshakeType::FINISHED, "Finished"),
        (HandshakeType::CLIENT_KEY_EXCHANGE, "ClientKeyExchange"),
        (HandshakeType::SERVER_HELLO_DONE, "ServerHelloDone"),
        (HandshakeType::CERTIFICATE_REQUEST, "CertificateRequest"),
    ] {
        for body in MALFORMED {
            let mut s = rsa2048_server(2);
            let msg = raw_message(typ, body);
            let result = feed(&mut s, &handshake_records(&msg), ALL);
            assert_fails(
                &mut s,
                result,
                unexpected("ClientHello", name),
                &fatal(AlertDescription::UNEXPECTED_MESSAGE),
            );
        }
    }
}

/// The order is judged from the 4-byte header alone: a Certificate declaring
/// 2^24 - 1 bytes in place of the ClientHello is unexpected_message, not a size
/// error, and no byte of its body is waited for.
#[test]
fn the_order_is_judged_before_the_size_from_the_header_alone() {
    let mut s = rsa2048_server(2);
    let result = feed(
        &mut s,
        &plain(ContentType::HANDSHAKE, &[11, 0xff, 0xff, 0xff]),
        ALL,
    );
    assert_fails(
        &mut s,
        result,
        unexpected("ClientHello", "Certificate"),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );
}

/// The client side: a message out of order while the client waits for the
/// ServerHello, and while it waits for the Certificate, is unexpected_message
/// whatever its body.
#[test]
fn a_malformed_message_out_of_order_at_the_client_is_unexpected() {
    for (typ, name) in [
        (HandshakeType::CLIENT_HELLO, "ClientHello"),
        (HandshakeType::CERTIFICATE, "Certificate"),
        (HandshakeType::FINISHED, "Finished"),
        (HandshakeType::CLIENT_KEY_EXCHANGE, "ClientKeyExchange"),
    ] {
        for body in MALFORMED {
            let mut c = rsa2048_client(1);
            let _ = take_output(&mut c);
            let result = feed(&mut c, &handshake_records(&raw_message(typ, body)), ALL);
            assert_fails(
                &mut c,
                result,
                unexpected("ServerHello", name),
                &fatal(AlertDescription::UNEXPECTED_MESSAGE),
            );
        }
    }
    // After the ServerHello, a malformed ServerHelloDone before the Certificate.
    let (mut c, _, flight) = client_and_server_flight();
    let hello = messages(&flight).remove(0);
    let mut wire = encode_all(&[hello]);
    wire.extend(handshake_records(&raw_message(
        HandshakeType::SERVER_HELLO_DONE,
        &[1],
    )));
    let result = feed(&mut c, &wire, ALL);
    assert_fails(
        &mut c,
        result,
        unexpected("Certificate", "ServerHelloDone"),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );
}

// ---------------------------------------------------------------------------
// 2. server_name in each hello (RFC 6066 §3)
// ---------------------------------------------------------------------------

/// RFC 6066 §3: a ClientHello's server_name carries `server_name_list<1..2^16-1>`,
/// so an empty extension body is a decode_error.
#[test]
fn an_empty_server_name_in_a_client_hello_is_a_decode_error() {
    let mut ch = real_client_hello();
    let exts = ch.extensions.as_mut().unwrap();
    exts.retain(|e| e.ext_type() != ExtensionType::SERVER_NAME);
    exts.insert(0, Extension::ServerName(Vec::new()));
    let wire = encode_all(&[HandshakeMessage::ClientHello(ch)]);
    let mut s = rsa2048_server(2);
    let result = feed(&mut s, &wire, ALL);
    assert_fails(
        &mut s,
        result,
        Error::Decode("server_name list"),
        &fatal(AlertDescription::DECODE_ERROR),
    );
}

/// RFC 6066 §3: a server acknowledges the name with an empty server_name, which
/// a client that sent one accepts.
#[test]
fn an_empty_server_name_in_a_server_hello_is_accepted() {
    let (mut c, _, flight) = client_and_server_flight();
    let flight = edit_server_hello(&flight, |sh| {
        sh.extensions
            .get_or_insert_with(Vec::new)
            .push(Extension::ServerName(Vec::new()));
    });
    assert_eq!(feed(&mut c, &flight, ALL), Ok(vec![]));
    assert_eq!(
        records(&take_output(&mut c)).len(),
        3,
        "the client's second flight"
    );
}

// ---------------------------------------------------------------------------
// 3. The largest ClientHello (RFC 5246 §7.4.1.2)
// ---------------------------------------------------------------------------

/// The real ClientHello grown to the wire format's maximum: a 32-byte
/// session_id, 32767 cipher suites, 255 compression methods and a 65535-byte
/// extensions block, padded by an unknown extension.
fn maximal_client_hello() -> ClientHello {
    let mut ch = real_client_hello();
    ch.session_id = vec![7; 32];
    while ch.cipher_suites.len() < 0xfffe / 2 {
        ch.cipher_suites.push(CipherSuite(0xfe00));
    }
    ch.compression_methods = (0..=254).map(Compression).collect();
    let exts = ch.extensions.as_mut().unwrap();
    let used: usize = exts.iter().map(encode_ext_len).sum();
    exts.push(Extension::Unknown(
        ExtensionType(0xfe0d),
        vec![0x61; 0xffff - used - 4],
    ));
    ch
}

fn encode_ext_len(e: &Extension) -> usize {
    let ch = ClientHello {
        extensions: Some(vec![e.clone()]),
        ..real_client_hello()
    };
    let without = ClientHello {
        extensions: Some(Vec::new()),
        ..real_client_hello()
    };
    HandshakeMessage::ClientHello(ch).to_bytes().len()
        - HandshakeMessage::ClientHello(without).to_bytes().len()
}

/// RFC 5246 §7.4.1.2 allows a ClientHello of up to 131396 bytes; the server
/// accepts one of exactly that size, with its default 64 KiB handshake limit.
#[test]
fn the_largest_client_hello_the_wire_format_allows_is_accepted() {
    assert_eq!(MAX_CLIENT_HELLO_LEN, 131_396);
    let msg = HandshakeMessage::ClientHello(maximal_client_hello()).to_bytes();
    assert_eq!(msg.len(), 4 + MAX_CLIENT_HELLO_LEN);
    const { assert!(MAX_CLIENT_HELLO_LEN > rsatls::DEFAULT_MAX_HANDSHAKE_SIZE) };
    let mut s = rsa2048_server(2);
    assert_eq!(feed(&mut s, &handshake_records(&msg), 1000), Ok(vec![]));
    let answer = messages(&take_output(&mut s));
    assert!(
        matches!(answer.first(), Some(HandshakeMessage::ServerHello(_))),
        "{answer:?}"
    );
}

/// A ClientHello header declaring one byte more than the wire format allows is
/// a decode_error from the header alone.
#[test]
fn a_client_hello_declaring_more_than_the_wire_format_allows_is_a_decode_error() {
    let len = (MAX_CLIENT_HELLO_LEN as u32 + 1).to_be_bytes();
    let mut s = rsa2048_server(2);
    let result = feed(
        &mut s,
        &plain(ContentType::HANDSHAKE, &[1, len[1], len[2], len[3]]),
        ALL,
    );
    assert_fails(
        &mut s,
        result,
        Error::Decode("ClientHello longer than its wire format allows"),
        &fatal(AlertDescription::DECODE_ERROR),
    );
    // Declaring the maximum itself waits for the body.
    let len = (MAX_CLIENT_HELLO_LEN as u32).to_be_bytes();
    let mut s = rsa2048_server(2);
    let header = plain(ContentType::HANDSHAKE, &[1, len[1], len[2], len[3]]);
    assert_eq!(feed(&mut s, &header, ALL), Ok(vec![]));
    assert!(!s.wants_write());
}

/// A ClientHello carries as many extensions as its block holds: 16000 distinct
/// empty ones are accepted, and a duplicate among them is still found.
#[test]
fn a_client_hello_with_thousands_of_extensions_is_accepted_and_duplicates_are_found() {
    for duplicate in [false, true] {
        let mut ch = real_client_hello();
        let exts = ch.extensions.as_mut().unwrap();
        exts.extend((0..16_000).map(|i| Extension::Unknown(ExtensionType(0x8000 + i), Vec::new())));
        if duplicate {
            exts.push(Extension::Unknown(ExtensionType(0x8000), Vec::new()));
        }
        let msg = HandshakeMessage::ClientHello(ch).to_bytes();
        let mut s = rsa2048_server(2);
        let result = feed(&mut s, &handshake_records(&msg), ALL);
        match duplicate {
            false => {
                assert_eq!(result, Ok(vec![]));
                assert!(s.wants_write());
            }
            true => assert_fails(
                &mut s,
                result,
                Error::PeerMisbehaved(Misbehavior::DuplicateExtension),
                &fatal(AlertDescription::ILLEGAL_PARAMETER),
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// 4. ChangeCipherSpec (RFC 5246 §7.1)
// ---------------------------------------------------------------------------

/// A ChangeCipherSpec record that is not the single byte 1, at the client while
/// it waits for the server's: unexpected_message (the server side is in
/// `tests/conformance.rs::a_change_cipher_spec_with_another_payload_is_an_unexpected_message`).
#[test]
fn a_malformed_change_cipher_spec_at_the_client_is_an_unexpected_message() {
    for payload in [&[][..], &[0], &[2], &[1, 1]] {
        let (mut c, _, flight) = client_and_server_flight();
        assert_eq!(feed(&mut c, &flight, ALL), Ok(vec![]));
        let _ = take_output(&mut c);
        let result = feed(
            &mut c,
            &plain(ContentType::CHANGE_CIPHER_SPEC, payload),
            ALL,
        );
        let err = unexpected(
            "ChangeCipherSpec of the single byte 1",
            "malformed ChangeCipherSpec",
        );
        assert_eq!(result, Err(err.clone()));
        // The client's keys are on: one encrypted alert.
        let out = records(&take_output(&mut c));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0.typ, ContentType::ALERT);
        assert_eq!(c.poll_event(), Err(err));
    }
}

/// A ChangeCipherSpec between two fragments of one handshake message would put
/// the key change inside the message: unexpected_message. Both in the middle of
/// a ClientKeyExchange, and in the middle of a header where a ChangeCipherSpec
/// is otherwise expected.
#[test]
fn a_change_cipher_spec_between_two_fragments_of_a_message_is_unexpected() {
    let ccs = plain(ContentType::CHANGE_CIPHER_SPEC, &[1]);
    let err = unexpected("rest of a handshake message", "ChangeCipherSpec");

    let (mut s, second) = server_expecting_key_exchange();
    let cke = &records(&second[0])[0].1;
    let mut wire = plain(ContentType::HANDSHAKE, &cke[..cke.len() / 2]);
    wire.extend_from_slice(&ccs);
    let result = feed(&mut s, &wire, ALL);
    assert_fails(
        &mut s,
        result,
        err.clone(),
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );

    let (mut s, second) = server_expecting_key_exchange();
    assert_eq!(feed(&mut s, &second[0], ALL), Ok(vec![]));
    let mut wire = plain(ContentType::HANDSHAKE, &[20, 0]);
    wire.extend_from_slice(&ccs);
    let result = feed(&mut s, &wire, ALL);
    assert_fails(
        &mut s,
        result,
        err,
        &fatal(AlertDescription::UNEXPECTED_MESSAGE),
    );
}

// ---------------------------------------------------------------------------
// 5. Truncation before the handshake completes (RFC 5246 §7.2.1)
// ---------------------------------------------------------------------------

/// A close_notify before the handshake completed arrives in plaintext, so anyone
/// on the path can forge it: the end of the stream after it is still a
/// truncation, on both sides.
#[test]
fn end_of_stream_after_a_plaintext_close_notify_mid_handshake_is_a_truncation() {
    let close = plain(ContentType::ALERT, &[1, 0]);
    let (mut c, mut s, _) = client_and_server_flight();
    for conn in [&mut c as &mut dyn Endpoint, &mut s] {
        let _ = take_output(conn);
        assert_eq!(feed(conn, &close, ALL), Ok(vec![Ev::Closed]));
        assert_eq!(conn.handle_eof(), Err(Error::UnexpectedEof));
        assert!(!conn.wants_write(), "no alert after the peer's close");
        assert_eq!(conn.poll_event(), Err(Error::UnexpectedEof));
    }
}

// ---------------------------------------------------------------------------
// 6. Behaviours no other test pins
// ---------------------------------------------------------------------------

/// RFC 7627 §5.2: a client that requires EMS refuses a ServerHello without it,
/// also one with no extensions block at all.
#[test]
fn a_client_requiring_ems_refuses_a_server_hello_without_an_extensions_block() {
    let (mut c, _, flight) = client_and_server_flight();
    let flight = edit_server_hello(&flight, |sh| sh.extensions = None);
    let result = feed(&mut c, &flight, ALL);
    assert_fails(
        &mut c,
        result,
        Error::HandshakeFailure("server does not support Extended Master Secret"),
        &fatal(AlertDescription::HANDSHAKE_FAILURE),
    );
}

/// RFC 5246 §7.4.1.2: a server accepts a ClientHello with no extensions block
/// at all (the pre-extensions format). With the default, which requires EMS, it
/// is then refused for lack of EMS; a server allowing sessions without EMS
/// answers it.
#[test]
fn a_client_hello_without_an_extensions_block_is_accepted() {
    let mut ch = real_client_hello();
    ch.extensions = None;
    let wire = encode_all(&[HandshakeMessage::ClientHello(ch)]);
    let mut s = server(server_config("rsa2048").with_allow_no_ems(true), 2);
    assert_eq!(feed(&mut s, &wire, ALL), Ok(vec![]));
    match messages(&take_output(&mut s)).first() {
        Some(HandshakeMessage::ServerHello(sh)) => assert_eq!(
            sh.extensions,
            Some(vec![Extension::RenegotiationInfo(Vec::new())]),
            "only the answer to the renegotiation SCSV"
        ),
        other => panic!("no ServerHello: {other:?}"),
    }
    let mut s = rsa2048_server(2);
    let result = feed(&mut s, &wire, ALL);
    assert_fails(
        &mut s,
        result,
        Error::HandshakeFailure("client does not support Extended Master Secret"),
        &fatal(AlertDescription::HANDSHAKE_FAILURE),
    );
}

/// RFC 5246 §7.4.1.2: bytes after a ClientHello's extensions block are a
/// decode_error (the message must match its format exactly).
#[test]
fn trailing_bytes_after_a_client_hellos_extensions_are_a_decode_error() {
    let msg = HandshakeMessage::ClientHello(real_client_hello()).to_bytes();
    for extra in [&[0u8][..], &[0, 0], &[0xff; 5]] {
        let mut body = msg[4..].to_vec();
        body.extend_from_slice(extra);
        let mut s = rsa2048_server(2);
        let result = feed(
            &mut s,
            &handshake_records(&raw_message(HandshakeType::CLIENT_HELLO, &body)),
            ALL,
        );
        assert_fails(
            &mut s,
            result,
            Error::Decode("handshake message has trailing bytes"),
            &fatal(AlertDescription::DECODE_ERROR),
        );
    }
}

/// RFC 5246 §7.4.1.3: the compression method is one the client offered; the
/// client offered only null.
#[test]
fn a_client_refuses_a_server_hello_with_a_non_null_compression_method() {
    for method in [1, 64, 255] {
        let (mut c, _, flight) = client_and_server_flight();
        let flight = edit_server_hello(&flight, |sh| sh.compression_method = Compression(method));
        let result = feed(&mut c, &flight, ALL);
        assert_fails(
            &mut c,
            result,
            Error::PeerMisbehaved(Misbehavior::IllegalParameter("server chose compression")),
            &fatal(AlertDescription::ILLEGAL_PARAMETER),
        );
    }
}
