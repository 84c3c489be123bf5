//! This process's worker tasks, supervised (DESIGN §10 self-healing).
//!
//! Each task loops over [`Runner::pass`] and records a heartbeat in the store
//! (`workers` table) every [`BEAT_EVERY`], also while a pass runs (a stage may
//! take many minutes), so the health monitor can see it alive. [`WorkerPool::restart_dead`] restarts a task that has ended
//! (a panic) or gone silent (hung): the hung one is aborted first. Its jobs
//! are not lost either way: their leases run out and the queue re-queues them
//! with a new lease token.

use crate::runner::Runner;
use molt_core::time::now_stamp;
use molt_store::OpsStore;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often a busy or idle task writes its heartbeat (at most).
pub const BEAT_EVERY: Duration = Duration::from_secs(30);

pub struct WorkerPool {
    runner: Arc<Runner>,
    beats: Arc<dyn OpsStore>,
    process: String,
    idle: Duration,
    stop: watch::Receiver<bool>,
    tasks: Mutex<BTreeMap<String, JoinHandle<()>>>,
}

impl WorkerPool {
    /// Starts `workers` tasks named `<process>/<n>`; they run until `stop` turns true.
    pub fn start(
        runner: Arc<Runner>,
        beats: Arc<dyn OpsStore>,
        process: String,
        workers: usize,
        idle: Duration,
        stop: watch::Receiver<bool>,
    ) -> Arc<WorkerPool> {
        let pool = Arc::new(WorkerPool { runner, beats, process, idle, stop, tasks: Mutex::default() });
        for n in 1..=workers.max(1) {
            let name = format!("{}/{n}", pool.process);
            let task = pool.spawn(&name);
            pool.lock().insert(name, task);
        }
        pool
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn spawn(&self, name: &str) -> JoinHandle<()> {
        let (runner, beats, idle) = (self.runner.clone(), self.beats.clone(), self.idle);
        let (name, process, mut stop) = (name.to_string(), self.process.clone(), self.stop.clone());
        tokio::spawn(async move {
            let mut last_beat: Option<Instant> = None;
            let beat = |last_beat: &mut Option<Instant>| {
                if last_beat.is_none_or(|t| t.elapsed() >= BEAT_EVERY) {
                    match beats.worker_beat(&name, &process, &now_stamp()) {
                        Ok(()) => *last_beat = Some(Instant::now()),
                        Err(e) => tracing::warn!(worker = %name, error = %e, "heartbeat not recorded"),
                    }
                }
            };
            while !*stop.borrow() {
                beat(&mut last_beat);
                let pass = runner.pass();
                tokio::pin!(pass);
                let passed = loop {
                    tokio::select! {
                        passed = &mut pass => break passed,
                        _ = tokio::time::sleep(BEAT_EVERY) => beat(&mut last_beat),
                    }
                };
                match passed {
                    Ok(pass) if pass.claimed > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::error!(worker = %name, error = %e, "worker pass failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = stop.changed() => {}
                }
            }
            if let Err(e) = beats.worker_stopped(&name, &now_stamp()) {
                tracing::warn!(worker = %name, error = %e, "stop not recorded");
            }
        })
    }

    /// Restarts every task that has ended or whose heartbeat is older than
    /// `silent_since` (a UTC stamp), unless the pool is stopping. One audit
    /// event each. Returns their names.
    pub fn restart_dead(&self, silent_since: &str) -> Vec<String> {
        if *self.stop.borrow() {
            return Vec::new();
        }
        let beats: BTreeMap<String, String> = match self.beats.workers() {
            Ok(rows) => rows.into_iter().map(|w| (w.name, w.heartbeat_at)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "worker heartbeats could not be read");
                BTreeMap::new()
            }
        };
        let mut restarted = Vec::new();
        let mut tasks = self.lock();
        for (name, task) in tasks.iter_mut() {
            let ended = task.is_finished();
            let silent = beats.get(name).is_some_and(|at| at.as_str() < silent_since);
            if !(ended || silent) {
                continue;
            }
            task.abort();
            *task = self.spawn(name);
            let why = if ended { "the task had ended" } else { "no heartbeat" };
            tracing::warn!(worker = %name, why, "worker task restarted");
            let details = serde_json::json!({ "worker": name, "why": why });
            if let Err(e) = self.beats.ops_event("monitor", "ops.worker_restarted", None, &details) {
                tracing::error!(error = %e, "worker restart not audited");
            }
            restarted.push(name.clone());
        }
        restarted
    }

    /// Waits for every task to finish (after `stop` turned true).
    pub async fn join(&self) {
        let tasks: Vec<(String, JoinHandle<()>)> = std::mem::take(&mut *self.lock()).into_iter().collect();
        for (name, task) in tasks {
            if let Err(e) = task.await {
                tracing::error!(worker = %name, error = %e, "a worker task died");
            }
        }
    }
}
