//! The ClientKeyExchange timing test of `benches/cke_dudect.rs`, but against
//! the whole server over loopback: does the server answer a client's last
//! flight sooner or later when its ClientKeyExchange is invalid? Not a CI test:
//! it takes minutes per path and its verdict depends on the machine.
//! `formal/README.md` ("Side channels") has the results.
//!
//! ```text
//! cargo bench --bench cke_loopback [--features pkcs11] --
//!     [--path inline|async|pkcs11] [--seconds S]
//!     [--extra A,B,C] [--workers N]
//! ```
//!
//! **Server.** The tokio adapter, `rsatls::tokio::accept`, in this process, on
//! a multi-threaded runtime with `--workers` worker threads (default 1: the
//! machine has 2 cores and the client needs one). In process rather than the
//! `rsatls serve` binary because the positive controls need a server whose key
//! is a deliberately leaky test double, which no binary can be given; the
//! adapter is what `serve` runs on, with the same `set_nodelay`. Paths:
//!
//! - `inline` (default): the default configuration; the RSA operation runs
//!   inside `poll_event` on the worker thread.
//! - `async`: `ServerConfig::with_private_key_offload(true)`, accepted with
//!   `rsatls::tokio::accept_with_key_pool` on a `KeyPool` of one thread per
//!   core (what `rsatls serve` does by default): the operation runs on the
//!   pool's threads, the worker only moves bytes.
//! - `pkcs11` (`--features pkcs11`): as `async`, with the key a
//!   `rsatls::pkcs11::Pkcs11Key` in a SoftHSM2 token (raw RSA in the token,
//!   unpadding in the engine). The bench creates the token in a temporary
//!   directory and imports the committed key into it, so that the committed
//!   certificate matches; the leaky controls wrap the token's key.
//!
//! **Client.** One thread, blocking `std::net`. Per measurement: a new TCP
//! connection, the ClientHello exchange, then the client's last flight
//! (ClientKeyExchange, ChangeCipherSpec, Finished) with the ClientKeyExchange
//! replaced by one of the arm's class (`benches/common/cke.rs`; a valid one is
//! the client's own). Measured: wall-clock time from just before the flight is
//! written to the first byte of the server's answer, which is one record either
//! way (ChangeCipherSpec then Finished for a valid flight, the bad_record_mac
//! alert for every other; the bench checks which). Wall-clock time, because
//! the server runs on other threads.
//!
//! **Arms** (drawn at random per measurement, as in cke_dudect): the server
//! under test with random, wrong-length, wrong-version and bad-padding
//! ClientKeyExchanges, each compared with two references: a valid flight
//! (answered with its Finished, after the server has also built that), and a
//! valid ClientKeyExchange followed by a tampered Finished, which the server
//! answers with the same alert after the same work as an invalid one. The
//! second is what a padding oracle would need to tell apart: an attacker never
//! knows the premaster, so never sends a correct Finished. And **positive
//! controls**: the
//! same server (same path, same adapter) whose key is wrapped in
//! [`LeakyKeyForTestingOnly`], which skips the RSA operation for the engine's
//! stand-in input of a wrong-length ciphertext (a gross leak: |t| must exceed
//! 10) and, after a good PKCS#1 v1.5 padding, derives the master secret `extra`
//! times (as cke_dudect's `leaky_decrypt`; the bench prints its cost),
//! work that a bad padding skips. Compared: leaky wrong-length against leaky
//! valid (gross), and leaky bad-padding against leaky valid with `extra` = 0
//! and each of `--extra` (default 30, 100, 300): they show how large a
//! difference the run resolves, under the same conditions as the path under
//! test. Statistics: `benches/common/dudect.rs`.

mod common;

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use common::cke::{CLIENT_VERSION, Class, ciphertext};
use common::dudect;
use rand_core::CryptoRng;
use rsatls::bench_support::{SECRET_LEN, extended_master_secret};
use rsatls::crypto::{CryptoError, CryptoProvider, HashAlgorithm, RsaPrivateKey};
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::tokio::{KeyPool, Timeouts};
use rsatls::{ClientConfig, ClientConnection, Error, ServerAuth, ServerConfig, pki};

/// Measurements per batch (the arm sequence of a batch is drawn up front); the
/// first batch is the warm-up.
const BATCH: usize = 1000;
/// Invalid ciphertexts per arm, used in turn.
const POOL: usize = 64;
/// Content types of the first record of the server's answer.
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
/// Sessions of the PKCS#11 key: one per thread of the key pool (one per core),
/// and one to spare.
#[cfg(feature = "pkcs11")]
const KEY_SESSIONS: usize = 3;

fn main() {
    let opts = Options::parse();
    let provider = common::provider();
    let key: Arc<dyn RsaPrivateKey> = match opts.path {
        Path::Inline | Path::Async => Arc::from(common::private_key(2048)),
        Path::Pkcs11 => pkcs11_key(),
    };
    let chain = pki::load_certificates(&common::data("rsa2048.cert.pem")).expect("certificate");
    eprintln!(
        "cke_loopback: path {}, provider {}, RSA-2048, wall-clock time, {} s, {} worker(s), load {}",
        opts.path.name(),
        provider.name(),
        opts.seconds,
        opts.workers,
        load()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.workers)
        .enable_all()
        .build()
        .expect("runtime");
    // Where the async path's servers run their private-key operations: a pool
    // of its own with one thread per core, as `rsatls serve` does by default.
    let pool = match opts.path {
        Path::Inline => None,
        Path::Async | Path::Pkcs11 => Some(KeyPool::per_core().expect("key threads start")),
    };
    // The server under test, then one leaky server per amount of extra work.
    let mut servers = vec![Server::start(
        &runtime,
        pool.clone(),
        config(&provider, &chain, key.clone(), opts.path),
    )];
    for &extra in std::iter::once(&0).chain(&opts.extra) {
        let leaky = Arc::new(LeakyKeyForTestingOnly {
            inner: key.clone(),
            provider: provider.clone(),
            extra,
        });
        servers.push(Server::start(
            &runtime,
            pool.clone(),
            config(&provider, &chain, leaky, opts.path),
        ));
    }

    // The server under test: a valid flight, a valid ClientKeyExchange with a
    // tampered Finished (answered with the same alert as the invalid classes,
    // after the same work: the reference a padding oracle would need), and the
    // invalid classes.
    let under_test = servers[0].addr;
    let mut arms = vec![
        Arm::new("valid", under_test, key.as_ref(), Class::Valid),
        Arm::new(
            "valid, bad Finished",
            under_test,
            key.as_ref(),
            Class::Valid,
        )
        .tampered(),
    ];
    let invalid = [
        Class::Random,
        Class::WrongLength,
        Class::WrongVersion,
        Class::BadPadding,
    ];
    arms.extend(
        invalid
            .into_iter()
            .map(|c| Arm::new(c.name(), under_test, key.as_ref(), c)),
    );
    let mut pairs: Vec<(usize, usize)> = (2..arms.len()).map(|b| (0, b)).collect();
    pairs.extend((2..arms.len()).map(|b| (1, b)));
    let tested = pairs.len();
    // The positive controls.
    let leaky0 = arms.len();
    let leaky = servers[1].addr;
    arms.push(Arm::new("leaky valid", leaky, key.as_ref(), Class::Valid));
    for (i, extra) in opts.extra.iter().enumerate() {
        arms.push(Arm::new(
            format!("leaky valid+{extra}"),
            servers[2 + i].addr,
            key.as_ref(),
            Class::Valid,
        ));
    }
    let bad = arms.len();
    arms.push(Arm::new(
        "leaky bad-pad",
        leaky,
        key.as_ref(),
        Class::BadPadding,
    ));
    arms.push(Arm::new(
        "leaky wrong-len",
        leaky,
        key.as_ref(),
        Class::WrongLength,
    ));
    pairs.push((leaky0, bad + 1));
    pairs.extend((leaky0..bad).map(|a| (a, bad)));

    eprintln!(
        "cke_loopback: one unit of the controls' extra work (a master-secret derivation): {:.2} us",
        unit_cost(provider.as_ref()) / 1e3
    );
    let samples = measure(&arms, opts.seconds);
    eprintln!("cke_loopback: done, load {}", load());
    let names: Vec<&str> = arms.iter().map(|a| a.name.as_str()).collect();
    dudect::report(&names, &samples, &pairs);
    // What the run could have seen: a difference of 4.5 (10) standard errors of
    // the most sensitive test would have reached dudect's |t| = 4.5 (10).
    for &(a, b) in &pairs[..tested] {
        let (xa, xb) = (&samples.counted[a], &samples.counted[b]);
        let (wa, wb) = (&samples.warm_up[a], &samples.warm_up[b]);
        match dudect::smallest_se(xa, xb, wa, wb) {
            None => println!("{} vs {}: too few measurements", names[b], names[a]),
            Some(se) => println!(
                "{} vs {}: smallest se {:.1} us: {:.1} us would give |t| = 4.5, {:.1} us |t| = 10",
                names[b],
                names[a],
                se / 1e3,
                4.5 * se / 1e3,
                10.0 * se / 1e3
            ),
        }
    }
    for server in &servers {
        assert_eq!(
            server.failures.load(Ordering::Relaxed),
            0,
            "a server connection failed other than with bad_record_mac"
        );
    }
    drop(runtime);
}

struct Options {
    path: Path,
    seconds: u64,
    extra: Vec<usize>,
    workers: usize,
}

impl Options {
    fn parse() -> Self {
        let mut opts = Options {
            path: Path::Inline,
            seconds: 300,
            extra: vec![30, 100, 300],
            workers: 1,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> String {
                args.next()
                    .unwrap_or_else(|| panic!("{name} needs a value"))
            };
            let number = |name: &str, v: &str| -> usize {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} needs a number, not {v}"))
            };
            match arg.as_str() {
                "--path" => {
                    let v = value("--path");
                    opts.path = Path::from_name(&v)
                        .unwrap_or_else(|| panic!("--path is inline, async or pkcs11, not {v}"));
                }
                "--seconds" => opts.seconds = number("--seconds", &value("--seconds")) as u64,
                "--workers" => opts.workers = number("--workers", &value("--workers")),
                "--extra" => {
                    opts.extra = value("--extra")
                        .split(',')
                        .map(|v| number("--extra", v))
                        .collect();
                }
                "--bench" => {}
                other => panic!("unknown argument {other}"),
            }
        }
        opts
    }
}

/// How the server runs the ClientKeyExchange's private-key operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Inside `poll_event`, through the tokio adapter.
    Inline,
    /// Handed out, run on a `KeyPool` and completed by the adapter.
    Async,
    /// As `Async`, with the key in a SoftHSM2 token.
    Pkcs11,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Inline => "inline",
            Path::Async => "async",
            Path::Pkcs11 => "pkcs11",
        }
    }

    fn from_name(name: &str) -> Option<Path> {
        [Path::Inline, Path::Async, Path::Pkcs11]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

fn config(
    provider: &Arc<dyn CryptoProvider>,
    chain: &[Vec<u8>],
    key: Arc<dyn RsaPrivateKey>,
    path: Path,
) -> Arc<ServerConfig> {
    let config = ServerConfig::with_private_key(provider.clone(), chain.to_vec(), key)
        .expect("key matches the certificate");
    Arc::new(config.with_private_key_offload(path != Path::Inline))
}

/// The PKCS#11 path's key: the committed RSA-2048 key, imported into a SoftHSM2
/// token of its own (so the committed certificate matches it) and opened
/// through `rsatls::pkcs11::Pkcs11Key` with one session per worker. SoftHSM2
/// reads `SOFTHSM2_CONF` when the module is initialized, and this crate cannot
/// set a variable of its own environment (`set_var` is unsafe), so the first
/// run creates the token and runs itself again with the variable set.
#[cfg(feature = "pkcs11")]
fn pkcs11_key() -> Arc<dyn RsaPrivateKey> {
    use std::process::Command;
    const TOKEN: &str = "cke-loopback";
    const PIN: &str = "1234";
    if std::env::var_os("RSATLS_CKE_TOKEN").is_none() {
        let dir = std::env::temp_dir().join(format!("rsatls-cke-loopback-{}", std::process::id()));
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).expect("token directory");
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("writes softhsm2.conf");
        let util = |args: &[&str]| {
            let status = Command::new("softhsm2-util")
                .args(args)
                .env("SOFTHSM2_CONF", &conf)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("softhsm2-util runs (apt-get install softhsm2)");
            assert!(status.success(), "softhsm2-util {args:?}: {status}");
        };
        util(&[
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            "5678",
        ]);
        let key = format!("{}/tests/data/rsa2048.key.pem", env!("CARGO_MANIFEST_DIR"));
        util(&[
            "--import", &key, "--token", TOKEN, "--label", "tls-key", "--id", "01", "--pin", PIN,
        ]);
        let status = Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args_os().skip(1))
            .env("SOFTHSM2_CONF", &conf)
            .env("RSATLS_CKE_TOKEN", "1")
            .status()
            .expect("runs itself again");
        let _ = std::fs::remove_dir_all(&dir);
        std::process::exit(status.code().unwrap_or(1));
    }
    let module = std::env::var("RSATLS_PKCS11_MODULE")
        .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into());
    let spec = rsatls::pkcs11::KeySpec::parse(&format!(
        "pkcs11:token={TOKEN};object=tls-key;type=private"
    ))
    .expect("URI parses");
    let key = rsatls::pkcs11::Pkcs11Key::open(module.as_ref(), &spec, Some(PIN), KEY_SESSIONS)
        .expect("the token's key opens");
    Arc::new(key)
}

#[cfg(not(feature = "pkcs11"))]
fn pkcs11_key() -> Arc<dyn RsaPrivateKey> {
    panic!("--path pkcs11 needs --features pkcs11");
}

/// The wall-clock cost in ns of one unit of the controls' extra work, the median
/// of 21 runs of 200 units each.
fn unit_cost(provider: &dyn CryptoProvider) -> f64 {
    let premaster = [3u8; SECRET_LEN];
    let mut runs: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..200 {
                let master = extended_master_secret(
                    provider,
                    HashAlgorithm::Sha256,
                    black_box(&premaster),
                    &[0x11; 32],
                );
                black_box(&*master);
            }
            start.elapsed().as_nanos() as f64 / 200.0
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// The load average, for the report.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// A server listening on 127.0.0.1, one task per connection.
struct Server {
    addr: SocketAddr,
    /// Connections that ended other than established or with bad_record_mac.
    failures: Arc<AtomicU64>,
}

impl Server {
    fn start(
        runtime: &tokio::runtime::Runtime,
        pool: Option<KeyPool>,
        config: Arc<ServerConfig>,
    ) -> Self {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binds");
        let addr = listener.local_addr().expect("address");
        let failures = Arc::new(AtomicU64::new(0));
        let failed = failures.clone();
        runtime.spawn(async move {
            // Not an entropy source: the server's RNG only has to differ per
            // connection.
            let mut seed = 0u64;
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                seed += 1;
                let rng = common::rng(seed);
                let config = config.clone();
                let failed = failed.clone();
                let pool = pool.clone();
                tokio::spawn(async move {
                    let accepted = match pool {
                        None => rsatls::tokio::accept(config, tcp, rng, Timeouts::default()).await,
                        Some(pool) => {
                            rsatls::tokio::accept_with_key_pool(
                                config,
                                tcp,
                                rng,
                                Timeouts::default(),
                                pool,
                            )
                            .await
                        }
                    };
                    let result = accepted
                        .map(drop)
                        .map_err(|e| rsatls::tokio::tls_error(&e).cloned());
                    if !matches!(result, Ok(()) | Err(Some(Error::BadRecordMac))) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        Server { addr, failures }
    }
}

/// TEST DOUBLE, deliberately leaky; never use this shape in the crate. Wraps a
/// key: the engine's stand-in for a wrong-length ciphertext (the representative
/// 2) fails at once without the RSA operation, and after the RSA operation a
/// textbook check of the PKCS#1 v1.5 padding decides whether to do `extra`
/// master-secret derivations, which a bad padding skips.
struct LeakyKeyForTestingOnly {
    inner: Arc<dyn RsaPrivateKey>,
    provider: Arc<dyn CryptoProvider>,
    extra: usize,
}

impl RsaPrivateKey for LeakyKeyForTestingOnly {
    fn modulus_len(&self) -> usize {
        self.inner.modulus_len()
    }

    fn modulus_bits(&self) -> usize {
        self.inner.modulus_bits()
    }

    fn public_modulus(&self) -> Vec<u8> {
        self.inner.public_modulus()
    }

    fn public_exponent(&self) -> Vec<u8> {
        self.inner.public_exponent()
    }

    fn raw_decrypt(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<(), CryptoError> {
        if let Some((&2, zeros)) = ciphertext.split_last()
            && zeros.iter().all(|&b| b == 0)
        {
            return Err(CryptoError);
        }
        self.inner.raw_decrypt(ciphertext, out, rng)?;
        if let Some(premaster) = textbook_unpad(out) {
            for _ in 0..self.extra {
                let master = extended_master_secret(
                    self.provider.as_ref(),
                    HashAlgorithm::Sha256,
                    &premaster,
                    &[0x11; 32],
                );
                black_box(&*master);
            }
        }
        Ok(())
    }
}

/// PKCS#1 v1.5 unpadding that returns at the first bad byte (as code before the
/// Bleichenbacher countermeasures did).
fn textbook_unpad(em: &[u8]) -> Option<[u8; SECRET_LEN]> {
    if em.first() != Some(&0) || em.get(1) != Some(&2) {
        return None;
    }
    let sep = 2 + em.get(2..)?.iter().position(|&b| b == 0)?;
    let body = em.get(sep + 1..)?;
    if body.len() != SECRET_LEN || body[..2] != CLIENT_VERSION {
        return None;
    }
    body.try_into().ok()
}

/// One arm: a server and a class of ClientKeyExchange (for invalid classes, a
/// pool of ciphertexts used in turn).
struct Arm {
    name: String,
    addr: SocketAddr,
    class: Class,
    inputs: Vec<Vec<u8>>,
    /// The Finished record's last byte flipped.
    tamper: bool,
}

impl Arm {
    fn new(
        name: impl Into<String>,
        addr: SocketAddr,
        key: &dyn RsaPrivateKey,
        class: Class,
    ) -> Self {
        let mut rng = common::rng(0x100b + class as u64);
        let inputs = match class {
            Class::Valid => Vec::new(),
            _ => (0..POOL)
                .map(|_| ciphertext(key, class, &mut rng).0)
                .collect(),
        };
        Arm {
            name: name.into(),
            addr,
            class,
            inputs,
            tamper: false,
        }
    }

    fn tampered(self) -> Self {
        Arm {
            tamper: true,
            ..self
        }
    }

    /// The content type the server's answer must start with.
    fn answer(&self) -> u8 {
        match (self.class, self.tamper) {
            (Class::Valid, false) => CHANGE_CIPHER_SPEC,
            _ => ALERT,
        }
    }
}

fn measure(arms: &[Arm], seconds: u64) -> dudect::Samples {
    let client_config = Arc::new(ClientConfig::new(
        common::provider(),
        ServerAuth::DangerousAcceptAnyKeyForTestingOnly,
    ));
    let mut order_rng = common::rng(2);
    let mut next = vec![0usize; arms.len()];
    let mut seed = 1u64 << 32;
    dudect::measure(arms.len(), BATCH, seconds, &mut order_rng, |i| {
        let arm = &arms[i];
        let replacement = arm.inputs.get(next[i]);
        if !arm.inputs.is_empty() {
            next[i] = (next[i] + 1) % arm.inputs.len();
        }
        seed += 1;
        let (nanos, first) = one(&client_config, seed, arm.addr, replacement, arm.tamper);
        assert_eq!(first, arm.answer(), "{}: the server's answer", arm.name);
        nanos
    })
}

/// One connection: the time from writing the last flight (its
/// ClientKeyExchange replaced by `replacement`, if any, and its Finished
/// tampered with if `tamper`) to the first byte of the answer, in ns, and that
/// byte.
fn one(
    config: &Arc<ClientConfig>,
    seed: u64,
    addr: SocketAddr,
    replacement: Option<&Vec<u8>>,
    tamper: bool,
) -> (f64, u8) {
    let mut tcp = TcpStream::connect(addr).expect("connects");
    tcp.set_nodelay(true).expect("nodelay");
    let mut client = ClientConnection::new(config.clone(), Some("localhost"), common::rng(seed))
        .expect("client starts");
    let mut wire = Vec::new();
    client.write_tls_into(&mut wire);
    tcp.write_all(&wire).expect("writes ClientHello");
    let mut buf = vec![0u8; 1 << 14];
    while !client.wants_write() {
        let n = tcp.read(&mut buf).expect("reads");
        assert!(n > 0, "the server closed during the hello exchange");
        common::feed(&mut client, &buf[..n]).expect("server flight");
    }
    wire.clear();
    client.write_tls_into(&mut wire);
    let mut records = split_records(&wire);
    assert_eq!(
        records.len(),
        3,
        "ClientKeyExchange, ChangeCipherSpec, Finished"
    );
    if let Some(ct) = replacement {
        records[0] = handshake_record(&HandshakeMessage::ClientKeyExchange(ct.clone()));
    }
    if tamper && let Some(last) = records[2].last_mut() {
        *last ^= 1;
    }
    let flight = records.concat();
    let mut first = [0u8; 1];
    let start = Instant::now();
    tcp.write_all(&flight).expect("writes the last flight");
    tcp.read_exact(&mut first).expect("an answer");
    let elapsed = start.elapsed();
    (elapsed.as_nanos() as f64, first[0])
}

/// Splits a flight into whole records (header included).
fn split_records(flight: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = flight;
    while let Some(header) = rest.get(..5) {
        let len = 5 + usize::from(u16::from_be_bytes([header[3], header[4]]));
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    out
}

fn handshake_record(msg: &HandshakeMessage) -> Vec<u8> {
    let body = msg.to_bytes();
    let mut rec = vec![22, 3, 3];
    rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
    rec.extend_from_slice(&body);
    rec
}
