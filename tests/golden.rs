//! Golden transcripts: fixed seeds and the committed rsa2048 key give byte-exact
//! flights for both suites. Any change to the wire bytes fails here.
//!
//! After a deliberate wire change, regenerate with
//! `RSATLS_BLESS=1 cargo test --test golden` and review the diff.

mod common;

use common::*;
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

const CLIENT_SEED: u64 = 0xc11e47;
const SERVER_SEED: u64 = 0x5e27e2;

/// One line per flight: `C` or `S`, then the bytes in hex.
fn transcript(suite: &'static Suite) -> String {
    let c = client(
        client_config("rsa2048").with_suites(&[suite]).unwrap(),
        CLIENT_SEED,
    );
    let s = server(server_config("rsa2048"), SERVER_SEED);
    conversation(c, s)
}

/// The time the mutual-TLS server validates client chains at:
/// 2027-01-15T08:00:00Z, inside the validity of tests/data/mtls.
const MTLS_NOW: u64 = 1_800_000_000;

/// A mutually authenticated conversation: the server (rsa2048) requires a
/// client certificate from the tests/data/mtls CA; the client holds
/// tests/data/mtls/client.cert.pem. The CertificateVerify's PSS salt comes
/// from the client's seeded RNG, so this too is byte-exact.
fn mutual_transcript(suite: &'static Suite) -> String {
    let chain = rsatls::pki::load_certificates(&data("mtls/client.cert.pem")).unwrap();
    let key = rsatls::pki::load_private_key(&data("mtls/client.key.pem")).unwrap();
    let c = client(
        client_config("rsa2048")
            .with_suites(&[suite])
            .unwrap()
            .with_client_certificate(chain, &key)
            .unwrap(),
        CLIENT_SEED,
    );
    let roots = rsatls::pki::load_certificates(&data("mtls/ca.cert.pem")).unwrap();
    let config = server_config("rsa2048")
        .with_client_auth(roots, rsatls::ClientAuthMode::Required)
        .unwrap();
    let s = rsatls::ServerConnection::new_at(
        std::sync::Arc::new(config),
        rsatls::UnixTime::since_unix_epoch(std::time::Duration::from_secs(MTLS_NOW)),
        <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(SERVER_SEED),
    );
    conversation(c, s)
}

/// Runs a handshake, "ping" from the client, "pong" and close_notify from the
/// server; one line per flight.
fn conversation(mut c: rsatls::ClientConnection, mut s: rsatls::ServerConnection) -> String {
    let t = handshake(&mut c, &mut s).expect("handshake");
    let mut flights: Vec<(char, Vec<u8>)> = t
        .flights
        .into_iter()
        .enumerate()
        .map(|(i, f)| (if i % 2 == 0 { 'C' } else { 'S' }, f))
        .collect();
    c.write_app_data(b"ping").unwrap();
    let wire = take_output(&mut c);
    assert_eq!(
        feed(&mut s, &wire, 64).unwrap(),
        vec![Ev::Data(b"ping".to_vec())]
    );
    flights.push(('C', wire));
    s.write_app_data(b"pong").unwrap();
    s.send_close_notify();
    let wire = take_output(&mut s);
    assert_eq!(
        feed(&mut c, &wire, 64).unwrap(),
        vec![Ev::Data(b"pong".to_vec()), Ev::Closed]
    );
    flights.push(('S', wire));
    let mut out = String::new();
    for (who, bytes) in flights {
        out.push(who);
        out.push(' ');
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('\n');
    }
    out
}

fn check(suite: &'static Suite, file: &str) {
    check_against(transcript(suite), file);
}

fn check_against(got: String, file: &str) {
    let path = format!("{}/tests/data/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("RSATLS_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (bless with RSATLS_BLESS=1)"));
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "flight {i} of {file} differs");
    }
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "flight count of {file} differs"
    );
}

#[test]
fn aes128_gcm_sha256_transcript_is_byte_exact() {
    check(&TLS_RSA_WITH_AES_128_GCM_SHA256, "aes128.txt");
}

#[test]
fn aes256_gcm_sha384_transcript_is_byte_exact() {
    check(&TLS_RSA_WITH_AES_256_GCM_SHA384, "aes256.txt");
}

#[test]
fn mutual_tls_aes128_gcm_sha256_transcript_is_byte_exact() {
    check_against(
        mutual_transcript(&TLS_RSA_WITH_AES_128_GCM_SHA256),
        "mtls-aes128.txt",
    );
}

#[test]
fn mutual_tls_aes256_gcm_sha384_transcript_is_byte_exact() {
    check_against(
        mutual_transcript(&TLS_RSA_WITH_AES_256_GCM_SHA384),
        "mtls-aes256.txt",
    );
}

/// The mutual transcripts really are mutual: the server's first flight holds a
/// CertificateRequest (type 13) and the client's second a Certificate (11) with
/// the client's certificate and a CertificateVerify (15); the plain ones have
/// none of these from the client.
#[test]
fn the_mutual_transcripts_carry_the_client_certificate_and_certificate_verify() {
    use common::prop_support::{self, split_handshake_messages, split_records};
    let types = |line: &str| -> Vec<u8> {
        let bytes = prop_support::unhex(&line[2..]);
        let clear: Vec<u8> = split_records(&bytes)
            .iter()
            .take_while(|r| r[0] == 22)
            .flat_map(|r| r[5..].to_vec())
            .collect();
        split_handshake_messages(&clear)
            .iter()
            .map(|m| m[0])
            .collect()
    };
    let client_cert = rsatls::pki::load_certificates(&data("mtls/client.cert.pem")).unwrap();
    for suite in [
        &TLS_RSA_WITH_AES_128_GCM_SHA256,
        &TLS_RSA_WITH_AES_256_GCM_SHA384,
    ] {
        let mutual = mutual_transcript(suite);
        let lines: Vec<&str> = mutual.lines().collect();
        assert_eq!(
            types(lines[1]),
            [2, 11, 13, 14],
            "ServerHello .. ServerHelloDone"
        );
        assert_eq!(
            types(lines[2]),
            [11, 16, 15],
            "Certificate, CKE, CertificateVerify"
        );
        let hex: String = client_cert[0].iter().map(|b| format!("{b:02x}")).collect();
        assert!(lines[2].contains(&hex), "the client's certificate is sent");
        let plain = transcript(suite);
        let lines: Vec<&str> = plain.lines().collect();
        assert_eq!(
            types(lines[2]),
            [16],
            "a plain client sends only its CKE in clear"
        );
    }
    // The PSS salt comes from the seeded RNG: the same seeds, the same bytes.
    assert_eq!(
        mutual_transcript(&TLS_RSA_WITH_AES_128_GCM_SHA256),
        mutual_transcript(&TLS_RSA_WITH_AES_128_GCM_SHA256)
    );
}

#[test]
fn the_same_seeds_give_the_same_bytes_and_other_seeds_do_not() {
    assert_eq!(
        transcript(&TLS_RSA_WITH_AES_128_GCM_SHA256),
        transcript(&TLS_RSA_WITH_AES_128_GCM_SHA256)
    );
    let mut c = client(client_config("rsa2048"), CLIENT_SEED + 1);
    let mut s = server(server_config("rsa2048"), SERVER_SEED);
    let other = handshake(&mut c, &mut s).unwrap();
    let mut c = client(client_config("rsa2048"), CLIENT_SEED);
    let mut s = server(server_config("rsa2048"), SERVER_SEED);
    let base = handshake(&mut c, &mut s).unwrap();
    // ClientHello random (bytes 11..43 of the first flight) differs.
    assert_ne!(other.flights[0][11..43], base.flights[0][11..43]);
}
