//! TCP reassembly: each connection's two byte streams, in order, in bounded
//! memory.
//!
//! Each direction keeps the sequence number of its stream offset 0 and the
//! offset of the next byte it expects (a `u64`, so streams longer than 4 GiB
//! and sequence wraparound are handled by 32-bit differences from that point).
//! Bytes at the expected offset are emitted at once; bytes ahead of it are held,
//! up to [`FlowLimits::max_out_of_order`] per direction, until the hole before
//! them fills. Bytes already emitted or already held are never emitted again:
//! when a retransmission carries different bytes for the same offsets, the first
//! copy seen wins (what a receiving host that accepted the first one would
//! have delivered).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use super::layers::{TcpFlags, TcpSegment};
use crate::passive::Direction;

/// A connection's number, from 1, in the order connections first appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

/// Bounds on the reassembler's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLimits {
    /// Connections tracked at once; past it the least recently active is
    /// closed. Connections already closed are remembered (so that their last
    /// ACKs do not open new connections) and count here too; they are
    /// forgotten first, being the least recently active.
    pub max_flows: usize,
    /// Out-of-order bytes held per direction; past it the hole is a gap.
    ///
    /// A capture taken at the receiver can hold a whole receive window of
    /// segments recorded after the one before them, and Linux grows a window
    /// to `net.ipv4.tcp_rmem`'s maximum (6 MiB by default, often 32 MiB): the
    /// default covers that.
    pub max_out_of_order: usize,
    /// Out-of-order bytes held by all connections together; a direction that
    /// would go past it is a gap. This, not `max_flows` times
    /// `max_out_of_order`, is what bounds the reassembler's memory.
    pub max_total_out_of_order: usize,
}

impl Default for FlowLimits {
    fn default() -> Self {
        Self {
            max_flows: 65_536,
            max_out_of_order: 32 << 20,
            max_total_out_of_order: 256 << 20,
        }
    }
}

/// What reassembly yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowEvent {
    /// A connection seen for the first time.
    Opened {
        /// Its number.
        flow: FlowId,
        /// The client (SYN sender, else the first sender seen).
        client: SocketAddr,
        /// The server.
        server: SocketAddr,
        /// No SYN was seen.
        mid_stream: bool,
    },
    /// The next in-order bytes of one direction.
    Data {
        /// The connection.
        flow: FlowId,
        /// Which direction.
        from: Direction,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Bytes of one direction were lost; it yields nothing more.
    Gap {
        /// The connection.
        flow: FlowId,
        /// Which direction.
        from: Direction,
        /// The stream offset where the hole starts.
        at: u64,
    },
    /// The connection ended.
    Closed {
        /// The connection.
        flow: FlowId,
    },
}

/// The two endpoints of a connection, in a fixed order, so that both
/// directions find the same flow.
type FlowKey = (SocketAddr, SocketAddr);

fn flow_key(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if a <= b { (a, b) } else { (b, a) }
}

/// Every connection of a capture.
pub struct FlowTable {
    limits: FlowLimits,
    flows: HashMap<FlowKey, Flow>,
    /// Flows by their last activity, oldest first: the one to close when the
    /// table is full.
    by_activity: BTreeMap<u64, FlowKey>,
    clock: u64,
    next_id: u64,
    /// Out-of-order bytes held by every live flow together.
    held_total: usize,
}

/// One connection, live or (as a tombstone) closed.
struct Flow {
    id: FlowId,
    client: SocketAddr,
    /// `[client to server, server to client]`.
    halves: [Half; 2],
    last_active: u64,
    closed: bool,
}

/// One direction of a connection.
#[derive(Default)]
struct Half {
    /// The sequence number of stream offset 0, once known (from SYN, or from
    /// the first segment seen).
    base: Option<u32>,
    /// The ISN of the SYN seen, to tell a retransmitted SYN from a new
    /// connection on the same ports.
    syn_isn: Option<u32>,
    /// The offset of the next byte to emit.
    next: u64,
    /// Bytes ahead of `next`, by offset; ranges never overlap.
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    /// Where the stream ends (FIN), once known.
    fin_at: Option<u64>,
    fin_seen: bool,
    /// Where captured bytes stop (a snap-length-truncated segment).
    lost_at: Option<u64>,
    state: HalfState,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum HalfState {
    #[default]
    Open,
    /// Every byte up to FIN was emitted.
    Ended,
    /// A gap was reported: nothing more is emitted.
    Stopped,
}

impl Half {
    fn done(&self) -> bool {
        match self.state {
            HalfState::Open => false,
            HalfState::Ended => true,
            HalfState::Stopped => self.fin_seen,
        }
    }

    /// The stream offset of sequence number `seq`, relative to `next`: the
    /// 32-bit signed distance, so wraparound needs no special case. `None`
    /// before the stream's start.
    fn offset_of(&self, base: u32, seq: u32) -> Option<u64> {
        // The sequence number of `next` (truncation to 32 bits is the point).
        let next_seq = base.wrapping_add(self.next as u32);
        let distance = seq.wrapping_sub(next_seq) as i32;
        if distance >= 0 {
            self.next.checked_add(u64::from(distance.unsigned_abs()))
        } else {
            self.next.checked_sub(u64::from(distance.unsigned_abs()))
        }
    }

    /// Takes bytes at stream offset `offset`, emitting what is now in order.
    fn accept(
        &mut self,
        mut offset: u64,
        mut bytes: &[u8],
        limit: usize,
        emit: &mut dyn FnMut(HalfOutput),
    ) {
        if self.state != HalfState::Open {
            return;
        }
        // Nothing past the end of the stream (FIN) or the first lost byte.
        for stop in [self.fin_at, self.lost_at].into_iter().flatten() {
            let room = stop.saturating_sub(offset);
            if (bytes.len() as u64) > room {
                bytes = bytes.get(..room as usize).unwrap_or_default();
            }
        }
        loop {
            // Held ranges now in order go first: they came before this copy.
            self.release(emit);
            // Bytes already emitted are dropped (retransmissions,
            // keep-alives, overlaps with what was just released).
            if offset < self.next {
                let skip = self.next - offset;
                if skip >= bytes.len() as u64 {
                    break;
                }
                bytes = bytes.get(skip as usize..).unwrap_or_default();
                offset = self.next;
            }
            if bytes.is_empty() {
                break;
            }
            if offset > self.next {
                self.hold(offset, bytes, limit, emit);
                break;
            }
            // In order: up to the first held range (which is past `next`).
            let room = match self.held.first_key_value() {
                Some((&start, _)) => start - offset,
                None => u64::MAX,
            };
            let take = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            let (now, later) = bytes.split_at(take);
            self.next += now.len() as u64;
            offset = self.next;
            emit(HalfOutput::Data(now.to_vec()));
            bytes = later;
        }
        self.check_end(emit);
    }

    /// Holds `bytes` at `offset` (ahead of `next`), keeping only what no held
    /// range covers already.
    fn hold(&mut self, offset: u64, bytes: &[u8], limit: usize, emit: &mut dyn FnMut(HalfOutput)) {
        let end = offset + bytes.len() as u64;
        // The held ranges overlapping [offset, end), in order.
        let mut covered: Vec<(u64, u64)> = self
            .held
            .range(..end)
            .rev()
            .take_while(|(start, held)| **start + held.len() as u64 > offset)
            .map(|(start, held)| (*start, *start + held.len() as u64))
            .collect();
        covered.reverse();
        let mut pieces = Vec::new();
        let mut at = offset;
        for (start, stop) in covered.into_iter().chain([(end, end)]) {
            if start > at {
                pieces.push((at, start));
            }
            at = at.max(stop);
        }
        let new_bytes: u64 = pieces.iter().map(|(a, b)| b - a).sum();
        if new_bytes == 0 {
            return;
        }
        if self.held_bytes as u64 + new_bytes > limit as u64 {
            // The hole at `next` will not be filled within the bound.
            self.stop(emit);
            return;
        }
        for (start, stop) in pieces {
            let from = (start - offset) as usize;
            let to = (stop - offset) as usize;
            if let Some(piece) = bytes.get(from..to) {
                self.held.insert(start, piece.to_vec());
                self.held_bytes += piece.len();
            }
        }
    }

    /// Emits held ranges that are now in order.
    fn release(&mut self, emit: &mut dyn FnMut(HalfOutput)) {
        // Held before the stream's end was known: nothing past it is emitted.
        let end = self
            .fin_at
            .into_iter()
            .chain(self.lost_at)
            .min()
            .unwrap_or(u64::MAX);
        while let Some(entry) = self.held.first_entry() {
            let start = *entry.key();
            if start > self.next || start >= end {
                break;
            }
            let mut held = entry.remove();
            self.held_bytes -= held.len();
            held.truncate(usize::try_from(end - start).unwrap_or(usize::MAX));
            let skip = (self.next - start) as usize;
            if skip < held.len() {
                held.drain(..skip);
                self.next += held.len() as u64;
                emit(HalfOutput::Data(held));
            }
        }
    }

    /// Ends the stream if FIN or a lost byte was reached.
    fn check_end(&mut self, emit: &mut dyn FnMut(HalfOutput)) {
        if self.state != HalfState::Open {
            return;
        }
        if self.lost_at.is_some_and(|lost| self.next >= lost) {
            self.stop(emit);
        } else if self.fin_at.is_some_and(|fin| self.next >= fin) {
            self.state = HalfState::Ended;
            self.clear();
        }
    }

    /// A gap at `next`: this direction yields nothing more.
    fn stop(&mut self, emit: &mut dyn FnMut(HalfOutput)) {
        if self.state == HalfState::Open {
            emit(HalfOutput::Gap(self.next));
            self.state = HalfState::Stopped;
        }
        self.clear();
    }

    /// The capture ended or the connection was torn down: a hole before held
    /// bytes, before a FIN or before a lost byte is a gap.
    fn close(&mut self, emit: &mut dyn FnMut(HalfOutput)) {
        if self.state == HalfState::Open
            && (!self.held.is_empty() || self.fin_at.is_some() || self.lost_at.is_some())
        {
            self.stop(emit);
        }
        self.clear();
    }

    fn clear(&mut self) {
        self.held = BTreeMap::new();
        self.held_bytes = 0;
    }
}

enum HalfOutput {
    Data(Vec<u8>),
    Gap(u64),
}

const DIRECTIONS: [Direction; 2] = [Direction::ClientToServer, Direction::ServerToClient];

impl Flow {
    fn emit_half(
        &mut self,
        index: usize,
        segment: &TcpSegment<'_>,
        limit: usize,
        out: &mut Vec<FlowEvent>,
    ) {
        let flow = self.id;
        let from = DIRECTIONS[index & 1];
        let half = &mut self.halves[index & 1];
        let mut emit = |output: HalfOutput| {
            out.push(match output {
                HalfOutput::Data(bytes) => FlowEvent::Data { flow, from, bytes },
                HalfOutput::Gap(at) => FlowEvent::Gap { flow, from, at },
            })
        };
        let syn = segment.flags.has(TcpFlags::SYN);
        let mut seq = segment.seq;
        if syn {
            half.syn_isn.get_or_insert(seq);
            // The SYN takes one sequence number before the first byte.
            seq = seq.wrapping_add(1);
        }
        let base = *half.base.get_or_insert(seq);
        let Some(offset) = half.offset_of(base, seq) else {
            return;
        };
        let payload_end = offset + segment.payload.len() as u64;
        if segment.truncated {
            half.lost_at = Some(
                half.lost_at
                    .map_or(payload_end, |lost| lost.min(payload_end)),
            );
        }
        if segment.flags.has(TcpFlags::FIN) {
            half.fin_seen = true;
            if half.fin_at.is_none() && payload_end >= half.next {
                half.fin_at = Some(payload_end);
            }
        }
        half.accept(offset, segment.payload, limit, &mut emit);
        half.check_end(&mut emit);
    }

    /// Out-of-order bytes held, both directions.
    fn held_total(&self) -> usize {
        self.halves[0].held_bytes + self.halves[1].held_bytes
    }

    /// Closes both directions (holes become gaps) and emits `Closed`.
    fn close(&mut self, out: &mut Vec<FlowEvent>) {
        if self.closed {
            return;
        }
        let flow = self.id;
        for (half, from) in self.halves.iter_mut().zip(DIRECTIONS) {
            half.close(&mut |output| {
                if let HalfOutput::Gap(at) = output {
                    out.push(FlowEvent::Gap { flow, from, at });
                }
            });
        }
        self.closed = true;
        out.push(FlowEvent::Closed { flow });
    }
}

impl FlowTable {
    /// An empty table.
    pub fn new(limits: FlowLimits) -> Self {
        Self {
            limits,
            flows: HashMap::new(),
            by_activity: BTreeMap::new(),
            clock: 0,
            next_id: 1,
            held_total: 0,
        }
    }

    /// Takes one segment and appends what it yields to `out`.
    pub fn push(&mut self, segment: &TcpSegment<'_>, out: &mut Vec<FlowEvent>) {
        let key = flow_key(segment.src, segment.dst);
        let syn_only = segment.flags.has(TcpFlags::SYN) && !segment.flags.has(TcpFlags::ACK);
        self.clock += 1;
        let now = self.clock;

        let restart = match self.flows.get_mut(&key) {
            // A closed connection's stragglers (last ACKs, retransmitted FINs)
            // open nothing; a new SYN is a new connection on the same ports.
            Some(flow) if flow.closed => syn_only,
            Some(flow) => {
                let half = &flow.halves[usize::from(segment.src != flow.client)];
                let new_isn = half.syn_isn.is_some_and(|isn| isn != segment.seq)
                    || (half.syn_isn.is_none() && half.base.is_some());
                if syn_only && new_isn {
                    flow.close(out);
                    true
                } else {
                    false
                }
            }
            // A reset of a connection never seen opens nothing.
            None if segment.flags.has(TcpFlags::RST) => return,
            None => {
                if self.flows.len() >= self.limits.max_flows.max(1) {
                    self.evict(out);
                }
                true
            }
        };
        if restart {
            if let Some(old) = self.flows.remove(&key) {
                self.by_activity.remove(&old.last_active);
                self.held_total -= old.held_total();
            }
            let id = FlowId(self.next_id);
            self.next_id += 1;
            let synack = segment.flags.has(TcpFlags::SYN | TcpFlags::ACK);
            // The SYN's sender is the client; a SYN-ACK's receiver is; failing
            // both, the first sender seen is taken for it.
            let (client, server) = if synack {
                (segment.dst, segment.src)
            } else {
                (segment.src, segment.dst)
            };
            out.push(FlowEvent::Opened {
                flow: id,
                client,
                server,
                mid_stream: !segment.flags.has(TcpFlags::SYN),
            });
            self.flows.insert(
                key,
                Flow {
                    id,
                    client,
                    halves: [Half::default(), Half::default()],
                    last_active: now,
                    closed: false,
                },
            );
            self.by_activity.insert(now, key);
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        if flow.closed {
            return;
        }
        self.by_activity.remove(&flow.last_active);
        flow.last_active = now;
        self.by_activity.insert(now, key);

        let index = usize::from(segment.src != flow.client);
        let before = flow.held_total();
        // What this direction may hold: its own bound, and what the other
        // connections leave of the shared one.
        let others = self.held_total - flow.halves[index].held_bytes;
        let limit = self
            .limits
            .max_out_of_order
            .min(self.limits.max_total_out_of_order.saturating_sub(others));
        flow.emit_half(index, segment, limit, out);
        if segment.flags.has(TcpFlags::RST) || flow.halves.iter().all(Half::done) {
            flow.close(out);
        }
        self.held_total = self.held_total - before + flow.held_total();
    }

    /// Closes the least recently active flow to make room.
    fn evict(&mut self, out: &mut Vec<FlowEvent>) {
        if let Some((_, key)) = self.by_activity.pop_first()
            && let Some(mut flow) = self.flows.remove(&key)
        {
            self.held_total -= flow.held_total();
            flow.close(out);
        }
    }

    /// The capture ended: every open connection closes (holes become gaps),
    /// in the order the connections appeared.
    pub fn finish(&mut self, out: &mut Vec<FlowEvent>) {
        let mut flows: Vec<Flow> = self.flows.drain().map(|(_, flow)| flow).collect();
        flows.sort_by_key(|flow| flow.id);
        for flow in &mut flows {
            flow.close(out);
        }
        self.by_activity.clear();
        self.held_total = 0;
    }

    /// Bytes held out of order by the live flow `flow`, per direction
    /// (client to server, server to client); `None` if it is not live. A
    /// linear search: for tests and fuzzing.
    pub fn held_bytes(&self, flow: FlowId) -> Option<[usize; 2]> {
        self.flows
            .values()
            .find(|f| f.id == flow && !f.closed)
            .map(|f| [f.halves[0].held_bytes, f.halves[1].held_bytes])
    }

    /// Out-of-order bytes held by every live flow together, at most
    /// `max_total_out_of_order`.
    pub fn held_total(&self) -> usize {
        self.held_total
    }

    /// Flows remembered (live or closed), at most `max_flows`.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether no flow is remembered.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "10.0.0.1:40000";
    const S: &str = "10.0.0.2:443";
    const SYN: u8 = TcpFlags::SYN;
    const SYNACK: u8 = TcpFlags::SYN | TcpFlags::ACK;
    const ACK: u8 = TcpFlags::ACK;
    const FIN: u8 = TcpFlags::FIN | TcpFlags::ACK;
    const RST: u8 = TcpFlags::RST;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn seg(src: &str, dst: &str, seq: u32, flags: u8, payload: &[u8]) -> TcpSegment<'static> {
        TcpSegment {
            src: addr(src),
            dst: addr(dst),
            seq,
            flags: TcpFlags(flags),
            payload: payload.to_vec().leak(),
            truncated: false,
        }
    }

    fn table(max_out_of_order: usize) -> FlowTable {
        FlowTable::new(FlowLimits {
            max_flows: 4,
            max_out_of_order,
            max_total_out_of_order: usize::MAX,
        })
    }

    fn run(table: &mut FlowTable, segments: &[TcpSegment<'_>]) -> Vec<FlowEvent> {
        let mut out = Vec::new();
        for segment in segments {
            table.push(segment, &mut out);
        }
        out
    }

    /// The bytes of one direction, and where it stopped with a gap.
    fn stream(events: &[FlowEvent], flow: u64, dir: Direction) -> (Vec<u8>, Option<u64>) {
        let mut bytes = Vec::new();
        let mut gap = None;
        for event in events {
            match event {
                FlowEvent::Data {
                    flow: f,
                    from,
                    bytes: b,
                } if f.0 == flow && *from == dir => {
                    assert!(gap.is_none(), "data after the gap");
                    bytes.extend_from_slice(b)
                }
                FlowEvent::Gap { flow: f, from, at } if f.0 == flow && *from == dir => {
                    assert!(gap.replace(*at).is_none(), "two gaps");
                    assert_eq!(*at, bytes.len() as u64);
                }
                _ => {}
            }
        }
        (bytes, gap)
    }

    fn closed(events: &[FlowEvent]) -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e {
                FlowEvent::Closed { flow } => Some(flow.0),
                _ => None,
            })
            .collect()
    }

    fn handshake(isn_c: u32, isn_s: u32) -> Vec<TcpSegment<'static>> {
        vec![
            seg(C, S, isn_c, SYN, b""),
            seg(S, C, isn_s, SYNACK, b""),
            seg(C, S, isn_c.wrapping_add(1), ACK, b""),
        ]
    }

    #[test]
    fn full_connection_in_order_and_closed_once() {
        let mut t = table(1000);
        let mut segments = handshake(100, 5000);
        segments.extend([
            seg(C, S, 101, ACK, b"hello"),
            seg(S, C, 5001, ACK, b"world"),
            seg(C, S, 106, FIN, b"!"),
            seg(S, C, 5006, FIN, b""),
            seg(C, S, 108, ACK, b""),
        ]);
        let events = run(&mut t, &segments);
        assert_eq!(
            events[0],
            FlowEvent::Opened {
                flow: FlowId(1),
                client: addr(C),
                server: addr(S),
                mid_stream: false
            }
        );
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"hello!".to_vec(), None)
        );
        assert_eq!(
            stream(&events, 1, Direction::ServerToClient),
            (b"world".to_vec(), None)
        );
        assert_eq!(closed(&events), vec![1]);
        // The last ACK opened nothing; finishing adds nothing.
        let mut more = Vec::new();
        t.finish(&mut more);
        assert!(more.is_empty(), "{more:?}");
    }

    #[test]
    fn reordering_retransmission_and_first_copy_wins() {
        let mut t = table(1000);
        let mut segments = handshake(10, 20);
        segments.extend([
            seg(C, S, 16, ACK, b"fgh"),
            seg(C, S, 14, ACK, b"de"),
            // Overlaps held bytes with different ones: the first copy wins.
            seg(C, S, 15, ACK, b"XYZ"),
            seg(C, S, 11, ACK, b"abc"),
            // A retransmission of emitted bytes with different content, and
            // one new byte.
            seg(C, S, 11, ACK, b"QQQQQQQQi"),
            seg(C, S, 19, ACK, b"Qj"),
        ]);
        let events = run(&mut t, &segments);
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer).0,
            b"abcdefghij"
        );
        assert_eq!(t.held_bytes(FlowId(1)), Some([0, 0]));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut t = table(1000);
        let isn = u32::MAX - 3;
        let mut segments = handshake(isn, 7);
        segments.extend([
            seg(C, S, isn.wrapping_add(4), ACK, b"3456"),
            seg(C, S, isn.wrapping_add(1), ACK, b"012"),
        ]);
        let events = run(&mut t, &segments);
        assert_eq!(stream(&events, 1, Direction::ClientToServer).0, b"0123456");
    }

    #[test]
    fn keep_alive_probes_make_no_gap() {
        let mut t = table(1000);
        let mut segments = handshake(1, 1);
        segments.extend([
            seg(C, S, 2, ACK, b"ab"),
            // Keep-alive: one garbage byte at next - 1.
            seg(C, S, 3, ACK, b"\0"),
            seg(C, S, 4, ACK, b"cd"),
        ]);
        let mut events = run(&mut t, &segments);
        t.finish(&mut events);
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"abcd".to_vec(), None)
        );
    }

    #[test]
    fn connections_share_one_bound_on_held_bytes() {
        // Each direction may hold 8 bytes, all connections together 10.
        let mut t = FlowTable::new(FlowLimits {
            max_flows: 4,
            max_out_of_order: 8,
            max_total_out_of_order: 10,
        });
        const C2: &str = "10.0.0.1:40001";
        let mut segments = handshake(0, 0);
        segments.extend(handshake_from(C2, 0));
        segments.extend([
            // Connection 1 holds 6 bytes behind a hole at 1..3.
            seg(C, S, 3, ACK, b"cdefgh"),
            // Connection 2 may hold 4 more, not 5: its hole is a gap.
            seg(C2, S, 3, ACK, b"cdefg"),
        ]);
        let mut events = run(&mut t, &segments);
        assert_eq!(t.held_bytes(FlowId(1)), Some([6, 0]));
        assert_eq!(t.held_bytes(FlowId(2)), Some([0, 0]));
        assert_eq!(t.held_total(), 6);
        assert_eq!(
            stream(&events, 2, Direction::ClientToServer),
            (Vec::new(), Some(0))
        );
        // Connection 1's hole fills: everything it held goes out, and
        // the shared bound is free again.
        events.extend(run(&mut t, &[seg(C, S, 1, ACK, b"ab")]));
        assert_eq!(t.held_total(), 0);
        t.finish(&mut events);
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"abcdefgh".to_vec(), None)
        );
    }

    #[test]
    fn a_hole_past_the_limit_is_one_gap_and_nothing_after() {
        let mut t = table(5);
        let mut segments = handshake(0, 0);
        segments.extend([
            seg(C, S, 1, ACK, b"ab"),
            // "cd" is lost.
            seg(C, S, 5, ACK, b"efg"),
            seg(C, S, 8, ACK, b"hi"),
        ]);
        let mut events = run(&mut t, &segments);
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"ab".to_vec(), None)
        );
        assert_eq!(t.held_bytes(FlowId(1)), Some([5, 0]));
        events.extend(run(&mut t, &[seg(C, S, 10, ACK, b"j")]));
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"ab".to_vec(), Some(2))
        );
        assert_eq!(t.held_bytes(FlowId(1)), Some([0, 0]));
        // The hole filled late: nothing more.
        events.extend(run(&mut t, &[seg(C, S, 3, ACK, b"cd")]));
        // The other direction goes on.
        events.extend(run(&mut t, &[seg(S, C, 1, ACK, b"ok")]));
        t.finish(&mut events);
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"ab".to_vec(), Some(2))
        );
        assert_eq!(
            stream(&events, 1, Direction::ServerToClient),
            (b"ok".to_vec(), None)
        );
        assert_eq!(closed(&events), vec![1]);
    }

    #[test]
    fn finish_turns_holes_into_gaps() {
        let mut t = table(100);
        let mut segments = handshake(0, 0);
        segments.extend([seg(C, S, 1, ACK, b"ab"), seg(C, S, 5, FIN, b"ef")]);
        // Server: a FIN whose data before it never came.
        segments.push(seg(S, C, 4, FIN, b""));
        let mut events = run(&mut t, &segments);
        assert!(closed(&events).is_empty());
        t.finish(&mut events);
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"ab".to_vec(), Some(2))
        );
        assert_eq!(
            stream(&events, 1, Direction::ServerToClient),
            (b"".to_vec(), Some(0))
        );
        assert_eq!(closed(&events), vec![1]);
    }

    #[test]
    fn rst_closes_and_a_new_syn_is_a_new_connection() {
        let mut t = table(100);
        let mut segments = handshake(0, 0);
        segments.extend([seg(C, S, 1, ACK, b"ab"), seg(S, C, 1, RST, b"")]);
        // Stragglers of the closed connection open nothing.
        segments.push(seg(C, S, 3, ACK, b"late"));
        segments.extend(handshake(1000, 2000));
        segments.push(seg(C, S, 1001, ACK, b"new"));
        let mut events = run(&mut t, &segments);
        t.finish(&mut events);
        assert_eq!(stream(&events, 1, Direction::ClientToServer).0, b"ab");
        assert_eq!(stream(&events, 2, Direction::ClientToServer).0, b"new");
        assert_eq!(closed(&events), vec![1, 2]);
        let opened = events
            .iter()
            .filter(|e| matches!(e, FlowEvent::Opened { .. }))
            .count();
        assert_eq!(opened, 2);
    }

    #[test]
    fn port_reuse_without_close_and_syn_retransmission() {
        let mut t = table(100);
        let mut segments = handshake(0, 0);
        segments.push(seg(C, S, 0, SYN, b""));
        segments.push(seg(C, S, 1, ACK, b"a"));
        // A new ISN on the same ports: the old connection is over.
        segments.extend(handshake(500, 600));
        segments.push(seg(C, S, 501, ACK, b"b"));
        let mut events = run(&mut t, &segments);
        t.finish(&mut events);
        assert_eq!(closed(&events), vec![1, 2]);
        assert_eq!(stream(&events, 1, Direction::ClientToServer).0, b"a");
        assert_eq!(stream(&events, 2, Direction::ClientToServer).0, b"b");
    }

    #[test]
    fn mid_stream_takes_the_first_sender_as_client() {
        let mut t = table(100);
        let events = run(
            &mut t,
            &[seg(S, C, 9000, ACK, b"xy"), seg(C, S, 77, ACK, b"z")],
        );
        assert_eq!(
            events[0],
            FlowEvent::Opened {
                flow: FlowId(1),
                client: addr(S),
                server: addr(C),
                mid_stream: true
            }
        );
        assert_eq!(stream(&events, 1, Direction::ClientToServer).0, b"xy");
        assert_eq!(stream(&events, 1, Direction::ServerToClient).0, b"z");
        // A SYN-ACK seen without its SYN: its receiver is the client.
        let events = run(&mut t, &[seg(S, "10.0.0.3:1", 1, SYNACK, b"")]);
        assert!(
            matches!(&events[0], FlowEvent::Opened { client, mid_stream: false, .. } if *client == addr("10.0.0.3:1"))
        );
    }

    #[test]
    fn least_recently_active_flow_is_closed_past_max_flows() {
        let mut t = table(100);
        let mut events = Vec::new();
        for port in 1..=4u16 {
            let c = format!("10.0.0.1:{port}");
            events.extend(run(&mut t, &handshake_from(&c, 0)));
        }
        // Flow 1 is active again: flow 2 is now the oldest.
        events.extend(run(&mut t, &[seg("10.0.0.1:1", S, 1, ACK, b"x")]));
        events.extend(run(&mut t, &handshake_from("10.0.0.1:5", 0)));
        assert_eq!(closed(&events), vec![2]);
        assert_eq!(t.len(), 4);
        t.finish(&mut events);
        assert_eq!(closed(&events), vec![2, 1, 3, 4, 5]);
    }

    fn handshake_from(client: &str, isn: u32) -> Vec<TcpSegment<'static>> {
        vec![
            seg(client, S, isn, SYN, b""),
            seg(S, client, 0, SYNACK, b""),
        ]
    }

    #[test]
    fn truncated_segment_ends_the_direction_with_a_gap() {
        let mut t = table(100);
        let mut segments = handshake(0, 0);
        let mut cut = seg(C, S, 1, ACK, b"abc");
        cut.truncated = true;
        segments.extend([seg(C, S, 4, ACK, b"def"), cut, seg(C, S, 7, ACK, b"ghi")]);
        let events = run(&mut t, &segments);
        assert_eq!(
            stream(&events, 1, Direction::ClientToServer),
            (b"abc".to_vec(), Some(3))
        );
    }
}
