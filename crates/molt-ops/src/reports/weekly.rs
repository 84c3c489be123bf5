//! The weekly cost optimisation report (SOP Workflow 3): the 7 days ending at
//! a given time (scheduled Friday 18:00 UTC), against the 7 days before.
//!
//! It ends with recommendations derived from the week's figures by threshold
//! rules (the RUNBOOK lists them). Every rule that fires is included; when
//! fewer than 3 fire, the best-scoring (largest estimated saving) of the
//! rules that did not fire but could be computed from this week's data are
//! added. Every recommendation quotes the figures it was computed from.

use super::{money, usd, WEEKS_PER_MONTH};
use chrono::{DateTime, Duration, Utc};
use molt_core::time::stamp;
use molt_store::reports::{ArchiveCandidate, ArchiveCandidates, CostFigures, ModelUse, SpendRow};
use molt_store::{ReportStore, StoreResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Thresholds of the recommendation rules.
pub const MODEL_SHARE_PERCENT: f64 = 40.0;
pub const CACHE_HIT_MIN_PERCENT: f64 = 20.0;
pub const WASTE_MAX_PERCENT: f64 = 5.0;
/// Peak: the 3 costliest UTC hours carry more than this share of spend.
pub const PEAK_HOURS: usize = 3;
pub const PEAK_SHARE_PERCENT: f64 = 50.0;
/// Budget headroom: the costliest day under this share of the daily cap, or over the high mark.
pub const BUDGET_LOW_PERCENT: f64 = 50.0;
pub const BUDGET_HIGH_PERCENT: f64 = 80.0;
/// Archive candidates: published, older than this, with no views over the same span.
pub const ARCHIVE_AFTER_DAYS: i64 = 90;
/// Archive candidates listed in a report.
pub const ARCHIVE_LISTED: usize = 50;

/// The archive candidates at `at`: published songs created more than
/// [`ARCHIVE_AFTER_DAYS`] before it with no views since (the weekly report and
/// `molt song archive --candidates` read the same).
pub fn archive_candidates(
    store: &dyn ReportStore,
    at: DateTime<Utc>,
    limit: usize,
) -> StoreResult<ArchiveCandidates> {
    let since = at - Duration::days(ARCHIVE_AFTER_DAYS);
    store.archive_candidates(&stamp(since), &since.format("%Y-%m-%d").to_string(), limit)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    Low,
    Medium,
    High,
}

impl Effort {
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
        }
    }
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Operator => "operator",
            Owner::Engineering => "engineering (hand-off)",
        }
    }
}

/// Who acts: the operator (low effort, can do it now) or engineering (a hand-off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    Operator,
    Engineering,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The rule: `switch_model`, `cache`, `failing_provider`, `off_peak`,
    /// `archive`, `cost_per_song`, `budget_headroom`.
    pub rule: String,
    pub title: String,
    /// Why, quoting the figures.
    pub detail: String,
    /// The figures that triggered it (or were checked), by name.
    pub figures: BTreeMap<String, f64>,
    pub monthly_saving_usd: f64,
    /// How the saving was computed.
    pub saving_basis: String,
    pub effort: Effort,
    pub owner: Owner,
    /// The rule's threshold was crossed (false: added to reach 3).
    pub fired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    pub name: String,
    pub calls: i64,
    pub usd: f64,
    pub share_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourUse {
    /// `00`…`23` (UTC).
    pub hour: String,
    pub calls: i64,
    pub usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeeklyCostReport {
    pub period_start: String,
    pub period_end: String,
    pub total_usd: f64,
    pub previous_total_usd: f64,
    pub change_usd: f64,
    /// `None` when the previous week spent nothing.
    pub change_percent: Option<f64>,
    pub calls: i64,
    pub songs_processed: i64,
    pub cost_per_song_usd: Option<f64>,
    pub top_services: Vec<Driver>,
    /// `stage/provider/model`.
    pub top_models: Vec<Driver>,
    pub failed_calls: i64,
    pub failed_call_waste_usd: f64,
    pub failed_call_waste_percent: Option<f64>,
    /// Failed-call spend per `provider/model`.
    pub waste_by_provider: Vec<Driver>,
    pub failed_stage_runs: i64,
    pub failed_stage_runs_usd: f64,
    pub cache_hits: i64,
    pub cache_hit_rate_percent: Option<f64>,
    /// Paid calls repeating an input already paid for (same song, stage and model).
    pub repeat_calls: i64,
    pub repeat_usd: f64,
    /// Every UTC hour with calls, in hour order.
    pub hours: Vec<HourUse>,
    /// The hour with the most spend (ties: the most calls, then the earliest).
    pub peak_hour: Option<String>,
    pub max_day: Option<String>,
    pub max_day_usd: f64,
    pub daily_budget_usd: Option<f64>,
    pub per_song_budget_usd: Option<f64>,
    pub archive_candidates_total: i64,
    pub archive_candidates: Vec<ArchiveCandidate>,
    pub archive_candidates_bytes: i64,
    pub recommendations: Vec<Recommendation>,
}

fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part * 100.0 / whole
    } else {
        0.0
    }
}

fn drivers(rows: &[SpendRow], total: f64) -> Vec<Driver> {
    rows.iter()
        .map(|r| Driver {
            name: r.key.clone(),
            calls: r.calls,
            usd: usd(r.micro_usd),
            share_percent: share(usd(r.micro_usd), total),
        })
        .collect()
}

fn model_name(m: &ModelUse) -> String {
    format!("{}/{}/{}", m.stage, m.provider, m.model)
}

/// Builds the report of the 7 days ending at `end`.
pub fn build(store: &dyn ReportStore, end: DateTime<Utc>) -> StoreResult<WeeklyCostReport> {
    let start = end - Duration::days(7);
    let week = store.cost_figures(&stamp(start), &stamp(end))?;
    let previous = store.cost_figures(&stamp(start - Duration::days(7)), &stamp(start))?;
    let archive = archive_candidates(store, end, ARCHIVE_LISTED)?;
    let mut report = from_figures(&week, previous.spend_micro_usd, start, end);
    report.archive_candidates_total = archive.total;
    report.archive_candidates_bytes = archive.total_bytes;
    report.archive_candidates = archive.songs;
    report.recommendations = recommend(&report, &week);
    Ok(report)
}

fn from_figures(
    f: &CostFigures,
    previous_micro: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> WeeklyCostReport {
    let total = usd(f.spend_micro_usd);
    let previous = usd(previous_micro);
    let failed: Vec<&SpendRow> = f
        .by_outcome
        .iter()
        .filter(|r| matches!(r.key.as_str(), "error" | "timeout" | "rate_limited"))
        .collect();
    let waste = usd(failed.iter().map(|r| r.micro_usd).sum());
    let mut peak: Vec<&SpendRow> = f.by_hour.iter().collect();
    peak.sort_by(|a, b| b.micro_usd.cmp(&a.micro_usd).then(b.calls.cmp(&a.calls)).then(a.key.cmp(&b.key)));
    let max_day = f.by_day.iter().max_by(|a, b| a.micro_usd.cmp(&b.micro_usd).then(b.key.cmp(&a.key)));
    let budget = |scope: &str| f.budgets.iter().find(|(s, _)| s == scope).map(|(_, v)| usd(*v));
    let top_models: Vec<SpendRow> = f
        .by_model
        .iter()
        .map(|m| SpendRow { key: model_name(m), calls: m.calls, micro_usd: m.micro_usd })
        .collect();
    WeeklyCostReport {
        period_start: stamp(start),
        period_end: stamp(end),
        total_usd: total,
        previous_total_usd: previous,
        change_usd: total - previous,
        change_percent: (previous_micro > 0).then(|| (total - previous) * 100.0 / previous),
        calls: f.calls,
        songs_processed: f.songs_processed,
        cost_per_song_usd: (f.songs_processed > 0).then(|| total / f.songs_processed as f64),
        top_services: drivers(&f.by_service, total),
        top_models: drivers(&top_models, total),
        failed_calls: failed.iter().map(|r| r.calls).sum(),
        failed_call_waste_usd: waste,
        failed_call_waste_percent: (f.spend_micro_usd > 0).then(|| share(waste, total)),
        waste_by_provider: drivers(&f.failed_by_provider, total),
        failed_stage_runs: f.failed_stage_runs,
        failed_stage_runs_usd: usd(f.failed_stage_runs_micro_usd),
        cache_hits: f.cache_hits,
        cache_hit_rate_percent: (f.calls > 0).then(|| f.cache_hits as f64 * 100.0 / f.calls as f64),
        repeat_calls: f.repeat_calls,
        repeat_usd: usd(f.repeat_micro_usd),
        hours: f
            .by_hour
            .iter()
            .map(|r| HourUse { hour: r.key.clone(), calls: r.calls, usd: usd(r.micro_usd) })
            .collect(),
        peak_hour: peak.first().map(|r| r.key.clone()),
        max_day: max_day.map(|d| d.key.clone()),
        max_day_usd: max_day.map_or(0.0, |d| usd(d.micro_usd)),
        daily_budget_usd: budget("per_day"),
        per_song_budget_usd: budget("per_song"),
        archive_candidates_total: 0,
        archive_candidates: Vec::new(),
        archive_candidates_bytes: 0,
        recommendations: Vec::new(),
    }
}

fn figures(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), round(*v))).collect()
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Every rule that can be computed from the week, fired or not.
fn candidates(r: &WeeklyCostReport, f: &CostFigures) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let total = r.total_usd;

    // 1. A model carrying > 40 % of spend while a cheaper model served the same stage.
    let mut best: Option<(f64, &ModelUse, &ModelUse, f64, f64)> = None;
    for m in &f.by_model {
        if m.ok_calls == 0 {
            continue;
        }
        let avg = usd(m.ok_micro_usd) / m.ok_calls as f64;
        for alt in f
            .by_model
            .iter()
            .filter(|a| a.stage == m.stage && a.ok_calls > 0 && model_name(a) != model_name(m))
        {
            let alt_avg = usd(alt.ok_micro_usd) / alt.ok_calls as f64;
            if alt_avg < avg {
                let saving = (avg - alt_avg) * m.ok_calls as f64 * WEEKS_PER_MONTH;
                let better = match &best {
                    None => true,
                    Some((s, bm, ..)) => {
                        let (share_new, share_old) = (m.micro_usd, bm.micro_usd);
                        (share_new, saving) > (share_old, *s)
                    }
                };
                if better {
                    best = Some((saving, m, alt, avg, alt_avg));
                }
            }
        }
    }
    if let Some((saving, m, alt, avg, alt_avg)) = best {
        let pct = share(usd(m.micro_usd), total);
        out.push(Recommendation {
            rule: "switch_model".into(),
            title: format!(
                "Switch {} from {}/{} to {}/{}",
                m.stage, m.provider, m.model, alt.provider, alt.model
            ),
            detail: format!(
                "{}/{} carried {pct:.1} % of this week's spend ({} of {}) at {} per successful call; \
                 {}/{} did the same stage for {} per call.",
                m.provider,
                m.model,
                money(usd(m.micro_usd)),
                money(total),
                money(avg),
                alt.provider,
                alt.model,
                money(alt_avg)
            ),
            figures: figures(&[
                ("model_spend_share_percent", pct),
                ("model_usd_per_call", avg),
                ("alternative_usd_per_call", alt_avg),
                ("model_ok_calls", m.ok_calls as f64),
            ]),
            monthly_saving_usd: round(saving),
            saving_basis: format!(
                "({} − {}) per call × {} successful calls this week × 30/7",
                money(avg),
                money(alt_avg),
                m.ok_calls
            ),
            effort: Effort::Medium,
            owner: Owner::Engineering,
            fired: pct > MODEL_SHARE_PERCENT,
        });
    }

    // 2. A low cache hit rate while the same inputs are paid for again.
    if let Some(rate) = r.cache_hit_rate_percent {
        out.push(Recommendation {
            rule: "cache".into(),
            title: format!("Raise the response cache's reuse (hit rate {rate:.1} %)"),
            detail: format!(
                "{} of {} calls hit the cache ({rate:.1} %); {} paid calls repeated an input already paid \
                 for (same song, stage and model), costing {}. Check the cache keys and lengthen the TTL.",
                r.cache_hits,
                r.calls,
                r.repeat_calls,
                money(r.repeat_usd)
            ),
            figures: figures(&[
                ("cache_hit_rate_percent", rate),
                ("repeat_calls", r.repeat_calls as f64),
                ("repeat_usd", r.repeat_usd),
            ]),
            monthly_saving_usd: round(r.repeat_usd * WEEKS_PER_MONTH),
            saving_basis: format!("{} spent on repeated inputs this week × 30/7", money(r.repeat_usd)),
            effort: Effort::Medium,
            owner: Owner::Engineering,
            fired: rate < CACHE_HIT_MIN_PERCENT && r.repeat_calls > 0,
        });
    }

    // 3. Failed calls wasting more than 5 % of spend: fix the worst provider.
    if let (Some(worst), Some(pct)) = (r.waste_by_provider.first(), r.failed_call_waste_percent) {
        out.push(Recommendation {
            rule: "failing_provider".into(),
            title: format!("Fix the failing calls to {}", worst.name),
            detail: format!(
                "{} failed calls (error, timeout, rate limited) cost {} = {pct:.1} % of spend; {} alone \
                 failed {} times for {}. {} stage runs failed, costing {}.",
                r.failed_calls,
                money(r.failed_call_waste_usd),
                worst.name,
                worst.calls,
                money(worst.usd),
                r.failed_stage_runs,
                money(r.failed_stage_runs_usd)
            ),
            figures: figures(&[
                ("failed_call_waste_usd", r.failed_call_waste_usd),
                ("failed_call_waste_percent", pct),
                ("provider_failed_calls", worst.calls as f64),
                ("provider_waste_usd", worst.usd),
            ]),
            monthly_saving_usd: round(worst.usd * WEEKS_PER_MONTH),
            saving_basis: format!(
                "{}'s failed-call spend this week ({}) × 30/7",
                worst.name,
                money(worst.usd)
            ),
            effort: Effort::Medium,
            owner: Owner::Engineering,
            fired: pct > WASTE_MAX_PERCENT,
        });
    }

    // 4. Spend concentrated in a few hours while calls were rate limited:
    // spreading the load is what avoids the throttling (the ledger has no
    // peak prices, so concentration alone saves nothing).
    if !r.hours.is_empty() && total > 0.0 {
        let mut hours = r.hours.clone();
        hours.sort_by(|a, b| b.usd.total_cmp(&a.usd).then(a.hour.cmp(&b.hour)));
        let top: Vec<&HourUse> = hours.iter().take(PEAK_HOURS).collect();
        let top_usd: f64 = top.iter().map(|h| h.usd).sum();
        let pct = share(top_usd, total);
        let limited = f.by_outcome.iter().find(|o| o.key == "rate_limited").map_or(0, |o| o.micro_usd);
        let names: Vec<String> = top.iter().map(|h| format!("{}:00", h.hour)).collect();
        out.push(Recommendation {
            rule: "off_peak".into(),
            title: format!("Batch processing away from {} UTC", names.join(", ")),
            detail: format!(
                "The {} costliest hours ({}) carried {} = {pct:.1} % of spend; rate-limited calls cost {}. \
                 Queue non-urgent songs for quieter hours to stay under the providers' rate limits.",
                top.len(),
                names.join(", "),
                money(top_usd),
                money(usd(limited))
            ),
            figures: figures(&[
                ("peak_hours_share_percent", pct),
                ("peak_hours_usd", top_usd),
                ("rate_limited_usd", usd(limited)),
            ]),
            monthly_saving_usd: round(usd(limited) * WEEKS_PER_MONTH),
            saving_basis: format!("rate-limited spend this week ({}) × 30/7", money(usd(limited))),
            effort: Effort::Low,
            owner: Owner::Operator,
            fired: pct > PEAK_SHARE_PERCENT && limited > 0,
        });
    }

    // 5. Archive candidates. `archive/` is on the studio's own disk, so the
    // saving is space, not money.
    if r.archive_candidates_total > 0 {
        let gb = r.archive_candidates_bytes as f64 / 1e9;
        out.push(Recommendation {
            rule: "archive".into(),
            title: format!("Archive {} published songs with no views in {ARCHIVE_AFTER_DAYS} days", r.archive_candidates_total),
            detail: format!(
                "{} published songs are older than {ARCHIVE_AFTER_DAYS} days with no views since; their audio \
                 holds {:.3} GB of the live assets.",
                r.archive_candidates_total,
                gb
            ),
            figures: figures(&[
                ("archive_candidates", r.archive_candidates_total as f64),
                ("archive_gb", gb),
            ]),
            monthly_saving_usd: 0.0,
            saving_basis: format!(
                "none in money: archive/ is on the same disk; {gb:.3} GB leave the live assets"
            ),
            effort: Effort::Low,
            owner: Owner::Operator,
            fired: true,
        });
    }

    // 6. Cost per song over the per-song budget.
    if let (Some(cps), Some(limit)) = (r.cost_per_song_usd, r.per_song_budget_usd) {
        if cps > limit {
            let saving = (cps - limit) * r.songs_processed as f64 * WEEKS_PER_MONTH;
            out.push(Recommendation {
                rule: "cost_per_song".into(),
                title: format!(
                    "Bring the cost per song from {} down to the {} budget",
                    money(cps),
                    money(limit)
                ),
                detail: format!(
                    "{} songs processed for {} = {} per song, over the per-song budget of {}.",
                    r.songs_processed,
                    money(total),
                    money(cps),
                    money(limit)
                ),
                figures: figures(&[
                    ("cost_per_song_usd", cps),
                    ("per_song_budget_usd", limit),
                    ("songs_processed", r.songs_processed as f64),
                ]),
                monthly_saving_usd: round(saving),
                saving_basis: format!(
                    "({} − {}) × {} songs this week × 30/7",
                    money(cps),
                    money(limit),
                    r.songs_processed
                ),
                effort: Effort::High,
                owner: Owner::Engineering,
                fired: true,
            });
        }
    }

    // 7. Daily budget headroom (or no cap at all).
    if let Some(day) = r.max_day.as_ref() {
        out.push(budget_headroom(r, day));
    }
    out
}

/// The daily cap against the costliest day: lower it to twice that day when
/// far below, review it when nearly reached, set one when there is none.
fn budget_headroom(r: &WeeklyCostReport, day: &str) -> Recommendation {
    let proposed = (r.max_day_usd * 2.0).ceil().max(1.0);
    let Some(cap) = r.daily_budget_usd else {
        return Recommendation {
            rule: "budget_headroom".into(),
            title: format!("Set a daily budget cap of {}", money(proposed)),
            detail: format!(
                "No daily budget caps spend; the costliest day ({day}) spent {}. A cap of twice that \
                 stops a runaway day.",
                money(r.max_day_usd)
            ),
            figures: figures(&[("max_day_usd", r.max_day_usd), ("proposed_daily_budget_usd", proposed)]),
            monthly_saving_usd: 0.0,
            saving_basis: "none directly: the cap limits the worst case of a runaway day".into(),
            effort: Effort::Low,
            owner: Owner::Operator,
            fired: true,
        };
    };
    let pct = share(r.max_day_usd, cap);
    let (title, fired) = if pct > BUDGET_HIGH_PERCENT {
        (format!("Daily spend reached {pct:.0} % of the {} cap: review the daily budget", money(cap)), true)
    } else if proposed < cap {
        (
            format!("Lower the daily budget cap from {} to {}", money(cap), money(proposed)),
            pct < BUDGET_LOW_PERCENT,
        )
    } else {
        (format!("Keep the daily budget cap of {}: the costliest day used {pct:.0} %", money(cap)), false)
    };
    Recommendation {
        rule: "budget_headroom".into(),
        title,
        detail: format!(
            "The costliest day ({day}) spent {} = {pct:.1} % of the daily cap of {}.",
            money(r.max_day_usd),
            money(cap)
        ),
        figures: figures(&[
            ("max_day_usd", r.max_day_usd),
            ("daily_budget_usd", cap),
            ("max_day_percent_of_cap", pct),
        ]),
        monthly_saving_usd: 0.0,
        saving_basis: "none directly: the cap limits the worst case of a runaway day".into(),
        effort: Effort::Low,
        owner: Owner::Operator,
        fired,
    }
}

/// The fired rules, by saving; then, to reach 3, the best-scoring of the others.
pub fn recommend(r: &WeeklyCostReport, f: &CostFigures) -> Vec<Recommendation> {
    let mut all = candidates(r, f);
    all.sort_by(|a, b| b.fired.cmp(&a.fired).then(b.monthly_saving_usd.total_cmp(&a.monthly_saving_usd)));
    let fired = all.iter().filter(|c| c.fired).count();
    all.truncate(fired.max(3));
    all
}

impl WeeklyCostReport {
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Weekly cost optimisation report\n\n{} → {} (UTC)\n\n## Spend\n\n",
            self.period_start, self.period_end
        );
        let change = match self.change_percent {
            Some(p) => format!("{p:+.1} %"),
            None => "n/a: nothing spent the week before".into(),
        };
        let sign = if self.change_usd < 0.0 { "−" } else { "+" };
        md.push_str(&format!(
            "- Total: **{}** ({} the week before; change {sign}{}, {change})\n\
             - Calls: {}; songs processed: {}; cost per song: {}\n\n",
            money(self.total_usd),
            money(self.previous_total_usd),
            money(self.change_usd.abs()),
            self.calls,
            self.songs_processed,
            self.cost_per_song_usd.map_or("n/a".into(), money)
        ));
        for (title, rows) in [
            ("Top cost drivers by service", &self.top_services),
            ("Top cost drivers by model (stage/provider/model)", &self.top_models),
        ] {
            md.push_str(&format!("## {title}\n\n| name | calls | spend | share |\n|---|---|---|---|\n"));
            for d in rows.iter().take(10) {
                md.push_str(&format!(
                    "| {} | {} | {} | {:.1} % |\n",
                    d.name,
                    d.calls,
                    money(d.usd),
                    d.share_percent
                ));
            }
            md.push('\n');
        }
        md.push_str(&format!(
            "## Failed-call waste\n\n- Failed calls (error, timeout, rate limited): {}, costing **{}** ({})\n- Failed stage runs: {}, costing {}\n",
            self.failed_calls,
            money(self.failed_call_waste_usd),
            self.failed_call_waste_percent.map_or("n/a".into(), |p| format!("{p:.1} % of spend")),
            self.failed_stage_runs,
            money(self.failed_stage_runs_usd)
        ));
        for d in &self.waste_by_provider {
            md.push_str(&format!("  - {}: {} failed calls, {}\n", d.name, d.calls, money(d.usd)));
        }
        md.push_str(&format!(
            "\n## Cache\n\n- Hit rate: **{}** ({} of {} calls)\n- Paid calls repeating an input: {} ({})\n\n",
            self.cache_hit_rate_percent.map_or("n/a".into(), |p| format!("{p:.1} %")),
            self.cache_hits,
            self.calls,
            self.repeat_calls,
            money(self.repeat_usd)
        ));
        md.push_str(&format!(
            "## Peak hours (UTC)\n\nPeak hour: **{}**\n\n| hour | calls | spend |\n|---|---|---|\n",
            self.peak_hour.as_deref().map_or("n/a".into(), |h| format!("{h}:00"))
        ));
        for h in &self.hours {
            md.push_str(&format!("| {}:00 | {} | {} |\n", h.hour, h.calls, money(h.usd)));
        }
        md.push_str(&format!(
            "\n## Archive candidates\n\n{} published songs older than {ARCHIVE_AFTER_DAYS} days with no views since.\n",
            self.archive_candidates_total
        ));
        for c in &self.archive_candidates {
            md.push_str(&format!("- #{} {} (created {})\n", c.song_id, c.title, c.created_at));
        }
        md.push_str("\n## Recommendations\n\n");
        if self.recommendations.is_empty() {
            md.push_str("No data this week to derive recommendations from.\n");
        }
        for (i, r) in self.recommendations.iter().enumerate() {
            md.push_str(&format!(
                "{}. **{}**{}\n   - {}\n   - Estimated saving: {} per month ({})\n   - Effort: {}; owner: {}\n",
                i + 1,
                r.title,
                if r.fired { "" } else { " (below its threshold; listed to reach three)" },
                r.detail,
                money(r.monthly_saving_usd),
                r.saving_basis,
                r.effort.as_str(),
                r.owner.as_str()
            ));
        }
        md
    }
}
