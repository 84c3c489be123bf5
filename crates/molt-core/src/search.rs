//! Search index records (issue 7): what `molt-search` builds for a song and the
//! store keeps, and the structured queries the store runs. No query syntax
//! lives here: the store turns these into its own dialect (FTS5 for SQLite),
//! quoting every term itself.

use crate::catalog::{LyricsVersion, Song};
use serde::Serialize;

/// A song whose index rows are out of date (a row of the outbox).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingSong {
    pub song_id: i64,
    /// What changed, e.g. `lyrics.version_added`.
    pub reason: String,
    /// Grows with every queued change; indexing clears the row only at this generation.
    pub generation: i64,
    pub queued_at: String,
}

/// What indexing one song reads.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSource {
    pub song: Song,
    /// Every spelling of the artist's name on record.
    pub aliases: Vec<String>,
    /// The newest lyrics version, if any.
    pub lyrics: Option<LyricsVersion>,
}

/// One song's index rows, replaced whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchEntry {
    pub song_id: i64,
    /// Word-level text: normalised, segmented words joined by spaces.
    pub words: SearchWords,
    /// Substring text: the same fields without spaces, variants on separate lines.
    pub trigrams: SearchTrigrams,
    /// Passages with their vectors (line 0 is the title line).
    pub lines: Vec<SearchLine>,
}

/// The word-level columns (see the `search_words` migration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchWords {
    pub title: String,
    pub romanized: String,
    pub artist: String,
    pub lyrics: String,
    pub loose: String,
}

/// The substring columns (see the `search_trigrams` migration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchTrigrams {
    pub title: String,
    pub artist: String,
    pub lyrics: String,
    /// Loose keys of the Latin title and name variants, whole, one per line.
    pub loose: String,
}

/// A passage and, when a model was available, its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchLine {
    /// 0 for the title line, else the 1-based number of the passage's first lyric line.
    pub line_no: u32,
    pub text: String,
    pub vector: Option<LineVectorOf>,
}

/// A passage's vector and the model that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineVectorOf {
    pub model: String,
    pub embedding: Vec<f32>,
}

/// A stored passage vector, for building the in-memory index.
#[derive(Debug, Clone, PartialEq)]
pub struct LineVector {
    pub id: i64,
    pub song_id: i64,
    pub line_no: u32,
    pub text: String,
    pub embedding: Vec<f32>,
}

/// One alternative of a word query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordTerm {
    /// The word, in any column.
    Word(String),
    /// A word starting with this, in any column (the word being typed).
    Prefix(String),
    /// A loose Latin key, in the `loose` column only.
    Loose(String),
}

/// One alternative of a substring query (at least 3 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstringTerm {
    /// In the title, artist or lyrics.
    Text(String),
    /// In the loose keys only.
    Loose(String),
}

/// A word-level full-text query: groups of alternatives, all groups required
/// (`require_all`) or any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordsQuery {
    pub groups: Vec<Vec<WordTerm>>,
    pub require_all: bool,
    pub published_only: bool,
    pub limit: usize,
}

/// A song found by a full-text query, best first. `score` is the engine's own
/// (BM25 for words and trigrams, lower is better); only the order means something.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedSong {
    pub song_id: i64,
    pub score: f64,
}
