-- The pipeline engine: stage runs and accepted outputs, escalations, the
-- response cache, editable prices and budgets (DESIGN §3, §6, §7).

-- Every attempt at a stage, successful or not.
CREATE TABLE stage_runs (
    id              INTEGER PRIMARY KEY,
    song_id         INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
    stage           TEXT NOT NULL CHECK (stage IN ('transcribe','context','critique','art')),
    job_id          INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
    attempt         INTEGER NOT NULL,
    provider        TEXT,
    model           TEXT,
    state           TEXT NOT NULL CHECK (state IN ('running','succeeded','failed')),
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    duration_ms     INTEGER,
    error           TEXT,
    error_class     TEXT,
    quality         REAL,
    cost_micro_usd  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX stage_runs_song ON stage_runs(song_id, stage, id);

-- The accepted output of each stage. A restart resumes at the first stage
-- without a row here; a stage's row is written before the next stage starts.
CREATE TABLE stage_outputs (
    song_id     INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
    stage       TEXT NOT NULL CHECK (stage IN ('transcribe','context','critique','art')),
    run_id      INTEGER NOT NULL REFERENCES stage_runs(id),
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    output      TEXT NOT NULL CHECK (json_valid(output)),
    quality     REAL,
    flagged     INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0,1)),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (song_id, stage)
);

-- Hand-offs raised by the engine itself (critical failures, budget stops, stuck jobs).
CREATE TABLE escalations (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('critical_failure','budget','quality','stuck_job','provider_down')),
    to_role      TEXT NOT NULL,
    song_id      INTEGER REFERENCES songs(id) ON DELETE SET NULL,
    job_id       INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
    error_class  TEXT,
    summary      TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','acknowledged','resolved'))
);
CREATE INDEX escalations_open ON escalations(state, id);

-- Paid results, keyed by hash(stage, provider, model, normalised input, prompt version):
-- a rescued or retried job never pays twice.
CREATE TABLE response_cache (
    key             TEXT PRIMARY KEY,
    stage           TEXT NOT NULL,
    provider        TEXT NOT NULL,
    model           TEXT NOT NULL,
    output          TEXT NOT NULL CHECK (json_valid(output)),
    quality         REAL,
    cost_micro_usd  INTEGER NOT NULL DEFAULT 0,
    hits            INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

-- Prices the user can edit: micro-USD per unit.
CREATE TABLE prices (
    provider            TEXT NOT NULL,
    model               TEXT NOT NULL,
    unit_kind           TEXT NOT NULL CHECK (unit_kind IN ('call','audio_second','input_token','output_token','image')),
    micro_usd_per_unit  REAL NOT NULL CHECK (micro_usd_per_unit >= 0),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (provider, model, unit_kind)
);

-- Spending caps in micro-USD. Scopes: 'per_song', 'per_day'.
CREATE TABLE budgets (
    scope           TEXT PRIMARY KEY CHECK (scope IN ('per_song','per_day')),
    limit_micro_usd INTEGER NOT NULL CHECK (limit_micro_usd >= 0),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
INSERT INTO budgets (scope, limit_micro_usd) VALUES ('per_song', 500000), ('per_day', 25000000);

ALTER TABLE cost_ledger ADD COLUMN stage TEXT;
ALTER TABLE cost_ledger ADD COLUMN provider TEXT;
CREATE INDEX cost_ledger_reserved ON cost_ledger(outcome) WHERE outcome = 'reserved';
