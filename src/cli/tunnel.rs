//! `rsatls tunnel`: accepts plaintext locally and forwards it over TLS
//! (stunnel's client mode).
//!
//! Each local connection: the TCP connection and TLS handshake to `--connect`
//! (within `--handshake-timeout`, the server authenticated by `--pin` or
//! `--cafile`), then [`forward`] both ways with the same half-close rules as
//! `proxy`. A server that cannot be reached or fails the handshake closes the
//! local connection before any byte is read from it.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsatls::tokio::{Timeouts, TlsStream};
use rsatls::{Client, ClientConfig, ClientConnection};
use tokio::net::TcpStream;

use super::connect::{client_config, split_host_port};
use super::forward::{Forwarded, Side, forward};
use super::log::{self, ConnectionLog, End};
use super::opts::TunnelArgs;
use super::server::{self, Accepted, Server};
use super::{Failure, describe, os_rng};

/// `rsatls tunnel --help`: what each connection goes through.
pub(crate) const MANUAL: &str = "\
Accepts plaintext TCP connections locally and forwards each over TLS 1.2 to
--connect (stunnel's client mode), both ways at once.

Each connection: the TCP connection and TLS handshake to --connect, together
within --handshake-timeout, the server authenticated by --pin or --cafile
and its certificate matched against --servername (default: the host of
--connect); then the data both ways, one 16 KiB buffer per direction.

HALF-CLOSE:
    The local client's FIN becomes our close_notify (and a FIN) while the
    server's data still flows back; the server's close_notify becomes a FIN
    to the local client while it may go on sending. The connection ends when
    both directions have ended (RFC 8446 §6.1's rule, as in `rsatls proxy`).

FAILURES:
    A server that cannot be reached, or a failed handshake, closes the local
    connection before anything is read from it; the log line says why. An
    error on either side once data flows, --idle-timeout with no byte moving
    either way, or a stop (SIGTERM/SIGINT) closes both sides without
    close_notify.

OUTPUT:
    stdout has one line, `listening on ADDR`, once the listener is ready.";

/// Where and how each connection is forwarded.
pub(crate) struct Remote {
    /// `--connect`, resolved on each connection.
    pub(crate) address: String,
    /// The name the server's certificate must match, sent as SNI when it is a
    /// DNS name: `--servername`, else the host of `--connect`.
    pub(crate) server_name: String,
    pub(crate) config: Arc<ClientConfig>,
    /// `--handshake-timeout`: the TCP connection and the handshake together.
    pub(crate) handshake: Duration,
    /// `--idle-timeout`.
    pub(crate) idle: Duration,
}

/// How a tunnelled connection went, for its log line.
#[derive(Debug)]
pub(crate) struct Tunnelled {
    /// Application data sent to the TLS server (from the local client).
    pub(crate) bytes_out: u64,
    /// Application data from the TLS server (to the local client).
    pub(crate) bytes_in: u64,
    /// `Ok` when both directions ended cleanly; otherwise what failed.
    pub(crate) result: Result<(), TunnelError>,
}

/// Why a tunnelled connection did not end cleanly.
#[derive(Debug)]
pub(crate) enum TunnelError {
    /// No TCP connection or no handshake with the server; the local client
    /// was closed.
    Connect(String),
    /// The TLS side failed (truncation, alert, timeout) or the idle limit passed.
    Tls(io::Error),
    /// The local client's side failed (reset, write error).
    Local(io::Error),
}

impl std::fmt::Display for TunnelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(why) => f.write_str(why),
            Self::Tls(e) => f.write_str(&describe(e)),
            Self::Local(e) => write!(f, "local client: {e}"),
        }
    }
}

/// One local connection: TLS to the server, then the copy both ways.
/// The handshake's parameters and time go into `log`.
pub(crate) async fn tunnel_one(
    local: TcpStream,
    remote: &Remote,
    log: &mut ConnectionLog,
) -> Tunnelled {
    let started = Instant::now();
    let tls = match open(remote).await {
        Ok(tls) => {
            if let Some(info) = tls.conn().handshake_info() {
                log.handshake(info, started.elapsed());
            }
            tls
        }
        Err(why) => {
            return Tunnelled {
                bytes_out: 0,
                bytes_in: 0,
                result: Err(TunnelError::Connect(why)),
            };
        }
    };
    let Forwarded {
        from_tls,
        to_tls,
        result,
    } = forward(tls, local, remote.idle).await;
    Tunnelled {
        bytes_out: to_tls,
        bytes_in: from_tls,
        result: result.map_err(|(side, e)| match side {
            Side::Tls => TunnelError::Tls(e),
            Side::Plain => TunnelError::Local(e),
        }),
    }
}

/// The TCP connection and the handshake, both within `remote.handshake`.
async fn open(remote: &Remote) -> Result<TlsStream<Client, TcpStream>, String> {
    let address = remote.address.as_str();
    let limit = remote.handshake;
    let rng = os_rng().map_err(|e| match e {
        Failure::Usage(why) | Failure::Runtime(why) | Failure::Input(why) => why,
    })?;
    // The clock is read here, by the CLI: the engine never reads time itself.
    let conn = ClientConnection::new_at(
        remote.config.clone(),
        Some(&remote.server_name),
        rsatls::UnixTime::now(),
        rng,
    )
    .map_err(|e| format!("--servername: {e}"))?;
    let handshake = async {
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|e| format!("connect {address}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let timeouts = Timeouts {
            handshake: None,
            idle: Some(remote.idle),
        };
        let mut tls = TlsStream::new(conn, tcp, timeouts);
        match tls.handshake().await {
            Ok(_) => Ok(tls),
            Err(e) => Err(format!("{address}: {}", describe(&e))),
        }
    };
    match tokio::time::timeout(limit, handshake).await {
        Ok(done) => done,
        Err(_) => Err(format!(
            "{address}: no TLS connection within {} s (--handshake-timeout)",
            limit.as_secs()
        )),
    }
}

pub(crate) fn run(args: TunnelArgs) -> Result<(), Failure> {
    log::init(args.log.log_format);
    server::check_listen(&args.listen)?;
    let (host, _) = split_host_port(&args.connect)
        .map_err(|_| Failure::Usage(format!("--connect `{}` is not HOST:PORT", args.connect)))?;
    let server_name = args.client.servername.clone().unwrap_or(host.to_string());
    let client = client_config(&args.client)?;
    // A bad --servername is a usage error now, not a failure of every connection.
    ClientConnection::new_at(
        client.config.clone(),
        Some(&server_name),
        rsatls::UnixTime::now(),
        os_rng()?,
    )
    .map_err(|e| Failure::Usage(format!("--servername: {e}")))?;
    let remote = Arc::new(Remote {
        address: args.connect.clone(),
        server_name,
        config: client.config,
        handshake: Duration::from_secs(args.client.handshake_timeout),
        idle: Duration::from_secs(args.idle_timeout),
    });
    let max_connections = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    let listen = args.listen;
    server::block_on(async move {
        let server = Server::bind(&listen).await?;
        // No pin line: the tunnel has no key of its own.
        server::announce(server.local_addr(), None);
        server
            .run(max_connections, None, move |conn| {
                handle(remote.clone(), conn)
            })
            .await
    })
}

/// One local connection on the server loop: [`tunnel_one`] and its log. When
/// the server stops (SIGTERM/SIGINT) a connection still forwarding is dropped
/// without close_notify (the server sees a truncation).
async fn handle(remote: Arc<Remote>, conn: Accepted) -> ConnectionLog {
    let Accepted {
        sock,
        peer,
        mut stop,
    } = conn;
    let mut log = ConnectionLog::new(peer);
    log.upstream = Some(remote.address.clone());
    let tunnelled = tokio::select! {
        tunnelled = tunnel_one(sock, &remote, &mut log) => tunnelled,
        () = stop.stopped() => {
            log.ended(End::Shutdown, None);
            return log;
        }
    };
    log.bytes_in = tunnelled.bytes_in;
    log.bytes_out = tunnelled.bytes_out;
    match &tunnelled.result {
        Ok(()) => log.ended(End::CloseNotify, None),
        Err(TunnelError::Tls(e)) => log.failed(e),
        Err(e @ (TunnelError::Connect(_) | TunnelError::Local(_))) => {
            log.ended(End::Error, Some(e.to_string()));
        }
    }
    log
}
