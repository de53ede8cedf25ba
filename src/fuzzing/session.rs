//! The structure-aware target: a client and a server (transparent provider) talk
//! through a wire the fuzzer controls. The input is a script of operations
//! (decoded with `arbitrary`) that deliver, split, drop, duplicate, reorder,
//! mutate or inject records, write application data, close and end transports.
//! Once the script ends, everything still queued is delivered, so a script
//! starts from a valid handshake and the fuzzer reaches deep states by changing
//! one step of it.
//!
//! Besides each connection's own invariants ([`Watch`]):
//! - a connection whose incoming records were not tampered with receives a
//!   prefix of what its peer sent;
//! - with no tampering either way, a connection fails only for a reason its
//!   peer gave it (the peer's fatal alert), an EOF we caused, or no suite in
//!   common between the two configurations;
//! - with no tampering and no EOF, each side receives exactly what the other
//!   sent, and without an early close_notify both complete the handshake.

use std::collections::VecDeque;

use arbitrary::{Arbitrary, Unstructured};

use super::engine::{Outcome, Reply, Watch};
use super::fixtures::{
    Crypto, Side, Variant, client_auth_chain, new_client, new_client_auth_client,
    new_client_auth_server, new_server, rsa2048_chain,
};
use crate::crypto::transparent::TRANSPARENT_TAG;
use crate::error::Error;
use crate::key_schedule::SECRET_LEN;
use crate::msgs::enums::{
    CipherSuite, Compression, ContentType, ExtensionType, HandshakeType, ProtocolVersion,
    SignatureScheme,
};
use crate::msgs::extensions::{Extension, ServerNameEntry};
use crate::msgs::handshake::{ClientHello, HandshakeMessage, MAX_SESSION_ID, ServerHello};
use crate::msgs::record::{HEADER_LEN, MAX_PLAINTEXT, RecordHeader};
use crate::record::{EXPLICIT_NONCE_LEN, OVERHEAD};
use crate::{Client, ClientAuthMode, Connection, Role, Server};

/// Most operations one script runs.
const MAX_OPS: usize = 256;

/// Rounds of "deliver everything" after the script: a handshake needs three.
const FINAL_ROUNDS: usize = 8;

/// A direction on the wire.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    ToServer,
    ToClient,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// The next queued record, as is.
    Deliver(Dir),
    /// Every queued record, in one read.
    DeliverAll(Dir),
    /// The next queued record, in two reads split at this offset.
    DeliverSplit(Dir, u16),
    Drop(Dir),
    /// Delivers a copy of the next record and leaves it queued.
    Duplicate(Dir),
    /// Swaps the next two queued records.
    Swap(Dir),
    Mutate(Dir, Mutation),
    /// Delivers a crafted record at once.
    Inject(Dir, Injection),
    /// The sender of this direction writes application data.
    Write(Dir, Vec<u8>),
    /// The sender of this direction sends close_notify.
    CloseNotify(Dir),
    /// The receiver of this direction sees its transport end.
    Eof(Dir),
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    FlipBit(u16, u8),
    SetByte(u16, u8),
    Truncate(u16),
    Append(Vec<u8>),
    SetType(u8),
    SetVersion(u16),
    SetLength(u16),
}

#[derive(Arbitrary, Debug)]
enum Injection {
    /// A handshake message, protected (transparently) or not.
    Handshake(Message, bool),
    ChangeCipherSpec(bool),
    Alert(u8, u8, bool),
    ApplicationData(Vec<u8>, bool),
    /// Bytes as they are: records, parts of records, garbage.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Message {
    HelloRequest,
    ClientHello(Hello),
    ServerHello(Hello),
    /// `None`: the rsa2048 chain.
    Certificate(Option<Vec<Vec<u8>>>),
    ServerHelloDone,
    /// `None`: a well-formed premaster block for the transparent rsa2048 key.
    ClientKeyExchange(Option<Vec<u8>>),
    /// `None`: the transparent provider's verify_data (all zeros).
    Finished(Option<[u8; 12]>),
    Other(u8, Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Hello {
    version: Version,
    session_id: Vec<u8>,
    suites: Vec<Suite>,
    compression: Option<Vec<u8>>,
    extensions: Option<Vec<Ext>>,
}

#[derive(Arbitrary, Debug)]
enum Version {
    Tls12,
    Tls11,
    Tls13,
    Other(u16),
}

#[derive(Arbitrary, Debug)]
enum Suite {
    Aes128,
    Aes256,
    RenegotiationScsv,
    FallbackScsv,
    Other(u16),
}

#[derive(Arbitrary, Debug)]
enum Ext {
    /// `None`: "localhost".
    ServerName(Option<Vec<(u8, Vec<u8>)>>),
    ExtendedMasterSecret,
    RenegotiationInfo(Vec<u8>),
    Alpn(Vec<Vec<u8>>),
    SignatureAlgorithms(Vec<u16>),
    Unknown(u16, Vec<u8>),
}

/// One side: its connection and the watch over it.
struct Peer<R: Role> {
    conn: Connection<R>,
    watch: Watch,
}

impl<R: Role> Peer<R> {
    fn feed(&mut self, bytes: &[u8]) {
        self.watch.feed(&mut self.conn, bytes);
    }
}

struct Session {
    client: Peer<Client>,
    server: Peer<Server>,
    /// Records in flight, indexed by `Dir as usize`.
    queues: [VecDeque<Vec<u8>>; 2],
    tampered: [bool; 2],
    /// An EOF was given to the receiver of this direction.
    eof: [bool; 2],
    /// close_notify was requested by the sender of this direction.
    closed: [bool; 2],
    /// The two configurations share a suite.
    compatible: bool,
}

/// Runs each receiver's statement with `$p` bound to it (the two sides have
/// different types).
macro_rules! receiver {
    ($s:expr, $dir:expr, |$p:ident| $body:expr) => {
        match $dir {
            Dir::ToServer => {
                let $p = &mut $s.server;
                $body
            }
            Dir::ToClient => {
                let $p = &mut $s.client;
                $body
            }
        }
    };
}

/// Like [`receiver!`], for the sender of a direction.
macro_rules! sender {
    ($s:expr, $dir:expr, |$p:ident| $body:expr) => {
        match $dir {
            Dir::ToServer => {
                let $p = &mut $s.client;
                $body
            }
            Dir::ToClient => {
                let $p = &mut $s.server;
                $body
            }
        }
    };
}

/// Runs a script against a client and a server; returns their outcomes.
pub fn session(data: &[u8]) -> [Outcome; 2] {
    let mut u = Unstructured::new(data);
    let client_variant = Variant::from_bits(u.arbitrary().unwrap_or(0));
    let server_variant = Variant::from_bits(u.arbitrary().unwrap_or(0));
    let crypto = Crypto::Transparent;
    let s = Session {
        client: Peer {
            conn: new_client(crypto, client_variant),
            watch: Watch::new(crypto, Side::Client, client_variant, Reply::Nothing)
                .keeping_records(),
        },
        server: Peer {
            conn: new_server(crypto, server_variant),
            watch: Watch::new(crypto, Side::Server, server_variant, Reply::Nothing)
                .keeping_records(),
        },
        queues: Default::default(),
        tampered: [false; 2],
        eof: [false; 2],
        closed: [false; 2],
        compatible: !matches!(
            (client_variant, server_variant),
            (Variant::Aes128Only, Variant::Aes256Only) | (Variant::Aes256Only, Variant::Aes128Only)
        ),
    };
    s.play(u)
}

/// As [`session`], with mutual TLS: a server that asks for client
/// certificates (trusting the test client CA) and a client that holds one,
/// both with the real provider (the transparent one verifies no signature, so
/// CertificateVerify could never pass). The first byte picks the client's
/// [`Variant`]; the second the server's mode and whether the client has a
/// certificate: 0 and 3 Required with one, 1 Optional with one, 2 Optional
/// without (an anonymous client). Besides [`session`]'s checks: a server that
/// completes reports exactly the chain the client holds (none when anonymous).
/// Injected protected records are garbage under real keys, so the fuzzer's
/// reach is in the handshake's clear part, reordering, dropping and mutating.
pub fn session_client_auth(data: &[u8]) -> [Outcome; 2] {
    let mut u = Unstructured::new(data);
    let client_variant = Variant::from_bits(u.arbitrary().unwrap_or(0));
    let (mode, with_certificate) = match u.arbitrary::<u8>().unwrap_or(0) & 3 {
        1 => (ClientAuthMode::Optional, true),
        2 => (ClientAuthMode::Optional, false),
        _ => (ClientAuthMode::Required, true),
    };
    let crypto = Crypto::Real;
    let server_watch = Watch::new(crypto, Side::Server, Variant::Default, Reply::Nothing)
        .keeping_records()
        .expecting_client_chain(match with_certificate {
            true => client_auth_chain(),
            false => Vec::new(),
        });
    let s = Session {
        client: Peer {
            conn: new_client_auth_client(client_variant, with_certificate),
            watch: Watch::new(crypto, Side::Client, client_variant, Reply::Nothing)
                .keeping_records(),
        },
        server: Peer {
            conn: new_client_auth_server(mode),
            watch: server_watch,
        },
        queues: Default::default(),
        tampered: [false; 2],
        eof: [false; 2],
        closed: [false; 2],
        // Every client variant shares a suite with the default server.
        compatible: true,
    };
    s.play(u)
}

impl Session {
    /// Runs the script in `u`, then delivers what is left, and checks.
    fn play(mut self, mut u: Unstructured<'_>) -> [Outcome; 2] {
        let s = &mut self;
        s.client.watch.collect(&mut s.client.conn);
        s.enqueue();
        if let Ok(ops) = u.arbitrary_iter::<Op>() {
            for op in ops.take(MAX_OPS) {
                let Ok(op) = op else { break };
                s.apply(op);
                s.enqueue();
            }
        }
        for _ in 0..FINAL_ROUNDS {
            if s.queues.iter().all(VecDeque::is_empty) {
                break;
            }
            for dir in [Dir::ToServer, Dir::ToClient] {
                s.apply(Op::DeliverAll(dir));
                s.enqueue();
            }
        }
        s.check();
        [self.client.watch.outcome, self.server.watch.outcome]
    }

    /// Moves the records each side wrote onto the wire.
    fn enqueue(&mut self) {
        let to_server = self.client.watch.take_records();
        self.queues[Dir::ToServer as usize].extend(to_server);
        let to_client = self.server.watch.take_records();
        self.queues[Dir::ToClient as usize].extend(to_client);
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Deliver(d) => {
                if let Some(record) = self.queues[d as usize].pop_front() {
                    receiver!(self, d, |p| p.feed(&record));
                }
            }
            Op::DeliverAll(d) => {
                let all: Vec<u8> = self.queues[d as usize].drain(..).flatten().collect();
                receiver!(self, d, |p| p.feed(&all));
            }
            Op::DeliverSplit(d, at) => {
                if let Some(record) = self.queues[d as usize].pop_front() {
                    let (a, b) = record.split_at(usize::from(at) % (record.len() + 1));
                    receiver!(self, d, |p| {
                        p.feed(a);
                        p.feed(b);
                    });
                }
            }
            Op::Drop(d) => {
                self.tampered[d as usize] |= self.queues[d as usize].pop_front().is_some();
            }
            Op::Duplicate(d) => {
                if let Some(record) = self.queues[d as usize].front().cloned() {
                    self.tampered[d as usize] = true;
                    receiver!(self, d, |p| p.feed(&record));
                }
            }
            Op::Swap(d) => {
                let q = &mut self.queues[d as usize];
                if q.len() >= 2 {
                    q.swap(0, 1);
                    self.tampered[d as usize] = true;
                }
            }
            Op::Mutate(d, m) => {
                if let Some(record) = self.queues[d as usize].front_mut() {
                    mutate(record, m);
                    self.tampered[d as usize] = true;
                }
            }
            Op::Inject(d, injection) => {
                self.tampered[d as usize] = true;
                let bytes = inject(injection);
                receiver!(self, d, |p| p.feed(&bytes));
            }
            Op::Write(d, data) => sender!(self, d, |p| p.watch.write(&mut p.conn, &data)),
            Op::CloseNotify(d) => {
                self.closed[d as usize] = true;
                sender!(self, d, |p| p.watch.close(&mut p.conn));
            }
            Op::Eof(d) => {
                self.eof[d as usize] = true;
                receiver!(self, d, |p| p.watch.eof(&mut p.conn));
            }
        }
    }

    fn check(&self) {
        let untouched = self.tampered == [false, false];
        let clean = untouched && self.eof == [false, false];
        for (dir, me, peer) in [
            (Dir::ToServer, &self.server.watch, &self.client.watch),
            (Dir::ToClient, &self.client.watch, &self.server.watch),
        ] {
            let d = dir as usize;
            let got = &me.outcome;
            if !self.tampered[d] {
                assert!(
                    peer.sent.starts_with(&got.received),
                    "{dir:?}: received data the peer did not send"
                );
            }
            // Tampering one way makes the peer answer things we never sent (a
            // ServerHello to an injected ClientHello, say): anything may fail then.
            if !untouched {
                continue;
            }
            match &got.error {
                None => {}
                Some(Error::UnexpectedEof) if self.eof[d] => {}
                Some(Error::AlertReceived(desc))
                    if peer.outcome.error.as_ref().and_then(Error::alert) == Some(*desc) => {}
                // The server refuses a client with no suite in common.
                Some(Error::HandshakeFailure(_)) if dir == Dir::ToServer && !self.compatible => {}
                Some(e) => panic!("{dir:?}: failed with {e:?} on an untampered wire"),
            }
            if clean {
                assert_eq!(
                    got.received, peer.sent,
                    "{dir:?}: data lost on a clean wire"
                );
            }
        }
        if clean && self.closed == [false, false] && self.compatible {
            assert!(
                self.client.watch.outcome.established && self.server.watch.outcome.established,
                "a clean wire did not complete the handshake"
            );
        }
    }
}

fn mutate(record: &mut Vec<u8>, m: Mutation) {
    // Earlier mutations may have cut the record short: header edits need a header.
    if record.len() < HEADER_LEN {
        record.resize(HEADER_LEN, 0);
    }
    let len = record.len();
    match m {
        Mutation::FlipBit(at, bit) => record[usize::from(at) % len] ^= 1 << (bit % 8),
        Mutation::SetByte(at, value) => record[usize::from(at) % len] = value,
        Mutation::Truncate(n) => record.truncate(usize::from(n) % len),
        Mutation::Append(bytes) => record.extend_from_slice(&bytes),
        Mutation::SetType(t) => record[0] = t,
        Mutation::SetVersion(v) => record[1..3].copy_from_slice(&v.to_be_bytes()),
        Mutation::SetLength(l) => record[3..5].copy_from_slice(&l.to_be_bytes()),
    }
}

fn inject(injection: Injection) -> Vec<u8> {
    let (typ, payload, protected) = match injection {
        Injection::Handshake(m, protected) => {
            (ContentType::HANDSHAKE, message(m).to_bytes(), protected)
        }
        Injection::ChangeCipherSpec(protected) => {
            (ContentType::CHANGE_CIPHER_SPEC, vec![1], protected)
        }
        Injection::Alert(level, desc, protected) => {
            (ContentType::ALERT, vec![level, desc], protected)
        }
        Injection::ApplicationData(data, protected) => {
            (ContentType::APPLICATION_DATA, data, protected)
        }
        Injection::Raw(bytes) => return bytes,
    };
    let mut out = Vec::new();
    for chunk in payload.chunks(MAX_PLAINTEXT) {
        record(typ, chunk, protected, &mut out);
    }
    if payload.is_empty() {
        record(typ, &[], protected, &mut out);
    }
    out
}

/// One record, in the clear or protected the way the transparent provider does.
fn record(typ: ContentType, fragment: &[u8], protected: bool, out: &mut Vec<u8>) {
    let len = fragment.len() + if protected { OVERHEAD } else { 0 };
    let header = RecordHeader {
        typ,
        version: ProtocolVersion::TLSV1_2,
        len: len as u16,
    };
    out.extend_from_slice(&header.encode());
    if protected {
        out.extend_from_slice(&[0; EXPLICIT_NONCE_LEN]);
    }
    out.extend_from_slice(fragment);
    if protected {
        out.extend_from_slice(&TRANSPARENT_TAG);
    }
}

fn message(m: Message) -> HandshakeMessage {
    match m {
        Message::HelloRequest => HandshakeMessage::HelloRequest,
        Message::ClientHello(h) => {
            let (client_version, session_id, cipher_suites, compression_methods, extensions) =
                hello(h);
            HandshakeMessage::ClientHello(ClientHello {
                client_version,
                random: [0x11; 32],
                session_id,
                cipher_suites,
                compression_methods,
                extensions,
            })
        }
        Message::ServerHello(h) => {
            let (server_version, session_id, suites, compression, extensions) = hello(h);
            HandshakeMessage::ServerHello(ServerHello {
                server_version,
                random: [0x22; 32],
                session_id,
                cipher_suite: suites.first().copied().unwrap_or(CipherSuite(0)),
                compression_method: compression.first().copied().unwrap_or(Compression::NULL),
                extensions,
            })
        }
        Message::Certificate(chain) => {
            HandshakeMessage::Certificate(chain.unwrap_or_else(rsa2048_chain))
        }
        Message::ServerHelloDone => HandshakeMessage::ServerHelloDone,
        Message::ClientKeyExchange(c) => {
            HandshakeMessage::ClientKeyExchange(c.unwrap_or_else(transparent_premaster_block))
        }
        Message::Finished(vd) => HandshakeMessage::Finished(vd.unwrap_or([0; 12])),
        Message::Other(t, body) => HandshakeMessage::Other(HandshakeType(t), body),
    }
}

type HelloFields = (
    ProtocolVersion,
    Vec<u8>,
    Vec<CipherSuite>,
    Vec<Compression>,
    Option<Vec<Extension>>,
);

fn hello(h: Hello) -> HelloFields {
    let version = match h.version {
        Version::Tls12 => ProtocolVersion::TLSV1_2,
        Version::Tls11 => ProtocolVersion::TLSV1_1,
        Version::Tls13 => ProtocolVersion(0x0304),
        Version::Other(v) => ProtocolVersion(v),
    };
    let mut session_id = h.session_id;
    session_id.truncate(MAX_SESSION_ID);
    let mut suites: Vec<CipherSuite> = h
        .suites
        .into_iter()
        .map(|s| match s {
            Suite::Aes128 => CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256,
            Suite::Aes256 => CipherSuite::TLS_RSA_WITH_AES_256_GCM_SHA384,
            Suite::RenegotiationScsv => CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
            Suite::FallbackScsv => CipherSuite::TLS_FALLBACK_SCSV,
            Suite::Other(v) => CipherSuite(v),
        })
        .collect();
    suites.truncate(0x7fff);
    let mut compression: Vec<Compression> = h
        .compression
        .unwrap_or_else(|| vec![0])
        .into_iter()
        .map(Compression)
        .collect();
    compression.truncate(255);
    let extensions = h
        .extensions
        .map(|exts| exts.into_iter().map(extension).collect());
    (version, session_id, suites, compression, extensions)
}

fn extension(e: Ext) -> Extension {
    match e {
        Ext::ServerName(None) => Extension::ServerName(vec![ServerNameEntry {
            name_type: 0,
            name: b"localhost".to_vec(),
        }]),
        Ext::ServerName(Some(names)) => Extension::ServerName(
            names
                .into_iter()
                .map(|(name_type, name)| ServerNameEntry { name_type, name })
                .collect(),
        ),
        Ext::ExtendedMasterSecret => Extension::ExtendedMasterSecret,
        Ext::RenegotiationInfo(mut v) => {
            v.truncate(255);
            Extension::RenegotiationInfo(v)
        }
        Ext::Alpn(protocols) => Extension::Alpn(protocols),
        Ext::SignatureAlgorithms(s) => {
            Extension::SignatureAlgorithms(s.into_iter().map(SignatureScheme).collect())
        }
        Ext::Unknown(t, body) => Extension::Unknown(ExtensionType(t), body),
    }
}

/// `00 02 PS 00 03 03 random`: a valid PKCS#1 v1.5 block for a 2048-bit key,
/// which is its own ciphertext under the transparent provider.
fn transparent_premaster_block() -> Vec<u8> {
    const K: usize = 256;
    let mut block = vec![0x5a; K];
    block[0] = 0;
    block[1] = 2;
    block[K - SECRET_LEN - 1] = 0;
    block[K - SECRET_LEN..K - SECRET_LEN + 2].copy_from_slice(&[3, 3]);
    block
}
