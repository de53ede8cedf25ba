//! RSA key transport: the client's PKCS#1 v1.5 encryption of the premaster and the
//! server's constant-time decryption (RFC 5246 §7.4.7.1).
//!
//! The server side follows the countermeasure of RFC 5246 §7.4.7.1 as refined by
//! draft-irtf-cfrg-rsa-guidance: the fallback premaster is drawn *before*
//! decryption, the provider performs only the raw blinded RSA operation, and the
//! padding, length and version checks are folded into one `Choice` without
//! branching on secret data. The result is always 48 bytes, and the caller cannot
//! tell which of the two it got. A bad premaster therefore shows up only as the
//! client's Finished record failing to authenticate.

use rand_core::CryptoRng;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::crypto::{RsaPrivateKey, RsaPublicKey};
use crate::error::Error;
use crate::key_schedule::SECRET_LEN;

/// The smallest RSA modulus rsatls uses, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus a client accepts, in bits.
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// Server side: recovers the premaster from `ciphertext`, or returns `fallback`.
///
/// `client_version` is ClientHello.client_version as the client sent it (§7.4.7.1:
/// the version in the premaster is the one offered, not the one negotiated).
/// Neither the return value's provenance nor the time taken depends on whether the
/// ciphertext was valid, beyond what its public length and value reveal.
pub(crate) fn decrypt_premaster(
    key: &dyn RsaPrivateKey,
    ciphertext: &[u8],
    client_version: [u8; 2],
    fallback: &[u8; SECRET_LEN],
    rng: &mut dyn CryptoRng,
) -> Zeroizing<[u8; SECRET_LEN]> {
    let (input, length_ok) = private_key_input(key.modulus_len(), ciphertext);
    let mut em = Zeroizing::new(vec![0u8; key.modulus_len()]);
    // Errors depend only on public data (a representative >= n) or on a fault
    // detected by the provider's CRT check; either way `em` is not used.
    let decrypted = key.raw_decrypt(&input, &mut em, rng).is_ok();
    unpad_premaster(&em, length_ok & decrypted, client_version, fallback)
}

/// The `k`-byte input of the private-key operation for `ciphertext`, and
/// whether the ciphertext had the modulus' length `k`.
///
/// A ciphertext of the wrong length is public knowledge, but it still takes the
/// same path: a stand-in of the right length is decrypted and its result
/// discarded by the `good` mask of [`unpad_premaster`], so every class of input
/// costs one private-key operation. Even the copy is the same: `k` bytes of the
/// ciphertext, or of an all-zero buffer, so that
/// formal/sidechannel/callgrind.sh counts the same instructions for every class.
pub(crate) fn private_key_input(k: usize, ciphertext: &[u8]) -> (Zeroizing<Vec<u8>>, bool) {
    let length_ok = ciphertext.len() == k;
    let zeros = Zeroizing::new(vec![0u8; k]);
    let mut input = Zeroizing::new(vec![0u8; k]);
    input.copy_from_slice(match length_ok {
        true => ciphertext,
        false => &zeros,
    });
    // The stand-in is 2, a valid representative (2 < n for every modulus); for a
    // ciphertext of the right length this ORs in 0.
    input[k - 1] |= u8::from(!length_ok) << 1;
    (input, length_ok)
}

/// The premaster in `em`, the private-key operation's `k`-byte output, or
/// `fallback`: `em` is used only if `ok` (the ciphertext had the right length
/// and the operation succeeded) and it is a well-formed PKCS#1 v1.5 block whose
/// premaster starts with `client_version`. No branch or memory access depends
/// on `em`.
pub(crate) fn unpad_premaster(
    em: &[u8],
    ok: bool,
    client_version: [u8; 2],
    fallback: &[u8; SECRET_LEN],
) -> Zeroizing<[u8; SECRET_LEN]> {
    let k = em.len();
    let mut good = subtle::Choice::from(u8::from(ok));
    // EM = 0x00 ‖ 0x02 ‖ PS (k-51 non-zero bytes) ‖ 0x00 ‖ client_version ‖ random[46]
    let sep = k - SECRET_LEN - 1;
    good &= em[0].ct_eq(&0x00);
    good &= em[1].ct_eq(&0x02);
    for b in &em[2..sep] {
        good &= !b.ct_eq(&0x00);
    }
    good &= em[sep].ct_eq(&0x00);
    // §7.4.7.1: the version check uses the same constant-time path as the padding.
    good &= em[sep + 1].ct_eq(&client_version[0]);
    good &= em[sep + 2].ct_eq(&client_version[1]);

    let mut premaster = Zeroizing::new([0u8; SECRET_LEN]);
    for ((out, &m), &f) in premaster.iter_mut().zip(&em[sep + 1..]).zip(fallback) {
        *out = u8::conditional_select(&f, &m, good);
    }
    premaster
}

/// Client side: encrypts `premaster` to `key` with PKCS#1 v1.5 type-2 padding whose
/// non-zero padding bytes come from `rng`.
pub(crate) fn encrypt_premaster(
    key: &dyn RsaPublicKey,
    premaster: &[u8; SECRET_LEN],
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    let k = key.modulus_len();
    let sep = k - SECRET_LEN - 1;
    let mut em = Zeroizing::new(vec![0u8; k]);
    em[1] = 0x02;
    for b in &mut em[2..sep] {
        // RFC 8017 §7.2.1: PS consists of pseudo-randomly generated non-zero octets.
        let mut byte = [0u8; 1];
        while byte[0] == 0 {
            rng.fill_bytes(&mut byte);
        }
        *b = byte[0];
    }
    em[sep + 1..].copy_from_slice(premaster);
    let mut out = vec![0u8; k];
    key.raw_encrypt(&em, &mut out)
        .map_err(|_| Error::Internal("RSA encryption failed"))?;
    Ok(out)
}
