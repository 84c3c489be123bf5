//! Catalogue records as the store returns them and the interfaces show them.

use crate::song::{SongStatus, Stage};
use crate::validate::SongMetadata;
use crate::Role;
use serde::Serialize;

/// A song as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Song {
    pub id: i64,
    pub title: String,
    pub title_latin: Option<String>,
    pub artist: ArtistRef,
    pub composer: Option<String>,
    pub lyricist: Option<String>,
    pub year: Option<u32>,
    pub album: Option<String>,
    pub language: Option<String>,
    pub isrc: Option<String>,
    pub duration_secs: Option<f64>,
    pub audio_sha256: String,
    pub audio_mime: String,
    pub audio_bytes: u64,
    pub rights_status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: SongStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub current_stage: Option<Stage>,
    /// Why the song is FAILED or needs a human, when it is.
    pub failure_reason: Option<String>,
    pub cost_micro_usd: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// The artist as shown with a song.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtistRef {
    pub id: i64,
    pub name_km: Option<String>,
    pub name_latin: Option<String>,
}

/// The audio file of a new song, already validated and stored under the data
/// directory at `relative_path`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAudio {
    pub sha256: String,
    pub relative_path: String,
    pub mime: String,
    pub bytes: u64,
    pub duration_secs: f64,
}

/// Everything needed to create a song row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSong {
    pub metadata: SongMetadata,
    pub audio: StoredAudio,
}

/// Which songs to list.
#[derive(Debug, Clone, Default)]
pub struct SongQuery {
    pub status: Option<SongStatus>,
    /// Start after this id (keyset pagination).
    pub after_id: Option<i64>,
    pub limit: u32,
}

/// An API token as listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: Role,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// An entry of the append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub song_id: Option<i64>,
    pub details: serde_json::Value,
}
