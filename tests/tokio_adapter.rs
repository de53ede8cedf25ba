//! The tokio adapter (`rsatls::tokio`), over loopback TCP: against the engine
//! on the other side (through the adapter too), and against `openssl s_server`
//! and `openssl s_client` (peers bounded by `interop/harness.rs`).
//!
//! Every test is bounded in time; every address is 127.0.0.1.

#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Out, Peer, openssl_s_server, require};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::tokio::{Timeouts, TlsStream, accept, connect, tls_error};
use rsatls::{Client, ClientConfig, Error, Server, ServerAuth, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SUITES: [&Suite; 2] = [
    &TLS_RSA_WITH_AES_128_GCM_SHA256,
    &TLS_RSA_WITH_AES_256_GCM_SHA384,
];

/// OpenSSL's name for each suite, in the order of [`SUITES`].
const OPENSSL_NAMES: [&str; 2] = ["AES128-GCM-SHA256", "AES256-GCM-SHA384"];

/// Generous bound for one test step on loopback.
const STEP: Duration = Duration::from_secs(15);

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn server_config() -> Arc<ServerConfig> {
    let cert = std::fs::read(data("rsa2048.cert.pem")).unwrap();
    let key = std::fs::read(data("rsa2048.key.pem")).unwrap();
    Arc::new(
        ServerConfig::from_pem_or_der(rsatls::crypto::default_provider(), &cert, &key).unwrap(),
    )
}

/// A client that pins the committed rsa2048 key and offers only `suite`.
fn client_config(suite: &'static Suite) -> Arc<ClientConfig> {
    let pin = std::fs::read_to_string(data("rsa2048.pin")).unwrap();
    let pins = rsatls::pki::parse_pins(pin.trim()).unwrap();
    let config = ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins));
    Arc::new(config.with_suites(&[suite]).unwrap())
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Runs `f` to completion, failing the test if it takes longer than `limit`.
async fn bounded<T>(limit: Duration, what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: still running after {limit:?}"),
    }
}

/// A connected loopback TCP pair: (client side, server side).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (c, s) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (c.unwrap(), s.unwrap().0)
}

type Pair = (TlsStream<Client, TcpStream>, TlsStream<Server, TcpStream>);

/// Both sides through the adapter, handshaken over loopback TCP.
async fn established(suite: &'static Suite, client: Timeouts, server: Timeouts) -> Pair {
    let (c, s) = tcp_pair().await;
    let (c, s) = tokio::join!(
        connect(client_config(suite), Some("localhost"), c, rng(1), client),
        accept(server_config(), s, rng(2), server),
    );
    (c.expect("client handshake"), s.expect("server handshake"))
}

/// Reads until `want.len()` bytes arrived and checks them.
async fn expect_bytes(r: &mut (impl AsyncReadExt + Unpin), want: &[u8]) {
    let mut got = vec![0u8; want.len()];
    r.read_exact(&mut got).await.expect("read");
    assert!(got == want, "received bytes differ from those sent");
}

// ---------------------------------------------------------------------------
// Engine on both sides
// ---------------------------------------------------------------------------

/// A line each way with each suite, then close_notify each way: both reads end
/// cleanly (Ok, no bytes), and the negotiated suite and EMS are as configured.
#[tokio::test]
async fn round_trip_and_clean_close_both_suites() {
    bounded(STEP, "round trip", async {
        for suite in SUITES {
            let (mut client, mut server) =
                established(suite, Timeouts::default(), Timeouts::default()).await;
            let info = client.conn().handshake_info().unwrap();
            assert_eq!(info.suite.name, suite.name);
            assert!(info.extended_master_secret);
            assert_eq!(
                server.conn().handshake_info().unwrap().suite.name,
                suite.name
            );

            client.write_all(b"ping from the client").await.unwrap();
            client.flush().await.unwrap();
            expect_bytes(&mut server, b"ping from the client").await;
            server.write_all(b"pong from the server").await.unwrap();
            server.flush().await.unwrap();
            expect_bytes(&mut client, b"pong from the server").await;

            // The client's close_notify is the server's clean EOF...
            client.shutdown().await.unwrap();
            let mut rest = Vec::new();
            assert_eq!(server.read_to_end(&mut rest).await.unwrap(), 0);
            // ...and the server may still send before its own close_notify.
            server.write_all(b"last words").await.unwrap();
            server.shutdown().await.unwrap();
            client.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"last words");
            // Reading after the clean end stays a clean end.
            assert_eq!(client.read(&mut [0u8; 8]).await.unwrap(), 0);
        }
    })
    .await;
}

/// A TCP EOF without close_notify is a truncation: an `UnexpectedEof` error
/// whose inner error is `Error::UnexpectedEof`, after the data that did arrive.
#[tokio::test]
async fn truncation_is_an_unexpected_eof_error() {
    bounded(STEP, "truncation", async {
        let (mut client, mut server) =
            established(SUITES[0], Timeouts::default(), Timeouts::default()).await;
        server.write_all(b"partial").await.unwrap();
        server.flush().await.unwrap();
        // Dropped without shutdown: the transport closes, no close_notify.
        drop(server);
        let mut got = Vec::new();
        let err = client.read_to_end(&mut got).await.unwrap_err();
        assert_eq!(got, b"partial");
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
        assert_eq!(tls_error(&err), Some(&Error::UnexpectedEof));
        // Sticky: the next read says the same.
        let again = client.read(&mut [0u8; 8]).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::UnexpectedEof);

        // During the handshake too: a server that closes after the ClientHello.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let _ = sock.read(&mut [0u8; 512]).await;
        });
        let sock = TcpStream::connect(addr).await.unwrap();
        let err = connect(
            client_config(SUITES[1]),
            None,
            sock,
            rng(3),
            Timeouts::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
        peer.await.unwrap();
    })
    .await;
}

/// A peer that never answers: the handshake fails with `TimedOut` once the
/// handshake limit passes, on either side.
#[tokio::test]
async fn handshake_timeout_against_a_silent_peer() {
    bounded(STEP, "handshake timeout", async {
        let limit = Duration::from_millis(300);
        let timeouts = Timeouts {
            handshake: Some(limit),
            idle: None,
        };

        // Client side: the server accepts the TCP connection and says nothing.
        let (c, _silent_server) = tcp_pair().await;
        let start = Instant::now();
        let err = connect(client_config(SUITES[0]), None, c, rng(4), timeouts)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(start.elapsed() >= limit, "{:?}", start.elapsed());

        // Server side: a client that connects and never sends a ClientHello.
        let (_silent_client, s) = tcp_pair().await;
        let start = Instant::now();
        let err = accept(server_config(), s, rng(5), timeouts)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(start.elapsed() >= limit, "{:?}", start.elapsed());
    })
    .await;
}

/// The idle limit counts from the last byte moved: a trickle of data keeps the
/// connection alive past the limit, and silence then ends it with `TimedOut`.
#[tokio::test]
async fn idle_timeout_after_silence_not_during_activity() {
    bounded(STEP, "idle timeout", async {
        let idle = Duration::from_millis(400);
        let server_timeouts = Timeouts {
            handshake: Some(STEP),
            idle: Some(idle),
        };
        let (mut client, mut server) =
            established(SUITES[1], Timeouts::default(), server_timeouts).await;
        // Activity every 100 ms for 1.2 s, three times the limit.
        let start = Instant::now();
        let mut sent = 0;
        while start.elapsed() < 3 * idle {
            client.write_all(b"tick").await.unwrap();
            client.flush().await.unwrap();
            expect_bytes(&mut server, b"tick").await;
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(sent >= 8, "only {sent} ticks");
        // Silence: the server's pending read fails after about `idle`.
        let quiet = Instant::now();
        let err = server.read(&mut [0u8; 16]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        let waited = quiet.elapsed();
        assert!(
            waited >= idle - Duration::from_millis(120) && waited < idle * 5,
            "idle timeout fired after {waited:?}"
        );
        drop(client);
    })
    .await;
}

/// Limits too long for the clock (`Duration::MAX`) are no limits: a pending
/// read waits (it once panicked adding the idle limit to the last activity),
/// and the connection still works.
#[tokio::test]
async fn limits_beyond_the_clock_are_no_limits() {
    bounded(STEP, "Duration::MAX limits", async {
        let timeouts = Timeouts {
            handshake: Some(Duration::MAX),
            idle: Some(Duration::MAX),
        };
        let (mut client, mut server) = established(SUITES[0], timeouts, timeouts).await;
        let mut buf = [0u8; 16];
        let waited = tokio::time::timeout(Duration::from_millis(300), server.read(&mut buf)).await;
        assert!(waited.is_err(), "the read returned {waited:?}");
        client.write_all(b"still here").await.unwrap();
        client.flush().await.unwrap();
        expect_bytes(&mut server, b"still here").await;
    })
    .await;
}

/// A peer that stops reading stalls our writes; the idle limit ends them too.
#[tokio::test]
async fn idle_timeout_on_a_stalled_write() {
    bounded(STEP, "stalled write", async {
        let timeouts = Timeouts {
            handshake: Some(STEP),
            idle: Some(Duration::from_millis(300)),
        };
        let (_client_never_reads, mut server) =
            established(SUITES[0], Timeouts::default(), timeouts).await;
        let chunk = vec![0x5a; 64 * 1024];
        let mut written = 0usize;
        let err = loop {
            // Loopback socket buffers hold a few MiB; 1 GiB would mean no stall.
            assert!(written < 1 << 30, "writes never stalled");
            match server.write_all(&chunk).await {
                Ok(()) => written += chunk.len(),
                Err(e) => break e,
            }
        };
        assert_eq!(
            err.kind(),
            ErrorKind::TimedOut,
            "{err} after {written} bytes"
        );
    })
    .await;
}

/// Megabytes each way, echoed through a split client (reader and writer tasks
/// share the stream), byte for byte, with each suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_writes_echoed_both_suites() {
    bounded(Duration::from_secs(60), "large writes", async {
        let size = if cfg!(debug_assertions) {
            1 << 20
        } else {
            8 << 20
        };
        for (i, suite) in SUITES.into_iter().enumerate() {
            let idle = Timeouts {
                handshake: Some(STEP),
                idle: Some(STEP),
            };
            let (client, mut server) = established(suite, idle, idle).await;
            let echo = tokio::spawn(async move {
                let mut buf = vec![0u8; 40_000];
                loop {
                    let n = server.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    server.write_all(&buf[..n]).await?;
                }
                server.shutdown().await
            });
            let payload: Vec<u8> = (0..size)
                .map(|j| (j * 31 + i * 7 + j / 977) as u8)
                .collect();
            let (mut r, mut w) = tokio::io::split(client);
            let send = payload.clone();
            let writer = tokio::spawn(async move {
                // One call with the whole payload: the adapter takes it in slices.
                w.write_all(&send).await?;
                w.shutdown().await
            });
            let mut echoed = Vec::with_capacity(size);
            r.read_to_end(&mut echoed)
                .await
                .expect("clean end after the echo");
            writer.await.unwrap().expect("writer");
            echo.await.unwrap().expect("echo server");
            assert_eq!(echoed.len(), payload.len(), "{}", suite.name);
            assert!(echoed == payload, "{}: echoed bytes differ", suite.name);
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Against OpenSSL
// ---------------------------------------------------------------------------

/// `openssl s_server` for one connection with the committed rsa2048 key, on a
/// free loopback port; returns once it printed `ACCEPT`.
fn s_server(cipher: &str) -> (Peer, SocketAddr) {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    openssl_s_server(cipher, &cert, &key, &[], &[])
}

/// The adapter's client against s_server, each suite: a line each way, then
/// close_notify, which s_server answers (a clean EOF here) before it exits 0.
#[test]
fn connect_to_openssl_s_server() {
    for (suite, cipher) in SUITES.into_iter().zip(OPENSSL_NAMES) {
        let (mut server, addr) = s_server(cipher);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(bounded(STEP, "s_server session", async {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let mut tls = connect(client_config(suite), None, tcp, rng(6), Timeouts::default())
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", server.report()));
            assert_eq!(tls.conn().handshake_info().unwrap().suite.name, suite.name);
            server.wait_for(Out::Stdout, &format!("CIPHER is {cipher}"), STEP);

            let down = format!("from s_server {cipher}\n").to_lowercase();
            server.send(&down);
            expect_bytes(&mut tls, down.as_bytes()).await;
            let up = format!("from the tokio adapter {}\n", suite.name);
            tls.write_all(up.as_bytes()).await.unwrap();
            tls.flush().await.unwrap();
            server.wait_for(Out::Stdout, &up, STEP);

            tls.shutdown().await.unwrap();
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest)
                .await
                .unwrap_or_else(|e| panic!("no clean close: {e}\n{}", server.report()));
            assert!(rest.is_empty());
        }));
        assert_eq!(server.exit_code(STEP), 0, "{}", server.report());
    }
}

/// `openssl s_client` against the adapter's server, each suite: the session
/// printout names the suite and EMS, a short line and one longer than a record
/// come back intact, and closing s_client's stdin ends both sides cleanly.
#[test]
fn openssl_s_client_to_accept() {
    require("openssl", &["version"]);
    for (suite, cipher) in SUITES.into_iter().zip(OPENSSL_NAMES) {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        std_listener.set_nonblocking(true).unwrap();
        // The server runs on its own thread: the test thread blocks on s_client.
        let server = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(bounded(STEP * 2, "echo server", async {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let (sock, _) = listener.accept().await?;
                let mut tls = accept(server_config(), sock, rng(7), Timeouts::default()).await?;
                let name = tls.conn().handshake_info().unwrap().suite.name;
                let mut buf = vec![0u8; 4096];
                loop {
                    let n = tls.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    tls.write_all(&buf[..n]).await?;
                    tls.flush().await?;
                }
                tls.shutdown().await?;
                Ok::<_, std::io::Error>(name)
            }))
        });

        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &addr.to_string()])
            .args(["-tls1_2", "-cipher", cipher]);
        let mut c = Peer::spawn(format!("openssl s_client -cipher {cipher}"), &mut cmd);
        c.wait_line(Out::Stdout, "Extended master secret:", STEP);
        let out = c.stdout();
        for want in [
            format!("Cipher    : {cipher}"),
            "Extended master secret: yes".to_string(),
        ] {
            assert!(out.contains(&want), "no {want:?}\n{}", c.report());
        }
        // Lowercase: s_client treats lines starting with Q, R, k or K as commands.
        let short = format!("ping {cipher}\n").to_lowercase();
        c.send(&short);
        c.wait_for(Out::Stdout, &short, STEP);
        let long = format!("{}\n", "0123456789".repeat(2000));
        c.send(&long);
        c.wait_for(Out::Stdout, &long, STEP);
        c.close_stdin();
        assert_eq!(c.exit_code(STEP), 0, "{}", c.report());
        let negotiated = server
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("server: {e}\n{}", c.report()));
        assert_eq!(negotiated, suite.name);
    }
}

// ---------------------------------------------------------------------------
// Fatal alerts linger; the pump
// ---------------------------------------------------------------------------

/// A peer that sends a bad record header (more than 2^14 + 2048 bytes
/// announced: record_overflow) and then keeps sending 200 KiB: `accept` fails
/// with the alert sent, and the peer's writes are not answered with a reset
/// (the adapter shut its write side and drains), so it sees the alert and a
/// clean FIN.
#[tokio::test]
async fn fatal_alert_lingers_for_a_peer_still_sending() {
    let (mut peer, s) = tcp_pair().await;
    let server = tokio::spawn(accept(server_config(), s, rng(2), Timeouts::default()));
    bounded(STEP, "bad header, alert, burst", async {
        peer.write_all(&[0x16, 0x03, 0x03, 0xff, 0xff])
            .await
            .unwrap();
        let mut alert = [0u8; 7];
        peer.read_exact(&mut alert).await.unwrap();
        assert_eq!(alert, [21, 3, 3, 0, 2, 2, 22], "fatal record_overflow");
        // Without the linger, the server's socket is closed by now.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let chunk = [0x41u8; 16 * 1024];
        for i in 0..200 / 16 {
            if let Err(e) = peer.write_all(&chunk).await {
                panic!("reset after the alert (chunk {i}): {e}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        peer.shutdown().await.unwrap();
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest)
            .await
            .expect("a FIN, not a reset");
        assert!(rest.is_empty());
    })
    .await;
    let err = bounded(STEP, "accept", server).await.unwrap().unwrap_err();
    assert_eq!(tls_error(&err), Some(&Error::RecordOverflow), "{err}");
}

/// A bad record header to a fresh `accept` with `timeouts`, from a peer that
/// then neither sends nor closes. Returns accept's error and how long it took,
/// after checking that the peer read the alert and then the FIN.
async fn accept_a_bad_header(timeouts: Timeouts) -> (std::io::Error, Duration) {
    let (mut peer, s) = tcp_pair().await;
    let started = Instant::now();
    let server = tokio::spawn(accept(server_config(), s, rng(2), timeouts));
    peer.write_all(&[0x16, 0x03, 0x03, 0xff, 0xff])
        .await
        .unwrap();
    let err = bounded(STEP, "accept", server).await.unwrap().unwrap_err();
    let took = started.elapsed();
    let mut got = Vec::new();
    bounded(STEP, "peer read", peer.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(got, [21, 3, 3, 0, 2, 2, 22]);
    (err, took)
}

/// The linger is bounded in time: a peer that neither sends nor closes after
/// the alert holds the failing side for about a second, not for ever.
#[tokio::test]
async fn fatal_alert_linger_ends_after_a_second() {
    let (err, took) = accept_a_bad_header(Timeouts::NONE).await;
    assert_eq!(tls_error(&err), Some(&Error::RecordOverflow), "{err}");
    assert!(took < Duration::from_secs(3), "lingered {took:?}");
}

/// A handshake limit shorter than the linger ends the linger, not the verdict:
/// the error is still the alert's, not `TimedOut` (found by CI as a flaky
/// `rsatls serve` log test: a client that sent HTTP and stayed connected was
/// logged `end="timeout"` whenever its bytes came a tick after the accept).
/// How soon accept returns is not asserted: a wall-clock bound flakes on a
/// shared machine.
#[tokio::test]
async fn a_handshake_limit_inside_the_linger_reports_the_alert() {
    let (err, _) = accept_a_bad_header(Timeouts {
        handshake: Some(Duration::from_millis(100)),
        idle: None,
    })
    .await;
    assert_eq!(tls_error(&err), Some(&Error::RecordOverflow), "{err}");
}

/// The same for the idle limit once established: a peer that sends a bad
/// record and stays connected gets the alert, and the read reports it.
#[tokio::test]
async fn an_idle_limit_inside_the_linger_reports_the_alert() {
    bounded(STEP, "idle inside linger", async {
        let server_timeouts = Timeouts {
            handshake: Some(STEP),
            idle: Some(Duration::from_millis(100)),
        };
        let (mut client, mut server) =
            established(SUITES[0], Timeouts::default(), server_timeouts).await;
        // Straight onto the transport: a header announcing more than 2^14 + 2048.
        client
            .get_mut()
            .write_all(&[0x17, 0x03, 0x03, 0xff, 0xff])
            .await
            .unwrap();
        let err = server.read(&mut [0u8; 16]).await.unwrap_err();
        assert_eq!(tls_error(&err), Some(&Error::RecordOverflow), "{err}");
        drop(client);
    })
    .await;
}

/// `pump` when the peer closes first: its data reaches the output, our
/// close_notify answers its close (the peer's read ends cleanly), and pump
/// returns although the input never ended.
#[tokio::test]
async fn pump_ends_when_the_peer_closes_first() {
    let (mut client, mut server) = established(
        &TLS_RSA_WITH_AES_128_GCM_SHA256,
        Timeouts::default(),
        Timeouts::default(),
    )
    .await;
    // The input: a pipe whose writing end stays open (no EOF).
    let (_input_writer, input) = tokio::io::duplex(64);
    let (output, mut output_reader) = tokio::io::duplex(1 << 16);
    let peer = tokio::spawn(async move {
        server.write_all(b"bye").await.unwrap();
        server.shutdown().await.unwrap();
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.map(|_| rest)
    });
    let (sent, received) = bounded(
        STEP,
        "pump",
        rsatls::tokio::pump(&mut client, input, output),
    )
    .await
    .unwrap();
    assert_eq!((sent, received), (0, 3));
    let mut out = Vec::new();
    output_reader.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, b"bye");
    let rest = bounded(STEP, "peer", peer).await.unwrap();
    assert_eq!(rest.expect("the peer saw our close_notify").len(), 0);
}

/// `timeouts()` reports what the stream was made with, on both sides.
#[tokio::test]
async fn timeouts_reports_the_configured_limits() {
    let client = Timeouts {
        handshake: Some(Duration::from_secs(13)),
        idle: Some(Duration::from_secs(17)),
    };
    let (c, s) = bounded(
        STEP,
        "handshake",
        established(SUITES[0], client, Timeouts::NONE),
    )
    .await;
    assert_eq!(c.timeouts(), client);
    assert_eq!(s.timeouts(), Timeouts::NONE);
}

// ---------------------------------------------------------------------------
// What the adapter does to its transport, seen through a tap
// ---------------------------------------------------------------------------

/// What a [`Tap`] saw, shared with the test after the stream is gone.
#[derive(Default)]
struct Seen {
    /// Every byte written to the transport, in order.
    written: Vec<u8>,
    /// Bytes returned by reads.
    read: usize,
    /// Reads that returned end-of-file.
    eof_reads: usize,
    /// Calls to `poll_shutdown`.
    shutdowns: usize,
}

/// A transport that records what the adapter does to it.
struct Tap<IO> {
    io: IO,
    seen: Arc<std::sync::Mutex<Seen>>,
}

impl<IO> Tap<IO> {
    fn new(io: IO) -> (Self, Arc<std::sync::Mutex<Seen>>) {
        let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
        (
            Self {
                io,
                seen: Arc::clone(&seen),
            },
            seen,
        )
    }
}

impl<IO: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Tap<IO> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.io).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = poll {
            let n = buf.filled().len() - before;
            let mut seen = self.seen.lock().unwrap();
            seen.read += n;
            if n == 0 {
                seen.eof_reads += 1;
            }
        }
        poll
    }
}

impl<IO: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Tap<IO> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.io).poll_write(cx, data);
        if let std::task::Poll::Ready(Ok(n)) = poll {
            self.seen
                .lock()
                .unwrap()
                .written
                .extend_from_slice(&data[..n]);
        }
        poll
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.seen.lock().unwrap().shutdowns += 1;
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The (content type, length) of each record in `wire`, which must hold whole
/// records.
fn records(wire: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        assert!(rest.len() >= 5, "a cut record header");
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        assert!(rest.len() >= 5 + len, "a cut record");
        out.push((rest[0], len));
        rest = &rest[5 + len..];
    }
    out
}

/// `pump` reads its input a full record at a time (so 64 KiB go out as four
/// maximum-size records, not as many small ones) and counts what it sent.
#[tokio::test]
async fn pump_sends_full_records_and_counts_them() {
    bounded(STEP, "pump", async {
        let (c, s) = tokio::io::duplex(1 << 16);
        let (tap, seen) = Tap::new(c);
        let (client, server) = tokio::join!(
            connect(
                client_config(&TLS_RSA_WITH_AES_128_GCM_SHA256),
                Some("localhost"),
                tap,
                rng(1),
                Timeouts::default(),
            ),
            accept(server_config(), s, rng(2), Timeouts::default()),
        );
        let (mut client, mut server) = (client.unwrap(), server.unwrap());
        seen.lock().unwrap().written.clear();
        let peer = tokio::spawn(async move {
            let mut got = Vec::new();
            server.read_to_end(&mut got).await?;
            server.shutdown().await?;
            Ok::<_, std::io::Error>(got)
        });
        let payload: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 + i / 251) as u8).collect();
        let (sent, received) = rsatls::tokio::pump(&mut client, &payload[..], tokio::io::sink())
            .await
            .expect("pump");
        assert_eq!((sent, received), (payload.len() as u64, 0));
        let got = peer.await.unwrap().expect("peer");
        assert!(got == payload, "the peer received other bytes");
        // 2^14 bytes of data, an 8-byte explicit nonce and a 16-byte tag.
        let full = 16 * 1024 + 8 + 16;
        let wire = records(&seen.lock().unwrap().written);
        let data: Vec<usize> = wire
            .iter()
            .filter(|(kind, _)| *kind == 23)
            .map(|(_, len)| *len)
            .collect();
        assert_eq!(data, [full; 4], "application data records");
        assert_eq!(wire.last().map(|r| r.0), Some(21), "close_notify last");
    })
    .await;
}

/// A failed `accept` over a tap
/// on one end of an in-memory pipe, the peer on the other.
async fn bad_header_alert() -> (
    tokio::io::DuplexStream,
    tokio::task::JoinHandle<std::io::Result<TlsStream<Server, Tap<tokio::io::DuplexStream>>>>,
    Arc<std::sync::Mutex<Seen>>,
) {
    let (mut peer, s) = tokio::io::duplex(1 << 16);
    let (tap, seen) = Tap::new(s);
    let server = tokio::spawn(accept(server_config(), tap, rng(2), Timeouts::NONE));
    // More than 2^14 + 2048 bytes announced: record_overflow.
    peer.write_all(&[0x16, 0x03, 0x03, 0xff, 0xff])
        .await
        .unwrap();
    let mut alert = [0u8; 7];
    peer.read_exact(&mut alert).await.unwrap();
    assert_eq!(alert, [21, 3, 3, 0, 2, 2, 22], "fatal record_overflow");
    (peer, server, seen)
}

/// The linger's byte budget: after its alert the adapter shuts its write side
/// and drops exactly 256 KiB of a peer that keeps sending (without closing),
/// then gives up and reports the error.
#[tokio::test]
async fn fatal_alert_linger_drops_at_most_256_kib() {
    bounded(STEP, "linger budget", async {
        let (mut peer, server, seen) = bad_header_alert().await;
        let chunk = [0x41u8; 16 * 1024];
        // A megabyte, unless the adapter stops reading (and closes) first.
        for _ in 0..64 {
            if peer.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let Err(err) = server.await.unwrap() else {
            panic!("accept succeeded after a bad record header");
        };
        assert_eq!(tls_error(&err), Some(&Error::RecordOverflow), "{err}");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.shutdowns, 1, "write side shut after the alert");
        assert_eq!(
            seen.read,
            5 + 256 * 1024,
            "the record header, then the linger budget"
        );
    })
    .await;
}

/// The linger ends at the peer's end-of-file: one read sees it and the error
/// is reported (no spinning on a closed transport until the time limit).
#[tokio::test]
async fn fatal_alert_linger_stops_at_the_peers_eof() {
    bounded(STEP, "linger to EOF", async {
        let (mut peer, server, seen) = bad_header_alert().await;
        peer.shutdown().await.unwrap();
        let Err(err) = server.await.unwrap() else {
            panic!("accept succeeded after a bad record header");
        };
        assert_eq!(tls_error(&err), Some(&Error::RecordOverflow), "{err}");
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        let seen = seen.lock().unwrap();
        assert_eq!(seen.shutdowns, 1, "write side shut after the alert");
        assert_eq!(seen.eof_reads, 1, "reads after the peer's EOF");
    })
    .await;
}

/// Streams made with `TlsStream::new` (no handshake yet) run it on their first
/// write (client) and first read (server).
#[tokio::test]
async fn first_write_and_first_read_run_the_handshake() {
    bounded(STEP, "lazy handshake", async {
        let (c, s) = tokio::io::duplex(1 << 16);
        let conn = rsatls::ClientConnection::new_at(
            client_config(&TLS_RSA_WITH_AES_256_GCM_SHA384),
            Some("localhost"),
            rsatls::UnixTime::now(),
            rng(1),
        )
        .unwrap();
        let mut client = TlsStream::new(conn, c, Timeouts::NONE);
        let mut server = TlsStream::new(
            rsatls::ServerConnection::new(server_config(), rng(2)),
            s,
            Timeouts::NONE,
        );
        assert!(!client.conn().is_established());
        // try_join: a failed write ends the test at once (the read would wait).
        let ((), read) = tokio::try_join!(
            async {
                client.write_all(b"first").await?;
                client.flush().await
            },
            async {
                let mut got = [0u8; 5];
                server.read_exact(&mut got).await.map(|_| got)
            },
        )
        .expect("client write and server read");
        assert_eq!(&read, b"first");
        assert!(client.conn().is_established() && server.conn().is_established());
    })
    .await;
}

/// `flush` returns only once every byte is on the transport: a record larger
/// than the transport's buffer is written in part by `write`, and the rest by
/// `flush` as the peer reads.
#[tokio::test]
async fn flush_waits_until_the_transport_took_everything() {
    bounded(STEP, "flush", async {
        let (c, s) = tokio::io::duplex(4096);
        let (tap, seen) = Tap::new(c);
        let (client, server) = tokio::join!(
            connect(
                client_config(&TLS_RSA_WITH_AES_128_GCM_SHA256),
                Some("localhost"),
                tap,
                rng(1),
                Timeouts::NONE,
            ),
            accept(server_config(), s, rng(2), Timeouts::NONE),
        );
        let (mut client, mut server) = (client.unwrap(), server.unwrap());
        seen.lock().unwrap().written.clear();
        let peer = tokio::spawn(async move {
            let mut got = vec![0u8; 16 * 1024];
            server.read_exact(&mut got).await.map(|_| got)
        });
        let payload = [0x5au8; 16 * 1024];
        let taken = client.write(&payload).await.expect("write");
        assert_eq!(taken, payload.len(), "one whole record taken");
        assert!(
            seen.lock().unwrap().written.len() < 5 + 16 * 1024,
            "the transport took the record at once: this test needs a smaller pipe"
        );
        client.flush().await.expect("flush");
        // Header, 8-byte explicit nonce, data, 16-byte tag.
        assert_eq!(seen.lock().unwrap().written.len(), 5 + 8 + 16 * 1024 + 16);
        let got = peer.await.unwrap().expect("peer read");
        assert!(got == payload, "the peer received other bytes");
    })
    .await;
}

/// A transport whose `shutdown` does nothing: the peer's close_notify arrives
/// but its end stays open (no end-of-file).
struct NoFin<IO>(IO);

impl<IO: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for NoFin<IO> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<IO: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for NoFin<IO> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The peer's close_notify alone ends our reads cleanly: its transport may
/// stay open (RFC 5246 §7.2.1 does not ask it to close).
#[tokio::test]
async fn close_notify_ends_reads_without_a_transport_eof() {
    bounded(STEP, "close_notify without FIN", async {
        let (c, s) = tokio::io::duplex(1 << 16);
        let (client, server) = tokio::join!(
            connect(
                client_config(&TLS_RSA_WITH_AES_128_GCM_SHA256),
                Some("localhost"),
                NoFin(c),
                rng(1),
                Timeouts::NONE,
            ),
            accept(server_config(), s, rng(2), Timeouts::NONE),
        );
        let (mut client, mut server) = (client.unwrap(), server.unwrap());
        client.write_all(b"bye").await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        server
            .read_to_end(&mut got)
            .await
            .expect("a clean end at close_notify");
        assert_eq!(got, b"bye");
        // The client's end of the pipe is still open here.
        drop(client);
    })
    .await;
}

/// A record read in two parts: a small read, then a large buffer that gets
/// exactly the rest.
#[tokio::test]
async fn a_record_read_in_two_parts() {
    bounded(STEP, "two reads", async {
        let (mut client, mut server) = established(SUITES[0], Timeouts::NONE, Timeouts::NONE).await;
        client.write_all(b"0123456789").await.unwrap();
        let mut head = [0u8; 4];
        server.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"0123");
        let mut rest = [0u8; 100];
        let n = server.read(&mut rest).await.unwrap();
        assert_eq!(&rest[..n], b"456789");
    })
    .await;
}
