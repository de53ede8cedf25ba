//! Fixtures the pki unit tests share: the RSA pairs in tests/data and their pins.

use super::PrivateKeyFile;

const PINS_TXT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pins.txt"));

/// One RSA key and its self-signed certificate from tests/data.
pub(super) struct RsaPair {
    pub(super) name: &'static str,
    pub(super) bits: usize,
    pub(super) cert_der: &'static [u8],
    pub(super) key_pem: &'static [u8],
    pub(super) pin_file: &'static [u8],
}

macro_rules! rsa_pair {
    ($name:literal, $bits:literal) => {
        RsaPair {
            name: $name,
            bits: $bits,
            cert_der: data!($name, ".cert.der"),
            key_pem: data!($name, ".key.pem"),
            pin_file: data!($name, ".pin"),
        }
    };
}

pub(super) const RSA: &[RsaPair] = &[
    rsa_pair!("rsa2048", 2048),
    rsa_pair!("rsa3072", 3072),
    rsa_pair!("rsa4096", 4096),
    rsa_pair!("other2048", 2048),
    rsa_pair!("rsa1024", 1024),
];

pub(super) fn expected_pin(name: &str) -> &'static str {
    PINS_TXT
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing from pins.txt"))
}

pub(super) fn pem_str(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap()
}

pub(super) fn pkcs8_der(key: &PrivateKeyFile) -> &[u8] {
    match key {
        PrivateKeyFile::Pkcs8(der) => der,
        PrivateKeyFile::Pkcs1(_) => panic!("expected PKCS#8, got {key:?}"),
    }
}

pub(super) fn pkcs1_der(key: &PrivateKeyFile) -> &[u8] {
    match key {
        PrivateKeyFile::Pkcs1(der) => der,
        PrivateKeyFile::Pkcs8(_) => panic!("expected PKCS#1, got {key:?}"),
    }
}
