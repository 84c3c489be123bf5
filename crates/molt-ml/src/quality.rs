//! Quality signals and the per-song confidence (the formula is explained in the crate docs).

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::WhisperSegment;

/// whisper.cpp's (and OpenAI Whisper's) no-speech threshold.
pub const NO_SPEECH_THRESHOLD: f64 = 0.6;
/// whisper.cpp's (and OpenAI Whisper's) average log-probability threshold.
pub const LOGPROB_THRESHOLD: f64 = -1.0;
/// OpenAI Whisper's compression-ratio threshold for "this text repeats itself".
pub const COMPRESSION_RATIO_THRESHOLD: f64 = 2.4;
/// The least weight a segment gets, in seconds, so that zero-length segments still count.
const MIN_WEIGHT_SECS: f64 = 0.1;

/// `len(text bytes) / len(zlib(text bytes))`, DEFLATE at level 6 in a zlib container: what
/// OpenAI Whisper and faster-whisper compute (`zlib.compress`), so that their 2.4 threshold
/// means the same thing here. Empty text gives 0.
///
/// The compressor is zlib-rs (pure Rust), whose output sizes are within a few bytes of zlib's.
/// miniz_oxide was measured and rejected: it finds long repeats less well (a decoder loop of
/// "Thank you. " × 20 gives 5.8 instead of zlib's 10.0, a sentence said four times 2.40 instead
/// of 3.24), which is exactly the case the ratio is there to catch.
pub fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut z = ZlibEncoder::new(Vec::with_capacity(text.len()), Compression::new(6));
    z.write_all(text.as_bytes()).expect("writing to a Vec cannot fail");
    let compressed = z.finish().expect("writing to a Vec cannot fail");
    text.len() as f64 / compressed.len() as f64
}

/// Whether a segment's text is an annotation rather than words: whisper.cpp writes
/// `[BLANK_AUDIO]` over silence, and Whisper models write `[Music]`, `(music)`, `♪` and the
/// like over instrumental passages. Square brackets, music symbols, or parentheses / asterisks
/// around a mention of music; lyrics in parentheses (backing vocals) are not annotations.
pub fn is_annotation(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() {
        return false;
    }
    let wrapped = |open: char, close: char| t.starts_with(open) && t.ends_with(close) && t.len() >= 2;
    if wrapped('[', ']') {
        return true;
    }
    if (wrapped('(', ')') || wrapped('*', '*')) && t.to_lowercase().contains("music") {
        return true;
    }
    t.chars().all(|c| matches!(c, '♪' | '♫' | '♬' | '♩') || c.is_whitespace() || c.is_ascii_punctuation())
        && t.chars().any(|c| matches!(c, '♪' | '♫' | '♬' | '♩'))
}

/// The confidence of one segment, in `[0, 1]`: token certainty × speech factor × repetition
/// factor (see the crate docs).
pub fn segment_confidence(avg_logprob: f64, no_speech_prob: f64, compression_ratio: f64) -> f64 {
    let certainty = if avg_logprob.is_nan() { 0.0 } else { avg_logprob.min(0.0).exp() };
    let speech =
        if no_speech_prob > NO_SPEECH_THRESHOLD && avg_logprob < LOGPROB_THRESHOLD { 0.0 } else { 1.0 };
    let repetition = if compression_ratio > COMPRESSION_RATIO_THRESHOLD {
        (COMPRESSION_RATIO_THRESHOLD / compression_ratio).powi(2)
    } else {
        1.0
    };
    certainty * speech * repetition
}

/// The per-song confidence: the duration-weighted mean of [`segment_confidence`] over the
/// segments that are not annotations (each weighing at least 0.1 s), each with the larger of
/// its own and its window's compression ratio; 0 when no segment has words.
pub fn transcript_confidence(segments: &[WhisperSegment]) -> f64 {
    let (mut sum, mut weights) = (0.0, 0.0);
    for s in segments.iter().filter(|s| !is_annotation(&s.text)) {
        let w = (s.end - s.start).max(MIN_WEIGHT_SECS);
        let ratio = s.compression_ratio.max(s.window_compression_ratio);
        sum += w * segment_confidence(s.avg_logprob, s.no_speech_prob, ratio);
        weights += w;
    }
    if weights > 0.0 {
        sum / weights
    } else {
        0.0
    }
}
