//! Key, certificate and passphrase files for the commands: `--cert`, `--key`,
//! `--cafile`, `--key-pass-env NAME` and `--key-pass-file PATH`.
//!
//! A passphrase never comes from the command line, where other users can read
//! it (`ps`, /proc/PID/cmdline) and shells keep it in their history. Every copy
//! of a passphrase or of key bytes made here is zeroized when dropped. (The
//! environment variable itself cannot be cleared: `std::env::remove_var` is
//! `unsafe`, and this crate forbids unsafe code.)

use std::sync::Arc;

use rsatls::ServerConfig;
use rsatls::crypto::CryptoProvider;
use zeroize::Zeroizing;

use super::Failure;
use super::opts::KeyPassOpts;

/// A key's passphrase, zeroized when dropped.
pub(crate) type Passphrase = Zeroizing<Vec<u8>>;

/// Reads the passphrase of `--key-pass-env NAME` or `--key-pass-file PATH`
/// (clap lets at most one through): the variable's value, or the first line
/// of the file without its line ending (as `openssl -passin file:` reads it).
///
/// # Errors
/// [`Failure::Usage`] for an empty name or a passphrase given on the command
/// line; [`Failure::Input`] for an unset variable, an unreadable file or an
/// empty passphrase.
pub(crate) fn passphrase(opts: &KeyPassOpts) -> Result<Option<Passphrase>, Failure> {
    let refused = [
        ("--key-pass", &opts.refused_key_pass),
        ("--pass", &opts.refused_pass),
        ("--passin", &opts.refused_passin),
    ];
    if let Some((refused, _)) = refused.iter().find(|(_, value)| value.is_some()) {
        return Err(Failure::Usage(format!(
            "{refused}: passphrases are not taken on the command line, where other \
             users can see them; use --key-pass-env NAME or --key-pass-file PATH"
        )));
    }
    let (from_env, from_file) = (opts.key_pass_env.clone(), opts.key_pass_file.clone());
    let passphrase = match (from_env, from_file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(Failure::Usage(
                "--key-pass-env and --key-pass-file exclude each other".into(),
            ));
        }
        (Some(name), None) => {
            if name.is_empty() || name.contains('=') {
                return Err(Failure::Usage(format!(
                    "--key-pass-env: `{name}` is not a variable name"
                )));
            }
            let value = std::env::var_os(&name).ok_or_else(|| {
                Failure::Input(format!(
                    "--key-pass-env: the environment variable {name} is not set"
                ))
            })?;
            Zeroizing::new(value.into_encoded_bytes())
        }
        (None, Some(path)) => {
            let contents = read(&path)?;
            let line = contents.split(|&b| b == b'\n').next().unwrap_or_default();
            Zeroizing::new(line.strip_suffix(b"\r").unwrap_or(line).to_vec())
        }
    };
    if passphrase.is_empty() {
        return Err(Failure::Input("the key passphrase is empty".into()));
    }
    Ok(Some(passphrase))
}

/// The largest key, certificate, CA or passphrase file the commands read. Real
/// ones are a few KiB (a CA bundle a few hundred); anything bigger is the wrong
/// file (`/dev/zero`, a disk image) and is refused before it fills memory.
pub(crate) const MAX_FILE_LEN: u64 = 1 << 20;

/// Reads a whole file, of at most [`MAX_FILE_LEN`] bytes, into memory that is
/// zeroized when dropped. At most one byte past the limit is ever read.
pub(crate) fn read(path: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    use std::io::Read;
    let failed = |e: std::io::Error| Failure::Input(format!("{path}: {e}"));
    let file = std::fs::File::open(path).map_err(failed)?;
    // Sized up front where the length is known, so that no reallocation leaves
    // an unzeroized copy of a key behind.
    let hint = file.metadata().map_or(0, |m| m.len()).min(MAX_FILE_LEN) + 1;
    let mut bytes = Zeroizing::new(Vec::with_capacity(hint as usize));
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(Failure::Input(format!(
            "{path}: larger than {} KiB: not a key, certificate or passphrase file",
            MAX_FILE_LEN / 1024
        )));
    }
    Ok(bytes)
}

/// Loads certificates (PEM bundle or one DER certificate) from `path`.
pub(crate) fn load_certificates(path: &str) -> Result<Vec<Vec<u8>>, Failure> {
    let bytes = read(path)?;
    rsatls::pki::load_certificates(&bytes).map_err(|e| Failure::Input(format!("{path}: {e}")))
}

/// Loads a private key file (PEM or DER; encrypted PKCS#8 is decrypted with
/// `passphrase`).
pub(crate) fn load_key(
    key_path: &str,
    passphrase: Option<&Passphrase>,
) -> Result<rsatls::pki::PrivateKeyFile, Failure> {
    let key_bytes = read(key_path)?;
    let passphrase = passphrase.map(|p| p.as_slice());
    rsatls::pki::load_private_key_with_passphrase(&key_bytes, passphrase)
        .map_err(|e| Failure::Input(format!("{key_path}: {e}")))
}

/// Builds a server configuration from a certificate chain file and a key file
/// (PEM or DER; the key may be encrypted PKCS#8, decrypted with `passphrase`).
pub(crate) fn server_config(
    provider: Arc<dyn CryptoProvider>,
    cert_path: &str,
    key_path: &str,
    passphrase: Option<&Passphrase>,
) -> Result<ServerConfig, Failure> {
    let chain = load_certificates(cert_path)?;
    let key = load_key(key_path, passphrase)?;
    ServerConfig::new(provider, chain, &key)
        .map_err(|e| Failure::Input(format!("{cert_path} with {key_path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, contents: &[u8]) -> String {
        let dir = std::env::temp_dir().join(format!("rsatls-keyfiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// The options as the command line gives them, through clap (whose own
    /// errors count as usage errors).
    fn passphrase(list: &[&str]) -> Result<Option<Passphrase>, Failure> {
        use clap::Parser;
        #[derive(Parser)]
        struct Line {
            #[command(flatten)]
            key_pass: KeyPassOpts,
        }
        let line = Line::try_parse_from(std::iter::once("rsatls").chain(list.iter().copied()))
            .map_err(|e| Failure::Usage(e.to_string()))?;
        super::passphrase(&line.key_pass)
    }

    fn message(r: Result<Option<Passphrase>, Failure>) -> (u8, String) {
        match r {
            Err(Failure::Usage(m)) => (2, m),
            Err(Failure::Input(m)) => (3, m),
            Err(Failure::Runtime(m)) => (1, m),
            Ok(p) => panic!("accepted: {:?}", p.map(|p| p.len())),
        }
    }

    #[test]
    fn passphrase_file_is_its_first_line() {
        for (contents, want) in [
            (b"secret\n".as_slice(), b"secret".as_slice()),
            (b"secret\r\nsecond line\n", b"secret"),
            (b"no newline", b"no newline"),
            (b" spaces kept \n", b" spaces kept "),
        ] {
            let path = scratch("pass.txt", contents);
            let got = passphrase(&["--key-pass-file", &path]).unwrap().unwrap();
            assert_eq!(got.as_slice(), want);
        }
        assert!(passphrase(&[]).unwrap().is_none());
    }

    #[test]
    fn passphrase_from_the_environment() {
        // PATH is set in any test environment; its value stands in for a secret.
        let path = std::env::var_os("PATH").unwrap().into_encoded_bytes();
        let got = passphrase(&["--key-pass-env", "PATH"]).unwrap().unwrap();
        assert_eq!(got.as_slice(), path);
        let (code, msg) = message(passphrase(&["--key-pass-env=RSATLS_SURELY_UNSET_VAR"]));
        assert_eq!(code, 3);
        assert!(msg.contains("RSATLS_SURELY_UNSET_VAR is not set"), "{msg}");
    }

    #[test]
    fn passphrases_on_the_command_line_and_conflicts_are_refused() {
        let file = scratch("pass2.txt", b"x\n");
        let empty = scratch("empty.txt", b"\n");
        for (list, code, needle) in [
            (
                &["--key-pass", "hunter2"][..],
                2,
                "not taken on the command line",
            ),
            (&["--pass=hunter2"][..], 2, "not taken on the command line"),
            (
                &["--key-pass-env", "PATH", "--key-pass-file", &file][..],
                2,
                "cannot be used with",
            ),
            (&["--key-pass-env", ""][..], 2, "not a variable name"),
            (&["--key-pass-file", &empty][..], 3, "empty"),
            (
                &["--key-pass-file", "/nonexistent/rsatls"][..],
                3,
                "/nonexistent/rsatls",
            ),
            (&["--key-pass-file"][..], 2, "a value is required"),
        ] {
            let (got, msg) = message(passphrase(list));
            assert_eq!(got, code, "{list:?}: {msg}");
            assert!(msg.contains(needle), "{list:?}: {msg}");
        }
    }
}
