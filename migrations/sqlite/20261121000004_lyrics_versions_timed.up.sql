-- Lyrics versions carry their origin as asr | human | import, the model that
-- produced them, their language and their timings (molt-lyrics JSON).
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt.

CREATE TABLE lyrics_versions_new (
    id          INTEGER PRIMARY KEY,
    song_id     INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 1),
    text        TEXT NOT NULL,
    timed       TEXT CHECK (timed IS NULL OR json_valid(timed)),
    source      TEXT NOT NULL CHECK (source IN ('asr','human','import')),
    author      TEXT NOT NULL,
    model       TEXT,
    language    TEXT,
    confidence  REAL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (song_id, version)
);
INSERT INTO lyrics_versions_new (id, song_id, version, text, source, author, confidence, created_at)
    SELECT id, song_id, version, text,
           CASE source WHEN 'transcription' THEN 'asr' WHEN 'human_edit' THEN 'human' ELSE 'import' END,
           author, confidence, created_at
    FROM lyrics_versions;
DROP TABLE lyrics_versions;
ALTER TABLE lyrics_versions_new RENAME TO lyrics_versions;
CREATE TRIGGER lyrics_versions_immutable BEFORE UPDATE ON lyrics_versions
BEGIN SELECT RAISE(ABORT, 'lyrics versions are immutable: add a new version'); END;
