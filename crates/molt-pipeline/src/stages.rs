//! The four stages' inputs and outputs, and how each output's quality is read.

use molt_core::Stage;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A stage's typed contract.
pub trait StageKind: Send + Sync {
    const STAGE: Stage;
    type Input: Serialize + DeserializeOwned + Send + Sync;
    type Output: Serialize + DeserializeOwned + Send + Sync;
    /// The score the quality gate reads, in 0..=1.
    fn quality(output: &Self::Output) -> Option<f64>;
}

pub struct Transcribe;
pub struct Context;
pub struct Critique;
pub struct Art;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscribeInput {
    /// Absolute path of the stored audio.
    pub audio_path: String,
    pub language: Option<String>,
    pub duration_secs: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// Word timings, where the recogniser gives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<TimedWord>,
    /// Quality signals (DESIGN §13), where the recogniser gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_logprob: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_speech_prob: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedWord {
    pub start: f64,
    pub end: f64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    pub language: Option<String>,
    /// How sure the recogniser was of the language, when it detected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_probability: Option<f64>,
    pub segments: Vec<Segment>,
    /// The quality gate's lyrics confidence, 0..=1 (each provider documents its formula).
    pub confidence: f64,
    /// The model that produced it, e.g. `ggml-base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextInput {
    pub title: String,
    /// The romanised title, when the song has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_latin: Option<String>,
    pub artist: String,
    /// Every known spelling of the artist (Khmer and Latin), `artist` included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artist_names: Vec<String>,
    pub year: Option<u32>,
    pub lyrics: String,
    /// Second try after low relevance: search wider sources.
    pub broaden: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub text: String,
    /// The citation: where the fact comes from.
    pub source: String,
    /// The knowledge-base document it was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// How relevant this fact is to the song, 0..=1 (see the provider's docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevance: Option<f64>,
    /// Why it was chosen, e.g. `artist: Sinn Sisamouth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextOutput {
    pub facts: Vec<Fact>,
    /// How relevant the facts are to this song, 0..=1.
    pub relevance: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CritiqueInput {
    pub title: String,
    pub artist: String,
    /// The transcript's lines, one per non-blank segment (what the stored lyrics
    /// version shows), so a finding's line number is a line of this text.
    pub lyrics: String,
    pub confidence: f64,
    pub facts: Vec<Fact>,
    /// The transcript's segments with their Whisper signals (DESIGN §13).
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// The song's duration (0 when unknown).
    #[serde(default)]
    pub duration_secs: f64,
    /// The language the lyrics should be in: the song's, else the transcript's, else `km`.
    #[serde(default)]
    pub language: Option<String>,
}

/// One problem a critic found in a transcription.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The 1-based line of `CritiqueInput::lyrics` it is about; `None` for the whole song.
    pub line: Option<u32>,
    /// What kind of problem, e.g. `wrong_script` or `loop` (each critic documents its kinds).
    pub kind: String,
    /// How bad it is, 0..=1.
    pub severity: f64,
    pub message: String,
    /// A corrected text, when the critic proposes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CritiqueOutput {
    /// Overall judgement of the transcription, 0..=1.
    pub score: f64,
    /// The findings in words, one per finding (older readers use only this).
    pub issues: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtInput {
    pub title: String,
    /// The song's romanised title, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_latin: Option<String>,
    pub artist: String,
    pub year: Option<u32>,
    /// The song's genre, when the context stage found one (e.g. `romvong`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtOutput {
    /// The image, base64, as the provider returned it; the runner stores it
    /// content-addressed and replaces this with `asset_sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_sha256: Option<String>,
    pub mime: String,
    /// True when no provider could make art and a placeholder stands in.
    pub placeholder: bool,
    /// Every size a provider made (the local artist makes a square and a
    /// vertical cover); each is stored like `image_base64`. A provider that makes
    /// several sets `image_base64` to its square image too, for older readers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ArtImage>,
}

/// One rendering of the cover art.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtImage {
    /// What it is for: `square` (1:1) or `vertical` (9:16, short-video export).
    pub label: String,
    pub width: u32,
    pub height: u32,
    pub mime: String,
    /// The image, base64, until the runner stores it and sets `asset_sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_sha256: Option<String>,
}

fn unit(x: f64) -> Option<f64> {
    Some(x.clamp(0.0, 1.0))
}

impl StageKind for Transcribe {
    const STAGE: Stage = Stage::Transcribe;
    type Input = TranscribeInput;
    type Output = Transcript;
    fn quality(o: &Transcript) -> Option<f64> {
        unit(o.confidence)
    }
}

impl StageKind for Context {
    const STAGE: Stage = Stage::Context;
    type Input = ContextInput;
    type Output = ContextOutput;
    fn quality(o: &ContextOutput) -> Option<f64> {
        unit(o.relevance)
    }
}

impl StageKind for Critique {
    const STAGE: Stage = Stage::Critique;
    type Input = CritiqueInput;
    type Output = CritiqueOutput;
    fn quality(o: &CritiqueOutput) -> Option<f64> {
        unit(o.score)
    }
}

impl StageKind for Art {
    const STAGE: Stage = Stage::Art;
    type Input = ArtInput;
    type Output = ArtOutput;
    fn quality(o: &ArtOutput) -> Option<f64> {
        Some(if o.placeholder { 0.0 } else { 1.0 })
    }
}
