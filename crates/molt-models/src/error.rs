use std::path::PathBuf;

/// Everything that can go wrong reading or importing a model file. Each variant names the file
/// and, where there is one, the variable (tensor) concerned.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file the import needs is not there.
    #[error("missing file {path}")]
    MissingFile { path: PathBuf },

    /// An I/O error other than a missing file.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `model.bin` has a binary format version this importer does not read (it reads 6).
    #[error("{path}: unsupported CTranslate2 format version {found} (expected 6)")]
    UnsupportedVersion { path: PathBuf, found: u32 },

    /// `model.bin` holds another kind of model than Whisper.
    #[error("{path}: model spec is {found:?}, expected \"WhisperSpec\"")]
    WrongSpec { path: PathBuf, found: String },

    /// The file ends before `what` (a header field, a variable, the alias table) is complete.
    #[error("{path}: truncated: {what} needs {needed} bytes at offset {offset}, the file has {len}")]
    Truncated { path: PathBuf, what: String, offset: u64, needed: u64, len: u64 },

    /// A variable's dtype code is not one CTranslate2 defines.
    #[error("{path}: variable {variable}: unknown dtype code {code}")]
    UnknownDtype { path: PathBuf, variable: String, code: u8 },

    /// A variable's dtype is known but cannot be converted (e.g. an int8-quantised weight).
    #[error("{path}: variable {variable}: dtype {dtype} is not supported here ({hint})")]
    UnsupportedDtype { path: PathBuf, variable: String, dtype: &'static str, hint: &'static str },

    /// A variable's shape (or its byte count) is not what the model needs.
    #[error("{path}: variable {variable}: shape mismatch: expected {expected}, found {found}")]
    ShapeMismatch { path: PathBuf, variable: String, expected: String, found: String },

    /// A variable the Whisper model needs is absent.
    #[error("{path}: missing variable {variable}")]
    MissingVariable { path: PathBuf, variable: String },

    /// A string in the file is not NUL-terminated UTF-8.
    #[error("{path}: malformed string at offset {offset}: {reason}")]
    BadString { path: PathBuf, offset: u64, reason: String },

    /// The tokenizer (tokenizer.json or vocabulary.txt) cannot be used.
    #[error("{path}: bad tokenizer: {reason}")]
    BadTokenizer { path: PathBuf, reason: String },

    /// A file that should be a whisper.cpp ggml model is not one.
    #[error("{path}: not a whisper.cpp ggml model: {reason}")]
    BadGgml { path: PathBuf, reason: String },
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            ModelError::MissingFile { path }
        } else {
            ModelError::Io { path, source }
        }
    }
}
