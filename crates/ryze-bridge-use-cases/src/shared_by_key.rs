//! Values shared by everyone who asks for the same key while one of them still holds
//! it, and forgotten once nobody does: the per-key locks of activations, and the
//! per-integration concurrency budgets of the relay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// A map from keys to values held by their users only (`Weak` here).
pub(crate) struct SharedByKey<T> {
    entries: Mutex<HashMap<String, Weak<T>>>,
}

impl<T> Default for SharedByKey<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> SharedByKey<T> {
    /// The value of `key` someone holds now, else a new one from `make`. Entries nobody
    /// holds any more are dropped as new ones are made.
    pub(crate) fn get(&self, key: &str, make: impl FnOnce() -> T) -> Arc<T> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = entries.get(key).and_then(Weak::upgrade) {
            return value;
        }
        entries.retain(|_, value| value.strong_count() > 0);
        let value = Arc::new(make());
        entries.insert(key.to_owned(), Arc::downgrade(&value));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_of_a_key_share_its_value_until_none_holds_it() {
        let shared = SharedByKey::<std::sync::atomic::AtomicUsize>::default();
        let first = shared.get("a", Default::default);
        first.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let second = shared.get("a", Default::default);
        assert_eq!(second.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            shared
                .get("b", Default::default)
                .load(std::sync::atomic::Ordering::SeqCst),
            0
        );
        drop((first, second));
        assert_eq!(
            shared
                .get("a", Default::default)
                .load(std::sync::atomic::Ordering::SeqCst),
            0
        );
    }
}
