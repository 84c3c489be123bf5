-- The durable job queue (DESIGN §5) and the cost ledger (DESIGN §7).

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,
    song_id           INTEGER REFERENCES songs(id) ON DELETE CASCADE,
    stage             TEXT CHECK (stage IS NULL OR stage IN ('transcribe','context','critique','art')),
    state             TEXT NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued','running','succeeded','failed','cancelled')),
    priority          INTEGER NOT NULL DEFAULT 0,
    run_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    attempt           INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 5),
    lease_owner       TEXT,
    lease_token       TEXT,
    lease_expires_at  TEXT,
    heartbeat_at      TEXT,
    unique_key        TEXT,
    last_error        TEXT,
    error_class       TEXT,
    payload           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    finished_at       TEXT
);
-- Claiming reads this index in order, with no sort.
CREATE INDEX jobs_queued ON jobs(priority, id, run_at) WHERE state = 'queued';
CREATE INDEX jobs_running_lease ON jobs(lease_expires_at) WHERE state = 'running';
-- One live job per (song, stage): no duplicate processing.
CREATE UNIQUE INDEX jobs_unique_live ON jobs(unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued','running');

CREATE TABLE cost_ledger (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    service         TEXT NOT NULL,
    model           TEXT NOT NULL,
    units           REAL NOT NULL DEFAULT 0,
    unit_kind       TEXT NOT NULL DEFAULT 'call',
    micro_usd       INTEGER NOT NULL DEFAULT 0,
    reserved_micro_usd INTEGER NOT NULL DEFAULT 0,
    outcome         TEXT NOT NULL CHECK (outcome IN ('reserved','ok','error','rate_limited','timeout','cache_hit')),
    latency_ms      INTEGER,
    cache_hit       INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0,1)),
    song_id         INTEGER REFERENCES songs(id) ON DELETE SET NULL,
    job_id          INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
    actor           TEXT
);
CREATE INDEX cost_ledger_at ON cost_ledger(at);
CREATE INDEX cost_ledger_song ON cost_ledger(song_id);
