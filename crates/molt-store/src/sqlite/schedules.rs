//! Scheduled work (`schedules`, `schedule_runs`; molt-ops `scheduler`): the
//! schedules the code defines, their leases and their runs. Every write is one
//! writer transaction; every time is the caller's clock (never `now()` in SQL),
//! so a fake clock drives the whole lifecycle in tests.
//!
//! Leases: a scheduler runs a schedule only while it holds its lease, and a
//! claim takes a lease only when nobody holds one that has not expired, so two
//! processes sharing the database never run a schedule twice. Starting,
//! finishing and skipping are fenced by the owner: a holder whose lease was
//! taken over writes nothing.

use super::{bad_text, sql_int};
use crate::error::{StoreError, StoreResult};
use crate::repo::ScheduleStore;
use chrono::{DateTime, Utc};
use molt_core::schedule::{
    CatchUp, ClaimedSchedule, Ensured, RunEnd, RunOutcome, Schedule, ScheduleClaim, ScheduleRun, ScheduleSkip,
};
use molt_core::time::{parse_stamp, stamp};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "name, spec, catch_up, enabled, next_due_at, last_due_at, last_started_at, \
     last_finished_at, last_outcome, last_error, consecutive_failures, lease_owner, lease_expires_at, created_at";

const RUN_COLUMNS: &str = "id, schedule, due_at, started_at, finished_at, outcome, missed, detail";

fn time(r: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = r.get(i)?;
    parse_stamp(&text).ok_or_else(|| bad_text(i, format!("not a UTC stamp: {text:?}")))
}

fn opt_time(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(text) => {
            parse_stamp(&text).map(Some).ok_or_else(|| bad_text(i, format!("not a UTC stamp: {text:?}")))
        }
    }
}

fn parsed<T: std::str::FromStr<Err = String>>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    r.get::<_, String>(i)?.parse().map_err(|e| bad_text(i, e))
}

fn schedule_row(r: &Row<'_>) -> rusqlite::Result<Schedule> {
    Ok(Schedule {
        name: r.get(0)?,
        spec: r.get(1)?,
        catch_up: parsed::<CatchUp>(r, 2)?,
        enabled: r.get::<_, i64>(3)? != 0,
        next_due_at: time(r, 4)?,
        last_due_at: opt_time(r, 5)?,
        last_started_at: opt_time(r, 6)?,
        last_finished_at: opt_time(r, 7)?,
        last_outcome: match r.get::<_, Option<String>>(8)? {
            None => None,
            Some(text) => Some(text.parse::<RunOutcome>().map_err(|e| bad_text(8, e))?),
        },
        last_error: r.get(9)?,
        consecutive_failures: r.get::<_, i64>(10)?.clamp(0, i64::from(u32::MAX)) as u32,
        lease_owner: r.get(11)?,
        lease_expires_at: opt_time(r, 12)?,
        created_at: time(r, 13)?,
    })
}

fn run_row(r: &Row<'_>) -> rusqlite::Result<ScheduleRun> {
    Ok(ScheduleRun {
        id: r.get(0)?,
        schedule: r.get(1)?,
        due_at: time(r, 2)?,
        started_at: time(r, 3)?,
        finished_at: opt_time(r, 4)?,
        outcome: parsed::<RunOutcome>(r, 5)?,
        missed: r.get::<_, i64>(6)?.max(0) as u64,
        detail: r.get(7)?,
    })
}

/// Inserts the schedule when it is missing; when the code changed its text or
/// policy, updates them (the runs are kept) and, for a new text, moves the next
/// due time to `first_due`.
pub(super) fn ensure(
    conn: &Connection,
    name: &str,
    spec: &str,
    catch_up: CatchUp,
    first_due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Ensured> {
    let stored: Option<(String, String)> = conn
        .prepare_cached("SELECT spec, catch_up FROM schedules WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((previous_spec, previous_catch_up)) = stored else {
        conn.prepare_cached(
            "INSERT INTO schedules (name, spec, catch_up, next_due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![name, spec, catch_up.as_str(), stamp(first_due), stamp(now)])?;
        return Ok(Ensured::Created);
    };
    let previous_catch_up: CatchUp = previous_catch_up.parse().map_err(StoreError::InvalidState)?;
    if previous_spec == spec && previous_catch_up == catch_up {
        return Ok(Ensured::Unchanged);
    }
    if previous_spec == spec {
        conn.prepare_cached("UPDATE schedules SET catch_up = ?2 WHERE name = ?1")?
            .execute(params![name, catch_up.as_str()])?;
    } else {
        conn.prepare_cached(
            "UPDATE schedules SET spec = ?2, catch_up = ?3, next_due_at = ?4 WHERE name = ?1",
        )?
        .execute(params![name, spec, catch_up.as_str(), stamp(first_due)])?;
    }
    Ok(Ensured::Updated { previous_spec, previous_catch_up })
}

pub(super) fn list(conn: &Connection) -> StoreResult<Vec<Schedule>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"))?;
    let rows = stmt.query_map([], schedule_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn get(conn: &Connection, name: &str) -> StoreResult<Option<Schedule>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM schedules WHERE name = ?1"))?
        .query_row([name], schedule_row)
        .optional()?)
}

/// The newest `limit` runs of a schedule, newest first.
pub(super) fn runs(conn: &Connection, name: &str, limit: usize) -> StoreResult<Vec<ScheduleRun>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![name, sql_int(limit)], run_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Takes the leases of the schedules `claim` asks for. A lease that expired
/// with its holder's run unfinished is taken over: that run is closed as
/// failed (interrupted), which counts as a failure of the schedule, and its
/// due time stays due, so the new holder runs it again.
pub(super) fn claim(conn: &Connection, claim: &ScheduleClaim) -> StoreResult<Vec<ClaimedSchedule>> {
    let now = stamp(claim.now);
    let names = serde_json::to_string(&claim.names).map_err(|e| StoreError::InvalidState(e.to_string()))?;
    let candidates: Vec<(String, Option<String>, Option<String>)> = conn
        .prepare_cached(
            "SELECT name, lease_owner, lease_expires_at FROM schedules
             WHERE enabled = 1 AND name IN (SELECT value FROM json_each(?1))
               AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= ?2)
               AND (?3 = 0 OR next_due_at <= ?2)
             ORDER BY next_due_at, name",
        )?
        .query_map(params![names, now, claim.due_only], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for (name, previous, expired_at) in candidates {
        let mut interrupted_run = None;
        if let Some(previous) = &previous {
            let detail = format!(
                "interrupted: the lease of {previous} expired at {} before the run finished",
                expired_at.as_deref().unwrap_or("?")
            );
            interrupted_run = conn
                .prepare_cached(
                    "UPDATE schedule_runs SET outcome = 'failed', finished_at = ?2, detail = ?3
                     WHERE schedule = ?1 AND outcome = 'running' RETURNING id",
                )?
                .query_map(params![name, now, detail], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .max();
            if interrupted_run.is_some() {
                conn.prepare_cached(
                    "UPDATE schedules SET consecutive_failures = consecutive_failures + 1,
                         last_outcome = 'failed', last_error = ?2, last_finished_at = ?3
                     WHERE name = ?1",
                )?
                .execute(params![name, detail, now])?;
            }
        }
        let schedule = conn
            .prepare_cached(&format!(
                "UPDATE schedules SET lease_owner = ?2, lease_expires_at = ?3 WHERE name = ?1 RETURNING {COLUMNS}"
            ))?
            .query_row(params![name, claim.owner, stamp(claim.lease_until)], schedule_row)?;
        claimed.push(ClaimedSchedule { schedule, taken_over_from: previous, interrupted_run });
    }
    Ok(claimed)
}

/// Opens a run for the lease holder; `None` when `owner` no longer holds it.
pub(super) fn start(
    conn: &Connection,
    name: &str,
    owner: &str,
    due_at: DateTime<Utc>,
    missed: u64,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let now = stamp(now);
    let held = conn
        .prepare_cached("UPDATE schedules SET last_started_at = ?3 WHERE name = ?1 AND lease_owner = ?2")?
        .execute(params![name, owner, now])?;
    if held == 0 {
        return Ok(None);
    }
    let id = conn
        .prepare_cached(
            "INSERT INTO schedule_runs (schedule, due_at, started_at, outcome, missed)
             VALUES (?1, ?2, ?3, 'running', ?4) RETURNING id",
        )?
        .query_row(params![name, stamp(due_at), now, sql_int(missed)], |r| r.get(0))?;
    Ok(Some(id))
}

/// Closes a run, updates its schedule's last run, failure count (reset by a
/// success) and next due time (`None` keeps it: a run by hand), and releases
/// the lease. `None` when `owner` lost the lease meanwhile: nothing is written.
pub(super) fn finish(
    conn: &Connection,
    run_id: i64,
    owner: &str,
    end: &RunEnd,
    now: DateTime<Utc>,
    next_due: Option<DateTime<Utc>>,
) -> StoreResult<Option<Schedule>> {
    let run: Option<(String, String, String)> = conn
        .prepare_cached("SELECT schedule, due_at, outcome FROM schedule_runs WHERE id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((name, due_at, outcome)) = run else {
        return Err(StoreError::NotFound { what: "schedule run", id: run_id });
    };
    if outcome != RunOutcome::Running.as_str() {
        return Ok(None);
    }
    let (outcome, detail, error) = match end {
        RunEnd::Succeeded { detail } => (RunOutcome::Succeeded, detail.as_str(), None),
        RunEnd::Failed { error } => (RunOutcome::Failed, error.as_str(), Some(error.as_str())),
    };
    let now = stamp(now);
    let schedule = conn
        .prepare_cached(&format!(
            "UPDATE schedules SET last_due_at = ?3, last_finished_at = ?4, last_outcome = ?5, last_error = ?6,
                 consecutive_failures = CASE WHEN ?5 = 'succeeded' THEN 0 ELSE consecutive_failures + 1 END,
                 next_due_at = coalesce(?7, next_due_at), lease_owner = NULL, lease_expires_at = NULL
             WHERE name = ?1 AND lease_owner = ?2 RETURNING {COLUMNS}"
        ))?
        .query_row(
            params![name, owner, due_at, now, outcome.as_str(), error, next_due.map(stamp)],
            schedule_row,
        )
        .optional()?;
    if schedule.is_some() {
        conn.prepare_cached(
            "UPDATE schedule_runs SET outcome = ?2, finished_at = ?3, detail = ?4 WHERE id = ?1",
        )?
        .execute(params![run_id, outcome.as_str(), now, detail])?;
    }
    Ok(schedule)
}

/// Records missed due times passed over (one `skipped` run with their count);
/// with `skip.next_due`, also moves the next due time and releases the lease.
/// `None` when `owner` no longer holds the lease.
pub(super) fn skip(
    conn: &Connection,
    name: &str,
    owner: &str,
    skip: &ScheduleSkip,
    now: DateTime<Utc>,
) -> StoreResult<Option<Schedule>> {
    let now = stamp(now);
    let due = stamp(skip.due_at);
    let schedule = conn
        .prepare_cached(&format!(
            "UPDATE schedules SET last_due_at = ?3, last_started_at = ?4, last_finished_at = ?4,
                 last_outcome = 'skipped', next_due_at = coalesce(?5, next_due_at),
                 lease_owner = CASE WHEN ?5 IS NULL THEN lease_owner END,
                 lease_expires_at = CASE WHEN ?5 IS NULL THEN lease_expires_at END
             WHERE name = ?1 AND lease_owner = ?2 RETURNING {COLUMNS}"
        ))?
        .query_row(params![name, owner, due, now, skip.next_due.map(stamp)], schedule_row)
        .optional()?;
    if schedule.is_some() {
        conn.prepare_cached(
            "INSERT INTO schedule_runs (schedule, due_at, started_at, finished_at, outcome, missed, detail)
             VALUES (?1, ?2, ?3, ?3, 'skipped', ?4, ?5)",
        )?
        .execute(params![name, due, now, sql_int(skip.missed), skip.detail])?;
    }
    Ok(schedule)
}

impl ScheduleStore for super::SqliteStore {
    fn ensure_schedule(
        &self,
        name: &str,
        spec: &str,
        catch_up: CatchUp,
        first_due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Ensured> {
        let (name, spec) = (name.to_string(), spec.to_string());
        self.write(move |c| ensure(c, &name, &spec, catch_up, first_due, now))
    }

    fn schedules(&self) -> StoreResult<Vec<Schedule>> {
        self.read(list)
    }

    fn schedule(&self, name: &str) -> StoreResult<Option<Schedule>> {
        self.read(|c| get(c, name))
    }

    fn schedule_runs(&self, name: &str, limit: usize) -> StoreResult<Vec<ScheduleRun>> {
        self.read(|c| runs(c, name, limit))
    }

    fn claim_schedules(&self, request: &ScheduleClaim) -> StoreResult<Vec<ClaimedSchedule>> {
        if request.names.is_empty() {
            return Ok(Vec::new());
        }
        let request = request.clone();
        self.write(move |c| claim(c, &request))
    }

    fn start_schedule_run(
        &self,
        name: &str,
        owner: &str,
        due_at: DateTime<Utc>,
        missed: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.write(move |c| start(c, &name, &owner, due_at, missed, now))
    }

    fn finish_schedule_run(
        &self,
        run_id: i64,
        owner: &str,
        end: RunEnd,
        now: DateTime<Utc>,
        next_due: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<Schedule>> {
        let owner = owner.to_string();
        self.write(move |c| finish(c, run_id, &owner, &end, now, next_due))
    }

    fn skip_schedule_due(
        &self,
        name: &str,
        owner: &str,
        request: ScheduleSkip,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Schedule>> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.write(move |c| skip(c, &name, &owner, &request, now))
    }
}
