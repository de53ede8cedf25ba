//! `rsatls serve`: a thread-per-connection TLS server.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rsatls::stream::TlsStream;
use rsatls::{ServerConfig, ServerConnection};

use super::args::Args;
use super::certgen::{self, SanEntry};
use super::{Failure, describe, os_rng};

/// A client that has not finished its handshake in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection idle for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Connections served at once; more wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 1024;

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let mut a = Args::new(args);
    let listen = a
        .value("--listen")?
        .unwrap_or_else(|| "127.0.0.1:4433".into());
    let cert = a.value("--cert")?;
    let key = a.value("--key")?;
    let http = a.flag("--http");
    let allow_no_ems = a.flag("--allow-no-ems");
    let key_pass = super::keyfiles::passphrase_from_args(&mut a)?;
    let key_log = super::keylog::from_args(&mut a)?;
    let extra = a.positionals()?;
    if let Some(x) = extra.first() {
        return Err(Failure::Usage(format!("unexpected argument `{x}`")));
    }
    let provider = rsatls::crypto::rustcrypto::default_provider();
    let config = match (cert, key) {
        (Some(cert), Some(key)) => {
            super::keyfiles::server_config(provider.clone(), &cert, &key, key_pass.as_ref())?
        }
        (None, None) => ephemeral_config(provider.clone())?,
        _ => return Err(Failure::Usage("--cert and --key go together".into())),
    };
    let mut config = config.with_allow_no_ems(allow_no_ems);
    if let Some(key_log) = key_log {
        config = config.with_key_log(key_log);
    }
    let config = Arc::new(config);
    let spki = rsatls::pki::rsa_key_from_certificate(config.leaf())
        .map_err(|e| Failure::Runtime(format!("certificate: {e:?}")))?;
    let pin = rsatls::pki::pin_of_spki(provider.as_ref(), &spki.spki_der);

    let listener =
        TcpListener::bind(&listen).map_err(|e| Failure::Runtime(format!("bind {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Failure::Runtime(e.to_string()))?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| Failure::Runtime(e.to_string()))?;
    }
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "listening on {local}");
        let _ = writeln!(out, "pin {pin}");
        let _ = out.flush();
    }

    let live = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        if live.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        match listener.accept() {
            Ok((sock, peer)) => {
                let config = config.clone();
                let live = live.clone();
                let rng = os_rng()?;
                live.fetch_add(1, Ordering::Relaxed);
                std::thread::spawn(move || {
                    if let Err(e) = serve_one(sock, config, rng, http) {
                        eprintln!("{peer}: {}", describe(&e));
                    }
                    live.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    eprintln!("rsatls: shutting down");
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

fn serve_one(
    sock: TcpStream,
    config: Arc<ServerConfig>,
    rng: rand_chacha::ChaCha20Rng,
    http: bool,
) -> io::Result<()> {
    sock.set_nonblocking(false)?;
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let conn = ServerConnection::new(config, rng);
    let mut tls = TlsStream::new(conn, sock);
    tls.handshake()?;
    tls.get_ref().set_read_timeout(Some(IDLE_TIMEOUT))?;
    match http {
        true => serve_http(&mut tls),
        false => echo(&mut tls),
    }
}

fn echo(tls: &mut TlsStream<rsatls::Server, TcpStream>) -> io::Result<()> {
    let mut buf = [0u8; 16384];
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return tls.close();
        }
        tls.write_all(&buf[..n])?;
    }
}

fn serve_http(tls: &mut TlsStream<rsatls::Server, TcpStream>) -> io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return tls.close();
        }
        request.extend_from_slice(&buf[..n]);
        // Answer each complete request head; bodies are not expected.
        while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).into_owned();
            request.drain(..end + 4);
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
                 <p>{} with Extended Master Secret: {}</p>\n",
                info.as_ref().map_or("?", |i| i.suite.name),
                info.as_ref().is_some_and(|i| i.extended_master_secret),
            );
            let response = format!(
                "{version} 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n{}\r\n{body}",
                body.len(),
                if close { "Connection: close\r\n" } else { "" },
            );
            tls.write_all(response.as_bytes())?;
            if close {
                return tls.close();
            }
        }
        if request.len() > 64 * 1024 {
            return tls.close();
        }
    }
}
