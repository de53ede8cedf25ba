//! Certificate path validation for [`crate::ServerAuth::TrustedCertificates`],
//! and the server's choice of certificate by SNI.
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

use der::Decode;
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, DnsName, InvalidSignature, ServerName,
    SignatureVerificationAlgorithm, UnixTime, alg_id,
};
use webpki::{EndEntityCert, KeyUsage};

use crate::crypto::{CryptoProvider, RsaSignatureScheme};
use crate::error::{CertificateError, Error};
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
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or(bad(CertificateError::Malformed))?;
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let anchors: Vec<_> = anchor_ders
        .iter()
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .collect();
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let leaf = CertificateDer::from(leaf.as_slice());
    let leaf = EndEntityCert::try_from(&leaf).map_err(|e| bad(certificate_error(&e)))?;

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
        KeyUsage::server_auth(),
        None,
        None,
    )
    .map_err(|e| bad(certificate_error(&e)))?;

    let name = server_name
        .and_then(reference_name)
        .ok_or(bad(CertificateError::NotValidForName))?;
    leaf.verify_is_valid_for_subject_name(&name)
        .map_err(|e| bad(certificate_error(&e)))
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
