//! Opening the sniffed container with symphonia, decoding a sample and measuring duration.

use std::fs::File;
use std::io::{self, Seek};

use symphonia::core::audio::SignalSpec;
use symphonia::core::codecs::{CodecParameters, Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet};
use symphonia::core::io::{MediaSourceStream, ReadBytes};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::{Hint, Probe};
use symphonia::core::units::TimeBase;
use symphonia::default::formats::{FlacReader, IsoMp4Reader, MpaReader, OggReader, WavReader};

use crate::codec::{codec_label, is_pcm};
use crate::mp4;
use crate::sniff::Sniffed;
use crate::wav::{self, WavLayout};
use crate::{AudioError, AudioFormat};

/// How many packets are decoded to prove the audio data is real, not just the header.
/// Several, because some codecs legitimately produce no output (Vorbis) or fail
/// (MP3 bit reservoir) on the very first packet.
const PROBE_PACKETS: usize = 8;

/// What the stream turned out to contain.
#[derive(Debug, Clone)]
pub(crate) struct StreamInfo {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub duration_secs: f64,
}

/// Opens the `file_bytes`-long `file` as the sniffed format, checks it decodes, and
/// measures it.
pub(crate) fn inspect(mut file: File, sniffed: Sniffed, file_bytes: u64) -> Result<StreamInfo, AudioError> {
    let format = sniffed.format;
    let wav = preflight(&mut file, sniffed, file_bytes)?;
    let mut reader = open_reader(file, sniffed)?;
    let (track_id, params) = audio_track(reader.as_ref())?;
    let mut decoder = make_decoder(format, &params)?;
    let stated = stated_frames(&params, wav, file_bytes);
    let mut walk = Walk::new(track_id, format, stated.is_none());
    walk.run(reader.as_mut(), decoder.as_mut())?;
    walk.verdict()?;
    describe(format, &params, stated.or(walk.total_ts), walk.spec)
}

/// Format-specific header checks that must happen before symphonia sees the file; returns
/// the WAV sample layout when there is one.
fn preflight(file: &mut File, sniffed: Sniffed, file_bytes: u64) -> Result<Option<WavLayout>, AudioError> {
    match sniffed.format {
        AudioFormat::Wav => wav::layout(file, sniffed.offset, file_bytes),
        AudioFormat::M4a => mp4::preflight(file, sniffed.offset, file_bytes).map(|()| None),
        _ => Ok(None),
    }
}

/// The container's stated length, capped for PCM WAV by the samples actually present
/// (see [`wav`] for why the header cannot be trusted there).
fn stated_frames(params: &CodecParameters, wav: Option<WavLayout>, file_bytes: u64) -> Option<u64> {
    let frames = params.n_frames?;
    match wav {
        Some(layout) if is_pcm(params.codec) => Some(frames.min(layout.frames_present(file_bytes))),
        _ => Some(frames),
    }
}

/// Builds a probe that knows only `format`'s reader, so symphonia cannot pick another.
fn probe_for(format: AudioFormat) -> Probe {
    let mut probe = Probe::default();
    match format {
        AudioFormat::Wav => probe.register_all::<WavReader>(),
        AudioFormat::Mp3 => probe.register_all::<MpaReader>(),
        AudioFormat::Flac => probe.register_all::<FlacReader>(),
        AudioFormat::Ogg => probe.register_all::<OggReader>(),
        AudioFormat::M4a => probe.register_all::<IsoMp4Reader>(),
    }
    probe
}

/// Instantiates the container reader, starting after any ID3v2 tags.
///
/// No extension hint is given: identity comes from content alone.
pub(crate) fn open_reader(mut file: File, sniffed: Sniffed) -> Result<Box<dyn FormatReader>, AudioError> {
    let format = sniffed.format;
    // Sniffing moved the cursor; the stream's positions must match the file's.
    file.rewind()?;
    let mut mss = MediaSourceStream::new(Box::new(file), Default::default());
    mss.ignore_bytes(sniffed.offset)?;
    let probed = probe_for(format)
        .format(&Hint::new(), mss, &format_options(), &MetadataOptions::default())
        .map_err(|e| container_error(format, e))?;
    Ok(probed.format)
}

/// Gapless trimming stays off: in symphonia 0.5.5 it subtracts LAME-tag delay and padding
/// unchecked, which panics (or wraps to an absurd length) on crafted MP3s (upstream
/// issue #439). Durations then include encoder padding, a few tens of milliseconds.
fn format_options() -> FormatOptions {
    FormatOptions { enable_gapless: false, ..FormatOptions::default() }
}

/// The first track carrying a real codec, with its parameters.
pub(crate) fn audio_track(reader: &dyn FormatReader) -> Result<(u32, CodecParameters), AudioError> {
    reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .map(|t| (t.id, t.codec_params.clone()))
        .ok_or(AudioError::NoAudioTrack)
}

/// Creates a decoder; a codec symphonia lacks means the content is not a format we accept.
pub(crate) fn make_decoder(
    format: AudioFormat,
    params: &CodecParameters,
) -> Result<Box<dyn Decoder>, AudioError> {
    symphonia::default::get_codecs().make(params, &DecoderOptions::default()).map_err(|e| match e {
        SymError::Unsupported(_) => AudioError::unrecognised(format!(
            "the {format} file contains {} audio, which is not supported",
            codec_label(params.codec)
        )),
        other => AudioError::undecodable(format, symphonia_detail(&other)),
    })
}

/// Maps a failure to open the container to an error a user can act on.
fn container_error(format: AudioFormat, err: SymError) -> AudioError {
    match err {
        SymError::Unsupported(what) => AudioError::unrecognised(format!(
            "the {format} file uses a feature that is not supported ({what})"
        )),
        SymError::IoError(e) if e.kind() != io::ErrorKind::UnexpectedEof => AudioError::Io(e),
        other => AudioError::undecodable(format, symphonia_detail(&other)),
    }
}

/// Phrases a symphonia error for users; its messages never include paths.
pub(crate) fn symphonia_detail(err: &SymError) -> String {
    match err {
        SymError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the file ends unexpectedly (it may be truncated)".to_owned()
        }
        SymError::IoError(e) => format!("read error ({e})"),
        SymError::DecodeError(what) => format!("the data is malformed ({what})"),
        SymError::Unsupported(what) => format!("an unsupported feature is used ({what})"),
        SymError::LimitError(what) => format!("a safety limit was exceeded ({what})"),
        SymError::SeekError(_) | SymError::ResetRequired => "the stream structure is inconsistent".to_owned(),
    }
}

/// Reads the stream: decodes a sample of packets and, when the container does not state
/// the length, sums every packet's duration (demuxing only, no decoding, so it stays cheap).
#[derive(Debug)]
struct Walk {
    track_id: u32,
    format: AudioFormat,
    need_total: bool,
    decoded_ok: usize,
    decode_errors: usize,
    frames: u64,
    spec: Option<SignalSpec>,
    last_error: Option<String>,
    /// Sum of packet durations in the track's time base, if the whole stream was read.
    total_ts: Option<u64>,
}

impl Walk {
    fn new(track_id: u32, format: AudioFormat, need_total: bool) -> Self {
        Self {
            track_id,
            format,
            need_total,
            decoded_ok: 0,
            decode_errors: 0,
            frames: 0,
            spec: None,
            last_error: None,
            total_ts: None,
        }
    }

    /// Reads packets until the sample is decoded and, if needed, the stream is exhausted.
    fn run(&mut self, reader: &mut dyn FormatReader, decoder: &mut dyn Decoder) -> Result<(), AudioError> {
        let mut total_ts = 0u64;
        loop {
            if !self.need_total && self.attempted() >= PROBE_PACKETS {
                return Ok(());
            }
            let packet = match reader.next_packet() {
                Ok(packet) => packet,
                Err(e) if is_end_of_stream(&e) => break,
                Err(e) => return Err(AudioError::undecodable(self.format, symphonia_detail(&e))),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            total_ts = total_ts.saturating_add(packet.dur);
            if self.attempted() < PROBE_PACKETS {
                self.decode(decoder, &packet);
            }
        }
        self.total_ts = Some(total_ts);
        Ok(())
    }

    /// Records the outcome of decoding one packet.
    fn decode(&mut self, decoder: &mut dyn Decoder, packet: &Packet) {
        match decoder.decode(packet) {
            Ok(buf) => {
                self.decoded_ok += 1;
                self.frames += buf.frames() as u64;
                self.spec.get_or_insert(*buf.spec());
            }
            Err(e) => {
                self.decode_errors += 1;
                self.last_error = Some(symphonia_detail(&e));
            }
        }
    }

    fn attempted(&self) -> usize {
        self.decoded_ok + self.decode_errors
    }

    /// Accepts the sample only if real audio came out and most packets decoded.
    fn verdict(&self) -> Result<(), AudioError> {
        let n = self.attempted();
        if n == 0 {
            return Err(AudioError::undecodable(self.format, "no audio data follows the header"));
        }
        let failing = self.decode_errors > self.decoded_ok || self.frames == 0;
        if let Some(why) = self.last_error.as_deref().filter(|_| failing) {
            let failed = self.decode_errors;
            return Err(AudioError::undecodable(
                self.format,
                format!("{failed} of the first {n} audio packets failed to decode: {why}"),
            ));
        }
        if self.frames == 0 {
            return Err(AudioError::undecodable(
                self.format,
                format!("the first {n} audio packets produced no samples"),
            ));
        }
        Ok(())
    }
}

/// Symphonia reports the end of a stream as an EOF I/O error (or a reset for chained Ogg).
pub(crate) fn is_end_of_stream(err: &SymError) -> bool {
    match err {
        SymError::IoError(e) => e.kind() == io::ErrorKind::UnexpectedEof,
        SymError::ResetRequired => true,
        _ => false,
    }
}

/// Assembles the final numbers, preferring container metadata over decoded output.
fn describe(
    format: AudioFormat,
    params: &CodecParameters,
    length_ts: Option<u64>,
    spec: Option<SignalSpec>,
) -> Result<StreamInfo, AudioError> {
    let sample_rate = params
        .sample_rate
        .or(spec.map(|s| s.rate))
        .filter(|&r| r > 0)
        .ok_or_else(|| AudioError::undecodable(format, "the sample rate is not stated"))?;
    let channels = params.channels.or(spec.map(|s| s.channels)).map_or(0, |c| c.count());
    let channels = u16::try_from(channels)
        .ok()
        .filter(|&c| c > 0)
        .ok_or_else(|| AudioError::undecodable(format, "the channel count is not stated"))?;
    let length_ts = length_ts.unwrap_or(0);
    Ok(StreamInfo {
        codec: codec_name(params),
        sample_rate,
        channels,
        duration_secs: ts_to_secs(length_ts, params.time_base, sample_rate),
    })
}

/// Converts a length in the track's time base (or in frames, lacking one) to seconds.
///
/// The time base matters for MP4, whose lengths are in the media timescale rather than
/// in sample frames.
fn ts_to_secs(ts: u64, time_base: Option<TimeBase>, sample_rate: u32) -> f64 {
    match time_base {
        Some(tb) if tb.denom > 0 => ts as f64 * f64::from(tb.numer) / f64::from(tb.denom),
        _ => ts as f64 / f64::from(sample_rate),
    }
}

/// Symphonia's short codec name, e.g. "pcm_s16le", "mp3", "vorbis", "aac".
fn codec_name(params: &CodecParameters) -> String {
    symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map_or_else(|| codec_label(params.codec), |d| d.short_name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_base_takes_precedence_over_sample_rate() {
        assert_eq!(ts_to_secs(88_200, Some(TimeBase::new(1, 44_100)), 48_000), 2.0);
        assert_eq!(ts_to_secs(32_000, None, 16_000), 2.0);
    }

    #[test]
    fn empty_walk_is_undecodable() {
        let err = Walk::new(0, AudioFormat::Wav, false).verdict().unwrap_err();
        assert_eq!(err.code(), "audio_undecodable");
        assert!(err.to_string().contains("no audio data follows"), "{err}");
    }
}
