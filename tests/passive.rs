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
use rsatls::passive::{Limits, SessionCache};
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
