//! Interoperability with real peers: `openssl s_client` / `s_server` (OpenSSL
//! 3.0), `gnutls-serv` (GnuTLS 3.7), `curl` and Python's `ssl` module, against
//! the `rsatls` binary.
//!
//! Everything runs on 127.0.0.1 with OS-chosen ports; every child process is
//! bounded by timeouts and killed on drop (see `interop/harness.rs`). A missing
//! peer program fails the test with a message saying so: CI installs them
//! (`.ci/run`).

#[path = "interop/harness.rs"]
mod harness;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::Duration;

use harness::{Out, Peer, RsatlsServer, openssl_s_server, require, rsatls_connect};

/// The suites rsatls speaks: OpenSSL's name, the IANA name rsatls prints.
const SUITES: [(&str, &str); 2] = [
    ("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    ("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"),
];

/// Generous bound for a handshake plus a round trip on loopback.
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

fn need_openssl() {
    require("openssl", &["version"]);
}

fn need_curl() {
    require("curl", &["--version"]);
}

fn need_python() {
    require("python3", &["-c", "import ssl"]);
}

/// An OpenSSL configuration that removes Extended Master Secret from the
/// default options of every SSL_CTX (OpenSSL 3.0 has no `-no_ems` flag).
fn no_ems_conf(tag: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("interop-no-ems-{tag}-{}.cnf", std::process::id()));
    std::fs::write(
        &path,
        "openssl_conf = openssl_init\n\
         [openssl_init]\n\
         ssl_conf = ssl_sect\n\
         [ssl_sect]\n\
         system_default = sys\n\
         [sys]\n\
         Options = -ExtendedMasterSecret\n",
    )
    .expect("write OpenSSL config");
    path
}

// ---------------------------------------------------------------------------
// openssl s_client against rsatls serve
// ---------------------------------------------------------------------------

/// `openssl s_client -connect ADDR -tls1_2 -cipher CIPHER EXTRA...`, without
/// `-quiet` so that it prints the session (cipher, EMS) once connected.
fn s_client(addr: SocketAddr, cipher: &str, extra: &[&str], conf: Option<&PathBuf>) -> Peer {
    need_openssl();
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &addr.to_string(),
        "-tls1_2",
        "-cipher",
        cipher,
    ])
    .args(extra);
    if let Some(conf) = conf {
        cmd.env("OPENSSL_CONF", conf);
    }
    Peer::spawn(
        format!("openssl s_client -cipher {cipher} {}", extra.join(" ")),
        &mut cmd,
    )
}

/// One s_client session against an echo server: the session printout names
/// the cipher and the EMS state, two lines (one longer than a TLS record) come
/// back intact, and closing stdin ends the session cleanly (exit 0).
fn s_client_echo(
    addr: SocketAddr,
    cipher: &str,
    extra: &[&str],
    conf: Option<&PathBuf>,
    ems: &str,
) -> Peer {
    let mut c = s_client(addr, cipher, extra, conf);
    c.wait_line(Out::Stdout, "Extended master secret:", STEP);
    let out = c.stdout();
    for want in [
        format!("New, TLSv1.2, Cipher is {cipher}"),
        "Protocol  : TLSv1.2".to_string(),
        format!("Cipher    : {cipher}"),
        format!("Extended master secret: {ems}"),
    ] {
        assert!(
            out.contains(&want),
            "s_client did not report {want:?}\n{}",
            c.report()
        );
    }
    // Lowercase and digits only: s_client treats lines starting with Q, R, k
    // or K as commands.
    let short = format!("ping {cipher} one\n").to_lowercase();
    c.send(&short);
    c.wait_for(Out::Stdout, &short, STEP);
    // 20 000 bytes: more than one 16 KiB record each way.
    let long = format!("{}\n", "0123456789".repeat(2000));
    c.send(&long);
    c.wait_for(Out::Stdout, &long, STEP);
    // EOF on stdin: s_client sends close_notify; the echo server answers with its own.
    c.close_stdin();
    let code = c.exit_code(STEP);
    assert_eq!(code, 0, "s_client exit code\n{}", c.report());
    c
}

#[test]
fn s_client_to_serve_ephemeral_key() {
    need_openssl();
    let server = RsatlsServer::start(&[]);
    thread::scope(|s| {
        for (cipher, _) in SUITES {
            let addr = server.addr;
            s.spawn(move || {
                let c = s_client_echo(addr, cipher, &[], None, "yes");
                let out = c.stdout();
                assert!(out.contains("subject=CN = localhost"), "{}", c.report());
                assert!(
                    out.contains("Server public key is 2048 bit"),
                    "{}",
                    c.report()
                );
            });
        }
    });
}

#[test]
fn s_client_to_serve_with_cert_and_key() {
    need_openssl();
    let cert = data("rsa2048.cert.pem");
    let server = RsatlsServer::start(&["--cert", &cert, "--key", &data("rsa2048.key.pem")]);
    assert_eq!(
        server.pin,
        committed_pin("rsa2048"),
        "serve prints the pin of the given certificate"
    );
    thread::scope(|s| {
        for (cipher, _) in SUITES {
            let (addr, cert) = (server.addr, cert.as_str());
            s.spawn(move || {
                let verify = [
                    "-CAfile",
                    cert,
                    "-verify_return_error",
                    "-verify_hostname",
                    "localhost",
                ];
                let c = s_client_echo(addr, cipher, &verify, None, "yes");
                assert!(
                    c.stdout().contains("Verify return code: 0 (ok)"),
                    "{}",
                    c.report()
                );
            });
        }
    });
}

// ---------------------------------------------------------------------------
// Extended Master Secret
// ---------------------------------------------------------------------------

/// A client without EMS is refused with a handshake_failure alert; the same
/// client, same configuration, connects to `--allow-no-ems` (so EMS is the
/// only reason), and reports that EMS really was off.
#[test]
fn ems_is_required_by_default() {
    need_openssl();
    let conf = no_ems_conf("required");
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let strict = RsatlsServer::start(&["--cert", &cert, "--key", &key]);
    let lenient = RsatlsServer::start(&["--cert", &cert, "--key", &key, "--allow-no-ems"]);

    s_client_echo(lenient.addr, "AES128-GCM-SHA256", &[], Some(&conf), "no");

    let mut c = s_client(strict.addr, "AES128-GCM-SHA256", &[], Some(&conf));
    let code = c.exit_code(STEP);
    assert_ne!(
        code,
        0,
        "s_client without EMS must not connect\n{}",
        c.report()
    );
    let err = c.stderr();
    assert!(
        err.contains("alert handshake failure") && err.contains("alert number 40"),
        "s_client should report a handshake_failure alert (40)\n{}",
        c.report()
    );
    assert!(!c.stdout().contains("Cipher is AES128"), "{}", c.report());
    // The server names the alert it sent.
    strict.peer.wait_for(Out::Stderr, "handshake_failure", STEP);
    let _ = std::fs::remove_file(conf);
}

#[test]
fn ems_optional_with_allow_no_ems() {
    need_openssl();
    let conf = no_ems_conf("allowed");
    let server = RsatlsServer::start(&["--allow-no-ems"]);
    thread::scope(|s| {
        // The configuration really makes s_client leave EMS out: the server
        // would have negotiated it (see the second client) but reports it off.
        let addr = server.addr;
        let conf = &conf;
        s.spawn(move || s_client_echo(addr, "AES128-GCM-SHA256", &[], Some(conf), "no"));
        s.spawn(move || s_client_echo(addr, "AES256-GCM-SHA384", &[], Some(conf), "no"));
        // --allow-no-ems still negotiates EMS with clients that offer it.
        s.spawn(move || s_client_echo(addr, "AES256-GCM-SHA384", &[], None, "yes"));
    });
    let _ = std::fs::remove_file(conf);
}

// ---------------------------------------------------------------------------
// Suites rsatls does not speak
// ---------------------------------------------------------------------------

#[test]
fn unsupported_suites_get_handshake_failure() {
    need_openssl();
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    thread::scope(|s| {
        // ECDHE key exchange, then RSA key exchange with CBC (SHA-256 and SHA-1 MACs).
        for cipher in ["ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA"] {
            let addr = server.addr;
            s.spawn(move || {
                let mut c = s_client(addr, cipher, &[], None);
                let code = c.exit_code(STEP);
                assert_ne!(code, 0, "{cipher} must be refused\n{}", c.report());
                let err = c.stderr();
                assert!(
                    err.contains("alert handshake failure") && err.contains("alert number 40"),
                    "{cipher}: s_client should report a handshake_failure alert (40)\n{}",
                    c.report()
                );
            });
        }
    });
    server.peer.wait_for(Out::Stderr, "handshake_failure", STEP);
}

/// s_client as it comes (TLS 1.3 capable, default suites): a clean TLS 1.2
/// handshake with EMS. A TLS 1.3-only client has no suite in common.
#[test]
fn tls13_capable_s_client_gets_tls12() {
    need_openssl();
    let cert = data("rsa2048.cert.pem");
    let server = RsatlsServer::start(&["--cert", &cert, "--key", &data("rsa2048.key.pem")]);
    let mut c = Command::new("openssl");
    c.args(["s_client", "-connect", &server.addr.to_string()]);
    let mut c = Peer::spawn("openssl s_client (defaults)", &mut c);
    c.wait_line(Out::Stdout, "Extended master secret:", STEP);
    let out = c.stdout();
    assert!(
        out.contains("New, TLSv1.2, Cipher is AES"),
        "{}",
        c.report()
    );
    assert!(
        out.contains("Extended master secret: yes"),
        "{}",
        c.report()
    );
    c.send("hello over tls 1.2\n");
    c.wait_for(Out::Stdout, "hello over tls 1.2\n", STEP);
    c.close_stdin();
    assert_eq!(c.exit_code(STEP), 0, "{}", c.report());

    let mut c = Command::new("openssl");
    c.args(["s_client", "-connect", &server.addr.to_string(), "-tls1_3"]);
    let mut c = Peer::spawn("openssl s_client -tls1_3", &mut c);
    assert_ne!(c.exit_code(STEP), 0, "{}", c.report());
    assert!(c.stderr().contains("alert number 40"), "{}", c.report());
}

// ---------------------------------------------------------------------------
// rsatls connect against openssl s_server
// ---------------------------------------------------------------------------

/// `openssl s_server` for one connection on a free loopback port, with the
/// committed rsa2048 key. Returns once it printed `ACCEPT`.
fn s_server(cipher: &str) -> (Peer, SocketAddr) {
    s_server_with(cipher, &[])
}

/// As [`s_server`], with `extra` arguments.
fn s_server_with(cipher: &str, extra: &[&str]) -> (Peer, SocketAddr) {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    openssl_s_server(cipher, &cert, &key, extra, &[])
}

/// rsatls connect ↔ s_server: the handshake completes with `suite` and EMS,
/// a line goes each way, and closing stdin ends both sides cleanly.
fn connect_roundtrip(cipher_string: &str, suite: &str, auth: &[&str]) {
    connect_roundtrip_with(cipher_string, suite, auth, &[]);
}

/// As [`connect_roundtrip`], with `server_args` for s_server; returns
/// s_server's output.
fn connect_roundtrip_with(
    cipher_string: &str,
    suite: &str,
    auth: &[&str],
    server_args: &[&str],
) -> String {
    let (mut server, addr) = s_server_with(cipher_string, server_args);
    let target = addr.to_string();
    let mut args = vec![target.as_str()];
    args.extend_from_slice(auth);
    let mut client = rsatls_connect(&args);
    if let Err(e) = client.try_wait_for(Out::Stderr, "rsatls: connected:", STEP) {
        panic!("{e}\n{}\n{}", client.report(), server.report());
    }
    let hs = client.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(
        hs.contains(suite),
        "rsatls connected with another suite\n{}",
        client.report()
    );
    assert!(
        hs.contains("extended_master_secret=true"),
        "{}",
        client.report()
    );
    assert!(
        hs.contains(&committed_pin("rsa2048")),
        "{}",
        client.report()
    );
    let openssl_name = SUITES.iter().find(|(_, iana)| *iana == suite).unwrap().0;
    server.wait_for(Out::Stdout, &format!("CIPHER is {openssl_name}"), STEP);

    // s_server -> rsatls (s_server's stdin goes to the client).
    let down = format!("from s_server {openssl_name}\n").to_lowercase();
    server.send(&down);
    client.wait_for(Out::Stdout, &down, STEP);
    // rsatls -> s_server (s_server prints what it receives).
    let up = format!("from rsatls {suite}\n");
    client.send(&up);
    server.wait_for(Out::Stdout, &up, STEP);

    // stdin EOF: rsatls sends close_notify, s_server answers and (with
    // -naccept 1) exits; rsatls exits 0 once the peer has closed.
    client.close_stdin();
    let code = client.exit_code(STEP);
    assert_eq!(
        code,
        0,
        "rsatls connect exit code\n{}\n{}",
        client.report(),
        server.report()
    );
    assert_eq!(client.stdout(), down, "rsatls stdout carries only the data");
    let code = server.exit_code(STEP);
    assert_eq!(code, 0, "s_server exit code\n{}", server.report());
    server.stdout()
}

/// Against s_server as configured out of the box: both suites, with --pin and
/// with --cafile. This needs the client's signature_algorithms extension:
/// without it the RFC 5246 §7.4.1.4.1 default is {sha1, rsa}, which OpenSSL
/// 3.0 refuses at its default security level even for RSA key exchange
/// ("tls_choose_sigalg:no suitable signature algorithm", handshake_failure).
#[test]
fn connect_to_s_server() {
    let pin = committed_pin("rsa2048");
    let cafile = data("rsa2048.cert.pem");
    thread::scope(|s| {
        for (cipher, suite) in SUITES {
            let (pin, cafile) = (pin.as_str(), cafile.as_str());
            s.spawn(move || connect_roundtrip(cipher, suite, &["--pin", pin]));
            s.spawn(move || connect_roundtrip(cipher, suite, &["--cafile", cafile]));
        }
    });
}

/// RFC 5246 §7.4.4, §7.4.6: `s_server -verify 1` asks for a client
/// certificate (optional: `-Verify` would require one). rsatls has none, answers
/// with an empty Certificate and no CertificateVerify, and s_server goes on:
/// the handshake completes and a line goes each way. `-msg` shows the
/// request and the empty Certificate on the wire.
#[test]
fn connect_to_s_server_that_requests_a_client_certificate() {
    let pin = committed_pin("rsa2048");
    let (cipher, suite) = SUITES[0];
    let out = connect_roundtrip_with(cipher, suite, &["--pin", &pin], &["-verify", "1", "-msg"]);
    assert!(
        out.contains("CertificateRequest"),
        "s_server did not ask\n{out}"
    );
    // The client's Certificate: 0b 00 00 03 00 00 00 (an empty list).
    assert!(
        out.contains("<<< TLS 1.2, Handshake [length 0007], Certificate"),
        "no empty Certificate from the client\n{out}"
    );
    assert!(
        !out.contains("CertificateVerify"),
        "a CertificateVerify without a certificate\n{out}"
    );
}

// ---------------------------------------------------------------------------
// rsatls connect against gnutls-serv
// ---------------------------------------------------------------------------

/// `gnutls-serv --echo` with the committed rsa2048 key and otherwise its
/// default settings, on a free port. Returns once it listens. Those defaults
/// request a client certificate (`-a` would turn that off), and GnuTLS 3.7's
/// default priority string (NORMAL) still includes RSA key exchange and the
/// AES-GCM suites and negotiates Extended Master Secret, so no `--priority`
/// is given.
fn gnutls_serv() -> (Peer, SocketAddr) {
    harness::gnutls_serv(
        &data("rsa2048.cert.pem"),
        &data("rsa2048.key.pem"),
        &["--echo"],
    )
}

/// rsatls connect ↔ gnutls-serv (default settings, which ask for a client
/// certificate): the handshake completes with RSA key exchange and EMS, and a
/// line goes up and comes back (the echo). Before the client answered
/// CertificateRequest it failed here with unexpected_message.
#[test]
fn connect_to_gnutls_serv_with_default_settings() {
    let (server, addr) = gnutls_serv();
    let target = addr.to_string();
    let pin = committed_pin("rsa2048");
    let mut client = rsatls_connect(&[&target, "--pin", &pin]);
    if let Err(e) = client.try_wait_for(Out::Stderr, "rsatls: connected:", STEP) {
        panic!("{e}\n{}\n{}", client.report(), server.report());
    }
    let hs = client.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(hs.contains("TLS_RSA_WITH_AES_"), "{hs}");
    assert!(hs.contains("extended_master_secret=true"), "{hs}");
    assert!(hs.contains(&pin), "{hs}");
    let line = "from rsatls to gnutls-serv and back\n";
    client.send(line);
    client.wait_for(Out::Stdout, line, STEP);
    server.wait_for(Out::Stderr, "received cmd: from rsatls", STEP);
    // gnutls-serv prints its session report on stdout, which is read apart
    // from stderr: wait for it rather than read a snapshot.
    server.wait_for(Out::Stdout, "- Key Exchange: RSA", STEP);
    let report = server.stdout();
    assert!(report.contains("extended master secret"), "{report}");
    client.close_stdin();
    let code = client.exit_code(STEP);
    assert_eq!(
        code,
        0,
        "rsatls connect exit code\n{}\n{}",
        client.report(),
        server.report()
    );
    assert_eq!(client.stdout(), line);
}

/// A server whose key is not the pinned/trusted one: exit code 1 and the
/// alert (bad_certificate) named on stderr.
#[test]
fn connect_rejects_wrong_server_key() {
    let other_pin = committed_pin("other2048");
    let other_cert = data("other2048.cert.pem");
    thread::scope(|s| {
        for auth in [
            ["--pin", other_pin.as_str()],
            ["--cafile", other_cert.as_str()],
        ] {
            s.spawn(move || {
                let (mut server, addr) = s_server("AES128-GCM-SHA256");
                let target = addr.to_string();
                let mut client = rsatls_connect(&[&target, auth[0], auth[1]]);
                let code = client.exit_code(STEP);
                assert_eq!(
                    code,
                    1,
                    "{auth:?}: exit code\n{}\n{}",
                    client.report(),
                    server.report()
                );
                assert!(
                    client.stderr().contains("bad_certificate"),
                    "{auth:?}\n{}",
                    client.report()
                );
                assert!(client.stdout().is_empty(), "{}", client.report());
                // s_server saw the alert and gave up on its one connection.
                server.exit_code(STEP);
                assert!(
                    server.stderr().contains("bad certificate"),
                    "{}",
                    server.report()
                );
            });
        }
    });
}

#[test]
fn connect_usage_errors_exit_2() {
    let pin = committed_pin("rsa2048");
    let cafile = data("rsa2048.cert.pem");
    let cases: [&[&str]; 6] = [
        &["127.0.0.1:9"],                                     // neither --pin nor --cafile
        &["127.0.0.1:9", "--pin", &pin, "--cafile", &cafile], // both
        &["127.0.0.1:9", "--pin", "md5//nope"],               // not a pin
        &["127.0.0.1", "--pin", &pin],                        // no port
        &["127.0.0.1:9", "--pin", &pin, "--bogus"],           // unknown option
        &[],                                                  // no target
    ];
    for args in cases {
        let mut c = rsatls_connect(args);
        let code = c.exit_code(STEP);
        assert_eq!(code, 2, "{args:?}: exit code\n{}", c.report());
        assert!(
            c.stderr().contains("Usage: rsatls connect"),
            "{args:?}: usage text on stderr\n{}",
            c.report()
        );
        assert!(
            c.stdout().is_empty(),
            "{args:?}: nothing on stdout\n{}",
            c.report()
        );
    }
}

// ---------------------------------------------------------------------------
// curl against rsatls serve --http
// ---------------------------------------------------------------------------

/// curl fetches the page twice (one connection, HTTP/1.1 keep-alive). With
/// `cipher`, curl is limited to TLS 1.2 and that suite (and the page must name
/// `suite`); without, it runs with its defaults (TLS 1.3 capable).
fn curl_get(cipher: Option<&str>, suite: &str, port: u16, extra: &[&str], host: &str) {
    need_curl();
    let url = format!("https://{host}:{port}/");
    let resolve = format!("{host}:{port}:127.0.0.1");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "15"]);
    if let Some(cipher) = cipher {
        cmd.args(["--tlsv1.2", "--tls-max", "1.2", "--ciphers", cipher]);
    }
    // -v: curl reports the ALPN outcome on stderr.
    cmd.args(["-v", "--resolve", &resolve, "-w", "\nstatus %{http_code}\n"])
        .args(extra)
        .args([&url, &url]);
    let mut c = Peer::spawn(format!("curl {cipher:?} {}", extra.join(" ")), &mut cmd);
    let code = c.exit_code(STEP);
    assert_eq!(code, 0, "curl exit code\n{}", c.report());
    let out = c.stdout();
    assert_eq!(out.matches("status 200").count(), 2, "{}", c.report());
    assert_eq!(
        out.matches("<h1>Hello from rsatls</h1>").count(),
        2,
        "{}",
        c.report()
    );
    let page_ok = match cipher {
        Some(_) => out.contains(&format!("{suite} with Extended Master Secret: true")),
        None => SUITES
            .iter()
            .any(|(_, iana)| out.contains(&format!("{iana} with Extended Master Secret: true"))),
    };
    assert!(page_ok, "the page names the suite and EMS\n{}", c.report());
    // serve --http selects http/1.1 from curl's ALPN offer (RFC 7301).
    assert!(
        c.stderr()
            .lines()
            .any(|l| l.contains("ALPN") && l.contains("accepted") && l.contains("http/1.1")),
        "curl did not negotiate http/1.1 by ALPN\n{}",
        c.report()
    );
}

#[test]
fn curl_with_pinned_key_and_insecure() {
    need_curl();
    let server = RsatlsServer::start(&["--http"]);
    let pin = server.pin.clone();
    thread::scope(|s| {
        for (cipher, suite) in SUITES {
            let (port, pin) = (server.addr.port(), pin.as_str());
            s.spawn(move || {
                curl_get(
                    Some(cipher),
                    suite,
                    port,
                    &["--pinnedpubkey", pin, "-k"],
                    "127.0.0.1",
                )
            });
        }
        // A pin of another key: curl refuses (exit 90, CURLE_SSL_PINNEDPUBKEYNOTMATCH).
        let port = server.addr.port();
        s.spawn(move || {
            let url = format!("https://127.0.0.1:{port}/");
            let mut cmd = Command::new("curl");
            cmd.args([
                "-sS",
                "--max-time",
                "15",
                "--tlsv1.2",
                "--tls-max",
                "1.2",
                "--ciphers",
                "AES128-GCM-SHA256",
            ])
            .args(["-k", "--pinnedpubkey", &committed_pin("other2048"), &url]);
            let mut c = Peer::spawn("curl (wrong pin)", &mut cmd);
            assert_eq!(c.exit_code(STEP), 90, "{}", c.report());
        });
    });
}

#[test]
fn curl_with_cacert_and_hostname() {
    need_curl();
    let cert = data("rsa2048.cert.pem");
    let server =
        RsatlsServer::start(&["--http", "--cert", &cert, "--key", &data("rsa2048.key.pem")]);
    thread::scope(|s| {
        for (cipher, suite) in SUITES {
            let (port, cert) = (server.addr.port(), cert.as_str());
            s.spawn(move || curl_get(Some(cipher), suite, port, &["--cacert", cert], "localhost"));
        }
        // curl as it comes (TLS 1.3 capable, default suites): a TLS 1.2 handshake.
        let (port, cert) = (server.addr.port(), cert.as_str());
        s.spawn(move || {
            curl_get(
                None,
                "TLS_RSA_WITH_AES_",
                port,
                &["--cacert", cert],
                "localhost",
            )
        });
    });
}

// ---------------------------------------------------------------------------
// Python's ssl module
// ---------------------------------------------------------------------------

/// argv: port, cipher string (TLS 1.2 at most; with a `tls13-capable:` prefix
/// TLS 1.3 stays enabled), CA file, then `wait` to pause (print `ready`, read
/// a line from stdin) between two round trips. (Python's default cipher
/// string has no RSA key exchange since 3.10, so one is always given.)
const PY_CLIENT: &str = r#"
import socket, ssl, sys
port, ciphers, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
wait = len(sys.argv) > 4 and sys.argv[4] == "wait"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
if ciphers.startswith("tls13-capable:"):
    ciphers = ciphers.split(":", 1)[1]
else:
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers(ciphers)
ctx.load_verify_locations(cafile)

def roundtrip(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(65536)
        if not d:
            sys.exit("connection closed after %d bytes" % len(got))
        got += d
    if got != msg:
        sys.exit("echo differs")

with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        print("cipher", s.cipher(), flush=True)
        roundtrip(s, b"hello from python\n")
        if wait:
            print("ready", flush=True)
            sys.stdin.readline()
        roundtrip(s, b"0123456789abcdef" * 1500)
        s.unwrap()  # close_notify both ways
        print("done", flush=True)
"#;

fn python_client(port: u16, ciphers: &str, wait: bool) -> Peer {
    need_python();
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        PY_CLIENT,
        &port.to_string(),
        ciphers,
        &data("rsa2048.cert.pem"),
    ]);
    if wait {
        cmd.arg("wait");
    }
    Peer::spawn(format!("python3 ssl client {ciphers}"), &mut cmd)
}

#[test]
fn python_ssl_client() {
    need_python();
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let both = "AES128-GCM-SHA256:AES256-GCM-SHA384";
    thread::scope(|s| {
        for ciphers in [
            "AES128-GCM-SHA256",
            "AES256-GCM-SHA384",
            both,
            "tls13-capable:AES128-GCM-SHA256:AES256-GCM-SHA384",
        ] {
            let port = server.addr.port();
            s.spawn(move || {
                let mut c = python_client(port, ciphers, false);
                let code = c.exit_code(STEP);
                assert_eq!(code, 0, "python exit code\n{}", c.report());
                let out = c.stdout();
                let line = out
                    .lines()
                    .find(|l| l.starts_with("cipher "))
                    .unwrap_or_default();
                let ok = if ciphers.ends_with(both) {
                    SUITES
                        .iter()
                        .any(|(name, _)| line.contains(&format!("'{name}'")))
                } else {
                    line.contains(&format!("'{ciphers}'"))
                };
                assert!(
                    ok && line.contains("'TLSv1.2'"),
                    "python negotiated {line:?}\n{}",
                    c.report()
                );
                assert!(out.contains("done"), "{}", c.report());
            });
        }
    });
}

/// Python's `ssl` as a server for one connection: argv is the certificate,
/// the key and a cipher string (TLS 1.2 at most; with a `tls13-capable:`
/// prefix TLS 1.3 stays enabled). Prints `port N` once listening, the
/// negotiated cipher, then echoes until the client's close_notify, answers it
/// with its own and prints `done`.
const PY_SERVER: &str = r#"
import socket, ssl, sys
cert, key, ciphers = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
if ciphers.startswith("tls13-capable:"):
    ciphers = ciphers.split(":", 1)[1]
else:
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers(ciphers)
ctx.load_cert_chain(cert, key)
if sys.argv[4:] == ["cert-optional"]:
    # Ask for a client certificate, go on without one.
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(cert)
with socket.create_server(("127.0.0.1", 0)) as listener:
    listener.settimeout(20)
    print("port", listener.getsockname()[1], flush=True)
    raw, _ = listener.accept()
    raw.settimeout(20)
    with ctx.wrap_socket(raw, server_side=True) as s:
        print("cipher", s.cipher(), flush=True)
        print("peercert", s.getpeercert(), flush=True)
        while True:
            d = s.recv(65536)
            if not d:
                break
            s.sendall(d)
        s.unwrap()
        print("done", flush=True)
"#;

/// rsatls connect ↔ Python's ssl server: the handshake completes with one of
/// `suites` and EMS, a short and a long line (more than one record) come
/// back, and closing stdin ends both sides cleanly.
fn connect_to_python(ciphers: &str, suites: &[&str], auth: &[&str]) {
    connect_to_python_with(ciphers, suites, auth, &[]);
}

/// As [`connect_to_python`], with `server_args` for the Python server; returns
/// its output.
fn connect_to_python_with(
    ciphers: &str,
    suites: &[&str],
    auth: &[&str],
    server_args: &[&str],
) -> String {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        PY_SERVER,
        &data("rsa2048.cert.pem"),
        &data("rsa2048.key.pem"),
        ciphers,
    ])
    .args(server_args);
    let mut server = Peer::spawn(format!("python3 ssl server {ciphers}"), &mut cmd);
    let port = server.wait_line(Out::Stdout, "port ", STEP)[5..].to_string();
    let target = format!("127.0.0.1:{port}");
    let mut args = vec![target.as_str()];
    args.extend_from_slice(auth);
    let mut client = rsatls_connect(&args);
    if let Err(e) = client.try_wait_for(Out::Stderr, "rsatls: connected:", STEP) {
        panic!("{e}\n{}\n{}", client.report(), server.report());
    }
    let hs = client.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(
        suites.iter().any(|suite| hs.contains(suite)),
        "{ciphers}: {hs}"
    );
    assert!(hs.contains("extended_master_secret=true"), "{hs}");
    assert!(hs.contains(&committed_pin("rsa2048")), "{hs}");
    assert!(hs.ends_with("subject CN=localhost"), "{hs}");
    let cipher = server.wait_line(Out::Stdout, "cipher ", STEP);
    assert!(cipher.contains("'TLSv1.2'"), "{cipher}");

    let short = "hello python\n".to_string();
    let long = format!("{}\n", "0123456789".repeat(2000));
    for line in [&short, &long] {
        client.send(line);
    }
    client.wait_for(Out::Stdout, &long, STEP);
    client.close_stdin();
    let code = client.exit_code(STEP);
    assert_eq!(
        code,
        0,
        "rsatls connect exit code\n{}\n{}",
        client.report(),
        server.report()
    );
    assert_eq!(client.stdout(), format!("{short}{long}"));
    assert_eq!(server.exit_code(STEP), 0, "{}", server.report());
    assert!(server.stdout().contains("done"), "{}", server.report());
    server.stdout()
}

/// Python's ssl server with `verify_mode = CERT_OPTIONAL` asks for a client
/// certificate; rsatls answers with an empty Certificate (RFC 5246 §7.4.6) and
/// the server goes on without one (`getpeercert()` is `None`).
#[test]
fn connect_to_python_ssl_server_with_cert_optional() {
    need_python();
    let pin = committed_pin("rsa2048");
    let (cipher, suite) = SUITES[1];
    let out = connect_to_python_with(cipher, &[suite], &["--pin", &pin], &["cert-optional"]);
    assert!(out.contains("peercert None"), "{out}");
}

#[test]
fn connect_to_python_ssl_server() {
    need_python();
    let pin = committed_pin("rsa2048");
    let cafile = data("rsa2048.cert.pem");
    let both = [SUITES[0].1, SUITES[1].1];
    thread::scope(|s| {
        for (cipher, suite) in SUITES {
            let pin = pin.as_str();
            s.spawn(move || connect_to_python(cipher, &[suite], &["--pin", pin]));
        }
        let (pin, cafile) = (pin.as_str(), cafile.as_str());
        s.spawn(move || {
            connect_to_python(
                "tls13-capable:AES128-GCM-SHA256:AES256-GCM-SHA384",
                &both,
                &["--cafile", cafile, "--servername", "localhost"],
            )
        });
        s.spawn(move || {
            connect_to_python(
                "AES128-GCM-SHA256:AES256-GCM-SHA384",
                &both,
                &["--pin", pin],
            )
        });
    });
}

// ---------------------------------------------------------------------------
// Renegotiation
// ---------------------------------------------------------------------------

/// A line `R` makes s_client start a renegotiation (a new ClientHello on the
/// established connection). rsatls answers with a *warning* no_renegotiation
/// alert (s_client -msg shows `01 64`). OpenSSL 3.0 treats that warning, in
/// answer to its own renegotiation, as fatal: it sends a fatal
/// handshake_failure, reports "no renegotiation" and exits 1. So the
/// connection ends, it is never renegotiated, and nothing more is echoed;
/// the server keeps serving other clients.
#[test]
fn renegotiation_is_refused() {
    need_openssl();
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let mut c = s_client(server.addr, "AES128-GCM-SHA256", &["-msg"], None);
    c.wait_for(Out::Stdout, "Extended master secret: yes", STEP);
    c.send("before renegotiation\n");
    c.wait_for(Out::Stdout, "before renegotiation\n", STEP);
    let before = c.stdout().len();

    c.send("R\n");
    c.wait_for(Out::Stderr, "RENEGOTIATING", STEP);
    c.wait_for(
        Out::Stdout,
        "Alert [length 0002], warning no_renegotiation",
        STEP,
    );
    // If s_client is still alive this would be echoed; it must not be.
    let _ = c.try_send("after renegotiation\n");
    let code = c.exit_code(STEP);
    assert_eq!(code, 1, "s_client exit code\n{}", c.report());

    let out = c.stdout();
    let after = &out[before..];
    // The renegotiation ClientHello went out, the answer was the warning alert
    // (level 1, description 100) and nothing else: no ServerHello.
    assert!(
        after.contains(">>> TLS 1.2, Handshake") && after.contains("ClientHello"),
        "{}",
        c.report()
    );
    assert!(
        after.contains("warning no_renegotiation\n    01 64"),
        "{}",
        c.report()
    );
    assert!(
        !after.contains("ServerHello"),
        "the server must not renegotiate\n{}",
        c.report()
    );
    assert!(after.contains("fatal handshake_failure"), "{}", c.report());
    assert!(!out.contains("after renegotiation"), "{}", c.report());
    assert!(c.stderr().contains("no renegotiation"), "{}", c.report());
    // The server logs the peer's fatal alert.
    server.peer.wait_for(Out::Stderr, "handshake_failure", STEP);

    // The server is still up for others.
    s_client_echo(server.addr, "AES256-GCM-SHA384", &[], None, "yes");
}

// ---------------------------------------------------------------------------
// Concurrency and shutdown
// ---------------------------------------------------------------------------

/// Eight clients hold established connections at the same time (each has
/// completed a round trip before any proceeds), plus an idle TCP connection
/// that never starts a handshake; then SIGTERM stops the server with exit 0.
#[test]
fn concurrent_clients_then_sigterm() {
    need_python();
    let mut server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
    ]);
    let port = server.addr.port();
    let _idle = TcpStream::connect(server.addr).expect("idle connection");
    let mut clients: Vec<Peer> = (0..8)
        .map(|i| {
            python_client(
                port,
                ["AES128-GCM-SHA256", "AES256-GCM-SHA384"][i % 2],
                true,
            )
        })
        .collect();
    for c in &clients {
        c.wait_for(Out::Stdout, "ready", STEP);
    }
    for c in &mut clients {
        c.send("go\n");
    }
    for c in &mut clients {
        let code = c.exit_code(STEP);
        assert_eq!(code, 0, "python client\n{}", c.report());
        assert!(c.stdout().contains("done"), "{}", c.report());
    }
    server.sigterm();
    let code = server.peer.exit_code(Duration::from_secs(10));
    assert_eq!(
        code,
        0,
        "rsatls serve exit code after SIGTERM\n{}",
        server.peer.report()
    );
    // stdout carries only the two readiness lines; diagnostics went to stderr.
    let expected = format!("listening on {}\npin {}\n", server.addr, server.pin);
    assert_eq!(server.peer.stdout(), expected, "{}", server.peer.report());
}
