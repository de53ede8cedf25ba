//! rsatls::passive on recorded connections: sessions between the rsatls engines
//! (whose key logs say what the premaster and master secret were), and sessions
//! played by hand on both sides for what the engines never do (no EMS, a
//! malformed premaster, resumption, renegotiation).

mod common;
mod passive_support;
#[path = "chain/pki.rs"]
mod pki;

use std::sync::Arc;

use common::prop_support::leaf as committed_leaf;
use common::prop_support::*;
use common::*;
use passive_support::*;
use pki::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::passive::{Limits, PremasterError, ResumedBy, SessionCache, StopReason, Undecryptable};
use rsatls::suites::{ALL_SUITES, Suite};
use rsatls::{ClientAuthMode, ServerConnection};

const CLIENT_AUTH_EKU: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// A session between the engines: handshake, a request, a 40 000-byte answer
/// (three records), close_notify from the client.
fn engine_session(suite: &'static Suite, client_auth: bool, seed: u64) -> (Session, Vec<u8>) {
    let mut p = Params::new("rsa2048", seed, seed + 1);
    p.client_suites = vec![suite];
    let mut s = Session::new(&p);
    if client_auth {
        let server_config = server_config("rsa2048")
            .with_client_auth(vec![pki().root.clone()], ClientAuthMode::Required)
            .unwrap()
            .with_key_log(s.server_log.clone());
        s.server = ServerConnection::new_at(
            Arc::new(server_config),
            now(),
            ChaCha20Rng::seed_from_u64(seed + 1),
        );
        let client_cert = certificate_with(
            "other2048",
            "rsatls passive client",
            ("rsa3072", "rsatls test intermediate"),
            Kind::Leaf(vec![dns("client.rsatls.invalid")]),
            VALID,
            Usage {
                key_usage: Some(x509_cert::ext::pkix::KeyUsages::DigitalSignature.into()),
                extended: Some(vec![CLIENT_AUTH_EKU]),
            },
        );
        let client_config = client_config("rsa2048")
            .with_suites(&[suite])
            .unwrap()
            .with_client_certificate(
                vec![client_cert, pki().intermediate.clone()],
                &key_file("other2048"),
            )
            .unwrap()
            .with_key_log(s.client_log.clone());
        s.client = client(client_config, seed);
    }
    s.handshake();
    assert!(s.client_completed() && s.server_completed());
    let answer = app_data(40_000, 9);
    s.send(true, REQUEST, &[], &[]).unwrap();
    s.send(false, &answer, &[], &[]).unwrap();
    s.client.send_close_notify();
    let wire = take_output(&mut s.client);
    s.deliver(true, &wire, &[], &[]);
    (s, answer)
}

/// The secret logged under `label` as `(key, secret)` bytes.
fn logged(log: &MemoryKeyLog, label: &str) -> (Vec<u8>, Vec<u8>) {
    let line = log
        .lines()
        .into_iter()
        .find(|l| l.starts_with(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no {label} line"));
    let mut parts = line.split(' ').skip(1);
    (unhex(parts.next().unwrap()), unhex(parts.next().unwrap()))
}

/// Checks the events of a complete engine session, one full handshake.
fn check_engine_session(s: &Session, answer: &[u8], suite: &Suite, events: &[E]) {
    let (client_random, master) = logged(&s.server_log, "CLIENT_RANDOM");
    let (head, premaster) = logged(&s.client_log, "RSA");
    let mut it = events.iter();
    assert!(
        matches!(it.next(), Some(E::ClientHello { hs: 0, random, ems: true, sni: Some(n), .. })
            if random[..] == client_random[..] && n == "localhost"),
        "{events:?}"
    );
    assert!(
        matches!(it.next(), Some(E::ServerHello { hs: 0, suite: id, ems: true, .. }) if *id == suite.id),
        "{events:?}"
    );
    assert_eq!(
        it.next(),
        Some(&E::ServerKey {
            hs: 0,
            pin: pin("rsa2048"),
            bits: 2048,
            subject: rsatls::pki::certificate_subject(&committed_leaf("rsa2048")),
            key: Some("rsa2048".into()),
        })
    );
    let Some(E::KeyExchange {
        hs: 0,
        encrypted,
        result: Ok((got_premaster, got_master)),
    }) = it.next()
    else {
        panic!("{events:?}")
    };
    assert_eq!(encrypted[..8], head[..]);
    assert_eq!(got_premaster, &premaster);
    assert_eq!(got_master, &master);
    let finished: Vec<&E> = events
        .iter()
        .filter(|e| matches!(e, E::Finished { .. }))
        .collect();
    assert_eq!(
        finished,
        [
            &E::Finished {
                hs: 0,
                from: C2S,
                verified: true
            },
            &E::Finished {
                hs: 0,
                from: S2C,
                verified: true
            }
        ]
    );
    assert_eq!(data_of(events, C2S), REQUEST);
    assert_eq!(data_of(events, S2C), answer);
    // close_notify, the client's last record.
    assert_eq!(
        canonical(events).1.last(),
        Some(&E::Alert {
            from: C2S,
            level: 1,
            description: 0,
            encrypted: true
        })
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, E::Stopped { .. } | E::Undecryptable { .. }))
    );
}

#[test]
fn engine_sessions_decrypt_end_to_end_in_either_feeding_order() {
    for (i, &suite) in ALL_SUITES.iter().enumerate() {
        for client_auth in [false, true] {
            let (s, answer) = engine_session(suite, client_auth, 10 + i as u64);
            let keys = keys(&["rsa3072", "rsa2048"]);
            let events = decode(&s.c2s, &s.s2c, &keys, &mut SessionCache::default());
            check_engine_session(&s, &answer, suite, &events);
            // The server's bytes first: the decoder waits for the ClientHello.
            let reversed = decode_chunks(
                &[(S2C, &s.s2c), (C2S, &s.c2s)],
                &keys,
                &mut SessionCache::default(),
                Limits::default(),
            );
            assert_eq!(canonical(&reversed), canonical(&events));
        }
    }
}

/// The Undecryptable and Stopped events, the client's Stopped before the
/// server's (which direction stops first depends on which one failed).
fn undecryptable_and_stopped(events: &[E]) -> Vec<E> {
    let mut out: Vec<E> = events
        .iter()
        .filter(|e| matches!(e, E::Undecryptable { .. } | E::Stopped { .. }))
        .cloned()
        .collect();
    out.sort_by_key(|e| match e {
        E::Stopped { from: S2C, .. } => 2,
        E::Stopped { .. } => 1,
        _ => 0,
    });
    out
}

fn both_stopped(reason: StopReason) -> [E; 2] {
    [
        E::Stopped {
            from: C2S,
            reason: reason.clone(),
        },
        E::Stopped { from: S2C, reason },
    ]
}

#[test]
fn a_session_without_ems_uses_the_legacy_master_secret() {
    for &suite in &ALL_SUITES {
        let mut hand = Hand::new(suite, 1);
        let agreed = hand.full(&Full::new(false));
        hand.data(true, REQUEST);
        hand.data(false, b"HTTP/1.1 200 OK\r\n\r\nhello");
        let events = decode(
            &hand.c2s,
            &hand.s2c,
            &keys(&["rsa2048"]),
            &mut SessionCache::default(),
        );
        assert!(
            matches!(events[0], E::ClientHello { ems: false, .. }),
            "{events:?}"
        );
        assert!(
            matches!(events[1], E::ServerHello { ems: false, .. }),
            "{events:?}"
        );
        assert_eq!(
            events[3],
            E::KeyExchange {
                hs: 0,
                encrypted: agreed.encrypted.clone(),
                result: Ok((agreed.premaster.clone(), agreed.master.clone())),
            }
        );
        assert_eq!(
            canonical(&events[4..]),
            (
                vec![
                    E::Finished {
                        hs: 0,
                        from: C2S,
                        verified: true
                    },
                    E::Finished {
                        hs: 0,
                        from: S2C,
                        verified: true
                    },
                ],
                vec![E::Data {
                    from: C2S,
                    data: REQUEST.to_vec()
                }],
                vec![E::Data {
                    from: S2C,
                    data: b"HTTP/1.1 200 OK\r\n\r\nhello".to_vec()
                }],
            )
        );
    }
}

#[test]
fn a_certificate_no_key_matches_is_listed_with_its_pin() {
    let (s, _) = engine_session(ALL_SUITES[0], false, 3);
    let events = decode(
        &s.c2s,
        &s.s2c,
        &keys(&["rsa3072"]),
        &mut SessionCache::default(),
    );
    assert!(matches!(
        &events[2],
        E::ServerKey { key: None, pin, bits: 2048, .. } if *pin == common::pin("rsa2048")
    ));
    assert_eq!(events.len(), 6, "{events:?}");
    assert_eq!(
        undecryptable_and_stopped(&events),
        [
            E::Undecryptable {
                hs: 0,
                reason: Undecryptable::NoMatchingKey(pin("rsa2048"))
            },
            both_stopped(StopReason::Undecryptable)[0].clone(),
            both_stopped(StopReason::Undecryptable)[1].clone(),
        ]
    );
}

#[test]
fn each_malformed_premaster_is_named_and_nothing_is_decrypted() {
    let k = 256;
    let premaster = |v: [u8; 2]| {
        let mut p = vec![0x44; 48];
        p[..2].copy_from_slice(&v);
        p
    };
    let good = pkcs1_block(k, &premaster([3, 3]));
    let mut bad_header = good.clone();
    bad_header[1] = 1;
    let mut short_padding = good.clone();
    short_padding[2 + 5] = 0;
    let mut no_separator = good.clone();
    no_separator[k - 49] = 0x17;
    let cases = [
        (Premaster::Block(bad_header), PremasterError::BadHeader),
        (
            Premaster::Block(short_padding),
            PremasterError::ShortPadding,
        ),
        (Premaster::Block(no_separator), PremasterError::NoSeparator),
        (
            Premaster::Block(pkcs1_block(k, &[3; 47])),
            PremasterError::WrongPremasterLength,
        ),
        (
            Premaster::Block(pkcs1_block(k, &premaster([3, 1]))),
            PremasterError::WrongVersion,
        ),
        (
            Premaster::Ciphertext(vec![7; k - 1]),
            PremasterError::WrongLength,
        ),
        (
            Premaster::Ciphertext(vec![0xff; k]),
            PremasterError::KeyOperation,
        ),
    ];
    for (how, reason) in cases {
        let mut hand = Hand::new(ALL_SUITES[1], 2);
        let mut opts = Full::new(true);
        opts.premaster = how;
        hand.full(&opts);
        hand.data(false, b"secret");
        let events = decode(
            &hand.c2s,
            &hand.s2c,
            &keys(&["rsa2048"]),
            &mut SessionCache::default(),
        );
        assert!(
            matches!(&events[3], E::KeyExchange { result: Err(r), .. } if *r == reason),
            "{reason:?}: {events:?}"
        );
        // The client's ChangeCipherSpec has no keys to switch to.
        assert_eq!(events.len(), 6, "{reason:?}: {events:?}");
        assert_eq!(
            undecryptable_and_stopped(&events),
            both_stopped(StopReason::Undecryptable),
            "{reason:?}"
        );
    }
}

#[test]
fn a_tampered_record_stops_its_direction_only() {
    let (s, answer) = engine_session(ALL_SUITES[0], false, 5);
    let mut s2c = s.s2c.clone();
    // The server's last three records carry the answer: flip a byte of the
    // second one's ciphertext.
    let records = split_records(&s2c);
    let offset: usize = records[..records.len() - 2].iter().map(Vec::len).sum();
    s2c[offset + 30] ^= 1;
    let events = decode(
        &s.c2s,
        &s2c,
        &keys(&["rsa2048"]),
        &mut SessionCache::default(),
    );
    let (_, client, server) = canonical(&events);
    assert_eq!(data_of(&client, C2S), REQUEST);
    assert!(client.contains(&E::Alert {
        from: C2S,
        level: 1,
        description: 0,
        encrypted: true
    }));
    // Only the first record of the answer (2^14 bytes) is read.
    assert_eq!(data_of(&server, S2C), answer[..1 << 14]);
    assert_eq!(
        undecryptable_and_stopped(&events),
        [E::Stopped {
            from: S2C,
            reason: StopReason::BadRecordMac
        }]
    );
}

#[test]
fn resumption_by_session_id_and_by_ticket_uses_the_cache_across_connections() {
    for &suite in &ALL_SUITES {
        let keys = keys(&["rsa2048"]);
        let mut cache = SessionCache::new(8);
        // A full handshake issuing a session ID and a ticket.
        let mut first = Hand::new(suite, 10);
        let mut opts = Full::new(true);
        opts.session_id = vec![0x51; 32];
        opts.ticket = Some(vec![0x7e; 180]);
        let agreed = first.full(&opts);
        let events = decode(&first.c2s, &first.s2c, &keys, &mut cache);
        assert!(
            events.contains(&E::Ticket {
                hs: 0,
                lifetime: 7200,
                len: 180
            }),
            "{events:?}"
        );
        assert_eq!((cache.session_ids(), cache.tickets()), (1, 1));

        // By session ID.
        let mut by_id = Hand::new(suite, 20);
        by_id.abbreviated(&agreed.master, vec![0x51; 32], None, None);
        by_id.data(true, b"again");
        by_id.data(false, b"welcome back");
        let events = decode(&by_id.c2s, &by_id.s2c, &keys, &mut cache);
        assert_eq!(
            canonical(&events[2..]),
            (
                vec![
                    E::Resumed {
                        hs: 0,
                        by: ResumedBy::SessionId,
                        master: agreed.master.clone()
                    },
                    E::Finished {
                        hs: 0,
                        from: S2C,
                        verified: true
                    },
                    E::Finished {
                        hs: 0,
                        from: C2S,
                        verified: true
                    },
                ],
                vec![E::Data {
                    from: C2S,
                    data: b"again".to_vec()
                }],
                vec![E::Data {
                    from: S2C,
                    data: b"welcome back".to_vec()
                }],
            ),
            "{events:?}"
        );

        // By ticket, which issues a new ticket, itself resumable.
        let mut by_ticket = Hand::new(suite, 30);
        by_ticket.abbreviated(
            &agreed.master,
            Vec::new(),
            Some(vec![0x7e; 180]),
            Some(vec![9; 40]),
        );
        by_ticket.data(false, b"ticket");
        let events = decode(&by_ticket.c2s, &by_ticket.s2c, &keys, &mut cache);
        assert_eq!(
            canonical(&events[2..]),
            (
                vec![
                    E::Resumed {
                        hs: 0,
                        by: ResumedBy::Ticket,
                        master: agreed.master.clone()
                    },
                    E::Ticket {
                        hs: 0,
                        lifetime: 7200,
                        len: 40
                    },
                    E::Finished {
                        hs: 0,
                        from: S2C,
                        verified: true
                    },
                    E::Finished {
                        hs: 0,
                        from: C2S,
                        verified: true
                    },
                ],
                vec![],
                vec![E::Data {
                    from: S2C,
                    data: b"ticket".to_vec()
                }],
            ),
            "{events:?}"
        );
        assert_eq!(cache.tickets(), 2);
        let mut again = Hand::new(suite, 40);
        again.abbreviated(&agreed.master, Vec::new(), Some(vec![9; 40]), None);
        let events = decode(&again.c2s, &again.s2c, &keys, &mut cache);
        assert!(
            matches!(
                events[2],
                E::Resumed {
                    by: ResumedBy::Ticket,
                    ..
                }
            ),
            "{events:?}"
        );

        // A session the capture never saw.
        let mut unknown = Hand::new(suite, 50);
        unknown.abbreviated(&agreed.master, vec![0x52; 32], Some(vec![1; 10]), None);
        let events = decode(&unknown.c2s, &unknown.s2c, &keys, &mut cache);
        assert_eq!(
            undecryptable_and_stopped(&events),
            [
                E::Undecryptable {
                    hs: 0,
                    reason: Undecryptable::ResumptionNotInCapture
                },
                both_stopped(StopReason::Undecryptable)[0].clone(),
                both_stopped(StopReason::Undecryptable)[1].clone(),
            ]
        );
        // The same session in a fresh cache: not decryptable either.
        let events = decode(&by_id.c2s, &by_id.s2c, &keys, &mut SessionCache::default());
        assert!(events.contains(&E::Undecryptable {
            hs: 0,
            reason: Undecryptable::ResumptionNotInCapture
        }));
    }
}

#[test]
fn the_cache_drops_its_oldest_sessions() {
    let keys = keys(&["rsa2048"]);
    let mut cache = SessionCache::new(2);
    let mut masters = Vec::new();
    for i in 0..3u8 {
        let mut hand = Hand::new(ALL_SUITES[0], 60 + 2 * i);
        let mut opts = Full::new(true);
        opts.session_id = vec![i + 1; 16];
        masters.push(hand.full(&opts).master);
        decode(&hand.c2s, &hand.s2c, &keys, &mut cache);
    }
    assert_eq!(cache.session_ids(), 2);
    let resumes = |i: u8, cache: &mut SessionCache| {
        let mut hand = Hand::new(ALL_SUITES[0], 90 + i);
        hand.abbreviated(&masters[usize::from(i)], vec![i + 1; 16], None, None);
        let events = decode(&hand.c2s, &hand.s2c, &keys, cache);
        events.iter().any(|e| matches!(e, E::Resumed { .. }))
    };
    assert!(!resumes(0, &mut cache));
    assert!(resumes(1, &mut cache));
    assert!(resumes(2, &mut cache));
}

#[test]
fn a_renegotiation_is_followed_under_the_old_keys_until_the_new_ones() {
    let mut hand = Hand::new(ALL_SUITES[0], 70);
    hand.full(&Full::new(true));
    hand.data(true, b"before");
    let mut opts = Full::new(false);
    opts.client_auth = true;
    let second = hand.full(&opts);
    hand.data(true, b"after");
    hand.data(false, b"after too");
    let events = decode(
        &hand.c2s,
        &hand.s2c,
        &keys(&["rsa2048"]),
        &mut SessionCache::default(),
    );
    let hs1: Vec<&E> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                E::ClientHello { hs: 1, .. }
                    | E::KeyExchange { hs: 1, .. }
                    | E::Finished { hs: 1, .. }
            )
        })
        .collect();
    assert_eq!(hs1.len(), 4, "{events:?}");
    assert!(events.contains(&E::KeyExchange {
        hs: 1,
        encrypted: second.encrypted.clone(),
        result: Ok((second.premaster.clone(), second.master.clone())),
    }));
    assert!(events.contains(&E::Finished {
        hs: 1,
        from: S2C,
        verified: true
    }));
    assert_eq!(data_of(&events, C2S), b"beforeafter");
    assert_eq!(data_of(&events, S2C), b"after too");
    assert!(undecryptable_and_stopped(&events).is_empty(), "{events:?}");
}

#[test]
fn other_protocols_versions_and_suites_are_listed_not_decrypted() {
    let keys = keys(&["rsa2048"]);
    let events = decode(
        b"GET / HTTP/1.1\r\n\r\n",
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

    // A capture that starts after the handshake.
    let mut hand = Hand::new(ALL_SUITES[0], 80);
    hand.full(&Full::new(true));
    let handshake_len = hand.c2s.len();
    hand.data(true, b"x");
    let events = decode(
        &hand.c2s[handshake_len..],
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

    // The ServerHello's version and suite, edited: version at 9..11, suite at
    // 44..46 (empty session ID).
    let mut hand = Hand::new(ALL_SUITES[0], 81);
    hand.full(&Full::new(true));
    let mut s2c = hand.s2c.clone();
    s2c[9..11].copy_from_slice(&[3, 2]);
    let events = decode(&hand.c2s, &s2c, &keys, &mut SessionCache::default());
    assert_eq!(
        events[2],
        E::Undecryptable {
            hs: 0,
            reason: Undecryptable::Version(rsatls::msgs::enums::ProtocolVersion(0x0302))
        }
    );
    let mut s2c = hand.s2c.clone();
    s2c[44..46].copy_from_slice(&[0xc0, 0x2f]);
    let events = decode(&hand.c2s, &s2c, &keys, &mut SessionCache::default());
    assert_eq!(
        events[2],
        E::Undecryptable {
            hs: 0,
            reason: Undecryptable::Suite(rsatls::msgs::enums::CipherSuite(0xc02f))
        }
    );
}

/// The offline padding check branches on secret data, which is fine for a
/// decoder that answers no one and fatal in a server (a Bleichenbacher oracle).
/// The compiler cannot hold that the engines never call into `passive`: this
/// scan of their sources does.
#[test]
fn the_engines_never_name_the_passive_decoder() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![std::path::PathBuf::from(format!("{root}/src/rsa_kx.rs"))];
    for entry in std::fs::read_dir(format!("{root}/src/conn")).unwrap() {
        files.push(entry.unwrap().path());
    }
    assert!(files.len() > 2);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("passive"),
            "{} names passive",
            file.display()
        );
        assert!(
            !text.contains("premaster_from_block"),
            "{} names the offline check",
            file.display()
        );
    }
}

#[test]
fn what_waits_for_the_other_direction_is_bounded() {
    let (s, _) = engine_session(ALL_SUITES[0], false, 7);
    let keys = keys(&["rsa2048"]);
    // The server's flight cannot be followed before the ClientHello: it waits,
    // up to max_buffered bytes.
    let limits = Limits {
        max_buffered: 1000,
        ..Limits::default()
    };
    let mut decoder = rsatls::passive::ConnectionDecoder::new(limits);
    let mut cache = SessionCache::default();
    decoder.feed(S2C, &s.s2c[..900], &keys, &mut cache);
    assert!(decoder.poll_event().is_none());
    assert_eq!(decoder.buffered(S2C), 900);
    decoder.feed(S2C, &s.s2c[900..], &keys, &mut cache);
    assert!(decoder.buffered(S2C) <= 1000);
    let events: Vec<E> = std::iter::from_fn(|| decoder.poll_event())
        .map(E::of)
        .collect();
    assert_eq!(
        undecryptable_and_stopped(&events),
        [
            E::Stopped {
                from: C2S,
                reason: StopReason::Undecryptable
            },
            E::Stopped {
                from: S2C,
                reason: StopReason::Limit
            },
        ]
    );

    // A handshake message longer than max_handshake_message (the certificate).
    let limits = Limits {
        max_handshake_message: 500,
        ..Limits::default()
    };
    let events = decode_chunks(&[(C2S, &s.c2s), (S2C, &s.s2c)], &keys, &mut cache, limits);
    assert!(
        events.contains(&E::Stopped {
            from: S2C,
            reason: StopReason::Limit
        }),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, E::Data { .. })));
}
