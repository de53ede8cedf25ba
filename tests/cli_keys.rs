//! `rsatls keygen`, and keys in every form `serve` loads: PEM and DER, PKCS#8 and
//! PKCS#1, and encrypted PKCS#8 as the `openssl` command writes it, with the
//! passphrase from an environment variable or a file.
//!
//! The files are checked with the `openssl` command and by a real session: the
//! `rsatls serve` that loads them and an `rsatls connect --pin` that reaches it.
//! Scratch files live under CARGO_TARGET_TMPDIR. A missing `openssl` fails the
//! tests (CI installs it: see .ci/run).

#[allow(
    dead_code,
    reason = "shared with tests/interop.rs; not every helper is used here"
)]
#[path = "interop/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use harness::{Out, Peer, RsatlsServer, require};

const STEP: Duration = Duration::from_secs(20);
/// The passphrase of every encrypted key made here.
const PASSPHRASE: &str = "correct horse battery staple";

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-keys-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A committed test file (tests/data).
fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs a command to completion (stdin closed) and returns its output.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs `openssl ARGS`, failing the test unless it succeeds; returns stdout.
fn openssl(args: &[&str]) -> String {
    let out = run("openssl", args);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rsatls(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_rsatls"), args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The pin of a certificate file as OpenSSL computes it (curl's recipe).
fn openssl_pin(cert: &Path) -> String {
    let script = "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der \
                  | openssl dgst -sha256 -binary | base64";
    let out = run("sh", &["-c", script, "sh", path_str(cert)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    format!("sha256//{}", text(&out.stdout).trim())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `rsatls connect 127.0.0.1:PORT --pin PIN`: a line goes there and back,
/// stdin EOF closes cleanly, and the summary line names `subject`.
fn connect_roundtrip(server: &RsatlsServer, pin: &str, subject: &str) {
    let target = server.addr.to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args(["connect", &target, "--pin", pin]);
    let mut c = Peer::spawn(format!("rsatls connect --pin {pin}"), &mut cmd);
    let line = c.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(
        line.contains(&format!("pin {pin} subject {subject}")),
        "{line}"
    );
    c.send("through the loaded key\n");
    c.wait_for(Out::Stdout, "through the loaded key\n", STEP);
    c.close_stdin();
    assert_eq!(c.exit_code(STEP), 0, "{}", c.report());
}

// ---------------------------------------------------------------------------
// keygen
// ---------------------------------------------------------------------------

#[test]
fn keygen_writes_files_that_openssl_and_rsatls_load() {
    require("openssl", &["version"]);
    let dir = scratch("keygen");
    let out = rsatls(&["keygen", "--bits", "2048", "--out", path_str(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let pin = stdout
        .strip_prefix("pin ")
        .and_then(|p| p.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("stdout is not one pin line: {stdout:?}"));
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600, "key.pem mode");

    // OpenSSL reads both, finds the profile asked for, and the same pin.
    let x509 = openssl(&["x509", "-in", path_str(&cert), "-noout", "-text"]);
    for want in [
        "Public-Key: (2048 bit)",
        "Subject: CN = localhost",
        "Issuer: CN = localhost",
        "Signature Algorithm: sha256WithRSAEncryption",
        "X509v3 Basic Constraints: critical\n                CA:FALSE",
        "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment",
        "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    ] {
        assert!(x509.contains(want), "missing {want:?} in\n{x509}");
    }
    openssl(&["verify", "-CAfile", path_str(&cert), path_str(&cert)]);
    let check = openssl(&["pkey", "-in", path_str(&key), "-check", "-noout"]);
    assert!(check.contains("Key is valid"), "{check}");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "PKCS#8 PEM"
    );
    assert_eq!(openssl_pin(&cert), pin);

    // rsatls serves with them, and a client pinned to the printed pin connects.
    let server = RsatlsServer::start(&["--cert", path_str(&cert), "--key", path_str(&key)]);
    assert_eq!(server.pin, pin);
    connect_roundtrip(&server, pin, "CN=localhost");
}

#[test]
fn keygen_never_overwrites_without_force() {
    require("openssl", &["version"]);
    let dir = scratch("force");
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let first = rsatls(&["keygen", "--out", path_str(&dir)]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let (key_before, cert_before) = (std::fs::read(&key).unwrap(), std::fs::read(&cert).unwrap());

    // Either file existing is enough to refuse, before any key is generated.
    for remove in [None, Some(&key), Some(&cert)] {
        if let Some(path) = remove {
            std::fs::rename(path, dir.join("aside")).unwrap();
        }
        let again = rsatls(&["keygen", "--out", path_str(&dir)]);
        assert_eq!(again.status.code(), Some(3), "{}", text(&again.stderr));
        let err = text(&again.stderr);
        assert!(err.contains("exists") && err.contains("--force"), "{err}");
        assert!(!err.contains("generating"), "{err}");
        assert!(again.stdout.is_empty());
        if let Some(path) = remove {
            std::fs::rename(dir.join("aside"), path).unwrap();
        }
    }
    assert_eq!(std::fs::read(&key).unwrap(), key_before);
    assert_eq!(std::fs::read(&cert).unwrap(), cert_before);

    // --force replaces both; the key is created anew, so it is 0600 again even
    // where the old file had been opened up.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let forced = rsatls(&[
        "keygen",
        "--out",
        path_str(&dir),
        "--force",
        "--san",
        "example.test",
        "--san=192.0.2.7",
        "--days",
        "30",
    ]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_ne!(std::fs::read(&key).unwrap(), key_before);
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600, "key.pem mode after --force");
    let x509 = openssl(&["x509", "-in", path_str(&cert), "-noout", "-text"]);
    assert!(x509.contains("Subject: CN = example.test"), "{x509}");
    assert!(
        x509.contains("DNS:example.test, IP Address:192.0.2.7"),
        "{x509}"
    );
    openssl(&["pkey", "-in", path_str(&key), "-check", "-noout"]);
    let pin = text(&forced.stdout);
    assert_eq!(pin.trim(), format!("pin {}", openssl_pin(&cert)));
}

/// From 4096 bits the elapsed time is shown while primes are searched for
/// (lines every 5 s when stderr is not a terminal), and how long it took.
#[test]
fn keygen_4096_reports_its_time() {
    require("openssl", &["version"]);
    let dir = scratch("keygen4096");
    let out = rsatls(&["keygen", "--bits", "4096", "--out", path_str(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("generating a 4096-bit RSA key"), "{err}");
    let took = err
        .lines()
        .find_map(|l| l.strip_prefix("rsatls: key generated in "))
        .unwrap_or_else(|| panic!("no timing line in\n{err}"));
    let secs: f64 = took.trim_end_matches(" s").parse().unwrap();
    let ticks = err.lines().filter(|l| l.contains(" s elapsed (")).count();
    // One tick per full 5 s; the last may lose the race with the key.
    let full = (secs / 5.0) as usize;
    assert!(
        ticks <= full && ticks + 1 >= full,
        "{ticks} ticks in {secs} s:\n{err}"
    );
    let x509 = openssl(&[
        "x509",
        "-in",
        path_str(&dir.join("cert.pem")),
        "-noout",
        "-text",
    ]);
    assert!(x509.contains("Public-Key: (4096 bit)"), "{x509}");
}

#[test]
fn keygen_usage_errors_exit_2() {
    let dir = scratch("usage");
    let out = path_str(&dir);
    let cases: [&[&str]; 8] = [
        &["keygen", "--out", out, "--bits", "1024"],
        &["keygen", "--out", out, "--bits", "8193"],
        &["keygen", "--out", out, "--bits", "many"],
        &["keygen", "--bits", "2048"],
        &["keygen", "--out", out, "--san", "not a name"],
        &["keygen", "--out", out, "--days", "0"],
        &["keygen", "--out", out, "--san"],
        &["keygen", "--out", out, "extra"],
    ];
    for args in cases {
        let o = rsatls(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("Usage: rsatls"), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert!(!dir.join("key.pem").exists());
}

// ---------------------------------------------------------------------------
// Keys in every form, encrypted ones included
// ---------------------------------------------------------------------------

/// A 2048-bit key made by `openssl genpkey`, in every form rsatls reads, and
/// a certificate for it (PEM and DER).
struct OpensslKey {
    dir: PathBuf,
    pin: String,
}

impl OpensslKey {
    fn make(dir: PathBuf) -> OpensslKey {
        require("openssl", &["version"]);
        let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
        let pass = format!("pass:{PASSPHRASE}");
        openssl(&[
            "genpkey",
            "-quiet",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &p("plain.pem"),
        ]);
        let steps: [&[&str]; 6] = [
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                &p("plain.pem"),
                "-outform",
                "der",
                "-out",
                &p("plain.der"),
            ],
            &[
                "pkey",
                "-in",
                &p("plain.pem"),
                "-traditional",
                "-out",
                &p("pkcs1.pem"),
            ],
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                &p("plain.pem"),
                "-passout",
                &pass,
                "-out",
                &p("enc.pem"),
            ],
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                &p("plain.pem"),
                "-passout",
                &pass,
                "-outform",
                "der",
                "-out",
                &p("enc.der"),
            ],
            &[
                "pkcs8",
                "-topk8",
                "-scrypt",
                "-in",
                &p("plain.pem"),
                "-passout",
                &pass,
                "-out",
                &p("scrypt.pem"),
            ],
            &[
                "req",
                "-new",
                "-x509",
                "-key",
                &p("plain.pem"),
                "-subj",
                "/CN=openssl.test",
                "-days",
                "2",
                "-out",
                &p("cert.pem"),
            ],
        ];
        for args in steps {
            openssl(args);
        }
        openssl(&[
            "x509",
            "-in",
            &p("cert.pem"),
            "-outform",
            "der",
            "-out",
            &p("cert.der"),
        ]);
        // `genpkey -aes256` encrypts as it generates: a second key, with its own certificate.
        openssl(&[
            "genpkey",
            "-quiet",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-aes256",
            "-pass",
            &pass,
            "-out",
            &p("genpkey-aes256.pem"),
        ]);
        openssl(&[
            "req",
            "-new",
            "-x509",
            "-key",
            &p("genpkey-aes256.pem"),
            "-passin",
            &pass,
            "-subj",
            "/CN=openssl.test",
            "-days",
            "2",
            "-out",
            &p("genpkey-aes256.cert.pem"),
        ]);
        let pin = openssl_pin(&dir.join("cert.pem"));
        OpensslKey { dir, pin }
    }

    fn path(&self, name: &str) -> String {
        path_str(&self.dir.join(name)).to_string()
    }
}

/// Starts `rsatls serve --cert CERT --key KEY EXTRA...` with the passphrase in
/// the environment variable RSATLS_TEST_PASS, and runs a session through it.
fn serve_and_connect(cert: &str, key: &str, extra: &[&str], pin: &str) {
    let mut args = vec!["--cert", cert, "--key", key];
    args.extend_from_slice(extra);
    let server = RsatlsServer::start_with_env(&args, &[("RSATLS_TEST_PASS", PASSPHRASE)]);
    assert_eq!(server.pin, pin, "{key}");
    connect_roundtrip(&server, pin, "CN=openssl.test");
}

#[test]
fn serve_loads_plain_and_encrypted_keys_made_by_openssl() {
    let k = OpensslKey::make(scratch("openssl-keys"));
    let pass_file = k.dir.join("pass.txt");
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
    let env = ["--key-pass-env", "RSATLS_TEST_PASS"];
    let file = ["--key-pass-file", path_str(&pass_file)];
    let (cert_pem, cert_der) = (k.path("cert.pem"), k.path("cert.der"));
    let cases: [(&str, &str, &[&str]); 8] = [
        (&cert_pem, "plain.pem", &[]),
        (&cert_der, "plain.der", &[]),
        (&cert_pem, "pkcs1.pem", &[]),
        (&cert_der, "enc.pem", &env),
        (&cert_pem, "enc.der", &file),
        (&cert_pem, "scrypt.pem", &env),
        (&cert_pem, "enc.pem", &file),
        // A passphrase for a plain key is not needed and does no harm.
        (&cert_pem, "plain.pem", &env),
    ];
    std::thread::scope(|s| {
        for (cert, key, extra) in cases {
            let (key, pin) = (k.path(key), k.pin.as_str());
            s.spawn(move || serve_and_connect(cert, &key, extra, pin));
        }
        let cert = k.path("genpkey-aes256.cert.pem");
        let pin = openssl_pin(Path::new(&cert));
        let key = k.path("genpkey-aes256.pem");
        s.spawn(move || serve_and_connect(&cert, &key, &env, &pin));
    });
}

#[test]
fn bad_or_missing_passphrases_exit_3_with_a_clear_message() {
    let k = OpensslKey::make(scratch("passphrases"));
    let wrong_file = k.dir.join("wrong.txt");
    std::fs::write(&wrong_file, "not the passphrase\n").unwrap();
    let cert = k.path("cert.pem");
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "enc.pem",
            &["--key-pass-file", path_str(&wrong_file)],
            "wrong passphrase",
        ),
        (
            "enc.der",
            &["--key-pass-env", "RSATLS_TEST_WRONG"],
            "wrong passphrase",
        ),
        (
            "scrypt.pem",
            &["--key-pass-env", "RSATLS_TEST_WRONG"],
            "wrong passphrase",
        ),
        ("enc.pem", &[], "a passphrase is required"),
        (
            "enc.pem",
            &["--key-pass-env", "RSATLS_TEST_UNSET"],
            "RSATLS_TEST_UNSET is not set",
        ),
    ];
    for (key, extra, needle) in cases {
        let key = k.path(key);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            &cert,
            "--key",
            &key,
        ])
        .args(extra)
        .env("RSATLS_TEST_WRONG", "Correct horse battery staple")
        .env_remove("RSATLS_TEST_UNSET");
        let mut server = Peer::spawn(format!("rsatls serve --key {key} {extra:?}"), &mut cmd);
        assert_eq!(server.exit_code(STEP), 3, "{}", server.report());
        let err = server.stderr();
        // A key that does not decrypt is named; an unset variable is named instead.
        let names_key = !needle.contains("not set");
        assert!(
            err.contains(needle) && (err.contains(&key) || !names_key),
            "{}",
            server.report()
        );
        assert!(
            !err.contains(PASSPHRASE),
            "the passphrase must not be echoed"
        );
        assert!(server.stdout().is_empty(), "{}", server.report());
    }
    // On the command line, a passphrase is a usage error, not a silent acceptance.
    let o = rsatls(&[
        "serve",
        "--cert",
        &cert,
        "--key",
        &k.path("enc.pem"),
        "--key-pass",
        PASSPHRASE,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("not taken on the command line"));
}

/// `serve` with two --cert/--key pairs: the first is the default, the second is
/// chosen by SNI; `connect --servername` gets the one valid for that name.
#[test]
fn serve_chooses_the_certificate_by_sni() {
    require("openssl", &["version"]);
    let dir = scratch("sni");
    let out = rsatls(&["keygen", "--out", path_str(&dir), "--san", "other.test"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let other_pin = text(&out.stdout)
        .trim()
        .strip_prefix("pin ")
        .expect("pin line")
        .to_string();
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &data("rsa2048.key.pem"),
        "--cert",
        path_str(&cert),
        "--key",
        path_str(&key),
    ]);
    let default_pin = server.pin.clone();
    assert_ne!(default_pin, other_pin);
    let target = server.addr.to_string();
    for (name, pin, subject) in [
        ("other.test", other_pin.as_str(), "CN=other.test"),
        ("localhost", default_pin.as_str(), "CN=localhost"),
        ("unknown.test", default_pin.as_str(), "CN=localhost"),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
        cmd.args(["connect", &target, "--servername", name, "--pin", pin]);
        let mut c = Peer::spawn(format!("rsatls connect --servername {name}"), &mut cmd);
        let line = c.wait_line(Out::Stderr, "rsatls: connected:", STEP);
        assert!(
            line.contains(&format!("pin {pin} subject {subject}")),
            "{name}: {line}"
        );
        c.close_stdin();
        assert_eq!(c.exit_code(STEP), 0, "{}", c.report());
    }
    // Mismatched --cert/--key counts are a usage error.
    let out = rsatls(&[
        "serve",
        "--cert",
        path_str(&cert),
        "--key",
        path_str(&key),
        "--cert",
        path_str(&cert),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// `connect --alpn` against `serve --http`: http/1.1 is selected and printed;
/// offering only another protocol is refused with no_application_protocol.
#[test]
fn connect_alpn_against_serve_http() {
    let server = RsatlsServer::start(&["--http"]);
    let target = server.addr.to_string();
    let pin = server.pin.clone();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args(["connect", &target, "--pin", &pin, "--alpn", "h2,http/1.1"]);
    let mut c = Peer::spawn("rsatls connect --alpn h2,http/1.1", &mut cmd);
    let line = c.wait_line(Out::Stderr, "rsatls: connected:", STEP);
    assert!(line.contains(" alpn http/1.1 "), "{line}");
    c.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    c.wait_for(Out::Stdout, "Hello from rsatls", STEP);
    c.close_stdin();
    c.exit_code(STEP);

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args(["connect", &target, "--pin", &pin, "--alpn", "h2"]);
    let mut c = Peer::spawn("rsatls connect --alpn h2", &mut cmd);
    assert_eq!(c.exit_code(STEP), 1, "{}", c.report());
    assert!(
        c.stderr().contains("no_application_protocol"),
        "{}",
        c.report()
    );
}
