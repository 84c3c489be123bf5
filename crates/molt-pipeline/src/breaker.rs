//! A circuit breaker per (provider, model). After `threshold` consecutive
//! failures the circuit opens and calls go to the next provider; after the
//! cooldown one trial call is let through (half-open): success closes the
//! circuit, failure opens it again.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            opened_at: None,
            trial_in_flight: false,
        }
    }

    pub fn state(&self, now: Instant) -> CircuitState {
        match self.opened_at {
            None => CircuitState::Closed,
            Some(at) if now.duration_since(at) >= self.cooldown => CircuitState::HalfOpen,
            Some(_) => CircuitState::Open,
        }
    }

    /// May a call go through now? In half-open state only one trial at a time.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state(now) {
            CircuitState::Closed => true,
            CircuitState::Open => false,
            CircuitState::HalfOpen if self.trial_in_flight => false,
            CircuitState::HalfOpen => {
                self.trial_in_flight = true;
                true
            }
        }
    }

    pub fn success(&mut self) {
        self.failures = 0;
        self.opened_at = None;
        self.trial_in_flight = false;
    }

    /// A half-open trial that never reached the provider (e.g. rate limited
    /// locally) must not block the next trial.
    pub fn release_trial(&mut self) {
        self.trial_in_flight = false;
    }

    /// Returns true when this failure opened (or re-opened) the circuit.
    pub fn failure(&mut self, now: Instant) -> bool {
        self.trial_in_flight = false;
        self.failures += 1;
        let reopen = self.opened_at.is_some();
        if reopen || self.failures >= self.threshold {
            self.opened_at = Some(now);
            return true;
        }
        false
    }

    /// Open at once, e.g. after repeated rate limiting.
    pub fn trip(&mut self, now: Instant) {
        self.failures = self.failures.max(self.threshold);
        self.opened_at = Some(now);
        self.trial_in_flight = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_closes_after_a_good_trial() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(30));
        assert!(!b.failure(t0) && !b.failure(t0));
        assert!(b.failure(t0), "third failure opens");
        assert!(!b.allow(t0 + Duration::from_secs(10)));
        let later = t0 + Duration::from_secs(31);
        assert_eq!(b.state(later), CircuitState::HalfOpen);
        assert!(b.allow(later), "one trial");
        assert!(!b.allow(later), "only one trial at a time");
        b.success();
        assert_eq!(b.state(later), CircuitState::Closed);
    }

    #[test]
    fn a_failed_trial_reopens() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, Duration::from_secs(5));
        b.failure(t0);
        let later = t0 + Duration::from_secs(6);
        assert!(b.allow(later));
        assert!(b.failure(later));
        assert_eq!(b.state(later + Duration::from_secs(1)), CircuitState::Open);
    }
}
