//! `molt schedule list` and `molt schedule run NAME`, end to end on the real
//! binary and a temporary data directory.

mod common;

use common::{stderr, stdout, Studio};
use serde_json::Value;

fn list(studio: &Studio) -> Vec<Value> {
    let out = studio.run(["schedule", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str::<Value>(&stdout(&out)).unwrap().as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} not in {rows:?}"))
}

#[test]
fn list_shows_the_studio_schedules_and_run_records_a_run() {
    let studio = Studio::new();
    let text = studio.run(["schedule", "list"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    for expected in [
        "NAME",
        "CATCH-UP",
        "retention",
        "daily 03:30",
        "run-once",
        "queue_rescue",
        "every 5m",
        "skip",
        "search_optimize",
        "weekly sun 04:00",
        "never",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }

    let rows = list(&studio);
    assert_eq!(rows.len(), 6);
    assert_eq!(row(&rows, "daily_summary")["spec"], "daily 20:00");
    assert_eq!(row(&rows, "weekly_cost_report")["spec"], "weekly fri 18:00");
    let prune = row(&rows, "retention");
    assert_eq!(prune["spec"], "daily 03:30");
    assert_eq!(prune["catch_up"], "run-once");
    assert_eq!(prune["registered"], true);
    assert_eq!(prune["consecutive_failures"], 0);
    assert_eq!(prune["last_outcome"], Value::Null);
    let next_due = prune["next_due_at"].as_str().unwrap().to_string();
    assert!(next_due.contains("T03:30:00"), "{next_due}");

    let run = studio.run(["schedule", "run", "retention"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).starts_with("schedule retention: succeeded in ")
            && stdout(&run).contains(
                "deleted 0 finished job(s) older than 7 days, 0 query log row(s) older than 90 days"
            ),
        "{}",
        stdout(&run)
    );
    let json = studio.run(["schedule", "run", "search_optimize", "--json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["outcome"], "succeeded");
    assert_eq!(report["manual"], true);
    assert_eq!(report["detail"], "search index optimized");

    let rows = list(&studio);
    let prune = row(&rows, "retention");
    assert_eq!(prune["last_outcome"], "succeeded");
    assert_eq!(prune["next_due_at"], next_due.as_str(), "a run by hand leaves the schedule as it was");
    assert_eq!(prune["lease_owner"], Value::Null);
    let text = stdout(&studio.run(["schedule", "list"]));
    assert!(text.contains("succeeded"), "{text}");
}

#[test]
fn an_unknown_schedule_is_a_precise_error() {
    let studio = Studio::new();
    let out = studio.run(["schedule", "run", "prune"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "unknown schedule `prune`; the schedules are: daily_summary, health_check, queue_rescue, retention, \
             search_optimize, weekly_cost_report"
        ),
        "{}",
        stderr(&out)
    );
    let json = studio.run(["schedule", "run", "prune", "--json"]);
    let error: Value = serde_json::from_str(stderr(&json).trim()).unwrap();
    assert_eq!(error["error"]["code"], "unknown_schedule");
}

#[test]
fn a_schedule_running_elsewhere_is_not_run_twice() {
    let studio = Studio::new();
    list(&studio);
    // Another process holds the lease (a `molt serve` running it now).
    let conn = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    conn.execute(
        "UPDATE schedules SET lease_owner = 'serve-host:42:1', lease_expires_at = '2999-01-01T00:00:00.000Z'
         WHERE name = 'retention'",
        [],
    )
    .unwrap();
    let out = studio.run(["schedule", "run", "retention"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("schedule `retention` is running in another process (serve-host:42:1 holds it"),
        "{}",
        stderr(&out)
    );
    let text = stdout(&studio.run(["schedule", "list"]));
    assert!(text.contains("running now (serve-host:42:1)"), "{text}");
}

#[test]
fn a_failed_run_exits_1_and_is_counted() {
    // A chain naming a provider that does not exist: the rescue job cannot
    // build the pipeline runner, so its run fails (listing still works).
    let studio = Studio::new();
    std::fs::write(
        studio.dir.path().join("molt.toml"),
        "[pipeline.chains]\ntranscribe = [\"nowhere:model\"]\n",
    )
    .unwrap();
    list(&studio);
    let out = studio.run(["schedule", "run", "queue_rescue"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("schedule queue_rescue: failed in "), "{}", stdout(&out));
    assert!(stderr(&out).contains("schedule queue_rescue failed: "), "{}", stderr(&out));
    let rows = list(&studio);
    let rescue = row(&rows, "queue_rescue");
    assert_eq!(rescue["last_outcome"], "failed");
    assert_eq!(rescue["consecutive_failures"], 1);
    let text = stdout(&studio.run(["schedule", "list"]));
    assert!(text.contains("last errors:\n  queue_rescue: "), "{text}");
}
