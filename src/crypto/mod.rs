//! The crypto provider interface.
//!
//! The engines never name a cryptography crate: every primitive they need comes
//! through [`CryptoProvider`]. The provider is deliberately small and *raw*:
//!
//! - RSA is the bare, blinded private-key operation (RSADP) and the bare public-key
//!   operation (RSAEP). PKCS#1 v1.5 padding and its constant-time checking live once,
//!   in the engine (`crate::rsa_kx`), so every provider inherits the same
//!   Bleichenbacher/Marvin countermeasures.
//! - AEAD seals and opens in place with a detached tag, so the record layer can
//!   protect records without allocating.
//! - Hashing is one-shot over the transcript; HMAC takes its message in parts so
//!   the PRF can be written once, generically, in the key schedule.
//! - RSA signature verification (PKCS#1 v1.5 and PSS) is whole, padding
//!   included: it checks public signatures on certificates (`crate::verify`),
//!   where there is no secret to protect.
//!
//! Another provider is added by implementing these traits; nothing in the engines
//! changes.

use core::fmt;

use rand_core::CryptoRng;

#[cfg(feature = "fast")]
pub mod fast;
#[cfg(test)]
mod kat;
pub mod rustcrypto;
#[cfg(test)]
mod tests;
#[cfg(feature = "fuzzing")]
pub mod transparent;

/// The provider the crate's own tools and test suites use: `fast` when the
/// `fast` feature is on, otherwise [`rustcrypto`] (the default).
#[cfg(not(feature = "fast"))]
pub fn default_provider() -> std::sync::Arc<dyn CryptoProvider> {
    rustcrypto::default_provider()
}

/// The provider the crate's own tools and test suites use: [`fast`], since the
/// `fast` feature is on ([`rustcrypto`] otherwise).
#[cfg(feature = "fast")]
pub fn default_provider() -> std::sync::Arc<dyn CryptoProvider> {
    fast::default_provider()
}

/// The largest hash output the provider produces (SHA-512, for RSA-PSS and
/// PKCS#1 v1.5 signatures in CertificateVerify; the suites' PRFs use at most
/// SHA-384).
pub const MAX_HASH_LEN: usize = 64;

/// Length of an AES-GCM nonce (RFC 5288 §3: 4-byte salt ‖ 8-byte explicit nonce).
pub const GCM_NONCE_LEN: usize = 12;

/// Length of an AES-GCM authentication tag.
pub const GCM_TAG_LEN: usize = 16;

/// A hash function used by a cipher suite's PRF and transcript, or by a
/// signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256 (TLS_RSA_WITH_AES_128_GCM_SHA256).
    Sha256,
    /// SHA-384 (TLS_RSA_WITH_AES_256_GCM_SHA384).
    Sha384,
    /// SHA-512 (signature schemes only: `rsa_pss_rsae_sha512`,
    /// `rsa_pkcs1_sha512`).
    Sha512,
}

impl HashAlgorithm {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// An AEAD algorithm used by the record layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadAlgorithm {
    /// AES-128 in Galois/Counter Mode.
    Aes128Gcm,
    /// AES-256 in Galois/Counter Mode.
    Aes256Gcm,
}

impl AeadAlgorithm {
    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm => 32,
        }
    }
}

/// A hash or HMAC output, stored inline so that producing one never allocates.
#[derive(Clone)]
pub struct HashOutput {
    buf: [u8; MAX_HASH_LEN],
    len: usize,
}

impl HashOutput {
    /// Copies `bytes` (at most [`MAX_HASH_LEN`]) into a new output.
    ///
    /// # Panics
    /// If `bytes` is longer than [`MAX_HASH_LEN`]; providers only ever pass
    /// outputs of the hashes above.
    pub fn new(bytes: &[u8]) -> Self {
        let mut buf = [0u8; MAX_HASH_LEN];
        buf[..bytes.len()].copy_from_slice(bytes);
        Self {
            buf,
            len: bytes.len(),
        }
    }
}

impl AsRef<[u8]> for HashOutput {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for HashOutput {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf);
    }
}

impl fmt::Debug for HashOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashOutput")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A provider failure. Deliberately carries no detail: provider errors are never
/// shown to a peer, and for RSA they must not become an oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CryptoError;

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cryptographic operation failed")
    }
}

impl core::error::Error for CryptoError {}

/// An RSA signature scheme, for checking signatures on certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaSignatureScheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2; `sha256WithRSAEncryption`).
    Pkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Pkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Pkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 8017
    /// §8.1; the RFC 4055 parameters webpki accepts).
    PssSha256,
    /// RSASSA-PSS with SHA-384, MGF1 with SHA-384 and a 48-byte salt.
    PssSha384,
    /// RSASSA-PSS with SHA-512, MGF1 with SHA-512 and a 64-byte salt.
    PssSha512,
}

/// A DER-encoded RSA private key, in one of the two container formats accepted.
#[derive(Clone, Copy, Debug)]
pub enum PrivateKeyDer<'a> {
    /// PKCS#1 `RSAPrivateKey`.
    Pkcs1(&'a [u8]),
    /// PKCS#8 `PrivateKeyInfo` holding an RSA key.
    Pkcs8(&'a [u8]),
}

/// The set of primitives an rsatls engine needs.
pub trait CryptoProvider: Send + Sync + fmt::Debug + 'static {
    /// A short name for diagnostics and benchmark IDs (e.g. `"rustcrypto"`).
    fn name(&self) -> &'static str;

    /// One-shot hash of `data`.
    fn hash(&self, alg: HashAlgorithm, data: &[u8]) -> HashOutput;

    /// HMAC of the concatenation of `parts` under `key`.
    fn hmac(&self, alg: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> HashOutput;

    /// Builds an AEAD key. `key` has `alg.key_len()` bytes.
    fn aead_key(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError>;

    /// Loads an RSA private key from DER.
    fn rsa_private_key(
        &self,
        der: PrivateKeyDer<'_>,
    ) -> Result<Box<dyn RsaPrivateKey>, CryptoError>;

    /// Builds an RSA public key from its big-endian modulus and public exponent.
    fn rsa_public_key(
        &self,
        modulus: &[u8],
        exponent: &[u8],
    ) -> Result<Box<dyn RsaPublicKey>, CryptoError>;

    /// Verifies `signature` over `message` (not hashed yet) under the RSA public
    /// key with the big-endian `modulus` and `exponent`, with `scheme`.
    ///
    /// `Ok` only for a valid signature; every other outcome (a bad signature, a
    /// key the provider cannot build, a signature of the wrong length) is a
    /// [`CryptoError`]. The inputs are public: this need not be constant-time.
    /// The caller applies its own key-size policy first.
    fn verify_rsa_signature(
        &self,
        scheme: RsaSignatureScheme,
        modulus: &[u8],
        exponent: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;
}

/// An AEAD key bound to one algorithm. Not `Clone`: a record key has exactly one owner.
pub trait AeadKey: Send + Sync {
    /// Encrypts `buf` in place and returns the tag.
    fn seal_in_place(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN], CryptoError>;

    /// Encrypts `plaintext` into `out`, which must be exactly
    /// `plaintext.len() + GCM_TAG_LEN` bytes: ciphertext, then tag (the layout of
    /// a TLS record's body).
    ///
    /// The record layer seals with this, straight from the caller's bytes into
    /// the outgoing record. The default copies and calls
    /// [`seal_in_place`](Self::seal_in_place); a provider whose cipher can write
    /// to a separate buffer overrides it and saves the copy.
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
        let (body, tag) = out.split_at_mut(plaintext.len());
        body.copy_from_slice(plaintext);
        tag.copy_from_slice(&self.seal_in_place(nonce, aad, body)?);
        Ok(())
    }

    /// Decrypts `buf` in place after checking `tag`.
    ///
    /// On failure `buf` holds no plaintext: implementations leave it unchanged or
    /// zeroed, never partially decrypted.
    fn open_in_place(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<(), CryptoError>;
}

/// An RSA private key capable of the raw, blinded private-key operation.
pub trait RsaPrivateKey: Send + Sync {
    /// Modulus length in bytes (`k` in RFC 8017).
    fn modulus_len(&self) -> usize;

    /// Modulus length in bits.
    fn modulus_bits(&self) -> usize;

    /// Big-endian modulus without leading zeros.
    fn public_modulus(&self) -> Vec<u8>;

    /// Big-endian public exponent without leading zeros.
    fn public_exponent(&self) -> Vec<u8>;

    /// RSADP with base blinding: `out = ciphertext^d mod n`, written big-endian
    /// and left-padded to exactly `modulus_len()` bytes.
    ///
    /// `ciphertext` and `out` are both `modulus_len()` bytes long. Fails only on
    /// conditions that depend on public data (a representative `>= n`) or on an
    /// internal fault; it must not fail, return early or vary its timing
    /// depending on the plaintext. Blinding randomness comes from `rng` or, where
    /// the library cannot take it (OpenSSL in `fast`), from its own CSPRNG; the
    /// result does not depend on it.
    fn raw_decrypt(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<(), CryptoError>;
}

/// An RSA public key capable of the raw public-key operation.
pub trait RsaPublicKey: Send + Sync {
    /// Modulus length in bytes.
    fn modulus_len(&self) -> usize;

    /// Modulus length in bits.
    fn modulus_bits(&self) -> usize;

    /// RSAEP: `out = message^e mod n`, big-endian and left-padded to
    /// `modulus_len()` bytes. `message` is `modulus_len()` bytes and must be
    /// numerically below the modulus.
    fn raw_encrypt(&self, message: &[u8], out: &mut [u8]) -> Result<(), CryptoError>;
}
