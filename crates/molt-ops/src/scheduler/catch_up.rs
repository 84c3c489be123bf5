//! What a tick does with a due schedule: the catch-up rule, as a pure function.
//!
//! At a tick at `now`, the schedule's due times that have come are its stored
//! next due time `N` and every due time of its spec in `(N, now]`; call the
//! newest one `D`. None of them has run (a run moves `N` past the time it ran).
//!
//! - `D` is **due** (simply late) when `now - D` is less than the spec's grace:
//!   one period, at most 10 minutes (`every 60s`: a minute; `daily`, `weekly`,
//!   `every 1h`: 10 minutes). Every older due time is **missed**, and so is `D`
//!   when it is later than that.
//! - `run-once`: one run now, for `D`, whatever its lateness; the run records
//!   the number of older due times it stands in for.
//! - `skip`: the missed due times are not run: one `skipped` record with their
//!   count. `D` runs only when it is due (not missed).
//! - Either way the schedule is next due at the first due time after `now`.
//!
//! A tick every few seconds finds at most one due time, on time, so it just
//! runs; only a stopped (or overloaded) scheduler misses any.

use super::spec::Spec;
use chrono::{DateTime, Utc};
use molt_core::schedule::CatchUp;

/// Missed due times passed over (policy `skip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub count: u64,
}

/// A due time to run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueRun {
    pub due: DateTime<Utc>,
    /// Older missed due times this run stands in for (`run-once`).
    pub missed: u64,
    /// The due time itself was missed (later than the grace): a catch-up run.
    pub late: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub skip: Option<Skipped>,
    pub run: Option<DueRun>,
    pub next_due: DateTime<Utc>,
}

/// The plan for a schedule next due at `next_due` (at or before `now`).
pub fn plan(spec: &Spec, policy: CatchUp, next_due: DateTime<Utc>, now: DateTime<Utc>) -> Plan {
    let after = spec.next_after(now);
    if next_due > now {
        return Plan { skip: None, run: None, next_due };
    }
    let newer = spec.count_between(next_due, now);
    let come = 1 + newer;
    let newest = if newer > 0 { spec.last_at_or_before(now) } else { next_due };
    let late = now - newest >= spec.grace();
    // The newest due time before `newest`, when there are at least two.
    let before_newest =
        || if come == 2 { next_due } else { spec.last_at_or_before(newest - chrono::Duration::seconds(1)) };
    match policy {
        CatchUp::RunOnce => {
            Plan { skip: None, run: Some(DueRun { due: newest, missed: come - 1, late }), next_due: after }
        }
        CatchUp::Skip if late => Plan {
            skip: Some(Skipped { first: next_due, last: newest, count: come }),
            run: None,
            next_due: after,
        },
        CatchUp::Skip => Plan {
            skip: (come > 1).then(|| Skipped { first: next_due, last: before_newest(), count: come - 1 }),
            run: Some(DueRun { due: newest, missed: 0, late: false }),
            next_due: after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn spec(text: &str) -> Spec {
        text.parse().unwrap()
    }

    #[test]
    fn an_on_time_due_time_just_runs() {
        let daily = spec("daily 20:00");
        let due = t("2026-11-16T20:00:00Z");
        for policy in [CatchUp::RunOnce, CatchUp::Skip] {
            let p = plan(&daily, policy, due, due + Duration::seconds(3));
            assert_eq!(p.skip, None);
            assert_eq!(p.run, Some(DueRun { due, missed: 0, late: false }));
            assert_eq!(p.next_due, t("2026-11-17T20:00:00Z"));
        }
    }

    #[test]
    fn not_yet_due_does_nothing() {
        let due = t("2026-11-16T20:00:00Z");
        let p = plan(&spec("daily 20:00"), CatchUp::RunOnce, due, due - Duration::seconds(1));
        assert_eq!((p.skip, p.run, p.next_due), (None, None, due));
    }

    #[test]
    fn lateness_within_the_grace_is_due_beyond_it_missed() {
        let daily = spec("daily 20:00");
        let due = t("2026-11-16T20:00:00Z");
        let within = plan(&daily, CatchUp::Skip, due, due + Duration::seconds(599));
        assert_eq!(within.run, Some(DueRun { due, missed: 0, late: false }));
        let beyond = plan(&daily, CatchUp::Skip, due, due + Duration::minutes(10));
        assert_eq!(beyond.run, None);
        assert_eq!(beyond.skip, Some(Skipped { first: due, last: due, count: 1 }));
        assert_eq!(beyond.next_due, t("2026-11-17T20:00:00Z"));
        let once = plan(&daily, CatchUp::RunOnce, due, due + Duration::minutes(10));
        assert_eq!(once.run, Some(DueRun { due, missed: 0, late: true }));
    }

    #[test]
    fn after_a_two_day_outage() {
        // Last ran Thursday 20:00; back on Saturday 21:00.
        let daily = spec("daily 20:00");
        let next = t("2026-11-20T20:00:00Z");
        let now = t("2026-11-21T21:00:00Z");
        let once = plan(&daily, CatchUp::RunOnce, next, now);
        assert_eq!(once.run, Some(DueRun { due: t("2026-11-21T20:00:00Z"), missed: 1, late: true }));
        assert_eq!(once.skip, None);
        let skip = plan(&daily, CatchUp::Skip, next, now);
        assert_eq!(skip.run, None);
        assert_eq!(skip.skip, Some(Skipped { first: next, last: t("2026-11-21T20:00:00Z"), count: 2 }));
        assert_eq!(skip.next_due, t("2026-11-22T20:00:00Z"));

        // A minutely schedule: its newest due time is always on time, so it runs.
        let minutely = spec("every 60s");
        let next = t("2026-11-19T21:01:00Z");
        let now = t("2026-11-21T21:00:00Z");
        let skip = plan(&minutely, CatchUp::Skip, next, now);
        assert_eq!(skip.run, Some(DueRun { due: now, missed: 0, late: false }));
        assert_eq!(skip.skip, Some(Skipped { first: next, last: now - Duration::minutes(1), count: 2879 }));
        let once = plan(&minutely, CatchUp::RunOnce, next, now);
        assert_eq!(once.run, Some(DueRun { due: now, missed: 2879, late: false }));
        assert_eq!(once.next_due, now + Duration::minutes(1));

        // Two due times, the newest on time: the older one is skipped alone.
        let two = plan(&minutely, CatchUp::Skip, now - Duration::minutes(1), now + Duration::seconds(5));
        assert_eq!(
            two.skip,
            Some(Skipped { first: now - Duration::minutes(1), last: now - Duration::minutes(1), count: 1 })
        );
        assert_eq!(two.run.unwrap().due, now);
    }
}
