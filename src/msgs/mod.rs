//! Wire types: every message rsatls sends or receives, with total decoders.
//!
//! Every decoder reads through [`crate::codec::Reader`], bounds each vector, and
//! rejects trailing bytes. This module never imports cryptography or connection
//! state.

pub mod alert;
pub mod enums;
pub mod extensions;
pub mod handshake;
pub mod record;
