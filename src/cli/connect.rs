//! `rsatls connect`: stdin to the server, the server's data to stdout, both at
//! once (on the tokio adapter and its [`pump`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rsatls::tokio::{Timeouts, TlsStream, pump};
use rsatls::{ClientConfig, ClientConnection, ServerAuth};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::diagnose::{self, Recorder};
use super::opts::{ClientOpts, ConnectArgs};
use super::{Failure, describe, keyfiles, os_rng};

pub(crate) fn run(args: ConnectArgs) -> Result<(), Failure> {
    let target = args.target.as_str();
    let (host, port) = split_host_port(target)?;
    let client = client_config(&args.client)?;
    // The name the certificate must match: --servername, else the host. The
    // engine sends it as SNI only when it is a DNS name (RFC 6066 §3).
    let server_name = args.client.servername.as_deref().unwrap_or(host);
    let provider = rsatls::crypto::default_provider();
    let config = client.config;
    // The clock is read here, by the CLI: the engine never reads time itself.
    let conn = ClientConnection::new_at(
        config,
        Some(server_name),
        rsatls::UnixTime::now(),
        os_rng()?,
    )
    .map_err(|e| Failure::Usage(format!("--servername: {e}")))?;
    let session = Session {
        target,
        host,
        port,
        handshake: Duration::from_secs(args.client.handshake_timeout),
        idle: args.idle_timeout.map(Duration::from_secs),
        pinned: client.pinned,
        has_client_cert: client.has_client_cert,
        provider: provider.as_ref(),
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("runtime: {e}")))?;
    let result = runtime.block_on(session.run(conn));
    // tokio's stdin reads on a blocking thread that may still wait for input;
    // it must not hold up the exit.
    runtime.shutdown_background();
    result
}

/// `HOST:PORT` split into its host (brackets of an IPv6 address removed) and
/// port.
pub(crate) fn split_host_port(target: &str) -> Result<(&str, u16), Failure> {
    let (host, port) = target
        .rsplit_once(':')
        .ok_or_else(|| Failure::Usage(format!("`{target}` is not HOST:PORT")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port
        .parse()
        .map_err(|_| Failure::Usage(format!("bad port in `{target}`")))?;
    Ok((host, port))
}

/// A client configuration built from the options `connect` and `tunnel` share.
pub(crate) struct Client {
    pub(crate) config: Arc<ClientConfig>,
    /// The server is trusted by its key's pin (`--pin`), not a CA.
    pub(crate) pinned: bool,
    /// `--cert`/`--key` were given.
    pub(crate) has_client_cert: bool,
}

/// Reads the files `opts` names and builds the client configuration.
pub(crate) fn client_config(opts: &ClientOpts) -> Result<Client, Failure> {
    let key_pass = keyfiles::passphrase(&opts.key_pass)?;
    // clap makes --cert and --key require each other.
    let client_cert = opts.cert.as_deref().zip(opts.key.as_deref());
    if client_cert.is_none() && key_pass.is_some() {
        return Err(Failure::Usage(
            "--key-pass-env/--key-pass-file are for the key of --cert/--key".into(),
        ));
    }
    let key_log = super::keylog::open_option(opts.keylog.as_deref())?;
    let provider = rsatls::crypto::default_provider();
    // clap lets exactly one of --pin and --cafile through.
    let auth = match (&opts.trust.pin, &opts.trust.cafile) {
        (Some(pin), _) => ServerAuth::Pins(
            rsatls::pki::parse_pins(pin).map_err(|e| Failure::Usage(format!("--pin: {e}")))?,
        ),
        (None, Some(file)) => ServerAuth::TrustedCertificates(keyfiles::load_certificates(file)?),
        (None, None) => {
            return Err(Failure::Usage(
                "exactly one of --pin and --cafile is required".into(),
            ));
        }
    };
    let pinned = matches!(auth, ServerAuth::Pins(_));
    let mut config = ClientConfig::new(provider, auth).with_allow_no_ems(opts.allow_no_ems);
    if let Some(list) = &opts.alpn {
        let protocols: Vec<&[u8]> = list.split(',').map(str::as_bytes).collect();
        config = config
            .with_alpn_protocols(&protocols)
            .map_err(|e| Failure::Usage(format!("--alpn: {e}")))?;
    }
    if let Some(key_log) = key_log {
        config = config.with_key_log(key_log);
    }
    if let Some((cert, key)) = client_cert {
        let chain = keyfiles::load_certificates(cert)?;
        let key_file = keyfiles::load_key(key, key_pass.as_ref())?;
        config = config
            .with_client_certificate(chain, &key_file)
            .map_err(|e| Failure::Input(format!("{cert} with {key}: {e}")))?;
    }
    Ok(Client {
        config: Arc::new(config),
        pinned,
        has_client_cert: client_cert.is_some(),
    })
}

/// One connection, from the TCP connect to the peer's close.
struct Session<'a> {
    target: &'a str,
    host: &'a str,
    port: u16,
    handshake: Duration,
    idle: Option<Duration>,
    pinned: bool,
    /// `--cert/--key` were given: the summary says whether the certificate went out.
    has_client_cert: bool,
    provider: &'a dyn rsatls::crypto::CryptoProvider,
}

impl Session<'_> {
    async fn run(&self, conn: ClientConnection) -> Result<(), Failure> {
        let target = self.target;
        let secs = self.handshake.as_secs();
        // The TCP connect counts against the handshake limit too.
        let tcp = tokio::time::timeout(self.handshake, TcpStream::connect((self.host, self.port)))
            .await
            .map_err(|_| {
                Failure::Runtime(format!(
                    "connect {target}: no TCP connection within {secs} s (--handshake-timeout)"
                ))
            })?
            .map_err(|e| Failure::Runtime(format!("connect {target}: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        let timeouts = Timeouts {
            handshake: Some(self.handshake),
            idle: self.idle,
        };
        let mut tls = TlsStream::new(conn, Recorder::new(tcp), timeouts);
        let info = match tls.handshake().await {
            Ok(info) => info,
            Err(e) => {
                let seen = tls.get_ref().seen();
                return Err(Failure::Runtime(diagnose::handshake_failure(
                    &e,
                    &diagnose::Context {
                        target,
                        seen,
                        handshake_secs: secs,
                        pinned: self.pinned,
                        provider: self.provider,
                    },
                )));
            }
        };
        let client_certificate = match self.has_client_cert {
            true => format!(
                " client_certificate={}",
                diagnose::client_certificate(tls.get_ref().seen(), tls.get_ref().sent())
            ),
            false => String::new(),
        };
        tls.get_mut().stop_recording();
        let leaf = info.peer_certificates.first();
        let pin = leaf
            .and_then(|leaf| rsatls::pki::rsa_key_from_certificate(leaf).ok())
            .map(|k| rsatls::pki::pin_of_spki(self.provider, &k.spki_der).to_string())
            .unwrap_or_default();
        let subject = leaf
            .and_then(|leaf| rsatls::pki::certificate_subject(leaf))
            .unwrap_or_default();
        let alpn = info.alpn_protocol.as_deref().map_or_else(
            || "-".to_string(),
            |p| String::from_utf8_lossy(p).into_owned(),
        );
        // Documented in --help; the subject is last because it may hold spaces.
        eprintln!(
            "rsatls: connected: {} extended_master_secret={} alpn {alpn}{client_certificate} \
             pin {pin} subject {subject}",
            info.suite.name, info.extended_master_secret
        );
        match pump(&mut tls, tokio::io::stdin(), Stdout(tokio::io::stdout())).await {
            Ok(_) => Ok(()),
            // The reader of our stdout went away (`rsatls connect ... | head -1`):
            // the session's output is done; close it cleanly.
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<StdoutClosed>()) => {
                let _ = tls.shutdown().await;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(Failure::Runtime(format!(
                "{target}: no data either way for {} s (--idle-timeout)",
                self.idle.map_or(0, |d| d.as_secs())
            ))),
            Err(e) => Err(Failure::Runtime(format!("{target}: {}", describe(&e)))),
        }
    }
}

/// Our stdout, whose `BrokenPipe` (its reader went away) is told apart from
/// one on the socket by a [`StdoutClosed`] inside the error.
struct Stdout(tokio::io::Stdout);

/// Marks an error of writing to stdout whose reader has gone.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for StdoutClosed {}

fn mark_closed<T>(poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
    match poll {
        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)))
        }
        other => other,
    }
}

impl AsyncWrite for Stdout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        mark_closed(Pin::new(&mut self.get_mut().0).poll_write(cx, data))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        mark_closed(Pin::new(&mut self.get_mut().0).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        mark_closed(Pin::new(&mut self.get_mut().0).poll_shutdown(cx))
    }
}
