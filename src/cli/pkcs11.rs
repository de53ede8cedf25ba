//! `serve`/`proxy --pkcs11-module PATH --pkcs11-key URI|LABEL`: the server's
//! key stays in a PKCS#11 token ([`rsatls::pkcs11::Pkcs11Key`]); `--cert`
//! gives its certificate.
//!
//! The options are always declared, so `--help` reads the same everywhere;
//! a binary built without the `pkcs11` feature refuses them (usage error).
//! A SIGHUP reload calls [`server_config`] again: the PIN source is re-read
//! and the key re-found on the token (the module stays loaded).

use std::sync::Arc;

use rsatls::ServerConfig;
use rsatls::crypto::CryptoProvider;

use super::Failure;
use super::opts::Pkcs11Opts;

/// Checks the options that go with `--pkcs11-module` before anything is
/// opened: exactly one `--cert`, no `--key`, no PIN on the command line.
pub(crate) fn check(opts: &Pkcs11Opts, certs: usize, keys: usize) -> Result<(), Failure> {
    if opts.refused_pkcs11_pin.is_some() {
        return Err(Failure::Usage(
            "--pkcs11-pin: PINs are not taken on the command line, where other users can \
             see them; use --pkcs11-pin-env NAME or --pkcs11-pin-file PATH"
                .into(),
        ));
    }
    if opts.pkcs11_module.is_none() {
        return Ok(());
    }
    if !cfg!(feature = "pkcs11") {
        return Err(Failure::Usage(
            "--pkcs11-module: this rsatls was built without PKCS#11 support (cargo feature \
             `pkcs11`)"
                .into(),
        ));
    }
    if certs != 1 || keys != 0 {
        return Err(Failure::Usage(
            "--pkcs11-module takes exactly one --cert (the token key's certificate) and no \
             --key"
                .into(),
        ));
    }
    Ok(())
}

/// The configuration for the token's key and `--cert`, or `None` without
/// `--pkcs11-module`.
#[cfg(feature = "pkcs11")]
pub(crate) fn server_config(
    opts: &Pkcs11Opts,
    certs: &[String],
    provider: Arc<dyn CryptoProvider>,
) -> Result<Option<ServerConfig>, Failure> {
    use rsatls::pkcs11::{KeySpec, Pkcs11Key};
    let (Some(module), Some(key), [cert]) = (&opts.pkcs11_module, &opts.pkcs11_key, certs) else {
        return Ok(None);
    };
    let spec =
        KeySpec::parse(key).map_err(|e| Failure::Usage(format!("--pkcs11-key {key}: {e}")))?;
    let pin = pin(opts)?;
    let pin = pin.as_ref().map(|p| p.as_str());
    let chain = super::keyfiles::load_certificates(cert)?;
    let sessions = std::thread::available_parallelism().map_or(1, usize::from);
    let token_key = Pkcs11Key::open(module.as_ref(), &spec, pin, sessions)
        .map_err(|e| Failure::Input(format!("--pkcs11-key {key}: {e}")))?;
    ServerConfig::with_private_key(provider, chain, Arc::new(token_key))
        .map_err(|e| Failure::Input(format!("--cert {cert} with --pkcs11-key {key}: {e}")))
        .map(Some)
}

/// Without the feature, [`check`] has refused `--pkcs11-module` already.
#[cfg(not(feature = "pkcs11"))]
pub(crate) fn server_config(
    _opts: &Pkcs11Opts,
    _certs: &[String],
    _provider: Arc<dyn CryptoProvider>,
) -> Result<Option<ServerConfig>, Failure> {
    Ok(None)
}

/// The PIN from `--pkcs11-pin-env` or the first line of `--pkcs11-pin-file`;
/// `None` without either (a token that needs one then says so).
#[cfg(feature = "pkcs11")]
fn pin(opts: &Pkcs11Opts) -> Result<Option<zeroize::Zeroizing<String>>, Failure> {
    use zeroize::Zeroizing;
    let pin = match (&opts.pkcs11_pin_env, &opts.pkcs11_pin_file) {
        (None, None) => return Ok(None),
        (Some(name), _) => {
            if name.is_empty() || name.contains('=') {
                return Err(Failure::Usage(format!(
                    "--pkcs11-pin-env: `{name}` is not a variable name"
                )));
            }
            let value = std::env::var(name).map_err(|_| {
                Failure::Input(format!(
                    "--pkcs11-pin-env: the environment variable {name} is not set (or not UTF-8)"
                ))
            })?;
            Zeroizing::new(value)
        }
        (None, Some(path)) => {
            let contents = super::keyfiles::read(path)?;
            let line = contents.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = std::str::from_utf8(line)
                .map_err(|_| Failure::Input(format!("--pkcs11-pin-file {path}: not UTF-8")))?;
            Zeroizing::new(text.to_string())
        }
    };
    if pin.is_empty() {
        return Err(Failure::Input("the PKCS#11 PIN is empty".into()));
    }
    Ok(Some(pin))
}
