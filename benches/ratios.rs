//! The target ratios, measured interleaved: each ratio's two sides run in
//! alternating blocks (A B B A ...) in one process, so machine load that comes and
//! goes hits both sides alike. This complements the criterion medians, whose
//! benchmarks run one after another.
//!
//! For each ratio it prints the median time of each side, the median of the
//! per-round ratios and a bootstrap 95% confidence interval of that median.
//! `cargo bench --bench ratios [--features fast]`; `RSATLS_RATIO_ROUNDS` sets the
//! number of rounds (default 300). Not timed in CI, never asserted.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Clock, Direction, invalid_ciphertexts, raw, valid_ciphertext, valid_ciphertexts};
use rand_core::Rng;
use rsatls::bench_support::{RECORD_HEADER_LEN, RECORD_OVERHEAD, SECRET_LEN, decrypt_premaster};
use rsatls::crypto::{AeadAlgorithm, GCM_NONCE_LEN};
use rsatls::suites::TLS_RSA_WITH_AES_128_GCM_SHA256;

const CLIENT_VERSION: [u8; 2] = [3, 3];

/// One side of a ratio.
trait Side {
    /// Untimed preparation for the next `run(n)`.
    fn prepare(&mut self, _n: usize) {}
    /// Runs `n` operations (timed).
    fn run(&mut self, n: usize);
}

/// A side with nothing to prepare.
struct Ops<F: FnMut()>(F);

impl<F: FnMut()> Side for Ops<F> {
    fn run(&mut self, n: usize) {
        for _ in 0..n {
            (self.0)();
        }
    }
}

struct Outcome {
    a: Duration,
    b: Duration,
    ratio: f64,
    low: f64,
    high: f64,
}

/// Runs `rounds` rounds of `n` operations of each side, alternating which goes
/// first, and summarises the per-operation times and per-round ratios `a / b`.
fn interleave(
    clock: &Clock,
    rounds: usize,
    n: usize,
    a: &mut dyn Side,
    b: &mut dyn Side,
) -> Outcome {
    let time = |side: &mut dyn Side| {
        side.prepare(n);
        let start = clock.now();
        side.run(n);
        (clock.now() - start) / n as u32
    };
    // Warm-up.
    time(a);
    time(b);
    let mut times_a = Vec::with_capacity(rounds);
    let mut times_b = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (ta, tb) = match round % 2 {
            0 => {
                let ta = time(a);
                (ta, time(b))
            }
            _ => {
                let tb = time(b);
                (time(a), tb)
            }
        };
        times_a.push(ta);
        times_b.push(tb);
    }
    let mut ratios: Vec<f64> = times_a
        .iter()
        .zip(&times_b)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    let ratio = median_f64(&mut ratios);
    // Bootstrap the median of the per-round ratios (deterministic resampling).
    let mut rng = common::rng(99);
    let mut medians: Vec<f64> = (0..2000)
        .map(|_| {
            let mut sample: Vec<f64> = (0..ratios.len())
                .map(|_| ratios[(rng.next_u64() % ratios.len() as u64) as usize])
                .collect();
            median_f64(&mut sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    Outcome {
        a: median(&mut times_a),
        b: median(&mut times_b),
        ratio,
        low: medians[medians.len() * 25 / 1000],
        high: medians[medians.len() * 975 / 1000],
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn median_f64(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    match ns {
        x if x >= 1e6 => format!("{:.3} ms", x / 1e6),
        x if x >= 1e3 => format!("{:.2} µs", x / 1e3),
        x => format!("{x:.0} ns"),
    }
}

/// Prints one table row; `target` says how the ratio is judged.
fn row(what: &str, o: &Outcome, target: Target) {
    let verdict = match target {
        Target::AtMost(t) => match o.ratio <= t {
            true => format!("≤ {t}: met"),
            false => format!("≤ {t}: MISSED"),
        },
        Target::AtLeast(t) => match o.ratio >= t {
            true => format!("≥ {t}: met"),
            false => format!("≥ {t}: MISSED"),
        },
        Target::Control => "(noise floor for the rows below)".to_string(),
        Target::Equal { noise } => {
            let off = (o.ratio - 1.0).abs();
            match (o.low <= 1.0 && 1.0 <= o.high, off <= noise) {
                (true, _) => "= 1 (CI contains 1): met".to_string(),
                (false, true) => format!(
                    "= 1 within the control's noise ({:+.2}% vs ±{:.2}%): met",
                    (o.ratio - 1.0) * 100.0,
                    noise * 100.0
                ),
                (false, false) => format!(
                    "= 1: DIFFERS by {:+.2}%, beyond the control's ±{:.2}%",
                    (o.ratio - 1.0) * 100.0,
                    noise * 100.0
                ),
            }
        }
    };
    println!(
        "| {what} | {} | {} | {:.4} | [{:.4}, {:.4}] | {verdict} |",
        fmt(o.a),
        fmt(o.b),
        o.ratio,
        o.low,
        o.high
    );
}

enum Target {
    AtMost(f64),
    AtLeast(f64),
    /// Equal to 1: the CI contains 1, or the ratio is no further from 1 than the
    /// A/A control (its distance from 1 plus half its CI).
    Equal {
        noise: f64,
    },
    /// The A/A control itself.
    Control,
}

fn main() {
    let clock = Clock::from_env();
    let provider = common::provider();
    let rounds: usize = std::env::var("RSATLS_RATIO_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    println!(
        "## Ratios, interleaved ({} provider, {}, {rounds} rounds)\n\n\
         | ratio (A ÷ B) | A median | B median | A ÷ B (median of rounds) | 95% CI | target |\n\
         |---|---:|---:|---:|---:|---|",
        provider.name(),
        clock.name()
    );

    // Valid ÷ invalid ClientKeyExchange: the same path must cost the same.
    let premaster = {
        let mut p = [0u8; SECRET_LEN];
        common::rng(1).fill_bytes(&mut p);
        p[..2].copy_from_slice(&CLIENT_VERSION);
        p
    };
    let fallback = [0x5a; SECRET_LEN];
    // Control first: valid ÷ valid (two different sets of valid ciphertexts).
    // Nothing differs between its sides but the values, so how far it strays from
    // 1 is this method's noise floor on this machine, in this run.
    let noise = {
        let key = common::private_key(2048);
        let mut set = valid_ciphertexts(key.as_ref(), &premaster, 32);
        let other = set.split_off(16);
        let (mut next_a, mut next_b) = (set.iter().cycle(), other.iter().cycle());
        let mut rng_a = common::rng(3);
        let mut rng_b = common::rng(4);
        let key = key.as_ref();
        let o = interleave(
            &clock,
            rounds,
            1,
            &mut Ops(|| {
                let ct = next_a.next().unwrap();
                let got = decrypt_premaster(key, ct, CLIENT_VERSION, &fallback, &mut rng_a);
                assert!(*got == premaster);
            }),
            &mut Ops(|| {
                let ct = next_b.next().unwrap();
                let got = decrypt_premaster(key, ct, CLIENT_VERSION, &fallback, &mut rng_b);
                assert!(*got == premaster);
            }),
        );
        row(
            "control: ClientKeyExchange valid ÷ valid (other ciphertexts), rsa2048",
            &o,
            Target::Control,
        );
        (o.ratio - 1.0).abs() + (o.high - o.low) / 2.0
    };

    for bits in common::RSA_BITS {
        let key = common::private_key(bits);
        // Several ciphertexts of each kind, taken in turn, so that a difference
        // found belongs to the kind and not to one particular value.
        let good = valid_ciphertexts(key.as_ref(), &premaster, 16);
        let bad = invalid_ciphertexts(key.as_ref(), 16);
        let (mut next_good, mut next_bad) = (good.iter().cycle(), bad.iter().cycle());
        let mut rng_a = common::rng(3);
        let mut rng_b = common::rng(4);
        let key = key.as_ref();
        let o = interleave(
            &clock,
            rounds * 2048 / bits,
            1,
            &mut Ops(|| {
                let ct = next_good.next().unwrap();
                let got = decrypt_premaster(key, ct, CLIENT_VERSION, &fallback, &mut rng_a);
                assert!(*got == premaster);
            }),
            &mut Ops(|| {
                let ct = next_bad.next().unwrap();
                let got = decrypt_premaster(key, ct, CLIENT_VERSION, &fallback, &mut rng_b);
                assert!(*got == fallback);
            }),
        );
        row(
            &format!("ClientKeyExchange valid ÷ invalid, rsa{bits}"),
            &o,
            Target::Equal { noise },
        );
    }

    // Server CPU per handshake ÷ the raw private-key operation.
    let config = common::server_config(&TLS_RSA_WITH_AES_128_GCM_SHA256);
    let flights = common::record_client_flights(&config, 2);
    let key = common::private_key(2048);
    let ct = valid_ciphertext(key.as_ref(), &premaster);
    let mut out = vec![0u8; key.modulus_len()];
    let mut wire = Vec::with_capacity(8192);
    let mut rng = common::rng(5);
    let key = key.as_ref();
    let o = interleave(
        &clock,
        rounds,
        1,
        &mut Ops(|| {
            black_box(common::server_handshake(&config, 2, &flights, &mut wire));
        }),
        &mut Ops(|| key.raw_decrypt(&ct, &mut out, &mut rng).unwrap()),
    );
    row(
        "server handshake ÷ raw private op, rsa2048",
        &o,
        Target::AtMost(1.05),
    );

    // Record layer ÷ raw AEAD at 16 KiB: throughput ratio = raw time ÷ record time.
    const SIZE: usize = 16384;
    const BLOCK: usize = 32;
    for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm] {
        let name = match alg {
            AeadAlgorithm::Aes128Gcm => "aes128",
            AeadAlgorithm::Aes256Gcm => "aes256",
        };
        let key = vec![0x42; alg.key_len()];
        let seal = raw::sealer(alg, &key);
        let plaintext = vec![0x17u8; SIZE];
        let mut raw_buf = plaintext.clone();
        let nonce = [9u8; GCM_NONCE_LEN];
        let mut raw_side = Ops(|| {
            black_box(seal(&nonce, &[0u8; 13], &mut raw_buf));
        });

        let mut dir = Direction::new(alg);
        let mut out = vec![0u8; RECORD_HEADER_LEN + RECORD_OVERHEAD + SIZE];
        let o = interleave(
            &clock,
            rounds,
            BLOCK,
            &mut raw_side,
            &mut Ops(|| {
                dir.next().seal(&plaintext, &mut out).unwrap();
            }),
        );
        row(
            &format!(
                "record seal throughput ÷ raw AEAD seal throughput, {name}/16384 (A = raw, B = record)"
            ),
            &o,
            Target::AtLeast(0.95),
        );

        let mut open = OpenSide {
            sender: Direction::new(alg),
            receiver: Direction::new(alg),
            records: (0..BLOCK)
                .map(|_| vec![0u8; RECORD_HEADER_LEN + RECORD_OVERHEAD + SIZE])
                .collect(),
            plaintext: &plaintext,
        };
        let o = interleave(&clock, rounds, BLOCK, &mut raw_side, &mut open);
        row(
            &format!(
                "record open throughput ÷ raw AEAD seal throughput, {name}/16384 (A = raw, B = record)"
            ),
            &o,
            Target::AtLeast(0.95),
        );
    }
    println!();
}

/// Opens records in place; `prepare` seals them, in step, outside the timing.
struct OpenSide<'a> {
    sender: Direction,
    receiver: Direction,
    records: Vec<Vec<u8>>,
    plaintext: &'a [u8],
}

impl Side for OpenSide<'_> {
    fn prepare(&mut self, n: usize) {
        for r in self.records.iter_mut().take(n) {
            self.sender.next().seal(self.plaintext, r).unwrap();
        }
    }

    fn run(&mut self, n: usize) {
        for r in self.records.iter_mut().take(n) {
            black_box(
                self.receiver
                    .next()
                    .open(&mut r[RECORD_HEADER_LEN..])
                    .unwrap(),
            );
        }
    }
}
