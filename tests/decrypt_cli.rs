//! `rsatls decrypt` as an operator runs it, on a capture made here: sessions
//! between the rsatls client and server engines (fixed seeds, the committed
//! test keys), each TCP segment wrapped in Ethernet, IPv4 and TCP headers by
//! a small pcap writer, plus a connection that is not TLS.
//!
//! What the binary prints is checked against what the engines themselves
//! logged (premaster, master secret) and sent (the application data); the
//! key log it writes is checked against the engines' and handed to tshark,
//! which must decrypt the same bytes. Captures taken from real peers on the
//! network are tests/interop's.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{MemoryKeyLog, client, feed, server, take_output};
use rsatls::{ClientConfig, Endpoint, ServerAuth, ServerConfig};

// ---------------------------------------------------------------------------
// A pcap writer: Ethernet II, IPv4, TCP.

/// The pcap file header, little-endian, microsecond timestamps, Ethernet.
fn pcap_header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&65_535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

/// The Internet checksum of `data`.
fn checksum(data: &[u8], mut sum: u32) -> u16 {
    for pair in data.chunks(2) {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

/// One side of a TCP connection.
#[derive(Clone, Copy)]
struct End {
    ip: [u8; 4],
    port: u16,
    seq: u32,
}

/// A capture being written.
struct Pcap {
    bytes: Vec<u8>,
    packets: u32,
}

impl Pcap {
    fn new() -> Self {
        Self {
            bytes: pcap_header(),
            packets: 0,
        }
    }

    /// One Ethernet/IPv4/TCP frame from `from` to `to`.
    fn frame(&mut self, from: &End, to: &End, flags: u8, payload: &[u8]) {
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&from.port.to_be_bytes());
        tcp.extend_from_slice(&to.port.to_be_bytes());
        tcp.extend_from_slice(&from.seq.to_be_bytes());
        let ack = match flags & ACK {
            0 => 0,
            _ => to.seq,
        };
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4);
        tcp.push(flags);
        tcp.extend_from_slice(&65_535u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&from.ip);
        pseudo.extend_from_slice(&to.ip);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        let sum = checksum(&pseudo, 0);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());

        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&(self.packets as u16).to_be_bytes());
        ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&from.ip);
        ip.extend_from_slice(&to.ip);
        let sum = checksum(&ip, 0);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());

        let mut frame = vec![
            2, 0, 0, 0, 0, to.ip[3], 2, 0, 0, 0, 0, from.ip[3], 0x08, 0x00,
        ];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);

        // 2027-01-15, one millisecond apart.
        let micros = u64::from(self.packets) * 1000;
        let secs = 1_800_000_000 + (micros / 1_000_000) as u32;
        self.bytes.extend_from_slice(&secs.to_le_bytes());
        self.bytes
            .extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&frame);
        self.packets += 1;
    }
}

/// A TCP connection in a capture: handshake, segments, FIN both ways.
struct Tcp {
    client: End,
    server: End,
}

/// The most payload one segment carries.
const MSS: usize = 1448;

impl Tcp {
    fn open(pcap: &mut Pcap, client: ([u8; 4], u16), server: ([u8; 4], u16)) -> Self {
        let mut c = End {
            ip: client.0,
            port: client.1,
            seq: 0x1000_0000 ^ u32::from(client.1),
        };
        let mut s = End {
            ip: server.0,
            port: server.1,
            seq: 0x7000_0000 ^ u32::from(server.1),
        };
        pcap.frame(&c, &s, SYN, &[]);
        c.seq = c.seq.wrapping_add(1);
        pcap.frame(&s, &c, SYN | ACK, &[]);
        s.seq = s.seq.wrapping_add(1);
        pcap.frame(&c, &s, ACK, &[]);
        Self {
            client: c,
            server: s,
        }
    }

    /// `bytes` from the client (`to_server`) or the server, in segments.
    fn send(&mut self, pcap: &mut Pcap, to_server: bool, bytes: &[u8]) {
        for chunk in bytes.chunks(MSS) {
            let (from, to) = match to_server {
                true => (&mut self.client, &self.server),
                false => (&mut self.server, &self.client),
            };
            pcap.frame(from, to, ACK | PSH, chunk);
            from.seq = from.seq.wrapping_add(chunk.len() as u32);
        }
    }

    fn close(mut self, pcap: &mut Pcap) {
        pcap.frame(&self.client, &self.server, FIN | ACK, &[]);
        self.client.seq = self.client.seq.wrapping_add(1);
        pcap.frame(&self.server, &self.client, FIN | ACK, &[]);
        self.server.seq = self.server.seq.wrapping_add(1);
        pcap.frame(&self.client, &self.server, ACK, &[]);
    }
}

// ---------------------------------------------------------------------------
// Sessions between the engines.

/// What one recorded TLS session carried, as the engines saw it.
struct Session {
    /// The client engine's key log lines (`RSA ...`, `CLIENT_RANDOM ...`).
    log: Arc<MemoryKeyLog>,
    /// The application data each side sent.
    client_data: Vec<u8>,
    server_data: Vec<u8>,
}

impl Session {
    fn secret(&self, label: &str) -> String {
        self.log.secret(label).expect(label)
    }

    /// The key log line of the master secret.
    fn client_random_line(&self) -> String {
        let lines = self.log.0.lock().unwrap();
        lines
            .iter()
            .find(|l| l.starts_with("CLIENT_RANDOM "))
            .unwrap()
            .clone()
    }

    /// The first 8 bytes of the encrypted premaster, as NSS logs them.
    fn encrypted_head(&self) -> String {
        let lines = self.log.0.lock().unwrap();
        let line = lines.iter().find(|l| l.starts_with("RSA ")).unwrap();
        line.split(' ').nth(1).unwrap().to_string()
    }
}

/// Moves `from`'s pending output to `to`, recording it on `tcp`.
fn relay(
    pcap: &mut Pcap,
    tcp: &mut Tcp,
    from: &mut dyn Endpoint,
    to: &mut dyn Endpoint,
    to_server: bool,
) {
    let wire = take_output(from);
    if wire.is_empty() {
        return;
    }
    tcp.send(pcap, to_server, &wire);
    feed(to, &wire, usize::MAX).expect("the engines agree");
}

/// A TLS session with the committed key `key` on a new connection: the
/// handshake, `messages` (true: from the client), close_notify both ways.
fn tls_session(
    pcap: &mut Pcap,
    seed: u64,
    key: &str,
    suite: &'static rsatls::suites::Suite,
    addrs: (([u8; 4], u16), ([u8; 4], u16)),
    messages: &[(bool, Vec<u8>)],
) -> Session {
    let log = Arc::new(MemoryKeyLog::default());
    let client_config =
        ClientConfig::new(common::provider(), ServerAuth::Pins(vec![common::pin(key)]))
            .with_key_log(log.clone());
    let server_config: ServerConfig = common::server_config(key).with_suites(&[suite]).unwrap();
    let mut c = client(client_config, seed);
    let mut s = server(server_config, seed + 1);
    let mut tcp = Tcp::open(pcap, addrs.0, addrs.1);
    for _ in 0..4 {
        relay(pcap, &mut tcp, &mut c, &mut s, true);
        relay(pcap, &mut tcp, &mut s, &mut c, false);
    }
    assert!(c.is_established() && s.is_established());
    let mut session = Session {
        log,
        client_data: Vec::new(),
        server_data: Vec::new(),
    };
    for (from_client, data) in messages {
        // The engine takes what fits in its output buffer at a time.
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = match from_client {
                true => c.write_app_data(rest).unwrap(),
                false => s.write_app_data(rest).unwrap(),
            };
            assert!(n > 0, "the engine takes no data");
            match from_client {
                true => relay(pcap, &mut tcp, &mut c, &mut s, true),
                false => relay(pcap, &mut tcp, &mut s, &mut c, false),
            }
            rest = &rest[n..];
        }
        match from_client {
            true => session.client_data.extend_from_slice(data),
            false => session.server_data.extend_from_slice(data),
        }
    }
    c.send_close_notify();
    relay(pcap, &mut tcp, &mut c, &mut s, true);
    s.send_close_notify();
    let wire = take_output(&mut s);
    tcp.send(pcap, false, &wire);
    tcp.close(pcap);
    session
}

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

const REQUEST: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n";

/// Bytes that are not text: every byte value, over several records.
fn binary() -> Vec<u8> {
    (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// The capture every test reads.
struct Capture {
    path: PathBuf,
    /// Session 1: rsatls2048, AES-128; session 2: other2048, AES-256.
    sessions: [Session; 2],
    /// The plaintext of connection 3 (not TLS).
    plain: Vec<u8>,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsatls-decrypt-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn data_path(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Writes the capture: two TLS sessions, then a plaintext HTTP connection.
fn capture(name: &str) -> Capture {
    let mut pcap = Pcap::new();
    let one = tls_session(
        &mut pcap,
        16_001,
        "rsa2048",
        &rsatls::suites::TLS_RSA_WITH_AES_128_GCM_SHA256,
        ((CLIENT, 51_000), (SERVER, 4433)),
        &[
            (true, REQUEST.to_vec()),
            (false, RESPONSE.to_vec()),
            (false, binary()),
        ],
    );
    let two = tls_session(
        &mut pcap,
        16_003,
        "other2048",
        &rsatls::suites::TLS_RSA_WITH_AES_256_GCM_SHA384,
        ((CLIENT, 51_001), (SERVER, 4434)),
        &[
            (true, b"second session, from the client\n".to_vec()),
            (false, b"second session, from the server\n".to_vec()),
        ],
    );
    let plain = b"GET / HTTP/1.0\r\n\r\n".to_vec();
    let mut tcp = Tcp::open(&mut pcap, (CLIENT, 51_002), (SERVER, 80));
    tcp.send(&mut pcap, true, &plain);
    tcp.send(&mut pcap, false, b"HTTP/1.0 200 OK\r\n\r\nplain\n");
    tcp.close(&mut pcap);
    let path = scratch(name);
    std::fs::write(&path, &pcap.bytes).unwrap();
    Capture {
        path,
        sessions: [one, two],
        plain,
    }
}

// ---------------------------------------------------------------------------
// Running the binary.

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn report(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.text(),
            self.stderr
        )
    }
}

fn rsatls(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rsatls"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rsatls");
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn decrypt(capture: &Path, keys: &[&str], extra: &[&str]) -> Run {
    let mut args = vec!["decrypt", capture.to_str().unwrap()];
    let paths: Vec<String> = keys
        .iter()
        .map(|k| data_path(&format!("{k}.key.pem")))
        .collect();
    for path in &paths {
        args.extend(["--key", path.as_str()]);
    }
    args.extend_from_slice(extra);
    rsatls(&args)
}

fn pin(name: &str) -> String {
    std::fs::read_to_string(data_path(&format!("{name}.pin")))
        .unwrap()
        .trim()
        .to_string()
}

/// `text` holds `want` (say which run when it does not).
fn assert_has(run: &Run, wants: &[&str]) {
    let text = run.text();
    for want in wants {
        assert!(
            text.contains(want),
            "stdout lacks {want:?}\n{}",
            run.report()
        );
    }
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn the_five_steps_and_the_data_of_each_session() {
    let cap = capture("steps.pcap");
    let run = decrypt(&cap.path, &["rsa2048", "other2048"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    let [one, two] = &cap.sessions;
    let key1 = data_path("rsa2048.key.pem");
    let key2 = data_path("other2048.key.pem");
    for (n, session, key, suite, port, name) in [
        (
            1,
            one,
            &key1,
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
            4433,
            "rsa2048",
        ),
        (
            2,
            two,
            &key2,
            "TLS_RSA_WITH_AES_256_GCM_SHA384",
            4434,
            "other2048",
        ),
    ] {
        let master = session.secret("CLIENT_RANDOM");
        let header = format!("session {n}: 10.0.0.1:{} → 10.0.0.2:{port}", 51_000 + n - 1);
        let pin_line = format!("   pin:         {}", pin(name));
        let matches = format!("   matches:     --key {key}");
        let encrypted = format!("   {}", session.encrypted_head());
        let premaster = format!("   premaster:     {}\n", session.secret("RSA"));
        let master = format!(
            "   master secret: {}… (48 bytes) ({suite}, extended_master_secret=true)",
            &master[..32]
        );
        let request = format!(
            "[{n} client→server, {} bytes]\n{}",
            session.client_data.len().min(REQUEST.len()),
            String::from_utf8_lossy(
                &session.client_data[..session.client_data.len().min(REQUEST.len())]
            )
        );
        assert_has(
            &run,
            &[
                &header,
                "1. server key sent (in its Certificate)",
                "   RSA modulus: 2048 bits",
                &pin_line,
                &matches,
                "2./3. secret generated by the client, encrypted under the server's key",
                &encrypted,
                &format!("4. secret decrypted with the server's private key ({key})"),
                &premaster,
                &master,
                "5. encrypted records decrypted",
                "   client Finished: verified",
                "   server Finished: verified",
                &request,
            ],
        );
    }
    let text = run.text();
    // Steps in their order within session 1.
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("1. server key") < at("2./3. secret") && at("2./3. secret") < at("4. secret"));
    assert!(at("4. secret") < at("5. encrypted") && at("5. encrypted") < at("[1 client→server"));
    // Session 1's server data: the text response, then binary as hex dump lines.
    assert_has(
        &run,
        &[
            &format!(
                "[1 server→client, {} bytes]\n{}",
                RESPONSE.len(),
                String::from_utf8_lossy(RESPONSE)
            ),
            "00000000  00 07 0e 15 1c 23 2a 31  38 3f 46 4d 54 5b 62 69  |.....#*18?FMT[bi|",
        ],
    );
    // The plaintext connection is listed and skipped.
    assert_has(
        &run,
        &[
            "session 3: 10.0.0.1:51002 → 10.0.0.2:80",
            "skipped: not TLS",
        ],
    );
    assert!(!text.contains("GET / HTTP/1.0"), "{}", run.report());
    // The summary counts what the engines sent.
    let client_bytes: usize = cap.sessions.iter().map(|s| s.client_data.len()).sum();
    let server_bytes: usize = cap.sessions.iter().map(|s| s.server_data.len()).sum();
    assert_has(
        &run,
        &[
            "connections:     3 (1 not TLS)",
            "TLS handshakes:  2 (0 renegotiations): 2 decrypted (2 full, 0 resumed)",
            &format!("bytes decrypted: {} in ", client_bytes + server_bytes),
            &format!("(client→server {client_bytes}, server→client {server_bytes})"),
        ],
    );
    assert!(
        !run.stderr.contains("no session decrypted"),
        "{}",
        run.report()
    );
}

#[test]
fn data_only_gives_exactly_the_selected_bytes() {
    let cap = capture("data-only.pcap");
    let [one, two] = &cap.sessions;
    let keys = ["rsa2048", "other2048"];
    let cases: [(&[&str], Vec<u8>); 5] = [
        (
            &["--session", "1", "--direction", "client"],
            one.client_data.clone(),
        ),
        (
            &["--session", "1", "--direction", "server"],
            one.server_data.clone(),
        ),
        (
            &["--session", "2"],
            [two.client_data.clone(), two.server_data.clone()].concat(),
        ),
        (
            &["--direction", "client"],
            [one.client_data.clone(), two.client_data.clone()].concat(),
        ),
        (
            &[],
            [
                one.client_data.clone(),
                one.server_data.clone(),
                two.client_data.clone(),
                two.server_data.clone(),
            ]
            .concat(),
        ),
    ];
    for (select, want) in cases {
        let mut extra = vec!["--data-only"];
        extra.extend_from_slice(select);
        let run = decrypt(&cap.path, &keys, &extra);
        assert_eq!(run.code, Some(0), "{select:?}\n{}", run.report());
        assert!(
            run.stdout == want,
            "{select:?}: {} bytes, want {}\n{}",
            run.stdout.len(),
            want.len(),
            run.stderr
        );
        // The summary went to stderr.
        assert!(
            run.stderr.contains("bytes decrypted:"),
            "{select:?}\n{}",
            run.report()
        );
    }
    // The plaintext connection's bytes are never "decrypted data".
    let run = decrypt(&cap.path, &keys, &["--data-only", "--session", "3"]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    assert!(run.stdout.is_empty(), "{}", run.report());
    assert!(
        run.stderr.contains("session 3: skipped: not TLS"),
        "{}",
        run.report()
    );
    let _ = &cap.plain;

    // Without --data-only, --session keeps that session's lines only.
    let run = decrypt(&cap.path, &keys, &["--session", "2"]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    let text = run.text();
    assert!(
        text.contains("session 2:") && !text.contains("session 1:"),
        "{}",
        run.report()
    );
    assert!(!text.contains("[1 "), "{}", run.report());
}

#[test]
fn keylog_out_holds_the_engines_lines_and_tshark_decrypts_with_it() {
    let cap = capture("keylog.pcap");
    let keylog = scratch("keylog.txt");
    let _ = std::fs::remove_file(&keylog);
    let run = decrypt(
        &cap.path,
        &["rsa2048", "other2048"],
        &["--keylog-out", keylog.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.report());
    let written = std::fs::read_to_string(&keylog).unwrap();
    let want: String = cap
        .sessions
        .iter()
        .map(|s| format!("{}\n", s.client_random_line()))
        .collect();
    assert_eq!(written, want);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keylog).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    // tshark, given only that key log, decrypts the same bytes.
    for (stream, session) in cap.sessions.iter().enumerate() {
        let (client, server) = tshark_follow(&cap.path, &keylog, stream);
        assert_eq!(
            client, session.client_data,
            "tshark, stream {stream}, client"
        );
        assert_eq!(
            server, session.server_data,
            "tshark, stream {stream}, server"
        );
    }
}

/// The decrypted bytes of TCP stream `stream` both ways, as tshark's
/// `-z follow,tls,raw` gives them with `keylog` (hex lines; the server's
/// indented by a tab).
fn tshark_follow(capture: &Path, keylog: &Path, stream: usize) -> (Vec<u8>, Vec<u8>) {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-r",
            capture.to_str().unwrap(),
            "-o",
            &format!("tls.keylog_file:{}", keylog.display()),
            "-d",
            "tcp.port==4433,tls",
            "-d",
            "tcp.port==4434,tls",
            "-q",
            "-z",
            &format!("follow,tls,raw,{stream}"),
        ])
        .output()
        .expect("tshark is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut client, mut server) = (Vec::new(), Vec::new());
    let body = text.split("Node 1:").nth(1).expect("tshark follow output");
    for line in body.lines().skip(1) {
        if line.starts_with("====") {
            break;
        }
        let (to, hex) = match line.strip_prefix('\t') {
            Some(hex) => (&mut server, hex),
            None => (&mut client, line),
        };
        to.extend(common::wire::unhex(hex.trim()));
    }
    (client, server)
}

#[test]
fn a_key_that_matches_no_server_is_named_with_the_servers_pin() {
    let cap = capture("wrong-key.pcap");
    // Session 1's key only: session 2 is listed with its server's pin.
    let run = decrypt(&cap.path, &["rsa2048"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    let key = data_path("rsa2048.key.pem");
    assert_has(
        &run,
        &[
            &format!("   pin:         {}\n   subject:", pin("other2048")),
            "   matches:     none of the --key files",
            &format!(
                "skipped: no matching key: the server's key is {}, none of --key {key}",
                pin("other2048")
            ),
            "skipped:         no matching key 1",
            "1 decrypted (1 full, 0 resumed)",
        ],
    );
    assert!(!run.text().contains("[2 client→server"), "{}", run.report());

    // A key of neither server: nothing decrypted, which is a finding (exit
    // 0), said on stderr too.
    let run = decrypt(&cap.path, &["rsa3072"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    assert_has(&run, &["skipped:         no matching key 2", "0 decrypted"]);
    assert!(
        run.stderr.contains("no session decrypted"),
        "{}",
        run.report()
    );
}

#[test]
fn files_that_cannot_be_used_exit_3() {
    let cap = capture("files.pcap");
    let missing = data_path("decrypt/no-such.pcap");
    let key = data_path("rsa2048.key.pem");
    let dir = data_path("");
    let cases: [(Vec<&str>, &str); 5] = [
        (vec![&missing, "--key", &key], "no-such.pcap"),
        // A key file is no capture; nor is a directory.
        (vec![&key, "--key", &key], "not a pcap or pcapng capture"),
        (vec![&dir, "--key", &key], "tests/data"),
        (
            vec![cap.path.to_str().unwrap(), "--key", &missing],
            "no-such.pcap",
        ),
        (
            vec![
                cap.path.to_str().unwrap(),
                "--key",
                &key,
                "--keylog-out",
                "/nonexistent/dir/keys.log",
            ],
            "/nonexistent/dir/keys.log",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["decrypt"];
        all.extend(args.iter().copied());
        let run = rsatls(&all);
        assert_eq!(run.code, Some(3), "{all:?}\n{}", run.report());
        assert!(run.stderr.contains(message), "{all:?}\n{}", run.report());
        assert!(run.stdout.is_empty(), "{all:?}\n{}", run.report());
    }
    // Usage errors: 2.
    for args in [
        vec!["decrypt", cap.path.to_str().unwrap()],
        vec![
            "decrypt",
            cap.path.to_str().unwrap(),
            "--key",
            &key,
            "--session",
            "0",
        ],
        vec![
            "decrypt",
            cap.path.to_str().unwrap(),
            "--key",
            &key,
            "--direction",
            "up",
        ],
        vec![
            "decrypt",
            cap.path.to_str().unwrap(),
            "--key",
            &key,
            "--keylog-out",
            "",
        ],
    ] {
        let run = rsatls(&args);
        assert_eq!(run.code, Some(2), "{args:?}\n{}", run.report());
    }
}

#[test]
fn a_truncated_capture_is_a_warning_after_what_precedes_the_cut() {
    let cap = capture("truncated.pcap");
    let bytes = std::fs::read(&cap.path).unwrap();
    // Cut in the middle of the last packet.
    let cut = scratch("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    let run = decrypt(&cut, &["rsa2048", "other2048"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.report());
    assert!(run.stderr.contains("warning"), "{}", run.report());
    assert!(run.stderr.contains("cut.pcap"), "{}", run.report());
    assert_has(
        &run,
        &[
            "[1 client→server",
            "[2 server→client",
            "session 3: 10.0.0.1:51002 → 10.0.0.2:80",
            "summary",
        ],
    );
}

/// `rsatls decrypt ... | head -1`: the reader goes away, and the binary
/// ends quietly (no panic, exit 0).
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let cap = capture("head.pcap");
    let key = data_path("rsa2048.key.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsatls"))
        .args(["decrypt", cap.path.to_str().unwrap(), "--key", &key])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("session 1:"), "{first}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// tests/data/decrypt/engines.pcap is this test's capture, committed for the
/// tools that want one without building the tests (the benchmark, a reader
/// trying the command by hand); tests/data/decrypt/make.sh rewrites it with
/// `RSATLS_WRITE_CAPTURE=1`. The engines and this writer are deterministic:
/// a change of either shows here.
#[test]
fn the_committed_capture_is_the_one_made_here() {
    let cap = capture("committed.pcap");
    let made = std::fs::read(&cap.path).unwrap();
    let committed = data_path("decrypt/engines.pcap");
    if std::env::var_os("RSATLS_WRITE_CAPTURE").is_some() {
        std::fs::write(&committed, &made).unwrap();
    }
    let again = std::fs::read(capture("again.pcap").path).unwrap();
    assert!(
        made == again,
        "the capture differs from one run to the next"
    );
    let on_disk = std::fs::read(&committed).unwrap();
    assert!(
        made == on_disk,
        "{committed} is stale: run tests/data/decrypt/make.sh"
    );
}
