//! One packet's headers: link layer, IPv4/IPv6, TCP.

use std::net::SocketAddr;

use super::file::LinkType;

/// TCP flags (the low byte of the flags field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;

    /// Whether all of `bits` are set.
    pub const fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// One TCP segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// The payload bytes captured.
    pub payload: &'a [u8],
}

/// Why a packet carries no TCP segment for the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotTcp {
    /// A link type this reader does not know.
    LinkType,
    /// Not IPv4/IPv6, or not TCP.
    Protocol,
    /// An IP fragment.
    Fragment,
    /// Truncated or malformed headers.
    Malformed,
}

/// Parses one packet of link type `link` down to its TCP segment.
///
/// # Errors
/// [`NotTcp`] says why there is none.
pub fn tcp_segment(link: LinkType, data: &[u8]) -> Result<TcpSegment<'_>, NotTcp> {
    let _ = (link, data);
    Err(NotTcp::LinkType)
}
