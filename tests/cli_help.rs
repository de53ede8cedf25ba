//! The `rsatls` command line as an operator meets it: `rsatls SUB --help` and
//! `rsatls help SUB` for every subcommand, `--version`, "did you mean"
//! suggestions, usage errors that show the usage of the subcommand at fault
//! (and not the others'), and the exit codes 0/1/2/3. Every run is bounded.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// No run of the binary here needs more than this (none touches the network
/// beyond a refused loopback connection, none generates a key).
const LIMIT: Duration = Duration::from_secs(30);

/// Every subcommand the binary has.
const SUBCOMMANDS: [&str; 7] = [
    "demo", "serve", "proxy", "tunnel", "connect", "keygen", "decrypt",
];

/// What a finished run of `rsatls` left.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Everything it printed, for failure messages.
    fn report(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `rsatls ARGS...` with stdin closed, at most [`LIMIT`] long.
fn rsatls(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsatls"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rsatls");
    // Drain both pipes on threads, so that a long help text cannot block the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).map(|_| s)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rsatls {args:?} still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

/// `text` with every run of whitespace made one space: clap wraps help to
/// the terminal's width, and a sentence checked here must not depend on it.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Asserts that `text` holds each of `wants`, whitespace aside.
fn assert_has(what: &str, text: &str, wants: &[&str]) {
    let flat = words(text);
    for want in wants {
        assert!(flat.contains(&words(want)), "{what} lacks {want:?}\n{text}");
    }
}

/// Whether `text` holds `word` as a word of its own (`connect`, not
/// `--max-connections`).
fn names(text: &str, word: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// For each subcommand: options (with their value names and defaults) and the
/// sentences of the old manual that scripts and operators rely on.
fn manual(subcommand: &str) -> &'static [&'static str] {
    match subcommand {
        "demo" => &[
            "Usage: rsatls demo",
            "fixed seed (no files, no network)",
            "five steps of RSA key transport",
        ],
        "serve" => &[
            "Usage: rsatls serve [OPTIONS]",
            "--listen <ADDR>",
            "[default: 127.0.0.1:4433]",
            "--http",
            "--cert <FILE>",
            "--key <FILE>",
            "--key-pass-env <NAME>",
            "--key-pass-file <PATH>",
            "--allow-no-ems",
            "--client-ca <FILE>",
            "--client-auth <MODE>",
            "--keylog <FILE>",
            "--max-connections <N>",
            "[default: 1024]",
            "--handshake-timeout <SECS>",
            "--idle-timeout <SECS>",
            "[default: 300]",
            // What scripts read on stdout.
            "listening on ADDR",
            "pin sha256//BASE64",
            "a fresh 2048-bit key and a self-signed certificate for localhost, 127.0.0.1 and ::1",
            "a later one is sent to clients whose SNI names a DNS name",
            "A request head over 16 KiB gets 431",
            "wait in the kernel's accept queue",
            "SIGTERM or SIGINT: close_notify to every client, then exit 0",
            "--private-key-ops <WHERE>",
            "[default: pool]",
            "inline: On the thread serving the connection",
            "--key-threads <N>",
            "[default: one per core]",
            "rsatls-key-0, rsatls-key-1",
            "one entry per connection at most",
        ],
        "proxy" => &[
            "Usage: rsatls proxy",
            "--listen <ADDR>",
            "--upstream <HOST:PORT>",
            "--cert <FILE>",
            "--client-ca <FILE>",
            "--keylog <FILE>",
            "--private-key-ops <WHERE>",
            "--key-threads <N>",
        ],
        "tunnel" => &[
            "Usage: rsatls tunnel",
            "--listen <ADDR>",
            "--connect <HOST:PORT>",
            "--pin <sha256//BASE64[;...]>",
            "--cafile <FILE>",
            "--servername <NAME>",
        ],
        "connect" => &[
            "Usage: rsatls connect [OPTIONS] <--pin <sha256//BASE64[;...]>|--cafile <FILE>> <HOST:PORT>",
            "<HOST:PORT>",
            "--pin <sha256//BASE64[;...]>",
            "--cafile <FILE>",
            "--servername <NAME>",
            "--alpn <PROTO[,PROTO...]>",
            "--keylog <FILE>",
            "--allow-no-ems",
            "--handshake-timeout <SECS>",
            "[default: 10]",
            "--idle-timeout <SECS>",
            "--cert <FILE>",
            "--key <FILE>",
            "like `openssl s_client -quiet`",
            "at stdin EOF sends close_notify",
            "chain, name and validity period are not checked",
            "a leaf identical to one of FILE's certificates needs no chain",
            // The line scripts read on stderr.
            "rsatls: connected: SUITE extended_master_secret=BOOL alpn PROTO|- \
             pin sha256//BASE64 subject SUBJECT",
            "`client_certificate=sent|empty|not-requested`",
        ],
        "keygen" => &[
            "Usage: rsatls keygen [OPTIONS] --out <DIR>",
            "--out <DIR>",
            "--bits <N>",
            "[default: 2048]",
            "--san <NAME>",
            "--days <N>",
            "[default: 365]",
            "--force",
            "DIR/key.pem (PKCS#8, mode 0600)",
            "DIR/cert.pem",
            "Never replaces an existing file without --force",
            "pin sha256//BASE64",
        ],
        "decrypt" => &[
            "Usage: rsatls decrypt [OPTIONS] --key <FILE> <CAPTURE>",
            "<CAPTURE>",
            "--key <FILE>",
            "--key-pass-env <NAME>",
            "--data-only",
            "--session <N>",
            "--direction <WHO>",
            "- client: Sent by the client",
            "--keylog-out <FILE>",
            "the five steps of RSA key transport",
            "session N: CLIENT → SERVER",
            "[N client→server, LEN bytes]",
            "the client was not legitimate, or the key is wrong",
            "servers whose key matches no --key (the pin is shown)",
            "whether or not a session could be decrypted",
        ],
        other => panic!("no manual for {other}"),
    }
}

/// The shared sections of the manual that concern a subcommand, and those
/// that do not.
fn sections(subcommand: &str) -> (&'static [&'static str], &'static [&'static str]) {
    const KEYS: &str = "KEYS AND CERTIFICATES:";
    const KEY_LOG: &str = "KEY LOG:";
    const KEY_OPS: &str = "PRIVATE KEY OPERATIONS:";
    const LOGS: &str = "LOGS:";
    const RELOAD: &str = "RELOAD:";
    const PKCS11: &str = "PKCS#11 KEYS:";
    const EXIT: &str = "EXIT CODES:";
    match subcommand {
        "serve" | "proxy" => (&[KEYS, KEY_OPS, PKCS11, KEY_LOG, LOGS, RELOAD, EXIT], &[]),
        "tunnel" => (&[KEYS, KEY_LOG, LOGS, EXIT], &[RELOAD, KEY_OPS, PKCS11]),
        "connect" => (&[KEYS, KEY_LOG, EXIT], &[LOGS, RELOAD, KEY_OPS, PKCS11]),
        "decrypt" => (&[KEYS, EXIT], &[KEY_LOG, LOGS, RELOAD, KEY_OPS, PKCS11]),
        _ => (&[EXIT], &[KEYS, KEY_LOG, LOGS, RELOAD, KEY_OPS, PKCS11]),
    }
}

#[test]
fn every_subcommand_has_its_manual_in_help() {
    for sub in SUBCOMMANDS {
        let run = rsatls(&[sub, "--help"]);
        let what = format!("rsatls {sub} --help");
        assert_eq!(run.code, Some(0), "{what}\n{}", run.report());
        assert!(run.stderr.is_empty(), "{what}\n{}", run.report());
        assert_has(&what, &run.stdout, manual(sub));
        let (shown, hidden) = sections(sub);
        assert_has(&what, &run.stdout, shown);
        assert_has(
            &what,
            &run.stdout,
            &["2 usage error", "3 a local file cannot be used"],
        );
        // Each section heading (`LOGS:`, `EXIT CODES:` ...) comes once.
        let headings: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| {
                l.ends_with(':')
                    && l.chars()
                        .all(|c| c.is_ascii_uppercase() || " :".contains(c))
            })
            .collect();
        for h in &headings {
            let n = headings.iter().filter(|x| *x == h).count();
            assert_eq!(n, 1, "{what} shows {h} {n} times\n{}", run.stdout);
        }
        for section in hidden {
            assert!(
                !run.stdout.contains(section),
                "{what} shows {section}\n{}",
                run.stdout
            );
        }
        // Another subcommand's options are not listed (`--upstream` is proxy's alone).
        if sub != "proxy" {
            assert!(!run.stdout.contains("--upstream"), "{what}\n{}", run.stdout);
        }
    }
}

#[test]
fn help_sub_is_sub_help() {
    for sub in SUBCOMMANDS {
        let help = rsatls(&["help", sub]);
        assert_eq!(help.code, Some(0), "rsatls help {sub}\n{}", help.report());
        let flag = rsatls(&[sub, "--help"]);
        assert_eq!(help.stdout, flag.stdout, "rsatls help {sub}");
        assert_has(&format!("rsatls help {sub}"), &help.stdout, manual(sub));
    }
}

/// `-h` is the summary: the options, one line each, without the manual's
/// sections.
#[test]
fn short_help_is_a_summary() {
    let run = rsatls(&["serve", "-h"]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    assert_has(
        "rsatls serve -h",
        &run.stdout,
        &["Usage: rsatls serve", "--listen <ADDR>"],
    );
    assert!(!run.stdout.contains("EXIT CODES"), "{}", run.stdout);
    assert!(!run.stdout.contains("listening on ADDR"), "{}", run.stdout);
}

#[test]
fn top_level_help_lists_every_subcommand() {
    let run = rsatls(&["--help"]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    assert_has(
        "rsatls --help",
        &run.stdout,
        &["Usage: rsatls <COMMAND>", "EXIT CODES:"],
    );
    for sub in SUBCOMMANDS {
        assert!(
            run.stdout.lines().any(|l| l.trim_start().starts_with(sub)),
            "rsatls --help does not list {sub}\n{}",
            run.stdout
        );
    }
}

/// `rsatls` alone shows the top-level help on stderr: a usage error (exit 2).
#[test]
fn no_subcommand_is_a_usage_error() {
    let run = rsatls(&[]);
    assert_eq!(run.code, Some(2), "{}", run.report());
    assert!(run.stdout.is_empty(), "{}", run.report());
    assert_has(
        "rsatls",
        &run.stderr,
        &["Usage: rsatls <COMMAND>", "serve", "connect"],
    );
}

#[test]
fn version() {
    let want = format!("rsatls {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let run = rsatls(&[flag]);
        assert_eq!(run.code, Some(0), "{flag}\n{}", run.report());
        assert_eq!(run.stdout, want, "{flag}");
        assert!(run.stderr.is_empty(), "{flag}\n{}", run.report());
    }
    // Every subcommand takes it too.
    for sub in SUBCOMMANDS {
        let run = rsatls(&[sub, "--version"]);
        assert_eq!(run.code, Some(0), "{sub} --version\n{}", run.report());
        assert!(
            run.stdout.starts_with("rsatls")
                && run.stdout.trim_end().ends_with(env!("CARGO_PKG_VERSION")),
            "{sub} --version\n{}",
            run.report()
        );
    }
}

#[test]
fn did_you_mean() {
    let run = rsatls(&["serv"]);
    assert_eq!(run.code, Some(2), "{}", run.report());
    assert!(run.stdout.is_empty(), "{}", run.report());
    assert_has(
        "rsatls serv",
        &run.stderr,
        &[
            "unrecognized subcommand 'serv'",
            "a similar subcommand exists: 'serve'",
        ],
    );

    let run = rsatls(&["serve", "--listn", "127.0.0.1:0"]);
    assert_eq!(run.code, Some(2), "{}", run.report());
    assert!(run.stdout.is_empty(), "{}", run.report());
    assert_has(
        "rsatls serve --listn",
        &run.stderr,
        &[
            "unexpected argument '--listn'",
            "a similar argument exists: '--listen'",
            "Usage: rsatls serve",
        ],
    );

    let run = rsatls(&["serve", "--client-auth", "requird"]);
    assert_eq!(run.code, Some(2), "{}", run.report());
    assert_has(
        "rsatls serve --client-auth requird",
        &run.stderr,
        &["a similar value exists: 'required'"],
    );
}

/// A usage error, whether clap finds it or the subcommand does after parsing,
/// prints the message and the usage of that subcommand alone (not the whole
/// manual, not the other subcommands), and exits 2 with nothing on stdout.
#[test]
fn usage_errors_show_the_usage_of_their_subcommand() {
    let pin = format!("sha256//{}=", "A".repeat(43));
    let cases: &[(&[&str], &str)] = &[
        // Found by clap: an unknown option, a missing one, two that exclude
        // each other, a value out of range, a value not among the choices.
        (
            &["connect", "127.0.0.1:1", "--pin", &pin, "--bogus"],
            "unexpected argument '--bogus'",
        ),
        (
            &["connect", "127.0.0.1:1"],
            "required arguments were not provided",
        ),
        (
            &[
                "connect",
                "127.0.0.1:1",
                "--pin",
                &pin,
                "--cafile",
                "ca.pem",
            ],
            "cannot be used with",
        ),
        (
            &[
                "connect",
                "127.0.0.1:1",
                "--pin",
                &pin,
                "--idle-timeout",
                "0",
            ],
            "invalid value '0' for '--idle-timeout <SECS>'",
        ),
        (
            &["keygen", "--out", "x", "--bits", "1024"],
            "1024 is not in 2048..=8192",
        ),
        (
            &["keygen", "--out", "x", "--days", "many"],
            "invalid value 'many' for '--days <N>'",
        ),
        (
            &[
                "serve",
                "--client-ca",
                "ca.pem",
                "--client-auth",
                "sometimes",
            ],
            "[possible values: required, optional]",
        ),
        (
            &["serve", "--max-connections", "0"],
            "invalid value '0' for '--max-connections <N>': a whole number from 1 to 1000000",
        ),
        // Bounded: a count tokio's semaphore cannot hold, a time limit whose
        // deadline overflows the clock (both were panics, not usage errors).
        (
            &["serve", "--max-connections", "18446744073709551615"],
            "a whole number from 1 to 1000000",
        ),
        (
            &["serve", "--idle-timeout", "18446744073709551615"],
            "a whole number from 1 to 31536000",
        ),
        (
            &["serve", "--key-threads", "0"],
            "invalid value '0' for '--key-threads <N>': a whole number from 1 to 1024",
        ),
        (
            &[
                "proxy",
                "--upstream",
                "127.0.0.1:1",
                "--private-key-ops",
                "elsewhere",
            ],
            "[possible values: pool, inline]",
        ),
        (
            &[
                "connect",
                "127.0.0.1:1",
                "--pin",
                &pin,
                "--idle-timeout",
                "18446744073709551615",
            ],
            "a whole number from 1 to 31536000",
        ),
        (&["demo", "extra"], "unexpected argument 'extra'"),
        (
            &["decrypt", "x.pcap"],
            "required arguments were not provided",
        ),
        (
            &["decrypt", "x.pcap", "--key", "k.pem", "--session", "0"],
            "invalid value '0' for '--session <N>'",
        ),
        (
            &["decrypt", "x.pcap", "--key", "k.pem", "--direction", "up"],
            "[possible values: client, server]",
        ),
        // Found by the subcommand, after parsing.
        (
            &["serve", "--cert", "a.pem"],
            "--cert and --key go together",
        ),
        (
            &["serve", "--listen", "bogus"],
            "--listen `bogus` is not HOST:PORT",
        ),
        (
            &["serve", "--key-pass", "secret"],
            "not taken on the command line",
        ),
        (
            &["serve", "--private-key-ops", "inline", "--key-threads", "2"],
            "--key-threads is for --private-key-ops pool, not inline",
        ),
        (
            &["connect", "x:notaport", "--pin", &pin],
            "bad port in `x:notaport`",
        ),
        (&["connect", "127.0.0.1:1", "--pin", "md5//nope"], "--pin:"),
    ];
    for (args, message) in cases {
        let run = rsatls(args);
        let what = format!("rsatls {}", args.join(" "));
        assert_eq!(run.code, Some(2), "{what}\n{}", run.report());
        assert!(run.stdout.is_empty(), "{what}\n{}", run.report());
        let sub = args[0];
        assert_has(
            &what,
            &run.stderr,
            &[message, &format!("Usage: rsatls {sub}")],
        );
        // One usage line, and nothing of the other subcommands or the manual.
        assert_eq!(
            run.stderr.matches("Usage:").count(),
            1,
            "{what}\n{}",
            run.stderr
        );
        for other in SUBCOMMANDS.iter().filter(|&&other| other != sub) {
            assert!(
                !names(&run.stderr, other),
                "{what}: the usage error names `{other}`\n{}",
                run.stderr
            );
        }
        for manual in ["Commands:", "EXIT CODES", "Options:"] {
            assert!(!run.stderr.contains(manual), "{what}\n{}", run.stderr);
        }
    }
}

/// A local file that cannot be used exits 3; a network failure exits 1.
#[test]
fn file_and_runtime_errors_keep_their_exit_codes() {
    let missing = format!("{}/tests/data/no-such-file.pem", env!("CARGO_MANIFEST_DIR"));
    let pin = format!("sha256//{}=", "A".repeat(43));
    for args in [
        vec!["serve", "--cert", &missing, "--key", &missing],
        vec!["serve", "--client-ca", &missing],
        vec!["connect", "127.0.0.1:1", "--cafile", &missing],
        vec!["decrypt", &missing, "--key", &missing],
    ] {
        let run = rsatls(&args);
        assert_eq!(run.code, Some(3), "{args:?}\n{}", run.report());
        assert!(
            run.stderr.contains("no-such-file.pem"),
            "{args:?}\n{}",
            run.report()
        );
        assert!(!run.stderr.contains("Usage:"), "{args:?}\n{}", run.report());
    }

    // A port nobody listens on: bound, then released.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let target = format!("127.0.0.1:{port}");
    let run = rsatls(&["connect", &target, "--pin", &pin]);
    assert_eq!(run.code, Some(1), "{}", run.report());
    assert!(run.stderr.starts_with("rsatls: "), "{}", run.report());
    assert!(!run.stderr.contains("Usage:"), "{}", run.report());
}

/// A binary built without the `pkcs11` feature refuses `--pkcs11-module` as a
/// usage error instead of quietly serving with another key.
#[cfg(not(feature = "pkcs11"))]
#[test]
fn pkcs11_options_without_the_feature_are_a_usage_error() {
    let cert = format!("{}/tests/data/rsa2048.cert.pem", env!("CARGO_MANIFEST_DIR"));
    let run = rsatls(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--pkcs11-module",
        "/usr/lib/softhsm/libsofthsm2.so",
        "--pkcs11-key",
        "tls",
        "--cert",
        &cert,
    ]);
    assert_eq!(run.code, Some(2), "{}", run.report());
    assert!(
        run.stderr
            .contains("built without PKCS#11 support (cargo feature `pkcs11`)"),
        "{}",
        run.report()
    );
    assert!(run.stderr.contains("Usage:"), "{}", run.report());
}
