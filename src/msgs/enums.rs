//! Protocol numbers as newtypes with named constants, so unknown values still
//! parse and can be reported rather than panicking.

use core::fmt;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident($repr:ty) { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);

        impl $name {
            $($(#[$vmeta])* pub const $variant: Self = Self($value);)*

            /// The registered name, if this value has one here.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some(stringify!($variant)),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(&n.to_ascii_lowercase()),
                    None => write!(f, "{}", self.0),
                }
            }
        }
    };
}

wire_enum! {
    /// TLS record content type (RFC 5246 §6.2.1).
    ContentType(u8) {
        /// change_cipher_spec
        CHANGE_CIPHER_SPEC = 20,
        /// alert
        ALERT = 21,
        /// handshake
        HANDSHAKE = 22,
        /// application_data
        APPLICATION_DATA = 23,
    }
}

wire_enum! {
    /// Handshake message type (RFC 5246 §7.4).
    HandshakeType(u8) {
        /// hello_request
        HELLO_REQUEST = 0,
        /// client_hello
        CLIENT_HELLO = 1,
        /// server_hello
        SERVER_HELLO = 2,
        /// new_session_ticket (RFC 5077), never sent here
        NEW_SESSION_TICKET = 4,
        /// certificate
        CERTIFICATE = 11,
        /// server_key_exchange, never valid with RSA key transport
        SERVER_KEY_EXCHANGE = 12,
        /// certificate_request
        CERTIFICATE_REQUEST = 13,
        /// server_hello_done
        SERVER_HELLO_DONE = 14,
        /// certificate_verify
        CERTIFICATE_VERIFY = 15,
        /// client_key_exchange
        CLIENT_KEY_EXCHANGE = 16,
        /// finished
        FINISHED = 20,
    }
}

wire_enum! {
    /// Alert level (RFC 5246 §7.2).
    AlertLevel(u8) {
        /// warning
        WARNING = 1,
        /// fatal
        FATAL = 2,
    }
}

wire_enum! {
    /// Alert description (RFC 5246 §7.2, RFC 7507, RFC 5746, RFC 6066, RFC 7301).
    AlertDescription(u8) {
        /// close_notify
        CLOSE_NOTIFY = 0,
        /// unexpected_message
        UNEXPECTED_MESSAGE = 10,
        /// bad_record_mac
        BAD_RECORD_MAC = 20,
        /// record_overflow
        RECORD_OVERFLOW = 22,
        /// handshake_failure
        HANDSHAKE_FAILURE = 40,
        /// bad_certificate
        BAD_CERTIFICATE = 42,
        /// unsupported_certificate
        UNSUPPORTED_CERTIFICATE = 43,
        /// certificate_revoked
        CERTIFICATE_REVOKED = 44,
        /// certificate_expired
        CERTIFICATE_EXPIRED = 45,
        /// certificate_unknown
        CERTIFICATE_UNKNOWN = 46,
        /// illegal_parameter
        ILLEGAL_PARAMETER = 47,
        /// unknown_ca
        UNKNOWN_CA = 48,
        /// access_denied
        ACCESS_DENIED = 49,
        /// decode_error
        DECODE_ERROR = 50,
        /// decrypt_error
        DECRYPT_ERROR = 51,
        /// protocol_version
        PROTOCOL_VERSION = 70,
        /// insufficient_security
        INSUFFICIENT_SECURITY = 71,
        /// internal_error
        INTERNAL_ERROR = 80,
        /// inappropriate_fallback (RFC 7507)
        INAPPROPRIATE_FALLBACK = 86,
        /// user_canceled
        USER_CANCELED = 90,
        /// no_renegotiation
        NO_RENEGOTIATION = 100,
        /// unsupported_extension
        UNSUPPORTED_EXTENSION = 110,
        /// unrecognized_name (RFC 6066)
        UNRECOGNIZED_NAME = 112,
        /// no_application_protocol (RFC 7301 §3.2)
        NO_APPLICATION_PROTOCOL = 120,
    }
}

wire_enum! {
    /// Cipher suite identifier (RFC 5246 Appendix A.5, RFC 5288, RFC 5746, RFC 7507).
    CipherSuite(u16) {
        /// TLS_RSA_WITH_AES_128_GCM_SHA256
        TLS_RSA_WITH_AES_128_GCM_SHA256 = 0x009c,
        /// TLS_RSA_WITH_AES_256_GCM_SHA384
        TLS_RSA_WITH_AES_256_GCM_SHA384 = 0x009d,
        /// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3)
        TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff,
        /// TLS_FALLBACK_SCSV (RFC 7507 §2)
        TLS_FALLBACK_SCSV = 0x5600,
    }
}

wire_enum! {
    /// TLS extension type.
    ExtensionType(u16) {
        /// server_name (RFC 6066 §3)
        SERVER_NAME = 0,
        /// signature_algorithms (RFC 5246 §7.4.1.4.1)
        SIGNATURE_ALGORITHMS = 13,
        /// application_layer_protocol_negotiation (RFC 7301)
        ALPN = 16,
        /// extended_master_secret (RFC 7627 §5.1)
        EXTENDED_MASTER_SECRET = 23,
        /// renegotiation_info (RFC 5746 §3.2)
        RENEGOTIATION_INFO = 0xff01,
    }
}

wire_enum! {
    /// Protocol version.
    ProtocolVersion(u16) {
        /// SSL 3.0
        SSLV3 = 0x0300,
        /// TLS 1.0
        TLSV1_0 = 0x0301,
        /// TLS 1.1
        TLSV1_1 = 0x0302,
        /// TLS 1.2
        TLSV1_2 = 0x0303,
    }
}

wire_enum! {
    /// Compression method (RFC 5246 §7.4.1.2).
    Compression(u8) {
        /// null
        NULL = 0,
    }
}

wire_enum! {
    /// SignatureAndHashAlgorithm as one code point (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3).
    SignatureScheme(u16) {
        /// rsa_pkcs1_sha256
        RSA_PKCS1_SHA256 = 0x0401,
        /// rsa_pkcs1_sha384
        RSA_PKCS1_SHA384 = 0x0501,
        /// rsa_pkcs1_sha512
        RSA_PKCS1_SHA512 = 0x0601,
        /// ecdsa_secp256r1_sha256
        ECDSA_SECP256R1_SHA256 = 0x0403,
        /// ecdsa_secp384r1_sha384
        ECDSA_SECP384R1_SHA384 = 0x0503,
        /// rsa_pss_rsae_sha256
        RSA_PSS_RSAE_SHA256 = 0x0804,
        /// rsa_pss_rsae_sha384
        RSA_PSS_RSAE_SHA384 = 0x0805,
        /// rsa_pss_rsae_sha512
        RSA_PSS_RSAE_SHA512 = 0x0806,
    }
}

wire_enum! {
    /// ClientCertificateType in a CertificateRequest (RFC 5246 §7.4.4, RFC 8422 §5.5).
    ClientCertificateType(u8) {
        /// rsa_sign
        RSA_SIGN = 1,
        /// dss_sign
        DSS_SIGN = 2,
        /// rsa_fixed_dh
        RSA_FIXED_DH = 3,
        /// dss_fixed_dh
        DSS_FIXED_DH = 4,
        /// ecdsa_sign
        ECDSA_SIGN = 64,
    }
}
