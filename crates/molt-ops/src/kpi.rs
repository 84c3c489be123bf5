//! KPIs against the SOP's targets (issue 8, DESIGN §10), over any window.
//!
//! Definitions (the RUNBOOK's "KPIs and reports" says the same):
//! - a **pipeline pass** ends when a song's status changes from `processing`
//!   to `review` or `needs_human_review` (completed) or to `failed` (failed);
//!   the window counts the passes that ended in it. **Songs processed** is
//!   the number of distinct songs with such a pass;
//! - **processing success rate** = completed passes / ended passes (target > 98 %);
//! - **average processing time** = the mean, over completed passes, of the
//!   time from the pass's first stage start (the first stage run after the
//!   song's latest move to `processing`) to its last stage end (target < 5 min);
//! - **cost per song** = settled ledger spend in the window / songs processed
//!   (target < $0.50);
//! - **uptime** = the share of the window covered by `healthy` or `degraded`
//!   status reports, each covering from its time until the next report, at
//!   most 2 × the monitor interval; gaps and `unhealthy` reports count as
//!   down. The window starts no earlier than the first report ever kept
//!   (before it the monitor did not exist); no report at all is "no data"
//!   (target > 99.9 %);
//! - **query response time** = the 95th percentile (nearest rank) of
//!   `query_log.response_ms` in the window (target < 500 ms);
//! - **escalation rate** = escalations raised in the window / songs processed
//!   (target < 5 %).
//!
//! Status: **green** when the target is met (strictly: `>` or `<`);
//! **amber** when it is missed by at most 10 % of the target's limit, measured
//! on the bad quantity: for "lower is better" KPIs a value up to 1.1 × the
//! target, for percentages that must be high the shortfall `100 − value` up to
//! 1.1 × the allowed shortfall `100 − target` (success 97.8 %–98 %, uptime
//! 99.89 %–99.9 %); **red** beyond; **no_data** when there is nothing to
//! measure (no value is ever made up).

use crate::clock::Clock;
use chrono::{DateTime, Duration, Utc};
use molt_core::time::{parse_stamp, stamp};
use molt_store::reports::KpiFigures;
use molt_store::{ReportStore, StoreResult};
use serde::{Deserialize, Serialize};

/// How far past its target a KPI may be and still be amber (10 % of the limit).
pub const AMBER_MARGIN: f64 = 0.10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KpiStatus {
    Green,
    Amber,
    Red,
    NoData,
}

impl KpiStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KpiStatus::Green => "green",
            KpiStatus::Amber => "amber",
            KpiStatus::Red => "red",
            KpiStatus::NoData => "no_data",
        }
    }
}

/// Whether a KPI must stay above or below its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Above,
    Below,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kpi {
    /// Stable key: `success_rate`, `avg_processing_time`, `cost_per_song`,
    /// `uptime`, `query_response_p95`, `escalation_rate`.
    pub key: String,
    pub name: String,
    /// `None` when there was nothing to measure.
    pub value: Option<f64>,
    pub target: f64,
    pub direction: Direction,
    /// `%`, `min`, `USD`, `ms`.
    pub unit: String,
    pub status: KpiStatus,
    /// How the value was obtained (counts behind it), or why there is none.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KpiReport {
    pub from: String,
    pub to: String,
    pub kpis: Vec<Kpi>,
}

impl KpiReport {
    pub fn get(&self, key: &str) -> Option<&Kpi> {
        self.kpis.iter().find(|k| k.key == key)
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::from("| KPI | value | target | status |\n|---|---|---|---|\n");
        for k in &self.kpis {
            let value = k.value.map_or("no data".to_string(), |v| format_value(v, &k.unit));
            let sign = if k.direction == Direction::Above { ">" } else { "<" };
            out.push_str(&format!(
                "| {} | {} | {} {} | {} |\n",
                k.name,
                value,
                sign,
                format_value(k.target, &k.unit),
                k.status.as_str()
            ));
        }
        out
    }
}

pub fn format_value(v: f64, unit: &str) -> String {
    match unit {
        "%" => format!("{v:.2} %"),
        "USD" => format!("${v:.4}"),
        "ms" => format!("{v:.0} ms"),
        "min" => format!("{v:.2} min"),
        other => format!("{v} {other}"),
    }
}

/// The KPI windows the CLI and API name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hours24,
    Days7,
    Days30,
}

impl Window {
    pub fn parse(text: &str) -> Option<Window> {
        match text {
            "24h" | "1d" => Some(Window::Hours24),
            "7d" => Some(Window::Days7),
            "30d" => Some(Window::Days30),
            _ => None,
        }
    }

    pub fn duration(self) -> Duration {
        match self {
            Window::Hours24 => Duration::hours(24),
            Window::Days7 => Duration::days(7),
            Window::Days30 => Duration::days(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KpiSettings {
    /// The monitor's interval: a status report covers at most twice this.
    pub monitor_interval: Duration,
}

impl Default for KpiSettings {
    fn default() -> Self {
        KpiSettings { monitor_interval: Duration::seconds(60) }
    }
}

impl KpiSettings {
    pub fn from_config(config: &molt_core::config::MonitorConfig) -> KpiSettings {
        KpiSettings { monitor_interval: Duration::seconds(config.interval_secs.min(86_400 * 365) as i64) }
    }
}

/// The KPIs over the window that ends now.
pub fn kpis_now(
    store: &dyn ReportStore,
    clock: &dyn Clock,
    window: Window,
    settings: &KpiSettings,
) -> StoreResult<KpiReport> {
    let to = clock.now();
    compute(store, to - window.duration(), to, settings)
}

/// The KPIs over `[from, to)`.
pub fn compute(
    store: &dyn ReportStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    settings: &KpiSettings,
) -> StoreResult<KpiReport> {
    let cover = settings.monitor_interval * 2;
    let figures = store.kpi_figures(&stamp(from), &stamp(to), &stamp(from - cover))?;
    Ok(from_figures(&figures, from, to, settings))
}

/// `green` / `amber` / `red` of a measured value (see the module's definition of amber).
pub fn status_of(value: f64, target: f64, direction: Direction, percent: bool) -> KpiStatus {
    match direction {
        Direction::Below if value < target => KpiStatus::Green,
        Direction::Below if value <= target * (1.0 + AMBER_MARGIN) => KpiStatus::Amber,
        Direction::Below => KpiStatus::Red,
        Direction::Above if value > target => KpiStatus::Green,
        Direction::Above if percent && 100.0 - value <= (100.0 - target) * (1.0 + AMBER_MARGIN) + 1e-9 => {
            KpiStatus::Amber
        }
        Direction::Above if !percent && value >= target * (1.0 - AMBER_MARGIN) => KpiStatus::Amber,
        Direction::Above => KpiStatus::Red,
    }
}

fn kpi(
    key: &str,
    name: &str,
    value: Option<f64>,
    target: f64,
    direction: Direction,
    unit: &str,
    detail: String,
) -> Kpi {
    let status = match value {
        Some(v) => status_of(v, target, direction, unit == "%"),
        None => KpiStatus::NoData,
    };
    Kpi { key: key.into(), name: name.into(), value, target, direction, unit: unit.into(), status, detail }
}

pub fn from_figures(
    f: &KpiFigures,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    settings: &KpiSettings,
) -> KpiReport {
    let ended = f.passes.len() as i64;
    let completed: Vec<_> = f.passes.iter().filter(|p| p.to != "failed").collect();
    let failed = ended - completed.len() as i64;
    let songs = {
        let mut ids: Vec<i64> = f.passes.iter().map(|p| p.song_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len() as i64
    };
    let mut kpis = Vec::new();

    kpis.push(kpi(
        "success_rate",
        "processing success rate",
        (ended > 0).then(|| completed.len() as f64 * 100.0 / ended as f64),
        98.0,
        Direction::Above,
        "%",
        if ended > 0 {
            format!("{} of {ended} pipeline passes completed, {failed} failed", completed.len())
        } else {
            "no pipeline pass ended in the window".into()
        },
    ));

    let durations: Vec<i64> = completed.iter().filter_map(|p| p.duration_ms).collect();
    kpis.push(kpi(
        "avg_processing_time",
        "average processing time",
        (!durations.is_empty())
            .then(|| durations.iter().sum::<i64>() as f64 / durations.len() as f64 / 60_000.0),
        5.0,
        Direction::Below,
        "min",
        if durations.is_empty() {
            "no completed pass with stage runs in the window".into()
        } else {
            format!("mean over {} completed passes", durations.len())
        },
    ));

    kpis.push(kpi(
        "cost_per_song",
        "cost per song",
        (songs > 0).then(|| crate::usd(f.spend_micro_usd) / songs as f64),
        0.50,
        Direction::Below,
        "USD",
        if songs > 0 {
            format!("${:.4} spent / {songs} songs processed", crate::usd(f.spend_micro_usd))
        } else {
            format!("${:.4} spent, no song processed", crate::usd(f.spend_micro_usd))
        },
    ));

    let (uptime, detail) = uptime(f, from, to, settings.monitor_interval * 2);
    kpis.push(kpi("uptime", "uptime", uptime, 99.9, Direction::Above, "%", detail));

    kpis.push(kpi(
        "query_response_p95",
        "query response time (p95)",
        f.query_p95_ms.map(|v| v as f64),
        500.0,
        Direction::Below,
        "ms",
        if f.queries > 0 {
            format!("95th percentile (nearest rank) of {} queries", f.queries)
        } else {
            "no query logged in the window".into()
        },
    ));

    kpis.push(kpi(
        "escalation_rate",
        "escalation rate",
        (songs > 0).then(|| f.escalations as f64 * 100.0 / songs as f64),
        5.0,
        Direction::Below,
        "%",
        if songs > 0 {
            format!("{} escalations / {songs} songs processed", f.escalations)
        } else {
            format!("{} escalations, no song processed", f.escalations)
        },
    ));

    KpiReport { from: stamp(from), to: stamp(to), kpis }
}

/// Uptime in percent over `[from, to)` (see the module's definition), and how it was measured.
fn uptime(f: &KpiFigures, from: DateTime<Utc>, to: DateTime<Utc>, cover: Duration) -> (Option<f64>, String) {
    let reports: Vec<(DateTime<Utc>, bool)> = f
        .status_reports
        .iter()
        .filter_map(|(at, status)| parse_stamp(at).map(|t| (t, status != "unhealthy")))
        .collect();
    let first = f.first_status_at.as_deref().and_then(parse_stamp);
    let start = match first {
        Some(first) if first > from => first,
        _ => from,
    };
    if reports.is_empty() || start >= to {
        return (None, "no status report in the window".into());
    }
    let mut up = Duration::zero();
    for (i, (at, healthy)) in reports.iter().enumerate() {
        if !healthy {
            continue;
        }
        let mut end = *at + cover;
        if let Some((next, _)) = reports.get(i + 1) {
            end = end.min(*next);
        }
        let (s, e) = ((*at).max(start), end.min(to));
        if e > s {
            up += e - s;
        }
    }
    let total = (to - start).num_milliseconds() as f64;
    let value = up.num_milliseconds() as f64 * 100.0 / total;
    let down_s = (total - up.num_milliseconds() as f64) / 1000.0;
    (
        Some(value),
        format!(
            "{} status reports from {}; {:.0} s down of {:.0} s",
            reports.len(),
            stamp(start),
            down_s,
            total / 1000.0
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amber_is_within_ten_percent_of_the_limit_on_the_wrong_side() {
        use Direction::*;
        assert_eq!(status_of(4.0, 5.0, Below, false), KpiStatus::Green);
        assert_eq!(status_of(5.0, 5.0, Below, false), KpiStatus::Amber);
        assert_eq!(status_of(5.5, 5.0, Below, false), KpiStatus::Amber);
        assert_eq!(status_of(5.6, 5.0, Below, false), KpiStatus::Red);
        assert_eq!(status_of(98.5, 98.0, Above, true), KpiStatus::Green);
        assert_eq!(status_of(97.8, 98.0, Above, true), KpiStatus::Amber);
        assert_eq!(status_of(97.7, 98.0, Above, true), KpiStatus::Red);
        assert_eq!(status_of(99.89, 99.9, Above, true), KpiStatus::Amber);
        assert_eq!(status_of(99.8, 99.9, Above, true), KpiStatus::Red);
    }
}
