//! The record-protection target: `RecordKey::open` on arbitrary bytes at
//! arbitrary sequence numbers, then a seal/open round trip.
//!
//! Input layout (short inputs read as if padded with zeros):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | flags: bit 0 transparent provider, bit 1 AES-256, bits 2-3 sequence-number mode, bits 4-7 which bit a tamper check flips |
//! | 8 | sequence number (interpreted by the mode: as is, small, around 2^24, near 2^64) |
//! | 32 | AEAD key (AES-128 uses the first 16 bytes) |
//! | 4 | salt |
//! | 1 | content type |
//! | 2 | how many of the remaining bytes are the fragment to open; the rest is plaintext to seal |

use core::ops::Range;

use super::fixtures::Crypto;
use crate::SEQ_LIMIT;
use crate::crypto::transparent::TRANSPARENT_TAG;
use crate::error::Error;
use crate::msgs::enums::{ContentType, ProtocolVersion};
use crate::msgs::record::{HEADER_LEN, MAX_PLAINTEXT, RecordHeader};
use crate::record::{EXPLICIT_NONCE_LEN, OVERHEAD, RecordKey};
use crate::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

/// Opening arbitrary bytes fails as RFC 5246 §6.2.3.3 and RFC 5288 say (with
/// the real provider: always `bad_record_mac`) and never advances the sequence
/// number; a record sealed at the opener's sequence number opens to its
/// plaintext, with that number as its explicit nonce; with the real provider a
/// replayed, bit-flipped or retyped record does not open; nothing works at or
/// past the sequence limit.
pub fn record_open(data: &[u8]) {
    let mut input = Input(data);
    let flags = input.u8();
    let crypto = match flags & 1 {
        0 => Crypto::Real,
        _ => Crypto::Transparent,
    };
    let suite: &Suite = match flags & 2 {
        0 => &TLS_RSA_WITH_AES_128_GCM_SHA256,
        _ => &TLS_RSA_WITH_AES_256_GCM_SHA384,
    };
    let raw_seq = u64::from_be_bytes(input.array());
    let seq = match (flags >> 2) & 3 {
        0 => raw_seq,
        1 => raw_seq % 4,
        2 => SEQ_LIMIT - 3 + raw_seq % 6,
        _ => u64::MAX - raw_seq % 4,
    };
    let key: [u8; 32] = input.array();
    let salt: [u8; 4] = input.array();
    let typ = ContentType(input.u8());
    let split = usize::from(u16::from_be_bytes(input.array()));
    let rest = input.0;
    let (fragment, plaintext) = rest.split_at(split % (rest.len() + 1));
    let plaintext = &plaintext[..plaintext.len().min(MAX_PLAINTEXT)];

    let provider = crypto.provider();
    let new_key = |seq: u64| {
        let aead = provider
            .aead_key(suite.aead, &key[..suite.aead.key_len()])
            .expect("AEAD key of the right length");
        let mut k = RecordKey::new(aead, salt);
        k.set_seq(seq);
        k
    };

    // 1. Arbitrary bytes.
    let mut opener = new_key(seq);
    let mut buf = fragment.to_vec();
    let result = opener.open(typ, &mut buf);
    assert_eq!(
        result,
        expected_open(crypto, seq, fragment),
        "open of arbitrary bytes"
    );
    if let Ok(range) = &result {
        assert_eq!(
            buf[range.clone()],
            fragment[range.clone()],
            "transparent open changed the data"
        );
    }
    if seq >= SEQ_LIMIT {
        return;
    }
    // A failed open leaves the sequence number alone; a successful one moves it by one.
    let next = seq + u64::from(result.is_ok());

    // 2. Seal at the opener's sequence number.
    let mut sealer = new_key(next);
    let mut out = Vec::new();
    let sealed = sealer.seal(typ, plaintext, &mut out);
    let limit = match typ {
        ContentType::ALERT => SEQ_LIMIT,
        _ => SEQ_LIMIT - 1,
    };
    if next >= limit {
        assert_eq!(sealed, Err(Error::RecordLimitReached), "seal at {next}");
        assert!(out.is_empty(), "a refused seal wrote");
        return;
    }
    sealed.expect("seal below the limit");
    let header = RecordHeader::decode(out.first_chunk().expect("a header")).expect("header");
    assert_eq!(
        (header.typ, header.version, usize::from(header.len)),
        (typ, ProtocolVersion::TLSV1_2, plaintext.len() + OVERHEAD),
        "sealed record header"
    );
    assert_eq!(out.len(), HEADER_LEN + plaintext.len() + OVERHEAD);
    let sealed = &out[HEADER_LEN..];
    assert_eq!(
        sealed[..EXPLICIT_NONCE_LEN],
        next.to_be_bytes(),
        "explicit nonce"
    );

    // 3. ... and open it.
    let mut buf = sealed.to_vec();
    let range = opener.open(typ, &mut buf).expect("a sealed record opens");
    assert_eq!(&buf[range], plaintext, "round trip");
    if crypto == Crypto::Transparent {
        return;
    }

    // 4. With AES-GCM: a replay, a flipped bit or another type does not open.
    let mut buf = sealed.to_vec();
    let replay = opener.open(typ, &mut buf);
    let want = match next + 1 >= SEQ_LIMIT {
        true => Error::RecordLimitReached,
        false => Error::BadRecordMac,
    };
    assert_eq!(replay, Err(want), "replayed record");
    let mut buf = sealed.to_vec();
    buf[raw_seq as usize % sealed.len()] ^= 1 << (flags >> 5);
    assert_eq!(
        new_key(next).open(typ, &mut buf),
        Err(Error::BadRecordMac),
        "flipped bit"
    );
    let mut buf = sealed.to_vec();
    let other = ContentType(typ.0 ^ (flags | 1));
    assert_eq!(
        new_key(next).open(other, &mut buf),
        Err(Error::BadRecordMac),
        "other type"
    );
}

/// What opening `fragment` at `seq` must give.
fn expected_open(crypto: Crypto, seq: u64, fragment: &[u8]) -> Result<Range<usize>, Error> {
    if seq >= SEQ_LIMIT {
        return Err(Error::RecordLimitReached);
    }
    let Some(body_len) = fragment.len().checked_sub(OVERHEAD) else {
        return Err(Error::BadRecordMac);
    };
    match crypto {
        // Forging AES-GCM is not something a fuzzer does.
        Crypto::Real => Err(Error::BadRecordMac),
        Crypto::Transparent if !fragment.ends_with(&TRANSPARENT_TAG) => Err(Error::BadRecordMac),
        // RFC 5246 §6.2.3: the decrypted fragment must not exceed 2^14.
        Crypto::Transparent if body_len > MAX_PLAINTEXT => Err(Error::RecordOverflow),
        Crypto::Transparent => Ok(EXPLICIT_NONCE_LEN..EXPLICIT_NONCE_LEN + body_len),
    }
}

/// Reads fixed fields from the front; missing bytes read as zeros.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }
}
