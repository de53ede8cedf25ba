//! A server connection whose private-key operations run elsewhere: a "key
//! server" thread receives each [`PrivateKeyOperation`] over a channel, runs
//! it and sends the result back, while the connection holds its input. The
//! client is in memory, as in `examples/in_memory.rs`. Exits 0 only if the
//! data went both ways.
//!
//! ```text
//! cargo run --release --example key_server
//! ```
//!
//! A real key server would hold the key itself (a token, another machine) and
//! need only [`PrivateKeyOperation::input`]; the engine unpads the answer in
//! constant time, so the key server learns nothing about the client's
//! premaster, not even whether its padding was valid.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::crypto::CryptoError;
use rsatls::{
    ClientConfig, ClientConnection, Endpoint, Event, PrivateKeyOperation, ServerAuth, ServerConfig,
    ServerConnection,
};
use zeroize::Zeroizing;

/// What the key server sends back: the operation's output, or its failure.
type KeyResult = Result<Zeroizing<Vec<u8>>, CryptoError>;

/// The key server: runs every operation it receives until the channel closes.
fn key_server(requests: mpsc::Receiver<PrivateKeyOperation>, results: mpsc::Sender<KeyResult>) {
    for op in requests {
        println!(
            "key server: RSA decryption of {} bytes (certificate {})",
            op.input().len(),
            op.certificate_index()
        );
        if results.send(op.run()).is_err() {
            return;
        }
    }
    println!("key server: no more requests");
}

/// The caller's side of the offloaded operation, as an event loop would hold it.
struct KeyClient {
    requests: mpsc::Sender<PrivateKeyOperation>,
    results: mpsc::Receiver<KeyResult>,
}

/// Moves every byte `from` has for its peer into `to`, and collects the events
/// that `to` reports. A private-key operation `to` asks for goes to the key
/// server; its answer is handed back before feeding more (a real event loop
/// would go on serving other connections meanwhile and complete when the
/// answer arrives).
fn pump(
    name: &str,
    from: &mut impl Endpoint,
    to: &mut Side<'_>,
    received: &mut Vec<u8>,
) -> Result<(), rsatls::Error> {
    let mut wire = [0u8; 4096];
    while from.wants_write() {
        let n = from.write_tls(&mut wire);
        let mut fed = 0;
        while fed < n {
            // The engine buffers at most one record: feed, drain events, repeat.
            fed += to.conn().read_tls(&wire[fed..n])?;
            to.drain(name, received)?;
        }
    }
    Ok(())
}

/// One end of the in-memory connection, with the key client if it is the server.
enum Side<'a> {
    Client(&'a mut ClientConnection),
    Server(&'a mut ServerConnection, &'a KeyClient),
}

impl Side<'_> {
    fn conn(&mut self) -> &mut dyn Endpoint {
        match self {
            Side::Client(c) => *c,
            Side::Server(s, _) => *s,
        }
    }

    fn drain(&mut self, name: &str, received: &mut Vec<u8>) -> Result<(), rsatls::Error> {
        loop {
            let mut operation = None;
            match self.conn().poll_event()? {
                None => return Ok(()),
                Some(Event::HandshakeComplete(info)) => {
                    println!("{name}: handshake complete, {}", info.suite.name)
                }
                Some(Event::ApplicationData(data)) => received.extend_from_slice(data),
                Some(Event::PeerClosed) => println!("{name}: peer sent close_notify"),
                Some(Event::PrivateKeyOperation(op)) => operation = Some(op),
                Some(_) => {}
            }
            if let (Some(op), Side::Server(server, keys)) = (operation, &mut *self) {
                println!(
                    "{name}: ClientKeyExchange read; private-key operation sent to the key server"
                );
                assert!(server.awaits_private_key_operation());
                keys.requests.send(op).expect("the key server runs");
                let result = keys.results.recv().expect("the key server answers");
                println!("{name}: result received; the handshake goes on");
                server.complete_private_key_operation(result)?;
            }
        }
    }
}

fn main() -> Result<(), rsatls::Error> {
    let provider = rsatls::crypto::default_provider();
    let server_config = ServerConfig::from_pem_or_der(
        provider.clone(),
        include_bytes!("../tests/data/rsa2048.cert.pem"),
        include_bytes!("../tests/data/rsa2048.key.pem"),
    )?
    .with_private_key_offload(true);
    let pins = rsatls::pki::parse_pins(include_str!("../tests/data/rsa2048.pin").trim())?;
    let client_config = ClientConfig::new(provider, ServerAuth::Pins(pins));

    let (request_tx, request_rx) = mpsc::channel();
    let (result_tx, result_rx) = mpsc::channel();
    let key_thread = thread::spawn(move || key_server(request_rx, result_tx));
    let keys = KeyClient {
        requests: request_tx,
        results: result_rx,
    };

    // Fixed seeds make the run reproducible (never do that for real connections).
    let mut client = ClientConnection::new(
        Arc::new(client_config),
        Some("localhost"),
        ChaCha20Rng::seed_from_u64(1),
    )?;
    let mut server = ServerConnection::new(Arc::new(server_config), ChaCha20Rng::seed_from_u64(2));

    let (mut at_client, mut at_server) = (Vec::new(), Vec::new());
    let mut rounds = 0;
    while !(client.is_established() && server.is_established()) {
        rounds += 1;
        assert!(rounds < 10, "the handshake does not progress");
        pump(
            "server",
            &mut client,
            &mut Side::Server(&mut server, &keys),
            &mut at_server,
        )?;
        pump(
            "client",
            &mut server,
            &mut Side::Client(&mut client),
            &mut at_client,
        )?;
    }

    client.write_app_data(b"ping")?;
    pump(
        "server",
        &mut client,
        &mut Side::Server(&mut server, &keys),
        &mut at_server,
    )?;
    server.write_app_data(b"pong")?;
    server.send_close_notify();
    pump(
        "client",
        &mut server,
        &mut Side::Client(&mut client),
        &mut at_client,
    )?;

    drop(keys);
    key_thread
        .join()
        .expect("the key server thread ends cleanly");
    println!(
        "server received {:?}, client received {:?}",
        String::from_utf8_lossy(&at_server),
        String::from_utf8_lossy(&at_client)
    );
    if (at_server.as_slice(), at_client.as_slice()) != (&b"ping"[..], &b"pong"[..]) {
        eprintln!("the data did not round-trip");
        std::process::exit(1);
    }
    Ok(())
}
