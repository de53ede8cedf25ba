//! End-to-end handshakes between the rsatls client and server, in memory.

mod common;

use std::sync::Arc;

use common::*;
use rsatls::suites::{TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::{CertificateError, Error};

#[test]
fn both_suites_complete_and_carry_data_both_ways() {
    for suite in [
        &TLS_RSA_WITH_AES_128_GCM_SHA256,
        &TLS_RSA_WITH_AES_256_GCM_SHA384,
    ] {
        let client_log = Arc::new(MemoryKeyLog::default());
        let server_log = Arc::new(MemoryKeyLog::default());
        let mut c = client(
            client_config("rsa2048")
                .with_suites(&[suite])
                .unwrap()
                .with_key_log(client_log.clone()),
            1,
        );
        let mut s = server(server_config("rsa2048").with_key_log(server_log.clone()), 2);
        let t = handshake(&mut c, &mut s).unwrap();
        assert_eq!(
            t.flights.len(),
            4,
            "ClientHello, server flight, client flight, server Finished"
        );
        let [Ev::Complete(ci)] = t.client_events.as_slice() else {
            panic!("{:?}", t.client_events)
        };
        let [Ev::Complete(si)] = t.server_events.as_slice() else {
            panic!("{:?}", t.server_events)
        };
        assert_eq!(ci.suite, suite);
        assert_eq!(si.suite, suite);
        assert!(ci.extended_master_secret && si.extended_master_secret);
        assert!(ci.secure_renegotiation && si.secure_renegotiation);
        assert_eq!(si.server_name.as_deref(), Some("localhost"));
        let master = client_log.secret("CLIENT_RANDOM").unwrap();
        assert_eq!(Some(master), server_log.secret("CLIENT_RANDOM"));

        // Application data both ways, including a multi-record message.
        let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        // write_app_data takes at most MAX_PENDING_OUTPUT before asking for a drain.
        let mut sent = 0;
        let mut got = Vec::new();
        while sent < big.len() {
            let n = c.write_app_data(&big[sent..]).unwrap();
            assert!(n > 0 && n <= rsatls::MAX_PENDING_OUTPUT);
            sent += n;
            got.extend(feed(&mut s, &take_output(&mut c), 777).unwrap());
        }
        assert_eq!(concat_data(&got), big);
        s.write_app_data(b"pong").unwrap();
        assert_eq!(
            feed(&mut c, &take_output(&mut s), 5).unwrap(),
            vec![Ev::Data(b"pong".to_vec())]
        );

        // A clean close each way.
        c.send_close_notify();
        assert_eq!(
            feed(&mut s, &take_output(&mut c), 100).unwrap(),
            vec![Ev::Closed]
        );
        assert_eq!(s.handle_eof(), Ok(()));
        s.send_close_notify();
        assert_eq!(
            feed(&mut c, &take_output(&mut s), 100).unwrap(),
            vec![Ev::Closed]
        );
        assert_eq!(c.handle_eof(), Ok(()));
    }
}

fn concat_data(events: &[Ev]) -> Vec<u8> {
    events
        .iter()
        .flat_map(|e| match e {
            Ev::Data(d) => d.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn byte_at_a_time_delivery_gives_the_same_transcript() {
    let whole = handshake(
        &mut client(client_config("rsa2048"), 7),
        &mut server(server_config("rsa2048"), 8),
    )
    .unwrap();
    for (c2s, s2c) in [(1, 1), (1, 4096), (3, 17), (5, 5), (16389, 1)] {
        let pieces = handshake_chunked(
            &mut client(client_config("rsa2048"), 7),
            &mut server(server_config("rsa2048"), 8),
            c2s,
            s2c,
        )
        .unwrap();
        assert_eq!(pieces, whole, "chunks {c2s}/{s2c}");
    }
}

/// `write_tls_into` appends exactly the bytes `write_tls` would hand out, and
/// leaves nothing pending: a whole handshake and a record driven through it
/// matches the same seeds driven through `write_tls`.
#[test]
fn write_tls_into_appends_what_write_tls_would_write() {
    let whole = handshake(
        &mut client(client_config("rsa2048"), 7),
        &mut server(server_config("rsa2048"), 8),
    )
    .unwrap();
    let mut c = client(client_config("rsa2048"), 7);
    let mut s = server(server_config("rsa2048"), 8);
    let mut flights = Vec::new();
    // One flight: write_tls_into after bytes already in the buffer, then deliver.
    fn flight(out: &mut Vec<u8>, wants_write: bool) -> Vec<u8> {
        assert!(!wants_write, "output left pending");
        assert_eq!(&out[..4], b"kept", "write_tls_into appends");
        assert!(out.len() > 4, "an empty flight");
        out.split_off(4)
    }
    for i in 0..4 {
        let mut out = b"kept".to_vec();
        let wire = match i % 2 {
            0 => {
                c.write_tls_into(&mut out);
                let wire = flight(&mut out, c.wants_write());
                feed(&mut s, &wire, usize::MAX).unwrap();
                wire
            }
            _ => {
                s.write_tls_into(&mut out);
                let wire = flight(&mut out, s.wants_write());
                feed(&mut c, &wire, usize::MAX).unwrap();
                wire
            }
        };
        flights.push(wire);
    }
    assert_eq!(flights, whole.flights);
    assert!(c.is_established() && s.is_established());

    c.write_app_data(b"ping").unwrap();
    let mut out = Vec::new();
    c.write_tls_into(&mut out);
    c.write_tls_into(&mut out);
    assert_eq!(
        feed(&mut s, &out, usize::MAX).unwrap(),
        vec![Ev::Data(b"ping".to_vec())]
    );
}

#[test]
fn truncation_is_not_a_clean_close() {
    let mut c = client(client_config("rsa2048"), 1);
    let mut s = server(server_config("rsa2048"), 2);
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(s.handle_eof(), Err(Error::UnexpectedEof));
    // Sticky.
    assert_eq!(s.write_app_data(b"x"), Err(Error::UnexpectedEof));
}

#[test]
fn a_client_pinned_to_another_key_refuses_the_server_before_key_exchange() {
    let mut c = client(client_config("other2048"), 1);
    let mut s = server(server_config("rsa2048"), 2);
    let err = handshake(&mut c, &mut s).unwrap_err();
    assert_eq!(err, Error::BadCertificate(CertificateError::NotTrusted));
    // The client's only output after the server flight is a fatal bad_certificate.
    assert_eq!(take_output(&mut c), [21, 3, 3, 0, 2, 2, 42]);
}

#[test]
fn application_data_before_the_handshake_is_refused() {
    let mut c = client(client_config("rsa2048"), 1);
    assert_eq!(c.write_app_data(b"early"), Err(Error::NotConnected));
    let mut s = server(server_config("rsa2048"), 2);
    // An application_data record as the very first thing a server sees.
    let err = feed(&mut s, &[23, 3, 3, 0, 1, 0], 100).unwrap_err();
    assert_eq!(
        err,
        Error::UnexpectedMessage {
            expected: "ClientHello",
            got: "application data",
        }
    );
    assert_eq!(take_output(&mut s), [21, 3, 3, 0, 2, 2, 10]);
    // Sticky: the same error again, and no further output.
    assert_eq!(s.read_tls(&[22]), Err(err));
    assert!(!s.wants_write());
    // The client, waiting for the ServerHello, says so.
    take_output(&mut c);
    assert_eq!(
        feed(&mut c, &[23, 3, 3, 0, 1, 0], 100),
        Err(Error::UnexpectedMessage {
            expected: "ServerHello",
            got: "application data",
        })
    );
    assert_eq!(take_output(&mut c), [21, 3, 3, 0, 2, 2, 10]);
}

/// Re-encodes the ClientHello in a client's first flight after `edit`.
fn edit_client_hello(
    flight: &[u8],
    edit: impl FnOnce(&mut rsatls::msgs::handshake::ClientHello),
) -> Vec<u8> {
    use rsatls::msgs::handshake::HandshakeMessage;
    let HandshakeMessage::ClientHello(mut ch) = HandshakeMessage::decode(&flight[5..]).unwrap()
    else {
        panic!("not a ClientHello")
    };
    edit(&mut ch);
    let body = HandshakeMessage::ClientHello(ch).to_bytes();
    let mut out = flight[..3].to_vec();
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn a_hello_altered_in_transit_fails_finished_even_without_ems() {
    use rsatls::msgs::enums::ExtensionType;
    // Both sides allow legacy peers; an attacker strips EMS from the ClientHello.
    // The master secret then depends only on the randoms, so both sides derive the
    // same keys, and only the Finished check over the transcript catches the edit:
    // the server's Finished decrypts but does not verify (decrypt_error).
    let mut c = client(client_config("rsa2048").with_allow_no_ems(true), 1);
    let mut s = server(server_config("rsa2048").with_allow_no_ems(true), 2);
    let hello = edit_client_hello(&take_output(&mut c), |ch| {
        ch.extensions
            .as_mut()
            .unwrap()
            .retain(|e| e.ext_type() != ExtensionType::EXTENDED_MASTER_SECRET);
    });
    feed(&mut s, &hello, usize::MAX).unwrap();
    feed(&mut c, &take_output(&mut s), usize::MAX).unwrap();
    let err = feed(&mut s, &take_output(&mut c), usize::MAX).unwrap_err();
    assert_eq!(err, Error::DecryptError);
    assert_eq!(take_output(&mut s), [21, 3, 3, 0, 2, 2, 51]);
}

#[test]
fn a_server_requiring_ems_refuses_a_client_without_it() {
    use rsatls::msgs::enums::ExtensionType;
    let strip = |ch: &mut rsatls::msgs::handshake::ClientHello| {
        ch.extensions
            .as_mut()
            .unwrap()
            .retain(|e| e.ext_type() != ExtensionType::EXTENDED_MASTER_SECRET)
    };
    let mut c = client(client_config("rsa2048"), 1);
    let mut s = server(server_config("rsa2048"), 2);
    let hello = edit_client_hello(&take_output(&mut c), strip);
    assert!(matches!(
        feed(&mut s, &hello, usize::MAX),
        Err(Error::HandshakeFailure(_))
    ));
    assert_eq!(take_output(&mut s), [21, 3, 3, 0, 2, 2, 40]);

    // Allowed: the handshake proceeds and the session is marked as legacy.
    let mut s = server(server_config("rsa2048").with_allow_no_ems(true), 2);
    let mut c = client(client_config("rsa2048").with_allow_no_ems(true), 1);
    let hello = edit_client_hello(&take_output(&mut c), strip);
    feed(&mut s, &hello, usize::MAX).unwrap();
    let flight = take_output(&mut s);
    // The ServerHello does not claim EMS.
    let sh = rsatls::msgs::handshake::HandshakeMessage::decode(
        &flight[5..5 + 4 + usize::from(flight[8])],
    )
    .unwrap();
    let rsatls::msgs::handshake::HandshakeMessage::ServerHello(sh) = sh else {
        panic!()
    };
    assert!(
        sh.extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_none()
    );
}

fn established_pair() -> (rsatls::ClientConnection, rsatls::ServerConnection) {
    let mut c = client(client_config("rsa2048"), 1);
    let mut s = server(server_config("rsa2048"), 2);
    handshake(&mut c, &mut s).unwrap();
    (c, s)
}

#[test]
fn write_app_data_to_seals_into_the_callers_buffer() {
    let (mut c, mut s) = established_pair();
    let big: Vec<u8> = (0..70_000u32).map(|i| (i * 7) as u8).collect();
    // Any buffer size: whole records, each as large as the room allows.
    for out_len in [30, 31, 1000, rsatls::MAX_PENDING_OUTPUT, 100_000] {
        let mut out = vec![0u8; out_len];
        let mut sent = 0;
        let mut wire = Vec::new();
        while sent < big.len() {
            let (n, len) = c.write_app_data_to(&big[sent..], &mut out).unwrap();
            assert!(n > 0 && len == n + 29 * records_in(&out[..len]));
            sent += n;
            wire.extend_from_slice(&out[..len]);
        }
        assert!(!c.wants_write());
        assert_eq!(concat_data(&feed(&mut s, &wire, 4096).unwrap()), big);
    }
    // Too small for a one-byte record: nothing taken, nothing written.
    assert_eq!(c.write_app_data_to(b"x", &mut [0u8; 29]), Ok((0, 0)));
    assert_eq!(c.write_app_data_to(b"", &mut [0u8; 100]), Ok((0, 0)));
}

/// How many records a run of whole records holds.
fn records_in(mut wire: &[u8]) -> usize {
    let mut n = 0;
    while wire.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([wire[3], wire[4]]));
        wire = &wire[5 + len..];
        n += 1;
    }
    assert!(wire.is_empty());
    n
}

#[test]
fn write_app_data_to_and_write_app_data_put_the_same_bytes_on_the_wire() {
    let (mut a, _) = established_pair();
    let (mut b, _) = established_pair();
    let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let mut direct = Vec::new();
    let mut out = vec![0u8; rsatls::MAX_PENDING_OUTPUT];
    let mut sent = 0;
    while sent < data.len() {
        let (n, len) = a.write_app_data_to(&data[sent..], &mut out).unwrap();
        assert!(n > 0);
        direct.extend_from_slice(&out[..len]);
        sent += n;
    }
    let mut buffered = Vec::new();
    let mut sent = 0;
    while sent < data.len() {
        let n = b.write_app_data(&data[sent..]).unwrap();
        assert!(n > 0);
        sent += n;
        buffered.extend(take_output(&mut b));
    }
    assert_eq!(direct, buffered);
}

#[test]
fn write_app_data_to_lets_queued_output_go_first_and_refuses_when_not_connected() {
    let mut c = client(client_config("rsa2048"), 1);
    assert_eq!(
        c.write_app_data_to(b"early", &mut [0u8; 100]),
        Err(Error::NotConnected)
    );
    let (mut c, mut s) = established_pair();
    c.write_app_data(b"queued").unwrap();
    assert_eq!(c.write_app_data_to(b"next", &mut [0u8; 100]), Ok((0, 0)));
    let mut wire = take_output(&mut c);
    let mut out = [0u8; 100];
    let (n, len) = c.write_app_data_to(b"next", &mut out).unwrap();
    assert_eq!((n, len), (4, 33));
    wire.extend_from_slice(&out[..len]);
    assert_eq!(concat_data(&feed(&mut s, &wire, 7).unwrap()), b"queuednext");
    c.send_close_notify();
    assert_eq!(
        c.write_app_data_to(b"late", &mut out),
        Err(Error::NotConnected)
    );
}

#[test]
fn pending_output_never_exceeds_one_record() {
    let (mut c, mut s) = established_pair();
    let big = vec![0x5au8; 100_000];
    // Without draining, write_app_data stops at one full record's worth.
    let n = c.write_app_data(&big).unwrap();
    assert_eq!(n, 16_384);
    assert_eq!(c.write_app_data(&big).unwrap(), 0);
    // A partial drain makes room for a shorter record (its header, explicit
    // nonce and tag included), and no more.
    let mut part = vec![0u8; 1000];
    assert_eq!(c.write_tls(&mut part), 1000);
    assert_eq!(c.write_app_data(&big[n..]).unwrap(), 1000 - 29);
    let mut rest = vec![0u8; 2 * rsatls::MAX_PENDING_OUTPUT];
    let m = c.write_tls(&mut rest);
    assert_eq!(m, rsatls::MAX_PENDING_OUTPUT);
    part.extend_from_slice(&rest[..m]);
    assert_eq!(
        concat_data(&feed(&mut s, &part, 5000).unwrap()),
        &big[..n + 1000 - 29]
    );
}

/// The `Endpoint` trait (what generic drivers such as the stream adapters hold)
/// forwards to the connection: the state and a copy-free record through
/// `&mut dyn Endpoint` match the direct calls.
#[test]
fn the_endpoint_trait_drives_a_connection_like_its_own_methods() {
    let mut c = client(client_config("rsa2048"), 1);
    let mut s = server(server_config("rsa2048"), 2);
    {
        let (dc, ds): (&mut dyn rsatls::Endpoint, &mut dyn rsatls::Endpoint) = (&mut c, &mut s);
        assert!(!dc.is_established() && !ds.is_established());
    }
    handshake(&mut c, &mut s).unwrap();
    let (mut twin, _) = established_pair();
    let mut direct = vec![0u8; 100];
    let (n, len) = twin
        .write_app_data_to(b"through the trait", &mut direct)
        .unwrap();
    let dc: &mut dyn rsatls::Endpoint = &mut c;
    assert!(dc.is_established());
    let mut out = vec![0u8; 100];
    assert_eq!(
        dc.write_app_data_to(b"through the trait", &mut out),
        Ok((n, len))
    );
    assert_eq!((n, len), (17, 17 + 29));
    assert_eq!(out[..len], direct[..len]);
    assert_eq!(
        feed(&mut s, &out[..len], usize::MAX).unwrap(),
        vec![Ev::Data(b"through the trait".to_vec())]
    );
}
