//! The engine without any I/O: a client and a server connection exchange bytes
//! through in-memory buffers, the loop every adapter runs over its transport.
//! Fixed seeds make the run reproducible (never do that for real connections).
//!
//! ```text
//! cargo run --example in_memory
//! ```

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::{
    ClientConfig, ClientConnection, Endpoint, Event, ServerAuth, ServerConfig, ServerConnection,
};

/// Moves every byte `from` has for its peer into `to`, and collects the events
/// that `to` reports (its decrypted data goes into `received`).
fn pump(
    name: &str,
    from: &mut impl Endpoint,
    to: &mut impl Endpoint,
    received: &mut Vec<u8>,
) -> Result<(), rsatls::Error> {
    let mut wire = [0u8; 4096];
    while from.wants_write() {
        let n = from.write_tls(&mut wire);
        let mut fed = 0;
        while fed < n {
            // The engine buffers at most one record: feed, drain events, repeat.
            fed += to.read_tls(&wire[fed..n])?;
            while let Some(event) = to.poll_event()? {
                match event {
                    Event::HandshakeComplete(info) => {
                        println!("{name}: handshake complete, {}", info.suite.name)
                    }
                    Event::ApplicationData(data) => received.extend_from_slice(data),
                    Event::PeerClosed => println!("{name}: peer sent close_notify"),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn main() -> Result<(), rsatls::Error> {
    let provider = rsatls::crypto::default_provider();
    let server_config = ServerConfig::from_pem_or_der(
        provider.clone(),
        include_bytes!("../tests/data/rsa2048.cert.pem"),
        include_bytes!("../tests/data/rsa2048.key.pem"),
    )?;
    let pins = rsatls::pki::parse_pins(include_str!("../tests/data/rsa2048.pin").trim())?;
    let client_config = ClientConfig::new(provider, ServerAuth::Pins(pins));

    let mut client = ClientConnection::new(
        Arc::new(client_config),
        Some("localhost"),
        ChaCha20Rng::seed_from_u64(1),
    )?;
    let mut server = ServerConnection::new(Arc::new(server_config), ChaCha20Rng::seed_from_u64(2));

    // Flights go back and forth until both sides have verified Finished.
    let (mut at_client, mut at_server) = (Vec::new(), Vec::new());
    while !(client.is_established() && server.is_established()) {
        pump("server", &mut client, &mut server, &mut at_server)?;
        pump("client", &mut server, &mut client, &mut at_client)?;
    }

    client.write_app_data(b"ping")?;
    pump("server", &mut client, &mut server, &mut at_server)?;
    server.write_app_data(b"pong")?;
    server.send_close_notify();
    pump("client", &mut server, &mut client, &mut at_client)?;
    client.send_close_notify();
    pump("server", &mut client, &mut server, &mut at_server)?;

    println!(
        "server received {:?}, client received {:?}",
        String::from_utf8_lossy(&at_server),
        String::from_utf8_lossy(&at_client)
    );
    assert_eq!(
        (at_server.as_slice(), at_client.as_slice()),
        (&b"ping"[..], &b"pong"[..])
    );
    Ok(())
}
