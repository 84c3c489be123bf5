//! What the health monitor reads and writes (DESIGN §10): the figures of one
//! check, read together, and the stored status reports.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The figures one monitor check needs, read in one store snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpsSnapshot {
    /// Jobs waiting to run.
    pub queue_depth: i64,
    /// The same, per pipeline stage (jobs without a stage under "other").
    pub queued_by_stage: BTreeMap<String, i64>,
    /// Jobs a worker holds now.
    pub running: i64,
    /// Running jobs with no heartbeat since the threshold asked for.
    pub stuck: Vec<StuckJob>,
    /// Songs whose status is `processing`.
    pub songs_processing: i64,
    /// Songs whose last stage (art) succeeded since the day's start.
    pub songs_completed_today: i64,
    /// Spend (settled calls) since the window's start, micro-USD.
    pub cost_micro_usd: i64,
    /// The `per_day` budget, micro-USD, when one is set.
    pub daily_budget_micro_usd: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckJob {
    pub id: i64,
    pub song_id: Option<i64>,
    pub stage: Option<String>,
    /// The last sign of life: the heartbeat, or the claim when there was none.
    pub last_seen_at: String,
}

/// One stored status report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRecord {
    pub id: i64,
    pub at: String,
    pub status: String,
    pub report: serde_json::Value,
}

/// A worker task's row: its name, the process it runs in, and its last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerBeat {
    pub name: String,
    pub process: String,
    pub started_at: String,
    pub heartbeat_at: String,
    pub stopped_at: Option<String>,
}

/// What `/metrics` reads from the store at scrape time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Jobs waiting, per stage ("other" for jobs without one).
    pub queued_by_stage: BTreeMap<String, i64>,
    /// Stage runs per (stage, state).
    pub stage_runs: BTreeMap<(String, String), i64>,
    /// Durations of succeeded runs per stage, in the buckets asked for.
    pub stage_durations: BTreeMap<String, DurationBuckets>,
    /// Settled spend per (service, model, outcome), micro-USD.
    pub cost_micro_usd: BTreeMap<(String, String, String), i64>,
    /// Calls per (service, model, outcome).
    pub calls: BTreeMap<(String, String, String), i64>,
}

/// A histogram's counts: cumulative per upper bound, then the total and the sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationBuckets {
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum_ms: i64,
}
