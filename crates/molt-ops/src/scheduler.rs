//! The scheduler (issue 8, DESIGN §10): named jobs that run on a schedule
//! (`every 60s`, `daily 20:00`, `weekly fri 18:00`, UTC), durable in the store
//! and safe across restarts and across processes.
//!
//! - Each schedule's next due time, last run and failure count live in the
//!   store (`schedules`, `schedule_runs`), so a new process continues where
//!   the last one stopped.
//! - A process runs a schedule only while it holds the schedule's lease, so
//!   any number of `molt serve` processes can share a database: each due time
//!   runs once. A lease outlives the longest run (its timeout) by a margin; a
//!   process that died mid-run leaves a lease that expires, and the next claim
//!   closes that run as failed (interrupted) and runs the due time again.
//! - After downtime, the due times that passed are handled by the schedule's
//!   catch-up policy, `run-once` or `skip` (see [`catch_up`] for the exact rule
//!   and what counts as missed).
//! - A run that times out is abandoned, but blocking work it started cannot
//!   be stopped: a job that wraps such work in [`BlockingWork`] fails its next
//!   run at once while the old work still goes, so runs never overlap in a
//!   process.
//! - A run that fails (an error, a panic, or its timeout) counts; from the
//!   second failure in a row on, every failure raises `schedule_failing:<name>`
//!   through the [`AlertSink`], and a success resolves it. Deduplication and
//!   cooldown are the alert service's.
//!
//! The time comes from a [`Clock`], so a `FakeClock` (feature `test-support`)
//! drives a simulated week in milliseconds.

pub mod catch_up;
pub mod spec;

use crate::alerting::{AlertSink, Raise, Severity};
use crate::clock::Clock;
use async_trait::async_trait;
pub use catch_up::{plan, DueRun, Plan, Skipped};
use chrono::{DateTime, Utc};
pub use molt_core::schedule::{CatchUp, RunOutcome, Schedule, ScheduleRun};
use molt_core::schedule::{ClaimedSchedule, Ensured, RunEnd, ScheduleClaim, ScheduleSkip};
use molt_store::{ScheduleStore, StoreError};
use serde::Serialize;
pub use spec::{Spec, SpecError, Unit};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A job the scheduler runs. `due` is the due time the run is for (for a run by
/// hand, when it was asked for). `Ok` carries a one-line summary of what it
/// did, `Err` why it failed; both are stored with the run.
#[async_trait]
pub trait ScheduledJob: Send + Sync {
    async fn run(&self, due: DateTime<Utc>) -> Result<String, String>;

    /// Longest a run may take before it is stopped and counted as failed
    /// (default: [`SchedulerOptions::default_timeout`]).
    fn timeout(&self) -> Option<Duration> {
        None
    }
}

/// A job's blocking work (store calls, file work), one run at a time. The
/// scheduler stops waiting for a run at its timeout, but blocking work cannot
/// be stopped: until it ends, the next run fails at once instead of
/// overlapping it. Clone it into the job; every clone shares the slot.
#[derive(Clone, Default)]
pub struct BlockingWork(Arc<tokio::sync::Mutex<()>>);

impl BlockingWork {
    pub async fn run<T, E>(&self, work: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, String>
    where
        T: Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let held = self.0.clone().try_lock_owned().map_err(|_| {
            "the previous run's work is still going (it outlived its timeout); this run did not start"
                .to_string()
        })?;
        let done = tokio::task::spawn_blocking(move || {
            let _held = held;
            work()
        });
        done.await.map_err(|e| format!("task failed: {e}"))?.map_err(|e| e.to_string())
    }
}

/// A [`ScheduledJob`] from an async closure.
pub struct FnJob<F> {
    f: F,
    timeout: Option<Duration>,
}

/// Wraps `f(due)` as a job.
pub fn job_fn<F, Fut>(f: F) -> FnJob<F>
where
    F: Fn(DateTime<Utc>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, String>> + Send + 'static,
{
    FnJob { f, timeout: None }
}

impl<F> FnJob<F> {
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

#[async_trait]
impl<F, Fut> ScheduledJob for FnJob<F>
where
    F: Fn(DateTime<Utc>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, String>> + Send + 'static,
{
    async fn run(&self, due: DateTime<Utc>) -> Result<String, String> {
        (self.f)(due).await
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// How often [`Scheduler::serve`] looks for due schedules.
    pub tick: Duration,
    /// A run's timeout when its job names none (DESIGN §5: 15 min).
    pub default_timeout: Duration,
    /// A lease lasts the run's timeout plus this.
    pub lease_margin: Duration,
    /// How long [`Scheduler::serve`] waits for runs in progress after the stop
    /// signal; runs still going then are dropped, and their leases expire.
    pub shutdown_grace: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            tick: Duration::from_secs(5),
            default_timeout: Duration::from_secs(15 * 60),
            lease_margin: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("schedule `{name}`: {source}")]
    Spec { name: String, source: SpecError },
    #[error("schedule `{0}` is registered twice")]
    Duplicate(String),
    #[error("`{0}` is not a schedule name: use lower-case letters, digits, `_` and `-`")]
    InvalidName(String),
    #[error("unknown schedule `{name}`; the schedules are: {}", if known.is_empty() { "(none)".to_string() } else { known.join(", ") })]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "schedule `{name}` is running in another process ({owner} holds it until {until}); try again later"
    )]
    Busy { name: String, owner: String, until: String },
    #[error("schedule `{0}` is disabled")]
    Disabled(String),
}

impl SchedulerError {
    /// A stable code for the CLI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            SchedulerError::Store(_) => "store_error",
            SchedulerError::Spec { .. } => "invalid_schedule",
            SchedulerError::Duplicate(_) | SchedulerError::InvalidName(_) => "invalid_schedule",
            SchedulerError::Unknown { .. } => "unknown_schedule",
            SchedulerError::Busy { .. } => "schedule_busy",
            SchedulerError::Disabled(_) => "schedule_disabled",
        }
    }
}

/// What happened to one due time (or one run by hand).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub schedule: String,
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `succeeded`, `failed` or `skipped`.
    pub outcome: RunOutcome,
    /// Due times missed: those this run stands in for (`run-once`), or those
    /// passed over (`skipped`).
    pub missed: u64,
    /// The due time itself was later than its grace (a catch-up run).
    pub late: bool,
    /// The job's summary, its error, or why due times were skipped.
    pub detail: String,
    pub run_id: Option<i64>,
    /// Failed runs in a row, this one included.
    pub consecutive_failures: u32,
    /// Run by hand (`molt schedule run`).
    pub manual: bool,
}

/// A stored schedule, and whether this binary has a job for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleStatus {
    #[serde(flatten)]
    pub schedule: Schedule,
    pub registered: bool,
}

/// A claimed schedule's run (or skip), in its own task.
type RunTask = tokio::task::JoinHandle<Result<Vec<RunReport>, SchedulerError>>;

#[derive(Clone)]
struct Registered {
    spec: Spec,
    catch_up: CatchUp,
    job: Arc<dyn ScheduledJob>,
}

/// What every run needs, cheap to clone into a task.
#[derive(Clone)]
struct Context {
    store: Arc<dyn ScheduleStore>,
    clock: Arc<dyn Clock>,
    alerts: Arc<dyn AlertSink>,
    owner: Arc<str>,
    default_timeout: Duration,
}

pub struct Scheduler {
    ctx: Context,
    options: SchedulerOptions,
    jobs: BTreeMap<String, Registered>,
    ensured: AtomicBool,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("owner", &self.ctx.owner)
            .field("schedules", &self.jobs.iter().map(|(n, r)| (n, r.spec.to_string())).collect::<Vec<_>>())
            .field("options", &self.options)
            .finish()
    }
}

/// A lease owner unique to this scheduler: host, process and a counter, so
/// two schedulers never share one, even in one process.
pub fn default_owner() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "molt".into());
    format!("{host}:{}:{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Scheduler {
    pub fn new(
        store: Arc<dyn ScheduleStore>,
        clock: Arc<dyn Clock>,
        alerts: Arc<dyn AlertSink>,
    ) -> Scheduler {
        let options = SchedulerOptions::default();
        Scheduler {
            ctx: Context {
                store,
                clock,
                alerts,
                owner: default_owner().into(),
                default_timeout: options.default_timeout,
            },
            options,
            jobs: BTreeMap::new(),
            ensured: AtomicBool::new(false),
        }
    }

    /// Sets the lease owner (it must be unique to this scheduler).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Scheduler {
        self.ctx.owner = owner.into().into();
        self
    }

    pub fn with_options(mut self, options: SchedulerOptions) -> Scheduler {
        self.ctx.default_timeout = options.default_timeout;
        self.options = options;
        self
    }

    /// Registers a job under `name`, due per `spec` (see [`Spec`]).
    pub fn add(
        &mut self,
        name: &str,
        spec: &str,
        catch_up: CatchUp,
        job: Arc<dyn ScheduledJob>,
    ) -> Result<&mut Scheduler, SchedulerError> {
        if !valid_name(name) {
            return Err(SchedulerError::InvalidName(name.to_string()));
        }
        let spec: Spec =
            spec.parse().map_err(|source| SchedulerError::Spec { name: name.to_string(), source })?;
        if self.jobs.contains_key(name) {
            return Err(SchedulerError::Duplicate(name.to_string()));
        }
        self.jobs.insert(name.to_string(), Registered { spec, catch_up, job });
        self.ensured.store(false, Ordering::Release);
        Ok(self)
    }

    /// The registered schedules, by name.
    pub fn names(&self) -> Vec<String> {
        self.jobs.keys().cloned().collect()
    }

    /// Writes the registered schedules to the store: new ones are first due at
    /// their next due time after now; a spec or policy changed in the code is
    /// updated (a new spec recomputes the next due time; the runs are kept).
    pub fn ensure(&self) -> Result<Vec<(String, Ensured)>, SchedulerError> {
        let now = self.ctx.clock.now();
        let mut changes = Vec::new();
        for (name, reg) in &self.jobs {
            let spec = reg.spec.to_string();
            let ensured =
                self.ctx.store.ensure_schedule(name, &spec, reg.catch_up, reg.spec.next_after(now), now)?;
            match &ensured {
                Ensured::Created => tracing::info!(schedule = %name, %spec, "schedule created"),
                Ensured::Updated { previous_spec, previous_catch_up } => tracing::info!(
                    schedule = %name, %spec, catch_up = %reg.catch_up, %previous_spec, %previous_catch_up,
                    "schedule changed in the code"
                ),
                Ensured::Unchanged => {}
            }
            changes.push((name.clone(), ensured));
        }
        self.ensured.store(true, Ordering::Release);
        Ok(changes)
    }

    fn ensure_once(&self) -> Result<(), SchedulerError> {
        if !self.ensured.load(Ordering::Acquire) {
            self.ensure()?;
        }
        Ok(())
    }

    /// Every stored schedule (the registered ones ensured first), by name.
    pub fn list(&self) -> Result<Vec<ScheduleStatus>, SchedulerError> {
        self.ensure_once()?;
        Ok(self
            .ctx
            .store
            .schedules()?
            .into_iter()
            .map(|schedule| ScheduleStatus { registered: self.jobs.contains_key(&schedule.name), schedule })
            .collect())
    }

    /// A lease outlives the run's timeout by the margin.
    fn lease_until(&self, now: DateTime<Utc>, reg: &Registered) -> DateTime<Utc> {
        let timeout = reg.job.timeout().unwrap_or(self.options.default_timeout);
        molt_core::time::add_capped(now, timeout.saturating_add(self.options.lease_margin))
    }

    fn unknown(&self, name: &str) -> SchedulerError {
        SchedulerError::Unknown { name: name.to_string(), known: self.names() }
    }

    /// Claims every due registered schedule this process may run and starts
    /// its run; the tasks finish with their reports.
    fn dispatch(&self) -> Result<Vec<RunTask>, SchedulerError> {
        self.ensure_once()?;
        let now = self.ctx.clock.now();
        // A read first: most ticks find nothing due and write nothing.
        let due: Vec<Schedule> = self
            .ctx
            .store
            .schedules()?
            .into_iter()
            .filter(|s| s.enabled && s.next_due_at <= now && self.jobs.contains_key(&s.name))
            .filter(|s| s.lease_owner.is_none() || s.lease_expires_at.is_none_or(|until| until <= now))
            .collect();
        // One claim per lease length (a lease outlives its run's timeout).
        let mut by_lease: BTreeMap<DateTime<Utc>, Vec<String>> = BTreeMap::new();
        for schedule in due {
            let lease_until = self.lease_until(now, &self.jobs[&schedule.name]);
            by_lease.entry(lease_until).or_default().push(schedule.name);
        }
        let mut tasks = Vec::new();
        for (lease_until, names) in by_lease {
            let claim =
                ScheduleClaim { names, due_only: true, owner: self.ctx.owner.to_string(), now, lease_until };
            for claimed in self.ctx.store.claim_schedules(&claim)? {
                let ctx = self.ctx.clone();
                let reg = self.jobs[&claimed.schedule.name].clone();
                tasks.push(tokio::spawn(async move { execute(ctx, reg, claimed, now, false).await }));
            }
        }
        Ok(tasks)
    }

    /// Runs every due schedule once, at the clock's now, and waits for the
    /// runs: one report per run or skip.
    pub async fn tick(&self) -> Result<Vec<RunReport>, SchedulerError> {
        let mut reports = Vec::new();
        let mut first_error = None;
        for task in self.dispatch()? {
            match task.await {
                Ok(Ok(mut r)) => reports.append(&mut r),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "scheduled run could not be recorded");
                    first_error.get_or_insert(e);
                }
                Err(e) => tracing::error!(error = %e, "scheduler task failed"),
            }
        }
        match first_error {
            Some(e) if reports.is_empty() => Err(e),
            _ => Ok(reports),
        }
    }

    /// Runs `name` now, whatever its due time (`molt schedule run`), recorded
    /// as a run; its next due time is unchanged. Refused while another process
    /// holds the schedule's lease.
    pub async fn run_now(&self, name: &str) -> Result<RunReport, SchedulerError> {
        let reg = self.jobs.get(name).cloned().ok_or_else(|| self.unknown(name))?;
        self.ensure_once()?;
        let now = self.ctx.clock.now();
        let claim = ScheduleClaim {
            names: vec![name.to_string()],
            due_only: false,
            owner: self.ctx.owner.to_string(),
            now,
            lease_until: self.lease_until(now, &reg),
        };
        let Some(claimed) = self.ctx.store.claim_schedules(&claim)?.into_iter().next() else {
            let stored = self.ctx.store.schedule(name)?.ok_or_else(|| self.unknown(name))?;
            if !stored.enabled {
                return Err(SchedulerError::Disabled(name.to_string()));
            }
            return Err(SchedulerError::Busy {
                name: name.to_string(),
                owner: stored.lease_owner.unwrap_or_else(|| "another process".into()),
                until: stored.lease_expires_at.map(molt_core::time::stamp).unwrap_or_else(|| "?".into()),
            });
        };
        let ctx = self.ctx.clone();
        let mut reports = execute(ctx, reg, claimed, now, true).await?;
        reports.pop().ok_or_else(|| {
            StoreError::InvalidState(format!(
                "schedule `{name}`: its lease was taken over before the run started"
            ))
            .into()
        })
    }

    /// Ticks every [`SchedulerOptions::tick`] until `stop` turns true (or its
    /// sender is dropped). Runs go on in the background, so a long run never
    /// delays another schedule; at the stop, runs in progress get
    /// [`SchedulerOptions::shutdown_grace`] to finish.
    pub async fn serve(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut every = tokio::time::interval(self.options.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running = tokio::task::JoinSet::new();
        tracing::info!(owner = %self.ctx.owner, schedules = self.jobs.len(), "scheduler started");
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = every.tick() => {}
                changed = stop.changed() => {
                    if changed.is_err() { break; }
                    continue;
                }
            }
            while let Some(done) = running.try_join_next() {
                log_outcome(done);
            }
            match self.dispatch() {
                Ok(tasks) => {
                    for task in tasks {
                        running.spawn(async move {
                            task.await.unwrap_or_else(|e| Err(StoreError::InvalidState(e.to_string()).into()))
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "scheduler tick failed; trying again at the next"),
            }
        }
        let grace = tokio::time::sleep(self.options.shutdown_grace);
        tokio::pin!(grace);
        while !running.is_empty() {
            tokio::select! {
                done = running.join_next() => if let Some(done) = done { log_outcome(done) },
                _ = &mut grace => {
                    tracing::warn!(
                        runs = running.len(),
                        "scheduled runs still going at shutdown were stopped; their leases will expire"
                    );
                    running.abort_all();
                    break;
                }
            }
        }
        tracing::info!("scheduler stopped");
    }
}

fn log_outcome(done: Result<Result<Vec<RunReport>, SchedulerError>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "scheduled run could not be recorded"),
        Err(e) => tracing::error!(error = %e, "scheduler task failed"),
    }
}

/// Handles one claimed schedule: the catch-up plan (or a run by hand), the
/// run, its record, and the failing alert.
async fn execute(
    ctx: Context,
    reg: Registered,
    claimed: ClaimedSchedule,
    now: DateTime<Utc>,
    manual: bool,
) -> Result<Vec<RunReport>, SchedulerError> {
    let schedule = claimed.schedule;
    let name = schedule.name.as_str();
    let owner = &*ctx.owner;
    if let Some(previous) = &claimed.taken_over_from {
        tracing::warn!(
            schedule = %name, %previous, interrupted_run = ?claimed.interrupted_run,
            "took over an expired schedule lease"
        );
        // The interrupted run counted as a failure: a process that keeps
        // dying mid-run must raise the alert like a run that keeps failing.
        if claimed.interrupted_run.is_some() && schedule.consecutive_failures >= 2 {
            let error = schedule.last_error.clone().unwrap_or_else(|| "interrupted".into());
            raise_failing(&ctx, failing_alert(name, &schedule, &error, schedule.next_due_at));
        }
    }
    let mut reports = Vec::new();
    let (run, next_due) = if manual {
        (DueRun { due: now, missed: 0, late: false }, None)
    } else {
        let plan = catch_up::plan(&reg.spec, reg.catch_up, schedule.next_due_at, now);
        if let Some(skipped) = plan.skip {
            let detail = skip_detail(&skipped);
            tracing::warn!(schedule = %name, missed = skipped.count, "{detail}");
            let request = ScheduleSkip {
                due_at: skipped.last,
                missed: skipped.count,
                detail: detail.clone(),
                next_due: plan.run.is_none().then_some(plan.next_due),
            };
            let Some(after) = ctx.store.skip_schedule_due(name, owner, request, now)? else {
                tracing::warn!(schedule = %name, "lease lost before the skip was recorded");
                return Ok(reports);
            };
            reports.push(RunReport {
                schedule: name.to_string(),
                due_at: skipped.last,
                started_at: now,
                finished_at: now,
                outcome: RunOutcome::Skipped,
                missed: skipped.count,
                late: true,
                detail,
                run_id: None,
                consecutive_failures: after.consecutive_failures,
                manual,
            });
        }
        match plan.run {
            Some(run) => (run, Some(plan.next_due)),
            None => return Ok(reports),
        }
    };
    let Some(run_id) = ctx.store.start_schedule_run(name, owner, run.due, run.missed, now)? else {
        tracing::warn!(schedule = %name, "lease lost before the run started");
        return Ok(reports);
    };
    if run.late || run.missed > 0 {
        tracing::info!(schedule = %name, due = %run.due, missed = run.missed, "catching up");
    }
    let timeout = reg.job.timeout().unwrap_or(ctx.default_timeout);
    let result = guarded(reg.job.clone(), run.due, timeout).await;
    let finished_at = ctx.clock.now();
    let end = match &result {
        Ok(detail) => RunEnd::Succeeded { detail: detail.clone() },
        Err(error) => RunEnd::Failed { error: error.clone() },
    };
    let Some(after) = ctx.store.finish_schedule_run(run_id, owner, end, finished_at, next_due)? else {
        tracing::warn!(schedule = %name, run_id, "lease lost during the run; its result was not recorded");
        return Ok(reports);
    };
    let key = format!("schedule_failing:{name}");
    let (outcome, detail) = match result {
        Ok(detail) => {
            tracing::info!(schedule = %name, due = %run.due, %detail, "scheduled run succeeded");
            // Every success resolves (a no-op when nothing fires): the alert
            // may stem from a count this run's claim did not see.
            if let Err(e) = ctx.alerts.resolve(&key) {
                tracing::warn!(schedule = %name, error = %e, "could not resolve the failing alert");
            }
            (RunOutcome::Succeeded, detail)
        }
        Err(error) => {
            // A run by hand reports its failure to whoever asked for it.
            if manual {
                tracing::info!(schedule = %name, %error, failures = after.consecutive_failures, "run failed");
            } else {
                tracing::warn!(
                    schedule = %name, due = %run.due, %error, failures = after.consecutive_failures,
                    "scheduled run failed"
                );
            }
            if after.consecutive_failures >= 2 {
                raise_failing(&ctx, failing_alert(name, &after, &error, run.due));
            }
            (RunOutcome::Failed, error)
        }
    };
    reports.push(RunReport {
        schedule: name.to_string(),
        due_at: run.due,
        started_at: now,
        finished_at,
        outcome,
        missed: run.missed,
        late: run.late,
        detail,
        run_id: Some(run_id),
        consecutive_failures: after.consecutive_failures,
        manual,
    });
    Ok(reports)
}

fn skip_detail(skipped: &Skipped) -> String {
    let stamp = molt_core::time::stamp;
    if skipped.count == 1 {
        format!("due time {} missed (no scheduler ran); policy skip: not run", stamp(skipped.first))
    } else {
        format!(
            "{} due times from {} to {} missed (no scheduler ran); policy skip: not run",
            skipped.count,
            stamp(skipped.first),
            stamp(skipped.last)
        )
    }
}

/// The first line of an error, at most 200 characters, for an alert's summary.
fn one_line(error: &str) -> String {
    let line = error.lines().next().unwrap_or("").trim();
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

fn raise_failing(ctx: &Context, alert: Raise) {
    let key = alert.key.clone();
    if let Err(e) = ctx.alerts.raise(alert) {
        tracing::warn!(%key, error = %e, "could not raise the failing alert");
    }
}

fn failing_alert(name: &str, after: &Schedule, error: &str, due: DateTime<Utc>) -> Raise {
    Raise {
        key: format!("schedule_failing:{name}"),
        severity: Severity::Warning,
        summary: format!(
            "schedule {name} failed {} times in a row; last error: {}",
            after.consecutive_failures,
            one_line(error)
        ),
        details: serde_json::json!({
            "schedule": name,
            "spec": after.spec,
            "consecutive_failures": after.consecutive_failures,
            "last_error": error,
            "due_at": molt_core::time::stamp(due),
            "next_due_at": molt_core::time::stamp(after.next_due_at),
        }),
    }
}

/// Runs the job in its own task, so a panic or a timeout is a failed run and
/// never takes the scheduler down.
async fn guarded(
    job: Arc<dyn ScheduledJob>,
    due: DateTime<Utc>,
    timeout: Duration,
) -> Result<String, String> {
    let task = tokio::spawn(async move { job.run(due).await });
    let abort = task.abort_handle();
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) if e.is_panic() => Err(format!("panicked: {}", panic_message(e.into_panic()))),
        Ok(Err(e)) => Err(format!("the run was cancelled: {e}")),
        Err(_) => {
            abort.abort();
            Err(format!("timed out after {}", human(timeout)))
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{} ms", d.as_millis()),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::BlockingWork;

    #[tokio::test]
    async fn blocking_work_never_overlaps_a_run_still_going() {
        let work = BlockingWork::default();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = tokio::sync::oneshot::channel();
        let first = tokio::spawn({
            let work = work.clone();
            async move {
                work.run(move || {
                    let _ = started.send(());
                    wait.recv().map_err(|e| e.to_string())
                })
                .await
            }
        });
        is_started.await.unwrap();
        let refused = work.run(|| Ok::<_, String>(2)).await.unwrap_err();
        assert!(refused.contains("still going"), "{refused}");
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(work.run(|| Ok::<_, String>(3)).await, Ok(3));
        assert_eq!(work.run(|| Err::<(), _>("store down")).await, Err("store down".to_string()));
    }
}
