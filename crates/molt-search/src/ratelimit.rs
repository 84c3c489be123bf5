//! Per-caller rate limits for search (DESIGN §9): a token bucket per key (an
//! API token, or the client's address when there is none), sized by the
//! caller's tier (`[search] rate_per_minute_*`).
//!
//! A bucket holds at most a minute's allowance and refills continuously
//! (`rate / 60` a second), so a caller may spend a minute's queries in a
//! burst and then one every `60 / rate` seconds. A refused query is told how
//! many whole seconds until one more is allowed (HTTP `Retry-After`). Time
//! comes from a [`Clock`], so tests can move it by hand.

use crate::tier::Tier;
use molt_core::config::SearchConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Buckets kept before full (idle) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

/// Monotonic time since some fixed start.
pub trait Clock: Send + Sync {
    fn now(&self) -> Duration;
}

/// The real clock.
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock that moves only when told to (for tests).
#[derive(Default)]
pub struct ManualClock(Mutex<Duration>);

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Queries per minute, by tier; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub anonymous: u32,
    pub free: u32,
    pub premium: u32,
    pub staff: u32,
}

impl RateLimits {
    pub fn from_config(config: &SearchConfig) -> RateLimits {
        RateLimits {
            anonymous: config.rate_per_minute_anonymous,
            free: config.rate_per_minute_free,
            premium: config.rate_per_minute_premium,
            staff: config.rate_per_minute_staff,
        }
    }

    pub fn per_minute(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Anonymous => self.anonymous,
            Tier::Free => self.free,
            Tier::Premium => self.premium,
            Tier::Staff => self.staff,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::from_config(&SearchConfig::default())
    }
}

/// A refusal: retry after this many whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

pub struct RateLimiter {
    limits: RateLimits,
    clock: Arc<dyn Clock>,
    /// Per key, the theoretical arrival time of its next query (GCRA, the
    /// token bucket in integer time): exact, no rounding drift.
    buckets: Mutex<HashMap<String, Duration>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits, clock: Arc<dyn Clock>) -> RateLimiter {
        RateLimiter { limits, clock, buckets: Mutex::new(HashMap::new()) }
    }

    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Takes one query from `key`'s bucket, or says how long to wait.
    pub fn check(&self, key: &str, tier: Tier) -> Result<(), RetryAfter> {
        let rate = self.limits.per_minute(tier);
        if rate == 0 {
            return Ok(());
        }
        let interval = Duration::from_secs(60) / rate;
        let burst = Duration::from_secs(60).saturating_sub(interval);
        let now = self.clock.now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, next| *next > now);
        }
        let next = buckets.entry(format!("{tier}:{key}")).or_insert(now);
        let due = (*next).max(now);
        let ahead = due - now;
        if ahead > burst {
            let wait = ahead - burst;
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(RetryAfter(secs.max(1)));
        }
        *next = due + interval;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(anonymous: u32, staff: u32) -> (RateLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        let limits = RateLimits { anonymous, free: anonymous, premium: anonymous, staff };
        (RateLimiter::new(limits, clock.clone()), clock)
    }

    #[test]
    fn a_minutes_allowance_then_one_per_interval() {
        let (limiter, clock) = limiter(3, 0);
        for _ in 0..3 {
            assert_eq!(limiter.check("ip:1", Tier::Anonymous), Ok(()));
        }
        assert_eq!(limiter.check("ip:1", Tier::Anonymous), Err(RetryAfter(20)));
        clock.advance(Duration::from_secs(19));
        assert_eq!(limiter.check("ip:1", Tier::Anonymous), Err(RetryAfter(1)));
        clock.advance(Duration::from_secs(1));
        assert_eq!(limiter.check("ip:1", Tier::Anonymous), Ok(()));
        assert!(limiter.check("ip:1", Tier::Anonymous).is_err());
        // Another key has its own bucket; a tier with no limit is never refused.
        assert_eq!(limiter.check("ip:2", Tier::Anonymous), Ok(()));
        for _ in 0..1000 {
            assert_eq!(limiter.check("token:1", Tier::Staff), Ok(()));
        }
    }

    #[test]
    fn an_idle_bucket_refills_only_to_a_minutes_allowance() {
        let (limiter, clock) = limiter(2, 0);
        clock.advance(Duration::from_secs(3600));
        assert!(limiter.check("k", Tier::Free).is_ok() && limiter.check("k", Tier::Free).is_ok());
        assert_eq!(limiter.check("k", Tier::Free), Err(RetryAfter(30)));
    }
}
