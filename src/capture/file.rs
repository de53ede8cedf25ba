//! Packets from a pcap or pcapng file, read in bounded memory.
//!
//! The `pcap-parser` crate's streaming readers parse the blocks out of a
//! fixed buffer ([`BUFFER_SIZE`]) refilled from the input; a block larger than
//! the buffer grows it, up to [`MAX_BLOCK_SIZE`]. What this module adds: the
//! format told from the magic, pcapng's interfaces (each packet takes the link
//! type and timestamp resolution of its interface), and typed errors, with a
//! file cut off inside a block (a capture whose writer was killed) told apart
//! as [`CaptureError::Truncated`] after the packets before it.

use std::io::{self, Cursor, Read};
use std::sync::{Arc, Mutex};

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{Block, LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

/// A link-layer header type, as pcap and pcapng number them
/// (tcpdump.org/linktypes.html).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback (NULL): a 4-byte address family in host order.
    pub const NULL: Self = Self(0);
    /// Ethernet II, with 802.1Q tags.
    pub const ETHERNET: Self = Self(1);
    /// Raw IP (the DLT_RAW value 101 some files use).
    pub const RAW: Self = Self(101);
    /// OpenBSD loopback: the address family in network order.
    pub const LOOP: Self = Self(108);
    /// Linux cooked capture, version 1.
    pub const LINUX_SLL: Self = Self(113);
    /// Raw IPv4.
    pub const IPV4: Self = Self(228);
    /// Raw IPv6.
    pub const IPV6: Self = Self(229);
    /// Linux cooked capture, version 2.
    pub const LINUX_SLL2: Self = Self(276);
}

/// Why a capture could not be read further.
#[derive(Debug)]
pub enum CaptureError {
    /// Reading the file failed.
    Io(io::Error),
    /// Not a pcap or pcapng file.
    NotACapture,
    /// The file is malformed at this byte offset.
    Malformed(u64),
    /// The file ends inside a block (a capture cut off while being written).
    Truncated,
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "reading the capture failed: {e}"),
            Self::NotACapture => f.write_str("not a pcap or pcapng file"),
            Self::Malformed(at) => write!(f, "malformed capture at byte {at}"),
            Self::Truncated => f.write_str("the capture ends inside a packet (cut off)"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// One packet: its link type and its captured bytes.
pub struct Packet<'a> {
    /// The link type of the interface it was captured on.
    pub link_type: LinkType,
    /// Seconds and nanoseconds since the Unix epoch.
    pub timestamp: (u64, u32),
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
}

/// The buffer blocks are parsed from: a few large packets' worth.
pub const BUFFER_SIZE: usize = 256 * 1024;
/// The largest block accepted; a larger one is [`CaptureError::Malformed`]
/// (no link layer carries packets near this size).
pub const MAX_BLOCK_SIZE: usize = 16 * 1024 * 1024;
/// The most pcapng interfaces accepted in one section.
const MAX_INTERFACES: usize = 65_536;
/// Bytes read before choosing a parser: enough for any sane section header.
const PREFIX_SIZE: usize = 64 * 1024;

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Microsecond, nanosecond and (Kuznetzov) modified pcap, both byte orders.
const PCAP_MAGICS: [u32; 3] = [0xa1b2_c3d4, 0xa1b2_3c4d, 0xa1b2_cd34];

/// The input behind the parser: first the bytes read to tell the format,
/// then the rest, keeping the last read error for [`CaptureError::Io`]
/// (the parser only says that a read failed).
type Input<R> = io::Chain<Cursor<Vec<u8>>, KeepError<R>>;

/// Reads packets one at a time from a pcap or pcapng stream.
pub struct PacketReader<R: Read> {
    parser: Parser<Input<R>>,
    /// pcapng: the current section's interfaces.
    interfaces: Vec<Interface>,
    /// pcap: the file's link type and whether timestamps are nanoseconds.
    legacy: Option<(LinkType, bool)>,
    /// Bytes of the block returned last, consumed at the next call (the
    /// packet borrows them until then).
    pending: usize,
    read_error: Arc<Mutex<Option<io::Error>>>,
    /// The parser's buffer size now.
    capacity: usize,
    /// An error already returned: every later call returns `Ok(None)`.
    done: bool,
}

enum Parser<R: Read> {
    Legacy(LegacyPcapReader<R>),
    Ng(PcapNGReader<R>),
}

#[derive(Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset: i64,
}

struct KeepError<R> {
    inner: R,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl<R: Read> Read for KeepError<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let kept = io::Error::new(e.kind(), e.to_string());
                    *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    return Err(kept);
                }
                Ok(n) => return Ok(n),
            }
        }
    }
}

/// What one parsed block was, without borrowing the parser.
enum Found {
    /// A packet at this position of the parser's buffer.
    Packet {
        link_type: LinkType,
        timestamp: (u64, u32),
        at: usize,
        len: usize,
    },
    Other,
}

impl<R: Read> PacketReader<R> {
    /// Starts reading; the format is told from the first bytes.
    ///
    /// # Errors
    /// [`CaptureError`] if the stream is not a capture.
    pub fn new(inner: R) -> Result<Self, CaptureError> {
        let read_error = Arc::new(Mutex::new(None));
        let mut inner = KeepError {
            inner,
            error: read_error.clone(),
        };
        let mut prefix = vec![0; PREFIX_SIZE];
        let mut filled = 0;
        while filled < prefix.len() {
            match inner.read(prefix.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if filled == 0 => return Err(CaptureError::Io(e)),
                // The parser's next read meets the error again (it is kept
                // for then), after the packets read so far.
                Err(_) => break,
            }
        }
        prefix.truncate(filled);
        let magic: [u8; 4] = prefix
            .get(..4)
            .and_then(|m| m.try_into().ok())
            .ok_or(CaptureError::NotACapture)?;
        let ng = magic == PCAPNG_MAGIC;
        let legacy = PCAP_MAGICS
            .iter()
            .any(|m| magic == m.to_le_bytes() || magic == m.to_be_bytes());
        let input = Cursor::new(prefix).chain(inner);
        let start_error = |e: PcapError<&[u8]>| match e {
            PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                CaptureError::Truncated
            }
            _ => CaptureError::Malformed(0),
        };
        let (parser, legacy) = if ng {
            let parser = PcapNGReader::new(BUFFER_SIZE, input).map_err(start_error)?;
            (Parser::Ng(parser), None)
        } else if legacy {
            let mut parser = LegacyPcapReader::new(BUFFER_SIZE, input).map_err(start_error)?;
            let header = match parser.next() {
                Ok((size, PcapBlockOwned::LegacyHeader(header))) => {
                    let link = LinkType(header.network.0 as u32 & 0xffff);
                    let nanos = header.is_nanosecond_precision();
                    Some((size, link, nanos))
                }
                _ => None,
            };
            let (size, link, nanos) = header.ok_or(CaptureError::Malformed(0))?;
            parser.consume(size);
            (Parser::Legacy(parser), Some((link, nanos)))
        } else {
            return Err(CaptureError::NotACapture);
        };
        Ok(Self {
            parser,
            interfaces: Vec::new(),
            legacy,
            pending: 0,
            read_error,
            capacity: BUFFER_SIZE,
            done: false,
        })
    }

    fn parser(&mut self) -> &mut dyn PcapReaderIterator {
        match &mut self.parser {
            Parser::Legacy(p) => p,
            Parser::Ng(p) => p,
        }
    }

    /// The next packet, `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`CaptureError`] if the stream is malformed or cannot be read; after
    /// an error, every call returns `Ok(None)`.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        match self.advance() {
            Ok(Some((link_type, timestamp, at, len))) => {
                let data = self
                    .parser()
                    .data()
                    .get(at..at.saturating_add(len))
                    .ok_or(CaptureError::Malformed(0))?;
                Ok(Some(Packet {
                    link_type,
                    timestamp,
                    data,
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Parses blocks up to the next packet; returns where its bytes are in
    /// the parser's buffer.
    #[allow(clippy::type_complexity)]
    fn advance(&mut self) -> Result<Option<(LinkType, (u64, u32), usize, usize)>, CaptureError> {
        let pending = std::mem::take(&mut self.pending);
        self.parser().consume(pending);
        loop {
            let legacy = self.legacy;
            let parser: &mut dyn PcapReaderIterator = match &mut self.parser {
                Parser::Legacy(p) => p,
                Parser::Ng(p) => p,
            };
            let position = parser.consumed() as u64;
            let buffer_start = parser.data().as_ptr() as usize;
            let outcome = match parser.next() {
                Ok((size, block)) => Ok((
                    size,
                    found(&block, legacy, &mut self.interfaces, buffer_start, position)?,
                )),
                Err(e) => Err(kind_of(&e)),
            };
            match outcome {
                Ok((
                    size,
                    Found::Packet {
                        link_type,
                        timestamp,
                        at,
                        len,
                    },
                )) => {
                    self.pending = size;
                    return Ok(Some((link_type, timestamp, at, len)));
                }
                Ok((size, Found::Other)) => parser.consume(size),
                Err(ErrorKind::Eof) => return Ok(None),
                Err(ErrorKind::Truncated) => return Err(CaptureError::Truncated),
                Err(ErrorKind::Incomplete) => {
                    let before = parser.data().len();
                    parser.refill().map_err(|_| io_error(&self.read_error))?;
                    if parser.data().len() == before && !parser.reader_exhausted() {
                        // No room and no progress: cannot happen with the
                        // parser's own checks, but never spin.
                        return Err(CaptureError::Malformed(position));
                    }
                }
                Err(ErrorKind::TooSmall) => {
                    let grown = self.capacity.saturating_mul(2).min(MAX_BLOCK_SIZE);
                    if grown <= self.capacity || !parser.grow(grown) {
                        return Err(CaptureError::Malformed(position));
                    }
                    self.capacity = grown;
                    parser.refill().map_err(|_| io_error(&self.read_error))?;
                }
                Err(ErrorKind::Read) => return Err(io_error(&self.read_error)),
                Err(ErrorKind::Malformed) => return Err(CaptureError::Malformed(position)),
            }
        }
    }
}

/// The read error the parser saw (it keeps only that one happened).
fn io_error(kept: &Mutex<Option<io::Error>>) -> CaptureError {
    let kept = kept.lock().unwrap_or_else(|p| p.into_inner()).take();
    CaptureError::Io(kept.unwrap_or_else(|| io::Error::other("read failed")))
}

#[derive(Clone, Copy)]
enum ErrorKind {
    Eof,
    Truncated,
    Incomplete,
    TooSmall,
    Read,
    Malformed,
}

fn kind_of(e: &PcapError<&[u8]>) -> ErrorKind {
    match e {
        PcapError::Eof => ErrorKind::Eof,
        PcapError::UnexpectedEof => ErrorKind::Truncated,
        PcapError::Incomplete(_) => ErrorKind::Incomplete,
        PcapError::BufferTooSmall => ErrorKind::TooSmall,
        PcapError::ReadError => ErrorKind::Read,
        _ => ErrorKind::Malformed,
    }
}

/// Reads one block: a packet (where its bytes are, relative to the start of
/// the parser's buffer), or an interface to remember.
fn found(
    block: &PcapBlockOwned<'_>,
    legacy: Option<(LinkType, bool)>,
    interfaces: &mut Vec<Interface>,
    buffer_start: usize,
    position: u64,
) -> Result<Found, CaptureError> {
    // Where `data` lies in the buffer the block was parsed from.
    let locate = |data: &[u8]| (data.as_ptr() as usize).wrapping_sub(buffer_start);
    match block {
        PcapBlockOwned::Legacy(packet) => {
            let (link_type, nanos) = legacy.ok_or(CaptureError::Malformed(position))?;
            let fraction = if nanos {
                packet.ts_usec
            } else {
                packet.ts_usec.saturating_mul(1000)
            };
            Ok(Found::Packet {
                link_type,
                timestamp: (u64::from(packet.ts_sec), fraction),
                at: locate(packet.data),
                len: packet.data.len(),
            })
        }
        PcapBlockOwned::LegacyHeader(_) => Ok(Found::Other),
        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
            // A new section numbers its interfaces afresh.
            interfaces.clear();
            Ok(Found::Other)
        }
        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
            if interfaces.len() >= MAX_INTERFACES {
                return Err(CaptureError::Malformed(position));
            }
            interfaces.push(Interface {
                link_type: LinkType(idb.linktype.0 as u32),
                resolution: resolution(idb.if_tsresol),
                offset: idb.if_tsoffset,
            });
            Ok(Found::Other)
        }
        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
            let interface = usize::try_from(epb.if_id)
                .ok()
                .and_then(|id| interfaces.get(id))
                .ok_or(CaptureError::Malformed(position))?;
            let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            let caplen = usize::try_from(epb.caplen).unwrap_or(usize::MAX);
            let data = epb.data.get(..caplen).unwrap_or(epb.data);
            Ok(Found::Packet {
                link_type: interface.link_type,
                timestamp: timestamp(ticks, interface),
                at: locate(data),
                len: data.len(),
            })
        }
        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
            // A simple packet block belongs to the first interface and has
            // no timestamp.
            let interface = interfaces
                .first()
                .ok_or(CaptureError::Malformed(position))?;
            let origlen = usize::try_from(spb.origlen).unwrap_or(usize::MAX);
            let data = spb.data.get(..origlen).unwrap_or(spb.data);
            Ok(Found::Packet {
                link_type: interface.link_type,
                timestamp: (0, 0),
                at: locate(data),
                len: data.len(),
            })
        }
        PcapBlockOwned::NG(_) => Ok(Found::Other),
    }
}

/// Units per second of a pcapng `if_tsresol` (microseconds if absent or out
/// of range).
fn resolution(tsresol: u8) -> u64 {
    let exponent = u32::from(tsresol & 0x7f);
    let units = if tsresol & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        1u64.checked_shl(exponent)
    };
    units.filter(|u| *u > 0).unwrap_or(1_000_000)
}

fn timestamp(ticks: u64, interface: &Interface) -> (u64, u32) {
    let resolution = interface.resolution.max(1);
    let seconds = (ticks / resolution).saturating_add_signed(interface.offset);
    let fraction = u128::from(ticks % resolution) * 1_000_000_000 / u128::from(resolution);
    (seconds, u32::try_from(fraction).unwrap_or(u32::MAX))
}
