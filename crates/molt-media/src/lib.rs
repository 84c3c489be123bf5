//! Audio upload validation.
//!
//! Uploaded files are checked by *content*, never by name: the container is identified
//! from its signature bytes, opened with [symphonia], and a few packets are actually
//! decoded so a file with a plausible header but garbage data is refused. The result
//! describes what the file really is ([`AudioInfo`]) or says precisely why it was
//! rejected ([`AudioError`], with a stable [`AudioError::code`]).
//!
//! Accepted: WAV, MP3, FLAC, Ogg Vorbis and M4A/AAC.

mod codec;
mod decode;
mod error;
mod format;
mod inspect;
mod mp4;
mod read;
mod sniff;
pub mod testing;
mod wav;

use std::fs::File;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

pub use decode::{decode_mono_16k, DecodedAudio, TARGET_RATE};

pub use error::AudioError;
pub use format::AudioFormat;

/// Bounds an upload must respect; checked before and after decoding respectively.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioLimits {
    /// Largest accepted file, in bytes; larger files are refused without being read.
    pub max_bytes: u64,
    /// Shortest accepted duration, in seconds.
    pub min_duration_secs: f64,
    /// Longest accepted duration, in seconds.
    pub max_duration_secs: f64,
}

impl Default for AudioLimits {
    /// 200 MiB, 1 s to 1 h: room for an hour of lossless mono speech, nothing silly.
    fn default() -> Self {
        Self { max_bytes: 200 * 1024 * 1024, min_duration_secs: 1.0, max_duration_secs: 3600.0 }
    }
}

/// What an accepted file turned out to contain.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AudioInfo {
    /// Container identified from the content.
    pub format: AudioFormat,
    /// Symphonia's short codec name, e.g. `"pcm_s16le"`, `"mp3"`, `"flac"`, `"vorbis"`, `"aac"`.
    pub codec: String,
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Number of audio channels.
    pub channels: u16,
    /// Length of the audio in seconds.
    pub duration_secs: f64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// Validates the audio file at `path` against `limits` and describes it.
///
/// Order: size (from metadata, without reading), content signature, container parse,
/// trial decode of the first packets, duration. The path never appears in errors.
pub fn probe_file(path: &Path, limits: &AudioLimits) -> Result<AudioInfo, AudioError> {
    let mut file = File::open(path)?;
    let bytes = regular_file_len(&file)?;
    check_size(bytes, limits)?;
    let sniffed = sniff::sniff(&mut file, bytes)?;
    let stream = inspect_guarded(file, sniffed, bytes)?;
    check_duration(stream.duration_secs, limits)?;
    Ok(AudioInfo {
        format: sniffed.format,
        codec: stream.codec,
        sample_rate: stream.sample_rate,
        channels: stream.channels,
        duration_secs: stream.duration_secs,
        bytes,
    })
}

/// Refuse a file whose name claims an audio format its content is not
/// (`song.mp3` holding FLAC). Names without an audio extension claim nothing.
pub fn check_claim(file_name: &str, info: &AudioInfo) -> Result<(), AudioError> {
    match AudioFormat::claimed_by_name(file_name) {
        Some(claimed) if claimed != info.format => {
            Err(AudioError::TypeMismatch { claimed, actual: info.format })
        }
        _ => Ok(()),
    }
}

/// Runs the symphonia stage, turning a panic inside symphonia into a rejection.
///
/// Symphonia 0.5 still has arithmetic panics on some malformed files (e.g. MP4 sample
/// tables); hostile uploads must not unwind through the caller's request handler.
fn inspect_guarded(
    file: File,
    sniffed: sniff::Sniffed,
    bytes: u64,
) -> Result<inspect::StreamInfo, AudioError> {
    panic::catch_unwind(AssertUnwindSafe(|| inspect::inspect(file, sniffed, bytes))).unwrap_or_else(|_| {
        Err(AudioError::Undecodable {
            format: sniffed.format,
            detail: "the data is malformed (the decoder failed on it)".to_owned(),
        })
    })
}

/// The file's length, refusing directories and other non-files up front.
fn regular_file_len(file: &File) -> Result<u64, AudioError> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        let err = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
        return Err(AudioError::Io(err));
    }
    Ok(meta.len())
}

/// Refuses empty and oversized files before any content is read.
fn check_size(bytes: u64, limits: &AudioLimits) -> Result<(), AudioError> {
    if bytes == 0 {
        return Err(AudioError::Empty);
    }
    if bytes > limits.max_bytes {
        return Err(AudioError::TooLarge { bytes, max: limits.max_bytes });
    }
    Ok(())
}

/// Applies the duration bounds.
fn check_duration(secs: f64, limits: &AudioLimits) -> Result<(), AudioError> {
    if secs < limits.min_duration_secs {
        return Err(AudioError::TooShort { secs, min: limits.min_duration_secs });
    }
    if secs > limits.max_duration_secs {
        return Err(AudioError::TooLong { secs, max: limits.max_duration_secs });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits() {
        let l = AudioLimits::default();
        assert_eq!(l.max_bytes, 209_715_200);
        assert_eq!(l.min_duration_secs, 1.0);
        assert_eq!(l.max_duration_secs, 3600.0);
    }

    #[test]
    fn duration_bounds_are_inclusive() {
        let l = AudioLimits::default();
        assert!(check_duration(1.0, &l).is_ok());
        assert!(check_duration(3600.0, &l).is_ok());
        assert_eq!(check_duration(0.5, &l).unwrap_err().code(), "audio_too_short");
        assert_eq!(check_duration(3600.5, &l).unwrap_err().code(), "audio_too_long");
    }

    #[test]
    fn format_extensions_and_mimes() {
        let ext: Vec<_> = AudioFormat::ALL.iter().map(|f| f.extension()).collect();
        assert_eq!(ext, ["wav", "mp3", "flac", "ogg", "m4a"]);
        assert_eq!(AudioFormat::Mp3.mime(), "audio/mpeg");
        assert_eq!(AudioFormat::M4a.mime(), "audio/mp4");
    }
}
