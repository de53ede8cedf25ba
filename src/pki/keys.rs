//! Loading RSA private keys: PKCS#8, PKCS#1 and encrypted PKCS#8, from PEM or
//! DER, with the cost of an encrypted key's KDF checked before it runs.

use core::fmt;

use der::asn1::OctetStringRef;
use der::{Decode, Reader, SliceReader};
use spki::AlgorithmIdentifierRef;
use zeroize::{Zeroize, Zeroizing};

use super::pem::{looks_like_pem, pem_blocks};
use super::{RSA_ENCRYPTION, params_are_null};
use crate::Error;
#[cfg(doc)]
use crate::crypto::CryptoProvider;
use crate::crypto::PrivateKeyDer;

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

#[cfg(test)]
mod tests {
    use der::Encode;

    use super::*;
    use crate::pki::test_support::*;

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

    #[test]
    fn key_bytes_are_hidden_from_debug() {
        let key = load_private_key(data!("rsa2048.key.der")).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("Pkcs8") && !shown.contains('['), "{shown}");
    }
}
