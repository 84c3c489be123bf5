//! The audio container formats Molt accepts.

use std::fmt;

/// An accepted audio container, identified from the file's content (never its name).
///
/// Serialises as the lowercase canonical extension (`"wav"`, `"mp3"`, …) so API payloads
/// and stored file names agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    /// RIFF/WAVE.
    Wav,
    /// MPEG-1/2/2.5 Layer III elementary stream (optionally behind ID3v2 tags).
    Mp3,
    /// Native FLAC stream.
    Flac,
    /// Ogg container (Vorbis, or FLAC-in-Ogg).
    Ogg,
    /// ISO base media file (MP4/M4A), typically AAC.
    M4a,
}

impl AudioFormat {
    /// Every accepted format, in the order they are listed to users.
    pub const ALL: [AudioFormat; 5] = [Self::Wav, Self::Mp3, Self::Flac, Self::Ogg, Self::M4a];

    /// The canonical file extension, so stored uploads get a name matching their content.
    /// The format a file name's extension claims, if it names an audio format at all.
    pub fn claimed_by_name(name: &str) -> Option<AudioFormat> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "wav" | "wave" => AudioFormat::Wav,
            "mp3" => AudioFormat::Mp3,
            "flac" => AudioFormat::Flac,
            "ogg" | "oga" => AudioFormat::Ogg,
            "m4a" | "mp4" | "aac" => AudioFormat::M4a,
            _ => return None,
        })
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
            Self::Flac => "flac",
            Self::Ogg => "ogg",
            Self::M4a => "m4a",
        }
    }

    /// The MIME type to serve the file with, chosen from the content rather than the upload.
    pub fn mime(&self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Mp3 => "audio/mpeg",
            Self::Flac => "audio/flac",
            Self::Ogg => "audio/ogg",
            Self::M4a => "audio/mp4",
        }
    }
}

/// The human name used in error messages.
impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wav => "WAV",
            Self::Mp3 => "MP3",
            Self::Flac => "FLAC",
            Self::Ogg => "Ogg",
            Self::M4a => "M4A",
        })
    }
}
