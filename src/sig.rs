//! RSA signatures for CertificateVerify (RFC 5246 §7.4.8): the encodings are
//! built here, in the engine, and the provider performs only the raw
//! private-key operation it already has for key exchange.
//!
//! Signing: hash the message with the scheme's hash, build EMSA-PSS (salt of
//! the hash's length, from the connection's RNG, so transcripts stay
//! byte-exact) or EMSA-PKCS1-v1_5 (RFC 8017 §9.1.1, §9.2), apply RSASP1
//! through [`RsaPrivateKey::raw_decrypt`] (the same function as RSADP), and
//! check the result with the public key before it leaves (a faulty CRT
//! computation must not reveal the key).
//!
//! Verifying: the provider's whole-signature check
//! ([`CryptoProvider::verify_rsa_signature`]); the inputs are public.

#![allow(dead_code)] // Until the engines sign and verify CertificateVerify (issue 13, in progress).

use rand_core::CryptoRng;

use crate::crypto::{CryptoProvider, RsaPrivateKey};
use crate::error::Error;
use crate::msgs::enums::SignatureScheme;

/// The RSA schemes rsatls signs and verifies with in CertificateVerify, in
/// the client's order of preference: RSA-PSS-RSAE, then PKCS#1 v1.5, each with
/// SHA-256, SHA-384 and SHA-512. No SHA-1.
pub(crate) const SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

/// Signs `message` (not hashed yet) with `key` under `scheme`, one of
/// [`SCHEMES`]. Salt and blinding come from `rng`.
///
/// # Errors
/// [`Error::Internal`] if the scheme is not one of [`SCHEMES`], the key is too
/// small for the encoding, the provider fails, or the signature does not
/// verify under the key's public half.
pub(crate) fn sign(
    provider: &dyn CryptoProvider,
    key: &dyn RsaPrivateKey,
    scheme: SignatureScheme,
    message: &[u8],
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    let _ = (provider, key, scheme, message, rng);
    Err(Error::Internal("RSA signing is not implemented yet"))
}

/// Verifies `signature` over `message` under the RSA public key (`modulus`,
/// `exponent`, big-endian) with `scheme`.
///
/// # Errors
/// [`Error::DecryptError`] for a scheme outside [`SCHEMES`] or a signature
/// that does not verify (RFC 5246 §7.2.2: decrypt_error, "a signature could
/// not be correctly verified").
pub(crate) fn verify(
    provider: &dyn CryptoProvider,
    scheme: SignatureScheme,
    modulus: &[u8],
    exponent: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let scheme = provider_scheme(scheme).ok_or(Error::DecryptError)?;
    provider
        .verify_rsa_signature(scheme, modulus, exponent, message, signature)
        .map_err(|_| Error::DecryptError)
}

/// The provider's name for one of [`SCHEMES`].
fn provider_scheme(scheme: SignatureScheme) -> Option<crate::crypto::RsaSignatureScheme> {
    use crate::crypto::RsaSignatureScheme as R;
    Some(match scheme {
        SignatureScheme::RSA_PSS_RSAE_SHA256 => R::PssSha256,
        SignatureScheme::RSA_PSS_RSAE_SHA384 => R::PssSha384,
        SignatureScheme::RSA_PSS_RSAE_SHA512 => R::PssSha512,
        SignatureScheme::RSA_PKCS1_SHA256 => R::Pkcs1Sha256,
        SignatureScheme::RSA_PKCS1_SHA384 => R::Pkcs1Sha384,
        SignatureScheme::RSA_PKCS1_SHA512 => R::Pkcs1Sha512,
        _ => return None,
    })
}
