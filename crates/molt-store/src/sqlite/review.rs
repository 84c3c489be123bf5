//! Human review: publishing (with the rights gate), rights changes, and
//! sending a song back to a stage. Each is one transaction with its event.

use super::catalog::{get_song, record_event, set_song_status};
use super::queue;
use crate::error::{StoreError, StoreResult};
use molt_core::catalog::{rights_need_override, Song};
use molt_core::jobs::NewJob;
use molt_core::{SongStatus, Stage};
use rusqlite::{params, Connection};

fn song_in_review(conn: &Connection, id: i64) -> StoreResult<Song> {
    let song = get_song(conn, id)?.ok_or(StoreError::NotFound { what: "song", id })?;
    if !matches!(song.status, SongStatus::Review | SongStatus::NeedsHumanReview) {
        return Err(StoreError::InvalidState(format!(
            "song {id} is {}; only songs in review or needing human review can be approved or rejected",
            song.status
        )));
    }
    Ok(song)
}

/// REVIEW | NEEDS_HUMAN_REVIEW → PUBLISHED. A protected or unknown-rights work
/// needs `rights_override` (the reason), which is recorded as its own event.
pub fn publish(conn: &Connection, id: i64, actor: &str, rights_override: Option<&str>) -> StoreResult<Song> {
    let song = song_in_review(conn, id)?;
    let needs_override = rights_need_override(&song.rights_status);
    match (needs_override, rights_override.map(str::trim).filter(|r| !r.is_empty())) {
        (true, None) => {
            return Err(StoreError::InvalidState(format!(
                "song {id}'s rights status is `{}`: publishing it needs an explicit override with a reason",
                song.rights_status
            )))
        }
        (true, Some(reason)) => {
            let details = serde_json::json!({ "rights_status": song.rights_status, "reason": reason });
            record_event(conn, actor, "song.rights_override", Some(id), &details)?;
        }
        (false, _) => {}
    }
    set_song_status(conn, id, SongStatus::Published, actor, Some("approved in review"))
}

/// Sets a song's rights status.
pub fn set_rights(conn: &Connection, id: i64, rights: &str, actor: &str) -> StoreResult<Song> {
    let song = get_song(conn, id)?.ok_or(StoreError::NotFound { what: "song", id })?;
    conn.prepare_cached(
        "UPDATE songs SET rights_status = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?1",
    )?
    .execute(params![id, rights])?;
    let details = serde_json::json!({ "from": song.rights_status, "to": rights });
    record_event(conn, actor, "song.rights_changed", Some(id), &details)?;
    get_song(conn, id)?.ok_or(StoreError::NotFound { what: "song", id })
}

/// Rejects a song in review: back to `stage` (its output and every later
/// stage's are dropped, the stage is queued again), or FAILED with the reason.
pub fn reject(
    conn: &Connection,
    id: i64,
    actor: &str,
    reason: &str,
    stage: Option<Stage>,
) -> StoreResult<Song> {
    song_in_review(conn, id)?;
    let Some(stage) = stage else {
        return set_song_status(conn, id, SongStatus::Failed, actor, Some(&format!("rejected: {reason}")));
    };
    let later: Vec<&str> = Stage::ORDER.iter().skip_while(|s| **s != stage).map(|s| s.as_str()).collect();
    let mut dropped = 0;
    for name in &later {
        dropped += conn
            .prepare_cached("DELETE FROM stage_outputs WHERE song_id = ?1 AND stage = ?2")?
            .execute(params![id, name])?;
    }
    let details =
        serde_json::json!({ "reason": reason, "to_stage": stage.as_str(), "outputs_dropped": dropped });
    record_event(conn, actor, "song.rejected", Some(id), &details)?;
    let now = molt_core::time::now_stamp();
    queue::enqueue(conn, &NewJob::stage(id, stage), &now)?;
    let song =
        set_song_status(conn, id, SongStatus::Processing, actor, Some(&format!("rejected: {reason}")))?;
    conn.prepare_cached("UPDATE songs SET current_stage = ?2 WHERE id = ?1")?
        .execute(params![id, stage.as_str()])?;
    Ok(Song { current_stage: Some(stage), ..song })
}
