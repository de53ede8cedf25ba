//! The accept loop every server subcommand (`serve`, `proxy`, `tunnel`) runs,
//! generic over what is done with each connection. It knows nothing of TLS:
//! that is the handler's business (`tls_server.rs` for the TLS servers).
//!
//! - One task per connection on a multi-threaded runtime; the handler's
//!   [`ConnectionLog`] is emitted when it returns, whatever happened, and a
//!   failure (or panic) of one connection never ends the process.
//! - At most `max_connections` at once: the next accept waits for a free slot,
//!   so excess clients wait in the kernel's accept queue (their TCP handshake
//!   completes, their TLS handshake waits) rather than being refused.
//! - An accept error (out of file descriptors, say) is logged and retried
//!   after [`ACCEPT_ERROR_BACKOFF`].
//! - SIGTERM or SIGINT stops accepting and tells every handler through its
//!   [`Stop`] (the TLS handlers then send close_notify); they have
//!   [`SHUTDOWN_GRACE`] to finish, then the rest are dropped; the loop returns
//!   `Ok` (exit 0).
//! - SIGHUP runs the reload hook, if any, off the runtime's worker threads.
//!
//! ```text
//! let server = Server::bind(&listen).await?;     // signals are caught from here on
//! announce(server.local_addr(), Some(&pin));      // stdout: listening on / pin
//! server.run(max, Some(reload_hook), move |conn: Accepted| async move {
//!     let mut log = ConnectionLog::new(conn.peer);
//!     /* serve conn.sock; conn.stop.stopped() resolves on SIGTERM/SIGINT */
//!     log
//! }).await
//! ```

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::Failure;
use super::log::ConnectionLog;

/// After SIGTERM/SIGINT, connections have this long to finish closing.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// After an accept error, wait this long before the next accept rather than
/// spin on the same error.
pub(crate) const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// What SIGHUP runs: a reload of certificates and keys, say. It runs on a
/// blocking thread, so it may read files and parse keys.
pub(crate) type Reload = Arc<dyn Fn() + Send + Sync>;

/// Runs `main` on a new multi-threaded tokio runtime.
pub(crate) fn block_on<F: Future<Output = Result<(), Failure>>>(main: F) -> Result<(), Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("runtime: {e}")))?
        .block_on(main)
}

/// A usage error unless `listen` is HOST:PORT (an IP address or a name, and a
/// port number), so that a typo is reported before any key is loaded or made.
pub(crate) fn check_listen(listen: &str) -> Result<(), Failure> {
    if listen.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = || {
        Failure::Usage(format!(
            "--listen `{listen}` is not HOST:PORT (e.g. 127.0.0.1:4433, [::1]:4433, localhost:0)"
        ))
    };
    let (host, port) = listen.rsplit_once(':').ok_or_else(bad)?;
    // A bare IPv6 address without brackets (`::1:4433`) is ambiguous.
    if host.is_empty() || host.contains(':') || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    port.parse::<u16>().map(drop).map_err(|_| bad())
}

/// Prints the lines scripts wait for on stdout: `listening on ADDR`, then
/// `pin PIN` when there is a server key.
pub(crate) fn announce(local: SocketAddr, pin: Option<&str>) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "listening on {local}");
    if let Some(pin) = pin {
        let _ = writeln!(out, "pin {pin}");
    }
    let _ = out.flush();
}

/// One accepted connection, handed to the handler.
pub(crate) struct Accepted {
    /// The client's socket (TCP_NODELAY already set when possible).
    pub(crate) sock: TcpStream,
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// Resolves when the server is stopping.
    pub(crate) stop: Stop,
}

/// Tells a handler that the server is stopping (SIGTERM/SIGINT).
#[derive(Clone)]
pub(crate) struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once the server is stopping (at once if it already is).
    pub(crate) async fn stopped(&mut self) {
        // An error means the loop is gone: that is a stop too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// A bound listener, with the signals the loop answers already caught (so a
/// SIGTERM right after the `listening on` line cannot kill the process
/// uncleanly).
pub(crate) struct Server {
    listener: TcpListener,
    local: SocketAddr,
    signals: Signals,
}

impl Server {
    /// Binds `listen` and catches SIGTERM, SIGINT and SIGHUP.
    pub(crate) async fn bind(listen: &str) -> Result<Self, Failure> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| Failure::Runtime(format!("bind {listen}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        let signals = Signals::new().map_err(|e| Failure::Runtime(format!("signals: {e}")))?;
        Ok(Self {
            listener,
            local,
            signals,
        })
    }

    /// The address bound (the port chosen, for `--listen ...:0`).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Accepts until SIGTERM/SIGINT, running `handler` on each connection in a
    /// task of its own and emitting the log it returns; see the module doc.
    pub(crate) async fn run<H, F>(
        self,
        max_connections: usize,
        reload: Option<Reload>,
        handler: H,
    ) -> Result<(), Failure>
    where
        H: Fn(Accepted) -> F + Send + Sync + 'static,
        F: Future<Output = ConnectionLog> + Send + 'static,
    {
        let Self {
            listener,
            mut signals,
            ..
        } = self;
        let slots = Arc::new(Semaphore::new(max_connections.max(1)));
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        loop {
            // The cap: no accept until a slot is free (excess clients queue in the kernel).
            let slot = tokio::select! {
                signal = signals.recv() => match signal {
                    Caught::Stop => break,
                    Caught::Hangup => { hangup(reload.as_ref()); continue }
                },
                slot = slots.clone().acquire_owned() => slot,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                signal = signals.recv() => match signal {
                    Caught::Stop => break,
                    Caught::Hangup => { hangup(reload.as_ref()); continue }
                },
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((sock, peer)) => {
                    // Small writes (handshake flights, echoes) go out at once.
                    let _ = sock.set_nodelay(true);
                    let stop = Stop(stopped.clone());
                    let served = handler(Accepted { sock, peer, stop });
                    tasks.spawn(async move {
                        served.await.emit();
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; retrying");
                    drop(slot);
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            }
            // Reap finished tasks so the set holds live connections only (a
            // task that panicked is reaped too; the process goes on).
            while let Some(done) = tasks.try_join_next() {
                log_panic(done);
            }
        }
        while let Some(done) = tasks.try_join_next() {
            log_panic(done);
        }
        tracing::info!(connections = tasks.len(), "shutting down");
        drop(listener);
        let _ = stop.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while let Some(done) = tasks.join_next().await {
                log_panic(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                connections = tasks.len(),
                "still open {}s after the stop; dropping them",
                SHUTDOWN_GRACE.as_secs()
            );
            tasks.shutdown().await;
        }
        Ok(())
    }
}

/// SIGHUP: the reload hook on a blocking thread (it reads files and parses
/// keys), or a note that there is nothing to reload.
fn hangup(reload: Option<&Reload>) {
    match reload {
        Some(reload) => {
            let reload = reload.clone();
            drop(tokio::task::spawn_blocking(move || reload()));
        }
        None => tracing::info!("SIGHUP: nothing to reload"),
    }
}

/// A connection task that panicked is a bug, logged; the server goes on.
fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!("a connection task panicked; the server goes on");
    }
}

/// What [`Signals::recv`] caught.
#[derive(Debug, PartialEq, Eq)]
enum Caught {
    /// SIGTERM or SIGINT.
    Stop,
    /// SIGHUP.
    Hangup,
}

/// SIGTERM and SIGINT (stop), SIGHUP (reload).
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) -> Caught {
        tokio::select! {
            _ = self.term.recv() => Caught::Stop,
            _ = self.int.recv() => Caught::Stop,
            _ = self.hup.recv() => Caught::Hangup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        for good in [
            "127.0.0.1:4433",
            "[::1]:0",
            "localhost:0",
            "example.org:443",
        ] {
            assert!(check_listen(good).is_ok(), "{good}");
        }
        for bad in [
            "4433",
            "::1:4433",
            ":4433",
            "localhost:",
            "host:99999",
            "a b:1",
        ] {
            assert!(matches!(check_listen(bad), Err(Failure::Usage(_))), "{bad}");
        }
    }
}
