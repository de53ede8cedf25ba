//! A minimal tokio echo server on `rsatls::tokio`, with the test certificate
//! committed in tests/data (pin in tests/data/rsa2048.pin).
//!
//! ```text
//! cargo run --example tokio_server            # listens on 127.0.0.1:4433
//! openssl s_client -connect 127.0.0.1:4433 -tls1_2 -cipher AES128-GCM-SHA256
//! ```

use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::ServerConfig;
use rsatls::tokio::{Timeouts, accept};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Arc::new(ServerConfig::from_pem_or_der(
        rsatls::crypto::default_provider(),
        include_bytes!("../tests/data/rsa2048.cert.pem"),
        include_bytes!("../tests/data/rsa2048.key.pem"),
    )?);
    // Time lives in the adapter, not the engine: a handshake gets 10 s, and a
    // connection silent for 60 s is closed.
    let timeouts = Timeouts {
        handshake: Some(Duration::from_secs(10)),
        idle: Some(Duration::from_secs(60)),
    };
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:4433".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);

    loop {
        let (tcp, peer) = listener.accept().await?;
        // One RNG per connection, seeded from the OS.
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        let config = config.clone();
        tokio::spawn(async move {
            let echo = async {
                let mut tls = accept(config, tcp, ChaCha20Rng::from_seed(seed), timeouts).await?;
                let mut buf = vec![0u8; 16384];
                // 0 bytes: the client's close_notify. Answer with ours.
                loop {
                    let n = tls.read(&mut buf).await?;
                    if n == 0 {
                        return tls.shutdown().await;
                    }
                    tls.write_all(&buf[..n]).await?;
                    tls.flush().await?;
                }
            };
            if let Err(e) = echo.await {
                // Truncation (UnexpectedEof), timeouts (TimedOut) and TLS alerts.
                eprintln!("{peer}: {e}");
            }
        });
    }
}
