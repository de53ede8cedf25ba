//! Mutual TLS with real peers, on both suites, with the chain checked on both
//! ends: `rsatls connect --cert/--key` against `openssl s_server -Verify 1
//! -verify_return_error` and `gnutls-serv --require-client-cert
//! --verify-client-cert`; `openssl s_client -cert/-key`, `curl --cert/--key`
//! and Python's `ssl` (`load_cert_chain`) against `rsatls serve --client-ca`;
//! and each refusal seen by `openssl s_client` with its alert.
//!
//! The PKI is tests/data/mtls (made by its make.sh): a CA, a server
//! certificate for localhost, a client certificate (clientAuth,
//! digitalSignature), an expired one for the same key, and a client of
//! another CA. A bad CertificateVerify cannot be made with these peers
//! (s_client refuses a key that does not match its certificate before
//! connecting); the engine's tests cover it in process, in tests/client_auth.rs:
//! `a_certificate_verify_by_the_wrong_key_is_decrypt_error`,
//! `a_tampered_certificate_verify_is_decrypt_error`,
//! `a_certificate_verify_with_a_scheme_not_offered_is_illegal_parameter`,
//! `a_missing_certificate_verify_is_unexpected_message`,
//! `a_duplicated_certificate_verify_is_unexpected_message`.
//!
//! Everything runs on 127.0.0.1 with OS-chosen ports, bounded by timeouts; a
//! missing peer program fails the test (CI installs them: see .ci/run).

#[allow(
    dead_code,
    reason = "shared with tests/interop.rs; not every helper is used here"
)]
#[path = "interop/harness.rs"]
mod harness;

use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::Duration;

use harness::{Out, Peer, RsatlsServer, gnutls_serv, openssl_s_server, require, rsatls_connect};

/// The suites rsatls speaks: OpenSSL's name, the IANA name rsatls prints,
/// GnuTLS's cipher name.
const SUITES: [(&str, &str, &str); 2] = [
    (
        "AES128-GCM-SHA256",
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "AES-128-GCM",
    ),
    (
        "AES256-GCM-SHA384",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "AES-256-GCM",
    ),
];

/// Generous bound for a handshake plus a round trip on loopback.
const STEP: Duration = Duration::from_secs(20);

/// The subject of client.cert.pem as rsatls prints it (RFC 4514 order) and
/// as OpenSSL prints it.
const CLIENT_SUBJECT: &str = "CN=rsatls test client,O=rsatls";
const CLIENT_SUBJECT_OPENSSL: &str = "O = rsatls, CN = rsatls test client";

fn pki(name: &str) -> String {
    format!("{}/tests/data/mtls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `rsatls serve` with the mtls server certificate and `extra` arguments.
fn serve(extra: &[&str]) -> RsatlsServer {
    let (cert, key) = (pki("server.cert.pem"), pki("server.key.pem"));
    let mut args = vec!["--cert", cert.as_str(), "--key", key.as_str()];
    args.extend_from_slice(extra);
    RsatlsServer::start(&args)
}

// ---------------------------------------------------------------------------
// rsatls connect --cert/--key against OpenSSL and GnuTLS servers
// ---------------------------------------------------------------------------

/// `openssl s_server -Verify 1 -verify_return_error -CAfile ca.cert.pem`: a
/// client certificate is required and must verify, else the handshake fails.
fn s_server_requiring_a_client_certificate(cipher: &str) -> (Peer, SocketAddr) {
    openssl_s_server(
        cipher,
        &pki("server.cert.pem"),
        &pki("server.key.pem"),
        &[
            "-Verify",
            "1",
            "-verify_return_error",
            "-CAfile",
            &pki("ca.cert.pem"),
        ],
        &[],
    )
}

/// The arguments of `rsatls connect` to ADDR with the mtls CA, `cert` and `key`.
fn connect_args<'a>(target: &'a str, ca: &'a str, cert: &'a str, key: &'a str) -> Vec<&'a str> {
    vec![
        target,
        "--cafile",
        ca,
        "--servername",
        "localhost",
        "--cert",
        cert,
        "--key",
        key,
    ]
}

/// rsatls connect ↔ s_server requiring a client certificate: s_server checks
/// the chain (its verify callback prints each depth) and the CertificateVerify
/// (RSA-PSS with SHA-256, rsatls's first choice), a line goes each way, and
/// both end cleanly. `key_args` are the key's options (a plain or an
/// encrypted key).
fn connect_to_s_server(cipher: &str, suite: &str, key_args: &[&str]) {
    let (mut server, addr) = s_server_requiring_a_client_certificate(cipher);
    let target = addr.to_string();
    let (ca, cert) = (pki("ca.cert.pem"), pki("client.cert.pem"));
    let mut args = vec![
        target.as_str(),
        "--cafile",
        &ca,
        "--servername",
        "localhost",
        "--cert",
        &cert,
    ];
    args.extend_from_slice(key_args);
    let mut client = rsatls_connect(&args);
    if let Err(e) = client.try_wait_for(Out::Stderr, "rsatls: connected:", STEP) {
        panic!("{e}\n{}\n{}", client.report(), server.report());
    }
    let hs = client.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(hs.contains(suite), "{hs}");
    assert!(hs.contains("client_certificate=sent"), "{hs}");
    assert!(hs.ends_with("subject CN=localhost"), "{hs}");
    server.wait_for(Out::Stdout, &format!("CIPHER is {cipher}"), STEP);
    // The verify callback's lines go to stderr, the session's to stdout: two
    // pipes, read as they come.
    for (which, want) in [
        (
            Out::Stderr,
            "depth=1 O = rsatls, CN = rsatls test CA\nverify return:1".to_string(),
        ),
        (
            Out::Stderr,
            format!("depth=0 {CLIENT_SUBJECT_OPENSSL}\nverify return:1"),
        ),
        (Out::Stdout, "Client certificate".to_string()),
        (Out::Stdout, format!("subject={CLIENT_SUBJECT_OPENSSL}")),
        (Out::Stdout, "Peer signing digest: SHA256".to_string()),
        (Out::Stdout, "Peer signature type: RSA-PSS".to_string()),
    ] {
        server.wait_for(which, &want, STEP);
    }
    let down = format!("from s_server {cipher}\n").to_lowercase();
    server.send(&down);
    client.wait_for(Out::Stdout, &down, STEP);
    let up = format!("from rsatls {suite}\n");
    client.send(&up);
    server.wait_for(Out::Stdout, &up, STEP);
    client.close_stdin();
    assert_eq!(
        client.exit_code(STEP),
        0,
        "{}\n{}",
        client.report(),
        server.report()
    );
    assert_eq!(server.exit_code(STEP), 0, "{}", server.report());
}

#[test]
fn connect_with_a_client_certificate_to_s_server_requiring_one() {
    let key = pki("client.key.pem");
    thread::scope(|s| {
        for (cipher, suite, _) in SUITES {
            let key = key.as_str();
            s.spawn(move || connect_to_s_server(cipher, suite, &["--key", key]));
        }
    });
}

/// The client key may be encrypted PKCS#8, with the passphrase options serve
/// has: here `--key-pass-file`.
#[test]
fn connect_with_an_encrypted_client_key_and_a_passphrase_file() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let pass = dir.join(format!("mtls-pass-{}", std::process::id()));
    std::fs::write(&pass, "rsatls-test\n").unwrap();
    let (cipher, suite, _) = SUITES[1];
    connect_to_s_server(
        cipher,
        suite,
        &[
            "--key",
            &pki("client.key.enc.pem"),
            "--key-pass-file",
            pass.to_str().unwrap(),
        ],
    );
}

/// s_server's own check of the chain is real: a client certificate of another
/// CA is refused by OpenSSL (unknown_ca), and rsatls names the alert.
#[test]
fn s_server_refuses_a_client_certificate_of_another_ca() {
    let (cipher, _, _) = SUITES[0];
    let (server, addr) = s_server_requiring_a_client_certificate(cipher);
    let target = addr.to_string();
    let (ca, cert, key) = (
        pki("ca.cert.pem"),
        pki("other-client.cert.pem"),
        pki("other-client.key.pem"),
    );
    let mut client = rsatls_connect(&connect_args(&target, &ca, &cert, &key));
    let code = client.exit_code(STEP);
    assert_eq!(code, 1, "{}\n{}", client.report(), server.report());
    assert!(
        client.stderr().contains("unknown_ca"),
        "{}\n{}",
        client.report(),
        server.report()
    );
    server.wait_for(
        Out::Stderr,
        "verify error:unable to get local issuer certificate",
        STEP,
    );
}

/// rsatls connect ↔ `gnutls-serv --require-client-cert --verify-client-cert`
/// on one suite (the priority string leaves GnuTLS that cipher and RSA key
/// exchange only): GnuTLS trusts the chain, reports the client's subject and
/// its signature, and echoes a line.
fn connect_to_gnutls_serv(suite: &str, gnutls_cipher: &str) {
    let priority =
        format!("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA:-CIPHER-ALL:+{gnutls_cipher}");
    let (server, addr) = gnutls_serv(
        &pki("server.cert.pem"),
        &pki("server.key.pem"),
        &[
            "--echo",
            "--require-client-cert",
            "--verify-client-cert",
            "--x509cafile",
            &pki("ca.cert.pem"),
            "--priority",
            &priority,
        ],
    );
    let target = addr.to_string();
    let (ca, cert, key) = (
        pki("ca.cert.pem"),
        pki("client.cert.pem"),
        pki("client.key.pem"),
    );
    let mut client = rsatls_connect(&connect_args(&target, &ca, &cert, &key));
    if let Err(e) = client.try_wait_for(Out::Stderr, "rsatls: connected:", STEP) {
        panic!("{e}\n{}\n{}", client.report(), server.report());
    }
    let hs = client.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(hs.contains(suite), "{hs}");
    assert!(hs.contains("client_certificate=sent"), "{hs}");
    let line = format!("from rsatls to gnutls-serv {gnutls_cipher}\n").to_lowercase();
    client.send(&line);
    client.wait_for(Out::Stdout, &line, STEP);
    server.wait_for(Out::Stderr, "received cmd: from rsatls", STEP);
    for want in [
        "- Status: The certificate is trusted.".to_string(),
        format!("Subject: {CLIENT_SUBJECT}"),
        "- Key Exchange: RSA".to_string(),
        format!("- Cipher: {gnutls_cipher}"),
        "- Client Signature: RSA-PSS".to_string(),
        "extended master secret".to_string(),
    ] {
        server.wait_for(Out::Stdout, &want, STEP);
    }
    client.close_stdin();
    assert_eq!(
        client.exit_code(STEP),
        0,
        "{}\n{}",
        client.report(),
        server.report()
    );
    assert_eq!(client.stdout(), line);
}

#[test]
fn connect_with_a_client_certificate_to_gnutls_serv_requiring_one() {
    thread::scope(|s| {
        for (_, suite, gnutls_cipher) in SUITES {
            s.spawn(move || connect_to_gnutls_serv(suite, gnutls_cipher));
        }
    });
}

/// The client's choice among what the server offers, seen by OpenSSL:
/// s_server offering only PKCS#1 v1.5 with SHA-384 (`-client_sigalgs
/// RSA+SHA384`) gets a PKCS#1 v1.5 SHA-384 CertificateVerify; offering only
/// ECDSA, nothing rsatls's key can make, it gets an empty Certificate (and
/// with `-verify 1`, which does not insist, the session goes on), and the
/// summary says `client_certificate=empty`. A server that does not ask gets
/// `client_certificate=not-requested`.
#[test]
fn connect_follows_the_servers_signature_algorithms_and_says_what_it_sent() {
    let (ca, cert, key) = (
        pki("ca.cert.pem"),
        pki("client.cert.pem"),
        pki("client.key.pem"),
    );
    let (cipher, suite, _) = SUITES[1];
    let cases: [(&[&str], &str, &[&str]); 3] = [
        (
            &[
                "-Verify",
                "1",
                "-verify_return_error",
                "-client_sigalgs",
                "RSA+SHA384",
            ],
            "client_certificate=sent",
            &["Peer signing digest: SHA384", "Peer signature type: RSA\n"],
        ),
        (
            &["-verify", "1", "-client_sigalgs", "ECDSA+SHA256"],
            "client_certificate=empty",
            &["<<< TLS 1.2, Handshake [length 0007], Certificate"],
        ),
        (&[], "client_certificate=not-requested", &[]),
    ];
    thread::scope(|s| {
        for (server_args, summary, server_says) in cases {
            let (ca, cert, key) = (ca.as_str(), cert.as_str(), key.as_str());
            s.spawn(move || {
                let mut args = vec!["-CAfile", ca, "-msg"];
                args.extend_from_slice(server_args);
                let (mut server, addr) = openssl_s_server(
                    cipher,
                    &pki("server.cert.pem"),
                    &pki("server.key.pem"),
                    &args,
                    &[],
                );
                let target = addr.to_string();
                let mut client = rsatls_connect(&connect_args(&target, ca, cert, key));
                if let Err(e) = client.try_wait_for(Out::Stderr, "rsatls: connected:", STEP) {
                    panic!("{e}\n{}\n{}", client.report(), server.report());
                }
                let hs = client.wait_line(Out::Stderr, "rsatls: connected:", STEP);
                assert!(hs.contains(suite), "{hs}");
                assert!(hs.contains(summary), "wanted {summary}: {hs}");
                server.wait_for(Out::Stdout, &format!("CIPHER is {cipher}"), STEP);
                for want in server_says {
                    server.wait_for(Out::Stdout, want, STEP);
                }
                client.send("bye\n");
                server.wait_for(Out::Stdout, "bye\n", STEP);
                client.close_stdin();
                assert_eq!(client.exit_code(STEP), 0, "{}", client.report());
                assert_eq!(server.exit_code(STEP), 0, "{}", server.report());
            });
        }
    });
}

// ---------------------------------------------------------------------------
// OpenSSL, curl and Python clients against rsatls serve --client-ca
// ---------------------------------------------------------------------------

/// `openssl s_client -connect ADDR -tls1_2 -cipher CIPHER -CAfile ca EXTRA...`.
fn s_client(addr: SocketAddr, cipher: &str, extra: &[&str]) -> Peer {
    require("openssl", &["version"]);
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr.to_string(), "-tls1_2"])
        .args(["-cipher", cipher, "-CAfile", &pki("ca.cert.pem")])
        .args(["-verify_return_error", "-verify_hostname", "localhost"])
        .args(extra);
    Peer::spawn(
        format!("openssl s_client -cipher {cipher} {}", extra.join(" ")),
        &mut cmd,
    )
}

/// s_client with `cert`/`key` (or none) to `server`: the session completes,
/// a line is echoed and stdin EOF ends it cleanly; the server logs `logged`.
fn s_client_echo(
    server: &RsatlsServer,
    cipher: &str,
    cert_key: Option<(&str, &str)>,
    logged: &str,
) {
    let (cert, key);
    let mut extra = Vec::new();
    if let Some((c, k)) = cert_key {
        (cert, key) = (pki(c), pki(k));
        extra = vec!["-cert", cert.as_str(), "-key", key.as_str()];
    }
    let mut c = s_client(server.addr, cipher, &extra);
    c.wait_line(Out::Stdout, "Extended master secret:", STEP);
    let out = c.stdout();
    for want in [
        format!("New, TLSv1.2, Cipher is {cipher}"),
        "Verify return code: 0 (ok)".to_string(),
        "Extended master secret: yes".to_string(),
        // The CertificateRequest's certificate_authorities: the CA's name.
        "Acceptable client certificate CA names\nO = rsatls, CN = rsatls test CA".to_string(),
    ] {
        assert!(
            out.contains(&want),
            "s_client did not report {want:?}\n{}\n{}",
            c.report(),
            server.peer.report()
        );
    }
    let line = format!("ping {cipher}\n").to_lowercase();
    c.send(&line);
    c.wait_for(Out::Stdout, &line, STEP);
    c.close_stdin();
    assert_eq!(c.exit_code(STEP), 0, "{}", c.report());
    server.peer.wait_for(Out::Stderr, logged, STEP);
}

/// s_client with the client certificate → serve --client-ca (required by
/// default), both suites: the handshake completes and serve logs the
/// verified client's subject.
#[test]
fn s_client_with_a_client_certificate_to_serve_client_ca() {
    let server = serve(&["--client-ca", &pki("ca.cert.pem")]);
    let logged = format!("client_subject=\"{CLIENT_SUBJECT}\"");
    thread::scope(|s| {
        for (cipher, _, _) in SUITES {
            let (server, logged) = (&server, logged.as_str());
            s.spawn(move || {
                s_client_echo(
                    server,
                    cipher,
                    Some(("client.cert.pem", "client.key.pem")),
                    logged,
                )
            });
        }
    });
}

/// One refused s_client: it exits 1 and names the alert and its number.
fn s_client_refused(
    server: &RsatlsServer,
    cipher: &str,
    cert_key: Option<(&str, &str)>,
    alert: &str,
    number: u8,
) {
    let (cert, key);
    let mut extra = Vec::new();
    if let Some((c, k)) = cert_key {
        (cert, key) = (pki(c), pki(k));
        extra = vec!["-cert", cert.as_str(), "-key", key.as_str()];
    }
    let mut c = s_client(server.addr, cipher, &extra);
    let code = c.exit_code(STEP);
    let err = c.stderr();
    assert!(
        code != 0
            && err.contains(&format!("alert {alert}"))
            && err.contains(&format!("SSL alert number {number}")),
        "s_client {cert_key:?}: wanted alert {alert} ({number}), exit {code}\n{}\n{}",
        c.report(),
        server.peer.report()
    );
}

/// RFC 5246 §7.4.6 and §7.4.8 as OpenSSL sees serve's refusals, both suites:
/// no certificate when one is required → handshake failure (40); a client of
/// another CA → unknown ca (48); an expired certificate → certificate expired
/// (45). The server goes on serving: a good client still gets in afterwards.
#[test]
fn serve_refusals_seen_by_s_client() {
    let server = serve(&[
        "--client-ca",
        &pki("ca.cert.pem"),
        "--client-auth",
        "required",
    ]);
    thread::scope(|s| {
        for (cipher, _, _) in SUITES {
            let server = &server;
            s.spawn(move || s_client_refused(server, cipher, None, "handshake failure", 40));
            s.spawn(move || {
                s_client_refused(
                    server,
                    cipher,
                    Some(("other-client.cert.pem", "other-client.key.pem")),
                    "unknown ca",
                    48,
                )
            });
            s.spawn(move || {
                s_client_refused(
                    server,
                    cipher,
                    Some(("expired.cert.pem", "client.key.pem")),
                    "certificate expired",
                    45,
                )
            });
        }
    });
    let logged = format!("client_subject=\"{CLIENT_SUBJECT}\"");
    s_client_echo(
        &server,
        SUITES[0].0,
        Some(("client.cert.pem", "client.key.pem")),
        &logged,
    );
}

/// `--client-auth optional`: s_client without a certificate gets in (serve
/// logs `client_subject="none"`), with the good one it is authenticated, and a
/// certificate that is sent but fails validation is still refused.
#[test]
fn serve_client_auth_optional() {
    let server = serve(&[
        "--client-ca",
        &pki("ca.cert.pem"),
        "--client-auth",
        "optional",
    ]);
    let (cipher, _, _) = SUITES[1];
    s_client_echo(&server, cipher, None, "client_subject=\"none\"");
    s_client_echo(
        &server,
        cipher,
        Some(("client.cert.pem", "client.key.pem")),
        &format!("client_subject=\"{CLIENT_SUBJECT}\""),
    );
    s_client_refused(
        &server,
        cipher,
        Some(("other-client.cert.pem", "other-client.key.pem")),
        "unknown ca",
        48,
    );
    s_client_refused(
        &server,
        cipher,
        Some(("expired.cert.pem", "client.key.pem")),
        "certificate expired",
        45,
    );
}

/// curl `--cert --key` → serve --http --client-ca, both suites: the page
/// names the client's subject; without a certificate curl is refused.
#[test]
fn curl_with_a_client_certificate_to_serve_http() {
    require("curl", &["--version"]);
    let server = serve(&["--http", "--client-ca", &pki("ca.cert.pem")]);
    let port = server.addr.port();
    let curl = |cipher: &str, cert: bool| -> Peer {
        let url = format!("https://localhost:{port}/");
        let resolve = format!("localhost:{port}:127.0.0.1");
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "15", "--tlsv1.2", "--tls-max", "1.2"])
            .args(["--ciphers", cipher, "--resolve", &resolve])
            .args(["--cacert", &pki("ca.cert.pem")]);
        if cert {
            cmd.args([
                "--cert",
                &pki("client.cert.pem"),
                "--key",
                &pki("client.key.pem"),
            ]);
        }
        cmd.arg(&url);
        Peer::spawn(format!("curl {cipher} cert={cert}"), &mut cmd)
    };
    thread::scope(|s| {
        for (cipher, suite, _) in SUITES {
            s.spawn(move || {
                let mut c = curl(cipher, true);
                assert_eq!(c.exit_code(STEP), 0, "{}", c.report());
                let page = c.stdout();
                assert!(
                    page.contains(&format!("{suite} with Extended Master Secret: true")),
                    "{page}"
                );
                assert!(
                    page.contains(&format!(
                        "<p>client certificate subject {CLIENT_SUBJECT}</p>"
                    )),
                    "{page}"
                );
            });
        }
        s.spawn(move || {
            // No certificate: serve refuses with handshake_failure; curl fails
            // (exit 56, receive error, with OpenSSL's "alert handshake failure").
            let mut c = curl(SUITES[0].0, false);
            let code = c.exit_code(STEP);
            assert_ne!(code, 0, "{}", c.report());
            assert!(c.stderr().contains("handshake failure"), "{}", c.report());
        });
    });
}

/// `serve --http --client-ca --client-auth optional`: curl without a
/// certificate gets a page that says so.
#[test]
fn serve_http_page_says_when_there_is_no_client_certificate() {
    require("curl", &["--version"]);
    let server = serve(&[
        "--http",
        "--client-ca",
        &pki("ca.cert.pem"),
        "--client-auth",
        "optional",
    ]);
    let port = server.addr.port();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "15", "--tlsv1.2", "--tls-max", "1.2"])
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["--cacert", &pki("ca.cert.pem")])
        .arg(format!("https://localhost:{port}/"));
    let mut c = Peer::spawn("curl without a certificate", &mut cmd);
    assert_eq!(c.exit_code(STEP), 0, "{}", c.report());
    assert!(
        c.stdout().contains("<p>no client certificate</p>"),
        "{}",
        c.report()
    );
}

/// Python's ssl client with `load_cert_chain` (argv: port, cipher, CA,
/// certificate, key): echoes a line and prints `done` after a clean close.
const PY_CLIENT: &str = r#"
import socket, ssl, sys
port, cipher, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers(cipher)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        print("cipher", s.cipher(), flush=True)
        msg = b"hello from python with a certificate\n"
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(65536)
            if not d:
                sys.exit("closed early")
            got += d
        if got != msg:
            sys.exit("echo differs")
        s.unwrap()
        print("done", flush=True)
"#;

#[test]
fn python_ssl_client_with_a_certificate_to_serve_client_ca() {
    require("python3", &["-c", "import ssl"]);
    let server = serve(&["--client-ca", &pki("ca.cert.pem")]);
    thread::scope(|s| {
        for (cipher, _, _) in SUITES {
            let server = &server;
            s.spawn(move || {
                let mut cmd = Command::new("python3");
                cmd.args(["-c", PY_CLIENT, &server.addr.port().to_string(), cipher])
                    .args([
                        pki("ca.cert.pem"),
                        pki("client.cert.pem"),
                        pki("client.key.pem"),
                    ]);
                let mut c = Peer::spawn(format!("python3 ssl client {cipher}"), &mut cmd);
                assert_eq!(
                    c.exit_code(STEP),
                    0,
                    "{}\n{}",
                    c.report(),
                    server.peer.report()
                );
                let out = c.stdout();
                assert!(out.contains(&format!("'{cipher}'")), "{out}");
                assert!(out.contains("done"), "{out}");
            });
        }
    });
    server.peer.wait_for(
        Out::Stderr,
        &format!("client_subject=\"{CLIENT_SUBJECT}\""),
        STEP,
    );
}

// ---------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------

/// Runs `rsatls ARGS...` to completion and returns its exit code and stderr.
fn rsatls(args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args(args);
    let mut p = Peer::spawn(format!("rsatls {}", args.join(" ")), &mut cmd);
    p.close_stdin();
    let code = p.exit_code(STEP);
    (code, p.stderr())
}

/// `--client-auth` without `--client-ca`, a mode that is not one, and `--cert`
/// without `--key` (or the reverse) are usage errors (exit 2, with the usage);
/// a CA file with no CA certificate, and a client key that does not match its
/// certificate, are file errors (exit 3).
#[test]
fn mutual_tls_options_are_in_the_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_rsatls"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for want in [
        "[--client-ca FILE [--client-auth required|optional]]",
        "[--cert FILE --key FILE [--key-pass-env NAME | --key-pass-file PATH]]",
        "`client_certificate=sent|empty|not-requested`",
    ] {
        assert!(help.contains(want), "--help lacks {want:?}\n{help}");
    }
}

#[test]
fn mutual_tls_options_are_checked() {
    let (ca, cert, key, other_key) = (
        pki("ca.cert.pem"),
        pki("client.cert.pem"),
        pki("client.key.pem"),
        pki("other-client.key.pem"),
    );
    for (args, code, needle) in [
        (
            vec!["serve", "--client-auth", "optional"],
            2,
            "--client-auth needs --client-ca",
        ),
        (
            vec!["serve", "--client-ca", &ca, "--client-auth", "sometimes"],
            2,
            "`sometimes` is not `required` or `optional`",
        ),
        (
            vec!["connect", "127.0.0.1:1", "--cafile", &ca, "--cert", &cert],
            2,
            "--cert and --key go together",
        ),
        (
            vec!["connect", "127.0.0.1:1", "--cafile", &ca, "--key", &key],
            2,
            "--cert and --key go together",
        ),
        (vec!["serve", "--client-ca", &key], 3, "--client-ca"),
        (
            vec![
                "connect",
                "127.0.0.1:1",
                "--cafile",
                &ca,
                "--cert",
                &cert,
                "--key",
                &other_key,
            ],
            3,
            "does not match",
        ),
    ] {
        let (got, err) = rsatls(&args);
        assert_eq!(got, code, "{args:?}\n{err}");
        assert!(err.contains(needle), "{args:?}: wanted {needle:?}\n{err}");
        if code == 2 {
            assert!(err.contains("Usage: rsatls"), "{args:?}\n{err}");
        }
    }
}

/// Both ends rsatls, through the CLI: connect --cert/--key → serve
/// --client-ca. The server logs the subject and a line is echoed; a client of
/// another CA is refused and told so (`unknown_ca`, exit 1).
#[test]
fn connect_with_a_client_certificate_to_serve_client_ca() {
    let (ca, cert, key) = (
        pki("ca.cert.pem"),
        pki("client.cert.pem"),
        pki("client.key.pem"),
    );
    let server = serve(&["--client-ca", &ca]);
    let target = server.addr.to_string();
    let mut client = rsatls_connect(&connect_args(&target, &ca, &cert, &key));
    let hs = client.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(hs.contains("client_certificate=sent"), "{hs}");
    client.send("both ends rsatls\n");
    client.wait_for(Out::Stdout, "both ends rsatls\n", STEP);
    client.close_stdin();
    assert_eq!(client.exit_code(STEP), 0, "{}", client.report());
    // The connection's log line, written when it ends.
    server.peer.wait_for(
        Out::Stderr,
        &format!("client_subject=\"{CLIENT_SUBJECT}\""),
        STEP,
    );

    let (other_cert, other_key) = (pki("other-client.cert.pem"), pki("other-client.key.pem"));
    let mut refused = rsatls_connect(&connect_args(&target, &ca, &other_cert, &other_key));
    assert_eq!(refused.exit_code(STEP), 1, "{}", refused.report());
    assert!(
        refused.stderr().contains("unknown_ca"),
        "{}\n{}",
        refused.report(),
        server.peer.report()
    );
}

// ---------------------------------------------------------------------------
// The tokio adapter's accept
// ---------------------------------------------------------------------------

/// `rsatls::tokio::accept` reads the clock and validates the client's chain
/// at it: with client authentication required, `openssl s_client -cert -key`
/// completes the handshake and the server's `peer_certificates` is the
/// client's chain. (A connection made without a time cannot validate a chain
/// and fails at the ClientHello.)
#[test]
fn tokio_accept_validates_the_client_chain_at_the_current_time() {
    use rand_core::SeedableRng;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let read = |name: &str| std::fs::read(pki(name)).unwrap();
    let provider = rsatls::crypto::default_provider();
    let roots = rsatls::pki::load_certificates(&read("ca.cert.pem")).unwrap();
    let config = rsatls::ServerConfig::from_pem_or_der(
        provider,
        &read("server.cert.pem"),
        &read("server.key.pem"),
    )
    .unwrap()
    .with_client_auth(roots, rsatls::ClientAuthMode::Required)
    .unwrap();
    let config = std::sync::Arc::new(config);
    let client_leaf = rsatls::pki::load_certificates(&read("client.cert.pem")).unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cert, key) = (pki("client.cert.pem"), pki("client.key.pem"));
        let mut client = s_client(addr, SUITES[0].0, &["-cert", &cert, "-key", &key]);
        let (tcp, _) = tokio::time::timeout(STEP, listener.accept())
            .await
            .expect("s_client connects")
            .unwrap();
        let rng = rand_chacha::ChaCha20Rng::seed_from_u64(13);
        let accepted = tokio::time::timeout(
            STEP,
            rsatls::tokio::accept(config, tcp, rng, rsatls::tokio::Timeouts::default()),
        )
        .await
        .expect("handshake within the limit");
        let mut tls = accepted.unwrap_or_else(|e| panic!("accept: {e}\n{}", client.report()));
        let info = tls.conn().handshake_info().unwrap().clone();
        assert_eq!(info.peer_certificates.first(), client_leaf.first());
        client.send("over tokio\n");
        let mut line = [0u8; 11];
        tokio::time::timeout(STEP, tls.read_exact(&mut line))
            .await
            .expect("a line within the limit")
            .unwrap();
        assert_eq!(&line, b"over tokio\n");
        tls.shutdown().await.unwrap();
    });
}
