-- Operations (issue 8, DESIGN §10): the scheduler, worker heartbeats, alerts
-- and their deliveries, the monitor's status history, and stored reports.
-- Times are UTC stamps (`YYYY-MM-DDTHH:MM:SS.fffZ`), passed in by molt-ops'
-- clock so a fake clock can drive every rule in tests.

-- Scheduled work (molt-ops `scheduler`). `spec` is the schedule's text
-- ("every 60s", "daily 20:00", "weekly fri 18:00"), `next_due_at` the next
-- time it is due. A process runs a due schedule only while it holds the lease,
-- so two processes sharing the database never run it twice. After downtime,
-- the due times that passed are counted as missed and, per `catch_up`, run
-- once (`run-once`) or passed over (`skip`).
CREATE TABLE schedules (
    name                  TEXT PRIMARY KEY,
    spec                  TEXT NOT NULL,
    catch_up              TEXT NOT NULL CHECK (catch_up IN ('run-once','skip')),
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),
    next_due_at           TEXT NOT NULL,
    last_due_at           TEXT,
    last_started_at       TEXT,
    last_finished_at      TEXT,
    last_outcome          TEXT CHECK (last_outcome IN ('succeeded','failed','skipped')),
    last_error            TEXT,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    lease_owner           TEXT,
    lease_expires_at      TEXT,
    created_at            TEXT NOT NULL
);

-- Every run, and every catch-up decision (outcome 'skipped' with the number of
-- due times missed).
CREATE TABLE schedule_runs (
    id           INTEGER PRIMARY KEY,
    schedule     TEXT NOT NULL REFERENCES schedules(name) ON DELETE CASCADE,
    due_at       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('running','succeeded','failed','skipped')),
    missed       INTEGER NOT NULL DEFAULT 0 CHECK (missed >= 0),
    detail       TEXT
);
CREATE INDEX schedule_runs_schedule ON schedule_runs(schedule, id);

-- Worker tasks and their heartbeats: the monitor restarts an in-process task
-- whose heartbeat stopped, and alerts on any other.
CREATE TABLE workers (
    name          TEXT PRIMARY KEY,
    process       TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    stopped_at    TEXT
);

-- Alerts, deduplicated by key: at most one firing alert per key. A condition
-- seen again while its alert fires updates it (occurrences, last_seen_at) and
-- is delivered again only after the cooldown (counted from notified_at). An
-- alert is resolved when its condition clears.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('info','warning','critical')),
    summary       TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    state         TEXT NOT NULL CHECK (state IN ('firing','resolved')),
    fired_at      TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    notified_at   TEXT NOT NULL,
    occurrences   INTEGER NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    resolved_at   TEXT,
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX alerts_firing_key ON alerts(key) WHERE state = 'firing';
CREATE INDEX alerts_state ON alerts(state, id);

-- The delivery outbox: one row per alert notice and channel, written in the
-- same transaction as the alert change, retried with backoff until delivered.
-- Never given up on: an undelivered notice stays pending.
CREATE TABLE alert_deliveries (
    id               INTEGER PRIMARY KEY,
    alert_id         INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel          TEXT NOT NULL CHECK (channel IN ('telegram','webhook','log')),
    notice           TEXT NOT NULL CHECK (notice IN ('fired','repeated','resolved')),
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX alert_deliveries_pending ON alert_deliveries(next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);

-- The monitor's status reports (DESIGN §10's JSON shape, in `report`), one per
-- check: the history that uptime is computed from.
CREATE TABLE status_reports (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    status  TEXT NOT NULL CHECK (status IN ('healthy','degraded','unhealthy')),
    report  TEXT NOT NULL CHECK (json_valid(report))
);
CREATE INDEX status_reports_at ON status_reports(at);

-- Generated reports, Markdown and JSON, one per kind and period.
CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('daily','weekly_cost')),
    period_start  TEXT NOT NULL,
    period_end    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    markdown      TEXT NOT NULL,
    data          TEXT NOT NULL CHECK (json_valid(data)),
    UNIQUE (kind, period_start)
);

-- Window reads for KPIs and reports (molt-store `sqlite/reports.rs`): pipeline
-- passes ending (status-change events by time), escalations and failed stage
-- runs by time.
CREATE INDEX events_kind_at ON events(kind, at);
CREATE INDEX escalations_at ON escalations(at);
CREATE INDEX stage_runs_finished ON stage_runs(finished_at) WHERE finished_at IS NOT NULL;
