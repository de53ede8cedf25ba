//! Criterion benchmarks of the cryptographic paths: RSA key generation, the
//! client's premaster encryption, the server's constant-time ClientKeyExchange
//! path (valid and invalid input), the provider's raw private-key operation and
//! the client's CertificateVerify signature (RSA-PSS-SHA256);
//! the AEAD crate called directly against the engine's record layer; the
//! Extended Master Secret PRF.
//!
//! `cargo bench --bench crypto` (RustCrypto) or `cargo bench --bench crypto
//! --features fast` (IDs then start with `fast/`). See BENCHMARKS.md.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Crit, RECORD_SIZES, RSA_BITS, id, provider};
use common::{Direction, raw};
use common::{invalid_ciphertext, public_key, valid_ciphertext};
use criterion::{BatchSize, BenchmarkId, SamplingMode, Throughput};
use rand_core::Rng;
use rsatls::bench_support::{
    RECORD_HEADER_LEN, RECORD_OVERHEAD, SECRET_LEN, decrypt_premaster, encrypt_premaster,
    extended_master_secret, sign_pss_sha256,
};
use rsatls::crypto::{AeadAlgorithm, GCM_NONCE_LEN, HashAlgorithm};

/// ClientHello.client_version (TLS 1.2).
const CLIENT_VERSION: [u8; 2] = [3, 3];

fn main() {
    let mut c = common::criterion();
    rsa(&mut c);
    aead(&mut c);
    record(&mut c);
    prf(&mut c);
    #[cfg(feature = "fast")]
    choice::all(&mut c);
    c.final_summary();
}

fn rsa(c: &mut Crit) {
    let mut g = c.benchmark_group(id("rsa/keygen"));
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(3));
    for bits in [2048, 3072] {
        let mut rng = common::rng(bits as u64);
        g.bench_function(BenchmarkId::from_parameter(bits), |b| {
            b.iter(|| keygen(bits, &mut rng))
        });
    }
    g.finish();

    let premaster = {
        let mut p = [0u8; SECRET_LEN];
        common::rng(1).fill_bytes(&mut p);
        p[..2].copy_from_slice(&CLIENT_VERSION);
        p
    };
    let fallback = [0x5a; SECRET_LEN];
    let keys: Vec<_> = RSA_BITS
        .iter()
        .map(|&b| (b, common::private_key(b)))
        .collect();

    let mut g = c.benchmark_group(id("rsa/encrypt_premaster"));
    for (bits, key) in &keys {
        let public = public_key(key.as_ref());
        let mut rng = common::rng(2);
        g.bench_function(BenchmarkId::from_parameter(bits), |b| {
            b.iter(|| encrypt_premaster(public.as_ref(), black_box(&premaster), &mut rng))
        });
    }
    g.finish();

    // The same path, valid then invalid input: the two must cost the same.
    for (name, valid) in [
        ("rsa/decrypt_premaster", true),
        ("rsa/decrypt_premaster_invalid", false),
    ] {
        let mut g = c.benchmark_group(id(name));
        for (bits, key) in &keys {
            let ct = match valid {
                true => valid_ciphertext(key.as_ref(), &premaster),
                false => invalid_ciphertext(key.as_ref()),
            };
            // The benchmark measures what it claims to.
            let got = decrypt_premaster(
                key.as_ref(),
                &ct,
                CLIENT_VERSION,
                &fallback,
                &mut common::rng(3),
            );
            assert_eq!(*got == premaster, valid, "{name}/{bits}");
            assert_eq!(*got == fallback, !valid, "{name}/{bits}");
            let mut rng = common::rng(3);
            g.bench_function(BenchmarkId::from_parameter(bits), |b| {
                b.iter(|| {
                    decrypt_premaster(
                        key.as_ref(),
                        black_box(&ct),
                        CLIENT_VERSION,
                        &fallback,
                        &mut rng,
                    )
                })
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group(id("rsa/raw_private_op"));
    for (bits, key) in &keys {
        let ct = valid_ciphertext(key.as_ref(), &premaster);
        let mut out = vec![0u8; key.modulus_len()];
        let mut rng = common::rng(4);
        g.bench_function(BenchmarkId::from_parameter(bits), |b| {
            b.iter(|| key.raw_decrypt(black_box(&ct), &mut out, &mut rng).unwrap())
        });
    }
    g.finish();

    // The client's CertificateVerify (mutual TLS): the raw private-key
    // operation above plus hashing, EMSA-PSS and the public-key check.
    let mut g = c.benchmark_group(id("rsa/sign_pss_sha256"));
    let transcript = vec![0x16; 4000];
    for (bits, key) in keys.iter().filter(|(bits, _)| *bits == 2048) {
        let p = provider();
        let mut rng = common::rng(5);
        g.bench_function(BenchmarkId::from_parameter(bits), |b| {
            b.iter(|| {
                sign_pss_sha256(p.as_ref(), key.as_ref(), black_box(&transcript), &mut rng).unwrap()
            })
        });
    }
    g.finish();
}

/// Key generation is not a provider operation (rsatls never generates keys in
/// the engine), so it calls each provider's RSA library directly.
#[cfg(not(feature = "fast"))]
fn keygen(bits: usize, rng: &mut rand_chacha::ChaCha20Rng) -> impl Sized + use<> {
    rsa::PrivateKey::new(rng, bits).expect("keygen")
}

#[cfg(feature = "fast")]
fn keygen(bits: usize, _rng: &mut rand_chacha::ChaCha20Rng) -> impl Sized + use<> {
    openssl::rsa::Rsa::generate(bits as u32).expect("keygen")
}

fn alg_name(alg: AeadAlgorithm) -> &'static str {
    match alg {
        AeadAlgorithm::Aes128Gcm => "aes128",
        AeadAlgorithm::Aes256Gcm => "aes256",
    }
}

const AEADS: [AeadAlgorithm; 2] = [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm];

/// The AEAD crate of the provider under test, called directly: the ceiling for
/// the record layer.
fn aead(c: &mut Crit) {
    let mut g = c.benchmark_group(id("aead/raw_seal"));
    for alg in AEADS {
        let key = vec![0x42; alg.key_len()];
        for size in RECORD_SIZES {
            let mut buf = vec![0x17u8; size];
            let aad = [0u8; 13];
            let nonce = [9u8; GCM_NONCE_LEN];
            g.throughput(Throughput::Bytes(size as u64));
            let seal = raw::sealer(alg, &key);
            g.bench_function(BenchmarkId::new(alg_name(alg), size), |b| {
                b.iter(|| seal(&nonce, &aad, black_box(&mut buf)))
            });
        }
    }
    g.finish();
}

/// The engine's record layer: header, explicit nonce, AAD, the provider's
/// in-place AEAD, tag. Seal appends to a reused output buffer; open decrypts a
/// received record in place.
fn record(c: &mut Crit) {
    let mut g = c.benchmark_group(id("record/seal"));
    for alg in AEADS {
        for size in RECORD_SIZES {
            let plaintext = vec![0x17u8; size];
            let mut out = vec![0u8; RECORD_HEADER_LEN + RECORD_OVERHEAD + size];
            let mut dir = Direction::new(alg);
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_function(BenchmarkId::new(alg_name(alg), size), |b| {
                b.iter(|| {
                    dir.next().seal(black_box(&plaintext), &mut out).unwrap();
                })
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group(id("record/open"));
    for alg in AEADS {
        for size in RECORD_SIZES {
            let plaintext = vec![0x17u8; size];
            let mut sender = Direction::new(alg);
            let mut receiver = Direction::new(alg);
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_function(BenchmarkId::new(alg_name(alg), size), |b| {
                // The records to open are sealed, in sequence, outside the timing.
                b.iter_batched_ref(
                    || {
                        let mut rec = vec![0u8; RECORD_HEADER_LEN + RECORD_OVERHEAD + size];
                        sender.next().seal(&plaintext, &mut rec).unwrap();
                        rec
                    },
                    |rec| {
                        let range = receiver.next().open(&mut rec[RECORD_HEADER_LEN..]).unwrap();
                        debug_assert_eq!(range.len(), size);
                        range
                    },
                    BatchSize::NumIterations(16),
                )
            });
        }
    }
    g.finish();
}

fn prf(c: &mut Crit) {
    let mut g = c.benchmark_group(id("prf/master_secret"));
    let premaster = [0x03; SECRET_LEN];
    for (name, alg) in [
        ("sha256", HashAlgorithm::Sha256),
        ("sha384", HashAlgorithm::Sha384),
    ] {
        let session_hash = vec![0x60; alg.output_len()];
        let p = provider();
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| extended_master_secret(p.as_ref(), alg, black_box(&premaster), &session_hash))
        });
    }
    g.finish();
}

/// The measurements behind the fast provider's choice of libraries, side by side
/// in one run: each AEAD candidate sealing a full record, and each RSA candidate's
/// raw private-key operation (BENCHMARKS.md, "Why these libraries").
#[cfg(feature = "fast")]
mod choice {
    use std::hint::black_box;

    use criterion::{BenchmarkId, Throughput};
    use rsatls::crypto::rustcrypto::RUSTCRYPTO;
    use rsatls::crypto::{CryptoProvider, GCM_NONCE_LEN, PrivateKeyDer};

    use super::common::Crit;
    use super::{AEADS, alg_name, raw};

    pub(crate) fn all(c: &mut Crit) {
        let mut g = c.benchmark_group("fast/choice/aead_seal");
        let size = 16384;
        g.throughput(Throughput::Bytes(size as u64));
        for alg in AEADS {
            let key = vec![0x42; alg.key_len()];
            for (lib, seal) in [
                ("rustcrypto", raw::rustcrypto(alg, &key)),
                ("aws-lc-rs", raw::aws_lc(alg, &key)),
                ("openssl", raw::openssl(alg, &key)),
            ] {
                let mut buf = vec![0x17u8; size];
                let nonce = [9u8; GCM_NONCE_LEN];
                let id = BenchmarkId::new(format!("{lib}/{}", alg_name(alg)), size);
                g.bench_function(id, |b| {
                    b.iter(|| seal(&nonce, &[0u8; 13], black_box(&mut buf)))
                });
            }
        }
        g.finish();

        let mut g = c.benchmark_group("fast/choice/raw_private_op");
        let der = super::common::private_key_der(2048);
        let providers: [&dyn CryptoProvider; 2] = [&RUSTCRYPTO, &rsatls::crypto::fast::FAST];
        for p in providers {
            let key = p.rsa_private_key(PrivateKeyDer::Pkcs8(&der)).unwrap();
            let ct = super::common::invalid_ciphertext(key.as_ref());
            let mut out = vec![0u8; key.modulus_len()];
            let mut rng = super::common::rng(4);
            let lib = match p.name() {
                "fast" => "openssl",
                other => other,
            };
            g.bench_function(BenchmarkId::new(lib, 2048), |b| {
                b.iter(|| key.raw_decrypt(black_box(&ct), &mut out, &mut rng).unwrap())
            });
        }
        g.finish();
    }
}
