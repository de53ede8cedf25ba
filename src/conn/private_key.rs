//! The server's private-key operation, handed to the caller when the
//! configuration asks for it ([`ServerConfig::with_private_key_offload`]).
//!
//! Only the raw RSA operation leaves the engine. The fallback premaster was
//! drawn before it was handed out, and the PKCS#1 v1.5 checks run inside the
//! engine, in constant time, when the result comes back
//! ([`Connection::complete_private_key_operation`]): whoever completes the
//! operation (a thread pool, a token, a key server) never learns whether the
//! padding was valid, and a failure or an answer of the wrong length is
//! treated exactly like an invalid ClientKeyExchange.
//!
//! [`ServerConfig::with_private_key_offload`]: crate::ServerConfig::with_private_key_offload
//! [`Connection::complete_private_key_operation`]: super::Connection::complete_private_key_operation

use core::fmt;
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

use crate::crypto::{CryptoError, RsaPrivateKey};

/// Length of the blinding seed an operation carries.
pub(crate) const BLINDING_SEED_LEN: usize = 32;

/// A ClientKeyExchange decryption to perform: RSADP of [`input`](Self::input)
/// under [`key`](Self::key), in any thread, then handed back with
/// [`Connection::complete_private_key_operation`](super::Connection::complete_private_key_operation).
///
/// [`run`](Self::run) performs it with the key's own
/// [`RsaPrivateKey::raw_decrypt`]; a caller that sends it elsewhere (a key
/// server, an HSM it drives itself) needs only `input` and the key's identity
/// and returns the `k`-byte big-endian result, or a failure.
pub struct PrivateKeyOperation {
    pub(crate) key: Arc<dyn RsaPrivateKey>,
    pub(crate) cert: usize,
    pub(crate) input: Zeroizing<Vec<u8>>,
    pub(crate) blinding_seed: Zeroizing<[u8; BLINDING_SEED_LEN]>,
}

impl PrivateKeyOperation {
    /// The integer to raise to the private exponent: big-endian, exactly
    /// `key().modulus_len()` bytes. It is the client's ciphertext, or a
    /// stand-in when that had the wrong length (the engine discards the result
    /// then, but the operation costs the same).
    pub fn input(&self) -> &[u8] {
        &self.input
    }

    /// The private key to use: the one of the certificate chain that was sent.
    pub fn key(&self) -> &Arc<dyn RsaPrivateKey> {
        &self.key
    }

    /// Which of the configuration's certificate chains was sent: 0 for the
    /// default, then in the order [`ServerConfig::with_certificate`] added
    /// them.
    ///
    /// [`ServerConfig::with_certificate`]: crate::ServerConfig::with_certificate
    pub fn certificate_index(&self) -> usize {
        self.cert
    }

    /// Performs the operation with [`key`](Self::key), blinded with randomness
    /// from a seed the engine drew from its own RNG when it handed the
    /// operation out: the whole connection stays reproducible under a seeded
    /// RNG, whichever thread completes it and whenever.
    pub fn run(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut rng = ChaCha20Rng::from_seed(*self.blinding_seed);
        let mut out = Zeroizing::new(vec![0u8; self.key.modulus_len()]);
        self.key.raw_decrypt(&self.input, &mut out, &mut rng)?;
        Ok(out)
    }
}

impl fmt::Debug for PrivateKeyOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKeyOperation")
            .field("modulus_bits", &self.key.modulus_bits())
            .field("certificate_index", &self.cert)
            .finish_non_exhaustive()
    }
}

/// Two operations are equal when they ask for the same computation: the same
/// input under the same key object. The blinding seed does not change the
/// result, so it is not compared.
impl PartialEq for PrivateKeyOperation {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::addr_eq(Arc::as_ptr(&self.key), Arc::as_ptr(&other.key))
            && self.cert == other.cert
            && *self.input == *other.input
    }
}

impl Eq for PrivateKeyOperation {}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = include_bytes!("../../tests/data/rsa2048.key.der");

    fn key() -> Arc<dyn RsaPrivateKey> {
        let key = crate::pki::load_private_key(KEY).unwrap();
        Arc::from(
            crate::crypto::default_provider()
                .rsa_private_key(key.as_der())
                .unwrap(),
        )
    }

    fn op(key: &Arc<dyn RsaPrivateKey>, cert: usize, last: u8, seed: u8) -> PrivateKeyOperation {
        let mut input = vec![0u8; key.modulus_len()];
        input[key.modulus_len() - 1] = last;
        PrivateKeyOperation {
            key: key.clone(),
            cert,
            input: Zeroizing::new(input),
            blinding_seed: Zeroizing::new([seed; BLINDING_SEED_LEN]),
        }
    }

    #[test]
    fn operations_are_equal_when_they_ask_for_the_same_computation() {
        let (a, b) = (key(), key());
        // The blinding seed changes nothing in the result, so not equality.
        assert_eq!(op(&a, 0, 2, 1), op(&a, 0, 2, 9));
        assert_ne!(op(&a, 0, 2, 1), op(&a, 0, 3, 1), "another input");
        assert_ne!(op(&a, 0, 2, 1), op(&a, 1, 2, 1), "another chain");
        assert_ne!(op(&a, 0, 2, 1), op(&b, 0, 2, 1), "another key object");
    }

    #[test]
    fn run_is_the_raw_operation_whatever_the_seed() {
        let k = key();
        let (x, y) = (op(&k, 0, 2, 1), op(&k, 0, 2, 7));
        let out = x.run().unwrap();
        assert_eq!(out.len(), k.modulus_len());
        assert_eq!(*out, *y.run().unwrap());
        let mut direct = vec![0u8; k.modulus_len()];
        let mut rng = <ChaCha20Rng as SeedableRng>::seed_from_u64(3);
        k.raw_decrypt(x.input(), &mut direct, &mut rng).unwrap();
        assert_eq!(*out, direct);
        assert_eq!(x.input().len(), k.modulus_len());
        assert_eq!(x.certificate_index(), 0);
        assert!(core::ptr::addr_eq(Arc::as_ptr(x.key()), Arc::as_ptr(&k)));
    }
}
