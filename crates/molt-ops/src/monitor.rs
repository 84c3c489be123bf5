//! The health monitor (SOP Workflow 2, DESIGN §10): one check every 60 s.
//!
//! A check reads the store's figures in one snapshot, decides for every
//! condition whether it holds (raise its alert) or not (resolve it), heals what
//! it can (stuck jobs re-queued, dead worker tasks restarted — each an audit
//! event), and writes the status report, whose history gives uptime. The
//! report is kept in memory too, so it can still be served when the store is
//! what failed.

use crate::alerting::{AlertSink, Raise, Severity};
use crate::clock::Clock;
use crate::disk::{self, gib, DiskSpace};
use crate::usd;
use chrono::{DateTime, Duration, Utc};
use molt_core::ops::{OpsSnapshot, StuckJob};
use molt_core::time::stamp;
use molt_store::OpsStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The actor the monitor's audit events and alerts carry.
pub const ACTOR: &str = "monitor";

/// A worker silent this many times the silence limit is taken for gone.
pub const GONE_AFTER_SILENT_LIMITS: i32 = 3;

/// Thresholds (DESIGN §10 gives the queue depth, the stuck time and the cost
/// ratio); the defaults are `[monitor]`'s.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// Alert when more jobs than this wait.
    pub queue_alert_depth: i64,
    /// A running job with no heartbeat for longer is stuck: alert and rescue.
    pub stuck_after: Duration,
    /// Alert when 24 h of spend passes this share of the daily budget.
    pub cost_alert_ratio: f64,
    /// A worker task silent for longer is dead: restart it (in this process) or alert.
    pub worker_silent_after: Duration,
    /// Alert below this much free space in the data directory, or below the share.
    pub disk_min_free_bytes: u64,
    pub disk_min_free_ratio: f64,
    /// Alert when the store takes longer than this to answer a trivial read.
    pub store_slow_ms: f64,
    /// Status reports older than this are deleted by the check that stores a new one.
    pub history: Duration,
}

impl MonitorSettings {
    pub fn from_config(config: &molt_core::config::MonitorConfig) -> MonitorSettings {
        let secs = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        MonitorSettings {
            queue_alert_depth: config.queue_alert_depth,
            stuck_after: secs(config.stuck_after_secs),
            cost_alert_ratio: config.cost_alert_ratio,
            worker_silent_after: secs(config.worker_silent_after_secs),
            disk_min_free_bytes: config.disk_min_free_mib.saturating_mul(1 << 20),
            disk_min_free_ratio: config.disk_min_free_percent / 100.0,
            store_slow_ms: config.store_slow_ms,
            history: Duration::days(i64::try_from(config.history_days).unwrap_or(i64::MAX / 86_400_000)),
        }
    }
}

impl Default for MonitorSettings {
    fn default() -> Self {
        MonitorSettings::from_config(&molt_core::config::MonitorConfig::default())
    }
}

/// What the monitor can repair. `molt serve` implements it with the pipeline's
/// rescue and its worker supervisor; an API-only node has none.
pub trait Healer: Send + Sync {
    /// Re-queue (or fail, when out of attempts) the jobs whose lease has
    /// ended, as the workers' own rescue does. Returns how many.
    fn rescue_jobs(&self) -> Result<usize, String>;
    /// Restarts this process's worker tasks that have died or have been silent
    /// since `silent_since`. Returns the names restarted.
    fn restart_dead_workers(&self, silent_since: DateTime<Utc>) -> Vec<String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Healthy,
    Degraded,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
        }
    }

    fn of(severity: Severity) -> Health {
        match severity {
            Severity::Info => Health::Healthy,
            Severity::Warning => Health::Degraded,
            Severity::Critical => Health::Unhealthy,
        }
    }
}

/// The SOP's status report (`timestamp` … `alerts`), then the details behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusReport {
    pub timestamp: String,
    pub status: Health,
    pub songs_processing: i64,
    pub songs_completed_today: i64,
    pub queue_depth: i64,
    /// USD spent over the last 24 hours.
    pub cost_24h: f64,
    pub alerts: Vec<ReportAlert>,
    pub checks: Checks,
    /// What the monitor repaired in this check.
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportAlert {
    pub key: String,
    pub severity: Severity,
    pub summary: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checks {
    pub store_ok: bool,
    pub store_latency_ms: f64,
    pub queued_by_stage: BTreeMap<String, i64>,
    pub running_jobs: i64,
    pub stuck_jobs: Vec<i64>,
    pub workers_alive: usize,
    pub workers_silent: Vec<String>,
    pub disk_free_bytes: Option<u64>,
    pub disk_total_bytes: Option<u64>,
    pub daily_budget_usd: Option<f64>,
}

/// The conditions a check decides, by alert key.
pub mod keys {
    pub const STORE_UNREACHABLE: &str = "store_unreachable";
    pub const STORE_SLOW: &str = "store_slow";
    pub const QUEUE_DEPTH: &str = "queue_depth";
    pub const STUCK_JOBS: &str = "stuck_jobs";
    pub const WORKER_SILENT: &str = "worker_silent";
    pub const DISK_SPACE: &str = "disk_space";
    pub const COST_OVER_BUDGET: &str = "cost_over_budget";
    /// Every key a check with a reachable store decides (raise or resolve).
    pub const DECIDED: [&str; 7] =
        [STORE_UNREACHABLE, STORE_SLOW, QUEUE_DEPTH, STUCK_JOBS, WORKER_SILENT, DISK_SPACE, COST_OVER_BUDGET];
}

/// Reads the free space of the data directory's file system.
type DiskProbe = Box<dyn Fn(&std::path::Path) -> Option<DiskSpace> + Send + Sync>;

pub struct Monitor {
    store: Arc<dyn OpsStore>,
    clock: Arc<dyn Clock>,
    alerts: Arc<dyn AlertSink>,
    healer: Option<Arc<dyn Healer>>,
    data_dir: PathBuf,
    settings: MonitorSettings,
    disk: DiskProbe,
    last: Mutex<Option<StatusReport>>,
}

impl Monitor {
    pub fn new(
        store: Arc<dyn OpsStore>,
        clock: Arc<dyn Clock>,
        alerts: Arc<dyn AlertSink>,
        data_dir: PathBuf,
        settings: MonitorSettings,
    ) -> Monitor {
        Monitor {
            store,
            clock,
            alerts,
            healer: None,
            data_dir,
            settings,
            disk: Box::new(disk::space),
            last: Mutex::new(None),
        }
    }

    pub fn with_healer(mut self, healer: Arc<dyn Healer>) -> Monitor {
        self.healer = Some(healer);
        self
    }

    /// Replaces the disk probe (tests simulate a full disk with it).
    pub fn with_disk_probe(
        mut self,
        probe: impl Fn(&std::path::Path) -> Option<DiskSpace> + Send + Sync + 'static,
    ) -> Monitor {
        self.disk = Box::new(probe);
        self
    }

    /// The newest report this monitor made, if any.
    pub fn last(&self) -> Option<StatusReport> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The newest report: this monitor's own, or a newer stored one (in a
    /// deployment of several processes, the one holding the monitor's
    /// schedule writes them).
    pub fn latest(&self) -> Option<StatusReport> {
        let stored = match self.store.latest_status() {
            Ok(record) => record.and_then(|r| serde_json::from_value::<StatusReport>(r.report).ok()),
            Err(e) => {
                tracing::warn!(error = %e, "stored status report not read");
                None
            }
        };
        match (self.last(), stored) {
            (Some(own), Some(stored)) => Some(if own.timestamp >= stored.timestamp { own } else { stored }),
            (own, stored) => own.or(stored),
        }
    }

    /// One check: decide every condition, heal, report, and store the report.
    pub fn check(&self) -> StatusReport {
        let now = self.clock.now();
        let started = Instant::now();
        let ping = self.store.ops_ping();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let snapshot = ping.and_then(|()| {
            let day_start = now.date_naive().and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc());
            self.store.ops_snapshot(
                &stamp(day_start),
                &stamp(now - Duration::hours(24)),
                &stamp(now - self.settings.stuck_after),
            )
        });
        let report = match snapshot {
            Ok(snapshot) => self.assess(now, latency_ms, snapshot),
            Err(e) => self.unreachable(now, &e.to_string()),
        };
        if report.checks.store_ok {
            let json = serde_json::to_value(&report).unwrap_or_default();
            if let Err(e) = self.store.record_status(&stamp(now), report.status.as_str(), &json) {
                tracing::error!(error = %e, "the status report could not be stored");
            }
            if let Err(e) = self.store.prune_status(&stamp(now - self.settings.history)) {
                tracing::warn!(error = %e, "old status reports could not be deleted");
            }
        }
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(report.clone());
        report
    }

    fn unreachable(&self, now: DateTime<Utc>, error: &str) -> StatusReport {
        let raise = Raise {
            key: keys::STORE_UNREACHABLE.into(),
            severity: Severity::Critical,
            summary: format!("the store does not answer: {error}"),
            details: serde_json::json!({ "error": error }),
        };
        let alerts = self.decide(vec![(keys::STORE_UNREACHABLE, Some(raise))]);
        let previous = self.last();
        StatusReport {
            timestamp: stamp(now),
            status: Health::Unhealthy,
            songs_processing: previous.as_ref().map_or(0, |r| r.songs_processing),
            songs_completed_today: previous.as_ref().map_or(0, |r| r.songs_completed_today),
            queue_depth: previous.as_ref().map_or(0, |r| r.queue_depth),
            cost_24h: previous.as_ref().map_or(0.0, |r| r.cost_24h),
            alerts,
            checks: Checks { store_ok: false, ..Checks::default() },
            actions: Vec::new(),
        }
    }

    fn assess(&self, now: DateTime<Utc>, latency_ms: f64, snapshot: OpsSnapshot) -> StatusReport {
        let mut actions = Vec::new();
        let mut checks = Checks {
            store_ok: true,
            store_latency_ms: latency_ms,
            queued_by_stage: snapshot.queued_by_stage.clone(),
            running_jobs: snapshot.running,
            stuck_jobs: snapshot.stuck.iter().map(|j| j.id).collect(),
            daily_budget_usd: snapshot.daily_budget_micro_usd.map(usd),
            ..Checks::default()
        };
        let mut findings = vec![
            (keys::STORE_UNREACHABLE, None),
            (keys::STORE_SLOW, self.slow_store(latency_ms)),
            (keys::QUEUE_DEPTH, self.queue_depth(&snapshot)),
            (keys::STUCK_JOBS, self.stuck_jobs(now, &snapshot.stuck, &mut actions)),
            (keys::COST_OVER_BUDGET, self.cost(&snapshot)),
        ];
        findings.push((keys::WORKER_SILENT, self.workers(now, &mut checks, &mut actions)));
        findings.push((keys::DISK_SPACE, self.disk_space(&mut checks)));
        let alerts = self.decide(findings);
        let status = alerts.iter().map(|a| Health::of(a.severity)).max().unwrap_or(Health::Healthy);
        StatusReport {
            timestamp: stamp(now),
            status,
            songs_processing: snapshot.songs_processing,
            songs_completed_today: snapshot.songs_completed_today,
            queue_depth: snapshot.queue_depth,
            cost_24h: usd(snapshot.cost_micro_usd),
            alerts,
            checks,
            actions,
        }
    }

    /// Raises what holds and resolves what cleared; returns the raised ones.
    fn decide(&self, findings: Vec<(&'static str, Option<Raise>)>) -> Vec<ReportAlert> {
        let mut raised = Vec::new();
        for (key, finding) in findings {
            let outcome = match finding {
                Some(raise) => {
                    raised.push(ReportAlert {
                        key: raise.key.clone(),
                        severity: raise.severity,
                        summary: raise.summary.clone(),
                    });
                    self.alerts.raise(raise)
                }
                None => self.alerts.resolve(key),
            };
            if let Err(e) = outcome {
                tracing::error!(key, error = %e, "alert not recorded");
            }
        }
        raised
    }

    fn slow_store(&self, latency_ms: f64) -> Option<Raise> {
        (latency_ms > self.settings.store_slow_ms).then(|| Raise {
            key: keys::STORE_SLOW.into(),
            severity: Severity::Warning,
            summary: format!(
                "the store took {latency_ms:.0} ms to answer a trivial read (limit {:.0} ms)",
                self.settings.store_slow_ms
            ),
            details: serde_json::json!({ "latency_ms": latency_ms }),
        })
    }

    fn queue_depth(&self, snapshot: &OpsSnapshot) -> Option<Raise> {
        (snapshot.queue_depth > self.settings.queue_alert_depth).then(|| Raise {
            key: keys::QUEUE_DEPTH.into(),
            severity: Severity::Warning,
            summary: format!(
                "{} jobs are waiting (alert above {}); {} running",
                snapshot.queue_depth, self.settings.queue_alert_depth, snapshot.running
            ),
            details: serde_json::json!({
                "queue_depth": snapshot.queue_depth, "by_stage": snapshot.queued_by_stage,
                "running": snapshot.running, "limit": self.settings.queue_alert_depth,
            }),
        })
    }

    /// Stuck jobs: alert, end their leases, and have them rescued.
    fn stuck_jobs(&self, now: DateTime<Utc>, stuck: &[StuckJob], actions: &mut Vec<String>) -> Option<Raise> {
        if stuck.is_empty() {
            return None;
        }
        let ids: Vec<i64> = stuck.iter().map(|j| j.id).collect();
        let minutes = self.settings.stuck_after.num_minutes();
        match self.store.expire_stuck_jobs(&stamp(now - self.settings.stuck_after), ACTOR) {
            Ok(expired) => actions.push(format!("ended the leases of {} stuck job(s)", expired.len())),
            Err(e) => tracing::error!(error = %e, "stuck jobs' leases could not be ended"),
        }
        if let Some(healer) = &self.healer {
            match healer.rescue_jobs() {
                Ok(n) => actions.push(format!("rescued {n} job(s)")),
                Err(e) => tracing::error!(error = %e, "stuck jobs could not be rescued"),
            }
        }
        Some(Raise {
            key: keys::STUCK_JOBS.into(),
            severity: Severity::Warning,
            summary: format!("{} job(s) with no heartbeat for more than {minutes} min: {ids:?}", ids.len()),
            details: serde_json::json!({ "jobs": stuck, "after_minutes": minutes }),
        })
    }

    fn cost(&self, snapshot: &OpsSnapshot) -> Option<Raise> {
        let budget = snapshot.daily_budget_micro_usd.filter(|b| *b > 0)?;
        let ratio = snapshot.cost_micro_usd as f64 / budget as f64;
        (ratio > self.settings.cost_alert_ratio).then(|| Raise {
            key: keys::COST_OVER_BUDGET.into(),
            severity: Severity::Critical,
            summary: format!(
                "spend over the last 24 h is ${:.2}, {:.0}% of the ${:.2} daily budget (alert above {:.0}%)",
                usd(snapshot.cost_micro_usd),
                ratio * 100.0,
                usd(budget),
                self.settings.cost_alert_ratio * 100.0
            ),
            details: serde_json::json!({
                "cost_24h_micro_usd": snapshot.cost_micro_usd, "daily_budget_micro_usd": budget, "ratio": ratio,
            }),
        })
    }

    /// Worker tasks: restart this process's dead ones; alert on any still silent.
    fn workers(&self, now: DateTime<Utc>, checks: &mut Checks, actions: &mut Vec<String>) -> Option<Raise> {
        let silent_since = now - self.settings.worker_silent_after;
        if let Some(healer) = &self.healer {
            let restarted = healer.restart_dead_workers(silent_since);
            if !restarted.is_empty() {
                actions.push(format!("restarted worker task(s) {}", restarted.join(", ")));
            }
        }
        let workers = match self.store.workers() {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "worker heartbeats could not be read");
                return None;
            }
        };
        let cutoff = stamp(silent_since);
        let gone = self.retire_gone_workers(&workers, now, actions);
        let live: Vec<_> =
            workers.iter().filter(|w| w.stopped_at.is_none() && !gone.contains(&w.name)).collect();
        let silent: Vec<String> =
            live.iter().filter(|w| w.heartbeat_at < cutoff).map(|w| w.name.clone()).collect();
        checks.workers_alive = live.len() - silent.len();
        checks.workers_silent = silent.clone();
        (!silent.is_empty()).then(|| Raise {
            key: keys::WORKER_SILENT.into(),
            severity: Severity::Warning,
            summary: format!(
                "{} worker task(s) silent for more than {} min: {}",
                silent.len(),
                self.settings.worker_silent_after.num_minutes(),
                silent.join(", ")
            ),
            details: serde_json::json!({ "workers": silent }),
        })
    }

    /// A worker silent for [`GONE_AFTER_SILENT_LIMITS`] times the limit
    /// belongs to a process that died without saying so (killed, out of
    /// memory): its row is marked stopped, with an event, so its alert clears.
    /// A worker that beats again is live again.
    fn retire_gone_workers(
        &self,
        workers: &[molt_core::ops::WorkerBeat],
        now: DateTime<Utc>,
        actions: &mut Vec<String>,
    ) -> Vec<String> {
        let gone_since = stamp(now - self.settings.worker_silent_after * GONE_AFTER_SILENT_LIMITS);
        let mut retired = Vec::new();
        for w in workers.iter().filter(|w| w.stopped_at.is_none() && w.heartbeat_at < gone_since) {
            let details = serde_json::json!({ "worker": w.name, "last_heartbeat_at": w.heartbeat_at });
            let done = self
                .store
                .worker_stopped(&w.name, &stamp(now))
                .and_then(|()| self.store.ops_event("monitor", "ops.worker_gone", None, &details));
            match done {
                Ok(()) => {
                    actions
                        .push(format!("marked worker {} stopped (silent since {})", w.name, w.heartbeat_at));
                    retired.push(w.name.clone());
                }
                Err(e) => tracing::error!(worker = %w.name, error = %e, "a gone worker could not be retired"),
            }
        }
        retired
    }

    fn disk_space(&self, checks: &mut Checks) -> Option<Raise> {
        // A file system that reports no size (some FUSE mounts) is unknown, not full.
        let space = (self.disk)(&self.data_dir).filter(|s| s.total_bytes > 0)?;
        checks.disk_free_bytes = Some(space.free_bytes);
        checks.disk_total_bytes = Some(space.total_bytes);
        let ratio = space.free_bytes as f64 / space.total_bytes.max(1) as f64;
        let low =
            space.free_bytes < self.settings.disk_min_free_bytes || ratio < self.settings.disk_min_free_ratio;
        low.then(|| Raise {
            key: keys::DISK_SPACE.into(),
            severity: Severity::Critical,
            summary: format!(
                "the data directory has {:.2} GiB free ({:.1}% of {:.1} GiB)",
                gib(space.free_bytes),
                ratio * 100.0,
                gib(space.total_bytes)
            ),
            details: serde_json::json!({ "free_bytes": space.free_bytes, "total_bytes": space.total_bytes }),
        })
    }
}
