//! `molt process` and `molt worker`: queue songs and run the pipeline.

use super::open_store;
use crate::cli::ProcessArgs;
use crate::output::{emit, CliError, CliResult};
use molt_core::catalog::SongQuery;
use molt_core::{Config, SongStatus};
use molt_pipeline::runner::{QualityGate, Runner, RunnerConfig};
use molt_pipeline::workers::WorkerPool;
use molt_store::{Database, PipelineStore, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

/// How often idle workers look for due jobs.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// A runner over the configured provider chains.
pub fn runner(config: &Config, store: &SqliteStore) -> CliResult<Arc<Runner>> {
    let pipeline_store: Arc<dyn PipelineStore> = Arc::new(store.clone());
    let locals = crate::studio::StudioProviders::new(config, store)?;
    let router = molt_pipeline::registry::build_router(config, pipeline_store.clone(), &locals)
        .map_err(|e| CliError::new("invalid_config", e))?;
    let p = &config.pipeline;
    let runner_config = RunnerConfig {
        lease: Duration::from_secs(p.lease_secs),
        batch: p.batch,
        owner: format!("{}-{}", hostname(), std::process::id()),
        gate: QualityGate {
            lyrics_confidence: p.lyrics_confidence,
            context_relevance: p.context_relevance,
            critique_score: p.critique_score,
        },
        data_dir: config.data_dir.clone(),
    };
    Ok(Arc::new(Runner::new(pipeline_store, Arc::new(router), runner_config)))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "molt".into())
}

/// This process's supervised worker tasks, and the switch that stops them.
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    pub pool: Arc<WorkerPool>,
}

impl Workers {
    /// Stops the tasks and waits for them to finish their current job.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.pool.join().await;
    }
}

/// Start workers in the background (they beat into `store`'s `workers` table).
pub fn spawn_workers(store: &SqliteStore, runner: Arc<Runner>, workers: usize) -> Workers {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let process = format!("{}:{}", hostname(), std::process::id());
    let pool = WorkerPool::start(runner, Arc::new(store.clone()), process, workers, IDLE_POLL, stopped);
    Workers { stop, pool }
}

pub async fn run(config: &Config, args: ProcessArgs, json: bool) -> CliResult {
    let store = open_store(config).await?;
    let runner = runner(config, &store)?;
    let mut songs = args.songs.clone();
    for (wanted, status) in [(args.all_pending, SongStatus::Pending), (args.all_failed, SongStatus::Failed)] {
        if wanted {
            let query = SongQuery { status: Some(status), limit: 100_000, ..Default::default() };
            songs.extend(store.list_songs(query).await?.into_iter().map(|s| s.id));
        }
    }
    if songs.is_empty() {
        return Err(CliError::new(
            "nothing_to_do",
            "name songs with --song ID, or pass --all-pending or --all-failed",
        ));
    }
    let mut queued = Vec::new();
    for id in &songs {
        let stage = runner.start_song(*id).map_err(|e| CliError::new("not_processable", e))?;
        queued.push(serde_json::json!({ "song": id, "stage": stage }));
    }
    if !args.wait {
        emit(json, &queued, |_| {
            format!("queued {} song(s); run `molt worker` or `molt serve` to process them", songs.len())
        });
        return Ok(());
    }
    let workers = spawn_workers(&store, runner, config.pipeline.workers);
    let outcome = wait_for(&store, &songs, json).await;
    workers.stop().await;
    let outcome = outcome?;
    emit(json, &outcome, |rows| {
        rows.iter()
            .map(|(id, status, note)| format!("song {id}: {status}{note}"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let failed = outcome.iter().filter(|(_, s, _)| *s == SongStatus::Failed).count();
    if failed > 0 {
        return Err(CliError::new(
            "songs_failed",
            format!("{failed} of {} song(s) failed; see `molt song show ID`", outcome.len()),
        ));
    }
    Ok(())
}

/// Poll until every song is done (or paused with nothing due), drawing a progress bar.
async fn wait_for(
    store: &SqliteStore,
    songs: &[i64],
    json: bool,
) -> CliResult<Vec<(i64, SongStatus, String)>> {
    let bar =
        if json { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(songs.len() as u64) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} songs done  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    loop {
        let mut rows = Vec::new();
        let mut waiting = 0;
        for id in songs {
            let song = Database::get_song(store, *id)
                .await?
                .ok_or(CliError::new("not_found", format!("song {id} vanished")))?;
            let live = store.read(|c| molt_store::sqlite::queue::live_job_for_song(c, *id))?;
            let note = match (&song.current_stage, &live, &song.failure_reason) {
                (Some(stage), Some((state, run_at)), _) => {
                    format!(" ({} {state}, next run {run_at})", stage.as_str())
                }
                (_, _, Some(reason)) => format!(": {reason}"),
                _ => String::new(),
            };
            let finished = !matches!(song.status, SongStatus::Pending | SongStatus::Processing);
            let due = live.as_ref().is_some_and(|(state, run_at)| {
                state == "running" || *run_at <= molt_core::time::stamp_in(5.0)
            });
            if !finished && due {
                waiting += 1;
            }
            rows.push((*id, song.status, note));
        }
        let done = rows
            .iter()
            .filter(|(_, s, _)| !matches!(s, SongStatus::Pending | SongStatus::Processing))
            .count();
        bar.set_position(done as u64);
        bar.set_message(format!("{waiting} in progress"));
        if waiting == 0 {
            bar.finish_and_clear();
            return Ok(rows);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `molt worker`: process until SIGTERM or Ctrl-C.
pub async fn worker(config: &Config, workers: Option<usize>) -> CliResult {
    let store = open_store(config).await?;
    let runner = runner(config, &store)?;
    let workers = workers.unwrap_or(config.pipeline.workers);
    tracing::info!(workers, "molt worker started");
    let workers = spawn_workers(&store, runner, workers);
    molt_server::shutdown_signal().await;
    workers.stop().await;
    tracing::info!("molt worker stopped");
    Ok(())
}
