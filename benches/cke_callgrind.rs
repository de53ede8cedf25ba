//! Runs the server's ClientKeyExchange path (`bench_support::decrypt_premaster`,
//! which is `rsa_kx::decrypt_premaster`) exactly once, on one ciphertext of a
//! chosen class, with fixed seeds: the subject of the instruction-count check
//! `formal/sidechannel/callgrind.sh`, which runs it under `valgrind
//! --tool=callgrind` and counts only what executes inside `decrypt_premaster`.
//!
//! ```text
//! cke_callgrind <class|index> [server-rng-seed]
//! ```
//!
//! Classes: see `common::cke::Class` (`valid`, `random`, `wrong-length`, ...).
//! Everything before the measured call is the same for every class: the key is
//! loaded and one ciphertext of *every* class is built from the same input seed
//! (so the heap is in the same state), and only then is one of them picked. The
//! server's RNG (blinding) is seeded with `server-rng-seed` (default 1). Prints
//! `ok` and exits 0 after checking that a valid ciphertext gave its premaster and
//! any other the fallback; 2 on a wrong result; 64 on a usage error.

mod common;

use std::hint::black_box;
use std::process::ExitCode;

use common::cke::{CLIENT_VERSION, Class, ciphertext};
use rsatls::bench_support::{SECRET_LEN, decrypt_premaster};

/// Seeds the inputs (premaster bytes, padding, random ciphertexts).
const INPUT_SEED: u64 = 0x51de;
/// Modulus size of the committed key used.
const BITS: usize = 2048;

fn main() -> ExitCode {
    // `cargo bench` appends `--bench`; ignore flags.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // A class by name, or by its index in `Class::ALL` (what the script passes:
    // one digit, so argument handling is the same for every class).
    let class = args.first().and_then(|a| match a.parse::<usize>() {
        Ok(i) => Class::ALL.get(i).copied(),
        Err(_) => Class::from_name(a),
    });
    let Some(class) = class else {
        let names: Vec<_> = Class::ALL.iter().map(|c| c.name()).collect();
        eprintln!(
            "usage: cke_callgrind <class|index> [server-rng-seed]\nclasses: {}",
            names.join(" ")
        );
        return ExitCode::from(64);
    };
    let seed = match args.get(1).map(|s| s.parse::<u64>()) {
        None => 1,
        Some(Ok(seed)) => seed,
        Some(Err(_)) => {
            eprintln!("server-rng-seed must be an unsigned integer");
            return ExitCode::from(64);
        }
    };

    let key = common::private_key(BITS);
    let mut input_rng = common::rng(INPUT_SEED);
    let mut fallback = [0u8; SECRET_LEN];
    rand_core::Rng::fill_bytes(&mut input_rng, &mut fallback);
    // Each ciphertext with the premaster the path must return for it.
    let inputs: Vec<_> = Class::ALL
        .iter()
        .map(|&c| {
            let (ct, premaster) = ciphertext(key.as_ref(), c, &mut input_rng);
            (ct, premaster.unwrap_or(fallback))
        })
        .collect();
    let index = Class::ALL.iter().position(|&c| c == class).expect("listed");
    let (ct, want) = &inputs[index];
    let mut server_rng = common::rng(seed);

    // The measured call: callgrind collects inside this symbol only.
    let premaster = decrypt_premaster(
        key.as_ref(),
        black_box(ct),
        CLIENT_VERSION,
        &fallback,
        &mut server_rng,
    );

    if *premaster != *want {
        eprintln!("{}: the path returned the wrong premaster", class.name());
        return ExitCode::from(2);
    }
    // The same output for every class: callgrind counts jumps outside the
    // measured symbol too, so no code before or after the call may branch
    // differently for different classes.
    println!("ok");
    ExitCode::SUCCESS
}
