//! `rsatls demo`: RSA key transport, step by step, on the real bytes of an
//! in-memory handshake between an rsatls client and an rsatls server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::{
    ClientConfig, ClientConnection, Endpoint, Event, KeyLog, ServerAuth, ServerConfig,
    ServerConnection,
};

use super::certgen::{self, SanEntry};
use super::decrypt::output::{hex, hex_head};
use super::wire::handshake_messages;
use super::{Failure, outln};

/// The demo's seed: the same seed gives the same bytes on every run.
const SEED: u64 = 0x5253_4154_4c53; // "RSATLS"

/// One key log entry: label, key, secret.
type Logged = (String, Vec<u8>, Vec<u8>);

/// Collects key log lines in memory.
#[derive(Default)]
struct Secrets(Mutex<Vec<Logged>>);

impl KeyLog for Secrets {
    fn log(&self, label: &'static str, key: &[u8], secret: &[u8]) {
        if let Ok(mut v) = self.0.lock() {
            v.push((label.to_string(), key.to_vec(), secret.to_vec()));
        }
    }
}

impl Secrets {
    fn get(&self, label: &str) -> Option<Vec<u8>> {
        self.0
            .lock()
            .ok()?
            .iter()
            .find(|(l, ..)| l == label)
            .map(|(_, _, s)| s.clone())
    }
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::Runtime(msg.into())
}

/// Moves everything `from` has to send into `to`, returning the bytes moved and
/// any application data `to` received.
fn deliver(from: &mut dyn Endpoint, to: &mut dyn Endpoint) -> Result<(Vec<u8>, Vec<u8>), Failure> {
    let mut wire = Vec::new();
    let mut buf = [0u8; 4096];
    while from.wants_write() {
        let n = from.write_tls(&mut buf);
        wire.extend_from_slice(&buf[..n]);
    }
    let mut data = Vec::new();
    let mut off = 0;
    while off < wire.len() {
        off += to
            .read_tls(&wire[off..])
            .map_err(|e| fail(format!("TLS error: {e}")))?;
        while let Some(ev) = to
            .poll_event()
            .map_err(|e| fail(format!("TLS error: {e}")))?
        {
            if let Event::ApplicationData(d) = ev {
                data.extend_from_slice(d);
            }
        }
    }
    Ok((wire, data))
}

pub(crate) fn run() -> Result<(), Failure> {
    let provider = rsatls::crypto::default_provider();
    outln!("rsatls demo: TLS 1.2 RSA key transport, seed {SEED:#x}, all in memory\n")?;

    // The server's key and certificate, made from the seed.
    let mut key_rng = ChaCha20Rng::seed_from_u64(SEED);
    let key = rsa::PrivateKey::new(&mut key_rng, 2048).map_err(|e| fail(format!("keygen: {e}")))?;
    let not_before = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    let cert = certgen::self_signed(
        &key,
        &[SanEntry::Dns("localhost".into())],
        not_before,
        Duration::from_secs(3650 * 86400),
        &mut key_rng,
    )
    .map_err(|e| fail(format!("certificate: {e}")))?;
    let key_pem = certgen::key_to_pkcs8_pem(&key).map_err(|e| fail(format!("key: {e}")))?;

    let server_log = Arc::new(Secrets::default());
    let client_log = Arc::new(Secrets::default());
    let server_config = ServerConfig::from_pem_or_der(provider.clone(), &cert, key_pem.as_bytes())
        .map_err(|e| fail(e.to_string()))?
        .with_key_log(server_log.clone());
    let leaf = server_config.leaf().to_vec();
    let client_config = ClientConfig::new(
        provider.clone(),
        ServerAuth::TrustedCertificates(vec![leaf.clone()]),
    )
    .with_key_log(client_log.clone());

    let mut client = ClientConnection::new(
        Arc::new(client_config),
        Some("localhost"),
        ChaCha20Rng::seed_from_u64(SEED + 1),
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut server = ServerConnection::new(
        Arc::new(server_config),
        ChaCha20Rng::seed_from_u64(SEED + 2),
    );

    let (client_hello, _) = deliver(&mut client, &mut server)?;
    outln!("   ClientHello: {}", hex_head(&client_hello, 16))?;
    let (server_flight, _) = deliver(&mut server, &mut client)?;

    // Step 1: the server's public key, as it crossed the wire.
    let chain = handshake_messages(&server_flight)
        .into_iter()
        .find_map(|m| match m {
            HandshakeMessage::Certificate(c) => Some(c),
            _ => None,
        })
        .ok_or_else(|| fail("no Certificate in the server's flight"))?;
    let wire_leaf = chain
        .first()
        .ok_or_else(|| fail("empty certificate chain"))?;
    let spki =
        rsatls::pki::rsa_key_from_certificate(wire_leaf).map_err(|e| fail(format!("{e}")))?;
    outln!(
        "1. server key sent (in its Certificate, {} bytes of server flight)",
        server_flight.len()
    )?;
    outln!("   RSA modulus: {}", hex_head(&spki.modulus, 24))?;
    outln!("   exponent:    {}", hex(&spki.exponent))?;
    outln!(
        "   pin:         {}",
        rsatls::pki::pin_of_spki(provider.as_ref(), &spki.spki_der)
    )?;
    if wire_leaf != &leaf {
        return Err(fail("the certificate on the wire is not the server's"));
    }

    let (client_flight, _) = deliver(&mut client, &mut server)?;

    // Step 2: the client's secret.
    let premaster = client_log
        .get("RSA")
        .ok_or_else(|| fail("client logged no premaster"))?;
    outln!(
        "2. secret generated by the client (48-byte premaster: version 0303 ‖ 46 random bytes)"
    )?;
    outln!("   {}", hex(&premaster))?;

    // Step 3: the secret, encrypted to the server's key.
    let ciphertext = handshake_messages(&client_flight)
        .into_iter()
        .find_map(|m| match m {
            HandshakeMessage::ClientKeyExchange(c) => Some(c),
            _ => None,
        })
        .ok_or_else(|| fail("no ClientKeyExchange in the client's flight"))?;
    outln!("3. secret encrypted (ClientKeyExchange, PKCS#1 v1.5 under the server's key)")?;
    outln!("   {}", hex_head(&ciphertext, 24))?;

    // Step 4: decrypted with the private key — recomputed here independently of
    // the server engine, which never reveals its result.
    let key_file =
        rsatls::pki::load_private_key(key_pem.as_bytes()).map_err(|e| fail(e.to_string()))?;
    let private = provider
        .rsa_private_key(key_file.as_der())
        .map_err(|_| fail("private key"))?;
    let mut block = vec![0u8; private.modulus_len()];
    private
        .raw_decrypt(
            &ciphertext,
            &mut block,
            &mut ChaCha20Rng::seed_from_u64(SEED + 3),
        )
        .map_err(|_| fail("RSA decryption failed"))?;
    let recovered = &block[block.len() - 48..];
    outln!("4. secret decrypted with the server's private key")?;
    outln!(
        "   padded block: {}…{}",
        hex(&block[..6]),
        hex(&block[block.len() - 51..block.len() - 46])
    )?;
    outln!("   premaster:    {}", hex(recovered))?;
    if block[..2] != [0, 2] || block[block.len() - 49] != 0 || recovered != premaster.as_slice() {
        return Err(fail("the decrypted premaster differs from the client's"));
    }

    let (server_finish, _) = deliver(&mut server, &mut client)?;
    if !client.is_established() || !server.is_established() {
        return Err(fail("the handshake did not complete"));
    }
    let client_master = client_log
        .get("CLIENT_RANDOM")
        .ok_or_else(|| fail("client logged no master secret"))?;
    let server_master = server_log
        .get("CLIENT_RANDOM")
        .ok_or_else(|| fail("server logged no master secret"))?;
    if client_master != server_master {
        return Err(fail("client and server derived different master secrets"));
    }
    let info = client
        .handshake_info()
        .ok_or_else(|| fail("no handshake info"))?;
    outln!(
        "   both sides derived master secret {}",
        hex_head(&client_master, 16)
    )?;
    outln!(
        "   Finished messages verified ({} bytes from the server); {} with extended_master_secret={}",
        server_finish.len(),
        info.suite.name,
        info.extended_master_secret
    )?;

    // Step 5: application data under AES-GCM.
    let request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    client
        .write_app_data(request)
        .map_err(|e| fail(e.to_string()))?;
    let (record, received) = deliver(&mut client, &mut server)?;
    outln!(
        "5. encrypted traffic (one AES-GCM record: header ‖ explicit nonce ‖ ciphertext ‖ tag)"
    )?;
    outln!("   {}", hex_head(&record, 29))?;
    if received != request {
        return Err(fail("the server received something else"));
    }
    server
        .write_app_data(&received)
        .map_err(|e| fail(e.to_string()))?;
    let (_, echoed) = deliver(&mut server, &mut client)?;
    if echoed != request {
        return Err(fail("the echo came back different"));
    }
    outln!(
        "   round trip: the server decrypted {} bytes and echoed them back intact",
        received.len()
    )?;
    outln!("\nok")?;
    Ok(())
}
