//! Certificate validation with `ServerAuth::TrustedCertificates` (chains to a
//! trust anchor, through rustls-webpki and the crypto provider) and the
//! server's choice of certificate by SNI.
//!
//! The PKI is made here, from the committed keys (no key generation): a root CA
//! (rsa4096), an intermediate CA (rsa3072) and leaves for the committed server
//! keys (rsa2048, other2048), with the x509-cert builder and PKCS#1 v1.5
//! SHA-256 signatures. Each test asserts the exact error and alert bytes, as
//! tests/conformance.rs does.

mod common;

use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::wire::plain;
use common::*;
use der::Encode;
use der::asn1::Ia5String;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::pkcs8::DecodePrivateKey;
use rsatls::msgs::enums::{AlertDescription, ContentType};
use rsatls::pki::PrivateKeyFile;
use rsatls::{
    CertificateError, ClientConfig, ClientConnection, Error, ServerAuth, ServerConfig, UnixTime,
};
use sha2::Sha256;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// The time every test validates at: 2027-01-15T08:00:00Z.
const NOW: u64 = 1_800_000_000;
const YEAR: u64 = 365 * 24 * 60 * 60;

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW))
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A committed private key, for signing with `rsa`.
fn rsa_key(name: &str) -> rsa::PrivateKey {
    let pem = String::from_utf8(data(&format!("{name}.key.pem"))).unwrap();
    rsa::PrivateKey::from_pkcs8_pem(&pem).unwrap()
}

fn key_file(name: &str) -> PrivateKeyFile {
    rsatls::pki::load_private_key(&data(&format!("{name}.key.pem"))).unwrap()
}

/// What a test certificate is.
enum Kind {
    Ca,
    /// An end entity with these subjectAltNames.
    Leaf(Vec<GeneralName>),
}

/// A builder profile written for these tests: subject and issuer as given,
/// basicConstraints and keyUsage by kind, SANs for leaves.
struct Profile {
    subject: Name,
    issuer: Name,
    kind: Kind,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = &self.subject;
        let mut out = Vec::new();
        let (ca, usage) = match self.kind {
            Kind::Ca => (true, KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            Kind::Leaf(_) => (
                false,
                KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
            ),
        };
        let basic = BasicConstraints {
            ca,
            path_len_constraint: None,
        };
        out.push((true, &basic).to_extension(subject, &out)?);
        out.push((true, &KeyUsage(usage)).to_extension(subject, &out)?);
        if let Kind::Leaf(sans) = &self.kind {
            let san = SubjectAltName(sans.clone());
            out.push((false, &san).to_extension(subject, &out)?);
        }
        Ok(out)
    }
}

fn name(cn: &str) -> Name {
    Name::from_str(&format!("CN={cn}")).unwrap()
}

fn dns(name: &str) -> GeneralName {
    GeneralName::DnsName(Ia5String::new(name).unwrap())
}

/// A certificate for the committed key `key`, named `subject`, signed by
/// `issuer_key` in the name of `issuer`, valid from `from` to `to` (seconds
/// since the epoch).
fn certificate(
    key: &str,
    subject: &str,
    issuer: (&str, &str),
    kind: Kind,
    (from, to): (u64, u64),
) -> Vec<u8> {
    let (issuer_key, issuer_name) = issuer;
    let public = rsa_key(key).to_public_key();
    let spki = SubjectPublicKeyInfoOwned::from_key(&public).unwrap();
    let validity = Validity::new(
        Time::try_from(at(from)).unwrap(),
        Time::try_from(at(to)).unwrap(),
    );
    // A distinct, positive serial per certificate.
    let serial_bytes = [
        0x10,
        subject.len() as u8,
        from.to_be_bytes()[4],
        kind_byte(&kind),
    ];
    let profile = Profile {
        subject: name(subject),
        issuer: name(issuer_name),
        kind,
    };
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(&serial_bytes).unwrap(),
        validity,
        spki,
    )
    .unwrap();
    let signer = SigningKey::<Sha256>::new(rsa_key(issuer_key));
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let cert = builder
        .build_with_rng::<_, Signature, _>(&signer, &mut rng)
        .unwrap();
    cert.to_der().unwrap()
}

fn kind_byte(kind: &Kind) -> u8 {
    match kind {
        Kind::Ca => 1,
        Kind::Leaf(_) => 2,
    }
}

const VALID: (u64, u64) = (NOW - YEAR, NOW + 10 * YEAR);

/// The test PKI, built once: root (self-signed rsa4096), intermediate (rsa3072,
/// signed by the root), and a leaf for rsa2048 signed by the intermediate,
/// valid for `localhost` and 127.0.0.1.
struct Pki {
    root: Vec<u8>,
    intermediate: Vec<u8>,
    leaf: Vec<u8>,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| Pki {
        root: certificate(
            "rsa4096",
            "rsatls test root",
            ("rsa4096", "rsatls test root"),
            Kind::Ca,
            VALID,
        ),
        intermediate: certificate(
            "rsa3072",
            "rsatls test intermediate",
            ("rsa4096", "rsatls test root"),
            Kind::Ca,
            VALID,
        ),
        leaf: leaf(
            "rsa2048",
            vec![
                dns("localhost"),
                GeneralName::from(std::net::IpAddr::from([127, 0, 0, 1])),
            ],
            VALID,
        ),
    })
}

/// A leaf for the committed key `key`, signed by the intermediate.
fn leaf(key: &str, sans: Vec<GeneralName>, validity: (u64, u64)) -> Vec<u8> {
    certificate(
        key,
        "rsatls test leaf",
        ("rsa3072", "rsatls test intermediate"),
        Kind::Leaf(sans),
        validity,
    )
}

fn server_with_chain(chain: Vec<Vec<u8>>) -> rsatls::ServerConnection {
    let config = ServerConfig::new(provider(), chain, &key_file("rsa2048")).unwrap();
    server(config, 2)
}

fn trusting(anchors: Vec<Vec<u8>>) -> Arc<ClientConfig> {
    Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::TrustedCertificates(anchors),
    ))
}

fn client_at(config: Arc<ClientConfig>, server_name: &str) -> ClientConnection {
    ClientConnection::new_at(
        config,
        Some(server_name),
        now(),
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap()
}

fn fatal(description: AlertDescription) -> Vec<u8> {
    plain(ContentType::ALERT, &[2, description.0])
}

/// Runs the handshake; on failure checks that the client failed with `err`, sent
/// exactly the fatal alert `alert`, and keeps failing.
#[track_caller]
fn assert_client_refuses(
    mut c: ClientConnection,
    chain: Vec<Vec<u8>>,
    err: CertificateError,
    alert: AlertDescription,
) {
    let mut s = server_with_chain(chain);
    assert_eq!(feed(&mut s, &take_output(&mut c), usize::MAX), Ok(vec![]));
    let result = feed(&mut c, &take_output(&mut s), usize::MAX);
    let expected = Error::BadCertificate(err);
    assert_eq!(result, Err(expected.clone()));
    assert_eq!(expected.alert(), Some(alert));
    assert_eq!(take_output(&mut c), fatal(alert), "alert bytes for {err:?}");
    assert_eq!(c.poll_event(), Err(expected));
    assert!(!c.wants_write());
}

fn chain() -> Vec<Vec<u8>> {
    vec![pki().leaf.clone(), pki().intermediate.clone()]
}

#[test]
fn a_chain_to_a_trusted_root_is_accepted() {
    for name in ["localhost", "LocalHost", "127.0.0.1"] {
        let mut c = client_at(trusting(vec![pki().root.clone()]), name);
        let mut s = server_with_chain(chain());
        let t = handshake(&mut c, &mut s).unwrap();
        assert!(c.is_established() && s.is_established(), "{name}");
        let [Ev::Complete(info)] = t.client_events.as_slice() else {
            panic!("{:?}", t.client_events)
        };
        assert_eq!(info.peer_certificates, chain());
    }
}

#[test]
fn an_intermediate_may_also_be_the_trust_anchor() {
    let mut c = client_at(trusting(vec![pki().intermediate.clone()]), "localhost");
    let mut s = server_with_chain(vec![pki().leaf.clone()]);
    handshake(&mut c, &mut s).unwrap();
    assert!(c.is_established());
}

/// The `--cafile` behaviour for self-signed servers is unchanged: a leaf
/// byte-identical to a trusted certificate is accepted with or without a time,
/// whatever the name.
#[test]
fn a_leaf_identical_to_a_trusted_certificate_is_still_accepted() {
    let self_signed = data("rsa2048.cert.der");
    for with_time in [false, true] {
        let config = trusting(vec![pki().root.clone(), self_signed.clone()]);
        let rng = ChaCha20Rng::seed_from_u64(1);
        let mut c = match with_time {
            true => ClientConnection::new_at(config, Some("not-the-name.test"), now(), rng),
            false => ClientConnection::new(config, Some("localhost"), rng),
        }
        .unwrap();
        let mut s = server(server_config("rsa2048"), 2);
        handshake(&mut c, &mut s).unwrap();
        assert!(c.is_established(), "with_time {with_time}");
    }
}

#[test]
fn a_leaf_for_another_name_is_a_bad_certificate() {
    for name in ["www.example.test", "127.0.0.2", "::1"] {
        let c = client_at(trusting(vec![pki().root.clone()]), name);
        assert_client_refuses(
            c,
            chain(),
            CertificateError::NotValidForName,
            AlertDescription::BAD_CERTIFICATE,
        );
    }
}

#[test]
fn a_chain_without_a_server_name_to_check_is_a_bad_certificate() {
    let c = ClientConnection::new_at(
        trusting(vec![pki().root.clone()]),
        None,
        now(),
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    assert_client_refuses(
        c,
        chain(),
        CertificateError::NotValidForName,
        AlertDescription::BAD_CERTIFICATE,
    );
}

#[test]
fn an_unknown_ca_is_unknown_ca() {
    // Trusting an unrelated certificate, and a chain missing its intermediate.
    let cases = [
        (vec![data("rsa2048.cert.der")], chain()),
        (vec![pki().root.clone()], vec![pki().leaf.clone()]),
    ];
    for (anchors, chain) in cases {
        let c = client_at(trusting(anchors), "localhost");
        assert_client_refuses(
            c,
            chain,
            CertificateError::UnknownIssuer,
            AlertDescription::UNKNOWN_CA,
        );
    }
}

#[test]
fn an_expired_or_not_yet_valid_leaf_is_certificate_expired() {
    let cases = [
        ((NOW - 2 * YEAR, NOW - 1), CertificateError::Expired),
        ((NOW + 1, NOW + YEAR), CertificateError::NotYetValid),
    ];
    for (validity, err) in cases {
        let stale = leaf("rsa2048", vec![dns("localhost")], validity);
        let c = client_at(trusting(vec![pki().root.clone()]), "localhost");
        assert_client_refuses(
            c,
            vec![stale, pki().intermediate.clone()],
            err,
            AlertDescription::CERTIFICATE_EXPIRED,
        );
    }
}

#[test]
fn a_tampered_signature_is_a_bad_certificate() {
    let mut tampered = pki().leaf.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let c = client_at(trusting(vec![pki().root.clone()]), "localhost");
    assert_client_refuses(
        c,
        vec![tampered, pki().intermediate.clone()],
        CertificateError::BadSignature,
        AlertDescription::BAD_CERTIFICATE,
    );
}

/// Pins are unchanged by chain validation: a valid chain whose leaf key is not
/// pinned is a bad_certificate.
#[test]
fn a_pin_mismatch_is_a_bad_certificate_whatever_the_chain() {
    let config = Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::Pins(vec![pin("other2048")]),
    ));
    assert_client_refuses(
        client_at(config, "localhost"),
        chain(),
        CertificateError::NotTrusted,
        AlertDescription::BAD_CERTIFICATE,
    );
    let config = Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::Pins(vec![pin("rsa2048")]),
    ));
    let mut c = client_at(config, "localhost");
    let mut s = server_with_chain(chain());
    handshake(&mut c, &mut s).unwrap();
    assert!(c.is_established());
}

/// The engine never reads the clock: a connection made without a time (`new`)
/// cannot validate a chain, so it trusts only a byte-identical leaf, as before
/// chain validation existed.
#[test]
fn without_a_time_from_the_caller_only_an_identical_leaf_is_trusted() {
    let c = ClientConnection::new(
        trusting(vec![pki().root.clone()]),
        Some("localhost"),
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    assert_client_refuses(
        c,
        chain(),
        CertificateError::NotTrusted,
        AlertDescription::BAD_CERTIFICATE,
    );
}

// ---------------------------------------------------------------------------
// SNI: the server's choice of certificate
// ---------------------------------------------------------------------------

/// A server whose default chain is the committed self-signed rsa2048 (for
/// `localhost`), with a second chain for other2048 valid for
/// `www.example.test` and `*.wild.test`.
fn sni_server_config() -> ServerConfig {
    let other = leaf(
        "other2048",
        vec![dns("www.example.test"), dns("*.wild.test")],
        VALID,
    );
    server_config("rsa2048")
        .with_certificate(
            vec![other, pki().intermediate.clone()],
            &key_file("other2048"),
        )
        .unwrap()
}

#[test]
fn the_server_chooses_its_certificate_by_sni() {
    let config = Arc::new(sni_server_config());
    let default = data("rsa2048.cert.der");
    let cases = [
        (Some("www.example.test"), false),
        (Some("WWW.Example.TEST"), false),
        (Some("a.wild.test"), false),
        (Some("localhost"), true),
        (Some("unknown.test"), true),
        (Some("b.a.wild.test"), true),
        (Some("127.0.0.1"), true),
        (None, true),
    ];
    for (name, gets_default) in cases {
        let mut c = ClientConnection::new(
            Arc::new(ClientConfig::new(
                provider(),
                ServerAuth::DangerousAcceptAnyKeyForTestingOnly,
            )),
            name,
            ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
        let mut s = rsatls::ServerConnection::new(config.clone(), ChaCha20Rng::seed_from_u64(2));
        // Completing proves the server decrypted with the key of the leaf it sent.
        let t = handshake(&mut c, &mut s).unwrap();
        assert!(c.is_established() && s.is_established(), "{name:?}");
        let [Ev::Complete(info)] = t.client_events.as_slice() else {
            panic!("{:?}", t.client_events)
        };
        assert_eq!(
            info.peer_certificates[0] == default,
            gets_default,
            "{name:?}"
        );
    }
}

/// A chain chosen by SNI validates like any other.
#[test]
fn a_chain_chosen_by_sni_validates_to_the_root() {
    let mut c = client_at(trusting(vec![pki().root.clone()]), "www.example.test");
    let mut s = server(sni_server_config(), 2);
    handshake(&mut c, &mut s).unwrap();
    assert!(c.is_established());
}

#[test]
fn an_added_certificate_must_match_its_key() {
    let other = leaf("other2048", vec![dns("www.example.test")], VALID);
    assert!(matches!(
        server_config("rsa2048").with_certificate(vec![other], &key_file("rsa2048")),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        server_config("rsa2048").with_certificate(Vec::new(), &key_file("rsa2048")),
        Err(Error::Config(_))
    ));
}
