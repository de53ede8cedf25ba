//! The passive decoder's target: one recorded connection, cut into chunks of
//! either direction, fed to [`crate::passive::ConnectionDecoder`].
//!
//! Input layout: one flags byte (bit 0: the transparent fuzzing provider, so
//! that mutated flights still decrypt and reach deep states; bit 1: small
//! limits), then chunks, each a big-endian `u16` whose top bit says the
//! direction (set: from the server) and whose low 15 bits are the length,
//! followed by that many bytes (fewer at the end of the input).
//!
//! Properties: no panic; each direction's held bytes stay within the limits
//! (the buffer, plus one record's worth of handshake bytes); application data
//! comes only after a master secret was learnt (a decrypted premaster or a
//! resumed session); at most one Stopped event per direction.

use std::sync::OnceLock;

use super::fixtures::{Crypto, Flight, Side};
use crate::msgs::record::MAX_CIPHERTEXT;
use crate::passive::{
    ConnectionDecoder, Direction, KeyExchangeOutcome, Limits, PassiveEvent, ServerKeys,
    SessionCache,
};
use crate::pki::load_private_key;

const KEY_PEM: &[u8] = include_bytes!("../../tests/data/rsa2048.key.pem");

/// The top bit of a chunk header: the chunk is the server's.
const FROM_SERVER: u16 = 0x8000;

fn keys(crypto: Crypto) -> &'static ServerKeys {
    static REAL: OnceLock<ServerKeys> = OnceLock::new();
    static TRANSPARENT: OnceLock<ServerKeys> = OnceLock::new();
    let cell = match crypto {
        Crypto::Real => &REAL,
        Crypto::Transparent => &TRANSPARENT,
    };
    cell.get_or_init(|| {
        let mut keys = ServerKeys::new(crypto.provider());
        let file = load_private_key(KEY_PEM).expect("fixture: the committed key loads");
        keys.add_der("rsa2048", file.as_der())
            .expect("fixture: the committed key loads");
        keys
    })
}

/// Runs one input; panics if a property fails. Returns how many bytes of
/// application data were decrypted (the seeds' tests check they go deep).
pub fn passive_session(data: &[u8]) -> usize {
    let Some((&flags, mut rest)) = data.split_first() else {
        return 0;
    };
    let crypto = match flags & 1 {
        0 => Crypto::Real,
        _ => Crypto::Transparent,
    };
    let limits = match flags & 2 {
        0 => Limits::default(),
        _ => Limits {
            max_buffered: 3000,
            max_handshake_message: 2000,
        },
    };
    let keys = keys(crypto);
    let mut cache = SessionCache::new(4);
    let mut decoder = ConnectionDecoder::new(limits);
    let mut keyed = false;
    let mut decrypted = 0;
    let mut stopped = [false; 2];
    while let Some((header, body)) = rest.split_first_chunk::<2>() {
        let header = u16::from_be_bytes(*header);
        let from = match header & FROM_SERVER {
            0 => Direction::ClientToServer,
            _ => Direction::ServerToClient,
        };
        let (chunk, tail) = body.split_at(usize::from(header & !FROM_SERVER).min(body.len()));
        rest = tail;
        decoder.feed(from, chunk, keys, &mut cache);
        while let Some(event) = decoder.poll_event() {
            match event {
                PassiveEvent::KeyExchange {
                    outcome: KeyExchangeOutcome::Decrypted { .. },
                    ..
                }
                | PassiveEvent::Resumed { .. } => keyed = true,
                PassiveEvent::ApplicationData { data, .. } => {
                    assert!(keyed, "application data before any master secret");
                    decrypted += data.len();
                }
                PassiveEvent::Stopped { from, .. } => {
                    let i = usize::from(from == Direction::ServerToClient);
                    assert!(!stopped[i], "{from:?} stopped twice");
                    stopped[i] = true;
                }
                _ => {}
            }
        }
        for d in [Direction::ClientToServer, Direction::ServerToClient] {
            let bound = limits.max_buffered + limits.max_handshake_message + 4 + MAX_CIPHERTEXT;
            assert!(decoder.buffered(d) <= bound, "{d:?} holds too much");
        }
    }
    decrypted
}

/// A seed for [`passive_session`]: `flights` as chunks of at most `chunk`
/// bytes, in order.
pub fn passive_seed(
    crypto: Crypto,
    small_limits: bool,
    flights: &[Flight],
    chunk: usize,
) -> Vec<u8> {
    let mut out = vec![u8::from(crypto == Crypto::Transparent) | u8::from(small_limits) << 1];
    let chunk = chunk.clamp(1, usize::from(!FROM_SERVER));
    for flight in flights {
        for piece in flight.bytes.chunks(chunk) {
            let mut header = piece.len() as u16;
            if flight.from == Side::Server {
                header |= FROM_SERVER;
            }
            out.extend_from_slice(&header.to_be_bytes());
            out.extend_from_slice(piece);
        }
    }
    out
}
