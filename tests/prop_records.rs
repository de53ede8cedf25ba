//! Properties 9 and 10: protected application-data records cannot be altered,
//! replayed, reordered or dropped without bad_record_mac (and header changes get
//! the header's own alert); and every fatal error is sticky: a failed
//! connection queues exactly one alert, then accepts no input, delivers no data
//! and writes nothing more.
//!
//! About 10 ms per case (one RSA-2048 handshake). A long campaign:
//!
//! ```sh
//! PROPTEST_CASES=10000 cargo test --release --test prop_records
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_records.txt`.

mod common;

use common::prop_support::*;
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use rsatls::msgs::enums::AlertDescription;
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::{CertificateError, Endpoint, Error, SEQ_LIMIT};

const REGRESSIONS: &str = "proptest-regressions/prop_records.txt";

fn suite() -> impl Strategy<Value = &'static Suite> {
    prop::sample::select(vec![
        &TLS_RSA_WITH_AES_128_GCM_SHA256 as &Suite,
        &TLS_RSA_WITH_AES_256_GCM_SHA384,
    ])
}

/// After `err`, `conn` has nothing left to write, returns `err` from every call,
/// and delivers nothing from `input` (honest records from its peer and others).
fn assert_sticky(conn: &mut dyn Endpoint, err: &Error, input: &[u8]) -> Result<(), TestCaseError> {
    let mut buf = [0u8; 64];
    prop_assert_eq!(conn.write_tls(&mut buf), 0);
    prop_assert!(!conn.wants_write());
    for chunk in input.chunks(700) {
        prop_assert_eq!(conn.read_tls(chunk), Err(err.clone()));
        prop_assert_eq!(conn.poll_event().map(|_| ()), Err(err.clone()));
    }
    prop_assert_eq!(conn.write_app_data(b"more"), Err(err.clone()));
    prop_assert_eq!(conn.write_app_data(b""), Err(err.clone()));
    conn.send_close_notify();
    prop_assert_eq!(conn.handle_eof(), Err(err.clone()));
    prop_assert_eq!(conn.poll_event().map(|_| ()), Err(err.clone()));
    prop_assert!(!conn.wants_write(), "output after a fatal error");
    Ok(())
}

/// The output of a failing call: exactly one alert record, or nothing. An
/// unprotected alert is checked byte for byte here; a protected one by the peer.
fn assert_one_alert(out: &[u8], alert: Option<AlertDescription>) -> Result<(), TestCaseError> {
    let recs = split_records(out);
    match alert {
        None => prop_assert!(out.is_empty(), "no alert expected, got {:?}", out),
        Some(desc) => {
            prop_assert_eq!(recs.len(), 1, "{} records instead of one alert", recs.len());
            prop_assert_eq!(recs[0][0], ALERT);
            let level = match desc {
                AlertDescription::CLOSE_NOTIFY => 1,
                _ => 2,
            };
            match recs[0].len() {
                7 => prop_assert_eq!(&recs[0][..], &[ALERT, 3, 3, 0, 2, level, desc.0][..]),
                len => prop_assert_eq!(len, 5 + 2 + 24, "neither a plain nor a protected alert"),
            }
        }
    }
    Ok(())
}

/// RFC 5246 §7.2.2: the alert each record-layer error must send, written here
/// rather than taken from the engine's own mapping.
fn rfc_alert(e: &Error) -> Option<AlertDescription> {
    match e {
        Error::BadRecordMac => Some(AlertDescription::BAD_RECORD_MAC),
        Error::RecordOverflow => Some(AlertDescription::RECORD_OVERFLOW),
        Error::UnexpectedMessage { .. } => Some(AlertDescription::UNEXPECTED_MESSAGE),
        Error::ProtocolVersion => Some(AlertDescription::PROTOCOL_VERSION),
        Error::UnexpectedEof => None,
        other => panic!("no expectation for {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Property 9.

/// How a record in a stream of application-data records is changed.
#[derive(Clone, Debug)]
enum Tamper {
    /// A bit of the explicit nonce.
    Nonce(Index, u8),
    /// A bit of the ciphertext.
    Ciphertext(Index, u8),
    /// A bit of the tag.
    Tag(Index, u8),
    /// An earlier record (or this one) again, right after this one.
    Replay(Index),
    /// Swapped with a later record.
    Reorder(Index),
    /// Left out (a later record follows).
    Drop,
    /// Another content type.
    Type(u8),
    /// Another record version.
    Version(u16),
    /// Another length.
    Length(u16),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let bit = || (any::<Index>(), 0u8..8);
    prop_oneof![
        bit().prop_map(|(i, b)| Tamper::Nonce(i, b)),
        bit().prop_map(|(i, b)| Tamper::Ciphertext(i, b)),
        bit().prop_map(|(i, b)| Tamper::Tag(i, b)),
        any::<Index>().prop_map(Tamper::Replay),
        any::<Index>().prop_map(Tamper::Reorder),
        Just(Tamper::Drop),
        any::<u8>()
            .prop_filter("the real type", |t| *t != APP_DATA)
            .prop_map(Tamper::Type),
        any::<u16>()
            .prop_filter("the real version", |v| *v != 0x0303)
            .prop_map(Tamper::Version),
        prop_oneof![any::<u16>(), 0u16..40, 18_400u16..18_440].prop_map(Tamper::Length),
    ]
}

/// What the receiver must report.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Error(Error),
    /// Still waiting for the rest of a record: a truncation at EOF.
    Waiting,
}

proptest! {
    #![proptest_config(prop_config(256, REGRESSIONS))]

    /// Property 9: any change to a protected record's explicit nonce, ciphertext
    /// or tag, any replay, reordering or drop, is bad_record_mac; a changed type
    /// is unexpected_message (or bad_record_mac for another known type, which the
    /// AEAD covers), a changed version protocol_version, a changed length
    /// record_overflow or bad_record_mac. Exactly the records before the
    /// tampered one are delivered, the alert reaches the peer, and the
    /// connection stays failed.
    #[test]
    fn protected_records_cannot_be_altered_replayed_or_reordered(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        to_server in any::<bool>(),
        lens in prop::collection::vec(1usize..3000, 2..6),
        target in any::<Index>(),
        how in tamper(),
    ) {
        let mut s = Session::established(suite, seeds);
        let (rx, tx) = s.ends(!to_server);
        let mut recs = Vec::new();
        let msgs: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &l)| app_data(l, i as u8)).collect();
        for m in &msgs {
            prop_assert_eq!(tx.write_app_data(m), Ok(m.len()));
            recs.push(take_output(tx));
        }
        let n = recs.len();
        let i = match how {
            Tamper::Reorder(_) | Tamper::Drop => target.index(n - 1),
            _ => target.index(n),
        };
        let mut stream = recs.clone();
        let plain = recs[i].len() - 5 - 24;
        let delivered;
        let expect = match how {
            Tamper::Nonce(ref at, bit) => {
                stream[i][5 + at.index(8)] ^= 1 << bit;
                delivered = i;
                Expect::Error(Error::BadRecordMac)
            }
            Tamper::Ciphertext(ref at, bit) => {
                stream[i][13 + at.index(plain)] ^= 1 << bit;
                delivered = i;
                Expect::Error(Error::BadRecordMac)
            }
            Tamper::Tag(ref at, bit) => {
                stream[i][13 + plain + at.index(16)] ^= 1 << bit;
                delivered = i;
                Expect::Error(Error::BadRecordMac)
            }
            Tamper::Replay(ref j) => {
                stream.insert(i + 1, recs[j.index(i + 1)].clone());
                delivered = i + 1;
                Expect::Error(Error::BadRecordMac)
            }
            Tamper::Reorder(ref j) => {
                stream.swap(i, i + 1 + j.index(n - i - 1));
                delivered = i;
                Expect::Error(Error::BadRecordMac)
            }
            Tamper::Drop => {
                stream.remove(i);
                delivered = i;
                Expect::Error(Error::BadRecordMac)
            }
            Tamper::Type(t) => {
                stream[i][0] = t;
                delivered = i;
                match t {
                    20..=22 => Expect::Error(Error::BadRecordMac),
                    _ => Expect::Error(Error::UnexpectedMessage {
                        expected: "a known record type",
                        got: "unknown record type",
                    }),
                }
            }
            Tamper::Version(v) => {
                stream[i][1..3].copy_from_slice(&v.to_be_bytes());
                delivered = i;
                Expect::Error(Error::ProtocolVersion)
            }
            Tamper::Length(len) => {
                let old = recs[i].len() - 5;
                let new = usize::from(len);
                prop_assume!(new != old);
                stream[i][3..5].copy_from_slice(&len.to_be_bytes());
                let available: usize = old + recs[i + 1..].iter().map(Vec::len).sum::<usize>();
                delivered = i;
                if new > 16_384 + 2048 {
                    Expect::Error(Error::RecordOverflow)
                } else if new <= available {
                    Expect::Error(Error::BadRecordMac)
                } else {
                    Expect::Waiting
                }
            }
        };
        let wire = stream.concat();
        let (events, err) = feed_all(rx, &wire, &[]);
        let want: Vec<Ev> = msgs[..delivered].iter().cloned().map(Ev::Data).collect();
        prop_assert_eq!(&events, &want);
        let err = match expect {
            Expect::Error(e) => {
                prop_assert_eq!(err.as_ref(), Some(&e));
                e
            }
            Expect::Waiting => {
                prop_assert_eq!(&err, &None);
                prop_assert_eq!(rx.handle_eof(), Err(Error::UnexpectedEof));
                Error::UnexpectedEof
            }
        };
        let out = take_output(rx);
        assert_one_alert(&out, rfc_alert(&err))?;
        // The alert reaches the peer intact.
        if let Some(alert) = rfc_alert(&err) {
            let (_, peer_err) = feed_all(tx, &out, &[]);
            prop_assert_eq!(peer_err, Some(Error::AlertReceived(alert)));
        }
        assert_sticky(rx, &err, &recs.concat())?;
    }
}

// ---------------------------------------------------------------------------
// Property 10.

/// A way to make one side fail.
#[derive(Clone, Debug)]
enum Cause {
    /// An application_data record before the handshake.
    EarlyData { to_client: bool },
    /// A record of an unassigned content type.
    UnknownType { to_client: bool, typ: u8 },
    /// A ClientHello with an empty body.
    Undecodable,
    /// A fatal alert from the peer.
    FatalAlert { to_client: bool, desc: u8 },
    /// A server key the client does not trust.
    Untrusted,
    /// A flipped bit in a protected record.
    BadMac { client: bool, bit: u8 },
    /// A record longer than 2^14 + 2048.
    Overflow { client: bool },
    /// EOF without close_notify.
    Truncated { client: bool },
    /// The 2^24 record limit.
    RecordLimit { client: bool },
}

fn cause() -> impl Strategy<Value = Cause> {
    prop_oneof![
        any::<bool>().prop_map(|to_client| Cause::EarlyData { to_client }),
        (any::<bool>(), 24u8..=255)
            .prop_map(|(to_client, typ)| Cause::UnknownType { to_client, typ }),
        Just(Cause::Undecodable),
        (any::<bool>(), 1u8..=255)
            .prop_map(|(to_client, desc)| Cause::FatalAlert { to_client, desc }),
        Just(Cause::Untrusted),
        (any::<bool>(), 0u8..8).prop_map(|(client, bit)| Cause::BadMac { client, bit }),
        any::<bool>().prop_map(|client| Cause::Overflow { client }),
        any::<bool>().prop_map(|client| Cause::Truncated { client }),
        any::<bool>().prop_map(|client| Cause::RecordLimit { client }),
    ]
}

/// Makes one side fail. Returns the session, which side failed, the error and
/// everything the failed side wrote from the failing call on.
fn make_fail(
    cause: &Cause,
    suite: &'static Suite,
    seeds: (u64, u64),
) -> (Session, bool, Error, Vec<u8>) {
    let fresh = |trusted: &'static str| {
        let p = Params {
            client_suites: vec![suite],
            server_suites: vec![suite],
            trusted: vec![trusted],
            ..Params::new("rsa2048", seeds.0, seeds.1)
        };
        Session::new(&p)
    };
    let hit = |s: &mut Session, client: bool, input: &[u8]| {
        let (rx, _) = s.ends(client);
        take_output(rx);
        let (events, err) = feed_all(rx, input, &[]);
        assert!(events.is_empty(), "{events:?}");
        (err.expect("the input makes it fail"), take_output(rx))
    };
    match *cause {
        Cause::EarlyData { to_client } => {
            let mut s = fresh("rsa2048");
            let (e, out) = hit(&mut s, to_client, &record(APP_DATA, b"x"));
            (s, to_client, e, out)
        }
        Cause::UnknownType { to_client, typ } => {
            let mut s = fresh("rsa2048");
            let (e, out) = hit(&mut s, to_client, &record(typ, b"x"));
            (s, to_client, e, out)
        }
        Cause::Undecodable => {
            let mut s = fresh("rsa2048");
            let (e, out) = hit(&mut s, false, &record(HANDSHAKE, &[1, 0, 0, 0]));
            (s, false, e, out)
        }
        Cause::FatalAlert { to_client, desc } => {
            let mut s = fresh("rsa2048");
            let (e, out) = hit(&mut s, to_client, &record(ALERT, &[2, desc]));
            (s, to_client, e, out)
        }
        Cause::Untrusted => {
            let mut s = fresh("other2048");
            let hello = take_output(&mut s.client);
            feed_all(&mut s.server, &hello, &[]);
            let flight = take_output(&mut s.server);
            let (e, out) = hit(&mut s, true, &flight);
            (s, true, e, out)
        }
        Cause::BadMac { client, bit } => {
            let mut s = Session::established(suite, seeds);
            let (_, tx) = s.ends(client);
            tx.write_app_data(b"hello").expect("established");
            let mut rec = take_output(tx);
            let at = rec.len() - 1;
            rec[at] ^= 1 << bit;
            let (e, out) = hit(&mut s, client, &rec);
            (s, client, e, out)
        }
        Cause::Overflow { client } => {
            let mut s = Session::established(suite, seeds);
            let mut rec = vec![APP_DATA, 3, 3];
            rec.extend_from_slice(&(16_384u16 + 2048 + 1).to_be_bytes());
            let (e, out) = hit(&mut s, client, &rec);
            (s, client, e, out)
        }
        Cause::Truncated { client } => {
            let mut s = Session::established(suite, seeds);
            let (rx, _) = s.ends(client);
            let e = rx.handle_eof().expect_err("a truncation");
            let out = take_output(rx);
            (s, client, e, out)
        }
        Cause::RecordLimit { client } => {
            let mut s = Session::established(suite, seeds);
            match client {
                true => s
                    .client
                    .set_sequence_numbers_for_testing_only(1, SEQ_LIMIT - 1),
                false => s
                    .server
                    .set_sequence_numbers_for_testing_only(1, SEQ_LIMIT - 1),
            }
            let (rx, _) = s.ends(client);
            let e = rx
                .write_app_data(b"one too many")
                .expect_err("the record limit");
            let out = take_output(rx);
            (s, client, e, out)
        }
    }
}

proptest! {
    #![proptest_config(prop_config(192, REGRESSIONS))]

    /// Property 10: whatever the fatal error, the failed side has queued at most
    /// one alert (exactly the error's), and afterwards every call returns the
    /// same error, no input is accepted (not even its peer's honest records), no
    /// data is delivered and nothing more is written.
    #[test]
    fn fatal_errors_are_sticky(
        cause in cause(),
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        junk in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let (mut s, client, err, out) = make_fail(&cause, suite, seeds);
        let expected_alert = match &cause {
            Cause::EarlyData { .. } | Cause::UnknownType { .. } => Some(AlertDescription::UNEXPECTED_MESSAGE),
            Cause::Undecodable => Some(AlertDescription::DECODE_ERROR),
            Cause::FatalAlert { .. } | Cause::Truncated { .. } => None,
            Cause::Untrusted => Some(AlertDescription::BAD_CERTIFICATE),
            Cause::BadMac { .. } => Some(AlertDescription::BAD_RECORD_MAC),
            Cause::Overflow { .. } => Some(AlertDescription::RECORD_OVERFLOW),
            Cause::RecordLimit { .. } => Some(AlertDescription::CLOSE_NOTIFY),
        };
        prop_assert_eq!(err.alert(), expected_alert, "{:?}", err);
        if matches!(cause, Cause::Untrusted) {
            prop_assert_eq!(&err, &Error::BadCertificate(CertificateError::NotTrusted));
        }
        assert_one_alert(&out, expected_alert)?;

        // Honest records from the peer, where it can still write, then junk.
        let (rx, tx) = s.ends(client);
        let mut input = Vec::new();
        if tx.is_established() && tx.write_app_data(b"honest data").is_ok() {
            input = take_output(tx);
        }
        input.extend_from_slice(&junk);
        assert_sticky(rx, &err, &input)?;
    }
}

proptest! {
    #![proptest_config(prop_config(64, REGRESSIONS))]

    /// Property 10, for the clean end: after the peer's close_notify, whatever
    /// else arrives (protected records of any size, junk) is taken whole and
    /// ignored (RFC 5246 §7.2.1): no event, no error, no output; EOF is then a
    /// clean close, and the side that was closed can still write (half-close).
    #[test]
    fn input_after_close_notify_is_ignored(
        suite in suite(),
        seeds in any::<(u64, u64)>(),
        to_client in any::<bool>(),
        lens in prop::collection::vec(1usize..=16_384, 0..6),
        junk in prop::collection::vec(any::<u8>(), 0..3000),
    ) {
        let mut s = Session::established(suite, seeds);
        let (cw, sw) = s.record_keys(suite);
        let key = if to_client { &sw } else { &cw };
        let (rx, tx) = s.ends(to_client);
        tx.send_close_notify();
        let (events, err) = feed_all(rx, &take_output(tx), &[]);
        prop_assert_eq!(err, None);
        prop_assert_eq!(events, vec![Ev::Closed]);
        // What a peer could not honestly send any more: protected records
        // after its close_notify (sequence numbers 0 and 1 were its Finished and
        // close_notify), then junk.
        let mut after: Vec<u8> = lens
            .iter()
            .enumerate()
            .flat_map(|(i, &len)| key.seal(APP_DATA, 2 + i as u64, &app_data(len, i as u8)))
            .collect();
        after.extend_from_slice(&junk);
        prop_assert_eq!(rx.read_tls(&after), Ok(after.len()));
        prop_assert_eq!(rx.poll_event().map(|e| e.is_none()), Ok(true));
        prop_assert!(!rx.wants_write());
        prop_assert_eq!(rx.handle_eof(), Ok(()));
        prop_assert_eq!(rx.write_app_data(b"late"), Ok(4));
        let (events, err) = feed_all(tx, &take_output(rx), &[]);
        prop_assert_eq!(err, None);
        prop_assert_eq!(events, vec![Ev::Data(b"late".to_vec())]);
    }
}
