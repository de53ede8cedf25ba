//! Shared by the benchmarks: the provider under test, benchmark IDs, fixtures and
//! an in-memory handshake driver.
//!
//! The provider is `rsatls::crypto::default_provider()`: RustCrypto, or the fast
//! provider under `--features fast`. Every benchmark ID goes through [`id`], which
//! puts the provider's name in the first segment for any provider but the default
//! (`fast/record/seal/aes128/16384`), so the two providers' criterion results
//! never overwrite each other.
#![allow(dead_code)]

pub(crate) mod cke;
pub(crate) mod dudect;
pub(crate) mod raw;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use rand_core::SeedableRng;
use rsatls::bench_support::{RecordKey, SECRET_LEN, encrypt_premaster};
use rsatls::crypto::{AeadAlgorithm, CryptoProvider, PrivateKeyDer, RsaPrivateKey, RsaPublicKey};
use rsatls::suites::Suite;
use rsatls::{
    ClientConfig, ClientConnection, Endpoint, Error, ServerAuth, ServerConfig, ServerConnection,
};

/// RSA modulus sizes benchmarked.
pub(crate) const RSA_BITS: [usize; 3] = [2048, 3072, 4096];

/// Record payload sizes benchmarked: small, typical, and a full 2^14 record.
pub(crate) const RECORD_SIZES: [usize; 3] = [64, 1024, 16384];

/// The provider under test.
pub(crate) fn provider() -> Arc<dyn CryptoProvider> {
    rsatls::crypto::default_provider()
}

/// Whether the fast provider is the one under test.
pub(crate) fn is_fast() -> bool {
    provider().name() == "fast"
}

/// A benchmark ID (or group name), prefixed with the provider's name unless it
/// is the default RustCrypto provider.
pub(crate) fn id(name: &str) -> String {
    match provider().name() {
        "rustcrypto" => name.to_string(),
        other => format!("{other}/{name}"),
    }
}

/// What the benchmarks measure with: the benchmark thread's CPU time
/// (`CLOCK_THREAD_CPUTIME_ID`) by default, or wall-clock time with
/// `RSATLS_BENCH_CLOCK=wall`.
///
/// CPU time is the default because the reference machine is a shared 2-core VM
/// where other jobs' load inflates wall-clock time by tens of percent from one
/// minute to the next, and because it is what `openssl speed` reports by default
/// (user CPU time), so the two stay comparable. It is also what "server CPU per
/// handshake" means.
pub(crate) struct Clock {
    cpu: bool,
    origin: Instant,
    wall: WallTime,
}

impl Clock {
    pub(crate) fn from_env() -> Self {
        Self {
            cpu: std::env::var("RSATLS_BENCH_CLOCK").as_deref() != Ok("wall"),
            origin: Instant::now(),
            wall: WallTime,
        }
    }

    /// "thread CPU time" or "wall-clock time".
    pub(crate) fn name(&self) -> &'static str {
        match self.cpu {
            true => "thread CPU time",
            false => "wall-clock time",
        }
    }

    /// The current reading of the clock.
    pub(crate) fn now(&self) -> Duration {
        match self.cpu {
            true => ThreadTime::now().as_duration(),
            false => self.origin.elapsed(),
        }
    }
}

impl Measurement for Clock {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.now()
    }
    fn end(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// The criterion instance every benchmark uses.
pub(crate) type Crit = Criterion<Clock>;

/// Criterion with modest defaults (the whole suite stays well under 15 minutes
/// per provider on a 2-core machine); command-line options override them.
pub(crate) fn criterion() -> Crit {
    let clock = Clock::from_env();
    eprintln!(
        "rsatls benches: provider {}, measuring {}",
        provider().name(),
        clock.name()
    );
    Criterion::default()
        .with_measurement(clock)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(3))
        .sample_size(25)
        .nresamples(20_000)
        .configure_from_args()
}

/// A committed test file.
pub(crate) fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The committed PKCS#8 DER key of `bits` bits.
pub(crate) fn private_key_der(bits: usize) -> Vec<u8> {
    data(&format!("rsa{bits}.key.der"))
}

/// The committed key of `bits` bits, loaded by the provider under test.
pub(crate) fn private_key(bits: usize) -> Box<dyn RsaPrivateKey> {
    provider()
        .rsa_private_key(PrivateKeyDer::Pkcs8(&private_key_der(bits)))
        .expect("committed key loads")
}

/// A deterministic RNG for the benchmarks; not an entropy source.
pub(crate) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Server configuration for the committed 2048-bit key, restricted to `suite`.
pub(crate) fn server_config(suite: &'static Suite) -> Arc<ServerConfig> {
    let config = ServerConfig::from_pem_or_der(
        provider(),
        &data("rsa2048.cert.pem"),
        &data("rsa2048.key.pem"),
    )
    .expect("committed key loads");
    Arc::new(config.with_suites(&[suite]).expect("one suite"))
}

/// Client configuration pinning the committed 2048-bit certificate.
pub(crate) fn client_config() -> Arc<ClientConfig> {
    let pins = rsatls::pki::parse_pins(std::str::from_utf8(&data("rsa2048.pin")).unwrap())
        .expect("committed pin parses");
    Arc::new(ClientConfig::new(provider(), ServerAuth::Pins(pins)))
}

pub(crate) fn client(config: &Arc<ClientConfig>, seed: u64) -> ClientConnection {
    ClientConnection::new(config.clone(), Some("localhost"), rng(seed)).expect("client starts")
}

pub(crate) fn server(config: &Arc<ServerConfig>, seed: u64) -> ServerConnection {
    ServerConnection::new(config.clone(), rng(seed))
}

/// Moves every pending byte of `from` into `wire` (cleared first) and feeds them
/// to `to`, draining its events. `wire` is the caller's reusable buffer.
pub(crate) fn deliver(
    from: &mut impl Endpoint,
    to: &mut impl Endpoint,
    wire: &mut Vec<u8>,
) -> Result<(), Error> {
    wire.clear();
    let mut chunk = [0u8; 4096];
    while from.wants_write() {
        let n = from.write_tls(&mut chunk);
        wire.extend_from_slice(&chunk[..n]);
    }
    feed(to, wire)
}

/// Feeds `wire` to `to`, draining its events.
pub(crate) fn feed(to: &mut impl Endpoint, wire: &[u8]) -> Result<(), Error> {
    let mut off = 0;
    while off < wire.len() {
        off += to.read_tls(&wire[off..])?;
        while to.poll_event()?.is_some() {}
    }
    Ok(())
}

/// Runs a full handshake between fresh connections in memory.
pub(crate) fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    wire: &mut Vec<u8>,
) -> Result<(), Error> {
    while !(client.is_established() && server.is_established()) {
        deliver(client, server, wire)?;
        deliver(server, client, wire)?;
    }
    Ok(())
}

/// The two client flights of one handshake against a server seeded with
/// `server_seed`: replaying them to a fresh server with the same seed completes
/// the same handshake (the server's random, and so the client's Finished, repeat).
pub(crate) struct ClientFlights {
    pub(crate) hello: Vec<u8>,
    pub(crate) finish: Vec<u8>,
}

pub(crate) fn record_client_flights(
    server_config: &Arc<ServerConfig>,
    server_seed: u64,
) -> ClientFlights {
    let mut c = client(&client_config(), 1);
    let mut s = server(server_config, server_seed);
    let mut wire = Vec::new();
    deliver(&mut c, &mut s, &mut wire).unwrap();
    let hello = wire.clone();
    deliver(&mut s, &mut c, &mut wire).unwrap();
    deliver(&mut c, &mut s, &mut wire).unwrap();
    let finish = wire.clone();
    deliver(&mut s, &mut c, &mut wire).unwrap();
    assert!(c.is_established() && s.is_established());
    ClientFlights { hello, finish }
}

/// Server side of one handshake from recorded client flights; `out` collects the
/// server's output (the caller's buffer, cleared each flight).
pub(crate) fn server_handshake(
    config: &Arc<ServerConfig>,
    seed: u64,
    flights: &ClientFlights,
    out: &mut Vec<u8>,
) -> ServerConnection {
    let mut s = server(config, seed);
    feed(&mut s, &flights.hello).unwrap();
    out.clear();
    s.write_tls_into(out);
    feed(&mut s, &flights.finish).unwrap();
    out.clear();
    s.write_tls_into(out);
    assert!(s.is_established());
    s
}

/// Records a fresh key may protect before the benchmark replaces it, well under
/// the engine's 2^24 limit.
pub(crate) const RECORDS_PER_KEY: u64 = 1 << 23;

/// A record key that is replaced by a fresh one (same key bytes, sequence 0)
/// every [`RECORDS_PER_KEY`] records, so long runs never reach the limit. A
/// sealer and an opener built alike stay in step.
pub(crate) struct Direction {
    alg: AeadAlgorithm,
    key: RecordKey,
    used: u64,
}

impl Direction {
    pub(crate) fn new(alg: AeadAlgorithm) -> Self {
        Self {
            alg,
            key: Self::fresh(alg),
            used: 0,
        }
    }

    fn fresh(alg: AeadAlgorithm) -> RecordKey {
        RecordKey::new(
            provider().as_ref(),
            alg,
            &vec![0x42; alg.key_len()],
            [1, 2, 3, 4],
        )
        .expect("record key")
    }

    pub(crate) fn next(&mut self) -> &mut RecordKey {
        if self.used == RECORDS_PER_KEY {
            self.key = Self::fresh(self.alg);
            self.used = 0;
        }
        self.used += 1;
        &mut self.key
    }
}

/// The public half of `private`, loaded by the provider under test.
pub(crate) fn public_key(private: &dyn RsaPrivateKey) -> Box<dyn RsaPublicKey> {
    provider()
        .rsa_public_key(&private.public_modulus(), &private.public_exponent())
        .expect("public half loads")
}

/// A valid ClientKeyExchange ciphertext for `premaster`.
pub(crate) fn valid_ciphertext(
    private: &dyn RsaPrivateKey,
    premaster: &[u8; SECRET_LEN],
) -> Vec<u8> {
    valid_ciphertexts(private, premaster, 1).remove(0)
}

/// `count` different valid ciphertexts for `premaster` (different random padding).
pub(crate) fn valid_ciphertexts(
    private: &dyn RsaPrivateKey,
    premaster: &[u8; SECRET_LEN],
    count: usize,
) -> Vec<Vec<u8>> {
    let public = public_key(private);
    let mut rng = rng(7);
    (0..count)
        .map(|_| encrypt_premaster(public.as_ref(), premaster, &mut rng).unwrap())
        .collect()
}

/// An invalid one: the encryption of a random representative below n, which
/// fails the padding check (like almost every forged ciphertext).
pub(crate) fn invalid_ciphertext(private: &dyn RsaPrivateKey) -> Vec<u8> {
    invalid_ciphertexts(private, 1).remove(0)
}

/// `count` different invalid ciphertexts.
pub(crate) fn invalid_ciphertexts(private: &dyn RsaPrivateKey, count: usize) -> Vec<Vec<u8>> {
    let public = public_key(private);
    let k = private.modulus_len();
    let mut rng = rng(8);
    (0..count)
        .map(|_| {
            let mut em = vec![0u8; k];
            rng.fill_bytes(&mut em[1..]);
            em[1] |= 0x80; // not 0x02: the padding check fails
            let mut ct = vec![0u8; k];
            public.raw_encrypt(&em, &mut ct).unwrap();
            ct
        })
        .collect()
}
