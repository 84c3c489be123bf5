//! XLM-RoBERTa's SentencePiece Unigram tokenizer, as multilingual-e5 uses it.
//!
//! Text → NFKC → the file's per-code-point map → runs of spaces collapsed → Metaspace (`▁`
//! prepended, spaces → `▁`) → Viterbi over the pieces' log-probabilities → `<s> … </s>`.
//!
//! The map after NFKC carries what SentencePiece's `nmt_nfkc` adds to NFKC: control characters
//! are dropped and line breaks, tabs and invisible separators (U+200B ZERO WIDTH SPACE, which
//! Khmer text puts between words, ZWJ, ZWNJ, BOM, …) become spaces. NFKC alone would leave
//! U+200B in the text, where it matches no piece and becomes `<unk>`. Both steps together
//! reproduce the reference engine's token ids on ordinary text (its normaliser is the map
//! alone, per code point; NFKC additionally composes sequences such as `e` + U+0301).

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// SentencePiece's word-boundary marker, U+2581.
const METASPACE: char = '▁';

/// The special tokens' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Specials {
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
}

pub(crate) struct Tokenizer {
    pieces: HashMap<Box<str>, u32>,
    scores: Vec<f32>,
    /// An unknown character costs more than any piece, so it is used only when nothing matches.
    unk_score: f32,
    max_piece_bytes: usize,
    specials: Specials,
    normalisation: HashMap<char, Box<str>>,
    /// The most ids one text may have, `<s>` and `</s>` included.
    max_len: usize,
}

impl Tokenizer {
    /// `pieces[i]` has id `i` and log-probability `scores[i]`; `max_len` counts the specials.
    pub fn new(
        pieces: &[&str],
        scores: &[f32],
        specials: Specials,
        normalisation: Vec<(char, String)>,
        max_len: usize,
    ) -> Tokenizer {
        assert_eq!(pieces.len(), scores.len());
        assert!(max_len >= 2, "room for <s> and </s>");
        let mut map = HashMap::with_capacity(pieces.len());
        for (id, &p) in pieces.iter().enumerate() {
            // The first of two identical pieces wins, as in the reference's hash table.
            map.entry(p.into()).or_insert(id as u32);
        }
        let min_score = scores.iter().copied().fold(f32::INFINITY, f32::min);
        Tokenizer {
            pieces: map,
            scores: scores.to_vec(),
            unk_score: min_score - 10.0,
            max_piece_bytes: pieces.iter().map(|p| p.len()).max().unwrap_or(1),
            specials,
            normalisation: normalisation.into_iter().map(|(c, s)| (c, s.into_boxed_str())).collect(),
            max_len,
        }
    }

    /// The text as the model reads it, before the `▁` markers. Only the first
    /// `32 × max_len` characters are read: no piece is longer than 16 characters, so the
    /// first `max_len` pieces lie well within them, and a huge input costs no more than that.
    pub fn normalise(&self, text: &str) -> String {
        let text = head(text, self.max_len.saturating_mul(32));
        let mut out = String::with_capacity(text.len());
        for c in text.nfkc() {
            match self.normalisation.get(&c) {
                Some(s) => out.push_str(s),
                None => out.push(c),
            }
        }
        collapse_spaces(&out)
    }

    /// True if nothing but spaces is left once `text` is normalised.
    pub fn is_blank(&self, text: &str) -> bool {
        self.normalise(text).chars().all(|c| c == ' ')
    }

    /// `<s>`, the pieces of `text` (the first ones, if there are too many), `</s>`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let marked = metaspace(&self.normalise(text));
        let mut ids = Vec::with_capacity(marked.len() / 2 + 2);
        ids.push(self.specials.bos);
        ids.extend(self.viterbi(&marked).into_iter().take(self.max_len - 2));
        ids.push(self.specials.eos);
        ids
    }

    /// The segmentation of `s` into pieces with the highest total score; a character that no
    /// piece covers becomes `<unk>` on its own.
    fn viterbi(&self, s: &str) -> Vec<u32> {
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let n = bounds.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        // For each end position: the piece (None = unknown) and where it starts.
        let mut back: Vec<(Option<u32>, usize)> = vec![(None, 0); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                if bounds[e] - bounds[i] > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.pieces.get(&s[bounds[i]..bounds[e]]) {
                    let score = best[i] + self.scores[id as usize];
                    // Strictly greater: on a tie the earlier candidate stays, as in the reference.
                    if id != self.specials.unk && score > best[e] {
                        (best[e], back[e]) = (score, (Some(id), i));
                    }
                }
            }
            let score = best[i] + self.unk_score;
            if score > best[i + 1] {
                (best[i + 1], back[i + 1]) = (score, (None, i));
            }
        }
        let mut ids = Vec::new();
        let mut end = n;
        while end > 0 {
            let (id, start) = back[end];
            ids.push(id.unwrap_or(self.specials.unk));
            end = start;
        }
        ids.reverse();
        ids
    }
}

/// The first `max_chars` characters of `text`.
fn head(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Runs of two or more U+0020 become one, as XLM-R's normaliser does.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

/// Metaspace with `prepend_scheme = always`: a `▁` in front unless the text starts with a
/// space, and every space becomes `▁`.
fn metaspace(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if !s.starts_with(' ') {
        out.push(METASPACE);
    }
    out.extend(s.chars().map(|c| if c == ' ' { METASPACE } else { c }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIALS: Specials = Specials { bos: 0, eos: 2, unk: 3 };

    /// A tiny vocabulary in XLM-R's order: `<s>`, `<pad>`, `</s>`, `<unk>`, then pieces.
    fn tokenizer(max_len: usize) -> Tokenizer {
        let vocab: &[(&str, f32)] = &[
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -2.0),
            ("▁hello", -9.0), // worse than ▁he + llo (−2): the split must win
            ("▁he", -1.0),
            ("llo", -1.0),
            ("l", -4.0),
            ("o", -4.0),
            ("▁world", -3.0),
            ("ខ្ញុំ", -3.0),
            ("▁ខ្ញុំ", -2.5),
        ];
        let (pieces, scores): (Vec<&str>, Vec<f32>) = vocab.iter().copied().unzip();
        let norm = vec![('\u{200B}', " ".to_string()), ('\n', " ".to_string()), ('\u{1}', String::new())];
        Tokenizer::new(&pieces, &scores, SPECIALS, norm, max_len)
    }

    #[test]
    fn viterbi_takes_the_best_total_score_not_the_longest_piece() {
        assert_eq!(tokenizer(512).encode("hello"), vec![0, 6, 7, 2]);
    }

    #[test]
    fn metaspace_is_prepended_and_spaces_collapse() {
        let t = tokenizer(512);
        assert_eq!(t.encode("hello world"), vec![0, 6, 7, 10, 2]);
        assert_eq!(t.encode("hello    world"), t.encode("hello world"));
        // A leading space is the word boundary itself: nothing extra is prepended.
        assert_eq!(t.encode(" hello"), t.encode("hello"));
        // A trailing space is a lone ▁.
        assert_eq!(t.encode("hello "), vec![0, 6, 7, 4, 2]);
    }

    #[test]
    fn unknown_characters_become_unk_one_by_one() {
        let t = tokenizer(512);
        assert_eq!(t.encode("he☃☃"), vec![0, 6, 3, 3, 2]);
        assert_eq!(t.encode("x"), vec![0, 4, 3, 2]);
    }

    #[test]
    fn nfkc_and_the_map_normalise_before_matching() {
        let t = tokenizer(512);
        // Fullwidth letters are NFKC-equivalent to ASCII.
        assert_eq!(t.encode("ｈｅｌｌｏ"), t.encode("hello"));
        // Khmer's zero-width space and line breaks separate words; control characters vanish.
        assert_eq!(t.encode("hello\u{200B}world"), t.encode("hello world"));
        assert_eq!(t.encode("hello\nworld\u{1}"), t.encode("hello world"));
        assert_eq!(t.encode("ខ្ញុំ"), vec![0, 12, 2]);
    }

    #[test]
    fn blank_means_nothing_but_spaces_after_normalising() {
        let t = tokenizer(512);
        for blank in ["", " ", "  \n ", "\u{200B}", "\u{1}"] {
            assert!(t.is_blank(blank), "{blank:?}");
        }
        assert!(!t.is_blank(" ☃ "));
    }

    #[test]
    fn long_texts_keep_their_first_pieces() {
        let t = tokenizer(5);
        assert_eq!(t.encode("hello world hello"), vec![0, 6, 7, 10, 2]);
        assert_eq!(tokenizer(2).encode("hello"), vec![0, 2]);
        // Only the head of a huge text is read (32 × max_len characters).
        assert_eq!(t.normalise(&"ab".repeat(1000)).chars().count(), 160);
        assert!(t.is_blank(&format!("{}hello", " ".repeat(200))));
        assert_eq!(head("ខ្ញុំ", 2), "ខ្");
    }
}
