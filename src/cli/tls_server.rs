//! The TLS side of the server subcommands (`serve`, `proxy`): the
//! [`ServerConfig`] built from [`ServerOpts`], swapped for a fresh one on
//! SIGHUP, and the handshake of each accepted connection, logged.
//!
//! A reload re-reads every `--cert`/`--key` pair, the `--key-pass-*` source
//! and `--client-ca` (or re-finds the `--pkcs11-key` on its token), and builds a whole new configuration; new connections get
//! it, established ones keep the `Arc` they started with. A reload that fails
//! leaves the old configuration in place and logs why (warn). A server without
//! `--cert` (an ephemeral key) keeps its key: there is nothing to re-read.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rsatls::crypto::CryptoProvider;
use rsatls::tokio::{KeyPool, Timeouts, TlsStream};
use rsatls::{ClientAuthMode, KeyLog, Server, ServerConfig};
use tokio::net::TcpStream;

use super::certgen::{self, SanEntry};
use super::log::{ConnectionLog, End};
use super::opts::{ClientAuthArg, PrivateKeyOps, ServerOpts};
use super::server::{Reload, Stop};
use super::{Failure, keyfiles, os_rng};

/// How a TLS server's configuration is made, kept so that SIGHUP can make it
/// again.
pub(crate) struct ConfigSource {
    opts: ServerOpts,
    /// Application protocols offered (RFC 7301), best first.
    alpn: Vec<Vec<u8>>,
    /// Opened once at start; reloads reuse it.
    key_log: Option<Arc<dyn KeyLog>>,
    provider: Arc<dyn CryptoProvider>,
}

impl ConfigSource {
    /// Takes the options and opens the key log (`--keylog` or
    /// `SSLKEYLOGFILE`); nothing else is read yet.
    pub(crate) fn new(opts: ServerOpts, alpn: &[&[u8]]) -> Result<Self, Failure> {
        super::pkcs11::check(&opts.pkcs11, opts.cert.len(), opts.key.len())?;
        if opts.pkcs11.pkcs11_module.is_none() && opts.cert.len() != opts.key.len() {
            return Err(Failure::Usage(
                "--cert and --key go together: one --key per --cert".into(),
            ));
        }
        if opts.private_key_ops == PrivateKeyOps::Inline && opts.key_threads.is_some() {
            return Err(Failure::Usage(
                "--key-threads is for --private-key-ops pool, not inline".into(),
            ));
        }
        // Checked now so that a refused --key-pass is a usage error before
        // anything else.
        keyfiles::passphrase(&opts.key_pass)?;
        let key_log = super::keylog::open_option(opts.keylog.as_deref())?;
        Ok(Self {
            opts,
            alpn: alpn.iter().map(|p| p.to_vec()).collect(),
            key_log,
            provider: rsatls::crypto::default_provider(),
        })
    }

    /// Whether the server asks clients for certificates (`--client-ca`).
    pub(crate) fn asks_for_client_certificates(&self) -> bool {
        self.opts.client_ca.is_some()
    }

    /// The handshake and idle limits of `--handshake-timeout`/`--idle-timeout`.
    pub(crate) fn timeouts(&self) -> Timeouts {
        Timeouts {
            handshake: Some(Duration::from_secs(self.opts.handshake_timeout)),
            idle: Some(Duration::from_secs(self.opts.idle_timeout)),
        }
    }

    /// `--max-connections`.
    pub(crate) fn max_connections(&self) -> usize {
        usize::try_from(self.opts.max_connections).unwrap_or(usize::MAX)
    }

    /// The pool of `--private-key-ops pool` (the default), with
    /// `--key-threads` threads or one per core; `None` for inline.
    pub(crate) fn key_pool(&self) -> Result<Option<KeyPool>, Failure> {
        if self.opts.private_key_ops == PrivateKeyOps::Inline {
            return Ok(None);
        }
        let pool = match self.opts.key_threads {
            Some(n) => KeyPool::new(n),
            None => KeyPool::per_core(),
        };
        pool.map(Some)
            .map_err(|e| Failure::Runtime(format!("private-key threads: {e}")))
    }

    /// Whether a reload has files to re-read (else the key is ephemeral).
    fn has_files(&self) -> bool {
        !self.opts.cert.is_empty()
    }

    /// Reads every file and builds the configuration: the first --cert/--key
    /// pair is the default, later pairs are chosen by SNI. Without --cert, an
    /// ephemeral key and self-signed certificate.
    pub(crate) fn build(&self) -> Result<ServerConfig, Failure> {
        let opts = &self.opts;
        let key_pass = keyfiles::passphrase(&opts.key_pass)?;
        // Read before any key is generated, so that a wrong file is reported at once.
        let client_roots = match &opts.client_ca {
            Some(file) => Some(keyfiles::load_certificates(file).map_err(|e| match e {
                Failure::Input(msg) => Failure::Input(format!("--client-ca {msg}")),
                other => other,
            })?),
            None => None,
        };
        let mut config = match opts.cert.first().zip(opts.key.first()) {
            Some((cert, key)) => {
                let mut config =
                    keyfiles::server_config(self.provider.clone(), cert, key, key_pass.as_ref())?;
                for (cert, key) in opts.cert.iter().zip(&opts.key).skip(1) {
                    let chain = keyfiles::load_certificates(cert)?;
                    let key_file = keyfiles::load_key(key, key_pass.as_ref())?;
                    config = config
                        .with_certificate(chain, &key_file)
                        .map_err(|e| Failure::Input(format!("{cert} with {key}: {e}")))?;
                }
                config
            }
            // No --key: the key is in a PKCS#11 token, or else ephemeral.
            None => {
                match super::pkcs11::server_config(&opts.pkcs11, &opts.cert, self.provider.clone())?
                {
                    Some(config) => config,
                    None => ephemeral_config(self.provider.clone())?,
                }
            }
        };
        config = config.with_allow_no_ems(opts.allow_no_ems);
        // The RSA operation leaves the engine for the pool (`key_pool`).
        config = config.with_private_key_offload(opts.private_key_ops == PrivateKeyOps::Pool);
        if !self.alpn.is_empty() {
            let alpn: Vec<&[u8]> = self.alpn.iter().map(Vec::as_slice).collect();
            config = config
                .with_alpn_protocols(&alpn)
                .map_err(|e| Failure::Runtime(e.to_string()))?;
        }
        if let Some(key_log) = &self.key_log {
            config = config.with_key_log(key_log.clone());
        }
        let mode = client_auth_mode(client_roots.is_some(), opts.client_auth);
        if let (Some(roots), Some(mode), Some(file)) = (client_roots, mode, &opts.client_ca) {
            config = config
                .with_client_auth(roots, mode)
                .map_err(|e| Failure::Input(format!("--client-ca {file}: {e}")))?;
        }
        Ok(config)
    }
}

/// The client-authentication mode: `--client-auth required|optional` (default
/// required) when `--client-ca` is given (clap refuses `--client-auth` alone).
fn client_auth_mode(has_ca: bool, mode: Option<ClientAuthArg>) -> Option<ClientAuthMode> {
    match (has_ca, mode) {
        (false, _) => None,
        (true, None | Some(ClientAuthArg::Required)) => Some(ClientAuthMode::Required),
        (true, Some(ClientAuthArg::Optional)) => Some(ClientAuthMode::Optional),
    }
}

/// A TLS server's configuration, reloadable, and its handshake.
pub(crate) struct TlsServer {
    source: ConfigSource,
    current: RwLock<Arc<ServerConfig>>,
    /// Held for a whole reload, so that two SIGHUPs in a row cannot finish
    /// out of order and leave the older files' configuration in place.
    reloading: Mutex<()>,
    timeouts: Timeouts,
    /// Where the private-key operations run (`None`: inline).
    key_pool: Option<KeyPool>,
}

impl TlsServer {
    /// Builds the first configuration from `source`; an error here is the
    /// command's error (exit 2 or 3).
    pub(crate) fn new(source: ConfigSource) -> Result<Arc<Self>, Failure> {
        let config = Arc::new(source.build()?);
        Ok(Arc::new(Self {
            timeouts: source.timeouts(),
            key_pool: source.key_pool()?,
            source,
            current: RwLock::new(config),
            reloading: Mutex::new(()),
        }))
    }

    /// The configuration new connections get.
    pub(crate) fn config(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The pin (`sha256//...`) of the default certificate's key.
    pub(crate) fn pin(&self) -> Result<String, Failure> {
        let config = self.config();
        let spki = rsatls::pki::rsa_key_from_certificate(config.leaf())
            .map_err(|e| Failure::Runtime(format!("certificate: {e}")))?;
        Ok(rsatls::pki::pin_of_spki(self.source.provider.as_ref(), &spki.spki_der).to_string())
    }

    /// Rebuilds the configuration from the files and swaps it in for new
    /// connections; on failure keeps the old one. Logs the outcome.
    pub(crate) fn reload(&self) {
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !self.source.has_files() {
            tracing::info!("SIGHUP: no --cert given; keeping the ephemeral key");
            return;
        }
        match self.source.build() {
            Ok(config) => {
                let config = Arc::new(config);
                let pin = rsatls::pki::rsa_key_from_certificate(config.leaf())
                    .map(|spki| {
                        rsatls::pki::pin_of_spki(self.source.provider.as_ref(), &spki.spki_der)
                            .to_string()
                    })
                    .unwrap_or_default();
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
                tracing::info!(pin = pin.as_str(), "SIGHUP: certificates and keys reloaded");
            }
            Err(Failure::Usage(why) | Failure::Runtime(why) | Failure::Input(why)) => {
                tracing::warn!(
                    error = why.as_str(),
                    "SIGHUP: reload failed; keeping the current certificates and keys"
                );
            }
        }
    }

    /// The SIGHUP hook for [`super::server::Server::run`].
    pub(crate) fn reload_hook(self: &Arc<Self>) -> Reload {
        let this = self.clone();
        Arc::new(move || this.reload())
    }

    /// The server handshake on `sock` with the current configuration, recorded
    /// in `log` (its parameters and time, the client's subject when
    /// certificates are asked for, or how it failed). `None` when it failed or
    /// the server is stopping.
    pub(crate) async fn accept(
        &self,
        sock: TcpStream,
        stop: &mut Stop,
        log: &mut ConnectionLog,
    ) -> Option<TlsStream<Server, TcpStream>> {
        let rng = match os_rng() {
            Ok(rng) => rng,
            Err(Failure::Usage(why) | Failure::Runtime(why) | Failure::Input(why)) => {
                log.ended(End::Error, Some(why));
                return None;
            }
        };
        let started = Instant::now();
        let handshake = async {
            let (config, timeouts) = (self.config(), self.timeouts);
            match &self.key_pool {
                Some(pool) => {
                    rsatls::tokio::accept_with_key_pool(config, sock, rng, timeouts, pool.clone())
                        .await
                }
                None => rsatls::tokio::accept(config, sock, rng, timeouts).await,
            }
        };
        let accepted = tokio::select! {
            tls = handshake => tls,
            // Stopping: a handshake in progress is dropped.
            () = stop.stopped() => {
                log.ended(End::Shutdown, None);
                return None;
            }
        };
        match accepted {
            Ok(tls) => {
                if let Some(info) = tls.conn().handshake_info() {
                    log.handshake(info, started.elapsed());
                }
                if self.source.asks_for_client_certificates() {
                    log.client_subject = Some(client_subject(tls.conn()));
                }
                Some(tls)
            }
            Err(e) => {
                log.failed(&e);
                None
            }
        }
    }
}

/// The subject of the client certificate the engine verified
/// (`HandshakeInfo::peer_certificates` on a server is the client's verified
/// chain, empty when it sent none): `none` without one, `-` for a subject that
/// cannot be printed.
pub(crate) fn client_subject(conn: &rsatls::ServerConnection) -> String {
    let leaf = conn
        .handshake_info()
        .and_then(|info| info.peer_certificates.first());
    match leaf {
        None => "none".to_string(),
        Some(leaf) => rsatls::pki::certificate_subject(leaf).unwrap_or_else(|| "-".to_string()),
    }
}

/// An ephemeral 2048-bit key and a self-signed certificate for localhost.
fn ephemeral_config(provider: Arc<dyn CryptoProvider>) -> Result<ServerConfig, Failure> {
    let mut rng = os_rng()?;
    tracing::info!("generating an ephemeral 2048-bit RSA key and self-signed certificate");
    let key = rsa::PrivateKey::new(&mut rng, 2048)
        .map_err(|e| Failure::Runtime(format!("keygen: {e}")))?;
    let sans = [
        SanEntry::Dns("localhost".into()),
        SanEntry::Ip([127, 0, 0, 1].into()),
        SanEntry::Ip(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    let (not_before, lifetime) = ephemeral_validity(SystemTime::now());
    let cert = certgen::self_signed(&key, &sans, not_before, lifetime, &mut rng)
        .map_err(|e| Failure::Runtime(format!("certificate: {e}")))?;
    let key_pem =
        certgen::key_to_pkcs8_pem(&key).map_err(|e| Failure::Runtime(format!("key: {e}")))?;
    ServerConfig::from_pem_or_der(provider, &cert, key_pem.as_bytes())
        .map_err(|e| Failure::Runtime(e.to_string()))
}

/// The ephemeral certificate's notBefore and lifetime: valid from an hour
/// before `now` (clients with a clock a little behind) for 30 days.
fn ephemeral_validity(now: SystemTime) -> (SystemTime, Duration) {
    (
        now - Duration::from_secs(3600),
        Duration::from_secs(30 * 86400),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serve ARGS` with the committed rsa2048 key: whether its server
    /// hands the ClientKeyExchange's operation out (an in-memory handshake
    /// with a client pinning the key), and how many key threads it has.
    fn offload_and_threads(args: &[&str]) -> (bool, Option<usize>) {
        use rand_core::SeedableRng;
        use rsatls::{ClientConnection, Event, ServerAuth, ServerConnection, UnixTime};
        let data = |name: &str| format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let (cert, key) = (data("rsa2048.cert.pem"), data("rsa2048.key.pem"));
        let mut argv = vec!["rsatls", "serve", "--cert", &cert, "--key", &key];
        argv.extend_from_slice(args);
        let cli = super::super::opts::parse(argv.iter().map(Into::into).collect()).unwrap();
        let super::super::opts::Command::Serve(serve) = cli.command else {
            panic!("not serve");
        };
        let source = ConfigSource::new(serve.server, &[]).unwrap();
        let threads = source.key_pool().unwrap().map(|pool| pool.threads());
        let server = TlsServer::new(source).unwrap();
        let pins = rsatls::pki::parse_pins(&server.pin().unwrap()).unwrap();
        let provider = rsatls::crypto::default_provider();
        let client_config = Arc::new(rsatls::ClientConfig::new(provider, ServerAuth::Pins(pins)));
        let now = UnixTime::now();
        let rng = || rand_chacha::ChaCha20Rng::from_seed([9; 32]);
        let mut c = ClientConnection::new_at(client_config, None, now, rng()).unwrap();
        let mut s = ServerConnection::new_at(server.config(), now, rng());
        let mut offloaded = false;
        for _ in 0..8 {
            let mut wire = Vec::new();
            c.write_tls_into(&mut wire);
            let mut fed = 0;
            loop {
                while let Some(event) = s.poll_event().unwrap() {
                    if let Event::PrivateKeyOperation(op) = event {
                        offloaded = true;
                        s.complete_private_key_operation(op.run()).unwrap();
                    }
                }
                if fed == wire.len() {
                    break;
                }
                fed += s.read_tls(&wire[fed..]).unwrap();
            }
            let mut wire = Vec::new();
            s.write_tls_into(&mut wire);
            let mut fed = 0;
            while fed < wire.len() {
                fed += c.read_tls(&wire[fed..]).unwrap();
                while c.poll_event().unwrap().is_some() {}
            }
        }
        assert!(c.is_established() && s.is_established());
        (offloaded, threads)
    }

    #[test]
    fn servers_offload_the_private_key_operation_to_a_pool_unless_told_inline() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(offload_and_threads(&[]), (true, Some(cores)));
        assert_eq!(
            offload_and_threads(&["--private-key-ops", "pool", "--key-threads", "3"]),
            (true, Some(3))
        );
        assert_eq!(
            offload_and_threads(&["--private-key-ops", "inline"]),
            (false, None)
        );
    }

    #[test]
    fn the_ephemeral_certificate_is_valid_now_and_for_30_days() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (not_before, lifetime) = ephemeral_validity(now);
        assert_eq!(now.duration_since(not_before).unwrap().as_secs(), 3600);
        assert_eq!(lifetime.as_secs(), 30 * 24 * 3600);
    }

    #[test]
    fn client_auth_needs_a_ca_and_defaults_to_required() {
        assert_eq!(client_auth_mode(false, None), None);
        assert_eq!(client_auth_mode(false, Some(ClientAuthArg::Optional)), None);
        assert_eq!(client_auth_mode(true, None), Some(ClientAuthMode::Required));
        assert_eq!(
            client_auth_mode(true, Some(ClientAuthArg::Required)),
            Some(ClientAuthMode::Required)
        );
        assert_eq!(
            client_auth_mode(true, Some(ClientAuthArg::Optional)),
            Some(ClientAuthMode::Optional)
        );
    }
}
