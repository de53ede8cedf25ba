//! The command line, declared with clap's derive API: one struct per
//! subcommand, and the option groups several subcommands share.
//!
//! Parsing only: checks that need files, the network or several options at
//! once live with the subcommand that runs. Their usage errors are rendered by
//! [`usage_error`] so they look like clap's own (the subcommand's usage line,
//! exit code 2).

mod manual;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// rsatls: a hardened TLS 1.2 engine for RSA key exchange (AES-GCM suites only).
#[derive(Debug, Parser)]
#[command(
    name = "rsatls",
    version,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Runs a client and a server in memory from a fixed seed (no files, no
    /// network) and prints the five steps of RSA key transport on the real bytes.
    #[command(long_about = manual::DEMO)]
    Demo,
    /// Serves TLS 1.2: echoes application data, or with --http answers with a
    /// small page.
    #[command(long_about = manual::SERVE)]
    Serve(ServeArgs),
    /// Terminates TLS and forwards the plaintext to an upstream TCP service.
    #[command(long_about = super::proxy::MANUAL)]
    Proxy(ProxyArgs),
    /// Accepts plaintext locally and forwards it over TLS to a server.
    #[command(long_about = super::tunnel::MANUAL)]
    Tunnel(TunnelArgs),
    /// Connects to a TLS server: stdin is sent, received data goes to stdout.
    #[command(long_about = manual::CONNECT)]
    Connect(ConnectArgs),
    /// Writes a new RSA key and a self-signed certificate for it.
    #[command(long_about = manual::KEYGEN)]
    Keygen(KeygenArgs),
    /// Decrypts the TLS 1.2 RSA sessions of a pcap/pcapng capture with the
    /// server's private key, showing the five steps on the recorded bytes.
    #[command(long_about = super::decrypt::MANUAL)]
    Decrypt(DecryptArgs),
}

/// `rsatls serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (port 0 picks one).
    ///
    /// HOST:PORT with an IP address or a name: 127.0.0.1:4433, [::1]:4433,
    /// localhost:0. The address bound is printed as `listening on ADDR`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4433")]
    pub(crate) listen: String,
    /// Answers each HTTP request with a small page instead of echoing.
    ///
    /// Each HTTP/1.0 or 1.1 request gets a small page (with --client-ca, it
    /// shows the client's subject); ALPN `http/1.1` or `http/1.0` is selected
    /// when the client offers it, and a client offering only other protocols
    /// gets no_application_protocol. A request head over 16 KiB gets 431 and
    /// the connection closes.
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
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = seconds)]
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
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = connections)]
    pub(crate) max_connections: u64,
    /// A connection where no byte moves either way for SECS is closed (the
    /// server sees no close_notify).
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = seconds)]
    pub(crate) idle_timeout: u64,
    #[command(flatten)]
    pub(crate) log: LogOpts,
}

/// `rsatls connect`.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// The server: a name or an IP address (IPv6 in brackets) and a port.
    #[arg(value_name = "HOST:PORT")]
    pub(crate) target: String,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
    /// A session where no byte moves either way for SECS ends (exit 1).
    ///
    /// Without it, a quiet session lasts until either side closes.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub(crate) idle_timeout: Option<u64>,
}

/// `rsatls keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The directory for key.pem and cert.pem (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: String,
    /// The key size: 2048 to 8192.
    #[arg(long, value_name = "N", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(2048..=8192))]
    pub(crate) bits: u64,
    /// A subjectAltName (DNS name or IP address); repeatable.
    ///
    /// One SAN per --san, in order; the first is also the subject's CN.
    /// Default: localhost, 127.0.0.1 and ::1.
    #[arg(long, value_name = "NAME")]
    pub(crate) san: Vec<String>,
    /// Days the certificate is valid: 1 to 36525.
    #[arg(long, value_name = "N", default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..=36_525))]
    pub(crate) days: u64,
    /// Replaces existing key.pem and cert.pem (else exit 3).
    #[arg(long)]
    pub(crate) force: bool,
}

/// `rsatls decrypt`.
#[derive(Debug, Args)]
pub(crate) struct DecryptArgs {
    /// The capture: pcap or pcapng, as tcpdump, dumpcap or Wireshark write it.
    #[arg(value_name = "CAPTURE")]
    pub(crate) capture: String,
    /// A server's RSA private key (PEM or DER, PKCS#8 or PKCS#1, or encrypted
    /// PKCS#8 with --key-pass-env/--key-pass-file); repeatable.
    ///
    /// Each session is decrypted with the key whose public half is the one in
    /// the server's certificate.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) key: Vec<String>,
    #[command(flatten)]
    pub(crate) key_pass: KeyPassOpts,
    /// Writes only the decrypted application data, raw, to stdout.
    ///
    /// With --session and --direction to choose whose bytes; without them,
    /// every session's data both ways, in capture order.
    #[arg(long)]
    pub(crate) data_only: bool,
    /// Only session N (as numbered in the normal output, from 1).
    ///
    /// With --data-only, only its data; without, only its lines (the summary
    /// still covers the whole capture).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) session: Option<u64>,
    /// Only the data sent by the client or by the server.
    ///
    /// Without --data-only, the handshake steps of both sides are still
    /// shown.
    #[arg(long, value_name = "WHO")]
    pub(crate) direction: Option<DecryptDirection>,
    /// Appends an NSS key log line (CLIENT_RANDOM) per decrypted handshake to
    /// FILE, for Wireshark.
    #[arg(long, value_name = "FILE")]
    pub(crate) keylog_out: Option<String>,
}

/// Whose application data `decrypt --direction` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DecryptDirection {
    /// Sent by the client.
    Client,
    /// Sent by the server.
    Server,
}

/// What every TLS server subcommand (`serve`, `proxy`) takes.
#[derive(Debug, Args)]
pub(crate) struct ServerOpts {
    /// A certificate chain, leaf first (PEM or DER); repeatable, one --key each.
    ///
    /// The first --cert/--key pair is the default; a later one is sent to
    /// clients whose SNI names a DNS name its certificate is valid for.
    /// Without --cert/--key: a fresh 2048-bit key and a self-signed
    /// certificate for localhost, 127.0.0.1 and ::1.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: Vec<String>,
    /// The private key of the --cert at the same position.
    ///
    /// RSA, 2048 bits or more; PEM or DER, PKCS#8 or PKCS#1, or encrypted
    /// PKCS#8 with --key-pass-env or --key-pass-file.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Vec<String>,
    #[command(flatten)]
    pub(crate) key_pass: KeyPassOpts,
    #[command(flatten)]
    pub(crate) pkcs11: Pkcs11Opts,
    /// Accepts clients without Extended Master Secret (RFC 7627).
    ///
    /// Without it, a client that does not offer Extended Master Secret is
    /// refused: its sessions could be synchronised with another server's
    /// (the triple handshake attack).
    #[arg(long)]
    pub(crate) allow_no_ems: bool,
    /// Asks every client for a certificate that chains to a CA of FILE.
    ///
    /// Mutual TLS. FILE holds one or more CA certificates (PEM or DER). The
    /// client's chain must lead to a CA of FILE and be valid now; the leaf
    /// must allow clientAuth (if it has an extendedKeyUsage) and
    /// digitalSignature (if it has a keyUsage) and hold an RSA key of 2048 bits
    /// or more; and the client must prove it holds the key (CertificateVerify:
    /// RSA-PSS or PKCS#1 v1.5 with SHA-256, -384 or -512). Each connection's
    /// client subject is logged on stderr.
    #[arg(long, value_name = "FILE")]
    pub(crate) client_ca: Option<String>,
    /// Whether a client without a certificate is refused (needs --client-ca).
    ///
    /// With --client-ca and no --client-auth: required. A certificate that is
    /// sent and fails the checks is refused either way.
    #[arg(long, value_name = "MODE", requires = "client_ca")]
    pub(crate) client_auth: Option<ClientAuthArg>,
    /// Appends NSS key log lines to FILE (else $SSLKEYLOGFILE).
    ///
    /// See KEY LOG below: whoever can read FILE can decrypt the sessions.
    #[arg(long, value_name = "FILE")]
    pub(crate) keylog: Option<String>,
    /// Serves at most N connections at once.
    ///
    /// Further clients wait in the kernel's accept queue (their TCP handshake
    /// completes, their TLS handshake waits) until a connection closes.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = connections)]
    pub(crate) max_connections: u64,
    /// A handshake must finish in SECS.
    ///
    /// A client whose handshake has not finished SECS after it began is
    /// dropped.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = seconds)]
    pub(crate) handshake_timeout: u64,
    /// A connection idle for SECS is closed.
    ///
    /// Idle: no byte moved to or from the client, either way, for SECS.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = seconds)]
    pub(crate) idle_timeout: u64,
    /// Where each handshake's RSA private-key operation runs.
    ///
    /// pool: on threads of their own (--key-threads), so that the operation,
    /// the whole cost of a handshake, never holds up the other connections;
    /// inline: on the thread serving the connection. See PRIVATE KEY
    /// OPERATIONS below.
    #[arg(long, value_name = "WHERE", default_value = "pool")]
    pub(crate) private_key_ops: PrivateKeyOps,
    /// Threads for --private-key-ops pool [default: one per core].
    #[arg(long, value_name = "N", value_parser = key_threads)]
    pub(crate) key_threads: Option<usize>,
    #[command(flatten)]
    pub(crate) log: LogOpts,
}

/// `--private-key-ops pool|inline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrivateKeyOps {
    /// On a pool of threads of their own (the default).
    Pool,
    /// On the thread serving the connection.
    Inline,
}

/// `--client-auth required|optional`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ClientAuthArg {
    /// A client without a certificate is refused (handshake_failure); the default.
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
    ///
    /// Sent as SNI (RFC 6066) when it is a DNS name, not an IP address. With
    /// --cafile the server's certificate must be valid for it.
    #[arg(long, value_name = "NAME")]
    pub(crate) servername: Option<String>,
    /// Offers application protocols (RFC 7301), comma-separated.
    ///
    /// E.g. `--alpn http/1.1,h2`. The protocol the server selects is shown in
    /// the `alpn` field of the connected line (`-` for none).
    #[arg(long, value_name = "PROTO[,PROTO...]")]
    pub(crate) alpn: Option<String>,
    /// Appends NSS key log lines to FILE (else $SSLKEYLOGFILE).
    ///
    /// See KEY LOG below: whoever can read FILE can decrypt the sessions.
    #[arg(long, value_name = "FILE")]
    pub(crate) keylog: Option<String>,
    /// Accepts a server without Extended Master Secret (RFC 7627).
    ///
    /// For legacy servers; reported as extended_master_secret=false. Without
    /// it such a server is refused.
    #[arg(long)]
    pub(crate) allow_no_ems: bool,
    /// The TCP connection and the handshake must finish in SECS.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = seconds)]
    pub(crate) handshake_timeout: u64,
    /// A client certificate chain, leaf first, sent when the server asks.
    ///
    /// Mutual TLS: with --key, a client certificate (PEM or DER, leaf first)
    /// and its RSA key (2048 bits or more), sent when the server asks for one
    /// and offers a signature algorithm the key can sign with (RSA-PSS, then
    /// PKCS#1 v1.5, with SHA-256 or stronger); otherwise the client answers
    /// with no certificate. The server's list of acceptable CAs is advisory.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<String>,
    /// The private key of --cert.
    ///
    /// PEM or DER, PKCS#8 or PKCS#1, or encrypted PKCS#8 with --key-pass-env
    /// or --key-pass-file.
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
    ///
    /// One or more pins separated by `;`, each `sha256//` and the base64
    /// SHA-256 of a key's SubjectPublicKeyInfo (as `serve` and `keygen` print
    /// them and curl's --pinnedpubkey takes them). The server's chain, name
    /// and validity period are not checked.
    #[arg(long, value_name = "sha256//BASE64[;...]")]
    pub(crate) pin: Option<String>,
    /// Trusts certificates chaining to (or identical to) one of FILE's.
    ///
    /// FILE holds one or more certificates (PEM or DER). The server's leaf
    /// must be valid for --servername (else HOST) and valid now: a leaf
    /// identical to one of FILE's certificates needs no chain; any other must
    /// chain to one of them.
    #[arg(long, value_name = "FILE")]
    pub(crate) cafile: Option<String>,
}

/// Where a key's passphrase comes from: never the command line.
#[derive(Debug, Args)]
pub(crate) struct KeyPassOpts {
    /// The key's passphrase is in the environment variable NAME.
    ///
    /// For an encrypted PKCS#8 key (PBES2: PBKDF2 or scrypt, AES-CBC).
    #[arg(long, value_name = "NAME", conflicts_with = "key_pass_file")]
    pub(crate) key_pass_env: Option<String>,
    /// The key's passphrase is the first line of PATH.
    ///
    /// Without its line ending, as `openssl -passin file:PATH` reads it.
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

/// A server key held in a PKCS#11 token (see PKCS#11 KEYS below).
#[derive(Debug, Args)]
pub(crate) struct Pkcs11Opts {
    /// The PKCS#11 module (shared library) of the token holding the key.
    ///
    /// E.g. /usr/lib/softhsm/libsofthsm2.so. With --pkcs11-key and one
    /// --cert (the key's certificate), and no --key.
    #[arg(long, value_name = "PATH", requires = "pkcs11_key")]
    pub(crate) pkcs11_module: Option<String>,
    /// The token's private key: an RFC 7512 pkcs11: URI or an object label.
    ///
    /// E.g. `pkcs11:token=web;object=tls;type=private` (token=, manufacturer=,
    /// model=, serial=, slot-id=, object=, id=, percent-encoded), or a plain
    /// label for a key on the only token. pin-value= is refused.
    #[arg(long, value_name = "URI|LABEL", requires = "pkcs11_module")]
    pub(crate) pkcs11_key: Option<String>,
    /// The token's user PIN is in the environment variable NAME.
    #[arg(
        long,
        value_name = "NAME",
        requires = "pkcs11_module",
        conflicts_with = "pkcs11_pin_file"
    )]
    pub(crate) pkcs11_pin_env: Option<String>,
    /// The token's user PIN is the first line of PATH.
    #[arg(long, value_name = "PATH", requires = "pkcs11_module")]
    pub(crate) pkcs11_pin_file: Option<String>,
    /// Refused: a PIN on the command line is visible to other users.
    #[arg(long = "pkcs11-pin", value_name = "PIN", hide = true)]
    pub(crate) refused_pkcs11_pin: Option<String>,
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

/// The longest time limit the options take, in seconds: a year. A longer
/// one would mean no limit, and one near `u64::MAX` seconds overflows the
/// clock's deadline arithmetic.
pub(crate) const MAX_SECS: u64 = 365 * 24 * 3600;
/// The most connections a server serves at once: far above any file
/// descriptor limit, and far below what tokio's semaphore can count.
pub(crate) const MAX_CONNECTIONS: u64 = 1_000_000;

/// A time limit option's value: whole seconds, 1 to [`MAX_SECS`].
pub(crate) fn seconds(text: &str) -> Result<u64, String> {
    whole_number(text, MAX_SECS)
}

/// `--key-threads`: 1 to [`rsatls::tokio::MAX_KEY_THREADS`].
pub(crate) fn key_threads(text: &str) -> Result<usize, String> {
    let max = rsatls::tokio::MAX_KEY_THREADS;
    whole_number(text, max as u64).map(|n| n as usize)
}

/// A connection count option's value: 1 to [`MAX_CONNECTIONS`].
pub(crate) fn connections(text: &str) -> Result<u64, String> {
    whole_number(text, MAX_CONNECTIONS)
}

fn whole_number(text: &str, max: u64) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("a whole number from 1 to {max}")),
    }
}

/// The command line: [`Cli`] with the manual's shared sections (keys, key
/// log, logs, reload, exit codes) at the end of each subcommand's long help,
/// so that `rsatls SUB --help` shows those that concern SUB
/// ([`manual::sections`]). Whatever long help a subcommand declares itself
/// comes first.
pub(crate) fn command() -> clap::Command {
    let top = [manual::TOP_AFTER, manual::EXIT_CODES].join("\n\n");
    Cli::command().after_long_help(top).mut_subcommands(|sub| {
        let own = sub.get_after_long_help().map(|text| text.to_string());
        let sections = manual::sections(sub.get_name());
        let text = own
            .into_iter()
            .chain(sections.iter().map(|s| s.to_string()));
        sub.after_long_help(text.collect::<Vec<_>>().join("\n\n"))
    })
}

/// Parses `args` (the program name first).
///
/// # Errors
/// `--help` and `--version` (to print on stdout, exit 0), or a usage error
/// (stderr, exit 2) that shows the usage of the subcommand at fault.
pub(crate) fn parse(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let subcommand = args.get(1).and_then(|a| a.to_str()).map(str::to_owned);
    let mut cmd = command();
    let parsed = cmd
        .try_get_matches_from_mut(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    parsed.map_err(|mut e| {
        // clap shows the usage with some errors (an unknown option, a missing
        // one) and not with others (a value out of range, a value not among
        // the choices); every usage error shows it here, and the usage of the
        // subcommand at fault only, not the whole manual.
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let bare = e.use_stderr()
            && e.kind() != ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            && e.get(ContextKind::Usage).is_none();
        if bare {
            let usage = match subcommand.and_then(|name| cmd.find_subcommand_mut(name)) {
                Some(sub) => sub.render_usage(),
                None => cmd.render_usage(),
            };
            e.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
        }
        e
    })
}

/// A usage error found after parsing (options that go together, a value
/// clap cannot check), rendered like clap's own: the message, then the usage
/// of `subcommand` only.
pub(crate) fn usage_error(subcommand: &str, message: &str) -> clap::Error {
    let mut cli = command();
    cli.build();
    let mut cmd = cli
        .find_subcommand_mut(subcommand)
        .map(|c| c.clone())
        .unwrap_or_else(command);
    cmd.error(clap::error::ErrorKind::ValueValidation, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(seconds("1"), Ok(1));
        assert_eq!(seconds(&MAX_SECS.to_string()), Ok(MAX_SECS));
        assert_eq!(
            connections(&MAX_CONNECTIONS.to_string()),
            Ok(MAX_CONNECTIONS)
        );
        for bad in ["0", "-1", "", "1.5", "ten", "18446744073709551616"] {
            assert!(seconds(bad).is_err(), "{bad:?}");
            assert!(connections(bad).is_err(), "{bad:?}");
        }
        assert!(seconds(&(MAX_SECS + 1).to_string()).is_err());
        assert!(connections(&(MAX_CONNECTIONS + 1).to_string()).is_err());
        assert_eq!(key_threads("1"), Ok(1));
        assert_eq!(key_threads("1024"), Ok(1024));
        for bad in ["0", "1025", "-1", "", "two", "18446744073709551616"] {
            assert!(key_threads(bad).is_err(), "{bad:?}");
        }
    }

    /// Every subcommand's long help ends with the manual's sections for it,
    /// after whatever it declares itself.
    #[test]
    fn each_subcommand_gets_its_sections() {
        let mut cmd = command();
        for sub in cmd.get_subcommands_mut() {
            let name = sub.get_name().to_string();
            if name == "help" {
                continue;
            }
            let text = sub.get_after_long_help().map(ToString::to_string);
            let text = text.unwrap_or_default();
            assert!(
                text.ends_with(&manual::sections(&name).join("\n\n")),
                "{name}: {text}"
            );
        }
    }
}
