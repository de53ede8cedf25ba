//! A crypto provider for FUZZING ONLY: it provides no security at all.
//!
//! [`TransparentForFuzzingOnly`] makes RSA and AEAD see-through and the PRF
//! constant, so that a fuzzer (or a corpus replay) can produce a client or server
//! flight that the engine accepts, get past Finished and into application data
//! without breaking any cryptography, the way mature TLS stacks fuzz their state
//! machines. It exists only with the non-default `fuzzing` feature, which normal
//! builds never enable.
//!
//! What it does instead of cryptography, while keeping every trait contract:
//!
//! - **RSA** is the identity: `raw_encrypt` and `raw_decrypt` copy the
//!   `modulus_len()`-byte representative unchanged. As real RSA does, both refuse
//!   inputs of the wrong length and representatives not below the modulus, so the
//!   engine's length and range handling is exercised unchanged. The public key is
//!   read from the certificate or the PKCS#1/PKCS#8 key as usual, so key-size
//!   policy and key/certificate matching still apply.
//! - **AEAD** is the identity with a fixed tag, [`TRANSPARENT_TAG`]: sealing
//!   leaves the plaintext in place and returns the tag; opening accepts exactly
//!   that tag (and zeroes the buffer otherwise), so a tampered tag still yields
//!   `bad_record_mac`.
//! - **HMAC** returns zeros whatever the key and message, so the PRF (RFC 5246
//!   §5) is constant: the master secret, the key block and both Finished
//!   verify_data values are all zero bytes.
//! - **Hashing** is real (delegated to [`super::rustcrypto`]), so public-key pins
//!   keep their meaning.
//! - **Signature verification** refuses every signature: there is nothing to
//!   make transparent without accepting forgeries, and the fuzzers authenticate
//!   servers by pin or with `DangerousAcceptAnyKeyForTestingOnly`. A chain to a
//!   trust anchor therefore never validates under this provider (a leaf
//!   byte-identical to a trusted certificate still does).

use std::sync::Arc;

use der::Decode;
use rand_core::CryptoRng;
use zeroize::Zeroize;

use super::rustcrypto::RUSTCRYPTO;
use super::{
    AeadAlgorithm, AeadKey, CryptoError, CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN, HashAlgorithm,
    HashOutput, MAX_HASH_LEN, PrivateKeyDer, RsaPrivateKey, RsaPublicKey, RsaSignatureScheme,
};

/// The tag every transparent AEAD seal returns and every open requires.
pub const TRANSPARENT_TAG: [u8; GCM_TAG_LEN] = *b"fuzzing-only-tag";

/// The provider that makes RSA and AEAD transparent. FUZZING ONLY: it offers no
/// confidentiality, integrity or authentication.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransparentForFuzzingOnly;

/// A shared instance of [`TransparentForFuzzingOnly`].
pub static FUZZING_ONLY_TRANSPARENT: TransparentForFuzzingOnly = TransparentForFuzzingOnly;

/// The transparent provider, ready to hand to a configuration. FUZZING ONLY.
pub fn fuzzing_only_transparent_provider() -> Arc<dyn CryptoProvider> {
    Arc::new(TransparentForFuzzingOnly)
}

impl CryptoProvider for TransparentForFuzzingOnly {
    fn name(&self) -> &'static str {
        "transparent-for-fuzzing-only"
    }

    fn hash(&self, alg: HashAlgorithm, data: &[u8]) -> HashOutput {
        RUSTCRYPTO.hash(alg, data)
    }

    fn hmac(&self, alg: HashAlgorithm, _key: &[u8], _parts: &[&[u8]]) -> HashOutput {
        HashOutput::new(&[0u8; MAX_HASH_LEN][..alg.output_len()])
    }

    fn aead_key(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError);
        }
        Ok(Box::new(TransparentAead))
    }

    fn rsa_private_key(
        &self,
        der: PrivateKeyDer<'_>,
    ) -> Result<Box<dyn RsaPrivateKey>, CryptoError> {
        let pkcs1_der = match der {
            PrivateKeyDer::Pkcs1(bytes) => bytes,
            PrivateKeyDer::Pkcs8(bytes) => pkcs8::PrivateKeyInfoRef::from_der(bytes)
                .map_err(|_| CryptoError)?
                .private_key
                .as_bytes(),
        };
        let key = pkcs1::RsaPrivateKeyRef::from_der(pkcs1_der).map_err(|_| CryptoError)?;
        let public = TransparentRsa::new(key.modulus.as_bytes(), key.public_exponent.as_bytes())?;
        Ok(Box::new(public))
    }

    fn rsa_public_key(
        &self,
        modulus: &[u8],
        exponent: &[u8],
    ) -> Result<Box<dyn RsaPublicKey>, CryptoError> {
        Ok(Box::new(TransparentRsa::new(modulus, exponent)?))
    }

    fn verify_rsa_signature(
        &self,
        _scheme: RsaSignatureScheme,
        _modulus: &[u8],
        _exponent: &[u8],
        _message: &[u8],
        _signature: &[u8],
    ) -> Result<(), CryptoError> {
        // See the module documentation: no signature is ever valid here.
        Err(CryptoError)
    }
}

/// AES-GCM replaced by the identity and [`TRANSPARENT_TAG`].
struct TransparentAead;

impl AeadKey for TransparentAead {
    fn seal_in_place(
        &self,
        _nonce: &[u8; GCM_NONCE_LEN],
        _aad: &[u8],
        _buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN], CryptoError> {
        Ok(TRANSPARENT_TAG)
    }

    fn open_in_place(
        &self,
        _nonce: &[u8; GCM_NONCE_LEN],
        _aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<(), CryptoError> {
        if *tag != TRANSPARENT_TAG {
            // Trait contract: a failed open leaves no plaintext behind.
            buf.zeroize();
            return Err(CryptoError);
        }
        Ok(())
    }
}

/// An RSA key whose public and private operations are both the identity.
struct TransparentRsa {
    /// Big-endian, without leading zeros.
    modulus: Vec<u8>,
    /// Big-endian, without leading zeros.
    exponent: Vec<u8>,
}

impl TransparentRsa {
    fn new(modulus: &[u8], exponent: &[u8]) -> Result<Self, CryptoError> {
        let modulus = trim_leading_zeros(modulus);
        let exponent = trim_leading_zeros(exponent);
        if modulus.is_empty() || exponent.is_empty() {
            return Err(CryptoError);
        }
        Ok(Self {
            modulus: modulus.to_vec(),
            exponent: exponent.to_vec(),
        })
    }

    fn len(&self) -> usize {
        self.modulus.len()
    }

    fn bits(&self) -> usize {
        let top = self
            .modulus
            .first()
            .map_or(0, |b| 8 - b.leading_zeros() as usize);
        8 * (self.modulus.len() - 1) + top
    }

    /// The identity on representatives, with RSA's public failure conditions: a
    /// length other than the modulus's, or a value not below it (RFC 8017 §5.1).
    fn identity(&self, input: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        // Same-length big-endian byte strings compare like the numbers they encode.
        if input.len() != self.len() || out.len() != self.len() || input >= &self.modulus[..] {
            return Err(CryptoError);
        }
        out.copy_from_slice(input);
        Ok(())
    }
}

impl RsaPublicKey for TransparentRsa {
    fn modulus_len(&self) -> usize {
        self.len()
    }

    fn modulus_bits(&self) -> usize {
        self.bits()
    }

    fn raw_encrypt(&self, message: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        self.identity(message, out)
    }
}

impl RsaPrivateKey for TransparentRsa {
    fn modulus_len(&self) -> usize {
        self.len()
    }

    fn modulus_bits(&self) -> usize {
        self.bits()
    }

    fn public_modulus(&self) -> Vec<u8> {
        self.modulus.clone()
    }

    fn public_exponent(&self) -> Vec<u8> {
        self.exponent.clone()
    }

    fn raw_decrypt(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
        _rng: &mut dyn CryptoRng,
    ) -> Result<(), CryptoError> {
        self.identity(ciphertext, out)
    }
}

/// `bytes` without its leading zero bytes.
fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_is_the_identity_below_the_modulus_and_fails_like_rsa_otherwise() {
        let key = TransparentRsa::new(&[0, 0xc3, 0x01], &[1, 0, 1]).unwrap();
        assert_eq!((key.len(), key.bits()), (2, 16));
        let mut out = [0u8; 2];
        key.raw_encrypt(&[0xc3, 0x00], &mut out).unwrap();
        assert_eq!(out, [0xc3, 0x00]);
        let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed([0; 32]);
        assert!(key.raw_decrypt(&[0xc3, 0x01], &mut out, &mut rng).is_err());
        assert!(key.raw_decrypt(&[0x01], &mut out[..1], &mut rng).is_err());
        assert!(TransparentRsa::new(&[0, 0], &[3]).is_err());
    }

    #[test]
    fn aead_accepts_only_its_fixed_tag_and_zeroes_on_failure() {
        let key = FUZZING_ONLY_TRANSPARENT
            .aead_key(AeadAlgorithm::Aes128Gcm, &[7; 16])
            .unwrap();
        let mut buf = *b"hello";
        let tag = key.seal_in_place(&[0; 12], b"aad", &mut buf).unwrap();
        assert_eq!((buf, tag), (*b"hello", TRANSPARENT_TAG));
        key.open_in_place(&[1; 12], b"", &mut buf, &tag).unwrap();
        assert_eq!(&buf, b"hello");
        let mut bad = TRANSPARENT_TAG;
        bad[0] ^= 1;
        assert!(key.open_in_place(&[0; 12], b"", &mut buf, &bad).is_err());
        assert_eq!(buf, [0; 5]);
        assert!(
            FUZZING_ONLY_TRANSPARENT
                .aead_key(AeadAlgorithm::Aes256Gcm, &[7; 16])
                .is_err()
        );
    }

    #[test]
    fn hmac_is_constant_and_hash_is_real() {
        let p = &FUZZING_ONLY_TRANSPARENT;
        let a = p.hmac(HashAlgorithm::Sha384, b"k", &[b"m"]);
        assert_eq!(a.as_ref(), &[0u8; 48][..]);
        assert_eq!(
            p.hash(HashAlgorithm::Sha256, b"abc").as_ref(),
            RUSTCRYPTO.hash(HashAlgorithm::Sha256, b"abc").as_ref()
        );
    }
}
