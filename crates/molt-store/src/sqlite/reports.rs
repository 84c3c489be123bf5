//! The reads behind KPIs and reports, and the stored reports (issue 8).
//!
//! Every window is `[from, to)` over stamps, which sort as text. The window
//! reads use indexes: `cost_ledger_at`, `query_log_created`,
//! `status_reports_at`, and (migration `…000012`) `events_kind_at`,
//! `escalations_at`, `stage_runs_finished`.

use super::SqliteStore;
use crate::error::StoreResult;
use crate::repo::ReportStore;
use crate::reports::{
    AlertBrief, ArchiveCandidate, ArchiveCandidates, CostFigures, DayFigures, KpiFigures, ModelUse,
    NewReport, PassEnd, ReportBrief, SpendRow, StoredReport,
};
use rusqlite::{params, Connection, OptionalExtension};

/// Pipeline passes that ended in `[from, to)`, with the duration of the
/// completed ones: from the first stage run of the pass (one that started
/// after the song last moved to `processing`, so a pass after a rejection
/// does not count the first pass or the time in review) to its last stage end.
pub fn pass_ends(conn: &Connection, from: &str, to: &str) -> StoreResult<Vec<PassEnd>> {
    let mut stmt = conn.prepare_cached(
        "SELECT song_id, at, dest,
                (SELECT min(r.started_at) FROM stage_runs r
                  WHERE r.song_id = p.song_id AND r.started_at >= p.began AND r.started_at <= p.at) AS start,
                (SELECT max(r.finished_at) FROM stage_runs r
                  WHERE r.song_id = p.song_id AND r.started_at >= p.began AND r.finished_at <= p.at) AS finish
         FROM (SELECT e.id, e.song_id, e.at, json_extract(e.details, '$.to') AS dest,
                      coalesce((SELECT max(b.at) FROM events b
                                 WHERE b.song_id = e.song_id AND b.kind = 'song.status_changed'
                                   AND json_extract(b.details, '$.to') = 'processing' AND b.at <= e.at),
                               '') AS began
               FROM events e
               WHERE e.kind = 'song.status_changed' AND e.at >= ?1 AND e.at < ?2 AND e.song_id IS NOT NULL
                 AND json_extract(e.details, '$.from') = 'processing'
                 AND json_extract(e.details, '$.to') IN ('review', 'needs_human_review', 'failed')) p
         ORDER BY at, id",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        let to: String = r.get(2)?;
        let start: Option<String> = r.get(3)?;
        let finish: Option<String> = r.get(4)?;
        Ok((r.get(0)?, r.get(1)?, to, start, finish))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (song_id, at, to, start, finish): (i64, String, String, Option<String>, Option<String>) = row?;
        let duration_ms = match (&start, &finish, to.as_str()) {
            (Some(s), Some(f), "review" | "needs_human_review") => {
                match (molt_core::time::parse_stamp(s), molt_core::time::parse_stamp(f)) {
                    (Some(s), Some(f)) if f >= s => Some((f - s).num_milliseconds()),
                    _ => None,
                }
            }
            _ => None,
        };
        out.push(PassEnd { song_id, at, to, duration_ms });
    }
    Ok(out)
}

fn spend(conn: &Connection, from: &str, to: &str) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(micro_usd), 0) FROM cost_ledger
             WHERE at >= ?1 AND at < ?2 AND outcome <> 'reserved'",
        )?
        .query_row(params![from, to], |r| r.get(0))?)
}

pub fn kpi_figures(conn: &Connection, from: &str, to: &str, status_since: &str) -> StoreResult<KpiFigures> {
    let tx = conn.unchecked_transaction()?;
    let passes = pass_ends(&tx, from, to)?;
    let spend_micro_usd = spend(&tx, from, to)?;
    let escalations: i64 = tx
        .prepare_cached("SELECT count(*) FROM escalations WHERE at >= ?1 AND at < ?2")?
        .query_row(params![from, to], |r| r.get(0))?;
    let queries: i64 = tx
        .prepare_cached("SELECT count(*) FROM query_log WHERE created_at >= ?1 AND created_at < ?2")?
        .query_row(params![from, to], |r| r.get(0))?;
    // Nearest rank: the smallest value with at least 95 % of the values at or below it.
    let query_p95_ms = if queries == 0 {
        None
    } else {
        let rank = (queries * 95 + 99) / 100;
        tx.prepare_cached(
            "SELECT response_ms FROM query_log WHERE created_at >= ?1 AND created_at < ?2
             ORDER BY response_ms LIMIT 1 OFFSET ?3",
        )?
        .query_row(params![from, to, rank - 1], |r| r.get(0))
        .optional()?
    };
    let status_reports = tx
        .prepare_cached("SELECT at, status FROM status_reports WHERE at >= ?1 AND at < ?2 ORDER BY at, id")?
        .query_map(params![status_since, to], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let first_status_at =
        tx.prepare_cached("SELECT min(at) FROM status_reports")?.query_row([], |r| r.get(0))?;
    tx.commit()?;
    Ok(KpiFigures {
        passes,
        spend_micro_usd,
        escalations,
        queries,
        query_p95_ms,
        status_reports,
        first_status_at,
    })
}

fn spend_rows(conn: &Connection, sql: &str, from: &str, to: &str) -> StoreResult<Vec<SpendRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(SpendRow { key: r.get(0)?, calls: r.get(1)?, micro_usd: r.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The ledger rows of the window that are calls (reservations are not).
const CALLS: &str = "FROM cost_ledger WHERE at >= ?1 AND at < ?2 AND outcome <> 'reserved'";

pub fn cost_figures(conn: &Connection, from: &str, to: &str) -> StoreResult<CostFigures> {
    let tx = conn.unchecked_transaction()?;
    let (spend_micro_usd, calls, cache_hits) = tx
        .prepare_cached(&format!(
            "SELECT coalesce(sum(micro_usd), 0), count(*),
                    coalesce(sum(cache_hit = 1 OR outcome = 'cache_hit'), 0) {CALLS}"
        ))?
        .query_row(params![from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let by_service = spend_rows(
        &tx,
        &format!("SELECT service, count(*), sum(micro_usd) {CALLS} GROUP BY service ORDER BY 3 DESC, 1"),
        from,
        to,
    )?;
    let by_model = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT coalesce(stage, service), coalesce(provider, service), model, count(*),
                    sum(outcome = 'ok'), sum(micro_usd), sum(CASE WHEN outcome = 'ok' THEN micro_usd ELSE 0 END)
             {CALLS} GROUP BY 1, 2, 3 ORDER BY 6 DESC, 1, 2, 3"
        ))?;
        let rows = stmt.query_map(params![from, to], |r| {
            Ok(ModelUse {
                stage: r.get(0)?,
                provider: r.get(1)?,
                model: r.get(2)?,
                calls: r.get(3)?,
                ok_calls: r.get(4)?,
                micro_usd: r.get(5)?,
                ok_micro_usd: r.get(6)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let by_outcome = spend_rows(
        &tx,
        &format!("SELECT outcome, count(*), sum(micro_usd) {CALLS} GROUP BY outcome ORDER BY 3 DESC, 1"),
        from,
        to,
    )?;
    let failed_by_provider = spend_rows(
        &tx,
        &format!(
            "SELECT coalesce(provider, service) || '/' || model, count(*), sum(micro_usd) {CALLS}
               AND outcome IN ('error', 'timeout', 'rate_limited') GROUP BY 1 ORDER BY 3 DESC, 2 DESC, 1"
        ),
        from,
        to,
    )?;
    let by_hour = spend_rows(
        &tx,
        &format!("SELECT substr(at, 12, 2), count(*), sum(micro_usd) {CALLS} GROUP BY 1 ORDER BY 1"),
        from,
        to,
    )?;
    let by_day = spend_rows(
        &tx,
        &format!("SELECT substr(at, 1, 10), count(*), sum(micro_usd) {CALLS} GROUP BY 1 ORDER BY 1"),
        from,
        to,
    )?;
    let (failed_stage_runs, failed_stage_runs_micro_usd) = tx
        .prepare_cached(
            "SELECT count(*), coalesce(sum(cost_micro_usd), 0) FROM stage_runs
             WHERE state = 'failed' AND finished_at >= ?1 AND finished_at < ?2",
        )?
        .query_row(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // Per (song, stage, provider, model): the paid successful calls beyond the
    // cheapest one are the same input paid for again.
    let (repeat_calls, repeat_micro_usd) = tx
        .prepare_cached(
            "SELECT coalesce(sum(n - 1), 0), coalesce(sum(total - cheapest), 0) FROM (
                SELECT count(*) AS n, sum(micro_usd) AS total, min(micro_usd) AS cheapest
                FROM cost_ledger
                WHERE at >= ?1 AND at < ?2 AND outcome = 'ok' AND cache_hit = 0 AND song_id IS NOT NULL
                GROUP BY song_id, coalesce(stage, service), coalesce(provider, service), model
                HAVING count(*) > 1)",
        )?
        .query_row(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let songs_processed = {
        let passes = pass_ends(&tx, from, to)?;
        let mut ids: Vec<i64> = passes.iter().map(|p| p.song_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len() as i64
    };
    let budgets = tx
        .prepare_cached("SELECT scope, limit_micro_usd FROM budgets ORDER BY scope")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit()?;
    Ok(CostFigures {
        spend_micro_usd,
        calls,
        cache_hits,
        by_service,
        by_model,
        by_outcome,
        failed_by_provider,
        by_hour,
        by_day,
        failed_stage_runs,
        failed_stage_runs_micro_usd,
        repeat_calls,
        repeat_micro_usd,
        songs_processed,
        budgets,
    })
}

pub fn archive_candidates(
    conn: &Connection,
    created_before: &str,
    no_views_since: &str,
    limit: usize,
) -> StoreResult<ArchiveCandidates> {
    const WHERE: &str = "FROM songs s JOIN assets a ON a.id = s.audio_asset_id
         WHERE s.status = 'published' AND s.created_at < ?1
           AND NOT EXISTS (SELECT 1 FROM song_views v WHERE v.song_id = s.id AND v.day >= ?2)";
    let tx = conn.unchecked_transaction()?;
    let (total, total_bytes): (i64, i64) = tx
        .prepare_cached(&format!("SELECT count(*), coalesce(sum(a.bytes), 0) {WHERE}"))?
        .query_row(params![created_before, no_views_since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let songs = tx
        .prepare_cached(&format!(
            "SELECT s.id, s.title, s.created_at, a.bytes {WHERE} ORDER BY s.created_at, s.id LIMIT ?3"
        ))?
        .query_map(params![created_before, no_views_since, limit as i64], |r| {
            Ok(ArchiveCandidate {
                song_id: r.get(0)?,
                title: r.get(1)?,
                created_at: r.get(2)?,
                audio_bytes: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit()?;
    Ok(ArchiveCandidates { total, total_bytes, songs })
}

fn alert_briefs(conn: &Connection, at_column: &str, from: &str, to: &str) -> StoreResult<Vec<AlertBrief>> {
    let sql = format!(
        "SELECT id, key, severity, summary, {at_column} FROM alerts
         WHERE {at_column} >= ?1 AND {at_column} < ?2 ORDER BY {at_column}, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(AlertBrief {
            id: r.get(0)?,
            key: r.get(1)?,
            severity: r.get(2)?,
            summary: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn day_figures(conn: &Connection, from: &str, to: &str) -> StoreResult<DayFigures> {
    let tx = conn.unchecked_transaction()?;
    let passes = pass_ends(&tx, from, to)?;
    let (in_review, in_human_review) = tx
        .prepare_cached(
            "SELECT coalesce(sum(status = 'review'), 0), coalesce(sum(status = 'needs_human_review'), 0)
             FROM songs WHERE status IN ('review', 'needs_human_review')",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let spend_micro_usd = spend(&tx, from, to)?;
    let by_service = spend_rows(
        &tx,
        &format!("SELECT service, count(*), sum(micro_usd) {CALLS} GROUP BY service ORDER BY 3 DESC, 1"),
        from,
        to,
    )?;
    let alerts_fired = alert_briefs(&tx, "fired_at", from, to)?;
    let alerts_resolved = alert_briefs(&tx, "resolved_at", from, to)?;
    let errors_by_class = spend_rows(
        &tx,
        "SELECT coalesce(error_class, 'unknown'), count(*), coalesce(sum(cost_micro_usd), 0) FROM stage_runs
         WHERE state = 'failed' AND finished_at >= ?1 AND finished_at < ?2 GROUP BY 1 ORDER BY 2 DESC, 1",
        from,
        to,
    )?;
    tx.commit()?;
    Ok(DayFigures {
        passes,
        in_review,
        in_human_review,
        spend_micro_usd,
        by_service,
        alerts_fired,
        alerts_resolved,
        errors_by_class,
    })
}

const REPORT_COLUMNS: &str = "id, kind, period_start, period_end, created_at, markdown, data";

fn report_row(r: &rusqlite::Row) -> rusqlite::Result<StoredReport> {
    let data: String = r.get(6)?;
    Ok(StoredReport {
        id: r.get(0)?,
        kind: r.get(1)?,
        period_start: r.get(2)?,
        period_end: r.get(3)?,
        created_at: r.get(4)?,
        markdown: r.get(5)?,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
    })
}

pub fn save_report(conn: &Connection, report: &NewReport) -> StoreResult<StoredReport> {
    conn.prepare_cached(
        "INSERT INTO reports (kind, period_start, period_end, created_at, markdown, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (kind, period_start) DO UPDATE SET
            period_end = excluded.period_end, created_at = excluded.created_at,
            markdown = excluded.markdown, data = excluded.data",
    )?
    .execute(params![
        report.kind,
        report.period_start,
        report.period_end,
        report.created_at,
        report.markdown,
        report.data.to_string()
    ])?;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE kind = ?1 AND period_start = ?2"
        ))?
        .query_row(params![report.kind, report.period_start], report_row)?)
}

pub fn report(conn: &Connection, id: i64) -> StoreResult<Option<StoredReport>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1"))?
        .query_row([id], report_row)
        .optional()?)
}

pub fn reports(conn: &Connection, kind: Option<&str>, limit: usize) -> StoreResult<Vec<ReportBrief>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, period_start, period_end, created_at FROM reports
         WHERE ?1 IS NULL OR kind = ?1 ORDER BY period_start DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![kind, limit as i64], |r| {
        Ok(ReportBrief {
            id: r.get(0)?,
            kind: r.get(1)?,
            period_start: r.get(2)?,
            period_end: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl ReportStore for SqliteStore {
    fn kpi_figures(&self, from: &str, to: &str, status_since: &str) -> StoreResult<KpiFigures> {
        self.read(|c| kpi_figures(c, from, to, status_since))
    }
    fn cost_figures(&self, from: &str, to: &str) -> StoreResult<CostFigures> {
        self.read(|c| cost_figures(c, from, to))
    }
    fn archive_candidates(
        &self,
        created_before: &str,
        no_views_since: &str,
        limit: usize,
    ) -> StoreResult<ArchiveCandidates> {
        self.read(|c| archive_candidates(c, created_before, no_views_since, limit))
    }
    fn day_figures(&self, from: &str, to: &str) -> StoreResult<DayFigures> {
        self.read(|c| day_figures(c, from, to))
    }
    fn save_report(&self, report: &NewReport) -> StoreResult<StoredReport> {
        let report = report.clone();
        self.write(move |c| save_report(c, &report))
    }
    fn report(&self, id: i64) -> StoreResult<Option<StoredReport>> {
        self.read(|c| report(c, id))
    }
    fn reports(&self, kind: Option<&str>, limit: usize) -> StoreResult<Vec<ReportBrief>> {
        self.read(|c| reports(c, kind, limit))
    }
}
