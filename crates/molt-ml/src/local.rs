//! Local Whisper as the pipeline's `transcribe` provider (`local_whisper:MODEL`
//! in a chain), and the factory the registry asks for local providers.
//!
//! A chain entry `local_whisper:base` uses `<model_dir>/whisper-base.ggml.bin`.
//! When only the CTranslate2 model installed by `scripts/setup.sh` is there
//! (`<model_dir>/whisper-base-ct2/`), it is converted once, on first use.

use crate::{LocalWhisper, MlError, TranscribeOptions, WhisperTranscript};
use async_trait::async_trait;
use molt_core::{Config, ErrorClass, Stage};
use molt_media::{decode_mono_16k, AudioError, AudioLimits};
use molt_pipeline::provider::{erase, Provider, ProviderId, StageProvider, Usage};
use molt_pipeline::registry::LocalProviders;
use molt_pipeline::stages::{Segment, TimedWord, Transcribe, TranscribeInput, Transcript};
use molt_pipeline::ProviderError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The local providers this build has, configured from `[whisper]`.
pub struct LocalModels {
    model_dir: PathBuf,
    threads: usize,
    language: Option<String>,
    word_timestamps: bool,
    limits: AudioLimits,
    /// Each model file is loaded once per process and shared.
    loaded: Mutex<HashMap<PathBuf, Arc<LocalWhisper>>>,
}

impl LocalModels {
    pub fn new(config: &Config) -> LocalModels {
        let language = Some(config.whisper.language.clone()).filter(|l| !l.is_empty() && l != "auto");
        LocalModels {
            model_dir: config.model_dir(),
            threads: config.whisper.threads,
            language,
            word_timestamps: config.whisper.word_timestamps,
            limits: AudioLimits {
                max_bytes: config.audio.max_bytes,
                min_duration_secs: 0.0,
                max_duration_secs: config.audio.max_duration_secs,
            },
            loaded: Mutex::new(HashMap::new()),
        }
    }

    fn whisper(&self, model: &str) -> Result<Arc<LocalWhisper>, String> {
        let path = ensure_ggml(&self.model_dir, model)?;
        let mut loaded = self.loaded.lock().map_err(|_| "model cache poisoned".to_string())?;
        if let Some(whisper) = loaded.get(&path) {
            return Ok(whisper.clone());
        }
        let whisper = Arc::new(LocalWhisper::load(&path, self.threads).map_err(|e| e.to_string())?);
        loaded.insert(path, whisper.clone());
        Ok(whisper)
    }
}

impl LocalProviders for LocalModels {
    fn provider(
        &self,
        stage: Stage,
        name: &str,
        model: &str,
    ) -> Result<Option<Arc<dyn StageProvider>>, String> {
        if (stage, name) != (Stage::Transcribe, "local_whisper") {
            return Ok(None);
        }
        let transcriber = LocalTranscriber {
            id: ProviderId::new(name, model),
            whisper: self.whisper(model)?,
            default_language: self.language.clone(),
            word_timestamps: self.word_timestamps,
            limits: self.limits,
        };
        Ok(Some(erase::<Transcribe, _>(transcriber)))
    }
}

/// The sha256 of the ggml files converted from the models `scripts/setup.sh`
/// installs (the converter is deterministic), so a bad conversion is caught.
const KNOWN_CONVERSIONS: [(&str, &str); 2] = [
    ("whisper-base", "370ee19ab783abef64918cb61441582fd4969663873ad55c6aa551054d8feb08"),
    ("whisper-tiny-en", "6cc52ac538c7a75040509534e1be7aba9dba4d160611cabc8bfc40071b549b93"),
];

/// `base` → `whisper-base`, `tiny.en` → `whisper-tiny-en`.
fn stem(model: &str) -> String {
    format!("whisper-{}", model.replace('.', "-"))
}

/// The ggml file for `model`, converting the installed CTranslate2 model on first use.
pub fn ensure_ggml(model_dir: &Path, model: &str) -> Result<PathBuf, String> {
    if model.is_empty() || model.contains(['/', '\\']) || model.contains("..") {
        return Err(format!("`{model}` is not a model name"));
    }
    let ggml = model_dir.join(format!("{}.ggml.bin", stem(model)));
    if ggml.is_file() {
        return Ok(ggml);
    }
    let ct2 = model_dir.join(format!("{}-ct2", stem(model)));
    if !ct2.join("model.bin").is_file() {
        return Err(format!(
            "the model file {} is missing (and there is no {} to convert): run scripts/setup.sh, \
             or `molt models import-ct2 DIR`",
            ggml.display(),
            ct2.display()
        ));
    }
    tracing::info!(from = %ct2.display(), to = %ggml.display(), "converting the Whisper model to ggml (once)");
    let report = molt_models::import_ct2(&ct2, &ggml).map_err(|e| e.to_string())?;
    check_conversion(&stem(model), &report.sha256).inspect_err(|_| {
        let _ = std::fs::remove_file(&ggml);
    })?;
    tracing::info!(bytes = report.bytes, sha256 = %report.sha256, "model converted");
    Ok(ggml)
}

/// A converted setup model must match its known checksum; other models have none to check.
fn check_conversion(stem: &str, sha256: &str) -> Result<(), String> {
    match KNOWN_CONVERSIONS.iter().find(|(name, _)| *name == stem) {
        Some((_, expected)) if *expected != sha256 => Err(format!(
            "the converted {stem} model has sha256 {sha256}, expected {expected}: the source model differs \
             from the one scripts/setup.sh installs; re-run scripts/setup.sh --verify"
        )),
        _ => Ok(()),
    }
}

/// Whisper on this machine's CPU: free, private, offline.
pub struct LocalTranscriber {
    id: ProviderId,
    whisper: Arc<LocalWhisper>,
    default_language: Option<String>,
    word_timestamps: bool,
    limits: AudioLimits,
}

#[async_trait]
impl Provider<Transcribe> for LocalTranscriber {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn estimate(&self, input: &TranscribeInput) -> Usage {
        Usage { unit_kind: "audio_second", units: input.duration_secs }
    }

    async fn call(&self, input: &TranscribeInput) -> Result<(Transcript, Usage), ProviderError> {
        let whisper = self.whisper.clone();
        let path = PathBuf::from(&input.audio_path);
        let limits = self.limits;
        let model = self.id.model.clone();
        let options = TranscribeOptions {
            language: input.language.clone().or_else(|| self.default_language.clone()),
            word_timestamps: self.word_timestamps,
            ..TranscribeOptions::default()
        };
        tokio::task::spawn_blocking(move || {
            let audio = decode_mono_16k(&path, &limits).map_err(audio_error)?;
            let result = whisper.transcribe(&audio.samples, &options).map_err(ml_error)?;
            let usage = Usage { unit_kind: "audio_second", units: result.duration_secs };
            Ok((transcript(result, &model), usage))
        })
        .await
        .map_err(|e| ProviderError::new(ErrorClass::Unknown, format!("the transcription task failed: {e}")))?
    }
}

/// Bad audio is the song's problem: no retry, no fallback.
fn audio_error(e: AudioError) -> ProviderError {
    ProviderError::new(ErrorClass::SchemaData, format!("the audio cannot be transcribed: {e}"))
}

/// A language the model cannot do is a data problem; an engine failure lets the chain fall back.
fn ml_error(e: MlError) -> ProviderError {
    let class = match e {
        MlError::InvalidAudio(_) | MlError::UnknownLanguage(_) | MlError::LanguageNotSupported { .. } => {
            ErrorClass::SchemaData
        }
        _ => ErrorClass::Infrastructure,
    };
    ProviderError::new(class, format!("local whisper: {e}"))
}

/// Annotation segments (`[BLANK_AUDIO]`, `[Music]`) are not lyrics.
fn transcript(result: WhisperTranscript, model: &str) -> Transcript {
    let segments = result
        .segments
        .into_iter()
        .filter(|s| !crate::quality::is_annotation(&s.text))
        .map(|s| Segment {
            start: s.start,
            end: s.end,
            text: s.text,
            words: s
                .words
                .into_iter()
                .map(|w| TimedWord {
                    start: w.start,
                    end: w.end,
                    text: w.text,
                    probability: Some(f64::from(w.probability)),
                })
                .collect(),
            avg_logprob: Some(s.avg_logprob).filter(|v| v.is_finite()),
            no_speech_prob: Some(s.no_speech_prob),
            compression_ratio: Some(s.compression_ratio.max(s.window_compression_ratio)),
        })
        .collect();
    Transcript {
        text: result.text,
        language: Some(result.language),
        language_probability: result.language_probability.map(f64::from),
        segments,
        confidence: result.confidence,
        model: Some(format!("ggml-{model}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_models_must_convert_to_their_known_checksums() {
        assert!(check_conversion("whisper-base", KNOWN_CONVERSIONS[0].1).is_ok());
        let err = check_conversion("whisper-base", "00").unwrap_err();
        assert!(err.contains("expected 370ee19a"), "{err}");
        assert!(check_conversion("whisper-khmer-small", "anything").is_ok(), "user models have no known sum");
    }

    #[test]
    fn model_names_cannot_escape_the_model_directory() {
        let dir = std::path::Path::new("/nonexistent");
        for bad in ["", "../x", "a/b", "..\\x"] {
            assert!(ensure_ggml(dir, bad).unwrap_err().contains("not a model name"), "{bad}");
        }
        assert!(ensure_ggml(dir, "base").unwrap_err().contains("run scripts/setup.sh"));
    }
}
