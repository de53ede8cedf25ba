//! One direction's bytes: buffering, deframing and record decryption.

use core::ops::Range;

use crate::crypto::{AeadKey, GCM_NONCE_LEN, GCM_TAG_LEN};
use crate::msgs::record::{HEADER_LEN, MAX_CIPHERTEXT, MAX_PLAINTEXT, RecordHeader};

/// Length of the explicit nonce at the start of each AES-GCM fragment (RFC 5288 §3).
const EXPLICIT_NONCE_LEN: usize = 8;

/// One direction's read key: the AES-GCM key, its implicit salt and the
/// sequence number of the next record (RFC 5246 §6.1: reset at each
/// ChangeCipherSpec).
///
/// Unlike the engines' `RecordKey`, there is no [`crate::SEQ_LIMIT`]: that
/// limit is rsatls's own policy as a sender, and a recorded peer may well have
/// sent more records under one key. A passive decoder reads what was sent.
pub(super) struct Opener {
    key: Box<dyn AeadKey>,
    salt: [u8; 4],
    seq: u64,
}

impl Opener {
    pub(super) fn new(key: Box<dyn AeadKey>, salt: [u8; 4]) -> Self {
        Self { key, salt, seq: 0 }
    }

    /// Decrypts `fragment` in place and returns the plaintext's range within
    /// it, or `None` if it does not authenticate (RFC 5246 §6.2.3.3).
    pub(super) fn open(
        &mut self,
        header: &RecordHeader,
        fragment: &mut [u8],
    ) -> Option<Range<usize>> {
        let plain_len = fragment
            .len()
            .checked_sub(EXPLICIT_NONCE_LEN + GCM_TAG_LEN)?;
        if plain_len > MAX_PLAINTEXT {
            return None;
        }
        let (explicit, rest) = fragment.split_at_mut(EXPLICIT_NONCE_LEN);
        let (body, tag) = rest.split_at_mut(plain_len);
        // RFC 5288 §3: nonce = salt ‖ nonce_explicit, the explicit part as sent.
        let mut nonce = [0u8; GCM_NONCE_LEN];
        nonce[..4].copy_from_slice(&self.salt);
        nonce[4..].copy_from_slice(explicit);
        // RFC 5246 §6.2.3.3: seq_num ‖ type ‖ version ‖ length.
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&self.seq.to_be_bytes());
        aad[8] = header.typ.0;
        aad[9..11].copy_from_slice(&header.version.0.to_be_bytes());
        aad[11..].copy_from_slice(&(plain_len as u16).to_be_bytes());
        let tag: &[u8; GCM_TAG_LEN] = (&*tag).try_into().ok()?;
        self.key.open_in_place(&nonce, &aad, body, tag).ok()?;
        self.seq = self.seq.checked_add(1)?;
        Some(EXPLICIT_NONCE_LEN..EXPLICIT_NONCE_LEN + plain_len)
    }
}

/// What the next bytes of a direction hold.
pub(super) enum Next {
    /// Not a whole record yet.
    Partial,
    /// A whole record: its header, and the range of its fragment in the buffer.
    Record(RecordHeader, Range<usize>),
    /// A header that no TLS peer sends.
    NotTls,
    /// A TLS header whose length is out of bounds.
    TooLong,
}

/// The buffered bytes of one direction and its record-layer state.
pub(super) struct DirectionState {
    /// Bytes received and not consumed yet, from `start`.
    pub(super) buf: Vec<u8>,
    pub(super) start: usize,
    /// The key records are read with, once a ChangeCipherSpec has switched it on.
    pub(super) reader: Option<Opener>,
    /// Handshake bytes (decrypted where they were encrypted) not yet consumed
    /// as whole messages.
    pub(super) handshake: Vec<u8>,
    /// No more bytes are decoded.
    pub(super) stopped: bool,
}

impl DirectionState {
    pub(super) fn new() -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            reader: None,
            handshake: Vec::new(),
            stopped: false,
        }
    }

    /// Bytes held and not decoded yet.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Drops the consumed bytes, moving the rest to the front (at most one
    /// partial record, or a flight waiting for the other direction).
    pub(super) fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Forgets everything held: the direction has stopped.
    pub(super) fn stop(&mut self) {
        self.stopped = true;
        self.buf = Vec::new();
        self.start = 0;
        self.handshake = Vec::new();
        self.reader = None;
    }

    /// Looks at the next record without consuming it.
    pub(super) fn peek(&self) -> Next {
        let rest = self.buf.get(self.start..).unwrap_or_default();
        let Some(header) = rest.first_chunk::<HEADER_LEN>() else {
            return Next::Partial;
        };
        // Five bytes always decode; were that ever to change, bytes that are
        // not a header are not TLS (never "wait for more", which would only
        // end at the buffer limit).
        let Ok(header) = RecordHeader::decode(header) else {
            return Next::NotTls;
        };
        // Content types 20..=24 (24 is heartbeat, RFC 6520) and SSL 3.0 or a
        // TLS record version: anything else is not TLS (an SSLv2 hello, or
        // another protocol altogether).
        if !(20..=24).contains(&header.typ.0) || header.version.0 >> 8 != 3 {
            return Next::NotTls;
        }
        let len = usize::from(header.len);
        if len > MAX_CIPHERTEXT {
            return Next::TooLong;
        }
        let from = self.start + HEADER_LEN;
        if rest.len() < HEADER_LEN + len {
            return Next::Partial;
        }
        Next::Record(header, from..from + len)
    }
}
