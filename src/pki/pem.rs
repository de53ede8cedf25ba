//! Walking PEM text (RFC 7468) block by block.
//!
//! RustCrypto's `pem-rfc7468` decodes one block: its input starts at a
//! `-----BEGIN LABEL-----` line and ends at the matching `-----END LABEL-----`
//! line. The files rsatls reads hold several blocks (a certificate chain, a key
//! beside its certificate) with text around them (`openssl x509 -text` output,
//! comments), so [`pem_blocks`] finds where each block starts and ends and hands
//! it to the crate, which checks the boundaries and decodes the base64.
//!
//! The crate reads RFC 7468's strict grammar (§3), except that the base64 may
//! be wrapped at any width as long as every line but the last has that width
//! (§2: "Parsers MAY handle other line sizes"). The walk hands it each block
//! with blank lines and the blanks at either end of each line dropped, as the
//! standard grammar and the splitter this replaced allow, so lines may end in
//! LF or CRLF and carry trailing spaces.

use zeroize::Zeroizing;

use crate::Error;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

const MALFORMED: Error = Error::Config("malformed PEM block");
const NO_END: Error = Error::Config("PEM block has no END line");

/// Whether `bytes` contains a PEM pre-encapsulation boundary. DER never starts
/// with text, and a DER document that happens to contain this string is not
/// one this crate is asked to load.
pub(super) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(BEGIN.len()).any(|w| w == BEGIN)
}

/// One decoded PEM block.
pub(super) struct PemBlock<'a> {
    pub(super) label: &'a str,
    /// Whether RFC 1421 headers (`Name: value` lines) were present; if so the
    /// body is not decoded and `der` is empty.
    pub(super) has_headers: bool,
    pub(super) der: Zeroizing<Vec<u8>>,
}

/// Splits PEM text into its blocks, in order, skipping any text outside them.
///
/// # Errors
/// [`Error::Config`] if a block has no END line, a BEGIN line comes before the
/// END line of the block before it, the END line's label is not the BEGIN
/// line's, or the body is not base64 as the module doc describes.
pub(super) fn pem_blocks(input: &[u8]) -> Result<Vec<PemBlock<'_>>, Error> {
    let mut blocks = Vec::new();
    let mut lines = lines(input);
    while let Some((start, begin)) = lines.find(|&(_, line)| is_begin(line)) {
        let end = loop {
            let (at, line) = lines.next().ok_or(NO_END)?;
            if line.starts_with(END) {
                break at + line.len();
            }
            if line.starts_with(DASHES) {
                // A BEGIN line before this block's END line.
                return Err(MALFORMED);
            }
        };
        blocks.push(decode_block(begin, &input[start..end])?);
    }
    Ok(blocks)
}

/// Decodes one block, from the first byte of its BEGIN line to the last byte of
/// its END line, with `pem-rfc7468`. A block with headers keeps its label (the
/// caller names the error) but is not decoded: the crate refuses headers.
fn decode_block<'a>(begin: &'a [u8], block: &[u8]) -> Result<PemBlock<'a>, Error> {
    // The crate reads RFC 7468's strict grammar (§3, Figure 3). The standard
    // grammar (Figure 1) also lets blanks end any line and blank lines follow
    // the BEGIN line, and the splitter this replaced took blanks anywhere
    // around a line: the crate gets the block with those dropped. Every line
    // only shrinks, so the copy (of a key, perhaps) never reallocates.
    let mut text = Zeroizing::new(Vec::with_capacity(block.len() + 1));
    let mut has_headers = false;
    for (_, line) in lines(block).filter(|(_, line)| !line.is_empty()) {
        // RFC 1421 §4.4 header fields (`Proc-Type: 4,ENCRYPTED`), which RFC
        // 7468 §2 excludes; base64 has no colon.
        has_headers |= line.contains(&b':');
        text.extend_from_slice(line);
        text.push(b'\n');
    }
    // Checks both boundaries. RFC 7468 §2 lets a parser ignore a different
    // label on the END line; refusing it, as the old splitter did, is the other
    // choice it allows, and the one that catches two blocks pasted into one.
    pem_rfc7468::decode_label(&text).map_err(|_| MALFORMED)?;
    let label = &begin[BEGIN.len()..begin.len() - DASHES.len()];
    let label = core::str::from_utf8(label).map_err(|_| MALFORMED)?;
    let mut der = Zeroizing::new(Vec::new());
    if !has_headers {
        let mut decoder = pem_rfc7468::Decoder::new_detect_wrap(&text).map_err(|_| MALFORMED)?;
        // The buffer is sized once up front, so no copy of the key is left
        // behind by a reallocation.
        decoder.decode_to_end(&mut der).map_err(|_| MALFORMED)?;
    }
    Ok(PemBlock {
        label,
        has_headers,
        der,
    })
}

/// A `-----BEGIN LABEL-----` line (its label is checked by the decoder).
fn is_begin(line: &[u8]) -> bool {
    line.len() >= BEGIN.len() + DASHES.len() && line.starts_with(BEGIN) && line.ends_with(DASHES)
}

/// The lines of `input` with surrounding ASCII whitespace (so a CR before the
/// LF) trimmed, each with the offset of its first byte in `input`.
fn lines(input: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    input.split(|&b| b == b'\n').scan(0, |offset, line| {
        let start = *offset;
        *offset += line.len() + 1;
        let trimmed = line.trim_ascii_start();
        let at = start + (line.len() - trimmed.len());
        Some((at, trimmed.trim_ascii_end()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> &str {
        core::str::from_utf8(bytes).unwrap()
    }

    /// The labels and contents of the blocks in `input`.
    fn walk(input: &[u8]) -> Vec<(&str, Vec<u8>)> {
        pem_blocks(input)
            .unwrap()
            .into_iter()
            .map(|b| (b.label, b.der.to_vec()))
            .collect()
    }

    #[test]
    fn a_chain_of_three_comes_out_in_order() {
        let chain = [
            data!("rsa2048.cert.pem").as_slice(),
            data!("rsa3072.cert.pem"),
            data!("rsa4096.cert.pem"),
        ]
        .concat();
        let expected = [
            data!("rsa2048.cert.der").as_slice(),
            data!("rsa3072.cert.der"),
            data!("rsa4096.cert.der"),
        ];
        let blocks = walk(&chain);
        assert_eq!(blocks.len(), 3);
        for (block, der) in blocks.iter().zip(expected) {
            assert_eq!(block.0, "CERTIFICATE");
            assert_eq!(block.1, der);
        }
        // With no newline after the last END line, the chain is the same.
        assert_eq!(walk(chain.trim_ascii_end()), blocks);
    }

    #[test]
    fn text_around_and_between_blocks_is_skipped() {
        let input = [
            b"Certificate:\n    Subject: CN=localhost\n-----BEGIN nothing\n".as_slice(),
            data!("rsa2048.cert.pem"),
            b"  not a -----BEGIN CERTIFICATE----- line\n\n# key: below\n",
            data!("rsa2048.key.pem"),
            b"-----END CERTIFICATE-----\ntrailing words, no newline",
        ]
        .concat();
        let expected = [
            ("CERTIFICATE", data!("rsa2048.cert.der").to_vec()),
            ("PRIVATE KEY", data!("rsa2048.key.der").to_vec()),
        ];
        assert_eq!(walk(&input), expected);
        // The same with CRLF line ends, and with indented BEGIN lines.
        let crlf = text(&input).replace('\n', "\r\n");
        assert_eq!(walk(crlf.as_bytes()), expected);
        let indented = text(&input).replace("\n-----BEGIN", "\n  -----BEGIN");
        assert_eq!(walk(indented.as_bytes()), expected);
    }

    #[test]
    fn blanks_around_lines_and_blank_lines_are_dropped() {
        // Blanks at both ends of every line (a pasted certificate), blank lines
        // after the BEGIN line and inside the body: the splitter this replaced
        // took them, and RFC 7468's standard grammar takes the trailing ones.
        let messy: String = text(data!("rsa2048.cert.pem"))
            .lines()
            .enumerate()
            .map(|(i, line)| match i {
                0 => format!(" {line} \t\r\n\r\n  \n"),
                5 => format!("\t{line}  \n\n"),
                _ => format!("  {line} \n"),
            })
            .collect();
        let expected = [("CERTIFICATE", data!("rsa2048.cert.der").to_vec())];
        assert_eq!(walk(messy.as_bytes()), expected);
    }

    #[test]
    fn an_end_line_with_another_label_is_malformed() {
        let pem = text(data!("rsa2048.cert.pem"));
        let mismatched = pem.replace("END CERTIFICATE", "END PRIVATE KEY");
        assert_eq!(pem_blocks(mismatched.as_bytes()).err(), Some(MALFORMED));
        // Also when it is the second block that is wrong.
        let second = [pem, &mismatched].concat();
        assert_eq!(pem_blocks(second.as_bytes()).err(), Some(MALFORMED));
        // And when the block has headers, so that its body is never decoded.
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nMAA=\n";
        let headers = [legacy, "-----END PRIVATE KEY-----\n"].concat();
        assert_eq!(pem_blocks(headers.as_bytes()).err(), Some(MALFORMED));
    }

    #[test]
    fn a_block_without_its_end_line_is_refused() {
        let pem = text(data!("rsa2048.cert.pem"));
        let cut = pem.replace("-----END CERTIFICATE-----\n", "");
        assert_eq!(pem_blocks(cut.as_bytes()).err(), Some(NO_END));
        // A complete block after the open one is not its END line: the BEGIN
        // line inside the open block makes it malformed.
        let nested = [&cut, pem].concat();
        assert_eq!(pem_blocks(nested.as_bytes()).err(), Some(MALFORMED));
        // So too when the open block has headers, whose body is never decoded:
        // the walk itself must see the BEGIN line.
        let key = text(data!("rsa2048.pkcs1.pem"));
        let open_legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n";
        let nested = [open_legacy, key].concat();
        assert_eq!(pem_blocks(nested.as_bytes()).err(), Some(MALFORMED));
        // A complete block, then an unfinished one.
        let last_open = [pem, &cut].concat();
        assert_eq!(pem_blocks(last_open.as_bytes()).err(), Some(NO_END));
    }

    #[test]
    fn a_block_with_headers_is_reported_not_decoded() {
        let legacy = text(data!("rsa2048.pkcs1.pem")).replacen(
            "-----\n",
            "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n",
            1,
        );
        let input = [data!("rsa2048.cert.pem").as_slice(), legacy.as_bytes()].concat();
        let blocks = pem_blocks(&input).unwrap();
        assert_eq!(blocks.len(), 2);
        assert!(!blocks[0].has_headers);
        assert_eq!(*blocks[0].der, data!("rsa2048.cert.der"));
        assert_eq!(blocks[1].label, "RSA PRIVATE KEY");
        assert!(blocks[1].has_headers);
        assert!(blocks[1].der.is_empty());
    }

    #[test]
    fn a_body_that_is_not_base64_is_malformed() {
        let pem = text(data!("rsa2048.cert.pem"));
        // A character outside the alphabet, in the middle of the body.
        let bad_char = pem.replacen("MIID", "MI!D", 1);
        // A body cut short of a whole base64 quantum.
        let lines: Vec<&str> = pem.lines().collect();
        let last = lines[lines.len() - 2];
        let cut_quantum = pem.replacen(last, &last[..last.len() - 1], 1);
        // One body line a character shorter than the others: the wrap width
        // must be the same on every line but the last (see the module doc).
        let second = lines[2];
        let uneven = pem.replacen(second, &second[1..], 1);
        for bad in [bad_char, cut_quantum, uneven] {
            assert_eq!(pem_blocks(bad.as_bytes()).err(), Some(MALFORMED), "{bad}");
        }
    }

    #[test]
    fn any_even_wrap_width_decodes() {
        let der = data!("rsa2048.cert.der");
        let b64: String = text(data!("rsa2048.cert.pem"))
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        for width in [4, 64, 76, b64.len()] {
            let body: Vec<&str> = b64
                .as_bytes()
                .chunks(width)
                .map(|c| core::str::from_utf8(c).unwrap())
                .collect();
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                body.join("\n")
            );
            assert_eq!(
                walk(pem.as_bytes()),
                [("CERTIFICATE", der.to_vec())],
                "{width}"
            );
        }
    }

    #[test]
    fn der_is_not_taken_for_pem() {
        assert!(looks_like_pem(data!("rsa2048.cert.pem")));
        assert!(!looks_like_pem(data!("rsa2048.cert.der")));
        assert!(!looks_like_pem(b"-----BEGIN"));
        assert_eq!(walk(b"no blocks here\n"), []);
    }
}
