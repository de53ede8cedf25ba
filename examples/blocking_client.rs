//! A minimal blocking client: `rsatls::stream::TlsStream` over a `std` TCP
//! socket. Sends one line, prints what comes back, closes with close_notify.
//!
//! Try it against the echo server (`cargo run --release -- serve`, which prints
//! its `pin` line):
//!
//! ```text
//! cargo run --example blocking_client -- 127.0.0.1:4433 sha256//BASE64
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::stream::TlsStream;
use rsatls::{ClientConfig, ClientConnection, ServerAuth};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(pin)) = (args.next(), args.next()) else {
        return Err("usage: blocking_client HOST:PORT sha256//BASE64".into());
    };

    // The server is authenticated by the SHA-256 pin of its public key.
    let pins = rsatls::pki::parse_pins(&pin)?;
    let config = ClientConfig::new(rsatls::crypto::default_provider(), ServerAuth::Pins(pins));

    // The engine draws every random byte from the RNG it is given: seed it from the OS.
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    let conn = ClientConnection::new(Arc::new(config), None, ChaCha20Rng::from_seed(seed))?;

    // The adapter moves bytes between the engine and the socket.
    let mut tls = TlsStream::new(conn, TcpStream::connect(&addr)?);
    let info = tls.handshake()?;
    println!("connected with {}", info.suite.name);

    tls.write_all(b"hello from the blocking client\n")?;
    tls.close()?; // close_notify: we send no more

    // `read` returns 0 only after the server's close_notify; a bare TCP close
    // would be an UnexpectedEof error (a truncation).
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply)?;
    print!("{}", String::from_utf8_lossy(&reply));
    Ok(())
}
