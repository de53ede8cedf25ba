//! Loading X.509 certificates, and reading the RSA key and the subject out of one.

use der::asn1::AnyRef;
use der::{Decode, Encode};
use x509_cert::Certificate;

use super::pem::{looks_like_pem, pem_blocks};
#[cfg(doc)]
use super::pin_of_spki;
use super::{RSA_ENCRYPTION, params_are_null};
use crate::{CertificateError, Error};

/// Loads certificates from a PEM bundle or a single DER certificate.
///
/// PEM input yields its `CERTIFICATE` blocks in order; text and other blocks
/// between them are ignored. Each certificate must parse as X.509; its signature
/// and validity are not checked here.
///
/// # Errors
/// [`Error::Config`] if there is no certificate or one does not parse.
pub fn load_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    const BAD_CERT: Error = Error::Config("certificate does not parse as X.509");
    if !looks_like_pem(bytes) {
        Certificate::from_der(bytes).map_err(|_| BAD_CERT)?;
        return Ok(vec![bytes.to_vec()]);
    }
    let mut certs = Vec::new();
    for block in pem_blocks(bytes)? {
        if block.label != "CERTIFICATE" {
            continue;
        }
        if block.has_headers {
            return Err(Error::Config("PEM CERTIFICATE block has headers"));
        }
        Certificate::from_der(&block.der).map_err(|_| BAD_CERT)?;
        certs.push(block.der.to_vec());
    }
    if certs.is_empty() {
        return Err(Error::Config("no CERTIFICATE block in the PEM input"));
    }
    Ok(certs)
}

/// The RSA public key of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKeyInfo {
    /// The modulus `n`, big-endian, without leading zeros.
    pub modulus: Vec<u8>,
    /// The public exponent `e`, big-endian, without leading zeros.
    pub exponent: Vec<u8>,
    /// The DER of the certificate's whole `SubjectPublicKeyInfo`: the bytes a
    /// pin hashes (see [`pin_of_spki`]).
    pub spki_der: Vec<u8>,
}

/// Extracts the RSA public key from a DER certificate.
///
/// Only the key is extracted: the certificate's signature, validity and
/// extensions are not checked, and the key's size is for the caller to judge.
///
/// # Errors
/// [`CertificateError::NotRsa`] if the key's algorithm is not `rsaEncryption`;
/// [`CertificateError::Malformed`] if the certificate or the key does not parse.
pub fn rsa_key_from_certificate(cert_der: &[u8]) -> Result<RsaPublicKeyInfo, CertificateError> {
    use CertificateError::Malformed;

    let cert = Certificate::from_der(cert_der).map_err(|_| Malformed)?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(CertificateError::NotRsa);
    }
    if !params_are_null(spki.algorithm.parameters.as_ref().map(AnyRef::from)) {
        return Err(Malformed);
    }
    // RFC 3279 §2.3.1: the BIT STRING holds the DER of an RSAPublicKey, so it
    // has no unused bits.
    let key_der = spki.subject_public_key.as_bytes().ok_or(Malformed)?;
    let key = pkcs1::RsaPublicKeyRef::from_der(key_der).map_err(|_| Malformed)?;
    let (modulus, exponent) = (key.modulus.as_bytes(), key.public_exponent.as_bytes());
    // A zero modulus or exponent is no key at all. DER gives zero as a single
    // zero byte (leading zeros are stripped, but one digit remains).
    let is_zero = |v: &[u8]| v.iter().all(|&b| b == 0);
    if is_zero(modulus) || is_zero(exponent) {
        return Err(Malformed);
    }
    Ok(RsaPublicKeyInfo {
        modulus: modulus.to_vec(),
        exponent: exponent.to_vec(),
        spki_der: spki.to_der().map_err(|_| Malformed)?,
    })
}

/// The subject of a DER certificate as an RFC 4514 string (`CN=localhost`), for
/// display. `None` if the certificate does not parse.
pub fn certificate_subject(cert_der: &[u8]) -> Option<String> {
    let cert = Certificate::from_der(cert_der).ok()?;
    Some(cert.tbs_certificate().subject().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::load_private_key;
    use crate::pki::test_support::*;

    #[test]
    fn every_rsa_key_loads_and_matches_its_certificate() {
        for pair in RSA {
            let RsaPair {
                name,
                bits,
                cert_der,
                key_pem,
                ..
            } = *pair;
            let key = load_private_key(key_pem).unwrap();
            let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der(&key)).unwrap();
            let private = pkcs1::RsaPrivateKeyRef::try_from(info.private_key).unwrap();
            let public = rsa_key_from_certificate(cert_der).unwrap();
            assert_eq!(public.modulus, private.modulus.as_bytes(), "{name}");
            assert_eq!(public.modulus.len() * 8, bits, "{name}");
            assert_eq!(public.exponent, [1, 0, 1], "{name}");
        }
    }

    #[test]
    fn certificates_load_from_der_pem_and_bundles() {
        let der = data!("rsa2048.cert.der");
        assert_eq!(load_certificates(der).unwrap(), [der.to_vec()]);
        assert_eq!(
            load_certificates(data!("rsa2048.cert.pem")).unwrap(),
            [der.to_vec()]
        );

        // A bundle with text and a key between the certificates, as
        // `openssl x509 -subject` and combined key files produce.
        let bundle = [
            b"subject=CN=localhost\n".as_slice(),
            data!("rsa2048.cert.pem"),
            b"\n# next\n",
            data!("ec256.key.pem"),
            data!("rsa3072.cert.pem"),
            b"trailing words",
        ]
        .concat();
        let certs = load_certificates(&bundle).unwrap();
        assert_eq!(certs, [der.to_vec(), data!("rsa3072.cert.der").to_vec()]);
    }

    #[test]
    fn unusable_certificates_are_config_errors() {
        let bad = Error::Config("certificate does not parse as X.509");
        let not_a_cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        let cases: &[(&[u8], Error)] = &[
            (b"", bad.clone()),
            (b"garbage", bad.clone()),
            (data!("rsa2048.key.der"), bad.clone()),
            (not_a_cert.as_bytes(), bad),
            (
                data!("rsa2048.key.pem"),
                Error::Config("no CERTIFICATE block in the PEM input"),
            ),
            (
                b"-----BEGIN CERTIFICATE-----\n",
                Error::Config("PEM block has no END line"),
            ),
        ];
        for (i, (input, expected)) in cases.iter().enumerate() {
            assert_eq!(load_certificates(input).unwrap_err(), *expected, "case {i}");
        }
    }

    #[test]
    fn rsa_key_extraction() {
        let a = rsa_key_from_certificate(data!("rsa2048.cert.der")).unwrap();
        let b = rsa_key_from_certificate(data!("other2048.cert.der")).unwrap();
        assert_ne!(a.modulus, b.modulus);
        assert_ne!(a.modulus[0], 0);
        // The SPKI is a sub-slice of the certificate, byte for byte.
        let cert = data!("rsa2048.cert.der");
        assert!(cert.windows(a.spki_der.len()).any(|w| w == a.spki_der));

        assert_eq!(
            rsa_key_from_certificate(data!("ec256.cert.der")),
            Err(CertificateError::NotRsa)
        );
        assert_eq!(
            rsa_key_from_certificate(b"garbage"),
            Err(CertificateError::Malformed)
        );
        assert_eq!(
            rsa_key_from_certificate(data!("rsa2048.cert.pem")),
            Err(CertificateError::Malformed)
        );
    }

    #[test]
    fn truncated_certificates_are_malformed() {
        let cert = data!("rsa2048.cert.der");
        for len in 0..cert.len() {
            assert_eq!(
                rsa_key_from_certificate(&cert[..len]),
                Err(CertificateError::Malformed),
                "prefix {len}"
            );
            assert!(load_certificates(&cert[..len]).is_err());
            assert_eq!(certificate_subject(&cert[..len]), None);
        }
        let mut extended = cert.to_vec();
        extended.push(0);
        assert_eq!(
            rsa_key_from_certificate(&extended),
            Err(CertificateError::Malformed)
        );
    }

    #[test]
    fn corrupted_certificates_do_not_panic() {
        let cert = data!("rsa2048.cert.der");
        let mut copy = cert.to_vec();
        for i in 0..copy.len() {
            for flip in [0x01, 0x80, 0xff] {
                copy[i] ^= flip;
                // Any outcome but a panic is acceptable: some bytes (the
                // signature, say) are not checked here.
                let _ = rsa_key_from_certificate(&copy);
                let _ = certificate_subject(&copy);
                copy[i] ^= flip;
            }
        }
    }

    // The tests below each pin a rule that mutation testing found unobserved.

    /// The DER of `rsaEncryption` with NULL parameters, as an AlgorithmIdentifier.
    const RSA_ALG_NULL: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];

    /// `RSA_ALG_NULL` with an empty OCTET STRING in place of the NULL.
    const RSA_ALG_OCTETS: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x04, 0x00,
    ];

    #[test]
    fn rsa_parameters_other_than_null_are_refused() {
        // PKCS#8: the same key with an OCTET STRING as parameters.
        let der = data!("rsa2048.key.der");
        assert_eq!(&der[7..22], RSA_ALG_NULL);
        let odd = [&der[..7], RSA_ALG_OCTETS, &der[22..]].concat();
        assert_eq!(
            load_private_key(&odd).unwrap_err(),
            Error::Config("PKCS#8 private key does not parse")
        );
        // The certificate's key: the same change.
        let cert = data!("rsa2048.cert.der");
        let key = rsa_key_from_certificate(cert).unwrap();
        let odd = with_spki(cert, RSA_ALG_OCTETS, &key.modulus, &key.exponent);
        assert_eq!(
            rsa_key_from_certificate(&odd),
            Err(CertificateError::Malformed)
        );
    }

    /// A DER TLV with a definite length (short or two-byte long form).
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = vec![tag];
        match len {
            0..0x80 => out.push(len as u8),
            0x80..0x100 => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// The header length and content length of the DER TLV at the start of `der`.
    fn tlv_header(der: &[u8]) -> (usize, usize) {
        match der[1] {
            n if n < 0x80 => (2, usize::from(n)),
            0x81 => (3, usize::from(der[2])),
            0x82 => (4, usize::from(der[2]) << 8 | usize::from(der[3])),
            other => panic!("length form {other:#x}"),
        }
    }

    /// `cert` with its SubjectPublicKeyInfo rebuilt from an AlgorithmIdentifier
    /// and an RSA modulus and exponent given as INTEGER contents (the signature
    /// no longer matches; it is not checked here).
    fn with_spki(cert: &[u8], alg: &[u8], modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
        let as_int = |v: &[u8]| {
            let pad = v.first().is_some_and(|b| b & 0x80 != 0);
            tlv(0x02, &[if pad { &[0][..] } else { &[] }, v].concat())
        };
        let key = tlv(0x30, &[as_int(modulus), as_int(exponent)].concat());
        let bits = tlv(0x03, &[&[0][..], &key].concat());
        let spki = tlv(0x30, &[alg, &bits].concat());
        let old = rsa_key_from_certificate(cert).unwrap().spki_der;
        let (outer, _) = tlv_header(cert);
        let (inner, tbs_len) = tlv_header(&cert[outer..]);
        let tbs = &cert[outer + inner..outer + inner + tbs_len];
        let at = tbs.windows(old.len()).position(|w| w == old).unwrap();
        let new_tbs = [&tbs[..at], &spki, &tbs[at + old.len()..]].concat();
        let rest = &cert[outer + inner + tbs_len..];
        tlv(0x30, &[tlv(0x30, &new_tbs).as_slice(), rest].concat())
    }

    #[test]
    fn zero_modulus_or_exponent_is_no_key() {
        let cert = data!("rsa2048.cert.der");
        let key = rsa_key_from_certificate(cert).unwrap();
        // The rebuild is faithful: the same key gives the same certificate.
        assert_eq!(
            with_spki(cert, RSA_ALG_NULL, &key.modulus, &key.exponent),
            cert
        );
        let zero_exponent = with_spki(cert, RSA_ALG_NULL, &key.modulus, &[0]);
        let zero_modulus = with_spki(cert, RSA_ALG_NULL, &[0], &key.exponent);
        for bad in [zero_exponent, zero_modulus] {
            assert_eq!(
                rsa_key_from_certificate(&bad),
                Err(CertificateError::Malformed)
            );
        }
    }

    #[test]
    fn subject_for_display() {
        assert_eq!(
            certificate_subject(data!("rsa2048.cert.der")).as_deref(),
            Some("CN=localhost")
        );
        assert_eq!(
            certificate_subject(data!("ec256.cert.der")).as_deref(),
            Some("CN=localhost")
        );
        assert_eq!(certificate_subject(b"garbage"), None);
    }
}
