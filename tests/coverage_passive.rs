//! Lines of the passive decoder no other test reached (formal/README.md,
//! "Coverage"): malformed records after a handshake it followed, before its
//! keys, and at the start of a connection, each stopping only its direction
//! with the reason named; and the counters of its key set and cache.

mod common;
mod passive_support;

use common::prop_support::split_records;
use passive_support::*;
use rsatls::passive::{
    ConnectionDecoder, Limits, ServerKeys, SessionCache, StopReason, Undecryptable,
};
use rsatls::suites::ALL_SUITES;

/// A hand-played session after a full handshake (EMS), both directions keyed.
fn keyed(seed: u8) -> Hand {
    let mut hand = Hand::new(ALL_SUITES[0], seed);
    hand.full(&Full::new(true));
    hand
}

fn stopped(from: rsatls::passive::Direction, what: &'static str) -> E {
    E::Stopped {
        from,
        reason: StopReason::Malformed(what),
    }
}

/// Decodes `hand`: both directions' handshakes first, then what each sent
/// after byte `after` (client) and `after_s` (server).
fn decode_hand(hand: &Hand, (after_c, after_s): (usize, usize)) -> Vec<E> {
    decode_chunks(
        &[
            (C2S, &hand.c2s[..after_c]),
            (S2C, &hand.s2c[..after_s]),
            (C2S, &hand.c2s[after_c..]),
            (S2C, &hand.s2c[after_s..]),
        ],
        &keys(&["rsa2048"]),
        &mut SessionCache::default(),
        Limits::default(),
    )
}

fn lens(hand: &Hand) -> (usize, usize) {
    (hand.c2s.len(), hand.s2c.len())
}

#[test]
fn malformed_protected_records_stop_their_direction_with_a_reason() {
    // (from the client?, content type, plaintext, the reason)
    let cases: [(bool, u8, &[u8], &str); 6] = [
        (true, 20, &[2], "ChangeCipherSpec is not 01"),
        (false, 22, &[], "empty handshake record"),
        (true, 21, &[1, 0, 2], "alert record is not whole alerts"),
        (true, 22, &[0, 0, 0, 0], "HelloRequest from the client"),
        (true, 22, &[14, 0, 0, 0], "expected a ClientHello"),
        (true, 20, &[1], "ChangeCipherSpec outside a handshake"),
    ];
    for (seed, (from_client, typ, plaintext, reason)) in (1..).zip(cases) {
        let mut hand = keyed(seed);
        let handshake = lens(&hand);
        hand.send(from_client, typ, plaintext);
        // The other direction goes on.
        hand.data(!from_client, b"still here");
        let events = decode_hand(&hand, handshake);
        let from = if from_client { C2S } else { S2C };
        assert!(
            events.contains(&stopped(from, reason)),
            "{reason}: {events:#?}"
        );
        let other = if from_client { S2C } else { C2S };
        assert_eq!(
            data_of(&events, other),
            b"still here",
            "{reason}: {events:#?}"
        );
    }
}

#[test]
fn a_hello_request_and_a_heartbeat_from_the_server_are_skipped() {
    let mut hand = keyed(10);
    let handshake = lens(&hand);
    hand.send(false, 22, &[0, 0, 0, 0]);
    hand.send(false, 24, &[1, 0, 0]);
    hand.data(false, b"after");
    let events = decode_hand(&hand, handshake);
    assert!(
        !events.iter().any(|e| matches!(e, E::Stopped { .. })),
        "{events:#?}"
    );
    assert_eq!(data_of(&events, S2C), b"after");
}

#[test]
fn a_change_cipher_spec_inside_a_handshake_message_stops_its_direction() {
    let mut hand = keyed(11);
    let handshake = lens(&hand);
    // The first two bytes of a handshake header, then a ChangeCipherSpec.
    hand.send(true, 22, &[1, 0]);
    hand.send(true, 20, &[1]);
    let events = decode_hand(&hand, handshake);
    assert!(
        events.contains(&stopped(C2S, "ChangeCipherSpec inside a handshake message")),
        "{events:#?}"
    );
}

fn undecryptable_server() -> E {
    E::Stopped {
        from: S2C,
        reason: StopReason::Undecryptable,
    }
}

/// The client's first record (its ClientHello) of a hand-played session.
fn client_hello_record(seed: u8) -> Vec<u8> {
    let hand = keyed(seed);
    let len = usize::from(u16::from_be_bytes([hand.c2s[3], hand.c2s[4]]));
    hand.c2s[..5 + len].to_vec()
}

#[test]
fn records_before_the_keys_or_too_long_stop_their_direction() {
    let keys = keys(&["rsa2048"]);
    let mut c2s = client_hello_record(12);
    c2s.extend_from_slice(&[23, 3, 3, 0, 1, b'x']);
    let events = decode(&c2s, b"", &keys, &mut SessionCache::default());
    // The server's direction cannot be followed without the client's.
    assert_eq!(
        events[1..],
        [
            stopped(C2S, "application data in the clear"),
            undecryptable_server()
        ]
    );

    let mut c2s = client_hello_record(13);
    // 2^14 + 2048 + 1 bytes announced.
    c2s.extend_from_slice(&[22, 3, 3, 0x48, 0x01]);
    let events = decode(&c2s, b"", &keys, &mut SessionCache::default());
    assert_eq!(
        events[1..],
        [
            stopped(C2S, "record longer than TLS allows"),
            undecryptable_server()
        ]
    );
}

#[test]
fn a_connection_that_starts_with_a_broken_client_hello_or_another_message_is_listed() {
    let keys = keys(&["rsa2048"]);
    // A ClientHello of one byte.
    let events = decode(
        &[22, 3, 3, 0, 5, 1, 0, 0, 1, 3],
        b"",
        &keys,
        &mut SessionCache::default(),
    );
    assert_eq!(
        events[0],
        E::Undecryptable {
            hs: 0,
            reason: Undecryptable::NotTls
        }
    );
    // A ServerHelloDone where the ClientHello should be: the capture started late.
    let events = decode(
        &[22, 3, 3, 0, 4, 14, 0, 0, 0],
        b"",
        &keys,
        &mut SessionCache::default(),
    );
    assert_eq!(
        events[0],
        E::Undecryptable {
            hs: 0,
            reason: Undecryptable::MidStream
        }
    );
}

#[test]
fn a_server_hello_with_compression_is_listed_not_decrypted() {
    let mut hand = Hand::new(ALL_SUITES[0], 14);
    hand.full(&Full::new(true));
    // The compression method follows the suite (empty session ID): byte 46.
    let mut s2c = hand.s2c.clone();
    assert_eq!(s2c[46], 0);
    s2c[46] = 1;
    let events = decode(
        &hand.c2s,
        &s2c,
        &keys(&["rsa2048"]),
        &mut SessionCache::default(),
    );
    assert_eq!(
        events[2],
        E::Undecryptable {
            hs: 0,
            reason: Undecryptable::Compression
        }
    );
}

#[test]
fn a_gap_stops_its_direction_and_the_key_set_and_cache_count_their_entries() {
    let mut decoder = ConnectionDecoder::new(Limits::default());
    decoder.gap(C2S);
    assert_eq!(
        decoder.poll_event().map(E::of),
        Some(E::Stopped {
            from: C2S,
            reason: StopReason::Gap
        })
    );
    assert_eq!(
        decoder.poll_event().map(E::of),
        Some(undecryptable_server())
    );
    assert_eq!(decoder.poll_event().map(E::of), None);

    let empty = ServerKeys::new(rsatls::crypto::default_provider());
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    let two = keys(&["rsa2048", "rsa3072"]);
    assert!(!two.is_empty());
    assert_eq!(two.len(), 2);

    // A full handshake that gives a session ID, then one that issues a ticket.
    let mut cache = SessionCache::new(8);
    assert_eq!((cache.session_ids(), cache.tickets()), (0, 0));
    let mut hand = Hand::new(ALL_SUITES[0], 15);
    let mut full = Full::new(true);
    full.session_id = vec![7; 32];
    hand.full(&full);
    decode(&hand.c2s, &hand.s2c, &two, &mut cache);
    assert_eq!((cache.session_ids(), cache.tickets()), (1, 0));
    let mut hand = Hand::new(ALL_SUITES[0], 16);
    let mut full = Full::new(true);
    full.ticket = Some(vec![9; 100]);
    hand.full(&full);
    decode(&hand.c2s, &hand.s2c, &two, &mut cache);
    assert_eq!((cache.session_ids(), cache.tickets()), (1, 1));
}

#[test]
fn change_cipher_specs_and_handshake_messages_out_of_turn_stop_their_direction() {
    let keys = keys(&["rsa2048"]);
    let hand = keyed(17);
    let first = |flight: &[u8]| {
        let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
        flight[..5 + len].to_vec()
    };
    // The client's ChangeCipherSpec right after the server's first flight,
    // where its ClientKeyExchange should be.
    let mut c2s = first(&hand.c2s);
    c2s.extend_from_slice(&[20, 3, 3, 0, 1, 1]);
    let events = decode_chunks(
        &[(S2C, &hand.s2c[..]), (C2S, &c2s[..])],
        &keys,
        &mut SessionCache::default(),
        Limits::default(),
    );
    assert!(
        events.contains(&stopped(C2S, "unexpected ChangeCipherSpec")),
        "{events:#?}"
    );
    // A Finished where the server's Certificate should be.
    let mut s2c = first(&hand.s2c);
    s2c.extend_from_slice(&[22, 3, 3, 0, 16, 20, 0, 0, 12]);
    s2c.extend_from_slice(&[0; 12]);
    let events = decode(&first(&hand.c2s), &s2c, &keys, &mut SessionCache::default());
    assert!(
        events.contains(&stopped(S2C, "unexpected handshake message")),
        "{events:#?}"
    );
}

#[test]
fn a_protected_record_over_2_14_bytes_of_plaintext_does_not_open() {
    let mut hand = keyed(18);
    let handshake = lens(&hand);
    // One record of 2^14 + 1 bytes, sealed as the protocol forbids.
    hand.send(false, 23, &vec![7; (1 << 14) + 1]);
    hand.data(true, b"still here");
    let events = decode_hand(&hand, handshake);
    assert!(
        events.contains(&E::Stopped {
            from: S2C,
            reason: StopReason::BadRecordMac
        }),
        "{events:#?}"
    );
    assert_eq!(data_of(&events, S2C), b"");
    assert_eq!(data_of(&events, C2S), b"still here");
}

#[test]
fn a_client_hello_split_over_two_records_is_reassembled() {
    let keys = keys(&["rsa2048"]);
    let record = client_hello_record(19);
    let body = &record[5..];
    let mut c2s = Vec::new();
    for part in [&body[..10], &body[10..]] {
        c2s.extend_from_slice(&[22, 3, 3]);
        c2s.extend_from_slice(&u16::try_from(part.len()).unwrap().to_be_bytes());
        c2s.extend_from_slice(part);
    }
    let whole = decode(&record, b"", &keys, &mut SessionCache::default());
    let split = decode(&c2s, b"", &keys, &mut SessionCache::default());
    assert!(matches!(split[0], E::ClientHello { .. }), "{split:#?}");
    assert_eq!(split, whole);
}

/// A plaintext handshake record holding one message of type `typ`.
fn handshake_record(typ: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    let mut msg = vec![typ, len[1], len[2], len[3]];
    msg.extend_from_slice(body);
    common::prop_support::record(22, &msg)
}

/// The record keys of a hand-played full handshake: (client, server).
fn record_keys(
    hand: &Hand,
    agreed: &Agreed,
) -> (
    common::prop_support::TestRecordKey,
    common::prop_support::TestRecordKey,
) {
    // The server random follows the record header, the handshake header and
    // the version of the ServerHello, the server's first record.
    let server_random = &hand.s2c[11..43];
    common::prop_support::test_record_keys(
        hand.suite,
        &agreed.master,
        &agreed.client_random,
        server_random,
    )
}

fn stops_both(from: rsatls::passive::Direction, what: &'static str) -> [E; 2] {
    let other = if from == C2S { S2C } else { C2S };
    [
        stopped(from, what),
        E::Stopped {
            from: other,
            reason: StopReason::Undecryptable,
        },
    ]
}

#[test]
fn handshake_bodies_that_do_not_parse_stop_their_direction_and_the_waiting_one() {
    let keys = keys(&["rsa2048"]);
    let mut full = Full::new(true);
    full.ticket = Some(vec![5; 40]);
    let mut hand = Hand::new(ALL_SUITES[0], 20);
    hand.full(&full);
    // Client: ClientHello, ClientKeyExchange, ChangeCipherSpec, Finished.
    // Server: ServerHello, Certificate, ServerHelloDone, NewSessionTicket,
    // ChangeCipherSpec, Finished.
    let c = split_records(&hand.c2s);
    let s = split_records(&hand.s2c);
    assert_eq!((c.len(), s.len()), (4, 6));
    // (client records, server records, events after the ClientHello's)
    let run = |c2s: Vec<Vec<u8>>, s2c: Vec<Vec<u8>>| {
        decode(
            &c2s.concat(),
            &s2c.concat(),
            &keys,
            &mut SessionCache::default(),
        )
    };

    // A ServerHello of one byte.
    let events = run(c.clone(), vec![handshake_record(2, &[3])]);
    assert_eq!(events[1..], stops_both(S2C, "ServerHello does not parse"));

    // A Certificate whose chain length says 1 and holds nothing.
    let events = run(
        c.clone(),
        vec![s[0].clone(), handshake_record(11, &[0, 0, 1])],
    );
    assert!(matches!(events[1], E::ServerHello { .. }), "{events:#?}");
    assert_eq!(events[2..], stops_both(S2C, "Certificate does not parse"));

    // A ClientKeyExchange announcing 5 bytes and holding 1.
    let events = run(
        vec![c[0].clone(), handshake_record(16, &[0, 5, 1])],
        s.clone(),
    );
    assert!(matches!(events[2], E::ServerKey { .. }), "{events:#?}");
    assert_eq!(
        events[3..],
        stops_both(C2S, "ClientKeyExchange does not parse")
    );

    // A NewSessionTicket of three bytes, before the lifetime hint ends.
    let mut s2c = s.clone();
    s2c[3] = handshake_record(4, &[0, 0, 0]);
    let events = run(c.clone(), s2c);
    assert!(
        matches!(
            events[events.len() - 3],
            E::Finished {
                from: C2S,
                verified: true,
                ..
            }
        ),
        "{events:#?}"
    );
    assert_eq!(
        events[events.len() - 2..],
        stops_both(S2C, "NewSessionTicket does not parse")
    );
}

#[test]
fn a_finished_that_does_not_parse_stops_its_direction() {
    let keys = keys(&["rsa2048"]);
    let mut hand = Hand::new(ALL_SUITES[0], 21);
    let agreed = hand.full(&Full::new(true));
    let (client_key, _) = record_keys(&hand, &agreed);
    let mut c = split_records(&hand.c2s);
    // Eleven bytes of verify_data where TLS 1.2 has twelve.
    let mut msg = vec![20, 0, 0, 11];
    msg.extend_from_slice(&[0; 11]);
    c[3] = client_key.seal(22, 0, &msg);
    let events = decode(&c.concat(), &hand.s2c, &keys, &mut SessionCache::default());
    assert!(
        matches!(
            events[events.len() - 3],
            E::KeyExchange { result: Ok(_), .. }
        ),
        "{events:#?}"
    );
    assert_eq!(
        events[events.len() - 2..],
        stops_both(C2S, "Finished does not parse")
    );
}

#[test]
fn a_handshake_whose_server_finished_does_not_verify_is_not_cached() {
    let keys = keys(&["rsa2048"]);
    let mut full = Full::new(true);
    full.session_id = vec![3; 32];
    let mut hand = Hand::new(ALL_SUITES[0], 22);
    let agreed = hand.full(&full);
    let (_, server_key) = record_keys(&hand, &agreed);
    let mut s = split_records(&hand.s2c);
    // ServerHello, Certificate, ServerHelloDone, ChangeCipherSpec, Finished.
    assert_eq!(s.len(), 5);
    let mut msg = vec![20, 0, 0, 12];
    msg.extend_from_slice(&[0; 12]);
    s[4] = server_key.seal(22, 0, &msg);

    let mut cache = SessionCache::default();
    let events = decode(&hand.c2s, &s.concat(), &keys, &mut cache);
    let finished: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, E::Finished { .. }))
        .cloned()
        .collect();
    assert_eq!(
        finished,
        [
            E::Finished {
                hs: 0,
                from: C2S,
                verified: true
            },
            E::Finished {
                hs: 0,
                from: S2C,
                verified: false
            }
        ]
    );
    assert!(
        !events.iter().any(|e| matches!(e, E::Stopped { .. })),
        "{events:#?}"
    );
    assert_eq!(cache.session_ids(), 0);
    // The same handshake with its own Finished is cached.
    let mut cache = SessionCache::default();
    decode(&hand.c2s, &hand.s2c, &keys, &mut cache);
    assert_eq!(cache.session_ids(), 1);
}

#[test]
fn a_renegotiating_client_hello_that_does_not_parse_stops_the_client() {
    let mut hand = keyed(23);
    let handshake = lens(&hand);
    hand.send(true, 22, &[1, 0, 0, 1, 3]);
    hand.data(false, b"still here");
    let events = decode_hand(&hand, handshake);
    assert!(
        events.contains(&stopped(C2S, "ClientHello does not parse")),
        "{events:#?}"
    );
    // Not a handshake under way: the server's direction goes on.
    assert_eq!(data_of(&events, S2C), b"still here");
}

#[test]
fn a_tls_1_3_server_hello_names_its_version_in_supported_versions() {
    use rsatls::msgs::enums::{CipherSuite, Compression, ExtensionType, ProtocolVersion};
    use rsatls::msgs::extensions::Extension;
    use rsatls::msgs::handshake::{HandshakeMessage, ServerHello};

    let keys = keys(&["rsa2048"]);
    let client_hello = client_hello_record(24);
    // (the extension's value, the version reported)
    let cases: [(&[u8], u16); 2] = [(&[3, 4], 0x0304), (&[3], 0x0303)];
    for (value, version) in cases {
        let sh = ServerHello {
            server_version: ProtocolVersion::TLSV1_2,
            random: [9; 32],
            session_id: Vec::new(),
            cipher_suite: CipherSuite(0x1301),
            compression_method: Compression::NULL,
            extensions: Some(vec![Extension::Unknown(ExtensionType(43), value.to_vec())]),
        };
        let s2c = common::prop_support::record(22, &HandshakeMessage::ServerHello(sh).to_bytes());
        let events = decode(&client_hello, &s2c, &keys, &mut SessionCache::default());
        assert!(matches!(events[1], E::ServerHello { .. }), "{events:#?}");
        assert_eq!(
            events[2..],
            [
                E::Undecryptable {
                    hs: 0,
                    reason: Undecryptable::Version(ProtocolVersion(version))
                },
                undecryptable_server(),
                E::Stopped {
                    from: C2S,
                    reason: StopReason::Undecryptable
                }
            ],
            "{value:?}"
        );
    }
}

#[test]
fn application_data_or_change_cipher_spec_before_any_handshake_is_mid_stream() {
    let keys = keys(&["rsa2048"]);
    for first in [[23u8, 3, 3, 0, 1, 0], [20, 3, 3, 0, 1, 1]] {
        let events = decode(&first, b"", &keys, &mut SessionCache::default());
        assert_eq!(
            events,
            [
                E::Undecryptable {
                    hs: 0,
                    reason: Undecryptable::MidStream
                },
                E::Stopped {
                    from: C2S,
                    reason: StopReason::Undecryptable
                },
                undecryptable_server(),
            ]
        );
    }
}

#[test]
fn the_sixty_fifth_handshake_of_a_connection_stops_the_client() {
    let mut hand = Hand::new(ALL_SUITES[0], 25);
    let mut full = Full::new(true);
    full.session_id = vec![4; 32];
    let agreed = hand.full(&full);
    // 63 renegotiations, each resuming the first session (no RSA to do).
    for _ in 0..63 {
        hand.abbreviated(&agreed.master, vec![4; 32], None, None);
    }
    let handshakes = lens(&hand);
    hand.abbreviated(&agreed.master, vec![4; 32], None, None);
    let keys = keys(&["rsa2048"]);
    let events = decode_hand(&hand, handshakes);
    let hellos: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            E::ClientHello { hs, .. } => Some(*hs),
            _ => None,
        })
        .collect();
    assert_eq!(hellos, (0..64).collect::<Vec<_>>());
    let resumed = events
        .iter()
        .filter(|e| matches!(e, E::Resumed { .. }))
        .count();
    assert_eq!(resumed, 63);
    assert_eq!(
        events.last(),
        Some(&E::Stopped {
            from: C2S,
            reason: StopReason::Limit
        })
    );
    // The 64th handshake alone decodes fully.
    let before = decode_chunks(
        &[
            (C2S, &hand.c2s[..handshakes.0]),
            (S2C, &hand.s2c[..handshakes.1]),
        ],
        &keys,
        &mut SessionCache::default(),
        Limits::default(),
    );
    assert!(
        !before.iter().any(|e| matches!(e, E::Stopped { .. })),
        "{before:#?}"
    );
}

/// The transcript bound the decoder derives from its limits (mod.rs:
/// `4 * max_handshake_message + 2^16`, saturating).
fn max_transcript(limits: Limits) -> usize {
    limits
        .max_handshake_message
        .saturating_mul(4)
        .saturating_add(1 << 16)
}

#[test]
fn a_transcript_past_its_bound_stops_the_server() {
    let keys = keys(&["rsa2048"]);
    let limits = Limits {
        max_handshake_message: 1 << 12,
        ..Limits::default()
    };
    let max = max_transcript(limits);
    let mut hand = Hand::new(ALL_SUITES[0], 26);
    hand.full(&Full::new(true));
    let c = split_records(&hand.c2s);
    let s = split_records(&hand.s2c);
    // ClientHello, ServerHello and Certificate, then CertificateStatus
    // messages (their contents are not read) up to `max` bytes of transcript,
    // then `extra` bytes more.
    for extra in [0, 1] {
        let mut transcript = c[0].len() - 5 + s[0].len() - 5 + s[1].len() - 5;
        let mut s2c = [s[0].clone(), s[1].clone()].concat();
        while transcript < max + extra {
            let body = (max + extra - transcript - 4).min(limits.max_handshake_message);
            let record = handshake_record(22, &vec![0; body]);
            transcript += record.len() - 5;
            s2c.extend_from_slice(&record);
        }
        assert_eq!(transcript, max + extra);
        let events = decode_chunks(
            &[(C2S, &c[0][..]), (S2C, &s2c[..])],
            &keys,
            &mut SessionCache::default(),
            limits,
        );
        assert!(matches!(events[2], E::ServerKey { .. }), "{events:#?}");
        match extra {
            0 => assert_eq!(events.len(), 3, "{events:#?}"),
            _ => assert_eq!(
                events[3..],
                [
                    E::Stopped {
                        from: S2C,
                        reason: StopReason::Limit
                    },
                    E::Stopped {
                        from: C2S,
                        reason: StopReason::Undecryptable
                    }
                ]
            ),
        }
    }
}

#[test]
fn application_data_past_the_queued_events_bound_stops_its_direction() {
    let keys = keys(&["rsa2048"]);
    let mut hand = keyed(27);
    let handshake = lens(&hand);
    // 2^16 - 1 alerts queued, in records of 2^13 alerts at most (2^14 bytes),
    // then two records of data: the first fills the queue, the second stops.
    let mut alerts = (1 << 16) - 1;
    while alerts > 0 {
        let n = alerts.min(1 << 13);
        hand.send(false, 21, &[1, 0].repeat(n));
        alerts -= n;
    }
    hand.data(false, b"first");
    hand.data(false, b"second");
    hand.data(true, b"client");

    let mut decoder = ConnectionDecoder::new(Limits::default());
    let mut cache = SessionCache::default();
    decoder.feed(C2S, &hand.c2s[..handshake.0], &keys, &mut cache);
    decoder.feed(S2C, &hand.s2c[..handshake.1], &keys, &mut cache);
    while decoder.poll_event().is_some() {}
    // Fed without polling.
    decoder.feed(S2C, &hand.s2c[handshake.1..], &keys, &mut cache);
    let mut events = Vec::new();
    while let Some(e) = decoder.poll_event() {
        events.push(E::of(e));
    }
    assert_eq!(events.len(), (1 << 16) + 1);
    assert_eq!(
        events[(1 << 16) - 1..],
        [
            E::Data {
                from: S2C,
                data: b"first".to_vec()
            },
            E::Stopped {
                from: S2C,
                reason: StopReason::Limit
            }
        ]
    );
    // The client's direction goes on.
    decoder.feed(C2S, &hand.c2s[handshake.0..], &keys, &mut cache);
    assert_eq!(
        decoder.poll_event().map(E::of),
        Some(E::Data {
            from: C2S,
            data: b"client".to_vec()
        })
    );
}

#[test]
fn application_data_past_the_queued_bytes_bound_stops_its_direction() {
    let keys = keys(&["rsa2048"]);
    let limits = Limits {
        max_buffered: 20_000,
        ..Limits::default()
    };
    // mod.rs: 2 * max_buffered + 2 * MAX_CIPHERTEXT (2^14 + 2048).
    let bound = 2 * limits.max_buffered + 2 * ((1 << 14) + 2048);
    let mut hand = keyed(28);
    let handshake = lens(&hand);
    // Exactly `bound` bytes queued, then one more record, accepted, then one
    // stopped.
    hand.data(false, &vec![1; bound]);
    hand.data(false, b"x");
    hand.data(false, b"y");

    let mut decoder = ConnectionDecoder::new(limits);
    let mut cache = SessionCache::default();
    decoder.feed(C2S, &hand.c2s[..handshake.0], &keys, &mut cache);
    decoder.feed(S2C, &hand.s2c[..handshake.1], &keys, &mut cache);
    while decoder.poll_event().is_some() {}
    decoder.feed(S2C, &hand.s2c[handshake.1..], &keys, &mut cache);
    let mut events = Vec::new();
    while let Some(e) = decoder.poll_event() {
        events.push(E::of(e));
    }
    assert_eq!(data_of(&events, S2C).len(), bound + 1);
    assert_eq!(
        events[events.len() - 2..],
        [
            E::Data {
                from: S2C,
                data: b"x".to_vec()
            },
            E::Stopped {
                from: S2C,
                reason: StopReason::Limit
            }
        ]
    );
}

#[test]
fn limits_near_the_top_of_usize_decode_like_unbounded_ones() {
    // `Limits` is the caller's: bounds derived from it saturate instead of
    // wrapping. These values made the derived bounds wrap to 0 (transcript:
    // 4 * (2^62 - 2^14) + 2^16 = 2^64) and to less than one record (queued
    // data: 2 * (2^63 - 1) + 2 * MAX_CIPHERTEXT), which stopped a normal
    // session with Limit in a release build and panicked in a debug one.
    let mut hand = keyed(41);
    hand.data(true, &[b'c'; 3000]);
    hand.data(false, &[b's'; 3000]);
    let huge = Limits {
        max_buffered: usize::MAX / 2,
        max_handshake_message: (1 << 62) - (1 << 14),
    };
    let decode_with = |limits: Limits| {
        decode_chunks(
            &[(C2S, &hand.c2s[..]), (S2C, &hand.s2c[..])],
            &keys(&["rsa2048"]),
            &mut SessionCache::default(),
            limits,
        )
    };
    let events = decode_with(huge);
    assert_eq!(events, decode_with(Limits::default()));
    assert!(
        !events.iter().any(|e| matches!(e, E::Stopped { .. })),
        "{events:?}"
    );
    assert_eq!(data_of(&events, C2S), [b'c'; 3000]);
    assert_eq!(data_of(&events, S2C), [b's'; 3000]);
}
