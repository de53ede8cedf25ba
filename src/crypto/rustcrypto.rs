//! The RustCrypto provider: [`CryptoProvider`] over `rsa`, `aes-gcm`, `sha2` and `hmac`.
//!
//! This is the only module in the crate that names a cryptography crate. Everything
//! it hands out is behind the provider traits, so swapping providers touches
//! nothing else.
//!
//! Secret-dependent work avoids branches on secret values: RSA plaintexts are
//! written out limb by limb at the modulus's full width, and a failed AEAD open
//! zeroes its buffer.

use std::sync::Arc;

use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadCore, AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use rsa::BoxedUint;
use rsa::hazmat::{rsa_decrypt_and_check, rsa_encrypt};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroize;

use super::{
    AeadAlgorithm, AeadKey, CryptoError, CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN, HashAlgorithm,
    HashOutput, PrivateKeyDer, RsaPrivateKey, RsaPublicKey, RsaSignatureScheme,
};

/// The provider backed by the RustCrypto crates.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

/// A shared instance of [`RustCrypto`], for callers that want a `&'static dyn CryptoProvider`.
pub static RUSTCRYPTO: RustCrypto = RustCrypto;

/// The default provider, ready to hand to a configuration.
pub fn default_provider() -> Arc<dyn CryptoProvider> {
    Arc::new(RustCrypto)
}

impl CryptoProvider for RustCrypto {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn hash(&self, alg: HashAlgorithm, data: &[u8]) -> HashOutput {
        match alg {
            HashAlgorithm::Sha256 => HashOutput::new(&Sha256::digest(data)),
            HashAlgorithm::Sha384 => HashOutput::new(&Sha384::digest(data)),
            HashAlgorithm::Sha512 => HashOutput::new(&Sha512::digest(data)),
        }
    }

    fn hmac(&self, alg: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> HashOutput {
        match alg {
            HashAlgorithm::Sha256 => hmac_parts::<Hmac<Sha256>>(key, parts),
            HashAlgorithm::Sha384 => hmac_parts::<Hmac<Sha384>>(key, parts),
            HashAlgorithm::Sha512 => hmac_parts::<Hmac<Sha512>>(key, parts),
        }
    }

    fn aead_key(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError);
        }
        Ok(match alg {
            AeadAlgorithm::Aes128Gcm => {
                Box::new(Gcm(Aes128Gcm::new_from_slice(key).map_err(|_| CryptoError)?))
            }
            AeadAlgorithm::Aes256Gcm => {
                Box::new(Gcm(Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError)?))
            }
        })
    }

    fn rsa_private_key(
        &self,
        der: PrivateKeyDer<'_>,
    ) -> Result<Box<dyn RsaPrivateKey>, CryptoError> {
        let mut key = match der {
            PrivateKeyDer::Pkcs1(bytes) => {
                rsa::PrivateKey::from_pkcs1_der(bytes).map_err(|_| CryptoError)?
            }
            PrivateKeyDer::Pkcs8(bytes) => {
                rsa::PrivateKey::from_pkcs8_der(bytes).map_err(|_| CryptoError)?
            }
        };
        // Decoding already validates the key and precomputes the CRT values;
        // this is then a no-op, kept so the CRT path is taken if that changes.
        // Decoding enforces no modulus-size limit: the caller checks
        // `modulus_bits` against its policy.
        key.precompute().map_err(|_| CryptoError)?;
        let bits = key.n().bit_width_vartime() as usize;
        Ok(Box::new(RsaPrivate { key, bits }))
    }

    fn rsa_public_key(
        &self,
        modulus: &[u8],
        exponent: &[u8],
    ) -> Result<Box<dyn RsaPublicKey>, CryptoError> {
        // Both are public; strip DER-style leading zeros so the storage precision
        // follows the modulus's real length.
        let modulus = trim_leading_zeros(modulus);
        let exponent = trim_leading_zeros(exponent);
        if modulus.is_empty() || exponent.is_empty() {
            return Err(CryptoError);
        }
        let n = BoxedUint::from_be_slice_vartime(modulus);
        let e = BoxedUint::from_be_slice_vartime(exponent);
        // rsa's checks: 1024..=8192-bit odd n, odd 3 <= e < 2^33, e < n. The
        // engine's own key-size policy (2048..=8192) is applied by the caller
        // through `modulus_bits`.
        let key = rsa::PublicKey::new(n, e).map_err(|_| CryptoError)?;
        let bits = key.n().bit_width_vartime() as usize;
        Ok(Box::new(RsaPublic { key, bits }))
    }

    fn verify_rsa_signature(
        &self,
        scheme: RsaSignatureScheme,
        modulus: &[u8],
        exponent: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        use rsa::{pkcs1v15, pss};
        let modulus = trim_leading_zeros(modulus);
        let exponent = trim_leading_zeros(exponent);
        if modulus.is_empty() || exponent.is_empty() {
            return Err(CryptoError);
        }
        let key = rsa::PublicKey::new(
            BoxedUint::from_be_slice_vartime(modulus),
            BoxedUint::from_be_slice_vartime(exponent),
        )
        .map_err(|_| CryptoError)?;
        // RFC 8017 §8.1.2 step 1, §8.2.2 step 1: the signature is exactly k bytes.
        if signature.len() != modulus.len() {
            return Err(CryptoError);
        }
        let result = match scheme {
            RsaSignatureScheme::Pkcs1Sha256 => verify_with(
                pkcs1v15::VerifyingKey::<Sha256>::new(key),
                message,
                signature,
            ),
            RsaSignatureScheme::Pkcs1Sha384 => verify_with(
                pkcs1v15::VerifyingKey::<Sha384>::new(key),
                message,
                signature,
            ),
            RsaSignatureScheme::Pkcs1Sha512 => verify_with(
                pkcs1v15::VerifyingKey::<Sha512>::new(key),
                message,
                signature,
            ),
            // `new` fixes the salt length to the hash's output length.
            RsaSignatureScheme::PssSha256 => {
                verify_with(pss::VerifyingKey::<Sha256>::new(key), message, signature)
            }
            RsaSignatureScheme::PssSha384 => {
                verify_with(pss::VerifyingKey::<Sha384>::new(key), message, signature)
            }
            RsaSignatureScheme::PssSha512 => {
                verify_with(pss::VerifyingKey::<Sha512>::new(key), message, signature)
            }
        };
        result.map_err(|_| CryptoError)
    }
}

/// Verifies with any of `rsa`'s verifying keys.
fn verify_with<V, S>(key: V, message: &[u8], signature: &[u8]) -> Result<(), CryptoError>
where
    V: Verifier<S>,
    S: for<'a> TryFrom<&'a [u8]>,
{
    let signature = S::try_from(signature).map_err(|_| CryptoError)?;
    key.verify(message, &signature).map_err(|_| CryptoError)
}

/// HMAC under `key` of the concatenation of `parts`.
fn hmac_parts<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> HashOutput {
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
        // HMAC accepts keys of any length (RFC 2104 §2: long keys are hashed
        // first), so `new_from_slice` has no failing input.
        unreachable!("HMAC accepts keys of any length");
    };
    for part in parts {
        mac.update(part);
    }
    let mut tag = mac.finalize().into_bytes();
    let out = HashOutput::new(&tag);
    tag.as_mut_slice().zeroize();
    out
}

/// An AES-GCM key with a 12-byte nonce and 16-byte tag.
struct Gcm<C>(C);

impl<C> AeadKey for Gcm<C>
where
    C: AeadInOut + AeadCore<NonceSize = U12, TagSize = U16> + Send + Sync,
{
    fn seal_in_place(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN], CryptoError> {
        let tag = self
            .0
            .encrypt_inout_detached(&(*nonce).into(), aad, buf.into())
            .map_err(|_| CryptoError)?;
        Ok(tag.into())
    }

    fn seal_to(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        if out.len() != plaintext.len() + GCM_TAG_LEN {
            return Err(CryptoError);
        }
        let (body, tag_out) = out.split_at_mut(plaintext.len());
        let buf = InOutBuf::new(plaintext, body).map_err(|_| CryptoError)?;
        let tag = self
            .0
            .encrypt_inout_detached(&(*nonce).into(), aad, buf)
            .map_err(|_| CryptoError)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    fn open_in_place(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<(), CryptoError> {
        let result = self.0.decrypt_inout_detached(
            &(*nonce).into(),
            aad,
            (&mut *buf).into(),
            &(*tag).into(),
        );
        if result.is_err() {
            // aes-gcm checks the tag before decrypting, so `buf` is still the
            // ciphertext here; zero it anyway so no implementation detail can
            // leave plaintext behind (trait contract).
            buf.zeroize();
            return Err(CryptoError);
        }
        Ok(())
    }
}

/// An RSA private key, always with CRT values.
struct RsaPrivate {
    key: rsa::PrivateKey,
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
        self.key.n_bytes().into_vec()
    }

    fn public_exponent(&self) -> Vec<u8> {
        self.key.e_bytes().into_vec()
    }

    fn raw_decrypt(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<(), CryptoError> {
        let k = self.modulus_len();
        if ciphertext.len() != k || out.len() != k {
            return Err(CryptoError);
        }
        // rsa requires the representative at exactly the modulus's storage
        // precision (limb-rounded, possibly wider than 8k bits).
        let c = BoxedUint::from_be_slice(ciphertext, self.key.n_bits_precision())
            .map_err(|_| CryptoError)?;
        // Blinded RSADP with a CRT fault check (m^e == c). Fails only for c >= n,
        // an RNG failure or a fault; none depends on the plaintext.
        let mut m = rsa_decrypt_and_check(&self.key, Some(rng), &c).map_err(|_| CryptoError)?;
        write_be_left_padded(&m, out);
        m.zeroize();
        Ok(())
    }
}

/// An RSA public key.
struct RsaPublic {
    key: rsa::PublicKey,
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
        // The message is a padded secret (the premaster): decode it at the
        // modulus's precision and compare in constant time.
        let mut m = BoxedUint::from_be_slice(message, self.key.n_bits_precision())
            .map_err(|_| CryptoError)?;
        // RFC 8017 §5.1.1: "message representative out of range" if m >= n.
        // `rsa_encrypt` would silently reduce mod n instead.
        if m >= *self.key.n().as_ref() {
            m.zeroize();
            return Err(CryptoError);
        }
        let result = rsa_encrypt(&self.key, &m);
        m.zeroize();
        let c = result.map_err(|_| CryptoError)?;
        write_be_left_padded(&c, out);
        Ok(())
    }
}

/// Writes `x` big-endian into `out`, left-padded with zeros, keeping only the
/// low `out.len()` bytes.
///
/// Runs over every limb of `x`'s storage and every byte of `out` whatever the
/// value, so it may be used on secrets. Callers guarantee that `x` fits
/// (`x < n` and `out` holds `k` bytes).
fn write_be_left_padded(x: &BoxedUint, out: &mut [u8]) {
    let mut dst = out.iter_mut().rev();
    for limb in x.as_limbs() {
        let mut bytes = limb.0.to_le_bytes();
        // `bytes` first: when it runs out, `dst` has not been advanced.
        for (src, dst) in bytes.iter().zip(dst.by_ref()) {
            *dst = *src;
        }
        bytes.zeroize();
    }
    for dst in dst {
        *dst = 0;
    }
}

/// `bytes` without its leading zero bytes (public data only).
fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
