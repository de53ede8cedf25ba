//! The followed handshake: each message in the protocol's order, whatever the
//! order in which the two directions' bytes were captured.
//!
//! [`Follower::active`] says which direction the protocol expects to speak
//! next: the driver holds the other direction's handshake messages (and
//! ChangeCipherSpec) until then, so a client Finished that needs the master
//! secret waits for the server's flight, and a server Finished that hashes the
//! client's Finished waits for it.

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

use super::cache::CachedSession;
use super::records::Opener;
use super::unpad::premaster_from_block;
use super::{
    Direction, EventQueue, KeyExchangeOutcome, PassiveEvent, PremasterError, ResumedBy, ServerKeys,
    SessionCache, Undecryptable,
};
use crate::codec::Reader;
use crate::crypto::{CryptoProvider, HashAlgorithm, RsaPrivateKey};
use crate::key_schedule::{FinishedLabel, MasterSecret, SECRET_LEN};
use crate::msgs::enums::{Compression, ExtensionType, HandshakeType, ProtocolVersion};
use crate::msgs::extensions::Extension;
use crate::msgs::handshake::{ClientHello, HandshakeMessage, ServerHello};
use crate::pki::{certificate_subject, pin_of_spki, rsa_key_from_certificate};
use crate::suites::{self, Suite};

/// Handshakes followed on one connection at most (the first and 63
/// renegotiations): past it the connection stops with a limit.
pub(super) const MAX_HANDSHAKES: u32 = 64;

/// The SessionTicket extension (RFC 5077 §3.2), kept by `msgs` as unknown.
const SESSION_TICKET: ExtensionType = ExtensionType(35);

/// certificate_status (RFC 6066 §8), kept by `msgs` as unknown.
const CERTIFICATE_STATUS: HandshakeType = HandshakeType(22);

/// supported_versions (RFC 8446 §4.2.1): a TLS 1.3 ServerHello says 1.2 in its
/// version field and the truth here.
const SUPPORTED_VERSIONS: ExtensionType = ExtensionType(43);

/// Why a message cannot be followed.
pub(super) enum Fail {
    /// Not what the protocol allows here: the sending direction stops.
    Malformed(&'static str),
    /// The handshake is listed but cannot be decrypted: both directions stop.
    Undecryptable(Undecryptable),
    /// A ChangeCipherSpec with no keys to switch to (the premaster did not
    /// decrypt): the sending direction stops.
    NoKeys,
    /// A bound was reached.
    Limit,
}

/// What the protocol expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A ClientHello (the connection's first, or a renegotiation).
    ClientHello,
    ServerHello,
    /// Certificate (full handshake), or NewSessionTicket / ChangeCipherSpec
    /// (abbreviated: RFC 5246 §7.3 figure 2, RFC 5077 §3.1 figure 2).
    ServerCertificate,
    /// CertificateRequest, CertificateStatus, ServerHelloDone.
    ServerHelloDone,
    /// The client's Certificate (client auth), ClientKeyExchange.
    ClientKeyExchange,
    /// CertificateVerify, ChangeCipherSpec.
    ClientChangeCipherSpec,
    ClientFinished,
    /// NewSessionTicket, ChangeCipherSpec.
    ServerChangeCipherSpec,
    ServerFinished,
}

/// What the ServerHello settled.
struct Negotiated {
    suite: &'static Suite,
    server_random: [u8; 32],
    session_id: Vec<u8>,
    ems: bool,
}

/// One handshake in progress.
struct Handshake {
    number: u32,
    /// The handshake messages so far (HelloRequest excluded, RFC 5246 §7.4.1.1),
    /// hashed when the session hash or a Finished needs it. The suite, and so
    /// the hash, is known only at ServerHello: keeping the bytes is simplest,
    /// and they are bounded by the limits on messages.
    transcript: Vec<u8>,
    client_random: [u8; 32],
    client_version: ProtocolVersion,
    client_session_id: Vec<u8>,
    /// SHA-256 of the ticket the ClientHello offers, if any.
    offered_ticket: Option<[u8; 32]>,
    negotiated: Option<Negotiated>,
    key: Option<Arc<dyn RsaPrivateKey>>,
    /// The cached session the ServerHello could resume, found at ServerHello.
    resumable: Option<(ResumedBy, CachedSession)>,
    abbreviated: bool,
    master: Option<MasterSecret>,
    /// The keys each direction switches to at its ChangeCipherSpec.
    client_keys: Option<Opener>,
    server_keys: Option<Opener>,
    /// SHA-256 of a NewSessionTicket's ticket, cached once both Finished verify.
    new_ticket: Option<[u8; 32]>,
    client_verified: bool,
    server_verified: bool,
}

/// The handshakes of one connection, followed one message at a time.
pub(super) struct Follower {
    step: Step,
    /// Handshakes started.
    count: u32,
    current: Option<Handshake>,
}

/// What a message handler may touch.
pub(super) struct Ctx<'a> {
    pub(super) keys: &'a ServerKeys,
    pub(super) cache: &'a mut SessionCache,
    pub(super) events: &'a mut EventQueue,
    pub(super) max_transcript: usize,
}

impl Ctx<'_> {
    fn provider(&self) -> &dyn CryptoProvider {
        self.keys.provider().as_ref()
    }
}

impl Follower {
    pub(super) fn new() -> Self {
        Self {
            step: Step::ClientHello,
            count: 0,
            current: None,
        }
    }

    /// Whether a ClientHello has been seen: before it, bytes that are not TLS
    /// mean the connection is something else.
    pub(super) fn started(&self) -> bool {
        self.count > 0
    }

    /// Whether a handshake is under way (one direction may be waiting for the
    /// other).
    pub(super) fn in_progress(&self) -> bool {
        self.step != Step::ClientHello
    }

    /// The number of the current (or last) handshake, for events.
    pub(super) fn number(&self) -> u32 {
        self.count.saturating_sub(1)
    }

    /// Whether `from` may have its next handshake message of type `typ`
    /// (`None`: a ChangeCipherSpec) handled now. If not, it waits for the
    /// other direction.
    pub(super) fn active(&self, from: Direction, typ: Option<HandshakeType>) -> bool {
        // RFC 5246 §7.4.1.1: HelloRequest may come at any time.
        if from == Direction::ServerToClient && typ == Some(HandshakeType::HELLO_REQUEST) {
            return true;
        }
        let client_speaks = matches!(
            self.step,
            Step::ClientHello
                | Step::ClientKeyExchange
                | Step::ClientChangeCipherSpec
                | Step::ClientFinished
        );
        client_speaks == (from == Direction::ClientToServer)
    }

    /// Handles one whole handshake message (header included) from `from`,
    /// which [`active`](Self::active) allowed.
    pub(super) fn handle_message(
        &mut self,
        from: Direction,
        msg: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Fail> {
        let (typ, body) = match msg.split_first() {
            Some((&typ, rest)) => (HandshakeType(typ), rest.get(3..).unwrap_or_default()),
            None => return Err(Fail::Malformed("empty handshake message")),
        };
        if typ == HandshakeType::HELLO_REQUEST {
            return match from {
                // Not part of the transcript; the client's answer (a
                // ClientHello, or nothing) is what matters.
                Direction::ServerToClient => Ok(()),
                Direction::ClientToServer => Err(Fail::Malformed("HelloRequest from the client")),
            };
        }
        if self.step == Step::ClientHello {
            return self.client_hello(typ, body, msg, ctx);
        }
        let Some(hs) = self.current.as_mut() else {
            return Err(Fail::Malformed("no handshake in progress"));
        };
        if hs.transcript.len().saturating_add(msg.len()) > ctx.max_transcript {
            return Err(Fail::Limit);
        }
        match (self.step, typ) {
            (Step::ServerHello, HandshakeType::SERVER_HELLO) => {
                hs.transcript.extend_from_slice(msg);
                let sh = decode_server_hello(body)?;
                hs.server_hello(&sh, ctx)?;
                self.step = Step::ServerCertificate;
            }
            (Step::ServerCertificate, HandshakeType::CERTIFICATE) => {
                hs.transcript.extend_from_slice(msg);
                hs.server_certificate(body, ctx)?;
                self.step = Step::ServerHelloDone;
            }
            (Step::ServerCertificate, HandshakeType::NEW_SESSION_TICKET) => {
                // A ticket straight after ServerHello: an abbreviated handshake.
                hs.resume(ctx)?;
                hs.transcript.extend_from_slice(msg);
                hs.new_session_ticket(body, ctx)?;
                self.step = Step::ServerChangeCipherSpec;
            }
            (Step::ServerHelloDone, HandshakeType::CERTIFICATE_REQUEST)
            | (Step::ServerHelloDone, CERTIFICATE_STATUS) => {
                // Their contents do not matter to decryption, only their bytes
                // to the transcript.
                hs.transcript.extend_from_slice(msg);
            }
            (Step::ServerHelloDone, HandshakeType::SERVER_HELLO_DONE) => {
                hs.transcript.extend_from_slice(msg);
                self.step = Step::ClientKeyExchange;
            }
            (Step::ClientKeyExchange, HandshakeType::CERTIFICATE) => {
                hs.transcript.extend_from_slice(msg);
            }
            (Step::ClientKeyExchange, HandshakeType::CLIENT_KEY_EXCHANGE) => {
                hs.transcript.extend_from_slice(msg);
                hs.client_key_exchange(body, ctx)?;
                self.step = Step::ClientChangeCipherSpec;
            }
            (Step::ClientChangeCipherSpec, HandshakeType::CERTIFICATE_VERIFY) => {
                // RFC 7627 §3: after ClientKeyExchange, so outside the session
                // hash, but inside the Finished hashes.
                hs.transcript.extend_from_slice(msg);
            }
            (Step::ServerChangeCipherSpec, HandshakeType::NEW_SESSION_TICKET) => {
                hs.transcript.extend_from_slice(msg);
                hs.new_session_ticket(body, ctx)?;
            }
            (Step::ClientFinished, HandshakeType::FINISHED) => {
                hs.client_verified = hs.finished(Direction::ClientToServer, body, ctx)?;
                hs.transcript.extend_from_slice(msg);
                if hs.abbreviated {
                    self.complete(ctx);
                } else {
                    self.step = Step::ServerChangeCipherSpec;
                }
            }
            (Step::ServerFinished, HandshakeType::FINISHED) => {
                hs.server_verified = hs.finished(Direction::ServerToClient, body, ctx)?;
                hs.transcript.extend_from_slice(msg);
                if hs.abbreviated {
                    self.step = Step::ClientChangeCipherSpec;
                } else {
                    self.complete(ctx);
                }
            }
            _ => return Err(Fail::Malformed("unexpected handshake message")),
        }
        Ok(())
    }

    /// A ChangeCipherSpec from `from`, which [`active`](Self::active) allowed:
    /// returns the keys that direction reads with from now on.
    pub(super) fn handle_ccs(
        &mut self,
        from: Direction,
        ctx: &mut Ctx<'_>,
    ) -> Result<Opener, Fail> {
        let Some(hs) = self.current.as_mut() else {
            return Err(Fail::Malformed("ChangeCipherSpec outside a handshake"));
        };
        let keys = match (self.step, from) {
            (Step::ServerCertificate, Direction::ServerToClient) => {
                // ChangeCipherSpec straight after ServerHello: abbreviated.
                hs.resume(ctx)?;
                hs.server_keys.take()
            }
            (Step::ServerChangeCipherSpec, Direction::ServerToClient) => hs.server_keys.take(),
            (Step::ClientChangeCipherSpec, Direction::ClientToServer) => hs.client_keys.take(),
            _ => return Err(Fail::Malformed("unexpected ChangeCipherSpec")),
        };
        self.step = match from {
            Direction::ServerToClient => Step::ServerFinished,
            Direction::ClientToServer => Step::ClientFinished,
        };
        keys.ok_or(Fail::NoKeys)
    }

    fn client_hello(
        &mut self,
        typ: HandshakeType,
        body: &[u8],
        msg: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Fail> {
        if typ != HandshakeType::CLIENT_HELLO {
            return Err(match self.count {
                0 => Fail::Undecryptable(Undecryptable::MidStream),
                _ => Fail::Malformed("expected a ClientHello"),
            });
        }
        if self.count >= MAX_HANDSHAKES {
            return Err(Fail::Limit);
        }
        if msg.len() > ctx.max_transcript {
            return Err(Fail::Limit);
        }
        let mut r = Reader::new(body);
        let ch = HandshakeMessage::decode_body(HandshakeType::CLIENT_HELLO, r.rest());
        let Ok(HandshakeMessage::ClientHello(ch)) = ch else {
            return Err(match self.count {
                0 => Fail::Undecryptable(Undecryptable::NotTls),
                _ => Fail::Malformed("ClientHello does not parse"),
            });
        };
        let number = self.count;
        self.count += 1;
        let ticket = offered_ticket(&ch).map(|t| sha256(ctx.provider(), t));
        ctx.events.push(PassiveEvent::ClientHello {
            handshake: number,
            client_random: ch.random,
            session_id: ch.session_id.clone(),
            offers_ticket: ticket.is_some(),
            offers_ems: ch
                .extension(ExtensionType::EXTENDED_MASTER_SECRET)
                .is_some(),
            server_name: server_name(&ch),
        });
        self.current = Some(Handshake {
            number,
            transcript: msg.to_vec(),
            client_random: ch.random,
            client_version: ch.client_version,
            client_session_id: ch.session_id,
            offered_ticket: ticket,
            negotiated: None,
            key: None,
            resumable: None,
            abbreviated: false,
            master: None,
            client_keys: None,
            server_keys: None,
            new_ticket: None,
            client_verified: false,
            server_verified: false,
        });
        self.step = Step::ServerHello;
        Ok(())
    }

    /// Both Finished are in: cache the session if they verified.
    fn complete(&mut self, ctx: &mut Ctx<'_>) {
        self.step = Step::ClientHello;
        let Some(hs) = self.current.take() else {
            return;
        };
        let (Some(neg), Some(master)) = (&hs.negotiated, &hs.master) else {
            return;
        };
        if !(hs.client_verified && hs.server_verified) {
            return;
        }
        let session = || CachedSession {
            master: Zeroizing::new(*master.as_bytes()),
            suite: neg.suite.id,
        };
        let capacity = ctx.cache.capacity();
        if !hs.abbreviated && !neg.session_id.is_empty() {
            ctx.cache
                .by_id
                .insert(neg.session_id.clone(), session(), capacity);
        }
        if let Some(ticket) = hs.new_ticket {
            ctx.cache.by_ticket.insert(ticket, session(), capacity);
        }
    }
}

impl Handshake {
    fn server_hello(&mut self, sh: &ServerHello, ctx: &mut Ctx<'_>) -> Result<(), Fail> {
        let ems = sh
            .extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_some();
        ctx.events.push(PassiveEvent::ServerHello {
            handshake: self.number,
            version: sh.server_version,
            suite: sh.cipher_suite,
            ems,
            server_random: sh.random,
            session_id: sh.session_id.clone(),
        });
        // RFC 8446 §4.2.1: a TLS 1.3 server names its version here.
        if let Some(Extension::Unknown(_, v)) = sh.extension(SUPPORTED_VERSIONS) {
            let mut r = Reader::new(v);
            let version = r.u16("selected version").map(ProtocolVersion);
            return Err(Fail::Undecryptable(Undecryptable::Version(
                version.unwrap_or(sh.server_version),
            )));
        }
        if sh.server_version != ProtocolVersion::TLSV1_2 {
            return Err(Fail::Undecryptable(Undecryptable::Version(
                sh.server_version,
            )));
        }
        let Some(suite) = suites::find(sh.cipher_suite) else {
            return Err(Fail::Undecryptable(Undecryptable::Suite(sh.cipher_suite)));
        };
        if sh.compression_method != Compression::NULL {
            return Err(Fail::Undecryptable(Undecryptable::Compression));
        }
        // The session this ServerHello may resume: RFC 5246 §7.4.1.3 (the
        // ClientHello's session ID echoed), else RFC 5077 §3.4 (a ticket the
        // client offered). Whether it does resume shows in the server's next
        // message.
        let by_id = (!sh.session_id.is_empty() && sh.session_id == self.client_session_id)
            .then(|| ctx.cache.by_id.get(&sh.session_id))
            .flatten()
            .map(|s| (ResumedBy::SessionId, s.copy()));
        let by_ticket = || {
            self.offered_ticket
                .and_then(|t| ctx.cache.by_ticket.get(&t))
                .map(|s| (ResumedBy::Ticket, s.copy()))
        };
        self.resumable = by_id
            .or_else(by_ticket)
            .filter(|(_, s)| s.suite == suite.id);
        self.negotiated = Some(Negotiated {
            suite,
            server_random: sh.random,
            session_id: sh.session_id.clone(),
            ems,
        });
        Ok(())
    }

    fn server_certificate(&mut self, body: &[u8], ctx: &mut Ctx<'_>) -> Result<(), Fail> {
        let Ok(HandshakeMessage::Certificate(chain)) =
            HandshakeMessage::decode_body(HandshakeType::CERTIFICATE, body)
        else {
            return Err(Fail::Malformed("Certificate does not parse"));
        };
        let Some(leaf) = chain.first() else {
            return Err(Fail::Undecryptable(Undecryptable::NotRsaCertificate));
        };
        let Ok(info) = rsa_key_from_certificate(leaf) else {
            return Err(Fail::Undecryptable(Undecryptable::NotRsaCertificate));
        };
        let pin = pin_of_spki(ctx.provider(), &info.spki_der);
        let found = ctx.keys.find(&info.modulus, &info.exponent);
        ctx.events.push(PassiveEvent::ServerKey {
            handshake: self.number,
            pin,
            modulus_bits: modulus_bits(&info.modulus),
            subject: certificate_subject(leaf),
            key_name: found.map(|k| k.name.clone()),
        });
        match found {
            Some(k) => {
                self.key = Some(k.key.clone());
                Ok(())
            }
            None => Err(Fail::Undecryptable(Undecryptable::NoMatchingKey(pin))),
        }
    }

    fn client_key_exchange(&mut self, body: &[u8], ctx: &mut Ctx<'_>) -> Result<(), Fail> {
        let Ok(HandshakeMessage::ClientKeyExchange(encrypted)) =
            HandshakeMessage::decode_body(HandshakeType::CLIENT_KEY_EXCHANGE, body)
        else {
            return Err(Fail::Malformed("ClientKeyExchange does not parse"));
        };
        let (Some(key), Some(neg)) = (self.key.as_ref(), self.negotiated.as_ref()) else {
            return Err(Fail::Malformed("ClientKeyExchange before the server's key"));
        };
        let outcome = match self.premaster(key.as_ref(), &encrypted) {
            Err(reason) => KeyExchangeOutcome::Malformed(reason),
            Ok(premaster) => {
                let provider = ctx.provider();
                let alg = neg.suite.hash;
                // RFC 7627 §4: the session hash covers the handshake up to and
                // including ClientKeyExchange, which is the transcript now.
                let master = match neg.ems {
                    true => MasterSecret::extended(
                        provider,
                        alg,
                        &premaster,
                        provider.hash(alg, &self.transcript).as_ref(),
                    ),
                    false => MasterSecret::legacy(
                        provider,
                        alg,
                        &premaster,
                        &self.client_random,
                        &neg.server_random,
                    ),
                };
                let master_secret = Zeroizing::new(*master.as_bytes());
                self.set_master(master, ctx);
                KeyExchangeOutcome::Decrypted {
                    premaster,
                    master_secret,
                }
            }
        };
        ctx.events.push(PassiveEvent::KeyExchange {
            handshake: self.number,
            client_random: self.client_random,
            encrypted_premaster: encrypted,
            outcome,
        });
        Ok(())
    }

    /// RSADP with the server's key, then the offline PKCS#1 v1.5 check.
    fn premaster(
        &self,
        key: &dyn RsaPrivateKey,
        encrypted: &[u8],
    ) -> Result<Zeroizing<[u8; SECRET_LEN]>, PremasterError> {
        if encrypted.len() != key.modulus_len() {
            return Err(PremasterError::WrongLength);
        }
        let mut block = Zeroizing::new(vec![0u8; key.modulus_len()]);
        // The blinding randomness need not be secret here: blinding hides the
        // private exponent from someone who times the operation on a live
        // server, and this decoder runs offline, on a capture, for the key's
        // holder. Seeding from the client random keeps runs reproducible.
        let mut rng = ChaCha20Rng::from_seed(self.client_random);
        key.raw_decrypt(encrypted, &mut block, &mut rng)
            .map_err(|_| PremasterError::KeyOperation)?;
        premaster_from_block(&block, self.client_version)
    }

    /// Keeps the master secret and derives both directions' next keys.
    fn set_master(&mut self, master: MasterSecret, ctx: &Ctx<'_>) {
        if let Some(neg) = &self.negotiated {
            let provider = ctx.provider();
            let block =
                master.key_block(provider, neg.suite, &self.client_random, &neg.server_random);
            let opener = |k: &crate::key_schedule::DirectionKeys| {
                provider
                    .aead_key(neg.suite.aead, k.key())
                    .ok()
                    .map(|key| Opener::new(key, k.salt))
            };
            self.client_keys = opener(&block.client);
            self.server_keys = opener(&block.server);
        }
        self.master = Some(master);
    }

    /// The server's next message shows an abbreviated handshake: take the
    /// master secret from the cache.
    fn resume(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Fail> {
        let Some((by, session)) = self.resumable.take() else {
            return Err(Fail::Undecryptable(Undecryptable::ResumptionNotInCapture));
        };
        let Some(neg) = &self.negotiated else {
            return Err(Fail::Malformed("resumption before ServerHello"));
        };
        self.abbreviated = true;
        let master = MasterSecret::from_bytes(neg.suite.hash, &session.master);
        ctx.events.push(PassiveEvent::Resumed {
            handshake: self.number,
            client_random: self.client_random,
            by,
            master_secret: session.master,
        });
        self.set_master(master, ctx);
        Ok(())
    }

    /// RFC 5077 §3.3: `uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>`.
    fn new_session_ticket(&mut self, body: &[u8], ctx: &mut Ctx<'_>) -> Result<(), Fail> {
        let mut r = Reader::new(body);
        let parsed = r
            .array::<4>("ticket_lifetime_hint")
            .and_then(|hint| Ok((u32::from_be_bytes(hint), r.vec_u16(0, 0xffff, "ticket")?)))
            .and_then(|v| r.finish("bytes after the ticket").map(|()| v));
        let Ok((lifetime_hint, ticket)) = parsed else {
            return Err(Fail::Malformed("NewSessionTicket does not parse"));
        };
        // An empty ticket means the server will not issue one after all.
        if !ticket.is_empty() {
            self.new_ticket = Some(sha256(ctx.provider(), ticket));
        }
        ctx.events.push(PassiveEvent::NewSessionTicket {
            handshake: self.number,
            lifetime_hint,
            ticket_len: ticket.len(),
        });
        Ok(())
    }

    /// Checks a Finished against the transcript before it (RFC 5246 §7.4.9).
    fn finished(&mut self, from: Direction, body: &[u8], ctx: &mut Ctx<'_>) -> Result<bool, Fail> {
        let Ok(HandshakeMessage::Finished(verify_data)) =
            HandshakeMessage::decode_body(HandshakeType::FINISHED, body)
        else {
            return Err(Fail::Malformed("Finished does not parse"));
        };
        let (Some(master), Some(neg)) = (&self.master, &self.negotiated) else {
            return Err(Fail::NoKeys);
        };
        let provider = ctx.provider();
        let label = match from {
            Direction::ClientToServer => FinishedLabel::Client,
            Direction::ServerToClient => FinishedLabel::Server,
        };
        let hash = provider.hash(neg.suite.hash, &self.transcript);
        let verified = master.verify_data(provider, label, hash.as_ref()) == verify_data;
        ctx.events.push(PassiveEvent::Finished {
            handshake: self.number,
            from,
            verify_data,
            verified,
        });
        Ok(verified)
    }
}

fn decode_server_hello(body: &[u8]) -> Result<ServerHello, Fail> {
    match HandshakeMessage::decode_body(HandshakeType::SERVER_HELLO, body) {
        Ok(HandshakeMessage::ServerHello(sh)) => Ok(sh),
        _ => Err(Fail::Malformed("ServerHello does not parse")),
    }
}

/// The non-empty ticket a ClientHello offers (RFC 5077 §3.2).
fn offered_ticket(ch: &ClientHello) -> Option<&[u8]> {
    match ch.extension(SESSION_TICKET) {
        Some(Extension::Unknown(_, ticket)) if !ticket.is_empty() => Some(ticket),
        _ => None,
    }
}

/// The host_name of server_name, if it is UTF-8.
fn server_name(ch: &ClientHello) -> Option<String> {
    match ch.extension(ExtensionType::SERVER_NAME) {
        Some(Extension::ServerName(names)) => names
            .iter()
            .find(|n| n.name_type == 0)
            .and_then(|n| String::from_utf8(n.name.clone()).ok()),
        _ => None,
    }
}

fn sha256(provider: &dyn CryptoProvider, bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let digest = provider.hash(HashAlgorithm::Sha256, bytes);
    if let Some(d) = digest.as_ref().get(..32) {
        out.copy_from_slice(d);
    }
    out
}

/// Bits of a big-endian modulus without leading zeros.
fn modulus_bits(modulus: &[u8]) -> usize {
    match modulus.iter().position(|&b| b != 0) {
        Some(i) => {
            let top = modulus.get(i).copied().unwrap_or(0);
            (modulus.len() - i - 1) * 8 + (8 - top.leading_zeros() as usize)
        }
        None => 0,
    }
}
