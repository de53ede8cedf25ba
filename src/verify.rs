//! Certificate path validation for [`crate::ServerAuth::TrustedCertificates`]
//! and for client certificates ([`crate::ServerConfig::with_client_auth`]),
//! the checks on a leaf that is itself trusted, the key-usage rules every
//! server and client key must meet, and the server's choice of certificate by
//! SNI.
//!
//! Path building, validity periods, name matching and the RFC 5280 profile are
//! `rustls-webpki`'s; rsatls only supplies the signature algorithms, as adapters
//! over the configuration's [`CryptoProvider`], so no second crypto library is
//! linked. Only RSA signatures are offered (PKCS#1 v1.5 and PSS, SHA-256/384/512):
//! a chain signed with anything else fails as
//! [`CertificateError::Unsupported`].
//!
//! The time of validation is a parameter, never read here.

use core::fmt;
use core::net::IpAddr;

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, DnsName, InvalidSignature, ServerName,
    SignatureVerificationAlgorithm, UnixTime, alg_id,
};
use webpki::{EndEntityCert, KeyUsage};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage as KeyUsageExtension};

use crate::crypto::{CryptoProvider, RsaSignatureScheme};
use crate::error::{CertificateError, Error};
use crate::pki::{self, RsaPublicKeyInfo};
use crate::rsa_kx::{MAX_RSA_BITS, MIN_RSA_BITS};

/// Validates `chain` (leaf first, as the server sent it) to one of `anchors`
/// (DER certificates) at `now`, and checks that the leaf is valid for
/// `server_name` (a DNS name or an IP address).
///
/// Anchors that do not parse are skipped. Without a server name nothing can be
/// checked against the leaf, so the chain is refused.
pub(crate) fn verify_server_chain(
    provider: &dyn CryptoProvider,
    anchors: &[Vec<u8>],
    chain: &[Vec<u8>],
    server_name: Option<&str>,
    now: UnixTime,
) -> Result<(), Error> {
    let bad = |e| Error::BadCertificate(e);
    let leaf_der = chain.first().ok_or(bad(CertificateError::Malformed))?;
    let leaf_der = CertificateDer::from(leaf_der.as_slice());
    let leaf = EndEntityCert::try_from(&leaf_der).map_err(|e| bad(certificate_error(&e)))?;
    verify_chain(
        provider,
        anchors,
        &leaf,
        chain,
        now,
        KeyUsage::server_auth(),
    )?;

    let name = server_name
        .and_then(reference_name)
        .ok_or(bad(CertificateError::NotValidForName))?;
    leaf.verify_is_valid_for_subject_name(&name)
        .map_err(|e| bad(certificate_error(&e)))
}

/// Validates a client's `chain` (leaf first) to one of `anchors` (DER
/// certificates) at `now`, for a server that asked for it (RFC 5246 §7.4.6):
/// the leaf must allow clientAuth if it has an extendedKeyUsage extension,
/// allow digitalSignature if it has a keyUsage extension (it signs the
/// CertificateVerify, RFC 5280 §4.2.1.3), and hold an RSA key of 2048 to 8192
/// bits. No name is checked. Returns the leaf's RSA public key.
pub(crate) fn verify_client_chain(
    provider: &dyn CryptoProvider,
    anchors: &[Vec<u8>],
    chain: &[Vec<u8>],
    now: UnixTime,
) -> Result<RsaPublicKeyInfo, Error> {
    let bad = |e| Error::BadCertificate(e);
    let leaf_der = chain.first().ok_or(bad(CertificateError::Malformed))?;
    let key = pki::rsa_key_from_certificate(leaf_der).map_err(bad)?;
    let leaf_der = CertificateDer::from(leaf_der.as_slice());
    let leaf = EndEntityCert::try_from(&leaf_der).map_err(|e| bad(certificate_error(&e)))?;
    verify_chain(
        provider,
        anchors,
        &leaf,
        chain,
        now,
        KeyUsage::client_auth(),
    )?;
    check_digital_signature(leaf_der.as_ref()).map_err(bad)?;
    let bits = provider
        .rsa_public_key(&key.modulus, &key.exponent)
        .map_err(|_| bad(CertificateError::Malformed))?
        .modulus_bits();
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(bad(CertificateError::KeySize));
    }
    Ok(key)
}

/// Builds a path from `leaf` (the first of `chain`) through the rest of
/// `chain` to one of `anchors` at `now`, for `usage`. Anchors that do not
/// parse are skipped.
fn verify_chain(
    provider: &dyn CryptoProvider,
    anchors: &[Vec<u8>],
    leaf: &EndEntityCert<'_>,
    chain: &[Vec<u8>],
    now: UnixTime,
    usage: KeyUsage,
) -> Result<(), Error> {
    let bad = |e| Error::BadCertificate(e);
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let anchors: Vec<_> = anchor_ders
        .iter()
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .collect();
    let intermediates: Vec<CertificateDer<'_>> = chain
        .iter()
        .skip(1)
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();

    let algorithms = ProviderAlgorithm::all(provider);
    let algorithms: Vec<&dyn SignatureVerificationAlgorithm> = algorithms
        .iter()
        .map(|a| a as &dyn SignatureVerificationAlgorithm)
        .collect();
    leaf.verify_for_usage(
        &algorithms,
        &anchors,
        &intermediates,
        now,
        usage,
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| bad(certificate_error(&e)))
}

/// RFC 5280 §4.2.1.3: a key whose certificate has a keyUsage extension may
/// only be used as it says; a client key signs the CertificateVerify (RFC 5246
/// §7.4.8), so the extension, when present, must assert digitalSignature.
pub(crate) fn check_digital_signature(leaf: &[u8]) -> Result<(), CertificateError> {
    check_key_usage(
        leaf,
        KeyUsageExtension::digital_signature,
        CertificateError::NoDigitalSignature,
    )
}

/// Most bytes of distinguished names a CertificateRequest carries
/// (RFC 5246 §7.4.4 certificate_authorities): names past this are left out,
/// so a long CA file cannot make the message (or the client's buffer) large.
pub(crate) const MAX_CA_NAMES_LEN: usize = 16 * 1024;

/// The DER subject names of the `roots` that parse, in order, for a
/// CertificateRequest's certificate_authorities: each is added while the
/// encoded list (two length bytes per name) stays within
/// [`MAX_CA_NAMES_LEN`].
pub(crate) fn subject_names(roots: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    let mut len = 0;
    for root in roots {
        let Ok(cert) = Certificate::from_der(root) else {
            continue;
        };
        let Ok(name) = cert.tbs_certificate().subject().to_der() else {
            continue;
        };
        // RFC 5246 §7.4.4: opaque DistinguishedName<1..2^16-1>. A DER Name is
        // never empty (a SEQUENCE header at least), and the cap keeps each
        // one, and the whole list, far below 2^16.
        if len + 2 + name.len() > MAX_CA_NAMES_LEN {
            break;
        }
        len += 2 + name.len();
        names.push(name);
    }
    names
}

/// Checks a leaf that is byte-identical to a trusted certificate (a
/// self-signed server named in `--cafile`): no chain is built, but the leaf
/// must be valid for `server_name`, must allow serverAuth if it has an
/// extendedKeyUsage extension (the rule webpki applies to a chain's leaf), and,
/// when the caller gave the time, `now` must lie in its validity period.
pub(crate) fn verify_trusted_leaf(
    leaf: &[u8],
    server_name: Option<&str>,
    now: Option<UnixTime>,
) -> Result<(), Error> {
    let bad = |e| Error::BadCertificate(e);
    let cert = Certificate::from_der(leaf).map_err(|_| bad(CertificateError::Malformed))?;
    check_server_auth_eku(&cert).map_err(bad)?;
    if let Some(now) = now {
        check_validity(&cert, now).map_err(bad)?;
    }
    let der = CertificateDer::from(leaf);
    let end_entity = EndEntityCert::try_from(&der).map_err(|e| bad(certificate_error(&e)))?;
    let name = server_name
        .and_then(reference_name)
        .ok_or(bad(CertificateError::NotValidForName))?;
    end_entity
        .verify_is_valid_for_subject_name(&name)
        .map_err(|e| bad(certificate_error(&e)))
}

/// RFC 5246 §7.4.2: for RSA key exchange "the certificate MUST allow the key to
/// be used for encryption (the keyEncipherment bit MUST be set if the key usage
/// extension is present)"; RFC 5280 §4.2.1.3 restricts the key to the uses the
/// extension names. A leaf without the extension may be used for anything.
///
/// This is about the key's use, not its trust: it applies to pinned keys and
/// trusted leaves as much as to validated chains.
pub(crate) fn check_key_encipherment(leaf: &[u8]) -> Result<(), CertificateError> {
    check_key_usage(
        leaf,
        KeyUsageExtension::key_encipherment,
        CertificateError::NoKeyEncipherment,
    )
}

/// The leaf's keyUsage extension, if it has one, must allow the use `allows`
/// asks about; otherwise `missing`.
fn check_key_usage(
    leaf: &[u8],
    allows: fn(&KeyUsageExtension) -> bool,
    missing: CertificateError,
) -> Result<(), CertificateError> {
    let cert = Certificate::from_der(leaf).map_err(|_| CertificateError::Malformed)?;
    // Two keyUsage extensions (RFC 5280 §4.2: at most one) do not decode.
    match cert.tbs_certificate().get_extension::<KeyUsageExtension>() {
        Ok(None) => Ok(()),
        Ok(Some((_, usage))) if allows(&usage) => Ok(()),
        Ok(Some(_)) => Err(missing),
        Err(_) => Err(CertificateError::Malformed),
    }
}

/// `id-kp-serverAuth` (RFC 5280 §4.2.1.12).
const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

/// RFC 5280 §4.2.1.12, as webpki applies it to a chain's leaf: an
/// extendedKeyUsage extension, if present, must list serverAuth
/// (anyExtendedKeyUsage is not enough), and an empty one is invalid.
fn check_server_auth_eku(cert: &Certificate) -> Result<(), CertificateError> {
    match cert.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
        Ok(None) => Ok(()),
        Ok(Some((_, eku))) if eku.0.contains(&SERVER_AUTH) => Ok(()),
        Ok(Some(_)) => Err(CertificateError::InvalidChain),
        Err(_) => Err(CertificateError::Malformed),
    }
}

/// RFC 5280 §4.1.2.5: valid from notBefore to notAfter, both inclusive (the
/// comparison webpki makes for the certificates of a chain).
fn check_validity(cert: &Certificate, now: UnixTime) -> Result<(), CertificateError> {
    let validity = cert.tbs_certificate().validity();
    let now = now.as_secs();
    if now < validity.not_before.to_unix_duration().as_secs() {
        return Err(CertificateError::NotYetValid);
    }
    if now > validity.not_after.to_unix_duration().as_secs() {
        return Err(CertificateError::Expired);
    }
    Ok(())
}

/// Whether the certificate `leaf` is valid for the DNS name `name` (exactly,
/// without regard to case, or through a `*.` wildcard for one label).
pub(crate) fn leaf_is_valid_for_dns_name(leaf: &[u8], name: &str) -> bool {
    let Ok(name) = DnsName::try_from(name) else {
        return false;
    };
    let der = CertificateDer::from(leaf);
    EndEntityCert::try_from(&der).is_ok_and(|cert| {
        cert.verify_is_valid_for_subject_name(&ServerName::DnsName(name))
            .is_ok()
    })
}

/// Whether `cert` is a certificate webpki can use as a trust anchor.
pub(crate) fn parses_as_trust_anchor(cert: &[u8]) -> bool {
    webpki::anchor_from_trusted_cert(&CertificateDer::from(cert)).is_ok()
}

/// Whether `leaf` is a certificate webpki can check names against.
pub(crate) fn parses_as_end_entity(leaf: &[u8]) -> bool {
    EndEntityCert::try_from(&CertificateDer::from(leaf)).is_ok()
}

/// Whether `name` is a literal IPv4 or IPv6 address (parsed, never resolved).
pub(crate) fn is_ip_address(name: &str) -> bool {
    name.parse::<IpAddr>().is_ok()
}

/// The name a leaf must be valid for: an IP address if `name` is one, else a
/// DNS name.
fn reference_name(name: &str) -> Option<ServerName<'_>> {
    match name.parse::<IpAddr>() {
        Ok(ip) => Some(ServerName::IpAddress(ip.into())),
        Err(_) => DnsName::try_from(name).ok().map(ServerName::DnsName),
    }
}

/// The one place webpki's reasons become rsatls's (and so, through
/// [`Error::alert`], alerts): a wrong name is bad_certificate, an unknown issuer
/// unknown_ca, an expired or not yet valid certificate certificate_expired.
fn certificate_error(e: &webpki::Error) -> CertificateError {
    use CertificateError as C;
    use webpki::Error as W;
    match e {
        W::CertNotValidForName(_) | W::MalformedDnsIdentifier | W::UnsupportedNameType => {
            C::NotValidForName
        }
        W::UnknownIssuer => C::UnknownIssuer,
        W::CertExpired { .. } => C::Expired,
        W::CertNotValidYet { .. } => C::NotYetValid,
        W::InvalidSignatureForPublicKey => C::BadSignature,
        W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | W::UnsupportedCriticalExtension
        | W::UnsupportedCertVersion => C::Unsupported,
        W::BadDer | W::BadDerTime | W::TrailingData(_) | W::InvalidSerialNumber => C::Malformed,
        // CA used as the leaf, path length, name constraints, EKU, distrusted
        // keys, path-building limits, invalid extensions and validity periods.
        _ => C::InvalidChain,
    }
}

/// An RSA signature algorithm as webpki sees it, computed by the provider.
struct ProviderAlgorithm<'a> {
    provider: &'a dyn CryptoProvider,
    scheme: RsaSignatureScheme,
    signature_alg_id: AlgorithmIdentifier,
}

impl<'a> ProviderAlgorithm<'a> {
    /// Every RSA scheme, strongest hash first within each padding.
    fn all(provider: &'a dyn CryptoProvider) -> [Self; 6] {
        use RsaSignatureScheme as S;
        [
            (S::Pkcs1Sha256, alg_id::RSA_PKCS1_SHA256),
            (S::Pkcs1Sha384, alg_id::RSA_PKCS1_SHA384),
            (S::Pkcs1Sha512, alg_id::RSA_PKCS1_SHA512),
            (S::PssSha256, alg_id::RSA_PSS_SHA256),
            (S::PssSha384, alg_id::RSA_PSS_SHA384),
            (S::PssSha512, alg_id::RSA_PSS_SHA512),
        ]
        .map(|(scheme, signature_alg_id)| Self {
            provider,
            scheme,
            signature_alg_id,
        })
    }
}

impl fmt::Debug for ProviderAlgorithm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderAlgorithm")
            .field("provider", &self.provider.name())
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl SignatureVerificationAlgorithm for ProviderAlgorithm<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        // `public_key` is the subjectPublicKey of an rsaEncryption SPKI: the DER
        // of an RSAPublicKey (RFC 8017 Appendix A.1.1). Untrusted input.
        let key = pkcs1::RsaPublicKeyRef::from_der(public_key).map_err(|_| InvalidSignature)?;
        let modulus = trim_leading_zeros(key.modulus.as_bytes());
        let bits = match modulus.first() {
            Some(&top) => 8 * modulus.len() - top.leading_zeros() as usize,
            None => return Err(InvalidSignature),
        };
        // The same key-size policy as for the server's own key.
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(InvalidSignature);
        }
        self.provider
            .verify_rsa_signature(
                self.scheme,
                modulus,
                key.public_exponent.as_bytes(),
                message,
                signature,
            )
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id
    }
}

/// `bytes` without its leading zero bytes (public data only).
fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    //! Rules that mutation testing found unobserved; the certificates are
    //! tests/data/verify's (see its make.sh).
    use super::*;

    macro_rules! cert {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/verify/",
                $name
            ))
            .to_vec()
        };
    }

    /// 2027-01-01, inside every test certificate's validity period.
    fn now() -> UnixTime {
        UnixTime::since_unix_epoch(core::time::Duration::from_secs(1_798_761_600))
    }

    fn chain_result(anchor: Vec<u8>, chain: &[Vec<u8>]) -> Result<(), Error> {
        let provider = crate::crypto::default_provider();
        verify_server_chain(
            provider.as_ref(),
            &[anchor],
            chain,
            Some("localhost"),
            now(),
        )
    }

    #[test]
    fn a_version_1_leaf_is_unsupported() {
        let v1 = cert!("v1.cert.der");
        assert!(!parses_as_end_entity(&v1));
        assert!(parses_as_end_entity(&cert!("leaf-by-ca2048.cert.der")));
        assert_eq!(
            chain_result(v1.clone(), &[v1]),
            Err(Error::BadCertificate(CertificateError::Unsupported))
        );
    }

    #[test]
    fn a_leaf_that_is_not_der_is_malformed() {
        // Not parsed before webpki's EndEntityCert: its BadDer is the reason.
        let leaf = cert!("leaf-by-ca2048.cert.der");
        for bad in [b"garbage".to_vec(), leaf[..leaf.len() - 1].to_vec()] {
            assert_eq!(
                chain_result(cert!("ca2048.cert.der"), &[bad]),
                Err(Error::BadCertificate(CertificateError::Malformed))
            );
        }
    }

    #[test]
    fn the_key_size_floor_applies_to_issuers() {
        // The same leaf key and extensions, issued by a 2048-bit CA and by a
        // 2047-bit one (a modulus whose top byte is not full).
        assert_eq!(
            chain_result(
                cert!("ca2048.cert.der"),
                &[cert!("leaf-by-ca2048.cert.der")]
            ),
            Ok(())
        );
        assert!(
            chain_result(
                cert!("ca2047.cert.der"),
                &[cert!("leaf-by-ca2047.cert.der")]
            )
            .is_err()
        );
    }
}
