//! PKCS#11 keys (`rsatls::pkcs11`, `serve`/`proxy --pkcs11-module`) against a
//! SoftHSM2 token made for the run: the RSA-2048 key pair is generated IN the
//! token (sensitive, not extractable), a test CA (openssl) certifies its public
//! key, and no server key file ever exists.
//!
//! SoftHSM2 reads its configuration (`SOFTHSM2_CONF`) when the module is
//! initialized, and a test may not set environment variables (that needs
//! `unsafe`), so this file has its own `main` (`harness = false`): run without
//! `RSATLS_PKCS11_DIR`, it makes a temporary directory and configuration and
//! runs itself again with both variables set; that second process creates the
//! token and runs the tests one by one. Arguments are substrings of test names
//! to run (as with libtest); `--list` lists them; other options
//! (`--nocapture`, `--test-threads N`, ...) are ignored.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use rsatls::crypto::RsaPrivateKey;
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::pkcs11::{KeySpec, Pkcs11Error, Pkcs11Key};
use rsatls::{ClientConfig, Error, Event, ServerAuth, ServerConfig};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "rsatls test";
const PIN: &str = "246810";
const SO_PIN: &str = "13579135";
/// The key every test serves with.
const KEY: &str = "tls";
/// A key that one test deletes.
const DOOMED: &str = "doomed";
/// No run of a binary here needs longer.
const LIMIT: Duration = Duration::from_secs(60);

type Test = fn(&Fixture);

const TESTS: &[(&str, Test)] = &[
    (
        "the_key_is_in_the_token_and_not_extractable",
        key_is_sensitive,
    ),
    ("raw_decrypt_matches_the_public_key", raw_decrypt_matches),
    ("more_threads_than_sessions", more_threads_than_sessions),
    ("in_process_handshake_inline", handshake_inline),
    ("in_process_handshake_offloaded", handshake_offloaded),
    ("no_oracle_with_the_token_key", no_oracle),
    ("open_errors_are_typed_and_clear", open_errors),
    ("curl_and_openssl_through_serve", curl_and_openssl_serve),
    (
        "curl_and_openssl_through_proxy",
        curl_and_openssl_through_proxy,
    ),
    ("cli_errors_and_exit_codes", cli_errors),
    ("token_without_raw_rsa_is_refused", no_raw_rsa),
    ("removed_key_reload_and_restart", removed_key),
];

fn main() -> ExitCode {
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // libtest's options that take a value: the value is no filter.
            "--test-threads" | "--skip" | "--format" | "--color" | "--logfile" | "-Z" => {
                args.next();
            }
            // `cargo test -- --list`: the names, as libtest prints them.
            "--list" => {
                TESTS.iter().for_each(|(name, _)| println!("{name}: test"));
                return ExitCode::SUCCESS;
            }
            a if a.starts_with('-') => (),
            _ => filters.push(arg),
        }
    }
    match std::env::var_os("RSATLS_PKCS11_DIR") {
        None => parent(),
        Some(dir) => child(PathBuf::from(dir), &filters),
    }
}

/// Makes the token directory and configuration, runs this binary again with
/// them in its environment, and cleans up.
fn parent() -> ExitCode {
    assert!(
        Path::new(MODULE).is_file(),
        "{MODULE} is missing: install softhsm2 (.ci/run does)"
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("rsatls-pkcs11-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = write_conf(&dir, "softhsm2.conf", "");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env("RSATLS_PKCS11_DIR", &dir)
        .env("SOFTHSM2_CONF", &conf)
        .status()
        .expect("run the tests in a child");
    let _ = std::fs::remove_dir_all(&dir);
    match status.success() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// A SoftHSM2 configuration for the tokens under `dir`, plus `extra` lines.
fn write_conf(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let conf = dir.join(name);
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
             slots.removable = false\n{extra}",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    conf
}

fn child(dir: PathBuf, filters: &[String]) -> ExitCode {
    let fixture = Fixture::new(dir);
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in TESTS {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&fixture)));
        let verdict = match outcome {
            Ok(()) => "ok",
            Err(_) => {
                failed.push(*name);
                "FAILED"
            }
        };
        println!(
            "test {name} ... {verdict} ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "\npkcs11: {} passed; {} failed ({ran} run)",
        ran - failed.len(),
        failed.len()
    );
    match failed.is_empty() {
        true => ExitCode::SUCCESS,
        false => {
            println!("failures: {failed:?}");
            ExitCode::FAILURE
        }
    }
}

/// The token, its keys' certificates and the CA, made once per run.
struct Fixture {
    dir: PathBuf,
    ctx: Pkcs11,
    slot: Slot,
    ca: PathBuf,
    /// The certificate of [`KEY`] (for 127.0.0.1 and localhost).
    cert: PathBuf,
    /// The certificate of [`DOOMED`].
    doomed_cert: PathBuf,
    pin_file: PathBuf,
}

impl Fixture {
    fn new(dir: PathBuf) -> Self {
        let ctx = Pkcs11::new(MODULE).expect("load SoftHSM2");
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .expect("C_Initialize");
        // SoftHSM2 always shows one free slot with an uninitialized token.
        let free = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| !ctx.get_token_info(*s).unwrap().token_initialized())
            .expect("a free SoftHSM2 slot");
        ctx.init_token(free, &AuthPin::from(SO_PIN), TOKEN).unwrap();
        let slot = ctx
            .get_slots_with_initialized_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).unwrap().label() == TOKEN)
            .expect("the new token");
        {
            let so = ctx.open_rw_session(slot).unwrap();
            so.login(UserType::So, Some(&AuthPin::from(SO_PIN)))
                .unwrap();
            so.init_pin(&AuthPin::from(PIN)).unwrap();
        }
        let pin_file = dir.join("pin.txt");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();

        let ca_key = dir.join("ca.key");
        let ca = dir.join("ca.pem");
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            s(&ca_key),
            "-out",
            s(&ca),
            "-subj",
            "/CN=rsatls PKCS#11 test CA",
            "-days",
            "2",
        ]);
        let mut fixture = Self {
            dir,
            ctx,
            slot,
            ca,
            cert: PathBuf::new(),
            doomed_cert: PathBuf::new(),
            pin_file,
        };
        fixture.cert = fixture.generate_and_certify(KEY, &[1]);
        fixture.doomed_cert = fixture.generate_and_certify(DOOMED, &[2]);
        fixture
    }

    /// A logged-in read-write session on the test token.
    fn user_session(&self) -> Session {
        let session = self.ctx.open_rw_session(self.slot).unwrap();
        match session.login(UserType::User, Some(&AuthPin::from(PIN))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => (),
            Err(e) => panic!("login: {e}"),
        }
        session
    }

    /// Generates an RSA-2048 key pair in the token (the private half
    /// sensitive and not extractable) and has the CA certify its public key.
    fn generate_and_certify(&self, label: &str, id: &[u8]) -> PathBuf {
        let session = self.user_session();
        let common = |class| {
            vec![
                Attribute::Class(class),
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ]
        };
        let mut public = common(ObjectClass::PUBLIC_KEY);
        public.extend([
            Attribute::ModulusBits(2048u64.into()),
            Attribute::PublicExponent(vec![1, 0, 1]),
            Attribute::Encrypt(true),
        ]);
        let mut private = common(ObjectClass::PRIVATE_KEY);
        private.extend([
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Decrypt(true),
        ]);
        let (pub_handle, _) = session
            .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private)
            .unwrap();
        let (n, e) = modulus_and_exponent(&session, pub_handle);
        let spki = dir_file(&self.dir, &format!("{label}.pub.pem"));
        std::fs::write(&spki, spki_pem(&n, &e)).unwrap();
        let ext = dir_file(&self.dir, "leaf.ext");
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        let cert = dir_file(&self.dir, &format!("{label}.cert.pem"));
        openssl(&[
            "x509",
            "-new",
            "-CA",
            s(&self.ca),
            "-CAkey",
            s(&self.dir.join("ca.key")),
            "-force_pubkey",
            s(&spki),
            "-subj",
            "/CN=localhost",
            "-days",
            "2",
            "-extfile",
            s(&ext),
            "-out",
            s(&cert),
        ]);
        cert
    }

    fn chain(&self, cert: &Path) -> Vec<Vec<u8>> {
        rsatls::pki::load_certificates(&std::fs::read(cert).unwrap()).unwrap()
    }

    fn open(&self, label: &str) -> Pkcs11Key {
        Pkcs11Key::open(
            MODULE.as_ref(),
            &KeySpec::parse(label).unwrap(),
            Some(PIN),
            2,
        )
        .unwrap_or_else(|e| panic!("open {label}: {e}"))
    }

    fn server_config(&self) -> ServerConfig {
        ServerConfig::with_private_key(
            common::provider(),
            self.chain(&self.cert),
            Arc::new(self.open(KEY)),
        )
        .expect("the certificate matches the token's key")
    }

    fn client_config(&self) -> ClientConfig {
        let chain = self.chain(&self.cert);
        let info = rsatls::pki::rsa_key_from_certificate(&chain[0]).unwrap();
        let pin = rsatls::pki::pin_of_spki(common::provider().as_ref(), &info.spki_der);
        ClientConfig::new(common::provider(), ServerAuth::Pins(vec![pin]))
    }
}

fn dir_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn modulus_and_exponent(session: &Session, key: ObjectHandle) -> (Vec<u8>, Vec<u8>) {
    let attrs = session
        .get_attributes(
            key,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
        )
        .unwrap();
    let mut n = Vec::new();
    let mut e = Vec::new();
    for a in attrs {
        match a {
            Attribute::Modulus(v) => n = v,
            Attribute::PublicExponent(v) => e = v,
            _ => (),
        }
    }
    (n, e)
}

/// A DER length.
fn der_len(len: usize) -> Vec<u8> {
    match len {
        0..=0x7f => vec![len as u8],
        0x80..=0xff => vec![0x81, len as u8],
        _ => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(body.len()));
    out.extend_from_slice(body);
    out
}

/// A positive INTEGER from big-endian magnitude bytes.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let bytes = &bytes[bytes.iter().take_while(|&&b| b == 0).count()..];
    let mut body = Vec::new();
    if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(bytes);
    der(0x02, &body)
}

/// The SubjectPublicKeyInfo (RFC 5280, rsaEncryption from RFC 8017) of
/// (n, e), as PEM, for `openssl x509 -force_pubkey`.
fn spki_pem(n: &[u8], e: &[u8]) -> String {
    use base64ct::Encoding;
    let rsa_key = der(0x30, &[der_uint(n), der_uint(e)].concat());
    // 1.2.840.113549.1.1.1 with NULL parameters.
    let alg = der(
        0x30,
        &[
            der(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let bits = der(0x03, &[&[0u8][..], &rsa_key].concat());
    let spki = der(0x30, &[alg, bits].concat());
    let b64 = base64ct::Base64::encode_string(&spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

// ---- in-process -------------------------------------------------------------

fn key_is_sensitive(f: &Fixture) {
    let session = f.user_session();
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(KEY.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1);
    let attrs = session
        .get_attributes(
            found[0],
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::PrivateExponent,
            ],
        )
        .unwrap();
    assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
    assert!(
        !attrs
            .iter()
            .any(|a| matches!(a, Attribute::PrivateExponent(_))),
        "the token must not reveal the private exponent: {attrs:?}"
    );
    // No key file anywhere in the run's directory: only the CA's.
    for entry in std::fs::read_dir(&f.dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.ends_with(".key") || name == "ca.key",
            "unexpected key file {name}"
        );
    }
}

fn raw_decrypt_matches(f: &Fixture) {
    let key = f.open(KEY);
    assert_eq!(key.modulus_bits(), 2048);
    assert_eq!(key.modulus_len(), 256);
    assert_eq!(key.public_exponent(), vec![1, 0, 1]);
    let public = common::provider()
        .rsa_public_key(&key.public_modulus(), &key.public_exponent())
        .unwrap();
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7);
    // Leading zero bytes in the result must survive (a k-byte answer).
    for lead in [0usize, 1, 2, 9] {
        let mut m = vec![0x42u8; 256];
        m[..lead].fill(0);
        m[lead] = 0x01;
        let mut c = vec![0u8; 256];
        public.raw_encrypt(&m, &mut c).unwrap();
        let mut out = vec![0xeeu8; 256];
        key.raw_decrypt(&c, &mut out, &mut rng).unwrap();
        assert_eq!(out, m, "leading zeros {lead}");
    }
    // A representative >= n fails (public data), wrong lengths fail.
    let mut out = vec![0u8; 256];
    assert!(key.raw_decrypt(&[0xff; 256], &mut out, &mut rng).is_err());
    assert!(key.raw_decrypt(&[1; 255], &mut out, &mut rng).is_err());
}

/// Eight threads share a key with two sessions: each operation waits for a
/// free session and gets its own answer (a lost wake-up would hang here).
fn more_threads_than_sessions(f: &Fixture) {
    let key = Arc::new(
        Pkcs11Key::open(MODULE.as_ref(), &KeySpec::parse(KEY).unwrap(), Some(PIN), 2).unwrap(),
    );
    assert_eq!(key.sessions(), 2);
    let _ = f;
    let public = common::provider()
        .rsa_public_key(&key.public_modulus(), &key.public_exponent())
        .unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    for t in 0..8u8 {
        let mut m = vec![t; 256];
        m[0] = 0;
        let mut c = vec![0u8; 256];
        public.raw_encrypt(&m, &mut c).unwrap();
        let key = key.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
            let mut ok = true;
            for _ in 0..10 {
                let mut out = vec![0u8; 256];
                ok &= key.raw_decrypt(&c, &mut out, &mut rng).is_ok() && out == m;
            }
            let _ = done.send(ok);
        });
    }
    for _ in 0..8 {
        let ok = finished
            .recv_timeout(LIMIT)
            .expect("a thread waits for a session forever");
        assert!(ok, "a decryption failed or gave another answer");
    }
}

/// Runs one client/server handshake in memory; with `offload`, the server's
/// private-key operation runs on another thread.
fn run_handshake(f: &Fixture, offload: bool) -> Vec<Vec<u8>> {
    let config = f.server_config().with_private_key_offload(offload);
    let mut c = common::client(f.client_config(), 11);
    let mut s = common::server(config, 12);
    let mut flights = Vec::new();
    let mut ops = 0;
    for _ in 0..8 {
        let out = common::take_output(&mut c);
        if !out.is_empty() {
            let mut fed = 0;
            while fed < out.len() {
                fed += s.read_tls(&out[fed..]).unwrap();
                while let Some(ev) = s.poll_event().unwrap() {
                    if let Event::PrivateKeyOperation(op) = ev {
                        ops += 1;
                        assert!(s.awaits_private_key_operation());
                        let result = std::thread::spawn(move || op.run()).join().unwrap();
                        s.complete_private_key_operation(result).unwrap();
                    }
                }
            }
            flights.push(out);
        }
        let back = common::take_output(&mut s);
        if back.is_empty() {
            continue;
        }
        common::feed(&mut c, &back, usize::MAX).unwrap();
        flights.push(back);
    }
    assert_eq!(ops, usize::from(offload), "operations handed out");
    assert!(s.handshake_info().is_some(), "the server completed");
    assert!(c.handshake_info().is_some(), "the client completed");
    flights
}

fn handshake_inline(f: &Fixture) {
    run_handshake(f, false);
}

fn handshake_offloaded(f: &Fixture) {
    // The token blinds on its own and the rest is seeded: offloaded and
    // inline handshakes are the same bytes.
    assert_eq!(run_handshake(f, true), run_handshake(f, false));
}

/// Splits a flight into whole records (header included).
fn records(flight: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = flight;
    while rest.len() >= 5 {
        let len = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    out
}

/// The server's whole output when the client's second flight is edited.
fn server_output(
    f: &Fixture,
    config: ServerConfig,
    edit: impl FnOnce(Vec<Vec<u8>>) -> Vec<Vec<u8>>,
) -> (Vec<u8>, Error) {
    let mut c = common::client(f.client_config(), 41);
    let mut s = common::server(config, 42);
    common::feed(&mut s, &common::take_output(&mut c), usize::MAX).unwrap();
    let mut out = common::take_output(&mut s);
    common::feed(&mut c, &out, usize::MAX).unwrap();
    let flight = records(&common::take_output(&mut c));
    assert_eq!(
        flight.len(),
        3,
        "ClientKeyExchange, ChangeCipherSpec, Finished"
    );
    let wire = edit(flight).concat();
    let err = common::feed(&mut s, &wire, usize::MAX).unwrap_err();
    out.extend(common::take_output(&mut s));
    (out, err)
}

fn no_oracle(f: &Fixture) {
    let config = || f.server_config();
    let (reference, err) = server_output(f, config(), |mut flight| {
        *flight.last_mut().unwrap().last_mut().unwrap() ^= 1;
        flight
    });
    assert_eq!(err, Error::BadRecordMac);
    let key = f.open(KEY);
    let public = common::provider()
        .rsa_public_key(&key.public_modulus(), &key.public_exponent())
        .unwrap();
    let block = |typ: u8, version: [u8; 2], len: usize| {
        let mut em = vec![0x5au8; 256];
        em[0] = 0;
        em[1] = typ;
        em[256 - len - 1] = 0;
        em[256 - len..].fill(0x33);
        em[256 - len..256 - len + 2].copy_from_slice(&version);
        let mut c = vec![0u8; 256];
        public.raw_encrypt(&em, &mut c).unwrap();
        c
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("wrong version", block(2, [3, 1], 48)),
        ("premaster of 47 bytes", block(2, [3, 3], 47)),
        ("block type 1", block(1, [3, 3], 48)),
        (
            "random bytes",
            (0..256).map(|i| (i * 7 + 3) as u8 & 0x7f).collect(),
        ),
        ("all ones (>= n)", vec![0xff; 256]),
        ("one byte short", vec![0x11; 255]),
    ];
    for (offload, (name, ciphertext)) in [false, true]
        .into_iter()
        .flat_map(|o| cases.iter().map(move |c| (o, c)))
    {
        let config = config().with_private_key_offload(offload);
        let (out, err) = server_output_completing(f, config, offload, |mut flight| {
            flight[0] = handshake_record(&HandshakeMessage::ClientKeyExchange(ciphertext.clone()));
            flight
        });
        assert_eq!(err, Error::BadRecordMac, "{name} (offload {offload})");
        assert_eq!(out, reference, "{name} (offload {offload}): output differs");
    }
}

/// [`server_output`], completing an offloaded operation as soon as it is
/// handed out (with the token's result).
fn server_output_completing(
    f: &Fixture,
    config: ServerConfig,
    offload: bool,
    edit: impl FnOnce(Vec<Vec<u8>>) -> Vec<Vec<u8>>,
) -> (Vec<u8>, Error) {
    if !offload {
        return server_output(f, config, edit);
    }
    let mut c = common::client(f.client_config(), 41);
    let mut s = common::server(config, 42);
    common::feed(&mut s, &common::take_output(&mut c), usize::MAX).unwrap();
    let mut out = common::take_output(&mut s);
    common::feed(&mut c, &out, usize::MAX).unwrap();
    let flight = records(&common::take_output(&mut c));
    let wire = edit(flight).concat();
    let mut fed = 0;
    let err = 'run: loop {
        loop {
            match s.poll_event() {
                Ok(Some(Event::PrivateKeyOperation(op))) => {
                    s.complete_private_key_operation(op.run()).unwrap();
                }
                Ok(Some(_)) => (),
                Ok(None) => break,
                Err(e) => break 'run e,
            }
        }
        assert!(fed < wire.len(), "the server never failed");
        fed += s.read_tls(&wire[fed..]).unwrap();
    };
    out.extend(common::take_output(&mut s));
    (out, err)
}

fn handshake_record(msg: &HandshakeMessage) -> Vec<u8> {
    let body = msg.to_bytes();
    let mut rec = vec![22, 3, 3];
    rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
    rec.extend_from_slice(&body);
    rec
}

fn open_errors(f: &Fixture) {
    let _ = f;
    let open = |module: &str, spec: &str, pin: Option<&str>| {
        Pkcs11Key::open(module.as_ref(), &KeySpec::parse(spec).unwrap(), pin, 1).unwrap_err()
    };
    let e = open("/nonexistent/libnothing.so", KEY, Some(PIN));
    assert!(matches!(e, Pkcs11Error::Module { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/libnothing.so"), "{e}");
    let e = open(MODULE, "pkcs11:token=nope;object=tls", Some(PIN));
    assert!(matches!(e, Pkcs11Error::NoToken { .. }), "{e}");
    assert!(
        e.to_string().contains("\"rsatls test\""),
        "lists the tokens: {e}"
    );
    let e = open(MODULE, KEY, Some("000000"));
    assert!(matches!(e, Pkcs11Error::WrongPin(_)), "{e}");
    let e = open(MODULE, KEY, None);
    assert!(matches!(e, Pkcs11Error::PinNeeded(_)), "{e}");
    let e = open(MODULE, "no such key", Some(PIN));
    assert!(matches!(e, Pkcs11Error::NoKey { .. }), "{e}");
    assert!(e.to_string().contains("label \"no such key\""), "{e}");
    let e = open(MODULE, "pkcs11:token=rsatls%20test;id=%09", Some(PIN));
    assert!(matches!(e, Pkcs11Error::NoKey { .. }), "{e}");
    // By URI: token and id, percent-encoded.
    Pkcs11Key::open(
        MODULE.as_ref(),
        &KeySpec::parse("pkcs11:token=rsatls%20test;id=%01;type=private").unwrap(),
        Some(PIN),
        1,
    )
    .unwrap();
}

// ---- the rsatls binary ------------------------------------------------------

/// A running `rsatls serve|proxy`, killed on drop.
struct Server {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(args: &[&str], conf: Option<&Path>) -> Result<Server, (Option<i32>, String)> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
        cmd.args(args)
            .env("RSATLS_TEST_PIN", PIN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(conf) = conf {
            cmd.env("SOFTHSM2_CONF", conf);
        }
        let mut child = cmd.spawn().expect("spawn rsatls");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        match lines.next() {
            Some(Ok(line)) if line.starts_with("listening on ") => {
                let addr = line["listening on ".len()..].to_string();
                std::thread::spawn(move || lines.for_each(drop));
                Ok(Server {
                    child,
                    addr,
                    stderr,
                })
            }
            _ => {
                let status = child.wait().unwrap();
                std::thread::sleep(Duration::from_millis(100));
                let text = stderr.lock().unwrap().clone();
                Err((status.code(), text))
            }
        }
    }

    fn port(&self) -> &str {
        self.addr.rsplit(':').next().unwrap()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// `serve`/`proxy` arguments for the token key `key` with certificate `cert`.
fn token_args(key: &str, cert: &Path) -> Vec<String> {
    [
        "--listen",
        "127.0.0.1:0",
        "--pkcs11-module",
        MODULE,
        "--pkcs11-key",
        key,
        "--pkcs11-pin-env",
        "RSATLS_TEST_PIN",
        "--cert",
        s(cert),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn start(sub: &[&str], key: &str, cert: &Path) -> Server {
    let mut args: Vec<String> = sub.iter().map(|a| a.to_string()).collect();
    args.extend(token_args(key, cert));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&args, None)
        .unwrap_or_else(|(code, err)| panic!("{args:?}: exit {code:?}\n{err}"))
}

/// curl over TLS 1.2 with `cipher` (OpenSSL's name) to the server, checking
/// the chain against the test CA.
fn curl(f: &Fixture, port: &str, cipher: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--tlsv1.2",
            "--tls-max",
            "1.2",
            "--ciphers",
            cipher,
            "--cacert",
            s(&f.ca),
            &format!("https://127.0.0.1:{port}/"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {cipher}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s_client(f: &Fixture, port: &str, cipher: &str) -> (String, String) {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-tls1_2",
            "-cipher",
            cipher,
            "-CAfile",
            s(&f.ca),
            "-verify_return_error",
            "-verify_ip",
            "127.0.0.1",
            "-brief",
            "-ign_eof",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < LIMIT, "openssl s_client hangs");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn curl_and_openssl_serve(f: &Fixture) {
    let server = start(&["serve", "--http"], KEY, &f.cert);
    for cipher in ["AES128-GCM-SHA256", "AES256-GCM-SHA384"] {
        let page = curl(f, server.port(), cipher);
        assert!(page.contains("rsatls"), "curl {cipher}: {page}");
        let (out, err) = s_client(f, server.port(), cipher);
        assert!(
            out.contains("HTTP/1.0 200"),
            "s_client {cipher}: {out}\n{err}"
        );
        assert!(err.contains(&format!("Ciphersuite: {cipher}")), "{err}");
        assert!(err.contains("Verification: OK"), "{err}");
    }
    let log = server.stderr();
    assert!(log.contains("TLS_RSA_WITH_AES_256_GCM_SHA384"), "{log}");
}

fn curl_and_openssl_through_proxy(f: &Fixture) {
    // An upstream that answers one HTTP request and closes.
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = upstream.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in upstream.incoming().take(4) {
            let mut conn: TcpStream = conn.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = conn
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 19\r\n\r\nfrom the upstream\r\n");
        }
    });
    let server = start(&["proxy", "--upstream", &up_addr], KEY, &f.cert);
    for cipher in ["AES128-GCM-SHA256", "AES256-GCM-SHA384"] {
        let page = curl(f, server.port(), cipher);
        assert_eq!(page, "from the upstream\r\n", "{cipher}");
        let (out, err) = s_client(f, server.port(), cipher);
        assert!(
            out.contains("from the upstream"),
            "s_client {cipher}: {out}\n{err}"
        );
        assert!(err.contains(&format!("Ciphersuite: {cipher}")), "{err}");
    }
}

/// Runs `rsatls ARGS` expecting it to fail before listening.
fn fails(args: &[&str], conf: Option<&Path>) -> (Option<i32>, String) {
    match Server::start(args, conf) {
        Ok(server) => panic!("{args:?} started on {}", server.addr),
        Err(failure) => failure,
    }
}

fn cli_errors(f: &Fixture) {
    let cert = s(&f.cert);
    let pin_file = s(&f.pin_file);
    let wrong_pin = f.dir.join("wrong-pin.txt");
    std::fs::write(&wrong_pin, "999999\n").unwrap();
    let base = |module: &str, key: &str| -> Vec<String> {
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--pkcs11-module",
            module,
        ]
        .iter()
        .chain(&["--pkcs11-key", key, "--cert", cert])
        .map(|a| a.to_string())
        .collect()
    };
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            [
                base("/nonexistent/libsofthsm2.so", KEY),
                vec!["--pkcs11-pin-file".into(), pin_file.into()],
            ]
            .concat(),
            3,
            "PKCS#11 module /nonexistent/libsofthsm2.so: no such file",
        ),
        (
            [
                base(MODULE, "pkcs11:token=missing;object=tls"),
                vec!["--pkcs11-pin-file".into(), pin_file.into()],
            ]
            .concat(),
            3,
            "no PKCS#11 token matches token=\"missing\"; tokens present: \"rsatls test\"",
        ),
        (
            [
                base(MODULE, KEY),
                vec!["--pkcs11-pin-file".into(), s(&wrong_pin).into()],
            ]
            .concat(),
            3,
            "refused the PIN (wrong PIN)",
        ),
        ([base(MODULE, KEY)].concat(), 3, "needs a PIN"),
        (
            [
                base(MODULE, "pkcs11:object=absent"),
                vec!["--pkcs11-pin-file".into(), pin_file.into()],
            ]
            .concat(),
            3,
            "has no private key with label \"absent\"",
        ),
        (
            [base(MODULE, "pkcs11:object=tls?pin-value=246810")].concat(),
            2,
            "pin-value in a pkcs11: URI is refused",
        ),
        (
            [base(MODULE, KEY), vec!["--pkcs11-pin".into(), PIN.into()]].concat(),
            2,
            "PINs are not taken on the command line",
        ),
        (
            [
                base(MODULE, KEY),
                vec![
                    "--key".into(),
                    cert.into(),
                    "--pkcs11-pin-file".into(),
                    pin_file.into(),
                ],
            ]
            .concat(),
            2,
            "exactly one --cert",
        ),
        (
            // The certificate of another key than the one named.
            [
                base(MODULE, KEY)[..7].to_vec(),
                vec![
                    "--cert".into(),
                    s(&f.doomed_cert).into(),
                    "--pkcs11-pin-file".into(),
                    pin_file.into(),
                ],
            ]
            .concat(),
            3,
            "does not match",
        ),
    ];
    for (args, code, needle) in cases {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, err) = fails(&argv, None);
        assert_eq!(got, Some(code), "{argv:?}\n{err}");
        assert!(err.contains(needle), "{argv:?}: wanted {needle:?}\n{err}");
    }
}

fn no_raw_rsa(f: &Fixture) {
    // The token offers CKM_RSA_PKCS (padding in the token) but not raw RSA.
    // (SoftHSM 2.6.1 ignores the documented `-MECH` form; a list of the
    // mechanisms kept works.)
    let conf = write_conf(
        &f.dir,
        "no-raw-rsa.conf",
        "slots.mechanisms = CKM_RSA_PKCS,CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_SHA256\n",
    );
    let mut args = vec!["serve".to_string()];
    args.extend(token_args(KEY, &f.cert));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, err) = fails(&argv, Some(&conf));
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("does not offer raw RSA decryption (CKM_RSA_X_509 with CKF_DECRYPT)"),
        "{err}"
    );
    assert!(err.contains("does not fall back to CKM_RSA_PKCS"), "{err}");
    // The same token with the mechanism on serves (the refusal was the mechanism).
    let ok = write_conf(&f.dir, "all-mechanisms.conf", "slots.mechanisms = ALL\n");
    let server = Server::start(&argv, Some(&ok)).unwrap_or_else(|(c, e)| panic!("{c:?} {e}"));
    drop(server);
}

fn removed_key(f: &Fixture) {
    let server = start(&["serve", "--http"], DOOMED, &f.doomed_cert);
    curl(f, server.port(), "AES128-GCM-SHA256");
    // Delete the key pair from the token (another process's session).
    {
        let session = f.user_session();
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            for h in session
                .find_objects(&[
                    Attribute::Class(class),
                    Attribute::Label(DOOMED.as_bytes().to_vec()),
                ])
                .unwrap()
            {
                session.destroy_object(h).unwrap();
            }
        }
    }
    // SIGHUP: the reload looks for the key again, does not find it, and keeps
    // the current configuration.
    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        let log = server.stderr();
        if log.contains("reload failed") {
            assert!(log.contains("has no private key with label"), "{log}");
            assert!(log.contains("doomed"), "{log}");
            break;
        }
        assert!(
            started.elapsed() < LIMIT,
            "no reload outcome logged:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    // A restart fails at once, naming the key.
    let mut args = vec!["serve".to_string()];
    args.extend(token_args(DOOMED, &f.doomed_cert));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, err) = fails(&argv, None);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("has no private key with label \"doomed\""),
        "{err}"
    );
}
