//! `rsatls decrypt CAPTURE --key FILE`: passive decryption of a recorded
//! capture (`rsatls::capture` feeding `rsatls::passive`), printed as the five
//! steps of RSA key transport and then the application data.

use super::Failure;
use super::opts::DecryptArgs;

/// `rsatls decrypt --help`.
pub(crate) const MANUAL: &str = "\
Reads a pcap or pcapng capture, reassembles its TCP connections and decrypts
every TLS 1.2 session that used RSA key transport with AES-GCM and whose
server key is given.";

pub(crate) fn run(args: DecryptArgs) -> Result<(), Failure> {
    let _ = args;
    Err(Failure::Runtime("decrypt: not built yet".into()))
}
