//! `--keylog FILE` and `SSLKEYLOGFILE`: NSS key log lines appended to a file,
//! for Wireshark/tshark to decrypt captures (`-o tls.keylog_file:FILE`).
//!
//! The file holds every session's master secret: anyone who can read it can
//! decrypt those sessions. A file this module creates has mode 0600; an existing
//! file keeps its mode, with a warning when others may read it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rsatls::KeyLog;
use zeroize::Zeroizing;

use super::Failure;

/// The environment variable that NSS, OpenSSL-based tools, curl and browsers read.
const ENV: &str = "SSLKEYLOGFILE";

/// Takes `--keylog FILE`, or else reads `SSLKEYLOGFILE`
/// (ignored when empty), and opens that file for appending. `None` when
/// neither is given.
///
/// # Errors
/// [`Failure::Usage`] for an empty `--keylog`; [`Failure::Input`] if the file
/// cannot be opened.
pub(crate) fn open_option(keylog: Option<&str>) -> Result<Option<Arc<dyn KeyLog>>, Failure> {
    let path = match keylog {
        Some("") => {
            return Err(Failure::Usage("--keylog needs a file name".into()));
        }
        Some(path) => path.to_string(),
        None => match std::env::var_os(ENV) {
            Some(path) if !path.is_empty() => path.to_string_lossy().into_owned(),
            _ => return Ok(None),
        },
    };
    let file = open(&path).map_err(|e| Failure::Input(format!("key log {path}: {e}")))?;
    eprintln!(
        "rsatls: appending TLS secrets to {path} (key log): whoever reads it can decrypt these sessions"
    );
    Ok(Some(Arc::new(KeyLogFile {
        path,
        file: Mutex::new(file),
        failed: AtomicBool::new(false),
    })))
}

/// Opens `path` for appending, creating it with mode 0600 (set by `open(2)`
/// itself, so the file is never readable by others, not even briefly).
fn open(path: &str) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = file.metadata()?.mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "rsatls: warning: key log {path} is accessible to others (mode {:o})",
                mode & 0o777
            );
        }
    }
    Ok(file)
}

/// An append-only key log file shared by all connections of the process.
struct KeyLogFile {
    path: String,
    file: Mutex<File>,
    /// Set after the first failed write, so the warning is printed once.
    failed: AtomicBool,
}

impl KeyLog for KeyLogFile {
    fn log(&self, label: &'static str, key: &[u8], secret: &[u8]) {
        let mut line = Zeroizing::new(rsatls::key_log_line(label, key, secret));
        line.push('\n');
        // One write per line: with O_APPEND, lines from several connections
        // (or processes sharing the file) do not interleave.
        let written = match self.file.lock() {
            Ok(mut file) => file.write_all(line.as_bytes()),
            Err(_) => Err(std::io::Error::other("a writer panicked")),
        };
        if let Err(e) = written
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            eprintln!("rsatls: warning: cannot write key log {}: {e}", self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_to_a_private_file() {
        let dir = std::env::temp_dir().join(format!("rsatls-keylog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.log");
        let _ = std::fs::remove_file(&path);
        let path_str = path.to_str().unwrap().to_string();

        for round in 0..2u8 {
            let log = open_option(Some(&path_str)).unwrap().expect("a key log");
            log.log("CLIENT_RANDOM", &[round; 32], &[0xab; 48]);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let want = format!(
            "CLIENT_RANDOM {} {}\nCLIENT_RANDOM {} {}\n",
            "00".repeat(32),
            "ab".repeat(48),
            "01".repeat(32),
            "ab".repeat(48)
        );
        assert_eq!(text, want);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_or_unopenable_paths_fail() {
        assert!(matches!(open_option(Some("")), Err(Failure::Usage(_))));
        assert!(matches!(
            open_option(Some("/nonexistent/dir/keys.log")),
            Err(Failure::Input(_))
        ));
    }
}
