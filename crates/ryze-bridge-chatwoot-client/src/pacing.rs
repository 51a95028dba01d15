//! The bridge's own [`ChatwootCallBudget`]: one budget per Chatwoot host, kept in this
//! process, shared by every integration on that host.
//!
//! Chatwoot counts each client address's requests in fixed windows (a minute by
//! default, starting at multiples of the window since the epoch) and refuses those past
//! its limit with 429 until the next window. The budget spreads calls so that no span of
//! one window ever holds more than the limit: a GCRA token bucket (the `governor` crate)
//! with a small burst and a steady rate of `(limit - burst) / window`. A short burst is
//! served at once; a longer one waits its turn instead of being refused.
//!
//! When Chatwoot refuses a call anyway (another client behind the same address, a limit
//! lower than configured), the host is closed until Chatwoot's next window, plus a
//! margin for the clocks' difference: retrying sooner would only be refused and counted
//! again.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use ryze_ports::ChatwootCallBudget;
use tokio::time::Instant;

/// Chatwoot's default: `RACK_ATTACK_LIMIT` 3,000 requests a minute per client address.
pub const CHATWOOT_DEFAULT_CALLS_PER_WINDOW: u32 = 3_000;
/// Chatwoot's window: `period: 1.minute`.
pub const CHATWOOT_DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// The limit to stay under, per Chatwoot host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallBudgetSettings {
    /// Calls allowed in one window (set it to the Chatwoot's `RACK_ATTACK_LIMIT`).
    pub calls_per_window: NonZeroU32,
    /// The length of Chatwoot's window.
    pub window: Duration,
}

impl Default for CallBudgetSettings {
    fn default() -> Self {
        Self {
            calls_per_window: NonZeroU32::new(CHATWOOT_DEFAULT_CALLS_PER_WINDOW)
                .unwrap_or(NonZeroU32::MIN),
            window: CHATWOOT_DEFAULT_WINDOW,
        }
    }
}

impl CallBudgetSettings {
    /// Calls served at once before pacing starts: a twentieth of the limit, at least one.
    fn burst(self) -> NonZeroU32 {
        NonZeroU32::new(self.calls_per_window.get() / 20).unwrap_or(NonZeroU32::MIN)
    }

    /// The bucket: `burst` at once, then one call every `window / (limit - burst)`, so
    /// any span of one window holds at most `limit` calls.
    fn quota(self) -> Quota {
        let burst = self.burst();
        let steady = self
            .calls_per_window
            .get()
            .saturating_sub(burst.get())
            .max(1);
        let interval = (self.window / steady).max(Duration::from_micros(1));
        Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }

    /// After a refusal, how long past the start of Chatwoot's next window to wait:
    /// a twentieth of the window, at most a second (the clocks may differ a little).
    fn margin(self) -> Duration {
        (self.window / 20).min(Duration::from_secs(1))
    }
}

/// One budget per host, in this process.
pub struct InProcessCallBudget {
    settings: CallBudgetSettings,
    limiter: DefaultKeyedRateLimiter<String>,
    /// Hosts that refused a call, and when their next window opens.
    closed_until: Mutex<HashMap<String, Instant>>,
}

impl InProcessCallBudget {
    pub fn new(settings: CallBudgetSettings) -> Self {
        Self {
            settings,
            limiter: governor::RateLimiter::keyed(settings.quota()),
            closed_until: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> CallBudgetSettings {
        self.settings
    }

    fn closed_until(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.closed_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long from `since_epoch` until the next window starts (windows start at
    /// multiples of the window since the epoch, as Chatwoot's do).
    fn until_next_window(&self, since_epoch: Duration) -> Duration {
        let window = self.settings.window.as_nanos().max(1);
        let into_window = since_epoch.as_nanos() % window;
        let left = window - into_window;
        Duration::from_nanos(u64::try_from(left).unwrap_or(u64::MAX))
    }
}

impl std::fmt::Debug for InProcessCallBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessCallBudget")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ChatwootCallBudget for InProcessCallBudget {
    async fn take(&self, host: &str) {
        loop {
            let closed = self.closed_until().get(host).copied();
            match closed {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                Some(_) => {
                    self.closed_until().remove(host);
                }
                None => break,
            }
        }
        let host = host.to_owned();
        while let Err(not_until) = self.limiter.check_key(&host) {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            tokio::time::sleep(wait).await;
        }
    }

    async fn exceeded(&self, host: &str) {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let until = Instant::now() + self.until_next_window(since_epoch) + self.settings.margin();
        let mut closed = self.closed_until();
        let entry = closed.entry(host.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
        tracing::warn!(
            host,
            wait_ms = until.saturating_duration_since(Instant::now()).as_millis(),
            "Chatwoot refused a call for exceeding its rate limit: no call to it until its next window"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::{Clock, FakeRelativeClock, Reference};
    use governor::RateLimiter;

    fn settings(calls: u32, window: Duration) -> CallBudgetSettings {
        CallBudgetSettings {
            calls_per_window: NonZeroU32::new(calls).unwrap(),
            window,
        }
    }

    /// The times (from the start) at which `calls` calls, each made as soon as the bucket
    /// lets it, go out.
    fn send_times(settings: CallBudgetSettings, calls: usize) -> Vec<Duration> {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(settings.quota(), clock.clone());
        let started = clock.now();
        let mut times = Vec::new();
        while times.len() < calls {
            match limiter.check() {
                Ok(()) => times.push(clock.now().duration_since(started).into()),
                Err(not_until) => clock.advance(not_until.wait_time_from(clock.now())),
            }
        }
        times
    }

    /// The most calls in any fixed window, wherever the windows start.
    fn most_in_one_window(times: &[Duration], window: Duration) -> usize {
        (0..20)
            .map(|offset| window * offset / 20)
            .map(|offset| {
                let mut counts: HashMap<u128, usize> = HashMap::new();
                for time in times {
                    *counts
                        .entry((*time + offset).as_nanos() / window.as_nanos())
                        .or_default() += 1;
                }
                counts.into_values().max().unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn no_window_ever_holds_more_calls_than_the_limit_and_the_limit_is_used() {
        for (calls, window) in [
            (120, Duration::from_secs(6)),
            (3_000, Duration::from_secs(60)),
            (7, Duration::from_secs(1)),
            (1, Duration::from_secs(60)),
        ] {
            let settings = settings(calls, window);
            let times = send_times(settings, usize::try_from(calls).unwrap() * 5);
            let most = most_in_one_window(&times, window);
            assert!(
                most <= usize::try_from(calls).unwrap(),
                "{calls}/{window:?}: {most}"
            );
            // Five windows' worth goes out in four to six windows: the pace stays near
            // the limit, not far under it.
            let took = *times.last().unwrap();
            assert!(took <= window * 6, "{calls}/{window:?}: {took:?}");
            assert!(took >= window * 4, "{calls}/{window:?}: {took:?}");
        }
    }

    #[test]
    fn a_short_burst_goes_at_once() {
        let times = send_times(settings(3_000, Duration::from_secs(60)), 150);
        assert_eq!(times.last(), Some(&Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_refusal_the_host_waits_for_the_next_window_and_others_do_not() {
        let budget = InProcessCallBudget::new(settings(120, Duration::from_secs(6)));
        budget.exceeded("http://chatwoot.test").await;
        let started = Instant::now();
        budget.take("http://other.test").await;
        assert!(started.elapsed() < Duration::from_millis(10));
        budget.take("http://chatwoot.test").await;
        let waited = started.elapsed();
        // Until the next 6 s boundary of the wall clock, plus the 300 ms margin.
        assert!(waited >= Duration::from_millis(300), "{waited:?}");
        assert!(waited <= Duration::from_millis(6_300), "{waited:?}");
    }

    #[test]
    fn the_next_window_starts_at_a_multiple_of_the_window_since_the_epoch() {
        let budget = InProcessCallBudget::new(settings(120, Duration::from_secs(60)));
        assert_eq!(
            budget.until_next_window(Duration::from_secs(120 + 45)),
            Duration::from_secs(15)
        );
        assert_eq!(
            budget.until_next_window(Duration::from_secs(180)),
            Duration::from_secs(60)
        );
    }
}
