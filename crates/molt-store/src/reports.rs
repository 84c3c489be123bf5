//! The raw figures behind KPIs and the daily and weekly reports (issue 8),
//! read by [`crate::ReportStore`], and the stored reports themselves. Times
//! are stamps passed in by the caller's clock; every window is `[from, to)`.
//! What the figures mean is molt-ops' business (`kpi.rs`, `reports/`): this
//! module only counts and sums.

use serde::{Deserialize, Serialize};

/// One pipeline pass that ended in the window: a `song.status_changed` event
/// from `processing` to `review`, `needs_human_review` (completed) or `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassEnd {
    pub song_id: i64,
    pub at: String,
    /// `review`, `needs_human_review` or `failed`.
    pub to: String,
    /// For a completed pass: milliseconds from the start of the pass (its
    /// first stage run since the song last moved to `processing`) to the end
    /// of its last stage run finished by `at`. `None` without stage runs.
    pub duration_ms: Option<i64>,
}

/// The figures of the KPIs over one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiFigures {
    pub passes: Vec<PassEnd>,
    /// Settled spend in the window (every ledger row but reservations), micro-USD.
    pub spend_micro_usd: i64,
    /// Escalations raised in the window.
    pub escalations: i64,
    /// Queries logged in the window.
    pub queries: i64,
    /// The 95th percentile (nearest rank) of their response times.
    pub query_p95_ms: Option<i64>,
    /// (at, status) of the status reports from `status_since` to `to`, oldest first.
    pub status_reports: Vec<(String, String)>,
    /// The oldest status report ever kept, if any.
    pub first_status_at: Option<String>,
}

/// Spend and calls of one group of ledger rows (reservations are not calls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpendRow {
    /// The group: a service, `stage/provider/model`, an hour `00`…`23`, an outcome…
    pub key: String,
    pub calls: i64,
    pub micro_usd: i64,
}

/// One model's use in one stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUse {
    pub stage: String,
    pub provider: String,
    pub model: String,
    pub calls: i64,
    /// Calls that were paid for and succeeded (outcome `ok`).
    pub ok_calls: i64,
    pub micro_usd: i64,
    pub ok_micro_usd: i64,
}

/// The cost figures of one window, for the weekly report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostFigures {
    pub spend_micro_usd: i64,
    /// Ledger rows but reservations.
    pub calls: i64,
    pub cache_hits: i64,
    pub by_service: Vec<SpendRow>,
    pub by_model: Vec<ModelUse>,
    /// Per outcome (`ok`, `error`, `timeout`, `rate_limited`, `cache_hit`).
    pub by_outcome: Vec<SpendRow>,
    /// Spend on failed calls (`error`, `timeout`, `rate_limited`) per provider.
    pub failed_by_provider: Vec<SpendRow>,
    /// Per UTC hour of the day (`00`…`23`), only hours with calls.
    pub by_hour: Vec<SpendRow>,
    /// Per UTC day (`YYYY-MM-DD`), only days with calls.
    pub by_day: Vec<SpendRow>,
    /// Failed stage runs that finished in the window: how many, and their cost.
    pub failed_stage_runs: i64,
    pub failed_stage_runs_micro_usd: i64,
    /// Paid `ok` calls beyond one for the same song, stage, provider and model
    /// (the same input paid for again), and what they cost: everything but the
    /// cheapest of each group (keeping one call is what a cache would have cost).
    pub repeat_calls: i64,
    pub repeat_micro_usd: i64,
    /// Distinct songs whose pipeline pass ended in the window.
    pub songs_processed: i64,
    /// The `budgets` table: (scope, limit).
    pub budgets: Vec<(String, i64)>,
}

/// A published song old enough to archive, with no recent views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveCandidate {
    pub song_id: i64,
    pub title: String,
    pub created_at: String,
    /// Its audio file's size.
    pub audio_bytes: i64,
}

/// The archive candidates: how many, their audio's total size, the first few.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchiveCandidates {
    pub total: i64,
    /// Audio bytes over all `total` candidates, not only the listed ones.
    pub total_bytes: i64,
    pub songs: Vec<ArchiveCandidate>,
}

/// One day's figures for the daily summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayFigures {
    pub passes: Vec<PassEnd>,
    /// Songs in `review` / `needs_human_review` when read.
    pub in_review: i64,
    pub in_human_review: i64,
    pub spend_micro_usd: i64,
    pub by_service: Vec<SpendRow>,
    pub alerts_fired: Vec<AlertBrief>,
    pub alerts_resolved: Vec<AlertBrief>,
    /// Failed stage runs finished in the day, per error class (`unknown` when none).
    pub errors_by_class: Vec<SpendRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertBrief {
    pub id: i64,
    pub key: String,
    pub severity: String,
    pub summary: String,
    pub at: String,
}

/// A report to store: one per kind and period (stored again, it replaces the old one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReport {
    /// `daily` or `weekly_cost`.
    pub kind: String,
    pub period_start: String,
    pub period_end: String,
    pub created_at: String,
    pub markdown: String,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredReport {
    pub id: i64,
    pub kind: String,
    pub period_start: String,
    pub period_end: String,
    pub created_at: String,
    pub markdown: String,
    pub data: serde_json::Value,
}

/// A stored report without its body, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportBrief {
    pub id: i64,
    pub kind: String,
    pub period_start: String,
    pub period_end: String,
    pub created_at: String,
}
