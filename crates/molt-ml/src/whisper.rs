//! Local Whisper through whisper.cpp (whisper-rs).

use std::ffi::{c_int, c_void};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState, WhisperSysContext,
    WhisperSysState, WhisperTokenData,
};

use crate::quality::{compression_ratio, is_annotation, transcript_confidence};
use crate::MlError;

/// Sample rate whisper.cpp expects.
pub const SAMPLE_RATE: u32 = 16_000;
const GGML_MAGIC: u32 = 0x6767_6d6c;

/// How to transcribe.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeOptions {
    /// Language code (`"en"`, `"km"`, …) or English name (`"khmer"`); `None` (or `"auto"`)
    /// detects it from the first 30 s. English-only models accept only English.
    pub language: Option<String>,
    /// Threads for this call; `None` uses the number given to [`LocalWhisper::load`].
    pub threads: Option<usize>,
    /// Fill [`WhisperSegment::words`] from whisper.cpp's token-level timestamps.
    pub word_timestamps: bool,
    /// Text the decoder is conditioned on for the first window (names, spelling, style).
    pub initial_prompt: Option<String>,
    /// `None`: greedy decoding, best of 5 when sampling at a raised temperature (whisper.cpp's
    /// library default). `Some(n)`: beam search of width `n` (whisper-cli's default is 5).
    pub beam_size: Option<usize>,
    /// A window whose average token log-probability is below this is decoded again at a higher
    /// temperature (unless it looks like silence). whisper.cpp's default: −1.0.
    pub logprob_threshold: f32,
    /// A window whose no-speech probability is above this (and whose average log-probability
    /// is below `logprob_threshold`) is treated as silence. whisper.cpp's default: 0.6.
    pub no_speech_threshold: f32,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            language: None,
            threads: None,
            word_timestamps: false,
            initial_prompt: None,
            beam_size: None,
            logprob_threshold: -1.0,
            no_speech_threshold: 0.6,
        }
    }
}

/// A word with its timing, from token-level timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Seconds from the start of the audio.
    pub start: f64,
    pub end: f64,
    /// The word, with any punctuation that follows it, without surrounding spaces.
    pub text: String,
    /// Mean probability of the word's tokens.
    pub probability: f32,
}

/// A stretch of text with its timing and quality signals.
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperSegment {
    /// Seconds from the start of the audio; see [`WhisperTranscript`] for the guarantees.
    pub start: f64,
    pub end: f64,
    /// The text, trimmed.
    pub text: String,
    /// Mean log-probability of the segment's text tokens (special and timestamp tokens
    /// excluded); −∞ for a segment with no text token.
    pub avg_logprob: f64,
    /// whisper.cpp's no-speech probability for the 30-s window the segment came from.
    pub no_speech_prob: f64,
    /// `len(text) / len(zlib(text))` of this segment's text, see
    /// [`crate::quality::compression_ratio`].
    pub compression_ratio: f64,
    /// The same ratio over the text of all the segments decoded in the same 30-s window, which
    /// is what OpenAI Whisper compares with 2.4. It sees a decoder that repeats one line over
    /// many short segments, which the per-segment ratio cannot.
    pub window_compression_ratio: f64,
    /// Empty unless [`TranscribeOptions::word_timestamps`] was set.
    pub words: Vec<Word>,
}

/// The result of [`LocalWhisper::transcribe`].
///
/// Timestamps are clamped to `[0, duration_secs]` and made monotonic: each segment starts no
/// earlier than the previous one ended, and ends no earlier than it starts (whisper.cpp's own
/// timestamps already are, except that the last window's end can pass the end of the audio).
/// Words lie within their segment, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperTranscript {
    /// Language code used for decoding (detected or given).
    pub language: String,
    /// Probability of the detected language; `None` when the language was given or the model is
    /// English-only.
    pub language_probability: Option<f32>,
    pub segments: Vec<WhisperSegment>,
    /// Length of the input audio in seconds.
    pub duration_secs: f64,
    /// The whole text, trimmed, without annotation segments such as `[BLANK_AUDIO]` or
    /// `[Music]` (see [`crate::quality::is_annotation`]; they stay in `segments`).
    pub text: String,
    /// How many times whisper.cpp decoded a window again at a higher temperature because the
    /// result was not good enough (low average log-probability, or a repetitive, low-entropy
    /// text), summed over the windows.
    pub temperature_fallbacks: u32,
    /// Per-song confidence in `[0, 1]`, see the crate docs.
    pub confidence: f64,
}

/// A loaded whisper.cpp model. `Send + Sync`: share it with an `Arc`; every call to
/// [`transcribe`](Self::transcribe) creates its own decoding state, so calls may run in
/// parallel (each costs its own working memory, about 100–400 MB depending on the model).
pub struct LocalWhisper {
    ctx: WhisperContext,
    path: PathBuf,
    threads: usize,
    multilingual: bool,
}

impl std::fmt::Debug for LocalWhisper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWhisper")
            .field("path", &self.path)
            .field("threads", &self.threads)
            .field("multilingual", &self.multilingual)
            .finish()
    }
}

static LOG_HOOKS: Once = Once::new();

/// What the callbacks observe during one `whisper_full` call.
///
/// whisper.cpp calls the encoder callback once per 30-s window, before encoding it; at that
/// moment the segments of the previous windows are complete, so their count is where this
/// window's segments start. For each temperature it then tries, it runs the logits filter
/// callback once with an empty token sequence (decoder 0's first step) before any other call
/// for that attempt, so temperature fallbacks = attempts − windows. Atomics and a mutex because
/// whisper.cpp runs the filter from worker threads when several decoders sample in parallel.
#[derive(Default)]
pub(crate) struct DecodeObserver {
    windows: AtomicU32,
    attempts: AtomicU32,
    window_starts: Mutex<Vec<usize>>,
}

impl DecodeObserver {
    pub(crate) fn window(&self, segments_so_far: usize) {
        self.windows.fetch_add(1, Ordering::Relaxed);
        self.window_starts.lock().unwrap_or_else(|e| e.into_inner()).push(segments_so_far);
    }

    pub(crate) fn decoder_step(&self, n_tokens: c_int) {
        if n_tokens == 0 {
            self.attempts.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn fallbacks(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed).saturating_sub(self.windows.load(Ordering::Relaxed))
    }

    /// The window each of `n_segments` segments was decoded in (0-based).
    pub(crate) fn segment_windows(&self, n_segments: usize) -> Vec<usize> {
        let starts = self.window_starts.lock().unwrap_or_else(|e| e.into_inner());
        (0..n_segments).map(|i| starts.iter().rposition(|&s| s <= i).unwrap_or(0)).collect()
    }
}

unsafe extern "C" fn on_encoder_begin(
    _: *mut WhisperSysContext,
    state: *mut WhisperSysState,
    user: *mut c_void,
) -> bool {
    // SAFETY: `user` is the `DecodeObserver` that outlives the `full` call (see `transcribe`);
    // `state` is the live state whisper.cpp is decoding into, and reading its segment count
    // does not modify it.
    let segments = unsafe { whisper_rs::whisper_rs_sys::whisper_full_n_segments_from_state(state) };
    unsafe { &*(user as *const DecodeObserver) }.window(segments.max(0) as usize);
    true
}

unsafe extern "C" fn on_logits(
    _: *mut WhisperSysContext,
    _: *mut WhisperSysState,
    _: *const WhisperTokenData,
    n_tokens: c_int,
    _: *mut f32,
    user: *mut c_void,
) {
    // SAFETY: as above; only reads its arguments, never the logits.
    unsafe { &*(user as *const DecodeObserver) }.decoder_step(n_tokens);
}

impl LocalWhisper {
    /// Loads a whisper.cpp ggml model (see `molt_models::import_ct2` to make one from a
    /// faster-whisper model). `threads` is the default for [`transcribe`](Self::transcribe).
    /// whisper.cpp's log goes to `tracing` (target `whisper_rs`).
    pub fn load(model_path: &Path, threads: usize) -> Result<Self, MlError> {
        let mut magic = [0u8; 4];
        File::open(model_path).and_then(|mut f| f.read_exact(&mut magic)).map_err(|e| MlError::Model {
            path: model_path.into(),
            reason: if e.kind() == std::io::ErrorKind::NotFound {
                "no such file".into()
            } else {
                e.to_string()
            },
        })?;
        if u32::from_le_bytes(magic) != GGML_MAGIC {
            return Err(MlError::Model {
                path: model_path.into(),
                reason: "not a whisper.cpp ggml file (import a faster-whisper model with \
                         molt_models::import_ct2 first)"
                    .into(),
            });
        }
        LOG_HOOKS.call_once(whisper_rs::install_logging_hooks);
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let ctx = WhisperContext::new_with_params(model_path, params).map_err(|e| MlError::Model {
            path: model_path.into(),
            reason: format!("whisper.cpp could not load it ({e}); see the whisper_rs log"),
        })?;
        let multilingual = ctx.is_multilingual();
        Ok(LocalWhisper { ctx, path: model_path.into(), threads: threads.max(1), multilingual })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the model can transcribe (and detect) languages other than English.
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Transcribes 16-kHz mono samples in `[-1, 1]`. Audio longer than 30 s is decoded window
    /// by window by whisper.cpp.
    pub fn transcribe(
        &self,
        samples_16k_mono: &[f32],
        options: &TranscribeOptions,
    ) -> Result<WhisperTranscript, MlError> {
        let samples = samples_16k_mono;
        if samples.is_empty() {
            return Err(MlError::InvalidAudio("no samples".into()));
        }
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(MlError::InvalidAudio(format!("sample {i} is not finite")));
        }
        let threads = options.threads.unwrap_or(self.threads).max(1);
        let whisper = |during: &'static str| move |source| MlError::Whisper { during, source };
        let mut state = self.ctx.create_state().map_err(whisper("creating a state"))?;

        let requested = options.language.as_deref().filter(|l| !l.is_empty() && *l != "auto");
        let (language, language_probability) = match requested {
            Some(l) if l.contains('\0') => return Err(MlError::UnknownLanguage(l.into())),
            Some(l) => {
                let code = whisper_rs::get_lang_id(l)
                    .and_then(whisper_rs::get_lang_str)
                    .ok_or_else(|| MlError::UnknownLanguage(l.into()))?;
                if !self.multilingual && code != "en" {
                    return Err(MlError::LanguageNotSupported {
                        language: code.into(),
                        path: self.path.clone(),
                    });
                }
                (code.to_string(), None)
            }
            None if !self.multilingual => ("en".to_string(), None),
            None => {
                let (code, p) = detect_language(&mut state, samples, threads)?;
                (code, Some(p))
            }
        };

        let strategy = match options.beam_size {
            Some(n) => SamplingStrategy::BeamSearch { beam_size: n.max(1) as c_int, patience: -1.0 },
            None => SamplingStrategy::Greedy { best_of: 5 },
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(threads as c_int);
        params.set_language(Some(&language));
        params.set_translate(false);
        params.set_token_timestamps(options.word_timestamps);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_print_special(false);
        params.set_logprob_thold(options.logprob_threshold);
        params.set_no_speech_thold(options.no_speech_threshold);
        if let Some(prompt) = &options.initial_prompt {
            if prompt.contains('\0') {
                return Err(MlError::InvalidOption("initial_prompt contains a NUL byte".into()));
            }
            params.set_initial_prompt(prompt);
        }
        let observer = DecodeObserver::default();
        let user = &observer as *const DecodeObserver as *mut c_void;
        // SAFETY: the callbacks only read their arguments and record into `observer`, which
        // lives until after `full` returns (params is consumed by it).
        unsafe {
            params.set_start_encoder_callback(Some(on_encoder_begin));
            params.set_start_encoder_callback_user_data(user);
            params.set_filter_logits_callback(Some(on_logits));
            params.set_filter_logits_callback_user_data(user);
        }
        state.full(params, samples).map_err(whisper("transcribing"))?;

        let duration_secs = samples.len() as f64 / f64::from(SAMPLE_RATE);
        let (mut segments, raw_texts) =
            self.collect_segments(&state, duration_secs, options.word_timestamps)?;
        let windows = observer.segment_windows(segments.len());
        set_window_compression_ratios(&mut segments, &windows);
        // whisper.cpp's segment texts carry their own leading spaces where the language uses
        // them, so plain concatenation is right for English and for Khmer alike. Annotations
        // such as "[BLANK_AUDIO]" are not text.
        let raw_text: Vec<u8> = segments
            .iter()
            .zip(&raw_texts)
            .filter(|(s, _)| !is_annotation(&s.text))
            .flat_map(|(_, raw)| raw.iter().copied())
            .collect();
        let text = String::from_utf8_lossy(&raw_text).trim().to_string();
        let confidence = transcript_confidence(&segments);
        Ok(WhisperTranscript {
            language,
            language_probability,
            segments,
            duration_secs,
            text,
            temperature_fallbacks: observer.fallbacks(),
            confidence,
        })
    }

    fn collect_segments(
        &self,
        state: &WhisperState,
        duration: f64,
        words_wanted: bool,
    ) -> Result<(Vec<WhisperSegment>, Vec<Vec<u8>>), MlError> {
        let eot = self.ctx.token_eot();
        let mut raw_texts = Vec::new();
        let clamp = |cs: i64| (cs as f64 / 100.0).clamp(0.0, duration);
        let mut out: Vec<WhisperSegment> = Vec::new();
        let mut prev_end = 0.0f64;
        for seg in state.as_iter() {
            let start = clamp(seg.start_timestamp()).max(prev_end);
            let end = clamp(seg.end_timestamp()).max(start);
            prev_end = end;

            let mut logprobs = Vec::new();
            let mut words: Vec<Word> = Vec::new();
            let mut word = WordBuilder::default();
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else { continue };
                if tok.token_id() >= eot {
                    continue; // special or timestamp token
                }
                let data = tok.token_data();
                logprobs.push(f64::from(data.plog));
                if words_wanted {
                    let bytes = tok
                        .to_bytes()
                        .map_err(|source| MlError::Whisper { during: "reading a token", source })?;
                    if bytes.first() == Some(&b' ') {
                        word.finish_into(&mut words);
                    }
                    word.push(bytes, data.p, data.t0, data.t1);
                }
            }
            word.finish_into(&mut words);
            fit_words(&mut words, start, end);

            let raw =
                seg.to_bytes().map_err(|source| MlError::Whisper { during: "reading a segment", source })?;
            raw_texts.push(raw.to_vec());
            let text = String::from_utf8_lossy(raw).trim().to_string();
            let avg_logprob = if logprobs.is_empty() {
                f64::NEG_INFINITY
            } else {
                logprobs.iter().sum::<f64>() / logprobs.len() as f64
            };
            let ratio = compression_ratio(&text);
            out.push(WhisperSegment {
                start,
                end,
                compression_ratio: ratio,
                window_compression_ratio: ratio,
                text,
                avg_logprob,
                no_speech_prob: f64::from(seg.no_speech_probability()),
                words,
            });
        }
        Ok((out, raw_texts))
    }
}

/// Sets each segment's `window_compression_ratio` from the text of all the segments decoded in
/// the same window (`windows[i]` is segment i's window).
fn set_window_compression_ratios(segments: &mut [WhisperSegment], windows: &[usize]) {
    let mut i = 0;
    while i < segments.len() {
        let w = windows.get(i).copied().unwrap_or(usize::MAX);
        let mut j = i + 1;
        while j < segments.len() && windows.get(j).copied().unwrap_or(usize::MAX) == w {
            j += 1;
        }
        let text = segments[i..j].iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        let ratio = compression_ratio(&text);
        segments[i..j].iter_mut().for_each(|s| s.window_compression_ratio = ratio);
        i = j;
    }
}

/// Detects the language from the first 30 s: (code, probability).
fn detect_language(
    state: &mut WhisperState,
    samples: &[f32],
    threads: usize,
) -> Result<(String, f32), MlError> {
    state
        .pcm_to_mel(samples, threads)
        .map_err(|source| MlError::Whisper { during: "computing the mel spectrogram", source })?;
    let (id, probs) = state
        .lang_detect(0, threads)
        .map_err(|source| MlError::Whisper { during: "detecting the language", source })?;
    let code =
        whisper_rs::get_lang_str(id).ok_or_else(|| MlError::UnknownLanguage(format!("language id {id}")))?;
    Ok((code.to_string(), probs.get(id as usize).copied().unwrap_or(0.0)))
}

/// Accumulates the tokens of one word (raw bytes: a token may end inside a UTF-8 character,
/// which happens for Khmer).
#[derive(Default)]
struct WordBuilder {
    bytes: Vec<u8>,
    probs: Vec<f32>,
    t0: Option<i64>,
    t1: i64,
}

impl WordBuilder {
    fn push(&mut self, bytes: &[u8], p: f32, t0: i64, t1: i64) {
        self.bytes.extend_from_slice(bytes);
        self.probs.push(p);
        if self.t0.is_none() {
            self.t0 = Some(t0);
        }
        self.t1 = t1;
    }

    fn finish_into(&mut self, words: &mut Vec<Word>) {
        let b = std::mem::take(self);
        let text = String::from_utf8_lossy(&b.bytes).trim().to_string();
        if text.is_empty() {
            return;
        }
        let probability = b.probs.iter().sum::<f32>() / b.probs.len() as f32;
        let start = b.t0.unwrap_or(0) as f64 / 100.0;
        let end = b.t1 as f64 / 100.0;
        words.push(Word { start, end, text, probability });
    }
}

/// Keeps words inside `[start, end]` and in order.
fn fit_words(words: &mut [Word], start: f64, end: f64) {
    let mut prev = start;
    for w in words {
        w.start = w.start.clamp(prev, end);
        w.end = w.end.clamp(w.start, end);
        prev = w.end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallbacks_are_attempts_beyond_the_first_per_window() {
        let c = DecodeObserver::default();
        // Window 1: one attempt (decoder 0 starts empty, then steps with tokens).
        c.window(0);
        c.decoder_step(0);
        (1..20).for_each(|n| c.decoder_step(n));
        assert_eq!(c.fallbacks(), 0);
        // Window 2: temperature 0 fails, 0.2 succeeds (5 decoders step in parallel).
        c.window(3);
        c.decoder_step(0);
        (1..10).for_each(|n| c.decoder_step(n));
        c.decoder_step(0);
        for n in 1..10 {
            (0..5).for_each(|_| c.decoder_step(n));
        }
        assert_eq!(c.fallbacks(), 1);
        // Window 3 produced nothing, window 4 two segments.
        c.window(5);
        c.window(5);
        assert_eq!(c.segment_windows(7), vec![0, 0, 0, 1, 1, 3, 3]);
    }

    #[test]
    fn window_ratio_covers_the_window_text() {
        let seg = |text: &str| WhisperSegment {
            start: 0.0,
            end: 0.0,
            text: text.into(),
            avg_logprob: 0.0,
            no_speech_prob: 0.0,
            compression_ratio: compression_ratio(text),
            window_compression_ratio: 0.0,
            words: Vec::new(),
        };
        let line = "My name is John and I live in London.";
        let mut segs: Vec<_> = (0..10).map(|_| seg(line)).collect();
        segs.push(seg("Something else entirely, said once."));
        set_window_compression_ratios(&mut segs, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(segs[0].compression_ratio < 1.0);
        assert!(segs[0].window_compression_ratio > 5.0, "{}", segs[0].window_compression_ratio);
        assert_eq!(segs[9].window_compression_ratio, segs[0].window_compression_ratio);
        assert_eq!(segs[10].window_compression_ratio, segs[10].compression_ratio);
    }

    #[test]
    fn words_are_kept_inside_their_segment_and_in_order() {
        let w = |s, e| Word { start: s, end: e, text: "x".into(), probability: 1.0 };
        let mut words = vec![w(0.5, 1.2), w(1.0, 0.9), w(2.0, 9.0)];
        fit_words(&mut words, 1.0, 3.0);
        let t: Vec<(f64, f64)> = words.iter().map(|w| (w.start, w.end)).collect();
        assert_eq!(t, vec![(1.0, 1.2), (1.2, 1.2), (2.0, 3.0)]);
    }

    #[test]
    fn word_builder_joins_split_utf8() {
        // "ក" is E1 9E 80; a token boundary inside the character must not garble it.
        let mut words = Vec::new();
        let mut b = WordBuilder::default();
        b.push(b" \xE1\x9E", 0.5, 10, 20);
        b.push(b"\x80!", 1.0, 20, 30);
        b.finish_into(&mut words);
        assert_eq!(words, vec![Word { start: 0.1, end: 0.3, text: "ក!".into(), probability: 0.75 }]);
    }
}
