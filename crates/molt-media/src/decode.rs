//! Full decoding for transcription: every packet decoded, channels averaged to
//! mono, and resampled to 16 kHz with rubato (what Whisper expects).

use std::fs::File;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::errors::Error as SymError;

use crate::inspect::{audio_track, is_end_of_stream, make_decoder, open_reader, symphonia_detail};
use crate::{probe_file, sniff, AudioError, AudioInfo, AudioLimits};

/// Whisper's sample rate.
pub const TARGET_RATE: u32 = 16_000;
/// Below this peak level (-60 dBFS) a recording is treated as silence.
const SILENCE_PEAK: f32 = 0.001;
/// Input frames per resampler call.
const CHUNK: usize = 4096;

/// 16 kHz mono samples in -1.0..=1.0, with what the file was.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    pub samples: Vec<f32>,
    pub info: AudioInfo,
}

impl DecodedAudio {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(TARGET_RATE)
    }
}

/// Validate (see [`probe_file`]), decode and resample `path` for transcription.
/// Silence-only audio is refused: it would only produce hallucinated lyrics.
pub fn decode_mono_16k(path: &Path, limits: &AudioLimits) -> Result<DecodedAudio, AudioError> {
    let info = probe_file(path, limits)?;
    let samples = panic::catch_unwind(AssertUnwindSafe(|| decode_all(path, &info))).unwrap_or_else(|_| {
        Err(AudioError::undecodable(
            info.format,
            "the data is malformed (the decoder failed on it)".to_owned(),
        ))
    })?;
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak < SILENCE_PEAK {
        let peak_dbfs = if peak > 0.0 { 20.0 * f64::from(peak).log10() } else { f64::NEG_INFINITY };
        return Err(AudioError::Silent { peak_dbfs: peak_dbfs.max(-200.0) });
    }
    Ok(DecodedAudio { samples, info })
}

fn decode_all(path: &Path, info: &AudioInfo) -> Result<Vec<f32>, AudioError> {
    let mut file = File::open(path)?;
    let bytes = file.metadata()?.len();
    let sniffed = sniff::sniff(&mut file, bytes)?;
    let mut reader = open_reader(file, sniffed)?;
    let (track_id, params) = audio_track(reader.as_ref())?;
    let mut decoder = make_decoder(info.format, &params)?;
    let mut mono = Mono::new(info.sample_rate, info.duration_secs)?;
    loop {
        let packet = match reader.next_packet() {
            Ok(p) => p,
            Err(e) if is_end_of_stream(&e) => break,
            Err(e) => return Err(AudioError::undecodable(info.format, symphonia_detail(&e))),
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                let mut buffer = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
                buffer.copy_interleaved_ref(decoded);
                mono.push_interleaved(buffer.samples(), spec.channels.count())?;
            }
            // A corrupt frame in the middle of a long file is skipped, as players do.
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => return Err(AudioError::undecodable(info.format, symphonia_detail(&e))),
        }
    }
    mono.finish()
}

/// Downmixes to mono and feeds the resampler chunk by chunk, so only the 16 kHz
/// output is held in memory.
struct Mono {
    resampler: Option<FftFixedIn<f32>>,
    rate: u32,
    frames_in: u64,
    pending: Vec<f32>,
    out: Vec<f32>,
}

impl Mono {
    fn new(rate: u32, duration_secs: f64) -> Result<Mono, AudioError> {
        let resampler = if rate == TARGET_RATE {
            None
        } else {
            let r = FftFixedIn::<f32>::new(rate as usize, TARGET_RATE as usize, CHUNK, 2, 1)
                .map_err(|e| AudioError::unrecognised(format!("cannot resample from {rate} Hz ({e})")))?;
            Some(r)
        };
        let expected = (duration_secs.max(0.0) * f64::from(TARGET_RATE)) as usize;
        Ok(Mono {
            resampler,
            rate,
            frames_in: 0,
            pending: Vec::with_capacity(CHUNK * 2),
            out: Vec::with_capacity(expected + CHUNK),
        })
    }

    fn push_interleaved(&mut self, samples: &[f32], channels: usize) -> Result<(), AudioError> {
        let channels = channels.max(1);
        for frame in samples.chunks_exact(channels) {
            self.pending.push(frame.iter().sum::<f32>() / channels as f32);
        }
        self.frames_in += (samples.len() / channels) as u64;
        self.drain(false)
    }

    fn drain(&mut self, last: bool) -> Result<(), AudioError> {
        let Some(resampler) = self.resampler.as_mut() else {
            self.out.append(&mut self.pending);
            return Ok(());
        };
        while self.pending.len() >= resampler.input_frames_next() {
            let need = resampler.input_frames_next();
            let chunk: Vec<f32> = self.pending.drain(..need).collect();
            let done = resampler.process(&[chunk], None).map_err(resample_error)?;
            self.out.extend_from_slice(&done[0]);
        }
        if last && !self.pending.is_empty() {
            let rest: Vec<f32> = std::mem::take(&mut self.pending);
            let done = resampler.process_partial(Some(&[rest]), None).map_err(resample_error)?;
            self.out.extend_from_slice(&done[0]);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<f32>, AudioError> {
        self.drain(true)?;
        if let Some(resampler) = self.resampler.as_mut() {
            // Flush the resampler's delay line so the end of the song is not cut off.
            let tail = resampler.process_partial::<Vec<f32>>(None, None).map_err(resample_error)?;
            self.out.extend_from_slice(&tail[0]);
            let delay = resampler.output_delay().min(self.out.len());
            self.out.drain(..delay);
            // The flush pads with zeros; keep exactly the input's length at 16 kHz.
            let expected =
                (self.frames_in as f64 * f64::from(TARGET_RATE) / f64::from(self.rate)).round() as usize;
            self.out.truncate(expected);
        }
        Ok(self.out)
    }
}

fn resample_error(e: impl std::fmt::Display) -> AudioError {
    AudioError::unrecognised(format!("resampling failed ({e})"))
}
