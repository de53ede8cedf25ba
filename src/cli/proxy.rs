//! `rsatls proxy`: terminates TLS and forwards the plaintext to an upstream.

use super::Failure;
use super::opts::ProxyArgs;

pub(crate) fn run(args: ProxyArgs) -> Result<(), Failure> {
    let _ = args;
    Err(Failure::Runtime("proxy: not built yet".into()))
}
