//! Suggestions for a search that found nothing (issue 7): spelling and
//! romanisation variants, near matches, popular songs. The service
//! ([`crate::service`]) gathers them; this holds their shape and the edit
//! distance they are ranked by.
//!
//! - **spelling** / **romanisation**: for a Latin query, the indexed Latin
//!   titles, romanised Khmer titles and Latin artist names whose loose key
//!   ([`crate::text::loose_key`], word by word) is within a quarter of the
//!   query's length (at least 1) in edit distance (`romanisation` when the
//!   variant is a romanised Khmer title); for a Khmer query, the Khmer titles
//!   within that distance of its compact form, and the query romanised
//!   ([`molt_khmer::romanize_with`]) when that finds a song;
//! - **near_match**: songs with at least one of the query's words;
//! - **popular**: the published songs learners and fans opened most in the
//!   last [`POPULAR_WINDOW_DAYS`] days ([`crate::views`]), then — while fewer
//!   than [`PER_KIND`] songs have views — the newest published songs.
//!
//! Only songs the caller's tier may see are suggested, and popular songs are
//! published ones for everyone.

use crate::text::loose_key;
use serde::Serialize;

/// Suggestions of each kind at most.
pub const PER_KIND: usize = 3;
/// How far back views count for "popular".
pub const POPULAR_WINDOW_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    Spelling,
    Romanisation,
    NearMatch,
    Popular,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    /// What to search for instead (a title, a name, a romanised query).
    pub text: String,
    pub kind: SuggestionKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub song_id: Option<i64>,
}

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The loose form of a Latin phrase: each word's loose key (or the word,
/// lower case, when it has none), joined by spaces.
pub fn loose_phrase(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| loose_key(w).unwrap_or_else(|| w.to_lowercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The most edits for `query` to count as a variant: a quarter of its length, at least 1.
pub fn max_edits(query: &str) -> usize {
    (query.chars().count() / 4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ចម្ប៉ា", "ចម្បា"), 1);
        assert_eq!(loose_phrase("Champa Battambang"), "campa patampank");
        assert_eq!(max_edits("ab"), 1);
    }
}
