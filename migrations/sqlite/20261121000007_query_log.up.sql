-- The query log (issue 7, DESIGN §9): every user query with its intent, result
-- count, response time and tier. Only the *redacted* query is ever stored
-- (molt_search::redact: emails, phone numbers, tokens and other secrets replaced
-- by placeholders before the row is written); there is deliberately no column
-- for the raw text.
CREATE TABLE query_log (
    id              INTEGER PRIMARY KEY,
    query_redacted  TEXT NOT NULL,
    intent          TEXT NOT NULL CHECK (intent IN
                        ('song_search','lyrics_request','processing_status','general_info','bug_report')),
    result_count    INTEGER NOT NULL CHECK (result_count >= 0),
    response_ms     INTEGER NOT NULL CHECK (response_ms >= 0),
    tier            TEXT NOT NULL CHECK (tier IN ('anonymous','free','premium','staff')),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX query_log_created ON query_log(created_at);
CREATE INDEX query_log_intent ON query_log(intent, id);
