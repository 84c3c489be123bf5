//! The durable queue: priorities, delays, unique live keys, leases, fencing,
//! the reaper, retries, pruning, and several processes sharing one database.

use molt_core::jobs::{JobOutcome, JobState, NewJob};
use molt_core::time::stamp_in;
use molt_core::{ErrorClass, Stage};
use molt_store::sqlite::queue::{self, Enqueued};
use molt_store::{SqliteStore, StoreOptions};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_secs(5),
        lock_retries: 3,
        read_connections: 2,
    })
    .unwrap()
}

const LEASE: Duration = Duration::from_secs(60);

fn job(priority: i64) -> NewJob {
    NewJob { priority, ..NewJob::new("test") }
}

/// Run the reaper as if `secs` seconds had passed.
fn reap_after(store: &SqliteStore, secs: f64) -> molt_core::jobs::ReapReport {
    store.write(move |c| queue::reap(c, &stamp_in(secs))).unwrap()
}

fn state_of(store: &SqliteStore, id: i64) -> (String, u32, Option<String>) {
    store
        .read(|c| {
            Ok(c.query_row("SELECT state, attempt, last_error FROM jobs WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?)
        })
        .unwrap()
}

#[test]
fn claims_follow_priority_respect_run_at_and_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let later = NewJob { run_at: Some(stamp_in(3600.0)), ..job(-100) };
    let ids: Vec<i64> = store
        .enqueue_many(vec![job(5), job(1), later, job(1), job(3)])
        .unwrap()
        .into_iter()
        .map(Enqueued::id)
        .collect();
    let first = store.claim("w", 2, LEASE).unwrap();
    assert_eq!(first.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[1], ids[3]]);
    assert!(first.iter().all(|j| j.attempt == 1 && j.lease_token.len() == 32));
    assert_ne!(first[0].lease_token, first[1].lease_token);
    let rest = store.claim("w", 10, LEASE).unwrap();
    assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[0], ids[4]], "the delayed job waits");
}

#[test]
fn one_live_job_per_song_and_stage() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(|c| {
            Ok(c.execute_batch(
                "INSERT INTO artists (id, name_latin) VALUES (1, 'a');
                 INSERT INTO assets (id, kind, sha256, path, mime, bytes) VALUES (1, 'audio_in', 'x', 'p', 'audio/wav', 1);
                 INSERT INTO songs (id, title, artist_id, audio_asset_id, audio_sha256, created_by) VALUES (7, 't', 1, 1, 'x', 't');",
            )?)
        })
        .unwrap();
    let a = store.enqueue(NewJob::stage(7, Stage::Transcribe)).unwrap();
    let b = store.enqueue(NewJob::stage(7, Stage::Transcribe)).unwrap();
    assert!(matches!(a, Enqueued::Created(_)));
    assert_eq!(b, Enqueued::AlreadyLive(a.id()));
    assert!(matches!(store.enqueue(NewJob::stage(7, Stage::Context)).unwrap(), Enqueued::Created(_)));
    let claimed = store.claim("w", 1, LEASE).unwrap().remove(0);
    assert_eq!(
        store.enqueue(NewJob::stage(7, Stage::Transcribe)).unwrap(),
        Enqueued::AlreadyLive(a.id()),
        "running is live too"
    );
    store.complete(vec![(claimed.id, claimed.lease_token)]).unwrap();
    assert!(
        matches!(store.enqueue(NewJob::stage(7, Stage::Transcribe)).unwrap(), Enqueued::Created(_)),
        "finished frees the key"
    );
}

#[test]
fn a_stale_worker_is_fenced_out_after_a_rescue() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.enqueue(job(0)).unwrap().id();
    let stale = store.claim("worker-a", 1, LEASE).unwrap().remove(0);

    let report = reap_after(&store, 120.0);
    assert_eq!(report.requeued, vec![id]);
    assert!(state_of(&store, id).2.unwrap().contains("no heartbeat from worker-a"));
    let fresh = store.claim("worker-b", 1, LEASE).unwrap().remove(0);
    assert_eq!((fresh.id, fresh.attempt), (id, 2));
    assert_ne!(fresh.lease_token, stale.lease_token);

    // The stale worker wakes up: every write it attempts is refused.
    assert!(!store.heartbeat(id, &stale.lease_token, LEASE).unwrap());
    assert_eq!(store.complete(vec![(id, stale.lease_token.clone())]).unwrap(), vec![false]);
    let failed = JobOutcome::Failed { error: "stale".into(), class: ErrorClass::Unknown };
    assert_eq!(store.finish(id, &stale.lease_token, failed).unwrap(), None);
    assert_eq!(state_of(&store, id).0, "running", "the fresh attempt is untouched");

    assert!(store.heartbeat(id, &fresh.lease_token, LEASE).unwrap());
    assert_eq!(
        store.finish(id, &fresh.lease_token, JobOutcome::Succeeded).unwrap(),
        Some(JobState::Succeeded)
    );
}

#[test]
fn a_live_heartbeat_keeps_the_reaper_away() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.enqueue(job(0)).unwrap().id();
    let held = store.claim("w", 1, Duration::from_secs(600)).unwrap().remove(0);
    assert!(reap_after(&store, 300.0).requeued.is_empty());
    assert!(store.heartbeat(id, &held.lease_token, Duration::from_secs(600)).unwrap());
    assert_eq!(reap_after(&store, 601.0).requeued, vec![id]);
}

#[test]
fn out_of_attempts_the_reaper_fails_the_job_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.enqueue(NewJob { max_attempts: 2, ..job(0) }).unwrap().id();
    for attempt in 1..=2 {
        let j = store.claim("w", 1, LEASE).unwrap().remove(0);
        assert_eq!(j.attempt, attempt);
        let report = reap_after(&store, 120.0);
        if attempt == 1 {
            assert_eq!(report.requeued, vec![id]);
        } else {
            assert_eq!(report.failed.iter().map(|f| f.id).collect::<Vec<_>>(), vec![id]);
        }
    }
    let (state, attempt, error) = state_of(&store, id);
    assert_eq!((state.as_str(), attempt), ("failed", 2));
    assert!(error.unwrap().contains("after 2 attempts"));
    assert!(store.claim("w", 1, LEASE).unwrap().is_empty());
}

#[test]
fn retries_wait_for_run_at_and_stop_at_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.enqueue(NewJob { max_attempts: 2, ..job(0) }).unwrap().id();
    let j = store.claim("w", 1, LEASE).unwrap().remove(0);
    let retry =
        JobOutcome::Retry { run_at: stamp_in(3600.0), error: "429".into(), class: ErrorClass::RateLimited };
    assert_eq!(store.finish(id, &j.lease_token, retry).unwrap(), Some(JobState::Queued));
    assert!(store.claim("w", 1, LEASE).unwrap().is_empty(), "not before run_at");

    store
        .write(move |c| {
            Ok(c.execute("UPDATE jobs SET run_at = ?2 WHERE id = ?1", rusqlite::params![id, stamp_in(-1.0)])?)
        })
        .unwrap();
    let j = store.claim("w", 1, LEASE).unwrap().remove(0);
    let retry =
        JobOutcome::Retry { run_at: stamp_in(0.0), error: "500".into(), class: ErrorClass::Transient };
    assert_eq!(
        store.finish(id, &j.lease_token, retry).unwrap(),
        Some(JobState::Failed),
        "second attempt was the last"
    );
}

#[test]
fn pruning_removes_old_successes_and_keeps_failures() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.enqueue_many(vec![job(0), job(0)]).unwrap();
    let claimed = store.claim("w", 2, LEASE).unwrap();
    store.finish(claimed[0].id, &claimed[0].lease_token, JobOutcome::Succeeded).unwrap();
    let failed = JobOutcome::Failed { error: "bad data".into(), class: ErrorClass::SchemaData };
    store.finish(claimed[1].id, &claimed[1].lease_token, failed).unwrap();
    assert_eq!(store.prune(Duration::from_secs(3600)).unwrap(), 0, "recent successes stay");
    let pruned = store.write(|c| queue::prune(c, &stamp_in(1.0))).unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(store.job_counts().unwrap(), vec![("failed".to_string(), 1)]);
}

#[test]
fn several_processes_share_the_queue_and_each_job_completes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    first.enqueue_many((0..2000).map(|_| job(0)).collect()).unwrap();
    // Two independent stores on one file stand for two `molt worker` processes.
    let second = open(dir.path());
    let done: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = [&first, &second, &first, &second]
            .into_iter()
            .enumerate()
            .map(|(w, store)| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let claimed = store.claim(&format!("w{w}"), 16, LEASE).unwrap();
                        if claimed.is_empty() {
                            return mine;
                        }
                        let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
                        let accepted = store
                            .complete(claimed.into_iter().map(|j| (j.id, j.lease_token)).collect())
                            .unwrap();
                        assert!(accepted.iter().all(|a| *a));
                        mine.extend(ids);
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<i64> = done.into_iter().flatten().collect();
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!((all.len(), unique.len()), (2000, 2000), "every job exactly once");
    assert_eq!(first.job_counts().unwrap(), vec![("succeeded".to_string(), 2000)]);
}
