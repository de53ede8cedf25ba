//! The fast provider (feature `fast`): [`CryptoProvider`] over the system OpenSSL
//! libcrypto for RSA, aws-lc-rs for AES-GCM, and the RustCrypto provider's SHA-2
//! and HMAC.
//!
//! Each primitive comes from the fastest library measured on the reference
//! machine that keeps the engine's design (BENCHMARKS.md, "Why these libraries"):
//!
//! - RSA: the engine's ClientKeyExchange countermeasure needs the bare RSA
//!   private-key operation (RSADP), with the padding checked by the engine in
//!   constant time. aws-lc-rs only offers PKCS#1 decryption that *fails* on bad
//!   padding, exactly the oracle the engine is built to avoid, so RSA comes from
//!   OpenSSL's `RSA_private_decrypt` with `RSA_NO_PADDING` (blinded, CRT with a
//!   fault check, constant-time modular exponentiation): 3.9× the `rsa` crate.
//! - AES-GCM: aws-lc-rs, ahead of OpenSSL's EVP interface and of `aes-gcm`.
//! - SHA-2 and HMAC: the PRF hashes short messages, where per-call setup
//!   dominates; RustCrypto's `sha2` (SHA-NI) and `hmac` beat aws-lc-rs's HMAC
//!   there by 3.5× and zeroize their output, so they are delegated to
//!   [`super::rustcrypto`].
//!
//! Differences from the RustCrypto provider, both inside the trait's contract:
//!
//! - RSA blinding randomness comes from OpenSSL's own DRBG, not from the `rng`
//!   argument (OpenSSL offers no way to supply it). Blinding never changes a
//!   result, so transcripts stay reproducible; the engine's own random draws
//!   (fallback premaster, padding, randoms) still all come from its injected RNG.
//! - Key and library state (the RSA key, the AEAD context) lives in the C
//!   libraries' heaps, which Rust's global allocator does not see.
//!
//! This and `rustcrypto` are the only modules that name cryptography crates.

use std::sync::Arc;

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use openssl::bn::BigNum;
use openssl::pkey::{Private, Public};
use openssl::rsa::{Padding, Rsa};
use pkcs8::der::Decode;
use rand_core::CryptoRng;
use zeroize::Zeroize;

use super::rustcrypto::RUSTCRYPTO;
use super::{
    AeadAlgorithm, AeadKey, CryptoError, CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN, HashAlgorithm,
    HashOutput, PrivateKeyDer, RsaPrivateKey, RsaPublicKey, RsaSignatureScheme,
};

/// The provider backed by OpenSSL (RSA), aws-lc-rs (AES-GCM) and RustCrypto
/// (SHA-2, HMAC).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fast;

/// A shared instance of [`Fast`], for callers that want a `&'static dyn CryptoProvider`.
pub static FAST: Fast = Fast;

/// The fast provider, ready to hand to a configuration.
pub fn default_provider() -> Arc<dyn CryptoProvider> {
    Arc::new(Fast)
}

/// Public keys accepted by [`CryptoProvider::rsa_public_key`]: the same bounds as
/// the RustCrypto provider, so both accept exactly the same keys.
const MIN_PUBLIC_BITS: usize = 1024;
const MAX_PUBLIC_BITS: usize = 8192;
/// Public exponents must be odd, at least 3 and below 2^33.
const MAX_EXPONENT_BITS: usize = 33;

/// `rsaEncryption` (RFC 8017 Appendix C), the only PKCS#8 algorithm accepted.
const RSA_ENCRYPTION: pkcs8::ObjectIdentifier =
    pkcs8::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl CryptoProvider for Fast {
    fn name(&self) -> &'static str {
        "fast"
    }

    fn hash(&self, alg: HashAlgorithm, data: &[u8]) -> HashOutput {
        RUSTCRYPTO.hash(alg, data)
    }

    fn hmac(&self, alg: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> HashOutput {
        RUSTCRYPTO.hmac(alg, key, parts)
    }

    fn aead_key(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError);
        }
        let aead_alg = match alg {
            AeadAlgorithm::Aes128Gcm => &AES_128_GCM,
            AeadAlgorithm::Aes256Gcm => &AES_256_GCM,
        };
        let key = UnboundKey::new(aead_alg, key).map_err(|_| CryptoError)?;
        Ok(Box::new(Gcm(LessSafeKey::new(key))))
    }

    fn rsa_private_key(
        &self,
        der: PrivateKeyDer<'_>,
    ) -> Result<Box<dyn RsaPrivateKey>, CryptoError> {
        // The containers are parsed strictly (DER, no trailing data) by the same
        // crates the rest of rsatls uses; OpenSSL then sees only the PKCS#1 key.
        let pkcs1 = match der {
            PrivateKeyDer::Pkcs1(bytes) => {
                pkcs1::RsaPrivateKeyRef::from_der(bytes).map_err(|_| CryptoError)?;
                bytes
            }
            PrivateKeyDer::Pkcs8(bytes) => {
                let info = pkcs8::PrivateKeyInfoRef::from_der(bytes).map_err(|_| CryptoError)?;
                if info.algorithm.oid != RSA_ENCRYPTION {
                    return Err(CryptoError);
                }
                let inner = info.private_key.as_bytes();
                pkcs1::RsaPrivateKeyRef::from_der(inner).map_err(|_| CryptoError)?;
                inner
            }
        };
        let key = Rsa::private_key_from_der(pkcs1).map_err(|_| CryptoError)?;
        // RSA_check_key: p and q prime, n = pq, d·e ≡ 1, and the CRT values.
        // Decoding enforces no modulus-size limit: the caller checks
        // `modulus_bits` against its policy.
        if !key.check_key().map_err(|_| CryptoError)? {
            return Err(CryptoError);
        }
        // The CRT path (and its fault check) needs the factors.
        if key.p().is_none() || key.dmp1().is_none() || key.iqmp().is_none() {
            return Err(CryptoError);
        }
        let bits = usize::try_from(key.n().num_bits()).map_err(|_| CryptoError)?;
        Ok(Box::new(RsaPrivate { key, bits }))
    }

    fn rsa_public_key(
        &self,
        modulus: &[u8],
        exponent: &[u8],
    ) -> Result<Box<dyn RsaPublicKey>, CryptoError> {
        let (n, e, bits) = public_components(modulus, exponent)?;
        let key = Rsa::from_public_components(n, e).map_err(|_| CryptoError)?;
        Ok(Box::new(RsaPublic {
            key,
            modulus: trim_leading_zeros(modulus).to_vec(),
            bits,
        }))
    }

    fn verify_rsa_signature(
        &self,
        scheme: RsaSignatureScheme,
        modulus: &[u8],
        exponent: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::sign::{RsaPssSaltlen, Verifier};

        let (n, e, _) = public_components(modulus, exponent)?;
        // RFC 8017 §8.1.2 step 1, §8.2.2 step 1: the signature is exactly k bytes.
        if signature.len() != trim_leading_zeros(modulus).len() {
            return Err(CryptoError);
        }
        let key = Rsa::from_public_components(n, e).map_err(|_| CryptoError)?;
        let key = PKey::from_rsa(key).map_err(|_| CryptoError)?;
        let (digest, pss) = match scheme {
            RsaSignatureScheme::Pkcs1Sha256 => (MessageDigest::sha256(), false),
            RsaSignatureScheme::Pkcs1Sha384 => (MessageDigest::sha384(), false),
            RsaSignatureScheme::Pkcs1Sha512 => (MessageDigest::sha512(), false),
            RsaSignatureScheme::PssSha256 => (MessageDigest::sha256(), true),
            RsaSignatureScheme::PssSha384 => (MessageDigest::sha384(), true),
            RsaSignatureScheme::PssSha512 => (MessageDigest::sha512(), true),
        };
        let mut verifier = Verifier::new(digest, &key).map_err(|_| CryptoError)?;
        if pss {
            // The RFC 4055 parameters: MGF1 with the same hash, salt = hash length.
            verifier
                .set_rsa_padding(Padding::PKCS1_PSS)
                .and_then(|()| verifier.set_rsa_mgf1_md(digest))
                .and_then(|()| verifier.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH))
                .map_err(|_| CryptoError)?;
        } else {
            verifier
                .set_rsa_padding(Padding::PKCS1)
                .map_err(|_| CryptoError)?;
        }
        match verifier.verify_oneshot(signature, message) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(CryptoError),
        }
    }
}

/// Checks a public key's parts by the RustCrypto provider's rules, so both
/// providers accept exactly the same keys: 1024..=8192-bit odd n, odd
/// 3 <= e < 2^33, e < n. Returns n, e and the bit length of n.
fn public_components(
    modulus: &[u8],
    exponent: &[u8],
) -> Result<(BigNum, BigNum, usize), CryptoError> {
    // Both are public; strip DER-style leading zeros.
    let modulus = trim_leading_zeros(modulus);
    let exponent = trim_leading_zeros(exponent);
    let (Some(&n_last), Some(&e_last)) = (modulus.last(), exponent.last()) else {
        return Err(CryptoError);
    };
    let n = BigNum::from_slice(modulus).map_err(|_| CryptoError)?;
    let e = BigNum::from_slice(exponent).map_err(|_| CryptoError)?;
    let bits = usize::try_from(n.num_bits()).map_err(|_| CryptoError)?;
    let e_bits = usize::try_from(e.num_bits()).map_err(|_| CryptoError)?;
    // The engine's own key-size policy (2048..=8192) is applied by the caller
    // through `modulus_bits`.
    let valid = (MIN_PUBLIC_BITS..=MAX_PUBLIC_BITS).contains(&bits)
        && n_last & 1 == 1
        && e_last & 1 == 1
        // e >= 2 (with e odd: e >= 3) and e < 2^33.
        && (2..=MAX_EXPONENT_BITS).contains(&e_bits)
        && e < n;
    if !valid {
        return Err(CryptoError);
    }
    Ok((n, e, bits))
}

/// An AES-GCM key (aws-lc's `EVP_AEAD` context).
struct Gcm(LessSafeKey);

impl AeadKey for Gcm {
    fn seal_in_place(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN], CryptoError> {
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map_err(|_| CryptoError)?;
        tag.as_ref().try_into().map_err(|_| CryptoError)
    }

    fn seal_to(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        // The scatter form encrypts `extra_in` into `extra_out_and_tag`, tag
        // included; with nothing in place, that is an out-of-place seal.
        if out.len() != plaintext.len() + GCM_TAG_LEN {
            return Err(CryptoError);
        }
        self.0
            .seal_in_place_scatter(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                &mut [],
                plaintext,
                out,
            )
            .map_err(|_| CryptoError)
    }

    fn open_in_place(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<(), CryptoError> {
        let result = self.0.open_in_place_separate_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            tag,
            buf,
        );
        if result.is_err() {
            // aws-lc decrypts before it compares tags, and documents `buf` as
            // "overwritten in an unspecified way" on failure: zero it so no
            // plaintext is left behind (trait contract).
            buf.zeroize();
            return Err(CryptoError);
        }
        Ok(())
    }
}

/// An RSA private key, always with CRT values (checked at load).
struct RsaPrivate {
    key: Rsa<Private>,
    /// Bit length of the modulus.
    bits: usize,
}

impl RsaPrivateKey for RsaPrivate {
    fn modulus_len(&self) -> usize {
        self.bits.div_ceil(8)
    }

    fn modulus_bits(&self) -> usize {
        self.bits
    }

    fn public_modulus(&self) -> Vec<u8> {
        self.key.n().to_vec()
    }

    fn public_exponent(&self) -> Vec<u8> {
        self.key.e().to_vec()
    }

    fn raw_decrypt(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
        _rng: &mut dyn CryptoRng,
    ) -> Result<(), CryptoError> {
        let k = self.modulus_len();
        if ciphertext.len() != k || out.len() != k {
            return Err(CryptoError);
        }
        // RSA_private_decrypt with RSA_NO_PADDING is RSADP alone: base blinding
        // (random from OpenSSL's DRBG), constant-time CRT exponentiation, a check
        // that the result re-encrypts to `ciphertext` (falling back to the
        // non-CRT path on a fault), and the output written with
        // BN_bn2binpad at exactly k bytes. It fails only for a representative
        // >= n (public) or an internal error; neither depends on the plaintext.
        let written = self
            .key
            .private_decrypt(ciphertext, out, Padding::NONE)
            .map_err(|_| CryptoError)?;
        if written != k {
            out.zeroize();
            return Err(CryptoError);
        }
        Ok(())
    }
}

/// An RSA public key.
struct RsaPublic {
    key: Rsa<Public>,
    /// Big-endian modulus without leading zeros, for the range check.
    modulus: Vec<u8>,
    /// Bit length of the modulus.
    bits: usize,
}

impl RsaPublicKey for RsaPublic {
    fn modulus_len(&self) -> usize {
        self.bits.div_ceil(8)
    }

    fn modulus_bits(&self) -> usize {
        self.bits
    }

    fn raw_encrypt(&self, message: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        let k = self.modulus_len();
        if message.len() != k || out.len() != k {
            return Err(CryptoError);
        }
        // RFC 8017 §5.1.1: "message representative out of range" if m >= n. The
        // message is a padded secret (the premaster), so compare in constant time
        // rather than rely on OpenSSL's variable-time BN_ucmp (which also checks).
        if !less_than_ct(message, &self.modulus) {
            return Err(CryptoError);
        }
        let written = self
            .key
            .public_encrypt(message, out, Padding::NONE)
            .map_err(|_| CryptoError)?;
        if written != k {
            return Err(CryptoError);
        }
        Ok(())
    }
}

/// Whether the big-endian `a` is numerically below the big-endian `b`, for
/// `a.len() == b.len()`, in time that depends only on the lengths.
fn less_than_ct(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    // a - b from the least significant byte up: a borrow out of the top means a < b.
    let mut borrow = 0u16;
    for (&x, &y) in a.iter().rev().zip(b.iter().rev()) {
        let diff = u16::from(x).wrapping_sub(u16::from(y)).wrapping_sub(borrow);
        borrow = (diff >> 8) & 1;
    }
    subtle::Choice::from(borrow as u8).into()
}

/// `bytes` without its leading zero bytes (public data only).
fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
#[path = "tests_fast.rs"]
mod tests;
