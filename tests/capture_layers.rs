//! `rsatls::capture`'s lower layers on packets and files made in the test:
//! every link type `rsatls decrypt` reads (including those Linux cannot
//! capture), IPv4/IPv6 down to TCP, and pcap/pcapng files in their variants,
//! cut off and malformed.

mod common;

use std::io::Read;
use std::net::SocketAddr;

use rsatls::capture::file::{CaptureError, LinkType, PacketReader};
use rsatls::capture::layers::{NotTcp, TcpFlags, tcp_segment};
use rsatls::capture::synth;
use rsatls::capture::{CaptureDecoder, CaptureEvent, FlowLimits};
use rsatls::passive::{Direction, PassiveEvent, ServerKeys};
use rsatls::{Endpoint, ServerConnection};

const V4_SRC: [u8; 4] = [10, 0, 0, 1];
const V4_DST: [u8; 4] = [10, 0, 0, 2];
const V6_SRC: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const PAYLOAD: &[u8] = b"\x16\x03\x01 hello";

fn tcp() -> Vec<u8> {
    synth::tcp(40000, 443, 0xfffffff0, TcpFlags::ACK | 0x08, 0, PAYLOAD)
}

fn v4() -> Vec<u8> {
    synth::ipv4(V4_SRC, V4_DST, 6, 0x4000, &tcp())
}

fn v6() -> Vec<u8> {
    synth::ipv6(V6_SRC, V6_DST, 6, &[], &tcp())
}

fn sll(protocol: u16, ip: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(ip);
    out
}

fn sll2(protocol: u16, ip: &[u8]) -> Vec<u8> {
    let mut out = protocol.to_be_bytes().to_vec();
    out.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
    out.extend_from_slice(ip);
    out
}

fn with_family(family: [u8; 4], ip: &[u8]) -> Vec<u8> {
    let mut out = family.to_vec();
    out.extend_from_slice(ip);
    out
}

/// Every link type with the IP packet inside, and the length of the headers
/// before TCP's payload.
fn framings() -> Vec<(&'static str, LinkType, Vec<u8>)> {
    vec![
        (
            "ethernet",
            LinkType::ETHERNET,
            synth::ethernet(&[], 0x0800, &v4()),
        ),
        (
            "ethernet v6",
            LinkType::ETHERNET,
            synth::ethernet(&[], 0x86dd, &v6()),
        ),
        (
            "802.1q",
            LinkType::ETHERNET,
            synth::ethernet(&[0x8100], 0x0800, &v4()),
        ),
        (
            "qinq",
            LinkType::ETHERNET,
            synth::ethernet(&[0x88a8, 0x8100], 0x86dd, &v6()),
        ),
        ("sll", LinkType::LINUX_SLL, sll(0x0800, &v4())),
        ("sll v6", LinkType::LINUX_SLL, sll(0x86dd, &v6())),
        ("sll2", LinkType::LINUX_SLL2, sll2(0x0800, &v4())),
        ("sll2 v6", LinkType::LINUX_SLL2, sll2(0x86dd, &v6())),
        (
            "null le",
            LinkType::NULL,
            with_family(2u32.to_le_bytes(), &v4()),
        ),
        (
            "null be",
            LinkType::NULL,
            with_family(2u32.to_be_bytes(), &v4()),
        ),
        (
            "null le v6",
            LinkType::NULL,
            with_family(30u32.to_le_bytes(), &v6()),
        ),
        (
            "null be v6",
            LinkType::NULL,
            with_family(28u32.to_be_bytes(), &v6()),
        ),
        (
            "loop",
            LinkType::LOOP,
            with_family(2u32.to_be_bytes(), &v4()),
        ),
        (
            "loop v6",
            LinkType::LOOP,
            with_family(24u32.to_be_bytes(), &v6()),
        ),
        ("raw v4", LinkType::RAW, v4()),
        ("raw v6", LinkType::RAW, v6()),
        ("ipv4", LinkType::IPV4, v4()),
        ("ipv6", LinkType::IPV6, v6()),
    ]
}

fn addr(ip: &[u8], port: u16) -> SocketAddr {
    match ip.len() {
        4 => SocketAddr::from((<[u8; 4]>::try_from(ip).unwrap(), port)),
        _ => SocketAddr::from((<[u8; 16]>::try_from(ip).unwrap(), port)),
    }
}

#[test]
fn every_link_type_gives_the_segment() {
    for (name, link, frame) in framings() {
        let segment = tcp_segment(link, &frame).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let v6 = name.contains("v6") || name == "qinq" || name == "ipv6";
        let (src, dst) = if v6 {
            (addr(&V6_SRC, 40000), addr(&V6_DST, 443))
        } else {
            (addr(&V4_SRC, 40000), addr(&V4_DST, 443))
        };
        assert_eq!(segment.src, src, "{name}");
        assert_eq!(segment.dst, dst, "{name}");
        assert_eq!(segment.seq, 0xfffffff0, "{name}");
        assert_eq!(segment.flags, TcpFlags(TcpFlags::ACK | 0x08), "{name}");
        assert_eq!(segment.payload, PAYLOAD, "{name}");
        assert!(!segment.truncated, "{name}");
    }
}

/// Every prefix of every framing: never a panic; short of the TCP header,
/// `Malformed`; past it, the captured part of the payload, marked truncated.
#[test]
fn cut_packets_are_malformed_or_truncated() {
    for (name, link, frame) in framings() {
        let headers = frame.len() - PAYLOAD.len();
        for n in 0..frame.len() {
            let result = tcp_segment(link, &frame[..n]);
            if n < headers {
                assert_eq!(result, Err(NotTcp::Malformed), "{name} cut at {n}");
            } else {
                let segment = result.unwrap_or_else(|e| panic!("{name} cut at {n}: {e:?}"));
                assert_eq!(segment.payload, &PAYLOAD[..n - headers], "{name} at {n}");
                assert!(segment.truncated, "{name} cut at {n}");
            }
        }
    }
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut frame = synth::ethernet(&[], 0x0800, &v4());
    frame.extend_from_slice(&[0; 10]);
    let segment = tcp_segment(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(segment.payload, PAYLOAD);
    assert!(!segment.truncated);
}

#[test]
fn offload_zero_lengths_take_what_was_captured() {
    let mut ip = v4();
    ip[2..4].copy_from_slice(&[0, 0]);
    assert_eq!(tcp_segment(LinkType::RAW, &ip).unwrap().payload, PAYLOAD);
    let mut ip = v6();
    ip[4..6].copy_from_slice(&[0, 0]);
    assert_eq!(tcp_segment(LinkType::RAW, &ip).unwrap().payload, PAYLOAD);
}

#[test]
fn tcp_options_are_skipped() {
    let segment = synth::tcp(1, 2, 3, TcpFlags::ACK, 12, PAYLOAD);
    let ip = synth::ipv4(V4_SRC, V4_DST, 6, 0, &segment);
    assert_eq!(tcp_segment(LinkType::RAW, &ip).unwrap().payload, PAYLOAD);
    // A data offset below the header's own size.
    let mut bad = ip.clone();
    bad[20 + 12] = 4 << 4;
    assert_eq!(tcp_segment(LinkType::RAW, &bad), Err(NotTcp::Malformed));
    // A data offset past the segment.
    let mut bad = synth::ipv4(V4_SRC, V4_DST, 6, 0, &synth::tcp(1, 2, 3, 0, 0, &[]));
    bad[20 + 12] = 15 << 4;
    assert_eq!(tcp_segment(LinkType::RAW, &bad), Err(NotTcp::Malformed));
}

#[test]
fn ipv6_extension_headers_are_skipped() {
    // Hop-by-hop (8 bytes) then destination options (16 bytes), then TCP.
    let mut extensions = vec![60, 0, 1, 4, 0, 0, 0, 0];
    extensions.extend_from_slice(&[6, 1, 1, 12]);
    extensions.extend_from_slice(&[0; 12]);
    let ip = synth::ipv6(V6_SRC, V6_DST, 0, &extensions, &tcp());
    assert_eq!(tcp_segment(LinkType::IPV6, &ip).unwrap().payload, PAYLOAD);
    // A chain longer than any real packet's.
    let mut chain = Vec::new();
    for _ in 0..20 {
        chain.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    }
    let ip = synth::ipv6(V6_SRC, V6_DST, 60, &chain, &tcp());
    assert_eq!(tcp_segment(LinkType::IPV6, &ip), Err(NotTcp::Malformed));
}

#[test]
fn fragments_are_told_apart() {
    for fragment in [0x2000, 0x0001, 0x2010] {
        let ip = synth::ipv4(V4_SRC, V4_DST, 6, fragment, &tcp());
        assert_eq!(
            tcp_segment(LinkType::RAW, &ip),
            Err(NotTcp::Fragment),
            "{fragment:#x}"
        );
    }
    // Don't fragment alone is a whole datagram.
    assert!(
        tcp_segment(
            LinkType::RAW,
            &synth::ipv4(V4_SRC, V4_DST, 6, 0x4000, &tcp())
        )
        .is_ok()
    );
    let fragment_header = [6, 0, 0, 1, 0, 0, 0, 7];
    let ip = synth::ipv6(V6_SRC, V6_DST, 44, &fragment_header, &tcp());
    assert_eq!(tcp_segment(LinkType::IPV6, &ip), Err(NotTcp::Fragment));
    // Behind a hop-by-hop header too.
    let mut extensions = vec![44, 0, 0, 0, 0, 0, 0, 0];
    extensions.extend_from_slice(&fragment_header);
    let ip = synth::ipv6(V6_SRC, V6_DST, 0, &extensions, &tcp());
    assert_eq!(tcp_segment(LinkType::IPV6, &ip), Err(NotTcp::Fragment));
}

#[test]
fn other_protocols_and_link_types() {
    let udp = synth::ipv4(V4_SRC, V4_DST, 17, 0, &[0; 8]);
    assert_eq!(tcp_segment(LinkType::RAW, &udp), Err(NotTcp::Protocol));
    let icmp6 = synth::ipv6(V6_SRC, V6_DST, 58, &[], &[0; 8]);
    assert_eq!(tcp_segment(LinkType::RAW, &icmp6), Err(NotTcp::Protocol));
    let arp = synth::ethernet(&[], 0x0806, &[0; 28]);
    assert_eq!(tcp_segment(LinkType::ETHERNET, &arp), Err(NotTcp::Protocol));
    let unknown_family = with_family(99u32.to_le_bytes(), &v4());
    assert_eq!(
        tcp_segment(LinkType::NULL, &unknown_family),
        Err(NotTcp::Protocol)
    );
    assert_eq!(
        tcp_segment(LinkType::RAW, &[0x50; 40]),
        Err(NotTcp::Protocol)
    );
    // An IPv6 packet where the link layer announced IPv4.
    let mislabelled = synth::ethernet(&[], 0x0800, &v6());
    assert_eq!(
        tcp_segment(LinkType::ETHERNET, &mislabelled),
        Err(NotTcp::Malformed)
    );
    assert_eq!(tcp_segment(LinkType(147), &v4()), Err(NotTcp::LinkType));
}

fn packets() -> Vec<Vec<u8>> {
    (0..5u8)
        .map(|i| {
            synth::ethernet(
                &[],
                0x0800,
                &synth::ipv4(V4_SRC, V4_DST, 6, 0, &vec![i; 30 + usize::from(i)]),
            )
        })
        .collect()
}

/// Reads a whole capture: the packets (link type, timestamp, bytes) and the
/// error that ended it, if any.
#[allow(clippy::type_complexity)]
fn read_all(reader: impl Read) -> (Vec<(LinkType, (u64, u32), Vec<u8>)>, Option<CaptureError>) {
    let mut reader = match PacketReader::new(reader) {
        Ok(reader) => reader,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut out = Vec::new();
    loop {
        match reader.next_packet() {
            Ok(Some(packet)) => {
                out.push((packet.link_type, packet.timestamp, packet.data.to_vec()))
            }
            Ok(None) => return (out, None),
            Err(e) => {
                assert!(
                    matches!(reader.next_packet(), Ok(None)),
                    "an error ends the reading"
                );
                return (out, Some(e));
            }
        }
    }
}

#[test]
fn pcap_both_byte_orders_and_resolutions() {
    for nanos in [false, true] {
        for big_endian in [false, true] {
            let file = synth::pcap(LinkType::LINUX_SLL2, nanos, big_endian, &packets());
            let (read, error) = read_all(&file[..]);
            assert!(error.is_none(), "{nanos} {big_endian}: {error:?}");
            assert_eq!(read.len(), 5);
            for (i, (link, timestamp, data)) in read.iter().enumerate() {
                assert_eq!(*link, LinkType::LINUX_SLL2);
                let fraction = if nanos { 123_456_789 } else { 123_456_000 };
                assert_eq!(*timestamp, (1_700_000_000 + i as u64, fraction));
                assert_eq!(data, &packets()[i]);
            }
        }
    }
}

#[test]
fn pcapng_interfaces_with_their_link_types() {
    let file = synth::pcapng(
        &[(LinkType::ETHERNET, None), (LinkType::RAW, Some(9))],
        &[
            (Some(0), 1_700_000_000_250_000, packets()[0].clone()),
            (Some(1), 1_700_000_000_000_000_007, v4()),
            (None, 0, packets()[2].clone()),
            (Some(0), 1_700_000_001_000_000, packets()[3].clone()),
        ],
    );
    let (read, error) = read_all(&file[..]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        read,
        vec![
            (
                LinkType::ETHERNET,
                (1_700_000_000, 250_000_000),
                packets()[0].clone()
            ),
            (LinkType::RAW, (1_700_000_000, 7), v4()),
            (LinkType::ETHERNET, (0, 0), packets()[2].clone()),
            (LinkType::ETHERNET, (1_700_000_001, 0), packets()[3].clone()),
        ]
    );
    // A packet on an interface never described.
    let bad = synth::pcapng(&[(LinkType::ETHERNET, None)], &[(Some(1), 0, v4())]);
    assert!(matches!(
        read_all(&bad[..]).1,
        Some(CaptureError::Malformed(_))
    ));
}

/// A capture cut at every byte (its writer killed): the whole packets before
/// the cut, then `Truncated` (nothing at all on a cut at a block boundary).
#[test]
fn files_cut_anywhere_keep_their_whole_packets() {
    let files = [
        synth::pcap(LinkType::ETHERNET, false, false, &packets()),
        synth::pcapng(
            &[(LinkType::ETHERNET, None)],
            &packets()
                .into_iter()
                .map(|p| (Some(0), 0, p))
                .collect::<Vec<_>>(),
        ),
    ];
    for file in files {
        let (all, _) = read_all(&file[..]);
        for n in 0..file.len() {
            let (read, error) = read_all(&file[..n]);
            assert!(read.len() <= all.len());
            assert_eq!(read[..], all[..read.len()], "cut at {n}");
            match error {
                None | Some(CaptureError::Truncated) => {}
                // Too short to tell the format.
                Some(CaptureError::NotACapture) => assert!(n < 4, "cut at {n}"),
                Some(other) => panic!("cut at {n}: {other:?}"),
            }
            if error.is_none() {
                assert!(n > 0);
            }
        }
        let (_, error) = read_all(&file[..file.len() - 1]);
        assert!(matches!(error, Some(CaptureError::Truncated)));
    }
}

/// A reader giving one byte at a time, as a pipe may.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((byte, rest)), Some(slot)) => {
                *slot = *byte;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn large_packets_and_slow_readers() {
    // Larger than the initial buffer: it grows.
    let big = vec![0x5a; 600 * 1024];
    let list = vec![packets()[0].clone(), big, packets()[1].clone()];
    let file = synth::pcap(LinkType::ETHERNET, false, false, &list);
    let (read, error) = read_all(&file[..]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read.into_iter().map(|p| p.2).collect::<Vec<_>>(), list);
    let (read, error) = read_all(Trickle(&file));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read.len(), 3);
    let ng = synth::pcapng(
        &[(LinkType::RAW, None)],
        &[(Some(0), 5, v4()), (None, 0, v6())],
    );
    let (read, error) = read_all(Trickle(&ng));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read.len(), 2);
}

#[test]
fn oversized_blocks_and_other_files_are_errors() {
    // A record header claiming 100 MiB: never allocated.
    let mut file = synth::pcap(LinkType::ETHERNET, false, false, &packets()[..1]);
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&(100u32 << 20).to_le_bytes());
    file.extend_from_slice(&(100u32 << 20).to_le_bytes());
    file.extend_from_slice(&vec![0; 20 << 20]);
    let (read, error) = read_all(&file[..]);
    assert_eq!(read.len(), 1);
    assert!(
        matches!(error, Some(CaptureError::Malformed(_))),
        "{error:?}"
    );
    assert!(matches!(
        read_all(&b"GET / HTTP/1.1\r\n"[..]).1,
        Some(CaptureError::NotACapture)
    ));
    assert!(matches!(
        read_all(&b""[..]).1,
        Some(CaptureError::NotACapture)
    ));
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "no",
        ))
    }
}

#[test]
fn read_errors_keep_their_kind() {
    let file = synth::pcap(LinkType::ETHERNET, false, false, &packets());
    let (read, error) = read_all((&file[..]).chain(Failing));
    assert_eq!(read.len(), 5);
    match error {
        Some(CaptureError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied),
        other => panic!("{other:?}"),
    }
}

/// Bytes of one direction, as the engines wrote them.
struct Recorded {
    c2s: Vec<Vec<u8>>,
    s2c: Vec<Vec<u8>>,
    order: Vec<(Direction, usize)>,
}

/// An in-memory rsatls session (fixed seeds): the handshake, `request` one
/// way and `response` the other, close_notify both ways.
fn record_session(request: &[u8], response: &[u8]) -> Recorded {
    let mut client = common::client(common::client_config("rsa2048"), 7);
    let mut server: ServerConnection = common::server(common::server_config("rsa2048"), 8);
    let mut rec = Recorded {
        c2s: Vec::new(),
        s2c: Vec::new(),
        order: Vec::new(),
    };
    let move_bytes = |rec: &mut Recorded, from: &mut dyn Endpoint, to: &mut dyn Endpoint, dir| {
        let wire = common::take_output(from);
        if !wire.is_empty() {
            common::feed(to, &wire, usize::MAX).expect("the engines agree");
            let list = if dir == Direction::ClientToServer {
                &mut rec.c2s
            } else {
                &mut rec.s2c
            };
            list.push(wire);
            rec.order.push((dir, list.len() - 1));
        }
    };
    while !(client.is_established() && server.is_established()) {
        move_bytes(
            &mut rec,
            &mut client,
            &mut server,
            Direction::ClientToServer,
        );
        move_bytes(
            &mut rec,
            &mut server,
            &mut client,
            Direction::ServerToClient,
        );
    }
    // The engines take about a record at a time: write, move, repeat.
    let mut rest = request;
    while !rest.is_empty() {
        rest = &rest[client.write_app_data(rest).unwrap()..];
        move_bytes(
            &mut rec,
            &mut client,
            &mut server,
            Direction::ClientToServer,
        );
    }
    let mut rest = response;
    while !rest.is_empty() {
        rest = &rest[server.write_app_data(rest).unwrap()..];
        move_bytes(
            &mut rec,
            &mut server,
            &mut client,
            Direction::ServerToClient,
        );
    }
    server.send_close_notify();
    move_bytes(
        &mut rec,
        &mut server,
        &mut client,
        Direction::ServerToClient,
    );
    client.send_close_notify();
    move_bytes(
        &mut rec,
        &mut client,
        &mut server,
        Direction::ClientToServer,
    );
    rec
}

/// The session as Ethernet/IPv4 frames: handshake, each flight cut into
/// segments of at most `mss` bytes, with every pair of segments swapped and
/// one duplicated (reordering and a retransmission), then FINs.
fn frames(rec: &Recorded, mss: usize) -> Vec<Vec<u8>> {
    let c: SocketAddr = "192.168.1.10:51000".parse().unwrap();
    let s: SocketAddr = "192.168.1.20:443".parse().unwrap();
    let (isn_c, isn_s) = (0xffff_f000u32, 0x1234_5678u32);
    let (syn, ack, fin) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::FIN | TcpFlags::ACK);
    let mut out = vec![
        synth::frame(c, s, isn_c, syn, b""),
        synth::frame(s, c, isn_s, syn | ack, b""),
        synth::frame(c, s, isn_c.wrapping_add(1), ack, b""),
    ];
    let mut sent = [0u32; 2];
    for &(dir, index) in &rec.order {
        let (src, dst, isn, i, wire) = match dir {
            Direction::ClientToServer => (c, s, isn_c, 0, &rec.c2s[index]),
            Direction::ServerToClient => (s, c, isn_s, 1, &rec.s2c[index]),
        };
        let mut segments: Vec<Vec<u8>> = Vec::new();
        for chunk in wire.chunks(mss) {
            let seq = isn.wrapping_add(1).wrapping_add(sent[i]);
            segments.push(synth::frame(src, dst, seq, ack | 0x08, chunk));
            sent[i] += chunk.len() as u32;
        }
        for pair in segments.chunks_mut(2) {
            pair.reverse();
        }
        if let Some(first) = segments.first().cloned() {
            segments.push(first);
        }
        out.extend(segments);
    }
    out.push(synth::frame(
        c,
        s,
        isn_c.wrapping_add(1).wrapping_add(sent[0]),
        fin,
        b"",
    ));
    out.push(synth::frame(
        s,
        c,
        isn_s.wrapping_add(1).wrapping_add(sent[1]),
        fin,
        b"",
    ));
    out
}

/// A capture made here of an rsatls session, read back through the whole
/// pipeline: the application data decrypts to what was sent, both ways.
#[test]
fn a_synthesized_capture_decrypts_end_to_end() {
    let request = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec();
    let response: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let rec = record_session(&request, &response);
    let file = synth::pcap(LinkType::ETHERNET, true, false, &frames(&rec, 1400));

    let mut keys = ServerKeys::new(common::provider());
    let key = rsatls::pki::load_private_key(&common::data("rsa2048.key.pem")).unwrap();
    keys.add_der("rsa2048", key.as_der()).unwrap();
    let mut decoder = CaptureDecoder::new(keys, FlowLimits::default());
    let mut reader = PacketReader::new(&file[..]).unwrap();
    let mut events = Vec::new();
    while let Some(packet) = reader.next_packet().unwrap() {
        decoder.push_packet(packet.link_type, packet.data, &mut events);
    }
    decoder.finish(&mut events);

    let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
    let (mut connections, mut closed, mut verified) = (0, 0, 0);
    for event in &events {
        match event {
            CaptureEvent::Connection { mid_stream, .. } => {
                assert!(!mid_stream);
                connections += 1;
            }
            CaptureEvent::Closed { .. } => closed += 1,
            CaptureEvent::Gap { at, .. } => panic!("a gap at {at}"),
            CaptureEvent::Tls { event, .. } => match event {
                PassiveEvent::ApplicationData { from, data } => match from {
                    Direction::ClientToServer => c2s.extend_from_slice(data),
                    Direction::ServerToClient => s2c.extend_from_slice(data),
                },
                PassiveEvent::Finished { verified: true, .. } => verified += 1,
                PassiveEvent::Undecryptable { reason, .. } => panic!("undecryptable: {reason:?}"),
                PassiveEvent::Stopped { from, reason } => panic!("{from:?} stopped: {reason:?}"),
                _ => {}
            },
        }
    }
    assert_eq!((connections, closed, verified), (1, 1, 2));
    assert!(
        c2s == request,
        "client data: {} bytes of {}",
        c2s.len(),
        request.len()
    );
    assert!(
        s2c == response,
        "server data: {} bytes of {}",
        s2c.len(),
        response.len()
    );
    assert_eq!(decoder.skipped(), Default::default());
}
