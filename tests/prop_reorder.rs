//! Property 8: dropping, duplicating, reordering or injecting handshake messages
//! (including an early ChangeCipherSpec, the CCS-injection class) never
//! completes the handshake: the receiver fails with unexpected_message at the
//! first message its state does not allow, or still waits for a missing one.
//!
//! The edits are made at the message level: a flight is cut into its messages
//! (each later sent in a record of its own) and, like a consistent but hostile
//! peer, everything after the edited flight's first ChangeCipherSpec is
//! protected with the sender's real keys (derived in the test from the key log),
//! so what is tested is the state machine, not the record layer. A small model
//! of each side's message sequence predicts the outcome exactly:
//!
//! - server: ClientHello, ClientKeyExchange, ChangeCipherSpec, Finished;
//! - client: ServerHello, Certificate, ServerHelloDone, ChangeCipherSpec, Finished;
//! - a HelloRequest is ignored by a client (RFC 5246 §7.4.1.1), a ClientHello
//!   after the handshake is refused with a no_renegotiation warning (RFC 5746
//!   §4.2), application data after the handshake is delivered;
//! - anything else is unexpected_message; once a side has accepted a
//!   ChangeCipherSpec an unprotected record is bad_record_mac.
//!
//! About 10 ms per case. A long campaign:
//!
//! ```sh
//! PROPTEST_CASES=20000 cargo test --release --test prop_reorder
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_reorder.txt`.

mod common;

use std::sync::Arc;

use common::prop_support::*;
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use rsatls::Error;
use rsatls::msgs::enums::AlertDescription;
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

const REGRESSIONS: &str = "proptest-regressions/prop_reorder.txt";

/// One message of a flight, as it will be sent in a record of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Unit {
    /// A whole handshake message, header included.
    Hs(Vec<u8>),
    Ccs,
    Data(Vec<u8>),
}

/// Messages a hostile peer can inject.
#[derive(Clone, Debug)]
enum Inject {
    HelloRequest,
    /// A copy of the session's own ClientHello.
    ClientHello,
    ServerHello,
    Certificate,
    ServerHelloDone,
    /// A random ciphertext (never sent to a server, which expects one).
    ClientKeyExchange(Vec<u8>),
    /// A type rsatls never accepts: NewSessionTicket, ServerKeyExchange,
    /// CertificateVerify or an unassigned one.
    Other(u8, Vec<u8>),
    ChangeCipherSpec,
    ApplicationData(Vec<u8>),
}

#[derive(Clone, Debug)]
enum Op {
    Drop(Index),
    Duplicate(Index, Index),
    Move(Index, Index),
    Inject(Inject, Index),
}

fn inject() -> impl Strategy<Value = Inject> {
    let body = prop::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        1 => Just(Inject::HelloRequest),
        1 => Just(Inject::ClientHello),
        1 => Just(Inject::ServerHello),
        1 => Just(Inject::Certificate),
        1 => Just(Inject::ServerHelloDone),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Inject::ClientKeyExchange),
        // Not 13: a CertificateRequest body is parsed (a malformed one is a
        // decode_error), and its place in the flow is tested in tests/explore.rs.
        1 => (prop::sample::select(vec![4u8, 12, 15, 3, 99, 255]), body)
            .prop_map(|(t, b)| Inject::Other(t, b)),
        3 => Just(Inject::ChangeCipherSpec),
        1 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Inject::ApplicationData),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => any::<Index>().prop_map(Op::Drop),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Op::Duplicate(i, j)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Op::Move(i, j)),
        2 => (inject(), any::<Index>()).prop_map(|(m, j)| Op::Inject(m, j)),
    ]
}

fn hs(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// A syntactically valid ServerHello, different from any real one.
fn fake_server_hello() -> Vec<u8> {
    use rsatls::msgs::enums::{CipherSuite, Compression, ProtocolVersion};
    use rsatls::msgs::handshake::{HandshakeMessage, ServerHello};
    HandshakeMessage::ServerHello(ServerHello {
        server_version: ProtocolVersion::TLSV1_2,
        random: [7; 32],
        session_id: Vec::new(),
        cipher_suite: CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256,
        compression_method: Compression::NULL,
        extensions: None,
    })
    .to_bytes()
}

/// The unit an injection stands for, as sent to a server or to a client.
fn injected(m: &Inject, to_server: bool, client_hello: &[u8]) -> Unit {
    match m {
        Inject::HelloRequest => Unit::Hs(hs(0, &[])),
        Inject::ClientHello => Unit::Hs(client_hello.to_vec()),
        // The client expects these three with the server's real contents.
        Inject::ServerHello | Inject::Certificate | Inject::ServerHelloDone if !to_server => {
            Unit::Hs(hs(99, b"not expected by a client"))
        }
        Inject::ServerHello => Unit::Hs(fake_server_hello()),
        Inject::Certificate => {
            use rsatls::msgs::handshake::HandshakeMessage;
            Unit::Hs(HandshakeMessage::Certificate(vec![leaf("rsa2048")]).to_bytes())
        }
        Inject::ServerHelloDone => Unit::Hs(hs(14, &[])),
        // The server expects a ClientKeyExchange, with any contents.
        Inject::ClientKeyExchange(_) if to_server => Unit::Hs(hs(15, b"a CertificateVerify")),
        Inject::ClientKeyExchange(c) => {
            let mut body = (c.len() as u16).to_be_bytes().to_vec();
            body.extend_from_slice(c);
            Unit::Hs(hs(16, &body))
        }
        Inject::Other(t, b) => Unit::Hs(hs(*t, b)),
        Inject::ChangeCipherSpec => Unit::Ccs,
        Inject::ApplicationData(d) => Unit::Data(d.clone()),
    }
}

fn apply(ops: &[Op], mut units: Vec<Unit>, to_server: bool, client_hello: &[u8]) -> Vec<Unit> {
    for op in ops {
        let n = units.len();
        match op {
            Op::Inject(m, j) => units.insert(j.index(n + 1), injected(m, to_server, client_hello)),
            _ if n == 0 => {}
            Op::Drop(i) => {
                units.remove(i.index(n));
            }
            Op::Duplicate(i, j) => {
                let u = units[i.index(n)].clone();
                units.insert(j.index(n + 1), u);
            }
            Op::Move(i, j) => {
                let u = units.remove(i.index(n));
                units.insert(j.index(n), u);
            }
        }
    }
    units
}

/// Cuts a flight into units, opening protected records with `key`.
fn units_of(flight: &[u8], key: Option<&TestRecordKey>) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut seq = None;
    for r in split_records(flight) {
        let (typ, payload) = match seq {
            None => (r[0], r[5..].to_vec()),
            Some(s) => {
                seq = Some(s + 1);
                key.expect("keys for a protected record")
                    .open(&r, s)
                    .expect("an honest record opens")
            }
        };
        match typ {
            HANDSHAKE => out.extend(split_handshake_messages(&payload).into_iter().map(Unit::Hs)),
            CCS => {
                out.push(Unit::Ccs);
                seq = Some(0);
            }
            APP_DATA => out.push(Unit::Data(payload)),
            // A sender's alert after its flight: not part of the flight.
            ALERT => break,
            other => panic!("unexpected record type {other} in a handshake flight"),
        }
    }
    out
}

/// A unit as the model sees it arrive: with its protection.
#[derive(Clone, Debug)]
struct Rec {
    unit: Unit,
    sealed: Option<u64>,
}

/// Frames units as a consistent peer would: plaintext up to and including the
/// first ChangeCipherSpec, then protected with consecutive sequence numbers.
fn frame(units: &[Unit], can_seal: bool) -> Vec<Rec> {
    let mut seq = None;
    units
        .iter()
        .map(|u| {
            let sealed = match can_seal {
                true => seq,
                false => None,
            };
            if let Some(s) = seq.as_mut() {
                *s += 1;
            }
            if *u == Unit::Ccs && seq.is_none() {
                seq = Some(0);
            }
            Rec {
                unit: u.clone(),
                sealed,
            }
        })
        .collect()
}

fn to_wire(recs: &[Rec], key: Option<&TestRecordKey>) -> Vec<u8> {
    let mut out = Vec::new();
    for r in recs {
        let (typ, payload) = match &r.unit {
            Unit::Hs(m) => (HANDSHAKE, m.clone()),
            Unit::Ccs => (CCS, vec![1]),
            Unit::Data(d) => (APP_DATA, d.clone()),
        };
        match r.sealed {
            None => out.extend(record(typ, &payload)),
            Some(seq) => out.extend(key.expect("keys").seal(typ, seq, &payload)),
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    UnexpectedMessage,
    BadRecordMac,
}

/// What the model predicts for the side receiving the edited flight.
#[derive(Debug, Default)]
struct Prediction {
    fail: Option<Fail>,
    /// How far through its expected sequence the receiver got.
    reached: usize,
    completed: bool,
    renegotiations: usize,
    data: Vec<Vec<u8>>,
    /// The next protected sequence number, once a ChangeCipherSpec was accepted.
    read_seq: Option<u64>,
}

/// Runs the receiver's expected sequence `expected` over `recs`.
fn predict(client: bool, expected: &[Unit], recs: &[Rec], p: &mut Prediction) {
    for r in recs {
        if p.fail.is_some() {
            return;
        }
        if let Some(s) = p.read_seq.as_mut() {
            if r.sealed != Some(*s) {
                p.fail = Some(Fail::BadRecordMac);
                return;
            }
            *s += 1;
        }
        assert!(
            p.read_seq.is_some() || r.sealed.is_none(),
            "model: protected record before a ChangeCipherSpec was accepted"
        );
        if expected.get(p.reached) == Some(&r.unit) {
            if r.unit == Unit::Ccs {
                p.read_seq = Some(0);
            }
            p.reached += 1;
            p.completed = p.reached == if client { 5 } else { 4 };
            continue;
        }
        match &r.unit {
            Unit::Hs(m) if client && m[0] == 0 => p.renegotiations += usize::from(p.completed),
            Unit::Hs(m) if !client && m[0] == 1 && p.completed => p.renegotiations += 1,
            Unit::Data(d) if p.completed => p.data.push(d.clone()),
            _ => p.fail = Some(Fail::UnexpectedMessage),
        }
    }
}

fn kind(e: &Option<Error>) -> Option<Fail> {
    match e {
        Some(Error::UnexpectedMessage { .. }) => Some(Fail::UnexpectedMessage),
        Some(Error::BadRecordMac) => Some(Fail::BadRecordMac),
        Some(other) => panic!("receiver failed with {other:?}"),
        None => None,
    }
}

proptest! {
    #![proptest_config(prop_config(512, REGRESSIONS))]

    /// Property 8: message-level drops, duplicates, moves and injections in any
    /// flight give exactly the outcome the model predicts, and the handshake
    /// never completes unless the edited flight still carries the expected
    /// messages (with only a client's ignored HelloRequests added).
    #[test]
    fn out_of_order_messages_never_complete_the_handshake(
        suite in prop::sample::select(vec![
            &TLS_RSA_WITH_AES_128_GCM_SHA256 as &Suite,
            &TLS_RSA_WITH_AES_256_GCM_SHA384,
        ]),
        seeds in any::<(u64, u64)>(),
        flight in 0usize..4,
        ops in prop::collection::vec(op(), 1..=3),
    ) {
        let p = Params {
            client_suites: vec![suite],
            server_suites: vec![suite],
            ..Params::new("rsa2048", seeds.0, seeds.1)
        };
        let mut s = Session::new(&p);
        let client_log: Arc<MemoryKeyLog> = s.client_log.clone();
        let keys = |seen: &[Vec<u8>]| {
            let (cr, sr) = hello_randoms(&seen[0], &seen[1]);
            let master = client_log.secret("CLIENT_RANDOM").expect("master secret logged");
            test_record_keys(suite, &unhex(&master), &cr, &sr)
        };
        let to_server = flight % 2 == 0;
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut edited: Vec<Rec> = Vec::new();
        s.run(
            &mut |i, wire| {
                seen.push(wire.clone());
                if i != flight {
                    return;
                }
                let key = (i >= 2).then(|| keys(&seen));
                let sender_key = key.as_ref().map(|(c, s)| if to_server { c } else { s });
                let units = units_of(wire, sender_key);
                let units = apply(&ops, units, to_server, &seen[0][5..]);
                edited = frame(&units, i >= 2);
                *wire = to_wire(&edited, sender_key);
            },
            &[],
            &[],
        );

        // The receiver's expected sequence, from the honest flights as sent.
        let (ck, sk) = match s.flights.len() >= 3 && s.client_log.secret("CLIENT_RANDOM").is_some() {
            true => {
                let (c, k) = keys(&s.flights);
                (Some(c), Some(k))
            }
            false => (None, None),
        };
        let honest = |i: usize, key: Option<&TestRecordKey>| {
            s.flights.get(i).map(|f| units_of(f, key)).unwrap_or_default()
        };
        // What the receiver expects: the flights it gets, honest, in order.
        let (first, continuation): (Vec<Unit>, Vec<Unit>) = match to_server {
            true => (
                honest(0, None).into_iter().take(1).collect(),
                honest(2, ck.as_ref()).into_iter().take(3).collect(),
            ),
            false => (
                honest(1, None).into_iter().take(3).collect(),
                honest(3, sk.as_ref()).into_iter().take(2).collect(),
            ),
        };
        let expected: Vec<Unit> = first.into_iter().chain(continuation.iter().cloned()).collect();

        let mut pred = Prediction::default();
        let client = !to_server;
        let already = match flight { 2 => 1, 3 => 3, _ => 0 };
        pred.reached = already;
        predict(client, &expected, &edited, &mut pred);
        // The honest next flight follows if the edited one triggered it.
        let triggered = match flight {
            0 => pred.reached >= 1,
            1 => pred.reached >= 3,
            _ => false,
        };
        if triggered && pred.fail.is_none() {
            prop_assert_eq!(continuation.len(), if to_server { 3 } else { 2 });
            predict(client, &expected, &frame(&continuation, true), &mut pred);
        }

        let (rx_error, rx_done, rx_events, tx_error, tx_done) = match to_server {
            true => (&s.server_error, s.server_completed(), &s.server_events, &s.client_error, s.client_completed()),
            false => (&s.client_error, s.client_completed(), &s.client_events, &s.server_error, s.server_completed()),
        };
        prop_assert_eq!(kind(rx_error), pred.fail, "receiver outcome; model {:?}", pred);
        prop_assert_eq!(rx_done, pred.completed, "receiver completion; model {:?}", pred);
        let data: Vec<Vec<u8>> = rx_events
            .iter()
            .filter_map(|e| match e { Ev::Data(d) => Some(d.clone()), _ => None })
            .collect();
        prop_assert_eq!(&data, &pred.data);

        // The sender: told of the failure with exactly its alert, or still waiting.
        let sender_completes = match flight {
            0 | 2 => pred.completed,
            1 => pred.reached >= 3,
            _ => true,
        };
        prop_assert_eq!(tx_done, sender_completes, "sender completion; model {:?}", pred);
        match pred.fail {
            Some(f) => {
                let alert = match f {
                    Fail::UnexpectedMessage => AlertDescription::UNEXPECTED_MESSAGE,
                    Fail::BadRecordMac => AlertDescription::BAD_RECORD_MAC,
                };
                prop_assert_eq!(tx_error, &Some(Error::AlertReceived(alert)));
            }
            None => prop_assert_eq!(tx_error, &None),
        }

        // Completed handshakes hold one master secret and carry data, unless the
        // edit added protected records to a direction: then the sequence numbers
        // no longer line up and the next real record there is bad_record_mac.
        if pred.completed && pred.fail.is_none() {
            prop_assert!(s.client_completed() && s.server_completed());
            let (cm, sm) = s.master_secrets();
            prop_assert_eq!(cm, sm);
            let sealed = edited.iter().filter(|r| r.sealed.is_some()).count();
            let in_step = sealed == usize::from(flight >= 2);
            prop_assert!(s.send(true, b"ping", &[], &[]).is_ok());
            if to_server && !in_step {
                prop_assert_eq!(&s.server_error, &Some(Error::BadRecordMac));
            } else {
                prop_assert!(s.send(false, b"pong", &[], &[]).is_ok());
                let (at_client, at_server) = s.received();
                prop_assert!(at_server.ends_with(b"ping"));
                match !to_server && !in_step {
                    true => prop_assert_eq!(&s.client_error, &Some(Error::BadRecordMac)),
                    false => prop_assert!(at_client.ends_with(b"pong")),
                }
            }
        }
    }
}
