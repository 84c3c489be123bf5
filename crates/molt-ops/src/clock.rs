//! Wall-clock time for operations, behind a trait: production reads the system
//! clock, tests move a [`FakeClock`] by hand (a simulated week runs in
//! milliseconds, and no test depends on timing).

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<Mutex<DateTime<Utc>>>);

impl FakeClock {
    pub fn at(start: DateTime<Utc>) -> FakeClock {
        FakeClock(Arc::new(Mutex::new(start)))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339); panics on anything else (a test's typo).
    pub fn at_rfc3339(start: &str) -> FakeClock {
        let t = DateTime::parse_from_rfc3339(start).unwrap_or_else(|e| panic!("{start}: {e}"));
        FakeClock::at(t.with_timezone(&Utc))
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fake_clock_moves_only_when_told_and_clones_share_it() {
        let clock = FakeClock::at_rfc3339("2026-11-20T18:00:00Z");
        let other = clock.clone();
        let start = clock.now();
        clock.advance(chrono::Duration::days(2));
        assert_eq!(other.now() - start, chrono::Duration::days(2));
    }
}
