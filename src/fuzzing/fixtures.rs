//! The fixed keys, seeds and configurations the targets run with, and the golden
//! conversation the seed corpora are cut from.

use std::sync::{Arc, OnceLock};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::crypto::transparent::fuzzing_only_transparent_provider;
use crate::crypto::{CryptoProvider, rustcrypto};
use crate::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use crate::{
    ClientAuthMode, ClientConfig, ClientConnection, Endpoint, ServerAuth, ServerConfig,
    ServerConnection, UnixTime, pki,
};

/// The committed test certificate and key (`tests/data/make.sh`).
pub(crate) const CERT_PEM: &[u8] = include_bytes!("../../tests/data/rsa2048.cert.pem");
const KEY_PEM: &[u8] = include_bytes!("../../tests/data/rsa2048.key.pem");

/// The client's RNG seed, as in `tests/golden.rs`.
pub const CLIENT_SEED: u64 = 0xc11e47;

/// The server's RNG seed, as in `tests/golden.rs`.
pub const SERVER_SEED: u64 = 0x5e27e2;

/// The SNI name every fuzzed client sends.
pub(crate) const SERVER_NAME: &str = "localhost";

/// Which crypto provider a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crypto {
    /// The default RustCrypto provider: what ships.
    Real,
    /// [`crate::crypto::transparent::TransparentForFuzzingOnly`]: identity RSA
    /// and AEAD, constant PRF, so fuzzed flights can complete a handshake.
    Transparent,
}

impl Crypto {
    pub(crate) fn provider(self) -> Arc<dyn CryptoProvider> {
        match self {
            Self::Real => rustcrypto::default_provider(),
            Self::Transparent => fuzzing_only_transparent_provider(),
        }
    }
}

/// A configuration variant, chosen by the low two bits of an engine target's
/// control byte. Applies to whichever side the target runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Both suites in the default order, Extended Master Secret required.
    Default = 0,
    /// Only TLS_RSA_WITH_AES_128_GCM_SHA256 (the golden aes128 client).
    Aes128Only = 1,
    /// Only TLS_RSA_WITH_AES_256_GCM_SHA384 (the golden aes256 client).
    Aes256Only = 2,
    /// Both suites; peers without Extended Master Secret are allowed.
    AllowNoEms = 3,
}

impl Variant {
    /// The variant named by the low two bits of `bits`.
    pub fn from_bits(bits: u8) -> Self {
        match bits & 3 {
            0 => Self::Default,
            1 => Self::Aes128Only,
            2 => Self::Aes256Only,
            _ => Self::AllowNoEms,
        }
    }

    /// The variant whose only suite is `suite`.
    pub fn only(suite: &'static Suite) -> Self {
        match suite == &TLS_RSA_WITH_AES_128_GCM_SHA256 {
            true => Self::Aes128Only,
            false => Self::Aes256Only,
        }
    }

    fn suites(self) -> Option<&'static [&'static Suite]> {
        static AES128: [&Suite; 1] = [&TLS_RSA_WITH_AES_128_GCM_SHA256];
        static AES256: [&Suite; 1] = [&TLS_RSA_WITH_AES_256_GCM_SHA384];
        match self {
            Self::Default | Self::AllowNoEms => None,
            Self::Aes128Only => Some(&AES128),
            Self::Aes256Only => Some(&AES256),
        }
    }
}

fn slot(crypto: Crypto, variant: Variant) -> usize {
    (crypto as usize) * 4 + variant as usize
}

/// The server configuration: the committed rsa2048 certificate and key, and
/// ALPN protocols (`http/1.1`, `h2`), so that fuzzed ClientHellos reach the
/// server's ALPN selection; the golden clients offer no ALPN, so their
/// conversations are unchanged. Built once per (crypto, variant): loading an RSA
/// key is slow.
pub(crate) fn server_config(crypto: Crypto, variant: Variant) -> Arc<ServerConfig> {
    static CONFIGS: [OnceLock<Arc<ServerConfig>>; 8] = [const { OnceLock::new() }; 8];
    CONFIGS[slot(crypto, variant)]
        .get_or_init(|| Arc::new(build_server_config(crypto, variant)))
        .clone()
}

/// As [`server_config`], handing the private-key operation out
/// ([`ServerConfig::with_private_key_offload`]).
pub(crate) fn offloading_server_config(crypto: Crypto, variant: Variant) -> Arc<ServerConfig> {
    static CONFIGS: [OnceLock<Arc<ServerConfig>>; 8] = [const { OnceLock::new() }; 8];
    CONFIGS[slot(crypto, variant)]
        .get_or_init(|| {
            Arc::new(build_server_config(crypto, variant).with_private_key_offload(true))
        })
        .clone()
}

fn build_server_config(crypto: Crypto, variant: Variant) -> ServerConfig {
    let config = ServerConfig::from_pem_or_der(crypto.provider(), CERT_PEM, KEY_PEM)
        .expect("fixture: the committed rsa2048 key loads")
        .with_alpn_protocols(&[b"http/1.1", b"h2"])
        .expect("fixture: ALPN names are valid");
    configure(config, variant, ServerConfig::with_suites, |c| {
        c.with_allow_no_ems(true)
    })
}

/// The client configuration. With the real provider it pins the committed
/// rsa2048 certificate, as a deployment would; with the transparent one it
/// accepts any RSA key, so the fuzzer also explores other certificates.
pub(crate) fn client_config(crypto: Crypto, variant: Variant) -> Arc<ClientConfig> {
    static CONFIGS: [OnceLock<Arc<ClientConfig>>; 8] = [const { OnceLock::new() }; 8];
    CONFIGS[slot(crypto, variant)]
        .get_or_init(|| {
            let auth = match crypto {
                Crypto::Real => ServerAuth::Pins(vec![rsa2048_pin()]),
                Crypto::Transparent => ServerAuth::DangerousAcceptAnyKeyForTestingOnly,
            };
            let config = ClientConfig::new(crypto.provider(), auth);
            Arc::new(configure(config, variant, ClientConfig::with_suites, |c| {
                c.with_allow_no_ems(true)
            }))
        })
        .clone()
}

fn configure<C>(
    config: C,
    variant: Variant,
    with_suites: fn(C, &[&'static Suite]) -> Result<C, crate::Error>,
    allow_no_ems: fn(C) -> C,
) -> C {
    match (variant, variant.suites()) {
        (_, Some(suites)) => with_suites(config, suites).expect("fixture: suites are valid"),
        (Variant::AllowNoEms, None) => allow_no_ems(config),
        (_, None) => config,
    }
}

/// The rsa2048 certificate chain (one certificate), DER.
pub(crate) fn rsa2048_chain() -> Vec<Vec<u8>> {
    static CHAIN: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CHAIN
        .get_or_init(|| pki::load_certificates(CERT_PEM).expect("fixture: certificate loads"))
        .clone()
}

fn rsa2048_pin() -> pki::Pin {
    let chain = rsa2048_chain();
    let info = pki::rsa_key_from_certificate(&chain[0]).expect("fixture: RSA certificate");
    pki::pin_of_spki(rustcrypto::default_provider().as_ref(), &info.spki_der)
}

/// A server connection with the fixture configuration and [`SERVER_SEED`].
pub(crate) fn new_server(crypto: Crypto, variant: Variant) -> ServerConnection {
    ServerConnection::new(
        server_config(crypto, variant),
        ChaCha20Rng::seed_from_u64(SERVER_SEED),
    )
}

/// A server connection that hands its private-key operation out, with
/// [`SERVER_SEED`].
pub(crate) fn new_offloading_server(crypto: Crypto, variant: Variant) -> ServerConnection {
    ServerConnection::new(
        offloading_server_config(crypto, variant),
        ChaCha20Rng::seed_from_u64(SERVER_SEED),
    )
}

/// A client connection with the fixture configuration and [`CLIENT_SEED`].
pub(crate) fn new_client(crypto: Crypto, variant: Variant) -> ClientConnection {
    ClientConnection::new(
        client_config(crypto, variant),
        Some(SERVER_NAME),
        ChaCha20Rng::seed_from_u64(CLIENT_SEED),
    )
    .expect("fixture: client starts")
}

/// The mutual-TLS test PKI (`tests/data/mtls/make.sh`): the client CA, and a
/// client certificate (clientAuth, digitalSignature) and key it issued.
const CLIENT_CA_PEM: &[u8] = include_bytes!("../../tests/data/mtls/ca.cert.pem");
const CLIENT_CERT_PEM: &[u8] = include_bytes!("../../tests/data/mtls/client.cert.pem");
const CLIENT_KEY_PEM: &[u8] = include_bytes!("../../tests/data/mtls/client.key.pem");

/// The time client chains are validated at: 2027-01-15T08:00:00Z, inside the
/// test PKI's validity.
pub(crate) fn client_auth_now() -> UnixTime {
    UnixTime::since_unix_epoch(core::time::Duration::from_secs(1_800_000_000))
}

/// The client certificate chain of the mutual-TLS fixtures, DER.
pub(crate) fn client_auth_chain() -> Vec<Vec<u8>> {
    static CHAIN: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CHAIN
        .get_or_init(|| {
            pki::load_certificates(CLIENT_CERT_PEM).expect("fixture: client certificate loads")
        })
        .clone()
}

/// The default server configuration with client authentication in `mode`,
/// trusting the test client CA (real provider: the transparent one verifies
/// no signature). Built once per mode.
pub(crate) fn client_auth_server_config(mode: ClientAuthMode) -> Arc<ServerConfig> {
    static CONFIGS: [OnceLock<Arc<ServerConfig>>; 2] = [const { OnceLock::new() }; 2];
    CONFIGS[mode as usize]
        .get_or_init(|| {
            let roots = pki::load_certificates(CLIENT_CA_PEM).expect("fixture: client CA loads");
            let config = ServerConfig::from_pem_or_der(Crypto::Real.provider(), CERT_PEM, KEY_PEM)
                .expect("fixture: the committed rsa2048 key loads")
                .with_client_auth(roots, mode)
                .expect("fixture: the client CA is a trust anchor");
            Arc::new(config)
        })
        .clone()
}

/// The real-provider client configuration of `variant`, holding the test
/// client certificate and key. Built once per variant.
pub(crate) fn client_auth_client_config(variant: Variant) -> Arc<ClientConfig> {
    static CONFIGS: [OnceLock<Arc<ClientConfig>>; 4] = [const { OnceLock::new() }; 4];
    CONFIGS[variant as usize]
        .get_or_init(|| {
            let key = pki::load_private_key(CLIENT_KEY_PEM).expect("fixture: client key loads");
            let config = ClientConfig::new(
                Crypto::Real.provider(),
                ServerAuth::Pins(vec![rsa2048_pin()]),
            )
            .with_client_certificate(client_auth_chain(), &key)
            .expect("fixture: the client key matches its certificate");
            Arc::new(configure(config, variant, ClientConfig::with_suites, |c| {
                c.with_allow_no_ems(true)
            }))
        })
        .clone()
}

/// A client-authenticating server connection, at [`client_auth_now`], with
/// [`SERVER_SEED`].
pub(crate) fn new_client_auth_server(mode: ClientAuthMode) -> ServerConnection {
    ServerConnection::new_at(
        client_auth_server_config(mode),
        client_auth_now(),
        ChaCha20Rng::seed_from_u64(SERVER_SEED),
    )
}

/// A client connection with [`CLIENT_SEED`]: with the test client certificate,
/// or (`with_certificate` false) the plain real-provider client of `variant`.
pub(crate) fn new_client_auth_client(variant: Variant, with_certificate: bool) -> ClientConnection {
    let config = match with_certificate {
        true => client_auth_client_config(variant),
        false => client_config(Crypto::Real, variant),
    };
    ClientConnection::new(
        config,
        Some(SERVER_NAME),
        ChaCha20Rng::seed_from_u64(CLIENT_SEED),
    )
    .expect("fixture: client starts")
}

/// Who sent a flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client.
    Client,
    /// The server.
    Server,
}

/// The bytes one side sent in one go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flight {
    /// Who sent them.
    pub from: Side,
    /// The records, back to back.
    pub bytes: Vec<u8>,
}

/// The golden conversation of `tests/golden.rs` with the fixture configurations:
/// the handshake (a client offering only `suite`, a default server), then "ping"
/// from the client, then "pong" and close_notify from the server.
///
/// With [`Crypto::Real`] these are exactly the flights of
/// `tests/data/golden/*.txt`; with [`Crypto::Transparent`] they are the same
/// conversation in the clear, which the `*_transparent` and `session` targets
/// start from.
pub fn transcript(crypto: Crypto, suite: &'static Suite) -> Vec<Flight> {
    let mut client = new_client(crypto, Variant::only(suite));
    let mut server = new_server(crypto, Variant::Default);
    let mut flights = Vec::new();
    for _ in 0..4 {
        exchange(&mut client, &mut server, Side::Client, &mut flights);
        exchange(&mut server, &mut client, Side::Server, &mut flights);
        if client.is_established() && server.is_established() {
            break;
        }
    }
    assert!(client.is_established() && server.is_established());
    client.write_app_data(b"ping").expect("fixture: ping");
    exchange(&mut client, &mut server, Side::Client, &mut flights);
    server.write_app_data(b"pong").expect("fixture: pong");
    server.send_close_notify();
    exchange(&mut server, &mut client, Side::Server, &mut flights);
    flights
}

/// Moves everything `from` has to send into `to` as one flight.
fn exchange(from: &mut dyn Endpoint, to: &mut dyn Endpoint, side: Side, flights: &mut Vec<Flight>) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    while from.wants_write() {
        let n = from.write_tls(&mut buf);
        bytes.extend_from_slice(&buf[..n]);
    }
    if bytes.is_empty() {
        return;
    }
    let mut off = 0;
    while off < bytes.len() {
        off += to.read_tls(&bytes[off..]).expect("fixture: read_tls");
        while to
            .poll_event()
            .expect("fixture: handshake succeeds")
            .is_some()
        {}
    }
    flights.push(Flight { from: side, bytes });
}
