//! Property 12: every limit holds at its exact boundary — the 2^24 record limit
//! on sending and on receiving, the 2^14 plaintext and 2^14 + 2048 ciphertext
//! record sizes (record_overflow), the handshake message size limit on both
//! sides, and the run of empty records and warnings (CVE-2016-8610).
//!
//! Records beyond what the engine itself would send are forged with keys the
//! test derives from the key log (an independent PRF and key expansion).
//!
//! About 10 ms per case. A long campaign:
//!
//! ```sh
//! PROPTEST_CASES=5000 cargo test --release --test prop_limits
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_limits.txt`.

mod common;

use common::prop_support::*;
use common::*;
use proptest::prelude::*;
use rsatls::msgs::enums::{AlertDescription, ExtensionType, HandshakeType};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::{Endpoint, Error, MAX_EMPTY_RUN, Misbehavior, SEQ_LIMIT};

const REGRESSIONS: &str = "proptest-regressions/prop_limits.txt";

const MAX_PLAINTEXT: usize = 1 << 14;
const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 2048;

fn suite() -> impl Strategy<Value = &'static Suite> {
    prop::sample::select(vec![
        &TLS_RSA_WITH_AES_128_GCM_SHA256 as &Suite,
        &TLS_RSA_WITH_AES_256_GCM_SHA384,
    ])
}

fn params(suite: &'static Suite, seeds: (u64, u64)) -> Params {
    Params {
        client_suites: vec![suite],
        server_suites: vec![suite],
        ..Params::new("rsa2048", seeds.0, seeds.1)
    }
}

fn illegal_size() -> Error {
    Error::PeerMisbehaved(Misbehavior::IllegalParameter(
        "handshake message exceeds the configured maximum",
    ))
}

/// A handshake message framed into records of at most 2^14 bytes.
fn framed(msg: &[u8]) -> Vec<u8> {
    msg.chunks(MAX_PLAINTEXT)
        .flat_map(|c| record(HANDSHAKE, c))
        .collect()
}

proptest! {
    #![proptest_config(prop_config(64, REGRESSIONS))]

    /// A sender `left` records before the limit sends exactly `left` data
    /// records; the next write fails with RecordLimitReached, closing with
    /// close_notify in the reserved last slot, which the peer reads as a clean
    /// close after exactly those records.
    #[test]
    fn the_send_limit_is_exact(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        from_client in any::<bool>(),
        left in 0u64..4,
        writes in 0u64..7,
    ) {
        let mut s = Session::established(suite, seeds);
        let start = SEQ_LIMIT - 1 - left;
        let (tx, rx) = match from_client {
            true => {
                s.client.set_sequence_numbers_for_testing_only(1, start);
                s.server.set_sequence_numbers_for_testing_only(start, 1);
                (&mut s.client as &mut dyn Endpoint, &mut s.server as &mut dyn Endpoint)
            }
            false => {
                s.server.set_sequence_numbers_for_testing_only(1, start);
                s.client.set_sequence_numbers_for_testing_only(start, 1);
                (&mut s.server as &mut dyn Endpoint, &mut s.client as &mut dyn Endpoint)
            }
        };
        let mut events = Vec::new();
        for w in 0..writes {
            let data = app_data(10, w as u8);
            let r = tx.write_app_data(&data);
            match w < left {
                true => prop_assert_eq!(r, Ok(10)),
                false => prop_assert_eq!(r, Err(Error::RecordLimitReached)),
            }
            let (evs, err) = feed_all(rx, &take_output(tx), &[]);
            prop_assert_eq!(err, None);
            events.extend(evs);
        }
        tx.send_close_notify();
        let (evs, err) = feed_all(rx, &take_output(tx), &[]);
        prop_assert_eq!(err, None);
        events.extend(evs);
        let mut want: Vec<Ev> = (0..writes.min(left)).map(|w| Ev::Data(app_data(10, w as u8))).collect();
        want.push(Ev::Closed);
        prop_assert_eq!(events, want);
    }

    /// A receiver accepts records up to sequence number 2^24 - 1 and refuses the
    /// one at 2^24 with RecordLimitReached (answered with close_notify).
    #[test]
    fn the_receive_limit_is_exact(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        to_client in any::<bool>(),
        left in 0u64..4,
    ) {
        let mut s = Session::established(suite, seeds);
        let (cw, sw) = s.record_keys(suite);
        let key = if to_client { &sw } else { &cw };
        let start = SEQ_LIMIT - left;
        // Each side has written one protected record (its Finished).
        match to_client {
            true => s.client.set_sequence_numbers_for_testing_only(start, 1),
            false => s.server.set_sequence_numbers_for_testing_only(start, 1),
        }
        let (rx, tx) = s.ends(to_client);
        let mut wire = Vec::new();
        for i in 0..=left {
            wire.extend(key.seal(APP_DATA, start + i, &app_data(5, i as u8)));
        }
        let (events, err) = feed_all(rx, &wire, &[]);
        let want: Vec<Ev> = (0..left).map(|i| Ev::Data(app_data(5, i as u8))).collect();
        prop_assert_eq!(events, want);
        prop_assert_eq!(err, Some(Error::RecordLimitReached));
        let (_, peer) = feed_all(tx, &take_output(rx), &[]);
        prop_assert_eq!(peer, None, "a close_notify is a clean close");
    }

    /// Unprotected records: 2^14 bytes pass, 2^14 + 1 is record_overflow, on the
    /// header alone. Protected records: a header above 2^14 + 2048 is
    /// record_overflow; a record that authenticates but holds more than 2^14
    /// bytes of plaintext is record_overflow too; 2^14 is delivered.
    #[test]
    fn record_sizes_are_exact(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        to_client in any::<bool>(),
        plain_len in prop_oneof![
            (MAX_PLAINTEXT - 3)..=(MAX_PLAINTEXT + 3),
            (MAX_CIPHERTEXT - 24 - 3)..=(MAX_CIPHERTEXT - 24 + 3),
            0usize..=20_000,
        ],
        first_fragment in prop_oneof![
            (MAX_PLAINTEXT - 3)..=(MAX_PLAINTEXT + 3),
            1usize..=20_000,
        ],
    ) {
        // Before the handshake: a big ClientHello whose first record carries
        // `first_fragment` bytes.
        let mut s = Session::new(&params(suite, seeds));
        let hello = take_output(&mut s.client);
        let HandshakeMessage::ClientHello(mut ch) = HandshakeMessage::decode(&hello[5..]).unwrap() else {
            panic!("not a ClientHello")
        };
        let exts = ch.extensions.as_mut().unwrap();
        for i in 0..2u16 {
            exts.push(Extension::Unknown(ExtensionType(0xfa00 + i), vec![0x5a; 12_000]));
        }
        let msg = HandshakeMessage::ClientHello(ch).to_bytes();
        let cut = first_fragment.min(msg.len() - 1);
        let mut wire = record(HANDSHAKE, &msg[..cut]);
        wire[3..5].copy_from_slice(&(cut as u16).to_be_bytes());
        wire.extend(framed(&msg[cut..]));
        let (_, err) = feed_all(&mut s.server, &wire, &[]);
        match cut <= MAX_PLAINTEXT {
            true => {
                prop_assert_eq!(err, None);
                prop_assert!(s.server.wants_write(), "the server answered the hello");
            }
            false => prop_assert_eq!(err, Some(Error::RecordOverflow)),
        }

        // After the handshake: a forged record with `plain_len` bytes.
        let mut s = Session::established(suite, seeds);
        let (cw, sw) = s.record_keys(suite);
        let key = if to_client { &sw } else { &cw };
        let (rx, _) = s.ends(to_client);
        let data = app_data(plain_len, 3);
        let rec = key.seal(APP_DATA, 1, &data);
        let (events, err) = feed_all(rx, &rec, &[]);
        if plain_len <= MAX_PLAINTEXT {
            prop_assert_eq!(err, None);
            let want = match plain_len {
                0 => vec![],
                _ => vec![Ev::Data(data)],
            };
            prop_assert_eq!(events, want);
        } else {
            prop_assert_eq!(err, Some(Error::RecordOverflow));
            prop_assert!(events.is_empty());
            let out = take_output(rx);
            prop_assert_eq!(out.len(), 5 + 2 + 24, "one protected alert");
        }
        // A header alone, one byte over the ciphertext limit.
        let mut s = Session::established(suite, seeds);
        let (rx, _) = s.ends(to_client);
        let mut header = vec![APP_DATA, 3, 3];
        header.extend_from_slice(&((MAX_CIPHERTEXT + 1) as u16).to_be_bytes());
        prop_assert_eq!(feed_all(rx, &header, &[]).1, Some(Error::RecordOverflow));
    }

    /// A client with a handshake size limit of `max` accepts the server's
    /// Certificate of exactly `max` bytes (body) and refuses one byte more with
    /// illegal_parameter (each message of the server's flight in records of its
    /// own). A server with the same limit accepts a ClientHello of either size:
    /// a ClientHello is held only to its wire format's maximum (RFC 5246
    /// §7.4.1.2; the boundary is in `tests/conformance_edges.rs`).
    #[test]
    fn the_handshake_size_limit_is_exact(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        max in prop_oneof![0usize..=4096, 65_500usize..=65_536, Just(rsatls::DEFAULT_MAX_HANDSHAKE_SIZE)],
        delta in -1isize..=1,
    ) {
        let limit = max.clamp(1024, 0xff_ffff);
        let size = (limit as isize + delta) as usize;

        // Server side.
        let p = params(suite, seeds);
        let mut s = Session::new(&p);
        s.server = server(
            server_config("rsa2048")
                .with_suites(&[suite])
                .unwrap()
                .with_max_handshake_size(max),
            seeds.1,
        );
        let hello = take_output(&mut s.client);
        let HandshakeMessage::ClientHello(mut ch) = HandshakeMessage::decode(&hello[5..]).unwrap() else {
            panic!("not a ClientHello")
        };
        let base = HandshakeMessage::ClientHello(ch.clone()).to_bytes().len() - 4;
        let mut pad = size - base;
        let exts = ch.extensions.as_mut().unwrap();
        let mut i = 0;
        while pad > 0 {
            let body = (pad - 4).min(16_000);
            exts.push(Extension::Unknown(ExtensionType(0xfa00 + i), vec![0; body]));
            pad -= body + 4;
            i += 1;
        }
        let msg = HandshakeMessage::ClientHello(ch).to_bytes();
        prop_assert_eq!(msg.len() - 4, size);
        let (_, err) = feed_all(&mut s.server, &framed(&msg), &[]);
        prop_assert_eq!(err, None);
        prop_assert!(s.server.wants_write());

        client_side(suite, seeds, max, size, false)?;
    }

    /// The handshake size limit bounds each message, however the messages are
    /// packed into records: the server's flight in one record (as rsatls's own
    /// server sends it) is held to the same boundary as one message per record.
    #[test]
    fn the_handshake_size_limit_is_per_message_however_packed(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        max in prop_oneof![0usize..=4096, 65_500usize..=65_536],
        delta in -1isize..=1,
    ) {
        let size = (max.clamp(1024, 0xff_ffff) as isize + delta) as usize;
        client_side(suite, seeds, max, size, true)?;
    }
}

/// The client side of the handshake size limit: the server's Certificate padded
/// to `size` bytes with a junk certificate after the real leaf (the client reads
/// only the leaf), the flight packed into as few records as possible
/// (`coalesced`, as rsatls's own server sends it) or one message per record.
fn client_side(
    suite: &'static Suite,
    seeds: (u64, u64),
    max: usize,
    size: usize,
    coalesced: bool,
) -> Result<(), TestCaseError> {
    let limit = max.clamp(1024, 0xff_ffff);
    let p = params(suite, seeds);
    let mut s = Session::new(&p);
    s.client = client(
        client_config("rsa2048")
            .with_suites(&[suite])
            .unwrap()
            .with_max_handshake_size(max),
        seeds.0,
    );
    let hello = take_output(&mut s.client);
    feed_all(&mut s.server, &hello, &[]);
    let flight = take_output(&mut s.server);
    let payload: Vec<u8> = split_records(&flight)
        .iter()
        .flat_map(|r| r[5..].to_vec())
        .collect();
    let mut msgs = split_handshake_messages(&payload);
    let chain = vec![leaf("rsa2048")];
    let base = HandshakeMessage::Certificate(chain.clone())
        .to_bytes()
        .len()
        - 4;
    let junk = vec![0x30; size - base - 3];
    let cert = HandshakeMessage::Certificate(vec![chain[0].clone(), junk]).to_bytes();
    prop_assert_eq!(cert[0], HandshakeType::CERTIFICATE.0);
    prop_assert_eq!(cert.len() - 4, size);
    msgs[1] = cert;
    // The limit is per message: packing the flight into as few records as
    // possible (as rsatls's own server does) or one message per record
    // makes no difference.
    let wire = match coalesced {
        true => framed(&msgs.concat()),
        false => msgs.iter().flat_map(|m| framed(m)).collect(),
    };
    let (_, err) = feed_all(&mut s.client, &wire, &[]);
    match size <= limit {
        true => {
            prop_assert_eq!(err, None);
            let out = take_output(&mut s.client);
            prop_assert_eq!(
                split_records(&out).len(),
                3,
                "ClientKeyExchange, ChangeCipherSpec, Finished"
            );
        }
        false => {
            prop_assert_eq!(err, Some(illegal_size()));
            prop_assert_eq!(take_output(&mut s.client), vec![21, 3, 3, 0, 2, 2, 47]);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Runs of records that carry nothing.

/// A record that carries no data.
#[derive(Clone, Copy, Debug)]
enum Item {
    /// An empty application_data record.
    Empty,
    /// A warning alert other than close_notify.
    Warning(u8),
    /// A non-empty application_data record.
    Data,
    /// A HelloRequest to a client, or a renegotiating ClientHello to a server:
    /// both refused with a no_renegotiation warning.
    Renegotiation,
}

fn item(renegotiation: bool) -> impl Strategy<Value = Item> {
    let w = u32::from(renegotiation);
    prop_oneof![
        4 => Just(Item::Empty),
        4 => (1u8..=255).prop_map(Item::Warning),
        1 => Just(Item::Data),
        4 * w => Just(Item::Renegotiation),
    ]
}

/// Feeds `items` as forged records and checks that the connection fails exactly
/// when a run of more than MAX_EMPTY_RUN items without data ends.
fn run_items(
    suite: &'static Suite,
    seeds: (u64, u64),
    to_client: bool,
    items: &[Item],
) -> Result<(), TestCaseError> {
    let mut s = Session::established(suite, seeds);
    let (cw, sw) = s.record_keys(suite);
    let key = if to_client { &sw } else { &cw };
    let hello = s.flights[0][5..].to_vec();
    let (rx, _) = s.ends(to_client);
    let mut run = 0;
    for (i, it) in items.iter().enumerate() {
        let (typ, payload) = match *it {
            Item::Empty => (APP_DATA, vec![]),
            Item::Warning(d) => (ALERT, vec![1, d]),
            Item::Data => (APP_DATA, vec![i as u8]),
            Item::Renegotiation if to_client => (HANDSHAKE, vec![0, 0, 0, 0]),
            Item::Renegotiation => (HANDSHAKE, hello.clone()),
        };
        // Sequence number 0 was the Finished.
        let (events, err) = feed_all(rx, &key.seal(typ, i as u64 + 1, &payload), &[]);
        run = match it {
            Item::Data => 0,
            _ => run + 1,
        };
        if run > MAX_EMPTY_RUN {
            prop_assert_eq!(
                err,
                Some(Error::TooManyEmptyRecords),
                "item {} of {:?}",
                i,
                items
            );
            prop_assert_eq!(
                Error::TooManyEmptyRecords.alert(),
                Some(AlertDescription::UNEXPECTED_MESSAGE)
            );
            return Ok(());
        }
        prop_assert_eq!(err, None, "item {} of {:?}", i, items);
        match it {
            Item::Data => prop_assert_eq!(events, vec![Ev::Data(vec![i as u8])]),
            _ => prop_assert!(events.is_empty()),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(prop_config(64, REGRESSIONS))]

    /// MAX_EMPTY_RUN empty records and warnings in a row are tolerated, one more
    /// is refused (unexpected_message); any data record resets the count. Before
    /// the handshake, the same holds for warnings sent to a server.
    #[test]
    fn the_empty_record_run_is_exact(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        to_client in any::<bool>(),
        items in prop::collection::vec(item(false), 0..80),
        early in 0usize..=40,
    ) {
        run_items(suite, seeds, to_client, &items)?;

        let mut s = Session::new(&params(suite, seeds));
        take_output(&mut s.client);
        for i in 1..=early {
            let (_, err) = feed_all(&mut s.server, &record(ALERT, &[1, 90]), &[]);
            match i as u32 > MAX_EMPTY_RUN {
                true => {
                    prop_assert_eq!(err, Some(Error::TooManyEmptyRecords));
                    break;
                }
                false => prop_assert_eq!(err, None),
            }
        }
    }

    /// Renegotiation attempts (a HelloRequest to a client, a ClientHello to a
    /// server) are refused with a warning and, as the engine documents, count
    /// towards the same run: a peer cannot make us answer an endless stream of
    /// them, whether they come one per record or not.
    #[test]
    fn renegotiation_attempts_count_towards_the_empty_record_run(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        to_client in any::<bool>(),
        items in prop::collection::vec(item(true), 30..80),
    ) {
        run_items(suite, seeds, to_client, &items)?;
    }
}
