//! Exhaustive bounded exploration of the handshake state machines (client,
//! server, and server asking for client certificates) against the declarative
//! table in `rsatls::state_table`.
//!
//! Every sequence of up to [`DEPTH`] records drawn from the whole alphabet
//! (`Message::ALL`: every handshake type, ChangeCipherSpec, application data, and
//! warning, fatal and close_notify alerts) is fed to a fresh engine, the test
//! playing the peer with well-formed content (the honest peer's messages,
//! encrypted once the test has sent its ChangeCipherSpec). After each record the
//! engine's observable outcome — error and alert, state, events, output — must be
//! what the table predicts. A sequence is not extended past a terminal outcome;
//! stickiness after a fatal error is checked once per fatal leaf.
//!
//! A server with the key in process takes the internal step out of the pending
//! state after a ClientKeyExchange at once (`State::settled`). Servers that
//! offload the private-key operation are explored too
//! ([`offloading_servers_hold_every_record_until_the_result_and_then_follow_the_table`]):
//! there, handing back the operation's result (the real one, or a failure) is
//! one more letter of the alphabet.

mod common;
#[path = "chain/pki.rs"]
mod pki;

use common::wire::*;
use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::crypto::CryptoError;
use rsatls::msgs::alert::Alert;
use rsatls::msgs::enums::{
    AlertDescription, AlertLevel, ClientCertificateType, ContentType, HandshakeType,
    SignatureScheme,
};
use rsatls::msgs::handshake::{CertificateRequest, DigitallySigned, HandshakeMessage};
use rsatls::state_table::{Message, Outcome, Side, State, after_private_key_result, outcome};
use rsatls::suites::Suite;
use rsatls::{
    ClientAuthMode, ClientConnection, Endpoint, Error, Event, PrivateKeyOperation, ServerConnection,
};

/// Longest sequence explored.
const DEPTH: usize = 6;

const CLIENT_SEED: u64 = 0xe1;
const SERVER_SEED: u64 = 0xe2;

/// Everything the test needs to play an honest peer: each message's encoding and
/// the peer's write keys.
struct Script {
    messages: Vec<(Message, Vec<u8>)>,
    suite: &'static Suite,
    key: Vec<u8>,
    salt: Vec<u8>,
    /// The write keys and Finished of the other branch of the handshake, taken
    /// once the test has sent `branch_on`. Playing the server: the handshake in
    /// which it sent a CertificateRequest (the client's empty Certificate
    /// changes the EMS session hash, so the master secret, and the
    /// transcript). Playing an authenticated client: the handshake in which it
    /// sent its certificate and CertificateVerify, rather than an empty
    /// Certificate.
    requested: Option<Keys>,
    /// The message that selects `requested`.
    branch_on: Message,
}

/// A peer's write key, salt and Finished message.
struct Keys {
    key: Vec<u8>,
    salt: Vec<u8>,
    finished: Vec<u8>,
}

/// The CertificateRequest the test sends when playing the server.
fn certificate_request() -> Vec<u8> {
    HandshakeMessage::CertificateRequest(CertificateRequest {
        certificate_types: vec![ClientCertificateType::RSA_SIGN],
        signature_schemes: vec![SignatureScheme::RSA_PKCS1_SHA256],
        certificate_authorities: Vec::new(),
    })
    .to_bytes()
}

/// The server's write keys and Finished when it asks the real client (seed
/// [`CLIENT_SEED`]) for a certificate: ServerHello, Certificate,
/// CertificateRequest, ServerHelloDone, then what the client answers.
fn requested_keys(ch: &[u8], sh: &[u8], cert: &[u8], shd: &[u8], suite: &'static Suite) -> Keys {
    let log = std::sync::Arc::new(MemoryKeyLog::default());
    let mut c = client(
        client_config("rsa2048").with_key_log(log.clone()),
        CLIENT_SEED,
    );
    assert_eq!(take_output(&mut c), plain(ContentType::HANDSHAKE, ch));
    let cr = certificate_request();
    let server_flight = [sh, cert, &cr, shd].concat();
    assert_eq!(
        feed(
            &mut c,
            &plain(ContentType::HANDSHAKE, &server_flight),
            usize::MAX
        ),
        Ok(vec![])
    );
    let answer = take_output(&mut c);
    let recs = records(&answer);
    let master = unhex(&log.secret("CLIENT_RANDOM").unwrap());
    let (client_random, server_random) = match (
        HandshakeMessage::decode(ch).unwrap(),
        HandshakeMessage::decode(sh).unwrap(),
    ) {
        (HandshakeMessage::ClientHello(c), HandshakeMessage::ServerHello(s)) => {
            (c.random, s.random)
        }
        _ => panic!(),
    };
    let (mut client_write, _) = directions(suite, &master, &client_random, &server_random);
    let client_fin = client_write.open(&raw_records(&answer)[2]).1;
    let transcript = [ch, &server_flight, &recs[0].1, &client_fin].concat();
    let hash = provider().hash(suite.hash, &transcript);
    let verify_data = prf(suite.hash, &master, b"server finished", hash.as_ref(), 12);
    let kl = suite.aead.key_len();
    let seed = [&server_random[..], &client_random[..]].concat();
    let block = prf(suite.hash, &master, b"key expansion", &seed, 2 * kl + 8);
    Keys {
        key: block[kl..2 * kl].to_vec(),
        salt: block[2 * kl + 4..].to_vec(),
        finished: HandshakeMessage::Finished(verify_data.try_into().unwrap()).to_bytes(),
    }
}

/// The handshake messages of a flight's plaintext records (those before its
/// ChangeCipherSpec).
fn split_messages(flight: &[u8]) -> Vec<Vec<u8>> {
    let stream: Vec<u8> = records(flight)
        .into_iter()
        .take_while(|(h, _)| h.typ == ContentType::HANDSHAKE)
        .flat_map(|(_, f)| f)
        .collect();
    let mut out = Vec::new();
    let mut rest = stream.as_slice();
    while rest.len() >= 4 {
        let len = usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]);
        out.push(rest[..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

/// Runs one honest handshake and returns the scripts for playing either side.
fn scripts() -> (Script, Script) {
    let log = std::sync::Arc::new(MemoryKeyLog::default());
    let mut c = client(
        client_config("rsa2048").with_key_log(log.clone()),
        CLIENT_SEED,
    );
    let mut s = server(server_config("rsa2048"), SERVER_SEED);
    let t = handshake(&mut c, &mut s).unwrap();
    let [ch] = split_messages(&t.flights[0]).try_into().unwrap();
    let [sh, cert, shd] = split_messages(&t.flights[1]).try_into().unwrap();
    let [cke] = split_messages(&t.flights[2]).try_into().unwrap();
    let HandshakeMessage::ClientHello(hello) = HandshakeMessage::decode(&ch).unwrap() else {
        panic!()
    };
    let HandshakeMessage::ServerHello(server_hello) = HandshakeMessage::decode(&sh).unwrap() else {
        panic!()
    };
    let suite = rsatls::suites::find(server_hello.cipher_suite).unwrap();
    let master = unhex(&log.secret("CLIENT_RANDOM").unwrap());
    let kl = suite.aead.key_len();
    let seed = [&server_hello.random[..], &hello.random[..]].concat();
    let block = prf(suite.hash, &master, b"key expansion", &seed, 2 * kl + 8);
    let (mut client_write, mut server_write) =
        directions(suite, &master, &hello.random, &server_hello.random);
    // The Finished messages are the last record of flights 2 and 3.
    let client_fin = client_write.open(&raw_records(&t.flights[2])[2]).1;
    let server_fin = server_write.open(&raw_records(&t.flights[3])[1]).1;

    let common = |fin: Vec<u8>| {
        vec![
            (
                Message::HelloRequest,
                HandshakeMessage::HelloRequest.to_bytes(),
            ),
            (Message::ClientHello, ch.clone()),
            (Message::ServerHello, sh.clone()),
            (Message::Certificate, cert.clone()),
            (
                Message::EmptyCertificate,
                HandshakeMessage::Certificate(Vec::new()).to_bytes(),
            ),
            (
                Message::CertificateVerify,
                HandshakeMessage::CertificateVerify(DigitallySigned {
                    scheme: SignatureScheme::RSA_PSS_RSAE_SHA256,
                    signature: vec![0; 256],
                })
                .to_bytes(),
            ),
            (Message::CertificateRequest, certificate_request()),
            (Message::ServerHelloDone, shd.clone()),
            (Message::ClientKeyExchange, cke.clone()),
            (Message::Finished, fin),
            (
                Message::OtherHandshake,
                HandshakeMessage::Other(HandshakeType::SERVER_KEY_EXCHANGE, vec![0; 8]).to_bytes(),
            ),
        ]
    };
    let playing_client = Script {
        messages: common(client_fin),
        suite,
        key: block[..kl].to_vec(),
        salt: block[2 * kl..2 * kl + 4].to_vec(),
        requested: None,
        branch_on: Message::CertificateRequest,
    };
    let playing_server = Script {
        messages: common(server_fin),
        suite,
        key: block[kl..2 * kl].to_vec(),
        salt: block[2 * kl + 4..].to_vec(),
        requested: Some(requested_keys(&ch, &sh, &cert, &shd, suite)),
        branch_on: Message::CertificateRequest,
    };
    (playing_client, playing_server)
}

/// A server that asks for client certificates, optionally (so both an empty
/// Certificate and a certificate are accepted), trusting the test root.
fn client_auth_server(offload: bool) -> ServerConnection {
    ServerConnection::new_at(
        shared_config(offload, true),
        pki::now(),
        ChaCha20Rng::seed_from_u64(SERVER_SEED),
    )
}

/// The explorations replay tens of thousands of sequences, each on a fresh
/// connection; the configurations (and their loaded keys) are made once. A
/// key load costs milliseconds with the `fast` provider (OpenSSL), which made
/// the offloading exploration take many minutes in CI's fast pass.
fn shared_config(offload: bool, client_auth: bool) -> std::sync::Arc<rsatls::ServerConfig> {
    use std::sync::{Arc, OnceLock};
    static CONFIGS: [OnceLock<Arc<rsatls::ServerConfig>>; 4] = [const { OnceLock::new() }; 4];
    CONFIGS[usize::from(offload) * 2 + usize::from(client_auth)]
        .get_or_init(|| {
            let mut config = server_config("rsa2048");
            if client_auth {
                config = config
                    .with_client_auth(vec![pki::pki().root.clone()], ClientAuthMode::Optional)
                    .unwrap();
            }
            Arc::new(config.with_private_key_offload(offload))
        })
        .clone()
}

/// The script for playing a client to [`client_auth_server`]: the honest
/// client's ClientHello and ClientKeyExchange (from `playing_client`), a
/// certificate for other2048 under the test root (clientAuth,
/// digitalSignature), its CertificateVerify, and the keys and Finished of
/// both branches (empty Certificate: the defaults; certificate: `requested`).
fn client_auth_script(playing_client: &Script) -> Script {
    let find = |m| {
        playing_client
            .messages
            .iter()
            .find(|(x, _)| *x == m)
            .unwrap()
            .1
            .clone()
    };
    let (ch, cke) = (find(Message::ClientHello), find(Message::ClientKeyExchange));
    let suite = playing_client.suite;
    let leaf = pki::certificate_with(
        "other2048",
        "rsatls explored client",
        ("rsa4096", "rsatls test root"),
        pki::Kind::Leaf(vec![pki::dns("client.rsatls.invalid")]),
        pki::VALID,
        pki::Usage {
            key_usage: Some(x509_cert::ext::pkix::KeyUsages::DigitalSignature.into()),
            extended: Some(vec![der::oid::ObjectIdentifier::new_unwrap(
                "1.3.6.1.5.5.7.3.2",
            )]),
        },
    );
    let cert = HandshakeMessage::Certificate(vec![leaf]).to_bytes();
    let empty = HandshakeMessage::Certificate(Vec::new()).to_bytes();

    // The server's flight and, per branch, the master secret it derives.
    let branch = |client_cert: &[u8]| {
        let log = std::sync::Arc::new(MemoryKeyLog::default());
        let config = server_config("rsa2048")
            .with_client_auth(vec![pki::pki().root.clone()], ClientAuthMode::Optional)
            .unwrap()
            .with_key_log(log.clone());
        let mut s = ServerConnection::new_at(
            std::sync::Arc::new(config),
            pki::now(),
            ChaCha20Rng::seed_from_u64(SERVER_SEED),
        );
        feed(&mut s, &plain(ContentType::HANDSHAKE, &ch), usize::MAX).unwrap();
        let flight: Vec<u8> = records(&take_output(&mut s))
            .into_iter()
            .flat_map(|(_, f)| f)
            .collect();
        let wire = [
            plain(ContentType::HANDSHAKE, client_cert),
            plain(ContentType::HANDSHAKE, &cke),
        ]
        .concat();
        feed(&mut s, &wire, usize::MAX).unwrap();
        (flight, unhex(&log.secret("CLIENT_RANDOM").unwrap()))
    };
    let (flight, master_empty) = branch(&empty);
    let (_, master_cert) = branch(&cert);
    let HandshakeMessage::ClientHello(hello) = HandshakeMessage::decode(&ch).unwrap() else {
        panic!()
    };
    let sh = &split_messages(&plain(ContentType::HANDSHAKE, &flight))[0];
    let HandshakeMessage::ServerHello(server_hello) = HandshakeMessage::decode(sh).unwrap() else {
        panic!()
    };
    let signed = [&ch[..], &flight, &cert, &cke].concat();
    let signature = {
        use rsa::signature::{SignatureEncoding, Signer};
        rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(pki::rsa_key("other2048"))
            .sign(&signed)
            .to_vec()
    };
    let cv = HandshakeMessage::CertificateVerify(DigitallySigned {
        scheme: SignatureScheme::RSA_PKCS1_SHA256,
        signature,
    })
    .to_bytes();
    let keys = |master: &[u8], transcript: &[u8]| {
        let kl = suite.aead.key_len();
        let seed = [&server_hello.random[..], &hello.random[..]].concat();
        let block = prf(suite.hash, master, b"key expansion", &seed, 2 * kl + 8);
        let hash = provider().hash(suite.hash, transcript);
        let verify_data = prf(suite.hash, master, b"client finished", hash.as_ref(), 12);
        Keys {
            key: block[..kl].to_vec(),
            salt: block[2 * kl..2 * kl + 4].to_vec(),
            finished: HandshakeMessage::Finished(verify_data.try_into().unwrap()).to_bytes(),
        }
    };
    let without = keys(&master_empty, &[&ch[..], &flight, &empty, &cke].concat());
    let with = keys(&master_cert, &[&signed[..], &cv].concat());
    let messages = playing_client
        .messages
        .iter()
        .map(|(m, bytes)| {
            let bytes = match m {
                Message::Certificate => cert.clone(),
                Message::CertificateVerify => cv.clone(),
                Message::Finished => without.finished.clone(),
                _ => bytes.clone(),
            };
            (*m, bytes)
        })
        .collect();
    Script {
        messages,
        suite,
        key: without.key,
        salt: without.salt,
        requested: Some(with),
        branch_on: Message::Certificate,
    }
}

/// The test's side of the wire: renders alphabet letters as records.
struct Peer<'a> {
    script: &'a Script,
    write: Option<Direction>,
    /// Whether a CertificateRequest was sent (and so the client answered with a
    /// Certificate: any other outcome ended the sequence).
    requested: bool,
}

impl Peer<'_> {
    fn record(&mut self, typ: ContentType, payload: &[u8]) -> Vec<u8> {
        match &mut self.write {
            Some(dir) => dir.seal(typ, payload),
            None => plain(typ, payload),
        }
    }

    fn render(&mut self, msg: Message) -> Vec<u8> {
        let alert = |level, description| Alert { level, description }.encode();
        match msg {
            Message::ChangeCipherSpec => {
                // Sent under the current keys; the first one switches to the new.
                let rec = self.record(ContentType::CHANGE_CIPHER_SPEC, &[1]);
                if self.write.is_none() {
                    let s = self.script;
                    self.write = Some(match (&s.requested, self.requested) {
                        (Some(r), true) => Direction::new(s.suite, &r.key, &r.salt),
                        _ => Direction::new(s.suite, &s.key, &s.salt),
                    });
                }
                rec
            }
            Message::ApplicationData => self.record(ContentType::APPLICATION_DATA, b"ping"),
            Message::WarningAlert => self.record(
                ContentType::ALERT,
                &alert(AlertLevel::WARNING, AlertDescription::USER_CANCELED),
            ),
            Message::FatalAlert => self.record(
                ContentType::ALERT,
                &alert(AlertLevel::FATAL, AlertDescription::HANDSHAKE_FAILURE),
            ),
            Message::CloseNotify => self.record(
                ContentType::ALERT,
                &alert(AlertLevel::WARNING, AlertDescription::CLOSE_NOTIFY),
            ),
            Message::Finished if self.requested && self.script.requested.is_some() => {
                let fin = self.script.requested.as_ref().unwrap().finished.clone();
                self.record(ContentType::HANDSHAKE, &fin)
            }
            handshake => {
                self.requested |= handshake == self.script.branch_on;
                let bytes = &self
                    .script
                    .messages
                    .iter()
                    .find(|(m, _)| *m == handshake)
                    .unwrap()
                    .1;
                self.record(ContentType::HANDSHAKE, &bytes.clone())
            }
        }
    }
}

/// Feeds one record and drains the events; an operation handed out goes to
/// `op` (`common::feed` knows no such event).
fn feed_record<C: Endpoint>(
    conn: &mut C,
    rec: &[u8],
    op: &mut Option<PrivateKeyOperation>,
) -> Result<Vec<Ev>, Error> {
    // Every record of the exploration is far smaller than the one-record
    // buffer, so it is taken whole, also while input is held.
    assert_eq!(conn.read_tls(rec)?, rec.len());
    let mut events = Vec::new();
    drain_events(conn, &mut events, op)?;
    Ok(events)
}

fn drain_events<C: Endpoint>(
    conn: &mut C,
    events: &mut Vec<Ev>,
    op: &mut Option<PrivateKeyOperation>,
) -> Result<(), Error> {
    while let Some(ev) = conn.poll_event()? {
        events.push(match ev {
            Event::HandshakeComplete(info) => Ev::Complete(info.clone()),
            Event::ApplicationData(d) => Ev::Data(d.to_vec()),
            Event::PeerClosed => Ev::Closed,
            Event::PrivateKeyOperation(o) => {
                assert!(op.replace(o).is_none(), "a second operation");
                continue;
            }
            other => panic!("an event the exploration does not know: {other:?}"),
        });
    }
    Ok(())
}

/// The sticky failure after `err`: the same error, and nothing more, on any
/// further input.
fn assert_sticky<C: Endpoint>(conn: &mut C, err: &Error, ctx: &str) {
    assert_eq!(conn.read_tls(&[22, 3, 3, 0, 0]), Err(err.clone()), "{ctx}");
    assert_eq!(conn.poll_event().err().as_ref(), Some(err), "{ctx}");
    assert!(!conn.wants_write(), "{ctx}");
}

/// Checks what an engine did with one record against the table's prediction;
/// returns whether the connection is still open to more input, and the
/// private-key operation it handed out, if any. `offload`: the server hands
/// the operation out instead of taking the internal step at once.
fn check<C: Endpoint>(
    conn: &mut C,
    state_of: fn(&C) -> Option<State>,
    before: State,
    rec: &[u8],
    expected: Outcome,
    path: &dyn std::fmt::Debug,
    offload: bool,
) -> (bool, Option<PrivateKeyOperation>) {
    let mut op = None;
    let result = feed_record(conn, rec, &mut op);
    let out = take_output(conn);
    let state = state_of(conn);
    let ctx = || format!("sequence {path:?} (last message in state {before:?})");
    let open = match expected {
        Outcome::Fatal(desc) => {
            let err = result.expect_err(&ctx());
            assert_eq!(err.alert(), Some(desc), "{}: {err:?}", ctx());
            assert_eq!(state, None, "{}", ctx());
            // Exactly one alert record went out (plaintext or protected).
            let recs = records(&out);
            assert_eq!(recs.len(), 1, "{}", ctx());
            assert_eq!(recs[0].0.typ, ContentType::ALERT, "{}", ctx());
            assert_sticky(conn, &err, &ctx());
            false
        }
        Outcome::PeerFailed => {
            assert!(
                matches!(result, Err(Error::AlertReceived(_))),
                "{}: {result:?}",
                ctx()
            );
            assert!(out.is_empty(), "{}: a fatal alert is not answered", ctx());
            false
        }
        Outcome::Closed => {
            assert_eq!(result.as_deref(), Ok(&[Ev::Closed][..]), "{}", ctx());
            false
        }
        Outcome::Ignore => {
            assert_eq!(result.as_deref(), Ok(&[][..]), "{}", ctx());
            assert_eq!(state, Some(before), "{}", ctx());
            assert!(out.is_empty(), "{}", ctx());
            true
        }
        Outcome::Refuse(desc) => {
            assert_eq!(desc, AlertDescription::NO_RENEGOTIATION, "{}", ctx());
            assert_eq!(result.as_deref(), Ok(&[][..]), "{}", ctx());
            assert_eq!(state, Some(before), "{}", ctx());
            // One protected warning alert (its description is inside the AEAD).
            let recs = records(&out);
            assert_eq!(recs.len(), 1, "{}", ctx());
            assert_eq!(recs[0].0.typ, ContentType::ALERT, "{}", ctx());
            true
        }
        // The private-key operation is out: the record is buffered, undecided.
        Outcome::Held => {
            assert_eq!(result.as_deref(), Ok(&[][..]), "{}", ctx());
            assert_eq!(state, Some(before), "{}", ctx());
            assert!(out.is_empty(), "{}", ctx());
            true
        }
        Outcome::Next(next) => {
            let events = result.unwrap_or_else(|e| panic!("{}: {e:?}", ctx()));
            // A ClientKeyExchange leads to a pending state: a server with the
            // key in process takes the internal step out of it at once, an
            // offloading one stops there and hands the operation out, and
            // neither answers anything yet.
            let pending = after_private_key_result(next).is_some();
            let seen = if offload { next } else { next.settled() };
            assert_eq!(state, Some(seen), "{}", ctx());
            assert_eq!(op.is_some(), offload && pending, "{}", ctx());
            if pending {
                assert!(out.is_empty(), "{}", ctx());
            }
            match (before, next) {
                (State::Established, _) => {
                    assert_eq!(events, vec![Ev::Data(b"ping".to_vec())], "{}", ctx())
                }
                (_, State::Established) => {
                    assert!(matches!(events.as_slice(), [Ev::Complete(_)]), "{}", ctx())
                }
                _ => assert!(events.is_empty(), "{}", ctx()),
            }
            true
        }
    };
    (open, op)
}

/// Counts what an exploration visited.
#[derive(Default, Debug)]
struct Stats {
    sequences: usize,
    records: usize,
}

fn explore(side: Side, script: &Script, path: &mut Vec<Message>, stats: &mut Stats) {
    for msg in Message::ALL {
        path.push(msg);
        let extend = replay(side, script, path, stats);
        if extend && path.len() < DEPTH {
            explore(side, script, path, stats);
        }
        path.pop();
    }
}

/// Replays `path` on a fresh engine, checking every step; returns whether the
/// last outcome leaves the connection open to more input.
fn replay(side: Side, script: &Script, path: &[Message], stats: &mut Stats) -> bool {
    stats.sequences += 1;
    match side {
        Side::Server => {
            let mut s = ServerConnection::new(
                shared_config(false, false),
                ChaCha20Rng::seed_from_u64(SERVER_SEED),
            );
            run(&mut s, ServerConnection::state, side, script, path, stats)
        }
        Side::ServerWithClientAuth => {
            let mut s = client_auth_server(false);
            run(&mut s, ServerConnection::state, side, script, path, stats)
        }
        Side::Client => {
            let mut c = client(client_config("rsa2048"), CLIENT_SEED);
            take_output(&mut c);
            run(&mut c, ClientConnection::state, side, script, path, stats)
        }
    }
}

fn run<C: Endpoint>(
    conn: &mut C,
    state_of: fn(&C) -> Option<State>,
    side: Side,
    script: &Script,
    path: &[Message],
    stats: &mut Stats,
) -> bool {
    let mut peer = Peer {
        script,
        write: None,
        requested: false,
    };
    let mut state = State::initial(side);
    for (i, &msg) in path.iter().enumerate() {
        let expected = outcome(side, state, msg);
        let rec = peer.render(msg);
        stats.records += 1;
        let (open, _) = check(conn, state_of, state, &rec, expected, &&path[..=i], false);
        if !open {
            // The exploration never extends a sequence past a terminal outcome.
            assert_eq!(
                i,
                path.len() - 1,
                "{path:?} went on after a terminal outcome"
            );
            return false;
        }
        if let Outcome::Next(next) = expected {
            state = next.settled();
        }
    }
    true
}

#[test]
fn every_sequence_of_up_to_six_records_matches_the_table() {
    let (playing_client, playing_server) = scripts();
    let authenticating_client = client_auth_script(&playing_client);
    for (side, script) in [
        (Side::Server, &playing_client),
        (Side::ServerWithClientAuth, &authenticating_client),
        (Side::Client, &playing_server),
    ] {
        let mut stats = Stats::default();
        explore(side, script, &mut Vec::new(), &mut stats);
        println!(
            "{side:?}: {} sequences, {} records checked",
            stats.sequences, stats.records
        );
        // Every sequence the table allows was fed to the engine.
        assert_eq!(
            stats.sequences,
            table_sequences(side, State::initial(side), DEPTH),
            "{side:?}"
        );
    }
}

/// How many sequences of up to `depth` records the table allows from `state`,
/// stopping at terminal outcomes: the size the exploration must reach.
fn table_sequences(side: Side, state: State, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    Message::ALL
        .iter()
        .map(|&msg| {
            1 + match outcome(side, state, msg) {
                Outcome::Next(next) => table_sequences(side, next.settled(), depth - 1),
                Outcome::Ignore | Outcome::Refuse(_) => table_sequences(side, state, depth - 1),
                Outcome::Fatal(_) | Outcome::PeerFailed | Outcome::Closed | Outcome::Held => 0,
            }
        })
        .sum()
}

/// The most records an offloading server is sent while its operation is out,
/// in a row: every sequence of up to this many is held, then completed.
const HELD_DEPTH: usize = 3;

/// One letter of an offloading server's exploration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A record from the peer.
    Record(Message),
    /// The caller hands back the private-key operation's result.
    Complete(Completion),
}

/// Which result the caller hands back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Completion {
    /// The operation's own result (`PrivateKeyOperation::run`).
    Real,
    /// A failure (a key server that did not answer, a token error).
    Failed,
}

/// Counts what an offloading exploration visited; every count but
/// `sequences` is summed over all replays.
#[derive(Default, Debug)]
struct OffloadStats {
    /// Sequences replayed on a fresh server.
    sequences: usize,
    /// Records fed and checked.
    records: usize,
    /// Of those, records fed while the operation was out.
    held: usize,
    /// Completions checked while the operation was out, by result.
    real: usize,
    failed: usize,
    /// Completions checked while nothing was out (refused, nothing changes).
    misplaced: usize,
}

/// The operation's real result, computed once: RSADP of the same ciphertext
/// under the same key is the same integer whatever the blinding.
type ResultCache = Option<(Vec<u8>, Vec<u8>)>;

/// An offloading server for `side`.
fn offloading_server(side: Side) -> ServerConnection {
    match side {
        Side::Server => ServerConnection::new(
            shared_config(true, false),
            ChaCha20Rng::seed_from_u64(SERVER_SEED),
        ),
        Side::ServerWithClientAuth => client_auth_server(true),
        Side::Client => unreachable!("a client hands nothing out"),
    }
}

/// What the table says of a record in `state`. `garbled`: the record is
/// sealed under the client's keys while the server's premaster came from a
/// failed operation, so it is the random fallback (RFC 5246 §7.4.7.1) and no
/// such record authenticates: bad_record_mac, as for an invalid
/// ClientKeyExchange.
fn expect(side: Side, state: State, msg: Message, garbled: bool) -> Outcome {
    match outcome(side, state, msg) {
        Outcome::Held => Outcome::Held,
        _ if garbled => Outcome::Fatal(AlertDescription::BAD_RECORD_MAC),
        other => other,
    }
}

/// An event, as the table predicts it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Complete,
    Data,
    Closed,
}

fn kinds(events: &[Ev]) -> Vec<Kind> {
    events
        .iter()
        .map(|e| match e {
            Ev::Complete(_) => Kind::Complete,
            Ev::Data(d) => {
                assert_eq!(d, b"ping");
                Kind::Data
            }
            Ev::Closed => Kind::Closed,
        })
        .collect()
}

fn explore_offload(
    side: Side,
    script: &Script,
    path: &mut Vec<Step>,
    at: (usize, bool, usize),
    cache: &mut ResultCache,
    stats: &mut OffloadStats,
) {
    // Records sent so far, whether the operation is out, records held.
    let (records, pending, held) = at;
    let letters = Message::ALL
        .iter()
        .map(|&m| Step::Record(m))
        .chain([Completion::Real, Completion::Failed].map(Step::Complete));
    for step in letters {
        let record = matches!(step, Step::Record(_));
        if record && (records == DEPTH || (pending && held == HELD_DEPTH)) {
            continue;
        }
        path.push(step);
        if let Some((state, held)) = replay_offload(side, script, path, cache, stats) {
            let pending = after_private_key_result(state).is_some();
            let at = (records + usize::from(record), pending, held);
            explore_offload(side, script, path, at, cache, stats);
        }
        path.pop();
    }
}

/// Replays `path` on a fresh offloading server, checking every step; returns
/// the table state and the number of records held, or `None` once the last
/// step ended the connection (or was a completion with nothing out, which is
/// never extended).
fn replay_offload(
    side: Side,
    script: &Script,
    path: &[Step],
    cache: &mut ResultCache,
    stats: &mut OffloadStats,
) -> Option<(State, usize)> {
    stats.sequences += 1;
    let mut s = offloading_server(side);
    let mut peer = Peer {
        script,
        write: None,
        requested: false,
    };
    let mut state = State::initial(side);
    // The records sent while the operation is out, and whether each was sealed.
    let mut held: Vec<(Message, bool)> = Vec::new();
    let mut op = None;
    let mut failed = false;
    let last = path.len() - 1;
    for (i, &step) in path.iter().enumerate() {
        let ctx = format!("offloaded sequence {:?} (in state {state:?})", &path[..=i]);
        match step {
            Step::Record(msg) => {
                let sealed = peer.write.is_some();
                let rec = peer.render(msg);
                stats.records += 1;
                let expected = expect(side, state, msg, sealed && failed);
                let (open, handed) = check(
                    &mut s,
                    ServerConnection::state,
                    state,
                    &rec,
                    expected,
                    &&path[..=i],
                    true,
                );
                if !open {
                    assert_eq!(i, last, "{ctx}: went on after a terminal outcome");
                    return None;
                }
                match expected {
                    Outcome::Held => {
                        assert!(s.awaits_private_key_operation(), "{ctx}");
                        stats.held += 1;
                        held.push((msg, sealed));
                    }
                    Outcome::Next(next) => {
                        state = next;
                        if handed.is_some() {
                            op = handed;
                            assert!(s.awaits_private_key_operation(), "{ctx}");
                        }
                    }
                    _ => {}
                }
            }
            Step::Complete(kind) => {
                let Some(operation) = op.take() else {
                    // Nothing is out: refused without failing the connection,
                    // and nothing changes.
                    stats.misplaced += 1;
                    assert!(
                        matches!(
                            s.complete_private_key_operation(Err::<Vec<u8>, _>(CryptoError)),
                            Err(Error::Internal(_))
                        ),
                        "{ctx}"
                    );
                    assert_eq!(s.state(), Some(state), "{ctx}");
                    assert!(!s.wants_write(), "{ctx}");
                    assert!(matches!(s.poll_event(), Ok(None)), "{ctx}");
                    assert_eq!(i, last, "{ctx}");
                    return None;
                };
                let result = match kind {
                    Completion::Real => {
                        stats.real += 1;
                        let input = operation.input().to_vec();
                        match cache {
                            Some((i, o)) if *i == input => Ok(o.clone()),
                            _ => {
                                let o = operation.run().expect("the key decrypts").to_vec();
                                *cache = Some((input, o.clone()));
                                Ok(o)
                            }
                        }
                    }
                    Completion::Failed => {
                        stats.failed += 1;
                        failed = true;
                        Err(CryptoError)
                    }
                };
                assert_eq!(s.complete_private_key_operation(result), Ok(()), "{ctx}");
                assert!(!s.awaits_private_key_operation(), "{ctx}");
                match release_held(&mut s, side, state.settled(), &held, failed, &ctx) {
                    Some(next) => state = next,
                    None => {
                        assert_eq!(i, last, "{ctx}: went on after a terminal outcome");
                        return None;
                    }
                }
                held.clear();
            }
        }
    }
    Some((state, held.len()))
}

/// After completion: the held records are processed as the table says for
/// `state` (the one after the internal step), all within the next
/// `poll_event` calls. Returns the state reached, or `None` if they ended the
/// connection.
fn release_held(
    s: &mut ServerConnection,
    side: Side,
    state: State,
    held: &[(Message, bool)],
    failed: bool,
    ctx: &str,
) -> Option<State> {
    let mut events = Vec::new();
    let mut op = None;
    let result = drain_events(s, &mut events, &mut op);
    assert!(op.is_none(), "{ctx}");
    let out = take_output(s);
    let (want, refusals, end, state) = walk(side, state, held, failed, ctx);
    // What the server sends: its ChangeCipherSpec and Finished if a held
    // Finished completed the handshake, a warning alert per refusal, and one
    // fatal alert if a held record ended it.
    let mut sent = Vec::new();
    if want.contains(&Kind::Complete) {
        sent.extend([ContentType::CHANGE_CIPHER_SPEC, ContentType::HANDSHAKE]);
    }
    sent.extend(std::iter::repeat_n(ContentType::ALERT, refusals));
    if matches!(end, Some(Outcome::Fatal(_))) {
        sent.push(ContentType::ALERT);
    }
    let types: Vec<ContentType> = records(&out).iter().map(|(h, _)| h.typ).collect();
    assert_eq!(types, sent, "{ctx}");
    match end {
        None => {
            assert!(result.is_ok(), "{ctx}: {result:?}");
            assert_eq!(kinds(&events), want, "{ctx}");
            assert_eq!(s.state(), Some(state), "{ctx}");
            Some(state)
        }
        Some(Outcome::Fatal(desc)) => {
            let err = result.expect_err(ctx);
            assert_eq!(err.alert(), Some(desc), "{ctx}: {err:?}");
            assert_eq!(kinds(&events), want, "{ctx}");
            assert_eq!(s.state(), None, "{ctx}");
            assert_sticky(s, &err, ctx);
            None
        }
        Some(Outcome::PeerFailed) => {
            assert!(
                matches!(result, Err(Error::AlertReceived(_))),
                "{ctx}: {result:?}"
            );
            assert_eq!(kinds(&events), want, "{ctx}");
            None
        }
        Some(Outcome::Closed) => {
            assert!(result.is_ok(), "{ctx}: {result:?}");
            assert_eq!(kinds(&events), [want, vec![Kind::Closed]].concat(), "{ctx}");
            None
        }
        Some(other) => unreachable!("{other:?} continues"),
    }
}

/// What the table says of the held records once the operation completed,
/// from `state` (the one after the internal step): the events, the number of
/// refusals, the terminal outcome if one ends the connection, and the state
/// reached.
fn walk(
    side: Side,
    mut state: State,
    held: &[(Message, bool)],
    failed: bool,
    ctx: &str,
) -> (Vec<Kind>, usize, Option<Outcome>, State) {
    let mut want = Vec::new();
    let mut refusals = 0;
    for &(msg, sealed) in held {
        match expect(side, state, msg, sealed && failed) {
            Outcome::Next(next) => {
                match (state, next) {
                    (State::Established, _) => want.push(Kind::Data),
                    (_, State::Established) => want.push(Kind::Complete),
                    _ => {}
                }
                assert_eq!(next, next.settled(), "{ctx}: a second operation");
                state = next;
            }
            Outcome::Ignore => {}
            Outcome::Refuse(_) => refusals += 1,
            Outcome::Held => panic!("{ctx}: held again after completion"),
            terminal => return (want, refusals, Some(terminal), state),
        }
    }
    (want, refusals, None, state)
}

/// How many sequences the offloading exploration must visit from `state`
/// with `records` more records allowed, `held` records held, `sealed` once
/// the peer has sent a ChangeCipherSpec, and `failed` once a failed result
/// came back: the exploration's rules applied to the table alone.
fn offload_sequences(
    side: Side,
    state: State,
    records: usize,
    held: &[(Message, bool)],
    sealed: bool,
    failed: bool,
) -> usize {
    let pending = after_private_key_result(state).is_some();
    let mut n = 0;
    if records > 0 && !(pending && held.len() == HELD_DEPTH) {
        for msg in Message::ALL {
            n += 1;
            let then_sealed = sealed || msg == Message::ChangeCipherSpec;
            n += match expect(side, state, msg, sealed && failed) {
                Outcome::Held => {
                    let held = [held, &[(msg, sealed)]].concat();
                    offload_sequences(side, state, records - 1, &held, then_sealed, failed)
                }
                Outcome::Next(next) => {
                    offload_sequences(side, next, records - 1, &[], then_sealed, failed)
                }
                Outcome::Ignore | Outcome::Refuse(_) => {
                    offload_sequences(side, state, records - 1, &[], then_sealed, failed)
                }
                Outcome::Fatal(_) | Outcome::PeerFailed | Outcome::Closed => 0,
            };
        }
    }
    for failed in [false, true] {
        n += 1;
        if pending {
            let (_, _, end, next) = walk(side, state.settled(), held, failed, "count");
            if end.is_none() {
                n += offload_sequences(side, next, records, &[], sealed, failed);
            }
        }
    }
    n
}

#[test]
fn offloading_servers_hold_every_record_until_the_result_and_then_follow_the_table() {
    let (playing_client, _) = scripts();
    let authenticating_client = client_auth_script(&playing_client);
    for (side, script) in [
        (Side::Server, &playing_client),
        (Side::ServerWithClientAuth, &authenticating_client),
    ] {
        let mut stats = OffloadStats::default();
        let mut cache = None;
        let start = (0, false, 0);
        explore_offload(side, script, &mut Vec::new(), start, &mut cache, &mut stats);
        println!("{side:?} offloading: {stats:?}");
        // Every letter was tried where the table allows it.
        assert_eq!(
            stats.sequences,
            offload_sequences(side, State::initial(side), DEPTH, &[], false, false),
            "{side:?}"
        );
    }
}
