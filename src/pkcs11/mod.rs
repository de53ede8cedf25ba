//! RSA keys that stay in a PKCS#11 token (an HSM, a smart card, SoftHSM2).
//!
//! [`Pkcs11Key`] is a key *source*: it implements
//! [`RsaPrivateKey`](crate::crypto::RsaPrivateKey), so it serves with either
//! crypto provider (pass it to
//! [`ServerConfig::with_private_key`](crate::ServerConfig::with_private_key));
//! the provider still does the record layer and the public-key side.
//!
//! The token does only the raw RSA operation, `CKM_RSA_X_509` (`c^d mod n`,
//! no padding), and the engine removes the PKCS#1 v1.5 padding itself in
//! constant time, with the fallback premaster drawn first (RFC 5246
//! §7.4.7.1). [`Pkcs11Key::open`] checks with `C_GetMechanismList` and
//! `C_GetMechanismInfo` that the token offers `CKM_RSA_X_509` for decryption,
//! and then that one decryption works, and refuses the key otherwise.
//! It never falls back to `CKM_RSA_PKCS`: a token that unpads reports bad
//! padding as an error, sooner or later than a good one, and that difference
//! is exactly the Bleichenbacher oracle the engine's unpadding exists to
//! close.
//!
//! Blinding is the token's business: the `rng` argument of `raw_decrypt` is
//! unused (a token takes no randomness from its caller; SoftHSM2 runs OpenSSL,
//! which blinds). Operations run in sessions from a pool (see
//! [`Pkcs11Key::open`]): one C_Decrypt per session at a time, several at once
//! across sessions.
//!
//! The module (a shared library) is loaded and `C_Initialize`d once per path
//! for the life of the process, so that re-opening a key (a configuration
//! reload) reuses it while keys opened earlier are still serving.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use rsatls::pkcs11::{KeySpec, Pkcs11Key};
//!
//! let spec = KeySpec::parse("pkcs11:token=web;object=tls-key;type=private")?;
//! let pin = std::env::var("TOKEN_PIN")?;
//! let key = Pkcs11Key::open("/usr/lib/softhsm/libsofthsm2.so".as_ref(), &spec, Some(&pin), 4)?;
//! let chain = rsatls::pki::load_certificates(&std::fs::read("cert.pem")?)?;
//! let config = rsatls::ServerConfig::with_private_key(
//!     rsatls::crypto::default_provider(),
//!     chain,
//!     Arc::new(key),
//! )?;
//! # let _ = config; Ok(()) }
//! ```

mod pool;
mod uri;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::{Slot, TokenInfo};
use zeroize::{Zeroize, Zeroizing};

use rand_core::CryptoRng;

use crate::crypto::{CryptoError, RsaPrivateKey};

pub use uri::{KeySpec, SpecError};

use pool::SessionPool;

/// Why a PKCS#11 key could not be opened. The messages name what an operator
/// can act on: the module path, the tokens seen, the key asked for.
#[derive(Debug)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The module could not be loaded or initialized.
    Module {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No initialized token matches the key's token attributes.
    NoToken {
        /// What was asked for.
        wanted: String,
        /// The labels of the initialized tokens present.
        present: Vec<String>,
    },
    /// Several tokens match and the key does not say which.
    SeveralTokens(Vec<String>),
    /// The token needs a PIN and none was given.
    PinNeeded(String),
    /// The token refused the PIN (`CKR_PIN_INCORRECT`).
    WrongPin(String),
    /// The token's user PIN is locked or expired.
    PinLocked(String),
    /// No private key on the token matches.
    NoKey {
        /// The token's label.
        token: String,
        /// What was asked for.
        wanted: String,
    },
    /// Several private keys match.
    SeveralKeys {
        /// The token's label.
        token: String,
        /// What was asked for.
        wanted: String,
    },
    /// The key is not an RSA key, or does not allow decryption.
    Unusable {
        /// The token's label.
        token: String,
        /// Why.
        reason: String,
    },
    /// The token does not offer raw RSA decryption (`CKM_RSA_X_509` with
    /// `CKF_DECRYPT`).
    NoRawRsa(String),
    /// Any other failure of a PKCS#11 call.
    Token {
        /// What was being done.
        during: &'static str,
        /// The module's answer.
        reason: String,
    },
}

impl fmt::Display for Pkcs11Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Module { path, reason } => {
                write!(f, "PKCS#11 module {}: {reason}", path.display())
            }
            Self::NoToken { wanted, present } if present.is_empty() => {
                write!(
                    f,
                    "no PKCS#11 token matches {wanted}: the module shows no initialized token"
                )
            }
            Self::NoToken { wanted, present } => write!(
                f,
                "no PKCS#11 token matches {wanted}; tokens present: {}",
                quoted(present)
            ),
            Self::SeveralTokens(labels) => write!(
                f,
                "several PKCS#11 tokens hold keys ({}); name one with pkcs11:token=LABEL;object=...",
                quoted(labels)
            ),
            Self::PinNeeded(token) => write!(f, "PKCS#11 token \"{token}\" needs a PIN"),
            Self::WrongPin(token) => {
                write!(f, "PKCS#11 token \"{token}\" refused the PIN (wrong PIN)")
            }
            Self::PinLocked(token) => {
                write!(
                    f,
                    "PKCS#11 token \"{token}\": the user PIN is locked or expired"
                )
            }
            Self::NoKey { token, wanted } => {
                write!(
                    f,
                    "PKCS#11 token \"{token}\" has no private key with {wanted}"
                )
            }
            Self::SeveralKeys { token, wanted } => write!(
                f,
                "PKCS#11 token \"{token}\" has several private keys with {wanted}; add id= to the pkcs11: URI"
            ),
            Self::Unusable { token, reason } => {
                write!(f, "PKCS#11 token \"{token}\": {reason}")
            }
            Self::NoRawRsa(token) => write!(
                f,
                "PKCS#11 token \"{token}\" does not offer raw RSA decryption (CKM_RSA_X_509 with \
                 CKF_DECRYPT); rsatls does not fall back to CKM_RSA_PKCS, whose padding errors \
                 would be a Bleichenbacher oracle"
            ),
            Self::Token { during, reason } => write!(f, "PKCS#11: {during}: {reason}"),
        }
    }
}

impl std::error::Error for Pkcs11Error {}

fn quoted(labels: &[String]) -> String {
    let labels: Vec<String> = labels.iter().map(|l| format!("\"{l}\"")).collect();
    labels.join(", ")
}

fn token_error(during: &'static str) -> impl FnOnce(CkError) -> Pkcs11Error {
    move |e| Pkcs11Error::Token {
        during,
        reason: e.to_string(),
    }
}

/// The modules loaded so far, by path: each is `C_Initialize`d once and kept
/// for the life of the process (a second `C_Initialize` fails, and unloading a
/// module that other keys still use would pull it from under them).
static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

fn module(path: &Path) -> Result<Pkcs11, Pkcs11Error> {
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, ctx)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(ctx.clone());
    }
    let fail = |reason: String| Pkcs11Error::Module {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    let ctx = Pkcs11::new(path).map_err(|e| fail(format!("cannot load it: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => (),
        Err(e) => return Err(fail(format!("C_Initialize failed: {e}"))),
    }
    modules.push((path.to_path_buf(), ctx.clone()));
    Ok(ctx)
}

/// A token's label, manufacturer, model and serial, as PKCS#11 pads them
/// (blank-padded fixed fields; cryptoki trims them).
fn token_matches(spec: &KeySpec, slot: Slot, info: &TokenInfo) -> bool {
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    eq(&spec.token, info.label())
        && eq(&spec.manufacturer, info.manufacturer_id())
        && eq(&spec.model, info.model())
        && eq(&spec.serial, info.serial_number())
        && spec.slot_id.is_none_or(|id| id == slot.id())
}

/// What a spec asks of the token, for messages.
fn describe_token(spec: &KeySpec) -> String {
    let mut parts = Vec::new();
    let mut add = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{name}=\"{v}\""));
        }
    };
    add("token", &spec.token);
    add("manufacturer", &spec.manufacturer);
    add("model", &spec.model);
    add("serial", &spec.serial);
    if let Some(id) = spec.slot_id {
        parts.push(format!("slot-id={id}"));
    }
    match parts.is_empty() {
        true => "any token".into(),
        false => parts.join(" "),
    }
}

/// What a spec asks of the key, for messages.
fn describe_key(spec: &KeySpec) -> String {
    let mut parts = Vec::new();
    if let Some(label) = &spec.object {
        parts.push(format!("label \"{}\"", String::from_utf8_lossy(label)));
    }
    if let Some(id) = &spec.id {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        parts.push(format!("id {hex}"));
    }
    parts.join(" and ")
}

/// An RSA private key held in a PKCS#11 token; see the [module](self)
/// documentation.
pub struct Pkcs11Key {
    pool: SessionPool,
    key: ObjectHandle,
    token: String,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    bits: usize,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token)
            .field("bits", &self.bits)
            .field("sessions", &self.pool.max())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Loads `module` (once per process), finds the one initialized token
    /// that `spec`'s token attributes match, checks that it offers
    /// `CKM_RSA_X_509` for decryption, logs in with `pin` (if the token needs
    /// one and none is given: [`Pkcs11Error::PinNeeded`]), finds the one RSA
    /// private key `spec` names, reads the modulus and exponent from its
    /// public key object (or from the private key's public attributes), and
    /// checks with one decryption that the key decrypts. Later operations use
    /// up to `sessions` sessions at once (at least 1): size it to the threads
    /// that run private-key operations.
    pub fn open(
        module: &Path,
        spec: &KeySpec,
        pin: Option<&str>,
        sessions: usize,
    ) -> Result<Self, Pkcs11Error> {
        let ctx = self::module(module)?;
        let slots = ctx
            .get_slots_with_initialized_token()
            .map_err(token_error("listing the slots"))?;
        let mut present = Vec::new();
        let mut matching = Vec::new();
        for slot in slots {
            let info = ctx
                .get_token_info(slot)
                .map_err(token_error("reading a token's information"))?;
            present.push(info.label().to_string());
            if token_matches(spec, slot, &info) {
                matching.push((slot, info));
            }
        }
        let (slot, info) = match matching.len() {
            0 => {
                return Err(Pkcs11Error::NoToken {
                    wanted: describe_token(spec),
                    present,
                });
            }
            1 => matching.remove(0),
            _ => {
                let labels = matching.iter().map(|(_, i)| i.label().to_string());
                return Err(Pkcs11Error::SeveralTokens(labels.collect()));
            }
        };
        let token = info.label().to_string();

        // Raw RSA or nothing: never CKM_RSA_PKCS (see the module documentation).
        // Both the list and the information must say so: SoftHSM 2.6 answers
        // C_GetMechanismInfo for a mechanism its configuration took off the
        // list (and then refuses C_DecryptInit with it).
        let listed = ctx
            .get_mechanism_list(slot)
            .map_err(token_error("C_GetMechanismList"))?
            .contains(&MechanismType::RSA_X_509);
        if !listed {
            return Err(Pkcs11Error::NoRawRsa(token));
        }
        match ctx.get_mechanism_info(slot, MechanismType::RSA_X_509) {
            Ok(mech) if mech.decrypt() => (),
            Ok(_) | Err(CkError::Pkcs11(RvError::MechanismInvalid, _)) => {
                return Err(Pkcs11Error::NoRawRsa(token));
            }
            Err(e) => return Err(token_error("C_GetMechanismInfo(CKM_RSA_X_509)")(e)),
        }

        if pin.is_none() && info.login_required() {
            return Err(Pkcs11Error::PinNeeded(token));
        }
        let session = pool::open_session(&ctx, slot, pin).map_err(|e| match e {
            CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _) => {
                Pkcs11Error::WrongPin(token.clone())
            }
            CkError::Pkcs11(RvError::PinLocked | RvError::PinExpired, _) => {
                Pkcs11Error::PinLocked(token.clone())
            }
            other => token_error("opening a session and logging in")(other),
        })?;

        let key = find_private_key(&session, spec, &token)?;
        let (modulus, exponent) = public_parts(&session, key, &token)?;
        let modulus = strip_zeros(modulus);
        let exponent = strip_zeros(exponent);
        let bits = match modulus.first() {
            Some(&top) => modulus.len() * 8 - top.leading_zeros() as usize,
            None => {
                return Err(Pkcs11Error::Unusable {
                    token,
                    reason: "the key's modulus is empty".into(),
                });
            }
        };
        let pin = pin.map(|p| Zeroizing::new(p.to_string()));
        let pool = SessionPool::new(ctx, slot, pin, sessions, session);
        let this = Self {
            pool,
            key,
            token,
            modulus,
            exponent,
            bits,
        };
        this.check_decrypts()?;
        Ok(this)
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        &self.token
    }

    /// How many sessions operations may use at once.
    pub fn sessions(&self) -> usize {
        self.pool.max()
    }

    /// Decrypts the representative 1 (whose raw RSA result is 1): proves at
    /// start that the token lets this key decrypt with `CKM_RSA_X_509`
    /// (`CKA_DECRYPT`, the session's login) rather than at the first client.
    fn check_decrypts(&self) -> Result<(), Pkcs11Error> {
        let k = self.modulus.len();
        let mut one = vec![0u8; k];
        one[k - 1] = 1;
        let mut out = vec![0u8; k];
        let reason = match self.decrypt(&one, &mut out) {
            Ok(()) if out == one => return Ok(()),
            Ok(()) => "a test decryption with CKM_RSA_X_509 gave a wrong result".to_string(),
            Err(e) => format!("a test decryption with CKM_RSA_X_509 failed: {e}"),
        };
        Err(Pkcs11Error::Unusable {
            token: self.token.clone(),
            reason,
        })
    }

    /// C_Decrypt with `CKM_RSA_X_509` on a pooled session, the result
    /// left-padded to `out.len()` (the modulus length). A token may strip
    /// leading zero bytes from a raw result (PKCS#11 leaves it open); SoftHSM2
    /// returns all k bytes, so nothing is padded there.
    fn decrypt(&self, ciphertext: &[u8], out: &mut [u8]) -> Result<(), CkError> {
        let lease = self.pool.take()?;
        let result = lease
            .session()
            .decrypt(&Mechanism::RsaX509, self.key, ciphertext);
        let mut plain = match result {
            Ok(plain) => Zeroizing::new(plain),
            Err(e) => {
                lease.discard_if_broken(&e);
                return Err(e);
            }
        };
        drop(lease);
        let fits = left_pad(&plain, out);
        plain.zeroize();
        fits.map_err(|()| CkError::InvalidValue)
    }
}

/// Writes `value` into `out` right-aligned, zeros before it; a value longer
/// than `out` is refused. The length is the token's business (SoftHSM2
/// always answers k bytes); the bytes are not looked at.
fn left_pad(value: &[u8], out: &mut [u8]) -> Result<(), ()> {
    let pad = out.len().checked_sub(value.len()).ok_or(())?;
    out[..pad].fill(0);
    out[pad..].copy_from_slice(value);
    Ok(())
}

impl RsaPrivateKey for Pkcs11Key {
    fn modulus_len(&self) -> usize {
        self.modulus.len()
    }

    fn modulus_bits(&self) -> usize {
        self.bits
    }

    fn public_modulus(&self) -> Vec<u8> {
        self.modulus.clone()
    }

    fn public_exponent(&self) -> Vec<u8> {
        self.exponent.clone()
    }

    /// `rng` is unused: the token blinds with its own randomness.
    fn raw_decrypt(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
        _rng: &mut dyn CryptoRng,
    ) -> Result<(), CryptoError> {
        let k = self.modulus.len();
        if ciphertext.len() != k || out.len() != k {
            return Err(CryptoError);
        }
        self.decrypt(ciphertext, out).map_err(|_| {
            out.fill(0);
            CryptoError
        })
    }
}

/// The one RSA private key on the token that `spec` names.
fn find_private_key(
    session: &Session,
    spec: &KeySpec,
    token: &str,
) -> Result<ObjectHandle, Pkcs11Error> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if let Some(label) = &spec.object {
        template.push(Attribute::Label(label.clone()));
    }
    if let Some(id) = &spec.id {
        template.push(Attribute::Id(id.clone()));
    }
    let found = session
        .find_objects(&template)
        .map_err(token_error("searching for the private key"))?;
    let wanted = || describe_key(spec);
    let key = match found.as_slice() {
        [] => {
            return Err(Pkcs11Error::NoKey {
                token: token.into(),
                wanted: wanted(),
            });
        }
        [key] => *key,
        _ => {
            return Err(Pkcs11Error::SeveralKeys {
                token: token.into(),
                wanted: wanted(),
            });
        }
    };
    let attrs = session
        .get_attributes(key, &[AttributeType::KeyType, AttributeType::Decrypt])
        .map_err(token_error("reading the private key's attributes"))?;
    let unusable = |reason: &str| Pkcs11Error::Unusable {
        token: token.into(),
        reason: format!("the private key with {}: {reason}", wanted()),
    };
    for attr in attrs {
        match attr {
            Attribute::KeyType(t) if t != KeyType::RSA => {
                return Err(unusable("is not an RSA key"));
            }
            Attribute::Decrypt(false) => {
                return Err(unusable("does not allow decryption (CKA_DECRYPT is false)"));
            }
            _ => (),
        }
    }
    Ok(key)
}

/// The modulus and public exponent: from the public key object with the
/// private key's CKA_ID (or, without one, its label), or else from the
/// private key itself (PKCS#11 RSA private keys carry both as public
/// attributes).
fn public_parts(
    session: &Session,
    private: ObjectHandle,
    token: &str,
) -> Result<(Vec<u8>, Vec<u8>), Pkcs11Error> {
    let naming = session
        .get_attributes(private, &[AttributeType::Id, AttributeType::Label])
        .map_err(token_error("reading the private key's id and label"))?;
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::RSA),
    ];
    let id = naming.iter().find_map(|a| match a {
        Attribute::Id(id) if !id.is_empty() => Some(Attribute::Id(id.clone())),
        _ => None,
    });
    let label = naming.iter().find_map(|a| match a {
        Attribute::Label(l) if !l.is_empty() => Some(Attribute::Label(l.clone())),
        _ => None,
    });
    let public = match id.or(label) {
        Some(name) => {
            template.push(name);
            let found = session
                .find_objects(&template)
                .map_err(token_error("searching for the public key"))?;
            match found.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        }
        None => None,
    };
    let object = public.unwrap_or(private);
    let attrs = session
        .get_attributes(
            object,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
        )
        .map_err(token_error("reading the key's modulus and exponent"))?;
    let mut modulus = None;
    let mut exponent = None;
    for attr in attrs {
        match attr {
            Attribute::Modulus(n) => modulus = Some(n),
            Attribute::PublicExponent(e) => exponent = Some(e),
            _ => (),
        }
    }
    match modulus.zip(exponent) {
        Some(parts) => Ok(parts),
        None => Err(Pkcs11Error::Unusable {
            token: token.into(),
            reason:
                "the token shows neither a public key nor the private key's modulus and exponent"
                    .into(),
        }),
    }
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|&&b| b == 0).count();
    v.drain(..zeros);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token that strips the leading zeros of a raw result still yields a
    /// k-byte answer; a longer one is refused.
    #[test]
    fn results_are_left_padded_to_the_modulus_length() {
        let mut out = [0xeeu8; 6];
        left_pad(&[0, 2, 7], &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 0, 2, 7]);
        left_pad(&[2, 7], &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 0, 2, 7]);
        left_pad(&[1, 2, 3, 4, 5, 6], &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4, 5, 6]);
        assert!(left_pad(&[1; 7], &mut out).is_err());
    }
}
