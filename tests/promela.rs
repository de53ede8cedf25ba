//! Generates the Promela model checked by spin (`formal/spin/*.pml`) from the
//! declarative table in `rsatls::state_table`, and fails if the committed model
//! differs, so the model cannot drift from the code the exploration test holds
//! to the same table. Regenerate with `RSATLS_BLESS=1 cargo test --test promela`;
//! check with `formal/spin/check.sh`.
//!
//! The table says what happens to *well-formed, genuine* messages. The model adds
//! the one thing the table leaves out, message authenticity: every message on the
//! wire carries a flag, 1 when an honest side sent it and 0 when the attacker made
//! it up, and the generated step functions apply the engine's content checks to
//! it — a forged Certificate fails the pin, a forged ClientKeyExchange yields the
//! server's random premaster (so the client's Finished record cannot be opened),
//! and a Finished only verifies when it is genuine and the receiver's transcript
//! holds no forged message.
//!
//! The server is the offloading one: after a ClientKeyExchange it waits in a
//! pending state, reads nothing (the attacker may go on injecting, dropping and
//! reordering), and leaves it by a nondeterministic completion whose result
//! may fail (under attack). A server with the key in process is the special
//! case of a completion taken at once.

use std::fmt::Write;

use rsatls::msgs::enums::AlertDescription;
use rsatls::state_table::{Message, Outcome, Side, State, after_private_key_result, outcome};

/// A model, correct or deliberately broken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// The model of the code.
    Faithful,
    /// The server accepts application data while it still waits for Finished.
    EarlyApplicationData,
    /// The server answers an invalid ClientKeyExchange at once (a Bleichenbacher oracle).
    KeyExchangeOracle,
    /// Finished is accepted without checking it.
    NoFinishedCheck,
    /// A side keeps reading after it sent a fatal alert.
    ContinueAfterFatal,
    /// A server that asked for a certificate accepts application data while it
    /// still waits for the client's CertificateVerify.
    ApplicationDataBeforeCertificateVerify,
    /// A server that asked for a certificate goes on from the client's
    /// ClientKeyExchange to ChangeCipherSpec and Finished without a
    /// CertificateVerify, even after a non-empty Certificate.
    NoCertificateVerify,
    /// The server reads on while its private-key operation is out, deciding
    /// the held messages as in the state after completion.
    DecideWhilePending,
}

impl Variant {
    const ALL: [Variant; 8] = [
        Self::Faithful,
        Self::EarlyApplicationData,
        Self::KeyExchangeOracle,
        Self::NoFinishedCheck,
        Self::ContinueAfterFatal,
        Self::ApplicationDataBeforeCertificateVerify,
        Self::NoCertificateVerify,
        Self::DecideWhilePending,
    ];

    fn file(self) -> &'static str {
        match self {
            Self::Faithful => "handshake.pml",
            Self::EarlyApplicationData => "broken_early_application_data.pml",
            Self::KeyExchangeOracle => "broken_key_exchange_oracle.pml",
            Self::NoFinishedCheck => "broken_no_finished_check.pml",
            Self::ContinueAfterFatal => "broken_continue_after_fatal.pml",
            Self::ApplicationDataBeforeCertificateVerify => {
                "broken_application_data_before_certificate_verify.pml"
            }
            Self::NoCertificateVerify => "broken_no_certificate_verify.pml",
            Self::DecideWhilePending => "broken_decide_while_pending.pml",
        }
    }
}

fn state_name(side: Side, s: State) -> String {
    format!("{}_{s:?}", side_prefix(side))
}

fn side_prefix(side: Side) -> &'static str {
    match side {
        Side::Client => "C",
        Side::Server => "S",
        Side::ServerWithClientAuth => "A",
    }
}

/// The prefix of a process's global variables (`c_failed`, `s_st`, …): the
/// two server machines are alternatives for the one server process.
fn global_prefix(side: Side) -> &'static str {
    match side {
        Side::Client => "c",
        Side::Server | Side::ServerWithClientAuth => "s",
    }
}

fn alert(d: AlertDescription) -> u8 {
    d.0
}

/// The table, as the model sees it (with the variant's one change).
fn table(variant: Variant, side: Side, state: State, msg: Message) -> Outcome {
    match (variant, side, state, msg) {
        (
            Variant::EarlyApplicationData,
            Side::Server,
            State::ExpectFinished,
            Message::ApplicationData,
        ) => Outcome::Next(State::ExpectFinished),
        (
            Variant::ApplicationDataBeforeCertificateVerify,
            Side::ServerWithClientAuth,
            State::ExpectCertificateVerify,
            Message::ApplicationData,
        ) => Outcome::Next(State::ExpectCertificateVerify),
        (
            Variant::NoCertificateVerify,
            Side::ServerWithClientAuth,
            State::ExpectCertifiedClientKeyExchange,
            Message::ClientKeyExchange,
        ) => Outcome::Next(State::ExpectPrivateKeyResult),
        (Variant::DecideWhilePending, Side::Server | Side::ServerWithClientAuth, _, _) => {
            match after_private_key_result(state) {
                Some(after) => outcome(side, after, msg),
                None => outcome(side, state, msg),
            }
        }
        _ => outcome(side, state, msg),
    }
}

/// `out!` statements: queue one output message in the step's output buffer.
fn emit(body: &mut String, msg: &str, value: &str) {
    let _ = write!(body, "out[nout] = {msg}; outv[nout] = {value}; nout++; ");
}

/// What accepting `msg` in `state` does besides changing state: the content
/// checks and the messages sent, as the engines implement them.
fn effects(
    variant: Variant,
    side: Side,
    state: State,
    msg: Message,
    next: State,
    client_has_certificate: bool,
) -> String {
    let mut b = String::new();
    let fatal = |b: &mut String, d: AlertDescription| {
        emit(b, "FatalAlert", &alert(d).to_string());
        b.push_str("fate = FAIL; ");
    };
    match (side, msg) {
        (Side::Server, Message::ClientHello) if state != State::Established => {
            b.push_str("tainted = tainted || !ok; ");
            emit(&mut b, "ServerHello", "1");
            emit(&mut b, "Certificate", "1");
            emit(&mut b, "ServerHelloDone", "1");
        }
        (Side::ServerWithClientAuth, Message::ClientHello) if state != State::Established => {
            b.push_str("tainted = tainted || !ok; ");
            emit(&mut b, "ServerHello", "1");
            emit(&mut b, "Certificate", "1");
            // RFC 5246 §7.4.4.
            emit(&mut b, "CertificateRequest", "1");
            emit(&mut b, "ServerHelloDone", "1");
        }
        // The client's certificate is public: a made-up Certificate message can
        // name the honest client's chain and validate. What it changes is the
        // transcript, which the CertificateVerify and Finished cover.
        (Side::ServerWithClientAuth, Message::EmptyCertificate) => {
            b.push_str("tainted = tainted || !ok; ");
        }
        // What the server will report as its peer: from here on, completing
        // needs a verified CertificateVerify (the property at Established).
        (Side::ServerWithClientAuth, Message::Certificate) => {
            b.push_str("tainted = tainted || !ok; a_cert_seen = 1; ");
        }
        // RFC 5246 §7.4.8: only the holder of the certificate's key can sign;
        // a made-up CertificateVerify does not verify (decrypt_error).
        (Side::ServerWithClientAuth, Message::CertificateVerify) => {
            b.push_str("if :: !ok -> ");
            fatal(&mut b, AlertDescription::DECRYPT_ERROR);
            b.push_str(":: else -> a_cv_ok = 1 fi; ");
        }
        (Side::Server | Side::ServerWithClientAuth, Message::ClientKeyExchange) => {
            // RFC 5246 §7.4.7.1: an invalid premaster is replaced by a random one;
            // nothing is sent either way. The private-key operation is now out.
            b.push_str("tainted = tainted || !ok; pms_bad = !ok; pk_out = 1; ");
            if variant == Variant::KeyExchangeOracle {
                b.push_str("if :: pms_bad -> ");
                fatal(&mut b, AlertDescription::DECRYPT_ERROR);
                b.push_str(":: else -> skip fi; ");
            }
        }
        (Side::Server | Side::ServerWithClientAuth, Message::Finished)
            if variant != Variant::NoFinishedCheck =>
        {
            b.push_str("if :: pms_bad || !ok -> ");
            // A record under unknown keys, or forged: it does not authenticate.
            fatal(&mut b, AlertDescription::BAD_RECORD_MAC);
            b.push_str(":: !pms_bad && ok && tainted -> ");
            // Genuine, but over a transcript with a forged message.
            fatal(&mut b, AlertDescription::DECRYPT_ERROR);
            b.push_str(":: else -> ");
            emit(&mut b, "ChangeCipherSpec", "1");
            emit(&mut b, "Finished", "1");
            b.push_str("fi; ");
        }
        (Side::Server | Side::ServerWithClientAuth, Message::Finished) => {
            emit(&mut b, "ChangeCipherSpec", "1");
            emit(&mut b, "Finished", "1");
        }
        (Side::Client, Message::ServerHello) => b.push_str("tainted = tainted || !ok; "),
        (Side::Client, Message::Certificate) => {
            // The pin (or trusted certificate) check.
            b.push_str("if :: !ok -> ");
            fatal(&mut b, AlertDescription::BAD_CERTIFICATE);
            b.push_str(":: else -> skip fi; ");
        }
        (Side::Client, Message::CertificateRequest) => b.push_str("tainted = tainted || !ok; "),
        (Side::Client, Message::ServerHelloDone) => {
            b.push_str("tainted = tainted || !ok; ");
            let certified =
                state == State::ExpectServerHelloDoneAfterRequest && client_has_certificate;
            if state == State::ExpectServerHelloDoneAfterRequest {
                // RFC 5246 §7.4.6: the requested Certificate: the client's chain
                // when it has one, else empty.
                emit(
                    &mut b,
                    if certified {
                        "Certificate"
                    } else {
                        "EmptyCertificate"
                    },
                    "1",
                );
            }
            emit(&mut b, "ClientKeyExchange", "1");
            if certified {
                // RFC 5246 §7.4.8: right after ClientKeyExchange.
                emit(&mut b, "CertificateVerify", "1");
            }
            emit(&mut b, "ChangeCipherSpec", "1");
            emit(&mut b, "Finished", "1");
        }
        (Side::Client, Message::Finished) if variant != Variant::NoFinishedCheck => {
            b.push_str("if :: !ok -> ");
            fatal(&mut b, AlertDescription::BAD_RECORD_MAC);
            b.push_str(":: ok && tainted -> ");
            fatal(&mut b, AlertDescription::DECRYPT_ERROR);
            b.push_str(":: else -> skip fi; ");
        }
        (_, Message::ApplicationData) => {
            // Property: application data is only ever accepted when established.
            b.push_str("assert(st == ");
            b.push_str(&state_name(side, State::Established));
            b.push_str("); ");
        }
        _ => {}
    }
    let _ = write!(
        b,
        "if :: fate == GO -> st = {} :: else -> skip fi",
        state_name(side, next)
    );
    b
}

/// The step function of one side: an `inline` used by that side's process and,
/// for the server, by the no-oracle product.
fn step(variant: Variant, side: Side) -> String {
    let p = side_prefix(side);
    let mut s = format!(
        "/* One record into the {side:?}: updates st, tainted, pms_bad, pk_out; fills\n   \
         the caller's out/outv/nout with the records sent; sets the caller's fate. */\n\
         inline {}_step(st, m, ok, tainted, pms_bad, pk_out) {{\n  nout = 0; fate = GO;\n",
        p.to_lowercase()
    );
    if side != Side::Client {
        // The table holds every message in a pending state, so those states
        // have no rows: reading one there is a violation in itself.
        s.push_str(
            "  /* Property: nothing is read while the private-key operation is out. */\n  \
             assert(!pk_out);\n",
        );
    }
    s.push_str("  if\n");
    for &state in State::all(side) {
        for msg in Message::ALL {
            let guard = format!("st == {} && m == {msg:?}", state_name(side, state));
            let action = match table(variant, side, state, msg) {
                Outcome::Next(next) => {
                    let plain = effects(variant, side, state, msg, next, false);
                    let certified = effects(variant, side, state, msg, next, true);
                    if plain != certified {
                        // The client's answer to a CertificateRequest depends
                        // on whether it has a certificate: the model's
                        // client-auth configuration gives it one.
                        let _ = writeln!(
                            s,
                            "#ifdef CLIENT_AUTH\n  :: {guard} -> {certified}\n#else\n  :: {guard} -> {plain}\n#endif"
                        );
                        continue;
                    }
                    plain
                }
                Outcome::Ignore => "skip".to_string(),
                Outcome::Refuse(d) => {
                    let mut b = String::new();
                    emit(&mut b, "WarningAlert", &alert(d).to_string());
                    b.push_str("skip");
                    b
                }
                Outcome::Fatal(d) => {
                    let mut b = String::new();
                    emit(&mut b, "FatalAlert", &alert(d).to_string());
                    b.push_str("fate = FAIL");
                    b
                }
                Outcome::PeerFailed => "fate = PEER_FAILED".to_string(),
                Outcome::Closed => "fate = CLOSED".to_string(),
                Outcome::Held => continue,
            };
            let _ = writeln!(s, "  :: {guard} -> {action}");
        }
    }
    s.push_str("  fi\n}\n\n");
    s
}

/// A server's internal step out of its pending states
/// (`state_table::after_private_key_result`), and the test for them.
fn completion(side: Side) -> String {
    let p = side_prefix(side).to_lowercase();
    let pending: Vec<State> = State::all(side)
        .iter()
        .copied()
        .filter(|&st| after_private_key_result(st).is_some())
        .collect();
    let mut s = format!(
        "/* The {side:?}'s private-key operation completes: the internal step out of\n   \
         a pending state. A failed result is an invalid ClientKeyExchange (RFC 5246\n   \
         §7.4.7.1): the premaster is the random fallback. */\n\
         inline {p}_complete(st, pms_bad, pk_out, failed_result) {{\n  if\n"
    );
    for &st in &pending {
        let after = after_private_key_result(st).unwrap();
        let _ = writeln!(
            s,
            "  :: st == {} -> st = {}",
            state_name(side, st),
            state_name(side, after)
        );
    }
    s.push_str("  fi;\n  pk_out = 0;\n  pms_bad = pms_bad || failed_result\n}\n");
    let tests: Vec<String> = pending
        .iter()
        .map(|&st| format!("st == {}", state_name(side, st)))
        .collect();
    let _ = writeln!(s, "#define {p}_pending(st) ({})\n", tests.join(" || "));
    s
}

fn any_message(var: &str) -> String {
    let mut s = String::from("if");
    for m in Message::ALL {
        let _ = write!(s, " :: {var} = {m:?}");
    }
    s.push_str(" fi");
    s
}

/// One side's process: receive, step, send the outputs, until a terminal fate.
fn process(variant: Variant, side: Side) -> String {
    let step = side_prefix(side).to_lowercase();
    let (inbox, outbox) = match side {
        Side::Client => ("to_client", "from_client"),
        Side::Server | Side::ServerWithClientAuth => ("to_server", "from_server"),
    };
    let name = match side {
        Side::Client => "Client",
        Side::Server | Side::ServerWithClientAuth => "Server",
    };
    let established = state_name(side, State::Established);
    let initial = state_name(side, State::initial(side));
    let first = match side {
        Side::Client => format!("  {outbox}!ClientHello,1;\n"),
        Side::Server | Side::ServerWithClientAuth => String::new(),
    };
    let after_fatal = match variant {
        Variant::ContinueAfterFatal => "skip /* broken: keeps reading */",
        _ => "goto failed",
    };
    let lp = global_prefix(side);
    let client_auth_check = match side {
        Side::ServerWithClientAuth => {
            "/* Property (mutual TLS): a client certificate counts only with a verified\n        \
             CertificateVerify (RFC 5246 §7.4.8). */\n     assert(!a_cert_seen || a_cv_ok);\n     "
        }
        _ => "",
    };
    // The server's internal step: while its private-key operation is out it
    // reads nothing and, whenever the scheduler lets it, completes. Under
    // attack the result may be a failure (an invalid ClientKeyExchange).
    let (top, completion) = match side {
        Side::Client => ("RECV", String::new()),
        Side::Server | Side::ServerWithClientAuth => {
            let read_on = match variant {
                Variant::DecideWhilePending => "true -> skip /* broken: reads on while pending */",
                _ => "else -> skip",
            };
            (
                "pk",
                format!(
                    "pk:\n  if\n  :: {step}_pending(st) ->\n     atomic {{\n#ifdef HONEST\n     \
                     pk_failed = 0;\n#else\n     if :: pk_failed = 0 :: pk_failed = 1 fi;\n#endif\n     \
                     {step}_complete(st, pms_bad, pk_out, pk_failed); {lp}_st = st; pk_failed = 0 }}\n  \
                     :: {read_on}\n  fi;\n"
                ),
            )
        }
    };
    format!(
        "proctype {name}() {{\n  byte st = {initial}; mtype m; byte ok; bool tainted = 0; bool pms_bad = 0;\n  \
         bool pk_out = 0; bool pk_failed = 0;\n  \
         mtype out[5]; byte outv[5]; byte nout; byte fate; byte i;\n{first}{completion}\
         RECV:\n  atomic {{\n  {inbox}?m,ok;\n  \
         /* Property: after a fatal alert, nothing more is processed. */\n  assert(!{lp}_failed);\n  \
         {step}_step(st, m, ok, tainted, pms_bad, pk_out);\n  \
         i = 0;\n  do :: i < nout -> {outbox}!out[i],outv[i]; out[i] = 0; outv[i] = 0; i++ :: else -> break od;\n  \
         {lp}_st = st; m = 0; ok = 0; i = 0; nout = 0\n  }};\n  \
         if\n  :: fate == FAIL -> {lp}_failed = 1; {after_fatal}\n  \
         :: fate == PEER_FAILED || fate == CLOSED -> goto stopped\n  :: else -> skip\n  fi;\n  \
         if\n  :: st == {established} ->\n     \
         /* Property: complete only with a verified Finished over an untampered transcript,\n        \
         and (server) with the private-key operation's result in. */\n     \
         assert(!tainted && !pms_bad && !pk_out);\n     {client_auth_check}{lp}_established = 1\n  :: else -> skip\n  fi;\n\
         #ifdef HONEST\n  if :: st == {established} -> goto done :: else -> goto {top} fi;\n#else\n  goto {top};\n#endif\n\
         failed:\n  skip;\n\
         stopped:\n  skip;\n\
         done:\n  skip\n}}\n\n"
    )
}

fn generate(variant: Variant) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/* Generated by tests/promela.rs from rsatls::state_table — do not edit.\n * \
         Variant: {}.\n * Check with formal/spin/check.sh. */\n",
        variant.file()
    );
    s.push_str("mtype = {");
    let names: Vec<String> = Message::ALL.iter().map(|m| format!("{m:?}")).collect();
    s.push_str(&names.join(", "));
    s.push_str("};\n\n");
    for side in [Side::Client, Side::Server, Side::ServerWithClientAuth] {
        for (i, &st) in State::all(side).iter().enumerate() {
            let _ = writeln!(s, "#define {} {i}", state_name(side, st));
        }
    }
    s.push_str(
        "\n/* Waiting for input is a valid end state only under attack (the attacker may\n   \
         starve a side); in the honest run a side stuck waiting is a deadlock. */\n\
         #ifdef HONEST\n#define RECV receive\n#else\n#define RECV end_receive\n#endif\n\
         #define GO 0\n#define FAIL 1\n#define PEER_FAILED 2\n#define CLOSED 3\n\
         #ifndef MAX_TAMPER\n#define MAX_TAMPER 2\n#endif\n#ifndef NO_ORACLE_DEPTH\n#define NO_ORACLE_DEPTH 6\n#endif\n\n\
         /* Messages carry (type, value): value is 1 for a genuine handshake message and\n   \
         0 for one the attacker made up; for alerts it is the description. */\n\
         chan to_client = [4] of { mtype, byte };\nchan from_client = [4] of { mtype, byte };\n\
         chan to_server = [4] of { mtype, byte };\nchan from_server = [4] of { mtype, byte };\n\n\
         byte c_st, s_st;\nbool c_failed, s_failed, c_established, s_established;\n\
         /* The client-authenticating server: a client Certificate came; its CertificateVerify verified. */\n\
         bool a_cert_seen, a_cv_ok;\n\n",
    );
    s.push_str(&step(variant, Side::Client));
    s.push_str(&step(variant, Side::Server));
    s.push_str(&step(variant, Side::ServerWithClientAuth));
    s.push_str(&completion(Side::Server));
    s.push_str(&completion(Side::ServerWithClientAuth));
    s.push_str(&process(variant, Side::Client));
    s.push_str(
        "/* The server asks for client certificates with -DCLIENT_AUTH (and the\n   \
         client has one); otherwise it does not. */\n#ifdef CLIENT_AUTH\n",
    );
    s.push_str(&process(variant, Side::ServerWithClientAuth));
    s.push_str("#else\n");
    s.push_str(&process(variant, Side::Server));
    s.push_str("#endif\n\n");
    let _ = write!(
        s,
        "/* The network. Honest: forwards everything in order. Otherwise an active\n   \
         attacker: forwards, drops, duplicates, delays one message (reordering), and\n   \
         injects messages of any type; duplications, delays and injections together\n   \
         are bounded by MAX_TAMPER, drops are not. */\n\
         proctype Network() {{\n  mtype m; byte v; byte injected = 0;\n  \
         mtype held; byte held_v; bool holding = 0; bool held_to_server; byte tampered = 0;\n\
         end:\n  do\n  :: atomic {{ from_client?m,v ->\n#ifdef HONEST\n     to_server!m,v\n#else\n     \
         if :: to_server!m,v :: skip\n        :: tampered < MAX_TAMPER -> tampered++; to_server!m,v; to_server!m,v\n        \
         :: tampered < MAX_TAMPER && !holding -> tampered++; held = m; held_v = v; held_to_server = 1; holding = 1 fi\n#endif\n     \
         ; m = 0; v = 0 }}\n  \
         :: atomic {{ from_server?m,v ->\n#ifdef HONEST\n     to_client!m,v\n#else\n     \
         if :: to_client!m,v :: skip\n        :: tampered < MAX_TAMPER -> tampered++; to_client!m,v; to_client!m,v\n        \
         :: tampered < MAX_TAMPER && !holding -> tampered++; held = m; held_v = v; held_to_server = 0; holding = 1 fi\n#endif\n     \
         ; m = 0; v = 0 }}\n\
         #ifndef HONEST\n  :: atomic {{ holding && held_to_server -> to_server!held,held_v; holding = 0; held = 0; held_v = 0 }}\n  \
         :: atomic {{ holding && !held_to_server -> to_client!held,held_v; holding = 0; held = 0; held_v = 0 }}\n  \
         :: atomic {{ tampered < MAX_TAMPER -> tampered++; {any};\n     \
         if :: to_server!m,0 :: to_client!m,0 fi; m = 0 }}\n#endif\n  od\n}}\n\n",
        any = any_message("m")
    );
    let _ = write!(
        s,
        "/* Property: the server's answers to a valid and to an invalid ClientKeyExchange\n   \
         are the same until the client's Finished. Two copies of the server step run in\n   \
         lockstep on the same nondeterministic input; only the premaster differs: copy A\n   \
         gets a genuine ClientKeyExchange and its private-key operation succeeds, copy B\n   \
         gets a made-up one, or a failed operation, or both. */\n\
         #ifdef CLIENT_AUTH\n#define server_step a_step\n#define server_complete a_complete\n#define server_pending a_pending\n\
         #define SERVER_START {a0}\n#define SERVER_FINISHED {afin}\n\
         #else\n#define server_step s_step\n#define server_complete s_complete\n#define server_pending s_pending\n\
         #define SERVER_START {s0}\n#define SERVER_FINISHED {fin}\n#endif\n\
         proctype NoOracle() {{\n  byte a = SERVER_START, b = SERVER_START; bool ta = 0, tb = 0, pa = 0, pb = 0, qa = 0, qb = 0, fb = 0;\n  \
         mtype out[4], oa[4]; byte outv[4], va[4]; byte nout, fate, na, fa; mtype m; byte ok, oka, okb; byte i = 0; byte k;\n  \
         do\n  :: i < NO_ORACLE_DEPTH ->\n     if\n     \
         :: server_pending(a) ->\n        \
         if :: fb = 0 :: fb = 1 fi;\n        \
         server_complete(a, pa, qa, 0); server_complete(b, pb, qb, fb);\n        \
         assert(a == b); fb = 0\n     \
         :: else ->\n     {any};\n     if :: ok = 1 :: ok = 0 fi;\n     \
         if :: m == ClientKeyExchange -> oka = 1; if :: okb = 0 :: okb = 1 fi :: else -> oka = ok; okb = ok fi;\n     \
         if :: a == SERVER_FINISHED && m == Finished -> break :: else -> skip fi;\n     \
         server_step(a, m, oka, ta, pa, qa);\n     \
         na = nout; fa = fate; k = 0; do :: k < nout -> oa[k] = out[k]; va[k] = outv[k]; k++ :: else -> break od;\n     \
         server_step(b, m, okb, tb, pb, qb);\n     \
         assert(na == nout && fa == fate && a == b);\n     \
         k = 0; do :: k < nout -> assert(oa[k] == out[k] && va[k] == outv[k]); k++ :: else -> break od;\n     \
         if :: fate != GO -> break :: else -> i++ fi\n     fi\n  :: else -> break\n  od\n}}\n\n\
         init {{\n  atomic {{\n#ifdef NO_ORACLE\n    run NoOracle()\n#else\n    run Client(); run Server(); run Network()\n#endif\n  }}\n\
         #ifdef HONEST\n  /* Property: the honest run completes (spin also reports any deadlock). */\n  \
         /* Blocks, and spin reports an invalid end state, unless both complete. */\n  \
         (c_established && s_established)\n#endif\n}}\n",
        s0 = state_name(Side::Server, State::ExpectClientHello),
        fin = state_name(Side::Server, State::ExpectFinished),
        a0 = state_name(Side::ServerWithClientAuth, State::ExpectClientHello),
        afin = state_name(Side::ServerWithClientAuth, State::ExpectFinished),
        any = any_message("m"),
    );
    s
}

#[test]
fn the_promela_model_is_generated_from_the_table() {
    let dir = format!("{}/formal/spin", env!("CARGO_MANIFEST_DIR"));
    for variant in Variant::ALL {
        let path = format!("{dir}/{}", variant.file());
        let model = generate(variant);
        if std::env::var_os("RSATLS_BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &model).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (regenerate with RSATLS_BLESS=1)"));
        assert!(
            committed == model,
            "{path} is stale: regenerate with RSATLS_BLESS=1 cargo test --test promela"
        );
    }
}

#[test]
fn each_broken_variant_changes_the_model() {
    let faithful = generate(Variant::Faithful);
    for variant in &Variant::ALL[1..] {
        assert_ne!(
            generate(*variant).lines().skip(3).collect::<Vec<_>>(),
            faithful.lines().skip(3).collect::<Vec<_>>()
        );
    }
}
