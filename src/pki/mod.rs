//! Loading RSA private keys and X.509 certificates, and curl-style public-key pins.
//!
//! This module only *parses*: it never names a cryptography crate. Where it needs
//! a hash (for [`pin_of_spki`]) it takes a [`CryptoProvider`].
//!
//! Inputs here are local files chosen by the operator, or (for
//! [`rsa_key_from_certificate`]) a peer's certificate. Every function returns an
//! error on malformed input; none panics.

use core::fmt;

use base64ct::{Base64, Encoding};
use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Encode, Reader, SliceReader};
use spki::{AlgorithmIdentifierRef, ObjectIdentifier};
use subtle::{Choice, ConstantTimeEq};
use x509_cert::Certificate;
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{CryptoProvider, HashAlgorithm, PrivateKeyDer};
use crate::{CertificateError, Error};

/// `rsaEncryption` (RFC 8017 Appendix C; RFC 3279 §2.3.1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

const ENCRYPTED_KEY: Error = Error::Config("private key is encrypted: a passphrase is required");
const LEGACY_ENCRYPTED_KEY: Error = Error::Config(
    "legacy encrypted PEM keys (Proc-Type: 4,ENCRYPTED) are not supported: \
     convert with `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
);
const WRONG_PASSPHRASE: Error =
    Error::Config("wrong passphrase for the encrypted private key (or the key is corrupt)");
const UNSUPPORTED_ENCRYPTION: Error = Error::Config(
    "encrypted private key uses an unsupported scheme: \
     rsatls reads PBES2 with PBKDF2 or scrypt and AES-CBC",
);
const BAD_ENCRYPTED_PKCS8: Error = Error::Config("encrypted PKCS#8 private key does not parse");
/// The most memory scrypt may ask for when decrypting a key (OpenSSL's default
/// parameters, N = 2^14 and r = 8, need 16 MiB).
const MAX_SCRYPT_MEMORY: u128 = 1 << 30;
const NOT_RSA_KEY: Error = Error::Config("private key is not an RSA key");
const BAD_PKCS8: Error = Error::Config("PKCS#8 private key does not parse");
const BAD_PKCS1: Error = Error::Config("PKCS#1 private key does not parse");

/// An RSA private key as loaded from a file, in its container format.
///
/// The DER bytes are zeroized when this value is dropped. Pass
/// [`PrivateKeyFile::as_der`] to [`CryptoProvider::rsa_private_key`].
pub enum PrivateKeyFile {
    /// A PKCS#1 `RSAPrivateKey` (PEM label `RSA PRIVATE KEY`).
    Pkcs1(Vec<u8>),
    /// A PKCS#8 `PrivateKeyInfo` holding an RSA key (PEM label `PRIVATE KEY`).
    Pkcs8(Vec<u8>),
}

impl PrivateKeyFile {
    /// Borrows the key's DER in the form the crypto provider takes.
    pub fn as_der(&self) -> PrivateKeyDer<'_> {
        match self {
            Self::Pkcs1(der) => PrivateKeyDer::Pkcs1(der),
            Self::Pkcs8(der) => PrivateKeyDer::Pkcs8(der),
        }
    }
}

impl Drop for PrivateKeyFile {
    fn drop(&mut self) {
        match self {
            Self::Pkcs1(der) | Self::Pkcs8(der) => der.zeroize(),
        }
    }
}

impl fmt::Debug for PrivateKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (format, len) = match self {
            Self::Pkcs1(der) => ("Pkcs1", der.len()),
            Self::Pkcs8(der) => ("Pkcs8", der.len()),
        };
        f.debug_struct("PrivateKeyFile")
            .field("format", &format)
            .field("len", &len)
            .finish_non_exhaustive()
    }
}

/// Loads one unencrypted RSA private key from PEM or DER.
///
/// The same as [`load_private_key_with_passphrase`] without a passphrase: an
/// encrypted key is an error.
///
/// # Errors
/// [`Error::Config`] if the input holds no RSA private key, more than one, a key
/// of another algorithm, or an encrypted key.
pub fn load_private_key(bytes: &[u8]) -> Result<PrivateKeyFile, Error> {
    load_private_key_with_passphrase(bytes, None)
}

/// Loads one RSA private key from PEM or DER, decrypting it with `passphrase`
/// if it is an encrypted PKCS#8 key.
///
/// PEM input may hold other blocks (a certificate, say) and text around them; it
/// must hold exactly one `PRIVATE KEY` (PKCS#8), `ENCRYPTED PRIVATE KEY`
/// (encrypted PKCS#8) or `RSA PRIVATE KEY` (PKCS#1) block. DER input is tried as
/// PKCS#8 `PrivateKeyInfo`, then as PKCS#1 `RSAPrivateKey`, then as PKCS#8
/// `EncryptedPrivateKeyInfo` (RFC 5958 §3). The key's structure is checked here,
/// so a provider only sees DER that parses.
///
/// Encrypted keys must use PBES2 (RFC 8018 §6.2) with PBKDF2 or scrypt and AES-CBC,
/// as `openssl pkcs8 -topk8 -v2 aes-256-cbc` and `openssl genpkey -aes256` write
/// them; scrypt parameters that need more than 1 GiB are refused. A passphrase
/// given for an unencrypted key is ignored. The decrypted key is zeroized when the
/// returned value is dropped, as is the decryption buffer this function uses
/// (the KDF and cipher crates handle their own key material).
///
/// # Errors
/// [`Error::Config`] if the input holds no RSA private key, more than one, a key
/// of another algorithm, an encrypted key without a passphrase or with the wrong
/// one, or an encryption scheme other than the above (including OpenSSL's legacy
/// `Proc-Type: 4,ENCRYPTED` PEM).
pub fn load_private_key_with_passphrase(
    bytes: &[u8],
    passphrase: Option<&[u8]>,
) -> Result<PrivateKeyFile, Error> {
    if !looks_like_pem(bytes) {
        return private_key_from_der(bytes, passphrase);
    }
    let mut found = None;
    for block in pem_blocks(bytes)? {
        let key = match (block.label, block.has_headers) {
            ("PRIVATE KEY", false) => {
                check_pkcs8_rsa(&block.der)?;
                PrivateKeyFile::Pkcs8(block.der.to_vec())
            }
            ("RSA PRIVATE KEY", false) => {
                check_pkcs1(&block.der)?;
                PrivateKeyFile::Pkcs1(block.der.to_vec())
            }
            ("ENCRYPTED PRIVATE KEY", false) => decrypt_pkcs8(&block.der, passphrase)?,
            // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mark OpenSSL's legacy
            // encrypted PKCS#1 format.
            ("RSA PRIVATE KEY", true) => return Err(LEGACY_ENCRYPTED_KEY),
            ("PRIVATE KEY" | "ENCRYPTED PRIVATE KEY", true) => {
                return Err(Error::Config("PEM PRIVATE KEY block has headers"));
            }
            (label, _) if label.ends_with("PRIVATE KEY") => return Err(NOT_RSA_KEY),
            _ => continue,
        };
        if found.is_some() {
            return Err(Error::Config("more than one private key in the PEM input"));
        }
        found = Some(key);
    }
    found.ok_or(Error::Config(
        "no PRIVATE KEY or RSA PRIVATE KEY block in the PEM input",
    ))
}

fn private_key_from_der(der: &[u8], passphrase: Option<&[u8]>) -> Result<PrivateKeyFile, Error> {
    if pkcs8::PrivateKeyInfoRef::from_der(der).is_ok() {
        check_pkcs8_rsa(der)?;
        return Ok(PrivateKeyFile::Pkcs8(der.to_vec()));
    }
    if check_pkcs1(der).is_ok() {
        return Ok(PrivateKeyFile::Pkcs1(der.to_vec()));
    }
    if is_encrypted_pkcs8(der) {
        return decrypt_pkcs8(der, passphrase);
    }
    Err(Error::Config(
        "private key is neither PEM nor DER PKCS#8 or PKCS#1",
    ))
}

/// Decrypts a DER `EncryptedPrivateKeyInfo` holding an RSA PKCS#8 key.
fn decrypt_pkcs8(der: &[u8], passphrase: Option<&[u8]>) -> Result<PrivateKeyFile, Error> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der).map_err(|_| BAD_ENCRYPTED_PKCS8)?;
    let passphrase = passphrase.ok_or(ENCRYPTED_KEY)?;
    check_kdf_cost(&info.encryption_algorithm)?;
    let mut buf = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let plain = match info
        .encryption_algorithm
        .decrypt_in_place(passphrase, &mut buf)
    {
        Ok(plain) => plain,
        // A wrong key almost always shows as bad CBC padding.
        Err(pkcs8::pkcs5::Error::DecryptFailed) => return Err(WRONG_PASSPHRASE),
        Err(_) => return Err(UNSUPPORTED_ENCRYPTION),
    };
    // About one wrong passphrase in 256 still ends in valid padding; its
    // plaintext is noise, which does not parse as a PrivateKeyInfo.
    if pkcs8::PrivateKeyInfoRef::from_der(plain).is_err() {
        return Err(WRONG_PASSPHRASE);
    }
    check_pkcs8_rsa(plain)?;
    Ok(PrivateKeyFile::Pkcs8(plain.to_vec()))
}

/// Refuses scrypt parameters whose memory (128 · r · N bytes, RFC 7914 §5)
/// exceeds [`MAX_SCRYPT_MEMORY`], before anything is allocated. PBKDF2's
/// iteration count is bounded by the `pkcs5` crate when it parses.
fn check_kdf_cost(scheme: &pkcs8::pkcs5::EncryptionScheme) -> Result<(), Error> {
    use pkcs8::pkcs5::pbes2::Kdf;
    if let Some(params) = scheme.pbes2()
        && let Kdf::Scrypt(scrypt) = &params.kdf
    {
        let memory = 128 * u128::from(scrypt.block_size) * u128::from(scrypt.cost_parameter);
        if memory > MAX_SCRYPT_MEMORY {
            return Err(Error::Config(
                "encrypted private key: scrypt parameters need more than 1 GiB",
            ));
        }
    }
    Ok(())
}

/// Checks that `der` is a PKCS#8 `PrivateKeyInfo` holding a well-formed RSA key.
fn check_pkcs8_rsa(der: &[u8]) -> Result<(), Error> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|_| BAD_PKCS8)?;
    if info.algorithm.oid != RSA_ENCRYPTION {
        return Err(NOT_RSA_KEY);
    }
    // RFC 8017 Appendix C: the parameters of rsaEncryption are NULL.
    if !params_are_null(info.algorithm.parameters) {
        return Err(BAD_PKCS8);
    }
    pkcs1::RsaPrivateKeyRef::try_from(info.private_key).map_err(|_| BAD_PKCS8)?;
    Ok(())
}

fn check_pkcs1(der: &[u8]) -> Result<(), Error> {
    pkcs1::RsaPrivateKeyRef::from_der(der).map_err(|_| BAD_PKCS1)?;
    Ok(())
}

/// Whether `der` has the shape of an `EncryptedPrivateKeyInfo` (RFC 5958 §3):
/// `SEQUENCE { AlgorithmIdentifier, OCTET STRING }`.
fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    let Ok(mut reader) = SliceReader::new(der) else {
        return false;
    };
    let shape = reader.sequence(|r| {
        AlgorithmIdentifierRef::decode(r)?;
        <&OctetStringRef>::decode(r)?;
        Ok::<_, der::Error>(())
    });
    shape.is_ok() && reader.finish().is_ok()
}

/// Parameters that are absent or NULL. RFC 3279 §2.3.1 says NULL; some encoders
/// omit them, and nothing else is acceptable.
fn params_are_null(params: Option<AnyRef<'_>>) -> bool {
    params.is_none_or(AnyRef::is_null)
}

/// Loads certificates from a PEM bundle or a single DER certificate.
///
/// PEM input yields its `CERTIFICATE` blocks in order; text and other blocks
/// between them are ignored. Each certificate must parse as X.509; its signature
/// and validity are not checked here.
///
/// # Errors
/// [`Error::Config`] if there is no certificate or one does not parse.
pub fn load_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    const BAD_CERT: Error = Error::Config("certificate does not parse as X.509");
    if !looks_like_pem(bytes) {
        Certificate::from_der(bytes).map_err(|_| BAD_CERT)?;
        return Ok(vec![bytes.to_vec()]);
    }
    let mut certs = Vec::new();
    for block in pem_blocks(bytes)? {
        if block.label != "CERTIFICATE" {
            continue;
        }
        if block.has_headers {
            return Err(Error::Config("PEM CERTIFICATE block has headers"));
        }
        Certificate::from_der(&block.der).map_err(|_| BAD_CERT)?;
        certs.push(block.der.to_vec());
    }
    if certs.is_empty() {
        return Err(Error::Config("no CERTIFICATE block in the PEM input"));
    }
    Ok(certs)
}

/// The RSA public key of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKeyInfo {
    /// The modulus `n`, big-endian, without leading zeros.
    pub modulus: Vec<u8>,
    /// The public exponent `e`, big-endian, without leading zeros.
    pub exponent: Vec<u8>,
    /// The DER of the certificate's whole `SubjectPublicKeyInfo`: the bytes a
    /// pin hashes (see [`pin_of_spki`]).
    pub spki_der: Vec<u8>,
}

/// Extracts the RSA public key from a DER certificate.
///
/// Only the key is extracted: the certificate's signature, validity and
/// extensions are not checked, and the key's size is for the caller to judge.
///
/// # Errors
/// [`CertificateError::NotRsa`] if the key's algorithm is not `rsaEncryption`;
/// [`CertificateError::Malformed`] if the certificate or the key does not parse.
pub fn rsa_key_from_certificate(cert_der: &[u8]) -> Result<RsaPublicKeyInfo, CertificateError> {
    use CertificateError::Malformed;

    let cert = Certificate::from_der(cert_der).map_err(|_| Malformed)?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(CertificateError::NotRsa);
    }
    if !params_are_null(spki.algorithm.parameters.as_ref().map(AnyRef::from)) {
        return Err(Malformed);
    }
    // RFC 3279 §2.3.1: the BIT STRING holds the DER of an RSAPublicKey, so it
    // has no unused bits.
    let key_der = spki.subject_public_key.as_bytes().ok_or(Malformed)?;
    let key = pkcs1::RsaPublicKeyRef::from_der(key_der).map_err(|_| Malformed)?;
    let (modulus, exponent) = (key.modulus.as_bytes(), key.public_exponent.as_bytes());
    // A zero modulus or exponent is no key at all. DER gives zero as a single
    // zero byte (leading zeros are stripped, but one digit remains).
    let is_zero = |v: &[u8]| v.iter().all(|&b| b == 0);
    if is_zero(modulus) || is_zero(exponent) {
        return Err(Malformed);
    }
    Ok(RsaPublicKeyInfo {
        modulus: modulus.to_vec(),
        exponent: exponent.to_vec(),
        spki_der: spki.to_der().map_err(|_| Malformed)?,
    })
}

/// The subject of a DER certificate as an RFC 4514 string (`CN=localhost`), for
/// display. `None` if the certificate does not parse.
pub fn certificate_subject(cert_der: &[u8]) -> Option<String> {
    let cert = Certificate::from_der(cert_der).ok()?;
    Some(cert.tbs_certificate().subject().to_string())
}

/// The curl pin format's only hash: `sha256//` then standard padded base64.
const PIN_PREFIX: &str = "sha256//";

/// A public-key pin: the SHA-256 of a DER `SubjectPublicKeyInfo`, as curl's
/// `--pinnedpubkey sha256//...` and HPKP use.
///
/// Equality is constant-time. [`fmt::Display`] prints the curl form.
#[derive(Clone, Copy)]
pub struct Pin([u8; 32]);

impl Pin {
    /// A pin from a SHA-256 digest of a `SubjectPublicKeyInfo`.
    pub const fn from_sha256(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The SHA-256 digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether this pin equals any of `pins`, comparing against every one of
    /// them in constant time.
    pub fn matches_any(&self, pins: &[Pin]) -> bool {
        pins.iter()
            .fold(Choice::from(0), |found, pin| found | self.ct_eq(pin))
            .into()
    }
}

impl ConstantTimeEq for Pin {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Pin {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Pin {}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PIN_PREFIX}{}", Base64::encode_string(&self.0))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pin({self})")
    }
}

/// Parses pins in curl's `--pinnedpubkey` format: one or more
/// `sha256//BASE64` separated by `;`, with optional whitespace around each.
///
/// # Errors
/// [`Error::Config`] for an empty list or entry, another hash or prefix, bad
/// base64 (standard alphabet, padded), or a digest that is not 32 bytes.
pub fn parse_pins(s: &str) -> Result<Vec<Pin>, Error> {
    s.split(';').map(|entry| parse_pin(entry.trim())).collect()
}

fn parse_pin(entry: &str) -> Result<Pin, Error> {
    let b64 = entry
        .strip_prefix(PIN_PREFIX)
        .ok_or(Error::Config("a pin must have the form sha256//BASE64"))?;
    let mut digest = [0u8; 32];
    let decoded = Base64::decode(b64, &mut digest)
        .map_err(|_| Error::Config("a pin must be 32 bytes in padded standard base64"))?;
    if decoded.len() != digest.len() {
        return Err(Error::Config("a pin must be a 32-byte SHA-256 digest"));
    }
    Ok(Pin(digest))
}

/// The pin of a DER `SubjectPublicKeyInfo` (e.g. [`RsaPublicKeyInfo::spki_der`]).
///
/// # Panics
/// If `provider` returns a SHA-256 output that is not 32 bytes, which breaks the
/// [`CryptoProvider::hash`] contract.
pub fn pin_of_spki(provider: &dyn CryptoProvider, spki_der: &[u8]) -> Pin {
    let digest = provider.hash(HashAlgorithm::Sha256, spki_der);
    Pin(digest
        .as_ref()
        .try_into()
        .expect("the provider's SHA-256 output is 32 bytes"))
}

/// Whether `bytes` contains a PEM pre-encapsulation boundary. DER never starts
/// with text, and a DER document that happens to contain this string is not
/// one this crate is asked to load.
fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// One decoded PEM block.
struct PemBlock<'a> {
    label: &'a str,
    /// Whether RFC 1421 headers (`Name: value` lines) were present; if so the
    /// body is not decoded and `der` is empty.
    has_headers: bool,
    der: Zeroizing<Vec<u8>>,
}

/// Splits PEM text (RFC 7468) into its blocks, in order, skipping any text
/// outside them. Lines may end in `\n` or `\r\n`; the base64 may be wrapped at
/// any width.
fn pem_blocks(input: &[u8]) -> Result<Vec<PemBlock<'_>>, Error> {
    const MALFORMED: Error = Error::Config("malformed PEM block");

    struct Open<'a> {
        label: &'a [u8],
        has_headers: bool,
        base64: Zeroizing<Vec<u8>>,
    }

    let mut blocks = Vec::new();
    let mut open: Option<Open<'_>> = None;
    for line in input.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
        let Some(block) = &mut open else {
            if let Some(label) = boundary(line, b"-----BEGIN ") {
                let base64 = Zeroizing::new(Vec::new());
                open = Some(Open {
                    label,
                    has_headers: false,
                    base64,
                });
            }
            continue;
        };
        if let Some(label) = boundary(line, b"-----END ") {
            if label != block.label {
                return Err(MALFORMED);
            }
            let label = core::str::from_utf8(block.label).map_err(|_| MALFORMED)?;
            let der = if block.has_headers {
                Zeroizing::new(Vec::new())
            } else {
                let text = core::str::from_utf8(&block.base64).map_err(|_| MALFORMED)?;
                Zeroizing::new(Base64::decode_vec(text).map_err(|_| MALFORMED)?)
            };
            blocks.push(PemBlock {
                label,
                has_headers: block.has_headers,
                der,
            });
            open = None;
        } else if line.starts_with(b"-----") {
            // A BEGIN inside a block, or an END without its label.
            return Err(MALFORMED);
        } else if line.contains(&b':') {
            block.has_headers = true;
        } else {
            block.base64.extend_from_slice(line);
        }
    }
    if open.is_some() {
        return Err(Error::Config("PEM block has no END line"));
    }
    Ok(blocks)
}

/// The label of a `-----BEGIN LABEL-----` or `-----END LABEL-----` line.
fn boundary<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(prefix)?.strip_suffix(b"-----")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rustcrypto::RustCrypto;

    macro_rules! data {
        ($($name:expr),+) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/", $($name),+))
        };
    }

    const PINS_TXT: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pins.txt"));

    /// One RSA key and its self-signed certificate from tests/data.
    struct RsaPair {
        name: &'static str,
        bits: usize,
        cert_der: &'static [u8],
        key_pem: &'static [u8],
        pin_file: &'static [u8],
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

    const RSA: &[RsaPair] = &[
        rsa_pair!("rsa2048", 2048),
        rsa_pair!("rsa3072", 3072),
        rsa_pair!("rsa4096", 4096),
        rsa_pair!("other2048", 2048),
        rsa_pair!("rsa1024", 1024),
    ];

    fn expected_pin(name: &str) -> &'static str {
        PINS_TXT
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing from pins.txt"))
    }

    fn pem_str(bytes: &[u8]) -> &str {
        core::str::from_utf8(bytes).unwrap()
    }

    fn pkcs8_der(key: &PrivateKeyFile) -> &[u8] {
        match key {
            PrivateKeyFile::Pkcs8(der) => der,
            PrivateKeyFile::Pkcs1(_) => panic!("expected PKCS#8, got {key:?}"),
        }
    }

    fn pkcs1_der(key: &PrivateKeyFile) -> &[u8] {
        match key {
            PrivateKeyFile::Pkcs1(der) => der,
            PrivateKeyFile::Pkcs8(_) => panic!("expected PKCS#1, got {key:?}"),
        }
    }

    #[test]
    fn pem_der_and_pkcs1_load_the_same_key() {
        let from_pem = load_private_key(data!("rsa2048.key.pem")).unwrap();
        let from_der = load_private_key(data!("rsa2048.key.der")).unwrap();
        let from_pkcs1 = load_private_key(data!("rsa2048.pkcs1.pem")).unwrap();

        assert_eq!(pkcs8_der(&from_pem), data!("rsa2048.key.der"));
        assert_eq!(pkcs8_der(&from_der), data!("rsa2048.key.der"));
        // The PKCS#1 key is exactly the key inside the PKCS#8 wrapper.
        let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der(&from_der)).unwrap();
        assert_eq!(pkcs1_der(&from_pkcs1), info.private_key.as_bytes());
        // And a PKCS#1 DER (no PEM) is detected as such.
        let raw_pkcs1 = load_private_key(pkcs1_der(&from_pkcs1)).unwrap();
        assert_eq!(pkcs1_der(&raw_pkcs1), pkcs1_der(&from_pkcs1));

        assert!(matches!(from_pem.as_der(), PrivateKeyDer::Pkcs8(d) if d == pkcs8_der(&from_pem)));
        assert!(
            matches!(from_pkcs1.as_der(), PrivateKeyDer::Pkcs1(d) if d == pkcs1_der(&from_pkcs1))
        );
    }

    #[test]
    fn every_rsa_key_loads_and_matches_its_certificate() {
        for pair in RSA {
            let RsaPair {
                name,
                bits,
                cert_der,
                key_pem,
                ..
            } = *pair;
            let key = load_private_key(key_pem).unwrap();
            let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der(&key)).unwrap();
            let private = pkcs1::RsaPrivateKeyRef::try_from(info.private_key).unwrap();
            let public = rsa_key_from_certificate(cert_der).unwrap();
            assert_eq!(public.modulus, private.modulus.as_bytes(), "{name}");
            assert_eq!(public.modulus.len() * 8, bits, "{name}");
            assert_eq!(public.exponent, [1, 0, 1], "{name}");
        }
    }

    #[test]
    fn pem_key_may_sit_among_other_blocks() {
        let combined = [
            data!("rsa2048.cert.pem").as_slice(),
            b"some text\r\n",
            data!("rsa2048.pkcs1.pem"),
        ]
        .concat();
        let key = load_private_key(&combined).unwrap();
        let only = load_private_key(data!("rsa2048.pkcs1.pem")).unwrap();
        assert_eq!(pkcs1_der(&key), pkcs1_der(&only));
        // CRLF line endings are accepted.
        let crlf = pem_str(data!("rsa2048.key.pem")).replace('\n', "\r\n");
        assert_eq!(
            pkcs8_der(&load_private_key(crlf.as_bytes()).unwrap()),
            data!("rsa2048.key.der")
        );
    }

    #[test]
    fn unusable_keys_are_config_errors() {
        let two = [
            data!("rsa2048.key.pem").as_slice(),
            data!("other2048.key.pem"),
        ]
        .concat();
        let legacy_encrypted = pem_str(data!("rsa2048.pkcs1.pem")).replacen(
            "-----\n",
            "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n",
            1,
        );
        let pkcs8_with_headers =
            pem_str(data!("rsa2048.key.pem")).replacen("-----\n", "-----\nComment: x\n\n", 1);
        let cases: &[(&[u8], Error)] = &[
            (data!("rsa2048.key.enc.pem"), ENCRYPTED_KEY),
            (data!("rsa2048.key.enc.der"), ENCRYPTED_KEY),
            (legacy_encrypted.as_bytes(), LEGACY_ENCRYPTED_KEY),
            (
                pkcs8_with_headers.as_bytes(),
                Error::Config("PEM PRIVATE KEY block has headers"),
            ),
            (data!("ec256.key.pem"), NOT_RSA_KEY),
            (data!("ec256.key.der"), NOT_RSA_KEY),
            (
                &two,
                Error::Config("more than one private key in the PEM input"),
            ),
            (
                data!("rsa2048.cert.pem"),
                Error::Config("no PRIVATE KEY or RSA PRIVATE KEY block in the PEM input"),
            ),
            (
                data!("rsa2048.cert.der"),
                Error::Config("private key is neither PEM nor DER PKCS#8 or PKCS#1"),
            ),
            (
                b"",
                Error::Config("private key is neither PEM nor DER PKCS#8 or PKCS#1"),
            ),
            (
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n",
                Error::Config("PEM block has no END line"),
            ),
            (
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                Error::Config("malformed PEM block"),
            ),
            (
                b"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
                Error::Config("malformed PEM block"),
            ),
            (
                b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
                BAD_PKCS8,
            ),
            (
                b"-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n",
                BAD_PKCS1,
            ),
        ];
        for (i, (input, expected)) in cases.iter().enumerate() {
            assert_eq!(load_private_key(input).unwrap_err(), *expected, "case {i}");
        }
    }

    const PASSPHRASE: &[u8] = b"rsatls-test";

    #[test]
    fn encrypted_keys_decrypt_to_the_plain_key() {
        for (name, file) in [
            ("PBKDF2 PEM", data!("rsa2048.key.enc.pem").as_slice()),
            ("PBKDF2 DER", data!("rsa2048.key.enc.der")),
            ("scrypt PEM", data!("rsa2048.key.scrypt.pem")),
        ] {
            let key = load_private_key_with_passphrase(file, Some(PASSPHRASE)).unwrap();
            assert_eq!(pkcs8_der(&key), data!("rsa2048.key.der"), "{name}");
            assert_eq!(load_private_key(file).unwrap_err(), ENCRYPTED_KEY, "{name}");
            assert_eq!(
                load_private_key_with_passphrase(file, None).unwrap_err(),
                ENCRYPTED_KEY,
                "{name}"
            );
        }
        // A passphrase for a key that is not encrypted is not needed, nor harmful.
        let plain = load_private_key_with_passphrase(data!("rsa2048.key.pem"), Some(b"x"));
        assert_eq!(pkcs8_der(&plain.unwrap()), data!("rsa2048.key.der"));
    }

    #[test]
    fn wrong_passphrases_are_reported_as_such() {
        // Enough wrong passphrases that some decrypt to valid CBC padding
        // (about one in 256 does): those must be caught by the parse.
        let file = data!("rsa2048.key.enc.der");
        for i in 0..300u32 {
            let wrong = format!("rsatls-test{i}");
            assert_eq!(
                load_private_key_with_passphrase(file, Some(wrong.as_bytes())).unwrap_err(),
                WRONG_PASSPHRASE,
                "{wrong}"
            );
        }
        for wrong in [b"".as_slice(), b"rsatls-tes", b"RSATLS-TEST"] {
            assert_eq!(
                load_private_key_with_passphrase(data!("rsa2048.key.scrypt.pem"), Some(wrong))
                    .unwrap_err(),
                WRONG_PASSPHRASE
            );
        }
    }

    /// Re-encodes the scrypt fixture with other parameters.
    fn scrypt_key_with(edit: impl Fn(&mut pkcs8::pkcs5::pbes2::ScryptParams)) -> Vec<u8> {
        use pkcs8::pkcs5::{EncryptionScheme, pbes2::Kdf};
        let pem = pem_blocks(data!("rsa2048.key.scrypt.pem")).unwrap();
        let mut info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&pem[0].der).unwrap();
        let EncryptionScheme::Pbes2(params) = &mut info.encryption_algorithm else {
            panic!("not PBES2");
        };
        let Kdf::Scrypt(scrypt) = &mut params.kdf else {
            panic!("not scrypt");
        };
        edit(scrypt);
        info.to_der().unwrap()
    }

    #[test]
    fn costly_or_unsupported_encryption_is_refused_up_front() {
        // 128 * 16 * 2^20 bytes = 2 GiB: refused before scrypt allocates.
        let costly = scrypt_key_with(|p| {
            p.cost_parameter = 1 << 20;
            p.block_size = 16;
        });
        assert_eq!(
            load_private_key_with_passphrase(&costly, Some(PASSPHRASE)).unwrap_err(),
            Error::Config("encrypted private key: scrypt parameters need more than 1 GiB")
        );
        // Unchanged parameters re-encode to the same key (the edit is what matters).
        let same = scrypt_key_with(|_| {});
        let key = load_private_key_with_passphrase(&same, Some(PASSPHRASE)).unwrap();
        assert_eq!(pkcs8_der(&key), data!("rsa2048.key.der"));
        // N that is not a power of two: the scheme's parameters are invalid.
        let odd = scrypt_key_with(|p| p.cost_parameter = 3000);
        assert_eq!(
            load_private_key_with_passphrase(&odd, Some(PASSPHRASE)).unwrap_err(),
            UNSUPPORTED_ENCRYPTION
        );
        // The encrypted structure itself, truncated, does not parse.
        let der = data!("rsa2048.key.enc.der");
        for len in [10, 60, der.len() - 1] {
            assert!(load_private_key_with_passphrase(&der[..len], Some(PASSPHRASE)).is_err());
        }
    }

    #[test]
    fn truncated_keys_are_refused_without_panicking() {
        let der = data!("rsa2048.key.der");
        for len in 0..der.len() {
            assert!(load_private_key(&der[..len]).is_err(), "DER prefix {len}");
        }
        // The PEM file ends in "-----\n"; without its last newline it is still
        // whole, so the prefixes that fail are the ones shorter than that.
        let pem = data!("rsa2048.key.pem");
        for len in 0..pem.len() - 1 {
            assert!(load_private_key(&pem[..len]).is_err(), "PEM prefix {len}");
        }
    }

    #[test]
    fn certificates_load_from_der_pem_and_bundles() {
        let der = data!("rsa2048.cert.der");
        assert_eq!(load_certificates(der).unwrap(), [der.to_vec()]);
        assert_eq!(
            load_certificates(data!("rsa2048.cert.pem")).unwrap(),
            [der.to_vec()]
        );

        // A bundle with text and a key between the certificates, as
        // `openssl x509 -subject` and combined key files produce.
        let bundle = [
            b"subject=CN=localhost\n".as_slice(),
            data!("rsa2048.cert.pem"),
            b"\n# next\n",
            data!("ec256.key.pem"),
            data!("rsa3072.cert.pem"),
            b"trailing words",
        ]
        .concat();
        let certs = load_certificates(&bundle).unwrap();
        assert_eq!(certs, [der.to_vec(), data!("rsa3072.cert.der").to_vec()]);
    }

    #[test]
    fn unusable_certificates_are_config_errors() {
        let bad = Error::Config("certificate does not parse as X.509");
        let not_a_cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        let cases: &[(&[u8], Error)] = &[
            (b"", bad.clone()),
            (b"garbage", bad.clone()),
            (data!("rsa2048.key.der"), bad.clone()),
            (not_a_cert.as_bytes(), bad),
            (
                data!("rsa2048.key.pem"),
                Error::Config("no CERTIFICATE block in the PEM input"),
            ),
            (
                b"-----BEGIN CERTIFICATE-----\n",
                Error::Config("PEM block has no END line"),
            ),
        ];
        for (i, (input, expected)) in cases.iter().enumerate() {
            assert_eq!(load_certificates(input).unwrap_err(), *expected, "case {i}");
        }
    }

    #[test]
    fn rsa_key_extraction() {
        let a = rsa_key_from_certificate(data!("rsa2048.cert.der")).unwrap();
        let b = rsa_key_from_certificate(data!("other2048.cert.der")).unwrap();
        assert_ne!(a.modulus, b.modulus);
        assert_ne!(a.modulus[0], 0);
        // The SPKI is a sub-slice of the certificate, byte for byte.
        let cert = data!("rsa2048.cert.der");
        assert!(cert.windows(a.spki_der.len()).any(|w| w == a.spki_der));

        assert_eq!(
            rsa_key_from_certificate(data!("ec256.cert.der")),
            Err(CertificateError::NotRsa)
        );
        assert_eq!(
            rsa_key_from_certificate(b"garbage"),
            Err(CertificateError::Malformed)
        );
        assert_eq!(
            rsa_key_from_certificate(data!("rsa2048.cert.pem")),
            Err(CertificateError::Malformed)
        );
    }

    #[test]
    fn truncated_certificates_are_malformed() {
        let cert = data!("rsa2048.cert.der");
        for len in 0..cert.len() {
            assert_eq!(
                rsa_key_from_certificate(&cert[..len]),
                Err(CertificateError::Malformed),
                "prefix {len}"
            );
            assert!(load_certificates(&cert[..len]).is_err());
            assert_eq!(certificate_subject(&cert[..len]), None);
        }
        let mut extended = cert.to_vec();
        extended.push(0);
        assert_eq!(
            rsa_key_from_certificate(&extended),
            Err(CertificateError::Malformed)
        );
    }

    #[test]
    fn corrupted_certificates_do_not_panic() {
        let cert = data!("rsa2048.cert.der");
        let mut copy = cert.to_vec();
        for i in 0..copy.len() {
            for flip in [0x01, 0x80, 0xff] {
                copy[i] ^= flip;
                // Any outcome but a panic is acceptable: some bytes (the
                // signature, say) are not checked here.
                let _ = rsa_key_from_certificate(&copy);
                let _ = certificate_subject(&copy);
                copy[i] ^= flip;
            }
        }
    }

    #[test]
    fn pins_match_openssl() {
        let rsa = RSA
            .iter()
            .map(|pair| (pair.name, pair.cert_der, pair.pin_file));
        let ec = (
            "ec256",
            data!("ec256.cert.der").as_slice(),
            data!("ec256.pin").as_slice(),
        );
        for (name, der, pin_file) in rsa.chain([ec]) {
            let spki_der = match rsa_key_from_certificate(der) {
                Ok(info) => info.spki_der,
                // Not RSA: take the SPKI from the parsed certificate instead.
                Err(_) => Certificate::from_der(der)
                    .unwrap()
                    .tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .unwrap(),
            };
            let pin = pin_of_spki(&RustCrypto, &spki_der);
            assert_eq!(pin.to_string(), expected_pin(name), "{name}");
            assert_eq!(parse_pins(expected_pin(name)).unwrap(), [pin], "{name}");
            // NAME.pin holds the same pin, with a trailing newline.
            assert_eq!(parse_pins(pem_str(pin_file)).unwrap(), [pin], "{name}.pin");
        }
    }

    #[test]
    fn parse_pins_accepts_curl_lists() {
        let a = expected_pin("rsa2048");
        let b = expected_pin("rsa3072");
        let pa = parse_pins(a).unwrap()[0];
        let pb = parse_pins(b).unwrap()[0];
        assert_ne!(pa, pb);
        for list in [
            format!("{a};{b}"),
            format!("  {a} ;\t{b}\n"),
            format!("{a};{b};{a}"),
        ] {
            let pins = parse_pins(&list).unwrap();
            assert_eq!(pins[..2], [pa, pb], "{list:?}");
        }
        assert!(pa.matches_any(&[pb, pa]));
        assert!(!pa.matches_any(&[pb]));
        assert!(!pa.matches_any(&[]));
        assert_eq!(Pin::from_sha256(*pa.as_bytes()), pa);
        assert_eq!(format!("{pa:?}"), format!("Pin({a})"));
    }

    #[test]
    fn parse_pins_rejects_everything_else() {
        let good = expected_pin("rsa2048");
        let b64 = good.strip_prefix("sha256//").unwrap();
        let bad = [
            String::new(),
            " ".into(),
            ";".into(),
            format!("{good};"),
            format!(";{good}"),
            format!("{good};;{good}"),
            "sha256//".into(),
            b64.into(),
            format!("sha1//{b64}"),
            format!("SHA256//{b64}"),
            format!("sha256/{b64}"),
            format!("sha256// {b64}"),
            format!("{good},{good}"),
            format!("sha256//{}", b64.trim_end_matches('=')),
            format!("sha256//{}", b64.replace('+', "-").replace('/', "_")),
            format!("sha256//{}", Base64::encode_string(&[7; 31])),
            format!("sha256//{}", Base64::encode_string(&[7; 33])),
            format!("sha256//{}", Base64::encode_string(&[7; 64])),
            "sha256//A=".into(),
            "sha256//!!!!".into(),
        ];
        for input in bad {
            assert!(
                matches!(parse_pins(&input), Err(Error::Config(_))),
                "{input:?} was accepted"
            );
        }
    }

    // The tests below each pin a rule that mutation testing found unobserved.

    #[test]
    fn other_private_key_labels_are_refused_not_skipped() {
        // An "EC PRIVATE KEY" (SEC 1) block is a key, just not an RSA one: it is
        // refused by its label, its body unread, not passed over as text.
        let ec = b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(load_private_key(ec).unwrap_err(), NOT_RSA_KEY);
        // Beside an RSA key it still makes the input ambiguous.
        let both = [ec.as_slice(), data!("rsa2048.key.pem")].concat();
        assert_eq!(load_private_key(&both).unwrap_err(), NOT_RSA_KEY);
    }

    #[test]
    fn scrypt_cost_of_exactly_1_gib_is_allowed() {
        // 128 * 8 * 2^20 bytes is exactly the limit, so the cost check lets it
        // through. A key length that does not fit AES-256 then makes the scheme
        // fail before scrypt runs, which keeps the test cheap.
        let at_limit = scrypt_key_with(|p| {
            p.cost_parameter = 1 << 20;
            p.block_size = 8;
            p.key_length = Some(16);
        });
        assert_eq!(
            load_private_key_with_passphrase(&at_limit, Some(PASSPHRASE)).unwrap_err(),
            UNSUPPORTED_ENCRYPTION
        );
        // One step over the limit is refused by the cost check.
        let over = scrypt_key_with(|p| {
            p.cost_parameter = 1 << 20;
            p.block_size = 9;
            p.key_length = Some(16);
        });
        assert_eq!(
            load_private_key_with_passphrase(&over, Some(PASSPHRASE)).unwrap_err(),
            Error::Config("encrypted private key: scrypt parameters need more than 1 GiB")
        );
    }

    #[test]
    fn der_encrypted_key_with_trailing_bytes_is_not_recognised() {
        // is_encrypted_pkcs8 wants the whole input to be the structure: with a
        // byte after it, the DER is none of the known key formats.
        let mut der = data!("rsa2048.key.enc.der").to_vec();
        der.push(0);
        let neither = Error::Config("private key is neither PEM nor DER PKCS#8 or PKCS#1");
        assert_eq!(load_private_key(&der).unwrap_err(), neither);
        assert_eq!(
            load_private_key_with_passphrase(&der, Some(PASSPHRASE)).unwrap_err(),
            neither
        );
    }

    /// The DER of `rsaEncryption` with NULL parameters, as an AlgorithmIdentifier.
    const RSA_ALG_NULL: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];

    /// `RSA_ALG_NULL` with an empty OCTET STRING in place of the NULL.
    const RSA_ALG_OCTETS: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x04, 0x00,
    ];

    #[test]
    fn rsa_parameters_other_than_null_are_refused() {
        // PKCS#8: the same key with an OCTET STRING as parameters.
        let der = data!("rsa2048.key.der");
        assert_eq!(&der[7..22], RSA_ALG_NULL);
        let odd = [&der[..7], RSA_ALG_OCTETS, &der[22..]].concat();
        assert_eq!(load_private_key(&odd).unwrap_err(), BAD_PKCS8);
        // The certificate's key: the same change.
        let cert = data!("rsa2048.cert.der");
        let key = rsa_key_from_certificate(cert).unwrap();
        let odd = with_spki(cert, RSA_ALG_OCTETS, &key.modulus, &key.exponent);
        assert_eq!(
            rsa_key_from_certificate(&odd),
            Err(CertificateError::Malformed)
        );
    }

    /// A DER TLV with a definite length (short or two-byte long form).
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = vec![tag];
        match len {
            0..0x80 => out.push(len as u8),
            0x80..0x100 => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// The header length and content length of the DER TLV at the start of `der`.
    fn tlv_header(der: &[u8]) -> (usize, usize) {
        match der[1] {
            n if n < 0x80 => (2, usize::from(n)),
            0x81 => (3, usize::from(der[2])),
            0x82 => (4, usize::from(der[2]) << 8 | usize::from(der[3])),
            other => panic!("length form {other:#x}"),
        }
    }

    /// `cert` with its SubjectPublicKeyInfo rebuilt from an AlgorithmIdentifier
    /// and an RSA modulus and exponent given as INTEGER contents (the signature
    /// no longer matches; it is not checked here).
    fn with_spki(cert: &[u8], alg: &[u8], modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
        let as_int = |v: &[u8]| {
            let pad = v.first().is_some_and(|b| b & 0x80 != 0);
            tlv(0x02, &[if pad { &[0][..] } else { &[] }, v].concat())
        };
        let key = tlv(0x30, &[as_int(modulus), as_int(exponent)].concat());
        let bits = tlv(0x03, &[&[0][..], &key].concat());
        let spki = tlv(0x30, &[alg, &bits].concat());
        let old = rsa_key_from_certificate(cert).unwrap().spki_der;
        let (outer, _) = tlv_header(cert);
        let (inner, tbs_len) = tlv_header(&cert[outer..]);
        let tbs = &cert[outer + inner..outer + inner + tbs_len];
        let at = tbs.windows(old.len()).position(|w| w == old).unwrap();
        let new_tbs = [&tbs[..at], &spki, &tbs[at + old.len()..]].concat();
        let rest = &cert[outer + inner + tbs_len..];
        tlv(0x30, &[tlv(0x30, &new_tbs).as_slice(), rest].concat())
    }

    #[test]
    fn zero_modulus_or_exponent_is_no_key() {
        let cert = data!("rsa2048.cert.der");
        let key = rsa_key_from_certificate(cert).unwrap();
        // The rebuild is faithful: the same key gives the same certificate.
        assert_eq!(
            with_spki(cert, RSA_ALG_NULL, &key.modulus, &key.exponent),
            cert
        );
        let zero_exponent = with_spki(cert, RSA_ALG_NULL, &key.modulus, &[0]);
        let zero_modulus = with_spki(cert, RSA_ALG_NULL, &[0], &key.exponent);
        for bad in [zero_exponent, zero_modulus] {
            assert_eq!(
                rsa_key_from_certificate(&bad),
                Err(CertificateError::Malformed)
            );
        }
    }

    #[test]
    fn a_pin_listed_twice_still_matches() {
        let a = parse_pins(expected_pin("rsa2048")).unwrap()[0];
        let b = parse_pins(expected_pin("rsa3072")).unwrap()[0];
        assert!(a.matches_any(&[a, a]));
        assert!(a.matches_any(&[a, b, a]));
        assert!(!a.matches_any(&[b, b]));
    }

    #[test]
    fn subject_for_display() {
        assert_eq!(
            certificate_subject(data!("rsa2048.cert.der")).as_deref(),
            Some("CN=localhost")
        );
        assert_eq!(
            certificate_subject(data!("ec256.cert.der")).as_deref(),
            Some("CN=localhost")
        );
        assert_eq!(certificate_subject(b"garbage"), None);
    }

    #[test]
    fn key_bytes_are_hidden_from_debug() {
        let key = load_private_key(data!("rsa2048.key.der")).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("Pkcs8") && !shown.contains('['), "{shown}");
    }
}
