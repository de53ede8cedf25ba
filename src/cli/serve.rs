//! `rsatls serve`: a TLS server on the tokio adapter (`rsatls::tokio`).
//!
//! One task per connection on a multi-threaded runtime. At most
//! `--max-connections` are served at once: the listener accepts the next one
//! only when a slot is free, so excess clients wait in the kernel's accept queue
//! (their TCP handshake completes, their TLS handshake waits) rather than being
//! refused. SIGTERM or SIGINT stops accepting, sends close_notify on every
//! established connection, gives them a short grace period and exits 0.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rsatls::tokio::{Timeouts, TlsStream};
use rsatls::{ClientAuthMode, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::certgen::{self, SanEntry};
use super::http::{HeadReader, Next};
use super::opts::{ClientAuthArg, ServeArgs};
use super::{Failure, describe, keyfiles, os_rng};

/// After SIGTERM/SIGINT, connections have this long to finish closing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// After an accept error (out of file descriptors, say), wait this long before
/// the next accept rather than spin on the same error.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// What each connection task needs.
struct Service {
    config: Arc<ServerConfig>,
    timeouts: Timeouts,
    http: bool,
    /// Client certificates are asked for (`--client-ca`): each connection logs
    /// the client's subject, or that it sent none.
    client_auth: bool,
}

pub(crate) fn run(args: ServeArgs) -> Result<(), Failure> {
    let ServeArgs {
        listen,
        http,
        server: opts,
    } = args;
    let (certs, keys, allow_no_ems) = (&opts.cert, &opts.key, opts.allow_no_ems);
    let client_ca = &opts.client_ca;
    let key_pass = keyfiles::passphrase(&opts.key_pass)?;
    let key_log = super::keylog::open_option(opts.keylog.as_deref())?;
    let max_connections = usize::try_from(opts.max_connections).unwrap_or(usize::MAX);
    let (handshake_secs, idle_secs) = (opts.handshake_timeout, opts.idle_timeout);
    check_listen(&listen)?;
    let client_auth = client_auth_mode(client_ca.is_some(), opts.client_auth);
    // Read before any key is generated, so that a wrong file is reported at once.
    let client_roots = match client_ca {
        Some(file) => Some(keyfiles::load_certificates(file).map_err(|e| match e {
            Failure::Input(msg) => Failure::Input(format!("--client-ca {msg}")),
            other => other,
        })?),
        None => None,
    };
    let provider = rsatls::crypto::default_provider();
    if certs.len() != keys.len() {
        return Err(Failure::Usage(
            "--cert and --key go together: one --key per --cert".into(),
        ));
    }
    // The first --cert/--key pair is the default; later pairs are chosen by SNI.
    let config = match certs.first().zip(keys.first()) {
        Some((cert, key)) => {
            let mut config =
                keyfiles::server_config(provider.clone(), cert, key, key_pass.as_ref())?;
            for (cert, key) in certs.iter().zip(keys).skip(1) {
                let chain = keyfiles::load_certificates(cert)?;
                let key_file = keyfiles::load_key(key, key_pass.as_ref())?;
                config = config
                    .with_certificate(chain, &key_file)
                    .map_err(|e| Failure::Input(format!("{cert} with {key}: {e}")))?;
            }
            config
        }
        None => ephemeral_config(provider.clone())?,
    };
    let mut config = config.with_allow_no_ems(allow_no_ems);
    if http {
        // RFC 7301: curl and browsers offer ALPN; --http speaks HTTP/1.1 and
        // 1.0. Both are listed: `curl --http1.0` offers `http/1.0` alone, and a
        // server with no protocol in common must refuse the client with
        // no_application_protocol (RFC 7301 §3.2).
        config = config
            .with_alpn_protocols(&[b"http/1.1", b"http/1.0"])
            .map_err(|e| Failure::Runtime(e.to_string()))?;
    }
    if let Some(key_log) = key_log {
        config = config.with_key_log(key_log);
    }
    if let (Some(roots), Some(mode), Some(file)) = (client_roots, client_auth, client_ca) {
        config = config
            .with_client_auth(roots, mode)
            .map_err(|e| Failure::Input(format!("--client-ca {file}: {e}")))?;
    }
    let config = Arc::new(config);
    let spki = rsatls::pki::rsa_key_from_certificate(config.leaf())
        .map_err(|e| Failure::Runtime(format!("certificate: {e}")))?;
    let pin = rsatls::pki::pin_of_spki(provider.as_ref(), &spki.spki_der);
    let service = Arc::new(Service {
        config,
        timeouts: Timeouts {
            handshake: Some(Duration::from_secs(handshake_secs)),
            idle: Some(Duration::from_secs(idle_secs)),
        },
        http,
        client_auth: client_auth.is_some(),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("runtime: {e}")))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&listen)
            .await
            .map_err(|e| Failure::Runtime(format!("bind {listen}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        let mut stop_signals = StopSignals::new().map_err(|e| Failure::Runtime(e.to_string()))?;
        {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "listening on {local}");
            let _ = writeln!(out, "pin {pin}");
            let _ = out.flush();
        }
        accept_loop(listener, service, max_connections, &mut stop_signals).await
    })
}

/// A usage error unless `listen` is HOST:PORT (an IP address or a name, and a
/// port number), so that a typo is reported before any key is loaded or made.
fn check_listen(listen: &str) -> Result<(), Failure> {
    if listen.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = || {
        Failure::Usage(format!(
            "--listen `{listen}` is not HOST:PORT (e.g. 127.0.0.1:4433, [::1]:4433, localhost:0)"
        ))
    };
    let (host, port) = listen.rsplit_once(':').ok_or_else(bad)?;
    // A bare IPv6 address without brackets (`::1:4433`) is ambiguous.
    if host.is_empty() || host.contains(':') || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    port.parse::<u16>().map(drop).map_err(|_| bad())
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

/// SIGTERM and SIGINT, either of which stops the server.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    service: Arc<Service>,
    max_connections: usize,
    stop_signals: &mut StopSignals,
) -> Result<(), Failure> {
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    loop {
        // The cap: no accept until a slot is free (excess clients queue in the kernel).
        let slot = tokio::select! {
            _ = stop_signals.recv() => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            _ = stop_signals.recv() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((sock, peer)) => {
                let rng = os_rng()?;
                let service = service.clone();
                let stopped = stopped.clone();
                tasks.spawn(async move {
                    if let Err(e) = serve_one(sock, peer, &service, rng, stopped).await {
                        eprintln!("{peer}: {}", describe(&e));
                    }
                    drop(slot);
                });
            }
            Err(e) => {
                eprintln!("accept: {e}");
                drop(slot);
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
            }
        }
        // Reap finished tasks so the set holds live connections only.
        while tasks.try_join_next().is_some() {}
    }
    eprintln!("rsatls: shutting down");
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "rsatls: {} connection(s) still open after {SHUTDOWN_GRACE:?}; dropping them",
            tasks.len()
        );
        tasks.shutdown().await;
    }
    Ok(())
}

fn ephemeral_config(
    provider: Arc<dyn rsatls::crypto::CryptoProvider>,
) -> Result<ServerConfig, Failure> {
    let mut rng = os_rng()?;
    eprintln!("rsatls: generating an ephemeral 2048-bit RSA key and self-signed certificate");
    let key = rsa::PrivateKey::new(&mut rng, 2048)
        .map_err(|e| Failure::Runtime(format!("keygen: {e}")))?;
    let sans = [
        SanEntry::Dns("localhost".into()),
        SanEntry::Ip([127, 0, 0, 1].into()),
        SanEntry::Ip(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    let not_before = SystemTime::now() - Duration::from_secs(3600);
    let cert = certgen::self_signed(
        &key,
        &sans,
        not_before,
        Duration::from_secs(30 * 86400),
        &mut rng,
    )
    .map_err(|e| Failure::Runtime(format!("certificate: {e}")))?;
    let key_pem =
        certgen::key_to_pkcs8_pem(&key).map_err(|e| Failure::Runtime(format!("key: {e}")))?;
    ServerConfig::from_pem_or_der(provider, &cert, key_pem.as_bytes())
        .map_err(|e| Failure::Runtime(e.to_string()))
}

/// One connection: the handshake, then echo or HTTP until the client closes, the
/// idle limit passes or the server stops.
async fn serve_one(
    sock: TcpStream,
    peer: std::net::SocketAddr,
    service: &Service,
    rng: rand_chacha::ChaCha20Rng,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    sock.set_nodelay(true)?;
    let mut tls = tokio::select! {
        tls = rsatls::tokio::accept(service.config.clone(), sock, rng, service.timeouts) => tls?,
        // Stopping: a handshake in progress is dropped.
        _ = stopped.wait_for(|stop| *stop) => return Ok(()),
    };
    if service.client_auth && !service.http {
        // One line per connection: who the client proved to be.
        eprintln!("{}: {}", peer, client_identity(tls.conn()));
    }
    let served = tokio::select! {
        served = async {
            match service.http {
                true => serve_http(&mut tls).await,
                false => echo(&mut tls).await,
            }
        } => served,
        _ = stopped.wait_for(|stop| *stop) => Ok(()),
    };
    // Our close_notify, whether the client closed first, the server is stopping
    // or the session failed (then the engine sends the alert instead).
    let closed = tls.shutdown().await;
    served.and(closed)
}

/// Echoes until the client's close_notify.
async fn echo(tls: &mut TlsStream<rsatls::Server, TcpStream>) -> io::Result<()> {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        tls.write_all(&buf[..n]).await?;
        tls.flush().await?;
    }
}

/// Answers each HTTP/1.x request head with a small page, until the client
/// closes or asks to. A head over 16 KiB (`http::MAX_HEAD`) gets 431 and a close.
async fn serve_http(tls: &mut TlsStream<rsatls::Server, TcpStream>) -> io::Result<()> {
    let mut heads = HeadReader::default();
    let mut buf = [0u8; 4096];
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        heads.push(&buf[..n]);
        // Answer each complete request head; bodies are not expected.
        loop {
            let head = match heads.next_head() {
                Next::Head(head) => String::from_utf8_lossy(&head).into_owned(),
                Next::More => break,
                Next::TooLong => {
                    tls.write_all(
                        b"HTTP/1.1 431 Request Header Fields Too Large\r\n\
                          Connection: close\r\nContent-Length: 0\r\n\r\n",
                    )
                    .await?;
                    tls.flush().await?;
                    return Ok(());
                }
            };
            let version = if head.contains("HTTP/1.0") {
                "HTTP/1.0"
            } else {
                "HTTP/1.1"
            };
            let close =
                version == "HTTP/1.0" || head.to_ascii_lowercase().contains("connection: close");
            let info = tls.conn().handshake_info().cloned();
            let body = format!(
                "<!doctype html><title>rsatls</title><h1>Hello from rsatls</h1>\
                 <p>{} with Extended Master Secret: {}</p>\n<p>{}</p>\n",
                info.as_ref().map_or("?", |i| i.suite.name),
                info.as_ref().is_some_and(|i| i.extended_master_secret),
                html_escape(&client_identity(tls.conn())),
            );
            let response = format!(
                "{version} 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n{}\r\n{body}",
                body.len(),
                if close { "Connection: close\r\n" } else { "" },
            );
            tls.write_all(response.as_bytes()).await?;
            tls.flush().await?;
            if close {
                return Ok(());
            }
        }
    }
}

/// "client certificate subject SUBJECT", or "no client certificate": the
/// subject of the leaf the engine verified (`HandshakeInfo::peer_certificates`
/// on a server is the client's verified chain, empty when it sent none).
fn client_identity(conn: &rsatls::ServerConnection) -> String {
    let leaf = conn
        .handshake_info()
        .and_then(|info| info.peer_certificates.first());
    match leaf {
        None => "no client certificate".to_string(),
        Some(leaf) => match rsatls::pki::certificate_subject(leaf) {
            Some(subject) => format!("client certificate subject {subject}"),
            None => "client certificate subject -".to_string(),
        },
    }
}

/// Escapes text for an HTML page: a subject is the client's text.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_needs_a_ca_and_defaults_to_required() {
        assert_eq!(client_auth_mode(false, None), None);
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

    #[test]
    fn subjects_are_escaped_in_the_page() {
        assert_eq!(
            html_escape("CN=<script>a&b\"'</script>"),
            "CN=&lt;script&gt;a&amp;b&quot;&#39;&lt;/script&gt;"
        );
        assert_eq!(
            html_escape("CN=rsatls test client,O=rsatls"),
            "CN=rsatls test client,O=rsatls"
        );
    }
}
