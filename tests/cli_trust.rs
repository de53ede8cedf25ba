//! `rsatls connect` against `openssl s_server` with certificates that OpenSSL
//! makes: the key usage rule (RFC 5246 §7.4.2) holds with `--pin` and with
//! `--cafile`, and a `--cafile` self-signed server is checked for its name.
//!
//! The certificates are made per test with `openssl req -x509` for the
//! committed rsa2048 key, in a scratch directory under CARGO_TARGET_TMPDIR.
//! A missing `openssl` fails the tests (CI installs it: see .ci/run).

#[allow(
    dead_code,
    reason = "shared with tests/interop.rs; not every helper is used here"
)]
#[path = "interop/harness.rs"]
mod harness;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::{Out, Peer, openssl_s_server, require, rsatls_connect};

const STEP: Duration = Duration::from_secs(20);

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn committed_pin(name: &str) -> String {
    std::fs::read_to_string(data(&format!("{name}.pin")))
        .expect("pin file")
        .trim()
        .to_string()
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-trust-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A self-signed certificate for the committed rsa2048 key, valid for
/// localhost and 127.0.0.1 with the keyUsage `usage`, made by `openssl req
/// -x509` as an operator would; its path.
fn openssl_certificate(dir: &Path, file: &str, usage: &str) -> PathBuf {
    require("openssl", &["version"]);
    let out = dir.join(file);
    let status = Command::new("openssl")
        .args(["req", "-x509", "-new", "-sha256", "-days", "2"])
        .args(["-key", &data("rsa2048.key.pem"), "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", &format!("keyUsage=critical,{usage}")])
        .args(["-out", path_str(&out)])
        .stdin(Stdio::null())
        .status()
        .expect("run openssl req");
    assert!(status.success(), "openssl req -x509 ... {usage}: {status}");
    out
}

/// `openssl s_server` for one connection with `cert` and the rsa2048 key.
fn s_server(cert: &Path) -> (Peer, SocketAddr) {
    let key = data("rsa2048.key.pem");
    openssl_s_server("AES128-GCM-SHA256", path_str(cert), &key, &[], &[])
}

/// Whether `text` names keyEncipherment, however it is spelled or spaced.
fn names_key_encipherment(text: &str) -> bool {
    let squeezed: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    squeezed.contains("keyencipherment")
}

/// RFC 5246 §7.4.2: a server certificate made for signatures only
/// (`keyUsage=digitalSignature`, as for an ECDHE-RSA server) is refused with
/// `--pin` and with `--cafile` naming it: exit 1, unsupported_certificate, the
/// reason on stderr, nothing on stdout. OpenSSL's s_server serves it all the
/// same, so the refusal is the client's.
#[test]
fn a_signature_only_certificate_is_refused_with_pin_and_cafile() {
    let dir = scratch("signature-only");
    let cert = openssl_certificate(&dir, "sign-only.pem", "digitalSignature");
    let pin = committed_pin("rsa2048");
    for auth in [["--pin", pin.as_str()], ["--cafile", path_str(&cert)]] {
        let (mut server, addr) = s_server(&cert);
        let target = addr.to_string();
        let mut client = rsatls_connect(&[&target, auth[0], auth[1]]);
        let code = client.exit_code(STEP);
        let report = format!("{auth:?}\n{}\n{}", client.report(), server.report());
        assert_eq!(code, 1, "exit code\n{report}");
        let stderr = client.stderr();
        assert!(stderr.contains("unsupported_certificate"), "{report}");
        assert!(names_key_encipherment(&stderr), "{report}");
        assert!(!stderr.contains("connected:"), "{report}");
        assert!(client.stdout().is_empty(), "{report}");
        // s_server saw the alert and gave up on its one connection.
        server.exit_code(STEP);
        assert!(
            server.stderr().contains("unsupported certificate"),
            "{report}"
        );
    }
}

/// The same setup with keyEncipherment in the keyUsage connects with `--pin`
/// and with `--cafile`, and with `--cafile` the leaf is still checked for the
/// name: `--servername` another name is refused (bad_certificate).
#[test]
fn a_key_encipherment_certificate_connects_and_a_cafile_leaf_is_checked_for_its_name() {
    let dir = scratch("key-encipherment");
    let cert = openssl_certificate(&dir, "encipher.pem", "digitalSignature,keyEncipherment");
    let pin = committed_pin("rsa2048");
    let cafile = path_str(&cert);
    for (auth, name) in [
        (["--pin", pin.as_str()], "localhost"),
        (["--cafile", cafile], "localhost"),
        (["--cafile", cafile], "127.0.0.1"),
    ] {
        let (server, addr) = s_server(&cert);
        let target = addr.to_string();
        let mut client = rsatls_connect(&[&target, auth[0], auth[1], "--servername", name]);
        if let Err(e) = client.try_wait_for(Out::Stderr, "rsatls: connected:", STEP) {
            panic!(
                "{auth:?} {name}: {e}\n{}\n{}",
                client.report(),
                server.report()
            );
        }
        client.send("ping\n");
        server.wait_for(Out::Stdout, "ping", STEP);
        client.close_stdin();
        let code = client.exit_code(STEP);
        assert_eq!(code, 0, "{auth:?} {name}\n{}", client.report());
    }

    let (mut server, addr) = s_server(&cert);
    let target = addr.to_string();
    let args = [
        &target,
        "--cafile",
        cafile,
        "--servername",
        "www.example.test",
    ];
    let mut client = rsatls_connect(&args);
    let code = client.exit_code(STEP);
    let report = format!("{}\n{}", client.report(), server.report());
    assert_eq!(code, 1, "{report}");
    assert!(client.stderr().contains("bad_certificate"), "{report}");
    server.exit_code(STEP);
}
