//! The record header (RFC 5246 §6.2.1).

use crate::codec::Reader;
use crate::error::Error;
use crate::msgs::enums::{ContentType, ProtocolVersion};

/// Length of a record header.
pub const HEADER_LEN: usize = 5;

/// Largest TLSPlaintext fragment: 2^14 (RFC 5246 §6.2.1).
pub const MAX_PLAINTEXT: usize = 1 << 14;

/// Largest TLSCiphertext fragment: 2^14 + 2048 (RFC 5246 §6.2.3).
pub const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 2048;

/// A record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// The content type, possibly unknown.
    pub typ: ContentType,
    /// The record-layer version.
    pub version: ProtocolVersion,
    /// The fragment length.
    pub len: u16,
}

impl RecordHeader {
    /// Decodes the five header bytes. Only the syntax is checked here; the record
    /// layer applies the type, version and length rules.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        Ok(Self {
            typ: ContentType(r.u8("record type")?),
            version: ProtocolVersion(r.u16("record version")?),
            len: r.u16("record length")?,
        })
    }

    /// The five wire bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let v = self.version.0.to_be_bytes();
        let l = self.len.to_be_bytes();
        [self.typ.0, v[0], v[1], l[0], l[1]]
    }
}
