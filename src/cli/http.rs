//! `serve --http`: collecting request heads from the decrypted stream, with a
//! bound on their size and a search for their end that never rescans.

/// The longest request head (request line and header fields) served. A longer
/// one is answered with 431 (RFC 6585 §5) and the connection is closed.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// The end of a request head (RFC 9112 §2.1: the empty line after the fields).
const TERMINATOR: &[u8] = b"\r\n\r\n";

/// What [`HeadReader::next_head`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A complete head, without its terminator.
    Head(Vec<u8>),
    /// No complete head yet: read more.
    More,
    /// The head is longer than [`MAX_HEAD`].
    TooLong,
}

/// Bytes received and not yet answered, and how far they have been searched.
#[derive(Default)]
pub(crate) struct HeadReader {
    buf: Vec<u8>,
    /// `buf[..scanned]` holds no terminator that starts there.
    scanned: usize,
}

impl HeadReader {
    /// Appends what was read. Call [`next_head`](Self::next_head) until it
    /// returns [`Next::More`] before pushing again: the buffer then stays
    /// within [`MAX_HEAD`] plus one read.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete head, if any. The search resumes where the last one
    /// stopped (less three bytes, for a terminator split across reads), so a
    /// head that arrives one byte per record costs linear, not quadratic, time.
    pub(crate) fn next_head(&mut self) -> Next {
        match find(&self.buf, self.scanned) {
            Some(end) if end <= MAX_HEAD => {
                let head = self.buf[..end].to_vec();
                self.buf.drain(..end + TERMINATOR.len());
                self.scanned = 0;
                Next::Head(head)
            }
            Some(_) => Next::TooLong,
            None if self.buf.len() > MAX_HEAD + TERMINATOR.len() => Next::TooLong,
            None => {
                self.scanned = self.buf.len().saturating_sub(TERMINATOR.len() - 1);
                Next::More
            }
        }
    }

    /// Where the next search starts (for tests of the resumption).
    #[cfg(test)]
    fn scanned(&self) -> usize {
        self.scanned
    }
}

/// The offset of the first terminator in `buf` that starts at `from` or later.
fn find(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(TERMINATOR.len())
        .position(|w| w == TERMINATOR)
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminator_split_across_reads_is_found() {
        let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        // Every split point, including one inside the terminator.
        for cut in 0..request.len() {
            let mut r = HeadReader::default();
            r.push(&request[..cut]);
            assert_eq!(r.next_head(), Next::More, "cut {cut}");
            r.push(&request[cut..]);
            assert_eq!(
                r.next_head(),
                Next::Head(b"GET / HTTP/1.1\r\nHost: x".to_vec()),
                "cut {cut}"
            );
            assert_eq!(r.next_head(), Next::More);
        }
    }

    #[test]
    fn one_byte_at_a_time_the_search_resumes_where_it_stopped() {
        let request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let mut r = HeadReader::default();
        let mut heads = Vec::new();
        for (i, byte) in request.iter().enumerate() {
            r.push(&[*byte]);
            loop {
                match r.next_head() {
                    Next::Head(h) => heads.push(h),
                    Next::More => break,
                    Next::TooLong => panic!("too long at {i}"),
                }
            }
            // Only the last three bytes (a possible partial terminator) are
            // searched again on the next read.
            assert!(
                r.scanned() + 3 >= r.buf.len(),
                "byte {i}: scanned {} of {}",
                r.scanned(),
                r.buf.len()
            );
        }
        assert_eq!(
            heads,
            [
                b"GET /a HTTP/1.1\r\nHost: x".to_vec(),
                b"GET /b HTTP/1.1".to_vec()
            ]
        );
    }

    #[test]
    fn an_over_long_head_is_refused_and_memory_stays_bounded() {
        let mut r = HeadReader::default();
        let chunk = [b'a'; 4096];
        let mut pushed = 0;
        loop {
            r.push(&chunk);
            pushed += chunk.len();
            match r.next_head() {
                Next::More => assert!(pushed <= MAX_HEAD + 4, "{pushed} bytes held"),
                Next::TooLong => break,
                Next::Head(_) => panic!("no terminator was sent"),
            }
        }
        assert!(r.buf.len() <= MAX_HEAD + chunk.len() + 4);
        // A head whose terminator comes too late is refused too.
        let mut r = HeadReader::default();
        r.push(&vec![b'a'; MAX_HEAD + 1]);
        r.push(b"\r\n\r\n");
        assert_eq!(r.next_head(), Next::TooLong);
        // And one exactly at the limit is served.
        let mut r = HeadReader::default();
        r.push(&vec![b'a'; MAX_HEAD]);
        r.push(b"\r\n\r\n");
        assert!(matches!(r.next_head(), Next::Head(h) if h.len() == MAX_HEAD));
    }
}
