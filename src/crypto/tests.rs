//! The RustCrypto provider against the shared known-answer tests (`kat.rs`).

use super::kat::known_answer_tests;
use super::rustcrypto::{RUSTCRYPTO, RustCrypto, default_provider};
use super::*;

known_answer_tests!(&RUSTCRYPTO);

#[test]
fn provider_handles() {
    assert_eq!(RustCrypto.name(), "rustcrypto");
    let shared = default_provider();
    assert_eq!(shared.name(), "rustcrypto");
    assert_eq!(
        shared.hash(HashAlgorithm::Sha256, b"abc").as_ref(),
        RUSTCRYPTO.hash(HashAlgorithm::Sha256, b"abc").as_ref()
    );
}
