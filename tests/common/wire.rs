//! Wire-level helpers shared by tests that play one side of a connection
//! themselves: record framing, and an independent TLS 1.2 PRF and AES-GCM record
//! protection written from RFC 5246 and RFC 5288 (not the engine's code).

use rsatls::crypto::{AeadKey, GCM_TAG_LEN};
use rsatls::msgs::enums::{ContentType, ProtocolVersion};
use rsatls::msgs::record::{HEADER_LEN, RecordHeader};
use rsatls::suites::Suite;

use super::provider;

pub fn record(typ: ContentType, version: ProtocolVersion, payload: &[u8]) -> Vec<u8> {
    let header = RecordHeader {
        typ,
        version,
        len: u16::try_from(payload.len()).expect("record fits"),
    };
    let mut out = header.encode().to_vec();
    out.extend_from_slice(payload);
    out
}

pub fn plain(typ: ContentType, payload: &[u8]) -> Vec<u8> {
    record(typ, ProtocolVersion::TLSV1_2, payload)
}

/// Splits a flight into whole records: header and fragment.
pub fn records(flight: &[u8]) -> Vec<(RecordHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = flight;
    while !rest.is_empty() {
        let header = RecordHeader::decode(rest.first_chunk::<HEADER_LEN>().unwrap()).unwrap();
        let end = HEADER_LEN + usize::from(header.len);
        out.push((header, rest[HEADER_LEN..end].to_vec()));
        rest = &rest[end..];
    }
    out
}

/// Splits a flight into whole records, each re-encoded with its header.
pub fn raw_records(flight: &[u8]) -> Vec<Vec<u8>> {
    records(flight)
        .into_iter()
        .map(|(h, f)| record(h.typ, h.version, &f))
        .collect()
}

/// TLS 1.2 PRF (RFC 5246 §5), written here independently of the engine's.
pub fn prf(
    alg: rsatls::crypto::HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Vec<u8> {
    let p = provider();
    let mut out = Vec::new();
    let mut a = p.hmac(alg, secret, &[label, seed]).as_ref().to_vec();
    while out.len() < len {
        out.extend_from_slice(p.hmac(alg, secret, &[&a, label, seed]).as_ref());
        a = p.hmac(alg, secret, &[&a]).as_ref().to_vec();
    }
    out.truncate(len);
    out
}

/// One direction of AES-GCM record protection (RFC 5288 §3): the explicit nonce
/// is the sequence number.
pub struct Direction {
    pub key: Box<dyn AeadKey>,
    pub salt: [u8; 4],
    pub seq: u64,
}

impl Direction {
    pub fn new(suite: &Suite, key: &[u8], salt: &[u8]) -> Self {
        Self {
            key: provider().aead_key(suite.aead, key).unwrap(),
            salt: salt.try_into().unwrap(),
            seq: 0,
        }
    }

    pub fn nonce_and_aad(
        &self,
        explicit: [u8; 8],
        typ: ContentType,
        len: usize,
    ) -> ([u8; 12], Vec<u8>) {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&self.salt);
        nonce[4..].copy_from_slice(&explicit);
        // RFC 5246 §6.2.3.3: seq_num ‖ type ‖ version ‖ length.
        let mut aad = self.seq.to_be_bytes().to_vec();
        aad.push(typ.0);
        aad.extend_from_slice(&ProtocolVersion::TLSV1_2.0.to_be_bytes());
        aad.extend_from_slice(&(len as u16).to_be_bytes());
        (nonce, aad)
    }

    pub fn seal(&mut self, typ: ContentType, plaintext: &[u8]) -> Vec<u8> {
        let explicit = self.seq.to_be_bytes();
        let (nonce, aad) = self.nonce_and_aad(explicit, typ, plaintext.len());
        let mut body = plaintext.to_vec();
        let tag = self.key.seal_in_place(&nonce, &aad, &mut body).unwrap();
        self.seq += 1;
        plain(typ, &[&explicit[..], &body, &tag].concat())
    }

    /// Opens one protected record (header included).
    pub fn open(&mut self, rec: &[u8]) -> (ContentType, Vec<u8>) {
        let [(header, fragment)] = records(rec).try_into().expect("one record");
        let (explicit, rest) = fragment.split_at(8);
        let (body, tag) = rest.split_at(rest.len() - GCM_TAG_LEN);
        let (nonce, aad) = self.nonce_and_aad(explicit.try_into().unwrap(), header.typ, body.len());
        let mut body = body.to_vec();
        self.key
            .open_in_place(&nonce, &aad, &mut body, tag.try_into().unwrap())
            .expect("record authenticates");
        self.seq += 1;
        (header.typ, body)
    }
}

/// Both directions' record keys from a master secret (RFC 5246 §6.3): for AEAD
/// suites the key block is client key, server key, client salt, server salt.
pub fn directions(
    suite: &Suite,
    master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
) -> (Direction, Direction) {
    let kl = suite.aead.key_len();
    let seed = [server_random, client_random].concat();
    let block = prf(suite.hash, master, b"key expansion", &seed, 2 * kl + 8);
    (
        Direction::new(suite, &block[..kl], &block[2 * kl..2 * kl + 4]),
        Direction::new(suite, &block[kl..2 * kl], &block[2 * kl + 4..]),
    )
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
