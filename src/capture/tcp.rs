//! TCP reassembly: each connection's two byte streams, in order, in bounded
//! memory.

use std::net::SocketAddr;

use super::layers::TcpSegment;
use crate::passive::Direction;

/// A connection's number, from 1, in the order connections first appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

/// Bounds on the reassembler's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLimits {
    /// Connections tracked at once; past it the least recently active is
    /// closed.
    pub max_flows: usize,
    /// Out-of-order bytes held per direction; past it the hole is a gap.
    pub max_out_of_order: usize,
}

impl Default for FlowLimits {
    fn default() -> Self {
        Self {
            max_flows: 65_536,
            max_out_of_order: 1 << 20,
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

/// Every connection of a capture.
pub struct FlowTable {
    limits: FlowLimits,
}

impl FlowTable {
    /// An empty table.
    pub fn new(limits: FlowLimits) -> Self {
        Self { limits }
    }

    /// Takes one segment and appends what it yields to `out`.
    pub fn push(&mut self, segment: &TcpSegment<'_>, out: &mut Vec<FlowEvent>) {
        let _ = (segment, out, self.limits);
    }

    /// The capture ended: every open connection closes (holes become gaps).
    pub fn finish(&mut self, out: &mut Vec<FlowEvent>) {
        let _ = out;
    }
}
