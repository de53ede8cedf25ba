//! The load generator and upstream of `scripts/bench-proxy.sh`: an rsatls
//! client on the tokio adapter (server authenticated by pin, TLS 1.2
//! `AES128-GCM-SHA256` only), a TCP echo upstream, and a timer for one raw RSA
//! private-key operation.
//!
//! ```text
//! tls_load echo --listen ADDR                      # TCP echo, prints `listening on ADDR`
//! tls_load handshakes --connect ADDR --pin PIN --concurrency N --seconds S
//! tls_load bulk --connect ADDR --pin PIN --bytes N  # N bytes each way through an echo
//! tls_load idle --connect ADDR --pin PIN --count N --hold S
//! tls_load latency --connect ADDR --pin PIN --clients 64 --request-rate Q
//!          --handshake-rate R --seconds S [--request-bytes 64] [--warmup 1]
//! tls_load raw-op --key FILE.der --seconds S        # PKCS#8 DER, default provider
//! ```
//!
//! `handshakes` opens connections back to back on N tasks: TCP connect, full
//! handshake, close_notify, close. It prints one line of `key=value` pairs:
//! handshakes, errors, seconds, rate, and the p50/p99 latency of TCP connect +
//! handshake in milliseconds. `bulk` writes N bytes and reads them back
//! concurrently on one connection (so a proxy in front of an echo carries N
//! bytes each way) and prints bytes, seconds and MB/s. `idle` establishes N
//! connections (64 at a time), checks each with a one-byte round trip, prints
//! `established N` and keeps them open for S seconds. `raw-op` runs
//! `RsaPrivateKey::raw_decrypt` of the provider `rsatls::crypto::default_provider()`
//! returns (the fast one when built with `--features fast`) and prints its
//! thread CPU time per operation.
//!
//! `latency` (see [`latency`]) measures small requests on established
//! connections while an open-loop generator starts new handshakes at a fixed
//! rate, and prints one `key=value` line of request percentiles and handshake
//! counts.
//!
//! This is a benchmark client: its RNGs are seeded from a counter, not the OS.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::tokio::{Timeouts, connect};
use rsatls::{ClientConfig, ServerAuth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "tls_load/latency.rs"]
mod latency;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// `--name value` pairs after the subcommand.
struct Opts(Vec<String>);

impl Opts {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(String::as_str)
    }
    fn need(&self, name: &str) -> Res<&str> {
        self.get(name)
            .ok_or_else(|| format!("{name} is required").into())
    }
    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Res<T> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("{name}: bad number `{v}`").into()),
        }
    }
}

fn main() -> Res<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return Err("usage: tls_load echo|handshakes|bulk|idle|latency|raw-op [--options]".into());
    }
    let sub = args.remove(0);
    let o = Opts(args);
    if sub == "raw-op" {
        return raw_op(&o);
    }
    // The client side runs on one thread: the script pins it to its own core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match sub.as_str() {
            "echo" => echo(o.need("--listen")?).await,
            "handshakes" => handshakes(&o).await,
            "bulk" => bulk(&o).await,
            "idle" => idle(&o).await,
            "latency" => latency::run(&o).await,
            other => Err(format!("unknown subcommand `{other}`").into()),
        }
    })
}

fn client_config(o: &Opts) -> Res<Arc<ClientConfig>> {
    let pins = rsatls::pki::parse_pins(o.need("--pin")?)?;
    let config = ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins))
        .with_suites(&[&rsatls::suites::TLS_RSA_WITH_AES_128_GCM_SHA256])?;
    Ok(Arc::new(config))
}

async fn open(
    config: &Arc<ClientConfig>,
    addr: &str,
    seed: u64,
) -> Res<rsatls::tokio::TlsStream<rsatls::Client, TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let rng = ChaCha20Rng::seed_from_u64(seed);
    let timeouts = Timeouts {
        handshake: Some(Duration::from_secs(30)),
        idle: None,
    };
    Ok(connect(config.clone(), Some("localhost"), tcp, rng, timeouts).await?)
}

/// A TCP echo server: what every proxy under test forwards to.
async fn echo(listen: &str) -> Res<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (mut sock, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = sock.set_nodelay(true);
            let (mut r, mut w) = sock.split();
            // Copies until EOF, then shuts down the write side (half-close).
            let _ = tokio::io::copy(&mut r, &mut w).await;
            let _ = w.shutdown().await;
        });
    }
}

async fn handshakes(o: &Opts) -> Res<()> {
    let config = client_config(o)?;
    let addr = o.need("--connect")?.to_string();
    let concurrency: usize = o.num("--concurrency", 1)?;
    let seconds: f64 = o.num("--seconds", 5.0)?;
    let start = Instant::now();
    let cpu0 = cpu_time::ProcessTime::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..concurrency {
        let config = config.clone();
        let addr = addr.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let t0 = Instant::now();
                match open(&config, &addr, (t as u64) << 32 | i).await {
                    Ok(mut tls) => {
                        lat.push(t0.elapsed());
                        let _ = tls.shutdown().await;
                    }
                    Err(e) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("handshake: {e}");
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (lat, errors)
        });
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r?;
        lat.extend(l);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i].as_secs_f64() * 1e3
    };
    println!(
        "handshakes={} errors={} seconds={:.3} rate={:.1} p50_ms={:.3} p99_ms={:.3} client_cpu_s={:.3}",
        lat.len(),
        errors,
        secs,
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        cpu0.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn bulk(o: &Opts) -> Res<()> {
    let config = client_config(o)?;
    let total: u64 = o.num("--bytes", 1 << 30)?;
    let tls = open(&config, o.need("--connect")?, 1).await?;
    let start = Instant::now();
    let (mut r, mut w) = tokio::io::split(tls);
    let writer = async {
        let buf = vec![0x5au8; 16384];
        let mut left = total;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            w.write_all(&buf[..n]).await?;
            left -= n as u64;
        }
        w.flush().await?;
        Ok::<_, std::io::Error>(w)
    };
    let reader = async {
        let mut buf = vec![0u8; 65536];
        let mut got = 0u64;
        while got < total {
            let n = r.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        Ok::<_, std::io::Error>(got)
    };
    let (w, got) = tokio::join!(writer, reader);
    let (mut w, got) = (w?, got?);
    let secs = start.elapsed().as_secs_f64();
    let _ = w.shutdown().await;
    if got != total {
        return Err(format!("echoed {got} of {total} bytes").into());
    }
    println!(
        "bytes={got} seconds={secs:.3} mb_per_s={:.1}",
        got as f64 / secs / 1e6
    );
    Ok(())
}

async fn idle(o: &Opts) -> Res<()> {
    let config = client_config(o)?;
    let addr = o.need("--connect")?.to_string();
    let count: usize = o.num("--count", 10_000)?;
    let hold: u64 = o.num("--hold", 30)?;
    let mut open_conns = Vec::with_capacity(count);
    let mut pending = tokio::task::JoinSet::new();
    let mut next = 0;
    while open_conns.len() < count {
        while next < count && pending.len() < 64 {
            let config = config.clone();
            let addr = addr.clone();
            let seed = next as u64;
            pending.spawn(async move {
                let mut tls = open(&config, &addr, seed).await?;
                // One byte there and back: the path to the upstream is up too.
                tls.write_all(b"x").await?;
                tls.flush().await?;
                let mut b = [0u8; 1];
                tls.read_exact(&mut b).await?;
                Ok::<_, Box<dyn Error + Send + Sync>>(tls)
            });
            next += 1;
        }
        match pending.join_next().await {
            Some(r) => open_conns.push(r??),
            None => break,
        }
    }
    println!("established {}", open_conns.len());
    tokio::time::sleep(Duration::from_secs(hold)).await;
    drop(open_conns);
    Ok(())
}

fn raw_op(o: &Opts) -> Res<()> {
    let der = std::fs::read(o.need("--key")?)?;
    let seconds: f64 = o.num("--seconds", 3.0)?;
    let provider = rsatls::crypto::default_provider();
    let key = provider.rsa_private_key(rsatls::crypto::PrivateKeyDer::Pkcs8(&der))?;
    let public = provider.rsa_public_key(&key.public_modulus(), &key.public_exponent())?;
    let k = key.modulus_len();
    // A representative below the modulus, as a ClientKeyExchange carries.
    let mut message = vec![0x42u8; k];
    message[0] = 0;
    message[1] = 2;
    let mut ct = vec![0u8; k];
    public.raw_encrypt(&message, &mut ct)?;
    let mut out = vec![0u8; k];
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    // Warm up, then count operations for `seconds` of this thread's CPU time.
    for _ in 0..20 {
        key.raw_decrypt(&ct, &mut out, &mut rng)?;
    }
    let t0 = cpu_time::ThreadTime::now();
    let mut n = 0u64;
    while t0.elapsed().as_secs_f64() < seconds {
        for _ in 0..10 {
            key.raw_decrypt(&ct, &mut out, &mut rng)?;
        }
        n += 10;
    }
    let cpu = t0.elapsed().as_secs_f64();
    if out != message {
        return Err("raw_decrypt did not invert raw_encrypt".into());
    }
    println!(
        "provider={} ops={n} cpu_ms_per_op={:.4}",
        provider.name(),
        cpu / n as f64 * 1e3
    );
    Ok(())
}
