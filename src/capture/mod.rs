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
pub mod tcp;

use crate::passive::{Direction, PassiveEvent, ServerKeys};

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
pub struct CaptureDecoder {
    keys: ServerKeys,
    skipped: Skipped,
}

impl CaptureDecoder {
    /// A decoder with these keys and limits.
    pub fn new(keys: ServerKeys, limits: FlowLimits) -> Self {
        let _ = limits;
        Self {
            keys,
            skipped: Skipped::default(),
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
        let _ = (link_type, data, out, &self.keys);
    }

    /// The capture ended: closes every open connection.
    pub fn finish(&mut self, out: &mut Vec<CaptureEvent>) {
        let _ = out;
    }

    /// Packets skipped so far.
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }
}
