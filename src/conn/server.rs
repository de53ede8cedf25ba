//! The server's handshake state machine.
//!
//! ```text
//!   ClientHello        -->
//!                      <--  ServerHello, Certificate,
//!                           CertificateRequest*, ServerHelloDone
//!   Certificate*
//!   ClientKeyExchange
//!   CertificateVerify*
//!   [ChangeCipherSpec]
//!   Finished           -->
//!                      <--  [ChangeCipherSpec], Finished
//! ```
//!
//! The starred messages belong to client authentication
//! ([`ServerConfig::with_client_auth`]): the server asks, the client answers
//! with its chain (or an empty one), and after a non-empty chain proves it
//! holds the key by signing the transcript in CertificateVerify.

use std::sync::Arc;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use super::private_key::{BLINDING_SEED_LEN, PrivateKeyOperation};
use super::{Connection, Core, HandshakeInfo, Input, Pending, Role, sealed};
use crate::UnixTime;
use crate::config::{ClientAuthMode, ServerConfig};
use crate::error::{Error, Misbehavior};
use crate::key_schedule::{FinishedLabel, MasterSecret, SECRET_LEN};
use crate::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ClientCertificateType, Compression, ExtensionType,
    ProtocolVersion,
};
use crate::msgs::extensions::Extension;
use crate::msgs::handshake::{
    CertificateRequest, ClientHello, DigitallySigned, HandshakeMessage, ServerHello,
};
use crate::pki::RsaPublicKeyInfo;
use crate::record::RecordKey;
use crate::state_table::{Side, State as TableState};
use crate::suites::Suite;
use crate::{rsa_kx, sig, verify};

/// The server side's state. Use [`ServerConnection`](super::ServerConnection).
pub struct Server {
    config: Arc<ServerConfig>,
    state: State,
    /// The time client certificate chains are validated at, as the caller gave
    /// it ([`ServerConnection::new_at`](super::ServerConnection::new_at)).
    now: Option<UnixTime>,
}

impl sealed::Sealed for Server {}

enum State {
    ExpectClientHello,
    /// A CertificateRequest was sent: the client's Certificate is next.
    ExpectClientCertificate(Negotiated),
    ExpectClientKeyExchange(Negotiated),
    /// The client's chain validated; its CertificateVerify must follow the
    /// ClientKeyExchange.
    ExpectCertifiedClientKeyExchange(Negotiated, RsaPublicKeyInfo),
    /// The ClientKeyExchange's private-key operation was handed out
    /// ([`ServerConfig::with_private_key_offload`]); nothing is processed
    /// until it completes.
    ExpectPrivateKeyResult(Awaiting),
    /// As `ExpectPrivateKeyResult`, with the client's certificate key, for the
    /// CertificateVerify that follows.
    ExpectCertifiedPrivateKeyResult(Awaiting, RsaPublicKeyInfo),
    ExpectCertificateVerify(Keyed, RsaPublicKeyInfo),
    ExpectChangeCipherSpec(Keyed),
    ExpectFinished(Keyed),
    Established,
    /// Left behind while a handler runs; any error makes it permanent.
    Failed,
}

/// What the hellos settled.
struct Negotiated {
    suite: &'static Suite,
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// ClientHello.client_version exactly as sent (RFC 5246 §7.4.7.1).
    client_version: [u8; 2],
    ems: bool,
    secure_renegotiation: bool,
    server_name: Option<String>,
    /// Which of the configuration's chains (and keys) was sent.
    cert: usize,
    alpn_protocol: Option<Vec<u8>>,
    /// The client's validated chain, leaf first; empty when it sent none or
    /// none was asked for.
    client_chain: Vec<Vec<u8>>,
}

/// While the private-key operation is out: what its result is checked against.
struct Awaiting {
    neg: Negotiated,
    /// Drawn before the operation was handed out (RFC 5246 §7.4.7.1).
    fallback: zeroize::Zeroizing<[u8; SECRET_LEN]>,
    /// Whether the ciphertext had the modulus' length (public).
    length_ok: bool,
}

/// After ClientKeyExchange: the master secret and the client's pending read key.
struct Keyed {
    neg: Negotiated,
    master: MasterSecret,
    client_key: Option<RecordKey>,
    server_key: RecordKey,
}

impl Connection<Server> {
    /// A new server connection that draws every random byte from `rng`.
    ///
    /// This connection has no notion of time: with client authentication
    /// ([`ServerConfig::with_client_auth`]) it cannot validate client chains,
    /// so it fails at the ClientHello; use [`new_at`](Self::new_at).
    pub fn new(config: Arc<ServerConfig>, rng: impl CryptoRng + Send + 'static) -> Self {
        Self::start(config, None, Box::new(rng))
    }

    /// As [`new`](Self::new), with the current time, which the engine never
    /// reads itself: client certificate chains are validated at `now`.
    pub fn new_at(
        config: Arc<ServerConfig>,
        now: UnixTime,
        rng: impl CryptoRng + Send + 'static,
    ) -> Self {
        Self::start(config, Some(now), Box::new(rng))
    }

    fn start(
        config: Arc<ServerConfig>,
        now: Option<UnixTime>,
        rng: Box<dyn CryptoRng + Send>,
    ) -> Self {
        let mut core = Core::new(&config.common, rng);
        core.lenient_record_version = true;
        Self::from_parts(
            core,
            Server {
                config,
                state: State::ExpectClientHello,
                now,
            },
        )
    }

    /// The host name the client asked for (SNI), once its ClientHello is processed.
    pub fn server_name(&self) -> Option<&str> {
        match &self.role.state {
            State::ExpectClientCertificate(n)
            | State::ExpectClientKeyExchange(n)
            | State::ExpectCertifiedClientKeyExchange(n, _) => n.server_name.as_deref(),
            State::ExpectPrivateKeyResult(a) | State::ExpectCertifiedPrivateKeyResult(a, _) => {
                a.neg.server_name.as_deref()
            }
            State::ExpectCertificateVerify(k, _)
            | State::ExpectChangeCipherSpec(k)
            | State::ExpectFinished(k) => k.neg.server_name.as_deref(),
            _ => self
                .core
                .info
                .as_ref()
                .and_then(|i| i.server_name.as_deref()),
        }
    }
}

#[allow(private_interfaces)]
impl Role for Server {
    const SIDE: Side = Side::Server;

    fn side(&self) -> Side {
        match self.config.client_auth {
            Some(_) => Side::ServerWithClientAuth,
            None => Side::Server,
        }
    }

    fn handle(&mut self, core: &mut Core, input: Input<'_>) -> Result<(), Error> {
        let state = core::mem::replace(&mut self.state, State::Failed);
        self.state = match (state, input) {
            (
                State::ExpectClientHello,
                Input::Handshake(HandshakeMessage::ClientHello(ch), raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                let neg = self.client_hello(core, &ch)?;
                match self.config.client_auth {
                    Some(_) => State::ExpectClientCertificate(neg),
                    None => State::ExpectClientKeyExchange(neg),
                }
            }
            (
                State::ExpectClientCertificate(mut neg),
                Input::Handshake(HandshakeMessage::Certificate(chain), raw),
            ) => {
                let key = self.client_certificate(core, &chain)?;
                core.transcript.extend_from_slice(raw);
                match key {
                    Some(key) => {
                        neg.client_chain = chain;
                        State::ExpectCertifiedClientKeyExchange(neg, key)
                    }
                    None => State::ExpectClientKeyExchange(neg),
                }
            }
            (
                State::ExpectClientKeyExchange(neg),
                Input::Handshake(HandshakeMessage::ClientKeyExchange(c), raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                match self.config.offload_private_key {
                    true => State::ExpectPrivateKeyResult(self.hand_out(core, neg, &c)),
                    false => {
                        State::ExpectChangeCipherSpec(self.client_key_exchange(core, neg, &c)?)
                    }
                }
            }
            (
                State::ExpectCertifiedClientKeyExchange(neg, key),
                Input::Handshake(HandshakeMessage::ClientKeyExchange(c), raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                match self.config.offload_private_key {
                    true => {
                        State::ExpectCertifiedPrivateKeyResult(self.hand_out(core, neg, &c), key)
                    }
                    false => State::ExpectCertificateVerify(
                        self.client_key_exchange(core, neg, &c)?,
                        key,
                    ),
                }
            }
            (
                State::ExpectCertificateVerify(keyed, key),
                Input::Handshake(HandshakeMessage::CertificateVerify(signed), raw),
            ) => {
                certificate_verify(core, &key, &signed)?;
                // RFC 5246 §7.4.9: the Finished hashes cover the CertificateVerify
                // (RFC 7627 §3: the session hash, taken at ClientKeyExchange, does not).
                core.transcript.extend_from_slice(raw);
                State::ExpectChangeCipherSpec(keyed)
            }
            (State::ExpectChangeCipherSpec(mut keyed), Input::ChangeCipherSpec) => {
                if let Some(key) = keyed.client_key.take() {
                    core.activate_read_key(key);
                }
                State::ExpectFinished(keyed)
            }
            (
                State::ExpectFinished(keyed),
                Input::Handshake(HandshakeMessage::Finished(vd), raw),
            ) => {
                finished(core, keyed, &vd, raw)?;
                State::Established
            }
            // RFC 5746 §4.2 / RFC 5246 §7.2.2: renegotiation is refused with a
            // warning, and the connection carries on.
            (State::Established, Input::Handshake(HandshakeMessage::ClientHello(_), _)) => {
                // Refusals count towards the empty-record cap, so a peer cannot make
                // us answer an endless stream of renegotiation attempts.
                core.note_empty()?;
                core.send_alert(AlertLevel::WARNING, AlertDescription::NO_RENEGOTIATION);
                State::Established
            }
            (state, input) => {
                let expected = state.expecting();
                self.state = state;
                return Err(unexpected(expected, &input));
            }
        };
        Ok(())
    }

    fn expecting(&self) -> &'static str {
        self.state.expecting()
    }

    fn awaiting_private_key(&self) -> bool {
        matches!(
            self.state,
            State::ExpectPrivateKeyResult(_) | State::ExpectCertifiedPrivateKeyResult(..)
        )
    }

    fn complete_private_key(
        &mut self,
        core: &mut Core,
        output: Option<&[u8]>,
    ) -> Result<(), Error> {
        let state = core::mem::replace(&mut self.state, State::Failed);
        self.state = match state {
            State::ExpectPrivateKeyResult(awaiting) => {
                State::ExpectChangeCipherSpec(self.key_exchange_result(core, awaiting, output)?)
            }
            State::ExpectCertifiedPrivateKeyResult(awaiting, key) => {
                State::ExpectCertificateVerify(
                    self.key_exchange_result(core, awaiting, output)?,
                    key,
                )
            }
            state => {
                self.state = state;
                return Err(Error::Internal("no private-key operation is pending"));
            }
        };
        Ok(())
    }

    fn table_state(&self) -> Option<TableState> {
        self.state.table_state()
    }

    fn forget_secrets(&mut self) {
        // The master secret and any record key not yet handed to the record
        // layer live in `Keyed`; every state after a failure is `Failed`.
        self.state = State::Failed;
    }

    #[cfg(test)]
    fn holds_secrets(&self) -> bool {
        matches!(
            self.state,
            State::ExpectCertificateVerify(..)
                | State::ExpectChangeCipherSpec(_)
                | State::ExpectFinished(_)
        )
    }
}

impl State {
    /// This state's row in the declarative table (`None` once failed).
    fn table_state(&self) -> Option<TableState> {
        Some(match self {
            Self::ExpectClientHello => TableState::ExpectClientHello,
            Self::ExpectClientCertificate(_) => TableState::ExpectClientCertificate,
            Self::ExpectClientKeyExchange(_) => TableState::ExpectClientKeyExchange,
            Self::ExpectCertifiedClientKeyExchange(..) => {
                TableState::ExpectCertifiedClientKeyExchange
            }
            Self::ExpectPrivateKeyResult(_) => TableState::ExpectPrivateKeyResult,
            Self::ExpectCertifiedPrivateKeyResult(..) => {
                TableState::ExpectCertifiedPrivateKeyResult
            }
            Self::ExpectCertificateVerify(..) => TableState::ExpectCertificateVerify,
            Self::ExpectChangeCipherSpec(_) => TableState::ExpectChangeCipherSpec,
            Self::ExpectFinished(_) => TableState::ExpectFinished,
            Self::Established => TableState::Established,
            Self::Failed => return None,
        })
    }

    fn expecting(&self) -> &'static str {
        self.table_state()
            .map_or("nothing (failed)", TableState::expecting)
    }
}

pub(super) fn unexpected(expected: &'static str, input: &Input<'_>) -> Error {
    Error::UnexpectedMessage {
        expected,
        got: match input {
            Input::Handshake(m, _) => m.name(),
            Input::ChangeCipherSpec => "ChangeCipherSpec",
        },
    }
}

impl Server {
    fn client_hello(&self, core: &mut Core, ch: &ClientHello) -> Result<Negotiated, Error> {
        let common = &self.config.common;
        // From here on, every record must carry TLS 1.2 (RFC 5246 Appendix E.1).
        core.lenient_record_version = false;
        // Client chains are validated at the caller's time; a connection made
        // without one cannot authenticate clients (a local error, not the peer's).
        if self.config.client_auth.is_some() && self.now.is_none() {
            return Err(Error::Internal(
                "client authentication needs the time: use ServerConnection::new_at",
            ));
        }

        // RFC 5246 Appendix E.1: a higher client_version negotiates our highest (1.2).
        if ch.client_version < ProtocolVersion::TLSV1_2 {
            // RFC 7507 §3: a fallback to below our best version is refused.
            return Err(
                match ch.cipher_suites.contains(&CipherSuite::TLS_FALLBACK_SCSV) {
                    true => Error::InappropriateFallback,
                    false => Error::ProtocolVersion,
                },
            );
        }

        // RFC 5246 §7.4.1.2: the list MUST contain null compression; we use only it.
        if !ch.compression_methods.contains(&Compression::NULL) {
            return Err(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
                "null compression not offered",
            )));
        }

        // RFC 5746 §3.6: the SCSV or an *empty* renegotiation_info marks a client
        // that supports secure renegotiation; a non-empty one on an initial
        // handshake MUST abort.
        let mut secure_renegotiation = ch
            .cipher_suites
            .contains(&CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
        if let Some(Extension::RenegotiationInfo(v)) =
            ch.extension(ExtensionType::RENEGOTIATION_INFO)
        {
            if !v.is_empty() {
                return Err(Error::PeerMisbehaved(Misbehavior::BadRenegotiationInfo));
            }
            secure_renegotiation = true;
        }

        // RFC 7627 §5.3: without EMS from the client, a server that requires it aborts.
        let ems = ch
            .extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_some();
        if !ems && common.require_ems {
            return Err(Error::HandshakeFailure(
                "client does not support Extended Master Secret",
            ));
        }

        // The server's preference wins.
        let suite = common
            .suites
            .iter()
            .copied()
            .find(|s| ch.cipher_suites.contains(&s.id))
            .ok_or(Error::HandshakeFailure("no cipher suite in common"))?;

        let server_name = match ch.extension(ExtensionType::SERVER_NAME) {
            Some(Extension::ServerName(names)) => host_name(names)?,
            _ => None,
        };

        // RFC 7301 §3.2: the server's preference wins among the protocols the
        // client advertised; with none in common it SHALL answer with a fatal
        // no_application_protocol. A server without ALPN ignores the offer.
        let alpn_protocol = match ch.extension(ExtensionType::ALPN) {
            Some(Extension::Alpn(offered)) if !common.alpn_protocols.is_empty() => Some(
                common
                    .alpn_protocols
                    .iter()
                    .find(|ours| offered.contains(ours))
                    .cloned()
                    .ok_or(Error::NoApplicationProtocol)?,
            ),
            _ => None,
        };

        // RFC 6066 §3: the name lets a server with several certificates choose.
        let cert = self.config.select(server_name.as_deref());

        let server_random = core.random::<32>();
        let mut extensions = Vec::new();
        if secure_renegotiation {
            // RFC 5746 §3.6: reply with an empty renegotiation_info.
            extensions.push(Extension::RenegotiationInfo(Vec::new()));
        }
        if ems {
            extensions.push(Extension::ExtendedMasterSecret);
        }
        if let Some(protocol) = &alpn_protocol {
            // RFC 7301 §3.1: the ServerHello's list holds exactly one name.
            extensions.push(Extension::Alpn(vec![protocol.clone()]));
        }
        let hello = HandshakeMessage::ServerHello(ServerHello {
            server_version: ProtocolVersion::TLSV1_2,
            random: server_random,
            // No resumption: an empty session_id says the session won't be cached.
            session_id: Vec::new(),
            cipher_suite: suite.id,
            compression_method: Compression::NULL,
            extensions: Some(extensions),
        });
        let certificate = HandshakeMessage::Certificate(self.config.certs[cert].chain.clone());
        match &self.config.client_auth {
            Some(auth) => {
                // RFC 5246 §7.4.4: a CertificateRequest right after the server's
                // Certificate. rsatls verifies only RSA signatures, with the
                // schemes it offers here (no SHA-1); the CA names are advisory.
                let request = HandshakeMessage::CertificateRequest(CertificateRequest {
                    certificate_types: vec![ClientCertificateType::RSA_SIGN],
                    signature_schemes: sig::SCHEMES.to_vec(),
                    certificate_authorities: auth.ca_names.clone(),
                });
                core.send_handshake(&[
                    &hello,
                    &certificate,
                    &request,
                    &HandshakeMessage::ServerHelloDone,
                ])?;
            }
            None => {
                core.send_handshake(&[&hello, &certificate, &HandshakeMessage::ServerHelloDone])?
            }
        }

        Ok(Negotiated {
            suite,
            client_random: ch.random,
            server_random,
            client_version: ch.client_version.0.to_be_bytes(),
            ems,
            secure_renegotiation,
            server_name,
            cert,
            alpn_protocol,
            client_chain: Vec::new(),
        })
    }

    /// The client's Certificate (RFC 5246 §7.4.6): its chain validated to the
    /// configured roots, and the leaf's key for the CertificateVerify; `None`
    /// when the client sent no certificate and the mode lets it go on.
    fn client_certificate(
        &self,
        core: &Core,
        chain: &[Vec<u8>],
    ) -> Result<Option<RsaPublicKeyInfo>, Error> {
        let (Some(auth), Some(now)) = (&self.config.client_auth, self.now) else {
            return Err(Error::Internal("client certificate without client auth"));
        };
        if chain.is_empty() {
            // RFC 5246 §7.4.6: a server that requires client authentication
            // "may respond with a fatal handshake failure alert".
            return match auth.mode {
                ClientAuthMode::Required => Err(Error::HandshakeFailure(
                    "the client sent no certificate and one is required",
                )),
                ClientAuthMode::Optional => Ok(None),
            };
        }
        verify::verify_client_chain(core.provider.as_ref(), &auth.roots, chain, now).map(Some)
    }

    /// ClientKeyExchange, inline: the private-key operation runs here, with
    /// blinding from the connection's RNG.
    fn client_key_exchange(
        &self,
        core: &mut Core,
        neg: Negotiated,
        ciphertext: &[u8],
    ) -> Result<Keyed, Error> {
        // RFC 5246 §7.4.7.1: generate the random premaster *before* decrypting, so
        // that the two outcomes cannot be told apart by when randomness is drawn.
        let fallback = zeroize::Zeroizing::new(core.random::<SECRET_LEN>());
        let premaster = rsa_kx::decrypt_premaster(
            self.config.certs[neg.cert].key.0.as_ref(),
            ciphertext,
            neg.client_version,
            &fallback,
            core.rng.as_mut(),
        );
        self.keys_from_premaster(core, neg, &premaster)
    }

    /// ClientKeyExchange, offloaded: the fallback is drawn first, as inline,
    /// then the blinding seed, and the operation is handed to the caller
    /// ([`super::Event::PrivateKeyOperation`]).
    fn hand_out(&self, core: &mut Core, neg: Negotiated, ciphertext: &[u8]) -> Awaiting {
        let fallback = zeroize::Zeroizing::new(core.random::<SECRET_LEN>());
        let blinding_seed = zeroize::Zeroizing::new(core.random::<BLINDING_SEED_LEN>());
        let key = self.config.certs[neg.cert].key.0.clone();
        let (input, length_ok) = rsa_kx::private_key_input(key.modulus_len(), ciphertext);
        core.pending = Some(Pending::PrivateKeyOperation(PrivateKeyOperation {
            key,
            cert: neg.cert,
            input,
            blinding_seed,
        }));
        Awaiting {
            neg,
            fallback,
            length_ok,
        }
    }

    /// The offloaded operation's result, checked in constant time as inline: a
    /// failure or an output of the wrong length selects the fallback, like an
    /// invalid ciphertext.
    fn key_exchange_result(
        &self,
        core: &mut Core,
        awaiting: Awaiting,
        output: Option<&[u8]>,
    ) -> Result<Keyed, Error> {
        let Awaiting {
            neg,
            fallback,
            length_ok,
        } = awaiting;
        let k = self.config.certs[neg.cert].key.0.modulus_len();
        let mut em = zeroize::Zeroizing::new(vec![0u8; k]);
        // Whether the caller's operation succeeded, and the length of what it
        // returned, are the caller's knowledge, not the client's secret.
        let completed = match output {
            Some(out) if out.len() == k => {
                em.copy_from_slice(out);
                true
            }
            _ => false,
        };
        let premaster =
            rsa_kx::unpad_premaster(&em, length_ok & completed, neg.client_version, &fallback);
        self.keys_from_premaster(core, neg, &premaster)
    }

    /// The master secret and the record keys, from the premaster.
    fn keys_from_premaster(
        &self,
        core: &mut Core,
        neg: Negotiated,
        premaster: &[u8; SECRET_LEN],
    ) -> Result<Keyed, Error> {
        let provider = core.provider.as_ref();
        let master = match neg.ems {
            true => {
                // RFC 7627 §3: session_hash covers ClientHello .. ClientKeyExchange.
                let session_hash = core.transcript_hash(neg.suite);
                MasterSecret::extended(provider, neg.suite.hash, premaster, session_hash.as_ref())
            }
            false => MasterSecret::legacy(
                provider,
                neg.suite.hash,
                premaster,
                &neg.client_random,
                &neg.server_random,
            ),
        };
        core.log_master_secret(&neg.client_random, &master);
        let block = master.key_block(provider, neg.suite, &neg.client_random, &neg.server_random);
        let client_key = core.record_key(neg.suite, &block.client)?;
        let server_key = core.record_key(neg.suite, &block.server)?;
        Ok(Keyed {
            neg,
            master,
            client_key: Some(client_key),
            server_key,
        })
    }
}

/// RFC 5246 §7.4.8: the client's signature over every handshake message up to
/// and including ClientKeyExchange (the transcript as it stands), hashed with
/// the hash of the algorithm it names, under its certificate's key.
fn certificate_verify(
    core: &Core,
    key: &RsaPublicKeyInfo,
    signed: &DigitallySigned,
) -> Result<(), Error> {
    // RFC 5246 §7.4.8: the algorithm "MUST be one of those present in the
    // supported_signature_algorithms field of the CertificateRequest".
    if !sig::SCHEMES.contains(&signed.scheme) {
        return Err(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
            "CertificateVerify uses an algorithm the server did not offer",
        )));
    }
    // §7.2.2: decrypt_error when a signature could not be correctly verified.
    sig::verify(
        core.provider.as_ref(),
        signed.scheme,
        &key.modulus,
        &key.exponent,
        &core.transcript,
        &signed.signature,
    )
}

fn finished(
    core: &mut Core,
    keyed: Keyed,
    verify_data: &[u8; 12],
    raw: &[u8],
) -> Result<(), Error> {
    let Keyed {
        neg,
        master,
        server_key,
        ..
    } = keyed;
    let provider = core.provider.clone();
    let expected = master.verify_data(
        provider.as_ref(),
        FinishedLabel::Client,
        core.transcript_hash(neg.suite).as_ref(),
    );
    // RFC 5246 §7.4.9: recipients MUST verify verify_data; compared in constant time.
    if !bool::from(expected.ct_eq(verify_data)) {
        return Err(Error::DecryptError);
    }
    core.transcript.extend_from_slice(raw);
    core.send_change_cipher_spec(server_key)?;
    let ours = master.verify_data(
        provider.as_ref(),
        FinishedLabel::Server,
        core.transcript_hash(neg.suite).as_ref(),
    );
    core.send_handshake(&[&HandshakeMessage::Finished(ours)])?;
    core.complete(HandshakeInfo {
        suite: neg.suite,
        extended_master_secret: neg.ems,
        secure_renegotiation: neg.secure_renegotiation,
        server_name: neg.server_name,
        peer_certificates: neg.client_chain,
        alpn_protocol: neg.alpn_protocol,
    });
    Ok(())
}

/// The host_name entry of a server_name extension (RFC 6066 §3), if any.
fn host_name(names: &[crate::msgs::extensions::ServerNameEntry]) -> Result<Option<String>, Error> {
    // RFC 6066 §3: at most one name of each type.
    let mut hosts = names.iter().filter(|n| n.name_type == 0);
    let Some(first) = hosts.next() else {
        return Ok(None);
    };
    if hosts.next().is_some() {
        return Err(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
            "two host names in SNI",
        )));
    }
    // RFC 6066 §3: HostName is ASCII, without a trailing dot.
    let valid = first
        .name
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && first.name.last() != Some(&b'.');
    match valid {
        true => Ok(Some(String::from_utf8_lossy(&first.name).into_owned())),
        false => Err(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
            "SNI host name is not a DNS name",
        ))),
    }
}
