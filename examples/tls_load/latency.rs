//! `tls_load latency`: the latency of small requests on established
//! connections while new handshakes arrive at a fixed rate.
//!
//! ```text
//! tls_load latency --connect ADDR --pin PIN [--clients 64] [--request-rate 50]
//!     [--request-bytes 64] [--handshake-rate 0] [--seconds 10] [--warmup 1]
//!     [--max-inflight 1024]
//! ```
//!
//! First `--clients` connections are opened and each is checked with one
//! round trip. Then, for `--warmup` plus `--seconds` seconds, two things run
//! side by side on the (one-thread) client:
//!
//! - **Requests.** Every client writes `--request-bytes` bytes and reads as
//!   many back (the server under test echoes them, or forwards them to an
//!   echo), `--request-rate` times a second, on a schedule fixed in advance
//!   (open loop, the clients' phases spread evenly over one interval). A
//!   request whose slot comes while the previous one is still out is sent as
//!   soon as that one returns and is timed *from its slot*, so a server that
//!   stalls is charged for the requests it delayed (coordinated omission, as
//!   wrk2 corrects for it). A request sent after an idle wait is timed from
//!   the moment it is sent, so tokio's 1 ms timer granularity is not charged
//!   to the server. `--request-rate 0`: back to back (closed loop).
//! - **Handshakes.** A generator starts a new connection (TCP connect, full
//!   handshake, close_notify, close) every 1/`--handshake-rate` seconds by the
//!   clock, whether or not earlier ones have finished. A slot that finds
//!   `--max-inflight` handshakes still running is skipped (`hs_skipped`); one
//!   that starts more than 10 ms after its slot is counted `hs_late` (the
//!   client itself fell behind: its figures are then suspect). Handshake
//!   latency is from the slot to the end of the handshake.
//!
//! Only requests sent and handshakes slotted after the warm-up count. The
//! output is one line of `key=value` pairs: requests, req_errors, req_rate,
//! req_p50_ms, req_p99_ms, req_p999_ms, req_max_ms, hs_slots, hs_ok,
//! hs_failed, hs_late, hs_skipped, hs_rate (completed per second of the
//! measured window), hs_p50_ms, hs_p99_ms, seconds and client_cpu_s.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio::time::sleep_until;

use super::{Opts, Res, client_config, open};

/// A slot started this long after its time means the client fell behind.
const LATE: Duration = Duration::from_millis(10);

/// The measured window and its warm-up, shared by every task.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    measure_from: Instant,
    end: Instant,
}

pub(super) async fn run(o: &Opts) -> Res<()> {
    let config = client_config(o)?;
    let addr = o.need("--connect")?.to_string();
    let clients: usize = o.num("--clients", 64)?;
    let request_rate: f64 = o.num("--request-rate", 50.0)?;
    let bytes: usize = o.num("--request-bytes", 64)?;
    let hs_rate: f64 = o.num("--handshake-rate", 0.0)?;
    let seconds: f64 = o.num("--seconds", 10.0)?;
    let warmup: f64 = o.num("--warmup", 1.0)?;
    let max_inflight: usize = o.num("--max-inflight", 1024)?;
    if clients == 0 || bytes == 0 || seconds <= 0.0 || request_rate < 0.0 || hs_rate < 0.0 {
        return Err("need --clients > 0, --request-bytes > 0, --seconds > 0, rates >= 0".into());
    }

    let mut conns = Vec::with_capacity(clients);
    for i in 0..clients {
        let mut tls = open(&config, &addr, 1 << 40 | i as u64).await?;
        tls.write_all(b"x").await?;
        tls.flush().await?;
        tls.read_exact(&mut [0u8; 1]).await?;
        conns.push(tls);
    }

    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + Duration::from_secs_f64(warmup);
    let w = Window {
        start,
        measure_from,
        end: measure_from + Duration::from_secs_f64(seconds),
    };
    let cpu0 = cpu_time::ProcessTime::now();
    let interval = (request_rate > 0.0).then(|| Duration::from_secs_f64(1.0 / request_rate));
    let mut requesters = JoinSet::new();
    for (i, tls) in conns.into_iter().enumerate() {
        let phase = interval.map_or(Duration::ZERO, |iv| iv.mul_f64(i as f64 / clients as f64));
        requesters.spawn(requests(tls, bytes, interval, phase, w));
    }

    let hs = handshakes(&config, &addr, hs_rate, max_inflight, w).await;

    let mut lat = Vec::new();
    let mut req_errors = 0u64;
    while let Some(r) = requesters.join_next().await {
        let (l, e) = r?;
        lat.extend(l);
        req_errors += e;
    }
    let cpu = cpu0.elapsed().as_secs_f64();
    lat.sort_unstable();
    let mut hs_lat = hs.latencies;
    hs_lat.sort_unstable();
    println!(
        "requests={} req_errors={req_errors} req_rate={:.1} req_p50_ms={:.3} req_p99_ms={:.3} \
         req_p999_ms={:.3} req_max_ms={:.3} hs_slots={} hs_ok={} hs_failed={} hs_late={} \
         hs_skipped={} hs_rate={:.1} hs_p50_ms={:.3} hs_p99_ms={:.3} seconds={seconds:.3} \
         client_cpu_s={cpu:.3}",
        lat.len(),
        lat.len() as f64 / seconds,
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        pct(&lat, 0.999),
        pct(&lat, 1.0),
        hs.slots,
        hs_lat.len(),
        hs.failed,
        hs.late,
        hs.skipped,
        hs_lat.len() as f64 / seconds,
        pct(&hs_lat, 0.50),
        pct(&hs_lat, 0.99),
    );
    Ok(())
}

/// The `p` quantile of sorted samples in µs, in ms (nearest rank).
fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1e3
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// One established client's requests; returns the measured latencies (µs)
/// and 1 if the connection failed (it then stops).
async fn requests<S>(
    mut tls: S,
    bytes: usize,
    interval: Option<Duration>,
    phase: Duration,
    w: Window,
) -> (Vec<u32>, u64)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let request = vec![0x61u8; bytes];
    let mut answer = vec![0u8; bytes];
    let mut lat = Vec::new();
    let mut slot = w.start + phase;
    let mut last_done = Instant::now();
    loop {
        let timed_from = match interval {
            Some(iv) => {
                if slot >= w.end {
                    break;
                }
                let from = if last_done < slot {
                    // Idle until the slot: time from the actual send.
                    sleep_until(slot.into()).await;
                    Instant::now()
                } else {
                    // Behind: the delay since the slot is the server's.
                    slot
                };
                slot += iv;
                from
            }
            None => {
                let now = Instant::now();
                if now < w.start {
                    sleep_until(w.start.into()).await;
                    continue;
                }
                if now >= w.end {
                    break;
                }
                now
            }
        };
        let round_trip = async {
            tls.write_all(&request).await?;
            tls.flush().await?;
            tls.read_exact(&mut answer).await?;
            Ok::<_, std::io::Error>(())
        };
        if let Err(e) = round_trip.await {
            eprintln!("request: {e}");
            return (lat, 1);
        }
        last_done = Instant::now();
        if timed_from >= w.measure_from {
            lat.push(micros(last_done - timed_from));
        }
    }
    let _ = tls.shutdown().await;
    (lat, 0)
}

struct Handshakes {
    slots: u64,
    latencies: Vec<u32>,
    failed: u64,
    late: u64,
    skipped: u64,
}

/// The open-loop handshake generator: one new connection per 1/`rate` s.
async fn handshakes(
    config: &std::sync::Arc<rsatls::ClientConfig>,
    addr: &str,
    rate: f64,
    max_inflight: usize,
    w: Window,
) -> Handshakes {
    let mut out = Handshakes {
        slots: 0,
        latencies: Vec::new(),
        failed: 0,
        late: 0,
        skipped: 0,
    };
    let mut running = JoinSet::new();
    if rate > 0.0 {
        let interval = Duration::from_secs_f64(1.0 / rate);
        for i in 0u64.. {
            let slot = w.start + interval.mul_f64(i as f64);
            if slot >= w.end {
                break;
            }
            if slot > Instant::now() {
                sleep_until(slot.into()).await;
            }
            while let Some(r) = running.try_join_next() {
                out.collect(r);
            }
            let measured = slot >= w.measure_from;
            if running.len() >= max_inflight {
                out.skipped += u64::from(measured);
                continue;
            }
            if measured {
                out.slots += 1;
                out.late += u64::from(slot.elapsed() > LATE);
            }
            let config = config.clone();
            let addr = addr.to_string();
            running.spawn(async move {
                let result = open(&config, &addr, 2 << 40 | i).await;
                let took = slot.elapsed();
                match result {
                    Ok(mut tls) => {
                        let _ = tls.shutdown().await;
                        measured.then_some(Ok(took))
                    }
                    Err(e) => {
                        eprintln!("handshake: {e}");
                        measured.then_some(Err(()))
                    }
                }
            });
        }
    }
    while let Some(r) = running.join_next().await {
        out.collect(r);
    }
    out
}

/// What one handshake task returns: `None` if its slot was in the warm-up.
type Outcome = Result<Option<Result<Duration, ()>>, tokio::task::JoinError>;

impl Handshakes {
    fn collect(&mut self, r: Outcome) {
        match r {
            Ok(None) => {}
            Ok(Some(Ok(d))) => self.latencies.push(micros(d)),
            Ok(Some(Err(()))) | Err(_) => self.failed += 1,
        }
    }
}
