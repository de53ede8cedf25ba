//! ClientKeyExchange inputs by class, for the side-channel benches
//! (`benches/cke_callgrind.rs`, `benches/cke_dudect.rs`).
//!
//! Every class but [`Class::Valid`] must make the server's path select its
//! fallback premaster; each is built the way `tests/no_oracle.rs` builds it, with
//! its random parts (premaster bytes, padding, random ciphertext) drawn from the
//! caller's RNG so that a seed fixes the whole input.

use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use rsatls::bench_support::{SECRET_LEN, encrypt_premaster};
use rsatls::crypto::{RsaPrivateKey, RsaPublicKey};

use super::public_key;

/// ClientHello.client_version the server expects in the premaster (TLS 1.2).
pub(crate) const CLIENT_VERSION: [u8; 2] = [3, 3];

/// A class of ClientKeyExchange ciphertext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A correct encryption of a 48-byte premaster carrying `CLIENT_VERSION`.
    Valid,
    /// `k` uniformly random bytes, numerically below the modulus.
    Random,
    /// `k - 1` random bytes: the length check fails (public) and the server
    /// decrypts its stand-in instead.
    WrongLength,
    /// Correct padding around a premaster carrying TLS 1.0's version `{3, 1}`.
    WrongVersion,
    /// Block type 1 (`00 01 ...`) instead of 2; otherwise correct.
    BadPadding,
    /// Correct type-2 padding around a 47-byte premaster (the separator one byte
    /// late).
    Short47,
    /// Correct type-2 padding with no zero separator at all.
    NoSeparator,
    /// `k` bytes of `0xff`: numerically at least the modulus, refused by the RSA
    /// provider before any private-key arithmetic. Its cost differs by design and
    /// depends only on public data (the ciphertext and the public modulus).
    AboveModulus,
}

impl Class {
    /// Every class, in the order the reports list them.
    pub(crate) const ALL: [Class; 8] = [
        Class::Valid,
        Class::Random,
        Class::WrongLength,
        Class::WrongVersion,
        Class::BadPadding,
        Class::Short47,
        Class::NoSeparator,
        Class::AboveModulus,
    ];

    /// The command-line and report name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::Valid => "valid",
            Class::Random => "random",
            Class::WrongLength => "wrong-length",
            Class::WrongVersion => "wrong-version",
            Class::BadPadding => "bad-padding",
            Class::Short47 => "short-47",
            Class::NoSeparator => "no-separator",
            Class::AboveModulus => "above-modulus",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One ciphertext of `class` for `key`, and the premaster the server must
/// return for it (`None`: the fallback).
pub(crate) fn ciphertext(
    key: &dyn RsaPrivateKey,
    class: Class,
    rng: &mut ChaCha20Rng,
) -> (Vec<u8>, Option<[u8; SECRET_LEN]>) {
    let public = public_key(key);
    let public = public.as_ref();
    let k = key.modulus_len();
    let mut premaster = [0u8; SECRET_LEN];
    rng.fill_bytes(&mut premaster);
    premaster[..2].copy_from_slice(&CLIENT_VERSION);
    match class {
        Class::Valid => {
            let ct = encrypt_premaster(public, &premaster, rng).expect("encrypts");
            (ct, Some(premaster))
        }
        Class::Random => {
            let modulus = key.public_modulus();
            assert_eq!(modulus.len(), k);
            let mut ct = vec![0u8; k];
            // Rejection sampling: equal-length big-endian strings compare as numbers.
            loop {
                rng.fill_bytes(&mut ct);
                if ct < modulus {
                    break (ct, None);
                }
            }
        }
        Class::WrongLength => {
            let mut ct = vec![0u8; k - 1];
            rng.fill_bytes(&mut ct);
            (ct, None)
        }
        Class::WrongVersion => {
            premaster[..2].copy_from_slice(&[3, 1]);
            (block(public, 2, &premaster, rng), None)
        }
        Class::BadPadding => (block(public, 1, &premaster, rng), None),
        Class::Short47 => (block(public, 2, &premaster[..47], rng), None),
        Class::NoSeparator => {
            let mut em = vec![0u8; k];
            em[1] = 2;
            non_zero(&mut em[2..], rng);
            (encrypt(public, &em), None)
        }
        Class::AboveModulus => (vec![0xff; k], None),
    }
}

/// `00 ‖ block_type ‖ PS (random non-zero) ‖ 00 ‖ payload`, encrypted.
fn block(
    public: &dyn RsaPublicKey,
    block_type: u8,
    payload: &[u8],
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    let k = public.modulus_len();
    let sep = k - payload.len() - 1;
    let mut em = vec![0u8; k];
    em[1] = block_type;
    non_zero(&mut em[2..sep], rng);
    em[sep + 1..].copy_from_slice(payload);
    encrypt(public, &em)
}

fn non_zero(out: &mut [u8], rng: &mut ChaCha20Rng) {
    rng.fill_bytes(out);
    for b in out {
        *b = (*b).max(1);
    }
}

fn encrypt(public: &dyn RsaPublicKey, em: &[u8]) -> Vec<u8> {
    let mut ct = vec![0u8; public.modulus_len()];
    public.raw_encrypt(em, &mut ct).expect("encrypts");
    ct
}
