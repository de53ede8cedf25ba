//! `rsatls tunnel`: accepts plaintext locally and forwards it over TLS.

use super::Failure;
use super::opts::TunnelArgs;

pub(crate) fn run(args: TunnelArgs) -> Result<(), Failure> {
    let _ = args;
    Err(Failure::Runtime("tunnel: not built yet".into()))
}
