//! `rsatls::tokio::KeyPool`: a server that offloads its private-key operation
//! (`ServerConfig::with_private_key_offload`) runs it on the pool's threads,
//! never on a runtime's; the stream waits for the answer without holding up
//! the runtime, under the handshake timeout, and forgets it if the client has
//! gone. Then `rsatls serve` and `rsatls proxy` with curl and `openssl
//! s_client`, with the pool (the default) and inline.
//!
//! The keys here are test doubles around the committed rsa2048 key: one
//! records the thread that runs each operation, one also blocks until the test
//! lets it go, so every ordering below is forced, not timed. Waits are bounded
//! (a hang is a failure), but no assertion depends on how long anything took.

#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use harness::{Out, Peer, require};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, SeedableRng};
use rsatls::crypto::{CryptoError, RsaPrivateKey};
use rsatls::tokio::{KeyPool, Timeouts, TlsStream, accept, accept_with_key_pool, connect};
use rsatls::{Client, ClientConfig, Server, ServerAuth, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The bound on every single wait: a hang fails the test instead of stalling it.
const STEP: Duration = Duration::from_secs(20);

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Lets a [`TestKey`]'s operations through one at a time.
struct Gate {
    /// An operation has started (sent before it waits).
    entered: Mutex<Sender<()>>,
    /// One message lets one operation go on.
    release: Mutex<Receiver<()>>,
    /// An operation has returned its result to the pool.
    finished: Mutex<Sender<()>>,
}

/// The test's side of a [`Gate`].
struct GateControl {
    entered: Receiver<()>,
    release: Sender<()>,
    finished: Receiver<()>,
}

impl GateControl {
    fn wait_entered(&self, what: &str) {
        self.entered
            .recv_timeout(STEP)
            .unwrap_or_else(|e| panic!("{what}: no private-key operation started ({e:?})"));
    }

    fn release(&self) {
        self.release.send(()).unwrap();
    }

    fn wait_finished(&self, what: &str) {
        self.finished
            .recv_timeout(STEP)
            .unwrap_or_else(|e| panic!("{what}: the operation never finished ({e:?})"));
    }
}

/// TEST DOUBLE: the committed rsa2048 key, recording the name of the thread
/// each operation runs on and, with a gate, blocking until the test says.
struct TestKey {
    inner: Box<dyn RsaPrivateKey>,
    threads: Mutex<Vec<String>>,
    gate: Option<Gate>,
    /// This many operations panic instead of answering.
    panics: AtomicUsize,
}

impl TestKey {
    fn new(gated: bool) -> (Arc<Self>, Option<GateControl>) {
        let pem = std::fs::read(data("rsa2048.key.pem")).unwrap();
        let file = rsatls::pki::load_private_key(&pem).unwrap();
        let inner = rsatls::crypto::default_provider()
            .rsa_private_key(file.as_der())
            .unwrap();
        let (gate, control) = if gated {
            let (entered_tx, entered) = mpsc::channel();
            let (release, release_rx) = mpsc::channel();
            let (finished_tx, finished) = mpsc::channel();
            (
                Some(Gate {
                    entered: Mutex::new(entered_tx),
                    release: Mutex::new(release_rx),
                    finished: Mutex::new(finished_tx),
                }),
                Some(GateControl {
                    entered,
                    release,
                    finished,
                }),
            )
        } else {
            (None, None)
        };
        let key = Arc::new(Self {
            inner,
            threads: Mutex::new(Vec::new()),
            gate,
            panics: AtomicUsize::new(0),
        });
        (key, control)
    }

    fn threads(&self) -> Vec<String> {
        self.threads.lock().unwrap().clone()
    }
}

impl RsaPrivateKey for TestKey {
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
        let name = thread::current().name().unwrap_or("(unnamed)").to_string();
        self.threads.lock().unwrap().push(name);
        let panics = self.panics.load(Ordering::SeqCst);
        if panics > 0 {
            self.panics.store(panics - 1, Ordering::SeqCst);
            panic!("TEST DOUBLE: a key implementation that panics");
        }
        if let Some(gate) = &self.gate {
            let _ = gate.entered.lock().unwrap().send(());
            // A test that failed drops its control: then go on.
            let _ = gate.release.lock().unwrap().recv();
        }
        let result = self.inner.raw_decrypt(ciphertext, out, rng);
        if let Some(gate) = &self.gate {
            let _ = gate.finished.lock().unwrap().send(());
        }
        result
    }
}

/// The rsa2048 certificate with `key`, offloading its operation.
fn offloading_config(key: Arc<TestKey>) -> Arc<ServerConfig> {
    let pem = std::fs::read(data("rsa2048.cert.pem")).unwrap();
    let chain = rsatls::pki::load_certificates(&pem).unwrap();
    let config =
        ServerConfig::with_private_key(rsatls::crypto::default_provider(), chain, key).unwrap();
    Arc::new(config.with_private_key_offload(true))
}

fn client_config() -> Arc<ClientConfig> {
    let pin = std::fs::read_to_string(data("rsa2048.pin")).unwrap();
    let pins = rsatls::pki::parse_pins(pin.trim()).unwrap();
    Arc::new(ClientConfig::new(
        rsatls::crypto::default_provider(),
        ServerAuth::Pins(pins),
    ))
}

fn limits() -> Timeouts {
    Timeouts {
        handshake: Some(STEP),
        idle: Some(STEP),
    }
}

async fn tls_client(addr: SocketAddr, seed: u64) -> std::io::Result<TlsStream<Client, TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let rng = ChaCha20Rng::seed_from_u64(seed);
    connect(client_config(), None, tcp, rng, limits()).await
}

async fn echo_once(tls: &mut TlsStream<Client, TcpStream>, line: &[u8]) {
    tls.write_all(line).await.unwrap();
    tls.flush().await.unwrap();
    let mut back = vec![0u8; line.len()];
    tls.read_exact(&mut back).await.unwrap();
    assert_eq!(back, line);
}

/// Echoes until the client closes.
async fn echo(mut tls: TlsStream<Server, TcpStream>) {
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = tls.read(&mut buf).await {
        if n == 0 || tls.write_all(&buf[..n]).await.is_err() || tls.flush().await.is_err() {
            break;
        }
    }
    let _ = tls.shutdown().await;
}

/// A runtime for the clients (and, in some tests, the server), on threads of
/// its own, so that a server that blocks its runtime cannot block the test's
/// bounds.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// How a server thread's handshakes ended, in order.
type Outcomes = Receiver<std::io::Result<()>>;

/// A server on its own thread and current_thread runtime (where one blocked
/// call stops everything): accepts connections on a loopback port, each
/// handshake (with `timeouts`) on a task of its own, reports each outcome,
/// then echoes.
fn server_thread(
    config: Arc<ServerConfig>,
    pool: Option<KeyPool>,
    timeouts: Timeouts,
) -> (SocketAddr, Outcomes) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let (report, outcomes) = mpsc::channel();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let mut seed = 100;
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                seed += 1;
                let (config, pool, report) = (config.clone(), pool.clone(), report.clone());
                tokio::spawn(async move {
                    let rng = ChaCha20Rng::seed_from_u64(seed);
                    let accepted = match pool {
                        Some(pool) => accept_with_key_pool(config, sock, rng, timeouts, pool).await,
                        None => accept(config, sock, rng, timeouts).await,
                    };
                    match accepted {
                        Ok(tls) => {
                            let _ = report.send(Ok(()));
                            echo(tls).await;
                        }
                        Err(e) => {
                            let _ = report.send(Err(e));
                        }
                    }
                });
            }
        });
    });
    (addr, outcomes)
}

fn next_outcome(outcomes: &Outcomes, what: &str) -> std::io::Result<()> {
    match outcomes.recv_timeout(STEP) {
        Ok(outcome) => outcome,
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: the server's handshake had not ended after {STEP:?}")
        }
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: the server thread is gone"),
    }
}

/// (a) The operation runs on a pool thread (`rsatls-key-N`), never on a
/// runtime worker: on a pool of the caller's, and on the shared pool of a
/// plain `accept`. Fails if the adapter runs the operation inline again.
#[test]
fn the_operation_runs_on_a_pool_thread_never_on_a_runtime_worker() {
    for own_pool in [true, false] {
        let (key, _) = TestKey::new(false);
        let pool = own_pool.then(|| KeyPool::new(2).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("runtime-worker")
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let config = offloading_config(key.clone());
            let server = tokio::spawn(async move {
                for seed in 0..3 {
                    let (sock, _) = listener.accept().await.unwrap();
                    let rng = ChaCha20Rng::seed_from_u64(seed);
                    let tls = match &pool {
                        Some(pool) => {
                            accept_with_key_pool(config.clone(), sock, rng, limits(), pool.clone())
                                .await
                        }
                        None => accept(config.clone(), sock, rng, limits()).await,
                    };
                    tokio::spawn(echo(tls.unwrap()));
                }
            });
            for seed in 0..3 {
                let mut tls = tls_client(addr, seed).await.unwrap();
                echo_once(&mut tls, b"hello").await;
            }
            server.await.unwrap();
        });
        let threads = key.threads();
        assert_eq!(threads.len(), 3, "own pool {own_pool}: {threads:?}");
        for name in &threads {
            assert!(
                name.starts_with("rsatls-key-"),
                "own pool {own_pool}: an operation ran on {name:?}: {threads:?}"
            );
        }
    }
}

/// (b) With a key that blocks until the test lets it go, an established
/// connection on the same current_thread runtime keeps echoing while another
/// handshake's operation is blocked. Inline, the runtime's only thread would
/// be stuck in the key and the echo would never come.
#[test]
fn an_established_connection_keeps_echoing_while_an_operation_is_blocked() {
    let (key, gate) = TestKey::new(true);
    let gate = gate.unwrap();
    let (addr, outcomes) = server_thread(
        offloading_config(key.clone()),
        Some(KeyPool::new(1).unwrap()),
        limits(),
    );
    let rt = client_runtime();
    // The first client's handshake, its operation let through at once.
    let first = rt.spawn(tls_client(addr, 1));
    gate.wait_entered("first handshake");
    gate.release();
    next_outcome(&outcomes, "first handshake").unwrap();
    let mut first = rt.block_on(first).unwrap().unwrap();
    rt.block_on(echo_once(&mut first, b"before"));
    // The second client's operation is now blocked in the key.
    let second = rt.spawn(tls_client(addr, 2));
    gate.wait_entered("second handshake");
    rt.block_on(async {
        for n in 0..10 {
            let line = format!("while blocked {n}\n");
            let what = "the established connection's echo while an operation is blocked";
            tokio::time::timeout(STEP, echo_once(&mut first, line.as_bytes()))
                .await
                .unwrap_or_else(|_| panic!("{what}: none after {STEP:?}"));
        }
    });
    // The second handshake was held all along, and completes once let go.
    assert!(!second.is_finished());
    gate.release();
    gate.wait_finished("second handshake");
    next_outcome(&outcomes, "second handshake").unwrap();
    let mut second = rt.block_on(second).unwrap().unwrap();
    rt.block_on(echo_once(&mut second, b"after"));
    rt.block_on(echo_once(&mut first, b"after"));
    assert!(key.threads().iter().all(|t| t == "rsatls-key-0"));
}

/// (c) The handshake timeout covers the wait for the operation: a server
/// whose key is stuck fails the handshake with TimedOut, while the key is
/// still stuck. Inline, the runtime's thread would be stuck with the key and
/// no timer could fire.
#[test]
fn the_handshake_timeout_fires_while_an_operation_is_stuck() {
    let (key, gate) = TestKey::new(true);
    let gate = gate.unwrap();
    let timeouts = Timeouts {
        handshake: Some(Duration::from_millis(300)),
        idle: None,
    };
    let (addr, outcomes) = server_thread(
        offloading_config(key),
        Some(KeyPool::new(1).unwrap()),
        timeouts,
    );
    let rt = client_runtime();
    let client = rt.spawn(tls_client(addr, 1));
    gate.wait_entered("handshake");
    let err = next_outcome(&outcomes, "stuck handshake").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    // Only now is the key let go; the client saw the server give up.
    gate.release();
    gate.wait_finished("stuck operation");
    let client = rt.block_on(client).unwrap();
    assert!(client.is_err(), "the client's handshake completed");
}

/// (d) A client that goes away while its operation is out: the server's
/// handshake ends at once (the key is still blocked), without panicking;
/// once let go, the pool thread finishes, drops the result, and takes the
/// next operation. A pool thread that died on the dropped answer (or a
/// stream that stopped reading while it waits) fails this test.
#[test]
fn a_client_that_vanishes_while_pending_leaves_the_pool_working() {
    let (key, gate) = TestKey::new(true);
    let gate = gate.unwrap();
    let pool = KeyPool::new(1).unwrap();
    let (addr, outcomes) = server_thread(offloading_config(key), Some(pool.clone()), limits());
    let rt = client_runtime();
    let vanishing = rt.spawn(tls_client(addr, 1));
    gate.wait_entered("first handshake");
    assert_eq!(pool.outstanding(), 1);
    // The client's task and its socket are dropped mid-handshake.
    vanishing.abort();
    let err = next_outcome(&outcomes, "vanished client").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
    gate.release();
    gate.wait_finished("abandoned operation");
    let deadline = Instant::now() + STEP;
    while pool.outstanding() != 0 {
        assert!(
            Instant::now() < deadline,
            "the pool never finished: {pool:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    // The same single thread serves the next handshake.
    let next = rt.spawn(tls_client(addr, 2));
    gate.wait_entered("next handshake");
    gate.release();
    next_outcome(&outcomes, "next handshake").unwrap();
    let mut next = rt.block_on(next).unwrap().unwrap();
    rt.block_on(echo_once(&mut next, b"still here"));
    assert_eq!(pool.outstanding(), 0);
}

/// A key implementation that panics fails that handshake (the engine takes
/// it as an invalid ClientKeyExchange: bad_record_mac at the client's
/// Finished), not the pool: its only thread serves the next handshake.
#[test]
fn a_panicking_key_fails_its_handshake_not_the_pool() {
    let (key, _) = TestKey::new(false);
    key.panics.store(1, Ordering::SeqCst);
    let pool = KeyPool::new(1).unwrap();
    let (addr, outcomes) = server_thread(offloading_config(key.clone()), Some(pool), limits());
    let rt = client_runtime();
    let err = rt.block_on(tls_client(addr, 1)).unwrap_err();
    let server_err = next_outcome(&outcomes, "handshake with a panicking key").unwrap_err();
    let tls = rsatls::tokio::tls_error(&server_err).expect("a TLS error");
    assert_eq!(
        tls.alert(),
        Some(rsatls::msgs::enums::AlertDescription::BAD_RECORD_MAC),
        "server: {server_err}; client: {err}"
    );
    let mut next = rt.block_on(tls_client(addr, 2)).unwrap();
    next_outcome(&outcomes, "next handshake").unwrap();
    rt.block_on(echo_once(&mut next, b"still here"));
    assert_eq!(key.threads(), ["rsatls-key-0", "rsatls-key-0"]);
}

/// A pool has 1 to `MAX_KEY_THREADS` threads.
#[test]
fn a_pool_has_a_bounded_number_of_threads() {
    for bad in [0, rsatls::tokio::MAX_KEY_THREADS + 1] {
        let err = KeyPool::new(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
    let shared = KeyPool::shared().unwrap();
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(shared.threads(), cores);
    assert_eq!(KeyPool::shared().unwrap().threads(), shared.threads());
}

// ---- rsatls serve / rsatls proxy, with curl and openssl s_client ----

/// `rsatls SUB --listen 127.0.0.1:0 ARGS...`, once it printed `listening on`.
fn rsatls(sub: &str, args: &[&str]) -> (Peer, SocketAddr) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args([sub, "--listen", "127.0.0.1:0"]).args(args);
    let peer = Peer::spawn(format!("rsatls {sub} {}", args.join(" ")), &mut cmd);
    let line = peer.wait_line(Out::Stdout, "listening on ", STEP);
    let addr = line["listening on ".len()..].parse().unwrap();
    (peer, addr)
}

/// The names of a process's threads (Linux: /proc/PID/task/*/comm).
fn thread_names(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    names.sort();
    names
}

/// A plain TCP upstream for the proxy, one thread per connection: answers a
/// request that starts with `GET ` with a small HTTP page (for curl), and
/// echoes anything else (for s_client).
fn upstream() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            thread::spawn(move || {
                sock.set_read_timeout(Some(STEP)).unwrap();
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = sock.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if seen.starts_with(b"GET ") {
                        if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                            let page = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\
                                        Connection: close\r\n\r\nupstream page";
                            let _ = sock.write_all(page.as_bytes());
                            break;
                        }
                    } else if sock.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = sock.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// `curl` to `addr` (a `serve --http`, or a proxy in front of
/// [`upstream`]): succeeds and returns the body.
fn curl(addr: SocketAddr, pin: &str) -> String {
    let url = format!("https://localhost:{}/", addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", addr.port());
    let out = Command::new("curl")
        .args(["-sS", "-k", "--tls-max", "1.2", "--max-time", "20"])
        .args(["--pinnedpubkey", pin, "--resolve", &resolve, &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {url}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl s_client` sends `line` to `addr` and reads until the server
/// closes; returns what came back.
fn s_client_echo(addr: SocketAddr, line: &str) -> String {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-tls1_2",
            "-connect",
            &addr.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let len = line.len();
    let reader = thread::spawn(move || {
        let mut got = vec![0u8; len];
        let read = stdout.read_exact(&mut got);
        (read, got)
    });
    let deadline = Instant::now() + STEP;
    while !reader.is_finished() {
        assert!(
            Instant::now() < deadline,
            "s_client: no echo after {STEP:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (read, got) = reader.join().unwrap();
    read.unwrap_or_else(|e| panic!("s_client to {addr}: {e}"));
    String::from_utf8_lossy(&got).into_owned()
}

fn pin_of_rsa2048() -> String {
    std::fs::read_to_string(data("rsa2048.pin"))
        .unwrap()
        .trim()
        .to_string()
}

/// The key threads a server runs: `--key-threads 3` with the pool, none
/// inline.
///
/// A new thread names itself once it runs, so a thread listed before then
/// still carries the process's name: the listing is retried for a while
/// before it counts as wrong.
fn assert_key_threads(peer: &Peer, mode: &str) {
    let want: &[&str] = match mode {
        "pool" => &["rsatls-key-0", "rsatls-key-1", "rsatls-key-2"],
        _ => &[],
    };
    let deadline = Instant::now() + STEP;
    loop {
        let names = thread_names(peer.pid());
        let keys: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with("rsatls-key-"))
            .collect();
        if keys == want || Instant::now() >= deadline {
            assert_eq!(keys, want, "{mode}: threads {names:?}");
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// (e) `rsatls serve --http` and `rsatls proxy` (in front of an echo), with
/// `--private-key-ops pool` and `inline`: curl and `openssl s_client`
/// complete handshakes, and only the pool mode has key threads.
#[test]
fn serve_and_proxy_with_curl_and_s_client_in_both_modes() {
    require("curl", &["--version"]);
    require("openssl", &["version"]);
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let pin = pin_of_rsa2048();
    let upstream = upstream().to_string();
    for mode in ["pool", "inline"] {
        let mut ops = vec!["--private-key-ops", mode];
        if mode == "pool" {
            ops.extend(["--key-threads", "3"]);
        }
        let files = ["--cert", cert.as_str(), "--key", key.as_str()];

        let serve_args: Vec<&str> = [&files[..], &ops, &["--http"]].concat();
        let (serve, addr) = rsatls("serve", &serve_args);
        assert_key_threads(&serve, mode);
        let page = curl(addr, &pin);
        assert!(page.contains("Hello from rsatls"), "{mode}: {page}");
        let echo_args: Vec<&str> = [&files[..], &ops].concat();
        let (echo_server, echo_addr) = rsatls("serve", &echo_args);
        assert_eq!(s_client_echo(echo_addr, "via serve\n"), "via serve\n");
        serve.wait_for(Out::Stderr, "end=\"close_notify\"", STEP);
        drop((serve, echo_server));

        let proxy_args: Vec<&str> = [&files[..], &ops, &["--upstream", upstream.as_str()]].concat();
        let (proxy, proxy_addr) = rsatls("proxy", &proxy_args);
        assert_key_threads(&proxy, mode);
        assert_eq!(s_client_echo(proxy_addr, "via proxy\n"), "via proxy\n");
        assert_eq!(curl(proxy_addr, &pin), "upstream page", "{mode}");
        proxy.wait_for(Out::Stderr, "suite=", STEP);
    }
}
