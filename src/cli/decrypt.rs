//! `rsatls decrypt CAPTURE --key FILE`: passive decryption of a recorded
//! capture (`rsatls::capture` feeding `rsatls::passive`), printed as the five
//! steps of RSA key transport and then the application data.
//!
//! The capture is read one packet at a time and every event is written as it
//! comes, so memory stays bounded by the reassembler's and the decoder's
//! limits whatever the capture's size; no session's plaintext is held.

/// Also the hex formatting `rsatls demo` shares.
pub(super) mod output;
mod report;
mod select;

use std::fs::File;
use std::io::BufReader;

use rsatls::capture::file::{CaptureError, PacketReader};
use rsatls::capture::{CaptureDecoder, FlowLimits};
use rsatls::passive::ServerKeys;

use super::opts::DecryptArgs;
use super::{Failure, keyfiles, keylog};
use output::Out;
use report::{Mode, Report};
use select::Selector;

/// `rsatls decrypt --help`.
pub(crate) const MANUAL: &str = "\
Reads a pcap or pcapng capture (as tcpdump, dumpcap or Wireshark write it),
reassembles its TCP connections and decrypts every TLS 1.2 session that used
RSA key transport with AES-GCM (TLS_RSA_WITH_AES_128_GCM_SHA256,
TLS_RSA_WITH_AES_256_GCM_SHA384) and whose server key is given: whoever holds
the server's private key can read such sessions, which is why RSA key
transport has no forward secrecy.

For each connection (session N, numbered in the order they start):
    session N: CLIENT → SERVER
then per handshake the five steps of RSA key transport, in the words of
`rsatls demo`, from the recorded bytes: 1. the server's key (modulus size,
pin, subject, which --key matches it); 2./3. the premaster the client
encrypted under it (ClientKeyExchange); 4. the premaster decrypted with the
key, and the master secret (with Extended Master Secret, from the session
hash of the recorded transcript); 5. the Finished messages decrypted and
checked. Then each application data record as it comes:
    [N client→server, LEN bytes]
followed by its text (control characters escaped) or a hex dump. An
abbreviated handshake is decrypted with the master secret of an earlier full
handshake in the capture (by session ID or ticket); renegotiations are
followed and numbered. A summary ends the output.

Not decrypted, listed with the reason: connections that are not TLS, that
the capture joins mid-stream, other versions, other suites (ECDHE, DHE,
CBC...), servers whose key matches no --key (the pin is shown), resumptions
of sessions whose full handshake is not in the capture, and a premaster that
does not decrypt to a well-formed block (the client was not legitimate, or
the key is wrong). A direction stops at a gap in the capture (packets lost)
or at a record that does not authenticate. Segments recorded out of order
are held until the hole before them fills: up to 32 MiB per direction (a
Linux receive window at its largest) and 256 MiB for all connections
together; a hole that outgrows that is a gap. IP fragments are not
reassembled.

--session N and --direction client|server choose what is shown: without
--data-only, the lines of session N and the data records of one side (the
handshake steps are still shown); the summary covers the whole capture.
With --data-only, stdout carries only the decrypted bytes (of every session,
both ways, in capture order, unless selected) and what is skipped goes to
stderr with the summary.

A capture cut off while being written is read up to its cut (a warning on
stderr). Memory stays bounded whatever the capture's size.

The exit code is 0 once the capture is read to its end (or its cut), whether
or not a session could be decrypted: that is a finding, which the output
and the summary state (and stderr repeats when nothing was decrypted), not
a failure. It is 3 if the capture cannot be opened or read, is not a pcap or
pcapng file or is malformed (after the events before the fault), or if a
--key or --keylog-out file cannot be used.";

pub(crate) fn run(args: DecryptArgs) -> Result<(), Failure> {
    if args.keylog_out.as_deref() == Some("") {
        return Err(Failure::Usage("--keylog-out needs a file name".into()));
    }
    let keys = load_keys(&args)?;
    let key_names = args.key.clone();
    let file =
        File::open(&args.capture).map_err(|e| Failure::Input(format!("{}: {e}", args.capture)))?;
    let mut reader = PacketReader::new(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| capture_error(&args.capture, e))?;
    let keylog = match &args.keylog_out {
        Some(path) => keylog::open_option(Some(path))?,
        None => None,
    };
    let mode = match args.data_only {
        true => Mode::DataOnly,
        false => Mode::Human,
    };
    let select = Selector {
        session: args.session,
        direction: args.direction,
    };
    let needs_all = keylog.is_some();
    let mut report = Report::new(mode, select, keylog, key_names);
    let mut out = Out::new();
    let mut decoder = CaptureDecoder::new(keys, FlowLimits::default());
    let mut events = Vec::new();
    let mut fault = None;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(CaptureError::Truncated) => {
                out.diagnostic(format_args!(
                    "warning: {}: the capture ends inside a packet (cut off while being \
                     written?); decrypted up to there",
                    args.capture
                ))?;
                break;
            }
            Err(e) => {
                fault = Some(capture_error(&args.capture, e));
                break;
            }
        };
        decoder.push_packet(packet.link_type, packet.data, &mut events);
        for event in events.drain(..) {
            report.event(&mut out, event)?;
        }
        // Nobody reads stdout any more (`| head`): stop, unless the key log
        // still wants every session.
        if out.gone() && !needs_all {
            return Ok(());
        }
    }
    decoder.finish(&mut events);
    for event in events.drain(..) {
        report.event(&mut out, event)?;
    }
    report.summary(&mut out, decoder.skipped())?;
    if !report.decrypted_any() {
        out.diagnostic(format_args!(
            "no session decrypted (see the reasons above{})",
            match args.data_only {
                true => "",
                false => " and the summary",
            }
        ))?;
    }
    out.flush()?;
    match fault {
        Some(fault) => Err(fault),
        None => Ok(()),
    }
}

/// Loads every `--key` (as `serve` reads keys: PEM or DER, PKCS#1 or PKCS#8,
/// encrypted PKCS#8 with the passphrase options), named by its path.
fn load_keys(args: &DecryptArgs) -> Result<ServerKeys, Failure> {
    let passphrase = keyfiles::passphrase(&args.key_pass)?;
    let mut keys = ServerKeys::new(rsatls::crypto::default_provider());
    for path in &args.key {
        let key = keyfiles::load_key(path, passphrase.as_ref())?;
        keys.add_der(path.clone(), key.as_der())
            .map_err(|e| Failure::Input(format!("{path}: {e}")))?;
    }
    Ok(keys)
}

/// A capture that cannot be read: exit code 3.
fn capture_error(path: &str, e: CaptureError) -> Failure {
    Failure::Input(match e {
        CaptureError::Io(e) => format!("{path}: {e}"),
        CaptureError::NotACapture => format!("{path}: not a pcap or pcapng capture"),
        CaptureError::Malformed(at) => format!("{path}: malformed capture at byte {at}"),
        CaptureError::Truncated => format!("{path}: the capture ends inside a packet"),
    })
}
