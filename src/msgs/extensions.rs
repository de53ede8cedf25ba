//! Hello extensions: server_name, extended_master_secret, renegotiation_info and
//! ALPN are understood; every other extension is kept as opaque bytes.

use crate::codec::{LenPrefix, Reader, put_prefixed, put_u16};
use crate::error::{Error, Misbehavior};
use crate::msgs::enums::{ExtensionType, SignatureScheme};

/// Which hello an extensions block belongs to: a few extensions read
/// differently in each (RFC 6066 §3's server_name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hello {
    /// A ClientHello's block.
    Client,
    /// A ServerHello's block.
    Server,
}

/// An entry of the server_name extension (RFC 6066 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerNameEntry {
    /// 0 is host_name; other types are kept but not used.
    pub name_type: u8,
    /// The name's bytes.
    pub name: Vec<u8>,
}

/// One hello extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extension {
    /// server_name. In a ClientHello a non-empty list; in a ServerHello the
    /// empty acknowledgement (RFC 6066 §3), decoded as an empty list.
    ServerName(Vec<ServerNameEntry>),
    /// extended_master_secret, always empty (RFC 7627 §5.1).
    ExtendedMasterSecret,
    /// renegotiation_info with its renegotiated_connection field (RFC 5746 §3.2).
    RenegotiationInfo(Vec<u8>),
    /// application_layer_protocol_negotiation (RFC 7301 §3.1).
    Alpn(Vec<Vec<u8>>),
    /// signature_algorithms (RFC 5246 §7.4.1.4.1): which signatures the client
    /// can accept on the server's certificate chain.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// Any other extension, kept verbatim.
    Unknown(ExtensionType, Vec<u8>),
}

impl Extension {
    /// The extension's type code.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Self::ServerName(_) => ExtensionType::SERVER_NAME,
            Self::ExtendedMasterSecret => ExtensionType::EXTENDED_MASTER_SECRET,
            Self::RenegotiationInfo(_) => ExtensionType::RENEGOTIATION_INFO,
            Self::Alpn(_) => ExtensionType::ALPN,
            Self::SignatureAlgorithms(_) => ExtensionType::SIGNATURE_ALGORITHMS,
            Self::Unknown(t, _) => *t,
        }
    }

    fn decode(r: &mut Reader<'_>, hello: Hello) -> Result<Self, Error> {
        let typ = ExtensionType(r.u16("extension type")?);
        let body = r.vec_u16(0, 0xffff, "extension body")?;
        let mut b = Reader::new(body);
        let ext = match typ {
            ExtensionType::SERVER_NAME => Self::ServerName(decode_server_names(&mut b, hello)?),
            ExtensionType::EXTENDED_MASTER_SECRET => Self::ExtendedMasterSecret,
            ExtensionType::RENEGOTIATION_INFO => {
                Self::RenegotiationInfo(b.vec_u8(0, 255, "renegotiation_info")?.to_vec())
            }
            ExtensionType::ALPN => Self::Alpn(decode_alpn(&mut b)?),
            ExtensionType::SIGNATURE_ALGORITHMS => {
                // supported_signature_algorithms<2..2^16-2>, two bytes each.
                let list = b.vec_u16(2, 0xfffe, "signature_algorithms")?;
                if list.len() % 2 != 0 {
                    return Err(Error::Decode("signature_algorithms has odd length"));
                }
                let mut r = Reader::new(list);
                let mut schemes = Vec::with_capacity(list.len() / 2);
                while !r.is_empty() {
                    schemes.push(SignatureScheme(r.u16("signature scheme")?));
                }
                Self::SignatureAlgorithms(schemes)
            }
            _ => Self::Unknown(typ, b.rest().to_vec()),
        };
        // RFC 7627 §5.1: the extension_data field of this extension SHALL be empty.
        b.finish("extension body has trailing bytes")?;
        Ok(ext)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.ext_type().0);
        put_prefixed(out, LenPrefix::U16, |out| match self {
            Self::ServerName(names) if names.is_empty() => {}
            Self::ServerName(names) => put_prefixed(out, LenPrefix::U16, |out| {
                for n in names {
                    out.push(n.name_type);
                    put_prefixed(out, LenPrefix::U16, |out| out.extend_from_slice(&n.name));
                }
            }),
            Self::ExtendedMasterSecret => {}
            Self::RenegotiationInfo(v) => {
                put_prefixed(out, LenPrefix::U8, |out| out.extend_from_slice(v))
            }
            Self::Alpn(protocols) => put_prefixed(out, LenPrefix::U16, |out| {
                for p in protocols {
                    put_prefixed(out, LenPrefix::U8, |out| out.extend_from_slice(p));
                }
            }),
            Self::SignatureAlgorithms(schemes) => put_prefixed(out, LenPrefix::U16, |out| {
                for s in schemes {
                    put_u16(out, s.0);
                }
            }),
            Self::Unknown(_, data) => out.extend_from_slice(data),
        });
    }
}

fn decode_server_names(b: &mut Reader<'_>, hello: Hello) -> Result<Vec<ServerNameEntry>, Error> {
    // RFC 6066 §3: a server acknowledges the name with an empty extension_data;
    // a client sends server_name_list<1..2^16-1>, so an empty body is malformed.
    if hello == Hello::Server && b.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = b.sub_u16(1, 0xffff, "server_name list")?;
    let mut names = Vec::new();
    while !list.is_empty() {
        let name_type = list.u8("server_name type")?;
        let name = list.vec_u16(1, 0xffff, "server_name")?.to_vec();
        names.push(ServerNameEntry { name_type, name });
    }
    Ok(names)
}

fn decode_alpn(b: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, Error> {
    // RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>; ProtocolName <1..2^8-1>.
    let mut list = b.sub_u16(2, 0xffff, "ALPN list")?;
    let mut protocols = Vec::new();
    while !list.is_empty() {
        protocols.push(list.vec_u8(1, 255, "ALPN protocol name")?.to_vec());
    }
    Ok(protocols)
}

/// Decodes the extensions block of a `hello` (the bytes after its fixed
/// fields): absent entirely (`None`) or a `<0..2^16-1>` list.
///
/// As many extensions as fit in the block are accepted (at most 16383, four
/// bytes each); the RFC sets no other bound. RFC 5246 §7.4.1.4: there MUST NOT
/// be more than one extension of the same type; a duplicate is answered with
/// illegal_parameter. The check is linear in the number of extensions.
pub fn decode_extensions(
    r: &mut Reader<'_>,
    hello: Hello,
) -> Result<Option<Vec<Extension>>, Error> {
    if r.is_empty() {
        return Ok(None);
    }
    let mut list = r.sub_u16(0, 0xffff, "extensions")?;
    let mut out: Vec<Extension> = Vec::new();
    // One bit per possible type (8 KiB): the duplicate check is linear.
    let mut seen = vec![0u64; 1 << 10];
    while !list.is_empty() {
        let ext = Extension::decode(&mut list, hello)?;
        let typ = usize::from(ext.ext_type().0);
        let (word, bit) = (typ / 64, 1u64 << (typ % 64));
        let Some(w) = seen.get_mut(word) else {
            return Err(Error::Internal("extension type beyond 16 bits"));
        };
        if *w & bit != 0 {
            return Err(Error::PeerMisbehaved(Misbehavior::DuplicateExtension));
        }
        *w |= bit;
        out.push(ext);
    }
    Ok(Some(out))
}

/// Encodes an extensions block; `None` writes nothing.
pub fn encode_extensions(exts: &Option<Vec<Extension>>, out: &mut Vec<u8>) {
    if let Some(exts) = exts {
        put_prefixed(out, LenPrefix::U16, |out| {
            for e in exts {
                e.encode(out);
            }
        });
    }
}

/// Finds an extension of the given type.
pub fn find(exts: &Option<Vec<Extension>>, typ: ExtensionType) -> Option<&Extension> {
    exts.as_deref()
        .unwrap_or(&[])
        .iter()
        .find(|e| e.ext_type() == typ)
}
