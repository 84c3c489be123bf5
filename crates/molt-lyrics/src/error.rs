//! Errors: parsing input, exporting lyrics, and broken model invariants.

use std::fmt;

use crate::Format;

/// Input that an importer rejected.
///
/// `line` is the 1-based line of the input where the problem is (for errors about the input as a
/// whole, such as its size or an unsupported format, the line where it shows: the line holding the
/// byte past the size limit, or line 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number in the input.
    pub line: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        Self { line: line.max(1), message: message.into() }
    }
}

/// A broken invariant of [`crate::Lyrics`] (see [`crate::Lyrics::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ModelError {
    /// 1-based index into `lines`; `None` for the lyrics as a whole (the language).
    pub line: Option<usize>,
    /// 1-based index into that line's `words`, when a word is at fault.
    pub word: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.word) {
            (Some(l), Some(w)) => write!(f, "line {l}, word {w} {}", self.message),
            (Some(l), None) => write!(f, "line {l} {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Lyrics that cannot be written in the requested format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A timed format was requested for lyrics without any timings. Times are never invented.
    #[error("these lyrics have no timings; export as txt or json")]
    Untimed {
        /// The timed format that was requested.
        format: Format,
    },
    /// Some lines are timed and this one is not.
    #[error("line {line} has no start time while other lines do; {format} needs every line timed (export as txt or json instead)")]
    MissingStart {
        /// 1-based index into `lines`.
        line: usize,
        /// The requested format.
        format: Format,
    },
    /// The lyrics break an invariant of the model.
    #[error("invalid lyrics: {0}")]
    Invalid(#[from] ModelError),
    /// The format cannot carry something in these lyrics (a line break in an LRC line, text that a
    /// reader would take for a time tag, lines out of time order for a subtitle format, …).
    #[error("line {line}: {format} cannot carry this: {message}")]
    Unrepresentable {
        /// 1-based index into `lines`.
        line: usize,
        /// The requested format.
        format: Format,
        /// What it cannot carry.
        message: String,
    },
}

impl ExportError {
    pub(crate) fn unrepresentable(line_index: usize, format: Format, message: impl Into<String>) -> Self {
        ExportError::Unrepresentable { line: line_index + 1, format, message: message.into() }
    }
}
