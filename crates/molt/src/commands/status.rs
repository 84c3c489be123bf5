//! `molt status`, and the health monitor as `molt serve` runs it.

use super::open_store;
use crate::output::{emit, CliError, CliResult};
use molt_core::Config;
use molt_ops::alerts::Alerter;
use molt_ops::disk::gib;
use molt_ops::monitor::{Healer, Monitor, MonitorSettings, StatusReport};
use molt_ops::{AlertSink, SystemClock};
use molt_pipeline::runner::Runner;
use molt_pipeline::workers::WorkerPool;
use molt_store::SqliteStore;
use std::sync::Arc;

/// The alert service over the configured channels.
pub fn alerter(config: &Config, store: &SqliteStore) -> CliResult<Arc<Alerter>> {
    Alerter::from_config(Arc::new(store.clone()), Arc::new(SystemClock), config)
        .map(Arc::new)
        .map_err(|e| CliError::new("invalid_config", e.to_string()))
}

/// The monitor over this process's store and alerts, healing through `healer`
/// when this process runs workers.
pub fn monitor(
    config: &Config,
    store: &SqliteStore,
    alerts: Arc<dyn AlertSink>,
    healer: Option<Arc<dyn Healer>>,
) -> Arc<Monitor> {
    let settings = MonitorSettings::from_config(&config.monitor);
    let monitor = Monitor::new(
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        alerts,
        config.data_dir.clone(),
        settings,
    );
    Arc::new(match healer {
        Some(healer) => monitor.with_healer(healer),
        None => monitor,
    })
}

/// Self-healing in a process that runs workers: the pipeline's own rescue
/// (re-queue, or fail and escalate when out of attempts) and the worker
/// pool's restarts.
pub struct StudioHealer {
    pub runner: Arc<Runner>,
    pub workers: Arc<WorkerPool>,
}

impl Healer for StudioHealer {
    fn rescue_jobs(&self) -> Result<usize, String> {
        self.runner.rescue().map_err(|e| e.to_string())
    }

    fn restart_dead_workers(&self, silent_since: chrono::DateTime<chrono::Utc>) -> Vec<String> {
        self.workers.restart_dead(&molt_core::time::stamp(silent_since))
    }
}

/// The pipeline router's circuits, for `/metrics`.
pub struct RouterCircuits(pub Arc<Runner>);

impl molt_ops::metrics::CircuitSource for RouterCircuits {
    fn circuits(&self) -> Vec<(String, molt_ops::metrics::Circuit)> {
        use molt_ops::metrics::Circuit;
        use molt_pipeline::breaker::CircuitState;
        let state = |s| match s {
            CircuitState::Closed => Circuit::Closed,
            CircuitState::HalfOpen => Circuit::HalfOpen,
            CircuitState::Open => Circuit::Open,
        };
        self.0.router().circuit_states().into_iter().map(|(id, s)| (id, state(s))).collect()
    }
}

/// Metrics over `store`, with the circuits of `runner` in a process that runs workers.
pub fn metrics(store: &SqliteStore, runner: Option<Arc<Runner>>) -> Arc<molt_ops::metrics::Metrics> {
    let metrics = molt_ops::metrics::Metrics::new(Arc::new(store.clone()));
    Arc::new(match runner {
        Some(runner) => metrics.with_circuits(Arc::new(RouterCircuits(runner))),
        None => metrics,
    })
}

/// `molt status`: the newest status report, from whichever process monitors;
/// when none is recent (no `molt serve` running), a check made now.
pub async fn run(config: &Config, json: bool) -> CliResult {
    let store = open_store(config).await?;
    let alerts: Arc<dyn AlertSink> = alerter(config, &store)?;
    let monitor = monitor(config, &store, alerts, None);
    // A running monitor's report is at most an interval (plus a scheduler tick) old.
    let fresh_secs = 2 * config.monitor.interval_secs.max(60) as i64;
    let report = tokio::task::spawn_blocking(move || {
        let fresh = monitor.latest().filter(|r| age_secs(r).is_some_and(|age| age <= fresh_secs));
        match fresh {
            Some(report) => (report, false),
            None => (monitor.check(), true),
        }
    })
    .await
    .map_err(|e| CliError::new("internal", e.to_string()))?;
    let (report, checked_now) = report;
    emit(json, &report, |r| render(r, checked_now));
    Ok(())
}

fn age_secs(report: &StatusReport) -> Option<i64> {
    let at = chrono::DateTime::parse_from_rfc3339(&report.timestamp).ok()?;
    Some((chrono::Utc::now() - at.with_timezone(&chrono::Utc)).num_seconds())
}

fn render(r: &StatusReport, checked_now: bool) -> String {
    let source = if checked_now {
        "checked just now (no recent report from a running monitor)".to_string()
    } else {
        format!("reported {} s ago by the monitor", age_secs(r).unwrap_or(0))
    };
    let mut out = vec![
        format!("status: {} ({source})", r.status.as_str()),
        format!("  at                     {}", r.timestamp),
        format!("  songs processing       {}", r.songs_processing),
        format!("  songs completed today  {}", r.songs_completed_today),
        format!("  queue depth            {} ({} running)", r.queue_depth, r.checks.running_jobs),
        format!(
            "  cost, last 24 h        ${:.2}{}",
            r.cost_24h,
            r.checks.daily_budget_usd.map(|b| format!(" of a ${b:.2} daily budget")).unwrap_or_default()
        ),
        format!("  store                  {:.1} ms", r.checks.store_latency_ms),
    ];
    if let (Some(free), Some(total)) = (r.checks.disk_free_bytes, r.checks.disk_total_bytes) {
        out.push(format!("  disk free              {:.1} of {:.1} GiB", gib(free), gib(total)));
    }
    if r.alerts.is_empty() {
        out.push("  alerts                 none".into());
    }
    out.extend(
        r.alerts.iter().map(|a| format!("  alert [{}] {}: {}", a.severity.as_str(), a.key, a.summary)),
    );
    out.extend(r.actions.iter().map(|a| format!("  repaired: {a}")));
    out.join("\n")
}
