//! One packet's headers: link layer, IPv4/IPv6, TCP.
//!
//! Every header is read through bounds-checked accessors: a packet cut short
//! anywhere is [`NotTcp::Malformed`], never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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
    /// The IP header says the packet was longer than what was captured (the
    /// capture's snap length cut it): bytes after `payload` are lost, and the
    /// reassembler ends this direction with a gap there.
    pub truncated: bool,
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

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q, 802.1ad (QinQ outer tag) and the pre-standard QinQ value.
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// More stacked VLAN tags than any real network uses.
const MAX_VLAN_TAGS: usize = 8;
/// More IPv6 extension headers than any real packet carries.
const MAX_IPV6_EXTENSIONS: usize = 8;

const IPPROTO_TCP: u8 = 6;

/// BSD address families: `AF_INET` everywhere, and `AF_INET6`, which is 24
/// (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

/// The network layer a link header announced.
#[derive(Clone, Copy)]
enum Network {
    V4,
    V6,
    /// Tell by the version nibble (raw IP).
    Either,
}

/// Parses one packet of link type `link` down to its TCP segment.
///
/// # Errors
/// [`NotTcp`] says why there is none.
pub fn tcp_segment(link: LinkType, data: &[u8]) -> Result<TcpSegment<'_>, NotTcp> {
    let (network, ip) = match link {
        LinkType::ETHERNET => ethernet(data)?,
        LinkType::LINUX_SLL => {
            let protocol = be16(data, 14)?;
            (ethertype(protocol)?, rest(data, 16)?)
        }
        LinkType::LINUX_SLL2 => {
            let protocol = be16(data, 0)?;
            (ethertype(protocol)?, rest(data, 20)?)
        }
        LinkType::NULL => {
            let raw: [u8; 4] = bytes(data, 0)?;
            // Host order of the machine that wrote it, which the file does not
            // say: whichever reading is a known family.
            let little = address_family(u32::from_le_bytes(raw));
            let family = match little {
                Ok(network) => network,
                Err(_) => address_family(u32::from_be_bytes(raw))?,
            };
            (family, rest(data, 4)?)
        }
        LinkType::LOOP => {
            let raw: [u8; 4] = bytes(data, 0)?;
            (address_family(u32::from_be_bytes(raw))?, rest(data, 4)?)
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => (Network::Either, data),
        _ => return Err(NotTcp::LinkType),
    };
    let version = ip.first().ok_or(NotTcp::Malformed)? >> 4;
    match (network, version) {
        (Network::V4 | Network::Either, 4) => ipv4(ip),
        (Network::V6 | Network::Either, 6) => ipv6(ip),
        (Network::Either, _) => Err(NotTcp::Protocol),
        _ => Err(NotTcp::Malformed),
    }
}

/// Ethernet II, after any number (up to [`MAX_VLAN_TAGS`]) of VLAN tags.
fn ethernet(data: &[u8]) -> Result<(Network, &[u8]), NotTcp> {
    let mut at = 12;
    let mut kind = be16(data, at)?;
    let mut tags = 0;
    while ETHERTYPE_VLAN.contains(&kind) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(NotTcp::Malformed);
        }
        // Tag control information (2 bytes), then the next type.
        at += 4;
        kind = be16(data, at)?;
    }
    Ok((ethertype(kind)?, rest(data, at + 2)?))
}

fn ethertype(kind: u16) -> Result<Network, NotTcp> {
    match kind {
        ETHERTYPE_IPV4 => Ok(Network::V4),
        ETHERTYPE_IPV6 => Ok(Network::V6),
        _ => Err(NotTcp::Protocol),
    }
}

fn address_family(family: u32) -> Result<Network, NotTcp> {
    if family == AF_INET {
        Ok(Network::V4)
    } else if AF_INET6.contains(&family) {
        Ok(Network::V6)
    } else {
        Err(NotTcp::Protocol)
    }
}

fn ipv4(ip: &[u8]) -> Result<TcpSegment<'_>, NotTcp> {
    let header_len = usize::from(ip.first().ok_or(NotTcp::Malformed)? & 0x0f) * 4;
    if header_len < 20 || ip.len() < header_len {
        return Err(NotTcp::Malformed);
    }
    let total = usize::from(be16(ip, 2)?);
    let fragment = be16(ip, 6)?;
    // More fragments, or a fragment offset: only whole datagrams carry a
    // segment this reader can place in a stream.
    if fragment & 0x3fff != 0 {
        return Err(NotTcp::Fragment);
    }
    if *ip.get(9).ok_or(NotTcp::Malformed)? != IPPROTO_TCP {
        return Err(NotTcp::Protocol);
    }
    let src: [u8; 4] = bytes(ip, 12)?;
    let dst: [u8; 4] = bytes(ip, 16)?;
    // A total length of 0 is what segmentation offload leaves in packets
    // captured on the sending host: the datagram is what was captured.
    let (end, truncated) = if total == 0 {
        (ip.len(), false)
    } else if total < header_len {
        return Err(NotTcp::Malformed);
    } else if total > ip.len() {
        (ip.len(), true)
    } else {
        // Anything past the total length is link padding.
        (total, false)
    };
    let tcp_bytes = ip.get(header_len..end).ok_or(NotTcp::Malformed)?;
    tcp(
        IpAddr::V4(Ipv4Addr::from(src)),
        IpAddr::V4(Ipv4Addr::from(dst)),
        tcp_bytes,
        truncated,
    )
}

fn ipv6(ip: &[u8]) -> Result<TcpSegment<'_>, NotTcp> {
    let payload_len = usize::from(be16(ip, 4)?);
    let mut next = *ip.get(6).ok_or(NotTcp::Malformed)?;
    let src: [u8; 16] = bytes(ip, 8)?;
    let dst: [u8; 16] = bytes(ip, 24)?;
    let payload = rest(ip, 40)?;
    // As for IPv4, 0 is left by segmentation offload (or a jumbogram): the
    // payload is what was captured.
    let (payload, truncated) = if payload_len == 0 {
        (payload, false)
    } else if payload_len > payload.len() {
        (payload, true)
    } else {
        (payload.get(..payload_len).ok_or(NotTcp::Malformed)?, false)
    };
    let mut at = 0;
    for _ in 0..=MAX_IPV6_EXTENSIONS {
        match next {
            IPPROTO_TCP => {
                return tcp(
                    IpAddr::V6(Ipv6Addr::from(src)),
                    IpAddr::V6(Ipv6Addr::from(dst)),
                    rest(payload, at)?,
                    truncated,
                );
            }
            // Hop-by-hop, routing, destination options: length in 8-byte
            // units, not counting the first 8.
            0 | 43 | 60 => {
                let len = usize::from(*payload.get(at + 1).ok_or(NotTcp::Malformed)?);
                next = *payload.get(at).ok_or(NotTcp::Malformed)?;
                at += (len + 1) * 8;
            }
            // Authentication header: length in 4-byte units, not counting
            // the first 8.
            51 => {
                let len = usize::from(*payload.get(at + 1).ok_or(NotTcp::Malformed)?);
                next = *payload.get(at).ok_or(NotTcp::Malformed)?;
                at += (len + 2) * 4;
            }
            44 => return Err(NotTcp::Fragment),
            _ => return Err(NotTcp::Protocol),
        }
    }
    Err(NotTcp::Malformed)
}

fn tcp(src: IpAddr, dst: IpAddr, tcp: &[u8], truncated: bool) -> Result<TcpSegment<'_>, NotTcp> {
    let src_port = be16(tcp, 0)?;
    let dst_port = be16(tcp, 2)?;
    let seq = u32::from_be_bytes(bytes(tcp, 4)?);
    let offset = usize::from(*tcp.get(12).ok_or(NotTcp::Malformed)? >> 4) * 4;
    let flags = *tcp.get(13).ok_or(NotTcp::Malformed)?;
    if offset < 20 {
        return Err(NotTcp::Malformed);
    }
    // Options cut off by the snap length leave no payload to place.
    let payload = tcp.get(offset..).ok_or(NotTcp::Malformed)?;
    Ok(TcpSegment {
        src: SocketAddr::new(src, src_port),
        dst: SocketAddr::new(dst, dst_port),
        seq,
        flags: TcpFlags(flags),
        payload,
        truncated,
    })
}

fn be16(data: &[u8], at: usize) -> Result<u16, NotTcp> {
    Ok(u16::from_be_bytes(bytes(data, at)?))
}

fn bytes<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N], NotTcp> {
    data.get(at..at.checked_add(N).ok_or(NotTcp::Malformed)?)
        .and_then(|b| b.try_into().ok())
        .ok_or(NotTcp::Malformed)
}

fn rest(data: &[u8], at: usize) -> Result<&[u8], NotTcp> {
    data.get(at..).ok_or(NotTcp::Malformed)
}
