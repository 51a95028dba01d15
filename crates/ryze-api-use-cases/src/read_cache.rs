//! The control plane's short-lived read caches, so that a burst of requests does not
//! read the same rows from the store over and over: the principal a token hash resolves
//! to, the instance an account's instance name names, and the stored integration `list`
//! shows. Each answer is kept for [`READ_CACHE_TTL`] at most, in a bounded cache
//! ([`READ_CACHE_CAPACITY`] entries each, `quick_cache`); only things found are kept (a
//! token or an instance created a moment ago is never refused from a cache).
//!
//! Staleness: this process forgets what it changes the moment it changes it (deleting
//! an instance forgets every cached principal and instance, `set` and `delete` forget the
//! integration), so its own answers are never stale. Another API node sharing the
//! database keeps answering from its cache for up to [`READ_CACHE_TTL`]: a deleted
//! instance's token still authenticates there, and `list` there still shows a removed
//! integration, for at most that long (`docs/running-several-nodes.md`).
//!
//! A read that started before an invalidation never puts its (older) answer back: each
//! cache has a generation, bumped by every invalidation, and an answer is kept only if
//! the generation it was read under is still current.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quick_cache::sync::Cache;
use ryze_domain::{
    AccountId, ChatwootIntegration, Instance, InstanceId, InstanceName, Principal, TokenHash,
};
use tokio::time::Instant;

/// How long an answer read from the store is reused.
pub const READ_CACHE_TTL: Duration = Duration::from_secs(1);

/// Entries each cache holds at most (the least used go first).
pub const READ_CACHE_CAPACITY: usize = 10_000;

/// The generation an answer was read under (see [`TtlCache::generation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

/// One bounded cache whose entries expire [`READ_CACHE_TTL`] after they were read.
pub(crate) struct TtlCache<K, V> {
    entries: Cache<K, (V, Instant)>,
    generation: AtomicU64,
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Cache::new(capacity),
            generation: AtomicU64::new(0),
        }
    }

    /// To be taken before reading the store, and handed to [`TtlCache::keep`].
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// The answer read less than [`READ_CACHE_TTL`] ago, if any.
    pub(crate) fn fresh(&self, key: &K) -> Option<V> {
        self.entries
            .get(key)
            .filter(|(_, read_at)| read_at.elapsed() < READ_CACHE_TTL)
            .map(|(value, _)| value)
    }

    /// Keeps an answer read under `generation`, unless something was forgotten since.
    pub(crate) fn keep(&self, key: K, value: V, generation: Generation) {
        if self.generation() != generation {
            return;
        }
        self.entries.insert(key.clone(), (value, Instant::now()));
        // An invalidation that ran between the check and the insert must win.
        if self.generation() != generation {
            self.entries.remove(&key);
        }
    }

    /// Forgets one entry (and turns away answers read before now).
    pub(crate) fn forget(&self, key: &K) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(key);
    }

    /// Forgets every entry (and turns away answers read before now).
    pub(crate) fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }
}

/// The three caches of the control plane, shared by its clones.
pub(crate) struct ReadCaches {
    /// Principal by the hash of the token presented.
    pub(crate) principals: TtlCache<TokenHash, Principal>,
    /// An account's instance by its name.
    pub(crate) instances: TtlCache<(AccountId, InstanceName), Instance>,
    /// The stored integration of an instance, as `list` shows it.
    pub(crate) integrations: TtlCache<InstanceId, ChatwootIntegration>,
}

impl Default for ReadCaches {
    fn default() -> Self {
        Self {
            principals: TtlCache::with_capacity(READ_CACHE_CAPACITY),
            instances: TtlCache::with_capacity(READ_CACHE_CAPACITY),
            integrations: TtlCache::with_capacity(READ_CACHE_CAPACITY),
        }
    }
}

impl ReadCaches {
    /// An instance was deleted: its token, its name and its integration are forgotten
    /// (principals and instances wholesale: deleting is rare, and an instance token's
    /// hash cannot be found from the instance).
    pub(crate) fn forget_instance(&self, instance_id: &InstanceId) {
        self.principals.forget_all();
        self.instances.forget_all();
        self.integrations.forget(instance_id);
    }
}
