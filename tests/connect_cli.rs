//! The `rsatls` binary as a person or a script meets it: `connect` (full
//! duplex, timeouts, legacy servers, messages), the exit codes of the other
//! commands when stdout goes away or a file is the wrong one, and the blocking
//! adapter's truncation report. Every wait is bounded.

#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{Out, Peer, RsatlsServer};

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
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
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
        std::thread::sleep(Duration::from_millis(20));
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

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("connect-cli-keygen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (code, stderr) = with_closed_stdout(&["keygen", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "keygen:\n{stderr}");
    assert!(!stderr.contains("panicked"), "keygen:\n{stderr}");
    assert!(dir.join("key.pem").exists() && dir.join("cert.pem").exists());
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
            err.contains("--listen") && err.contains("USAGE"),
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
