//! Test doubles for operations (feature `test-support`, and this crate's own
//! unit tests): a clock that moves only when told to, and an alert sink that
//! records the calls. No production build compiles them.

use crate::alerting::{AlertError, AlertSink, Raise};
use crate::clock::Clock;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

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

/// An [`AlertSink`] that remembers the calls, in order (for tests).
#[derive(Debug, Default)]
pub struct RecordingSink {
    calls: Mutex<Vec<SinkCall>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SinkCall {
    Raise(Raise),
    Resolve(String),
}

impl RecordingSink {
    pub fn calls(&self) -> Vec<SinkCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys raised so far, in order, repeats included.
    pub fn raised_keys(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                SinkCall::Raise(r) => Some(r.key),
                SinkCall::Resolve(_) => None,
            })
            .collect()
    }

    fn push(&self, call: SinkCall) {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(call);
    }
}

impl AlertSink for RecordingSink {
    fn raise(&self, alert: Raise) -> Result<(), AlertError> {
        self.push(SinkCall::Raise(alert));
        Ok(())
    }

    fn resolve(&self, key: &str) -> Result<(), AlertError> {
        self.push(SinkCall::Resolve(key.to_string()));
        Ok(())
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
