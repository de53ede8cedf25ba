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
    rsatls::crypto::default_provider()
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

/// More output than any test's engine ever queues at once (a few records and
/// handshake flights): beyond it, pending output is not draining.
const OUTPUT_BOUND: usize = 1 << 20;

/// Takes every pending byte from `from`. An engine that claims output but writes
/// none, or never runs out, fails here instead of hanging the test.
pub fn take_output(from: &mut dyn Endpoint) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut buf = [0u8; 1000];
    while from.wants_write() {
        let n = from.write_tls(&mut buf);
        assert!(n > 0, "wants_write() but write_tls wrote nothing");
        wire.extend_from_slice(&buf[..n]);
        assert!(wire.len() <= OUTPUT_BOUND, "pending output never drains");
    }
    wire
}

/// Feeds `wire` to `to` in chunks of at most `chunk` bytes, collecting events;
/// the first error ends it (a stalled engine fails, see `feed_all`).
pub fn feed(to: &mut dyn Endpoint, wire: &[u8], chunk: usize) -> Result<Vec<Ev>, Error> {
    match prop_support::feed_all(to, wire, &[chunk]) {
        (events, None) => Ok(events),
        (_, Some(e)) => Err(e),
    }
}

pub fn drain(to: &mut dyn Endpoint, events: &mut Vec<Ev>) -> Result<(), Error> {
    while let Some(ev) = to.poll_event()? {
        events.push(match ev {
            Event::HandshakeComplete(info) => Ev::Complete(info.clone()),
            Event::ApplicationData(d) => Ev::Data(d.to_vec()),
            Event::PeerClosed => Ev::Closed,
            _ => unreachable!(
                "no configuration used with this helper offloads the private-key operation"
            ),
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

/// Helpers for the property tests (tests/prop_*.rs), in a module of their own so
/// that they never collide with `wire`'s names in a glob import.
pub mod prop_support {
    use super::*;

    /// The proptest configuration every property file uses: `cases` cases unless
    /// `PROPTEST_CASES` says otherwise, and failures persisted to `regressions`
    /// (a path under `proptest-regressions/` at the repository root, re-run forever).
    pub fn prop_config(cases: u32, regressions: &'static str) -> proptest::test_runner::Config {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases);
        proptest::test_runner::Config {
            cases,
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::Direct(regressions),
            )),
            ..proptest::test_runner::Config::default()
        }
    }

    /// Record content types, as bytes.
    pub const CCS: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APP_DATA: u8 = 23;

    /// One record with a TLS 1.2 header around `payload`.
    pub fn record(typ: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![typ, 3, 3];
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// Splits a byte stream into whole records (header included). A trailing
    /// partial record, if any, comes last as it is.
    pub fn split_records(stream: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = stream;
        while !rest.is_empty() {
            let len = match rest.get(3..5) {
                Some(l) => 5 + usize::from(u16::from_be_bytes([l[0], l[1]])),
                None => rest.len(),
            };
            let (head, tail) = rest.split_at(len.min(rest.len()));
            out.push(head.to_vec());
            rest = tail;
        }
        out
    }

    /// Splits the concatenated payload of handshake records into whole messages
    /// (header included).
    pub fn split_handshake_messages(mut payload: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while payload.len() >= 4 {
            let len = 4
                + (usize::from(payload[1]) << 16 | usize::from(payload[2]) << 8)
                + usize::from(payload[3]);
            let (head, tail) = payload.split_at(len.min(payload.len()));
            out.push(head.to_vec());
            payload = tail;
        }
        out
    }

    /// Drains every pending event and the error, if any, without stopping early.
    pub fn feed_all(
        to: &mut dyn Endpoint,
        wire: &[u8],
        chunks: &[usize],
    ) -> (Vec<Ev>, Option<Error>) {
        let mut events = Vec::new();
        let mut off = 0;
        let mut i = 0;
        let step = |i: usize| match chunks.is_empty() {
            true => usize::MAX,
            false => chunks[i % chunks.len()].max(1),
        };
        while off < wire.len() {
            let end = off.saturating_add(step(i)).min(wire.len());
            i += 1;
            let mut at = off;
            let mut stalled = false;
            while at < end {
                match to.read_tls(&wire[at..end]) {
                    Ok(0) if stalled => {
                        panic!("read_tls takes nothing although poll_event was drained: a stall")
                    }
                    Ok(n) => {
                        stalled = n == 0;
                        at += n;
                    }
                    Err(e) => return (events, Some(e)),
                }
                if let Err(e) = drain(to, &mut events) {
                    return (events, Some(e));
                }
            }
            off = end;
        }
        match drain(to, &mut events) {
            Ok(()) => (events, None),
            Err(e) => (events, Some(e)),
        }
    }

    /// Hex to bytes (for key-log secrets).
    pub fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// The TLS 1.2 PRF (RFC 5246 §5), written independently of the engine's, on the
    /// provider's HMAC.
    pub fn prf(
        hash: rsatls::crypto::HashAlgorithm,
        secret: &[u8],
        label: &[u8],
        seed: &[u8],
        len: usize,
    ) -> Vec<u8> {
        let p = provider();
        let mut label_seed = label.to_vec();
        label_seed.extend_from_slice(seed);
        let mut a = p.hmac(hash, secret, &[&label_seed]).as_ref().to_vec();
        let mut out = Vec::new();
        while out.len() < len {
            out.extend_from_slice(p.hmac(hash, secret, &[&a, &label_seed]).as_ref());
            a = p.hmac(hash, secret, &[&a]).as_ref().to_vec();
        }
        out.truncate(len);
        out
    }

    /// One direction's record protection, derived in the test from the master
    /// secret (RFC 5246 §6.3, RFC 5288 §3), to forge and read protected records.
    pub struct TestRecordKey {
        key: Box<dyn rsatls::crypto::AeadKey>,
        salt: [u8; 4],
    }

    /// The client-write and server-write keys of a session.
    pub fn test_record_keys(
        suite: &rsatls::suites::Suite,
        master: &[u8],
        client_random: &[u8],
        server_random: &[u8],
    ) -> (TestRecordKey, TestRecordKey) {
        let key_len = suite.aead.key_len();
        let mut seed = server_random.to_vec();
        seed.extend_from_slice(client_random);
        let block = prf(suite.hash, master, b"key expansion", &seed, 2 * key_len + 8);
        let make = |key: &[u8], salt: &[u8]| TestRecordKey {
            key: provider().aead_key(suite.aead, key).expect("AEAD key"),
            salt: salt.try_into().expect("4-byte salt"),
        };
        (
            make(&block[..key_len], &block[2 * key_len..2 * key_len + 4]),
            make(&block[key_len..2 * key_len], &block[2 * key_len + 4..]),
        )
    }

    impl TestRecordKey {
        fn aad(typ: u8, seq: u64, len: usize) -> [u8; 13] {
            let mut aad = [0u8; 13];
            aad[..8].copy_from_slice(&seq.to_be_bytes());
            aad[8] = typ;
            aad[9..11].copy_from_slice(&[3, 3]);
            aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
            aad
        }

        fn nonce(&self, explicit: &[u8; 8]) -> [u8; 12] {
            let mut nonce = [0u8; 12];
            nonce[..4].copy_from_slice(&self.salt);
            nonce[4..].copy_from_slice(explicit);
            nonce
        }

        /// A protected record of `typ` holding `plaintext` (of any length), with
        /// sequence number `seq` as its explicit nonce.
        pub fn seal(&self, typ: u8, seq: u64, plaintext: &[u8]) -> Vec<u8> {
            let explicit = seq.to_be_bytes();
            let mut body = plaintext.to_vec();
            let tag = self
                .key
                .seal_in_place(
                    &self.nonce(&explicit),
                    &Self::aad(typ, seq, plaintext.len()),
                    &mut body,
                )
                .expect("seal");
            let mut payload = explicit.to_vec();
            payload.extend_from_slice(&body);
            payload.extend_from_slice(&tag);
            let mut out = vec![typ, 3, 3];
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            out.extend_from_slice(&payload);
            out
        }

        /// Opens a whole protected record expected at sequence number `seq`.
        pub fn open(&self, record: &[u8], seq: u64) -> Option<(u8, Vec<u8>)> {
            let typ = *record.first()?;
            let payload = record.get(5..)?;
            let plain_len = payload.len().checked_sub(24)?;
            let explicit: [u8; 8] = payload[..8].try_into().ok()?;
            let mut body = payload[8..8 + plain_len].to_vec();
            let tag: [u8; 16] = payload[8 + plain_len..].try_into().ok()?;
            self.key
                .open_in_place(
                    &self.nonce(&explicit),
                    &Self::aad(typ, seq, plain_len),
                    &mut body,
                    &tag,
                )
                .ok()?;
            Some((typ, body))
        }
    }

    /// The randoms of a session, read from the first two flights.
    pub fn hello_randoms(client_flight: &[u8], server_flight: &[u8]) -> ([u8; 32], [u8; 32]) {
        use rsatls::msgs::handshake::HandshakeMessage;
        let first = |flight: &[u8]| {
            let payload: Vec<u8> = split_records(flight)
                .iter()
                .filter(|r| r[0] == HANDSHAKE)
                .flat_map(|r| r[5..].to_vec())
                .collect();
            let msgs = split_handshake_messages(&payload);
            HandshakeMessage::decode(&msgs[0]).expect("hello decodes")
        };
        let HandshakeMessage::ClientHello(ch) = first(client_flight) else {
            panic!("first client flight is not a ClientHello")
        };
        let HandshakeMessage::ServerHello(sh) = first(server_flight) else {
            panic!("first server flight is not a ServerHello")
        };
        (ch.random, sh.random)
    }

    /// Wraps a key log so that several can be inspected after the fact.
    pub fn new_key_log() -> Arc<MemoryKeyLog> {
        Arc::new(MemoryKeyLog::default())
    }

    impl MemoryKeyLog {
        /// Every line logged so far.
        pub fn lines(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    /// How a property-test client authenticates the server.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum AuthKind {
        /// SPKI pins of the trusted keys.
        Pins,
        /// The trusted keys' certificates, byte for byte.
        TrustedCertificates,
    }

    /// Everything that decides a session's bytes.
    #[derive(Clone, Debug)]
    pub struct Params {
        /// The server's key: one of the committed test keys.
        pub key: &'static str,
        /// The client's suites, in preference order.
        pub client_suites: Vec<&'static rsatls::suites::Suite>,
        /// The server's suites, in preference order (the server's order wins).
        pub server_suites: Vec<&'static rsatls::suites::Suite>,
        /// The keys the client trusts.
        pub trusted: Vec<&'static str>,
        pub auth: AuthKind,
        pub client_seed: u64,
        pub server_seed: u64,
    }

    impl Params {
        /// Default suites, a client that pins exactly the server's key.
        pub fn new(key: &'static str, client_seed: u64, server_seed: u64) -> Self {
            Self {
                key,
                client_suites: rsatls::suites::ALL_SUITES.to_vec(),
                server_suites: rsatls::suites::ALL_SUITES.to_vec(),
                trusted: vec![key],
                auth: AuthKind::Pins,
                client_seed,
                server_seed,
            }
        }

        /// The suite the server should pick: its first that the client offers.
        pub fn expected_suite(&self) -> Option<&'static rsatls::suites::Suite> {
            self.server_suites
                .iter()
                .copied()
                .find(|s| self.client_suites.contains(s))
        }
    }

    /// The leaf certificate (DER) of the committed key `name`.
    pub fn leaf(name: &str) -> Vec<u8> {
        rsatls::pki::load_certificates(&data(&format!("{name}.cert.pem")))
            .expect("certificate loads")
            .remove(0)
    }

    /// A client and a server with key logs, and everything that passed between them.
    pub struct Session {
        pub client: ClientConnection,
        pub server: ServerConnection,
        pub client_log: Arc<MemoryKeyLog>,
        pub server_log: Arc<MemoryKeyLog>,
        /// Every flight as its sender wrote it (before any tampering), in order.
        pub flights: Vec<Vec<u8>>,
        pub client_events: Vec<Ev>,
        pub server_events: Vec<Ev>,
        /// The first error each side reported, if any.
        pub client_error: Option<Error>,
        pub server_error: Option<Error>,
        /// Every byte delivered in each direction (after tampering).
        pub c2s: Vec<u8>,
        pub s2c: Vec<u8>,
    }

    impl Session {
        pub fn new(p: &Params) -> Self {
            let client_log = new_key_log();
            let server_log = new_key_log();
            let auth = match p.auth {
                AuthKind::Pins => ServerAuth::Pins(p.trusted.iter().map(|n| pin(n)).collect()),
                AuthKind::TrustedCertificates => {
                    ServerAuth::TrustedCertificates(p.trusted.iter().map(|n| leaf(n)).collect())
                }
            };
            let client_config = ClientConfig::new(provider(), auth)
                .with_suites(&p.client_suites)
                .expect("client suites")
                .with_key_log(client_log.clone());
            let server_config = server_config(p.key)
                .with_suites(&p.server_suites)
                .expect("server suites")
                .with_key_log(server_log.clone());
            Self {
                client: client(client_config, p.client_seed),
                server: server(server_config, p.server_seed),
                client_log,
                server_log,
                flights: Vec::new(),
                client_events: Vec::new(),
                server_events: Vec::new(),
                client_error: None,
                server_error: None,
                c2s: Vec::new(),
                s2c: Vec::new(),
            }
        }

        /// Moves flights back and forth until neither side has anything to send.
        /// `tamper(i, flight)` may edit the `i`th flight (0 is the ClientHello)
        /// before it is delivered in chunks of the sizes given for its direction.
        pub fn run(
            &mut self,
            tamper: &mut dyn FnMut(usize, &mut Vec<u8>),
            c2s_chunks: &[usize],
            s2c_chunks: &[usize],
        ) {
            let mut client_turn = true;
            let mut idle = 0;
            while idle < 2 && self.flights.len() < 16 {
                let mut wire = match client_turn {
                    true => take_output(&mut self.client),
                    false => take_output(&mut self.server),
                };
                if wire.is_empty() {
                    idle += 1;
                } else {
                    idle = 0;
                    let i = self.flights.len();
                    self.flights.push(wire.clone());
                    tamper(i, &mut wire);
                    self.deliver(client_turn, &wire, c2s_chunks, s2c_chunks);
                }
                client_turn = !client_turn;
            }
        }

        /// The handshake with whole flights and no tampering.
        pub fn handshake(&mut self) {
            self.run(&mut |_, _| {}, &[], &[]);
        }

        /// Delivers `wire` from one side to the other, recording events and errors.
        pub fn deliver(&mut self, from_client: bool, wire: &[u8], c2s: &[usize], s2c: &[usize]) {
            let (to, chunks, events, error, log): (&mut dyn Endpoint, _, _, _, _) =
                match from_client {
                    true => (
                        &mut self.server,
                        c2s,
                        &mut self.server_events,
                        &mut self.server_error,
                        &mut self.c2s,
                    ),
                    false => (
                        &mut self.client,
                        s2c,
                        &mut self.client_events,
                        &mut self.client_error,
                        &mut self.s2c,
                    ),
                };
            log.extend_from_slice(wire);
            let (evs, err) = feed_all(to, wire, chunks);
            events.extend(evs);
            if error.is_none() {
                *error = err;
            }
        }

        /// Writes all of `data` from one side, delivering as it goes. Returns the
        /// sender's error, if writing failed.
        pub fn send(
            &mut self,
            from_client: bool,
            data: &[u8],
            c2s: &[usize],
            s2c: &[usize],
        ) -> Result<(), Error> {
            let mut sent = 0;
            loop {
                let n = match from_client {
                    true => self.client.write_app_data(&data[sent..])?,
                    false => self.server.write_app_data(&data[sent..])?,
                };
                sent += n;
                let wire = match from_client {
                    true => take_output(&mut self.client),
                    false => take_output(&mut self.server),
                };
                self.deliver(from_client, &wire, c2s, s2c);
                if sent == data.len() {
                    return Ok(());
                }
                assert!(n > 0 || !wire.is_empty(), "write_app_data made no progress");
            }
        }

        /// The master secret each side logged (hex), with the client random it was
        /// logged under.
        pub fn master_secrets(&self) -> (Option<String>, Option<String>) {
            let line = |log: &MemoryKeyLog| {
                log.lines()
                    .into_iter()
                    .find(|l| l.starts_with("CLIENT_RANDOM "))
            };
            (line(&self.client_log), line(&self.server_log))
        }

        /// The bytes of application data each side received, concatenated.
        pub fn received(&self) -> (Vec<u8>, Vec<u8>) {
            let data = |events: &[Ev]| {
                events
                    .iter()
                    .filter_map(|e| match e {
                        Ev::Data(d) => Some(d.clone()),
                        _ => None,
                    })
                    .flatten()
                    .collect()
            };
            (data(&self.client_events), data(&self.server_events))
        }

        pub fn client_completed(&self) -> bool {
            self.client_events
                .iter()
                .any(|e| matches!(e, Ev::Complete(_)))
        }

        pub fn server_completed(&self) -> bool {
            self.server_events
                .iter()
                .any(|e| matches!(e, Ev::Complete(_)))
        }
    }

    /// Application data of `len` bytes that differs with `fill`.
    pub fn app_data(len: usize, fill: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ (i >> 8) as u8 ^ fill)
            .collect()
    }

    /// The records of a flight as plaintext `(type, payload)`: records after the
    /// flight's first ChangeCipherSpec are opened with `key` (sequence numbers from
    /// 0, as in a handshake flight).
    pub fn open_flight(flight: &[u8], key: Option<&TestRecordKey>) -> Vec<(u8, Vec<u8>)> {
        let mut seq = None;
        split_records(flight)
            .into_iter()
            .map(|r| {
                let out = match seq {
                    None => (r[0], r[5..].to_vec()),
                    Some(s) => {
                        seq = Some(s + 1);
                        key.expect("keys for a protected record")
                            .open(&r, s)
                            .expect("an honest record opens")
                    }
                };
                if out.0 == CCS && seq.is_none() {
                    seq = Some(0);
                }
                out
            })
            .collect()
    }

    /// The inverse of [`open_flight`]: plaintext up to and including the first
    /// ChangeCipherSpec, then protected with `key` from sequence number 0.
    pub fn seal_flight(records: &[(u8, Vec<u8>)], key: Option<&TestRecordKey>) -> Vec<u8> {
        let mut seq = None;
        let mut out = Vec::new();
        for (typ, payload) in records {
            match seq {
                None => out.extend(record(*typ, payload)),
                Some(s) => {
                    out.extend(key.expect("keys").seal(*typ, s, payload));
                    seq = Some(s + 1);
                }
            }
            if *typ == CCS && seq.is_none() {
                seq = Some(0);
            }
        }
        out
    }

    impl Session {
        /// A session with one suite and the rsa2048 key, its handshake done.
        pub fn established(suite: &'static rsatls::suites::Suite, seeds: (u64, u64)) -> Self {
            let p = Params {
                client_suites: vec![suite],
                server_suites: vec![suite],
                ..Params::new("rsa2048", seeds.0, seeds.1)
            };
            let mut s = Self::new(&p);
            s.handshake();
            assert!(s.client_completed() && s.server_completed());
            s
        }

        /// The two ends: the client first if `client`, else the server first.
        pub fn ends(&mut self, client: bool) -> (&mut dyn Endpoint, &mut dyn Endpoint) {
            match client {
                true => (&mut self.client, &mut self.server),
                false => (&mut self.server, &mut self.client),
            }
        }

        /// The session's (client-write, server-write) record keys, derived in the
        /// test from the key log and the hellos' randoms.
        pub fn record_keys(&self, suite: &rsatls::suites::Suite) -> (TestRecordKey, TestRecordKey) {
            let (cr, sr) = hello_randoms(&self.flights[0], &self.flights[1]);
            let master = self
                .client_log
                .secret("CLIENT_RANDOM")
                .expect("master secret logged");
            test_record_keys(suite, &unhex(&master), &cr, &sr)
        }
    }
}
