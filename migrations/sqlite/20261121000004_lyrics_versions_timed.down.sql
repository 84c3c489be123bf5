CREATE TABLE lyrics_versions_old (
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
INSERT INTO lyrics_versions_old (id, song_id, version, text, source, author, confidence, created_at)
    SELECT id, song_id, version, text,
           CASE source WHEN 'asr' THEN 'transcription' WHEN 'human' THEN 'human_edit' ELSE 'import' END,
           author, confidence, created_at
    FROM lyrics_versions;
DROP TABLE lyrics_versions;
ALTER TABLE lyrics_versions_old RENAME TO lyrics_versions;
CREATE TRIGGER lyrics_versions_immutable BEFORE UPDATE ON lyrics_versions
BEGIN SELECT RAISE(ABORT, 'lyrics versions are immutable: add a new version'); END;
