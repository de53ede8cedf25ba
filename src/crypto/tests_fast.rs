//! The fast provider against the shared known-answer tests (`kat.rs`), plus its
//! own helpers and a differential check against the RustCrypto provider.

use rand_core::Rng;

use super::super::kat::{KAT_K, KAT_PKCS1, kat_key, kat_modulus, known_answer_tests, test_rng};
use super::super::rustcrypto::RUSTCRYPTO;
use super::super::*;
use super::{FAST, Fast};

const RSA2048_PKCS8: &[u8] = include_bytes!("../../tests/data/rsa2048.key.der");

fn provider() -> &'static dyn CryptoProvider {
    &FAST
}

known_answer_tests!(&FAST);

#[test]
fn less_than_ct_matches_the_ordering() {
    let cases: [(&[u8], &[u8]); 6] = [
        (&[0, 0], &[0, 1]),
        (&[0, 1], &[0, 1]),
        (&[0, 2], &[0, 1]),
        (&[1, 0], &[0, 0xff]),
        (&[0, 0xff], &[1, 0]),
        (&[0xff, 0xff], &[0xff, 0xfe]),
    ];
    for (a, b) in cases {
        assert_eq!(super::less_than_ct(a, b), a < b, "{a:?} < {b:?}");
    }
}

// ---- against the RustCrypto provider -------------------------------------------

/// Both providers agree on random inputs of AES-GCM and raw RSA (hashing and HMAC
/// are delegated to the RustCrypto provider; the known answers above cover them).
#[test]
fn agrees_with_rustcrypto() {
    let mut rng = test_rng(9);
    let fast = provider();
    let reference: &dyn CryptoProvider = &RUSTCRYPTO;
    for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm] {
        let mut key = vec![0u8; alg.key_len()];
        rng.fill_bytes(&mut key);
        let (f, r) = (
            fast.aead_key(alg, &key).unwrap(),
            reference.aead_key(alg, &key).unwrap(),
        );
        for len in [0, 13, 64, 1024, 16384] {
            let mut nonce = [0u8; GCM_NONCE_LEN];
            rng.fill_bytes(&mut nonce);
            let mut msg = vec![0u8; len];
            rng.fill_bytes(&mut msg);
            let (mut x, mut y) = (msg.clone(), msg.clone());
            let tag = f.seal_in_place(&nonce, b"aad", &mut x).unwrap();
            assert_eq!(tag, r.seal_in_place(&nonce, b"aad", &mut y).unwrap());
            assert_eq!(x, y);
            r.open_in_place(&nonce, b"aad", &mut y, &tag).unwrap();
            assert_eq!(y, msg);
        }
    }
    let (f, r) = (
        fast.rsa_private_key(PrivateKeyDer::Pkcs8(RSA2048_PKCS8))
            .unwrap(),
        reference
            .rsa_private_key(PrivateKeyDer::Pkcs8(RSA2048_PKCS8))
            .unwrap(),
    );
    assert_eq!(f.modulus_bits(), r.modulus_bits());
    assert_eq!(f.public_modulus(), r.public_modulus());
    assert_eq!(f.public_exponent(), r.public_exponent());
    let k = f.modulus_len();
    for _ in 0..4 {
        let mut ct = vec![0u8; k];
        rng.fill_bytes(&mut ct);
        ct[0] = 0; // below n
        let (mut x, mut y) = (vec![0u8; k], vec![0u8; k]);
        f.raw_decrypt(&ct, &mut x, &mut rng).unwrap();
        r.raw_decrypt(&ct, &mut y, &mut rng).unwrap();
        assert_eq!(x, y);
    }
}

// ---- provider plumbing ---------------------------------------------------------

#[test]
fn provider_handles() {
    assert_eq!(Fast.name(), "fast");
    let shared = super::default_provider();
    assert_eq!(shared.name(), "fast");
    // With the `fast` feature on, the crate's default is this provider.
    assert_eq!(default_provider().name(), "fast");
}

// ---- RSA signature verification ------------------------------------------------

/// Both providers agree on signatures made by the `rsa` crate, in every scheme,
/// and on their tampered and cross-scheme variants.
#[test]
fn rsa_signature_verification_agrees_with_rustcrypto() {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    use sha2::{Sha256, Sha384, Sha512};

    let private = rsa::PrivateKey::from_pkcs1_der(KAT_PKCS1).unwrap();
    let n = kat_modulus();
    let e = kat_key(&FAST, PrivateKeyDer::Pkcs1(KAT_PKCS1)).public_exponent();
    let message = b"tbsCertificate bytes";
    let mut rng = test_rng(5);
    let p = private.clone();
    let signatures: Vec<(RsaSignatureScheme, Vec<u8>)> = vec![
        (
            RsaSignatureScheme::Pkcs1Sha256,
            rsa::pkcs1v15::SigningKey::<Sha256>::new(p.clone())
                .sign_with_rng(&mut rng, message)
                .to_vec(),
        ),
        (
            RsaSignatureScheme::Pkcs1Sha384,
            rsa::pkcs1v15::SigningKey::<Sha384>::new(p.clone())
                .sign_with_rng(&mut rng, message)
                .to_vec(),
        ),
        (
            RsaSignatureScheme::Pkcs1Sha512,
            rsa::pkcs1v15::SigningKey::<Sha512>::new(p.clone())
                .sign_with_rng(&mut rng, message)
                .to_vec(),
        ),
        (
            RsaSignatureScheme::PssSha256,
            rsa::pss::SigningKey::<Sha256>::new(p.clone())
                .sign_with_rng(&mut rng, message)
                .to_vec(),
        ),
        (
            RsaSignatureScheme::PssSha384,
            rsa::pss::SigningKey::<Sha384>::new(p.clone())
                .sign_with_rng(&mut rng, message)
                .to_vec(),
        ),
        (
            RsaSignatureScheme::PssSha512,
            rsa::pss::SigningKey::<Sha512>::new(p)
                .sign_with_rng(&mut rng, message)
                .to_vec(),
        ),
    ];
    let schemes: Vec<RsaSignatureScheme> = signatures.iter().map(|(s, _)| *s).collect();
    for (made_with, signature) in &signatures {
        let mut flipped = signature.clone();
        flipped[KAT_K / 3] ^= 0x40;
        for &scheme in &schemes {
            for (msg, sig) in [
                (&message[..], &signature[..]),
                (&b"other"[..], &signature[..]),
                (&message[..], &flipped[..]),
                (&message[..], &signature[1..]),
            ] {
                let fast = FAST.verify_rsa_signature(scheme, n, &e, msg, sig);
                let reference = RUSTCRYPTO.verify_rsa_signature(scheme, n, &e, msg, sig);
                assert_eq!(fast, reference, "{made_with:?} checked as {scheme:?}");
            }
        }
        assert_eq!(
            FAST.verify_rsa_signature(*made_with, n, &e, message, signature),
            Ok(())
        );
    }
}
