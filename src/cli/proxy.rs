//! `rsatls proxy`: terminates TLS and forwards the plaintext to an upstream.
//!
//! Each connection: the TLS handshake first, then the TCP connection to the
//! upstream (within `--upstream-timeout`), then the PROXY header if asked for,
//! then [`forward`] both ways until both directions have ended. An upstream
//! that cannot be reached gets the client our close_notify right after the
//! handshake (the reason is logged), never a hang.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rsatls::Server;
use rsatls::tokio::{Timeouts, TlsStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::forward::{Forwarded, Side, forward};
use super::opts::{ProxyArgs, ProxyProtocol, ServerOpts};
use super::proxy_protocol::{self, TlsFacts};
use super::{Failure, describe, keyfiles, os_rng};

/// After an upstream failure, how long the client has to read our close_notify
/// (and send its own) before the socket is closed: closing with unread client
/// data would reset the connection and could destroy the close_notify in flight.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// What each connection needs besides its TLS stream.
pub(crate) struct Upstream {
    /// `--upstream`, resolved on each connection.
    pub(crate) address: String,
    /// `--upstream-timeout`.
    pub(crate) connect_timeout: Duration,
    /// `--idle-timeout`: no byte either way for this long ends the connection.
    pub(crate) idle: Duration,
    /// `--proxy-protocol`.
    pub(crate) proxy_protocol: Option<ProxyProtocol>,
}

/// How a proxied connection went, for its log line.
#[derive(Debug)]
pub(crate) struct Proxied {
    /// Application data from the client (sent to the upstream).
    pub(crate) bytes_in: u64,
    /// Application data to the client (read from the upstream).
    pub(crate) bytes_out: u64,
    /// `Ok` when both directions ended cleanly; otherwise what failed.
    pub(crate) result: Result<(), ProxyError>,
}

/// Why a proxied connection did not end cleanly.
#[derive(Debug)]
pub(crate) enum ProxyError {
    /// The upstream could not be reached; the client got our close_notify.
    UpstreamConnect(String),
    /// The TLS side failed (truncation, alert, timeout) or the idle limit passed.
    Tls(io::Error),
    /// The upstream side failed (reset, write error).
    Upstream(io::Error),
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UpstreamConnect(why) => write!(f, "upstream: {why}"),
            Self::Tls(e) => f.write_str(&describe(e)),
            Self::Upstream(e) => write!(f, "upstream: {e}"),
        }
    }
}

/// One established TLS connection: the upstream connection, the PROXY header,
/// then the copy both ways. `peer` is the client, `local` the address it
/// reached (both go into the PROXY header).
pub(crate) async fn proxy_one(
    mut tls: TlsStream<Server, TcpStream>,
    peer: SocketAddr,
    local: SocketAddr,
    upstream: &Upstream,
) -> Proxied {
    let mut plain = match connect_upstream(upstream).await {
        Ok(plain) => plain,
        Err(why) => {
            close_after_failure(&mut tls).await;
            return Proxied {
                bytes_in: 0,
                bytes_out: 0,
                result: Err(ProxyError::UpstreamConnect(why)),
            };
        }
    };
    if let Some(version) = upstream.proxy_protocol {
        let header = match version {
            ProxyProtocol::V1 => proxy_protocol::v1(peer, local),
            ProxyProtocol::V2 => proxy_protocol::v2(peer, local, &tls_facts(tls.conn())),
        };
        if let Err(e) = plain.write_all(&header).await {
            close_after_failure(&mut tls).await;
            return Proxied {
                bytes_in: 0,
                bytes_out: 0,
                result: Err(ProxyError::Upstream(e)),
            };
        }
    }
    let Forwarded {
        from_tls,
        to_tls,
        result,
    } = forward(tls, plain, upstream.idle).await;
    Proxied {
        bytes_in: from_tls,
        bytes_out: to_tls,
        result: result.map_err(|(side, e)| match side {
            Side::Tls => ProxyError::Tls(e),
            Side::Plain => ProxyError::Upstream(e),
        }),
    }
}

/// The TCP connection to the upstream, within `--upstream-timeout` (the name
/// lookup included).
async fn connect_upstream(upstream: &Upstream) -> Result<TcpStream, String> {
    let address = upstream.address.as_str();
    let limit = upstream.connect_timeout;
    match tokio::time::timeout(limit, TcpStream::connect(address)).await {
        Err(_) => Err(format!(
            "no connection to {address} within {} s (--upstream-timeout)",
            limit.as_secs()
        )),
        Ok(Err(e)) => Err(format!("connect {address}: {e}")),
        Ok(Ok(sock)) => {
            // Small writes (interactive protocols) go out at once, as on the TLS side.
            let _ = sock.set_nodelay(true);
            Ok(sock)
        }
    }
}

/// Our close_notify after the upstream failed, then what the client still
/// sends is read and dropped until its own close_notify or [`CLOSE_LINGER`].
async fn close_after_failure(tls: &mut TlsStream<Server, TcpStream>) {
    let _ = tls.shutdown().await;
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        let mut sink = [0u8; 4096];
        while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// What the PROXY v2 header says about the TLS session.
fn tls_facts(conn: &rsatls::ServerConnection) -> TlsFacts {
    let Some(info) = conn.handshake_info() else {
        return TlsFacts::default();
    };
    // On a server, `peer_certificates` is the client's chain as verified by the
    // engine (empty when it sent none): a leaf here is a verified client.
    let leaf = info.peer_certificates.first();
    TlsFacts {
        server_name: info.server_name.clone(),
        alpn: info.alpn_protocol.clone(),
        cipher: proxy_protocol::openssl_cipher_name(info.suite.name),
        client_verified: leaf.is_some(),
        client_cn: leaf.and_then(|leaf| proxy_protocol::common_name(leaf)),
    }
}

/// The one log line of a connection (until the shared server loop logs it).
fn log_line(peer: SocketAddr, upstream: &str, proxied: &Proxied) {
    let end = match &proxied.result {
        Ok(()) => "close_notify".to_string(),
        Err(ProxyError::Tls(e)) if e.kind() == io::ErrorKind::TimedOut => "timeout".into(),
        Err(e) => format!("error ({e})"),
    };
    eprintln!(
        "{peer}: upstream={upstream} bytes_in={} bytes_out={} end={end}",
        proxied.bytes_in, proxied.bytes_out
    );
}

pub(crate) fn run(args: ProxyArgs) -> Result<(), Failure> {
    let ProxyArgs {
        listen,
        upstream,
        proxy_protocol,
        upstream_timeout,
        server: opts,
    } = args;
    super::connect::split_host_port(&upstream)
        .map_err(|_| Failure::Usage(format!("--upstream `{upstream}` is not HOST:PORT")))?;
    let config = server_config(&opts)?;
    let spki = rsatls::pki::rsa_key_from_certificate(config.leaf())
        .map_err(|e| Failure::Runtime(format!("certificate: {e}")))?;
    let provider = rsatls::crypto::default_provider();
    let pin = rsatls::pki::pin_of_spki(provider.as_ref(), &spki.spki_der);
    let timeouts = Timeouts {
        handshake: Some(Duration::from_secs(opts.handshake_timeout)),
        idle: Some(Duration::from_secs(opts.idle_timeout)),
    };
    let upstream = Arc::new(Upstream {
        address: upstream,
        connect_timeout: Duration::from_secs(upstream_timeout),
        idle: Duration::from_secs(opts.idle_timeout),
        proxy_protocol,
    });
    let max_connections = usize::try_from(opts.max_connections).unwrap_or(usize::MAX);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(&listen)
            .await
            .map_err(|e| Failure::Runtime(format!("bind {listen}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        super::outln!("listening on {local}")?;
        super::outln!("pin {pin}")?;
        let slots = Arc::new(Semaphore::new(max_connections));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let (sock, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (config, upstream) = (config.clone(), upstream.clone());
            let rng = os_rng()?;
            tokio::spawn(async move {
                let _ = sock.set_nodelay(true);
                let local = sock.local_addr().unwrap_or(local);
                match rsatls::tokio::accept(config, sock, rng, timeouts).await {
                    Ok(tls) => {
                        let proxied = proxy_one(tls, peer, local, &upstream).await;
                        log_line(peer, &upstream.address, &proxied);
                    }
                    Err(e) => eprintln!("{peer}: {}", describe(&e)),
                }
                drop(slot);
            });
        }
    })
}

/// The TLS configuration from the server options (a stand-in until the shared
/// server loop provides it): --cert/--key pairs, --client-ca, EMS, key log.
fn server_config(opts: &ServerOpts) -> Result<Arc<rsatls::ServerConfig>, Failure> {
    let key_pass = keyfiles::passphrase(&opts.key_pass)?;
    if opts.cert.is_empty() || opts.cert.len() != opts.key.len() {
        return Err(Failure::Usage(
            "--cert and --key go together: one --key per --cert".into(),
        ));
    }
    let provider = rsatls::crypto::default_provider();
    let mut config =
        keyfiles::server_config(provider, &opts.cert[0], &opts.key[0], key_pass.as_ref())?;
    for (cert, key) in opts.cert.iter().zip(&opts.key).skip(1) {
        let chain = keyfiles::load_certificates(cert)?;
        let key_file = keyfiles::load_key(key, key_pass.as_ref())?;
        config = config
            .with_certificate(chain, &key_file)
            .map_err(|e| Failure::Input(format!("{cert} with {key}: {e}")))?;
    }
    config = config.with_allow_no_ems(opts.allow_no_ems);
    if let Some(key_log) = super::keylog::open_option(opts.keylog.as_deref())? {
        config = config.with_key_log(key_log);
    }
    if let Some(file) = &opts.client_ca {
        let roots = keyfiles::load_certificates(file)?;
        let mode = match opts.client_auth {
            Some(super::opts::ClientAuthArg::Optional) => rsatls::ClientAuthMode::Optional,
            _ => rsatls::ClientAuthMode::Required,
        };
        config = config
            .with_client_auth(roots, mode)
            .map_err(|e| Failure::Input(format!("--client-ca {file}: {e}")))?;
    }
    Ok(Arc::new(config))
}
