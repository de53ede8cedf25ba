//! RSA signatures for CertificateVerify (RFC 5246 §7.4.8): the encodings are
//! built here, in the engine, and the provider performs only the raw
//! private-key operation it already has for key exchange.
//!
//! Signing: hash the message with the scheme's hash, build EMSA-PSS (salt of
//! the hash's length, from the connection's RNG, so transcripts stay
//! byte-exact) or EMSA-PKCS1-v1_5 (RFC 8017 §9.1.1, §9.2), apply RSASP1
//! through [`RsaPrivateKey::raw_decrypt`] (the same function as RSADP), and
//! check the result with the public key before it leaves (a faulty CRT
//! computation must not reveal the key).
//!
//! Verifying: the provider's whole-signature check
//! ([`CryptoProvider::verify_rsa_signature`]); the inputs are public.

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::{CryptoProvider, HashAlgorithm, RsaPrivateKey};
use crate::error::Error;
use crate::msgs::enums::SignatureScheme;

/// The RSA schemes rsatls signs and verifies with in CertificateVerify, in
/// the client's order of preference: RSA-PSS-RSAE, then PKCS#1 v1.5, each with
/// SHA-256, SHA-384 and SHA-512. No SHA-1.
pub(crate) const SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

/// Signs `message` (not hashed yet) with `key` under `scheme`, one of
/// [`SCHEMES`]. Salt and blinding come from `rng`, the salt first (so a
/// known-answer test can fix it whatever the provider's blinding draws).
///
/// # Errors
/// [`Error::Internal`] if the scheme is not one of [`SCHEMES`], the key is too
/// small for the encoding, the provider fails, or the signature does not
/// verify under the key's public half.
pub(crate) fn sign(
    provider: &dyn CryptoProvider,
    key: &dyn RsaPrivateKey,
    scheme: SignatureScheme,
    message: &[u8],
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    let (hash, padding) = encoding(scheme).ok_or(Error::Internal(
        "signing with a scheme outside the supported RSA schemes",
    ))?;
    let k = key.modulus_len();
    let m_hash = provider.hash(hash, message);
    let em = match padding {
        Padding::Pkcs1 => emsa_pkcs1_v1_5(hash, m_hash.as_ref(), k)?,
        Padding::Pss => {
            let mut salt = Zeroizing::new(vec![0u8; hash.output_len()]);
            rng.fill_bytes(&mut salt);
            emsa_pss(
                provider,
                hash,
                m_hash.as_ref(),
                &salt,
                key.modulus_bits(),
                k,
            )?
        }
    };

    // RFC 8017 §8.1.1 step 2 / §8.2.1 step 2: s = RSASP1(K, OS2IP(EM)). The
    // provider's RSADP is the same function (m^d mod n), blinded.
    let mut signature = Zeroizing::new(vec![0u8; k]);
    key.raw_decrypt(&em, &mut signature, rng)
        .map_err(|_| Error::Internal("the RSA private-key operation failed"))?;

    // A fault in a CRT computation yields a value whose gcd with n reveals a
    // factor (Boneh, DeMillo, Lipton): check s^e == EM before the signature
    // leaves, and release nothing if it does not.
    let public = provider
        .rsa_public_key(&key.public_modulus(), &key.public_exponent())
        .map_err(|_| Error::Internal("the signing key's public half is unusable"))?;
    let mut check = Zeroizing::new(vec![0u8; k]);
    let recovered = public.raw_encrypt(&signature, &mut check).is_ok();
    if !(recovered && bool::from(check.ct_eq(&em))) {
        return Err(Error::Internal("the RSA signature failed its own check"));
    }
    Ok(core::mem::take(&mut *signature))
}

/// How a scheme encodes: which hash, which padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Padding {
    /// EMSA-PKCS1-v1_5 (RFC 8017 §9.2).
    Pkcs1,
    /// EMSA-PSS with MGF1 over the same hash and a salt of the hash's length
    /// (RFC 8017 §9.1; RFC 8446 §4.2.3 for the `rsa_pss_rsae_*` parameters).
    Pss,
}

/// The hash and padding of one of [`SCHEMES`].
fn encoding(scheme: SignatureScheme) -> Option<(HashAlgorithm, Padding)> {
    Some(match scheme {
        SignatureScheme::RSA_PSS_RSAE_SHA256 => (HashAlgorithm::Sha256, Padding::Pss),
        SignatureScheme::RSA_PSS_RSAE_SHA384 => (HashAlgorithm::Sha384, Padding::Pss),
        SignatureScheme::RSA_PSS_RSAE_SHA512 => (HashAlgorithm::Sha512, Padding::Pss),
        SignatureScheme::RSA_PKCS1_SHA256 => (HashAlgorithm::Sha256, Padding::Pkcs1),
        SignatureScheme::RSA_PKCS1_SHA384 => (HashAlgorithm::Sha384, Padding::Pkcs1),
        SignatureScheme::RSA_PKCS1_SHA512 => (HashAlgorithm::Sha512, Padding::Pkcs1),
        _ => return None,
    })
}

/// The DER encoding of `DigestInfo` up to the digest itself (RFC 8017 §9.2,
/// note 1): `SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING (hLen) }`.
fn digest_info_prefix(hash: HashAlgorithm) -> &'static [u8] {
    match hash {
        HashAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// EMSA-PKCS1-v1_5-ENCODE (RFC 8017 §9.2) of the digest `m_hash` into `k`
/// bytes: `00 01 FF..FF 00 DigestInfo`.
fn emsa_pkcs1_v1_5(
    hash: HashAlgorithm,
    m_hash: &[u8],
    k: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let prefix = digest_info_prefix(hash);
    let t_len = prefix.len() + m_hash.len();
    // RFC 8017 §9.2 step 3: "If emLen < tLen + 11, output 'intended encoded
    // message length too short'" (at least eight bytes of 0xff).
    if k < t_len + 11 {
        return Err(Error::Internal(
            "RSA key too small for a PKCS#1 v1.5 signature",
        ));
    }
    let mut em = Zeroizing::new(Vec::with_capacity(k));
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(k - t_len - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(m_hash);
    Ok(em)
}

/// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of the digest `m_hash` with `salt` for a
/// modulus of `mod_bits` bits, left-padded to `k` bytes for RSASP1.
fn emsa_pss(
    provider: &dyn CryptoProvider,
    hash: HashAlgorithm,
    m_hash: &[u8],
    salt: &[u8],
    mod_bits: usize,
    k: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let too_small = Error::Internal("RSA key too small for an RSA-PSS signature");
    let h_len = hash.output_len();
    // RFC 8017 §8.1.1 step 1: emBits = modBits - 1, emLen = ceil(emBits / 8).
    let Some(em_bits) = mod_bits.checked_sub(1) else {
        return Err(too_small);
    };
    let em_len = em_bits.div_ceil(8);
    // §9.1.1 step 3: "If emLen < hLen + sLen + 2, output 'encoding error'".
    if em_len < h_len + salt.len() + 2 || em_len > k {
        return Err(too_small);
    }
    // Steps 5-6: H = Hash(M'), M' = (0x)00 00 00 00 00 00 00 00 || mHash || salt.
    let mut m_prime = Zeroizing::new(vec![0u8; 8]);
    m_prime.extend_from_slice(m_hash);
    m_prime.extend_from_slice(salt);
    let h = provider.hash(hash, &m_prime);

    // Steps 7-10: DB = PS || 0x01 || salt, masked with MGF1(H, emLen - hLen - 1).
    let db_len = em_len - h_len - 1;
    let mut em = Zeroizing::new(Vec::with_capacity(k));
    em.resize(k - em_len, 0x00); // RSASP1 takes k bytes; emLen is k or k - 1.
    em.resize(k - em_len + db_len - salt.len() - 1, 0x00);
    em.push(0x01);
    em.extend_from_slice(salt);
    mgf1_xor(provider, hash, h.as_ref(), &mut em[k - em_len..]);
    // Step 11: clear the leftmost 8·emLen - emBits bits of maskedDB.
    if let Some(first) = em.get_mut(k - em_len) {
        *first &= 0xff >> (8 * em_len - em_bits);
    }
    // Step 12: EM = maskedDB || H || 0xbc.
    em.extend_from_slice(h.as_ref());
    em.push(0xbc);
    Ok(em)
}

/// XORs MGF1 (RFC 8017 §B.2.1) of `seed` with `hash` into `out`, whose length
/// is the mask length.
fn mgf1_xor(provider: &dyn CryptoProvider, hash: HashAlgorithm, seed: &[u8], out: &mut [u8]) {
    let mut input = Zeroizing::new(Vec::with_capacity(seed.len() + 4));
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(hash.output_len())) {
        input.clear();
        input.extend_from_slice(seed);
        input.extend_from_slice(&counter.to_be_bytes());
        let block = provider.hash(hash, &input);
        for (o, m) in chunk.iter_mut().zip(block.as_ref()) {
            *o ^= m;
        }
    }
}

/// Verifies `signature` over `message` under the RSA public key (`modulus`,
/// `exponent`, big-endian) with `scheme`.
///
/// # Errors
/// [`Error::DecryptError`] for a scheme outside [`SCHEMES`] or a signature
/// that does not verify (RFC 5246 §7.2.2: decrypt_error, "a signature could
/// not be correctly verified").
pub(crate) fn verify(
    provider: &dyn CryptoProvider,
    scheme: SignatureScheme,
    modulus: &[u8],
    exponent: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let scheme = provider_scheme(scheme).ok_or(Error::DecryptError)?;
    provider
        .verify_rsa_signature(scheme, modulus, exponent, message, signature)
        .map_err(|_| Error::DecryptError)
}

/// The provider's name for one of [`SCHEMES`].
fn provider_scheme(scheme: SignatureScheme) -> Option<crate::crypto::RsaSignatureScheme> {
    use crate::crypto::RsaSignatureScheme as R;
    Some(match scheme {
        SignatureScheme::RSA_PSS_RSAE_SHA256 => R::PssSha256,
        SignatureScheme::RSA_PSS_RSAE_SHA384 => R::PssSha384,
        SignatureScheme::RSA_PSS_RSAE_SHA512 => R::PssSha512,
        SignatureScheme::RSA_PKCS1_SHA256 => R::Pkcs1Sha256,
        SignatureScheme::RSA_PKCS1_SHA384 => R::Pkcs1Sha384,
        SignatureScheme::RSA_PKCS1_SHA512 => R::Pkcs1Sha512,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
