//! Reading packet captures (pcap and pcapng) down to TCP byte streams, and
//! feeding them to [`crate::passive`]: what `rsatls decrypt` runs on.
//!
//! Three layers, each usable alone:
//! - [`file`]: packets from a pcap or pcapng file (the `pcap-parser` crate);
//! - [`layers`]: one packet's link layer (Ethernet with 802.1Q, Linux cooked
//!   SLL and SLL2, BSD NULL/LOOP, RAW), IPv4 or IPv6, then TCP;
//! - [`tcp`]: reassembly of each connection both ways, in bounded memory:
//!   out-of-order segments are held up to a limit, retransmissions are dropped,
//!   and a hole that is never filled is a gap after which that direction stops.
//!
//! [`CaptureDecoder`] ties them to one [`crate::passive::ConnectionDecoder`]
//! per connection and a shared [`crate::passive::SessionCache`].
//!
//! Every input is untrusted; nothing here panics on a capture's bytes.

pub mod file;
pub mod layers;
pub mod synth;
pub mod tcp;

use std::collections::HashMap;

use crate::passive::{
    ConnectionDecoder, Direction, Limits, PassiveEvent, ServerKeys, SessionCache,
};

use layers::NotTcp;
use tcp::{FlowEvent, FlowTable};

pub use tcp::{FlowId, FlowLimits};

/// One thing learnt from the capture, for one connection.
pub enum CaptureEvent {
    /// A TCP connection was seen for the first time.
    Connection {
        /// Its number, from 1, in the order connections first appear.
        flow: FlowId,
        /// The client's address (the side that sent SYN, or else the side
        /// that sent the first segment seen).
        client: std::net::SocketAddr,
        /// The server's address.
        server: std::net::SocketAddr,
        /// Whether the capture missed the connection's start.
        mid_stream: bool,
    },
    /// What the TLS decoder learnt on a connection.
    Tls {
        /// The connection.
        flow: FlowId,
        /// The event.
        event: PassiveEvent,
    },
    /// The reassembler lost bytes of one direction.
    Gap {
        /// The connection.
        flow: FlowId,
        /// Which direction.
        from: Direction,
        /// Where the stream stops, in bytes from its start.
        at: u64,
    },
    /// The connection ended (FIN or RST both ways, or the end of the capture).
    Closed {
        /// The connection.
        flow: FlowId,
    },
}

/// Packets that were read but carry nothing for the decoder, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Link types this reader does not know.
    pub link_type: u64,
    /// Not IPv4/IPv6, or not TCP.
    pub not_tcp: u64,
    /// IP fragments (not reassembled).
    pub fragment: u64,
    /// Truncated by the capture's snap length, or malformed.
    pub malformed: u64,
}

/// The whole pipeline: packets in, [`CaptureEvent`]s out.
///
/// Memory is bounded by the live connections: a connection's decoder is made
/// when it opens and dropped when it closes, and the reassembler holds at
/// most [`FlowLimits`] bytes.
pub struct CaptureDecoder {
    keys: ServerKeys,
    cache: SessionCache,
    limits: Limits,
    flows: FlowTable,
    decoders: HashMap<FlowId, ConnectionDecoder>,
    skipped: Skipped,
    /// Reused between packets: the reassembler's output for one packet.
    flow_events: Vec<FlowEvent>,
}

impl CaptureDecoder {
    /// A decoder with these keys and limits.
    pub fn new(keys: ServerKeys, limits: FlowLimits) -> Self {
        Self {
            keys,
            cache: SessionCache::default(),
            limits: Limits::default(),
            flows: FlowTable::new(limits),
            decoders: HashMap::new(),
            skipped: Skipped::default(),
            flow_events: Vec::new(),
        }
    }

    /// Takes one captured packet of link type `link_type`, and appends what it
    /// taught to `out`.
    pub fn push_packet(
        &mut self,
        link_type: file::LinkType,
        data: &[u8],
        out: &mut Vec<CaptureEvent>,
    ) {
        match layers::tcp_segment(link_type, data) {
            Ok(segment) => {
                if segment.truncated {
                    // Placed up to what was captured; the reassembler ends
                    // the direction there with a gap.
                    self.skipped.malformed += 1;
                }
                let mut events = std::mem::take(&mut self.flow_events);
                self.flows.push(&segment, &mut events);
                self.handle(&mut events, out);
                self.flow_events = events;
            }
            Err(NotTcp::LinkType) => self.skipped.link_type += 1,
            Err(NotTcp::Protocol) => self.skipped.not_tcp += 1,
            Err(NotTcp::Fragment) => self.skipped.fragment += 1,
            Err(NotTcp::Malformed) => self.skipped.malformed += 1,
        }
    }

    /// The capture ended: closes every open connection.
    pub fn finish(&mut self, out: &mut Vec<CaptureEvent>) {
        let mut events = std::mem::take(&mut self.flow_events);
        self.flows.finish(&mut events);
        self.handle(&mut events, out);
        self.flow_events = events;
    }

    /// Packets skipped so far (a snap-length-truncated TCP segment counts as
    /// malformed, though its captured bytes are used).
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }

    /// Turns the reassembler's events into decoder input and output events;
    /// leaves `events` empty.
    fn handle(&mut self, events: &mut Vec<FlowEvent>, out: &mut Vec<CaptureEvent>) {
        for event in events.drain(..) {
            match event {
                FlowEvent::Opened {
                    flow,
                    client,
                    server,
                    mid_stream,
                } => {
                    out.push(CaptureEvent::Connection {
                        flow,
                        client,
                        server,
                        mid_stream,
                    });
                    // A connection whose SYN the capture missed is fed all
                    // the same: if it began before its ClientHello it still
                    // decrypts, and otherwise the decoder reports it as
                    // mid-stream from its first record.
                    self.decoders
                        .insert(flow, ConnectionDecoder::new(self.limits));
                }
                FlowEvent::Data { flow, from, bytes } => {
                    if let Some(decoder) = self.decoders.get_mut(&flow) {
                        decoder.feed(from, &bytes, &self.keys, &mut self.cache);
                        drain(flow, decoder, out);
                    }
                }
                FlowEvent::Gap { flow, from, at } => {
                    out.push(CaptureEvent::Gap { flow, from, at });
                    if let Some(decoder) = self.decoders.get_mut(&flow) {
                        decoder.gap(from);
                        drain(flow, decoder, out);
                    }
                }
                FlowEvent::Closed { flow } => {
                    if let Some(mut decoder) = self.decoders.remove(&flow) {
                        drain(flow, &mut decoder, out);
                    }
                    out.push(CaptureEvent::Closed { flow });
                }
            }
        }
    }
}

/// Moves every event the decoder has queued to `out`.
fn drain(flow: FlowId, decoder: &mut ConnectionDecoder, out: &mut Vec<CaptureEvent>) {
    while let Some(event) = decoder.poll_event() {
        out.push(CaptureEvent::Tls { flow, event });
    }
}
