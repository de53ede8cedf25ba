//! `rsatls serve` on tokio: the connection cap, the handshake and idle limits,
//! and a graceful stop on SIGTERM or SIGINT, seen by clients on the tokio
//! adapter. The server is the `rsatls` binary on a loopback port (see
//! `interop/harness.rs`); every wait is bounded.

#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Out, RsatlsServer};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::tokio::{Timeouts, TlsStream, connect};
use rsatls::{Client, ClientConfig, ServerAuth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STEP: Duration = Duration::from_secs(15);

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn start(extra: &[&str]) -> RsatlsServer {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let mut args = vec!["--cert", &cert, "--key", &key];
    args.extend_from_slice(extra);
    RsatlsServer::start(&args)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn client(
    addr: SocketAddr,
    pin: String,
    seed: u64,
) -> std::io::Result<TlsStream<Client, TcpStream>> {
    let pins = rsatls::pki::parse_pins(&pin).unwrap();
    let config = ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins));
    let tcp = TcpStream::connect(addr).await?;
    let timeouts = Timeouts {
        handshake: Some(STEP),
        idle: Some(STEP),
    };
    connect(
        Arc::new(config),
        None,
        tcp,
        ChaCha20Rng::seed_from_u64(seed),
        timeouts,
    )
    .await
}

async fn echo_once(tls: &mut TlsStream<Client, TcpStream>, line: &[u8]) {
    tls.write_all(line).await.unwrap();
    tls.flush().await.unwrap();
    let mut back = vec![0u8; line.len()];
    tls.read_exact(&mut back).await.unwrap();
    assert_eq!(back, line);
}

/// With `--max-connections 2`, a third client's handshake waits (its TCP
/// connection sits in the accept queue) until one of the two closes.
#[test]
fn max_connections_makes_excess_clients_wait() {
    let server = start(&["--max-connections", "2"]);
    runtime().block_on(async {
        let mut first = client(server.addr, server.pin.clone(), 1).await.unwrap();
        let mut second = client(server.addr, server.pin.clone(), 2).await.unwrap();
        echo_once(&mut first, b"one\n").await;
        echo_once(&mut second, b"two\n").await;

        let third = tokio::spawn(client(server.addr, server.pin.clone(), 3));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !third.is_finished(),
            "a third handshake completed past the cap"
        );

        // One closes (close_notify each way); its slot goes to the third.
        first.shutdown().await.unwrap();
        first.read_to_end(&mut Vec::new()).await.unwrap();
        let mut third = tokio::time::timeout(STEP, third)
            .await
            .expect("third client still waiting after a slot freed")
            .unwrap()
            .unwrap();
        echo_once(&mut third, b"three\n").await;
        echo_once(&mut second, b"two again\n").await;
    });
}

/// `--handshake-timeout 1`: a client that never says hello is disconnected;
/// `--idle-timeout 1`: an established client that goes quiet gets the
/// server's close_notify (a clean end for it).
#[test]
fn handshake_and_idle_timeouts() {
    let server = start(&["--handshake-timeout", "1", "--idle-timeout", "1"]);
    runtime().block_on(async {
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        let mut tls = client(server.addr, server.pin.clone(), 4).await.unwrap();
        echo_once(&mut tls, b"then silence\n").await;
        let quiet = Instant::now();

        let n = tokio::time::timeout(STEP, silent.read(&mut [0u8; 64]))
            .await
            .expect("silent client still connected")
            .unwrap_or(0);
        assert_eq!(
            n, 0,
            "the server sent bytes to a client that never said hello"
        );

        let mut rest = Vec::new();
        tokio::time::timeout(STEP, tls.read_to_end(&mut rest))
            .await
            .expect("idle client still connected")
            .expect("a clean close_notify after the idle limit");
        assert!(rest.is_empty());
        assert!(
            quiet.elapsed() >= Duration::from_millis(900),
            "{:?}",
            quiet.elapsed()
        );
    });
    server
        .peer
        .wait_for(Out::Stderr, "handshake timed out", STEP);
    server.peer.wait_for(Out::Stderr, "idle timeout", STEP);
}

/// SIGTERM (then, on a second server, SIGINT) with an established client:
/// the client gets close_notify, a clean end, and the server exits 0.
#[test]
fn sigterm_and_sigint_close_clients_cleanly_and_exit_0() {
    for sig in ["TERM", "INT"] {
        let mut server = start(&[]);
        runtime().block_on(async {
            let mut tls = client(server.addr, server.pin.clone(), 5).await.unwrap();
            echo_once(&mut tls, b"before the signal\n").await;
            let pid = server.peer.pid().to_string();
            let status = Command::new("kill")
                .args([&format!("-{sig}"), &pid])
                .status()
                .unwrap();
            assert!(status.success());
            let mut rest = Vec::new();
            tokio::time::timeout(STEP, tls.read_to_end(&mut rest))
                .await
                .expect("no close after the signal")
                .unwrap_or_else(|e| {
                    assert_ne!(e.kind(), ErrorKind::UnexpectedEof, "truncated, not closed");
                    panic!("{e}")
                });
            assert!(rest.is_empty());
        });
        let code = server.peer.exit_code(STEP);
        assert_eq!(code, 0, "SIG{sig}\n{}", server.peer.report());
        assert!(server.peer.stderr().contains("shutting down"));
    }
}
