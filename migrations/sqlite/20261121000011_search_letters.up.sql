-- Search (issue 7): the letter index for queries of 1–2 characters, which the
-- trigram index cannot answer (molt-store `sqlite::letters`).
--
-- Per song (rowid = song id), every character and every pair of adjacent
-- characters of its substring title, artist and lyrics, as tokens of hex code
-- points. Index only: no content is stored (the texts are in
-- search_trigrams), no positions (detail = none), and rows can be deleted
-- (contentless_delete), so a song's row is replaced with its other index rows.
-- A 1–2 character query reads this token's songs and checks their texts with
-- LIKE, instead of reading every song's lyrics.
CREATE VIRTUAL TABLE search_letters USING fts5(
    units, content = '', contentless_delete = 1, detail = none, tokenize = 'ascii'
);

-- The songs indexed before this table existed. molt_letter_units is the Rust
-- function that also writes new rows (registered on the store's writer).
INSERT INTO search_letters (rowid, units)
SELECT id, molt_letter_units(c0, c1, c2) FROM search_trigrams_content;
