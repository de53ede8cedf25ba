//! The session cache shared by every decoder of one capture.

use std::collections::{HashMap, VecDeque};

use zeroize::Zeroizing;

use crate::key_schedule::SECRET_LEN;
use crate::msgs::enums::CipherSuite;

/// What resuming a session needs: its master secret and the suite it was
/// derived for. The master is used as is (RFC 7627 §5.3: a session keeps the
/// extended master secret it was created with).
pub(super) struct CachedSession {
    pub(super) master: Zeroizing<[u8; SECRET_LEN]>,
    pub(super) suite: CipherSuite,
}

impl CachedSession {
    pub(super) fn copy(&self) -> Self {
        Self {
            master: Zeroizing::new(*self.master),
            suite: self.suite,
        }
    }
}

/// A bounded map whose oldest entries are dropped first.
pub(super) struct Bounded<K> {
    map: HashMap<K, CachedSession>,
    order: VecDeque<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Bounded<K> {
    pub(super) fn new() -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub(super) fn get(&self, key: &K) -> Option<&CachedSession> {
        self.map.get(key)
    }

    pub(super) fn insert(&mut self, key: K, session: CachedSession, capacity: usize) {
        if capacity == 0 {
            return;
        }
        if self.map.insert(key.clone(), session).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&oldest);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}
