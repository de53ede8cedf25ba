//! Shared helpers for the integration tests: configurations from the committed
//! test keys, and an in-memory "wire" that moves bytes between two engines.
#![allow(dead_code, unreachable_pub)]

pub mod wire;

use std::sync::{Arc, Mutex};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::crypto::CryptoProvider;
use rsatls::{
    ClientConfig, ClientConnection, Endpoint, Error, Event, HandshakeInfo, KeyLog, ServerAuth,
    ServerConfig, ServerConnection,
};

pub fn provider() -> Arc<dyn CryptoProvider> {
    rsatls::crypto::rustcrypto::default_provider()
}

pub fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A server configuration for the committed key `name` (e.g. "rsa2048").
pub fn server_config(name: &str) -> ServerConfig {
    ServerConfig::from_pem_or_der(
        provider(),
        &data(&format!("{name}.cert.pem")),
        &data(&format!("{name}.key.pem")),
    )
    .expect("test key loads")
}

/// The SPKI pin of the committed certificate `name`.
pub fn pin(name: &str) -> rsatls::pki::Pin {
    let cert = rsatls::pki::load_certificates(&data(&format!("{name}.cert.pem"))).unwrap();
    let info = rsatls::pki::rsa_key_from_certificate(&cert[0]).unwrap();
    rsatls::pki::pin_of_spki(provider().as_ref(), &info.spki_der)
}

/// A client that pins the committed certificate `name`.
pub fn client_config(name: &str) -> ClientConfig {
    ClientConfig::new(provider(), ServerAuth::Pins(vec![pin(name)]))
}

pub fn client(config: ClientConfig, seed: u64) -> ClientConnection {
    ClientConnection::new(
        Arc::new(config),
        Some("localhost"),
        ChaCha20Rng::seed_from_u64(seed),
    )
    .expect("client starts")
}

pub fn server(config: ServerConfig, seed: u64) -> ServerConnection {
    ServerConnection::new(Arc::new(config), ChaCha20Rng::seed_from_u64(seed))
}

/// An event, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Complete(HandshakeInfo),
    Data(Vec<u8>),
    Closed,
}

/// Takes every pending byte from `from`.
pub fn take_output(from: &mut dyn Endpoint) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut buf = [0u8; 1000];
    while from.wants_write() {
        let n = from.write_tls(&mut buf);
        wire.extend_from_slice(&buf[..n]);
    }
    wire
}

/// Feeds `wire` to `to` in chunks of at most `chunk` bytes, collecting events.
pub fn feed(to: &mut dyn Endpoint, wire: &[u8], chunk: usize) -> Result<Vec<Ev>, Error> {
    let mut events = Vec::new();
    for piece in wire.chunks(chunk.max(1)) {
        let mut off = 0;
        while off < piece.len() {
            off += to.read_tls(&piece[off..])?;
            drain(to, &mut events)?;
        }
    }
    drain(to, &mut events)?;
    Ok(events)
}

pub fn drain(to: &mut dyn Endpoint, events: &mut Vec<Ev>) -> Result<(), Error> {
    while let Some(ev) = to.poll_event()? {
        events.push(match ev {
            Event::HandshakeComplete(info) => Ev::Complete(info.clone()),
            Event::ApplicationData(d) => Ev::Data(d.to_vec()),
            Event::PeerClosed => Ev::Closed,
            _ => unreachable!("no other events exist yet"),
        });
    }
    Ok(())
}

/// The flights of one handshake, in order, alternating client and server.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub flights: Vec<Vec<u8>>,
    pub client_events: Vec<Ev>,
    pub server_events: Vec<Ev>,
}

/// Runs a handshake to completion (or failure) moving whole flights.
pub fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<Transcript, Error> {
    handshake_chunked(client, server, usize::MAX, usize::MAX)
}

/// Runs a handshake, delivering client bytes in `c2s` chunks and server bytes in
/// `s2c` chunks.
pub fn handshake_chunked(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    c2s: usize,
    s2c: usize,
) -> Result<Transcript, Error> {
    let mut t = Transcript::default();
    for _ in 0..4 {
        let wire = take_output(client);
        if !wire.is_empty() {
            t.server_events.extend(feed(server, &wire, c2s)?);
            t.flights.push(wire);
        }
        let wire = take_output(server);
        if !wire.is_empty() {
            t.client_events.extend(feed(client, &wire, s2c)?);
            t.flights.push(wire);
        }
        if client.is_established() && server.is_established() {
            break;
        }
    }
    Ok(t)
}

/// A key log that remembers every line.
#[derive(Default)]
pub struct MemoryKeyLog(pub Mutex<Vec<String>>);

impl KeyLog for MemoryKeyLog {
    fn log(&self, label: &'static str, key: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push(rsatls::key_log_line(label, key, secret));
    }
}

impl MemoryKeyLog {
    /// The secret logged under `label`, as hex.
    pub fn secret(&self, label: &str) -> Option<String> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{label} ")))
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
    }
}
