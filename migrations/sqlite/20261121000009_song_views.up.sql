-- Song views (issue 7's "popular songs", issue 8's archive candidates): how many
-- times learners and fans opened a song (its page or its lyrics), per song and
-- UTC day. Staff views are not counted: they are work, not interest. Counts
-- are gathered in memory by the server and added here in batches, so one row
-- per song and day is enough and the table stays small.
CREATE TABLE song_views (
    song_id     INTEGER NOT NULL REFERENCES songs(id) ON DELETE CASCADE,
    day         TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    views       INTEGER NOT NULL CHECK (views > 0),
    PRIMARY KEY (song_id, day)
) WITHOUT ROWID;
CREATE INDEX song_views_day ON song_views(day, song_id);
