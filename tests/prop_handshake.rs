//! Properties 2–4: honest handshakes for any seeds, suites and test keys agree on
//! everything and carry any data intact; framing does not depend on how bytes
//! arrive; the same seeds give the same bytes.
//!
//! Case counts are tuned for `cargo test --release` (an RSA-2048 handshake costs
//! about 10 ms here, RSA-4096 about 50 ms). A long campaign:
//!
//! ```sh
//! PROPTEST_CASES=2000 cargo test --release --test prop_handshake
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_handshake.txt`.

mod common;

use std::collections::HashSet;

use common::prop_support::*;
use common::*;
use proptest::prelude::*;
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

const REGRESSIONS: &str = "proptest-regressions/prop_handshake.txt";

const A128: &Suite = &TLS_RSA_WITH_AES_128_GCM_SHA256;
const A256: &Suite = &TLS_RSA_WITH_AES_256_GCM_SHA384;

/// The server keys, weighted by cost.
fn server_key() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just("rsa2048"), 2 => Just("rsa3072"), 1 => Just("rsa4096")]
}

fn suite_list() -> impl Strategy<Value = Vec<&'static Suite>> {
    prop::sample::select(vec![
        vec![A128],
        vec![A256],
        vec![A128, A256],
        vec![A256, A128],
    ])
}

/// Any seeds, suites with at least one in common, and a client that trusts the
/// server's key among decoys, by pin or by certificate.
fn params() -> impl Strategy<Value = Params> {
    (
        server_key(),
        suite_list(),
        suite_list(),
        prop::sample::subsequence(vec!["rsa2048", "rsa3072", "rsa4096", "other2048"], 0..=3),
        prop::sample::select(vec![AuthKind::Pins, AuthKind::TrustedCertificates]),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_filter("no suite in common", |(_, c, s, ..)| {
            c.iter().any(|x| s.contains(x))
        })
        .prop_map(
            |(key, client_suites, server_suites, decoys, auth, cs, ss)| {
                let mut trusted: Vec<&'static str> =
                    decoys.into_iter().filter(|d| *d != key).collect();
                let at = (cs as usize) % (trusted.len() + 1);
                trusted.insert(at, key);
                Params {
                    key,
                    client_suites,
                    server_suites,
                    trusted,
                    auth,
                    client_seed: cs,
                    server_seed: ss,
                }
            },
        )
}

/// A length of application data, 0 ..= 64 KiB, often at a record boundary.
fn data_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..=64,
        16_380usize..=16_390,
        0usize..=65_536,
        Just(65_536usize),
    ]
}

/// Messages to send after the handshake: (client to server?, length, fill).
fn messages(max: usize) -> impl Strategy<Value = Vec<(bool, usize, u8)>> {
    prop::collection::vec((any::<bool>(), data_len(), any::<u8>()), 0..=max)
}

/// Chunk sizes for delivery: from one byte to several records at a time.
fn chunks() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![
            3 => 1usize..=8,
            2 => 9usize..=700,
            1 => 16_380usize..=16_400,
            1 => 20_000usize..=70_000,
        ],
        1..6,
    )
}

/// A whole session: handshake, the messages, then close_notify each way.
fn session(p: &Params, msgs: &[(bool, usize, u8)], c2s: &[usize], s2c: &[usize]) -> Session {
    let mut s = Session::new(p);
    s.run(&mut |_, _| {}, c2s, s2c);
    for &(from_client, len, fill) in msgs {
        s.send(from_client, &app_data(len, fill), c2s, s2c)
            .expect("established sides accept data");
    }
    s.client.send_close_notify();
    let wire = take_output(&mut s.client);
    s.deliver(true, &wire, c2s, s2c);
    s.server.send_close_notify();
    let wire = take_output(&mut s.server);
    s.deliver(false, &wire, c2s, s2c);
    s
}

/// The explicit nonces of the protected records in one direction's bytes.
fn explicit_nonces(stream: &[u8]) -> Vec<[u8; 8]> {
    split_records(stream)
        .into_iter()
        .skip_while(|r| r[0] != CCS)
        .skip(1)
        .map(|r| r[5..13].try_into().expect("protected record"))
        .collect()
}

proptest! {
    #![proptest_config(prop_config(48, REGRESSIONS))]

    /// Property 2: both sides complete, agree on the suite, EMS and the master
    /// secret (through the key log), and data of any length crosses both ways
    /// intact and in order; no explicit nonce repeats in either direction.
    #[test]
    fn handshake_completes_and_carries_data_both_ways(p in params(), msgs in messages(4)) {
        let s = session(&p, &msgs, &[], &[]);
        prop_assert_eq!(&s.client_error, &None);
        prop_assert_eq!(&s.server_error, &None);
        let suite = p.expected_suite().expect("suites overlap");

        let Some(Ev::Complete(ci)) = s.client_events.first() else {
            return Err(TestCaseError::fail(format!("client: {:?}", s.client_events)));
        };
        let Some(Ev::Complete(si)) = s.server_events.first() else {
            return Err(TestCaseError::fail(format!("server: {:?}", s.server_events)));
        };
        prop_assert_eq!(ci.suite, suite);
        prop_assert_eq!(si.suite, suite);
        prop_assert!(ci.extended_master_secret && si.extended_master_secret);
        prop_assert!(ci.secure_renegotiation && si.secure_renegotiation);
        prop_assert_eq!(si.server_name.as_deref(), Some("localhost"));
        prop_assert_eq!(ci.peer_certificates.first(), Some(&leaf(p.key)));

        // The same master secret, logged under the ClientHello's random.
        let (cm, sm) = s.master_secrets();
        prop_assert!(cm.is_some());
        prop_assert_eq!(&cm, &sm);
        let (client_random, _) = hello_randoms(&s.flights[0], &s.flights[1]);
        let logged = cm.unwrap_or_default();
        prop_assert_eq!(logged.split(' ').nth(1).map(unhex), Some(client_random.to_vec()));
        prop_assert_eq!(logged.split(' ').nth(2).map(|m| m.len()), Some(96));

        // Data, in order, each way; then a clean close each way.
        let expect = |dir: bool| -> Vec<u8> {
            msgs.iter()
                .filter(|m| m.0 == dir)
                .flat_map(|&(_, len, fill)| app_data(len, fill))
                .collect()
        };
        let (at_client, at_server) = s.received();
        prop_assert!(at_server == expect(true), "client-to-server data differs");
        prop_assert!(at_client == expect(false), "server-to-client data differs");
        for events in [&s.client_events, &s.server_events] {
            prop_assert_eq!(events.last(), Some(&Ev::Closed));
            prop_assert_eq!(events.iter().filter(|e| matches!(e, Ev::Complete(_))).count(), 1);
            for e in events {
                if let Ev::Data(d) = e {
                    prop_assert!(!d.is_empty() && d.len() <= 16_384);
                }
            }
        }

        // RFC 5288 §3: nonce_explicit MUST be distinct for each record under a key.
        for stream in [&s.c2s, &s.s2c] {
            let nonces = explicit_nonces(stream);
            let distinct: HashSet<_> = nonces.iter().collect();
            prop_assert_eq!(distinct.len(), nonces.len(), "an explicit nonce repeats");
        }
    }

}

proptest! {
    #![proptest_config(prop_config(40, REGRESSIONS))]

    /// Property 3: cutting each direction's bytes into arbitrary chunks (one byte
    /// to several records) gives exactly the events and bytes of whole-flight
    /// delivery.
    #[test]
    fn framing_is_independent_of_chunking(
        p in params(),
        msgs in messages(2),
        c2s in chunks(),
        s2c in chunks(),
    ) {
        let whole = session(&p, &msgs, &[], &[]);
        let cut = session(&p, &msgs, &c2s, &s2c);
        prop_assert_eq!(&cut.client_error, &None);
        prop_assert_eq!(&cut.server_error, &None);
        prop_assert!(whole.server_completed() && whole.client_completed());
        prop_assert_eq!(&cut.flights, &whole.flights);
        prop_assert_eq!(&cut.client_events, &whole.client_events);
        prop_assert_eq!(&cut.server_events, &whole.server_events);
        prop_assert!(cut.c2s == whole.c2s && cut.s2c == whole.s2c);
        prop_assert_eq!(cut.client_log.lines(), whole.client_log.lines());
        prop_assert_eq!(cut.server_log.lines(), whole.server_log.lines());
    }

}

proptest! {
    #![proptest_config(prop_config(24, REGRESSIONS))]

    /// Property 4: the same seeds give byte-identical sessions; another client
    /// seed gives another client random (and premaster) and the same server
    /// random, and another server seed the reverse.
    #[test]
    fn same_seeds_same_bytes_other_seeds_other_randoms(
        p in params(),
        msgs in messages(1),
        other_client_seed in any::<u64>(),
        other_server_seed in any::<u64>(),
    ) {
        prop_assume!(other_client_seed != p.client_seed && other_server_seed != p.server_seed);
        let a = session(&p, &msgs, &[], &[]);
        let b = session(&p, &msgs, &[], &[]);
        prop_assert!(a.client_completed() && a.server_completed());
        prop_assert_eq!(&a.flights, &b.flights);
        prop_assert!(a.c2s == b.c2s && a.s2c == b.s2c);
        prop_assert_eq!(&a.client_events, &b.client_events);
        prop_assert_eq!(&a.server_events, &b.server_events);
        prop_assert_eq!(a.client_log.lines(), b.client_log.lines());
        prop_assert_eq!(a.server_log.lines(), b.server_log.lines());

        let c = session(&Params { client_seed: other_client_seed, ..p.clone() }, &msgs, &[], &[]);
        let d = session(&Params { server_seed: other_server_seed, ..p.clone() }, &msgs, &[], &[]);
        let (cr_a, sr_a) = hello_randoms(&a.flights[0], &a.flights[1]);
        let (cr_c, sr_c) = hello_randoms(&c.flights[0], &c.flights[1]);
        let (cr_d, sr_d) = hello_randoms(&d.flights[0], &d.flights[1]);
        prop_assert_ne!(cr_a, cr_c);
        prop_assert_eq!(sr_a, sr_c);
        prop_assert_eq!(cr_a, cr_d);
        prop_assert_ne!(sr_a, sr_d);
        let premaster = |s: &Session| {
            s.client_log.lines().into_iter().find(|l| l.starts_with("RSA "))
        };
        prop_assert!(premaster(&a).is_some());
        prop_assert_ne!(premaster(&a), premaster(&c));
        prop_assert_eq!(&a.flights[0], &d.flights[0]);
        prop_assert_ne!(&a.flights[2], &d.flights[2]);
    }
}
