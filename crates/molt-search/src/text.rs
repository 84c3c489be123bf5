//! Text as song search compares it. Words come from
//! [`molt_khmer::words`] (normalised, segmented, lower case). Two more forms:
//!
//! - the **compact** form ([`compact`]): normalised, lower case, letters,
//!   digits and Khmer signs only — no spaces, no punctuation. Substring search
//!   (trigrams, LIKE) runs on it, so a Khmer fragment typed without spaces
//!   matches lyrics written with spaces or zero-width hints, even when it
//!   starts or ends inside a word;
//! - the **loose key** of a Latin word ([`loose_key`]), so the spellings of one
//!   romanised name meet: `battambang` and `batdambang`, `sisamouth` and
//!   `sisamuth`, `sinn` and `sin`.

use molt_khmer::{has_khmer, name_key};

/// The compact form: normalised, lower case, without spaces or punctuation.
pub fn compact(text: &str) -> String {
    name_key(text)
}

/// The compact form of `text` cut where the script changes (Khmer / other),
/// so a mixed query asks for each of its parts as a substring.
pub fn compact_runs(text: &str) -> Vec<String> {
    let mut runs: Vec<String> = Vec::new();
    let mut last: Option<bool> = None;
    for c in compact(text).chars() {
        let khmer = has_khmer(c.encode_utf8(&mut [0; 4]));
        if last == Some(khmer) {
            runs.last_mut().expect("a run is open").push(c);
        } else {
            runs.push(c.to_string());
            last = Some(khmer);
        }
    }
    runs
}

/// Latin digraphs and letters that romanisations of Khmer write either way.
const DIGRAPHS: [(&str, char); 8] =
    [("chh", 'c'), ("ch", 'c'), ("kh", 'k'), ("ph", 'p'), ("th", 't'), ("sh", 's'), ("nh", 'n'), ("gh", 'k')];

/// A loose key for a Latin word: aspirated digraphs to their plain consonant
/// (`th` → `t`), voiced stops to voiceless (`d` → `t`, `b` → `p`, `g` → `k`,
/// `j` → `c`), `w` → `v`, every run of vowels (a e i o u y) to one `a`, doubled
/// letters to one, and a final `h` dropped. `battambang`, `batdambang` → `patampank`;
/// `sisamouth`, `sisamuth` → `sasamat`. `None` for words that are not plain
/// ASCII letters, or whose key is shorter than 3 letters (too loose to mean anything).
pub fn loose_key(word: &str) -> Option<String> {
    let word = word.to_ascii_lowercase();
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut plain = String::with_capacity(word.len());
    let mut rest = word.as_str();
    'outer: while let Some(c) = rest.chars().next() {
        for (digraph, to) in DIGRAPHS {
            if let Some(after) = rest.strip_prefix(digraph) {
                plain.push(to);
                rest = after;
                continue 'outer;
            }
        }
        plain.push(match c {
            'd' => 't',
            'b' => 'p',
            'g' => 'k',
            'j' => 'c',
            'w' => 'v',
            'q' => 'k',
            'z' => 's',
            'e' | 'i' | 'o' | 'u' | 'y' => 'a',
            other => other,
        });
        rest = &rest[c.len_utf8()..];
    }
    let mut key = String::with_capacity(plain.len());
    for c in plain.chars() {
        if !key.ends_with(c) {
            key.push(c);
        }
    }
    if key.len() > 3 && key.ends_with('h') {
        key.pop();
    }
    (key.len() >= 3).then_some(key)
}

/// Whether a word is Latin letters only (its loose key may stand for it).
pub fn is_latin_word(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic())
}

/// Removes control characters that are not whitespace, and turns tab, line
/// feed and carriage return into spaces; used on stored text, never on queries
/// (a query with control characters is refused, see the service).
pub fn clean_stored(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_share_a_loose_key() {
        for (a, b) in [
            ("battambang", "batdambang"),
            ("sisamouth", "sisamuth"),
            ("sinn", "sin"),
            ("sothea", "sotea"),
            ("srolanh", "sralanh"),
            ("preah", "prea"),
        ] {
            assert_eq!(loose_key(a), loose_key(b), "{a} {b}");
        }
        assert_eq!(loose_key("battambang").as_deref(), Some("patampank"));
        assert_ne!(loose_key("champa"), loose_key("battambang"));
        assert_eq!(loose_key("a"), None);
        assert_eq!(loose_key("ចម្ប៉ា"), None);
        assert_eq!(loose_key("1967"), None);
    }

    #[test]
    fn compact_text_drops_spaces_punctuation_and_zero_width_hints() {
        assert_eq!(compact("ខ្ញុំ ស្រលាញ់\u{200B}អូន។"), compact("ខ្ញុំស្រលាញ់អូន"));
        assert_eq!(compact("Champa, Battambang!"), "champabattambang");
        assert_eq!(compact_runs("Sinn Sisamouth ចម្ប៉ា 1967"), ["sinnsisamouth", "ចម្ប៉ា", "1967"]);
    }
}
