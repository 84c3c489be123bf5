//! Songs, artists, assets and the event log.

use super::bad_text;
use crate::error::{StoreError, StoreResult};
use molt_core::catalog::{ArtistRef, Event, NewSong, Song, SongQuery};
use molt_core::{SongStatus, Stage};
use rusqlite::{params, Connection, OptionalExtension, Row};

pub(super) const SONG_COLUMNS: &str =
    "s.id, s.title, s.title_latin, a.id, a.name_km, a.name_latin, s.composer, s.lyricist,
    s.year, s.album, s.language, s.isrc, s.duration_secs, s.audio_sha256, x.mime, x.bytes, s.rights_status,
    s.status, s.current_stage, s.cost_micro_usd, s.created_at, s.updated_at, s.failure_reason";
pub(super) const SONG_FROM: &str =
    "FROM songs s JOIN artists a ON a.id = s.artist_id JOIN assets x ON x.id = s.audio_asset_id";

pub(super) fn song_from_row(r: &Row<'_>) -> rusqlite::Result<Song> {
    let status: String = r.get(17)?;
    let stage: Option<String> = r.get(18)?;
    Ok(Song {
        id: r.get(0)?,
        title: r.get(1)?,
        title_latin: r.get(2)?,
        artist: ArtistRef { id: r.get(3)?, name_km: r.get(4)?, name_latin: r.get(5)? },
        composer: r.get(6)?,
        lyricist: r.get(7)?,
        year: r.get(8)?,
        album: r.get(9)?,
        language: r.get(10)?,
        isrc: r.get(11)?,
        duration_secs: r.get(12)?,
        audio_sha256: r.get(13)?,
        audio_mime: r.get(14)?,
        audio_bytes: r.get(15)?,
        rights_status: r.get(16)?,
        status: status.parse().map_err(|e: String| bad_text(17, e))?,
        current_stage: stage.map(|s| s.parse::<Stage>()).transpose().map_err(|e| bad_text(18, e))?,
        failure_reason: r.get(22)?,
        cost_micro_usd: r.get(19)?,
        created_at: r.get(20)?,
        updated_at: r.get(21)?,
    })
}

pub(super) fn get_song(conn: &Connection, id: i64) -> StoreResult<Option<Song>> {
    let sql = format!("SELECT {SONG_COLUMNS} {SONG_FROM} WHERE s.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id], song_from_row).optional()?)
}

pub(super) fn find_song_by_audio(conn: &Connection, sha256: &str) -> StoreResult<Option<Song>> {
    let sql = format!("SELECT {SONG_COLUMNS} {SONG_FROM} WHERE s.audio_sha256 = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([sha256], song_from_row).optional()?)
}

pub(super) fn list_songs(conn: &Connection, query: &SongQuery) -> StoreResult<Vec<Song>> {
    let sql = format!(
        "SELECT {SONG_COLUMNS} {SONG_FROM} WHERE (?1 IS NULL OR s.status = ?1) AND s.id > ?2 ORDER BY s.id LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![query.status.map(SongStatus::as_str), query.after_id.unwrap_or(0), query.limit],
        song_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Lower-case and collapse whitespace, so "Sinn  Sisamouth" finds "sinn sisamouth".
pub fn alias_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn is_khmer(text: &str) -> bool {
    text.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c) || ('\u{19E0}'..='\u{19FF}').contains(&c))
}

/// Find the artist by any known spelling, or create one with this spelling as its name.
fn artist_id(conn: &Connection, name: &str) -> StoreResult<i64> {
    let key = alias_key(name);
    let found = conn
        .prepare_cached("SELECT artist_id FROM artist_aliases WHERE alias_key = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let (km, latin) = if is_khmer(name) { (Some(name), None) } else { (None, Some(name)) };
    let id: i64 = conn
        .prepare_cached("INSERT INTO artists (name_km, name_latin) VALUES (?1, ?2) RETURNING id")?
        .query_row(params![km, latin], |r| r.get(0))?;
    conn.prepare_cached("INSERT INTO artist_aliases (artist_id, alias, alias_key) VALUES (?1, ?2, ?3)")?
        .execute(params![id, name, key])?;
    Ok(id)
}

pub(super) fn create_song(conn: &Connection, song: &NewSong, actor: &str) -> StoreResult<Song> {
    if let Some(existing) = find_song_by_audio(conn, &song.audio.sha256)? {
        return Err(StoreError::DuplicateAudio { existing_id: existing.id, title: existing.title });
    }
    let m = &song.metadata;
    let a = &song.audio;
    let artist = artist_id(conn, &m.artist)?;
    let asset: i64 = conn
        .prepare_cached(
            "INSERT INTO assets (kind, sha256, path, mime, bytes) VALUES ('audio_in', ?1, ?2, ?3, ?4)
             ON CONFLICT (kind, sha256) DO UPDATE SET path = excluded.path RETURNING id",
        )?
        .query_row(params![a.sha256, a.relative_path, a.mime, a.bytes], |r| r.get(0))?;
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO songs (title, title_latin, artist_id, composer, lyricist, year, album, language,
                 duration_secs, audio_asset_id, audio_sha256, isrc, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
        )?
        .query_row(
            params![
                m.title,
                m.title_latin,
                artist,
                m.composer,
                m.lyricist,
                m.year,
                m.album,
                m.language,
                a.duration_secs,
                asset,
                a.sha256,
                m.isrc,
                actor
            ],
            |r| r.get(0),
        )?;
    record_event(conn, actor, "song.created", Some(id), &serde_json::json!({ "audio_sha256": a.sha256 }))?;
    get_song(conn, id)?.ok_or(StoreError::NotFound { what: "song", id })
}

/// The only path that changes a song's status: it checks the lifecycle and logs the change.
pub(super) fn set_song_status(
    conn: &Connection,
    id: i64,
    to: SongStatus,
    actor: &str,
    reason: Option<&str>,
) -> StoreResult<Song> {
    let song = get_song(conn, id)?.ok_or(StoreError::NotFound { what: "song", id })?;
    if !song.status.can_become(to) {
        return Err(StoreError::InvalidState(format!("song {id} cannot go from {} to {to}", song.status)));
    }
    conn.prepare_cached(
        "UPDATE songs SET status = ?2, failure_reason = ?3, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
         WHERE id = ?1",
    )?
    .execute(params![id, to.as_str(), reason])?;
    let details = serde_json::json!({ "from": song.status, "to": to, "reason": reason });
    record_event(conn, actor, "song.status_changed", Some(id), &details)?;
    get_song(conn, id)?.ok_or(StoreError::NotFound { what: "song", id })
}

pub(crate) fn record_event(
    conn: &Connection,
    actor: &str,
    kind: &str,
    song_id: Option<i64>,
    details: &serde_json::Value,
) -> StoreResult<()> {
    conn.prepare_cached("INSERT INTO events (actor, kind, song_id, details) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![actor, kind, song_id, details.to_string()])?;
    Ok(())
}

/// The columns [`event_row`] reads, in its order.
pub(crate) const EVENT_COLUMNS: &str = "id, at, actor, kind, song_id, details";

/// An `events` row selected as [`EVENT_COLUMNS`].
pub(crate) fn event_row(r: &Row) -> rusqlite::Result<Event> {
    let details: String = r.get(5)?;
    Ok(Event {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        kind: r.get(3)?,
        song_id: r.get(4)?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
    })
}

pub(super) fn song_events(conn: &Connection, song_id: i64) -> StoreResult<Vec<Event>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE song_id = ?1 ORDER BY id"))?;
    let rows = stmt.query_map([song_id], event_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
