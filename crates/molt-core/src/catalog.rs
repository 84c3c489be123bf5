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

/// Where a lyrics version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LyricsSource {
    /// Speech recognition.
    Asr,
    /// Typed or corrected by a person.
    Human,
    /// Imported from a file.
    Import,
}

impl LyricsSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LyricsSource::Asr => "asr",
            LyricsSource::Human => "human",
            LyricsSource::Import => "import",
        }
    }
}

impl std::str::FromStr for LyricsSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [LyricsSource::Asr, LyricsSource::Human, LyricsSource::Import]
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown lyrics source `{s}`"))
    }
}

/// A new lyrics version; versions are never edited, only added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewLyrics {
    /// Plain text, one line per lyric line.
    pub text: String,
    /// Timed lyrics (molt-lyrics JSON), when there are timings.
    pub timed: Option<serde_json::Value>,
    pub source: LyricsSource,
    pub author: String,
    pub model: Option<String>,
    pub language: Option<String>,
    pub confidence: Option<f64>,
}

/// A stored lyrics version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LyricsVersion {
    pub song_id: i64,
    pub version: u32,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub timed: Option<serde_json::Value>,
    pub source: LyricsSource,
    pub author: String,
    pub model: Option<String>,
    pub language: Option<String>,
    pub confidence: Option<f64>,
    pub created_at: String,
}

/// Rights statuses a song may have (the `songs.rights_status` column).
pub const RIGHTS_STATUSES: [&str; 5] = ["unknown", "family_held", "protected", "public_domain", "licensed"];

/// Whether publishing a song with this rights status needs an explicit,
/// recorded override: a protected work, or one whose rights nobody has checked.
pub fn rights_need_override(rights_status: &str) -> bool {
    matches!(rights_status, "protected" | "unknown")
}

/// A rights status as given by a user: one of [`RIGHTS_STATUSES`].
pub fn parse_rights(value: &str) -> Result<&'static str, String> {
    let v = value.trim().to_ascii_lowercase().replace('-', "_");
    RIGHTS_STATUSES
        .into_iter()
        .find(|s| *s == v)
        .ok_or_else(|| format!("`{value}` is not a rights status ({})", RIGHTS_STATUSES.join(", ")))
}

#[cfg(test)]
mod rights_tests {
    use super::*;

    #[test]
    fn protected_and_unknown_works_need_an_override() {
        assert!(rights_need_override("protected") && rights_need_override("unknown"));
        for free in ["family_held", "public_domain", "licensed"] {
            assert!(!rights_need_override(free), "{free}");
        }
        assert_eq!(parse_rights("Public-Domain"), Ok("public_domain"));
        assert!(parse_rights("mine").unwrap_err().contains("family_held"));
    }
}
