//! [`ArchiveStore`] on SQLite.

use super::{catalog, SqliteStore};
use crate::archive::{ArchiveChange, ArchiveStore, FileKind, SongFile, SongFiles};
use crate::error::{StoreError, StoreResult};
use molt_core::SongStatus;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

/// The art files an art stage output names: its main image and each of `images`.
fn art_refs(output: &Value) -> Vec<(String, &'static str)> {
    let one = |v: &Value| {
        let sha = v.get("asset_sha256")?.as_str()?;
        let ext = match v.get("mime")?.as_str()? {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/webp" => "webp",
            _ => return None,
        };
        Some((sha.to_string(), ext))
    };
    let mut refs: Vec<(String, &'static str)> = one(output).into_iter().collect();
    if let Some(images) = output.get("images").and_then(Value::as_array) {
        refs.extend(images.iter().filter_map(one));
    }
    refs.sort();
    refs.dedup();
    refs
}

/// (shared with a song that is not archived, shared with an archived one).
fn sharing(statuses: impl IntoIterator<Item = String>) -> (bool, bool) {
    let archived = SongStatus::Archived.as_str();
    statuses
        .into_iter()
        .fold((false, false), |(live, arch), s| (live || s != archived, arch || s == archived))
}

fn song_files(conn: &Connection, song_id: i64) -> StoreResult<Option<SongFiles>> {
    let Some(song) = catalog::get_song(conn, song_id)? else { return Ok(None) };
    let mut files = Vec::new();
    let audio: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT x.id, x.path FROM songs s JOIN assets x ON x.id = s.audio_asset_id WHERE s.id = ?1",
        )?
        .query_row([song_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((asset_id, path)) = audio {
        let mut stmt =
            conn.prepare_cached("SELECT status FROM songs WHERE audio_asset_id = ?1 AND id <> ?2")?;
        let others =
            stmt.query_map(params![asset_id, song_id], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?;
        let (shared_live, shared_archived) = sharing(others);
        files.push(SongFile {
            kind: FileKind::Audio,
            live_path: crate::archive::live_path(&path).to_string(),
            sha256: song.audio_sha256.clone(),
            asset: Some((asset_id, path)),
            shared_live,
            shared_archived,
        });
    }
    let output: Option<String> = conn
        .prepare_cached("SELECT output FROM stage_outputs WHERE song_id = ?1 AND stage = 'art'")?
        .query_row([song_id], |r| r.get(0))
        .optional()?;
    let output: Value = output.and_then(|o| serde_json::from_str(&o).ok()).unwrap_or(Value::Null);
    for (sha, ext) in art_refs(&output) {
        // Other songs' art naming the same image (a cheap text probe, then confirmed).
        let mut stmt = conn.prepare_cached(
            "SELECT s.status, o.output FROM stage_outputs o JOIN songs s ON s.id = o.song_id
             WHERE o.stage = 'art' AND o.song_id <> ?1 AND instr(o.output, ?2) > 0",
        )?;
        let others = stmt
            .query_map(params![song_id, sha], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let users = others.into_iter().filter_map(|(status, out)| {
            let out: Value = serde_json::from_str(&out).ok()?;
            art_refs(&out).iter().any(|(s, e)| *s == sha && *e == ext).then_some(status)
        });
        let (shared_live, shared_archived) = sharing(users);
        files.push(SongFile {
            kind: FileKind::Art,
            live_path: format!("assets/art/{sha}.{ext}"),
            sha256: sha,
            asset: None,
            shared_live,
            shared_archived,
        });
    }
    Ok(Some(SongFiles { song, files }))
}

fn commit(conn: &Connection, change: &ArchiveChange) -> StoreResult<molt_core::catalog::Song> {
    let id = change.song_id;
    let song = catalog::get_song(conn, id)?.ok_or(StoreError::NotFound { what: "song", id })?;
    let (from, to, kind) = if change.archive {
        (SongStatus::Published, SongStatus::Archived, "song.archived")
    } else {
        (SongStatus::Archived, SongStatus::Published, "song.unarchived")
    };
    if song.status != from {
        let verb = if change.archive { "archived" } else { "unarchived" };
        return Err(StoreError::InvalidState(format!(
            "song {id} is {}, not {from}: only a {from} song can be {verb}",
            song.status
        )));
    }
    for (asset_id, path) in &change.asset_paths {
        conn.prepare_cached("UPDATE assets SET path = ?2 WHERE id = ?1")?.execute(params![asset_id, path])?;
    }
    let song = catalog::set_song_status(conn, id, to, &change.actor, None)?;
    catalog::record_event(
        conn,
        &change.actor,
        kind,
        Some(id),
        &serde_json::json!({ "files": change.files }),
    )?;
    Ok(song)
}

impl ArchiveStore for SqliteStore {
    fn song_files(&self, song_id: i64) -> StoreResult<Option<SongFiles>> {
        self.read(|c| song_files(c, song_id))
    }

    fn commit_archive(&self, change: ArchiveChange) -> StoreResult<molt_core::catalog::Song> {
        self.write(move |c| commit(c, &change))
    }
}

#[cfg(test)]
mod tests {
    use super::art_refs;

    #[test]
    fn art_refs_name_the_main_image_and_each_size_once() {
        let output = serde_json::json!({
            "mime": "image/png", "asset_sha256": "aa",
            "images": [{"mime": "image/png", "asset_sha256": "aa"}, {"mime": "image/jpeg", "asset_sha256": "bb"},
                       {"mime": "image/svg+xml"}]
        });
        assert_eq!(art_refs(&output), vec![("aa".to_string(), "png"), ("bb".to_string(), "jpg")]);
        assert!(art_refs(&serde_json::json!({"mime": "image/svg+xml", "placeholder": true})).is_empty());
    }
}
