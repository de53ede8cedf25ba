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
    let mut c = client(
        client_config("rsa2048").with_suites(&[suite]).unwrap(),
        CLIENT_SEED,
    );
    let mut s = server(server_config("rsa2048"), SERVER_SEED);
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
    let path = format!("{}/tests/data/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    let got = transcript(suite);
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
