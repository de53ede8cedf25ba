//! Derives the Mealy machines a state learner should find over the wire
//! (`formal/learning/learn.py`, alphabet in `formal/learning/ALPHABET.md`) from
//! the declarative table in `rsatls::state_table`, writes them as DOT in
//! AALpy's format under `formal/learning/expected/`, and fails if the committed
//! files differ. Regenerate with `RSATLS_BLESS=1 cargo test --test
//! learned_models`; compare with a learned model with
//! `formal/learning/compare.py`.
//!
//! The table says what each side does with a *well-formed* message in each
//! state. A learner sees more than that: the wire mapper's concrete messages
//! (an invalid premaster, a wrong Finished, a hello without EMS, a record type
//! no state knows), what the peer sends back (its flight, the echo of `rsatls
//! serve`, its alerts) and the connection ending. Everything the table leaves
//! to the codec, the record layer, the handlers and the CLI is in one place
//! below: [`rule`] and [`flight`], each rule with its RFC section. The
//! simulation keeps, besides the table state, the one piece of the mapper's
//! context the table cannot know: whether the server decrypted the mapper's
//! premaster or, after an invalid ClientKeyExchange, a random one (then the
//! two sides' keys differ). Which records are encrypted follows from the table
//! state (a side reads with keys from its ExpectFinished on), so it needs no
//! variable of its own.
//!
//! The reachable part of (table state, context) × inputs is explored and then
//! minimized (Moore's partition refinement): two states that answer every input
//! word alike are one state of the machine a learner can find.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;

use rsatls::msgs::enums::AlertDescription as A;
use rsatls::state_table::{Message, Outcome, Side, State, outcome};

/// One machine the learner learns, with its system under learning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Machine {
    /// `rsatls serve` (no client authentication).
    Server,
    /// `rsatls serve --client-ca FILE` (a client certificate is required).
    ServerClientAuth,
    /// `rsatls connect --pin PIN` (no client certificate), its stdin held open.
    Client,
}

impl Machine {
    const ALL: [Machine; 3] = [Self::Server, Self::ServerClientAuth, Self::Client];

    fn file(self) -> &'static str {
        match self {
            Self::Server => "server.dot",
            Self::ServerClientAuth => "server_client_auth.dot",
            Self::Client => "client.dot",
        }
    }

    fn side(self) -> Side {
        match self {
            Self::Server => Side::Server,
            Self::ServerClientAuth => Side::ServerWithClientAuth,
            Self::Client => Side::Client,
        }
    }

    fn inputs(self) -> &'static [&'static str] {
        match self {
            Self::Server | Self::ServerClientAuth => &SERVER_INPUTS,
            Self::Client => &CLIENT_INPUTS,
        }
    }
}

/// ALPHABET.md's server-side inputs (the learner plays the client).
const SERVER_INPUTS: [&str; 13] = [
    "ClientHelloEMS",
    "ClientHelloNoEMS",
    "ClientKeyExchange",
    "ClientKeyExchangeBadPadding",
    "ChangeCipherSpec",
    "Finished",
    "FinishedWrong",
    "ApplicationData",
    "Alert",
    "EmptyCertificate",
    "ClientCertificate",
    "CertificateVerify",
    "UnknownRecord",
];

/// ALPHABET.md's client-side inputs (the learner plays the server).
const CLIENT_INPUTS: [&str; 11] = [
    "ServerHelloEMS",
    "ServerHelloNoEMS",
    "Certificate",
    "CertificateWrongKey",
    "CertificateRequest",
    "ServerHelloDone",
    "ChangeCipherSpec",
    "Finished",
    "FinishedWrong",
    "ApplicationData",
    "Alert",
];

/// The table's message for an abstract input: what the peer's order check
/// (`conn::check_order`) sees. The variants that differ only in content map
/// to the same message; [`rule`] tells them apart.
fn message(input: &str) -> Message {
    match input {
        "ClientHelloEMS" | "ClientHelloNoEMS" => Message::ClientHello,
        "ServerHelloEMS" | "ServerHelloNoEMS" => Message::ServerHello,
        "ClientKeyExchange" | "ClientKeyExchangeBadPadding" => Message::ClientKeyExchange,
        "ChangeCipherSpec" => Message::ChangeCipherSpec,
        "Finished" | "FinishedWrong" => Message::Finished,
        "ApplicationData" => Message::ApplicationData,
        // ALPHABET.md: a warning user_canceled.
        "Alert" => Message::WarningAlert,
        "EmptyCertificate" => Message::EmptyCertificate,
        "ClientCertificate" | "Certificate" | "CertificateWrongKey" => Message::Certificate,
        "CertificateVerify" => Message::CertificateVerify,
        "CertificateRequest" => Message::CertificateRequest,
        "ServerHelloDone" => Message::ServerHelloDone,
        other => panic!("no table message for {other}"),
    }
}

/// What the mapper knows that the table does not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Context {
    /// The server took an invalid ClientKeyExchange: it goes on with a random
    /// premaster, so its keys are not the mapper's.
    random_premaster: bool,
}

/// A state of the simulated connection, as the learner can tell it apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Live(State, Context),
    /// The connection ended (ALPHABET.md: the sink).
    Closed,
}

impl Node {
    /// The state's name in the DOT file: the table's, with the context when it
    /// is not the default one.
    fn name(self) -> String {
        match self {
            Self::Live(state, ctx) => match ctx.random_premaster {
                false => format!("{state:?}"),
                true => format!("{state:?}_RandomPremaster"),
            },
            Self::Closed => "Closed".to_string(),
        }
    }
}

/// What the peer does with `input` in `state`, before the table is asked:
/// the rules of the record layer, which judges a record before the state
/// machine sees its message. `None`: the table decides.
fn record_layer(machine: Machine, state: State, ctx: Context, input: &str) -> Option<Outcome> {
    // RFC 5246 §6: a record of a content type the peer does not know is
    // answered with unexpected_message; rsatls judges the record header, so
    // this comes before decryption and in every state.
    if input == "UnknownRecord" {
        return Some(Outcome::Fatal(A::UNEXPECTED_MESSAGE));
    }
    // RFC 5246 §7.4.7.1: after an invalid premaster the server goes on with a
    // random one, so the mapper's first protected record (after its
    // ChangeCipherSpec, i.e. once the server reads with keys: ExpectFinished
    // on) fails authentication: bad_record_mac (RFC 5246 §6.2.3.3), whatever
    // message it carries.
    let reads_protected = matches!(state, State::ExpectFinished | State::Established);
    if machine != Machine::Client && ctx.random_premaster && reads_protected {
        return Some(Outcome::Fatal(A::BAD_RECORD_MAC));
    }
    None
}

/// The handlers' rules for a message the table accepts (`Next`) but whose
/// contents the peer refuses: `Some(alert)` turns the transition into a fatal
/// alert.
fn handler_refuses(machine: Machine, input: &str) -> Option<A> {
    match (machine, input) {
        // RFC 7627 §5.2/§5.3: rsatls requires the extended master secret by
        // default (`--allow-no-ems` is off), and aborts a full handshake
        // without it with handshake_failure, on either side.
        (_, "ClientHelloNoEMS" | "ServerHelloNoEMS") => Some(A::HANDSHAKE_FAILURE),
        // RFC 5246 §7.4.6: a server that requires a client certificate may
        // answer an empty Certificate with a fatal handshake_failure; rsatls
        // does (`--client-ca` without `--client-auth optional`).
        (Machine::ServerClientAuth, "EmptyCertificate") => Some(A::HANDSHAKE_FAILURE),
        // RFC 5246 §7.4.9, §7.2.2: a Finished whose verify_data does not
        // match is decrypt_error.
        (_, "FinishedWrong") => Some(A::DECRYPT_ERROR),
        // RFC 5246 §7.2.2: a certificate that is not the pinned one is
        // bad_certificate (the client is started with `--pin`).
        (Machine::Client, "CertificateWrongKey") => Some(A::BAD_CERTIFICATE),
        _ => None,
    }
}

/// What the peer sends after accepting `input` in `state` (a `Next`
/// transition), as the mapper names it; empty when it sends nothing.
fn flight(machine: Machine, state: State, input: &str) -> &'static str {
    match (machine, state, input) {
        // RFC 5246 §7.3: the server's first flight; with client
        // authentication it asks for a certificate (§7.4.4). rsatls sends no
        // ServerKeyExchange (RSA key transport, §7.4.3).
        (Machine::Server, State::ExpectClientHello, _) => "ServerHello|Certificate|ServerHelloDone",
        (Machine::ServerClientAuth, State::ExpectClientHello, _) => {
            "ServerHello|Certificate|CertificateRequest|ServerHelloDone"
        }
        // RFC 5246 §7.3: after the client's Finished, the server's
        // ChangeCipherSpec and Finished (no NewSessionTicket: rsatls does not
        // resume).
        (Machine::Server | Machine::ServerClientAuth, State::ExpectFinished, _) => {
            "ChangeCipherSpec|Finished"
        }
        // `rsatls serve` echoes each record's bytes (src/cli/serve.rs).
        (Machine::Server | Machine::ServerClientAuth, State::Established, "ApplicationData") => {
            "ApplicationData"
        }
        // RFC 5246 §7.3: the client's second flight; after a
        // CertificateRequest a client without a certificate sends an empty
        // Certificate first (§7.4.6). All of it readable by the mapper, which
        // learns the premaster from the ClientKeyExchange.
        (Machine::Client, State::ExpectServerHelloDone, "ServerHelloDone") => {
            "ClientKeyExchange|ChangeCipherSpec|Finished"
        }
        (Machine::Client, State::ExpectServerHelloDoneAfterRequest, "ServerHelloDone") => {
            "EmptyCertificate|ClientKeyExchange|ChangeCipherSpec|Finished"
        }
        // The client: its Finished verified, `rsatls connect` waits for its
        // stdin (held open by the mapper) and writes the server's data to its
        // stdout; it sends nothing.
        _ => "",
    }
}

/// One step of the simulated connection: the output symbol and the next node.
fn step(machine: Machine, node: Node, input: &str) -> (String, Node) {
    let Node::Live(state, ctx) = node else {
        // ALPHABET.md: once closed, every input is answered Closed.
        return ("Closed".to_string(), Node::Closed);
    };
    let outcome = record_layer(machine, state, ctx, input)
        .unwrap_or_else(|| outcome(machine.side(), state, message(input)));
    match outcome {
        Outcome::Next(next) => {
            if let Some(alert) = handler_refuses(machine, input) {
                return fatal(alert);
            }
            let out = flight(machine, state, input);
            let ctx = Context {
                // RFC 5246 §7.4.7.1: an invalid premaster is not answered; the
                // server carries on with a random one.
                random_premaster: ctx.random_premaster || input == "ClientKeyExchangeBadPadding",
            };
            // A server with its key in process leaves the pending state at
            // once: the learner never sees it.
            let out = if out.is_empty() { "NoResponse" } else { out };
            (out.to_string(), Node::Live(next.settled(), ctx))
        }
        // RFC 5246 §7.2: a warning alert (user_canceled) is not answered.
        Outcome::Ignore => ("NoResponse".to_string(), node),
        // RFC 5746 §4.2 / RFC 5246 §7.2.2: renegotiation declined with a
        // warning no_renegotiation; the connection stays up.
        Outcome::Refuse(alert) => (format!("Alert(warning,{alert})"), node),
        // RFC 5246 §7.2.2: a fatal alert, then the connection is closed. The
        // alert is readable by the mapper: in plaintext before the peer's
        // ChangeCipherSpec, after it under keys the mapper shares (the peer
        // only gets that far with the mapper's premaster). `rsatls serve`
        // sends no close_notify after a failed session (src/cli/serve.rs:
        // the engine has sent the alert instead).
        Outcome::Fatal(alert) => fatal(alert),
        Outcome::PeerFailed | Outcome::Closed => {
            panic!("{input}: no input of the alphabet is a fatal alert or close_notify")
        }
        Outcome::Held => panic!("{state:?}: a settled state holds nothing"),
    }
}

fn fatal(alert: A) -> (String, Node) {
    (format!("Alert(fatal,{alert})|Closed"), Node::Closed)
}

/// A Mealy machine: states in order of discovery, the first initial.
struct Mealy {
    names: Vec<String>,
    /// `(from, input, output, to)`, by state then input order.
    transitions: Vec<(usize, &'static str, String, usize)>,
}

/// Explores the simulation from the initial state and minimizes the result.
fn derive(machine: Machine) -> Mealy {
    let inputs = machine.inputs();
    let initial = Node::Live(State::initial(machine.side()), Context::default());
    let mut nodes = vec![initial];
    let mut index = HashMap::from([(initial, 0usize)]);
    let mut edges: Vec<Vec<(String, usize)>> = Vec::new();
    let mut todo = VecDeque::from([0usize]);
    while let Some(i) = todo.pop_front() {
        if edges.len() <= i {
            edges.resize(i + 1, Vec::new());
        }
        let mut row = Vec::new();
        for &input in inputs {
            let (out, next) = step(machine, nodes[i], input);
            let j = *index.entry(next).or_insert_with(|| {
                nodes.push(next);
                todo.push_back(nodes.len() - 1);
                nodes.len() - 1
            });
            row.push((out, j));
        }
        edges[i] = row;
    }

    // Moore's algorithm: start from the states' output rows, split by the
    // blocks of the successors until nothing changes.
    let mut block: Vec<usize> = number(
        &(0..nodes.len())
            .map(|i| edges[i].iter().map(|(o, _)| o.clone()).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
    );
    loop {
        let keys: Vec<(usize, Vec<usize>)> = (0..nodes.len())
            .map(|i| (block[i], edges[i].iter().map(|&(_, j)| block[j]).collect()))
            .collect();
        let refined = number(&keys);
        let done = refined.iter().max() == block.iter().max();
        block = refined;
        if done {
            break;
        }
    }

    // One state per block, named and ordered after its first-discovered node.
    let mut order: Vec<usize> = Vec::new();
    let mut rep: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, &b) in block.iter().enumerate() {
        rep.entry(b).or_insert_with(|| {
            order.push(b);
            i
        });
    }
    let position: HashMap<usize, usize> = order.iter().enumerate().map(|(k, &b)| (b, k)).collect();
    let names: Vec<String> = order.iter().map(|b| nodes[rep[b]].name()).collect();
    let mut seen = std::collections::HashSet::new();
    for name in &names {
        assert!(seen.insert(name), "{machine:?}: two states named {name}");
    }
    let mut transitions = Vec::new();
    for (k, b) in order.iter().enumerate() {
        for (input, (out, j)) in inputs.iter().zip(&edges[rep[b]]) {
            transitions.push((k, *input, out.clone(), position[&block[*j]]));
        }
    }
    Mealy { names, transitions }
}

/// Numbers distinct keys 0, 1, … in order of first appearance.
fn number<K: Clone + Eq + std::hash::Hash>(keys: &[K]) -> Vec<usize> {
    let mut ids = HashMap::new();
    keys.iter()
        .map(|k| {
            let next = ids.len();
            *ids.entry(k.clone()).or_insert(next)
        })
        .collect()
}

/// The machine in the DOT dialect AALpy reads
/// (`aalpy.utils.load_automaton_from_file(path, 'mealy')`): one node line
/// per state, one edge per transition labelled `input/output`, and the
/// `__start0` arrow to the initial state.
fn dot(machine: Machine, m: &Mealy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Generated by tests/learned_models.rs from src/state_table.rs: do not edit."
    );
    let _ = writeln!(
        out,
        "digraph {} {{",
        machine.file().trim_end_matches(".dot")
    );
    for name in &m.names {
        let _ = writeln!(out, "{name} [shape=circle label=\"{name}\"];");
    }
    for (from, input, output, to) in &m.transitions {
        let _ = writeln!(
            out,
            "{} -> {} [label=\"{input}/{output}\"];",
            m.names[*from], m.names[*to]
        );
    }
    let _ = writeln!(out, "__start0 [label=\"\" shape=none];");
    let _ = writeln!(out, "__start0 -> {} [label=\"\"];", m.names[0]);
    let _ = writeln!(out, "}}");
    out
}

/// Runs `word` through a derived machine: the outputs.
fn run(m: &Mealy, word: &[&str]) -> Vec<String> {
    let mut state = 0;
    word.iter()
        .map(|input| {
            let (_, _, out, to) = m
                .transitions
                .iter()
                .find(|(from, i, _, _)| *from == state && i == input)
                .unwrap_or_else(|| panic!("no transition for {input}"));
            state = *to;
            out.clone()
        })
        .collect()
}

#[test]
fn the_expected_machines_are_generated_from_the_table() {
    let dir = format!("{}/formal/learning/expected", env!("CARGO_MANIFEST_DIR"));
    for machine in Machine::ALL {
        let model = dot(machine, &derive(machine));
        let path = format!("{dir}/{}", machine.file());
        if std::env::var_os("RSATLS_BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &model).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (regenerate with RSATLS_BLESS=1)"));
        assert!(
            committed == model,
            "{path} is stale: regenerate with RSATLS_BLESS=1 cargo test --test learned_models"
        );
    }
}

#[test]
fn the_server_handshake_and_its_failures_read_as_the_rfc_says() {
    let m = derive(Machine::Server);
    assert_eq!(
        run(
            &m,
            &[
                "ClientHelloEMS",
                "ClientKeyExchange",
                "ChangeCipherSpec",
                "Finished",
                "ApplicationData",
                "ClientHelloEMS",
                "Alert",
                "ApplicationData",
            ]
        ),
        [
            "ServerHello|Certificate|ServerHelloDone",
            "NoResponse",
            "NoResponse",
            "ChangeCipherSpec|Finished",
            "ApplicationData",
            "Alert(warning,no_renegotiation)",
            "NoResponse",
            "ApplicationData",
        ]
    );
    // The Bleichenbacher defence: an invalid premaster is found out only at
    // the first protected record.
    assert_eq!(
        run(
            &m,
            &[
                "ClientHelloEMS",
                "ClientKeyExchangeBadPadding",
                "ChangeCipherSpec",
                "Finished",
                "Finished",
            ]
        ),
        [
            "ServerHello|Certificate|ServerHelloDone",
            "NoResponse",
            "NoResponse",
            "Alert(fatal,bad_record_mac)|Closed",
            "Closed",
        ]
    );
    // The deliberately broken engine: ChangeCipherSpec before the key
    // exchange must be refused.
    assert_eq!(
        run(&m, &["ClientHelloEMS", "ChangeCipherSpec"])[1],
        "Alert(fatal,unexpected_message)|Closed"
    );
    assert_eq!(
        run(&m, &["ClientHelloNoEMS"]),
        ["Alert(fatal,handshake_failure)|Closed"]
    );
}

#[test]
fn client_authentication_adds_the_certificate_states() {
    let m = derive(Machine::ServerClientAuth);
    assert_eq!(
        run(
            &m,
            &[
                "ClientHelloEMS",
                "ClientCertificate",
                "ClientKeyExchange",
                "CertificateVerify",
                "ChangeCipherSpec",
                "Finished",
            ]
        ),
        [
            "ServerHello|Certificate|CertificateRequest|ServerHelloDone",
            "NoResponse",
            "NoResponse",
            "NoResponse",
            "NoResponse",
            "ChangeCipherSpec|Finished",
        ]
    );
    assert_eq!(
        run(&m, &["ClientHelloEMS", "EmptyCertificate"])[1],
        "Alert(fatal,handshake_failure)|Closed"
    );
    // RFC 5246 §7.4.8: no skipping the CertificateVerify.
    assert_eq!(
        run(
            &m,
            &[
                "ClientHelloEMS",
                "ClientCertificate",
                "ClientKeyExchange",
                "ChangeCipherSpec"
            ]
        )[3],
        "Alert(fatal,unexpected_message)|Closed"
    );
}

#[test]
fn the_client_answers_a_certificate_request_with_an_empty_certificate() {
    let m = derive(Machine::Client);
    assert_eq!(
        run(
            &m,
            &[
                "ServerHelloEMS",
                "Certificate",
                "CertificateRequest",
                "ServerHelloDone",
                "ChangeCipherSpec",
                "Finished",
                "ApplicationData",
            ]
        ),
        [
            "NoResponse",
            "NoResponse",
            "NoResponse",
            "EmptyCertificate|ClientKeyExchange|ChangeCipherSpec|Finished",
            "NoResponse",
            "NoResponse",
            "NoResponse",
        ]
    );
    assert_eq!(
        run(&m, &["ServerHelloEMS", "CertificateWrongKey"])[1],
        "Alert(fatal,bad_certificate)|Closed"
    );
}

#[test]
fn every_derived_machine_is_minimal_and_complete() {
    for machine in Machine::ALL {
        let m = derive(machine);
        let n = machine.inputs().len();
        assert_eq!(m.transitions.len(), m.names.len() * n, "{machine:?}");
        // Minimal: no two states answer every input alike and go to the same
        // states (a necessary condition the refinement guarantees).
        for a in 0..m.names.len() {
            for b in a + 1..m.names.len() {
                let row = |s: usize| &m.transitions[s * n..(s + 1) * n];
                assert_ne!(
                    row(a)
                        .iter()
                        .map(|(_, i, o, t)| (*i, o, *t))
                        .collect::<Vec<_>>(),
                    row(b)
                        .iter()
                        .map(|(_, i, o, t)| (*i, o, *t))
                        .collect::<Vec<_>>(),
                    "{machine:?}: {} and {} are one state",
                    m.names[a],
                    m.names[b]
                );
            }
        }
    }
}
