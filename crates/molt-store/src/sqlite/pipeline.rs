//! SQL of the pipeline engine: stage runs and outputs, the cost ledger with
//! reservations and budgets, the response cache, prices and escalations.
//! Functions take the connection of the caller's write (or read), so a stage's
//! output, the next stage's job and the fenced completion commit together.

use super::catalog::record_event;
use crate::error::StoreResult;
use molt_core::pipeline::{BudgetStop, NewEscalation, Reservation, Settlement, StageOutput, StageRun};
use molt_core::Stage;
use rusqlite::{params, Connection, OptionalExtension};

pub fn start_run(
    conn: &Connection,
    song_id: i64,
    stage: Stage,
    job_id: Option<i64>,
    attempt: u32,
    now: &str,
) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO stage_runs (song_id, stage, job_id, attempt, state, started_at) VALUES (?1, ?2, ?3, ?4, 'running', ?5) RETURNING id",
        )?
        .query_row(params![song_id, stage.as_str(), job_id, attempt, now], |r| r.get(0))?)
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    pub succeeded: bool,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub error: Option<String>,
    pub error_class: Option<String>,
    pub quality: Option<f64>,
    pub cost_micro_usd: i64,
}

pub fn finish_run(conn: &Connection, run_id: i64, end: &RunEnd, now: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE stage_runs SET state = ?2, provider = ?3, model = ?4, error = ?5, error_class = ?6, quality = ?7,
             cost_micro_usd = ?8, finished_at = ?9,
             duration_ms = CAST(round((julianday(?9) - julianday(started_at)) * 86400000) AS INTEGER)
         WHERE id = ?1",
    )?
    .execute(params![
        run_id,
        if end.succeeded { "succeeded" } else { "failed" },
        end.provider,
        end.model,
        end.error,
        end.error_class,
        end.quality,
        end.cost_micro_usd,
        now
    ])?;
    let run_ms: i64 =
        conn.query_row("SELECT coalesce(duration_ms, 0) FROM stage_runs WHERE id = ?1", [run_id], |r| {
            r.get(0)
        })?;
    conn.prepare_cached(
        "UPDATE songs SET processing_ms = processing_ms + ?2, cost_micro_usd = cost_micro_usd + ?3, updated_at = ?4
         WHERE id = (SELECT song_id FROM stage_runs WHERE id = ?1)",
    )?
    .execute(params![run_id, run_ms, end.cost_micro_usd, now])?;
    Ok(())
}

pub fn accept_output(
    conn: &Connection,
    song_id: i64,
    run_id: i64,
    output: &StageOutput,
    now: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO stage_outputs (song_id, stage, run_id, provider, model, output, quality, flagged, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (song_id, stage) DO UPDATE SET run_id = excluded.run_id, provider = excluded.provider,
             model = excluded.model, output = excluded.output, quality = excluded.quality,
             flagged = excluded.flagged, created_at = excluded.created_at",
    )?
    .execute(params![
        song_id,
        output.stage.as_str(),
        run_id,
        output.provider,
        output.model,
        output.output.to_string(),
        output.quality,
        output.flagged,
        now
    ])?;
    Ok(())
}

pub fn stage_outputs(conn: &Connection, song_id: i64) -> StoreResult<Vec<StageOutput>> {
    let mut stmt = conn.prepare_cached(
        "SELECT stage, run_id, provider, model, output, quality, flagged FROM stage_outputs WHERE song_id = ?1",
    )?;
    let rows = stmt.query_map([song_id], |r| {
        let stage: String = r.get(0)?;
        let output: String = r.get(4)?;
        Ok(StageOutput {
            stage: stage.parse().unwrap_or(Stage::Transcribe),
            run_id: r.get(1)?,
            provider: r.get(2)?,
            model: r.get(3)?,
            output: serde_json::from_str(&output).unwrap_or_default(),
            quality: r.get(5)?,
            flagged: r.get(6)?,
        })
    })?;
    let mut outputs: Vec<StageOutput> = rows.collect::<Result<_, _>>()?;
    outputs.sort_by_key(|o| Stage::ORDER.iter().position(|s| *s == o.stage));
    Ok(outputs)
}

pub fn stage_runs(conn: &Connection, song_id: i64) -> StoreResult<Vec<StageRun>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, stage, attempt, provider, model, state, started_at, duration_ms, error, error_class, quality, cost_micro_usd
         FROM stage_runs WHERE song_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([song_id], |r| {
        let stage: String = r.get(1)?;
        Ok(StageRun {
            id: r.get(0)?,
            stage: stage.parse().unwrap_or(Stage::Transcribe),
            attempt: r.get(2)?,
            provider: r.get(3)?,
            model: r.get(4)?,
            state: r.get(5)?,
            started_at: r.get(6)?,
            duration_ms: r.get(7)?,
            error: r.get(8)?,
            error_class: r.get(9)?,
            quality: r.get(10)?,
            cost_micro_usd: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn escalate(conn: &Connection, e: &NewEscalation, actor: &str, now: &str) -> StoreResult<i64> {
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO escalations (at, kind, to_role, song_id, job_id, error_class, summary, details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )?
        .query_row(
            params![
                now,
                e.kind,
                e.to_role,
                e.song_id,
                e.job_id,
                e.error_class.map(|c| c.as_str()),
                e.summary,
                e.details.to_string()
            ],
            |r| r.get(0),
        )?;
    let details = serde_json::json!({ "escalation_id": id, "kind": e.kind, "to_role": e.to_role, "summary": e.summary });
    record_event(conn, actor, "alert.escalated", e.song_id, &details)?;
    Ok(id)
}

/// Spent plus still-reserved micro-USD for one song.
pub fn song_spend(conn: &Connection, song_id: i64) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(micro_usd + reserved_micro_usd), 0) FROM cost_ledger WHERE song_id = ?1",
        )?
        .query_row([song_id], |r| r.get(0))?)
}

/// Spent plus still-reserved micro-USD since `since` (the start of the UTC day).
pub fn spend_since(conn: &Connection, since: &str) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(micro_usd + reserved_micro_usd), 0) FROM cost_ledger WHERE at >= ?1",
        )?
        .query_row([since], |r| r.get(0))?)
}

pub fn budgets(conn: &Connection) -> StoreResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT scope, limit_micro_usd FROM budgets ORDER BY scope")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_budget(conn: &Connection, scope: &str, limit_micro_usd: i64, now: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO budgets (scope, limit_micro_usd, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (scope) DO UPDATE SET limit_micro_usd = excluded.limit_micro_usd, updated_at = excluded.updated_at",
    )?
    .execute(params![scope, limit_micro_usd, now])?;
    Ok(())
}

/// Reserve a call's estimated cost, unless that would break a budget.
/// Runs inside the writer's transaction, so two reservations cannot both squeeze under a cap.
pub fn reserve(
    conn: &Connection,
    r: &Reservation,
    now: &str,
    day_start: &str,
) -> StoreResult<Result<i64, BudgetStop>> {
    for (scope, limit) in budgets(conn)? {
        let spent = match (scope.as_str(), r.song_id) {
            ("per_song", Some(song)) => song_spend(conn, song)?,
            ("per_day", _) => spend_since(conn, day_start)?,
            _ => continue,
        };
        if spent + r.micro_usd > limit {
            return Ok(Err(BudgetStop {
                scope,
                limit_micro_usd: limit,
                spent_micro_usd: spent,
                requested_micro_usd: r.micro_usd,
            }));
        }
    }
    let id = conn
        .prepare_cached(
            "INSERT INTO cost_ledger (at, service, model, units, unit_kind, micro_usd, reserved_micro_usd, outcome,
                 cache_hit, song_id, job_id, actor, stage, provider)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, 'reserved', 0, ?7, ?8, ?9, ?10, ?2) RETURNING id",
        )?
        .query_row(
            params![now, r.service, r.model, r.units, r.unit_kind, r.micro_usd, r.song_id, r.job_id, r.actor, r.stage.map(Stage::as_str)],
            |row| row.get(0),
        )?;
    Ok(Ok(id))
}

/// Replace a reservation with what the call really cost.
pub fn settle(conn: &Connection, ledger_id: i64, s: &Settlement) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE cost_ledger SET outcome = ?2, units = ?3, micro_usd = ?4, reserved_micro_usd = 0, latency_ms = ?5
         WHERE id = ?1 AND outcome = 'reserved'",
    )?
    .execute(params![ledger_id, s.outcome, s.units, s.micro_usd, s.latency_ms])?;
    Ok(())
}

/// A call answered from the cache: recorded, free.
pub fn record_cache_hit(conn: &Connection, r: &Reservation, now: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO cost_ledger (at, service, model, units, unit_kind, micro_usd, outcome, cache_hit, latency_ms,
             song_id, job_id, actor, stage, provider)
         VALUES (?1, ?2, ?3, 0, ?4, 0, 'cache_hit', 1, 0, ?5, ?6, ?7, ?8, ?2)",
    )?
    .execute(params![now, r.service, r.model, r.unit_kind, r.song_id, r.job_id, r.actor, r.stage.map(Stage::as_str)])?;
    Ok(())
}

/// Reservations older than `before` belong to calls whose process died: release them.
pub fn release_stale_reservations(conn: &Connection, before: &str) -> StoreResult<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE cost_ledger SET outcome = 'error', reserved_micro_usd = 0 WHERE outcome = 'reserved' AND at < ?1",
        )?
        .execute([before])?)
}

/// A cached response: the output, its quality and what it cost when it was paid for.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub output: serde_json::Value,
    pub quality: Option<f64>,
    pub cost_micro_usd: i64,
}

pub fn cache_get(conn: &Connection, key: &str) -> StoreResult<Option<Cached>> {
    let row: Option<(String, Option<f64>, i64)> = conn
        .prepare_cached("SELECT output, quality, cost_micro_usd FROM response_cache WHERE key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.map(|(output, quality, cost_micro_usd)| Cached {
        output: serde_json::from_str(&output).unwrap_or_default(),
        quality,
        cost_micro_usd,
    }))
}

#[allow(clippy::too_many_arguments)]
pub fn cache_put(
    conn: &Connection,
    key: &str,
    stage: Stage,
    provider: &str,
    model: &str,
    value: &Cached,
    now: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO response_cache (key, stage, provider, model, output, quality, cost_micro_usd, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![key, stage.as_str(), provider, model, value.output.to_string(), value.quality, value.cost_micro_usd, now])?;
    Ok(())
}

pub fn cache_hit(conn: &Connection, key: &str) -> StoreResult<()> {
    conn.prepare_cached("UPDATE response_cache SET hits = hits + 1 WHERE key = ?1")?.execute([key])?;
    Ok(())
}

pub fn price(conn: &Connection, provider: &str, model: &str, unit_kind: &str) -> StoreResult<Option<f64>> {
    Ok(conn
        .prepare_cached(
            "SELECT micro_usd_per_unit FROM prices WHERE provider = ?1 AND model = ?2 AND unit_kind = ?3",
        )?
        .query_row(params![provider, model, unit_kind], |r| r.get(0))
        .optional()?)
}

pub fn set_price(
    conn: &Connection,
    provider: &str,
    model: &str,
    unit_kind: &str,
    micro_usd_per_unit: f64,
    now: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO prices (provider, model, unit_kind, micro_usd_per_unit, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (provider, model, unit_kind) DO UPDATE SET micro_usd_per_unit = excluded.micro_usd_per_unit,
             updated_at = excluded.updated_at",
    )?
    .execute(params![provider, model, unit_kind, micro_usd_per_unit, now])?;
    Ok(())
}

/// Every price: (provider, model, unit kind, micro-USD per unit).
pub fn prices(conn: &Connection) -> StoreResult<Vec<(String, String, String, f64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT provider, model, unit_kind, micro_usd_per_unit FROM prices ORDER BY provider, model, unit_kind")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The unit kinds a price can be given in.
pub const UNIT_KINDS: [&str; 5] = ["call", "audio_second", "input_token", "output_token", "image"];
