//! Criterion benchmarks of whole handshakes in memory: client and server together
//! (`handshake/full/{aes128,aes256}/2048`), and the server alone answering a
//! pre-recorded client flight (`handshake/server_only/2048`), which is the server's
//! CPU cost per handshake to set against `rsa/raw_private_op/2048`.
//!
//! `cargo bench --bench handshake [--features fast]`. See BENCHMARKS.md.

mod common;

use std::hint::black_box;

use common::{Crit, id};
use criterion::BenchmarkId;
use rsatls::suites::{TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

fn main() {
    let mut c = common::criterion();
    handshakes(&mut c);
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
