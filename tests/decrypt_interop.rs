//! `rsatls decrypt` on captures of real peers: `curl`, `openssl s_client` and
//! `s_server` (OpenSSL 3.0), `gnutls-cli` (GnuTLS 3.7) and Python's `ssl`
//! module, recorded by `tcpdump` on the loopback interface while the test runs,
//! and checked against what the peers sent and against `tshark` given the same
//! RSA key.
//!
//! Each test starts its servers (OS-chosen ports), then a recorder on those
//! ports into a file of its own, runs the clients, and stops the recorder once
//! a marker datagram sent after the last client is in the file (so every
//! earlier packet is too: no sleeps). The recorders are those people use, and
//! give the formats `rsatls decrypt` must read: `tcpdump -i lo` (pcap,
//! Ethernet), `tcpdump -i any` (pcap, Linux cooked v2) and `dumpcap` (pcapng).
//! A missing `tcpdump`, `dumpcap`, `tshark` or peer program fails the test
//! with a message saying so; CI installs them (`.ci/run`). Capturing needs
//! root or CAP_NET_RAW, which CI has.
//!
//! What each scenario holds:
//! - the application data both ways equals what the peers sent and received
//!   (curl's request and response as `curl -v` shows them, s_server `-rev`'s
//!   reversed lines, the echo of `rsatls serve`);
//! - the negotiated suite and Extended Master Secret are the expected ones, as
//!   the peers report them and as tshark reads them from the ServerHello;
//! - tshark, given the server's RSA key, decrypts the same bytes each way.
//!   (tshark 4.0 decrypts sessions with Extended Master Secret from an RSA key
//!   alone: it hashes the recorded handshake as a server would.)
//!
//! tshark is run as `tshark -r CAP -o 'uat:rsa_keys:"KEY",""' -d
//! tcp.port==PORT,tls -q -z follow,tls,raw,N`: the `-T fields -e tls.app_data`
//! form prints the *encrypted* payload in tshark 4.0 (the decrypted one is
//! dissected further, as `http` or `data`), so it cannot be compared.

#[allow(
    dead_code,
    reason = "shared with tests/interop.rs; not every helper is used here"
)]
#[path = "interop/harness.rs"]
mod harness;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use harness::{Out, Peer, RsatlsServer, openssl_s_server, require};

/// Generous bound for a handshake plus a round trip on loopback.
const STEP: Duration = Duration::from_secs(20);

/// The suites rsatls speaks: OpenSSL's name, the IANA code point.
const SUITES: [(&str, u16); 2] = [("AES128-GCM-SHA256", 0x009c), ("AES256-GCM-SHA384", 0x009d)];

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The server key of every scenario (its certificate is `rsa2048.cert.pem`).
fn server_key() -> String {
    data("rsa2048.key.pem")
}

/// A fresh directory for one test's captures and session files.
fn scratch(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("decrypt-interop-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fails the test, loudly, when a capture tool is missing: these tests are
/// about real captures and are never skipped.
fn need_tool(program: &str, package: &str) {
    match Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{program} --version` fails ({}): {}\n\
             tests/decrypt_interop.rs needs {program} (Debian: apt-get install {package}; .ci/run does)",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "`{program}` cannot run ({e}).\n\
             tests/decrypt_interop.rs needs {program} on PATH (Debian: apt-get install {package}; \
             .ci/run does), and root or CAP_NET_RAW to capture on the loopback interface"
        ),
    }
}

/// Sends `signal` (e.g. "INT") to `pid` with the `kill` command.
fn signal(pid: u32, signal: &str) {
    let pid = pid.to_string();
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .or_else(|_| {
            Command::new("sh")
                .args(["-c", "kill -\"$1\" \"$2\"", "sh", signal, &pid])
                .status()
        })
        .unwrap_or_else(|e| panic!("cannot run `kill -{signal} {pid}`: {e}"));
    assert!(status.success(), "`kill -{signal} {pid}` failed: {status}");
}

// ---------------------------------------------------------------------------
// The capture
// ---------------------------------------------------------------------------

/// The program that records a test's traffic, and the file format and link
/// type that gives.
#[derive(Clone, Copy, Debug)]
enum Recorder {
    /// `tcpdump -i lo`: pcap, Ethernet (what Linux's loopback reports).
    TcpdumpLoopback,
    /// `tcpdump -i any`: pcap, Linux cooked capture v2 (SLL2).
    TcpdumpAny,
    /// `dumpcap -i lo` (Wireshark's capture engine): pcapng, Ethernet.
    Dumpcap,
}

/// A capture of some TCP ports on the loopback interface, running.
struct Capture {
    recorder: Peer,
    path: PathBuf,
    /// Sends the end marker to itself; its port is in the capture filter.
    marker_socket: UdpSocket,
    marker: Vec<u8>,
}

impl Capture {
    /// Starts capturing the TCP traffic of `ports` into `dir/name.pcap` (or
    /// `.pcapng`), and returns once the recorder says it captures.
    ///
    /// (The file names end in `.pcap`: AppArmor's tcpdump profile, where
    /// enforced, lets tcpdump write only such names.)
    fn start(dir: &Path, name: &str, ports: &[u16], recorder: Recorder) -> Capture {
        let marker_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let marker_port = marker_socket.local_addr().unwrap().port();
        let mut filter = format!("udp port {marker_port}");
        for port in ports {
            filter.push_str(&format!(" or tcp port {port}"));
        }
        let mut cmd;
        let (path, ready) = match recorder {
            Recorder::TcpdumpLoopback | Recorder::TcpdumpAny => {
                need_tool("tcpdump", "tcpdump");
                let path = dir.join(format!("{name}.pcap"));
                let interface = match recorder {
                    Recorder::TcpdumpAny => "any",
                    _ => "lo",
                };
                // -B: a 16 MiB kernel buffer (KiB here). Not
                // --immediate-mode: libpcap then uses fixed frames of the
                // snapshot length, 2 MiB hold 8 of 256 KiB, and a loaded
                // machine drops packets. Without it, packets reach the file
                // when a buffer block fills or times out (a second at most).
                cmd = Command::new("tcpdump");
                cmd.args(["-i", interface, "-B", "16384", "-U", "-s", "0", "-n"])
                    .arg("-w")
                    .arg(&path)
                    .arg(&filter);
                // Printed once the socket is open and the filter set.
                (path, "listening on")
            }
            Recorder::Dumpcap => {
                need_tool("dumpcap", "tshark");
                let path = dir.join(format!("{name}.pcapng"));
                cmd = Command::new("dumpcap");
                // -B: a 16 MiB kernel buffer (MiB here).
                cmd.args(["-i", "lo", "-B", "16", "-f", &filter, "-w"])
                    .arg(&path);
                (path, "Capturing on")
            }
        };
        let recorder = Peer::spawn(format!("{recorder:?} {filter}"), &mut cmd);
        recorder.wait_for(Out::Stderr, ready, STEP);
        let marker = format!("end of capture {name} {}", std::process::id()).into_bytes();
        Capture {
            recorder,
            path,
            marker_socket,
            marker,
        }
    }

    /// Ends the capture and returns its file. A datagram sent now is written
    /// after every packet sent before it; once it is in the file, the recorder is
    /// stopped (SIGINT) and waited for, so the file is complete.
    fn finish(mut self) -> PathBuf {
        let to = self.marker_socket.local_addr().unwrap();
        self.marker_socket.send_to(&self.marker, to).unwrap();
        let deadline = Instant::now() + STEP;
        loop {
            let bytes = std::fs::read(&self.path).unwrap_or_default();
            if bytes.windows(self.marker.len()).any(|w| w == self.marker) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the end marker never reached {}\n{}",
                self.path.display(),
                self.recorder.report()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(self.recorder.pid(), "INT");
        let code = self.recorder.exit_code(STEP);
        assert_eq!(code, 0, "recorder exit code\n{}", self.recorder.report());
        // A packet the kernel dropped would be a gap in a connection: fail
        // here, saying so, rather than as a mystery later.
        let stats = self.recorder.stderr();
        let dropped = stats.lines().find_map(|l| {
            // tcpdump: "N packets dropped by kernel"; dumpcap: "Packets
            // received/dropped on interface 'Loopback: lo': R/D (...)".
            let n = match l.strip_suffix(" packets dropped by kernel") {
                Some(n) => n,
                None => l
                    .strip_prefix("Packets received/dropped on interface ")?
                    .split_once("': ")?
                    .1
                    .split(['/', ' '])
                    .nth(1)?,
            };
            n.trim().parse::<u64>().ok()
        });
        assert_eq!(
            dropped,
            Some(0),
            "the recorder dropped packets (or printed no count)\n{}",
            self.recorder.report()
        );
        self.path
    }
}

// ---------------------------------------------------------------------------
// What was sent, and what tshark decrypts
// ---------------------------------------------------------------------------

/// The application data of one TCP connection, each way.
#[derive(Clone, Default, PartialEq, Eq)]
struct Flow {
    client: Vec<u8>,
    server: Vec<u8>,
}

impl Flow {
    fn new(client: impl Into<Vec<u8>>, server: impl Into<Vec<u8>>) -> Flow {
        Flow {
            client: client.into(),
            server: server.into(),
        }
    }
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |b: &[u8]| {
            let text: String = String::from_utf8_lossy(b).chars().take(300).collect();
            format!("{} bytes: {text:?}", b.len())
        };
        f.debug_struct("Flow")
            .field("client", &show(&self.client))
            .field("server", &show(&self.server))
            .finish()
    }
}

/// Runs a tool to completion (it reads a file and exits), failing the test
/// if it cannot start or does not succeed.
fn run(name: &str, cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{name}: cannot start {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{name} failed ({}): {cmd:?}\n---- stdout ----\n{}\n---- stderr ----\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// tshark on `cap` with the server's RSA key, the TCP `ports` read as TLS.
fn tshark(cap: &Path, ports: &[u16]) -> Command {
    tshark_with(
        cap,
        ports,
        &format!("uat:rsa_keys:\"{}\",\"\"", server_key()),
    )
}

/// tshark on `cap` with the preference `key_option` (e.g. a key log file).
fn tshark_with(cap: &Path, ports: &[u16], key_option: &str) -> Command {
    need_tool("tshark", "tshark");
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(cap).args(["-n", "-o", key_option]);
    for port in ports {
        cmd.args(["-d", &format!("tcp.port=={port},tls")]);
    }
    cmd
}

/// What tshark decrypts of the first `streams` TCP connections of `cap`, each
/// way (`-z follow,tls,raw,N`: hex lines, the server's indented by a tab).
fn tshark_flows(cap: &Path, ports: &[u16], streams: usize) -> Vec<Flow> {
    tshark_flows_with(tshark(cap, ports), ports, streams)
}

/// [`tshark_flows`] with another tshark command line (another key source).
fn tshark_flows_with(mut cmd: Command, ports: &[u16], streams: usize) -> Vec<Flow> {
    cmd.arg("-q");
    for n in 0..streams {
        cmd.args(["-z", &format!("follow,tls,raw,{n}")]);
    }
    let out = run("tshark -z follow,tls,raw", &mut cmd);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut flows = vec![None; streams];
    // (stream, flow, whether node 0 is the server)
    let mut current: Option<(usize, Flow, bool)> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Filter: tcp.stream eq ") {
            current = Some((n.trim().parse().unwrap(), Flow::default(), false));
        } else if line.starts_with("=====") {
            if let Some((n, flow, _)) = current.take() {
                flows[n] = Some(flow);
            }
        } else if let Some(node0) = line.strip_prefix("Node 0: ") {
            // Node 0 is whoever sent the first data tshark followed: the
            // client, or in a resumed session the server, whose Finished
            // comes first. (tshark 4.0 prints node 1's address as ":0".)
            let port: u16 = node0.rsplit(':').next().unwrap().parse().unwrap();
            if let Some((_, _, node0_is_server)) = current.as_mut() {
                *node0_is_server = ports.contains(&port);
            }
        } else if let Some((_, flow, node0_is_server)) = current.as_mut()
            && !line.is_empty()
            && !line.starts_with("Follow:")
            && !line.starts_with("Node 1:")
        {
            let (hex, node1) = match line.strip_prefix('\t') {
                Some(hex) => (hex, true),
                None => (line, false),
            };
            let to = if node1 == *node0_is_server {
                &mut flow.client
            } else {
                &mut flow.server
            };
            to.extend(unhex(hex).unwrap_or_else(|| panic!("not hex: {line:?}")));
        }
    }
    flows
        .into_iter()
        .enumerate()
        .map(|(n, f)| f.unwrap_or_else(|| panic!("tshark printed no stream {n}\n{text}")))
        .collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A ServerHello as tshark reads it (decrypted, for a renegotiation).
#[derive(Debug, PartialEq, Eq)]
struct Hello {
    stream: usize,
    suite: u16,
    ems: bool,
}

/// Every ServerHello of `cap`, in capture order.
fn tshark_server_hellos(cap: &Path, ports: &[u16]) -> Vec<Hello> {
    let mut cmd = tshark(cap, ports);
    cmd.args(["-Y", "tls.handshake.type == 2", "-T", "fields"])
        .args(["-e", "tcp.stream", "-e", "tls.handshake.ciphersuite"])
        .args(["-e", "tls.handshake.extension.type"]);
    let out = run("tshark (ServerHello)", &mut cmd);
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [stream, suite, extensions] = fields[..] else {
                panic!("unexpected tshark line {line:?}");
            };
            Hello {
                stream: stream.parse().unwrap(),
                suite: u16::from_str_radix(suite.trim_start_matches("0x"), 16).unwrap(),
                // extended_master_secret (RFC 7627) is extension 23.
                ems: extensions.split(',').any(|t| t == "23"),
            }
        })
        .collect()
}

/// Asserts that `got` equals `want`, stream by stream, naming `who` decrypted.
fn assert_flows(who: &str, got: &[Flow], want: &[Flow]) {
    assert_eq!(got.len(), want.len(), "{who}: number of connections");
    for (n, (got, want)) in got.iter().zip(want).enumerate() {
        assert!(
            got.client == want.client,
            "{who}, connection {n}, client to server:\n got  {got:?}\n want {want:?}"
        );
        assert!(
            got.server == want.server,
            "{who}, connection {n}, server to client:\n got  {got:?}\n want {want:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// What rsatls decrypt makes of it
// ---------------------------------------------------------------------------

/// `rsatls decrypt CAP --key KEY ARGS...`, which must exit 0.
fn rsatls_decrypt(cap: &Path, key: &str, args: &[&str]) -> Output {
    run(
        "rsatls decrypt",
        Command::new(env!("CARGO_BIN_EXE_rsatls"))
            .arg("decrypt")
            .arg(cap)
            .args(["--key", key])
            .args(args),
    )
}

/// What `rsatls decrypt --data-only --session N --direction WHO` writes for
/// each of the first `sessions` connections (numbered from 1), each way.
fn rsatls_flows(cap: &Path, sessions: usize) -> Vec<Flow> {
    let data = |n: usize, who: &str| {
        let n = n.to_string();
        let args = ["--data-only", "--session", &n, "--direction", who];
        rsatls_decrypt(cap, &server_key(), &args).stdout
    };
    (1..=sessions)
        .map(|n| Flow::new(data(n, "client"), data(n, "server")))
        .collect()
}

/// How a handshake found its master secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Secret {
    /// From its ClientKeyExchange, decrypted with the key.
    Full,
    /// From an earlier full handshake, by session ID.
    ResumedById,
    /// From an earlier full handshake, by session ticket (RFC 5077).
    ResumedByTicket,
}

/// What `rsatls decrypt --session N` shows of connection N: for each
/// handshake, in order, its ServerHello (suite and EMS), how its master
/// secret was found, and both Finished messages verified.
fn check_rsatls_session(cap: &Path, session: usize, hellos: &[&Hello], secrets: &[Secret]) {
    let out = rsatls_decrypt(cap, &server_key(), &["--session", &session.to_string()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let context = || format!("rsatls decrypt --session {session}:\n{text}");
    let server_hellos: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ServerHello:"))
        .collect();
    assert_eq!(server_hellos.len(), hellos.len(), "{}", context());
    for (line, hello) in server_hellos.iter().zip(hellos) {
        let name = match hello.suite {
            0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
            _ => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        };
        assert!(line.contains("TLS 1.2"), "{line}\n{}", context());
        assert!(line.contains(name), "{line}: not {name}\n{}", context());
        let ems = format!("extended_master_secret={}", hello.ems);
        assert!(line.contains(&ems), "{line}: not {ems}\n{}", context());
    }
    // Steps 2-4 for a full handshake; "resumed ... by its session ID /
    // ticket" for an abbreviated one.
    let how: Vec<Secret> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            if l.starts_with("4. secret decrypted") {
                Some(Secret::Full)
            } else if l.contains("resumed") && l.contains("session ID") {
                Some(Secret::ResumedById)
            } else if l.contains("resumed") && l.contains("session ticket") {
                Some(Secret::ResumedByTicket)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(how, secrets, "{}", context());
    for side in ["client", "server"] {
        let verified = text
            .lines()
            .filter(|l| {
                l.trim_start()
                    .starts_with(&format!("{side} Finished: verified"))
            })
            .count();
        assert_eq!(verified, hellos.len(), "{side} Finished\n{}", context());
    }
    assert!(!text.contains("NOT verified"), "{}", context());
}

/// The numbers of the summary's `TLS handshakes:` line: handshakes,
/// renegotiations, decrypted, full, resumed.
fn rsatls_summary(text: &str) -> [u64; 5] {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("TLS handshakes:"))
        .unwrap_or_else(|| panic!("no `TLS handshakes:` summary line:\n{text}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|_| panic!("unexpected summary line {line:?}"))
}

/// The checks every scenario makes on its capture `cap` of the servers on
/// `ports`, given `want`, the data each connection carried each way, and
/// `hellos`, each handshake's suite and EMS (tshark reads them from the
/// ServerHellos), with `secrets`, how each handshake's master secret is
/// found:
/// - tshark reads the same ServerHellos and decrypts `want`;
/// - `rsatls decrypt --data-only` gives `want`, session by session and
///   direction by direction, and shows each handshake as expected;
/// - the key log `rsatls decrypt --keylog-out` writes lets tshark decrypt
///   `want` without the RSA key.
fn check_capture(cap: &Path, ports: &[u16], want: &[Flow], hellos: &[Hello], secrets: &[Secret]) {
    assert_eq!(hellos.len(), secrets.len());
    assert_eq!(
        tshark_server_hellos(cap, ports),
        hellos,
        "tshark's ServerHellos"
    );
    assert_flows("tshark", &tshark_flows(cap, ports, want.len()), want);

    assert_flows("rsatls decrypt", &rsatls_flows(cap, want.len()), want);
    let mut first = 0;
    for (stream, _) in want.iter().enumerate() {
        let mine: Vec<&Hello> = hellos.iter().filter(|h| h.stream == stream).collect();
        let how = &secrets[first..first + mine.len()];
        first += mine.len();
        check_rsatls_session(cap, stream + 1, &mine, how);
    }

    // The whole capture: every data byte once, and the summary's count.
    let keylog = cap.with_extension("keys");
    let keylog = keylog.to_str().unwrap();
    let all = rsatls_decrypt(cap, &server_key(), &["--keylog-out", keylog]);
    let text = String::from_utf8(all.stdout).unwrap();
    let full = secrets.iter().filter(|s| **s == Secret::Full).count() as u64;
    let resumed = secrets.len() as u64 - full;
    let streams = hellos
        .iter()
        .map(|h| h.stream)
        .collect::<std::collections::BTreeSet<_>>();
    let renegotiations = (hellos.len() - streams.len()) as u64;
    assert_eq!(
        rsatls_summary(&text),
        [
            hellos.len() as u64,
            renegotiations,
            full + resumed,
            full,
            resumed
        ],
        "{text}"
    );
    let data_only = rsatls_decrypt(cap, &server_key(), &["--data-only"]).stdout;
    let total: usize = want.iter().map(|f| f.client.len() + f.server.len()).sum();
    assert_eq!(
        data_only.len(),
        total,
        "rsatls decrypt --data-only, every session"
    );

    // tshark with rsatls's key log and no RSA key.
    let cmd = tshark_with(cap, ports, &format!("tls.keylog_file:{keylog}"));
    let lines = std::fs::read_to_string(keylog).unwrap();
    assert_eq!(lines.lines().count(), hellos.len(), "{lines}");
    assert_flows(
        "tshark with rsatls decrypt's key log",
        &tshark_flows_with(cmd, ports, want.len()),
        want,
    );
}

// ---------------------------------------------------------------------------
// 1. curl → rsatls serve --http
// ---------------------------------------------------------------------------

/// What curl sent and received on its connection: the request head as
/// `curl -v` traces it (`> ` lines), the response head (`< ` lines) and the
/// body (curl's stdout). HTTP heads end their lines with CRLF.
fn curl_flow(trace: &str, body: &[u8]) -> Flow {
    let mut flow = Flow::default();
    for line in trace.lines() {
        let line = line.trim_end_matches('\r');
        let (to, header) = match line.split_at_checked(1) {
            Some((">", rest)) => (&mut flow.client, rest),
            Some(("<", rest)) => (&mut flow.server, rest),
            _ => continue,
        };
        to.extend_from_slice(header.strip_prefix(' ').unwrap_or(header).as_bytes());
        to.extend_from_slice(b"\r\n");
    }
    flow.server.extend_from_slice(body);
    flow
}

#[test]
fn curl_to_rsatls_serve_http() {
    require("curl", &["--version"]);
    let server = RsatlsServer::start(&[
        "--http",
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &server_key(),
    ]);
    let port = server.addr.port();
    let dir = scratch("curl");
    let capture = Capture::start(&dir, "curl", &[port], Recorder::TcpdumpLoopback);
    let mut want = Vec::new();
    for (cipher, _) in SUITES {
        let url = format!("https://127.0.0.1:{port}/decrypt-interop/{cipher}");
        let out = run(
            "curl",
            Command::new("curl")
                .args(["-sS", "-v", "--max-time", "15", "-k"])
                .args(["--tlsv1.2", "--tls-max", "1.2", "--ciphers", cipher])
                .args(["-H", &format!("X-Marker: sent with {cipher}"), &url]),
        );
        let trace = String::from_utf8_lossy(&out.stderr);
        assert!(
            trace.contains(&format!("SSL connection using TLSv1.2 / {cipher}")),
            "{trace}"
        );
        let flow = curl_flow(&trace, &out.stdout);
        assert!(
            flow.client.starts_with(b"GET /decrypt-interop/"),
            "{flow:?}"
        );
        assert!(flow.server.starts_with(b"HTTP/1.1 200"), "{flow:?}");
        want.push(flow);
    }
    let cap = capture.finish();
    drop(server);

    let hellos: Vec<Hello> = (0..2)
        .map(|stream| Hello {
            stream,
            suite: SUITES[stream].1,
            ems: true,
        })
        .collect();
    check_capture(&cap, &[port], &want, &hellos, &[Secret::Full; 2]);
    // With another server's key: listed, not decrypted.
    let other = data("other2048.key.pem");
    let text = String::from_utf8(rsatls_decrypt(&cap, &other, &[]).stdout).unwrap();
    assert_eq!(rsatls_summary(&text), [2, 0, 0, 0, 0], "{text}");
    assert_eq!(
        text.matches("skipped: no matching key").count(),
        2,
        "{text}"
    );
    assert!(
        rsatls_decrypt(&cap, &other, &["--data-only"])
            .stdout
            .is_empty()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// 2-4. openssl s_client → openssl s_server
// ---------------------------------------------------------------------------

/// An OpenSSL configuration that removes Extended Master Secret from the
/// default options of every SSL_CTX: OpenSSL 3.0 has no `-no_ems` flag, but
/// its configuration's `Options` take `-ExtendedMasterSecret`
/// (SSL_OP_NO_EXTENDED_MASTER_SECRET).
fn no_ems_conf(dir: &Path) -> PathBuf {
    let path = dir.join("no-ems.cnf");
    std::fs::write(
        &path,
        "openssl_conf = openssl_init\n\
         [openssl_init]\n\
         ssl_conf = ssl_sect\n\
         [ssl_sect]\n\
         system_default = sys\n\
         [sys]\n\
         Options = -ExtendedMasterSecret\n",
    )
    .unwrap();
    path
}

/// `openssl s_server -rev` (it answers each line reversed) for TLS 1.2 with
/// `cipher`, the test key, and `extra` arguments.
fn rev_server(cipher: &str, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> (Peer, u16) {
    let mut args = vec!["-rev"];
    args.extend_from_slice(extra);
    let (peer, addr) =
        openssl_s_server(cipher, &data("rsa2048.cert.pem"), &server_key(), &args, env);
    (peer, addr.port())
}

/// `openssl s_client -connect 127.0.0.1:PORT -tls1_2 EXTRA...`, without
/// `-quiet`: it prints the session (cipher, reuse, EMS) and takes `R` on stdin
/// as the command to renegotiate. Returns once the handshake is done, after
/// checking what it printed: `Reused` or `New`, the cipher, EMS.
fn s_client(port: u16, extra: &[&str], cipher: &str, reused: bool, ems: bool) -> Peer {
    require("openssl", &["version"]);
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-tls1_2",
    ])
    .args(extra);
    let c = Peer::spawn(format!("openssl s_client {}", extra.join(" ")), &mut cmd);
    c.wait_line(Out::Stdout, "Extended master secret:", STEP);
    let out = c.stdout();
    let how = if reused { "Reused" } else { "New" };
    for want in [
        format!("{how}, TLSv1.2, Cipher is {cipher}"),
        format!("Extended master secret: {}", if ems { "yes" } else { "no" }),
    ] {
        assert!(out.contains(&want), "no {want:?}\n{}", c.report());
    }
    c
}

/// Sends each line to s_server `-rev`, waiting for it to come back reversed,
/// and adds both to `flow`. (Lines starting with Q, R, k or K are s_client
/// commands: the callers' lines start otherwise.)
fn rev_exchange(c: &mut Peer, lines: &[String], flow: &mut Flow) {
    for line in lines {
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let body = &line[..line.len() - 1];
        let reversed: String = body.chars().rev().chain(['\n']).collect();
        c.send(line);
        c.wait_for(Out::Stdout, &reversed, STEP);
        flow.client.extend_from_slice(line.as_bytes());
        flow.server.extend_from_slice(reversed.as_bytes());
    }
}

/// Closes s_client's stdin (it sends close_notify and exits) and waits for
/// both ends to exit cleanly.
fn s_client_close(mut c: Peer, server: Option<&mut Peer>) {
    c.close_stdin();
    assert_eq!(c.exit_code(STEP), 0, "s_client exit code\n{}", c.report());
    if let Some(server) = server {
        assert_eq!(server.exit_code(STEP), 0, "s_server\n{}", server.report());
    }
}

/// Two lines for a connection: a short one and one of 6000 bytes.
fn lines(tag: &str) -> Vec<String> {
    vec![
        format!("hello from s_client, {tag}\n"),
        format!("{}\n", "0123456789abcdef".repeat(375)),
    ]
}

#[test]
fn openssl_s_client_to_s_server_both_suites_with_and_without_ems() {
    let dir = scratch("openssl");
    let conf = no_ems_conf(&dir);
    let mut servers = Vec::new();
    for (cipher, suite) in SUITES {
        for ems in [true, false] {
            let env: Vec<(&str, &std::ffi::OsStr)> = if ems {
                vec![]
            } else {
                vec![("OPENSSL_CONF", conf.as_os_str())]
            };
            let (peer, port) = rev_server(cipher, &[], &env);
            servers.push((peer, port, cipher, suite, ems));
        }
    }
    let ports: Vec<u16> = servers.iter().map(|s| s.1).collect();
    let capture = Capture::start(&dir, "openssl", &ports, Recorder::Dumpcap);
    let mut want = Vec::new();
    let mut hellos = Vec::new();
    for (stream, (server, port, cipher, suite, ems)) in servers.iter_mut().enumerate() {
        let mut c = s_client(*port, &[], cipher, false, *ems);
        let mut flow = Flow::default();
        rev_exchange(&mut c, &lines(&format!("ems {ems}")), &mut flow);
        s_client_close(c, Some(server));
        want.push(flow);
        hellos.push(Hello {
            stream,
            suite: *suite,
            ems: *ems,
        });
    }
    let cap = capture.finish();

    check_capture(&cap, &ports, &want, &hellos, &[Secret::Full; 4]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes the packets of TCP connection `stream` of `cap` alone to a new file.
fn only_stream(cap: &Path, stream: usize, out: &Path) {
    run(
        "tshark -w",
        Command::new("tshark")
            .arg("-r")
            .arg(cap)
            .args(["-Y", &format!("tcp.stream == {stream}"), "-F", "pcap", "-w"])
            .arg(out),
    );
}

#[test]
fn openssl_resumption_by_session_id_and_by_ticket() {
    let dir = scratch("resumption");
    let (cipher, suite) = SUITES[0];
    let (mut server, port) = rev_server(cipher, &["-naccept", "4"], &[]);
    let (by_id, by_ticket) = (dir.join("by-id.sess"), dir.join("by-ticket.sess"));
    let (by_id, by_ticket) = (by_id.to_str().unwrap(), by_ticket.to_str().unwrap());
    let capture = Capture::start(&dir, "resumption", &[port], Recorder::TcpdumpLoopback);
    let mut want = Vec::new();
    // A full handshake then its resumption by session ID (no tickets), then
    // the same with a ticket (RFC 5077).
    for (extra, reused, tag) in [
        (
            vec!["-no_ticket", "-sess_out", by_id],
            false,
            "full, session id",
        ),
        (
            vec!["-no_ticket", "-sess_in", by_id],
            true,
            "resumed by session id",
        ),
        (vec!["-sess_out", by_ticket], false, "full, ticket"),
        (vec!["-sess_in", by_ticket], true, "resumed by ticket"),
    ] {
        let mut c = s_client(port, &extra, cipher, reused, true);
        let mut flow = Flow::default();
        rev_exchange(&mut c, &lines(tag), &mut flow);
        s_client_close(c, None);
        want.push(flow);
    }
    assert_eq!(server.exit_code(STEP), 0, "{}", server.report());
    let cap = capture.finish();

    let hellos: Vec<Hello> = (0..4)
        .map(|stream| Hello {
            stream,
            suite,
            ems: true,
        })
        .collect();
    check_capture(
        &cap,
        &[port],
        &want,
        &hellos,
        &[
            Secret::Full,
            Secret::ResumedById,
            Secret::Full,
            Secret::ResumedByTicket,
        ],
    );

    // Each abbreviated handshake alone: no full handshake to take its master
    // secret from, so nothing decrypts (tshark cannot either), and rsatls
    // says why.
    for stream in [1, 3] {
        let alone = dir.join(format!("alone-{stream}.pcap"));
        only_stream(&cap, stream, &alone);
        assert_flows(
            "tshark, abbreviated handshake alone",
            &tshark_flows(&alone, &[port], 1),
            &[Flow::default()],
        );
        let out = rsatls_decrypt(&alone, &server_key(), &[]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(rsatls_summary(&text), [1, 0, 0, 0, 0], "{text}");
        assert!(
            text.contains("full handshake is not in the capture"),
            "{text}"
        );
        let data = rsatls_decrypt(&alone, &server_key(), &["--data-only"]).stdout;
        assert!(data.is_empty(), "{}", String::from_utf8_lossy(&data));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn openssl_secure_renegotiation() {
    let dir = scratch("renegotiation");
    let (cipher, suite) = SUITES[1];
    // OpenSSL 3.0 refuses client-initiated renegotiation unless told.
    let (mut server, port) = rev_server(cipher, &["-client_renegotiation"], &[]);
    let capture = Capture::start(&dir, "renegotiation", &[port], Recorder::TcpdumpLoopback);
    let mut c = s_client(port, &[], cipher, false, true);
    let out = c.stdout();
    assert!(
        out.contains("Secure Renegotiation IS supported"),
        "{}",
        c.report()
    );
    let mut flow = Flow::default();
    rev_exchange(&mut c, &lines("before renegotiating"), &mut flow);
    // `R`: s_client renegotiates (RFC 5746), a full handshake under the
    // first one's keys.
    c.send("R\n");
    c.wait_for(Out::Stderr, "RENEGOTIATING", STEP);
    rev_exchange(&mut c, &lines("after renegotiating"), &mut flow);
    s_client_close(c, Some(&mut server));
    let cap = capture.finish();

    let hello = |_| Hello {
        stream: 0,
        suite,
        ems: true,
    };
    let hellos: Vec<Hello> = (0..2).map(hello).collect();
    check_capture(&cap, &[port], &[flow], &hellos, &[Secret::Full; 2]);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// 5. gnutls-cli → rsatls serve
// ---------------------------------------------------------------------------

#[test]
fn gnutls_cli_to_rsatls_serve_with_and_without_ems() {
    require("gnutls-cli", &["--version"]);
    // --allow-no-ems: the last client turns EMS off (%NO_SESSION_HASH).
    let server = RsatlsServer::start(&[
        "--cert",
        &data("rsa2048.cert.pem"),
        "--key",
        &server_key(),
        "--allow-no-ems",
    ]);
    let port = server.addr.port();
    let dir = scratch("gnutls");
    let capture = Capture::start(&dir, "gnutls", &[port], Recorder::TcpdumpAny);
    let mut want = Vec::new();
    let mut hellos = Vec::new();
    for (stream, (cipher, suite, ems)) in [
        ("AES-128-GCM", SUITES[0].1, true),
        ("AES-256-GCM", SUITES[1].1, true),
        ("AES-128-GCM", SUITES[0].1, false),
    ]
    .into_iter()
    .enumerate()
    {
        let priority = format!(
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA:-CIPHER-ALL:+{cipher}{}",
            if ems { "" } else { ":%NO_SESSION_HASH" }
        );
        let mut cmd = Command::new("gnutls-cli");
        cmd.args([
            "--insecure",
            "-p",
            &port.to_string(),
            "--priority",
            &priority,
        ])
        .arg("127.0.0.1");
        let mut c = Peer::spawn(format!("gnutls-cli --priority {priority}"), &mut cmd);
        let options = c.wait_line(Out::Stdout, "- Options:", STEP);
        assert_eq!(options.contains("extended master secret"), ems, "{options}");
        let description = c.wait_line(Out::Stdout, "- Description:", STEP);
        assert!(
            description.contains(&format!("(TLS1.2-X.509)-(RSA)-({cipher})")),
            "{description}"
        );
        // rsatls serve echoes: each line comes back as it went.
        let mut flow = Flow::default();
        for line in [
            format!("hello from gnutls-cli, {cipher}, ems {ems}\n"),
            format!("{}\n", "gnutls".repeat(1000)),
        ] {
            c.send(&line);
            c.wait_for(Out::Stdout, &line, STEP);
            flow.client.extend_from_slice(line.as_bytes());
            flow.server.extend_from_slice(line.as_bytes());
        }
        c.close_stdin();
        assert_eq!(c.exit_code(STEP), 0, "{}", c.report());
        want.push(flow);
        hellos.push(Hello { stream, suite, ems });
    }
    let cap = capture.finish();
    drop(server);

    check_capture(&cap, &[port], &want, &hellos, &[Secret::Full; 3]);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// 6. Python's ssl module → rsatls serve
// ---------------------------------------------------------------------------

/// argv: port, cipher, CA file. Two round trips with the echo server (one
/// message longer than a TLS record), then close_notify both ways; prints the
/// suite and the bytes it sent (hex), which the server echoed.
const PY_CLIENT: &str = r#"
import socket, ssl, sys
port, cipher, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers(cipher)
ctx.load_verify_locations(cafile)
sent = b""
with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        print("cipher", s.cipher()[0], s.version(), flush=True)
        for msg in [b"hello from python " + cipher.encode() + b"\n", bytes(range(256)) * 100]:
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(65536)
                if not d:
                    sys.exit("connection closed after %d bytes" % len(got))
                got += d
            if got != msg:
                sys.exit("the echo differs")
            sent += msg
        s.unwrap()
print("sent", sent.hex(), flush=True)
"#;

#[test]
fn python_ssl_to_rsatls_serve() {
    require("python3", &["-c", "import ssl"]);
    let server =
        RsatlsServer::start(&["--cert", &data("rsa2048.cert.pem"), "--key", &server_key()]);
    let port = server.addr.port();
    let dir = scratch("python");
    let capture = Capture::start(&dir, "python", &[port], Recorder::TcpdumpLoopback);
    let mut want = Vec::new();
    for (cipher, _) in SUITES {
        let out = run(
            "python3 ssl client",
            Command::new("python3")
                .args(["-c", PY_CLIENT, &port.to_string(), cipher])
                .arg(data("rsa2048.cert.pem")),
        );
        let out = String::from_utf8(out.stdout).unwrap();
        assert!(out.contains(&format!("cipher {cipher} TLSv1.2")), "{out}");
        let sent = out
            .lines()
            .find_map(|l| l.strip_prefix("sent "))
            .and_then(unhex)
            .unwrap_or_else(|| panic!("no `sent` line: {out}"));
        want.push(Flow::new(sent.clone(), sent));
    }
    let cap = capture.finish();
    drop(server);

    let hellos: Vec<Hello> = SUITES
        .iter()
        .enumerate()
        .map(|(stream, (_, suite))| Hello {
            stream,
            suite: *suite,
            ems: true,
        })
        .collect();
    check_capture(&cap, &[port], &want, &hellos, &[Secret::Full; 2]);
    let _ = std::fs::remove_dir_all(&dir);
}
