//! The fuzz corpora, replayed on stable: every file under `fuzz/corpus/<target>/`
//! and `fuzz/regressions/<target>/` goes through the same function its fuzz
//! target calls (`rsatls::fuzzing`), so a regression fails `cargo test` without
//! nightly or cargo-fuzz.
//!
//! The seed files (`seed-*`) are cut from the golden conversation
//! (`tests/data/golden/*.txt`, and the same conversation under the transparent
//! fuzzing provider). After a deliberate wire change, re-bless the golden
//! transcripts, then regenerate the seeds with
//! `RSATLS_WRITE_CORPUS=1 cargo test --test fuzz_corpus` and review the diff.

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rsatls::fuzzing::{self, CLIENT_SEED, Crypto, Flight, SERVER_SEED, Side, TARGETS, transcript};
use rsatls::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ClientCertificateType, ContentType, ExtensionType,
    HandshakeType, ProtocolVersion, SignatureScheme,
};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::{CertificateRequest, HandshakeMessage};
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

const SEED_PREFIX: &str = "seed-";
const TAG: &[u8; 16] = b"fuzzing-only-tag";

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

/// Runs every corpus file and regression of `name` through its target.
fn replay(name: &str) {
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name} in rsatls::fuzzing::TARGETS"));
    let corpus = files_in(&fuzz_dir().join("corpus").join(name));
    let regressions = files_in(&fuzz_dir().join("regressions").join(name));
    assert!(!corpus.is_empty(), "fuzz/corpus/{name}/ is empty");
    let mut failed = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{name} panicked on {failed:#?}\nreproduce: cargo fuzz run --sanitizer none {name} <file>"
    );
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_replay_test_a_fuzz_target_and_a_seed_corpus() {
            let tested = [$(stringify!($name)),*];
            let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
            assert_eq!(names, tested, "TARGETS and the replay tests differ");
            let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
            let mut files: Vec<String> = files_in(&fuzz_dir().join("fuzz_targets"))
                .iter()
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            files.sort();
            assert_eq!(files, names, "fuzz/fuzz_targets/*.rs and TARGETS differ");
            for name in names {
                let source = fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs"))).unwrap();
                assert!(
                    source.contains(&format!("rsatls::fuzzing::{name}(")),
                    "fuzz_targets/{name}.rs does not call rsatls::fuzzing::{name}"
                );
                assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml lacks [[bin]] {name}");
                let seeds = files_in(&fuzz_dir().join("corpus").join(name));
                assert!(!seeds.is_empty(), "no seed corpus for {name}");
            }
        }
    };
}

replay_tests!(
    alert,
    certificate,
    certificate_request,
    certificate_verify,
    client,
    client_hello,
    client_key_exchange,
    client_transparent,
    deframe,
    finished,
    passive_session,
    reassembler,
    record_open,
    server,
    server_hello,
    server_offload,
    server_transparent,
    session,
    session_client_auth,
);

// ---- The seeds reach deep states ----------------------------------------------

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = fuzz_dir()
        .join("corpus")
        .join(target)
        .join(format!("{SEED_PREFIX}{name}"));
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn server_seeds_complete_the_handshake_and_echo_the_ping() {
    for target in ["server", "server_transparent"] {
        for suite in ["aes128", "aes256"] {
            for chunking in ["whole", "chunks-2", "chunks-64", "chunks-1024"] {
                let data = seed(target, &format!("{suite}-{chunking}"));
                let outcome = match target {
                    "server" => fuzzing::server(&data),
                    _ => fuzzing::server_transparent(&data),
                };
                assert!(
                    outcome.established,
                    "{target} {suite} {chunking}: {outcome:?}"
                );
                assert_eq!(outcome.received, b"ping", "{target} {suite} {chunking}");
                // The golden client never closes: the input ends in a truncation.
                assert_eq!(outcome.error, Some(rsatls::Error::UnexpectedEof));
            }
        }
    }
}

/// The `server_offload` seeds' second control byte (`rsatls::fuzzing::Offload`):
/// answer in the low two bits (0 real, 1 failed, 2 one byte short, 3 flipped),
/// the reads before it in the other six (an odd count still out at the end
/// ends the transport first).
const OFFLOAD_SEEDS: [(&str, u8); 6] = [
    ("real-at-once", 0),
    ("real-after-2", 2 << 2),
    ("real-late-eof", 63 << 2),
    ("failed", 1),
    ("short", 4 << 2 | 2),
    ("flipped", 2 << 2 | 3),
];

#[test]
fn offload_seeds_complete_only_on_the_real_answer() {
    for suite in ["aes128", "aes256"] {
        for chunking in ["whole", "chunks-2", "chunks-64", "chunks-1024"] {
            for (answer, _) in OFFLOAD_SEEDS {
                let name = format!("{suite}-{chunking}-{answer}");
                let outcome = fuzzing::server_offload(&seed("server_offload", &name));
                match answer {
                    "real-at-once" | "real-after-2" => {
                        assert!(outcome.established, "{name}: {outcome:?}");
                        assert_eq!(outcome.received, b"ping", "{name}");
                        assert_eq!(outcome.error, Some(rsatls::Error::UnexpectedEof));
                    }
                    // Still out when the input ended: nothing was decided.
                    "real-late-eof" => {
                        assert!(!outcome.established, "{name}: {outcome:?}");
                        assert_eq!(outcome.error, Some(rsatls::Error::UnexpectedEof));
                    }
                    _ => {
                        assert!(!outcome.established, "{name}: {outcome:?}");
                        assert_eq!(outcome.error, Some(rsatls::Error::BadRecordMac), "{name}");
                    }
                }
            }
        }
    }
}

#[test]
fn client_seeds_complete_the_handshake_and_receive_pong_and_close() {
    for target in ["client", "client_transparent"] {
        for suite in ["aes128", "aes256"] {
            for chunking in ["whole", "chunks-2", "chunks-64", "chunks-1024"] {
                let data = seed(target, &format!("{suite}-{chunking}"));
                let outcome = match target {
                    "client" => fuzzing::client(&data),
                    _ => fuzzing::client_transparent(&data),
                };
                assert!(
                    outcome.established,
                    "{target} {suite} {chunking}: {outcome:?}"
                );
                assert_eq!(outcome.received, b"pong", "{target} {suite} {chunking}");
                assert!(
                    outcome.peer_closed && outcome.error.is_none(),
                    "{outcome:?}"
                );
            }
        }
    }
}

#[test]
fn an_empty_session_script_is_a_clean_handshake() {
    let [client, server] = fuzzing::session(&[]);
    assert!(client.established && server.established);
    assert_eq!(client.error, None);
    assert_eq!(server.error, None);
    // An AES-128-only client and an AES-256-only server share no suite.
    let [client, server] = fuzzing::session(&seed("session", "aes128-client-aes256-server"));
    assert!(matches!(
        server.error,
        Some(rsatls::Error::HandshakeFailure(_))
    ));
    assert_eq!(
        client.error,
        Some(rsatls::Error::AlertReceived(
            AlertDescription::HANDSHAKE_FAILURE
        ))
    );
}

#[test]
fn empty_client_auth_scripts_are_clean_mutual_handshakes() {
    // Untampered scripts complete both sides; the target itself checks that the
    // server reports exactly the client's chain (or none, anonymous).
    for name in [
        "required",
        "optional",
        "optional-anonymous",
        "aes256-required",
    ] {
        let [client, server] = fuzzing::session_client_auth(&seed("session_client_auth", name));
        assert!(
            client.established && server.established,
            "{name}: {client:?} {server:?}"
        );
        assert_eq!((&client.error, &server.error), (&None, &None), "{name}");
    }
}

#[test]
fn engine_targets_catch_what_they_claim_to() {
    // A server fed the golden client bytes with one bit of the Finished record
    // flipped fails with bad_record_mac, and the run still passes its checks.
    let mut data = seed("server", "aes128-whole");
    let last = data.len() - 40;
    data[last] ^= 1;
    let outcome = fuzzing::server(&data);
    assert!(!outcome.established);
    assert!(outcome.error.is_some());
    // Data before the handshake completes is refused by the engine.
    let early = [&[0u8][..], &[23, 3, 3, 0, 1, 0x61]].concat();
    let outcome = fuzzing::server_transparent(&early);
    assert!(matches!(
        outcome.error,
        Some(rsatls::Error::UnexpectedMessage { .. })
    ));
}

#[test]
fn engine_targets_stay_within_a_heap_bound_on_every_corpus_file() {
    // Peak live heap of one run, configurations aside (built once, before
    // measuring): the engine holds at most one record of input, one handshake
    // message and bounded output; the run itself keeps copies of what was
    // written and received, which grow with the input. Seeds peak near 50 KiB.
    const FIXED: u64 = 256 << 10;
    for name in [
        "server",
        "server_transparent",
        "client",
        "client_transparent",
        "session",
    ] {
        let target = TARGETS.iter().find(|t| t.name == name).unwrap();
        let mut files = files_in(&fuzz_dir().join("corpus").join(name));
        files.extend(files_in(&fuzz_dir().join("regressions").join(name)));
        (target.run)(&[]);
        (target.run)(&fs::read(&files[0]).unwrap());
        for path in files {
            let data = fs::read(&path).unwrap();
            let peak = allocation_counter::measure(|| (target.run)(&data)).bytes_max;
            let bound = FIXED + 16 * data.len() as u64;
            assert!(
                peak <= bound,
                "{}: peak heap {peak} > {bound}",
                path.display()
            );
        }
    }
}

// ---- Seed generation -----------------------------------------------------------

#[test]
fn the_fixtures_replay_the_golden_transcripts() {
    assert_eq!((CLIENT_SEED, SERVER_SEED), (0xc11e47, 0x5e27e2));
    for (suite, file) in suites() {
        let want = fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/golden/{file}.txt")),
        )
        .unwrap();
        let got: String = transcript(Crypto::Real, suite)
            .iter()
            .map(|f| {
                let who = if f.from == Side::Client { 'C' } else { 'S' };
                format!("{who} {}\n", hex(&f.bytes))
            })
            .collect();
        assert_eq!(
            got, want,
            "fuzzing::transcript differs from golden/{file}.txt"
        );
    }
}

#[test]
fn passive_seeds_decrypt_the_ping_and_the_pong() {
    for (_, suite) in suites() {
        for kind in ["golden", "clear"] {
            for cut in ["flights", "chunks"] {
                let data = seed("passive_session", &format!("{kind}-{suite}-{cut}"));
                assert_eq!(fuzzing::passive_session(&data), 8, "{kind}-{suite}-{cut}");
            }
        }
    }
}

#[test]
fn seed_corpus_is_up_to_date() {
    let seeds = seeds();
    let write = std::env::var_os("RSATLS_WRITE_CORPUS").is_some();
    let mut stale = Vec::new();
    for target in TARGETS.iter().map(|t| t.name) {
        let dir = fuzz_dir().join("corpus").join(target);
        let want = seeds.get(target).cloned().unwrap_or_default();
        let existing: BTreeMap<String, Vec<u8>> = files_in(&dir)
            .into_iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                name.starts_with(SEED_PREFIX)
                    .then(|| (name, fs::read(&p).unwrap()))
            })
            .collect();
        if existing == want {
            continue;
        }
        if !write {
            stale.push(target);
            continue;
        }
        fs::create_dir_all(&dir).unwrap();
        for name in existing.keys() {
            fs::remove_file(dir.join(name)).unwrap();
        }
        for (name, bytes) in &want {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }
    assert!(
        stale.is_empty(),
        "seed corpora of {stale:?} are stale: RSATLS_WRITE_CORPUS=1 cargo test --test fuzz_corpus"
    );
}

fn suites() -> [(&'static Suite, &'static str); 2] {
    [
        (&TLS_RSA_WITH_AES_128_GCM_SHA256, "aes128"),
        (&TLS_RSA_WITH_AES_256_GCM_SHA384, "aes256"),
    ]
}

/// Seeds per target: file name → bytes.
type Seeds = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

fn add(seeds: &mut Seeds, target: &'static str, name: impl Into<String>, bytes: Vec<u8>) {
    let files = seeds.entry(target).or_default();
    // Identical inputs (the ClientHello under both providers, say) are kept once.
    if !files.values().any(|b| *b == bytes) {
        files.insert(format!("{SEED_PREFIX}{}", name.into()), bytes);
    }
}

/// A record: type, fragment, and the plaintext if it can be read here.
struct Record {
    typ: ContentType,
    fragment: Vec<u8>,
    plain: Option<Vec<u8>>,
}

/// Splits one side's flights into records; after that side's ChangeCipherSpec
/// they are protected, and readable only under the transparent provider.
fn records(flights: &[&Flight], crypto: Crypto) -> Vec<Record> {
    let mut out = Vec::new();
    let mut protected = false;
    for flight in flights {
        let mut rest = &flight.bytes[..];
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            let (typ, fragment) = (ContentType(rest[0]), rest[5..5 + len].to_vec());
            rest = &rest[5 + len..];
            let plain = match (protected, crypto) {
                (false, _) => Some(fragment.clone()),
                (true, Crypto::Transparent) => Some(fragment[8..len - 16].to_vec()),
                (true, Crypto::Real) => None,
            };
            protected |= typ == ContentType::CHANGE_CIPHER_SPEC;
            out.push(Record {
                typ,
                fragment,
                plain,
            });
        }
    }
    out
}

fn seeds() -> Seeds {
    let mut seeds = Seeds::new();
    for (suite, suite_name) in suites() {
        for crypto in [Crypto::Real, Crypto::Transparent] {
            let (kind, server, client) = match crypto {
                Crypto::Real => ("golden", "server", "client"),
                Crypto::Transparent => ("clear", "server_transparent", "client_transparent"),
            };
            let tag = format!("{kind}-{suite_name}");
            let flights = transcript(crypto, suite);
            let from = |side| {
                flights
                    .iter()
                    .filter(move |f| f.from == side)
                    .collect::<Vec<_>>()
            };
            let (c, s) = (from(Side::Client), from(Side::Server));
            let concat =
                |fs: &[&Flight]| fs.iter().flat_map(|f| f.bytes.clone()).collect::<Vec<u8>>();

            // Record streams.
            for (i, f) in flights.iter().enumerate() {
                add(
                    &mut seeds,
                    "deframe",
                    format!("{tag}-flight{i}"),
                    f.bytes.clone(),
                );
            }
            add(&mut seeds, "deframe", format!("{tag}-client"), concat(&c));
            add(&mut seeds, "deframe", format!("{tag}-server"), concat(&s));

            // The passive decoder: the whole conversation, in whole flights and
            // in 100-byte chunks under small limits.
            add(
                &mut seeds,
                "passive_session",
                format!("{tag}-flights"),
                fuzzing::passive_seed(crypto, false, &flights, usize::MAX),
            );
            add(
                &mut seeds,
                "passive_session",
                format!("{tag}-chunks"),
                fuzzing::passive_seed(crypto, true, &flights, 100),
            );

            // Engines: a control byte (configuration, chunking), then the peer's bytes.
            let client_variant = match suite_name {
                "aes128" => 1,
                _ => 2,
            };
            for (chunking, mode) in [
                ("whole", 0u8),
                ("chunks-2", 1),
                ("chunks-64", 6),
                ("chunks-1024", 10),
            ] {
                let server_seed = [&[mode << 2][..], &concat(&c)].concat();
                if matches!(crypto, Crypto::Real) {
                    for (answer, offload) in OFFLOAD_SEEDS {
                        add(
                            &mut seeds,
                            "server_offload",
                            format!("{suite_name}-{chunking}-{answer}"),
                            [&[mode << 2, offload][..], &concat(&c)].concat(),
                        );
                    }
                }
                add(
                    &mut seeds,
                    server,
                    format!("{suite_name}-{chunking}"),
                    server_seed,
                );
                let client_seed = [&[mode << 2 | client_variant][..], &concat(&s)].concat();
                add(
                    &mut seeds,
                    client,
                    format!("{suite_name}-{chunking}"),
                    client_seed,
                );
            }
            add(
                &mut seeds,
                server,
                format!("{suite_name}-hello"),
                [&[0][..], &c[0].bytes].concat(),
            );
            add(
                &mut seeds,
                server,
                format!("{suite_name}-handshake"),
                [&[0][..], &concat(&c[..2])].concat(),
            );
            add(
                &mut seeds,
                client,
                format!("{suite_name}-hello"),
                [&[client_variant][..], &s[0].bytes].concat(),
            );
            add(
                &mut seeds,
                client,
                format!("{suite_name}-allow-no-ems"),
                [&[3][..], &concat(&s)].concat(),
            );

            // Messages and alerts, from every record that can be read.
            for (side, fs) in [("client", &c), ("server", &s)] {
                let recs = records(fs, crypto);
                let mut handshake = Vec::new();
                for (i, r) in recs.iter().enumerate() {
                    match (r.typ, &r.plain) {
                        (ContentType::HANDSHAKE, Some(p)) => handshake.extend_from_slice(p),
                        (ContentType::ALERT, Some(p)) => {
                            add(&mut seeds, "alert", format!("{tag}-{side}-{i}"), p.clone());
                        }
                        _ => {}
                    }
                    // Record protection: the fragment at its own sequence number.
                    let flags = u8::from(crypto == Crypto::Transparent)
                        | u8::from(suite_name == "aes256") << 1
                        | 1 << 2;
                    let mut input = vec![flags];
                    input.extend_from_slice(&(i as u64).to_be_bytes());
                    input.extend_from_slice(&[0; 36]);
                    input.push(r.typ.0);
                    input.extend_from_slice(&(r.fragment.len() as u16).to_be_bytes());
                    input.extend_from_slice(&r.fragment);
                    input.extend_from_slice(b"plaintext to seal");
                    if r.plain.is_some() && r.typ != ContentType::CHANGE_CIPHER_SPEC {
                        add(
                            &mut seeds,
                            "record_open",
                            format!("{tag}-{side}-{i}"),
                            input,
                        );
                    }
                }
                let mut rest = &handshake[..];
                while rest.len() >= 4 {
                    let len = usize::from(rest[1]) << 16
                        | usize::from(rest[2]) << 8
                        | usize::from(rest[3]);
                    let (typ, body) = (HandshakeType(rest[0]), rest[4..4 + len].to_vec());
                    rest = &rest[4 + len..];
                    let target = match typ {
                        HandshakeType::CLIENT_HELLO => "client_hello",
                        HandshakeType::SERVER_HELLO => "server_hello",
                        HandshakeType::CERTIFICATE => "certificate",
                        HandshakeType::CLIENT_KEY_EXCHANGE => "client_key_exchange",
                        HandshakeType::FINISHED => "finished",
                        _ => continue,
                    };
                    add(&mut seeds, target, format!("{tag}-{side}"), body);
                }
            }
        }
    }
    synthetic_seeds(&mut seeds);
    seeds
}

/// A few seeds the golden conversation lacks: other extensions, other sizes,
/// other alerts, sequence numbers at the limit, session scripts.
fn synthetic_seeds(seeds: &mut Seeds) {
    let golden = transcript(Crypto::Real, &TLS_RSA_WITH_AES_128_GCM_SHA256);
    let hello = HandshakeMessage::decode(&golden[0].bytes[5..]).expect("golden ClientHello");
    let HandshakeMessage::ClientHello(ch) = hello else {
        panic!("the first golden message is a ClientHello");
    };
    let body = |m: HandshakeMessage| m.to_bytes()[4..].to_vec();
    // The golden servers never ask for a client certificate.
    add(
        seeds,
        "certificate_request",
        "openssl-like",
        body(HandshakeMessage::CertificateRequest(CertificateRequest {
            certificate_types: vec![
                ClientCertificateType::RSA_SIGN,
                ClientCertificateType::ECDSA_SIGN,
            ],
            signature_schemes: vec![
                SignatureScheme::RSA_PSS_RSAE_SHA256,
                SignatureScheme::RSA_PKCS1_SHA256,
                SignatureScheme::ECDSA_SECP256R1_SHA256,
            ],
            certificate_authorities: vec![b"0\x0e1\x0c0\n\x06\x03U\x04\x03\x0c\x03CA1".to_vec()],
        })),
    );
    // One vector at zero length each, against its lower bound: none may decode.
    for (name, bytes) in [
        ("empty-types", vec![0, 0, 2, 4, 1, 0, 0]),
        ("empty-schemes", vec![1, 1, 0, 0, 0, 0]),
        ("empty-dn", vec![1, 1, 0, 2, 4, 1, 0, 2, 0, 0]),
    ] {
        add(seeds, "certificate_request", name, bytes);
    }
    add(
        seeds,
        "certificate_request",
        "minimal",
        body(HandshakeMessage::CertificateRequest(CertificateRequest {
            certificate_types: vec![ClientCertificateType::RSA_SIGN],
            signature_schemes: vec![SignatureScheme::RSA_PKCS1_SHA256],
            certificate_authorities: Vec::new(),
        })),
    );
    let mut variant = ch.clone();
    variant.extensions = None;
    add(
        seeds,
        "client_hello",
        "no-extensions",
        body(HandshakeMessage::ClientHello(variant)),
    );
    let mut variant = ch.clone();
    variant.client_version = ProtocolVersion::TLSV1_1;
    variant.cipher_suites.push(CipherSuite::TLS_FALLBACK_SCSV);
    variant.session_id = vec![7; 32];
    let exts = variant.extensions.get_or_insert_with(Vec::new);
    exts.push(Extension::Alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()]));
    exts.push(Extension::RenegotiationInfo(Vec::new()));
    exts.push(Extension::Unknown(ExtensionType(0x002b), vec![2, 3, 4]));
    add(
        seeds,
        "client_hello",
        "fallback-alpn-reneg",
        body(HandshakeMessage::ClientHello(variant)),
    );

    for (name, bytes) in [
        (
            "fatal-handshake-failure",
            vec![AlertLevel::FATAL.0, AlertDescription::HANDSHAKE_FAILURE.0],
        ),
        (
            "warning-no-renegotiation",
            vec![AlertLevel::WARNING.0, AlertDescription::NO_RENEGOTIATION.0],
        ),
        ("short", vec![2]),
        ("long", vec![2, 20, 0]),
    ] {
        add(seeds, "alert", name, bytes);
    }
    // Chains the golden server never sends: two certificates, none, non-RSA and
    // too-small keys (a body is certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>).
    let der = |name: &str| {
        fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{name}.cert.der")))
            .unwrap()
    };
    for (name, chain) in [
        ("two", vec![der("rsa2048"), der("other2048")]),
        ("empty", vec![]),
        ("ec256", vec![der("ec256")]),
        ("rsa1024", vec![der("rsa1024")]),
    ] {
        add(
            seeds,
            "certificate",
            name,
            body(HandshakeMessage::Certificate(chain)),
        );
    }
    add(seeds, "finished", "short", vec![0; 11]);
    add(seeds, "finished", "long", vec![0; 13]);

    // Record protection at and around the sequence limit, and at 2^64 - 1.
    for (name, flags, raw) in [
        ("near-limit", 0b1001u8, 2u64),
        ("at-limit", 0b1001, 3),
        ("max", 0b1101, 0),
    ] {
        let mut input = vec![flags];
        input.extend_from_slice(&raw.to_be_bytes());
        input.extend_from_slice(&[0; 36]);
        input.push(ContentType::APPLICATION_DATA.0);
        input.extend_from_slice(&40u16.to_be_bytes());
        input.extend_from_slice(&[0; 24]);
        input.extend_from_slice(TAG);
        input.extend_from_slice(b"data");
        add(seeds, "record_open", name, input);
    }

    // CertificateVerify bodies (the golden servers never ask for one): each
    // scheme rsatls signs with at the rsa2048 signature length, an empty and an
    // odd-length signature, SHA-1 and an unknown pair, and malformed lengths.
    for scheme in [0x0804u16, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601] {
        let mut cv = scheme.to_be_bytes().to_vec();
        cv.extend_from_slice(&256u16.to_be_bytes());
        cv.extend((0..256u32).map(|i| (i * 7 + u32::from(scheme)) as u8));
        add(seeds, "certificate_verify", format!("{scheme:04x}-256"), cv);
    }
    for (name, bytes) in [
        ("empty-signature", vec![0x08, 0x04, 0, 0]),
        ("sha1", [&[0x02, 0x01, 0, 3][..], &[1, 2, 3]].concat()),
        ("unknown-pair", [&[0xfe, 0xfe, 0, 2][..], &[9, 9]].concat()),
        ("short-length", vec![0x08, 0x04, 0, 4, 1, 2]),
        ("trailing-byte", vec![0x04, 0x01, 0, 1, 1, 0]),
        ("no-length", vec![0x08, 0x04]),
    ] {
        add(seeds, "certificate_verify", name, bytes);
    }

    // Mutual-TLS session scripts: the empty script under each setup (Required,
    // Optional, Optional without a certificate) and a few pseudo-random ones.
    for (name, bytes) in [
        ("required", vec![]),
        ("optional", vec![0, 1]),
        ("optional-anonymous", vec![0, 2]),
        ("aes256-required", vec![2, 0]),
    ] {
        add(seeds, "session_client_auth", name, bytes);
    }
    let mut state = 0x9e37_79b9_u32;
    for len in [8usize, 32, 128, 512] {
        let bytes = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        add(seeds, "session_client_auth", format!("random-{len}"), bytes);
    }

    // Session scripts: the empty script (a clean handshake) and a few
    // pseudo-random ones for the fuzzer to start from.
    add(seeds, "session", "empty", Vec::new());
    // The first two bytes pick the client's and the server's `Variant`.
    add(seeds, "session", "aes128-client-aes256-server", vec![1, 2]);
    add(
        seeds,
        "session",
        "ems-optional-client-aes256-server",
        vec![3, 2],
    );
    let mut state = 0x2545_f491_u32;
    for len in [8usize, 16, 32, 64, 128, 256, 512, 1024] {
        let bytes = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        add(seeds, "session", format!("random-{len}"), bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
