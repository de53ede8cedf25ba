//! Loading RSA private keys and X.509 certificates, and curl-style public-key pins.
//!
//! This module only *parses*: it never names a cryptography crate. Where it needs
//! a hash (for [`pin_of_spki`]) it takes a [`CryptoProvider`].
//!
//! Inputs here are local files chosen by the operator, or (for
//! [`rsa_key_from_certificate`]) a peer's certificate. Every function returns an
//! error on malformed input; none panics.
//!
//! The code is in four files, each with its tests: `keys.rs` (private keys:
//! PKCS#8, PKCS#1, encrypted PKCS#8), `certificates.rs` (certificates, and the RSA
//! key and subject of one), `pins.rs` (curl-style public-key pins) and `pem.rs`
//! (the walk over the blocks of a PEM file). Everything public is re-exported here.

use der::asn1::AnyRef;
use spki::ObjectIdentifier;

#[cfg(doc)]
use crate::crypto::CryptoProvider;

/// Test fixtures: `data!("name")` is the bytes of tests/data/name.
#[cfg(test)]
macro_rules! data {
    ($($name:expr),+) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/", $($name),+))
    };
}

mod certificates;
mod keys;
mod pem;
mod pins;
#[cfg(test)]
mod test_support;

pub use certificates::{
    RsaPublicKeyInfo, certificate_subject, load_certificates, rsa_key_from_certificate,
};
pub use keys::{PrivateKeyFile, load_private_key, load_private_key_with_passphrase};
pub use pins::{Pin, parse_pins, pin_of_spki};

/// `rsaEncryption` (RFC 8017 Appendix C; RFC 3279 §2.3.1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Parameters that are absent or NULL. RFC 3279 §2.3.1 says NULL; some encoders
/// omit them, and nothing else is acceptable.
fn params_are_null(params: Option<AnyRef<'_>>) -> bool {
    params.is_none_or(AnyRef::is_null)
}
