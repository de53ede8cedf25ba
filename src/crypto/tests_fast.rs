//! Known-answer tests for the fast provider: the same published vectors and RSA
//! fixtures as `tests.rs` (FIPS 180-2, RFC 4231, McGrew & Viega's GCM test
//! cases, the OpenSSL-made 2052-bit fixtures in `tests/data/kat/`), the same edge
//! cases, and a differential check against the RustCrypto provider.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use super::super::rustcrypto::RUSTCRYPTO;
use super::super::*;
use super::{FAST, Fast};

const KAT_PKCS1: &[u8] = include_bytes!("../../tests/data/kat/rsa2052.pkcs1.der");
const KAT_PKCS8: &[u8] = include_bytes!("../../tests/data/kat/rsa2052.pkcs8.der");
const KAT_PT1: &[u8] = include_bytes!("../../tests/data/kat/pt1.bin");
const KAT_CT1: &[u8] = include_bytes!("../../tests/data/kat/ct1.bin");
const KAT_PT2: &[u8] = include_bytes!("../../tests/data/kat/pt2.bin");
const KAT_CT2: &[u8] = include_bytes!("../../tests/data/kat/ct2.bin");
const EC_PKCS8: &[u8] = include_bytes!("../../tests/data/ec256.key.der");
const RSA2048_PKCS8: &[u8] = include_bytes!("../../tests/data/rsa2048.key.der");

/// Bit and byte length of the fixture key's modulus.
const KAT_BITS: usize = 2052;
const KAT_K: usize = 257;

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(s.len() % 2, 0, "odd-length hex");
    s.chunks(2)
        .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// A deterministic RNG; test double, not an entropy source.
fn test_rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn provider() -> &'static dyn CryptoProvider {
    &FAST
}

// ---- hashing -------------------------------------------------------------------

#[test]
fn sha2_abc() {
    assert_eq!(
        provider().hash(HashAlgorithm::Sha256, b"abc").as_ref(),
        hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        provider().hash(HashAlgorithm::Sha384, b"abc").as_ref(),
        hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163
             1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
    );
}

/// RFC 4231 §4.3 (test case 2) and §4.7 (test case 6: a key longer than the
/// block size is hashed first).
#[test]
fn hmac_rfc4231_cases_2_and_6() {
    let msg: &[u8] = b"what do ya want for nothing?";
    assert_eq!(
        provider()
            .hmac(HashAlgorithm::Sha256, b"Jefe", &[msg])
            .as_ref(),
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    assert_eq!(
        provider()
            .hmac(HashAlgorithm::Sha384, b"Jefe", &[msg])
            .as_ref(),
        hex("af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47
             e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649")
    );
    let key = [0xaa; 131];
    let msg: &[u8] = b"Test Using Larger Than Block-Size Key - Hash Key First";
    assert_eq!(
        provider()
            .hmac(HashAlgorithm::Sha256, &key, &[msg])
            .as_ref(),
        hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    );
    assert_eq!(
        provider()
            .hmac(HashAlgorithm::Sha384, &key, &[msg])
            .as_ref(),
        hex("4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f
             3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952")
    );
}

#[test]
fn hmac_parts_are_concatenated() {
    for alg in [HashAlgorithm::Sha256, HashAlgorithm::Sha384] {
        let whole = provider().hmac(alg, b"Jefe", &[b"what do ya want for nothing?"]);
        let split = provider().hmac(
            alg,
            b"Jefe",
            &[b"what do", b"", b" ya want ", b"for nothing?"],
        );
        assert_eq!(whole.as_ref(), split.as_ref());
        assert_eq!(whole.as_ref().len(), alg.output_len());
    }
}

// ---- AES-GCM -------------------------------------------------------------------

/// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 4 (AES-128)
/// and 16 (AES-256): 96-bit IV, 60-byte plaintext, 20-byte AAD.
struct GcmVector {
    alg: AeadAlgorithm,
    key: &'static str,
    ciphertext: &'static str,
    tag: &'static str,
}

const GCM_IV: &str = "cafebabefacedbaddecaf888";
const GCM_AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const GCM_PLAINTEXT: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";

const GCM_VECTORS: [GcmVector; 2] = [
    GcmVector {
        alg: AeadAlgorithm::Aes128Gcm,
        key: "feffe9928665731c6d6a8f9467308308",
        ciphertext: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
                     21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        tag: "5bc94fbc3221a5db94fae95ae7121a47",
    },
    GcmVector {
        alg: AeadAlgorithm::Aes256Gcm,
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
                     8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        tag: "76fc6ece0f4e1768cddf8853bb2d551b",
    },
];

fn gcm_nonce() -> [u8; GCM_NONCE_LEN] {
    hex(GCM_IV).try_into().unwrap()
}

#[test]
fn gcm_seal_and_open_known_answer() {
    for v in &GCM_VECTORS {
        let key = provider().aead_key(v.alg, &hex(v.key)).unwrap();
        let mut buf = hex(GCM_PLAINTEXT);
        let tag = key
            .seal_in_place(&gcm_nonce(), &hex(GCM_AAD), &mut buf)
            .unwrap();
        assert_eq!(buf, hex(v.ciphertext), "{:?} ciphertext", v.alg);
        assert_eq!(tag.as_slice(), hex(v.tag), "{:?} tag", v.alg);

        let mut buf = hex(v.ciphertext);
        let tag: [u8; GCM_TAG_LEN] = hex(v.tag).try_into().unwrap();
        key.open_in_place(&gcm_nonce(), &hex(GCM_AAD), &mut buf, &tag)
            .unwrap();
        assert_eq!(buf, hex(GCM_PLAINTEXT), "{:?}", v.alg);
    }
}

/// What is tampered with, and the nonce, ciphertext, AAD and tag to open.
type Tampered = (
    &'static str,
    [u8; GCM_NONCE_LEN],
    Vec<u8>,
    Vec<u8>,
    [u8; GCM_TAG_LEN],
);

/// Every single-bit change to tag, ciphertext, AAD or nonce, and a record cut
/// short, fails to open; the buffer then holds zeros, never plaintext (aws-lc
/// decrypts before it compares, so the provider must wipe it).
#[test]
fn gcm_open_rejects_tampering_without_releasing_plaintext() {
    for v in &GCM_VECTORS {
        let key = provider().aead_key(v.alg, &hex(v.key)).unwrap();
        let ciphertext = hex(v.ciphertext);
        let aad = hex(GCM_AAD);
        let tag: [u8; GCM_TAG_LEN] = hex(v.tag).try_into().unwrap();

        let mut cases: Vec<Tampered> = Vec::new();
        for bit in [0, 7, 64, 127] {
            let mut t = tag;
            t[bit / 8] ^= 1 << (bit % 8);
            cases.push(("tag", gcm_nonce(), ciphertext.clone(), aad.clone(), t));
        }
        for bit in [0, 100, 8 * ciphertext.len() - 1] {
            let mut c = ciphertext.clone();
            c[bit / 8] ^= 1 << (bit % 8);
            cases.push(("ciphertext", gcm_nonce(), c, aad.clone(), tag));
        }
        for bit in [0, 8 * aad.len() - 1] {
            let mut a = aad.clone();
            a[bit / 8] ^= 1 << (bit % 8);
            cases.push(("aad", gcm_nonce(), ciphertext.clone(), a, tag));
        }
        let mut n = gcm_nonce();
        n[11] ^= 1;
        cases.push(("nonce", n, ciphertext.clone(), aad.clone(), tag));
        let short = ciphertext[..ciphertext.len() - 1].to_vec();
        cases.push(("length", gcm_nonce(), short, aad.clone(), tag));

        for (what, nonce, mut buf, aad, tag) in cases {
            let r = key.open_in_place(&nonce, &aad, &mut buf, &tag);
            assert_eq!(r, Err(CryptoError), "{:?}: tampered {what} opened", v.alg);
            assert!(
                buf.iter().all(|&b| b == 0),
                "{:?}: buffer not zeroed after bad {what}",
                v.alg
            );
        }
    }
}

#[test]
fn gcm_round_trip_including_empty_payload() {
    for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm] {
        let key = provider()
            .aead_key(alg, &vec![0x42; alg.key_len()])
            .unwrap();
        let nonce = [7u8; GCM_NONCE_LEN];
        for len in [0, 1, 15, 16, 17, 1000, 16384] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut buf = msg.clone();
            let tag = key.seal_in_place(&nonce, b"header", &mut buf).unwrap();
            if len > 0 {
                assert_ne!(buf, msg);
            }
            key.open_in_place(&nonce, b"header", &mut buf, &tag)
                .unwrap();
            assert_eq!(buf, msg);
        }
    }
}

#[test]
fn gcm_wrong_key_length_is_an_error() {
    for (alg, len) in [
        (AeadAlgorithm::Aes128Gcm, 0),
        (AeadAlgorithm::Aes128Gcm, 15),
        (AeadAlgorithm::Aes128Gcm, 32),
        (AeadAlgorithm::Aes256Gcm, 16),
        (AeadAlgorithm::Aes256Gcm, 33),
    ] {
        assert!(
            provider().aead_key(alg, &vec![0; len]).is_err(),
            "{alg:?} with {len}-byte key"
        );
    }
}

// ---- RSA -----------------------------------------------------------------------

fn kat_key(der: PrivateKeyDer<'_>) -> Box<dyn RsaPrivateKey> {
    provider().rsa_private_key(der).expect("fixture key loads")
}

/// The modulus as stored in the PKCS#1 fixture (`02 82 01 01` and 257 bytes).
fn kat_modulus() -> &'static [u8] {
    assert_eq!(KAT_PKCS1[7..11], [0x02, 0x82, 0x01, 0x01], "fixture layout");
    &KAT_PKCS1[11..11 + KAT_K]
}

#[test]
fn rsa_pkcs1_and_pkcs8_load_the_same_key() {
    for der in [
        PrivateKeyDer::Pkcs1(KAT_PKCS1),
        PrivateKeyDer::Pkcs8(KAT_PKCS8),
    ] {
        let key = kat_key(der);
        assert_eq!(key.modulus_bits(), KAT_BITS);
        assert_eq!(key.modulus_len(), KAT_K);
        assert_eq!(key.public_modulus(), kat_modulus());
        assert_eq!(key.public_exponent(), [1, 0, 1]);
    }
}

#[test]
fn rsa_wrong_container_garbage_or_other_algorithm_fails_to_load() {
    let p = provider();
    assert!(p.rsa_private_key(PrivateKeyDer::Pkcs1(KAT_PKCS8)).is_err());
    assert!(p.rsa_private_key(PrivateKeyDer::Pkcs8(KAT_PKCS1)).is_err());
    assert!(p.rsa_private_key(PrivateKeyDer::Pkcs1(&[])).is_err());
    assert!(
        p.rsa_private_key(PrivateKeyDer::Pkcs8(&KAT_PKCS8[..100]))
            .is_err()
    );
    // An EC key in a valid PKCS#8 container.
    assert!(p.rsa_private_key(PrivateKeyDer::Pkcs8(EC_PKCS8)).is_err());
    // Trailing bytes after a valid key (OpenSSL's own parser would ignore them).
    let mut trailing = KAT_PKCS1.to_vec();
    trailing.push(0);
    assert!(p.rsa_private_key(PrivateKeyDer::Pkcs1(&trailing)).is_err());
}

/// A true known answer: ciphertexts produced by OpenSSL decrypt to the committed
/// plaintexts, including one whose first three bytes are zero.
#[test]
fn rsa_raw_decrypt_known_answer() {
    let mut rng = test_rng(1);
    for der in [
        PrivateKeyDer::Pkcs1(KAT_PKCS1),
        PrivateKeyDer::Pkcs8(KAT_PKCS8),
    ] {
        let key = kat_key(der);
        for (ct, pt) in [(KAT_CT1, KAT_PT1), (KAT_CT2, KAT_PT2)] {
            let mut out = [0xffu8; KAT_K];
            key.raw_decrypt(ct, &mut out, &mut rng).unwrap();
            assert_eq!(out.as_slice(), pt);
        }
    }
}

#[test]
fn rsa_raw_encrypt_known_answer_and_leading_zeros() {
    let mut padded_n = vec![0, 0];
    padded_n.extend_from_slice(kat_modulus());
    for (n, e) in [
        (kat_modulus(), &[1u8, 0, 1][..]),
        (&padded_n[..], &[0, 1, 0, 1][..]),
    ] {
        let public = provider().rsa_public_key(n, e).unwrap();
        assert_eq!(public.modulus_bits(), KAT_BITS);
        assert_eq!(public.modulus_len(), KAT_K);
        for (pt, ct) in [(KAT_PT1, KAT_CT1), (KAT_PT2, KAT_CT2)] {
            let mut out = [0u8; KAT_K];
            public.raw_encrypt(pt, &mut out).unwrap();
            assert_eq!(out.as_slice(), ct);
        }
    }
}

#[test]
fn rsa_round_trip_through_public_key_from_private() {
    let private = kat_key(PrivateKeyDer::Pkcs1(KAT_PKCS1));
    let public = provider()
        .rsa_public_key(&private.public_modulus(), &private.public_exponent())
        .unwrap();
    let mut rng = test_rng(5);
    // Small values exercise the left padding of both outputs.
    let mut messages = vec![[0u8; KAT_K], [0u8; KAT_K], [0u8; KAT_K]];
    messages[1][KAT_K - 1] = 2;
    messages[2][1..].fill(0xa5);
    for msg in messages {
        let mut ct = [0u8; KAT_K];
        public.raw_encrypt(&msg, &mut ct).unwrap();
        let mut back = [0xffu8; KAT_K];
        private.raw_decrypt(&ct, &mut back, &mut rng).unwrap();
        assert_eq!(back, msg);
    }
}

#[test]
fn rsa_raw_decrypt_rejects_out_of_range_or_misshaped_input() {
    let key = kat_key(PrivateKeyDer::Pkcs8(KAT_PKCS8));
    let mut rng = test_rng(6);
    let mut out = [0u8; KAT_K];
    let mut decrypt = |ct: &[u8], out: &mut [u8]| key.raw_decrypt(ct, out, &mut rng);

    // c == n and c == 2^(8k) - 1 are both >= n.
    assert_eq!(decrypt(kat_modulus(), &mut out), Err(CryptoError));
    assert_eq!(decrypt(&[0xff; KAT_K], &mut out), Err(CryptoError));
    // Wrong lengths, including a valid ciphertext with a leading zero byte.
    let mut padded = vec![0u8];
    padded.extend_from_slice(KAT_CT1);
    assert_eq!(decrypt(&padded, &mut out), Err(CryptoError));
    assert_eq!(decrypt(&KAT_CT1[1..], &mut out), Err(CryptoError));
    assert_eq!(decrypt(&[], &mut out), Err(CryptoError));
    assert_eq!(decrypt(KAT_CT1, &mut out[1..]), Err(CryptoError));
    assert_eq!(decrypt(KAT_CT1, &mut [0u8; KAT_K + 1]), Err(CryptoError));
    // n - 1 is in range.
    let mut n_minus_1 = kat_modulus().to_vec();
    n_minus_1[KAT_K - 1] -= 1; // n is odd, so no borrow
    assert_eq!(decrypt(&n_minus_1, &mut out), Ok(()));
}

#[test]
fn rsa_raw_encrypt_rejects_out_of_range_or_misshaped_input() {
    let public = provider()
        .rsa_public_key(kat_modulus(), &[1, 0, 1])
        .unwrap();
    let mut out = [0u8; KAT_K];
    assert_eq!(
        public.raw_encrypt(kat_modulus(), &mut out),
        Err(CryptoError)
    );
    assert_eq!(
        public.raw_encrypt(&[0xff; KAT_K], &mut out),
        Err(CryptoError)
    );
    assert_eq!(
        public.raw_encrypt(&KAT_PT1[1..], &mut out),
        Err(CryptoError)
    );
    assert_eq!(public.raw_encrypt(KAT_PT1, &mut out[1..]), Err(CryptoError));
    let mut n_minus_1 = kat_modulus().to_vec();
    n_minus_1[KAT_K - 1] -= 1;
    assert_eq!(public.raw_encrypt(&n_minus_1, &mut out), Ok(()));
}

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

/// `bits`-bit odd modulus `2^(bits-1) + 1`; not an RSA modulus, but the provider
/// only checks size, oddness and `e < n`.
fn synthetic_modulus(bits: usize) -> Vec<u8> {
    let mut n = vec![0u8; bits.div_ceil(8)];
    n[0] = 1 << ((bits - 1) % 8);
    *n.last_mut().unwrap() |= 1;
    n
}

#[test]
fn rsa_public_key_size_limits() {
    // 8192 bits works end to end: with e = 3, (2^100)^3 = 2^300 < n.
    let public = provider()
        .rsa_public_key(&synthetic_modulus(8192), &[3])
        .unwrap();
    assert_eq!(public.modulus_bits(), 8192);
    assert_eq!(public.modulus_len(), 1024);
    let mut msg = vec![0u8; 1024];
    msg[1024 - 1 - 100 / 8] = 1 << (100 % 8);
    let mut expected = vec![0u8; 1024];
    expected[1024 - 1 - 300 / 8] = 1 << (300 % 8);
    let mut out = vec![0u8; 1024];
    public.raw_encrypt(&msg, &mut out).unwrap();
    assert_eq!(out, expected);

    for bits in [8193, 1023] {
        assert!(
            provider()
                .rsa_public_key(&synthetic_modulus(bits), &[3])
                .is_err(),
            "{bits} bits"
        );
    }
}

#[test]
fn rsa_public_key_rejects_bad_parameters() {
    let n = kat_modulus();
    let p = provider();
    assert!(p.rsa_public_key(n, &[]).is_err());
    assert!(p.rsa_public_key(n, &[0]).is_err());
    assert!(p.rsa_public_key(n, &[1]).is_err());
    assert!(p.rsa_public_key(n, &[1, 0, 0]).is_err(), "even exponent");
    assert!(p.rsa_public_key(n, &[2, 0, 0, 0, 1]).is_err(), "e >= 2^33");
    assert!(p.rsa_public_key(n, &[1, 0, 0, 0, 1]).is_ok(), "e < 2^33");
    assert!(p.rsa_public_key(&[], &[1, 0, 1]).is_err());
    let mut even = n.to_vec();
    even[KAT_K - 1] &= 0xfe;
    assert!(p.rsa_public_key(&even, &[1, 0, 1]).is_err(), "even modulus");
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
    let e = kat_key(PrivateKeyDer::Pkcs1(KAT_PKCS1)).public_exponent();
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
