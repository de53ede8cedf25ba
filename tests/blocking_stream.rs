//! The blocking adapter, `rsatls::stream::TlsStream`, over Unix socket pairs:
//! every behaviour of its public API, seen from the application on one side and
//! from the peer on the other.
//!
//! Both ends use a `Transport` that holds written bytes until `flush`, so a
//! missing flush shows up as a peer that times out instead of going unnoticed.

mod common;

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use rsatls::msgs::enums::AlertDescription;
use rsatls::stream::{TlsStream, tls_error};
use rsatls::{CertificateError, Error};

/// How long a side waits for the other before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A socket that sends what was written only on `flush`, counts flushes, and
/// can fail every other read with `Interrupted`.
struct Transport {
    sock: UnixStream,
    held: Vec<u8>,
    flushes: usize,
    interrupt: bool,
    reads: usize,
}

impl Transport {
    fn new(sock: UnixStream) -> Self {
        sock.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            sock,
            held: Vec::new(),
            flushes: 0,
            interrupt: false,
            reads: 0,
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.interrupt && self.reads % 2 == 1 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.sock.read(buf)
    }
}

impl Write for Transport {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.held.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        self.sock.write_all(&self.held)?;
        self.held.clear();
        Ok(())
    }
}

type ClientStream = TlsStream<rsatls::Client, Transport>;
type ServerStream = TlsStream<rsatls::Server, Transport>;

fn client_over(sock: UnixStream, pinned: &str) -> ClientStream {
    let conn = common::client(common::client_config(pinned), 7);
    TlsStream::new(conn, Transport::new(sock))
}

fn server_over(sock: UnixStream) -> ServerStream {
    let conn = common::server(common::server_config("rsa2048"), 8);
    TlsStream::new(conn, Transport::new(sock))
}

/// A client stream, and a server stream running `serve` in a thread.
fn connected<T: Send + 'static>(
    serve: impl FnOnce(ServerStream) -> T + Send + 'static,
) -> (ClientStream, thread::JoinHandle<T>) {
    let (a, b) = UnixStream::pair().unwrap();
    let server = thread::spawn(move || serve(server_over(b)));
    (client_over(a, "rsa2048"), server)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// The rsatls error inside `e`, which must be there.
fn inner(e: &io::Error) -> &Error {
    tls_error(e).unwrap_or_else(|| panic!("no rsatls error in {e:?}"))
}

#[test]
fn handshake_reports_what_was_negotiated() {
    let (mut client, server) = connected(|mut s| {
        assert!(!s.conn().is_established());
        let info = s.handshake().unwrap();
        assert!(s.conn().is_established());
        assert_eq!(s.conn().handshake_info(), Some(&info));
        info
    });
    assert!(!client.conn().is_established());
    let info = client.handshake().unwrap();
    let server_info = server.join().unwrap();
    assert!(client.conn().is_established());
    assert_eq!(client.conn().handshake_info(), Some(&info));
    assert_eq!(info.suite, server_info.suite);
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert_eq!(server_info.server_name.as_deref(), Some("localhost"));
    assert_eq!(info.peer_certificates, [common::data("rsa2048.cert.der")]);
    assert!(info.extended_master_secret && server_info.extended_master_secret);
    assert!(info.secure_renegotiation && server_info.secure_renegotiation);
    // Once established, handshake() only reports again.
    assert_eq!(client.handshake().unwrap(), info);
}

#[test]
fn data_larger_than_a_record_goes_both_ways_then_closes_cleanly() {
    const LEN: usize = 100_000;
    let (mut client, server) = connected(|mut s| {
        s.handshake().unwrap();
        let mut got = vec![0; LEN];
        s.read_exact(&mut got).unwrap();
        assert_eq!(got, data(LEN));
        // One write takes it all, in several records.
        let reply: Vec<u8> = got.iter().rev().copied().collect();
        assert_eq!(s.write(&reply).unwrap(), LEN);
        // The client's close_notify: a clean end, as often as asked.
        let mut more = [0u8; 16];
        assert_eq!(s.read(&mut more).unwrap(), 0);
        assert_eq!(s.read(&mut more).unwrap(), 0);
        s.close().unwrap();
    });
    client.handshake().unwrap();
    assert_eq!(client.write(&data(LEN)).unwrap(), LEN);
    let mut got = vec![0; LEN];
    client.read_exact(&mut got).unwrap();
    assert!(got.iter().rev().copied().eq(data(LEN)));
    client.close().unwrap();
    // The server's close_notify ends the data with Ok(0), not an error.
    let mut rest = Vec::new();
    assert_eq!(client.read_to_end(&mut rest).unwrap(), 0);
    assert_eq!(client.read(&mut [0u8; 4]).unwrap(), 0);
    server.join().unwrap();
}

#[test]
fn reads_hand_out_the_plaintext_in_pieces() {
    let (mut client, server) = connected(|mut s| {
        s.handshake().unwrap();
        s.write_all(b"0123456789").unwrap();
        s.close().unwrap();
    });
    client.handshake().unwrap();
    let mut buf = [0u8; 3];
    let mut pieces = Vec::new();
    loop {
        let n = client.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        pieces.push(buf[..n].to_vec());
    }
    assert_eq!(pieces, [&b"012"[..], b"345", b"678", b"9"]);
    server.join().unwrap();
}

#[test]
fn read_and_write_run_the_handshake_themselves() {
    let (mut client, server) = connected(|mut s| {
        // No handshake() call: the first read runs it.
        let mut got = [0u8; 5];
        s.read_exact(&mut got).unwrap();
        assert!(s.conn().is_established());
        s.write_all(&got).unwrap();
        got
    });
    client.write_all(b"hello").unwrap();
    assert!(client.conn().is_established());
    let mut echo = [0u8; 5];
    client.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"hello");
    assert_eq!(&server.join().unwrap(), b"hello");
}

#[test]
fn writing_after_close_is_not_connected() {
    let (mut client, server) = connected(|mut s| {
        s.handshake().unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        rest
    });
    client.handshake().unwrap();
    client.write_all(b"last").unwrap();
    client.close().unwrap();
    let err = client.write(b"more").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err}");
    assert_eq!(inner(&err), &Error::NotConnected);
    // The peer saw the data, then a clean end.
    assert_eq!(server.join().unwrap(), b"last");
}

#[test]
fn eof_without_close_notify_is_a_truncation() {
    let (mut client, server) = connected(|mut s| {
        s.handshake().unwrap();
        s.write_all(b"partial").unwrap();
        // Dropped without close_notify.
    });
    client.handshake().unwrap();
    server.join().unwrap();
    let mut got = Vec::new();
    let err = client.read_to_end(&mut got).unwrap_err();
    assert_eq!(got, b"partial");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    assert_eq!(inner(&err), &Error::UnexpectedEof);
}

#[test]
fn eof_during_the_handshake_is_a_truncation() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let peer = thread::spawn(move || {
        // Reads the ClientHello record whole (unread bytes would make the
        // close a reset), then hangs up.
        let mut header = [0u8; 5];
        b.read_exact(&mut header).unwrap();
        assert_eq!(header[0], 22, "a handshake record");
        let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
        b.read_exact(&mut body).unwrap();
    });
    let mut client = client_over(a, "rsa2048");
    let err = client.handshake().unwrap_err();
    peer.join().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    assert_eq!(inner(&err), &Error::UnexpectedEof);
}

#[test]
fn tls_error_is_returned_after_its_alert_was_sent() {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.set_read_timeout(Some(PATIENCE)).unwrap();
    let server = thread::spawn(move || server_over(a).handshake().unwrap_err());
    // Not TLS at all.
    b.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut alert = Vec::new();
    b.read_to_end(&mut alert).unwrap();
    let err = server.join().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    let sent = inner(&err).alert().expect("an error with an alert");
    // One plaintext fatal alert record, then the server hung up.
    assert_eq!(alert.len(), 7, "{alert:02x?}");
    assert_eq!((alert[0], &alert[3..]), (21, &[0, 2, 2, sent.0][..]));
}

#[test]
fn peer_sees_the_alert_of_a_refused_certificate() {
    let (a, b) = UnixStream::pair().unwrap();
    let server = thread::spawn(move || server_over(b).handshake().unwrap_err());
    // The client pins another key.
    let mut client = client_over(a, "other2048");
    let err = client.handshake().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert!(
        matches!(
            inner(&err),
            Error::BadCertificate(CertificateError::NotTrusted)
        ),
        "{err:?}"
    );
    drop(client);
    let server_err = server.join().unwrap();
    assert_eq!(server_err.kind(), io::ErrorKind::InvalidData);
    assert_eq!(
        inner(&server_err),
        &Error::AlertReceived(inner(&err).alert().unwrap())
    );
    assert_eq!(inner(&err).alert(), Some(AlertDescription::BAD_CERTIFICATE));
}

#[test]
fn interrupted_reads_are_retried() {
    // The stream's own calls must retry: std's `read_exact`, `write_all` and
    // `read_to_end` would hide an Interrupted error by retrying themselves.
    let (a, b) = UnixStream::pair().unwrap();
    let flaky = |sock| Transport {
        interrupt: true,
        ..Transport::new(sock)
    };
    let server = thread::spawn(move || {
        let conn = common::server(common::server_config("rsa2048"), 8);
        let mut s = TlsStream::new(conn, flaky(b));
        s.handshake().unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        loop {
            match s.read(&mut buf).unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert!(
            s.get_ref().reads > 2,
            "the transport interrupted some reads"
        );
        got
    });
    let conn = common::client(common::client_config("rsa2048"), 7);
    let mut client = TlsStream::new(conn, flaky(a));
    client.handshake().unwrap();
    assert_eq!(client.write(&data(40_000)).unwrap(), 40_000);
    client.close().unwrap();
    assert_eq!(server.join().unwrap(), data(40_000));
}

#[test]
fn other_transport_errors_pass_through_and_leave_the_stream_usable() {
    let (mut client, server) = connected(|mut s| {
        s.handshake().unwrap();
        // Wait for the client's go-ahead, then send.
        let mut go = [0u8; 2];
        s.read_exact(&mut go).unwrap();
        s.write_all(b"late").unwrap();
        s.close().unwrap();
    });
    client.handshake().unwrap();
    client.get_ref().sock.set_nonblocking(true).unwrap();
    let err = client.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
    assert_eq!(tls_error(&err), None);
    client.get_ref().sock.set_nonblocking(false).unwrap();
    client.write_all(b"go").unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"late");
    server.join().unwrap();
}

#[test]
fn flush_reaches_the_transport() {
    let (mut client, server) = connected(|mut s| {
        s.handshake().unwrap();
    });
    client.handshake().unwrap();
    let before = client.get_ref().flushes;
    client.flush().unwrap();
    assert_eq!(client.get_ref().flushes, before + 1);
    assert!(client.get_ref().held.is_empty());
    server.join().unwrap();
}

#[test]
fn one_write_is_flushed_to_the_transport_once() {
    // The records of one write go out together: the transport is flushed for
    // what the connection had queued and once after the records, not per record.
    const LEN: usize = 100_000;
    let (mut client, server) = connected(|mut s| {
        s.handshake().unwrap();
        let mut got = vec![0; LEN];
        s.read_exact(&mut got).unwrap();
        got
    });
    client.handshake().unwrap();
    let before = client.get_ref().flushes;
    assert_eq!(client.write(&data(LEN)).unwrap(), LEN);
    assert!(client.get_ref().flushes - before <= 2, "flushed per record");
    assert_eq!(server.join().unwrap(), data(LEN));
}

#[test]
fn tls_error_finds_only_rsatls_errors() {
    let plain = io::Error::other("not TLS");
    assert_eq!(tls_error(&plain), None);
    let bare: io::Error = io::ErrorKind::BrokenPipe.into();
    assert_eq!(tls_error(&bare), None);
    let tls = io::Error::new(io::ErrorKind::InvalidData, Error::BadRecordMac);
    assert_eq!(tls_error(&tls), Some(&Error::BadRecordMac));
}
