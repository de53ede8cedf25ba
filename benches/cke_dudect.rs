//! A dudect-style timing test of the server's ClientKeyExchange path
//! (`bench_support::decrypt_premaster`, which is `rsa_kx::decrypt_premaster`), in
//! the manner of Reparaz, Balasch and Verbauwhede, "Dude, is my code constant
//! time?" (DATE 2017). Not a CI test: it takes minutes and its verdict depends on
//! the machine. `formal/README.md` ("Side channels") has the results.
//!
//! ```text
//! cargo bench --bench cke_dudect -- [--seconds S] [--bits B]
//! ```
//!
//! One thread times one call at a time with the benches' clock
//! (`common::Clock`): the thread's CPU time by default, wall-clock time with
//! `RSATLS_BENCH_CLOCK=wall`. CPU time leaves out the time the thread spends
//! descheduled, which on a shared machine is by far the largest noise. The arms
//! (path and input class) of one run, `--seconds` long (default 360), one core:
//!
//! - **rsatls**: valid ciphertexts, and random, wrong-length, wrong-version and
//!   bad-padding ones, all through the real path; each invalid class is compared
//!   with the valid one.
//! - **Positive controls**: a deliberately leaky test double, [`leaky_decrypt`],
//!   on the same raw RSA operation. It checks the length before the RSA
//!   operation and the padding the textbook way, returning the fallback at the
//!   first bad byte, and with a good padding derives the master secret `extra`
//!   times (about 1.9 us each; a server that gives up early on a bad
//!   ClientKeyExchange skips that work). Compared: a wrong-length ciphertext
//!   against a valid one (the RSA operation skipped: a gross leak any working
//!   harness must flag with |t| > 10), and bad padding against valid ciphertexts
//!   with `extra` = 0 (only the scan for the separator differs), 10 and 30. They
//!   show how large a difference the run resolves, under the same conditions as
//!   the path under test.
//!
//! The arm of every measurement is drawn at random, so the arms are interleaved
//! and drift of the machine (frequency, other load) hits all of them alike; each
//! arm takes its ciphertexts in turn from a pool of distinct ones, and one
//! ChaCha20 stream supplies the blinding for every call.
//!
//! Statistics as in dudect (`benches/common/dudect.rs`, shared with
//! `benches/cke_loopback.rs`): for each comparison, Welch's t-test on all
//! measurements, on the measurements below each of 100 thresholds (the
//! percentiles `1 - 0.5^(10 (i+1) / 100)` of the two arms' pooled warm-up batch,
//! which crop the right tail that interrupts and cache pollution produce), and a
//! second-order test on the squared deviation from the arm's mean. A test counts
//! once both arms have 500 measurements in it. The report gives each
//! comparison's plain t, its largest |t| over the tests that count, which test
//! that was, and there the difference of the means and its standard error.
//! dudect's reading: |t| > 10 is a leak, |t| < 4.5 is no evidence of one.

mod common;

use common::Clock;
use common::cke::{CLIENT_VERSION, Class, ciphertext};
use common::dudect::{self, Samples};
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use rsatls::bench_support::{SECRET_LEN, decrypt_premaster, extended_master_secret};
use rsatls::crypto::{CryptoProvider, HashAlgorithm, RsaPrivateKey};
use std::hint::black_box;

/// Measurements per batch (the arm sequence of a batch is drawn up front); the
/// first batch is the warm-up.
const BATCH: usize = 1000;
/// Ciphertexts per arm, used in turn.
const POOL: usize = 64;

fn main() {
    let opts = Options::parse();
    let key = common::private_key(opts.bits);
    let key = key.as_ref();
    let clock = Clock::from_env();
    let provider = common::provider();
    eprintln!(
        "cke_dudect: provider {}, RSA-{}, {}, {} s",
        provider.name(),
        opts.bits,
        clock.name(),
        opts.seconds
    );

    // The path under test, then the positive controls, all in one interleaved
    // run so that both see the same machine.
    let mut arms: Vec<Arm> = [
        Class::Valid,
        Class::Random,
        Class::WrongLength,
        Class::WrongVersion,
        Class::BadPadding,
    ]
    .into_iter()
    .map(|c| Arm::new(c.name(), Path::Rsatls, key, c))
    .collect();
    arms.extend([
        Arm::new("leaky valid", Path::Leaky(0), key, Class::Valid),
        Arm::new("leaky valid+10", Path::Leaky(10), key, Class::Valid),
        Arm::new("leaky valid+30", Path::Leaky(30), key, Class::Valid),
        Arm::new("leaky bad-pad", Path::Leaky(0), key, Class::BadPadding),
        Arm::new("leaky wrong-len", Path::Leaky(0), key, Class::WrongLength),
    ]);
    let pairs = [
        (0, 1),
        (0, 2),
        (0, 3),
        (0, 4),
        (5, 9),
        (5, 8),
        (6, 8),
        (7, 8),
    ];
    let samples = measure(&clock, key, &arms, opts.seconds);
    let names: Vec<&str> = arms.iter().map(|a| a.name).collect();
    dudect::report(&names, &samples, &pairs);
}

struct Options {
    seconds: u64,
    bits: usize,
}

impl Options {
    fn parse() -> Self {
        let mut opts = Options {
            seconds: 360,
            bits: 2048,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> u64 {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} needs a number"))
            };
            match arg.as_str() {
                "--seconds" => opts.seconds = value("--seconds"),
                "--bits" => opts.bits = value("--bits") as usize,
                "--bench" => {}
                other => panic!("unknown argument {other}"),
            }
        }
        opts
    }
}

/// The code a measurement runs.
#[derive(Clone, Copy)]
enum Path {
    /// rsatls's path.
    Rsatls,
    /// The leaky test double, with this many master-secret derivations after a
    /// good padding.
    Leaky(usize),
}

/// One arm of the experiment: a path and a pool of inputs of one class.
struct Arm {
    name: &'static str,
    path: Path,
    inputs: Vec<Vec<u8>>,
}

impl Arm {
    fn new(name: &'static str, path: Path, key: &dyn RsaPrivateKey, class: Class) -> Self {
        let mut rng = common::rng(0xd0de + class as u64);
        let inputs = (0..POOL)
            .map(|_| ciphertext(key, class, &mut rng).0)
            .collect();
        Arm { name, path, inputs }
    }
}

/// Interleaved measurements for `seconds` after a warm-up batch, in
/// nanoseconds.
fn measure(clock: &Clock, key: &dyn RsaPrivateKey, arms: &[Arm], seconds: u64) -> Samples {
    let provider = common::provider();
    let provider = provider.as_ref();
    let mut server_rng = common::rng(1);
    let mut order_rng = common::rng(2);
    let mut fallback = [0u8; SECRET_LEN];
    server_rng.fill_bytes(&mut fallback);
    let mut next = vec![0usize; arms.len()];
    dudect::measure(arms.len(), BATCH, seconds, &mut order_rng, |i| {
        let arm = &arms[i];
        let ct = &arm.inputs[next[i]];
        next[i] = (next[i] + 1) % arm.inputs.len();
        let start = clock.now();
        match arm.path {
            Path::Rsatls => {
                black_box(decrypt_premaster(
                    key,
                    black_box(ct),
                    CLIENT_VERSION,
                    &fallback,
                    &mut server_rng,
                ));
            }
            Path::Leaky(extra) => {
                black_box(leaky_decrypt(
                    provider,
                    key,
                    black_box(ct),
                    &fallback,
                    extra,
                    &mut server_rng,
                ));
            }
        }
        let elapsed = clock.now().saturating_sub(start);
        elapsed.as_nanos() as f64
    })
}

/// TEST DOUBLE, deliberately leaky; never use this shape in the crate. The
/// length checked before the RSA operation, PKCS#1 v1.5 unpadding that returns
/// at the first bad byte (as code before the Bleichenbacher countermeasures did),
/// and with a good padding `extra` master-secret derivations that a bad one skips.
fn leaky_decrypt(
    provider: &dyn CryptoProvider,
    key: &dyn RsaPrivateKey,
    ct: &[u8],
    fallback: &[u8; SECRET_LEN],
    extra: usize,
    rng: &mut ChaCha20Rng,
) -> [u8; SECRET_LEN] {
    let Some(premaster) = leaky_unpad(key, ct, rng) else {
        return *fallback;
    };
    for _ in 0..extra {
        let master =
            extended_master_secret(provider, HashAlgorithm::Sha256, &premaster, &[0x11; 32]);
        black_box(&*master);
    }
    premaster
}

fn leaky_unpad(
    key: &dyn RsaPrivateKey,
    ct: &[u8],
    rng: &mut ChaCha20Rng,
) -> Option<[u8; SECRET_LEN]> {
    let k = key.modulus_len();
    if ct.len() != k {
        return None;
    }
    let mut em = vec![0u8; k];
    key.raw_decrypt(ct, &mut em, rng).ok()?;
    if em[0] != 0 || em[1] != 2 {
        return None;
    }
    let sep = 2 + em[2..].iter().position(|&b| b == 0)?;
    let body = &em[sep + 1..];
    if body.len() != SECRET_LEN || body[..2] != CLIENT_VERSION {
        return None;
    }
    body.try_into().ok()
}
