//! `rsatls tunnel`: accepts plaintext locally and forwards it over TLS
//! (stunnel's client mode).
//!
//! Each local connection: the TCP connection and TLS handshake to `--connect`
//! (within `--handshake-timeout`, the server authenticated by `--pin` or
//! `--cafile`), then [`forward`] both ways with the same half-close rules as
//! `proxy`. A server that cannot be reached or fails the handshake closes the
//! local connection before any byte is read from it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rsatls::tokio::{Timeouts, TlsStream};
use rsatls::{Client, ClientConfig, ClientConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::connect::{client_config, split_host_port};
use super::forward::{Forwarded, Side, forward};
use super::opts::TunnelArgs;
use super::{Failure, describe, os_rng};

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
pub(crate) async fn tunnel_one(local: TcpStream, remote: &Remote) -> Tunnelled {
    let tls = match open(remote).await {
        Ok(tls) => tls,
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

/// The one log line of a connection (until the shared server loop logs it).
fn log_line(peer: SocketAddr, remote: &str, tunnelled: &Tunnelled) {
    let end = match &tunnelled.result {
        Ok(()) => "close_notify".to_string(),
        Err(TunnelError::Tls(e)) if e.kind() == io::ErrorKind::TimedOut => "timeout".into(),
        Err(e) => format!("error ({e})"),
    };
    eprintln!(
        "{peer}: upstream={remote} bytes_in={} bytes_out={} end={end}",
        tunnelled.bytes_in, tunnelled.bytes_out
    );
}

pub(crate) fn run(args: TunnelArgs) -> Result<(), Failure> {
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
            let remote = remote.clone();
            tokio::spawn(async move {
                let _ = sock.set_nodelay(true);
                let tunnelled = tunnel_one(sock, &remote).await;
                log_line(peer, &remote.address, &tunnelled);
                drop(slot);
            });
        }
    })
}
