//! PKCS#1 v1.5 over the provider's raw RSA (RFC 8017 §7.2, §8.2): encryption
//! of a premaster (well or badly padded), its decryption, and signing for
//! CertificateVerify. Test tooling: nothing here needs to be constant-time.

use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use rsatls::crypto::{CryptoProvider, RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

/// DigestInfo for SHA-256 up to the digest (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The public key of a DER certificate.
pub(crate) fn public_key(
    provider: &dyn CryptoProvider,
    cert_der: &[u8],
) -> Result<Box<dyn RsaPublicKey>, String> {
    let info = rsatls::pki::rsa_key_from_certificate(cert_der)
        .map_err(|e| format!("certificate key: {e}"))?;
    provider
        .rsa_public_key(&info.modulus, &info.exponent)
        .map_err(|e| format!("RSA public key: {e}"))
}

/// `0x00 ‖ block_type ‖ PS ‖ 0x00 ‖ message`, PS nonzero random bytes filling
/// the key's length (RFC 8017 §7.2.1 step 2 for block type 2).
fn pad(k: usize, block_type: u8, message: &[u8], rng: &mut ChaCha20Rng) -> Option<Vec<u8>> {
    let ps_len = k.checked_sub(message.len() + 3).filter(|&n| n >= 8)?;
    let mut em = Vec::with_capacity(k);
    em.push(0x00);
    em.push(block_type);
    while em.len() < 2 + ps_len {
        let b = rng.next_u32() as u8;
        if b != 0 {
            em.push(b);
        }
    }
    em.push(0x00);
    em.extend_from_slice(message);
    Some(em)
}

/// RSAES-PKCS1-v1_5 encryption of `message` (block type 2), or with
/// `bad_padding` the same block with type 1, which a decrypter must reject.
pub(crate) fn encrypt(
    key: &dyn RsaPublicKey,
    message: &[u8],
    bad_padding: bool,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<u8>, String> {
    let k = key.modulus_len();
    let block_type = if bad_padding { 0x01 } else { 0x02 };
    let em = pad(k, block_type, message, rng).ok_or("RSA key too small")?;
    let mut out = vec![0u8; k];
    key.raw_encrypt(&em, &mut out)
        .map_err(|e| format!("RSA encrypt: {e}"))?;
    Ok(out)
}

/// RSAES-PKCS1-v1_5 decryption of a 48-byte premaster; `None` for anything
/// else (wrong length, bad padding, a premaster of another length).
pub(crate) fn decrypt_premaster(
    key: &dyn RsaPrivateKey,
    ciphertext: &[u8],
    rng: &mut ChaCha20Rng,
) -> Option<Zeroizing<Vec<u8>>> {
    let k = key.modulus_len();
    if ciphertext.len() != k {
        return None;
    }
    let mut em = Zeroizing::new(vec![0u8; k]);
    key.raw_decrypt(ciphertext, &mut em, rng).ok()?;
    let body = em.strip_prefix(&[0x00, 0x02])?;
    let zero = body.iter().position(|&b| b == 0)?;
    if zero < 8 {
        return None;
    }
    let premaster = body.get(zero + 1..)?;
    (premaster.len() == 48).then(|| Zeroizing::new(premaster.to_vec()))
}

/// RSASSA-PKCS1-v1_5 signature of a SHA-256 `digest`: the private-key
/// operation on `0x00 0x01 FF.. 0x00 ‖ DigestInfo ‖ digest` (RFC 8017 §8.2.1).
pub(crate) fn sign_sha256(
    key: &dyn RsaPrivateKey,
    digest: &[u8],
    rng: &mut ChaCha20Rng,
) -> Result<Vec<u8>, String> {
    let k = key.modulus_len();
    let t_len = SHA256_DIGEST_INFO.len() + digest.len();
    let ps_len = k
        .checked_sub(t_len + 3)
        .filter(|&n| n >= 8)
        .ok_or("RSA key too small")?;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + ps_len, 0xff);
    em.push(0x00);
    em.extend_from_slice(&SHA256_DIGEST_INFO);
    em.extend_from_slice(digest);
    let mut sig = vec![0u8; k];
    key.raw_decrypt(&em, &mut sig, rng)
        .map_err(|e| format!("RSA sign: {e}"))?;
    Ok(sig)
}
