//! The health monitor's reads and writes (molt-ops `monitor`): one snapshot of
//! the figures a check needs, the status history, worker heartbeats, and the
//! leases of stuck jobs. Times come from the caller's clock.

use super::catalog::record_event;
use crate::error::StoreResult;
use molt_core::ops::{DurationBuckets, MetricsSnapshot, OpsSnapshot, StatusRecord, StuckJob, WorkerBeat};
use rusqlite::{params, Connection, OptionalExtension};

/// The figures of one check, in one read transaction: `day_start` begins
/// "today", `cost_since` the cost window, and a running job is stuck when its
/// last sign of life is before `stuck_before`.
pub fn snapshot(
    conn: &Connection,
    day_start: &str,
    cost_since: &str,
    stuck_before: &str,
) -> StoreResult<OpsSnapshot> {
    let mut snapshot = OpsSnapshot::default();
    let mut queued = conn.prepare_cached(
        "SELECT coalesce(stage, 'other'), count(*) FROM jobs WHERE state = 'queued' GROUP BY 1 ORDER BY 1",
    )?;
    for row in queued.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (stage, n) = row?;
        snapshot.queue_depth += n;
        snapshot.queued_by_stage.insert(stage, n);
    }
    snapshot.running = count(conn, "SELECT count(*) FROM jobs WHERE state = 'running'", params![])?;
    snapshot.stuck = stuck(conn, stuck_before)?;
    snapshot.songs_processing =
        count(conn, "SELECT count(*) FROM songs WHERE status = 'processing'", params![])?;
    snapshot.songs_completed_today = count(
        conn,
        "SELECT count(DISTINCT song_id) FROM stage_runs
         WHERE stage = 'art' AND state = 'succeeded' AND finished_at >= ?1",
        params![day_start],
    )?;
    snapshot.cost_micro_usd = count(
        conn,
        "SELECT coalesce(sum(micro_usd), 0) FROM cost_ledger WHERE at >= ?1 AND outcome <> 'reserved'",
        params![cost_since],
    )?;
    snapshot.daily_budget_micro_usd = conn
        .prepare_cached("SELECT limit_micro_usd FROM budgets WHERE scope = 'per_day'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(snapshot)
}

fn count(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<i64> {
    Ok(conn.prepare_cached(sql)?.query_row(params, |r| r.get(0))?)
}

fn stuck(conn: &Connection, before: &str) -> StoreResult<Vec<StuckJob>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, song_id, stage, coalesce(heartbeat_at, updated_at) AS seen FROM jobs
         WHERE state = 'running' AND coalesce(heartbeat_at, updated_at) < ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([before], |r| {
        Ok(StuckJob { id: r.get(0)?, song_id: r.get(1)?, stage: r.get(2)?, last_seen_at: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ends the leases of running jobs with no sign of life since `before` (their
/// lease ends when it was last renewed), so the queue's rescue re-queues them
/// with a new lease token — the silent worker's late result is then refused.
/// One audit event per job whose lease this call ended (a job already ended
/// and waiting for a rescue is not audited again at every check). Returns them.
pub fn expire_stuck(conn: &Connection, before: &str, actor: &str) -> StoreResult<Vec<StuckJob>> {
    let mut expire = conn.prepare_cached(
        "UPDATE jobs SET lease_expires_at = ?2
         WHERE id = ?1 AND state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at > ?2)",
    )?;
    let mut ended = Vec::new();
    for job in stuck(conn, before)? {
        if expire.execute(params![job.id, job.last_seen_at])? == 0 {
            continue;
        }
        let details = serde_json::json!({
            "job_id": job.id, "stage": job.stage, "last_seen_at": job.last_seen_at,
            "action": "lease ended for rescue",
        });
        record_event(conn, actor, "ops.job_stuck", job.song_id, &details)?;
        ended.push(job);
    }
    Ok(ended)
}

pub fn record_status(
    conn: &Connection,
    at: &str,
    status: &str,
    report: &serde_json::Value,
) -> StoreResult<i64> {
    conn.prepare_cached("INSERT INTO status_reports (at, status, report) VALUES (?1, ?2, ?3)")?
        .execute(params![at, status, report.to_string()])?;
    Ok(conn.last_insert_rowid())
}

fn status_row(r: &rusqlite::Row) -> rusqlite::Result<StatusRecord> {
    let report: String = r.get(3)?;
    Ok(StatusRecord {
        id: r.get(0)?,
        at: r.get(1)?,
        status: r.get(2)?,
        report: serde_json::from_str(&report).unwrap_or(serde_json::Value::Null),
    })
}

pub fn latest_status(conn: &Connection) -> StoreResult<Option<StatusRecord>> {
    Ok(conn
        .prepare_cached("SELECT id, at, status, report FROM status_reports ORDER BY id DESC LIMIT 1")?
        .query_row([], status_row)
        .optional()?)
}

/// (time, status) of every report since `since`, oldest first: what uptime is computed from.
pub fn status_history(conn: &Connection, since: &str) -> StoreResult<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT at, status FROM status_reports WHERE at >= ?1 ORDER BY at, id")?;
    let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes status reports older than `before` (retention). Returns how many.
pub fn prune_status(conn: &Connection, before: &str) -> StoreResult<usize> {
    Ok(conn.prepare_cached("DELETE FROM status_reports WHERE at < ?1")?.execute([before])?)
}

pub fn worker_beat(conn: &Connection, name: &str, process: &str, now: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO workers (name, process, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (name) DO UPDATE SET process = ?2, heartbeat_at = ?3, stopped_at = NULL",
    )?
    .execute(params![name, process, now])?;
    Ok(())
}

pub fn worker_stopped(conn: &Connection, name: &str, now: &str) -> StoreResult<()> {
    conn.prepare_cached("UPDATE workers SET stopped_at = ?2 WHERE name = ?1")?.execute(params![name, now])?;
    Ok(())
}

pub fn workers(conn: &Connection) -> StoreResult<Vec<WorkerBeat>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, process, started_at, heartbeat_at, stopped_at FROM workers ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(WorkerBeat {
            name: r.get(0)?,
            process: r.get(1)?,
            started_at: r.get(2)?,
            heartbeat_at: r.get(3)?,
            stopped_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What `/metrics` reads (every query a grouped scan: the work grows with the
/// stage runs and ledger rows, which are kept for good as the studio's cost
/// history; see the RUNBOOK's "Metrics").
pub fn metrics(conn: &Connection, bounds_secs: &[f64]) -> StoreResult<MetricsSnapshot> {
    let mut m = MetricsSnapshot::default();
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(stage, 'other'), count(*) FROM jobs WHERE state = 'queued' GROUP BY 1 ORDER BY 1",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (stage, n) = row?;
        m.queued_by_stage.insert(stage, n);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT stage, state, count(*) FROM stage_runs WHERE state <> 'running' GROUP BY 1, 2",
    )?;
    for row in stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)?)))? {
        let (key, n) = row?;
        m.stage_runs.insert(key, n);
    }
    m.stage_durations = durations(conn, bounds_secs)?;
    let mut stmt = conn.prepare_cached(
        "SELECT service, model, outcome, count(*), coalesce(sum(micro_usd), 0) FROM cost_ledger
         WHERE outcome <> 'reserved' GROUP BY 1, 2, 3",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?), r.get(3)?, r.get(4)?))
    })?;
    for row in rows {
        let (key, calls, micro) = row?;
        m.calls.insert(key.clone(), calls);
        m.cost_micro_usd.insert(key, micro);
    }
    Ok(m)
}

/// Succeeded runs' durations per stage, counted under each bound (one scan).
fn durations(
    conn: &Connection,
    bounds_secs: &[f64],
) -> StoreResult<std::collections::BTreeMap<String, DurationBuckets>> {
    let under: String = (1..=bounds_secs.len()).map(|i| format!(", sum(duration_ms <= ?{i})")).collect();
    let sql = format!(
        "SELECT stage, count(*), coalesce(sum(duration_ms), 0){under} FROM stage_runs
         WHERE state = 'succeeded' AND duration_ms IS NOT NULL GROUP BY stage ORDER BY stage"
    );
    let bounds_ms: Vec<i64> = bounds_secs.iter().map(|s| (s * 1000.0).round() as i64).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(&bounds_ms), |r| {
        let buckets: Vec<u64> = (0..bounds_ms.len())
            .map(|i| r.get::<_, i64>(3 + i).map(|n| n as u64))
            .collect::<Result<_, _>>()?;
        Ok((
            r.get::<_, String>(0)?,
            DurationBuckets { buckets, count: r.get::<_, i64>(1)? as u64, sum_ms: r.get(2)? },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The monitor's store, through the writer thread and the read pool.
impl crate::repo::OpsStore for super::SqliteStore {
    fn ops_ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
    }
    fn ops_snapshot(
        &self,
        day_start: &str,
        cost_since: &str,
        stuck_before: &str,
    ) -> StoreResult<OpsSnapshot> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let snapshot = snapshot(&tx, day_start, cost_since, stuck_before)?;
            tx.finish()?;
            Ok(snapshot)
        })
    }
    fn expire_stuck_jobs(&self, before: &str, actor: &str) -> StoreResult<Vec<StuckJob>> {
        let (before, actor) = (before.to_string(), actor.to_string());
        self.write(move |c| expire_stuck(c, &before, &actor))
    }
    fn record_status(&self, at: &str, status: &str, report: &serde_json::Value) -> StoreResult<i64> {
        let (at, status, report) = (at.to_string(), status.to_string(), report.clone());
        self.write(move |c| record_status(c, &at, &status, &report))
    }
    fn latest_status(&self) -> StoreResult<Option<StatusRecord>> {
        self.read(latest_status)
    }
    fn status_history(&self, since: &str) -> StoreResult<Vec<(String, String)>> {
        self.read(|c| status_history(c, since))
    }
    fn prune_status(&self, before: &str) -> StoreResult<usize> {
        let before = before.to_string();
        self.write(move |c| prune_status(c, &before))
    }
    fn worker_beat(&self, name: &str, process: &str, now: &str) -> StoreResult<()> {
        let (name, process, now) = (name.to_string(), process.to_string(), now.to_string());
        self.write(move |c| worker_beat(c, &name, &process, &now))
    }
    fn worker_stopped(&self, name: &str, now: &str) -> StoreResult<()> {
        let (name, now) = (name.to_string(), now.to_string());
        self.write(move |c| worker_stopped(c, &name, &now))
    }
    fn workers(&self) -> StoreResult<Vec<WorkerBeat>> {
        self.read(workers)
    }
    fn metrics_snapshot(&self, duration_bounds_secs: &[f64]) -> StoreResult<MetricsSnapshot> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let snapshot = metrics(&tx, duration_bounds_secs)?;
            tx.finish()?;
            Ok(snapshot)
        })
    }
    fn ops_event(
        &self,
        actor: &str,
        kind: &str,
        song_id: Option<i64>,
        details: &serde_json::Value,
    ) -> StoreResult<()> {
        let (actor, kind, details) = (actor.to_string(), kind.to_string(), details.clone());
        self.write(move |c| record_event(c, &actor, &kind, song_id, &details))
    }
}
