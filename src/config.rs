//! Client and server configuration.

use std::fmt;
use std::sync::Arc;

use crate::crypto::{CryptoProvider, RsaPrivateKey};
use crate::error::Error;
use crate::pki::{self, Pin, PrivateKeyFile};
use crate::rsa_kx::MIN_RSA_BITS;
use crate::suites::{ALL_SUITES, Suite};

/// Default bound on one handshake message, in bytes.
pub const DEFAULT_MAX_HANDSHAKE_SIZE: usize = 64 * 1024;

/// Receives key material for debugging and for decrypting captures, in the NSS
/// key log format (`SSLKEYLOGFILE`).
///
/// rsatls calls it once per connection with `label = "CLIENT_RANDOM"`, the client
/// random and the master secret. Clients additionally log the premaster with the
/// NSS `RSA` label keyed by the first 8 bytes of the encrypted premaster.
pub trait KeyLog: Send + Sync {
    /// Records one secret.
    fn log(&self, label: &'static str, key: &[u8], secret: &[u8]);
}

/// Formats one NSS key log line: `LABEL <hex key> <hex secret>` (no newline).
pub fn key_log_line(label: &str, key: &[u8], secret: &[u8]) -> String {
    let mut line = String::with_capacity(label.len() + 2 + 2 * (key.len() + secret.len()));
    line.push_str(label);
    line.push(' ');
    hex_into(&mut line, key);
    line.push(' ');
    hex_into(&mut line, secret);
    line
}

fn hex_into(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
}

/// Settings shared by both sides.
#[derive(Clone)]
pub(crate) struct Common {
    pub(crate) provider: Arc<dyn CryptoProvider>,
    pub(crate) suites: Vec<&'static Suite>,
    pub(crate) require_ems: bool,
    pub(crate) max_handshake_size: usize,
    pub(crate) key_log: Option<Arc<dyn KeyLog>>,
}

impl Common {
    fn new(provider: Arc<dyn CryptoProvider>) -> Self {
        Self {
            provider,
            suites: ALL_SUITES.to_vec(),
            require_ems: true,
            max_handshake_size: DEFAULT_MAX_HANDSHAKE_SIZE,
            key_log: None,
        }
    }

    fn set_suites(&mut self, suites: &[&'static Suite]) -> Result<(), Error> {
        if suites.is_empty() {
            return Err(Error::Config("at least one cipher suite is required"));
        }
        self.suites = suites.to_vec();
        Ok(())
    }
}

impl fmt::Debug for Common {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Common")
            .field("provider", &self.provider.name())
            .field(
                "suites",
                &self.suites.iter().map(|s| s.name).collect::<Vec<_>>(),
            )
            .field("require_ems", &self.require_ems)
            .field("max_handshake_size", &self.max_handshake_size)
            .field("key_log", &self.key_log.is_some())
            .finish()
    }
}

macro_rules! common_setters {
    () => {
        /// Replaces the cipher suites, in preference order (the server's order wins).
        pub fn with_suites(mut self, suites: &[&'static Suite]) -> Result<Self, Error> {
            self.common.set_suites(suites)?;
            Ok(self)
        }

        /// Allows peers that do not negotiate Extended Master Secret (RFC 7627).
        ///
        /// Off by default. Sessions without EMS are reported as such in
        /// [`crate::HandshakeInfo::extended_master_secret`]; they are open to the
        /// triple-handshake class of attacks.
        pub fn with_allow_no_ems(mut self, allow: bool) -> Self {
            self.common.require_ems = !allow;
            self
        }

        /// Bounds the size of one handshake message (default 64 KiB).
        pub fn with_max_handshake_size(mut self, bytes: usize) -> Self {
            self.common.max_handshake_size = bytes.clamp(1024, 0xff_ffff);
            self
        }

        /// Installs a key log.
        pub fn with_key_log(mut self, key_log: Arc<dyn KeyLog>) -> Self {
            self.common.key_log = Some(key_log);
            self
        }
    };
}

/// A server's configuration: its certificate chain and RSA key, and policy.
#[derive(Debug)]
pub struct ServerConfig {
    pub(crate) common: Common,
    pub(crate) chain: Vec<Vec<u8>>,
    pub(crate) key: KeyHandle,
}

/// An RSA private key behind the provider.
pub(crate) struct KeyHandle(pub(crate) Box<dyn RsaPrivateKey>);

impl fmt::Debug for KeyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({} bits)", self.0.modulus_bits())
    }
}

impl ServerConfig {
    /// Builds a configuration from a DER certificate chain (leaf first) and a key.
    ///
    /// Checks that the key is RSA of at least 2048 bits and that it matches the
    /// leaf certificate's public key.
    pub fn new(
        provider: Arc<dyn CryptoProvider>,
        chain: Vec<Vec<u8>>,
        key: &PrivateKeyFile,
    ) -> Result<Self, Error> {
        let leaf = chain
            .first()
            .ok_or(Error::Config("empty certificate chain"))?;
        let info = pki::rsa_key_from_certificate(leaf)
            .map_err(|_| Error::Config("leaf certificate has no usable RSA public key"))?;
        let key = provider
            .rsa_private_key(key.as_der())
            .map_err(|_| Error::Config("private key could not be loaded"))?;
        if key.modulus_bits() < MIN_RSA_BITS {
            return Err(Error::Config("RSA key is smaller than 2048 bits"));
        }
        if key.public_modulus() != info.modulus || key.public_exponent() != info.exponent {
            return Err(Error::Config("private key does not match the certificate"));
        }
        Ok(Self {
            common: Common::new(provider),
            chain,
            key: KeyHandle(key),
        })
    }

    /// Builds a configuration from PEM or DER certificate and key files' contents.
    pub fn from_pem_or_der(
        provider: Arc<dyn CryptoProvider>,
        certs: &[u8],
        key: &[u8],
    ) -> Result<Self, Error> {
        let chain = pki::load_certificates(certs)?;
        let key = pki::load_private_key(key)?;
        Self::new(provider, chain, &key)
    }

    common_setters!();

    /// The leaf certificate.
    pub fn leaf(&self) -> &[u8] {
        &self.chain[0]
    }
}

/// How a client decides to trust a server's key.
#[derive(Clone, Debug)]
pub enum ServerAuth {
    /// The SHA-256 of the leaf's SubjectPublicKeyInfo must equal one of these
    /// (curl's `--pinnedpubkey sha256//…`).
    Pins(Vec<Pin>),
    /// The leaf certificate must be byte-identical to one of these DER certificates.
    TrustedCertificates(Vec<Vec<u8>>),
    /// Accepts any RSA key of acceptable size. For tests only: it gives no
    /// authentication at all.
    DangerousAcceptAnyKeyForTestingOnly,
}

/// A client's configuration.
#[derive(Debug)]
pub struct ClientConfig {
    pub(crate) common: Common,
    pub(crate) auth: ServerAuth,
}

impl ClientConfig {
    /// A client that authenticates servers with `auth`.
    pub fn new(provider: Arc<dyn CryptoProvider>, auth: ServerAuth) -> Self {
        Self {
            common: Common::new(provider),
            auth,
        }
    }

    common_setters!();
}
