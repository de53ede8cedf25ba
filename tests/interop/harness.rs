//! Process harness for `tests/interop.rs`: child processes whose stdout and
//! stderr are captured in the background, bounded waits on their output and
//! exit, a watchdog, and kill-on-drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// No peer lives longer than this, whatever the test does.
const MAX_LIFETIME: Duration = Duration::from_secs(60);

/// Everything a child wrote to one of its pipes so far.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    eof: bool,
}

#[derive(Default)]
struct Pipe {
    state: Mutex<Captured>,
    changed: Condvar,
}

impl Pipe {
    fn start(self: &Arc<Self>, mut from: impl Read + Send + 'static) {
        let pipe = self.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                let n = from.read(&mut buf).unwrap_or(0);
                let mut st = pipe.state.lock().unwrap();
                if n == 0 {
                    st.eof = true;
                } else {
                    st.bytes.extend_from_slice(&buf[..n]);
                }
                pipe.changed.notify_all();
                if n == 0 {
                    return;
                }
            }
        });
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().bytes).into_owned()
    }

    /// Waits until `pred` holds for the text so far. `Err` on timeout or when
    /// the pipe reached EOF without it.
    fn wait_for(
        &self,
        pred: &dyn Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, &'static str> {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock().unwrap();
        loop {
            let text = String::from_utf8_lossy(&st.bytes);
            if pred(&text) {
                return Ok(text.into_owned());
            }
            if st.eof {
                return Err("the stream ended");
            }
            let now = Instant::now();
            if now >= deadline {
                return Err("timed out");
            }
            st = self.changed.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    fn wait_eof(&self, timeout: Duration) {
        let _ = self.wait_for(&|_| false, timeout);
    }
}

/// Which of a child's output streams.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Out {
    Stdout,
    Stderr,
}

/// A running child process. Killed (and reaped) on drop, and by a watchdog
/// after [`MAX_LIFETIME`].
pub(crate) struct Peer {
    name: String,
    child: Arc<Mutex<Child>>,
    stdin: Option<ChildStdin>,
    stdout: Arc<Pipe>,
    stderr: Arc<Pipe>,
    finished: Arc<AtomicBool>,
    status: Option<ExitStatus>,
}

/// Fails the test, loudly, when a peer program this file needs is missing.
pub(crate) fn require(program: &str, version_args: &[&str]) {
    match Command::new(program)
        .args(version_args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "interop peer `{program} {}` does not work (status {}): {}{}\n\
             The interop tests need openssl, curl and python3 (CI installs them: see .ci/run).",
            version_args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ),
        Err(e) => panic!(
            "interop peer `{program}` is not available ({e}).\n\
             The interop tests need openssl, curl and python3 on PATH (CI installs them: see .ci/run)."
        ),
    }
}

impl Peer {
    /// Starts `cmd` with all three standard streams piped.
    pub(crate) fn spawn(name: impl Into<String>, cmd: &mut Command) -> Peer {
        let name = name.into();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {cmd:?}: {e}"));
        let stdout = Arc::new(Pipe::default());
        let stderr = Arc::new(Pipe::default());
        stdout.start(child.stdout.take().unwrap());
        stderr.start(child.stderr.take().unwrap());
        let stdin = child.stdin.take();
        let child = Arc::new(Mutex::new(child));
        let finished = Arc::new(AtomicBool::new(false));
        {
            let child = child.clone();
            let finished = finished.clone();
            let name = name.clone();
            thread::spawn(move || {
                let start = Instant::now();
                while !finished.load(Ordering::Relaxed) {
                    if start.elapsed() > MAX_LIFETIME {
                        eprintln!("watchdog: killing {name} after {MAX_LIFETIME:?}");
                        let _ = child.lock().unwrap().kill();
                        return;
                    }
                    thread::sleep(Duration::from_millis(100));
                }
            });
        }
        Peer {
            name,
            child,
            stdin,
            stdout,
            stderr,
            finished,
            status: None,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.lock().unwrap().id()
    }

    /// Writes to the child's stdin; fails if the child closed it (e.g. exited).
    pub(crate) fn try_send(&mut self, data: &str) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{}: stdin already closed", self.name));
        stdin.write_all(data.as_bytes())?;
        stdin.flush()
    }

    /// Writes to the child's stdin, failing the test if that is not possible.
    pub(crate) fn send(&mut self, data: &str) {
        if let Err(e) = self.try_send(data) {
            panic!(
                "{}: writing {data:?} to stdin: {e}\n{}",
                self.name,
                self.report()
            );
        }
    }

    /// Closes the child's stdin (EOF for the child).
    pub(crate) fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn pipe(&self, which: Out) -> &Pipe {
        match which {
            Out::Stdout => &self.stdout,
            Out::Stderr => &self.stderr,
        }
    }

    /// Everything the child wrote to `which` so far.
    pub(crate) fn output(&self, which: Out) -> String {
        self.pipe(which).text()
    }

    pub(crate) fn stdout(&self) -> String {
        self.output(Out::Stdout)
    }

    pub(crate) fn stderr(&self) -> String {
        self.output(Out::Stderr)
    }

    /// Both outputs, for failure messages.
    pub(crate) fn report(&self) -> String {
        format!(
            "---- {} stdout ----\n{}\n---- {} stderr ----\n{}\n----",
            self.name,
            self.stdout(),
            self.name,
            self.stderr()
        )
    }

    /// Waits until `which` contains `needle`; `Err` (with the reason) if it does
    /// not within `timeout` or the stream ends first.
    pub(crate) fn try_wait_for(
        &self,
        which: Out,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        self.pipe(which)
            .wait_for(&|t| t.contains(needle), timeout)
            .map_err(|why| format!("{}: waiting for {needle:?} on {which:?}: {why}", self.name))
    }

    /// Waits until `which` contains `needle`, failing the test otherwise.
    pub(crate) fn wait_for(&self, which: Out, needle: &str, timeout: Duration) -> String {
        self.try_wait_for(which, needle, timeout)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.report()))
    }

    /// Waits for a complete line (newline-terminated) of `which` that starts,
    /// after any indentation, with `prefix`, and returns it without the newline.
    pub(crate) fn wait_line(&self, which: Out, prefix: &str, timeout: Duration) -> String {
        let find = |t: &str| -> Option<String> {
            let complete = &t[..t.rfind('\n')? + 1];
            complete
                .lines()
                .find(|l| l.trim_start().starts_with(prefix))
                .map(str::to_string)
        };
        match self.pipe(which).wait_for(&|t| find(t).is_some(), timeout) {
            Ok(text) => find(&text).unwrap(),
            Err(why) => panic!(
                "{}: waiting for a line {prefix:?} on {which:?}: {why}\n{}",
                self.name,
                self.report()
            ),
        }
    }

    /// Waits for the child to exit (and its output to be complete), failing the
    /// test if it does not within `timeout`.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let polled = self.child.lock().unwrap().try_wait();
            match polled {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    self.finished.store(true, Ordering::Relaxed);
                    // The pipes close when the child exits; collect the rest.
                    self.stdout.wait_eof(Duration::from_secs(2));
                    self.stderr.wait_eof(Duration::from_secs(2));
                    return status;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => panic!(
                    "{}: still running after {timeout:?}\n{}",
                    self.name,
                    self.report()
                ),
                Err(e) => panic!("{}: wait: {e}", self.name),
            }
        }
    }

    /// Waits for the exit and returns its code, failing the test on a timeout
    /// or a death by signal.
    pub(crate) fn exit_code(&mut self, timeout: Duration) -> i32 {
        let status = self.wait_exit(timeout);
        status.code().unwrap_or_else(|| {
            panic!(
                "{}: killed by a signal ({status})\n{}",
                self.name,
                self.report()
            )
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::Relaxed);
        self.stdin = None;
        if self.status.is_none()
            && let Ok(mut child) = self.child.lock()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port that was free a moment ago (bind to port 0, read it, drop).
pub(crate) fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// `openssl s_server` for one TLS 1.2 connection with `cipher`, the `cert` and
/// `key` files and `extra` arguments, on a free loopback port; `env` is added to
/// its environment. Returns once it printed `ACCEPT`. The port is free when
/// chosen but could be taken before s_server binds it, so a failed start is
/// retried on another.
pub(crate) fn openssl_s_server(
    cipher: &str,
    cert: &str,
    key: &str,
    extra: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> (Peer, SocketAddr) {
    // Each try: s_server reads its key and prints ACCEPT within this.
    const STARTUP: Duration = Duration::from_secs(20);
    require("openssl", &["version"]);
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-naccept", "1", "-tls1_2", "-cipher", cipher])
            .args(["-cert", cert, "-key", key])
            .args(extra)
            .envs(env.iter().copied());
        let name = format!("openssl s_server -cipher {cipher} {}", extra.join(" "));
        let mut peer = Peer::spawn(name, &mut cmd);
        match peer.try_wait_for(Out::Stdout, "ACCEPT", STARTUP) {
            Ok(_) => return (peer, SocketAddr::from(([127, 0, 0, 1], port))),
            Err(e) => {
                peer.wait_exit(STARTUP);
                last = format!("{e}\n{}", peer.report());
            }
        }
    }
    panic!("openssl s_server did not start\n{last}");
}

/// `gnutls-serv --port PORT --x509certfile CERT --x509keyfile KEY EXTRA...` on
/// a free port. Returns once it accepts connections. (gnutls-serv says it
/// listens once the socket is bound, a moment before listen(2): a client in
/// between is refused. So this waits until a probe connection is accepted;
/// gnutls-serv drops that probe and serves on.)
pub(crate) fn gnutls_serv(cert: &str, key: &str, extra: &[&str]) -> (Peer, SocketAddr) {
    const STARTUP: Duration = Duration::from_secs(20);
    require("gnutls-serv", &["--version"]);
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("gnutls-serv");
        cmd.args(["--port", &port.to_string()])
            .args(["--x509certfile", cert, "--x509keyfile", key])
            .args(extra);
        let mut peer = Peer::spawn(format!("gnutls-serv {}", extra.join(" ")), &mut cmd);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match peer.try_wait_for(Out::Stderr, "listening on IPv4", STARTUP) {
            Ok(_) => {
                let deadline = Instant::now() + STARTUP;
                while TcpStream::connect(addr).is_err() {
                    assert!(Instant::now() < deadline, "gnutls-serv never accepted");
                    thread::sleep(Duration::from_millis(10));
                }
                return (peer, addr);
            }
            Err(e) => {
                peer.wait_exit(STARTUP);
                last = format!("{e}\n{}", peer.report());
            }
        }
    }
    panic!("gnutls-serv did not start\n{last}");
}

/// `rsatls connect ARGS...`, the binary under test.
pub(crate) fn rsatls_connect(args: &[&str]) -> Peer {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
    cmd.arg("connect").args(args);
    Peer::spawn(format!("rsatls connect {}", args.join(" ")), &mut cmd)
}

/// `rsatls serve` on an OS-chosen loopback port, with its readiness lines read.
pub(crate) struct RsatlsServer {
    pub(crate) peer: Peer,
    pub(crate) addr: SocketAddr,
    pub(crate) pin: String,
}

impl RsatlsServer {
    /// Starts `rsatls serve --listen 127.0.0.1:0 ARGS...` and waits for its
    /// `listening on ADDR` and `pin sha256//...` lines.
    pub(crate) fn start(args: &[&str]) -> RsatlsServer {
        Self::start_with_env(args, &[])
    }

    /// [`RsatlsServer::start`] with extra environment variables for the server.
    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> RsatlsServer {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsatls"));
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied());
        let name = format!("rsatls serve {}", args.join(" "));
        let peer = Peer::spawn(name, &mut cmd);
        // Ephemeral RSA key generation can take a few seconds.
        let ready = peer
            .pipe(Out::Stdout)
            .wait_for(
                &|t| t.lines().any(|l| l.starts_with("pin ")),
                Duration::from_secs(30),
            )
            .unwrap_or_else(|why| {
                panic!("rsatls serve never became ready ({why})\n{}", peer.report())
            });
        let mut lines = ready.lines();
        let addr = lines
            .next()
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap_or_else(|| {
                panic!(
                    "first stdout line is not `listening on ADDR`\n{}",
                    peer.report()
                )
            })
            .parse::<SocketAddr>()
            .unwrap_or_else(|e| panic!("bad listening address: {e}\n{}", peer.report()));
        let pin = lines
            .next()
            .and_then(|l| l.strip_prefix("pin "))
            .unwrap_or_else(|| {
                panic!(
                    "second stdout line is not `pin sha256//...`\n{}",
                    peer.report()
                )
            })
            .to_string();
        assert!(pin.starts_with("sha256//"), "pin line: {pin:?}");
        assert_eq!(addr.ip().to_string(), "127.0.0.1");
        assert_ne!(addr.port(), 0);
        RsatlsServer { peer, addr, pin }
    }

    /// Sends SIGTERM (via the `kill` command).
    /// Falls back to the shell's `kill` builtin where procps' is not installed.
    pub(crate) fn sigterm(&self) {
        let pid = self.peer.pid().to_string();
        let status = match Command::new("kill").args(["-TERM", &pid]).status() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Command::new("sh")
                .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
                .status(),
            other => other,
        }
        .unwrap_or_else(|e| panic!("cannot run `kill -TERM {pid}`: {e}"));
        assert!(status.success(), "`kill -TERM {pid}` failed: {status}");
    }
}
