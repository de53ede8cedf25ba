//! Load: hundreds of concurrent TLS clients against an in-process echo server,
//! both on the tokio adapter, over loopback TCP, with every byte of every echo
//! checked and the live heap measured by a counting global allocator.
//!
//! The clients of a wave all hold an established, already-echoed connection at
//! the same moment (a barrier), then each sends a message larger than a record,
//! checks its echo, closes with close_notify and reads the server's. Live heap
//! bytes (every thread's, counted by the `cap` allocator; not RSS, which glibc
//! does not give back) are measured after a warm-up wave, which sizes the
//! runtime's and allocator's pools, and after each of two measured waves: a leak
//! beyond a small fixed [`SLACK_BYTES`] fails the test.
//!
//! Bounded: 512 clients a wave in release builds (64 in debug builds, where RSA
//! is slower), three waves, at most [`WAVE_LIMIT`] each; loopback only.
//! `cargo test --release --test load -- --nocapture` prints the figures.

use std::alloc::System;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cap::Cap;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::suites::{TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::tokio::{Timeouts, accept, connect};
use rsatls::{ClientConfig, ServerAuth, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, Notify};

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// Concurrent clients per wave.
const CLIENTS: usize = if cfg!(debug_assertions) { 64 } else { 512 };
/// No wave may take longer than this.
const WAVE_LIMIT: Duration = Duration::from_secs(120);
/// How far live heap may drift from the baseline after a wave: 8 KiB, against
/// about 200 bytes of jitter seen in the runtime's internal queues. A leak of
/// 16 bytes per connection (the smallest allocation there is) exceeds it at 512
/// clients a wave, and of 128 bytes at the 64 of a debug build.
const SLACK_BYTES: usize = 8 * 1024;
/// Generous limits: this test is about load, not about timeouts, but the idle
/// timer is armed on every connection so that its allocations are counted too.
const TIMEOUTS: Timeouts = Timeouts {
    handshake: Some(Duration::from_secs(90)),
    idle: Some(Duration::from_secs(90)),
};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Live connections on the server, and the most seen at once.
#[derive(Default)]
struct Gauge {
    live: AtomicUsize,
    peak: AtomicUsize,
    idle: Notify,
}

impl Gauge {
    fn up(&self) {
        let now = self.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn down(&self) {
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.live.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The echo server: a task per connection, counted by `gauge` from accept to
/// the end of its task.
async fn serve(listener: TcpListener, config: Arc<ServerConfig>, gauge: Arc<Gauge>) {
    let mut seed = 1u64 << 32;
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            continue;
        };
        seed += 1;
        let (config, gauge) = (config.clone(), gauge.clone());
        gauge.up();
        tokio::spawn(async move {
            if let Err(e) = echo_one(sock, config, seed).await {
                eprintln!("server connection failed: {e}");
            }
            gauge.down();
        });
    }
}

async fn echo_one(sock: TcpStream, config: Arc<ServerConfig>, seed: u64) -> io::Result<()> {
    sock.set_nodelay(true)?;
    let mut tls = accept(config, sock, ChaCha20Rng::seed_from_u64(seed), TIMEOUTS).await?;
    let mut buf = vec![0u8; 16384];
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return tls.shutdown().await;
        }
        tls.write_all(&buf[..n]).await?;
        tls.flush().await?;
    }
}

/// Bytes that differ per client and per message.
fn pattern(client: usize, message: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i.wrapping_mul(131) ^ client.wrapping_mul(7919) ^ (message << 5) ^ (i >> 8)) as u8
        })
        .collect()
}

async fn echo_check(
    tls: &mut (impl AsyncReadExt + AsyncWriteExt + Unpin),
    sent: &[u8],
) -> io::Result<()> {
    tls.write_all(sent).await?;
    tls.flush().await?;
    let mut back = vec![0u8; sent.len()];
    tls.read_exact(&mut back).await?;
    match back == sent {
        true => Ok(()),
        false => Err(io::Error::other("echoed bytes differ from those sent")),
    }
}

/// One client: handshake, a small echo, the barrier, a multi-record echo,
/// close_notify each way. Returns the bytes echoed and checked.
async fn client(
    addr: SocketAddr,
    id: usize,
    config: Arc<ClientConfig>,
    barrier: Arc<Barrier>,
) -> io::Result<usize> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let rng = ChaCha20Rng::seed_from_u64(id as u64);
    let mut tls = connect(config, Some("localhost"), tcp, rng, TIMEOUTS).await?;
    let first = pattern(id, 0, 100 + id % 900);
    echo_check(&mut tls, &first).await?;
    // Everyone holds an established connection here at the same time.
    barrier.wait().await;
    let second = pattern(id, 1, 20_000 + id % 5_000);
    echo_check(&mut tls, &second).await?;
    tls.shutdown().await?;
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).await?;
    if !rest.is_empty() {
        return Err(io::Error::other("data after the echo"));
    }
    Ok(first.len() + second.len())
}

struct Wave {
    peak_connections: usize,
    bytes_checked: usize,
    elapsed: Duration,
    live_after: usize,
}

async fn wave(
    addr: SocketAddr,
    configs: &[Arc<ClientConfig>; 2],
    gauge: &Gauge,
    first_id: usize,
) -> Wave {
    let start = Instant::now();
    gauge.peak.store(0, Ordering::SeqCst);
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let id = first_id + i;
        clients.spawn(client(addr, id, configs[id % 2].clone(), barrier.clone()));
    }
    let mut bytes_checked = 0;
    let finished = tokio::time::timeout(WAVE_LIMIT, async {
        while let Some(done) = clients.join_next().await {
            bytes_checked += done.expect("client task").expect("client");
        }
        gauge.wait_idle().await;
    })
    .await;
    assert!(
        finished.is_ok(),
        "wave not done after {WAVE_LIMIT:?}: {} clients left, {} server connections live",
        clients.len(),
        gauge.live.load(Ordering::SeqCst)
    );
    drop(clients);
    let elapsed = start.elapsed();
    // Let the I/O driver release the closed sockets' registrations.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Wave {
        peak_connections: gauge.peak.load(Ordering::SeqCst),
        bytes_checked,
        elapsed,
        live_after: ALLOC.allocated(),
    }
}

/// The process's soft limit on open files, from /proc (Linux).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[test]
fn hundreds_of_concurrent_clients_echo_and_leave_no_heap_behind() {
    // Two sockets per connection (both ends are in this process), plus slack.
    if let Some(limit) = open_files_limit() {
        assert!(
            limit >= 2 * CLIENTS + 64,
            "the open-files limit ({limit}) is below what {CLIENTS} connections need; raise it (ulimit -n)"
        );
    }
    let cert = std::fs::read(data("rsa2048.cert.pem")).unwrap();
    let key = std::fs::read(data("rsa2048.key.pem")).unwrap();
    let provider = rsatls::crypto::default_provider();
    let server_config =
        Arc::new(ServerConfig::from_pem_or_der(provider.clone(), &cert, &key).unwrap());
    let pin = std::fs::read_to_string(data("rsa2048.pin")).unwrap();
    let client_config = |suite| {
        let pins = rsatls::pki::parse_pins(pin.trim()).unwrap();
        let config = ClientConfig::new(provider.clone(), ServerAuth::Pins(pins));
        Arc::new(config.with_suites(&[suite]).unwrap())
    };
    let configs = [
        client_config(&TLS_RSA_WITH_AES_128_GCM_SHA256),
        client_config(&TLS_RSA_WITH_AES_256_GCM_SHA384),
    ];

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (waves, baseline) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let gauge = Arc::new(Gauge::default());
        let server = tokio::spawn(serve(listener, server_config, gauge.clone()));
        let warm_up = wave(addr, &configs, &gauge, 0).await;
        let baseline = warm_up.live_after;
        let mut waves = vec![warm_up];
        for n in 1..=2 {
            waves.push(wave(addr, &configs, &gauge, n * CLIENTS).await);
        }
        server.abort();
        (waves, baseline)
    });
    drop(runtime);

    let peak_heap = ALLOC.max_allocated();
    let slack = SLACK_BYTES;
    println!("load: {CLIENTS} concurrent clients per wave, 3 waves (the first a warm-up)");
    for (i, w) in waves.iter().enumerate() {
        println!(
            "load: wave {i}: {} connections live at once on the server, {} bytes echoed and checked, {:.2?}, live heap after {} bytes ({:+} vs baseline)",
            w.peak_connections,
            w.bytes_checked,
            w.elapsed,
            w.live_after,
            w.live_after as i64 - baseline as i64,
        );
    }
    println!(
        "load: heap baseline {baseline} bytes, peak {peak_heap} bytes, after {} bytes; allowed slack {slack} bytes",
        waves[2].live_after
    );
    for (i, w) in waves.iter().enumerate() {
        assert_eq!(w.peak_connections, CLIENTS, "wave {i}: concurrency");
    }
    for w in &waves[1..] {
        assert!(
            w.live_after.abs_diff(baseline) <= slack,
            "live heap {} bytes after a wave vs baseline {baseline}: more than {slack} bytes apart",
            w.live_after
        );
    }
    // The wave's connections, held at once, account for most of the peak.
    assert!(
        peak_heap > baseline + CLIENTS * 16 * 1024,
        "peak {peak_heap}"
    );
}
