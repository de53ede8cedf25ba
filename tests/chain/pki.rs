//! The test PKI of tests/chain.rs and tests/chain_rules.rs, made from the
//! committed keys (no key generation): a root CA (rsa4096), an intermediate CA
//! (rsa3072) and leaves for the committed server keys, with the x509-cert
//! builder and PKCS#1 v1.5 SHA-256 signatures; and the client and server ends
//! that the tests drive.
#![allow(dead_code, unreachable_pub)]

use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::wire::{plain, records};
use crate::common::*;
use der::Encode;
use der::asn1::Ia5String;
use der::flagset::FlagSet;
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
use spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// The time every test validates at: 2027-01-15T08:00:00Z.
pub(crate) const NOW: u64 = 1_800_000_000;
pub(crate) const YEAR: u64 = 365 * 24 * 60 * 60;

pub(crate) fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW))
}

pub(crate) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A committed private key, for signing with `rsa`.
pub(crate) fn rsa_key(name: &str) -> rsa::PrivateKey {
    let pem = String::from_utf8(data(&format!("{name}.key.pem"))).unwrap();
    rsa::PrivateKey::from_pkcs8_pem(&pem).unwrap()
}

pub(crate) fn key_file(name: &str) -> PrivateKeyFile {
    rsatls::pki::load_private_key(&data(&format!("{name}.key.pem"))).unwrap()
}

/// What a test certificate is.
pub(crate) enum Kind {
    Ca,
    /// An end entity with these subjectAltNames.
    Leaf(Vec<GeneralName>),
}

/// A leaf's keyUsage and extendedKeyUsage extensions: `None` leaves the
/// extension out.
#[derive(Clone)]
pub(crate) struct Usage {
    pub(crate) key_usage: Option<FlagSet<KeyUsages>>,
    pub(crate) extended: Option<Vec<ObjectIdentifier>>,
}

impl Usage {
    /// What a TLS server certificate for RSA key exchange usually has:
    /// digitalSignature and keyEncipherment, no extendedKeyUsage.
    pub(crate) fn server() -> Self {
        Self::key_usage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment)
    }

    /// A keyUsage extension with exactly `usage`, no extendedKeyUsage.
    pub(crate) fn key_usage(usage: impl Into<FlagSet<KeyUsages>>) -> Self {
        Self {
            key_usage: Some(usage.into()),
            extended: None,
        }
    }
}

/// A builder profile written for these tests: subject and issuer as given,
/// basicConstraints and keyUsage by kind (a leaf's as in `usage`), SANs for
/// leaves.
pub(crate) struct Profile {
    subject: Name,
    issuer: Name,
    kind: Kind,
    usage: Usage,
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
            Kind::Ca => (true, Some(KeyUsages::KeyCertSign | KeyUsages::CRLSign)),
            Kind::Leaf(_) => (false, self.usage.key_usage),
        };
        let basic = BasicConstraints {
            ca,
            path_len_constraint: None,
        };
        out.push((true, &basic).to_extension(subject, &out)?);
        if let Some(usage) = usage {
            out.push((true, &KeyUsage(usage)).to_extension(subject, &out)?);
        }
        if let (Kind::Leaf(_), Some(purposes)) = (&self.kind, &self.usage.extended) {
            let eku = ExtendedKeyUsage(purposes.clone());
            out.push((false, &eku).to_extension(subject, &out)?);
        }
        if let Kind::Leaf(sans) = &self.kind {
            let san = SubjectAltName(sans.clone());
            out.push((false, &san).to_extension(subject, &out)?);
        }
        Ok(out)
    }
}

pub(crate) fn name(cn: &str) -> Name {
    Name::from_str(&format!("CN={cn}")).unwrap()
}

pub(crate) fn dns(name: &str) -> GeneralName {
    GeneralName::DnsName(Ia5String::new(name).unwrap())
}

/// A certificate for the committed key `key`, named `subject`, signed by
/// `issuer_key` in the name of `issuer`, valid from `from` to `to` (seconds
/// since the epoch).
pub(crate) fn certificate(
    key: &str,
    subject: &str,
    issuer: (&str, &str),
    kind: Kind,
    validity: (u64, u64),
) -> Vec<u8> {
    certificate_with(key, subject, issuer, kind, validity, Usage::server())
}

/// As [`certificate`], with a leaf's key usages as given.
pub(crate) fn certificate_with(
    key: &str,
    subject: &str,
    issuer: (&str, &str),
    kind: Kind,
    (from, to): (u64, u64),
    usage: Usage,
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
        usage,
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

pub(crate) fn kind_byte(kind: &Kind) -> u8 {
    match kind {
        Kind::Ca => 1,
        Kind::Leaf(_) => 2,
    }
}

pub(crate) const VALID: (u64, u64) = (NOW - YEAR, NOW + 10 * YEAR);

/// The test PKI, built once: root (self-signed rsa4096), intermediate (rsa3072,
/// signed by the root), and a leaf for rsa2048 signed by the intermediate,
/// valid for `localhost` and 127.0.0.1.
pub(crate) struct Pki {
    pub(crate) root: Vec<u8>,
    pub(crate) intermediate: Vec<u8>,
    pub(crate) leaf: Vec<u8>,
}

pub(crate) fn pki() -> &'static Pki {
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
pub(crate) fn leaf(key: &str, sans: Vec<GeneralName>, validity: (u64, u64)) -> Vec<u8> {
    certificate(
        key,
        "rsatls test leaf",
        ("rsa3072", "rsatls test intermediate"),
        Kind::Leaf(sans),
        validity,
    )
}

pub(crate) fn server_with_chain(chain: Vec<Vec<u8>>) -> rsatls::ServerConnection {
    let config = ServerConfig::new(provider(), chain, &key_file("rsa2048")).unwrap();
    server(config, 2)
}

pub(crate) fn trusting(anchors: Vec<Vec<u8>>) -> Arc<ClientConfig> {
    Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::TrustedCertificates(anchors),
    ))
}

pub(crate) fn client_at(config: Arc<ClientConfig>, server_name: &str) -> ClientConnection {
    ClientConnection::new_at(
        config,
        Some(server_name),
        now(),
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap()
}

pub(crate) fn fatal(description: AlertDescription) -> Vec<u8> {
    plain(ContentType::ALERT, &[2, description.0])
}

/// Runs the handshake; on failure checks that the client failed with `err`, sent
/// exactly the fatal alert `alert`, and keeps failing.
#[track_caller]
pub(crate) fn assert_client_refuses(
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

pub(crate) fn chain() -> Vec<Vec<u8>> {
    vec![pki().leaf.clone(), pki().intermediate.clone()]
}

/// A server's first flight with its Certificate message replaced by `chain`:
/// what a man in the middle sends, whose certificates need not match the key
/// of the server that made the flight.
pub(crate) fn with_certificates(flight: &[u8], chain: Vec<Vec<u8>>) -> Vec<u8> {
    use rsatls::msgs::handshake::HandshakeMessage;
    use rsatls::msgs::record::MAX_PLAINTEXT;
    let stream: Vec<u8> = records(flight)
        .into_iter()
        .filter(|(h, _)| h.typ == ContentType::HANDSHAKE)
        .flat_map(|(_, fragment)| fragment)
        .collect();
    let mut body = Vec::new();
    let mut rest = stream.as_slice();
    let mut replaced = false;
    while let Some(&[_, a, b, c]) = rest.first_chunk::<4>() {
        let len = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
        let (message, tail) = rest.split_at(len);
        rest = tail;
        match HandshakeMessage::decode(message).unwrap() {
            HandshakeMessage::Certificate(_) => {
                body.extend(HandshakeMessage::Certificate(chain.clone()).to_bytes());
                replaced = true;
            }
            _ => body.extend_from_slice(message),
        }
    }
    assert!(replaced && rest.is_empty(), "no Certificate in the flight");
    body.chunks(MAX_PLAINTEXT)
        .flat_map(|chunk| plain(ContentType::HANDSHAKE, chunk))
        .collect()
}

/// As [`assert_client_refuses`], with `chain` sent in place of the rsa2048
/// server's own certificate (see [`with_certificates`]): the chain's leaf may be
/// for any key.
#[track_caller]
pub(crate) fn assert_client_refuses_sent(
    mut c: ClientConnection,
    chain: Vec<Vec<u8>>,
    err: CertificateError,
    alert: AlertDescription,
) {
    let mut s = server(server_config("rsa2048"), 2);
    assert_eq!(feed(&mut s, &take_output(&mut c), usize::MAX), Ok(vec![]));
    let flight = with_certificates(&take_output(&mut s), chain);
    let result = feed(&mut c, &flight, usize::MAX);
    let expected = Error::BadCertificate(err);
    assert_eq!(result, Err(expected.clone()));
    assert_eq!(expected.alert(), Some(alert));
    assert_eq!(take_output(&mut c), fatal(alert), "alert bytes for {err:?}");
    assert_eq!(c.poll_event(), Err(expected));
    assert!(!c.wants_write());
}
