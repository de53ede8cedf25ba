//! [`pump`]: both directions between a [`TlsStream`] and a reader/writer pair.

use std::io;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::TlsStream;
use crate::conn::Role;

/// Bytes moved per read in each direction: one full TLS record.
const CHUNK: usize = 16 * 1024;

/// Copies `input` to the peer and the peer's data to `output`, both at once,
/// until the peer has closed; returns the number of bytes sent and received.
///
/// Memory is bounded: each direction holds one [`CHUNK`] and waits for its
/// writer before reading more, so a slow `output` slows the peer down (TCP
/// flow control) and a slow peer slows the reading of `input`.
///
/// Half-close: at `input`'s EOF, close_notify is sent (and the transport's
/// write side shut) while the peer's data keeps flowing to `output` until its
/// close_notify. Then `output` is shut down. If the peer closes first, our
/// close_notify answers it and whatever `input` still holds is not sent.
///
/// Each chunk is flushed as soon as it is written, so interactive use sees
/// every line at once.
///
/// # Errors
/// The first I/O or TLS error of either direction (a transport EOF without
/// close_notify is [`io::ErrorKind::UnexpectedEof`]).
pub async fn pump<R, IO, I, O>(
    tls: &mut TlsStream<R, IO>,
    mut input: I,
    mut output: O,
) -> io::Result<(u64, u64)>
where
    R: Role,
    IO: AsyncRead + AsyncWrite + Unpin,
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let (mut from_peer, mut to_peer) = ::tokio::io::split(tls);
    let mut sent = 0u64;
    let mut received = 0u64;
    let up = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = input.read(&mut buf).await?;
            if n == 0 {
                // Our close_notify; the peer may go on sending.
                return to_peer.shutdown().await;
            }
            to_peer.write_all(&buf[..n]).await?;
            to_peer.flush().await?;
            sent += n as u64;
        }
    };
    let down = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            // Ok(0) only after the peer's close_notify.
            let n = from_peer.read(&mut buf).await?;
            if n == 0 {
                return output.shutdown().await;
            }
            output.write_all(&buf[..n]).await?;
            output.flush().await?;
            received += n as u64;
        }
    };
    let mut up = Box::pin(up);
    let mut down = Box::pin(down);
    let mut up_done = false;
    loop {
        ::tokio::select! {
            done = &mut up, if !up_done => {
                done?;
                up_done = true;
            }
            done = &mut down => {
                done?;
                break;
            }
        }
    }
    drop(up);
    drop(down);
    if !up_done {
        // The peer closed first: answer with our own close_notify (RFC 5246
        // §7.2.1), sent whole, not truncated by the end of the input side.
        to_peer.shutdown().await?;
    }
    Ok((sent, received))
}
