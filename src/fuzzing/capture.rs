//! The reassembler target: arbitrary TCP segments (structured with
//! `arbitrary`) into a [`FlowTable`] with small limits.
//!
//! Every payload byte is the low byte of its own sequence number, as if every
//! sender sent a counting stream: whatever the order, duplication, overlap,
//! loss or flags of the segments, a correct reassembler emits, per connection
//! and direction, bytes that keep counting. Checked after every segment:
//! held bytes within the limit, flows within `max_flows`; per direction,
//! emitted offsets contiguous and counting, at most one gap, at the offset
//! where the bytes stop, nothing after it; per connection, one `Opened` before
//! anything and, once the capture ends, exactly one `Closed`, nothing after it.

use std::collections::HashMap;
use std::net::SocketAddr;

use arbitrary::{Arbitrary, Unstructured};

use crate::capture::layers::{TcpFlags, TcpSegment};
use crate::capture::tcp::{FlowEvent, FlowId, FlowLimits, FlowTable};
use crate::passive::Direction;

/// More clients than the table may hold, so that flows are evicted.
const CLIENTS: u16 = 5;

/// One segment, as the fuzzer describes it.
#[derive(Arbitrary, Debug)]
struct Segment {
    client: u8,
    from_server: bool,
    /// Below 240: `offset` from a base near the wrap (or not); else `raw`.
    mode: u8,
    offset: u16,
    raw: u32,
    flags: u8,
    len: u8,
    truncated: u8,
}

/// What one connection's events have shown so far.
#[derive(Default)]
struct Seen {
    closed: bool,
    /// Per direction: bytes emitted, the low byte expected next, the gap.
    emitted: [u64; 2],
    next_byte: [Option<u8>; 2],
    gap: [Option<u64>; 2],
}

/// Runs one input; panics if a property fails.
pub fn reassembler(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let limits = FlowLimits {
        max_flows: 1 + usize::from(u.arbitrary::<u8>().unwrap_or(0) % 4),
        max_out_of_order: usize::from(u.arbitrary::<u8>().unwrap_or(0)) * 4,
        max_total_out_of_order: usize::from(u.arbitrary::<u8>().unwrap_or(0)) * 8,
    };
    let server: SocketAddr = SocketAddr::from(([10, 0, 0, 1], 443));
    let mut table = FlowTable::new(limits);
    let mut seen: HashMap<FlowId, Seen> = HashMap::new();
    let mut out = Vec::new();
    let mut payload = Vec::new();
    // `arbitrary` yields zeros, not an error, once the input is used up: stop
    // at its end, not at the first error.
    while !u.is_empty() {
        let Ok(segment) = u.arbitrary::<Segment>() else {
            break;
        };
        let client = SocketAddr::from(([10, 0, 0, 2], 1000 + u16::from(segment.client) % CLIENTS));
        let (src, dst) = if segment.from_server {
            (server, client)
        } else {
            (client, server)
        };
        let base: u32 = match (segment.client % 2, segment.from_server) {
            (0, false) => 0xffff_fe00,
            (0, true) => 0x7fff_ff00,
            (_, false) => 1000,
            (_, true) => 0xffff_ffff,
        };
        let seq = if segment.mode < 240 {
            base.wrapping_add(u32::from(segment.offset % 2048))
        } else {
            segment.raw
        };
        let flags = segment.flags & (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN | TcpFlags::RST);
        // Data follows the SYN's own sequence number.
        let first = if flags & TcpFlags::SYN != 0 {
            seq.wrapping_add(1)
        } else {
            seq
        };
        payload.clear();
        payload.extend((0..u32::from(segment.len % 100)).map(|i| first.wrapping_add(i) as u8));
        let tcp = TcpSegment {
            src,
            dst,
            seq,
            flags: TcpFlags(flags),
            payload: &payload,
            truncated: segment.truncated < 8,
        };
        table.push(&tcp, &mut out);
        check(&mut seen, &mut out, false);
        assert!(table.len() <= limits.max_flows, "more flows than max_flows");
        assert!(
            table.held_total() <= limits.max_total_out_of_order,
            "{} held past the shared bound {}",
            table.held_total(),
            limits.max_total_out_of_order
        );
        for (id, s) in &seen {
            if !s.closed {
                let held = table.held_bytes(*id).unwrap_or([0, 0]);
                assert!(
                    held[0] <= limits.max_out_of_order && held[1] <= limits.max_out_of_order,
                    "{held:?} held past {}",
                    limits.max_out_of_order
                );
            }
        }
    }
    table.finish(&mut out);
    check(&mut seen, &mut out, true);
}

/// Checks and forgets the events in `out`.
fn check(seen: &mut HashMap<FlowId, Seen>, out: &mut Vec<FlowEvent>, finished: bool) {
    for event in out.drain(..) {
        match event {
            FlowEvent::Opened { flow, .. } => {
                assert!(
                    seen.insert(flow, Seen::default()).is_none(),
                    "{flow:?} opened twice"
                );
            }
            FlowEvent::Data { flow, from, bytes } => {
                let s = seen.get_mut(&flow).expect("data before Opened");
                assert!(!s.closed, "data after Closed");
                let d = usize::from(from == Direction::ServerToClient);
                assert!(s.gap[d].is_none(), "data after the gap");
                assert!(!bytes.is_empty(), "empty data");
                for byte in bytes.iter().copied() {
                    if let Some(expected) = s.next_byte[d] {
                        assert_eq!(byte, expected, "a byte out of place at {}", s.emitted[d]);
                    }
                    s.next_byte[d] = Some(byte.wrapping_add(1));
                    s.emitted[d] += 1;
                }
            }
            FlowEvent::Gap { flow, from, at } => {
                let s = seen.get_mut(&flow).expect("gap before Opened");
                assert!(!s.closed, "gap after Closed");
                let d = usize::from(from == Direction::ServerToClient);
                assert!(s.gap[d].is_none(), "a second gap");
                assert_eq!(at, s.emitted[d], "the gap is not where the bytes stop");
                s.gap[d] = Some(at);
            }
            FlowEvent::Closed { flow } => {
                let s = seen.get_mut(&flow).expect("Closed before Opened");
                assert!(!s.closed, "{flow:?} closed twice");
                s.closed = true;
            }
        }
    }
    if finished {
        assert!(seen.values().all(|s| s.closed), "a flow never closed");
    }
}
