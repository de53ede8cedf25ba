//! The client side of mutual TLS (issue 13): what the client answers to a
//! CertificateRequest (RFC 5246 §7.4.4, §7.4.6) and its CertificateVerify
//! (§7.4.8), on both suites.
//!
//! Three views of the same behaviour:
//! - the client's flight decoded and checked here, against a server flight
//!   built by hand from the public codec: the chain, the scheme it picks, a
//!   signature checked with the `rsa` crate over exactly ClientHello ..
//!   ClientKeyExchange, the EMS session hash ending at ClientKeyExchange and
//!   the Finished covering the CertificateVerify (independent PRF and record
//!   protection from tests/common/wire.rs);
//! - a whole handshake with rsatls's own server asking for a certificate;
//! - a real `openssl s_server -Verify 1 -verify_return_error` that validates
//!   the chain to its CA file and checks the signature, for every scheme.

mod common;
#[path = "interop/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "chain/pki.rs"]
mod pki;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::wire::{directions, plain, prf, raw_records, records};
use common::*;
use harness::{Out, openssl_s_server};
use pki::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::signature::Verifier;
use rsatls::msgs::enums::{
    CipherSuite, ClientCertificateType, Compression, ContentType, ProtocolVersion, SignatureScheme,
};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::{CertificateRequest, DigitallySigned, HandshakeMessage, ServerHello};
use rsatls::stream::TlsStream;
use rsatls::suites::{ALL_SUITES, Suite};
use rsatls::{ClientAuthMode, ClientConfig, ClientConnection, ServerAuth, ServerConnection};
use spki::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// rsa_pkcs1_sha1 (RFC 5246 §7.4.1.4.1: hash 2, signature 1): never used.
const RSA_PKCS1_SHA1: SignatureScheme = SignatureScheme(0x0201);

/// The six schemes, in the order a server that prefers PKCS#1 and SHA-512
/// might list them: the client's own order must win.
const ALL_SERVER_ORDER: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA256,
];

// ---- the client's PKI (built with tests/chain/pki.rs from committed keys) ----

/// Root (rsa4096, "rsatls test root") -> client intermediate (rsa3072) ->
/// client leaf (other2048, clientAuth, digitalSignature).
fn client_chain() -> Vec<Vec<u8>> {
    let intermediate = certificate(
        "rsa3072",
        "rsatls client intermediate",
        ("rsa4096", "rsatls test root"),
        Kind::Ca,
        VALID,
    );
    let leaf = certificate_with(
        "other2048",
        "rsatls test client",
        ("rsa3072", "rsatls client intermediate"),
        Kind::Leaf(vec![dns("client.rsatls.invalid")]),
        VALID,
        Usage {
            key_usage: Some(KeyUsages::DigitalSignature.into()),
            extended: Some(vec![CLIENT_AUTH]),
        },
    );
    vec![leaf, intermediate]
}

/// A client that pins the committed rsa2048 server key, offering `suite`
/// only, with the client chain and key when `with_cert`.
fn client_config_for(suite: &'static Suite, with_cert: bool) -> ClientConfig {
    let config = ClientConfig::new(provider(), ServerAuth::Pins(vec![pin("rsa2048")]))
        .with_suites(&[suite])
        .unwrap();
    if with_cert {
        config
            .with_client_certificate(client_chain(), &key_file("other2048"))
            .unwrap()
    } else {
        config
    }
}

// ---- a server flight played by hand ------------------------------------------

/// A CertificateRequest as OpenSSL sends one: rsa_sign and ecdsa_sign, the
/// given schemes, and one CA name (advisory).
fn request(types: &[ClientCertificateType], schemes: &[SignatureScheme]) -> CertificateRequest {
    CertificateRequest {
        certificate_types: types.to_vec(),
        signature_schemes: schemes.to_vec(),
        certificate_authorities: Vec::new(),
    }
}

fn rsa_and_ecdsa() -> Vec<ClientCertificateType> {
    vec![
        ClientCertificateType::RSA_SIGN,
        ClientCertificateType::ECDSA_SIGN,
    ]
}

/// What the client sent after ServerHelloDone, decoded and checked.
#[derive(Debug)]
struct ClientFlight {
    /// The plaintext handshake messages before ChangeCipherSpec.
    messages: Vec<HandshakeMessage>,
    /// The Certificate's chain, if one was sent.
    chain: Option<Vec<Vec<u8>>>,
    /// The CertificateVerify, if one was sent.
    verify: Option<DigitallySigned>,
}

/// Runs the client to its second flight against a hand-made server flight
/// (ServerHello with EMS and renegotiation_info, the rsa2048 certificate,
/// `request` if any, ServerHelloDone), then checks that flight as a server
/// would, independently of the engine: the CertificateVerify (if any)
/// verifies under the client key over ClientHello .. ClientKeyExchange with
/// the hash of its own scheme, the extended master secret hashes up to
/// ClientKeyExchange only, and the client's Finished covers everything
/// including the CertificateVerify.
fn client_flight(
    suite: &'static Suite,
    config: ClientConfig,
    request: Option<CertificateRequest>,
    seed: u64,
) -> ClientFlight {
    let mut client = client(config, seed);
    let hello = handshake_payload(&take_output(&mut client));
    let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(&hello).unwrap() else {
        panic!("no ClientHello");
    };

    let server_random = [0x53; 32];
    let mut server_msgs = vec![
        HandshakeMessage::ServerHello(ServerHello {
            server_version: ProtocolVersion::TLSV1_2,
            random: server_random,
            session_id: Vec::new(),
            cipher_suite: suite.id,
            compression_method: Compression::NULL,
            extensions: Some(vec![
                Extension::ExtendedMasterSecret,
                Extension::RenegotiationInfo(Vec::new()),
            ]),
        }),
        HandshakeMessage::Certificate(vec![data("rsa2048.cert.der")]),
    ];
    if let Some(request) = request {
        server_msgs.push(HandshakeMessage::CertificateRequest(request));
    }
    server_msgs.push(HandshakeMessage::ServerHelloDone);
    let server_bytes: Vec<u8> = server_msgs.iter().flat_map(|m| m.to_bytes()).collect();
    let events = feed(
        &mut client,
        &plain(ContentType::HANDSHAKE, &server_bytes),
        1 << 20,
    )
    .expect("the client accepts the server flight");
    assert!(events.is_empty());

    // The client's flight: plaintext handshake records, ChangeCipherSpec,
    // then the protected Finished.
    let flight = take_output(&mut client);
    let recs = records(&flight);
    let ccs = recs
        .iter()
        .position(|(h, _)| h.typ == ContentType::CHANGE_CIPHER_SPEC)
        .expect("a ChangeCipherSpec");
    assert_eq!(recs.len(), ccs + 2, "Finished is the last record");
    let mut sent = Vec::new();
    for (h, fragment) in &recs[..ccs] {
        assert_eq!(h.typ, ContentType::HANDSHAKE);
        sent.extend_from_slice(fragment);
    }
    let messages = split_messages(&sent);

    let mut transcript = [hello.clone(), server_bytes].concat();
    let mut chain = None;
    let mut verify = None;
    let mut premaster = None;
    let mut session_hash = None;
    for (raw, msg) in &messages {
        match msg {
            HandshakeMessage::Certificate(c) => {
                assert!(premaster.is_none(), "Certificate after ClientKeyExchange");
                chain = Some(c.clone());
            }
            HandshakeMessage::ClientKeyExchange(encrypted) => {
                let pm = rsa_key("rsa2048")
                    .decrypt(rsa::Pkcs1v15Encrypt, encrypted)
                    .expect("premaster decrypts");
                premaster = Some(pm);
                // RFC 7627 §3: the session hash ends with ClientKeyExchange.
                transcript.extend_from_slice(raw);
                session_hash = Some(hash(suite, &transcript));
                continue;
            }
            HandshakeMessage::CertificateVerify(signed) => {
                assert!(
                    premaster.is_some(),
                    "CertificateVerify before ClientKeyExchange"
                );
                // RFC 5246 §7.4.8: over everything before this message.
                check_signature("other2048", signed, &transcript);
                verify = Some(signed.clone());
            }
            other => panic!("unexpected client message {other:?}"),
        }
        transcript.extend_from_slice(raw);
    }

    // Finished: under the extended master secret, over the whole transcript.
    let master = prf(
        suite.hash,
        &premaster.expect("a ClientKeyExchange"),
        b"extended master secret",
        &session_hash.unwrap(),
        48,
    );
    let (mut c2s, _) = directions(suite, &master, &ch.random, &server_random);
    let (typ, finished) = c2s.open(&raw_records(&flight)[ccs + 1]);
    assert_eq!(typ, ContentType::HANDSHAKE);
    let expected = prf(
        suite.hash,
        &master,
        b"client finished",
        &hash(suite, &transcript),
        12,
    );
    assert_eq!(
        HandshakeMessage::decode(&finished).unwrap(),
        HandshakeMessage::Finished(expected.try_into().unwrap()),
        "the client's Finished"
    );
    ClientFlight {
        messages: messages.into_iter().map(|(_, m)| m).collect(),
        chain,
        verify,
    }
}

fn hash(suite: &Suite, bytes: &[u8]) -> Vec<u8> {
    provider().hash(suite.hash, bytes).as_ref().to_vec()
}

/// The handshake payload of a flight of plaintext records.
fn handshake_payload(flight: &[u8]) -> Vec<u8> {
    records(flight)
        .into_iter()
        .inspect(|(h, _)| assert_eq!(h.typ, ContentType::HANDSHAKE))
        .flat_map(|(_, f)| f)
        .collect()
}

/// Splits handshake bytes into (encoded message, decoded message) pairs.
fn split_messages(mut rest: &[u8]) -> Vec<(Vec<u8>, HandshakeMessage)> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len =
            4 + (usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]));
        let raw = rest[..len].to_vec();
        let msg = HandshakeMessage::decode(&raw).unwrap();
        out.push((raw, msg));
        rest = &rest[len..];
    }
    out
}

/// Verifies `signed` over `message` under the committed key `key` with the
/// `rsa` crate (not the engine's code), with the hash its scheme names.
#[track_caller]
fn check_signature(key: &str, signed: &DigitallySigned, message: &[u8]) {
    use rsa::{pkcs1v15, pss};
    use sha2::{Sha256, Sha384, Sha512};
    let public = rsa_key(key).to_public_key();
    let sig = signed.signature.as_slice();
    let ok = match signed.scheme {
        SignatureScheme::RSA_PSS_RSAE_SHA256 => pss::VerifyingKey::<Sha256>::new(public)
            .verify(message, &sig.try_into().unwrap())
            .is_ok(),
        SignatureScheme::RSA_PSS_RSAE_SHA384 => pss::VerifyingKey::<Sha384>::new(public)
            .verify(message, &sig.try_into().unwrap())
            .is_ok(),
        SignatureScheme::RSA_PSS_RSAE_SHA512 => pss::VerifyingKey::<Sha512>::new(public)
            .verify(message, &sig.try_into().unwrap())
            .is_ok(),
        SignatureScheme::RSA_PKCS1_SHA256 => pkcs1v15::VerifyingKey::<Sha256>::new(public)
            .verify(message, &sig.try_into().unwrap())
            .is_ok(),
        SignatureScheme::RSA_PKCS1_SHA384 => pkcs1v15::VerifyingKey::<Sha384>::new(public)
            .verify(message, &sig.try_into().unwrap())
            .is_ok(),
        SignatureScheme::RSA_PKCS1_SHA512 => pkcs1v15::VerifyingKey::<Sha512>::new(public)
            .verify(message, &sig.try_into().unwrap())
            .is_ok(),
        other => panic!("CertificateVerify with {other:?}"),
    };
    assert!(
        ok,
        "CertificateVerify ({:?}) does not verify",
        signed.scheme
    );
}

/// The client sent its chain and a CertificateVerify with `scheme`.
#[track_caller]
fn assert_certified(flight: &ClientFlight, scheme: SignatureScheme) {
    assert_eq!(flight.chain.as_ref(), Some(&client_chain()), "the chain");
    let signed = flight.verify.as_ref().expect("a CertificateVerify");
    assert_eq!(signed.scheme, scheme);
    assert_eq!(signed.signature.len(), 256, "other2048's modulus length");
    assert!(matches!(
        flight.messages.as_slice(),
        [
            HandshakeMessage::Certificate(_),
            HandshakeMessage::ClientKeyExchange(_),
            HandshakeMessage::CertificateVerify(_),
        ]
    ));
}

/// The client sent an empty Certificate and no CertificateVerify.
#[track_caller]
fn assert_empty_certificate(flight: &ClientFlight) {
    assert_eq!(flight.chain, Some(Vec::new()), "an empty Certificate");
    assert!(flight.verify.is_none(), "no CertificateVerify");
    assert_eq!(flight.messages.len(), 2);
}

// ---- the client's answer to a CertificateRequest, in memory ------------------

/// Whatever order the server lists its schemes in, the client takes its own
/// first choice, rsa_pss_rsae_sha256; the chain goes out leaf first with its
/// intermediate; both suites.
#[test]
fn client_sends_chain_and_certificate_verify_preferring_pss_sha256() {
    for suite in ALL_SUITES {
        let flight = client_flight(
            suite,
            client_config_for(suite, true),
            Some(request(&rsa_and_ecdsa(), &ALL_SERVER_ORDER)),
            1,
        );
        assert_certified(&flight, SignatureScheme::RSA_PSS_RSAE_SHA256);
    }
}

/// With only PKCS#1 v1.5 offered (and SHA-1 and ECDSA, which the client never
/// uses), the client signs with the first PKCS#1 scheme it supports.
#[test]
fn client_picks_pkcs1_when_only_that_is_offered() {
    for suite in ALL_SUITES {
        let offered = [
            RSA_PKCS1_SHA1,
            SignatureScheme::ECDSA_SECP256R1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA512,
            SignatureScheme::RSA_PKCS1_SHA384,
        ];
        let flight = client_flight(
            suite,
            client_config_for(suite, true),
            Some(request(&rsa_and_ecdsa(), &offered)),
            2,
        );
        assert_certified(&flight, SignatureScheme::RSA_PKCS1_SHA384);
    }
}

/// Each of the six schemes, offered alone, is the one used, and its
/// signature verifies with its own hash (SHA-384 and SHA-512 differ from the
/// SHA-256 suite's PRF hash, SHA-256 from the SHA-384 suite's).
#[test]
fn each_scheme_offered_alone_is_used_with_its_own_hash() {
    for suite in ALL_SUITES {
        for scheme in ALL_SERVER_ORDER {
            let flight = client_flight(
                suite,
                client_config_for(suite, true),
                Some(request(&[ClientCertificateType::RSA_SIGN], &[scheme])),
                3,
            );
            assert_certified(&flight, scheme);
        }
    }
}

/// RFC 5246 §7.4.6: without rsa_sign among certificate_types the RSA
/// certificate is not appropriate; the client answers with an empty list.
#[test]
fn no_rsa_sign_in_the_request_gets_an_empty_certificate() {
    for suite in ALL_SUITES {
        let flight = client_flight(
            suite,
            client_config_for(suite, true),
            Some(request(
                &[
                    ClientCertificateType::ECDSA_SIGN,
                    ClientCertificateType::DSS_SIGN,
                ],
                &ALL_SERVER_ORDER,
            )),
            4,
        );
        assert_empty_certificate(&flight);
    }
}

/// RFC 5246 §7.4.4: the client's signature must use an offered algorithm;
/// with only SHA-1 and ECDSA offered it has none, so its Certificate is empty.
#[test]
fn no_usable_scheme_in_the_request_gets_an_empty_certificate() {
    for suite in ALL_SUITES {
        let flight = client_flight(
            suite,
            client_config_for(suite, true),
            Some(request(
                &rsa_and_ecdsa(),
                &[
                    RSA_PKCS1_SHA1,
                    SignatureScheme::ECDSA_SECP256R1_SHA256,
                    SignatureScheme::ECDSA_SECP384R1_SHA384,
                    SignatureScheme(0x0809), // rsa_pss_pss_sha256: not an rsaEncryption key
                ],
            )),
            5,
        );
        assert_empty_certificate(&flight);
    }
}

/// A client without a certificate answers any request with an empty list.
#[test]
fn a_client_without_a_certificate_sends_an_empty_one() {
    for suite in ALL_SUITES {
        let flight = client_flight(
            suite,
            client_config_for(suite, false),
            Some(request(&rsa_and_ecdsa(), &ALL_SERVER_ORDER)),
            6,
        );
        assert_empty_certificate(&flight);
    }
}

/// Without a CertificateRequest the configured certificate stays home.
#[test]
fn no_request_no_certificate() {
    for suite in ALL_SUITES {
        let flight = client_flight(suite, client_config_for(suite, true), None, 7);
        assert!(flight.chain.is_none() && flight.verify.is_none());
        assert!(matches!(
            flight.messages.as_slice(),
            [HandshakeMessage::ClientKeyExchange(_)]
        ));
    }
}

/// certificate_authorities is advisory (as in OpenSSL's client): a request
/// naming only some other CA still gets the chain.
#[test]
fn certificate_authorities_are_advisory() {
    use der::Encode;
    let other_ca = x509_cert::name::Name::from_str("CN=some other CA")
        .unwrap()
        .to_der()
        .unwrap();
    for suite in ALL_SUITES {
        let mut req = request(&rsa_and_ecdsa(), &ALL_SERVER_ORDER);
        req.certificate_authorities = vec![other_ca.clone()];
        let flight = client_flight(suite, client_config_for(suite, true), Some(req), 8);
        assert_certified(&flight, SignatureScheme::RSA_PSS_RSAE_SHA256);
    }
}

/// The PSS salt comes from the connection's RNG: the same seed gives the same
/// bytes on the wire (golden transcripts), another seed another signature.
#[test]
fn the_client_flight_is_reproducible_from_its_seed() {
    let suite = ALL_SUITES[0];
    let run = |seed| {
        let mut client = client(client_config_for(suite, true), seed);
        let mut server = server_asking(suite, ClientAuthMode::Required, 9);
        let t = handshake(&mut client, &mut server).unwrap();
        assert!(client.is_established() && server.is_established());
        t.flights
    };
    assert_eq!(run(10), run(10));
    assert_ne!(run(10)[2], run(11)[2]);
}

// ---- against rsatls's own server ---------------------------------------------

/// A server for the committed rsa2048 key asking for certificates under the
/// test root, validating at pki's `now`.
fn server_asking(suite: &'static Suite, mode: ClientAuthMode, seed: u64) -> ServerConnection {
    let config = server_config("rsa2048")
        .with_suites(&[suite])
        .unwrap()
        .with_client_auth(vec![pki().root.clone()], mode)
        .unwrap();
    ServerConnection::new_at(Arc::new(config), now(), ChaCha20Rng::seed_from_u64(seed))
}

/// The whole handshake with rsatls's server requiring a certificate, both
/// suites: the server validated the chain to its root and reports it.
#[test]
fn rsatls_server_requiring_a_certificate_accepts_the_client() {
    for suite in ALL_SUITES {
        for mode in [ClientAuthMode::Required, ClientAuthMode::Optional] {
            let mut client: ClientConnection = client(client_config_for(suite, true), 12);
            let mut server = server_asking(suite, mode, 13);
            let t = handshake(&mut client, &mut server).unwrap();
            let Some(Ev::Complete(info)) = t.server_events.first() else {
                panic!("server did not complete: {t:?}")
            };
            assert_eq!(info.suite, suite);
            assert_eq!(info.peer_certificates, client_chain());
            assert!(client.is_established());
        }
    }
}

// ---- against openssl s_server ------------------------------------------------

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory: unique per process and per call, since the tests
    /// run in parallel threads.
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rsatls-client-auth-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the test root (the client CA) as PEM, with the openssl CLI.
fn write_root_pem(dir: &Path) -> PathBuf {
    let der = dir.join("root.der");
    std::fs::write(&der, &pki().root).unwrap();
    let pem = dir.join("root.pem");
    let status = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&der)
        .arg("-out")
        .arg(&pem)
        .status()
        .expect("openssl runs");
    assert!(status.success());
    pem
}

/// OpenSSL's name for `scheme` in a sigalgs list.
fn openssl_sigalg(scheme: SignatureScheme) -> &'static str {
    match scheme {
        SignatureScheme::RSA_PSS_RSAE_SHA256 => "rsa_pss_rsae_sha256",
        SignatureScheme::RSA_PSS_RSAE_SHA384 => "rsa_pss_rsae_sha384",
        SignatureScheme::RSA_PSS_RSAE_SHA512 => "rsa_pss_rsae_sha512",
        SignatureScheme::RSA_PKCS1_SHA256 => "rsa_pkcs1_sha256",
        SignatureScheme::RSA_PKCS1_SHA384 => "rsa_pkcs1_sha384",
        SignatureScheme::RSA_PKCS1_SHA512 => "rsa_pkcs1_sha512",
        _ => unreachable!(),
    }
}

/// One connection from the engine (over a blocking TCP stream) to
/// `openssl s_server -Verify 1 -verify_return_error -CAfile ROOT` with
/// `extra` arguments: returns whether the handshake and one line each way
/// succeeded, and s_server's output.
fn to_s_server(suite: &'static Suite, config: ClientConfig, extra: &[&str]) -> (bool, String) {
    let dir = TempDir::new(suite.name);
    let root = write_root_pem(&dir.0);
    let root = root.to_str().unwrap();
    let mut args = vec!["-Verify", "1", "-verify_return_error", "-CAfile", root];
    args.extend_from_slice(extra);
    let cert = format!("{}/tests/data/rsa2048.cert.pem", env!("CARGO_MANIFEST_DIR"));
    let key = format!("{}/tests/data/rsa2048.key.pem", env!("CARGO_MANIFEST_DIR"));
    let (mut server, addr) = openssl_s_server(openssl_cipher(suite), &cert, &key, &args, &[]);
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let client = ClientConnection::new(Arc::new(config), Some("localhost"), rng(20)).unwrap();
    let mut tls = TlsStream::new(client, tcp);
    let ok = (|| -> std::io::Result<()> {
        tls.handshake()?;
        tls.write_all(b"hello from the rsatls client\n")?;
        tls.flush()?;
        server.wait_for(
            Out::Stdout,
            "hello from the rsatls client",
            Duration::from_secs(20),
        );
        server.send("hello from s_server\n");
        let mut buf = [0u8; 64];
        let n = tls.read(&mut buf)?;
        assert_eq!(&buf[..n], b"hello from s_server\n");
        tls.close()
    })()
    .is_ok();
    server.close_stdin();
    server.wait_exit(Duration::from_secs(20));
    (ok, server.report())
}

/// OpenSSL's name for `suite`.
fn openssl_cipher(suite: &Suite) -> &'static str {
    match suite.id {
        CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256 => "AES128-GCM-SHA256",
        CipherSuite::TLS_RSA_WITH_AES_256_GCM_SHA384 => "AES256-GCM-SHA384",
        _ => unreachable!(),
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Done-when of issue 13: a real OpenSSL server requiring a client
/// certificate (`-Verify 1 -verify_return_error`) validates the chain the
/// engine sends to its CA file (the intermediate comes from the client) and
/// accepts its CertificateVerify, on both suites, with OpenSSL's default
/// signature algorithms (the client picks rsa_pss_rsae_sha256).
#[test]
fn openssl_s_server_requiring_a_certificate_accepts_the_client() {
    harness::require("openssl", &["version"]);
    for suite in ALL_SUITES {
        let (ok, out) = to_s_server(suite, client_config_for(suite, true), &["-msg"]);
        assert!(ok, "{out}");
        assert!(out.contains("CertificateVerify"), "{out}");
        assert!(out.contains("rsatls test client"), "client subject\n{out}");
    }
}

/// OpenSSL accepts each of the six schemes when it offers only that one
/// (`-client_sigalgs`): SHA-384 and SHA-512 signatures under both suites.
#[test]
fn openssl_s_server_accepts_every_scheme() {
    harness::require("openssl", &["version"]);
    for suite in ALL_SUITES {
        for scheme in ALL_SERVER_ORDER {
            let (ok, out) = to_s_server(
                suite,
                client_config_for(suite, true),
                &["-client_sigalgs", openssl_sigalg(scheme), "-msg"],
            );
            assert!(ok, "{scheme:?}\n{out}");
            // `-msg` dumps the CertificateVerify it received: type 15, length
            // 260 (scheme, length 256, a 2048-bit signature), then the scheme.
            let [hi, lo] = scheme.0.to_be_bytes();
            let head = format!("0f 00 01 04 {hi:02x} {lo:02x} 01 00");
            assert!(out.contains(&head), "{scheme:?}: no {head}\n{out}");
        }
    }
}

/// The control: the same s_server refuses a client without a certificate
/// (`-Verify`: required), so the tests above do depend on the certificate.
#[test]
fn openssl_s_server_refuses_a_client_without_a_certificate() {
    harness::require("openssl", &["version"]);
    let suite = ALL_SUITES[0];
    let (ok, out) = to_s_server(suite, client_config_for(suite, false), &[]);
    assert!(!ok, "{out}");
}
