//! `molt kpi` and `molt report list|show|generate`.

use super::open_store;
use crate::cli::ReportCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::Config;
use molt_ops::kpi::{self, KpiReport, KpiSettings, Window};
use molt_ops::reports;
use molt_ops::{Clock, SystemClock};
use molt_store::reports::{ReportBrief, StoredReport};
use molt_store::ReportStore;

pub async fn kpi(config: &Config, window: &str, json: bool) -> CliResult {
    let store = open_store(config).await?;
    let window = Window::parse(window)
        .ok_or_else(|| CliError::new("invalid_window", format!("unknown window {window}")))?;
    let report = kpi::kpis_now(&store, &SystemClock, window, &KpiSettings::from_config(&config.monitor))?;
    emit(json, &report, kpi_text);
    Ok(())
}

fn kpi_text(report: &KpiReport) -> String {
    let mut out = format!("KPIs {} → {} (UTC)\n", report.from, report.to);
    for k in &report.kpis {
        let value = k.value.map_or("no data".to_string(), |v| kpi::format_value(v, &k.unit));
        let sign = if k.direction == kpi::Direction::Above { ">" } else { "<" };
        out.push_str(&format!(
            "\n{:<8} {:<28} {:>12}  (target {sign} {})  {}",
            k.status.as_str(),
            k.name,
            value,
            kpi::format_value(k.target, &k.unit),
            k.detail
        ));
    }
    out
}

pub async fn run(config: &Config, command: ReportCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    match command {
        ReportCommand::List { kind, limit } => {
            let kind = kind.as_deref().map(kind_name);
            let list = store.reports(kind, limit)?;
            emit(json, &list, |l| list_text(l));
        }
        ReportCommand::Show { id, markdown } => {
            let report = store
                .report(id)?
                .ok_or_else(|| CliError::new("not_found", format!("report {id} not found")))?;
            emit(json && !markdown, &report, |r: &StoredReport| r.markdown.clone());
        }
        ReportCommand::Generate { kind, at } => {
            let now = SystemClock.now();
            let at = match at {
                Some(text) => molt_core::time::parse_stamp(&text).ok_or_else(|| {
                    CliError::new("invalid_time", format!("{text}: expected an RFC 3339 time"))
                })?,
                None => now,
            };
            let stored = match kind.as_str() {
                "daily" => {
                    reports::generate_daily_at(&store, at, now, &KpiSettings::from_config(&config.monitor))?
                }
                _ => reports::generate_weekly_at(&store, reports::weekly_end(at), now)?,
            };
            emit(json, &stored, |r: &StoredReport| {
                format!(
                    "stored report {} ({}, {} → {})\n\n{}",
                    r.id, r.kind, r.period_start, r.period_end, r.markdown
                )
            });
        }
    }
    Ok(())
}

/// The CLI's `weekly` is the store's `weekly_cost`.
fn kind_name(kind: &str) -> &str {
    match kind {
        "weekly" => reports::WEEKLY_COST,
        other => other,
    }
}

fn list_text(list: &[ReportBrief]) -> String {
    if list.is_empty() {
        return "no reports".into();
    }
    let mut out =
        format!("{:>5}  {:<12} {:<24}  {:<24}  {}", "id", "kind", "period start", "period end", "created");
    for r in list {
        out.push_str(&format!(
            "\n{:>5}  {:<12} {:<24}  {:<24}  {}",
            r.id, r.kind, r.period_start, r.period_end, r.created_at
        ));
    }
    out
}
