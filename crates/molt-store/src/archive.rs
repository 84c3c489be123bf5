//! Song archiving (issue 8 "Archiving"): which files a song owns, and the one
//! transaction that moves its asset rows and its status together. The files
//! themselves are moved by molt-catalog's `archive` service around that
//! transaction.

use molt_core::catalog::Song;
use serde::Serialize;

/// Archived files keep their layout under this directory of the data directory:
/// `assets/audio_in/<sha256>.<ext>` becomes `archive/assets/audio_in/<sha256>.<ext>`.
pub const ARCHIVE_DIR: &str = "archive";

/// Where a live file goes when its song is archived (both relative to the data directory).
pub fn archived_path(live_path: &str) -> String {
    format!("{ARCHIVE_DIR}/{}", live_path.trim_start_matches('/'))
}

/// The live path of a stored path, archived or not.
pub fn live_path(stored: &str) -> &str {
    stored.strip_prefix(ARCHIVE_DIR).and_then(|p| p.strip_prefix('/')).unwrap_or(stored)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Audio,
    Art,
}

/// One file a song uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SongFile {
    pub kind: FileKind,
    /// Where it is while the song is live, relative to the data directory
    /// (`assets/audio_in/…`, `assets/art/…`).
    pub live_path: String,
    pub sha256: String,
    /// The audio's `assets` row and the path it holds now (art has no row:
    /// its stage output names it by hash and type).
    pub asset: Option<(i64, String)>,
    /// Another song that is not archived uses the same file.
    pub shared_live: bool,
    /// Another, archived song uses the same file.
    pub shared_archived: bool,
}

/// A song and its files, read in one transaction.
#[derive(Debug, Clone)]
pub struct SongFiles {
    pub song: Song,
    pub files: Vec<SongFile>,
}

/// What [`ArchiveStore::commit_archive`] writes.
#[derive(Debug, Clone)]
pub struct ArchiveChange {
    pub song_id: i64,
    /// PUBLISHED → ARCHIVED when true, ARCHIVED → PUBLISHED when false.
    pub archive: bool,
    pub actor: String,
    /// `assets` rows and their new paths.
    pub asset_paths: Vec<(i64, String)>,
    /// The files moved (their new paths), for the event.
    pub files: Vec<String>,
}

/// The store's part of archiving. Blocking, like the operational stores.
pub trait ArchiveStore: Send + Sync {
    /// `None` when there is no such song.
    fn song_files(&self, song_id: i64) -> crate::StoreResult<Option<SongFiles>>;
    /// One transaction: the asset rows' paths, the status change (through the
    /// one status-changing function, which records `song.status_changed`) and
    /// a `song.archived` / `song.unarchived` event. A song not in the expected
    /// status is `StoreError::InvalidState`, and nothing is written.
    fn commit_archive(&self, change: ArchiveChange) -> crate::StoreResult<Song>;
}
