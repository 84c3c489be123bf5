//! Scheduled work in the store: ensuring the code's schedules, leases that two
//! processes cannot both hold, takeover of an interrupted run, fenced runs and
//! skips. Every time is passed in, so nothing here depends on the wall clock.

use chrono::{DateTime, Duration as Span, Utc};
use molt_core::schedule::{CatchUp, Ensured, RunEnd, RunOutcome, ScheduleClaim, ScheduleRun, ScheduleSkip};
use molt_store::{ScheduleStore, SqliteStore, StoreOptions};
use std::path::Path;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions::in_dir(dir)).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn claim(owner: &str, names: &[&str], due_only: bool, now: DateTime<Utc>) -> ScheduleClaim {
    ScheduleClaim {
        names: names.iter().map(|n| n.to_string()).collect(),
        due_only,
        owner: owner.into(),
        now,
        lease_until: now + Span::minutes(5),
    }
}

fn runs(store: &SqliteStore, name: &str) -> Vec<ScheduleRun> {
    store.schedule_runs(name, 100).unwrap()
}

#[test]
fn ensure_inserts_once_and_follows_changes_in_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = at("2026-11-16T10:00:00Z");
    let first = at("2026-11-16T20:00:00Z");
    assert_eq!(
        store.ensure_schedule("daily", "daily 20:00", CatchUp::RunOnce, first, now).unwrap(),
        Ensured::Created
    );
    assert_eq!(
        store
            .ensure_schedule("daily", "daily 20:00", CatchUp::RunOnce, at("2026-11-17T20:00:00Z"), now)
            .unwrap(),
        Ensured::Unchanged,
        "an unchanged schedule keeps its next due time"
    );
    assert_eq!(store.schedule("daily").unwrap().unwrap().next_due_at, first);

    // A run, so there is history to keep.
    let c = store.claim_schedules(&claim("p1", &["daily"], false, now)).unwrap();
    assert_eq!(c.len(), 1);
    let run = store.start_schedule_run("daily", "p1", now, 0, now).unwrap().unwrap();
    store
        .finish_schedule_run(run, "p1", RunEnd::Succeeded { detail: "ok".into() }, now, None)
        .unwrap()
        .unwrap();

    // Only the policy changed: the next due time stays.
    let changed =
        store.ensure_schedule("daily", "daily 20:00", CatchUp::Skip, at("2030-01-01T00:00:00Z"), now);
    assert_eq!(
        changed.unwrap(),
        Ensured::Updated { previous_spec: "daily 20:00".into(), previous_catch_up: CatchUp::RunOnce }
    );
    let s = store.schedule("daily").unwrap().unwrap();
    assert_eq!((s.catch_up, s.next_due_at), (CatchUp::Skip, first));

    // The text changed: the next due time is recomputed (by the caller) and the runs are kept.
    let new_first = at("2026-11-16T21:30:00Z");
    let changed = store.ensure_schedule("daily", "daily 21:30", CatchUp::Skip, new_first, now).unwrap();
    assert_eq!(
        changed,
        Ensured::Updated { previous_spec: "daily 20:00".into(), previous_catch_up: CatchUp::Skip }
    );
    let s = store.schedule("daily").unwrap().unwrap();
    assert_eq!((s.spec.as_str(), s.next_due_at), ("daily 21:30", new_first));
    assert_eq!(runs(&store, "daily").len(), 1, "history is kept");
    assert_eq!(s.last_outcome, Some(RunOutcome::Succeeded));
    assert_eq!(store.schedules().unwrap().len(), 1);
    assert_eq!(store.schedule("nope").unwrap(), None);
}

#[test]
fn only_due_schedules_are_claimed_and_only_by_one_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = at("2026-11-16T10:00:00Z");
    store.ensure_schedule("soon", "every 60s", CatchUp::Skip, at("2026-11-16T10:01:00Z"), now).unwrap();
    store.ensure_schedule("due", "every 60s", CatchUp::Skip, now, now).unwrap();
    store.ensure_schedule("other", "every 60s", CatchUp::Skip, now, now).unwrap();

    // Only registered names, and only due ones.
    let first = store.claim_schedules(&claim("p1", &["soon", "due"], true, now)).unwrap();
    let names: Vec<_> = first.iter().map(|c| c.schedule.name.as_str()).collect();
    assert_eq!(names, ["due"]);
    assert_eq!(first[0].schedule.lease_owner.as_deref(), Some("p1"));
    assert_eq!(first[0].taken_over_from, None);

    // A second process (its own connection to the same file) gets nothing while the lease holds.
    let other = open(dir.path());
    assert!(other.claim_schedules(&claim("p2", &["soon", "due"], true, now)).unwrap().is_empty());
    assert!(
        other.claim_schedules(&claim("p2", &["due"], false, now)).unwrap().is_empty(),
        "not even by hand"
    );
    assert_eq!(other.start_schedule_run("due", "p2", now, 0, now).unwrap(), None, "fenced");

    // Released by the holder's finish, the next due one can be claimed by either.
    let run = store.start_schedule_run("due", "p1", now, 0, now).unwrap().unwrap();
    let done = store
        .finish_schedule_run(
            run,
            "p1",
            RunEnd::Succeeded { detail: "ok".into() },
            now,
            Some(now + Span::minutes(1)),
        )
        .unwrap()
        .unwrap();
    assert_eq!((done.lease_owner, done.next_due_at), (None, now + Span::minutes(1)));
    let later = now + Span::minutes(1);
    let second = other.claim_schedules(&claim("p2", &["soon", "due"], true, later)).unwrap();
    assert_eq!(second.len(), 2);
    assert!(store.claim_schedules(&claim("p1", &["soon", "due"], true, later)).unwrap().is_empty());
}

#[test]
fn two_processes_claiming_at_once_never_both_get_a_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let setup = open(dir.path());
    let now = at("2026-11-16T10:00:00Z");
    let names: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    for name in &names {
        setup.ensure_schedule(name, "every 60s", CatchUp::Skip, now, now).unwrap();
    }
    let threads: Vec<_> = ["p1", "p2"]
        .into_iter()
        .map(|owner| {
            let store = open(dir.path());
            let names = names.clone();
            std::thread::spawn(move || {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut got = Vec::new();
                for name in refs {
                    got.extend(
                        store
                            .claim_schedules(&claim(owner, &[name], true, now))
                            .unwrap()
                            .into_iter()
                            .map(|c| c.schedule.name),
                    );
                }
                got
            })
        })
        .collect();
    let mut all: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    all.sort();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(all, expected, "each schedule claimed exactly once");
}

#[test]
fn an_expired_lease_with_an_unfinished_run_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = at("2026-11-16T10:00:00Z");
    store.ensure_schedule("daily", "daily 10:00", CatchUp::RunOnce, now, now).unwrap();
    let c = store.claim_schedules(&claim("dead", &["daily"], true, now)).unwrap();
    let lease_until = c[0].schedule.lease_expires_at.unwrap();
    let run = store.start_schedule_run("daily", "dead", now, 0, now).unwrap().unwrap();

    // Before the lease expires: nobody else may take it.
    assert!(store
        .claim_schedules(&claim("new", &["daily"], true, lease_until - Span::seconds(1)))
        .unwrap()
        .is_empty());
    // At expiry: taken over; the dead run is closed as failed, and the due time is still due.
    let taken = store.claim_schedules(&claim("new", &["daily"], true, lease_until)).unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].taken_over_from.as_deref(), Some("dead"));
    assert_eq!(taken[0].interrupted_run, Some(run));
    let s = &taken[0].schedule;
    assert_eq!((s.consecutive_failures, s.last_outcome, s.next_due_at), (1, Some(RunOutcome::Failed), now));
    assert!(s.last_error.as_deref().unwrap().contains("interrupted"), "{:?}", s.last_error);
    let old = &runs(&store, "daily")[0];
    assert_eq!((old.id, old.outcome), (run, RunOutcome::Failed));

    // The dead holder's late finish is refused and changes nothing.
    let late = store.finish_schedule_run(
        run,
        "dead",
        RunEnd::Succeeded { detail: "late".into() },
        lease_until,
        None,
    );
    assert_eq!(late.unwrap(), None);
    assert_eq!(runs(&store, "daily")[0].outcome, RunOutcome::Failed);

    // The new holder runs the due time; its success resets the failures.
    let rerun = store.start_schedule_run("daily", "new", now, 0, lease_until).unwrap().unwrap();
    let s = store
        .finish_schedule_run(
            rerun,
            "new",
            RunEnd::Succeeded { detail: "ok".into() },
            lease_until,
            Some(now + Span::days(1)),
        )
        .unwrap()
        .unwrap();
    assert_eq!((s.consecutive_failures, s.last_due_at, s.last_error), (0, Some(now), None));
}

#[test]
fn failures_count_up_and_a_success_resets_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = at("2026-11-16T10:00:00Z");
    store.ensure_schedule("x", "every 60s", CatchUp::RunOnce, now, now).unwrap();
    let mut t = now;
    for (i, end) in [
        RunEnd::Failed { error: "boom 1".into() },
        RunEnd::Failed { error: "boom 2".into() },
        RunEnd::Succeeded { detail: "fine".into() },
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(store.claim_schedules(&claim("p", &["x"], true, t)).unwrap().len(), 1);
        let run = store.start_schedule_run("x", "p", t, 3, t).unwrap().unwrap();
        let s = store
            .finish_schedule_run(run, "p", end, t + Span::seconds(2), Some(t + Span::minutes(1)))
            .unwrap()
            .unwrap();
        assert_eq!(s.consecutive_failures, [1, 2, 0][i]);
        t += Span::minutes(1);
    }
    let s = store.schedule("x").unwrap().unwrap();
    assert_eq!((s.last_outcome, s.last_error.as_deref()), (Some(RunOutcome::Succeeded), None));
    let history = runs(&store, "x");
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].detail.as_deref(), Some("fine"));
    assert_eq!(history[1].detail.as_deref(), Some("boom 2"));
    assert_eq!(history[2].missed, 3);
    assert_eq!(history[2].finished_at, Some(now + Span::seconds(2)));
}

#[test]
fn a_skip_records_the_missed_count_and_either_releases_or_keeps_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = at("2026-11-18T21:00:00Z");
    store.ensure_schedule("daily", "daily 20:00", CatchUp::Skip, at("2026-11-16T20:00:00Z"), now).unwrap();
    store.claim_schedules(&claim("p", &["daily"], true, now)).unwrap();
    let next = at("2026-11-19T20:00:00Z");
    let skip = ScheduleSkip {
        due_at: at("2026-11-18T20:00:00Z"),
        missed: 3,
        detail: "3 missed".into(),
        next_due: Some(next),
    };
    assert_eq!(store.skip_schedule_due("daily", "other", skip.clone(), now).unwrap(), None, "fenced");
    let s = store.skip_schedule_due("daily", "p", skip, now).unwrap().unwrap();
    assert_eq!((s.next_due_at, s.lease_owner, s.last_outcome), (next, None, Some(RunOutcome::Skipped)));
    let r = &runs(&store, "daily")[0];
    assert_eq!((r.outcome, r.missed, r.finished_at), (RunOutcome::Skipped, 3, Some(now)));

    // A skip followed by a run keeps the lease for it.
    store.ensure_schedule("every", "every 60s", CatchUp::Skip, at("2026-11-18T20:00:00Z"), now).unwrap();
    store.claim_schedules(&claim("p", &["every"], true, now)).unwrap();
    let skip = ScheduleSkip {
        due_at: now - Span::minutes(1),
        missed: 60,
        detail: "60 missed".into(),
        next_due: None,
    };
    let s = store.skip_schedule_due("every", "p", skip, now).unwrap().unwrap();
    assert_eq!(s.lease_owner.as_deref(), Some("p"));
    assert!(store.start_schedule_run("every", "p", now, 0, now).unwrap().is_some());
}
