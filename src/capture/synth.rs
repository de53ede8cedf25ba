//! Packets and capture files made from scratch, for tests and fuzzing only:
//! the headers [`super::layers`] reads and the files [`super::file`] reads,
//! written the simplest valid way (no checksums: nothing here checks them).
#![doc(hidden)]

use std::net::{IpAddr, SocketAddr};

use super::file::LinkType;

/// A TCP header (with `options` bytes of NOP options, a multiple of 4) and
/// its payload.
pub fn tcp(src: u16, dst: u16, seq: u32, flags: u8, options: usize, payload: &[u8]) -> Vec<u8> {
    let header_len = 20 + options;
    let mut out = Vec::with_capacity(header_len + payload.len());
    out.extend_from_slice(&src.to_be_bytes());
    out.extend_from_slice(&dst.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.push(((header_len / 4) as u8) << 4);
    out.push(flags);
    out.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    out.resize(header_len, 1);
    out.extend_from_slice(payload);
    out
}

/// An IPv4 header carrying `payload` of protocol `protocol`, with the
/// fragment field `fragment` (flags and offset).
pub fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, fragment: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut out = vec![0x45, 0];
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&fragment.to_be_bytes());
    out.extend_from_slice(&[64, protocol, 0, 0]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(payload);
    out
}

/// An IPv6 header, then `extensions` (already chained: `first` names the
/// first header after the fixed one), then `payload`.
pub fn ipv6(src: [u8; 16], dst: [u8; 16], first: u8, extensions: &[u8], payload: &[u8]) -> Vec<u8> {
    let len = (extensions.len() + payload.len()) as u16;
    let mut out = vec![0x60, 0, 0, 0];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[first, 64]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(extensions);
    out.extend_from_slice(payload);
    out
}

/// An Ethernet II frame with VLAN tags of the given tag protocol
/// identifiers (0x8100, 0x88a8) before `ethertype`.
pub fn ethernet(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    for (i, tpid) in tags.iter().enumerate() {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&(i as u16 + 10).to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One segment as an Ethernet/IPv4 (or IPv6) frame.
pub fn frame(src: SocketAddr, dst: SocketAddr, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let segment = tcp(src.port(), dst.port(), seq, flags, 0, payload);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ethernet(
            &[],
            0x0800,
            &ipv4(s.octets(), d.octets(), 6, 0x4000, &segment),
        ),
        (s, d) => {
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                IpAddr::V6(v6) => v6.octets(),
            };
            ethernet(&[], 0x86dd, &ipv6(v6(s), v6(d), 6, &[], &segment))
        }
    }
}

/// A legacy pcap file: microsecond or nanosecond magic, either byte order.
pub fn pcap(link: LinkType, nanos: bool, big_endian: bool, packets: &[Vec<u8>]) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(262_144));
    out.extend_from_slice(&u32b(link.0));
    for (i, packet) in packets.iter().enumerate() {
        out.extend_from_slice(&u32b(1_700_000_000 + i as u32));
        out.extend_from_slice(&u32b(if nanos { 123_456_789 } else { 123_456 }));
        out.extend_from_slice(&u32b(packet.len() as u32));
        out.extend_from_slice(&u32b(packet.len() as u32));
        out.extend_from_slice(packet);
    }
    out
}

/// A little-endian pcapng file: one section, these interfaces (link type,
/// `if_tsresol` option if any), then enhanced packet blocks `(interface,
/// timestamp in the interface's units, bytes)`, and simple packet blocks for
/// interface `None`.
pub fn pcapng(
    interfaces: &[(LinkType, Option<u8>)],
    packets: &[(Option<u32>, u64, Vec<u8>)],
) -> Vec<u8> {
    let mut out = Vec::new();
    let block = |out: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    for (link, tsresol) in interfaces {
        let mut idb = Vec::new();
        idb.extend_from_slice(&(link.0 as u16).to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes());
        if let Some(resol) = tsresol {
            idb.extend_from_slice(&9u16.to_le_bytes());
            idb.extend_from_slice(&1u16.to_le_bytes());
            idb.extend_from_slice(&[*resol, 0, 0, 0]);
            idb.extend_from_slice(&[0, 0, 0, 0]);
        }
        block(&mut out, 1, &idb);
    }
    for (interface, ticks, data) in packets {
        let mut body = Vec::new();
        match interface {
            Some(id) => {
                body.extend_from_slice(&id.to_le_bytes());
                body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
                body.extend_from_slice(&(*ticks as u32).to_le_bytes());
                body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                body.extend_from_slice(data);
                block(&mut out, 6, &body);
            }
            None => {
                body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                body.extend_from_slice(data);
                block(&mut out, 3, &body);
            }
        }
    }
    out
}
