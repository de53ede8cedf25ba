//! Engine lines no other test reached (formal/README.md, "Coverage"): the SNI
//! the server reports in every state of its handshake, the `Debug` forms of a
//! connection and of a private-key operation, the copy-free write at the
//! record limit, and the wire types' names for values they do not know.

mod common;

use common::wire::{plain, raw_records};
use common::{client, client_config, server, server_config, take_output};
use rand_core::SeedableRng;
use rsatls::msgs::enums::{AlertDescription, ContentType, HandshakeType};
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::{Error, Event, PrivateKeyOperation, SEQ_LIMIT, ServerConnection};

/// Feeds `wire` to the server, draining events; returns the private-key
/// operation if one was handed out.
fn feed_server(s: &mut ServerConnection, wire: &[u8]) -> Option<PrivateKeyOperation> {
    let mut op = None;
    let mut fed = 0;
    loop {
        while let Some(ev) = s.poll_event().expect("server accepts the input") {
            if let Event::PrivateKeyOperation(o) = ev {
                op = Some(o);
            }
        }
        if fed == wire.len() {
            return op;
        }
        let n = s.read_tls(&wire[fed..]).unwrap();
        assert!(n > 0 || s.awaits_private_key_operation());
        if n == 0 {
            return op;
        }
        fed += n;
    }
}

/// The client's second flight (ClientKeyExchange, ChangeCipherSpec, Finished)
/// as three records, and the server after the first flight.
fn second_flight(offload: bool) -> (ServerConnection, Vec<Vec<u8>>) {
    let mut c = client(client_config("rsa2048"), 1);
    let mut s = server(
        server_config("rsa2048").with_private_key_offload(offload),
        2,
    );
    assert_eq!(s.server_name(), None, "before the ClientHello");
    assert!(feed_server(&mut s, &take_output(&mut c)).is_none());
    common::feed(&mut c, &take_output(&mut s), usize::MAX).unwrap();
    let flight = take_output(&mut c);
    let split = raw_records(&flight);
    assert_eq!(split.len(), 3);
    (s, split)
}

#[test]
fn the_server_reports_the_client_s_server_name_in_every_state() {
    let (mut s, flight) = second_flight(false);
    assert_eq!(
        s.server_name(),
        Some("localhost"),
        "expecting ClientKeyExchange"
    );
    feed_server(&mut s, &flight[0]);
    assert_eq!(
        s.server_name(),
        Some("localhost"),
        "expecting ChangeCipherSpec"
    );
    feed_server(&mut s, &flight[1]);
    assert_eq!(s.server_name(), Some("localhost"), "expecting Finished");
    feed_server(&mut s, &flight[2]);
    assert!(s.is_established());
    assert_eq!(s.server_name(), Some("localhost"), "established");

    let (mut s, flight) = second_flight(true);
    let op = feed_server(&mut s, &flight[0]).expect("the operation is handed out");
    assert!(s.awaits_private_key_operation());
    assert_eq!(
        s.server_name(),
        Some("localhost"),
        "awaiting the private key"
    );
    s.complete_private_key_operation(op.run()).unwrap();
    assert_eq!(s.server_name(), Some("localhost"), "after the private key");
}

#[test]
fn a_connection_and_a_private_key_operation_debug_print_their_state_and_no_secret() {
    let (mut s, flight) = second_flight(true);
    let op = feed_server(&mut s, &flight[0]).expect("the operation is handed out");
    assert_eq!(
        format!("{s:?}"),
        r#"Connection { state: "the private-key operation's result", established: false, error: None, .. }"#
    );
    assert_eq!(
        format!("{op:?}"),
        "PrivateKeyOperation { modulus_bits: 2048, certificate_index: 0, .. }"
    );
    // A failed connection expects nothing.
    let mut s = server(server_config("rsa2048"), 2);
    let ccs = plain(ContentType::CHANGE_CIPHER_SPEC, &[1]);
    assert!(s.read_tls(&ccs).is_ok());
    assert!(s.poll_event().is_err());
    let debug = format!("{s:?}");
    assert!(
        debug.starts_with(r#"Connection { state: "nothing (failed)", established: false, error: Some(UnexpectedMessage"#),
        "{debug}"
    );
    let mut c = client(client_config("rsa2048"), 1);
    assert!(c.read_tls(&ccs).is_ok());
    assert!(c.poll_event().is_err());
    let debug = format!("{c:?}");
    assert!(
        debug.starts_with(r#"Connection { state: "nothing (failed)""#),
        "{debug}"
    );
}

#[test]
fn the_copy_free_write_stops_at_the_record_limit_and_fails_the_connection() {
    let mut c = client(client_config("rsa2048"), 1);
    let mut s = server(server_config("rsa2048"), 2);
    common::handshake(&mut c, &mut s).unwrap();
    // One data record short of the limit: one more fits, the next does not.
    c.set_sequence_numbers_for_testing_only(0, SEQ_LIMIT - 2);
    let mut out = vec![0u8; 1 << 16];
    assert_eq!(
        c.write_app_data_to(b"last", &mut out),
        Ok((4, 5 + 8 + 4 + 16))
    );
    assert_eq!(
        c.write_app_data_to(b"one too many", &mut out),
        Err(Error::RecordLimitReached)
    );
    assert_eq!(c.error(), Some(&Error::RecordLimitReached));
    // Sticky, and the alert still had its reserved slot.
    assert_eq!(
        c.write_app_data_to(b"x", &mut out),
        Err(Error::RecordLimitReached)
    );
    let alert = take_output(&mut c);
    assert_eq!(alert[0], ContentType::ALERT.0);
}

#[test]
fn wire_values_without_a_name_print_as_numbers() {
    assert_eq!(format!("{:?}", HandshakeType(99)), "HandshakeType(0x63)");
    assert_eq!(format!("{}", HandshakeType(99)), "99");
    assert_eq!(
        format!("{:?}", AlertDescription(250)),
        "AlertDescription(0xfa)"
    );
    assert_eq!(
        format!("{}", AlertDescription::HANDSHAKE_FAILURE),
        "handshake_failure"
    );
    assert_eq!(format!("{}", AlertDescription(250)), "250");
}

#[test]
fn a_client_hello_with_an_odd_cipher_suites_length_is_a_decode_error() {
    // client_version, random, empty session id, cipher_suites of 3 bytes.
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0; 32]);
    body.extend_from_slice(&[0, 0, 3, 0, 0x9c, 0]);
    body.extend_from_slice(&[1, 0]);
    assert_eq!(
        HandshakeMessage::decode_body(HandshakeType::CLIENT_HELLO, &body),
        Err(Error::Decode("cipher_suites has odd length"))
    );
}

#[test]
fn every_error_reads_differently_and_names_its_detail() {
    use rsatls::CertificateError;
    let errors = [
        Error::Decode("the part"),
        Error::UnexpectedMessage {
            expected: "Finished",
            got: "ServerHelloDone",
        },
        Error::NoApplicationProtocol,
        Error::ProtocolVersion,
        Error::InappropriateFallback,
        Error::BadCertificate(CertificateError::NotRsa),
        Error::BadRecordMac,
        Error::RecordOverflow,
        Error::DecryptError,
        Error::AlertReceived(AlertDescription::HANDSHAKE_FAILURE),
        Error::PeerClosed,
        Error::UnexpectedEof,
        Error::RecordLimitReached,
        Error::TooManyEmptyRecords,
        Error::NotConnected,
        Error::Internal("the why"),
        Error::Config("the setting"),
    ];
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for (i, text) in texts.iter().enumerate() {
        assert!(!text.is_empty());
        assert!(!texts[..i].contains(text), "{text} twice");
    }
    assert!(texts[0].contains("the part"));
    assert!(texts[1].contains("Finished") && texts[1].contains("ServerHelloDone"));
    assert!(texts[9].contains("handshake_failure"));
    assert!(texts[15].contains("the why") && texts[16].contains("the setting"));
    // The client-certificate usage rule has its own words.
    let usage = CertificateError::NoDigitalSignature.to_string();
    assert!(usage.contains("digitalSignature"), "{usage}");
    assert_ne!(usage, CertificateError::NoKeyEncipherment.to_string());
}

#[test]
fn configurations_and_hashes_debug_print_what_they_hold_and_no_key() {
    let config = server_config("rsa2048");
    let leaf = common::data("rsa2048.cert.der");
    assert_eq!(config.leaf(), &leaf[..]);
    let debug = format!("{config:?}");
    for part in [
        "suites: [\"TLS_RSA_WITH_AES_256_GCM_SHA384\"",
        "require_ems: true",
        "key_log: false",
        "RsaPrivateKey(2048 bits)",
    ] {
        assert!(debug.contains(part), "{part} not in {debug}");
    }
    let provider = common::provider();
    let hash = provider.hash(rsatls::crypto::HashAlgorithm::Sha256, b"");
    assert_eq!(format!("{hash:?}"), "HashOutput { len: 32, .. }");
    assert_eq!(
        rsatls::crypto::CryptoError.to_string(),
        "cryptographic operation failed"
    );
}

#[test]
fn a_server_asking_for_a_certificate_reports_the_server_name_while_it_waits_for_one() {
    let config = server_config("rsa2048")
        .with_client_auth(
            vec![common::data("rsa2048.cert.der")],
            rsatls::ClientAuthMode::Optional,
        )
        .unwrap();
    let now = rsatls::UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000));
    let mut s = ServerConnection::new_at(
        std::sync::Arc::new(config),
        now,
        rand_chacha::ChaCha20Rng::seed_from_u64(2),
    );
    let mut c = client(client_config("rsa2048"), 1);
    feed_server(&mut s, &take_output(&mut c));
    assert_eq!(
        s.state(),
        Some(rsatls::state_table::State::ExpectClientCertificate)
    );
    assert_eq!(s.server_name(), Some("localhost"));
}

#[test]
fn a_server_reports_the_server_name_while_it_waits_for_the_certificate_verify() {
    let chain = rsatls::pki::load_certificates(&common::data("mtls/client.cert.pem")).unwrap();
    let key = rsatls::pki::load_private_key(&common::data("mtls/client.key.pem")).unwrap();
    let roots = rsatls::pki::load_certificates(&common::data("mtls/ca.cert.pem")).unwrap();
    let config = server_config("rsa2048")
        .with_client_auth(roots, rsatls::ClientAuthMode::Required)
        .unwrap();
    // Inside the validity of tests/data/mtls.
    let now = rsatls::UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000));
    let mut s = ServerConnection::new_at(
        std::sync::Arc::new(config),
        now,
        rand_chacha::ChaCha20Rng::seed_from_u64(2),
    );
    let mut c = client(
        client_config("rsa2048")
            .with_client_certificate(chain, &key)
            .unwrap(),
        1,
    );
    feed_server(&mut s, &take_output(&mut c));
    common::feed(&mut c, &take_output(&mut s), usize::MAX).unwrap();
    // Certificate, ClientKeyExchange, CertificateVerify, then
    // ChangeCipherSpec and Finished: the server stops before the
    // CertificateVerify.
    let flight = take_output(&mut c);
    let mut messages = Vec::new();
    for (header, fragment) in common::wire::records(&flight) {
        match header.typ {
            ContentType::HANDSHAKE => messages.extend_from_slice(&fragment),
            _ => break,
        }
    }
    let mut rest = &messages[..];
    let mut seen = Vec::new();
    while let [typ, a, b, c_, ..] = *rest {
        let len = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c_));
        let (msg, more) = rest.split_at(len);
        if typ == HandshakeType::CERTIFICATE_VERIFY.0 {
            break;
        }
        seen.push(typ);
        feed_server(&mut s, &plain(ContentType::HANDSHAKE, msg));
        rest = more;
    }
    assert_eq!(
        seen,
        [
            HandshakeType::CERTIFICATE.0,
            HandshakeType::CLIENT_KEY_EXCHANGE.0
        ]
    );
    assert_eq!(
        s.state(),
        Some(rsatls::state_table::State::ExpectCertificateVerify)
    );
    assert_eq!(s.server_name(), Some("localhost"));
}
