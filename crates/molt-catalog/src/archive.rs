//! Reversible song archiving (issue 8 "Archiving"): a PUBLISHED song becomes
//! ARCHIVED and its files (audio under `assets/audio_in/`, cover art under
//! `assets/art/`) move to `<data>/archive/`, keeping their layout; unarchiving
//! is the reverse.
//!
//! Crash safety, in three steps:
//! 1. **copy** each file to its new place (temp file, fsync, rename, then the
//!    directory fsynced); an existing copy is kept only if its SHA-256 matches;
//! 2. **commit** one store transaction: the asset rows' paths, the status
//!    (through the store's one status-changing function, which records
//!    `song.status_changed`) and a `song.archived`/`song.unarchived` event;
//! 3. **clean up**: delete the old copies no other song still needs.
//!
//! A crash before 2 leaves the old state plus a harmless extra copy; after 2,
//! the new state plus a harmless leftover. No row ever points at a missing
//! file, because a row moves only after its new file is durable, and a file is
//! deleted only when no row (and no other song in that state) names it.
//! Running the same command again completes an interrupted run.

use molt_core::SongStatus;
use molt_store::archive::{
    archived_path, live_path, ArchiveChange, ArchiveStore, FileKind, SongFile, SongFiles,
};
use molt_store::StoreError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Why an archive or unarchive did not happen. Each carries a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("song {0} not found")]
    NotFound(i64),
    #[error("song {id} is {status}, not published: only a published song can be archived")]
    NotPublished { id: i64, status: SongStatus },
    #[error("song {id} is {status}, not archived: only an archived song can be unarchived")]
    NotArchived { id: i64, status: SongStatus },
    #[error(
        "song {id}'s file {path} is missing (neither it nor its copy at {other} exists); nothing was changed"
    )]
    MissingFile { id: i64, path: String, other: String },
    #[error("{path} does not match its SHA-256 ({expected}); nothing was changed")]
    Corrupt { path: String, expected: String },
    #[error("could not move the files: {0}")]
    Io(String),
    /// A stored path that is not a plain relative path under `assets/`: the
    /// row was tampered with or corrupted, and no file is touched.
    #[error("song {id}'s stored path {path:?} is not a file under assets/; nothing was changed")]
    BadPath { id: i64, path: String },
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A test stopped the run after a step (see [`Archiver::interrupt_after`]).
    #[error("interrupted after the {0:?} step")]
    Interrupted(Step),
}

impl ArchiveError {
    pub fn code(&self) -> &'static str {
        match self {
            ArchiveError::NotFound(_) => "not_found",
            ArchiveError::NotPublished { .. } => "not_published",
            ArchiveError::NotArchived { .. } => "not_archived",
            ArchiveError::MissingFile { .. } => "missing_file",
            ArchiveError::Corrupt { .. } => "corrupt_file",
            ArchiveError::Io(_) => "io_error",
            ArchiveError::BadPath { .. } => "bad_path",
            ArchiveError::Store(StoreError::Locked { .. }) => "database_locked",
            ArchiveError::Store(StoreError::InvalidState(_)) => "invalid_state",
            ArchiveError::Store(_) => "store_error",
            ArchiveError::Interrupted(_) => "interrupted",
        }
    }
}

impl From<std::io::Error> for ArchiveError {
    fn from(e: std::io::Error) -> Self {
        ArchiveError::Io(e.to_string())
    }
}

/// The steps of a run, for fault injection in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Copy,
    Commit,
}

/// One file a run moved (paths relative to the data directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MovedFile {
    pub kind: FileKind,
    pub from: String,
    pub to: String,
    pub bytes: u64,
    /// The old copy stays: another song still uses it there.
    pub kept: bool,
}

/// What `archive` or `unarchive` did.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    pub song_id: i64,
    pub title: String,
    /// The song's status now.
    pub status: SongStatus,
    /// `archived` or `unarchived`.
    pub action: &'static str,
    pub files: Vec<MovedFile>,
    /// The status had already changed (an interrupted run): this run only
    /// removed what was left over.
    pub resumed: bool,
}

/// One archive or unarchive at a time in a process, so two runs never race
/// over a file two songs share.
static RUNS: Mutex<()> = Mutex::new(());

/// The archiving service. Blocking (file copies and store calls): call it
/// from `spawn_blocking` in async code.
pub struct Archiver {
    store: Arc<dyn ArchiveStore>,
    data_dir: PathBuf,
    interrupt: Option<Step>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Archive,
    Unarchive,
}

impl Direction {
    /// (where the file is, where it goes) for a song's file.
    fn paths(self, file: &SongFile) -> (String, String) {
        let archived = archived_path(&file.live_path);
        match self {
            Direction::Archive => (file.live_path.clone(), archived),
            Direction::Unarchive => (archived, file.live_path.clone()),
        }
    }

    /// Another song needs the file where it was.
    fn needed_at_source(self, file: &SongFile) -> bool {
        match self {
            Direction::Archive => file.shared_live,
            Direction::Unarchive => file.shared_archived,
        }
    }
}

impl Archiver {
    pub fn new(store: Arc<dyn ArchiveStore>, data_dir: impl Into<PathBuf>) -> Archiver {
        Archiver { store, data_dir: data_dir.into(), interrupt: None }
    }

    /// Tests: stop every run right after `step`, as a crash there would.
    #[doc(hidden)]
    pub fn interrupt_after(mut self, step: Step) -> Archiver {
        self.interrupt = Some(step);
        self
    }

    /// PUBLISHED → ARCHIVED, its files moved under `archive/`.
    pub fn archive(&self, song_id: i64, actor: &str) -> Result<ArchiveReport, ArchiveError> {
        self.run(song_id, actor, Direction::Archive)
    }

    /// ARCHIVED → PUBLISHED, its files moved back under `assets/`.
    pub fn unarchive(&self, song_id: i64, actor: &str) -> Result<ArchiveReport, ArchiveError> {
        self.run(song_id, actor, Direction::Unarchive)
    }

    fn run(&self, song_id: i64, actor: &str, dir: Direction) -> Result<ArchiveReport, ArchiveError> {
        let _one_at_a_time = RUNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let SongFiles { song, files } = self.song_files(song_id)?;
        let (from, to) = match dir {
            Direction::Archive => (SongStatus::Published, SongStatus::Archived),
            Direction::Unarchive => (SongStatus::Archived, SongStatus::Published),
        };
        let action = if dir == Direction::Archive { "archived" } else { "unarchived" };
        let report = |status, files, resumed| ArchiveReport {
            song_id,
            title: song.title.clone(),
            status,
            action,
            files,
            resumed,
        };
        if song.status == to {
            // Done before, maybe interrupted before its clean-up: finish that.
            let moved = self.clean_up(song_id, dir)?;
            if moved.is_empty() {
                return Err(match dir {
                    Direction::Archive => ArchiveError::NotPublished { id: song_id, status: song.status },
                    Direction::Unarchive => ArchiveError::NotArchived { id: song_id, status: song.status },
                });
            }
            return Ok(report(to, moved, true));
        }
        if song.status != from {
            return Err(match dir {
                Direction::Archive => ArchiveError::NotPublished { id: song_id, status: song.status },
                Direction::Unarchive => ArchiveError::NotArchived { id: song_id, status: song.status },
            });
        }

        // 1. Copy.
        let mut moved = Vec::with_capacity(files.len());
        for file in &files {
            let (src, dst) = dir.paths(file);
            let bytes = self.copy_verified(song_id, file, &src, &dst).map_err(|e| match e {
                ArchiveError::Io(message) => ArchiveError::Io(format!("{src} → {dst}: {message}")),
                other => other,
            })?;
            moved.push(MovedFile {
                kind: file.kind,
                from: src,
                to: dst,
                bytes,
                kept: dir.needed_at_source(file),
            });
        }
        self.maybe_interrupt(Step::Copy)?;

        // 2. Commit: rows follow their files (a row shared with a song staying
        // live keeps pointing at the original, which is then kept).
        let asset_paths = files
            .iter()
            .zip(&moved)
            .filter_map(|(file, m)| {
                let (id, current) = file.asset.as_ref()?;
                let keep_live = dir == Direction::Archive && file.shared_live;
                let target = if keep_live { file.live_path.clone() } else { m.to.clone() };
                (*current != target).then_some((*id, target))
            })
            .collect();
        let change = ArchiveChange {
            song_id,
            archive: dir == Direction::Archive,
            actor: actor.to_string(),
            asset_paths,
            files: moved.iter().map(|m| m.to.clone()).collect(),
        };
        let song = self.store.commit_archive(change).map_err(|e| match e {
            StoreError::InvalidState(_) => match dir {
                Direction::Archive => ArchiveError::NotPublished { id: song_id, status: song.status },
                Direction::Unarchive => ArchiveError::NotArchived { id: song_id, status: song.status },
            },
            other => other.into(),
        })?;
        self.maybe_interrupt(Step::Commit)?;

        // 3. Clean up.
        self.clean_up(song_id, dir)?;
        Ok(report(song.status, moved, false))
    }

    fn maybe_interrupt(&self, step: Step) -> Result<(), ArchiveError> {
        match self.interrupt {
            Some(at) if at == step => Err(ArchiveError::Interrupted(step)),
            _ => Ok(()),
        }
    }

    /// Deletes the old copies of the song's files (the song is now in its new
    /// status) that exist, whose new copy exists, that no row names and that
    /// no other song needs there. Returns what it removed.
    fn clean_up(&self, song_id: i64, dir: Direction) -> Result<Vec<MovedFile>, ArchiveError> {
        let SongFiles { files, .. } = self.song_files(song_id)?;
        let mut removed = Vec::new();
        for file in &files {
            let (src, dst) = dir.paths(file);
            let named_by_row = file.asset.as_ref().is_some_and(|(_, path)| *path == src);
            if named_by_row || dir.needed_at_source(file) {
                continue;
            }
            let (src_abs, dst_abs) = (self.data_dir.join(&src), self.data_dir.join(&dst));
            let Ok(meta) = std::fs::metadata(&src_abs) else { continue };
            // Only a verified new copy lets the old one go.
            if matching(&dst_abs, &file.sha256)?.is_none() {
                continue;
            }
            std::fs::remove_file(&src_abs).map_err(|e| io_at(&src, e))?;
            sync_dir(src_abs.parent());
            removed.push(MovedFile { kind: file.kind, from: src, to: dst, bytes: meta.len(), kept: false });
        }
        Ok(removed)
    }

    /// The song and its files, every stored path checked: relative, plain
    /// components only, under `assets/audio_in/` or `assets/art/`.
    fn song_files(&self, song_id: i64) -> Result<SongFiles, ArchiveError> {
        let found = self.store.song_files(song_id)?.ok_or(ArchiveError::NotFound(song_id))?;
        for file in &found.files {
            let stored = file.asset.as_ref().map(|(_, path)| path.as_str());
            for path in std::iter::once(file.live_path.as_str()).chain(stored) {
                if !plain_asset_path(live_path(path)) {
                    return Err(ArchiveError::BadPath { id: song_id, path: path.to_string() });
                }
            }
        }
        Ok(found)
    }

    /// Makes `dst` a durable copy of `src` whose SHA-256 is the file's; an
    /// existing good copy is kept. Returns its size.
    fn copy_verified(
        &self,
        song_id: i64,
        file: &SongFile,
        src: &str,
        dst: &str,
    ) -> Result<u64, ArchiveError> {
        let (src_abs, dst_abs) = (self.data_dir.join(src), self.data_dir.join(dst));
        if let Some(bytes) = matching(&dst_abs, &file.sha256)? {
            // A crashed run may have renamed it without syncing its directory.
            sync_dir(dst_abs.parent());
            return Ok(bytes);
        }
        let mut input = match std::fs::File::open(&src_abs) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArchiveError::MissingFile {
                    id: song_id,
                    path: src.to_string(),
                    other: dst.to_string(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let parent = dst_abs.parent().expect("an asset path has a parent");
        std::fs::create_dir_all(parent)?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
            bytes += n as u64;
        }
        if hex::encode(hasher.finalize()) != file.sha256 {
            return Err(ArchiveError::Corrupt { path: src.to_string(), expected: file.sha256.clone() });
        }
        tmp.as_file().sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        tmp.persist(&dst_abs).map_err(|e| ArchiveError::Io(e.error.to_string()))?;
        sync_dir(Some(parent));
        Ok(bytes)
    }
}

/// A relative path of plain components under one of the asset directories.
fn plain_asset_path(path: &str) -> bool {
    let under_assets = ["assets/audio_in/", "assets/art/"].iter().any(|dir| path.starts_with(dir));
    let plain = |part: &str| !matches!(part, "" | "." | "..") && !part.contains('\\');
    under_assets && path.split('/').all(plain)
}

fn io_at(path: &str, e: std::io::Error) -> ArchiveError {
    ArchiveError::Io(format!("{path}: {e}"))
}

/// The size of `path` if it exists and hashes to `sha256`.
fn matching(path: &Path, sha256: &str) -> Result<Option<u64>, ArchiveError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()) == sha256).then_some(bytes))
}

/// A rename or delete is durable once its directory is synced (best effort
/// where directories cannot be opened).
fn sync_dir(dir: Option<&Path>) {
    if let Some(dir) = dir {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
