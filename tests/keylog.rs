//! The key log (`--keylog FILE`, `SSLKEYLOGFILE`) checked the way people use
//! it: `tshark` decrypts a capture of an rsatls session with the file.
//!
//! The capture is made without privileges: a relay in this test sits between
//! `rsatls connect` and `rsatls serve`, records the bytes each way, and writes
//! them as a pcap file (Ethernet, IPv4, TCP with a handshake, the server on port
//! 4433). The README shows the same check on a live capture of the loopback
//! interface.
//!
//! Skipped, with the reason printed, only where `tshark` is not installed (CI
//! installs it: see .ci/run).

#[allow(
    dead_code,
    reason = "shared with tests/interop.rs; not every helper is used here"
)]
#[path = "interop/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use harness::{Out, Peer, RsatlsServer};

const STEP: Duration = Duration::from_secs(20);
/// The server's port in the pcap, which tshark is told to read as TLS.
const PCAP_SERVER_PORT: u16 = 4433;

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Which way a chunk went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    ToServer,
    ToClient,
}

type Chunks = Arc<Mutex<Vec<(Dir, Vec<u8>)>>>;

/// A one-connection TCP relay that records what passes, in the order it passed.
struct Relay {
    addr: SocketAddr,
    chunks: Chunks,
    thread: JoinHandle<()>,
}

impl Relay {
    fn start(server: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let chunks = Chunks::default();
        let recorded = chunks.clone();
        let thread = thread::spawn(move || {
            let (client, _) = listener.accept().unwrap();
            let upstream = TcpStream::connect(server).unwrap();
            for s in [&client, &upstream] {
                s.set_read_timeout(Some(STEP)).unwrap();
            }
            let up = pump(
                client.try_clone().unwrap(),
                upstream.try_clone().unwrap(),
                Dir::ToServer,
                recorded.clone(),
            );
            let down = pump(upstream, client, Dir::ToClient, recorded);
            up.join().unwrap();
            down.join().unwrap();
        });
        Relay {
            addr,
            chunks,
            thread,
        }
    }

    /// Waits for both directions to close and returns the chunks.
    fn finish(self) -> Vec<(Dir, Vec<u8>)> {
        self.thread.join().unwrap();
        std::mem::take(&mut *self.chunks.lock().unwrap())
    }
}

/// Copies `from` to `to`, recording each chunk before forwarding it (so an
/// answer is never recorded before what it answers), until EOF.
fn pump(mut from: TcpStream, mut to: TcpStream, dir: Dir, chunks: Chunks) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            let n = from.read(&mut buf).unwrap_or(0);
            if n == 0 {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            chunks.lock().unwrap().push((dir, buf[..n].to_vec()));
            if to.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    })
}

/// A pcap file (microsecond timestamps, Ethernet link type) of one TCP
/// connection between 10.0.0.1:40000 (client) and 10.0.0.2:4433 (server).
/// The addresses are only labels in the file; no packet is ever sent.
struct PcapWriter {
    out: Vec<u8>,
    /// Next sequence number of the client and of the server.
    seq: [u32; 2],
    packets: u32,
}

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_PSH: u8 = 0x08;
const TCP_ACK: u8 = 0x10;

impl PcapWriter {
    fn new() -> PcapWriter {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // thiszone, sigfigs
        out.extend_from_slice(&65_535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        PcapWriter {
            out,
            seq: [0x1000_0000, 0x2000_0000],
            packets: 0,
        }
    }

    fn segment(&mut self, dir: Dir, flags: u8, payload: &[u8]) {
        let (me, peer) = match dir {
            Dir::ToServer => (0, 1),
            Dir::ToClient => (1, 0),
        };
        let (src, dst) = ([10, 0, 0, 1 + me as u8], [10, 0, 0, 1 + peer as u8]);
        let ports = [40_000u16, PCAP_SERVER_PORT];
        let mut frame = Vec::with_capacity(54 + payload.len());
        // Ethernet: destination, source, IPv4.
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1 + peer as u8]);
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1 + me as u8]);
        frame.extend_from_slice(&0x0800u16.to_be_bytes());
        // IPv4 header (RFC 791), with its checksum.
        let total = u16::try_from(20 + 20 + payload.len()).unwrap();
        let mut ip = Vec::with_capacity(20);
        ip.extend_from_slice(&[0x45, 0]);
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&(self.packets as u16).to_be_bytes());
        ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = ip
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum::<u32>();
        let folded = (sum & 0xffff) + (sum >> 16);
        let checksum = !(((folded & 0xffff) + (folded >> 16)) as u16);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        frame.extend_from_slice(&ip);
        // TCP header (RFC 9293); a zero checksum, which tshark does not check by default.
        let ack = if flags & TCP_ACK != 0 {
            self.seq[peer]
        } else {
            0
        };
        frame.extend_from_slice(&ports[me].to_be_bytes());
        frame.extend_from_slice(&ports[peer].to_be_bytes());
        frame.extend_from_slice(&self.seq[me].to_be_bytes());
        frame.extend_from_slice(&ack.to_be_bytes());
        frame.extend_from_slice(&[5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
        frame.extend_from_slice(payload);

        let advance = payload.len() as u32 + u32::from(flags & (TCP_SYN | TCP_FIN) != 0);
        self.seq[me] = self.seq[me].wrapping_add(advance);
        // One millisecond apart, from 2026-01-01T00:00:00Z.
        let (sec, usec) = (
            1_767_225_600 + self.packets / 1000,
            (self.packets % 1000) * 1000,
        );
        let len = u32::try_from(frame.len()).unwrap();
        for field in [sec, usec, len, len] {
            self.out.extend_from_slice(&field.to_le_bytes());
        }
        self.out.extend_from_slice(&frame);
        self.packets += 1;
    }

    /// The whole connection: handshake, the chunks as segments of at most
    /// 1448 bytes, and a FIN each way.
    fn connection(chunks: &[(Dir, Vec<u8>)]) -> Vec<u8> {
        let mut w = PcapWriter::new();
        w.segment(Dir::ToServer, TCP_SYN, &[]);
        w.segment(Dir::ToClient, TCP_SYN | TCP_ACK, &[]);
        w.segment(Dir::ToServer, TCP_ACK, &[]);
        for (dir, bytes) in chunks {
            for segment in bytes.chunks(1448) {
                w.segment(*dir, TCP_PSH | TCP_ACK, segment);
            }
        }
        w.segment(Dir::ToServer, TCP_FIN | TCP_ACK, &[]);
        w.segment(Dir::ToClient, TCP_FIN | TCP_ACK, &[]);
        w.segment(Dir::ToServer, TCP_ACK, &[]);
        w.out
    }
}

/// `tshark -r PCAP -o tls.keylog_file:KEYLOG -z follow,tls,ascii,0`: the
/// decrypted application data of the connection, as tshark prints it.
fn tshark_follow(pcap: &Path, keylog: &str) -> String {
    let out = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-n", "-q"])
        .args(["-d", &format!("tcp.port=={PCAP_SERVER_PORT},tls")])
        .args(["-o", &format!("tls.keylog_file:{keylog}")])
        .args(["-z", "follow,tls,ascii,0"])
        .output()
        .expect("run tshark");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tshark failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn client_random_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| l.starts_with("CLIENT_RANDOM "))
        .map(str::to_string)
        .collect()
}

#[test]
fn tshark_decrypts_a_capture_with_either_sides_key_log() {
    if !tshark_available() {
        eprintln!(
            "skipped: `tshark` is not installed (Debian: apt-get install tshark), \
             so the key log cannot be checked against it"
        );
        return;
    }
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("keylog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (server_log, client_log, ignored) = (
        path("server.keys"),
        path("client.keys"),
        path("ignored.keys"),
    );

    // The server's log comes from SSLKEYLOGFILE; the client has both, and
    // --keylog wins.
    let server = RsatlsServer::start_with_env(
        &[
            "--cert",
            &data("rsa2048.cert.pem"),
            "--key",
            &data("rsa2048.key.pem"),
        ],
        &[("SSLKEYLOGFILE", &server_log)],
    );
    let relay = Relay::start(server.addr);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.args(["connect", &relay.addr.to_string(), "--pin", &server.pin])
        .args(["--keylog", &client_log])
        .env("SSLKEYLOGFILE", &ignored);
    let mut client = Peer::spawn("rsatls connect --keylog", &mut cmd);
    let marker = format!("key log marker {}\n", std::process::id());
    client.send(&marker);
    client.wait_for(Out::Stdout, &marker, STEP);
    client.close_stdin();
    assert_eq!(client.exit_code(STEP), 0, "{}", client.report());
    let chunks = relay.finish();
    assert!(chunks.iter().any(|(d, _)| *d == Dir::ToServer));
    assert!(chunks.iter().any(|(d, _)| *d == Dir::ToClient));
    let pcap = dir.join("session.pcap");
    std::fs::write(&pcap, PcapWriter::connection(&chunks)).unwrap();

    // One session: one CLIENT_RANDOM line on each side, and the same one.
    let (c, s) = (
        client_random_lines(Path::new(&client_log)),
        client_random_lines(Path::new(&server_log)),
    );
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(
        c, s,
        "both sides log the same client random and master secret"
    );
    assert_eq!(c[0].len(), "CLIENT_RANDOM ".len() + 64 + 1 + 96, "{}", c[0]);
    assert!(
        !Path::new(&ignored).exists(),
        "--keylog wins over SSLKEYLOGFILE"
    );
    #[cfg(unix)]
    for log in [&client_log, &server_log] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{log}");
    }

    // tshark decrypts with either file; the marker went there and back.
    for log in [&client_log, &server_log] {
        let followed = tshark_follow(&pcap, log);
        assert_eq!(
            followed.matches(marker.trim_end()).count(),
            2,
            "{log}:\n{followed}"
        );
    }
    // Without a key log it cannot: the marker is only in the encrypted records.
    let followed = tshark_follow(&pcap, "");
    assert!(!followed.contains(marker.trim_end()), "{followed}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
