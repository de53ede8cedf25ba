//! The server side of mutual TLS (issue 13): CertificateRequest, the client's
//! Certificate validated to the configured roots, and its CertificateVerify
//! (RFC 5246 §7.4.4, §7.4.6, §7.4.8), on both suites.
//!
//! The client's flights are built here by hand from the public codec, with
//! the premaster encrypted and the CertificateVerify signed by the `rsa`
//! dev-dependency, and the key schedule recomputed with the test PRF: so each
//! test can send exactly the (mis)ordered or (mis)signed flight it needs and
//! the server's answer is checked byte for byte. The client PKI is made from
//! the committed keys with tests/chain/pki.rs's builder.

mod common;
#[path = "chain/pki.rs"]
mod pki;

use std::sync::Arc;

use common::wire::{Direction, directions, plain, prf, raw_records, records, unhex};
use common::*;
use der::Encode;
use pki::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use rsatls::msgs::enums::{
    AlertDescription, CipherSuite, ClientCertificateType, Compression, ContentType,
    ProtocolVersion, SignatureScheme,
};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::{ClientHello, DigitallySigned, HandshakeMessage};
use rsatls::suites::{ALL_SUITES, Suite};
use rsatls::{CertificateError, ClientAuthMode, Error, ServerConnection};
use spki::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::KeyUsages;

const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

/// The schemes the server offers, in its order (RFC 5246 §7.4.1.4.1 codes).
const OFFERED: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

// The client PKI: the test root (rsa4096) is the client CA; leaves for
// other2048 (the client's key) under it; another, unrelated CA.

const CA: (&str, &str) = ("rsa4096", "rsatls test root");
const OTHER_CA: (&str, &str) = ("rsa3072", "rsatls other client CA");

fn client_usage() -> Usage {
    Usage {
        key_usage: Some(KeyUsages::DigitalSignature.into()),
        extended: Some(vec![CLIENT_AUTH]),
    }
}

fn client_leaf_with(
    key: &str,
    issuer: (&str, &str),
    validity: (u64, u64),
    usage: Usage,
) -> Vec<u8> {
    certificate_with(
        key,
        "rsatls test client",
        issuer,
        Kind::Leaf(vec![dns("client.rsatls.invalid")]),
        validity,
        usage,
    )
}

/// A valid client leaf (clientAuth, digitalSignature) for other2048.
fn client_leaf() -> Vec<u8> {
    client_leaf_with("other2048", CA, VALID, client_usage())
}

fn other_ca() -> Vec<u8> {
    certificate("rsa3072", OTHER_CA.1, OTHER_CA, Kind::Ca, VALID)
}

fn subject_of(cert: &[u8]) -> Vec<u8> {
    use der::Decode;
    Certificate::from_der(cert)
        .unwrap()
        .tbs_certificate()
        .subject()
        .to_der()
        .unwrap()
}

/// A server asking for client certificates issued under [`CA`].
fn server_at(mode: ClientAuthMode, seed: u64) -> (ServerConnection, Arc<MemoryKeyLog>) {
    let log = Arc::new(MemoryKeyLog::default());
    let config = server_config("rsa2048")
        .with_client_auth(vec![pki().root.clone()], mode)
        .unwrap()
        .with_key_log(log.clone());
    let s = ServerConnection::new_at(Arc::new(config), now(), ChaCha20Rng::seed_from_u64(seed));
    (s, log)
}

/// A client played by hand: its handshake state and key schedule, kept
/// independently of the engine's.
struct HandClient {
    suite: &'static Suite,
    server: ServerConnection,
    log: Arc<MemoryKeyLog>,
    /// Every handshake message so far, as the client sees it.
    transcript: Vec<u8>,
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// The server's first flight, decoded.
    server_flight: Vec<HandshakeMessage>,
    premaster: Vec<u8>,
    /// RFC 7627 §3: the transcript hash at ClientKeyExchange.
    session_hash: Option<Vec<u8>>,
    rng: ChaCha20Rng,
}

impl HandClient {
    /// Sends a ClientHello offering `suite` with EMS and secure renegotiation,
    /// and reads the server's first flight.
    fn start(suite: &'static Suite, mode: ClientAuthMode) -> Self {
        let (server, log) = server_at(mode, 2);
        let mut rng = ChaCha20Rng::seed_from_u64(0xc1);
        let mut client_random = [0u8; 32];
        rng.fill_bytes(&mut client_random);
        let hello = HandshakeMessage::ClientHello(ClientHello {
            client_version: ProtocolVersion::TLSV1_2,
            random: client_random,
            session_id: Vec::new(),
            cipher_suites: vec![suite.id, CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV],
            compression_methods: vec![Compression::NULL],
            extensions: Some(vec![Extension::ExtendedMasterSecret]),
        })
        .to_bytes();
        let mut premaster = vec![3; 48];
        rng.fill_bytes(&mut premaster[2..]);
        let mut c = Self {
            suite,
            server,
            log,
            transcript: Vec::new(),
            client_random,
            server_random: [0; 32],
            server_flight: Vec::new(),
            premaster,
            session_hash: None,
            rng,
        };
        let rec = c.handshake(&hello);
        c.send_ok(&rec);
        let flight = take_output(&mut c.server);
        let payload: Vec<u8> = records(&flight).into_iter().flat_map(|(_, f)| f).collect();
        c.transcript.extend_from_slice(&payload);
        let mut rest = payload.as_slice();
        while !rest.is_empty() {
            let len =
                4 + (usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]));
            c.server_flight
                .push(HandshakeMessage::decode(&rest[..len]).unwrap());
            rest = &rest[len..];
        }
        let HandshakeMessage::ServerHello(sh) = &c.server_flight[0] else {
            panic!("{:?}", c.server_flight[0])
        };
        assert_eq!(sh.cipher_suite, suite.id);
        c.server_random = sh.random;
        c
    }

    /// A plaintext handshake record of `msg`, added to the client's transcript.
    fn handshake(&mut self, msg: &[u8]) -> Vec<u8> {
        self.transcript.extend_from_slice(msg);
        plain(ContentType::HANDSHAKE, msg)
    }

    fn certificate(&mut self, chain: Vec<Vec<u8>>) -> Vec<u8> {
        self.handshake(&HandshakeMessage::Certificate(chain).to_bytes())
    }

    /// ClientKeyExchange: the premaster under the server's key (rsa2048).
    fn client_key_exchange(&mut self) -> Vec<u8> {
        let public = rsa_key("rsa2048").to_public_key();
        let encrypted = public
            .encrypt(&mut self.rng, rsa::Pkcs1v15Encrypt, &self.premaster)
            .unwrap();
        let rec = self.handshake(&HandshakeMessage::ClientKeyExchange(encrypted).to_bytes());
        self.session_hash = Some(self.hash(&self.transcript));
        rec
    }

    fn hash(&self, bytes: &[u8]) -> Vec<u8> {
        provider().hash(self.suite.hash, bytes).as_ref().to_vec()
    }

    /// CertificateVerify naming `scheme`, signed by the committed key `key` over
    /// the transcript so far with `signed_as` (normally `scheme`).
    fn certificate_verify_as(
        &mut self,
        key: &str,
        scheme: SignatureScheme,
        signed_as: SignatureScheme,
    ) -> Vec<u8> {
        let signature = sign(key, signed_as, &self.transcript, &mut self.rng);
        self.handshake(&certificate_verify_message(scheme, signature))
    }

    fn certificate_verify(&mut self, key: &str, scheme: SignatureScheme) -> Vec<u8> {
        self.certificate_verify_as(key, scheme, scheme)
    }

    /// RFC 7627 §4: the extended master secret.
    fn master(&self) -> Vec<u8> {
        let session_hash = self.session_hash.as_ref().expect("after ClientKeyExchange");
        prf(
            self.suite.hash,
            &self.premaster,
            b"extended master secret",
            session_hash,
            48,
        )
    }

    fn directions(&self) -> (Direction, Direction) {
        directions(
            self.suite,
            &self.master(),
            &self.client_random,
            &self.server_random,
        )
    }

    /// ChangeCipherSpec and the client's Finished, protected.
    fn change_cipher_spec_and_finished(&mut self) -> Vec<u8> {
        let (mut write, _) = self.directions();
        let verify_data = prf(
            self.suite.hash,
            &self.master(),
            b"client finished",
            &self.hash(&self.transcript),
            12,
        );
        let finished = HandshakeMessage::Finished(verify_data.try_into().unwrap()).to_bytes();
        self.transcript.extend_from_slice(&finished);
        [
            plain(ContentType::CHANGE_CIPHER_SPEC, &[1]),
            write.seal(ContentType::HANDSHAKE, &finished),
        ]
        .concat()
    }

    fn send(&mut self, wire: &[u8]) -> Result<Vec<Ev>, Error> {
        feed(&mut self.server, wire, usize::MAX)
    }

    #[track_caller]
    fn send_ok(&mut self, wire: &[u8]) {
        assert_eq!(self.send(wire), Ok(vec![]));
    }

    /// Sends `wire` and checks the server failed with `err`, sent exactly the
    /// plaintext fatal alert `alert`, and keeps failing.
    #[track_caller]
    fn assert_refused(&mut self, wire: &[u8], err: Error, alert: AlertDescription) {
        assert_eq!(self.send(wire), Err(err.clone()));
        assert_eq!(err.alert(), Some(alert), "{err:?}");
        assert_eq!(take_output(&mut self.server), fatal(alert), "{err:?}");
        assert_eq!(self.server.poll_event(), Err(err));
        assert!(!self.server.wants_write());
    }

    /// Sends the client's last flight and checks the handshake completed: the
    /// server's Finished verifies over the whole transcript and its info is
    /// returned.
    #[track_caller]
    fn complete(&mut self, wire: &[u8]) -> rsatls::HandshakeInfo {
        let events = self.send(wire).expect("handshake completes");
        let [Ev::Complete(info)] = events.as_slice() else {
            panic!("{events:?}")
        };
        let answer = take_output(&mut self.server);
        let recs = raw_records(&answer);
        assert_eq!(recs.len(), 2, "ChangeCipherSpec, Finished");
        let (_, mut read) = self.directions();
        let (typ, finished) = read.open(&recs[1]);
        assert_eq!(typ, ContentType::HANDSHAKE);
        let expected = prf(
            self.suite.hash,
            &self.master(),
            b"server finished",
            &self.hash(&self.transcript),
            12,
        );
        assert_eq!(
            HandshakeMessage::decode(&finished).unwrap(),
            HandshakeMessage::Finished(expected.try_into().unwrap())
        );
        info.clone()
    }
}

fn certificate_verify_message(scheme: SignatureScheme, signature: Vec<u8>) -> Vec<u8> {
    HandshakeMessage::CertificateVerify(DigitallySigned { scheme, signature }).to_bytes()
}

/// Signs `message` with the committed key `key` as `scheme` (PSS salt of the
/// hash's length, RFC 8446 §4.2.3), with the `rsa` crate.
fn sign(key: &str, scheme: SignatureScheme, message: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
    use rsa::{pkcs1v15, pss};
    use sha2::{Sha256, Sha384, Sha512};
    let k = rsa_key(key);
    match scheme {
        SignatureScheme::RSA_PSS_RSAE_SHA256 => pss::SigningKey::<Sha256>::new(k)
            .sign_with_rng(rng, message)
            .to_vec(),
        SignatureScheme::RSA_PSS_RSAE_SHA384 => pss::SigningKey::<Sha384>::new(k)
            .sign_with_rng(rng, message)
            .to_vec(),
        SignatureScheme::RSA_PSS_RSAE_SHA512 => pss::SigningKey::<Sha512>::new(k)
            .sign_with_rng(rng, message)
            .to_vec(),
        SignatureScheme::RSA_PKCS1_SHA256 => pkcs1v15::SigningKey::<Sha256>::new(k)
            .sign(message)
            .to_vec(),
        SignatureScheme::RSA_PKCS1_SHA384 => pkcs1v15::SigningKey::<Sha384>::new(k)
            .sign(message)
            .to_vec(),
        SignatureScheme::RSA_PKCS1_SHA512 => pkcs1v15::SigningKey::<Sha512>::new(k)
            .sign(message)
            .to_vec(),
        other => panic!("no signer for {other:?}"),
    }
}

/// The flight of an authenticated client: Certificate, ClientKeyExchange,
/// CertificateVerify, ChangeCipherSpec, Finished.
fn authenticated_flight(
    c: &mut HandClient,
    chain: Vec<Vec<u8>>,
    scheme: SignatureScheme,
) -> Vec<u8> {
    [
        c.certificate(chain),
        c.client_key_exchange(),
        c.certificate_verify("other2048", scheme),
        c.change_cipher_spec_and_finished(),
    ]
    .concat()
}

#[test]
fn an_authenticated_client_completes_on_both_suites_with_every_offered_scheme() {
    for suite in ALL_SUITES {
        for scheme in OFFERED {
            let mut c = HandClient::start(suite, ClientAuthMode::Required);
            let flight = authenticated_flight(&mut c, vec![client_leaf()], scheme);
            let info = c.complete(&flight);
            assert_eq!(info.peer_certificates, vec![client_leaf()], "{scheme:?}");
            assert_eq!(info.suite.id, suite.id);
            assert!(info.extended_master_secret);
            assert_eq!(
                c.server.handshake_info().unwrap().peer_certificates,
                vec![client_leaf()]
            );
        }
    }
}

#[test]
fn a_chain_through_an_intermediate_is_accepted_and_reported_whole() {
    let intermediate = certificate("rsa3072", "rsatls client intermediate", CA, Kind::Ca, VALID);
    let leaf = client_leaf_with(
        "other2048",
        ("rsa3072", "rsatls client intermediate"),
        VALID,
        client_usage(),
    );
    let chain = vec![leaf, intermediate];
    let mut c = HandClient::start(
        &rsatls::suites::TLS_RSA_WITH_AES_128_GCM_SHA256,
        ClientAuthMode::Required,
    );
    let flight = authenticated_flight(&mut c, chain.clone(), SignatureScheme::RSA_PSS_RSAE_SHA256);
    assert_eq!(c.complete(&flight).peer_certificates, chain);
}

#[test]
fn the_certificate_request_names_rsa_sign_the_offered_schemes_and_the_roots() {
    let c = HandClient::start(ALL_SUITES[0], ClientAuthMode::Required);
    let names: Vec<_> = c.server_flight.iter().map(HandshakeMessage::name).collect();
    assert_eq!(
        names,
        [
            "ServerHello",
            "Certificate",
            "CertificateRequest",
            "ServerHelloDone"
        ]
    );
    let HandshakeMessage::CertificateRequest(cr) = &c.server_flight[2] else {
        panic!()
    };
    assert_eq!(cr.certificate_types, vec![ClientCertificateType::RSA_SIGN]);
    assert_eq!(cr.signature_schemes, OFFERED.to_vec());
    assert_eq!(cr.certificate_authorities, vec![subject_of(&pki().root)]);
}

#[test]
fn a_server_without_client_auth_sends_no_certificate_request() {
    let mut s = server(server_config("rsa2048"), 2);
    let mut cl = client(client_config("rsa2048"), 1);
    feed(&mut s, &take_output(&mut cl), usize::MAX).unwrap();
    let flight = take_output(&mut s);
    let payload: Vec<u8> = records(&flight).into_iter().flat_map(|(_, f)| f).collect();
    let mut types = Vec::new();
    let mut rest = payload.as_slice();
    while !rest.is_empty() {
        let len =
            4 + (usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]));
        types.push(rest[0]);
        rest = &rest[len..];
    }
    assert_eq!(types, [2, 11, 14]);
}

#[test]
fn the_ca_names_are_bounded_to_16_kib() {
    // 700 roots of ~30-byte names: over 16 KiB of names in all.
    let name_len = 2 + subject_of(&pki().root).len();
    let roots = vec![pki().root.clone(); 700];
    assert!(700 * name_len > 16 * 1024);
    let config = server_config("rsa2048")
        .with_client_auth(roots, ClientAuthMode::Required)
        .unwrap();
    let mut s = ServerConnection::new_at(Arc::new(config), now(), ChaCha20Rng::seed_from_u64(2));
    let mut cl = client(client_config("rsa2048"), 1);
    feed(&mut s, &take_output(&mut cl), usize::MAX).unwrap();
    let flight = take_output(&mut s);
    let payload: Vec<u8> = records(&flight).into_iter().flat_map(|(_, f)| f).collect();
    let mut rest = payload.as_slice();
    let mut request = None;
    while !rest.is_empty() {
        let len =
            4 + (usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]));
        if let Ok(HandshakeMessage::CertificateRequest(cr)) = HandshakeMessage::decode(&rest[..len])
        {
            request = Some(cr);
        }
        rest = &rest[len..];
    }
    let cr = request.expect("a CertificateRequest");
    let total: usize = cr.certificate_authorities.iter().map(|n| 2 + n.len()).sum();
    assert!(total <= 16 * 1024, "{total}");
    assert!(total > 16 * 1024 - name_len, "stopped early: {total}");
}

#[test]
fn required_client_auth_refuses_an_empty_certificate_with_handshake_failure() {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, ClientAuthMode::Required);
        let empty = c.certificate(Vec::new());
        c.assert_refused(
            &empty,
            Error::HandshakeFailure("the client sent no certificate and one is required"),
            AlertDescription::HANDSHAKE_FAILURE,
        );
    }
}

#[test]
fn optional_client_auth_accepts_an_empty_certificate_unauthenticated() {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, ClientAuthMode::Optional);
        let flight = [
            c.certificate(Vec::new()),
            c.client_key_exchange(),
            c.change_cipher_spec_and_finished(),
        ]
        .concat();
        assert_eq!(c.complete(&flight).peer_certificates, Vec::<Vec<u8>>::new());
    }
}

/// Sends `chain` as the client's Certificate and checks the refusal.
#[track_caller]
fn assert_chain_refused(
    mode: ClientAuthMode,
    chain: Vec<Vec<u8>>,
    why: CertificateError,
    alert: AlertDescription,
) {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, mode);
        let cert = c.certificate(chain.clone());
        c.assert_refused(&cert, Error::BadCertificate(why), alert);
    }
}

#[test]
fn a_client_chain_from_another_ca_is_unknown_ca_in_either_mode() {
    let leaf = client_leaf_with("other2048", OTHER_CA, VALID, client_usage());
    for mode in [ClientAuthMode::Required, ClientAuthMode::Optional] {
        assert_chain_refused(
            mode,
            vec![leaf.clone(), other_ca()],
            CertificateError::UnknownIssuer,
            AlertDescription::UNKNOWN_CA,
        );
    }
}

#[test]
fn an_expired_client_certificate_is_certificate_expired_in_either_mode() {
    let leaf = client_leaf_with(
        "other2048",
        CA,
        (NOW - 2 * YEAR, NOW - YEAR),
        client_usage(),
    );
    for mode in [ClientAuthMode::Required, ClientAuthMode::Optional] {
        assert_chain_refused(
            mode,
            vec![leaf.clone()],
            CertificateError::Expired,
            AlertDescription::CERTIFICATE_EXPIRED,
        );
    }
}

#[test]
fn a_server_auth_only_client_certificate_is_refused() {
    // RFC 5280 §4.2.1.12: an extendedKeyUsage without clientAuth.
    let usage = Usage {
        key_usage: Some(KeyUsages::DigitalSignature.into()),
        extended: Some(vec![SERVER_AUTH]),
    };
    let leaf = client_leaf_with("other2048", CA, VALID, usage);
    assert_chain_refused(
        ClientAuthMode::Required,
        vec![leaf],
        CertificateError::InvalidChain,
        AlertDescription::BAD_CERTIFICATE,
    );
}

#[test]
fn a_client_certificate_whose_key_usage_forbids_signing_is_refused() {
    // RFC 5280 §4.2.1.3: keyUsage present without digitalSignature.
    let usage = Usage {
        key_usage: Some(KeyUsages::KeyEncipherment.into()),
        extended: Some(vec![CLIENT_AUTH]),
    };
    let leaf = client_leaf_with("other2048", CA, VALID, usage);
    assert_chain_refused(
        ClientAuthMode::Required,
        vec![leaf],
        CertificateError::NoDigitalSignature,
        AlertDescription::UNSUPPORTED_CERTIFICATE,
    );
    // Without a keyUsage extension the key may sign.
    let usage = Usage {
        key_usage: None,
        extended: Some(vec![CLIENT_AUTH]),
    };
    let mut c = HandClient::start(ALL_SUITES[0], ClientAuthMode::Required);
    let leaf = client_leaf_with("other2048", CA, VALID, usage);
    let flight = authenticated_flight(&mut c, vec![leaf], SignatureScheme::RSA_PKCS1_SHA256);
    c.complete(&flight);
}

#[test]
fn a_client_key_under_2048_bits_is_refused() {
    let leaf = client_leaf_with("rsa1024", CA, VALID, client_usage());
    assert_chain_refused(
        ClientAuthMode::Required,
        vec![leaf],
        CertificateError::KeySize,
        AlertDescription::UNSUPPORTED_CERTIFICATE,
    );
}

#[test]
fn client_auth_on_a_connection_without_the_time_fails_at_the_client_hello() {
    let config = server_config("rsa2048")
        .with_client_auth(vec![pki().root.clone()], ClientAuthMode::Optional)
        .unwrap();
    let mut s = server(config, 2);
    let mut cl = client(client_config("rsa2048"), 1);
    let err = feed(&mut s, &take_output(&mut cl), usize::MAX).unwrap_err();
    assert!(matches!(err, Error::Internal(_)), "{err:?}");
    assert_eq!(take_output(&mut s), fatal(AlertDescription::INTERNAL_ERROR));
}

#[test]
fn a_certificate_verify_with_a_scheme_not_offered_is_illegal_parameter() {
    for suite in ALL_SUITES {
        for scheme in [
            SignatureScheme(0x0201), // rsa_pkcs1_sha1
            SignatureScheme::ECDSA_SECP256R1_SHA256,
            SignatureScheme(0x0809), // ed25519
        ] {
            let mut c = HandClient::start(suite, ClientAuthMode::Required);
            let head = [c.certificate(vec![client_leaf()]), c.client_key_exchange()].concat();
            c.send_ok(&head);
            let signature = sign(
                "other2048",
                SignatureScheme::RSA_PKCS1_SHA256,
                &c.transcript,
                &mut c.rng,
            );
            let cv = c.handshake(&certificate_verify_message(scheme, signature));
            c.assert_refused(
                &cv,
                Error::PeerMisbehaved(rsatls::Misbehavior::IllegalParameter(
                    "CertificateVerify uses an algorithm the server did not offer",
                )),
                AlertDescription::ILLEGAL_PARAMETER,
            );
        }
    }
}

/// Sends Certificate and ClientKeyExchange, then `cv(c)`; expects decrypt_error.
#[track_caller]
fn assert_signature_refused(cv: impl Fn(&mut HandClient) -> Vec<u8>) {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, ClientAuthMode::Required);
        let head = [c.certificate(vec![client_leaf()]), c.client_key_exchange()].concat();
        c.send_ok(&head);
        let cv = cv(&mut c);
        c.assert_refused(&cv, Error::DecryptError, AlertDescription::DECRYPT_ERROR);
    }
}

#[test]
fn a_certificate_verify_by_the_wrong_key_is_decrypt_error() {
    // Signed by the server's key, not the certificate's (other2048).
    assert_signature_refused(|c| {
        c.certificate_verify("rsa2048", SignatureScheme::RSA_PSS_RSAE_SHA256)
    });
    assert_signature_refused(|c| {
        c.certificate_verify("rsa3072", SignatureScheme::RSA_PKCS1_SHA256)
    });
}

#[test]
fn a_tampered_certificate_verify_is_decrypt_error() {
    assert_signature_refused(|c| {
        let mut signature = sign(
            "other2048",
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            &c.transcript,
            &mut c.rng,
        );
        signature[17] ^= 1;
        c.handshake(&certificate_verify_message(
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            signature,
        ))
    });
    // A signature of the wrong length.
    assert_signature_refused(|c| {
        let mut signature = sign(
            "other2048",
            SignatureScheme::RSA_PKCS1_SHA256,
            &c.transcript,
            &mut c.rng,
        );
        signature.pop();
        c.handshake(&certificate_verify_message(
            SignatureScheme::RSA_PKCS1_SHA256,
            signature,
        ))
    });
}

#[test]
fn a_certificate_verify_is_hashed_with_its_own_scheme_not_the_prf_hash() {
    // Named SHA-384 but made with SHA-256 (the PRF hash of one suite), and the
    // reverse: RFC 5246 §7.4.8 hashes with the chosen algorithm.
    assert_signature_refused(|c| {
        c.certificate_verify_as(
            "other2048",
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA256,
        )
    });
    assert_signature_refused(|c| {
        c.certificate_verify_as(
            "other2048",
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            SignatureScheme::RSA_PSS_RSAE_SHA384,
        )
    });
}

#[test]
fn a_certificate_verify_over_a_different_transcript_is_decrypt_error() {
    // Over the transcript without the ClientKeyExchange (what a server that
    // signed over the wrong span would accept).
    assert_signature_refused(|c| {
        let cke_len = {
            let t = &c.transcript;
            let mut at = 0;
            let mut last = 0;
            while at < t.len() {
                last = at;
                at += 4
                    + (usize::from(t[at + 1]) << 16
                        | usize::from(t[at + 2]) << 8
                        | usize::from(t[at + 3]));
            }
            t.len() - last
        };
        let short = c.transcript[..c.transcript.len() - cke_len].to_vec();
        let signature = sign(
            "other2048",
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            &short,
            &mut c.rng,
        );
        c.handshake(&certificate_verify_message(
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            signature,
        ))
    });
}

fn unexpected(expected: &'static str, got: &'static str) -> Error {
    Error::UnexpectedMessage { expected, got }
}

#[test]
fn a_missing_certificate_verify_is_unexpected_message() {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, ClientAuthMode::Required);
        let head = [c.certificate(vec![client_leaf()]), c.client_key_exchange()].concat();
        c.send_ok(&head);
        c.assert_refused(
            &plain(ContentType::CHANGE_CIPHER_SPEC, &[1]),
            unexpected("CertificateVerify", "ChangeCipherSpec"),
            AlertDescription::UNEXPECTED_MESSAGE,
        );
    }
}

#[test]
fn a_certificate_verify_before_the_client_key_exchange_is_unexpected_message() {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, ClientAuthMode::Required);
        let cert = c.certificate(vec![client_leaf()]);
        c.send_ok(&cert);
        let cv = c.certificate_verify("other2048", SignatureScheme::RSA_PSS_RSAE_SHA256);
        c.assert_refused(
            &cv,
            unexpected("ClientKeyExchange", "CertificateVerify"),
            AlertDescription::UNEXPECTED_MESSAGE,
        );
    }
}

#[test]
fn a_duplicated_certificate_verify_is_unexpected_message() {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, ClientAuthMode::Required);
        let head = [
            c.certificate(vec![client_leaf()]),
            c.client_key_exchange(),
            c.certificate_verify("other2048", SignatureScheme::RSA_PSS_RSAE_SHA256),
        ]
        .concat();
        c.send_ok(&head);
        let again = c.certificate_verify("other2048", SignatureScheme::RSA_PSS_RSAE_SHA256);
        c.assert_refused(
            &again,
            unexpected("ChangeCipherSpec", "CertificateVerify"),
            AlertDescription::UNEXPECTED_MESSAGE,
        );
    }
}

#[test]
fn a_certificate_verify_after_an_empty_certificate_is_unexpected_message() {
    for suite in ALL_SUITES {
        let mut c = HandClient::start(suite, ClientAuthMode::Optional);
        let head = [c.certificate(Vec::new()), c.client_key_exchange()].concat();
        c.send_ok(&head);
        let cv = c.certificate_verify("other2048", SignatureScheme::RSA_PSS_RSAE_SHA256);
        c.assert_refused(
            &cv,
            unexpected("ChangeCipherSpec", "CertificateVerify"),
            AlertDescription::UNEXPECTED_MESSAGE,
        );
    }
}

#[test]
fn a_missing_client_certificate_is_unexpected_message() {
    // RFC 5246 §7.4.6: the Certificate comes first, even when empty.
    for mode in [ClientAuthMode::Required, ClientAuthMode::Optional] {
        let mut c = HandClient::start(ALL_SUITES[1], mode);
        let cke = c.client_key_exchange();
        c.assert_refused(
            &cke,
            unexpected("Certificate", "ClientKeyExchange"),
            AlertDescription::UNEXPECTED_MESSAGE,
        );
    }
}

#[test]
fn the_extended_master_secret_does_not_cover_the_certificate_verify() {
    // RFC 7627 §3: the session hash ends at ClientKeyExchange. The same
    // ClientHello, Certificate and ClientKeyExchange with two different
    // CertificateVerify messages give the same master secret, the one computed
    // from the transcript up to ClientKeyExchange.
    for suite in ALL_SUITES {
        let mut masters = Vec::new();
        for scheme in [
            SignatureScheme::RSA_PSS_RSAE_SHA512,
            SignatureScheme::RSA_PKCS1_SHA256,
        ] {
            let mut c = HandClient::start(suite, ClientAuthMode::Required);
            let flight = authenticated_flight(&mut c, vec![client_leaf()], scheme);
            c.complete(&flight);
            let logged = unhex(&c.log.secret("CLIENT_RANDOM").unwrap());
            assert_eq!(logged, c.master(), "{scheme:?}");
            masters.push(logged);
        }
        assert_eq!(masters[0], masters[1]);
    }
}

// Engine to engine: rsatls's client (with the client side of branch `sig`)
// against rsatls's server.

/// rsatls's client pinning the server's key, with `chain` and other2048's key
/// when given.
fn rsatls_client(suite: &'static Suite, chain: Option<Vec<Vec<u8>>>) -> rsatls::ClientConnection {
    let mut config = client_config("rsa2048").with_suites(&[suite]).unwrap();
    if let Some(chain) = chain {
        config = config
            .with_client_certificate(chain, &key_file("other2048"))
            .unwrap();
    }
    client(config, 0xc2)
}

#[test]
fn rsatls_client_and_server_authenticate_each_other_on_both_suites() {
    for suite in ALL_SUITES {
        for mode in [ClientAuthMode::Required, ClientAuthMode::Optional] {
            let mut c = rsatls_client(suite, Some(vec![client_leaf()]));
            let (mut s, log) = server_at(mode, 3);
            let t = handshake(&mut c, &mut s).unwrap();
            assert!(c.is_established() && s.is_established());
            let info = s.handshake_info().unwrap();
            assert_eq!(info.peer_certificates, vec![client_leaf()], "{mode:?}");
            assert_eq!(info.suite.id, suite.id);
            // The client's flight carried Certificate, ClientKeyExchange and
            // CertificateVerify before its ChangeCipherSpec.
            let payload: Vec<u8> = records(&t.flights[2])
                .into_iter()
                .take_while(|(h, _)| h.typ == ContentType::HANDSHAKE)
                .flat_map(|(_, f)| f)
                .collect();
            let mut types = Vec::new();
            let mut rest = payload.as_slice();
            while !rest.is_empty() {
                let len = 4
                    + (usize::from(rest[1]) << 16
                        | usize::from(rest[2]) << 8
                        | usize::from(rest[3]));
                types.push(rest[0]);
                rest = &rest[len..];
            }
            assert_eq!(
                types,
                [11, 16, 15],
                "Certificate, ClientKeyExchange, CertificateVerify"
            );
            assert!(log.secret("CLIENT_RANDOM").is_some());
            // Application data flows both ways.
            c.write_app_data(b"ping").unwrap();
            assert_eq!(
                feed(&mut s, &take_output(&mut c), usize::MAX),
                Ok(vec![Ev::Data(b"ping".to_vec())])
            );
        }
    }
}

#[test]
fn rsatls_client_without_a_certificate_meets_required_and_optional_servers() {
    for suite in ALL_SUITES {
        // Required: the server refuses the empty Certificate; the client sees
        // handshake_failure.
        let mut c = rsatls_client(suite, None);
        let (mut s, _) = server_at(ClientAuthMode::Required, 3);
        feed(&mut s, &take_output(&mut c), usize::MAX).unwrap();
        feed(&mut c, &take_output(&mut s), usize::MAX).unwrap();
        assert!(feed(&mut s, &take_output(&mut c), usize::MAX).is_err());
        assert_eq!(
            feed(&mut c, &take_output(&mut s), usize::MAX),
            Err(Error::AlertReceived(AlertDescription::HANDSHAKE_FAILURE))
        );
        // Optional: the handshake completes unauthenticated.
        let mut c = rsatls_client(suite, None);
        let (mut s, _) = server_at(ClientAuthMode::Optional, 3);
        handshake(&mut c, &mut s).unwrap();
        assert!(s.is_established());
        assert!(s.handshake_info().unwrap().peer_certificates.is_empty());
    }
}

#[test]
fn rsatls_client_with_a_certificate_from_another_ca_gets_unknown_ca() {
    let leaf = client_leaf_with("other2048", OTHER_CA, VALID, client_usage());
    for suite in ALL_SUITES {
        let mut c = rsatls_client(suite, Some(vec![leaf.clone(), other_ca()]));
        let (mut s, _) = server_at(ClientAuthMode::Optional, 3);
        feed(&mut s, &take_output(&mut c), usize::MAX).unwrap();
        feed(&mut c, &take_output(&mut s), usize::MAX).unwrap();
        assert_eq!(
            feed(&mut s, &take_output(&mut c), usize::MAX),
            Err(Error::BadCertificate(CertificateError::UnknownIssuer))
        );
        assert_eq!(
            feed(&mut c, &take_output(&mut s), usize::MAX),
            Err(Error::AlertReceived(AlertDescription::UNKNOWN_CA))
        );
    }
}
