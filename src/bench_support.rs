//! Thin public wrappers over crate-private items, for the benchmarks in
//! `benches/` only (feature `bench-internals`, never on in normal builds).
//!
//! Each function forwards to the engine's own code path, so a benchmark of it
//! measures exactly what a connection runs: the record layer's seal and open, the
//! constant-time ClientKeyExchange decryption, the client's premaster encryption,
//! its CertificateVerify signature and the Extended Master Secret derivation. Nothing here is a stable API.
#![doc(hidden)]

use core::ops::Range;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::crypto::{AeadAlgorithm, CryptoProvider, HashAlgorithm, RsaPrivateKey, RsaPublicKey};
use crate::error::Error;
use crate::key_schedule::MasterSecret;
use crate::msgs::enums::ContentType;
use crate::record;
use crate::rsa_kx;

/// Length of the premaster and master secrets.
pub const SECRET_LEN: usize = crate::key_schedule::SECRET_LEN;

/// Bytes a protected record adds to its plaintext (explicit nonce and tag).
pub const RECORD_OVERHEAD: usize = record::OVERHEAD;

/// Bytes of the record header.
pub const RECORD_HEADER_LEN: usize = crate::msgs::record::HEADER_LEN;

/// One direction's record protection, as a connection holds it.
pub struct RecordKey(record::RecordKey);

impl RecordKey {
    /// A record key at sequence number 0 from raw key bytes and the 4-byte salt.
    pub fn new(
        provider: &dyn CryptoProvider,
        alg: AeadAlgorithm,
        key: &[u8],
        salt: [u8; 4],
    ) -> Result<Self, Error> {
        let aead = provider
            .aead_key(alg, key)
            .map_err(|_| Error::Internal("AEAD key setup failed"))?;
        Ok(Self(record::RecordKey::new(aead, salt)))
    }

    /// Writes one protected application-data record holding `plaintext` to the
    /// start of `out` and returns its length: the path of
    /// `Connection::write_app_data_to`, encrypting straight into `out`.
    pub fn seal(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.0
            .seal_to(ContentType::APPLICATION_DATA, plaintext, out)
    }

    /// Opens an application-data record's fragment (the bytes after the 5-byte
    /// header) in place; returns the plaintext's range within `fragment`.
    pub fn open(&mut self, fragment: &mut [u8]) -> Result<Range<usize>, Error> {
        self.0.open(ContentType::APPLICATION_DATA, fragment)
    }
}

/// The server's whole ClientKeyExchange path: one raw private-key operation, the
/// constant-time padding and version checks, and the constant-time selection of
/// premaster or `fallback`.
///
/// Never inlined: `formal/sidechannel/callgrind.sh` counts the instructions
/// executed inside this symbol (`--toggle-collect`), so it must exist in the
/// benchmark binary.
#[inline(never)]
pub fn decrypt_premaster(
    key: &dyn RsaPrivateKey,
    ciphertext: &[u8],
    client_version: [u8; 2],
    fallback: &[u8; SECRET_LEN],
    rng: &mut dyn CryptoRng,
) -> Zeroizing<[u8; SECRET_LEN]> {
    rsa_kx::decrypt_premaster(key, ciphertext, client_version, fallback, rng)
}

/// The client's CertificateVerify signature with rsa_pss_rsae_sha256 (the
/// scheme it prefers): hashing, EMSA-PSS, RSASP1 and the public-key check.
pub fn sign_pss_sha256(
    provider: &dyn CryptoProvider,
    key: &dyn RsaPrivateKey,
    message: &[u8],
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    crate::sig::sign(
        provider,
        key,
        crate::msgs::enums::SignatureScheme::RSA_PSS_RSAE_SHA256,
        message,
        rng,
    )
}

/// The client's PKCS#1 v1.5 encryption of the premaster.
pub fn encrypt_premaster(
    key: &dyn RsaPublicKey,
    premaster: &[u8; SECRET_LEN],
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    rsa_kx::encrypt_premaster(key, premaster, rng)
}

/// RFC 7627 §4: the Extended Master Secret from a premaster and a session hash.
pub fn extended_master_secret(
    provider: &dyn CryptoProvider,
    alg: HashAlgorithm,
    premaster: &[u8; SECRET_LEN],
    session_hash: &[u8],
) -> Zeroizing<[u8; SECRET_LEN]> {
    let master = MasterSecret::extended(provider, alg, premaster, session_hash);
    Zeroizing::new(*master.as_bytes())
}
