//! Retention (issue 8 "Archiving"): how old operational records may get before
//! the daily `retention` schedule deletes them, and what it deleted.

use serde::Serialize;

/// Rows older than these UTC stamps (`YYYY-MM-DDTHH:MM:SS.fffZ`, the caller's
/// clock) are deleted; `None` keeps a table as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionCutoffs {
    /// Succeeded and cancelled jobs that finished before this (failed jobs are kept).
    pub jobs: Option<String>,
    /// Logged queries made before this.
    pub query_log: Option<String>,
    /// Finished scheduler runs and skips started before this (running ones are kept).
    pub schedule_runs: Option<String>,
    /// Alert notices delivered before this, then resolved alerts resolved
    /// before this with no notice left. Pending notices and firing alerts are kept.
    pub alert_notices: Option<String>,
}

/// How many rows each table lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PruneCounts {
    pub jobs: u64,
    pub query_log: u64,
    pub schedule_runs: u64,
    pub alert_deliveries: u64,
    pub alerts: u64,
}

impl PruneCounts {
    pub fn total(&self) -> u64 {
        self.jobs + self.query_log + self.schedule_runs + self.alert_deliveries + self.alerts
    }
}

/// Deletes old operational rows. Blocking, like the other operational stores.
pub trait RetentionStore: Send + Sync {
    /// Every cutoff applied in one transaction (parameterised deletes).
    fn prune_older_than(&self, cutoffs: &RetentionCutoffs) -> crate::StoreResult<PruneCounts>;
}
