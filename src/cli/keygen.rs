//! `rsatls keygen`: a new RSA key and a self-signed server certificate for it.
//!
//! Writes `DIR/key.pem` (PKCS#8, mode 0600 from creation) and `DIR/cert.pem`
//! (see `certgen` for its profile), then prints the certificate's pin on stdout.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use super::certgen::{self, SanEntry};
use super::opts::KeygenArgs;
use super::{Failure, os_rng, outln};

/// From this size on, generation takes long enough to show that it is alive.
const TICKER_FROM_BITS: usize = 4096;
/// The certificate is valid from this long before now, for clocks that lag.
const BACKDATE: Duration = Duration::from_secs(3600);

pub(crate) fn run(args: KeygenArgs) -> Result<(), Failure> {
    // clap holds --bits to 2048..=8192 and --days to 1..=36525.
    let bits = usize::try_from(args.bits)
        .map_err(|_| Failure::Usage(format!("--bits {}: too large", args.bits)))?;
    let days = args.days;
    let force = args.force;
    let out = args.out;
    let mut sans = args
        .san
        .iter()
        .map(|s| s.parse::<SanEntry>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Usage(format!("--san: {e}")))?;
    if sans.is_empty() {
        sans = vec![
            SanEntry::Dns("localhost".into()),
            SanEntry::Ip([127, 0, 0, 1].into()),
            SanEntry::Ip(std::net::Ipv6Addr::LOCALHOST.into()),
        ];
    }

    let dir = Path::new(&out);
    std::fs::create_dir_all(dir).map_err(|e| Failure::Input(format!("{out}: {e}")))?;
    let key_path = dir.join("key.pem");
    let cert_path = dir.join("cert.pem");
    // Checked now so that no one waits for a key that cannot be written; the
    // writes below refuse to replace a file all the same (create_new).
    if !force {
        for path in [&key_path, &cert_path] {
            if path.symlink_metadata().is_ok() {
                return Err(exists(path));
            }
        }
    }

    let mut rng = os_rng()?;
    let key = generate(bits, &mut rng)?;
    let not_before = SystemTime::now() - BACKDATE;
    let valid_for = Duration::from_secs(days * 86_400) + BACKDATE;
    let cert = certgen::self_signed(&key, &sans, not_before, valid_for, &mut rng)
        .map_err(|e| Failure::Runtime(format!("certificate: {e}")))?;
    let key_pem = certgen::key_to_pkcs8_pem(&key).map_err(Failure::Runtime)?;

    write_new(&key_path, key_pem.as_bytes(), 0o600, force)?;
    if let Err(e) = write_new(
        &cert_path,
        certgen::cert_to_pem(&cert).as_bytes(),
        0o644,
        force,
    ) {
        // Do not leave a key without its certificate.
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }

    let provider = rsatls::crypto::default_provider();
    let spki = rsatls::pki::rsa_key_from_certificate(&cert)
        .map_err(|e| Failure::Runtime(format!("certificate: {e}")))?;
    let pin = rsatls::pki::pin_of_spki(provider.as_ref(), &spki.spki_der);
    eprintln!(
        "rsatls: wrote {} (PKCS#8, mode 0600) and {} ({}, valid {days} days)",
        key_path.display(),
        cert_path.display(),
        rsatls::pki::certificate_subject(&cert).unwrap_or_default(),
    );
    outln!("pin {pin}")?;
    Ok(())
}

fn exists(path: &Path) -> Failure {
    Failure::Input(format!(
        "{} exists: refusing to overwrite it (use --force to replace it)",
        path.display()
    ))
}

/// Generates the key. The `rsa` crate reports no progress while it searches
/// for primes, so from [`TICKER_FROM_BITS`] on a thread shows the elapsed time
/// on stderr: proof of life, not a measure of how much is left.
fn generate(bits: usize, rng: &mut rand_chacha::ChaCha20Rng) -> Result<rsa::PrivateKey, Failure> {
    eprintln!("rsatls: generating a {bits}-bit RSA key");
    let keygen = |rng: &mut rand_chacha::ChaCha20Rng| {
        rsa::PrivateKey::new(rng, bits).map_err(|e| Failure::Runtime(format!("keygen: {e}")))
    };
    if bits < TICKER_FROM_BITS {
        return keygen(rng);
    }
    let (done, finished) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || ticker(&finished));
        let key = keygen(rng);
        drop(done);
        key
    })
}

/// Prints the elapsed time until `finished` disconnects: every second over
/// the same line on a terminal, every five seconds as a new line otherwise.
fn ticker(finished: &mpsc::Receiver<()>) {
    let start = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let every = Duration::from_secs(if terminal { 1 } else { 5 });
    let note = "searching for primes; the time this takes varies a lot, so no estimate";
    while let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(every) {
        let secs = start.elapsed().as_secs();
        let mut err = std::io::stderr().lock();
        let _ = match terminal {
            true => write!(err, "\rrsatls: {secs} s elapsed ({note})"),
            false => writeln!(err, "rsatls: {secs} s elapsed ({note})"),
        };
        let _ = err.flush();
    }
    if terminal && start.elapsed() >= every {
        eprintln!();
    }
    eprintln!(
        "rsatls: key generated in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// Writes a new file whose mode is set by `open(2)` (`mode`, less the umask),
/// never a chmod afterwards. Without `force` an existing file is an error; with
/// it, the file is removed first, so the new one gets `mode` too.
fn write_new(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::Input(format!("{}: {e}", path.display()));
    if force {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        _ => fail(e),
    })?;
    file.write_all(contents).map_err(fail)?;
    file.sync_all().map_err(fail)
}
