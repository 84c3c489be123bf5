//! The durable job queue's vocabulary (DESIGN §5).

use crate::error::ErrorClass;
use crate::song::Stage;
use serde::Serialize;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled]
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| format!("unknown job state `{s}`"))
    }
}

/// A job to enqueue. Lower `priority` runs first.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub song_id: Option<i64>,
    pub stage: Option<Stage>,
    pub priority: i64,
    /// Not before this time (UTC, `YYYY-MM-DDTHH:MM:SS.fffZ`); `None` means now.
    pub run_at: Option<String>,
    pub max_attempts: u32,
    /// While a job with this key is queued or running, no second one is accepted.
    pub unique_key: Option<String>,
    pub payload: serde_json::Value,
}

impl NewJob {
    pub fn new(kind: impl Into<String>) -> NewJob {
        NewJob {
            kind: kind.into(),
            song_id: None,
            stage: None,
            priority: 0,
            run_at: None,
            max_attempts: 5,
            unique_key: None,
            payload: serde_json::Value::Object(Default::default()),
        }
    }

    /// The job that runs `stage` for `song`, unique while live.
    pub fn stage(song_id: i64, stage: Stage) -> NewJob {
        NewJob {
            song_id: Some(song_id),
            stage: Some(stage),
            unique_key: Some(stage_job_key(song_id, stage)),
            ..NewJob::new("stage")
        }
    }
}

/// The unique key of the job that runs `stage` for `song_id`: one live job per
/// (song, stage), and how a song's live job is found without a scan.
pub fn stage_job_key(song_id: i64, stage: Stage) -> String {
    format!("song:{song_id}:{}", stage.as_str())
}

/// A job a worker holds a lease on. `lease_token` must accompany every
/// heartbeat and completion: it is the fence against stale workers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub song_id: Option<i64>,
    pub stage: Option<Stage>,
    pub attempt: u32,
    pub max_attempts: u32,
    pub lease_token: String,
    pub payload: serde_json::Value,
}

/// How a worker finished a job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Succeeded,
    /// Try again at `run_at` (if attempts remain), else fail.
    Retry {
        run_at: String,
        error: String,
        class: ErrorClass,
    },
    /// Give up now.
    Failed {
        error: String,
        class: ErrorClass,
    },
}

/// What the reaper did with expired leases.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReapReport {
    /// Re-queued for another attempt.
    pub requeued: Vec<i64>,
    /// Out of attempts: failed (E003), to be escalated.
    pub failed: Vec<ReapedJob>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReapedJob {
    pub id: i64,
    pub song_id: Option<i64>,
    pub stage: Option<Stage>,
    pub attempt: u32,
}
