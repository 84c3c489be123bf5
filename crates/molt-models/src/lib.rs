//! Offline model files for Molt.
//!
//! * [`import_ct2`] converts a faster-whisper (CTranslate2) Whisper model directory into the
//!   ggml file whisper.cpp loads, so that any faster-whisper model (a Khmer fine-tune, say) can
//!   be used by `molt-ml`. The byte layouts of both formats are described in
//!   `shared/notes/model-formats.md` §1 and in the [`ct2`] and [`ggml`] module docs.
//! * [`list_models`] reports what a models directory holds.
//! * [`read_ggml_header`] reads a ggml file's hyper-parameters without loading it.
//!
//! This crate is pure Rust with light dependencies; it never runs a model.
//!
//! # What the importer writes
//!
//! Two-dimensional and larger weights as f16; biases, layer norms, positional embeddings and
//! the conv biases (reshaped to `[n_state, 1]`) as f32, widening f16/bf16 sources. The fused
//! CTranslate2 projections are split: self-attention `linear_0` into query/key/value and
//! cross-attention `linear_1` into key/value, dropping the key biases (whisper.cpp has none; they
//! are zero in Whisper). The output is a pure function of the input files: importing twice
//! gives the same bytes.
//!
//! The file is written to a temporary file beside `dest`, fsynced and renamed over `dest`, so
//! a crash never leaves a half-written model under the final name. Tensors are converted in
//! chunks of 256 Ki elements; memory use is a few MB whatever the model size.

pub mod ct2;
mod error;
pub mod ggml;
mod half;
mod list;
mod mel;
mod vocab;

use std::path::Path;

pub use error::ModelError;
pub use ggml::{Hparams, ImportReport};
pub use list::{ggml_path_for, InstalledModel, ModelFormat};

/// Converts the CTranslate2 Whisper model in `src_dir` (`model.bin`, plus `tokenizer.json` or
/// `vocabulary.txt`) into a whisper.cpp ggml file at `dest`, atomically.
///
/// Everything is checked before the output is created: the format version (6) and spec
/// (`WhisperSpec`), that no variable is truncated, every dtype, and the presence and shape of
/// every tensor the model needs; each error names the file and the variable.
pub fn import_ct2(src_dir: &Path, dest: &Path) -> Result<ImportReport, ModelError> {
    ggml::import(src_dir, dest)
}

/// The models in `models_dir`, sorted by path: ggml files at its top level (recognised by their
/// magic, whatever their name) and CTranslate2 Whisper directories that have no ggml file at
/// [`ggml_path_for`] yet. A missing or unreadable directory gives an empty list.
pub fn list_models(models_dir: &Path) -> Vec<InstalledModel> {
    list::list(models_dir)
}

/// Reads the hyper-parameters of the whisper.cpp ggml file at `path`.
pub fn read_ggml_header(path: &Path) -> Result<Hparams, ModelError> {
    ggml::read_ggml_header(path)
}
