//! The daily summary (SOP daily checklist), scheduled for the evening: the
//! day's processed and failed pipeline passes, songs waiting for review,
//! spend, alerts fired and resolved, errors by class, and the 24 h KPIs.

use super::{money, usd};
use crate::kpi::{self, KpiReport, KpiSettings};
use chrono::{DateTime, Duration, Utc};
use molt_core::time::stamp;
use molt_store::reports::AlertBrief;
use molt_store::{ReportStore, StoreResult};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub name: String,
    pub count: i64,
    pub usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailySummary {
    pub period_start: String,
    pub period_end: String,
    /// Pipeline passes completed (to review or needs_human_review) in the day.
    pub processed: i64,
    /// Pipeline passes that ended failed in the day.
    pub failed: i64,
    /// Songs in `review` / `needs_human_review` when the summary was made.
    pub in_review: i64,
    pub in_human_review: i64,
    pub cost_usd: f64,
    pub cost_by_service: Vec<Count>,
    pub alerts_fired: Vec<AlertBrief>,
    pub alerts_resolved: Vec<AlertBrief>,
    /// Failed stage runs per error class.
    pub errors: Vec<Count>,
    /// The KPIs over the 24 h ending at the period's end.
    pub kpis: KpiReport,
}

pub fn build(
    store: &dyn ReportStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    settings: &KpiSettings,
) -> StoreResult<DailySummary> {
    let f = store.day_figures(&stamp(from), &stamp(to))?;
    let failed = f.passes.iter().filter(|p| p.to == "failed").count() as i64;
    let count = |rows: &[molt_store::reports::SpendRow]| -> Vec<Count> {
        rows.iter().map(|r| Count { name: r.key.clone(), count: r.calls, usd: usd(r.micro_usd) }).collect()
    };
    Ok(DailySummary {
        period_start: stamp(from),
        period_end: stamp(to),
        processed: f.passes.len() as i64 - failed,
        failed,
        in_review: f.in_review,
        in_human_review: f.in_human_review,
        cost_usd: usd(f.spend_micro_usd),
        cost_by_service: count(&f.by_service),
        alerts_fired: f.alerts_fired,
        alerts_resolved: f.alerts_resolved,
        errors: count(&f.errors_by_class),
        kpis: kpi::compute(store, to - Duration::hours(24), to, settings)?,
    })
}

impl DailySummary {
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Daily summary\n\n{} → {} (UTC)\n\n## Songs\n\n- Processed: **{}**\n- Failed: **{}**\n\
             - In review: {} (needs human review: {})\n\n## Costs\n\n- Total: **{}**\n",
            self.period_start,
            self.period_end,
            self.processed,
            self.failed,
            self.in_review,
            self.in_human_review,
            money(self.cost_usd)
        );
        for c in &self.cost_by_service {
            md.push_str(&format!("  - {}: {} calls, {}\n", c.name, c.count, money(c.usd)));
        }
        md.push_str(&format!("\n## Alerts\n\n- Fired: {}\n", self.alerts_fired.len()));
        for a in &self.alerts_fired {
            md.push_str(&format!("  - [{}] {}: {} ({})\n", a.severity, a.key, a.summary, a.at));
        }
        md.push_str(&format!("- Resolved: {}\n", self.alerts_resolved.len()));
        for a in &self.alerts_resolved {
            md.push_str(&format!("  - {}: {} ({})\n", a.key, a.summary, a.at));
        }
        md.push_str("\n## Errors (failed stage runs by class)\n\n");
        if self.errors.is_empty() {
            md.push_str("None.\n");
        }
        for e in &self.errors {
            md.push_str(&format!("- {}: {}\n", e.name, e.count));
        }
        md.push_str("\n## KPIs (24 h)\n\n");
        md.push_str(&self.kpis.to_markdown());
        md
    }
}
