//! `rsatls serve`: the demo and test server. Each connection is echoed, or with
//! `--http` answered with a small page, on the shared server loop
//! (`server.rs`: connection cap, signals, one log line per connection) with the
//! shared TLS setup (`tls_server.rs`: configuration, SIGHUP reload, handshake).

use std::io;
use std::sync::Arc;

use rsatls::tokio::TlsStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Failure;
use super::http::{HeadReader, Next};
use super::log::{self, ConnectionLog, End};
use super::opts::ServeArgs;
use super::server::{self, Accepted, Server};
use super::tls_server::{ConfigSource, TlsServer, client_subject};

pub(crate) fn run(args: ServeArgs) -> Result<(), Failure> {
    let ServeArgs {
        listen,
        http,
        server: opts,
    } = args;
    log::init(opts.log.log_format);
    // RFC 7301: curl and browsers offer ALPN; --http speaks HTTP/1.1 and 1.0.
    // Both are listed: `curl --http1.0` offers `http/1.0` alone, and a server
    // with no protocol in common must refuse the client with
    // no_application_protocol (RFC 7301 §3.2).
    let alpn: &[&[u8]] = match http {
        true => &[b"http/1.1", b"http/1.0"],
        false => &[],
    };
    let source = ConfigSource::new(opts, alpn)?;
    server::check_listen(&listen)?;
    let max_connections = source.max_connections();
    let tls = TlsServer::new(source)?;
    let pin = tls.pin()?;
    server::block_on(async move {
        let server = Server::bind(&listen).await?;
        server::announce(server.local_addr(), Some(&pin));
        let reload = tls.reload_hook();
        server
            .run(max_connections, Some(reload), move |conn| {
                serve_one(tls.clone(), http, conn)
            })
            .await
    })
}

/// One connection: the handshake, then echo or HTTP until the client closes, the
/// idle limit passes or the server stops; then our close_notify.
async fn serve_one(tls: Arc<TlsServer>, http: bool, conn: Accepted) -> ConnectionLog {
    let Accepted {
        sock,
        peer,
        mut stop,
    } = conn;
    let mut log = ConnectionLog::new(peer);
    let Some(mut stream) = tls.accept(sock, &mut stop, &mut log).await else {
        return log;
    };
    let served = tokio::select! {
        served = async {
            match http {
                true => serve_http(&mut stream, &mut log).await,
                false => echo(&mut stream, &mut log).await,
            }
        } => Some(served),
        () = stop.stopped() => None,
    };
    // Our close_notify, whether the client closed first, the server is stopping
    // or the session failed (then the engine has sent the alert instead). Once
    // the client has closed cleanly, its leaving before reading ours changes
    // nothing in how the session ended.
    let closed = stream.shutdown().await;
    match (served, closed) {
        (Some(Ok(())), _) => log.ended(End::CloseNotify, None),
        (Some(Err(e)), _) | (None, Err(e)) => log.failed(&e),
        (None, Ok(())) => log.ended(End::Shutdown, None),
    }
    log
}

/// Echoes until the client's close_notify.
async fn echo(
    tls: &mut TlsStream<rsatls::Server, TcpStream>,
    log: &mut ConnectionLog,
) -> io::Result<()> {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        log.bytes_in += n as u64;
        tls.write_all(&buf[..n]).await?;
        tls.flush().await?;
        log.bytes_out += n as u64;
    }
}

/// Answers each HTTP/1.x request head with a small page, until the client
/// closes or asks to. A head over 16 KiB (`http::MAX_HEAD`) gets 431 and a close.
async fn serve_http(
    tls: &mut TlsStream<rsatls::Server, TcpStream>,
    log: &mut ConnectionLog,
) -> io::Result<()> {
    let mut heads = HeadReader::default();
    let mut buf = [0u8; 4096];
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        log.bytes_in += n as u64;
        heads.push(&buf[..n]);
        // Answer each complete request head; bodies are not expected.
        loop {
            let head = match heads.next_head() {
                Next::Head(head) => String::from_utf8_lossy(&head).into_owned(),
                Next::More => break,
                Next::TooLong => {
                    const TOO_LONG: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\n\
                          Connection: close\r\nContent-Length: 0\r\n\r\n";
                    tls.write_all(TOO_LONG).await?;
                    tls.flush().await?;
                    log.bytes_out += TOO_LONG.len() as u64;
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
            log.bytes_out += response.len() as u64;
            if close {
                return Ok(());
            }
        }
    }
}

/// "client certificate subject SUBJECT", or "no client certificate", for the
/// page.
fn client_identity(conn: &rsatls::ServerConnection) -> String {
    match conn
        .handshake_info()
        .map(|i| i.peer_certificates.is_empty())
    {
        Some(false) => format!("client certificate subject {}", client_subject(conn)),
        _ => "no client certificate".to_string(),
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
