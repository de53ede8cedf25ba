//! Tests of [`super::sign`] for every crypto provider compiled in: round trips
//! through the provider's verifier, known answers computed outside rsatls
//! (`tests/data/kat/sig/make.sh`: OpenSSL for PKCS#1 v1.5, RFC 8017 written
//! out in Python with a fixed salt for PSS), OpenSSL verifying our PSS
//! signatures, and the failure paths (a faulty key, a foreign scheme, keys
//! too small for the encoding).

use std::convert::Infallible;
use std::process::Command;

use rand_chacha::ChaCha20Rng;
use rand_core::{SeedableRng, TryCryptoRng, TryRng};

use super::*;
use crate::crypto::{CryptoError, PrivateKeyDer, RsaSignatureScheme};

const RSA2048: &[u8] = include_bytes!("../../tests/data/rsa2048.key.der");
const RSA3072: &[u8] = include_bytes!("../../tests/data/rsa3072.key.der");
const RSA4096: &[u8] = include_bytes!("../../tests/data/rsa4096.key.der");
const RSA1024: &[u8] = include_bytes!("../../tests/data/rsa1024.key.der");
const RSA2049: &[u8] = include_bytes!("../../tests/data/kat/sig/rsa2049.pkcs8.der");
const RSA2052: &[u8] = include_bytes!("../../tests/data/kat/rsa2052.pkcs8.der");
const MSG: &[u8] = include_bytes!("../../tests/data/kat/sig/msg.bin");

/// Every provider this build has.
fn providers() -> Vec<&'static dyn CryptoProvider> {
    #[allow(unused_mut)] // Without `fast`, there is only one.
    let mut all: Vec<&'static dyn CryptoProvider> = vec![&crate::crypto::rustcrypto::RUSTCRYPTO];
    #[cfg(feature = "fast")]
    all.push(&crate::crypto::fast::FAST);
    all
}

fn key(p: &dyn CryptoProvider, pkcs8: &[u8]) -> Box<dyn RsaPrivateKey> {
    p.rsa_private_key(PrivateKeyDer::Pkcs8(pkcs8))
        .expect("fixture key loads")
}

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// A test double: yields `salt` first, then a ChaCha stream (for blinding).
struct FixedSaltRngForTestingOnly {
    salt: Vec<u8>,
    rest: ChaCha20Rng,
}

impl TryRng for FixedSaltRngForTestingOnly {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let n = dst.len().min(self.salt.len());
        dst[..n].copy_from_slice(&self.salt[..n]);
        self.salt.drain(..n);
        self.rest.try_fill_bytes(&mut dst[n..])
    }
}

impl TryCryptoRng for FixedSaltRngForTestingOnly {}

fn provider_scheme_of(scheme: SignatureScheme) -> RsaSignatureScheme {
    provider_scheme(scheme).expect("one of SCHEMES")
}

fn scheme_name(scheme: SignatureScheme) -> &'static str {
    match scheme {
        SignatureScheme::RSA_PSS_RSAE_SHA256 => "pss_sha256",
        SignatureScheme::RSA_PSS_RSAE_SHA384 => "pss_sha384",
        SignatureScheme::RSA_PSS_RSAE_SHA512 => "pss_sha512",
        SignatureScheme::RSA_PKCS1_SHA256 => "pkcs1_sha256",
        SignatureScheme::RSA_PKCS1_SHA384 => "pkcs1_sha384",
        SignatureScheme::RSA_PKCS1_SHA512 => "pkcs1_sha512",
        _ => unreachable!("not one of SCHEMES"),
    }
}

/// The committed known answer for `key` ("rsa2048", "rsa2049", "rsa2052").
fn known_answer(key: &str, scheme: SignatureScheme) -> Vec<u8> {
    let path = format!(
        "{}/tests/data/kat/sig/{key}.{}.sig",
        env!("CARGO_MANIFEST_DIR"),
        scheme_name(scheme)
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn salt(hash_len: usize) -> Vec<u8> {
    let path = format!(
        "{}/tests/data/kat/sig/salt{hash_len}.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const KAT_KEYS: [(&str, &[u8]); 3] = [
    ("rsa2048", RSA2048),
    ("rsa2049", RSA2049),
    ("rsa2052", RSA2052),
];

#[test]
fn every_scheme_and_key_size_round_trips_through_the_providers_verifier() {
    for p in providers() {
        for (bits, der) in [(2048, RSA2048), (3072, RSA3072), (4096, RSA4096)] {
            let key = key(p, der);
            assert_eq!(key.modulus_bits(), bits);
            let (n, e) = (key.public_modulus(), key.public_exponent());
            for scheme in SCHEMES {
                let what = format!("{} {bits} {scheme:?}", p.name());
                let signature = sign(p, key.as_ref(), scheme, MSG, &mut rng(1)).expect(&what);
                assert_eq!(signature.len(), key.modulus_len(), "{what}");
                for verifier in providers() {
                    assert_eq!(
                        verifier.verify_rsa_signature(
                            provider_scheme_of(scheme),
                            &n,
                            &e,
                            MSG,
                            &signature
                        ),
                        Ok(()),
                        "{what} verified by {}",
                        verifier.name()
                    );
                    assert_eq!(verify(verifier, scheme, &n, &e, MSG, &signature), Ok(()));
                }
                // Another message, or the same signature read as any other
                // scheme, does not verify.
                assert_eq!(
                    verify(p, scheme, &n, &e, b"another message", &signature),
                    Err(Error::DecryptError),
                    "{what}"
                );
                for other in SCHEMES.into_iter().filter(|&o| o != scheme) {
                    assert_eq!(
                        verify(p, other, &n, &e, MSG, &signature),
                        Err(Error::DecryptError),
                        "{what} as {other:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn pkcs1_signatures_equal_openssls() {
    for p in providers() {
        for (name, der) in KAT_KEYS {
            let key = key(p, der);
            for scheme in [
                SignatureScheme::RSA_PKCS1_SHA256,
                SignatureScheme::RSA_PKCS1_SHA384,
                SignatureScheme::RSA_PKCS1_SHA512,
            ] {
                let signature = sign(p, key.as_ref(), scheme, MSG, &mut rng(2)).unwrap();
                assert!(
                    signature == known_answer(name, scheme),
                    "{} {name} {scheme:?}",
                    p.name()
                );
            }
        }
    }
}

/// The PSS vectors were encoded with the committed salts: with an RNG that
/// yields the salt first, the signature is the vector byte for byte (so
/// blinding, which comes after, does not eat the salt).
#[test]
fn pss_signatures_with_a_fixed_salt_equal_the_independent_vectors() {
    for p in providers() {
        for (name, der) in KAT_KEYS {
            let key = key(p, der);
            for (scheme, h_len) in [
                (SignatureScheme::RSA_PSS_RSAE_SHA256, 32),
                (SignatureScheme::RSA_PSS_RSAE_SHA384, 48),
                (SignatureScheme::RSA_PSS_RSAE_SHA512, 64),
            ] {
                let mut rng = FixedSaltRngForTestingOnly {
                    salt: salt(h_len),
                    rest: rng(3),
                };
                let signature = sign(p, key.as_ref(), scheme, MSG, &mut rng).unwrap();
                assert!(rng.salt.is_empty(), "the salt was drawn");
                assert!(
                    signature == known_answer(name, scheme),
                    "{} {name} {scheme:?}",
                    p.name()
                );
            }
        }
    }
}

/// The salt is the RNG's: the same seed gives the same signature (golden
/// transcripts stay byte-exact), another seed another signature. PKCS#1 v1.5
/// does not depend on the RNG at all.
#[test]
fn pss_salt_comes_from_the_rng_and_pkcs1_is_deterministic() {
    for p in providers() {
        let key = key(p, RSA2048);
        let s = |scheme, seed| sign(p, key.as_ref(), scheme, MSG, &mut rng(seed)).unwrap();
        for scheme in SCHEMES {
            let pss = encoding(scheme).unwrap().1 == Padding::Pss;
            assert_eq!(s(scheme, 4), s(scheme, 4), "{scheme:?}");
            assert_eq!(s(scheme, 4) != s(scheme, 5), pss, "{scheme:?}");
        }
    }
}

/// Writes `bytes` to a fresh file under the system temp directory.
fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rsatls-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `openssl dgst -SHA -sigopt rsa_padding_mode:pss -sigopt
/// rsa_pss_saltlen:digest -prverify KEY -signature SIG MSG` succeeds.
fn openssl_verifies_pss(sha: &str, key_pem: &str, signature: &[u8]) -> bool {
    let sig = temp_file(&format!("{sha}.sig"), signature);
    let msg = temp_file("msg.bin", MSG);
    let status = Command::new("openssl")
        .args(["dgst", &format!("-{sha}")])
        .args(["-sigopt", "rsa_padding_mode:pss"])
        .args(["-sigopt", "rsa_pss_saltlen:digest"])
        .arg("-prverify")
        .arg(format!(
            "{}/tests/data/{key_pem}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg("-signature")
        .arg(&sig)
        .arg(&msg)
        .output()
        .expect("the openssl binary runs");
    status.status.success()
}

#[test]
fn openssl_verifies_our_pss_signatures() {
    for p in providers() {
        for (key_pem, der) in [("rsa2048.key.pem", RSA2048), ("rsa3072.key.pem", RSA3072)] {
            let key = key(p, der);
            for (scheme, sha) in [
                (SignatureScheme::RSA_PSS_RSAE_SHA256, "sha256"),
                (SignatureScheme::RSA_PSS_RSAE_SHA384, "sha384"),
                (SignatureScheme::RSA_PSS_RSAE_SHA512, "sha512"),
            ] {
                let mut signature = sign(p, key.as_ref(), scheme, MSG, &mut rng(6)).unwrap();
                assert!(
                    openssl_verifies_pss(sha, key_pem, &signature),
                    "{} {key_pem} {scheme:?}",
                    p.name()
                );
                // The control: OpenSSL does reject a damaged signature.
                signature[10] ^= 0x40;
                assert!(!openssl_verifies_pss(sha, key_pem, &signature));
            }
        }
    }
    let _ = std::fs::remove_dir_all(temp_file("msg.bin", MSG).parent().unwrap());
}

/// A test double: the real key, whose private-key operation flips one bit of
/// its output, as a fault in one CRT half would corrupt it.
struct FaultyKeyForTestingOnly(Box<dyn RsaPrivateKey>);

impl RsaPrivateKey for FaultyKeyForTestingOnly {
    fn modulus_len(&self) -> usize {
        self.0.modulus_len()
    }
    fn modulus_bits(&self) -> usize {
        self.0.modulus_bits()
    }
    fn public_modulus(&self) -> Vec<u8> {
        self.0.public_modulus()
    }
    fn public_exponent(&self) -> Vec<u8> {
        self.0.public_exponent()
    }
    fn raw_decrypt(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<(), CryptoError> {
        self.0.raw_decrypt(ciphertext, out, rng)?;
        out[out.len() / 2] ^= 0x08;
        Ok(())
    }
}

#[test]
fn a_faulty_private_key_operation_releases_no_signature() {
    for p in providers() {
        let faulty = FaultyKeyForTestingOnly(key(p, RSA2048));
        for scheme in SCHEMES {
            assert_eq!(
                sign(p, &faulty, scheme, MSG, &mut rng(7)),
                Err(Error::Internal("the RSA signature failed its own check")),
                "{} {scheme:?}",
                p.name()
            );
        }
    }
}

#[test]
fn schemes_outside_the_list_are_refused() {
    for p in providers() {
        let key = key(p, RSA2048);
        for scheme in [
            SignatureScheme(0x0201), // rsa_pkcs1_sha1
            SignatureScheme::ECDSA_SECP256R1_SHA256,
            SignatureScheme::ECDSA_SECP384R1_SHA384,
            SignatureScheme(0x0809), // rsa_pss_pss_sha256
            SignatureScheme(0),
        ] {
            assert!(
                matches!(
                    sign(p, key.as_ref(), scheme, MSG, &mut rng(8)),
                    Err(Error::Internal(_))
                ),
                "{scheme:?}"
            );
        }
    }
}

/// The encoders refuse exactly the sizes RFC 8017 calls too short, at the
/// boundary, and never panic below it.
#[test]
fn encodings_refuse_keys_too_small_at_the_rfc_boundary() {
    let p = &crate::crypto::rustcrypto::RUSTCRYPTO;
    for hash in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        let h_len = hash.output_len();
        let digest = vec![0x5a; h_len];
        // PKCS#1 v1.5: k >= tLen + 11.
        let min_k = digest_info_prefix(hash).len() + h_len + 11;
        for k in 0..min_k {
            assert!(emsa_pkcs1_v1_5(hash, &digest, k).is_err(), "{hash:?} k={k}");
        }
        let em = emsa_pkcs1_v1_5(hash, &digest, min_k).unwrap();
        assert_eq!(em.len(), min_k);
        assert_eq!(
            em[..10],
            [0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(em[10], 0);

        // PSS: emLen = ceil((modBits - 1) / 8) >= 2 hLen + 2.
        let salt = vec![0xa5; h_len];
        let min_bits = 8 * (2 * h_len + 2 - 1) + 2;
        for bits in 0..min_bits {
            let k = usize::div_ceil(bits, 8);
            assert!(
                emsa_pss(p, hash, &digest, &salt, bits, k).is_err(),
                "{hash:?} bits={bits}"
            );
        }
        let em = emsa_pss(p, hash, &digest, &salt, min_bits, min_bits.div_ceil(8)).unwrap();
        assert_eq!(em.len(), min_bits.div_ceil(8));
        assert_eq!(em.last(), Some(&0xbc));
        // A modulus length that contradicts the bit count is refused too.
        assert!(emsa_pss(p, hash, &digest, &salt, 2048, 255).is_err());
    }
}

/// A 1024-bit key (below the engine's policy, but a real key) is too small for
/// PSS with SHA-512 (emLen 128 < 2·64 + 2) and signs the other schemes.
#[test]
fn a_1024_bit_key_signs_what_fits_and_refuses_the_rest() {
    for p in providers() {
        let key = key(p, RSA1024);
        for scheme in SCHEMES {
            let result = sign(p, key.as_ref(), scheme, MSG, &mut rng(9));
            if scheme == SignatureScheme::RSA_PSS_RSAE_SHA512 {
                assert_eq!(
                    result,
                    Err(Error::Internal(
                        "RSA key too small for an RSA-PSS signature"
                    ))
                );
            } else {
                let signature = result.unwrap();
                let (n, e) = (key.public_modulus(), key.public_exponent());
                assert_eq!(verify(p, scheme, &n, &e, MSG, &signature), Ok(()));
            }
        }
    }
}
