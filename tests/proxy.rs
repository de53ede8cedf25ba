//! `rsatls proxy` and `rsatls tunnel` as real processes, between real peers:
//! curl, `openssl s_client`/`s_server`, Python's `http.server`, `rsatls
//! connect`, the tokio adapter as a client, and small upstreams written here
//! (an echo, a PROXY header parser, half-closing services). Every wait is
//! bounded.

#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use harness::{Out, Peer, free_port, require};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rsatls::tokio::{Timeouts, TlsStream, connect};
use rsatls::{Client, ClientConfig, ServerAuth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The bound on every single wait.
const STEP: Duration = Duration::from_secs(20);

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pin_of_rsa2048() -> String {
    std::fs::read_to_string(data("rsa2048.pin"))
        .unwrap()
        .trim()
        .to_string()
}

/// Deterministic test data.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// `rsatls SUB --listen 127.0.0.1:0 ARGS...`, once it printed `listening on`.
struct Rsatls {
    peer: Peer,
    addr: SocketAddr,
}

fn rsatls(sub: &str, args: &[&str]) -> Rsatls {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args([sub, "--listen", "127.0.0.1:0"]).args(args);
    let peer = Peer::spawn(format!("rsatls {sub} {}", args.join(" ")), &mut cmd);
    let line = peer.wait_line(Out::Stdout, "listening on ", STEP);
    let addr = line["listening on ".len()..].parse().unwrap();
    Rsatls { peer, addr }
}

/// `rsatls proxy` with the rsa2048 test key in front of `upstream`.
fn proxy(upstream: SocketAddr, extra: &[&str]) -> Rsatls {
    let (cert, key, up) = (
        data("rsa2048.cert.pem"),
        data("rsa2048.key.pem"),
        upstream.to_string(),
    );
    let mut args = vec!["--upstream", &up, "--cert", &cert, "--key", &key];
    args.extend_from_slice(extra);
    rsatls("proxy", &args)
}

/// A TCP upstream on a loopback port: each connection runs `serve` on a
/// thread of its own.
fn upstream(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            sock.set_read_timeout(Some(STEP)).unwrap();
            sock.set_write_timeout(Some(STEP)).unwrap();
            let serve = serve.clone();
            thread::spawn(move || serve(sock));
        }
    });
    addr
}

/// Echoes until EOF, then closes its side too.
fn echo(mut sock: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = sock.read(&mut buf) {
        if n == 0 || sock.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = sock.shutdown(Shutdown::Write);
}

/// Reads everything until EOF, then answers with its length and closes:
/// it only answers if the client's end of input reached it.
fn count_then_answer(mut sock: TcpStream) {
    let mut all = Vec::new();
    if sock.read_to_end(&mut all).is_ok() {
        let _ = sock.write_all(format!("got {} bytes\n", all.len()).as_bytes());
    }
    let _ = sock.shutdown(Shutdown::Write);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The tokio adapter as a TLS client of `addr`, trusting `auth`.
async fn tls_client(
    addr: SocketAddr,
    config: ClientConfig,
    server_name: Option<&str>,
) -> (TlsStream<Client, tokio::net::TcpStream>, SocketAddr) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let timeouts = Timeouts {
        handshake: Some(STEP),
        idle: Some(STEP),
    };
    let rng = ChaCha20Rng::seed_from_u64(7);
    let tls = connect(Arc::new(config), server_name, tcp, rng, timeouts)
        .await
        .expect("handshake through the proxy");
    (tls, local)
}

fn pinned_config() -> ClientConfig {
    let pins = rsatls::pki::parse_pins(&pin_of_rsa2048()).unwrap();
    ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins))
}

// ---- curl -> proxy -> python3 -m http.server ----

/// `python3 -m http.server` serving `dir` on a free loopback port, once it
/// accepts connections.
fn http_server(dir: &std::path::Path) -> (Peer, SocketAddr) {
    require("python3", &["--version"]);
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-m", "http.server", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--directory"])
        .arg(dir);
    let peer = Peer::spawn("python3 -m http.server", &mut cmd);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + STEP;
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "http.server never listened\n{}",
            peer.report()
        );
        thread::sleep(Duration::from_millis(20));
    }
    (peer, addr)
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rsatls-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn curl_gets_pages_intact_through_proxy_from_python_http_server_with_both_suites() {
    require("curl", &["--version"]);
    let dir = scratch_dir("http");
    let page = bytes(700 * 1024, 1);
    std::fs::write(dir.join("page.bin"), &page).unwrap();
    let (_http, http_addr) = http_server(&dir);
    let proxy = proxy(http_addr, &[]);
    let pin = pin_of_rsa2048();
    for cipher in ["AES128-GCM-SHA256", "AES256-GCM-SHA384"] {
        let out = dir.join(format!("{cipher}.out"));
        let url = format!("https://localhost:{}/page.bin", proxy.addr.port());
        let resolve = format!("localhost:{}:127.0.0.1", proxy.addr.port());
        let status = Command::new("curl")
            .args(["-sS", "-k", "--tls-max", "1.2", "--ciphers", cipher])
            .args(["--pinnedpubkey", &pin, "--resolve", &resolve])
            .args([
                "--max-time",
                "20",
                "-w",
                "%{http_code} %{ssl_verify_result}",
                "-o",
            ])
            .arg(&out)
            .arg(&url)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&status.stdout);
        assert!(
            status.status.success() && said.starts_with("200"),
            "curl {cipher}: {:?} {said} {}\n{}",
            status.status,
            String::from_utf8_lossy(&status.stderr),
            proxy.peer.report()
        );
        let got = std::fs::read(&out).unwrap();
        assert!(got == page, "{cipher}: {} bytes, not the page", got.len());
        let suite = cipher.replace("AES", "AES_").replace("-GCM-", "_GCM_");
        proxy.peer.wait_for(Out::Stderr, &suite, STEP);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- openssl s_client -> proxy -> echo, 64 MiB both ways ----

#[test]
fn s_client_sends_64_mib_through_proxy_to_an_echo_and_gets_them_back() {
    const LEN: usize = 64 * 1024 * 1024;
    require("openssl", &["version"]);
    // The echo closes once it has echoed everything, which ends the session:
    // s_client (`-quiet` ignores its stdin's EOF) waits for our close_notify.
    let up = upstream(|mut sock| {
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = LEN;
        while left > 0 {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sock.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    left = left.saturating_sub(n);
                }
            }
        }
        let _ = sock.shutdown(Shutdown::Both);
    });
    let proxy = proxy(up, &[]);
    let dir = scratch_dir("bulk");
    let input = bytes(LEN, 2);
    std::fs::write(dir.join("in"), &input).unwrap();
    let mut s_client = Command::new("openssl")
        .args(["s_client", "-connect", &proxy.addr.to_string()])
        .args(["-tls1_2", "-cipher", "AES128-GCM-SHA256", "-quiet"])
        .stdin(std::fs::File::open(dir.join("in")).unwrap())
        .stdout(std::fs::File::create(dir.join("out")).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = s_client.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = s_client.kill();
            panic!(
                "s_client still running after 120 s\n{}",
                proxy.peer.report()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read(dir.join("out")).unwrap();
    assert!(
        output.len() == LEN && output == input,
        "s_client {status}: got {} of {LEN} bytes back (equal: {})\n{}",
        output.len(),
        output == input,
        proxy.peer.report()
    );
    // One log line with the bytes each way.
    proxy.peer.wait_for(
        Out::Stderr,
        &format!("bytes_in={LEN} bytes_out={LEN}"),
        STEP,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- tunnel ----

#[test]
fn tunnel_forwards_to_openssl_s_server() {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let (_s_server, addr) =
        harness::openssl_s_server("AES256-GCM-SHA384", &cert, &key, &["-rev"], &[]);
    let pin = pin_of_rsa2048();
    let target = addr.to_string();
    let tunnel = rsatls("tunnel", &["--connect", &target, "--pin", &pin]);
    let mut sock = TcpStream::connect(tunnel.addr).unwrap();
    sock.set_read_timeout(Some(STEP)).unwrap();
    sock.write_all(b"hello tunnel\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"\n") {
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "tunnel closed early\n{}", tunnel.peer.report());
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        String::from_utf8_lossy(&got).trim_end(),
        "lennut olleh",
        "\n{}",
        tunnel.peer.report()
    );
    drop(sock);
    tunnel
        .peer
        .wait_for(Out::Stderr, "TLS_RSA_WITH_AES_256_GCM_SHA384", STEP);
}

#[test]
fn tunnel_to_proxy_carries_a_half_close_from_the_client_and_back() {
    // plaintext client -> tunnel -> TLS -> proxy -> upstream: the client's
    // FIN becomes the tunnel's close_notify, which becomes the proxy's FIN to
    // the upstream; only then does the upstream answer, and its FIN comes
    // back as close_notify and then a FIN to the client.
    let up = upstream(count_then_answer);
    let proxy = proxy(up, &[]);
    let (target, pin) = (proxy.addr.to_string(), pin_of_rsa2048());
    let tunnel = rsatls("tunnel", &["--connect", &target, "--pin", &pin]);
    let mut sock = TcpStream::connect(tunnel.addr).unwrap();
    sock.set_read_timeout(Some(STEP)).unwrap();
    let request = bytes(1024 * 1024 + 5, 3);
    sock.write_all(&request).unwrap();
    sock.shutdown(Shutdown::Write).unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", tunnel.peer.report(), proxy.peer.report()));
    assert_eq!(answer, format!("got {} bytes\n", request.len()));
    for side in [&proxy, &tunnel] {
        side.peer
            .wait_for(Out::Stderr, "end=\"close_notify\"", STEP);
    }
}

// ---- half-close through proxy, each side first ----

#[test]
fn rsatls_connect_half_closes_and_still_gets_the_upstreams_answer() {
    let up = upstream(count_then_answer);
    let proxy = proxy(up, &[]);
    let (target, pin) = (proxy.addr.to_string(), pin_of_rsa2048());
    let mut client = harness::rsatls_connect(&[&target, "--pin", &pin]);
    client.send("three\nlines\nof input\n");
    // stdin's EOF: close_notify, while the upstream's answer is still to come.
    client.close_stdin();
    assert_eq!(client.exit_code(STEP), 0, "{}", client.report());
    assert_eq!(client.stdout(), "got 21 bytes\n", "{}", proxy.peer.report());
}

#[test]
fn the_upstream_closes_first_and_the_client_keeps_sending() {
    const LATE: usize = 300 * 1024;
    let (report, reports): (Sender<usize>, Receiver<usize>) = channel();
    let up = upstream(move |mut sock| {
        sock.write_all(b"hello, and goodbye\n").unwrap();
        sock.shutdown(Shutdown::Write).unwrap();
        let mut all = Vec::new();
        let _ = sock.read_to_end(&mut all);
        let _ = report.send(all.len());
    });
    let proxy = proxy(up, &[]);
    runtime().block_on(async {
        let (mut tls, _) = tls_client(proxy.addr, pinned_config(), None).await;
        let mut greeting = Vec::new();
        // Ok only at the proxy's close_notify (the upstream's FIN).
        tls.read_to_end(&mut greeting).await.unwrap();
        assert_eq!(greeting, b"hello, and goodbye\n");
        // The session is half-closed: our data still goes through.
        tls.write_all(&bytes(LATE, 4)).await.unwrap();
        tls.shutdown().await.unwrap();
    });
    let got = reports.recv_timeout(STEP).expect("the upstream's count");
    assert_eq!(got, LATE, "{}", proxy.peer.report());
    proxy
        .peer
        .wait_for(Out::Stderr, "end=\"close_notify\"", STEP);
}

// ---- upstream down ----

#[test]
fn an_upstream_that_refuses_gets_the_client_close_notify_after_the_handshake() {
    // A port nothing listens on.
    let down = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let proxy = proxy(down, &[]);
    let started = Instant::now();
    runtime().block_on(async {
        let (mut tls, _) = tls_client(proxy.addr, pinned_config(), None).await;
        let mut rest = Vec::new();
        // A clean close (close_notify), not an error and not a hang.
        tls.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
    assert!(started.elapsed() < Duration::from_secs(5));
    let log = proxy.peer.wait_for(Out::Stderr, "end=\"error\"", STEP);
    assert!(log.contains(&format!("connect {down}")), "{log}");
    // curl says so too: the handshake succeeds, the reply is empty (exit 52).
    require("curl", &["--version"]);
    let url = format!("https://127.0.0.1:{}/", proxy.addr.port());
    let out = Command::new("curl")
        .args(["-sS", "-k", "--tls-max", "1.2", "--max-time", "10", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(52), "{out:?}");
}

#[test]
fn an_upstream_that_does_not_answer_is_given_up_after_the_upstream_timeout() {
    // A listener whose backlog is full: a SYN to it goes unanswered, so the
    // connect hangs until --upstream-timeout.
    let listener = unanswering_listener();
    let proxy = proxy(listener.1, &["--upstream-timeout", "1"]);
    let started = Instant::now();
    runtime().block_on(async {
        let (mut tls, _) = tls_client(proxy.addr, pinned_config(), None).await;
        let mut rest = Vec::new();
        tls.read_to_end(&mut rest).await.unwrap();
    });
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    proxy.peer.wait_for(Out::Stderr, "end=\"error\"", STEP);
    drop(listener);
}

/// A loopback listener that never accepts, with its backlog filled, so that
/// further connects get no answer. Returns the listener, its address and the
/// connections that fill it (kept open).
fn unanswering_listener() -> (TcpListener, SocketAddr, Vec<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    // std's backlog is 128; Linux answers backlog + 1 handshakes.
    for _ in 0..200 {
        let Ok(sock) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            break;
        };
        fillers.push(sock);
    }
    (listener, addr, fillers)
}

// ---- PROXY protocol ----

/// What a test upstream read from a PROXY header.
#[derive(Debug, Default)]
struct ProxyHeader {
    /// The v1 line, without `\r\n`.
    v1_line: Option<String>,
    /// v2: source and destination.
    src: Option<SocketAddr>,
    dst: Option<SocketAddr>,
    /// v2 PP2_TYPE_SSL: client flags, verify, and its sub-TLVs.
    ssl_client: Option<u8>,
    ssl_verify: Option<u32>,
    ssl_subs: Vec<(u8, Vec<u8>)>,
    /// v2: other TLVs (type, value).
    tlvs: Vec<(u8, Vec<u8>)>,
}

/// Reads exactly one PROXY header (v1 or v2) from `sock`, checking its
/// framing as the spec defines it.
fn read_proxy_header(sock: &mut TcpStream) -> ProxyHeader {
    const SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
    let mut first = [0u8; 12];
    sock.read_exact(&mut first[..6]).unwrap();
    let mut header = ProxyHeader::default();
    if &first[..6] == b"PROXY " {
        let mut line = b"PROXY ".to_vec();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            sock.read_exact(&mut byte).unwrap();
            line.push(byte[0]);
            assert!(line.len() <= 107, "v1 line over 107 bytes");
        }
        line.truncate(line.len() - 2);
        header.v1_line = Some(String::from_utf8(line).unwrap());
        return header;
    }
    sock.read_exact(&mut first[6..]).unwrap();
    assert_eq!(&first, SIG, "neither a v1 nor a v2 header");
    let mut fixed = [0u8; 4];
    sock.read_exact(&mut fixed).unwrap();
    assert_eq!(fixed[0], 0x21, "version 2, command PROXY");
    let len = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    let mut body = vec![0u8; len];
    sock.read_exact(&mut body).unwrap();
    let addr_len = match fixed[1] {
        0x11 => 12,
        0x21 => 36,
        other => panic!("family/transport {other:#x}"),
    };
    let (addrs, mut tlvs) = body.split_at(addr_len);
    let port = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    if addr_len == 12 {
        let ip = |b: &[u8]| std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        header.src = Some(SocketAddr::from((ip(&addrs[0..4]), port(&addrs[8..10]))));
        header.dst = Some(SocketAddr::from((ip(&addrs[4..8]), port(&addrs[10..12]))));
    } else {
        let ip = |b: &[u8]| std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap());
        header.src = Some(SocketAddr::from((ip(&addrs[0..16]), port(&addrs[32..34]))));
        header.dst = Some(SocketAddr::from((ip(&addrs[16..32]), port(&addrs[34..36]))));
    }
    let split_tlv = |b: &mut &[u8]| -> (u8, Vec<u8>) {
        assert!(b.len() >= 3, "truncated TLV");
        let len = usize::from(u16::from_be_bytes([b[1], b[2]]));
        assert!(b.len() >= 3 + len, "TLV longer than the header");
        let tlv = (b[0], b[3..3 + len].to_vec());
        *b = &b[3 + len..];
        tlv
    };
    while !tlvs.is_empty() {
        let (typ, value) = split_tlv(&mut tlvs);
        if typ == 0x20 {
            assert!(
                value.len() >= 5,
                "PP2_TYPE_SSL shorter than client + verify"
            );
            header.ssl_client = Some(value[0]);
            header.ssl_verify = Some(u32::from_be_bytes(value[1..5].try_into().unwrap()));
            let mut subs = &value[5..];
            while !subs.is_empty() {
                header.ssl_subs.push(split_tlv(&mut subs));
            }
        } else {
            header.tlvs.push((typ, value));
        }
    }
    header
}

/// An upstream that parses the PROXY header, reports it, then echoes.
fn proxy_header_upstream() -> (SocketAddr, Receiver<ProxyHeader>) {
    let (tx, rx) = channel();
    let tx = std::sync::Mutex::new(tx);
    let addr = upstream(move |mut sock| {
        let header = read_proxy_header(&mut sock);
        let _ = tx.lock().unwrap().send(header);
        echo(sock);
    });
    (addr, rx)
}

/// One echo exchange through the proxy as a check that the header did not
/// eat into the data.
async fn echo_once(tls: &mut TlsStream<Client, tokio::net::TcpStream>) {
    tls.write_all(b"after the header\n").await.unwrap();
    tls.flush().await.unwrap();
    let mut buf = [0u8; 17];
    tls.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"after the header\n");
    tls.shutdown().await.unwrap();
}

#[test]
fn proxy_protocol_v1_gives_the_upstream_the_clients_address() {
    let (up, headers) = proxy_header_upstream();
    let proxy = proxy(up, &["--proxy-protocol", "v1"]);
    let local = runtime().block_on(async {
        let (mut tls, local) = tls_client(proxy.addr, pinned_config(), None).await;
        echo_once(&mut tls).await;
        local
    });
    let header = headers.recv_timeout(STEP).expect("a header");
    assert_eq!(
        header.v1_line.as_deref(),
        Some(
            format!(
                "PROXY TCP4 127.0.0.1 127.0.0.1 {} {}",
                local.port(),
                proxy.addr.port()
            )
            .as_str()
        )
    );
}

#[test]
fn proxy_protocol_v2_carries_the_tls_facts_and_the_verified_client_cn() {
    let mtls = |name: &str| data(&format!("mtls/{name}"));
    let (up, headers) = proxy_header_upstream();
    let (cert, key, ca) = (
        mtls("server.cert.pem"),
        mtls("server.key.pem"),
        mtls("ca.cert.pem"),
    );
    let up_addr = up.to_string();
    let proxy = rsatls(
        "proxy",
        &[
            "--upstream",
            &up_addr,
            "--cert",
            &cert,
            "--key",
            &key,
            "--client-ca",
            &ca,
            "--client-auth",
            "optional",
            "--proxy-protocol",
            "v2",
        ],
    );
    let roots = rsatls::pki::load_certificates(&std::fs::read(&ca).unwrap()).unwrap();
    let trusted = || {
        ClientConfig::new(
            rsatls::crypto::default_provider(),
            ServerAuth::TrustedCertificates(roots.clone()),
        )
    };
    let chain =
        rsatls::pki::load_certificates(&std::fs::read(mtls("client.cert.pem")).unwrap()).unwrap();
    let client_key =
        rsatls::pki::load_private_key(&std::fs::read(mtls("client.key.pem")).unwrap()).unwrap();
    let with_cert = trusted()
        .with_client_certificate(chain, &client_key)
        .unwrap();
    let sub = |h: &ProxyHeader, typ: u8| {
        h.ssl_subs
            .iter()
            .find(|(t, _)| *t == typ)
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
    };

    // With a client certificate: all three client flags, verify 0, the CN.
    let local = runtime().block_on(async {
        let (mut tls, local) = tls_client(proxy.addr, with_cert, Some("localhost")).await;
        echo_once(&mut tls).await;
        local
    });
    let h = headers.recv_timeout(STEP).expect("a header");
    assert_eq!(h.src, Some(local), "{h:?}");
    assert_eq!(h.dst, Some(proxy.addr), "{h:?}");
    assert_eq!(h.ssl_client, Some(0x07), "{h:?}");
    assert_eq!(h.ssl_verify, Some(0), "{h:?}");
    assert_eq!(sub(&h, 0x21).as_deref(), Some("TLSv1.2"));
    assert_eq!(sub(&h, 0x22).as_deref(), Some("rsatls test client"));
    assert!(
        sub(&h, 0x23).is_some_and(|c| c.ends_with("-GCM-SHA256") || c.ends_with("-GCM-SHA384"))
    );
    // SNI as PP2_TYPE_AUTHORITY.
    assert!(h.tlvs.contains(&(0x02, b"localhost".to_vec())), "{h:?}");

    // Without one: PP2_CLIENT_SSL only, a non-zero verify, no CN.
    runtime().block_on(async {
        let (mut tls, _) = tls_client(proxy.addr, trusted(), Some("localhost")).await;
        echo_once(&mut tls).await;
    });
    let h = headers.recv_timeout(STEP).expect("a header");
    assert_eq!(h.ssl_client, Some(0x01), "{h:?}");
    assert_ne!(h.ssl_verify, Some(0), "{h:?}");
    assert_eq!(sub(&h, 0x22), None);
}

// ---- idle limit and bounded buffers ----

#[test]
fn a_half_closed_connection_with_a_silent_upstream_ends_at_the_idle_limit() {
    // The client has sent close_notify, so nothing is read from it any more;
    // the upstream reads to EOF and then says nothing. The idle limit covers
    // both directions together, so it still ends the connection, without
    // close_notify (the answer never came: a truncation).
    let up = upstream(|mut sock| {
        let mut all = Vec::new();
        let _ = sock.read_to_end(&mut all);
        thread::sleep(Duration::from_secs(15));
    });
    let proxy = proxy(up, &["--idle-timeout", "1"]);
    let started = Instant::now();
    runtime().block_on(async {
        let (mut tls, _) = tls_client(proxy.addr, pinned_config(), None).await;
        tls.write_all(b"request").await.unwrap();
        tls.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let err = tls.read_to_end(&mut rest).await.unwrap_err();
        assert_eq!(
            rsatls::tokio::tls_error(&err),
            Some(&rsatls::Error::UnexpectedEof),
            "{err}"
        );
    });
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}");
    proxy.peer.wait_for(Out::Stderr, "end=\"timeout\"", STEP);
}

/// The resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_client_that_does_not_read_holds_back_the_upstream() {
    // The upstream writes as fast as it can to a client that reads nothing:
    // the proxy holds one chunk, so the upstream is stopped by TCP flow
    // control after the socket buffers fill, and the proxy's memory stays flat.
    const OFFER: usize = 256 * 1024 * 1024;
    let (written_tx, written_rx) = channel();
    let written_tx = std::sync::Mutex::new(written_tx);
    let up = upstream(move |mut sock| {
        sock.set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let chunk = vec![0x5a; 64 * 1024];
        let mut written = 0usize;
        while written < OFFER {
            match sock.write(&chunk) {
                Ok(n) => written += n,
                // Blocked for 2 s: flow control.
                Err(_) => break,
            }
        }
        let _ = written_tx.lock().unwrap().send(written);
    });
    let proxy = proxy(up, &[]);
    let before = rss_kib(proxy.peer.pid());
    runtime().block_on(async {
        let (tls, _) = tls_client(proxy.addr, pinned_config(), None).await;
        let written = tokio::task::spawn_blocking(move || written_rx.recv_timeout(STEP))
            .await
            .unwrap()
            .expect("the upstream stopped");
        let grown = rss_kib(proxy.peer.pid()).saturating_sub(before);
        // Loopback socket buffers hold a few MiB each way; far from 256 MiB.
        assert!(
            written < 32 * 1024 * 1024,
            "the upstream wrote {written} bytes to a client reading nothing"
        );
        assert!(grown < 16 * 1024, "the proxy grew by {grown} KiB");
        drop(tls);
    });
}

// ---- reload and logs ----

fn signal(peer: &Peer, sig: &str) {
    let pid = peer.pid().to_string();
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{sig} \"$1\""), "sh", &pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pid}");
}

fn pinned_to(pin_file: &str) -> ClientConfig {
    let pin = std::fs::read_to_string(data(pin_file)).unwrap();
    let pins = rsatls::pki::parse_pins(pin.trim()).unwrap();
    ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins))
}

#[test]
fn sighup_gives_new_clients_the_new_certificate_while_an_old_connection_keeps_forwarding() {
    let dir = scratch_dir("reload");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::copy(data("rsa2048.cert.pem"), &cert).unwrap();
    std::fs::copy(data("rsa2048.key.pem"), &key).unwrap();
    let up = upstream(echo).to_string();
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let proxy = rsatls(
        "proxy",
        &["--upstream", &up, "--cert", cert_s, "--key", key_s],
    );
    runtime().block_on(async {
        let (mut old, _) = tls_client(proxy.addr, pinned_to("rsa2048.pin"), None).await;
        std::fs::copy(data("other2048.cert.pem"), &cert).unwrap();
        std::fs::copy(data("other2048.key.pem"), &key).unwrap();
        signal(&proxy.peer, "HUP");
        proxy.peer.wait_for(Out::Stderr, "reloaded", STEP);
        // A new client sees the new key (its pin is the only one trusted).
        let (mut new, _) = tls_client(proxy.addr, pinned_to("other2048.pin"), None).await;
        echo_once(&mut new).await;
        // The old connection, on the old key, still forwards both ways.
        echo_once(&mut old).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_log_lines_parse_and_carry_the_forwarded_bytes() {
    require("python3", &["--version"]);
    let up = upstream(echo);
    let proxy = proxy(up, &["--log-format", "json"]);
    runtime().block_on(async {
        let (mut tls, _) = tls_client(proxy.addr, pinned_config(), None).await;
        echo_once(&mut tls).await;
        let mut rest = Vec::new();
        tls.read_to_end(&mut rest).await.unwrap();
    });
    let log = proxy.peer.wait_for(Out::Stderr, "\"end\"", STEP);
    let check = "import json, sys\n\
                 lines = [json.loads(l) for l in sys.stdin if l.strip()]\n\
                 c = [l for l in lines if l.get('message') == 'connection']\n\
                 assert len(c) == 1, lines\n\
                 c = c[0]\n\
                 assert (c['bytes_in'], c['bytes_out'], c['end']) == (17, 17, 'close_notify'), c\n\
                 assert c['upstream'] and c['suite'].startswith('TLS_RSA_WITH_AES_'), c\n";
    let mut python = Command::new("python3")
        .args(["-c", check])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    python
        .stdin
        .take()
        .unwrap()
        .write_all(log.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
}
