//! `molt serve`: the API on the embedded default store.

use super::open_store;
use super::process::Workers;
use super::status::StudioHealer;
use crate::cli::ServeArgs;
use crate::output::{CliError, CliResult};
use molt_core::Config;
use molt_ops::metrics::Metrics;
use molt_ops::monitor::{Healer, Monitor};
use molt_search::ViewCounter;
use molt_server::AppState;
use molt_store::SqliteStore;
use std::sync::Arc;
use std::time::Duration;

/// How often due alert notices are sent (and retried); new ones go at once.
const ALERT_DELIVERY_EVERY: Duration = Duration::from_secs(5);

/// Completes when `flag` turns true.
async fn until_true(mut flag: tokio::sync::watch::Receiver<bool>) {
    while !*flag.borrow() {
        if flag.changed().await.is_err() {
            return;
        }
    }
}

/// What `molt serve` runs besides the HTTP server: pipeline workers (unless
/// `--no-workers`), the scheduler (health checks, rescue, retention…), alert
/// delivery, and the monitor and metrics the API serves.
struct Operations {
    monitor: Arc<Monitor>,
    metrics: Arc<Metrics>,
    workers: Option<Workers>,
    stop: tokio::sync::watch::Sender<bool>,
    scheduling: tokio::task::JoinHandle<()>,
    /// Stopped on its own, last, so its final round sends what stopping raised.
    stop_delivery: tokio::sync::watch::Sender<bool>,
    delivery: tokio::task::JoinHandle<()>,
}

impl Operations {
    fn start(config: &Config, store: &SqliteStore, with_workers: bool) -> CliResult<Operations> {
        let mut workers = None;
        let mut runner = None;
        if with_workers {
            let r = super::process::runner(config, store)?;
            workers = Some(super::process::spawn_workers(store, r.clone(), config.pipeline.workers));
            runner = Some(r);
        }
        let healer = runner
            .clone()
            .zip(workers.as_ref())
            .map(|(runner, w)| Arc::new(StudioHealer { runner, workers: w.pool.clone() }) as Arc<dyn Healer>);
        let alerts = super::status::alerter(config, store)?;
        let monitor = super::status::monitor(config, store, alerts.clone(), healer);
        let metrics = super::status::metrics(store, runner.clone());
        let scheduler = super::schedule::studio_scheduler(
            config,
            store,
            Arc::new(molt_ops::SystemClock),
            alerts.clone(),
            runner,
            monitor.clone(),
        )?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (stop_delivery, delivery_stopped) = tokio::sync::watch::channel(false);
        let delivery =
            tokio::spawn(async move { alerts.run(ALERT_DELIVERY_EVERY, until_true(delivery_stopped)).await });
        let scheduling = tokio::spawn(async move { scheduler.serve(stopped).await });
        Ok(Operations { monitor, metrics, workers, stop, scheduling, stop_delivery, delivery })
    }

    /// Scheduler first (no new runs), then the workers finish their jobs, and
    /// alert delivery last: its final round sends a notice raised while
    /// stopping (or leaves it queued for the next start).
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.scheduling.await;
        if let Some(workers) = self.workers {
            workers.stop().await;
        }
        let _ = self.stop_delivery.send(true);
        let _ = self.delivery.await;
    }
}

pub async fn run(mut config: Config, args: ServeArgs) -> CliResult {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let store = open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(&config.server.listen).await.map_err(|e| {
        CliError::new("listen_failed", format!("cannot listen on {}: {e}", config.server.listen))
    })?;
    let address = listener.local_addr().map_err(|e| CliError::new("listen_failed", e.to_string()))?;
    tracing::info!(%address, data_dir = %config.data_dir.display(), "molt serving");
    // The one stdout line: scripts and tests read the bound address from it.
    println!("molt listening on http://{address}");
    let ops = Operations::start(&config, &store, !args.no_workers)?;
    let search = super::search::service(&config, &store, super::search::Notice::Log)?;
    super::search::spawn_indexer(search.clone());
    let views = Arc::new(ViewCounter::new(Arc::new(store.clone())));
    let flusher = super::search::spawn_view_flusher(views.clone());
    let state = AppState::new(Arc::new(store.clone()), Arc::new(store.clone()), config)
        .with_reports(Arc::new(store))
        .with_search(search)
        .with_views(views.clone())
        .with_monitor(ops.monitor.clone())
        .with_metrics(ops.metrics.clone());
    let swept = state.catalog.sweep_stale_uploads(std::time::Duration::from_secs(3600));
    if swept > 0 {
        tracing::info!(files = swept, "removed staging files left by an interrupted upload");
    }
    let served = molt_server::serve(listener, state, molt_server::shutdown_signal()).await;
    // Stopped on an error too: the workers record their stop, and the last
    // alert round still runs.
    ops.stop().await;
    served.map_err(|e| CliError::new("server_failed", e.to_string()))?;
    flusher.abort();
    super::search::flush_views(views).await;
    tracing::info!("molt stopped");
    Ok(())
}
