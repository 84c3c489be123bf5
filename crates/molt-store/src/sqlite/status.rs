//! Where a song is: the reads behind a status answer (issue 7), in one read
//! transaction so the song, its stages, its job and the queue come from the
//! same snapshot. Every lookup is indexed; none grows with the catalogue:
//!
//! - the song and its accepted outputs: primary keys;
//! - its live job: `jobs_unique_live` (the four stage keys);
//! - its newest run: `stage_runs_song`;
//! - jobs ahead of a queued one: two ranges of `jobs_queued`, plus a row read
//!   per job ahead for its stage, so the cost follows the number ahead (not
//!   benchmarked);
//! - jobs running: `jobs_running_lease`;
//! - recent durations: `stage_runs_succeeded` (migration `…000008`), at most
//!   `history` rows per stage however many runs the studio has made.

use super::catalog;
use crate::error::StoreResult;
use crate::repo::{LiveJob, RunBrief, SongProgress};
use molt_core::jobs::stage_job_key;
use molt_core::Stage;
use rusqlite::{params, Connection, OptionalExtension};

pub fn song_progress(conn: &Connection, song_id: i64, history: usize) -> StoreResult<Option<SongProgress>> {
    // A deferred transaction: the snapshot is taken at the first read and held to the end.
    let tx = conn.unchecked_transaction()?;
    let as_of: String = tx.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |r| r.get(0))?;
    let Some(song) = catalog::get_song(&tx, song_id)? else { return Ok(None) };
    let job = live_job(&tx, song_id, &as_of)?;
    let ahead = match &job {
        Some(j) if j.state == molt_core::jobs::JobState::Queued => jobs_ahead(&tx, j.id, &as_of)?,
        _ => Vec::new(),
    };
    let progress = SongProgress {
        done: done_stages(&tx, song_id)?,
        last_run: last_run(&tx, song_id, &as_of)?,
        running_jobs: tx
            .prepare_cached("SELECT count(*) FROM jobs WHERE state = 'running'")?
            .query_row([], |r| r.get(0))?,
        history: Stage::ORDER
            .into_iter()
            .map(|stage| Ok((stage, recent_durations(&tx, stage, history)?)))
            .collect::<StoreResult<_>>()?,
        song,
        job,
        ahead,
        as_of,
    };
    tx.commit()?;
    Ok(Some(progress))
}

fn done_stages(conn: &Connection, song_id: i64) -> StoreResult<Vec<Stage>> {
    let mut stmt = conn.prepare_cached("SELECT stage FROM stage_outputs WHERE song_id = ?1")?;
    let names = stmt.query_map([song_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(Stage::ORDER.into_iter().filter(|s| names.iter().any(|n| n == s.as_str())).collect())
}

/// SQL for the milliseconds from stamp `from` to stamp `to`, floored at 0.
fn ms_between(from: &str, to: &str) -> String {
    format!("CAST(max(0, round((julianday({to}) - julianday({from})) * 86400000)) AS INTEGER)")
}

fn live_job(conn: &Connection, song_id: i64, now: &str) -> StoreResult<Option<LiveJob>> {
    let keys: Vec<String> = Stage::ORDER.into_iter().map(|s| stage_job_key(song_id, s)).collect();
    let sql = format!(
        "SELECT id, stage, state, attempt, max_attempts, last_error, {} FROM jobs
         WHERE unique_key IN (?1, ?2, ?3, ?4) AND state IN ('queued', 'running')
         ORDER BY id DESC LIMIT 1",
        ms_between("?5", "run_at")
    );
    let job = conn
        .prepare_cached(&sql)?
        .query_row(params![keys[0], keys[1], keys[2], keys[3], now], |r| {
            let stage: String = r.get(1)?;
            let state: String = r.get(2)?;
            Ok((stage, state, r.get(0)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
    Ok(job.and_then(|(stage, state, id, attempt, max_attempts, last_error, due_in_ms)| {
        Some(LiveJob {
            id,
            stage: stage.parse().ok()?,
            state: state.parse().ok()?,
            attempt,
            max_attempts,
            last_error,
            due_in_ms,
        })
    }))
}

/// Due jobs a worker would claim before job `id` (`claim` orders by priority, then id).
/// Two index ranges, not one `(priority, id) <` comparison: SQLite would range
/// over the priority alone and walk every job of the same priority, even those behind.
fn jobs_ahead(conn: &Connection, id: i64, now: &str) -> StoreResult<Vec<(Option<Stage>, u64)>> {
    let priority: i64 =
        conn.prepare_cached("SELECT priority FROM jobs WHERE id = ?1")?.query_row([id], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT stage, count(*) FROM (
             SELECT stage FROM jobs WHERE state = 'queued' AND priority < ?2 AND run_at <= ?3
             UNION ALL
             SELECT stage FROM jobs WHERE state = 'queued' AND priority = ?2 AND id < ?1 AND run_at <= ?3)
         GROUP BY stage",
    )?;
    let rows =
        stmt.query_map(params![id, priority, now], |r| Ok((r.get::<_, Option<String>>(0)?, r.get(1)?)))?;
    Ok(rows
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|(stage, n)| (stage.and_then(|s| s.parse().ok()), n))
        .collect())
}

fn last_run(conn: &Connection, song_id: i64, now: &str) -> StoreResult<Option<RunBrief>> {
    let sql = format!(
        "SELECT stage, attempt, state, error, error_class,
                CASE WHEN state = 'running' THEN {} END
         FROM stage_runs WHERE song_id = ?1 ORDER BY id DESC LIMIT 1",
        ms_between("started_at", "?2")
    );
    let run = conn
        .prepare_cached(&sql)?
        .query_row(params![song_id, now], |r| {
            let stage: String = r.get(0)?;
            Ok((stage, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    Ok(run.and_then(|(stage, attempt, state, error, error_class, running_ms)| {
        Some(RunBrief { stage: stage.parse().ok()?, attempt, state, error, error_class, running_ms })
    }))
}

fn recent_durations(conn: &Connection, stage: Stage, limit: usize) -> StoreResult<Vec<u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT duration_ms FROM stage_runs
         WHERE stage = ?1 AND state = 'succeeded' AND duration_ms IS NOT NULL
         ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![stage.as_str(), limit as i64], |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?.into_iter().map(|ms| ms.max(0) as u64).collect())
}
