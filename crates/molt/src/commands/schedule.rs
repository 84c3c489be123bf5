//! `molt schedule list|run NAME`, and the studio's scheduled jobs
//! ([`studio_scheduler`]), which `molt serve` runs and the CLI lists and runs.

use super::open_store;
use crate::cli::ScheduleCommand;
use crate::output::{emit, CliError, CliResult};
use chrono::{DateTime, Utc};
use molt_core::Config;
use molt_ops::monitor::Monitor;
use molt_ops::scheduler::{
    job_fn, BlockingWork, CatchUp, RunOutcome, RunReport, ScheduleStatus, Scheduler, SchedulerError,
};
use molt_ops::{AlertSink, Clock, SystemClock};
use molt_pipeline::runner::Runner;
use molt_store::{RetentionCutoffs, RetentionStore, SearchStore, SqliteStore};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long the `retention` schedule keeps operational records: from
/// `[retention]` in the configuration (`jobs_days` is the retention of
/// finished jobs; failed ones are kept).
fn retention_cutoffs(config: &molt_core::config::RetentionConfig, now: DateTime<Utc>) -> RetentionCutoffs {
    let before = |days: u64| Some(molt_core::time::stamp(now - chrono::Duration::days(days as i64)));
    RetentionCutoffs {
        jobs: before(config.jobs_days),
        query_log: before(config.query_log_days),
        schedule_runs: before(config.schedule_runs_days),
        alert_notices: before(config.alert_notices_days),
    }
}

/// The studio's schedules. To add one, add a line to the list below: a name,
/// its spec (`every 60s`, `daily HH:MM`, `weekly <day> HH:MM`, UTC), its
/// catch-up policy and the job.
///
/// `runner` is the pipeline runner of a process that has one (`molt serve`);
/// without one, `queue_rescue` builds it from the configuration when it first
/// runs, so listing the schedules never needs the providers.
pub fn studio_scheduler(
    config: &Config,
    store: &SqliteStore,
    clock: Arc<dyn Clock>,
    alerts: Arc<dyn AlertSink>,
    runner: Option<Arc<Runner>>,
    monitor: Arc<Monitor>,
) -> CliResult<Scheduler> {
    let mut scheduler = Scheduler::new(Arc::new(store.clone()), clock, alerts);
    let runner = LazyRunner::new(config, store, runner);
    let add = |s: &mut Scheduler, name: &str, spec: &str, policy: CatchUp, job| {
        s.add(name, spec, policy, job).map(|_| ()).map_err(scheduler_error)
    };
    // The health monitor (SOP Workflow 2): one check a minute by default; a
    // missed check is not worth making up, the next one sees the present.
    let every = format!("every {}s", config.monitor.interval_secs.max(1));
    add(&mut scheduler, "health_check", &every, CatchUp::Skip, Arc::new(health_job(monitor)))?;
    // Jobs whose leases expired (their worker died) go back to the queue, or
    // fail and escalate when out of attempts (E003). Workers do this too
    // before each claim; this covers an API-only node and idle times.
    add(&mut scheduler, "queue_rescue", "every 5m", CatchUp::Skip, Arc::new(rescue_job(runner)))?;
    // Operational records past their retention (`[retention]`) are deleted:
    // finished jobs, the query log, scheduler runs, delivered alert notices
    // and resolved alerts. Failed jobs, firing alerts and pending notices stay.
    let retention = retention_job(store.clone(), config.retention.clone());
    add(&mut scheduler, "retention", "daily 03:30", CatchUp::RunOnce, Arc::new(retention))?;
    // The SOP's reports: the daily summary in the evening, the weekly cost
    // optimisation on Friday evening. A missed one is made on restart.
    let settings = molt_ops::kpi::KpiSettings::from_config(&config.monitor);
    let daily = report_job(store.clone(), ReportKind::Daily(settings));
    add(&mut scheduler, "daily_summary", "daily 20:00", CatchUp::RunOnce, Arc::new(daily))?;
    let weekly = report_job(store.clone(), ReportKind::Weekly);
    add(&mut scheduler, "weekly_cost_report", "weekly fri 18:00", CatchUp::RunOnce, Arc::new(weekly))?;
    // Merges the search index's segments (FTS5 `optimize`).
    add(
        &mut scheduler,
        "search_optimize",
        "weekly sun 04:00",
        CatchUp::RunOnce,
        Arc::new(optimize_job(store.clone())),
    )?;
    Ok(scheduler)
}

/// The pipeline runner, built on first use when the process has none.
#[derive(Clone)]
struct LazyRunner {
    runner: Arc<OnceLock<Arc<Runner>>>,
    config: Arc<Config>,
    store: SqliteStore,
}

impl LazyRunner {
    fn new(config: &Config, store: &SqliteStore, runner: Option<Arc<Runner>>) -> LazyRunner {
        let cell = OnceLock::new();
        if let Some(runner) = runner {
            let _ = cell.set(runner);
        }
        LazyRunner { runner: Arc::new(cell), config: Arc::new(config.clone()), store: store.clone() }
    }

    fn get(&self) -> Result<Arc<Runner>, String> {
        if let Some(runner) = self.runner.get() {
            return Ok(runner.clone());
        }
        let built = super::process::runner(&self.config, &self.store).map_err(|e| e.message)?;
        Ok(self.runner.get_or_init(|| built).clone())
    }
}

fn rescue_job(runner: LazyRunner) -> impl molt_ops::ScheduledJob {
    let work = BlockingWork::default();
    job_fn(move |_due| {
        let (runner, work) = (runner.clone(), work.clone());
        async move {
            let rescued = work.run(move || runner.get()?.rescue().map_err(|e| e.to_string())).await?;
            Ok(format!("{rescued} job(s) with an expired lease re-queued or failed"))
        }
    })
    .with_timeout(Duration::from_secs(60))
}

#[derive(Clone)]
enum ReportKind {
    Daily(molt_ops::kpi::KpiSettings),
    Weekly,
}

/// Generates and stores a report for the time it was due (a catch-up after
/// downtime reports on the period that was missed, not on today).
fn report_job(store: SqliteStore, kind: ReportKind) -> impl molt_ops::ScheduledJob {
    let work = BlockingWork::default();
    job_fn(move |due| {
        let (store, kind, work) = (store.clone(), kind.clone(), work.clone());
        async move {
            let report = work
                .run(move || {
                    let now = Utc::now();
                    match &kind {
                        ReportKind::Daily(settings) => {
                            molt_ops::reports::generate_daily_at(&store, due, now, settings)
                        }
                        ReportKind::Weekly => molt_ops::reports::generate_weekly_at(&store, due, now),
                    }
                })
                .await?;
            Ok(format!(
                "report {} ({} {} – {})",
                report.id, report.kind, report.period_start, report.period_end
            ))
        }
    })
    .with_timeout(Duration::from_secs(5 * 60))
}

fn health_job(monitor: Arc<Monitor>) -> impl molt_ops::ScheduledJob {
    let work = BlockingWork::default();
    job_fn(move |_due| {
        let (monitor, work) = (monitor.clone(), work.clone());
        async move {
            let report = work.run(move || Ok::<_, String>(monitor.check())).await?;
            let keys: Vec<&str> = report.alerts.iter().map(|a| a.key.as_str()).collect();
            Ok(format!(
                "{}; alerts: {}",
                report.status.as_str(),
                if keys.is_empty() { "none".into() } else { keys.join(", ") }
            ))
        }
    })
    .with_timeout(Duration::from_secs(60))
}

fn retention_job(
    store: SqliteStore,
    config: molt_core::config::RetentionConfig,
) -> impl molt_ops::ScheduledJob {
    let work = BlockingWork::default();
    job_fn(move |_due| {
        let (store, work) = (store.clone(), work.clone());
        let cutoffs = retention_cutoffs(&config, Utc::now());
        let days = (config.jobs_days, config.query_log_days, config.schedule_runs_days, config.alert_notices_days);
        async move {
            let n = work.run(move || store.prune_older_than(&cutoffs)).await?;
            Ok(format!(
                "deleted {} finished job(s) older than {} days, {} query log row(s) older than {} days, \
                 {} schedule run(s) older than {} days, {} delivered alert notice(s) and {} resolved alert(s) \
                 older than {} days",
                n.jobs, days.0, n.query_log, days.1, n.schedule_runs, days.2, n.alert_deliveries, n.alerts, days.3
            ))
        }
    })
    .with_timeout(Duration::from_secs(5 * 60))
}

fn optimize_job(store: SqliteStore) -> impl molt_ops::ScheduledJob {
    let work = BlockingWork::default();
    job_fn(move |_due| {
        let (store, work) = (store.clone(), work.clone());
        async move {
            work.run(move || store.search_optimize()).await?;
            Ok("search index optimized".to_string())
        }
    })
    .with_timeout(Duration::from_secs(30 * 60))
}

fn scheduler_error(e: SchedulerError) -> CliError {
    match e {
        SchedulerError::Store(e) => e.into(),
        other => CliError::new(other.code(), other.to_string()),
    }
}

pub async fn run(config: &Config, command: ScheduleCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    let alerts: Arc<dyn AlertSink> = super::status::alerter(config, &store)?;
    let monitor = super::status::monitor(config, &store, alerts.clone(), None);
    let scheduler = studio_scheduler(config, &store, Arc::new(SystemClock), alerts, None, monitor)?;
    match command {
        ScheduleCommand::List => {
            let rows = tokio::task::spawn_blocking(move || scheduler.list())
                .await
                .map_err(|e| CliError::new("runtime", e.to_string()))?
                .map_err(scheduler_error)?;
            emit(json, &rows, |rows| render_list(rows, Utc::now()));
            Ok(())
        }
        ScheduleCommand::Run { name } => {
            let report = scheduler.run_now(&name).await.map_err(scheduler_error)?;
            emit(json, &report, render_run);
            match report.outcome {
                RunOutcome::Failed => Err(CliError::new(
                    "schedule_failed",
                    format!("schedule {name} failed: {}", report.detail),
                )),
                _ => Ok(()),
            }
        }
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn render_list(rows: &[ScheduleStatus], now: DateTime<Utc>) -> String {
    if rows.is_empty() {
        return "no schedules".into();
    }
    let mut table = vec![[
        "NAME".to_string(),
        "SPEC (UTC)".into(),
        "CATCH-UP".into(),
        "NEXT DUE".into(),
        "LAST RUN".into(),
        "FAILURES".into(),
    ]];
    for row in rows {
        let s = &row.schedule;
        let mut name = s.name.clone();
        if !row.registered {
            name.push_str(" (not in this binary)");
        }
        let mut last = match (s.last_finished_at, s.last_outcome) {
            (Some(at), Some(outcome)) => format!("{} {outcome}", when(at)),
            _ => "never".into(),
        };
        if s.lease_expires_at.is_some_and(|until| until > now) {
            last = format!("running now ({})", s.lease_owner.as_deref().unwrap_or("?"));
        }
        let mut next = when(s.next_due_at);
        if !s.enabled {
            next = "disabled".into();
        } else if s.next_due_at <= now {
            next.push_str(" (due)");
        }
        table.push([
            name,
            s.spec.clone(),
            s.catch_up.to_string(),
            next,
            last,
            s.consecutive_failures.to_string(),
        ]);
    }
    let widths: Vec<usize> =
        (0..6).map(|i| table.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out: Vec<String> = table
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, cell)| format!("{cell:<width$}", width = widths[i]))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect();
    let errors: Vec<String> = rows
        .iter()
        .filter(|r| r.schedule.last_outcome == Some(RunOutcome::Failed))
        .filter_map(|r| {
            r.schedule.last_error.as_ref().map(|e| format!("  {}: {}", r.schedule.name, first_line(e)))
        })
        .collect();
    if !errors.is_empty() {
        out.push(String::new());
        out.push("last errors:".into());
        out.extend(errors);
    }
    out.join("\n")
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn render_run(r: &RunReport) -> String {
    let secs = (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0;
    format!("schedule {}: {} in {secs:.1} s: {}", r.schedule, r.outcome, r.detail)
}
