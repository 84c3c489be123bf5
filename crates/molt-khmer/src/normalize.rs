//! Canonical ordering of Khmer text.
//!
//! Khmer lets the same rendered syllable be typed in several code-point orders
//! (`ស្រ្តី` and `ស្ត្រី` look identical), and NFC does not reorder them. This module
//! follows the `khnormal` algorithm of SIL's Khmer character specification
//! (public repository `sillsdev/khmer-character-specification`, `python/scripts/khnormal`),
//! re-implemented here from its description:
//!
//! 1. Every character gets a category (base, robat, coeng, shifter, ZWNJ, pre/below/above/post
//!    vowel, sign, final sign, ZWJ). A base or coeng directly after COENG (or ZWJ) takes the
//!    category of that COENG, so a subscript pair moves as a unit.
//! 2. A syllable is a base followed by any characters of a category above "base".
//!    Its characters are stably sorted by category.
//! 3. Within the sorted syllable: repeated invisible characters after COENG are dropped,
//!    the confusable vowel spellings `េ+ី`, `េ+ា`, `ើ+ា` are mapped to `ើ`, `ោ`, `ោ+ី`,
//!    `ើ+ុ` becomes `ុ+ើ`, COENG RO is moved after the other subscripts, and COENG DA
//!    becomes COENG TA (they render the same).
//!
//! Deliberate differences from the Python script, so that the result is idempotent and
//! predictable:
//! - the whole pass is repeated until nothing changes (the script's single pass can leave
//!   `េ+ី+ា` half-rewritten, for instance);
//! - COENG RO goes after *all* other subscripts (the script swaps one neighbour only);
//! - the "‑u + upper vowel → shifter" rewrite is not applied: in the script its flags are
//!   passed as `re.sub`'s `count` argument, so the verbose-mode pattern never matches and
//!   the rewrite never happens there either; its series classes also disagree with the
//!   consonant series (KA is listed in both, NYO in neither). The lunar-date rewrites are
//!   not applied either: digits never belong to a syllable, so they never match there.
//! - only modern Khmer (`km`) is handled, not the Middle Khmer (`xhm`) final-coeng marking.

use unicode_normalization::UnicodeNormalization;

const COENG: char = '\u{17D2}';
const RO: char = '\u{179A}';
const ZWSP: char = '\u{200B}';
const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// Character categories, in the order they take inside a syllable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Cat {
    Other = 0,
    Base = 1,
    Robat = 2,
    Coeng = 3,
    Shift = 4,
    Z = 5,
    VPre = 6,
    VB = 7,
    VA = 8,
    VPost = 9,
    MS = 10,
    MF = 11,
    ZfCoeng = 12,
}

/// Category of one character (step 1), before the coeng adjustment.
fn category(c: char) -> Cat {
    match c {
        '\u{1780}'..='\u{17A2}' | '\u{17A5}'..='\u{17B3}' => Cat::Base,
        '\u{17B6}' => Cat::VPost,
        '\u{17B7}'..='\u{17BA}' => Cat::VA,
        '\u{17BB}'..='\u{17BD}' => Cat::VB,
        '\u{17BE}'..='\u{17C5}' => Cat::VPre,
        '\u{17C6}' | '\u{17CB}' | '\u{17CD}'..='\u{17D1}' | '\u{17D3}' | '\u{17DD}' => Cat::MS,
        '\u{17C7}' | '\u{17C8}' => Cat::MF,
        '\u{17C9}' | '\u{17CA}' => Cat::Shift,
        '\u{17CC}' => Cat::Robat,
        COENG => Cat::Coeng,
        ZWNJ => Cat::Z,
        ZWJ => Cat::ZfCoeng,
        _ => Cat::Other,
    }
}

/// Text with both its original form (kept for display) and its normalised form
/// (used for comparing, indexing and storing alongside the original).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    pub original: String,
    pub normalized: String,
}

impl Normalized {
    /// Keeps `text` as given and computes [`normalize`] of it.
    pub fn new(text: impl Into<String>) -> Self {
        let original = text.into();
        let normalized = normalize(&original);
        Normalized { original, normalized }
    }
}

/// NFC, then SIL `khnormal` canonical ordering, repeated until stable.
///
/// Use it before comparing or storing Khmer text: visually identical spellings map to
/// one string. Zero-width characters are kept (see [`normalize_for_index`]).
pub fn normalize(text: &str) -> String {
    let mut current: String = text.nfc().collect();
    // Each pass only reorders or shortens; a handful of passes always suffices in practice.
    for _ in 0..8 {
        let next: String = khnormal(&current).nfc().collect();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// [`normalize`] without U+200B and U+200C: they are line-break hints, not content,
/// so they must not make two index keys differ.
pub fn normalize_for_index(text: &str) -> String {
    let stripped: String = text.chars().filter(|&c| c != ZWSP && c != ZWNJ).collect();
    normalize(&stripped)
}

/// One pass of the khnormal algorithm over the whole string.
fn khnormal(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut cats: Vec<Cat> = chars.iter().map(|&c| category(c)).collect();
    for i in 1..chars.len() {
        if matches!(chars[i - 1], COENG | ZWJ) && matches!(cats[i], Cat::Base | Cat::Coeng) {
            cats[i] = cats[i - 1];
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if cats[i] != Cat::Base {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && cats[j] > Cat::Base {
            j += 1;
        }
        let mut order: Vec<usize> = (i..j).collect();
        order.sort_by_key(|&k| cats[k]); // stable: ties keep text order
        let syllable: Vec<char> = order.iter().map(|&k| chars[k]).collect();
        out.extend(fix_syllable(syllable));
        i = j;
    }
    out
}

/// Step 3 rewrites on one sorted syllable.
fn fix_syllable(s: Vec<char>) -> Vec<char> {
    let s = drop_repeated_invisibles(s);
    let s = replace_seq(&s, &['\u{17BE}', '\u{17B6}'], &['\u{17C4}', '\u{17B8}']);
    let s = merge_e_vowel(&s, '\u{17B8}', '\u{17BE}');
    let s = merge_e_vowel(&s, '\u{17B6}', '\u{17C4}');
    let s = replace_seq(&s, &['\u{17BE}', '\u{17BB}'], &['\u{17BB}', '\u{17BE}']);
    let s = coeng_ro_last(s);
    replace_seq(&s, &[COENG, '\u{178A}'], &[COENG, '\u{178F}'])
}

/// `ZWJ? COENG` followed by more COENG/ZWNJ/ZWJ keeps only the first part: the extras are
/// invisible and would otherwise make equal-looking strings differ.
fn drop_repeated_invisibles(s: Vec<char>) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    let mut k = 0;
    while k < s.len() {
        out.push(s[k]);
        if s[k] == COENG {
            while k + 1 < s.len() && matches!(s[k + 1], COENG | ZWNJ | ZWJ) {
                k += 1;
            }
        }
        k += 1;
    }
    out
}

/// Replaces every non-overlapping occurrence of `from` by `to` (same length), left to right.
fn replace_seq(s: &[char], from: &[char], to: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut k = 0;
    while k < s.len() {
        if s[k..].starts_with(from) {
            out.extend_from_slice(to);
            k += from.len();
        } else {
            out.push(s[k]);
            k += 1;
        }
    }
    out
}

/// `េ [ុ-ួ]? second` → `merged [ុ-ួ]?`: the split spelling of a two-part vowel.
fn merge_e_vowel(s: &[char], second: char, merged: char) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut k = 0;
    while k < s.len() {
        if s[k] == '\u{17C1}' {
            let below = s.get(k + 1).filter(|c| ('\u{17BB}'..='\u{17BD}').contains(*c));
            let next = k + 1 + usize::from(below.is_some());
            if s.get(next) == Some(&second) {
                out.push(merged);
                out.extend(below);
                k = next + 1;
                continue;
            }
        }
        out.push(s[k]);
        k += 1;
    }
    out
}

/// Moves every `COENG RO` pair after the other subscript pairs of its run, keeping their
/// order: the rendering puts the RO subscript around the others whatever the typing order.
fn coeng_ro_last(s: Vec<char>) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut k = 0;
    while k < s.len() {
        if s[k] != COENG || k + 1 >= s.len() || !is_subscript_base(s[k + 1]) {
            out.push(s[k]);
            k += 1;
            continue;
        }
        let (mut others, mut ros) = (Vec::new(), Vec::new());
        while k + 1 < s.len() && s[k] == COENG && is_subscript_base(s[k + 1]) {
            let pair = [s[k], s[k + 1]];
            if s[k + 1] == RO {
                ros.extend(pair)
            } else {
                others.extend(pair)
            }
            k += 2;
        }
        out.extend(others);
        out.extend(ros);
    }
    out
}

/// Characters that form a subscript after COENG.
fn is_subscript_base(c: char) -> bool {
    ('\u{1780}'..='\u{17B3}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coeng_ro_moves_after_coeng_ta() {
        assert_eq!(normalize("ស្រ្តី"), "ស្ត្រី");
        assert_eq!(normalize("ស្ត្រី"), "ស្ត្រី");
    }

    #[test]
    fn coeng_da_becomes_coeng_ta() {
        assert_eq!(normalize("ស្ដាប់"), "ស្តាប់");
    }

    #[test]
    fn vowel_before_subscript_is_reordered() {
        // vowel AA typed before the subscript NYO
        assert_eq!(normalize("ខាញ"), "ខាញ");
        assert_eq!(normalize("ខា្ញ"), "ខ្ញា");
    }

    #[test]
    fn split_vowels_are_merged() {
        assert_eq!(normalize("ក\u{17C1}\u{17B8}"), "ក\u{17BE}");
        assert_eq!(normalize("ក\u{17C1}\u{17B6}"), "ក\u{17C4}");
    }

    #[test]
    fn index_form_drops_zero_width_hints() {
        assert_eq!(normalize_for_index("ខ្ញុំ\u{200B}ស្រលាញ់"), "ខ្ញុំស្រលាញ់");
        assert_eq!(normalize("a\u{200B}b"), "a\u{200B}b");
    }

    #[test]
    fn keeps_original() {
        let n = Normalized::new("ស្រ្តី");
        assert_eq!(n.original, "ស្រ្តី");
        assert_eq!(n.normalized, "ស្ត្រី");
    }
}
