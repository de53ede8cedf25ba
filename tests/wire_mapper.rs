//! The wire mapper of the state learner (examples/wire_mapper,
//! formal/learning/ALPHABET.md) against the real `rsatls` binary: the happy
//! paths as server (plain and with client authentication) and as client, and
//! wrong orders with the exact outputs the learner will see.
//!
//! The mapper is an example, which `cargo test` does not build: the test builds
//! it once with the same cargo and profile, then drives it over stdin/stdout
//! as the learner does. Every wait is bounded.

#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use harness::RsatlsServer;

/// Quiet time that ends each output: generous, since the machine is shared
/// and a late answer would land on the next input.
const QUIET_MS: &str = "400";

/// The longest one mapper run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(180);

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Builds the example (a no-op when it is up to date) into this test's target
/// directory and profile, once, and returns its path.
fn mapper() -> &'static PathBuf {
    static MAPPER: OnceLock<PathBuf> = OnceLock::new();
    MAPPER.get_or_init(|| {
        // This test runs as TARGET/PROFILE/deps/wire_mapper-HASH.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--example", "wire_mapper"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the wire_mapper example failed");
        let path = profile_dir.join("examples").join("wire_mapper");
        assert!(path.exists(), "{} was not built", path.display());
        path
    })
}

/// Runs the mapper with `args`, feeds it `inputs` (one per line, then EOF) and
/// returns its answers, one per line.
fn run(args: &[&str], inputs: &[&str]) -> Vec<String> {
    let mut child = Command::new(mapper())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("wire_mapper starts");
    let mut stdin = child.stdin.take().unwrap();
    let script: String = inputs.iter().map(|i| format!("{i}\n")).collect();
    stdin.write_all(script.as_bytes()).unwrap();
    drop(stdin);
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let Ok(text) = rx.recv_timeout(RUN_LIMIT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("wire_mapper {args:?} did not finish in {RUN_LIMIT:?}");
    };
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "wire_mapper {args:?} exited with {status}"
    );
    text.lines().map(str::to_string).collect()
}

/// Runs `steps` (input, expected output) after a `reset` each time the input
/// is `reset`, and compares every answer.
fn check(args: &[&str], steps: &[(&str, &str)]) {
    let inputs: Vec<&str> = steps.iter().map(|(i, _)| *i).collect();
    let expected: Vec<&str> = steps.iter().map(|(_, o)| *o).collect();
    let got = run(args, &inputs);
    let table: Vec<String> = inputs
        .iter()
        .zip(
            got.iter()
                .map(String::as_str)
                .chain(std::iter::repeat("<none>")),
        )
        .map(|(i, o)| format!("{i:>28} -> {o}"))
        .collect();
    assert_eq!(got, expected, "answers:\n{}", table.join("\n"));
}

fn server_side_args<'a>(addr: &'a str, cert: &'a str) -> Vec<&'a str> {
    vec![
        "server-side",
        "--connect",
        addr,
        "--server-cert",
        cert,
        "--quiet-ms",
        QUIET_MS,
    ]
}

/// The full handshake and one echo, then wrong orders: each rejected with the
/// alert RFC 5246 and the state table give, and the closed connection a sink.
#[test]
fn server_side_against_rsatls_serve() {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let server = RsatlsServer::start(&["--cert", &cert, "--key", &key]);
    let addr = server.addr.to_string();
    let args = server_side_args(&addr, &cert);
    check(
        &args,
        &[
            ("reset", "ok"),
            ("ClientHelloEMS", "ServerHello|Certificate|ServerHelloDone"),
            ("ClientKeyExchange", "NoResponse"),
            ("ChangeCipherSpec", "NoResponse"),
            ("Finished", "ChangeCipherSpec|Finished"),
            ("ApplicationData", "ApplicationData"),
            ("ApplicationData", "ApplicationData"),
            // ChangeCipherSpec first: nothing to change to yet.
            ("reset", "ok"),
            ("ChangeCipherSpec", "Alert(fatal,unexpected_message)|Closed"),
            ("ClientHelloEMS", "Closed"),
            ("Finished", "Closed"),
            // rsatls serve requires Extended Master Secret.
            ("reset", "ok"),
            ("ClientHelloNoEMS", "Alert(fatal,handshake_failure)|Closed"),
            // A bad premaster is noticed only at the Finished record.
            ("reset", "ok"),
            ("ClientHelloEMS", "ServerHello|Certificate|ServerHelloDone"),
            ("ClientKeyExchangeBadPadding", "NoResponse"),
            ("ChangeCipherSpec", "NoResponse"),
            ("Finished", "Alert(fatal,bad_record_mac)|Closed"),
            // A wrong verify_data.
            ("reset", "ok"),
            ("ClientHelloEMS", "ServerHello|Certificate|ServerHelloDone"),
            ("ClientKeyExchange", "NoResponse"),
            ("ChangeCipherSpec", "NoResponse"),
            ("FinishedWrong", "Alert(fatal,decrypt_error)|Closed"),
            // A content type rsatls does not know, mid-handshake.
            ("reset", "ok"),
            ("ClientHelloEMS", "ServerHello|Certificate|ServerHelloDone"),
            ("UnknownRecord", "Alert(fatal,unexpected_message)|Closed"),
            // Finished before ChangeCipherSpec.
            ("reset", "ok"),
            ("ClientHelloEMS", "ServerHello|Certificate|ServerHelloDone"),
            ("ClientKeyExchange", "NoResponse"),
            ("Finished", "Alert(fatal,unexpected_message)|Closed"),
        ],
    );
}

/// With `--client-ca` the server asks for a certificate: the mapper's client
/// certificate and CertificateVerify complete the handshake; an empty
/// Certificate and a missing CertificateVerify are refused.
#[test]
fn server_side_with_client_authentication() {
    let mtls = |f: &str| data(&format!("mtls/{f}"));
    let (cert, key, ca) = (
        mtls("server.cert.pem"),
        mtls("server.key.pem"),
        mtls("ca.cert.pem"),
    );
    let server = RsatlsServer::start(&["--cert", &cert, "--key", &key, "--client-ca", &ca]);
    let addr = server.addr.to_string();
    let (client_cert, client_key) = (mtls("client.cert.pem"), mtls("client.key.pem"));
    let mut args = server_side_args(&addr, &cert);
    args.extend(["--client-cert", &client_cert, "--client-key", &client_key]);
    let hello = "ServerHello|Certificate|CertificateRequest|ServerHelloDone";
    check(
        &args,
        &[
            ("reset", "ok"),
            ("ClientHelloEMS", hello),
            ("ClientCertificate", "NoResponse"),
            ("ClientKeyExchange", "NoResponse"),
            ("CertificateVerify", "NoResponse"),
            ("ChangeCipherSpec", "NoResponse"),
            ("Finished", "ChangeCipherSpec|Finished"),
            ("ApplicationData", "ApplicationData"),
            ("reset", "ok"),
            ("ClientHelloEMS", hello),
            ("EmptyCertificate", "Alert(fatal,handshake_failure)|Closed"),
            ("reset", "ok"),
            ("ClientHelloEMS", hello),
            ("ClientCertificate", "NoResponse"),
            ("ClientKeyExchange", "NoResponse"),
            ("ChangeCipherSpec", "Alert(fatal,unexpected_message)|Closed"),
        ],
    );
}

/// The mapper as server, `rsatls connect --pin` as the client it starts per
/// reset: the full handshake (the client's keys followed through its
/// ClientKeyExchange, or its Finished would not decrypt and ours would be
/// refused), a wrong Finished, an untrusted key, a missing EMS.
#[test]
fn client_side_against_rsatls_connect() {
    let pin = std::fs::read_to_string(data("rsa2048.pin")).unwrap();
    let (cert, key, wrong) = (
        data("rsa2048.cert.pem"),
        data("rsa2048.key.pem"),
        data("other2048.cert.pem"),
    );
    let args = [
        "client-side",
        "--listen",
        "127.0.0.1:0",
        "--server-cert",
        &cert,
        "--server-key",
        &key,
        "--wrong-cert",
        &wrong,
        "--quiet-ms",
        QUIET_MS,
        "--",
        env!("CARGO_BIN_EXE_rsatls"),
        "connect",
        "--pin",
        pin.trim(),
        "{addr}",
    ];
    check(
        &args,
        &[
            ("reset", "ok"),
            ("ServerHelloEMS", "NoResponse"),
            ("Certificate", "NoResponse"),
            (
                "ServerHelloDone",
                "ClientKeyExchange|ChangeCipherSpec|Finished",
            ),
            ("ChangeCipherSpec", "NoResponse"),
            ("Finished", "NoResponse"),
            ("ApplicationData", "NoResponse"),
            ("reset", "ok"),
            ("ServerHelloEMS", "NoResponse"),
            ("Certificate", "NoResponse"),
            (
                "ServerHelloDone",
                "ClientKeyExchange|ChangeCipherSpec|Finished",
            ),
            ("ChangeCipherSpec", "NoResponse"),
            ("FinishedWrong", "Alert(fatal,decrypt_error)|Closed"),
            ("Finished", "Closed"),
            ("reset", "ok"),
            ("ServerHelloEMS", "NoResponse"),
            ("CertificateWrongKey", "Alert(fatal,bad_certificate)|Closed"),
            ("reset", "ok"),
            ("ServerHelloNoEMS", "Alert(fatal,handshake_failure)|Closed"),
            ("reset", "ok"),
            ("ServerHelloDone", "Alert(fatal,unexpected_message)|Closed"),
            // The client asked for a certificate it does not have.
            ("reset", "ok"),
            ("ServerHelloEMS", "NoResponse"),
            ("Certificate", "NoResponse"),
            ("CertificateRequest", "NoResponse"),
            (
                "ServerHelloDone",
                "EmptyCertificate|ClientKeyExchange|ChangeCipherSpec|Finished",
            ),
        ],
    );
}

/// The line protocol's errors: an unknown input, an input before any reset,
/// a reset with nothing listening.
#[test]
fn protocol_errors_are_answered_on_their_line() {
    // A port that was free a moment ago: nothing listens there now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let cert = data("rsa2048.cert.pem");
    let got = run(
        &["server-side", "--connect", &addr, "--server-cert", &cert],
        &["ClientHelloEMS", "Hello", "reset", "quit", "reset"],
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], "error: no connection: send reset first");
    assert_eq!(got[1], "error: unknown input Hello");
    assert!(got[2].starts_with("error: connecting to "), "{got:?}");
}

/// A scripted peer for the output abstraction: for each connection it accepts,
/// it waits for the mapper's first bytes, then writes its pieces (pausing
/// `gap` between them) and closes.
fn scripted_server(
    connections: Vec<Vec<Vec<u8>>>,
    gap: Duration,
) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        for pieces in connections {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(gap);
                }
                stream.write_all(piece).unwrap();
            }
        }
    });
    (addr, handle)
}

/// What is not a whole, well-formed TLS record: bytes of another protocol, a
/// record cut by the end of the connection, a record split in time (which the
/// mapper waits for past its quiet time), protected records it has no keys
/// for, handshake messages it has no name for.
#[test]
fn output_abstraction_of_a_scripted_peer() {
    let alert = [0x15, 3, 3, 0, 2, 2, 10];
    let ccs = [0x14, 3, 3, 0, 1, 1];
    let mut protected = vec![0x16, 3, 3, 0, 40];
    protected.extend([0xaa; 40]);
    // ServerHelloDone, an empty Certificate and a type nobody defined, in one record.
    let handshakes = [
        0x16, 3, 3, 0, 15, 14, 0, 0, 0, 11, 0, 0, 3, 0, 0, 0, 99, 0, 0, 0,
    ];
    let connections = vec![
        vec![b"HTTP/1.0 400 Bad Request\r\n\r\n".to_vec()],
        vec![alert[..5].to_vec(), alert[5..].to_vec()],
        vec![[&ccs[..], &protected].concat()],
        vec![handshakes.to_vec()],
        vec![alert[..6].to_vec()],
        // A handshake record with DTLS 1.0's version: not TLS.
        vec![vec![0x16, 0xfe, 0xff, 0, 1, 0]],
    ];
    // The split record's second half comes well after the quiet time and well
    // before the mapper's 2 s cap on a partial record.
    let (addr, server) = scripted_server(connections, Duration::from_millis(1000));
    let cert = data("rsa2048.cert.pem");
    check(
        &server_side_args(&addr, &cert),
        &[
            ("reset", "ok"),
            ("ClientHelloEMS", "Garbage|Closed"),
            ("Alert", "Closed"),
            ("reset", "ok"),
            ("ClientHelloEMS", "Alert(fatal,unexpected_message)|Closed"),
            ("reset", "ok"),
            (
                "ClientHelloEMS",
                "ChangeCipherSpec|Undecryptable(handshake)|Closed",
            ),
            ("reset", "ok"),
            (
                "ClientHelloEMS",
                "ServerHelloDone|EmptyCertificate|Handshake(99)|Closed",
            ),
            ("reset", "ok"),
            ("ClientHelloEMS", "Garbage|Closed"),
            ("reset", "ok"),
            ("ClientHelloEMS", "Garbage|Closed"),
        ],
    );
    server.join().unwrap();
}

/// Without Extended Master Secret (a client that allows it): the mapper's
/// master secret from the randoms alone must be the client's, or our
/// Finished would not decrypt or verify.
#[test]
fn client_side_without_ems() {
    let pin = std::fs::read_to_string(data("rsa2048.pin")).unwrap();
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let args = [
        "client-side",
        "--listen",
        "127.0.0.1:0",
        "--server-cert",
        &cert,
        "--server-key",
        &key,
        "--quiet-ms",
        QUIET_MS,
        "--",
        env!("CARGO_BIN_EXE_rsatls"),
        "connect",
        "--allow-no-ems",
        "--pin",
        pin.trim(),
        "{addr}",
    ];
    let flight = "ClientKeyExchange|ChangeCipherSpec|Finished";
    check(
        &args,
        &[
            ("reset", "ok"),
            ("ServerHelloNoEMS", "NoResponse"),
            ("Certificate", "NoResponse"),
            ("ServerHelloDone", flight),
            ("ChangeCipherSpec", "NoResponse"),
            ("Finished", "NoResponse"),
            ("reset", "ok"),
            ("ServerHelloEMS", "NoResponse"),
            ("Certificate", "NoResponse"),
            ("ServerHelloDone", flight),
            ("ChangeCipherSpec", "NoResponse"),
            ("Finished", "NoResponse"),
        ],
    );
}

/// A server that allows clients without EMS: the mapper follows the
/// ServerHello it saw, so both kinds of master secret complete the handshake.
#[test]
fn server_side_without_ems() {
    let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
    let server = RsatlsServer::start(&["--cert", &cert, "--key", &key, "--allow-no-ems"]);
    let addr = server.addr.to_string();
    let mut steps = Vec::new();
    for hello in ["ClientHelloNoEMS", "ClientHelloEMS"] {
        steps.extend([
            ("reset", "ok"),
            (hello, "ServerHello|Certificate|ServerHelloDone"),
            ("ClientKeyExchange", "NoResponse"),
            ("ChangeCipherSpec", "NoResponse"),
            ("Finished", "ChangeCipherSpec|Finished"),
            ("ApplicationData", "ApplicationData"),
        ]);
    }
    check(&server_side_args(&addr, &cert), &steps);
}
