//! `molt bench queue`: the queue's throughput on a scratch SQLite database,
//! with the real claim (batched `UPDATE … RETURNING`, leases, fresh tokens)
//! and the real fenced completion, group-committed through the writer.

use crate::cli::BenchCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::jobs::NewJob;
use molt_core::Config;
use molt_store::{SqliteStore, StoreOptions};
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct QueueBench {
    jobs: usize,
    workers: usize,
    batch: usize,
    enqueue_secs: f64,
    run_secs: f64,
    jobs_per_sec: f64,
    fenced_out: usize,
}

pub async fn run(config: &Config, command: BenchCommand, json: bool) -> CliResult {
    let (jobs, workers, batch) = match command {
        BenchCommand::Queue { jobs, workers, batch } => (jobs, workers, batch),
        BenchCommand::Transcribe { audio, model, runs, language } => {
            let config = config.clone();
            let result = tokio::task::spawn_blocking(move || {
                transcribe(&config, &audio, &model, runs.max(1), language)
            })
            .await
            .map_err(|e| CliError::new("runtime", e.to_string()))??;
            emit(json, &result, |r| {
                let walls: Vec<String> = r.wall_secs.iter().map(|w| format!("{w:.2}")).collect();
                format!(
                    "transcribe bench: {:.1} s of audio, model {}, {} thread(s)\n  runs (s): {}\n  median {:.2} s, RTF {:.3} (decode + resample + whisper)\n  text: {}",
                    r.audio_secs, r.model, r.threads, walls.join(", "), r.median_secs, r.median_rtf, r.text
                )
            });
            return Ok(());
        }
        search
        @ (BenchCommand::Corpus { .. } | BenchCommand::Recall { .. } | BenchCommand::Search { .. }) => {
            return super::bench_search::run(config, search, json).await;
        }
    };
    let result = tokio::task::spawn_blocking(move || queue(jobs, workers.max(1), batch.max(1)))
        .await
        .map_err(|e| CliError::new("runtime", e.to_string()))??;
    emit(json, &result, |r| {
        format!(
            "queue bench: {} no-op jobs, {} workers, claim batch {}\n  enqueue: {:.2} s\n  claim + complete: {:.3} s = {:.0} jobs/s (fenced out: {})",
            r.jobs, r.workers, r.batch, r.enqueue_secs, r.run_secs, r.jobs_per_sec, r.fenced_out
        )
    });
    Ok(())
}

#[derive(Serialize)]
struct TranscribeBench {
    model: String,
    threads: usize,
    audio_secs: f64,
    wall_secs: Vec<f64>,
    median_secs: f64,
    median_rtf: f64,
    text: String,
}

/// The local transcriber's own path: decode and resample with molt-media, then whisper.cpp.
fn transcribe(
    config: &Config,
    audio: &std::path::Path,
    model: &str,
    runs: usize,
    language: Option<String>,
) -> CliResult<TranscribeBench> {
    let fail = |code: &'static str| move |e: String| CliError::new(code, e);
    let path = molt_ml::local::ensure_ggml(&config.model_dir(), model).map_err(fail("model_missing"))?;
    let whisper = molt_ml::LocalWhisper::load(&path, config.whisper.threads)
        .map_err(|e| fail("model_failed")(e.to_string()))?;
    let language = language.or(Some(config.whisper.language.clone())).filter(|l| l != "auto");
    let options = molt_ml::TranscribeOptions { language, ..Default::default() };
    let limits = molt_media::AudioLimits { min_duration_secs: 0.0, ..Default::default() };
    let mut walls = Vec::new();
    let mut text = String::new();
    let mut audio_secs = 0.0;
    for _ in 0..runs {
        let start = Instant::now();
        let decoded =
            molt_media::decode_mono_16k(audio, &limits).map_err(|e| fail("invalid_audio")(e.to_string()))?;
        let result = whisper
            .transcribe(&decoded.samples, &options)
            .map_err(|e| fail("transcription_failed")(e.to_string()))?;
        walls.push(start.elapsed().as_secs_f64());
        audio_secs = result.duration_secs;
        text = result.text;
    }
    let mut sorted = walls.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    Ok(TranscribeBench {
        model: model.to_string(),
        threads: config.whisper.threads,
        audio_secs,
        wall_secs: walls,
        median_secs: median,
        median_rtf: median / audio_secs.max(f64::EPSILON),
        text,
    })
}

fn queue(jobs: usize, workers: usize, batch: usize) -> CliResult<QueueBench> {
    let dir = tempfile::tempdir().map_err(|e| CliError::new("io_error", e.to_string()))?;
    let options = StoreOptions {
        path: dir.path().join("bench.db"),
        backup_dir: dir.path().join("backups"),
        busy_timeout: Duration::from_secs(5),
        lock_retries: 3,
        read_connections: 2,
    };
    let store = SqliteStore::open_migrated(&options)?;

    let start = Instant::now();
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(1000) {
        store.enqueue_many(chunk.iter().map(|_| NewJob::new("noop")).collect())?;
    }
    let enqueue_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let fenced_out: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let store = store.clone();
                scope.spawn(move || work(&store, &format!("bench-{w}"), batch))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker thread")).sum::<CliResult<usize>>()
    })?;
    let run_secs = start.elapsed().as_secs_f64();
    Ok(QueueBench {
        jobs,
        workers,
        batch,
        enqueue_secs,
        run_secs,
        jobs_per_sec: jobs as f64 / run_secs,
        fenced_out,
    })
}

/// Claim a batch, "run" it (no-op), complete it; until the queue is empty.
fn work(store: &SqliteStore, owner: &str, batch: usize) -> CliResult<usize> {
    let mut fenced_out = 0;
    loop {
        let claimed = store.claim(owner, batch, Duration::from_secs(60))?;
        if claimed.is_empty() {
            return Ok(fenced_out);
        }
        let done = claimed.into_iter().map(|j| (j.id, j.lease_token)).collect();
        fenced_out += store.complete(done)?.into_iter().filter(|ok| !ok).count();
    }
}
