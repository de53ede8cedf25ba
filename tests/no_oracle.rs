//! RFC 5246 §7.4.7.1: a server fed an invalid ClientKeyExchange produces exactly
//! the bytes, alert included, of one fed a valid ClientKeyExchange followed by a
//! tampered Finished record. No alert, timing of output or error value may tell
//! the two apart.

mod common;

use common::*;
use rsatls::Error;
use rsatls::crypto::RsaPublicKey;
use rsatls::msgs::handshake::HandshakeMessage;

const CLIENT_SEED: u64 = 41;
const SERVER_SEED: u64 = 42;

/// Splits a flight into whole records (header included).
fn records(flight: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = flight;
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        out.push(rest[..5 + len].to_vec());
        rest = &rest[5 + len..];
    }
    out
}

fn handshake_record(msg: &HandshakeMessage) -> Vec<u8> {
    let body = msg.to_bytes();
    let mut rec = vec![22, 3, 3];
    rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
    rec.extend_from_slice(&body);
    rec
}

/// The server's whole output when the honest client flight is replaced by `edit`.
fn server_output(edit: impl FnOnce(Vec<Vec<u8>>) -> Vec<Vec<u8>>) -> (Vec<u8>, Error) {
    let mut c = client(client_config("rsa2048"), CLIENT_SEED);
    let mut s = server(server_config("rsa2048"), SERVER_SEED);
    feed(&mut s, &take_output(&mut c), usize::MAX).unwrap();
    let mut out = take_output(&mut s);
    feed(&mut c, &out, usize::MAX).unwrap();
    let flight = records(&take_output(&mut c));
    assert_eq!(
        flight.len(),
        3,
        "ClientKeyExchange, ChangeCipherSpec, Finished"
    );
    let wire: Vec<u8> = edit(flight).concat();
    let err = feed(&mut s, &wire, usize::MAX).unwrap_err();
    out.extend(take_output(&mut s));
    (out, err)
}

fn server_public_key(name: &str) -> Box<dyn RsaPublicKey> {
    let cert = rsatls::pki::load_certificates(&data(&format!("{name}.cert.pem"))).unwrap();
    let info = rsatls::pki::rsa_key_from_certificate(&cert[0]).unwrap();
    provider()
        .rsa_public_key(&info.modulus, &info.exponent)
        .unwrap()
}

/// PKCS#1 v1.5 type 2 block around `payload`, with a caller-chosen type byte and
/// a fixed non-zero padding.
fn encrypt_block(key: &dyn RsaPublicKey, block_type: u8, payload: &[u8]) -> Vec<u8> {
    let k = key.modulus_len();
    let mut em = vec![0x5au8; k];
    em[0] = 0;
    em[1] = block_type;
    em[k - payload.len() - 1] = 0;
    em[k - payload.len()..].copy_from_slice(payload);
    let mut out = vec![0u8; k];
    key.raw_encrypt(&em, &mut out).unwrap();
    out
}

fn premaster(version: [u8; 2], len: usize) -> Vec<u8> {
    let mut p = vec![0x33u8; len];
    p[..2].copy_from_slice(&version);
    p
}

#[test]
fn invalid_client_key_exchanges_look_exactly_like_a_tampered_finished() {
    let (reference, reference_err) = server_output(|mut flight| {
        let fin = flight.last_mut().unwrap();
        *fin.last_mut().unwrap() ^= 1;
        flight
    });
    assert_eq!(reference_err, Error::BadRecordMac);
    // The last record the server wrote is a plaintext fatal bad_record_mac.
    assert!(reference.ends_with(&[21, 3, 3, 0, 2, 2, 20]));

    let own = server_public_key("rsa2048");
    let other = server_public_key("other2048");
    let k = own.modulus_len();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "encrypted to another key",
            encrypt_block(other.as_ref(), 2, &premaster([3, 3], 48)),
        ),
        (
            "wrong version (TLS 1.0)",
            encrypt_block(own.as_ref(), 2, &premaster([3, 1], 48)),
        ),
        (
            "wrong version (swapped)",
            encrypt_block(own.as_ref(), 2, &premaster([3, 3].map(|b: u8| b ^ 1), 48)),
        ),
        (
            "premaster of 47 bytes",
            encrypt_block(own.as_ref(), 2, &premaster([3, 3], 47)),
        ),
        (
            "premaster of 49 bytes",
            encrypt_block(own.as_ref(), 2, &premaster([3, 3], 49)),
        ),
        (
            "block type 1",
            encrypt_block(own.as_ref(), 1, &premaster([3, 3], 48)),
        ),
        ("no separator", {
            let mut em = vec![0x5au8; k];
            em[0] = 0;
            em[1] = 2;
            let mut out = vec![0u8; k];
            own.raw_encrypt(&em, &mut out).unwrap();
            out
        }),
        (
            "random bytes",
            (0..k).map(|i| (i * 7 + 3) as u8 & 0x7f).collect(),
        ),
        ("all zero", vec![0u8; k]),
        ("one byte short", vec![0x11u8; k - 1]),
        ("one byte long", vec![0x11u8; k + 1]),
        ("empty", Vec::new()),
        ("all ones (>= n)", vec![0xffu8; k]),
    ];
    for (name, ciphertext) in cases {
        let (out, err) = server_output(|mut flight| {
            flight[0] = handshake_record(&HandshakeMessage::ClientKeyExchange(ciphertext));
            flight
        });
        assert_eq!(err, Error::BadRecordMac, "{name}");
        assert_eq!(
            out, reference,
            "{name}: the server's output differs from the reference"
        );
    }
}
