//! The handshake state machines as data: state × incoming message → outcome.
//!
//! This table is the single description of what each side accepts when. The
//! engines' dispatch (`conn::client`, `conn::server`) is tested against it by
//! exhaustive exploration (`tests/explore.rs`), and the Promela model checked by
//! spin (`formal/handshake.pml`) is generated from it
//! (`tests/explore.rs::the_promela_model_is_generated_from_the_table`), so neither
//! can drift from the code without a test failing.
//!
//! The table describes *well-formed* messages arriving in a given state. What a
//! malformed one does (decode_error, bad_record_mac, …) is the codec's and record
//! layer's business and is tested there. Likewise a well-formed message whose
//! contents cannot be agreed to (no common suite, no common ALPN protocol, a
//! refused certificate) fails inside its handler with that rule's alert; those
//! are tested one rule at a time in `tests/conformance.rs` and `tests/chain.rs`.

use crate::msgs::enums::{AlertDescription, HandshakeType};

/// Which side a table describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client's state machine.
    Client,
    /// The server's state machine.
    Server,
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
    /// Server: waiting for ClientKeyExchange.
    ExpectClientKeyExchange,
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
                Self::ExpectChangeCipherSpec,
                Self::ExpectFinished,
                Self::Established,
            ],
        }
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
            Self::ExpectCertificate => "Certificate",
            Self::ExpectServerHelloDone | Self::ExpectServerHelloDoneAfterRequest => {
                "ServerHelloDone"
            }
            Self::ExpectClientKeyExchange => "ClientKeyExchange",
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
    /// Certificate.
    Certificate,
    /// CertificateRequest.
    CertificateRequest,
    /// ServerHelloDone.
    ServerHelloDone,
    /// ClientKeyExchange.
    ClientKeyExchange,
    /// Finished, with the right verify_data.
    Finished,
    /// A handshake type no state accepts (ServerKeyExchange, CertificateVerify, …).
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
    pub const ALL: [Message; 14] = [
        Self::HelloRequest,
        Self::ClientHello,
        Self::ServerHello,
        Self::Certificate,
        Self::CertificateRequest,
        Self::ServerHelloDone,
        Self::ClientKeyExchange,
        Self::Finished,
        Self::OtherHandshake,
        Self::ChangeCipherSpec,
        Self::ApplicationData,
        Self::WarningAlert,
        Self::FatalAlert,
        Self::CloseNotify,
    ];

    /// The table's name for a handshake message of type `typ`: the one mapping
    /// from wire types to the table's alphabet, used to judge a message's order
    /// from its header before its body is read (`conn::Connection::process`).
    pub fn of_handshake(typ: HandshakeType) -> Self {
        match typ {
            HandshakeType::HELLO_REQUEST => Self::HelloRequest,
            HandshakeType::CLIENT_HELLO => Self::ClientHello,
            HandshakeType::SERVER_HELLO => Self::ServerHello,
            HandshakeType::CERTIFICATE => Self::Certificate,
            HandshakeType::SERVER_HELLO_DONE => Self::ServerHelloDone,
            HandshakeType::CLIENT_KEY_EXCHANGE => Self::ClientKeyExchange,
            HandshakeType::FINISHED => Self::Finished,
            HandshakeType::CERTIFICATE_REQUEST => Self::CertificateRequest,
            // No state accepts the rest: ServerKeyExchange has no place in RSA key
            // transport, and the server never asks for a CertificateVerify.
            _ => Self::OtherHandshake,
        }
    }
}

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
}

/// The table: what `side` does with `msg` in `state`.
pub fn outcome(side: Side, state: State, msg: Message) -> Outcome {
    use Message as M;
    use Outcome::*;
    use State as S;
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
        (Side::Server, S::ExpectClientKeyExchange, M::ClientKeyExchange) => {
            Next(S::ExpectChangeCipherSpec)
        }
        (Side::Server, S::ExpectChangeCipherSpec, M::ChangeCipherSpec) => Next(S::ExpectFinished),
        (Side::Server, S::ExpectFinished, M::Finished) => Next(S::Established),
        // RFC 5746 §4.2, RFC 5246 §7.2.2: renegotiation is declined with a warning.
        (Side::Server, S::Established, M::ClientHello) => {
            Refuse(AlertDescription::NO_RENEGOTIATION)
        }

        // Client side.
        (Side::Client, S::ExpectServerHello, M::ServerHello) => Next(S::ExpectCertificate),
        (Side::Client, S::ExpectCertificate, M::Certificate) => Next(S::ExpectServerHelloDone),
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
