//! Command-line front end. The only code besides `rsatls::stream` that touches
//! sockets, the clock or OS entropy.

pub(crate) mod certgen;
mod connect;
mod decrypt;
mod demo;
mod diagnose;
mod forward;
mod http;
mod keyfiles;
mod keygen;
mod keylog;
mod log;
mod opts;
mod pkcs11;
mod proxy;
mod proxy_protocol;
mod serve;
mod server;
mod tls_server;
mod tunnel;
mod wire;

use std::process::ExitCode;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use opts::Command;

/// Parses the command line, runs one command and maps its outcome to the
/// documented exit codes.
pub(crate) fn run(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = match opts::parse(args) {
        Ok(cli) => cli,
        // --help and --version (exit 0, stdout), or a usage error (exit 2,
        // stderr, with the usage of the subcommand at fault).
        Err(e) => return clap_exit(&e),
    };
    let (name, result) = match cli.command {
        Command::Demo => ("demo", demo::run()),
        Command::Serve(args) => ("serve", serve::run(args)),
        Command::Proxy(args) => ("proxy", proxy::run(args)),
        Command::Tunnel(args) => ("tunnel", tunnel::run(args)),
        Command::Connect(args) => ("connect", connect::run(args)),
        Command::Keygen(args) => ("keygen", keygen::run(args)),
        Command::Decrypt(args) => ("decrypt", decrypt::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => clap_exit(&opts::usage_error(name, &msg)),
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

/// Prints a clap outcome (help, version or a usage error) where it belongs
/// and returns its exit code: 0 for help and version, 2 for a usage error.
fn clap_exit(e: &clap::Error) -> ExitCode {
    // A closed stdout (`rsatls --help | head -1`) is not worth a panic.
    let _ = e.print();
    match e.use_stderr() {
        true => ExitCode::from(2),
        false => ExitCode::SUCCESS,
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
