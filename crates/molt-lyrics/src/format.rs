//! The lyrics formats and their names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A lyrics file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// LRC: `[mm:ss.xx]text`, one line per time tag.
    Lrc,
    /// Enhanced LRC (the "A2" extension): LRC with `<mm:ss.xx>` word tags inside a line.
    Elrc,
    /// SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`.
    Srt,
    /// WebVTT: `WEBVTT` header, `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues. Export only.
    Vtt,
    /// TTML (W3C Timed Text Markup Language), with a `<span>` per timed word. Export only.
    Ttml,
    /// Plain text: one line per line, no times.
    Txt,
    /// The model itself, as JSON.
    Json,
}

impl Format {
    /// Every format, in the order they are listed in messages.
    pub const ALL: [Format; 7] =
        [Format::Lrc, Format::Elrc, Format::Srt, Format::Vtt, Format::Ttml, Format::Txt, Format::Json];

    /// The formats [`crate::import`] reads.
    pub const IMPORTABLE: [Format; 5] = [Format::Lrc, Format::Elrc, Format::Srt, Format::Txt, Format::Json];

    /// The lowercase name, as [`FromStr`] accepts it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Lrc => "lrc",
            Format::Elrc => "elrc",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
            Format::Ttml => "ttml",
            Format::Txt => "txt",
            Format::Json => "json",
        }
    }

    /// The usual file extension (without the dot). Enhanced LRC files use `lrc` too.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Elrc => "lrc",
            other => other.name(),
        }
    }

    /// The media type to serve the format with.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Lrc | Format::Elrc | Format::Txt => "text/plain; charset=utf-8",
            Format::Srt => "application/x-subrip; charset=utf-8",
            Format::Vtt => "text/vtt; charset=utf-8",
            Format::Ttml => "application/ttml+xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// Whether the format carries times (exporting it needs timed lyrics).
    pub fn is_timed(self) -> bool {
        !matches!(self, Format::Txt | Format::Json)
    }

    /// Whether [`crate::import`] reads this format.
    pub fn is_importable(self) -> bool {
        Format::IMPORTABLE.contains(&self)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that [`Format::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lyrics format {0:?}; expected one of: lrc, elrc, srt, vtt, ttml, txt, json")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Accepts the names in [`Format::name`], case-insensitively, with an optional leading dot
    /// (`".srt"`), plus the aliases `webvtt` and `text`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        let name = name.strip_prefix('.').unwrap_or(name).to_ascii_lowercase();
        let format = match name.as_str() {
            "lrc" => Format::Lrc,
            "elrc" => Format::Elrc,
            "srt" => Format::Srt,
            "vtt" | "webvtt" => Format::Vtt,
            "ttml" => Format::Ttml,
            "txt" | "text" => Format::Txt,
            "json" => Format::Json,
            _ => return Err(UnknownFormat(s.to_string())),
        };
        Ok(format)
    }
}
