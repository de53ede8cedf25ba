//! Allocation accounting (not timed): heap allocations and peak bytes per
//! handshake and per record, and the heap an established connection keeps.
//!
//! A counting global allocator (`allocation-counter`, since this package forbids
//! `unsafe_code`) sees every allocation made through Rust's global allocator on
//! this thread. Memory that C libraries allocate themselves (OpenSSL's RSA key and
//! per-operation BN_CTX, aws-lc's AEAD contexts under the fast provider) is not
//! seen; BENCHMARKS.md lists those separately.
//!
//! `cargo bench --bench allocations [--features fast]` prints a Markdown table.
//! Targets: zero allocations per record in steady state; at most 32 KiB of engine
//! state per established connection, caller-owned I/O buffers excluded.

mod common;

use allocation_counter::{AllocationInfo, measure};
use rsatls::bench_support::{RECORD_HEADER_LEN, RECORD_OVERHEAD, RecordKey, decrypt_premaster};
use rsatls::crypto::AeadAlgorithm;
use rsatls::suites::TLS_RSA_WITH_AES_128_GCM_SHA256;
use rsatls::{ClientConnection, Endpoint, Event, ServerConnection};

/// Records measured per size, after warm-up.
const RECORDS: usize = 200;

/// The per-connection state target.
const STATE_TARGET: i64 = 32 * 1024;

fn main() {
    // `cargo bench` passes `--bench` and maybe a filter; this report has no options.
    let provider = common::provider();
    println!(
        "## Allocations ({} provider)\n\n\
         | what | allocations | bytes allocated | peak live bytes | live bytes after |\n\
         |---|---:|---:|---:|---:|",
        provider.name()
    );
    handshakes();
    records_through_record_layer();
    records_through_connection();
    state_per_connection();
    println!();
}

fn row(what: &str, info: &AllocationInfo, per: usize) {
    let per = per as u64;
    println!(
        "| {what} | {} | {} | {} | {} |",
        fmt_per(info.count_total, per),
        fmt_per(info.bytes_total, per),
        info.bytes_max,
        info.bytes_current
    );
}

fn fmt_per(total: u64, per: u64) -> String {
    match per {
        1 => total.to_string(),
        _ => format!("{:.2}", total as f64 / per as f64),
    }
}

fn handshakes() {
    let client_config = common::client_config();
    let server_config = common::server_config(&TLS_RSA_WITH_AES_128_GCM_SHA256);
    let flights = common::record_client_flights(&server_config, 2);
    let mut wire = Vec::with_capacity(8192);
    // Warm-up: lazily initialised library state is not a per-handshake cost.
    for _ in 0..2 {
        let mut c = common::client(&client_config, 1);
        let mut s = common::server(&server_config, 2);
        common::handshake(&mut c, &mut s, &mut wire).unwrap();
        common::server_handshake(&server_config, 2, &flights, &mut wire);
    }

    let info = measure(|| {
        let mut c = common::client(&client_config, 1);
        let mut s = common::server(&server_config, 2);
        common::handshake(&mut c, &mut s, &mut wire).unwrap();
    });
    row("handshake, client and server (full, AES-128)", &info, 1);

    let info = measure(|| {
        common::server_handshake(&server_config, 2, &flights, &mut wire);
    });
    row("handshake, server only (recorded client flights)", &info, 1);

    // The ClientKeyExchange path alone.
    let key = common::private_key(2048);
    let ct = vec![0u8; key.modulus_len()];
    let mut rng = common::rng(3);
    let info = measure(|| {
        decrypt_premaster(key.as_ref(), &ct, [3, 3], &[0; 48], &mut rng);
    });
    row("ClientKeyExchange decryption (rsa2048)", &info, 1);
}

fn records_through_record_layer() {
    let provider = common::provider();
    for size in common::RECORD_SIZES {
        let key = [0x42; 16];
        let mut sender =
            RecordKey::new(provider.as_ref(), AeadAlgorithm::Aes128Gcm, &key, [0; 4]).unwrap();
        let mut receiver =
            RecordKey::new(provider.as_ref(), AeadAlgorithm::Aes128Gcm, &key, [0; 4]).unwrap();
        let plaintext = vec![0x17u8; size];
        let mut rec = vec![0u8; RECORD_HEADER_LEN + RECORD_OVERHEAD + size];
        let seal = measure(|| {
            for _ in 0..RECORDS {
                sender.seal(&plaintext, &mut rec).unwrap();
            }
        });
        row(
            &format!("record layer seal, {size} B (per record)"),
            &seal,
            RECORDS,
        );
        // A second sender in step with the receiver feeds it records to open.
        let mut scratch = vec![0u8; rec.len()];
        let mut sender2 =
            RecordKey::new(provider.as_ref(), AeadAlgorithm::Aes128Gcm, &key, [0; 4]).unwrap();
        let mut open = AllocationInfo::default();
        let mut peak = 0;
        for _ in 0..RECORDS {
            sender2.seal(&plaintext, &mut scratch).unwrap();
            let info = measure(|| {
                receiver.open(&mut scratch[RECORD_HEADER_LEN..]).unwrap();
            });
            peak = peak.max(info.bytes_max);
            open += info;
        }
        open.bytes_max = peak;
        row(
            &format!("record layer open in place, {size} B (per record)"),
            &open,
            RECORDS,
        );
    }
}

/// How the sender hands application data to its connection.
#[derive(Clone, Copy)]
enum Write {
    /// `write_app_data_to`: sealed straight into the caller's buffer.
    Direct,
    /// `write_app_data` + `write_tls`: through the connection's own buffer.
    Buffered,
}

/// Moves application data through a pair of established connections with the
/// caller's fixed buffer, the way a server loop does.
fn pump(
    from: &mut impl Endpoint,
    to: &mut impl Endpoint,
    data: &[u8],
    wire: &mut [u8],
    how: Write,
) -> usize {
    let mut received = 0;
    let mut sent = 0;
    while sent < data.len() {
        if let Write::Direct = how {
            let (n, len) = from.write_app_data_to(&data[sent..], wire).unwrap();
            sent += n;
            received += deliver(to, &wire[..len]);
        } else {
            sent += from.write_app_data(&data[sent..]).unwrap();
        }
        while from.wants_write() {
            let n = from.write_tls(wire);
            received += deliver(to, &wire[..n]);
        }
    }
    received
}

/// Feeds `bytes` to `to` and returns how much application data came out.
fn deliver(to: &mut impl Endpoint, bytes: &[u8]) -> usize {
    let mut received = 0;
    let mut off = 0;
    while off < bytes.len() {
        off += to.read_tls(&bytes[off..]).unwrap();
        while let Some(ev) = to.poll_event().unwrap() {
            if let Event::ApplicationData(d) = ev {
                received += d.len();
            }
        }
    }
    received
}

fn established() -> (ClientConnection, ServerConnection) {
    let client_config = common::client_config();
    let server_config = common::server_config(&TLS_RSA_WITH_AES_128_GCM_SHA256);
    let mut c = common::client(&client_config, 1);
    let mut s = common::server(&server_config, 2);
    common::handshake(&mut c, &mut s, &mut Vec::new()).unwrap();
    (c, s)
}

fn records_through_connection() {
    let (mut c, mut s) = established();
    let mut wire = vec![0u8; 32 * 1024];
    for (how, path) in [
        (Write::Direct, "write_app_data_to"),
        (Write::Buffered, "write_app_data"),
    ] {
        for size in common::RECORD_SIZES {
            let data = vec![0x17u8; size];
            // Warm-up: buffers reach their working size.
            for _ in 0..4 {
                pump(&mut c, &mut s, &data, &mut wire, how);
                pump(&mut s, &mut c, &data, &mut wire, how);
            }
            for (dir, from_client) in [("client → server", true), ("server → client", false)] {
                let info = measure(|| {
                    for _ in 0..RECORDS {
                        let got = match from_client {
                            true => pump(&mut c, &mut s, &data, &mut wire, how),
                            false => pump(&mut s, &mut c, &data, &mut wire, how),
                        };
                        assert_eq!(got, size);
                    }
                });
                row(
                    &format!("connection ({path}), {dir}, {size} B (per record, seal + open)"),
                    &info,
                    RECORDS,
                );
            }
        }
    }
}

/// Heap kept by established connections: everything allocated while they were
/// built and used that is still live afterwards. The shared configurations and
/// the caller's I/O buffers are allocated outside the measurement.
fn state_per_connection() {
    let client_config = common::client_config();
    let server_config = common::server_config(&TLS_RSA_WITH_AES_128_GCM_SHA256);
    let flights = common::record_client_flights(&server_config, 2);
    let mut wire = Vec::with_capacity(64 * 1024);
    let mut io = vec![0u8; 32 * 1024];
    let bulk = vec![0x17u8; 256 * 1024];
    let inline = size_of::<ServerConnection>();

    let mut kept = None;
    let built = measure(|| {
        kept = Some(common::server_handshake(
            &server_config,
            2,
            &flights,
            &mut wire,
        ));
    });
    println!(
        "| server connection, just established: heap kept | | | | {} |",
        built.bytes_current
    );
    drop(kept);

    for (what, bytes, how) in [
        (
            "after 16 KiB each way, write_app_data_to",
            16 * 1024,
            Write::Direct,
        ),
        (
            "after 256 KiB each way, write_app_data_to",
            bulk.len(),
            Write::Direct,
        ),
        (
            "after 256 KiB each way, write_app_data",
            bulk.len(),
            Write::Buffered,
        ),
    ] {
        let mut pair = None;
        let used = measure(|| {
            let mut c = common::client(&client_config, 1);
            let mut s = common::server(&server_config, 2);
            common::handshake(&mut c, &mut s, &mut wire).unwrap();
            pump(&mut c, &mut s, &bulk[..bytes], &mut io, how);
            pump(&mut s, &mut c, &bulk[..bytes], &mut io, how);
            pair = Some((c, s));
        });
        let (client, server) = pair.take().unwrap();
        let server_freed = measure(|| drop(server));
        let server_bytes = -server_freed.bytes_current;
        let client_bytes = used.bytes_current - server_bytes;
        drop(client);
        let verdict = match server_bytes + inline as i64 <= STATE_TARGET {
            true => "within",
            false => "OVER",
        };
        println!(
            "| server connection, {what}: heap kept ({verdict} 32 KiB with {inline} B inline) | | | | {server_bytes} |\n\
             | client connection, {what}: heap kept | | | | {client_bytes} |"
        );
    }
    println!(
        "| size_of::<ServerConnection>() / size_of::<ClientConnection>() (inline) | | | | {inline} / {} |",
        size_of::<ClientConnection>()
    );
}
