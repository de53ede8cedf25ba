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

use std::fmt::Write;

use rsatls::msgs::enums::AlertDescription;
use rsatls::state_table::{Message, Outcome, Side, State, outcome};

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
    /// Mutual TLS: the model of the code with a server that requires a client
    /// certificate (`ClientAuthMode::Required`) and a client that holds one.
    FaithfulClientAuth,
    /// Mutual TLS: after a non-empty client Certificate the server goes on to
    /// ChangeCipherSpec and Finished without a CertificateVerify.
    NoCertificateVerify,
}

impl Variant {
    const ALL: [Variant; 7] = [
        Self::Faithful,
        Self::EarlyApplicationData,
        Self::KeyExchangeOracle,
        Self::NoFinishedCheck,
        Self::ContinueAfterFatal,
        Self::FaithfulClientAuth,
        Self::NoCertificateVerify,
    ];

    /// Whether the model runs the client-authenticating server and a client
    /// with a certificate.
    fn client_auth(self) -> bool {
        matches!(self, Self::FaithfulClientAuth | Self::NoCertificateVerify)
    }

    /// The server machine of the model.
    fn server(self) -> Side {
        match self.client_auth() {
            true => Side::ServerWithClientAuth,
            false => Side::Server,
        }
    }

    /// The faithful model this variant is a change of.
    fn faithful(self) -> Self {
        match self.client_auth() {
            true => Self::FaithfulClientAuth,
            false => Self::Faithful,
        }
    }

    /// Room for the most records one step sends (a client with a certificate
    /// sends five: Certificate, ClientKeyExchange, CertificateVerify,
    /// ChangeCipherSpec, Finished), and the channels' capacity.
    fn slots(self) -> usize {
        match self.client_auth() {
            true => 6,
            false => 4,
        }
    }

    fn file(self) -> &'static str {
        match self {
            Self::Faithful => "handshake.pml",
            Self::EarlyApplicationData => "broken_early_application_data.pml",
            Self::KeyExchangeOracle => "broken_key_exchange_oracle.pml",
            Self::NoFinishedCheck => "broken_no_finished_check.pml",
            Self::ContinueAfterFatal => "broken_continue_after_fatal.pml",
            Self::FaithfulClientAuth => "handshake_client_auth.pml",
            Self::NoCertificateVerify => "broken_client_auth_no_certificate_verify.pml",
        }
    }
}

fn state_name(side: Side, s: State) -> String {
    format!("{}_{s:?}", side_prefix(side))
}

fn side_prefix(side: Side) -> &'static str {
    match side {
        Side::Client => "C",
        // The model's server is the plain one: the client-authenticating
        // machine is held to the table by tests/explore.rs and tests/client_auth.rs.
        Side::Server | Side::ServerWithClientAuth => "S",
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
            Variant::NoCertificateVerify,
            Side::ServerWithClientAuth,
            State::ExpectCertifiedClientKeyExchange,
            Message::ClientKeyExchange,
        ) => Outcome::Next(State::ExpectChangeCipherSpec),
        _ => outcome(side, state, msg),
    }
}

/// `out!` statements: queue one output message in the step's output buffer.
fn emit(body: &mut String, msg: &str, value: &str) {
    let _ = write!(body, "out[nout] = {msg}; outv[nout] = {value}; nout++; ");
}

/// What accepting `msg` in `state` does besides changing state: the content
/// checks and the messages sent, as the engines implement them.
fn effects(variant: Variant, side: Side, state: State, msg: Message, next: State) -> String {
    let mut b = String::new();
    let fatal = |b: &mut String, d: AlertDescription| {
        emit(b, "FatalAlert", &alert(d).to_string());
        b.push_str("fate = FAIL; ");
    };
    match (side, msg) {
        (Side::Server | Side::ServerWithClientAuth, Message::ClientHello)
            if state != State::Established =>
        {
            b.push_str("tainted = tainted || !ok; ");
            emit(&mut b, "ServerHello", "1");
            emit(&mut b, "Certificate", "1");
            if side == Side::ServerWithClientAuth {
                // RFC 5246 §7.4.4: the CertificateRequest, before ServerHelloDone.
                emit(&mut b, "CertificateRequest", "1");
            }
            emit(&mut b, "ServerHelloDone", "1");
        }
        (Side::ServerWithClientAuth, Message::Certificate) => {
            // The chain check passes for any certificate the CA issued, the
            // attacker's own included: what binds the client is the
            // CertificateVerify, over a transcript that holds this message.
            b.push_str("tainted = tainted || !ok; cert_seen = 1; ");
        }
        (Side::ServerWithClientAuth, Message::EmptyCertificate) => {
            // ClientAuthMode::Required; RFC 5246 §7.4.6: handshake_failure.
            fatal(&mut b, AlertDescription::HANDSHAKE_FAILURE);
        }
        (Side::ServerWithClientAuth, Message::CertificateVerify) => {
            // RFC 5246 §7.4.8: a signature the attacker made up, or a genuine one
            // over a transcript that holds a forged message, does not verify.
            b.push_str("if :: !ok || tainted -> ");
            fatal(&mut b, AlertDescription::DECRYPT_ERROR);
            b.push_str(":: else -> cv_ok = 1 fi; ");
        }
        (Side::Server | Side::ServerWithClientAuth, Message::ClientKeyExchange) => {
            // RFC 5246 §7.4.7.1: an invalid premaster is replaced by a random one;
            // nothing is sent either way.
            b.push_str("tainted = tainted || !ok; pms_bad = !ok; ");
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
            match (state, variant.client_auth()) {
                (State::ExpectServerHelloDoneAfterRequest, true) => {
                    // RFC 5246 §7.4.6, §7.4.8: the client's certificate, then its
                    // CertificateVerify right after the ClientKeyExchange.
                    emit(&mut b, "Certificate", "1");
                    emit(&mut b, "ClientKeyExchange", "1");
                    emit(&mut b, "CertificateVerify", "1");
                }
                (State::ExpectServerHelloDoneAfterRequest, false) => {
                    // RFC 5246 §7.4.6: the requested Certificate, empty.
                    emit(&mut b, "EmptyCertificate", "1");
                    emit(&mut b, "ClientKeyExchange", "1");
                }
                _ => emit(&mut b, "ClientKeyExchange", "1"),
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
    // The client-authenticating server also tracks whether a client certificate
    // came and whether its CertificateVerify verified.
    let extra = match side {
        Side::ServerWithClientAuth => ", cert_seen, cv_ok",
        _ => "",
    };
    let mut s = format!(
        "/* One record into the {side:?}: updates st, tainted, pms_bad{extra}; fills the\n   \
         caller's out/outv/nout with the records sent; sets the caller's fate. */\n\
         inline {}_step(st, m, ok, tainted, pms_bad{extra}) {{\n  nout = 0; fate = GO;\n  if\n",
        p.to_lowercase()
    );
    for &state in State::all(side) {
        for msg in Message::ALL {
            let guard = format!("st == {} && m == {msg:?}", state_name(side, state));
            let action = match table(variant, side, state, msg) {
                Outcome::Next(next) => effects(variant, side, state, msg, next),
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
            };
            let _ = writeln!(s, "  :: {guard} -> {action}");
        }
    }
    s.push_str("  fi\n}\n\n");
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
    let p = side_prefix(side);
    let (inbox, outbox) = match side {
        Side::Client => ("to_client", "from_client"),
        Side::Server | Side::ServerWithClientAuth => ("to_server", "from_server"),
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
    let lp = p.to_lowercase();
    let name = match side {
        Side::Client => "Client",
        Side::Server | Side::ServerWithClientAuth => "Server",
    };
    let (decl, args, check) = match side {
        Side::ServerWithClientAuth => (
            " bool cert_seen = 0; bool cv_ok = 0;",
            ", cert_seen, cv_ok",
            "/* Property (mutual TLS): a client certificate counts only with a verified\n        \
             CertificateVerify (RFC 5246 §7.4.8). */\n     assert(!cert_seen || cv_ok);\n     ",
        ),
        _ => ("", "", ""),
    };
    let n = variant.slots();
    format!(
        "proctype {name}() {{\n  byte st = {initial}; mtype m; byte ok; bool tainted = 0; bool pms_bad = 0;{decl}\n  \
         mtype out[{n}]; byte outv[{n}]; byte nout; byte fate; byte i;\n{first}\
         RECV:\n  atomic {{\n  {inbox}?m,ok;\n  \
         /* Property: after a fatal alert, nothing more is processed. */\n  assert(!{lp}_failed);\n  \
         {lp}_step(st, m, ok, tainted, pms_bad{args});\n  \
         i = 0;\n  do :: i < nout -> {outbox}!out[i],outv[i]; out[i] = 0; outv[i] = 0; i++ :: else -> break od;\n  \
         {lp}_st = st; m = 0; ok = 0; i = 0; nout = 0\n  }};\n  \
         if\n  :: fate == FAIL -> {lp}_failed = 1; {after_fatal}\n  \
         :: fate == PEER_FAILED || fate == CLOSED -> goto stopped\n  :: else -> skip\n  fi;\n  \
         if\n  :: st == {established} ->\n     \
         /* Property: complete only with a verified Finished over an untampered transcript. */\n     \
         assert(!tainted && !pms_bad);\n     {check}{lp}_established = 1\n  :: else -> skip\n  fi;\n\
         #ifdef HONEST\n  if :: st == {established} -> goto done :: else -> goto RECV fi;\n#else\n  goto RECV;\n#endif\n\
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
    let server = variant.server();
    let n = variant.slots();
    for side in [Side::Client, server] {
        for (i, &st) in State::all(side).iter().enumerate() {
            let _ = writeln!(s, "#define {} {i}", state_name(side, st));
        }
    }
    let _ = write!(
        s,
        "\n/* Waiting for input is a valid end state only under attack (the attacker may\n   \
         starve a side); in the honest run a side stuck waiting is a deadlock. */\n\
         #ifdef HONEST\n#define RECV receive\n#else\n#define RECV end_receive\n#endif\n\
         #define GO 0\n#define FAIL 1\n#define PEER_FAILED 2\n#define CLOSED 3\n\
         #ifndef MAX_TAMPER\n#define MAX_TAMPER 2\n#endif\n#ifndef NO_ORACLE_DEPTH\n#define NO_ORACLE_DEPTH 6\n#endif\n\n\
         /* Messages carry (type, value): value is 1 for a genuine handshake message and\n   \
         0 for one the attacker made up; for alerts it is the description. */\n\
         chan to_client = [{n}] of {{ mtype, byte }};\nchan from_client = [{n}] of {{ mtype, byte }};\n\
         chan to_server = [{n}] of {{ mtype, byte }};\nchan from_server = [{n}] of {{ mtype, byte }};\n\n\
         byte c_st, s_st;\nbool c_failed, s_failed, c_established, s_established;\n\n",
    );
    s.push_str(&step(variant, Side::Client));
    s.push_str(&step(variant, server));
    s.push_str(&process(variant, Side::Client));
    s.push_str(&process(variant, server));
    // With client authentication the CertificateVerify, checked before
    // Finished, covers the ClientKeyExchange's bytes: it verifies or not
    // whoever made them, never by whether the premaster inside is well formed.
    // The two copies' ClientKeyExchanges differ in that only, so after it both
    // transcripts are equally genuine (copy B's taint is copy A's) and only
    // pms_bad differs.
    let (decl, args_a, args_b, sync) = match server {
        Side::ServerWithClientAuth => (
            " bool xa = 0, xb = 0, ya = 0, yb = 0;",
            ", xa, ya",
            ", xb, yb",
            "if :: m == ClientKeyExchange -> tb = ta :: else -> skip fi;\n     ",
        ),
        _ => ("", "", "", ""),
    };
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
         lockstep on the same nondeterministic input; only the ClientKeyExchange differs\n   \
         (genuine for copy A, made up for copy B). */\n\
         proctype NoOracle() {{\n  byte a = {s0}, b = {s0}; bool ta = 0, tb = 0, pa = 0, pb = 0;{decl}\n  \
         mtype out[{n}], oa[{n}]; byte outv[{n}], va[{n}]; byte nout, fate, na, fa; mtype m; byte ok, oka, okb; byte i = 0; byte k;\n  \
         do\n  :: i < NO_ORACLE_DEPTH ->\n     {any};\n     if :: ok = 1 :: ok = 0 fi;\n     \
         if :: m == ClientKeyExchange -> oka = 1; okb = 0 :: else -> oka = ok; okb = ok fi;\n     \
         if :: a == {fin} && m == Finished -> break :: else -> skip fi;\n     \
         s_step(a, m, oka, ta, pa{args_a});\n     \
         na = nout; fa = fate; k = 0; do :: k < nout -> oa[k] = out[k]; va[k] = outv[k]; k++ :: else -> break od;\n     \
         s_step(b, m, okb, tb, pb{args_b});\n     {sync}\
         assert(na == nout && fa == fate && a == b);\n     \
         k = 0; do :: k < nout -> assert(oa[k] == out[k] && va[k] == outv[k]); k++ :: else -> break od;\n     \
         if :: fate != GO -> break :: else -> i++ fi\n  :: else -> break\n  od\n}}\n\n\
         init {{\n  atomic {{\n#ifdef NO_ORACLE\n    run NoOracle()\n#else\n    run Client(); run Server(); run Network()\n#endif\n  }}\n\
         #ifdef HONEST\n  /* Property: the honest run completes (spin also reports any deadlock). */\n  \
         /* Blocks, and spin reports an invalid end state, unless both complete. */\n  \
         (c_established && s_established)\n#endif\n}}\n",
        s0 = state_name(server, State::ExpectClientHello),
        fin = state_name(server, State::ExpectFinished),
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
    for variant in Variant::ALL {
        let faithful = variant.faithful();
        if variant == faithful {
            continue;
        }
        assert_ne!(
            generate(variant).lines().skip(3).collect::<Vec<_>>(),
            generate(faithful).lines().skip(3).collect::<Vec<_>>()
        );
    }
}

/// The client-authentication model really runs the other server machine and a
/// client with a certificate, and the plain one does not.
#[test]
fn the_client_auth_model_asks_for_and_sends_a_certificate() {
    let plain = generate(Variant::Faithful);
    let mutual = generate(Variant::FaithfulClientAuth);
    for needle in [
        "out[nout] = CertificateRequest;",
        "out[nout] = CertificateVerify;",
        "assert(!cert_seen || cv_ok);",
        "#define S_ExpectCertificateVerify",
    ] {
        assert!(mutual.contains(needle), "client-auth model lacks {needle}");
        assert!(!plain.contains(needle), "plain model has {needle}");
    }
}
