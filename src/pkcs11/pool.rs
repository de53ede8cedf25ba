//! A bounded pool of logged-in sessions on one token.
//!
//! A PKCS#11 session runs one operation at a time and is not `Sync`, so each
//! private-key operation takes a session of its own. Sessions are opened on
//! demand up to the pool's size and then reused; a caller that finds all of
//! them busy waits for one. A session that failed in a way that may have
//! broken it (closed, logged out, token gone) is discarded, not reused.

use std::sync::{Condvar, Mutex, MutexGuard};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

pub(super) struct SessionPool {
    ctx: Pkcs11,
    slot: Slot,
    pin: Option<Zeroizing<String>>,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Session>,
    /// Sessions open: idle or lent out.
    open: usize,
}

impl SessionPool {
    /// A pool of at most `max` (at least 1) sessions; `first` becomes its first
    /// idle session.
    pub(super) fn new(
        ctx: Pkcs11,
        slot: Slot,
        pin: Option<Zeroizing<String>>,
        max: usize,
        first: Session,
    ) -> Self {
        Self {
            ctx,
            slot,
            pin,
            max: max.max(1),
            state: Mutex::new(State {
                idle: vec![first],
                open: 1,
            }),
            freed: Condvar::new(),
        }
    }

    /// The pool's size.
    pub(super) fn max(&self) -> usize {
        self.max
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle session, a new one if the pool is not full, or else the next
    /// one given back.
    pub(super) fn take(&self) -> Result<Lease<'_>, CkError> {
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match open_session(
                    &self.ctx,
                    self.slot,
                    self.pin.as_ref().map(|p| p.as_str()),
                ) {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        session: Some(session),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// A read-only session on `slot`, logged in as the user with `pin` when there
/// is one. The login state is the application's, shared by all its sessions
/// on the token: a session opened while another is logged in is already
/// logged in (`CKR_USER_ALREADY_LOGGED_IN`).
pub(super) fn open_session(
    ctx: &Pkcs11,
    slot: Slot,
    pin: Option<&str>,
) -> Result<Session, CkError> {
    let session = ctx.open_ro_session(slot)?;
    if let Some(pin) = pin {
        match session.login(UserType::User, Some(&AuthPin::from(pin))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => (),
            Err(e) => return Err(e),
        }
    }
    Ok(session)
}

/// A session lent out by the pool; given back on drop unless discarded.
pub(super) struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl Lease<'_> {
    pub(super) fn session(&self) -> &Session {
        self.session
            .as_ref()
            .expect("a lease holds its session until dropped")
    }

    /// Closes the session instead of giving it back: after `error` it may no
    /// longer work (closed, logged out, token removed).
    pub(super) fn discard_if_broken(mut self, error: &CkError) {
        let broken = matches!(
            error,
            CkError::Pkcs11(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::UserNotLoggedIn
                    | RvError::DeviceRemoved
                    | RvError::DeviceError
                    | RvError::TokenNotPresent
                    | RvError::CryptokiNotInitialized,
                _
            )
        );
        if broken && let Some(session) = self.session.take() {
            drop(session);
            self.pool.lock().open -= 1;
            self.pool.freed.notify_one();
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.lock().idle.push(session);
            self.pool.freed.notify_one();
        }
    }
}
