//! What the scheduler and the monitor need from alerting, as a trait: they
//! raise an alert when a condition holds and resolve it when it clears, and
//! the alert service (`alerts`) deduplicates, applies the cooldown and
//! queues the deliveries. Tests can record the calls instead.

use serde::{Deserialize, Serialize};

/// The severity is a domain type: the store keeps it with the alert.
pub use molt_core::alerts::Severity;

/// A condition that holds now. `key` identifies the condition (e.g.
/// `queue_depth`, `schedule_failing:daily_summary`): raising the same key
/// again while it fires is the same alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raise {
    pub key: String,
    pub severity: Severity,
    /// One line for a human, with the figures that triggered it. No secrets or
    /// personal data.
    pub summary: String,
    pub details: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
#[error("alerting failed: {0}")]
pub struct AlertError(pub String);

pub trait AlertSink: Send + Sync {
    /// The condition holds (again).
    fn raise(&self, alert: Raise) -> Result<(), AlertError>;
    /// The condition has cleared; nothing happens when no alert fires for `key`.
    fn resolve(&self, key: &str) -> Result<(), AlertError>;
}
