//! The decoder targets: every decoder is total (it never panics and fails only
//! with a decode error or a duplicate extension), and whatever it decodes
//! re-encodes to exactly the bytes it came from.

use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::fixtures::{CERT_PEM, Crypto, Variant, server_config};
use crate::crypto::{RsaPrivateKey, rustcrypto};
use crate::error::{Error, Misbehavior};
use crate::key_schedule::SECRET_LEN;
use crate::msgs::alert::Alert;
use crate::msgs::enums::{ContentType, HandshakeType};
use crate::msgs::extensions::Extension;
use crate::msgs::handshake::{HANDSHAKE_HEADER_LEN, HandshakeMessage};
use crate::msgs::record::{HEADER_LEN, RecordHeader};
use crate::{ServerConfig, pki, rsa_kx, sig};

/// Record deframing and handshake reassembly over a byte stream: record
/// headers re-encode to their bytes, the records found re-frame to a prefix of
/// the input, and every alert and whole handshake message in them round-trips.
pub fn deframe(data: &[u8]) {
    let mut rest = data;
    let mut reframed = Vec::with_capacity(data.len());
    let mut handshake = Vec::new();
    while let Some(header_bytes) = rest.first_chunk::<HEADER_LEN>() {
        let header = RecordHeader::decode(header_bytes).expect("any five bytes are a header");
        assert_eq!(
            &header.encode(),
            header_bytes,
            "record header re-encodes differently"
        );
        let end = HEADER_LEN + usize::from(header.len);
        let Some(fragment) = rest.get(HEADER_LEN..end) else {
            break;
        };
        reframed.extend_from_slice(header_bytes);
        reframed.extend_from_slice(fragment);
        match header.typ {
            ContentType::HANDSHAKE => handshake.extend_from_slice(fragment),
            ContentType::ALERT => alert(fragment),
            _ => {}
        }
        rest = &rest[end..];
    }
    assert!(data.starts_with(&reframed), "records re-frame differently");

    let mut messages = &handshake[..];
    while let Some(&[_, a, b, c]) = messages.first_chunk::<HANDSHAKE_HEADER_LEN>() {
        let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
        let Some(raw) = messages.get(..HANDSHAKE_HEADER_LEN + len) else {
            break;
        };
        check_message(raw);
        messages = &messages[raw.len()..];
    }
}

/// A ClientHello body, extensions included.
pub fn client_hello(body: &[u8]) {
    if let Some(HandshakeMessage::ClientHello(ch)) = message(HandshakeType::CLIENT_HELLO, body) {
        check_extension_lookup(&ch.extensions, |t| ch.extension(t));
    }
}

/// A ServerHello body, extensions included.
pub fn server_hello(body: &[u8]) {
    if let Some(HandshakeMessage::ServerHello(sh)) = message(HandshakeType::SERVER_HELLO, body) {
        check_extension_lookup(&sh.extensions, |t| sh.extension(t));
    }
}

/// A Certificate body; each certificate of a decoded chain also goes through
/// the client's key extraction, which must not panic either.
pub fn certificate(body: &[u8]) {
    let Some(HandshakeMessage::Certificate(chain)) = message(HandshakeType::CERTIFICATE, body)
    else {
        return;
    };
    for cert in &chain {
        assert!(!cert.is_empty(), "ASN.1Cert<1..2^24-1> decoded empty");
        if let Ok(info) = pki::rsa_key_from_certificate(cert) {
            for part in [&info.modulus, &info.exponent] {
                assert!(
                    part.first().is_some_and(|&b| b != 0),
                    "RSA key part empty or with a leading zero"
                );
            }
        }
        pki::certificate_subject(cert);
    }
}

/// A CertificateRequest body: what decodes has every vector within its RFC
/// 5246 §7.4.4 bounds (and re-encodes to the input, as every message must).
pub fn certificate_request(body: &[u8]) {
    let Some(HandshakeMessage::CertificateRequest(cr)) =
        message(HandshakeType::CERTIFICATE_REQUEST, body)
    else {
        return;
    };
    assert!(
        (1..=0xff).contains(&cr.certificate_types.len()),
        "certificate_types<1..2^8-1>"
    );
    assert!(
        (1..=0x7fff).contains(&cr.signature_schemes.len()),
        "supported_signature_algorithms<2..2^16-2>"
    );
    for dn in &cr.certificate_authorities {
        assert!(
            (1..=0xffff).contains(&dn.len()),
            "DistinguishedName<1..2^16-1>"
        );
    }
}

/// A CertificateVerify body (RFC 5246 §7.4.8): what decodes is the two-byte
/// algorithm pair and exactly the signature behind its length (and re-encodes
/// to the input). The decoded signature then goes through the server's check,
/// `sig::verify`, under the committed rsa2048 key over a fixed message, with
/// whatever scheme it names: it must fail with decrypt_error and never panic,
/// whatever the signature's length or the scheme (no signature over this
/// message under this key exists outside the fuzzer's reach of a forgery).
pub fn certificate_verify(body: &[u8]) {
    let Some(HandshakeMessage::CertificateVerify(signed)) =
        message(HandshakeType::CERTIFICATE_VERIFY, body)
    else {
        return;
    };
    assert_eq!(
        body.len(),
        4 + signed.signature.len(),
        "algorithm, length, signature: nothing else"
    );
    assert_eq!(
        body[..2],
        signed.scheme.0.to_be_bytes(),
        "the algorithm pair is the first two bytes"
    );
    let (modulus, exponent) = real_public_key();
    let verdict = sig::verify(
        rustcrypto::default_provider().as_ref(),
        signed.scheme,
        modulus,
        exponent,
        b"rsatls fuzzing: a message no CertificateVerify signs",
        &signed.signature,
    );
    assert!(
        matches!(verdict, Err(Error::DecryptError)),
        "a fuzzed CertificateVerify gave {verdict:?}"
    );
}

/// The committed rsa2048 certificate's public key (modulus, exponent).
fn real_public_key() -> (&'static [u8], &'static [u8]) {
    static KEY: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    let (n, e) = KEY.get_or_init(|| {
        let chain = pki::load_certificates(CERT_PEM).expect("the committed certificate loads");
        let info = pki::rsa_key_from_certificate(&chain[0]).expect("an RSA certificate");
        (info.modulus, info.exponent)
    });
    (n, e)
}

/// A ClientKeyExchange body. A decoded premaster ciphertext also goes through
/// the server's constant-time PKCS#1 v1.5 check, with the transparent rsa2048
/// key (RSA is the identity), and must agree with a plain reference check.
pub fn client_key_exchange(body: &[u8]) {
    let Some(HandshakeMessage::ClientKeyExchange(ciphertext)) =
        message(HandshakeType::CLIENT_KEY_EXCHANGE, body)
    else {
        return;
    };
    const VERSION: [u8; 2] = [3, 3];
    const FALLBACK: [u8; SECRET_LEN] = [0xfb; SECRET_LEN];
    let key = transparent_key();
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let got = rsa_kx::decrypt_premaster(key, &ciphertext, VERSION, &FALLBACK, &mut rng);
    let modulus = key.public_modulus();
    let want = reference_premaster(&ciphertext, &modulus, VERSION).unwrap_or(FALLBACK);
    assert_eq!(
        *got, want,
        "constant-time premaster check disagrees with the reference"
    );
}

/// A Finished body: exactly 12 bytes decode.
pub fn finished(body: &[u8]) {
    let msg = message(HandshakeType::FINISHED, body);
    assert_eq!(
        matches!(msg, Some(HandshakeMessage::Finished(_))),
        body.len() == 12,
        "Finished decodes iff verify_data has 12 bytes"
    );
}

/// An alert record's payload: exactly two bytes decode, and re-encode.
pub fn alert(payload: &[u8]) {
    match Alert::decode(payload) {
        Ok(alert) => assert_eq!(&alert.encode()[..], payload, "alert re-encodes differently"),
        Err(e) => {
            assert_ne!(payload.len(), 2, "a two-byte alert failed to decode");
            assert!(
                matches!(e, Error::Decode(_)),
                "alert decode failed with {e:?}"
            );
        }
    }
}

/// Frames `body` as a handshake message of type `typ` and checks it.
fn message(typ: HandshakeType, body: &[u8]) -> Option<HandshakeMessage> {
    if body.len() >= 1 << 24 {
        return None;
    }
    let mut raw = vec![typ.0];
    raw.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    raw.extend_from_slice(body);
    let msg = check_message(&raw)?;
    assert_eq!(msg.typ(), typ, "decoded as another type");
    Some(msg)
}

/// Decodes one whole handshake message; checks the error class, or that it
/// re-encodes to `raw` and that body decoding agrees.
fn check_message(raw: &[u8]) -> Option<HandshakeMessage> {
    let decoded = HandshakeMessage::decode(raw);
    if let Some(&[typ, ..]) = raw.first_chunk::<HANDSHAKE_HEADER_LEN>() {
        let body = &raw[HANDSHAKE_HEADER_LEN..];
        assert_eq!(
            HandshakeMessage::decode_body(HandshakeType(typ), body),
            decoded,
            "decode and decode_body disagree"
        );
    }
    match decoded {
        Ok(msg) => {
            assert_eq!(msg.to_bytes(), raw, "{} re-encodes differently", msg.name());
            Some(msg)
        }
        Err(Error::Decode(_) | Error::PeerMisbehaved(Misbehavior::DuplicateExtension)) => None,
        Err(e) => panic!("handshake decode failed with {e:?}"),
    }
}

/// Every decoded extension is what a lookup of its type finds (duplicates were
/// refused, so there is exactly one).
fn check_extension_lookup<'a>(
    exts: &'a Option<Vec<Extension>>,
    find: impl Fn(crate::msgs::enums::ExtensionType) -> Option<&'a Extension>,
) {
    for ext in exts.as_deref().unwrap_or(&[]) {
        assert_eq!(find(ext.ext_type()), Some(ext), "extension lookup");
    }
}

/// The transparent provider's rsa2048 private key (RSA is the identity).
fn transparent_key() -> &'static dyn RsaPrivateKey {
    static CONFIG: OnceLock<std::sync::Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| server_config(Crypto::Transparent, Variant::Default))
        .certs[0]
        .key
        .0
        .as_ref()
}

/// RFC 5246 §7.4.7.1 the obvious way: the premaster if `em` (the ciphertext,
/// since RSA is the identity here) is `00 02 PS 00 version random`, with `PS`
/// non-zero and the ciphertext a valid representative.
fn reference_premaster(em: &[u8], modulus: &[u8], version: [u8; 2]) -> Option<[u8; SECRET_LEN]> {
    let k = modulus.len();
    if em.len() != k || em >= modulus {
        return None;
    }
    let sep = k - SECRET_LEN - 1;
    let padding_ok = em[0] == 0 && em[1] == 2 && em[2..sep].iter().all(|&b| b != 0);
    if !padding_ok || em[sep] != 0 || em[sep + 1..sep + 3] != version {
        return None;
    }
    em[sep + 1..].try_into().ok()
}
