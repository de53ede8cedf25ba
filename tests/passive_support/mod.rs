//! Shared by tests/passive.rs and tests/prop_passive.rs: the decoder's events as
//! plain comparable values, a driver that feeds a recorded connection, and a
//! hand-built TLS session (both peers played by the test, with the test's own
//! PRF and record protection) for what the engines cannot produce: sessions
//! without EMS, malformed premasters, resumption and renegotiation.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use rsatls::crypto::CryptoProvider;
use rsatls::msgs::enums::{CipherSuite, Compression, ExtensionType, ProtocolVersion};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::{ClientHello, HandshakeMessage, ServerHello};
use rsatls::passive::{
    ConnectionDecoder, Direction, KeyExchangeOutcome, Limits, PassiveEvent, PremasterError,
    ResumedBy, ServerKeys, SessionCache, StopReason, Undecryptable,
};
use rsatls::pki::Pin;
use rsatls::suites::Suite;

use crate::common::prop_support::{TestRecordKey, leaf, prf, test_record_keys};
use crate::common::{data, provider};

pub const C2S: Direction = Direction::ClientToServer;
pub const S2C: Direction = Direction::ServerToClient;

/// A [`PassiveEvent`] as a comparable value (secrets as plain bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum E {
    ClientHello {
        hs: u32,
        random: [u8; 32],
        session_id: Vec<u8>,
        ticket: bool,
        ems: bool,
        sni: Option<String>,
    },
    ServerHello {
        hs: u32,
        suite: CipherSuite,
        ems: bool,
        session_id: Vec<u8>,
    },
    ServerKey {
        hs: u32,
        pin: Pin,
        bits: usize,
        subject: Option<String>,
        key: Option<String>,
    },
    KeyExchange {
        hs: u32,
        encrypted: Vec<u8>,
        result: Result<(Vec<u8>, Vec<u8>), PremasterError>,
    },
    Resumed {
        hs: u32,
        by: ResumedBy,
        master: Vec<u8>,
    },
    Ticket {
        hs: u32,
        lifetime: u32,
        len: usize,
    },
    Finished {
        hs: u32,
        from: Direction,
        verified: bool,
    },
    Data {
        from: Direction,
        data: Vec<u8>,
    },
    Alert {
        from: Direction,
        level: u8,
        description: u8,
        encrypted: bool,
    },
    Undecryptable {
        hs: u32,
        reason: Undecryptable,
    },
    Stopped {
        from: Direction,
        reason: StopReason,
    },
}

impl E {
    pub fn of(event: PassiveEvent) -> Self {
        match event {
            PassiveEvent::ClientHello {
                handshake,
                client_random,
                session_id,
                offers_ticket,
                offers_ems,
                server_name,
            } => E::ClientHello {
                hs: handshake,
                random: client_random,
                session_id,
                ticket: offers_ticket,
                ems: offers_ems,
                sni: server_name,
            },
            PassiveEvent::ServerHello {
                handshake,
                suite,
                ems,
                session_id,
                ..
            } => E::ServerHello {
                hs: handshake,
                suite,
                ems,
                session_id,
            },
            PassiveEvent::ServerKey {
                handshake,
                pin,
                modulus_bits,
                subject,
                key_name,
            } => E::ServerKey {
                hs: handshake,
                pin,
                bits: modulus_bits,
                subject,
                key: key_name,
            },
            PassiveEvent::KeyExchange {
                handshake,
                encrypted_premaster,
                outcome,
                ..
            } => E::KeyExchange {
                hs: handshake,
                encrypted: encrypted_premaster,
                result: match outcome {
                    KeyExchangeOutcome::Decrypted {
                        premaster,
                        master_secret,
                    } => Ok((premaster.to_vec(), master_secret.to_vec())),
                    KeyExchangeOutcome::Malformed(e) => Err(e),
                },
            },
            PassiveEvent::Resumed {
                handshake,
                by,
                master_secret,
                ..
            } => E::Resumed {
                hs: handshake,
                by,
                master: master_secret.to_vec(),
            },
            PassiveEvent::NewSessionTicket {
                handshake,
                lifetime_hint,
                ticket_len,
            } => E::Ticket {
                hs: handshake,
                lifetime: lifetime_hint,
                len: ticket_len,
            },
            PassiveEvent::Finished {
                handshake,
                from,
                verified,
                ..
            } => E::Finished {
                hs: handshake,
                from,
                verified,
            },
            PassiveEvent::ApplicationData { from, data } => E::Data { from, data },
            PassiveEvent::Alert {
                from,
                level,
                description,
                encrypted,
            } => E::Alert {
                from,
                level,
                description,
                encrypted,
            },
            PassiveEvent::Undecryptable { handshake, reason } => E::Undecryptable {
                hs: handshake,
                reason,
            },
            PassiveEvent::Stopped { from, reason } => E::Stopped { from, reason },
        }
    }

    /// The direction whose bytes produced the event, for data-like events.
    pub fn data_from(&self) -> Option<Direction> {
        match self {
            E::Data { from, .. } | E::Alert { from, .. } => Some(*from),
            _ => None,
        }
    }
}

/// The committed key `name` loaded for the decoder.
pub fn keys(names: &[&str]) -> ServerKeys {
    let mut keys = ServerKeys::new(provider());
    for name in names {
        let file = rsatls::pki::load_private_key(&data(&format!("{name}.key.pem"))).unwrap();
        keys.add_der(*name, file.as_der()).unwrap();
    }
    keys
}

/// Feeds `chunks` (direction, bytes) in order to a new decoder and collects
/// every event.
pub fn decode_chunks(
    chunks: &[(Direction, &[u8])],
    keys: &ServerKeys,
    cache: &mut SessionCache,
    limits: Limits,
) -> Vec<E> {
    let mut decoder = ConnectionDecoder::new(limits);
    let mut events = Vec::new();
    for (from, bytes) in chunks {
        decoder.feed(*from, bytes, keys, cache);
        while let Some(e) = decoder.poll_event() {
            events.push(E::of(e));
        }
    }
    events
}

/// Feeds all of `c2s`, then all of `s2c`: the server's bytes arrive last.
pub fn decode(c2s: &[u8], s2c: &[u8], keys: &ServerKeys, cache: &mut SessionCache) -> Vec<E> {
    decode_chunks(&[(C2S, c2s), (S2C, s2c)], keys, cache, Limits::default())
}

/// The application data of `from`, concatenated.
pub fn data_of(events: &[E], from: Direction) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            E::Data { from: f, data } if *f == from => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The handshake events (everything but data and alerts) in order, and each
/// direction's data and alerts in order: what must not depend on how the
/// capture interleaved the two directions.
pub fn canonical(events: &[E]) -> (Vec<E>, Vec<E>, Vec<E>) {
    let of = |d: Option<Direction>| {
        events
            .iter()
            .filter(|e| e.data_from() == d)
            .cloned()
            .collect::<Vec<_>>()
    };
    (of(None), of(Some(C2S)), of(Some(S2C)))
}

/// How the hand-built client encrypts its premaster.
#[derive(Clone, Debug)]
pub enum Premaster {
    /// A well-formed PKCS#1 v1.5 block.
    Good,
    /// This whole block (the modulus length) encrypted as is.
    Block(Vec<u8>),
    /// This ciphertext sent as is.
    Ciphertext(Vec<u8>),
}

/// Options of a hand-built full handshake.
#[derive(Clone, Debug)]
pub struct Full {
    pub ems: bool,
    /// The session ID the server gives.
    pub session_id: Vec<u8>,
    /// A ticket the server issues (the client offers an empty SessionTicket).
    pub ticket: Option<Vec<u8>>,
    /// The certificate's key (a committed key name).
    pub cert: &'static str,
    pub premaster: Premaster,
    /// The client sends an (empty) Certificate and the server a
    /// CertificateRequest.
    pub client_auth: bool,
}

impl Full {
    pub fn new(ems: bool) -> Self {
        Self {
            ems,
            session_id: Vec::new(),
            ticket: None,
            cert: "rsa2048",
            premaster: Premaster::Good,
            client_auth: false,
        }
    }
}

/// What a hand-built handshake agreed.
#[derive(Clone, Debug)]
pub struct Agreed {
    pub client_random: [u8; 32],
    pub encrypted: Vec<u8>,
    pub premaster: Vec<u8>,
    pub master: Vec<u8>,
}

/// A connection played by the test on both sides.
pub struct Hand {
    pub suite: &'static Suite,
    pub c2s: Vec<u8>,
    pub s2c: Vec<u8>,
    client_key: Option<(TestRecordKey, u64)>,
    server_key: Option<(TestRecordKey, u64)>,
    next_random: u8,
}

impl Hand {
    pub fn new(suite: &'static Suite, seed: u8) -> Self {
        Self {
            suite,
            c2s: Vec::new(),
            s2c: Vec::new(),
            client_key: None,
            server_key: None,
            next_random: seed,
        }
    }

    fn random(&mut self) -> [u8; 32] {
        self.next_random = self.next_random.wrapping_add(1);
        core::array::from_fn(|i| self.next_random ^ (i as u8).wrapping_mul(7))
    }

    fn hash(&self, bytes: &[u8]) -> Vec<u8> {
        provider().hash(self.suite.hash, bytes).as_ref().to_vec()
    }

    /// One record from one side, protected if that side's keys are on.
    pub fn send(&mut self, from_client: bool, typ: u8, payload: &[u8]) {
        let (key, out) = match from_client {
            true => (&mut self.client_key, &mut self.c2s),
            false => (&mut self.server_key, &mut self.s2c),
        };
        match key {
            Some((k, seq)) => {
                out.extend_from_slice(&k.seal(typ, *seq, payload));
                *seq += 1;
            }
            None => out.extend_from_slice(&crate::common::prop_support::record(typ, payload)),
        }
    }

    fn message(&mut self, from_client: bool, msg: &HandshakeMessage, t: &mut Vec<u8>) {
        let bytes = msg.to_bytes();
        t.extend_from_slice(&bytes);
        self.send(from_client, 22, &bytes);
    }

    pub fn data(&mut self, from_client: bool, bytes: &[u8]) {
        for chunk in bytes.chunks(1 << 14) {
            self.send(from_client, 23, chunk);
        }
    }

    pub fn alert(&mut self, from_client: bool, level: u8, description: u8) {
        self.send(from_client, 21, &[level, description]);
    }

    fn switch(&mut self, from_client: bool, master: &[u8], cr: &[u8; 32], sr: &[u8; 32]) {
        self.send(from_client, 20, &[1]);
        let (client, server) = test_record_keys(self.suite, master, cr, sr);
        match from_client {
            true => self.client_key = Some((client, 0)),
            false => self.server_key = Some((server, 0)),
        }
    }

    fn finished(&mut self, from_client: bool, master: &[u8], t: &mut Vec<u8>) {
        let label: &[u8] = match from_client {
            true => b"client finished",
            false => b"server finished",
        };
        let verify = prf(self.suite.hash, master, label, &self.hash(t), 12);
        self.message(
            from_client,
            &HandshakeMessage::Finished(verify.try_into().unwrap()),
            t,
        );
    }

    fn hellos(
        &mut self,
        ems: bool,
        client_session_id: Vec<u8>,
        offered_ticket: Option<Vec<u8>>,
        server_session_id: Vec<u8>,
        issues_ticket: bool,
        t: &mut Vec<u8>,
    ) -> ([u8; 32], [u8; 32]) {
        let cr = self.random();
        let sr = self.random();
        let mut ch_ext = vec![Extension::ServerName(vec![
            rsatls::msgs::extensions::ServerNameEntry {
                name_type: 0,
                name: b"localhost".to_vec(),
            },
        ])];
        let mut sh_ext = Vec::new();
        if ems {
            ch_ext.push(Extension::ExtendedMasterSecret);
            sh_ext.push(Extension::ExtendedMasterSecret);
        }
        if let Some(ticket) = offered_ticket {
            ch_ext.push(Extension::Unknown(ExtensionType(35), ticket));
        }
        if issues_ticket {
            sh_ext.push(Extension::Unknown(ExtensionType(35), Vec::new()));
        }
        let ch = ClientHello {
            client_version: ProtocolVersion::TLSV1_2,
            random: cr,
            session_id: client_session_id,
            cipher_suites: vec![self.suite.id],
            compression_methods: vec![Compression::NULL],
            extensions: Some(ch_ext),
        };
        self.message(true, &HandshakeMessage::ClientHello(ch), t);
        let sh = ServerHello {
            server_version: ProtocolVersion::TLSV1_2,
            random: sr,
            session_id: server_session_id,
            cipher_suite: self.suite.id,
            compression_method: Compression::NULL,
            extensions: Some(sh_ext),
        };
        self.message(false, &HandshakeMessage::ServerHello(sh), t);
        (cr, sr)
    }

    fn new_session_ticket(&mut self, ticket: &[u8], t: &mut Vec<u8>) {
        let mut body = 7200u32.to_be_bytes().to_vec();
        body.extend_from_slice(&(ticket.len() as u16).to_be_bytes());
        body.extend_from_slice(ticket);
        self.message(
            false,
            &HandshakeMessage::Other(rsatls::msgs::enums::HandshakeType(4), body),
            t,
        );
    }

    /// A full handshake (RFC 5246 §7.3 figure 1), with whatever keys are on
    /// (a renegotiation if a handshake came before).
    pub fn full(&mut self, opts: &Full) -> Agreed {
        let mut t = Vec::new();
        let offer = opts.ticket.as_ref().map(|_| Vec::new());
        let (cr, sr) = self.hellos(
            opts.ems,
            Vec::new(),
            offer,
            opts.session_id.clone(),
            opts.ticket.is_some(),
            &mut t,
        );
        let cert = leaf(opts.cert);
        self.message(
            false,
            &HandshakeMessage::Certificate(vec![cert.clone()]),
            &mut t,
        );
        if opts.client_auth {
            // Any well-formed CertificateRequest: certificate_types rsa_sign,
            // rsa_pkcs1_sha256, no authorities.
            let body = vec![1, 1, 0, 2, 4, 1, 0, 0];
            self.message(
                false,
                &HandshakeMessage::Other(rsatls::msgs::enums::HandshakeType(13), body),
                &mut t,
            );
        }
        self.message(false, &HandshakeMessage::ServerHelloDone, &mut t);
        if opts.client_auth {
            self.message(true, &HandshakeMessage::Certificate(Vec::new()), &mut t);
        }

        let info = rsatls::pki::rsa_key_from_certificate(&cert).unwrap();
        let public = provider()
            .rsa_public_key(&info.modulus, &info.exponent)
            .unwrap();
        let k = public.modulus_len();
        let mut premaster = vec![3, 3];
        premaster.extend((0..46).map(|i| self.next_random ^ i));
        let block = match &opts.premaster {
            Premaster::Good => pkcs1_block(k, &premaster),
            Premaster::Block(b) => b.clone(),
            Premaster::Ciphertext(_) => Vec::new(),
        };
        let encrypted = match &opts.premaster {
            Premaster::Ciphertext(c) => c.clone(),
            _ => {
                let mut out = vec![0; k];
                public.raw_encrypt(&block, &mut out).unwrap();
                out
            }
        };
        self.message(
            true,
            &HandshakeMessage::ClientKeyExchange(encrypted.clone()),
            &mut t,
        );
        let master = match opts.ems {
            true => prf(
                self.suite.hash,
                &premaster,
                b"extended master secret",
                &self.hash(&t),
                48,
            ),
            false => prf(
                self.suite.hash,
                &premaster,
                b"master secret",
                &[cr, sr].concat(),
                48,
            ),
        };
        self.switch(true, &master, &cr, &sr);
        self.finished(true, &master, &mut t);
        if let Some(ticket) = &opts.ticket {
            self.new_session_ticket(ticket, &mut t);
        }
        self.switch(false, &master, &cr, &sr);
        self.finished(false, &master, &mut t);
        Agreed {
            client_random: cr,
            encrypted,
            premaster,
            master,
        }
    }

    /// An abbreviated handshake (RFC 5246 §7.3 figure 2; RFC 5077 §3.1 with a
    /// ticket) resuming `master`: the client offers `session_id` and/or
    /// `ticket`, the server echoes `session_id` and may issue `new_ticket`.
    pub fn abbreviated(
        &mut self,
        master: &[u8],
        session_id: Vec<u8>,
        ticket: Option<Vec<u8>>,
        new_ticket: Option<Vec<u8>>,
    ) {
        let mut t = Vec::new();
        let (cr, sr) = self.hellos(
            true,
            session_id.clone(),
            ticket,
            session_id,
            new_ticket.is_some(),
            &mut t,
        );
        if let Some(ticket) = &new_ticket {
            self.new_session_ticket(ticket, &mut t);
        }
        self.switch(false, master, &cr, &sr);
        self.finished(false, master, &mut t);
        self.switch(true, master, &cr, &sr);
        self.finished(true, master, &mut t);
    }
}

/// EM = 00 02 PS 00 M with a nonzero PS filling `k` bytes.
pub fn pkcs1_block(k: usize, message: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 2];
    b.extend((0..k - 3 - message.len()).map(|i| (i % 251) as u8 + 1));
    b.push(0);
    b.extend_from_slice(message);
    b
}

/// The provider, for tests that need it by value.
pub fn crypto() -> Arc<dyn CryptoProvider> {
    provider()
}
