//! Operations (issue 8, DESIGN §10), as small named units that read and write
//! the store: each takes the time from a [`Clock`], so a fake clock can drive
//! a simulated week in tests.

pub mod alerting;
pub mod alerts;
pub mod clock;
pub mod disk;
pub mod kpi;
pub mod metrics;
pub mod monitor;
pub mod reports;
pub mod scheduler;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use alerting::{AlertError, AlertSink, Raise, Severity};
pub use alerts::{AlertChannel, AlertSettings, Alerter, DeliveryReport};
pub use clock::{Clock, SystemClock};
pub use scheduler::{
    job_fn, CatchUp, RunReport, ScheduledJob, Scheduler, SchedulerError, SchedulerOptions, Spec,
};
#[cfg(any(test, feature = "test-support"))]
pub use testing::{FakeClock, RecordingSink, SinkCall};

/// Dollars from the store's micro-dollars.
pub(crate) fn usd(micro: i64) -> f64 {
    micro as f64 / 1e6
}
