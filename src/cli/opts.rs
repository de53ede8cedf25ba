//! The command line, declared with clap's derive API: one struct per
//! subcommand, and the option groups several subcommands share.
//!
//! Parsing only: checks that need files, the network or several options at
//! once live with the subcommand that runs. Their usage errors are rendered by
//! [`usage_error`] so they look like clap's own (the subcommand's usage line,
//! exit code 2).

use clap::{Args, Parser, Subcommand, ValueEnum};

/// rsatls: a hardened TLS 1.2 engine for RSA key exchange (AES-GCM suites only).
#[derive(Debug, Parser)]
#[command(
    name = "rsatls",
    version,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true,
    after_long_help = AFTER_HELP
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The sections of the manual that hold for every subcommand.
pub(crate) const AFTER_HELP: &str = "\
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
    Output to a closed stdout (`rsatls demo | head -1`) ends quietly.";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Runs a client and a server in memory from a fixed seed (no files, no
    /// network) and prints the five steps of RSA key transport on the real bytes.
    Demo,
    /// Serves TLS 1.2: echoes application data, or with --http answers with a
    /// small page.
    Serve(ServeArgs),
    /// Terminates TLS and forwards the plaintext to an upstream TCP service.
    #[command(long_about = super::proxy::MANUAL)]
    Proxy(ProxyArgs),
    /// Accepts plaintext locally and forwards it over TLS to a server.
    #[command(long_about = super::tunnel::MANUAL)]
    Tunnel(TunnelArgs),
    /// Connects to a TLS server: stdin is sent, received data goes to stdout.
    Connect(ConnectArgs),
    /// Writes a new RSA key and a self-signed certificate for it.
    Keygen(KeygenArgs),
}

/// `rsatls serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (port 0 picks one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4433")]
    pub(crate) listen: String,
    /// Answers each HTTP request with a small page instead of echoing.
    #[arg(long)]
    pub(crate) http: bool,
    #[command(flatten)]
    pub(crate) server: ServerOpts,
}

/// `rsatls proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The address to listen on for TLS clients (port 0 picks one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4433")]
    pub(crate) listen: String,
    /// The plaintext TCP service each connection is forwarded to (looked up
    /// for each connection).
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) upstream: String,
    /// Writes a PROXY protocol header (haproxy) to the upstream before any
    /// data: the client's address and the address it reached, and in v2 the
    /// TLS facts.
    #[arg(long, value_name = "VERSION")]
    pub(crate) proxy_protocol: Option<ProxyProtocol>,
    /// The TCP connection to the upstream (name lookup included) must be made
    /// in SECS; otherwise the client gets close_notify.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) upstream_timeout: u64,
    #[command(flatten)]
    pub(crate) server: ServerOpts,
}

/// The PROXY protocol versions `--proxy-protocol` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProxyProtocol {
    /// The text line `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`.
    V1,
    /// The binary header: the addresses, then SNI, ALPN, TLS version, cipher
    /// and, for a verified client certificate, its subject CN.
    V2,
}

/// `rsatls tunnel`.
#[derive(Debug, Args)]
pub(crate) struct TunnelArgs {
    /// The local address to accept plaintext connections on (port 0 picks one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub(crate) listen: String,
    /// The TLS server each connection is forwarded to (looked up for each
    /// connection).
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) connect: String,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
    /// Serves at most N connections at once.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_connections: u64,
    /// A connection where no byte moves either way for SECS is closed (the
    /// server sees no close_notify).
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) idle_timeout: u64,
    #[command(flatten)]
    pub(crate) log: LogOpts,
}

/// `rsatls connect`.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// The server.
    #[arg(value_name = "HOST:PORT")]
    pub(crate) target: String,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
    /// A session where no byte moves either way for SECS ends (exit 1).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) idle_timeout: Option<u64>,
}

/// `rsatls keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The directory for key.pem and cert.pem.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: String,
    /// The key size: 2048 to 8192.
    #[arg(long, value_name = "N", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(2048..=8192))]
    pub(crate) bits: u64,
    /// A subjectAltName (DNS name or IP address); repeatable.
    #[arg(long, value_name = "NAME")]
    pub(crate) san: Vec<String>,
    /// Days the certificate is valid: 1 to 36525.
    #[arg(long, value_name = "N", default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..=36_525))]
    pub(crate) days: u64,
    /// Replaces existing files.
    #[arg(long)]
    pub(crate) force: bool,
}

/// What every TLS server subcommand (`serve`, `proxy`) takes.
#[derive(Debug, Args)]
pub(crate) struct ServerOpts {
    /// A certificate chain, leaf first (PEM or DER); repeatable, one --key each.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: Vec<String>,
    /// The private key of the --cert at the same position.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Vec<String>,
    #[command(flatten)]
    pub(crate) key_pass: KeyPassOpts,
    /// Accepts clients without Extended Master Secret (RFC 7627).
    #[arg(long)]
    pub(crate) allow_no_ems: bool,
    /// Asks every client for a certificate that chains to a CA of FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) client_ca: Option<String>,
    /// Whether a client without a certificate is refused (needs --client-ca).
    #[arg(long, value_name = "MODE", requires = "client_ca")]
    pub(crate) client_auth: Option<ClientAuthArg>,
    /// Appends NSS key log lines to FILE (else $SSLKEYLOGFILE).
    #[arg(long, value_name = "FILE")]
    pub(crate) keylog: Option<String>,
    /// Serves at most N connections at once.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_connections: u64,
    /// A handshake must finish in SECS.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) handshake_timeout: u64,
    /// A connection idle for SECS is closed.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) idle_timeout: u64,
    #[command(flatten)]
    pub(crate) log: LogOpts,
}

/// `--client-auth required|optional`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ClientAuthArg {
    /// A client without a certificate is refused (handshake_failure).
    Required,
    /// A client without a certificate is let in, unauthenticated.
    Optional,
}

/// What every TLS client subcommand (`connect`, `tunnel`) takes.
#[derive(Debug, Args)]
pub(crate) struct ClientOpts {
    #[command(flatten)]
    pub(crate) trust: TrustOpts,
    /// The name the certificate must match and SNI sends (default: HOST).
    #[arg(long, value_name = "NAME")]
    pub(crate) servername: Option<String>,
    /// Offers application protocols (RFC 7301), comma-separated.
    #[arg(long, value_name = "PROTO[,PROTO...]")]
    pub(crate) alpn: Option<String>,
    /// Appends NSS key log lines to FILE (else $SSLKEYLOGFILE).
    #[arg(long, value_name = "FILE")]
    pub(crate) keylog: Option<String>,
    /// Accepts a server without Extended Master Secret (RFC 7627).
    #[arg(long)]
    pub(crate) allow_no_ems: bool,
    /// The TCP connection and the handshake must finish in SECS.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) handshake_timeout: u64,
    /// A client certificate chain, leaf first, sent when the server asks.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<String>,
    /// The private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<String>,
    #[command(flatten)]
    pub(crate) key_pass: KeyPassOpts,
}

/// How the server is authenticated: exactly one of --pin and --cafile.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct TrustOpts {
    /// Trusts the server's key alone (`sha256//BASE64[;...]`).
    #[arg(long, value_name = "sha256//BASE64[;...]")]
    pub(crate) pin: Option<String>,
    /// Trusts certificates chaining to (or identical to) one of FILE's.
    #[arg(long, value_name = "FILE")]
    pub(crate) cafile: Option<String>,
}

/// Where a key's passphrase comes from: never the command line.
#[derive(Debug, Args)]
pub(crate) struct KeyPassOpts {
    /// The key's passphrase is in the environment variable NAME.
    #[arg(long, value_name = "NAME", conflicts_with = "key_pass_file")]
    pub(crate) key_pass_env: Option<String>,
    /// The key's passphrase is the first line of PATH.
    #[arg(long, value_name = "PATH")]
    pub(crate) key_pass_file: Option<String>,
    /// Refused: a passphrase on the command line is visible to other users.
    #[arg(long = "key-pass", value_name = "PASS", hide = true)]
    pub(crate) refused_key_pass: Option<String>,
    /// Refused, as --key-pass.
    #[arg(long = "pass", value_name = "PASS", hide = true)]
    pub(crate) refused_pass: Option<String>,
    /// Refused, as --key-pass.
    #[arg(long = "passin", value_name = "PASS", hide = true)]
    pub(crate) refused_passin: Option<String>,
}

/// How the servers log.
#[derive(Debug, Args)]
pub(crate) struct LogOpts {
    /// One line per connection on stderr, as text or JSON; RUST_LOG filters.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub(crate) log_format: LogFormat,
}

/// `--log-format text|json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// `key=value` fields after the message.
    Text,
    /// One JSON object per line.
    Json,
}

/// A usage error found after parsing (options that go together, a value
/// clap cannot check), rendered like clap's own: the message, then the usage
/// of `subcommand` only.
pub(crate) fn usage_error(subcommand: &str, message: &str) -> clap::Error {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    cli.build();
    let mut cmd = cli
        .find_subcommand_mut(subcommand)
        .map(|c| c.clone())
        .unwrap_or_else(Cli::command);
    cmd.error(clap::error::ErrorKind::ValueValidation, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
