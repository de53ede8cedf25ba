//! [`KeyPool`]: the threads that run servers' private-key operations, so that
//! a runtime worker never does.

use std::io;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use ::tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::conn::PrivateKeyOperation;
use crate::crypto::CryptoError;

/// What a pool thread hands back: the RSADP output, or the failure.
pub(crate) type KeyResult = Result<Zeroizing<Vec<u8>>, CryptoError>;

/// A pool of threads, named `rsatls-key-0`, `rsatls-key-1`, ..., that run the
/// ClientKeyExchange private-key operations of server connections
/// ([`ServerConfig::with_private_key_offload`]), so that the RSA operation,
/// the whole cost of a handshake, never runs on a tokio worker thread: the
/// other connections of that worker keep moving while it runs.
///
/// A [`TlsStream`](super::TlsStream) that meets an operation hands it to its
/// pool and waits for the answer without polling (it is woken when the
/// answer comes), under the handshake timeout, still reading (and detecting
/// the client's going away) but no further than the engine buffers. If the
/// connection is dropped meanwhile, an operation not yet started is skipped
/// and the result of one under way is dropped (zeroized).
///
/// Clones share the threads; the threads end once the last clone is dropped
/// and the queued operations are done. Use one pool for a whole server
/// ([`accept_with_key_pool`](super::accept_with_key_pool),
/// [`TlsStream::with_key_pool`](super::TlsStream::with_key_pool)); a stream
/// given none uses [`KeyPool::shared`].
///
/// Why threads of its own rather than tokio's blocking pool: RSA is CPU-bound,
/// and the blocking pool grows to 512 threads under a burst of handshakes,
/// which only oversubscribes the cores; a pool sized to the cores runs each
/// operation at full speed and queues the rest.
///
/// Memory: the queue is not bounded by the pool but by its users. Each
/// connection has at most one operation out (its engine decides nothing
/// until the answer is back), so the queue never holds more entries than
/// there are connections in their handshake, a few hundred bytes each (the
/// `k`-byte input and a reply slot); the server's connection cap
/// (`--max-connections`) bounds those. [`outstanding`](Self::outstanding)
/// tells how many are queued or running.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use rsatls::tokio::KeyPool;
/// let pool = KeyPool::new(2)?;
/// assert_eq!(pool.threads(), 2);
/// assert_eq!(pool.outstanding(), 0);
/// # Ok(())
/// # }
/// ```
///
/// [`ServerConfig::with_private_key_offload`]: crate::ServerConfig::with_private_key_offload
#[derive(Clone)]
pub struct KeyPool {
    inner: Arc<Inner>,
}

struct Inner {
    /// Dropped with the last clone: the threads then see the queue closed.
    queue: mpsc::Sender<Job>,
    threads: usize,
    outstanding: Arc<AtomicUsize>,
}

/// An operation and where its answer goes.
struct Job {
    op: PrivateKeyOperation,
    reply: oneshot::Sender<KeyResult>,
}

/// The most threads a pool may have: far more than any machine's cores.
pub const MAX_KEY_THREADS: usize = 1024;

impl KeyPool {
    /// Starts `threads` threads (1 to [`MAX_KEY_THREADS`]).
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a count out of range, or the
    /// operating system's error if a thread cannot be started (those already
    /// started then end).
    pub fn new(threads: usize) -> io::Result<Self> {
        if !(1..=MAX_KEY_THREADS).contains(&threads) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a key pool has 1 to {MAX_KEY_THREADS} threads, not {threads}"),
            ));
        }
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let outstanding = Arc::new(AtomicUsize::new(0));
        for n in 0..threads {
            let jobs = jobs.clone();
            let outstanding = outstanding.clone();
            std::thread::Builder::new()
                .name(format!("rsatls-key-{n}"))
                .spawn(move || work(&jobs, &outstanding))?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                queue,
                threads,
                outstanding,
            }),
        })
    }

    /// A pool with one thread per core (`std::thread::available_parallelism`,
    /// 1 if unknown).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn per_core() -> io::Result<Self> {
        Self::new(
            std::thread::available_parallelism()
                .map(NonZeroUsize::get)
                .unwrap_or(1)
                .min(MAX_KEY_THREADS),
        )
    }

    /// The process's shared pool, one thread per core, started on first use:
    /// what a [`TlsStream`](super::TlsStream) without a pool of its own uses.
    ///
    /// # Errors
    /// As [`new`](Self::new), if it is not started yet and cannot be.
    pub fn shared() -> io::Result<Self> {
        static SHARED: Mutex<Option<KeyPool>> = Mutex::new(None);
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = shared.as_ref() {
            return Ok(pool.clone());
        }
        let pool = Self::per_core()?;
        *shared = Some(pool.clone());
        Ok(pool)
    }

    /// How many threads the pool has.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// How many operations are queued or running.
    pub fn outstanding(&self) -> usize {
        self.inner.outstanding.load(Ordering::SeqCst)
    }

    /// Queues `op`; the answer comes on the returned channel. If no thread is
    /// left to take it, the answer is a failure at once (the engine then
    /// treats it as an invalid ClientKeyExchange).
    pub(crate) fn submit(&self, op: PrivateKeyOperation) -> oneshot::Receiver<KeyResult> {
        let (reply, answer) = oneshot::channel();
        self.inner.outstanding.fetch_add(1, Ordering::SeqCst);
        if let Err(mpsc::SendError(job)) = self.inner.queue.send(Job { op, reply }) {
            self.inner.outstanding.fetch_sub(1, Ordering::SeqCst);
            // Dropped unsent if the stream is gone already.
            let _ = job.reply.send(Err(CryptoError));
        }
        answer
    }
}

impl core::fmt::Debug for KeyPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyPool")
            .field("threads", &self.threads())
            .field("outstanding", &self.outstanding())
            .finish()
    }
}

/// A pool thread: takes operations until the queue closes.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>, outstanding: &AtomicUsize) {
    loop {
        // One thread waits in `recv`, the others for the lock.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(Job { op, reply }) = job else {
            return;
        };
        // A connection that is gone needs no answer: skip the operation (a
        // flood of handshakes that disconnect costs no RSA).
        let result = match reply.is_closed() {
            true => None,
            // A key implementation that panics fails this handshake, not the
            // thread (and so not every later handshake).
            false => Some(catch_unwind(AssertUnwindSafe(|| op.run())).unwrap_or(Err(CryptoError))),
        };
        drop(op);
        // Done before the answer goes, so that whoever has the answer sees
        // the operation counted out.
        outstanding.fetch_sub(1, Ordering::SeqCst);
        if let Some(result) = result {
            // The connection may have died meanwhile: the result is then
            // dropped here, and zeroized.
            let _ = reply.send(result);
        }
    }
}
