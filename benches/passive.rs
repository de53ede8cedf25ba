//! Criterion benchmark of the passive decoder alone, in memory: a recorded bulk
//! session (a full handshake with EMS between the engine's own client and server,
//! then [`BULK`] bytes from the client in full-size records and a close_notify)
//! fed to a new `rsatls::passive::ConnectionDecoder` with the server's key, every
//! event drained. `passive/decode/{aes128,aes256}/{65536,1448}`: the suite, and the
//! size of the pieces the transcript is fed in (loopback-sized segments, or one
//! Ethernet MSS each, as a reassembler hands them over). Throughput is the
//! recorded transcript's bytes, both directions; each iteration includes the
//! handshake's one RSA private-key operation (compare `rsa/raw_private_op/2048`)
//! and the decryption of every record (compare `record/open/*/16384`).
//!
//! Before timing, one decode is checked: both Finished verified, and the
//! application data equal to what the client sent.
//!
//! `cargo bench --bench passive [--features fast]`. See BENCHMARKS.md,
//! "Decrypting a capture".

mod common;

use std::hint::black_box;

use common::{Crit, id};
use criterion::{BenchmarkId, Throughput};
use rand_core::Rng;
use rsatls::crypto::PrivateKeyDer;
use rsatls::passive::{
    ConnectionDecoder, Direction, Limits, PassiveEvent, ServerKeys, SessionCache,
};
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

/// Application data the recorded client sends.
const BULK: usize = 32 << 20;

/// The piece sizes the transcript is fed in.
const PIECES: [usize; 2] = [65_536, 1_448];

fn main() {
    let mut c = common::criterion();
    decode(&mut c);
    c.final_summary();
}

/// One recorded connection: each flight with its direction, in the order the
/// peers sent them, and the application data the client sent.
struct Recording {
    flights: Vec<(Direction, Vec<u8>)>,
    sent: Vec<u8>,
}

impl Recording {
    fn wire_len(&self) -> usize {
        self.flights.iter().map(|(_, bytes)| bytes.len()).sum()
    }
}

/// Runs a full handshake and a bulk transfer in memory and keeps every byte
/// each side wrote.
fn record(suite: &'static Suite) -> Recording {
    let server_config = common::server_config(suite);
    let mut client = common::client(&common::client_config(), 1);
    let mut server = common::server(&server_config, 2);
    let mut flights = Vec::new();
    let mut wire = Vec::new();
    while !(client.is_established() && server.is_established()) {
        common::deliver(&mut client, &mut server, &mut wire).unwrap();
        if !wire.is_empty() {
            flights.push((Direction::ClientToServer, wire.clone()));
        }
        common::deliver(&mut server, &mut client, &mut wire).unwrap();
        if !wire.is_empty() {
            flights.push((Direction::ServerToClient, wire.clone()));
        }
    }
    let mut sent = vec![0u8; BULK];
    common::rng(3).fill_bytes(&mut sent);
    let mut records = Vec::with_capacity(BULK + BULK / 512);
    let mut out = vec![0u8; 1 << 16];
    let mut taken = 0;
    while taken < sent.len() {
        let (n, written) = client.write_app_data_to(&sent[taken..], &mut out).unwrap();
        records.extend_from_slice(&out[..written]);
        taken += n;
    }
    client.send_close_notify();
    client.write_tls_into(&mut records);
    flights.push((Direction::ClientToServer, records));
    Recording { flights, sent }
}

/// What one decode of a recording gave.
#[derive(Default)]
struct Decoded {
    data: usize,
    finished_verified: usize,
    events: usize,
}

/// Feeds the recording to a new decoder in pieces of `piece` bytes and drains
/// every event; `keep` gets the client's application data.
fn run(
    recording: &Recording,
    piece: usize,
    keys: &ServerKeys,
    mut keep: impl FnMut(&[u8]),
) -> Decoded {
    let mut decoder = ConnectionDecoder::new(Limits::default());
    let mut cache = SessionCache::default();
    let mut decoded = Decoded::default();
    for (from, bytes) in &recording.flights {
        for chunk in bytes.chunks(piece) {
            decoder.feed(*from, chunk, keys, &mut cache);
            while let Some(event) = decoder.poll_event() {
                decoded.events += 1;
                match event {
                    PassiveEvent::ApplicationData {
                        from: Direction::ClientToServer,
                        data,
                    } => {
                        decoded.data += data.len();
                        keep(&data);
                    }
                    PassiveEvent::Finished { verified: true, .. } => decoded.finished_verified += 1,
                    _ => {}
                }
            }
        }
    }
    decoded
}

fn decode(c: &mut Crit) {
    let mut keys = ServerKeys::new(common::provider());
    keys.add_der(
        "rsa2048",
        PrivateKeyDer::Pkcs8(&common::private_key_der(2048)),
    )
    .expect("committed key loads");

    let mut g = c.benchmark_group(id("passive/decode"));
    for (name, suite) in [
        ("aes128", &TLS_RSA_WITH_AES_128_GCM_SHA256),
        ("aes256", &TLS_RSA_WITH_AES_256_GCM_SHA384),
    ] {
        let recording = record(suite);
        for piece in PIECES {
            // Once, untimed: the decoder really decrypts all of it.
            let mut plaintext = Vec::with_capacity(BULK);
            let decoded = run(&recording, piece, &keys, |d| plaintext.extend_from_slice(d));
            assert_eq!(
                decoded.finished_verified, 2,
                "{name}/{piece}: both Finished messages verified"
            );
            assert!(
                plaintext == recording.sent,
                "{name}/{piece}: the decoder yields {} of the {} bytes sent, or other bytes",
                plaintext.len(),
                recording.sent.len()
            );
            drop(plaintext);

            g.throughput(Throughput::Bytes(recording.wire_len() as u64));
            g.bench_function(BenchmarkId::new(name, piece), |b| {
                b.iter(|| {
                    run(black_box(&recording), piece, &keys, |d| {
                        black_box(d);
                    })
                })
            });
        }
    }
    g.finish();
}
