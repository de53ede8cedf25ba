//! Criterion benchmarks of whole handshakes in memory: client and server together
//! (`handshake/full/{aes128,aes256}/2048`), and the server alone answering a
//! pre-recorded client flight (`handshake/server_only/2048`), which is the server's
//! CPU cost per handshake to set against `rsa/raw_private_op/2048`; and the
//! largest ClientHello the wire format allows (`client_hello_max/*`): parsed
//! alone, and answered by a new server, next to one RSA-2048 private-key
//! operation measured in the same run.
//!
//! `cargo bench --bench handshake [--features fast]`. See BENCHMARKS.md.

mod common;

use std::hint::black_box;

use common::{Crit, id};
use criterion::BenchmarkId;
use rsatls::msgs::enums::{CipherSuite, Compression, ExtensionType, ProtocolVersion};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::{ClientHello, HandshakeMessage, MAX_CLIENT_HELLO_LEN};
use rsatls::suites::{TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

fn main() {
    let mut c = common::criterion();
    handshakes(&mut c);
    client_hello_max(&mut c);
    c.final_summary();
}

fn handshakes(c: &mut Crit) {
    let client_config = common::client_config();
    let mut wire = Vec::with_capacity(8192);

    let mut g = c.benchmark_group(id("handshake/full"));
    for (name, suite) in [
        ("aes128", &TLS_RSA_WITH_AES_128_GCM_SHA256),
        ("aes256", &TLS_RSA_WITH_AES_256_GCM_SHA384),
    ] {
        let server_config = common::server_config(suite);
        g.bench_function(BenchmarkId::new(name, 2048), |b| {
            b.iter(|| {
                let mut client = common::client(&client_config, 1);
                let mut server = common::server(&server_config, 2);
                common::handshake(&mut client, &mut server, &mut wire).unwrap();
                (client, server)
            })
        });
    }
    g.finish();

    // The server's deterministic RNG makes every run answer the recorded client
    // flights with the same ServerHello, so the recorded Finished stays valid.
    let mut g = c.benchmark_group(id("handshake/server_only"));
    let server_config = common::server_config(&TLS_RSA_WITH_AES_128_GCM_SHA256);
    let flights = common::record_client_flights(&server_config, 2);
    g.bench_function(BenchmarkId::from_parameter(2048), |b| {
        b.iter(|| common::server_handshake(&server_config, 2, black_box(&flights), &mut wire))
    });
    g.finish();
}

/// The costliest ClientHello to parse that RFC 5246 §7.4.1.2 allows: every
/// field at its maximum length, and the extensions block as 16383 extensions
/// (the most that fit), so the decoder and its duplicate check do the most work.
/// It offers the server's suite and EMS, so a server answers it.
fn maximal_client_hello() -> Vec<u8> {
    let mut cipher_suites = vec![CipherSuite(0xfe00); 0xfffe / 2];
    cipher_suites[0] = TLS_RSA_WITH_AES_128_GCM_SHA256.id;
    let mut extensions = vec![Extension::ExtendedMasterSecret];
    // 16382 empty extensions and one of 3 bytes: 65535 bytes in all.
    extensions
        .extend((0..16_381).map(|i| Extension::Unknown(ExtensionType(0x4000 + i), Vec::new())));
    extensions.push(Extension::Unknown(ExtensionType(0xfe0d), vec![0; 3]));
    let hello = HandshakeMessage::ClientHello(ClientHello {
        client_version: ProtocolVersion::TLSV1_2,
        random: [7; 32],
        session_id: vec![1; 32],
        cipher_suites,
        compression_methods: (0..=254).map(Compression).collect(),
        extensions: Some(extensions),
    })
    .to_bytes();
    assert_eq!(hello.len(), 4 + MAX_CLIENT_HELLO_LEN);
    hello
}

fn client_hello_max(c: &mut Crit) {
    let hello = maximal_client_hello();
    let records: Vec<u8> = hello
        .chunks(16_384)
        .flat_map(|chunk| {
            let mut r = vec![22, 3, 3];
            r.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            r.extend_from_slice(chunk);
            r
        })
        .collect();
    let server_config = common::server_config(&TLS_RSA_WITH_AES_128_GCM_SHA256);
    let key = common::private_key(2048);
    let ct = common::invalid_ciphertext(key.as_ref());
    let mut out = vec![0u8; key.modulus_len()];
    let mut rng = common::rng(4);

    let mut g = c.benchmark_group(id("client_hello_max"));
    g.bench_function("parse", |b| {
        b.iter(|| HandshakeMessage::decode(black_box(&hello)).unwrap())
    });
    g.bench_function("server_answers", |b| {
        b.iter(|| {
            let mut server = common::server(&server_config, 2);
            common::feed(&mut server, black_box(&records)).unwrap();
            assert!(server.wants_write());
            server
        })
    });
    g.bench_function("raw_private_op/2048", |b| {
        b.iter(|| key.raw_decrypt(black_box(&ct), &mut out, &mut rng).unwrap())
    });
    g.finish();
}
