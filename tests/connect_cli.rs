//! The `rsatls` binary as a person or a script meets it: `connect` (full
//! duplex, timeouts, legacy servers, messages), the exit codes of the other
//! commands when stdout goes away or a file is the wrong one, and the blocking
//! adapter's truncation report. Every wait is bounded.

mod common;
#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use harness::{Out, Peer, RsatlsServer, openssl_s_server, require};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

const STEP: Duration = Duration::from_secs(15);

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn committed_pin(name: &str) -> String {
    std::fs::read_to_string(data(&format!("{name}.pin")))
        .expect("pin file")
        .trim()
        .to_string()
}

fn rsatls(args: &[&str]) -> Peer {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args(args);
    Peer::spawn(format!("rsatls {}", args.join(" ")), &mut cmd)
}

/// A scratch file of `len` bytes under the test target's temporary directory.
fn big_file(tag: &str, len: usize) -> String {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("connect-cli-{tag}-{}", std::process::id()));
    std::fs::write(&path, vec![b'A'; len]).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `rsatls ARGS` with its stdout a pipe whose reading end is already
/// closed, so that its first write to stdout fails with EPIPE. Returns the
/// exit code and stderr.
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsatls"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rsatls {args:?} still running\n{stderr}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Exit, never panic; bounded files; usage errors
// ---------------------------------------------------------------------------

/// `rsatls demo | head -1` and `rsatls keygen ... | true`: the reader is gone,
/// the work is done, so the exit is 0 and quiet (not Rust's panic, 101).
#[test]
fn closed_stdout_is_not_a_panic() {
    let (code, stderr) = with_closed_stdout(&["demo"]);
    assert_eq!(code, Some(0), "demo:\n{stderr}");
    assert!(!stderr.contains("panicked"), "demo:\n{stderr}");

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("connect-cli-keygen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (code, stderr) = with_closed_stdout(&["keygen", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "keygen:\n{stderr}");
    assert!(!stderr.contains("panicked"), "keygen:\n{stderr}");
    assert!(dir.join("key.pem").exists() && dir.join("cert.pem").exists());
}

/// `rsatls connect ... | head -1`: when the echo cannot be written because
/// stdout's reader is gone, connect closes the session and exits 0, quietly.
#[test]
fn connect_with_a_closed_stdout_ends_quietly() {
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsatls"))
        .args(["connect", &server.addr.to_string(), "--pin", &server.pin])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    // stdin stays open: the session ends because of stdout alone.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"echoed to nobody\n").unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + STEP;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("connect still running\n{}", errors.join().unwrap());
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let errors = errors.join().unwrap();
    assert_eq!(status.code(), Some(0), "{errors}");
    assert!(errors.contains("rsatls: connected:"), "{errors}");
    assert!(
        !errors.contains("Broken pipe") && !errors.contains("panicked"),
        "{errors}"
    );
}

/// Key, certificate, CA and passphrase files over 1 MiB are refused with exit
/// 3 and a message naming the file, and `/dev/zero` is not read forever.
#[test]
fn oversized_files_are_refused_with_exit_3() {
    let big = big_file("2mib", 2 << 20);
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let enc_key = data("rsa2048.key.enc.pem");
    for file in ["/dev/zero", big.as_str()] {
        let cases: [Vec<&str>; 4] = [
            vec![
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--cert",
                file,
                "--key",
                &key,
            ],
            vec![
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--cert",
                &cert,
                "--key",
                file,
            ],
            vec!["connect", "127.0.0.1:9", "--cafile", file],
            vec![
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--cert",
                &cert,
                "--key",
                &enc_key,
                "--key-pass-file",
                file,
            ],
        ];
        for args in cases {
            let mut p = rsatls(&args);
            let code = p.exit_code(STEP);
            assert_eq!(code, 3, "{args:?}\n{}", p.report());
            let err = p.stderr();
            assert!(
                err.contains(file) && err.contains("larger than 1024 KiB"),
                "{args:?}\n{}",
                p.report()
            );
        }
    }
}

/// A malformed `--listen` is a usage error (exit 2), reported at once: before
/// the ephemeral key is generated (which is what `serve` without --cert does
/// first, and takes a while).
#[test]
fn malformed_listen_is_a_usage_error() {
    for listen in [
        "bogus",
        "127.0.0.1:99999",
        "127.0.0.1:",
        ":4433",
        "::1:4433",
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
        cmd.args(["serve", "--listen", listen]);
        let mut p = Peer::spawn(format!("serve --listen {listen}"), &mut cmd);
        let code = p.exit_code(STEP);
        assert_eq!(code, 2, "--listen {listen}\n{}", p.report());
        let err = p.stderr();
        assert!(
            err.contains("--listen") && err.contains("Usage: rsatls"),
            "{}",
            p.report()
        );
        assert!(
            !err.contains("generating"),
            "a key was made first\n{}",
            p.report()
        );
    }
}

// ---------------------------------------------------------------------------
// Alerts reach a peer that is still sending
// ---------------------------------------------------------------------------

/// A raw TCP client sends a record header announcing more than 2^14 + 2048
/// bytes (record_overflow, RFC 5246 §6.2.3), then, like a peer still busy
/// sending a large hello, 200 KiB more. The server's alert arrives, and the
/// burst is not refused: the server shut its write side and drains input,
/// instead of closing a socket the peer still writes to, which resets the
/// connection (the peer's next write fails with EPIPE or ECONNRESET, and a
/// peer that stops at that error never reads the alert).
#[test]
fn serve_alert_reaches_a_client_that_keeps_sending() {
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let mut sock = TcpStream::connect(server.addr).unwrap();
    sock.set_read_timeout(Some(STEP)).unwrap();
    sock.set_write_timeout(Some(STEP)).unwrap();
    sock.write_all(&[0x16, 0x03, 0x03, 0xff, 0xff]).unwrap();
    // A fatal record_overflow alert: content type 21, TLS 1.2, length 2,
    // level 2 (fatal), description 22.
    let mut alert = [0u8; 7];
    sock.read_exact(&mut alert).unwrap();
    assert_eq!(alert, [21, 3, 3, 0, 2, 2, 22]);
    // By now the old server had closed its socket.
    thread::sleep(Duration::from_millis(200));
    let chunk = [0x41u8; 16 * 1024];
    for i in 0..200 / 16 {
        if let Err(e) = sock.write_all(&chunk) {
            panic!("the server reset the connection after the alert (chunk {i}): {e}");
        }
        thread::sleep(Duration::from_millis(5));
    }
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    // Then a clean end: the server's FIN, not a reset.
    let mut rest = Vec::new();
    let end = sock.read_to_end(&mut rest);
    assert!(end.is_ok(), "{end:?}");
    assert!(rest.is_empty(), "{rest:02x?}");
}

// ---------------------------------------------------------------------------
// connect: full duplex, bounded memory
// ---------------------------------------------------------------------------

/// Peak resident memory of a process so far (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// 64 MiB through `connect` to `serve`, which echoes: the same bytes come back
/// (sha256), `connect` exits 0, and its peak RSS stays under 32 MB. The old
/// `connect` wrote all of stdin before reading and deadlocked once both
/// directions' socket buffers were full (about 10 MB in), and buffered stdin.
#[test]
fn connect_pipes_64_mib_through_serve_with_bounded_memory() {
    const LEN: usize = 64 << 20;
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let input = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("connect-cli-64mib-{}", std::process::id()));
    let mut bytes = vec![0u8; LEN];
    ChaCha20Rng::seed_from_u64(64).fill_bytes(&mut bytes);
    std::fs::write(&input, &bytes).unwrap();
    let want = Sha256::digest(&bytes);
    drop(bytes);

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsatls"))
        .args(["connect", &server.addr.to_string(), "--pin", &server.pin])
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let hasher = thread::spawn(move || {
        let mut h = Sha256::new();
        let mut n = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return (h.finalize(), n),
                Ok(k) => {
                    h.update(&buf[..k]);
                    n += k;
                }
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "connect still running after 60 s (deadlock?)\n{}",
                errors.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    let (got, n) = hasher.join().unwrap();
    let errors = errors.join().unwrap();
    let _ = std::fs::remove_file(&input);
    assert!(status.success(), "connect: {status}\n{errors}");
    assert_eq!(n, LEN, "bytes echoed\n{errors}");
    assert_eq!(got, want, "sha256 of the echo");
    assert!(peak > 0, "no VmHWM read for connect");
    assert!(peak < 32 * 1024, "connect peak RSS {peak} KiB");
    eprintln!(
        "64 MiB echoed in {:?}, connect peak RSS {peak} KiB",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// connect: timeouts and peers that are not TLS servers
// ---------------------------------------------------------------------------

/// A loopback listener whose one connection is handled by `serve_one`.
fn raw_server(serve_one: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((sock, _)) = l.accept() {
            serve_one(sock);
        }
    });
    addr
}

fn connect_with_pin(addr: SocketAddr, extra: &[&str]) -> Peer {
    let pin = committed_pin("rsa2048");
    let target = addr.to_string();
    let mut args = vec!["connect", target.as_str(), "--pin", &pin];
    args.extend_from_slice(extra);
    rsatls(&args)
}

/// A server that accepts and says nothing: exit 1 after --handshake-timeout,
/// with a message that says so.
#[test]
fn connect_handshake_timeout_against_a_silent_server() {
    let addr = raw_server(|sock| {
        thread::sleep(Duration::from_secs(20));
        drop(sock);
    });
    let started = Instant::now();
    let mut c = connect_with_pin(addr, &["--handshake-timeout", "1"]);
    let code = c.exit_code(STEP);
    let took = started.elapsed();
    assert_eq!(code, 1, "{}", c.report());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let err = c.stderr();
    assert!(
        err.contains("sent nothing") && err.contains("--handshake-timeout"),
        "{}",
        c.report()
    );
}

/// A plaintext HTTP server answers our ClientHello with a 400: named as such.
#[test]
fn connect_names_a_plaintext_http_server() {
    let addr = raw_server(|mut sock| {
        let _ = sock.read(&mut [0u8; 1024]);
        let _ = sock.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        thread::sleep(Duration::from_secs(5));
    });
    let mut c = connect_with_pin(addr, &["--handshake-timeout", "3"]);
    let code = c.exit_code(STEP);
    assert_eq!(code, 1, "{}", c.report());
    let err = c.stderr();
    assert!(
        err.contains("does not speak TLS")
            && err.contains("HTTP/1.1 400 Bad Request")
            && err.contains("plaintext HTTP"),
        "{}",
        c.report()
    );
    for jargon in ["protocol_version", "unexpected_message", "decode"] {
        assert!(!err.contains(jargon), "{jargon}\n{}", c.report());
    }
}

/// --idle-timeout: an established session where nothing moves either way
/// ends with exit 1 and a message naming the option.
#[test]
fn connect_idle_timeout() {
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let started = Instant::now();
    // stdin stays open and silent.
    let mut c = connect_with_pin(server.addr, &["--idle-timeout", "1"]);
    c.wait_for(Out::Stderr, "rsatls: connected:", STEP);
    let code = c.exit_code(STEP);
    assert_eq!(code, 1, "{}", c.report());
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(c.stderr().contains("--idle-timeout"), "{}", c.report());
}

/// Timeouts are whole seconds, at least 1: anything else is a usage error.
#[test]
fn connect_timeout_options_are_checked() {
    for args in [
        ["--handshake-timeout", "0"],
        ["--handshake-timeout", "soon"],
        ["--idle-timeout", "-1"],
    ] {
        let mut c = connect_with_pin("127.0.0.1:9".parse().unwrap(), &args);
        assert_eq!(c.exit_code(STEP), 2, "{args:?}\n{}", c.report());
    }
}

// ---------------------------------------------------------------------------
// connect against OpenSSL: legacy servers, no suite in common
// ---------------------------------------------------------------------------

/// An OpenSSL configuration that removes Extended Master Secret from the
/// default options (OpenSSL 3.0's s_server has no `-no_ems`).
fn no_ems_conf() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("connect-cli-no-ems-{}.cnf", std::process::id()));
    std::fs::write(
        &path,
        "openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n\
         [ssl_sect]\nsystem_default = sys\n[sys]\nOptions = -ExtendedMasterSecret\n",
    )
    .unwrap();
    path
}

/// `openssl s_server` for one connection with the committed rsa2048 key.
fn s_server(cipher: &str, conf: Option<&PathBuf>) -> (Peer, SocketAddr) {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let env: Vec<_> = conf
        .map(|c| ("OPENSSL_CONF", c.as_os_str()))
        .into_iter()
        .collect();
    openssl_s_server(cipher, &cert, &key, &[], &env)
}

/// A server without EMS: refused by default with a message pointing at
/// --allow-no-ems; reached with it, and reported as extended_master_secret=false.
#[test]
fn connect_allow_no_ems_reaches_a_legacy_server() {
    let conf = no_ems_conf();
    let (mut server, addr) = s_server("AES128-GCM-SHA256", Some(&conf));
    let mut c = connect_with_pin(addr, &[]);
    assert_eq!(c.exit_code(STEP), 1, "{}", c.report());
    assert!(
        c.stderr().contains("--allow-no-ems") && c.stderr().contains("Extended Master Secret"),
        "{}",
        c.report()
    );
    server.wait_exit(STEP);

    let (mut server, addr) = s_server("AES128-GCM-SHA256", Some(&conf));
    let mut c = connect_with_pin(addr, &["--allow-no-ems"]);
    let line = c.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(line.contains("extended_master_secret=false"), "{line}");
    c.send("over a legacy session\n");
    server.wait_for(Out::Stdout, "over a legacy session", STEP);
    c.close_stdin();
    assert_eq!(c.exit_code(STEP), 0, "{}\n{}", c.report(), server.report());
    server.wait_exit(STEP);
}

/// A server that offers none of our suites answers our hello with
/// handshake_failure: the message says that, and names our suites.
#[test]
fn connect_names_a_server_without_our_suites() {
    let (mut server, addr) = s_server("AES128-SHA", None);
    let mut c = connect_with_pin(addr, &[]);
    assert_eq!(c.exit_code(STEP), 1, "{}", c.report());
    let err = c.stderr();
    assert!(
        err.contains("offers none of the cipher suites")
            && err.contains("TLS_RSA_WITH_AES_128_GCM_SHA256"),
        "{}",
        c.report()
    );
    server.wait_exit(STEP);
}

// ---------------------------------------------------------------------------
// connect: messages a person can act on
// ---------------------------------------------------------------------------

/// A pin mismatch names the pin the server actually has, and the certificate
/// errors read as sentences, not Rust variant names.
#[test]
fn pin_mismatch_names_the_servers_pin() {
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let other = committed_pin("other2048");
    let mut c = rsatls(&["connect", &server.addr.to_string(), "--pin", &other]);
    assert_eq!(c.exit_code(STEP), 1, "{}", c.report());
    let err = c.stderr();
    assert!(
        err.contains(&committed_pin("rsa2048")) && err.contains("not one of --pin"),
        "{}",
        c.report()
    );
    assert!(err.contains("bad_certificate"), "{}", c.report());
    assert!(!err.contains("NotTrusted"), "{}", c.report());

    // --cafile that does not lead to the server's certificate: the message
    // still names the key and subject the server presented.
    let mut c = rsatls(&[
        "connect",
        &server.addr.to_string(),
        "--cafile",
        &data("other2048.cert.pem"),
    ]);
    assert_eq!(c.exit_code(STEP), 1, "{}", c.report());
    let err = c.stderr();
    assert!(
        err.contains(&committed_pin("rsa2048")) && err.contains("subject CN="),
        "{}",
        c.report()
    );
    for debug in [
        "NotTrusted",
        "UnknownIssuer",
        "InvalidChain",
        "BadCertificate",
    ] {
        assert!(!err.contains(debug), "{debug}\n{}", c.report());
    }
}

/// No error's Display shows a Rust `Debug` name: every CertificateError and
/// Misbehavior is written in words.
#[test]
fn error_messages_have_no_debug_names() {
    use rsatls::{CertificateError as C, Error, Misbehavior as M};
    let errors = [
        Error::BadCertificate(C::Malformed),
        Error::BadCertificate(C::NotTrusted),
        Error::BadCertificate(C::NotRsa),
        Error::BadCertificate(C::KeySize),
        Error::BadCertificate(C::NotValidForName),
        Error::BadCertificate(C::UnknownIssuer),
        Error::BadCertificate(C::Expired),
        Error::BadCertificate(C::NotYetValid),
        Error::BadCertificate(C::BadSignature),
        Error::BadCertificate(C::Unsupported),
        Error::BadCertificate(C::InvalidChain),
        Error::PeerMisbehaved(M::DuplicateExtension),
        Error::PeerMisbehaved(M::UnsolicitedExtension),
        Error::PeerMisbehaved(M::IllegalParameter("server_version")),
        Error::PeerMisbehaved(M::BadRenegotiationInfo),
        Error::PeerMisbehaved(M::EmsMismatch),
    ];
    for e in errors {
        let shown = e.to_string();
        let debug = format!("{e:?}");
        // The innermost variant name, e.g. `NotValidForName` or `IllegalParameter`.
        let inner = debug
            .trim_end_matches(')')
            .rsplit('(')
            .find(|part| part.chars().next().is_some_and(char::is_uppercase) && !part.contains('"'))
            .unwrap();
        assert!(!shown.contains(inner), "{debug} displays as {shown:?}");
    }
}

// ---------------------------------------------------------------------------
// serve --http and ALPN http/1.0
// ---------------------------------------------------------------------------

/// `curl --http1.0` offers ALPN `http/1.0` only; RFC 7301 §3.2 makes a server
/// with no protocol in common refuse it, so `serve --http` lists http/1.0 too.
#[test]
fn curl_http1_0_gets_the_page() {
    require("curl", &["--version"]);
    let server = RsatlsServer::start(&[
        "--http",
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let port = server.addr.port();
    let out = Command::new("curl")
        .args(["-sS", "-v", "--max-time", "15", "--http1.0"])
        .args(["--pinnedpubkey", &committed_pin("rsa2048"), "-k"])
        .arg(format!("https://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{}\n{stderr}", out.status);
    assert!(stdout.contains("Hello from rsatls"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("ALPN: server accepted http/1.0"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// The blocking adapter reports truncation
// ---------------------------------------------------------------------------

/// After the handshake, a transport EOF without close_notify is
/// `UnexpectedEof`, never `Ok(0)` (which would make a truncation look like the
/// end of the data).
#[test]
fn blocking_stream_reports_truncation() {
    use rsatls::stream::TlsStream;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let conn = common::server(common::server_config("rsa2048"), 1);
        let mut tls = TlsStream::new(conn, sock);
        tls.handshake().unwrap();
        tls.write_all(b"partial").unwrap();
        // Dropped without close_notify: the socket just closes.
    });
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(STEP)).unwrap();
    let conn = common::client(common::client_config("rsa2048"), 2);
    let mut tls = TlsStream::new(conn, sock);
    tls.handshake().unwrap();
    server.join().unwrap();
    let mut got = Vec::new();
    let err = tls.read_to_end(&mut got).unwrap_err();
    assert_eq!(got, b"partial");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    assert_eq!(
        rsatls::stream::tls_error(&err),
        Some(&rsatls::Error::UnexpectedEof)
    );
}
