//! Properties of the offloaded private-key operation
//! (`ServerConfig::with_private_key_offload`, issue 15), for both suites, EMS
//! on and off, and plain and client-authenticating servers:
//!
//! (a) completing the operation at any point relative to the rest of the
//!     client's input (its flight and application data cut in arbitrary
//!     chunks; completed at once, after any number of reads, or after all of
//!     it) gives exactly the inline server's output bytes, events and error;
//! (b) completing with a failure, an output of any wrong length (the real
//!     output shortened or extended included) or a flipped output gives
//!     exactly the output of a server fed an invalid ClientKeyExchange
//!     (RFC 5246 §7.4.7.1): a bad_record_mac alert at the client's Finished;
//! (c) completing when nothing is pending, or a second time, is an error that
//!     changes nothing: the connection goes on to the inline server's result;
//! (d) a connection that failed while the operation was out returns its
//!     sticky error on completion and never looks at the result;
//! (e) while the operation is out, `poll_event` yields nothing, nothing is
//!     written, and `read_tls` takes at most one record past the
//!     ClientKeyExchange.
//!
//! "EMS off" is a client whose hello lost its extended_master_secret on the
//! way, both sides allowing legacy peers: the master secret is derived the
//! legacy way and the handshake ends at the client's Finished (decrypt_error,
//! the transcripts differ; with client authentication already at the
//! CertificateVerify), the same way inline and offloaded.
//!
//! A long campaign: `PROPTEST_CASES=500 cargo test --release --test prop_private_key`.
//! Counter-examples are persisted to `proptest-regressions/prop_private_key.txt`.

mod common;
#[path = "chain/pki.rs"]
mod pki;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use common::prop_support::leaf as server_leaf;
use common::prop_support::*;
use common::*;
use pki::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::crypto::{CryptoError, RsaPrivateKey};
use rsatls::msgs::enums::ExtensionType;
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::msgs::record::{HEADER_LEN, MAX_CIPHERTEXT};
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::{
    ClientAuthMode, ClientConnection, Error, Event, PrivateKeyOperation, ServerConfig,
    ServerConnection,
};
use spki::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

const REGRESSIONS: &str = "proptest-regressions/prop_private_key.txt";

/// The most `read_tls` buffers: one record of the largest size.
const MAX_RECORD: usize = HEADER_LEN + MAX_CIPHERTEXT;

/// The modulus length of rsa2048, the server's key.
const K: usize = 256;

/// HandshakeType::CLIENT_KEY_EXCHANGE.
const CLIENT_KEY_EXCHANGE: u8 = 16;

// ---------------------------------------------------------------------------
// The configurations

#[derive(Clone, Copy, Debug)]
struct Case {
    suite: &'static Suite,
    ems: bool,
    client_auth: bool,
    client_seed: u64,
    server_seed: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec![
            &TLS_RSA_WITH_AES_128_GCM_SHA256,
            &TLS_RSA_WITH_AES_256_GCM_SHA384,
        ]),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(suite, ems, client_auth, client_seed, server_seed)| Case {
            suite,
            ems,
            client_auth,
            client_seed,
            server_seed,
        })
}

/// The client's certificate (other2048 under the test root), built once.
fn client_leaf() -> &'static [u8] {
    static LEAF: OnceLock<Vec<u8>> = OnceLock::new();
    LEAF.get_or_init(|| {
        certificate_with(
            "other2048",
            "rsatls prop private-key client",
            ("rsa4096", "rsatls test root"),
            Kind::Leaf(vec![dns("client.rsatls.invalid")]),
            VALID,
            Usage {
                key_usage: Some(KeyUsages::DigitalSignature.into()),
                extended: Some(vec![ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2")]),
            },
        )
    })
}

/// How the server's configuration gets its key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Inline,
    Offload,
    /// Inline, with a key whose every operation fails (a test double).
    InlineFailingKey,
}

/// A key whose operation always fails: what an invalid ClientKeyExchange
/// amounts to, inline (a test double).
struct FailingKeyForTesting(Box<dyn RsaPrivateKey>);

impl RsaPrivateKey for FailingKeyForTesting {
    fn modulus_len(&self) -> usize {
        self.0.modulus_len()
    }
    fn modulus_bits(&self) -> usize {
        self.0.modulus_bits()
    }
    fn public_modulus(&self) -> Vec<u8> {
        self.0.public_modulus()
    }
    fn public_exponent(&self) -> Vec<u8> {
        self.0.public_exponent()
    }
    fn raw_decrypt(
        &self,
        _ciphertext: &[u8],
        _out: &mut [u8],
        _rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<(), CryptoError> {
        Err(CryptoError)
    }
}

fn server_for(case: &Case, kind: Server) -> ServerConnection {
    let config = match kind {
        Server::InlineFailingKey => {
            let real = provider()
                .rsa_private_key(key_file("rsa2048").as_der())
                .unwrap();
            ServerConfig::with_private_key(
                provider(),
                vec![server_leaf("rsa2048")],
                Arc::new(FailingKeyForTesting(real)),
            )
            .unwrap()
        }
        _ => server_config("rsa2048"),
    };
    let mut config = config
        .with_suites(&[case.suite])
        .unwrap()
        .with_allow_no_ems(!case.ems)
        .with_private_key_offload(kind == Server::Offload);
    if case.client_auth {
        config = config
            .with_client_auth(vec![pki().root.clone()], ClientAuthMode::Required)
            .unwrap();
    }
    ServerConnection::new_at(
        Arc::new(config),
        now(),
        ChaCha20Rng::seed_from_u64(case.server_seed),
    )
}

fn client_for(case: &Case) -> ClientConnection {
    let mut config = client_config("rsa2048")
        .with_suites(&[case.suite])
        .unwrap()
        .with_allow_no_ems(!case.ems);
    if case.client_auth {
        config = config
            .with_client_certificate(vec![client_leaf().to_vec()], &key_file("other2048"))
            .unwrap();
    }
    client(config, case.client_seed)
}

/// The ClientHello record(s) without the extended_master_secret extension.
fn strip_ems(hello: &[u8]) -> Vec<u8> {
    let payload: Vec<u8> = split_records(hello)
        .iter()
        .flat_map(|r| r[5..].to_vec())
        .collect();
    let Ok(HandshakeMessage::ClientHello(mut ch)) = HandshakeMessage::decode(&payload) else {
        panic!("the client's first flight is one ClientHello")
    };
    ch.extensions
        .as_mut()
        .unwrap()
        .retain(|e| e.ext_type() != ExtensionType::EXTENDED_MASTER_SECRET);
    record(HANDSHAKE, &HandshakeMessage::ClientHello(ch).to_bytes())
}

/// What the client sends in a case: its hello, then (`tail`) its second
/// flight and, once it has the server's Finished, `app` bytes of data.
struct Script {
    hello: Vec<u8>,
    tail: Vec<u8>,
    /// Where in `tail` the ClientKeyExchange record ends.
    cke_end: usize,
}

fn script(case: &Case, app: usize) -> Script {
    let mut c = client_for(case);
    let mut s = server_for(case, Server::Inline);
    let mut hello = take_output(&mut c);
    if !case.ems {
        hello = strip_ems(&hello);
    }
    feed(&mut s, &hello, usize::MAX).expect("the server takes the hello");
    feed(&mut c, &take_output(&mut s), usize::MAX).expect("the client takes the first flight");
    let mut tail = take_output(&mut c);
    let mut cke_end = 0;
    for r in split_records(&tail) {
        cke_end += r.len();
        // The ClientKeyExchange ends its record (after the Certificate, with
        // client authentication): type, 24-bit length K + 2, 16-bit length K.
        let cke = 4 + 2 + K;
        if r[0] == HANDSHAKE
            && r.len() >= 5 + cke
            && r[r.len() - cke..][..6] == [CLIENT_KEY_EXCHANGE, 0, 1, 2, 1, 0]
        {
            break;
        }
    }
    assert!(
        cke_end < tail.len(),
        "the flight has a ClientKeyExchange record"
    );
    if case.ems {
        feed(&mut s, &tail, usize::MAX).expect("the server takes the second flight");
        feed(&mut c, &take_output(&mut s), usize::MAX).expect("the client takes Finished");
        assert!(c.is_established());
        let data = app_data(app, 7);
        let mut sent = 0;
        while sent < data.len() {
            sent += c.write_app_data(&data[sent..]).unwrap();
            tail.extend(take_output(&mut c));
        }
    }
    Script {
        hello,
        tail,
        cke_end,
    }
}

/// The same script with one byte of the ClientKeyExchange's ciphertext flipped.
fn corrupt_cke(script: &Script, at: usize) -> Vec<u8> {
    let mut tail = script.tail.clone();
    // The ciphertext is the record's last K bytes.
    let i = script.cke_end - 1 - at % K;
    tail[i] ^= 0x40;
    tail
}

// ---------------------------------------------------------------------------
// Running a server

/// What the caller hands back.
#[derive(Clone, Debug)]
enum Answer {
    Real,
    Failed,
    /// The real output without its first `n` bytes (RSADP's output starts
    /// with 0x00: dropping it gives the same integer in k-1 bytes).
    DropFront(usize),
    /// `n` zero bytes, then the real output (the same integer, too long).
    ZerosFront(usize),
    /// The real output, then `n` more bytes.
    Appended(usize),
    /// The real output with byte `i` (of the header, the separator or the
    /// premaster) flipped: the right length, but another block.
    Flipped(usize),
    /// `n` bytes of junk, `n` != k.
    Junk(usize),
}

fn wrong_answers() -> impl Strategy<Value = Answer> {
    prop_oneof![
        Just(Answer::Failed),
        (1..=K).prop_map(Answer::DropFront),
        (1..=K).prop_map(Answer::ZerosFront),
        (1..=K).prop_map(Answer::Appended),
        // Not in the padding string: a flipped non-zero byte there may stay
        // non-zero, and the block valid.
        prop_oneof![0..2usize, K - 49..K].prop_map(Answer::Flipped),
        (0..3 * K)
            .prop_filter("not k", |n| *n != K)
            .prop_map(Answer::Junk),
    ]
}

impl Answer {
    fn result(&self, op: &PrivateKeyOperation) -> Result<Vec<u8>, CryptoError> {
        let real = || op.run().map(|o| o.to_vec());
        Ok(match *self {
            Answer::Real => real()?,
            Answer::Failed => return Err(CryptoError),
            Answer::DropFront(n) => real()?[n..].to_vec(),
            Answer::ZerosFront(n) => [vec![0; n], real()?].concat(),
            Answer::Appended(n) => [real()?, vec![0x5a; n]].concat(),
            Answer::Flipped(i) => {
                let mut out = real()?;
                out[i] ^= 1;
                out
            }
            Answer::Junk(n) => vec![0x33; n],
        })
    }
}

/// How a run goes: the tail in pieces of these sizes (cycled), the operation
/// completed after `after` further reads (0: at once), with `answer`.
#[derive(Clone, Debug)]
struct Plan {
    chunks: Vec<usize>,
    after: usize,
    answer: Answer,
    /// (c): complete once before the ClientKeyExchange and twice after.
    extra_completions: bool,
    /// (d): the transport ends (`handle_eof`) while the operation is out.
    eof_while_pending: bool,
}

impl Plan {
    fn inline(chunks: Vec<usize>) -> Self {
        Self {
            chunks,
            after: 0,
            answer: Answer::Real,
            extra_completions: false,
            eof_while_pending: false,
        }
    }
}

/// What a server did, as its peer and its caller see it.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    output: Vec<u8>,
    events: Vec<Ev>,
    error: Option<Error>,
    /// How many operations were handed out.
    operations: usize,
}

/// A result that counts how often its bytes are looked at.
struct Counted(Vec<u8>, Rc<Cell<usize>>);

impl AsRef<[u8]> for Counted {
    fn as_ref(&self) -> &[u8] {
        self.1.set(self.1.get() + 1);
        &self.0
    }
}

/// Runs `kind`'s server on the case's hello and then `tail`, following `plan`,
/// checking (c), (d) and (e) on the way.
fn run(
    case: &Case,
    kind: Server,
    script: &Script,
    tail: &[u8],
    plan: &Plan,
) -> Result<Outcome, TestCaseError> {
    let mut s = server_for(case, kind);
    let mut out = Outcome::default();
    if let Err(e) = feed(&mut s, &script.hello, usize::MAX) {
        return Err(TestCaseError::fail(format!("hello refused: {e:?}")));
    }
    out.output = take_output(&mut s);
    if plan.extra_completions {
        // (c) Nothing is pending yet.
        let state = s.state();
        let r = s.complete_private_key_operation(Ok::<_, CryptoError>(vec![0u8; K]));
        prop_assert!(matches!(r, Err(Error::Internal(_))), "{:?}", r);
        prop_assert_eq!(s.state(), state);
        prop_assert!(s.error().is_none() && !s.wants_write());
    }
    let mut op: Option<PrivateKeyOperation> = None;
    let mut reads_while_pending = 0;
    // Bytes of `tail` taken so far.
    let mut taken = 0;
    let mut pieces = plan.chunks.iter().cycle();
    let mut done = false;
    while !done {
        let pending = op.is_some();
        // Complete now?
        if let Some(o) = op.take_if(|_| reads_while_pending >= plan.after || taken == tail.len()) {
            complete(&mut s, o, plan)?;
        } else if pending {
            // (e) Held: no event, no output, at most a record past the CKE.
            let held = s.poll_event();
            prop_assert!(
                matches!(held, Ok(None)),
                "while pending: {:?}",
                held.map(|e| e.is_some())
            );
            prop_assert!(!s.wants_write());
            prop_assert!(s.awaits_private_key_operation());
            prop_assert!(
                taken <= script.cke_end + MAX_RECORD,
                "{} bytes taken while pending",
                taken
            );
        }
        // Feed one piece (or what the server takes of it).
        if taken < tail.len() {
            let len = (*pieces.next().unwrap()).max(1).min(tail.len() - taken);
            match s.read_tls(&tail[taken..taken + len]) {
                Ok(n) => {
                    taken += n;
                    if op.is_some() {
                        reads_while_pending += 1;
                        if n == 0 {
                            // The buffer is full: the caller can only complete.
                            reads_while_pending = plan.after;
                        }
                    }
                }
                Err(e) => {
                    out.error.get_or_insert(e);
                    done = true;
                }
            }
        } else if op.is_none() {
            done = true;
        }
        // Drain the events.
        loop {
            match s.poll_event() {
                Ok(None) => break,
                Ok(Some(Event::PrivateKeyOperation(o))) => {
                    prop_assert!(op.is_none(), "two operations out at once");
                    prop_assert!(kind == Server::Offload, "an inline server handed one out");
                    prop_assert_eq!(o.input().len(), K);
                    out.operations += 1;
                    reads_while_pending = 0;
                    op = Some(o);
                    if plan.eof_while_pending {
                        return fail_while_pending(&mut s, op.take().unwrap(), out);
                    }
                }
                Ok(Some(Event::HandshakeComplete(info))) => {
                    out.events.push(Ev::Complete(info.clone()))
                }
                Ok(Some(Event::ApplicationData(d))) => out.events.push(Ev::Data(d.to_vec())),
                Ok(Some(Event::PeerClosed)) => out.events.push(Ev::Closed),
                Ok(Some(_)) => return Err(TestCaseError::fail("an unknown event")),
                Err(e) => {
                    out.error.get_or_insert(e);
                    done = true;
                    break;
                }
            }
        }
        if op.is_some() {
            done = false;
        }
    }
    out.output.extend(take_output(&mut s));
    Ok(out)
}

fn complete(
    s: &mut ServerConnection,
    op: PrivateKeyOperation,
    plan: &Plan,
) -> Result<(), TestCaseError> {
    let result = plan.answer.result(&op);
    drop(op);
    prop_assert!(s.awaits_private_key_operation());
    prop_assert!(!s.wants_write(), "output while the operation was out");
    prop_assert_eq!(s.complete_private_key_operation(result), Ok(()));
    prop_assert!(!s.awaits_private_key_operation());
    if plan.extra_completions {
        // (c) A second completion, of either kind, changes nothing.
        for again in [Ok(vec![0u8; K]), Err(CryptoError)] {
            let state = s.state();
            let r = s.complete_private_key_operation(again);
            prop_assert!(matches!(r, Err(Error::Internal(_))), "{:?}", r);
            prop_assert_eq!(s.state(), state);
            prop_assert!(s.error().is_none());
        }
    }
    Ok(())
}

/// (d) The transport ends while the operation is out: the connection fails,
/// and completing it returns that error without reading the result.
fn fail_while_pending(
    s: &mut ServerConnection,
    op: PrivateKeyOperation,
    mut out: Outcome,
) -> Result<Outcome, TestCaseError> {
    prop_assert_eq!(s.handle_eof(), Err(Error::UnexpectedEof));
    prop_assert!(!s.awaits_private_key_operation());
    let alert = take_output(s);
    let looked = Rc::new(Cell::new(0));
    let result = op.run().map(|o| Counted(o.to_vec(), looked.clone()));
    prop_assert_eq!(
        s.complete_private_key_operation(result),
        Err(Error::UnexpectedEof)
    );
    prop_assert_eq!(
        looked.get(),
        0,
        "the result of a failed connection was read"
    );
    prop_assert_eq!(s.poll_event().err(), Some(Error::UnexpectedEof));
    prop_assert!(!s.wants_write() && s.state().is_none());
    out.output.extend(alert);
    out.error = Some(Error::UnexpectedEof);
    Ok(out)
}

fn chunks() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..8, 8usize..600, 600usize..40_000], 1..6)
}

proptest! {
    #![proptest_config(prop_config(64, REGRESSIONS))]

    /// (a), (c), (e): completed anywhere, the offloaded server is the inline one.
    #[test]
    fn completion_anywhere_is_the_inline_server(
        case in cases(),
        app in 0usize..40_000,
        chunks in chunks(),
        after in prop_oneof![Just(0usize), 1usize..6, Just(usize::MAX)],
        extra_completions in any::<bool>(),
    ) {
        let script = script(&case, app);
        let inline = run(&case, Server::Inline, &script, &script.tail, &Plan::inline(chunks.clone()))?;
        let plan = Plan { after, extra_completions, ..Plan::inline(chunks) };
        let offload = run(&case, Server::Offload, &script, &script.tail, &plan)?;
        prop_assert_eq!(offload.operations, 1);
        prop_assert_eq!(&offload.output, &inline.output);
        prop_assert_eq!(&offload.events, &inline.events);
        prop_assert_eq!(&offload.error, &inline.error);
        // The handshake did what it should, both ways.
        match case.ems {
            true => {
                prop_assert!(inline.error.is_none(), "{:?}", inline.error);
                let data: Vec<u8> = inline.events.iter().filter_map(|e| match e {
                    Ev::Data(d) => Some(d.clone()),
                    _ => None,
                }).flatten().collect();
                prop_assert_eq!(data, app_data(app, 7));
            }
            false => prop_assert_eq!(&inline.error, &Some(Error::DecryptError)),
        }
    }

    /// (b), (e): a failed or wrong-length result is an invalid ClientKeyExchange.
    #[test]
    fn a_wrong_result_is_an_invalid_client_key_exchange(
        case in cases(),
        answer in wrong_answers(),
        chunks in chunks(),
        after in prop_oneof![Just(0usize), 1usize..6, Just(usize::MAX)],
        flip in 0..K,
    ) {
        let script = script(&case, 100);
        let plan = Plan { after, answer, ..Plan::inline(chunks.clone()) };
        let offload = run(&case, Server::Offload, &script, &script.tail, &plan)?;
        // Without client authentication, the invalid ClientKeyExchange is on
        // the wire; with it, the client's CertificateVerify signs the
        // ClientKeyExchange, so the reference is an inline key that fails.
        let reference = match case.client_auth {
            false => run(&case, Server::Inline, &script, &corrupt_cke(&script, flip), &Plan::inline(chunks))?,
            true => run(&case, Server::InlineFailingKey, &script, &script.tail, &Plan::inline(chunks))?,
        };
        prop_assert_eq!(&offload.output, &reference.output);
        prop_assert_eq!(&offload.events, &reference.events);
        prop_assert_eq!(&offload.error, &reference.error);
        // A client whose hello was stripped of EMS signed another transcript:
        // its CertificateVerify fails first (decrypt_error).
        match !case.ems && case.client_auth {
            false => {
                prop_assert_eq!(&offload.error, &Some(Error::BadRecordMac));
                prop_assert!(offload.output.ends_with(&[21, 3, 3, 0, 2, 2, 20]));
            }
            true => prop_assert_eq!(&offload.error, &Some(Error::DecryptError)),
        }
    }

    /// (d): a connection that failed while the operation was out.
    #[test]
    fn a_connection_that_failed_meanwhile_keeps_its_error(
        case in cases(),
        chunks in chunks(),
    ) {
        let script = script(&case, 0);
        let plan = Plan { eof_while_pending: true, ..Plan::inline(chunks) };
        let offload = run(&case, Server::Offload, &script, &script.tail, &plan)?;
        prop_assert_eq!(offload.operations, 1);
        prop_assert!(offload.events.is_empty());
    }
}

/// The reference of (b) without client authentication, checked against the
/// failing inline key: both are "an invalid ClientKeyExchange".
#[test]
fn a_corrupted_ciphertext_and_a_failing_inline_key_look_the_same() {
    for ems in [true, false] {
        let case = Case {
            suite: &TLS_RSA_WITH_AES_128_GCM_SHA256,
            ems,
            client_auth: false,
            client_seed: 3,
            server_seed: 4,
        };
        let script = script(&case, 10);
        let plan = Plan::inline(vec![usize::MAX]);
        let corrupted = run(
            &case,
            Server::Inline,
            &script,
            &corrupt_cke(&script, 9),
            &plan,
        )
        .unwrap();
        let failing = run(
            &case,
            Server::InlineFailingKey,
            &script,
            &script.tail,
            &plan,
        )
        .unwrap();
        assert_eq!(corrupted, failing);
        assert_eq!(corrupted.error, Some(Error::BadRecordMac));
    }
}
