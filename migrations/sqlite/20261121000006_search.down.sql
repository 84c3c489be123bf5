-- Undo 20261121000006_search. A `free` or `premium` token makes this fail
-- (the old CHECK refuses its role): revoke and delete those tokens first.
CREATE TABLE api_tokens_old (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('operator','engineer','security','infrastructure','reviewer','admin')),
    user_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    token_prefix  TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    last_used_at  TEXT,
    expires_at    TEXT,
    revoked_at    TEXT
);
INSERT INTO api_tokens_old SELECT * FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_old RENAME TO api_tokens;

DROP TRIGGER search_queue_artist_changed;
DROP TRIGGER search_queue_alias_removed;
DROP TRIGGER search_queue_alias_added;
DROP TRIGGER search_queue_lyrics;
DROP TRIGGER search_queue_song_deleted;
DROP TRIGGER search_queue_song_changed;
DROP TRIGGER search_queue_song_created;
DROP TABLE search_state;
DROP TABLE search_pending;
DROP TABLE search_lines;
DROP TABLE search_trigrams;
DROP TABLE search_words;
