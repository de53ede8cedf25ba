//! Fuzzing entry points, FUZZING ONLY (feature `fuzzing`, never on in a normal
//! build).
//!
//! Each fuzz target in `fuzz/fuzz_targets/` is a one-line call into one function
//! here, which asserts a property with `assert!`/`panic!`: decoders never panic
//! and re-encode what they decode byte for byte; engines fed arbitrary bytes keep
//! their invariants (sticky errors with exactly one alert, no data before the
//! handshake completes, well-formed and bounded output, no stalls); the record
//! layer opens only what it sealed. `tests/fuzz_corpus.rs` replays every committed
//! corpus file and crash reproducer through the same functions on stable, so a
//! regression fails `cargo test` without nightly or cargo-fuzz. See
//! `fuzz/README.md` for how to run and extend them.
#![doc(hidden)]

mod capture;
mod decoders;
mod engine;
mod fixtures;
mod passive;
mod record;
mod session;

pub use capture::reassembler;
pub use decoders::{
    alert, certificate, certificate_request, certificate_verify, client_hello, client_key_exchange,
    deframe, finished, server_hello,
};
pub use engine::{
    Offload, Outcome, client, client_transparent, server, server_offload, server_transparent,
};
pub use fixtures::{CLIENT_SEED, Crypto, Flight, SERVER_SEED, Side, Variant, transcript};
pub use passive::{passive_seed, passive_session};
pub use record::record_open;
pub use session::{session, session_client_auth};

/// A fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs` and the
/// directories `fuzz/corpus/<name>/`, `fuzz/regressions/<name>/`) and its entry point.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Runs one input, panicking if a property fails.
    pub run: fn(&[u8]),
}

/// Every fuzz target, in the order `cargo fuzz list` shows them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "alert",
        run: alert,
    },
    Target {
        name: "certificate",
        run: certificate,
    },
    Target {
        name: "certificate_request",
        run: certificate_request,
    },
    Target {
        name: "certificate_verify",
        run: certificate_verify,
    },
    Target {
        name: "client",
        run: |data| drop(client(data)),
    },
    Target {
        name: "client_hello",
        run: client_hello,
    },
    Target {
        name: "client_key_exchange",
        run: client_key_exchange,
    },
    Target {
        name: "client_transparent",
        run: |data| drop(client_transparent(data)),
    },
    Target {
        name: "deframe",
        run: deframe,
    },
    Target {
        name: "finished",
        run: finished,
    },
    Target {
        name: "passive_session",
        run: |data| {
            passive_session(data);
        },
    },
    Target {
        name: "reassembler",
        run: reassembler,
    },
    Target {
        name: "record_open",
        run: record_open,
    },
    Target {
        name: "server",
        run: |data| drop(server(data)),
    },
    Target {
        name: "server_hello",
        run: server_hello,
    },
    Target {
        name: "server_offload",
        run: |data| drop(server_offload(data)),
    },
    Target {
        name: "server_transparent",
        run: |data| drop(server_transparent(data)),
    },
    Target {
        name: "session",
        run: |data| drop(session(data)),
    },
    Target {
        name: "session_client_auth",
        run: |data| drop(session_client_auth(data)),
    },
];
