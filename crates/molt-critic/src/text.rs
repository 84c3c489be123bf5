//! Character-level facts about a line: scripts, stray characters, how much the
//! Khmer normaliser had to repair, and how many words it holds.

use molt_khmer::{detect_script, normalize, normalize_for_index, Script};
use std::sync::OnceLock;

const COENG: char = '\u{17D2}';
const COENG_DA: [char; 2] = [COENG, '\u{178A}'];
const COENG_TA: [char; 2] = [COENG, '\u{178F}'];
/// Punctuation every script's lyrics may use.
const COMMON_PUNCTUATION: &str = ".,!?'\"()-:;…«»“”‘’–—";
/// A chunk longer than this (characters) is compared position by position
/// instead of by edit distance, to keep the cost linear.
const MAX_EDIT_DISTANCE_CHARS: usize = 400;

/// The script a language is written in, when the critic knows it; `None`
/// switches the script checks off. An absent language means Khmer (the studio's).
pub fn expected_script(language: Option<&str>) -> Option<Script> {
    let Some(language) = language else { return Some(Script::Khmer) };
    let code = language.trim().to_ascii_lowercase();
    let code = code.split(['-', '_']).next().unwrap_or_default();
    match code {
        "" | "km" | "khm" | "khmer" => Some(Script::Khmer),
        "th" | "tha" | "thai" => Some(Script::Thai),
        "en" | "english" | "fr" | "french" | "de" | "german" | "es" | "spanish" | "it" | "italian" | "pt"
        | "portuguese" | "nl" | "dutch" | "vi" | "vietnamese" | "id" | "indonesian" | "ms" | "malay"
        | "tl" | "tagalog" => Some(Script::Latin),
        _ => None,
    }
}

pub fn script_name(script: Script) -> &'static str {
    match script {
        Script::Khmer => "Khmer",
        Script::Latin => "Latin",
        Script::Thai => "Thai",
        Script::Other => "another",
        Script::Mixed => "mixed",
    }
}

/// The script of one character by `molt_khmer::detect_script`'s rule, or
/// `None` when it is not a letter (digits, punctuation, spaces, symbols).
pub fn char_script(c: char) -> Option<Script> {
    let mut buf = [0u8; 4];
    match detect_script(c.encode_utf8(&mut buf)) {
        Script::Other if !c.is_alphabetic() => None,
        script => Some(script),
    }
}

/// The share of `line`'s letters written in `script` (1 when it has no letters).
pub fn script_share(line: &str, script: Script) -> f64 {
    let (mut matching, mut letters) = (0usize, 0usize);
    for s in line.chars().filter_map(char_script) {
        letters += 1;
        matching += usize::from(s == script);
    }
    if letters == 0 {
        1.0
    } else {
        matching as f64 / letters as f64
    }
}

/// A character that does not belong in a line of the expected script, with its weight:
/// 1 for broken text (U+FFFD, controls, private use, invisible direction marks),
/// 0.25 for a letter of another script or a symbol.
pub fn stray_characters(line: &str, expected: Script) -> Vec<(char, f64)> {
    line.chars()
        .filter_map(|c| {
            if is_broken(c) {
                Some((c, 1.0))
            } else if allowed(c, expected) {
                None
            } else {
                Some((c, 0.25))
            }
        })
        .collect()
}

fn is_broken(c: char) -> bool {
    c == '\u{FFFD}'
        || (c.is_control() && !c.is_whitespace())
        || matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{10FFFF}')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn allowed(c: char, expected: Script) -> bool {
    if c.is_whitespace() || c.is_ascii_digit() || COMMON_PUNCTUATION.contains(c) {
        return true;
    }
    if matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}') {
        return true; // line-break hints and joiners (DESIGN §8)
    }
    match expected {
        // The whole Khmer block (signs, digits, ។ ៕) except the two inherent vowels
        // U+17B4/U+17B5, which Unicode says never to use: they only appear in broken text.
        Script::Khmer => {
            matches!(c, '\u{1780}'..='\u{17FF}' | '\u{19E0}'..='\u{19FF}')
                && !matches!(c, '\u{17B4}' | '\u{17B5}')
        }
        Script::Thai => matches!(c, '\u{0E00}'..='\u{0E7F}'),
        Script::Latin => char_script(c) == Some(Script::Latin) || matches!(c, '\u{0300}'..='\u{036F}'),
        Script::Other | Script::Mixed => true,
    }
}

/// How a character is shown in a message: ASCII as itself, anything else by its
/// code point (it may be invisible, a combining mark or a direction override).
pub fn show_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// How many characters the Khmer normaliser changed in `line` (an edit distance),
/// not counting COENG DA → COENG TA, which renders the same and is how many
/// keyboards type it: that rewrite is spelling, not damage.
pub fn repaired_characters(line: &str) -> usize {
    // normalize works syllable by syllable and never across a space, so chunk by
    // chunk gives the same result as the whole line while keeping the distance cheap.
    line.split_whitespace()
        .map(|chunk| {
            let typed = replace_pair(&chunk.chars().collect::<Vec<_>>(), COENG_DA, COENG_TA);
            let canonical: Vec<char> = normalize(chunk).chars().collect();
            edit_distance(&typed, &canonical)
        })
        .sum()
}

fn replace_pair(chars: &[char], from: [char; 2], to: [char; 2]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i..].starts_with(&from) {
            out.extend(to);
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Levenshtein distance; for long inputs an upper bound (differing positions plus
/// the length difference), which is exact for pure substitutions.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    if a.len() > MAX_EDIT_DISTANCE_CHARS || b.len() > MAX_EDIT_DISTANCE_CHARS {
        let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
        return differing + a.len().abs_diff(b.len());
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Khmer letters (the Khmer block's letters and signs) in `line`.
pub fn khmer_letters(line: &str) -> usize {
    line.chars().filter(|&c| char_script(c) == Some(Script::Khmer)).count()
}

/// Words in `line`: ICU's dictionary segmentation (Khmer writes no spaces
/// between words), punctuation and spaces not counted.
pub fn word_count(line: &str) -> usize {
    static SEGMENTER: OnceLock<molt_khmer::Segmenter> = OnceLock::new();
    let segmenter = SEGMENTER.get_or_init(|| molt_khmer::Segmenter::new(Vec::new()));
    segmenter.segment(&normalize_for_index(line)).len()
}

/// What two lines are compared by when looking for repeats: the index form,
/// letters and digits only, lower case; so spacing, punctuation and typing
/// order do not hide a repeat.
pub fn repeat_key(line: &str) -> String {
    normalize_for_index(line)
        .chars()
        .filter(|&c| char_script(c).is_some() || c.is_numeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The shortest block `line` is a run of, and how many times it repeats, when
/// the line is one phrase said at least `min_repeats` times (e.g. a decoder
/// stuck on one phrase inside a segment); spaces are ignored.
pub fn repeated_phrase(line: &str, min_repeats: usize) -> Option<(String, usize)> {
    let chars: Vec<char> = line.chars().filter(|c| !c.is_whitespace()).collect();
    let n = chars.len();
    if n == 0 || n > MAX_EDIT_DISTANCE_CHARS {
        return None;
    }
    (2..=n / min_repeats).find_map(|period| {
        let repeats = n / period;
        let covered = repeats * period;
        let periodic = (period..covered).all(|i| chars[i] == chars[i - period]);
        // A tail shorter than one block may be a cut-off last repeat; it must still match.
        let tail_ok = (covered..n).all(|i| chars[i] == chars[i - period]);
        (periodic && tail_ok && repeats >= min_repeats).then(|| (chars[..period].iter().collect(), repeats))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_map_to_scripts() {
        assert_eq!(expected_script(None), Some(Script::Khmer));
        assert_eq!(expected_script(Some("km")), Some(Script::Khmer));
        assert_eq!(expected_script(Some("km-KH")), Some(Script::Khmer));
        assert_eq!(expected_script(Some("Khmer")), Some(Script::Khmer));
        assert_eq!(expected_script(Some("th")), Some(Script::Thai));
        assert_eq!(expected_script(Some("en")), Some(Script::Latin));
        assert_eq!(expected_script(Some("zh")), None);
    }

    #[test]
    fn edit_distance_counts_a_swap_as_two() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&c("abcd"), &c("abdc")), 2);
        assert_eq!(edit_distance(&c(""), &c("ab")), 2);
        assert_eq!(edit_distance(&c("kitten"), &c("sitting")), 3);
    }

    #[test]
    fn repairs_are_counted_without_coeng_da() {
        assert_eq!(repaired_characters("ស្ដាប់"), 0, "COENG DA is spelling");
        assert_eq!(repaired_characters("ខ្ញុំស្រលាញ់"), 0);
        assert_eq!(repaired_characters("ខា្ញ"), 2, "a vowel typed before its subscript");
    }

    #[test]
    fn stray_characters_are_weighed() {
        assert!(stray_characters("ខ្ញុំស្រលាញ់អូន។ 123!", Script::Khmer).is_empty());
        assert_eq!(stray_characters("ខ្ញុំx\u{FFFD}", Script::Khmer), vec![('x', 0.25), ('\u{FFFD}', 1.0)]);
        assert_eq!(stray_characters("ខ្ញុំ\u{17B4}", Script::Khmer), vec![('\u{17B4}', 0.25)]);
        assert!(stray_characters("Café, déjà vu!", Script::Latin).is_empty());
    }

    #[test]
    fn phrases_said_over_and_over_are_found() {
        assert_eq!(repeated_phrase("ខ្ញុំស្រលាញ់ ខ្ញុំស្រលាញ់ ខ្ញុំស្រលាញ់ ខ្ញុំស្រលាញ់", 4).map(|r| r.1), Some(4));
        assert_eq!(repeated_phrase("la la la", 4), None);
        assert_eq!(repeated_phrase("ខ្ញុំស្រលាញ់អូនណាស់", 4), None);
    }

    #[test]
    fn khmer_is_counted_in_words() {
        assert_eq!(word_count("ខ្ញុំស្រលាញ់អូនណាស់"), 4);
        assert_eq!(word_count("I love you ។"), 3);
        assert_eq!(word_count("... !"), 0);
    }
}
