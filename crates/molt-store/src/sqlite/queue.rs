//! The durable job queue (DESIGN §5): batched claims with leases, fencing
//! tokens on every completion, a reaper for expired leases, and pruning.
//! Every function runs inside a writer transaction; `now` is passed in so
//! tests can move time.

use crate::error::{StoreError, StoreResult};
use molt_core::jobs::{ClaimedJob, JobOutcome, JobState, NewJob, ReapReport, ReapedJob};
use molt_core::Stage;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::time::Duration;

/// Whether `enqueue` created a job or found the live one with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Created(i64),
    AlreadyLive(i64),
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::Created(id) | Enqueued::AlreadyLive(id) => id,
        }
    }
}

pub fn enqueue(conn: &Connection, job: &NewJob, now: &str) -> StoreResult<Enqueued> {
    let inserted: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO jobs (kind, song_id, stage, priority, run_at, max_attempts, unique_key, payload, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT DO NOTHING RETURNING id",
        )?
        .query_row(
            params![
                job.kind,
                job.song_id,
                job.stage.map(Stage::as_str),
                job.priority,
                job.run_at.as_deref().unwrap_or(now),
                job.max_attempts.clamp(1, 5),
                job.unique_key,
                job.payload.to_string(),
                now
            ],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = inserted {
        return Ok(Enqueued::Created(id));
    }
    let live: i64 = conn
        .prepare_cached("SELECT id FROM jobs WHERE unique_key = ?1 AND state IN ('queued', 'running')")?
        .query_row([&job.unique_key], |r| r.get(0))?;
    Ok(Enqueued::AlreadyLive(live))
}

fn claimed_from_row(r: &Row<'_>) -> rusqlite::Result<ClaimedJob> {
    let stage: Option<String> = r.get(3)?;
    let payload: String = r.get(7)?;
    Ok(ClaimedJob {
        id: r.get(0)?,
        kind: r.get(1)?,
        song_id: r.get(2)?,
        stage: stage.and_then(|s| s.parse().ok()),
        attempt: r.get(4)?,
        max_attempts: r.get(5)?,
        lease_token: r.get(6)?,
        payload: serde_json::from_str(&payload).unwrap_or_default(),
    })
}

/// Lease up to `limit` due jobs, in priority order, to `owner` until `lease_until`.
/// Each gets `attempt + 1` and a fresh random lease token.
pub fn claim(
    conn: &Connection,
    owner: &str,
    limit: usize,
    now: &str,
    lease_until: &str,
) -> StoreResult<Vec<ClaimedJob>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?1,
             lease_token = lower(hex(randomblob(16))), lease_expires_at = ?2, heartbeat_at = ?3, updated_at = ?3
         WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= ?3 ORDER BY priority, id LIMIT ?4)
         RETURNING id, kind, song_id, stage, attempt, max_attempts, lease_token, payload",
    )?;
    let mut jobs = stmt
        .query_map(params![owner, lease_until, now, limit as i64], claimed_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Extend a lease. False when the token no longer holds the job (it was rescued).
pub fn heartbeat(conn: &Connection, id: i64, token: &str, now: &str, lease_until: &str) -> StoreResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE jobs SET heartbeat_at = ?3, lease_expires_at = ?4, updated_at = ?3
             WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
        )?
        .execute(params![id, token, now, lease_until])?;
    Ok(n == 1)
}

/// Mark jobs succeeded, each fenced by its own token. Returns, per job, whether it was accepted.
pub fn complete(conn: &Connection, done: &[(i64, String)], now: &str) -> StoreResult<Vec<bool>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'succeeded', finished_at = ?3, updated_at = ?3,
             lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
         WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
    )?;
    done.iter().map(|(id, token)| Ok(stmt.execute(params![id, token, now])? == 1)).collect()
}

/// Finish a job with any outcome. `None` when fenced out (a stale worker).
/// A retry becomes a failure once the job is out of attempts.
pub fn finish(
    conn: &Connection,
    id: i64,
    token: &str,
    outcome: &JobOutcome,
    now: &str,
) -> StoreResult<Option<JobState>> {
    let (retry_at, error, class) = match outcome {
        JobOutcome::Succeeded => {
            return Ok(complete(conn, &[(id, token.to_string())], now)?[0].then_some(JobState::Succeeded));
        }
        JobOutcome::Retry { run_at, error, class } => (Some(run_at.as_str()), error, class),
        JobOutcome::Failed { error, class } => (None, error, class),
    };
    let state: Option<String> = conn
        .prepare_cached(
            "UPDATE jobs SET
                 state = CASE WHEN ?3 IS NOT NULL AND attempt < max_attempts THEN 'queued' ELSE 'failed' END,
                 run_at = CASE WHEN ?3 IS NOT NULL AND attempt < max_attempts THEN ?3 ELSE run_at END,
                 finished_at = CASE WHEN ?3 IS NOT NULL AND attempt < max_attempts THEN NULL ELSE ?6 END,
                 last_error = ?4, error_class = ?5, updated_at = ?6,
                 lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
             WHERE id = ?1 AND lease_token = ?2 AND state = 'running'
             RETURNING state",
        )?
        .query_row(params![id, token, retry_at, error, class.as_str(), now], |r| r.get(0))
        .optional()?;
    state.map(|s| s.parse().map_err(StoreError::InvalidState)).transpose()
}

/// Rescue jobs whose lease expired (the worker died or hung): re-queue them,
/// or fail them when they have used every attempt (E003).
pub fn reap(conn: &Connection, now: &str) -> StoreResult<ReapReport> {
    let requeued = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'queued', updated_at = ?1,
                 last_error = 'lease expired: no heartbeat from ' || coalesce(lease_owner, '?'), error_class = 'infrastructure',
                 lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
             WHERE state = 'running' AND lease_expires_at < ?1 AND attempt < max_attempts
             RETURNING id",
        )?
        .query_map([now], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    let failed = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'failed', finished_at = ?1, updated_at = ?1,
                 last_error = 'lease expired after ' || attempt || ' attempts; giving up', error_class = 'infrastructure',
                 lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
             WHERE state = 'running' AND lease_expires_at < ?1 AND attempt >= max_attempts
             RETURNING id, song_id, stage, attempt",
        )?
        .query_map([now], |r| {
            let stage: Option<String> = r.get(2)?;
            Ok(ReapedJob { id: r.get(0)?, song_id: r.get(1)?, stage: stage.and_then(|s| s.parse().ok()), attempt: r.get(3)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReapReport { requeued, failed })
}

/// Delete finished jobs older than `before`. Failed jobs are kept for inspection.
pub fn prune(conn: &Connection, before: &str) -> StoreResult<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM jobs WHERE state IN ('succeeded', 'cancelled') AND finished_at < ?1")?
        .execute([before])?)
}

/// Counts per state, for status reports and the benchmark.
pub fn counts(conn: &Connection) -> StoreResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The queue through the writer thread, with the clock read here.
impl super::SqliteStore {
    pub fn enqueue(&self, job: NewJob) -> StoreResult<Enqueued> {
        self.write(move |c| enqueue(c, &job, &now()))
    }

    /// Enqueue many jobs in one transaction.
    pub fn enqueue_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Enqueued>> {
        self.write(move |c| {
            let now = now();
            jobs.iter().map(|j| enqueue(c, j, &now)).collect()
        })
    }

    pub fn claim(&self, owner: &str, limit: usize, lease: Duration) -> StoreResult<Vec<ClaimedJob>> {
        let owner = owner.to_string();
        self.write(move |c| claim(c, &owner, limit, &now(), &later(lease)))
    }

    pub fn heartbeat(&self, id: i64, token: &str, lease: Duration) -> StoreResult<bool> {
        let token = token.to_string();
        self.write(move |c| heartbeat(c, id, &token, &now(), &later(lease)))
    }

    pub fn complete(&self, done: Vec<(i64, String)>) -> StoreResult<Vec<bool>> {
        self.write(move |c| complete(c, &done, &now()))
    }

    pub fn finish(&self, id: i64, token: &str, outcome: JobOutcome) -> StoreResult<Option<JobState>> {
        let token = token.to_string();
        self.write(move |c| finish(c, id, &token, &outcome, &now()))
    }

    pub fn reap(&self) -> StoreResult<ReapReport> {
        self.write(|c| reap(c, &now()))
    }

    pub fn prune(&self, older_than: Duration) -> StoreResult<usize> {
        let before = molt_core::time::stamp_in(-older_than.as_secs_f64());
        self.write(move |c| prune(c, &before))
    }

    pub fn job_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        self.read(counts)
    }
}

fn now() -> String {
    molt_core::time::now_stamp()
}

fn later(d: Duration) -> String {
    molt_core::time::stamp_in(d.as_secs_f64())
}

/// The live job of a song, if any: its state and when it may run next.
pub fn live_job_for_song(conn: &Connection, song_id: i64) -> StoreResult<Option<(String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT state, run_at FROM jobs WHERE song_id = ?1 AND state IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
        )?
        .query_row([song_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}
