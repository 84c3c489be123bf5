//! `molt bench queue`: the queue's throughput on a scratch SQLite database,
//! with the real claim (batched `UPDATE … RETURNING`, leases, fresh tokens)
//! and the real fenced completion, group-committed through the writer.

use crate::cli::BenchCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::jobs::NewJob;
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

pub async fn run(command: BenchCommand, json: bool) -> CliResult {
    let BenchCommand::Queue { jobs, workers, batch } = command;
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
