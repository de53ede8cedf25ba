//! What `connect` tells a person when a handshake fails: the server's actual
//! pin, a peer that does not speak TLS, a server with no suite in common.
//!
//! The engine's errors carry no peer data (see `rsatls::Error`); the details
//! come from the cleartext bytes the server sent before the failure, which a
//! [`Recorder`] keeps (bounded) while the handshake runs.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use rsatls::msgs::enums::AlertDescription;
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::{CertificateError, Error};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::describe;
use super::wire::handshake_messages;

/// The most a [`Recorder`] keeps: a server's first flight with a long chain.
const MAX_RECORDED: usize = 128 * 1024;

/// A transport that keeps a copy of the first [`MAX_RECORDED`] bytes it read,
/// and of the first [`MAX_RECORDED`] it wrote, until
/// [`stop_recording`](Self::stop_recording).
pub(crate) struct Recorder<IO> {
    io: IO,
    seen: Vec<u8>,
    sent: Vec<u8>,
    recording: bool,
}

impl<IO> Recorder<IO> {
    pub(crate) fn new(io: IO) -> Self {
        Self {
            io,
            seen: Vec::new(),
            sent: Vec::new(),
            recording: true,
        }
    }

    /// The bytes read so far (at most [`MAX_RECORDED`]).
    pub(crate) fn seen(&self) -> &[u8] {
        &self.seen
    }

    /// The bytes written so far (at most [`MAX_RECORDED`]).
    pub(crate) fn sent(&self) -> &[u8] {
        &self.sent
    }

    /// Stops recording and frees the copies (once the handshake is done: what
    /// follows is encrypted anyway).
    pub(crate) fn stop_recording(&mut self) {
        self.recording = false;
        self.seen = Vec::new();
        self.sent = Vec::new();
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Recorder<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if this.recording {
            let new = &buf.filled()[before..];
            let room = MAX_RECORDED.saturating_sub(this.seen.len());
            this.seen.extend_from_slice(&new[..new.len().min(room)]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Recorder<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, data))?;
        if this.recording {
            let room = MAX_RECORDED.saturating_sub(this.sent.len());
            this.sent.extend_from_slice(&data[..n.min(room)]);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// For `connect`'s summary, what became of `--cert`, read from the cleartext
/// flights (`seen` from the server, `sent` by us): `sent` (our Certificate
/// carried the chain), `empty` (the server asked, but for nothing our key can
/// sign, so our Certificate was empty) or `not-requested` (no
/// CertificateRequest came).
pub(crate) fn client_certificate(seen: &[u8], sent: &[u8]) -> &'static str {
    let ours = handshake_messages(sent).into_iter().find_map(|m| match m {
        HandshakeMessage::Certificate(chain) => Some(chain),
        _ => None,
    });
    match ours {
        Some(chain) if !chain.is_empty() => "sent",
        Some(_) => "empty",
        None if handshake_messages(seen)
            .iter()
            .any(|m| matches!(m, HandshakeMessage::CertificateRequest(_))) =>
        {
            "empty"
        }
        None => "not-requested",
    }
}

/// What the message may draw on.
pub(crate) struct Context<'a> {
    /// HOST:PORT as given.
    pub(crate) target: &'a str,
    /// What the server sent (see [`Recorder`]).
    pub(crate) seen: &'a [u8],
    pub(crate) handshake_secs: u64,
    /// The server was to be authenticated by --pin (else by --cafile).
    pub(crate) pinned: bool,
    pub(crate) provider: &'a dyn rsatls::crypto::CryptoProvider,
}

/// One line for a failed handshake, naming what a person can act on.
pub(crate) fn handshake_failure(e: &io::Error, cx: &Context<'_>) -> String {
    let target = cx.target;
    if !cx.seen.is_empty() && !looks_like_tls(cx.seen) {
        return format!(
            "{target} does not speak TLS: it answered {}",
            quote(cx.seen)
        );
    }
    let got_server_hello = || {
        handshake_messages(cx.seen)
            .iter()
            .any(|m| matches!(m, HandshakeMessage::ServerHello(_)))
    };
    if e.kind() == io::ErrorKind::TimedOut {
        return match cx.seen.is_empty() {
            true => format!(
                "{target} sent nothing in answer to our ClientHello within {} s \
                 (--handshake-timeout): is it a TLS server?",
                cx.handshake_secs
            ),
            false => format!(
                "{target}: the TLS handshake did not finish within {} s (--handshake-timeout)",
                cx.handshake_secs
            ),
        };
    }
    let Some(tls) = rsatls::tokio::tls_error(e) else {
        return format!("{target}: {}", describe(e));
    };
    let detail = match tls {
        Error::UnexpectedEof if cx.seen.is_empty() => {
            "the server closed the connection without answering our ClientHello: \
             is it a TLS 1.2 server?"
                .to_string()
        }
        Error::AlertReceived(AlertDescription::HANDSHAKE_FAILURE) if !got_server_hello() => {
            format!(
                "the server refused our ClientHello (handshake_failure): it offers none of \
                 the cipher suites rsatls speaks, RSA key exchange with AES-GCM ({})",
                rsatls::suites::ALL_SUITES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Error::AlertReceived(AlertDescription::PROTOCOL_VERSION) if !got_server_hello() => {
            "the server refused TLS 1.2 (protocol_version): it speaks other versions only"
                .to_string()
        }
        Error::HandshakeFailure(_) if server_hello_without_ems(cx.seen) => format!(
            "{} (alert: handshake_failure); --allow-no-ems connects anyway, without the \
             protection of RFC 7627",
            tls
        ),
        Error::BadCertificate(why) => certificate(*why, tls, cx),
        _ => describe(e),
    };
    format!("{target}: {detail}")
}

/// The refusal, with the key and name the server actually presented.
fn certificate(why: CertificateError, tls: &Error, cx: &Context<'_>) -> String {
    let alert = tls
        .alert()
        .map(|a| format!(" (alert: {a})"))
        .unwrap_or_default();
    let leaf = handshake_messages(cx.seen)
        .into_iter()
        .find_map(|m| match m {
            HandshakeMessage::Certificate(chain) => chain.into_iter().next(),
            _ => None,
        });
    let Some(leaf) = leaf else {
        return format!("{tls}{alert}");
    };
    let pin = rsatls::pki::rsa_key_from_certificate(&leaf)
        .ok()
        .map(|k| rsatls::pki::pin_of_spki(cx.provider, &k.spki_der).to_string());
    let subject = rsatls::pki::certificate_subject(&leaf).unwrap_or_else(|| "-".into());
    match (why, pin) {
        (CertificateError::NotTrusted, Some(pin)) if cx.pinned => format!(
            "server certificate refused{alert}: the server's key has pin {pin} \
             (subject {subject}), which is not one of --pin"
        ),
        (_, Some(pin)) => {
            format!("{tls}{alert}; the server's key has pin {pin} (subject {subject})")
        }
        (_, None) => format!("{tls}{alert}; the server's certificate has subject {subject}"),
    }
}

/// Whether the server's ServerHello lacked Extended Master Secret (RFC 7627):
/// what `--allow-no-ems` is for.
fn server_hello_without_ems(seen: &[u8]) -> bool {
    handshake_messages(seen).iter().any(|m| match m {
        HandshakeMessage::ServerHello(sh) => sh
            .extension(rsatls::msgs::enums::ExtensionType::EXTENDED_MASTER_SECRET)
            .is_none(),
        _ => false,
    })
}

/// A TLS record starts with a content type (20 to 24) and a major version of 3.
fn looks_like_tls(seen: &[u8]) -> bool {
    matches!(seen.first(), Some(20..=24)) && seen.get(1).is_none_or(|&major| major == 3)
}

/// The start of a non-TLS answer: its first line when it is text, else hex.
fn quote(seen: &[u8]) -> String {
    let first_line = seen.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let printable = !first_line.is_empty()
        && first_line
            .iter()
            .all(|b| b.is_ascii_graphic() || *b == b' ');
    if printable {
        let text = String::from_utf8_lossy(&first_line[..first_line.len().min(80)]);
        let kind = if text.starts_with("HTTP/") {
            "plaintext HTTP"
        } else {
            "plaintext"
        };
        format!("`{text}` ({kind}; is the port right, or is it not a TLS port?)")
    } else {
        let head = &seen[..seen.len().min(16)];
        let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes that are not a TLS record ({hex}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One plaintext handshake record carrying `messages`.
    fn record(messages: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = messages.concat();
        let mut out = vec![22, 3, 3];
        out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Certificate (type 11) with one 3-byte "certificate".
    const CERTIFICATE: &[u8] = &[11, 0, 0, 9, 0, 0, 6, 0, 0, 3, 1, 2, 3];
    /// Certificate with an empty list (RFC 5246 §7.4.6).
    const EMPTY_CERTIFICATE: &[u8] = &[11, 0, 0, 3, 0, 0, 0];
    /// CertificateRequest (type 13): rsa_sign, rsa_pss_rsae_sha256, no CA names.
    const CERTIFICATE_REQUEST: &[u8] = &[13, 0, 0, 8, 1, 1, 0, 2, 8, 4, 0, 0];
    /// A ClientKeyExchange (type 16) with a 2-byte body.
    const CLIENT_KEY_EXCHANGE: &[u8] = &[16, 0, 0, 4, 0, 2, 9, 9];
    const CHANGE_CIPHER_SPEC: &[u8] = &[20, 3, 3, 0, 1, 1];

    #[test]
    fn the_summary_reads_our_certificate_from_the_cleartext_flight() {
        let asked = record(&[CERTIFICATE_REQUEST]);
        let mut sent = record(&[CERTIFICATE, CLIENT_KEY_EXCHANGE]);
        sent.extend_from_slice(CHANGE_CIPHER_SPEC);
        assert_eq!(client_certificate(&asked, &sent), "sent");
        let empty = record(&[EMPTY_CERTIFICATE, CLIENT_KEY_EXCHANGE]);
        assert_eq!(client_certificate(&asked, &empty), "empty");
        let none = record(&[CLIENT_KEY_EXCHANGE]);
        assert_eq!(client_certificate(&[], &none), "not-requested");
        // What follows ChangeCipherSpec is encrypted and never read.
        let mut late = record(&[CLIENT_KEY_EXCHANGE]);
        late.extend_from_slice(CHANGE_CIPHER_SPEC);
        late.extend_from_slice(&record(&[CERTIFICATE]));
        assert_eq!(client_certificate(&[], &late), "not-requested");
    }
}
