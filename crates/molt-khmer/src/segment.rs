//! Word segmentation.
//!
//! Khmer writes no spaces between words. ICU4X's dictionary word segmenter (compiled
//! data, Khmer dictionary) finds the words; an editable list of extra words (artist and
//! place names such as `ស៊ីសាមុត`, `បាត់ដំបង`) then keeps names whole: adjacent ICU
//! segments whose concatenation is an extra word are merged, longest match first.
//! Only word-like segments are returned: spaces and punctuation (`។`, `.`) are dropped,
//! Latin words and numbers (`1960s`) are kept.
//!
//! Segment text after [`crate::normalize_for_index`] (and the queries the same way), so
//! that ZWSP hints and typing-order variants do not change the words.

use std::collections::HashSet;

use icu_segmenter::options::WordBreakInvariantOptions;
use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed};

/// Dictionary word segmenter with an extension list of words that must stay whole.
pub struct Segmenter {
    icu: WordSegmenterBorrowed<'static>,
    extra: HashSet<String>,
    /// Length in characters of the longest extra word: merges never grow past it.
    max_extra_chars: usize,
}

impl Segmenter {
    /// Builds a segmenter; `extra_words` are normalised so they match normalised text.
    pub fn new(extra_words: impl IntoIterator<Item = String>) -> Self {
        let extra: HashSet<String> = extra_words
            .into_iter()
            .map(|w| crate::normalize_for_index(w.trim()))
            .filter(|w| !w.is_empty())
            .collect();
        let max_extra_chars = extra.iter().map(|w| w.chars().count()).max().unwrap_or(0);
        let icu = WordSegmenter::new_dictionary(WordBreakInvariantOptions::default());
        Segmenter { icu, extra, max_extra_chars }
    }

    /// Words of `text`, in order, with punctuation and spaces dropped.
    pub fn segment(&self, text: &str) -> Vec<String> {
        self.pieces(text).into_iter().filter(|(_, word)| *word).map(|(w, _)| w).collect()
    }

    /// All pieces of `text` in order, word-like or not (spaces and punctuation included),
    /// with the extra words merged; each piece says whether it is word-like.
    pub(crate) fn pieces(&self, text: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mut run: Vec<&str> = Vec::new();
        let mut iter = self.icu.segment_str(text);
        let mut start = 0;
        while let Some(end) = iter.next() {
            if end == 0 {
                continue;
            }
            let piece = &text[start..end];
            if iter.is_word_like() {
                run.push(piece);
            } else {
                let mut words = Vec::new();
                self.flush(&mut run, &mut words);
                out.extend(words.into_iter().map(|w| (w, true)));
                out.push((piece.to_string(), false));
            }
            start = end;
        }
        let mut words = Vec::new();
        self.flush(&mut run, &mut words);
        out.extend(words.into_iter().map(|w| (w, true)));
        out
    }

    /// Emits a run of adjacent segments, merging the longest prefixes that are extra words.
    fn flush(&self, run: &mut Vec<&str>, words: &mut Vec<String>) {
        let mut i = 0;
        while i < run.len() {
            let mut best = i + 1;
            let mut joined = String::new();
            for (j, seg) in run.iter().enumerate().skip(i) {
                joined.push_str(seg);
                if joined.chars().count() > self.max_extra_chars {
                    break;
                }
                if j > i && self.extra.contains(&joined) {
                    best = j + 1;
                }
            }
            words.push(run[i..best].concat());
            i = best;
        }
        run.clear();
    }
}

impl Default for Segmenter {
    /// A segmenter with no extra words.
    fn default() -> Self {
        Segmenter::new(std::iter::empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_spaces_and_punctuation() {
        let s = Segmenter::default();
        assert_eq!(s.segment("Hello, world. ២០២៦"), vec!["Hello", "world", "២០២៦"]);
        assert!(s.segment("  ។ ").is_empty());
    }

    #[test]
    fn extra_words_are_merged() {
        let plain = Segmenter::default();
        let text = "ខ្ញុំស្រលាញ់អូន";
        let words = plain.segment(text);
        assert!(words.len() >= 3, "{words:?}");
        let merged = Segmenter::new([format!("{}{}", words[1], words[2])]);
        assert_eq!(merged.segment(text), vec![words[0].clone(), format!("{}{}", words[1], words[2])]);
    }
}

/// The names shipped with Molt (artists, places), kept whole by [`Segmenter::with_names`].
pub const BUILT_IN_NAMES: &str = include_str!("../data/names.txt");

/// Words of a names list: one per line, `#` comments and blank lines ignored.
pub fn parse_names(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(crate::normalize)
}

impl Segmenter {
    /// The built-in names plus the studio's own list (its text, if any).
    pub fn with_names(studio_list: Option<&str>) -> Segmenter {
        let studio = studio_list.map(parse_names).into_iter().flatten();
        Segmenter::new(parse_names(BUILT_IN_NAMES).chain(studio).collect::<Vec<_>>())
    }

    /// The built-in names plus the studio's list at `path` (`<data_dir>/khmer/names.txt`),
    /// which may be absent.
    pub fn for_studio(path: &std::path::Path) -> std::io::Result<Segmenter> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Segmenter::with_names(Some(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Segmenter::with_names(None)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod names_tests {
    use super::*;

    #[test]
    fn the_built_in_list_parses_and_keeps_names_whole() {
        assert!(parse_names(BUILT_IN_NAMES).any(|n| n == "ស៊ីសាមុត"));
        assert_eq!(parse_names("# c\n\n ភ្នំពេញ \n").collect::<Vec<_>>(), vec!["ភ្នំពេញ"]);
        let s = Segmenter::with_names(Some("កំពង់ចាម\n"));
        assert_eq!(s.segment("ស៊ីន ស៊ីសាមុត"), vec!["ស៊ីន", "ស៊ីសាមុត"]);
    }
}
