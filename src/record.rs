//! Record protection: AES-GCM as RFC 5288 §3 applies it to TLS 1.2.
//!
//! `GCMNonce = salt (4, from the key block) ‖ nonce_explicit (8, sent in the record)`;
//! `additional_data = seq_num ‖ type ‖ version ‖ length` (RFC 5246 §6.2.3.3).
//!
//! rsatls sends its sequence number as the explicit nonce, so a nonce can only
//! repeat if the sequence number does, and the sequence number refuses to wrap:
//! after [`SEQ_LIMIT`] records one direction is finished. On receipt the eight
//! explicit bytes are used as sent (OpenSSL starts them at a random value).

use core::ops::Range;

use crate::crypto::{AeadKey, GCM_NONCE_LEN, GCM_TAG_LEN};
use crate::error::Error;
use crate::msgs::enums::{ContentType, ProtocolVersion};
use crate::msgs::record::{HEADER_LEN, MAX_PLAINTEXT, RecordHeader};

/// Records one direction may protect. 2^24 keeps AES-GCM far inside its usage
/// bound for one key; the last slot is reserved for close_notify.
pub const SEQ_LIMIT: u64 = 1 << 24;

/// Length of the explicit nonce carried in each record.
pub(crate) const EXPLICIT_NONCE_LEN: usize = 8;

/// Bytes a protected record adds to its plaintext.
pub(crate) const OVERHEAD: usize = EXPLICIT_NONCE_LEN + GCM_TAG_LEN;

/// Bytes on the wire of a protected record holding `plaintext_len` bytes.
pub(crate) const fn sealed_len(plaintext_len: usize) -> usize {
    HEADER_LEN + OVERHEAD + plaintext_len
}

/// One direction's record key, salt and sequence number. Not `Clone`.
pub(crate) struct RecordKey {
    key: Box<dyn AeadKey>,
    salt: [u8; 4],
    seq: u64,
}

impl RecordKey {
    pub(crate) fn new(key: Box<dyn AeadKey>, salt: [u8; 4]) -> Self {
        Self { key, salt, seq: 0 }
    }

    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }

    fn aad(&self, typ: ContentType, len: usize) -> [u8; 13] {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&self.seq.to_be_bytes());
        aad[8] = typ.0;
        aad[9..11].copy_from_slice(&ProtocolVersion::TLSV1_2.0.to_be_bytes());
        aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
        aad
    }

    fn nonce(&self, explicit: &[u8; EXPLICIT_NONCE_LEN]) -> [u8; GCM_NONCE_LEN] {
        let mut nonce = [0u8; GCM_NONCE_LEN];
        nonce[..4].copy_from_slice(&self.salt);
        nonce[4..].copy_from_slice(explicit);
        nonce
    }

    /// Whether a record of this kind may still be sealed: data records stop one
    /// short of the limit so that close_notify always has a slot.
    pub(crate) fn can_seal(&self, typ: ContentType) -> bool {
        match typ {
            ContentType::ALERT => self.seq < SEQ_LIMIT,
            _ => self.seq < SEQ_LIMIT - 1,
        }
    }

    /// Appends one protected record holding `plaintext` (at most 2^14 bytes) to
    /// `out`. Allocation-free when `out` has the capacity.
    pub(crate) fn seal(
        &mut self,
        typ: ContentType,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = out.len();
        out.resize(start + sealed_len(plaintext.len()), 0);
        let result = self.seal_to(typ, plaintext, &mut out[start..]);
        if result.is_err() {
            out.truncate(start);
        }
        result.map(drop)
    }

    /// Writes one protected record holding `plaintext` (at most 2^14 bytes) to
    /// the start of `out`, which must have room for
    /// [`sealed_len`]`(plaintext.len())` bytes, and returns that length. The
    /// plaintext is encrypted straight into `out`: nothing is copied first.
    pub(crate) fn seal_to(
        &mut self,
        typ: ContentType,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        debug_assert!(plaintext.len() <= MAX_PLAINTEXT);
        if !self.can_seal(typ) {
            return Err(Error::RecordLimitReached);
        }
        let len = sealed_len(plaintext.len());
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::Internal("record output buffer too small"));
        };
        let explicit = self.seq.to_be_bytes();
        let header = RecordHeader {
            typ,
            version: ProtocolVersion::TLSV1_2,
            len: (plaintext.len() + OVERHEAD) as u16,
        };
        let (head, body) = out.split_at_mut(HEADER_LEN + EXPLICIT_NONCE_LEN);
        head[..HEADER_LEN].copy_from_slice(&header.encode());
        head[HEADER_LEN..].copy_from_slice(&explicit);
        self.key
            .seal_to(
                &self.nonce(&explicit),
                &self.aad(typ, plaintext.len()),
                plaintext,
                body,
            )
            .map_err(|_| Error::Internal("AEAD seal failed"))?;
        self.seq += 1;
        Ok(len)
    }

    /// Opens a protected record's fragment in place and returns the range of the
    /// plaintext within `fragment`.
    ///
    /// Any failure is `bad_record_mac` (RFC 5246 §6.2.3.3), and the sequence number
    /// is not advanced.
    pub(crate) fn open(
        &mut self,
        typ: ContentType,
        fragment: &mut [u8],
    ) -> Result<Range<usize>, Error> {
        if self.seq >= SEQ_LIMIT {
            return Err(Error::RecordLimitReached);
        }
        let Some(plain_len) = fragment.len().checked_sub(OVERHEAD) else {
            return Err(Error::BadRecordMac);
        };
        let (explicit, rest) = fragment.split_at_mut(EXPLICIT_NONCE_LEN);
        let (body, tag) = rest.split_at_mut(plain_len);
        let mut explicit_arr = [0u8; EXPLICIT_NONCE_LEN];
        explicit_arr.copy_from_slice(explicit);
        let mut tag_arr = [0u8; GCM_TAG_LEN];
        tag_arr.copy_from_slice(tag);
        self.key
            .open_in_place(
                &self.nonce(&explicit_arr),
                &self.aad(typ, plain_len),
                body,
                &tag_arr,
            )
            .map_err(|_| Error::BadRecordMac)?;
        // RFC 5246 §6.2.3: the decrypted fragment must not exceed 2^14.
        if plain_len > MAX_PLAINTEXT {
            return Err(Error::RecordOverflow);
        }
        self.seq += 1;
        Ok(EXPLICIT_NONCE_LEN..EXPLICIT_NONCE_LEN + plain_len)
    }
}

/// Appends one unprotected record.
pub(crate) fn write_plain(
    typ: ContentType,
    version: ProtocolVersion,
    fragment: &[u8],
    out: &mut Vec<u8>,
) {
    debug_assert!(fragment.len() <= MAX_PLAINTEXT);
    let header = RecordHeader {
        typ,
        version,
        len: fragment.len() as u16,
    };
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(fragment);
}

/// Size of the largest record rsatls accepts, header included.
pub(crate) const MAX_RECORD_LEN: usize = HEADER_LEN + crate::msgs::record::MAX_CIPHERTEXT;
