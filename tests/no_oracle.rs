//! RFC 5246 §7.4.7.1: a server fed an invalid ClientKeyExchange produces exactly
//! the bytes, alert included, of one fed a valid ClientKeyExchange followed by a
//! tampered Finished record. No alert, timing of output or error value may tell
//! the two apart.
//!
//! The same holds for a server that hands its private-key operation out
//! (`ServerConfig::with_private_key_offload`) and has it completed on another
//! thread, and for such a server whose operation fails or answers with the
//! wrong length: to the client, each is one more invalid ClientKeyExchange.

mod common;

use common::*;
use rsatls::crypto::{CryptoError, RsaPublicKey};
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::{Error, Event, ServerConnection};

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

/// How the server performs its private-key operation.
#[derive(Clone, Copy, Debug)]
enum KeyOp {
    /// Inside `poll_event`, as by default.
    Inline,
    /// Handed out and run on another thread.
    Offloaded,
    /// Handed out, and answered with a failure.
    Fails,
    /// Handed out, and answered with the real output less its first byte (the
    /// same integer, one byte short).
    Short,
    /// Handed out, and answered with the real output and one more byte.
    Long,
}

/// Feeds `wire` to the server, completing any private-key operation it hands
/// out as `op` says; returns the error it fails with.
fn feed_server(s: &mut ServerConnection, wire: &[u8], op: KeyOp) -> Option<Error> {
    let mut fed = 0;
    loop {
        loop {
            match s.poll_event() {
                Ok(None) => break,
                Ok(Some(Event::PrivateKeyOperation(operation))) => {
                    assert!(
                        !matches!(op, KeyOp::Inline),
                        "an inline server handed one out"
                    );
                    let output = std::thread::spawn(move || operation.run().map(|o| o.to_vec()))
                        .join()
                        .expect("the key thread runs");
                    let result = match op {
                        KeyOp::Inline | KeyOp::Offloaded => output,
                        KeyOp::Fails => Err(CryptoError),
                        KeyOp::Short => output.map(|o| o[1..].to_vec()),
                        KeyOp::Long => output.map(|o| [o, vec![0]].concat()),
                    };
                    s.complete_private_key_operation(result)
                        .expect("the operation was pending");
                }
                Ok(Some(_)) => {}
                Err(e) => return Some(e),
            }
        }
        if fed == wire.len() {
            return None;
        }
        match s.read_tls(&wire[fed..]) {
            Ok(n) => fed += n,
            Err(e) => return Some(e),
        }
    }
}

/// The server's whole output when the honest client flight is replaced by `edit`.
fn server_output(edit: impl FnOnce(Vec<Vec<u8>>) -> Vec<Vec<u8>>) -> (Vec<u8>, Error) {
    server_output_with(KeyOp::Inline, edit)
}

/// As [`server_output`], for a server whose private-key operation goes as `op`.
fn server_output_with(
    op: KeyOp,
    edit: impl FnOnce(Vec<Vec<u8>>) -> Vec<Vec<u8>>,
) -> (Vec<u8>, Error) {
    let mut c = client(client_config("rsa2048"), CLIENT_SEED);
    let offload = !matches!(op, KeyOp::Inline);
    let mut s = server(
        server_config("rsa2048").with_private_key_offload(offload),
        SERVER_SEED,
    );
    assert_eq!(feed_server(&mut s, &take_output(&mut c), op), None);
    let mut out = take_output(&mut s);
    feed(&mut c, &out, usize::MAX).unwrap();
    let flight = records(&take_output(&mut c));
    assert_eq!(
        flight.len(),
        3,
        "ClientKeyExchange, ChangeCipherSpec, Finished"
    );
    let wire: Vec<u8> = edit(flight).concat();
    let err = feed_server(&mut s, &wire, op).expect("the server refuses the flight");
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
        for op in [KeyOp::Inline, KeyOp::Offloaded] {
            let (out, err) = server_output_with(op, |mut flight| {
                flight[0] =
                    handshake_record(&HandshakeMessage::ClientKeyExchange(ciphertext.clone()));
                flight
            });
            assert_eq!(err, Error::BadRecordMac, "{name}, {op:?}");
            assert_eq!(
                out, reference,
                "{name}, {op:?}: the server's output differs from the reference"
            );
        }
    }
}

#[test]
fn an_offloaded_operation_is_no_oracle_either() {
    let (reference, _) = server_output(|mut flight| {
        let fin = flight.last_mut().unwrap();
        *fin.last_mut().unwrap() ^= 1;
        flight
    });
    // Completed on another thread, the offloaded server's refusal of a
    // tampered Finished is the inline one.
    let (out, err) = server_output_with(KeyOp::Offloaded, |mut flight| {
        let fin = flight.last_mut().unwrap();
        *fin.last_mut().unwrap() ^= 1;
        flight
    });
    assert_eq!(err, Error::BadRecordMac);
    assert_eq!(out, reference, "offloaded, tampered Finished");
    // The honest flight completes: the cases below fail for their answer.
    let mut c = client(client_config("rsa2048"), CLIENT_SEED);
    let mut s = server(
        server_config("rsa2048").with_private_key_offload(true),
        SERVER_SEED,
    );
    assert_eq!(
        feed_server(&mut s, &take_output(&mut c), KeyOp::Offloaded),
        None
    );
    feed(&mut c, &take_output(&mut s), usize::MAX).unwrap();
    assert_eq!(
        feed_server(&mut s, &take_output(&mut c), KeyOp::Offloaded),
        None
    );
    assert!(s.is_established());
    // An honest flight, but the operation fails or answers with the wrong
    // length: to the client, an invalid ClientKeyExchange like any other.
    for op in [KeyOp::Fails, KeyOp::Short, KeyOp::Long] {
        let (out, err) = server_output_with(op, |flight| flight);
        assert_eq!(err, Error::BadRecordMac, "{op:?}");
        assert_eq!(
            out, reference,
            "{op:?}: the server's output differs from the reference"
        );
    }
}
