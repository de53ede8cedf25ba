//! Properties of rsatls::passive over recorded connections: the events do not
//! depend on how the capture cut or interleaved the two directions; an
//! unrelated key decrypts nothing; a capture cut off anywhere gives a prefix of
//! the events; arbitrary bytes never panic and never grow the buffers past the
//! limits.
//!
//! ```sh
//! PROPTEST_CASES=2000 cargo test --release --test prop_passive
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_passive.txt`.

mod common;
mod passive_support;

use std::sync::OnceLock;

use common::prop_support::*;
use passive_support::*;
use proptest::prelude::*;
use rsatls::passive::{ConnectionDecoder, Direction, Limits, ServerKeys, SessionCache};
use rsatls::suites::ALL_SUITES;

/// A recorded connection: both directions' bytes.
struct Recorded {
    c2s: Vec<u8>,
    s2c: Vec<u8>,
}

/// The connections the properties cut up, made once: an engine session per
/// suite with data both ways and close_notify, and a hand-played one with a
/// session ticket, a renegotiation without EMS and client auth, and data
/// around it.
fn recorded() -> &'static [Recorded] {
    static RECORDED: OnceLock<Vec<Recorded>> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let mut out = Vec::new();
        for (i, &suite) in ALL_SUITES.iter().enumerate() {
            let mut p = Params::new("rsa2048", 100 + i as u64, 200 + i as u64);
            p.client_suites = vec![suite];
            let mut s = Session::new(&p);
            s.handshake();
            s.send(true, b"GET / HTTP/1.1\r\n\r\n", &[], &[]).unwrap();
            s.send(false, &app_data(20_000, 3), &[], &[]).unwrap();
            s.send(true, b"more", &[], &[]).unwrap();
            s.client.send_close_notify();
            let wire = common::take_output(&mut s.client);
            s.deliver(true, &wire, &[], &[]);
            out.push(Recorded {
                c2s: s.c2s,
                s2c: s.s2c,
            });
        }
        let mut hand = Hand::new(ALL_SUITES[0], 7);
        let mut opts = Full::new(true);
        opts.ticket = Some(vec![5; 64]);
        opts.session_id = vec![6; 32];
        hand.full(&opts);
        hand.data(true, b"one");
        hand.data(false, b"two");
        let mut opts = Full::new(false);
        opts.client_auth = true;
        hand.full(&opts);
        hand.data(true, b"three");
        hand.data(false, &app_data(3000, 1));
        hand.alert(false, 1, 0);
        out.push(Recorded {
            c2s: hand.c2s,
            s2c: hand.s2c,
        });
        out
    })
}

fn rsa2048() -> &'static ServerKeys {
    static KEYS: OnceLock<ServerKeys> = OnceLock::new();
    KEYS.get_or_init(|| keys(&["rsa2048"]))
}

/// Cuts `bytes` into pieces of the given sizes (cycled; at least 1).
fn cut<'a>(bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(usize::MAX)
            .max(1);
        let (head, tail) = rest.split_at(n.min(rest.len()));
        out.push(head);
        rest = tail;
        i += 1;
    }
    out
}

/// The chunks of both directions interleaved: `order[i]` says whether the
/// `i`th chunk taken is the client's (while both have chunks left).
fn interleave<'a>(
    c2s: Vec<&'a [u8]>,
    s2c: Vec<&'a [u8]>,
    order: &[bool],
) -> Vec<(Direction, &'a [u8])> {
    let (mut c, mut s) = (c2s.into_iter().peekable(), s2c.into_iter().peekable());
    let mut out = Vec::new();
    let mut i = 0;
    while c.peek().is_some() || s.peek().is_some() {
        let client = match (c.peek().is_some(), s.peek().is_some()) {
            (true, true) => order.get(i % order.len().max(1)).copied().unwrap_or(true),
            (client, _) => client,
        };
        i += 1;
        match client {
            true => out.extend(c.next().map(|b| (C2S, b))),
            false => out.extend(s.next().map(|b| (S2C, b))),
        }
    }
    out
}

fn whole(r: &Recorded, keys: &ServerKeys) -> Vec<E> {
    decode(&r.c2s, &r.s2c, keys, &mut SessionCache::default())
}

fn is_prefix(short: &[E], long: &[E]) -> bool {
    short.len() <= long.len() && long[..short.len()] == *short
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..8, 8usize..600, 600usize..40_000], 1..12)
}

proptest! {
    #![proptest_config(prop_config(64, "proptest-regressions/prop_passive.txt"))]

    #[test]
    fn any_cutting_and_interleaving_gives_the_same_events(
        which in 0usize..3,
        c_sizes in sizes(),
        s_sizes in sizes(),
        order in prop::collection::vec(any::<bool>(), 1..16),
    ) {
        let r = &recorded()[which];
        let expected = canonical(&whole(r, rsa2048()));
        prop_assert!(!expected.1.is_empty() && !expected.2.is_empty());
        let chunks = interleave(cut(&r.c2s, &c_sizes), cut(&r.s2c, &s_sizes), &order);
        let events = decode_chunks(&chunks, rsa2048(), &mut SessionCache::default(), Limits::default());
        prop_assert_eq!(canonical(&events), expected);
    }

    #[test]
    fn an_unrelated_key_decrypts_nothing(
        which in 0usize..3,
        c_sizes in sizes(),
        order in prop::collection::vec(any::<bool>(), 1..16),
    ) {
        static OTHER: OnceLock<ServerKeys> = OnceLock::new();
        let other = OTHER.get_or_init(|| keys(&["rsa3072", "rsa1024"]));
        let r = &recorded()[which];
        let chunks = interleave(cut(&r.c2s, &c_sizes), cut(&r.s2c, &c_sizes), &order);
        let events = decode_chunks(&chunks, other, &mut SessionCache::default(), Limits::default());
        let decrypted = |e: &E| matches!(
            e,
            E::Data { .. } | E::KeyExchange { .. } | E::Finished { .. } | E::Alert { encrypted: true, .. }
        );
        let unmatched = |e: &E| matches!(e, E::ServerKey { key: None, .. });
        prop_assert!(!events.iter().any(decrypted));
        prop_assert!(events.iter().any(unmatched));
    }

    #[test]
    fn a_capture_cut_off_anywhere_gives_a_prefix_of_the_events(
        which in 0usize..3,
        c_end in any::<prop::sample::Index>(),
        s_end in any::<prop::sample::Index>(),
        c_sizes in sizes(),
        order in prop::collection::vec(any::<bool>(), 1..16),
    ) {
        let r = &recorded()[which];
        let (full_hs, full_c, full_s) = canonical(&whole(r, rsa2048()));
        let c2s = &r.c2s[..c_end.index(r.c2s.len() + 1)];
        let s2c = &r.s2c[..s_end.index(r.s2c.len() + 1)];
        let chunks = interleave(cut(c2s, &c_sizes), cut(s2c, &c_sizes), &order);
        let events = decode_chunks(&chunks, rsa2048(), &mut SessionCache::default(), Limits::default());
        let (hs, c, s) = canonical(&events);
        prop_assert!(is_prefix(&hs, &full_hs), "{:?}", hs);
        prop_assert!(is_prefix(&c, &full_c));
        prop_assert!(is_prefix(&s, &full_s));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_within_the_limits(
        c2s in prop::collection::vec(any::<u8>(), 0..3000),
        s2c in prop::collection::vec(any::<u8>(), 0..3000),
        prefix in any::<bool>(),
        c_sizes in sizes(),
        order in prop::collection::vec(any::<bool>(), 1..16),
        max_buffered in 1usize..5000,
    ) {
        // With `prefix`, the arbitrary bytes follow a real handshake start, so
        // that they reach the later states.
        let r = &recorded()[0];
        let (mut c, mut s) = (Vec::new(), Vec::new());
        if prefix {
            c.extend_from_slice(&r.c2s[..r.c2s.len().min(600)]);
            s.extend_from_slice(&r.s2c[..r.s2c.len().min(2000)]);
        }
        c.extend_from_slice(&c2s);
        s.extend_from_slice(&s2c);
        let limits = Limits { max_buffered, max_handshake_message: 4096 };
        let mut decoder = ConnectionDecoder::new(limits);
        let mut cache = SessionCache::new(4);
        for (from, bytes) in interleave(cut(&c, &c_sizes), cut(&s, &c_sizes), &order) {
            decoder.feed(from, bytes, rsa2048(), &mut cache);
            while decoder.poll_event().is_some() {}
            for d in [C2S, S2C] {
                // The buffer, plus the handshake bytes of at most one record.
                prop_assert!(decoder.buffered(d) <= max_buffered + 4096 + 4 + (1 << 14) + 2048);
            }
        }
    }
}
