//! The server loop shared by `serve` and `proxy`, through `rsatls serve`: the
//! line each connection leaves on stderr (text and JSON, filtered like
//! `RUST_LOG`), how it says the connection ended, and SIGHUP reloading the
//! certificate and key for new clients while established ones go on.
//!
//! The server is the `rsatls` binary on a loopback port (see
//! `interop/harness.rs`); clients are the tokio adapter, `rsatls connect` and
//! raw TCP; every wait is bounded.

#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Out, RsatlsServer, rsatls_connect};
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

/// The pin of a test key pair (`tests/data/NAME.pin`).
fn pin_of(pair: &str) -> String {
    std::fs::read_to_string(data(&format!("{pair}.pin")))
        .unwrap()
        .trim()
        .to_string()
}

/// A directory of its own holding `cert.pem` and `key.pem`, which a test
/// replaces under the running server.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(test: &str, pair: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("rsatls-server-loop-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = Self { dir };
        files.install(pair);
        files
    }

    fn cert(&self) -> String {
        self.dir.join("cert.pem").to_str().unwrap().to_string()
    }

    fn key(&self) -> String {
        self.dir.join("key.pem").to_str().unwrap().to_string()
    }

    /// Puts the test pair `pair` (`tests/data/PAIR.{cert,key}.pem`) in place.
    fn install(&self, pair: &str) {
        std::fs::copy(data(&format!("{pair}.cert.pem")), self.cert()).unwrap();
        std::fs::copy(data(&format!("{pair}.key.pem")), self.key()).unwrap();
    }

    fn break_key(&self) {
        std::fs::write(self.key(), b"-----BEGIN PRIVATE KEY-----\nnot a key\n").unwrap();
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `rsatls serve` with `files`' certificate and key, `RUST_LOG=rust_log`.
fn start(files: &Files, rust_log: &str, extra: &[&str]) -> RsatlsServer {
    let (cert, key) = (files.cert(), files.key());
    let mut args = vec!["--cert", &cert, "--key", &key];
    args.extend_from_slice(extra);
    RsatlsServer::start_with_env(&args, &[("RUST_LOG", rust_log)])
}

/// `rsatls serve` with the test key rsa2048 from tests/data.
fn start_plain(rust_log: &str, extra: &[&str]) -> RsatlsServer {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let mut args = vec!["--cert", &cert, "--key", &key];
    args.extend_from_slice(extra);
    RsatlsServer::start_with_env(&args, &[("RUST_LOG", rust_log)])
}

fn kill(server: &RsatlsServer, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &server.peer.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A client on the tokio adapter that trusts `pin`, sending SNI `localhost`.
async fn client(
    addr: SocketAddr,
    pin: &str,
    seed: u64,
) -> std::io::Result<TlsStream<Client, TcpStream>> {
    let pins = rsatls::pki::parse_pins(pin).unwrap();
    let config = ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins));
    let tcp = TcpStream::connect(addr).await?;
    let timeouts = Timeouts {
        handshake: Some(STEP),
        idle: Some(STEP),
    };
    connect(
        Arc::new(config),
        Some("localhost"),
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

/// Our close_notify, then the server's.
async fn close(mut tls: TlsStream<Client, TcpStream>) {
    tls.shutdown().await.unwrap();
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

/// One clean session from `seed`: "hello\n" echoed (6 bytes each way), then
/// close_notify both ways. Returns the client's address, as the server saw it.
fn one_session(server: &RsatlsServer, seed: u64) -> SocketAddr {
    runtime().block_on(async {
        let mut tls = client(server.addr, &server.pin, seed).await.unwrap();
        let local = tls.get_ref().local_addr().unwrap();
        echo_once(&mut tls, b"hello\n").await;
        close(tls).await;
        local
    })
}

/// The first complete stderr line that contains `needle`, waiting for it.
fn line_with(server: &RsatlsServer, needle: &str) -> String {
    let find = |t: &str| -> Option<String> {
        let complete = &t[..t.rfind('\n')? + 1];
        complete
            .lines()
            .find(|l| l.contains(needle))
            .map(str::to_string)
    };
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(line) = find(&server.peer.stderr()) {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no line with {needle:?}\n{}",
            server.peer.report()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGHUP re-reads --cert/--key: the next client sees the new key (its pin;
/// the old pin is refused), while a connection made before goes on echoing
/// with the old one and closes cleanly.
#[test]
fn sighup_reload_serves_the_new_certificate_to_new_clients_only() {
    let files = Files::new("reload", "rsa2048");
    let server = start(&files, "info", &[]);
    assert_eq!(server.pin, pin_of("rsa2048"));
    runtime().block_on(async {
        let mut old = client(server.addr, &pin_of("rsa2048"), 1).await.unwrap();
        echo_once(&mut old, b"before the reload\n").await;

        files.install("other2048");
        kill(&server, "HUP");
        let reloaded = line_with(&server, "certificates and keys reloaded");
        assert!(reloaded.contains(&pin_of("other2048")), "{reloaded}");

        let mut new = client(server.addr, &pin_of("other2048"), 2).await.unwrap();
        echo_once(&mut new, b"after the reload\n").await;
        let refused = client(server.addr, &pin_of("rsa2048"), 3).await;
        assert!(
            refused.is_err(),
            "the old key is still served to new clients"
        );

        echo_once(&mut old, b"still the old session\n").await;
        close(old).await;
        close(new).await;
    });
}

/// A reload that fails (a key that does not parse) keeps the certificate and
/// key in use and says why at warn; a later good reload still works.
#[test]
fn a_failed_reload_keeps_the_old_certificate_and_warns() {
    let files = Files::new("failed-reload", "rsa2048");
    let server = start(&files, "info", &[]);
    files.break_key();
    kill(&server, "HUP");
    let warned = line_with(&server, "reload failed");
    assert!(
        warned.contains("WARN") && warned.contains(&files.key()),
        "{warned}"
    );
    // Still the old key, for old and new clients alike.
    one_session(&server, 4);

    files.install("other2048");
    kill(&server, "HUP");
    line_with(&server, "certificates and keys reloaded");
    runtime().block_on(async {
        let tls = client(server.addr, &pin_of("other2048"), 5).await.unwrap();
        close(tls).await;
    });
}

/// `--log-format json`: every stderr line is a JSON object (the key log's
/// warning too), and the connection's carries its fields with their types.
#[test]
fn json_log_lines_parse_and_carry_the_fields() {
    let files = Files::new("json", "rsa2048");
    let keylog = files.dir.join("keys.log").to_str().unwrap().to_string();
    let mut server = start(
        &files,
        "info",
        &["--log-format", "json", "--keylog", &keylog],
    );
    let local = one_session(&server, 6);
    line_with(&server, "\"end\":\"close_notify\"");
    kill(&server, "TERM");
    assert_eq!(server.peer.exit_code(STEP), 0, "{}", server.peer.report());
    let stderr = server.peer.stderr();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let conn: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["message"] == "connection")
        .collect();
    assert_eq!(conn.len(), 1, "{stderr}");
    let conn = conn[0];
    assert_eq!(conn["level"], "INFO");
    assert_eq!(conn["peer"], local.to_string());
    assert_eq!(conn["sni"], "localhost");
    assert!(
        conn["suite"]
            .as_str()
            .is_some_and(|s| s.starts_with("TLS_RSA_WITH_AES_")),
        "{conn}"
    );
    assert_eq!(conn["ems"], true);
    assert!(conn["handshake_ms"].is_u64(), "{conn}");
    assert!(conn["duration_ms"].is_u64(), "{conn}");
    assert_eq!(conn["bytes_in"], 6);
    assert_eq!(conn["bytes_out"], 6);
    assert_eq!(conn["end"], "close_notify");
    assert!(conn.get("error").is_none(), "{conn}");
    // No --client-ca: nothing is said about client certificates.
    assert!(conn.get("client_subject").is_none(), "{conn}");
    assert!(
        lines.iter().any(|l| l["message"] == "shutting down"),
        "{stderr}"
    );
    // The key log's warning is an event like the others.
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.contains("appending TLS secrets"))),
        "{stderr}"
    );
}

/// The text format: one line with `key=value` fields.
#[test]
fn text_log_line_carries_the_fields() {
    let server = start_plain("info", &[]);
    let local = one_session(&server, 7);
    let line = line_with(&server, &format!("peer={local} "));
    for field in [
        " INFO ",
        " connection ",
        "sni=\"localhost\"",
        "suite=\"TLS_RSA_WITH_AES_",
        "ems=true",
        "handshake_ms=",
        "bytes_in=6 ",
        "bytes_out=6 ",
        "end=\"close_notify\"",
    ] {
        assert!(line.contains(field), "{field:?} missing from {line}");
    }
    assert!(!line.contains("error="), "{line}");
}

/// `RUST_LOG=warn` hides the info lines (connections, shutting down) and
/// keeps the warnings.
#[test]
fn rust_log_warn_hides_connection_lines() {
    let files = Files::new("rust-log", "rsa2048");
    let mut server = start(&files, "warn", &[]);
    one_session(&server, 8);
    files.break_key();
    kill(&server, "HUP");
    line_with(&server, "reload failed");
    kill(&server, "TERM");
    assert_eq!(server.peer.exit_code(STEP), 0, "{}", server.peer.report());
    let stderr = server.peer.stderr();
    assert!(!stderr.contains("connection"), "{stderr}");
    assert!(!stderr.contains(" INFO "), "{stderr}");
}

/// How connections end, as the line says: close_notify, truncated (the
/// client process was killed), alert NAME (a client that is not TLS), peer
/// alert NAME (a client that refuses the server's key), timeout (a client
/// that never says hello, --handshake-timeout 1) and shutdown (SIGTERM on an
/// established connection). The server serves on through all of them.
#[test]
fn each_end_reason_is_logged() {
    let mut server = start_plain("info", &["--handshake-timeout", "1"]);
    let addr = server.addr.to_string();

    let clean = one_session(&server, 9);
    let line = line_with(&server, &format!("peer={clean} "));
    assert!(line.contains("end=\"close_notify\""), "{line}");

    let killed = rsatls_connect(&["--pin", &server.pin, &addr]);
    killed.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    let status = Command::new("kill")
        .args(["-KILL", &killed.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let line = line_with(&server, "end=\"truncated\"");
    assert!(line.contains("handshake_ms="), "{line}");

    runtime().block_on(async {
        // Plaintext HTTP where a ClientHello should be.
        let mut http = TcpStream::connect(server.addr).await.unwrap();
        let http_peer = http.local_addr().unwrap();
        http.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
        let _ = http.read_to_end(&mut Vec::new()).await;
        let line = line_with(&server, &format!("peer={http_peer} "));
        assert!(line.contains("end=\"alert "), "{line}");
        assert!(!line.contains("handshake_ms="), "{line}");

        // A client pinned to another key refuses the server's certificate.
        let refused = client(server.addr, &pin_of("other2048"), 10).await;
        assert!(refused.is_err());
        line_with(&server, "end=\"peer alert bad_certificate\"");

        let silent = TcpStream::connect(server.addr).await.unwrap();
        let silent_peer = silent.local_addr().unwrap();
        let line = line_with(&server, &format!("peer={silent_peer} "));
        assert!(line.contains("end=\"timeout\""), "{line}");
        assert!(line.contains("handshake timed out"), "{line}");

        let mut last = client(server.addr, &server.pin, 11).await.unwrap();
        let last_peer = last.get_ref().local_addr().unwrap();
        echo_once(&mut last, b"until the signal\n").await;
        kill(&server, "TERM");
        let mut rest = Vec::new();
        tokio::time::timeout(STEP, last.read_to_end(&mut rest))
            .await
            .expect("no close_notify after SIGTERM")
            .expect("a clean end after SIGTERM");
        let line = line_with(&server, &format!("peer={last_peer} "));
        assert!(line.contains("end=\"shutdown\""), "{line}");
    });
    assert_eq!(server.peer.exit_code(STEP), 0, "{}", server.peer.report());
}

/// `rsatls connect --pin PIN ADDR` with a client certificate from tests/data/mtls.
fn connect_with_client_cert(server: &RsatlsServer, client: &str) -> harness::Peer {
    let (cert, key) = (
        data(&format!("mtls/{client}.cert.pem")),
        data(&format!("mtls/{client}.key.pem")),
    );
    let addr = server.addr.to_string();
    rsatls_connect(&["--pin", &server.pin, "--cert", &cert, "--key", &key, &addr])
}

/// SIGHUP re-reads --client-ca too: a client of the new CA gets in, one of
/// the old CA no longer does.
#[test]
fn sighup_reload_rereads_the_client_ca() {
    let files = Files::new("client-ca", "rsa2048");
    let ca = files.dir.join("ca.pem").to_str().unwrap().to_string();
    std::fs::copy(data("mtls/ca.cert.pem"), &ca).unwrap();
    let server = start(&files, "info", &["--client-ca", &ca]);

    let mut refused = connect_with_client_cert(&server, "other-client");
    assert_eq!(refused.exit_code(STEP), 1, "{}", refused.report());
    line_with(&server, "end=\"alert unknown_ca\"");

    std::fs::copy(data("mtls/other-ca.cert.pem"), &ca).unwrap();
    kill(&server, "HUP");
    line_with(&server, "certificates and keys reloaded");

    let mut admitted = connect_with_client_cert(&server, "other-client");
    admitted.send("of the new CA\n");
    admitted.wait_for(Out::Stdout, "of the new CA\n", STEP);
    admitted.close_stdin();
    assert_eq!(admitted.exit_code(STEP), 0, "{}", admitted.report());
    line_with(&server, "client_subject=\"CN=rsatls other client");

    let mut old_ca = connect_with_client_cert(&server, "client");
    assert_eq!(old_ca.exit_code(STEP), 1, "{}", old_ca.report());
    assert!(
        old_ca.stderr().contains("unknown_ca"),
        "{}",
        old_ca.report()
    );
}

/// Without --cert the key is ephemeral: SIGHUP has nothing to re-read, says
/// so, and the same key goes on being served.
#[test]
fn sighup_without_cert_keeps_the_ephemeral_key() {
    let server = RsatlsServer::start_with_env(&[], &[("RUST_LOG", "info")]);
    kill(&server, "HUP");
    line_with(&server, "keeping the ephemeral key");
    one_session(&server, 12);
}

/// SIGHUP re-reads the --key-pass-file too: with a wrong passphrase there the
/// reload fails (and the key still served is the old one); with the right one
/// back it succeeds.
#[test]
fn sighup_reload_rereads_the_passphrase_file() {
    let files = Files::new("key-pass", "rsa2048");
    std::fs::copy(data("rsa2048.key.enc.pem"), files.key()).unwrap();
    let pass = files.dir.join("pass").to_str().unwrap().to_string();
    std::fs::write(&pass, "rsatls-test\n").unwrap();
    let server = start(&files, "info", &["--key-pass-file", &pass]);

    std::fs::write(&pass, "not-the-passphrase\n").unwrap();
    kill(&server, "HUP");
    let warned = line_with(&server, "reload failed");
    assert!(warned.contains(&files.key()), "{warned}");
    assert!(
        !warned.contains("horse"),
        "the passphrase is logged: {warned}"
    );
    one_session(&server, 13);

    std::fs::write(&pass, "rsatls-test\n").unwrap();
    kill(&server, "HUP");
    line_with(&server, "certificates and keys reloaded");
    one_session(&server, 14);
}

/// One HTTP response from `tls`: its head, then `Content-Length` bytes of body.
async fn http_response(tls: &mut TlsStream<Client, TcpStream>) -> Vec<u8> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(tls.read(&mut byte).await.unwrap(), 1, "{got:?}");
        got.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&got).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("Content-Length");
    let mut body = vec![0u8; len];
    tls.read_exact(&mut body).await.unwrap();
    got.extend_from_slice(&body);
    got
}

/// The server's close_notify (read returns 0) with nothing more before it.
async fn server_closes(tls: &mut TlsStream<Client, TcpStream>) {
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

/// `serve --http`: an HTTP/1.1 connection stays open for the next request
/// until one says `Connection: close`; HTTP/1.0 closes after one answer; a head
/// over 16 KiB gets 431 and a close. Each connection's line counts the bytes of
/// the requests (in) and of the answers (out) exactly.
#[test]
fn http_keeps_1_1_open_closes_1_0_and_counts_the_bytes() {
    let server = start_plain("info", &["--http", "--log-format", "json"]);
    let first: &[u8] = b"GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let second: &[u8] = b"GET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let old: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
    let mut too_long = b"GET / HTTP/1.1\r\nX: ".to_vec();
    too_long.resize(17 * 1024, b'a');
    let expected = runtime().block_on(async {
        let mut expected = Vec::new();
        // HTTP/1.1: two requests on one connection, the second asking to close.
        let mut tls = client(server.addr, &server.pin, 21).await.unwrap();
        let local = tls.get_ref().local_addr().unwrap();
        let mut out = 0;
        for request in [first, second] {
            tls.write_all(request).await.unwrap();
            tls.flush().await.unwrap();
            let response = http_response(&mut tls).await;
            assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "{response:?}");
            out += response.len();
        }
        server_closes(&mut tls).await;
        expected.push((local, first.len() + second.len(), out));
        // HTTP/1.0: one answer, then the server closes.
        let mut tls = client(server.addr, &server.pin, 22).await.unwrap();
        let local = tls.get_ref().local_addr().unwrap();
        tls.write_all(old).await.unwrap();
        tls.flush().await.unwrap();
        let response = http_response(&mut tls).await;
        assert!(response.starts_with(b"HTTP/1.0 200 OK\r\n"), "{response:?}");
        server_closes(&mut tls).await;
        expected.push((local, old.len(), response.len()));
        // A head over 16 KiB: 431, then the server closes.
        let mut tls = client(server.addr, &server.pin, 23).await.unwrap();
        let local = tls.get_ref().local_addr().unwrap();
        tls.write_all(&too_long).await.unwrap();
        tls.flush().await.unwrap();
        let response = http_response(&mut tls).await;
        assert!(response.starts_with(b"HTTP/1.1 431 "), "{response:?}");
        server_closes(&mut tls).await;
        expected.push((local, too_long.len(), response.len()));
        expected
    });
    for (local, bytes_in, bytes_out) in expected {
        let line = line_with(&server, &format!("\"peer\":\"{local}\""));
        let conn: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(conn["bytes_in"], bytes_in as u64, "{line}");
        assert_eq!(conn["bytes_out"], bytes_out as u64, "{line}");
        assert_eq!(conn["end"], "close_notify", "{line}");
    }
}
