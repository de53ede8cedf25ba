//! Direct calls into the AEAD crate of the provider under test (and, with the
//! fast provider, the other candidates), bypassing rsatls.

use rsatls::crypto::{AeadAlgorithm, GCM_NONCE_LEN, GCM_TAG_LEN};

pub(crate) type Seal = Box<dyn Fn(&[u8; GCM_NONCE_LEN], &[u8], &mut [u8]) -> [u8; GCM_TAG_LEN]>;

/// aes-gcm (RustCrypto), in place with a detached tag.
#[cfg(not(feature = "fast"))]
pub(crate) fn sealer(alg: AeadAlgorithm, key: &[u8]) -> Seal {
    rustcrypto(alg, key)
}

/// aws-lc-rs, in place with a detached tag.
#[cfg(feature = "fast")]
pub(crate) fn sealer(alg: AeadAlgorithm, key: &[u8]) -> Seal {
    aws_lc(alg, key)
}

pub(crate) fn rustcrypto(alg: AeadAlgorithm, key: &[u8]) -> Seal {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    match alg {
        AeadAlgorithm::Aes128Gcm => {
            let k = aes_gcm::Aes128Gcm::new_from_slice(key).unwrap();
            Box::new(move |n, aad, buf| {
                k.encrypt_inout_detached(&(*n).into(), aad, buf.into())
                    .unwrap()
                    .into()
            })
        }
        AeadAlgorithm::Aes256Gcm => {
            let k = aes_gcm::Aes256Gcm::new_from_slice(key).unwrap();
            Box::new(move |n, aad, buf| {
                k.encrypt_inout_detached(&(*n).into(), aad, buf.into())
                    .unwrap()
                    .into()
            })
        }
    }
}

#[cfg(feature = "fast")]
pub(crate) fn aws_lc(alg: AeadAlgorithm, key: &[u8]) -> Seal {
    use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let a = match alg {
        AeadAlgorithm::Aes128Gcm => &AES_128_GCM,
        AeadAlgorithm::Aes256Gcm => &AES_256_GCM,
    };
    let k = LessSafeKey::new(UnboundKey::new(a, key).unwrap());
    Box::new(move |n, aad, buf| {
        let tag = k
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*n), Aad::from(aad), buf)
            .unwrap();
        tag.as_ref().try_into().unwrap()
    })
}

/// OpenSSL's EVP AES-GCM through the openssl crate, the way OpenSSL's own
/// TLS stack uses it: one context per key, a new IV per record.
#[cfg(feature = "fast")]
pub(crate) fn openssl(alg: AeadAlgorithm, key: &[u8]) -> Seal {
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;
    use std::sync::Mutex;
    let cipher = match alg {
        AeadAlgorithm::Aes128Gcm => Cipher::aes_128_gcm(),
        AeadAlgorithm::Aes256Gcm => Cipher::aes_256_gcm(),
    };
    let mut ctx = CipherCtx::new().unwrap();
    ctx.encrypt_init(Some(cipher), Some(key), None).unwrap();
    let ctx = Mutex::new(ctx);
    Box::new(move |n, aad, buf| {
        let mut ctx = ctx.lock().unwrap();
        ctx.encrypt_init(None, None, Some(n)).unwrap();
        ctx.cipher_update(aad, None).unwrap();
        let len = buf.len();
        ctx.cipher_update_inplace(buf, len).unwrap();
        ctx.cipher_final(&mut []).unwrap();
        let mut tag = [0u8; GCM_TAG_LEN];
        ctx.tag(&mut tag).unwrap();
        tag
    })
}
