//! Where the corpus's words come from.
//!
//! **Khmer**: the SentencePiece vocabulary of the e5 model Molt already ships
//! (`e5-small-q4.bin`, 250,002 pieces learnt from multilingual web text).
//! ICU4X's compiled Khmer dictionary, which the segmenter uses, is not exposed
//! as a word list, so the pieces are the best offline source of real Khmer
//! words here. A piece is kept when it is a whole word by Molt's own rules:
//! only Khmer letters and signs, at least 2 characters, a well-formed cluster
//! sequence (starts with a consonant or an independent vowel, every coeng
//! followed by a consonant, already in the normaliser's canonical order), not
//! a lone cluster without a vowel (`ក្រ`: the start of a word), and ICU's
//! dictionary segmentation (with Molt's names list) leaves it as exactly one
//! word. Pieces the model learnt inside longer runs (no `▁` mark) are mostly
//! syllables, so of those only pieces of three clusters or more are taken. They are sorted by the piece's log-probability, most common first,
//! so sampling can favour common words.
//!
//! **English**: a short list written here of words common in song lyrics.

use molt_khmer::Segmenter;
use std::collections::HashSet;
use std::path::Path;

/// Words of English lyrics, for the English lines mixed into the corpus.
pub const ENGLISH: &[&str] = &[
    "love", "heart", "night", "moon", "river", "rain", "dream", "home", "road", "sky", "star", "light",
    "dance", "sing", "cry", "smile", "tears", "kiss", "hold", "hand", "eyes", "wind", "sea", "sun",
    "morning", "evening", "tonight", "forever", "always", "never", "again", "alone", "together", "darling",
    "baby", "sweet", "gold", "silver", "flower", "field", "village", "city", "train", "waiting", "coming",
    "going", "falling", "burning", "shining", "dancing", "singing", "crying", "remember", "forget",
    "promise", "goodbye", "hello", "my", "your", "our", "the", "a", "in", "on", "under", "over", "with",
    "without", "you", "me", "we", "they", "is", "are", "was", "will", "be", "far", "away", "near", "close",
    "slow", "fast", "young", "old", "new", "blue", "red", "green", "water", "fire", "summer", "monsoon",
    "harvest", "mother", "father", "friend", "lover", "story", "song", "music", "guitar", "drum", "bridge",
    "boat", "island", "mountain", "temple", "market",
];

/// Khmer words from the e5 vocabulary, most probable first.
pub struct KhmerWords {
    pub words: Vec<String>,
    /// Pieces read, and how many were Khmer at all (for the report).
    pub pieces: usize,
    pub khmer_pieces: usize,
}

impl KhmerWords {
    /// Reads the model file's vocabulary and keeps the whole Khmer words.
    pub fn from_model(path: &Path, segmenter: &Segmenter) -> Result<KhmerWords, String> {
        let mut pieces = molt_ml::e5_vocabulary(path).map_err(|e| e.to_string())?;
        let total = pieces.len();
        // Most probable first; ties by text, so the order is a function of the file.
        pieces.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut seen = HashSet::new();
        let mut khmer_pieces = 0;
        let mut words = Vec::new();
        for (piece, _) in pieces {
            let text = piece.trim_start_matches('\u{2581}');
            if !molt_khmer::has_khmer(text) {
                continue;
            }
            khmer_pieces += 1;
            // A piece without `▁` was learnt inside a longer run of text: short
            // ones are mostly syllables and word endings, so only pieces of three
            // clusters or more are taken from those.
            let word_start = piece.starts_with('\u{2581}');
            if !word_start && clusters(text) < 3 {
                continue;
            }
            if is_whole_word(text, segmenter) && seen.insert(text.to_string()) {
                words.push(text.to_string());
            }
        }
        Ok(KhmerWords { words, pieces: total, khmer_pieces })
    }
}

/// Consonants and independent vowels: what a Khmer word may start with.
fn is_base(c: char) -> bool {
    ('\u{1780}'..='\u{17B3}').contains(&c)
}

/// Dependent vowels, signs and the coeng that may follow a base (not the
/// deprecated inherent vowels U+17B4–U+17B5, punctuation or digits).
pub fn is_sign(c: char) -> bool {
    ('\u{17B6}'..='\u{17D3}').contains(&c) || c == '\u{17DD}'
}

const COENG: char = '\u{17D2}';

/// Orthographic clusters: base characters not written below another (after a coeng).
fn clusters(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len()).filter(|&i| is_base(chars[i]) && (i == 0 || chars[i - 1] != COENG)).count()
}

/// Dependent vowels (not the other signs).
fn is_vowel(c: char) -> bool {
    ('\u{17B6}'..='\u{17C5}').contains(&c)
}

/// A whole Khmer word by Molt's rules (see the module docs). One cluster
/// without a vowel (`ក្រ`, `ប៉`) is the start of a word, not a word.
pub fn is_whole_word(text: &str, segmenter: &Segmenter) -> bool {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 2 || !is_base(chars[0]) {
        return false;
    }
    if clusters(text) < 2 && !chars.iter().any(|&c| is_vowel(c)) {
        return false;
    }
    let well_formed = chars.iter().enumerate().all(|(i, &c)| {
        let next = chars.get(i + 1).copied();
        match c {
            COENG => next.is_some_and(|n| ('\u{1780}'..='\u{17A2}').contains(&n)),
            c => is_base(c) || is_sign(c),
        }
    });
    well_formed
        && molt_khmer::normalize_for_index(text) == text
        && segmenter.segment(text).as_slice() == [text.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_well_formed_khmer_words_are_kept() {
        let seg = Segmenter::with_names(None);
        assert!(is_whole_word("ទន្លេ", &seg));
        assert!(is_whole_word("ស្រឡាញ់", &seg));
        // Two words, one character, a sign first, a dangling coeng, Latin.
        assert!(!is_whole_word("ខ្ញុំស្រលាញ់អូន", &seg));
        assert!(!is_whole_word("ក", &seg));
        assert!(!is_whole_word("ាក", &seg));
        assert!(!is_whole_word("ក្", &seg));
        assert!(!is_whole_word("ក្រ", &seg) && !is_whole_word("ប៉", &seg));
        assert!(is_whole_word("ទៅ", &seg) && is_whole_word("មក", &seg));
        assert!(!is_whole_word("love", &seg));
    }
}
