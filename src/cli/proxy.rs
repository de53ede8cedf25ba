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

use rsatls::tokio::TlsStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::forward::{Forwarded, Side, forward};
use super::log::{self, ConnectionLog, End};
use super::opts::{ProxyArgs, ProxyProtocol};
use super::proxy_protocol::{self, TlsFacts};
use super::server::{self, Accepted, Server};
use super::tls_server::{ConfigSource, TlsServer};
use super::{Failure, describe};

/// `rsatls proxy --help`: what each connection goes through.
pub(crate) const MANUAL: &str = "\
Terminates TLS 1.2 (RSA key exchange, AES-GCM) and forwards the plaintext to
an upstream TCP service, both ways at once.

Each connection: the TLS handshake (within --handshake-timeout); then the TCP
connection to --upstream (within --upstream-timeout); then, with
--proxy-protocol, the PROXY header; then the data both ways, one 16 KiB buffer
per direction, so a slow reader on either side slows the other down.

HALF-CLOSE:
    The client's close_notify is the end of its data, not of the connection:
    the upstream gets a FIN (its write side is shut) and its answer still
    reaches the client. The upstream's EOF is answered with our close_notify
    (and a FIN) while the client may go on sending. The connection ends when
    both directions have ended. This is TLS 1.3's rule (RFC 8446 §6.1), as
    stunnel applies it; TLS 1.2 (RFC 5246 §7.2.1) would answer close_notify at
    once and drop what the other side still sends.

FAILURES:
    An upstream that refuses or does not answer within --upstream-timeout:
    the client gets close_notify right after the handshake (curl: \"Empty
    reply from server\") and the log line says why. An error on either side
    once data flows (a reset, a truncated TLS stream, an alert), --idle-timeout
    with no byte moving either way, or a stop (SIGTERM/SIGINT) closes both
    sides without close_notify, so the client sees a truncation, never a
    clean end of incomplete data.

PROXY HEADER:
    v1: `PROXY TCP4|TCP6 CLIENT-IP SERVER-IP CLIENT-PORT SERVER-PORT\\r\\n`.
    v2: the same addresses in binary, then PP2_TYPE_AUTHORITY (SNI) and
    PP2_TYPE_ALPN when there are any, and PP2_TYPE_SSL: PP2_CLIENT_SSL, plus
    PP2_CLIENT_CERT_CONN and PP2_CLIENT_CERT_SESS with verify = 0 for a
    client certificate verified against --client-ca (else verify = 1), the
    sub-TLVs VERSION (TLSv1.2), CIPHER (OpenSSL's name) and, for a verified
    client certificate, CN (its subject commonName).";

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
    mut tls: TlsStream<rsatls::Server, TcpStream>,
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
async fn close_after_failure(tls: &mut TlsStream<rsatls::Server, TcpStream>) {
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

pub(crate) fn run(args: ProxyArgs) -> Result<(), Failure> {
    let ProxyArgs {
        listen,
        upstream,
        proxy_protocol,
        upstream_timeout,
        server: opts,
    } = args;
    log::init(opts.log.log_format);
    server::check_listen(&listen)?;
    super::connect::split_host_port(&upstream)
        .map_err(|_| Failure::Usage(format!("--upstream `{upstream}` is not HOST:PORT")))?;
    let idle = Duration::from_secs(opts.idle_timeout);
    let source = ConfigSource::new(opts, &[])?;
    let max_connections = source.max_connections();
    let tls = TlsServer::new(source)?;
    let pin = tls.pin()?;
    let upstream = Arc::new(Upstream {
        address: upstream,
        connect_timeout: Duration::from_secs(upstream_timeout),
        idle,
        proxy_protocol,
    });
    server::block_on(async move {
        let server = Server::bind(&listen).await?;
        server::announce(server.local_addr(), Some(&pin));
        let reload = tls.reload_hook();
        server
            .run(max_connections, Some(reload), move |conn| {
                handle(tls.clone(), upstream.clone(), conn)
            })
            .await
    })
}

/// One connection on the server loop: the handshake, then [`proxy_one`], and
/// its log. When the server stops (SIGTERM/SIGINT) a connection still
/// forwarding is dropped without close_notify: its client sees a truncation,
/// which is what it is.
async fn handle(tls: Arc<TlsServer>, upstream: Arc<Upstream>, conn: Accepted) -> ConnectionLog {
    let Accepted {
        sock,
        peer,
        mut stop,
    } = conn;
    let mut log = ConnectionLog::new(peer);
    log.upstream = Some(upstream.address.clone());
    let local = match sock.local_addr() {
        Ok(local) => local,
        Err(e) => {
            log.failed(&e);
            return log;
        }
    };
    let Some(stream) = tls.accept(sock, &mut stop, &mut log).await else {
        return log;
    };
    let proxied = tokio::select! {
        proxied = proxy_one(stream, peer, local, &upstream) => proxied,
        () = stop.stopped() => {
            log.ended(End::Shutdown, None);
            return log;
        }
    };
    log.bytes_in = proxied.bytes_in;
    log.bytes_out = proxied.bytes_out;
    match &proxied.result {
        Ok(()) => log.ended(End::CloseNotify, None),
        Err(ProxyError::Tls(e)) => log.failed(e),
        Err(e @ (ProxyError::UpstreamConnect(_) | ProxyError::Upstream(_))) => {
            log.ended(End::Error, Some(e.to_string()));
        }
    }
    log
}
