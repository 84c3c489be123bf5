//! Retention: each table loses exactly its old rows, in one call, and what
//! must never go (failed jobs, running schedule runs, firing alerts, pending
//! notices) survives however old it is.

use molt_store::{RetentionCutoffs, RetentionStore, SqliteStore, StoreOptions};

const OLD: &str = "2026-01-01T00:00:00.000Z";
const NEW: &str = "2026-06-01T00:00:00.000Z";
const CUTOFF: &str = "2026-03-01T00:00:00.000Z";

fn count(store: &SqliteStore, sql: &'static str) -> i64 {
    store.read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?)).unwrap()
}

fn seed(store: &SqliteStore) {
    store
        .write(|c| {
            for (state, finished) in [
                ("succeeded", OLD),
                ("cancelled", OLD),
                ("failed", OLD),
                ("succeeded", NEW),
                ("cancelled", NEW),
            ] {
                c.execute(
                    "INSERT INTO jobs (kind, state, created_at, finished_at) VALUES ('noop', ?1, ?2, ?2)",
                    [state, finished],
                )?;
            }
            c.execute("INSERT INTO jobs (kind, state, created_at) VALUES ('noop', 'queued', ?1)", [OLD])?;
            for at in [OLD, OLD, NEW] {
                c.execute(
                    "INSERT INTO query_log (query_redacted, intent, result_count, response_ms, tier, created_at)
                     VALUES ('sinn sisamouth', 'song_search', 1, 5, 'free', ?1)",
                    [at],
                )?;
            }
            c.execute(
                "INSERT INTO schedules (name, spec, catch_up, next_due_at, created_at)
                 VALUES ('health_check', 'every 60s', 'skip', ?1, ?1)",
                [OLD],
            )?;
            for (outcome, at) in [("succeeded", OLD), ("skipped", OLD), ("running", OLD), ("failed", NEW)] {
                c.execute(
                    "INSERT INTO schedule_runs (schedule, due_at, started_at, outcome) VALUES ('health_check', ?2, ?2, ?1)",
                    [outcome, at],
                )?;
            }
            // 1: resolved long ago, all delivered → notices and alert go.
            // 2: resolved long ago, one notice still pending → only the delivered notice goes.
            // 3: firing since long ago, delivered → the notice goes, the alert stays.
            // 4: resolved recently → stays, with its notice.
            for (id, state, resolved) in
                [(1, "resolved", Some(OLD)), (2, "resolved", Some(OLD)), (3, "firing", None), (4, "resolved", Some(NEW))]
            {
                c.execute(
                    "INSERT INTO alerts (id, key, severity, summary, state, fired_at, last_seen_at, notified_at, resolved_at)
                     VALUES (?1, 'k' || ?1, 'warning', 'x', ?2, ?4, ?4, ?4, ?3)",
                    rusqlite::params![id, state, resolved, OLD],
                )?;
            }
            for (alert, state, delivered) in [
                (1, "delivered", Some(OLD)),
                (1, "delivered", Some(OLD)),
                (2, "delivered", Some(OLD)),
                (2, "pending", None),
                (3, "delivered", Some(OLD)),
                (4, "delivered", Some(NEW)),
            ] {
                c.execute(
                    "INSERT INTO alert_deliveries (alert_id, channel, notice, state, next_attempt_at, created_at, delivered_at)
                     VALUES (?1, 'log', 'fired', ?2, ?4, ?4, ?3)",
                    rusqlite::params![alert, state, delivered, OLD],
                )?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn prune_deletes_only_old_finished_rows_and_keeps_what_must_stay() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&StoreOptions::in_dir(dir.path())).unwrap();
    seed(&store);

    // No cutoff: nothing is touched.
    let none = store.prune_older_than(&RetentionCutoffs::default()).unwrap();
    assert_eq!(none.total(), 0);

    let cutoff = Some(CUTOFF.to_string());
    let all = RetentionCutoffs {
        jobs: cutoff.clone(),
        query_log: cutoff.clone(),
        schedule_runs: cutoff.clone(),
        alert_notices: cutoff,
    };
    let counts = store.prune_older_than(&all).unwrap();
    assert_eq!(
        (counts.jobs, counts.query_log, counts.schedule_runs, counts.alert_deliveries, counts.alerts),
        (2, 2, 2, 4, 1),
        "{counts:?}"
    );
    assert_eq!(counts.total(), 11);

    let states: Vec<String> = store
        .read(|c| {
            let mut s = c.prepare("SELECT state FROM jobs ORDER BY id")?;
            let rows = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert_eq!(states, ["failed", "succeeded", "cancelled", "queued"], "failed and live jobs are kept");
    assert_eq!(count(&store, "SELECT count(*) FROM query_log"), 1);
    assert_eq!(
        count(&store, "SELECT count(*) FROM schedule_runs WHERE outcome IN ('running','failed')"),
        2,
        "a running run and a recent one are kept"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM schedule_runs"), 2);
    let alerts: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT group_concat(id, ',') FROM (SELECT id FROM alerts ORDER BY id)",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(alerts, "2,3,4", "firing, still-notifying and recent alerts stay");
    assert_eq!(count(&store, "SELECT count(*) FROM alert_deliveries WHERE state = 'pending'"), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM alert_deliveries WHERE alert_id = 4"), 1);

    // Idempotent: a second pass finds nothing more.
    let again = store.prune_older_than(&all).unwrap();
    assert_eq!(again.total(), 0);
}
