//! Lyrics versions: append-only; the newest version is the current one.

use super::catalog::record_event;
use crate::error::{StoreError, StoreResult};
use molt_core::catalog::{LyricsVersion, NewLyrics};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str =
    "song_id, version, text, timed, source, author, model, language, confidence, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<LyricsVersion> {
    let timed: Option<String> = r.get(3)?;
    let source: String = r.get(4)?;
    Ok(LyricsVersion {
        song_id: r.get(0)?,
        version: r.get(1)?,
        text: r.get(2)?,
        timed: timed.and_then(|t| serde_json::from_str(&t).ok()),
        source: source.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
        })?,
        author: r.get(5)?,
        model: r.get(6)?,
        language: r.get(7)?,
        confidence: r.get(8)?,
        created_at: r.get(9)?,
    })
}

/// Add the next version (1, 2, …) and log it.
pub fn add(conn: &Connection, song_id: i64, new: &NewLyrics, actor: &str) -> StoreResult<LyricsVersion> {
    let exists = conn.prepare_cached("SELECT 1 FROM songs WHERE id = ?1")?.exists([song_id])?;
    if !exists {
        return Err(StoreError::NotFound { what: "song", id: song_id });
    }
    let sql = format!(
        "INSERT INTO lyrics_versions (song_id, version, text, timed, source, author, model, language, confidence)
         VALUES (?1, (SELECT coalesce(max(version), 0) + 1 FROM lyrics_versions WHERE song_id = ?1),
                 ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         RETURNING {COLUMNS}"
    );
    let version = conn.prepare_cached(&sql)?.query_row(
        params![
            song_id,
            new.text,
            new.timed.as_ref().map(|t| t.to_string()),
            new.source.as_str(),
            new.author,
            new.model,
            new.language,
            new.confidence
        ],
        from_row,
    )?;
    let details =
        serde_json::json!({ "version": version.version, "source": version.source, "model": version.model });
    record_event(conn, actor, "lyrics.version_added", Some(song_id), &details)?;
    Ok(version)
}

/// A given version, or the newest when `version` is `None`.
pub fn get(conn: &Connection, song_id: i64, version: Option<u32>) -> StoreResult<Option<LyricsVersion>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM lyrics_versions WHERE song_id = ?1 AND (?2 IS NULL OR version = ?2)
         ORDER BY version DESC LIMIT 1"
    );
    Ok(conn.prepare_cached(&sql)?.query_row(params![song_id, version], from_row).optional()?)
}

pub fn list(conn: &Connection, song_id: i64) -> StoreResult<Vec<LyricsVersion>> {
    let sql = format!("SELECT {COLUMNS} FROM lyrics_versions WHERE song_id = ?1 ORDER BY version");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([song_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
