//! dudect's statistics (Reparaz, Balasch and Verbauwhede, "Dude, is my code
//! constant time?", DATE 2017), shared by the timing benches
//! (`benches/cke_dudect.rs`, in process; `benches/cke_loopback.rs`, a server
//! over loopback).
//!
//! Measurements of several *arms* are taken interleaved in random order
//! ([`measure`]), so that drift of the machine hits all arms alike. For each
//! comparison of two arms: Welch's t-test on all measurements, on the
//! measurements below each of [`PERCENTILES`] thresholds (the percentiles
//! `1 - 0.5^(10 (i+1) / 100)` of the two arms' pooled warm-up batch, which crop
//! the right tail that interrupts and cache pollution produce), and a
//! second-order test on the squared deviation from the arm's mean. A test counts
//! once both arms have [`MIN_SAMPLES`] measurements in it. [`report`] gives each
//! comparison's plain t, its largest |t| over the tests that count, which test
//! that was, and there the difference of the means and its standard error.
//! dudect's reading: |t| > 10 is a leak, |t| < 4.5 is no evidence of one.

use std::time::{Duration, Instant};

use rand_core::Rng;

/// Cropping thresholds (dudect's `DUDECT_NUMBER_PERCENTILES`).
pub(crate) const PERCENTILES: usize = 100;
/// A test counts once both of its arms have this many measurements in it.
pub(crate) const MIN_SAMPLES: usize = 500;

/// Interleaved measurements: per arm, the warm-up batch's and the counted ones,
/// in nanoseconds, and how long the counted ones took.
pub(crate) struct Samples {
    pub(crate) warm_up: Vec<Vec<f64>>,
    pub(crate) counted: Vec<Vec<f64>>,
    pub(crate) seconds: f64,
}

/// Runs `one(arm)` (one measurement of arm `arm`, in ns) in batches of `batch`
/// arms drawn at random up front from `order_rng`: one warm-up batch, then
/// batches until `seconds` have passed.
pub(crate) fn measure(
    arms: usize,
    batch: usize,
    seconds: u64,
    order_rng: &mut impl Rng,
    mut one: impl FnMut(usize) -> f64,
) -> Samples {
    let mut order = vec![0usize; batch];
    let mut run = |out: &mut Vec<Vec<f64>>| {
        for o in order.iter_mut() {
            // `arms` is tiny: the modulo bias is irrelevant here.
            *o = order_rng.next_u32() as usize % arms;
        }
        for &i in &order {
            out[i].push(one(i));
        }
    };
    let mut warm_up = vec![Vec::new(); arms];
    run(&mut warm_up);
    let mut counted = vec![Vec::new(); arms];
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        run(&mut counted);
    }
    Samples {
        warm_up,
        counted,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Prints the arms' counts and quantiles, then each comparison `(a, b)` (`b`
/// against the reference `a`).
pub(crate) fn report(names: &[&str], samples: &Samples, pairs: &[(usize, usize)]) {
    let total: usize = samples.counted.iter().map(Vec::len).sum();
    let warm: usize = samples.warm_up.iter().map(Vec::len).sum();
    println!(
        "{total} measurements in {:.0} s ({:.0}/s), after a warm-up of {warm}",
        samples.seconds,
        total as f64 / samples.seconds
    );
    println!(
        "{:<20} {:>6} {:>9} {:>9} {:>9}",
        "arm", "n", "mean ms", "median ms", "p1 ms"
    );
    for (name, x) in names.iter().zip(&samples.counted) {
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted.get((q * sorted.len() as f64) as usize).copied();
        println!(
            "{:<20} {:>6} {:>9.4} {:>9.4} {:>9.4}",
            name,
            x.len(),
            Moments::of(x.iter().copied()).mean / 1e6,
            at(0.5).unwrap_or(f64::NAN) / 1e6,
            at(0.01).unwrap_or(f64::NAN) / 1e6,
        );
    }
    println!(
        "{:<44} {:>7} {:>15} {:>6} {:>9} {:>7}",
        "comparison", "t all", "max |t| (test)", "n", "delta us", "se us"
    );
    for &(a, b) in pairs {
        let name = format!("{} vs {}", names[b], names[a]);
        let c = compare(
            &samples.counted[a],
            &samples.counted[b],
            &samples.warm_up[a],
            &samples.warm_up[b],
        );
        print!("{name:<44} {:>7.2} ", c.all.t);
        match c.best {
            None => println!("{:>15}", "(too few)"),
            Some((test, n, w)) => {
                // ns -> us; the second-order test's values are ns^2 -> us^2.
                let scale = match test {
                    Test::SecondOrder => 1e6,
                    _ => 1e3,
                };
                println!(
                    "{:>8.2} ({:>4}) {n:>6} {:>9.2} {:>7.2}",
                    w.t.abs(),
                    test.name(),
                    w.delta / scale,
                    w.se / scale
                );
            }
        }
    }
}

/// One comparison: the test on all data, and the test with the largest |t|
/// among those that count (with the smaller side's count).
pub(crate) struct Comparison {
    pub(crate) all: Welch,
    pub(crate) best: Option<(Test, usize, Welch)>,
}

/// Every dudect test of `b` against `a`; the warm-up batches give the cropping
/// thresholds.
pub(crate) fn compare(a: &[f64], b: &[f64], warm_a: &[f64], warm_b: &[f64]) -> Comparison {
    let all = welch(
        &Moments::of(a.iter().copied()),
        &Moments::of(b.iter().copied()),
    );
    let mut pooled: Vec<f64> = warm_a.iter().chain(warm_b).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let best = tests(a, b, &pooled)
        .filter(|(_, ma, mb)| ma.n >= MIN_SAMPLES && mb.n >= MIN_SAMPLES)
        .map(|(test, ma, mb)| (test, ma.n.min(mb.n), welch(&ma, &mb)))
        .max_by(|x, y| x.2.t.abs().total_cmp(&y.2.t.abs()));
    Comparison { all, best }
}

/// The smallest standard error of a difference among the first-order tests of
/// `b` against `a` that count: the most sensitive test, whose 4.5 (10) standard
/// errors are the smallest difference of the means the run would have flagged.
pub(crate) fn smallest_se(a: &[f64], b: &[f64], warm_a: &[f64], warm_b: &[f64]) -> Option<f64> {
    let mut pooled: Vec<f64> = warm_a.iter().chain(warm_b).copied().collect();
    pooled.sort_by(f64::total_cmp);
    tests(a, b, &pooled)
        .filter(|(test, ma, mb)| {
            !matches!(test, Test::SecondOrder) && ma.n >= MIN_SAMPLES && mb.n >= MIN_SAMPLES
        })
        .map(|(_, ma, mb)| welch(&ma, &mb).se)
        .min_by(f64::total_cmp)
}

/// One of dudect's tests of a comparison.
#[derive(Clone, Copy)]
pub(crate) enum Test {
    All,
    /// Only measurements below the `i`-th threshold.
    Cropped(usize),
    SecondOrder,
}

impl Test {
    pub(crate) fn name(self) -> String {
        match self {
            Test::All => "all".to_string(),
            Test::Cropped(i) => format!("p{i}"),
            Test::SecondOrder => "2nd".to_string(),
        }
    }
}

/// Every test of arms `a` and `b`, with the moments of both sides;
/// `pooled_warm_up` (sorted) gives the cropping thresholds.
fn tests<'s>(
    a: &'s [f64],
    b: &'s [f64],
    pooled_warm_up: &'s [f64],
) -> impl Iterator<Item = (Test, Moments, Moments)> + 's {
    let threshold = |i: usize| {
        let p = 1.0 - 0.5f64.powf(10.0 * (i + 1) as f64 / PERCENTILES as f64);
        let last = pooled_warm_up.len().saturating_sub(1);
        pooled_warm_up
            .get(((p * pooled_warm_up.len() as f64) as usize).min(last))
            .copied()
            .unwrap_or(f64::INFINITY)
    };
    let below =
        move |x: &'s [f64], limit: f64| Moments::of(x.iter().copied().filter(move |&v| v < limit));
    let second = |x: &[f64]| {
        let mean = Moments::of(x.iter().copied()).mean;
        Moments::of(x.iter().map(|v| (v - mean) * (v - mean)))
    };
    let all = std::iter::once((
        Test::All,
        Moments::of(a.iter().copied()),
        Moments::of(b.iter().copied()),
    ));
    let cropped = (0..PERCENTILES).map(move |i| {
        let limit = threshold(i);
        (Test::Cropped(i), below(a, limit), below(b, limit))
    });
    let second_order = std::iter::once((Test::SecondOrder, second(a), second(b)));
    all.chain(cropped).chain(second_order)
}

/// Count, mean and sum of squared deviations (Welford).
#[derive(Clone, Copy, Default)]
pub(crate) struct Moments {
    pub(crate) n: usize,
    pub(crate) mean: f64,
    m2: f64,
}

impl Moments {
    pub(crate) fn of(xs: impl Iterator<Item = f64>) -> Self {
        let mut m = Moments::default();
        for x in xs {
            m.n += 1;
            let delta = x - m.mean;
            m.mean += delta / m.n as f64;
            m.m2 += delta * (x - m.mean);
        }
        m
    }

    /// Sample variance.
    fn variance(&self) -> f64 {
        self.m2 / (self.n as f64 - 1.0)
    }
}

/// Welch's t statistic of `b` against `a`, the difference of the means and its
/// standard error.
pub(crate) struct Welch {
    pub(crate) t: f64,
    pub(crate) delta: f64,
    pub(crate) se: f64,
}

pub(crate) fn welch(a: &Moments, b: &Moments) -> Welch {
    let delta = b.mean - a.mean;
    let se = (a.variance() / a.n as f64 + b.variance() / b.n as f64).sqrt();
    Welch {
        t: delta / se,
        delta,
        se,
    }
}
