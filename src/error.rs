//! The one error type, and the one place errors become alerts.

use core::fmt;

use crate::msgs::enums::AlertDescription;

/// Everything that can end a connection.
///
/// Every error is fatal and sticky: once a connection has returned one, it keeps
/// returning the same error and has queued at most one alert (see
/// [`Error::alert`]). Context strings are static: no error carries secret or
/// peer-controlled data.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The peer sent bytes that do not decode as the structure expected.
    Decode(&'static str),
    /// The peer sent a message that is not allowed in the current state.
    UnexpectedMessage {
        /// What the state machine was waiting for.
        expected: &'static str,
        /// What arrived instead.
        got: &'static str,
    },
    /// The peer's message decoded but breaks a protocol rule.
    PeerMisbehaved(Misbehavior),
    /// No acceptable parameters (suite, compression, EMS) could be agreed.
    HandshakeFailure(&'static str),
    /// The client offered ALPN protocols (RFC 7301) and the server supports
    /// none of them.
    NoApplicationProtocol,
    /// The peer does not speak TLS 1.2.
    ProtocolVersion,
    /// The client signalled a fallback (RFC 7507) to a version below our best.
    InappropriateFallback,
    /// The server's certificate or key was refused.
    BadCertificate(CertificateError),
    /// A protected record failed to authenticate.
    BadRecordMac,
    /// A record exceeded the size limits of RFC 5246 §6.2.
    RecordOverflow,
    /// The peer's Finished decrypted but its verify_data is wrong.
    DecryptError,
    /// The peer sent a fatal alert.
    AlertReceived(AlertDescription),
    /// The peer closed the connection with close_notify.
    PeerClosed,
    /// The transport ended without the peer's close_notify: a truncation, not a
    /// clean close.
    UnexpectedEof,
    /// 2^24 records were protected in one direction; the connection was closed
    /// with close_notify rather than exceed the AES-GCM usage bound.
    RecordLimitReached,
    /// Too many consecutive warning alerts or empty records (CVE-2016-8610).
    TooManyEmptyRecords,
    /// Application data was offered before the handshake completed or after close.
    NotConnected,
    /// An internal failure (a provider error, say). Never caused by peer input alone.
    Internal(&'static str),
    /// A configuration or key/certificate loading problem (local, never on the wire).
    Config(&'static str),
}

/// Protocol rule violations that map to specific alerts.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehavior {
    /// The same extension twice in one hello (RFC 5246 §7.4.1.4).
    DuplicateExtension,
    /// An extension in ServerHello that the client did not offer (RFC 5246 §7.4.1.4).
    UnsolicitedExtension,
    /// A field with a value outside its allowed set.
    IllegalParameter(&'static str),
    /// renegotiation_info had the wrong contents (RFC 5746 §3.4, §3.6).
    BadRenegotiationInfo,
    /// Extended Master Secret was negotiated and then dropped, or the reverse.
    EmsMismatch,
}

/// Why the peer's certificate was refused: the server's, by a client, or the
/// client's, by a server that asked for one.
///
/// The chain-validation reasons (from [`NotValidForName`](Self::NotValidForName)
/// on) come from validating the peer's chain to trust anchors
/// ([`crate::ServerAuth::TrustedCertificates`] on a client,
/// [`crate::ServerConfig::with_client_auth`] on a server).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateError {
    /// The certificate message or a certificate could not be parsed.
    Malformed,
    /// The server's key matches no configured pin, or (on a connection made
    /// without the time, which chain validation needs) its leaf is no trusted
    /// certificate.
    NotTrusted,
    /// The peer's leaf key is not an RSA key.
    NotRsa,
    /// The peer's RSA key is outside 2048..=8192 bits.
    KeySize,
    /// The leaf's keyUsage extension is present but lacks keyEncipherment, so
    /// its key may not encrypt the premaster secret (RFC 5246 §7.4.2, RFC 5280
    /// §4.2.1.3). Checked whatever made the key trusted.
    NoKeyEncipherment,
    /// The client's leaf's keyUsage extension is present but lacks
    /// digitalSignature, so its key may not sign the CertificateVerify (RFC 5246
    /// §7.4.8, RFC 5280 §4.2.1.3).
    NoDigitalSignature,
    /// The leaf is not valid for the server name (DNS name or IP address) the
    /// client connected to, or the client gave no name to check.
    NotValidForName,
    /// No chain leads from the peer's leaf to a trusted certificate.
    UnknownIssuer,
    /// A certificate of the chain has expired.
    Expired,
    /// A certificate of the chain is not valid yet.
    NotYetValid,
    /// A signature in the chain does not verify.
    BadSignature,
    /// A certificate is signed with an algorithm (or a key) that the crypto
    /// provider cannot verify, or has a critical extension or version that the
    /// validator does not support.
    Unsupported,
    /// The chain breaks another rule of the web PKI profile (RFC 5280): a CA
    /// certificate used as the leaf, a leaf used as a CA, a path length or name
    /// constraint, the extended key usage, an invalid extension.
    InvalidChain,
}

impl Error {
    /// The alert this error sends to the peer, if any.
    ///
    /// This is the only place errors are mapped to alerts.
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        Some(match self {
            Self::Decode(_) => A::DECODE_ERROR,
            Self::UnexpectedMessage { .. } => A::UNEXPECTED_MESSAGE,
            Self::PeerMisbehaved(m) => match m {
                Misbehavior::DuplicateExtension | Misbehavior::IllegalParameter(_) => {
                    A::ILLEGAL_PARAMETER
                }
                Misbehavior::UnsolicitedExtension => A::UNSUPPORTED_EXTENSION,
                Misbehavior::BadRenegotiationInfo | Misbehavior::EmsMismatch => {
                    A::HANDSHAKE_FAILURE
                }
            },
            Self::HandshakeFailure(_) => A::HANDSHAKE_FAILURE,
            // RFC 7301 §3.2.
            Self::NoApplicationProtocol => A::NO_APPLICATION_PROTOCOL,
            Self::ProtocolVersion => A::PROTOCOL_VERSION,
            Self::InappropriateFallback => A::INAPPROPRIATE_FALLBACK,
            // RFC 5246 §7.2.2: bad_certificate covers corrupt certificates and
            // signatures that do not verify; a wrong name and a pin mismatch are
            // refused the same way.
            Self::BadCertificate(c) => match c {
                CertificateError::Malformed
                | CertificateError::NotTrusted
                | CertificateError::NotValidForName
                | CertificateError::BadSignature
                | CertificateError::InvalidChain => A::BAD_CERTIFICATE,
                // A key whose certificate forbids encipherment is a certificate of
                // a type RSA key exchange cannot use.
                CertificateError::NotRsa
                | CertificateError::KeySize
                | CertificateError::NoKeyEncipherment
                | CertificateError::NoDigitalSignature
                | CertificateError::Unsupported => A::UNSUPPORTED_CERTIFICATE,
                CertificateError::UnknownIssuer => A::UNKNOWN_CA,
                CertificateError::Expired | CertificateError::NotYetValid => A::CERTIFICATE_EXPIRED,
            },
            Self::BadRecordMac => A::BAD_RECORD_MAC,
            Self::RecordOverflow => A::RECORD_OVERFLOW,
            Self::DecryptError => A::DECRYPT_ERROR,
            Self::TooManyEmptyRecords => A::UNEXPECTED_MESSAGE,
            Self::RecordLimitReached => A::CLOSE_NOTIFY,
            Self::Internal(_) => A::INTERNAL_ERROR,
            // We do not answer a fatal alert, nor a close, with an alert of our own.
            Self::AlertReceived(_)
            | Self::PeerClosed
            | Self::UnexpectedEof
            | Self::NotConnected
            | Self::Config(_) => {
                return None;
            }
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(what) => write!(f, "decode error: {what}"),
            Self::UnexpectedMessage { expected, got } => {
                write!(f, "unexpected message: expected {expected}, got {got}")
            }
            Self::PeerMisbehaved(m) => write!(f, "peer misbehaved: {m}"),
            Self::HandshakeFailure(why) => write!(f, "handshake failure: {why}"),
            Self::NoApplicationProtocol => f.write_str("no application protocol (ALPN) in common"),
            Self::ProtocolVersion => f.write_str("peer does not support TLS 1.2"),
            Self::InappropriateFallback => f.write_str("inappropriate fallback (RFC 7507)"),
            Self::BadCertificate(c) => write!(f, "peer's certificate refused: {c}"),
            Self::BadRecordMac => f.write_str("record failed to authenticate (bad_record_mac)"),
            Self::RecordOverflow => f.write_str("record too large (record_overflow)"),
            Self::DecryptError => f.write_str("Finished verify_data mismatch (decrypt_error)"),
            Self::AlertReceived(a) => write!(f, "peer sent fatal alert {a}"),
            Self::PeerClosed => f.write_str("peer closed the connection"),
            Self::UnexpectedEof => {
                f.write_str("connection truncated: end of stream without close_notify")
            }
            Self::RecordLimitReached => f.write_str("record sequence limit (2^24) reached"),
            Self::TooManyEmptyRecords => {
                f.write_str("too many consecutive empty records or warnings")
            }
            Self::NotConnected => f.write_str("connection not established or already closed"),
            Self::Internal(why) => write!(f, "internal error: {why}"),
            Self::Config(why) => write!(f, "configuration error: {why}"),
        }
    }
}

impl core::error::Error for Error {}

/// In words for people (messages never show the variant names).
impl fmt::Display for Misbehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateExtension => f.write_str("the same extension twice in one hello"),
            Self::UnsolicitedExtension => {
                f.write_str("an extension in the ServerHello that the client did not offer")
            }
            Self::IllegalParameter(what) => write!(f, "illegal parameter: {what}"),
            Self::BadRenegotiationInfo => f.write_str("wrong renegotiation_info contents"),
            Self::EmsMismatch => {
                f.write_str("Extended Master Secret negotiated and then dropped, or the reverse")
            }
        }
    }
}

/// In words for people (messages never show the variant names).
impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "the certificate could not be parsed",
            Self::NotTrusted => "the server's key matches no pin and no trusted certificate",
            Self::NotRsa => "the peer's key is not an RSA key",
            Self::KeySize => "the peer's RSA key is not 2048 to 8192 bits",
            Self::NoKeyEncipherment => {
                "the certificate's keyUsage does not allow keyEncipherment, which RSA key exchange needs"
            }
            Self::NoDigitalSignature => {
                "the client certificate's keyUsage does not allow digitalSignature, which CertificateVerify needs"
            }
            Self::NotValidForName => "the certificate is not valid for the server's name",
            Self::UnknownIssuer => "no chain leads from the certificate to a trusted one",
            Self::Expired => "a certificate of the chain has expired",
            Self::NotYetValid => "a certificate of the chain is not valid yet",
            Self::BadSignature => "a signature in the chain does not verify",
            Self::Unsupported => {
                "the chain uses an algorithm, version or critical extension that is not supported"
            }
            Self::InvalidChain => "the chain breaks a rule of the web PKI profile (RFC 5280)",
        })
    }
}
