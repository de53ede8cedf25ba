//! The `rsatls` command: `demo`, `serve`, `proxy`, `tunnel`, `connect` and `keygen`.
//!
//! Output contract (scripts rely on it): diagnostics go to stderr; stdout carries
//! only data and the lines documented in `--help`; the exit code is 0 on success,
//! 1 on a TLS or I/O failure (the alert is named on stderr), 2 on a usage error,
//! 3 when a local file (key, certificate, passphrase, key log) cannot be used.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run(std::env::args_os().collect())
}
