//! TCP reassembly (`rsatls::capture::tcp::FlowTable`) against the streams it
//! was given: for any two byte streams, cut into segments anyhow, reordered
//! within a window, with duplicated and overlapping retransmissions and
//! initial sequence numbers near 2^32, the reassembled streams are the
//! originals; with one segment lost, that direction is the prefix before it
//! and exactly one gap at its offset, nothing after; and the bytes held out of
//! order never exceed the limit.

use std::net::SocketAddr;

use proptest::prelude::*;
use rsatls::capture::layers::{TcpFlags, TcpSegment};
use rsatls::capture::tcp::{FlowEvent, FlowId, FlowLimits, FlowTable};
use rsatls::passive::Direction;

/// Segments are at most this long.
const MAX_SEGMENT: usize = 64;
/// A segment arrives at most this many places early.
const MAX_WINDOW: usize = 8;

/// One segment to send: direction (0 client, 1 server), stream offset,
/// length, flags.
#[derive(Clone, Debug)]
struct Planned {
    dir: usize,
    offset: usize,
    len: usize,
    flags: u8,
}

fn client() -> SocketAddr {
    "192.0.2.1:50000".parse().unwrap()
}

fn server() -> SocketAddr {
    "[2001:db8::1]:443".parse().unwrap()
}

fn isn() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), (u32::MAX - 5000)..=u32::MAX]
}

fn stream(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Cuts `len` bytes of direction `dir` into segments of the given sizes.
fn cut(dir: usize, len: usize, sizes: &[usize]) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut sizes = sizes.iter().cycle();
    while offset < len {
        let size = (*sizes.next().unwrap_or(&1)).clamp(1, len - offset);
        out.push(Planned {
            dir,
            offset,
            len: size,
            flags: TcpFlags::ACK,
        });
        offset += size;
    }
    out
}

/// The scenario's inputs, generated together.
#[derive(Clone, Debug)]
struct Scenario {
    streams: [Vec<u8>; 2],
    isns: [u32; 2],
    sizes: Vec<usize>,
    /// Retransmissions: (direction, start as a fraction of the stream in
    /// 1/1000, length).
    retransmissions: Vec<(usize, usize, usize)>,
    /// How early each segment may arrive, in places.
    delays: Vec<usize>,
}

fn scenario(max_stream: usize) -> impl Strategy<Value = Scenario> {
    (
        stream(max_stream),
        stream(max_stream),
        isn(),
        isn(),
        prop::collection::vec(1..=MAX_SEGMENT, 1..20),
        prop::collection::vec((0..2usize, 0..1000usize, 1..=MAX_SEGMENT), 0..20),
        prop::collection::vec(0..MAX_WINDOW, 1..50),
    )
        .prop_map(|(a, b, i, j, sizes, retransmissions, delays)| Scenario {
            streams: [a, b],
            isns: [i, j],
            sizes,
            retransmissions,
            delays,
        })
}

impl Scenario {
    /// The data and FIN segments, with retransmissions, in their sending
    /// order before reordering. `drop`: (direction, index) of a segment of
    /// the first transmission that is lost, along with every retransmission
    /// overlapping it.
    fn plan(&self, drop: Option<(usize, usize)>) -> (Vec<Planned>, Option<(usize, usize)>) {
        let mut planned = Vec::new();
        let mut lost = None;
        for dir in 0..2 {
            let mut segments = cut(dir, self.streams[dir].len(), &self.sizes);
            if let Some((drop_dir, index)) = drop
                && drop_dir == dir
                && !segments.is_empty()
            {
                let removed = segments.remove(index % segments.len());
                lost = Some((dir, removed.offset));
            }
            planned.extend(segments);
        }
        for &(dir, start, len) in &self.retransmissions {
            let total = self.streams[dir].len();
            if total == 0 {
                continue;
            }
            let offset = start * total / 1000;
            let len = len.min(total - offset);
            if let Some((lost_dir, lost_offset)) = lost
                && lost_dir == dir
                && offset + len > lost_offset
            {
                continue;
            }
            planned.push(Planned {
                dir,
                offset,
                len,
                flags: TcpFlags::ACK,
            });
        }
        for dir in 0..2 {
            planned.push(Planned {
                dir,
                offset: self.streams[dir].len(),
                len: 0,
                flags: TcpFlags::FIN | TcpFlags::ACK,
            });
        }
        // Each segment overtakes at most `delay` (< MAX_WINDOW) earlier ones.
        let mut keyed: Vec<(usize, Planned)> = planned
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i + MAX_WINDOW - self.delays[i % self.delays.len()], p))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        (keyed.into_iter().map(|(_, p)| p).collect(), lost)
    }

    /// Runs the handshake and `planned` through a table; returns its events,
    /// asserting after every segment that held bytes stay within the limit.
    fn run(&self, planned: &[Planned], limit: usize) -> Vec<FlowEvent> {
        let mut table = FlowTable::new(FlowLimits {
            max_flows: 16,
            max_out_of_order: limit,
            // Both directions may fill their own bound.
            max_total_out_of_order: 2 * limit,
        });
        let mut out = Vec::new();
        let ends = [(client(), server()), (server(), client())];
        let syn = |dir: usize, flags: u8| TcpSegment {
            src: ends[dir].0,
            dst: ends[dir].1,
            seq: self.isns[dir],
            flags: TcpFlags(flags),
            payload: &[],
            truncated: false,
        };
        table.push(&syn(0, TcpFlags::SYN), &mut out);
        table.push(&syn(1, TcpFlags::SYN | TcpFlags::ACK), &mut out);
        for p in planned {
            let segment = TcpSegment {
                src: ends[p.dir].0,
                dst: ends[p.dir].1,
                seq: self.isns[p.dir]
                    .wrapping_add(1)
                    .wrapping_add(p.offset as u32),
                flags: TcpFlags(p.flags),
                payload: &self.streams[p.dir][p.offset..p.offset + p.len],
                truncated: false,
            };
            table.push(&segment, &mut out);
            if let Some(held) = table.held_bytes(FlowId(1)) {
                assert!(held[0] <= limit && held[1] <= limit, "{held:?} > {limit}");
            }
        }
        table.finish(&mut out);
        out
    }
}

/// Per direction: the bytes, and the gap's offset if any; checks that
/// offsets are contiguous, at most one gap, nothing after it, and exactly one
/// `Closed`.
fn collect(events: &[FlowEvent]) -> [(Vec<u8>, Option<u64>); 2] {
    let mut out: [(Vec<u8>, Option<u64>); 2] = Default::default();
    let mut closed = 0;
    for event in events {
        match event {
            FlowEvent::Opened {
                flow, client: c, ..
            } => {
                assert_eq!((*flow, *c), (FlowId(1), client()));
            }
            FlowEvent::Data { flow, from, bytes } => {
                assert_eq!(*flow, FlowId(1));
                assert_eq!(closed, 0, "data after Closed");
                let side = &mut out[usize::from(*from == Direction::ServerToClient)];
                assert!(side.1.is_none(), "data after the gap");
                assert!(!bytes.is_empty());
                side.0.extend_from_slice(bytes);
            }
            FlowEvent::Gap { from, at, .. } => {
                let side = &mut out[usize::from(*from == Direction::ServerToClient)];
                assert!(side.1.is_none(), "a second gap");
                assert_eq!(*at, side.0.len() as u64, "the gap is where the bytes stop");
                side.1 = Some(*at);
            }
            FlowEvent::Closed { flow } => {
                assert_eq!(*flow, FlowId(1));
                closed += 1;
            }
        }
    }
    assert_eq!(closed, 1, "one Closed");
    out
}

proptest! {
    #[test]
    fn reassembled_streams_are_the_originals(scenario in scenario(3000)) {
        let (planned, _) = scenario.plan(None);
        let events = scenario.run(&planned, 4 * MAX_WINDOW * MAX_SEGMENT);
        let [c, s] = collect(&events);
        prop_assert_eq!(c, (scenario.streams[0].clone(), None));
        prop_assert_eq!(s, (scenario.streams[1].clone(), None));
        // Both FINs were reached: closed before the end of the capture.
        let last_closed = events.iter().rposition(|e| matches!(e, FlowEvent::Closed { .. }));
        prop_assert!(last_closed.is_some());
    }

    #[test]
    fn a_lost_segment_is_one_gap_at_its_offset(
        scenario in scenario(4000),
        drop_dir in 0..2usize,
        drop_index in any::<usize>(),
        limit in (2 * MAX_WINDOW * MAX_SEGMENT)..4000,
    ) {
        let (planned, lost) = scenario.plan(Some((drop_dir, drop_index)));
        let events = scenario.run(&planned, limit);
        let sides = collect(&events);
        match lost {
            Some((dir, offset)) => {
                let expected = (scenario.streams[dir][..offset].to_vec(), Some(offset as u64));
                prop_assert_eq!(&sides[dir], &expected);
                prop_assert_eq!(&sides[1 - dir], &(scenario.streams[1 - dir].clone(), None));
            }
            None => {
                prop_assert_eq!(&sides[0], &(scenario.streams[0].clone(), None));
                prop_assert_eq!(&sides[1], &(scenario.streams[1].clone(), None));
            }
        }
    }
}
