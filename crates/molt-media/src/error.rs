//! Validation failures, worded for API users.
//!
//! Messages never contain the file's path: uploads live in server-side temporary
//! locations that mean nothing to (and should not be revealed to) the client.

use crate::AudioFormat;

/// The formats named whenever content is rejected, so users know what to send instead.
pub(crate) const SUPPORTED_LIST: &str = "WAV, MP3, FLAC, Ogg Vorbis and M4A/AAC";

/// Why an audio file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file has no bytes at all.
    #[error("the file is empty (0 bytes)")]
    Empty,

    /// The file is bigger than [`AudioLimits::max_bytes`](crate::AudioLimits::max_bytes).
    #[error("the file is {} but the maximum allowed is {}", human_bytes(*.bytes), human_bytes(*.max))]
    TooLarge {
        /// Size of the file in bytes.
        bytes: u64,
        /// The configured limit in bytes.
        max: u64,
    },

    /// The content is not one of the accepted formats (or uses a codec we cannot decode).
    #[error(
        "the content is not a supported audio format ({detail}); supported formats are {SUPPORTED_LIST}"
    )]
    UnrecognisedFormat {
        /// What was found instead, e.g. "it appears to be plain text".
        detail: String,
    },

    /// The content identifies as an accepted format but its data is broken.
    #[error("the file looks like {format} audio but could not be decoded: {detail}")]
    Undecodable {
        /// The format the content identified as.
        format: AudioFormat,
        /// What went wrong, e.g. "the file ends unexpectedly (it may be truncated)".
        detail: String,
    },

    /// The container holds no track with an audio codec.
    #[error("the file contains no audio track")]
    NoAudioTrack,

    /// Shorter than [`AudioLimits::min_duration_secs`](crate::AudioLimits::min_duration_secs).
    #[error("the audio is {secs:.2} s long but the minimum is {min} s")]
    TooShort {
        /// Measured duration in seconds.
        secs: f64,
        /// The configured minimum in seconds.
        min: f64,
    },

    /// Longer than [`AudioLimits::max_duration_secs`](crate::AudioLimits::max_duration_secs).
    #[error("the audio is {secs:.2} s long but the maximum is {max} s")]
    TooLong {
        /// Measured duration in seconds.
        secs: f64,
        /// The configured maximum in seconds.
        max: f64,
    },

    /// The audio is silent: nothing to transcribe.
    #[error("the audio is silent (peak level {peak_dbfs:.0} dBFS); nothing to transcribe")]
    Silent {
        /// The loudest sample, in dB relative to full scale.
        peak_dbfs: f64,
    },

    /// The file's name claims one format and its content is another.
    #[error("the file is named as {claimed} but contains {actual} audio")]
    TypeMismatch {
        /// The format the name claims.
        claimed: AudioFormat,
        /// The format the content is.
        actual: AudioFormat,
    },

    /// The file could not be read (std I/O errors carry no path, so this stays path-free).
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
}

impl AudioError {
    /// A stable machine-readable code so API clients can branch without parsing messages.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "audio_empty",
            Self::Silent { .. } => "audio_silent",
            Self::TypeMismatch { .. } => "audio_type_mismatch",
            Self::TooLarge { .. } => "audio_too_large",
            Self::UnrecognisedFormat { .. } => "audio_unrecognised_format",
            Self::Undecodable { .. } => "audio_undecodable",
            Self::NoAudioTrack => "audio_no_audio_track",
            Self::TooShort { .. } => "audio_too_short",
            Self::TooLong { .. } => "audio_too_long",
            Self::Io(_) => "io",
        }
    }

    /// Shorthand used by the sniffing and decoding stages.
    pub(crate) fn unrecognised(detail: impl Into<String>) -> Self {
        Self::UnrecognisedFormat { detail: detail.into() }
    }

    /// Shorthand used by the decoding stage.
    pub(crate) fn undecodable(format: AudioFormat, detail: impl Into<String>) -> Self {
        Self::Undecodable { format, detail: detail.into() }
    }
}

/// Renders a byte count the way a person would read it, keeping the exact count too.
fn human_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes < 1024 * 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} MiB ({bytes} bytes)", bytes as f64 / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_keeps_small_counts_exact() {
        assert_eq!(human_bytes(10), "10 bytes");
        assert_eq!(human_bytes(200 * 1024 * 1024), "200.0 MiB (209715200 bytes)");
    }

    #[test]
    fn too_large_message_is_readable() {
        let e = AudioError::TooLarge { bytes: 2048, max: 1024 };
        assert_eq!(e.to_string(), "the file is 2048 bytes but the maximum allowed is 1024 bytes");
    }
}
