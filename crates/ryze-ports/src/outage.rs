//! Whether a shared backend behind a port (the Redis of the rate limiter or of the
//! Chatwoot call budget) is failing, so that an outage is logged once when it starts and
//! once when it ends, rather than once per call (a shared Redis that goes away would
//! otherwise write a line for every request served).

use std::sync::atomic::{AtomicBool, Ordering};

/// Remembers whether the last call to a backend failed.
#[derive(Debug, Default)]
pub struct OutageLatch(AtomicBool);

impl OutageLatch {
    /// A latch with no outage going on.
    pub const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// Records a failed call; true when it starts an outage.
    pub fn failed(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }

    /// Records an answered call; true when it ends an outage.
    pub fn answered(&self) -> bool {
        self.0.load(Ordering::Relaxed) && self.0.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_reported_once_when_it_starts_and_once_when_it_ends() {
        let outage = OutageLatch::new();
        assert!(!outage.answered(), "no outage to end while it answers");
        assert!(outage.failed(), "the first failure starts the outage");
        assert!(
            !outage.failed(),
            "later failures of the same outage are not reported"
        );
        assert!(!outage.failed());
        assert!(outage.answered(), "the first answer ends it");
        assert!(!outage.answered());
        assert!(outage.failed(), "a new outage is reported again");
    }
}
