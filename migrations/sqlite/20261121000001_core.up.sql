-- Core catalogue: people, artists, songs, lyrics, assets, the event log.
-- Money is integer micro-USD; times are UTC ISO-8601 text ('YYYY-MM-DDTHH:MM:SS.fffZ').

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    email       TEXT,                       -- personal data: never logged
    role        TEXT NOT NULL CHECK (role IN ('operator','engineer','security','infrastructure','reviewer','admin')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('operator','engineer','security','infrastructure','reviewer','admin')),
    user_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    token_prefix  TEXT NOT NULL,            -- first characters, to recognise a token in lists
    token_sha256  TEXT NOT NULL UNIQUE,     -- the token itself is never stored
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    last_used_at  TEXT,
    expires_at    TEXT,
    revoked_at    TEXT
);

CREATE TABLE artists (
    id          INTEGER PRIMARY KEY,
    name_km     TEXT,                       -- Khmer script
    name_latin  TEXT,                       -- preferred Latin spelling
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK (name_km IS NOT NULL OR name_latin IS NOT NULL)
);

-- Every spelling in use, including the preferred ones, for lookup.
CREATE TABLE artist_aliases (
    id          INTEGER PRIMARY KEY,
    artist_id   INTEGER NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    alias       TEXT NOT NULL,
    alias_key   TEXT NOT NULL UNIQUE,       -- lower-cased, whitespace-collapsed
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX artist_aliases_artist ON artist_aliases(artist_id);

CREATE TABLE assets (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('audio_in','art')),
    sha256      TEXT NOT NULL,
    path        TEXT NOT NULL,              -- relative to the data directory, content-addressed
    mime        TEXT NOT NULL,
    bytes       INTEGER NOT NULL CHECK (bytes > 0),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (kind, sha256)
);

CREATE TABLE songs (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL CHECK (length(trim(title)) > 0),
    title_latin     TEXT,
    artist_id       INTEGER NOT NULL REFERENCES artists(id),
    composer        TEXT,
    lyricist        TEXT,
    year            INTEGER CHECK (year IS NULL OR year BETWEEN 1900 AND 2200),
    album           TEXT,
    label           TEXT,
    language        TEXT,
    duration_secs   REAL,
    audio_asset_id  INTEGER NOT NULL UNIQUE REFERENCES assets(id),
    audio_sha256    TEXT NOT NULL UNIQUE,
    isrc            TEXT,
    iswc            TEXT,
    musicbrainz_id  TEXT,
    rights_status   TEXT NOT NULL DEFAULT 'unknown'
                    CHECK (rights_status IN ('unknown','family_held','protected','public_domain','licensed')),
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending','processing','review','needs_human_review','failed','published','archived')),
    current_stage   TEXT CHECK (current_stage IS NULL OR current_stage IN ('transcribe','context','critique','art')),
    failure_reason  TEXT,
    processing_ms   INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd  INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX songs_status ON songs(status, id);
CREATE INDEX songs_artist ON songs(artist_id);

-- Every lyrics edit is a new version; nothing is overwritten.
CREATE TABLE lyrics_versions (
    id          INTEGER PRIMARY KEY,
    song_id     INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 1),
    text        TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('transcription','human_edit','import')),
    author      TEXT NOT NULL,
    confidence  REAL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (song_id, version)
);
CREATE TRIGGER lyrics_versions_immutable BEFORE UPDATE ON lyrics_versions
BEGIN SELECT RAISE(ABORT, 'lyrics versions are immutable: add a new version'); END;

-- Append-only audit and event log: who did what, to what, at what cost.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    actor           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    song_id         INTEGER REFERENCES songs(id) ON DELETE SET NULL,
    details         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    cost_micro_usd  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_song ON events(song_id, id);
CREATE INDEX events_kind ON events(kind, id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
