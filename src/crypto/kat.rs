//! Known-answer tests shared by every crypto provider.
//!
//! Hash, HMAC and AES-GCM vectors are the published ones (FIPS 180-2 appendix,
//! RFC 4231, McGrew & Viega's GCM specification). The RSA vectors are fixtures in
//! `tests/data/kat/`, made by `tests/data/kat/make.sh`: a 2052-bit key and two
//! ciphertexts computed by OpenSSL with no padding. Each check takes the provider
//! under test; `known_answer_tests!` turns the whole list into `#[test]`s for
//! one provider (`tests.rs` for RustCrypto, `tests_fast.rs` for the fast one).

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;

pub(crate) const KAT_PKCS1: &[u8] = include_bytes!("../../tests/data/kat/rsa2052.pkcs1.der");
pub(crate) const KAT_PKCS8: &[u8] = include_bytes!("../../tests/data/kat/rsa2052.pkcs8.der");
pub(crate) const KAT_PT1: &[u8] = include_bytes!("../../tests/data/kat/pt1.bin");
pub(crate) const KAT_CT1: &[u8] = include_bytes!("../../tests/data/kat/ct1.bin");
pub(crate) const KAT_PT2: &[u8] = include_bytes!("../../tests/data/kat/pt2.bin");
pub(crate) const KAT_CT2: &[u8] = include_bytes!("../../tests/data/kat/ct2.bin");
const EC_PKCS8: &[u8] = include_bytes!("../../tests/data/ec256.key.der");

/// Bit and byte length of the fixture key's modulus.
pub(crate) const KAT_BITS: usize = 2052;
pub(crate) const KAT_K: usize = 257;

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(s.len() % 2, 0, "odd-length hex");
    s.chunks(2)
        .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// A deterministic RNG for blinding; test double, not an entropy source.
pub(crate) fn test_rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

// ---- hashing -------------------------------------------------------------------

pub(crate) fn sha256_abc(p: &dyn CryptoProvider) {
    let out = p.hash(HashAlgorithm::Sha256, b"abc");
    assert_eq!(
        out.as_ref(),
        hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
}

pub(crate) fn sha384_abc(p: &dyn CryptoProvider) {
    let out = p.hash(HashAlgorithm::Sha384, b"abc");
    assert_eq!(
        out.as_ref(),
        hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163
             1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
    );
}

pub(crate) fn sha512_abc(p: &dyn CryptoProvider) {
    let out = p.hash(HashAlgorithm::Sha512, b"abc");
    assert_eq!(out.as_ref().len(), HashAlgorithm::Sha512.output_len());
    assert_eq!(
        out.as_ref(),
        hex(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    );
}

/// RFC 4231 §4.3, test case 2.
pub(crate) fn hmac_rfc4231_case2(p: &dyn CryptoProvider) {
    let msg: &[u8] = b"what do ya want for nothing?";
    let sha256 = p.hmac(HashAlgorithm::Sha256, b"Jefe", &[msg]);
    assert_eq!(
        sha256.as_ref(),
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    let sha384 = p.hmac(HashAlgorithm::Sha384, b"Jefe", &[msg]);
    assert_eq!(
        sha384.as_ref(),
        hex("af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47
             e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649")
    );
    let sha512 = p.hmac(HashAlgorithm::Sha512, b"Jefe", &[msg]);
    assert_eq!(
        sha512.as_ref(),
        hex(
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )
    );
}

/// RFC 4231 §4.7, test case 6: a key longer than the block size is hashed first.
pub(crate) fn hmac_rfc4231_case6_long_key(p: &dyn CryptoProvider) {
    let key = [0xaa; 131];
    let msg: &[u8] = b"Test Using Larger Than Block-Size Key - Hash Key First";
    let sha256 = p.hmac(HashAlgorithm::Sha256, &key, &[msg]);
    assert_eq!(
        sha256.as_ref(),
        hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    );
    let sha384 = p.hmac(HashAlgorithm::Sha384, &key, &[msg]);
    assert_eq!(
        sha384.as_ref(),
        hex("4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f
             3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952")
    );
    let sha512 = p.hmac(HashAlgorithm::Sha512, &key, &[msg]);
    assert_eq!(
        sha512.as_ref(),
        hex(
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352
             6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        )
    );
}

pub(crate) fn hmac_parts_are_concatenated(p: &dyn CryptoProvider) {
    for alg in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        let whole = p.hmac(alg, b"Jefe", &[b"what do ya want for nothing?"]);
        let split = p.hmac(
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

pub(crate) fn gcm_seal_known_answer(p: &dyn CryptoProvider) {
    for v in &GCM_VECTORS {
        let key = p.aead_key(v.alg, &hex(v.key)).unwrap();
        let mut buf = hex(GCM_PLAINTEXT);
        let tag = key
            .seal_in_place(&gcm_nonce(), &hex(GCM_AAD), &mut buf)
            .unwrap();
        assert_eq!(buf, hex(v.ciphertext), "{:?} ciphertext", v.alg);
        assert_eq!(tag.as_slice(), hex(v.tag), "{:?} tag", v.alg);
    }
}

pub(crate) fn gcm_open_known_answer(p: &dyn CryptoProvider) {
    for v in &GCM_VECTORS {
        let key = p.aead_key(v.alg, &hex(v.key)).unwrap();
        let mut buf = hex(v.ciphertext);
        let tag: [u8; GCM_TAG_LEN] = hex(v.tag).try_into().unwrap();
        key.open_in_place(&gcm_nonce(), &hex(GCM_AAD), &mut buf, &tag)
            .unwrap();
        assert_eq!(buf, hex(GCM_PLAINTEXT), "{:?}", v.alg);
    }
}

/// One tampered input to `open_in_place`.
struct Tampered {
    what: &'static str,
    nonce: [u8; GCM_NONCE_LEN],
    ciphertext: Vec<u8>,
    aad: Vec<u8>,
    tag: [u8; GCM_TAG_LEN],
}

/// Every single-bit change to tag, ciphertext, AAD or nonce fails to open, and the
/// buffer then holds no plaintext (aes-gcm leaves it unchanged; the provider zeroes it).
pub(crate) fn gcm_open_rejects_tampering_without_releasing_plaintext(p: &dyn CryptoProvider) {
    let plaintext = hex(GCM_PLAINTEXT);
    for v in &GCM_VECTORS {
        let key = p.aead_key(v.alg, &hex(v.key)).unwrap();
        let ciphertext = hex(v.ciphertext);
        let aad = hex(GCM_AAD);
        let tag: [u8; GCM_TAG_LEN] = hex(v.tag).try_into().unwrap();

        let case = |what, nonce, ciphertext: &[u8], aad: &[u8], tag| Tampered {
            what,
            nonce,
            ciphertext: ciphertext.to_vec(),
            aad: aad.to_vec(),
            tag,
        };
        let mut cases = Vec::new();
        for bit in [0, 7, 64, 127] {
            let mut t = tag;
            t[bit / 8] ^= 1 << (bit % 8);
            cases.push(case("tag", gcm_nonce(), &ciphertext, &aad, t));
        }
        for bit in [0, 100, 8 * ciphertext.len() - 1] {
            let mut c = ciphertext.clone();
            c[bit / 8] ^= 1 << (bit % 8);
            cases.push(case("ciphertext", gcm_nonce(), &c, &aad, tag));
        }
        for bit in [0, 8 * aad.len() - 1] {
            let mut a = aad.clone();
            a[bit / 8] ^= 1 << (bit % 8);
            cases.push(case("aad", gcm_nonce(), &ciphertext, &a, tag));
        }
        let mut n = gcm_nonce();
        n[11] ^= 1;
        cases.push(case("nonce", n, &ciphertext, &aad, tag));
        // A record cut short.
        cases.push(case(
            "length",
            gcm_nonce(),
            &ciphertext[..ciphertext.len() - 1],
            &aad,
            tag,
        ));

        for Tampered {
            what,
            nonce,
            ciphertext: mut buf,
            aad,
            tag,
        } in cases
        {
            let r = key.open_in_place(&nonce, &aad, &mut buf, &tag);
            assert_eq!(r, Err(CryptoError), "{:?}: tampered {what} opened", v.alg);
            assert!(
                buf.iter().all(|&b| b == 0),
                "{:?}: buffer not zeroed after bad {what}",
                v.alg
            );
            assert_ne!(
                buf,
                plaintext[..buf.len()],
                "{:?}: plaintext released",
                v.alg
            );
        }
    }
}

pub(crate) fn gcm_round_trip_including_empty_payload(p: &dyn CryptoProvider) {
    for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm] {
        let key = p.aead_key(alg, &vec![0x42; alg.key_len()]).unwrap();
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

pub(crate) fn gcm_wrong_key_length_is_an_error(p: &dyn CryptoProvider) {
    for (alg, len) in [
        (AeadAlgorithm::Aes128Gcm, 0),
        (AeadAlgorithm::Aes128Gcm, 15),
        (AeadAlgorithm::Aes128Gcm, 32),
        (AeadAlgorithm::Aes256Gcm, 16),
        (AeadAlgorithm::Aes256Gcm, 33),
    ] {
        assert!(
            p.aead_key(alg, &vec![0; len]).is_err(),
            "{alg:?} with {len}-byte key"
        );
    }
}

// ---- RSA -----------------------------------------------------------------------

pub(crate) fn kat_key(p: &dyn CryptoProvider, der: PrivateKeyDer<'_>) -> Box<dyn RsaPrivateKey> {
    p.rsa_private_key(der).expect("fixture key loads")
}

/// The modulus as stored in the PKCS#1 fixture: `SEQUENCE { INTEGER 0, INTEGER n, ... }`
/// with `n` encoded as `02 82 01 01` and 257 bytes (no sign byte: the top bit is clear).
pub(crate) fn kat_modulus() -> &'static [u8] {
    assert_eq!(KAT_PKCS1[7..11], [0x02, 0x82, 0x01, 0x01], "fixture layout");
    &KAT_PKCS1[11..11 + KAT_K]
}

pub(crate) fn rsa_pkcs1_and_pkcs8_load_the_same_key(p: &dyn CryptoProvider) {
    let a = kat_key(p, PrivateKeyDer::Pkcs1(KAT_PKCS1));
    let b = kat_key(p, PrivateKeyDer::Pkcs8(KAT_PKCS8));
    for key in [&a, &b] {
        assert_eq!(key.modulus_bits(), KAT_BITS);
        assert_eq!(key.modulus_len(), KAT_K);
        assert_eq!(key.public_modulus(), kat_modulus());
        assert_eq!(key.public_exponent(), [1, 0, 1]);
    }
}

pub(crate) fn rsa_wrong_container_garbage_or_other_algorithm_fails_to_load(p: &dyn CryptoProvider) {
    // Each format is parsed only as what it claims to be.
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
pub(crate) fn rsa_raw_decrypt_known_answer(p: &dyn CryptoProvider) {
    let mut rng = test_rng(1);
    for der in [
        PrivateKeyDer::Pkcs1(KAT_PKCS1),
        PrivateKeyDer::Pkcs8(KAT_PKCS8),
    ] {
        let key = kat_key(p, der);
        for (ct, pt) in [(KAT_CT1, KAT_PT1), (KAT_CT2, KAT_PT2)] {
            let mut out = [0xffu8; KAT_K];
            key.raw_decrypt(ct, &mut out, &mut rng).unwrap();
            assert_eq!(out.as_slice(), pt);
        }
    }
}

/// Blinding randomness changes nothing in the result.
pub(crate) fn rsa_raw_decrypt_is_independent_of_the_rng(p: &dyn CryptoProvider) {
    let key = kat_key(p, PrivateKeyDer::Pkcs8(KAT_PKCS8));
    for seed in [2, 3, 4] {
        let mut out = [0u8; KAT_K];
        key.raw_decrypt(KAT_CT2, &mut out, &mut test_rng(seed))
            .unwrap();
        assert_eq!(out.as_slice(), KAT_PT2);
    }
}

pub(crate) fn rsa_raw_encrypt_known_answer(p: &dyn CryptoProvider) {
    let public = p.rsa_public_key(kat_modulus(), &[1, 0, 1]).unwrap();
    assert_eq!(public.modulus_bits(), KAT_BITS);
    assert_eq!(public.modulus_len(), KAT_K);
    for (pt, ct) in [(KAT_PT1, KAT_CT1), (KAT_PT2, KAT_CT2)] {
        let mut out = [0u8; KAT_K];
        public.raw_encrypt(pt, &mut out).unwrap();
        assert_eq!(out.as_slice(), ct);
    }
}

pub(crate) fn rsa_round_trip_through_public_key_from_private(p: &dyn CryptoProvider) {
    let private = kat_key(p, PrivateKeyDer::Pkcs1(KAT_PKCS1));
    let public = p
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

pub(crate) fn rsa_raw_decrypt_rejects_out_of_range_or_misshaped_input(p: &dyn CryptoProvider) {
    let key = kat_key(p, PrivateKeyDer::Pkcs8(KAT_PKCS8));
    let mut rng = test_rng(6);
    let mut out = [0u8; KAT_K];

    // c == n and c == 2^(8k) - 1 are both >= n.
    assert_eq!(
        key.raw_decrypt(kat_modulus(), &mut out, &mut rng),
        Err(CryptoError)
    );
    assert_eq!(
        key.raw_decrypt(&[0xff; KAT_K], &mut out, &mut rng),
        Err(CryptoError)
    );
    // Wrong lengths, including a valid ciphertext with a leading zero byte.
    let mut padded = vec![0u8];
    padded.extend_from_slice(KAT_CT1);
    assert_eq!(
        key.raw_decrypt(&padded, &mut out, &mut rng),
        Err(CryptoError)
    );
    assert_eq!(
        key.raw_decrypt(&KAT_CT1[1..], &mut out, &mut rng),
        Err(CryptoError)
    );
    assert_eq!(key.raw_decrypt(&[], &mut out, &mut rng), Err(CryptoError));
    assert_eq!(
        key.raw_decrypt(KAT_CT1, &mut out[1..], &mut rng),
        Err(CryptoError)
    );
    assert_eq!(
        key.raw_decrypt(KAT_CT1, &mut [0u8; KAT_K + 1], &mut rng),
        Err(CryptoError)
    );
    // n - 1 is in range.
    let mut n_minus_1 = kat_modulus().to_vec();
    n_minus_1[KAT_K - 1] -= 1; // n is odd, so no borrow
    assert_eq!(key.raw_decrypt(&n_minus_1, &mut out, &mut rng), Ok(()));
}

pub(crate) fn rsa_raw_encrypt_rejects_out_of_range_or_misshaped_input(p: &dyn CryptoProvider) {
    let public = p.rsa_public_key(kat_modulus(), &[1, 0, 1]).unwrap();
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

pub(crate) fn rsa_public_key_ignores_leading_zeros(p: &dyn CryptoProvider) {
    let mut modulus = vec![0, 0];
    modulus.extend_from_slice(kat_modulus());
    let public = p.rsa_public_key(&modulus, &[0, 1, 0, 1]).unwrap();
    assert_eq!(public.modulus_bits(), KAT_BITS);
    assert_eq!(public.modulus_len(), KAT_K);
    let mut out = [0u8; KAT_K];
    public.raw_encrypt(KAT_PT1, &mut out).unwrap();
    assert_eq!(out.as_slice(), KAT_CT1);
}

/// `bits`-bit odd modulus `2^(bits-1) + 1`; not an RSA modulus, but the provider
/// only checks size, oddness and `e < n`.
fn synthetic_modulus(bits: usize) -> Vec<u8> {
    let mut n = vec![0u8; bits.div_ceil(8)];
    n[0] = 1 << ((bits - 1) % 8);
    *n.last_mut().unwrap() |= 1;
    n
}

pub(crate) fn rsa_public_key_size_limits(p: &dyn CryptoProvider) {
    // 8192 bits is the engine's maximum and must work end to end: with e = 3,
    // (2^100)^3 = 2^300 < n, a known answer.
    let n = synthetic_modulus(8192);
    let public = p.rsa_public_key(&n, &[3]).unwrap();
    assert_eq!(public.modulus_bits(), 8192);
    assert_eq!(public.modulus_len(), 1024);
    let mut msg = vec![0u8; 1024];
    msg[1024 - 1 - 100 / 8] = 1 << (100 % 8);
    let mut expected = vec![0u8; 1024];
    expected[1024 - 1 - 300 / 8] = 1 << (300 % 8);
    let mut out = vec![0u8; 1024];
    public.raw_encrypt(&msg, &mut out).unwrap();
    assert_eq!(out, expected);

    assert!(p.rsa_public_key(&synthetic_modulus(8193), &[3]).is_err());
    assert!(p.rsa_public_key(&synthetic_modulus(1023), &[3]).is_err());
}

pub(crate) fn rsa_public_key_rejects_bad_parameters(p: &dyn CryptoProvider) {
    let n = kat_modulus();
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

// ---- RSA signature verification ------------------------------------------------

/// The DER DigestInfo prefixes of RFC 8017 §9.2, note 1.
const DIGEST_INFO_SHA256: &str = "3031300d060960864801650304020105000420";
const DIGEST_INFO_SHA384: &str = "3041300d060960864801650304020205000430";
const DIGEST_INFO_SHA512: &str = "3051300d060960864801650304020305000440";

/// RSASSA-PKCS1-v1_5 signing written out from RFC 8017 §8.2.1 and §9.2 (EM =
/// 00 01 FF..FF 00 DigestInfo), with the provider's raw private-key operation
/// as RSASP1: independent of the `rsa` crate's padding code.
fn pkcs1_sign(key: &dyn RsaPrivateKey, digest_info: &str, digest: &[u8]) -> Vec<u8> {
    let t = [hex(digest_info), digest.to_vec()].concat();
    let k = key.modulus_len();
    let mut em = vec![0xff; k];
    em[0] = 0;
    em[1] = 1;
    em[k - t.len() - 1] = 0;
    em[k - t.len()..].copy_from_slice(&t);
    let mut signature = vec![0; k];
    key.raw_decrypt(&em, &mut signature, &mut test_rng(3))
        .unwrap();
    signature
}

fn kat_exponent(p: &dyn CryptoProvider) -> Vec<u8> {
    kat_key(p, PrivateKeyDer::Pkcs1(KAT_PKCS1)).public_exponent()
}

pub(crate) fn rsa_pkcs1_signatures_verify_and_anything_else_does_not(p: &dyn CryptoProvider) {
    use sha2::Digest;
    let key = kat_key(p, PrivateKeyDer::Pkcs1(KAT_PKCS1));
    let (n, e) = (kat_modulus(), kat_exponent(p));
    let message = b"tbsCertificate bytes";
    let cases = [
        (
            RsaSignatureScheme::Pkcs1Sha256,
            DIGEST_INFO_SHA256,
            sha2::Sha256::digest(message).to_vec(),
        ),
        (
            RsaSignatureScheme::Pkcs1Sha384,
            DIGEST_INFO_SHA384,
            sha2::Sha384::digest(message).to_vec(),
        ),
        (
            RsaSignatureScheme::Pkcs1Sha512,
            DIGEST_INFO_SHA512,
            sha2::Sha512::digest(message).to_vec(),
        ),
    ];
    for (scheme, prefix, digest) in cases {
        let signature = pkcs1_sign(key.as_ref(), prefix, &digest);
        let verify =
            |scheme, msg: &[u8], sig: &[u8]| p.verify_rsa_signature(scheme, n, &e, msg, sig);
        assert_eq!(verify(scheme, message, &signature), Ok(()), "{scheme:?}");
        assert_eq!(
            verify(scheme, b"another message", &signature),
            Err(CryptoError)
        );
        let mut flipped = signature.clone();
        flipped[KAT_K / 2] ^= 1;
        assert_eq!(verify(scheme, message, &flipped), Err(CryptoError));
        assert_eq!(verify(scheme, message, &signature[1..]), Err(CryptoError));
        for other in [
            RsaSignatureScheme::Pkcs1Sha256,
            RsaSignatureScheme::Pkcs1Sha384,
            RsaSignatureScheme::Pkcs1Sha512,
            RsaSignatureScheme::PssSha256,
        ] {
            if other != scheme {
                assert_eq!(verify(other, message, &signature), Err(CryptoError));
            }
        }
    }
    // A key the provider cannot build verifies nothing.
    assert_eq!(
        p.verify_rsa_signature(RsaSignatureScheme::Pkcs1Sha256, &[], &e, message, &[]),
        Err(CryptoError)
    );
}

pub(crate) fn rsa_pss_signatures_verify_with_the_hash_length_salt_only(p: &dyn CryptoProvider) {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    let private = rsa::PrivateKey::from_pkcs1_der(KAT_PKCS1).unwrap();
    let (n, e) = (kat_modulus(), kat_exponent(p));
    let message = b"tbsCertificate bytes";
    let mut rng = test_rng(4);
    let sig256 = rsa::pss::SigningKey::<sha2::Sha256>::new(private.clone())
        .sign_with_rng(&mut rng, message)
        .to_vec();
    let sig384 = rsa::pss::SigningKey::<sha2::Sha384>::new(private.clone())
        .sign_with_rng(&mut rng, message)
        .to_vec();
    let sig512 = rsa::pss::SigningKey::<sha2::Sha512>::new(private.clone())
        .sign_with_rng(&mut rng, message)
        .to_vec();
    let short_salt = rsa::pss::SigningKey::<sha2::Sha256>::new_with_salt_len(private, 20)
        .sign_with_rng(&mut rng, message)
        .to_vec();
    let verify = |scheme, sig: &[u8]| p.verify_rsa_signature(scheme, n, &e, message, sig);
    assert_eq!(verify(RsaSignatureScheme::PssSha256, &sig256), Ok(()));
    assert_eq!(verify(RsaSignatureScheme::PssSha384, &sig384), Ok(()));
    assert_eq!(verify(RsaSignatureScheme::PssSha512, &sig512), Ok(()));
    assert_eq!(
        verify(RsaSignatureScheme::PssSha384, &sig256),
        Err(CryptoError)
    );
    assert_eq!(
        verify(RsaSignatureScheme::Pkcs1Sha256, &sig256),
        Err(CryptoError)
    );
    // RFC 4055 parameters as webpki accepts them: the salt is the hash's length.
    assert_eq!(
        verify(RsaSignatureScheme::PssSha256, &short_salt),
        Err(CryptoError)
    );
}

/// Instantiates every check above as a `#[test]` for the provider `$p`.
macro_rules! known_answer_tests {
    ($p:expr) => {
        $crate::crypto::kat::known_answer_tests!(@each $p;
            sha256_abc,
            sha384_abc,
            sha512_abc,
            hmac_rfc4231_case2,
            hmac_rfc4231_case6_long_key,
            hmac_parts_are_concatenated,
            gcm_seal_known_answer,
            gcm_open_known_answer,
            gcm_open_rejects_tampering_without_releasing_plaintext,
            gcm_round_trip_including_empty_payload,
            gcm_wrong_key_length_is_an_error,
            rsa_pkcs1_and_pkcs8_load_the_same_key,
            rsa_wrong_container_garbage_or_other_algorithm_fails_to_load,
            rsa_raw_decrypt_known_answer,
            rsa_raw_decrypt_is_independent_of_the_rng,
            rsa_raw_encrypt_known_answer,
            rsa_round_trip_through_public_key_from_private,
            rsa_raw_decrypt_rejects_out_of_range_or_misshaped_input,
            rsa_raw_encrypt_rejects_out_of_range_or_misshaped_input,
            rsa_public_key_ignores_leading_zeros,
            rsa_public_key_size_limits,
            rsa_public_key_rejects_bad_parameters,
            rsa_pkcs1_signatures_verify_and_anything_else_does_not,
            rsa_pss_signatures_verify_with_the_hash_length_salt_only,
        );
    };
    (@each $p:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::crypto::kat::$name($p)
            }
        )*
    };
}
pub(crate) use known_answer_tests;
