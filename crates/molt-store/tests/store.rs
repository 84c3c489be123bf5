//! The SQLite store: migrations that lose nothing, group commit, locks,
//! the append-only log, backup and restore.

use molt_core::catalog::{NewSong, SongQuery, StoredAudio};
use molt_core::validate::SongInput;
use molt_core::SongStatus;
use molt_store::{Database, SqliteStore, StoreError, StoreOptions};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

fn options(dir: &Path) -> StoreOptions {
    StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_millis(100),
        lock_retries: 1,
        read_connections: 2,
    }
}

fn new_song(n: u32, title: &str) -> NewSong {
    let metadata = SongInput {
        title: Some(title.into()),
        artist: Some(if n.is_multiple_of(2) {
            "Sinn Sisamouth".into()
        } else {
            "រស់ សេរីសុទ្ធា".into()
        }),
        year: Some("1967".into()),
        ..Default::default()
    }
    .validate(2026)
    .unwrap();
    let sha256 = format!("{n:064x}");
    NewSong {
        metadata,
        audio: StoredAudio {
            relative_path: format!("assets/audio_in/{sha256}.wav"),
            sha256,
            mime: "audio/wav".into(),
            bytes: 1000 + u64::from(n),
            duration_secs: 2.5,
        },
    }
}

/// Every row of every table, in a stable order, for before/after comparison.
fn dump(path: &Path, tables: &[&str]) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY rowid")).unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let cells: Vec<String> = (0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect();
            rows.push(format!("{table}: {}", cells.join(" | ")));
        }
    }
    rows
}

const CORE_TABLES: &[&str] =
    &["users", "api_tokens", "artists", "artist_aliases", "assets", "songs", "lyrics_versions", "events"];

fn populate(store: &SqliteStore) {
    store
        .write(|c| {
            c.execute_batch(
                "INSERT INTO users (name, email, role) VALUES ('dara', 'dara@example.org', 'operator');
                 INSERT INTO jobs (kind, song_id, stage, unique_key) VALUES ('stage', 1, 'transcribe', 'song:1:transcribe');
                 INSERT INTO cost_ledger (service, model, micro_usd, outcome, song_id) VALUES ('whisper', 'base', 1200, 'ok', 1);
                 INSERT INTO lyrics_versions (song_id, version, text, source, author) VALUES (1, 1, 'ខ្ញុំ', 'asr', 'whisper');",
            )?;
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn migrations_go_up_down_up_on_a_populated_database_without_losing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let store = SqliteStore::open_migrated(&opts).unwrap();
    for n in 0..20 {
        store.create_song(new_song(n, &format!("song {n}")), "test").await.unwrap();
    }
    populate(&store);
    let before = dump(&opts.path, CORE_TABLES);
    assert!(before.len() > 60, "populated: {}", before.len());

    let down = store.rollback(11).unwrap();
    assert_eq!(
        down.versions,
        [
            "20261121000012",
            "20261121000011",
            "20261121000010",
            "20261121000009",
            "20261121000008",
            "20261121000007",
            "20261121000006",
            "20261121000005",
            "20261121000004",
            "20261121000003",
            "20261121000002"
        ]
    );
    let backup = down.backup.expect("rollback backs up first");
    let unchanged: Vec<&str> = CORE_TABLES.iter().copied().filter(|t| *t != "lyrics_versions").collect();
    let before_unchanged = dump(&backup, &unchanged);
    assert_eq!(dump(&opts.path, &unchanged), before_unchanged, "rollback kept every core row");
    assert_eq!(dump(&opts.path, &["lyrics_versions"]).len(), 1, "the rebuilt lyrics table kept its row");
    // The rows of the dropped tables survive in the backup taken first.
    assert_eq!(dump(&backup, &["jobs", "cost_ledger"]).len(), 2);

    let up = store.migrate().unwrap();
    assert_eq!(
        up.versions,
        [
            "20261121000002",
            "20261121000003",
            "20261121000004",
            "20261121000005",
            "20261121000006",
            "20261121000007",
            "20261121000008",
            "20261121000009",
            "20261121000010",
            "20261121000011",
            "20261121000012"
        ]
    );
    assert!(up.backup.is_some(), "migrate backs up a populated database first");
    assert_eq!(dump(&opts.path, CORE_TABLES), before, "re-migrating kept every core row");
    assert!(store.verify().unwrap().ok());
    // The store still works on the re-created tables.
    store.write(|c| Ok(c.execute("INSERT INTO jobs (kind) VALUES ('x')", [])?)).unwrap();
}

#[tokio::test]
async fn full_rollback_and_migrate_again_gives_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let store = SqliteStore::open_migrated(&opts).unwrap();
    // Root pages move when tables are re-created, and `sqlite_sequence` (made by the first
    // AUTOINCREMENT table) outlives its tables: compare what the schema says, by name.
    let schema = |p: &Path| -> Vec<(String, String, Option<String>)> {
        let conn = Connection::open(p).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT type, name, sql FROM sqlite_master WHERE name != 'sqlite_sequence' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    let first = schema(&opts.path);
    assert_eq!(store.rollback(100).unwrap().versions.len(), molt_store::migrations::known().len());
    assert!(store.migration_status().unwrap().iter().all(|m| m.applied_at.is_none()));
    store.migrate().unwrap();
    assert_eq!(schema(&opts.path), first);
}

#[tokio::test]
async fn same_audio_twice_is_a_duplicate_not_a_second_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let first = store.create_song(new_song(7, "a"), "test").await.unwrap();
    let err = store.create_song(new_song(7, "b"), "test").await.unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateAudio { existing_id, .. } if existing_id == first.id),
        "{err}"
    );
    assert_eq!(store.list_songs(SongQuery { limit: 10, ..Default::default() }).await.unwrap().len(), 1);
}

#[tokio::test]
async fn artist_spellings_resolve_to_one_artist() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let a = store.create_song(new_song(2, "a"), "t").await.unwrap();
    let mut other = new_song(4, "b");
    other.metadata.artist = "  sinn   SISAMOUTH ".into();
    let b = store.create_song(other, "t").await.unwrap();
    assert_eq!(a.artist.id, b.artist.id);
    let km = store.create_song(new_song(1, "c"), "t").await.unwrap();
    assert_eq!(km.artist.name_km.as_deref(), Some("រស់ សេរីសុទ្ធា"));
    assert_eq!(km.artist.name_latin, None);
}

#[tokio::test]
async fn status_changes_follow_the_lifecycle_and_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let song = store.create_song(new_song(1, "a"), "t").await.unwrap();
    assert_eq!(song.status, SongStatus::Pending);
    let err = store.set_song_status(song.id, SongStatus::Published, "t", None).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidState(_)), "{err}");
    let moved = store.set_song_status(song.id, SongStatus::Processing, "worker", None).await.unwrap();
    assert_eq!(moved.status, SongStatus::Processing);
    let kinds: Vec<_> = store.song_events(song.id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["song.created", "song.status_changed"]);
}

#[test]
fn the_event_log_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    store.write(|c| Ok(c.execute("INSERT INTO events (actor, kind) VALUES ('t', 'x')", [])?)).unwrap();
    for sql in ["UPDATE events SET actor = 'mallory'", "DELETE FROM events"] {
        let err = store.write(move |c| Ok(c.execute(sql, [])?)).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}

#[test]
fn one_failing_write_does_not_spoil_the_writes_committed_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..50u32 {
                    let result = store.write(move |c| {
                        c.execute("INSERT INTO jobs (kind, priority) VALUES ('k', ?1)", [t * 100 + i])?;
                        if i.is_multiple_of(10) {
                            // A constraint failure after a successful insert: only this write rolls back.
                            c.execute("INSERT INTO jobs (kind, max_attempts) VALUES ('k', 99)", [])?;
                        }
                        Ok(())
                    });
                    assert_eq!(result.is_err(), i.is_multiple_of(10));
                }
            });
        }
    });
    let count: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))?)).unwrap();
    assert_eq!(count, 8 * 45);
}

#[test]
fn a_database_locked_by_another_process_gives_a_clear_error_after_retrying() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let store = SqliteStore::open_migrated(&opts).unwrap();
    let other = Connection::open(&opts.path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.write(|c| Ok(c.execute("INSERT INTO jobs (kind) VALUES ('k')", [])?)).unwrap_err();
    assert!(matches!(err, StoreError::Locked { attempts: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("locked by another process"), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    store.write(|c| Ok(c.execute("INSERT INTO jobs (kind) VALUES ('k')", [])?)).unwrap();
}

#[tokio::test]
async fn restore_accepts_a_backup_and_refuses_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let store = SqliteStore::open_migrated(&opts).unwrap();
    store.create_song(new_song(1, "kept"), "t").await.unwrap();
    let backup = store.backup(Some(dir.path().join("b.db"))).unwrap();
    store.create_song(new_song(2, "after backup"), "t").await.unwrap();

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"definitely not sqlite").unwrap();
    let plain = dir.path().join("plain.db");
    Connection::open(&plain).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    for bad in [&junk, &plain, &dir.path().join("missing.db")] {
        let err = store.restore(bad).unwrap_err();
        assert!(matches!(err, StoreError::NotMoltDatabase(_)), "{bad:?}: {err}");
    }
    assert_eq!(store.list_songs(SongQuery { limit: 10, ..Default::default() }).await.unwrap().len(), 2);

    let (saved, _) = store.restore(&backup).unwrap();
    let titles: Vec<_> = store
        .list_songs(SongQuery { limit: 10, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.title)
        .collect();
    assert_eq!(titles, ["kept"]);
    assert_eq!(dump(&saved, &["songs"]).len(), 2, "the replaced database was saved first");
}

#[test]
fn an_edited_migration_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let store = SqliteStore::open_migrated(&opts).unwrap();
    store
        .write(|c| {
            Ok(c.execute("UPDATE _molt_migrations SET checksum = 'x' WHERE version = '20261121000001'", [])?)
        })
        .unwrap();
    assert!(!store.verify().unwrap().ok());
    let err = store.migrate().unwrap_or_else(|e| panic!("no pending, so migrate is a no-op: {e}"));
    assert!(err.versions.is_empty());
    let err = store.rollback(1).unwrap_err();
    assert!(err.to_string().contains("changed after it was applied"), "{err}");
}
