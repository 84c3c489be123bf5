//! The lyrics data model and its invariants.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// The latest time any format here can carry: `99:59:59.999` (SRT's two-digit hours).
///
/// One limit for every format keeps whatever one format can carry exportable to the others. In LRC it
/// is `[5999:59.99]`: minutes are written with as many digits as they need (at least two).
pub const MAX_TIME_MS: u64 = 100 * 3_600_000 - 1;

/// Lyrics: an optional language and the lines, in display order.
///
/// Times are integer milliseconds from the start of the recording. Plain text has no times, so every
/// time is optional at the line level; a word, when present, is always timed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lyrics {
    /// A BCP 47-style language tag such as `km` or `km-KH` (ASCII letters, digits and `-`, at most 35
    /// characters). `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The lines, in order.
    #[serde(default)]
    pub lines: Vec<Line>,
}

/// One line (or subtitle cue) of lyrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// When the line starts, in milliseconds; `None` for untimed (plain-text) lyrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// When the line ends, in milliseconds. LRC has no line ends, so LRC imports leave it `None`;
    /// exporters that need an end derive one (see [`crate::export`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    /// The text, exactly as written (Khmer is never altered; U+200B is kept as content). A subtitle
    /// cue spanning several text lines joins them with `\n`.
    pub text: String,
    /// Word (syllable) timings, in order, when known (enhanced LRC); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// A timed word inside a [`Line`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Word {
    /// When the word starts, in milliseconds.
    pub start_ms: u64,
    /// When the word ends, in milliseconds.
    pub end_ms: u64,
    /// The word as it appears in the line's text.
    pub text: String,
}

impl Lyrics {
    /// Lyrics with the given lines and no language.
    pub fn new(lines: Vec<Line>) -> Self {
        Self { language: None, lines }
    }

    /// Whether any line carries a start time.
    pub fn is_timed(&self) -> bool {
        self.lines.iter().any(|l| l.start_ms.is_some())
    }

    /// Checks the invariants every importer guarantees and every exporter relies on:
    ///
    /// - the language, if any, is a plausible language tag (see [`Lyrics::language`]);
    /// - no time exceeds [`MAX_TIME_MS`];
    /// - a line with an end or with words has a start, and does not end before it starts;
    /// - every word ends no earlier than it starts, starts no earlier than its line and than the previous
    ///   word's end (words are in order and do not overlap), and ends no later than its line's end when
    ///   the line has one.
    ///
    /// Whether lines are in time order, and what text a format can carry, are the exporters' business.
    pub fn validate(&self) -> Result<(), ModelError> {
        if let Some(lang) = &self.language {
            check_language(lang).map_err(|message| ModelError { line: None, word: None, message })?;
        }
        for (i, line) in self.lines.iter().enumerate() {
            line.validate().map_err(|(word, message)| ModelError { line: Some(i + 1), word, message })?;
        }
        Ok(())
    }
}

impl Line {
    /// An untimed line.
    pub fn untimed(text: impl Into<String>) -> Self {
        Self { start_ms: None, end_ms: None, text: text.into(), words: Vec::new() }
    }

    /// A line with a start time only.
    pub fn at(start_ms: u64, text: impl Into<String>) -> Self {
        Self { start_ms: Some(start_ms), end_ms: None, text: text.into(), words: Vec::new() }
    }

    /// The line's own checks; the error carries the 1-based word index when a word is at fault.
    pub(crate) fn validate(&self) -> Result<(), (Option<usize>, String)> {
        let no_word = |m: String| (None, m);
        if let Some(start) = self.start_ms {
            check_time(start, "start").map_err(no_word)?;
        }
        if let Some(end) = self.end_ms {
            check_time(end, "end").map_err(no_word)?;
        }
        match (self.start_ms, self.end_ms) {
            (None, Some(_)) => return Err(no_word("has an end time but no start time".into())),
            (None, None) if !self.words.is_empty() => {
                return Err(no_word("has word timings but no start time".into()))
            }
            (Some(s), Some(e)) if e < s => {
                return Err(no_word(format!("ends ({}) before it starts ({})", clock(e), clock(s))))
            }
            _ => {}
        }
        let mut previous_end = self.start_ms.unwrap_or(0);
        for (j, w) in self.words.iter().enumerate() {
            let at_word = |m: String| (Some(j + 1), m);
            check_time(w.start_ms, "start").map_err(at_word)?;
            check_time(w.end_ms, "end").map_err(at_word)?;
            if w.end_ms < w.start_ms {
                return Err(at_word(format!(
                    "ends ({}) before it starts ({})",
                    clock(w.end_ms),
                    clock(w.start_ms)
                )));
            }
            if w.start_ms < previous_end {
                let what = if j == 0 { "its line starts" } else { "the previous word ends" };
                return Err(at_word(format!(
                    "starts ({}) before {what} ({})",
                    clock(w.start_ms),
                    clock(previous_end)
                )));
            }
            if let Some(line_end) = self.end_ms {
                if w.end_ms > line_end {
                    return Err(at_word(format!(
                        "ends ({}) after its line ends ({})",
                        clock(w.end_ms),
                        clock(line_end)
                    )));
                }
            }
            previous_end = w.end_ms;
        }
        Ok(())
    }
}

fn check_time(ms: u64, what: &str) -> Result<(), String> {
    if ms > MAX_TIME_MS {
        Err(format!("{what} time {ms} ms is beyond the 99:59:59.999 limit"))
    } else {
        Ok(())
    }
}

/// Checks a language tag: 1–35 ASCII letters, digits and hyphens, starting with a letter.
pub(crate) fn check_language(lang: &str) -> Result<(), String> {
    let ok = !lang.is_empty()
        && lang.len() <= 35
        && lang.starts_with(|c: char| c.is_ascii_alphabetic())
        && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "language {:?} is not a language tag (1-35 ASCII letters, digits or '-', such as \"km\")",
            crate::text::snippet(lang)
        ))
    }
}

/// `HH:MM:SS.mmm`, for messages.
pub(crate) fn clock(ms: u64) -> String {
    crate::time::hms(ms, '.')
}
