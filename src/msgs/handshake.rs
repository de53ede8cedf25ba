//! Handshake messages (RFC 5246 §7.4).

use crate::codec::{LenPrefix, Reader, put_prefixed, put_u16, put_u24};
use crate::error::Error;
use crate::msgs::enums::{
    CipherSuite, ClientCertificateType, Compression, ExtensionType, HandshakeType, ProtocolVersion,
    SignatureScheme,
};
use crate::msgs::extensions::{self, Extension, Hello, decode_extensions, encode_extensions};

/// Length of the handshake message header: type (1) and length (3).
pub const HANDSHAKE_HEADER_LEN: usize = 4;

/// Most bytes a session_id may have (RFC 5246 §7.4.1.2).
pub const MAX_SESSION_ID: usize = 32;

/// The longest ClientHello body the wire format allows (RFC 5246 §7.4.1.2):
/// client_version, random, session_id<0..32>, cipher_suites<2..2^16-2>,
/// compression_methods<1..2^8-1> and extensions<0..2^16-1>, each at its
/// maximum with its length prefix. A ClientHello is held to this and not to the
/// configured handshake size: refusing one the RFC allows would refuse a
/// conforming client.
pub const MAX_CLIENT_HELLO_LEN: usize =
    2 + 32 + (1 + MAX_SESSION_ID) + (2 + 0xfffe) + (1 + 0xff) + (2 + 0xffff);

/// ClientHello (RFC 5246 §7.4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// The highest version the client supports.
    pub client_version: ProtocolVersion,
    /// 32 bytes from the client's RNG.
    pub random: [u8; 32],
    /// Session to resume; rsatls never resumes, but accepts and ignores one.
    pub session_id: Vec<u8>,
    /// Offered suites, in the client's preference order.
    pub cipher_suites: Vec<CipherSuite>,
    /// Offered compression methods.
    pub compression_methods: Vec<Compression>,
    /// Extensions; `None` when the block is absent entirely.
    pub extensions: Option<Vec<Extension>>,
}

impl ClientHello {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let client_version = ProtocolVersion(r.u16("client_version")?);
        let random = r.array("client random")?;
        let session_id = r.vec_u8(0, MAX_SESSION_ID, "session_id")?.to_vec();
        let suites = r.vec_u16(2, 0xfffe, "cipher_suites")?;
        if suites.len() % 2 != 0 {
            return Err(Error::Decode("cipher_suites has odd length"));
        }
        let mut sr = Reader::new(suites);
        let mut cipher_suites = Vec::with_capacity(suites.len() / 2);
        while !sr.is_empty() {
            cipher_suites.push(CipherSuite(sr.u16("cipher suite")?));
        }
        let compression_methods = r
            .vec_u8(1, 255, "compression_methods")?
            .iter()
            .map(|&c| Compression(c))
            .collect();
        let extensions = decode_extensions(r, Hello::Client)?;
        Ok(Self {
            client_version,
            random,
            session_id,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.client_version.0);
        out.extend_from_slice(&self.random);
        put_prefixed(out, LenPrefix::U8, |out| {
            out.extend_from_slice(&self.session_id)
        });
        put_prefixed(out, LenPrefix::U16, |out| {
            for s in &self.cipher_suites {
                put_u16(out, s.0);
            }
        });
        put_prefixed(out, LenPrefix::U8, |out| {
            out.extend(self.compression_methods.iter().map(|c| c.0));
        });
        encode_extensions(&self.extensions, out);
    }

    /// Finds an extension of the given type.
    pub fn extension(&self, typ: ExtensionType) -> Option<&Extension> {
        extensions::find(&self.extensions, typ)
    }
}

/// ServerHello (RFC 5246 §7.4.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version.
    pub server_version: ProtocolVersion,
    /// 32 bytes from the server's RNG.
    pub random: [u8; 32],
    /// The session id; rsatls servers send an empty one (no resumption).
    pub session_id: Vec<u8>,
    /// The chosen suite.
    pub cipher_suite: CipherSuite,
    /// The chosen compression method.
    pub compression_method: Compression,
    /// Extensions; `None` when the block is absent entirely.
    pub extensions: Option<Vec<Extension>>,
}

impl ServerHello {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            server_version: ProtocolVersion(r.u16("server_version")?),
            random: r.array("server random")?,
            session_id: r.vec_u8(0, MAX_SESSION_ID, "session_id")?.to_vec(),
            cipher_suite: CipherSuite(r.u16("cipher_suite")?),
            compression_method: Compression(r.u8("compression_method")?),
            extensions: decode_extensions(r, Hello::Server)?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.server_version.0);
        out.extend_from_slice(&self.random);
        put_prefixed(out, LenPrefix::U8, |out| {
            out.extend_from_slice(&self.session_id)
        });
        put_u16(out, self.cipher_suite.0);
        out.push(self.compression_method.0);
        encode_extensions(&self.extensions, out);
    }

    /// Finds an extension of the given type.
    pub fn extension(&self, typ: ExtensionType) -> Option<&Extension> {
        extensions::find(&self.extensions, typ)
    }
}

/// CertificateRequest (RFC 5246 §7.4.4). The client only reads it to know it
/// must answer with a Certificate; the contents are advisory, so the
/// distinguished names stay raw DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// certificate_types, in the server's preference order.
    pub certificate_types: Vec<ClientCertificateType>,
    /// supported_signature_algorithms.
    pub signature_schemes: Vec<SignatureScheme>,
    /// certificate_authorities: DER DistinguishedNames, not parsed.
    pub certificate_authorities: Vec<Vec<u8>>,
}

impl CertificateRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        // RFC 5246 §7.4.4: ClientCertificateType certificate_types<1..2^8-1>.
        let certificate_types = r
            .vec_u8(1, 0xff, "certificate_types")?
            .iter()
            .map(|&t| ClientCertificateType(t))
            .collect();
        // SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>:
        // whole two-byte pairs only.
        let schemes = r.vec_u16(2, 0xfffe, "supported_signature_algorithms")?;
        if schemes.len() % 2 != 0 {
            return Err(Error::Decode(
                "supported_signature_algorithms has odd length",
            ));
        }
        let mut sr = Reader::new(schemes);
        let mut signature_schemes = Vec::with_capacity(schemes.len() / 2);
        while !sr.is_empty() {
            signature_schemes.push(SignatureScheme(sr.u16("signature scheme")?));
        }
        // DistinguishedName certificate_authorities<0..2^16-1>, each
        // opaque DistinguishedName<1..2^16-1>.
        let mut cas = r.sub_u16(0, 0xffff, "certificate_authorities")?;
        let mut certificate_authorities = Vec::new();
        while !cas.is_empty() {
            certificate_authorities.push(cas.vec_u16(1, 0xffff, "distinguished name")?.to_vec());
        }
        Ok(Self {
            certificate_types,
            signature_schemes,
            certificate_authorities,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_prefixed(out, LenPrefix::U8, |out| {
            out.extend(self.certificate_types.iter().map(|t| t.0));
        });
        put_prefixed(out, LenPrefix::U16, |out| {
            for s in &self.signature_schemes {
                put_u16(out, s.0);
            }
        });
        put_prefixed(out, LenPrefix::U16, |out| {
            for dn in &self.certificate_authorities {
                put_prefixed(out, LenPrefix::U16, |out| out.extend_from_slice(dn));
            }
        });
    }
}

/// A `digitally-signed` struct (RFC 5246 §4.7): the SignatureAndHashAlgorithm
/// that made the signature, then `opaque signature<0..2^16-1>`. Carried by
/// CertificateVerify (§7.4.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitallySigned {
    /// The signature and hash algorithm pair, as one code point (RFC 5246
    /// §7.4.1.4.1: hash byte, then signature byte).
    pub scheme: SignatureScheme,
    /// The signature bytes; their length is checked against the key by the
    /// verifier, not here.
    pub signature: Vec<u8>,
}

impl DigitallySigned {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            scheme: SignatureScheme(r.u16("signature algorithm")?),
            signature: r.vec_u16(0, 0xffff, "signature")?.to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.scheme.0);
        put_prefixed(out, LenPrefix::U16, |out| {
            out.extend_from_slice(&self.signature)
        });
    }
}

/// A handshake message, decoded by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeMessage {
    /// HelloRequest (§7.4.1.1), empty.
    HelloRequest,
    /// ClientHello (§7.4.1.2).
    ClientHello(ClientHello),
    /// ServerHello (§7.4.1.3).
    ServerHello(ServerHello),
    /// Certificate (§7.4.2): the chain, leaf first.
    Certificate(Vec<Vec<u8>>),
    /// CertificateRequest (§7.4.4).
    CertificateRequest(CertificateRequest),
    /// ServerHelloDone (§7.4.5), empty.
    ServerHelloDone,
    /// CertificateVerify (§7.4.8): the client's signature over the handshake
    /// messages before it.
    CertificateVerify(DigitallySigned),
    /// ClientKeyExchange for RSA (§7.4.7.1): the encrypted premaster secret.
    ClientKeyExchange(Vec<u8>),
    /// Finished (§7.4.9): verify_data.
    Finished([u8; 12]),
    /// Any other type, valid TLS or not; no rsatls state accepts one.
    Other(HandshakeType, Vec<u8>),
}

impl HandshakeMessage {
    /// The message's type code.
    pub fn typ(&self) -> HandshakeType {
        match self {
            Self::HelloRequest => HandshakeType::HELLO_REQUEST,
            Self::ClientHello(_) => HandshakeType::CLIENT_HELLO,
            Self::ServerHello(_) => HandshakeType::SERVER_HELLO,
            Self::Certificate(_) => HandshakeType::CERTIFICATE,
            Self::CertificateRequest(_) => HandshakeType::CERTIFICATE_REQUEST,
            Self::ServerHelloDone => HandshakeType::SERVER_HELLO_DONE,
            Self::CertificateVerify(_) => HandshakeType::CERTIFICATE_VERIFY,
            Self::ClientKeyExchange(_) => HandshakeType::CLIENT_KEY_EXCHANGE,
            Self::Finished(_) => HandshakeType::FINISHED,
            Self::Other(t, _) => *t,
        }
    }

    /// Decodes one whole message (header included); trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let typ = HandshakeType(r.u8("handshake type")?);
        let body = r.vec_u24(0, usize::MAX, "handshake body")?;
        r.finish("bytes after handshake message")?;
        Self::decode_body(typ, body)
    }

    /// Decodes a message body of type `typ`; trailing bytes are an error.
    pub fn decode_body(typ: HandshakeType, body: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body);
        let msg = match typ {
            HandshakeType::HELLO_REQUEST => Self::HelloRequest,
            HandshakeType::CLIENT_HELLO => Self::ClientHello(ClientHello::decode(&mut r)?),
            HandshakeType::SERVER_HELLO => Self::ServerHello(ServerHello::decode(&mut r)?),
            HandshakeType::CERTIFICATE => {
                // certificate_list<0..2^24-1>; ASN.1Cert<1..2^24-1>.
                let mut list = Reader::new(r.vec_u24(0, 0xff_ffff, "certificate_list")?);
                let mut certs = Vec::new();
                while !list.is_empty() {
                    certs.push(list.vec_u24(1, 0xff_ffff, "certificate")?.to_vec());
                }
                Self::Certificate(certs)
            }
            HandshakeType::CERTIFICATE_REQUEST => {
                Self::CertificateRequest(CertificateRequest::decode(&mut r)?)
            }
            HandshakeType::SERVER_HELLO_DONE => Self::ServerHelloDone,
            HandshakeType::CERTIFICATE_VERIFY => {
                // §7.4.8: struct { digitally-signed struct { ... } } CertificateVerify.
                Self::CertificateVerify(DigitallySigned::decode(&mut r)?)
            }
            HandshakeType::CLIENT_KEY_EXCHANGE => {
                // §7.4.7.1: EncryptedPreMasterSecret is a public-key-encrypted<0..2^16-1>.
                // Its length is *not* checked against the key here: a wrong length
                // must look like any other bad premaster (handled in rsa_kx).
                Self::ClientKeyExchange(r.vec_u16(0, 0xffff, "encrypted premaster")?.to_vec())
            }
            HandshakeType::FINISHED => Self::Finished(r.array("verify_data")?),
            other => Self::Other(other, r.rest().to_vec()),
        };
        r.finish("handshake message has trailing bytes")?;
        Ok(msg)
    }

    /// Appends the message, header included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.typ().0);
        put_prefixed(out, LenPrefix::U24, |out| match self {
            Self::HelloRequest | Self::ServerHelloDone => {}
            Self::ClientHello(ch) => ch.encode(out),
            Self::ServerHello(sh) => sh.encode(out),
            Self::CertificateRequest(cr) => cr.encode(out),
            Self::CertificateVerify(ds) => ds.encode(out),
            Self::Certificate(certs) => put_prefixed(out, LenPrefix::U24, |out| {
                for c in certs {
                    put_u24(out, c.len());
                    out.extend_from_slice(c);
                }
            }),
            Self::ClientKeyExchange(c) => {
                put_prefixed(out, LenPrefix::U16, |out| out.extend_from_slice(c))
            }
            Self::Finished(v) => out.extend_from_slice(v),
            Self::Other(_, body) => out.extend_from_slice(body),
        });
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// A static name for diagnostics.
    pub fn name(&self) -> &'static str {
        handshake_name(self.typ())
    }
}

/// A static name for a handshake type, for diagnostics.
pub fn handshake_name(typ: HandshakeType) -> &'static str {
    match typ {
        HandshakeType::HELLO_REQUEST => "HelloRequest",
        HandshakeType::CLIENT_HELLO => "ClientHello",
        HandshakeType::SERVER_HELLO => "ServerHello",
        HandshakeType::NEW_SESSION_TICKET => "NewSessionTicket",
        HandshakeType::CERTIFICATE => "Certificate",
        HandshakeType::SERVER_KEY_EXCHANGE => "ServerKeyExchange",
        HandshakeType::CERTIFICATE_REQUEST => "CertificateRequest",
        HandshakeType::SERVER_HELLO_DONE => "ServerHelloDone",
        HandshakeType::CERTIFICATE_VERIFY => "CertificateVerify",
        HandshakeType::CLIENT_KEY_EXCHANGE => "ClientKeyExchange",
        HandshakeType::FINISHED => "Finished",
        _ => "unknown handshake message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error messages name handshake messages as RFC 5246 §7.4 does; every code
    /// point rsatls knows has its own name.
    #[test]
    fn every_known_handshake_type_has_its_rfc_name() {
        let names = [
            (0, "HelloRequest"),
            (1, "ClientHello"),
            (2, "ServerHello"),
            (4, "NewSessionTicket"),
            (11, "Certificate"),
            (12, "ServerKeyExchange"),
            (13, "CertificateRequest"),
            (14, "ServerHelloDone"),
            (15, "CertificateVerify"),
            (16, "ClientKeyExchange"),
            (20, "Finished"),
        ];
        for (code, name) in names {
            assert_eq!(handshake_name(HandshakeType(code)), name, "{code}");
        }
        for code in [3, 5, 17, 21, 24, 255] {
            assert_eq!(
                handshake_name(HandshakeType(code)),
                "unknown handshake message"
            );
        }
    }

    fn certificate_verify(scheme: u16, signature: &[u8]) -> HandshakeMessage {
        HandshakeMessage::CertificateVerify(DigitallySigned {
            scheme: SignatureScheme(scheme),
            signature: signature.to_vec(),
        })
    }

    /// RFC 5246 §4.7, §7.4.8: type 15, a 24-bit length, the two-byte
    /// algorithm pair, then the signature behind a two-byte length.
    #[test]
    fn certificate_verify_has_the_rfc_layout_and_round_trips() {
        let msg = certificate_verify(0x0804, &[0xaa, 0xbb, 0xcc]);
        let bytes = msg.to_bytes();
        assert_eq!(
            bytes,
            [15, 0, 0, 7, 0x08, 0x04, 0, 3, 0xaa, 0xbb, 0xcc],
            "wire layout"
        );
        assert_eq!(HandshakeMessage::decode(&bytes).unwrap(), msg);
        assert_eq!(msg.name(), "CertificateVerify");
        assert_eq!(msg.typ(), HandshakeType::CERTIFICATE_VERIFY);
        // Unknown algorithm pairs and an empty signature still parse: judging
        // them is the verifier's job, with the right alert.
        for m in [
            certificate_verify(0x0201, &[]),
            certificate_verify(0xffff, &[1; 512]),
        ] {
            assert_eq!(HandshakeMessage::decode(&m.to_bytes()).unwrap(), m);
        }
        // The largest signature the length field can carry.
        let big = certificate_verify(0x0401, &vec![7; 0xffff]);
        assert_eq!(HandshakeMessage::decode(&big.to_bytes()).unwrap(), big);
    }

    /// Every truncation of a CertificateVerify body is a decode error, and so
    /// is a byte after the signature.
    #[test]
    fn certificate_verify_truncated_or_with_trailing_bytes_is_a_decode_error() {
        let body = [0x04, 0x01, 0, 4, 1, 2, 3, 4];
        assert!(HandshakeMessage::decode_body(HandshakeType::CERTIFICATE_VERIFY, &body).is_ok());
        for cut in 0..body.len() {
            assert!(
                matches!(
                    HandshakeMessage::decode_body(HandshakeType::CERTIFICATE_VERIFY, &body[..cut]),
                    Err(Error::Decode(_))
                ),
                "cut at {cut}"
            );
        }
        let mut long = body.to_vec();
        long.push(0);
        assert!(matches!(
            HandshakeMessage::decode_body(HandshakeType::CERTIFICATE_VERIFY, &long),
            Err(Error::Decode(_))
        ));
        // A signature length that claims more than is there.
        let lying = [0x04, 0x01, 0, 5, 1, 2, 3, 4];
        assert!(matches!(
            HandshakeMessage::decode_body(HandshakeType::CERTIFICATE_VERIFY, &lying),
            Err(Error::Decode(_))
        ));
    }
}
