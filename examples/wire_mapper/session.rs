//! One TCP connection to the system under learning, seen from the side the
//! mapper plays: records out (plaintext, then protected after the mapper's
//! ChangeCipherSpec), records in (opened after the peer's ChangeCipherSpec with
//! the keys the mapper derived), the handshake transcript of both sides, and
//! the abstraction of what arrived into output symbols (ALPHABET.md, Outputs).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rsatls::crypto::{CryptoProvider, RsaPrivateKey};
use rsatls::msgs::enums::{
    AlertDescription, AlertLevel, ContentType, ExtensionType, HandshakeType, ProtocolVersion,
};
use rsatls::msgs::handshake::{HANDSHAKE_HEADER_LEN, HandshakeMessage};
use rsatls::msgs::record::{HEADER_LEN, MAX_CIPHERTEXT, MAX_PLAINTEXT, RecordHeader};
use zeroize::Zeroizing;

use crate::keys::{self, Protection, Side};
use crate::rsa;

/// How long a partly received record may keep the mapper waiting for its
/// remaining bytes before the output is given without it.
const PARTIAL_RECORD_CAP: Duration = Duration::from_secs(2);

/// The largest handshake message the mapper reassembles (a certificate chain
/// fits many times over); a longer one is answered `Garbage`.
const MAX_HANDSHAKE_MESSAGE: usize = 1 << 20;

/// The answer once the connection has ended, and the last word of the output
/// that saw it end.
pub(crate) const CLOSED: &str = "Closed";

/// The connection and everything the mapper knows about its handshake.
pub(crate) struct Session {
    provider: Arc<dyn CryptoProvider>,
    /// Randomness for randoms, premasters and padding.
    pub(crate) rng: ChaCha20Rng,
    stream: TcpStream,
    /// The side the mapper plays.
    me: Side,
    quiet: Duration,
    /// Zeros until the ClientHello is sent or seen.
    pub(crate) client_random: [u8; 32],
    /// Zeros until the ServerHello is sent or seen.
    pub(crate) server_random: [u8; 32],
    /// Whether the ServerHello (sent or seen) has extended_master_secret.
    pub(crate) ems: bool,
    /// 48 zeros until a premaster is chosen or decrypted.
    premaster: Zeroizing<Vec<u8>>,
    /// Fixed at the ClientKeyExchange (sent or seen), or at the first moment
    /// keys are needed without one.
    master: Option<Zeroizing<Vec<u8>>>,
    /// Every handshake message sent or received, in wire order, since the last
    /// ClientHello.
    transcript: Vec<u8>,
    write: Option<Protection>,
    read: Option<Protection>,
    /// Received bytes not yet a whole record.
    inbuf: Vec<u8>,
    /// Received handshake bytes not yet a whole message.
    handshake_buf: Vec<u8>,
    /// Set once the peer's bytes stopped being TLS records: the rest is ignored.
    garbled: bool,
    closed: bool,
    /// Client side only: the key that decrypts the client's ClientKeyExchange.
    server_key: Option<Arc<dyn RsaPrivateKey>>,
    /// Server side only: the leaf of the server's Certificate, once seen.
    pub(crate) peer_leaf: Option<Vec<u8>>,
}

impl Session {
    /// A session over a fresh connection; `me` is the side the mapper plays.
    pub(crate) fn new(
        provider: Arc<dyn CryptoProvider>,
        rng: ChaCha20Rng,
        stream: TcpStream,
        me: Side,
        quiet: Duration,
        server_key: Option<Arc<dyn RsaPrivateKey>>,
    ) -> Self {
        // Small writes go out at once: the learner waits for each answer.
        let _ = stream.set_nodelay(true);
        Self {
            provider,
            rng,
            stream,
            me,
            quiet,
            client_random: [0; 32],
            server_random: [0; 32],
            ems: false,
            premaster: Zeroizing::new(vec![0; 48]),
            master: None,
            transcript: Vec::new(),
            write: None,
            read: None,
            inbuf: Vec::new(),
            handshake_buf: Vec::new(),
            garbled: false,
            closed: false,
            server_key,
            peer_leaf: None,
        }
    }

    /// The provider the session computes with.
    pub(crate) fn provider(&self) -> &dyn CryptoProvider {
        &*self.provider
    }

    /// Whether the connection has ended (the sink).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// The handshake messages so far.
    pub(crate) fn transcript(&self) -> &[u8] {
        &self.transcript
    }

    /// Starts a new handshake's transcript (a ClientHello begins one).
    pub(crate) fn restart_transcript(&mut self) {
        self.transcript.clear();
        self.master = None;
        self.premaster = Zeroizing::new(vec![0; 48]);
    }

    /// Takes `premaster` and fixes the master secret from the transcript as it
    /// is now (just after the ClientKeyExchange, as RFC 7627 §4 wants).
    pub(crate) fn set_premaster(&mut self, premaster: Zeroizing<Vec<u8>>) {
        self.premaster = premaster;
        self.master = Some(self.derive_master());
    }

    fn derive_master(&self) -> Zeroizing<Vec<u8>> {
        keys::master_secret(
            &*self.provider,
            &self.premaster,
            self.ems,
            &self.transcript,
            &self.client_random,
            &self.server_random,
        )
    }

    /// The master secret, fixed now from what is known if it was not yet.
    fn master(&mut self) -> Zeroizing<Vec<u8>> {
        let master = self.master.take().unwrap_or_else(|| self.derive_master());
        self.master = Some(master.clone());
        master
    }

    /// verify_data for the mapper's own Finished over the transcript so far.
    pub(crate) fn my_verify_data(&mut self) -> [u8; 12] {
        let label: &[u8] = match self.me {
            Side::Client => b"client finished",
            Side::Server => b"server finished",
        };
        let master = self.master();
        keys::verify_data(&*self.provider, &master, label, &self.transcript)
    }

    /// Sends a record of type `typ`, protected once the mapper sent its
    /// ChangeCipherSpec. A write the peer no longer takes is not an error: the
    /// output will say `Closed`.
    pub(crate) fn send_record(&mut self, typ: ContentType, payload: &[u8]) -> Result<(), String> {
        // RFC 5246 §6.2.1: fragments of at most 2^14 bytes, each protected alone.
        let empty = payload.is_empty().then_some(&[][..]);
        for chunk in payload.chunks(MAX_PLAINTEXT).chain(empty) {
            let fragment = match &mut self.write {
                Some(p) => p.seal(typ, chunk)?,
                None => chunk.to_vec(),
            };
            let header = RecordHeader {
                typ,
                version: ProtocolVersion::TLSV1_2,
                len: u16::try_from(fragment.len()).map_err(|_| "record too long")?,
            };
            let mut rec = header.encode().to_vec();
            rec.extend_from_slice(&fragment);
            if self.stream.write_all(&rec).is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Sends a handshake message and adds it to the transcript.
    pub(crate) fn send_handshake(&mut self, msg: &HandshakeMessage) -> Result<(), String> {
        let bytes = msg.to_bytes();
        self.transcript.extend_from_slice(&bytes);
        self.send_record(ContentType::HANDSHAKE, &bytes)
    }

    /// Sends ChangeCipherSpec, then protects every later record with the
    /// mapper's write keys.
    pub(crate) fn send_change_cipher_spec(&mut self) -> Result<(), String> {
        self.send_record(ContentType::CHANGE_CIPHER_SPEC, &[1])?;
        let master = self.master();
        self.write = Some(Protection::new(
            &*self.provider,
            &master,
            &self.client_random,
            &self.server_random,
            self.me,
        )?);
        Ok(())
    }

    /// Reads until the peer is quiet for the quiet time (a partial record
    /// waits up to [`PARTIAL_RECORD_CAP`]) or the connection ends, and answers
    /// what arrived as one output line.
    pub(crate) fn read_output(&mut self) -> String {
        let mut out = Vec::new();
        let mut partial_since: Option<Instant> = None;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let _ = self.stream.set_read_timeout(Some(self.quiet));
            match self.stream.read(&mut buf) {
                Ok(0) => break self.end(&mut out),
                Ok(n) => {
                    if let Some(bytes) = buf.get(..n) {
                        self.inbuf.extend_from_slice(bytes);
                    }
                    self.parse_records(&mut out);
                    partial_since = if self.inbuf.is_empty() {
                        None
                    } else {
                        partial_since.or(Some(Instant::now()))
                    };
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    let waiting = partial_since.is_some_and(|t| t.elapsed() < PARTIAL_RECORD_CAP);
                    if !waiting {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // ECONNRESET and the like: the connection is gone.
                Err(_) => break self.end(&mut out),
            }
        }
        if out.is_empty() {
            "NoResponse".to_string()
        } else {
            out.join("|")
        }
    }

    /// The end of the connection: a record cut short is `Garbage`, then `Closed`.
    fn end(&mut self, out: &mut Vec<String>) {
        if !self.inbuf.is_empty() && !self.garbled {
            out.push("Garbage".into());
        }
        self.inbuf.clear();
        out.push(CLOSED.into());
        self.closed = true;
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn garbage(&mut self, out: &mut Vec<String>) {
        if !self.garbled {
            out.push("Garbage".into());
        }
        self.garbled = true;
        self.inbuf.clear();
    }

    /// Takes every whole record off `inbuf`.
    fn parse_records(&mut self, out: &mut Vec<String>) {
        if self.garbled {
            self.inbuf.clear();
            return;
        }
        while let Some(header) = self.inbuf.first_chunk::<HEADER_LEN>() {
            let Ok(header) = RecordHeader::decode(header) else {
                return self.garbage(out);
            };
            let known = (20..=23).contains(&header.typ.0);
            if !known || header.version.0 >> 8 != 3 || usize::from(header.len) > MAX_CIPHERTEXT {
                return self.garbage(out);
            }
            let end = HEADER_LEN + usize::from(header.len);
            let Some(fragment) = self.inbuf.get(HEADER_LEN..end).map(<[u8]>::to_vec) else {
                return; // not whole yet
            };
            self.inbuf.drain(..end);
            let payload = match &mut self.read {
                None => fragment,
                Some(p) => match p.open(header.typ, &fragment) {
                    Ok(plain) => plain,
                    Err(_) => {
                        out.push(format!("Undecryptable({})", header.typ));
                        continue;
                    }
                },
            };
            self.on_record(header.typ, &payload, out);
            if self.garbled {
                return;
            }
        }
    }

    fn on_record(&mut self, typ: ContentType, payload: &[u8], out: &mut Vec<String>) {
        match typ {
            ContentType::CHANGE_CIPHER_SPEC => {
                out.push("ChangeCipherSpec".into());
                let peer = match self.me {
                    Side::Client => Side::Server,
                    Side::Server => Side::Client,
                };
                let master = self.master();
                // A provider failure leaves the read side as it was: later
                // records then show as what they are on the wire.
                if let Ok(p) = Protection::new(
                    &*self.provider,
                    &master,
                    &self.client_random,
                    &self.server_random,
                    peer,
                ) {
                    self.read = Some(p);
                }
            }
            ContentType::ALERT => {
                if payload.is_empty() || !payload.len().is_multiple_of(2) {
                    return self.garbage(out);
                }
                for pair in payload.chunks_exact(2) {
                    if let [level, description] = pair {
                        out.push(format!(
                            "Alert({},{})",
                            AlertLevel(*level),
                            AlertDescription(*description)
                        ));
                    }
                }
            }
            ContentType::HANDSHAKE => {
                self.handshake_buf.extend_from_slice(payload);
                self.parse_handshakes(out);
            }
            _ => out.push("ApplicationData".into()),
        }
    }

    /// Takes every whole handshake message off `handshake_buf`.
    fn parse_handshakes(&mut self, out: &mut Vec<String>) {
        while let Some(header) = self.handshake_buf.first_chunk::<HANDSHAKE_HEADER_LEN>() {
            let [typ, a, b, c] = *header;
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if len > MAX_HANDSHAKE_MESSAGE {
                self.handshake_buf.clear();
                return self.garbage(out);
            }
            let end = HANDSHAKE_HEADER_LEN + len;
            let Some(bytes) = self.handshake_buf.get(..end).map(<[u8]>::to_vec) else {
                return;
            };
            self.handshake_buf.drain(..end);
            out.push(self.on_handshake(HandshakeType(typ), &bytes));
        }
    }

    /// Learns what the mapper needs from a received handshake message, adds it
    /// to the transcript, and names it.
    fn on_handshake(&mut self, typ: HandshakeType, bytes: &[u8]) -> String {
        let msg = HandshakeMessage::decode(bytes).ok();
        if typ == HandshakeType::CLIENT_HELLO {
            self.restart_transcript();
        }
        self.transcript.extend_from_slice(bytes);
        match (&msg, self.me) {
            (Some(HandshakeMessage::ClientHello(ch)), Side::Server) => {
                self.client_random = ch.random;
            }
            (Some(HandshakeMessage::ServerHello(sh)), Side::Client) => {
                self.server_random = sh.random;
                self.ems = sh
                    .extension(ExtensionType::EXTENDED_MASTER_SECRET)
                    .is_some();
            }
            (Some(HandshakeMessage::Certificate(chain)), Side::Client) => {
                self.peer_leaf = chain.first().cloned();
            }
            (Some(HandshakeMessage::ClientKeyExchange(encrypted)), Side::Server) => {
                // An undecryptable premaster leaves zeros (ALPHABET.md).
                let premaster = self
                    .server_key
                    .as_ref()
                    .and_then(|k| rsa::decrypt_premaster(&**k, encrypted, &mut self.rng))
                    .unwrap_or_else(|| Zeroizing::new(vec![0; 48]));
                self.set_premaster(premaster);
            }
            _ => {}
        }
        match (msg, typ) {
            (Some(HandshakeMessage::Certificate(chain)), _) if chain.is_empty() => {
                "EmptyCertificate".into()
            }
            (_, t) => match t {
                HandshakeType::HELLO_REQUEST => "HelloRequest".into(),
                HandshakeType::CLIENT_HELLO => "ClientHello".into(),
                HandshakeType::SERVER_HELLO => "ServerHello".into(),
                HandshakeType::NEW_SESSION_TICKET => "NewSessionTicket".into(),
                HandshakeType::CERTIFICATE => "Certificate".into(),
                HandshakeType::SERVER_KEY_EXCHANGE => "ServerKeyExchange".into(),
                HandshakeType::CERTIFICATE_REQUEST => "CertificateRequest".into(),
                HandshakeType::SERVER_HELLO_DONE => "ServerHelloDone".into(),
                HandshakeType::CERTIFICATE_VERIFY => "CertificateVerify".into(),
                HandshakeType::CLIENT_KEY_EXCHANGE => "ClientKeyExchange".into(),
                HandshakeType::FINISHED => "Finished".into(),
                HandshakeType(n) => format!("Handshake({n})"),
            },
        }
    }

    /// Reads until a whole ClientHello arrived (client side, after accepting):
    /// `Err` if the connection ends or `limit` passes first.
    pub(crate) fn read_client_hello(&mut self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        let mut buf = vec![0u8; 1 << 16];
        let mut out = Vec::new();
        while started.elapsed() < limit {
            let _ = self
                .stream
                .set_read_timeout(Some(Duration::from_millis(50)));
            match self.stream.read(&mut buf) {
                Ok(0) => return Err("the client closed before its ClientHello".into()),
                Ok(n) => {
                    if let Some(bytes) = buf.get(..n) {
                        self.inbuf.extend_from_slice(bytes);
                    }
                    self.parse_records(&mut out);
                    match out.first().map(String::as_str) {
                        Some("ClientHello") if out.len() == 1 => return Ok(()),
                        Some(_) => return Err(format!("the client sent {}", out.join("|"))),
                        None => {}
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(format!("reading the ClientHello: {e}")),
            }
        }
        Err("no ClientHello in time".into())
    }
}
