//! The wire mapper of the learned state machines (formal/learning/ALPHABET.md):
//! reads one abstract input per line on stdin, puts the TLS message it names on
//! a real TCP connection, and answers one line with the abstract output of what
//! came back. Built only on rsatls's public `msgs`, `crypto` and `pki` API, with
//! its own key schedule and record protection (the engine is what is judged).
//!
//! ```text
//! wire_mapper server-side --connect HOST:PORT --server-cert FILE
//!     [--client-cert FILE --client-key FILE] [--quiet-ms N]
//! wire_mapper client-side --listen 127.0.0.1:0 --server-cert FILE --server-key FILE
//!     [--wrong-cert FILE] [--quiet-ms N] -- COMMAND ARGS...
//! ```
//!
//! For example, against `rsatls serve --listen 127.0.0.1:4433 --cert
//! tests/data/rsa2048.cert.pem --key tests/data/rsa2048.key.pem`:
//!
//! ```text
//! $ printf 'reset\nClientHelloEMS\nClientKeyExchange\nChangeCipherSpec\nFinished\nApplicationData\n' \
//!     | wire_mapper server-side --connect 127.0.0.1:4433 --server-cert tests/data/rsa2048.cert.pem
//! ok
//! ServerHello|Certificate|ServerHelloDone
//! NoResponse
//! NoResponse
//! ChangeCipherSpec|Finished
//! ApplicationData
//! ```
//!
//! Other systems this mapper was run against (by hand; `-cipher` because
//! OpenSSL 3.0 leaves RSA key exchange out of its default list, `-p PORT` since
//! gnutls-serv binds separate IPv4 and IPv6 ports for `-p 0` and prints neither):
//!
//! ```text
//! # stdin kept open and empty (a closed stdin makes s_server close each session);
//! # without -rev, which stops serving after a refused renegotiation.
//! openssl s_server -accept 127.0.0.1:PORT -cert C -key K -cipher AES128-GCM-SHA256 -tls1_2 -quiet
//!     [-Verify 1 -CAfile CA]           # client certificate required
//! gnutls-serv -p PORT --x509certfile C --x509keyfile K --echo --disable-client-cert
//!     --priority NORMAL:-KX-ALL:+RSA:-VERS-ALL:+VERS-TLS1.2
//!     [--require-client-cert --x509cafile CA]   # instead of --disable-client-cert
//! # client side: the client's {addr}
//! wire_mapper client-side ... -- rsatls connect --pin PIN {addr}
//! wire_mapper client-side ... -- openssl s_client -connect {addr} -tls1_2
//!     -cipher AES128-GCM-SHA256 -quiet -verify_return_error -CAfile C
//! ```

mod client_side;
mod keys;
mod rsa;
mod server_side;
mod session;

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::crypto::{CryptoProvider, RsaPrivateKey};

/// One way of playing a peer: a fresh connection per `reset`, one output per input.
trait Mode {
    /// This mode's input symbols, in ALPHABET.md's order.
    fn inputs(&self) -> &'static [&'static str];
    /// Closes the current connection and opens a fresh one.
    fn reset(&mut self) -> Result<(), String>;
    /// The current connection (`None` before the first `reset`).
    fn session(&mut self) -> &mut Option<session::Session>;
    /// Sends `input`'s message on `s`; `Err` for what the mapper cannot do.
    fn send(&self, s: &mut session::Session, input: &str) -> Result<(), String>;

    /// Sends `input` and abstracts the answer; in the sink (`Closed` was
    /// answered), answers `Closed` at once and sends nothing.
    fn step(&mut self, input: &str) -> Result<String, String> {
        if !self.inputs().contains(&input) {
            return Err(format!("unknown input {input}"));
        }
        // Taken out for the call, since `send` borrows the mode too.
        let mut session = self
            .session()
            .take()
            .ok_or("no connection: send reset first")?;
        let result = if session.is_closed() {
            Ok(session::CLOSED.to_string())
        } else {
            self.send(&mut session, input)
                .map(|()| session.read_output())
        };
        *self.session() = Some(session);
        result
    }
}

const USAGE: &str = "usage:
  wire_mapper server-side --connect HOST:PORT --server-cert FILE [--client-cert FILE --client-key FILE] [--quiet-ms N]
  wire_mapper client-side --listen ADDR --server-cert FILE --server-key FILE [--wrong-cert FILE] [--quiet-ms N] -- COMMAND ARGS...
then one command per line on stdin: reset, an input symbol, or quit (formal/learning/ALPHABET.md)";

/// Default quiet time that ends an output (ALPHABET.md).
const DEFAULT_QUIET_MS: u64 = 40;

/// The command line, parsed.
#[derive(Default)]
struct Args {
    mode: String,
    connect: Option<String>,
    listen: Option<String>,
    server_cert: Option<String>,
    server_key: Option<String>,
    client_cert: Option<String>,
    client_key: Option<String>,
    wrong_cert: Option<String>,
    quiet_ms: Option<u64>,
    command: Vec<String>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        mode: argv.next().ok_or("no mode given")?,
        ..Args::default()
    };
    while let Some(flag) = argv.next() {
        if flag == "--" {
            args.command = argv.by_ref().collect();
            break;
        }
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let slot = match flag.as_str() {
            "--connect" => &mut args.connect,
            "--listen" => &mut args.listen,
            "--server-cert" => &mut args.server_cert,
            "--server-key" => &mut args.server_key,
            "--client-cert" => &mut args.client_cert,
            "--client-key" => &mut args.client_key,
            "--wrong-cert" => &mut args.wrong_cert,
            "--quiet-ms" => {
                let ms = value
                    .parse()
                    .map_err(|_| format!("--quiet-ms {value}: not a number"))?;
                args.quiet_ms = Some(ms);
                continue;
            }
            _ => return Err(format!("unknown option {flag}")),
        };
        *slot = Some(value);
    }
    Ok(args)
}

fn required(value: Option<String>, flag: &str) -> Result<String, String> {
    value.ok_or_else(|| format!("missing {flag}"))
}

fn read_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))
}

fn load_chain(path: &str) -> Result<Vec<Vec<u8>>, String> {
    rsatls::pki::load_certificates(&read_file(path)?).map_err(|e| format!("{path}: {e}"))
}

fn load_key(provider: &dyn CryptoProvider, path: &str) -> Result<Box<dyn RsaPrivateKey>, String> {
    let file =
        rsatls::pki::load_private_key(&read_file(path)?).map_err(|e| format!("{path}: {e}"))?;
    provider
        .rsa_private_key(file.as_der())
        .map_err(|e| format!("{path}: {e}"))
}

/// A ChaCha20 RNG seeded from the operating system.
fn new_rng() -> Result<ChaCha20Rng, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("OS randomness: {e}"))?;
    Ok(ChaCha20Rng::from_seed(seed))
}

fn build(args: Args) -> Result<Box<dyn Mode>, String> {
    let provider = rsatls::crypto::default_provider();
    let quiet = Duration::from_millis(args.quiet_ms.unwrap_or(DEFAULT_QUIET_MS));
    let server_cert = required(args.server_cert, "--server-cert")?;
    match args.mode.as_str() {
        "server-side" => {
            let leaf = load_chain(&server_cert)?
                .into_iter()
                .next()
                .ok_or("no certificate in --server-cert")?;
            let client_chain = args.client_cert.as_deref().map(load_chain).transpose()?;
            let client_key = args
                .client_key
                .as_deref()
                .map(|p| load_key(&*provider, p))
                .transpose()?;
            Ok(Box::new(server_side::ServerSide::new(
                required(args.connect, "--connect")?,
                leaf,
                client_chain,
                client_key,
                provider,
                quiet,
            )))
        }
        "client-side" => {
            if args.command.is_empty() {
                return Err("client-side needs -- COMMAND ARGS...".into());
            }
            let key: Arc<dyn RsaPrivateKey> = Arc::from(load_key(
                &*provider,
                &required(args.server_key, "--server-key")?,
            )?);
            let mode = client_side::ClientSide::new(
                &required(args.listen, "--listen")?,
                args.command,
                load_chain(&server_cert)?,
                args.wrong_cert.as_deref().map(load_chain).transpose()?,
                key,
                provider,
                quiet,
            )?;
            Ok(Box::new(mode))
        }
        other => Err(format!("unknown mode {other}")),
    }
}

fn main() -> std::process::ExitCode {
    let mut mode = match parse_args(std::env::args().skip(1)).and_then(build) {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("wire_mapper: {e}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let command = line.trim();
        let answer = match command {
            "quit" => break,
            "reset" => mode.reset().map(|()| "ok".to_string()),
            input => mode.step(input),
        };
        let answer = answer.unwrap_or_else(|e| format!("error: {e}"));
        let mut out = stdout.lock();
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    // Dropping the mode closes the connection and reaps a client process.
    drop(mode);
    std::process::ExitCode::SUCCESS
}
