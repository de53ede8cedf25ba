//! The servers' logs: `tracing` events on stderr, as text or JSON
//! (`--log-format`), filtered like `RUST_LOG` (default: info), and the one
//! line each connection leaves behind ([`ConnectionLog`]).
//!
//! stdout is not touched here: it keeps the `listening on` and `pin` lines that
//! scripts read.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use super::opts::LogFormat;

/// Installs the process's subscriber: `format` on stderr, filtered by
/// `RUST_LOG` (directives it cannot parse are skipped), info and above when it
/// is unset. A second call changes nothing.
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    // Already installed (a second server in one process, a test): keep it.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// How a connection ended, as its log line says it (`end=`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The session ended with close_notify.
    CloseNotify,
    /// The transport ended (FIN or reset) without the peer's close_notify.
    Truncated,
    /// We sent this fatal alert (its name, e.g. `decode_error`).
    AlertSent(String),
    /// The peer sent this fatal alert.
    AlertReceived(String),
    /// The handshake or idle time limit passed.
    Timeout,
    /// The server was stopping (SIGTERM/SIGINT): our close_notify ended it.
    Shutdown,
    /// Anything else (a local I/O error, an upstream that failed).
    Error,
}

impl End {
    /// The end an I/O error from the tokio adapter (or a plain socket) means.
    pub(crate) fn of(e: &io::Error) -> Self {
        use rsatls::Error as Tls;
        match rsatls::stream::tls_error(e) {
            Some(Tls::PeerClosed) => Self::CloseNotify,
            Some(Tls::UnexpectedEof) => Self::Truncated,
            Some(Tls::AlertReceived(alert)) => Self::AlertReceived(alert.to_string()),
            Some(tls) => match tls.alert() {
                Some(alert) => Self::AlertSent(alert.to_string()),
                None => Self::Error,
            },
            None => match e.kind() {
                io::ErrorKind::TimedOut => Self::Timeout,
                // A reset is a truncation too: the peer left without close_notify.
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted => Self::Truncated,
                _ => Self::Error,
            },
        }
    }

    /// The `end=` value.
    pub(crate) fn as_text(&self) -> String {
        match self {
            Self::CloseNotify => "close_notify".into(),
            Self::Truncated => "truncated".into(),
            Self::AlertSent(name) => format!("alert {name}"),
            Self::AlertReceived(name) => format!("peer alert {name}"),
            Self::Timeout => "timeout".into(),
            Self::Shutdown => "shutdown".into(),
            Self::Error => "error".into(),
        }
    }
}

/// What a connection handler records about its connection; the server loop
/// emits it as one info event (`connection`) when the handler returns.
///
/// Fields: `peer`, then what the handshake settled (`sni`, `suite`, `ems`,
/// `alpn`, `client_subject`, `handshake_ms`; absent when there was no
/// handshake), `bytes_in` and `bytes_out` (application data from and to the
/// TLS peer), `upstream` (proxy/tunnel), `duration_ms`, `end` and, unless the
/// end was clean, `error` (what went wrong, for a person).
#[derive(Debug)]
pub(crate) struct ConnectionLog {
    peer: SocketAddr,
    started: Instant,
    handshake: Option<Handshake>,
    /// The subject of the client certificate the server verified, `none` when
    /// it asked for one and got none; absent when it did not ask.
    pub(crate) client_subject: Option<String>,
    /// Application data received from the TLS peer.
    pub(crate) bytes_in: u64,
    /// Application data sent to the TLS peer.
    pub(crate) bytes_out: u64,
    /// The other end of a proxy or tunnel.
    pub(crate) upstream: Option<String>,
    end: End,
    error: Option<String>,
}

/// What the handshake settled.
#[derive(Debug)]
struct Handshake {
    time: Duration,
    sni: Option<String>,
    suite: &'static str,
    ems: bool,
    alpn: Option<String>,
}

impl ConnectionLog {
    /// A connection from `peer` accepted now; it ends with close_notify unless
    /// [`ended`](Self::ended) says otherwise.
    pub(crate) fn new(peer: SocketAddr) -> Self {
        Self {
            peer,
            started: Instant::now(),
            handshake: None,
            client_subject: None,
            bytes_in: 0,
            bytes_out: 0,
            upstream: None,
            end: End::CloseNotify,
            error: None,
        }
    }

    /// Records a finished handshake, `time` after it started.
    pub(crate) fn handshake(&mut self, info: &rsatls::HandshakeInfo, time: Duration) {
        self.handshake = Some(Handshake {
            time,
            sni: info.server_name.clone(),
            suite: info.suite.name,
            ems: info.extended_master_secret,
            alpn: info
                .alpn_protocol
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        });
    }

    /// Records how the connection ended, with `error` for a person (none for a
    /// clean end).
    pub(crate) fn ended(&mut self, end: End, error: Option<String>) {
        self.end = end;
        self.error = error;
    }

    /// Records the end an I/O error means, and the error itself.
    pub(crate) fn failed(&mut self, e: &io::Error) {
        self.ended(End::of(e), Some(super::describe(e)));
    }

    /// Emits the connection's line (info).
    pub(crate) fn emit(&self) {
        let hs = self.handshake.as_ref();
        tracing::info!(
            peer = %self.peer,
            sni = hs.and_then(|h| h.sni.as_deref()),
            suite = hs.map(|h| h.suite),
            ems = hs.map(|h| h.ems),
            alpn = hs.and_then(|h| h.alpn.as_deref()),
            client_subject = self.client_subject.as_deref(),
            handshake_ms = hs.map(|h| millis(h.time)),
            bytes_in = self.bytes_in,
            bytes_out = self.bytes_out,
            upstream = self.upstream.as_deref(),
            duration_ms = millis(self.started.elapsed()),
            end = self.end.as_text().as_str(),
            error = self.error.as_deref(),
            "connection"
        );
    }
}

/// Whole milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsatls::Error as Tls;

    fn tls(e: Tls) -> io::Error {
        let kind = match e {
            Tls::UnexpectedEof => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }

    #[test]
    fn tls_errors_name_the_alert_and_who_sent_it() {
        assert_eq!(
            End::of(&tls(Tls::Decode("hello"))),
            End::AlertSent("decode_error".into())
        );
        assert_eq!(
            End::of(&tls(Tls::BadRecordMac)),
            End::AlertSent("bad_record_mac".into())
        );
        let received = End::of(&tls(Tls::AlertReceived(
            rsatls::msgs::enums::AlertDescription::HANDSHAKE_FAILURE,
        )));
        assert_eq!(received, End::AlertReceived("handshake_failure".into()));
        assert_eq!(received.as_text(), "peer alert handshake_failure");
        assert_eq!(
            End::AlertSent("decode_error".into()).as_text(),
            "alert decode_error"
        );
        assert_eq!(End::of(&tls(Tls::PeerClosed)), End::CloseNotify);
        assert_eq!(End::of(&tls(Tls::NotConnected)), End::Error);
    }

    #[test]
    fn truncations_and_timeouts() {
        assert_eq!(End::of(&tls(Tls::UnexpectedEof)), End::Truncated);
        for kind in [
            io::ErrorKind::UnexpectedEof,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
        ] {
            assert_eq!(End::of(&io::Error::from(kind)), End::Truncated, "{kind}");
        }
        assert_eq!(
            End::of(&io::Error::new(io::ErrorKind::TimedOut, "idle timeout")),
            End::Timeout
        );
        assert_eq!(
            End::of(&io::Error::from(io::ErrorKind::ConnectionRefused)),
            End::Error
        );
    }

    #[test]
    fn end_texts() {
        let texts: Vec<String> = [
            End::CloseNotify,
            End::Truncated,
            End::Timeout,
            End::Shutdown,
            End::Error,
        ]
        .iter()
        .map(End::as_text)
        .collect();
        assert_eq!(
            texts,
            ["close_notify", "truncated", "timeout", "shutdown", "error"]
        );
    }

    #[test]
    fn a_log_ends_cleanly_until_told_otherwise() {
        let mut log = ConnectionLog::new(([127, 0, 0, 1], 1).into());
        assert_eq!(&log.end, &End::CloseNotify);
        assert_eq!(log.error, None);
        log.failed(&tls(Tls::UnexpectedEof));
        assert_eq!(&log.end, &End::Truncated);
        assert!(
            log.error
                .as_deref()
                .is_some_and(|e| e.contains("truncated"))
        );
    }

    #[test]
    fn millis_saturate() {
        assert_eq!(millis(Duration::from_micros(2_999)), 2);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
