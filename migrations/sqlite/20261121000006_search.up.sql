-- Search (issue 7): the song index, kept current through a transactional outbox.
--
-- molt-search writes these rows; nothing here is computed in SQL. The text is
-- prepared in Rust: Khmer normalised (molt_khmer::normalize_for_index), words
-- found by the ICU dictionary segmenter, Latin in lower case.

-- Word-level full text, ranked by BM25. rowid = song id. Each column holds
-- normalised, segmented words joined by spaces. The Khmer signs U+17B4–U+17D3
-- and U+17DD are declared token characters: plain unicode61 treats them as
-- separators and would cut every Khmer word into meaningless fragments.
--   romanized: the UNGEGN romanisation of the title, and the title in Latin letters;
--   artist:    every name and alias of the artist, with romanisations;
--   loose:     loose Latin keys (molt-search `text::loose_key`) of the Latin words above,
--              so spelling variants (battambang / batdambang) meet.
CREATE VIRTUAL TABLE search_words USING fts5(
    title, romanized, artist, lyrics, loose,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '឴឵ាិីឹឺុូួើឿៀេែៃោៅំះៈ៉៊់៌៍៎៏័៑្៓៝'"
);

-- Substrings: the same fields without spaces or punctuation (a lyric fragment
-- typed without spaces, starting or ending inside a word). Variants are
-- separated by line breaks, so no match spans two of them. `loose` holds the
-- loose keys of the Latin title and name variants, whole (`teukphnaek` and
-- `tuek phnek` meet there). rowid = song id.
CREATE VIRTUAL TABLE search_trigrams USING fts5(title, artist, lyrics, loose, tokenize = 'trigram');

-- Passages (a title line 0, then up to 4 lyric lines of a stanza, numbered by
-- their first line) with their vectors from the local embedding model
-- (little-endian f32, unit length), or none when no model was available.
-- AUTOINCREMENT: ids are never reused, so (count, highest id) tells an
-- in-memory vector index that it is stale.
CREATE TABLE search_lines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    song_id     INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
    line_no     INTEGER NOT NULL CHECK (line_no >= 0),
    text        TEXT NOT NULL,
    model       TEXT,
    embedding   BLOB,
    CHECK ((model IS NULL) = (embedding IS NULL)),
    UNIQUE (song_id, line_no)
);
CREATE INDEX search_lines_model ON search_lines(model);

-- The outbox: a song whose index rows are out of date. Filled by the triggers
-- below in the same transaction as the change itself, so no change is ever
-- missed, not even when the process dies before indexing. A row is cleared
-- only by the transaction that writes the song's new index rows, and only if
-- its generation is still the one that was read (a change that arrived while
-- indexing keeps its row).
CREATE TABLE search_pending (
    song_id     INTEGER PRIMARY KEY,
    reason      TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    queued_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX search_pending_generation ON search_pending(generation);

-- A counter that only grows: each queued change takes the next generation.
CREATE TABLE search_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO search_state (id, generation) VALUES (1, 1);

-- What the index holds: title, romanised title, artist with its aliases, and
-- the newest lyrics. A song's status is not indexed: queries read it from
-- `songs` as they run, so publishing or unpublishing takes effect at once.
CREATE TRIGGER search_queue_song_created AFTER INSERT ON songs
BEGIN
    UPDATE search_state SET generation = generation + 1;
    DELETE FROM search_pending WHERE song_id = NEW.id;
    INSERT INTO search_pending (song_id, reason, generation)
        VALUES (NEW.id, 'song.created', (SELECT generation FROM search_state));
END;

CREATE TRIGGER search_queue_song_changed AFTER UPDATE OF title, title_latin, artist_id ON songs
WHEN OLD.title IS NOT NEW.title OR OLD.title_latin IS NOT NEW.title_latin OR OLD.artist_id IS NOT NEW.artist_id
BEGIN
    UPDATE search_state SET generation = generation + 1;
    DELETE FROM search_pending WHERE song_id = NEW.id;
    INSERT INTO search_pending (song_id, reason, generation)
        VALUES (NEW.id, 'song.changed', (SELECT generation FROM search_state));
END;

CREATE TRIGGER search_queue_song_deleted AFTER DELETE ON songs
BEGIN
    UPDATE search_state SET generation = generation + 1;
    DELETE FROM search_pending WHERE song_id = OLD.id;
    INSERT INTO search_pending (song_id, reason, generation)
        VALUES (OLD.id, 'song.deleted', (SELECT generation FROM search_state));
END;

CREATE TRIGGER search_queue_lyrics AFTER INSERT ON lyrics_versions
BEGIN
    UPDATE search_state SET generation = generation + 1;
    DELETE FROM search_pending WHERE song_id = NEW.song_id;
    INSERT INTO search_pending (song_id, reason, generation)
        VALUES (NEW.song_id, 'lyrics.version_added', (SELECT generation FROM search_state));
END;

CREATE TRIGGER search_queue_alias_added AFTER INSERT ON artist_aliases
BEGIN
    UPDATE search_state SET generation = generation + 1;
    DELETE FROM search_pending WHERE song_id IN (SELECT id FROM songs WHERE artist_id = NEW.artist_id);
    INSERT INTO search_pending (song_id, reason, generation)
        SELECT id, 'artist.alias_added', (SELECT generation FROM search_state)
        FROM songs WHERE artist_id = NEW.artist_id;
END;

CREATE TRIGGER search_queue_alias_removed AFTER DELETE ON artist_aliases
BEGIN
    UPDATE search_state SET generation = generation + 1;
    DELETE FROM search_pending WHERE song_id IN (SELECT id FROM songs WHERE artist_id = OLD.artist_id);
    INSERT INTO search_pending (song_id, reason, generation)
        SELECT id, 'artist.alias_removed', (SELECT generation FROM search_state)
        FROM songs WHERE artist_id = OLD.artist_id;
END;

CREATE TRIGGER search_queue_artist_changed AFTER UPDATE OF name_km, name_latin ON artists
WHEN OLD.name_km IS NOT NEW.name_km OR OLD.name_latin IS NOT NEW.name_latin
BEGIN
    UPDATE search_state SET generation = generation + 1;
    DELETE FROM search_pending WHERE song_id IN (SELECT id FROM songs WHERE artist_id = NEW.id);
    INSERT INTO search_pending (song_id, reason, generation)
        SELECT id, 'artist.changed', (SELECT generation FROM search_state)
        FROM songs WHERE artist_id = NEW.id;
END;

-- Songs already in the catalogue are indexed by the first search (or `molt search reindex`).
INSERT INTO search_pending (song_id, reason, generation) SELECT id, 'search.created', 1 FROM songs;

-- Learner tiers as token roles: `free` and `premium` tokens read published
-- songs only; premium ones also full and synced lyrics. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt (same columns, same ids).
CREATE TABLE api_tokens_new (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('operator','engineer','security','infrastructure','reviewer','admin','free','premium')),
    user_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    token_prefix  TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    last_used_at  TEXT,
    expires_at    TEXT,
    revoked_at    TEXT
);
INSERT INTO api_tokens_new SELECT * FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
