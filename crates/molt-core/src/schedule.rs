//! Scheduled work (issue 8, DESIGN §10): the stored state of a schedule and its
//! runs, as the store and molt-ops' scheduler exchange them. What a schedule's
//! text means (`every 60s`, `daily 20:00`, `weekly fri 18:00`) is molt-ops'
//! business; the store keeps the text and the times it is given.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What happens to the due times that passed while no scheduler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CatchUp {
    /// One run now, for the newest missed due time; the others are counted on that run.
    #[serde(rename = "run-once")]
    RunOnce,
    /// No run for the missed due times: they are recorded as skipped, with their count.
    #[serde(rename = "skip")]
    Skip,
}

impl CatchUp {
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::RunOnce => "run-once",
            CatchUp::Skip => "skip",
        }
    }
}

impl fmt::Display for CatchUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CatchUp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "run-once" => Ok(CatchUp::RunOnce),
            "skip" => Ok(CatchUp::Skip),
            other => Err(format!("unknown catch-up policy `{other}` (expected `run-once` or `skip`)")),
        }
    }
}

/// How a run ended (`Running` until it does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    /// Missed due times passed over (policy `skip`); no job ran.
    Skipped,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Skipped => "skipped",
        }
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(RunOutcome::Running),
            "succeeded" => Ok(RunOutcome::Succeeded),
            "failed" => Ok(RunOutcome::Failed),
            "skipped" => Ok(RunOutcome::Skipped),
            other => Err(format!("unknown run outcome `{other}`")),
        }
    }
}

/// A stored schedule: its definition, when it is next due, how its last run
/// went, and who holds its lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    /// The schedule's text, e.g. `daily 20:00`.
    pub spec: String,
    pub catch_up: CatchUp,
    pub enabled: bool,
    pub next_due_at: DateTime<Utc>,
    /// The due time of the last run (or of the newest due time skipped).
    pub last_due_at: Option<DateTime<Utc>>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<RunOutcome>,
    /// Why the last run failed (cleared by a success).
    pub last_error: Option<String>,
    /// Failed runs since the last success.
    pub consecutive_failures: u32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One run of a schedule, or one catch-up decision (outcome `Skipped`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRun {
    pub id: i64,
    pub schedule: String,
    /// The due time this run is for (for a run by hand: when it was asked for).
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    /// Due times missed and not run: on a `run-once` catch-up run, the older
    /// ones it stands in for; on a `Skipped` row, the ones passed over.
    pub missed: u64,
    /// The job's summary, or its error.
    pub detail: Option<String>,
}

/// What molt-store's `ScheduleStore::ensure_schedule` did with a schedule the
/// code defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Ensured {
    Created,
    /// The text or the policy changed in the code; the stored runs are kept.
    /// When the text changed, the next due time was recomputed.
    Updated {
        previous_spec: String,
        previous_catch_up: CatchUp,
    },
    Unchanged,
}

/// A schedule whose lease a scheduler just took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedSchedule {
    /// As it stands after the claim (the lease is the claimer's).
    pub schedule: Schedule,
    /// The previous holder, when its lease had expired without it finishing.
    pub taken_over_from: Option<String>,
    /// The run that holder left unfinished, now closed as failed.
    pub interrupted_run: Option<i64>,
}

/// How a run ended, for the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum RunEnd {
    Succeeded { detail: String },
    Failed { error: String },
}

/// A scheduler asks for leases: on the due schedules among `names`, or (a run
/// by hand, `due_only: false`) on them whatever their due time. A schedule
/// whose lease another holder has not let expire is never taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleClaim {
    /// The schedules this scheduler can run (the ones its code registers).
    pub names: Vec<String>,
    pub due_only: bool,
    pub owner: String,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// Missed due times passed over (policy `skip`), recorded as one `Skipped` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSkip {
    /// The newest due time passed over.
    pub due_at: DateTime<Utc>,
    /// How many due times were passed over.
    pub missed: u64,
    pub detail: String,
    /// `Some`: no run follows; the lease is released and the schedule is next
    /// due then. `None`: the holder keeps the lease for a run that follows.
    pub next_due: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_outcomes_print_and_parse() {
        for p in [CatchUp::RunOnce, CatchUp::Skip] {
            assert_eq!(p.to_string().parse::<CatchUp>().unwrap(), p);
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(p.as_str()));
        }
        for o in [RunOutcome::Running, RunOutcome::Succeeded, RunOutcome::Failed, RunOutcome::Skipped] {
            assert_eq!(o.as_str().parse::<RunOutcome>().unwrap(), o);
        }
        assert!("runonce".parse::<CatchUp>().unwrap_err().contains("`run-once` or `skip`"));
    }
}
