//! Wall-clock time for operations, behind a trait: production reads the system
//! clock, tests move a `FakeClock` (feature `test-support`) by hand (a simulated week runs in
//! milliseconds, and no test depends on timing).

use chrono::{DateTime, Utc};

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
