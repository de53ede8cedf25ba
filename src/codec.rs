//! A bounds-checked cursor for decoding and small helpers for encoding.
//!
//! Every parser in rsatls reads through [`Reader`]: it never indexes a slice
//! directly, so no peer input can make a decoder panic.

use crate::error::Error;

/// A cursor over untrusted bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `buf` from its beginning.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Takes exactly `n` bytes, or fails with `what` if fewer remain.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        if n > self.buf.len() {
            return Err(Error::Decode(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian 24-bit length.
    pub fn u24(&mut self, what: &'static str) -> Result<usize, Error> {
        let [a, b, c] = self.array(what)?;
        Ok(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c))
    }

    /// Reads a vector with a one-byte length prefix, bounded by `min..=max`.
    pub fn vec_u8(
        &mut self,
        min: usize,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], Error> {
        let len = usize::from(self.u8(what)?);
        self.bounded(len, min, max, what)
    }

    /// Reads a vector with a two-byte length prefix, bounded by `min..=max`.
    pub fn vec_u16(
        &mut self,
        min: usize,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], Error> {
        let len = usize::from(self.u16(what)?);
        self.bounded(len, min, max, what)
    }

    /// Reads a vector with a three-byte length prefix, bounded by `min..=max`.
    pub fn vec_u24(
        &mut self,
        min: usize,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], Error> {
        let len = self.u24(what)?;
        self.bounded(len, min, max, what)
    }

    /// A sub-reader over a length-prefixed vector.
    pub fn sub_u16(&mut self, min: usize, max: usize, what: &'static str) -> Result<Self, Error> {
        self.vec_u16(min, max, what).map(Reader::new)
    }

    fn bounded(
        &mut self,
        len: usize,
        min: usize,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], Error> {
        if len < min || len > max {
            return Err(Error::Decode(what));
        }
        self.take(len, what)
    }

    /// Everything not yet read.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Fails with `what` unless every byte has been read (decoders reject trailing data).
    pub fn finish(&self, what: &'static str) -> Result<(), Error> {
        match self.buf.is_empty() {
            true => Ok(()),
            false => Err(Error::Decode(what)),
        }
    }
}

/// Appends a big-endian `u16`.
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian 24-bit value. `v` must be below 2^24.
pub(crate) fn put_u24(out: &mut Vec<u8>, v: usize) {
    debug_assert!(v < 1 << 24);
    out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
}

/// Length prefix widths.
#[derive(Clone, Copy)]
pub(crate) enum LenPrefix {
    U8,
    U16,
    U24,
}

/// Appends a length-prefixed body written by `f`, back-patching the length.
pub(crate) fn put_prefixed(out: &mut Vec<u8>, prefix: LenPrefix, f: impl FnOnce(&mut Vec<u8>)) {
    let width = match prefix {
        LenPrefix::U8 => 1,
        LenPrefix::U16 => 2,
        LenPrefix::U24 => 3,
    };
    let at = out.len();
    out.extend_from_slice(&[0u8; 3][..width]);
    f(out);
    let len = out.len() - at - width;
    let bytes = (len as u32).to_be_bytes();
    out[at..at + width].copy_from_slice(&bytes[4 - width..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[0, 3, 1, 2]);
        assert_eq!(r.vec_u16(0, 10, "v"), Err(Error::Decode("v")));
        let mut r = Reader::new(&[0, 2, 1, 2, 9]);
        assert_eq!(r.vec_u16(0, 10, "v"), Ok(&[1u8, 2][..]));
        assert_eq!(r.finish("trailing"), Err(Error::Decode("trailing")));
        assert_eq!(r.u8("x"), Ok(9));
        assert!(r.finish("trailing").is_ok());
        assert_eq!(r.u8("empty"), Err(Error::Decode("empty")));
    }

    #[test]
    fn vector_bounds_are_enforced() {
        assert!(Reader::new(&[1, 7]).vec_u8(2, 4, "v").is_err());
        assert!(Reader::new(&[5, 1, 2, 3, 4, 5]).vec_u8(2, 4, "v").is_err());
        assert_eq!(Reader::new(&[2, 1, 2]).vec_u8(2, 4, "v"), Ok(&[1u8, 2][..]));
        assert_eq!(
            Reader::new(&[0, 0, 1, 7]).vec_u24(1, 1, "v"),
            Ok(&[7u8][..])
        );
    }

    #[test]
    fn u24_reads_and_writes_all_three_bytes() {
        let mut out = Vec::new();
        put_u24(&mut out, 0x12_3456);
        assert_eq!(out, [0x12, 0x34, 0x56]);
        let mut r = Reader::new(&[0x12, 0x34, 0x56, 0xff]);
        assert_eq!(r.remaining(), 4);
        assert_eq!(r.u24("len"), Ok(0x12_3456));
        assert_eq!(r.remaining(), 1);
        assert_eq!(Reader::new(&[0xff, 0xff, 0xff]).u24("len"), Ok(0xff_ffff));
    }

    #[test]
    fn prefixed_writes_back_patch_lengths() {
        let mut out = vec![0xaa];
        put_prefixed(&mut out, LenPrefix::U24, |o| {
            o.extend_from_slice(&[1, 2, 3])
        });
        put_prefixed(&mut out, LenPrefix::U16, |_| {});
        put_prefixed(&mut out, LenPrefix::U8, |o| put_u16(o, 0x0102));
        assert_eq!(out, [0xaa, 0, 0, 3, 1, 2, 3, 0, 0, 2, 1, 2]);
    }
}
