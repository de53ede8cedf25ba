//! Command-line front end. The only code besides `rsatls::stream` that touches
//! sockets, the clock or OS entropy.

mod args;
pub(crate) mod certgen;
mod connect;
mod demo;
mod diagnose;
mod http;
mod keyfiles;
mod keygen;
mod keylog;
mod serve;
mod wire;

use std::process::ExitCode;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub(crate) const USAGE: &str = "\
rsatls: a hardened TLS 1.2 engine for RSA key exchange (AES-GCM suites only)

USAGE:
    rsatls demo
        Runs a client and a server in memory from a fixed seed (no files, no
        network) and prints the five steps of RSA key transport on the real bytes.

    rsatls serve [--listen ADDR] [--cert FILE --key FILE] [--http] [--allow-no-ems]
                 [--key-pass-env NAME | --key-pass-file PATH] [--keylog FILE]
                 [--max-connections N] [--handshake-timeout SECS] [--idle-timeout SECS]
                 [--client-ca FILE [--client-auth required|optional]]
        Serves TLS 1.2 on ADDR (default 127.0.0.1:4433; port 0 picks one).
        Prints `listening on ADDR` and `pin sha256//BASE64` on stdout once ready.
        Without --cert/--key, uses a fresh 2048-bit key and a self-signed
        certificate for localhost, 127.0.0.1 and ::1. --cert/--key may be
        repeated: the first pair is the default, a later one is sent to clients
        whose SNI names a DNS name its certificate is valid for. Echoes
        application data, or with --http answers each HTTP request with a small
        page (and selects ALPN `http/1.1` or `http/1.0` when the client offers
        it); a request head over 16 KiB gets 431 and the connection closes.
        Serves at most N connections at once (default 1024); further clients wait
        in the kernel's accept queue until one closes. A handshake must finish in
        SECS (default 10) and a connection idle for SECS (default 300) is closed.
        SIGTERM or SIGINT: close_notify to every client, then exit 0.
        --client-ca FILE (PEM or DER, one or more CA certificates) asks every
        client for a certificate (mutual TLS) and checks it: the chain must lead
        to a CA of FILE and be valid now, the leaf must allow clientAuth (if it
        has an extendedKeyUsage) and digitalSignature (if it has a keyUsage) and
        hold an RSA key of 2048 bits or more, and the client must prove it holds
        the key (CertificateVerify: RSA-PSS or PKCS#1 v1.5 with SHA-256, -384 or
        -512). --client-auth required (the default) refuses a client without a
        certificate (handshake_failure); optional lets it in unauthenticated. A
        certificate that is sent and fails the checks is refused either way.
        Each connection logs the client's subject on stderr; with --http the
        page shows it.

    rsatls connect HOST:PORT (--pin sha256//BASE64[;...] | --cafile FILE)
                   [--servername NAME] [--alpn PROTO[,PROTO...]] [--keylog FILE]
                   [--allow-no-ems] [--handshake-timeout SECS] [--idle-timeout SECS]
                   [--cert FILE --key FILE [--key-pass-env NAME | --key-pass-file PATH]]
        Like `openssl s_client -quiet`: stdin is sent, received data goes to
        stdout, both at once and in bounded memory; at stdin EOF sends
        close_notify and reads until the peer closes.
        --servername NAME, else HOST, is sent as SNI when it is a DNS name.
        --pin trusts the server's key alone: its chain, name and validity period
        are not checked. With --cafile the leaf must be valid for NAME (else
        HOST) and valid now: a leaf identical to one of the file's certificates
        needs no chain; any other must chain to one of them. Either way the key
        must be RSA of 2048 bits or more and, if the leaf has a keyUsage
        extension, allow keyEncipherment. --alpn offers protocols (RFC 7301).
        --allow-no-ems accepts a server without Extended Master Secret (RFC
        7627; reported as extended_master_secret=false). The TCP connection and
        the handshake must finish in SECS (default 10); with --idle-timeout, a
        session where no byte moves either way for SECS ends (exit 1).
        --cert FILE --key FILE: a client certificate (chain, leaf first) and its
        RSA key (2048 bits or more), sent when the server asks for one and
        offers a signature algorithm the key can sign with (RSA-PSS, then
        PKCS#1 v1.5, with SHA-256 or stronger); otherwise the client answers
        with no certificate. The server's list of acceptable CAs is advisory.
        Once connected, prints on stderr one line:
        `rsatls: connected: SUITE extended_master_secret=BOOL alpn PROTO|- pin sha256//BASE64 subject SUBJECT`
        with --cert, after the alpn field: `client_certificate=sent|empty|not-requested`

    rsatls keygen --out DIR [--bits N] [--san NAME]... [--days N] [--force]
        Writes a new RSA key (N bits, 2048 to 8192, default 2048) to DIR/key.pem
        (PKCS#8, mode 0600) and a self-signed certificate for it to DIR/cert.pem
        (CA:FALSE, keyUsage digitalSignature and keyEncipherment, one SAN per
        --san, default localhost, 127.0.0.1 and ::1; valid N days, default 365).
        Never replaces an existing file without --force. Prints
        `pin sha256//BASE64` on stdout.

KEYS AND CERTIFICATES:
    Certificates and keys may be PEM or DER; keys PKCS#8 or PKCS#1, or
    encrypted PKCS#8 (PBES2: PBKDF2 or scrypt, AES-CBC) with the passphrase in
    the environment variable NAME (--key-pass-env NAME) or on the first line
    of PATH (--key-pass-file PATH). Never on the command line.

KEY LOG:
    --keylog FILE, or else the SSLKEYLOGFILE environment variable, appends NSS
    key log lines (`CLIENT_RANDOM <client random> <master secret>`, in hex) to
    FILE (created with mode 0600), for `tshark -o tls.keylog_file:FILE`.
    Whoever can read FILE can decrypt the sessions.

EXIT CODES:
    0 success
    1 TLS, certificate or network failure (the alert is named on stderr)
    2 usage error
    3 a local file cannot be used: a key or certificate that cannot be read or
      loaded, a key, certificate, CA or passphrase file over 1 MiB, a wrong or
      missing passphrase, a key log that cannot be opened, or (keygen) an
      output file that exists already
    Output to a closed stdout (`rsatls demo | head -1`) ends quietly.
";

/// Runs one command and maps its outcome to the documented exit codes.
pub(crate) fn run(args: &[String]) -> ExitCode {
    let result = match args.first().map(String::as_str) {
        Some("demo") => args::expect_no_more(&args[1..])
            .map_err(Failure::Usage)
            .and_then(|()| demo::run()),
        Some("serve") => serve::run(&args[1..]),
        Some("connect") => connect::run(&args[1..]),
        Some("keygen") => keygen::run(&args[1..]),
        Some("-h" | "--help" | "help") => stdout(format_args!("{USAGE}")),
        Some(other) => Err(Failure::Usage(format!("unknown command `{other}`"))),
        None => Err(Failure::Usage("a command is required".into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("rsatls: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("rsatls: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Input(msg)) => {
            eprintln!("rsatls: {msg}");
            ExitCode::from(3)
        }
    }
}

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments: exit code 2.
    Usage(String),
    /// A TLS or I/O failure: exit code 1.
    Runtime(String),
    /// A local file (key, certificate, passphrase, key log, keygen output)
    /// that cannot be used: exit code 3.
    Input(String),
}

/// Writes a formatted line to stdout, like `println!`, without its panic when
/// stdout is gone.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// Writes to stdout. A reader that went away (`rsatls demo | head -1`) is not
/// a failure: Rust ignores SIGPIPE, so the write fails with `BrokenPipe`, and
/// the output is then simply done (later writes are dropped). Other write
/// errors (a full disk) are failures.
pub(crate) fn stdout(text: std::fmt::Arguments<'_>) -> Result<(), Failure> {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    static GONE: AtomicBool = AtomicBool::new(false);
    if GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_fmt(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Failure::Runtime(format!("writing to stdout: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Describes an I/O error, naming the TLS alert where there is one.
pub(crate) fn describe(e: &std::io::Error) -> String {
    match rsatls::stream::tls_error(e) {
        Some(tls) => match tls.alert() {
            Some(alert) => format!("TLS error: {tls} (alert: {alert})"),
            None => format!("TLS error: {tls}"),
        },
        None => format!("I/O error: {e}"),
    }
}

/// A fresh RNG seeded from the operating system, one per connection.
pub(crate) fn os_rng() -> Result<ChaCha20Rng, Failure> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Failure::Runtime(format!("no OS entropy: {e}")))?;
    Ok(ChaCha20Rng::from_seed(seed))
}
