//! Self-signed RSA certificates for test servers (`rsatls` CLI only).
//!
//! The certificate is an end-entity certificate for a TLS server using RSA key
//! transport: `CN` = the first SAN, SANs as given, `basicConstraints` CA:FALSE and
//! `keyUsage` digitalSignature + keyEncipherment (both critical), a random
//! 16-byte serial, signed sha256WithRSAEncryption. Time and randomness are
//! parameters, so the same inputs give the same certificate.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use base64ct::{Base64, Encoding};
use der::Encode;
use der::asn1::Ia5String;
use pkcs8::{EncodePrivateKey, LineEnding};
use rand_core::CryptoRng;
use rsa::pkcs1v15::{Signature, SigningKey};
use sha2::Sha256;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

/// One subjectAltName entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SanEntry {
    /// A DNS name (`dNSName`), e.g. `localhost` or `*.example.test`.
    Dns(String),
    /// An IP address (`iPAddress`).
    Ip(IpAddr),
}

impl FromStr for SanEntry {
    type Err = String;

    /// An IP address if `s` parses as one, else a DNS name.
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(ip) = s.parse() {
            return Ok(Self::Ip(ip));
        }
        check_dns_name(s)?;
        Ok(Self::Dns(s.to_owned()))
    }
}

impl SanEntry {
    fn to_general_name(&self) -> Result<GeneralName, String> {
        match self {
            Self::Dns(name) => {
                check_dns_name(name)?;
                let name = Ia5String::new(name).map_err(|e| format!("DNS name {name:?}: {e}"))?;
                Ok(GeneralName::DnsName(name))
            }
            Self::Ip(ip) => Ok(GeneralName::from(*ip)),
        }
    }

    /// The text used for the subject's common name.
    fn common_name(&self) -> String {
        match self {
            Self::Dns(name) => name.clone(),
            Self::Ip(ip) => ip.to_string(),
        }
    }
}

/// Accepts LDH names with dots, `_` in labels, and a leftmost `*` label. This
/// also keeps the name free of the characters RFC 4514 would need escaped in the
/// subject's CN.
fn check_dns_name(name: &str) -> Result<(), String> {
    let label_ok = |(i, label): (usize, &str)| {
        (i == 0 && label == "*")
            || (!label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    };
    if name.len() <= 253 && name.split('.').enumerate().all(label_ok) {
        Ok(())
    } else {
        Err(format!("{name:?} is not a valid DNS name"))
    }
}

/// Creates a self-signed certificate for `key` and returns its DER.
///
/// The subject is `CN=` the first SAN (or `CN=rsatls` without SANs). The
/// certificate is valid from `not_before` for `valid_for`. `rng` supplies the
/// serial number and the signature's blinding.
pub(crate) fn self_signed<R: CryptoRng + ?Sized>(
    key: &rsa::PrivateKey,
    sans: &[SanEntry],
    not_before: SystemTime,
    valid_for: Duration,
    rng: &mut R,
) -> Result<Vec<u8>, String> {
    let cn = sans
        .first()
        .map_or_else(|| "rsatls".to_owned(), SanEntry::common_name);
    // `cn` passed check_dns_name or is an IP address, so it needs no escaping.
    let subject =
        Name::from_str(&format!("CN={cn}")).map_err(|e| format!("subject CN={cn}: {e}"))?;
    let sans = sans
        .iter()
        .map(SanEntry::to_general_name)
        .collect::<Result<Vec<_>, _>>()?;

    let not_after = not_before
        .checked_add(valid_for)
        .ok_or("the validity period overflows")?;
    let time = |t: SystemTime| Time::try_from(t).map_err(|e| format!("validity: {e}"));
    let validity = Validity::new(time(not_before)?, time(not_after)?);

    let spki = SubjectPublicKeyInfoOwned::from_key(&key.to_public_key())
        .map_err(|e| format!("encoding the public key: {e}"))?;
    let profile = SelfSignedServer { subject, sans };
    let builder = CertificateBuilder::new(profile, random_serial(rng)?, validity, spki)
        .map_err(|e| format!("building the certificate: {e}"))?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let cert = builder
        .build_with_rng::<_, Signature, _>(&signer, rng)
        .map_err(|e| format!("signing the certificate: {e}"))?;
    cert.to_der()
        .map_err(|e| format!("encoding the certificate: {e}"))
}

/// RFC 5280 §4.1.2.2: a positive serial of at most 20 octets. Clearing the top
/// bit keeps the INTEGER positive without a 0x00 prefix; setting the next keeps
/// it exactly 16 octets. 126 random bits remain.
fn random_serial<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<SerialNumber, String> {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(|e| format!("serial number: {e}"))
}

/// The profile of a self-signed TLS server certificate: issuer = subject, and
/// the extensions listed in the module documentation.
struct SelfSignedServer {
    subject: Name,
    sans: Vec<GeneralName>,
}

impl BuilderProfile for SelfSignedServer {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = &self.subject;
        let mut extensions = Vec::new();
        // RFC 5280 §4.2.1.9: an end entity has cA FALSE; critical is allowed.
        let basic = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        extensions.push((true, &basic).to_extension(subject, &extensions)?);
        // RFC 5246 §7.4.2: an RSA key-transport server key must allow encipherment.
        let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment);
        extensions.push((true, &usage).to_extension(subject, &extensions)?);
        if !self.sans.is_empty() {
            // RFC 5280 §4.2.1.6: non-critical, as the subject is not empty.
            let san = SubjectAltName(self.sans.clone());
            extensions.push((false, &san).to_extension(subject, &extensions)?);
        }
        // RFC 5280 §4.2.1.2: SHOULD be present; method (1), SHA-1 of the key.
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push((false, &ski).to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}

/// Encodes `key` as a PKCS#8 `PRIVATE KEY` PEM (LF line endings). The string is
/// zeroized when dropped.
pub(crate) fn key_to_pkcs8_pem(key: &rsa::PrivateKey) -> Result<Zeroizing<String>, String> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("encoding the private key: {e}"))
}

/// Encodes a DER certificate as a `CERTIFICATE` PEM block (RFC 7468; 64-column
/// base64, LF line endings).
pub(crate) fn cert_to_pem(der: &[u8]) -> String {
    let base64 = Base64::encode_string(der);
    let mut pem = String::with_capacity(base64.len() + base64.len() / 64 + 60);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    // Base64 is ASCII, so every 64-byte chunk is whole characters.
    for line in base64.as_bytes().chunks(64) {
        pem.extend(line.iter().map(|&b| char::from(b)));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;
    use std::time::UNIX_EPOCH;

    use der::Decode;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use rsa::traits::PublicKeyParts;
    use x509_cert::Certificate;

    use super::*;

    const HUNDRED_YEARS: Duration = Duration::from_secs(36_525 * 24 * 60 * 60);

    /// 2023-11-14T22:13:20Z.
    fn not_before() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    /// One 2048-bit key for all tests, from a fixed seed.
    fn test_key() -> &'static rsa::PrivateKey {
        static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            rsa::PrivateKey::new(&mut ChaCha20Rng::from_seed([0x42; 32]), 2048).unwrap()
        })
    }

    fn localhost_sans() -> [SanEntry; 3] {
        [
            SanEntry::Dns("localhost".into()),
            SanEntry::Ip(Ipv4Addr::LOCALHOST.into()),
            SanEntry::Ip(Ipv6Addr::LOCALHOST.into()),
        ]
    }

    fn make(sans: &[SanEntry], seed: u8) -> Vec<u8> {
        let mut rng = ChaCha20Rng::from_seed([seed; 32]);
        self_signed(test_key(), sans, not_before(), HUNDRED_YEARS, &mut rng).unwrap()
    }

    #[test]
    fn certificate_has_the_requested_contents() {
        let der = make(&localhost_sans(), 1);

        // rsatls' own parser sees the same key and subject.
        let info = rsatls::pki::rsa_key_from_certificate(&der).unwrap();
        assert_eq!(info.modulus, &*test_key().n_bytes());
        assert_eq!(info.exponent, [1, 0, 1]);
        assert_eq!(
            rsatls::pki::certificate_subject(&der).as_deref(),
            Some("CN=localhost")
        );

        let cert = Certificate::from_der(&der).unwrap();
        let tbs = cert.tbs_certificate();
        assert_eq!(tbs.issuer(), tbs.subject());
        assert_eq!(tbs.serial_number().as_bytes().len(), 16);
        let validity = tbs.validity();
        assert_eq!(validity.not_before.to_system_time(), not_before());
        assert_eq!(
            validity.not_after.to_system_time(),
            not_before() + HUNDRED_YEARS
        );
        // The notAfter is past 2049, so RFC 5280 §4.1.2.5 wants GeneralizedTime.
        assert!(matches!(validity.not_after, Time::GeneralTime(_)));

        let (critical, basic) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
        assert!(critical && !basic.ca && basic.path_len_constraint.is_none());
        let (critical, usage) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
        assert!(critical);
        assert_eq!(
            usage.0,
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
        );
        let (critical, san) = tbs.get_extension::<SubjectAltName>().unwrap().unwrap();
        assert!(!critical);
        let expected: Vec<_> = localhost_sans()
            .iter()
            .map(|s| s.to_general_name().unwrap())
            .collect();
        assert_eq!(san.0, expected);
        assert!(
            tbs.get_extension::<SubjectKeyIdentifier>()
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn same_inputs_give_the_same_certificate() {
        let sans = localhost_sans();
        assert_eq!(make(&sans, 1), make(&sans, 1));
        let serial = |der: &[u8]| {
            let cert = Certificate::from_der(der).unwrap();
            cert.tbs_certificate().serial_number().clone()
        };
        assert_ne!(serial(&make(&sans, 1)), serial(&make(&sans, 2)));
    }

    #[test]
    fn common_name_follows_the_first_san() {
        let subject = |sans: &[SanEntry]| rsatls::pki::certificate_subject(&make(sans, 3)).unwrap();
        assert_eq!(subject(&[]), "CN=rsatls");
        assert_eq!(subject(&["::1".parse().unwrap()]), "CN=::1");
        assert_eq!(
            subject(&["192.0.2.7".parse().unwrap(), "a.test".parse().unwrap()]),
            "CN=192.0.2.7"
        );

        let no_san = Certificate::from_der(&make(&[], 3)).unwrap();
        assert!(
            no_san
                .tbs_certificate()
                .get_extension::<SubjectAltName>()
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn san_entries_parse_and_bad_dns_names_are_refused() {
        assert_eq!(
            "127.0.0.1".parse(),
            Ok(SanEntry::Ip(Ipv4Addr::LOCALHOST.into()))
        );
        assert_eq!(
            "*.example.test".parse(),
            Ok(SanEntry::Dns("*.example.test".into()))
        );
        for bad in [
            "",
            ".",
            "a..b",
            "a.",
            "a,b",
            "CN=x",
            "é.test",
            "a.*.test",
            "a b",
            &"x".repeat(64),
        ] {
            assert!(bad.parse::<SanEntry>().is_err(), "{bad:?}");
            let sans = [SanEntry::Dns(bad.into())];
            let mut rng = ChaCha20Rng::from_seed([4; 32]);
            assert!(self_signed(test_key(), &sans, not_before(), HUNDRED_YEARS, &mut rng).is_err());
        }
    }

    #[test]
    fn pem_encodings_load_back() {
        let der = make(&localhost_sans(), 5);
        let pem = cert_to_pem(&der);
        assert!(pem.lines().all(|line| line.len() <= 64));
        assert_eq!(
            rsatls::pki::load_certificates(pem.as_bytes()).unwrap(),
            [der]
        );

        let key_pem = key_to_pkcs8_pem(test_key()).unwrap();
        assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let loaded = rsatls::pki::load_private_key(key_pem.as_bytes()).unwrap();
        assert!(matches!(loaded, rsatls::pki::PrivateKeyFile::Pkcs8(_)));
    }

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let path = std::env::temp_dir().join(format!("rsatls-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs openssl and returns its stdout, failing the test on a non-zero exit.
    fn openssl(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "openssl {args:?} failed:\n{stdout}\n{stderr}"
        );
        stdout
    }

    #[test]
    fn openssl_accepts_the_certificate() {
        if let Err(e) = Command::new("openssl").arg("version").output() {
            eprintln!("skipping openssl_accepts_the_certificate: cannot run openssl ({e})");
            return;
        }
        let dir = TempDir::new("certgen");
        let der = make(&localhost_sans(), 6);
        std::fs::write(dir.0.join("cert.pem"), cert_to_pem(&der)).unwrap();
        std::fs::write(
            dir.0.join("key.pem"),
            key_to_pkcs8_pem(test_key()).unwrap().as_bytes(),
        )
        .unwrap();

        let text = openssl(&dir.0, &["x509", "-noout", "-text", "-in", "cert.pem"]);
        for expected in [
            "Signature Algorithm: sha256WithRSAEncryption",
            "Issuer: CN = localhost",
            "Subject: CN = localhost",
            "Public-Key: (2048 bit)",
            "X509v3 Basic Constraints: critical",
            "CA:FALSE",
            "X509v3 Key Usage: critical",
            "Digital Signature, Key Encipherment",
            "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
            "Not Before: Nov 14 22:13:20 2023 GMT",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }

        let verified = openssl(&dir.0, &["verify", "-CAfile", "cert.pem", "cert.pem"]);
        assert_eq!(verified.trim(), "cert.pem: OK");

        // The key file is the certificate's key, as openssl reads it.
        let cert_modulus = openssl(&dir.0, &["x509", "-noout", "-modulus", "-in", "cert.pem"]);
        let key_modulus = openssl(&dir.0, &["rsa", "-noout", "-modulus", "-in", "key.pem"]);
        assert_eq!(cert_modulus, key_modulus);
    }
}
