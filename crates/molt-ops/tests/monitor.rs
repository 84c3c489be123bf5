//! The health monitor against a real store: every condition fires, is raised
//! again while it holds (the alert service deduplicates), and resolves when
//! it clears; self-healing acts and leaves audit events; reports are stored.

use chrono::{Duration, Utc};
use molt_core::jobs::NewJob;
use molt_core::ops::{OpsSnapshot, StatusRecord, StuckJob, WorkerBeat};
use molt_core::time::stamp;
use molt_ops::disk::DiskSpace;
use molt_ops::monitor::{keys, Healer, Health, Monitor, MonitorSettings};
use molt_ops::{FakeClock, RecordingSink, SinkCall};
use molt_store::{OpsStore, PipelineStore, SqliteStore, StoreError, StoreOptions, StoreResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The store, with a switch that makes it stop answering.
struct Flaky {
    store: SqliteStore,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Io("database is locked".into()));
        }
        Ok(())
    }
}

impl OpsStore for Flaky {
    fn ops_ping(&self) -> StoreResult<()> {
        self.check()?;
        self.store.ops_ping()
    }
    fn ops_snapshot(&self, day: &str, cost: &str, stuck: &str) -> StoreResult<OpsSnapshot> {
        self.check()?;
        self.store.ops_snapshot(day, cost, stuck)
    }
    fn expire_stuck_jobs(&self, before: &str, actor: &str) -> StoreResult<Vec<StuckJob>> {
        self.store.expire_stuck_jobs(before, actor)
    }
    fn record_status(&self, at: &str, status: &str, report: &serde_json::Value) -> StoreResult<i64> {
        self.check()?;
        self.store.record_status(at, status, report)
    }
    fn latest_status(&self) -> StoreResult<Option<StatusRecord>> {
        self.store.latest_status()
    }
    fn status_history(&self, since: &str) -> StoreResult<Vec<(String, String)>> {
        self.store.status_history(since)
    }
    fn prune_status(&self, before: &str) -> StoreResult<usize> {
        self.store.prune_status(before)
    }
    fn worker_beat(&self, name: &str, process: &str, now: &str) -> StoreResult<()> {
        self.store.worker_beat(name, process, now)
    }
    fn worker_stopped(&self, name: &str, now: &str) -> StoreResult<()> {
        self.store.worker_stopped(name, now)
    }
    fn workers(&self) -> StoreResult<Vec<WorkerBeat>> {
        self.store.workers()
    }
    fn metrics_snapshot(&self, bounds: &[f64]) -> StoreResult<molt_core::ops::MetricsSnapshot> {
        self.store.metrics_snapshot(bounds)
    }
    fn ops_event(
        &self,
        actor: &str,
        kind: &str,
        song: Option<i64>,
        details: &serde_json::Value,
    ) -> StoreResult<()> {
        self.store.ops_event(actor, kind, song, details)
    }
}

/// Rescues through the store's own reaper; "restarts" a worker by beating for it.
struct TestHealer {
    store: SqliteStore,
    clock: FakeClock,
    restarted: Mutex<Vec<String>>,
}

impl Healer for TestHealer {
    fn rescue_jobs(&self) -> Result<usize, String> {
        let report =
            self.store.rescue_expired(std::time::Duration::from_secs(3600)).map_err(|e| e.to_string())?;
        Ok(report.requeued.len() + report.failed.len())
    }
    fn restart_dead_workers(&self, silent_since: chrono::DateTime<Utc>) -> Vec<String> {
        let dead: Vec<String> = self
            .store
            .workers()
            .unwrap()
            .into_iter()
            .filter(|w| w.process == "this" && w.heartbeat_at < stamp(silent_since))
            .map(|w| w.name)
            .collect();
        for name in &dead {
            self.store.worker_beat(name, "this", &stamp(molt_ops::Clock::now(&self.clock))).unwrap();
        }
        self.restarted.lock().unwrap().extend(dead.clone());
        dead
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    flaky: Arc<Flaky>,
    clock: FakeClock,
    sink: Arc<RecordingSink>,
    healer: Arc<TestHealer>,
    disk: Arc<Mutex<DiskSpace>>,
    monitor: Monitor,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&StoreOptions::in_dir(dir.path())).unwrap();
    let flaky = Arc::new(Flaky { store: store.clone(), down: AtomicBool::new(false) });
    // Jobs are claimed on the wall clock, so the fake one starts there.
    let clock = FakeClock::at(Utc::now());
    let sink = Arc::new(RecordingSink::default());
    let healer = Arc::new(TestHealer {
        store: store.clone(),
        clock: clock.clone(),
        restarted: Mutex::new(Vec::new()),
    });
    let disk = Arc::new(Mutex::new(DiskSpace { free_bytes: 50 << 30, total_bytes: 100 << 30 }));
    let probe = disk.clone();
    let monitor = Monitor::new(
        flaky.clone(),
        Arc::new(clock.clone()),
        sink.clone(),
        dir.path().to_path_buf(),
        // Timing must not decide a test: no latency limit (one test sets its own).
        MonitorSettings { store_slow_ms: f64::MAX, ..MonitorSettings::default() },
    )
    .with_healer(healer.clone())
    .with_disk_probe(move |_| Some(*probe.lock().unwrap()));
    Rig { _dir: dir, store, flaky, clock, sink, healer, disk, monitor }
}

/// The keys the last check raised.
fn raised(report: &molt_ops::monitor::StatusReport) -> Vec<&str> {
    report.alerts.iter().map(|a| a.key.as_str()).collect()
}

fn resolved_in_last_check(sink: &RecordingSink, key: &str) -> bool {
    let calls = sink.calls();
    let tail = &calls[calls.len().saturating_sub(keys::DECIDED.len())..];
    tail.contains(&SinkCall::Resolve(key.to_string()))
}

fn job(n: usize) -> NewJob {
    NewJob { unique_key: Some(format!("job-{n}")), ..NewJob::new("test") }
}

#[test]
fn a_quiet_studio_is_healthy_and_the_report_has_the_sops_shape() {
    let rig = rig();
    let report = rig.monitor.check();
    assert_eq!(report.status, Health::Healthy);
    assert!(report.alerts.is_empty());
    // Every condition was decided: all resolved (nothing fires).
    assert_eq!(rig.sink.calls().len(), keys::DECIDED.len());
    let json = serde_json::to_value(&report).unwrap();
    for field in [
        "timestamp",
        "status",
        "songs_processing",
        "songs_completed_today",
        "queue_depth",
        "cost_24h",
        "alerts",
    ] {
        assert!(json.get(field).is_some(), "{field} missing: {json}");
    }
    assert_eq!(json["status"], "healthy");
    let stored = rig.store.latest_status().unwrap().expect("stored");
    assert_eq!((stored.status.as_str(), stored.report["queue_depth"].as_i64()), ("healthy", Some(0)));
    assert_eq!(stored.at, report.timestamp);
}

#[test]
fn a_deep_queue_fires_while_it_lasts_and_resolves_when_drained() {
    let rig = rig();
    for n in 0..101 {
        rig.store.enqueue_job(job(n)).unwrap();
    }
    let first = rig.monitor.check();
    assert_eq!(raised(&first), [keys::QUEUE_DEPTH]);
    assert_eq!(first.status, Health::Degraded);
    assert_eq!(first.queue_depth, 101);
    assert!(first.alerts[0].summary.contains("101 jobs"), "{}", first.alerts[0].summary);
    // Still deep a minute later: raised again (the alert service deduplicates by key).
    rig.clock.advance(Duration::seconds(60));
    assert_eq!(raised(&rig.monitor.check()), [keys::QUEUE_DEPTH]);
    assert_eq!(rig.sink.raised_keys(), [keys::QUEUE_DEPTH, keys::QUEUE_DEPTH]);
    // Drained to 100: resolved.
    rig.store.claim_jobs("w", 1, std::time::Duration::from_secs(900)).unwrap();
    let after = rig.monitor.check();
    assert!(raised(&after).is_empty() && resolved_in_last_check(&rig.sink, keys::QUEUE_DEPTH));
    assert_eq!(after.status, Health::Healthy);
}

#[test]
fn a_job_silent_for_ten_minutes_is_alerted_rescued_and_audited() {
    let rig = rig();
    let id = rig.store.enqueue_job(job(1)).unwrap();
    let claimed = rig.store.claim_jobs("w", 1, std::time::Duration::from_secs(900)).unwrap();
    assert_eq!(claimed[0].id, id);
    // Nine minutes: not yet stuck.
    rig.clock.advance(Duration::minutes(9));
    assert!(raised(&rig.monitor.check()).is_empty());
    // Eleven minutes without a heartbeat (its 15-minute lease still runs): stuck.
    rig.clock.advance(Duration::minutes(2));
    let report = rig.monitor.check();
    assert_eq!(raised(&report), [keys::STUCK_JOBS]);
    assert_eq!(report.checks.stuck_jobs, [id]);
    assert!(report.actions.iter().any(|a| a == "rescued 1 job(s)"), "{:?}", report.actions);
    // Re-queued with a new lease token: the silent worker's late result is refused.
    assert!(!rig.store.extend_lease(&claimed[0], std::time::Duration::from_secs(900)).unwrap());
    let queued = rig
        .store
        .ops_snapshot("2000-01-01T00:00:00.000Z", "2000-01-01T00:00:00.000Z", "2000-01-01T00:00:00.000Z")
        .unwrap();
    assert_eq!((queued.queue_depth, queued.running), (1, 0));
    let events: i64 = rig
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM events WHERE kind = 'ops.job_stuck' AND actor = 'monitor'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(events, 1);
    // Nothing stuck any more: resolved.
    assert!(raised(&rig.monitor.check()).is_empty());
    assert!(resolved_in_last_check(&rig.sink, keys::STUCK_JOBS));
}

#[test]
fn spend_above_one_and_a_half_daily_budgets_is_critical_until_it_falls_out_of_the_window() {
    let rig = rig();
    let at = stamp(molt_ops::Clock::now(&rig.clock) - Duration::hours(1));
    // The default daily budget is $25: $40 is 160 %.
    rig.store
        .write(move |c| {
            c.execute(
                "INSERT INTO cost_ledger (at, service, model, micro_usd, outcome) VALUES (?1, 'whisper', 'large', 40000000, 'ok')",
                [at],
            )?;
            Ok(())
        })
        .unwrap();
    let report = rig.monitor.check();
    assert_eq!(raised(&report), [keys::COST_OVER_BUDGET]);
    assert_eq!(report.status, Health::Unhealthy);
    assert!((report.cost_24h - 40.0).abs() < 1e-9);
    assert!(report.alerts[0].summary.contains("160%"), "{}", report.alerts[0].summary);
    // A day later the spend has left the 24-hour window.
    rig.clock.advance(Duration::hours(24));
    let later = rig.monitor.check();
    assert!(raised(&later).is_empty() && resolved_in_last_check(&rig.sink, keys::COST_OVER_BUDGET));
    assert_eq!(later.cost_24h, 0.0);
}

#[test]
fn a_silent_worker_task_is_restarted_and_one_elsewhere_is_alerted() {
    let rig = rig();
    let now = molt_ops::Clock::now(&rig.clock);
    rig.store.worker_beat("this:1", "this", &stamp(now - Duration::minutes(6))).unwrap();
    rig.store.worker_beat("other:1", "other-host:42", &stamp(now - Duration::minutes(6))).unwrap();
    rig.store.worker_beat("this:2", "this", &stamp(now)).unwrap();
    let report = rig.monitor.check();
    assert_eq!(*rig.healer.restarted.lock().unwrap(), ["this:1"]);
    assert!(report.actions.iter().any(|a| a.contains("this:1")), "{:?}", report.actions);
    // The restarted task beats again; the other process's does not.
    assert_eq!(raised(&report), [keys::WORKER_SILENT]);
    assert_eq!(report.checks.workers_silent, ["other:1"]);
    assert_eq!(report.checks.workers_alive, 2);
    // That process stops cleanly: no longer expected to beat, so resolved.
    rig.store.worker_stopped("other:1", &stamp(now)).unwrap();
    assert!(raised(&rig.monitor.check()).is_empty());
    assert!(resolved_in_last_check(&rig.sink, keys::WORKER_SILENT));
}

#[test]
fn a_nearly_full_data_disk_is_critical_and_resolves_when_space_returns() {
    let rig = rig();
    *rig.disk.lock().unwrap() = DiskSpace { free_bytes: 512 << 20, total_bytes: 100 << 30 };
    let report = rig.monitor.check();
    assert_eq!(raised(&report), [keys::DISK_SPACE]);
    assert_eq!(report.status, Health::Unhealthy);
    // 3 GiB of 100 GiB: above 1 GiB but below 5 %.
    *rig.disk.lock().unwrap() = DiskSpace { free_bytes: 3 << 30, total_bytes: 100 << 30 };
    assert_eq!(raised(&rig.monitor.check()), [keys::DISK_SPACE]);
    *rig.disk.lock().unwrap() = DiskSpace { free_bytes: 30 << 30, total_bytes: 100 << 30 };
    assert!(raised(&rig.monitor.check()).is_empty());
    assert!(resolved_in_last_check(&rig.sink, keys::DISK_SPACE));
}

#[test]
fn an_unreachable_store_is_reported_from_memory_and_resolves_when_it_answers() {
    let rig = rig();
    rig.store.enqueue_job(job(1)).unwrap();
    rig.monitor.check();
    rig.flaky.down.store(true, Ordering::SeqCst);
    rig.clock.advance(Duration::seconds(60));
    let down = rig.monitor.check();
    assert_eq!(raised(&down), [keys::STORE_UNREACHABLE]);
    assert_eq!(down.status, Health::Unhealthy);
    assert!(!down.checks.store_ok);
    // The last known figures are kept, and the report is served from memory.
    assert_eq!(down.queue_depth, 1);
    assert_eq!(rig.monitor.last(), Some(down.clone()));
    assert_eq!(rig.store.latest_status().unwrap().unwrap().status, "healthy", "not stored while down");
    rig.flaky.down.store(false, Ordering::SeqCst);
    rig.clock.advance(Duration::seconds(60));
    let back = rig.monitor.check();
    assert_eq!(back.status, Health::Healthy);
    assert!(resolved_in_last_check(&rig.sink, keys::STORE_UNREACHABLE));
    let history = rig.store.status_history("2000-01-01T00:00:00.000Z").unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    // 91 days on, the next check's report is the only one kept (90 days of history).
    rig.clock.advance(Duration::days(91));
    rig.monitor.check();
    assert_eq!(rig.store.status_history("2000-01-01T00:00:00.000Z").unwrap().len(), 1);
}

#[test]
fn a_store_slower_than_its_limit_degrades_the_status() {
    let rig = rig();
    // A negative limit: any answer is too slow, so no timing decides the test.
    let strict = Monitor::new(
        rig.flaky.clone(),
        Arc::new(rig.clock.clone()),
        rig.sink.clone(),
        rig._dir.path().to_path_buf(),
        MonitorSettings { store_slow_ms: -1.0, ..MonitorSettings::default() },
    )
    .with_disk_probe(|_| Some(DiskSpace { free_bytes: 50 << 30, total_bytes: 100 << 30 }));
    let report = strict.check();
    assert_eq!(raised(&report), [keys::STORE_SLOW]);
    assert_eq!(report.status, Health::Degraded);
    assert!(report.alerts[0].summary.contains("trivial read"), "{}", report.alerts[0].summary);
}

fn events_of(store: &SqliteStore, kind: &str) -> i64 {
    store
        .read({
            let kind = kind.to_string();
            move |c| Ok(c.query_row("SELECT count(*) FROM events WHERE kind = ?1", [kind], |r| r.get(0))?)
        })
        .unwrap()
}

#[test]
fn a_stuck_job_nobody_rescues_is_alerted_every_check_but_audited_once() {
    let rig = rig();
    // A monitor with no healer, as in an API-only process.
    let unhealed = Monitor::new(
        rig.flaky.clone(),
        Arc::new(rig.clock.clone()),
        rig.sink.clone(),
        rig._dir.path().to_path_buf(),
        MonitorSettings { store_slow_ms: f64::MAX, ..MonitorSettings::default() },
    )
    .with_disk_probe(|_| Some(DiskSpace { free_bytes: 50 << 30, total_bytes: 100 << 30 }));
    rig.store.enqueue_job(job(1)).unwrap();
    rig.store.claim_jobs("w", 1, std::time::Duration::from_secs(900)).unwrap();
    rig.clock.advance(Duration::minutes(11));
    for _ in 0..3 {
        assert_eq!(raised(&unhealed.check()), [keys::STUCK_JOBS]);
        rig.clock.advance(Duration::minutes(1));
    }
    assert_eq!(events_of(&rig.store, "ops.job_stuck"), 1, "its lease was ended once");
}

#[test]
fn the_workers_of_a_process_that_died_silently_are_retired_and_their_alert_clears() {
    let rig = rig();
    let now = molt_ops::Clock::now(&rig.clock);
    // Killed 16 minutes ago (3 × the 5-minute limit is 15): gone. Six minutes: silent.
    rig.store.worker_beat("dead:1", "host:7", &stamp(now - Duration::minutes(16))).unwrap();
    rig.store.worker_beat("slow:1", "host:8", &stamp(now - Duration::minutes(6))).unwrap();
    let report = rig.monitor.check();
    assert_eq!(report.checks.workers_silent, ["slow:1"]);
    assert!(
        report.actions.iter().any(|a| a.starts_with("marked worker dead:1 stopped")),
        "{:?}",
        report.actions
    );
    assert_eq!(events_of(&rig.store, "ops.worker_gone"), 1);
    // Ten minutes on, slow:1 is gone too and nothing is silent: resolved.
    rig.clock.advance(Duration::minutes(10));
    assert!(raised(&rig.monitor.check()).is_empty());
    assert!(resolved_in_last_check(&rig.sink, keys::WORKER_SILENT));
    // A retired worker that beats again is live again.
    rig.store.worker_beat("dead:1", "host:7", &stamp(molt_ops::Clock::now(&rig.clock))).unwrap();
    assert_eq!(rig.monitor.check().checks.workers_alive, 1);
}
