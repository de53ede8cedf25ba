//! The handshake state machines as data: state × incoming message → outcome.
//!
//! This table is the single description of what each side accepts when. The
//! engines' dispatch (`conn::client`, `conn::server`) is tested against it by
//! exhaustive exploration (`tests/explore.rs`), and the Promela model checked by
//! spin (`formal/spin/handshake.pml`) is generated from it
//! (`tests/promela.rs::the_promela_model_is_generated_from_the_table`), so neither
//! can drift from the code without a test failing.
//!
//! A server's ClientKeyExchange always leads to a pending state
//! ([`State::ExpectPrivateKeyResult`], [`State::ExpectCertifiedPrivateKeyResult`]),
//! where every message is [`Outcome::Held`]. Leaving it is an internal step,
//! not a message ([`after_private_key_result`]): a server with the key in
//! process (the default) takes it at once, inside the same `poll_event`, so its
//! `state()` never reports a pending state; one configured with
//! `ServerConfig::with_private_key_offload` takes it when the caller hands the
//! operation's result back.
//!
//! The table describes *well-formed* messages arriving in a given state. What a
//! malformed one does (decode_error, bad_record_mac, …) is the codec's and record
//! layer's business and is tested there. Likewise a well-formed message whose
//! contents cannot be agreed to (no common suite, no common ALPN protocol, a
//! refused certificate) fails inside its handler with that rule's alert; those
//! are tested one rule at a time in `tests/conformance.rs` and `tests/chain.rs`
//! (and, for client certificates and CertificateVerify, `tests/client_auth.rs`).

use crate::msgs::enums::{AlertDescription, HandshakeType};

/// Which machine a table describes: the client, or one of the server's two
/// machines. A server that asks for client certificates
/// (`ServerConfig::with_client_auth`) accepts messages a plain server never
/// does (the client's Certificate and CertificateVerify), so it is a machine of
/// its own rather than a flag the table would have to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client's state machine.
    Client,
    /// The server's state machine without client authentication.
    Server,
    /// The server's state machine when it sends a CertificateRequest (RFC 5246
    /// §7.4.4) and so expects the client's Certificate (§7.4.6) and, after a
    /// non-empty one, its CertificateVerify (§7.4.8).
    ServerWithClientAuth,
}

/// A handshake state. The names are the ones the engines report in
/// `Error::UnexpectedMessage::expected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Server: waiting for the ClientHello.
    ExpectClientHello,
    /// Client: waiting for the ServerHello.
    ExpectServerHello,
    /// Client: waiting for the server's Certificate.
    ExpectCertificate,
    /// Client: waiting for ServerHelloDone, or a CertificateRequest before it.
    ExpectServerHelloDone,
    /// Client: a CertificateRequest came; waiting for ServerHelloDone (a second
    /// request is out of place).
    ExpectServerHelloDoneAfterRequest,
    /// Server asking for a certificate: waiting for the client's Certificate.
    ExpectClientCertificate,
    /// Server: waiting for ClientKeyExchange (no client certificate, or none
    /// asked for).
    ExpectClientKeyExchange,
    /// Server: the client sent a certificate; waiting for ClientKeyExchange,
    /// which a CertificateVerify must follow.
    ExpectCertifiedClientKeyExchange,
    /// Server: the ClientKeyExchange was read and its private-key operation
    /// is out; no input is processed until the result comes back ([`outcome`]
    /// holds every message). A server with the key in process leaves this
    /// state at once ([`after_private_key_result`]); only an offloading one is
    /// ever seen in it.
    ExpectPrivateKeyResult,
    /// As [`State::ExpectPrivateKeyResult`], after a client certificate: a
    /// CertificateVerify follows.
    ExpectCertifiedPrivateKeyResult,
    /// Server: waiting for the client's CertificateVerify.
    ExpectCertificateVerify,
    /// Either side: waiting for the peer's ChangeCipherSpec.
    ExpectChangeCipherSpec,
    /// Either side: waiting for the peer's Finished (read keys are on).
    ExpectFinished,
    /// Handshake complete; application data flows.
    Established,
}

impl State {
    /// The states of one side, in handshake order.
    pub fn all(side: Side) -> &'static [State] {
        match side {
            Side::Client => &[
                Self::ExpectServerHello,
                Self::ExpectCertificate,
                Self::ExpectServerHelloDone,
                Self::ExpectServerHelloDoneAfterRequest,
                Self::ExpectChangeCipherSpec,
                Self::ExpectFinished,
                Self::Established,
            ],
            Side::Server => &[
                Self::ExpectClientHello,
                Self::ExpectClientKeyExchange,
                Self::ExpectPrivateKeyResult,
                Self::ExpectChangeCipherSpec,
                Self::ExpectFinished,
                Self::Established,
            ],
            Side::ServerWithClientAuth => &[
                Self::ExpectClientHello,
                Self::ExpectClientCertificate,
                Self::ExpectClientKeyExchange,
                Self::ExpectCertifiedClientKeyExchange,
                Self::ExpectPrivateKeyResult,
                Self::ExpectCertifiedPrivateKeyResult,
                Self::ExpectCertificateVerify,
                Self::ExpectChangeCipherSpec,
                Self::ExpectFinished,
                Self::Established,
            ],
        }
    }

    /// Where a server with the key in process is seen after reaching `self`:
    /// past the internal step of a pending state ([`after_private_key_result`]),
    /// otherwise `self`.
    pub fn settled(self) -> Self {
        after_private_key_result(self).unwrap_or(self)
    }

    /// The state a fresh connection starts in.
    pub fn initial(side: Side) -> Self {
        Self::all(side)[0]
    }

    /// The name the engines use for this state (`Error::UnexpectedMessage::expected`).
    pub fn expecting(self) -> &'static str {
        match self {
            Self::ExpectClientHello => "ClientHello",
            Self::ExpectServerHello => "ServerHello",
            Self::ExpectCertificate | Self::ExpectClientCertificate => "Certificate",
            Self::ExpectServerHelloDone | Self::ExpectServerHelloDoneAfterRequest => {
                "ServerHelloDone"
            }
            Self::ExpectClientKeyExchange | Self::ExpectCertifiedClientKeyExchange => {
                "ClientKeyExchange"
            }
            Self::ExpectPrivateKeyResult | Self::ExpectCertifiedPrivateKeyResult => {
                "the private-key operation's result"
            }
            Self::ExpectCertificateVerify => "CertificateVerify",
            Self::ExpectChangeCipherSpec => "ChangeCipherSpec",
            Self::ExpectFinished => "Finished",
            Self::Established => "application data",
        }
    }
}

/// One incoming record's worth of well-formed input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Message {
    /// HelloRequest.
    HelloRequest,
    /// ClientHello.
    ClientHello,
    /// ServerHello.
    ServerHello,
    /// Certificate with at least one certificate in its list.
    Certificate,
    /// Certificate with an empty certificate_list (RFC 5246 §7.4.6: a client
    /// without a suitable certificate).
    EmptyCertificate,
    /// CertificateRequest.
    CertificateRequest,
    /// ServerHelloDone.
    ServerHelloDone,
    /// ClientKeyExchange.
    ClientKeyExchange,
    /// CertificateVerify.
    CertificateVerify,
    /// Finished, with the right verify_data.
    Finished,
    /// A handshake type no state accepts (ServerKeyExchange, NewSessionTicket, …).
    OtherHandshake,
    /// ChangeCipherSpec.
    ChangeCipherSpec,
    /// A non-empty application_data record.
    ApplicationData,
    /// A warning alert other than close_notify.
    WarningAlert,
    /// A fatal alert.
    FatalAlert,
    /// close_notify.
    CloseNotify,
}

impl Message {
    /// The whole alphabet.
    pub const ALL: [Message; 16] = [
        Self::HelloRequest,
        Self::ClientHello,
        Self::ServerHello,
        Self::Certificate,
        Self::EmptyCertificate,
        Self::CertificateRequest,
        Self::ServerHelloDone,
        Self::ClientKeyExchange,
        Self::CertificateVerify,
        Self::Finished,
        Self::OtherHandshake,
        Self::ChangeCipherSpec,
        Self::ApplicationData,
        Self::WarningAlert,
        Self::FatalAlert,
        Self::CloseNotify,
    ];

    /// The table's name for a handshake message of type `typ` whose body is
    /// `len` bytes long: the one mapping from the 4-byte handshake header to
    /// the table's alphabet, used to judge a message's order before its body is
    /// read (`conn::Connection::process`).
    pub fn of_handshake(typ: HandshakeType, len: usize) -> Self {
        match typ {
            HandshakeType::HELLO_REQUEST => Self::HelloRequest,
            HandshakeType::CLIENT_HELLO => Self::ClientHello,
            HandshakeType::SERVER_HELLO => Self::ServerHello,
            // RFC 5246 §7.4.2: the body is certificate_list<0..2^24-1>, so an
            // empty list is exactly its 3-byte length; any other 3-byte body
            // fails to decode.
            HandshakeType::CERTIFICATE if len == EMPTY_CERTIFICATE_LEN => Self::EmptyCertificate,
            HandshakeType::CERTIFICATE => Self::Certificate,
            HandshakeType::SERVER_HELLO_DONE => Self::ServerHelloDone,
            HandshakeType::CLIENT_KEY_EXCHANGE => Self::ClientKeyExchange,
            HandshakeType::CERTIFICATE_VERIFY => Self::CertificateVerify,
            HandshakeType::FINISHED => Self::Finished,
            HandshakeType::CERTIFICATE_REQUEST => Self::CertificateRequest,
            // No state accepts the rest: ServerKeyExchange has no place in RSA
            // key transport, and rsatls never resumes (NewSessionTicket).
            _ => Self::OtherHandshake,
        }
    }
}

/// The body length of a Certificate message with an empty certificate_list.
const EMPTY_CERTIFICATE_LEN: usize = 3;

/// What a side does with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Accepted; the side moves to this state (possibly the same one).
    Next(State),
    /// Accepted and ignored (not part of the transcript); the state is unchanged.
    Ignore,
    /// Accepted; the side answers with a warning alert and stays put.
    Refuse(AlertDescription),
    /// Fatal: the side sends this alert and fails for good.
    Fatal(AlertDescription),
    /// The peer ended the connection with a fatal alert: fail, and send nothing.
    PeerFailed,
    /// The peer closed cleanly: no further input is processed.
    Closed,
    /// Not read yet: a private-key operation is out, and the message stays
    /// buffered, undecided, until its result comes back
    /// ([`after_private_key_result`]).
    Held,
}

/// The internal step out of a pending state: the state a server moves to when
/// its private-key operation completes (whatever the result: a failed
/// operation is an invalid ClientKeyExchange, found out at Finished); `None`
/// for states that wait for no operation.
pub fn after_private_key_result(state: State) -> Option<State> {
    match state {
        State::ExpectPrivateKeyResult => Some(State::ExpectChangeCipherSpec),
        State::ExpectCertifiedPrivateKeyResult => Some(State::ExpectCertificateVerify),
        _ => None,
    }
}

/// The table: what `side` does with `msg` in `state`.
pub fn outcome(side: Side, state: State, msg: Message) -> Outcome {
    use Message as M;
    use Outcome::*;
    use State as S;
    // While the private-key operation is out, nothing is read, not even alerts:
    // nothing may be decided before the premaster is (RFC 5246 §7.4.7.1).
    if after_private_key_result(state).is_some() {
        return Held;
    }
    // Alerts are handled alike in every state (RFC 5246 §7.2).
    match msg {
        M::WarningAlert => return Ignore,
        M::FatalAlert => return PeerFailed,
        M::CloseNotify => return Closed,
        _ => {}
    }
    let unexpected = Fatal(AlertDescription::UNEXPECTED_MESSAGE);
    match (side, state, msg) {
        // RFC 5246 §7.3 message flow, server side.
        (Side::Server, S::ExpectClientHello, M::ClientHello) => Next(S::ExpectClientKeyExchange),
        // A server that sent a CertificateRequest: RFC 5246 §7.4.6, the client's
        // Certificate is the first message after ServerHelloDone. An empty one
        // is well-formed; whether to go on without a certificate is the
        // handler's decision (handshake_failure when one is required).
        (Side::ServerWithClientAuth, S::ExpectClientHello, M::ClientHello) => {
            Next(S::ExpectClientCertificate)
        }
        (Side::ServerWithClientAuth, S::ExpectClientCertificate, M::EmptyCertificate) => {
            Next(S::ExpectClientKeyExchange)
        }
        (Side::ServerWithClientAuth, S::ExpectClientCertificate, M::Certificate) => {
            Next(S::ExpectCertifiedClientKeyExchange)
        }
        // RFC 5246 §7.4.8: CertificateVerify immediately follows the
        // ClientKeyExchange, and only after a certificate with signing capability
        // (every certificate rsatls accepts): without it the client is not
        // authenticated, so its absence is unexpected_message, not a fallback.
        // RFC 5246 §7.4.7.1: the premaster is decrypted (or the private-key
        // operation handed out) before anything else is read.
        (Side::ServerWithClientAuth, S::ExpectCertifiedClientKeyExchange, M::ClientKeyExchange) => {
            Next(S::ExpectCertifiedPrivateKeyResult)
        }
        (Side::ServerWithClientAuth, S::ExpectCertificateVerify, M::CertificateVerify) => {
            Next(S::ExpectChangeCipherSpec)
        }
        (
            Side::Server | Side::ServerWithClientAuth,
            S::ExpectClientKeyExchange,
            M::ClientKeyExchange,
        ) => Next(S::ExpectPrivateKeyResult),
        (
            Side::Server | Side::ServerWithClientAuth,
            S::ExpectChangeCipherSpec,
            M::ChangeCipherSpec,
        ) => Next(S::ExpectFinished),
        (Side::Server | Side::ServerWithClientAuth, S::ExpectFinished, M::Finished) => {
            Next(S::Established)
        }
        // RFC 5746 §4.2, RFC 5246 §7.2.2: renegotiation is declined with a warning.
        (Side::Server | Side::ServerWithClientAuth, S::Established, M::ClientHello) => {
            Refuse(AlertDescription::NO_RENEGOTIATION)
        }

        // Client side.
        (Side::Client, S::ExpectServerHello, M::ServerHello) => Next(S::ExpectCertificate),
        (Side::Client, S::ExpectCertificate, M::Certificate) => Next(S::ExpectServerHelloDone),
        // RFC 5246 §7.4.2: with RSA key exchange the server's certificate_list
        // holds the key; an empty one is in place but cannot be accepted.
        (Side::Client, S::ExpectCertificate, M::EmptyCertificate) => {
            Fatal(AlertDescription::BAD_CERTIFICATE)
        }
        // RFC 5246 §7.4.4: at most one CertificateRequest, after Certificate and
        // before ServerHelloDone; the client answers it with an empty Certificate
        // (§7.4.6) when ServerHelloDone comes.
        (Side::Client, S::ExpectServerHelloDone, M::CertificateRequest) => {
            Next(S::ExpectServerHelloDoneAfterRequest)
        }
        (
            Side::Client,
            S::ExpectServerHelloDone | S::ExpectServerHelloDoneAfterRequest,
            M::ServerHelloDone,
        ) => Next(S::ExpectChangeCipherSpec),
        (Side::Client, S::ExpectChangeCipherSpec, M::ChangeCipherSpec) => Next(S::ExpectFinished),
        (Side::Client, S::ExpectFinished, M::Finished) => Next(S::Established),
        // RFC 5246 §7.4.1.1: HelloRequest is ignored during a handshake, and
        // declined with no_renegotiation afterwards.
        (Side::Client, S::Established, M::HelloRequest) => {
            Refuse(AlertDescription::NO_RENEGOTIATION)
        }
        (Side::Client, _, M::HelloRequest) => Ignore,

        (_, S::Established, M::ApplicationData) => Next(S::Established),
        // Everything else is out of order, including application data before the
        // handshake completes and every early ChangeCipherSpec.
        _ => unexpected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_header_maps_to_empty_only_for_the_three_byte_body() {
        // RFC 5246 §7.4.2: an empty certificate_list is its 3-byte length alone.
        assert_eq!(
            Message::of_handshake(HandshakeType::CERTIFICATE, 3),
            Message::EmptyCertificate
        );
        for len in [0, 2, 4, 7, 0xff_ffff] {
            assert_eq!(
                Message::of_handshake(HandshakeType::CERTIFICATE, len),
                Message::Certificate,
                "body of {len} bytes"
            );
        }
    }

    /// The states the table (with the internal step out of a pending state)
    /// reaches from `side`'s initial state.
    fn reachable(side: Side) -> std::collections::BTreeSet<State> {
        let mut seen = std::collections::BTreeSet::from([State::initial(side)]);
        let mut todo = vec![State::initial(side)];
        while let Some(state) = todo.pop() {
            let nexts = Message::ALL
                .iter()
                .filter_map(|&m| match outcome(side, state, m) {
                    Outcome::Next(next) => Some(next),
                    _ => None,
                })
                .chain(after_private_key_result(state));
            for next in nexts {
                if seen.insert(next) {
                    todo.push(next);
                }
            }
        }
        seen
    }

    #[test]
    fn every_state_the_table_reaches_is_listed_and_every_listed_one_is_reached() {
        for side in [Side::Client, Side::Server, Side::ServerWithClientAuth] {
            let listed: std::collections::BTreeSet<State> =
                State::all(side).iter().copied().collect();
            assert_eq!(reachable(side), listed, "{side:?}");
        }
    }

    #[test]
    fn a_client_key_exchange_always_leads_to_a_pending_state_that_holds_everything() {
        // RFC 5246 §7.4.7.1: nothing is decided before the premaster is, so
        // the table has no way past a ClientKeyExchange but the internal step.
        for side in [Side::Server, Side::ServerWithClientAuth] {
            for &state in State::all(side) {
                let Outcome::Next(next) = outcome(side, state, Message::ClientKeyExchange) else {
                    continue;
                };
                let after = after_private_key_result(next);
                assert!(after.is_some(), "{side:?}: {state:?} → {next:?}");
                assert_eq!(next.settled(), after.unwrap());
                for msg in Message::ALL {
                    assert_eq!(outcome(side, next, msg), Outcome::Held, "{msg:?}");
                }
            }
        }
        assert_eq!(
            after_private_key_result(State::ExpectPrivateKeyResult),
            Some(State::ExpectChangeCipherSpec)
        );
        assert_eq!(
            after_private_key_result(State::ExpectCertifiedPrivateKeyResult),
            Some(State::ExpectCertificateVerify)
        );
        // Only the pending states hold input; the client never has one.
        for side in [Side::Client, Side::Server, Side::ServerWithClientAuth] {
            for &state in State::all(side) {
                let holds = Message::ALL
                    .iter()
                    .any(|&m| outcome(side, state, m) == Outcome::Held);
                assert_eq!(holds, after_private_key_result(state).is_some());
                assert!(!(holds && side == Side::Client));
                assert_eq!(state.settled() == state, !holds);
            }
        }
    }

    #[test]
    fn both_certificate_forms_are_out_of_order_in_the_same_states() {
        // The order check (`conn::check_order`) judges from the header; it may
        // tell the two forms apart, but today's table never needs it to: a
        // state either expects a Certificate (and judges an empty one in its
        // handler) or finds both unexpected.
        let unexpected = Outcome::Fatal(AlertDescription::UNEXPECTED_MESSAGE);
        for side in [Side::Client, Side::Server, Side::ServerWithClientAuth] {
            for &state in State::all(side) {
                assert_eq!(
                    outcome(side, state, Message::Certificate) == unexpected,
                    outcome(side, state, Message::EmptyCertificate) == unexpected,
                    "{side:?} in {state:?}"
                );
            }
        }
    }
}
