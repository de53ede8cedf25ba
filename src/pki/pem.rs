//! Walking PEM text (RFC 7468) block by block.

use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

use crate::Error;

/// Whether `bytes` contains a PEM pre-encapsulation boundary. DER never starts
/// with text, and a DER document that happens to contain this string is not
/// one this crate is asked to load.
pub(super) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// One decoded PEM block.
pub(super) struct PemBlock<'a> {
    pub(super) label: &'a str,
    /// Whether RFC 1421 headers (`Name: value` lines) were present; if so the
    /// body is not decoded and `der` is empty.
    pub(super) has_headers: bool,
    pub(super) der: Zeroizing<Vec<u8>>,
}

/// Splits PEM text (RFC 7468) into its blocks, in order, skipping any text
/// outside them. Lines may end in `\n` or `\r\n`; the base64 may be wrapped at
/// any width.
pub(super) fn pem_blocks(input: &[u8]) -> Result<Vec<PemBlock<'_>>, Error> {
    const MALFORMED: Error = Error::Config("malformed PEM block");

    struct Open<'a> {
        label: &'a [u8],
        has_headers: bool,
        base64: Zeroizing<Vec<u8>>,
    }

    let mut blocks = Vec::new();
    let mut open: Option<Open<'_>> = None;
    for line in input.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
        let Some(block) = &mut open else {
            if let Some(label) = boundary(line, b"-----BEGIN ") {
                let base64 = Zeroizing::new(Vec::new());
                open = Some(Open {
                    label,
                    has_headers: false,
                    base64,
                });
            }
            continue;
        };
        if let Some(label) = boundary(line, b"-----END ") {
            if label != block.label {
                return Err(MALFORMED);
            }
            let label = core::str::from_utf8(block.label).map_err(|_| MALFORMED)?;
            let der = if block.has_headers {
                Zeroizing::new(Vec::new())
            } else {
                let text = core::str::from_utf8(&block.base64).map_err(|_| MALFORMED)?;
                Zeroizing::new(Base64::decode_vec(text).map_err(|_| MALFORMED)?)
            };
            blocks.push(PemBlock {
                label,
                has_headers: block.has_headers,
                der,
            });
            open = None;
        } else if line.starts_with(b"-----") {
            // A BEGIN inside a block, or an END without its label.
            return Err(MALFORMED);
        } else if line.contains(&b':') {
            block.has_headers = true;
        } else {
            block.base64.extend_from_slice(line);
        }
    }
    if open.is_some() {
        return Err(Error::Config("PEM block has no END line"));
    }
    Ok(blocks)
}

/// The label of a `-----BEGIN LABEL-----` or `-----END LABEL-----` line.
fn boundary<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(prefix)?.strip_suffix(b"-----")
}
