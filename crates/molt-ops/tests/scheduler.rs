//! The scheduler over a real SQLite store, driven by a fake clock: a simulated
//! week with a two-day outage, restarts, an interrupted run taken over, the
//! failing alert, panics and timeouts, two processes on one database, runs by
//! hand and the serve loop. No test waits on the wall clock.

use chrono::{DateTime, Duration as Span, Utc};
use molt_core::schedule::{RunOutcome, ScheduleClaim, ScheduleRun};
use molt_ops::scheduler::{
    job_fn, CatchUp, RunReport, ScheduledJob, Scheduler, SchedulerError, SchedulerOptions,
};
use molt_ops::{Clock, FakeClock, RecordingSink, SinkCall};
use molt_store::{ScheduleStore, SqliteStore, StoreOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions::in_dir(dir)).unwrap()
}

/// A scratch directory, in memory where the system has one: these tests
/// write tens of thousands of small transactions.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The due times a job was called with, per schedule.
#[derive(Default, Clone)]
struct Calls(Arc<Mutex<BTreeMap<String, Vec<DateTime<Utc>>>>>);

impl Calls {
    fn job(&self, name: &str) -> Arc<dyn ScheduledJob> {
        let (calls, name) = (self.clone(), name.to_string());
        Arc::new(job_fn(move |due| {
            calls.0.lock().unwrap().entry(name.clone()).or_default().push(due);
            async move { Ok(format!("ran for {due}")) }
        }))
    }

    fn of(&self, name: &str) -> Vec<DateTime<Utc>> {
        self.0.lock().unwrap().get(name).cloned().unwrap_or_default()
    }
}

fn scheduler(store: &SqliteStore, clock: &FakeClock, sink: &Arc<RecordingSink>, owner: &str) -> Scheduler {
    Scheduler::new(Arc::new(store.clone()), Arc::new(clock.clone()), sink.clone()).with_owner(owner)
}

fn all_runs(store: &SqliteStore, name: &str) -> Vec<ScheduleRun> {
    let mut runs = store.schedule_runs(name, 1_000_000).unwrap();
    runs.reverse();
    runs
}

fn outcomes(runs: &[ScheduleRun], outcome: RunOutcome) -> Vec<&ScheduleRun> {
    runs.iter().filter(|r| r.outcome == outcome).collect()
}

const WEEK: [(&str, &str, CatchUp); 6] = [
    ("minutely", "every 60s", CatchUp::RunOnce),
    ("every5_skip", "every 5m", CatchUp::Skip),
    ("daily", "daily 20:00", CatchUp::RunOnce),
    ("daily_skip", "daily 20:00", CatchUp::Skip),
    ("weekly", "weekly fri 18:00", CatchUp::RunOnce),
    ("weekly_skip", "weekly fri 18:00", CatchUp::Skip),
];

fn week_scheduler(store: &SqliteStore, clock: &FakeClock, calls: &Calls, owner: &str) -> Scheduler {
    let mut s = scheduler(store, clock, &Arc::new(RecordingSink::default()), owner);
    for (name, spec, policy) in WEEK {
        s.add(name, spec, policy, calls.job(name)).unwrap();
    }
    s
}

#[tokio::test]
async fn a_simulated_week_with_a_two_day_outage() {
    let dir = scratch();
    // Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00, a tick every minute,
    // except from Thursday 21:00 to Saturday 21:00: the process is down (no
    // ticks), then a new process starts over the same database.
    let start = t("2026-11-16T00:00:00Z");
    let end = t("2026-11-23T00:00:00Z");
    let (down, up) = (t("2026-11-19T21:00:00Z"), t("2026-11-21T21:00:00Z"));
    let clock = FakeClock::at(start);
    let calls = Calls::default();
    let mut store = open(dir.path());
    let mut sched = week_scheduler(&store, &clock, &calls, "first");
    let mut wake_reports = Vec::new();
    let mut now = start;
    while now <= end {
        if now > down && now < up {
            now = up;
            clock.set(now);
            drop(sched);
            store = open(dir.path());
            sched = week_scheduler(&store, &clock, &calls, "second");
            wake_reports = sched.tick().await.unwrap();
        } else {
            clock.set(now);
            sched.tick().await.unwrap();
        }
        now += Span::minutes(1);
    }

    // Back up on Saturday 21:00: the minutely and 5-minute schedules run the
    // 21:00 due time (on time); run-once counts the 2,879 minutes before it on
    // that run, skip records the 575 five-minute due times before it as one
    // skipped row. The daily ones missed Friday and Saturday 20:00, the weekly
    // ones Friday 18:00.
    let mut wake: Vec<_> =
        wake_reports.iter().map(|r| (r.schedule.as_str(), r.outcome, r.missed, r.due_at, r.late)).collect();
    wake.sort_by_key(|w| (w.0, w.1.as_str()));
    assert_eq!(
        wake,
        [
            ("daily", RunOutcome::Succeeded, 1, t("2026-11-21T20:00:00Z"), true),
            ("daily_skip", RunOutcome::Skipped, 2, t("2026-11-21T20:00:00Z"), true),
            ("every5_skip", RunOutcome::Skipped, 575, up - Span::minutes(5), true),
            ("every5_skip", RunOutcome::Succeeded, 0, up, false),
            ("minutely", RunOutcome::Succeeded, 2879, up, false),
            ("weekly", RunOutcome::Succeeded, 0, t("2026-11-20T18:00:00Z"), true),
            ("weekly_skip", RunOutcome::Skipped, 1, t("2026-11-20T18:00:00Z"), true),
        ]
    );

    // Runs over the week: 10,080 minutes less the 2,879 missed; 2,016
    // five-minute due times less the 575 skipped; 7 days of 20:00 less the 2
    // missed (+1 catch-up for run-once); the week's Friday 18:00 only by
    // catch-up with run-once.
    let expected = [
        ("minutely", 7201, 0),
        ("every5_skip", 1441, 1),
        ("daily", 6, 0),
        ("daily_skip", 5, 1),
        ("weekly", 1, 0),
        ("weekly_skip", 0, 1),
    ];
    for (name, runs, skips) in expected {
        let stored = all_runs(&store, name);
        assert_eq!(calls.of(name).len(), runs, "{name}: job calls");
        assert_eq!(outcomes(&stored, RunOutcome::Succeeded).len(), runs, "{name}: stored runs");
        assert_eq!(outcomes(&stored, RunOutcome::Skipped).len(), skips, "{name}: skip rows");
        assert_eq!(stored.len(), runs + skips, "{name}: nothing else (no failure, nothing left running)");
        // No due time ran twice.
        let mut dues = calls.of(name);
        dues.sort_unstable();
        dues.dedup();
        assert_eq!(dues.len(), runs, "{name}: a due time ran twice");
    }
    let daily: Vec<_> = calls.of("daily").iter().map(|d| d.format("%a %H:%M").to_string()).collect();
    assert_eq!(daily, ["Mon 20:00", "Tue 20:00", "Wed 20:00", "Thu 20:00", "Sat 20:00", "Sun 20:00"]);
    let daily_skip: Vec<_> = calls.of("daily_skip").iter().map(|d| d.format("%a").to_string()).collect();
    assert_eq!(daily_skip, ["Mon", "Tue", "Wed", "Thu", "Sun"]);
    let skip_row = &outcomes(&all_runs(&store, "daily_skip"), RunOutcome::Skipped)[0].clone();
    assert!(
        skip_row
            .detail
            .as_deref()
            .unwrap()
            .contains("2 due times from 2026-11-20T20:00:00.000Z to 2026-11-21T20:00:00.000Z"),
        "{:?}",
        skip_row.detail
    );

    // Where each schedule stands after the week.
    let next: BTreeMap<_, _> = store
        .schedules()
        .unwrap()
        .into_iter()
        .map(|s| (s.name.clone(), (s.next_due_at, s.lease_owner)))
        .collect();
    assert_eq!(next["minutely"], (end + Span::minutes(1), None));
    assert_eq!(next["daily"], (t("2026-11-23T20:00:00Z"), None));
    assert_eq!(next["weekly_skip"], (t("2026-11-27T18:00:00Z"), None));
}

#[tokio::test]
async fn a_new_scheduler_continues_from_the_stored_next_due_time() {
    let dir = scratch();
    let clock = FakeClock::at_rfc3339("2026-11-16T19:59:00Z");
    let calls = Calls::default();
    let sink = Arc::new(RecordingSink::default());
    {
        let store = open(dir.path());
        let mut first = scheduler(&store, &clock, &sink, "p1");
        first.add("daily", "daily 20:00", CatchUp::RunOnce, calls.job("daily")).unwrap();
        assert!(first.tick().await.unwrap().is_empty(), "not due yet");
        clock.set(t("2026-11-16T20:00:00Z"));
        assert_eq!(first.tick().await.unwrap().len(), 1);
    }
    // A restart two minutes later: the 20:00 run is not repeated, and
    // tomorrow's due time comes from the store, not from the restart time.
    clock.set(t("2026-11-16T20:02:00Z"));
    let store = open(dir.path());
    let mut second = scheduler(&store, &clock, &sink, "p2");
    second.add("daily", "daily 20:00", CatchUp::RunOnce, calls.job("daily")).unwrap();
    assert!(second.tick().await.unwrap().is_empty());
    assert_eq!(store.schedule("daily").unwrap().unwrap().next_due_at, t("2026-11-17T20:00:00Z"));
    clock.set(t("2026-11-17T20:00:30Z"));
    let reports = second.tick().await.unwrap();
    assert_eq!(reports.iter().map(|r| r.due_at).collect::<Vec<_>>(), [t("2026-11-17T20:00:00Z")]);
    assert_eq!(calls.of("daily"), [t("2026-11-16T20:00:00Z"), t("2026-11-17T20:00:00Z")]);

    // The code moves the schedule: the next due time follows the new spec, the runs stay.
    let mut third = scheduler(&store, &clock, &sink, "p3");
    third.add("daily", "daily 21:30", CatchUp::Skip, calls.job("daily")).unwrap();
    let changes = third.ensure().unwrap();
    assert!(matches!(changes[0].1, molt_core::schedule::Ensured::Updated { .. }), "{changes:?}");
    let stored = store.schedule("daily").unwrap().unwrap();
    assert_eq!((stored.spec.as_str(), stored.catch_up), ("daily 21:30", CatchUp::Skip));
    assert_eq!(stored.next_due_at, t("2026-11-17T21:30:00Z"));
    assert_eq!(all_runs(&store, "daily").len(), 2);
}

/// A `daily 20:00` schedule at 19:00, run by the scheduler "alive".
struct DailyRig {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    clock: FakeClock,
    calls: Calls,
    sink: Arc<RecordingSink>,
    sched: Scheduler,
}

fn daily_rig() -> DailyRig {
    let dir = scratch();
    let store = open(dir.path());
    let clock = FakeClock::at_rfc3339("2026-11-16T19:00:00Z");
    let calls = Calls::default();
    let sink = Arc::new(RecordingSink::default());
    let mut sched = scheduler(&store, &clock, &sink, "alive");
    sched.add("daily", "daily 20:00", CatchUp::RunOnce, calls.job("daily")).unwrap();
    sched.ensure().unwrap();
    DailyRig { _dir: dir, store, clock, calls, sink, sched }
}

/// Another process, `owner`, claims the `due` run at `now` (a 16-minute
/// lease), starts it and dies: the id of its unfinished run.
fn dies_mid_run(store: &SqliteStore, owner: &str, due: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let claim = ScheduleClaim {
        names: vec!["daily".into()],
        due_only: true,
        owner: owner.into(),
        now,
        lease_until: now + Span::minutes(16),
    };
    assert_eq!(store.claim_schedules(&claim).unwrap().len(), 1, "{owner}");
    store.start_schedule_run("daily", owner, due, 0, now).unwrap().unwrap()
}

#[tokio::test]
async fn an_interrupted_run_is_taken_over_after_its_lease_expires() {
    let DailyRig { _dir, store, clock, calls, sink, sched } = daily_rig();
    // Another process claimed the 20:00 run, started it, and died.
    let due = t("2026-11-16T20:00:00Z");
    let lease_until = due + Span::minutes(16);
    let dead_run = dies_mid_run(&store, "dead", due, due);

    // While its lease holds, nobody runs it, and nobody can run it by hand.
    clock.set(lease_until - Span::seconds(1));
    assert!(sched.tick().await.unwrap().is_empty());
    let busy = sched.run_now("daily").await.unwrap_err();
    assert!(matches!(busy, SchedulerError::Busy { .. }), "{busy}");
    assert!(busy.to_string().contains("dead holds it until 2026-11-16T20:16:00.000Z"), "{busy}");
    assert!(calls.of("daily").is_empty());

    // Once it expires, the due time is run again (once), and the dead run is closed as failed.
    clock.set(lease_until);
    let reports = sched.tick().await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!((reports[0].due_at, reports[0].outcome), (due, RunOutcome::Succeeded));
    assert_eq!(calls.of("daily"), [due]);
    let runs = all_runs(&store, "daily");
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].id, runs[0].outcome), (dead_run, RunOutcome::Failed));
    assert!(runs[0].detail.as_deref().unwrap().starts_with("interrupted: the lease of dead expired"));
    let s = store.schedule("daily").unwrap().unwrap();
    assert_eq!((s.consecutive_failures, s.next_due_at, s.lease_owner), (0, t("2026-11-17T20:00:00Z"), None));
    // The interruption counted as a failure, so the success resolves any failing alert.
    assert_eq!(sink.calls(), [SinkCall::Resolve("schedule_failing:daily".into())]);
}

#[tokio::test]
async fn two_failures_in_a_row_raise_the_alert_and_a_success_resolves_it() {
    let dir = scratch();
    let store = open(dir.path());
    let clock = FakeClock::at_rfc3339("2026-11-16T10:00:30Z");
    let sink = Arc::new(RecordingSink::default());
    let failing = Arc::new(AtomicU32::new(3));
    let mut sched = scheduler(&store, &clock, &sink, "p");
    let f = failing.clone();
    let job = job_fn(move |_| {
        let left = f.load(Ordering::SeqCst);
        if left > 0 {
            f.store(left - 1, Ordering::SeqCst);
        }
        async move {
            if left > 0 {
                Err(format!("upstream down ({left} left)\nstack trace…"))
            } else {
                Ok("fine".to_string())
            }
        }
    });
    sched.add("report", "every 60s", CatchUp::Skip, Arc::new(job)).unwrap();
    sched.ensure().unwrap();
    let step = |n: usize| {
        clock.set(t("2026-11-16T10:00:30Z") + Span::minutes(n as i64 + 1));
    };

    step(0);
    let first = sched.tick().await.unwrap();
    assert_eq!((first[0].outcome, first[0].consecutive_failures), (RunOutcome::Failed, 1));
    assert!(sink.calls().is_empty(), "one failure raises nothing");

    step(1);
    sched.tick().await.unwrap();
    let calls = sink.calls();
    assert_eq!(calls.len(), 1);
    let SinkCall::Raise(alert) = &calls[0] else { panic!("{calls:?}") };
    assert_eq!(alert.key, "schedule_failing:report");
    assert_eq!(alert.severity, molt_ops::Severity::Warning);
    assert_eq!(alert.summary, "schedule report failed 2 times in a row; last error: upstream down (2 left)");
    assert_eq!(alert.details["consecutive_failures"], 2);

    step(2);
    sched.tick().await.unwrap();
    assert_eq!(sink.raised_keys(), ["schedule_failing:report", "schedule_failing:report"], "raised again");

    step(3);
    let ok = sched.tick().await.unwrap();
    assert_eq!((ok[0].outcome, ok[0].consecutive_failures), (RunOutcome::Succeeded, 0));
    assert_eq!(sink.calls().last(), Some(&SinkCall::Resolve("schedule_failing:report".into())));
    let s = store.schedule("report").unwrap().unwrap();
    assert_eq!((s.consecutive_failures, s.last_error), (0, None));

    // Every success resolves, so an alert whose resolve was lost once still clears.
    step(4);
    sched.tick().await.unwrap();
    assert_eq!(sink.calls().len(), 4);
    assert_eq!(sink.calls().last(), Some(&SinkCall::Resolve("schedule_failing:report".into())));
}

#[tokio::test]
async fn a_process_that_keeps_dying_mid_run_raises_the_failing_alert() {
    let DailyRig { _dir, store, clock, sink, sched, .. } = daily_rig();
    let due = t("2026-11-16T20:00:00Z");
    // Two processes in turn claim the 20:00 run, start it and die.
    dies_mid_run(&store, "dead-1", due, due);
    dies_mid_run(&store, "dead-2", due, due + Span::minutes(20));
    // The first takeover (by dead-2) counted one failure and raised nothing;
    // this one counts the second and raises before running the due time again.
    clock.set(due + Span::minutes(40));
    let reports = sched.tick().await.unwrap();
    assert_eq!(reports[0].outcome, RunOutcome::Succeeded);
    let sink_calls = sink.calls();
    let SinkCall::Raise(alert) = &sink_calls[0] else { panic!("{sink_calls:?}") };
    assert_eq!(alert.key, "schedule_failing:daily");
    assert_eq!(alert.details["consecutive_failures"], 2);
    assert!(alert.summary.contains("interrupted: the lease of dead-2 expired"), "{}", alert.summary);
    assert_eq!(sink_calls[1], SinkCall::Resolve("schedule_failing:daily".into()), "then the run succeeded");
}

#[tokio::test(start_paused = true)]
async fn a_panic_and_a_timeout_are_failed_runs() {
    let dir = scratch();
    let store = open(dir.path());
    let clock = FakeClock::at_rfc3339("2026-11-16T10:00:00Z");
    let sink = Arc::new(RecordingSink::default());
    let mut sched = scheduler(&store, &clock, &sink, "p");
    let panics = job_fn(|_| async move {
        if true {
            panic!("index out of range");
        }
        Ok(String::new())
    });
    let hangs = job_fn(|_| async move {
        std::future::pending::<()>().await;
        Ok(String::new())
    })
    .with_timeout(Duration::from_secs(120));
    sched.add("panics", "every 60s", CatchUp::RunOnce, Arc::new(panics)).unwrap();
    sched.add("hangs", "every 60s", CatchUp::RunOnce, Arc::new(hangs)).unwrap();
    sched.ensure().unwrap();
    clock.set(t("2026-11-16T10:01:00Z"));
    let mut reports = sched.tick().await.unwrap();
    reports.sort_by(|a, b| a.schedule.cmp(&b.schedule));
    let got: Vec<_> = reports.iter().map(|r| (r.schedule.as_str(), r.outcome, r.detail.as_str())).collect();
    assert_eq!(
        got,
        [
            ("hangs", RunOutcome::Failed, "timed out after 2 min"),
            ("panics", RunOutcome::Failed, "panicked: index out of range"),
        ]
    );
    // Both released their lease and count the failure.
    for name in ["hangs", "panics"] {
        let s = store.schedule(name).unwrap().unwrap();
        assert_eq!((s.lease_owner, s.consecutive_failures), (None, 1), "{name}");
    }
    // The scheduler carries on.
    clock.set(t("2026-11-16T10:02:00Z"));
    assert_eq!(sched.tick().await.unwrap().len(), 2);
    let mut raised = sink.raised_keys();
    raised.sort();
    assert_eq!(raised, ["schedule_failing:hangs", "schedule_failing:panics"], "second failures in a row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_one_database_never_run_a_due_time_twice() {
    let dir = scratch();
    let clock = FakeClock::at_rfc3339("2026-11-16T00:00:00Z");
    let calls = Calls::default();
    let sink = Arc::new(RecordingSink::default());
    // Two "processes": each its own store (own writer, own connections) over the file.
    let (store_a, store_b) = (open(dir.path()), open(dir.path()));
    let build = |store: &SqliteStore, owner: &str| {
        let mut s = scheduler(store, &clock, &sink, owner);
        for (name, spec) in [("minutely", "every 60s"), ("every5", "every 5m"), ("daily", "daily 06:00")] {
            let (calls, job_name) = (calls.clone(), name.to_string());
            let job = job_fn(move |due| {
                calls.0.lock().unwrap().entry(job_name.clone()).or_default().push(due);
                async move {
                    tokio::task::yield_now().await;
                    Ok("ok".to_string())
                }
            });
            s.add(name, spec, CatchUp::RunOnce, Arc::new(job)).unwrap();
        }
        Arc::new(s)
    };
    let (a, b) = (build(&store_a, "a"), build(&store_b, "b"));
    a.ensure().unwrap();
    b.ensure().unwrap();
    let start = clock.now();
    let mut by_owner: BTreeMap<String, usize> = BTreeMap::new();
    for minute in 1..=720 {
        clock.set(start + Span::minutes(minute));
        let (ra, rb) = tokio::join!(tokio::spawn(tick(a.clone())), tokio::spawn(tick(b.clone())));
        *by_owner.entry("a".into()).or_default() += ra.unwrap().len();
        *by_owner.entry("b".into()).or_default() += rb.unwrap().len();
    }
    for (name, expected) in [("minutely", 720), ("every5", 144), ("daily", 1)] {
        let mut dues = calls.of(name);
        assert_eq!(dues.len(), expected, "{name}: one run per due time");
        dues.sort();
        dues.dedup();
        assert_eq!(dues.len(), expected, "{name}: a due time ran twice");
        assert_eq!(all_runs(&store_a, name).len(), expected, "{name}: one stored run per due time");
    }
    assert_eq!(by_owner.values().sum::<usize>(), 720 + 144 + 1);
}

async fn tick(s: Arc<Scheduler>) -> Vec<RunReport> {
    s.tick().await.unwrap()
}

#[tokio::test]
async fn run_now_runs_whatever_the_due_time_and_names_the_known_schedules() {
    let dir = scratch();
    let store = open(dir.path());
    let clock = FakeClock::at_rfc3339("2026-11-16T10:00:00Z");
    let calls = Calls::default();
    let sink = Arc::new(RecordingSink::default());
    let mut sched = scheduler(&store, &clock, &sink, "cli");
    sched.add("weekly", "weekly fri 18:00", CatchUp::Skip, calls.job("weekly")).unwrap();
    sched.add("daily", "daily 20:00", CatchUp::RunOnce, calls.job("daily")).unwrap();

    let report = sched.run_now("weekly").await.unwrap();
    assert_eq!((report.outcome, report.manual, report.due_at), (RunOutcome::Succeeded, true, clock.now()));
    assert_eq!(calls.of("weekly"), [clock.now()]);
    let s = store.schedule("weekly").unwrap().unwrap();
    assert_eq!(s.next_due_at, t("2026-11-20T18:00:00Z"), "the schedule is unchanged");
    assert_eq!((s.last_outcome, s.lease_owner), (Some(RunOutcome::Succeeded), None));

    let unknown = sched.run_now("wekly").await.unwrap_err();
    assert_eq!(unknown.code(), "unknown_schedule");
    assert_eq!(unknown.to_string(), "unknown schedule `wekly`; the schedules are: daily, weekly");

    let listed = sched.list().unwrap();
    assert_eq!(
        listed.iter().map(|s| (s.schedule.name.as_str(), s.registered)).collect::<Vec<_>>(),
        [("daily", true), ("weekly", true)]
    );

    // Bad registrations are refused precisely.
    let err = sched.add("bad", "weekly fry 18:00", CatchUp::Skip, calls.job("bad")).unwrap_err();
    assert_eq!(err.to_string(), "schedule `bad`: invalid schedule `weekly fry 18:00`: `fry` is not a day: use mon, tue, wed, thu, fri, sat or sun");
    assert!(matches!(
        sched.add("daily", "daily 20:00", CatchUp::Skip, calls.job("daily")).unwrap_err(),
        SchedulerError::Duplicate(_)
    ));
    assert!(matches!(
        sched.add("Daily Report", "daily 20:00", CatchUp::Skip, calls.job("x")).unwrap_err(),
        SchedulerError::InvalidName(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn serve_ticks_until_stopped() {
    let dir = scratch();
    let store = open(dir.path());
    let clock = FakeClock::at_rfc3339("2026-11-16T10:00:00Z");
    let calls = Calls::default();
    let sink = Arc::new(RecordingSink::default());
    let mut sched = scheduler(&store, &clock, &sink, "serve")
        .with_options(SchedulerOptions { tick: Duration::from_secs(5), ..SchedulerOptions::default() });
    sched.add("minutely", "every 60s", CatchUp::RunOnce, calls.job("minutely")).unwrap();
    let sched = Arc::new(sched);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let serving = tokio::spawn({
        let sched = sched.clone();
        async move { sched.serve(stopped).await }
    });
    // Paused tokio time: each sleep lets the loop tick exactly as often as it would.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for minute in 1..=3 {
        clock.set(t("2026-11-16T10:00:00Z") + Span::minutes(minute));
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    stop.send(true).unwrap();
    serving.await.unwrap();
    assert_eq!(calls.of("minutely").len(), 3);
    assert_eq!(all_runs(&store, "minutely").len(), 3);
}
