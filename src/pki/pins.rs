//! Public-key pins in curl's `--pinnedpubkey sha256//BASE64` form.

use core::fmt;

use base64ct::{Base64, Encoding};
use subtle::{Choice, ConstantTimeEq};

#[cfg(doc)]
use super::RsaPublicKeyInfo;
use crate::Error;
use crate::crypto::{CryptoProvider, HashAlgorithm};

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

#[cfg(test)]
mod tests {
    use base64ct::{Base64, Encoding};
    use der::{Decode, Encode};
    use x509_cert::Certificate;

    use super::*;
    use crate::crypto::rustcrypto::RustCrypto;
    use crate::pki::rsa_key_from_certificate;
    use crate::pki::test_support::*;

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
    fn a_pin_listed_twice_still_matches() {
        let a = parse_pins(expected_pin("rsa2048")).unwrap()[0];
        let b = parse_pins(expected_pin("rsa3072")).unwrap()[0];
        assert!(a.matches_any(&[a, a]));
        assert!(a.matches_any(&[a, b, a]));
        assert!(!a.matches_any(&[b, b]));
    }
}
