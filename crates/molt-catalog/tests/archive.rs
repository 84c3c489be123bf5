//! Song archiving: files move under `archive/` and back byte for byte, rows
//! and status follow in one transaction, a refused song is left alone, a
//! crash between the steps leaves a consistent state that a re-run completes,
//! and a file another song uses is never deleted from under it.

use molt_catalog::archive::{ArchiveError, Archiver, Step};
use molt_core::catalog::{NewSong, StoredAudio};
use molt_core::validate::SongInput;
use molt_core::SongStatus;
use molt_store::archive::FileKind;
use molt_store::{ArchiveStore, Database, SqliteStore, StoreOptions};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Fixture {
    store: SqliteStore,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&StoreOptions::in_dir(dir.path())).unwrap();
    Fixture { store, data: dir.path().to_path_buf(), _dir: dir }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn write(data: &Path, rel: &str, bytes: &[u8]) {
    let path = data.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A song with real audio bytes on disk and, when given, art (main image and
/// one size) recorded as its art stage's output, brought to `status`.
async fn song(f: &Fixture, n: u32, status: SongStatus, art: Option<&[u8]>) -> i64 {
    let metadata = SongInput {
        title: Some(format!("song {n}")),
        artist: Some("Ros Sereysothea".into()),
        ..Default::default()
    }
    .validate(2026)
    .unwrap();
    let bytes = format!("RIFF audio of song {n}").into_bytes();
    let sha256 = sha(&bytes);
    let relative_path = format!("assets/audio_in/{sha256}.wav");
    write(&f.data, &relative_path, &bytes);
    let audio = StoredAudio {
        relative_path,
        sha256,
        mime: "audio/wav".into(),
        bytes: bytes.len() as u64,
        duration_secs: 2.0,
    };
    let id = f.store.create_song(NewSong { metadata, audio }, "test").await.unwrap().id;
    if let Some(art) = art {
        let main = sha(art);
        write(&f.data, &format!("assets/art/{main}.png"), art);
        let small = [art, b"-small"].concat();
        let small_sha = sha(&small);
        write(&f.data, &format!("assets/art/{small_sha}.jpg"), &small);
        let output = serde_json::json!({
            "mime": "image/png", "asset_sha256": main,
            "images": [{"label": "cover", "mime": "image/png", "asset_sha256": main},
                       {"label": "small", "mime": "image/jpeg", "asset_sha256": small_sha}]
        })
        .to_string();
        f.store
            .write(move |c| {
                c.execute(
                    "INSERT INTO stage_runs (song_id, stage, attempt, state, started_at)
                     VALUES (?1, 'art', 1, 'succeeded', '2026-01-01T00:00:00.000Z')",
                    [id],
                )?;
                let run = c.last_insert_rowid();
                c.execute(
                    "INSERT INTO stage_outputs (song_id, stage, run_id, provider, model, output, created_at)
                     VALUES (?1, 'art', ?2, 'local', 'cover', ?3, '2026-01-01T00:00:00.000Z')",
                    rusqlite::params![id, run, output],
                )?;
                Ok(())
            })
            .unwrap();
    }
    let path: &[SongStatus] = match status {
        SongStatus::Pending => &[],
        SongStatus::Review => &[SongStatus::Processing, SongStatus::Review],
        SongStatus::Published => &[SongStatus::Processing, SongStatus::Review, SongStatus::Published],
        other => panic!("not needed: {other}"),
    };
    for next in path {
        f.store.set_song_status(id, *next, "test", None).await.unwrap();
    }
    id
}

fn archiver(f: &Fixture) -> Archiver {
    Archiver::new(Arc::new(f.store.clone()), &f.data)
}

/// Every file under the data directory's `assets/` and `archive/`, with its hash.
fn tree(data: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, sha(&std::fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(data, &data.join("assets"), &mut out);
    walk(data, &data.join("archive"), &mut out);
    out.sort();
    out
}

async fn audio_row_path(f: &Fixture, id: i64) -> String {
    let files = f.store.song_files(id).unwrap().unwrap().files;
    files.into_iter().find(|x| x.kind == FileKind::Audio).unwrap().asset.unwrap().1
}

async fn event_kinds(f: &Fixture, id: i64) -> Vec<String> {
    f.store.song_events(id).await.unwrap().into_iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn archive_moves_files_and_rows_and_unarchive_restores_them_byte_for_byte() {
    let f = fixture();
    let id = song(&f, 1, SongStatus::Published, Some(b"PNG cover one")).await;
    let before = tree(&f.data);
    assert_eq!(before.len(), 3, "{before:?}");

    let report = archiver(&f).archive(id, "dara").unwrap();
    assert_eq!(report.status, SongStatus::Archived);
    assert_eq!(report.action, "archived");
    assert!(!report.resumed);
    assert_eq!(report.files.len(), 3);
    assert!(report.files.iter().all(|m| m.to == format!("archive/{}", m.from) && !m.kept), "{report:?}");
    let after = tree(&f.data);
    let expected: Vec<(String, String)> =
        before.iter().map(|(p, h)| (format!("archive/{p}"), h.clone())).collect();
    assert_eq!(after, expected, "every file moved, same bytes, same layout");
    let song = f.store.get_song(id).await.unwrap().unwrap();
    assert_eq!(song.status, SongStatus::Archived);
    assert_eq!(audio_row_path(&f, id).await, format!("archive/assets/audio_in/{}.wav", song.audio_sha256));
    let log = f.store.song_events(id).await.unwrap();
    let changed = log.iter().rev().find(|e| e.kind == "song.status_changed").unwrap();
    assert_eq!(changed.details["to"], "archived");
    assert_eq!(changed.actor, "dara");
    let archived = log.iter().find(|e| e.kind == "song.archived").unwrap();
    assert_eq!(archived.details["files"].as_array().unwrap().len(), 3);

    let back = archiver(&f).unarchive(id, "dara").unwrap();
    assert_eq!(back.status, SongStatus::Published);
    assert_eq!(back.action, "unarchived");
    assert_eq!(tree(&f.data), before, "restored byte for byte (sha256) at the original paths");
    assert_eq!(audio_row_path(&f, id).await, format!("assets/audio_in/{}.wav", song.audio_sha256));
    assert_eq!(f.store.get_song(id).await.unwrap().unwrap().status, SongStatus::Published);
    assert!(event_kinds(&f, id).await.ends_with(&["song.status_changed".into(), "song.unarchived".into()]));
}

#[tokio::test]
async fn a_song_that_is_not_published_or_not_archived_is_refused_and_left_alone() {
    let f = fixture();
    let review = song(&f, 1, SongStatus::Review, Some(b"cover")).await;
    let before = tree(&f.data);
    let events = event_kinds(&f, review).await;
    let err = archiver(&f).archive(review, "t").unwrap_err();
    assert!(matches!(err, ArchiveError::NotPublished { .. }), "{err:?}");
    assert_eq!(err.code(), "not_published");
    assert_eq!(
        err.to_string(),
        format!("song {review} is review, not published: only a published song can be archived")
    );
    assert_eq!(tree(&f.data), before, "no copy, no move");
    assert_eq!(event_kinds(&f, review).await, events, "no event");
    assert_eq!(f.store.get_song(review).await.unwrap().unwrap().status, SongStatus::Review);

    let published = song(&f, 2, SongStatus::Published, None).await;
    let err = archiver(&f).unarchive(published, "t").unwrap_err();
    assert_eq!(err.code(), "not_archived");
    assert!(err.to_string().contains("is published, not archived"), "{err}");
    let err = archiver(&f).archive(999, "t").unwrap_err();
    assert_eq!((err.code(), err.to_string()), ("not_found", "song 999 not found".to_string()));

    // Archiving twice: the second is refused (nothing was left to finish).
    archiver(&f).archive(published, "t").unwrap();
    let err = archiver(&f).archive(published, "t").unwrap_err();
    assert!(err.to_string().contains("is archived, not published"), "{err}");
}

#[tokio::test]
async fn a_crash_after_the_copy_or_after_the_commit_is_consistent_and_a_rerun_completes_it() {
    let f = fixture();
    let id = song(&f, 1, SongStatus::Published, Some(b"cover")).await;
    let before = tree(&f.data);
    let moved: Vec<(String, String)> =
        before.iter().map(|(p, h)| (format!("archive/{p}"), h.clone())).collect();

    // Crash after the copy: the old state, plus copies nothing names.
    let err = archiver(&f).interrupt_after(Step::Copy).archive(id, "t").unwrap_err();
    assert!(matches!(err, ArchiveError::Interrupted(Step::Copy)));
    assert_eq!(f.store.get_song(id).await.unwrap().unwrap().status, SongStatus::Published);
    assert!(!audio_row_path(&f, id).await.starts_with("archive/"));
    let mut both = [before.clone(), moved.clone()].concat();
    both.sort();
    assert_eq!(tree(&f.data), both);
    assert!(!event_kinds(&f, id).await.contains(&"song.archived".to_string()));
    // A re-run completes it (the good copies are kept).
    archiver(&f).archive(id, "t").unwrap();
    assert_eq!(tree(&f.data), moved);

    // Crash after the commit: the new state, plus leftover originals; every row's file exists.
    let err = archiver(&f).interrupt_after(Step::Commit).unarchive(id, "t").unwrap_err();
    assert!(matches!(err, ArchiveError::Interrupted(Step::Commit)));
    assert_eq!(f.store.get_song(id).await.unwrap().unwrap().status, SongStatus::Published);
    let row = audio_row_path(&f, id).await;
    assert!(f.data.join(&row).is_file(), "{row}");
    assert_eq!(tree(&f.data), both);
    // A re-run removes the leftovers and says so.
    let resumed = archiver(&f).unarchive(id, "t").unwrap();
    assert!(resumed.resumed);
    assert_eq!(resumed.files.len(), 3);
    assert_eq!(tree(&f.data), before);
    // Nothing left to finish now.
    assert_eq!(archiver(&f).unarchive(id, "t").unwrap_err().code(), "not_archived");

    // A copy that was cut short (or damaged) is not trusted: it is made again.
    let damaged = &moved[0].0;
    write(&f.data, damaged, b"truncated");
    archiver(&f).archive(id, "t").unwrap();
    assert_eq!(tree(&f.data), moved);
}

#[tokio::test]
async fn a_file_another_song_still_uses_is_copied_but_not_deleted() {
    let f = fixture();
    // Two songs with the same cover (content-addressed: one file).
    let a = song(&f, 1, SongStatus::Published, Some(b"shared cover")).await;
    let b = song(&f, 2, SongStatus::Published, Some(b"shared cover")).await;
    let cover = format!("assets/art/{}.png", sha(b"shared cover"));

    let report = archiver(&f).archive(a, "t").unwrap();
    let art: Vec<_> = report.files.iter().filter(|m| m.kind == FileKind::Art).collect();
    assert_eq!(art.len(), 2, "cover and small: {report:?}");
    assert!(art.iter().all(|m| m.kept), "{report:?}");
    assert!(f.data.join(&cover).is_file(), "song {b} still shows it");
    assert!(f.data.join(format!("archive/{cover}")).is_file());

    // Once both are archived, the second run removes the original; unarchiving
    // one keeps the archive copy for the other.
    archiver(&f).archive(b, "t").unwrap();
    assert!(!f.data.join(&cover).exists());
    archiver(&f).unarchive(a, "t").unwrap();
    assert!(f.data.join(&cover).is_file());
    assert!(f.data.join(format!("archive/{cover}")).is_file(), "song {b} is still archived");
    archiver(&f).unarchive(b, "t").unwrap();
    assert!(!f.data.join(format!("archive/{cover}")).exists());
}

#[tokio::test]
async fn a_missing_file_refuses_the_archive_and_changes_nothing() {
    let f = fixture();
    let id = song(&f, 1, SongStatus::Published, None).await;
    let row = audio_row_path(&f, id).await;
    std::fs::remove_file(f.data.join(&row)).unwrap();
    let err = archiver(&f).archive(id, "t").unwrap_err();
    assert_eq!(err.code(), "missing_file");
    assert!(err.to_string().contains(&row), "{err}");
    assert_eq!(f.store.get_song(id).await.unwrap().unwrap().status, SongStatus::Published);
    assert_eq!(audio_row_path(&f, id).await, row);
}

#[tokio::test]
async fn a_stored_path_outside_the_assets_is_refused_and_nothing_is_touched() {
    let f = fixture();
    let id = song(&f, 1, SongStatus::Published, None).await;
    let before = tree(&f.data);
    for bad in ["/etc/passwd", "assets/audio_in/../../molt.db", "backups/x.wav", "assets/art/./x.png"] {
        f.store
            .write(move |c| {
                c.execute(
                    "UPDATE assets SET path = ?2 WHERE id = (SELECT audio_asset_id FROM songs WHERE id = ?1)",
                    rusqlite::params![id, bad],
                )?;
                Ok(())
            })
            .unwrap();
        let err = archiver(&f).archive(id, "t").unwrap_err();
        assert_eq!(err.code(), "bad_path", "{bad}: {err}");
        assert!(err.to_string().contains(bad), "{err}");
        assert_eq!(f.store.get_song(id).await.unwrap().unwrap().status, SongStatus::Published);
        assert_eq!(tree(&f.data), before, "{bad}");
    }
}

#[tokio::test]
async fn the_clean_up_keeps_the_original_while_its_new_copy_is_not_verified() {
    let f = fixture();
    let id = song(&f, 1, SongStatus::Published, None).await;
    let row = audio_row_path(&f, id).await;
    let err = archiver(&f).interrupt_after(Step::Commit).archive(id, "t").unwrap_err();
    assert_eq!(err.code(), "interrupted");
    // The committed copy is damaged before the clean-up runs again.
    let copy = f.data.join(format!("archive/{row}"));
    std::fs::write(&copy, b"damaged").unwrap();
    assert!(archiver(&f).archive(id, "t").is_err(), "nothing left to clean up");
    assert!(f.data.join(&row).is_file(), "the original stays: its copy does not match its SHA-256");
}
