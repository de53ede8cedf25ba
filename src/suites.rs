//! The two cipher suites rsatls speaks.

use crate::crypto::{AeadAlgorithm, HashAlgorithm};
use crate::msgs::enums::CipherSuite;

/// A supported cipher suite and the algorithms it implies.
#[derive(Debug, PartialEq, Eq)]
pub struct Suite {
    /// The wire identifier.
    pub id: CipherSuite,
    /// The PRF and transcript hash (RFC 5288 §3, RFC 5246 §5).
    pub hash: HashAlgorithm,
    /// The record protection algorithm.
    pub aead: AeadAlgorithm,
    /// The IANA name.
    pub name: &'static str,
}

/// TLS_RSA_WITH_AES_128_GCM_SHA256 (RFC 5288).
pub static TLS_RSA_WITH_AES_128_GCM_SHA256: Suite = Suite {
    id: CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256,
    hash: HashAlgorithm::Sha256,
    aead: AeadAlgorithm::Aes128Gcm,
    name: "TLS_RSA_WITH_AES_128_GCM_SHA256",
};

/// TLS_RSA_WITH_AES_256_GCM_SHA384 (RFC 5288).
pub static TLS_RSA_WITH_AES_256_GCM_SHA384: Suite = Suite {
    id: CipherSuite::TLS_RSA_WITH_AES_256_GCM_SHA384,
    hash: HashAlgorithm::Sha384,
    aead: AeadAlgorithm::Aes256Gcm,
    name: "TLS_RSA_WITH_AES_256_GCM_SHA384",
};

/// Every supported suite, in the default preference order.
pub static ALL_SUITES: [&Suite; 2] = [
    &TLS_RSA_WITH_AES_256_GCM_SHA384,
    &TLS_RSA_WITH_AES_128_GCM_SHA256,
];

/// Looks up a supported suite by its wire identifier.
pub fn find(id: CipherSuite) -> Option<&'static Suite> {
    ALL_SUITES.iter().copied().find(|s| s.id == id)
}
