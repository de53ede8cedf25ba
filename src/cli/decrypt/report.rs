//! What `rsatls decrypt` says about each event of the capture: the five steps
//! of RSA key transport per handshake (in `rsatls demo`'s words), the
//! application data, one line per thing skipped, and the summary.
//!
//! Nothing of a session's plaintext is kept: each record is written as it
//! comes. What is kept per open connection is a few facts of its current
//! handshake (its suite, whether the first decrypted record was announced),
//! dropped when the connection closes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use rsatls::KeyLog;
use rsatls::capture::{CaptureEvent, FlowId, Skipped};
use rsatls::msgs::enums::{AlertDescription, AlertLevel, CipherSuite, ProtocolVersion};
use rsatls::passive::{
    Direction, KeyExchangeOutcome, PassiveEvent, PremasterError, ResumedBy, StopReason,
    Undecryptable,
};

use super::super::Failure;
use super::output::{Out, Shown, hex, hex_head, show};
use super::select::Selector;

/// Human output, or only the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Everything on stdout.
    Human,
    /// Only the selected data on stdout; what was skipped and the summary on
    /// stderr.
    DataOnly,
}

/// The facts of one open connection the output needs.
struct Flow {
    client: SocketAddr,
    server: SocketAddr,
    /// The suite of the current handshake (from ServerHello).
    suite: Option<CipherSuite>,
    /// Whether it uses Extended Master Secret.
    ems: bool,
    /// The name of the key that matched the current handshake's certificate.
    key_name: Option<String>,
    /// Whether step 5 was announced for the current handshake.
    step5: bool,
}

/// What the summary counts.
#[derive(Default)]
struct Counts {
    connections: u64,
    handshakes: u64,
    full: u64,
    resumed: u64,
    renegotiations: u64,
    /// Handshakes and connections not decrypted, by reason.
    skipped: BTreeMap<&'static str, u64>,
    /// Directions that stopped early, by reason.
    stopped: BTreeMap<&'static str, u64>,
    finished_failed: u64,
    client_bytes: u64,
    server_bytes: u64,
    records: u64,
}

/// Turns capture events into output.
pub(super) struct Report {
    mode: Mode,
    select: Selector,
    keylog: Option<Arc<dyn KeyLog>>,
    /// The key names, for "no matching key".
    key_names: Vec<String>,
    flows: HashMap<FlowId, Flow>,
    /// The connection the last human line was about, to say when the output
    /// moves to another one.
    last: Option<FlowId>,
    counts: Counts,
}

/// `client→server` / `server→client`.
fn arrow(from: Direction) -> &'static str {
    match from {
        Direction::ClientToServer => "client→server",
        Direction::ServerToClient => "server→client",
    }
}

fn side(from: Direction) -> &'static str {
    match from {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

fn version(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::SSLV3 => "SSL 3.0".into(),
        ProtocolVersion::TLSV1_0 => "TLS 1.0".into(),
        ProtocolVersion::TLSV1_1 => "TLS 1.1".into(),
        ProtocolVersion::TLSV1_2 => "TLS 1.2".into(),
        other => format!("version {:#06x}", other.0),
    }
}

fn suite(s: CipherSuite) -> String {
    match s.name() {
        Some(name) => name.to_string(),
        None => format!("suite {:#06x}", s.0),
    }
}

/// A random's first 8 bytes: enough to find it in a key log or Wireshark.
fn short(random: &[u8; 32]) -> String {
    format!("{}…", hex(random.get(..8).unwrap_or_default()))
}

/// Why a premaster block is malformed, in words.
fn premaster_error(e: PremasterError) -> &'static str {
    match e {
        PremasterError::WrongLength => "its length is not the modulus length",
        PremasterError::KeyOperation => "it is not below the modulus",
        PremasterError::BadHeader => "the block does not start with 00 02",
        PremasterError::ShortPadding => "fewer than 8 padding bytes",
        PremasterError::NoSeparator => "no zero byte ends the padding",
        PremasterError::WrongPremasterLength => "the secret is not 48 bytes",
        PremasterError::WrongVersion => "the secret does not start with the client's version",
    }
}

/// A skip reason's key in the summary, and its line.
fn undecryptable(reason: &Undecryptable, key_names: &[String]) -> (&'static str, String) {
    match reason {
        Undecryptable::NotTls => (
            "not TLS",
            "skipped: not TLS (the connection does not start with a TLS handshake)".into(),
        ),
        Undecryptable::MidStream => (
            "mid-stream",
            "skipped: the capture starts in the middle of this connection (no handshake to \
             follow)"
                .into(),
        ),
        Undecryptable::Version(v) => (
            "not TLS 1.2",
            format!("skipped: {} (only TLS 1.2 is decrypted)", version(*v)),
        ),
        Undecryptable::Suite(s) => (
            "other suite",
            format!(
                "skipped: {} (only RSA key transport with AES-GCM is decrypted)",
                suite(*s)
            ),
        ),
        Undecryptable::Compression => (
            "compression",
            "skipped: TLS compression was negotiated".into(),
        ),
        Undecryptable::NotRsaCertificate => (
            "not an RSA certificate",
            "skipped: the server's certificate has no RSA key".into(),
        ),
        Undecryptable::NoMatchingKey(pin) => (
            "no matching key",
            format!(
                "skipped: no matching key: the server's key is {pin}, none of --key {}",
                key_names.join(", ")
            ),
        ),
        Undecryptable::ResumptionNotInCapture => (
            "resumption not in capture",
            "skipped: resumes a session whose full handshake is not in the capture".into(),
        ),
    }
}

impl Report {
    pub(super) fn new(
        mode: Mode,
        select: Selector,
        keylog: Option<Arc<dyn KeyLog>>,
        key_names: Vec<String>,
    ) -> Self {
        Self {
            mode,
            select,
            keylog,
            key_names,
            flows: HashMap::new(),
            last: None,
            counts: Counts::default(),
        }
    }

    /// A line about connection `flow` (the header first if the previous line
    /// was about another one); in `--data-only` mode, nothing.
    fn say(
        &mut self,
        out: &mut Out,
        flow: FlowId,
        text: std::fmt::Arguments<'_>,
    ) -> Result<(), Failure> {
        if self.mode == Mode::DataOnly || !self.select.session(flow) {
            return Ok(());
        }
        self.header(out, flow, "(continued)")?;
        out.line(text)
    }

    /// The connection's header, if the last line was about another one.
    fn header(&mut self, out: &mut Out, flow: FlowId, note: &str) -> Result<(), Failure> {
        if self.last == Some(flow) {
            return Ok(());
        }
        self.last = Some(flow);
        let sep = match note.is_empty() {
            true => "",
            false => " ",
        };
        match self.flows.get(&flow) {
            Some(f) => out.line(format_args!(
                "session {}: {} → {}{sep}{note}",
                flow.0, f.client, f.server
            )),
            None => out.line(format_args!("session {}{sep}{note}", flow.0)),
        }
    }

    /// Something skipped or stopped: a line in the human output, or on
    /// stderr with `--data-only`.
    fn notice(&mut self, out: &mut Out, flow: FlowId, text: String) -> Result<(), Failure> {
        match self.mode {
            Mode::Human => self.say(out, flow, format_args!("   {text}")),
            Mode::DataOnly if self.select.session(flow) => {
                out.diagnostic(format_args!("session {}: {text}", flow.0))
            }
            Mode::DataOnly => Ok(()),
        }
    }

    /// Handles one event.
    pub(super) fn event(&mut self, out: &mut Out, event: CaptureEvent) -> Result<(), Failure> {
        match event {
            CaptureEvent::Connection {
                flow,
                client,
                server,
                mid_stream,
            } => {
                self.counts.connections += 1;
                self.flows.insert(
                    flow,
                    Flow {
                        client,
                        server,
                        suite: None,
                        ems: false,
                        key_name: None,
                        step5: false,
                    },
                );
                if self.mode == Mode::Human && self.select.session(flow) {
                    if self.last.is_some() {
                        out.line(format_args!(""))?;
                    }
                    let note = match mid_stream {
                        true => "(its start is not in the capture)",
                        false => "",
                    };
                    self.header(out, flow, note)?;
                }
                Ok(())
            }
            CaptureEvent::Tls { flow, event } => self.tls(out, flow, event),
            CaptureEvent::Gap { flow, from, at } => {
                *self.counts.stopped.entry("gap").or_default() += 1;
                self.notice(
                    out,
                    flow,
                    format!(
                        "{} stopped: a gap at byte {at} (segments missing from the capture)",
                        arrow(from)
                    ),
                )
            }
            CaptureEvent::Closed { flow } => {
                self.flows.remove(&flow);
                Ok(())
            }
        }
    }

    fn tls(&mut self, out: &mut Out, flow: FlowId, event: PassiveEvent) -> Result<(), Failure> {
        match event {
            PassiveEvent::ClientHello {
                handshake,
                client_random,
                session_id,
                offers_ticket,
                offers_ems,
                server_name,
            } => {
                self.counts.handshakes += 1;
                if let Some(f) = self.flows.get_mut(&flow) {
                    f.suite = None;
                    f.ems = false;
                    f.key_name = None;
                    f.step5 = false;
                }
                if handshake > 0 {
                    self.counts.renegotiations += 1;
                    self.say(
                        out,
                        flow,
                        format_args!(
                            "renegotiation {handshake} (under the keys of the previous handshake)"
                        ),
                    )?;
                }
                let resumption = match (session_id.is_empty(), offers_ticket) {
                    (_, true) => "a session ticket".to_string(),
                    (false, false) => format!("session ID {}", hex_head(&session_id, 8)),
                    (true, false) => "nothing".to_string(),
                };
                self.say(
                    out,
                    flow,
                    format_args!(
                        "   ClientHello: random {}, server name {}, extended_master_secret {}, \
                         resumption: {resumption}",
                        short(&client_random),
                        server_name.as_deref().unwrap_or("-"),
                        match offers_ems {
                            true => "offered",
                            false => "not offered",
                        }
                    ),
                )
            }
            PassiveEvent::ServerHello {
                version: v,
                suite: s,
                ems,
                server_random,
                session_id,
                ..
            } => {
                if let Some(f) = self.flows.get_mut(&flow) {
                    f.suite = Some(s);
                    f.ems = ems;
                }
                self.say(
                    out,
                    flow,
                    format_args!(
                        "   ServerHello: {}, {}, extended_master_secret={}, random {}, session ID {}",
                        version(v),
                        suite(s),
                        ems,
                        short(&server_random),
                        match session_id.is_empty() {
                            true => "-".to_string(),
                            false => hex_head(&session_id, 8),
                        }
                    ),
                )
            }
            PassiveEvent::ServerKey {
                pin,
                modulus_bits,
                subject,
                key_name,
                ..
            } => {
                if let Some(f) = self.flows.get_mut(&flow) {
                    f.key_name.clone_from(&key_name);
                }
                self.say(
                    out,
                    flow,
                    format_args!("1. server key sent (in its Certificate)"),
                )?;
                self.say(
                    out,
                    flow,
                    format_args!("   RSA modulus: {modulus_bits} bits"),
                )?;
                self.say(out, flow, format_args!("   pin:         {pin}"))?;
                if let Some(subject) = subject {
                    self.say(out, flow, format_args!("   subject:     {subject}"))?;
                }
                match key_name {
                    Some(name) => self.say(out, flow, format_args!("   matches:     --key {name}")),
                    None => self.say(
                        out,
                        flow,
                        format_args!("   matches:     none of the --key files"),
                    ),
                }
            }
            PassiveEvent::KeyExchange {
                client_random,
                encrypted_premaster,
                outcome,
                ..
            } => {
                self.say(
                    out,
                    flow,
                    format_args!(
                        "2./3. secret generated by the client, encrypted under the server's key \
                         (ClientKeyExchange, PKCS#1 v1.5)"
                    ),
                )?;
                self.say(
                    out,
                    flow,
                    format_args!("   {}", hex_head(&encrypted_premaster, 24)),
                )?;
                match outcome {
                    KeyExchangeOutcome::Decrypted {
                        premaster,
                        master_secret,
                    } => {
                        self.counts.full += 1;
                        self.log(&client_random, &master_secret[..]);
                        let (key, ems, s) = self.flow_facts(flow);
                        self.say(
                            out,
                            flow,
                            format_args!(
                                "4. secret decrypted with the server's private key ({key})"
                            ),
                        )?;
                        self.say(
                            out,
                            flow,
                            format_args!("   premaster:     {}", hex(&premaster[..])),
                        )?;
                        self.say(
                            out,
                            flow,
                            format_args!(
                                "   master secret: {} ({s}, extended_master_secret={ems})",
                                hex_head(&master_secret[..], 16)
                            ),
                        )
                    }
                    KeyExchangeOutcome::Malformed(e) => {
                        *self
                            .counts
                            .skipped
                            .entry("malformed premaster")
                            .or_default() += 1;
                        self.notice(
                            out,
                            flow,
                            format!(
                                "4. the premaster does not decrypt to a well-formed block ({}): \
                                 the client was not legitimate, or the key is wrong",
                                premaster_error(e)
                            ),
                        )
                    }
                }
            }
            PassiveEvent::Resumed {
                client_random,
                by,
                master_secret,
                ..
            } => {
                self.counts.resumed += 1;
                self.log(&client_random, &master_secret[..]);
                let (_, ems, s) = self.flow_facts(flow);
                let by = match by {
                    ResumedBy::SessionId => "its session ID",
                    ResumedBy::Ticket => "its session ticket",
                };
                self.say(
                    out,
                    flow,
                    format_args!(
                        "1.-4. resumed (abbreviated handshake, no key transport): the master \
                         secret of an earlier full handshake in this capture, found by {by}"
                    ),
                )?;
                self.say(
                    out,
                    flow,
                    format_args!(
                        "   master secret: {} ({s}, extended_master_secret={ems})",
                        hex_head(&master_secret[..], 16)
                    ),
                )
            }
            PassiveEvent::NewSessionTicket {
                lifetime_hint,
                ticket_len,
                ..
            } => self.say(
                out,
                flow,
                format_args!(
                    "   NewSessionTicket: {ticket_len} bytes, lifetime hint {lifetime_hint} s \
                     (kept for resumptions later in the capture)"
                ),
            ),
            PassiveEvent::Finished {
                from,
                verify_data,
                verified,
                ..
            } => {
                self.step5(out, flow)?;
                if !verified {
                    self.counts.finished_failed += 1;
                }
                self.say(
                    out,
                    flow,
                    format_args!(
                        "   {} Finished: {} (verify_data {})",
                        side(from),
                        match verified {
                            true => "verified",
                            false => "NOT verified: the transcript or the master secret differ",
                        },
                        hex(&verify_data)
                    ),
                )
            }
            PassiveEvent::ApplicationData { from, data } => self.data(out, flow, from, &data),
            PassiveEvent::Alert {
                from,
                level,
                description,
                encrypted,
            } => {
                if !self.select.data(flow, from) {
                    return Ok(());
                }
                let level = AlertLevel(level)
                    .name()
                    .map_or_else(|| format!("level {level}"), str::to_ascii_lowercase);
                let description = AlertDescription(description)
                    .name()
                    .map_or_else(|| format!("alert {description}"), str::to_ascii_lowercase);
                let how = match encrypted {
                    true => "decrypted",
                    false => "in the clear",
                };
                self.say(
                    out,
                    flow,
                    format_args!(
                        "[{} {} alert: {level} {description}, {how}]",
                        flow.0,
                        arrow(from)
                    ),
                )
            }
            PassiveEvent::Undecryptable { reason, .. } => {
                let (key, line) = undecryptable(&reason, &self.key_names);
                *self.counts.skipped.entry(key).or_default() += 1;
                self.notice(out, flow, line)
            }
            PassiveEvent::Stopped { from, reason } => {
                let (key, why) = match reason {
                    // Said already: the capture's gap (with its byte
                    // offset), or the handshake that cannot be followed.
                    StopReason::Gap | StopReason::Undecryptable => return Ok(()),
                    StopReason::Malformed(what) => {
                        ("malformed TLS", format!("malformed TLS ({what})"))
                    }
                    StopReason::BadRecordMac => (
                        "record does not authenticate",
                        "a record that does not authenticate (a corrupted capture, or not the \
                         keys of this session)"
                            .into(),
                    ),
                    StopReason::Limit => (
                        "over a limit",
                        "more bytes waiting than the decoder holds".into(),
                    ),
                };
                *self.counts.stopped.entry(key).or_default() += 1;
                self.notice(out, flow, format!("{} stopped: {why}", arrow(from)))
            }
        }
    }

    /// The key name, EMS and suite of the current handshake on `flow`.
    fn flow_facts(&self, flow: FlowId) -> (String, bool, String) {
        match self.flows.get(&flow) {
            Some(f) => (
                f.key_name.clone().unwrap_or_else(|| "?".into()),
                f.ems,
                f.suite.map_or_else(|| "?".into(), suite),
            ),
            None => ("?".into(), false, "?".into()),
        }
    }

    /// Announces step 5 once per handshake.
    fn step5(&mut self, out: &mut Out, flow: FlowId) -> Result<(), Failure> {
        let Some(f) = self.flows.get_mut(&flow) else {
            return Ok(());
        };
        if f.step5 {
            return Ok(());
        }
        f.step5 = true;
        self.say(
            out,
            flow,
            format_args!(
                "5. encrypted records decrypted (AES-GCM under keys from the master secret)"
            ),
        )
    }

    fn data(
        &mut self,
        out: &mut Out,
        flow: FlowId,
        from: Direction,
        data: &[u8],
    ) -> Result<(), Failure> {
        self.counts.records += 1;
        match from {
            Direction::ClientToServer => self.counts.client_bytes += data.len() as u64,
            Direction::ServerToClient => self.counts.server_bytes += data.len() as u64,
        }
        if !self.select.data(flow, from) {
            return Ok(());
        }
        match self.mode {
            Mode::DataOnly => out.bytes(data),
            Mode::Human => {
                self.step5(out, flow)?;
                self.last = Some(flow);
                out.line(format_args!(
                    "[{} {}, {} bytes]",
                    flow.0,
                    arrow(from),
                    data.len()
                ))?;
                match show(data) {
                    Shown::Text(text) => {
                        out.bytes(text.as_bytes())?;
                        match text.ends_with('\n') {
                            true => Ok(()),
                            false => out.bytes(b"\n"),
                        }
                    }
                    Shown::Hex(lines) => {
                        for line in lines {
                            out.line(format_args!("{line}"))?;
                        }
                        Ok(())
                    }
                }
            }
        }
    }

    fn log(&self, client_random: &[u8; 32], master: &[u8]) {
        if let Some(log) = &self.keylog {
            log.log("CLIENT_RANDOM", client_random, master);
        }
    }

    /// Whether some handshake was decrypted.
    pub(super) fn decrypted_any(&self) -> bool {
        self.counts.full + self.counts.resumed > 0
    }

    /// The summary: on stdout, or on stderr with `--data-only`.
    pub(super) fn summary(&mut self, out: &mut Out, skipped: Skipped) -> Result<(), Failure> {
        let c = &self.counts;
        let not_tls = c.skipped.get("not TLS").copied().unwrap_or(0);
        // Handshakes neither decrypted nor skipped: refused by the server (an
        // alert instead of ServerHello), or cut off by the capture's end.
        let skipped_handshakes: u64 = c
            .skipped
            .iter()
            .filter(|(k, _)| !matches!(**k, "not TLS" | "mid-stream"))
            .map(|(_, n)| n)
            .sum();
        let unfinished = c
            .handshakes
            .saturating_sub(c.full + c.resumed + skipped_handshakes);
        let mut lines = vec![
            format!("connections:     {} ({} not TLS)", c.connections, not_tls),
            format!(
                "TLS handshakes:  {} ({} renegotiations): {} decrypted ({} full, {} resumed){}",
                c.handshakes,
                c.renegotiations,
                c.full + c.resumed,
                c.full,
                c.resumed,
                match unfinished {
                    0 => String::new(),
                    n => format!(", {n} ended before their keys were known"),
                }
            ),
        ];
        let skipped_tls: Vec<String> = c
            .skipped
            .iter()
            .filter(|(k, _)| **k != "not TLS")
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        lines.push(format!(
            "skipped:         {}",
            match skipped_tls.is_empty() {
                true => "none".to_string(),
                false => skipped_tls.join(", "),
            }
        ));
        if !c.stopped.is_empty() {
            let stopped: Vec<String> = c.stopped.iter().map(|(k, n)| format!("{k} {n}")).collect();
            lines.push(format!("stopped early:   {}", stopped.join(", ")));
        }
        if c.finished_failed > 0 {
            lines.push(format!("Finished not verified: {}", c.finished_failed));
        }
        let packets = skipped.link_type + skipped.not_tcp + skipped.fragment + skipped.malformed;
        lines.push(format!(
            "packets skipped: {packets} (unknown link type {}, not TCP {}, IP fragments {}, \
             malformed or cut short {})",
            skipped.link_type, skipped.not_tcp, skipped.fragment, skipped.malformed
        ));
        lines.push(format!(
            "bytes decrypted: {} in {} records (client→server {}, server→client {})",
            c.client_bytes + c.server_bytes,
            c.records,
            c.client_bytes,
            c.server_bytes
        ));
        match self.mode {
            Mode::Human => {
                out.line(format_args!("\nsummary"))?;
                for line in lines {
                    out.line(format_args!("   {line}"))?;
                }
                Ok(())
            }
            Mode::DataOnly => {
                for line in lines {
                    out.diagnostic(format_args!("{line}"))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use rsatls::pki::Pin;
    use zeroize::Zeroizing;

    use super::super::super::opts::DecryptDirection;
    use super::*;

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Key log lines, in memory.
    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);

    impl KeyLog for Lines {
        fn log(&self, label: &'static str, key: &[u8], secret: &[u8]) {
            let line = rsatls::key_log_line(label, key, secret);
            self.0.lock().unwrap().push(line);
        }
    }

    /// Runs `events` through a report; returns stdout, stderr, key log.
    fn run(
        mode: Mode,
        select: Selector,
        events: Vec<CaptureEvent>,
    ) -> (String, String, Vec<String>) {
        let (out, err) = (Shared::default(), Shared::default());
        let lines = Arc::new(Lines::default());
        let mut o = Out::to(Box::new(out.clone()), Box::new(err.clone()));
        let mut report = Report::new(mode, select, Some(lines.clone()), vec!["k.pem".into()]);
        for event in events {
            report.event(&mut o, event).unwrap();
        }
        report.summary(&mut o, Skipped::default()).unwrap();
        o.flush().unwrap();
        let logged = lines.0.lock().unwrap().clone();
        (out.text(), err.text(), logged)
    }

    fn connection(n: u64) -> CaptureEvent {
        CaptureEvent::Connection {
            flow: FlowId(n),
            client: SocketAddr::from(([10, 0, 0, 1], 50_000 + n as u16)),
            server: SocketAddr::from(([10, 0, 0, 2], 443)),
            mid_stream: false,
        }
    }

    fn tls(n: u64, event: PassiveEvent) -> CaptureEvent {
        CaptureEvent::Tls {
            flow: FlowId(n),
            event,
        }
    }

    fn hello(handshake: u32) -> PassiveEvent {
        PassiveEvent::ClientHello {
            handshake,
            client_random: [0xc1; 32],
            session_id: vec![0x51; 32],
            offers_ticket: false,
            offers_ems: true,
            server_name: Some("example.org".into()),
        }
    }

    fn server_hello() -> PassiveEvent {
        PassiveEvent::ServerHello {
            handshake: 0,
            version: ProtocolVersion::TLSV1_2,
            suite: CipherSuite::TLS_RSA_WITH_AES_256_GCM_SHA384,
            ems: false,
            server_random: [0x5e; 32],
            session_id: vec![0x51; 32],
        }
    }

    fn data(n: u64, from: Direction, bytes: &[u8]) -> CaptureEvent {
        tls(
            n,
            PassiveEvent::ApplicationData {
                from,
                data: bytes.to_vec(),
            },
        )
    }

    #[test]
    fn interleaved_connections_say_whose_lines_follow() {
        let (out, _, _) = run(
            Mode::Human,
            Selector::default(),
            vec![
                connection(1),
                connection(2),
                tls(1, hello(0)),
                tls(2, hello(0)),
                tls(1, server_hello()),
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        let at = |want: &str| lines.iter().position(|l| l.starts_with(want)).unwrap();
        // 1's header, 2's header, 1 (continued), hello, 2 (continued), hello,
        // 1 (continued), ServerHello.
        assert!(
            lines[at("session 1: 10.0.0.1:50001 → 10.0.0.2:443 (continued)") + 1]
                .starts_with("   ClientHello: random c1c1")
        );
        let hellos: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with("   ClientHello"))
            .collect();
        assert_eq!(
            lines[hellos[1] - 1],
            "session 2: 10.0.0.1:50002 → 10.0.0.2:443 (continued)"
        );
        let sh = at("   ServerHello");
        assert_eq!(
            lines[sh - 1],
            "session 1: 10.0.0.1:50001 → 10.0.0.2:443 (continued)"
        );
        assert!(
            lines[sh]
                .contains("TLS 1.2, TLS_RSA_WITH_AES_256_GCM_SHA384, extended_master_secret=false")
        );
    }

    #[test]
    fn resumption_renegotiation_and_failures_are_told_and_counted() {
        let (out, err, logged) = run(
            Mode::Human,
            Selector::default(),
            vec![
                connection(1),
                tls(1, hello(0)),
                tls(1, server_hello()),
                tls(
                    1,
                    PassiveEvent::Resumed {
                        handshake: 0,
                        client_random: [0xc1; 32],
                        by: ResumedBy::SessionId,
                        master_secret: Zeroizing::new([0x3a; 48]),
                    },
                ),
                tls(
                    1,
                    PassiveEvent::Finished {
                        handshake: 0,
                        from: Direction::ServerToClient,
                        verify_data: [7; 12],
                        verified: true,
                    },
                ),
                data(1, Direction::ClientToServer, b"\x00\x01binary"),
                tls(1, hello(1)),
                tls(
                    1,
                    PassiveEvent::KeyExchange {
                        handshake: 1,
                        client_random: [0xc2; 32],
                        encrypted_premaster: vec![0xee; 256],
                        outcome: KeyExchangeOutcome::Malformed(PremasterError::BadHeader),
                    },
                ),
                CaptureEvent::Gap {
                    flow: FlowId(1),
                    from: Direction::ClientToServer,
                    at: 1234,
                },
                tls(
                    1,
                    PassiveEvent::Stopped {
                        from: Direction::ServerToClient,
                        reason: StopReason::BadRecordMac,
                    },
                ),
                connection(2),
                tls(2, hello(0)),
                tls(
                    2,
                    PassiveEvent::Undecryptable {
                        handshake: 0,
                        reason: Undecryptable::NoMatchingKey(Pin::from_sha256([0; 32])),
                    },
                ),
            ],
        );
        for want in [
            "1.-4. resumed (abbreviated handshake, no key transport): the master secret of an \
             earlier full handshake in this capture, found by its session ID",
            &format!(
                "   master secret: {}… (48 bytes) (TLS_RSA_WITH_AES_256_GCM_SHA384, \
                 extended_master_secret=false)",
                "3a".repeat(16)
            ),
            "5. encrypted records decrypted",
            "   server Finished: verified (verify_data 070707070707070707070707)",
            "[1 client→server, 8 bytes]\n00000000  00 01 62 69",
            "renegotiation 1 (under the keys of the previous handshake)",
            "   ee",
            "4. the premaster does not decrypt to a well-formed block (the block does not \
             start with 00 02): the client was not legitimate, or the key is wrong",
            "client→server stopped: a gap at byte 1234",
            "server→client stopped: a record that does not authenticate",
            "skipped: no matching key: the server's key is sha256//AAAA",
            "none of --key k.pem",
            "connections:     2 (0 not TLS)",
            "TLS handshakes:  3 (1 renegotiations): 1 decrypted (0 full, 1 resumed)",
            "skipped:         malformed premaster 1, no matching key 1",
            "stopped early:   gap 1, record does not authenticate 1",
            "bytes decrypted: 8 in 1 records (client→server 8, server→client 0)",
        ] {
            assert!(out.contains(want), "lacks {want:?}\n{out}");
        }
        assert!(err.is_empty(), "{err}");
        // The resumed handshake's master secret is in the key log.
        assert_eq!(
            logged,
            vec![format!(
                "CLIENT_RANDOM {} {}",
                "c1".repeat(32),
                "3a".repeat(48)
            )]
        );
    }

    #[test]
    fn data_only_writes_the_selected_bytes_and_tells_the_rest_on_stderr() {
        let events = || {
            vec![
                connection(1),
                connection(2),
                data(1, Direction::ClientToServer, b"c1 "),
                data(2, Direction::ServerToClient, b"s2 "),
                data(1, Direction::ServerToClient, b"s1 "),
                tls(
                    2,
                    PassiveEvent::Undecryptable {
                        handshake: 1,
                        reason: Undecryptable::ResumptionNotInCapture,
                    },
                ),
                data(1, Direction::ServerToClient, b"s1'"),
            ]
        };
        let (out, err, _) = run(Mode::DataOnly, Selector::default(), events());
        assert_eq!(out, "c1 s2 s1 s1'");
        assert!(
            err.contains("rsatls: session 2: skipped: resumes a session whose full handshake is not in the capture"),
            "{err}"
        );
        assert!(
            err.contains("rsatls: bytes decrypted: 12 in 4 records"),
            "{err}"
        );

        let one_server = Selector {
            session: Some(1),
            direction: Some(DecryptDirection::Server),
        };
        let (out, err, _) = run(Mode::DataOnly, one_server, events());
        assert_eq!(out, "s1 s1'");
        assert!(!err.contains("session 2"), "{err}");
        // The summary covers the whole capture.
        assert!(
            err.contains("rsatls: bytes decrypted: 12 in 4 records"),
            "{err}"
        );

        // The same selection without --data-only: session 1's lines, the
        // server's records.
        let (out, _, _) = run(Mode::Human, one_server, events());
        assert!(out.contains("[1 server→client, 3 bytes]\ns1 \n"), "{out}");
        assert!(
            !out.contains("client→server,") && !out.contains("session 2"),
            "{out}"
        );
    }
}
