//! The supervised worker pool: tasks beat into the store, a silent one is
//! restarted (with an audit event), and a stopped pool records its stop.

mod common;

use common::Studio;
use molt_pipeline::router::RouterConfig;
use molt_pipeline::workers::WorkerPool;
use molt_store::OpsStore;
use std::sync::Arc;
use std::time::Duration;

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_beat_silent_ones_are_restarted_and_a_stop_is_recorded() {
    let studio = Studio::new();
    let runner = Arc::new(studio.runner(studio.router(RouterConfig::default()), Duration::from_secs(60)));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let beats: Arc<dyn OpsStore> = Arc::new(studio.store.clone());
    let pool = WorkerPool::start(runner, beats, "host:1".into(), 2, Duration::from_millis(5), stopped);
    assert_eq!(pool.names(), ["host:1/1", "host:1/2"]);
    until("both heartbeats", || studio.store.workers().unwrap().len() == 2).await;

    // Nothing is silent against a threshold in the past.
    assert!(pool.restart_dead("2000-01-01T00:00:00.000Z").is_empty());
    // Against one in the future every task is silent: both restarted, each audited.
    assert_eq!(pool.restart_dead("9999-01-01T00:00:00.000Z"), ["host:1/1", "host:1/2"]);
    assert_eq!(studio.scalar("SELECT count(*) FROM events WHERE kind = 'ops.worker_restarted'"), 2);

    stop.send(true).unwrap();
    pool.join().await;
    let rows = studio.store.workers().unwrap();
    assert!(rows.iter().all(|w| w.stopped_at.is_some()), "{rows:?}");
    // A stopping pool restarts nothing.
    assert!(pool.restart_dead("9999-01-01T00:00:00.000Z").is_empty());
}
