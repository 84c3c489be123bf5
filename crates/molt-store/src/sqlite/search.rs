//! The song search index (migration `20261121000006_search`): FTS5 word and
//! trigram tables, passage vectors, and the outbox the triggers fill.
//!
//! Queries never carry user text into FTS5 syntax: every term is quoted here
//! (double quotes, inner quotes doubled), the expression is built from those
//! quoted terms and fixed operators only, and it is bound as a parameter.

use super::catalog::{get_song, song_from_row, SONG_COLUMNS, SONG_FROM};
use super::letters;
use super::lyrics;
use crate::error::StoreResult;
use molt_core::catalog::Song;
use molt_core::search::{
    LineVector, PendingSong, RankedSong, SearchEntry, SearchSource, SubstringTerm, WordTerm, WordsQuery,
};
use molt_core::SongStatus;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// Column weights for BM25 on `search_words` (title, romanized, artist, lyrics, loose):
/// a title match outweighs a lyric match.
const WORD_WEIGHTS: &str = "10.0, 6.0, 4.0, 1.0, 2.0";
/// Column weights for BM25 on `search_trigrams` (title, artist, lyrics, loose).
const TRIGRAM_WEIGHTS: &str = "10.0, 4.0, 1.0, 3.0";

pub fn pending(conn: &Connection, limit: usize) -> StoreResult<Vec<PendingSong>> {
    let mut stmt = conn.prepare_cached(
        "SELECT song_id, reason, generation, queued_at FROM search_pending ORDER BY generation, song_id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(PendingSong { song_id: r.get(0)?, reason: r.get(1)?, generation: r.get(2)?, queued_at: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn pending_count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.prepare_cached("SELECT count(*) FROM search_pending")?.query_row([], |r| r.get(0))?)
}

/// The song, every spelling of its artist's name, and its newest lyrics.
pub fn source(conn: &Connection, song_id: i64) -> StoreResult<Option<SearchSource>> {
    let Some(song) = get_song(conn, song_id)? else { return Ok(None) };
    let mut stmt =
        conn.prepare_cached("SELECT alias FROM artist_aliases WHERE artist_id = ?1 ORDER BY id")?;
    let aliases = stmt.query_map([song.artist.id], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
    let lyrics = lyrics::get(conn, song_id, None)?;
    Ok(Some(SearchSource { song, aliases, lyrics }))
}

/// [`source`] for each of `ids` that is a song, in one read.
pub fn sources(conn: &Connection, ids: &[i64]) -> StoreResult<HashMap<i64, SearchSource>> {
    let mut out = HashMap::with_capacity(ids.len());
    for &id in ids {
        if let Some(found) = source(conn, id)? {
            out.insert(id, found);
        }
    }
    Ok(out)
}

/// Whether any song waits in the outbox (one index probe).
pub fn has_pending(conn: &Connection) -> StoreResult<bool> {
    Ok(conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM search_pending)")?.query_row([], |r| r.get(0))?)
}

fn delete_rows(conn: &Connection, song_id: i64) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM search_words WHERE rowid = ?1")?.execute([song_id])?;
    conn.prepare_cached("DELETE FROM search_trigrams WHERE rowid = ?1")?.execute([song_id])?;
    conn.prepare_cached("DELETE FROM search_letters WHERE rowid = ?1")?.execute([song_id])?;
    conn.prepare_cached("DELETE FROM search_lines WHERE song_id = ?1")?.execute([song_id])?;
    Ok(())
}

/// Clears the outbox row of `song_id` if it is still at `generation`.
fn clear_pending(conn: &Connection, song_id: i64, generation: Option<i64>) -> StoreResult<bool> {
    let Some(generation) = generation else { return Ok(false) };
    let n = conn
        .prepare_cached("DELETE FROM search_pending WHERE song_id = ?1 AND generation = ?2")?
        .execute(params![song_id, generation])?;
    Ok(n > 0)
}

/// Replaces the song's index rows and clears its outbox row (at `generation`).
/// A song that no longer exists has its rows removed instead.
pub fn put(conn: &Connection, entry: &SearchEntry, generation: Option<i64>) -> StoreResult<bool> {
    let id = entry.song_id;
    delete_rows(conn, id)?;
    if !conn.prepare_cached("SELECT 1 FROM songs WHERE id = ?1")?.exists([id])? {
        return clear_pending(conn, id, generation);
    }
    let w = &entry.words;
    conn.prepare_cached(
        "INSERT INTO search_words (rowid, title, romanized, artist, lyrics, loose) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, w.title, w.romanized, w.artist, w.lyrics, w.loose])?;
    let t = &entry.trigrams;
    conn.prepare_cached(
        "INSERT INTO search_trigrams (rowid, title, artist, lyrics, loose) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, t.title, t.artist, t.lyrics, t.loose])?;
    conn.prepare_cached("INSERT INTO search_letters (rowid, units) VALUES (?1, ?2)")?
        .execute(params![id, letters::units(&[&t.title, &t.artist, &t.lyrics])])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO search_lines (song_id, line_no, text, model, embedding) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for line in &entry.lines {
        let model = line.vector.as_ref().map(|v| v.model.as_str());
        let blob = line.vector.as_ref().map(|v| molt_vector::encode(&v.embedding));
        insert.execute(params![id, line.line_no, line.text, model, blob])?;
    }
    clear_pending(conn, id, generation)
}

/// Removes a song's index rows and clears its outbox row (at `generation`).
pub fn remove(conn: &Connection, song_id: i64, generation: Option<i64>) -> StoreResult<bool> {
    delete_rows(conn, song_id)?;
    clear_pending(conn, song_id, generation)
}

fn next_generation(conn: &Connection) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("UPDATE search_state SET generation = generation + 1 RETURNING generation")?
        .query_row([], |r| r.get(0))?)
}

/// Queues every song (a full rebuild). Returns how many.
pub fn queue_all(conn: &Connection, reason: &str) -> StoreResult<usize> {
    let generation = next_generation(conn)?;
    conn.prepare_cached("DELETE FROM search_pending")?.execute([])?;
    let n = conn
        .prepare_cached(
            "INSERT INTO search_pending (song_id, reason, generation) SELECT id, ?1, ?2 FROM songs ORDER BY id",
        )?
        .execute(params![reason, generation])?;
    Ok(n)
}

/// Queues songs that have a passage without a vector from `model` (indexed
/// while no model was available, or with another one). Returns how many.
pub fn queue_missing_vectors(conn: &Connection, model: &str) -> StoreResult<usize> {
    let generation = next_generation(conn)?;
    let n = conn
        .prepare_cached(
            "INSERT INTO search_pending (song_id, reason, generation)
             SELECT DISTINCT l.song_id, 'search.vectors_missing', ?2 FROM search_lines l
             WHERE (l.model IS NULL OR l.model <> ?1)
               AND NOT EXISTS (SELECT 1 FROM search_pending p WHERE p.song_id = l.song_id)",
        )?
        .execute(params![model, generation])?;
    Ok(n)
}

/// A term as an FTS5 string: in double quotes, inner quotes doubled, control
/// characters dropped. `None` when nothing searchable is left.
fn quote(term: &str) -> Option<String> {
    let clean: String = term.chars().filter(|c| !c.is_control()).collect();
    if !clean.chars().any(char::is_alphanumeric) {
        return None;
    }
    Some(format!("\"{}\"", clean.replace('"', "\"\"")))
}

/// The FTS5 expression for a word query, from quoted terms and fixed operators.
pub fn words_expression(query: &WordsQuery) -> Option<String> {
    let groups: Vec<String> = query
        .groups
        .iter()
        .filter_map(|group| {
            let alternatives: Vec<String> = group
                .iter()
                .filter_map(|term| match term {
                    WordTerm::Word(w) => quote(w),
                    WordTerm::Prefix(w) => quote(w).map(|q| format!("{q}*")),
                    WordTerm::Loose(k) => quote(k).map(|q| format!("loose : {q}")),
                })
                .collect();
            (!alternatives.is_empty()).then(|| format!("({})", alternatives.join(" OR ")))
        })
        .collect();
    (!groups.is_empty()).then(|| groups.join(if query.require_all { " AND " } else { " OR " }))
}

/// The FTS5 expression for substrings: for every group one of its
/// alternatives (each at least 3 characters: shorter ones cannot be answered
/// by trigrams and are dropped).
pub fn trigram_expression(groups: &[Vec<SubstringTerm>]) -> Option<String> {
    let long = |t: &str| t.chars().filter(|c| !c.is_control()).count() >= 3;
    let groups: Vec<String> = groups
        .iter()
        .filter_map(|group| {
            let alternatives: Vec<String> = group
                .iter()
                .filter_map(|term| match term {
                    SubstringTerm::Text(t) if long(t) => {
                        quote(t).map(|q| format!("{{title artist lyrics}} : {q}"))
                    }
                    SubstringTerm::Loose(t) if long(t) => quote(t).map(|q| format!("loose : {q}")),
                    _ => None,
                })
                .collect();
            (!alternatives.is_empty()).then(|| format!("({})", alternatives.join(" OR ")))
        })
        .collect();
    (!groups.is_empty()).then(|| groups.join(" AND "))
}

fn published(published_only: bool) -> Option<&'static str> {
    published_only.then_some(SongStatus::Published.as_str())
}

fn ranked(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<RankedSong>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| Ok(RankedSong { song_id: r.get(0)?, score: r.get(1)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn words(conn: &Connection, query: &WordsQuery) -> StoreResult<Vec<RankedSong>> {
    let Some(expression) = words_expression(query) else { return Ok(Vec::new()) };
    best_matches(conn, "search_words", WORD_WEIGHTS, &expression, query.published_only, query.limit)
}

pub fn trigrams(
    conn: &Connection,
    groups: &[Vec<SubstringTerm>],
    published_only: bool,
    limit: usize,
) -> StoreResult<Vec<RankedSong>> {
    let Some(expression) = trigram_expression(groups) else { return Ok(Vec::new()) };
    best_matches(conn, "search_trigrams", TRIGRAM_WEIGHTS, &expression, published_only, limit)
}

/// The best `limit` rows of `table` matching `expression` (BM25, then rowid)
/// that are songs (published ones when `published_only`).
///
/// The match is ranked without the songs table first: joining it costs a
/// b-tree lookup for every matching row (thousands for a common word), while
/// the rows kept are only `limit`. When every row of that first answer is a
/// song that may be shown, or the answer holds every match, it is the answer;
/// otherwise (a song hidden or gone among the best) the joined query runs, so
/// the result is always the same as the joined query's.
fn best_matches(
    conn: &Connection,
    table: &str,
    weights: &str,
    expression: &str,
    published_only: bool,
    limit: usize,
) -> StoreResult<Vec<RankedSong>> {
    let bare = format!(
        "SELECT rowid, bm25({table}, {weights}) AS score FROM {table}
         WHERE {table} MATCH ?1 ORDER BY score, rowid LIMIT ?2"
    );
    let found = ranked(conn, &bare, params![expression, limit as i64])?;
    let ids: Vec<i64> = found.iter().map(|r| r.song_id).collect();
    let statuses = statuses(conn, &ids)?;
    let shown = |id: &i64| statuses.get(id).is_some_and(|s| !published_only || *s == SongStatus::Published);
    if ids.iter().all(shown) {
        return Ok(found);
    }
    if found.len() < limit {
        return Ok(found.into_iter().filter(|r| shown(&r.song_id)).collect());
    }
    let joined = format!(
        "SELECT {table}.rowid, bm25({table}, {weights}) AS score
         FROM {table} JOIN songs s ON s.id = {table}.rowid
         WHERE {table} MATCH ?1 AND (?2 IS NULL OR s.status = ?2)
         ORDER BY score, {table}.rowid LIMIT ?3"
    );
    ranked(conn, &joined, params![expression, published(published_only), limit as i64])
}

/// For each of `groups` (alternatives of one word, as in [`WordsQuery`]),
/// the songs whose words contain one of them: plain membership, no ranking.
pub fn word_groups(conn: &Connection, groups: &[Vec<WordTerm>]) -> StoreResult<Vec<Vec<i64>>> {
    let mut stmt = conn.prepare_cached("SELECT rowid FROM search_words WHERE search_words MATCH ?1")?;
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let one =
            WordsQuery { groups: vec![group.clone()], require_all: true, published_only: false, limit: 0 };
        let ids = match words_expression(&one) {
            Some(expression) => {
                stmt.query_map([expression], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?
            }
            None => Vec::new(),
        };
        out.push(ids);
    }
    Ok(out)
}

/// How many songs the word index holds: the N of FTS5's BM25, read from the
/// table's own averages record (row 1 of `search_words_data`, which FTS5
/// keeps current on every write and whose first field is the row count as an
/// SQLite varint) instead of counting rows, which reads the whole table.
pub fn words_total(conn: &Connection) -> StoreResult<i64> {
    let block: Option<Vec<u8>> = conn
        .prepare_cached("SELECT block FROM search_words_data WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(block.as_deref().and_then(varint).unwrap_or(0))
}

/// An SQLite varint: big-endian 7-bit groups with the high bit set on every
/// byte but the last, and a ninth byte of 8 bits.
fn varint(bytes: &[u8]) -> Option<i64> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().take(9).enumerate() {
        if i == 8 {
            return Some((value << 8 | u64::from(b)) as i64);
        }
        value = value << 7 | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some(value as i64);
        }
    }
    None
}

/// `%`, `_` and the escape character itself, escaped for `LIKE … ESCAPE '\'`.
fn like_pattern(fragment: &str) -> String {
    let mut pattern = String::from("%");
    for c in fragment.chars().filter(|c| !c.is_control()) {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Songs whose substring text contains `fragment` (for queries of 1–2
/// characters, which a trigram index cannot answer): title matches first,
/// then artist, then lyrics, each by song id; at most `limit`.
///
/// Three scans, each in song-id order and stopped as soon as it has enough:
/// titles, then artists (not already found), then lyrics (neither). Each
/// reads only the songs that the letter index ([`letters`]) lists for the
/// fragment, so a fragment few songs contain reads few lyrics, and a common
/// one is answered after the first few hundred. Texts are read from the
/// trigram table's content table (c0 title, c1 artist, c2 lyrics): through
/// the FTS5 table every row's lyrics would be loaded as well.
pub fn like(
    conn: &Connection,
    fragment: &str,
    published_only: bool,
    limit: usize,
) -> StoreResult<Vec<RankedSong>> {
    let fragment: String = fragment.chars().filter(|c| !c.is_control()).collect();
    let Some(unit) = letters::query_unit(&fragment) else { return Ok(Vec::new()) };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let pattern = like_pattern(&fragment);
    let status = published(published_only);
    let phases = [
        (0.0, "c.c0 LIKE ?2 ESCAPE '\\'"),
        (1.0, "c.c1 LIKE ?2 ESCAPE '\\' AND NOT coalesce(c.c0 LIKE ?2 ESCAPE '\\', 0)"),
        (
            2.0,
            "c.c2 LIKE ?2 ESCAPE '\\' AND NOT coalesce(c.c0 LIKE ?2 ESCAPE '\\', 0)
             AND NOT coalesce(c.c1 LIKE ?2 ESCAPE '\\', 0)",
        ),
    ];
    let mut out: Vec<RankedSong> = Vec::new();
    for (score, condition) in phases {
        let sql = format!(
            "SELECT c.id FROM search_letters l
             JOIN search_trigrams_content c ON c.id = l.rowid
             JOIN songs s ON s.id = c.id
             WHERE search_letters MATCH ?1 AND {condition} AND (?3 IS NULL OR s.status = ?3)
             ORDER BY l.rowid LIMIT ?4"
        );
        let wanted = limit - out.len();
        let mut stmt = conn.prepare_cached(&sql)?;
        let ids = stmt.query_map(params![unit, pattern, status, wanted as i64], |r| r.get::<_, i64>(0))?;
        for id in ids {
            out.push(RankedSong { song_id: id?, score });
        }
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// Every passage embedded with `model`, in id order.
pub fn line_vectors(conn: &Connection, model: &str) -> StoreResult<Vec<LineVector>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, song_id, line_no, text, embedding FROM search_lines WHERE model = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([model], |r| {
        let blob: Vec<u8> = r.get(4)?;
        let embedding = molt_vector::decode(&blob, blob.len() / 4).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Blob, e.into())
        })?;
        Ok(LineVector { id: r.get(0)?, song_id: r.get(1)?, line_no: r.get(2)?, text: r.get(3)?, embedding })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Changes whenever a passage is added or removed: (count, highest id ever used).
pub fn lines_fingerprint(conn: &Connection) -> StoreResult<(i64, i64)> {
    let count: i64 = conn.prepare_cached("SELECT count(*) FROM search_lines")?.query_row([], |r| r.get(0))?;
    let max: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'search_lines'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok((count, max.unwrap_or(0)))
}

/// The status of each of `ids` that is a song.
pub fn statuses(conn: &Connection, ids: &[i64]) -> StoreResult<HashMap<i64, SongStatus>> {
    let list = serde_json::Value::from(ids.to_vec()).to_string();
    let mut stmt =
        conn.prepare_cached("SELECT id, status FROM songs WHERE id IN (SELECT value FROM json_each(?1))")?;
    let rows = stmt.query_map([list], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, status) = row?;
        let status = status.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
        })?;
        out.insert(id, status);
    }
    Ok(out)
}

/// Merges the FTS5 b-trees after a full rebuild.
/// Indexed songs (those with a `search_words` row), newest first.
pub fn indexed_songs(conn: &Connection, published_only: bool, limit: usize) -> StoreResult<Vec<Song>> {
    let sql = format!(
        "SELECT {SONG_COLUMNS} {SONG_FROM}
         WHERE s.id IN (SELECT rowid FROM search_words) AND (?1 IS NULL OR s.status = ?1)
         ORDER BY s.id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![published(published_only), limit as i64], song_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn optimize(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "INSERT INTO search_words (search_words) VALUES ('optimize');
         INSERT INTO search_trigrams (search_trigrams) VALUES ('optimize');",
    )?;
    Ok(())
}

impl crate::repo::SearchStore for super::SqliteStore {
    fn search_pending(&self, limit: usize) -> StoreResult<Vec<PendingSong>> {
        self.read(|c| pending(c, limit))
    }
    fn search_pending_count(&self) -> StoreResult<i64> {
        self.read(pending_count)
    }
    fn search_source(&self, song_id: i64) -> StoreResult<Option<SearchSource>> {
        self.read(|c| source(c, song_id))
    }
    fn search_sources(&self, ids: &[i64]) -> StoreResult<HashMap<i64, SearchSource>> {
        self.read(|c| sources(c, ids))
    }
    fn search_has_pending(&self) -> StoreResult<bool> {
        self.read(has_pending)
    }
    fn search_generation(&self) -> StoreResult<i64> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT generation FROM search_state")?.query_row([], |r| r.get(0))?)
        })
    }
    fn search_word_groups(&self, groups: &[Vec<WordTerm>]) -> StoreResult<Vec<Vec<i64>>> {
        self.read(|c| word_groups(c, groups))
    }
    fn search_words_total(&self) -> StoreResult<i64> {
        self.read(words_total)
    }
    fn search_put(&self, entry: SearchEntry, generation: Option<i64>) -> StoreResult<bool> {
        self.write(move |c| put(c, &entry, generation))
    }
    fn search_remove(&self, song_id: i64, generation: Option<i64>) -> StoreResult<bool> {
        self.write(move |c| remove(c, song_id, generation))
    }
    fn search_queue_all(&self, reason: &str) -> StoreResult<usize> {
        let reason = reason.to_string();
        self.write(move |c| queue_all(c, &reason))
    }
    fn search_queue_missing_vectors(&self, model: &str) -> StoreResult<usize> {
        let model = model.to_string();
        self.write(move |c| queue_missing_vectors(c, &model))
    }
    fn search_optimize(&self) -> StoreResult<()> {
        self.write(optimize)
    }
    fn search_words(&self, query: &WordsQuery) -> StoreResult<Vec<RankedSong>> {
        self.read(|c| words(c, query))
    }
    fn search_trigrams(
        &self,
        groups: &[Vec<SubstringTerm>],
        published_only: bool,
        limit: usize,
    ) -> StoreResult<Vec<RankedSong>> {
        self.read(|c| trigrams(c, groups, published_only, limit))
    }
    fn search_like(
        &self,
        fragment: &str,
        published_only: bool,
        limit: usize,
    ) -> StoreResult<Vec<RankedSong>> {
        self.read(|c| like(c, fragment, published_only, limit))
    }
    fn search_line_vectors(&self, model: &str) -> StoreResult<Vec<LineVector>> {
        self.read(|c| line_vectors(c, model))
    }
    fn search_lines_fingerprint(&self) -> StoreResult<(i64, i64)> {
        self.read(lines_fingerprint)
    }
    fn search_indexed_songs(&self, published_only: bool, limit: usize) -> StoreResult<Vec<Song>> {
        self.read(|c| indexed_songs(c, published_only, limit))
    }
    fn song_statuses(&self, ids: &[i64]) -> StoreResult<HashMap<i64, SongStatus>> {
        self.read(|c| statuses(c, ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(groups: Vec<Vec<WordTerm>>, require_all: bool) -> WordsQuery {
        WordsQuery { groups, require_all, published_only: true, limit: 10 }
    }

    #[test]
    fn terms_are_quoted_and_never_carry_syntax() {
        let query = q(
            vec![
                vec![WordTerm::Word("a\"b".into()), WordTerm::Loose("ab".into())],
                vec![WordTerm::Prefix("near".into())],
                vec![WordTerm::Word("*".into()), WordTerm::Word("(".into())],
            ],
            true,
        );
        assert_eq!(words_expression(&query).unwrap(), r#"("a""b" OR loose : "ab") AND ("near"*)"#);
        assert_eq!(words_expression(&q(vec![vec![WordTerm::Word("-".into())]], false)), None);
        let text = |t: &str| SubstringTerm::Text(t.into());
        assert_eq!(
            trigram_expression(&[
                vec![text("ab")],
                vec![text("ខ្ញុំ\u{7}")],
                vec![text("x\"y"), SubstringTerm::Loose("kay".into())]
            ])
            .unwrap(),
            r#"({title artist lyrics} : "ខ្ញុំ") AND ({title artist lyrics} : "x""y" OR loose : "kay")"#
        );
    }

    #[test]
    fn varints_decode_as_sqlite_writes_them() {
        assert_eq!(varint(&[0x05]), Some(5));
        assert_eq!(varint(&[0x81, 0x9c, 0x30, 0x83]), Some(20_016));
        assert_eq!(varint(&[0xff; 9]), Some(-1));
        assert_eq!(varint(&[0x81]), None);
        assert_eq!(varint(&[]), None);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("a%"), "%a\\%%");
        assert_eq!(like_pattern("_\\"), "%\\_\\\\%");
    }
}
