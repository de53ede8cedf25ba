//! Where `rsatls decrypt` writes, and how it shows bytes to a person.
//!
//! stdout is buffered (a capture of a gigabyte is mostly application data,
//! and a flush per line would cost more than the decryption) and flushed
//! before anything goes to stderr, so that a terminal shows both in order.

use std::io::{BufWriter, ErrorKind, Write};

use super::super::Failure;

/// The bytes of a hex dump line.
const HEX_WIDTH: usize = 16;

/// Buffered stdout. A reader that went away (`rsatls decrypt ... | head`)
/// ends the output quietly: later writes are dropped and [`Out::gone`] says
/// so, so that the caller can stop reading the capture.
pub(super) struct Out {
    inner: BufWriter<Box<dyn Write>>,
    /// stderr, for diagnostics.
    err: Box<dyn Write>,
    gone: bool,
}

impl Out {
    /// stdout and stderr.
    pub(super) fn new() -> Self {
        Self::to(Box::new(std::io::stdout()), Box::new(std::io::stderr()))
    }

    /// Other writers (the tests' buffers).
    pub(super) fn to(out: Box<dyn Write>, err: Box<dyn Write>) -> Self {
        Self {
            inner: BufWriter::with_capacity(64 * 1024, out),
            err,
            gone: false,
        }
    }

    /// Whether the reader of stdout went away.
    pub(super) fn gone(&self) -> bool {
        self.gone
    }

    /// Writes raw bytes.
    pub(super) fn bytes(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        if self.gone {
            return Ok(());
        }
        let written = self.inner.write_all(bytes);
        self.check(written)
    }

    /// Writes a formatted line.
    pub(super) fn line(&mut self, text: std::fmt::Arguments<'_>) -> Result<(), Failure> {
        if self.gone {
            return Ok(());
        }
        let written = self
            .inner
            .write_fmt(text)
            .and_then(|()| self.inner.write_all(b"\n"));
        self.check(written)
    }

    /// Flushes what is buffered.
    pub(super) fn flush(&mut self) -> Result<(), Failure> {
        if self.gone {
            return Ok(());
        }
        let flushed = self.inner.flush();
        self.check(flushed)
    }

    /// A line on stderr, after what stdout holds so far.
    pub(super) fn diagnostic(&mut self, text: std::fmt::Arguments<'_>) -> Result<(), Failure> {
        self.flush()?;
        // stderr gone too: nothing left to tell.
        let _ = writeln!(self.err, "rsatls: {text}");
        Ok(())
    }

    fn check(&mut self, result: std::io::Result<()>) -> Result<(), Failure> {
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(())
            }
            Err(e) => Err(Failure::Runtime(format!("writing to stdout: {e}"))),
        }
    }
}

/// Lower-case hex.
pub(in crate::cli) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// The first `n` bytes in hex, with an ellipsis and the length when there
/// are more (as `rsatls demo` shows them).
pub(in crate::cli) fn hex_head(bytes: &[u8], n: usize) -> String {
    match bytes.get(..n) {
        Some(head) if bytes.len() > n => format!("{}… ({} bytes)", hex(head), bytes.len()),
        _ => format!("{} ({} bytes)", hex(bytes), bytes.len()),
    }
}

/// How one record's plaintext is shown.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Shown {
    /// As text: control characters other than `\n`, `\t`, `\r` escaped.
    Text(String),
    /// As hex dump lines, each ending in `\n`.
    Hex(String),
}

/// Text if `data` is UTF-8 (a character cut by the record's end aside) with
/// few control characters, else a hex dump.
pub(super) fn show(data: &[u8]) -> Shown {
    let (text, cut) = match std::str::from_utf8(data) {
        Ok(text) => (text, &[][..]),
        // A multi-byte character split across two records: its start is at
        // the end of this one. Anything else invalid is binary.
        Err(e) if e.error_len().is_none() => {
            let (valid, cut) = data.split_at(e.valid_up_to());
            (std::str::from_utf8(valid).unwrap_or_default(), cut)
        }
        Err(_) => return Shown::Hex(hex_dump(data)),
    };
    let controls = text.chars().filter(|c| escaped(*c)).count();
    // Mostly text (a few escape sequences of a terminal session are fine);
    // above one in sixteen it reads better as hex.
    if controls * 16 > text.chars().count().max(1) {
        return Shown::Hex(hex_dump(data));
    }
    let mut out = String::with_capacity(data.len());
    for c in text.chars() {
        match escaped(c) {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    for b in cut {
        out.push_str(&format!("\\x{b:02x}"));
    }
    Shown::Text(out)
}

/// Whether `c` is shown escaped in text.
fn escaped(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\t' | '\r')
}

/// Hex digits, for the dump (formatting machinery per byte would cost more
/// than the decryption of a bulk transfer).
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `offset  hex bytes  |ascii|`, 16 bytes a line, each line ending in `\n`.
pub(super) fn hex_dump(data: &[u8]) -> String {
    // 8 + 2 + 49 + 2 + 16 + 1 bytes a line.
    let mut out = String::with_capacity(data.len().div_ceil(HEX_WIDTH) * 78);
    for (i, chunk) in data.chunks(HEX_WIDTH).enumerate() {
        let offset = (i * HEX_WIDTH) as u64;
        for shift in (0..8).rev() {
            out.push(char::from(DIGITS[((offset >> (shift * 4)) & 15) as usize]));
        }
        out.push_str("  ");
        for j in 0..HEX_WIDTH {
            if j == HEX_WIDTH / 2 {
                out.push(' ');
            }
            match chunk.get(j) {
                Some(&b) => {
                    out.push(char::from(DIGITS[usize::from(b >> 4)]));
                    out.push(char::from(DIGITS[usize::from(b & 15)]));
                    out.push(' ');
                }
                None => out.push_str("   "),
            }
        }
        out.push_str(" |");
        out.extend(chunk.iter().map(|&b| match b {
            0x20..=0x7e => char::from(b),
            _ => '.',
        }));
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_text_with_controls_escaped() {
        assert_eq!(
            show(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Shown::Text("GET / HTTP/1.1\r\nHost: x\r\n\r\n".into())
        );
        let mut long = b"hello world, a line of text\n".repeat(2);
        long.push(0x1b);
        assert_eq!(
            show(&long),
            Shown::Text(format!(
                "{}\\u{{1b}}",
                "hello world, a line of text\n".repeat(2)
            ))
        );
        // A character cut by the end of the record.
        assert_eq!(
            show("héllo".as_bytes().get(..2).unwrap()),
            Shown::Text("h\\xc3".into())
        );
    }

    #[test]
    fn binary_is_hex() {
        assert_eq!(
            show(&[0, 1, 2, 0xff]),
            Shown::Hex(format!("00000000  {:<49} |....|\n", "00 01 02 ff "))
        );
        // Valid UTF-8 but mostly control characters.
        assert!(matches!(show(&[1, 2, 3, b'a']), Shown::Hex(_)));
        let dump = hex_dump(&[b'A'; 17]);
        let dump: Vec<&str> = dump.lines().collect();
        assert_eq!(dump.len(), 2);
        assert!(
            dump[0].starts_with("00000000  41 41 41 41 41 41 41 41  41"),
            "{}",
            dump[0]
        );
        assert!(
            dump[0].ends_with(&format!("|{}|", "A".repeat(16))),
            "{}",
            dump[0]
        );
        assert_eq!(dump[1], format!("00000010  {:<49} |A|", "41 "));
    }

    #[test]
    fn hex_heads() {
        assert_eq!(hex_head(&[1, 2, 3], 2), "0102… (3 bytes)");
        assert_eq!(hex_head(&[1, 2], 2), "0102 (2 bytes)");
        assert_eq!(hex_head(&[], 2), " (0 bytes)");
    }
}
