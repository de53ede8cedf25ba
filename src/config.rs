//! Client and server configuration.

use std::fmt;
use std::sync::Arc;

use crate::crypto::{CryptoProvider, RsaPrivateKey};
use crate::error::Error;
use crate::pki::{self, Pin, PrivateKeyFile};
use crate::rsa_kx::MIN_RSA_BITS;
use crate::suites::{ALL_SUITES, Suite};
use crate::verify;

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
    /// ALPN protocol names (RFC 7301): the client's offer, or the server's
    /// preference list. Empty: ALPN is off.
    pub(crate) alpn_protocols: Vec<Vec<u8>>,
}

impl Common {
    fn new(provider: Arc<dyn CryptoProvider>) -> Self {
        Self {
            provider,
            suites: ALL_SUITES.to_vec(),
            require_ems: true,
            max_handshake_size: DEFAULT_MAX_HANDSHAKE_SIZE,
            key_log: None,
            alpn_protocols: Vec::new(),
        }
    }

    fn set_suites(&mut self, suites: &[&'static Suite]) -> Result<(), Error> {
        if suites.is_empty() {
            return Err(Error::Config("at least one cipher suite is required"));
        }
        self.suites = suites.to_vec();
        Ok(())
    }

    fn set_alpn_protocols(&mut self, protocols: &[&[u8]]) -> Result<(), Error> {
        // RFC 7301 §3.1: ProtocolName<1..2^8-1>, and the whole
        // ProtocolNameList<2..2^16-1> must fit in one extension.
        if protocols
            .iter()
            .any(|p| p.is_empty() || p.len() > MAX_ALPN_NAME_LEN)
        {
            return Err(Error::Config(
                "an ALPN protocol name must have 1 to 255 bytes",
            ));
        }
        let encoded: usize = protocols.iter().map(|p| 1 + p.len()).sum();
        if encoded > MAX_ALPN_LIST_LEN {
            return Err(Error::Config("the ALPN protocol list is too long"));
        }
        self.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        Ok(())
    }
}

/// Longest ALPN protocol name (RFC 7301 §3.1: `opaque ProtocolName<1..2^8-1>`).
const MAX_ALPN_NAME_LEN: usize = 255;

/// Longest encoded ALPN list we offer: the extension body (2-byte list length
/// then the list) must fit the 2^16-1 bytes of an extension.
const MAX_ALPN_LIST_LEN: usize = 0xffff - 2;

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
            .field("alpn_protocols", &self.alpn_protocols.len())
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

        /// Bounds the size of one handshake message (default 64 KiB). A
        /// ClientHello is not held to it but to the largest one the wire format
        /// allows ([`crate::msgs::handshake::MAX_CLIENT_HELLO_LEN`]), since
        /// RFC 5246 lets any client send that much.
        pub fn with_max_handshake_size(mut self, bytes: usize) -> Self {
            self.common.max_handshake_size = bytes.clamp(1024, 0xff_ffff);
            self
        }

        /// Installs a key log.
        pub fn with_key_log(mut self, key_log: Arc<dyn KeyLog>) -> Self {
            self.common.key_log = Some(key_log);
            self
        }

        /// Sets the ALPN protocols (RFC 7301), such as `b"http/1.1"`, in
        /// preference order. A client offers them in this order; a server
        /// selects the first of its own list that the client offered, and
        /// refuses a client whose offer has none of them with
        /// `no_application_protocol`. Empty (the default): ALPN is off, and a
        /// server ignores the client's offer.
        ///
        /// The negotiated protocol is [`crate::HandshakeInfo::alpn_protocol`].
        ///
        /// # Errors
        /// [`Error::Config`] if a name is empty or longer than 255 bytes, or the
        /// list does not fit in one extension.
        pub fn with_alpn_protocols(mut self, protocols: &[&[u8]]) -> Result<Self, Error> {
            self.common.set_alpn_protocols(protocols)?;
            Ok(self)
        }
    };
}

/// A server's configuration: its certificate chains and RSA keys, and policy.
///
/// A server holds one chain and key (the default) and optionally more, chosen by
/// the name the client asks for in SNI (RFC 6066): the first chain whose leaf
/// is valid for that name (a DNS name in its subjectAltName, compared without
/// regard to case; a `*.` wildcard covers one label) is sent, and the default
/// otherwise.
#[derive(Debug)]
pub struct ServerConfig {
    pub(crate) common: Common,
    /// The default first, then the others in the order they were added.
    pub(crate) certs: Vec<CertifiedKey>,
    /// Client authentication (mutual TLS), if the server asks for certificates.
    pub(crate) client_auth: Option<ClientAuth>,
    /// Whether the private-key operation is handed to the caller
    /// ([`ServerConfig::with_private_key_offload`]).
    pub(crate) offload_private_key: bool,
}

/// Whether a server that asks for client certificates insists on one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuthMode {
    /// A client that sends no certificate is refused with handshake_failure.
    Required,
    /// A client may answer with an empty Certificate and go on unauthenticated;
    /// a certificate that is sent must still validate.
    Optional,
}

/// A server's client-authentication policy: the trust anchors client chains
/// must lead to, and whether a certificate is required.
#[derive(Debug)]
pub(crate) struct ClientAuth {
    /// Trust anchors, DER certificates (the ones that parse as anchors).
    pub(crate) roots: Vec<Vec<u8>>,
    pub(crate) mode: ClientAuthMode,
    /// The roots' subject names, as the CertificateRequest lists them
    /// (bounded): computed once here rather than for every ClientHello.
    pub(crate) ca_names: Vec<Vec<u8>>,
}

/// A certificate chain (leaf first) and the private key of its leaf.
#[derive(Debug)]
pub(crate) struct CertifiedKey {
    pub(crate) chain: Vec<Vec<u8>>,
    pub(crate) key: KeyHandle,
}

impl CertifiedKey {
    /// Checks that `key` is RSA of at least 2048 bits and matches the leaf.
    fn new(
        provider: &dyn CryptoProvider,
        chain: Vec<Vec<u8>>,
        key: &PrivateKeyFile,
    ) -> Result<Self, Error> {
        let leaf = chain
            .first()
            .ok_or(Error::Config("empty certificate chain"))?;
        // The certificate is judged before the key is loaded, as it always was.
        pki::rsa_key_from_certificate(leaf)
            .map_err(|_| Error::Config("leaf certificate has no usable RSA public key"))?;
        let key = provider
            .rsa_private_key(key.as_der())
            .map_err(|_| Error::Config("private key could not be loaded"))?;
        Self::with_key(chain, Arc::from(key))
    }

    /// Checks that `key`, from any source, is RSA of at least 2048 bits and
    /// matches the leaf.
    fn with_key(chain: Vec<Vec<u8>>, key: Arc<dyn RsaPrivateKey>) -> Result<Self, Error> {
        let leaf = chain
            .first()
            .ok_or(Error::Config("empty certificate chain"))?;
        let info = pki::rsa_key_from_certificate(leaf)
            .map_err(|_| Error::Config("leaf certificate has no usable RSA public key"))?;
        if key.modulus_bits() < MIN_RSA_BITS {
            return Err(Error::Config("RSA key is smaller than 2048 bits"));
        }
        if key.public_modulus() != info.modulus || key.public_exponent() != info.exponent {
            return Err(Error::Config("private key does not match the certificate"));
        }
        Ok(Self {
            chain,
            key: KeyHandle(key),
        })
    }
}

/// An RSA private key: loaded by the provider, or any other implementation of
/// [`RsaPrivateKey`] (a key held in a token). Shared, so that a private-key
/// operation handed out to another thread can carry it
/// ([`crate::PrivateKeyOperation`]).
pub(crate) struct KeyHandle(pub(crate) Arc<dyn RsaPrivateKey>);

impl fmt::Debug for KeyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({} bits)", self.0.modulus_bits())
    }
}

impl ServerConfig {
    /// Builds a configuration from a DER certificate chain (leaf first) and a key.
    ///
    /// Checks that the key is RSA of at least 2048 bits and that it matches the
    /// leaf certificate's public key. This chain is the default one.
    pub fn new(
        provider: Arc<dyn CryptoProvider>,
        chain: Vec<Vec<u8>>,
        key: &PrivateKeyFile,
    ) -> Result<Self, Error> {
        let default = CertifiedKey::new(provider.as_ref(), chain, key)?;
        Ok(Self {
            common: Common::new(provider),
            certs: vec![default],
            client_auth: None,
            offload_private_key: false,
        })
    }

    /// Builds a configuration from a DER certificate chain (leaf first) and a
    /// private key that was not loaded from a file by the provider: any
    /// implementation of [`RsaPrivateKey`], such as a key that stays in a
    /// PKCS#11 token. The same checks as [`ServerConfig::new`] apply.
    pub fn with_private_key(
        provider: Arc<dyn CryptoProvider>,
        chain: Vec<Vec<u8>>,
        key: Arc<dyn RsaPrivateKey>,
    ) -> Result<Self, Error> {
        let default = CertifiedKey::with_key(chain, key)?;
        Ok(Self {
            common: Common::new(provider),
            certs: vec![default],
            client_auth: None,
            offload_private_key: false,
        })
    }

    /// Hands the ClientKeyExchange's private-key operation to the caller
    /// instead of running it inside [`poll_event`](crate::Connection::poll_event):
    /// the connection yields [`Event::PrivateKeyOperation`](crate::Event::PrivateKeyOperation),
    /// holds its input until
    /// [`complete_private_key_operation`](crate::Connection::complete_private_key_operation)
    /// is called, and then goes on. For keys whose operation is slow or
    /// remote (a token, a key server), or to keep it off an event loop's
    /// threads. Off by default: the operation runs inline.
    ///
    /// A runnable example, with a "key server" thread completing the
    /// operations over channels: `examples/key_server.rs`
    /// (`cargo run --release --example key_server`).
    pub fn with_private_key_offload(mut self, offload: bool) -> Self {
        self.offload_private_key = offload;
        self
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

    /// Adds another certificate chain (leaf first) and its key, sent to
    /// clients whose SNI names a DNS name the leaf is valid for (see the type's
    /// documentation). Chains added earlier win when several match.
    ///
    /// # Errors
    /// [`Error::Config`] as for [`ServerConfig::new`], or if the leaf does not
    /// parse as an X.509 v3 certificate.
    pub fn with_certificate(
        mut self,
        chain: Vec<Vec<u8>>,
        key: &PrivateKeyFile,
    ) -> Result<Self, Error> {
        let added = CertifiedKey::new(self.common.provider.as_ref(), chain, key)?;
        if !verify::parses_as_end_entity(&added.chain[0]) {
            return Err(Error::Config("leaf certificate does not parse as X.509 v3"));
        }
        self.certs.push(added);
        Ok(self)
    }

    /// Asks clients for a certificate (mutual TLS) and validates the chain a
    /// client sends to one of `roots` (DER certificates), at the time given to
    /// [`crate::ServerConnection::new_at`]: the leaf must allow clientAuth if it
    /// has an extendedKeyUsage, allow digitalSignature if it has a keyUsage,
    /// and hold an RSA key of 2048 to 8192 bits; the client must then prove it
    /// holds the key with a CertificateVerify (RFC 5246 §7.4.8).
    ///
    /// A connection made with [`crate::ServerConnection::new`] has no time to
    /// validate chains at, so with client authentication on it fails at the
    /// ClientHello.
    ///
    /// # Errors
    /// [`Error::Config`] if no certificate of `roots` parses as a trust anchor.
    pub fn with_client_auth(
        mut self,
        roots: Vec<Vec<u8>>,
        mode: ClientAuthMode,
    ) -> Result<Self, Error> {
        if !roots.iter().any(|r| verify::parses_as_trust_anchor(r)) {
            return Err(Error::Config(
                "no client CA certificate parses as a trust anchor",
            ));
        }
        let ca_names = verify::subject_names(&roots);
        self.client_auth = Some(ClientAuth {
            roots,
            mode,
            ca_names,
        });
        Ok(self)
    }

    common_setters!();

    /// The default chain's leaf certificate.
    pub fn leaf(&self) -> &[u8] {
        &self.certs[0].chain[0]
    }

    /// The index in `certs` of the chain for a client that asked for
    /// `server_name` (SNI): the first whose leaf is valid for it, else the
    /// default (0).
    pub(crate) fn select(&self, server_name: Option<&str>) -> usize {
        let Some(name) = server_name else {
            return 0;
        };
        self.certs
            .iter()
            .position(|c| verify::leaf_is_valid_for_dns_name(&c.chain[0], name))
            .unwrap_or(0)
    }
}

/// How a client decides to trust a server's key.
///
/// Whatever the mode, the leaf's key must be RSA of 2048 to 8192 bits, and if
/// the leaf has a keyUsage extension it must allow keyEncipherment (RFC 5246
/// §7.4.2): otherwise [`crate::CertificateError::KeySize`] or
/// [`crate::CertificateError::NoKeyEncipherment`].
#[derive(Clone, Debug)]
pub enum ServerAuth {
    /// The SHA-256 of the leaf's SubjectPublicKeyInfo must equal one of these
    /// (curl's `--pinnedpubkey sha256//…`). Only the leaf's key is pinned; the
    /// chain, the name and the validity period are not checked.
    Pins(Vec<Pin>),
    /// Trust anchors, as DER certificates. A leaf byte-identical to one of them
    /// (a self-signed server, say) needs no chain, but must still be valid for
    /// the server name, allow serverAuth if it has an extendedKeyUsage, and be
    /// valid at the time the connection was given
    /// ([`crate::ClientConnection::new_at`]; a connection made with
    /// [`crate::ClientConnection::new`] has no time and checks no period).
    /// Otherwise the chain the server sent must lead from its leaf to one of
    /// them (RFC 5280 path validation by `rustls-webpki`, signatures checked by
    /// the configuration's crypto provider), every certificate in it must be
    /// valid at the time the connection was given (`new` cannot validate a
    /// chain), and the leaf must be valid for the server name (a DNS name or an
    /// IP address in its subjectAltName). Anchors that do not parse are skipped.
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
    /// The client's own certificate chain and key, sent when a server asks.
    pub(crate) client_cert: Option<CertifiedKey>,
}

impl ClientConfig {
    /// A client that authenticates servers with `auth`.
    pub fn new(provider: Arc<dyn CryptoProvider>, auth: ServerAuth) -> Self {
        Self {
            common: Common::new(provider),
            auth,
            client_cert: None,
        }
    }

    /// Gives the client a certificate chain (leaf first) and the leaf's RSA
    /// key, sent when a server asks for a certificate (RFC 5246 §7.4.4) with
    /// rsa_sign among its certificate types and a signature algorithm the
    /// client can use; otherwise the client answers with an empty Certificate.
    /// The client proves it holds the key with a CertificateVerify, preferring
    /// RSA-PSS, then PKCS#1 v1.5, with SHA-256 or stronger.
    ///
    /// # Errors
    /// [`Error::Config`] as for [`ServerConfig::new`]: the key must be RSA of
    /// at least 2048 bits and match the leaf.
    pub fn with_client_certificate(
        mut self,
        chain: Vec<Vec<u8>>,
        key: &PrivateKeyFile,
    ) -> Result<Self, Error> {
        let certified = CertifiedKey::new(self.common.provider.as_ref(), chain, key)?;
        self.client_cert = Some(certified);
        Ok(self)
    }

    common_setters!();
}
