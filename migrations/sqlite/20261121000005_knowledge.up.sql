-- The Historian's knowledge base: documents and their embedded chunks.

CREATE TABLE kb_documents (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,       -- file name without extension; re-adding replaces
    title       TEXT NOT NULL CHECK (length(trim(title)) > 0),
    title_norm  TEXT NOT NULL,              -- normalised, segmented, lower case
    entity_kind TEXT CHECK (entity_kind IN ('artist','era','genre','place','work')),
    entity_name TEXT,
    aliases     TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    related     TEXT NOT NULL DEFAULT '[]', -- JSON array of "kind:name"
    sources     TEXT NOT NULL DEFAULT '[]', -- JSON array of citations
    year_from   INTEGER,                    -- the years it covers (eras), when given
    year_to     INTEGER,
    origin      TEXT NOT NULL,              -- where it was loaded from
    sha256      TEXT NOT NULL,              -- of the file's bytes
    body        TEXT NOT NULL,
    model       TEXT NOT NULL,              -- the embedding model of its chunks
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK ((entity_kind IS NULL) = (entity_name IS NULL)),
    CHECK ((year_from IS NULL) = (year_to IS NULL) AND (year_from IS NULL OR year_from <= year_to))
);
CREATE INDEX kb_documents_entity ON kb_documents(entity_kind, entity_name);

-- AUTOINCREMENT: chunk ids are never reused, so (count, max id) tells a
-- reader whether its in-memory index is stale.
CREATE TABLE kb_chunks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    ord         INTEGER NOT NULL CHECK (ord >= 0),
    heading     TEXT,
    text        TEXT NOT NULL,
    text_norm   TEXT NOT NULL,
    embedding   BLOB NOT NULL,              -- little-endian f32, unit length
    UNIQUE (document_id, ord)
);

-- Small facts about the knowledge base itself, e.g. when the starter set was loaded.
CREATE TABLE kb_meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
