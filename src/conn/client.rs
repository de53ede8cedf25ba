//! The client's handshake state machine.
//!
//! ```text
//!   ClientHello        -->
//!                      <--  ServerHello, Certificate,
//!                           CertificateRequest*, ServerHelloDone
//!   Certificate*
//!   ClientKeyExchange
//!   CertificateVerify**
//!   [ChangeCipherSpec]
//!   Finished           -->
//!                      <--  [ChangeCipherSpec], Finished
//! ```
//!
//! `*`: only when the server asks. `**`: only when the client answers with a
//! certificate of its own: it has one (`ClientConfig::with_client_certificate`)
//! and the request allows `rsa_sign` with a signature scheme the client can use
//! (`crate::sig::SCHEMES`). Otherwise its Certificate is empty, there is no
//! CertificateVerify, and the server decides whether to go on.

use std::sync::Arc;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::server::unexpected;
use super::{Connection, Core, HandshakeInfo, Input, Role, sealed};
use crate::UnixTime;
use crate::config::{CertifiedKey, ClientConfig, ServerAuth};
use crate::crypto::RsaPublicKey;
use crate::error::{CertificateError, Error, Misbehavior};
use crate::key_schedule::{FinishedLabel, MasterSecret, SECRET_LEN};
use crate::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ClientCertificateType, Compression, ExtensionType,
    ProtocolVersion, SignatureScheme,
};
use crate::msgs::extensions::{Extension, ServerNameEntry};
use crate::msgs::handshake::{
    CertificateRequest, ClientHello, DigitallySigned, HandshakeMessage, ServerHello,
};
use crate::pki;
use crate::record::RecordKey;
use crate::rsa_kx::{self, MAX_RSA_BITS, MIN_RSA_BITS};
use crate::sig;
use crate::state_table::{Side, State as TableState};
use crate::suites::{self, Suite};
use crate::verify;

/// Signatures the client accepts on the server's chain. Chains are validated
/// only with [`ServerAuth::TrustedCertificates`], and then only RSA signatures
/// verify (`crate::verify`); the ECDSA entries let a server with an
/// ECDSA-signed chain for a pinned RSA key still pick it.
const SIGNATURE_SCHEMES: [SignatureScheme; 8] = [
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::ECDSA_SECP256R1_SHA256,
    SignatureScheme::ECDSA_SECP384R1_SHA384,
];

/// The client side's state. Use [`ClientConnection`](super::ClientConnection).
pub struct Client {
    config: Arc<ClientConfig>,
    state: State,
    /// The name the caller connects to: a DNS name (also sent as SNI) or an IP
    /// address. Certificates are checked against it.
    server_name: Option<String>,
    /// Whether `server_name` was sent as SNI (a DNS name, not an address).
    offered_sni: bool,
    /// The time certificates are validated at, as the caller gave it.
    now: Option<UnixTime>,
}

impl sealed::Sealed for Client {}

enum State {
    ExpectServerHello {
        client_random: [u8; 32],
    },
    ExpectCertificate(Negotiated),
    ExpectServerHelloDone(Negotiated, Box<dyn RsaPublicKey>),
    /// A CertificateRequest came: the client owes a Certificate, and a
    /// CertificateVerify with this scheme if it is `Some` (its own chain),
    /// else nothing more (an empty Certificate).
    ExpectServerHelloDoneAfterRequest(Negotiated, Box<dyn RsaPublicKey>, Option<SignatureScheme>),
    ExpectChangeCipherSpec(Keyed),
    ExpectFinished(Keyed),
    Established,
    Failed,
}

struct Negotiated {
    suite: &'static Suite,
    client_random: [u8; 32],
    server_random: [u8; 32],
    ems: bool,
    secure_renegotiation: bool,
    chain: Vec<Vec<u8>>,
    alpn_protocol: Option<Vec<u8>>,
}

struct Keyed {
    neg: Negotiated,
    master: MasterSecret,
    server_key: Option<RecordKey>,
}

impl Connection<Client> {
    /// A new client connection; its ClientHello is queued at once.
    ///
    /// `server_name` is the host the caller connects to: a DNS name, sent as SNI
    /// (RFC 6066), or an IP address, which is not. Every random byte comes from
    /// `rng`.
    ///
    /// This connection has no notion of time, so with
    /// [`ServerAuth::TrustedCertificates`] it accepts only a leaf byte-identical
    /// to a trusted certificate, and checks that leaf's name and key usage but
    /// not its validity period; use [`new_at`](Self::new_at) to validate chains
    /// and periods.
    pub fn new(
        config: Arc<ClientConfig>,
        server_name: Option<&str>,
        rng: impl CryptoRng + Send + 'static,
    ) -> Result<Self, Error> {
        Self::start(config, server_name, None, Box::new(rng))
    }

    /// As [`new`](Self::new), with the current time, which the engine never
    /// reads itself: certificate chains, and a leaf identical to a trusted
    /// certificate, are validated at `now` (each certificate's
    /// notBefore..notAfter must contain it).
    pub fn new_at(
        config: Arc<ClientConfig>,
        server_name: Option<&str>,
        now: UnixTime,
        rng: impl CryptoRng + Send + 'static,
    ) -> Result<Self, Error> {
        Self::start(config, server_name, Some(now), Box::new(rng))
    }

    fn start(
        config: Arc<ClientConfig>,
        server_name: Option<&str>,
        now: Option<UnixTime>,
        rng: Box<dyn CryptoRng + Send>,
    ) -> Result<Self, Error> {
        // RFC 6066 §3: literal IPv4 and IPv6 addresses are not permitted in
        // HostName, so an address is checked against the certificate but not sent.
        let sni = match server_name {
            Some(name) if !verify::is_ip_address(name) => {
                let ok = !name.is_empty()
                    && name.len() <= 253
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
                    && !name.ends_with('.');
                if !ok {
                    return Err(Error::Config("server name is not a DNS host name"));
                }
                Some(name)
            }
            _ => None,
        };
        let mut core = Core::new(&config.common, rng);
        let client_random = core.random::<32>();
        let mut cipher_suites: Vec<CipherSuite> =
            config.common.suites.iter().map(|s| s.id).collect();
        // RFC 5746 §3.4: signal secure renegotiation with the SCSV.
        cipher_suites.push(CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
        let mut extensions = Vec::new();
        if let Some(name) = sni {
            extensions.push(Extension::ServerName(vec![ServerNameEntry {
                name_type: 0,
                name: name.as_bytes().to_vec(),
            }]));
        }
        // RFC 7627 §5.1: always offered.
        extensions.push(Extension::ExtendedMasterSecret);
        // RFC 5246 §7.4.1.4.1: without this a server must assume SHA-1 signatures on
        // its chain, which OpenSSL 3 refuses at its default security level.
        extensions.push(Extension::SignatureAlgorithms(SIGNATURE_SCHEMES.to_vec()));
        if !config.common.alpn_protocols.is_empty() {
            // RFC 7301 §3.1: the client's protocols, in its preference order.
            extensions.push(Extension::Alpn(config.common.alpn_protocols.clone()));
        }
        let hello = HandshakeMessage::ClientHello(ClientHello {
            client_version: ProtocolVersion::TLSV1_2,
            random: client_random,
            session_id: Vec::new(),
            cipher_suites,
            compression_methods: vec![Compression::NULL],
            extensions: Some(extensions),
        });
        core.send_handshake(&[&hello])?;
        let role = Client {
            config,
            state: State::ExpectServerHello { client_random },
            server_name: server_name.map(str::to_owned),
            offered_sni: sni.is_some(),
            now,
        };
        Ok(Self::from_parts(core, role))
    }
}

#[allow(private_interfaces)]
impl Role for Client {
    const SIDE: Side = Side::Client;

    fn handle(&mut self, core: &mut Core, input: Input<'_>) -> Result<(), Error> {
        // RFC 5246 §7.4.1.1: a HelloRequest during a handshake is ignored and is not
        // part of the transcript; after it, we decline with no_renegotiation.
        if let Input::Handshake(HandshakeMessage::HelloRequest, _) = input {
            // Counted towards the empty-record cap either way (CVE-2016-8610).
            core.note_empty()?;
            if core.established {
                core.send_alert(AlertLevel::WARNING, AlertDescription::NO_RENEGOTIATION);
            }
            return Ok(());
        }
        let state = core::mem::replace(&mut self.state, State::Failed);
        self.state = match (state, input) {
            (
                State::ExpectServerHello { client_random },
                Input::Handshake(HandshakeMessage::ServerHello(sh), raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                State::ExpectCertificate(self.server_hello(&sh, client_random)?)
            }
            (
                State::ExpectCertificate(mut neg),
                Input::Handshake(HandshakeMessage::Certificate(chain), raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                let key = self.verify_server(core, &chain)?;
                neg.chain = chain;
                State::ExpectServerHelloDone(neg, key)
            }
            // RFC 5246 §7.4.4: a non-anonymous server may request a certificate,
            // once, right after its Certificate (no ServerKeyExchange with RSA).
            // The request goes into the transcript whatever it asks for; what
            // it allows decides whether the client's certificate goes out.
            (
                State::ExpectServerHelloDone(neg, key),
                Input::Handshake(HandshakeMessage::CertificateRequest(request), raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                let scheme = self.answer(&request);
                State::ExpectServerHelloDoneAfterRequest(neg, key, scheme)
            }
            (
                State::ExpectServerHelloDone(neg, key),
                Input::Handshake(HandshakeMessage::ServerHelloDone, raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                let keyed = client_flight(core, neg, key.as_ref(), Answer::NotAsked)?;
                State::ExpectChangeCipherSpec(keyed)
            }
            (
                State::ExpectServerHelloDoneAfterRequest(neg, key, scheme),
                Input::Handshake(HandshakeMessage::ServerHelloDone, raw),
            ) => {
                core.transcript.extend_from_slice(raw);
                let answer = match (scheme, &self.config.client_cert) {
                    (Some(scheme), Some(certified)) => Answer::Certified(certified, scheme),
                    _ => Answer::Empty,
                };
                let keyed = client_flight(core, neg, key.as_ref(), answer)?;
                State::ExpectChangeCipherSpec(keyed)
            }
            (State::ExpectChangeCipherSpec(mut keyed), Input::ChangeCipherSpec) => {
                if let Some(key) = keyed.server_key.take() {
                    core.activate_read_key(key);
                }
                State::ExpectFinished(keyed)
            }
            (State::ExpectFinished(keyed), Input::Handshake(HandshakeMessage::Finished(vd), _)) => {
                self.finished(core, keyed, &vd)?;
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
            State::ExpectChangeCipherSpec(_) | State::ExpectFinished(_)
        )
    }
}

impl State {
    /// This state's row in the declarative table (`None` once failed).
    fn table_state(&self) -> Option<TableState> {
        Some(match self {
            Self::ExpectServerHello { .. } => TableState::ExpectServerHello,
            Self::ExpectCertificate(_) => TableState::ExpectCertificate,
            Self::ExpectServerHelloDone(..) => TableState::ExpectServerHelloDone,
            Self::ExpectServerHelloDoneAfterRequest(..) => {
                TableState::ExpectServerHelloDoneAfterRequest
            }
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

impl Client {
    /// The scheme to sign the CertificateVerify with, if the client answers
    /// `request` with its own certificate; `None` for an empty Certificate.
    ///
    /// RFC 5246 §7.4.6: the certificate "MUST be appropriate for the
    /// negotiated cipher suite's key exchange algorithm": an RSA key needs
    /// `rsa_sign` among certificate_types, and (§7.4.4) a signature algorithm
    /// from supported_signature_algorithms. The client's preference decides
    /// among those (`sig::SCHEMES`: PSS first, then PKCS#1 v1.5, SHA-256
    /// first). certificate_authorities is advisory: the chain goes out
    /// whatever it names, as OpenSSL's client does, and the server judges it.
    fn answer(&self, request: &CertificateRequest) -> Option<SignatureScheme> {
        self.config.client_cert.as_ref()?;
        if !request
            .certificate_types
            .contains(&ClientCertificateType::RSA_SIGN)
        {
            return None;
        }
        sig::SCHEMES
            .into_iter()
            .find(|scheme| request.signature_schemes.contains(scheme))
    }

    fn server_hello(&self, sh: &ServerHello, client_random: [u8; 32]) -> Result<Negotiated, Error> {
        let common = &self.config.common;
        // We offered only TLS 1.2.
        if sh.server_version != ProtocolVersion::TLSV1_2 {
            return Err(Error::ProtocolVersion);
        }
        // RFC 5246 §7.4.1.3: the suite must be one the client offered.
        let suite = suites::find(sh.cipher_suite)
            .filter(|s| common.suites.contains(s))
            .ok_or(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
                "server chose a suite we did not offer",
            )))?;
        if sh.compression_method != Compression::NULL {
            return Err(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
                "server chose compression",
            )));
        }
        // RFC 5246 §7.4.1.4: an extension type the client did not offer is fatal.
        for ext in sh.extensions.as_deref().unwrap_or(&[]) {
            let offered = match ext {
                Extension::ServerName(names) => self.offered_sni && names.is_empty(),
                Extension::ExtendedMasterSecret | Extension::RenegotiationInfo(_) => true,
                Extension::Alpn(_) => !common.alpn_protocols.is_empty(),
                Extension::SignatureAlgorithms(_) | Extension::Unknown(..) => false,
            };
            if !offered {
                return Err(Error::PeerMisbehaved(Misbehavior::UnsolicitedExtension));
            }
        }
        // RFC 5746 §3.4: on an initial handshake renegotiated_connection MUST be empty.
        let secure_renegotiation = match sh.extension(ExtensionType::RENEGOTIATION_INFO) {
            Some(Extension::RenegotiationInfo(v)) if !v.is_empty() => {
                return Err(Error::PeerMisbehaved(Misbehavior::BadRenegotiationInfo));
            }
            Some(_) => true,
            None => false,
        };
        // RFC 7627 §5.2: a client that requires EMS aborts without it.
        let ems = sh
            .extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_some();
        if !ems && common.require_ems {
            return Err(Error::HandshakeFailure(
                "server does not support Extended Master Secret",
            ));
        }
        // RFC 7301 §3.1: the ServerHello names exactly one protocol, and it is
        // one the client offered.
        let alpn_protocol = match sh.extension(ExtensionType::ALPN) {
            Some(Extension::Alpn(chosen)) => match chosen.as_slice() {
                [one] if common.alpn_protocols.contains(one) => Some(one.clone()),
                [_] => {
                    return Err(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
                        "server chose an ALPN protocol we did not offer",
                    )));
                }
                _ => {
                    return Err(Error::PeerMisbehaved(Misbehavior::IllegalParameter(
                        "server chose more than one ALPN protocol",
                    )));
                }
            },
            _ => None,
        };
        Ok(Negotiated {
            suite,
            client_random,
            server_random: sh.random,
            ems,
            secure_renegotiation,
            chain: Vec::new(),
            alpn_protocol,
        })
    }

    /// Authenticates the server's leaf and loads its RSA key.
    fn verify_server(
        &self,
        core: &Core,
        chain: &[Vec<u8>],
    ) -> Result<Box<dyn RsaPublicKey>, Error> {
        let bad = Error::BadCertificate;
        let leaf = chain.first().ok_or(bad(CertificateError::Malformed))?;
        let info = pki::rsa_key_from_certificate(leaf).map_err(bad)?;
        match &self.config.auth {
            // A pin names the leaf's key and nothing else: the chain, the name
            // and the validity period are not checked.
            ServerAuth::Pins(pins) => {
                let pin = pki::pin_of_spki(core.provider.as_ref(), &info.spki_der);
                if !pin.matches_any(pins) {
                    return Err(bad(CertificateError::NotTrusted));
                }
            }
            // A leaf sent exactly as trusted (a self-signed server) needs no
            // chain, but is still checked for the name, its extended key usage
            // and, given the time, its validity period. Only the leaf: a trusted
            // certificate further down the chain proves nothing about the leaf.
            ServerAuth::TrustedCertificates(certs) if certs.iter().any(|c| c == leaf) => {
                verify::verify_trusted_leaf(leaf, self.server_name.as_deref(), self.now)?;
            }
            // Without the time from the caller (`new`, not `new_at`) no chain can
            // be validated: only the byte-identical leaf above is trusted.
            ServerAuth::TrustedCertificates(anchors) => {
                let now = self.now.ok_or(bad(CertificateError::NotTrusted))?;
                verify::verify_server_chain(
                    core.provider.as_ref(),
                    anchors,
                    chain,
                    self.server_name.as_deref(),
                    now,
                )?;
            }
            ServerAuth::DangerousAcceptAnyKeyForTestingOnly => {}
        }
        // The key's use and size, whatever made it trusted.
        verify::check_key_encipherment(leaf).map_err(bad)?;
        let key = core
            .provider
            .rsa_public_key(&info.modulus, &info.exponent)
            .map_err(|_| bad(CertificateError::Malformed))?;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&key.modulus_bits()) {
            return Err(bad(CertificateError::KeySize));
        }
        Ok(key)
    }

    fn finished(&self, core: &mut Core, keyed: Keyed, verify_data: &[u8; 12]) -> Result<(), Error> {
        let Keyed { neg, master, .. } = keyed;
        let expected = master.verify_data(
            core.provider.as_ref(),
            FinishedLabel::Server,
            core.transcript_hash(neg.suite).as_ref(),
        );
        // RFC 5246 §7.4.9: recipients MUST verify verify_data; compared in constant time.
        if !bool::from(expected.ct_eq(verify_data)) {
            return Err(Error::DecryptError);
        }
        core.complete(HandshakeInfo {
            suite: neg.suite,
            extended_master_secret: neg.ems,
            secure_renegotiation: neg.secure_renegotiation,
            server_name: self.offered_sni.then(|| self.server_name.clone()).flatten(),
            peer_certificates: neg.chain,
            alpn_protocol: neg.alpn_protocol,
        });
        Ok(())
    }
}

/// What the client answers for its own certificate.
enum Answer<'a> {
    /// No CertificateRequest came: no Certificate.
    NotAsked,
    /// Asked, with nothing suitable: an empty Certificate (RFC 5246 §7.4.6).
    Empty,
    /// Asked, and this chain suits the request: Certificate, then a
    /// CertificateVerify signed with this scheme.
    Certified(&'a CertifiedKey, SignatureScheme),
}

/// Certificate (if one was requested), ClientKeyExchange, CertificateVerify
/// (if the Certificate was not empty), ChangeCipherSpec and Finished.
fn client_flight(
    core: &mut Core,
    neg: Negotiated,
    server_key: &dyn RsaPublicKey,
    answer: Answer<'_>,
) -> Result<Keyed, Error> {
    // RFC 5246 §7.4.7.1: client_version (the version offered) ‖ 46 random bytes.
    let mut premaster = Zeroizing::new([0u8; SECRET_LEN]);
    premaster[..2].copy_from_slice(&ProtocolVersion::TLSV1_2.0.to_be_bytes());
    core.rng.fill_bytes(&mut premaster[2..]);
    let encrypted = rsa_kx::encrypt_premaster(server_key, &premaster, core.rng.as_mut())?;
    if let (Some(log), Some(head)) = (&core.key_log, encrypted.first_chunk::<8>()) {
        // NSS key log: "RSA <first 8 bytes of the encrypted premaster> <premaster>".
        log.log("RSA", head, &premaster[..]);
    }
    let key_exchange = HandshakeMessage::ClientKeyExchange(encrypted);
    match answer {
        // RFC 5246 §7.4.6: a client that was asked MUST send a Certificate,
        // with an empty certificate_list if it has no suitable certificate. It
        // comes first (§7.3) and enters the transcript, hence the EMS session
        // hash below (RFC 7627 §3: up to ClientKeyExchange).
        Answer::Empty => {
            let empty_certificate = HandshakeMessage::Certificate(Vec::new());
            core.send_handshake(&[&empty_certificate, &key_exchange])?
        }
        Answer::Certified(certified, _) => {
            let certificate = HandshakeMessage::Certificate(certified.chain.clone());
            core.send_handshake(&[&certificate, &key_exchange])?
        }
        Answer::NotAsked => core.send_handshake(&[&key_exchange])?,
    }

    let provider = core.provider.clone();
    let master = match neg.ems {
        true => {
            let session_hash = core.transcript_hash(neg.suite);
            MasterSecret::extended(
                provider.as_ref(),
                neg.suite.hash,
                &premaster,
                session_hash.as_ref(),
            )
        }
        false => MasterSecret::legacy(
            provider.as_ref(),
            neg.suite.hash,
            &premaster,
            &neg.client_random,
            &neg.server_random,
        ),
    };
    core.log_master_secret(&neg.client_random, &master);

    // RFC 5246 §7.4.8: CertificateVerify follows ClientKeyExchange when the
    // client sent a certificate; it signs handshake_messages, "all handshake
    // messages sent or received, starting at client hello and up to, but not
    // including, this message", with the hash of the chosen
    // SignatureAndHashAlgorithm (not the suite's PRF hash). It is not in the
    // EMS session hash (computed above, RFC 7627 §3) but is in Finished's.
    // The salt comes from the connection's RNG, so transcripts stay
    // reproducible.
    if let Answer::Certified(certified, scheme) = answer {
        let signature = sig::sign(
            provider.as_ref(),
            certified.key.0.as_ref(),
            scheme,
            &core.transcript,
            core.rng.as_mut(),
        )?;
        let verify = HandshakeMessage::CertificateVerify(DigitallySigned { scheme, signature });
        core.send_handshake(&[&verify])?;
    }

    let block = master.key_block(
        provider.as_ref(),
        neg.suite,
        &neg.client_random,
        &neg.server_random,
    );
    let client_key = core.record_key(neg.suite, &block.client)?;
    let server_key = core.record_key(neg.suite, &block.server)?;
    core.send_change_cipher_spec(client_key)?;
    let verify_data = master.verify_data(
        provider.as_ref(),
        FinishedLabel::Client,
        core.transcript_hash(neg.suite).as_ref(),
    );
    core.send_handshake(&[&HandshakeMessage::Finished(verify_data)])?;
    Ok(Keyed {
        neg,
        master,
        server_key: Some(server_key),
    })
}
