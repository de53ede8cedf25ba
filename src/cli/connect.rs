//! `rsatls connect`: stdin to the server, the server's data to stdout.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rsatls::stream::TlsStream;
use rsatls::{ClientConfig, ClientConnection, ServerAuth};

use super::args::Args;
use super::{Failure, describe, keyfiles, os_rng};

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let mut a = Args::new(args);
    let pin = a.value("--pin")?;
    let cafile = a.value("--cafile")?;
    let servername = a.value("--servername")?;
    let alpn = a.value("--alpn")?;
    let key_log = super::keylog::from_args(&mut a)?;
    let positionals = a.positionals()?;
    let [target] = positionals.as_slice() else {
        return Err(Failure::Usage("connect takes exactly one HOST:PORT".into()));
    };
    let (host, port) = target
        .rsplit_once(':')
        .ok_or_else(|| Failure::Usage(format!("`{target}` is not HOST:PORT")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port
        .parse()
        .map_err(|_| Failure::Usage(format!("bad port in `{target}`")))?;

    let provider = rsatls::crypto::default_provider();
    let auth = match (pin, cafile) {
        (Some(pin), None) => ServerAuth::Pins(
            rsatls::pki::parse_pins(&pin).map_err(|e| Failure::Usage(format!("--pin: {e}")))?,
        ),
        (None, Some(file)) => ServerAuth::TrustedCertificates(keyfiles::load_certificates(&file)?),
        _ => {
            return Err(Failure::Usage(
                "exactly one of --pin and --cafile is required".into(),
            ));
        }
    };
    // The name the certificate must match: --servername, else the host. The
    // engine sends it as SNI only when it is a DNS name (RFC 6066 §3).
    let server_name = servername.unwrap_or_else(|| host.to_string());
    let mut config = ClientConfig::new(provider.clone(), auth);
    if let Some(list) = &alpn {
        let protocols: Vec<&[u8]> = list.split(',').map(str::as_bytes).collect();
        config = config
            .with_alpn_protocols(&protocols)
            .map_err(|e| Failure::Usage(format!("--alpn: {e}")))?;
    }
    if let Some(key_log) = key_log {
        config = config.with_key_log(key_log);
    }
    let config = Arc::new(config);
    // The clock is read here, by the CLI: the engine never reads time itself.
    let conn = ClientConnection::new_at(
        config,
        Some(&server_name),
        rsatls::UnixTime::now(),
        os_rng()?,
    )
    .map_err(|e| Failure::Usage(format!("--servername: {e}")))?;

    let sock = TcpStream::connect((host, port))
        .map_err(|e| Failure::Runtime(format!("connect {target}: {e}")))?;
    sock.set_nodelay(true)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let mut tls = TlsStream::new(conn, sock);
    let info = tls
        .handshake()
        .map_err(|e| Failure::Runtime(describe(&e)))?;
    let leaf = info.peer_certificates.first();
    let pin = leaf
        .and_then(|leaf| rsatls::pki::rsa_key_from_certificate(leaf).ok())
        .map(|k| rsatls::pki::pin_of_spki(provider.as_ref(), &k.spki_der).to_string())
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
        "rsatls: connected: {} extended_master_secret={} alpn {alpn} pin {pin} subject {subject}",
        info.suite.name, info.extended_master_secret
    );
    pump(&mut tls).map_err(|e| Failure::Runtime(describe(&e)))
}

/// Copies stdin to the connection and the connection to stdout until the peer closes.
fn pump(tls: &mut TlsStream<rsatls::Client, TcpStream>) -> io::Result<()> {
    let (tx, rx) = mpsc::channel::<Option<Vec<u8>>>();
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = vec![0u8; 16384];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(n) => {
                    if tx.send(Some(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    tls.get_ref()
        .set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut stdin_open = true;
    let mut buf = vec![0u8; 16384];
    let mut stdout = io::stdout().lock();
    loop {
        while stdin_open {
            match rx.try_recv() {
                Ok(Some(data)) => tls.write_all(&data)?,
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                    tls.close()?;
                    stdin_open = false;
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        match tls.read(&mut buf) {
            Ok(0) => {
                // The peer closed cleanly; answer with our own close_notify.
                let _ = tls.close();
                return Ok(());
            }
            Ok(n) => {
                stdout.write_all(&buf[..n])?;
                stdout.flush()?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
}
