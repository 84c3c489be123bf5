//! Lyrics export and import, shared by the CLI and the HTTP API.

use molt_core::catalog::{LyricsSource, LyricsVersion, NewLyrics};
use molt_lyrics::{Format, Lyrics};
use molt_store::{Database, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LyricsError {
    #[error("song {0} has no lyrics yet")]
    NoLyrics(i64),
    #[error("song {song} has no lyrics version {version}")]
    NoVersion { song: i64, version: u32 },
    #[error("{0}")]
    Format(String),
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl LyricsError {
    pub fn code(&self) -> &'static str {
        match self {
            LyricsError::NoLyrics(_) | LyricsError::NoVersion { .. } => "no_lyrics",
            LyricsError::Format(_) => "unsupported_format",
            LyricsError::Parse(_) => "invalid_lyrics",
            LyricsError::Store(StoreError::NotFound { .. }) => "not_found",
            LyricsError::Store(_) => "store_error",
        }
    }
}

pub fn parse_format(name: &str) -> Result<Format, LyricsError> {
    name.parse::<Format>().map_err(|e| LyricsError::Format(e.to_string()))
}

/// The media type of an exported document.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Lrc | Format::Elrc | Format::Txt => "text/plain; charset=utf-8",
        Format::Srt => "application/x-subrip; charset=utf-8",
        Format::Vtt => "text/vtt; charset=utf-8",
        Format::Ttml => "application/ttml+xml; charset=utf-8",
        Format::Json => "application/json",
    }
}

/// A stored version as timed lyrics (or untimed lines when it has no timings).
pub fn to_lyrics(version: &LyricsVersion) -> Lyrics {
    if let Some(timed) = version.timed.as_ref().and_then(|t| serde_json::from_value::<Lyrics>(t.clone()).ok())
    {
        return timed;
    }
    let lines =
        version.text.lines().map(|text| molt_lyrics::Line { text: text.to_string(), ..Default::default() });
    Lyrics { language: version.language.clone(), lines: lines.collect() }
}

/// Export a version (the newest when `version` is `None`).
pub async fn export(
    db: &dyn Database,
    song_id: i64,
    version: Option<u32>,
    format: Format,
) -> Result<String, LyricsError> {
    let found = db.lyrics(song_id, version).await?.ok_or(match version {
        Some(version) => LyricsError::NoVersion { song: song_id, version },
        None => LyricsError::NoLyrics(song_id),
    })?;
    molt_lyrics::export(&to_lyrics(&found), format).map_err(|e| LyricsError::Format(e.to_string()))
}

/// Import a document as a new version written by a person.
pub async fn import(
    db: &dyn Database,
    song_id: i64,
    bytes: &[u8],
    format: Format,
    author: &str,
) -> Result<LyricsVersion, LyricsError> {
    let lyrics = molt_lyrics::import_bytes(bytes, format).map_err(|e| LyricsError::Parse(e.to_string()))?;
    let text = lyrics.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n");
    let new = NewLyrics {
        text,
        timed: lyrics.is_timed().then(|| serde_json::to_value(&lyrics).ok()).flatten(),
        source: LyricsSource::Human,
        author: author.to_string(),
        model: None,
        language: lyrics.language.clone(),
        confidence: None,
    };
    Ok(db.add_lyrics(song_id, new, author).await?)
}
