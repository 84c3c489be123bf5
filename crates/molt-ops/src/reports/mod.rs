//! Stored reports (issue 8): the daily summary and the weekly cost
//! optimisation report. Each is a serde struct; its Markdown is rendered from
//! the same struct, and both are stored in `reports` (one per kind and
//! period, replaced when generated again).

pub mod daily;
pub mod weekly;

use crate::clock::Clock;
use crate::kpi::KpiSettings;
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use molt_core::time::stamp;
use molt_store::reports::{NewReport, StoredReport};
use molt_store::{ReportStore, StoreResult};

pub use daily::DailySummary;
pub use weekly::{Effort, Owner, Recommendation, WeeklyCostReport};

/// The `reports.kind` of each report.
pub const DAILY: &str = "daily";
pub const WEEKLY_COST: &str = "weekly_cost";

/// A month, for savings: 30 days, so a week's figure × 30/7.
pub const WEEKS_PER_MONTH: f64 = 30.0 / 7.0;

pub(crate) use crate::usd;

pub(crate) fn money(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

/// The daily summary covers the 24 hours ending at `at`: run every evening,
/// the summaries follow one another with no hour left out.
pub fn daily_period(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (at - Duration::days(1), at)
}

/// The Friday 18:00 UTC at or before `at`: the end of the weekly report's week.
pub fn weekly_end(at: DateTime<Utc>) -> DateTime<Utc> {
    let back = (at.weekday().num_days_from_monday() + 7 - Weekday::Fri.num_days_from_monday()) % 7;
    let friday = (at.date_naive() - Duration::days(back as i64)).and_time(NaiveTime::MIN).and_utc()
        + Duration::hours(18);
    if friday > at {
        friday - Duration::days(7)
    } else {
        friday
    }
}

/// Generates the weekly cost report for the 7 days ending at `end` and stores it.
pub fn generate_weekly_at(
    store: &dyn ReportStore,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<StoredReport> {
    let report = weekly::build(store, end)?;
    store.save_report(&NewReport {
        kind: WEEKLY_COST.into(),
        period_start: report.period_start.clone(),
        period_end: report.period_end.clone(),
        created_at: stamp(now),
        markdown: report.to_markdown(),
        data: serde_json::to_value(&report).unwrap_or_default(),
    })
}

/// The scheduled job (Friday 18:00 UTC): the week ending at the latest Friday 18:00.
pub fn generate_weekly(store: &dyn ReportStore, clock: &dyn Clock) -> StoreResult<StoredReport> {
    let now = clock.now();
    generate_weekly_at(store, weekly_end(now), now)
}

/// Generates the daily summary of the day that `at` ends (see [`daily_period`]) and stores it.
pub fn generate_daily_at(
    store: &dyn ReportStore,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &KpiSettings,
) -> StoreResult<StoredReport> {
    let (from, to) = daily_period(at);
    let summary = daily::build(store, from, to, settings)?;
    store.save_report(&NewReport {
        kind: DAILY.into(),
        period_start: summary.period_start.clone(),
        period_end: summary.period_end.clone(),
        created_at: stamp(now),
        markdown: summary.to_markdown(),
        data: serde_json::to_value(&summary).unwrap_or_default(),
    })
}

/// The scheduled job (evening): today's summary so far.
pub fn generate_daily(
    store: &dyn ReportStore,
    clock: &dyn Clock,
    settings: &KpiSettings,
) -> StoreResult<StoredReport> {
    let now = clock.now();
    generate_daily_at(store, now, now, settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        molt_core::time::parse_stamp(s).unwrap()
    }

    #[test]
    fn the_week_ends_on_the_latest_friday_evening() {
        // 2026-11-20 is a Friday.
        assert_eq!(weekly_end(t("2026-11-20T18:00:00Z")), t("2026-11-20T18:00:00Z"));
        assert_eq!(weekly_end(t("2026-11-20T17:59:00Z")), t("2026-11-13T18:00:00Z"));
        assert_eq!(weekly_end(t("2026-11-23T09:00:00Z")), t("2026-11-20T18:00:00Z"));
    }

    #[test]
    fn a_day_is_the_24_hours_before_the_run_so_evening_runs_leave_no_gap() {
        let (monday, tuesday) =
            (daily_period(t("2026-11-16T20:00:00Z")), daily_period(t("2026-11-17T20:00:00Z")));
        assert_eq!(monday, (t("2026-11-15T20:00:00Z"), t("2026-11-16T20:00:00Z")));
        assert_eq!(tuesday.0, monday.1, "21:00–24:00 on Monday is in Tuesday's summary");
    }
}
